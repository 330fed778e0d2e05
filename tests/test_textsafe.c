/* Text that reaches a terminal (textsafe.h): the decoder, which characters
 * are never shown raw, printing that replaces them (a string, a buffer, a
 * stream that gets a sequence cut between two writes), and voice profiles
 * refusing them as file:line (routines: tests/bad/c1-controls.ini,
 * bidi-controls.ini, carriage-return.ini). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/diag.h"
#include "coach/textsafe.h"
#include "coach/voice.h"
#include "testutil.h"

static void test_decoder(void)
{
    uint32_t cp = 0;
    CHECK(utf8_next((const unsigned char *)"a", 1, &cp) == 1 && cp == 'a');
    CHECK(utf8_next((const unsigned char *)"\xc3\xa9", 2, &cp) == 2 && cp == 0xE9);
    CHECK(utf8_next((const unsigned char *)"\xe2\x80\xae", 3, &cp) == 3 && cp == 0x202E);
    CHECK(utf8_next((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp) == 4 && cp == 0x1F600);
    CHECK(utf8_next((const unsigned char *)"\xc2\x9b", 2, &cp) == 2 && cp == 0x9B);
    CHECK(utf8_next((const unsigned char *)"\xe2\x80", 2, &cp) == -1); /* cut */
    CHECK(utf8_next((const unsigned char *)"\x9b", 1, &cp) == 0);      /* stray */
    CHECK(utf8_next((const unsigned char *)"\xc0\xaf", 2, &cp) == 0);  /* overlong */
    CHECK(utf8_next((const unsigned char *)"\xed\xa0\x80", 3, &cp) == 0); /* surrogate */
    CHECK(utf8_next((const unsigned char *)"\xf4\x90\x80\x80", 4, &cp) == 0);
    CHECK(utf8_next((const unsigned char *)"\xe2\x41\x80", 3, &cp) == 0);
}

static void test_kinds(void)
{
    const uint32_t unsafe[] = {0x00, 0x07, 0x0A, 0x0D, 0x1B, 0x7F, 0x80, 0x85, 0x9B, 0x9D, 0x9F,
                               0x061C, 0x200E, 0x200F, 0x202A, 0x202E, 0x2066, 0x2069,
                               0x2028, 0x2029};
    for (size_t i = 0; i < sizeof unsafe / sizeof *unsafe; i++)
        CHECKF(text_unsafe_kind(unsafe[i]) != NULL, "U+%04X", (unsigned)unsafe[i]);
    const uint32_t safe[] = {'\t', ' ', 'a', '~', 0xA0, 0xE9, 0x05D0, 0x0627, 0x200D, 0x2014,
                             0x2065, 0x206A, 0x1F600};
    for (size_t i = 0; i < sizeof safe / sizeof *safe; i++)
        CHECKF(text_unsafe_kind(safe[i]) == NULL, "U+%04X", (unsigned)safe[i]);
    CHECK(strcmp(text_unsafe_kind(0x202E), "bidirectional control character") == 0);
    CHECK(strcmp(text_unsafe_kind(0x9B), "control character") == 0);
}

/* text_fput_safe of s, as a heap string */
static char *fput(const char *s)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    text_fput_safe(s, f);
    fclose(f);
    return buf;
}

static void test_strings(void)
{
    const char *evil = "a\x1b[31mb\xc2\x9b" "2Jc\xe2\x80\xae" "d\te\nf\xff" "g\xe2\x80";
    const char *want = "a?[31mb?2Jc?d\te?f?g??"; /* a tab stays: it only moves the cursor on */
    char *got = fput(evil);
    CHECKF(strcmp(got, want) == 0, "got '%s'", got);
    free(got);
    got = fput("Entlastung f\xc3\xbcr den R\xc3\xbc" "cken \xe2\x80\x94 \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
    CHECK(strcmp(got, "Entlastung f\xc3\xbcr den R\xc3\xbc" "cken \xe2\x80\x94 \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d") == 0);
    free(got);

    char b[8];
    CHECK(strcmp(text_safe(b, sizeof b, "ab\x1b" "c"), "ab?c") == 0);
    /* cut on a character boundary: "caf" + "é" would need 5 + NUL bytes */
    CHECK(strcmp(text_safe(b, 5, "caf\xc3\xa9"), "caf") == 0);
    CHECK(strcmp(text_safe(b, sizeof b, "\xe2\x80\xae"), "?") == 0);
}

/* Every byte written on its own (an unbuffered stream hands each write on
 * at once), so every multi-byte sequence arrives cut. */
static void test_stream(void)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&buf, &n);
    FILE *s = text_safe_stream(out);
    CHECK(s != NULL);
    if (!s) return;
    setvbuf(s, NULL, _IONBF, 0);
    const char *in = "T\xc3\xa9t\xc3\xa9 \xe2\x80\xae" "x\xc2\x9b" "1m\n2nd \xf0\x9f\x98\x80 line\x07\n\xe2\x80";
    for (const char *p = in; *p; p++) fputc(*p, s);
    CHECK(fclose(s) == 0);
    fclose(out);
    const char *want = "T\xc3\xa9t\xc3\xa9 ?x?1m\n2nd \xf0\x9f\x98\x80 line?\n??";
    CHECKF(strcmp(buf, want) == 0, "got '%s'", buf);
    free(buf);

    /* and a whole buffer at once */
    buf = NULL;
    out = open_memstream(&buf, &n);
    s = text_safe_stream(out);
    fputs("ok\n\x1b]0;title\x07\n", s);
    fclose(s);
    fclose(out);
    CHECKF(strcmp(buf, "ok\n?]0;title?\n") == 0, "got '%s'", buf);
    free(buf);
}

/* A voice profile holding one in a phrase is refused at that line. */
static void test_voice(void)
{
    size_t len = 0;
    char *text = test_read_file(test_src_path("voices/en-us.ini"), &len);
    CHECK(text != NULL);
    if (!text) return;
    const char *bad[] = {"\xe2\x80\xae", "\xc2\x9b", "\xc2\x85", "\r", "\xe2\x81\xa6"};
    const char *what[] = {"bidirectional control character U+202E at column 9",
                          "control character U+009B at column 9",
                          "control character U+0085 at column 9",
                          "control character 0x0d at column 9",
                          "bidirectional control character U+2066 at column 9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *at = strstr(text, "intro = ");
        CHECK(at != NULL);
        if (!at) break;
        size_t off = (size_t)(at - text) + 8, bl = strlen(bad[i]);
        char *t = malloc(len + bl);
        memcpy(t, text, off);
        memcpy(t + off, bad[i], bl);
        memcpy(t + off + bl, text + off, len - off);
        struct voice v;
        struct coach_diags d;
        diags_init(&d);
        int rc = voice_parse("v.ini", t, len + bl, &v, &d);
        CHECKF(rc == COACH_EINVAL, "%zu: rc %d", i, rc);
        if (rc == 0) voice_free(&v);
        int found = 0;
        for (size_t k = 0; k < d.len; k++)
            found |= d.items[k].line == 17 && strcmp(d.items[k].msg, what[i]) == 0;
        CHECKF(found, "%zu: no 'v.ini:17: %s' (%zu messages, first: %s)", i, what[i], d.len,
               d.len ? d.items[0].msg : "");
        diags_free(&d);
        free(t);
    }
    free(text);
}

/* diags_print never prints a file name raw. */
static void test_diags(void)
{
    struct coach_diags d;
    diags_init(&d);
    diags_add(&d, "evil\x1b[2J.ini", 3, "unknown key 'x'");
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    diags_print(&d, f);
    fclose(f);
    CHECKF(strcmp(buf, "evil?[2J.ini:3: unknown key 'x'\n") == 0, "got '%s'", buf);
    free(buf);
    diags_free(&d);
}

int main(void)
{
    test_decoder();
    test_kinds();
    test_strings();
    test_stream();
    test_voice();
    test_diags();
    return test_done();
}
