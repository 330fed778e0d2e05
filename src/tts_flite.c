/* The flite backend (Debian main, flite1-dev): CMU's US English voices
 * slt, rms, awb and kal16, each a shared library of compiled-in tables
 * (no data files to miss) opened with dlopen only when a profile uses it:
 * linked in, their relocated tables cost every coach run ~5 MB of memory.
 * flite makes a whole phrase in one call (it cannot be stopped half-way; a
 * phrase is at most a few seconds of work, and the interrupt is looked at
 * before and after), at the voice's own rate (16000 Hz for
 * all four, read from the wave it makes). About 10x slower than espeak-ng. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <flite/flite.h>
#include <flite/flite_version.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "tts.h"

/* flite's speed at duration_stretch 1, in espeak-ng's words per minute
 * (the same phrase lasts as long as espeak-ng's at 175: measured 6.11 s
 * against 6.16 s), so a profile's 'rate' means the same with either. */
#define FLITE_NATURAL_WPM 175.0f

static const struct {
    const char *name, *about;
} voices[] = {
    {"slt", "female, US English"},
    {"rms", "male, US English"},
    {"awb", "male, Scottish English"},
    {"kal16", "male, US English (diphone)"},
};
#define N_VOICES (sizeof voices / sizeof *voices)

/* Registered once, on first use, and kept: a voice is a few MB of
 * constant tables plus a small feature list. */
static cst_voice *g_voice[N_VOICES];
static bool g_inited;
static bool g_missing; /* the last open failed for want of the voice's library */

/* Voice k from its library (libflite1: libflite_cmu_us_NAME.so.1), or NULL
 * with *missing set when the library or its entry point is not there. */
static cst_voice *load_voice(size_t k, bool *missing)
{
    char lib[64], sym[64];
    snprintf(lib, sizeof lib, "libflite_cmu_us_%s.so.1", voices[k].name);
    snprintf(sym, sizeof sym, "register_cmu_us_%s", voices[k].name);
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL); /* kept open: the voice points into it */
    cst_voice *(*reg)(const char *) = NULL;
    if (h) *(void **)&reg = dlsym(h, sym);
    *missing = !reg;
    return reg ? reg(NULL) : NULL;
}

static long find_voice(const char *name)
{
    for (size_t i = 0; i < N_VOICES; i++)
        if (strcmp(voices[i].name, name) == 0) return (long)i;
    return -1;
}

static int fl_synth(void *state, const char *text, int rate_wpm, struct tts_buf *b)
{
    cst_voice *v = g_voice[(size_t)state - 1];
    feat_set_float(v->features, "duration_stretch", FLITE_NATURAL_WPM / (float)rate_wpm);
    if (tts_put(b, NULL, 0)) return 0; /* interrupted before: b says so */
    cst_wave *w = flite_text_to_wave(text, v);
    if (!w) return COACH_ESPEECH;
    tts_put(b, w->samples, w->num_samples > 0 ? (size_t)w->num_samples : 0);
    delete_wave(w);
    return 0;
}

static int fl_open(void **state, const char *voice, int pitch, uint32_t *rate_hz)
{
    (void)pitch; /* flite's voices keep their own pitch (speech.h) */
    *state = NULL;
    long k = find_voice(voice);
    g_missing = false;
    if (k < 0) return COACH_ESPEECH;
    if (!g_inited) {
        flite_init();
        g_inited = true;
    }
    bool missing = false;
    if (!g_voice[k] && !(g_voice[k] = load_voice((size_t)k, &missing)))
        return (g_missing = missing) ? COACH_ESPEECH : COACH_ENOMEM;
    /* the rate is the wave's: one short word tells it */
    cst_wave *w = flite_text_to_wave("a", g_voice[k]);
    if (!w) return COACH_ESPEECH;
    *rate_hz = w->sample_rate > 0 ? (uint32_t)w->sample_rate : 0;
    delete_wave(w);
    if (!*rate_hz) return COACH_ESPEECH;
    *state = (void *)(size_t)(k + 1);
    return 0;
}

static void fl_close(void *state) { (void)state; }

static int fl_voices(speech_voice_fn fn, void *ctx)
{
    for (size_t i = 0; i < N_VOICES; i++) {
        struct speech_voice_info info = {.name = voices[i].name, .language = "en-us",
                                         .about = voices[i].about, .available = true,
                                         .packages = ""};
        int rc = fn(ctx, &info);
        if (rc) return rc;
    }
    return 0;
}

static void fl_explain(int rc, const char *voice, const char *profile, char *buf, size_t cap)
{
    if (rc == COACH_ESPEECH && g_missing && find_voice(voice) >= 0)
        snprintf(buf, cap, "coach: flite voice %s cannot be loaded (libflite_cmu_us_%s.so.1: %s)",
                 voice, voice, "install libflite1");
    else if (rc == COACH_ENOMEM)
        snprintf(buf, cap, "coach: flite cannot start voice %s: out of memory", voice);
    else
        snprintf(buf, cap, "%s: flite has no voice '%s' (it has slt, rms, awb and kal16)", profile,
                 voice);
}

static const char *fl_version(void) { return FLITE_PROJECT_VERSION; }

const struct tts_ops tts_flite_ops = {
    .name = "flite",
    .version = fl_version,
    .open = fl_open,
    .close = fl_close,
    .synth = fl_synth,
    .voices = fl_voices,
    .explain = fl_explain,
};
