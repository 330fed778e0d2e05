/* coach menu: choosing a routine by ear. The routines are read out one at
 * a time (title, estimated length, exercises, summary) and stepped through
 * with the same keys, signals and ctl words as a playing coach; the chosen
 * one then plays as 'coach play' would play it. */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "coach/common.h"
#include "coach/control.h"
#include "coach/ctlsock.h"
#include "coach/diag.h"
#include "coach/live.h"
#include "coach/menu.h"
#include "coach/sink_portaudio.h"

/* The menu's sound: the live engine held paused on a silent timeline, and
 * every sentence an overlay (the engine says it and returns to paused; a
 * new one cuts the current one short, so keys can be pressed ahead). The
 * speech is made here on the control thread, the only user of espeak-ng
 * until the chosen routine starts. */
struct menu_audio {
    struct speech *sp;
    struct clipstore cs;
    bool have_cs, have_live;
    struct timeline tl; /* no events: nothing but silence to hold */
    clip_slot slot[1];
    struct live live;
    struct pa_sink *sink;
    uint32_t rate;
};

enum menu_action { MA_NONE, MA_NEXT, MA_PREV, MA_DETAILS, MA_REPEAT, MA_START, MA_QUIT, MA_OTHER };

static enum menu_action menu_key(int key)
{
    switch (key) {
    case 'n': case 'N': case ' ': return MA_NEXT;
    case 'b': case 'B': return MA_PREV;
    case 'd': case 'D': case '?': case 'w': case 'W': return MA_DETAILS;
    case 'r': case 'R': return MA_REPEAT;
    case '\n': case '\r': case 's': case 'S': return MA_START;
    case 'q': case 'Q': return MA_QUIT;
    default: return MA_NONE;
    }
}

/* The same words as a playing coach: toggle (or resume) starts. */
static enum menu_action menu_word(enum ctl_cmd c)
{
    switch (c) {
    case CTL_NEXT: return MA_NEXT;
    case CTL_BACK: return MA_PREV;
    case CTL_WHERE: return MA_DETAILS;
    case CTL_REPEAT: return MA_REPEAT;
    case CTL_TOGGLE: case CTL_RESUME: return MA_START;
    case CTL_STOP: return MA_QUIT;
    case CTL_NONE: return MA_NONE;
    default: return MA_OTHER;
    }
}

static void menu_send(struct menu_audio *a, struct live_cmd c)
{
    for (int i = 0; i < 100 && !live_send(&a->live, &c); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Says text as an overlay; the frames it lasts, or 0 if it cannot. */
static uint64_t menu_say(struct menu_audio *a, const char *text, uint8_t ack)
{
    uint32_t id;
    uint64_t len;
    if (!text || clipstore_intern(&a->cs, text, &id, &len) || clipstore_prepare(&a->cs, id) ||
        !len) {
        menu_send(a, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_REFUSED});
        return 0;
    }
    /* prepared PCM stays until clipstore_free: the engine may still read it */
    menu_send(a, (struct live_cmd){.kind = LIVE_OVERLAY, .pcm = a->cs.clips[id].pcm,
                                   .len_frames = len, .ack = ack});
    return len;
}

/* Waits until the last overlay (len frames, sent now) has been heard. */
static void menu_wait_said(struct menu_audio *a, uint64_t len)
{
    uint64_t ms = len * 1000 / a->rate;
    uint64_t start = coach_mono_ns(), earliest = start + ms * 800000u, end = start + (ms + 2000) * 1000000u;
    struct live_note n;
    for (uint64_t now = start; now < end; now = coach_mono_ns()) {
        /* an earlier overlay's note may still be on its way: too early to count */
        while (live_poll(&a->live, &n))
            if (n.kind == NOTE_OVERLAY_DONE && coach_mono_ns() >= earliest) end = 0;
        if (!end) break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    /* what the callback has made is still in the device's buffer */
    double lat = pa_sink_latency(a->sink);
    struct timespec ts = {(time_t)lat, (long)((lat - (double)(time_t)lat) * 1e9)};
    nanosleep(&ts, NULL);
}

static void menu_audio_close(struct menu_audio *a)
{
    if (a->sink) {
        menu_send(a, (struct live_cmd){.kind = LIVE_STOP, .ack = LIVE_NO_ACK});
        struct live_note n;
        for (int i = 0; i < 100; i++) { /* 500 ms at most */
            bool stopped = false;
            while (live_poll(&a->live, &n)) stopped |= n.kind == NOTE_STOPPED;
            if (stopped) break;
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        pa_sink_close(a->sink);
        a->sink = NULL;
    }
    if (a->have_live) live_free(&a->live);
    if (a->have_cs) clipstore_free(&a->cs);
    if (a->sp) speech_close(a->sp);
    a->have_live = a->have_cs = false;
    a->sp = NULL;
}

/* Carries out one action; reply is what `coach ctl` prints. Returns true
 * when the menu is over (start or quit). */
static bool menu_do(struct menu_audio *a, struct menu *m, const struct voice *v,
                    enum menu_action act, char **last, bool quiet, char *reply, size_t cap)
{
    char *text = NULL;
    uint8_t ack = LIVE_NO_ACK;
    switch (act) {
    case MA_NEXT:
    case MA_PREV:
        menu_move(m, act == MA_NEXT ? 1 : -1);
        text = menu_item_text(m, v);
        ack = ACK_SEEK;
        break;
    case MA_DETAILS: text = menu_details_text(m, v); break;
    case MA_REPEAT: text = *last ? coach_strdup(*last) : NULL; break;
    case MA_START:
        snprintf(reply, cap, "ok starting %s", m->items[m->cur].name);
        return true;
    case MA_QUIT:
        menu_send(a, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_PAUSE});
        snprintf(reply, cap, "ok stopped");
        return true;
    default:
        menu_send(a, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_REFUSED});
        snprintf(reply, cap, "error not in the menu (use next, back, where, repeat, toggle, stop)");
        return false;
    }
    if (!text || !menu_say(a, text, ack)) {
        snprintf(reply, cap, "error cannot speak now");
        free(text);
        return false;
    }
    snprintf(reply, cap, "ok %s: %s", m->items[m->cur].name, text);
    if (!quiet) {
        printf("%s\n", text);
        fflush(stdout);
    }
    free(*last);
    *last = text;
    return false;
}

/* Keys, the control socket and signals until a routine is chosen (*start)
 * or the menu is left; returns the exit status. */
static int menu_loop(struct menu_audio *a, struct menu *m, const struct voice *v, int ctl_fd,
                     bool quiet, bool *start)
{
    char *last = NULL, reply[1024];
    *start = false;
    {
        char *intro = voice_format(v, PH_MENU_INTRO, &(struct phrase_args){0});
        char *item = menu_item_text(m, v);
        last = intro && item ? coach_asprintf("%s %s", intro, item) : NULL;
        if (last && !menu_say(a, last, LIVE_NO_ACK)) fprintf(stderr, "coach: cannot speak the menu\n");
        if (last && !quiet) printf("%s\n", last), fflush(stdout);
        free(intro);
        free(item);
    }
    uint64_t last_epoch = 0, still_since = coach_mono_ns();
    int st = EXIT_OK;
    bool over = false;
    while (!over) {
        struct pollfd fds[3];
        int n = 0, i_key = -1, i_ctl = -1;
        fds[n++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
        if (tty_raw) i_key = n, fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        if (ctl_fd >= 0) i_ctl = n, fds[n++] = (struct pollfd){.fd = ctl_fd, .events = POLLIN};
        poll(fds, (nfds_t)n, 50);
        enum menu_action act = MA_NONE;
        if (fds[0].revents & POLLIN) {
            unsigned char sig[16];
            ssize_t got = read(signal_pipe[0], sig, sizeof sig);
            for (ssize_t i = 0; i < got && !over; i++) {
                if (sig[i] == SIGINT || sig[i] == SIGTERM) {
                    st = sig[i] == SIGINT ? EXIT_INTERRUPTED : EXIT_TERMINATED;
                    over = true;
                } else {
                    over = menu_do(a, m, v, sig[i] == SIGUSR1 ? MA_START : MA_NEXT, &last, quiet,
                                   reply, sizeof reply);
                    *start = over && sig[i] == SIGUSR1;
                }
            }
        }
        if (!over && i_key >= 0 && (fds[i_key].revents & POLLIN)) {
            char keys[16];
            ssize_t got = read(STDIN_FILENO, keys, sizeof keys);
            for (ssize_t i = 0; i < got && !over; i++) {
                act = menu_key((unsigned char)keys[i]);
                if (act != MA_NONE) over = menu_do(a, m, v, act, &last, quiet, reply, sizeof reply);
                *start = over && act == MA_START;
            }
        }
        if (!over && i_ctl >= 0 && (fds[i_ctl].revents & POLLIN)) {
            char line[256];
            int conn = ctlsock_accept(ctl_fd, line, sizeof line);
            if (conn >= 0) {
                act = menu_word(ctl_from_word(line));
                if (act == MA_NONE)
                    snprintf(reply, sizeof reply, "error unknown command '%.60s' (use next, back, "
                             "where, repeat, toggle, stop)", line);
                else
                    over = menu_do(a, m, v, act, &last, quiet, reply, sizeof reply);
                *start = over && act == MA_START;
                ctlsock_reply(conn, reply); /* before the routine starts: the client is waiting */
            }
        }
        struct live_note note;
        while (!over && live_poll(&a->live, &note)) {
        }
        uint64_t e = atomic_load(&a->live.epoch), now = coach_mono_ns();
        if (e != last_epoch) {
            last_epoch = e;
            still_since = now;
        }
        if (!over && (!pa_sink_active(a->sink) || now - still_since > 3000000000u)) {
            fprintf(stderr, "coach: the audio device stopped (unplugged, or the sound server "
                            "quit). Start again with 'coach menu'.\n");
            st = EXIT_LOST;
            over = true;
        }
    }
    free(last);
    return st;
}

/* The menu's voice: --voice, else the first routine's, with the
 * --speech-rate, --pitch and --speech-volume overrides. */
static int menu_voice(const struct opts *o, const struct menu *m, struct voice *v)
{
    const char *name = o->voice ? o->voice : m->n ? m->items[0].voice : "en-us";
    char *path = NULL;
    int rc = catalog_find(CATALOG_VOICES, name, &path);
    if (rc == COACH_ENOTFOUND) {
        fprintf(stderr, "coach: voice profile '%s' not found (try 'coach voices')\n", name);
        print_known(CATALOG_VOICES);
        return EXIT_NOTFOUND;
    }
    struct coach_diags d;
    diags_init(&d);
    if (!rc) rc = voice_load(path, v, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    free(path);
    if (rc) return rc == COACH_ENOTFOUND ? EXIT_NOTFOUND : EXIT_INVALID;
    if (o->speech_rate >= 0) v->rate_wpm = o->speech_rate;
    if (o->pitch >= 0) v->pitch = o->pitch;
    if (o->speech_volume >= 0) v->volume = o->speech_volume;
    return EXIT_OK;
}

static int menu_run(const struct opts *o)
{
    struct menu m = {0};
    struct voice v;
    bool have_voice = false;
    int level = -1, st;
    if (o->level) {
        enum level lv;
        level_parse(o->level, &lv);
        level = (int)lv;
    }
    /* with --voice, lengths are estimated in that voice; else in each routine's */
    if (o->voice) {
        if ((st = menu_voice(o, &m, &v))) return st;
        have_voice = true;
    }
    int rc = menu_load(&m, level, have_voice ? &v : NULL);
    if (rc) {
        fprintf(stderr, "coach: %s\n", coach_strerror(rc));
        if (have_voice) voice_free(&v);
        return EXIT_INVALID;
    }
    if (!have_voice && (st = menu_voice(o, &m, &v))) {
        menu_free(&m);
        return st;
    }
    if (m.skipped && !o->quiet)
        fprintf(stderr, "coach: %zu routine%s with errors left out (see 'coach list')\n", m.skipped,
                m.skipped == 1 ? "" : "s");
    if (!m.n) {
        fprintf(stderr, "coach: %s (see 'coach list')\n", v.phrases[PH_MENU_EMPTY]);
        voice_free(&v);
        menu_free(&m);
        return EXIT_NOTFOUND;
    }
    struct menu_audio a = {.rate = o->rate_hz};
    char err[512] = "";
    const char *name = m.items[0].name;
    int dev;
    if (pa_sink_init(o->device, err, sizeof err)) {
        fprintf(stderr, "coach: %s\n", err);
        voice_free(&v);
        menu_free(&m);
        return EXIT_NODEVICE;
    }
    if (pa_sink_pick(o->device, o->channels, &a.rate, &dev, err, sizeof err)) {
        fprintf(stderr,
                "coach: %s.\nTo listen anyway, export a routine ('coach list' shows them) and play "
                "the file elsewhere:\n  coach export %s -o %s.flac\n",
                err, name, name);
        pa_sink_terminate();
        voice_free(&v);
        menu_free(&m);
        return EXIT_NODEVICE;
    }
    struct speech_settings ss = {.espeak_voice = v.espeak_voice, .rate_wpm = v.rate_wpm,
                                 .pitch = v.pitch, .volume = v.volume};
    int sp_rc = speech_open(&a.sp, &ss);
    if (sp_rc || clipstore_init(&a.cs, a.sp, a.rate)) {
        char why[1024];
        speech_explain(sp_rc ? sp_rc : COACH_ENOMEM, v.espeak_voice, v.path, why, sizeof why);
        fprintf(stderr, "%s\n", why);
        menu_audio_close(&a);
        pa_sink_terminate();
        voice_free(&v);
        menu_free(&m);
        return EXIT_SPEECH;
    }
    a.have_cs = true;
    /* a day of silence, not final: the engine never ends on its own */
    a.tl = (struct timeline){.rate_hz = a.rate, .len_frames = (uint64_t)a.rate * 86400};
    rc = live_init(&a.live, &a.tl, false, a.slot, o->channels, 4096);
    if (!rc) {
        a.have_live = true;
        /* paused before the first callback: only overlays are heard */
        menu_send(&a, (struct live_cmd){.kind = LIVE_PAUSE, .ack = LIVE_NO_ACK});
        rc = pa_sink_open(&a.sink, dev, a.rate, o->channels, o->latency_ms, &a.live, err, sizeof err);
    }
    if (rc) {
        fprintf(stderr,
                "coach: %s.\nIs another program using the device? To listen anyway, export a "
                "routine:\n  coach export %s -o %s.flac\n",
                err[0] ? err : coach_strerror(rc), name, name);
        menu_audio_close(&a);
        pa_sink_terminate();
        voice_free(&v);
        menu_free(&m);
        return EXIT_NODEVICE;
    }
    /* keys even with --quiet: without them a terminal could not choose */
    char *sock;
    int ctl_fd = control_open(o, true, "n next, b previous, d details, r repeat, Enter start, "
                              "q quit", &sock);
    bool start;
    st = menu_loop(&a, &m, &v, ctl_fd, o->quiet, &start);
    char *chosen = NULL;
    if (start) {
        char *text = voice_format(&v, PH_MENU_START,
                                  &(struct phrase_args){.title = m.items[m.cur].title});
        uint64_t len = text ? menu_say(&a, text, ACK_RESUME) : 0;
        if (!o->quiet && text) printf("%s\n", text);
        menu_wait_said(&a, len);
        free(text);
        chosen = coach_strdup(m.items[m.cur].path);
    }
    /* the routine gets the device, the socket and the signals afresh */
    tty_restore();
    menu_audio_close(&a);
    pa_sink_terminate();
    if (ctl_fd >= 0) ctlsock_close(ctl_fd, sock);
    free(sock);
    for (int i = 0; i < 2; i++) {
        if (signal_pipe[i] >= 0) close(signal_pipe[i]);
        signal_pipe[i] = -1;
    }
    voice_free(&v);
    menu_free(&m);
    if (start && !chosen) {
        fputs("coach: out of memory\n", stderr);
        return EXIT_INVALID;
    }
    if (start) {
        launch_ns = coach_mono_ns(); /* "first sound" counts from the choice, not the menu */
        st = play_session(1, &chosen, o);
        free(chosen);
    }
    return st;
}

int cmd_menu(int argc, const struct opts *o)
{
    if (argc) return usage_error("%s", "menu takes no arguments: it offers every routine found");
    noise_filter_start();
    int st = menu_run(o);
    noise_filter_stop();
    return st;
}
