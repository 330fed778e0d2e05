/* The espeak-ng backend (and through it espeak-ng's MBROLA voices,
 * "mb-us1"): initialization once per process through the espeak_ng_* API
 * (missing data is an error code, never exit()), voice and prosody
 * selection, synchronous synthesis into the caller's buffer. espeak-ng is
 * global state: everything here runs on one thread (or under one lock held
 * by the caller); it is not thread-safe. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/common.h"
#include "tts.h"

/* espeak-ng always speaks at its normal volume: its own volume 0 (and 1)
 * makes no sound at all, which the silent-words check takes for a failure,
 * and its other volumes move the trim points (a phrase's length, and the
 * plan, would depend on the volume). The voice's volume scales the peak
 * the clip store normalizes clips to (speech_volume_pct). */
#define SPEECH_ESPEAK_VOLUME 100

struct espeak_voice {
    char *name;       /* espeak voice name */
    int pitch;        /* espeakPITCH 0-100 */
    uint32_t rate_hz; /* what espeak produces with this voice (read after selecting it) */
};

/* Global espeak state, shared by every handle. espeak-ng is set up once per
 * process and never terminated: in 1.51 espeak_ng_Terminate followed by a
 * new espeak_ng_Initialize leaves a second Terminate deadlocked on its
 * internal fifo thread (measured), and the data it holds (~1 MB) is needed
 * again by the next handle anyway. */
static int g_inited;                          /* espeak initialized */
static const struct espeak_voice *g_selected; /* whose voice/params espeak has now */
static int g_selected_wpm;                    /* the rate espeak has now */
static int g_open_errno;                      /* why the last open lacked a resource */
static bool g_mbrola_missing;                 /* the last open wanted an MBROLA voice not installed */

/* espeak-ng calls this every buffer of audio (60 ms of speech, a fraction
 * of a millisecond of work): returning 1 stops the synthesis there, so an
 * interrupt or a runaway text stops it at once. */
static int synth_cb(short *wav, int n, espeak_EVENT *ev)
{
    struct tts_buf *b = ev ? ev->user_data : NULL;
    if (!b) return 0;
    return tts_put(b, wav, wav && n > 0 ? (size_t)n : 0);
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

/* The process lacks what espeak-ng needed (errno e: ENOMEM, EMFILE or
 * ENFILE): kept for explain. */
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

/* An MBROLA voice of espeak-ng ("mb-de6", "mb-af1-en") and its database
 * name ("de6") into db; false for another voice. */
static bool mbrola_db(const char *voice, char *db, size_t cap)
{
    if (strncmp(voice, "mb-", 3) != 0 || !voice[3]) return false;
    size_t n = strcspn(voice + 3, "-+");
    snprintf(db, cap, "%.*s", (int)n, voice + 3);
    return true;
}

static bool readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* Whether the mbrola program (espeak-ng runs it through its PATH) and the
 * database db are installed, where espeak-ng looks for them. */
static bool mbrola_installed(const char *db)
{
    const char *path = getenv("PATH");
    bool program = false;
    for (const char *p = path ? path : "/usr/bin:/bin"; *p && !program;) {
        size_t n = strcspn(p, ":");
        char f[4096];
        snprintf(f, sizeof f, "%.*s/mbrola", (int)n, p);
        program = n && access(f, X_OK) == 0;
        p += n + (p[n] == ':');
    }
    if (!program) return false;
    static const char *const where[] = {"/usr/share/mbrola/%s", "/usr/share/mbrola/%s/%s",
                                        "/usr/share/mbrola/voices/%s"};
    for (size_t i = 0; i < sizeof where / sizeof *where; i++) {
        char f[256];
        snprintf(f, sizeof f, where[i], db, db);
        if (readable_file(f)) return true;
    }
    return false;
}

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

/* Voice and parameters are espeak globals: (re)applied when another handle
 * used espeak last; the rate whenever it changes. */
static int select_voice(struct espeak_voice *ev, int rate_wpm)
{
    if (g_selected != ev) {
        g_selected = NULL;
        errno = 0;
        if (!set_voice(ev->name)) {
            int rc = no_resource(ENS_VOICE_NOT_FOUND, errno);
            return rc ? rc : COACH_ESPEECH;
        }
        /* The rate belongs to the voice: espeak-ng's MBROLA voices speak at
         * their database's rate (mb-us1 16000 Hz), the others at 22050. */
        int rate = espeak_ng_GetSampleRate();
        if (rate <= 0) return COACH_ESPEECH;
        ev->rate_hz = (uint32_t)rate;
        /* After the voice: selecting a voice resets some parameters. */
        if (espeak_ng_SetParameter(espeakPITCH, ev->pitch, 0) != ENS_OK ||
            espeak_ng_SetParameter(espeakVOLUME, SPEECH_ESPEAK_VOLUME, 0) != ENS_OK)
            return COACH_ESPEECH;
        g_selected = ev;
        g_selected_wpm = 0;
    }
    if (rate_wpm != g_selected_wpm) {
        if (espeak_ng_SetParameter(espeakRATE, rate_wpm, 0) != ENS_OK) return COACH_ESPEECH;
        g_selected_wpm = rate_wpm;
    }
    return 0;
}

static void es_close(void *state)
{
    struct espeak_voice *ev = state;
    if (!ev) return;
    if (g_selected == ev) g_selected = NULL;
    free(ev->name);
    free(ev);
}

static int es_open(void **state, const char *voice, int pitch, uint32_t *rate_hz)
{
    *state = NULL;
    g_open_errno = 0;
    g_mbrola_missing = false;
    char db[64];
    /* never started for a missing MBROLA voice: espeak-ng would print its
     * own complaints and run a program that is not there */
    if (mbrola_db(voice, db, sizeof db) && !mbrola_installed(db)) {
        g_mbrola_missing = true;
        return COACH_ESPEECH;
    }
    int rc = global_init();
    if (rc) return rc;
    struct espeak_voice *ev = calloc(1, sizeof *ev);
    if (!ev || !(ev->name = coach_strdup(voice))) {
        free(ev);
        return COACH_ENOMEM;
    }
    ev->pitch = pitch;
    rc = select_voice(ev, 175);
    if (rc) {
        es_close(ev);
        return rc;
    }
    *rate_hz = ev->rate_hz;
    *state = ev;
    return 0;
}

static int es_synth(void *state, const char *text, int rate_wpm, struct tts_buf *b)
{
    int rc = select_voice(state, rate_wpm);
    if (rc) return rc;
    espeak_ng_STATUS st = espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
                                               espeakCHARS_UTF8, NULL, b);
    return st == ENS_OK ? 0 : COACH_ESPEECH;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* espeak-ng's MBROLA voices: espeak_ListVoices(NULL) leaves them out, so
 * they are read from its data directory (voices/mb/mb-de6: lines "name
 * german-mbrola-6", "language de 6"), in name order. */
static int mbrola_voices(speech_voice_fn fn, void *ctx)
{
    const char *data = NULL;
    espeak_Info(&data);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/voices/mb", data ? data : "");
    DIR *d = opendir(dir);
    if (!d) return 0; /* no MBROLA voice files: none to list */
    char *names[256];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < sizeof names / sizeof *names;)
        if (strncmp(e->d_name, "mb-", 3) == 0 && speech_voice_name_ok(e->d_name))
            if ((names[n] = coach_strdup(e->d_name)) != NULL) n++;
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4352], line[256], about[128] = "", lang[64] = "", db[64], pk[160] = "";
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = rc ? NULL : fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            if (strncmp(line, "name ", 5) == 0) sscanf(line + 5, "%127s", about);
            if (strncmp(line, "language ", 9) == 0 && !lang[0]) sscanf(line + 9, "%63s", lang);
        }
        if (f) fclose(f);
        mbrola_db(names[i], db, sizeof db);
        bool ok = mbrola_installed(db);
        if (!ok) snprintf(pk, sizeof pk, "mbrola mbrola-%s", db);
        struct speech_voice_info info = {.name = names[i], .language = lang, .about = about,
                                         .available = ok, .packages = pk};
        if (!rc) rc = fn(ctx, &info);
        free(names[i]);
    }
    return rc;
}

/* espeak-ng's own voices, named by language ("en-us") as profiles name
 * them, then its MBROLA voices ("mb-de6"). */
static int es_voices(speech_voice_fn fn, void *ctx)
{
    int rc = global_init();
    if (rc) return rc;
    const espeak_VOICE **list = espeak_ListVoices(NULL);
    for (size_t i = 0; list && list[i]; i++) {
        const espeak_VOICE *v = list[i];
        if (!v->identifier) continue;
        const char *base = strrchr(v->identifier, '/');
        base = base ? base + 1 : v->identifier;
        char about[128];
        snprintf(about, sizeof about, "%s", v->name ? v->name : "");
        for (char *c = about; *c; c++)
            if (*c == '_') *c = ' '; /* "English_(America)" reads better spoken */
        /* languages: a priority byte, then the language name */
        const char *lang = v->languages && v->languages[0] ? v->languages + 1 : "";
        struct speech_voice_info info = {.name = *lang ? lang : base, .language = lang,
                                         .about = about, .available = true, .packages = ""};
        if ((rc = fn(ctx, &info)) != 0) return rc;
    }
    return mbrola_voices(fn, ctx);
}

static void es_explain(int rc, const char *voice, const char *profile, char *buf, size_t cap)
{
    char db[64];
    if (rc == COACH_ESPEECH && g_mbrola_missing && mbrola_db(voice, db, sizeof db)) {
        snprintf(buf, cap,
                 "%s: voice %s needs the packages mbrola and mbrola-%s (Debian contrib/non-free: "
                 "sudo apt-get install mbrola mbrola-%s), or choose another voice ('coach voices' "
                 "lists them)",
                 profile, voice, db, db);
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

/* espeak_Info only reads a static string: no initialization needed */
static const char *es_version(void) { return espeak_Info(NULL); }

const struct tts_ops tts_espeak_ops = {
    .name = "espeak-ng",
    .version = es_version,
    .open = es_open,
    .close = es_close,
    .synth = es_synth,
    .voices = es_voices,
    .explain = es_explain,
};
