/* Text -> mono int16 PCM with espeak-ng in synchronous mode. Owns the
 * (global, not thread-safe) espeak-ng state: use from one thread only. */
#ifndef COACH_SPEECH_H
#define COACH_SPEECH_H

#include <stddef.h>
#include <stdint.h>

struct speech;

struct speech_settings {
    const char *espeak_voice; /* e.g. "en-us", "en-us+f3" */
    int rate_wpm;             /* words per minute, 80-450 */
    int pitch;                /* 0-100, 50 normal */
    int volume;               /* 0-200, 100 normal */
};

/* Initializes espeak-ng (data path from the default location or
 * $ESPEAK_DATA_PATH) and selects the voice. Returns 0, COACH_ESPEECH (no
 * data / unknown voice) or COACH_ENOMEM. */
int speech_open(struct speech **out, const struct speech_settings *s);
void speech_close(struct speech *sp);
/* The sample rate speech_synth produces with this handle's voice (22050
 * for espeak-ng's own voices, 16000 for its MBROLA voices). */
uint32_t speech_rate_hz(const struct speech *sp);
/* Synthesizes UTF-8 text. *pcm is malloc'd (caller frees), leading and
 * trailing silence trimmed so that the first sample is the onset of speech.
 * An empty result is valid (len 0, pcm NULL). Returns 0 or negative. */
int speech_synth(struct speech *sp, const char *text, int16_t **pcm, size_t *len_frames);
/* Why speech_open failed with rc, said so that it can be fixed: espeak-ng's
 * data missing (the package espeak-ng-data, or ESPEAK_DATA_PATH pointing at
 * the wrong place) is told apart from a voice it does not have (voice, of
 * the profile file profile). One line, no newline, into buf. */
void speech_explain(int rc, const char *voice, const char *profile, char *buf, size_t cap);

#endif
