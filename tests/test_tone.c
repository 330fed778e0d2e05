/* Tests for the tone generators, by measurement: pitch (zero crossings and
 * Goertzel), direction of the breath glides, envelopes that start and end
 * near 0 without jumps, peaks within the design peak, no energy above
 * 0.45 * rate, and the same samples however the event is cut into blocks. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coach/tone.h"
#include "testutil.h"

static const uint32_t rates[2] = {48000, 44100};
static const double TWO_PI = 6.283185307179586;

static struct event mk_event(enum event_kind k, uint64_t len, uint8_t variant)
{
    struct event e = {0};
    e.frame = 12345; /* tones depend only on the offset, not the frame */
    e.kind = (uint8_t)k;
    e.len_frames = len;
    e.variant = variant;
    e.step = -1;
    return e;
}

/* The event's len (default length, or given for breath kinds). */
static float *gen(const struct event *e, uint32_t rate)
{
    float *buf = calloc(e->len_frames + 1, sizeof(float));
    tone_add(e, 0, buf, e->len_frames, rate);
    return buf;
}

/* Frequency from upward zero crossings in [from, to), with linear
 * interpolation of the first and last crossing. */
static double zc_freq(const float *x, size_t from, size_t to, uint32_t rate)
{
    double first = -1, last = -1;
    int count = 0;
    for (size_t i = from + 1; i < to; i++) {
        if (x[i - 1] < 0 && x[i] >= 0) {
            double t = (double)(i - 1) + x[i - 1] / (x[i - 1] - x[i]);
            if (first < 0) first = t;
            last = t;
            count++;
        }
    }
    if (count < 2) return 0;
    return (count - 1) * rate / (last - first);
}

/* Goertzel power at freq over x[0..n). */
static double goertzel(const float *x, size_t n, double freq, uint32_t rate)
{
    double w = TWO_PI * freq / rate, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/* Frequency of the strongest Goertzel response, scanning lo..hi in step Hz. */
static double peak_freq(const float *x, size_t n, double lo, double hi, double step, uint32_t rate)
{
    double best = 0, best_f = 0;
    for (double f = lo; f <= hi; f += step) {
        double p = goertzel(x, n, f, rate);
        if (p > best) {
            best = p;
            best_f = f;
        }
    }
    return best_f;
}

/* Fraction of energy in DFT bins at or above 0.45 * rate. */
static double energy_above(const float *x, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += (double)x[i] * x[i];
    total *= (double)n; /* Parseval: sum |X_k|^2 = n sum x^2 */
    double high = 0;
    size_t kc = (size_t)ceil(0.45 * (double)n);
    for (size_t k = kc; k <= n / 2; k++) {
        double re = 0, im = 0;
        for (size_t i = 0; i < n; i++) {
            double a = TWO_PI * (double)((k * i) % n) / (double)n;
            re += x[i] * cos(a);
            im -= x[i] * sin(a);
        }
        high += (k == n / 2 && n % 2 == 0 ? 1 : 2) * (re * re + im * im);
    }
    return total > 0 ? high / total : 0;
}

static float peak_abs(const float *x, size_t n)
{
    float p = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) > p) p = fabsf(x[i]);
    return p;
}

static float max_step(const float *x, size_t n)
{
    float d = 0;
    for (size_t i = 1; i < n; i++)
        if (fabsf(x[i] - x[i - 1]) > d) d = fabsf(x[i] - x[i - 1]);
    return d;
}

struct kind_case {
    enum event_kind kind;
    uint8_t variant;
    double len_s;  /* 0 = tone_default_len */
    double top_hz; /* highest partial: bounds the sample-to-sample step */
};

static const struct kind_case cases[] = {
    {EV_CLICK, 0, 0, 1800},        {EV_CLICK_ACCENT, 0, 0, 2400}, {EV_BEEP, 0, 0, 880},
    {EV_BEEP_FINAL, 0, 0, 1320},   {EV_PHASE, 0, 0, 523.25},      {EV_PHASE, 5, 0, 1396.91},
    {EV_BELL, 0, 0, 3564},         {EV_BREATH_IN, 0, 3.0, 880},   {EV_BREATH_OUT, 0, 3.0, 880},
    {EV_BREATH_HOLD, 0, 2.0, 330},
};

static uint64_t case_len(const struct kind_case *c, uint32_t rate)
{
    return c->len_s > 0 ? (uint64_t)(c->len_s * rate) : tone_default_len(c->kind, rate);
}

static void test_lengths(void)
{
    CHECK(tone_default_len(EV_CLICK, 48000) == 960);
    CHECK(tone_default_len(EV_BEEP, 48000) == 5760);
    CHECK(tone_default_len(EV_BEEP, 44100) == 5292);
    CHECK(tone_default_len(EV_BEEP_FINAL, 48000) > tone_default_len(EV_BEEP, 48000));
    CHECK(tone_default_len(EV_BELL, 48000) == 120000);
    CHECK(tone_default_len(EV_BREATH_IN, 48000) == 0);
    CHECK(tone_default_len(EV_BREATH_OUT, 48000) == 0);
    CHECK(tone_default_len(EV_BREATH_HOLD, 48000) == 0);
    CHECK(tone_default_len(EV_SPEECH, 48000) == 0);
    for (int k = EV_CLICK; k < EV_KIND_COUNT; k++)
        CHECKF(tone_peak(k) > 0 && tone_peak(k) < 0.5f, "kind %d", k);
    CHECK(tone_peak(EV_SPEECH) == 0);
    CHECK(tone_peak(EV_CLICK_ACCENT) > tone_peak(EV_CLICK));
}

static void test_pitches(void)
{
    for (int r = 0; r < 2; r++) {
        uint32_t rate = rates[r];
        struct event b = mk_event(EV_BEEP, tone_default_len(EV_BEEP, rate), 0);
        struct event f = mk_event(EV_BEEP_FINAL, tone_default_len(EV_BEEP_FINAL, rate), 0);
        float *bb = gen(&b, rate), *fb = gen(&f, rate);
        double fbeep = zc_freq(bb, 0, b.len_frames, rate);
        double ffinal = zc_freq(fb, 0, f.len_frames, rate);
        CHECKF(fabs(fbeep - 880) < 3, "beep %.2f Hz at %u", fbeep, rate);
        CHECKF(fabs(ffinal - 1320) < 3, "final %.2f Hz at %u", ffinal, rate);
        CHECK(ffinal > fbeep * 1.3);
        free(bb);
        free(fb);

        struct event c = mk_event(EV_CLICK, tone_default_len(EV_CLICK, rate), 0);
        struct event a = mk_event(EV_CLICK_ACCENT, tone_default_len(EV_CLICK_ACCENT, rate), 0);
        float *cb = gen(&c, rate), *ab = gen(&a, rate);
        double fc = peak_freq(cb, c.len_frames, 500, 6000, 10, rate);
        double fa = peak_freq(ab, a.len_frames, 500, 6000, 10, rate);
        CHECKF(fc >= 1600 && fc <= 2000, "click %.0f Hz", fc);
        CHECKF(fa > fc * 1.15, "accent %.0f Hz vs click %.0f Hz", fa, fc);
        CHECK(peak_abs(ab, a.len_frames) > peak_abs(cb, c.len_frames));
        CHECK(peak_abs(cb, c.len_frames) > 0.15f);
        /* A tick: most of its energy is in the first few milliseconds. */
        size_t five_ms = rate / 200;
        CHECK(peak_abs(cb + c.len_frames - five_ms, five_ms) < 0.1f * peak_abs(cb, five_ms * 2));
        free(cb);
        free(ab);

        /* Phase tones: distinct pitches, rising with the index, cycling. */
        double prev = 0;
        for (int v = 0; v < 6; v++) {
            struct event p = mk_event(EV_PHASE, tone_default_len(EV_PHASE, rate), (uint8_t)v);
            float *pb = gen(&p, rate);
            double fp = zc_freq(pb, 0, p.len_frames, rate);
            CHECKF(fp > prev * 1.1, "phase %d: %.1f Hz after %.1f Hz", v, fp, prev);
            prev = fp;
            struct event q = p;
            q.variant = (uint8_t)(v + 6);
            float *qb = gen(&q, rate);
            CHECK(memcmp(pb, qb, p.len_frames * sizeof(float)) == 0);
            free(pb);
            free(qb);
        }

        /* The bell's fundamental rings and decays. */
        struct event bl = mk_event(EV_BELL, tone_default_len(EV_BELL, rate), 0);
        float *blb = gen(&bl, rate);
        double fbell = peak_freq(blb, rate / 2, 300, 1000, 2, rate);
        CHECKF(fabs(fbell - 660) < 4, "bell %.1f Hz", fbell);
        CHECK(peak_abs(blb + rate * 2, rate / 4) < 0.3f * peak_abs(blb, rate / 4));
        free(blb);
    }
}

static void test_breath(void)
{
    for (int r = 0; r < 2; r++) {
        uint32_t rate = rates[r];
        uint64_t len = 4 * rate;
        struct event in = mk_event(EV_BREATH_IN, len, 0), out = mk_event(EV_BREATH_OUT, len, 0);
        struct event hold = mk_event(EV_BREATH_HOLD, len, 0);
        float *ib = gen(&in, rate), *ob = gen(&out, rate), *hb = gen(&hold, rate);
        size_t q = rate / 4; /* first and last quarter second */
        double in0 = zc_freq(ib, 0, q, rate), in1 = zc_freq(ib, len - q, len, rate);
        double out0 = zc_freq(ob, 0, q, rate), out1 = zc_freq(ob, len - q, len, rate);
        CHECKF(in0 > 210 && in0 < 240 && in1 > 410 && in1 < 445, "in %.1f -> %.1f", in0, in1);
        CHECKF(out0 > 410 && out0 < 445 && out1 > 210 && out1 < 240, "out %.1f -> %.1f", out0,
               out1);
        /* Log-frequency glide: the midpoint is at the geometric mean. */
        double mid = zc_freq(ib, len / 2 - q / 2, len / 2 + q / 2, rate);
        CHECKF(fabs(mid - 311.1) < 5, "in mid %.1f", mid);
        double fh = zc_freq(hb, rate, 2 * rate, rate);
        CHECKF(fabs(fh - 330) < 1, "hold %.2f", fh);
        CHECK(peak_abs(hb, len) < peak_abs(ib, len));
        free(ib);
        free(ob);
        free(hb);
    }
    /* A ten-minute hold keeps its pitch to the end (phase from the absolute
     * offset, not accumulated). */
    uint32_t rate = 48000;
    uint64_t len = 600ull * rate;
    struct event hold = mk_event(EV_BREATH_HOLD, len, 0);
    float *tail = calloc(rate, sizeof(float));
    tone_add(&hold, len - 2 * rate, tail, rate, rate);
    double f = zc_freq(tail, 0, rate, rate);
    CHECKF(fabs(f - 330) < 0.05, "hold after 10 min %.4f", f);
    free(tail);
}

static void test_envelopes(void)
{
    for (int r = 0; r < 2; r++) {
        uint32_t rate = rates[r];
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            const struct kind_case *kc = &cases[c];
            struct event e = mk_event(kc->kind, case_len(kc, rate), kc->variant);
            size_t n = e.len_frames;
            float *x = gen(&e, rate);
            float pk = peak_abs(x, n);
            float step_bound = (float)(TWO_PI * kc->top_hz * tone_peak(kc->kind) / rate) * 1.1f;
            CHECKF(pk <= tone_peak(kc->kind) + 1e-5f && pk < 1, "%s peak %g > %g",
                   event_kind_name(kc->kind), pk, tone_peak(kc->kind));
            CHECKF(pk > 0.5f * tone_peak(kc->kind), "%s peak %g", event_kind_name(kc->kind), pk);
            CHECKF(fabsf(x[0]) < 1e-4f && fabsf(x[n - 1]) < 1e-4f, "%s ends %g %g",
                   event_kind_name(kc->kind), x[0], x[n - 1]);
            CHECKF(x[0] != 0, "%s first sample is exactly 0", event_kind_name(kc->kind));
            CHECKF(fabsf(x[1] - x[0]) < 2e-3f && fabsf(x[n - 1] - x[n - 2]) < 2e-3f,
                   "%s jumps at an end", event_kind_name(kc->kind));
            CHECKF(max_step(x, n) <= step_bound, "%s step %g > %g", event_kind_name(kc->kind),
                   max_step(x, n), step_bound);
            CHECK(x[n] == 0); /* nothing written past the event */
            free(x);
        }
    }
}

static void test_no_alias(void)
{
    for (int r = 0; r < 2; r++) {
        uint32_t rate = rates[r];
        static const enum event_kind kinds[] = {EV_CLICK, EV_CLICK_ACCENT, EV_BEEP, EV_BEEP_FINAL,
                                                EV_PHASE};
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            struct event e = mk_event(kinds[k], tone_default_len(kinds[k], rate), 3);
            float *x = gen(&e, rate);
            double frac = energy_above(x, e.len_frames);
            CHECKF(frac < 1e-7, "%s energy above 0.45 rate: %g", event_kind_name(kinds[k]), frac);
            free(x);
        }
        /* The bell's attack: the part with the widest spectrum. */
        struct event bl = mk_event(EV_BELL, tone_default_len(EV_BELL, rate), 0);
        float *x = gen(&bl, rate);
        /* Taper the cut so the measurement sees the bell, not the cut. */
        size_t n = 2048;
        for (size_t i = n / 2; i < n; i++)
            x[i] *= (float)(0.5 + 0.5 * cos(TWO_PI * (double)(i - n / 2) / (double)n));
        double frac = energy_above(x, n);
        CHECKF(frac < 1e-7, "bell energy above 0.45 rate: %g", frac);
        free(x);
    }
}

static void test_block_invariance(void)
{
    uint32_t rate = 48000;
    srand(7);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct kind_case *kc = &cases[c];
        struct event e = mk_event(kc->kind, case_len(kc, rate), kc->variant);
        size_t n = e.len_frames;
        float *whole = gen(&e, rate);
        float *parts = calloc(n + 64, sizeof(float));
        size_t at = 0;
        while (at < n + 50) {
            size_t m = 1 + (size_t)rand() % 700;
            tone_add(&e, at, parts + at, m, rate); /* past the end: clamped */
            at += m;
            if (at > n + 50) break;
        }
        CHECKF(memcmp(whole, parts, n * sizeof(float)) == 0, "%s differs in blocks",
               event_kind_name(kc->kind));
        int tail_zero = 1;
        for (size_t i = n; i < n + 50; i++)
            tail_zero &= parts[i] == 0;
        CHECK(tail_zero);
        free(whole);
        free(parts);
    }
    /* Speech is not a tone; offsets past the end add nothing. */
    float buf[64] = {0};
    struct event sp = mk_event(EV_SPEECH, 64, 0);
    tone_add(&sp, 0, buf, 64, rate);
    struct event b = mk_event(EV_BEEP, 100, 0);
    tone_add(&b, 100, buf, 64, rate);
    tone_add(&b, 5000, buf, 64, rate);
    int zero = 1;
    for (int i = 0; i < 64; i++)
        zero &= buf[i] == 0;
    CHECK(zero);
    /* tone_add adds: twice is double. */
    float once[100] = {0}, twice[100] = {0};
    tone_add(&b, 0, once, 100, rate);
    tone_add(&b, 0, twice, 100, rate);
    tone_add(&b, 0, twice, 100, rate);
    int dbl = 1;
    for (int i = 0; i < 100; i++)
        dbl &= twice[i] == 2 * once[i];
    CHECK(dbl);
}

static void test_names(void)
{
    CHECK(strcmp(event_kind_name(EV_SPEECH), "speech") == 0);
    CHECK(strcmp(event_kind_name(EV_CLICK_ACCENT), "click-accent") == 0);
    CHECK(strcmp(event_kind_name(EV_BEEP_FINAL), "beep-final") == 0);
    CHECK(strcmp(event_kind_name(EV_BREATH_HOLD), "breath-hold") == 0);
    CHECK(strcmp(event_kind_name(EV_BELL), "bell") == 0);
    CHECK(strcmp(event_kind_name(EV_KIND_COUNT), "unknown") == 0);
}

int main(void)
{
    test_names();
    test_lengths();
    test_pitches();
    test_breath();
    test_envelopes();
    test_no_alias();
    test_block_invariance();
    return test_done();
}
