/* Captions: every spoken phrase of a timeline (each EV_SPEECH event) as one
 * cue in WebVTT or SubRip, timed from the plan's exact frames, so a deaf or
 * hard-of-hearing person can follow an exported session on a screen, and
 * over the parts without words a note of what sounds; or all of them as a
 * plain-text transcript for screen readers and braille. Times are
 * milliseconds with the start rounded down and the end rounded up: a cue
 * never appears late or vanishes early. */
#ifndef COACH_CAPTIONS_H
#define COACH_CAPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "coach/clips.h"
#include "coach/timeline.h"

/* CAPTIONS_TEXT: a plain transcript for screen readers and braille, one
 * "M:SS text" line per cue (never chosen by extension: --transcript). */
enum captions_format { CAPTIONS_VTT, CAPTIONS_SRT, CAPTIONS_TEXT, CAPTIONS_UNKNOWN };

/* ".vtt" -> CAPTIONS_VTT, ".srt" -> CAPTIONS_SRT (case-insensitive);
 * CAPTIONS_UNKNOWN otherwise. */
enum captions_format captions_format_from_path(const char *path);

/* Frame position to milliseconds, rounded down / up (exact integers). */
static inline uint64_t captions_ms_floor(uint64_t frame, uint32_t rate_hz)
{
    return frame * 1000 / rate_hz;
}
static inline uint64_t captions_ms_ceil(uint64_t frame, uint32_t rate_hz)
{
    return (frame * 1000 + rate_hz - 1) / rate_hz;
}

/* A note is shown only where a stretch without words lasts at least this
 * long: between two phrases of a block it would flicker. */
#define CAPTIONS_NOTE_MIN_MS 2000

/* Writes one cue per speech event and self-paced part, and the notes'
 * texts (timeline.h), each one cue from the first to the last stretch of
 * at least CAPTIONS_NOTE_MIN_MS that neither covers; all in time order,
 * the phrases' texts from cs. VTT starts with "WEBVTT" and a NOTE naming
 * title (may be NULL); SRT cues are numbered from 1; TEXT is one line per
 * cue, no header, no markup. Text: VTT escapes & < > as entities; SRT
 * keeps it as is but breaks any "-->" (it would end the timing line for a
 * parser); line breaks become spaces (a blank line ends a cue). Returns 0,
 * COACH_EINVAL (bad format or rate, a clip id without text), COACH_ENOMEM,
 * or COACH_EIO if out reports an error (errno set). */
int captions_write(const struct timeline *tl, const struct clipstore *cs, enum captions_format fmt,
                   const char *title, FILE *out);
/* How many cues captions_write writes (0 when out of memory). */
size_t captions_count(const struct timeline *tl, const struct clipstore *cs);

#endif
