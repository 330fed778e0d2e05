/* The renderer: mixes the timeline's speech clips and tones into any block of
 * frames [a, a+n). Everything after render_init is real-time safe (no malloc,
 * free, locks, stdio or logging) and stateless: each output sample depends
 * only on its frame position, the timeline, the clips and the volume, so the
 * same frames come out bit-identical however the stream is cut into blocks.
 * Per block: speech is added straight into the mix; tones are summed apart,
 * multiplied by the speech-ducking gain (computed from the speech events'
 * positions, not from history) and added; then master volume and a soft
 * limiter that never leaves [-1, 1]. An optional music bed goes in before
 * the volume, ducked the same stateless way (deeper ramps, render.h).
 * Blocks with no event and no music are a plain zero fill.
 *
 * Missing clips (clip_pcm[id] == NULL when due) play as silence and are
 * counted once per event: in the block that contains the event's first
 * frame. A render that starts in the middle of an unready clip (a seek)
 * plays silence there without counting it. Tones are ducked under every
 * speech event, ready or not, so the tone level never depends on timing. */
#include "coach/render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/music.h"
#include "coach/tone.h"

#define RENDER_DEFAULT_BLOCK 1024

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
    r->scratch_mono = malloc(max_block * sizeof(float));
    r->scratch_tone = malloc(max_block * sizeof(float));
    r->scratch_gain = malloc(max_block * sizeof(float));
    atomic_init(&r->volume, 1.0f);
    atomic_init(&r->missing_clips, 0);
    if (!r->scratch_mono || !r->scratch_tone || !r->scratch_gain) {
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
    return 0;
}

void render_free(struct renderer *r)
{
    if (!r) return;
    free(r->scratch_mono);
    free(r->scratch_tone);
    free(r->scratch_gain);
    r->scratch_mono = r->scratch_tone = r->scratch_gain = NULL;
}

/* Identity up to the knee, then a tanh shoulder towards 1.0: continuous
 * with a continuous slope, so loud overlaps get rounded, not clipped. */
#define LIMIT_KNEE 0.9f
static inline float soft_limit(float x)
{
    float ax = fabsf(x);
    if (ax <= LIMIT_KNEE) return x;
    if (isnan(x)) return 0.0f;
    float y = LIMIT_KNEE + (1.0f - LIMIT_KNEE) * tanhf((ax - LIMIT_KNEE) / (1.0f - LIMIT_KNEE));
    y = fminf(y, 1.0f);
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

static int render_mono(struct renderer *r, uint64_t a, size_t m);

/* Inlined into render, where the whole block's work sits in one loop nest:
 * measured 3 % fewer instructions per second of audio than calls
 * (bench/live_bench.sh renderer). */
#define RENDER_INLINE static inline __attribute__((always_inline))

RENDER_INLINE const float *mix_block(struct renderer *r, uint64_t a, size_t m)
{
    if (!r->tl || r->tl->n_ev == 0 || m > r->max_block) return NULL;
    return render_mono(r, a, m) ? r->scratch_mono : NULL;
}

RENDER_INLINE void finish_block(struct renderer *r, const float *mono, float *out, size_t m)
{
    const uint32_t ch = r->channels;
    if (!mono) {
        memset(out, 0, m * ch * sizeof(float));
        return;
    }
    float vol = atomic_load_explicit(&r->volume, memory_order_relaxed);
    if (!(vol >= 0.0f)) vol = 0.0f; /* negative or NaN: mute, keep zeros +0 */
    if (ch == 1) {
        for (size_t k = 0; k < m; k++)
            out[k] = soft_limit(mono[k] * vol);
    } else {
        for (size_t k = 0; k < m; k++) {
            float y = soft_limit(mono[k] * vol);
            out[2 * k] = y;
            out[2 * k + 1] = y;
        }
    }
}

/* Renders frames [a, a+m) mono into r->scratch_mono (m <= max_block).
 * Returns 0 if the block is silent (scratch untouched), else 1. */
static int render_mono(struct renderer *r, uint64_t a, size_t m)
{
    const struct timeline *tl = r->tl;
    const uint64_t end = a + m;
    const uint64_t ramp = ramp_frames(RENDER_DUCK_RAMP_MS, tl->rate_hz);
    float *mono = r->scratch_mono, *tone = r->scratch_tone;
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
                if (e->frame >= a) atomic_fetch_add(&r->missing_clips, 1);
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
