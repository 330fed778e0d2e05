/* Tests for the session history: the default path (COACH_HISTORY_FILE,
 * XDG_STATE_HOME, HOME), appending records into a fresh directory tree,
 * the exact file lines and the printed sentences (TZ fixed to UTC), text
 * sanitising, skipping of damaged lines (a torn record in the middle, NUL
 * blocks, bad fields) with later records still printed, and the errors:
 * no history yet, a parent that is a regular file. */
#define _POSIX_C_SOURCE 200809L /* setenv, tzset, open_memstream */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "coach/common.h"
#include "coach/history.h"
#include "testutil.h"

/* 2026-11-21 19:40:05 UTC */
#define T0 ((time_t)1795290005)

static char *print_to_string(const char *path, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return NULL;
    *rc = history_print(path, m);
    fclose(m);
    return buf;
}

static void append_raw(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    CHECK(f != NULL);
    if (!f) return;
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

static void test_default_path(void)
{
    unsetenv("COACH_HISTORY_FILE");
    setenv("XDG_STATE_HOME", "/x/state", 1);
    char *p = history_default_path();
    CHECKF(p && strcmp(p, "/x/state/coach/history.tsv") == 0, "%s", p ? p : "(null)");
    free(p);
    setenv("XDG_STATE_HOME", "relative/ignored", 1);
    setenv("HOME", "/home/u", 1);
    p = history_default_path();
    CHECKF(p && strcmp(p, "/home/u/.local/state/coach/history.tsv") == 0, "%s", p ? p : "(null)");
    free(p);
    unsetenv("XDG_STATE_HOME");
    p = history_default_path();
    CHECK(p && strcmp(p, "/home/u/.local/state/coach/history.tsv") == 0);
    free(p);
    setenv("COACH_HISTORY_FILE", "/tmp/h.tsv", 1);
    p = history_default_path();
    CHECK(p && strcmp(p, "/tmp/h.tsv") == 0);
    free(p);
}

static void test_roundtrip(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/state/coach/history.tsv", dir);
    setenv("COACH_HISTORY_FILE", path, 1);
    char *p = history_default_path();
    CHECK(p && strcmp(p, path) == 0);
    free(p);

    int rc = 0;
    char *out = print_to_string(path, &rc);
    CHECK(rc == COACH_ENOTFOUND);
    free(out);

    struct history_record recs[] = {
        {T0, "lower-back-relief", "Lower back relief", 10, 10, 18 * 60 + 9, "completed", 0},
        {T0 + 86400, "desk\tbreak", "Desk\tbreak\nwith\r\nnewlines", 3, 7, 45, "stopped", 0},
        {T0 + 2 * 86400, "one", "", 0, 1, 0, "interrupted", 0},
        {T0 + 3 * 86400 + 3600, "long", "Long one", 12, 40, 3600 + 5 * 60 + 3, "error", 0},
        {T0 + 4 * 86400, "hour", "Hour", 2, 2, 7200, "completed", 0},
        {T0 + 5 * 86400, "skip", "Skipped some", 1, 3, 61, "completed", 2},
    };
    size_t n = sizeof recs / sizeof recs[0];
    for (size_t i = 0; i < n; i++)
        CHECKF(history_append(path, &recs[i]) == 0, "append %zu", i);

    /* directories made private; file one line per record */
    char cdir[600];
    snprintf(cdir, sizeof cdir, "%s/state/coach", dir);
    struct stat st;
    CHECK(stat(cdir, &st) == 0 && (st.st_mode & 0777) == 0700);

    const char *want_file =
        "2026-11-21T19:40:05\tlower-back-relief\tLower back relief\t10\t10\t1089\tcompleted\t0\n"
        "2026-11-22T19:40:05\tdesk break\tDesk break with  newlines\t3\t7\t45\tstopped\t0\n"
        "2026-11-23T19:40:05\tone\t\t0\t1\t0\tinterrupted\t0\n"
        "2026-11-24T20:40:05\tlong\tLong one\t12\t40\t3903\terror\t0\n"
        "2026-11-25T19:40:05\thour\tHour\t2\t2\t7200\tcompleted\t0\n"
        "2026-11-26T19:40:05\tskip\tSkipped some\t1\t3\t61\tcompleted\t2\n";
    char *file = test_read_file(path, NULL);
    CHECKF(file && strcmp(file, want_file) == 0, "file:\n%s", file ? file : "(null)");
    free(file);

    const char *want_print =
        "2026-11-21 19:40: Lower back relief (lower-back-relief), completed, 10 of 10 steps, "
        "18 min 9 s.\n"
        "2026-11-22 19:40: Desk break with  newlines (desk break), stopped, 3 of 7 steps, 45 s.\n"
        "2026-11-23 19:40: one, interrupted, 0 of 1 step, 0 s.\n"
        "2026-11-24 20:40: Long one (long), error, 12 of 40 steps, 1 h 5 min 3 s.\n"
        "2026-11-25 19:40: Hour (hour), completed, 2 of 2 steps, 2 h.\n"
        "2026-11-26 19:40: Skipped some (skip), completed, 1 of 3 steps, 2 skipped, 1 min 1 s.\n";
    out = print_to_string(path, &rc);
    CHECK(rc == 0);
    CHECKF(out && strcmp(out, want_print) == 0, "printed:\n%s", out ? out : "(null)");
    free(out);

    /* damage: a record torn by a crash (no newline), then more records */
    append_raw(path, "2026-11-26T08:00:00\tcrash\tCrashed ses");
    struct history_record after = {T0 + 6 * 86400, "after", "After the crash", 5, 5, 300,
                                   "completed", 0};
    CHECK(history_append(path, &after) == 0);
    /* assorted junk lines between good records */
    append_raw(path, "\n"
                     "not a record\n"
                     "2026-11-27T08:00:00\tx\tX\t1\t2\t3\n"                    /* 6 fields */
                     "2026-11-27T08:00:00\tx\tX\t1\t2\t3\tcompleted\textra\n"  /* skipped not a number */
                     "2026-11-27T08:00:00\tx\tX\t1\t2\t3\tcompleted\t0\t0\n"  /* 9 fields */
                     "2026-11-27T08:00:00\tx\tX\t1\tz\t3\tcompleted\n"         /* not a number */
                     "2026-11-27T08:00:00\tx\tX\t1\t2\t\tcompleted\n"          /* empty number */
                     "2026-11-27 08:00:00\tx\tX\t1\t2\t3\tcompleted\n"         /* bad date */
                     "2026-11-27T08:00:00\tx\tX\t1\t2\t3\tcompl\n"             /* torn ending */
                     "2026-11-27T08:00:00\t\tX\t1\t2\t3\tcompleted\n"          /* no name */
                     "2026-11-27T08:00:00\tcrlf\tCRLF\t1\t2\t3\tstopped\r\n"); /* fine */
    append_raw(path, "2026-11-28T08:00:00\tnul\tNUL\t1\t2\t3\tcompleted\n");
    {
        /* a NUL block as left by a crash on some filesystems */
        FILE *f = fopen(path, "ab");
        static const char zeros[64];
        fwrite(zeros, 1, sizeof zeros, f);
        fputs("2026-11-28T08:00:00\tz\tZ\t1\t2\t3\tcompleted\n", f);
        fclose(f);
    }
    struct history_record last = {T0 + 8 * 86400, "last", "Last", 1, 1, 61, "stopped", 0};
    CHECK(history_append(path, &last) == 0);

    out = print_to_string(path, &rc);
    CHECK(rc == 0);
    const char *more =
        "2026-11-27 19:40: After the crash (after), completed, 5 of 5 steps, 5 min.\n"
        "2026-11-27 08:00: CRLF (crlf), stopped, 1 of 2 steps, 3 s.\n"
        "2026-11-28 08:00: NUL (nul), completed, 1 of 2 steps, 3 s.\n"
        "2026-11-29 19:40: Last (last), stopped, 1 of 1 step, 1 min 1 s.\n";
    size_t k = strlen(want_print);
    CHECKF(out && strncmp(out, want_print, k) == 0 && strcmp(out + k, more) == 0,
           "printed after damage:\n%s", out ? out : "(null)");
    free(out);

    /* bad endings are refused rather than written and lost */
    struct history_record bad = {T0, "x", "X", 1, 1, 1, "finished", 0};
    CHECK(history_append(path, &bad) == COACH_EINVAL);
    bad.ending = NULL;
    CHECK(history_append(path, &bad) == COACH_EINVAL);
}

static void test_errors(const char *dir)
{
    char path[700], file[600];
    struct history_record r = {T0, "a", "A", 1, 1, 1, "completed", 0};

    /* the parent is a regular file */
    snprintf(file, sizeof file, "%s/plainfile", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/history.tsv", file);
    errno = 0;
    CHECK(history_append(path, &r) == COACH_EIO);
    CHECK(errno == ENOTDIR || errno == EEXIST);
    snprintf(path, sizeof path, "%s/deeper/history.tsv", file);
    CHECK(history_append(path, &r) == COACH_EIO);
    int rc = 0;
    free(print_to_string(path, &rc));
    CHECK(rc == COACH_ENOTFOUND);

    /* the path itself is a directory */
    CHECK(history_append(dir, &r) == COACH_EIO);
    free(print_to_string(dir, &rc));
    CHECK(rc == COACH_EIO);

    /* an empty history file prints nothing */
    snprintf(path, sizeof path, "%s/empty.tsv", dir);
    f = fopen(path, "w");
    if (f) fclose(f);
    char *out = print_to_string(path, &rc);
    CHECK(rc == 0 && out && out[0] == 0);
    free(out);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const char *dir = test_tmpdir("test_history");
    test_default_path();
    test_roundtrip(dir);
    test_errors(dir);
    return test_done();
}
