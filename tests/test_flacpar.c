/* Tests for the parallel FLAC writer (flacpar.h): a made-up programme
 * (tones, noise, silence, a clipped burst; mono and stereo) written with
 * 1 to 4 workers and through libsndfile the way export.c wrote FLAC
 * before: the files must be the same bytes (so the frames are a single
 * libFLAC encoder's and STREAMINFO holds the same sizes, length and MD5),
 * and also the audio frames of a plain libFLAC encoder at level 4. Read
 * back with libsndfile they give the samples exactly; `flac -t` (when the
 * flac package is there) finds every CRC and the MD5 right. Lengths: 0,
 * 1, around a block and a chunk, not a multiple of either. Then the
 * rounding against lrintf, a write error (RLIMIT_FSIZE) and an early
 * flacpar_free. */
#define _GNU_SOURCE /* sched_getaffinity; setrlimit, fileno */

#include <FLAC/stream_encoder.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/flacpar.h"
#include "testutil.h"

#define BLOCK 4096 /* libFLAC level 4 */
#define PI 3.14159265358979323846
/* flacpar.c's chunk at 48 kHz: 12 blocks rounded up to whole loose
 * mid-side periods of 5 blocks (44.1 kHz: periods of 4, chunks of 12) */
#define CHUNK (15 * BLOCK)

static uint32_t RATE = 48000; /* of the case at hand */

static const char *const TITLE = "Morning routine – Grüße", *const ARTIST = "coach",
                         *const COMMENT = "test";

/* Deterministic: silence, a tone sweep, noise, a tone at full scale,
 * stereo channels that differ in phase and level (so frames choose
 * left-side, mid-side and independent). */
static float *programme(size_t n, uint32_t ch)
{
    float *x = malloc((n ? n : 1) * ch * sizeof *x);
    uint32_t rnd = 12345;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE, v;
        size_t part = (i / 10000) % 5;
        rnd = rnd * 1664525u + 1013904223u;
        double noise = ((double)(rnd >> 8) / (1u << 24) - 0.5);
        if (part == 0)
            v = 0;
        else if (part == 1)
            v = 0.6 * sin(2 * PI * (200 + 40 * t) * t);
        else if (part == 2)
            v = 0.3 * noise;
        else if (part == 3)
            v = sin(2 * PI * 440 * t);
        else
            v = 0.2 * sin(2 * PI * 300 * t) + 0.01 * noise;
        for (uint32_t c = 0; c < ch; c++)
            x[i * ch + c] = (float)(c == 0 ? v : 0.7 * v + 0.05 * sin(2 * PI * 90 * t));
    }
    return x;
}

/* What libsndfile stores for x (flac.c: lrintf(x * 32767)), clipped. */
static short pcm16(float x)
{
    long v = lrintf(x * 32767.0f);
    return (short)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

static void write_sndfile(const char *path, const float *x, size_t n, uint32_t ch)
{
    SF_INFO info = {.samplerate = RATE, .channels = (int)ch, .format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    CHECKF(f != NULL, "%s: %s", path, sf_strerror(NULL));
    if (!f) return;
    /* as export.c's open_sndfile does: tags, level 0.5 (and no clipping:
     * with it libsndfile scales by 32768, not 32767) */
    sf_set_string(f, SF_STR_TITLE, TITLE);
    sf_set_string(f, SF_STR_ARTIST, ARTIST);
    sf_set_string(f, SF_STR_COMMENT, COMMENT);
    double level = 0.5;
    sf_command(f, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level);
    for (size_t done = 0; done < n;) {
        size_t m = n - done < 8192 ? n - done : 8192;
        CHECK(sf_writef_float(f, x + done * ch, (sf_count_t)m) == (sf_count_t)m);
        done += m;
    }
    CHECK(sf_close(f) == 0);
}

/* flacpar, fed `step` frames a call. 0 or the failing call's code. */
static int write_par(const char *path, const float *x, size_t n, uint32_t ch, unsigned workers,
                     size_t step, int *err_out)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    struct flacpar *p = NULL;
    const struct flacpar_opts o = {.rate_hz = RATE, .channels = ch, .workers = workers,
                                   .title = TITLE, .artist = ARTIST, .comment = COMMENT};
    char err[256] = "";
    int rc = flacpar_open(&p, fd, &o, err, sizeof err);
    if (rc) {
        if (err_out) *err_out = errno;
        close(fd);
        return rc;
    }
    CHECK(flacpar_workers(p) == (workers ? workers : flacpar_workers(p)));
    for (size_t done = 0; rc == 0 && done < n;) {
        size_t m = n - done < step ? n - done : step;
        rc = flacpar_write(p, x + done * ch, m);
        done += m;
    }
    if (rc == 0) rc = flacpar_finish(p);
    if (rc && err_out) flacpar_error(p, err_out);
    flacpar_free(p);
    CHECK(close(fd) == 0);
    return rc;
}

/* Where a FLAC stream's first frame starts: after "fLaC" and the metadata
 * blocks (the last one flagged). */
static size_t first_frame_at(const unsigned char *d, size_t len)
{
    size_t at = 4;
    while (at + 4 <= len) {
        size_t blen = (size_t)d[at + 1] << 16 | (size_t)d[at + 2] << 8 | d[at + 3];
        int last = d[at] & 0x80;
        at += 4 + blen;
        if (last) return at;
    }
    return len + 1;
}

/* A plain libFLAC encoder at level 4, into path (its frames are the
 * reference for the frames; no tags). */
static void write_libflac(const char *path, const float *x, size_t n, uint32_t ch)
{
    FLAC__StreamEncoder *e = FLAC__stream_encoder_new();
    CHECK(e && FLAC__stream_encoder_set_channels(e, ch) && FLAC__stream_encoder_set_bits_per_sample(e, 16) &&
          FLAC__stream_encoder_set_sample_rate(e, RATE) &&
          FLAC__stream_encoder_set_compression_level(e, 4));
    CHECK(FLAC__stream_encoder_init_file(e, path, NULL, NULL) == FLAC__STREAM_ENCODER_INIT_STATUS_OK);
    FLAC__int32 buf[2 * 1000];
    for (size_t done = 0; done < n;) {
        size_t m = n - done < 1000 ? n - done : 1000;
        for (size_t i = 0; i < m * ch; i++) buf[i] = pcm16(x[done * ch + i]);
        CHECK(FLAC__stream_encoder_process_interleaved(e, buf, (uint32_t)m));
        done += m;
    }
    CHECK(FLAC__stream_encoder_finish(e));
    FLAC__stream_encoder_delete(e);
}

/* The samples of path read back with libsndfile equal x as 16-bit. */
static void check_decoded(const char *path, const float *x, size_t n, uint32_t ch)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    CHECKF(f != NULL, "%s: %s", path, sf_strerror(NULL));
    if (!f) return;
    CHECKF(info.frames == (sf_count_t)n || (n == 0 && info.frames == SF_COUNT_MAX),
           "%s: %lld frames, want %zu", path, (long long)info.frames, n);
    CHECK(info.channels == (int)ch && info.samplerate == (int)RATE);
    const char *t = sf_get_string(f, SF_STR_TITLE);
    CHECK(t && strcmp(t, TITLE) == 0);
    short *got = calloc(n * ch + 1, sizeof *got);
    CHECK(sf_readf_short(f, got, (sf_count_t)n) == (sf_count_t)n);
    size_t bad = 0;
    for (size_t i = 0; i < n * ch; i++) bad += got[i] != pcm16(x[i]);
    CHECKF(bad == 0, "%s: %zu samples differ", path, bad);
    free(got);
    sf_close(f);
}

static int have_flac_tool(void)
{
    return system("command -v flac >/dev/null 2>&1") == 0;
}

static void check_flac_tool(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "flac -t -s '%s'", path);
    CHECKF(system(cmd) == 0, "flac -t %s", path);
}

static int same_bytes(const char *a, const char *b, size_t from_a, size_t from_b)
{
    size_t la = 0, lb = 0;
    char *x = test_read_file(a, &la), *y = test_read_file(b, &lb);
    int same = x && y && la >= from_a && lb >= from_b && la - from_a == lb - from_b &&
               memcmp(x + from_a, y + from_b, la - from_a) == 0;
    if (!same && x && y) {
        size_t i = 0;
        while (from_a + i < la && from_b + i < lb && x[from_a + i] == y[from_b + i]) i++;
        fprintf(stderr, "%s (%zu bytes) and %s (%zu bytes) differ from byte %zu on\n", a, la, b, lb,
                from_a + i);
    }
    free(x);
    free(y);
    return same;
}

static size_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : (size_t)-1;
}

static size_t frames_at(const char *path)
{
    size_t len = 0;
    unsigned char *d = (unsigned char *)test_read_file(path, &len);
    size_t at = d ? first_frame_at(d, len) : 0;
    free(d);
    return at;
}

static void test_lengths(const char *dir, int flac_tool)
{
    static const size_t lengths[] = {0, 1, 1000, BLOCK - 1, BLOCK, BLOCK + 1, 12 * BLOCK, CHUNK,
                                     CHUNK + 1, 2 * CHUNK - 7, 3 * CHUNK + BLOCK, 1234567};
    char ref[4096], lib[4096], par[4096];
    for (uint32_t ch = 1; ch <= 2; ch++) {
        for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
            size_t n = lengths[k];
            float *x = programme(n, ch);
            snprintf(ref, sizeof ref, "%s/sndfile-%u-%u-%zu.flac", dir, RATE, ch, n);
            snprintf(lib, sizeof lib, "%s/libflac-%u-%u-%zu.flac", dir, RATE, ch, n);
            write_sndfile(ref, x, n, ch);
            write_libflac(lib, x, n, ch);
            for (unsigned workers = 1; workers <= 4; workers++) {
                snprintf(par, sizeof par, "%s/par%u-%u-%u-%zu.flac", dir, workers, RATE, ch, n);
                /* the export's 8192-frame blocks, and an odd size that
                 * cuts chunks and blocks anywhere */
                size_t step = workers == 3 ? 777 : 8192;
                int rc = write_par(par, x, n, ch, workers, step, NULL);
                CHECKF(rc == 0, "%s: %d", par, rc);
                /* no samples: libsndfile writes nothing at all (not a FLAC
                 * stream), flacpar the header (length unknown) */
                if (n)
                    CHECKF(same_bytes(par, ref, 0, 0), "%u workers, %u ch, %zu frames: not libsndfile's bytes",
                           workers, ch, n);
                else
                    CHECK(frames_at(par) > 42 && frames_at(par) == file_size(par) &&
                          file_size(ref) == 0);
                if (workers == 2) {
                    CHECKF(same_bytes(par, lib, frames_at(par), frames_at(lib)),
                           "%u ch, %zu frames: frames not a single libFLAC encoder's", ch, n);
                    check_decoded(par, x, n, ch);
                    if (flac_tool) check_flac_tool(par);
                }
                if (workers != 2) unlink(par);
            }
            printf("%u Hz, %u channel(s), %zu frames: same bytes with 1-4 workers\n", RATE, ch, n);
            free(x);
        }
    }
}

/* The default: one worker per core (run under `taskset -c 0` it is 1), at
 * most FLACPAR_MAX_WORKERS. */
static void test_auto_workers(const char *dir)
{
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/auto.flac", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    struct flacpar *p = NULL;
    const struct flacpar_opts o = {.rate_hz = RATE, .channels = 1};
    CHECK(flacpar_open(&p, fd, &o, err, sizeof err) == 0);
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    long cores = CPU_COUNT(&set);
    unsigned want = cores < 1 ? 1 : cores > FLACPAR_MAX_WORKERS ? FLACPAR_MAX_WORKERS : (unsigned)cores;
    CHECK(p && flacpar_workers(p) == want);
    printf("default workers: %u (%ld cores to run on)\n", p ? flacpar_workers(p) : 0, cores);
    /* freed half-way, without finish: the workers stop, nothing hangs */
    float *x = programme(5 * CHUNK, 1);
    CHECK(flacpar_write(p, x, 5 * CHUNK) == 0);
    flacpar_free(p);
    close(fd);
    free(x);
    CHECK(flacpar_open(&p, fd, &(struct flacpar_opts){.rate_hz = RATE, .channels = 3}, err,
                       sizeof err) == COACH_EINVAL);
    CHECK(flacpar_open(&p, fd, &(struct flacpar_opts){.rate_hz = RATE, .channels = 1, .workers = 9},
                       err, sizeof err) == COACH_EINVAL);
}

/* Full disk: the file size limit makes a write fail with EFBIG. */
static void test_write_error(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/full.flac", dir);
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    float *x = programme(20 * CHUNK, 2);
    static const rlim_t limits[] = {20, 100 * 1024}; /* in the header; after a few chunks */
    for (size_t k = 0; k < 2; k++) {
        for (unsigned workers = 1; workers <= 3; workers += 2) {
            struct rlimit lim = {limits[k], old.rlim_max};
            CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
            int e = 0;
            int rc = write_par(path, x, 20 * CHUNK, 2, workers, 8192, &e);
            CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
            CHECKF(rc == COACH_EIO && e == EFBIG, "limit %llu, %u workers: %d, errno %d",
                   (unsigned long long)limits[k], workers, rc, e);
        }
    }
    signal(SIGXFSZ, old_sig);
    unlink(path);
    free(x);
}

struct drain {
    int fd;
    unsigned char *d;
    size_t len, cap;
};

static void *drain(void *arg)
{
    struct drain *r = arg;
    for (;;) {
        if (r->len == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 1 << 16;
            r->d = realloc(r->d, r->cap);
        }
        ssize_t n = read(r->fd, r->d + r->len, r->cap - r->len);
        if (n <= 0) break;
        r->len += (size_t)n;
    }
    return NULL;
}

/* Into a pipe: written in order, STREAMINFO up front with the length and
 * no MD5 or frame sizes, the frames the same as in the file. */
static void test_stream(const char *dir, int flac_tool)
{
    const size_t n = 3 * CHUNK + 999;
    float *x = programme(n, 2);
    char file[4096], piped[4096];
    snprintf(file, sizeof file, "%s/stream-ref.flac", dir);
    snprintf(piped, sizeof piped, "%s/stream.flac", dir);
    CHECK(write_par(file, x, n, 2, 3, 8192, NULL) == 0);
    int fds[2];
    CHECK(pipe(fds) == 0);
    struct drain r = {.fd = fds[0]};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, drain, &r) == 0);
    struct flacpar *p = NULL;
    const struct flacpar_opts o = {.rate_hz = RATE, .channels = 2, .workers = 3, .title = TITLE,
                                   .artist = ARTIST, .comment = COMMENT, .stream = 1,
                                   .stream_frames = n};
    char err[256];
    CHECK(flacpar_open(&p, fds[1], &o, err, sizeof err) == 0);
    for (size_t done = 0; p && done < n; done += 8192)
        CHECK(flacpar_write(p, x + done * 2, n - done < 8192 ? n - done : 8192) == 0);
    CHECK(p && flacpar_finish(p) == 0);
    flacpar_free(p);
    close(fds[1]);
    pthread_join(t, NULL);
    close(fds[0]);
    FILE *f = fopen(piped, "wb");
    CHECK(f && fwrite(r.d, 1, r.len, f) == r.len);
    if (f) fclose(f);
    CHECK(same_bytes(piped, file, frames_at(piped), frames_at(file)));
    /* STREAMINFO (at 8): frame sizes 0, samples n, MD5 zeros */
    const unsigned char *si = r.d + 8;
    uint64_t samples = (uint64_t)(si[13] & 15) << 32 | (uint64_t)si[14] << 24 | si[15] << 16 |
                       si[16] << 8 | si[17];
    static const unsigned char zeros[16];
    CHECK(r.len > 42 && samples == n && memcmp(si + 4, zeros, 6) == 0 &&
          memcmp(si + 18, zeros, 16) == 0);
    check_decoded(piped, x, n, 2);
    if (flac_tool) check_flac_tool(piped);
    free(r.d);
    free(x);
}

/* The rounding of flacpar.c is lrintf's: ties to even, both signs,
 * the ends of the range (the whole range is checked by hand once:
 * every float in [-1.00002, 1.00002], 2.1e9 values, equal). */
static void test_rounding(const char *dir)
{
    static const float xs[] = {0.0f, -0.0f, 0.5f / 32767, 1.5f / 32767, 2.5f / 32767, -0.5f / 32767,
                               -1.5f / 32767, -2.5f / 32767, 0.49999997f / 32767, 1.0f, -1.0f,
                               1.0f / 32767 * 32766.5f, -32767.5f / 32767, 2.0f, -2.0f, 1e-30f};
    size_t n = sizeof xs / sizeof xs[0];
    char path[4096];
    snprintf(path, sizeof path, "%s/round.flac", dir);
    CHECK(write_par(path, xs, n, 1, 1, n, NULL) == 0);
    check_decoded(path, xs, n, 1);
}

int main(void)
{
    const char *dir = test_tmpdir("flacpar");
    int flac_tool = have_flac_tool();
    if (!flac_tool) printf("flac (the command) not installed: flac -t checks skipped\n");
    test_rounding(dir);
    test_lengths(dir, flac_tool);
    RATE = 44100;
    test_lengths(dir, flac_tool);
    RATE = 48000;
    test_auto_workers(dir);
    test_stream(dir, flac_tool);
    test_write_error(dir);
    return test_done();
}
