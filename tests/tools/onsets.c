/* coach-onsets: measures a coach recording the way the end-to-end test needs
 * it. Tone onsets are found per kind by complex demodulation at the tone's
 * frequency (a running boxcar mean of x[n] e^{-i w n}, i.e. a narrow band
 * envelope); a candidate is where that envelope rises through an absolute
 * threshold, its onset is the 50 % point of the rise to the local peak
 * (interpolated to a fraction of a sample) minus a per-kind constant measured
 * at start-up on a synthetic tone made like src/tone.c makes it. Candidates
 * must be spectrally pure (the envelope a few bandwidths beside the tone is
 * much lower) and have the tone's shape in time (a beep stays up for its
 * length, a click dies away), which rejects speech that happens to have
 * energy at the tone's pitch. Speech is found with a short-time spectrum:
 * energy in 300-3000 Hz after removing isolated spectral peaks (every tone
 * the coach makes is a few pure partials; voiced speech is a dense comb).
 * --compare detects both files with the same detector, aligns them by voting
 * over onset pairs, and checks every onset, the spacing and for dropouts,
 * allowing one pause or one jump (`coach ctl pause/next`) in the capture.
 * It is a test tool: plain, slow enough not to matter, not real-time. */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static int verbose;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("coach-onsets: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) die("out of memory");
    return p;
}

/* ---- audio ---------------------------------------------------------- */

struct audio {
    float *x; /* mono samples (channels averaged) */
    size_t n; /* frames */
    int rate_hz;
};

static void audio_read(const char *path, struct audio *a)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) die("%s: %s", path, sf_strerror(NULL));
    if (info.channels < 1 || info.frames <= 0) die("%s: no audio", path);
    size_t n = (size_t)info.frames, ch = (size_t)info.channels;
    float *buf = xcalloc(4096 * ch, sizeof(float));
    a->x = xcalloc(n, sizeof(float));
    a->rate_hz = info.samplerate;
    size_t done = 0;
    sf_count_t got;
    while (done < n && (got = sf_readf_float(f, buf, 4096)) > 0) {
        for (sf_count_t i = 0; i < got && done < n; i++, done++) {
            float s = 0;
            for (size_t c = 0; c < ch; c++)
                s += buf[(size_t)i * ch + c];
            a->x[done] = s / (float)ch;
        }
    }
    a->n = done;
    free(buf);
    sf_close(f);
}

/* ---- tone kinds ------------------------------------------------------ */

/* What each detectable tone is (the synthesis fields mirror src/tone.c, so
 * the detector can calibrate itself on an ideal copy) and how to find it. */
struct kind {
    const char *name; /* as in `coach plan --json` */
    double freq_hz;
    double win_ms; /* demodulation window: bandwidth ~ 1 / win */
    double len_ms; /* nominal tone length */
    double att_ms; /* raised-cosine attack */
    double rel_ms; /* raised-cosine release */
    double tau_ms; /* exponential decay after the attack; 0 = steady */
    float amp;     /* peak amplitude before ducking */
    float thr;     /* absolute envelope threshold for a candidate */
    float purity;  /* envelope at f / envelope at f +- 2 bandwidths */
    /* filled at start-up from an ideal tone (calibrate) */
    double calib; /* detected - true onset, frames */
    float *shape; /* its envelope / peak, frames [-shape_pre, shape_post) */
    size_t shape_pre, shape_post;
};

/* clang-format off */
/* The 659 Hz phase tone is left out on purpose: the bell rings at 660 Hz
 * and live commands are acknowledged by 90 ms notes at 440, 660, 550 (near
 * the 523 Hz phase tone) and 880 Hz (the beep's pitch); being shorter than
 * any steady tone here, those fail the steadiness test. */
#define KIND(nm, f, win, len, att, rel, tau, a, th, pur)                                          \
    {.name = nm, .freq_hz = f, .win_ms = win, .len_ms = len, .att_ms = att, .rel_ms = rel,       \
     .tau_ms = tau, .amp = a, .thr = th, .purity = pur}
static struct kind kinds[] = {
    /*   name            Hz       win  len  att rel tau  amp    thr     purity */
    KIND("beep",         880.0,   10,  120, 5,  5,  0,   0.30f, 0.02f,  4.0f),
    KIND("beep-final",   1320.0,  10,  400, 5,  5,  0,   0.30f, 0.02f,  4.0f),
    KIND("click",        1800.0,  5,   20,  1,  4,  4,   0.20f, 0.012f, 2.5f),
    KIND("click-accent", 2400.0,  5,   25,  1,  4,  5,   0.28f, 0.012f, 2.5f),
    KIND("phase",        523.25,  10,  150, 10, 20, 0,   0.25f, 0.02f,  4.0f),
    KIND("phase",        783.99,  10,  150, 10, 20, 0,   0.25f, 0.02f,  4.0f),
    KIND("phase",        987.77,  10,  150, 10, 20, 0,   0.25f, 0.02f,  4.0f),
};
/* clang-format on */
#define N_KINDS (int)(sizeof kinds / sizeof kinds[0])

/* Samples of the ideal tone of kind k (as src/tone.c: sample o at its
 * frame midpoint, sin^2 fades, decay starting after the attack). */
static void synth_tone(const struct kind *k, int rate_hz, float *out, size_t len)
{
    size_t att = (size_t)(k->att_ms * rate_hz / 1000.0 + 0.5);
    size_t rel = (size_t)(k->rel_ms * rate_hz / 1000.0 + 0.5);
    if (att > len / 2) att = len / 2;
    if (rel > len / 2) rel = len / 2;
    if (!att) att = 1;
    if (!rel) rel = 1;
    for (size_t o = 0; o < len; o++) {
        double t = (double)o + 0.5;
        double v = k->amp * sin(2 * M_PI * k->freq_hz * t / rate_hz);
        if (k->tau_ms > 0 && o >= att)
            v *= exp(-((double)(o - att) + 0.5) * 1000.0 / (k->tau_ms * rate_hz));
        if (o < att) {
            double s = sin(2 * M_PI * t * 0.25 / (double)att);
            v *= s * s;
        }
        if (o >= len - rel) {
            double s = sin(2 * M_PI * ((double)(len - 1 - o) + 0.5) * 0.25 / (double)rel);
            v *= s * s;
        }
        out[o] = (float)v;
    }
}

/* ---- narrow-band envelope -------------------------------------------- */

/* env[n] = 2/W |sum_{m=n-W+1..n} x[m] e^{-i 2 pi f m / rate}|: the amplitude
 * of a steady sine at f once it has filled the window. The rotating phasor
 * is recomputed exactly every 1024 samples so it never drifts. */
static void envelope(const float *x, size_t n, int rate_hz, double f, size_t w, float *env)
{
    double wstep = -2 * M_PI * f / rate_hz;
    double cr = cos(wstep), ci = sin(wstep);
    double *zr = xcalloc(w, sizeof(double)), *zi = xcalloc(w, sizeof(double));
    double sr = 0, si = 0, pr = 1, pi = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 1023) == 0) {
            double ph = fmod((double)i * f / rate_hz, 1.0) * -2 * M_PI;
            pr = cos(ph);
            pi = sin(ph);
        }
        double ar = x[i] * pr, ai = x[i] * pi;
        size_t slot = i % w;
        sr += ar - zr[slot];
        si += ai - zi[slot];
        zr[slot] = ar;
        zi[slot] = ai;
        env[i] = (float)(2.0 / (double)w * sqrt(sr * sr + si * si));
        double t = pr * cr - pi * ci;
        pi = pr * ci + pi * cr;
        pr = t;
    }
    free(zr);
    free(zi);
}

/* ---- onset detection -------------------------------------------------- */

struct onset {
    double pos; /* frames, fractional */
    int kind;   /* index into kinds[] */
    float peak; /* local envelope peak (level after ducking) */
};

struct onsets {
    struct onset *v;
    size_t n, cap;
};

static void onsets_push(struct onsets *o, struct onset e)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 64;
        o->v = realloc(o->v, o->cap * sizeof *o->v);
        if (!o->v) die("out of memory");
    }
    o->v[o->n++] = e;
}

static int cmp_onset(const void *a, const void *b)
{
    const struct onset *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static size_t ms_frames(double ms, int rate_hz)
{
    return (size_t)(ms * rate_hz / 1000.0 + 0.5);
}

/* RMS difference between the envelope around a candidate (scaled by its
 * peak) and the ideal tone's: the rise of a beep, the whole of a click, and
 * the quiet before either. Speech that has a moment of energy at the tone's
 * pitch rarely has the tone's attack and decay. */
#define SHAPE_MAX_DEV 0.08f
static float shape_dev(const struct kind *kd, const float *e0, size_t n, double start, float p)
{
    if (!kd->shape || p <= 0) return 0.0f;
    long s0 = lrint(start);
    double sum = 0;
    size_t cnt = 0;
    for (size_t k = 0; k < kd->shape_pre + kd->shape_post; k++) {
        long i = s0 - (long)kd->shape_pre + (long)k;
        float v = (i >= 0 && (size_t)i < n) ? e0[i] / p : 0.0f;
        double d = v - kd->shape[k];
        sum += d * d;
        cnt++;
    }
    return (float)sqrt(sum / (double)cnt);
}

/* The ideal envelope (relative to its peak) at t frames after the onset,
 * linearly interpolated; 0 before the onset. */
static double shape_at(const struct kind *kd, double t)
{
    double u = t + (double)kd->shape_pre;
    if (u <= 0) return 0.0;
    size_t i = (size_t)u;
    if (i + 1 >= kd->shape_pre + kd->shape_post)
        return kd->shape[kd->shape_pre + kd->shape_post - 1];
    double f = u - (double)i;
    return kd->shape[i] * (1 - f) + kd->shape[i + 1] * f;
}

/* Refines an onset estimate s0 by fitting the ideal envelope to the one
 * measured: e[i] ~ a * shape(i - s) + b, least squares in a and b for each
 * s on a 1/8-frame grid within +-range; returns the best s. Using the whole
 * rise (and the baseline b) makes the estimate far less sensitive to speech
 * in the band than a single threshold crossing. */
static double refine_onset(const struct kind *kd, const float *e0, size_t n, double s0,
                           double range)
{
    if (!kd->shape) return s0;
    long i0 = lrint(s0) - (long)kd->shape_pre, i1 = lrint(s0) + (long)kd->shape_post;
    if (i0 < 0) i0 = 0;
    if (i1 > (long)n) i1 = (long)n;
    double best_s = s0, best_r = INFINITY;
    /* a 1-frame grid over the range, then 1/8 frame around the best */
    for (int pass = 0; pass < 2; pass++) {
        double step = pass ? 0.125 : 1.0, c = pass ? best_s : s0, span = pass ? 1.0 : range;
        for (double s = c - span; s <= c + span + 1e-9; s += step) {
            double st = 0, stt = 0, se = 0, ste = 0, see = 0, m = 0;
            for (long i = i0; i < i1; i++) {
                double t = shape_at(kd, (double)i - s), e = e0[i];
                st += t;
                stt += t * t;
                se += e;
                ste += t * e;
                see += e * e;
                m++;
            }
            double det = m * stt - st * st;
            if (det <= 0) continue;
            double a = (m * ste - st * se) / det, b = (se - a * st) / m;
            /* residual sum of squares of the fit */
            double r = see - a * ste - b * se;
            if (a > 0 && r < best_r) {
                best_r = r;
                best_s = s;
            }
        }
    }
    return best_s;
}

/* Finds onsets of kind k in x; thr_scale scales the absolute threshold
 * (for a capture recorded at another level). Appends to out. */
static void detect_kind(const float *x, size_t n, int rate_hz, int k, float thr_scale,
                        struct onsets *out)
{
    const struct kind *kd = &kinds[k];
    size_t w = ms_frames(kd->win_ms, rate_hz);
    size_t att = ms_frames(kd->att_ms, rate_hz), len = ms_frames(kd->len_ms, rate_hz);
    double side_hz = 2.0 * rate_hz / (double)w; /* 2nd null of the boxcar */
    float *e0 = xcalloc(n, sizeof(float)), *el = xcalloc(n, sizeof(float));
    float *eh = xcalloc(n, sizeof(float));
    envelope(x, n, rate_hz, kd->freq_hz, w, e0);
    envelope(x, n, rate_hz, kd->freq_hz - side_hz, w, el);
    envelope(x, n, rate_hz, kd->freq_hz + side_hz, w, eh);
    float thr = kd->thr * thr_scale;
    int armed = 1;
    size_t i = 1;
    while (i < n) {
        if (!armed) {
            if (e0[i] < 0.7f * thr) armed = 1; /* hysteresis: re-arm well below */
            i++;
            continue;
        }
        if (e0[i] < thr) {
            i++;
            continue;
        }
        /* Local peak: the top of the rise (window + attack, a little slack). */
        size_t end = i + w + att + ms_frames(3, rate_hz);
        if (end > n) end = n;
        size_t ip = i;
        for (size_t j = i; j < end; j++)
            if (e0[j] > e0[ip]) ip = j;
        float p = e0[ip];
        /* 50 % point of the rise, searched backwards from the peak. */
        size_t lo = i > w + att ? i - w - att : 0;
        size_t j = ip;
        while (j > lo && e0[j - 1] >= 0.5f * p)
            j--;
        double pos;
        if (j == 0 || e0[j - 1] >= 0.5f * p)
            pos = (double)j;
        else
            pos = (double)(j - 1) + (0.5 * p - e0[j - 1]) / (double)(e0[j] - e0[j - 1]);
        double start = pos - kd->calib; /* estimated true onset */
        int ok = 1;
        const char *why = "";
        float side = el[ip] > eh[ip] ? el[ip] : eh[ip];
        float dev = shape_dev(kd, e0, n, start, p);
        if (p < kd->purity * side) {
            ok = 0;
            why = "impure";
        } else if (dev > SHAPE_MAX_DEV) {
            ok = 0;
            why = "shape";
        } else if (kd->tau_ms > 0) {
            /* A click has died away soon after its length. */
            size_t a = (size_t)(start + (double)(len + w)) + ms_frames(10, rate_hz);
            size_t b = a + ms_frames(10, rate_hz);
            for (size_t m = a; m < b && m < n && ok; m++)
                if (e0[m] > 0.35f * p) {
                    ok = 0;
                    why = "no decay";
                }
        } else {
            /* A beep stays up (ducking may lower it to 1/4) for its length. */
            size_t a = ip, b = (size_t)(start + (double)len);
            size_t low = 0, tot = 0;
            for (size_t m = a; m < b && m < n; m++, tot++)
                if (e0[m] < 0.18f * p) low++;
            if (b > n || low * 10 > tot) {
                ok = 0;
                why = "not steady";
            }
        }
        if (verbose > 1)
            fprintf(stderr, "  %s cand %.2f peak %.4f side %.4f dev %.3f %s\n", kd->name, start, p,
                    side, dev, ok ? "ok" : why);
        if (ok) {
            start = refine_onset(kd, e0, n, start, 0.5 * (double)w);
            onsets_push(out, (struct onset){start, k, p});
            /* Skip the tone itself, then wait to re-arm. */
            size_t next = (size_t)(start + (double)(len + w));
            i = next > ip + 1 ? next : ip + 1;
            armed = 0;
        } else {
            i = ip + 1;
            armed = 0;
        }
    }
    free(e0);
    free(el);
    free(eh);
}

static void detect_all(const struct audio *a, float thr_scale, struct onsets *out)
{
    out->n = 0;
    for (int k = 0; k < N_KINDS; k++)
        detect_kind(a->x, a->n, a->rate_hz, k, thr_scale, out);
    qsort(out->v, out->n, sizeof *out->v, cmp_onset);
}

/* Runs the detector on an ideal tone of each kind placed at a known frame
 * and keeps the difference: onsets are then unbiased for undistorted tones. */
static void calibrate(int rate_hz)
{
    size_t pre = (size_t)rate_hz / 10;
    for (int k = 0; k < N_KINDS; k++) {
        struct kind *kd = &kinds[k];
        size_t len = ms_frames(kd->len_ms, rate_hz);
        size_t n = pre + len + (size_t)rate_hz / 5;
        float *x = xcalloc(n, sizeof(float));
        synth_tone(kd, rate_hz, x + pre, len);
        struct onsets o = {0};
        kd->calib = 0;
        kd->shape = NULL;
        detect_kind(x, n, rate_hz, k, 1.0f, &o);
        if (o.n != 1) die("calibration: %s at %.0f Hz found %zu times", kd->name, kd->freq_hz, o.n);
        kd->calib = o.v[0].pos - (double)pre;
        /* The envelope's shape: the quiet before, the rise, and for a click
         * (which must match as a whole) its decay too. */
        size_t w = ms_frames(kd->win_ms, rate_hz), att = ms_frames(kd->att_ms, rate_hz);
        kd->shape_pre = w;
        kd->shape_post = kd->tau_ms > 0 ? len + w : w + att + ms_frames(2, rate_hz);
        float *e = xcalloc(n, sizeof(float));
        envelope(x, n, rate_hz, kd->freq_hz, w, e);
        kd->shape = xcalloc(kd->shape_pre + kd->shape_post, sizeof(float));
        for (size_t k = 0; k < kd->shape_pre + kd->shape_post; k++)
            kd->shape[k] = e[pre - kd->shape_pre + k] / o.v[0].peak;
        free(e);
        if (verbose)
            fprintf(stderr, "calib %s %.2f Hz: %.3f frames\n", kd->name, kd->freq_hz, kd->calib);
        free(o.v);
        free(x);
    }
}

/* ---- speech ------------------------------------------------------------ */

/* In-place radix-2 complex FFT, n a power of two. */
static void fft(double *re, double *im, size_t n)
{
    for (size_t i = 1, j = 0; i < n; i++) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j |= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (size_t len = 2; len <= n; len <<= 1) {
        double ang = -2 * M_PI / (double)len;
        for (size_t i = 0; i < n; i += len) {
            for (size_t k = 0; k < len / 2; k++) {
                double wr = cos(ang * (double)k), wi = sin(ang * (double)k);
                double ur = re[i + k], ui = im[i + k];
                double vr = re[i + k + len / 2] * wr - im[i + k + len / 2] * wi;
                double vi = re[i + k + len / 2] * wi + im[i + k + len / 2] * wr;
                re[i + k] = ur + vr;
                im[i + k] = ui + vi;
                re[i + k + len / 2] = ur - vr;
                im[i + k + len / 2] = ui - vi;
            }
        }
    }
}

#define SP_N 1024 /* frame: 21 ms at 48 kHz */
#define SP_LO_HZ 300.0
#define SP_HI_HZ 3000.0
#define SP_TONAL 1000.0 /* a peak 30 dB over its surroundings is a tone */
#define SP_PEAKS 6      /* at most this many tones removed per frame */

struct seg {
    double start, end; /* frames */
};

struct segs {
    struct seg *v;
    size_t n, cap;
};

static void segs_push(struct segs *s, double a, double b)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) die("out of memory");
    }
    s->v[s->n++] = (struct seg){a, b};
}

/* Level (dB re full-scale sine) of the non-tonal energy in 300-3000 Hz for
 * frames centred every hop samples. A Blackman-Harris window keeps a pure
 * tone inside +-4 bins (sidelobes < -92 dB), so a tone is removed by
 * zeroing 9 bins; speech harmonics (100-250 Hz apart) are never that
 * isolated, so they stay. */
static float *speech_levels(const struct audio *a, size_t hop, size_t *n_frames)
{
    size_t nf = a->n / hop + 1;
    float *lev = xcalloc(nf, sizeof(float));
    double win[SP_N], re[SP_N], im[SP_N], pw[SP_N / 2];
    double wsum = 0;
    for (int i = 0; i < SP_N; i++) {
        double t = 2 * M_PI * (i + 0.5) / SP_N;
        win[i] = 0.35875 - 0.48829 * cos(t) + 0.14128 * cos(2 * t) - 0.01168 * cos(3 * t);
        wsum += win[i];
    }
    double bin_hz = (double)a->rate_hz / SP_N;
    int lo = (int)(SP_LO_HZ / bin_hz), hi = (int)(SP_HI_HZ / bin_hz);
    for (size_t f = 0; f < nf; f++) {
        long c = (long)(f * hop) - SP_N / 2; /* frame f is centred on sample f * hop */
        for (int i = 0; i < SP_N; i++) {
            long s = c + i;
            re[i] = (s >= 0 && (size_t)s < a->n) ? a->x[s] * win[i] : 0.0;
            im[i] = 0;
        }
        fft(re, im, SP_N);
        for (int i = 0; i < SP_N / 2; i++)
            pw[i] = re[i] * re[i] + im[i] * im[i];
        /* Remove isolated peaks (tones), strongest first, while they are
         * clearly tonal: 30 dB above the spectrum 6 bins away on both sides. */
        for (int t = 0; t < SP_PEAKS; t++) {
            /* search a little beyond the band: a tone just outside it
             * still spreads its main lobe in */
            int best = -1;
            for (int i = lo > 9 ? lo - 8 : 1; i <= hi + 8 && i < SP_N / 2 - 9; i++)
                if (best < 0 || pw[i] > pw[best]) best = i;
            if (best < 0 || pw[best] <= 0) break;
            /* the surroundings: the loudest bin 6-9 away on each side, and
             * the quieter side of the two, so that one other tone nearby (a
             * harmonic) does not hide a tone; voiced speech is a comb of
             * harmonics a few bins apart, loud on both sides */
            double side[2] = {0, 0};
            for (int d = 6; d <= 9; d++) {
                double l = best - d >= 0 ? pw[best - d] : 0, h = pw[best + d];
                if (l > side[0]) side[0] = l;
                if (h > side[1]) side[1] = h;
            }
            double around = side[0] < side[1] ? side[0] : side[1];
            if (verbose > 1)
                fprintf(stderr, "  frame %zu (%.3f s): peak %.0f Hz %.1f dB over surroundings\n", f,
                        (double)(f * hop) / a->rate_hz, best * bin_hz,
                        10 * log10(pw[best] / (around + 1e-30)));
            if (pw[best] < SP_TONAL * around) break;
            for (int i = best > 5 ? best - 5 : 0; i <= best + 5; i++)
                pw[i] = 0;
        }
        double e = 0;
        for (int i = lo; i <= hi; i++)
            e += pw[i];
        /* A full-scale sine gives (wsum/2)^2 in its peak bin, ~1.6x that
         * summed over the main lobe: close enough for a level. */
        double ref = (wsum / 2) * (wsum / 2);
        lev[f] = (float)(10 * log10(e / ref + 1e-20));
        if (verbose > 1)
            fprintf(stderr, "frame %zu (%.3f s): %.1f dB\n", f, (double)(f * hop) / a->rate_hz,
                    lev[f]);
    }
    *n_frames = nf;
    return lev;
}

#define SP_THR_DB -50.0 /* speech frames are louder than this */
#define SP_MIN_MS 60.0  /* shorter bursts are tone transients (clicks) */
#define SP_GAP_MS 60.0  /* gaps shorter than this are inside a phrase */

static void detect_speech(const struct audio *a, struct segs *out)
{
    size_t hop = (size_t)a->rate_hz / 200; /* 5 ms */
    size_t nf;
    float *lev = speech_levels(a, hop, &nf);
    struct segs raw = {0};
    size_t f = 0;
    while (f < nf) {
        if (lev[f] < SP_THR_DB) {
            f++;
            continue;
        }
        size_t g = f;
        while (g < nf && lev[g] >= SP_THR_DB)
            g++;
        /* The run covers frames [f, g): from half a hop before the first
         * centre to half a hop after the last. */
        segs_push(&raw, (double)f * hop - hop / 2.0, (double)(g - 1) * hop + hop / 2.0);
        f = g;
    }
    out->n = 0;
    double gap = SP_GAP_MS * a->rate_hz / 1000.0, minlen = SP_MIN_MS * a->rate_hz / 1000.0;
    for (size_t r = 0; r < raw.n; r++) {
        struct seg s = raw.v[r];
        if (s.start < 0) s.start = 0;
        if (out->n && s.start - out->v[out->n - 1].end < gap)
            out->v[out->n - 1].end = s.end;
        else
            segs_push(out, s.start, s.end);
    }
    size_t k = 0;
    for (size_t r = 0; r < out->n; r++)
        if (out->v[r].end - out->v[r].start >= minlen) out->v[k++] = out->v[r];
    out->n = k;
    free(raw.v);
    free(lev);
}

/* ---- compare ------------------------------------------------------------ */

/* Levels for the dropout check: the reference's broadband RMS per block of
 * BLOCK_MS, and the capture's running sum of squares, so its RMS over the
 * frames any reference block maps to (at any offset) is exact and O(1). */
#define BLOCK_MS 5.0
#define SIGNAL_RMS 0.003f /* ~ -50 dBFS: quieter reference blocks claim nothing */
struct levels {
    size_t blk;     /* frames per block */
    float *ref_rms; /* per reference block */
    size_t n_blk;
    double *cap_sq; /* cap_sq[i] = sum of x^2 over capture frames [0, i) */
    size_t cap_n;
    float gain; /* capture level / reference level */
};

static void levels_init(struct levels *lv, const struct audio *ref, const struct audio *cap,
                        size_t blk)
{
    lv->blk = blk;
    lv->n_blk = ref->n / blk;
    lv->ref_rms = xcalloc(lv->n_blk + 1, sizeof(float));
    for (size_t b = 0; b < lv->n_blk; b++) {
        double s = 0;
        for (size_t i = 0; i < blk; i++)
            s += (double)ref->x[b * blk + i] * ref->x[b * blk + i];
        lv->ref_rms[b] = (float)sqrt(s / (double)blk);
    }
    lv->cap_n = cap->n;
    lv->cap_sq = xcalloc(cap->n + 1, sizeof(double));
    for (size_t i = 0; i < cap->n; i++)
        lv->cap_sq[i + 1] = lv->cap_sq[i] + (double)cap->x[i] * cap->x[i];
    lv->gain = 1.0f;
}

/* Reference block b heard at offset off (frames): 0 if the reference is
 * quiet there (no claim), +1 if the capture has sound too (at least -20 dB
 * of what the reference has), -1 if it is silent or the capture has ended.
 * With same, +1 needs the capture's level within 3 dB of the reference's:
 * to tell where a stretch of the reference starts or stops being heard. */
static int block_ok(const struct levels *lv, long b, double off, int same)
{
    if (b < 0 || (size_t)b >= lv->n_blk) return 0;
    float r = lv->ref_rms[b];
    if (r < SIGNAL_RMS) return 0;
    long c0 = lrint((double)b * (double)lv->blk + off);
    if (c0 < 0 || (size_t)c0 + lv->blk > lv->cap_n) return -1;
    double sq = lv->cap_sq[c0 + (long)lv->blk] - lv->cap_sq[c0];
    double c = sqrt((sq > 0 ? sq : 0) / (double)lv->blk);
    double want = lv->gain * r;
    if (same) return c >= want * 0.708 && c <= want * 1.413 ? 1 : -1;
    return c >= 0.1 * want ? 1 : -1;
}

/* One stretch of the reference heard in the capture at a constant offset:
 * reference frames [ref_lo, ref_hi) appear at capture frame ref + off. */
struct piece {
    double ref_lo, ref_hi;
    double off;
};

/* The offset d in [dlo, dhi] that makes the most onsets of ref (within
 * [rlo, rhi)) meet an onset of the same kind in cap at r + d (+- tol).
 * Candidates are all pairwise differences; ties go to the earliest pair. */
static int vote_offset(const struct onsets *ref, const struct onsets *cap, double rlo, double rhi,
                       double dlo, double dhi, double tol, double *best_d)
{
    int best = 0;
    for (size_t i = 0; i < ref->n; i++) {
        const struct onset *r = &ref->v[i];
        if (r->pos < rlo || r->pos >= rhi) continue;
        for (size_t j = 0; j < cap->n; j++) {
            const struct onset *c = &cap->v[j];
            double d = c->pos - r->pos;
            if (c->kind != r->kind || d < dlo || d > dhi) continue;
            int score = 0;
            size_t m = 0;
            for (size_t a = 0; a < ref->n; a++) {
                const struct onset *ra = &ref->v[a];
                if (ra->pos < rlo || ra->pos >= rhi) continue;
                double want = ra->pos + d;
                while (m < cap->n && cap->v[m].pos < want - tol)
                    m++;
                for (size_t b = m; b < cap->n && cap->v[b].pos <= want + tol; b++)
                    if (cap->v[b].kind == ra->kind) {
                        score++;
                        break;
                    }
            }
            if (score > best) {
                best = score;
                *best_d = d;
            }
        }
    }
    return best;
}

struct opts {
    double pause_at, pause_len; /* seconds; pause_len < 0: none */
    double jump_at, jump_to;    /* seconds; jump_at < 0: none */
    double tol_ms;              /* spacing tolerance */
    double cut_tol;             /* seconds: how far the given cut point may be off */
    double ref_end;             /* seconds: check the reference only up to here; < 0: all */
};

static int compare(const char *ref_path, const char *cap_path, const struct opts *op)
{
    struct audio ref, cap;
    audio_read(ref_path, &ref);
    audio_read(cap_path, &cap);
    if (ref.rate_hz != cap.rate_hz) die("rates differ: %d and %d Hz", ref.rate_hz, cap.rate_hz);
    const double rate = ref.rate_hz;
    calibrate(ref.rate_hz);
    struct onsets ro = {0}, co = {0};
    detect_all(&ref, 1.0f, &ro);
    detect_all(&cap, 1.0f, &co);
    if (ro.n == 0) die("%s: no tone onsets found", ref_path);

    /* The cut (pause or jump) splits the reference into a head and a tail. */
    int cut = op->pause_len >= 0 || op->jump_at >= 0;
    double cut_ref = cut ? (op->pause_len >= 0 ? op->pause_at : op->jump_at) * rate : 1e300;
    double tail_ref = op->jump_at >= 0 ? op->jump_to * rate : cut_ref;
    double slack = op->cut_tol * rate;
    double head_end = cut ? cut_ref - slack : 1e300;
    double tol = 0.002 * rate; /* matching window for the vote */

    struct piece head = {0, cut_ref, 0}, tail = {tail_ref, 1e300, 0};
    double d;
    int score = vote_offset(&ro, &co, 0, head_end, -1e300, 1e300, tol, &d);
    if (score == 0) {
        printf("FAIL no alignment: no onset of %s matches one in %s\n", ref_path, cap_path);
        return 1;
    }
    head.off = d;
    /* Level of the capture: median peak ratio over the aligned onsets. If it
     * is not ~1, detect the capture again with thresholds scaled to it. */
    float gain = 1.0f;
    {
        float *ratio = xcalloc(ro.n, sizeof(float));
        size_t nr = 0;
        for (size_t i = 0; i < ro.n; i++)
            for (size_t j = 0; j < co.n; j++)
                if (co.v[j].kind == ro.v[i].kind && fabs(co.v[j].pos - ro.v[i].pos - d) <= tol)
                    ratio[nr++] = co.v[j].peak / ro.v[i].peak;
        for (size_t a = 1; a < nr; a++) /* insertion sort: nr is small */
            for (size_t b = a; b > 0 && ratio[b - 1] > ratio[b]; b--) {
                float t = ratio[b];
                ratio[b] = ratio[b - 1];
                ratio[b - 1] = t;
            }
        if (nr) gain = ratio[nr / 2];
        free(ratio);
        if (fabsf(gain - 1.0f) > 0.05f && gain > 0.01f) detect_all(&cap, gain, &co);
    }
    printf("gain %.3f\n", gain);
    printf("offset %.2f\n", head.off);

    if (cut) {
        double expect, lo, hi;
        if (op->pause_len >= 0) {
            /* the length is measured by a wall clock: allow half a second */
            double len_slack = slack > 0.5 * rate ? slack : 0.5 * rate;
            expect = head.off + op->pause_len * rate;
            lo = expect - len_slack;
            hi = expect + len_slack;
        } else {
            /* after a jump, the tail starts somewhere after the cut: the
             * gap between them (acknowledgement, latency) is unknown */
            expect = head.off + cut_ref - tail_ref;
            lo = expect - slack;
            hi = expect + 10 * rate;
        }
        if (vote_offset(&ro, &co, tail_ref + (op->pause_len >= 0 ? slack : 0), 1e300, lo, hi, tol,
                        &d) == 0) {
            printf("FAIL no alignment after the %s\n", op->pause_len >= 0 ? "pause" : "jump");
            return 1;
        }
        tail.off = d;
    }

    /* Where exactly the head ends (and, for a pause, the tail starts): the
     * point that makes the most reference blocks with signal agree with the
     * capture, searched within cut_tol of the given point. */
    size_t blk = (size_t)(BLOCK_MS * rate / 1000.0);
    struct levels lv;
    levels_init(&lv, &ref, &cap, blk);
    lv.gain = gain;
    if (cut) {
        long c0 = lrint((cut_ref - slack) / blk), c1 = lrint((cut_ref + slack) / blk);
        if (c0 < 0) c0 = 0;
        long best_b = c0;
        int sum = 0, best_sum = -(1 << 30);
        /* score(p) = sum_{b<p} ok_head(b) + sum_{b>=p} ok_tail(b) (pause);
         * for a jump the tail is separate, so only the head part counts. */
        int base = 0;
        if (op->pause_len >= 0)
            for (long b = c0; b < c1; b++)
                base += block_ok(&lv, b, tail.off, 1);
        sum = base;
        for (long b = c0; b <= c1; b++) {
            if (sum > best_sum) {
                best_sum = sum;
                best_b = b;
            }
            sum += block_ok(&lv, b, head.off, 1);
            if (op->pause_len >= 0) sum -= block_ok(&lv, b, tail.off, 1);
        }
        /* An acknowledgement tone over the cut hides its exact place: the
         * given point (a frame from the coach's reply) wins over the one
         * found when everything between them is heard on its side. */
        long given = lrint(cut_ref / blk);
        if (op->pause_len >= 0 && given != best_b && labs(given - best_b) <= c1 - c0) {
            int heard = 1;
            for (long b = best_b < given ? best_b : given; b < (best_b < given ? given : best_b);
                 b++)
                if (block_ok(&lv, b, best_b < given ? head.off : tail.off, 0) < 0) heard = 0;
            if (heard) best_b = given;
        }
        head.ref_hi = best_b == given ? cut_ref : (double)best_b * blk;
        if (op->pause_len >= 0) tail.ref_lo = head.ref_hi;
        if (op->jump_at >= 0) {
            /* where the tail really starts: the first block from which the
             * capture keeps agreeing under the tail offset */
            long t0 = lrint((tail_ref - slack) / blk), t1 = lrint((tail_ref + 10 * rate) / blk);
            if (t0 < 0) t0 = 0;
            if (t1 > (long)lv.n_blk) t1 = (long)lv.n_blk;
            long best_t = t0;
            int s2 = 0, best2 = -(1 << 30);
            for (long b = t1 - 1; b >= t0; b--) {
                s2 += block_ok(&lv, b, tail.off, 1);
                if (s2 >= best2) {
                    best2 = s2;
                    best_t = b;
                }
            }
            tail.ref_lo = (double)best_t * blk;
            /* likewise the given target (the step's first frame) */
            long tg = lrint(tail_ref / blk);
            if (tg < best_t && best_t - tg <= lrint(slack / blk)) {
                int heard = 1;
                for (long b = tg; b < best_t; b++)
                    if (block_ok(&lv, b, tail.off, 0) < 0) heard = 0;
                if (heard) tail.ref_lo = tail_ref;
            }
        }
        printf("cut_ref %.2f\n", head.ref_hi);
        printf("resume_ref %.2f\n", tail.ref_lo);
        printf("tail_offset %.2f\n", tail.off);
        printf("shift %.2f\n", tail.off - head.off);
        printf("cut: reference %.3f s heard at %.3f s, then reference %.3f s at %.3f s "
               "(capture gap %.3f s)\n",
               head.ref_hi / rate, (head.ref_hi + head.off) / rate, tail.ref_lo / rate,
               (tail.ref_lo + tail.off) / rate,
               (tail.ref_lo + tail.off - head.ref_hi - head.off) / rate);
    }

    /* Match every reference onset in its piece; measure the spacing. */
    struct piece pieces[2] = {head, tail};
    int np = cut ? 2 : 1;
    /* A run stopped on purpose (`coach ctl stop`) is checked up to there. */
    double ref_end = op->ref_end >= 0 ? op->ref_end * rate : (double)ref.n;
    for (int p = 0; p < np; p++) {
        if (pieces[p].ref_hi > ref_end) pieces[p].ref_hi = ref_end;
        if (pieces[p].ref_lo > ref_end) pieces[p].ref_lo = ref_end;
    }
    size_t missing = 0, matched = 0, extra = 0, ignored = 0;
    double max_err = 0;
    char *used = xcalloc(co.n, 1);
    double guard = 0.05 * rate; /* onsets this close to a cut may be cut off */
    for (int p = 0; p < np; p++) {
        const struct piece *pc = &pieces[p];
        double dmin = 1e300, dmax = -1e300;
        size_t pm = 0;
        for (size_t i = 0; i < ro.n; i++) {
            const struct onset *r = &ro.v[i];
            if (r->pos < pc->ref_lo || r->pos >= pc->ref_hi) continue;
            int near_cut = cut && ((p == 0 && r->pos > pc->ref_hi - guard) ||
                                   (p == 1 && r->pos < pc->ref_lo + guard));
            double want = r->pos + pc->off;
            size_t best = (size_t)-1;
            for (size_t j = 0; j < co.n; j++) {
                if (used[j] || co.v[j].kind != r->kind) continue;
                double e = fabs(co.v[j].pos - want);
                if (e <= 0.05 * rate && (best == (size_t)-1 || e < fabs(co.v[best].pos - want)))
                    best = j;
            }
            if (best == (size_t)-1) {
                if (near_cut) continue; /* the cut may have cut it off */
                missing++;
                printf("missing %s at reference %.4f s (capture %.4f s)\n", kinds[r->kind].name,
                       r->pos / rate, want / rate);
                continue;
            }
            used[best] = 1;
            matched++;
            pm++;
            double dd = co.v[best].pos - r->pos;
            if (dd < dmin) dmin = dd;
            if (dd > dmax) dmax = dd;
            if (verbose)
                printf("  %-12s ref %10.2f cap %10.2f  err %+.3f ms\n", kinds[r->kind].name, r->pos,
                       co.v[best].pos, (dd - pc->off) * 1000.0 / rate);
        }
        /* Every pair of onsets in a piece keeps its spacing within
         * (dmax - dmin): the worst spacing error. */
        if (pm && (dmax - dmin) > max_err) max_err = dmax - dmin;
        printf("piece %d: reference %.3f-%.3f s, offset %.2f, %zu onsets, spacing error %.3f ms\n",
               p, pc->ref_lo / rate, (pc->ref_hi > 1e299 ? (double)ref.n : pc->ref_hi) / rate,
               pc->off, pm, pm ? (dmax - dmin) * 1000.0 / rate : 0.0);
    }
    /* Capture onsets nobody asked for: extra, unless in the gap a cut
     * leaves (acknowledgement tones) or outside the reference's span. */
    for (size_t j = 0; j < co.n; j++) {
        if (used[j]) continue;
        double c = co.v[j].pos;
        double first = head.off - 0.05 * rate, last = ref_end + (cut ? tail.off : head.off) + guard;
        int in_gap =
            cut && c >= head.ref_hi + head.off - guard && c < tail.ref_lo + tail.off + guard;
        /* an onset the reference has but undetected there is not extra */
        if (in_gap || c < first || c > last) {
            ignored++;
            continue;
        }
        extra++;
        printf("extra %s at capture %.4f s\n", kinds[co.v[j].kind].name, c / rate);
    }

    /* Dropouts: runs of reference blocks with signal that the capture lacks.
     * Quiet reference blocks inside a run neither end nor lengthen it; a
     * block the capture does have ends it. */
    size_t dropouts = 0;
    long first_bad = -1, last_bad = -1;
    double longest = 0;
    for (long b = 0; b <= (long)lv.n_blk; b++) {
        int st = 1; /* the end closes any open run */
        if ((size_t)b < lv.n_blk) {
            double rpos = (double)b * blk;
            st = 0;
            for (int p = 0; p < np; p++)
                if (rpos >= pieces[p].ref_lo && rpos < pieces[p].ref_hi)
                    st = block_ok(&lv, b, pieces[p].off, 0);
            /* Near a pause the exact cut is uncertain when an acknowledgement
             * tone covers it: there, heard on either side is heard. */
            if (st < 0 && op->pause_len >= 0 && rpos < ref_end &&
                fabs(rpos - head.ref_hi) <= slack) {
                int a = block_ok(&lv, b, head.off, 0), t = block_ok(&lv, b, tail.off, 0);
                st = a > t ? a : t;
            }
        }
        if (st < 0) {
            if (first_bad < 0) first_bad = b;
            last_bad = b;
            continue;
        }
        if (st > 0 && first_bad >= 0) {
            double ms = (double)(last_bad - first_bad + 1) * BLOCK_MS;
            if (ms > 20.0) {
                dropouts++;
                printf("dropout at reference %.3f s, %.0f ms\n", (double)first_bad * blk / rate,
                       ms);
            }
            if (ms > longest) longest = ms;
            first_bad = -1;
        }
    }

    double max_ms = max_err * 1000.0 / rate;
    int pass = missing == 0 && extra == 0 && dropouts == 0 && max_ms <= op->tol_ms;
    printf("reference onsets %zu, capture onsets %zu, matched %zu, missing %zu, extra %zu "
           "(ignored %zu), max spacing error %.3f ms, dropouts %zu (longest silent run %.0f ms)\n",
           ro.n, co.n, matched, missing, extra, ignored, max_ms, dropouts, longest);
    printf("%s\n", pass ? "PASS" : "FAIL");
    free(used);
    free(lv.ref_rms);
    free(lv.cap_sq);
    free(ro.v);
    free(co.v);
    free(ref.x);
    free(cap.x);
    return pass ? 0 : 1;
}

/* ---- main ----------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: coach-onsets [-v] [-p] FILE            tone onsets: \"<sample> <kind>\"\n"
          "       coach-onsets --speech FILE              speech segments: \"<start> <end>\"\n"
          "       coach-onsets --compare REF CAP [--pause-at SEC --pause-len SEC]\n"
          "                    [--jump-at SEC --jump-to SEC] [--cut-tol SEC] [--tol-ms MS]\n"
          "                    [--ref-end SEC] [-v]\n"
          "Samples are frames of FILE. --compare exits 0 when every tone onset of REF is\n"
          "in CAP in order with spacing within --tol-ms (default 1), nothing extra, and no\n"
          "dropout over 20 ms; a pause (REF time, length) or a jump (REF time it was asked,\n"
          "REF time it went to) in CAP is allowed. Exit 1 on a difference, 2 on errors.\n",
          f);
}

static double num(const char *s, const char *opt)
{
    char *end;
    errno = 0;
    double v = strtod(s ? s : "", &end);
    if (!s || errno || *end || end == s) die("%s needs a number", opt);
    return v;
}

int main(int argc, char **argv)
{
    enum { ONSETS, SPEECH, COMPARE } mode = ONSETS;
    int precise = 0;
    struct opts op = {.pause_len = -1, .jump_at = -1, .tol_ms = 1.0, .cut_tol = 0.5, .ref_end = -1};
    const char *files[2] = {NULL, NULL};
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-v"))
            verbose++;
        else if (!strcmp(a, "-p"))
            precise = 1;
        else if (!strcmp(a, "--speech"))
            mode = SPEECH;
        else if (!strcmp(a, "--compare"))
            mode = COMPARE;
        else if (!strcmp(a, "--pause-at"))
            op.pause_at = num(v, a), i++;
        else if (!strcmp(a, "--pause-len"))
            op.pause_len = num(v, a), i++;
        else if (!strcmp(a, "--jump-at"))
            op.jump_at = num(v, a), i++;
        else if (!strcmp(a, "--jump-to"))
            op.jump_to = num(v, a), i++;
        else if (!strcmp(a, "--cut-tol"))
            op.cut_tol = num(v, a), i++;
        else if (!strcmp(a, "--ref-end"))
            op.ref_end = num(v, a), i++;
        else if (!strcmp(a, "--tol-ms"))
            op.tol_ms = num(v, a), i++;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            usage(stderr);
            die("unknown option '%s'", a);
        } else if (nfiles < 2)
            files[nfiles++] = a;
        else
            die("too many files");
    }
    if (nfiles != (mode == COMPARE ? 2 : 1)) {
        usage(stderr);
        return 2;
    }
    if (op.pause_len >= 0 && op.jump_at >= 0) die("a pause or a jump, not both");
    if (mode == COMPARE) return compare(files[0], files[1], &op);

    struct audio a;
    audio_read(files[0], &a);
    if (mode == SPEECH) {
        struct segs s = {0};
        detect_speech(&a, &s);
        for (size_t i = 0; i < s.n; i++)
            printf("%.0f %.0f\n", s.v[i].start, s.v[i].end);
        free(s.v);
    } else {
        calibrate(a.rate_hz);
        struct onsets o = {0};
        detect_all(&a, 1.0f, &o);
        for (size_t i = 0; i < o.n; i++) {
            if (precise)
                printf("%.2f %s\n", o.v[i].pos, kinds[o.v[i].kind].name);
            else
                printf("%.0f %s\n", o.v[i].pos, kinds[o.v[i].kind].name);
        }
        free(o.v);
    }
    free(a.x);
    return 0;
}
