/* Export: render a whole timeline into an audio file with libsndfile (WAV,
 * FLAC, OGG Vorbis, Opus, MP3). Written to a temporary file next to the
 * target and renamed, so a failure never leaves a partial file. */
#ifndef COACH_EXPORT_H
#define COACH_EXPORT_H

#include <signal.h>
#include <stdint.h>

#include "coach/clips.h"
#include "coach/timeline.h"

enum export_format { EXPORT_WAV, EXPORT_FLAC, EXPORT_OGG, EXPORT_OPUS, EXPORT_MP3, EXPORT_UNKNOWN };

struct export_opts {
    enum export_format format; /* from export_format_from_path or --format */
    uint32_t channels;         /* 1 or 2 */
    const char *title;         /* metadata, may be NULL */
    const char *artist;        /* metadata, may be NULL */
    const char *comment;       /* metadata, may be NULL */
    /* called now and then with frames done/total; may be NULL */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    /* when it becomes nonzero (e.g. from SIGINT) the export stops, removes
     * its temporary file and returns COACH_EINTR; may be NULL */
    volatile sig_atomic_t *cancel;
};

/* ".wav" -> EXPORT_WAV ... (case-insensitive); EXPORT_UNKNOWN otherwise. */
enum export_format export_format_from_path(const char *path);
/* "wav", "flac", "ogg", "opus", "mp3" -> format; EXPORT_UNKNOWN otherwise. */
enum export_format export_format_from_name(const char *name);
const char *export_format_name(enum export_format f);

/* Renders tl into path. Clips are prepared just before they are needed and
 * released after their last use. On failure returns negative, sets errno
 * where it applies, writes a short reason to err, and leaves no file
 * (an existing file at path is untouched). */
int export_timeline(const struct timeline *tl, struct clipstore *cs, const char *path,
                    const struct export_opts *o, char *err, size_t err_cap);

#endif
