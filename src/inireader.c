/* A line-counting reader for inih: see include/coach/inireader.h. */
#include "coach/inireader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

int ini_lines_open_file(struct ini_lines *L, const char *path, struct coach_diags *d)
{
    memset(L, 0, sizeof *L);
    L->name = path;
    L->d = d;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        diags_add(d, path, 0, "cannot open: %s", strerror(e));
        return e == ENOENT ? COACH_ENOTFOUND : COACH_EIO;
    }
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : COACH_ENOMEM;
    while (!rc) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                diags_add(d, path, 0, "cannot read: %s", strerror(errno));
                rc = COACH_EIO;
            }
            break;
        }
        if (n == cap) {
            if (cap >= INI_LINES_MAX_FILE_BYTES) {
                diags_add(d, path, 0, "file too large (more than %u bytes)",
                          INI_LINES_MAX_FILE_BYTES);
                rc = COACH_EINVAL;
                break;
            }
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

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) k = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, min = 0x10000;
    else return 0;
    if (n < k) return 0;
    unsigned cp = c & (0x3F >> (k - 1));
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return k;
}

/* Reports the first encoding problem of a line; true if the line is bad. */
static bool bad_bytes(struct ini_lines *L, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c < 0x20 && c != '\t') {
            diags_add(L->d, L->name, L->line,
                      "binary data: control byte 0x%02x at column %zu (is this a text file?)", c,
                      i + 1);
            return true;
        }
        size_t k = utf8_seq(s + i, n - i);
        if (!k) {
            diags_add(L->d, L->name, L->line, "invalid UTF-8: byte 0x%02x at column %zu", c, i + 1);
            return true;
        }
        i += k;
    }
    return false;
}

/* Reports lines inih would reject, since it only returns the first. */
static bool bad_syntax(struct ini_lines *L, const char *s, size_t n)
{
    if (n == 0 || s[0] == ';' || s[0] == '#') return false;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) {
            diags_add(L->d, L->name, L->line, "unclosed section header: missing ']'");
            return true;
        }
        return false;
    }
    const char *eq = memchr(s, '=', n), *colon = memchr(s, ':', n);
    const char *sep = eq && (!colon || eq < colon) ? eq : colon;
    if (!sep) {
        diags_add(L->d, L->name, L->line, "expected 'key = value' or '[section]'");
        return true;
    }
    if (sep == s) {
        diags_add(L->d, L->name, L->line, "missing key before '%c'", *sep);
        return true;
    }
    return false;
}

/* fgets-like: hands inih one line (with its '\n') per call. */
static char *reader(char *str, int num, void *stream)
{
    struct ini_lines *L = stream;
    if (L->pos >= L->len || num < 2) return NULL;
    const char *s = L->text + L->pos;
    size_t rest = L->len - L->pos;
    const char *nl = memchr(s, '\n', rest);
    size_t n = nl ? (size_t)(nl - s) + 1 : rest;
    L->pos += n;
    L->line++;
    size_t body = n - (nl ? 1 : 0);
    if (body && s[body - 1] == '\r') body--;
    size_t lead = 0;
    if (L->line == 1 && body >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) lead = 3; /* BOM */
    while (lead < body && (s[lead] == ' ' || s[lead] == '\t')) lead++;
    /* A bad line reaches inih as an empty one so numbering stays in step. */
    if (body > INI_LINES_MAX_BYTES || body - lead + 2 > (size_t)num) {
        diags_add(L->d, L->name, L->line, "line too long (%zu bytes; at most %d)", body,
                  INI_LINES_MAX_BYTES);
        lead = body;
    } else if (bad_bytes(L, (const unsigned char *)s + lead, body - lead) ||
               bad_syntax(L, s + lead, body - lead)) {
        lead = body;
    }
    size_t m = body - lead;
    memcpy(str, s + lead, m);
    str[m] = '\n';
    str[m + 1] = 0;
    return str;
}

int ini_lines_parse(struct ini_lines *L, ini_handler handler, void *user)
{
#ifdef COACH_INIH_RUNTIME_GLOBALS
    /* Debian's inih: a heap line buffer big enough for our limit, and no
     * multi-line values (an indented line is an ordinary line here). */
    ini_use_stack = false;
    ini_allow_realloc = false;
    ini_initial_alloc = ini_max_line = INI_LINES_MAX_BYTES + 3;
    ini_allow_multiline = false;
#endif
    L->pos = 0;
    L->line = 0;
    int r = ini_parse_stream(reader, L, handler, user);
    return r == -2 ? COACH_ENOMEM : 0;
}

void ini_lines_close(struct ini_lines *L)
{
    free(L->owned);
    L->owned = NULL;
}
