/* Session history: one line per finished or stopped session, appended
 * durably (O_APPEND + fsync) to $XDG_STATE_HOME/coach/history.tsv
 * (~/.local/state/coach/history.tsv), so a crash never corrupts earlier
 * records (a failed append is cut back off). Tab-separated: ISO-8601
 * local date-time, routine name, routine title, steps done (played
 * through), steps in total, seconds exercised (paused and skipped time not
 * counted), how it ended ("completed" | "stopped" | "interrupted" |
 * "error"), steps skipped (gone past with "next" before they were done).
 * Records of earlier versions have no skipped field: read as 0. Then,
 * only in records that have one of them, the id of the step the session
 * started at (--from, --resume) and of the step that was playing when it
 * ended unfinished, "-" for none (top; completed): 10 fields. Then, only
 * in records of sessions with a "hold = max", the seconds held in each,
 * comma-separated ("45,38"): 11 fields (the step fields "-" if none).
 * Then, only in records that have one of them, the id of the exercise
 * stopped because it hurt (the pain stop: `hurt`; "-" for none) and the
 * pain rating 0-10 given at the end (--ask-pain; "-" for none): 13 fields
 * (the seconds held "-" if none). */
#ifndef COACH_HISTORY_H
#define COACH_HISTORY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct history_record {
    time_t when;            /* start of the session */
    const char *routine;    /* name (file name without .ini) */
    const char *title;
    unsigned steps_done, steps_total;
    uint64_t seconds;       /* time exercised */
    const char *ending;     /* "completed", "stopped", "interrupted", "error" */
    unsigned skipped;       /* steps gone past unfinished */
    const char *from_step;  /* id of the step it started at; NULL: the top */
    const char *stop_step;  /* id of the step playing when it ended unfinished; NULL: none */
    const char *held;       /* hold = max: seconds held, "45,38"; NULL or "": none */
    const char *pain_step;  /* id of the exercise stopped because it hurt; NULL: none */
    bool has_pain;          /* a pain rating was given (--ask-pain) */
    unsigned pain;          /* the rating, 0-10 (has_pain) */
};
/* The most holds a record lists (the rest are left out). */
#define HISTORY_MAX_HELD 32

/* A record as history_read finds it. rec.when is the local time when_text
 * names (-1 if none); when_text is kept because printing the recorded
 * text needs no time zone round trip. */
struct history_entry {
    struct history_record rec;
    const char *when_text;  /* "YYYY-MM-DDTHH:MM:SS" as recorded */
};

/* $COACH_HISTORY_FILE if set, else the XDG path above (heap string). */
char *history_default_path(void);
/* Appends one record (creating directories; see the safety rules below);
 * tabs/newlines in text are replaced by spaces. A character device or a
 * pipe takes it unsynced (/dev/null: no history kept). If the write fails
 * (disk full: ENOSPC, EDQUOT; the file size limit: EFBIG with SIGXFSZ
 * ignored) the file is cut back to its size before, so no partial record
 * stays. Returns 0, COACH_EINVAL (a record that could not be read back),
 * COACH_ENOMEM or COACH_EIO (errno kept). */
int history_append(const char *path, const struct history_record *rec);
/* Reads the history at path oldest first and calls each(ctx, e) for every
 * record that parses and validates, skipping damaged lines (torn,
 * NUL-filled, too long, wrong field count or values). e and its strings
 * are valid only during the call: copy what must outlive it. A non-zero return from
 * each stops the reading and is returned. Otherwise returns 0,
 * COACH_ENOTFOUND if there is no history yet (no file, or a device or
 * pipe such as /dev/null: never read, so never waited on), or COACH_EIO
 * (errno kept; EISDIR for a directory). */
int history_read(const char *path, int (*each)(void *ctx, const struct history_entry *e),
                 void *ctx);

/* Where the last session of a routine left off (--resume). */
struct history_resume {
    bool found;
    char ending[16];        /* "completed", "stopped", "interrupted", "error" */
    char stop_step[72];     /* the step id it stopped at; "" if none recorded */
    unsigned steps_done, steps_total;
};
/* The last record of routine (by name) in the history at path. Returns 0
 * (out->found), COACH_ENOTFOUND if there is no history or no record of
 * it, or COACH_EIO (as history_read). Damaged lines are passed over. */
int history_resume_point(const char *path, const char *routine, struct history_resume *out);

/* Longest record line read back, newline not counted; history_append
 * refuses to write a longer one (COACH_EINVAL, EMSGSIZE). */
#define HISTORY_LINE_MAX 4096

/* The damaged lines a read skipped: torn by a crash, NUL-filled, longer
 * than HISTORY_LINE_MAX (read past, never held in memory), wrong fields.
 * Empty lines are not counted. */
struct history_damage {
    unsigned long lines;      /* how many */
    unsigned long first_line; /* 1-based line number of the first; 0 if none */
};

/* history_read that also says what it skipped (damage may be NULL). */
int history_scan(const char *path, int (*each)(void *ctx, const struct history_entry *e),
                 void *ctx, struct history_damage *damage);
/* "2 damaged lines skipped (…)" for a warning that names the file and
 * d->first_line; "" if there is no damage. */
void history_damage_text(const struct history_damage *d, char *buf, size_t cap);
/* Prints the history readably (one sentence per line, screen-reader
 * friendly), skipping damaged lines (counted in damage, which may be
 * NULL). Returns 0, COACH_ENOTFOUND if there is no history yet, or
 * COACH_EIO. */
int history_print(const char *path, FILE *out, struct history_damage *damage);
/* The history as a JSON array, oldest first, one object per record with
 * every field: "when" (the recorded local "YYYY-MM-DDTHH:MM:SS"),
 * "routine", "title", "steps_done", "steps_total", "seconds", "ending",
 * "skipped", "from_step" and "stop_step" (a step id, or null). Strings
 * are escaped by text_fput_json. "[]" when there is no history yet (the
 * return is still COACH_ENOTFOUND); otherwise as history_print. */
int history_print_json(const char *path, FILE *out, struct history_damage *damage);

/* Safety rules of history_append and history_read/scan/print. The file is
 * opened without following a symbolic link (O_NOFOLLOW) and, if it is a
 * regular file, must belong to the effective user; its directory must
 * belong to that user or root and be writable by nobody else (a history
 * right in /tmp is refused); on the way to it, a symbolic link is followed
 * only in such a directory. Directories made for the history are 0700 and
 * the file 0600. A path that breaks a rule gives COACH_EIO with errno
 * EPERM, and history_refused() says why in words ("it is a symbolic
 * link"); after any other outcome it is NULL. Per thread, valid until the
 * next history call on it. */
const char *history_refused(void);

#endif
