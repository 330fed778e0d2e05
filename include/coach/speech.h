/* Text -> mono int16 PCM with one of the speech engines: espeak-ng (the
 * default, every language, and its MBROLA voices "mb-us1"...) or flite (US
 * English voices slt, rms, awb, kal16). A voice profile's lexicon is
 * applied to the text first. The engines hold global, not thread-safe
 * state: use from one thread only. */
#ifndef COACH_SPEECH_H
#define COACH_SPEECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/lexicon.h"

struct speech;

/* The engines (a profile's 'engine ='); 0 is the default. */
enum speech_engine { SPEECH_ESPEAK = 0, SPEECH_FLITE, SPEECH_ENGINE_COUNT };
/* "espeak-ng" or "flite". */
const char *speech_engine_name(enum speech_engine e);
/* "espeak-ng" (also "espeak") or "flite" -> *e; -1 for another name. */
int speech_engine_parse(const char *name, enum speech_engine *e);

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
    const char *espeak_voice; /* the engine's voice: "en-us", "en-us+f3", "mb-us1", "slt" */
    enum speech_engine engine; /* SPEECH_ESPEAK unless set */
    const struct lexicon *lexicon; /* borrowed, may be NULL: words replaced before synthesis */
    int rate_wpm;             /* words per minute, 80-450 */
    int pitch;                /* 0-100, 50 normal (espeak-ng only: flite keeps its voice's) */
    int volume;               /* 0-200, 100 normal */
    int max_clip_s;           /* longest clip; 0: SPEECH_MAX_CLIP_S (tests set less) */
};

/* Initializes the engine (espeak-ng: data path from the default location
 * or $ESPEAK_DATA_PATH) and selects the voice. An MBROLA voice whose
 * program or database is not installed is COACH_ESPEECH, and
 * speech_explain names the packages (espeak-ng is never asked: it would
 * print its own complaints and start a process). Returns 0, COACH_ESPEECH (no
 * data / unknown voice), COACH_EINVAL (a voice name of an unsafe shape:
 * never given to espeak-ng), COACH_ENOMEM (no memory, or no thread could
 * be made) or COACH_EIO (no file descriptor left: EMFILE or ENFILE; the
 * reason is kept for speech_explain). */
int speech_open(struct speech **out, const struct speech_settings *s);
/* speech_open with the engine started on a thread of its own: returns at
 * once (COACH_EINVAL or COACH_ENOMEM as speech_open does before the
 * engine), and speech_opened waits for the engine and returns what
 * speech_open would have. Every call below that needs the engine waits
 * for it first (and fails as it failed). The synthesis pool calls
 * speech_opened before it forks. */
int speech_open_async(struct speech **out, const struct speech_settings *s);
int speech_opened(const struct speech *sp);
void speech_close(struct speech *sp);
/* The sample rate speech_synth produces with this handle's voice, read
 * from the engine for each voice: 22050 for espeak-ng's own voices, the
 * database's for its MBROLA voices (mb-us1 16000, mb-de6 22050), 16000 for
 * flite's. */
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
/* Same, said at rate_wpm words per minute (80-450; 0: the handle's rate). */
int speech_synth_at(struct speech *sp, const char *text, int rate_wpm, int16_t **pcm,
                    size_t *len_frames);
/* The handle's own rate, words per minute. */
int speech_rate_wpm(const struct speech *sp);
/* What makes speech_synth_at's samples what they are, as text: format (the
 * cache's own version), the engine and its version, the voice, the rate
 * and pitch, the trimming, and the text after the lexicon. Two calls give
 * the same key only for the same samples (phrasecache.h). Heap; NULL when
 * out of memory. */
char *speech_cache_key(const struct speech *sp, const char *text, int rate_wpm, int format);
/* The same key from the settings a handle would be opened with, without
 * the engine (a menu lists routines without starting one): NULL when they
 * are not valid, or out of memory. */
char *speech_settings_cache_key(const struct speech_settings *s, const char *text, int rate_wpm,
                                int format);

/* One voice of an engine, for 'coach voices'. */
struct speech_voice_info {
    const char *name;     /* what 'voice =' takes: "en-us", "mb-de6", "slt" */
    const char *language; /* "en-us", "de"... */
    const char *about;    /* a description ("female", "German MBROLA 6"), may be "" */
    bool available;       /* installed: usable now */
    const char *packages; /* when not: the Debian packages that add it */
};
typedef int (*speech_voice_fn)(void *ctx, const struct speech_voice_info *v);
/* Calls fn for every voice engine e knows of (fn returning nonzero stops
 * the listing with that value). Returns 0, fn's value, or a COACH_E* code
 * when the engine cannot start (speech_explain says why). */
int speech_list_voices(enum speech_engine e, speech_voice_fn fn, void *ctx);
/* Whether voice of engine e is installed; if not and packages is given,
 * the Debian packages that would add it ("mbrola mbrola-de6"). A voice the
 * engine does not know at all is not available, with no package. */
bool speech_voice_available(enum speech_engine e, const char *voice, char *packages, size_t cap);
/* The language voice of engine e speaks ("en-us" for flite's voices and
 * mb-us1, "de" for mb-de6 and de), into buf. */
void speech_voice_language(enum speech_engine e, const char *voice, char *buf, size_t cap);
/* Why speech_open failed with rc, said so that it can be fixed: espeak-ng's
 * data missing (the package espeak-ng-data, or ESPEAK_DATA_PATH pointing at
 * the wrong place) is told apart from a voice it does not have (voice, of
 * the profile file profile), from a name of an unsafe shape, and from a
 * process out of memory or file descriptors (ulimit). One line, no
 * newline, into buf. */
void speech_explain(int rc, const char *voice, const char *profile, char *buf, size_t cap);

#endif
