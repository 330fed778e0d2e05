/* --from and --resume: a step named by number or id; a plan that starts at
 * a step is the full plan's from the step after it, shifted (timing exact:
 * frames from absolute anchors); the intro keeps the cautions and says
 * where it starts; the history records where a session started and
 * stopped (old records without it still read); the resume point is the
 * last record of the routine. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coach/common.h"
#include "coach/history.h"
#include "coach/plan.h"
#include "coach/player.h"
#include "coach/session.h"
#include "coach/sink.h"
#include "coach/routine.h"
#include "coach/voice.h"
#include "testutil.h"

#define RATE 48000

static struct voice voice;

static size_t step_index(const struct routine *r, const char *id)
{
    for (size_t i = 0; i < r->n_steps; i++)
        if (strcmp(r->steps[i].id, id) == 0) return i;
    return (size_t)-1;
}

static void find_steps(const struct routine *r)
{
    size_t i = 99;
    /* numbers count the moves, as "Exercise N of M" does: core-strength's
     * first step is a [say] */
    CHECK(routine_find_step(r, "1", &i) == 0 && i == step_index(r, "bridge"));
    CHECK(routine_find_step(r, "3", &i) == 0 && i == step_index(r, "bird-dog"));
    CHECK(routine_find_step(r, "5", &i) == 0 && i == step_index(r, "side-plank"));
    CHECK(routine_find_step(r, "bird-dog", &i) == 0 && i == step_index(r, "bird-dog"));
    CHECK(routine_find_step(r, "warm-up", &i) == 0 && i == 0);
    CHECK(routine_find_step(r, "0", &i) == COACH_EINVAL);
    CHECK(routine_find_step(r, "6", &i) == COACH_EINVAL);
    CHECK(routine_find_step(r, "-1", &i) == COACH_ENOTFOUND);
    CHECK(routine_find_step(r, "3x", &i) == COACH_ENOTFOUND);
    CHECK(routine_find_step(r, "", &i) == COACH_ENOTFOUND);
    CHECK(routine_find_step(r, "birddog", &i) == COACH_ENOTFOUND);
    CHECK(routine_find_step(r, "99999999999999999999", &i) == COACH_EINVAL);
}

static int plan(const struct routine *r, struct clipstore *cs, const struct step *from,
                enum plan_part part, struct timeline *tl)
{
    struct plan_opts o = {.rate_hz = RATE, .level = r->level, .part = part, .from = from};
    char err[512];
    int rc = plan_build(r, &voice, cs, &o, tl, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    return rc;
}

static const struct chapter *chapter_of_step(const struct timeline *tl, int32_t step)
{
    for (size_t i = 0; i < tl->n_ch; i++)
        if (tl->ch[i].step == step) return &tl->ch[i];
    return NULL;
}

static bool said(const struct timeline *tl, const struct clipstore *cs, const char *text,
                 uint64_t before)
{
    for (size_t i = 0; i < tl->n_ev && tl->ev[i].frame < before; i++)
        if (tl->ev[i].kind == EV_SPEECH && clipstore_text(cs, tl->ev[i].clip) &&
            strcmp(clipstore_text(cs, tl->ev[i].clip), text) == 0)
            return true;
    return false;
}

/* Starting at step k: the events from step k+1 on are the full plan's,
 * shifted by one constant; nothing of the steps before k is played. */
static void plan_from(const struct routine *r, const char *id)
{
    struct clipstore cs;
    test_estimator(&cs, RATE);
    struct timeline full, from;
    size_t k = step_index(r, id);
    CHECK(k + 1 < r->n_steps);
    if (plan(r, &cs, NULL, PLAN_FULL, &full)) return;
    if (plan(r, &cs, &r->steps[k], PLAN_FULL, &from)) return;
    test_plan_invariants(id, &from, &cs);

    CHECK(from.n_ch >= 2 && from.ch[0].step == -1 && from.ch[1].step == (int32_t)k);
    for (size_t i = 0; i < from.n_ch; i++)
        CHECKF(from.ch[i].step == -1 || from.ch[i].step >= (int32_t)k, "chapter %zu is step %d", i,
               from.ch[i].step);
    for (size_t i = 0; i < from.n_ev; i++)
        CHECKF(from.ev[i].step == -1 || from.ev[i].step >= (int32_t)k, "event %zu of step %d", i,
               from.ev[i].step);

    const struct chapter *cf = chapter_of_step(&full, (int32_t)k + 1);
    const struct chapter *cr = chapter_of_step(&from, (int32_t)k + 1);
    CHECK(cf && cr);
    if (cf && cr) {
        int64_t shift = (int64_t)cr->frame - (int64_t)cf->frame;
        size_t a = timeline_lower_bound(&full, cf->frame), b = timeline_lower_bound(&from, cr->frame);
        CHECKF(full.n_ev - a == from.n_ev - b, "%zu events after, %zu in the full plan",
               from.n_ev - b, full.n_ev - a);
        size_t bad = 0;
        for (; a < full.n_ev && b < from.n_ev; a++, b++) {
            const struct event *x = &full.ev[a], *y = &from.ev[b];
            if ((int64_t)y->frame - (int64_t)x->frame != shift || y->len_frames != x->len_frames ||
                y->kind != x->kind || y->clip != x->clip || y->step != x->step)
                bad++;
        }
        CHECKF(bad == 0, "%zu events differ from the full plan's (shifted)", bad);
        CHECK((int64_t)from.len_frames - (int64_t)full.len_frames == shift);
        CHECK(shift < 0);
    }

    /* the intro: title, where it starts, the cautions (safety advice is
     * always heard), the length; not the summary */
    const struct chapter *start = chapter_of_step(&from, (int32_t)k);
    uint64_t intro_end = start ? start->frame : 0;
    char *title = voice_format(&voice, PH_INTRO, &(struct phrase_args){.title = r->title});
    CHECK(title && said(&from, &cs, title, intro_end));
    free(title);
    /* the move it starts at, or the first after a [say] or [rest] */
    size_t move = 0, m = k;
    while (m < r->n_steps && r->steps[m].kind != STEP_EXERCISE && r->steps[m].kind != STEP_BREATHING)
        m++;
    for (size_t i = 0; i <= m && i < r->n_steps; i++)
        move += r->steps[i].kind == STEP_EXERCISE || r->steps[i].kind == STEP_BREATHING;
    if (m < r->n_steps) {
        char *where = voice_format(&voice, PH_FROM,
                                   &(struct phrase_args){.n = (long)move,
                                                         .total = (long)routine_count_moves(r),
                                                         .name = r->steps[m].name});
        CHECKF(where && said(&from, &cs, where, intro_end), "not said: %s", where ? where : "");
        free(where);
    }
    for (size_t i = 0; i < r->cautions.len; i++)
        CHECKF(said(&from, &cs, r->cautions.items[i], intro_end), "caution %zu not said", i);
    CHECK(!r->summary || !said(&from, &cs, r->summary, intro_end));
    CHECK(said(&full, &cs, r->summary, full.ch[1].frame));

    /* the prefixes are exact beginnings of the plan from k too */
    struct timeline t1, t2;
    if (!plan(r, &cs, &r->steps[k], PLAN_TITLE, &t1)) {
        CHECK(t1.n_ev >= 1 && t1.n_ev <= from.n_ev && t1.ev[0].frame == from.ev[0].frame &&
              t1.ev[0].clip == from.ev[0].clip);
        timeline_free(&t1);
    }
    if (!plan(r, &cs, &r->steps[k], PLAN_INTRO, &t2)) {
        bool same = t2.n_ev <= from.n_ev;
        for (size_t i = 0; same && i < t2.n_ev; i++)
            same = t2.ev[i].frame == from.ev[i].frame && t2.ev[i].clip == from.ev[i].clip;
        CHECK(same);
        timeline_free(&t2);
    }
    timeline_free(&full);
    timeline_free(&from);
    clipstore_free(&cs);
}

static int count_none(void *ctx, const struct history_entry *e)
{
    (void)ctx, (void)e;
    return 0;
}

static void history_fields(void)
{
    const char *dir = test_tmpdir("resume-history");
    char path[512];
    snprintf(path, sizeof path, "%s/history.tsv", dir);
    /* an old record of each earlier version: 7 and 8 fields */
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("2026-11-20T19:40:05\tcore-strength\tCore strength\t2\t5\t300\tstopped\n"
          "2026-11-21T19:40:05\tcore-strength\tCore strength\t2\t5\t300\tinterrupted\t1\n",
          f);
    fclose(f);
    chmod(path, 0600);
    struct history_resume hr;
    CHECK(history_resume_point(path, "core-strength", &hr) == 0);
    CHECK(hr.found && strcmp(hr.ending, "interrupted") == 0 && hr.stop_step[0] == 0);

    struct history_record rec = {.when = 1795290005, .routine = "core-strength",
                                 .title = "Core strength", .steps_done = 2, .steps_total = 5,
                                 .seconds = 200, .ending = "error", .from_step = "dead-bug",
                                 .stop_step = "bird-dog"};
    CHECK(history_append(path, &rec) == 0);
    struct history_record other = {.when = 1795290105, .routine = "warm-up", .title = "Warm-up",
                                   .steps_done = 1, .steps_total = 4, .seconds = 20,
                                   .ending = "stopped", .stop_step = "cat-cow"};
    CHECK(history_append(path, &other) == 0);
    char *text = test_read_file(path, NULL);
    CHECKF(text && strstr(text, "\terror\t0\tdead-bug\tbird-dog\n") &&
               strstr(text, "\tstopped\t0\t-\tcat-cow\n"),
           "%s", text ? text : "");
    free(text);

    memset(&hr, 0, sizeof hr);
    CHECK(history_resume_point(path, "core-strength", &hr) == 0);
    CHECK(hr.found && strcmp(hr.ending, "error") == 0 && strcmp(hr.stop_step, "bird-dog") == 0);
    CHECK(history_resume_point(path, "warm-up", &hr) == 0);
    CHECK(hr.found && strcmp(hr.stop_step, "cat-cow") == 0);
    CHECK(history_resume_point(path, "breathing", &hr) == COACH_ENOTFOUND && !hr.found);

    /* a completed session after it: nothing to resume */
    struct history_record done = rec;
    done.ending = "completed";
    done.stop_step = NULL;
    done.from_step = NULL;
    CHECK(history_append(path, &done) == 0);
    CHECK(history_resume_point(path, "core-strength", &hr) == 0);
    CHECK(hr.found && strcmp(hr.ending, "completed") == 0 && hr.stop_step[0] == 0);

    /* a record whose step field is not an id is damage, not a resume point */
    f = fopen(path, "a");
    fputs("2026-11-29T19:40:05\tcore-strength\tCore strength\t2\t5\t300\tstopped\t0\t-\tBad Id\n"
          "2026-11-29T19:40:06\tcore-strength\tCore strength\t2\t5\t300\tstopped\t0\t-\n",
          f);
    fclose(f);
    struct history_damage dmg = {0};
    CHECK(history_scan(path, count_none, NULL, &dmg) == 0 && dmg.lines == 2);
    CHECK(history_resume_point(path, "core-strength", &hr) == 0);
    CHECK(strcmp(hr.ending, "completed") == 0);

    /* refused: a step id with a tab would move the fields */
    struct history_record bad = rec;
    bad.stop_step = "a\tb";
    CHECK(history_append(path, &bad) == COACH_EINVAL);
}

/* ---- live: the player records where it stopped; --resume starts there ---- */

static const char *live_routine =
    "[routine]\ntitle = Resume test\nrest = 3\nprepare = 2\ncountdown = 2\n"
    "[exercise hold]\nname = Plank\nhold = 3\n"
    "[exercise dyn]\nname = Squat\nreps = 2\ntempo = 1, 1\n"
    "[breathing breath]\nname = Breathe\ninhale = 2\nexhale = 2\ncycles = 2\n";

static int open_session(struct session *s, const char *routine, const char *from, bool resume,
                        const char *history)
{
    struct session_opts so = {.routine = routine, .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .rate_hz = RATE, .clips = CLIPS_AUDIO,
                              .from = from, .resume = resume, .history_path = history};
    struct coach_diags d;
    diags_init(&d);
    char err[1024] = "";
    enum session_fail f = session_open(s, &so, &d, err, sizeof err);
    diags_print(&d, stderr);
    diags_free(&d);
    if (f) printf("  session: %s\n", err);
    return (int)f;
}

/* Plays s until the chapter of step id has begun plus ms (stop: then
 * stops), or to the end; returns the summary's state. */
static enum player_state play(struct session *s, const char *history, const char *stop_in,
                              int ms, struct player_summary *sum)
{
    struct player_opts po = {.sink = &sink_memory_ops,
                             .sink_cfg = {.rate_hz = RATE, .channels = 1, .block_frames = 480},
                             .history_path = history};
    struct player *p;
    char err[512] = "";
    CHECKF(player_open(&p, s, &po, err, sizeof err) == PLAYER_OK, "%s", err);
    if (!p) return PLAYER_FAILED;
    bool stopping = false;
    uint64_t stop_at = UINT64_MAX;
    for (int i = 0; i < 200000; i++) {
        player_run(p, 20);
        struct player_status st;
        player_status(p, &st);
        if (st.state != PLAYER_PLAYING) break;
        const struct timeline *tl = player_timeline(p);
        if (stop_in && stop_at == UINT64_MAX && st.chapter >= 0 &&
            (size_t)st.chapter < tl->n_ch && tl->ch[st.chapter].step >= 0 &&
            strcmp(s->routine.steps[tl->ch[st.chapter].step].id, stop_in) == 0)
            stop_at = st.pos + (uint64_t)ms * RATE / 1000;
        if (st.pos >= stop_at && !stopping) {
            char reply[256];
            player_command(p, CTL_STOP, reply, sizeof reply);
            stopping = true;
        }
    }
    player_close(p, sum);
    return sum->state;
}

static void live(void)
{
    const char *dir = test_tmpdir("resume-live");
    char routine[512], history[512];
    snprintf(routine, sizeof routine, "%s/resume-test.ini", dir);
    snprintf(history, sizeof history, "%s/history.tsv", dir);
    FILE *f = fopen(routine, "w");
    CHECK(f && fputs(live_routine, f) >= 0 && fclose(f) == 0);

    /* --from dyn, stopped in the breathing step */
    struct session s;
    struct player_summary sum;
    if (open_session(&s, routine, "2", false, history)) {
        CHECK(!"session opens");
        return;
    }
    CHECK(s.from == &s.routine.steps[1]);
    CHECK(play(&s, history, "breath", 1500, &sum) == PLAYER_STOPPED);
    CHECKF(sum.stop_step == 2, "stopped at step %d", sum.stop_step);
    CHECK(sum.moves_done == 1);
    session_free(&s);
    char *text = test_read_file(history, NULL);
    CHECKF(text && strstr(text, "\tstopped\t0\tdyn\tbreath\n"), "%s", text ? text : "");
    free(text);

    /* --resume starts at the breathing step, and says so */
    if (open_session(&s, routine, NULL, true, history)) {
        CHECK(!"session opens");
        return;
    }
    CHECK(s.from == &s.routine.steps[2]);
    CHECKF(s.from_note && strstr(s.from_note, "was stopped at exercise 3 of 3, breath"), "%s",
           s.from_note ? s.from_note : "(none)");
    CHECK(play(&s, history, NULL, 0, &sum) == PLAYER_ENDED);
    CHECK(sum.stop_step == -1 && sum.moves_done == 1 && sum.moves_skipped == 0);
    session_free(&s);
    text = test_read_file(history, NULL);
    CHECKF(text && strstr(text, "\tcompleted\t0\tbreath\t-\n"), "%s", text ? text : "");
    free(text);

    /* completed: --resume plays from the top, with a note */
    if (open_session(&s, routine, NULL, true, history)) {
        CHECK(!"session opens");
        return;
    }
    CHECK(s.from == NULL);
    CHECKF(s.from_note && strstr(s.from_note, "completed; starting from the top"), "%s",
           s.from_note ? s.from_note : "(none)");
    session_free(&s);

    /* a step --from does not name: SESSION_BAD_STEP */
    CHECK(open_session(&s, routine, "4", false, history) == SESSION_BAD_STEP);
    session_free(&s);
    CHECK(open_session(&s, routine, "nope", false, history) == SESSION_BAD_STEP);
    session_free(&s);
}

int main(void)
{
    setenv("COACH_DATA_DIR", test_src_path(""), 1);
    struct coach_diags d;
    diags_init(&d);
    CHECK(voice_load(test_src_path("voices/en-us.ini"), &voice, &d) == 0);
    struct routine r;
    CHECK(routine_load(test_src_path("routines/core-strength.ini"), &r, &d) == 0);
    diags_print(&d, stderr);
    diags_free(&d);
    CHECK(voice.phrases[PH_FROM] != NULL);
    find_steps(&r);
    plan_from(&r, "dead-bug");  /* after a move: no rest before it now */
    plan_from(&r, "bridge");    /* the first move */
    plan_from(&r, "warm-up");   /* a [say] step */
    routine_free(&r);
    struct routine b;
    diags_init(&d);
    CHECK(routine_load(test_src_path("routines/breathing.ini"), &b, &d) == 0);
    diags_free(&d);
    plan_from(&b, "settle");     /* a [rest] that reads the next move's setup */
    routine_free(&b);
    history_fields();
    live();
    voice_free(&voice);
    return test_done();
}
