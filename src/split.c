/* export --split: one file per chapter and an .m3u playlist, written into
 * a hidden directory of our own beside the target and renamed into place
 * in one rename(2), so a failure, a cancel or a full disk leaves the target
 * as it was (a killed coach can leave its hidden directory behind: it is
 * never the target, and the next --split to that target does not use it).
 * Each file is an ordinary export of the chapter's frames (export.c),
 * tagged with its title. */
#define _POSIX_C_SOURCE 200809L /* mkdir modes, fsync, dirfd, unlinkat */

#include "coach/split.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/textsafe.h"

#define SPLIT_NAME_MAX_BYTES 96 /* a title's part of a file name */

/* FAT (car stereos, USB sticks) refuses these; '/' ends a name anywhere. */
static int refused(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp < 0x80 && strchr("/\\:*?\"<>|", (int)cp)) ||
           text_unsafe_kind(cp) != NULL;
}

/* title with what file systems refuse replaced into buf + at, up to
 * limit bytes of buf (whole characters); returns the new end. No trailing
 * dots or spaces (FAT drops them). */
static size_t put_safe(char *buf, size_t at, size_t limit, const char *title)
{
    size_t start = at;
    const unsigned char *s = (const unsigned char *)(title ? title : "");
    size_t left = strlen((const char *)s);
    while (left) {
        uint32_t cp = 0;
        int k = utf8_next(s, left, &cp);
        size_t step = k > 0 ? (size_t)k : 1;
        /* "Exercise 1 of 5: Bridge" -> "Exercise 1 of 5 - Bridge" */
        const char *put = k <= 0 ? "_" : cp == ':' ? " -" : refused(cp) ? "_" : NULL;
        size_t plen = put ? strlen(put) : step;
        if (at + plen > limit) break;
        memcpy(buf + at, put ? put : (const char *)s, plen);
        at += plen;
        s += step;
        left -= step;
    }
    while (at > start && (buf[at - 1] == ' ' || buf[at - 1] == '.')) at--;
    return at;
}

const char *split_file_name(char *buf, size_t cap, size_t n, size_t n_total, const char *title)
{
    if (!cap) return buf;
    int width = 2;
    for (size_t t = n_total; t >= 100; t /= 10) width++;
    int len = snprintf(buf, cap, "%0*zu ", width, n);
    size_t at = len > 0 && (size_t)len < cap ? (size_t)len : 0;
    size_t limit = cap - 1 < at + SPLIT_NAME_MAX_BYTES ? cap - 1 : at + SPLIT_NAME_MAX_BYTES;
    at = put_safe(buf, at, limit, title);
    while (at && buf[at - 1] == ' ') at--; /* a title of nothing: the number alone */
    buf[at] = 0;
    return buf;
}

/* dir without trailing slashes ("/" stays); heap. */
static char *trimmed(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    return coach_asprintf("%.*s", (int)n, dir);
}

int split_check_target(const char *dir, char *err, size_t err_cap)
{
    if (err && err_cap) err[0] = 0;
    if (!dir || !*dir) {
        coach_set_err(err, err_cap, "no directory name");
        errno = EINVAL;
        return COACH_EINVAL;
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT) {
            int e = errno;
            coach_set_err(err, err_cap, "cannot check it: %s", strerror(e));
            errno = e;
            return COACH_EIO;
        }
        /* a new directory: its parent must take it, as a file's would */
        char *t = trimmed(dir);
        int rc = t ? export_check_target(t, err, err_cap) : COACH_ENOMEM;
        free(t);
        return rc;
    }
    if (!S_ISDIR(st.st_mode)) {
        coach_set_err(err, err_cap, "exists and is not a directory: --split writes a new directory");
        errno = ENOTDIR;
        return COACH_EIO;
    }
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        coach_set_err(err, err_cap, "cannot read the directory: %s", strerror(e));
        errno = e;
        return COACH_EIO;
    }
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d)) != NULL)
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    closedir(d);
    if (!empty) {
        coach_set_err(err, err_cap, "the directory is not empty: --split writes a new or empty "
                                    "directory, so that no file of an older set is left mixed in");
        errno = ENOTEMPTY;
        return COACH_EIO;
    }
    return 0;
}

/* Creates <parent>/.<base>.coach-split-XXXXXX with mode 0777 (the umask
 * applies, as to a directory made by hand); heap name, NULL with errno. */
static char *make_temp_dir(const char *dir)
{
    const char *slash = strrchr(dir, '/');
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec;
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t h = (x + ++counter) * 0x9E3779B97F4A7C15ull;
        char *tmp = slash ? coach_asprintf("%.*s/.%s.coach-split-%06" PRIx64, (int)(slash - dir), dir,
                                           slash + 1, (h >> 40) & 0xffffff)
                          : coach_asprintf(".%s.coach-split-%06" PRIx64, dir, (h >> 40) & 0xffffff);
        if (!tmp) {
            errno = ENOMEM;
            return NULL;
        }
        if (mkdir(tmp, 0777) == 0) return tmp;
        int e = errno;
        free(tmp);
        errno = e;
        if (e != EEXIST) return NULL;
    }
    return NULL;
}

/* Empties and removes our own temporary directory. */
static void remove_temp_dir(const char *tmp)
{
    int saved = errno;
    DIR *d = opendir(tmp);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
    }
    rmdir(tmp);
    errno = saved;
}

static void sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The whole set's progress from one file's. */
struct split_progress {
    const struct export_opts *o;
    uint64_t base, total; /* frames before this file; of the whole set */
};

static void on_file_progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)total;
    struct split_progress *sp = ctx;
    sp->o->progress(sp->o->progress_ctx, sp->base + done, sp->total);
}

static int write_playlist(const char *path, const struct timeline *tl, char *const *names,
                          char *err, size_t err_cap)
{
    struct export_sidecar sc;
    int rc = export_sidecar_open(&sc, path, err, err_cap);
    if (rc) return rc;
    fputs("#EXTM3U\n", sc.f);
    for (size_t i = 0; i < tl->n_ch; i++) {
        if (!names[i]) continue;
        const struct chapter *c = &tl->ch[i];
        uint64_t s = ((c->end_frame - c->frame) + tl->rate_hz / 2) / tl->rate_hz;
        fprintf(sc.f, "#EXTINF:%" PRIu64 ",", s);
        for (const char *t = c->title; *t; t++) fputc(*t == '\n' || *t == '\r' ? ' ' : *t, sc.f);
        fprintf(sc.f, "\n%s\n", names[i]);
    }
    return export_sidecar_commit(&sc, err, err_cap);
}

int split_export(const struct timeline *tl, struct clipstore *cs, const char *dir,
                 const char *playlist, const struct export_opts *o, char *err, size_t err_cap)
{
    if (err && err_cap) err[0] = 0;
    if (!tl || !cs || !dir || !o || !tl->n_ch || tl->rate_hz == 0) {
        coach_set_err(err, err_cap, "invalid split arguments");
        return COACH_EINVAL;
    }
    int rc = split_check_target(dir, err, err_cap);
    if (rc) return rc;
    char *target = trimmed(dir), *tmp = target ? make_temp_dir(target) : NULL;
    char **names = calloc(tl->n_ch, sizeof *names);
    if (!tmp || !names) {
        int e = errno;
        coach_set_err(err, err_cap, "cannot create a temporary directory beside it: %s",
                      strerror(e));
        if (tmp) remove_temp_dir(tmp);
        free(tmp);
        free(target);
        free(names);
        errno = e;
        return e == ENOMEM ? COACH_ENOMEM : COACH_EIO;
    }
    size_t n_files = 0;
    for (size_t i = 0; i < tl->n_ch; i++) n_files += tl->ch[i].end_frame > tl->ch[i].frame;
    struct split_progress sp = {.o = o, .total = tl->len_frames};
    const char *ext = export_format_name(o->format);
    char *path = NULL;
    for (size_t i = 0, n = 0; rc == 0 && i < tl->n_ch; i++) {
        const struct chapter *c = &tl->ch[i];
        if (c->end_frame <= c->frame) continue; /* nothing to hear */
        char base[256];
        split_file_name(base, sizeof base, ++n, n_files, c->title);
        names[i] = coach_asprintf("%s.%s", base, ext);
        free(path);
        path = names[i] ? coach_asprintf("%s/%s", tmp, names[i]) : NULL;
        if (!path) {
            coach_set_err(err, err_cap, "out of memory");
            errno = ENOMEM;
            rc = COACH_ENOMEM;
            break;
        }
        struct export_opts eo = *o;
        eo.title = c->title;
        eo.album = o->title;
        eo.track = (unsigned)n;
        eo.from_frame = c->frame;
        eo.to_frame = c->end_frame;
        sp.base = c->frame;
        eo.progress = o->progress ? on_file_progress : NULL;
        eo.progress_ctx = &sp;
        char why[512] = "";
        rc = export_timeline(tl, cs, path, &eo, why, sizeof why);
        if (rc) {
            int e = errno;
            coach_set_err(err, err_cap, "%s: %s", names[i], why);
            errno = e;
        }
    }
    if (rc == 0) {
        /* the playlist's name: the file names' rules, without a number */
        char list[SPLIT_NAME_MAX_BYTES + 1];
        size_t len = put_safe(list, 0, SPLIT_NAME_MAX_BYTES, playlist);
        list[len] = 0;
        free(path);
        path = coach_asprintf("%s/%s.m3u", tmp, len ? list : "playlist");
        char why[512] = "";
        rc = path ? write_playlist(path, tl, names, why, sizeof why) : COACH_ENOMEM;
        if (rc) coach_set_err(err, err_cap, "%s: %s", path ? strrchr(path, '/') + 1 : "playlist",
                              path ? why : "out of memory");
    }
    if (rc == 0) {
        sync_path(tmp);
        /* replaces an empty directory as well, in one step */
        if (rename(tmp, target) != 0) {
            int e = errno;
            coach_set_err(err, err_cap, "cannot rename %s to %s: %s", tmp, target, strerror(e));
            errno = e;
            rc = COACH_EIO;
        } else {
            const char *slash = strrchr(target, '/');
            char *parent = slash ? coach_asprintf("%.*s", (int)(slash - target), target)
                                 : coach_strdup(".");
            if (parent) sync_path(*parent ? parent : "/"); /* the rename, durable */
            free(parent);
        }
    }
    if (rc) remove_temp_dir(tmp);
    for (size_t i = 0; i < tl->n_ch; i++) free(names[i]);
    free(names);
    free(path);
    free(tmp);
    free(target);
    return rc;
}
