/* The parallel Ogg Opus writer (opuspar.h): a synthetic programme (tones
 * with vibrato, bursts of noise, clicks, silences) encoded with 1, 2 and 3
 * workers gives the same bytes; decoded (libsndfile trims the pre-skip and
 * the end by the granule positions) it has exactly the samples written,
 * also in stereo, at 16 kHz, for less than one packet and for nothing;
 * written in order into a pipe it is the same bytes; around every join
 * between segments it is as close to the input as
 * libsndfile's own serial encoding of the same samples is there (no
 * click). A failed write gives
 * COACH_EIO and its errno; a rate Opus has not, COACH_EFORMAT. */
#define _POSIX_C_SOURCE 200809L

#include "coach/opuspar.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coach/common.h"
#include "testutil.h"

/* export.c's bitrate at its compression level 0.8 */
static int bitrate(uint32_t ch) { return (int)(((1.0 - 0.8) * (250000.0)) + 6000.0) * (int)ch; }

static unsigned geometry[4]; /* of the last file written (opuspar_geometry) */

static int encode_par(const char *path, const float *x, uint32_t rate, uint32_t ch, uint64_t n,
                      unsigned workers)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return COACH_EIO;
    struct opuspar *p = NULL;
    const struct opuspar_opts o = {.rate_hz = rate, .channels = ch, .len_frames = n, .workers = workers,
                                   .bitrate_bps = bitrate(ch), .serial = 0x636f6163,
                                   .title = "t", .artist = "a", .comment = "c"};
    int rc = opuspar_open(&p, fd, &o);
    if (rc == 0) opuspar_geometry(p, &geometry[0], &geometry[1], &geometry[2], &geometry[3]);
    /* in uneven pieces, as a renderer's blocks and a last short one */
    for (uint64_t a = 0; rc == 0 && a < n;) {
        size_t c = (size_t)(n - a < 5000 ? n - a : 5000);
        rc = opuspar_write(p, x + a * ch, c);
        a += c;
    }
    if (rc == 0) rc = opuspar_finish(p);
    opuspar_free(p);
    close(fd);
    return rc;
}

/* libsndfile's serial writer at export.c's level: the reference. */
static int encode_serial(const char *path, const float *x, uint32_t rate, uint32_t ch, uint64_t n)
{
    SF_INFO info = {.samplerate = (int)rate, .channels = (int)ch, .format = SF_FORMAT_OGG | SF_FORMAT_OPUS};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return -1;
    double level = 0.8;
    sf_command(f, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level);
    sf_count_t w = sf_writef_float(f, x, (sf_count_t)n);
    return sf_close(f) == 0 && w == (sf_count_t)n ? 0 : -1;
}

static void one_case(const char *dir, uint32_t rate, uint32_t ch, uint64_t n, int measure)
{
    char ps[512];
    snprintf(ps, sizeof ps, "%s/serial-%u-%u-%llu.opus", dir, rate, ch, (unsigned long long)n);
    float *x = test_programme(rate, ch, n);
    float *y = test_par_encodes(dir, "opus", encode_par, x, rate, ch, n);
    const unsigned *g = geometry;
    if (measure && y) {
        float *s = NULL;
        CHECK(encode_serial(ps, x, rate, ch, n) == 0);
        int64_t sgot = test_decode(ps, &s);
        CHECK(sgot == (int64_t)n);
        /* joins: decoded sample s*K*P - pre-skip (opuspar.h), a packet either side */
        const int64_t P = g[0], period = (int64_t)g[1] * P, delay = g[3] / (48000 / rate);
        struct test_err pj = test_window_err(x, y, ch, n, period - delay, period, P);
        struct test_err sj = test_window_err(x, s, ch, n, period - delay, period, P);
        struct test_err pc = test_window_err(x, y, ch, n, period / 2 - delay, period, P);
        struct test_err sc = test_window_err(x, s, ch, n, period / 2 - delay, period, P);
        printf("%u Hz %u ch: at joins parallel SNR %.1f dB max %.1f dBFS, serial %.1f dB max %.1f dBFS;"
               " between joins parallel %.1f dB, serial %.1f dB\n",
               rate, ch, test_db(pj.s2) - test_db(pj.e2), 2 * test_db(pj.max), test_db(sj.s2) - test_db(sj.e2),
               2 * test_db(sj.max), test_db(pc.s2) - test_db(pc.e2), test_db(sc.s2) - test_db(sc.e2));
        /* at the joins no worse than one encoder for the whole file is
         * there (within 1 dB; the error between joins depends on what the
         * programme has there, for either file) */
        CHECKF(pj.e2 <= 1.26 * sj.e2 + 1e-9, "joins: error %.3g, serial there %.3g", pj.e2, sj.e2);
        CHECKF(pj.max <= 1.26 * sj.max + 1e-4, "joins: max %.3g, serial there %.3g", pj.max, sj.max);
        free(s);
    }
    free(y);
    free(x);
}

int main(void)
{
    const char *dir = test_tmpdir("opuspar");
    one_case(dir, 48000, 1, 20 * 48000 + 777, 1); /* 20 joins, the export's rate */
    one_case(dir, 48000, 2, 6 * 48000, 1);        /* a whole number of segments */
    one_case(dir, 16000, 1, 6 * 16000 + 5, 1);
    one_case(dir, 48000, 1, 500, 0);              /* less than one packet */
    one_case(dir, 48000, 2, 0, 0);                /* nothing */

    /* more frames than promised, and fewer: refused */
    char path[512];
    snprintf(path, sizeof path, "%s/count.opus", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct opuspar *p = NULL;
    const struct opuspar_opts o = {.rate_hz = 48000, .channels = 1, .len_frames = 100, .bitrate_bps = 56000};
    float z[200] = {0};
    CHECK(opuspar_open(&p, fd, &o) == 0);
    CHECK(opuspar_write(p, z, 200) == COACH_EINVAL);
    opuspar_free(p);
    CHECK(opuspar_open(&p, fd, &o) == 0);
    CHECK(opuspar_write(p, z, 50) == 0 && opuspar_finish(p) == COACH_EINVAL);
    opuspar_free(p);
    close(fd);
    /* a write that fails (a read-only descriptor): COACH_EIO with errno */
    fd = open(path, O_RDONLY);
    errno = 0;
    int rc = opuspar_open(&p, fd, &o);
    CHECKF(rc == COACH_EIO && errno == EBADF && p == NULL, "%d %s", rc, strerror(errno));
    close(fd);
    /* written in order (a pipe's way, here into a file): the same bytes */
    {
        const uint64_t n = 3 * 48000 + 123;
        float *x = test_programme(48000, 1, n);
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/seek.opus", dir);
        snprintf(b, sizeof b, "%s/stream.opus", dir);
        CHECK(encode_par(a, x, 48000, 1, n, 2) == 0);
        int sfd = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const struct opuspar_opts so = {.rate_hz = 48000, .channels = 1, .len_frames = n, .workers = 2,
                                        .bitrate_bps = bitrate(1), .serial = 0x636f6163, .stream = true,
                                        .title = "t", .artist = "a", .comment = "c"};
        rc = opuspar_open(&p, sfd, &so);
        if (rc == 0) rc = opuspar_write(p, x, (size_t)n);
        if (rc == 0) rc = opuspar_finish(p);
        CHECK(rc == 0);
        opuspar_free(p);
        close(sfd);
        size_t la = 0, lb = 0;
        char *ba = test_read_file(a, &la), *bb = test_read_file(b, &lb);
        CHECKF(ba && bb && la == lb && !memcmp(ba, bb, la), "streamed: %zu bytes, the file %zu", lb, la);
        free(ba);
        free(bb);
        free(x);
    }
    /* a rate Opus has not */
    const struct opuspar_opts bad = {.rate_hz = 44100, .channels = 1, .bitrate_bps = 56000};
    CHECK(opuspar_open(&p, -1, &bad) == COACH_EFORMAT);
    return test_done();
}
