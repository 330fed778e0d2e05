/* Session history: appending one tab-separated record per session, reading
 * the file back (history_scan, shared by the printer and --progress) and
 * printing it as plain sentences. Each record is a single
 * write() of a whole line to an O_APPEND file followed by fsync, so a
 * crash can at worst leave the last line torn; the next append starts on a
 * fresh line, and the reader validates every field and skips whatever
 * does not parse, so one damaged line never hides the others. A write that
 * fails (disk full, file size limit) is cut back off, under an flock so no
 * other coach's record is cut with it.
 *
 * The path is walked one directory at a time (open_history), never
 * following a symbolic link that sits in a directory other users can write
 * to, and the file itself never through a link (O_NOFOLLOW): coach may run
 * as root, and a link planted in /tmp must not make it append to, or read,
 * another file. */
#define _GNU_SOURCE /* O_PATH; flock, localtime_r, fsync, pread, getpwuid, openat */

#include "coach/history.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/textsafe.h"

#define HISTORY_FIELDS 8     /* with skipped; 7 in records of earlier versions */
#define HISTORY_FIELDS_OLD 7
#define HISTORY_FIELDS_STEPS 10 /* with the start and stop steps (--from, --resume) */
#define HISTORY_FIELDS_HELD 11  /* with the seconds held (hold = max) */
#define HELD_MAX_BYTES (HISTORY_MAX_HELD * 11) /* 32 numbers of up to 10 digits and commas */
#define HISTORY_FIELDS_PAIN 13  /* with the pain stop and the pain rating (held "-" if none) */
#define HISTORY_PAIN_MAX 10
#define STEP_ID_MAX 64          /* routine.c's bound on a step id */
#define HISTORY_READ_BYTES 65536 /* read() size of the reader */

static const char *const endings[] = {"completed", "stopped", "interrupted", "error"};

/* A step id as a routine file writes it (routine.c: [a-z0-9][a-z0-9_-]*,
 * at most 64 bytes), or empty/NULL for none (recorded as "-"). */
static bool valid_step(const char *s)
{
    if (!s || !*s) return true;
    size_t n = strlen(s);
    if (n > STEP_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i && (c == '_' || c == '-'))))
            return false;
    }
    return true;
}

static const char *step_field(const char *s) { return s && *s ? s : "-"; }

/* Seconds held as a record writes them: "45" or "45,38", numbers of 1 to
 * 9 digits, at most HISTORY_MAX_HELD; empty/NULL for none. */
static bool valid_held(const char *s)
{
    if (!s || !*s) return true;
    if (strlen(s) > HELD_MAX_BYTES) return false;
    unsigned n = 0, digits = 0;
    for (const char *c = s;; c++) {
        if (*c >= '0' && *c <= '9') {
            if (++digits > 9) return false;
        } else if (*c == ',' || !*c) {
            if (!digits || ++n > HISTORY_MAX_HELD) return false;
            digits = 0;
            if (!*c) return true;
        } else {
            return false;
        }
    }
}

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

/* Why the last call on this thread refused its path (history_refused). */
static _Thread_local char refusal[512];

const char *history_refused(void)
{
    return refusal[0] ? refusal : NULL;
}

/* Records a refusal: the reason for people, EPERM for errno. */
__attribute__((format(printf, 1, 2))) static int refuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(refusal, sizeof refusal, fmt, ap);
    va_end(ap);
    errno = EPERM;
    return -1;
}

/* A directory whose entries only we (or root) can change: the links in it
 * were put there by us or by root, so following them is our own choice. */
static bool ours(const struct stat *st)
{
    return (st->st_uid == geteuid() || st->st_uid == 0) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The directory part of path for messages: "/a/b" of "/a/b/h.tsv", "/"
 * of "/h.tsv", "." of "h.tsv". */
static void dir_name(const char *path, const char *base, char *buf, size_t cap)
{
    size_t n = (size_t)(base - path);
    while (n > 1 && path[n - 1] == '/') n--;
    if (n == 0) snprintf(buf, cap, ".");
    else snprintf(buf, cap, "%.*s", (int)n, path);
}

/* Opens path's parent directory, one component at a time from / (or the
 * working directory), creating missing ones 0700 if create. A component
 * that is a symbolic link is followed only in a directory that is ours();
 * the ones we create are opened with O_NOFOLLOW, so a link swapped in for
 * them is refused too. Then the parent itself must be ours(): nobody else
 * can put a link or a file of theirs in its place. Returns the directory's
 * fd, or -1 with errno (EPERM and refusal[] set for a refusal). */
static int open_parent(const char *path, const char *base, bool create)
{
    size_t dlen = (size_t)(base - path);
    char *dir = malloc(dlen + 1);
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(dir, path, dlen);
    dir[dlen] = 0;
    /* O_PATH: a directory we may search but not list is passed all the same */
    const int dflags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    int fd = open(path[0] == '/' ? "/" : ".", dflags);
    char *p = dir;
    /* The first component of an absolute path is opened by its absolute
     * name ("/home"), not relative to an fd of "/": the same directory on a
     * real system, and under qemu-user's -L (the arm64 tests) the real one
     * rather than the emulator's sysroot, which "/" alone is remapped to. */
    bool first_abs = path[0] == '/';
    while (fd >= 0 && *p) {
        char *end = strchr(p, '/');
        if (end) *end = 0;
        if (*p && strcmp(p, ".") != 0) {
            bool made = false;
            int at = fd;
            const char *name = p;
            char rooted[NAME_MAX + 2];
            if (first_abs) {
                first_abs = false;
                if (strlen(p) > NAME_MAX) {
                    close(fd);
                    fd = -1;
                    errno = ENAMETOOLONG;
                    break;
                }
                snprintf(rooted, sizeof rooted, "/%s", p);
                at = AT_FDCWD;
                name = rooted;
            }
            int next = openat(at, name, dflags | O_NOFOLLOW);
            if (next < 0 && errno == ENOENT && create) {
                if (mkdirat(at, name, 0700) == 0) made = true;
                if (made || errno == EEXIST) next = openat(at, name, dflags | O_NOFOLLOW);
            }
            /* O_PATH | O_NOFOLLOW opens a link itself: not a directory */
            struct stat lst, dst;
            if (next < 0 && (errno == ELOOP || errno == ENOTDIR) &&
                fstatat(at, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode)) {
                if (fstat(fd, &dst) == 0 && ours(&dst))
                    next = openat(at, name, dflags);
                else
                    refuse("%.*s is a symbolic link in a directory other users can write to",
                           (int)(p - dir + strlen(p)), path);
            }
            if (made && next >= 0) { /* the umask may have taken more than 077 */
                int rw = openat(next, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (rw >= 0) {
                    fchmod(rw, 0700);
                    close(rw);
                }
            }
            int e = errno;
            close(fd);
            errno = e;
            fd = next;
        }
        if (!end) break;
        p = end + 1;
    }
    free(dir);
    if (fd < 0) return -1;
    struct stat st;
    char name[300];
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!ours(&st)) {
        dir_name(path, base, name, sizeof name);
        if (st.st_uid != geteuid() && st.st_uid != 0)
            refuse("its directory %s belongs to another user (uid %lu)", name,
                   (unsigned long)st.st_uid);
        else
            refuse("other users can write to its directory %s", name);
        close(fd);
        return -1;
    }
    return fd;
}

/* Opens the history at path for appending (creating it and its directories)
 * or for reading, by the rules above. The file is never a link (O_NOFOLLOW)
 * and never waited on (O_NONBLOCK: a FIFO); a regular file must be our own.
 * Returns the fd (and the parent's in *dirfd, and in *created whether the
 * file is new) or -1 with errno. */
static int open_history(const char *path, bool append, int *dirfd, bool *created)
{
    refusal[0] = 0;
    *dirfd = -1;
    *created = false;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*path) {
        errno = ENOENT;
        return -1;
    }
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        errno = EISDIR;
        return -1;
    }
    int dfd = open_parent(path, base, append);
    if (dfd < 0) return -1;
    int flags = O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd;
    if (append) {
        /* Read access only to look at the last byte (history_append); fall
         * back to write-only if the file does not allow reading. */
        flags |= O_APPEND;
        fd = openat(dfd, base, flags | O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) *created = true;
        if (fd < 0 && errno == EEXIST) fd = openat(dfd, base, flags | O_RDWR);
        if (fd < 0 && errno == EACCES) fd = openat(dfd, base, flags | O_WRONLY);
    } else {
        fd = openat(dfd, base, flags | O_RDONLY);
    }
    struct stat st;
    if (fd < 0 && errno == ELOOP && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
        refuse("it is a symbolic link");
    if (fd >= 0 && fstat(fd, &st) != 0) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0 && S_ISREG(st.st_mode) && st.st_uid != geteuid()) {
        refuse("it belongs to another user (uid %lu)", (unsigned long)st.st_uid);
        close(fd);
        fd = -1;
    }
    /* a directory, a block device or a socket takes no records */
    if (fd >= 0 && append && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) &&
        !S_ISFIFO(st.st_mode)) {
        close(fd);
        fd = -1;
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    }
    if (fd < 0) {
        int e = errno;
        close(dfd);
        errno = e;
        return -1;
    }
    *dirfd = dfd;
    return fd;
}

/* Cuts a failed append back off (keeping errno): shrinking needs no
 * space and is allowed past the file size limit. */
static void cut_back(int fd, off_t size)
{
    int e = errno;
    while (ftruncate(fd, size) != 0 && errno == EINTR) {
    }
    errno = e;
}

/* Writes all of data at the end of fd, or cuts the file back to old_size
 * and returns -1 with the errno of the failure (ENOSPC, EFBIG, EDQUOT):
 * a short write is retried, so its cause is what is reported. */
static int append_whole(int fd, const char *data, size_t len, off_t old_size, bool regular)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            if (regular && done > 0) cut_back(fd, old_size);
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

int history_append(const char *path, const struct history_record *rec)
{
    refusal[0] = 0;
    if (!path || !rec) {
        errno = EINVAL;
        return COACH_EINVAL;
    }
    /* The reader skips unknown endings; refuse to write a record that
     * would vanish. */
    if (!rec->ending || !known_ending(rec->ending) || !valid_step(rec->from_step) ||
        !valid_step(rec->stop_step) || !valid_held(rec->held) || !valid_step(rec->pain_step) ||
        (rec->has_pain && rec->pain > HISTORY_PAIN_MAX)) {
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
    /* the step fields only when there is a step to note: a session played
     * from the top to its end is recorded as earlier versions did */
    bool held = rec->held && *rec->held;
    bool pain = (rec->pain_step && *rec->pain_step) || rec->has_pain;
    bool steps = pain || held || (rec->from_step && *rec->from_step) ||
                 (rec->stop_step && *rec->stop_step);
    char stepf[3 * STEP_ID_MAX + HELD_MAX_BYTES + 16] = "";
    if (steps) {
        size_t k = (size_t)snprintf(stepf, sizeof stepf, "\t%s\t%s", step_field(rec->from_step),
                                    step_field(rec->stop_step));
        /* the held and pain fields only when there is something to note:
         * older readers take the rest */
        if (held || pain)
            k += (size_t)snprintf(stepf + k, sizeof stepf - k, "\t%s", held ? rec->held : "-");
        if (pain && rec->has_pain)
            snprintf(stepf + k, sizeof stepf - k, "\t%s\t%u", step_field(rec->pain_step), rec->pain);
        else if (pain)
            snprintf(stepf + k, sizeof stepf - k, "\t%s\t-", step_field(rec->pain_step));
    }
    if (routine && title)
        line = coach_asprintf("\n%s\t%s\t%s\t%u\t%u\t%llu\t%s\t%u%s\n", when, routine, title,
                              rec->steps_done, rec->steps_total, (unsigned long long)rec->seconds,
                              rec->ending, rec->skipped, stepf);
    free(routine);
    free(title);
    if (!line) {
        errno = ENOMEM;
        return COACH_ENOMEM;
    }
    /* the reader skips longer lines as damage: never write one */
    if (strlen(line + 1) > HISTORY_LINE_MAX) {
        free(line);
        errno = EMSGSIZE;
        return COACH_EINVAL;
    }

    int rc = COACH_EIO, dfd = -1;
    bool created = false, locked = false;
    int fd = open_history(path, true, &dfd, &created);
    if (fd < 0) goto out;
    struct stat st;
    if (fstat(fd, &st) != 0) goto out;
    bool regular = S_ISREG(st.st_mode);
    /* Other coaches append under the same lock: the size taken here is where
     * our record starts, so cutting back to it never cuts theirs. Only the
     * owner can open the file, so only a coach of ours holds it, and only
     * for one write and fsync. */
    if (regular) {
        while (flock(fd, LOCK_EX) != 0)
            if (errno != EINTR) goto out;
        locked = true;
        if (fstat(fd, &st) != 0) goto out;
    }
    /* If a crash tore the last record, its line has no newline: start ours
     * on a fresh line (the leading "\n" in line) so it is not glued to the
     * damaged one. */
    const char *data = line + 1;
    char last;
    if (regular && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
        data = line;
    /* One write of the whole line: O_APPEND makes it land at the end in
     * one piece; if it cannot, nothing of it stays. */
    if (append_whole(fd, data, strlen(data), st.st_size, regular) != 0) goto out;
    /* EINVAL: a special file (COACH_HISTORY_FILE=/dev/null turns the
     * history off) cannot be synced, and needs not be */
    if (fsync(fd) != 0 && errno != EINVAL) {
        if (regular) cut_back(fd, st.st_size); /* not on the disk for sure: not at all */
        goto out;
    }
    if (created) { /* the new file's directory entry (best effort) */
        int rd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rd >= 0) {
            fsync(rd);
            close(rd);
        }
    }
    rc = COACH_OK;

out:;
    int e = errno;
    if (locked) flock(fd, LOCK_UN);
    if (fd >= 0 && close(fd) != 0 && rc == COACH_OK) {
        e = errno;
        rc = COACH_EIO;
    }
    if (dfd >= 0) close(dfd);
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
    char *f[HISTORY_FIELDS_PAIN];
    size_t n = 0;
    for (char *p = line;;) {
        if (n == HISTORY_FIELDS_PAIN) return false; /* too many fields */
        f[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = 0;
        p = tab + 1;
    }
    if (n != HISTORY_FIELDS && n != HISTORY_FIELDS_OLD && n != HISTORY_FIELDS_STEPS &&
        n != HISTORY_FIELDS_HELD && n != HISTORY_FIELDS_PAIN)
        return false;
    if (!valid_when(f[0]) || !f[1][0] || !all_digits(f[3], 9) || !all_digits(f[4], 9) ||
        !all_digits(f[5], 19) || !known_ending(f[6]) || (n >= HISTORY_FIELDS && !all_digits(f[7], 9)))
        return false;
    const char *from = NULL, *stop = NULL, *hurt = NULL;
    const char *held = n >= HISTORY_FIELDS_HELD ? f[10] : NULL;
    if (held && n == HISTORY_FIELDS_PAIN && strcmp(held, "-") == 0) held = NULL;
    else if (held && !(*held && valid_held(held))) return false;
    bool has_pain = false;
    unsigned pain = 0;
    if (n == HISTORY_FIELDS_PAIN) {
        hurt = strcmp(f[11], "-") ? f[11] : NULL;
        if (hurt && !(*hurt && valid_step(hurt))) return false;
        if (strcmp(f[12], "-")) {
            if (!all_digits(f[12], 2) || (pain = (unsigned)strtoul(f[12], NULL, 10)) > HISTORY_PAIN_MAX)
                return false;
            has_pain = true;
        }
    }
    if (n >= HISTORY_FIELDS_STEPS) {
        from = strcmp(f[8], "-") ? f[8] : NULL;
        stop = strcmp(f[9], "-") ? f[9] : NULL;
        if ((from && !(*from && valid_step(from))) || (stop && !(*stop && valid_step(stop))))
            return false;
    }
    e->rec = (struct history_record){
        .when = parse_when(f[0]), .routine = f[1], .title = f[2],
        .steps_done = (unsigned)strtoul(f[3], NULL, 10), /* 9 digits fit */
        .steps_total = (unsigned)strtoul(f[4], NULL, 10),
        .seconds = strtoull(f[5], NULL, 10), .ending = f[6],
        .skipped = n >= HISTORY_FIELDS ? (unsigned)strtoul(f[7], NULL, 10) : 0,
        .from_step = from, .stop_step = stop, .held = held, .pain_step = hurt,
        .has_pain = has_pain, .pain = pain};
    e->when_text = f[0];
    return true;
}

/* One line as the reader found it (no newline; len bytes, NUL-terminated
 * if it fits, else overlong): a record is handed to each, an empty line is
 * passed over, anything else counts as damage. */
static int take_line(char *line, size_t len, bool overlong, unsigned long lineno,
                     struct history_damage *dmg,
                     int (*each)(void *ctx, const struct history_entry *e), void *ctx)
{
    if (!overlong) {
        while (len && line[len - 1] == '\r') len--;
        line[len] = 0;
        if (len == 0) return 0;
        struct history_entry e;
        /* a crash can leave NUL-filled blocks: never a record */
        if (!memchr(line, 0, len) && parse_record(line, &e)) return each(ctx, &e);
    }
    if (dmg->lines++ == 0) dmg->first_line = lineno;
    return 0;
}

int history_scan(const char *path, int (*each)(void *ctx, const struct history_entry *e),
                 void *ctx, struct history_damage *damage)
{
    refusal[0] = 0;
    struct history_damage unused;
    struct history_damage *dmg = damage ? damage : &unused;
    *dmg = (struct history_damage){0};
    int dfd;
    bool created;
    int fd = open_history(path, false, &dfd, &created);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return COACH_ENOTFOUND;
        return COACH_EIO;
    }
    close(dfd);
    struct stat st = {0};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        bool dir = S_ISDIR(st.st_mode);
        close(fd);
        if (dir) {
            errno = EISDIR;
            return COACH_EIO;
        }
        errno = e;
        /* a device or a pipe (/dev/null) keeps no records: read none, and
         * never wait on a FIFO or read /dev/zero for ever */
        return COACH_ENOTFOUND;
    }
    /* Lines are assembled in a buffer of HISTORY_LINE_MAX bytes; the rest of
     * a longer one is read past, never held, so a damaged file of any size
     * costs the same memory and the records after it are still read. */
    char *line = malloc(HISTORY_LINE_MAX + 1);
    char *buf = malloc(HISTORY_READ_BYTES);
    if (!line || !buf) {
        free(line);
        free(buf);
        close(fd);
        errno = ENOMEM;
        return COACH_ENOMEM;
    }
    size_t len = 0;            /* bytes of the current line in line[] */
    bool overlong = false;     /* the current line passed HISTORY_LINE_MAX */
    unsigned long lineno = 1;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, HISTORY_READ_BYTES);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = COACH_EIO;
            break;
        }
        if (n == 0) {
            if (len || overlong) rc = take_line(line, len, overlong, lineno, dmg, each, ctx);
            break;
        }
        for (const char *p = buf, *end = buf + n; p < end && !rc;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t k = (size_t)((nl ? nl : end) - p);
            if (!overlong && len + k > HISTORY_LINE_MAX) overlong = true;
            if (!overlong) {
                memcpy(line + len, p, k);
                len += k;
            }
            if (!nl) break;
            rc = take_line(line, len, overlong, lineno++, dmg, each, ctx);
            len = 0;
            overlong = false;
            p = nl + 1;
        }
        if (rc) break;
    }
    int e = errno;
    free(line);
    free(buf);
    close(fd);
    errno = e;
    return rc;
}

int history_read(const char *path, int (*each)(void *ctx, const struct history_entry *e),
                 void *ctx)
{
    return history_scan(path, each, ctx, NULL);
}

void history_damage_text(const struct history_damage *d, char *buf, size_t cap)
{
    if (!cap) return;
    if (!d || !d->lines) {
        buf[0] = 0;
        return;
    }
    if (d->lines == 1)
        snprintf(buf, cap, "1 damaged line skipped (torn by a crash, too long, or not a "
                           "record); the records around it were read");
    else
        snprintf(buf, cap,
                 "%lu damaged lines skipped, the first here (torn by a crash, too long, or "
                 "not records); the records around them were read",
                 d->lines);
}

/* history_scan callback: one sentence per record. */
static int print_record(void *ctx, const struct history_entry *e)
{
    FILE *out = ctx;
    const struct history_record *rec = &e->rec;
    char dur[64];
    format_duration(dur, sizeof dur, rec->seconds);
    /* "2026-11-21 19:40: Title (name), completed, 9 of 9 exercises, 18 min 9 s."
     * (the exercise and breathing steps: the count list, check and plan give) */
    fprintf(out, "%.10s %.5s: ", e->when_text, e->when_text + 11);
    if (rec->title[0])
        fprintf(out, "%s (%s)", rec->title, rec->routine);
    else
        fputs(rec->routine, out);
    /* where it ended unfinished, and where it started if not at the top
     * (--from, --resume): what --resume goes by */
    fprintf(out, ", %s", rec->ending);
    if (rec->stop_step) fprintf(out, " at %s", rec->stop_step);
    fprintf(out, ", %u of %u %s", rec->steps_done, rec->steps_total,
            rec->steps_total == 1 ? "exercise" : "exercises");
    if (rec->skipped) fprintf(out, ", %u skipped", rec->skipped);
    if (rec->from_step) fprintf(out, ", started at %s", rec->from_step);
    if (rec->pain_step) fprintf(out, ", stopped for pain at %s", rec->pain_step);
    fprintf(out, ", %s", dur);
    if (rec->held) { /* "held 45 s, 38 s" */
        fputs(", held ", out);
        for (const char *c = rec->held; *c; c++) {
            if (*c == ',') fputs(" s, ", out);
            else fputc(*c, out);
        }
        fputs(" s", out);
    }
    if (rec->has_pain) fprintf(out, ", pain %u of 10", rec->pain);
    fputs(".\n", out);
    return 0;
}

/* history_print_json: one object per record, after a comma but the first. */
struct json_print {
    FILE *out;
    unsigned long n; /* records printed */
};

static int print_json_record(void *ctx, const struct history_entry *e)
{
    struct json_print *jp = ctx;
    FILE *out = jp->out;
    const struct history_record *rec = &e->rec;
    fputs(jp->n++ ? ",\n  {" : "\n  {", out);
    fputs("\"when\": ", out);
    text_fput_json(e->when_text, out);
    fputs(", \"routine\": ", out);
    text_fput_json(rec->routine, out);
    fputs(", \"title\": ", out);
    text_fput_json(rec->title, out);
    fprintf(out, ", \"steps_done\": %u, \"steps_total\": %u, \"seconds\": %" PRIu64 ", \"ending\": ",
            rec->steps_done, rec->steps_total, rec->seconds);
    text_fput_json(rec->ending, out);
    fprintf(out, ", \"skipped\": %u, \"from_step\": ", rec->skipped);
    if (rec->from_step)
        text_fput_json(rec->from_step, out);
    else
        fputs("null", out);
    fputs(", \"stop_step\": ", out);
    if (rec->stop_step)
        text_fput_json(rec->stop_step, out);
    else
        fputs("null", out);
    /* hold = max: the seconds held, digits and commas (valid_held) */
    fprintf(out, ", \"held_seconds\": [%s]", rec->held ? rec->held : "");
    fputs(", \"pain_step\": ", out);
    if (rec->pain_step)
        text_fput_json(rec->pain_step, out);
    else
        fputs("null", out);
    if (rec->has_pain)
        fprintf(out, ", \"pain\": %u", rec->pain);
    else
        fputs(", \"pain\": null", out);
    fputc('}', out);
    return 0;
}

int history_print_json(const char *path, FILE *out, struct history_damage *damage)
{
    struct json_print jp = {.out = out};
    fputc('[', out);
    int rc = history_scan(path, print_json_record, &jp, damage);
    int e = errno;
    /* no history yet is an empty list, still valid JSON */
    fputs(jp.n ? "\n]\n" : "]\n", out);
    if ((rc == COACH_OK || rc == COACH_ENOTFOUND) && (fflush(out) != 0 || ferror(out))) {
        e = errno;
        rc = COACH_EIO;
    }
    errno = e;
    return rc;
}

/* history_resume_point: the last record of one routine. */
struct resume_scan {
    const char *routine;
    struct history_resume *out;
};

static int take_resume(void *ctx, const struct history_entry *e)
{
    struct resume_scan *rs = ctx;
    if (strcmp(e->rec.routine, rs->routine)) return 0;
    struct history_resume *o = rs->out;
    memset(o, 0, sizeof *o);
    o->found = true;
    snprintf(o->ending, sizeof o->ending, "%s", e->rec.ending);
    if (e->rec.stop_step) snprintf(o->stop_step, sizeof o->stop_step, "%s", e->rec.stop_step);
    o->steps_done = e->rec.steps_done;
    o->steps_total = e->rec.steps_total;
    return 0;
}

int history_resume_point(const char *path, const char *routine, struct history_resume *out)
{
    memset(out, 0, sizeof *out);
    struct resume_scan rs = {.routine = routine, .out = out};
    int rc = history_scan(path, take_resume, &rs, NULL);
    if (rc) return rc;
    return out->found ? 0 : COACH_ENOTFOUND;
}

int history_print(const char *path, FILE *out, struct history_damage *damage)
{
    int rc = history_scan(path, print_record, out, damage);
    int e = errno;
    if (rc == COACH_OK && (fflush(out) != 0 || ferror(out))) {
        e = errno;
        rc = COACH_EIO;
    }
    errno = e;
    return rc;
}
