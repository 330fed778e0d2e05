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
};

/* PortAudio is started once per sink and ended with it; after a start that
 * hung, never again (its thread may still be inside). */
static bool pa_hung;

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

/* Pa_Initialize, bounded in time. */
static int pa_start(const char *device, char *err, size_t cap)
{
    if (pa_hung) {
        snprintf(err, cap, "the sound system did not answer earlier");
        return COACH_ETIMEDOUT;
    }
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
    pa_end();
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

/* The device (NULL: the default; a number: that index; else the first
 * output device whose name contains the text) and a rate it can play:
 * *rate_hz as asked, else 48000 or 44100. */
static int pick(const char *device, uint32_t channels, uint32_t *rate_hz, int *index, char *err,
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

/* The audio callback: the render callback, the underrun count, the moment
 * of the first sound. Nothing else. */
static int callback(const void *in, void *out, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *user)
{
    (void)in, (void)time;
    struct sink *s = user;
    float *buf = out;
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
    return paContinue;
}

static int pa_open(struct sink **out, const struct sink_config *cfg, char *err, size_t cap)
{
    int rc = pa_start(cfg->device, err, cap);
    if (rc) return rc;
    uint32_t rate = cfg->rate_hz;
    int index;
    rc = pick(cfg->device, cfg->channels, &rate, &index, err, cap);
    struct sink *s = rc ? NULL : calloc(1, sizeof *s);
    if (!rc && !s) rc = COACH_ENOMEM;
    if (rc) {
        pa_end();
        return rc;
    }
    s->cfg = *cfg;
    s->rate_hz = rate;
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
    PaError e = Pa_OpenStream(&s->stream, NULL, &p, rate, paFramesPerBufferUnspecified,
                              paClipOff | paDitherOff, callback, s);
    if (raised) pthread_setschedparam(pthread_self(), policy, &was);
    unmute_stderr(saved);
    const PaHostApiInfo *api = d ? Pa_GetHostApiInfo(d->hostApi) : NULL;
    s->alsa = api && api->type == paALSA;
    if (e != paNoError) {
        snprintf(err, cap, "cannot open the audio device '%s': %s", d ? d->name : "?",
                 Pa_GetErrorText(e));
        free(s);
        pa_end();
        return e == paDeviceUnavailable || e == paInvalidDevice ? COACH_ENOTFOUND : COACH_EIO;
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

static void pa_close(struct sink *s)
{
    if (!s) return;
    int saved = mute_stderr();
    Pa_AbortStream(s->stream);
    Pa_CloseStream(s->stream);
    unmute_stderr(saved);
    free(s);
    pa_end();
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
