/* Background music ("--music FILE|DIR"): decoded once with libsndfile (any
 * format it reads), mixed down to mono, resampled to the output rate with
 * libsoxr (HQ) and levelled to a modest bed (RMS about -24 dBFS, peak at most
 * MUSIC_PEAK_MAX) so speech at 0.7 stays on top. Kept as int16 at the output
 * rate, at most MUSIC_MAX_SECONDS of it (57.6 MB at 48 kHz), and looped by
 * the renderer, which ducks it under speech (render.h). Every file's ends are
 * faded over MUSIC_FADE_MS, so neither the loop seam nor the joins between
 * the tracks of a directory click. Loading is not real-time safe; the loaded
 * bed is immutable and may be read by any thread. */
#ifndef COACH_MUSIC_H
#define COACH_MUSIC_H

#include <stddef.h>
#include <stdint.h>

#define MUSIC_MAX_SECONDS 600   /* stored length cap; longer input is cut */
#define MUSIC_TARGET_RMS 0.063f /* -24 dBFS */
#define MUSIC_PEAK_MAX 0.35f    /* under speech's 0.7 */
#define MUSIC_FADE_MS 20        /* fade in and out at every file's ends */

struct music {
    int16_t *pcm;        /* mono at rate_hz; float value = pcm[i] * scale */
    uint64_t len_frames; /* > 0 once loaded */
    uint32_t rate_hz;
    float scale;         /* int16 -> float (headroom above MUSIC_PEAK_MAX) */
    unsigned n_files;    /* files played, in name order */
    unsigned n_skipped;  /* directory entries libsndfile could not use */
    int truncated;       /* 1 if input went past MUSIC_MAX_SECONDS */
};

/* Loads a file, or every audio file of a directory (sorted by name, played
 * one after another; what libsndfile cannot open, or that holds no sound, is
 * skipped), each levelled on its own. Returns 0, or COACH_ENOTFOUND (no such
 * path), COACH_EFORMAT (a file libsndfile cannot read), COACH_EINVAL (no
 * audio: empty, silent, empty directory), COACH_ENOMEM, COACH_EIO, with
 * "path: reason" in err; m is then empty. */
int music_load(struct music *m, const char *path_or_dir, uint32_t rate_hz, char *err, size_t cap);
/* Frees the PCM; safe on a zeroed or freed music. */
void music_free(struct music *m);

#endif
