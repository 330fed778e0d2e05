/* A list of diagnostics ("file:line: message") collected while reading a
 * routine or a voice profile, so that every error of a file is reported at
 * once, in line order. */
#ifndef COACH_DIAG_H
#define COACH_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct coach_diag {
    char *file; /* path as given by the user */
    int line;   /* 1-based; 0 = the file as a whole */
    char *msg;  /* lower-case, no trailing period; "warning: ..." for a warning */
    int warning; /* 1: the file is still usable (coach check --strict refuses it) */
};

struct coach_diags {
    struct coach_diag *items; /* in the order added */
    size_t len, cap;
};

void diags_init(struct coach_diags *d);
void diags_free(struct coach_diags *d);
/* Returns 0, or COACH_ENOMEM. */
int diags_add(struct coach_diags *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same, as a warning: the message starts with "warning: ". */
int diags_warn(struct coach_diags *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* How many of d's entries are warnings. */
size_t diags_warnings(const struct coach_diags *d);
/* Stable sort by (file order of first appearance, line). */
void diags_sort(struct coach_diags *d);
/* Prints "file:line: msg\n" (or "file: msg\n" when line is 0), control
 * and bidirectional characters replaced (text_fput_safe). */
void diags_print(const struct coach_diags *d, FILE *out);

#endif
