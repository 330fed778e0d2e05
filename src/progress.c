/* --progress: counting a routine's full completions in a row in the
 * session history. The parser mirrors history.c's writer and reader: seven
 * tab-separated fields, each validated, and a line that does not parse
 * (torn by a crash, NUL-filled) is skipped rather than breaking the
 * streak, since it says nothing about how a session ended. */
#define _POSIX_C_SOURCE 200809L /* getline */

#include "coach/progress.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

#define FIELDS 7 /* when, routine, title, done, total, seconds, ending */

static bool digits(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* "YYYY-MM-DDTHH:MM:SS" */
static bool valid_when(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    if (strlen(s) != sizeof pat - 1) return false;
    for (size_t i = 0; pat[i]; i++)
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i]) return false;
    return true;
}

static bool known_ending(const char *s)
{
    return !strcmp(s, "completed") || !strcmp(s, "stopped") || !strcmp(s, "interrupted") ||
           !strcmp(s, "error");
}

/* Splits line (no newline) in place into f[FIELDS]; false if damaged. */
static bool parse_record(char *line, char *f[FIELDS])
{
    size_t n = 0;
    for (char *p = line;;) {
        if (n == FIELDS) return false;
        f[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = 0;
        p = tab + 1;
    }
    return n == FIELDS && valid_when(f[0]) && f[1][0] && digits(f[3], 9) && digits(f[4], 9) &&
           digits(f[5], 19) && known_ending(f[6]);
}

int progress_streak(const char *path, const char *routine, unsigned *streak)
{
    if (!path || !routine || !streak) {
        errno = EINVAL;
        return COACH_EINVAL;
    }
    *streak = 0;
    FILE *fp = fopen(path, "r");
    if (!fp) return (errno == ENOENT || errno == ENOTDIR) ? COACH_OK : COACH_EIO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    /* Reading oldest first: a full completion extends the streak, any
     * other ending of this routine starts it over. What is left at the
     * end is the run counted back from the newest record. */
    while ((len = getline(&line, &cap, fp)) > 0) {
        size_t n = (size_t)len;
        if (memchr(line, 0, n)) continue;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        char *f[FIELDS];
        if (!n || !parse_record(line, f) || strcmp(f[1], routine) != 0) continue;
        unsigned long done = strtoul(f[3], NULL, 10), total = strtoul(f[4], NULL, 10);
        if (strcmp(f[6], "completed") == 0 && done == total)
            (*streak)++;
        else
            *streak = 0;
    }
    int rc = ferror(fp) ? COACH_EIO : COACH_OK;
    int e = errno;
    free(line);
    fclose(fp);
    errno = e;
    if (rc) *streak = 0;
    return rc;
}

enum level progress_level(enum level base, unsigned streak)
{
    unsigned up = streak / PROGRESS_PER_LEVEL;
    unsigned lv = (unsigned)base + (up > LEVEL_HARD ? LEVEL_HARD : up);
    return lv > LEVEL_HARD ? LEVEL_HARD : (enum level)lv;
}
