/* Live output through PortAudio (see include/coach/sink_portaudio.h). The
 * callback calls the render callback and counts underruns; it allocates
 * nothing, takes no lock and prints nothing. ALSA's and JACK's diagnostics are
 * silenced through their own handler hooks (found with dlsym, since
 * PortAudio loads them), and fd 2 is muted while PortAudio probes, because
 * its ALSA back-end also writes there directly. */
#define _GNU_SOURCE
#include "coach/sink_portaudio.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pa_linux_alsa.h>
#include <portaudio.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "coach/common.h"

#define PA_SINK_DEFAULT_LATENCY_S 0.1

struct sink {
    PaStream *stream;                /* immutable after open */
    struct sink_config cfg;          /* immutable after open */
    uint32_t rate_hz;                /* immutable after open */
    bool alsa;                       /* immutable after open: the ALSA host API */
    atomic_uint_fast64_t frames;     /* audio writes, main reads */
    atomic_uint_fast64_t underruns;  /* audio writes, main reads */
    atomic_uint_fast64_t first_sound_ns; /* audio writes once, main reads */
    /* The close handshake: once closing is set and in_callback seen false,
     * the callback never calls render again, whatever PortAudio does (seq_cst
     * stores and loads on both sides: one of them sees the other's). */
    atomic_bool closing;             /* main writes, audio reads */
    atomic_bool in_callback;         /* audio writes, main reads */
};

/* PortAudio is started once per sink and ended with it; after a start that
 * hung, never again (its thread may still be inside). */
static bool pa_hung;
/* A close that did not finish in time is still inside PortAudio (on its own
 * thread): no new start until it is out. */
static atomic_bool pa_closing;

static void alsa_quiet(const char *file, int line, const char *fn, int err, const char *fmt, ...)
{
    (void)file, (void)line, (void)fn, (void)err, (void)fmt;
}

static void jack_quiet(const char *msg) { (void)msg; }

/* Silences ALSA and JACK through their hooks, if they are loaded. */
static void hush_backends(void)
{
    typedef int (*alsa_set_fn)(void *);
    typedef void (*jack_set_fn)(void (*)(const char *));
    alsa_set_fn alsa = (alsa_set_fn)dlsym(RTLD_DEFAULT, "snd_lib_error_set_handler");
    if (alsa) alsa((void *)alsa_quiet);
    jack_set_fn je = (jack_set_fn)dlsym(RTLD_DEFAULT, "jack_set_error_function");
    jack_set_fn ji = (jack_set_fn)dlsym(RTLD_DEFAULT, "jack_set_info_function");
    if (je) je(jack_quiet);
    if (ji) ji(jack_quiet);
}

/* fd 2 to /dev/null while PortAudio probes; returns the saved fd. */
static int mute_stderr(void)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null >= 0) dup2(null, STDERR_FILENO);
    if (null >= 0) close(null);
    return saved;
}

static void unmute_stderr(int saved)
{
    if (saved < 0) return;
    dup2(saved, STDERR_FILENO);
    close(saved);
}

/* libasound's configuration calls, looked up at run time as the rest of
 * this file's ALSA calls are (coachcore does not link libasound). */
#define ALSA_CFG_STRING 3      /* SND_CONFIG_TYPE_STRING */
#define ALSA_CFG_COMPOUND 1024 /* SND_CONFIG_TYPE_COMPOUND */
struct alsa_cfg {
    int (*update)(void);
    int (*search)(void *, const char *, void **);
    int (*del)(void *);
    void *(*first)(const void *);
    void *(*next)(void *);
    void *(*end)(const void *);
    void *(*entry)(void *);
    int (*type)(const void *);
    int (*get_string)(const void *, const char **);
    int (*get_id)(const void *, const char **);
};

static bool alsa_cfg_find(struct alsa_cfg *a)
{
    static const char *const names[] = {
        "snd_config_update",         "snd_config_search",         "snd_config_delete",
        "snd_config_iterator_first", "snd_config_iterator_next",  "snd_config_iterator_end",
        "snd_config_iterator_entry", "snd_config_get_type",       "snd_config_get_string",
        "snd_config_get_id"};
    void **fns[] = {(void **)&a->update, (void **)&a->search, (void **)&a->del,
                    (void **)&a->first,  (void **)&a->next,   (void **)&a->end,
                    (void **)&a->entry,  (void **)&a->type,   (void **)&a->get_string,
                    (void **)&a->get_id};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!(*fns[i] = dlsym(RTLD_DEFAULT, names[i]))) return false;
    return true;
}

/* Whether a string under node names the PCM name ("name" or "name:ARGS");
 * too deep to tell counts as yes. */
static bool names_pcm(const struct alsa_cfg *a, const void *node, const char *name, int depth)
{
    if (depth > 16) return true;
    int t = a->type(node);
    if (t == ALSA_CFG_STRING) {
        const char *v = NULL;
        size_t n = strlen(name);
        return a->get_string(node, &v) >= 0 && v && strncmp(v, name, n) == 0 &&
               (v[n] == 0 || v[n] == ':');
    }
    if (t != ALSA_CFG_COMPOUND) return false;
    for (void *it = a->first(node); it != a->end(node); it = a->next(it))
        if (names_pcm(a, a->entry(it), name, depth + 1)) return true;
    return false;
}

static bool in_list(const char *id, const char *const *list)
{
    for (int k = 0; list[k]; k++)
        if (strcmp(id, list[k]) == 0) return true;
    return false;
}

/* Whether a PCM other than the skipped ones is built on name (a user's
 * default routed through "jack", say): then it stays. */
static bool pcm_used(const struct alsa_cfg *a, void *pcms, const char *name, const char *const *skipped)
{
    for (void *it = a->first(pcms); it != a->end(pcms); it = a->next(it)) {
        void *def = a->entry(it);
        const char *id = NULL;
        if (a->get_id(def, &id) < 0 || !id) continue;
        if (!in_list(id, skipped) && names_pcm(a, def, name, 0)) return true;
    }
    return false;
}

/* PortAudio's ALSA back-end opens every PCM the ALSA configuration defines,
 * to learn what each can do. The plugins of libasound2-plugins below are
 * never a speaker for coach, and opening them costs dearly:
 * - "a52" (an AC-3 encoder for S/PDIF receivers) maps libavcodec and some
 *   twenty libraries it needs, 12 MB that stay resident for the session;
 * - "upmix", "vdownmix" and "speex" wrap the default device: each is one
 *   more connection to the sound server; "jack" opens a JACK client (two
 *   lookups in JACK's database in /dev/shm; PortAudio has its own JACK
 *   back-end), "oss" a /dev/dsp, "usbstream" a USB hwdep; the rate
 *   converters ("lavrate", "samplerate", "speexrate") are no devices.
 * Together they were 13 of Pa_Initialize's 33 ms before the first sound
 * (bench/live_bench.sh first-sound-cache). Their definitions are dropped
 * from the in-memory configuration before PortAudio looks. The files are
 * untouched, and a device the user names is kept, as is one that another
 * PCM is built on (a default routed through "jack"). */
static void skip_costly_plugins(const char *keep)
{
    static const char *const costly[] = {"a52",       "upmix",   "vdownmix",   "speex",
                                         "jack",      "oss",     "usbstream",  "lavrate",
                                         "samplerate", "speexrate", NULL};
    struct alsa_cfg a;
    void **top = (void **)dlsym(RTLD_DEFAULT, "snd_config"); /* the global tree */
    if (!alsa_cfg_find(&a) || !top || a.update() < 0 || !*top) return;
    void *pcms;
    if (a.search(*top, "pcm", &pcms) < 0 || a.type(pcms) != ALSA_CFG_COMPOUND) return;
    bool drop[sizeof costly / sizeof *costly] = {false};
    for (int i = 0; costly[i]; i++) /* decided before any is deleted */
        drop[i] = !(keep && strstr(keep, costly[i])) && !pcm_used(&a, pcms, costly[i], costly);
    for (int i = 0; costly[i]; i++) {
        char key[64];
        void *node;
        snprintf(key, sizeof key, "pcm.%s", costly[i]);
        if (drop[i] && a.search(*top, key, &node) >= 0) a.del(node);
    }
}

/* A sound server that hangs (stopped, deadlocked) makes PortAudio's probe
 * wait 30 s in each ALSA device that talks to it, minutes in all, and
 * nothing can interrupt it. So Pa_Initialize runs on a thread of its own,
 * and after PA_SINK_INIT_TIMEOUT_S the caller is told COACH_ETIMEDOUT and
 * may go on (or end the process): nothing is playing yet, nothing is lost.
 * The thread is left waiting; PortAudio is never touched again. */
struct init_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, abandoned;
    PaError result;
};

static void *init_thread(void *arg)
{
    struct init_job *j = arg;
    PaError e = Pa_Initialize();
    pthread_mutex_lock(&j->mu);
    j->result = e;
    j->done = true;
    bool abandoned = j->abandoned;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (abandoned) free(j); /* the caller gave up on us: the job is ours to free */
    return NULL;
}

/* How many more descriptors this process can open, counting up to want;
 * *why the errno that stopped it (EMFILE: its own limit, ENFILE: the
 * system's), 0 if want were free. Anything else (no /dev/null) counts as
 * free: it says nothing about the limit. */
static int fd_headroom(int want, int *why)
{
    int fds[PA_SINK_MIN_FDS], k = 0;
    if (want > PA_SINK_MIN_FDS) want = PA_SINK_MIN_FDS;
    *why = 0;
    while (k < want && (fds[k] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) k++;
    if (k < want) *why = errno == EMFILE || errno == ENFILE ? errno : 0;
    int free_fds = *why ? k : want;
    while (k > 0) close(fds[--k]);
    return free_fds;
}

/* Short of descriptors: the sound system's libraries then fail in ways that
 * blame the device ("no audio output device found"), or worse: JACK's
 * client, run out of descriptors inside its metadata database in /dev/shm,
 * can leave that database's lock held, and every later start of the user's
 * sound programs hangs on it. So coach does not start it without room.
 * Returns 0, or COACH_EIO with the reason in err. */
static int check_fds(char *err, size_t cap)
{
    int why, n = fd_headroom(PA_SINK_MIN_FDS, &why);
    if (n >= PA_SINK_MIN_FDS) return 0;
    struct rlimit rl;
    char lim[64] = "";
    if (why == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(lim, sizeof lim, " ('ulimit -n' is %llu)", (unsigned long long)rl.rlim_cur);
    snprintf(err, cap,
             "too many open files%s: only %d more file descriptors can be opened%s, and the sound "
             "system needs about %d; raise the limit (ulimit -n 1024)",
             why == ENFILE ? " in the system" : "", n, lim, PA_SINK_MIN_FDS);
    errno = why;
    return COACH_EIO;
}

/* After the sound system failed: was it short of descriptors or address
 * space rather than without a device? (A PulseAudio client maps memory
 * pools and thread stacks of several hundred MB of address space.) If so,
 * err says that instead; returns true. */
static bool blame_resources(char *err, size_t cap)
{
    if (check_fds(err, cap)) return true;
    void *m = mmap(NULL, PA_SINK_AS_PROBE_MB << 20, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m != MAP_FAILED) {
        munmap(m, PA_SINK_AS_PROBE_MB << 20);
        return false;
    }
    if (errno != ENOMEM) return false;
    struct rlimit rl;
    char lim[96] = "";
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(lim, sizeof lim, " ('ulimit -v' allows %llu MB)",
                 (unsigned long long)(rl.rlim_cur >> 20));
    snprintf(err, cap,
             "out of memory: the sound system could not start in the address space left%s; a "
             "sound-server client needs several hundred MB of it",
             lim);
    errno = ENOMEM;
    return true;
}

/* Pa_Initialize, bounded in time. */
static int pa_start(const char *device, char *err, size_t cap)
{
    /* a close left behind (the menu's, before a routine plays) may still
     * finish: wait for it as for a start */
    for (int ms = 0; ms < PA_SINK_INIT_TIMEOUT_S * 1000 && atomic_load(&pa_closing); ms += 10)
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    if (pa_hung || atomic_load(&pa_closing)) {
        snprintf(err, cap, "the sound system did not answer earlier");
        return COACH_ETIMEDOUT;
    }
    int rc = check_fds(err, cap);
    if (rc) return rc;
    /* libasound is loaded with PortAudio: hush it before it probes */
    hush_backends();
    skip_costly_plugins(device);
    int saved = mute_stderr();
    struct init_job *j = calloc(1, sizeof *j);
    PaError e = paInsufficientMemory;
    bool timed_out = false;
    if (j) {
        pthread_mutex_init(&j->mu, NULL);
        pthread_cond_init(&j->cv, NULL);
        pthread_t t;
        if (pthread_create(&t, NULL, init_thread, j) != 0) {
            e = Pa_Initialize(); /* no thread to spare: unbounded, as PortAudio is */
            free(j);
            j = NULL;
        } else {
            pthread_detach(t);
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += PA_SINK_INIT_TIMEOUT_S;
            pthread_mutex_lock(&j->mu);
            int w = 0;
            while (!j->done && w != ETIMEDOUT) w = pthread_cond_timedwait(&j->cv, &j->mu, &ts);
            timed_out = !j->done;
            j->abandoned = timed_out;
            e = j->result;
            pthread_mutex_unlock(&j->mu);
            if (!timed_out) free(j);
        }
    }
    hush_backends(); /* JACK is loaded by Pa_Initialize */
    unmute_stderr(saved);
    if (timed_out) {
        pa_hung = true;
        snprintf(err, cap, "the sound system does not answer (PortAudio waited %d s for the audio "
                           "devices: is the sound server, e.g. PulseAudio or PipeWire, stuck? "
                           "restart it)",
                 PA_SINK_INIT_TIMEOUT_S);
        return COACH_ETIMEDOUT;
    }
    if (e != paNoError) {
        if (!blame_resources(err, cap))
            snprintf(err, cap, "cannot start PortAudio: %s", Pa_GetErrorText(e));
        return COACH_EIO;
    }
    return 0;
}

static void pa_end(void)
{
    int saved = mute_stderr();
    Pa_Terminate();
    unmute_stderr(saved);
}

/* The microphone (mic_portaudio.c) starts and ends PortAudio the same way:
 * PortAudio counts its starts, so the sink and the microphone may each
 * hold it. */
int sink_portaudio_system_start(const char *device, char *err, size_t cap)
{
    return pa_start(device, err, cap);
}

void sink_portaudio_system_end(void) { pa_end(); }

void sink_portaudio_mute(int *saved_fd)
{
    if (*saved_fd < 0)
        *saved_fd = mute_stderr();
    else {
        unmute_stderr(*saved_fd);
        *saved_fd = -1;
    }
}

int sink_portaudio_list(FILE *out, char *err, size_t cap)
{
    int rc = pa_start(NULL, err, cap);
    if (rc) return rc;
    int n = Pa_GetDeviceCount(), found = 0;
    PaDeviceIndex def = Pa_GetDefaultOutputDevice();
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d || d->maxOutputChannels < 1) continue;
        const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
        fprintf(out, "%d: %s (%s), %d channels, %.0f Hz%s\n", i, d->name, h ? h->name : "?",
                d->maxOutputChannels, d->defaultSampleRate, i == def ? ", default" : "");
        found++;
    }
    if (!found && blame_resources(err, cap)) found = COACH_EIO;
    if (found > 0) { /* --mic takes these */
        PaDeviceIndex def_in = Pa_GetDefaultInputDevice();
        bool header = false;
        for (int i = 0; i < n; i++) {
            const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
            if (!d || d->maxInputChannels < 1) continue;
            if (!header) fprintf(out, "Microphones (--mic):\n");
            header = true;
            const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
            fprintf(out, "%d: %s (%s), %d channels, %.0f Hz%s\n", i, d->name, h ? h->name : "?",
                    d->maxInputChannels, d->defaultSampleRate, i == def_in ? ", default" : "");
        }
        if (!header) fprintf(out, "No microphones found (--listen needs one).\n");
    }
    pa_end();
    return found;
}

int sink_portaudio_find(const char *device, bool input)
{
    int n = Pa_GetDeviceCount(), k = paNoDevice;
    if (!device) {
        k = input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
    } else {
        char *end;
        long i = strtol(device, &end, 10);
        if (*device && !*end) {
            k = i >= 0 && i < n ? (int)i : paNoDevice;
        } else {
            for (int j = 0; j < n && k == paNoDevice; j++) {
                const PaDeviceInfo *d = Pa_GetDeviceInfo(j);
                if (d && (input ? d->maxInputChannels : d->maxOutputChannels) > 0 &&
                    strstr(d->name, device))
                    k = j;
            }
        }
    }
    const PaDeviceInfo *d = k != paNoDevice ? Pa_GetDeviceInfo(k) : NULL;
    return d && (input ? d->maxInputChannels : d->maxOutputChannels) > 0 ? k : paNoDevice;
}

/* The device (sink_portaudio_find). Its rate is learnt by opening it
 * (pa_open): asking PortAudio first whether a rate would do opens the
 * device once more, one more connection to a sound server before the
 * first sound. */
static int pick(const char *device, int *index, char *err, size_t cap)
{
    *index = sink_portaudio_find(device, false);
    if (*index != paNoDevice) return 0;
    if (device)
        snprintf(err, cap, "no output device '%s' (see 'coach devices')", device);
    else
        snprintf(err, cap, "no audio output device found");
    return COACH_ENOTFOUND;
}

/* The audio callback: the render callback, the underrun count, the moment
 * of the first sound. Nothing else. */
static int callback(const void *in, void *out, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *user)
{
    (void)in, (void)time;
    struct sink *s = user;
    float *buf = out;
    atomic_store(&s->in_callback, true);
    if (atomic_load(&s->closing)) { /* the player may be gone: silence */
        memset(buf, 0, frames * s->cfg.channels * sizeof *buf);
        atomic_store(&s->in_callback, false);
        return paContinue;
    }
    if (flags & paOutputUnderflow)
        atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    s->cfg.render(s->cfg.render_ctx, buf, frames);
    atomic_fetch_add_explicit(&s->frames, frames, memory_order_relaxed);
    if (!atomic_load_explicit(&s->first_sound_ns, memory_order_relaxed)) {
        for (unsigned long i = 0; i < frames * s->cfg.channels; i++)
            if (buf[i] != 0.0f) {
                atomic_store_explicit(&s->first_sound_ns, coach_mono_ns(), memory_order_relaxed);
                break;
            }
    }
    atomic_store(&s->in_callback, false);
    return paContinue;
}

static int pa_open(struct sink **out, const struct sink_config *cfg, char *err, size_t cap)
{
    int rc = pa_start(cfg->device, err, cap);
    if (rc) return rc;
    int index;
    rc = pick(cfg->device, &index, err, cap);
    if (rc && blame_resources(err, cap)) rc = COACH_EIO;
    struct sink *s = rc ? NULL : calloc(1, sizeof *s);
    if (!rc && !s) rc = COACH_ENOMEM;
    if (rc) {
        pa_end();
        return rc;
    }
    s->cfg = *cfg;
    const PaDeviceInfo *d = Pa_GetDeviceInfo(index);
    /* A coach needs no low latency, and must not drop out on a busy Pi:
     * by default at least PA_SINK_DEFAULT_LATENCY_S of buffer. */
    double def = d && d->defaultHighOutputLatency > PA_SINK_DEFAULT_LATENCY_S
                     ? d->defaultHighOutputLatency
                     : PA_SINK_DEFAULT_LATENCY_S;
    PaStreamParameters p = {.device = index, .channelCount = (int)cfg->channels,
                            .sampleFormat = paFloat32,
                            .suggestedLatency = cfg->latency_ms > 0 ? cfg->latency_ms / 1000.0 : def};
    int saved = mute_stderr();
    /* A sound server's ALSA plugin (pulse, pipewire) moves our audio to the
     * server on a thread of its own, made when the device opens, and the
     * callback thread waits on it: opened from a real-time thread, it
     * inherits real-time scheduling and a busy machine cannot starve it
     * either. Without the right, the open just runs as it is. */
    int policy;
    struct sched_param was, rt = {.sched_priority = sched_get_priority_min(SCHED_FIFO)};
    bool raised = pthread_getschedparam(pthread_self(), &policy, &was) == 0 &&
                  pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt) == 0;
    /* the rate asked for, else 48000, else 44100 */
    const uint32_t tries[3] = {cfg->rate_hz, 48000, 44100};
    PaError e = paInvalidSampleRate;
    for (int i = 0; i < 3 && e == paInvalidSampleRate; i++) {
        if (!tries[i] || (i && tries[i] == tries[0])) continue; /* none, or asked already */
        e = Pa_OpenStream(&s->stream, NULL, &p, tries[i], paFramesPerBufferUnspecified,
                          paClipOff | paDitherOff, callback, s);
        if (e == paNoError) s->rate_hz = tries[i];
    }
    if (raised) pthread_setschedparam(pthread_self(), policy, &was);
    unmute_stderr(saved);
    const PaHostApiInfo *api = d ? Pa_GetHostApiInfo(d->hostApi) : NULL;
    s->alsa = api && api->type == paALSA;
    if (e != paNoError) {
        if (e == paInvalidSampleRate)
            snprintf(err, cap, "the device '%s' can play neither 48000 nor 44100 Hz", d ? d->name : "?");
        else
            snprintf(err, cap, "cannot open the audio device '%s': %s", d ? d->name : "?",
                     Pa_GetErrorText(e));
        rc = blame_resources(err, cap) ? COACH_EIO
             : e == paDeviceUnavailable || e == paInvalidDevice ? COACH_ENOTFOUND
                                                                 : COACH_EIO;
        free(s);
        pa_end();
        return rc;
    }
    *out = s;
    return 0;
}

static uint32_t pa_rate(struct sink *s) { return s->rate_hz; }

static int pa_start_stream(struct sink *s, char *err, size_t cap)
{
    /* A real-time callback thread where the system allows it (root, or an
     * rtprio limit): a busy machine then cannot starve the audio. Without
     * the right, PortAudio quietly keeps normal scheduling. */
    if (s->alsa) PaAlsa_EnableRealtimeScheduling(s->stream, 1);
    int saved = mute_stderr();
    PaError e = Pa_StartStream(s->stream);
    unmute_stderr(saved);
    if (e != paNoError) {
        snprintf(err, cap, "cannot start the audio device: %s", Pa_GetErrorText(e));
        return COACH_EIO;
    }
    return 0;
}

static bool pa_active(struct sink *s) { return Pa_IsStreamActive(s->stream) == 1; }

static void pa_wait(struct sink *s, int ms)
{
    (void)s;
    if (ms > 0) nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

static void pa_stats(struct sink *s, struct sink_stats *st)
{
    const PaStreamInfo *i = Pa_GetStreamInfo(s->stream);
    *st = (struct sink_stats){.frames = atomic_load(&s->frames),
                              .underruns = atomic_load(&s->underruns),
                              .first_sound_ns = atomic_load(&s->first_sound_ns),
                              .latency_s = i ? i->outputLatency : 0.0};
}

/* Closing waits on the sound server: a server that is stopped or stuck
 * holds Pa_AbortStream (the callback thread waits for the server to drop
 * what is queued) for as long as it is, and nothing can interrupt it. So
 * the close runs on a thread of its own, and after PA_SINK_CLOSE_TIMEOUT_MS
 * the caller goes on without it: the callback no longer touches the
 * caller's state (the handshake in struct sink), the thread frees the sink
 * when PortAudio lets it go, and PortAudio is not started again until then.
 * The process is usually about to end. */
struct close_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, abandoned;
    struct sink *s;
};

static void close_stream(struct sink *s)
{
    Pa_AbortStream(s->stream);
    Pa_CloseStream(s->stream);
    Pa_Terminate();
    free(s);
}

static void *close_thread(void *arg)
{
    struct close_job *j = arg;
    close_stream(j->s);
    pthread_mutex_lock(&j->mu);
    j->done = true;
    bool abandoned = j->abandoned;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (abandoned) { /* the caller gave up on us: ours to free, PortAudio free again */
        free(j);
        atomic_store(&pa_closing, false);
    }
    return NULL;
}

static void pa_close(struct sink *s)
{
    if (!s) return;
    atomic_store(&s->closing, true);
    /* a callback under way finishes (it never blocks); after it, none renders */
    for (int i = 0; i < 1000 && atomic_load(&s->in_callback); i++)
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    int saved = mute_stderr();
    struct close_job *j = calloc(1, sizeof *j);
    pthread_t t;
    if (!j || (pthread_mutex_init(&j->mu, NULL), pthread_cond_init(&j->cv, NULL),
               j->s = s, pthread_create(&t, NULL, close_thread, j) != 0)) {
        free(j);
        close_stream(s); /* no thread to spare: unbounded, as PortAudio is */
        unmute_stderr(saved);
        return;
    }
    pthread_detach(t);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += PA_SINK_CLOSE_TIMEOUT_MS / 1000;
    ts.tv_nsec += (long)(PA_SINK_CLOSE_TIMEOUT_MS % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&j->mu);
    int w = 0;
    while (!j->done && w != ETIMEDOUT) w = pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    bool done = j->done;
    if (!done) {
        j->abandoned = true;
        atomic_store(&pa_closing, true);
    }
    pthread_mutex_unlock(&j->mu);
    if (done) free(j);
    unmute_stderr(saved);
}

const struct sink_ops sink_portaudio_ops = {
    .name = "portaudio",
    .realtime = true,
    .open = pa_open,
    .rate = pa_rate,
    .start = pa_start_stream,
    .active = pa_active,
    .wait = pa_wait,
    .stats = pa_stats,
    .close = pa_close,
};
