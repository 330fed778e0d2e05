/* Lossless FLAC-in-memory storage of int16 PCM: every kind of signal comes
 * back exactly (empty, one sample, short, long, silence, full-scale
 * extremes, square waves, white noise, every length around FLAC's block
 * size) at 16000 and 22050 Hz (espeak-ng's MBROLA and own voices); damaged
 * or truncated streams are refused without reading past their end (each
 * decode reads an exactly sized copy, so ASan sees any overrun); and real
 * speech is stored in a fraction of its raw size. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/pcmstore.h"
#include "coach/speech.h"
#include "testutil.h"

static void test_same_frames(const char *what, const int16_t *x, size_t n, uint32_t rate_hz);

static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng;
}

/* Decodes a copy of in[0, bytes) made exactly that long, into an output
 * exactly n samples long (ASan catches a read or write past either), and
 * copies what was decoded to out (n samples; NULL: only the result). */
static int decode_exact(const uint8_t *in, size_t bytes, int16_t *out, size_t n)
{
    uint8_t *copy = malloc(bytes ? bytes : 1);
    int16_t *y = malloc((n ? n : 1) * sizeof *y);
    if (!copy || !y) {
        free(copy);
        free(y);
        return COACH_ENOMEM;
    }
    if (bytes) memcpy(copy, in, bytes);
    int rc = pcmstore_decode(copy, bytes, y, n);
    if (!rc && out && n) memcpy(out, y, n * sizeof *y);
    free(copy);
    free(y);
    return rc;
}

/* Index of the first sample where x and y differ, n if none. */
static size_t first_diff(const int16_t *x, const int16_t *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return i;
    return n;
}

/* Encodes and decodes x; returns the stored size (0 on failure, reported).
 * The stream must also be refused when one byte short, and when asked for
 * one sample more or less than it holds. */
static size_t round_trip(const char *what, const int16_t *x, size_t n, uint32_t rate_hz)
{
    uint8_t *p = NULL;
    size_t bytes = 0;
    int rc = pcmstore_encode(x, n, rate_hz, &p, &bytes);
    CHECKF(rc == 0 && p && bytes > 0, "%s at %u Hz: encode failed %d", what, rate_hz, rc);
    if (rc || !p) return 0;
    int16_t *y = malloc(n * sizeof *y);
    rc = decode_exact(p, bytes, y, n);
    CHECKF(rc == 0, "%s at %u Hz: decode failed %d", what, rate_hz, rc);
    size_t bad = rc ? n : first_diff(x, y, n);
    CHECKF(bad == n, "%s at %u Hz: sample %zu is %d, was %d", what, rate_hz, bad, y[bad], x[bad]);
    CHECKF(decode_exact(p, bytes - 1, NULL, n) == COACH_EINVAL, "%s: decoded one byte short", what);
    CHECKF(decode_exact(p, bytes, NULL, n + 1) == COACH_EINVAL, "%s: gave a sample more", what);
    if (n > 1)
        CHECKF(decode_exact(p, bytes, NULL, n - 1) == COACH_EINVAL, "%s: gave a sample less", what);
    free(y);
    free(p);
    return bytes;
}

static void test_signals(uint32_t rate_hz)
{
    enum { N = 10 * 22050 }; /* ten seconds: long, many frames */
    static int16_t x[N];

    /* empty: no buffer at all, and nothing to read */
    uint8_t *p = (uint8_t *)1;
    size_t bytes = 7;
    CHECK(pcmstore_encode(x, 0, rate_hz, &p, &bytes) == 0 && p == NULL && bytes == 0);
    CHECK(pcmstore_decode(NULL, 0, x, 0) == 0);

    /* one sample, of every kind of value */
    static const int16_t ones[] = {0, 1, -1, INT16_MAX, INT16_MIN, -32767};
    for (size_t k = 0; k < sizeof ones / sizeof ones[0]; k++) {
        char what[32];
        snprintf(what, sizeof what, "one sample %d", ones[k]);
        round_trip(what, &ones[k], 1, rate_hz);
    }

    memset(x, 0, sizeof x);
    size_t silent = round_trip("silence", x, N, rate_hz);
    CHECKF(silent > 0 && silent < N / 20, "silence takes %zu bytes", silent);

    for (size_t i = 0; i < N; i++)
        x[i] = (int16_t)(next_rand() >> 16);
    size_t noise = round_trip("full-scale white noise", x, N, rate_hz);
    /* FLAC falls back to verbatim frames: little more than raw */
    CHECKF(noise > 0 && noise < N * 2 * 11 / 10, "noise grows to %zu bytes", noise);
    test_same_frames("full-scale white noise", x, N, rate_hz);

    /* the extremes: largest residuals every fixed predictor can meet */
    for (size_t i = 0; i < N; i++)
        x[i] = i % 2 ? INT16_MAX : INT16_MIN;
    round_trip("alternating -32768/32767", x, N, rate_hz);
    for (size_t i = 0; i < N; i++)
        x[i] = i % 2 ? INT16_MAX : -INT16_MAX;
    round_trip("alternating -32767/32767", x, N, rate_hz);
    static const size_t periods[] = {2, 3, 4, 7, 100, 1152, 4096};
    for (size_t k = 0; k < sizeof periods / sizeof periods[0]; k++) {
        char what[64];
        for (size_t i = 0; i < N; i++)
            x[i] = i % periods[k] < periods[k] / 2 ? INT16_MAX : INT16_MIN;
        snprintf(what, sizeof what, "full-scale square wave, period %zu", periods[k]);
        round_trip(what, x, N, rate_hz);
    }

    for (size_t i = 0; i < N; i++)
        x[i] = (int16_t)lrint(20000.0 * sin(2 * 3.14159265358979 * 440.0 * (double)i / rate_hz));
    size_t sine = round_trip("sine", x, N, rate_hz);
    CHECKF(sine > 0 && sine < N, "a sine takes %zu bytes of %d", sine, N * 2);

    /* loud bursts inside silence: each frame codes differently */
    for (size_t i = 0; i < N; i++)
        x[i] = (i / 700) % 2 ? (int16_t)(next_rand() >> 16) : 0;
    round_trip("bursts", x, N, rate_hz);
    test_same_frames("bursts", x, N, rate_hz);
    test_same_frames("bursts, one block and one sample", x, 1153, rate_hz);

    /* short signals and every length around FLAC's block sizes (1152 at
     * level 0, 4096 at the others) */
    static const size_t lens[] = {2,    3,    15,   16,   17,   100,  1151, 1152,
                                  1153, 2304, 2305, 4095, 4096, 4097, 8193};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        char what[32];
        for (size_t i = 0; i < lens[k]; i++)
            x[i] = (int16_t)(next_rand() >> 20);
        snprintf(what, sizeof what, "length %zu", lens[k]);
        round_trip(what, x, lens[k], rate_hz);
    }
}

static void test_arguments(void)
{
    int16_t x[4] = {1, 2, 3, 4};
    uint8_t *p = (uint8_t *)1;
    size_t bytes = 7;
    CHECK(pcmstore_encode(x, 4, 0, &p, &bytes) == COACH_EINVAL && p == NULL && bytes == 0);
    CHECK(pcmstore_encode(x, 4, 655351, &p, &bytes) == COACH_EINVAL && p == NULL);
    CHECK(pcmstore_encode(x, 4, 655350, &p, &bytes) == 0 && p);
    free(p);
    CHECK(pcmstore_encode(x, 4, 1, &p, &bytes) == 0 && p);
    int16_t y[4];
    CHECK(decode_exact(p, bytes, y, 4) == 0 && memcmp(x, y, sizeof x) == 0);
    free(p);
    /* nothing, or not FLAC */
    CHECK(pcmstore_decode(NULL, 0, y, 4) == COACH_EINVAL);
    CHECK(decode_exact((const uint8_t *)"fLa", 3, y, 4) == COACH_EINVAL);
    CHECK(decode_exact((const uint8_t *)"fLaC", 4, y, 4) == COACH_EINVAL);
    static const uint8_t wav[] = "RIFF\x24\0\0\0WAVEfmt ";
    CHECK(decode_exact(wav, sizeof wav - 1, y, 4) == COACH_EINVAL);
}

/* Where the metadata blocks end and the first audio frame starts: after
 * "fLaC", blocks of a 4-byte header (last-block flag, type, 24-bit length)
 * and their data (STREAMINFO, and the VORBIS_COMMENT with libFLAC's vendor
 * string that the encoder always adds). */
static size_t metadata_end(const uint8_t *p, size_t bytes)
{
    size_t at = 4;
    while (at + 4 <= bytes) {
        int last = p[at] & 0x80;
        at += 4 + ((size_t)p[at + 1] << 16 | (size_t)p[at + 2] << 8 | p[at + 3]);
        if (last) break;
    }
    return at;
}

/* Every truncation, every byte changed, and random garbage after the mark:
 * refused, or (for damage to metadata that decoding does not use:
 * STREAMINFO's rate, frame sizes and MD5, the vendor string) exactly the
 * samples encoded. Never other samples. */
static void test_damaged(uint32_t rate_hz)
{
    enum { N = 3000 }; /* three frames at level 0 */
    static int16_t x[N], y[N];
    for (size_t i = 0; i < N; i++)
        x[i] = (int16_t)lrint(8000.0 * sin((double)i / 9.0) + (double)(int32_t)(next_rand() >> 22) -
                              512);
    uint8_t *p = NULL;
    size_t bytes = 0;
    if (pcmstore_encode(x, N, rate_hz, &p, &bytes) != 0 || !p) {
        CHECK(!"pcmstore_encode");
        return;
    }
    for (size_t len = 0; len < bytes; len++) {
        int rc = decode_exact(p, len, y, N);
        CHECKF(rc == COACH_EINVAL, "cut to %zu of %zu bytes: %d", len, bytes, rc);
    }

    size_t meta = metadata_end(p, bytes);
    CHECKF(meta > 42 && meta < 200 && p[meta] == 0xFF && (p[meta + 1] & 0xFE) == 0xF8,
           "audio starts at byte %zu", meta);
    uint8_t *d = malloc(bytes);
    size_t accepted = 0, wrong = 0;
    for (size_t i = 0; i < bytes; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(d, p, bytes);
            d[i] ^= (uint8_t)(1u << ((bit + i) % 8));
            memset(y, 0x55, sizeof y);
            int rc = decode_exact(d, bytes, y, N);
            CHECKF(rc == 0 || rc == COACH_EINVAL, "byte %zu: %d", i, rc);
            if (rc == 0) {
                accepted++;
                CHECKF(i < meta, "byte %zu of %zu changed (audio from %zu), accepted", i, bytes,
                       meta);
                if (first_diff(x, y, N) != N) wrong++;
            }
        }
    }
    CHECKF(wrong == 0, "%zu damaged streams gave other samples", wrong);
    printf("damage at %u Hz: %zu bytes (%zu of metadata), %zu of %zu changed streams decode "
           "(metadata not used)\n",
           rate_hz, bytes, meta, accepted, bytes * 3);

    for (int t = 0; t < 300; t++) {
        memcpy(d, p, bytes);
        size_t from = 4 + next_rand() % (bytes - 4);
        for (size_t i = from; i < bytes; i++)
            d[i] = (uint8_t)(next_rand() >> 24);
        int rc = decode_exact(d, bytes, y, N);
        CHECKF(rc == COACH_EINVAL || (rc == 0 && first_diff(x, y, N) == N),
               "garbage from byte %zu: %d", from, rc);
    }
    free(d);
    free(p);
}

/* The frames libsndfile's FLAC writer makes at level 0 (what pcmstore
 * wrote before it used libFLAC itself, and what a phrase cache may still
 * hold), byte for byte; only STREAMINFO's MD5 differs: zero, "not
 * computed". n samples of x at rate_hz. */
static void test_same_frames(const char *what, const int16_t *x, size_t n, uint32_t rate_hz)
{
    uint8_t *p = NULL;
    size_t bytes = 0;
    if (pcmstore_encode(x, n, rate_hz, &p, &bytes) != 0 || !p) {
        CHECKF(0, "%s: pcmstore_encode", what);
        return;
    }
    char path[] = "/tmp/coach-pcmstore-XXXXXX";
    int fd = mkstemp(path);
    SF_INFO info = {.samplerate = (int)rate_hz, .channels = 1,
                    .format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16};
    SNDFILE *f = fd >= 0 ? sf_open_fd(fd, SFM_WRITE, &info, 1) : NULL;
    double level = 0.0;
    CHECK(f && sf_command(f, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level));
    CHECK(f && sf_write_short(f, x, (sf_count_t)n) == (sf_count_t)n);
    if (f) sf_close(f);
    FILE *in = fopen(path, "rb");
    uint8_t *ref = malloc(bytes + 64);
    size_t got = in && ref ? fread(ref, 1, bytes + 64, in) : 0;
    if (in) fclose(in);
    unlink(path);
    /* "fLaC", STREAMINFO's 4-byte header, then its 34 bytes: the MD5 is
     * the last 16 */
    const size_t md5_at = 4 + 4 + 18, md5_len = 16;
    CHECKF(got == bytes, "%s: %zu bytes, libsndfile %zu", what, bytes, got);
    if (got == bytes && bytes > md5_at + md5_len) {
        static const uint8_t zero[16];
        CHECKF(memcmp(p, ref, md5_at) == 0, "%s: STREAMINFO as libsndfile's", what);
        CHECKF(memcmp(p + md5_at, zero, md5_len) == 0, "%s: MD5 not computed (zero)", what);
        CHECKF(memcmp(ref + md5_at, zero, md5_len) != 0, "%s: libsndfile's MD5 is set", what);
        CHECKF(memcmp(p + md5_at + md5_len, ref + md5_at + md5_len, bytes - md5_at - md5_len) == 0,
               "%s: the frames are libsndfile's", what);
    }
    free(ref);
    free(p);
}

static void test_speech_ratio(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {
        .espeak_voice = "en-us", .rate_wpm = 160, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &set) != 0) {
        printf("espeak-ng cannot start: real speech not tested\n");
        return;
    }
    static const char *texts[] = {
        "Knee to chest. Lie on your back with both knees bent and your feet flat on the floor.",
        "Hold for 20 seconds", "Seven", "Exercise 3 of 9: Cat-cow. Breathe in as you arch.",
        "Rest for 20 seconds. Next: Bridge."};
    size_t raw = 0, stored = 0;
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        int16_t *pcm;
        size_t n;
        if (speech_synth(sp, texts[k], &pcm, &n) != 0 || n == 0) {
            CHECK(!"speech_synth");
            continue;
        }
        raw += n * sizeof *pcm;
        stored += round_trip(texts[k], pcm, n, speech_rate_hz(sp));
        test_same_frames(texts[k], pcm, n, speech_rate_hz(sp));
        free(pcm);
    }
    double share = raw ? (double)stored / (double)raw : 1;
    printf("speech: %zu bytes raw, %zu as FLAC (%.1f%%)\n", raw, stored, 100 * share);
    /* 56 % measured on lower-back-relief's 143 phrases */
    CHECKF(share < 0.62, "speech is stored in %.1f%% of its raw size", 100 * share);
    speech_close(sp);
}

int main(void)
{
    test_arguments();
    test_signals(16000);
    test_signals(22050);
    test_damaged(16000);
    test_damaged(22050);
    test_speech_ratio();
    return test_done();
}
