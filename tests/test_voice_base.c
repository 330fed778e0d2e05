/* Voice profiles that start from another (issue 12, 1): `base = NAME` in
 * [voice] takes every phrase and setting the profile does not give; a base
 * may have a base (cycles and over-deep chains are errors at the line that
 * closes them); a missing base or an error in a base is reported at its own
 * file:line; and a profile with neither a base nor its phrases gets one
 * message that says how many are missing and suggests `base = en-us`. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/voice.h"
#include "testutil.h"

/* phrases a profile may leave out (voice.h: from, the pain stop's...) */
static int optional_phrases(void)
{
    int n = 0;
    for (int i = 0; i < PHRASE_COUNT; i++) n += VOICE_PHRASE_OPTIONAL(i);
    return n;
}

static const char *dir; /* scratch directory; COACH_DATA_DIR is dir/data */

static const char *put(const char *name, const char *text)
{
    static char paths[8][4096];
    static int k;
    char *p = paths[k++ & 7];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECKF(f != NULL, "cannot write %s", p);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

/* Loads path; all messages joined as "file:line: msg\n" with file the
 * basename, in out. */
static int load(const char *path, struct voice *v, char *out, size_t cap)
{
    struct coach_diags d;
    diags_init(&d);
    int rc = voice_load(path, v, &d);
    out[0] = 0;
    for (size_t i = 0; i < d.len; i++) {
        const char *b = strrchr(d.items[i].file, '/');
        b = b ? b + 1 : d.items[i].file;
        snprintf(out + strlen(out), cap - strlen(out), "%s:%d: %s\n", b, d.items[i].line,
                 d.items[i].msg);
    }
    diags_free(&d);
    return rc;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t a = s ? strlen(s) : 0, b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* A child overrides one phrase and one setting; the rest is en-us's, found
 * by name as --voice finds it. */
static void check_override(void)
{
    char out[8192];
    struct voice v;
    const char *p = put("child.ini", "[voice]\nbase = en-us\nrate = 120\n[phrases]\n"
                                     "intro = Hello, {title}.\n");
    int rc = load(p, &v, out, sizeof out);
    CHECKF(rc == 0 && !*out, "rc %d: %s", rc, out);
    if (rc) return;
    CHECK(strcmp(v.name, "child") == 0);
    CHECK(strcmp(v.espeak_voice, "en-us") == 0);
    CHECK(v.rate_wpm == 120 && v.pitch == 45 && v.volume == 100);
    char *s = voice_format(&v, PH_INTRO, &(struct phrase_args){.title = "Core"});
    CHECKF(s && strcmp(s, "Hello, Core.") == 0, "%s", s);
    free(s);
    s = voice_format(&v, PH_HOLD, &(struct phrase_args){.seconds = 20});
    CHECKF(s && strcmp(s, "Hold for 20 seconds.") == 0, "%s", s);
    free(s);
    s = voice_noun(&v, NOUN_REPS, 1);
    CHECKF(s && strcmp(s, "1 repetition") == 0, "%s", s);
    free(s);
    /* each phrase says where it came from (plan messages name that file) */
    CHECKF(ends_with(voice_phrase_file(&v, PH_INTRO), "child.ini") && v.phrase_line[PH_INTRO] == 5,
           "%s:%d", voice_phrase_file(&v, PH_INTRO), v.phrase_line[PH_INTRO]);
    CHECKF(ends_with(voice_phrase_file(&v, PH_HOLD), "voices/en-us.ini") &&
               v.phrase_line[PH_HOLD] > 0,
           "%s", voice_phrase_file(&v, PH_HOLD));
    voice_free(&v);
}

/* A chain: a (relative path) -> b -> en-us; the nearest profile wins. */
static void check_chain(void)
{
    char out[8192];
    struct voice v;
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0700);
    put("sub/b.ini", "[voice]\nbase = en-us\npitch = 70\n[phrases]\nstep = B {n}.\n"
                     "intro = B intro.\n");
    const char *a = put("a.ini", "[voice]\nbase = sub/b.ini\n[phrases]\nintro = A intro.\n");
    int rc = load(a, &v, out, sizeof out);
    CHECKF(rc == 0 && !*out, "rc %d: %s", rc, out);
    if (rc) return;
    CHECK(v.pitch == 70 && v.rate_wpm == 160);
    CHECK(strcmp(v.phrases[PH_INTRO], "A intro.") == 0);
    CHECK(strcmp(v.phrases[PH_STEP], "B {n}.") == 0);
    CHECK(strcmp(v.phrases[PH_HOLD], "Hold for {seconds}.") == 0);
    CHECK(ends_with(voice_phrase_file(&v, PH_STEP), "sub/b.ini") && v.phrase_line[PH_STEP] == 5);
    voice_free(&v);
}

static void check_cycle(void)
{
    char out[8192];
    struct voice v;
    put("x.ini", "[voice]\nbase = y.ini\n");
    put("y.ini", "; y\n[voice]\nbase = x.ini\n");
    int rc = load(put("x.ini", "[voice]\nbase = y.ini\n"), &v, out, sizeof out);
    CHECKF(rc == COACH_EINVAL && strstr(out, "y.ini:3: base 'x.ini' leads back to itself: "
                                             "x -> y -> x\n") &&
               !strstr(out, "missing"),
           "rc %d: %s", rc, out);
    rc = load(put("self.ini", "[voice]\nbase = self.ini\n"), &v, out, sizeof out);
    CHECKF(rc == COACH_EINVAL &&
               strstr(out, "self.ini:2: base 'self.ini' leads back to itself: self -> self\n"),
           "rc %d: %s", rc, out);
}

static void check_missing_base(void)
{
    char out[8192];
    struct voice v;
    int rc = load(put("m.ini", "[voice]\nespeak = en-us\nbase = no-such-voice\n"), &v, out,
                  sizeof out);
    CHECKF(rc == COACH_EINVAL && strcmp(out, "m.ini:3: no voice profile 'no-such-voice' "
                                             "(coach voices lists them)\n") == 0,
           "rc %d: %s", rc, out);
    rc = load(put("m2.ini", "[voice]\nbase = gone/en-us.ini\n"), &v, out, sizeof out);
    CHECKF(rc == COACH_EINVAL && strstr(out, "m2.ini:2: no voice profile 'gone/en-us.ini'") &&
               !strstr(out, "missing"),
           "rc %d: %s", rc, out);
    rc = load(put("m3.ini", "[voice]\nbase =\nbase = en-us\nbase = en-us\n"), &v, out, sizeof out);
    CHECKF(rc == COACH_EINVAL && strstr(out, "m3.ini:2: empty value for 'base'") &&
               strstr(out, "m3.ini:4: duplicate key 'base' (first on line 3)"),
           "rc %d: %s", rc, out);
}

/* VOICE_MAX_BASES bases under a profile load; one more is an error. */
static void check_depth(void)
{
    char out[8192], name[64], text[256];
    struct voice v;
    for (int i = 0; i <= VOICE_MAX_BASES; i++) {
        snprintf(name, sizeof name, "d%d.ini", i);
        if (i < VOICE_MAX_BASES)
            snprintf(text, sizeof text, "[voice]\nbase = d%d.ini\n", i + 1);
        else
            snprintf(text, sizeof text, "[voice]\nbase = en-us\n");
        put(name, text);
    }
    /* d1 has VOICE_MAX_BASES bases: d2 ... d<max>, en-us */
    snprintf(name, sizeof name, "%s/d1.ini", dir);
    int rc = load(name, &v, out, sizeof out);
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    if (!rc) voice_free(&v);
    snprintf(name, sizeof name, "%s/d0.ini", dir);
    rc = load(name, &v, out, sizeof out);
    char want[128];
    snprintf(want, sizeof want, "more than %d bases deep", VOICE_MAX_BASES);
    CHECKF(rc == COACH_EINVAL && strstr(out, want), "rc %d: %s", rc, out);
}

/* An error in a base is the base's, at its own line. */
static void check_error_in_base(void)
{
    char out[8192];
    struct voice v;
    put("broken.ini", "[voice]\nbase = en-us\nrate = 1000\n[phrases]\nstep = {totl}\n");
    int rc = load(put("uses-broken.ini", "[voice]\nbase = broken.ini\n"), &v, out, sizeof out);
    CHECKF(rc == COACH_EINVAL &&
               strstr(out, "broken.ini:3: rate must be 80-450 words per minute, not '1000'\n") &&
               strstr(out, "broken.ini:5: unknown placeholder '{totl}' in 'step'\n") &&
               strstr(out, "uses-broken.ini:2: base 'broken.ini' has errors") &&
               !strstr(out, "missing"),
           "rc %d: %s", rc, out);
}

/* A profile of your own named like a shipped one may start from it: the
 * name then means the next profile of that name in the search order. */
static void check_overlay(void)
{
    char out[8192];
    struct voice v;
    char d[4096];
    snprintf(d, sizeof d, "%s/data", dir);
    mkdir(d, 0700);
    snprintf(d, sizeof d, "%s/data/voices", dir);
    mkdir(d, 0700);
    const char *p = put("data/voices/en-us.ini", "[voice]\nbase = en-us\nvolume = 150\n");
    int rc = load(p, &v, out, sizeof out);
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    if (rc) return;
    CHECK(v.volume == 150 && v.rate_wpm == 160);
    CHECK(ends_with(voice_phrase_file(&v, PH_HOLD), "/voices/en-us.ini") &&
          strcmp(voice_phrase_file(&v, PH_HOLD), p) != 0);
    voice_free(&v);
}

/* No base: one message with the count and the way out, not 55. */
static void check_incomplete(void)
{
    char out[8192];
    struct voice v;
    int rc = load(put("bare.ini", "[voice]\nespeak = en-us\n"), &v, out, sizeof out);
    char want[256];
    snprintf(want, sizeof want, "bare.ini:0: missing %d phrases and nouns: intro, duration, ",
             PHRASE_COUNT - optional_phrases() + 2 * NOUN_COUNT);
    CHECKF(rc == COACH_EINVAL && strstr(out, want) == out && strstr(out, "base = en-us") &&
               strchr(out, '\n') == out + strlen(out) - 1,
           "rc %d: %s", rc, out);
    /* one missing: named */
    size_t len;
    char *text = test_read_file(test_src_path("voices/en-us.ini"), &len);
    CHECK(text != NULL);
    if (!text) return;
    char *at = strstr(text, "\nhold = ");
    CHECK(at != NULL);
    if (at) at[1] = ';'; /* commented out */
    rc = load(put("one.ini", text), &v, out, sizeof out);
    CHECKF(rc == COACH_EINVAL && strstr(out, "one.ini:0: missing phrase 'hold'") == out &&
               strchr(out, '\n') == out + strlen(out) - 1,
           "rc %d: %s", rc, out);
    free(text);
}

/* From memory there is no directory to look in: the key is read, its value
 * checked, and the profile refused with a message at that line. */
static void check_memory(void)
{
    struct coach_diags d;
    diags_init(&d);
    struct voice v;
    const char *t = "[voice]\nbase = en-us\n";
    int rc = voice_parse("mem.ini", t, strlen(t), &v, &d);
    CHECKF(rc == COACH_EINVAL && d.len == 1 && d.items[0].line == 2 &&
               strstr(d.items[0].msg, "base 'en-us'"),
           "rc %d, %zu: %s", rc, d.len, d.len ? d.items[0].msg : "");
    diags_free(&d);
}

/* The shipped en-gb starts from en-us and says every phrase as it does. */
static void check_shipped_en_gb(void)
{
    char out[8192];
    struct voice gb, us;
    int rc = load(test_src_path("voices/en-gb.ini"), &gb, out, sizeof out);
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    int rc2 = load(test_src_path("voices/en-us.ini"), &us, out, sizeof out);
    CHECK(rc2 == 0);
    if (!rc && !rc2) {
        CHECK(strcmp(gb.espeak_voice, "en-gb") == 0);
        CHECK(gb.rate_wpm == us.rate_wpm && gb.pitch == us.pitch && gb.volume == us.volume &&
              gb.plural == us.plural);
        for (int i = 0; i < PHRASE_COUNT; i++) CHECK(strcmp(gb.phrases[i], us.phrases[i]) == 0);
        for (int i = 0; i < NOUN_COUNT; i++)
            CHECK(strcmp(gb.noun_one[i], us.noun_one[i]) == 0 &&
                  strcmp(gb.noun_other[i], us.noun_other[i]) == 0);
    }
    if (!rc) voice_free(&gb);
    if (!rc2) voice_free(&us);
}

int main(void)
{
    dir = test_tmpdir("voice_base");
    char data[4096];
    snprintf(data, sizeof data, "%s/data", dir);
    setenv("COACH_DATA_DIR", data, 1);
    /* the shipped profiles, after dir/data: as if installed */
    char xdg[4096];
    snprintf(xdg, sizeof xdg, "%s/xdg", dir);
    mkdir(xdg, 0700);
    snprintf(xdg, sizeof xdg, "%s/xdg/coach", dir);
    mkdir(xdg, 0700);
    snprintf(xdg, sizeof xdg, "%s/xdg/coach/voices", dir);
    remove(xdg);
    CHECK(symlink(test_src_path("voices"), xdg) == 0);
    snprintf(xdg, sizeof xdg, "%s/xdg", dir);
    setenv("XDG_DATA_HOME", xdg, 1);
    check_shipped_en_gb(); /* before check_overlay gives dir/data an en-us */
    check_override();
    check_chain();
    check_cycle();
    check_missing_base();
    check_depth();
    check_error_in_base();
    check_overlay();
    check_incomplete();
    check_memory();
    return test_done();
}
