/* Tags inside an exported audio file that libsndfile cannot write: the
 * chapters a phone's podcast or audiobook player shows (MP3: ID3v2 CHAP +
 * CTOC frames; FLAC, Ogg Vorbis, Opus: Vorbis comments CHAPTER001 =
 * 00:00:00.000 and CHAPTER001NAME), with the title, artist, album and track
 * number. Written with TagLib into a finished file (the export's temporary
 * file, before its rename). A WAV gets its cue points' names (a LIST adtl
 * chunk of labl chunks); libsndfile gives it the cue points and INFO tags. */
#ifndef COACH_TAGS_H
#define COACH_TAGS_H

#include <stddef.h>

#include "coach/timeline.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tags {
    const char *title;  /* may be NULL */
    const char *artist; /* may be NULL */
    const char *album;  /* may be NULL */
    unsigned track;     /* 1-based track number, 0 = none */
    /* every chapter of this timeline (times rounded down to the
     * millisecond), or NULL for none */
    const struct timeline *chapters;
};

/* Writes t into the finished audio file at path, whose format is named by
 * format (export_format_name: "mp3", "flac", "ogg", "opus", "wav"; for
 * "wav", only the chapters' names, as cue point labels). Returns 0, or negative with a reason in err and errno set
 * where the system gave one (COACH_EFORMAT: a format TagLib cannot read,
 * COACH_EIO: it could not save). */
int tags_write(const char *path, const char *format, const struct tags *t, char *err,
               size_t err_cap);

#ifdef __cplusplus
}
#endif

#endif
