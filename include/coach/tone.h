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
