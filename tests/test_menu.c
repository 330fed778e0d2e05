/* The routine menu: loading what the catalog finds (routines with errors
 * left out, lengths estimated), the cursor wrapping at both ends, and the
 * spoken texts from voices/en-us.ini. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coach/diag.h"
#include "coach/menu.h"
#include "coach/session.h"
#include "coach/voice.h"
#include "testutil.h"

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static const struct menu_item *find(const struct menu *m, const char *name, size_t *at)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].name, name) == 0) {
            if (at) *at = i;
            return &m->items[i];
        }
    return NULL;
}

/* The N of "This session takes about N minutes." in the routine's plan
 * (phrases synthesized: they land in the phrase cache), or 0. */
static unsigned intro_minutes(const char *routine)
{
    struct session_opts so = {.routine = routine, .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .rate_hz = 48000, .clips = CLIPS_LENGTHS};
    struct session s;
    struct coach_diags d;
    diags_init(&d);
    char err[256] = "";
    enum session_fail f = session_open(&s, &so, &d, err, sizeof err);
    diags_free(&d);
    CHECKF(f == SESSION_OK, "%s: %s", routine, err);
    unsigned n = 0;
    for (size_t i = 0; f == SESSION_OK && i < s.tl.n_ev && !n; i++) {
        const struct event *e = &s.tl.ev[i];
        const char *t = e->kind == EV_SPEECH ? s.clips.clips[e->clip].text : NULL;
        if (t && (t = strstr(t, "takes about "))) sscanf(t, "takes about %u minutes", &n);
    }
    session_free(&s);
    return n;
}

int main(void)
{
    const char *dir = test_tmpdir("menu");
    char sub[1024], cmd[2048];
    snprintf(sub, sizeof sub, "%s/routines", dir);
    mkdir(sub, 0777);
    write_file(sub, "aa-one.ini",
               "[routine]\ntitle = One\nsummary = A short one.\nrest = 10\n"
               "[exercise a]\nname = Reach\ncue = Reach up.\nhold = 20\n"
               "[exercise b]\nname = Bend\ncue = Bend down.\nreps = 5\nhold = 3\n");
    write_file(sub, "ab-two.ini", "[routine]\ntitle = Two\n[exercise a]\nname = Twist\n"
                                  "cue = Twist.\nhold = 30\nsides = left, right\n");
    write_file(sub, "ac-bad.ini", "[routine]\ntitle = Bad\n[exercise a]\nname = X\nhodl = 5\n");
    snprintf(sub, sizeof sub, "%s/voices", dir);
    mkdir(sub, 0777);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/'", test_src_path("voices/en-us.ini"), sub);
    CHECK(system(cmd) == 0);
    setenv("COACH_DATA_DIR", dir, 1);
    setenv("HOME", dir, 1);
    setenv("XDG_DATA_HOME", dir, 1);
    setenv("XDG_DATA_DIRS", "/nonexistent", 1);

    struct coach_diags dg;
    diags_init(&dg);
    struct voice v;
    CHECK(voice_load(test_src_path("voices/en-us.ini"), &v, &dg) == 0);
    diags_free(&dg);

    struct menu m;
    CHECK(menu_load(&m, -1, NULL) == 0);
    size_t i1 = 0, i2 = 0;
    const struct menu_item *one = find(&m, "aa-one", &i1), *two = find(&m, "ab-two", &i2);
    CHECK(one && two);
    CHECK(!find(&m, "ac-bad", NULL));
    CHECK(m.skipped >= 1);
    CHECK(m.n >= 2);
    if (one && two) {
        CHECK(i1 == 0 && i2 == 1); /* sorted by name */
        CHECK(strcmp(one->title, "One") == 0 && strcmp(one->summary, "A short one.") == 0);
        CHECK(one->moves == 2);
        CHECK(two->moves == 1 && two->summary == NULL);
        CHECK(one->minutes >= 1 && one->minutes <= 3);
        CHECK(strstr(one->path, "aa-one.ini") != NULL);

        /* wrap-around both ways */
        CHECK(m.cur == 0);
        CHECK(menu_move(&m, -1) == m.n - 1);
        CHECK(menu_move(&m, 1) == 0);
        CHECK(menu_move(&m, 1) == 1);
        for (size_t k = 0; k < m.n; k++) menu_move(&m, 1); /* once round: same place */
        CHECK(m.cur == 1);
        menu_move(&m, -1);
        CHECK(m.cur == 0);

        char *s = menu_item_text(&m, &v);
        char want[256];
        snprintf(want, sizeof want, "Routine 1 of %zu: One. About %u minute%s, 2 exercises.", m.n,
                 one->minutes, one->minutes == 1 ? "" : "s");
        CHECKF(s && strcmp(s, want) == 0, "%s", s);
        free(s);
        s = menu_details_text(&m, &v);
        snprintf(want, sizeof want,
                 "Routine 1 of %zu: One. About %u minute%s, 2 exercises. A short one.",
                 m.n, one->minutes, one->minutes == 1 ? "" : "s");
        CHECKF(s && strcmp(s, want) == 0, "%s", s);
        free(s);
        menu_move(&m, 1);
        s = menu_item_text(&m, &v);
        CHECKF(s && strstr(s, ": Two. About ") && strstr(s, ", one exercise."), "%s", s);
        free(s);
        s = menu_details_text(&m, &v); /* no summary: nothing dangling */
        /* one count: the exercises, as list, check and plan say */
        CHECKF(s && strstr(s, ", one exercise.") && !strstr(s, "Steps") &&
                   s[strlen(s) - 1] == '.',
               "%s", s);
        free(s);
    }
    menu_free(&m);
    CHECK(m.n == 0 && m.items == NULL);
    CHECK(menu_move(&m, 1) == 0); /* empty: harmless */
    CHECK(menu_item_text(&m, &v) == NULL);

    /* a harder level and a given voice: never shorter */
    struct menu easy, hard;
    CHECK(menu_load(&easy, 0, "en-us") == 0 && menu_load(&hard, 2, "en-us") == 0);
    const struct menu_item *e = find(&easy, "aa-one", NULL), *h = find(&hard, "aa-one", NULL);
    CHECK(e && h && h->minutes >= e->minutes);
    menu_free(&easy);
    menu_free(&hard);

    /* the shipped routines: every one offered, each with a length */
    setenv("COACH_DATA_DIR", test_src_path(""), 1);
    CHECK(menu_load(&m, -1, NULL) == 0);
    const struct menu_item *lb = find(&m, "lower-back-relief", NULL);
    CHECK(lb && lb->minutes >= 5 && lb->moves >= 5);
    menu_free(&m);

    /* The menu says what the routine will say. gentle-yoga: the estimate
     * (65 ms a character) makes it 513 s, "about 9 minutes"; its phrases
     * make it 501 s, and its intro says "about 8 minutes". Once they are
     * in the phrase cache (a plan put them there), the menu takes their
     * lengths from it. */
    char cache[1024];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    setenv("XDG_CACHE_HOME", cache, 1);
    unsigned said = intro_minutes("gentle-yoga");
    CHECK(said >= 5);
    CHECK(menu_load(&m, -1, NULL) == 0);
    const struct menu_item *gy = find(&m, "gentle-yoga", NULL);
    CHECKF(gy && gy->minutes == said, "the menu says about %u minutes, the routine %u",
           gy ? gy->minutes : 0, said);
    menu_free(&m);
    /* --no-cache's world: an empty cache, the estimate (never a failure) */
    snprintf(cache, sizeof cache, "%s/cache-empty", dir);
    setenv("XDG_CACHE_HOME", cache, 1);
    CHECK(menu_load(&m, -1, NULL) == 0);
    gy = find(&m, "gentle-yoga", NULL);
    CHECK(gy && gy->minutes >= 5);
    menu_free(&m);
    voice_free(&v);
    return test_done();
}
