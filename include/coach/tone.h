/* Tone generators: metronome click (accented), countdown beeps, breathing
 * sweeps, tempo-phase tones and the bell. Each is a pure function of the
 * frame offset from the event's start (no state, no allocation), so any
 * block of frames renders the same however the stream is cut. Smooth
 * envelopes (no clicks) and no partial above 0.45 * rate (no aliasing). */
#ifndef COACH_TONE_H
#define COACH_TONE_H

#include <stddef.h>
#include <stdint.h>

#include "coach/timeline.h"

/* The keep-alive of --preroll (EV_KEEPALIVE events, and the live engine's
 * own while the timeline is held): a 20 Hz sine at -60.5 dBFS peak
 * (amplitude 0.00094, -63.5 dBFS RMS; about 31 LSB in 16-bit PCM, so no
 * converter or codec rounds it to the digital zero some speakers sleep on).
 * Why nobody hears it: the threshold of hearing at 20 Hz is about 78 dB SPL
 * (ISO 226); -60 dBFS on a speaker that reaches 110 dB SPL at full scale is
 * 50 dB SPL even with a response flat down to 20 Hz, and small Bluetooth
 * speakers roll off far above 20 Hz. The volume scales it like everything
 * (at the loudest, 2x, it is -54.5 dBFS). It fades in and out over
 * TONE_KEEPALIVE_FADE_MS at the ends of a quiet span (variant bits) so the
 * edges do not click; its phase follows the absolute frame (e->frame +
 * offset), so keep-alive events that touch join without a seam. */
#define TONE_KEEPALIVE_HZ 20.0
#define TONE_KEEPALIVE_AMP 0.00094f
#define TONE_KEEPALIVE_FADE_MS 100.0
#define TONE_KEEPALIVE_FADE_IN 1u  /* variant bit: fades in at its start */
#define TONE_KEEPALIVE_FADE_OUT 2u /* variant bit: fades out at its end */

/* The length in frames the planner gives a tone event of this kind (for
 * breath tones the planner gives the phase length instead). */
uint64_t tone_default_len(enum event_kind k, uint32_t rate_hz);
/* Peak amplitude of a tone kind before ducking (all well below 1). */
float tone_peak(enum event_kind k);
/* Adds the samples of tone event e for frames [e->frame + offset,
 * e->frame + offset + n) into mono (n samples). Frames past the event's
 * length add nothing. */
void tone_add(const struct event *e, uint64_t offset, float *mono, size_t n, uint32_t rate_hz);

#endif
