/* Self-paced parts: "pace = self" reps, "hold = max" and "rest = ready".
 *   - the routine keys, their defaults and the rules between keys;
 *   - the plan: each is an open-ended segment (timeline.h's struct wait)
 *     of the default length of plan.h, with nothing sounding across its
 *     end; a hold counts up every 10 s; captions say what time an export
 *     gives it;
 *   - the player (memory sink, real speech): the playhead holds at the end
 *     of the part, a reminder is said after the routine's remind seconds,
 *     "done" (and "next" while waiting) plays on from there exactly as the
 *     routine goes on; "done" elsewhere is refused and skips nothing; a hold
 *     is counted on past its default and the time held goes to the history. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/captions.h"
#include "coach/common.h"
#include "coach/clipwin.h"
#include "coach/history.h"
#include "coach/live.h"
#include "coach/plan.h"
#include "coach/player.h"
#include "coach/position.h"
#include "coach/render.h"
#include "coach/session.h"
#include "coach/tone.h"
#include "testutil.h"

#define RATE 48000
#define BLOCK 480
#define FADE ((uint64_t)RATE * LIVE_FADE_MS / 1000)

static struct voice voice;

static int parse(const char *text, struct routine *r)
{
    struct coach_diags d;
    diags_init(&d);
    int rc = routine_parse("inline.ini", text, strlen(text), r, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    return rc;
}

/* ---- the routine file ---- */

static const char *all_kinds =
    "[routine]\ntitle = Self\nrest = ready\nremind = 20\nprepare = 1\ncountdown = 2\n"
    "[exercise squat]\nname = Squat\npace = self\nreps = 10\nsides = left, right\n"
    "[exercise plank]\nname = Plank\nhold = max\nsets = 2\nrest_sets = 5\n"
    "[rest breather]\nseconds = ready\nsay = Shake out your legs.\n"
    "[exercise bridge]\nname = Bridge\nhold = 5\npace = timed\n";

static void keys(void)
{
    printf("routine keys\n");
    struct routine r;
    CHECK(parse(all_kinds, &r) == 0);
    CHECK(r.rest_ready && r.remind_ms == 20000 && r.n_steps == 4);
    CHECK(r.steps[0].pace_self && !r.steps[0].hold_max && r.steps[0].reps.lo == 10);
    CHECK(r.steps[1].hold_max && !r.steps[1].pace_self && r.steps[1].hold_ms.hi == 0);
    CHECK(r.steps[2].rest_ready && r.steps[2].text);
    CHECK(!r.steps[3].pace_self && !r.steps[3].hold_max && r.steps[3].hold_ms.lo == 5000);
    routine_free(&r);

    /* defaults: timed, a reminder a minute, rests timed */
    CHECK(parse("[routine]\ntitle = T\n[exercise a]\nname = A\nhold = 5\n", &r) == 0);
    CHECK(r.remind_ms == ROUTINE_REMIND_MS && !r.rest_ready && !r.steps[0].pace_self);
    routine_free(&r);
    CHECK(parse("[routine]\ntitle = T\nremind = 0\n[rest a]\nseconds = ready\n", &r) == 0);
    CHECK(r.remind_ms == 0);
    routine_free(&r);

    /* the rules (their messages: tests/bad/pace-*, hold-max-reps, remind-short) */
    static const char *const bad[] = {
        "[routine]\ntitle = T\n[exercise a]\nname = A\npace = self\nreps = 5\nhold = 5\n",
        "[routine]\ntitle = T\n[exercise a]\nname = A\npace = self\n",
        "[routine]\ntitle = T\n[exercise a]\nname = A\nhold = max\nreps = 2\n",
        "[routine]\ntitle = T\n[exercise a]\nname = A\nhold = max\ntempo = 2, 2\n",
        "[routine]\ntitle = T\n[exercise a]\nname = A\nreps = 5\npace = fast\n",
        "[routine]\ntitle = T\nremind = 3\n[exercise a]\nname = A\nhold = 5\n",
        "[routine]\ntitle = T\nrest = max\n[exercise a]\nname = A\nhold = 5\n",
        "[routine]\ntitle = T\n[rest a]\nseconds = max\n",
        "[routine]\ntitle = T\n[breathing a]\nname = B\ninhale = 2\nexhale = 2\ncycles = 2\nhold = max\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct coach_diags d;
        diags_init(&d);
        int rc = routine_parse("bad.ini", bad[i], strlen(bad[i]), &r, &d);
        CHECKF(rc == COACH_EINVAL && d.len > 0, "bad routine %zu accepted", i);
        diags_free(&d);
    }
}

/* ---- the plan ---- */

static bool text_at(const struct timeline *tl, const struct clipstore *cs, uint64_t frame,
                    const char *text)
{
    for (size_t i = 0; i < tl->n_ev; i++)
        if (tl->ev[i].kind == EV_SPEECH && tl->ev[i].frame == frame &&
            strcmp(clipstore_text(cs, tl->ev[i].clip), text) == 0)
            return true;
    return false;
}

static void plan(void)
{
    printf("plan segments\n");
    struct routine r;
    CHECK(parse(all_kinds, &r) == 0);
    struct clipstore est;
    test_estimator(&est, RATE);
    struct timeline tl;
    struct plan_opts o = {.rate_hz = RATE, .level = LEVEL_EASY};
    char err[512] = "";
    CHECKF(plan_build(&r, &voice, &est, &o, &tl, err, sizeof err) == 0, "%s", err);
    test_plan_invariants("self-paced", &tl, &est);
    /* squat: 2 sides; the rest before plank; plank: 2 sets; the [rest] */
    CHECKF(tl.n_waits == 6, "%zu waits", tl.n_waits);
    static const uint8_t kind[6] = {WAIT_REPS, WAIT_REPS, WAIT_REST, WAIT_HOLD, WAIT_HOLD, WAIT_REST};
    static const int32_t step[6] = {0, 0, 1, 1, 1, 2};
    for (size_t i = 0; i < tl.n_waits && i < 6; i++) {
        const struct wait *w = &tl.waits[i];
        CHECKF(w->kind == kind[i] && w->step == step[i], "wait %zu: kind %u step %d", i, w->kind,
               w->step);
        CHECK(w->open_frame <= w->start_frame && w->start_frame < w->frame);
        CHECK(i == 0 || tl.waits[i - 1].frame <= w->open_frame);
        CHECK(w->caption && strstr(w->caption, "in this recording]"));
        uint64_t len = w->frame - w->start_frame;
        if (w->kind == WAIT_REPS) {
            CHECK(len == 10ull * PLAN_SELF_REP_MS * RATE / 1000);
            CHECK(strcmp(w->caption, "[at your own pace: 40 seconds in this recording]") == 0);
        } else if (w->kind == WAIT_HOLD) {
            CHECK(len == (uint64_t)PLAN_HOLD_MAX_MS * RATE / 1000);
            /* counted up, and "Release" right at the end */
            CHECK(text_at(&tl, &est, w->start_frame + 10ull * RATE, "10 seconds."));
            CHECK(text_at(&tl, &est, w->start_frame + 20ull * RATE, "20 seconds."));
            CHECK(text_at(&tl, &est, w->frame, "Release."));
        } else {
            CHECK(len >= (uint64_t)PLAN_REST_READY_MS * RATE / 1000);
        }
        /* nothing sounds across the end, where live playback holds */
        for (size_t e = 0; e < tl.n_ev; e++) {
            const struct event *x = &tl.ev[e];
            CHECKF(!(x->frame < w->frame && x->frame + x->len_frames > w->frame),
                   "event %zu (%s) crosses wait %zu", e, event_kind_name(x->kind), i);
        }
    }
    /* the self-paced set is said, not counted: no rep numbers in it */
    const struct wait *w0 = &tl.waits[0];
    for (size_t e = 0; e < tl.n_ev; e++)
        if (tl.ev[e].frame > w0->start_frame && tl.ev[e].frame < w0->frame)
            CHECKF(0, "event %zu inside a self-paced set", e);
    /* no inputs (an export): the words alone */
    CHECK(text_at(&tl, &est, w0->open_frame, "10 repetitions at your own pace."));
    CHECK(timeline_wait_from(&tl, 0, false) == 0);
    CHECK(timeline_wait_from(&tl, w0->frame, false) == 0);
    CHECK(timeline_wait_from(&tl, w0->frame, true) == 1);

    /* where am I in a part the listener times: no time left in it */
    char *where = position_where(&tl, &r, &voice, LEVEL_EASY, w0->frame - 1, false);
    CHECKF(where && strstr(where, "Squat.") && !strstr(where, "left in this step"), "%s", where);
    free(where);
    where = position_where(&tl, &r, &voice, LEVEL_EASY, w0->open_frame - 1, false);
    CHECKF(where && strstr(where, "left in this step"), "%s", where);
    free(where);

    /* captions: a cue over each part saying the time given to it */
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    CHECK(captions_write(&tl, &est, CAPTIONS_SRT, r.title, m) == 0);
    fclose(m);
    size_t cues = 0;
    for (const char *c = text; (c = strstr(c, "[at your own pace: ")); c++) cues++;
    CHECKF(cues == 6, "%zu self-paced cues", cues);
    CHECK(strstr(text, "[at your own pace: 40 seconds in this recording]"));
    free(text);
    /* the plan's listing shows where live playback waits */
    m = open_memstream(&text, &len);
    plan_dump_text(&tl, &est, &r, m);
    fclose(m);
    CHECK(strstr(text, "wait for done (live; 40.000 s here"));
    free(text);
    timeline_free(&tl);
    clipstore_free(&est);
    routine_free(&r);
}

/* The words say how to answer with the inputs the session has: "say coach
 * done" only when listening, Enter only with keys, Next only with MPRIS;
 * the same in every shipped profile. */
static void inputs(void)
{
    printf("plan: how to say done, by the session's inputs\n");
    struct routine r;
    CHECK(parse(all_kinds, &r) == 0);
    struct clipstore est;
    test_estimator(&est, RATE);
    static const struct {
        unsigned in;
        const char *want;
    } cases[] = {
        {0, "10 repetitions at your own pace."},
        {VOICE_IN_LISTEN, "10 repetitions at your own pace. When you are done, say coach done."},
        {VOICE_IN_KEYS, "10 repetitions at your own pace. When you are done, press Enter."},
        {VOICE_IN_LISTEN | VOICE_IN_KEYS,
         "10 repetitions at your own pace. When you are done, say coach done, or press Enter."},
        {VOICE_IN_BUTTON,
         "10 repetitions at your own pace. When you are done, press Next on your headset or media keys."},
        {VOICE_IN_ALL, "10 repetitions at your own pace. When you are done, say coach done, press "
                       "Enter, or press Next on your headset or media keys."},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct timeline tl;
        struct plan_opts o = {.rate_hz = RATE, .level = LEVEL_EASY, .inputs = cases[c].in};
        char err[512] = "";
        CHECKF(plan_build(&r, &voice, &est, &o, &tl, err, sizeof err) == 0, "%s", err);
        CHECKF(tl.n_waits && text_at(&tl, &est, tl.waits[0].open_frame, cases[c].want),
               "inputs %u: not '%s'", cases[c].in, cases[c].want);
        timeline_free(&tl);
    }
    /* every profile: each input set has its words; "coach done" only when
     * listening (the spoken command stays English), never in the words alone */
    static const char *profiles[] = {"en-us", "en-gb", "de", "es", "fr", "it", "nl", "pt-br"};
    static const char *enter[] = {"Enter", "Enter", "Enter", "Intro", "Entrée", "Invio", "Enter", "Enter"};
    for (size_t k = 0; k < sizeof profiles / sizeof *profiles; k++) {
        char rel[64];
        snprintf(rel, sizeof rel, "voices/%s.ini", profiles[k]);
        struct voice v;
        struct coach_diags d;
        diags_init(&d);
        int rc = voice_load(test_src_path(rel), &v, &d);
        diags_print(&d, stderr);
        diags_free(&d);
        CHECKF(rc == 0, "%s", rel);
        if (rc) continue;
        static const enum phrase_id words[] = {PH_SELF_REPS, PH_HOLD_MAX, PH_REST_READY, PH_REMIND};
        for (unsigned in = 0; in <= VOICE_IN_ALL; in++) {
            for (size_t w = 0; w < 4; w++) {
                char *alone = voice_format(&v, words[w], &(struct phrase_args){.reps = 10});
                char *t = voice_format_done(&v, words[w], &(struct phrase_args){.reps = 10}, in);
                CHECKF(t && alone && strncmp(t, alone, strlen(alone)) == 0 &&
                           (in ? strlen(t) > strlen(alone) + 10 : strcmp(t, alone) == 0),
                       "%s %s inputs %u: '%s'", profiles[k], phrase_key(words[w]), in, t ? t : "");
                CHECKF(t && !strstr(alone, enter[k]) && !strstr(alone, "coach done") &&
                           !!strstr(t, "coach done") == !!(in & VOICE_IN_LISTEN) &&
                           !!strstr(t, enter[k]) == !!(in & VOICE_IN_KEYS),
                       "%s %s inputs %u: '%s'", profiles[k], phrase_key(words[w]), in, t ? t : "");
                free(t);
                free(alone);
            }
        }
        voice_free(&v);
    }
    clipstore_free(&est);
    routine_free(&r);
}

/* ---- live ---- */

static const char *live_text =
    "[routine]\ntitle = Live self\nrest = ready\nprepare = 1\ncountdown = 0\nremind = 10\n"
    "[exercise squat]\nname = Squat\npace = self\nreps = 2\n"
    "[exercise plank]\nname = Plank\nhold = max\n"
    "[exercise bridge]\nname = Bridge\nhold = 2\n";

static char routine_path[4096], history_path[4096];

struct run {
    struct session s;
    float *ref; /* the routine rendered as export renders it */
    struct player *p;
    const struct timeline *tl;
};

static uint64_t sink_clock(void *ctx)
{
    struct run *r = ctx;
    struct sink_stats st;
    sink_memory_ops.stats(player_sink(r->p), &st);
    return st.frames * 1000000000ull / RATE;
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
                             .history_path = history_path, .clock_ns = sink_clock, .clock_ctx = r};
    CHECKF(player_open(&r->p, &r->s, &po, err, sizeof err) == PLAYER_OK, "%s", err);
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

static void play_to(struct run *r, uint64_t frame)
{
    for (int i = 0; i < 100000 && pos(r) < frame; i++) {
        player_run(r->p, 10);
        struct player_status st;
        player_status(r->p, &st);
        if (st.state != PLAYER_PLAYING) break;
    }
}

static double rms(struct run *r, uint64_t o, uint64_t n)
{
    double sum = 0;
    const float *x = out(r);
    for (uint64_t i = 0; i < n && o + i < out_len(r); i++) sum += (double)x[o + i] * x[o + i];
    return n ? sqrt(sum / (double)n) : 0;
}

/* Output [o, o+n) equals the reference [f, f+n): how many samples differ. */
static uint64_t differ(struct run *r, uint64_t o, uint64_t f, uint64_t n)
{
    uint64_t have = out_len(r), bad = 0;
    if (o + n > have || f + n > r->tl->len_frames) return n;
    for (uint64_t i = 0; i < n; i++) bad += out(r)[o + i] != r->ref[f + i];
    return bad;
}

/* Somewhere after output frame o, the routine goes on exactly from frame
 * f for a second (after what done said and its tone; compared from
 * `later` frames in if more than that). */
static bool goes_on_from(struct run *r, uint64_t o, uint64_t f, uint64_t later)
{
    uint64_t n = out_len(r), ack = tone_default_len(EV_ACK, RATE);
    uint64_t skip = ack > 2 * FADE ? ack : 2 * FADE; /* the fade in, under the tone */
    if (skip < later) skip = later;
    for (uint64_t q = o; q + skip + RATE < n; q++)
        if (out(r)[q + skip] == r->ref[f + skip] && differ(r, q + skip, f + skip, RATE) == 0)
            return true;
    return false;
}

static int command(struct run *r, enum ctl_cmd c, char *reply, size_t cap)
{
    int rc = player_command(r->p, c, reply, cap);
    printf("  %s -> %s\n", ctl_word(c), reply);
    return rc;
}

struct last_rec {
    char held[400];
    char ending[16];
    char stop_step[72];
    unsigned steps_done, skipped;
    unsigned long seconds;
    int n;
};

static int take(void *ctx, const struct history_entry *e)
{
    struct last_rec *l = ctx;
    snprintf(l->held, sizeof l->held, "%s", e->rec.held ? e->rec.held : "");
    snprintf(l->ending, sizeof l->ending, "%s", e->rec.ending);
    snprintf(l->stop_step, sizeof l->stop_step, "%s", e->rec.stop_step ? e->rec.stop_step : "");
    l->steps_done = e->rec.steps_done;
    l->skipped = e->rec.skipped;
    l->seconds = (unsigned long)e->rec.seconds;
    l->n++;
    return 0;
}

static void live(void)
{
    printf("live: holding, reminding, done\n");
    struct run r;
    open_run(&r);
    const struct timeline *tl = r.tl;
    CHECKF(tl->n_waits == 4, "%zu waits", tl->n_waits); /* reps, rest, hold, rest */
    if (tl->n_waits != 4) return;
    const struct wait reps = tl->waits[0], rest = tl->waits[1], hold = tl->waits[2];
    CHECK(rest.kind == WAIT_REST && rest.open_frame == reps.frame);
    char reply[1024];

    /* done before anything waits for it: refused, nothing skipped */
    play_to(&r, RATE);
    uint64_t at = pos(&r);
    CHECK(command(&r, CTL_DONE, reply, sizeof reply) == COACH_EINVAL);
    CHECK(strstr(reply, "error nothing waits for done") != NULL);
    player_run(r.p, 3000);
    CHECKF(pos(&r) < reps.frame && pos(&r) > at, "the routine moved to %.3f s", (double)pos(&r) / RATE);

    /* the playhead holds at the end of the set; a reminder after 10 s */
    play_to(&r, reps.frame);
    CHECK(pos(&r) == reps.frame);
    uint64_t o = out_len(&r);
    player_run(r.p, 16000);
    CHECKF(pos(&r) == reps.frame, "did not hold: %.3f s", (double)pos(&r) / RATE);
    double quiet = rms(&r, o + RATE / 10, 9 * RATE), remind = rms(&r, o + 10 * RATE, 4 * RATE);
    CHECKF(quiet < 1e-4, "not quiet while waiting: rms %.5f", quiet);
    CHECKF(remind > 0.02, "no reminder: rms %.5f", remind);
    /* still in the set's step (its end is where the next chapter starts) */
    struct player_status st;
    player_status(r.p, &st);
    CHECK(st.waiting && st.self_paced && st.chapter >= 0 && tl->ch[st.chapter].step == 0);

    /* done: the routine goes on from the set's end, as exported */
    o = out_len(&r);
    CHECK(command(&r, CTL_DONE, reply, sizeof reply) == 0 && strcmp(reply, "ok done") == 0);
    /* done again at once (a key pressed twice): the rest that follows stays */
    player_run(r.p, 500);
    CHECK(command(&r, CTL_DONE, reply, sizeof reply) == 0 && strcmp(reply, "ok done already") == 0);
    player_run(r.p, 3000);
    CHECK(pos(&r) > reps.frame && pos(&r) < rest.frame);
    player_status(r.p, &st);
    CHECK(st.self_paced && !st.waiting); /* the rest until ready asks for done already */
    CHECK(goes_on_from(&r, o, reps.frame, RATE * 3 / 2)); /* after the second tone */
    play_to(&r, rest.frame);
    player_run(r.p, 1000);
    CHECK(pos(&r) == rest.frame);
    CHECK(command(&r, CTL_DONE, reply, sizeof reply) == 0 && strcmp(reply, "ok done") == 0);

    /* a hold counted on past its default; next while waiting is done */
    play_to(&r, hold.frame);
    CHECK(pos(&r) == hold.frame);
    o = out_len(&r);
    player_run(r.p, 25000);
    CHECK(pos(&r) == hold.frame);
    /* "30 seconds" at once, "40 seconds" 10 s later: speech, then quiet */
    CHECKF(rms(&r, o + RATE / 5, RATE / 2) > 0.02, "no count at the default's end");
    CHECKF(rms(&r, o + 3 * RATE, 6 * RATE) < 1e-4, "not quiet between counts");
    CHECKF(rms(&r, o + 10 * RATE + RATE / 5, RATE / 2) > 0.02, "no count 10 s later");
    CHECK(command(&r, CTL_NEXT, reply, sizeof reply) == 0);
    unsigned secs = 0;
    CHECKF(sscanf(reply, "ok done: held %u s", &secs) == 1 && secs >= 54 && secs <= 56, "%s", reply);
    o = out_len(&r);
    player_run(r.p, 6000);
    CHECK(goes_on_from(&r, o, hold.frame, 0)); /* "You held for 55 seconds.", then "Release." */

    /* to the end; the record has the time held */
    play_to(&r, tl->waits[3].frame);
    CHECK(command(&r, CTL_DONE, reply, sizeof reply) == 0);
    play_to(&r, tl->len_frames);
    struct player_summary sum;
    player_close(r.p, &sum);
    CHECK(sum.state == PLAYER_ENDED && sum.moves_done == 3 && sum.moves_skipped == 0);
    struct last_rec l = {0};
    CHECK(history_read(history_path, take, &l) == 0 && l.n == 1);
    char want[16];
    snprintf(want, sizeof want, "%u", secs);
    CHECKF(strcmp(l.held, want) == 0, "held '%s', want '%s'", l.held, want);
    CHECK(strcmp(l.ending, "completed") == 0);
    /* the time waited counts as exercise */
    CHECKF(l.seconds >= (tl->len_frames / RATE) + 16 + 25 - 2 - 30, "%lu s", l.seconds);
    free(r.ref);
    session_free(&r.s);
}

/* Older records (7, 8, 10 fields) still read; a held field is checked. */
static void history_compat(void)
{
    printf("history: the held field\n");
    const char *dir = test_tmpdir("selfpaced-history");
    char path[4200];
    snprintf(path, sizeof path, "%s/h.tsv", dir);
    remove(path);
    struct history_record rec = {.when = 1700000000, .routine = "r", .title = "R", .steps_done = 1,
                                 .steps_total = 1, .seconds = 60, .ending = "completed",
                                 .held = "45,38"};
    CHECK(history_append(path, &rec) == 0);
    rec.held = NULL;
    CHECK(history_append(path, &rec) == 0);
    rec.held = "4x";
    CHECK(history_append(path, &rec) == COACH_EINVAL);
    rec.held = "1,,2";
    CHECK(history_append(path, &rec) == COACH_EINVAL);
    char *text = test_read_file(path, NULL);
    CHECK(text && strstr(text, "\tcompleted\t0\t-\t-\t45,38\n"));
    free(text);
    FILE *f = fopen(path, "a");
    fputs("2026-01-01T10:00:00\told\tOld\t1\t1\t60\tcompleted\n", f);
    fputs("2026-01-01T10:00:00\tbad\tBad\t1\t1\t60\tcompleted\t0\t-\t-\tx\n", f);
    fclose(f);
    struct last_rec l = {0};
    struct history_damage dmg;
    CHECK(history_scan(path, take, &l, &dmg) == 0 && l.n == 3 && dmg.lines == 1);
    char *printed = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&printed, &len);
    CHECK(history_print(path, m, NULL) == 0);
    fclose(m);
    CHECKF(strstr(printed, ", 1 min, held 45 s, 38 s.\n") != NULL, "%s", printed);
    free(printed);
}

/* A stop while a part waits for done: that step was not done (nor
 * skipped), the record stops at it and --resume starts there again. The
 * set's end is where the next step's chapter starts, so "played through
 * to its end" must wait for done. */
static void stop_waiting(void)
{
    printf("live: stop while a part waits\n");
    remove(history_path);
    struct run r;
    open_run(&r);
    const struct timeline *tl = r.tl;
    if (tl->n_waits != 4) return;
    const struct wait reps = tl->waits[0];
    play_to(&r, reps.frame);
    player_run(r.p, 2000);
    CHECK(pos(&r) == reps.frame);
    char reply[1024];
    CHECK(command(&r, CTL_STOP, reply, sizeof reply) == 0);
    struct player_summary sum;
    player_close(r.p, &sum);
    CHECKF(sum.moves_done == 0 && sum.moves_skipped == 0, "done %u skipped %u", sum.moves_done,
           sum.moves_skipped);
    CHECK(sum.stop_step == 0);
    struct last_rec l = {0};
    CHECK(history_read(history_path, take, &l) == 0 && l.n == 1);
    CHECKF(strcmp(l.stop_step, "squat") == 0 && l.steps_done == 0 && l.skipped == 0,
           "stop '%s' done %u skipped %u", l.stop_step, l.steps_done, l.skipped);
    free(r.ref);
    session_free(&r.s);

    /* --resume: at the set it stopped in */
    struct session s;
    struct session_opts so = {.routine = routine_path, .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .rate_hz = RATE, .clips = CLIPS_LENGTHS,
                              .resume = true, .history_path = history_path};
    struct coach_diags d;
    diags_init(&d);
    char err[512] = "";
    CHECKF(session_open(&s, &so, &d, err, sizeof err) == SESSION_OK, "%s", err);
    diags_free(&d);
    CHECKF(s.from && strcmp(s.from->id, "squat") == 0, "resumes at %s", s.from ? s.from->id : "the top");
    session_free(&s);

    /* done, then stop in the rest that follows: the set was done */
    remove(history_path);
    open_run(&r);
    tl = r.tl;
    play_to(&r, tl->waits[0].frame);
    player_run(r.p, 500);
    CHECK(command(&r, CTL_DONE, reply, sizeof reply) == 0);
    player_run(r.p, 1500);
    CHECK(command(&r, CTL_STOP, reply, sizeof reply) == 0);
    player_close(r.p, &sum);
    CHECKF(sum.moves_done == 1 && sum.moves_skipped == 0, "done %u skipped %u", sum.moves_done,
           sum.moves_skipped);
    free(r.ref);
    session_free(&r.s);
}

int main(void)
{
    setenv("COACH_DATA_DIR", test_src_path(""), 1);
    struct coach_diags d;
    diags_init(&d);
    int rc = voice_load(test_src_path("voices/en-us.ini"), &voice, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    CHECK(rc == 0);
    if (rc) return test_done();
    keys();
    plan();
    inputs();
    history_compat();
    const char *dir = test_tmpdir("selfpaced");
    snprintf(routine_path, sizeof routine_path, "%s/live-self.ini", dir);
    snprintf(history_path, sizeof history_path, "%s/history.tsv", dir);
    FILE *f = fopen(routine_path, "w");
    CHECK(f && fputs(live_text, f) >= 0 && fclose(f) == 0);
    remove(history_path);
    live();
    stop_waiting();
    voice_free(&voice);
    return test_done();
}
