/* The one INI reader, shared by every INI file we read (routines, voice
 * profiles). It is hand-written rather than inih because with inih the
 * longest line a routine could have depended on the build linked: upstream's
 * line buffer is a compile-time constant (200 bytes), Debian's a patched
 * run-time knob, and per-key line numbers need a non-default build option.
 * This reader already did every line-level check itself, and the one thing
 * left to inih, splitting "key = value", is a few lines. It reads the file
 * (with a size cap), skips a BOM, counts lines, strips leading blanks (no
 * line is ever a multi-line continuation), and reports then drops over-long,
 * binary, non-UTF-8 and malformed lines and broken section headers. It keeps
 * the current section name, can tell a caller that tracks sections itself,
 * and hands each key on trimmed, as inih split it: blanks around the key and
 * the value go, and so does an inline comment (a ';' after a blank). Every
 * message goes through one error cap. One struct ini_lines per parse; no
 * global state. */
#ifndef COACH_INIREADER_H
#define COACH_INIREADER_H

#include <stdbool.h>
#include <stddef.h>

#include "coach/diag.h"

/* Longest line accepted, in bytes without the line break, whatever is
 * installed: long enough for any cue or tip (500 bytes) with its key and a
 * comment. */
#define INI_LINES_MAX_BYTES 1000
#define INI_LINES_MAX_FILE_BYTES (1u << 20) /* ini_lines_open_file refuses larger files */
#define INI_LINES_MAX_ERRORS 100            /* messages per file; then "too many errors" */
#define INI_LINES_QUOTE_BYTES 60            /* longest quoted text, before "..." */

/* A key line: section is the current header's trimmed text ("" before any
 * header). Returns non-zero (the value is ignored: every problem is reported
 * through ini_lines_error). */
typedef int (*ini_lines_handler)(void *user, const char *section, const char *name,
                                 const char *value);
/* Called with name NULL where a section ends (at each header line, before it
 * is checked, and at the end of the text), then again with the header's
 * trimmed text once it is found well-formed. Keys after a broken header are
 * not handed on. */
typedef void (*ini_lines_section_hook)(void *user, const char *name);

struct ini_lines {
    const char *name;      /* file name for messages */
    char *owned;           /* file contents when read by ini_lines_open_file */
    const char *text;      /* not necessarily NUL-terminated */
    size_t len, pos;       /* bytes; read position */
    int line;              /* 1-based number of the line last read */
    struct coach_diags *d; /* where messages go */
    int n_err;             /* messages added through ini_lines_error */
    int n_warn;            /* warnings added through ini_lines_warn (capped too) */
    const char *comment;   /* during a handler call: the inline comment (" ; ...")
                            * cut from the value, from its ';' (not NUL-terminated) */
    size_t comment_len;    /* its bytes without trailing blanks; 0 if none */
    bool nomem;            /* a message could not be stored */
    bool unreadable;       /* a line was too long, binary or not UTF-8, or a
                            * header was not closed: whole-file checks may cascade */
    bool section_dropped;  /* a line of the current section was dropped */

    /* private to the reader */
    ini_lines_handler handler;
    ini_lines_section_hook on_section;
    void *user;
    bool skip_keys; /* after a broken header */
    bool nul_known, has_nul; /* the text has a NUL byte: binary, not Latin-1 */
    char section[INI_LINES_MAX_BYTES + 1];
    char quoted[4][INI_LINES_QUOTE_BYTES + 4];
    unsigned qi;
};

/* Reads the whole file (at most INI_LINES_MAX_FILE_BYTES). On failure adds
 * "name: cannot open: reason" (or cannot read, file too large) and returns
 * COACH_ENOTFOUND, COACH_EIO or COACH_EINVAL; ini_lines_close is safe either way. */
int ini_lines_open_file(struct ini_lines *L, const char *path, struct coach_diags *d);
/* Reads text[0..len) in place; name is used in messages. */
void ini_lines_open_mem(struct ini_lines *L, const char *name, const char *text, size_t len,
                        struct coach_diags *d);
/* Reads every line of the text, calling handler for each key and
 * on_section (which may be NULL) for each section. Returns 0, or
 * COACH_ENOMEM if a message could not be stored. */
int ini_lines_parse(struct ini_lines *L, ini_lines_handler handler,
                    ini_lines_section_hook on_section, void *user);
/* Adds "name:line: message" unless the cap was reached (the message past it
 * says so); line 0 is the file as a whole. */
void ini_lines_error(struct ini_lines *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds "name:line: warning: message": the file can still be used. */
void ini_lines_warn(struct ini_lines *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* s[0..n) for a message, cut at INI_LINES_QUOTE_BYTES on a UTF-8 boundary.
 * Points into L: valid until four more quotes are made. */
const char *ini_lines_quote(struct ini_lines *L, const char *s, size_t n);
static inline int ini_lines_current(const struct ini_lines *L) { return L->line; }
void ini_lines_close(struct ini_lines *L);

#endif
