/* Session history: appending one tab-separated record per session, reading
 * the file back (history_read, shared by the printer and --progress) and
 * printing it as plain sentences. Each record is a single
 * write() of a whole line to an O_APPEND file followed by fsync, so a
 * crash can at worst leave the last line torn; the next append starts on a
 * fresh line, and the reader validates every field and skips whatever
 * does not parse, so one damaged line never hides the others. */
#define _POSIX_C_SOURCE 200809L /* localtime_r, getline, fsync, pread, getpwuid */

#include "coach/history.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/common.h"

#define HISTORY_FIELDS 8     /* with skipped; 7 in records of earlier versions */
#define HISTORY_FIELDS_OLD 7

static const char *const endings[] = {"completed", "stopped", "interrupted", "error"};

static bool known_ending(const char *s)
{
    for (size_t i = 0; i < sizeof endings / sizeof endings[0]; i++)
        if (strcmp(s, endings[i]) == 0) return true;
    return false;
}

char *history_default_path(void)
{
    const char *f = getenv("COACH_HISTORY_FILE");
    if (f && *f) return coach_strdup(f);
    /* The XDG spec says relative values are invalid and must be ignored. */
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && xdg[0] == '/') return coach_asprintf("%s/coach/history.tsv", xdg);
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home) {
        errno = ENOENT;
        return NULL;
    }
    return coach_asprintf("%s/.local/state/coach/history.tsv", home);
}

/* A copy with every control character (tab and newline included) turned
 * into a space, so the text can never break the record's layout. */
static char *sanitize(const char *s)
{
    char *c = coach_strdup(s ? s : "");
    if (c)
        for (char *p = c; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    return c;
}

/* mkdir -p of path's parent directory. New directories are 0700, as the
 * XDG spec asks: the history is personal. 0 or -1 with errno. */
static int make_parent(const char *path)
{
    char *dir = coach_strdup(path);
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) { /* relative file in cwd, or in / */
        free(dir);
        return 0;
    }
    *slash = 0;
    int rc = 0;
    for (char *p = dir + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(dir, 0700) != 0 && errno != EEXIST) rc = -1;
            *p = c;
            if (rc || c == 0) break;
        }
    }
    struct stat st;
    if (rc == 0 && stat(dir, &st) != 0) rc = -1;
    if (rc == 0 && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        rc = -1;
    }
    free(dir);
    return rc;
}

/* Makes a new file's directory entry durable (best effort). */
static void sync_parent(const char *path)
{
    char *dir = coach_strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) {
        slash[slash == dir] = 0; /* keep "/" itself */
        int dfd = open(dir, O_RDONLY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(dir);
}

int history_append(const char *path, const struct history_record *rec)
{
    if (!path || !rec) {
        errno = EINVAL;
        return COACH_EINVAL;
    }
    /* The reader skips unknown endings; refuse to write a record that
     * would vanish. */
    if (!rec->ending || !known_ending(rec->ending)) {
        errno = EINVAL;
        return COACH_EINVAL;
    }
    struct tm tm;
    char when[32];
    if (!localtime_r(&rec->when, &tm) ||
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
        errno = EINVAL;
        return COACH_EINVAL;
    }

    char *routine = sanitize(rec->routine), *title = sanitize(rec->title);
    char *line = NULL;
    if (routine && title)
        line = coach_asprintf("\n%s\t%s\t%s\t%u\t%u\t%llu\t%s\t%u\n", when, routine, title,
                              rec->steps_done, rec->steps_total, (unsigned long long)rec->seconds,
                              rec->ending, rec->skipped);
    free(routine);
    free(title);
    if (!line) {
        errno = ENOMEM;
        return COACH_ENOMEM;
    }

    int rc = COACH_EIO, fd = -1;
    if (make_parent(path) != 0) goto out;
    struct stat st;
    bool is_new = stat(path, &st) != 0;
    /* Read access only to look at the last byte (below); fall back to
     * write-only if the file does not allow reading. */
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EACCES) fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) goto out;

    /* If a crash tore the last record, its line has no newline: start ours
     * on a fresh line (the leading "\n" in line) so it is not glued to the
     * damaged one. */
    const char *data = line + 1;
    char last;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 &&
        last != '\n')
        data = line;
    size_t len = strlen(data);
    /* One write of the whole line: O_APPEND makes it land at the end in
     * one piece even if two sessions finish at once. */
    ssize_t w = write(fd, data, len);
    if (w != (ssize_t)len) {
        if (w >= 0) errno = EIO; /* short write: disk full */
        goto out;
    }
    /* EINVAL: a special file (COACH_HISTORY_FILE=/dev/null turns the
     * history off) cannot be synced, and needs not be */
    if (fsync(fd) != 0 && errno != EINVAL) goto out;
    if (is_new) sync_parent(path);
    rc = COACH_OK;

out:;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && rc == COACH_OK) {
        e = errno;
        rc = COACH_EIO;
    }
    free(line);
    errno = e;
    return rc;
}

static bool all_digits(const char *s, size_t max)
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
    for (size_t i = 0; pat[i]; i++) {
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i]) return false;
    }
    return true;
}

/* "1 h 5 min 3 s", "18 min 9 s", "45 s", "0 s" */
static void format_duration(char *buf, size_t cap, unsigned long long secs)
{
    unsigned long long h = secs / 3600, m = secs % 3600 / 60, s = secs % 60;
    size_t n = 0;
    buf[0] = 0;
    if (h) n += (size_t)snprintf(buf + n, cap - n, "%llu h", h);
    if (m && n < cap) n += (size_t)snprintf(buf + n, cap - n, "%s%llu min", n ? " " : "", m);
    if ((s || !n) && n < cap) snprintf(buf + n, cap - n, "%s%llu s", n ? " " : "", s);
}

/* The local time "YYYY-MM-DDTHH:MM:SS" names (already valid_when), or -1. */
static time_t parse_when(const char *s)
{
    struct tm tm = {.tm_isdst = -1};
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    return mktime(&tm);
}

/* Splits one record line (no newline) in place into e, or returns false
 * if it is damaged. e's strings point into line. */
static bool parse_record(char *line, struct history_entry *e)
{
    char *f[HISTORY_FIELDS];
    size_t n = 0;
    for (char *p = line;;) {
        if (n == HISTORY_FIELDS) return false; /* too many fields */
        f[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = 0;
        p = tab + 1;
    }
    if (n != HISTORY_FIELDS && n != HISTORY_FIELDS_OLD) return false;
    if (!valid_when(f[0]) || !f[1][0] || !all_digits(f[3], 9) || !all_digits(f[4], 9) ||
        !all_digits(f[5], 19) || !known_ending(f[6]) || (n == HISTORY_FIELDS && !all_digits(f[7], 9)))
        return false;
    e->rec = (struct history_record){
        .when = parse_when(f[0]), .routine = f[1], .title = f[2],
        .steps_done = (unsigned)strtoul(f[3], NULL, 10), /* 9 digits fit */
        .steps_total = (unsigned)strtoul(f[4], NULL, 10),
        .seconds = strtoull(f[5], NULL, 10), .ending = f[6],
        .skipped = n == HISTORY_FIELDS ? (unsigned)strtoul(f[7], NULL, 10) : 0};
    e->when_text = f[0];
    return true;
}

int history_read(const char *path, int (*each)(void *ctx, const struct history_entry *e),
                 void *ctx)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return (errno == ENOENT || errno == ENOTDIR) ? COACH_ENOTFOUND : COACH_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return COACH_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        if (S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            return COACH_EIO;
        }
        /* a device or a pipe (/dev/null) keeps no records: read none, and
         * never wait on a FIFO or read /dev/zero for ever */
        return COACH_ENOTFOUND;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
        return COACH_EIO;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int stop = 0;
    while (!stop && (len = getline(&line, &cap, f)) > 0) {
        size_t n = (size_t)len;
        /* a crash can leave NUL-filled blocks: never a record */
        if (memchr(line, 0, n)) continue;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        struct history_entry e;
        if (n && parse_record(line, &e)) stop = each(ctx, &e);
    }
    int rc = stop ? stop : ferror(f) ? COACH_EIO : COACH_OK;
    int e = errno;
    free(line);
    fclose(f);
    errno = e;
    return rc;
}

/* history_read callback: one sentence per record. */
static int print_record(void *ctx, const struct history_entry *e)
{
    FILE *out = ctx;
    const struct history_record *rec = &e->rec;
    char dur[64];
    format_duration(dur, sizeof dur, rec->seconds);
    /* "2026-11-21 19:40: Title (name), completed, 10 of 10 steps, 18 min 9 s." */
    fprintf(out, "%.10s %.5s: ", e->when_text, e->when_text + 11);
    if (rec->title[0])
        fprintf(out, "%s (%s)", rec->title, rec->routine);
    else
        fputs(rec->routine, out);
    fprintf(out, ", %s, %u of %u %s", rec->ending, rec->steps_done, rec->steps_total,
            rec->steps_total == 1 ? "step" : "steps");
    if (rec->skipped) fprintf(out, ", %u skipped", rec->skipped);
    fprintf(out, ", %s.\n", dur);
    return 0;
}

int history_print(const char *path, FILE *out)
{
    int rc = history_read(path, print_record, out);
    int e = errno;
    if (rc == COACH_OK && (fflush(out) != 0 || ferror(out))) {
        e = errno;
        rc = COACH_EIO;
    }
    errno = e;
    return rc;
}
