/* Chapter lists: the timeline's chapters (the intro and one per step, with
 * their titles) as a sidecar file a podcast or audiobook player can use to
 * jump between steps: a CUE sheet, Podcasting 2.0 JSON chapters, or an
 * ffmetadata file (for `ffmpeg -i audio -i list -map_chapters 1`). */
#ifndef COACH_CHAPTERS_H
#define COACH_CHAPTERS_H

#include <stdint.h>
#include <stdio.h>

#include "coach/timeline.h"

enum chapters_format {
    CHAPTERS_CUE,        /* .cue: CUE sheet, INDEX 01 mm:ss:ff at 75 frames/s */
    CHAPTERS_JSON,       /* .json: Podcasting 2.0 chapters, version 1.2.0 */
    CHAPTERS_FFMETADATA, /* .txt: ";FFMETADATA1", [CHAPTER] in milliseconds */
    CHAPTERS_UNKNOWN
};

/* By extension, case-insensitive; CHAPTERS_UNKNOWN otherwise. */
enum chapters_format chapters_format_from_path(const char *path);

/* How a chapter list at list_path names the audio at audio_path: its base
 * name when both are in the same directory (the usual sidecar), else
 * audio_path as given. NULL on no memory. */
char *chapters_audio_ref(const char *list_path, const char *audio_path);

/* Writes every chapter of tl in order. Times are rounded down (to the
 * millisecond, or the 1/75 s CUE frame), so a jump never lands after a
 * step's first word, and contiguous chapters share their boundaries.
 * title (may be NULL) names the whole session; audio names the audio file
 * (CUE's FILE line, whose type is MP3 for .mp3 and WAVE otherwise; may be
 * NULL for the other formats). Returns 0, COACH_EINVAL, or COACH_EIO if
 * out reports an error (errno set). */
int chapters_write(const struct timeline *tl, enum chapters_format fmt, const char *title,
                   const char *audio, FILE *out);

#endif
