/* coach menu: the arguments and the printing. The menu itself (the routines,
 * their sentences, what each command does) is menu.c's, its voice a player
 * without a routine (player.h), its inputs and loop cli_control.c's, shared
 * with coach play; the chosen routine then plays as `coach play` plays it,
 * on the same control socket, at the volume the menu had. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "coach/common.h"
#include "coach/history.h"
#include "coach/live.h"
#include "coach/menu.h"

/* The loop's view of the menu. */
struct choosing {
    struct menu *m;
    struct player *p;
    const struct voice *v;
    const struct opts *o;
    enum menu_verdict verdict;
    bool stall_shown; /* "not responding" said, "responding again" not yet */
};

static void show(const struct choosing *ch, const char *text)
{
    if (ch->o->quiet || !text) return;
    printf("%s\n", text);
    fflush(stdout);
}

static int menu_cmd(void *ctx, enum ctl_cmd c, char *reply, size_t cap)
{
    struct choosing *ch = ctx;
    bool said;
    ch->verdict = menu_command(ch->m, ch->p, ch->v, c, &said, reply, cap);
    if (said) show(ch, ch->m->last);
    return ch->verdict == MENU_STAY ? LOOP_GO_ON : EXIT_OK;
}

/* What a media player shows in the menu: the routine offered as the
 * track, stopped (Play starts it, Next and Previous move). */
static void menu_media(void *ctx, struct mpris_state *ms)
{
    struct choosing *ch = ctx;
    struct player_status st;
    player_status(ch->p, &st);
    ms->status = st.paused ? MPRIS_PAUSED : MPRIS_STOPPED;
    ms->track = (long)ch->m->cur;
    ms->title = ch->m->n ? ch->m->items[ch->m->cur].title : NULL;
    ms->album = "coach menu";
    ms->volume = player_volume(ch->p);
    ms->can_next = ms->can_previous = ch->m->n > 1;
}

static int menu_tick(void *ctx)
{
    struct choosing *ch = ctx;
    enum player_state st = player_tick(ch->p);
    struct player_status ps;
    player_status(ch->p, &ps);
    cli_show_stall(&ps, &ch->stall_shown);
    if (st == PLAYER_STALLED)
        fprintf(stderr, "coach: the sound server stopped responding and did not come back within "
                        "%d s (is it stopped or stuck? restart it). Start again with 'coach "
                        "menu'.\n",
                PLAYER_GIVE_UP_MS / 1000);
    else if (st == PLAYER_LOST)
        fprintf(stderr, "coach: the audio device stopped (unplugged, or the sound server quit). "
                        "Start again with 'coach menu'.\n");
    else
        return LOOP_GO_ON;
    return EXIT_LOST;
}

static void menu_interrupt(void *ctx) { (void)ctx; }

/* For the echo gate of spoken commands: the menu's sentences. */
static void menu_output(void *ctx, bool *speaking, double *latency_s, bool *asking)
{
    struct choosing *ch = ctx;
    struct player_status st;
    player_status(ch->p, &st);
    *speaking = st.speaking;
    *latency_s = st.latency_s;
    *asking = st.asking;
}

/* The menu's voice: --voice, else the first routine's, else en-us. */
static int open_voice(struct session *s, const struct menu *m, const struct opts *o)
{
    struct session_opts so = cli_session_opts(o, NULL, CLIPS_AUDIO);
    so.voice = o->voice ? o->voice : m->n ? m->items[0].voice : "en-us";
    return cli_session_open_with(s, &so, o);
}

/* Offers the routines until one is chosen (*chosen, heap) or the menu is
 * left; the exit status. */
static int choose(struct menu *m, struct control *c, const struct opts *o, char **chosen,
                  float *volume)
{
    struct session s;
    int st = open_voice(&s, m, o);
    if (st) {
        session_free(&s);
        return st;
    }
    /* --listen: refused (a voice it cannot serve, no microphone) before a word is said */
    char language[64];
    voice_language(&s.voice, language, sizeof language);
    st = control_listen(c, o, s.voice.name, language);
    if (st) {
        session_free(&s);
        return st;
    }
    control_tell(c);
    struct player_opts po = cli_player_opts(o);
    listen_tap(c->listen, &po); /* the echo canceller's reference */
    struct player *p;
    char err[1024] = "";
    enum player_fail f = player_open(&p, &s, &po, err, sizeof err);
    char *empty = m->n ? NULL : voice_format(&s.voice, PH_MENU_EMPTY, NULL);
    if (empty) /* said too (below): the person may not see this screen */
        fprintf(stderr, "coach: %s (see 'coach list')\n", empty);
    if (f) {
        st = empty ? EXIT_NOTFOUND : cli_player_failed(f, err, NULL);
        free(empty);
        session_free(&s);
        return st;
    }
    struct choosing ch = {.m = m, .p = p, .v = &s.voice, .o = o};
    if (!m->n) {
        if (empty && !player_say(p, empty, LIVE_NO_ACK)) player_wait_said(p, 10000);
        st = EXIT_NOTFOUND;
    } else {
        if (menu_say(m, p, menu_intro_text(m, &s.voice, c->keys), LIVE_NO_ACK))
            fprintf(stderr, "coach: cannot speak the menu\n");
        show(&ch, m->last);
        const struct loop_ops ops = {.command = menu_cmd, .tick = menu_tick, .media = menu_media,
                                     .output = menu_output, .interrupt = menu_interrupt, .key = menu_key,
                                     .fd = player_fd(p)};
        st = control_loop(c, &ops, &ch);
    }
    if (!st && ch.verdict == MENU_START) {
        const struct menu_item *it = &m->items[m->cur];
        char *text = voice_format(&s.voice, PH_MENU_START, &(struct phrase_args){.title = it->title});
        if (text && !player_say(p, text, ACK_RESUME)) {
            show(&ch, text);
            player_wait_said(p, 10000);
        }
        free(text);
        if (!(*chosen = coach_strdup(it->path))) st = EXIT_INVALID;
    }
    *volume = player_volume(p);
    player_close(p, NULL);
    free(empty);
    session_free(&s);
    return st;
}

int cmd_menu(int argc, const struct opts *o)
{
    if (argc) return usage_error("%s", "menu takes no arguments: it offers every routine found");
    struct control c;
    /* keys even with --quiet: without them a terminal could not choose */
    int st = control_open(&c, o, true,
                          "n or Right next, b or Left previous, d details, r repeat, Enter start, "
                          "+ - volume, q quit");
    if (st) return st;
    int level = -1;
    if (o->level) {
        enum level lv;
        level_parse(o->level, &lv);
        level = (int)lv;
    }
    struct menu m;
    int rc = menu_load_checked(&m, level, o->voice, o->no_cache, warn_skipped, NULL);
    if (rc) {
        fprintf(stderr, "coach: %s\n", coach_strerror(rc));
        control_close(&c);
        return EXIT_INVALID;
    }
    /* when each was last done: a history that cannot be read is play's to
     * report, the menu just says nothing of it */
    char *hpath = history_default_path();
    if (hpath) menu_load_history(&m, hpath, time(NULL));
    free(hpath);
    if (m.skipped && !o->quiet)
        fprintf(stderr, "coach: %zu routine%s with errors left out (see 'coach list')\n", m.skipped,
                m.skipped == 1 ? "" : "s");
    char *chosen = NULL;
    float volume = 0.0f;
    noise_filter_start();
    struct opts with_preroll = *o; /* on for a Bluetooth output unless given */
    with_preroll.preroll_ms = cli_preroll_ms(o);
    o = &with_preroll;
    st = choose(&m, &c, o, &chosen, &volume);
    menu_free(&m);
    if (!st && chosen) {
        launch_ns = coach_mono_ns(); /* "first sound" counts from the choice, not the menu */
        st = play_routine(1, &chosen, o, &c, volume);
    }
    noise_filter_stop();
    free(chosen);
    control_close(&c);
    return st;
}
