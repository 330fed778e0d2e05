/* What `coach play` and `coach menu` share: the control inputs and the one
 * loop that feeds their commands on. Keys come from a terminal only while
 * coach is its foreground job (a job in the background is stopped by the
 * terminal if it touches it: SIGTTOU), through the escape-sequence decoder;
 * the control socket's clients (ctlsock.h's server) are served in the
 * same poll, and a second coach on the same socket is refused; SIGUSR1/
 * SIGUSR2 toggle and skip, SIGINT and SIGTERM stop (through the self-pipe,
 * or without it from a flag looked at every turn), Ctrl-Z pauses before
 * the job stops. Also the device
 * options, the messages for a player that cannot start, and the filter
 * that keeps PortAudio's and ALSA's noise off fd 2. */
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
#include "coach/ctlsock.h"
#include "coach/sink_portaudio.h"

uint64_t launch_ns; /* when main started: "time to first sound" */

/* ---- the terminal ---- */

static struct termios saved_tty;
static bool tty_raw;

static void tty_restore(void)
{
    if (tty_raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    tty_raw = false;
}

/* Is coach the terminal's foreground job? (Only then may it set the
 * terminal up or read it.) */
static bool foreground(void)
{
    pid_t fg = tcgetpgrp(STDIN_FILENO);
    return fg != -1 && fg == getpgrp();
}

/* Keys without Enter: no canonical mode, no echo. */
static bool tty_keys(void)
{
    if (tty_raw) return true;
    if (!isatty(STDIN_FILENO) || !foreground() || tcgetattr(STDIN_FILENO, &saved_tty)) return false;
    struct termios t = saved_tty;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) != 0) return false;
    static bool registered;
    if (!registered) atexit(tty_restore);
    registered = true;
    tty_raw = true;
    return true;
}

/* Keys on whenever coach is in the foreground, off when it is not. */
static void keys_follow(struct control *c)
{
    if (!c->want_keys) return;
    bool fg = isatty(STDIN_FILENO) && foreground();
    if (fg && !c->keys) c->keys = tty_keys();
    if (!fg && c->keys) {
        c->keys = false;
        tty_raw = false; /* the shell owns the terminal now; it set it up itself */
    }
}

/* ---- opening ---- */

/* What still steers a coach without its control socket. */
static const char *still_works(const struct control *c)
{
    return c->want_keys ? "keys and signals still work"
                        : "signals still work (SIGUSR1 pause/resume, SIGUSR2 next, SIGTERM stop)";
}

/* The socket, or why another coach keeps it: EXIT_OK or EXIT_BUSY. */
static int take_socket(struct control *c, const struct opts *o)
{
    if (o->socket) {
        c->sock = coach_strdup(o->socket);
    } else {
        char why[512] = "";
        if (ctlsock_default_path(&c->sock, why, sizeof why) != 0) {
            if (errno == EPERM) /* someone else's doing: said even with --quiet */
                fprintf(stderr,
                        "coach: no control socket: %s. Remove it if nothing of yours uses it, "
                        "set XDG_RUNTIME_DIR to a private directory, or give --socket PATH; %s.\n",
                        why, still_works(c));
            else if (!o->quiet)
                fprintf(stderr, "coach: no control socket: %s; %s\n", why, still_works(c));
            return EXIT_OK;
        }
    }
    if (!c->sock) {
        if (!o->quiet)
            fprintf(stderr, "coach: no control socket (%s); %s\n", strerror(ENOMEM),
                    still_works(c));
        return EXIT_OK;
    }
    int fd = ctlsock_listen(c->sock);
    if (fd < 0 && errno == EADDRINUSE && o->replace) {
        char reply[256];
        int rc = ctlsock_send(c->sock, "stop", reply, sizeof reply);
        if (!o->quiet)
            fprintf(stderr, "coach: stopping the coach that is playing (%s)\n",
                    rc ? "it did not answer" : reply);
        for (int i = 0; i < 100; i++) { /* it has 10 s to let the socket go */
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
            fd = ctlsock_listen(c->sock);
            if (fd >= 0 || errno != EADDRINUSE) break;
        }
    }
    if (fd < 0 && errno == EADDRINUSE) {
        fprintf(stderr,
                "coach: another coach is already playing (its control socket is %s). Stop it "
                "with 'coach ctl stop'%s, or start this one with --replace.\n",
                c->sock, o->socket ? " --socket PATH" : "");
        return EXIT_BUSY;
    }
    if (fd < 0 && !o->quiet)
        fprintf(stderr, "coach: no control socket at %s (%s); %s\n", c->sock, strerror(errno),
                still_works(c));
    if (fd >= 0) ctlsrv_init(&c->srv, fd);
    return EXIT_OK;
}

/* The spare descriptors: taken while plenty are free, given back when a
 * loop ends (the player then writes its history record). */
static void spares_take(struct control *c)
{
    for (int i = 0; i < CONTROL_SPARE_FDS; i++)
        if (c->spare_fds[i] < 0) c->spare_fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void spares_give_back(struct control *c)
{
    for (int i = 0; i < CONTROL_SPARE_FDS; i++) {
        if (c->spare_fds[i] >= 0) close(c->spare_fds[i]);
        c->spare_fds[i] = -1;
    }
}

int control_open(struct control *c, const struct opts *o, bool want_keys, const char *help)
{
    memset(c, 0, sizeof *c);
    ctlsrv_init(&c->srv, -1);
    for (int i = 0; i < CONTROL_SPARE_FDS; i++)
        c->spare_fds[i] = -1;
    c->want_keys = want_keys && isatty(STDIN_FILENO);
    int st = take_socket(c, o);
    if (st) return st;
    spares_take(c);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGCONT, &sa, NULL);
    if (c->want_keys) sigaction(SIGTSTP, &sa, NULL); /* paused first, then stopped */
    /* In the background of an interactive shell the terminal would stop us
     * for touching it (and for writing, with 'stty tostop'): play on. */
    signal(SIGTTOU, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    keys_follow(c);
    if (o->quiet) return EXIT_OK;
    if (c->keys)
        fprintf(stderr, "Keys: %s.\n", help);
    else if (c->want_keys)
        fprintf(stderr, "coach: playing in the background: no keys (bring it back with 'fg'); "
                        "steer it with 'coach ctl WORD' (%s)\n",
                ctl_words_help());
    return EXIT_OK;
}

static int control_listen_open(struct control *c, const struct opts *o, const char *voice_name,
                               const char *language);

int control_listen(struct control *c, const struct opts *o, const char *voice_name,
                   const char *language)
{
    int st = control_listen_open(c, o, voice_name, language);
    /* MPRIS after the refusals: a session refused (a voice --listen
     * cannot serve) says that alone, not "MPRIS off" first */
    if (st == EXIT_OK && !o->no_mpris && !c->mpris)
        mpris_open(&c->mpris, o->quiet ? NULL : c->mpris_note, sizeof c->mpris_note);
    return st;
}

void control_tell(struct control *c)
{
    if (c->mpris_note[0]) fprintf(stderr, "%s\n", c->mpris_note);
    c->mpris_note[0] = 0;
}

static int control_listen_open(struct control *c, const struct opts *o, const char *voice_name,
                               const char *language)
{
    if (!o->listen) return EXIT_OK;
    if (c->listen) { /* the menu's: a routine in another language is still steered in English */
        if (listen_check_language(voice_name, language, false) != EXIT_OK && !o->quiet)
            fprintf(stderr, "coach: spoken commands stay English (the voice %s is %s)\n",
                    voice_name, language);
        return EXIT_OK;
    }
    return listen_open(&c->listen, o, voice_name, language);
}

void control_close(struct control *c)
{
    listen_close(c->listen);
    c->listen = NULL;
    mpris_close(c->mpris);
    c->mpris = NULL;
    tty_restore();
    c->keys = false;
    ctlsrv_free(&c->srv);
    if (c->srv.listen_fd >= 0) ctlsock_close(c->srv.listen_fd, c->sock);
    c->srv.listen_fd = -1;
    spares_give_back(c);
    free(c->sock);
    c->sock = NULL;
}

/* ---- the loop ---- */

/* Ctrl-Z: pause, give the terminal back, stop; on return the session
 * stays paused (a space resumes it). */
static int suspend(struct control *c, const struct loop_ops *ops, void *ctx)
{
    char reply[256];
    int st = ops->command(ctx, CTL_PAUSE, reply, sizeof reply);
    tty_restore();
    c->keys = false;
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP);
    /* ...stopped here until SIGCONT... */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTSTP, &sa, NULL);
    keys_follow(c);
    return st;
}

static int one_signal(struct control *c, const struct loop_ops *ops, void *ctx, int sig)
{
    switch (sig) {
    case SIGINT:
    case SIGTERM:
        ops->interrupt(ctx);
        return sig == SIGINT ? EXIT_INTERRUPTED : EXIT_TERMINATED;
    case SIGUSR1:
        return ops->command(ctx, CTL_TOGGLE, NULL, 0);
    case SIGUSR2:
        return ops->command(ctx, CTL_NEXT, NULL, 0);
    case SIGTSTP:
        return suspend(c, ops, ctx);
    case SIGCONT:
        keys_follow(c);
        break;
    }
    return LOOP_GO_ON;
}

/* The signals that came, looked at every turn: through the pipe, in
 * order, then those the pipe could not take (no pipe: out of descriptors;
 * or full), stops first. */
static int signals(struct control *c, const struct loop_ops *ops, void *ctx)
{
    int st = LOOP_GO_ON;
    if (signal_pipe[0] >= 0) { /* non-blocking: read even if poll failed */
        unsigned char sig[16];
        ssize_t got = read(signal_pipe[0], sig, sizeof sig);
        for (ssize_t i = 0; i < got && st == LOOP_GO_ON; i++)
            st = one_signal(c, ops, ctx, sig[i]);
    }
    unsigned unsent = atomic_exchange(&signals_unsent, 0u);
    static const int order[] = {SIGINT, SIGTERM, SIGTSTP, SIGCONT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof order / sizeof *order && st == LOOP_GO_ON; i++)
        if (unsent & (1u << order[i])) st = one_signal(c, ops, ctx, order[i]);
    return st;
}

static int keys(struct control *c, const struct loop_ops *ops, void *ctx)
{
    unsigned char buf[64];
    ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
    int st = LOOP_GO_ON;
    uint64_t now_ms = coach_mono_ns() / 1000000u;
    for (ssize_t i = 0; i < got && st == LOOP_GO_ON; i++) {
        int key = keydec_feed(&c->kd, buf[i], now_ms);
        enum ctl_cmd cmd = key == KEY_NONE ? CTL_NONE : ops->key(key);
        if (cmd != CTL_NONE) st = ops->command(ctx, cmd, NULL, 0);
    }
    return st;
}

/* Says once why the control socket turned a client away (the errno). */
static void tell_accept_failure(struct control *c)
{
    int e = c->srv.accept_errno;
    if (!e || e == c->accept_errno_told) return;
    c->accept_errno_told = e;
    c->srv.accept_errno = 0;
    fprintf(stderr, "coach: cannot take a control connection: %s%s%s\n", strerror(e),
            e == EMFILE   ? " (coach is at its limit of open files: raise it with 'ulimit -n')"
            : e == ENFILE ? " (the system is at its limit of open files)"
                          : "",
            c->srv.answered_busy ? "; the client was answered 'busy'" : "");
}

/* Every whole line the clients sent, each answered at once. */
static int socket_words(struct control *c, const struct loop_ops *ops, void *ctx)
{
    char line[CTLSRV_LINE], reply[1024];
    int slot, st = LOOP_GO_ON;
    while (st == LOOP_GO_ON && (slot = ctlsrv_next(&c->srv, line, sizeof line)) >= 0) {
        enum ctl_cmd cmd = ctl_from_word(line);
        if (cmd == CTL_NONE) { /* said in words too: nothing needs sight */
            st = ops->command(ctx, CTL_NONE, reply, sizeof reply);
            ctlsock_clean(line); /* it is echoed back */
            snprintf(reply, sizeof reply, "error unknown command '%.60s' (use %s)", line,
                     ctl_words_help());
        } else {
            st = ops->command(ctx, cmd, reply, sizeof reply);
        }
        ctlsrv_reply(&c->srv, slot, reply); /* before anything else: the client is waiting */
    }
    tell_accept_failure(c);
    return st;
}

/* Spoken commands: what the coach renders now (the echo gate), then
 * every phrase heard that is not its own voice, carried out like keys. */
static int spoken(struct control *c, const struct loop_ops *ops, void *ctx)
{
    bool speaking = false, asking = false;
    double latency_s = 0.0;
    if (ops->output) ops->output(ctx, &speaking, &latency_s, &asking);
    listen_turn(c->listen, coach_mono_ns(), speaking, latency_s, asking);
    int st = LOOP_GO_ON;
    enum ctl_cmd cmd;
    while (st == LOOP_GO_ON && (cmd = listen_take(c->listen)) != CTL_NONE)
        st = ops->command(ctx, cmd, NULL, 0);
    return st;
}

/* The media player's side: the commands its methods asked for, carried
 * out like keys; then what it shows, brought up to date. */
static int media(struct control *c, const struct loop_ops *ops, void *ctx)
{
    int st = LOOP_GO_ON;
    enum ctl_cmd cmd;
    while (st == LOOP_GO_ON && (cmd = mpris_take(c->mpris)) != CTL_NONE)
        st = ops->command(ctx, cmd, NULL, 0);
    if (ops->media) {
        struct mpris_state ms = {.volume = 1.0, .track = -1};
        ops->media(ctx, &ms);
        mpris_update(c->mpris, &ms);
    }
    return st;
}

int control_loop(struct control *c, const struct loop_ops *ops, void *ctx)
{
    spares_take(c);
    listen_arm(c->listen, coach_mono_ns());
    int st;
    for (;;) {
        keys_follow(c);
        struct pollfd fds[5 + CTLSRV_POLLFDS];
        /* only live descriptors: poll refuses more entries than the limit
         * of open files, and the loop must run at that limit */
        int n = 0, i_key = -1, i_srv = -1, i_bus = -1, timeout_ms = 50;
        if (signal_pipe[0] >= 0) fds[n++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
        if (ops->fd >= 0) fds[n++] = (struct pollfd){.fd = ops->fd, .events = POLLIN};
        if (c->keys) i_key = n, fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        if (c->mpris) i_bus = n, mpris_pollfd(c->mpris, &fds[n++], &timeout_ms);
        if (c->listen) fds[n++] = (struct pollfd){.fd = listen_fd(c->listen), .events = POLLIN};
        size_t n_srv = 0;
        if (c->srv.listen_fd >= 0) {
            i_srv = n;
            n_srv = ctlsrv_pollfds(&c->srv, fds + n, &timeout_ms);
            n += (int)n_srv;
        }
        if (poll(fds, (nfds_t)n, timeout_ms) < 0) {
            for (int i = 0; i < n; i++)
                fds[i].revents = 0;
            if (errno != EINTR) /* never a busy loop, whatever poll says */
                nanosleep(&(struct timespec){0, 50000000L}, NULL);
        }
        st = signals(c, ops, ctx);
        if (st == LOOP_GO_ON && i_key >= 0 && (fds[i_key].revents & POLLIN)) st = keys(c, ops, ctx);
        if (st == LOOP_GO_ON && i_srv >= 0) {
            ctlsrv_serve(&c->srv, fds + i_srv, n_srv);
            st = socket_words(c, ops, ctx);
        }
        if (st == LOOP_GO_ON && c->listen) st = spoken(c, ops, ctx); /* every turn: the gate looks */
        if (st == LOOP_GO_ON && i_bus >= 0) st = media(c, ops, ctx);
        /* ops->fd's readiness is the tick's business */
        if (st == LOOP_GO_ON) st = ops->tick(ctx);
        if (st != LOOP_GO_ON) break;
    }
    spares_give_back(c);
    return st;
}

/* ---- the device ---- */

struct player_opts cli_player_opts(const struct opts *o)
{
    return (struct player_opts){
        .sink = &sink_portaudio_ops,
        .sink_cfg = {.device = o->device, .rate_hz = o->rate_hz, .channels = o->channels,
                     .latency_ms = o->latency_ms},
        .music = o->music,
        .history_path = NULL,
        .ask_pain = o->ask_pain};
}

int cli_player_failed(enum player_fail f, const char *err, const char *routine)
{
    switch (f) {
    case PLAYER_OK:
        return EXIT_OK;
    case PLAYER_HUNG:
        /* a thread is stuck inside the sound system and may hold its locks:
         * leave at once, without the exit handlers that could wait on them */
        fprintf(stderr, "coach: %s; or use 'coach export' to make an audio file\n", err);
        noise_filter_stop();
        fflush(NULL);
        _exit(EXIT_NODEVICE);
    case PLAYER_NO_DEVICE:
        fprintf(stderr, "coach: %s.\n%sTo listen anyway, export %s and play the file elsewhere:\n"
                        "  coach export %s -o %s.flac\n",
                err, strstr(err, "cannot open") ? "Is another program using the device? " : "",
                routine ? "the routine" : "a routine ('coach list' shows them)",
                routine ? routine : "NAME", routine ? routine : "NAME");
        return EXIT_NODEVICE;
    case PLAYER_SPEECH:
        fprintf(stderr, "%s\n", err);
        return EXIT_SPEECH;
    case PLAYER_PLAN:
        fprintf(stderr, "%s\n", err);
        return EXIT_INVALID;
    case PLAYER_NO_MUSIC:
        fprintf(stderr, "coach: music: %s\n", err);
        return EXIT_NOTFOUND;
    case PLAYER_BAD_MUSIC:
        fprintf(stderr, "coach: music: %s\n", err);
        return EXIT_INVALID;
    case PLAYER_NOMEM:
        break;
    }
    fputs("coach: out of memory\n", stderr);
    return EXIT_INVALID;
}

/* ---- the sound system's noise ---- */

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
