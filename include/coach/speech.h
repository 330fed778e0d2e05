/* Text -> mono int16 PCM with espeak-ng in synchronous mode. Owns the
 * (global, not thread-safe) espeak-ng state: use from one thread only. */
#ifndef COACH_SPEECH_H
#define COACH_SPEECH_H

#include <stddef.h>
#include <stdint.h>

struct speech;

/* espeak-ng takes a voice name as a path under its data directory and
 * copies a "+variant" into a fixed buffer of 40 bytes (1.51): only names
 * of this shape are ever passed to it. Letters, digits, '-' and '_', at
 * most one "+variant" of the same letters, neither part empty. */
#define SPEECH_VOICE_NAME_MAX 40 /* bytes, variant included */
#define SPEECH_VARIANT_MAX 20    /* bytes after the '+' */
/* 1 if name has the safe shape above ("en-us", "en-us+f3", "mb-us1"). */
int speech_voice_name_ok(const char *name);

/* The longest clip synthesized: speech_synth stops there with
 * COACH_ETOOLONG, so a runaway text never makes an hour of audio first.
 * A routine text (500 bytes) is at most about 3 minutes at the slowest
 * rate; the longest phrase a profile may expand to (VOICE_MAX_PHRASE_BYTES)
 * stays under it too. */
#define SPEECH_MAX_CLIP_S 900

struct speech_settings {
    const char *espeak_voice; /* e.g. "en-us", "en-us+f3" */
    int rate_wpm;             /* words per minute, 80-450 */
    int pitch;                /* 0-100, 50 normal */
    int volume;               /* 0-200, 100 normal */
    int max_clip_s;           /* longest clip; 0: SPEECH_MAX_CLIP_S (tests set less) */
};

/* Initializes espeak-ng (data path from the default location or
 * $ESPEAK_DATA_PATH) and selects the voice. Returns 0, COACH_ESPEECH (no
 * data / unknown voice), COACH_EINVAL (a voice name of an unsafe shape:
 * never given to espeak-ng), COACH_ENOMEM (no memory, or no thread could
 * be made) or COACH_EIO (no file descriptor left: EMFILE or ENFILE; the
 * reason is kept for speech_explain). */
int speech_open(struct speech **out, const struct speech_settings *s);
void speech_close(struct speech *sp);
/* The sample rate speech_synth produces with this handle's voice (22050
 * for espeak-ng's own voices, 16000 for its MBROLA voices). */
uint32_t speech_rate_hz(const struct speech *sp);
/* The longest clip this handle makes, in seconds. */
int speech_max_clip_s(const struct speech *sp);
/* The voice's volume, 0-200 percent (100 normal): espeak-ng speaks at its
 * normal volume, the clip store scales its normalization peak by this. */
int speech_volume_pct(const struct speech *sp);
/* Synthesizes UTF-8 text. *pcm is malloc'd (caller frees), leading and
 * trailing silence trimmed so that the first sample is the onset of speech.
 * An empty result is valid (len 0, pcm NULL). Returns 0 or negative:
 * COACH_ETOOLONG past max_clip_s of audio, COACH_EINTR as soon as
 * the process is interrupted (coach/interrupt.h), both without finishing
 * the text. */
int speech_synth(struct speech *sp, const char *text, int16_t **pcm, size_t *len_frames);
/* Why speech_open failed with rc, said so that it can be fixed: espeak-ng's
 * data missing (the package espeak-ng-data, or ESPEAK_DATA_PATH pointing at
 * the wrong place) is told apart from a voice it does not have (voice, of
 * the profile file profile), from a name of an unsafe shape, and from a
 * process out of memory or file descriptors (ulimit). One line, no
 * newline, into buf. */
void speech_explain(int rc, const char *voice, const char *profile, char *buf, size_t cap);

#endif
