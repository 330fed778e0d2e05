/* Speech synthesis with espeak-ng: initialization (once per process, through
 * the espeak_ng_* API so missing data is an error code, never exit()), voice
 * and prosody selection, synchronous synthesis into a growing in-memory int16
 * buffer, and trimming of leading/trailing silence so a clip's first sample
 * is its onset. espeak-ng is global state: everything here must run on one
 * thread (or under one lock held by the caller); it is not thread-safe. */
#define _POSIX_C_SOURCE 200809L
#include "coach/speech.h"

#include <ctype.h>
#include <errno.h>
#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/interrupt.h"

/* |x| below this is silence when trimming: about -50 dBFS (32768 * 10^-2.5). */
#define TRIM_THRESHOLD 104
/* Kept before the first / after the last loud sample so that soft onsets
 * (fricatives) and decays are not cut. Small: counts must land on time. */
#define TRIM_LEAD_MS 2
#define TRIM_TAIL_MS 10
/* espeak-ng always speaks at its normal volume: its own volume 0 (and 1)
 * makes no sound at all, which the silent-words check takes for a failure,
 * and its other volumes move the trim points (a phrase's length, and the
 * plan, would depend on the volume). The voice's volume scales the peak
 * the clip store normalizes clips to (speech_volume_pct). */
#define SPEECH_ESPEAK_VOLUME 100

struct speech {
    char *voice;      /* espeak voice name */
    int rate_wpm;     /* espeakRATE */
    int pitch;        /* espeakPITCH 0-100 */
    int volume;       /* 0-200 percent, applied by the clip store */
    int max_clip_s;   /* a synthesis stops with COACH_ETOOLONG past this */
    uint32_t rate_hz; /* what espeak produces with this voice (read after selecting it) */
};

/* Global espeak state, shared by every struct speech. espeak-ng is set up
 * once per process and never terminated: in 1.51 espeak_ng_Terminate
 * followed by a new espeak_ng_Initialize leaves a second Terminate
 * deadlocked on its internal fifo thread (measured), and the data it holds
 * (~1 MB) is needed again by the next handle anyway. */
static int g_inited;                    /* espeak initialized */
static const struct speech *g_selected; /* whose voice/params espeak has now */
static int g_open_errno;                /* why the last speech_open lacked a resource */

/* Collects one synthesis' audio; passed as espeak's user_data. */
struct synth_buf {
    int16_t *pcm;
    size_t len, cap;   /* frames */
    size_t max_frames; /* SPEECH_MAX_CLIP_S at the voice's rate */
    int oom, too_long, interrupted;
};

/* espeak-ng calls this every buffer of audio (60 ms of speech, a fraction
 * of a millisecond of work): returning 1 stops the synthesis there, so an
 * interrupt or a runaway text stops it at once. */
static int synth_cb(short *wav, int n, espeak_EVENT *ev)
{
    struct synth_buf *b = ev ? ev->user_data : NULL;
    if (!b) return 0;
    if (coach_interrupted()) {
        b->interrupted = 1;
        return 1;
    }
    if (!wav || n <= 0) return 0;
    if (b->len + (size_t)n > b->max_frames) {
        b->too_long = 1;
        return 1;
    }
    if (b->len + (size_t)n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 22050;
        while (cap < b->len + (size_t)n)
            cap *= 2;
        int16_t *p = realloc(b->pcm, cap * sizeof *p);
        if (!p) {
            b->oom = 1;
            return 1; /* nonzero aborts synthesis */
        }
        b->pcm = p;
        b->cap = cap;
    }
    memcpy(b->pcm + b->len, wav, (size_t)n * sizeof *wav);
    b->len += (size_t)n;
    return 0;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* espeak-ng 1.51 opens an audio device through libpcaudio when its output
 * is initialized, even in synchronous mode where it never plays anything:
 * a connection to the sound server that costs time at every start, and
 * 30 s when the server hangs (measured: export with a stopped PulseAudio
 * 30114 ms, 52 ms without). This definition takes the place of
 * libpcaudio's (the executable's symbol comes first); espeak-ng copes with
 * no device, and coach plays its audio itself. */
struct audio_object;
struct audio_object *create_audio_device_object(const char *device, const char *application_name,
                                                const char *description);
struct audio_object *create_audio_device_object(const char *device, const char *application_name,
                                                const char *description)
{
    (void)device, (void)application_name, (void)description;
    return NULL;
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

/* The process lacks what espeak-ng needed (errno e: ENOMEM, EMFILE or
 * ENFILE): kept for speech_explain. */
static int lacking(int e)
{
    g_open_errno = e;
    return e == ENOMEM || e == EAGAIN ? COACH_ENOMEM : COACH_EIO;
}

/* After espeak-ng failed (st, and errno as it left it): a file it could
 * not open reads as "voice not found", a failed allocation sometimes too.
 * Whether the process is out of descriptors or memory is asked directly,
 * so a limit (ulimit -n, -v) is named as such, not as a missing voice. */
static int no_resource(espeak_ng_STATUS st, int e)
{
    if (st == ENOMEM || e == ENOMEM) return lacking(ENOMEM);
    if (e == EMFILE || e == ENFILE) return lacking(e);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) return lacking(errno);
    if (fd >= 0) close(fd);
    void *p = malloc((size_t)4 << 20); /* a voice's dictionary is at most a few MB */
    if (!p) return lacking(ENOMEM);
    free(p);
    return 0;
}

static void *no_work(void *arg) { return arg; }

/* espeak-ng 1.51 starts a thread while it initializes and abort()s (an
 * assert) when it cannot: make sure one can be started first, and say
 * "out of memory" when not (ulimit -v too low for a thread's stack). The
 * joined thread's stack stays cached for espeak-ng's. */
static int thread_possible(void)
{
    pthread_t t;
    int e = pthread_create(&t, NULL, no_work, NULL);
    if (e) return lacking(ENOMEM); /* EAGAIN: no room for its stack */
    pthread_join(t, NULL);
    return 0;
}

static int global_init(void)
{
    if (g_inited) return 0;
    int rc = thread_possible();
    if (rc) return rc;
    /* NULL makes espeak use its compiled-in path; it also reads
     * ESPEAK_DATA_PATH itself, but passing it says what we mean. */
    espeak_ng_InitializePath(getenv("ESPEAK_DATA_PATH"));
    espeak_ng_ERROR_CONTEXT ctx = NULL;
    errno = 0;
    espeak_ng_STATUS st = espeak_ng_Initialize(&ctx);
    int e = errno;
    if (ctx) espeak_ng_ClearErrorContext(&ctx);
    if (st != ENS_OK) return (rc = no_resource(st, e)) ? rc : COACH_ESPEECH;
    /* Synchronous: Synthesize returns when all audio went through synth_cb
     * on this thread. Buffer 0 = espeak's default chunk length. */
    errno = 0;
    st = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, NULL);
    e = errno;
    if (st != ENS_OK) return (rc = no_resource(st, e)) ? rc : COACH_ESPEECH;
    espeak_SetSynthCallback(synth_cb);
    g_inited = 1;
    return 0;
}

/* Voice and parameters are espeak globals: (re)apply them when another
 * handle used espeak last. */
/* By name ("en-us", "de", "en-us+f3"), else by language tag: espeak-ng
 * 1.51 names British English "en", so "en-gb" is found only as a language.
 * A language match must be exact, or any tag would pick some voice. */
static bool set_voice(const char *name)
{
    if (espeak_ng_SetVoiceByName(name) == ENS_OK) {
        /* a variant on its own ("male8", "klatt": identifier "!v/...") is
         * not a voice: it has no phoneme table, and espeak-ng then says
         * nothing ("Unknown phoneme table") or crashes (the espeak-ng
         * program does, on "-v male8"); found by fuzz_speech */
        const espeak_VOICE *got = espeak_GetCurrentVoice();
        return got && got->identifier && strncmp(got->identifier, "!v/", 3) != 0;
    }
    espeak_VOICE want = {.languages = name};
    if (strchr(name, '+') || espeak_ng_SetVoiceByProperties(&want) != ENS_OK) return false;
    const espeak_VOICE *got = espeak_GetCurrentVoice();
    /* languages: a priority byte, then the tag */
    return got && got->languages && strcasecmp(got->languages + 1, name) == 0;
}

static int select_voice(struct speech *sp)
{
    if (g_selected == sp) return 0;
    g_selected = NULL;
    /* never a path or an overlong variant into espeak-ng (see speech.h) */
    if (!speech_voice_name_ok(sp->voice)) return COACH_EINVAL;
    errno = 0;
    if (!set_voice(sp->voice)) {
        int rc = no_resource(ENS_VOICE_NOT_FOUND, errno);
        return rc ? rc : COACH_ESPEECH;
    }
    /* The rate belongs to the voice: espeak-ng's MBROLA voices (mb-us1)
     * speak at 16000 Hz, the others at 22050. */
    int rate = espeak_ng_GetSampleRate();
    if (rate <= 0) return COACH_ESPEECH;
    sp->rate_hz = (uint32_t)rate;
    /* After the voice: selecting a voice resets some parameters. */
    if (espeak_ng_SetParameter(espeakRATE, sp->rate_wpm, 0) != ENS_OK ||
        espeak_ng_SetParameter(espeakPITCH, sp->pitch, 0) != ENS_OK ||
        espeak_ng_SetParameter(espeakVOLUME, SPEECH_ESPEAK_VOLUME, 0) != ENS_OK)
        return COACH_ESPEECH;
    g_selected = sp;
    return 0;
}

int speech_open(struct speech **out, const struct speech_settings *s)
{
    *out = NULL;
    struct speech *sp = calloc(1, sizeof *sp);
    if (!sp) return COACH_ENOMEM;
    sp->voice = coach_strdup(s && s->espeak_voice && *s->espeak_voice ? s->espeak_voice : "en");
    if (!sp->voice) {
        free(sp);
        return COACH_ENOMEM;
    }
    /* rate_wpm <= 0 means espeak's default; the rest is clamped to the
     * documented ranges rather than passed on as garbage. */
    sp->rate_wpm = s && s->rate_wpm > 0 ? clampi(s->rate_wpm, 80, 450) : 175;
    sp->pitch = s ? clampi(s->pitch, 0, 100) : 50;
    sp->volume = s ? clampi(s->volume, 0, 200) : 100;
    sp->max_clip_s = s && s->max_clip_s > 0 ? clampi(s->max_clip_s, 1, SPEECH_MAX_CLIP_S)
                                            : SPEECH_MAX_CLIP_S;

    g_open_errno = 0;
    int rc = speech_voice_name_ok(sp->voice) ? global_init() : COACH_EINVAL;
    if (rc == 0) rc = select_voice(sp);
    if (rc) {
        free(sp->voice);
        free(sp);
        return rc;
    }
    *out = sp;
    return 0;
}

void speech_close(struct speech *sp)
{
    if (!sp) return;
    if (g_selected == sp) g_selected = NULL;
    free(sp->voice);
    free(sp);
}

uint32_t speech_rate_hz(const struct speech *sp)
{
    return sp ? sp->rate_hz : 0;
}

int speech_volume_pct(const struct speech *sp) { return sp ? sp->volume : 100; }

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
    *pcm = NULL;
    *len_frames = 0;
    if (!sp || !text) return COACH_EINVAL;
    if (!*text) return 0; /* nothing to say; espeak not involved */
    int rc = select_voice(sp);
    if (rc) return rc;

    if (coach_interrupted()) return COACH_EINTR;

    struct synth_buf b = {.max_frames = (size_t)sp->max_clip_s * sp->rate_hz};
    espeak_ng_STATUS st = espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
                                               espeakCHARS_UTF8, NULL, &b);
    if (b.oom || b.too_long || b.interrupted || st != ENS_OK) {
        free(b.pcm);
        return b.interrupted ? COACH_EINTR
               : b.too_long  ? COACH_ETOOLONG
               : b.oom       ? COACH_ENOMEM
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

void speech_explain(int rc, const char *voice, const char *profile, char *buf, size_t cap)
{
    if (rc == COACH_EINVAL) {
        snprintf(buf, cap,
                 "%s: '%s' is not an espeak-ng voice name (letters, digits, '-' and '_', at most "
                 "one '+variant', at most %d characters; 'coach voices' lists the voices "
                 "installed)",
                 profile, voice, SPEECH_VOICE_NAME_MAX);
        return;
    }
    if (rc == COACH_ENOMEM || rc == COACH_EIO) {
        int e = g_open_errno ? g_open_errno : rc == COACH_ENOMEM ? ENOMEM : EMFILE;
        snprintf(buf, cap, "coach: espeak-ng cannot start: %s (%s)", strerror(e),
                 e == ENOMEM ? "a memory limit such as 'ulimit -v' is too low, or the system is "
                               "out of memory"
                             : "raise the limit of open files, 'ulimit -n'");
        return;
    }
    /* espeak_Info names the data directory espeak-ng looked in, even after
     * a failed start */
    const char *data = NULL;
    espeak_Info(&data);
    char *phontab = data ? coach_asprintf("%s/phontab", data) : NULL;
    bool have_data = phontab && access(phontab, R_OK) == 0;
    free(phontab);
    const char *env = getenv("ESPEAK_DATA_PATH");
    if (!have_data)
        snprintf(buf, cap,
                 "coach: espeak-ng cannot start: its data is missing%s%s (install the package "
                 "espeak-ng-data: sudo apt-get install espeak-ng-data%s%s)",
                 data ? " from " : "", data ? data : "",
                 env && *env ? "; or fix or unset ESPEAK_DATA_PATH=" : "", env && *env ? env : "");
    else
        snprintf(buf, cap,
                 "%s: espeak-ng has no voice '%s' (its data is in %s; 'coach voices' lists the "
                 "voices installed)",
                 profile, voice, data);
}
