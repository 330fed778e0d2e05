/* --split's file names (split.c): numbered from 01 (wider past 99), the
 * chapter's title with what FAT and POSIX refuse replaced, cut on a whole
 * UTF-8 character, never a trailing dot or space. */
#include <string.h>

#include "coach/split.h"
#include "testutil.h"

static void name_is(size_t n, size_t total, const char *title, const char *want)
{
    char buf[256];
    split_file_name(buf, sizeof buf, n, total, title);
    CHECKF(strcmp(buf, want) == 0, "'%s' -> '%s', wanted '%s'", title, buf, want);
}

int main(void)
{
    name_is(1, 6, "Introduction", "01 Introduction");
    name_is(3, 6, "Exercise 1 of 5: Bridge", "03 Exercise 1 of 5 - Bridge");
    name_is(7, 120, "a/b\\c*d?e\"f<g>h|i", "007 a_b_c_d_e_f_g_h_i");
    name_is(2, 6, "Übung 2 von 5: Brücke", "02 Übung 2 von 5 - Brücke");
    name_is(4, 6, "Ends with dots...  ", "04 Ends with dots");
    name_is(5, 6, "", "05");
    name_is(6, 6, "\x01\x7f", "06 __");
    name_is(1, 6, "bad \xff byte", "01 bad _ byte");
    /* a long title is cut to whole characters: 96 bytes of é (2 bytes) */
    char long_title[400] = "";
    for (int i = 0; i < 150; i++) strcat(long_title, "\xc3\xa9");
    char buf[256];
    split_file_name(buf, sizeof buf, 1, 6, long_title);
    CHECKF(strlen(buf) == 3 + 96, "%zu bytes", strlen(buf));
    /* a small buffer: cut, still terminated on a whole character */
    split_file_name(buf, 8, 1, 6, long_title);
    CHECKF(strcmp(buf, "01 \xc3\xa9\xc3\xa9") == 0, "got '%s'", buf);
    return test_done();
}
