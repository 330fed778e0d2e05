/* Whether an export's file is already what it would write (uptodate.h).
 * A record is a small text file, DIR/exports/HASH.export, HASH naming the
 * output's absolute path:
 *
 *   coach export record 1
 *   path /home/me/phone/lower-back-relief.flac
 *   key  <64 hex digits>
 *   file <dev> <ino> <size> <mtime s.ns> <ctime s.ns>
 *
 * written to a temporary file and renamed, so a reader sees a whole record
 * or the one before; nothing is synced: a record lost in a crash only
 * means the next export is done in full. */
#define _GNU_SOURCE /* O_CLOEXEC, mkostemp */
#include "coach/uptodate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/common.h"

#define RECORD_MAGIC "coach export record 1"
#define RECORD_SUFFIX ".export"
#define SOURCE_CHUNK 65536
#define RECORD_MAX_BYTES (PATH_MAX + 512)

/* The digest's input, each value written the same way on every machine
 * (little-endian, strings with their length first), so that no two
 * different inputs share a byte sequence. */
static void put_u64(struct sha256_ctx *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    sha256_update(h, sizeof b, b);
}

static void put_str(struct sha256_ctx *h, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_u64(h, s ? n : UINT64_MAX); /* NULL and "" differ */
    if (n) sha256_update(h, n, (const uint8_t *)s);
}

static void put_double(struct sha256_ctx *h, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    put_u64(h, v);
}

/* The program and every library it runs code from (the files of its
 * executable mappings in /proc/self/maps; not data such as locales, nor a
 * file since deleted, such as a sanitizer's per-process scratch file),
 * each once, in the order of their names (the addresses, and with them
 * the listing's order, change from run to run). Where there is no /proc,
 * the program's version string alone. */
static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int put_program(struct sha256_ctx *h)
{
    put_str(h, COACH_VERSION);
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f) return 0;
    char line[PATH_MAX + 128];
    char **paths = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        char *path = strchr(line, '/');
        if (!path) continue; /* anonymous, [heap], [stack], ... */
        path[strcspn(path, "\n")] = 0;
        char perms[5] = "";
        if (sscanf(line, "%*s %4s", perms) != 1 || perms[2] != 'x') continue;
        size_t len = strlen(path);
        if (len > 10 && !strcmp(path + len - 10, " (deleted)")) continue;
        if (n && !strcmp(path, paths[n - 1])) continue; /* a file's mappings come together */
        if (n == cap) {
            size_t c = cap ? 2 * cap : 64;
            char **p = realloc(paths, c * sizeof *p);
            if (!p) {
                rc = COACH_ENOMEM;
                break;
            }
            paths = p;
            cap = c;
        }
        if (!(paths[n] = coach_strdup(path))) rc = COACH_ENOMEM;
        else n++;
    }
    fclose(f);
    if (n) qsort(paths, n, sizeof *paths, by_name);
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(paths[i], paths[i - 1])) continue;
        struct stat st;
        put_str(h, paths[i]);
        if (stat(paths[i], &st) != 0) {
            put_u64(h, UINT64_MAX); /* deleted since it was mapped: only its name */
            continue;
        }
        put_u64(h, (uint64_t)st.st_dev);
        put_u64(h, (uint64_t)st.st_ino);
        put_u64(h, (uint64_t)st.st_size);
        put_u64(h, (uint64_t)st.st_mtim.tv_sec);
        put_u64(h, (uint64_t)st.st_mtim.tv_nsec);
    }
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    return rc;
}

static void put_timeline(struct sha256_ctx *h, const struct timeline *tl)
{
    put_u64(h, tl->rate_hz);
    put_u64(h, tl->len_frames);
    put_u64(h, tl->ending_frame);
    put_u64(h, tl->n_ev);
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        put_u64(h, e->frame);
        put_u64(h, e->len_frames);
        put_u64(h, e->clip);
        put_u64(h, (uint64_t)(int64_t)e->step);
        put_u64(h, (uint64_t)e->kind | (uint64_t)e->variant << 8 | (uint64_t)e->set << 16 |
                       (uint64_t)e->side << 24 | (uint64_t)e->rep << 32);
    }
    put_u64(h, tl->n_ch);
    for (size_t i = 0; i < tl->n_ch; i++) {
        const struct chapter *c = &tl->ch[i];
        put_u64(h, c->frame);
        put_u64(h, c->body_frame);
        put_u64(h, c->end_frame);
        put_u64(h, (uint64_t)(int64_t)c->step);
        put_str(h, c->title);
    }
    put_u64(h, tl->n_waits);
    for (size_t i = 0; i < tl->n_waits; i++) {
        const struct wait *w = &tl->waits[i];
        put_u64(h, w->open_frame);
        put_u64(h, w->start_frame);
        put_u64(h, w->frame);
        put_u64(h, (uint64_t)(int64_t)w->step);
        put_u64(h, w->kind);
        put_str(h, w->caption);
    }
    put_u64(h, tl->n_notes);
    for (size_t i = 0; i < tl->n_notes; i++) {
        put_u64(h, tl->notes[i].frame);
        put_u64(h, tl->notes[i].end_frame);
        put_str(h, tl->notes[i].text);
    }
}

char *uptodate_records_dir(const char *cache_dir)
{
    return coach_asprintf("%s/exports", cache_dir);
}

/* path made absolute without resolving its last part (a symlink there is
 * what the rename replaces); heap, NULL if its directory is unknown. */
static char *absolute(const char *path)
{
    char *copy = coach_strdup(path), *copy2 = coach_strdup(path);
    char *dir = NULL, *out = NULL;
    if (copy && copy2) {
        dir = realpath(dirname(copy), NULL);
        const char *base = basename(copy2);
        if (dir) out = coach_asprintf("%s/%s", strcmp(dir, "/") ? dir : "", base);
    }
    free(dir);
    free(copy);
    free(copy2);
    return out;
}

/* DIR/HASH.export for the absolute path abs (heap). */
static char *record_path(const char *records_dir, const char *abs)
{
    struct sha256_ctx h;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&h);
    sha256_update(&h, strlen(abs), (const uint8_t *)abs);
    sha256_digest(&h, sizeof d, d);
    char hex[33];
    for (size_t i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return coach_asprintf("%s/%s" RECORD_SUFFIX, records_dir, hex);
}

/* The record's last line for a file as it is now. */
static int identity(const char *path, char *line, size_t cap)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    snprintf(line, cap, "file %" PRIu64 " %" PRIu64 " %" PRIu64 " %lld.%09ld %lld.%09ld",
             (uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
             st.st_ctim.tv_nsec);
    return 0;
}

/* The whole text of a record for abs, key and the file's identity. */
static char *record_text(const char *abs, const char *key)
{
    char id[256];
    if (identity(abs, id, sizeof id)) return NULL;
    return coach_asprintf(RECORD_MAGIC "\npath %s\nkey %s\n%s\n", abs, key, id);
}

/* A key being made: what the export's bytes are made from, with what may
 * change while it renders (a clip's loudness, measured at its first
 * prepare) copied first, so the digest can be taken on another thread
 * while the export runs: the rest it reads (the timeline, the clips'
 * texts, lengths and sources) does not change once the plan is made. */
struct uptodate_job {
    const struct timeline *tl;
    const struct clipstore *cs;
    struct export_opts o;
    uint32_t *ids;     /* the clips the timeline speaks, in id order */
    double *lufs;      /* their loudness when the job was made, NaN: not known */
    size_t n_ids;
    pthread_t thread;
    bool started;
    int rc;
    char key[UPTODATE_KEY_HEX + 1];
};

static void job_free(struct uptodate_job *j)
{
    if (!j) return;
    free(j->ids);
    free(j->lufs);
    free(j);
}

static int job_make(struct uptodate_job **out, const struct timeline *tl, const struct clipstore *cs,
                    const struct export_opts *o)
{
    *out = NULL;
    if (o->music) return COACH_EINVAL;
    struct uptodate_job *j = calloc(1, sizeof *j);
    uint8_t *used = cs->len ? calloc(cs->len, 1) : NULL;
    if (!j || (cs->len && !used)) {
        free(j);
        free(used);
        return COACH_ENOMEM;
    }
    j->tl = tl;
    j->cs = cs;
    j->o = *o;
    j->o.progress = NULL; /* never called from here */
    int rc = 0;
    size_t n = 0;
    for (size_t i = 0; !rc && i < tl->n_ev; i++) {
        if (tl->ev[i].kind != EV_SPEECH) continue;
        if (tl->ev[i].clip >= cs->len) rc = COACH_EINVAL;
        else if (!used[tl->ev[i].clip]) used[tl->ev[i].clip] = 1, n++;
    }
    if (!rc && n) {
        j->ids = malloc(n * sizeof *j->ids);
        j->lufs = malloc(n * sizeof *j->lufs);
        if (!j->ids || !j->lufs) rc = COACH_ENOMEM;
    }
    for (uint32_t id = 0; !rc && id < cs->len; id++) {
        if (!used[id]) continue;
        const struct clip *c = &cs->clips[id];
        j->ids[j->n_ids] = id;
        j->lufs[j->n_ids++] = c->loudness_known ? c->loudness_lufs : NAN;
    }
    free(used);
    if (rc) {
        job_free(j);
        return rc;
    }
    *out = j;
    return 0;
}

/* Every clip the timeline speaks, once, in id order: what it is made from. */
static int put_clips(struct sha256_ctx *h, const struct uptodate_job *j)
{
    const struct clipstore *cs = j->cs;
    put_u64(h, cs->rate_hz);
    put_double(h, cs->volume);
    uint8_t *buf = j->n_ids ? malloc(SOURCE_CHUNK) : NULL;
    if (j->n_ids && !buf) return COACH_ENOMEM;
    int rc = 0;
    for (size_t k = 0; !rc && k < j->n_ids; k++) {
        uint32_t id = j->ids[k];
        const struct clip *c = &cs->clips[id];
        put_u64(h, id);
        put_str(h, c->text);
        put_u64(h, (uint64_t)(int64_t)c->rate_wpm);
        put_u64(h, c->src_len);
        put_u64(h, c->src_rate_hz);
        put_u64(h, c->len_frames);
        put_u64(h, !isnan(j->lufs[k]));
        put_double(h, isnan(j->lufs[k]) ? 0.0 : j->lufs[k]);
        put_u64(h, c->flac_bytes);
        for (uint64_t off = 0; !rc && off < c->flac_bytes; off += SOURCE_CHUNK) {
            size_t n = c->flac_bytes - off < SOURCE_CHUNK ? (size_t)(c->flac_bytes - off) : SOURCE_CHUNK;
            rc = clipstore_source_read(cs, id, off, buf, n);
            if (!rc) sha256_update(h, n, buf);
        }
    }
    free(buf);
    return rc;
}

static int job_run(struct uptodate_job *j)
{
    const struct export_opts *o = &j->o;
    struct sha256_ctx h;
    sha256_init(&h);
    put_str(&h, "coach export key 1");
    int rc = put_program(&h);
    if (rc) return rc;
    put_u64(&h, (uint64_t)o->format);
    put_u64(&h, o->channels);
    put_str(&h, o->title);
    put_str(&h, o->artist);
    put_str(&h, o->comment);
    put_str(&h, o->album);
    put_u64(&h, o->track);
    put_u64(&h, o->from_frame);
    put_u64(&h, o->to_frame);
    put_u64(&h, (uint64_t)o->loudness);
    put_u64(&h, o->encode_workers);
    put_timeline(&h, j->tl);
    rc = put_clips(&h, j);
    if (rc) return rc;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&h, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++) snprintf(j->key + 2 * i, 3, "%02x", d[i]);
    return 0;
}

int uptodate_key(const struct timeline *tl, const struct clipstore *cs, const struct export_opts *o,
                 char key[UPTODATE_KEY_HEX + 1])
{
    key[0] = 0;
    struct uptodate_job *j;
    int rc = job_make(&j, tl, cs, o);
    if (!rc && !(rc = job_run(j))) memcpy(key, j->key, sizeof j->key);
    job_free(j);
    return rc;
}

static void *job_thread(void *arg)
{
    struct uptodate_job *j = arg;
    j->rc = job_run(j);
    return NULL;
}

int uptodate_key_start(struct uptodate_job **out, const struct timeline *tl, const struct clipstore *cs,
                       const struct export_opts *o)
{
    int rc = job_make(out, tl, cs, o);
    if (rc) return rc;
    if (coach_thread_start(&(*out)->thread, job_thread, *out) == 0) {
        (*out)->started = true;
    } else {
        (*out)->rc = job_run(*out); /* no thread: here, now */
    }
    return 0;
}

int uptodate_key_finish(struct uptodate_job *j, char key[UPTODATE_KEY_HEX + 1])
{
    key[0] = 0;
    if (!j) return COACH_EINVAL;
    if (j->started) pthread_join(j->thread, NULL);
    int rc = j->rc;
    if (!rc) memcpy(key, j->key, sizeof j->key);
    job_free(j);
    return rc;
}

/* path's record, whole (heap; NULL if none, unreadable or too long), and
 * path made absolute in *abs (heap, the caller's; NULL if unknown). */
static char *read_record(const char *records_dir, const char *path, char **abs)
{
    *abs = absolute(path);
    char *rp = *abs ? record_path(records_dir, *abs) : NULL;
    int fd = rp ? open(rp, O_RDONLY | O_CLOEXEC) : -1;
    free(rp);
    if (fd < 0) return NULL;
    char *rec = malloc(RECORD_MAX_BYTES + 1);
    ssize_t got = rec ? read(fd, rec, RECORD_MAX_BYTES + 1) : -1; /* one byte more: too long */
    close(fd);
    if (got <= 0 || got > RECORD_MAX_BYTES || memchr(rec, 0, (size_t)got)) {
        free(rec);
        return NULL;
    }
    rec[got] = 0;
    return rec;
}

/* Whether path's record is the one record_text would write now with key;
 * key NULL: with the key the record holds (the file is as recorded). */
static bool record_matches(const char *records_dir, const char *path, const char *key)
{
    char *abs, *rec = read_record(records_dir, path, &abs);
    char recorded[UPTODATE_KEY_HEX + 1] = "";
    const char *k = rec ? strstr(rec, "\nkey ") : NULL;
    if (!key && k && strlen(k + 5) > UPTODATE_KEY_HEX) {
        memcpy(recorded, k + 5, UPTODATE_KEY_HEX);
        key = recorded;
    }
    char *want = rec && key ? record_text(abs, key) : NULL;
    bool same = want && !strcmp(rec, want);
    free(want);
    free(rec);
    free(abs);
    return same;
}

bool uptodate_may_be_fresh(const char *records_dir, const char *path)
{
    return records_dir && record_matches(records_dir, path, NULL);
}

bool uptodate_is_fresh(const char *records_dir, const char *path, const char *key)
{
    if (!records_dir || !key || strlen(key) != UPTODATE_KEY_HEX) return false;
    return record_matches(records_dir, path, key);
}

int uptodate_record(const char *records_dir, const char *path, const char *key)
{
    if (!records_dir || !key || strlen(key) != UPTODATE_KEY_HEX) return COACH_EINVAL;
    char *parent = coach_strdup(records_dir);
    if (parent) mkdir(dirname(parent), 0700); /* the cache directory; EEXIST is fine */
    free(parent);
    mkdir(records_dir, 0700);
    char *abs = absolute(path);
    char *rp = abs ? record_path(records_dir, abs) : NULL;
    char *text = abs ? record_text(abs, key) : NULL;
    char *tmp = rp ? coach_asprintf("%s.tmp-XXXXXX", rp) : NULL;
    int rc = COACH_ENOMEM;
    if (abs && !text) rc = COACH_EIO; /* the file is not there, or not a regular file */
    if (text && tmp) {
        rc = COACH_EIO;
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd >= 0) {
            int w = coach_write_full(fd, text, strlen(text));
            if (close(fd) == 0 && w == 0 && rename(tmp, rp) == 0) rc = 0;
            else unlink(tmp);
        }
    }
    free(tmp);
    free(text);
    free(rp);
    free(abs);
    return rc;
}

int uptodate_clear(const char *records_dir, size_t *removed)
{
    *removed = 0;
    DIR *d = opendir(records_dir);
    if (!d) return errno == ENOENT ? 0 : COACH_EIO;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (!strstr(de->d_name, RECORD_SUFFIX)) continue; /* records and their temporary files */
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0) {
            if (coach_path_has_ext(de->d_name, RECORD_SUFFIX)) (*removed)++;
        } else if (errno != ENOENT) {
            rc = COACH_EIO;
        }
    }
    closedir(d);
    rmdir(records_dir); /* empty now, unless something else was put there */
    return rc;
}
