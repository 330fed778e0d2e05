/* Voice profiles: the shipped ones are complete and only use known
 * placeholders; templates expand with plurals; broken profiles give every
 * error with its line. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/voice.h"
#include "testutil.h"

static void check_shipped(void)
{
    const char *dir = test_src_path("voices");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".ini")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct coach_diags dg;
        diags_init(&dg);
        struct voice v;
        int rc = voice_load(path, &v, &dg);
        CHECKF(rc == 0, "%s: %d errors", path, (int)dg.len);
        diags_print(&dg, stderr);
        if (!rc) {
            for (int i = 0; i < PHRASE_COUNT; i++) CHECK(v.phrases[i] && *v.phrases[i]);
            voice_free(&v);
        }
        diags_free(&dg);
        n++;
    }
    if (d) closedir(d);
    CHECK(n >= 1);
}

static void check_format(void)
{
    struct coach_diags dg;
    diags_init(&dg);
    struct voice v;
    CHECK(voice_load(test_src_path("voices/en-us.ini"), &v, &dg) == 0);
    char *s = voice_format(&v, PH_HOLD, &(struct phrase_args){.seconds = 1});
    CHECKF(s && strcmp(s, "Hold for 1 second.") == 0, "%s", s);
    free(s);
    s = voice_format(&v, PH_HOLD, &(struct phrase_args){.seconds = 20});
    CHECKF(s && strcmp(s, "Hold for 20 seconds.") == 0, "%s", s);
    free(s);
    s = voice_format(&v, PH_STEP, &(struct phrase_args){.n = 3, .total = 10, .name = "Bridge"});
    CHECKF(s && strcmp(s, "Exercise 3 of 10: Bridge.") == 0, "%s", s);
    free(s);
    s = voice_format(&v, PH_SET, &(struct phrase_args){.set = 2, .sets = 3});
    CHECKF(s && strcmp(s, "Set 2 of 3.") == 0, "%s", s);
    free(s);
    s = voice_noun(&v, NOUN_MINUTES, 14);
    CHECKF(s && strcmp(s, "14 minutes") == 0, "%s", s);
    free(s);
    s = voice_noun(&v, NOUN_REPS, 1);
    CHECKF(s && strcmp(s, "1 repetition") == 0, "%s", s);
    free(s);
    CHECK(strcmp(v.espeak_voice, "en-us") == 0);
    CHECK(strcmp(v.name, "en-us") == 0);
    voice_free(&v);
    diags_free(&dg);
}

static void check_bad(void)
{
    struct coach_diags dg;
    diags_init(&dg);
    struct voice v;
    CHECK(voice_load(test_src_path("tests/voices/bad.ini"), &v, &dg) == COACH_EINVAL);
    diags_sort(&dg);
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    for (size_t i = 0; i < dg.len; i++)
        if (dg.items[i].line > 0) fprintf(m, "%d: %s\n", dg.items[i].line, dg.items[i].msg);
    fclose(m);
    const char *want = "4: rate must be 80-450 words per minute, not '1000'\n"
                       "5: unknown key 'colour' in [voice]\n"
                       "8: unknown placeholder '{totl}' in 'step'\n"
                       "9: unclosed '{' in 'tip'\n"
                       "11: duplicate key 'hold' (first on line 10)\n"
                       "12: unknown phrase 'shout'\n"
                       "16: expected 'key = value', got 'this line is wrong'\n"
                       "17: invalid UTF-8 at column 18 (byte 0xe9)\n"
                       "18: missing key name before '='\n"
                       "19: section header is not closed: '[nouns'\n";
    CHECKF(strcmp(out, want) == 0, "got:\n%s", out);
    free(out);
    /* whole-file problems: missing phrases and nouns (reps_one, after the
     * broken header, is not read) */
    int missing = 0;
    for (size_t i = 0; i < dg.len; i++) missing += dg.items[i].line == 0;
    CHECK(missing == (PHRASE_COUNT - 4) + 6);
    diags_free(&dg);
}

int main(void)
{
    check_shipped();
    check_format();
    check_bad();
    return test_done();
}
