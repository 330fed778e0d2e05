/* Speech synthesis, the engine-independent part: a handle picks its
 * backend from a small table (tts.h: espeak-ng in tts_espeak.c, flite in
 * tts_flite.c), applies the voice profile's lexicon to the text, collects
 * the backend's audio under the clip cap and the interrupt, and trims
 * leading/trailing silence so a clip's first sample is its onset. The
 * engines are global state: everything here must run on one thread (or
 * under one lock held by the caller). speech_open_async is the exception:
 * the engine starts on a thread of its own (espeak-ng takes ~10 ms, while
 * `coach play` waits as long for the sound system), and every call that
 * needs the engine waits for that thread first. */
#define _POSIX_C_SOURCE 200809L
#include "coach/speech.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coach/common.h"
#include "coach/interrupt.h"
#include "tts.h"

/* |x| below this is silence when trimming: about -50 dBFS (32768 * 10^-2.5). */
#define TRIM_THRESHOLD 104
/* Kept before the first / after the last loud sample so that soft onsets
 * (fricatives) and decays are not cut. Small: counts must land on time. */
#define TRIM_LEAD_MS 2
#define TRIM_TAIL_MS 10

static const struct tts_ops *const engines[SPEECH_ENGINE_COUNT] = {
    [SPEECH_ESPEAK] = &tts_espeak_ops,
    [SPEECH_FLITE] = &tts_flite_ops,
};

struct speech {
    const struct tts_ops *ops;
    void *state;      /* the backend's */
    char *voice;      /* the engine's voice name */
    int rate_wpm;     /* words per minute */
    int volume;       /* 0-200 percent, applied by the clip store */
    int pitch;        /* 0-100, as given to the engine */
    int max_clip_s;   /* a synthesis stops with COACH_ETOOLONG past this */
    uint32_t rate_hz; /* what the engine produces with this voice */
    const struct lexicon *lexicon; /* borrowed; NULL: none */
    /* speech_open_async: the thread opening the engine, joined once (under
     * mu) by the first call that needs it; open_rc is what it returned */
    pthread_mutex_t mu;
    pthread_t opener;
    bool opening;
    int open_rc;
};

/* The engine of the last speech_open, for speech_explain. */
static const struct tts_ops *g_last_ops = &tts_espeak_ops;

const char *speech_engine_name(enum speech_engine e)
{
    return (unsigned)e < SPEECH_ENGINE_COUNT ? engines[e]->name : "?";
}

int speech_engine_parse(const char *name, enum speech_engine *e)
{
    if (strcmp(name, "espeak") == 0) name = "espeak-ng";
    for (int i = 0; i < SPEECH_ENGINE_COUNT; i++)
        if (strcmp(name, engines[i]->name) == 0) {
            *e = (enum speech_engine)i;
            return 0;
        }
    return -1;
}

int tts_put(struct tts_buf *b, const int16_t *wav, size_t n)
{
    if (coach_interrupted()) {
        b->interrupted = true;
        return 1;
    }
    if (!wav || !n) return 0;
    if (b->len + n > b->max_frames) {
        b->too_long = true;
        return 1;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 22050;
        while (cap < b->len + n)
            cap *= 2;
        int16_t *p = realloc(b->pcm, cap * sizeof *p);
        if (!p) {
            b->oom = true;
            return 1; /* nonzero aborts synthesis */
        }
        b->pcm = p;
        b->cap = cap;
    }
    memcpy(b->pcm + b->len, wav, n * sizeof *wav);
    b->len += n;
    return 0;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int speech_voice_name_ok(const char *name)
{
    if (!name) return 0;
    size_t part = 0, total = 0;
    bool variant = false;
    for (const char *c = name; *c; c++, total++) {
        bool word = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
        if (*c == '+' && !variant && part) {
            variant = true;
            part = 0;
        } else if (word) {
            part++;
            if (variant && part > SPEECH_VARIANT_MAX) return 0;
        } else {
            return 0;
        }
        if (total + 1 > SPEECH_VOICE_NAME_MAX) return 0;
    }
    return part > 0;
}

/* The handle without its engine: everything speech_open checks first. */
static int speech_new(struct speech **out, const struct speech_settings *s)
{
    *out = NULL;
    enum speech_engine e = s ? s->engine : SPEECH_ESPEAK;
    if ((unsigned)e >= SPEECH_ENGINE_COUNT) return COACH_EINVAL;
    struct speech *sp = calloc(1, sizeof *sp);
    if (!sp) return COACH_ENOMEM;
    sp->ops = g_last_ops = engines[e];
    sp->voice = coach_strdup(s && s->espeak_voice && *s->espeak_voice ? s->espeak_voice : "en");
    if (!sp->voice) {
        free(sp);
        return COACH_ENOMEM;
    }
    /* rate_wpm <= 0 means the default; the rest is clamped to the
     * documented ranges rather than passed on as garbage. */
    sp->rate_wpm = s && s->rate_wpm > 0 ? clampi(s->rate_wpm, 80, 450) : 175;
    sp->pitch = s ? clampi(s->pitch, 0, 100) : 50;
    sp->volume = s ? clampi(s->volume, 0, 200) : 100;
    sp->max_clip_s = s && s->max_clip_s > 0 ? clampi(s->max_clip_s, 1, SPEECH_MAX_CLIP_S)
                                            : SPEECH_MAX_CLIP_S;
    sp->lexicon = s ? s->lexicon : NULL;
    /* never a path or an overlong variant into an engine (see speech.h) */
    if (!speech_voice_name_ok(sp->voice)) {
        free(sp->voice);
        free(sp);
        return COACH_EINVAL;
    }
    pthread_mutex_init(&sp->mu, NULL);
    *out = sp;
    return 0;
}

static void speech_free(struct speech *sp)
{
    pthread_mutex_destroy(&sp->mu);
    free(sp->voice);
    free(sp);
}

static int engine_open(struct speech *sp)
{
    return sp->ops->open(&sp->state, sp->voice, sp->pitch, &sp->rate_hz);
}

int speech_open(struct speech **out, const struct speech_settings *s)
{
    struct speech *sp;
    int rc = speech_new(&sp, s);
    if (!rc && (rc = engine_open(sp))) speech_free(sp);
    *out = rc ? NULL : sp;
    return rc;
}

static void *opener_run(void *arg)
{
    struct speech *sp = arg;
    sp->open_rc = engine_open(sp);
    return NULL;
}

int speech_open_async(struct speech **out, const struct speech_settings *s)
{
    int rc = speech_new(out, s);
    if (rc) return rc;
    struct speech *sp = *out;
    sp->opening = pthread_create(&sp->opener, NULL, opener_run, sp) == 0;
    if (!sp->opening) sp->open_rc = engine_open(sp); /* no thread to spare: here */
    return 0;
}

/* The handle is const to its readers; its mutex and the join are the only
 * things changed. */
int speech_opened(const struct speech *csp)
{
    if (!csp) return COACH_EINVAL;
    struct speech *sp = (struct speech *)csp;
    pthread_mutex_lock(&sp->mu);
    if (sp->opening) {
        pthread_join(sp->opener, NULL);
        sp->opening = false;
    }
    int rc = sp->open_rc;
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

void speech_close(struct speech *sp)
{
    if (!sp) return;
    if (!speech_opened(sp)) sp->ops->close(sp->state);
    speech_free(sp);
}

uint32_t speech_rate_hz(const struct speech *sp)
{
    return sp && !speech_opened(sp) ? sp->rate_hz : 0;
}

int speech_volume_pct(const struct speech *sp) { return sp ? sp->volume : 100; }

int speech_rate_wpm(const struct speech *sp) { return sp ? sp->rate_wpm : 175; }

int speech_max_clip_s(const struct speech *sp) { return sp ? sp->max_clip_s : SPEECH_MAX_CLIP_S; }

static int is_loud(int16_t x)
{
    return x >= TRIM_THRESHOLD || x <= -TRIM_THRESHOLD;
}

/* Whether text holds something a synthesizer says aloud: an ASCII letter
 * or digit, or a character from U+00C0 up to U+FFFF (the letters of other
 * scripts), except general punctuation (U+2000-U+206F: dashes, ellipses,
 * quotes). Text is valid UTF-8 (checked when its file was read). */
static bool has_word(const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c < 0x80) {
            if (isalnum(*c)) return true;
            continue;
        }
        if ((*c & 0xc0) == 0x80) continue; /* a continuation byte */
        if (*c >= 0xf0) continue;          /* beyond U+FFFF: emoji and such, not said */
        unsigned cp = *c >= 0xe0 ? (*c & 0x0fu) << 12 : (*c & 0x1fu) << 6;
        if (*c < 0xe0 && c[1]) cp |= c[1] & 0x3fu;
        else if (*c >= 0xe0 && c[1] && c[2]) cp |= (c[1] & 0x3fu) << 6 | (c[2] & 0x3fu);
        if (cp >= 0xc0 && !(cp >= 0x2000 && cp <= 0x206f)) return true;
    }
    return false;
}

int speech_synth(struct speech *sp, const char *text, int16_t **pcm, size_t *len_frames)
{
    return speech_synth_at(sp, text, 0, pcm, len_frames);
}

int speech_synth_at(struct speech *sp, const char *text, int rate_wpm, int16_t **pcm,
                    size_t *len_frames)
{
    *pcm = NULL;
    *len_frames = 0;
    if (!sp || !text) return COACH_EINVAL;
    if (!*text) return 0; /* nothing to say; no engine involved */
    if (coach_interrupted()) return COACH_EINTR;
    int open_rc = speech_opened(sp);
    if (open_rc) return open_rc;
    rate_wpm = rate_wpm > 0 ? clampi(rate_wpm, 80, 450) : sp->rate_wpm;
    /* the lexicon's words, never the caption's: only the engine hears them */
    char *said = lexicon_apply(sp->lexicon, text);
    if (!said) return COACH_ENOMEM;
    struct tts_buf b = {.max_frames = (size_t)sp->max_clip_s * sp->rate_hz};
    int rc = sp->ops->synth(sp->state, said, rate_wpm, &b);
    free(said);
    if (rc || b.oom || b.too_long || b.interrupted) {
        free(b.pcm);
        return b.interrupted ? COACH_EINTR
               : b.too_long  ? COACH_ETOOLONG
               : b.oom       ? COACH_ENOMEM
               : rc          ? rc
                             : COACH_ESPEECH;
    }

    size_t first = 0, last = b.len; /* loud range [first, last) */
    while (first < b.len && !is_loud(b.pcm[first]))
        first++;
    if (first == b.len) { /* silence only */
        free(b.pcm);
        /* punctuation alone is silent; words never are. espeak-ng answers
         * ENS_OK with no audio when its own allocations fail (measured:
         * `ulimit -v 31750`, every phrase silent and "check: ok" with the
         * wrong length), so silent words are a failure, and memory is
         * named when it is what is missing. */
        if (!has_word(text)) return 0;
        void *volatile room = malloc((size_t)8 << 20);
        if (!room) return COACH_ENOMEM;
        free(room);
        return COACH_ESPEECH;
    }
    while (last > first && !is_loud(b.pcm[last - 1]))
        last--;
    size_t lead = (size_t)TRIM_LEAD_MS * sp->rate_hz / 1000;
    size_t tail = (size_t)TRIM_TAIL_MS * sp->rate_hz / 1000;
    first = first > lead ? first - lead : 0;
    last = b.len - last > tail ? last + tail : b.len;

    size_t n = last - first;
    if (first > 0) memmove(b.pcm, b.pcm + first, n * sizeof *b.pcm);
    int16_t *p = realloc(b.pcm, n * sizeof *p); /* give back the slack */
    *pcm = p ? p : b.pcm;
    *len_frames = n;
    return 0;
}

static char *key_of(const struct speech *sp, const char *text, int rate_wpm, int format)
{
    rate_wpm = rate_wpm > 0 ? clampi(rate_wpm, 80, 450) : sp->rate_wpm;
    char *said = lexicon_apply(sp->lexicon, text);
    if (!said) return NULL;
    /* the volume is the clip store's gain, not in the samples: not part of it */
    char *key = coach_asprintf("coach phrase %d\nengine %s %s\nvoice %s\nrate %d\npitch %d\n"
                               "trim %d %d %d\ntext %s",
                               format, sp->ops->name, sp->ops->version(), sp->voice, rate_wpm,
                               sp->pitch, TRIM_THRESHOLD, TRIM_LEAD_MS, TRIM_TAIL_MS, said);
    free(said);
    return key;
}

char *speech_cache_key(const struct speech *sp, const char *text, int rate_wpm, int format)
{
    if (!sp || !text || speech_opened(sp)) return NULL;
    return key_of(sp, text, rate_wpm, format);
}

/* The engine's version is known without opening it (tts.h), so a handle
 * made and never opened names the same key. */
char *speech_settings_cache_key(const struct speech_settings *s, const char *text, int rate_wpm,
                                int format)
{
    if (!text) return NULL;
    const struct tts_ops *last = g_last_ops; /* naming a key opens nothing to explain */
    struct speech *sp;
    int rc = speech_new(&sp, s);
    g_last_ops = last;
    if (rc) return NULL;
    char *key = key_of(sp, text, rate_wpm, format);
    speech_free(sp);
    return key;
}

void speech_explain(int rc, const char *voice, const char *profile, char *buf, size_t cap)
{
    if (rc == COACH_EINVAL) {
        snprintf(buf, cap,
                 "%s: '%s' is not a voice name (letters, digits, '-' and '_', at most one "
                 "'+variant', at most %d characters; 'coach voices' lists the voices installed)",
                 profile, voice, SPEECH_VOICE_NAME_MAX);
        return;
    }
    g_last_ops->explain(rc, voice, profile, buf, cap);
}

int speech_list_voices(enum speech_engine e, speech_voice_fn fn, void *ctx)
{
    if ((unsigned)e >= SPEECH_ENGINE_COUNT) return COACH_EINVAL;
    g_last_ops = engines[e];
    return engines[e]->voices(fn, ctx);
}

struct avail {
    const char *voice;
    bool found, available;
    char *packages;
    size_t cap;
};

static int avail_fn(void *ctx, const struct speech_voice_info *v)
{
    struct avail *a = ctx;
    if (strcmp(v->name, a->voice) != 0) return 0;
    a->found = true;
    a->available = v->available;
    if (a->packages && a->cap) snprintf(a->packages, a->cap, "%s", v->packages);
    return 1;
}

bool speech_voice_available(enum speech_engine e, const char *voice, char *packages, size_t cap)
{
    if (packages && cap) packages[0] = 0;
    if (!voice || !speech_voice_name_ok(voice)) return false;
    /* a variant ("en-us+f3") is the voice's own */
    char name[SPEECH_VOICE_NAME_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)(e == SPEECH_ESPEAK ? strcspn(voice, "+") : strlen(voice)),
             voice);
    struct avail a = {.voice = name, .packages = packages, .cap = cap};
    if (speech_list_voices(e, avail_fn, &a) < 0) return false;
    if (a.found) return a.available;
    /* espeak-ng also takes a voice by its file name ("gmw/en-US" is
     * "en-us"): opening it is the one sure test */
    struct speech *sp = NULL;
    struct speech_settings ss = {.espeak_voice = voice, .engine = e};
    if (speech_open(&sp, &ss) != 0) return false;
    speech_close(sp);
    return true;
}

void speech_voice_language(enum speech_engine e, const char *voice, char *buf, size_t cap)
{
    /* espeak-ng's MBROLA databases of the profiles' languages */
    static const struct {
        const char *db, *lang;
    } mb[] = {{"us", "en-us"}, {"en", "en-gb"}, {"de", "de"}, {"es", "es"},
              {"fr", "fr"},    {"it", "it"},    {"nl", "nl"}, {"br", "pt-br"}};
    if (e == SPEECH_FLITE) {
        snprintf(buf, cap, "en-us");
        return;
    }
    if (strncmp(voice, "mb-", 3) == 0)
        for (size_t i = 0; i < sizeof mb / sizeof *mb; i++)
            if (strncmp(voice + 3, mb[i].db, strlen(mb[i].db)) == 0 &&
                isdigit((unsigned char)voice[3 + strlen(mb[i].db)])) {
                snprintf(buf, cap, "%s", mb[i].lang);
                return;
            }
    snprintf(buf, cap, "%.*s", (int)strcspn(voice, "+"), voice);
}
