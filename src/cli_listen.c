/* Spoken commands (`--listen`): the microphone (mic_portaudio.h) read on an
 * ordinary thread of the listener's own, its audio fed to the keyword
 * spotter (spotter.h); what is heard goes to the control loop through a
 * self-pipe (the descriptor joins its poll, like the control socket and
 * the session bus), stamped with when its audio ended. The loop drops a
 * phrase whose audio overlaps the coach's own audible speech (echo.h:
 * the gate, fed every turn with what the player renders) and carries out
 * the others exactly as the key for the command. The coach's own sound
 * is taken out of the microphone first (aec.h), its reference the
 * player's output tapped on its way to the device (sink_tap.h: the
 * callback only copies into a ring); once the canceller has found the
 * coach in the microphone and settled (AEC_SETTLE_MS), the gate opens for
 * phrases said from then on: commands are heard over its speech too. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "coach/aec.h"
#include "coach/catalog.h"
#include "coach/common.h"
#include "coach/echo.h"
#include "coach/mic_portaudio.h"
#include "coach/player.h"
#include "coach/sink_tap.h"
#include "coach/spotter.h"

#define LISTEN_JOIN_MS 1500 /* a read stuck in a hung sound server is left behind after this */

/* What the thread tells the loop: one write each (under PIPE_BUF: whole). */
struct heard {
    int32_t cmd;        /* enum ctl_cmd; CTL_NONE: the microphone stopped (why: phrase) */
    uint64_t end_ns;    /* CLOCK_MONOTONIC: when its audio ended */
    int32_t kept_db;    /* how much of its sound the echo canceller let through (0: all) */
    bool judged;        /* the canceller had settled before it (aec_settled_at): kept_db tells */
    char phrase[160];   /* "coach pause", or why the microphone stopped */
};

struct listen {
    struct spotter *sp;          /* the thread's once started */
    struct mic *mic;             /* the thread's once started */
    int pipe[2];                 /* thread -> loop, both ends non-blocking */
    pthread_t thread;
    atomic_bool stop;            /* loop writes, thread reads */
    atomic_bool done;            /* thread writes when it returns */
    atomic_bool answers;         /* loop writes: a question waits (the spotter listens for answers) */
    struct echo_gate gate;       /* loop only */
    bool gated;                  /* drop phrases over the coach's speech (no --echo-cancelled) */
    struct aec *aec;             /* the thread's; NULL: --no-echo-cancel or --echo-cancelled */
    struct sink_tap tap;         /* with aec: the callback pushes, the thread takes */
    atomic_bool aec_locked;      /* thread writes: the canceller found the coach (told with -v) */
    atomic_int aec_delay_ms;     /* ... this much later than the clocks say */
    bool told_locked;            /* loop only */
    bool verbose;
    uint64_t armed_ns;           /* phrases ending before this are stale */
    bool told_stopped;
};

/* ---- the thread ---- */

static void tell(struct listen *l, const struct heard *h)
{
    /* a full pipe (the loop is not reading): this phrase is dropped */
    (void)!write(l->pipe[1], h, sizeof *h);
}

/* The coach's output played since the last read, into the canceller. */
static int take_reference(struct listen *l)
{
    float ref[2048];
    size_t n;
    uint64_t play_ns;
    bool restarted;
    do {
        int rc = sink_tap_take(&l->tap, ref, sizeof ref / sizeof *ref, &n, &play_ns, &restarted);
        if (rc) return rc;
        if (restarted) aec_restart(l->aec);
        if (n) aec_ref(l->aec, ref, n, play_ns);
    } while (n);
    return 0;
}

static void *run(void *arg)
{
    struct listen *l = arg;
    int16_t pcm[MIC_RATE_HZ * MIC_READ_MS / 1000 + 64], clean[sizeof pcm / sizeof *pcm],
        linear[sizeof pcm / sizeof *pcm]; /* clean before the canceller's suppression */
    uint64_t fed = 0; /* samples given to the spotter */
    /* the canceller's output is AEC_FRAME samples late */
    uint64_t late = l->aec ? AEC_FRAME : 0;
    char err[160] = "";
    while (!atomic_load(&l->stop)) {
        size_t n;
        uint64_t end_ns;
        if (mic_read(l->mic, pcm, sizeof pcm / sizeof *pcm, &n, &end_ns, err, sizeof err)) break;
        const int16_t *heard = pcm;
        if (l->aec) {
            if (take_reference(l)) {
                snprintf(err, sizeof err, "out of memory");
                break;
            }
            aec_mic(l->aec, pcm, n, end_ns, clean, linear);
            heard = clean;
            struct aec_state st;
            aec_state(l->aec, &st);
            atomic_store(&l->aec_delay_ms, (int)st.delay_ms);
            atomic_store(&l->aec_locked, st.locked);
        }
        fed += n;
        int rc = spotter_answers(l->sp, atomic_load(&l->answers)); /* a no-op when unchanged */
        struct spotter_hit hit;
        if (!rc) rc = spotter_feed_both(l->sp, heard, l->aec ? linear : NULL, n, &hit);
        while (rc == 1) {
            /* the hit ended (fed - end_sample) samples before the last one read */
            /* (through the canceller, AEC_FRAME samples more: output j is input j - late) */
            uint64_t ago = fed > hit.end_sample ? (fed - hit.end_sample + late) * 1000000000ull / MIC_RATE_HZ : 0;
            struct heard h = {.cmd = (int32_t)hit.cmd, .end_ns = end_ns > ago ? end_ns - ago : 0};
            if (l->aec) { /* the phrase's input: the ECHO_PHRASE_MS before its end */
                uint64_t to = hit.end_sample > late ? hit.end_sample - late : 0;
                uint64_t span = (uint64_t)ECHO_PHRASE_MS * MIC_RATE_HZ / 1000;
                uint64_t from = to > span ? to - span : 0;
                h.kept_db = (int32_t)lrint(aec_kept_db(l->aec, from, to));
                h.judged = aec_settled_at(l->aec, from);
            }
            snprintf(h.phrase, sizeof h.phrase, "%s", hit.phrase);
            tell(l, &h);
            rc = spotter_feed(l->sp, pcm, 0, &hit); /* more in the same samples */
        }
        char quiet[64];
        double quiet_dbfs;
        if (l->verbose && spotter_refused_quiet(l->sp, quiet, sizeof quiet, &quiet_dbfs))
            fprintf(stderr, "coach: ignored \"%s\": too quiet (%.0f dBFS, under the listen file's floor); "
                            "if you said it, turn the microphone up\n", quiet, quiet_dbfs);
        if (rc < 0) {
            snprintf(err, sizeof err, "the recognizer failed (%s)", coach_strerror(rc));
            break;
        }
    }
    if (!atomic_load(&l->stop)) {
        struct heard h = {.cmd = CTL_NONE};
        snprintf(h.phrase, sizeof h.phrase, "%s", err);
        tell(l, &h);
    }
    atomic_store(&l->done, true);
    return NULL;
}

/* ---- opening ---- */

/* The listen file for the voice's language, in the voices directories'
 * listen/: 0, or COACH_ENOTFOUND. */
static int find_listen_file(const char *language, char *out, size_t cap)
{
    char **dirs;
    size_t n;
    if (catalog_dirs(CATALOG_VOICES, &dirs, &n)) return COACH_ENOMEM;
    int rc = COACH_ENOTFOUND;
    for (size_t i = 0; i < n && rc; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/listen", dirs[i]);
        rc = spotter_find(dir, language, out, cap);
    }
    catalog_strv_free(dirs, n);
    return rc;
}

int listen_check_language(const char *voice_name, const char *language, bool tell)
{
    char path[4096];
    int rc = find_listen_file(language, path, sizeof path);
    if (rc == COACH_ENOMEM) {
        fputs("coach: out of memory\n", stderr);
        return EXIT_INVALID;
    }
    if (rc && !tell) return EXIT_USAGE;
    if (rc) {
        fprintf(stderr,
                "coach: spoken commands are English only (pocketsphinx has only an English model "
                "in Debian): --listen cannot serve the voice %s (language %s). Use an English "
                "voice (--voice en-us) or play without --listen.\n",
                voice_name, language);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static void free_aec(struct listen *l)
{
    if (!l->aec) return;
    aec_close(l->aec);
    sink_tap_free(&l->tap);
}

int listen_open(struct listen **out, const struct opts *o, const char *voice_name,
                const char *language)
{
    *out = NULL;
    char path[4096], err[1024] = "";
    int st = listen_check_language(voice_name, language, true);
    if (st) return st;
    find_listen_file(language, path, sizeof path);
    struct listen *l = calloc(1, sizeof *l);
    if (!l) {
        fputs("coach: out of memory\n", stderr);
        return EXIT_INVALID;
    }
    l->pipe[0] = l->pipe[1] = -1;
    l->gated = !o->echo_cancelled;
    l->verbose = o->verbose;
    echo_gate_init(&l->gate);
    if (!o->echo_cancelled && !o->no_echo_cancel) {
        if (aec_open(&l->aec) || sink_tap_init(&l->tap)) {
            fputs("coach: out of memory\n", stderr);
            aec_close(l->aec);
            sink_tap_free(&l->tap);
            free(l);
            return EXIT_INVALID;
        }
    }
    int rc = spotter_open(&l->sp, path, l->aec ? SPOTTER_CANCELLED : 0, err, sizeof err);
    if (rc) {
        fprintf(stderr, "coach: cannot listen: %s\n", err);
        free_aec(l);
        free(l);
        return rc == COACH_ENOTFOUND ? EXIT_NOTFOUND : EXIT_INVALID;
    }
    rc = mic_open(&l->mic, o->mic, err, sizeof err);
    if (rc) {
        if (rc == COACH_ETIMEDOUT) cli_player_failed(PLAYER_HUNG, err, NULL); /* does not return */
        fprintf(stderr,
                "coach: cannot listen: %s. Connect a microphone%s (see 'coach devices'), or play "
                "without --listen.\n",
                err, o->mic ? " or name another with --mic" : ", or name one with --mic");
        spotter_close(l->sp);
        free_aec(l);
        free(l);
        return EXIT_NODEVICE;
    }
    if (pipe(l->pipe) == 0) {
        for (int i = 0; i < 2; i++) {
            fcntl(l->pipe[i], F_SETFL, O_NONBLOCK);
            fcntl(l->pipe[i], F_SETFD, FD_CLOEXEC);
        }
        if (pthread_create(&l->thread, NULL, run, l) == 0) {
            if (!o->quiet)
                fprintf(stderr, "Listening on %s: say \"coach pause\", \"coach continue\", "
                                "\"coach next\"...%s\n",
                        mic_name(l->mic),
                        !l->gated ? ""
                        : l->aec  ? " (the coach's own sound cancelled)"
                                  : " (in the coach's pauses)");
            *out = l;
            return EXIT_OK;
        }
    }
    fprintf(stderr, "coach: cannot listen: %s\n", strerror(errno));
    if (l->pipe[0] >= 0) close(l->pipe[0]), close(l->pipe[1]);
    mic_close(l->mic);
    spotter_close(l->sp);
    free_aec(l);
    free(l);
    return EXIT_NODEVICE;
}

void listen_close(struct listen *l)
{
    if (!l) return;
    atomic_store(&l->stop, true);
    /* a read returns within MIC_READ_MS; a hung sound server holds it */
    for (int ms = 0; ms < LISTEN_JOIN_MS && !atomic_load(&l->done); ms += 10)
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    if (!atomic_load(&l->done)) { /* left inside PortAudio: the process is ending */
        pthread_detach(l->thread);
        return;
    }
    pthread_join(l->thread, NULL);
    if (l->aec && l->verbose) {
        struct aec_state st;
        aec_state(l->aec, &st);
        if (st.locked)
            fprintf(stderr, "coach: echo canceller: the coach %.1f dB softer in the microphone, "
                            "its sound %.0f ms off the devices' word (moved %u times), %llu ms "
                            "of it missed\n",
                    st.erle_db, st.delay_ms, st.moves, (unsigned long long)st.ref_missing / 16);
        else
            fprintf(stderr, "coach: echo canceller: the coach's sound never found in the microphone "
                            "(%u searches, best match %.2f)\n", st.searches, st.score);
    }
    mic_close(l->mic);
    spotter_close(l->sp);
    free_aec(l); /* the player, and its tapped sink, closed before */
    close(l->pipe[0]);
    close(l->pipe[1]);
    free(l);
}

/* ---- the loop's side ---- */

int listen_fd(const struct listen *l) { return l ? l->pipe[0] : -1; }

void listen_tap(struct listen *l, struct player_opts *po)
{
    if (l && l->aec) po->sink = sink_tap_wrap(&l->tap, po->sink);
}

void listen_arm(struct listen *l, uint64_t now_ns)
{
    if (l) l->armed_ns = now_ns;
}

void listen_turn(struct listen *l, uint64_t now_ns, bool speaking, double latency_s, bool asking)
{
    if (!l) return;
    atomic_store(&l->answers, asking);
    echo_gate_turn(&l->gate, now_ns, speaking, latency_s);
    if (!l->told_locked && atomic_load(&l->aec_locked)) {
        l->told_locked = true;
        if (l->verbose)
            fprintf(stderr, "coach: the coach's own sound found in the microphone (%d ms later than "
                            "the devices say): cancelled, commands heard over its speech too\n",
                    atomic_load(&l->aec_delay_ms));
    }
}

enum ctl_cmd listen_take(struct listen *l)
{
    struct heard h;
    while (l && read(l->pipe[0], &h, sizeof h) == (ssize_t)sizeof h) {
        if (h.cmd == CTL_NONE) {
            if (!l->told_stopped)
                fprintf(stderr, "coach: %s; spoken commands are off, keys and 'coach ctl' still "
                                "work\n", h.phrase);
            l->told_stopped = true;
            continue;
        }
        if (h.end_ns < l->armed_ns) {
            if (l->verbose)
                fprintf(stderr, "coach: ignored \"%s\": heard before it could be carried out\n",
                        h.phrase);
            continue;
        }
        if (h.kept_db < AEC_RESIDUAL_DB) {
            if (l->verbose)
                fprintf(stderr, "coach: ignored \"%s\": what the echo canceller left of the coach's own "
                                "voice (%d dB)\n", h.phrase, (int)h.kept_db);
            continue;
        }
        /* until the canceller has settled, the gate judges (it opens for
         * phrases that start once the canceller has) */
        if (l->gated && !h.judged && echo_gate_is_echo(&l->gate, h.end_ns)) {
            if (l->verbose)
                fprintf(stderr, "coach: ignored \"%s\": the coach was speaking (its own voice?)\n",
                        h.phrase);
            continue;
        }
        if (l->verbose) fprintf(stderr, "coach: heard \"%s\"\n", h.phrase);
        return (enum ctl_cmd)h.cmd;
    }
    return CTL_NONE;
}
