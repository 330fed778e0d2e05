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
    float *scratch_mono;         /* max_block */
    float *scratch_tone;         /* max_block */
    float *scratch_gain;         /* max_block */
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

/* Speech ducking (tones only): gain for tones under speech and ramp. */
#define RENDER_DUCK_GAIN 0.25f
#define RENDER_DUCK_RAMP_MS 30
/* Music ducking: -12 dB under speech, 100 ms ramps (done before speech
 * starts, begun after it ends). */
#define RENDER_MUSIC_DUCK_GAIN 0.25f
#define RENDER_MUSIC_DUCK_RAMP_MS 100
#define RENDER_MUSIC_END_FADE_MS 20

#endif
