/* Session history: one line per finished or stopped session, appended
 * durably (O_APPEND + fsync) to $XDG_STATE_HOME/coach/history.tsv
 * (~/.local/state/coach/history.tsv), so a crash never corrupts earlier
 * records. Tab-separated: ISO-8601 local date-time, routine name, routine
 * title, steps done (played through), steps in total, seconds exercised
 * (paused and skipped time not counted), how it ended ("completed" |
 * "stopped" | "interrupted" | "error"), steps skipped (gone past with
 * "next" before they were done). Records of earlier versions have no
 * skipped field: read as 0. */
#ifndef COACH_HISTORY_H
#define COACH_HISTORY_H

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
};

/* A record as history_read finds it. rec.when is the local time when_text
 * names (-1 if none); when_text is kept because printing the recorded
 * text needs no time zone round trip. */
struct history_entry {
    struct history_record rec;
    const char *when_text;  /* "YYYY-MM-DDTHH:MM:SS" as recorded */
};

/* $COACH_HISTORY_FILE if set, else the XDG path above (heap string). */
char *history_default_path(void);
/* Appends one record (creating directories); tabs/newlines in text are
 * replaced by spaces. A special file takes it unsynced (/dev/null: no
 * history kept). Returns 0 or COACH_EIO (errno kept). */
int history_append(const char *path, const struct history_record *rec);
/* Reads the history at path oldest first and calls each(ctx, e) for every
 * record that parses and validates, skipping damaged lines (torn,
 * NUL-filled, wrong field count or values). e and its strings are valid
 * only during the call: copy what must outlive it. A non-zero return from
 * each stops the reading and is returned. Otherwise returns 0,
 * COACH_ENOTFOUND if there is no history yet (no file, or a device or
 * pipe such as /dev/null: never read, so never waited on), or COACH_EIO
 * (errno kept; EISDIR for a directory). */
int history_read(const char *path, int (*each)(void *ctx, const struct history_entry *e),
                 void *ctx);
/* Prints the history readably (one sentence per line, screen-reader
 * friendly), skipping damaged lines. Returns 0, COACH_ENOTFOUND if there
 * is no history yet, or COACH_EIO. */
int history_print(const char *path, FILE *out);

#endif
