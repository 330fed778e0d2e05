/* What `coach check` gives an author (issue 12, part 3), at the level of
 * the core library: every timing problem of a routine, each at the line
 * of the key to change and naming what it collides with (the same misfit
 * repeated is one message); warnings that leave the file usable (a value
 * that looks like a comment); a Latin-1 file named as such; and "N
 * exercises" as one count. The exact messages of the reader are pinned by
 * the corpus (tests/bad, warn-*.ini for warnings). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/plan.h"
#include "coach/routine.h"
#include "coach/voice.h"
#include "testutil.h"

static struct voice voice;

static int parse(const char *text, struct routine *r, struct coach_diags *d)
{
    return routine_parse("a.ini", text, strlen(text), r, d);
}

/* A countdown number that cannot be said in its second (its "3" lasts
 * 2 s): in three steps, and also where "3" is a counted second of a hold
 * and a repetition number of a tempo. Every place is reported, once, at
 * the line of the key to change (the step's header when that key is not
 * written), naming what it runs into. */
static void every_misfit(void)
{
    const char *text = "[routine]\n"     /* 1 */
                       "title = T\n"     /* 2 */
                       "[exercise a]\n"  /* 3 */
                       "name = A\n"      /* 4 */
                       "hold = 10\n"     /* 5 */
                       "[exercise b]\n"  /* 6 */
                       "name = B\n"      /* 7 */
                       "reps = 5\n"      /* 8 */
                       "tempo = 1, 1\n"  /* 9 */
                       "rest_reps = 2\n" /* 10 */
                       "[exercise c]\n"  /* 11 */
                       "name = C\n"      /* 12 */
                       "hold = 10\n";    /* 13 */
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    CHECK(parse(text, &r, &d) == 0 && d.len == 0);
    diags_free(&d);
    struct clipstore est;
    test_estimator(&est, 48000);
    CHECK(clipstore_add(&est, "3", 2 * 48000, NULL) == 0);
    struct coach_diags probs;
    diags_init(&probs);
    struct plan_opts o = {.rate_hz = 48000, .level = LEVEL_EASY, .problems = &probs};
    struct timeline tl;
    char err[512] = "";
    int rc = plan_build(&r, &voice, &est, &o, &tl, err, sizeof err);
    CHECKF(rc == COACH_EPLAN, "rc %d (%s)", rc, err);
    CHECKF(strcmp(err, "6 timing problems (see above)") == 0, "%s", err);
    diags_sort(&probs);
    static const struct {
        int line;
        const char *what, *advice;
    } want[] = {
        {3, "the next second of the countdown", "add 'countdown = 0' to [routine]"},
        {5, "the next counted second", "faster voice rate"},
        {6, "the next second of the countdown", "add 'countdown = 0' to [routine]"},
        {9, "the next phase of the tempo", "make the first 'tempo' phase longer"},
        {11, "the next second of the countdown", "add 'countdown = 0' to [routine]"},
        {13, "the next counted second", "faster voice rate"},
    };
    CHECKF(probs.len == 6, "%zu problems", probs.len);
    for (size_t i = 0; i < probs.len && i < 6; i++) {
        const char *m = probs.items[i].msg;
        CHECKF(strcmp(probs.items[i].file, "a.ini") == 0 && probs.items[i].line == want[i].line &&
                   strstr(m, "\"3\" (2.00 s) does not fit: it would run into ") &&
                   strstr(m, want[i].what) && strstr(m, want[i].advice) && strstr(m, "(at "),
               "%d: %s", probs.items[i].line, m);
    }
    diags_free(&probs);

    /* without a list, the first problem fails the plan, as before */
    o.problems = NULL;
    rc = plan_build(&r, &voice, &est, &o, &tl, err, sizeof err);
    CHECKF(rc == COACH_EPLAN && strstr(err, "a.ini:3: step 'a'") && strstr(err, "does not fit"),
           "%d %s", rc, err);
    clipstore_free(&est);
    routine_free(&r);
}

/* A written key is named at its own line: countdown in [routine], the
 * first tempo phase; the same misfit repeated over the reps is one
 * message that says how many times. */
static void key_lines(void)
{
    const char *text = "[routine]\n"    /* 1 */
                       "title = T\n"    /* 2 */
                       "countdown = 3\n" /* 3 */
                       "[exercise b]\n" /* 4 */
                       "name = B\n"     /* 5 */
                       "reps = 4\n"     /* 6 */
                       "tempo = 1, 1\n" /* 7 */
                       "rest_reps = 2\n"; /* 8 */
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    CHECK(parse(text, &r, &d) == 0 && d.len == 0);
    diags_free(&d);
    CHECK(r.countdown_line == 3 && r.n_steps == 1 && r.steps[0].tempo_line == 7 &&
          r.steps[0].rest_reps_line == 8 && r.steps[0].hold_line == 0);
    struct clipstore est;
    test_estimator(&est, 48000);
    CHECK(clipstore_add(&est, "3", 2 * 48000, NULL) == 0);
    for (int k = 1; k <= 4; k++) {
        char n[4];
        snprintf(n, sizeof n, "%d", k);
        if (k != 3) CHECK(clipstore_add(&est, n, 48000 + 48000 / 2, NULL) == 0);
    }
    struct coach_diags probs;
    diags_init(&probs);
    struct plan_opts o = {.rate_hz = 48000, .level = LEVEL_EASY, .problems = &probs};
    struct timeline tl;
    char err[512] = "";
    CHECK(plan_build(&r, &voice, &est, &o, &tl, err, sizeof err) == COACH_EPLAN);
    diags_sort(&probs);
    bool countdown = false, tempo = false;
    for (size_t i = 0; i < probs.len; i++) {
        const char *m = probs.items[i].msg;
        if (probs.items[i].line == 3)
            countdown = strstr(m, "make 'countdown' smaller") && strstr(m, "next second");
        if (probs.items[i].line == 7)
            tempo = strstr(m, "first 'tempo' phase longer") && strstr(m, "next phase") &&
                    strstr(m, "times, up to");
        CHECKF(probs.items[i].line == 3 || probs.items[i].line == 7, "%d: %s",
               probs.items[i].line, m);
    }
    CHECKF(countdown && tempo, "%zu problems; first: %s", probs.len,
           probs.len ? probs.items[0].msg : "");
    diags_free(&probs);
    clipstore_free(&est);
    routine_free(&r);
}

/* Warnings leave the routine usable; the texts stay as written. */
static void warnings(void)
{
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    int rc = parse("[routine]\ntitle = T\n[exercise a]\nname = A\ncue = Relax # gently\n"
                   "tip = Slow down ; softly\nhold = 5 ; seconds\n",
                   &r, &d);
    CHECKF(rc == 0 && d.len == 2 && diags_warnings(&d) == 2, "rc %d, %zu messages", rc, d.len);
    CHECK(rc == 0 && strcmp(r.steps[0].cue, "Relax # gently") == 0 &&
          strcmp(r.steps[0].tip, "Slow down") == 0);
    for (size_t i = 0; i < d.len; i++) {
        CHECK(d.items[i].warning && strncmp(d.items[i].msg, "warning: ", 9) == 0);
        CHECK(d.items[i].line == 5 || d.items[i].line == 6);
    }
    routine_free(&r);
    diags_free(&d);

    /* with an error too: the error fails the file, the warning is kept */
    diags_init(&d);
    rc = parse("[routine]\ntitle = T # one\n[exercise a]\nname = A\nhold = 5s\n", &r, &d);
    CHECK(rc == COACH_EINVAL && d.len == 2 && diags_warnings(&d) == 1);
    diags_sort(&d);
    CHECKF(d.len == 2 && strstr(d.items[1].msg, "write hold = 5"), "%s",
           d.len == 2 ? d.items[1].msg : "");
    diags_free(&d);
}

/* A Latin-1 file is named as one; a binary one is not. */
static void latin1(void)
{
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    const char *t = "[routine]\ntitle = Caf\xe9\n[exercise a]\nname = A\nhold = 5\n";
    CHECK(parse(t, &r, &d) == COACH_EINVAL);
    CHECKF(d.len == 1 && d.items[0].line == 2 &&
               strcmp(d.items[0].msg, "not UTF-8: byte 0xe9 (\xc3\xa9 in Latin-1) at column 12; "
                                      "save the file as UTF-8") == 0,
           "%s", d.len ? d.items[0].msg : "");
    diags_free(&d);
    diags_init(&d);
    const char bin[] = "[routine]\ntitle = \xe9\0x\n";
    CHECK(routine_parse("b.ini", bin, sizeof bin - 1, &r, &d) == COACH_EINVAL);
    bool named = false;
    for (size_t i = 0; i < d.len; i++) named |= strstr(d.items[i].msg, "Latin-1") != NULL;
    CHECK(!named);
    diags_free(&d);
}

/* "Exercises" are the exercise and breathing steps: rests and spoken
 * steps are not counted (list, check, plan and the menu all use this). */
static void one_count(void)
{
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    CHECK(parse("[routine]\ntitle = T\n[say hi]\ntext = Hi.\n[exercise a]\nname = A\nhold = 5\n"
                "[rest r]\nseconds = 5\n[breathing b]\nname = B\ninhale = 2\nexhale = 2\n"
                "cycles = 2\n",
                &r, &d) == 0);
    CHECK(r.n_steps == 4 && routine_count_moves(&r) == 2);
    struct clipstore est;
    test_estimator(&est, 48000);
    struct plan_opts o = {.rate_hz = 48000, .level = LEVEL_EASY};
    struct timeline tl;
    char err[256];
    CHECK(plan_build(&r, &voice, &est, &o, &tl, err, sizeof err) == 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    plan_dump_text(&tl, &est, &r, f);
    fclose(f);
    CHECKF(out && strncmp(out, "T: 2 exercises, ", 16) == 0, "%.60s", out ? out : "");
    free(out);
    f = open_memstream(&out, &len);
    plan_dump_json(&tl, &est, &r, f);
    fclose(f);
    CHECK(out && strstr(out, "\"exercises\": 2,"));
    free(out);
    timeline_free(&tl);
    clipstore_free(&est);
    routine_free(&r);
    diags_free(&d);
}

int main(void)
{
    struct coach_diags d;
    diags_init(&d);
    int rc = voice_load(test_src_path("voices/en-us.ini"), &voice, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    CHECK(rc == 0);
    if (rc) return test_done();
    every_misfit();
    key_lines();
    warnings();
    latin1();
    one_count();
    voice_free(&voice);
    return test_done();
}
