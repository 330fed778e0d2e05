/* The persistent phrase cache (see phrasecache.h). An entry file:
 *
 *   0  "COACHPC\n"       magic
 *   8  u32 format        PHRASECACHE_FORMAT
 *  12  u32 key_len       bytes of key text
 *  16  u32 src_rate_hz
 *  20  u32 flags         bit 0: loudness known
 *  24  u64 src_len       frames
 *  32  u64 flac_bytes
 *  40  u64 loudness      the double's bits
 *  48  u64 check         FNV-1a 64 of bytes 0-47 and the key, then of the
 *                        FLAC 8 bytes at a time (fnv64_words)
 *  56  key, then the FLAC stream
 *
 * all little-endian, so the size of the file is known from its header and
 * any short, long or flipped file is refused. A store never scans the
 * directory (a play stores from the thread that also feeds the sound):
 * the bytes stored are counted, and the directory is scanned once when the
 * handle is closed if anything was stored, or sooner once a tenth of the
 * limit was stored; past the limit the oldest entries go, down to 90 % of
 * it. */
#define _GNU_SOURCE
#include "coach/phrasecache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/speech.h"

#define HEADER_BYTES 56
#define ENTRY_SUFFIX ".phrase"
#define TMP_PREFIX ".tmp-"
#define MAX_ENTRY_BYTES ((uint64_t)64 << 20) /* far above any phrase (15 min) */
#define STALE_TMP_S 3600 /* a temporary file this old was left by a crash */
static const char magic[8] = {'C', 'O', 'A', 'C', 'H', 'P', 'C', '\n'};

struct phrasecache {
    char *dir;
    uint64_t max_bytes;
    uint64_t stored_bytes; /* stored since the last scan */
    bool made_dir;        /* mkdir done (or it existed) */
    bool read_only;       /* a store failed: store nothing more */
    unsigned tmp_seq;
};

static void (*warn_fn)(const char *message);

void phrasecache_set_warn(void (*fn)(const char *message)) { warn_fn = fn; }

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
#define FNV64_INIT 0xcbf29ce484222325ull

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

char *phrasecache_default_dir(void)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/') return coach_asprintf("%s/coach", xdg);
    const char *home = getenv("HOME");
    if (home && home[0] == '/') return coach_asprintf("%s/.cache/coach", home);
    return NULL;
}

uint64_t phrasecache_default_max_bytes(void)
{
    const char *s = getenv("COACH_CACHE_MAX_MB");
    uint64_t mb = PHRASECACHE_DEFAULT_MAX_MB;
    if (s && *s) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (!*end && !errno && v <= 1000000 && s[0] != '-') mb = v;
    }
    return mb << 20;
}

int phrasecache_open(struct phrasecache **out, const char *dir, uint64_t max_bytes)
{
    *out = NULL;
    if (!max_bytes) max_bytes = phrasecache_default_max_bytes();
    if (!max_bytes) return COACH_ENOTFOUND;
    struct phrasecache *pc = calloc(1, sizeof *pc);
    if (!pc) return COACH_ENOMEM;
    pc->dir = dir ? coach_strdup(dir) : phrasecache_default_dir();
    if (!pc->dir) {
        free(pc);
        return dir ? COACH_ENOMEM : COACH_ENOTFOUND;
    }
    pc->max_bytes = max_bytes;
    *out = pc;
    return 0;
}

static void evict(struct phrasecache *pc);

void phrasecache_close(struct phrasecache *pc)
{
    if (!pc) return;
    if (pc->stored_bytes) evict(pc);
    free(pc->dir);
    free(pc);
}

const char *phrasecache_dir(const struct phrasecache *pc) { return pc ? pc->dir : NULL; }

/* "<dir>/<16 hex of the key's hash>.phrase" (heap). */
static char *entry_path(const struct phrasecache *pc, const char *key)
{
    uint64_t h = fnv64(FNV64_INIT, key, strlen(key));
    return coach_asprintf("%s/%016llx" ENTRY_SUFFIX, pc->dir, (unsigned long long)h);
}

/* FNV-1a's step taken on 8 bytes at a time (little-endian words, the last
 * few bytes one by one): each step is still a bijection of the state, so
 * any one word changed still changes the sum, at an eighth of the
 * multiplications. A warm plan checks every entry it reads: byte by byte
 * this sum was 29 % of a kept export of lower-back-relief.es (perf). */
static uint64_t fnv64_words(uint64_t h, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) h = (h ^ get64(p + i)) * 0x100000001b3ull;
    return fnv64(h, p + i, n - i);
}

static uint64_t checksum(const uint8_t *header, const char *key, size_t key_len,
                         const uint8_t *flac, size_t flac_bytes)
{
    uint64_t h = fnv64(FNV64_INIT, header, 48);
    h = fnv64(h, key, key_len);
    return fnv64_words(h, flac, flac_bytes);
}

/* key's entry file opened, if it is a regular file of a size an entry of
 * key can have (into *size): a descriptor, -1 (none) or -2 (no memory). */
static int open_entry(const struct phrasecache *pc, const char *key, size_t *size)
{
    char *path = entry_path(pc, key);
    if (!path) return -2;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
                    (uint64_t)st.st_size < HEADER_BYTES + strlen(key) ||
                    (uint64_t)st.st_size > MAX_ENTRY_BYTES)) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0) *size = (size_t)st.st_size;
    return fd;
}

/* Whether buf (an entry's header and key, of a file of size bytes) is one
 * of key's; its source's length and rate into *len, *rate. */
static bool header_ok(const uint8_t *buf, const char *key, size_t size, uint64_t *len,
                      uint32_t *rate)
{
    size_t key_len = strlen(key);
    uint64_t flac_bytes = get64(buf + 32);
    *len = get64(buf + 24);
    *rate = get32(buf + 16);
    if (memcmp(buf, magic, 8) || get32(buf + 8) != PHRASECACHE_FORMAT ||
        get32(buf + 12) != key_len || flac_bytes != size - HEADER_BYTES - key_len ||
        memcmp(buf + HEADER_BYTES, key, key_len))
        return false;
    /* a source needs a stream and a rate (and is no longer than a clip may
     * be); an empty one neither */
    return *len ? flac_bytes && *rate && *len <= (uint64_t)*rate * SPEECH_MAX_CLIP_S
                : flac_bytes == 0;
}

int phrasecache_get(struct phrasecache *pc, const char *key, struct phrase_entry *e)
{
    memset(e, 0, sizeof *e);
    if (!pc) return COACH_ENOTFOUND;
    size_t size = 0, key_len = strlen(key);
    int fd = open_entry(pc, key, &size);
    if (fd < 0) return fd == -2 ? COACH_ENOMEM : COACH_ENOTFOUND;
    uint8_t *buf = malloc(size);
    int rc = buf ? COACH_ENOTFOUND : COACH_ENOMEM;
    uint64_t len, flac_bytes = size - HEADER_BYTES - key_len;
    uint32_t rate;
    if (!buf || coach_read_at(fd, buf, size, 0) || !header_ok(buf, key, size, &len, &rate) ||
        get64(buf + 48) != checksum(buf, key, key_len, buf + HEADER_BYTES + key_len, flac_bytes))
        goto out;
    e->src_rate_hz = rate;
    e->src_len = (size_t)len;
    uint64_t bits = get64(buf + 40);
    memcpy(&e->loudness_lufs, &bits, sizeof bits);
    e->loudness_known = get32(buf + 20) & 1;
    e->flac_bytes = (size_t)flac_bytes;
    if (flac_bytes) {
        /* the stream moved to the front: one allocation, trimmed */
        memmove(buf, buf + HEADER_BYTES + key_len, e->flac_bytes);
        uint8_t *p = realloc(buf, e->flac_bytes);
        e->flac = p ? p : buf;
        buf = NULL;
    }
    /* used now: the least recently used go first (failing is harmless) */
    futimens(fd, NULL);
    rc = 0;
out:
    if (rc) memset(e, 0, sizeof *e);
    free(buf);
    close(fd);
    return rc;
}

/* The header only: a menu of the ten shipped routines, every phrase in
 * the cache, loads in 6 ms so (3 ms on estimates alone), in 42 ms reading
 * and summing whole entries (the checksum half of it). */
int phrasecache_length(struct phrasecache *pc, const char *key, size_t *src_len,
                       uint32_t *src_rate_hz)
{
    *src_len = 0;
    *src_rate_hz = 0;
    if (!pc) return COACH_ENOTFOUND;
    size_t size = 0, head = HEADER_BYTES + strlen(key);
    int fd = open_entry(pc, key, &size);
    if (fd < 0) return fd == -2 ? COACH_ENOMEM : COACH_ENOTFOUND;
    uint8_t *buf = malloc(head);
    int rc = buf ? COACH_ENOTFOUND : COACH_ENOMEM;
    uint64_t len;
    uint32_t rate;
    if (buf && !coach_read_at(fd, buf, head, 0) && header_ok(buf, key, size, &len, &rate)) {
        *src_len = (size_t)len;
        *src_rate_hz = rate;
        rc = 0;
    }
    free(buf);
    close(fd);
    return rc;
}

static void give_up(struct phrasecache *pc, const char *what, int err)
{
    pc->read_only = true;
    if (!warn_fn) return;
    char *msg = coach_asprintf("phrase cache %s: %s (%s); phrases are not kept for next time",
                               pc->dir, what, strerror(err));
    if (msg) warn_fn(msg);
    free(msg);
}

/* mkdir -p dir, private to its user. */
static int make_dirs(const char *dir)
{
    char *p = coach_strdup(dir);
    if (!p) return -1;
    int rc = 0;
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0700) && errno != EEXIST) rc = -1;
        *s = c;
        if (!c || rc) break;
    }
    free(p);
    return rc;
}

struct item {
    char *name;
    struct timespec mtime;
    uint64_t bytes;
};

static int by_age(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec) return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec) return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

static bool is_entry(const char *name)
{
    size_t n = strlen(name), s = strlen(ENTRY_SUFFIX);
    return n == 16 + s && strcmp(name + 16, ENTRY_SUFFIX) == 0;
}

/* The entries of the directory (and, with reap, stale temporary files
 * removed). Returns 0, COACH_ENOTFOUND (no directory) or COACH_ENOMEM. */
static int scan(struct phrasecache *pc, bool reap, struct item **items, size_t *n, uint64_t *bytes)
{
    *items = NULL;
    *n = 0;
    *bytes = 0;
    DIR *d = opendir(pc->dir);
    if (!d) return COACH_ENOTFOUND;
    size_t cap = 0;
    int rc = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        bool tmp = strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
        if ((!tmp && !is_entry(de->d_name)) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
            !S_ISREG(st.st_mode))
            continue;
        if (tmp) {
            if (reap && now - st.st_mtime > STALE_TMP_S) unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            struct item *p = realloc(*items, cap * sizeof *p);
            if (!p) {
                rc = COACH_ENOMEM;
                break;
            }
            *items = p;
        }
        struct item *it = &(*items)[*n];
        it->name = coach_strdup(de->d_name);
        if (!it->name) {
            rc = COACH_ENOMEM;
            break;
        }
        it->mtime = st.st_mtim;
        it->bytes = (uint64_t)st.st_size;
        *bytes += it->bytes;
        (*n)++;
    }
    closedir(d);
    return rc;
}

static void items_free(struct item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) free(items[i].name);
    free(items);
}

/* Down to 90 % of the limit, oldest first, if over it. */
static void evict(struct phrasecache *pc)
{
    struct item *items;
    size_t n;
    uint64_t total;
    pc->stored_bytes = 0;
    if (scan(pc, true, &items, &n, &total) || total <= pc->max_bytes) {
        items_free(items, n);
        return;
    }
    qsort(items, n, sizeof *items, by_age);
    uint64_t target = pc->max_bytes / 10 * 9;
    for (size_t i = 0; i < n && total > target; i++) {
        char *path = coach_asprintf("%s/%s", pc->dir, items[i].name);
        if (path && (unlink(path) == 0 || errno == ENOENT)) total -= items[i].bytes;
        free(path);
    }
    items_free(items, n);
}

int phrasecache_put(struct phrasecache *pc, const char *key, const struct phrase_entry *e)
{
    if (!pc || pc->read_only) return COACH_EIO;
    if (!pc->made_dir) {
        if (make_dirs(pc->dir)) {
            give_up(pc, "cannot be made", errno);
            return COACH_EIO;
        }
        pc->made_dir = true;
    }
    size_t key_len = strlen(key);
    uint64_t size = HEADER_BYTES + (uint64_t)key_len + e->flac_bytes;
    if (size > MAX_ENTRY_BYTES || key_len > UINT32_MAX) return COACH_EINVAL;
    uint8_t header[HEADER_BYTES];
    memcpy(header, magic, 8);
    put32(header + 8, PHRASECACHE_FORMAT);
    put32(header + 12, (uint32_t)key_len);
    put32(header + 16, e->src_rate_hz);
    put32(header + 20, e->loudness_known ? 1u : 0u);
    put64(header + 24, e->src_len);
    put64(header + 32, e->flac_bytes);
    uint64_t bits;
    memcpy(&bits, &e->loudness_lufs, sizeof bits);
    put64(header + 40, e->loudness_known ? bits : 0);
    put64(header + 48, checksum(header, key, key_len, e->flac, e->flac_bytes));

    char *path = entry_path(pc, key);
    char *tmp = coach_asprintf("%s/" TMP_PREFIX "%ld-%u-%lx", pc->dir, (long)getpid(),
                               pc->tmp_seq++, (unsigned long)coach_mono_ns());
    int rc = path && tmp ? 0 : COACH_ENOMEM;
    int fd = rc ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (!rc && fd < 0) {
        give_up(pc, "cannot be written", errno);
        rc = COACH_EIO;
    }
    if (!rc) {
        int err = 0;
        if (coach_write_at(fd, header, HEADER_BYTES, 0) ||
            coach_write_at(fd, key, key_len, HEADER_BYTES) ||
            coach_write_at(fd, e->flac, e->flac_bytes, HEADER_BYTES + key_len))
            err = errno ? errno : EIO;
        if (close(fd) && !err) err = errno;
        if (!err && rename(tmp, path)) err = errno;
        if (err) {
            unlink(tmp);
            give_up(pc, "cannot be written", err);
            rc = COACH_EIO;
        } else {
            pc->stored_bytes += size;
        }
    }
    free(path);
    free(tmp);
    if (!rc && pc->stored_bytes > pc->max_bytes / 10) evict(pc);
    return rc;
}

int phrasecache_stats(struct phrasecache *pc, struct phrasecache_stats *st)
{
    memset(st, 0, sizeof *st);
    st->max_bytes = pc->max_bytes;
    struct item *items;
    size_t n;
    uint64_t total;
    int rc = scan(pc, false, &items, &n, &total);
    items_free(items, n);
    if (rc == COACH_ENOTFOUND) return 0;
    st->exists = true;
    st->entries = n;
    st->bytes = total;
    return rc;
}

int phrasecache_clear(struct phrasecache *pc, size_t *removed, uint64_t *bytes)
{
    *removed = 0;
    *bytes = 0;
    DIR *d = opendir(pc->dir);
    if (!d) return errno == ENOENT ? 0 : COACH_EIO;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        bool tmp = strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
        if (!tmp && !is_entry(de->d_name)) continue; /* never anything else of the user's */
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0)) {
            if (errno != ENOENT) rc = COACH_EIO;
            continue;
        }
        if (!tmp) {
            (*removed)++;
            *bytes += (uint64_t)st.st_size;
        }
    }
    int saved = errno;
    closedir(d);
    errno = saved;
    pc->stored_bytes = 0;
    return rc;
}
