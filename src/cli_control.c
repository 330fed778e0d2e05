/* What `coach play` and `coach menu` share: the control inputs and the one
 * loop that feeds their commands on. Keys come from a terminal only while
 * coach is its foreground job (a job in the background is stopped by the
 * terminal if it touches it: SIGTTOU), through the escape-sequence decoder;
 * the control socket takes one word per connection, and a second coach on
 * the same socket is refused; SIGUSR1/SIGUSR2 toggle and skip, SIGINT and
 * SIGTERM stop, Ctrl-Z pauses before the job stops. Also the device
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

/* The socket, or why another coach keeps it: EXIT_OK or EXIT_BUSY. */
static int take_socket(struct control *c, const struct opts *o)
{
    c->sock = o->socket ? coach_strdup(o->socket) : ctlsock_default_path();
    if (!c->sock) {
        if (!o->quiet)
            fprintf(stderr, "coach: no control socket (%s); keys and signals still work\n",
                    strerror(errno));
        return EXIT_OK;
    }
    c->ctl_fd = ctlsock_listen(c->sock);
    if (c->ctl_fd < 0 && errno == EADDRINUSE && o->replace) {
        char reply[256];
        int rc = ctlsock_send(c->sock, "stop", reply, sizeof reply);
        if (!o->quiet)
            fprintf(stderr, "coach: stopping the coach that is playing (%s)\n",
                    rc ? "it did not answer" : reply);
        for (int i = 0; i < 100; i++) { /* it has 10 s to let the socket go */
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
            c->ctl_fd = ctlsock_listen(c->sock);
            if (c->ctl_fd >= 0 || errno != EADDRINUSE) break;
        }
    }
    if (c->ctl_fd < 0 && errno == EADDRINUSE) {
        fprintf(stderr,
                "coach: another coach is already playing (its control socket is %s). Stop it "
                "with 'coach ctl stop'%s, or start this one with --replace.\n",
                c->sock, o->socket ? " --socket PATH" : "");
        return EXIT_BUSY;
    }
    if (c->ctl_fd < 0 && !o->quiet)
        fprintf(stderr, "coach: no control socket at %s (%s); keys and signals still work\n",
                c->sock, strerror(errno));
    return EXIT_OK;
}

int control_open(struct control *c, const struct opts *o, bool want_keys, const char *help)
{
    memset(c, 0, sizeof *c);
    c->ctl_fd = -1;
    c->want_keys = want_keys && isatty(STDIN_FILENO);
    int st = take_socket(c, o);
    if (st) return st;
    if (signal_pipe[0] < 0 && pipe(signal_pipe) == 0) {
        for (int i = 0; i < 2; i++) {
            fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
            fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
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

void control_close(struct control *c)
{
    tty_restore();
    c->keys = false;
    if (c->ctl_fd >= 0) ctlsock_close(c->ctl_fd, c->sock);
    free(c->sock);
    c->sock = NULL;
    c->ctl_fd = -1;
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

static int signals(struct control *c, const struct loop_ops *ops, void *ctx)
{
    unsigned char sig[16];
    ssize_t got = read(signal_pipe[0], sig, sizeof sig);
    int st = LOOP_GO_ON;
    for (ssize_t i = 0; i < got && st == LOOP_GO_ON; i++) {
        switch (sig[i]) {
        case SIGINT:
        case SIGTERM:
            ops->interrupt(ctx);
            return sig[i] == SIGINT ? EXIT_INTERRUPTED : EXIT_TERMINATED;
        case SIGUSR1:
            st = ops->command(ctx, CTL_TOGGLE, NULL, 0);
            break;
        case SIGUSR2:
            st = ops->command(ctx, CTL_NEXT, NULL, 0);
            break;
        case SIGTSTP:
            st = suspend(c, ops, ctx);
            break;
        case SIGCONT:
            keys_follow(c);
            break;
        }
    }
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

static int socket_word(struct control *c, const struct loop_ops *ops, void *ctx)
{
    char line[256], reply[1024];
    int conn = ctlsock_accept(c->ctl_fd, line, sizeof line);
    if (conn < 0) return LOOP_GO_ON;
    enum ctl_cmd cmd = ctl_from_word(line);
    int st = LOOP_GO_ON;
    if (cmd == CTL_NONE) { /* said in words too: nothing needs sight */
        st = ops->command(ctx, CTL_NONE, reply, sizeof reply);
        snprintf(reply, sizeof reply, "error unknown command '%.60s' (use %s)", line,
                 ctl_words_help());
    } else {
        st = ops->command(ctx, cmd, reply, sizeof reply);
    }
    ctlsock_reply(conn, reply); /* before anything else: the client is waiting */
    return st;
}

int control_loop(struct control *c, const struct loop_ops *ops, void *ctx)
{
    for (;;) {
        keys_follow(c);
        struct pollfd fds[4];
        int n = 0, i_key = -1, i_ctl = -1, i_fd = -1;
        fds[n++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
        if (ops->fd >= 0) i_fd = n, fds[n++] = (struct pollfd){.fd = ops->fd, .events = POLLIN};
        if (c->keys) i_key = n, fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        if (c->ctl_fd >= 0) i_ctl = n, fds[n++] = (struct pollfd){.fd = c->ctl_fd, .events = POLLIN};
        poll(fds, (nfds_t)n, 50);
        int st = LOOP_GO_ON;
        if (fds[0].revents & POLLIN) st = signals(c, ops, ctx);
        if (st == LOOP_GO_ON && i_key >= 0 && (fds[i_key].revents & POLLIN)) st = keys(c, ops, ctx);
        if (st == LOOP_GO_ON && i_ctl >= 0 && (fds[i_ctl].revents & POLLIN))
            st = socket_word(c, ops, ctx);
        (void)i_fd; /* its readiness is the tick's business */
        if (st == LOOP_GO_ON) st = ops->tick(ctx);
        if (st != LOOP_GO_ON) return st;
    }
}

/* ---- the device ---- */

struct player_opts cli_player_opts(const struct opts *o)
{
    return (struct player_opts){
        .sink = &sink_portaudio_ops,
        .sink_cfg = {.device = o->device, .rate_hz = o->rate_hz, .channels = o->channels,
                     .latency_ms = o->latency_ms},
        .music = o->music,
        .history_path = NULL};
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
