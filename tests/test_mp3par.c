/* The parallel MP3 writer (mp3par.h): a synthetic programme (tones with
 * vibrato, bursts of noise, clicks, silences) encoded with 1, 2 and 3
 * workers gives the same bytes; decoded (libsndfile trims by the LAME tag)
 * it has exactly the samples written, also at 44.1 kHz stereo, 22.05 kHz
 * (576-sample frames), for less than one frame and for nothing; and around
 * every join between segments it is as close to the input as libsndfile's
 * own serial encoding of the same samples is there (no click). A failed
 * write gives COACH_EIO and its errno. */
#define _POSIX_C_SOURCE 200809L

#include "coach/mp3par.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/pcm16.h"
#include "testutil.h"

static unsigned seg_frames; /* MP3 frames per segment (mp3par_geometry) */

static int encode_par(const char *path, const float *x, uint32_t rate, uint32_t ch, uint64_t n,
                      unsigned workers)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return COACH_EIO;
    struct mp3par *m = NULL;
    const struct mp3par_opts o = {.rate_hz = rate, .channels = ch, .len_frames = n, .workers = workers,
                                  .vbr_quality = 5.0, .title = "t", .artist = "a", .comment = "c"};
    int rc = mp3par_open(&m, fd, &o);
    if (rc == 0) mp3par_geometry(m, NULL, &seg_frames, NULL);
    /* in uneven pieces, as a renderer's blocks and a last short one */
    for (uint64_t a = 0; rc == 0 && a < n;) {
        size_t c = (size_t)(n - a < 5000 ? n - a : 5000);
        rc = mp3par_write(m, x + a * ch, c);
        a += c;
    }
    if (rc == 0) rc = mp3par_finish(m);
    mp3par_free(m);
    close(fd);
    return rc;
}

/* libsndfile's serial writer at export.c's level: the reference, fed the
 * same 16-bit PCM as mp3par's segments hold (pcm16.h), as the floats LAME
 * scales back to those integers (x / 32768: its float input is taken
 * times 32768); libsndfile's own 16-bit stereo path gave LAME other
 * samples (an SNR of -2 dB against the input). */
static int encode_serial(const char *path, const float *x, uint32_t rate, uint32_t ch, uint64_t n)
{
    int16_t *x16 = malloc(n * ch * sizeof *x16 + 1);
    float *xq = malloc(n * ch * sizeof *xq + 1);
    if (!x16 || !xq) {
        free(x16);
        free(xq);
        return -1;
    }
    pcm16_from_float_clipped(x, x16, n * ch); /* what segpar does */
    for (uint64_t i = 0; i < n * ch; i++) xq[i] = (float)x16[i] / 32768.0f;
    free(x16);
    SF_INFO info = {.samplerate = (int)rate, .channels = (int)ch,
                    .format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return -1;
    double level = 0.5;
    sf_command(f, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level);
    sf_count_t w = sf_writef_float(f, xq, (sf_count_t)n);
    free(xq);
    return sf_close(f) == 0 && w == (sf_count_t)n ? 0 : -1;
}

static void one_case(const char *dir, uint32_t rate, uint32_t ch, uint64_t n, int measure)
{
    char ps[512];
    snprintf(ps, sizeof ps, "%s/serial-%u-%u-%llu.mp3", dir, rate, ch, (unsigned long long)n);
    float *x = test_programme(rate, ch, n);
    float *y = test_par_encodes(dir, "mp3", encode_par, x, rate, ch, n);
    if (measure && y) {
        float *s = NULL;
        CHECK(encode_serial(ps, x, rate, ch, n) == 0);
        int64_t sgot = test_decode(ps, &s);
        CHECK(sgot == (int64_t)n);
        /* joins: sample s*K*spf - delay of the input (mp3par.c) */
        const int64_t spf = rate >= 32000 ? 1152 : 576, period = (int64_t)seg_frames * spf,
                      delay = 576;
        struct test_err pj = test_window_err(x, y, ch, n, period - delay, period, spf);
        struct test_err sj = test_window_err(x, s, ch, n, period - delay, period, spf);
        struct test_err pc = test_window_err(x, y, ch, n, period / 2 - delay, period, spf);
        struct test_err dj = test_window_err(s, y, ch, n, period - delay, period, spf);
        printf("%u Hz %u ch: at joins parallel SNR %.1f dB max %.1f dBFS, serial %.1f dB max %.1f dBFS;"
               " between joins parallel %.1f dB; parallel - serial at joins %.1f dB max %.1f dBFS\n",
               rate, ch, test_db(pj.s2) - test_db(pj.e2), 2 * test_db(pj.max), test_db(sj.s2) - test_db(sj.e2), 2 * test_db(sj.max),
               test_db(pc.s2) - test_db(pc.e2), test_db(dj.s2) - test_db(dj.e2), 2 * test_db(dj.max));
        /* no worse at the joins than one encoder for the whole file */
        CHECKF(pj.e2 <= 1.25 * sj.e2 + 1e-9 && pj.max <= 1.25 * sj.max + 1e-4,
               "joins: error %.3g (serial %.3g), max %.3g (serial %.3g)", pj.e2, sj.e2, pj.max, sj.max);
        /* and as close to the serial file there as that file is to the
         * input, 35 dB below (a lead-in of 1 frame, or no tail: ~20 dB) */
        CHECKF(test_db(dj.s2) - test_db(dj.e2) >= 35, "joins: parallel - serial only %.1f dB down",
               test_db(dj.s2) - test_db(dj.e2));
        free(s);
    }
    free(y);
    free(x);
}

int main(void)
{
    const char *dir = test_tmpdir("mp3par");
    one_case(dir, 48000, 1, 20 * 48000 + 777, 1); /* 9 joins, the export's rate */
    one_case(dir, 44100, 2, 6 * 44100, 1);
    one_case(dir, 22050, 1, 6 * 22050 + 5, 1);     /* MPEG-2: 576 samples a frame */
    one_case(dir, 48000, 1, 500, 0);               /* less than one frame */
    one_case(dir, 48000, 2, 0, 0);                 /* nothing */

    /* more frames than promised, and fewer: refused */
    char path[512];
    snprintf(path, sizeof path, "%s/count.mp3", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct mp3par *m = NULL;
    const struct mp3par_opts o = {.rate_hz = 48000, .channels = 1, .len_frames = 100, .vbr_quality = 5};
    float z[200] = {0};
    CHECK(mp3par_open(&m, fd, &o) == 0);
    CHECK(mp3par_write(m, z, 200) == COACH_EINVAL);
    mp3par_free(m);
    CHECK(mp3par_open(&m, fd, &o) == 0);
    CHECK(mp3par_write(m, z, 50) == 0 && mp3par_finish(m) == COACH_EINVAL);
    mp3par_free(m);
    close(fd);
    /* a write that fails (a read-only descriptor): COACH_EIO with errno */
    fd = open(path, O_RDONLY);
    errno = 0;
    int rc = mp3par_open(&m, fd, &o);
    CHECKF(rc == COACH_EIO && errno == EBADF && m == NULL, "%d %s", rc, strerror(errno));
    close(fd);
    /* a rate MP3 has not */
    const struct mp3par_opts bad = {.rate_hz = 96000, .channels = 1, .vbr_quality = 5};
    CHECK(mp3par_open(&m, -1, &bad) == COACH_EFORMAT);
    return test_done();
}
