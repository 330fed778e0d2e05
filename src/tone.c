/* The tone generators: metronome clicks, countdown beeps, breathing sweeps,
 * the breath-hold drone, tempo-phase tones and the end bell. Each sample is a
 * pure function of (event, frame offset, rate): phases are computed in double
 * from the absolute offset (never accumulated), so a tone sounds the same
 * however the stream is cut into blocks and long tones do not drift. Sample o
 * is taken at the middle of its frame, t = (o + 0.5) / rate: envelopes are
 * symmetric, start and end within a hair of 0 (no clicks), yet the first
 * sample of an event is already nonzero, so onsets are measurable exactly.
 * Sounds are chosen to be told apart by ear: ticks are short and bright,
 * beeps are pitched and steady, breath tones glide slowly, the bell rings. */
#include "coach/tone.h"

#include <float.h>
#include <math.h>

/* Bit-identical output for any block cut needs every frame computed with
 * the same roundings. ISO C mode (-std=c11) already keeps GCC from fusing
 * a*b+c across statements; in GNU mode with FMA hardware GCC would fuse
 * differently in vectorized loop bodies and their scalar remainders. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* Partials above this fraction of the rate are left out (no aliasing). */
#define TONE_MAX_PARTIAL 0.45

/* Tones are made in chunks of this many frames in a stack buffer: a full
 * chunk runs a fixed-count loop the compiler vectorizes at -O2; a partial
 * chunk runs the same per-frame expression in a plain loop. Both give the
 * same bits (same IEEE operations per frame), so block cuts never show. */
#define TONE_CHUNK 256
#define FOR_CHUNK(j, m, ...)                                                                       \
    do {                                                                                           \
        if ((m) == TONE_CHUNK) {                                                                   \
            for (int j = 0; j < TONE_CHUNK; j++) {                                                 \
                __VA_ARGS__                                                                        \
            }                                                                                      \
        } else {                                                                                   \
            for (int j = 0; j < (m); j++) {                                                        \
                __VA_ARGS__                                                                        \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* sin(2 pi x) for x in [-0.5, 0.5]: fold to [0, 0.25] (sin(pi - t) = sin t),
 * odd Taylor polynomial to t^11 (error < 1e-7), sign back. Branch-free. */
static inline float sin_2pi(float x)
{
    float a = fabsf(x);
    float b = 0.5f - a;
    a = b < a ? b : a; /* min, written so it compiles to minss/minps */
    float t = 6.28318530717958647692f * a;
    float t2 = t * t;
    float p =
        t *
        (1.0f + t2 * (-1.0f / 6 +
                      t2 * (1.0f / 120 +
                            t2 * (-1.0f / 5040 + t2 * (1.0f / 362880 + t2 * (-1.0f / 39916800))))));
    return copysignf(p, x);
}

/* sin(2 pi cyc) from a double phase in cycles (|cyc| < 2^51): the whole
 * cycles are removed exactly in double before going to float. */
static inline float sin_cycles(double cyc)
{
#if FLT_EVAL_METHOD == 0
    /* Round to nearest by the 1.5 * 2^52 trick: no libm call, vectorizes.
     * Needs IEEE semantics (no -ffast-math, which would fold it away). */
    double whole = (cyc + 0x1.8p52) - 0x1.8p52;
#else
    double whole = nearbyint(cyc);
#endif
    return sin_2pi((float)(cyc - whole));
}

/* Fade lengths in frames: at least 1, at most half the event (so the fade
 * in and the fade out never overlap). */
static uint64_t fade_frames(double ms, uint64_t len, uint32_t rate_hz)
{
    uint64_t f = (uint64_t)(ms * rate_hz / 1000.0 + 0.5);
    if (f > len / 2) f = len / 2;
    return f ? f : 1;
}

/* Multiplies tmp (frames [o, o+m) of an event of len frames) by the
 * raised-cosine (sin^2) fade in over att frames and fade out over rel
 * frames, sampled at frame midpoints: 0 < w <= 1, tiny at both ends.
 * att or rel 0: no fade at that end. */
static void apply_fades(float *tmp, int m, uint64_t o, uint64_t len, uint64_t att, uint64_t rel)
{
    double in_scale = att ? 0.25 / (double)att : 0.0, out_scale = rel ? 0.25 / (double)rel : 0.0;
    for (uint64_t f = o; f < att && f < o + (uint64_t)m; f++) {
        float s = sin_cycles(((double)(int64_t)f + 0.5) * in_scale);
        tmp[f - o] *= s * s;
    }
    uint64_t from = len - rel > o ? len - rel : o;
    for (uint64_t f = from; f < o + (uint64_t)m; f++) {
        float s = sin_cycles(((double)(int64_t)(len - 1 - f) + 0.5) * out_scale);
        tmp[f - o] *= s * s;
    }
}

/* dst[j] = exp(c * (o + j + 0.5)) for j in [0, m), cheaply but still a pure
 * function of each frame: exp() once per 16-frame group aligned on the
 * absolute offset (so independent of the block cut), times a Taylor
 * polynomial for the at most 15 frames into the group. When c is too steep
 * for the polynomial to be exact to ~1e-11, exp() per frame. */
#define EXP_GROUP 16
static void exp_fill(double *dst, int m, uint64_t o, double c)
{
    if (fabs(c) * (EXP_GROUP - 1) > 0.1) {
        for (int j = 0; j < m; j++)
            dst[j] = exp(c * ((double)(int64_t)(o + (uint64_t)j) + 0.5));
        return;
    }
    int j = 0;
    while (j < m) {
        uint64_t f = o + (uint64_t)j;
        uint64_t group = f & ~(uint64_t)(EXP_GROUP - 1);
        int k0 = (int)(f - group);
        int cnt = EXP_GROUP - k0 < m - j ? EXP_GROUP - k0 : m - j;
        double base = exp(c * ((double)(int64_t)group + 0.5));
        for (int k = k0; k < k0 + cnt; k++) {
            double y = c * (double)k;
            double p =
                1.0 +
                y * (1.0 + y * (1.0 / 2 + y * (1.0 / 6 + y * (1.0 / 24 +
                                                              y * (1.0 / 120 + y * (1.0 / 720))))));
            dst[j + k - k0] = base * p;
        }
        j += cnt;
    }
}

static void accumulate(float *mono, const float *tmp, int m)
{
    FOR_CHUNK(j, m, mono[j] += tmp[j];);
}

/* One sine partial with fades and an optional exponential decay. */
struct sine_spec {
    double freq_hz;
    float amp;         /* peak amplitude (envelope peak is 1) */
    double attack_ms;  /* raised-cosine fade in */
    double release_ms; /* raised-cosine fade out at the event's end */
    double tau_ms;     /* exponential decay time constant; 0 = sustain */
};

static void add_sine(const struct sine_spec *s, uint64_t len, uint64_t o0, float *mono, size_t n,
                     uint32_t rate_hz)
{
    if (s->freq_hz > TONE_MAX_PARTIAL * rate_hz) return;
    uint64_t att = fade_frames(s->attack_ms, len, rate_hz);
    uint64_t rel = fade_frames(s->release_ms, len, rate_hz);
    double inc = s->freq_hz / rate_hz;                                   /* cycles per frame */
    double decay = s->tau_ms > 0 ? 1000.0 / (s->tau_ms * rate_hz) : 0.0; /* per frame */
    const float amp = s->amp;
    float tmp[TONE_CHUNK];
    double ebuf[TONE_CHUNK];
    for (size_t done = 0; done < n; done += TONE_CHUNK) {
        int m = n - done < TONE_CHUNK ? (int)(n - done) : TONE_CHUNK;
        uint64_t o = o0 + done;
        double t0 = (double)(int64_t)o + 0.5; /* frame midpoint; t0 + j is exact */
        FOR_CHUNK(j, m, tmp[j] = amp * sin_cycles((t0 + (double)j) * inc););
        if (decay > 0) {
            /* The decay starts once the attack is done, so the peak is ~amp. */
            int j0 = o >= att ? 0 : (att - o < (uint64_t)m ? (int)(att - o) : m);
            exp_fill(ebuf, m - j0, o + (uint64_t)j0 - att, -decay);
            for (int j = j0; j < m; j++)
                tmp[j] *= (float)ebuf[j - j0];
        }
        apply_fades(tmp, m, o, len, att, rel);
        accumulate(mono + done, tmp, m);
    }
}

/* Breath: an exponential (log-frequency) glide from f0 to f1 over the whole
 * event, so each octave takes equal time and it sounds like an even rise.
 * f(t) = f0 * exp(k t) with k = ln(f1/f0) / len; the phase is its closed-form
 * integral f0 (exp(k t) - 1) / k, so nothing accumulates. A soft 2nd
 * harmonic adds warmth. */
#define BREATH_LOW_HZ 220.0
#define BREATH_HIGH_HZ 440.0
#define BREATH_AMP1 0.125f
#define BREATH_AMP2 0.025f
#define BREATH_FADE_MS 80.0

static void add_sweep(double f0_hz, double f1_hz, uint64_t len, uint64_t o0, float *mono, size_t n,
                      uint32_t rate_hz)
{
    uint64_t fade = fade_frames(BREATH_FADE_MS, len, rate_hz);
    double k = log(f1_hz / f0_hz) / (double)len; /* per frame */
    double scale = f0_hz / rate_hz / k;          /* cycles per unit of exp(kt) - 1 */
    double top_hz = f0_hz > f1_hz ? f0_hz : f1_hz;
    const float a1 = BREATH_AMP1;
    const float a2 = 2.0 * top_hz <= TONE_MAX_PARTIAL * rate_hz ? BREATH_AMP2 : 0.0f;
    float tmp[TONE_CHUNK];
    double growth[TONE_CHUNK];
    for (size_t done = 0; done < n; done += TONE_CHUNK) {
        int m = n - done < TONE_CHUNK ? (int)(n - done) : TONE_CHUNK;
        uint64_t o = o0 + done;
        exp_fill(growth, m, o, k);
        FOR_CHUNK(j, m, double cyc = scale * (growth[j] - 1.0);
                  tmp[j] = a1 * sin_cycles(cyc) + a2 * sin_cycles(2.0 * cyc););
        apply_fades(tmp, m, o, len, fade, fade);
        accumulate(mono + done, tmp, m);
    }
}

/* Bell: inharmonic partials (ratios of a struck bar) that die away faster
 * the higher they are; decay rates 1x, 2x, 4x so one exp serves all three. */
#define BELL_HZ 660.0
#define BELL_TAU_MS 1200.0
static const double bell_ratio[3] = {1.0, 2.76, 5.4};
static const float bell_amp[3] = {0.22f, 0.12f, 0.06f};

static void add_bell(uint64_t len, uint64_t o0, float *mono, size_t n, uint32_t rate_hz)
{
    uint64_t att = fade_frames(2.0, len, rate_hz);
    uint64_t rel = fade_frames(200.0, len, rate_hz);
    double decay = 1000.0 / (BELL_TAU_MS * rate_hz); /* per frame */
    double inc[3];
    float amp[3];
    for (int p = 0; p < 3; p++) {
        inc[p] = BELL_HZ * bell_ratio[p] / rate_hz;
        amp[p] = BELL_HZ * bell_ratio[p] <= TONE_MAX_PARTIAL * rate_hz ? bell_amp[p] : 0.0f;
    }
    const double i0 = inc[0], i1 = inc[1], i2 = inc[2];
    const float a0 = amp[0], a1 = amp[1], a2 = amp[2];
    float tmp[TONE_CHUNK];
    double ebuf[TONE_CHUNK];
    for (size_t done = 0; done < n; done += TONE_CHUNK) {
        int m = n - done < TONE_CHUNK ? (int)(n - done) : TONE_CHUNK;
        uint64_t o = o0 + done;
        double t0 = (double)(int64_t)o + 0.5;
        exp_fill(ebuf, m, o, -decay);
        FOR_CHUNK(j, m, double t = t0 + (double)j; float e1 = (float)ebuf[j]; float e2 = e1 * e1;
                  tmp[j] = a0 * e1 * sin_cycles(t * i0) + a1 * e2 * sin_cycles(t * i1) +
                           a2 * (e2 * e2) * sin_cycles(t * i2););
        apply_fades(tmp, m, o, len, att, rel);
        accumulate(mono + done, tmp, m);
    }
}

/* The keep-alive (tone.h says why this signal and level): a sine whose
 * phase is the absolute frame's, faded only at the ends the variant names. */
static void add_keepalive(const struct event *e, uint64_t o0, float *mono, size_t n,
                          uint32_t rate_hz)
{
    uint64_t len = e->len_frames;
    uint64_t fade = fade_frames(TONE_KEEPALIVE_FADE_MS, len, rate_hz);
    uint64_t att = e->variant & TONE_KEEPALIVE_FADE_IN ? fade : 0;
    uint64_t rel = e->variant & TONE_KEEPALIVE_FADE_OUT ? fade : 0;
    const double inc = TONE_KEEPALIVE_HZ / rate_hz;
    const float amp = TONE_KEEPALIVE_AMP;
    float tmp[TONE_CHUNK];
    for (size_t done = 0; done < n; done += TONE_CHUNK) {
        int m = n - done < TONE_CHUNK ? (int)(n - done) : TONE_CHUNK;
        uint64_t o = o0 + done;
        double t0 = (double)(int64_t)(e->frame + o) + 0.5;
        FOR_CHUNK(j, m, tmp[j] = amp * sin_cycles((t0 + (double)j) * inc););
        if (att || rel) apply_fades(tmp, m, o, len, att, rel);
        accumulate(mono + done, tmp, m);
    }
}

/* Tempo phases: a rising run of pitches (C5 E5 G5 B5 D6 F6), cycling. */
static const double phase_hz[6] = {523.25, 659.26, 783.99, 987.77, 1174.66, 1396.91};

/* The single-partial kinds. */
static const struct sine_spec click_spec = {1800.0, 0.20f, 1.0, 4.0, 4.0};
static const struct sine_spec accent_spec = {2400.0, 0.28f, 1.0, 4.0, 5.0};
static const struct sine_spec beep_spec = {880.0, 0.30f, 5.0, 5.0, 0.0};
static const struct sine_spec final_spec = {1320.0, 0.30f, 5.0, 5.0, 0.0};
static const struct sine_spec hold_spec = {330.0, 0.08f, BREATH_FADE_MS, BREATH_FADE_MS, 0.0};
#define PHASE_AMP 0.25f

/* Acknowledgements of live commands: one short note each, pitched by kind
 * (pause low, resume higher, seek, volume, refused lowest). */
static const double ack_hz[5] = {440.0, 660.0, 550.0, 880.0, 330.0};
#define ACK_AMP 0.25f

uint64_t tone_default_len(enum event_kind k, uint32_t rate_hz)
{
    uint64_t ms;
    switch (k) {
    case EV_CLICK:
        ms = 20;
        break;
    case EV_CLICK_ACCENT:
        ms = 25;
        break;
    case EV_BEEP:
        ms = 120;
        break;
    case EV_BEEP_FINAL:
        ms = 400;
        break;
    case EV_PHASE:
        ms = 150;
        break;
    case EV_BELL:
        ms = 2500;
        break;
    case EV_ACK:
        ms = 90;
        break;
    default:
        return 0; /* speech, breath: the planner decides */
    }
    return (ms * rate_hz + 500) / 1000;
}

float tone_peak(enum event_kind k)
{
    switch (k) {
    case EV_CLICK:
        return click_spec.amp;
    case EV_CLICK_ACCENT:
        return accent_spec.amp;
    case EV_BEEP:
        return beep_spec.amp;
    case EV_BEEP_FINAL:
        return final_spec.amp;
    case EV_BREATH_IN:
    case EV_BREATH_OUT:
        return BREATH_AMP1 + BREATH_AMP2;
    case EV_BREATH_HOLD:
        return hold_spec.amp;
    case EV_PHASE:
        return PHASE_AMP;
    case EV_BELL:
        return bell_amp[0] + bell_amp[1] + bell_amp[2];
    case EV_ACK:
        return ACK_AMP;
    case EV_KEEPALIVE:
        return TONE_KEEPALIVE_AMP;
    default:
        return 0.0f;
    }
}

void tone_add(const struct event *e, uint64_t offset, float *mono, size_t n, uint32_t rate_hz)
{
    uint64_t len = e->len_frames;
    if (rate_hz == 0 || offset >= len) return;
    if (n > len - offset) n = (size_t)(len - offset);
    switch ((enum event_kind)e->kind) {
    case EV_CLICK:
        add_sine(&click_spec, len, offset, mono, n, rate_hz);
        break;
    case EV_CLICK_ACCENT:
        add_sine(&accent_spec, len, offset, mono, n, rate_hz);
        break;
    case EV_BEEP:
        add_sine(&beep_spec, len, offset, mono, n, rate_hz);
        break;
    case EV_BEEP_FINAL:
        add_sine(&final_spec, len, offset, mono, n, rate_hz);
        break;
    case EV_BREATH_HOLD:
        add_sine(&hold_spec, len, offset, mono, n, rate_hz);
        break;
    case EV_BREATH_IN:
        add_sweep(BREATH_LOW_HZ, BREATH_HIGH_HZ, len, offset, mono, n, rate_hz);
        break;
    case EV_BREATH_OUT:
        add_sweep(BREATH_HIGH_HZ, BREATH_LOW_HZ, len, offset, mono, n, rate_hz);
        break;
    case EV_PHASE: {
        struct sine_spec s = {phase_hz[e->variant % 6], PHASE_AMP, 10.0, 20.0, 0.0};
        add_sine(&s, len, offset, mono, n, rate_hz);
        break;
    }
    case EV_BELL:
        add_bell(len, offset, mono, n, rate_hz);
        break;
    case EV_ACK: {
        struct sine_spec s = {ack_hz[e->variant % 5], ACK_AMP, 5.0, 5.0, 0.0};
        add_sine(&s, len, offset, mono, n, rate_hz);
        break;
    }
    case EV_KEEPALIVE:
        add_keepalive(e, offset, mono, n, rate_hz);
        break;
    default:
        break; /* speech is not a tone */
    }
}
