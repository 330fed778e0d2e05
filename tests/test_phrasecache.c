/* The phrase cache: a miss, a hit giving back exactly what was stored, a
 * hash collision (another key under the name), a truncated and a flipped
 * entry (misses, then replaced), eviction of the least recently used past
 * a small limit, a directory that cannot be made (stores refused, one
 * warning), the stats and clear; a length alone from an entry's header
 * (not marking it used); and the clip store on it: a second store
 * takes a phrase from the cache (nothing synthesized) with the same
 * prepared samples. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/clips.h"
#include "coach/common.h"
#include "coach/phrasecache.h"
#include "coach/speech.h"
#include "testutil.h"

static int warnings;
static void count_warning(const char *m)
{
    (void)m;
    warnings++;
}

/* An entry of n bytes of FLAC (not a real stream: the cache does not look). */
static struct phrase_entry fake(size_t n, uint8_t fill)
{
    struct phrase_entry e = {.flac = malloc(n), .flac_bytes = n, .src_len = n * 2,
                             .src_rate_hz = 22050, .loudness_lufs = -23.5, .loudness_known = true};
    memset(e.flac, fill, n);
    return e;
}

/* The path of key's entry: the only *.phrase file made since clear. */
static void only_entry(const char *dir, char *path, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s/*.phrase", dir);
    FILE *p = popen(cmd, "r");
    path[0] = 0;
    if (p && fgets(path, (int)cap, p)) path[strcspn(path, "\n")] = 0;
    if (p) pclose(p);
}

static void test_store(void)
{
    const char *dir = test_tmpdir("phrasecache");
    struct phrasecache *pc;
    CHECK(phrasecache_open(&pc, dir, 1 << 20) == 0);
    struct phrase_entry got;
    CHECK(phrasecache_get(pc, "key one", &got) == COACH_ENOTFOUND);

    struct phrase_entry e = fake(5000, 0xa5);
    CHECK(phrasecache_put(pc, "key one", &e) == 0);
    CHECK(phrasecache_get(pc, "key one", &got) == 0);
    CHECK(got.flac_bytes == 5000 && memcmp(got.flac, e.flac, 5000) == 0);
    CHECK(got.src_len == 10000 && got.src_rate_hz == 22050);
    CHECK(got.loudness_known && got.loudness_lufs == -23.5);
    free(got.flac);
    CHECK(phrasecache_get(pc, "key two", &got) == COACH_ENOTFOUND);
    /* the length alone (a menu's): from the header */
    size_t len = 0;
    uint32_t rate = 0;
    CHECK(phrasecache_length(pc, "key one", &len, &rate) == 0 && len == 10000 && rate == 22050);
    CHECK(phrasecache_length(pc, "key two", &len, &rate) == COACH_ENOTFOUND && len == 0);
    CHECK(phrasecache_length(NULL, "key one", &len, &rate) == COACH_ENOTFOUND);

    char path[1024];
    only_entry(dir, path, sizeof path);
    CHECK(path[0] != 0);
    /* another key under this name (a collision): a miss */
    struct phrasecache_stats st;
    CHECK(phrasecache_stats(pc, &st) == 0 && st.entries == 1 && st.exists);
    char other[1100];
    {
        struct phrase_entry o = fake(100, 1);
        CHECK(phrasecache_put(pc, "key two", &o) == 0);
        char cmd[2300];
        snprintf(cmd, sizeof cmd, "cd %s && for f in *.phrase; do [ \"$PWD/$f\" = '%s' ] || mv \"$f\" "
                                  "'%s'; done", dir, path, "other.tmp");
        CHECK(system(cmd) == 0);
        snprintf(other, sizeof other, "%s/other.tmp", dir);
        CHECK(rename(other, path) == 0); /* key two's entry now under key one's name */
        CHECK(phrasecache_get(pc, "key one", &got) == COACH_ENOTFOUND);
        CHECK(phrasecache_length(pc, "key one", &len, &rate) == COACH_ENOTFOUND);
        free(o.flac);
    }
    /* replaced; then truncated: a miss; then a flipped byte: a miss */
    CHECK(phrasecache_put(pc, "key one", &e) == 0);
    CHECK(phrasecache_get(pc, "key one", &got) == 0);
    free(got.flac);
    CHECK(truncate(path, 3000) == 0);
    CHECK(phrasecache_get(pc, "key one", &got) == COACH_ENOTFOUND);
    CHECK(phrasecache_length(pc, "key one", &len, &rate) == COACH_ENOTFOUND);
    CHECK(phrasecache_put(pc, "key one", &e) == 0);
    /* the length does not mark the entry used (a menu lists; it plays
     * nothing), the entry does */
    struct timespec old[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
    struct stat sb;
    CHECK(utimensat(AT_FDCWD, path, old, 0) == 0);
    CHECK(phrasecache_length(pc, "key one", &len, &rate) == 0 && len == 10000);
    CHECK(stat(path, &sb) == 0 && sb.st_mtime == 1000000);
    CHECK(phrasecache_get(pc, "key one", &got) == 0);
    free(got.flac);
    CHECK(stat(path, &sb) == 0 && sb.st_mtime > 1000000);
    /* a length no clip can have (a flipped high bit): a miss either way */
    {
        int hfd = open(path, O_RDWR);
        CHECK(hfd >= 0);
        uint8_t hi = 0x01;
        CHECK(pwrite(hfd, &hi, 1, 24 + 5) == 1); /* src_len += 2^40 */
        close(hfd);
        CHECK(phrasecache_length(pc, "key one", &len, &rate) == COACH_ENOTFOUND);
        CHECK(phrasecache_get(pc, "key one", &got) == COACH_ENOTFOUND);
    }
    CHECK(phrasecache_put(pc, "key one", &e) == 0);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    uint8_t b = 0;
    CHECK(pread(fd, &b, 1, 2000) == 1);
    b ^= 0x10;
    CHECK(pwrite(fd, &b, 1, 2000) == 1);
    close(fd);
    CHECK(phrasecache_get(pc, "key one", &got) == COACH_ENOTFOUND);
    CHECK(got.flac == NULL);
    /* the audio's checksum is not read for a length: the header still says it */
    CHECK(phrasecache_length(pc, "key one", &len, &rate) == 0 && len == 10000);

    size_t removed;
    uint64_t bytes;
    CHECK(phrasecache_clear(pc, &removed, &bytes) == 0 && removed == 1 && bytes > 5000);
    CHECK(phrasecache_stats(pc, &st) == 0 && st.entries == 0);
    free(e.flac);
    phrasecache_close(pc);
}

static void test_evict(void)
{
    const char *dir = test_tmpdir("phrasecache-evict");
    struct phrasecache *pc;
    CHECK(phrasecache_open(&pc, dir, 100000) == 0); /* room for about 9 */
    struct phrase_entry e = fake(10000, 7);
    char key[32];
    for (int i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "phrase %d", i);
        CHECK(phrasecache_put(pc, key, &e) == 0);
        struct phrase_entry got;
        /* phrase 0 is used all along: never the least recently used */
        CHECK(phrasecache_get(pc, "phrase 0", &got) == 0);
        free(got.flac);
        usleep(2000); /* distinct mtimes on coarse file systems */
    }
    struct phrasecache_stats st;
    CHECK(phrasecache_stats(pc, &st) == 0);
    CHECKF(st.bytes <= 100000 && st.entries >= 5, "%zu entries, %llu bytes", st.entries,
           (unsigned long long)st.bytes);
    struct phrase_entry got;
    CHECK(phrasecache_get(pc, "phrase 29", &got) == 0); /* the newest is kept */
    free(got.flac);
    CHECK(phrasecache_get(pc, "phrase 1", &got) == COACH_ENOTFOUND); /* an old one went */
    CHECK(count_entries(dir) == (int)st.entries);          /* no temporary file left */
    free(e.flac);
    phrasecache_close(pc);
}

static void test_unwritable(void)
{
    const char *dir = test_tmpdir("phrasecache-file");
    char file[512], sub[600];
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    snprintf(sub, sizeof sub, "%s/coach", file); /* under a file: cannot be made */
    struct phrasecache *pc;
    CHECK(phrasecache_open(&pc, sub, 1 << 20) == 0);
    phrasecache_set_warn(count_warning);
    struct phrase_entry e = fake(100, 2), got;
    CHECK(phrasecache_put(pc, "k", &e) == COACH_EIO);
    CHECK(phrasecache_put(pc, "k2", &e) == COACH_EIO);
    CHECK(warnings == 1);
    CHECK(phrasecache_get(pc, "k", &got) == COACH_ENOTFOUND);
    phrasecache_set_warn(NULL);
    free(e.flac);
    phrasecache_close(pc);
}

static void test_clipstore(void)
{
    struct speech *sp;
    struct speech_settings ss = {.espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &ss)) {
        printf("no espeak-ng: the clip store part skipped\n");
        return;
    }
    const char *dir = test_tmpdir("phrasecache-clips");
    struct phrasecache *pc;
    CHECK(phrasecache_open(&pc, dir, 1 << 20) == 0);
    struct clipstore a, b;
    uint32_t id;
    uint64_t len_a = 0, len_b = 0;
    CHECK(clipstore_init(&a, sp, 48000) == 0);
    a.cache = pc;
    CHECK(clipstore_intern(&a, "Hold it there, breathing slowly.", &id, &len_a) == 0);
    CHECK(count_entries(dir) == 1);
    CHECK(a.clips[id].loudness_known); /* measured when stored */
    CHECK(clipstore_prepare(&a, id) == 0);

    /* the entry made old: a hit makes it new again */
    char path[1024];
    only_entry(dir, path, sizeof path);
    struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
    CHECK(utimensat(AT_FDCWD, path, old, 0) == 0);
    CHECK(clipstore_init(&b, sp, 48000) == 0);
    b.cache = pc;
    CHECK(clipstore_intern(&b, "Hold it there, breathing slowly.", &id, &len_b) == 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_mtime > 1000); /* a hit */
    CHECK(b.src_bytes == a.src_bytes && b.clips[id].flac_bytes == a.clips[id].flac_bytes);
    CHECK(len_a == len_b && len_a > 0);
    CHECK(clipstore_prepare(&b, id) == 0);
    CHECK(memcmp(a.clips[id].pcm, b.clips[id].pcm, (size_t)len_a * sizeof(float)) == 0);
    clipstore_free(&a);
    clipstore_free(&b);

    /* measuring only: the entry is used, nothing kept */
    CHECK(clipstore_init(&b, sp, 48000) == 0);
    clipstore_set_mode(&b, CLIPS_LENGTHS);
    b.cache = pc;
    CHECK(clipstore_intern(&b, "Hold it there, breathing slowly.", &id, &len_b) == 0);
    CHECK(len_b == len_a && b.clips[id].flac_bytes == 0);
    CHECK(clipstore_intern(&b, "And rest.", &id, &len_b) == 0);
    CHECK(count_entries(dir) == 2 && b.clips[id].flac_bytes == 0);
    clipstore_free(&b);

    /* estimating (a menu): no engine; a cached phrase's length as
     * synthesized, through the key named from the settings alone (the
     * same key as the open handle's, at the voice's rate and another) */
    for (int r = 0; r <= 200; r += 200) {
        char *k1 = speech_cache_key(sp, "And rest.", r, PHRASECACHE_FORMAT);
        char *k2 = speech_settings_cache_key(&ss, "And rest.", r, PHRASECACHE_FORMAT);
        CHECKF(k1 && k2 && strcmp(k1, k2) == 0, "%s / %s", k1, k2);
        free(k1);
        free(k2);
    }
    CHECK(clipstore_init(&b, NULL, 48000) == 0);
    clipstore_set_mode(&b, CLIPS_ESTIMATE);
    b.cache = pc;
    b.keys = ss;
    uint64_t est = clip_estimate_frames("Hold it there, breathing slowly.", 175, 48000);
    CHECK(clipstore_intern(&b, "Hold it there, breathing slowly.", &id, &len_b) == 0);
    CHECKF(len_b == len_a && len_a != est, "%llu (synthesized %llu, estimated %llu)",
           (unsigned long long)len_b, (unsigned long long)len_a, (unsigned long long)est);
    /* not in the cache: the estimate */
    CHECK(clipstore_intern(&b, "Not said before.", &id, &len_b) == 0);
    CHECK(len_b == clip_estimate_frames("Not said before.", 175, 48000));
    CHECK(count_entries(dir) == 2); /* nothing stored */
    clipstore_free(&b);
    phrasecache_close(pc);
    speech_close(sp);
}

static void test_default_dir(void)
{
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    char *d = phrasecache_default_dir();
    CHECK(d && strcmp(d, "/x/cache/coach") == 0);
    free(d);
    setenv("XDG_CACHE_HOME", "relative", 1); /* not absolute: ignored (XDG) */
    setenv("HOME", "/home/u", 1);
    d = phrasecache_default_dir();
    CHECK(d && strcmp(d, "/home/u/.cache/coach") == 0);
    free(d);
    unsetenv("HOME");
    CHECK(phrasecache_default_dir() == NULL);
    setenv("COACH_CACHE_MAX_MB", "3", 1);
    CHECK(phrasecache_default_max_bytes() == 3u << 20);
    setenv("COACH_CACHE_MAX_MB", "0", 1);
    struct phrasecache *pc;
    CHECK(phrasecache_open(&pc, "/tmp", 0) == COACH_ENOTFOUND); /* 0: off */
    setenv("COACH_CACHE_MAX_MB", "junk", 1);
    CHECK(phrasecache_default_max_bytes() == (uint64_t)PHRASECACHE_DEFAULT_MAX_MB << 20);
    unsetenv("COACH_CACHE_MAX_MB");
}

int main(void)
{
    test_store();
    test_evict();
    test_unwritable();
    test_clipstore();
    test_default_dir();
    return test_done();
}
