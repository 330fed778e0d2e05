/* The speech backends behind speech.c: one table of operations per engine
 * (tts_espeak.c, tts_flite.c). speech.c owns what they share: the lexicon,
 * the clip cap, the interrupt, the trimming of silence and the checks on
 * the result; a backend only turns text into int16 PCM at its voice's
 * rate. Private to the speech module (not in include/). */
#ifndef COACH_TTS_H
#define COACH_TTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/speech.h"

/* Where a synthesis collects its audio; tts_put appends to it. */
struct tts_buf {
    int16_t *pcm;
    size_t len, cap;   /* frames */
    size_t max_frames; /* the handle's clip cap at the voice's rate */
    bool oom, too_long, interrupted;
};

/* Appends n frames; returns nonzero when the synthesis must stop there
 * (no memory, past the cap, or the process interrupted: said in b). */
int tts_put(struct tts_buf *b, const int16_t *pcm, size_t n);

struct tts_ops {
    const char *name; /* "espeak-ng", "flite": what a profile's 'engine =' says */
    /* The engine library's version ("1.51", "2.2"), known without opening
     * it: part of a phrase's cache key (phrasecache.h). */
    const char *(*version)(void);
    /* Opens voice (a name of speech_voice_name_ok's shape); its sample
     * rate in *rate_hz. 0 or a COACH_E* code (see speech_open). */
    int (*open)(void **state, const char *voice, int pitch, uint32_t *rate_hz);
    void (*close)(void *state);
    /* Appends text said at rate_wpm to b; 0 or a COACH_E* code. */
    int (*synth)(void *state, const char *text, int rate_wpm, struct tts_buf *b);
    /* Every voice this engine knows of, installed or not (see speech.h). */
    int (*voices)(speech_voice_fn fn, void *ctx);
    /* Why open failed with rc; one line into buf. */
    void (*explain)(int rc, const char *voice, const char *profile, char *buf, size_t cap);
};

extern const struct tts_ops tts_espeak_ops;
extern const struct tts_ops tts_flite_ops;

#endif
