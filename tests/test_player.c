/* The player offline: a live session with real speech played through the
 * memory sink (the same callback path as a sound card, faster than real
 * time), every control command given at known places, and what is heard
 * after each measured on the samples against the routine rendered the way
 * export renders it:
 *   - next in a step lands on the rest that announces the next step; next
 *     in that rest (or while a step's title is said) starts the announced
 *     step: its first phrase is heard, sample for sample; previous goes to
 *     the previous step; back to the start of the step, twice: previous;
 *   - pause fades out and says "Paused", then silence; where am I while
 *     paused says so and stays paused; resume plays on from where it held;
 *   - where, repeat and every refusal are heard as speech over a held
 *     timeline, which then goes on exactly where it was;
 *   - louder to the top says "Maximum volume"; there, speech, tones and
 *     answers stay below full scale (the one limiter);
 *   - the history records what was heard: steps skipped with next are not
 *     done, and a session that ran to its end with skips is "completed,
 *     skipped N"; a session played through is complete; a lost device ends
 *     it as an error.
 * The menu's voice (a player without a routine) is driven the same way. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/clipwin.h"
#include "coach/history.h"
#include "coach/live.h"
#include "coach/menu.h"
#include "coach/player.h"
#include "coach/render.h"
#include "coach/session.h"
#include "coach/tone.h"
#include "testutil.h"

#define RATE 48000
#define BLOCK 480
#define FADE ((uint64_t)RATE * LIVE_FADE_MS / 1000)

static const char *routine_text =
    "[routine]\ntitle = Player test\nrest = 6\nprepare = 2\ncountdown = 2\n"
    "[exercise hold]\nname = Plank\nhold = 6\n"
    "[exercise dyn]\nname = Squat\nsetup = Stand with your feet apart.\nreps = 2\n"
    "tempo = 1.5, 1.5\n"
    "[breathing breath]\nname = Breathe\ninhale = 2\nexhale = 2\ncycles = 2\n";

static char routine_path[4096], history_path[4096];
static uint64_t ack_len;

/* ---- the session, its reference, the player ---- */

struct run {
    struct session s;
    float *ref;          /* the whole routine rendered as export renders it */
    struct player *p;
    const struct timeline *tl; /* s.tl: the plan the player must follow */
    uint64_t extra_ns;   /* time passed without audio (a stalled device) */
};

/* stall_ms and give_up_ms for the next open_run (0: the memory sink's) */
static int run_stall_ms, run_give_up_ms;

static uint64_t sink_clock(void *ctx)
{
    struct run *r = ctx;
    struct sink_stats st;
    sink_memory_ops.stats(player_sink(r->p), &st);
    return st.frames * 1000000000ull / RATE + r->extra_ns;
}

static void open_run(struct run *r)
{
    memset(r, 0, sizeof *r);
    struct session_opts so = {.routine = routine_path, .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .rate_hz = RATE, .clips = CLIPS_AUDIO};
    struct coach_diags d;
    diags_init(&d);
    char err[512] = "";
    CHECKF(session_open(&r->s, &so, &d, err, sizeof err) == SESSION_OK, "%s", err);
    diags_print(&d, stderr);
    diags_free(&d);
    r->tl = &r->s.tl;
    /* the reference, before the speech thread owns the store */
    r->ref = test_render_all(r->tl, &r->s.clips);

    struct player_opts po = {.sink = &sink_memory_ops,
                             .sink_cfg = {.rate_hz = RATE, .channels = 1, .block_frames = BLOCK,
                                          .keep = true},
                             .history_path = history_path, .clock_ns = sink_clock, .clock_ctx = r,
                             .stall_ms = run_stall_ms, .give_up_ms = run_give_up_ms};
    CHECKF(player_open(&r->p, &r->s, &po, err, sizeof err) == PLAYER_OK, "%s", err);
}

static void close_run(struct run *r, struct player_summary *sum)
{
    player_close(r->p, sum);
    free(r->ref);
    session_free(&r->s);
}

static uint64_t out_len(struct run *r)
{
    uint64_t n;
    sink_memory_output(player_sink(r->p), &n);
    return n;
}

static const float *out(struct run *r)
{
    uint64_t n;
    return sink_memory_output(player_sink(r->p), &n);
}

static uint64_t pos(struct run *r)
{
    struct player_status st;
    player_status(r->p, &st);
    return st.pos;
}

/* Plays until the playhead reaches frame (or the session is over). */
static void play_to(struct run *r, uint64_t frame)
{
    for (int i = 0; i < 100000 && pos(r) < frame; i++) {
        player_run(r->p, 10);
        struct player_status st;
        player_status(r->p, &st);
        if (st.state != PLAYER_PLAYING) break;
    }
}

static int command(struct run *r, enum ctl_cmd c, char *reply, size_t cap)
{
    int rc = player_command(r->p, c, reply, cap);
    printf("  %s -> %s\n", ctl_word(c), reply);
    return rc;
}

/* ---- measures ---- */

static bool same_events(const struct timeline *a, const struct timeline *b)
{
    if (a->n_ev != b->n_ev || a->len_frames != b->len_frames) return false;
    for (size_t i = 0; i < a->n_ev; i++) {
        const struct event *x = &a->ev[i], *y = &b->ev[i];
        if (x->frame != y->frame || x->len_frames != y->len_frames || x->clip != y->clip ||
            x->kind != y->kind || x->step != y->step || x->variant != y->variant)
            return false;
    }
    return true;
}

/* Output [o, o+n) equals the reference [f, f+n): how many samples differ. */
static uint64_t differ(struct run *r, uint64_t o, uint64_t f, uint64_t n)
{
    uint64_t have = out_len(r), bad = 0;
    if (o + n > have || f + n > r->tl->len_frames) return n;
    for (uint64_t i = 0; i < n; i++) bad += out(r)[o + i] != r->ref[f + i];
    return bad;
}

static double rms(struct run *r, uint64_t o, uint64_t n)
{
    double sum = 0;
    const float *x = out(r);
    for (uint64_t i = 0; i < n && o + i < out_len(r); i++) sum += (double)x[o + i] * x[o + i];
    return n ? sqrt(sum / (double)n) : 0;
}

static float peak(struct run *r, uint64_t o, uint64_t n)
{
    float p = 0;
    const float *x = out(r);
    for (uint64_t i = 0; i < n && o + i < out_len(r); i++) p = fmaxf(p, fabsf(x[o + i]));
    return p;
}

/* The first speech event of the reference at or after frame. */
static const struct event *speech_from(struct run *r, uint64_t frame)
{
    const struct timeline *tl = r->tl;
    for (size_t i = timeline_lower_bound(tl, frame); i < tl->n_ev; i++)
        if (tl->ev[i].kind == EV_SPEECH) return &tl->ev[i];
    return NULL;
}

/* After a jump asked at output frame o to timeline frame to: the fade
 * out, the jump, the fade in under the acknowledgement tone, then exactly
 * the reference from `to` on, for n frames. */
static void heard_from(struct run *r, uint64_t o, uint64_t to, uint64_t n, const char *what)
{
    uint64_t skip = ack_len > 2 * FADE ? ack_len : 2 * FADE; /* fades and tone */
    uint64_t bad = differ(r, o + skip, to + skip - FADE, n);
    CHECKF(bad == 0, "%s: %llu of %llu samples differ from the routine at %.3f s", what,
           (unsigned long long)bad, (unsigned long long)n, (double)to / RATE);
}

/* Something said over the timeline, asked at output frame o with the
 * timeline at frame at: the timeline fades out (and holds at at + FADE),
 * speech is heard, below full scale, and then the timeline fades back in
 * and goes on exactly where it held. Returns the output frame where it is
 * back, or 0. */
static uint64_t said_over(struct run *r, uint64_t o, uint64_t at, const char *what)
{
    uint64_t held = at + FADE, n = out_len(r);
    const float *x = out(r);
    uint64_t back = 0;
    for (uint64_t q = o + FADE; q + 2 * FADE + RATE < n && !back; q++)
        if (x[q + FADE] == r->ref[held + FADE] && differ(r, q + FADE, held + FADE, RATE) == 0) back = q;
    CHECKF(back, "%s: the routine does not go on where it held", what);
    if (!back) return 0;
    double e = rms(r, o + FADE, back - o - FADE);
    CHECKF(e > 0.02, "%s: nothing heard (rms %.4f)", what, e);
    CHECKF(peak(r, o, back + FADE - o) < 1.0f, "%s: peak %.4f", what, peak(r, o, back + FADE - o));
    return back;
}

/* ---- the commands ---- */

static void navigation(void)
{
    printf("navigation, pause, answers\n");
    struct run r;
    open_run(&r);
    const struct timeline *tl = r.tl;
    CHECK(tl->n_ch == 4);
    uint64_t plank = tl->ch[1].frame, squat = tl->ch[2].frame, squat_body = tl->ch[2].body_frame;
    CHECK(squat_body > squat + 5 * RATE); /* the 6 s rest announces Squat */
    char reply[1024];

    /* the intro, word for word as export renders it */
    play_to(&r, 2 * RATE);
    uint64_t o = out_len(&r), at = pos(&r);
    CHECK(at >= 2 * RATE && differ(&r, 0, 0, o) == 0);
    CHECK(player_timeline(r.p)->len_frames <= tl->len_frames);

    /* where am I in the intro: said over the held timeline */
    at = pos(&r);
    o = out_len(&r);
    CHECK(command(&r, CTL_WHERE, reply, sizeof reply) == 0 && strstr(reply, "ok Introduction."));
    player_run(r.p, 8000);
    uint64_t back = said_over(&r, o, at, "where in the intro");
    CHECKF(back - o > 2 * RATE, "the answer lasted %.3f s", (double)(back - o) / RATE);
    /* the answer's length: from the held point to the timeline's return */
    play_to(&r, plank + RATE);
    CHECK(player_timeline(r.p)->n_ch == tl->n_ch); /* the whole plan by now */
    CHECK(same_events(player_timeline(r.p), tl));

    /* pause in Plank: "Paused" after the fade, then silence */
    at = pos(&r);
    o = out_len(&r);
    CHECK(command(&r, CTL_PAUSE, reply, sizeof reply) == 0 && strstr(reply, "ok paused at "));
    player_run(r.p, 3000);
    CHECKF(rms(&r, o + FADE, RATE / 2) > 0.02, "Paused is not heard (%f)", rms(&r, o + FADE, RATE / 2));
    uint64_t quiet_from = o + FADE + 2 * RATE; /* "Paused." and its tone are over */
    CHECK(peak(&r, quiet_from, out_len(&r) - quiet_from) == 0.0f);
    CHECK(pos(&r) == at + FADE); /* paused time does not count */
    /* where while paused: "Paused." first, and it stays paused */
    o = out_len(&r);
    CHECK(command(&r, CTL_WHERE, reply, sizeof reply) == 0 &&
          strstr(reply, "ok Paused. Exercise 1 of 3: Plank."));
    player_run(r.p, 10000);
    CHECK(rms(&r, o, 2 * RATE) > 0.02);
    CHECKF(peak(&r, out_len(&r) - RATE, RATE) == 0.0f && pos(&r) == at + FADE, "%f %llu %llu",
           peak(&r, out_len(&r) - RATE, RATE), (unsigned long long)pos(&r),
           (unsigned long long)(at + FADE));
    /* a second pause only says it again */
    CHECK(command(&r, CTL_PAUSE, reply, sizeof reply) == 0 && strstr(reply, "already paused"));
    player_run(r.p, 2000);
    /* resume: on from where it held, nothing new said */
    o = out_len(&r);
    CHECK(command(&r, CTL_RESUME, reply, sizeof reply) == 0 && strstr(reply, "ok resumed at "));
    player_run(r.p, 2000);
    uint64_t skip = ack_len > FADE ? ack_len : FADE;
    CHECKF(differ(&r, o + skip, at + FADE + skip, RATE) == 0, "after resume");
    /* toggle: pause, then resume */
    CHECK(command(&r, CTL_TOGGLE, reply, sizeof reply) == 0 && strstr(reply, "ok paused at "));
    player_run(r.p, 2000);
    CHECK(command(&r, CTL_TOGGLE, reply, sizeof reply) == 0 && strstr(reply, "ok resumed at "));
    player_run(r.p, 1000);

    /* next in Plank: the rest that announces Squat ("Rest for 6 seconds.") */
    o = out_len(&r);
    CHECK(command(&r, CTL_NEXT, reply, sizeof reply) == 0 && strstr(reply, "ok next: "));
    player_run(r.p, 2000);
    heard_from(&r, o, squat, RATE, "next in a step");
    CHECK(speech_from(&r, squat)->frame == squat);
    /* next in that rest: Squat itself begins, its title heard first */
    play_to(&r, squat + 2 * RATE);
    o = out_len(&r);
    CHECK(command(&r, CTL_NEXT, reply, sizeof reply) == 0 &&
          strstr(reply, "ok next: Exercise 2 of 3: Squat"));
    player_run(r.p, 3000);
    heard_from(&r, o, squat_body, 2 * RATE, "next in a rest");
    const struct event *title = speech_from(&r, squat_body);
    CHECK(title && title->frame == squat_body && title->step == 2 - 1);
    /* back inside Squat: its start; twice within 2 s: Plank's */
    play_to(&r, squat_body + 5 * RATE);
    o = out_len(&r);
    CHECK(command(&r, CTL_BACK, reply, sizeof reply) == 0 && strstr(reply, "ok back: "));
    player_run(r.p, 1000);
    heard_from(&r, o, squat_body, RATE / 2, "back");
    o = out_len(&r);
    CHECK(command(&r, CTL_BACK, reply, sizeof reply) == 0 && strstr(reply, "ok previous: "));
    player_run(r.p, 2000);
    heard_from(&r, o, plank, RATE, "back twice");
    /* previous from Plank, the first step: refused, in words */
    o = out_len(&r);
    at = pos(&r);
    CHECK(command(&r, CTL_PREVIOUS, reply, sizeof reply) != 0 &&
          strstr(reply, "error there is no exercise before this one"));
    player_run(r.p, 5000);
    said_over(&r, o, at, "the refusal of previous");
    /* previous from Squat's rest: Plank */
    play_to(&r, squat + RATE);
    o = out_len(&r);
    CHECK(command(&r, CTL_PREVIOUS, reply, sizeof reply) == 0 && strstr(reply, "ok previous: "));
    player_run(r.p, 2000);
    heard_from(&r, o, plank, RATE, "previous");

    /* repeat: the last instruction, said over the held timeline */
    play_to(&r, plank + 3 * RATE);
    o = out_len(&r);
    at = pos(&r);
    CHECK(command(&r, CTL_REPEAT, reply, sizeof reply) == 0 && strstr(reply, "ok repeating"));
    player_run(r.p, 6000);
    said_over(&r, o, at, "repeat");

    /* the volume: up to the top, which is said; past it, refused */
    int ok = 0;
    for (int i = 0; i < 6; i++) ok += command(&r, CTL_VOLUME_UP, reply, sizeof reply) == 0;
    CHECK(ok == 4 && strstr(reply, "error the volume is already at its maximum (200%)"));
    CHECK(player_volume(r.p) == PLAYER_VOLUME_MAX);
    /* at the top every sound stays below full scale: answers, tones, speech */
    o = out_len(&r);
    CHECK(command(&r, CTL_WHERE, reply, sizeof reply) == 0);
    player_run(r.p, 8000);
    CHECK(command(&r, CTL_REPEAT, reply, sizeof reply) == 0);
    player_run(r.p, 20000); /* into Squat: tones and counts at 200 % */
    float pk = peak(&r, o, out_len(&r) - o);
    CHECKF(pk < 1.0f && pk > 0.9f, "peak at maximum volume %.4f", pk);
    for (int i = 0; i < 30; i++) command(&r, CTL_VOLUME_DOWN, reply, sizeof reply);
    CHECK(strstr(reply, "minimum") && player_volume(r.p) == PLAYER_VOLUME_MIN);
    command(&r, CTL_VOLUME_UP, reply, sizeof reply);

    /* an unknown command: refused, in words */
    CHECK(command(&r, CTL_NONE, reply, sizeof reply) != 0 && strstr(reply, "unknown command"));

    /* the end: next in the last step goes to the closing words; then nothing */
    play_to(&r, tl->ch[3].body_frame + 3 * RATE);
    CHECK(command(&r, CTL_NEXT, reply, sizeof reply) == 0);
    player_run(r.p, 500);
    CHECK(pos(&r) >= tl->ending_frame);
    CHECK(command(&r, CTL_NEXT, reply, sizeof reply) != 0 &&
          strstr(reply, "error this is the end of the routine"));
    play_to(&r, tl->len_frames);
    struct player_status st;
    player_status(r.p, &st);
    CHECK(st.state == PLAYER_ENDED);
    CHECK(command(&r, CTL_PAUSE, reply, sizeof reply) != 0 && strstr(reply, "over"));
    struct player_summary sum;
    close_run(&r, &sum);
    /* Plank (played through after "previous"), Squat skipped at the end?
     * no: Squat was left for Plank, then Plank played on into Squat and
     * Breathe was skipped with next */
    CHECKF(sum.state == PLAYER_ENDED && sum.moves_total == 3 && sum.moves_done == 2 &&
               sum.moves_skipped == 1,
           "done %u skipped %u", sum.moves_done, sum.moves_skipped);
    CHECK(sum.missed_clips == 0 && sum.stall_frames == 0 && sum.lost_notes == 0);
}

/* Every step skipped with next, then to the end: completed, none done. */
static void skipping(void)
{
    printf("skipping every step\n");
    struct run r;
    open_run(&r);
    char reply[1024];
    play_to(&r, r.tl->ch[1].frame + RATE);
    for (int i = 0; i < 20; i++) {
        struct player_status st;
        player_status(r.p, &st);
        if (st.state != PLAYER_PLAYING || pos(&r) >= r.tl->ending_frame) break;
        command(&r, CTL_NEXT, reply, sizeof reply);
        player_run(r.p, 300);
    }
    play_to(&r, r.tl->len_frames);
    struct player_summary sum;
    close_run(&r, &sum);
    CHECKF(sum.state == PLAYER_ENDED && sum.moves_done == 0 && sum.moves_skipped == 3,
           "done %u skipped %u", sum.moves_done, sum.moves_skipped);
}

/* Played through: completed in full. Stopped halfway: stopped, the steps
 * before done, none skipped. A device lost: an error. */
static void endings(void)
{
    printf("endings\n");
    struct run r;
    open_run(&r);
    uint64_t len = r.tl->len_frames;
    play_to(&r, len);
    struct player_summary sum;
    close_run(&r, &sum);
    CHECKF(sum.state == PLAYER_ENDED && sum.moves_done == 3 && sum.moves_skipped == 0 &&
               sum.heard_frames == len,
           "done %u skipped %u heard %llu of %llu", sum.moves_done, sum.moves_skipped,
           (unsigned long long)sum.heard_frames, (unsigned long long)len);
    CHECK(sum.missed_clips == 0 && sum.underruns == 0);

    open_run(&r);
    char reply[1024];
    play_to(&r, r.tl->ch[2].body_frame + RATE);
    CHECK(command(&r, CTL_STOP, reply, sizeof reply) == 0 && strstr(reply, "ok stopped at "));
    close_run(&r, &sum);
    CHECK(sum.state == PLAYER_STOPPED && sum.moves_done == 1 && sum.moves_skipped == 0);

    open_run(&r);
    play_to(&r, r.tl->ch[1].body_frame + RATE);
    sink_memory_lose(player_sink(r.p));
    CHECK(player_tick(r.p) == PLAYER_LOST);
    close_run(&r, &sum);
    CHECK(sum.state == PLAYER_LOST);

    open_run(&r);
    play_to(&r, RATE);
    player_interrupt(r.p);
    close_run(&r, &sum);
    CHECK(sum.state == PLAYER_INTERRUPTED);
}

static bool stalled(struct run *r)
{
    struct player_status st;
    player_status(r->p, &st);
    return st.stalled;
}

/* Lets ms pass without audio, ticking every 100 ms as the control loop does. */
static void pass_still(struct run *r, int ms)
{
    for (int t = 0; t < ms; t += 100) {
        r->extra_ns += 100000000ull;
        player_tick(r->p);
    }
}

/* A device still there that stops calling back (a sound server stopped):
 * after stall_ms the player says it is stalled, keeps the session and plays
 * on from where it held when the callbacks come back; a gap between ticks
 * (the process itself stopped) does not count; a stop or a signal during a
 * stall ends the session at once; after give_up_ms it ends as stalled. */
static void stalls(void)
{
    printf("stalls\n");
    run_stall_ms = 2000;
    run_give_up_ms = 10000;
    struct run r;
    open_run(&r);
    play_to(&r, 3 * RATE);
    uint64_t at = pos(&r);
    sink_memory_stall(player_sink(r.p), true);
    pass_still(&r, 1500);
    CHECK(!stalled(&r) && player_tick(r.p) == PLAYER_PLAYING);
    pass_still(&r, 800);
    CHECK(stalled(&r) && player_tick(r.p) == PLAYER_PLAYING && pos(&r) == at);
    sink_memory_stall(player_sink(r.p), false);
    player_run(r.p, 100);
    CHECKF(!stalled(&r) && pos(&r) > at, "stalled %d at %llu, was %llu", stalled(&r),
           (unsigned long long)pos(&r), (unsigned long long)at);
    /* the process stopped for a minute: not the device's fault */
    r.extra_ns += 60000000000ull;
    CHECK(player_tick(r.p) == PLAYER_PLAYING && !stalled(&r));
    sink_memory_stall(player_sink(r.p), true);
    pass_still(&r, 9000);
    CHECK(stalled(&r) && player_tick(r.p) == PLAYER_PLAYING);
    pass_still(&r, 1100);
    CHECK(player_tick(r.p) == PLAYER_STALLED);
    struct player_summary sum;
    close_run(&r, &sum);
    CHECK(sum.state == PLAYER_STALLED);

    char reply[1024];
    open_run(&r);
    play_to(&r, 3 * RATE);
    sink_memory_stall(player_sink(r.p), true);
    pass_still(&r, 2500);
    CHECK(stalled(&r));
    CHECK(command(&r, CTL_STOP, reply, sizeof reply) == 0 && strstr(reply, "ok stopped at 0:03"));
    close_run(&r, &sum);
    CHECK(sum.state == PLAYER_STOPPED);

    open_run(&r);
    play_to(&r, 3 * RATE);
    sink_memory_stall(player_sink(r.p), true);
    pass_still(&r, 2500);
    player_interrupt(r.p);
    close_run(&r, &sum);
    CHECK(sum.state == PLAYER_INTERRUPTED);
    run_stall_ms = run_give_up_ms = 0;
}

/* The history: what each session above came to, in order. */
struct seen {
    int n;
    struct history_record rec[16];
};

static int collect(void *ctx, const struct history_entry *e)
{
    struct seen *s = ctx;
    if (s->n < 16) {
        s->rec[s->n] = e->rec;
        s->rec[s->n].routine = s->rec[s->n].title = NULL; /* valid only during the call */
        s->rec[s->n].ending = strcmp(e->rec.ending, "completed") == 0   ? "completed"
                              : strcmp(e->rec.ending, "stopped") == 0   ? "stopped"
                              : strcmp(e->rec.ending, "interrupted") == 0 ? "interrupted"
                                                                          : "error";
        s->n++;
    }
    return 0;
}

static void history(void)
{
    struct seen s = {0};
    CHECK(history_read(history_path, collect, &s) == 0);
    static const struct {
        const char *ending;
        unsigned done, skipped;
    } want[] = {{"completed", 2, 1}, {"completed", 0, 3}, {"completed", 3, 0},
                {"stopped", 1, 0},   {"error", 0, 0},     {"interrupted", 0, 0}};
    CHECKF(s.n == 6, "%d records", s.n);
    for (int i = 0; i < s.n && i < 6; i++)
        CHECKF(!strcmp(s.rec[i].ending, want[i].ending) && s.rec[i].steps_done == want[i].done &&
                   s.rec[i].skipped == want[i].skipped && s.rec[i].steps_total == 3,
               "record %d: %s %u skipped %u", i, s.rec[i].ending, s.rec[i].steps_done,
               s.rec[i].skipped);
}

/* The menu's voice: a player without a routine, driven by menu_command. */
static void menu_voice(void)
{
    printf("the menu\n");
    struct menu m;
    CHECK(menu_load(&m, -1, NULL) == 0 && m.n >= 8);
    struct session_opts so = {.voice = "en-us", .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .rate_hz = RATE, .clips = CLIPS_AUDIO};
    struct session s;
    struct coach_diags d;
    diags_init(&d);
    char err[512] = "", reply[1024];
    CHECK(session_open(&s, &so, &d, err, sizeof err) == SESSION_OK);
    diags_free(&d);
    struct player *p;
    struct player_opts po = {.sink = &sink_memory_ops,
                             .sink_cfg = {.rate_hz = RATE, .channels = 1, .keep = true}};
    CHECK(player_open(&p, &s, &po, err, sizeof err) == PLAYER_OK);
    uint64_t n0, n;
    /* silent until something is said */
    player_run(p, 500);
    const float *x = sink_memory_output(player_sink(p), &n0);
    float pk = 0;
    for (uint64_t i = 0; i < n0; i++) pk = fmaxf(pk, fabsf(x[i]));
    CHECK(n0 >= RATE / 2 && pk == 0.0f);
    CHECK(menu_say(&m, p, menu_intro_text(&m, &s.voice, false), LIVE_NO_ACK) == 0);
    CHECK(strstr(m.last, "Press the play button") && strstr(m.last, "Routine 1 of "));
    player_wait_said(p, 20000);
    bool said;
    CHECK(menu_command(&m, p, &s.voice, CTL_NEXT, &said, reply, sizeof reply) == MENU_STAY && said &&
          m.cur == 1 && strstr(reply, "Routine 2 of"));
    CHECK(menu_command(&m, p, &s.voice, CTL_PREVIOUS, &said, reply, sizeof reply) == MENU_STAY &&
          m.cur == 0);
    CHECK(menu_command(&m, p, &s.voice, CTL_WHERE, &said, reply, sizeof reply) == MENU_STAY &&
          strstr(m.last, " exercise"));
    /* pause: the sentence stops, "Paused"; resume: the sentence again */
    CHECK(menu_command(&m, p, &s.voice, CTL_PAUSE, &said, reply, sizeof reply) == MENU_STAY &&
          strstr(reply, "ok paused"));
    player_run(p, 3000);
    x = sink_memory_output(player_sink(p), &n);
    pk = 0;
    for (uint64_t i = n - RATE / 2; i < n; i++) pk = fmaxf(pk, fabsf(x[i]));
    CHECK(pk == 0.0f);
    CHECK(menu_command(&m, p, &s.voice, CTL_TOGGLE, &said, reply, sizeof reply) == MENU_STAY && said);
    CHECK(menu_command(&m, p, &s.voice, CTL_VOLUME_UP, &said, reply, sizeof reply) == MENU_STAY &&
          strstr(reply, "ok volume 125%"));
    CHECK(menu_command(&m, p, &s.voice, CTL_VOLUME_DOWN, &said, reply, sizeof reply) == MENU_STAY);
    CHECK(menu_command(&m, p, &s.voice, CTL_REPEAT, &said, reply, sizeof reply) == MENU_STAY && said);
    player_wait_said(p, 20000);
    CHECK(menu_command(&m, p, &s.voice, CTL_TOGGLE, &said, reply, sizeof reply) == MENU_START &&
          strstr(reply, "ok starting "));
    CHECK(menu_command(&m, p, &s.voice, CTL_STOP, &said, reply, sizeof reply) == MENU_QUIT);
    CHECK(menu_key('n') == CTL_NEXT && menu_key(KEY_LEFT) == CTL_BACK && menu_key('\n') == CTL_TOGGLE &&
          menu_key('d') == CTL_WHERE && menu_key('B') == CTL_BACK && menu_key(KEY_UP) == CTL_VOLUME_UP);
    struct player_summary sum;
    player_close(p, &sum);
    CHECK(sum.missed_clips == 0);
    session_free(&s);
    menu_free(&m);
}

int main(void)
{
    setenv("COACH_DATA_DIR", test_src_path(""), 1);
    const char *dir = test_tmpdir("player");
    snprintf(routine_path, sizeof routine_path, "%s/player-test.ini", dir);
    snprintf(history_path, sizeof history_path, "%s/history.tsv", dir);
    FILE *f = fopen(routine_path, "w");
    CHECK(f && fputs(routine_text, f) >= 0 && fclose(f) == 0);
    remove(history_path);
    ack_len = tone_default_len(EV_ACK, RATE);
    navigation();
    skipping();
    endings();
    history();
    stalls();
    menu_voice();
    return test_done();
}
