/* The INI reader on its own: how a "key = value" line is split (blanks
 * trimmed around '=' and ':', an inline comment only after a blank, '#' a
 * comment only at the start of a line), section headers, the fixed
 * 1000-byte line limit with its exact message, and line numbers that stay
 * right after long lines, CRLF and a BOM. Every key, section and message
 * the reader produces is recorded as one text and compared whole, so a
 * change in any rule shows as a diff. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/inireader.h"
#include "testutil.h"

_Static_assert(INI_LINES_MAX_BYTES == 1000, "the line limit is fixed, whatever is installed");

struct record {
    struct ini_lines *L;
    FILE *out;
};

/* Values longer than this are recorded by length only. */
#define SHOWN_BYTES 40

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct record *rec = user;
    fprintf(rec->out, "%d [%s] ", ini_lines_current(rec->L), section);
    if (strlen(value) > SHOWN_BYTES)
        fprintf(rec->out, "<%s>=(%zu bytes)\n", name, strlen(value));
    else
        fprintf(rec->out, "<%s>=<%s>\n", name, value);
    return 1;
}

static void on_section(void *user, const char *name)
{
    struct record *rec = user;
    if (name) fprintf(rec->out, "%d section %s\n", ini_lines_current(rec->L), name);
}

/* Reads text (copied to an exact-size heap buffer with no NUL after it, so
 * ASan catches a read past len) and returns every key and section, then
 * every message. */
static char *run(const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    struct coach_diags d;
    diags_init(&d);
    struct ini_lines L;
    ini_lines_open_mem(&L, "t.ini", copy, len, &d);
    char *buf = NULL;
    size_t n = 0;
    struct record rec = {&L, open_memstream(&buf, &n)};
    CHECK(ini_lines_parse(&L, on_key, on_section, &rec) == 0);
    fputs("--\n", rec.out);
    diags_print(&d, rec.out);
    fclose(rec.out);
    ini_lines_close(&L);
    diags_free(&d);
    free(copy);
    return buf;
}

static void expect_len(const char *text, size_t len, const char *want)
{
    char *got = run(text, len);
    CHECKF(strcmp(got, want) == 0, "for:\n%s\ngot:\n%swant:\n%s", text, got, want);
    free(got);
}

static void expect(const char *text, const char *want)
{
    expect_len(text, strlen(text), want);
}

static void test_split(void)
{
    expect("[s]\n"
           "a=b\n"
           "  spaced \t=\t value  \n"
           "colon: value\n"
           "k = v = w\n"
           "k = v: w\n"
           "k: v = w\n"
           "two words = two more\n"
           "empty =\n"
           "blank =   \t\n",
           "1 section s\n"
           "2 [s] <a>=<b>\n"
           "3 [s] <spaced>=<value>\n"
           "4 [s] <colon>=<value>\n"
           "5 [s] <k>=<v = w>\n"
           "6 [s] <k>=<v: w>\n"
           "7 [s] <k>=<v = w>\n"
           "8 [s] <two words>=<two more>\n"
           "9 [s] <empty>=<>\n"
           "10 [s] <blank>=<>\n"
           "--\n");
    /* an inline comment is a ';' after a blank; '#' only starts a line */
    expect("[s]\n"
           "k = value ; a comment\n"
           "k = value\t; after a tab\n"
           "k = a;b\n"
           "k = a; b ; c\n"
           "k =;b\n"
           "k = ;b\n"
           "k = #1 is kept # and this\n"
           "k = ; only a comment\n"
           "; k = comment\n"
           "# k = comment\n"
           "   # indented comment\n"
           "\t; tabbed comment\n"
           "k = v\n",
           "1 section s\n"
           "2 [s] <k>=<value>\n"
           "3 [s] <k>=<value>\n"
           "4 [s] <k>=<a;b>\n"
           "5 [s] <k>=<a; b>\n"
           "6 [s] <k>=<;b>\n"
           "7 [s] <k>=<>\n"
           "8 [s] <k>=<#1 is kept # and this>\n"
           "9 [s] <k>=<>\n"
           "14 [s] <k>=<v>\n"
           "--\n");
    /* a comment before '=' leaves no key line; nothing before it, no key */
    expect("[s]\n"
           "k ; = v\n"
           "k;x = v\n"
           "= v\n"
           "  : v\n"
           "no separator\n",
           "1 section s\n"
           "3 [s] <k;x>=<v>\n"
           "--\n"
           "t.ini:2: expected 'key = value', got 'k ; = v'\n"
           "t.ini:4: missing key name before '='\n"
           "t.ini:5: missing key name before ':'\n"
           "t.ini:6: expected 'key = value', got 'no separator'\n");
    /* indentation never continues the line above */
    expect("[s]\nk = one\n    two = 2\n\tthree\n",
           "1 section s\n"
           "2 [s] <k>=<one>\n"
           "3 [s] <two>=<2>\n"
           "--\n"
           "t.ini:4: expected 'key = value', got 'three'\n");
}

static void test_sections(void)
{
    expect("before = 1\n"
           "[ spaced name ]\n"
           "k = 1\n"
           "[s] ; comment\n"
           "[t] # comment\n"
           "[u] extra\n"
           "k = 2\n"
           "[v ;]\n"
           "k = dropped\n"
           "[]\n"
           "k = dropped too\n"
           "[w]\n"
           "k = 3\n",
           "1 [] <before>=<1>\n"
           "2 section spaced name\n"
           "3 [spaced name] <k>=<1>\n"
           "4 section s\n"
           "5 section t\n"
           "6 section u\n"
           "7 [u] <k>=<2>\n"
           "12 section w\n"
           "13 [w] <k>=<3>\n"
           "--\n"
           "t.ini:6: unexpected text after section header: 'extra'\n"
           "t.ini:8: section header is not closed: '[v ;]'\n"
           "t.ini:10: empty section header '[]'\n");
}

/* A "k = xxx..." line of exactly n bytes. */
static char *key_line(size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, "k = ", 4);
    memset(s + 4, 'x', n - 4);
    s[n] = 0;
    return s;
}

static void test_line_limit(void)
{
    char *l999 = key_line(999), *l1000 = key_line(1000), *l1001 = key_line(1001);
    char *l5000 = key_line(5000);
    size_t cap = 16000;
    char *t = malloc(cap), *want = malloc(cap);

    snprintf(t, cap, "[s]\n%s\n%s\n%s\nk = after\n%s\r\nk = crlf\n%s\n%s\r\n", l999, l1000, l1001,
             l1000, l5000, l1001);
    snprintf(want, cap,
             "1 section s\n"
             "2 [s] <k>=(995 bytes)\n"
             "3 [s] <k>=(996 bytes)\n"
             "5 [s] <k>=<after>\n"
             "6 [s] <k>=(996 bytes)\n"
             "7 [s] <k>=<crlf>\n"
             "--\n"
             "t.ini:4: line too long (1001 bytes; at most 1000)\n"
             "t.ini:8: line too long (5000 bytes; at most 1000)\n"
             "t.ini:9: line too long (1001 bytes; at most 1000)\n");
    expect(t, want);

    /* a comment or a header is held to the same limit */
    memcpy(l1001, "; ", 2);
    snprintf(t, cap, "%s\n[s]\nk = v\n", l1001);
    expect(t, "2 section s\n"
              "3 [s] <k>=<v>\n"
              "--\n"
              "t.ini:1: line too long (1001 bytes; at most 1000)\n");

    /* the BOM is not part of the first line */
    snprintf(t, cap, "\xEF\xBB\xBF%s\n", l1000);
    expect(t, "1 [] <k>=(996 bytes)\n--\n");

    free(l999);
    free(l1000);
    free(l1001);
    free(l5000);
    free(t);
    free(want);
}

static void test_line_ends(void)
{
    /* CRLF, a BOM, a last line without a line break */
    expect("\xEF\xBB\xBF[s]\r\n"
           "k = v \r\n"
           "\r\n"
           "  k : w\r\n"
           "k = last",
           "1 section s\n"
           "2 [s] <k>=<v>\n"
           "4 [s] <k>=<w>\n"
           "5 [s] <k>=<last>\n"
           "--\n");
    /* a BOM only counts at the very start */
    expect("[s]\n\xEF\xBB\xBFk = v\n\xEF\xBB\xBF[t]\n",
           "1 section s\n"
           "2 [s] <\xEF\xBB\xBFk>=<v>\n"
           "--\n"
           "t.ini:3: expected 'key = value', got '\xEF\xBB\xBF[t]'\n");
    /* a final line break adds no line; a lone CR inside a line is a
     * control character (it would send a terminal's cursor back) */
    expect("[s]\nk =\rv\r\n\n", "1 section s\n--\nt.ini:2: control character 0x0d at column 4\n");
    expect("", "--\n");
    expect_len("[s]\nk = v\0w\n", 12,
               "1 section s\n--\nt.ini:2: binary data (NUL byte) at column 6\n");
}

int main(void)
{
    test_split();
    test_sections();
    test_line_limit();
    test_line_ends();
    return test_done();
}
