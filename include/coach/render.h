/* The renderer: timeline + prepared clips -> samples for any block of frames
 * [a, a+n). Real-time safe: no malloc, no locks, no I/O, no logging after
 * render_init. The output is a pure function of the frame position (speech
 * ducking and the limiter are stateless), so live playback, export and
 * seeking all produce the same samples. */
#ifndef COACH_RENDER_H
#define COACH_RENDER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/common.h"
#include "coach/timeline.h"

struct music;

/* A prepared clip's PCM, published by whichever thread prepares it (release)
 * and read by the renderer (acquire); NULL means not ready. */
typedef _Atomic(float *) clip_slot;

struct renderer {
    /* immutable after render_init */
    const struct timeline *tl;   /* swapped only by the thread that renders */
    clip_slot *clip_pcm;         /* clip id -> prepared PCM or NULL (not ready) */
    uint32_t channels;           /* 1 or 2, interleaved */
    size_t max_block;            /* scratch size in frames */
    float *scratch_tone;         /* win_cap */
    float *scratch_gain;         /* win_cap */
    /* the look-ahead limiter (render_mix: its window and gain) */
    size_t lim_before;           /* frames of mix before a block: release + TP_HALF + 1 */
    size_t lim_after;            /* frames of mix after a block: look-ahead + TP_HALF + 1 */
    size_t win_cap;              /* max_block + lim_before + lim_after */
    float *win;                  /* win_cap: the mix of frames [win_a, win_a + win_n) */
    uint64_t win_a;
    size_t win_n;
    int win_valid;               /* 0: win holds nothing to reuse */
    float *lim_gain;             /* win_cap: the limiter's gain for the last block mixed */
    unsigned char *lim_hot;      /* win_cap / 64 + 1: chunk of the window near the ceiling */
    int lim_active;              /* lim_gain differs from 1 somewhere */
    size_t lim_fresh;            /* frames of the block just mixed, until render_finish; 0 */
    float lim_vol;               /* the volume that block was limited at */
    float program_gain;          /* linear, the --loudness level; 1 (render_set_gain) */
    /* optional music bed, set with render_set_music after render_init */
    const struct music *music;   /* borrowed; NULL = none */
    float music_gain;            /* linear, on top of the bed's own level; 1 */
    /* set by the owner between blocks; read by render */
    _Atomic float volume;        /* linear master gain, default 1 */
    /* render writes, others read */
    atomic_uint_fast64_t missing_clips; /* speech events due but not prepared */
};

/* clip_pcm is borrowed: an array of at least n_clips slots the owner fills
 * as clips are prepared; a speech event reads len_frames samples of its
 * clip, so the owner makes sure the clips are that long (export_timeline
 * and the player check the timeline against the clip store). Allocates scratch buffers. Returns 0 or
 * COACH_ENOMEM. */
int render_init(struct renderer *r, const struct timeline *tl, clip_slot *clip_pcm,
                uint32_t channels, size_t max_block);
/* Renders another timeline from now on (live: a prefix plan replaced by the
 * full one, whose beginning is the same). Only the rendering thread calls
 * it; the slots array must cover the new timeline's clips. */
static inline void render_set_timeline(struct renderer *r, const struct timeline *tl)
{
    r->tl = tl;
    r->win_valid = 0;
}
/* The programme gain (linear) on everything before the limiter: the
 * loudness level (loudness.h, session_program_gain). Set before rendering. */
static inline void render_set_gain(struct renderer *r, float gain)
{
    r->program_gain = gain;
}
/* Mixes a music bed under everything from now on (NULL: none), looped from
 * frame 0 (frame f plays bed[f % len]) over [0, tl->len_frames), ducked by
 * RENDER_MUSIC_DUCK_GAIN under speech with RENDER_MUSIC_DUCK_RAMP_MS linear
 * ramps, and faded out under a closing bell (the timeline's last event)
 * or over its last RENDER_MUSIC_END_FADE_MS. Call after render_init, from
 * the rendering thread or before rendering starts; m must outlive the
 * renderer's use of it. Returns 0, or COACH_EINVAL if m's rate is not the
 * timeline's (nothing changes then). */
int render_set_music(struct renderer *r, const struct music *m);
void render_free(struct renderer *r);
/* Fills out with n frames (n * channels floats) starting at frame a. Any n:
 * larger blocks are rendered in max_block pieces. Never exceeds [-1, 1].
 * It is render_mix then render_finish, block by block. */
void render(struct renderer *r, uint64_t a, float *out, size_t n);
/* The two halves of render, for a caller that mixes more in between (the
 * live engine: its fades, spoken answers and acknowledgement tones), so
 * that everything heard passes the one limiter:
 * render_mix: the timeline's mono mix of frames [a, a+m) before the volume
 * (m <= max_block), in the renderer's scratch (valid until the next call),
 * or NULL when the block is silent;
 * render_finish: master volume, the soft limiter (never past [-1, 1]) and
 * the channels, from m mono frames into out (mono NULL: silence). */
const float *render_mix(struct renderer *r, uint64_t a, size_t m);
void render_finish(struct renderer *r, const float *mono, float *out, size_t m);

/* The limiter: every mixed sample, and the points a 4x oversampling finds
 * between samples, stays under the ceiling (-1.3 dBFS: a true peak under
 * -1 dBTP with a margin for another meter's interpolator); the gain comes down linearly over the look-ahead before a
 * peak and goes back up over the release after it. */
#define RENDER_LIMIT_CEILING 0.8610f
#define RENDER_LIMIT_ATTACK_MS 5
#define RENDER_LIMIT_RELEASE_MS 40
#define RENDER_TP_HALF 8 /* taps each side of the true-peak interpolator */
/* Frames of mix the limiter reads before a block (what a caller must keep
 * prepared behind the playhead). */
static inline size_t render_limit_before_frames(uint32_t rate_hz)
{
    return (size_t)frames_from_ms(RENDER_LIMIT_RELEASE_MS, rate_hz) + RENDER_TP_HALF + 1;
}

/* Speech ducking (tones only): gain for tones under speech and ramp. */
#define RENDER_DUCK_GAIN 0.25f
#define RENDER_DUCK_RAMP_MS 30
/* Music ducking: -12 dB under speech, 100 ms ramps (done before speech
 * starts, begun after it ends). */
#define RENDER_MUSIC_DUCK_GAIN 0.25f
#define RENDER_MUSIC_DUCK_RAMP_MS 100
#define RENDER_MUSIC_END_FADE_MS 20

#endif
