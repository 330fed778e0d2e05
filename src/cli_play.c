/* coach play, and the commands around it: devices, ctl, history. Here are
 * only the arguments and the printing: the session is the player's
 * (player.h), the inputs and the loop are cli_control.c's. What is printed
 * is for people: the step being heard as it changes, and at the end one
 * sentence ("Played Lower back relief: 18 min 9 s, 9 of 9 exercises.");
 * the engine's figures only with --verbose. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "coach/catalog.h"
#include "coach/common.h"
#include "coach/ctlsock.h"
#include "coach/history.h"
#include "coach/textsafe.h"
#include "coach/sink_portaudio.h"

/* The loop's view of a playing routine. */
struct playing {
    struct player *p;
    const char *title;  /* the routine's */
    const struct opts *o;
    long chapter_shown; /* last chapter printed */
    bool stall_shown;   /* "not responding" said, "responding again" not yet */
    bool waiting_shown; /* "Waiting: ..." printed for the wait that holds now */
    unsigned inputs;    /* what done can come from (enum voice_input) */
};

static int play_command(void *ctx, enum ctl_cmd c, char *reply, size_t cap)
{
    struct playing *pl = ctx;
    char buf[1024];
    player_command(pl->p, c, reply ? reply : buf, reply ? cap : sizeof buf);
    return LOOP_GO_ON; /* the tick sees a stop */
}

/* What a media player shows: the step as the track, the routine as the
 * album. */
static void play_media(void *ctx, struct mpris_state *ms)
{
    struct playing *pl = ctx;
    struct player_status st;
    player_status(pl->p, &st);
    ms->status = st.state != PLAYER_PLAYING ? MPRIS_STOPPED
                 : st.paused                ? MPRIS_PAUSED
                                            : MPRIS_PLAYING;
    ms->track = st.chapter;
    ms->title = st.chapter >= 0 ? st.chapter_title : pl->title;
    ms->album = pl->title;
    uint32_t hz = st.rate_hz ? st.rate_hz : 48000;
    if (st.chapter >= 0) {
        ms->length_us = (st.chapter_end_frame - st.chapter_frame) * 1000000u / hz;
        ms->position_us = st.pos > st.chapter_frame ? (st.pos - st.chapter_frame) * 1000000u / hz : 0;
    }
    ms->volume = player_volume(pl->p);
    ms->can_next = st.chapter + 1 < (long)st.n_chapters || st.self_paced; /* Next: done */
    ms->can_previous = st.chapter > 0;
}

/* Prints the step being heard when it changes: plain lines, no cursor
 * tricks (screen readers read them as they come). */
static void show_chapter(struct playing *pl)
{
    struct player_status st;
    player_status(pl->p, &st);
    if (st.waiting != pl->waiting_shown) { /* a self-paced part waits for its listener */
        pl->waiting_shown = st.waiting;
        if (st.waiting && !pl->o->quiet) { /* the ways this session has, as said aloud */
            unsigned in = pl->inputs;
            printf("Waiting: %s%s%s%s%s%s'coach ctl done'%s when you are done\n",
                   in & VOICE_IN_KEYS ? "Enter or d" : "",
                   in & VOICE_IN_KEYS && in & (VOICE_IN_LISTEN | VOICE_IN_BUTTON) ? ", " : "",
                   in & VOICE_IN_LISTEN ? "say 'coach done'" : "",
                   in & VOICE_IN_LISTEN && in & VOICE_IN_BUTTON ? ", " : "",
                   in & VOICE_IN_BUTTON ? "Next on a media key" : "", in ? " (or " : "",
                   in ? ")" : "");
            fflush(stdout);
        }
    }
    if (st.chapter < 0 || st.chapter == pl->chapter_shown) return;
    pl->chapter_shown = st.chapter;
    if (pl->o->quiet) return;
    char d[64];
    fmt_duration(d, sizeof d, st.chapter_frame, st.rate_hz);
    printf("%s (at %s)\n", st.chapter_title, d);
    fflush(stdout);
}

void cli_show_stall(const struct player_status *st, bool *shown)
{
    if (st->stalled == *shown) return;
    *shown = st->stalled;
    char at[64];
    fmt_duration(at, sizeof at, st->pos, st->rate_hz);
    if (st->stalled)
        fprintf(stderr,
                "coach: the sound server is not responding (no audio for %d s, at %s); waiting "
                "up to %d s for it to come back (q, Ctrl-C or 'coach ctl stop' ends the "
                "session)\n",
                PLAYER_STALL_MS / 1000, at, PLAYER_GIVE_UP_MS / 1000);
    else
        fprintf(stderr, "coach: the sound server is responding again; playing on from %s\n", at);
}

static int play_tick(void *ctx)
{
    struct playing *pl = ctx;
    enum player_state st = player_tick(pl->p);
    show_chapter(pl);
    struct player_status ps;
    player_status(pl->p, &ps);
    cli_show_stall(&ps, &pl->stall_shown);
    return st == PLAYER_PLAYING ? LOOP_GO_ON : EXIT_OK;
}

/* For the echo gate of spoken commands. */
static void play_output(void *ctx, bool *speaking, double *latency_s, bool *asking)
{
    struct playing *pl = ctx;
    struct player_status st;
    player_status(pl->p, &st);
    *speaking = st.speaking;
    *latency_s = st.latency_s;
    *asking = st.asking;
}

static void play_interrupt(void *ctx)
{
    struct playing *pl = ctx;
    player_interrupt(pl->p);
}

/* The last words: what was played, for people; the engine's figures with
 * --verbose (or when something went wrong with the sound). */
static void summary(const struct player_summary *s, const struct session *ss, const struct opts *o)
{
    char d[64];
    fmt_duration(d, sizeof d, s->heard_frames, s->rate_hz);
    if (!o->quiet) {
        /* exercises: the count list, check, plan and the menu give */
        printf("%s %s: %s, %u of %u exercise%s%s",
               s->state == PLAYER_ENDED ? "Played" : "Stopped", ss->routine.title, d,
               s->moves_done, s->moves_total, s->moves_total == 1 ? "" : "s",
               s->moves_skipped ? "," : ".");
        if (s->moves_skipped) printf(" %u skipped.", s->moves_skipped);
        if (s->pain_step >= 0) printf(" Stopped for pain at %s.", ss->routine.steps[s->pain_step].id);
        if (s->has_pain) printf(" Pain %u of 10.", s->pain);
        putchar('\n');
        fflush(stdout);
    }
    if (o->verbose || s->missed_clips || s->underruns)
        fprintf(stderr,
                "coach: first sound %.0f ms after launch (+%.0f ms device latency); missed clips: "
                "%llu, underruns: %llu, waited for the plan: %llu ms; speech kept: %.2f MB as FLAC "
                "(%.2f MB raw)\n",
                s->first_sound_ns ? (double)(s->first_sound_ns - launch_ns) / 1e6 : -1.0,
                s->latency_s * 1000.0, (unsigned long long)s->missed_clips,
                (unsigned long long)s->underruns,
                (unsigned long long)(s->stall_frames * 1000 / s->rate_hz),
                (double)ss->clips.flac_bytes / 1e6, (double)ss->clips.src_bytes / 1e6);
}

/* arg quoted for a shell if it needs it, into out */
static const char *shell_word(char *out, size_t cap, const char *arg)
{
    char safe[512];
    text_safe(safe, sizeof safe, arg);
    static const char plain[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/+-";
    if (!safe[strspn(safe, plain)])
        snprintf(out, cap, "%s", safe);
    else if (!strchr(safe, '\''))
        snprintf(out, cap, "'%s'", safe);
    else
        snprintf(out, cap, "\"%s\"", safe);
    return out;
}

/* A routine of a sequence as the command line can name it: its name if
 * that finds its file, else the file. */
static const char *part_arg(const struct session *s, size_t k)
{
    char *found = NULL;
    bool same = catalog_find(CATALOG_ROUTINES, s->part_names[k], &found) == 0 &&
                strcmp(found, s->part_paths[k]) == 0;
    free(found);
    return same ? s->part_names[k] : s->part_paths[k];
}

/* The command that continues this session where it stopped: --resume if
 * the history has the step, else --from with its id ("coach play NAME"
 * alone if it stopped before its first step). The routine as it was named
 * (a path stays a path), quoted for a shell if it needs it. A sequence:
 * the routine it stopped in so, then the ones after it ("coach play
 * core-strength --resume && coach play cool-down"). */
static void continue_command(char *buf, size_t cap, const char *routine, const struct session *s,
                             const struct player_summary *sum, bool recorded)
{
    char quoted[600];
    bool seq = s->n_parts && sum->stop_part >= 0 && (size_t)sum->stop_part < s->n_parts;
    if (seq) routine = part_arg(s, (size_t)sum->stop_part);
    shell_word(quoted, sizeof quoted, routine);
    const char *id = sum->stop_step >= 0 ? s->routine.steps[sum->stop_step].id : NULL;
    if (id && recorded)
        snprintf(buf, cap, "coach play %s --resume", quoted);
    else if (id)
        snprintf(buf, cap, "coach play %s --from %s", quoted, id);
    else
        snprintf(buf, cap, "coach play %s", quoted);
    for (size_t k = seq ? (size_t)sum->stop_part + 1 : s->n_parts; k < s->n_parts; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s %s", k == (size_t)sum->stop_part + 1 ? " && coach play" : "",
                 shell_word(quoted, sizeof quoted, part_arg(s, k)));
    }
}

int play_routine(int n, char **routines, const struct opts *o, struct control *c, float volume)
{
    struct session s;
    const char *routine = routines[0];
    struct session_opts so = cli_session_opts_many(o, n, routines, CLIPS_AUDIO);
    /* espeak-ng starts while the sound system does (player_open waits) */
    so.speech_async = true;
    int st = cli_session_open_with(&s, &so, o);
    if (st) {
        session_free(&s);
        return st;
    }
    /* --listen: refused (a voice it cannot serve, no microphone) before
     * anything plays */
    char language[64];
    voice_language(&s.voice, language, sizeof language);
    st = control_listen(c, o, s.voice.name, language);
    if (st) {
        session_free(&s);
        return st;
    }
    /* what a self-paced part says to answer it with: what this session takes */
    s.inputs = (c->listen ? VOICE_IN_LISTEN : 0) | (c->want_keys ? VOICE_IN_KEYS : 0) |
               (c->mpris ? VOICE_IN_BUTTON : 0);
    struct player_opts po = cli_player_opts(o);
    listen_tap(c->listen, &po); /* the echo canceller's reference */
    char *hpath = history_default_path();
    po.history_path = hpath;
    po.volume = volume;
    po.loudness = (enum loudness_mode)o->loudness;
    struct player *p;
    char err[1024] = "";
    enum player_fail f = player_open(&p, &s, &po, err, sizeof err);
    if (!f) control_tell(c); /* after the refusals: a session refused says that alone */
    if (f) {
        /* Ctrl-C or SIGTERM while the first words were made stopped them */
        st = interrupted ? EXIT_INTERRUPTED : cli_player_failed(f, err, s.name);
        free(hpath);
        session_free(&s);
        return st;
    }
    struct playing pl = {.p = p, .o = o, .chapter_shown = -1, .title = s.routine.title,
                         .inputs = s.inputs};
    const struct loop_ops ops = {.command = play_command, .tick = play_tick, .media = play_media,
                                 .output = play_output, .interrupt = play_interrupt, .key = ctl_from_key,
                                 .fd = player_fd(p)};
    st = control_loop(c, &ops, &pl);
    struct player_status ps;
    player_status(p, &ps);
    char why[1024];
    snprintf(why, sizeof why, "%s", ps.state == PLAYER_FAILED ? player_error(p) : "");
    struct player_summary sum;
    player_close(p, &sum);
    char again[2048];
    continue_command(again, sizeof again, routine, &s, &sum, hpath && !sum.history_failed);
    /* "coach export NAME -o NAME.flac"; a sequence: all its routines */
    char what[1600] = "", out_name[700] = "";
    if (s.n_parts) {
        char w[600];
        for (size_t k = 0; k < s.n_parts; k++) {
            size_t used = strlen(what), on = strlen(out_name);
            snprintf(what + used, sizeof what - used, "%s%s", k ? " " : "",
                     shell_word(w, sizeof w, part_arg(&s, k)));
            snprintf(out_name + on, sizeof out_name - on, "%s%s", k ? "+" : "",
                     text_safe(w, sizeof w, s.part_names[k]));
        }
    } else {
        snprintf(what, sizeof what, "%s", s.name);
        snprintf(out_name, sizeof out_name, "%s", s.name);
    }
    if (sum.state == PLAYER_LOST) {
        char at[64];
        fmt_duration(at, sizeof at, sum.pos, sum.rate_hz);
        fprintf(stderr,
                "coach: the audio device stopped (unplugged, or the sound server quit) at %s.\n"
                "Continue where it stopped with: %s\n"
                "or export the routine: coach export %s -o %s.flac\n",
                at, again, what, out_name);
        st = EXIT_LOST;
    } else if (sum.state == PLAYER_STALLED) {
        char at[64];
        fmt_duration(at, sizeof at, sum.pos, sum.rate_hz);
        fprintf(stderr,
                "coach: the sound server stopped responding at %s and did not come back within "
                "%d s (is it stopped or stuck? restart it: PulseAudio or PipeWire).\n"
                "Continue where it stopped with: %s\n"
                "or export the routine: coach export %s -o %s.flac\n",
                at, PLAYER_GIVE_UP_MS / 1000, again, what, out_name);
        st = EXIT_LOST;
    } else if ((sum.state == PLAYER_STOPPED || sum.state == PLAYER_INTERRUPTED) &&
               (sum.stop_step >= 0 || sum.stop_part > 0) && !o->quiet) {
        fprintf(stderr, "coach: to continue where it stopped: %s\n", again);
    }
    if (sum.state == PLAYER_FAILED) {
        fprintf(stderr, "%s\n", why);
        st = EXIT_SPEECH;
    }
    const char *unsafe = sum.history_failed ? history_refused() : NULL;
    if (unsafe)
        fprintf(stderr,
                "coach: warning: cannot record this session in the history%s%s: %s, so it is "
                "not trusted (the session itself was not affected; to keep a history, set "
                "COACH_HISTORY_FILE to a file in a directory only you can write to)\n",
                hpath ? " " : "", hpath ? hpath : "", unsafe);
    else if (sum.history_failed)
        fprintf(stderr,
                "coach: warning: cannot record this session in the history%s%s: %s (the session "
                "itself was not affected; to keep a history, make it writable or set "
                "COACH_HISTORY_FILE to a file you can write)\n",
                hpath ? " " : "", hpath ? hpath : "", strerror(sum.history_errno));
    summary(&sum, &s, o);
    free(hpath);
    session_free(&s);
    return st;
}

int cmd_play(int argc, char **argv, const struct opts *o)
{
    if (argc < 1) return usage_error("%s", "play needs a routine (or several, played as one session)");
    struct control c;
    int st = control_open(&c, o, !o->quiet,
                          "space pause, n or Right next, b or Left back (twice: previous), "
                          "p previous, r repeat, w where, + - or Up Down volume, h it hurts, q quit");
    if (!st) {
        noise_filter_start();
        struct opts with_preroll = *o; /* on for a Bluetooth output unless given */
        with_preroll.preroll_ms = cli_preroll_ms(o);
        st = play_routine(argc, argv, &with_preroll, &c, 0.0f);
        noise_filter_stop();
    }
    control_close(&c);
    return st;
}

int cmd_devices(int argc)
{
    if (argc) return usage_error("%s", "devices takes no arguments");
    char err[512] = "";
    noise_filter_start();
    int n = sink_portaudio_list(stdout, err, sizeof err);
    if (n == COACH_ETIMEDOUT) cli_player_failed(PLAYER_HUNG, err, NULL); /* does not return */
    noise_filter_stop();
    if (n < 0) {
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
    /* "pain 3" may come as one argument or two */
    char word[64];
    if (argc == 2 && strcmp(argv[0], "pain") == 0 && strlen(argv[1]) < 8)
        snprintf(word, sizeof word, "pain %s", argv[1]);
    else if (argc == 1 && strlen(argv[0]) < sizeof word)
        snprintf(word, sizeof word, "%s", argv[0]);
    else if (argc == 1)
        return usage_error("%s", "unknown ctl word (too long)");
    else
        return usage_error("ctl needs one word: %s", ctl_words_help());
    if (ctl_from_word(word) == CTL_NONE)
        return usage_error("unknown ctl word '%s'", word);
    char *sock = NULL;
    if (o->socket) {
        sock = coach_strdup(o->socket);
    } else {
        char why[512] = "";
        if (ctlsock_default_path(&sock, why, sizeof why) != 0) {
            fprintf(stderr, "coach: no usable control socket: %s%s\n", why,
                    errno == EPERM ? ". Remove it if nothing of yours uses it, set "
                                     "XDG_RUNTIME_DIR to a private directory, or give --socket PATH"
                                   : "");
            return EXIT_NOTFOUND;
        }
    }
    if (!sock) {
        fprintf(stderr, "coach: %s\n", strerror(ENOMEM));
        return EXIT_NOTFOUND;
    }
    char reply[1024];
    int rc = ctlsock_send(sock, word, reply, sizeof reply);
    if (rc == COACH_ENOTFOUND) {
        fprintf(stderr, "coach: no coach is playing (no control socket at %s)\n", sock);
        free(sock);
        return EXIT_NOTFOUND;
    }
    free(sock);
    if (rc && errno == EPERM) { /* not our coach: told nothing, trusted for nothing */
        fprintf(stderr, "coach: not talking to it: %s\n", reply);
        return EXIT_NOTFOUND;
    }
    if (rc) {
        fprintf(stderr, "coach: the playing coach did not answer: %s\n", strerror(errno));
        return EXIT_OUTPUT;
    }
    bool ok = strncmp(reply, "ok", 2) == 0;
    fprintf(ok ? stdout : stderr, "%s\n", reply);
    return ok ? EXIT_OK : EXIT_INVALID;
}

/* --json: the whole array is made in memory and printed only if the
 * history could be read, so a failure never leaves half a document. */
static int history_json(const char *path, struct history_damage *dmg)
{
    char *doc = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&doc, &len);
    if (!m) return COACH_ENOMEM;
    int rc = history_print_json(path, m, dmg);
    int e = errno;
    if (fclose(m) != 0 && (!rc || rc == COACH_ENOTFOUND)) {
        free(doc);
        errno = ENOMEM;
        return COACH_ENOMEM;
    }
    if ((!rc || rc == COACH_ENOTFOUND) && fwrite(doc, 1, len, stdout) != len) {
        e = errno;
        rc = COACH_EIO;
    }
    free(doc);
    errno = e;
    return rc;
}

int cmd_history(int argc, const struct opts *o)
{
    if (argc) return usage_error("%s", "history takes no arguments");
    char *path = history_default_path();
    /* the history is a file anyone may have edited (or an older coach
     * written): its text goes to the terminal with control and
     * bidirectional characters replaced (escaped, in JSON) */
    struct history_damage dmg = {0};
    FILE *safe = path && !o->json ? text_safe_stream(stdout) : NULL;
    int rc = !path ? COACH_ENOMEM
             : o->json ? history_json(path, &dmg)
             : safe    ? history_print(path, safe, &dmg)
                       : COACH_ENOMEM;
    int e = errno;
    const char *unsafe = rc == COACH_EIO ? history_refused() : NULL;
    if (safe && fclose(safe) != 0 && !rc) {
        e = errno;
        rc = COACH_EIO;
    }
    if (fflush(stdout) != 0 && !rc) {
        e = errno;
        rc = COACH_EIO;
    }
    if (dmg.lines) { /* once, at the first damaged line; the records were printed */
        char text[256];
        history_damage_text(&dmg, text, sizeof text);
        fprintf(stderr, "%s:%lu: warning: %s\n", path, dmg.first_line, text);
    }
    if (rc == COACH_ENOTFOUND) {
        if (!o->json) printf("No sessions yet.\n"); /* JSON: the empty list says it */
    } else if (rc == COACH_ENOMEM)
        fputs("coach: out of memory\n", stderr);
    else if (rc && ferror(stdout))
        fprintf(stderr, "coach: cannot write the history listing: %s\n", strerror(e));
    else if (unsafe)
        fprintf(stderr,
                "coach: cannot read the history %s: %s, so it is not trusted (set "
                "COACH_HISTORY_FILE to a file in a directory only you can write to)\n",
                path, unsafe);
    else if (rc)
        fprintf(stderr,
                "coach: cannot read the history %s: %s (check its permissions, or set "
                "COACH_HISTORY_FILE to another file)\n",
                path ? path : "", strerror(e));
    free(path);
    return rc && rc != COACH_ENOTFOUND ? EXIT_OUTPUT : EXIT_OK;
}
