/* The renderer: mixes the timeline's speech clips and tones into any block of
 * frames [a, a+n). Everything after render_init is real-time safe (no malloc,
 * free, locks, stdio or logging) and stateless: each output sample depends
 * only on its frame position, the timeline, the clips and the volume, so the
 * same frames come out bit-identical however the stream is cut into blocks.
 * Per block: speech is added straight into the mix; tones are summed apart,
 * multiplied by the speech-ducking gain (computed from the speech events'
 * positions, not from history) and added; then master volume, the
 * programme gain (--loudness) and the look-ahead limiter (limit_gain: its
 * gain at a frame depends only on the mix around that frame), with a soft
 * limiter after it that never leaves [-1, 1] for what a caller mixes in
 * besides the timeline (live: spoken answers). An optional music bed goes
 * in before the volume, ducked the same stateless way (deeper ramps,
 * render.h). Blocks with no event and no music are a plain zero fill.
 *
 * Missing clips (clip_pcm[id] == NULL when due) play as silence and are
 * counted once per event: in the block that contains the event's first
 * frame. A render that starts in the middle of an unready clip (a seek)
 * plays silence there without counting it. Tones are ducked under every
 * speech event, ready or not, so the tone level never depends on timing. */
#include "coach/render.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/music.h"
#include "coach/tone.h"

#define RENDER_DEFAULT_BLOCK 1024
#define LIMIT_CHUNK 64 /* frames limit_gain judges quiet or not at once */
#define FILL_CHUNK 16  /* gains of 1 written at once */
static const float ones[FILL_CHUNK] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

static void make_taps(void);
static pthread_once_t taps_once = PTHREAD_ONCE_INIT;

int render_init(struct renderer *r, const struct timeline *tl, clip_slot *clip_pcm,
                uint32_t channels, size_t max_block)
{
    memset(r, 0, sizeof *r);
    if (!tl || (channels != 1 && channels != 2)) return COACH_EINVAL;
    if (max_block == 0) max_block = RENDER_DEFAULT_BLOCK;
    r->tl = tl;
    r->clip_pcm = clip_pcm;
    r->channels = channels;
    r->max_block = max_block;
    /* the limiter's window: the block plus its look-ahead and release */
    r->lim_before = render_limit_before_frames(tl->rate_hz);
    r->lim_after = frames_from_ms(RENDER_LIMIT_ATTACK_MS, tl->rate_hz) + RENDER_TP_HALF + 1;
    pthread_once(&taps_once, make_taps);
    size_t cap = max_block + r->lim_before + r->lim_after;
    r->win_cap = cap;
    r->win = malloc(cap * sizeof(float));
    r->scratch_tone = malloc(cap * sizeof(float));
    r->scratch_gain = malloc(cap * sizeof(float));
    r->lim_gain = malloc(cap * sizeof(float));
    r->lim_hot = malloc(cap / LIMIT_CHUNK + 1);
    r->program_gain = 1.0f;
    atomic_init(&r->volume, 1.0f);
    atomic_init(&r->missing_clips, 0);
    if (!r->win || !r->scratch_tone || !r->scratch_gain || !r->lim_gain || !r->lim_hot) {
        render_free(r);
        return COACH_ENOMEM;
    }
    return 0;
}

int render_set_music(struct renderer *r, const struct music *m)
{
    if (m && (!m->pcm || m->len_frames == 0 || !r->tl || m->rate_hz != r->tl->rate_hz))
        return COACH_EINVAL;
    r->music = m;
    r->music_gain = 1.0f;
    r->win_valid = 0;
    return 0;
}

void render_free(struct renderer *r)
{
    if (!r) return;
    free(r->scratch_tone);
    free(r->scratch_gain);
    free(r->win);
    free(r->lim_gain);
    free(r->lim_hot);
    r->lim_hot = NULL;
    r->scratch_tone = r->scratch_gain = r->win = r->lim_gain = NULL;
}

/* Identity up to the knee, then a tanh shoulder towards 1.0: continuous
 * with a continuous slope, so loud overlaps get rounded, not clipped. */
#define LIMIT_KNEE 0.9f
#define LIMIT_TOP 0.99f /* below full scale even where tanhf rounds to 1 */
static inline float soft_limit(float x)
{
    float ax = fabsf(x);
    if (ax <= LIMIT_KNEE) return x;
    if (isnan(x)) return 0.0f;
    float y = LIMIT_KNEE + (LIMIT_TOP - LIMIT_KNEE) * tanhf((ax - LIMIT_KNEE) / (LIMIT_TOP - LIMIT_KNEE));
    y = fminf(y, LIMIT_TOP);
    return x < 0 ? -y : y;
}

/* Lowers gain[] (frames [a, a+m)) to speech event s's ducking curve:
 * depth inside [start, end); outside, at distance d frames (d = 1 next to
 * the speech), depth + (1 - depth) * d / ramp, so the gain is exactly 1
 * from d = ramp on. Taking the min over events makes the curve independent
 * of the order and of the block cut. */
static void duck_under(const struct event *s, uint64_t a, size_t m, uint64_t ramp, float depth,
                       float *gain)
{
    uint64_t start = s->frame, end = s->frame + s->len_frames;
    uint64_t lo = start > ramp - 1 ? start - (ramp - 1) : 0;
    uint64_t hi = end + ramp - 1;
    if (lo < a) lo = a;
    if (hi > a + m) hi = a + m;
    const float inv_ramp = 1.0f / (float)ramp;
    for (uint64_t f = lo; f < hi; f++) {
        uint64_t d = f < start ? start - f : (f >= end ? f - end + 1 : 0);
        float g = depth + (1.0f - depth) * ((float)d * inv_ramp);
        float *p = &gain[f - a];
        if (g < *p) *p = g;
    }
}

/* Fills gain[0, n) with the ducking gain of frames [a, a+n) under every
 * speech event (ready or not) of tl: 1 away from speech, depth under it. */
static void duck_gain(const struct timeline *tl, uint64_t a, size_t n, uint64_t ramp, float depth,
                      float *gain)
{
    for (size_t k = 0; k < n; k++)
        gain[k] = 1.0f;
    /* Speech that ended up to ramp frames before a still ducks here, and
     * speech starting up to ramp frames after the block ducks its end. */
    uint64_t back = tl->max_event_frames + ramp;
    for (size_t i = timeline_lower_bound(tl, a - (a < back ? a : back));
         i < tl->n_ev && tl->ev[i].frame < a + n + ramp; i++) {
        const struct event *s = &tl->ev[i];
        if (s->kind == EV_SPEECH && s->frame + s->len_frames + ramp - 1 > a)
            duck_under(s, a, n, ramp, depth, gain);
    }
}

static uint64_t ramp_frames(uint32_t ms, uint32_t rate_hz)
{
    uint64_t ramp = frames_from_ms(ms, rate_hz);
    return ramp ? ramp : 1; /* absurdly low rates: keep the ramp defined */
}

/* Adds the music bed over frames [a, a+m) (m <= max_block, a < the
 * timeline's length) into mono, using scratch_gain. */
static void add_music(struct renderer *r, uint64_t a, size_t m, float *mono)
{
    const struct timeline *tl = r->tl;
    const struct music *mu = r->music;
    if (a + m > tl->len_frames) m = (size_t)(tl->len_frames - a);
    float *gain = r->scratch_gain;
    duck_gain(tl, a, m, ramp_frames(RENDER_MUSIC_DUCK_RAMP_MS, tl->rate_hz),
              RENDER_MUSIC_DUCK_GAIN, gain);
    /* Fade out to 0 at the end: under the closing bell, else briefly. */
    uint64_t len = tl->len_frames, fade_from;
    const struct event *last = &tl->ev[tl->n_ev - 1];
    if (last->kind == EV_BELL && last->frame < len)
        fade_from = last->frame;
    else {
        uint64_t fade = ramp_frames(RENDER_MUSIC_END_FADE_MS, tl->rate_hz);
        fade_from = len - (fade < len ? fade : len);
    }
    if (a + m > fade_from) {
        const float inv = 1.0f / (float)(len - fade_from);
        for (uint64_t f = a > fade_from ? a : fade_from; f < a + m; f++)
            gain[f - a] *= (float)(len - f) * inv;
    }
    const float k = mu->scale * r->music_gain;
    const int16_t *bed = mu->pcm;
    uint64_t idx = a % mu->len_frames;
    for (size_t i = 0; i < m; i++) {
        mono[i] += (float)bed[idx] * k * gain[i];
        if (++idx == mu->len_frames) idx = 0;
    }
}

static int render_mono(struct renderer *r, uint64_t a, size_t m, float *mono, uint64_t count_from);

/* Inlined into render, where the whole block's work sits in one loop nest:
 * measured 3 % fewer instructions per second of audio than calls
 * (bench/live_bench.sh renderer). */
#define RENDER_INLINE static inline __attribute__((always_inline))

/* Mixes frames [lo, hi) into dst (zeros where silent); speech due at
 * count_from or later and not ready is counted. */
static void mix_range(struct renderer *r, uint64_t lo, uint64_t hi, float *dst, uint64_t count_from)
{
    if (hi > lo && !render_mono(r, lo, (size_t)(hi - lo), dst, count_from))
        memset(dst, 0, (size_t)(hi - lo) * sizeof *dst);
}

/* Makes r->win hold the mix of frames [w0, w1). The mix is a pure function
 * of the frame, so what the last window already holds is kept (the next
 * block of a stream mixes only its new frames); a seek, a new timeline or
 * new music mixes it all again. */
static void fill_window(struct renderer *r, uint64_t w0, uint64_t w1, uint64_t count_from)
{
    size_t keep = 0;
    if (r->win_valid && r->win_a <= w0 && w0 < r->win_a + r->win_n) {
        keep = (size_t)(r->win_a + r->win_n - w0);
        if (keep > w1 - w0) keep = (size_t)(w1 - w0);
        memmove(r->win, r->win + (w0 - r->win_a), keep * sizeof *r->win);
    }
    mix_range(r, w0 + keep, w1, r->win + keep, count_from);
    r->win_a = w0;
    r->win_n = (size_t)(w1 - w0);
    r->win_valid = 1;
}

/* 4x oversampling of the true-peak estimate: windowed-sinc taps for the
 * points a quarter, a half and three quarters between frames j and j+1
 * (x[j - TP_HALF + 1] .. x[j + TP_HALF]); made once, read-only after. */
static float tp_taps[3][2 * RENDER_TP_HALF];
static void make_taps(void)
{
    for (int p = 0; p < 3; p++) {
        double t = (p + 1) / 4.0, sum = 0.0, h[2 * RENDER_TP_HALF];
        for (int i = 0; i < 2 * RENDER_TP_HALF; i++) {
            double u = (double)(i - RENDER_TP_HALF + 1) - t; /* tap's distance from the point */
            double sinc = sin(3.141592653589793 * u) / (3.141592653589793 * u);
            double w = 0.5 + 0.5 * cos(3.141592653589793 * u / (RENDER_TP_HALF + 0.5));
            h[i] = sinc * w;
            sum += h[i];
        }
        for (int i = 0; i < 2 * RENDER_TP_HALF; i++) tp_taps[p][i] = (float)(h[i] / sum);
    }
}

/* Whether any |x[i]| of x[0, n) is above hot (a NaN is not, as in the
 * comparison). In chunks whose test is one vector OR: it stops at the
 * first loud chunk, where a running maximum read every sample (measured:
 * a quarter of the limiter's time in an export). */
#define ABOVE_CHUNK 32
static int any_above(const float *x, size_t n, float hot)
{
    size_t i = 0;
    for (; i + ABOVE_CHUNK <= n; i += ABOVE_CHUNK) {
        int hit = 0;
        for (size_t j = 0; j < ABOVE_CHUNK; j++) hit |= fabsf(x[i + j]) > hot;
        if (hit) return 1;
    }
    for (; i < n; i++)
        if (fabsf(x[i]) > hot) return 1;
    return 0;
}

/* Whether any x[i] of x[0, n) is not zero (-0 is zero), in chunks as
 * any_above: a silent block is read whole, and a frame at a time that
 * was a quarter of render's time in a warm export. */
static int any_nonzero(const float *x, size_t n)
{
    size_t i = 0;
    for (; i + ABOVE_CHUNK <= n; i += ABOVE_CHUNK) {
        int hit = 0;
        for (size_t j = 0; j < ABOVE_CHUNK; j++) hit |= x[i + j] != 0.0f;
        if (hit) return 1;
    }
    for (; i < n; i++)
        if (x[i] != 0.0f) return 1;
    return 0;
}

/* The look-ahead limiter's gain for frames [a, a+m) from the window's mix
 * x (frames [w0, w0+n)), at master gain k: each frame j needs at most
 * need(j) = ceiling / (k * its peak), its peak being the largest of the
 * sample and the points a 4x oversampling finds between it and its
 * neighbours (a true-peak meter's view; computed where a sample nearby is
 * within 6 dB of the ceiling); the gain at f is the lowest of the lines
 * need(j) + (j - f) / attack (j after f, within the look-ahead) and
 * need(j) + (f - j) / release (j before f), capped at 1. All lines of one
 * side share a slope, so the lowest stays lowest until a lower one starts:
 * one pass each way, and each value comes from its formula, not from
 * sums, so it is the same whatever window it was computed in. Returns 0
 * (gain 1 everywhere) when no frame of the window comes near the ceiling. */
static int limit_gain(struct renderer *r, uint64_t a, size_t m, float k)
{
    const float *x = r->win;
    const size_t n = r->win_n;
    const uint64_t w0 = r->win_a;
    const float hot = RENDER_LIMIT_CEILING / (2.0f * k);
    /* ip[j]: the highest oversampled point between frames j and j+1 (frames
     * outside the window read as silence: true before frame 0; elsewhere
     * only the window's edges, which no line reaching [a, a+m) comes from).
     * Quiet chunks (most of any programme) are only marked: with no frame
     * near the ceiling in [i0 - 1, i1], no point between them is measured
     * and no frame needs any gain (ip = 0, need = 1, what the loops below
     * would find), and the passes after skip them whole. Writing and
     * scanning them a frame at a time was 80 % of the limiter's time in a
     * warm export. */
    float *ip = r->scratch_tone, *need = r->scratch_gain;
    unsigned char *hotc = r->lim_hot;
    const int H = RENDER_TP_HALF;
    int any_hot = 0;
    for (size_t i0 = 0, c = 0; i0 < n; i0 += LIMIT_CHUNK, c++) {
        const size_t i1 = n - i0 > LIMIT_CHUNK ? i0 + LIMIT_CHUNK : n;
        const size_t lo = i0 ? i0 - 1 : 0, hi = i1 < n ? i1 + 1 : n;
        hotc[c] = (unsigned char)any_above(x + lo, hi - lo, hot);
        any_hot |= hotc[c];
    }
    if (!any_hot) return 0;
    for (size_t i0 = 0, c = 0; i0 < n; i0 += LIMIT_CHUNK, c++) {
        const size_t i1 = n - i0 > LIMIT_CHUNK ? i0 + LIMIT_CHUNK : n;
        if (!hotc[c]) continue;
        for (size_t i = i0; i < i1; i++) {
            float p = 0.0f;
            if (fabsf(x[i]) > hot || (i + 1 < n && fabsf(x[i + 1]) > hot)) {
                float acc[3] = {0.0f, 0.0f, 0.0f};
                for (int t = 0; t < 2 * H; t++) {
                    ptrdiff_t at = (ptrdiff_t)i - H + 1 + t;
                    float v = at >= 0 && (size_t)at < n ? x[at] : 0.0f;
                    acc[0] += v * tp_taps[0][t];
                    acc[1] += v * tp_taps[1][t];
                    acc[2] += v * tp_taps[2][t];
                }
                for (int q = 0; q < 3; q++) p = fabsf(acc[q]) > p ? fabsf(acc[q]) : p;
            }
            ip[i] = p;
        }
        /* the point before the chunk: 0 when its chunk is quiet (its test
         * took in x[i0 - 1] and x[i0]) */
        const float ip_before = c > 0 && hotc[c - 1] ? ip[i0 - 1] : 0.0f;
        for (size_t i = i0; i < i1; i++) {
            float p = fabsf(x[i]);
            p = ip[i] > p ? ip[i] : p;
            if (i > 0) {
                const float b = i > i0 ? ip[i - 1] : ip_before;
                p = b > p ? b : p;
            }
            float e = p * k;
            /* a hair under: ceiling / e * e may round up past the ceiling */
            need[i] = e > RENDER_LIMIT_CEILING ? RENDER_LIMIT_CEILING * 0.99999f / e : 1.0f;
        }
    }
    const float inv_rel = 1.0f / (float)(r->lim_before - RENDER_TP_HALF - 1),
                inv_att = 1.0f / (float)(r->lim_after - RENDER_TP_HALF - 1);
    float *g = r->lim_gain;
    const size_t off = (size_t)(a - w0);
    /* need of frame i: 1 in a quiet chunk (not written there) */
#define NEED(i) (hotc[(i) / LIMIT_CHUNK] ? need[i] : 1.0f)
    /* release: lines from frames before, forward. A line that has risen
     * to 1 only rises further: it is dropped (best = SIZE_MAX), and where
     * no line is below 1 the gain is 1 up to the next frame that needs
     * less, found without the work per frame (the same values: a line at
     * or above 1 never wins, min(v, 1) is 1 either way). */
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < off + m; i++) {
        if (best == SIZE_MAX) {
            size_t j = i;
            while (j < off + m) { /* the next frame that needs less than 1 */
                const size_t c = j / LIMIT_CHUNK, ce = (c + 1) * LIMIT_CHUNK;
                const size_t stop = ce < off + m ? ce : off + m;
                if (hotc[c]) {
                    while (j < stop && !(need[j] < 1.0f)) j++;
                    if (j < stop) break;
                }
                j = stop;
            }
            size_t f = i > off ? i : off;
            for (; f + FILL_CHUNK <= j; f += FILL_CHUNK) /* a few vector moves each */
                memcpy(g + (f - off), ones, sizeof ones);
            for (; f < j; f++) g[f - off] = 1.0f;
            if (j == off + m) break;
            i = j;
        }
        const float ni = NEED(i);
        float v = best == SIZE_MAX ? 1.0f : need[best] + (float)(i - best) * inv_rel;
        if (ni < 1.0f && ni <= v) {
            best = i;
            v = ni;
        }
        if (v >= 1.0f) best = SIZE_MAX;
        if (i >= off) g[i - off] = v < 1.0f ? v : 1.0f;
    }
    /* attack: lines from frames after, backward, the same way (where no
     * line is below 1, g keeps the release's value) */
    best = SIZE_MAX;
    for (size_t i = n; i-- > off;) {
        if (best == SIZE_MAX) {
            for (;;) { /* back to the last frame from i down that needs less than 1 */
                const size_t c = i / LIMIT_CHUNK, cs = c * LIMIT_CHUNK;
                const size_t stop = cs > off ? cs : off;
                if (hotc[c])
                    while (i > stop && !(need[i] < 1.0f)) i--;
                else
                    i = stop;
                if (NEED(i) < 1.0f || i == off) break;
                i--; /* i == stop > off, and it needs nothing: the chunk before */
            }
            if (!(NEED(i) < 1.0f)) break; /* i == off, and it needs nothing */
        }
        const float ni = NEED(i);
        float v = best == SIZE_MAX ? 1.0f : need[best] + (float)(best - i) * inv_att;
        if (ni < 1.0f && ni <= v) {
            best = i;
            v = ni;
        }
        if (v >= 1.0f) best = SIZE_MAX;
        if (i < off + m && v < g[i - off]) g[i - off] = v;
    }
#undef NEED
    return 1;
}

RENDER_INLINE const float *mix_block(struct renderer *r, uint64_t a, size_t m)
{
    r->lim_fresh = 0;
    if (!r->tl || r->tl->n_ev == 0 || m > r->max_block) return NULL;
    uint64_t w0 = a - (a < r->lim_before ? a : r->lim_before);
    fill_window(r, w0, a + m + r->lim_after, a);
    float vol = atomic_load_explicit(&r->volume, memory_order_relaxed);
    if (!(vol >= 0.0f)) vol = 0.0f; /* negative or NaN: mute, keep zeros +0 */
    r->lim_vol = vol;
    r->lim_active = limit_gain(r, a, m, vol * r->program_gain);
    r->lim_fresh = m;
    const float *x = r->win + (a - w0);
    return any_nonzero(x, m) ? x : NULL;
}

#define FINISH_CHUNK 16
RENDER_INLINE void finish_block(struct renderer *r, const float *mono, float *out, size_t m)
{
    const uint32_t ch = r->channels;
    /* the gain of the mix just made for these frames (a caller that mixed
     * nothing of the timeline has none: its own sounds meet the soft limiter) */
    const int lim = r->lim_fresh == m && r->lim_active;
    float vol = r->lim_fresh == m ? r->lim_vol : atomic_load_explicit(&r->volume, memory_order_relaxed);
    r->lim_fresh = 0;
    if (!mono) {
        memset(out, 0, m * ch * sizeof(float));
        return;
    }
    if (!(vol >= 0.0f)) vol = 0.0f; /* negative or NaN: mute, keep zeros +0 */
    const float k = vol * r->program_gain;
    /* Scaled in passes the compiler vectorizes (chunks of a fixed count,
     * as in any_above), the soft limiter's curve only if a frame passes
     * its knee: below it soft_limit returns the value as it is, so the
     * frames are the same as one soft_limit(mono * k * g) per frame. A
     * frame at a time was 16 % of a warm WAV export. */
    float *y = out; /* mono: the output itself; stereo: spread out after */
    size_t i = 0;
    int over = 0;
    if (lim) {
        const float *g = r->lim_gain;
        for (; i + FINISH_CHUNK <= m; i += FINISH_CHUNK)
            for (size_t j = i; j < i + FINISH_CHUNK; j++) y[j] = mono[j] * k * g[j];
        for (; i < m; i++) y[i] = mono[i] * k * g[i];
    } else {
        for (; i + FINISH_CHUNK <= m; i += FINISH_CHUNK)
            for (size_t j = i; j < i + FINISH_CHUNK; j++) y[j] = mono[j] * k;
        for (; i < m; i++) y[i] = mono[i] * k;
    }
    for (i = 0; i + FINISH_CHUNK <= m; i += FINISH_CHUNK)
        for (size_t j = i; j < i + FINISH_CHUNK; j++) over |= !(fabsf(y[j]) <= LIMIT_KNEE);
    for (; i < m; i++) over |= !(fabsf(y[i]) <= LIMIT_KNEE);
    if (over)
        for (i = 0; i < m; i++) y[i] = soft_limit(y[i]);
    if (ch == 2) /* from the end, so no frame is overwritten before it is read */
        for (i = m; i-- > 0;) out[2 * i] = out[2 * i + 1] = y[i];
}

/* Renders frames [a, a+m) mono into mono (m <= win_cap). Returns 0 if
 * the block is silent (mono untouched), else 1. */
static int render_mono(struct renderer *r, uint64_t a, size_t m, float *mono, uint64_t count_from)
{
    const struct timeline *tl = r->tl;
    const uint64_t end = a + m;
    const uint64_t ramp = ramp_frames(RENDER_DUCK_RAMP_MS, tl->rate_hz);
    float *tone = r->scratch_tone;
    /* Events starting before a can still sound (or duck) here. */
    uint64_t back = tl->max_event_frames + ramp;
    size_t first = timeline_lower_bound(tl, a - (a < back ? a : back));
    int have_mono = 0, have_tone = 0;
    uint64_t tone_lo = end, tone_hi = a; /* frames any tone touched */

    for (size_t i = first; i < tl->n_ev && tl->ev[i].frame < end; i++) {
        const struct event *e = &tl->ev[i];
        uint64_t e_end = e->frame + e->len_frames;
        if (e_end <= a) continue;
        uint64_t lo = e->frame > a ? e->frame : a;
        uint64_t hi = e_end < end ? e_end : end;
        if (lo >= hi) continue;
        if (e->kind == EV_SPEECH) {
            const float *pcm = e->clip < tl->n_clips && r->clip_pcm
                                   ? atomic_load_explicit(&r->clip_pcm[e->clip], memory_order_acquire)
                                   : NULL;
            if (!pcm) {
                if (e->frame >= a && e->frame >= count_from) atomic_fetch_add(&r->missing_clips, 1);
                continue;
            }
            if (!have_mono) {
                memset(mono, 0, m * sizeof(float));
                have_mono = 1;
            }
            const float *src = pcm + (lo - e->frame);
            float *dst = mono + (lo - a);
            for (size_t k = 0, cnt = (size_t)(hi - lo); k < cnt; k++)
                dst[k] += src[k];
        } else if (e->kind < EV_KIND_COUNT) {
            if (!have_tone) {
                memset(tone, 0, m * sizeof(float));
                have_tone = 1;
            }
            tone_add(e, lo - e->frame, tone + (lo - a), (size_t)(hi - lo), tl->rate_hz);
            if (lo < tone_lo) tone_lo = lo;
            if (hi > tone_hi) tone_hi = hi;
        }
    }

    if (have_tone) {
        float *gain = r->scratch_gain + (tone_lo - a);
        size_t tn = (size_t)(tone_hi - tone_lo);
        duck_gain(tl, tone_lo, tn, ramp, RENDER_DUCK_GAIN, gain);
        if (!have_mono) {
            memset(mono, 0, m * sizeof(float));
            have_mono = 1;
        }
        float *dst = mono + (tone_lo - a), *src = tone + (tone_lo - a);
        for (size_t k = 0; k < tn; k++)
            dst[k] += src[k] * gain[k];
    }
    if (r->music && a < tl->len_frames) {
        if (!have_mono) {
            memset(mono, 0, m * sizeof(float));
            have_mono = 1;
        }
        add_music(r, a, m, mono);
    }
    return have_mono;
}

const float *render_mix(struct renderer *r, uint64_t a, size_t m) { return mix_block(r, a, m); }

void render_finish(struct renderer *r, const float *mono, float *out, size_t m)
{
    finish_block(r, mono, out, m);
}

void render(struct renderer *r, uint64_t a, float *out, size_t n)
{
    while (n > 0) {
        size_t m = n < r->max_block ? n : r->max_block;
        finish_block(r, mix_block(r, a, m), out, m);
        a += m;
        out += m * r->channels;
        n -= m;
    }
}
