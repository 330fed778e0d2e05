/* Tests for speech (espeak-ng synthesis and trimming), resample (exact
 * lengths, frequency and level kept) and the clip store (interning,
 * normalization, release). espeak-ng output is not bit-identical between
 * runs, so speech is checked by length and energy, never by bytes. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coach/clips.h"
#include "coach/loudness.h"
#include "coach/common.h"
#include "coach/interrupt.h"
#include "coach/plan.h"
#include "coach/resample.h"
#include "coach/routine.h"
#include "coach/speech.h"
#include "coach/voice.h"
#include "testutil.h"

#define TRIM_THRESHOLD 104 /* -50 dBFS in int16, as in speech.c */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double rms_i16(const int16_t *p, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)p[i] * p[i];
    return n ? sqrt(s / n) : 0;
}

static int max_abs_i16(const int16_t *p, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++)
        m = abs(p[i]) > m ? abs(p[i]) : m;
    return m;
}

/* Checks a synthesized clip: plausible length, energy, trimmed both ends. */
static void check_clip(const char *what, const int16_t *pcm, size_t n, uint32_t rate)
{
    CHECKF(n >= rate / 2 && n <= 4 * (size_t)rate, "%s: %zu frames", what, n);
    if (n < rate / 10) return;
    double rms = rms_i16(pcm, n);
    CHECKF(rms > 1000.0, "%s: rms %.0f", what, rms); /* about -30 dBFS */
    /* Onset within the first 3 ms (2 ms pre-roll is kept), no long silence. */
    size_t ms3 = rate * 3 / 1000, ms12 = rate * 12 / 1000;
    CHECKF(max_abs_i16(pcm, ms3) >= TRIM_THRESHOLD, "%s: quiet start", what);
    CHECKF(max_abs_i16(pcm + n - ms12, ms12) >= TRIM_THRESHOLD, "%s: quiet end", what);
    size_t first_loud = 0;
    while (first_loud < n && abs(pcm[first_loud]) < TRIM_THRESHOLD)
        first_loud++;
    CHECKF(first_loud <= ms3, "%s: first loud sample at %zu", what, first_loud);
}

/* Missing espeak data is an error code, not exit(1) (the legacy API's
 * reaction). Must run first: espeak is initialized once per process. */
static void test_missing_data(void)
{
    const char *old = getenv("ESPEAK_DATA_PATH");
    char *saved = old ? coach_strdup(old) : NULL;
    setenv("ESPEAK_DATA_PATH", test_tmpdir("espeak-empty"), 1);
    struct speech *sp = (struct speech *)&saved;
    struct speech_settings set = {.espeak_voice = "en"};
    CHECK(speech_open(&sp, &set) == COACH_ESPEECH && sp == NULL);
    if (saved)
        setenv("ESPEAK_DATA_PATH", saved, 1);
    else
        unsetenv("ESPEAK_DATA_PATH");
    free(saved);
}

static void test_speech(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {
        .espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = 100};
    int rc = speech_open(&sp, &set);
    CHECKF(rc == 0 && sp, "speech_open: %d", rc);
    if (rc) return;
    CHECK(speech_rate_hz(sp) == 22050);
    uint32_t rate = speech_rate_hz(sp);

    int16_t *pcm = NULL;
    size_t n = 0;
    double t0 = now_s();
    rc = speech_synth(sp, "Hold for twenty seconds", &pcm, &n);
    double dt = now_s() - t0;
    CHECK(rc == 0 && pcm);
    check_clip("english", pcm, n, rate);
    printf("synth: %.2f s of speech in %.1f ms (%.0fx real time)\n", (double)n / rate, dt * 1e3,
           (double)n / rate / dt);
    size_t n_first = n;
    free(pcm);

    /* punctuation alone is silent and not an error; words are never
     * silent (a silent word is a failed synthesis, see speech_synth) */
    const char *quiet[] = {"...", "\xe2\x80\x94 \xe2\x80\xa6", "?!", " , "};
    for (size_t i = 0; i < sizeof quiet / sizeof *quiet; i++) {
        pcm = NULL;
        rc = speech_synth(sp, quiet[i], &pcm, &n);
        CHECKF(rc == 0 && n == 0 && !pcm, "'%s': rc %d, %zu frames", quiet[i], rc, n);
        free(pcm);
    }
    const char *words[] = {"1", "Gut", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        pcm = NULL;
        rc = speech_synth(sp, words[i], &pcm, &n);
        CHECKF(rc == 0 && n > 0, "'%s': rc %d, %zu frames", words[i], rc, n);
        free(pcm);
    }

    /* Lengths vary by a few samples between runs, not more. */
    rc = speech_synth(sp, "Hold for twenty seconds", &pcm, &n);
    CHECK(rc == 0);
    CHECKF(n + 2205 > n_first && n < n_first + 2205, "%zu vs %zu", n, n_first);
    free(pcm);

    pcm = (int16_t *)&rc; /* must be reset */
    rc = speech_synth(sp, "", &pcm, &n);
    CHECK(rc == 0 && pcm == NULL && n == 0);
    rc = speech_synth(sp, "   ", &pcm, &n);
    CHECK(rc == 0 && n == 0);
    free(pcm);

    /* Unknown voice: an error code, no exit, no handle. */
    struct speech *bad = (struct speech *)&rc;
    struct speech_settings bs = {
        .espeak_voice = "no-such-voice-xx", .rate_wpm = 175, .pitch = 50, .volume = 100};
    CHECK(speech_open(&bad, &bs) == COACH_ESPEECH && bad == NULL);
    /* A variant on its own is not a voice (it has no phoneme table: before,
     * it opened and then every phrase failed, "speech synthesis failed") */
    bs.espeak_voice = "male8";
    CHECK(speech_open(&bad, &bs) == COACH_ESPEECH && bad == NULL);
    bs.espeak_voice = "klatt";
    CHECK(speech_open(&bad, &bs) == COACH_ESPEECH && bad == NULL);

    /* A second handle with another voice: the handles switch espeak's
     * global voice back and forth. UTF-8 German with umlauts. */
    struct speech *de = NULL;
    struct speech_settings ds = {.espeak_voice = "de", .rate_wpm = 160, .pitch = 40, .volume = 100};
    rc = speech_open(&de, &ds);
    CHECKF(rc == 0, "voice de: %d", rc);
    if (rc == 0) {
        rc = speech_synth(de, "Grüße! Noch zwölf Übungen für Jürgen.", &pcm, &n);
        CHECK(rc == 0);
        check_clip("german", pcm, n, rate);
        free(pcm);
        rc = speech_synth(sp, "Rest", &pcm, &n);
        CHECK(rc == 0 && n > rate / 10 && n < 2 * (size_t)rate);
        free(pcm);
        speech_close(de);
    }
    speech_close(sp);

    /* All handles closed: a new one works (espeak stays initialized). */
    rc = speech_open(&sp, &set);
    CHECK(rc == 0);
    if (rc == 0) {
        rc = speech_synth(sp, "Again", &pcm, &n);
        CHECK(rc == 0 && n > 0);
        free(pcm);
        speech_close(sp);
    }
}


/* --speech-volume: the volume scales the voice and nothing else. Before:
 * volume 0 and 1 failed ("speech synthesis failed", exit 5: espeak-ng's
 * own volume 0 makes no sound, and silent words count as a failure), and
 * the others did nothing (each prepared clip is normalized to the same
 * peak, whatever espeak-ng's level was). Now espeak-ng always speaks at
 * its normal volume (so a phrase's length, and the plan, do not depend on
 * the volume: espeak-ng varies by a few samples between calls, 1 % is
 * allowed) and the volume scales the loudness clips are normalized to
 * (loudness.h): volume 100's peak times the volume. */
static void test_volume(void)
{
    const char *text = "Lie on your back with knees bent.";
    uint64_t ref_len = 0;
    float ref_peak = 0.0f;
    const int vols[] = {100, 0, 1, 50, 200};
    for (size_t k = 0; k < sizeof vols / sizeof *vols; k++) {
        struct speech *sp = NULL;
        struct speech_settings set = {
            .espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = vols[k]};
        int rc = speech_open(&sp, &set);
        CHECKF(rc == 0, "volume %d: open %d", vols[k], rc);
        if (rc) continue;
        struct clipstore cs;
        CHECK(clipstore_init(&cs, sp, 48000) == 0);
        uint32_t id = 0;
        uint64_t len = 0;
        rc = clipstore_intern(&cs, text, &id, &len);
        CHECKF(rc == 0, "volume %d: synth %d", vols[k], rc);
        rc = rc ? rc : clipstore_prepare(&cs, id);
        CHECKF(rc == 0 && cs.clips[id].pcm, "volume %d: prepare %d", vols[k], rc);
        float peak = 0.0f;
        for (uint64_t i = 0; !rc && i < len; i++)
            peak = fmaxf(peak, fabsf(cs.clips[id].pcm[i]));
        if (vols[k] == 100) ref_peak = peak;
        float want = ref_peak * (float)vols[k] / 100.0f;
        /* each volume synthesizes anew: espeak-ng's samples differ a little,
         * and so does the peak of a clip normalized by loudness */
        CHECKF(fabsf(peak - want) <= 0.03f * want + 1e-4f, "volume %d: peak %.5f, want %.5f", vols[k],
               (double)peak, (double)want);
        if (vols[k] == 100) ref_len = len;
        CHECKF(len + ref_len / 100 >= ref_len && len <= ref_len + ref_len / 100,
               "volume %d: %llu frames, at 100: %llu", vols[k], (unsigned long long)len,
               (unsigned long long)ref_len);
        clipstore_free(&cs);
        speech_close(sp);
    }
}

static size_t ref_len(size_t n, uint32_t in, uint32_t out)
{
    return (size_t)floor((double)n * out / in + 0.5);
}

static void test_resample_lengths(void)
{
    static const size_t lens[] = {1, 2, 3, 7, 100, 441, 1000, 12345, 22050, 35281, 100003};
    static const uint32_t outs[] = {48000, 44100, 16000, 22050};
    for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            size_t n = lens[j], m = resample_out_len(n, 22050, outs[k]);
            CHECKF(m == ref_len(n, 22050, outs[k]), "%zu -> %u: %zu", n, outs[k], m);
            int16_t *in = calloc(n, sizeof *in);
            float *out = malloc((m + 16) * sizeof *out);
            for (size_t i = 0; i < n; i++)
                in[i] = (int16_t)(((i * 7919) % 2001) - 1000);
            for (size_t i = 0; i < m + 16; i++)
                out[i] = 1234.0f; /* guard */
            CHECK(resample_i16_to_f32(in, n, 22050, out, m, outs[k]) == 0);
            int ok = 1;
            for (size_t i = m; i < m + 16; i++)
                ok &= out[i] == 1234.0f;
            for (size_t i = 0; i < m; i++)
                ok &= fabsf(out[i]) <= 1.0f;
            CHECKF(ok, "%zu -> %u wrote outside [0, %zu) or out of range", n, outs[k], m);
            /* Room for fewer frames than the exact length is an error. */
            if (m > 0) CHECK(resample_i16_to_f32(in, n, 22050, out, m - 1, outs[k]) != 0);
            free(in);
            free(out);
        }
    }
    CHECK(resample_out_len(0, 22050, 48000) == 0);
    /* Same rate: plain conversion. */
    int16_t in[4] = {0, 16384, -32768, 32767};
    float out[4];
    CHECK(resample_i16_to_f32(in, 4, 48000, out, 4, 48000) == 0);
    CHECK(out[0] == 0.0f && out[1] == 0.5f && out[2] == -1.0f && out[3] == 32767.0f / 32768.0f);
}

/* Frequency from the first and last upward zero crossings (interpolated). */
static double sine_freq(const float *x, size_t a, size_t b, uint32_t rate)
{
    double first = -1, last = -1;
    int cycles = -1;
    for (size_t i = a; i + 1 < b; i++) {
        if (x[i] < 0 && x[i + 1] >= 0) {
            double t = i + x[i] / (x[i] - x[i + 1]);
            if (first < 0) first = t;
            last = t;
            cycles++;
        }
    }
    return cycles > 0 ? cycles * (double)rate / (last - first) : 0;
}

static void test_resample_sine(void)
{
    const uint32_t in_rate = 22050;
    const size_t n = in_rate; /* 1 s */
    int16_t *in = malloc(n * sizeof *in);
    for (size_t i = 0; i < n; i++)
        in[i] = (int16_t)lrint(16384.0 * sin(2 * 3.14159265358979323846 * 1000.0 * i / in_rate));
    static const uint32_t outs[] = {48000, 44100};
    for (size_t k = 0; k < 2; k++) {
        uint32_t r = outs[k];
        size_t m = resample_out_len(n, in_rate, r);
        float *out = malloc(m * sizeof *out);
        CHECK(resample_i16_to_f32(in, n, in_rate, out, m, r) == 0);
        size_t a = m / 4, b = 3 * m / 4; /* away from the filter's edges */
        double s = 0;
        for (size_t i = a; i < b; i++)
            s += (double)out[i] * out[i];
        double amp = sqrt(2 * s / (b - a));
        double db = 20 * log10(amp / 0.5);
        double f = sine_freq(out, a, b, r);
        CHECKF(fabs(db) < 0.5, "%u Hz: amplitude %.4f (%.2f dB)", r, amp, db);
        CHECKF(fabs(f - 1000.0) < 0.5, "%u Hz: frequency %.3f", r, f);
        free(out);
    }
    free(in);
}

static void test_clipstore(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {
        .espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &set) != 0) {
        CHECK(!"speech_open");
        return;
    }
    struct clipstore cs;
    CHECK(clipstore_init(&cs, sp, 48000) == 0);
    CHECK(cs.volume == 1.0f && speech_rate_hz(sp) == 22050);

    uint32_t id1 = 99, id2 = 99, id3 = 99, id4 = 99;
    uint64_t len1 = 0, len2 = 0, len3 = 0, len4 = 1;
    CHECK(clipstore_intern(&cs, "Get ready", &id1, &len1) == 0);
    uint64_t src1 = cs.clips[id1].flac_off;
    CHECK(cs.clips[id1].flac_bytes > 0);
    CHECK(clipstore_intern(&cs, "Get ready", &id2, &len2) == 0);
    CHECK(id1 == id2 && len1 == len2 && cs.len == 1 && cs.clips[id1].flac_off == src1);
    CHECK(len1 == resample_out_len(cs.clips[id1].src_len, 22050, 48000));
    CHECK(len1 > 48000 / 4 && len1 < 48000 * 3);
    CHECK(clipstore_intern(&cs, "Rest", &id3, &len3) == 0);
    CHECK(id3 == 1 && cs.len == 2 && len3 > 0);
    CHECK(clipstore_intern(&cs, "", &id4, &len4) == 0);
    CHECK(id4 == 2 && len4 == 0);

    /* Many texts: the hash table grows and every id still resolves. */
    char buf[32];
    for (int i = 0; i < 200; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        uint32_t id;
        /* Fake entries would need espeak; use real (short) numbers. */
        CHECK(clipstore_intern(&cs, buf, &id, NULL) == 0 && id == 3 + (uint32_t)i);
    }
    for (int i = 0; i < 200; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        uint32_t id;
        CHECK(clipstore_intern(&cs, buf, &id, NULL) == 0 && id == 3 + (uint32_t)i);
    }
    CHECK(cs.len == 203);

    CHECK(clipstore_prepare(&cs, id1) == 0 && cs.clips[id1].pcm);
    float *p = cs.clips[id1].pcm;
    CHECK(clipstore_prepare(&cs, id1) == 0 && cs.clips[id1].pcm == p); /* idempotent */
    /* normalized by loudness (test_loudness checks the spread) */
    double lufs = 0.0;
    CHECK(loudness_of_phrase_f32(p, (size_t)len1, 48000, &lufs) == 0);
    CHECKF(fabs(lufs - LOUDNESS_SPEECH_LUFS) < 0.5, "loudness %.2f LUFS", lufs);
    /* faded edges: a clip starts and ends at (near) zero, no click */
    CHECKF(fabsf(p[0]) < 1e-3f && fabsf(p[len1 - 1]) < 1e-3f, "edges %g %g", p[0], p[len1 - 1]);
    float step = 0;
    for (uint64_t i = 1; i < 48; i++) step = fmaxf(step, fabsf(p[i] - p[i - 1]));
    CHECKF(step < 0.05f, "first millisecond jumps by %g", step);
    float *first = malloc(len1 * sizeof *first);
    memcpy(first, p, len1 * sizeof *first);
    clipstore_release(&cs, id1);
    CHECK(cs.clips[id1].pcm == NULL && cs.clips[id1].flac_off == src1);
    CHECK(clipstore_prepare(&cs, id1) == 0 && cs.clips[id1].pcm); /* again after release */
    /* the very same samples: heard again after a seek as the first time */
    CHECK(cs.clips[id1].pcm && memcmp(cs.clips[id1].pcm, first, len1 * sizeof *first) == 0);
    free(first);
    CHECK(clipstore_prepare(&cs, id4) == 0 && cs.clips[id4].pcm); /* empty: non-NULL */
    CHECK(clipstore_prepare(&cs, 9999) == COACH_EINVAL);
    clipstore_free(&cs);

    /* Lengths only (check, plan): the same lengths, no audio kept. */
    struct clipstore lo;
    CHECK(clipstore_init(&lo, sp, 48000) == 0);
    clipstore_set_mode(&lo, CLIPS_LENGTHS);
    uint32_t lid;
    uint64_t llen;
    CHECK(clipstore_intern(&lo, "Rest", &lid, &llen) == 0);
    CHECKF(llen > len3 * 9 / 10 && llen < len3 * 11 / 10, "lengths only: %llu vs %llu",
           (unsigned long long)llen, (unsigned long long)len3);
    CHECK(lo.clips[lid].flac_bytes == 0 && lo.flac_bytes == 0 && lo.src_bytes > 0);
    CHECK(clipstore_prepare(&lo, lid) == COACH_EINVAL && lo.clips[lid].pcm == NULL);
    clipstore_free(&lo);

    /* No synthesizer: empty texts still work, others report the error. */
    CHECK(clipstore_init(&cs, NULL, 44100) == 0);
    CHECK(clipstore_intern(&cs, "", &id1, &len1) == 0 && len1 == 0);
    CHECK(clipstore_intern(&cs, "words", &id2, &len2) == COACH_ESPEECH && cs.len == 1);
    clipstore_free(&cs);
    speech_close(sp);
}

/* The rate belongs to the voice: read after the voice is chosen. An MBROLA
 * voice of espeak-ng speaks at 16000 Hz (a clip planned at 22050 would
 * play 1.38x too fast); where the MBROLA engine and its us1 voice are not
 * installed (Debian contrib/non-free), espeak-ng refuses the voice and only
 * the espeak-ng voices are checked. Two handles of different voices used in
 * turn each keep their own rate, and a clip store reads it per clip. */
static void test_voice_rate(void)
{
    struct speech *en = NULL, *mb = NULL;
    struct speech_settings se = {.espeak_voice = "en-us", .rate_wpm = 160, .pitch = 50, .volume = 100};
    struct speech_settings sm = {.espeak_voice = "mb-us1", .rate_wpm = 160, .pitch = 50, .volume = 100};
    CHECK(speech_open(&en, &se) == 0 && speech_rate_hz(en) == 22050);
    if (speech_open(&mb, &sm) != 0) {
        printf("mb-us1 is not installed (packages mbrola, mbrola-us1): 16 kHz voice not checked\n");
        speech_close(en);
        return;
    }
    CHECKF(speech_rate_hz(mb) == 16000, "mb-us1 at %u Hz", speech_rate_hz(mb));
    int16_t *pcm;
    size_t n;
    CHECK(speech_synth(en, "Rest", &pcm, &n) == 0 && speech_rate_hz(en) == 22050);
    free(pcm);
    CHECK(speech_synth(mb, "Rest", &pcm, &n) == 0 && speech_rate_hz(mb) == 16000);
    free(pcm);
    struct clipstore cs;
    CHECK(clipstore_init(&cs, mb, 48000) == 0);
    uint32_t id;
    uint64_t len;
    CHECK(clipstore_intern(&cs, "Rest", &id, &len) == 0 && cs.clips[id].src_rate_hz == 16000 &&
          len == resample_out_len(cs.clips[id].src_len, 16000, 48000));
    clipstore_free(&cs);
    speech_close(mb);
    speech_close(en);
}

/* Issue 10, 1: names espeak-ng would read as a path, or whose variant
 * overflows its 40-byte buffer (abort), never reach it: COACH_EINVAL, and
 * speech_explain says why. */
static void test_unsafe_names(void)
{
    static const char *const bad[] = {"en+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                      "../../../../../../etc/passwd",
                                      "../../../../../../../dev/zero", "en-us+", "a+b+c", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct speech *sp = NULL;
        struct speech_settings set = {.espeak_voice = bad[i]};
        CHECKF(!speech_voice_name_ok(bad[i]), "%s", bad[i]);
        CHECKF(speech_open(&sp, &set) == COACH_EINVAL && !sp, "%s", bad[i]);
        char msg[512];
        speech_explain(COACH_EINVAL, bad[i], "p.ini", msg, sizeof msg);
        CHECKF(strstr(msg, "p.ini: ") == msg && strstr(msg, "is not a voice name"), "%s",
               msg);
    }
    CHECK(speech_voice_name_ok("en-us+f3") && speech_voice_name_ok("mb-us1") &&
          !speech_voice_name_ok("") && !speech_voice_name_ok(NULL));
}

static char *long_text(size_t bytes)
{
    static const char w[] = "Breathe in slowly and feel your back relax. ";
    char *t = malloc(bytes + sizeof w);
    t[0] = 0;
    for (size_t n = 0; n < bytes; n += sizeof w - 1) strcat(t, w);
    return t;
}

/* Issue 10, 5: a clip stops at its cap at once, with COACH_ETOOLONG, and
 * espeak-ng speaks normally after. */
static void test_clip_cap(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {.espeak_voice = "en-us", .rate_wpm = 160, .pitch = 50,
                                  .volume = 100, .max_clip_s = 2};
    CHECK(speech_open(&sp, &set) == 0 && speech_max_clip_s(sp) == 2);
    char *t = long_text(4000); /* about 4 minutes */
    int16_t *pcm;
    size_t n;
    CHECK(speech_synth(sp, "Rest", &pcm, &n) == 0 && n > 0);
    free(pcm);
    size_t fresh = n;
    double t0 = now_s();
    CHECK(speech_synth(sp, t, &pcm, &n) == COACH_ETOOLONG && !pcm && n == 0);
    CHECKF(now_s() - t0 < 1.0, "%.3f s to stop at the cap", now_s() - t0);
    CHECK(speech_synth(sp, "Rest", &pcm, &n) == 0 && n > 0 && n < 2 * 22050);
    free(pcm);
    /* nothing of the long text is left over in espeak-ng */
    CHECKF(n > fresh * 8 / 10 && n < fresh * 12 / 10, "%zu frames after, %zu before", n, fresh);
    free(t);
    speech_close(sp);
    struct speech_settings dflt = {.espeak_voice = "en-us"};
    CHECK(speech_open(&sp, &dflt) == 0 && speech_max_clip_s(sp) == SPEECH_MAX_CLIP_S);
    speech_close(sp);
}

static void *raise_later(void *arg)
{
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    *(double *)arg = now_s();
    coach_interrupt_raise(2);
    return NULL;
}

/* Issue 10, 6: an interrupt stops a synthesis where it is (espeak-ng's
 * callback), within 100 ms, not at the end of the text; planning stops at
 * once too; nothing speaks until the flag is cleared. */
static void test_interrupt(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {.espeak_voice = "en-us", .rate_wpm = 80, .pitch = 50, .volume = 100};
    CHECK(speech_open(&sp, &set) == 0);
    char *t = long_text(12000); /* about 20 minutes at 80 wpm: seconds of work */
    pthread_t th;
    double raised = 0;
    pthread_create(&th, NULL, raise_later, &raised);
    int16_t *pcm;
    size_t n;
    int rc = speech_synth(sp, t, &pcm, &n);
    double done = now_s();
    pthread_join(th, NULL);
    CHECKF(rc == COACH_EINTR, "rc %d", rc);
    CHECKF(done - raised < 0.1, "stopped %.3f s after the interrupt", done - raised);
    CHECK(speech_synth(sp, "Rest", &pcm, &n) == COACH_EINTR);
    /* the planner: a routine is not planned while interrupted */
    struct coach_diags d;
    diags_init(&d);
    struct routine r;
    struct voice v;
    CHECK(routine_load(test_src_path("routines/breathing.ini"), &r, &d) == 0);
    CHECK(voice_load(test_src_path("voices/en-us.ini"), &v, &d) == 0);
    struct clipstore cs;
    clipstore_init(&cs, sp, 48000);
    clipstore_set_mode(&cs, CLIPS_LENGTHS);
    struct plan_opts po = {.rate_hz = 48000};
    struct timeline tl;
    char err[256];
    CHECK(plan_build(&r, &v, &cs, &po, &tl, err, sizeof err) == COACH_EINTR);
    clipstore_free(&cs);
    /* estimates involve no speech: the planner's own check stops them */
    clipstore_init(&cs, NULL, 48000);
    clipstore_set_mode(&cs, CLIPS_ESTIMATE);
    CHECK(plan_build(&r, &v, &cs, &po, &tl, err, sizeof err) == COACH_EINTR);
    clipstore_free(&cs);
    coach_interrupt_reset();
    rc = speech_synth(sp, "Rest", &pcm, &n);
    CHECKF(rc == 0 && n > 0, "rc %d, %zu frames", rc, n);
    free(pcm);
    routine_free(&r);
    voice_free(&v);
    diags_free(&d);
    free(t);
    speech_close(sp);
}

/* Issue 10, 5: a phrase too long to speak is the profile's error, at the
 * line of the template that grew (not the routine's). */
static void test_too_long_blames_profile(void)
{
    struct coach_diags d;
    diags_init(&d);
    char rt[1200];
    char *title = long_text(450);
    title[450] = 0;
    snprintf(rt, sizeof rt, "[routine]\ntitle = %s\n\n[say a]\ntext = Hello.\n", title);
    struct routine r;
    struct voice v;
    CHECK(routine_parse("r.ini", rt, strlen(rt), &r, &d) == 0);
    size_t len;
    char *vt = test_read_file(test_src_path("voices/en-us.ini"), &len);
    CHECK(vt && voice_parse("v.ini", vt, len, &v, &d) == 0);
    diags_print(&d, stderr);
    struct speech *sp = NULL;
    struct speech_settings set = {.espeak_voice = "en-us", .pitch = 50, .volume = 100, .max_clip_s = 3};
    CHECK(speech_open(&sp, &set) == 0);
    struct clipstore cs;
    clipstore_init(&cs, sp, 48000);
    clipstore_set_mode(&cs, CLIPS_LENGTHS);
    struct plan_opts po = {.rate_hz = 48000};
    struct timeline tl;
    char err[512] = "", want[64];
    snprintf(want, sizeof want, "v.ini:%d: phrase 'intro' ", v.phrase_line[PH_INTRO]);
    CHECK(plan_build(&r, &v, &cs, &po, &tl, err, sizeof err) == COACH_ETOOLONG);
    CHECKF(strstr(err, want) == err && v.phrase_line[PH_INTRO] > 0, "%s", err);
    clipstore_free(&cs);
    speech_close(sp);
    routine_free(&r);
    voice_free(&v);
    diags_free(&d);
    free(vt);
    free(title);
}

/* Issue 10, 15: out of file descriptors, espeak-ng cannot open its files
 * and says "voice not found": speech_open names EMFILE instead. In a
 * child, where the descriptors can be used up, before espeak-ng has
 * started in this process. */
static void test_no_descriptors(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        while (open("/dev/null", O_RDONLY) >= 0) {
        }
        struct speech *sp = NULL;
        struct speech_settings set = {.espeak_voice = "en-us"};
        int rc = speech_open(&sp, &set);
        char msg[512];
        speech_explain(rc, "en-us", "p.ini", msg, sizeof msg);
        if (rc != COACH_EIO || !strstr(msg, strerror(EMFILE)))
            fprintf(stderr, "out of descriptors: rc %d: %s\n", rc, msg);
        _exit(rc == COACH_EIO && strstr(msg, strerror(EMFILE)) && !strstr(msg, "no voice") ? 0
                                                                                            : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
}

/* speech_open_async: returns at once; the engine's answer comes from
 * speech_opened, and is the one speech_open gives (an unknown voice fails
 * there, and every call needing the engine fails the same way, no crash). */
static void test_open_async(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {.espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = 100};
    CHECK(speech_open_async(&sp, &set) == 0 && sp);
    if (!sp) return;
    CHECK(speech_volume_pct(sp) == 100 && speech_rate_wpm(sp) == 175); /* no wait for these */
    CHECK(speech_opened(sp) == 0);
    CHECK(speech_opened(sp) == 0); /* joined once, asked again */
    CHECK(speech_rate_hz(sp) == 22050);
    int16_t *pcm = NULL;
    size_t n = 0;
    CHECK(speech_synth(sp, "Ready.", &pcm, &n) == 0 && n > 0);
    free(pcm);
    char *key = speech_cache_key(sp, "Ready.", 0, 1);
    CHECK(key != NULL);
    free(key);
    speech_close(sp);

    /* closed without anyone waiting: speech_close waits */
    CHECK(speech_open_async(&sp, &set) == 0 && sp);
    speech_close(sp);

    /* an unknown voice: the handle exists, the engine's failure is told by
     * speech_opened and by each call that needs the engine */
    struct speech_settings bs = {.espeak_voice = "no-such-voice-xx", .rate_wpm = 175, .pitch = 50,
                                 .volume = 100};
    sp = NULL;
    CHECK(speech_open_async(&sp, &bs) == 0 && sp);
    if (sp) {
        CHECK(speech_opened(sp) == COACH_ESPEECH);
        CHECK(speech_rate_hz(sp) == 0);
        pcm = NULL;
        CHECK(speech_synth(sp, "Ready.", &pcm, &n) == COACH_ESPEECH && pcm == NULL);
        CHECK(speech_cache_key(sp, "Ready.", 0, 1) == NULL);
        speech_close(sp);
    }
    /* an unsafe name never reaches a thread or the engine */
    bs.espeak_voice = "../../etc/passwd";
    sp = (struct speech *)&bs;
    CHECK(speech_open_async(&sp, &bs) == COACH_EINVAL && sp == NULL);
}

int main(void)
{
    test_missing_data();
    test_no_descriptors(); /* before espeak-ng is initialized in this process */
    test_unsafe_names();
    test_clip_cap();
    test_interrupt();
    test_too_long_blames_profile();
    test_voice_rate();
    test_speech();
    test_open_async();
    test_volume();
    test_resample_lengths();
    test_resample_sine();
    test_clipstore();
    return test_done();
}
