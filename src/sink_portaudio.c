/* Live output through PortAudio (see include/coach/sink_portaudio.h). The
 * callback calls live_process and counts underruns; it allocates nothing,
 * takes no lock and prints nothing. ALSA's and JACK's diagnostics are
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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "coach/common.h"

#define PA_SINK_DEFAULT_LATENCY_S 0.1
#define PA_SINK_INIT_TIMEOUT_S 10 /* a healthy start takes well under 1 s */

struct pa_sink {
    PaStream *stream;                /* immutable after open */
    struct live *live;               /* immutable after open */
    uint32_t channels;               /* immutable after open */
    atomic_uint_fast64_t underruns;  /* audio writes, main reads */
    atomic_uint_fast64_t first_sound_ns; /* audio writes once, main reads */
};

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

/* PortAudio's ALSA back-end opens every PCM the ALSA configuration defines,
 * to learn what each can do. One of them is never a speaker for coach and
 * costs dearly: opening "a52" (an AC-3 encoder for S/PDIF receivers, from
 * libasound2-plugins) maps libavcodec and some twenty libraries it needs,
 * 12 MB that stay resident for the whole session. Its definition is dropped
 * from the in-memory configuration before PortAudio looks (the files are
 * untouched, and a device the user names is kept). */
static void skip_costly_plugins(const char *keep)
{
    static const char *const costly[] = {"a52", NULL};
    typedef int (*update_fn)(void);
    typedef int (*search_fn)(void *, const char *, void **);
    typedef int (*delete_fn)(void *);
    update_fn update = (update_fn)dlsym(RTLD_DEFAULT, "snd_config_update");
    search_fn search = (search_fn)dlsym(RTLD_DEFAULT, "snd_config_search");
    delete_fn del = (delete_fn)dlsym(RTLD_DEFAULT, "snd_config_delete");
    void **top = (void **)dlsym(RTLD_DEFAULT, "snd_config"); /* the global tree */
    if (!update || !search || !del || !top || update() < 0 || !*top) return;
    for (int i = 0; costly[i]; i++) {
        if (keep && strstr(keep, costly[i])) continue;
        char key[64];
        void *node;
        snprintf(key, sizeof key, "pcm.%s", costly[i]);
        if (search(*top, key, &node) >= 0) del(node);
    }
}

/* A sound server that hangs (stopped, deadlocked) makes PortAudio's probe
 * wait 30 s in each ALSA device that talks to it, minutes in all, and
 * nothing can interrupt it. A watchdog gives up for it: it says so on the
 * real stderr (fd 2 is muted while PortAudio probes) and ends the process
 * with the "no device" status. Nothing is playing yet, nothing is lost. */
struct init_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int err_fd;
};

static void *init_watchdog(void *arg)
{
    struct init_watch *w = arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += PA_SINK_INIT_TIMEOUT_S;
    pthread_mutex_lock(&w->mu);
    int e = 0;
    while (!w->done && e != ETIMEDOUT) e = pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    bool hung = !w->done;
    pthread_mutex_unlock(&w->mu);
    if (hung) {
        static const char msg[] =
            "coach: the sound system does not answer (PortAudio waited 10 s for the audio "
            "devices: is the sound server, e.g. PulseAudio or PipeWire, stuck? restart it, or "
            "use 'coach export' to make an audio file)\n";
        (void)!write(w->err_fd >= 0 ? w->err_fd : STDERR_FILENO, msg, sizeof msg - 1);
        /* stderr may be a pipe to the thread that filters the back-ends'
         * noise (cli_play.c): a moment for it to pass the line on */
        nanosleep(&(struct timespec){.tv_nsec = 200000000L}, NULL);
        _exit(EXIT_NODEVICE);
    }
    return NULL;
}

int pa_sink_init(const char *device, char *err, size_t cap)
{
    /* libasound is loaded with PortAudio: hush it before it probes */
    hush_backends();
    skip_costly_plugins(device);
    int saved = mute_stderr();
    struct init_watch w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
                           .err_fd = saved};
    pthread_t dog;
    bool watched = pthread_create(&dog, NULL, init_watchdog, &w) == 0;
    PaError e = Pa_Initialize();
    if (watched) {
        pthread_mutex_lock(&w.mu);
        w.done = true;
        pthread_cond_signal(&w.cv);
        pthread_mutex_unlock(&w.mu);
        pthread_join(dog, NULL);
    }
    hush_backends(); /* JACK is loaded by Pa_Initialize */
    unmute_stderr(saved);
    if (e != paNoError) {
        snprintf(err, cap, "cannot start PortAudio: %s", Pa_GetErrorText(e));
        return COACH_EIO;
    }
    return 0;
}

void pa_sink_terminate(void)
{
    int saved = mute_stderr();
    Pa_Terminate();
    unmute_stderr(saved);
}

int pa_sink_list(FILE *out)
{
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
    return found;
}

static bool rate_ok(int index, uint32_t channels, uint32_t rate_hz)
{
    const PaDeviceInfo *d = Pa_GetDeviceInfo(index);
    PaStreamParameters p = {.device = index, .channelCount = (int)channels,
                            .sampleFormat = paFloat32,
                            .suggestedLatency = d ? d->defaultHighOutputLatency : 0.1};
    int saved = mute_stderr();
    PaError e = Pa_IsFormatSupported(NULL, &p, rate_hz);
    unmute_stderr(saved);
    return e == paFormatIsSupported;
}

int pa_sink_pick(const char *device, uint32_t channels, uint32_t *rate_hz, int *index, char *err,
                 size_t cap)
{
    int n = Pa_GetDeviceCount(), pick = paNoDevice;
    if (!device) {
        pick = Pa_GetDefaultOutputDevice();
        if (pick == paNoDevice) {
            snprintf(err, cap, "no audio output device found");
            return COACH_ENOTFOUND;
        }
    } else {
        char *end;
        long k = strtol(device, &end, 10);
        if (*device && !*end) {
            pick = (k >= 0 && k < n) ? (int)k : paNoDevice;
        } else {
            for (int i = 0; i < n && pick == paNoDevice; i++) {
                const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
                if (d && d->maxOutputChannels > 0 && strstr(d->name, device)) pick = i;
            }
        }
        const PaDeviceInfo *d = pick != paNoDevice ? Pa_GetDeviceInfo(pick) : NULL;
        if (!d || d->maxOutputChannels < 1) {
            snprintf(err, cap, "no output device '%s' (see 'coach devices')", device);
            return COACH_ENOTFOUND;
        }
    }
    const uint32_t tries[3] = {*rate_hz, 48000, 44100};
    for (int i = 0; i < 3; i++)
        if (rate_ok(pick, channels, tries[i])) {
            *rate_hz = tries[i];
            *index = pick;
            return 0;
        }
    const PaDeviceInfo *d = Pa_GetDeviceInfo(pick);
    snprintf(err, cap, "the device '%s' can play neither 48000 nor 44100 Hz",
             d ? d->name : "?");
    return COACH_EIO;
}

/* The audio callback: the live engine, the underrun count, the moment of
 * the first sound. Nothing else. */
static int callback(const void *in, void *out, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *user)
{
    (void)in, (void)time;
    struct pa_sink *s = user;
    float *buf = out;
    if (flags & paOutputUnderflow)
        atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    live_process(s->live, buf, frames);
    if (!atomic_load_explicit(&s->first_sound_ns, memory_order_relaxed)) {
        for (unsigned long i = 0; i < frames * s->channels; i++)
            if (buf[i] != 0.0f) {
                atomic_store_explicit(&s->first_sound_ns, coach_mono_ns(), memory_order_relaxed);
                break;
            }
    }
    return paContinue;
}

int pa_sink_open(struct pa_sink **out, int index, uint32_t rate_hz, uint32_t channels,
                 double latency_ms, struct live *l, char *err, size_t cap)
{
    struct pa_sink *s = calloc(1, sizeof *s);
    if (!s) return COACH_ENOMEM;
    s->live = l;
    s->channels = channels;
    const PaDeviceInfo *d = Pa_GetDeviceInfo(index);
    /* A coach needs no low latency, and must not drop out on a busy Pi:
     * by default at least PA_SINK_DEFAULT_LATENCY_S of buffer. */
    double def = d && d->defaultHighOutputLatency > PA_SINK_DEFAULT_LATENCY_S
                     ? d->defaultHighOutputLatency
                     : PA_SINK_DEFAULT_LATENCY_S;
    PaStreamParameters p = {.device = index, .channelCount = (int)channels,
                            .sampleFormat = paFloat32,
                            .suggestedLatency = latency_ms > 0 ? latency_ms / 1000.0 : def};
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
    PaError e = Pa_OpenStream(&s->stream, NULL, &p, rate_hz, paFramesPerBufferUnspecified,
                              paClipOff | paDitherOff, callback, s);
    if (raised) pthread_setschedparam(pthread_self(), policy, &was);
    /* A real-time callback thread where the system allows it (root, or an
     * rtprio limit): a busy machine then cannot starve the audio. Without
     * the right, PortAudio quietly keeps normal scheduling. */
    const PaHostApiInfo *api = d ? Pa_GetHostApiInfo(d->hostApi) : NULL;
    if (e == paNoError && api && api->type == paALSA)
        PaAlsa_EnableRealtimeScheduling(s->stream, 1);
    if (e == paNoError) e = Pa_StartStream(s->stream);
    unmute_stderr(saved);
    if (e != paNoError) {
        snprintf(err, cap, "cannot open the audio device '%s': %s", d ? d->name : "?",
                 Pa_GetErrorText(e));
        if (s->stream) Pa_CloseStream(s->stream);
        free(s);
        return e == paDeviceUnavailable || e == paInvalidDevice ? COACH_ENOTFOUND : COACH_EIO;
    }
    *out = s;
    return 0;
}

bool pa_sink_active(struct pa_sink *s) { return Pa_IsStreamActive(s->stream) == 1; }

uint64_t pa_sink_underruns(struct pa_sink *s) { return atomic_load(&s->underruns); }

uint64_t pa_sink_first_sound_ns(struct pa_sink *s) { return atomic_load(&s->first_sound_ns); }

double pa_sink_latency(struct pa_sink *s)
{
    const PaStreamInfo *i = Pa_GetStreamInfo(s->stream);
    return i ? i->outputLatency : 0.0;
}

void pa_sink_close(struct pa_sink *s)
{
    if (!s) return;
    int saved = mute_stderr();
    Pa_AbortStream(s->stream);
    Pa_CloseStream(s->stream);
    unmute_stderr(saved);
    free(s);
}
