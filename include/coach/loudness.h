/* Loudness (ITU-R BS.1770 through libebur128): what one phrase measures, so
 * the clip store can bring every phrase to the same loudness, and the
 * export targets (--loudness). Levels here are LUFS measured on the mono
 * signal; a stereo file of the same samples measures 3 LU more (two
 * speakers), so one mono mix serves both: podcast is -16 LUFS in stereo and
 * -19 LUFS in a mono file, at the same samples. */
#ifndef COACH_LOUDNESS_H
#define COACH_LOUDNESS_H

#include <stddef.h>
#include <stdint.h>

enum loudness_mode {
    LOUDNESS_PODCAST,   /* -16 LUFS stereo / -19 LUFS mono (the default) */
    LOUDNESS_BROADCAST, /* -23 LUFS stereo (EBU R128) / -26 LUFS mono */
    LOUDNESS_OFF,       /* no programme gain: phrases at LOUDNESS_SPEECH_LUFS */
};

/* Every phrase is brought to this loudness (mono measure): about the
 * average phrase of the old peak normalization, so tones and music keep
 * their level against speech; the programme gain moves all of it. */
#define LOUDNESS_SPEECH_LUFS (-21.0)
/* True peak ceiling the renderer's limiter keeps every export under. */
#define LOUDNESS_CEILING_DBTP (-1.0)

/* The integrated loudness (mono measure) of a shipped routine's mix at
 * programme gain 1, phrases at LOUDNESS_SPEECH_LUFS with their tones: the
 * relative gate (-10 LU) leaves out the quiet between phrases, so speech
 * sets it and a routine's mix of tones moves it by a few tenths at most
 * (-21.5 to -22.1 over routines/ on 2026-12-04, so -21.8 centres them:
 * tests/loudness.sh). */
#define LOUDNESS_PROGRAMME_LUFS (-21.8)

/* The programme gain (linear) that brings that mix to mode's target; 1
 * for off. */
float loudness_program_gain(enum loudness_mode mode);

/* "podcast", "broadcast", "off" -> 0 and *mode; -1 for anything else. */
int loudness_mode_from_name(const char *name, enum loudness_mode *mode);
const char *loudness_mode_name(enum loudness_mode mode);
/* The integrated target of the mono mix (LUFS, mono measure); NAN for off. */
double loudness_target_lufs(enum loudness_mode mode);

/* The loudness of one phrase (LUFS, mono): BS.1770 gated integrated
 * loudness over its 400 ms blocks; a phrase shorter than one block ("Rep
 * 3.", "Go.") has no gated block, so it is measured as one block of its
 * own length (the mean K-weighted power over the phrase, which is
 * trimmed of silence). -HUGE_VAL for silence. Returns 0, COACH_ENOMEM or
 * COACH_EINVAL. */
int loudness_of_phrase(const int16_t *pcm, size_t n, uint32_t rate_hz, double *lufs);
/* The same for float PCM (tests measure prepared clips with it). */
int loudness_of_phrase_f32(const float *pcm, size_t n, uint32_t rate_hz, double *lufs);

#endif
