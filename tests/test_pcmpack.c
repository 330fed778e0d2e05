/* Lossless packing of int16 PCM: every kind of signal comes back exactly
 * (speech, silence, full-scale noise, the extremes that need escapes, every
 * block boundary), speech packs to about half, and damaged data is refused
 * without reading past its end. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/pcmpack.h"
#include "coach/speech.h"
#include "testutil.h"

static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng;
}

/* Packs and unpacks x; returns the packed size (0 on failure, reported). */
static size_t round_trip(const char *what, const int16_t *x, size_t n)
{
    uint8_t *p = NULL;
    size_t bytes = 0;
    int rc = pcmpack_pack(x, n, &p, &bytes);
    CHECKF(rc == 0, "%s: pack failed %d", what, rc);
    if (rc) return 0;
    int16_t *y = malloc((n ? n : 1) * sizeof *y);
    rc = pcmpack_unpack(p, bytes, y, n);
    CHECKF(rc == 0, "%s: unpack failed %d", what, rc);
    size_t bad = n;
    for (size_t i = 0; !rc && i < n; i++)
        if (x[i] != y[i]) {
            bad = i;
            break;
        }
    CHECKF(rc || bad == n, "%s: sample %zu is %d, was %d", what, bad, y[bad], x[bad]);
    if (n) {
        /* the last byte holds data (padding is under 8 bits): one byte
         * less cannot give every sample */
        CHECKF(pcmpack_unpack(p, bytes - 1, y, n) == COACH_EINVAL,
               "%s: unpacked from a truncated buffer", what);
    }
    free(y);
    free(p);
    return bytes;
}

static void test_signals(void)
{
    enum { N = 5000 };
    static int16_t x[N];
    uint8_t *p = (uint8_t *)1;
    size_t bytes = 7;
    CHECK(pcmpack_pack(x, 0, &p, &bytes) == 0 && p == NULL && bytes == 0);
    CHECK(pcmpack_unpack(NULL, 0, x, 0) == 0);

    memset(x, 0, sizeof x);
    size_t silent = round_trip("silence", x, N);
    CHECKF(silent > 0 && silent < N / 6, "silence packs to %zu bytes", silent);

    for (size_t i = 0; i < N; i++) x[i] = (int16_t)(next_rand() >> 16);
    size_t noise = round_trip("full-scale noise", x, N);
    CHECKF(noise > 0 && noise < N * 2 * 13 / 10, "noise grows to %zu bytes", noise);

    for (size_t i = 0; i < N; i++) x[i] = (i / 2) % 2 ? INT16_MAX : INT16_MIN; /* largest residuals */
    round_trip("extremes", x, N);
    for (size_t i = 0; i < N; i++) x[i] = i % 2 ? INT16_MAX : INT16_MIN;
    round_trip("alternating extremes", x, N);

    for (size_t i = 0; i < N; i++) x[i] = (int16_t)lrint(20000.0 * sin(2 * 3.14159265358979 * 440.0 * (double)i / 22050.0));
    size_t sine = round_trip("sine", x, N);
    CHECKF(sine > 0 && sine < N, "a sine packs to %zu bytes of %d", sine, N * 2);

    /* loud bursts inside silence: k changes from block to block */
    for (size_t i = 0; i < N; i++) x[i] = (i / 700) % 2 ? (int16_t)(next_rand() >> 16) : 0;
    round_trip("bursts", x, N);

    /* every length around the block size */
    static const size_t lens[] = {1, 2, 3, 1023, 1024, 1025, 2047, 2048, 2049};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        char what[32];
        for (size_t i = 0; i < lens[k]; i++) x[i] = (int16_t)(next_rand() >> 20);
        snprintf(what, sizeof what, "length %zu", lens[k]);
        round_trip(what, x, lens[k]);
    }
}

static void test_damaged(void)
{
    enum { N = 3000 };
    static int16_t x[N], y[N];
    for (size_t i = 0; i < N; i++) x[i] = (int16_t)(next_rand() >> 18);
    uint8_t *p;
    size_t bytes;
    CHECK(pcmpack_pack(x, N, &p, &bytes) == 0);
    CHECK(pcmpack_unpack(p, bytes / 2, y, N) == COACH_EINVAL); /* short */
    CHECK(pcmpack_unpack(p, 0, y, N) == COACH_EINVAL);
    /* garbage: all ones is an endless run of escapes and k = 31 */
    memset(p, 0xFF, bytes);
    CHECK(pcmpack_unpack(p, bytes, y, N) == COACH_EINVAL);
    /* random damage never reads past the end (ASan would see it) and either
     * fails or gives samples */
    for (int t = 0; t < 200; t++) {
        for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)(next_rand() >> 24);
        int rc = pcmpack_unpack(p, bytes, y, N);
        CHECK(rc == 0 || rc == COACH_EINVAL);
    }
    free(p);
}

static void test_speech_ratio(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {.espeak_voice = "en-us", .rate_wpm = 160, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &set) != 0) {
        CHECK(!"speech_open");
        return;
    }
    static const char *texts[] = {
        "Knee to chest. Lie on your back with both knees bent and your feet flat on the floor.",
        "Hold for 20 seconds", "Seven", "Exercise 3 of 9: Cat-cow. Breathe in as you arch."};
    size_t raw = 0, packed = 0;
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        int16_t *pcm;
        size_t n;
        if (speech_synth(sp, texts[k], &pcm, &n) != 0) {
            CHECK(!"speech_synth");
            continue;
        }
        raw += n * 2;
        packed += round_trip(texts[k], pcm, n);
        free(pcm);
    }
    double ratio = raw ? (double)packed / (double)raw : 1;
    printf("speech: %zu bytes raw, %zu packed (%.1f%%)\n", raw, packed, 100 * ratio);
    CHECKF(ratio < 0.6, "speech packs to %.1f%% only", 100 * ratio);
    speech_close(sp);
}

int main(void)
{
    test_signals();
    test_damaged();
    test_speech_ratio();
    return test_done();
}
