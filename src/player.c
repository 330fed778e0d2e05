/* The player (see include/coach/player.h). Commands go to the audio thread
 * through the live engine's command ring; where a reply needs the audio
 * thread's answer (where it paused, where it jumped to) the player waits
 * for the engine's note, letting output time pass through the sink (the
 * memory sink renders meanwhile, so the tests run this same code). Speech
 * for answers is made by the speech thread and owned here until the engine
 * says it is done with it. What was heard is counted from the engine's
 * notes: a step whose chapter played through to its end is done; one the
 * session went past without that is skipped. */
#define _POSIX_C_SOURCE 200809L
#include "coach/player.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/feeder.h"
#include "coach/history.h"
#include "coach/live.h"
#include "coach/position.h"

#define PLAYER_MAX_BLOCK 4096     /* frames the engine renders at once */
#define PLAYER_ANSWER_MS 500      /* how long a command waits for the audio thread */
#define PLAYER_PLAN_WAIT_MS 5000  /* a jump waits this long for the whole plan */
#define PLAYER_WAIT_STEP_MS 2
#define PLAYER_DONE_TWICE_MS 1500 /* a "done" this soon after one is the same one (a key
                                   * pressed twice, a phrase heard twice): the part after
                                   * it, maybe a rest until ready, is not skipped */

/* Speech handed to the engine, until it says it is done with it. */
struct said {
    float *pcm;
    uint32_t id;
    bool keep; /* a phrase kept for reuse ("Paused"): freed at the end */
};

struct player {
    struct session *s;
    struct player_opts o;
    const struct sink_ops *ops;
    struct sink *sink;
    struct feeder f;
    struct live live;
    bool have_live, have_feeder;
    struct music music;
    bool have_music;
    struct timeline silence;    /* a voice without a routine plays this: nothing */
    const struct timeline *cur; /* what the audio renders */
    bool final;                 /* cur is the whole routine */
    enum player_state state;
    bool paused;
    struct said *said;          /* speech the engine may still read */
    size_t n_said, cap_said;
    uint32_t next_id, last_id;  /* speech ids; the last one player_say sent */
    bool last_done;
    float *paused_pcm;          /* "Paused", made once */
    uint64_t paused_len;
    uint8_t *done;              /* per step of the routine: played through */
    uint64_t last_back_ns;      /* when back was last asked (0: never) */
    uint64_t jumped_to;         /* where the last jump landed (UINT64_MAX: none) */
    uint64_t last_epoch;        /* the engine's epoch at the last tick */
    uint64_t still_ns;          /* how long no callback came (ticks' time) */
    uint64_t last_tick_ns;      /* 0: no tick yet */
    uint64_t stall_ns, give_up_ns; /* 0: never */
    bool stalled;               /* still_ns >= stall_ns: waiting for the device */
    /* self-paced parts (timeline.h's struct wait) */
    size_t wait_seen;           /* the wait whose prompts are counted (SIZE_MAX: none) */
    unsigned wait_prompts;      /* reminders or counts said at it */
    uint64_t done_ns;           /* when the last "done" jumped (0: never) */
    uint64_t waited_frames;     /* output time held at waits' ends, for the record */
    char held[HISTORY_MAX_HELD * 11]; /* seconds held in each hold = max, "45,38" */
    unsigned n_held;
    time_t started_at;
    /* a pain stop (hurt): held until next/resume (skip the move) or stop */
    bool hurt;                  /* waiting for that choice */
    uint64_t hurt_skip_to;      /* where going on starts: the next move's lead-in */
    int32_t hurt_step;          /* the move that hurt (-1: none) */
    int32_t pain_step;          /* the first move that hurt, for the history (-1: none) */
    /* --ask-pain */
    bool ask_due;               /* the routine ended: ask at the next tick */
    bool asked;                 /* the question was asked (once per session) */
    bool asking;                /* it waits for the answer */
    bool finishing;             /* the answer is being confirmed, then the session ends */
    enum player_state after_ask; /* how the session ends once answered */
    uint64_t ask_until_ns;      /* no answer by then: none recorded */
    uint64_t finish_until_ns;   /* the confirmation is given up to then */
    bool one_pending;           /* key 1: a 0 within PLAYER_TEN_MS makes it 10 */
    uint64_t one_ns;
    bool has_pain;
    unsigned pain;
    char title[512];            /* the chapter title player_status gives */
    char err[512];
};

/* ---- small helpers ---- */

static uint64_t now_ns(struct player *p)
{
    return p->o.clock_ns ? p->o.clock_ns(p->o.clock_ctx) : coach_mono_ns();
}

static uint64_t played(struct player *p)
{
    return atomic_load_explicit(&p->live.played, memory_order_acquire);
}

/* Where the listener is: the playhead, or, while it holds at the end of a
 * self-paced part, the part's last frame (its end may be where the next
 * step's chapter starts: the listener is still in this one). For the
 * chapter shown, where am I, next/previous/back and --resume. */
static uint64_t here(struct player *p)
{
    uint64_t pos = played(p);
    if (!p->cur || !pos) return pos;
    uint64_t i = atomic_load_explicit(&p->live.wait_now, memory_order_relaxed);
    return i < p->cur->n_waits && p->cur->waits[i].frame == pos ? pos - 1 : pos;
}

/* "4:31.0" (or "1:02:03.4") from frames: times for people, never frames. */
static const char *fmt_time(char *buf, size_t cap, uint64_t frames, uint32_t rate_hz)
{
    uint64_t ds = (frames * 10 + rate_hz / 2) / rate_hz; /* tenths of a second */
    uint64_t s = ds / 10, m = s / 60, h = m / 60;
    if (h)
        snprintf(buf, cap, "%llu:%02llu:%02llu.%llu", (unsigned long long)h,
                 (unsigned long long)(m % 60), (unsigned long long)(s % 60),
                 (unsigned long long)(ds % 10));
    else
        snprintf(buf, cap, "%llu:%02llu.%llu", (unsigned long long)m, (unsigned long long)(s % 60),
                 (unsigned long long)(ds % 10));
    return buf;
}

static void send(struct player *p, struct live_cmd c)
{
    /* the ring holds 256 commands; the callback empties it every few ms */
    for (int i = 0; i < 100 && !live_send(&p->live, &c); i++) p->ops->wait(p->sink, 1);
}

static bool remember(struct player *p, float *pcm, uint32_t id, bool keep)
{
    if (p->n_said == p->cap_said) {
        size_t cap = p->cap_said ? p->cap_said * 2 : 16;
        struct said *n = realloc(p->said, cap * sizeof *n);
        if (!n) return false;
        p->said = n;
        p->cap_said = cap;
    }
    p->said[p->n_said++] = (struct said){pcm, id, keep};
    return true;
}

static void forget(struct player *p, uint32_t id)
{
    for (size_t i = 0; i < p->n_said; i++)
        if (p->said[i].id == id) {
            if (!p->said[i].keep) free(p->said[i].pcm);
            p->said[i] = p->said[--p->n_said];
            return;
        }
}

/* ---- what the engine reports ---- */

static void on_note(struct player *p, const struct live_note *n)
{
    switch ((enum live_note_kind)n->kind) {
    case NOTE_PAUSED: /* paused follows the commands: the menu's voice holds unasked */
    case NOTE_RESUMED:
    case NOTE_SEEKED:
        break;
    case NOTE_SAID:
        forget(p, (uint32_t)n->id);
        if ((uint32_t)n->id == p->last_id) p->last_done = true;
        break;
    case NOTE_CHAPTER_END:
        if (p->done && position_is_move(&p->s->routine, n->id)) p->done[n->id] = 1;
        break;
    case NOTE_ENDED:
        if (p->state != PLAYER_PLAYING) break;
        if (p->o.ask_pain && !p->asked) { /* the engine lingers: ask first */
            p->ask_due = true;
            p->after_ask = PLAYER_ENDED;
        } else {
            p->state = PLAYER_ENDED;
        }
        break;
    case NOTE_STOPPED:
        if (p->state == PLAYER_PLAYING) p->state = PLAYER_STOPPED;
        break;
    }
}

/* Handles every note waiting; the last of kind `want` (if any) in *got. */
static bool drain(struct player *p, int want, struct live_note *got)
{
    struct live_note n;
    bool found = false;
    while (live_poll(&p->live, &n)) {
        on_note(p, &n);
        if (n.kind == want) {
            found = true;
            if (got) *got = n;
        }
    }
    return found;
}

/* Waits (letting output time pass) for a note of kind want; false if none
 * came within ms. */
static bool await(struct player *p, int want, int ms, struct live_note *got)
{
    for (int t = 0; t <= ms; t += PLAYER_WAIT_STEP_MS) {
        if (drain(p, want, got)) return true;
        if (p->state != PLAYER_PLAYING && want != NOTE_STOPPED) return false;
        p->ops->wait(p->sink, PLAYER_WAIT_STEP_MS);
    }
    return false;
}

/* Takes every timeline the speech thread has made. */
static void swap_in(struct player *p)
{
    const struct timeline *tl;
    bool final;
    while ((tl = feeder_take(&p->f, &final))) {
        send(p, (struct live_cmd){.kind = LIVE_SWAP, .tl = tl, .final = final, .ack = LIVE_NO_ACK});
        feeder_set_current(&p->f, tl);
        p->cur = tl;
        p->final = final;
    }
}

/* The memory sink's pace: before each block, what the block needs is
 * there (as a fast enough speech thread would have made it). */
static void pace(void *ctx, uint64_t frames_done)
{
    (void)frames_done;
    struct player *p = ctx;
    if (!p->have_feeder) return;
    swap_in(p);
    uint64_t pos = played(p);
    if (!p->final && p->s->have_routine && pos >= p->cur->len_frames &&
        feeder_wait_timeline(&p->f, PLAYER_PLAN_WAIT_MS))
        swap_in(p);
    if (!feeder_is_ready(&p->f, p->cur, pos, PLAYER_MAX_BLOCK)) feeder_sync(&p->f, PLAYER_PLAN_WAIT_MS);
}

static void render_cb(void *ctx, float *out, size_t n)
{
    struct player *p = ctx;
    live_process(&p->live, out, n);
}

/* ---- speech ---- */

static uint32_t new_id(struct player *p) { return ++p->next_id; }

/* Says pcm (owned by the player from now on, unless keep). */
static void say_pcm(struct player *p, float *pcm, uint64_t len, uint8_t ack, bool keep)
{
    uint32_t id = new_id(p);
    if (!remember(p, pcm, id, keep)) {
        if (!keep) free(pcm);
        send(p, (struct live_cmd){.kind = LIVE_ACK, .ack = ack});
        return;
    }
    p->last_id = id;
    p->last_done = false;
    send(p, (struct live_cmd){.kind = LIVE_SAY, .say_id = id, .pcm = pcm, .len_frames = len,
                              .ack = ack});
}

int player_say(struct player *p, const char *text, uint8_t ack)
{
    float *pcm;
    uint64_t len;
    int rc = feeder_say(&p->f, text, &pcm, &len);
    if (rc) {
        if (ack != LIVE_NO_ACK) send(p, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_REFUSED});
        return rc;
    }
    say_pcm(p, pcm, len, ack, false);
    return 0;
}

int player_say_phrase(struct player *p, enum phrase_id id, uint8_t ack)
{
    char *text = voice_format(&p->s->voice, id, NULL);
    int rc = text ? player_say(p, text, ack) : COACH_ENOMEM;
    free(text);
    return rc;
}

/* A command refused: the tone, and why in words. */
static int refuse(struct player *p, enum phrase_id why, char *reply, size_t cap, const char *text)
{
    player_say_phrase(p, why, ACK_REFUSED);
    coach_set_err(reply, cap, "error %s", text);
    return COACH_EINVAL;
}

void player_wait_said(struct player *p, int timeout_ms)
{
    for (int t = 0; t <= timeout_ms && !p->last_done; t += PLAYER_WAIT_STEP_MS) {
        drain(p, -1, NULL);
        if (p->last_done) break;
        p->ops->wait(p->sink, PLAYER_WAIT_STEP_MS);
    }
    /* what the callback has made is still in the device's buffer */
    struct sink_stats st;
    p->ops->stats(p->sink, &st);
    if (p->ops->realtime) p->ops->wait(p->sink, (int)(st.latency_s * 1000.0 + 0.5));
}

/* "Paused": made once, kept for every pause. */
static void make_paused(struct player *p)
{
    if (p->paused_pcm) return;
    char *text = voice_format(&p->s->voice, PH_PAUSED, NULL);
    if (text && feeder_say(&p->f, text, &p->paused_pcm, &p->paused_len)) p->paused_pcm = NULL;
    free(text);
}

/* ---- commands ---- */

static int pause_cmd(struct player *p, char *reply, size_t cap)
{
    char t[32];
    make_paused(p);
    uint32_t id = 0;
    if (p->paused_pcm) {
        id = new_id(p);
        if (!remember(p, p->paused_pcm, id, true)) id = 0;
    }
    bool already = p->paused;
    p->paused = true;
    send(p, (struct live_cmd){.kind = LIVE_PAUSE, .ack = ACK_PAUSE, .say_id = id,
                              .pcm = id ? p->paused_pcm : NULL, .len_frames = p->paused_len});
    if (already) {
        coach_set_err(reply, cap, "ok already paused at %s", fmt_time(t, sizeof t, played(p), p->live.rate_hz));
        return 0;
    }
    struct live_note n;
    if (!await(p, NOTE_PAUSED, PLAYER_ANSWER_MS, &n)) {
        coach_set_err(reply, cap, "error the audio device did not answer");
        return COACH_EIO;
    }
    coach_set_err(reply, cap, "ok paused at %s", fmt_time(t, sizeof t, n.frame, p->live.rate_hz));
    return 0;
}

static int resume_cmd(struct player *p, char *reply, size_t cap)
{
    char t[32];
    if (!p->paused) {
        coach_set_err(reply, cap, "ok already playing at %s", fmt_time(t, sizeof t, played(p), p->live.rate_hz));
        return 0;
    }
    send(p, (struct live_cmd){.kind = LIVE_RESUME, .ack = ACK_RESUME});
    struct live_note n;
    if (!await(p, NOTE_RESUMED, PLAYER_ANSWER_MS, &n)) {
        coach_set_err(reply, cap, "error the audio device did not answer");
        return COACH_EIO;
    }
    p->paused = false;
    coach_set_err(reply, cap, "ok resumed at %s", fmt_time(t, sizeof t, n.frame, p->live.rate_hz));
    return 0;
}

/* Jumps need the whole plan: a prefix knows no steps. */
static bool whole_plan(struct player *p)
{
    if (!p->final && feeder_wait_timeline(&p->f, PLAYER_PLAN_WAIT_MS)) swap_in(p);
    while (!p->final && feeder_wait_timeline(&p->f, PLAYER_PLAN_WAIT_MS / 2)) swap_in(p);
    return p->final;
}

static int seek_cmd(struct player *p, uint64_t to, const char *what, char *reply, size_t cap)
{
    feeder_ready_at(&p->f, to, PLAYER_ANSWER_MS);
    send(p, (struct live_cmd){.kind = LIVE_SEEK, .frame = to, .ack = ACK_SEEK});
    struct live_note n;
    if (!await(p, NOTE_SEEKED, PLAYER_ANSWER_MS, &n)) {
        coach_set_err(reply, cap, "error the audio device did not answer");
        return COACH_EIO;
    }
    p->jumped_to = n.frame;
    p->wait_seen = SIZE_MAX; /* a wait come to again reminds (counts) again */
    char t[32];
    const struct chapter *c = timeline_chapter_at(p->cur, n.frame);
    coach_set_err(reply, cap, "ok %s: %s, at %s", what, c ? c->title : "start",
            fmt_time(t, sizeof t, n.frame, p->live.rate_hz));
    return 0;
}

static int nav_cmd(struct player *p, enum ctl_cmd c, char *reply, size_t cap)
{
    if (!p->s->have_routine) return refuse(p, PH_UNKNOWN_COMMAND, reply, cap, "nothing to move through");
    if (c == CTL_BACK) { /* twice within a moment: the previous step */
        uint64_t now = now_ns(p);
        bool twice = p->last_back_ns && now - p->last_back_ns <= PLAYER_BACK_TWICE_MS * 1000000ull;
        p->last_back_ns = twice ? 0 : now;
        if (twice) c = CTL_PREVIOUS;
    } else {
        p->last_back_ns = 0;
    }
    if (!whole_plan(p)) return refuse(p, PH_NOT_READY, reply, cap, "the routine is still being prepared");
    uint64_t pos = here(p), to = 0;
    const struct routine *r = &p->s->routine;
    switch (c) {
    case CTL_NEXT:
        if (position_next(p->cur, r, pos, p->jumped_to, &to) != NAV_OK)
            return refuse(p, PH_NO_NEXT, reply, cap, "this is the end of the routine");
        return seek_cmd(p, to, "next", reply, cap);
    case CTL_PREVIOUS:
        if (position_previous(p->cur, r, pos, &to) != NAV_OK)
            return refuse(p, PH_NO_PREVIOUS, reply, cap, "there is no exercise before this one");
        return seek_cmd(p, to, "previous", reply, cap);
    default:
        return seek_cmd(p, position_back(p->cur, r, pos), "back", reply, cap);
    }
}

static int repeat_cmd(struct player *p, char *reply, size_t cap)
{
    if (!p->s->have_routine) return refuse(p, PH_NOTHING_TO_REPEAT, reply, cap, "nothing to repeat yet");
    float *pcm;
    uint64_t len;
    int rc = feeder_say_last(&p->f, p->cur, played(p), &pcm, &len);
    if (rc == COACH_ENOTFOUND) return refuse(p, PH_NOTHING_TO_REPEAT, reply, cap, "nothing to repeat yet");
    if (rc) {
        send(p, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_REFUSED});
        coach_set_err(reply, cap, "error cannot speak now");
        return rc;
    }
    say_pcm(p, pcm, len, LIVE_NO_ACK, false);
    coach_set_err(reply, cap, "ok repeating");
    return 0;
}

static int where_cmd(struct player *p, char *reply, size_t cap)
{
    if (!p->s->have_routine) return refuse(p, PH_UNKNOWN_COMMAND, reply, cap, "nothing is playing");
    char *text = position_where(p->cur, &p->s->routine, &p->s->voice, p->s->level, here(p),
                                p->paused);
    int rc = text ? player_say(p, text, LIVE_NO_ACK) : COACH_ENOMEM;
    coach_set_err(reply, cap, rc ? "error cannot speak now" : "ok %s", text ? text : "");
    free(text);
    return rc;
}

static int volume_cmd(struct player *p, bool up, char *reply, size_t cap)
{
    float v = atomic_load(&p->live.r.volume);
    float limit = up ? PLAYER_VOLUME_MAX : PLAYER_VOLUME_MIN;
    bool at_limit = up ? v >= limit - 1e-4f : v <= limit + 1e-4f;
    if (!at_limit) {
        v *= up ? PLAYER_VOLUME_STEP : 1.0f / PLAYER_VOLUME_STEP;
        if (up ? v >= limit : v <= limit) v = limit;
        atomic_store(&p->live.r.volume, v);
    }
    bool now_at = up ? v >= limit - 1e-4f : v <= limit + 1e-4f;
    int pct = (int)(v * 100.0f + 0.5f);
    if (now_at) /* at the limit: say so (refused if it already was) */
        player_say_phrase(p, up ? PH_MAX_VOLUME : PH_MIN_VOLUME, at_limit ? ACK_REFUSED : ACK_VOLUME);
    else
        send(p, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_VOLUME});
    if (at_limit) {
        coach_set_err(reply, cap, "error the volume is already at its %s (%d%%)", up ? "maximum" : "minimum", pct);
        return COACH_EINVAL;
    }
    coach_set_err(reply, cap, "ok volume %d%%%s", pct, now_at ? (up ? " (maximum)" : " (minimum)") : "");
    return 0;
}

/* The self-paced part "done" would finish now: the playhead is between
 * where it asks for done and its end (where the engine holds). NULL: none
 * (or the whole plan is not there yet: the intro has none). */
static const struct wait *current_wait(struct player *p)
{
    if (!p->s->have_routine || !p->final) return NULL;
    uint64_t pos = played(p);
    uint64_t i = atomic_load_explicit(&p->live.wait_now, memory_order_relaxed);
    if (i >= p->cur->n_waits) return NULL;
    const struct wait *w = &p->cur->waits[i];
    return w->open_frame <= pos ? w : NULL;
}

/* "done": the self-paced part ends; the playhead goes to its end and on.
 * Outside one it is refused, harmlessly: a "done" misheard (or said during
 * a timed set) must not skip work; "next" does that. */
static int done_cmd(struct player *p, char *reply, size_t cap)
{
    const struct wait *w = current_wait(p);
    if (!w)
        return refuse(p, PH_NOTHING_TO_FINISH, reply, cap,
                      "nothing waits for done here: the coach is keeping the time");
    uint64_t now = now_ns(p);
    if (p->done_ns && now - p->done_ns < PLAYER_DONE_TWICE_MS * 1000000ull) {
        send(p, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_SEEK});
        coach_set_err(reply, cap, "ok done already");
        return 0;
    }
    uint32_t rate = p->live.rate_hz;
    uint64_t pos = played(p), waited = atomic_load(&p->live.wait_frames);
    uint64_t held = (pos > w->start_frame ? pos - w->start_frame : 0) + waited;
    feeder_ready_at(&p->f, w->frame, PLAYER_ANSWER_MS);
    send(p, (struct live_cmd){.kind = LIVE_SEEK, .frame = w->frame, .ack = ACK_SEEK,
                              .wait_done = true});
    struct live_note n;
    if (!await(p, NOTE_SEEKED, PLAYER_ANSWER_MS, &n)) {
        coach_set_err(reply, cap, "error the audio device did not answer");
        return COACH_EIO;
    }
    p->jumped_to = n.frame;
    p->wait_seen = SIZE_MAX;
    p->waited_frames += waited;
    p->done_ns = now_ns(p);
    if (w->kind != WAIT_HOLD) {
        coach_set_err(reply, cap, "ok done");
        return 0;
    }
    unsigned secs = (unsigned)((held + rate / 2) / rate);
    size_t used = strlen(p->held);
    if (p->n_held < HISTORY_MAX_HELD) {
        snprintf(p->held + used, sizeof p->held - used, "%s%u", used ? "," : "", secs);
        p->n_held++;
    }
    char *text = voice_format(&p->s->voice, PH_HELD, &(struct phrase_args){.seconds = secs});
    if (text) player_say(p, text, LIVE_NO_ACK);
    free(text);
    coach_set_err(reply, cap, "ok done: held %u s", secs);
    return 0;
}

/* At the end of a self-paced part: a hold = max counts on ("40 seconds"
 * every PLAN_COUNT_UP_MS), the others remind after the routine's remind
 * seconds of waiting, and again after as many more. */
static void wait_prompts(struct player *p)
{
    if (!p->s->have_routine || !p->final) return;
    uint64_t i = atomic_load_explicit(&p->live.wait_now, memory_order_relaxed);
    uint64_t waited = atomic_load(&p->live.wait_frames);
    if (i >= p->cur->n_waits || !waited) return;
    if (i != p->wait_seen) {
        p->wait_seen = (size_t)i;
        p->wait_prompts = 0;
    }
    const struct wait *w = &p->cur->waits[i];
    uint64_t rate = p->live.rate_hz;
    if (w->kind == WAIT_HOLD) {
        uint64_t due = (uint64_t)p->wait_prompts * PLAN_COUNT_UP_MS * rate / 1000;
        long secs = (PLAN_HOLD_MAX_MS + (long)p->wait_prompts * PLAN_COUNT_UP_MS) / 1000;
        if (waited < due || secs > PLAN_COUNT_UP_MAX_S) return;
        p->wait_prompts++;
        char *text = voice_format(&p->s->voice, PH_COUNT_UP, &(struct phrase_args){.seconds = secs});
        if (text) player_say(p, text, LIVE_NO_ACK);
        free(text);
        return;
    }
    uint64_t remind = p->s->routine.remind_ms;
    if (!remind || waited < (p->wait_prompts + 1) * remind * rate / 1000) return;
    p->wait_prompts++;
    char *text = voice_format_done(&p->s->voice, PH_REMIND, NULL, p->s->inputs);
    if (text) player_say(p, text, LIVE_NO_ACK);
    free(text);
}

static int stop_cmd(struct player *p, enum player_state as, char *reply, size_t cap)
{
    char t[32];
    send(p, (struct live_cmd){.kind = LIVE_STOP, .ack = ACK_PAUSE});
    struct live_note n = {.frame = played(p)};
    /* a stalled device will not answer: stop at once, where it held */
    await(p, NOTE_STOPPED, p->stalled ? 0 : PLAYER_ANSWER_MS, &n);
    p->state = as;
    coach_set_err(reply, cap, "ok stopped at %s", fmt_time(t, sizeof t, n.frame, p->live.rate_hz));
    return 0;
}

/* ---- the pain stop ---- */

/* The words of a pain stop: the routine's stop_safely (or the profile's),
 * then the offer (heap; NULL if memory ran out). */
static char *hurt_words(struct player *p)
{
    const struct routine *r = &p->s->routine;
    char *safe = r->stop_safely ? coach_strdup(r->stop_safely) : voice_format(&p->s->voice, PH_STOP_SAFELY, NULL);
    char *offer = voice_format(&p->s->voice, PH_HURT_OFFER, NULL);
    char *text = safe && offer ? coach_asprintf("%s%s%s", safe, *safe && *offer ? " " : "", offer) : NULL;
    free(safe);
    free(offer);
    return text;
}

static const char *step_id(const struct player *p, int32_t step)
{
    const struct routine *r = &p->s->routine;
    return step >= 0 && (size_t)step < r->n_steps && r->steps[step].id ? r->steps[step].id : "-";
}

static int hurt_cmd(struct player *p, char *reply, size_t cap)
{
    if (!p->s->have_routine) return refuse(p, PH_UNKNOWN_COMMAND, reply, cap, "nothing is playing");
    if (!whole_plan(p)) return refuse(p, PH_NOT_READY, reply, cap, "the routine is still being prepared");
    uint64_t pos = played(p);
    int32_t step = -1;
    uint64_t skip_to = pos;
    if (!position_skip_move(p->cur, &p->s->routine, pos, &step, &skip_to)) step = -1, skip_to = pos;
    /* the timeline holds at once (a 30 ms fade), then the words are said */
    char *text = hurt_words(p);
    float *pcm = NULL;
    uint64_t len = 0;
    uint32_t id = 0;
    if (text && *text && feeder_say(&p->f, text, &pcm, &len) == 0) {
        id = new_id(p);
        if (!remember(p, pcm, id, false)) {
            free(pcm);
            id = 0;
        }
    }
    free(text);
    bool already = p->paused;
    p->paused = true;
    p->hurt = true;
    p->hurt_step = step;
    p->hurt_skip_to = skip_to;
    if (p->pain_step < 0) p->pain_step = step >= 0 ? step : 0;
    if (id) {
        p->last_id = id;
        p->last_done = false;
    }
    send(p, (struct live_cmd){.kind = LIVE_PAUSE, .ack = ACK_PAUSE, .say_id = id,
                              .pcm = id ? pcm : NULL, .len_frames = id ? len : 0});
    char t[32];
    struct live_note n = {.frame = pos};
    if (!already && !await(p, NOTE_PAUSED, PLAYER_ANSWER_MS, &n)) {
        coach_set_err(reply, cap, "error the audio device did not answer");
        return COACH_EIO;
    }
    coach_set_err(reply, cap, "ok stopped for pain at %s, %s: next skips it, stop ends the session",
                  fmt_time(t, sizeof t, n.frame, p->live.rate_hz), step_id(p, step));
    return 0;
}

/* After a pain stop, next (or resume): on with the move after the one
 * that hurt. */
static int hurt_go_on(struct player *p, char *reply, size_t cap)
{
    p->hurt = false;
    char said[256] = "";
    if (p->hurt_skip_to != played(p)) {
        int rc = seek_cmd(p, p->hurt_skip_to, "next", said, sizeof said);
        if (rc) {
            coach_set_err(reply, cap, "%s", said);
            return rc;
        }
    }
    int rc = resume_cmd(p, reply, cap);
    if (!rc && said[0]) coach_set_err(reply, cap, "ok skipped %s; %s", step_id(p, p->hurt_step), said + 3);
    return rc;
}

/* ---- --ask-pain ---- */

/* Holds the timeline and asks; the session ends as `after` once answered
 * (or not). A profile without the question ends it at once. */
static void ask_pain(struct player *p, enum player_state after)
{
    p->asked = true;
    p->ask_due = false;
    p->after_ask = after;
    const char *q = p->s->voice.phrases[PH_ASK_PAIN];
    char *text = q && *q ? voice_format(&p->s->voice, PH_ASK_PAIN, NULL) : NULL;
    float *pcm = NULL;
    uint64_t len = 0;
    if (!text || feeder_say(&p->f, text, &pcm, &len)) {
        free(text);
        stop_cmd(p, after, NULL, 0);
        return;
    }
    free(text);
    uint32_t id = new_id(p);
    if (!remember(p, pcm, id, false)) {
        free(pcm);
        stop_cmd(p, after, NULL, 0);
        return;
    }
    p->last_id = id;
    p->last_done = false;
    p->paused = true;
    p->hurt = false;
    p->asking = true;
    int ms = p->o.ask_pain_ms > 0 ? p->o.ask_pain_ms : PLAYER_ASK_PAIN_MS;
    p->ask_until_ns = now_ns(p) + (uint64_t)ms * 1000000ull;
    send(p, (struct live_cmd){.kind = LIVE_PAUSE, .ack = LIVE_NO_ACK, .say_id = id, .pcm = pcm,
                              .len_frames = len});
}

/* The answer (or none: n < 0): confirmed in words, then the session ends. */
static void answer_pain(struct player *p, int n)
{
    p->asking = false;
    p->one_pending = false;
    if (n < 0) {
        stop_cmd(p, p->after_ask, NULL, 0);
        return;
    }
    p->has_pain = true;
    p->pain = (unsigned)n;
    p->finishing = true;
    p->finish_until_ns = now_ns(p) + 10000ull * 1000000ull;
    char *text = voice_format(&p->s->voice, PH_PAIN_NOTED, &(struct phrase_args){.n = n});
    int rc = text && *text ? player_say(p, text, LIVE_NO_ACK) : COACH_ENOTFOUND;
    free(text);
    if (rc == 0) return;
    p->finishing = false;
    stop_cmd(p, p->after_ask, NULL, 0);
}

static int asking_cmd(struct player *p, enum ctl_cmd c, char *reply, size_t cap)
{
    if (p->one_pending) { /* 1 then 0: 10; 1 then anything else: 1 */
        answer_pain(p, c == CTL_PAIN_0 ? 10 : 1);
        coach_set_err(reply, cap, "ok pain %u noted", p->pain);
        return 0;
    }
    if (c == CTL_PAIN_0 + 1) {
        p->one_pending = true;
        p->one_ns = now_ns(p);
        coach_set_err(reply, cap, "ok pain 1 (a 0 within a second makes it 10)");
        return 0;
    }
    if (CTL_IS_PAIN(c)) {
        answer_pain(p, (int)(c - CTL_PAIN_0));
        coach_set_err(reply, cap, "ok pain %u noted", p->pain);
        return 0;
    }
    switch (c) {
    case CTL_STOP:
        answer_pain(p, -1);
        coach_set_err(reply, cap, "ok stopped, no pain rating");
        return 0;
    case CTL_VOLUME_UP:
    case CTL_VOLUME_DOWN: return volume_cmd(p, c == CTL_VOLUME_UP, reply, cap);
    case CTL_REPEAT:
        player_say_phrase(p, PH_ASK_PAIN, LIVE_NO_ACK);
        coach_set_err(reply, cap, "ok asking again");
        return 0;
    default:
        return refuse(p, PH_ASK_PAIN, reply, cap, "the session is over: answer with pain 0-10, or stop");
    }
}

/* The question's clock: a pending 1, the time limit, the confirmation. */
static void asking_tick(struct player *p)
{
    uint64_t now = now_ns(p);
    if (p->ask_due) ask_pain(p, p->after_ask);
    if (p->asking && p->one_pending && now - p->one_ns >= PLAYER_TEN_MS * 1000000ull) answer_pain(p, 1);
    if (p->asking && now >= p->ask_until_ns) answer_pain(p, -1);
    if (p->finishing && (p->last_done || now >= p->finish_until_ns)) {
        p->finishing = false;
        player_wait_said(p, 0); /* the device's buffer too */
        stop_cmd(p, p->after_ask, NULL, 0);
    }
}

int player_command(struct player *p, enum ctl_cmd c, char *reply, size_t cap)
{
    if (reply && cap) reply[0] = 0;
    drain(p, -1, NULL);
    if (p->state != PLAYER_PLAYING) {
        coach_set_err(reply, cap, "error the session is over");
        return COACH_EINVAL;
    }
    if (p->asking) return asking_cmd(p, c, reply, cap);
    if (p->finishing) {
        coach_set_err(reply, cap, "error the session is ending");
        return COACH_EINVAL;
    }
    if (p->hurt && (c == CTL_NEXT || c == CTL_RESUME || c == CTL_TOGGLE)) return hurt_go_on(p, reply, cap);
    if (c == CTL_PREVIOUS || c == CTL_BACK) p->hurt = false; /* asked for: no more skipping */
    if (c == CTL_TOGGLE) c = p->paused ? CTL_RESUME : CTL_PAUSE;
    if (c == CTL_STOP && p->o.ask_pain && !p->asked && p->s->have_routine) {
        ask_pain(p, PLAYER_STOPPED);
        if (p->asking) {
            coach_set_err(reply, cap, "ok stopping: pain 0-10 answers the question, stop ends it");
            return 0;
        }
        coach_set_err(reply, cap, "ok stopped");
        return 0;
    }
    if (CTL_IS_PAIN(c))
        return refuse(p, PH_UNKNOWN_COMMAND, reply, cap, "no question waits for a pain rating");
    switch (c) {
    case CTL_PAUSE: return pause_cmd(p, reply, cap);
    case CTL_RESUME: return resume_cmd(p, reply, cap);
    case CTL_NEXT: /* while a self-paced part waits, next (MPRIS Next, a button) is done */
        if (current_wait(p)) return done_cmd(p, reply, cap);
        return nav_cmd(p, c, reply, cap);
    case CTL_DONE: return done_cmd(p, reply, cap);
    case CTL_PREVIOUS:
    case CTL_BACK: return nav_cmd(p, c, reply, cap);
    case CTL_REPEAT: return repeat_cmd(p, reply, cap);
    case CTL_WHERE: return where_cmd(p, reply, cap);
    case CTL_VOLUME_UP:
    case CTL_VOLUME_DOWN: return volume_cmd(p, c == CTL_VOLUME_UP, reply, cap);
    case CTL_STOP: return stop_cmd(p, PLAYER_STOPPED, reply, cap);
    case CTL_HURT: return hurt_cmd(p, reply, cap);
    default:
        return refuse(p, PH_UNKNOWN_COMMAND, reply, cap, "unknown command");
    }
}

void player_interrupt(struct player *p)
{
    /* a signal while the question waits: the session itself had ended */
    bool after = p->asking || p->finishing || p->ask_due;
    if (p->state == PLAYER_PLAYING) stop_cmd(p, after ? p->after_ask : PLAYER_INTERRUPTED, NULL, 0);
}

/* ---- the session's course ---- */

int player_fd(const struct player *p) { return p->f.wake_fd[0]; }

enum player_state player_tick(struct player *p)
{
    char junk[64];
    while (read(p->f.wake_fd[0], junk, sizeof junk) > 0) {
    }
    swap_in(p);
    drain(p, -1, NULL);
    if (p->state != PLAYER_PLAYING) return p->state;
    if (feeder_failed(&p->f, p->err, sizeof p->err)) {
        stop_cmd(p, PLAYER_FAILED, NULL, 0);
        return p->state;
    }
    if (p->ask_due || p->asking || p->finishing) asking_tick(p);
    if (p->state != PLAYER_PLAYING) return p->state;
    if (p->final) make_paused(p); /* the speech thread is free now: the first pause is instant */
    if (!p->ops->active(p->sink)) { /* the stream stopped: unplugged, the server quit */
        p->state = PLAYER_LOST;
        return p->state;
    }
    /* No callback, the stream still there: the device (a sound server) is
     * stalled; wait for it, up to give_up. Only time this thread ran
     * counts: a gap between ticks is a process stopped, not a device. */
    uint64_t e = atomic_load(&p->live.epoch), now = now_ns(p);
    uint64_t dt = p->last_tick_ns && now > p->last_tick_ns ? now - p->last_tick_ns : 0;
    p->last_tick_ns = now;
    if (dt > PLAYER_TICK_GAP_MS * 1000000ull) dt = 0;
    if (e != p->last_epoch) {
        p->last_epoch = e;
        p->still_ns = 0;
    } else {
        p->still_ns += dt;
    }
    p->stalled = p->stall_ns && p->still_ns >= p->stall_ns;
    if (p->stalled && p->still_ns >= p->give_up_ns) p->state = PLAYER_STALLED;
    if (p->state == PLAYER_PLAYING && !p->stalled) wait_prompts(p);
    return p->state;
}

void player_run(struct player *p, int ms)
{
    for (int t = 0; t < ms && p->state == PLAYER_PLAYING; t += 20) {
        p->ops->wait(p->sink, ms - t < 20 ? ms - t : 20);
        player_tick(p);
    }
}

void player_status(struct player *p, struct player_status *st)
{
    uint64_t pos = played(p);
    const struct chapter *c = p->cur ? timeline_chapter_at(p->cur, here(p)) : NULL;
    snprintf(p->title, sizeof p->title, "%s", c ? c->title : "");
    *st = (struct player_status){.state = p->state, .pos = pos, .rate_hz = p->live.rate_hz,
                                 .paused = p->paused, .stalled = p->stalled,
                                 .chapter = c ? (long)(c - p->cur->ch) : -1,
                                 .chapter_title = p->title, .chapter_frame = c ? c->frame : 0,
                                 .chapter_end_frame = c ? c->end_frame : 0,
                                 .n_chapters = p->cur ? p->cur->n_ch : 0};
    int mode = atomic_load_explicit(&p->live.mode_now, memory_order_relaxed);
    uint64_t back = (uint64_t)p->live.rate_hz * PLAYER_SPEAKING_MS / 1000;
    st->speaking = mode == LIVE_SPEAKING ||
                   (mode == LIVE_RUN && timeline_speech_between(p->cur, pos > back ? pos - back : 0, pos + 1));
    struct sink_stats ss = {0};
    if (p->sink) p->ops->stats(p->sink, &ss);
    st->latency_s = ss.latency_s;
    st->self_paced = p->state == PLAYER_PLAYING && current_wait(p) != NULL;
    st->waiting = st->self_paced && atomic_load(&p->live.wait_frames) > 0;
    st->asking = p->asking;
}

float player_volume(const struct player *p) { return atomic_load(&p->live.r.volume); }

const struct timeline *player_timeline(const struct player *p) { return p->cur; }

struct sink *player_sink(struct player *p) { return p->sink; }

const char *player_error(struct player *p) { return p->err; }

/* ---- opening and closing ---- */

static enum player_fail open_sink(struct player *p, char *err, size_t cap)
{
    struct sink_config cfg = p->o.sink_cfg;
    cfg.render = render_cb;
    cfg.render_ctx = p;
    cfg.pace = pace;
    cfg.pace_ctx = p;
    if (!cfg.rate_hz) cfg.rate_hz = p->s->clips.rate_hz;
    int rc = p->ops->open(&p->sink, &cfg, err, cap);
    if (rc == COACH_ETIMEDOUT) return PLAYER_HUNG;
    if (rc == COACH_ENOMEM) return PLAYER_NOMEM;
    if (rc) return PLAYER_NO_DEVICE;
    uint32_t rate = p->ops->rate(p->sink);
    if (rate != p->s->clips.rate_hz && session_set_rate(p->s, rate)) {
        coach_set_err(err, cap, "cannot plan at the device's rate %u Hz", rate);
        return PLAYER_NO_DEVICE;
    }
    return PLAYER_OK;
}

static enum player_fail open_music(struct player *p, char *err, size_t cap)
{
    if (!p->o.music) return PLAYER_OK;
    int rc = music_load(&p->music, p->o.music, p->s->clips.rate_hz, err, cap);
    if (rc) return rc == COACH_ENOTFOUND ? PLAYER_NO_MUSIC : rc == COACH_ENOMEM ? PLAYER_NOMEM : PLAYER_BAD_MUSIC;
    p->have_music = true;
    return PLAYER_OK;
}

static enum player_fail open_engine(struct player *p, char *err, size_t cap)
{
    const struct timeline *first;
    int rc = feeder_start(&p->f, p->s, &first);
    p->have_feeder = true;
    if (rc) {
        feeder_failed(&p->f, err, cap);
        if (!err[0]) coach_set_err(err, cap, "%s", p->f.err[0] ? p->f.err : coach_strerror(rc));
        return rc == COACH_ESPEECH ? PLAYER_SPEECH : rc == COACH_ENOMEM ? PLAYER_NOMEM : PLAYER_PLAN;
    }
    uint32_t rate = p->s->clips.rate_hz;
    if (!first) { /* a voice only: a day of silence, held */
        p->silence = (struct timeline){.rate_hz = rate, .len_frames = (uint64_t)rate * 86400,
                                       .ending_frame = (uint64_t)rate * 86400};
        first = &p->silence;
    }
    p->cur = first;
    rc = live_init(&p->live, first, false, p->f.slots, p->o.sink_cfg.channels ? p->o.sink_cfg.channels : 1,
                   PLAYER_MAX_BLOCK);
    if (rc) return PLAYER_NOMEM;
    p->have_live = true;
    if (p->have_music) render_set_music(&p->live.r, &p->music);
    render_set_gain(&p->live.r, loudness_program_gain(p->o.loudness));
    p->live.linger = p->o.ask_pain && p->s->have_routine; /* the question follows the end */
    if (p->s->preroll_ms) /* a routine's timeline starts with its own lead-in */
        live_keepalive(&p->live, frames_from_ms(p->s->preroll_ms, rate),
                       frames_from_ms(PLAN_KEEPALIVE_GAP_MS, rate), p->s->have_routine);
    atomic_store(&p->live.r.volume, p->o.volume > 0.0f ? p->o.volume : 1.0f);
    if (!p->s->have_routine) /* nothing plays but what is said (not the listener's pause) */
        send(p, (struct live_cmd){.kind = LIVE_PAUSE, .ack = LIVE_NO_ACK});
    feeder_attach(&p->f, &p->live);
    return PLAYER_OK;
}

static void release(struct player *p)
{
    if (p->sink) p->ops->close(p->sink); /* no callback after this */
    p->sink = NULL;
    if (p->have_feeder) feeder_stop(&p->f);
    if (p->have_live) live_free(&p->live);
    if (p->have_music) music_free(&p->music);
    for (size_t i = 0; i < p->n_said; i++)
        if (!p->said[i].keep) free(p->said[i].pcm);
    free(p->said);
    free(p->paused_pcm);
    free(p->done);
    free(p);
}

enum player_fail player_open(struct player **out, struct session *s, const struct player_opts *o,
                             char *err, size_t err_cap)
{
    *out = NULL;
    if (err && err_cap) err[0] = 0;
    struct player *p = calloc(1, sizeof *p);
    if (!p) return PLAYER_NOMEM;
    p->s = s;
    p->o = *o;
    p->ops = o->sink;
    p->state = PLAYER_PLAYING;
    p->jumped_to = UINT64_MAX;
    p->wait_seen = SIZE_MAX;
    p->hurt_step = p->pain_step = -1;
    if (s->have_routine && !(p->done = calloc(s->routine.n_steps + 1, 1))) {
        free(p);
        return PLAYER_NOMEM;
    }
    enum player_fail f = open_sink(p, err, err_cap);
    /* the speech engine may have started while the sound system did
     * (session_opts.speech_async): its failure is told first, as when it
     * started with the session */
    if (f != PLAYER_HUNG && session_speech_ready(s, err, err_cap)) f = PLAYER_SPEECH;
    if (!f) f = open_music(p, err, err_cap);
    if (!f) f = open_engine(p, err, err_cap);
    if (!f && p->ops->start(p->sink, err, err_cap)) f = PLAYER_NO_DEVICE;
    if (f) {
        if (f == PLAYER_HUNG) p->sink = NULL; /* nothing to close: it never opened */
        release(p);
        return f;
    }
    p->started_at = time(NULL);
    bool device = p->ops->realtime;
    int stall_ms = o->stall_ms > 0 ? o->stall_ms : device ? PLAYER_STALL_MS : 0;
    int give_up_ms = o->give_up_ms > 0 ? o->give_up_ms : PLAYER_GIVE_UP_MS;
    p->stall_ns = (uint64_t)stall_ms * 1000000ull;
    p->give_up_ns = (uint64_t)give_up_ms * 1000000ull;
    *out = p;
    return PLAYER_OK;
}

/* Steps done and skipped among steps [lo, hi), from the chapters of the
 * whole plan: a move not played through is skipped if the session went
 * past its end. */
static void count_moves_in(struct player *p, uint64_t pos, size_t lo, size_t hi, unsigned *total,
                           unsigned *done, unsigned *skipped)
{
    const struct routine *r = &p->s->routine;
    *total = *done = *skipped = 0;
    for (size_t i = lo; i < hi; i++) {
        *total += position_is_move(r, (int32_t)i);
        *done += p->done[i] && position_is_move(r, (int32_t)i);
    }
    if (!p->final) return;
    bool ended = p->state == PLAYER_ENDED;
    for (size_t i = 0; i < p->cur->n_ch; i++) {
        int32_t step = p->cur->ch[i].step;
        if (step >= 0 && (size_t)step >= lo && (size_t)step < hi && position_is_move(r, step) &&
            !p->done[step] && (ended || timeline_chapter_content_end(p->cur, i) <= pos))
            (*skipped)++;
    }
}

static void count_moves(struct player *p, uint64_t pos, struct player_summary *sum)
{
    count_moves_in(p, pos, 0, p->s->routine.n_steps, &sum->moves_total, &sum->moves_done,
                   &sum->moves_skipped);
}

/* Where --resume starts again: the step of the chapter playing at pos (a
 * rest's chapter holds the lead-in of the move after it), or, in the
 * intro, the step the session started at. -1: it was played to the end. */
static int32_t stop_step(const struct player *p, uint64_t pos)
{
    if (p->state == PLAYER_ENDED) return -1;
    const struct routine *r = &p->s->routine;
    const struct chapter *c = p->cur ? timeline_chapter_at(p->cur, pos) : NULL;
    if (c && c->step >= 0 && (size_t)c->step < r->n_steps) return c->step;
    return p->s->from ? (int32_t)(p->s->from - r->steps) : -1;
}

static const char *ending_of(enum player_state st)
{
    switch (st) {
    case PLAYER_ENDED: return "completed";
    case PLAYER_STOPPED: return "stopped";
    case PLAYER_INTERRUPTED: return "interrupted";
    default: return "error";
    }
}

/* A sequence: where part k starts in the whole plan (its own chapter, the
 * k+2nd of step -1 after the intro's); UINT64_MAX if the plan playing is
 * not the whole one. */
static uint64_t part_frame(const struct player *p, size_t k)
{
    if (!p->final || !p->cur) return UINT64_MAX;
    size_t seen = 0;
    for (size_t i = 1; i < p->cur->n_ch; i++)
        if (p->cur->ch[i].step < 0 && seen++ == k) return p->cur->ch[i].frame;
    return UINT64_MAX;
}

/* A sequence: one history record per routine reached, in order. The ones
 * before the routine playing at the end were played to their end
 * ("completed", with the moves skipped counted); the one playing ends as
 * the session did, with its stop step; the ones after were not begun and
 * get none. Time heard is given to each routine up to its length in the
 * plan (the intro counts to the first), the rest to the last one. */
/* A sequence: the part playing at pos (the last one once it ended). */
static size_t part_at(const struct player *p, uint64_t pos)
{
    const struct routine *r = &p->s->routine;
    size_t cur = 0;
    if (p->state == PLAYER_ENDED) return r->n_parts - 1;
    while (cur + 1 < r->n_parts && part_frame(p, cur + 1) <= pos) cur++;
    return cur;
}

static void record_parts(struct player *p, uint64_t pos, struct player_summary *sum)
{
    const struct routine *r = &p->s->routine;
    size_t cur = part_at(p, pos);
    uint64_t heard_s = sum->heard_frames / sum->rate_hz;
    for (size_t k = 0; k <= cur; k++) {
        const struct routine_part *pt = &r->parts[k];
        unsigned total, done, skipped;
        count_moves_in(p, pos, pt->first_step, pt->first_step + pt->n_steps, &total, &done,
                       &skipped);
        uint64_t secs = heard_s;
        if (k < cur) {
            uint64_t from = k ? part_frame(p, k) : 0, to = part_frame(p, k + 1);
            uint64_t span_s = to > from && to != UINT64_MAX ? (to - from) / sum->rate_hz : 0;
            if (secs > span_s) secs = span_s;
        }
        heard_s -= secs;
        const struct step *stop = sum->stop_step >= 0 && (size_t)sum->stop_step >= pt->first_step &&
                                          (size_t)sum->stop_step < pt->first_step + pt->n_steps
                                      ? &r->steps[sum->stop_step]
                                      : NULL;
        struct history_record rec = {
            .when = p->started_at, .routine = pt->name, .title = pt->src->title,
            .steps_done = done, .steps_total = total, .skipped = skipped, .seconds = secs,
            .ending = k < cur ? "completed" : ending_of(p->state),
            .stop_step = k == cur && stop ? stop->id : NULL,
            /* the pain stop in the routine it happened in; the rating and
             * the holds' times (the session's) with the last record */
            .pain_step = p->pain_step >= (int32_t)pt->first_step &&
                                 p->pain_step < (int32_t)(pt->first_step + pt->n_steps)
                             ? r->steps[p->pain_step].id
                             : NULL,
            .has_pain = k == cur && p->has_pain, .pain = p->pain,
            .held = k == cur ? p->held : NULL};
        if (history_append(p->o.history_path, &rec)) {
            sum->history_failed = true;
            sum->history_errno = errno;
            return;
        }
    }
}

void player_close(struct player *p, struct player_summary *sum)
{
    struct player_summary z;
    if (!sum) sum = &z;
    memset(sum, 0, sizeof *sum);
    if (p->state == PLAYER_PLAYING)
        stop_cmd(p, p->asking || p->finishing || p->ask_due ? p->after_ask : PLAYER_STOPPED, NULL, 0);
    drain(p, -1, NULL);
    struct sink_stats st;
    p->ops->stats(p->sink, &st);
    uint64_t pos = played(p);
    sum->state = p->state;
    sum->pos = pos;
    /* held at the end of a self-paced part: still in it, not past it */
    uint64_t at = p->s->have_routine ? here(p) : pos;
    sum->rate_hz = p->live.rate_hz;
    sum->heard_frames = atomic_load(&p->live.heard_frames);
    sum->first_sound_ns = st.first_sound_ns;
    sum->latency_s = st.latency_s;
    sum->underruns = st.underruns;
    sum->missed_clips = atomic_load(&p->live.r.missing_clips);
    sum->stall_frames = atomic_load(&p->live.stall_frames);
    sum->lost_notes = atomic_load(&p->live.lost_notes);
    sum->stop_step = -1;
    sum->stop_part = -1;
    sum->pain_step = p->pain_step;
    sum->has_pain = p->has_pain;
    sum->pain = p->pain;
    if (p->s->have_routine) {
        count_moves(p, at, sum);
        sum->stop_step = stop_step(p, at); /* waiting: the step it waits in */
        if (p->s->routine.parts && p->state != PLAYER_ENDED) sum->stop_part = (int32_t)part_at(p, at);
    }
    if (p->s->have_routine && p->o.history_path && p->s->routine.parts) {
        record_parts(p, at, sum);
    } else if (p->s->have_routine && p->o.history_path) {
        const struct routine *r = &p->s->routine;
        struct history_record rec = {
            .from_step = p->s->from ? p->s->from->id : NULL,
            .stop_step = sum->stop_step >= 0 ? r->steps[sum->stop_step].id : NULL,
            .when = p->started_at, .routine = p->s->name, .title = p->s->routine.title,
            .steps_done = sum->moves_done, .steps_total = sum->moves_total,
            .skipped = sum->moves_skipped, .ending = ending_of(p->state), .held = p->held,
            /* the time waited for "done" was exercise too */
            .seconds = (sum->heard_frames + p->waited_frames +
                        atomic_load(&p->live.wait_frames)) / sum->rate_hz,
            .pain_step = p->pain_step >= 0 ? r->steps[p->pain_step].id : NULL,
            .has_pain = p->has_pain, .pain = p->pain};
        if (history_append(p->o.history_path, &rec)) {
            sum->history_failed = true;
            sum->history_errno = errno;
        }
    }
    release(p);
}
