/* The INI reader (see include/coach/inireader.h for why it is ours, not
 * inih): reads a file or a buffer line by line, checks each line, checks
 * section headers and splits "key = value" lines itself, and passes each key
 * on with the section it belongs to. Headers, keys, values and comments
 * follow inih's rules, so files written for it read the same. The messages
 * are worded as routine files have always reported them (tests/bad pins
 * them); voice profiles share them. */
#define _POSIX_C_SOURCE 200809L
#include "coach/inireader.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/openfile.h"
#include "coach/textsafe.h"

/* ---- opening ---- */

int ini_lines_open_file(struct ini_lines *L, const char *path, struct coach_diags *d)
{
    memset(L, 0, sizeof *L);
    L->name = path;
    L->d = d;
    /* never fopen: a FIFO swapped in since the file was found would
     * block it for ever */
    const char *kind;
    int fd = coach_open_regular(path, &kind);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        if (kind)
            ini_lines_error(L, 0, "cannot open: it is %s, not a regular file", kind);
        else
            ini_lines_error(L, 0, "cannot open: %s", strerror(e));
        return e == ENOENT ? COACH_ENOTFOUND : COACH_EIO;
    }
    size_t cap = 16384, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : COACH_ENOMEM;
    while (!rc) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                ini_lines_error(L, 0, "cannot read: %s", strerror(errno));
                rc = COACH_EIO;
            }
            break;
        }
        if (n > INI_LINES_MAX_FILE_BYTES) {
            ini_lines_error(L, 0, "file too large (more than %u bytes)",
                            (unsigned)INI_LINES_MAX_FILE_BYTES);
            rc = COACH_EINVAL;
            break;
        }
        if (n == cap) {
            char *q = realloc(buf, cap * 2);
            if (!q) {
                rc = COACH_ENOMEM;
                break;
            }
            buf = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    L->owned = buf;
    L->text = buf;
    L->len = n;
    return 0;
}

void ini_lines_open_mem(struct ini_lines *L, const char *name, const char *text, size_t len,
                        struct coach_diags *d)
{
    memset(L, 0, sizeof *L);
    L->name = name;
    L->text = text;
    L->len = len;
    L->d = d;
}

void ini_lines_close(struct ini_lines *L)
{
    free(L->owned);
    L->owned = NULL;
}

/* ---- messages ---- */

void ini_lines_error(struct ini_lines *L, int line, const char *fmt, ...)
{
    /* Room for any message: a quoted or raw value is at most one line. */
    char msg[INI_LINES_MAX_BYTES + 1024];
    if (L->n_err > INI_LINES_MAX_ERRORS) return;
    if (L->n_err++ == INI_LINES_MAX_ERRORS) {
        snprintf(msg, sizeof msg, "too many errors (stopping after %d)", INI_LINES_MAX_ERRORS);
    } else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    if (diags_add(L->d, L->name, line, "%s", msg)) L->nomem = true;
}

void ini_lines_warn(struct ini_lines *L, int line, const char *fmt, ...)
{
    char msg[INI_LINES_MAX_BYTES + 1024];
    if (L->n_warn >= INI_LINES_MAX_ERRORS) return; /* a flood says nothing more */
    L->n_warn++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (diags_warn(L->d, L->name, line, "%s", msg)) L->nomem = true;
}

const char *ini_lines_quote(struct ini_lines *L, const char *s, size_t n)
{
    char *b = L->quoted[L->qi++ & 3];
    if (n > INI_LINES_QUOTE_BYTES) {
        n = INI_LINES_QUOTE_BYTES;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        memcpy(b, s, n);
        memcpy(b + n, "...", 4);
    } else {
        memcpy(b, s, n);
        b[n] = 0;
    }
    return b;
}

/* ---- checking lines ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Index of the first invalid byte in s[0..n) (bad UTF-8, or the first byte
 * of a character never shown raw: a control character other than tab, a
 * bidirectional control; textsafe.h lists them), or n when the line is
 * clean. *cp is the character there (when it is valid UTF-8). A carriage
 * return is one too: the one before a line break is gone already, and one
 * inside a line would send the cursor back over what is printed. */
static size_t bad_byte(const unsigned char *s, size_t n, uint32_t *cp, bool *valid)
{
    size_t i = 0;
    while (i < n) {
        int len = utf8_next(s + i, n - i, cp);
        /* A cut or broken sequence is reported at its first byte: that is
         * the one a person sees as wrong (e.g. Latin-1 "\xe9"). */
        *valid = len > 0;
        if (len <= 0 || text_unsafe_kind(*cp)) return i;
        i += (size_t)len;
    }
    return n;
}

/* Windows-1252's characters for bytes 0x80-0x9F (0 where it has none);
 * from 0xA0 on, Latin-1 and Windows-1252 are Unicode's first 256. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
    0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};

/* A byte that is not UTF-8, at s[0] of n: when it reads as a character
 * of Latin-1 or Windows-1252 (the usual "ANSI" of an editor on Windows),
 * writes that character as UTF-8 into out and returns the encoding's
 * name; NULL for the start of a UTF-8 sequence that is only cut short or
 * damaged (a lead byte followed by a continuation byte), and for bytes
 * with no character there. */
static const char *legacy_char(const unsigned char *s, size_t n, char out[8])
{
    unsigned c = s[0];
    if (c >= 0xC2 && c <= 0xF4 && n > 1 && (s[1] & 0xC0) == 0x80) return NULL;
    uint32_t cp = c >= 0xA0 ? c : c >= 0x80 ? cp1252_high[c - 0x80] : 0;
    if (!cp) return NULL;
    if (cp == 0xA0 || cp == 0xAD) { /* invisible once printed: named */
        snprintf(out, 8, "%s", cp == 0xA0 ? "NBSP" : "SHY");
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    } else {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        out[3] = 0;
    }
    return c >= 0xA0 ? "Latin-1" : "Windows-1252";
}

/* s[0..n) without its trailing blanks: the new length. */
static size_t rtrim(const char *s, size_t n)
{
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    return n;
}

/* Index in s[0..n) of the first byte that is in stops, or of an inline
 * comment (a ';' right after a blank, so "a;b" stays one value), or n. This
 * is inih's rule for headers, keys and values alike, kept so that files
 * written for the old reader still mean the same. */
static size_t find_or_comment(const char *s, size_t n, const char *stops)
{
    bool was_space = false;
    size_t i = 0;
    while (i < n && !(s[i] && strchr(stops, s[i])) && !(was_space && s[i] == ';')) {
        was_space = is_blank(s[i]);
        i++;
    }
    return i;
}

/* A "[...]" line: s[0] == '[', n bytes, leading blanks already gone. */
static void section_header(struct ini_lines *L, const char *s, size_t n)
{
    /* The section before ends first, so its messages come first too. */
    if (L->on_section) L->on_section(L->user, NULL);
    L->section_dropped = false;
    L->skip_keys = true;
    L->section[0] = 0;

    /* An inline comment (" ;") ends the search for ']'. */
    size_t e = 1 + find_or_comment(s + 1, n - 1, "]");
    if (e >= n || s[e] != ']') {
        ini_lines_error(L, L->line, "section header is not closed: '%s'",
                        ini_lines_quote(L, s, rtrim(s, n)));
        L->section_dropped = L->unreadable = true;
        return;
    }
    /* After ']' only blanks and a comment may follow. */
    size_t t = e + 1;
    while (t < n && is_blank(s[t]))
        t++;
    if (t < n && s[t] != ';' && s[t] != '#')
        ini_lines_error(L, L->line, "unexpected text after section header: '%s'",
                        ini_lines_quote(L, s + t, rtrim(s + t, n - t)));
    const char *in = s + 1;
    size_t in_len = e - 1;
    while (in_len && is_blank(*in))
        in++, in_len--;
    in_len = rtrim(in, in_len);
    if (in_len == 0) {
        ini_lines_error(L, L->line, "empty section header '[]'");
        return;
    }
    memcpy(L->section, in, in_len); /* in_len < n <= INI_LINES_MAX_BYTES */
    L->section[in_len] = 0;
    L->skip_keys = false;
    if (L->on_section) L->on_section(L->user, L->section);
}

/* A checked "key = value" line, s[0..n) with no leading blank and s[eq]
 * the first '=' or ':' (eq > 0): hands the handler the key and the value,
 * both trimmed of blanks, the value cut at an inline comment. */
static void key_line(struct ini_lines *L, const char *s, size_t n, size_t eq)
{
    char buf[INI_LINES_MAX_BYTES + 2]; /* key, NUL, value, NUL: n + 1 bytes */
    size_t k = rtrim(s, eq);
    memcpy(buf, s, k);
    buf[k] = 0;
    const char *v = s + eq + 1;
    size_t vn = n - eq - 1;
    size_t m = find_or_comment(v, vn, "");
    /* the comment cut off, for a caller that warns about one */
    L->comment = m < vn ? v + m : NULL;
    L->comment_len = m < vn ? rtrim(v + m, vn - m) : 0;
    while (m && is_blank(*v))
        v++, m--;
    m = rtrim(v, m);
    memcpy(buf + k + 1, v, m);
    buf[k + 1 + m] = 0;
    L->handler(L->user, L->section, buf, buf + k + 1);
    L->comment = NULL;
    L->comment_len = 0;
}

/* Reads the next line and acts on it: a message for a line that cannot be
 * taken, the section hook for a header, the handler for a key. Comments,
 * blank lines and dropped lines only count. */
static void next_line(struct ini_lines *L)
{
    const char *s = L->text + L->pos;
    size_t n = L->len - L->pos;
    const char *nl = memchr(s, '\n', n);
    if (nl) n = (size_t)(nl - s);
    L->pos += nl ? n + 1 : n;
    if (L->line < INT_MAX) L->line++;
    if (n > 0 && s[n - 1] == '\r') n--;
    if (L->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, n -= 3;

    if (n > INI_LINES_MAX_BYTES) {
        ini_lines_error(L, L->line, "line too long (%zu bytes; at most %d)", n,
                        INI_LINES_MAX_BYTES);
        L->section_dropped = L->unreadable = true;
        return;
    }
    uint32_t cp = 0;
    bool valid = false;
    size_t b = bad_byte((const unsigned char *)s, n, &cp, &valid);
    if (b < n) {
        unsigned c = (unsigned char)s[b];
        char ch[8];
        /* a file with NUL bytes is binary, not text in another encoding */
        if (!valid && !L->nul_known) {
            L->has_nul = memchr(L->text, 0, L->len) != NULL;
            L->nul_known = true;
        }
        const char *enc =
            valid || L->has_nul ? NULL : legacy_char((const unsigned char *)s + b, n - b, ch);
        if (enc) /* most likely saved as "ANSI": say what it was meant to be */
            ini_lines_error(L, L->line,
                            "not UTF-8: byte 0x%02x (%s in %s) at column %zu; save the file as "
                            "UTF-8",
                            c, ch, enc, b + 1);
        else if (!valid)
            ini_lines_error(L, L->line, "invalid UTF-8 at column %zu (byte 0x%02x)", b + 1, c);
        else if (c == 0)
            ini_lines_error(L, L->line, "binary data (NUL byte) at column %zu", b + 1);
        else if (c < 0x80)
            ini_lines_error(L, L->line, "control character 0x%02x at column %zu", c, b + 1);
        else /* never shown raw: it could drive or reorder the terminal */
            ini_lines_error(L, L->line, "%s U+%04X at column %zu", text_unsafe_kind(cp),
                            (unsigned)cp, b + 1);
        L->section_dropped = L->unreadable = true;
        return;
    }
    /* Leading blanks go: an indented line is never a continuation. */
    while (n && is_blank(*s))
        s++, n--;
    if (n == 0 || *s == ';' || *s == '#') return;
    if (*s == '[') {
        section_header(L, s, n);
        return;
    }
    /* A "key = value" line needs '=' or ':' before any inline comment. */
    size_t i = find_or_comment(s, n, "=:");
    if (i == n || s[i] == ';') {
        ini_lines_error(L, L->line, "expected 'key = value', got '%s'",
                        ini_lines_quote(L, s, rtrim(s, n)));
        L->section_dropped = true;
        return;
    }
    /* Still a key line, only without its key: the section's own checks
     * (say, for missing keys) stay meaningful, so it is not marked. */
    if (i == 0) {
        ini_lines_error(L, L->line, "missing key name before '%c'", s[0]);
        return;
    }
    if (!L->skip_keys) key_line(L, s, n, i);
}

/* ---- parsing ---- */

int ini_lines_parse(struct ini_lines *L, ini_lines_handler handler,
                    ini_lines_section_hook on_section, void *user)
{
    L->pos = 0;
    L->line = 0;
    L->handler = handler;
    L->on_section = on_section;
    L->user = user;
    L->skip_keys = false;
    L->section[0] = 0;
    L->section_dropped = false;
    while (L->pos < L->len)
        next_line(L);
    if (on_section) on_section(user, NULL);
    return L->nomem ? COACH_ENOMEM : 0;
}
