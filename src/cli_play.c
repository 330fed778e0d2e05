/* coach play and the commands around it. The control thread of a live
 * session: the keys (a raw terminal), signals and the control socket feed
 * one loop that steers the audio thread through the live command ring and
 * notices a lost device; the session goes into the history at the end.
 * Also the filter that keeps PortAudio's and ALSA's diagnostics off fd 2,
 * and the devices, ctl and history commands. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "coach/common.h"
#include "coach/control.h"
#include "coach/ctlsock.h"
#include "coach/feeder.h"
#include "coach/history.h"
#include "coach/live.h"
#include "coach/position.h"
#include "coach/render.h"
#include "coach/sink_portaudio.h"

uint64_t launch_ns; /* when main started: "time to first sound" */

static struct termios saved_tty;
bool tty_raw;

void tty_restore(void)
{
    if (tty_raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    tty_raw = false;
}

/* Keys without Enter: no canonical mode, no echo. */
static void tty_keys(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty)) return;
    struct termios t = saved_tty;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
        tty_raw = true;
        atexit(tty_restore);
    }
}

struct player {
    struct session *s;
    const struct opts *o;
    struct feeder feeder;
    struct live live;
    struct pa_sink *sink;
    const struct timeline *cur; /* what the audio renders */
    enum level level;
    bool final;                 /* cur is the whole routine */
    bool paused, done, stopped, lost;
    float *overlays[64];        /* speech said over the timeline; freed at the end */
    size_t n_overlays;
    int32_t chapter_shown;      /* last chapter printed */
};

/* Handles one note from the audio thread; returns its kind. */
static int take_note(struct player *p, struct live_note *n)
{
    if (!live_poll(&p->live, n)) return -1;
    switch (n->kind) {
    case NOTE_PAUSED: p->paused = true; break;
    case NOTE_RESUMED: p->paused = false; break;
    case NOTE_ENDED: p->done = true; break;
    case NOTE_STOPPED: p->done = p->stopped = true; break;
    default: break;
    }
    return n->kind;
}

/* Waits (handling other notes) for a note of this kind; 0 if none came. */
static bool wait_note(struct player *p, int kind, int timeout_ms, uint64_t *frame)
{
    uint64_t end = coach_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    struct live_note n;
    while (coach_mono_ns() < end) {
        int k;
        while ((k = take_note(p, &n)) >= 0)
            if (k == kind) {
                if (frame) *frame = n.frame;
                return true;
            }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void send_cmd(struct player *p, struct live_cmd c)
{
    for (int i = 0; i < 100 && !live_send(&p->live, &c); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void refuse(struct player *p)
{
    send_cmd(p, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_REFUSED});
}

static uint64_t played(struct player *p)
{
    return atomic_load_explicit(&p->live.played, memory_order_acquire);
}

/* Speech over the timeline (repeat, where am I). */
static const char *overlay(struct player *p, const char *text, int32_t clip)
{
    float *pcm;
    uint64_t len;
    if (p->n_overlays == sizeof p->overlays / sizeof *p->overlays ||
        feeder_say(&p->feeder, text, clip, &pcm, &len)) {
        refuse(p);
        return "error cannot speak now";
    }
    p->overlays[p->n_overlays++] = pcm;
    send_cmd(p, (struct live_cmd){.kind = LIVE_OVERLAY, .pcm = pcm, .len_frames = len,
                                  .ack = LIVE_NO_ACK});
    return NULL;
}

/* Sends a command and answers with the frame the audio thread reports. */
static void ask(struct player *p, struct live_cmd c, int note, const char *what, char *reply,
                size_t cap)
{
    send_cmd(p, c);
    uint64_t f;
    if (wait_note(p, note, 500, &f))
        snprintf(reply, cap, "ok %s at frame %llu", what, (unsigned long long)f);
    else
        snprintf(reply, cap, "error the audio device did not answer");
}

static void seek_to(struct player *p, uint64_t target, char *reply, size_t cap, const char *what)
{
    feeder_ready_at(&p->feeder, target, 500);
    ask(p, (struct live_cmd){.kind = LIVE_SEEK, .frame = target, .ack = ACK_SEEK}, NOTE_SEEKED,
        what, reply, cap);
}

/* Carries out a command; reply is what `coach ctl` prints. */
static void do_cmd(struct player *p, enum ctl_cmd c, char *reply, size_t cap)
{
    if (c == CTL_TOGGLE) c = p->paused ? CTL_RESUME : CTL_PAUSE;
    switch (c) {
    case CTL_PAUSE:
        if (p->paused) {
            snprintf(reply, cap, "ok already paused at frame %llu", (unsigned long long)played(p));
            break;
        }
        ask(p, (struct live_cmd){.kind = LIVE_PAUSE, .ack = ACK_PAUSE}, NOTE_PAUSED, "paused",
            reply, cap);
        break;
    case CTL_RESUME:
        if (!p->paused) {
            snprintf(reply, cap, "ok already playing at frame %llu", (unsigned long long)played(p));
            break;
        }
        ask(p, (struct live_cmd){.kind = LIVE_RESUME, .ack = ACK_RESUME}, NOTE_RESUMED, "resumed",
            reply, cap);
        break;
    case CTL_NEXT: {
        uint64_t t = position_next_chapter(p->cur, played(p));
        if (t == UINT64_MAX || (!p->final && t >= p->cur->len_frames)) {
            refuse(p);
            snprintf(reply, cap, "error this is the last step");
            break;
        }
        seek_to(p, t, reply, cap, "next step");
        break;
    }
    case CTL_BACK:
        seek_to(p, position_chapter_start(p->cur, played(p)), reply, cap, "back");
        break;
    case CTL_REPEAT: {
        int32_t clip = position_last_instruction(p->cur, played(p));
        const char *e = clip < 0 ? "error nothing to repeat yet" : overlay(p, NULL, clip);
        if (clip < 0) refuse(p);
        snprintf(reply, cap, "%s", e ? e : "ok repeating");
        break;
    }
    case CTL_WHERE: {
        char *text = position_where(p->cur, &p->s->routine, &p->s->voice, p->level, played(p));
        const char *e = text ? overlay(p, text, -1) : "error out of memory";
        snprintf(reply, cap, "%s%s", e ? e : "ok ", e ? "" : text);
        free(text);
        break;
    }
    case CTL_VOLUME_UP:
    case CTL_VOLUME_DOWN: {
        float v = atomic_load(&p->live.r.volume) * (c == CTL_VOLUME_UP ? 1.25f : 0.8f);
        if (v > 2.0f) v = 2.0f; /* the renderer's limiter keeps it below full scale */
        if (v < 0.05f) v = 0.05f;
        atomic_store(&p->live.r.volume, v);
        send_cmd(p, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_VOLUME});
        snprintf(reply, cap, "ok volume %d%%", (int)(v * 100.0f + 0.5f));
        break;
    }
    case CTL_STOP:
        send_cmd(p, (struct live_cmd){.kind = LIVE_STOP, .ack = ACK_PAUSE});
        wait_note(p, NOTE_STOPPED, 500, NULL);
        p->done = p->stopped = true;
        snprintf(reply, cap, "ok stopped at frame %llu", (unsigned long long)played(p));
        break;
    default:
        refuse(p);
        snprintf(reply, cap, "error unknown command (use %s)", ctl_words_help());
        break;
    }
}

/* Prints the step being heard when it changes: plain lines, no cursor tricks. */
static void show_chapter(struct player *p)
{
    uint64_t pos = played(p);
    const struct chapter *c = timeline_chapter_at(p->cur, pos);
    int32_t k = c ? (int32_t)(c - p->cur->ch) : -1;
    if (k < 0 || k == p->chapter_shown) return;
    p->chapter_shown = k;
    if (p->o->quiet) return;
    char d[64];
    fmt_duration(d, sizeof d, p->cur->ch[k].frame, p->cur->rate_hz);
    printf("%s (at %s)\n", p->cur->ch[k].title, d);
    fflush(stdout);
}

static void swap_in(struct player *p)
{
    const struct timeline *tl;
    bool final;
    while ((tl = feeder_take(&p->feeder, &final))) {
        send_cmd(p, (struct live_cmd){.kind = LIVE_SWAP, .tl = tl, .final = final,
                                      .ack = LIVE_NO_ACK});
        feeder_set_current(&p->feeder, tl);
        p->cur = tl;
        p->final = final;
    }
}

static int control_loop(struct player *p, int ctl_fd)
{
    uint64_t last_epoch = 0, still_since = coach_mono_ns();
    while (!p->done) {
        struct pollfd fds[4];
        int n = 0, i_key = -1, i_ctl = -1;
        fds[n++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = p->feeder.wake_fd[0], .events = POLLIN};
        if (tty_raw) i_key = n, fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        if (ctl_fd >= 0) i_ctl = n, fds[n++] = (struct pollfd){.fd = ctl_fd, .events = POLLIN};
        poll(fds, (nfds_t)n, 50);
        char reply[1024];
        if (fds[0].revents & POLLIN) {
            unsigned char sig[16];
            ssize_t got = read(signal_pipe[0], sig, sizeof sig);
            for (ssize_t i = 0; i < got; i++) {
                if (sig[i] == SIGINT || sig[i] == SIGTERM) {
                    do_cmd(p, CTL_STOP, reply, sizeof reply);
                    return sig[i] == SIGINT ? EXIT_INTERRUPTED : EXIT_TERMINATED;
                }
                do_cmd(p, sig[i] == SIGUSR1 ? CTL_TOGGLE : CTL_NEXT, reply, sizeof reply);
            }
        }
        if (fds[1].revents & POLLIN) {
            char junk[16];
            (void)!read(p->feeder.wake_fd[0], junk, sizeof junk);
            swap_in(p);
            if (p->feeder.rc) {
                fprintf(stderr, "%s\n", p->feeder.err);
                do_cmd(p, CTL_STOP, reply, sizeof reply);
                return p->feeder.rc == COACH_ESPEECH ? EXIT_SPEECH : EXIT_INVALID;
            }
        }
        if (i_key >= 0 && (fds[i_key].revents & POLLIN)) {
            char keys[16];
            ssize_t got = read(STDIN_FILENO, keys, sizeof keys);
            for (ssize_t i = 0; i < got; i++) {
                enum ctl_cmd c = ctl_from_key((unsigned char)keys[i]);
                if (c != CTL_NONE) do_cmd(p, c, reply, sizeof reply);
            }
        }
        if (i_ctl >= 0 && (fds[i_ctl].revents & POLLIN)) {
            char line[256];
            int conn = ctlsock_accept(ctl_fd, line, sizeof line);
            if (conn >= 0) {
                enum ctl_cmd c = ctl_from_word(line);
                if (c == CTL_NONE)
                    snprintf(reply, sizeof reply, "error unknown command '%.60s' (use %s)", line,
                             ctl_words_help());
                else
                    do_cmd(p, c, reply, sizeof reply);
                ctlsock_reply(conn, reply);
            }
        }
        struct live_note note;
        while (take_note(p, &note) >= 0) {
        }
        show_chapter(p);
        /* a device that stops calling back is gone (unplugged, server died) */
        uint64_t e = atomic_load(&p->live.epoch), now = coach_mono_ns();
        if (e != last_epoch) {
            last_epoch = e;
            still_since = now;
        }
        if (!p->done && (!pa_sink_active(p->sink) || now - still_since > 3000000000u)) {
            p->lost = true;
            return EXIT_LOST;
        }
    }
    return EXIT_OK;
}

/* PortAudio's ALSA back-end prints "Expression ... failed" lines from its
 * own thread when a device misbehaves, and ALSA/JACK print while probing;
 * their hooks are set (sink_portaudio.c) but PortAudio's debug print is not
 * exported. So while a device is in use fd 2 goes through a pipe, and this
 * thread passes on our own lines and drops theirs. */
static int noise_real_fd = -1, noise_pipe[2] = {-1, -1};
static pthread_t noise_thread;

static bool is_noise(const char *line)
{
    static const char *const marks[] = {"src/hostapi/", "pa_linux_alsa", "ALSA lib ", "Jack",
                                        "jack", "Cannot connect to server", "PaAlsa"};
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
        if (strstr(line, marks[i])) return true;
    return false;
}

static void *noise_run(void *arg)
{
    (void)arg;
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(noise_pipe[0], buf + have, sizeof buf - 1 - have);
        if (n <= 0) break;
        have += (size_t)n;
        buf[have] = 0;
        char *start = buf, *nl;
        while ((nl = strchr(start, '\n'))) {
            *nl = 0;
            if (!is_noise(start)) dprintf(noise_real_fd, "%s\n", start);
            start = nl + 1;
        }
        have = strlen(start);
        memmove(buf, start, have);
        if (have == sizeof buf - 1) { /* a very long line: pass it on as it is */
            if (!is_noise(buf)) (void)!write(noise_real_fd, buf, have);
            have = 0;
        }
    }
    if (have && !is_noise(buf)) (void)!write(noise_real_fd, buf, have);
    return NULL;
}

void noise_filter_start(void)
{
    fflush(stderr);
    if (pipe(noise_pipe)) return;
    noise_real_fd = dup(STDERR_FILENO);
    if (noise_real_fd < 0 || dup2(noise_pipe[1], STDERR_FILENO) < 0 ||
        pthread_create(&noise_thread, NULL, noise_run, NULL)) {
        if (noise_real_fd >= 0) dup2(noise_real_fd, STDERR_FILENO);
        close(noise_pipe[0]);
        close(noise_pipe[1]);
        noise_pipe[0] = noise_pipe[1] = -1;
        return;
    }
    close(noise_pipe[1]);
    noise_pipe[1] = -1;
}

void noise_filter_stop(void)
{
    if (noise_pipe[0] < 0) return;
    fflush(stderr);
    dup2(noise_real_fd, STDERR_FILENO); /* the pipe's last writer is gone: EOF */
    pthread_join(noise_thread, NULL);
    close(noise_pipe[0]);
    close(noise_real_fd);
    noise_pipe[0] = noise_real_fd = -1;
}

int cmd_play(int argc, char **argv, const struct opts *o)
{
    if (argc != 1) return usage_error("%s", "play needs exactly one routine");
    noise_filter_start();
    int st = play_session(argc, argv, o);
    noise_filter_stop();
    return st;
}

/* The control inputs play and menu share: signals through signal_pipe
 * (SIGUSR1/SIGUSR2 too), keys on a terminal if keys, and the control
 * socket. Prints what is missing and, unless --quiet, the keys (help).
 * Returns the socket's fd or -1; *sock is its path (heap, may be NULL) for
 * ctlsock_close. */
int control_open(const struct opts *o, bool keys, const char *help, char **sock)
{
    if (pipe(signal_pipe) == 0) {
        fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK);
        fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    if (keys) tty_keys();
    *sock = o->socket ? coach_strdup(o->socket) : ctlsock_default_path();
    int ctl_fd = *sock ? ctlsock_listen(*sock) : -1;
    if (ctl_fd < 0 && !o->quiet)
        fprintf(stderr, "coach: no control socket%s%s (%s); keys and signals still work\n",
                *sock ? " at " : "", *sock ? *sock : "",
                errno == EADDRINUSE ? "another coach is playing" : strerror(errno));
    if (!o->quiet && tty_raw) fprintf(stderr, "Keys: %s.\n", help);
    return ctl_fd;
}

int play_session(int argc, char **argv, const struct opts *o)
{
    (void)argc;
    struct session s = {0};
    int st = session_load(&s, argv[0], o);
    if (st) {
        session_free(&s);
        return st;
    }
    char err[512] = "";
    if (pa_sink_init(o->device, err, sizeof err)) {
        fprintf(stderr, "coach: %s\n", err);
        session_free(&s);
        return EXIT_NODEVICE;
    }
    char name[256];
    routine_name(s.routine_path, name, sizeof name);
    uint32_t rate = o->rate_hz;
    int dev;
    if (pa_sink_pick(o->device, o->channels, &rate, &dev, err, sizeof err)) {
        fprintf(stderr,
                "coach: %s.\nTo listen anyway, export the routine and play the file elsewhere:\n"
                "  coach export %s -o %s.flac\n",
                err, name, name);
        pa_sink_terminate();
        session_free(&s);
        return EXIT_NODEVICE;
    }
    struct music music;
    bool have_music = false;
    st = load_music(o, rate, &music, &have_music);
    if (st) {
        pa_sink_terminate();
        session_free(&s);
        return st;
    }
    struct player p = {.s = &s, .o = o, .chapter_shown = -1};
    p.level = session_level(&s, o);
    struct plan_opts po = {.rate_hz = rate, .level = p.level, .announce = s.announce};
    const struct timeline *first;
    int rc = feeder_start(&p.feeder, &s.routine, &s.voice, &po, &first);
    if (rc) {
        fprintf(stderr, "%s\n", p.feeder.err[0] ? p.feeder.err : coach_strerror(rc));
        feeder_stop(&p.feeder);
        if (have_music) music_free(&music);
        pa_sink_terminate();
        session_free(&s);
        return rc == COACH_ESPEECH ? EXIT_SPEECH : EXIT_INVALID;
    }
    p.cur = first;
    rc = live_init(&p.live, first, false, p.feeder.slots, o->channels, 4096);
    if (!rc && have_music) render_set_music(&p.live.r, &music); /* before the audio starts */
    if (!rc) feeder_attach(&p.feeder, &p.live);
    if (!rc) rc = pa_sink_open(&p.sink, dev, rate, o->channels, o->latency_ms, &p.live, err, sizeof err);
    if (rc) {
        fprintf(stderr,
                "coach: %s.\nIs another program using the device? To listen anyway, export it:\n"
                "  coach export %s -o %s.flac\n",
                err[0] ? err : coach_strerror(rc), name, name);
        feeder_stop(&p.feeder);
        live_free(&p.live);
        if (have_music) music_free(&music);
        pa_sink_terminate();
        session_free(&s);
        return EXIT_NODEVICE;
    }
    time_t started = time(NULL);
    /* control: keys on a terminal, the socket, signals */
    char *sock;
    int ctl_fd = control_open(o, !o->quiet, "space pause, n next, b back, r repeat, w where, "
                              "+ - volume, q quit", &sock);

    st = control_loop(&p, ctl_fd);
    tty_restore();
    uint64_t pos = played(&p), first_ns = pa_sink_first_sound_ns(p.sink);
    uint64_t heard = atomic_load(&p.live.heard_frames);
    double latency = pa_sink_latency(p.sink);
    uint64_t underruns = pa_sink_underruns(p.sink);
    pa_sink_close(p.sink);
    if (ctl_fd >= 0) ctlsock_close(ctl_fd, sock);
    free(sock);
    if (st == EXIT_LOST) {
        char at[64];
        fmt_duration(at, sizeof at, pos, rate);
        fprintf(stderr,
                "coach: the audio device stopped (unplugged, or the sound server quit) at %s.\n"
                "Start again with 'coach play %s', or export the routine: coach export %s -o "
                "%s.flac\n",
                at, name, name, name);
    }
    /* what was heard goes into the history, whatever the ending */
    const struct timeline *tl = p.cur;
    struct history_record rec = {
        .when = started, .routine = name, .title = s.routine.title,
        .steps_done = p.done && !p.stopped ? (unsigned)routine_count_moves(&s.routine)
                                           : position_moves_done(tl, &s.routine, pos),
        .steps_total = (unsigned)routine_count_moves(&s.routine),
        .seconds = heard / rate, /* skipped and paused time are not exercise */
        .ending = st == EXIT_OK ? (p.stopped ? "stopped" : "completed")
                  : st == EXIT_INTERRUPTED || st == EXIT_TERMINATED ? "interrupted"
                                                                   : "error"};
    char *hpath = history_default_path();
    if (!hpath || history_append(hpath, &rec))
        fprintf(stderr,
                "coach: warning: cannot record this session in the history%s%s: %s (the session "
                "itself was not affected; to keep a history, make it writable or set "
                "COACH_HISTORY_FILE to a file you can write)\n",
                hpath ? " " : "", hpath ? hpath : "", strerror(errno));
    free(hpath);
    uint64_t missed = atomic_load(&p.live.r.missing_clips);
    uint64_t stall_ms = atomic_load(&p.live.stall_frames) * 1000 / rate;
    if (!o->quiet || missed || underruns) {
        char d[64];
        fmt_duration(d, sizeof d, heard, rate);
        fprintf(stderr,
                "coach: played %s; first sound %.0f ms after launch (+%.0f ms device latency); "
                "missed clips: %llu, underruns: %llu, waited for the plan: %llu ms\n",
                d, first_ns ? (double)(first_ns - launch_ns) / 1e6 : -1.0, latency * 1000.0,
                (unsigned long long)missed, (unsigned long long)underruns,
                (unsigned long long)stall_ms);
    }
    feeder_stop(&p.feeder);
    live_free(&p.live);
    if (have_music) music_free(&music);
    for (size_t i = 0; i < p.n_overlays; i++) free(p.overlays[i]);
    pa_sink_terminate();
    session_free(&s);
    return st;
}

int cmd_devices(int argc)
{
    if (argc) return usage_error("%s", "devices takes no arguments");
    char err[512];
    noise_filter_start();
    int rc = pa_sink_init(NULL, err, sizeof err);
    int n = rc ? 0 : pa_sink_list(stdout);
    if (!rc) pa_sink_terminate();
    noise_filter_stop();
    if (rc) {
        fprintf(stderr, "coach: %s\n", err);
        return EXIT_NODEVICE;
    }
    if (!n) {
        printf("No audio output devices found. Use 'coach export' to make an audio file.\n");
        return EXIT_NODEVICE;
    }
    return EXIT_OK;
}

int cmd_ctl(int argc, char **argv, const struct opts *o)
{
    if (argc != 1) return usage_error("ctl needs one word: %s", ctl_words_help());
    if (ctl_from_word(argv[0]) == CTL_NONE)
        return usage_error("unknown ctl word '%s'", argv[0]);
    char *sock = o->socket ? coach_strdup(o->socket) : ctlsock_default_path();
    if (!sock) {
        fprintf(stderr, "coach: no usable control socket directory: %s\n", strerror(errno));
        return EXIT_NOTFOUND;
    }
    char reply[1024];
    int rc = ctlsock_send(sock, argv[0], reply, sizeof reply);
    if (rc == COACH_ENOTFOUND) {
        fprintf(stderr, "coach: no coach is playing (no control socket at %s)\n", sock);
        free(sock);
        return EXIT_NOTFOUND;
    }
    free(sock);
    if (rc) {
        fprintf(stderr, "coach: the playing coach did not answer: %s\n", strerror(errno));
        return EXIT_OUTPUT;
    }
    bool ok = strncmp(reply, "ok", 2) == 0;
    fprintf(ok ? stdout : stderr, "%s\n", reply);
    return ok ? EXIT_OK : EXIT_INVALID;
}

int cmd_history(int argc)
{
    if (argc) return usage_error("%s", "history takes no arguments");
    char *path = history_default_path();
    int rc = path ? history_print(path, stdout) : COACH_ENOMEM;
    int e = errno;
    if (rc == COACH_ENOTFOUND)
        printf("No sessions yet.\n");
    else if (rc && ferror(stdout))
        fprintf(stderr, "coach: cannot write the history listing: %s\n", strerror(e));
    else if (rc)
        fprintf(stderr,
                "coach: cannot read the history %s: %s (check its permissions, or set "
                "COACH_HISTORY_FILE to another file)\n",
                path ? path : "", strerror(e));
    free(path);
    return rc && rc != COACH_ENOTFOUND ? EXIT_OUTPUT : EXIT_OK;
}
