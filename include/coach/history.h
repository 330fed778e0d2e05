/* Session history: one line per finished or stopped session, appended
 * durably (O_APPEND + fsync) to $XDG_STATE_HOME/coach/history.tsv
 * (~/.local/state/coach/history.tsv), so a crash never corrupts earlier
 * records. Tab-separated: ISO-8601 local date-time, routine name, routine
 * title, steps completed, steps in total, seconds exercised (paused time not
 * counted), how it ended ("completed" | "stopped" | "interrupted" | "error"). */
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
};

/* $COACH_HISTORY_FILE if set, else the XDG path above (heap string). */
char *history_default_path(void);
/* Appends one record (creating directories); tabs/newlines in text are
 * replaced by spaces. Returns 0 or COACH_EIO (errno kept). */
int history_append(const char *path, const struct history_record *rec);
/* Prints the history readably (one sentence per line, screen-reader
 * friendly), skipping damaged lines. Returns 0, COACH_ENOTFOUND if there
 * is no history yet, or COACH_EIO. */
int history_print(const char *path, FILE *out);

#endif
