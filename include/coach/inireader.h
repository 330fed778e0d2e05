/* Feeding text to inih one line at a time while we count the lines, so every
 * handler call knows its true line number whatever inih was built with
 * (its own numbering goes wrong after a line longer than its buffer). The
 * reader also strips leading blanks (so no line is taken as a multi-line
 * continuation) and replaces over-long lines with empty ones after
 * reporting them. */
#ifndef COACH_INIREADER_H
#define COACH_INIREADER_H

#include <ini.h>
#include <stddef.h>

#include "coach/diag.h"

/* Longest line accepted, in bytes without the line break. */
#ifdef COACH_INIH_RUNTIME_GLOBALS
#define INI_LINES_MAX_BYTES 1000
#else
#define INI_LINES_MAX_BYTES (INI_MAX_LINE - 4)
#endif
/* Largest file accepted. */
#define INI_LINES_MAX_FILE_BYTES (4u << 20)

struct ini_lines {
    const char *name;        /* file name for messages */
    char *owned;             /* file contents when read by ini_lines_open_file */
    const char *text;        /* not necessarily NUL-terminated */
    size_t len, pos;         /* bytes; read position */
    int line;                /* 1-based number of the line last handed to inih */
    struct coach_diags *d;   /* where line-level problems go */
};

/* Reads the whole file. On failure adds "name: cannot open: reason" to d and
 * returns COACH_ENOTFOUND or COACH_EIO. */
int ini_lines_open_file(struct ini_lines *L, const char *path, struct coach_diags *d);
void ini_lines_open_mem(struct ini_lines *L, const char *name, const char *text, size_t len,
                        struct coach_diags *d);
/* Runs inih over the text; returns 0 or COACH_ENOMEM. */
int ini_lines_parse(struct ini_lines *L, ini_handler handler, void *user);
static inline int ini_lines_current(const struct ini_lines *L) { return L->line; }
void ini_lines_close(struct ini_lines *L);

#endif
