/* Tests for --progress: the streak of full completions read back from a
 * history written with history_append (other routines ignored, a stopped,
 * interrupted or partial session ends the streak, damaged lines skipped),
 * an empty or missing history, the level rule base + streak / 3
 * capped at hard, and the pain rule: a pain stop or a rating of 7 or more
 * steps a level down. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coach/common.h"
#include "coach/history.h"
#include "coach/progress.h"
#include "testutil.h"

static char path[1024];
static time_t when = 1795290005;

static void add_skipped(const char *routine, const char *ending, unsigned done, unsigned total,
                        unsigned skipped)
{
    struct history_record r = {.when = when, .routine = routine, .title = "T",
                               .steps_done = done, .steps_total = total, .seconds = 60,
                               .ending = ending, .skipped = skipped};
    when += 3600;
    CHECK(history_append(path, &r) == 0);
}

static void add(const char *routine, const char *ending, unsigned done, unsigned total)
{
    add_skipped(routine, ending, done, total, 0);
}

/* A record with a pain stop (pain_step) and/or a rating (pain >= 0). */
static void add_pain(const char *routine, const char *ending, const char *pain_step, int pain)
{
    struct history_record r = {.when = when, .routine = routine, .title = "T",
                               .steps_done = 5, .steps_total = 5, .seconds = 60,
                               .ending = ending, .pain_step = pain_step,
                               .has_pain = pain >= 0, .pain = pain >= 0 ? (unsigned)pain : 0};
    when += 3600;
    CHECK(history_append(path, &r) == 0);
}

static struct progress walk(const char *routine, enum level base)
{
    struct progress p;
    int rc = progress_walk(path, routine, base, &p, NULL);
    CHECKF(rc == 0, "rc %d", rc);
    return p;
}

static unsigned streak(const char *routine)
{
    unsigned n = 99;
    int rc = progress_streak(path, routine, &n, NULL);
    CHECKF(rc == 0, "rc %d", rc);
    return n;
}

static void fresh(const char *name)
{
    snprintf(path, sizeof path, "%s/history.tsv", test_tmpdir(name));
    remove(path);
}

static void test_empty(void)
{
    fresh("progress-empty");
    CHECK(streak("back") == 0); /* no file at all */
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    CHECK(streak("back") == 0); /* an empty file */
    unsigned n;
    CHECK(progress_streak(NULL, "back", &n, NULL) == COACH_EINVAL);
}

static void test_streak(void)
{
    fresh("progress-streak");
    add("back", "completed", 5, 5);
    add("back", "stopped", 2, 5); /* ends the older run */
    add("back", "completed", 5, 5);
    add("core", "stopped", 1, 4);  /* other routines are ignored */
    add("back", "completed", 5, 5);
    add("core", "completed", 4, 4);
    add("back", "completed", 5, 5);
    add("back", "completed", 5, 5);
    CHECKF(streak("back") == 4, "%u", streak("back"));
    CHECK(streak("core") == 1);
    CHECK(streak("nothing-like-it") == 0);

    /* a damaged line is skipped, not a break in the streak */
    FILE *f = fopen(path, "a");
    CHECK(f != NULL);
    if (f) {
        fputs("2026-11-22T10:00:00\tback\tT\t5\tfive\t60\tcompleted\n\n", f);
        fclose(f);
    }
    CHECK(streak("back") == 4);

    /* "completed" with steps skipped is not a full completion */
    add("back", "completed", 4, 5);
    CHECK(streak("back") == 0);
    add("back", "completed", 5, 5);
    CHECK(streak("back") == 1);
    add("back", "interrupted", 5, 5);
    CHECK(streak("back") == 0);
    add("back", "completed", 5, 5);
    add("back", "error", 0, 5);
    CHECK(streak("back") == 0);
    /* steps skipped with next: never a full completion, whatever the counts say */
    add("back", "completed", 5, 5);
    add_skipped("back", "completed", 5, 5, 1);
    CHECK(streak("back") == 0);
    /* three sessions whose steps were all skipped do not raise the level */
    for (int i = 0; i < 3; i++) add_skipped("back", "completed", 0, 5, 5);
    CHECK(streak("back") == 0);
    /* records of earlier versions (no skipped field) still count */
    f = fopen(path, "a");
    CHECK(f != NULL);
    if (f) {
        for (int i = 0; i < 3; i++) fputs("2026-11-23T10:00:00\tback\tT\t5\t5\t60\tcompleted\n", f);
        fclose(f);
    }
    CHECK(streak("back") == 3);
}

static void test_level_rule(void)
{
    CHECK(progress_level(LEVEL_EASY, 0) == LEVEL_EASY);
    CHECK(progress_level(LEVEL_EASY, 2) == LEVEL_EASY);
    CHECK(progress_level(LEVEL_EASY, 3) == LEVEL_MEDIUM);
    CHECK(progress_level(LEVEL_EASY, 5) == LEVEL_MEDIUM);
    CHECK(progress_level(LEVEL_EASY, 6) == LEVEL_HARD);
    CHECK(progress_level(LEVEL_EASY, 40) == LEVEL_HARD); /* capped */
    CHECK(progress_level(LEVEL_EASY, 4000000000u) == LEVEL_HARD);
    CHECK(progress_level(LEVEL_MEDIUM, 3) == LEVEL_HARD);
    CHECK(progress_level(LEVEL_HARD, 0) == LEVEL_HARD);
    CHECK(progress_level(LEVEL_HARD, 9) == LEVEL_HARD);

    /* from a history: 7 in a row from easy is hard, capped */
    fresh("progress-cap");
    for (int i = 0; i < 7; i++) add("yoga", "completed", 3, 3);
    unsigned n = streak("yoga");
    CHECK(n == 7);
    CHECK(progress_level(LEVEL_EASY, n) == LEVEL_HARD);
}

/* A pain stop or a rating of 7 or more steps one level back down (never
 * below easy) and starts the count again; a level reached stays through
 * ordinary stops; ratings below 7 do not break a streak. */
static void test_pain_rule(void)
{
    fresh("progress-pain");
    struct progress p = walk("back", LEVEL_EASY);
    CHECK(p.level == LEVEL_EASY && p.streak == 0 && !p.stepped_down);
    for (int i = 0; i < 3; i++) add("back", "completed", 5, 5);
    p = walk("back", LEVEL_EASY);
    CHECK(p.level == LEVEL_MEDIUM && p.streak == 3);
    /* a rating below 7 is a clean session */
    add_pain("back", "completed", NULL, 6);
    p = walk("back", LEVEL_EASY);
    CHECK(p.level == LEVEL_MEDIUM && p.streak == 4 && !p.stepped_down);
    /* a completed session with a pain stop (skipped with next) is not clean: down */
    add_pain("back", "completed", "bird-dog", -1);
    p = walk("back", LEVEL_EASY);
    CHECKF(p.level == LEVEL_EASY && p.streak == 0 && p.stepped_down && p.pain_stop, "level %d streak %u",
           (int)p.level, p.streak);
    CHECK(streak("back") == 0);
    /* three clean sessions: up again; a stop keeps the level, restarts the count */
    for (int i = 0; i < 3; i++) add("back", "completed", 5, 5);
    add("back", "stopped", 2, 5);
    p = walk("back", LEVEL_EASY);
    CHECK(p.level == LEVEL_MEDIUM && p.streak == 0 && !p.stepped_down);
    /* a rating of 7 after a full completion: down */
    add_pain("back", "completed", NULL, 7);
    p = walk("back", LEVEL_EASY);
    CHECK(p.level == LEVEL_EASY && p.stepped_down && !p.pain_stop && p.pain == 7);
    /* from the routine's own medium: pain steps below it, to easy */
    fresh("progress-pain-base");
    add_pain("core", "stopped", "plank", 9);
    p = walk("core", LEVEL_MEDIUM);
    CHECK(p.level == LEVEL_EASY && p.stepped_down);
    /* and never below easy; other routines' pain does not count */
    add_pain("core", "stopped", "plank", -1);
    add_pain("back", "stopped", "plank", -1);
    p = walk("core", LEVEL_EASY);
    CHECK(p.level == LEVEL_EASY && p.stepped_down);
    for (int i = 0; i < 9; i++) add("core", "completed", 5, 5);
    p = walk("core", LEVEL_EASY);
    CHECK(p.level == LEVEL_HARD && p.streak == 9 && !p.stepped_down);
    add_pain("core", "completed", NULL, 10);
    p = walk("core", LEVEL_EASY);
    CHECK(p.level == LEVEL_MEDIUM && p.streak == 0);
    /* no history at all: the base */
    fresh("progress-pain-none");
    p = walk("core", LEVEL_MEDIUM);
    CHECK(p.level == LEVEL_MEDIUM && p.streak == 0 && !p.stepped_down);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    test_empty();
    test_streak();
    test_level_rule();
    test_pain_rule();
    return test_done();
}
