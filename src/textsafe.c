/* Text that reaches a terminal (see include/coach/textsafe.h): one
 * decoder and one list of characters that are never shown raw, shared by
 * the INI reader (which refuses them) and the printing of text no reader
 * checked (which replaces them). */
#define _GNU_SOURCE /* fopencookie */
#include "coach/textsafe.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

int utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t k;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        k = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 2;
        if (c == 0xE0) lo = 0xA0; /* no overlong forms */
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    uint32_t v = c & (0x3Fu >> k);
    for (size_t j = 1; j <= k; j++) {
        if (j >= n) return -1;
        unsigned b = s[j];
        if (j == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
        v = v << 6 | (b & 0x3F);
    }
    *cp = v;
    return (int)k + 1;
}

const char *text_unsafe_kind(uint32_t cp)
{
    if ((cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F)) return "control character";
    if (cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069))
        return "bidirectional control character";
    if (cp == 0x2028 || cp == 0x2029) return "line or paragraph separator";
    return NULL;
}

/* Prints s[0..n) made safe; with more, a sequence cut short at the end is
 * left for the next call. Returns the bytes used. */
static size_t put_safe(FILE *out, const unsigned char *s, size_t n, bool keep_newline, bool more)
{
    size_t i = 0, run = 0; /* s[run..i) is safe and not yet written */
    while (i < n) {
        uint32_t cp = 0;
        int len = utf8_next(s + i, n - i, &cp);
        if (len < 0 && more) break;
        if (len > 0 && (!text_unsafe_kind(cp) || (keep_newline && cp == '\n'))) {
            i += (size_t)len;
            continue;
        }
        fwrite(s + run, 1, i - run, out);
        fputc('?', out);
        i += len > 0 ? (size_t)len : 1; /* an invalid byte alone */
        run = i;
    }
    fwrite(s + run, 1, i - run, out);
    return i;
}

void text_fput_safe(const char *s, FILE *out)
{
    put_safe(out, (const unsigned char *)s, strlen(s), false, false);
}

void text_fput_json(const char *s, FILE *out)
{
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)u);
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        int len = utf8_next(u + i, n - i, &cp);
        if (len <= 0) { /* a broken sequence: JSON is UTF-8, so its byte is replaced */
            fputs("\\ufffd", out);
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\')
            fprintf(out, "\\%c", (int)cp);
        else if (cp == '\n')
            fputs("\\n", out);
        else if (cp == '\t')
            fputs("\\t", out);
        else if (cp < 0x20 || text_unsafe_kind(cp)) /* escaped: valid JSON, harmless on a screen */
            fprintf(out, "\\u%04x", (unsigned)cp);
        else
            fwrite(u + i, 1, (size_t)len, out);
        i += (size_t)len;
    }
    fputc('"', out);
}

const char *text_safe(char *buf, size_t cap, const char *s)
{
    if (!cap) return buf;
    size_t o = 0, n = strlen(s);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        int len = utf8_next(u + i, n - i, &cp);
        bool keep = len > 0 && !text_unsafe_kind(cp);
        size_t w = keep ? (size_t)len : 1;
        if (o + w >= cap) break;
        if (keep)
            memcpy(buf + o, s + i, w);
        else
            buf[o] = '?';
        o += w;
        i += len > 0 ? (size_t)len : 1;
    }
    buf[o] = 0;
    return buf;
}

/* ---- the stream ---- */

struct safe_stream {
    FILE *out;
    unsigned char cut[4]; /* the start of a sequence the last write cut */
    size_t n_cut;
};

static ssize_t stream_write(void *cookie, const char *buf, size_t n)
{
    struct safe_stream *ss = cookie;
    size_t done = 0;
    while (done < n) {
        unsigned char tmp[4096 + sizeof ss->cut];
        size_t take = n - done < 4096 ? n - done : 4096;
        memcpy(tmp, ss->cut, ss->n_cut);
        memcpy(tmp + ss->n_cut, buf + done, take);
        size_t len = ss->n_cut + take;
        size_t used = put_safe(ss->out, tmp, len, true, true);
        ss->n_cut = len - used; /* at most 3: the start of one sequence */
        memcpy(ss->cut, tmp + used, ss->n_cut);
        done += take;
    }
    return ferror(ss->out) ? -1 : (ssize_t)n;
}

static int stream_close(void *cookie)
{
    struct safe_stream *ss = cookie;
    put_safe(ss->out, ss->cut, ss->n_cut, true, false); /* cut for good: '?' */
    int rc = ferror(ss->out) ? -1 : 0;
    free(ss);
    return rc;
}

FILE *text_safe_stream(FILE *out)
{
    struct safe_stream *ss = calloc(1, sizeof *ss);
    if (!ss) return NULL;
    ss->out = out;
    FILE *f = fopencookie(ss, "w", (cookie_io_functions_t){.write = stream_write,
                                                            .close = stream_close});
    if (!f) free(ss);
    return f;
}
