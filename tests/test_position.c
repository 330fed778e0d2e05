/* Where a live session is, and where its commands go. "where am I" follows
 * the step, set, side and repetition (a hold is a hold, a breath a
 * breath), says "Paused." when paused, and in a rest says so before the
 * step it announces. next in a rest (or while a step's title is said)
 * starts the step the rest announces; next in a step goes to the next
 * step's lead-in (its rest, its setup); previous goes to the previous
 * step's; back to the start of what plays; nothing before the first step
 * or after the end. "repeat" finds the last instruction, not a count. */
#include <stdlib.h>
#include <string.h>

#include "coach/plan.h"
#include "coach/position.h"
#include "coach/routine.h"
#include "coach/voice.h"
#include "testutil.h"

#define RATE 48000

static struct voice v;

struct planned {
    struct routine r;
    struct clipstore est;
    struct timeline tl;
};

static void plan(struct planned *p, const char *text)
{
    struct coach_diags d;
    diags_init(&d);
    CHECK(routine_parse("p.ini", text, strlen(text), &p->r, &d) == 0);
    diags_print(&d, stderr);
    diags_free(&d);
    test_estimator(&p->est, RATE);
    struct plan_opts o = {.rate_hz = RATE, .level = LEVEL_EASY};
    char err[256];
    CHECKF(plan_build(&p->r, &v, &p->est, &o, &p->tl, err, sizeof err) == 0, "%s", err);
    test_plan_invariants("position", &p->tl, &p->est);
}

static void unplan(struct planned *p)
{
    timeline_free(&p->tl);
    clipstore_free(&p->est);
    routine_free(&p->r);
}

/* The frame of the first speech event whose text is t (after from). */
static uint64_t said_at(const struct planned *p, const char *t, uint64_t from)
{
    for (size_t i = 0; i < p->tl.n_ev; i++) {
        const struct event *e = &p->tl.ev[i];
        if (e->frame >= from && e->kind == EV_SPEECH && !strcmp(clipstore_text(&p->est, e->clip), t))
            return e->frame;
    }
    CHECKF(0, "'%s' is not said", t);
    return 0;
}

static void where(const struct planned *p, uint64_t at, bool paused, const char *want)
{
    char *w = position_where(&p->tl, &p->r, &v, LEVEL_EASY, at, paused);
    CHECKF(w && strstr(w, want) == w, "at %.3f s: '%s', want it to start with '%s'",
           (double)at / RATE, w ? w : "(null)", want);
    free(w);
}

static void next_is(const struct planned *p, uint64_t at, uint64_t want)
{
    uint64_t to = 0;
    enum nav_result r = position_next(&p->tl, &p->r, at, UINT64_MAX, &to);
    CHECKF(r == NAV_OK && to == want, "next at %.3f s: %d, %.3f s; want %.3f s", (double)at / RATE,
           r, (double)to / RATE, (double)want / RATE);
}

static void previous_is(const struct planned *p, uint64_t at, uint64_t want)
{
    uint64_t to = 0;
    enum nav_result r = position_previous(&p->tl, &p->r, at, &to);
    CHECKF(r == NAV_OK && to == want, "previous at %.3f s: %d, %.3f s; want %.3f s",
           (double)at / RATE, r, (double)to / RATE, (double)want / RATE);
}

/* Two moves with the routine's rest between them (it announces the second
 * one and reads its setup). */
static void with_rest(void)
{
    struct planned p;
    plan(&p, "[routine]\ntitle = T\nrest = 20\n"
             "[exercise a]\nname = Bridge\nsides = left leg, right leg\nsets = 2\nreps = 3\n"
             "hold = 10\n"
             "[breathing b]\nname = Box\nsetup = Sit tall.\ninhale = 4\nexhale = 4\ncycles = 5\n");
    const struct timeline *tl = &p.tl;
    CHECK(tl->n_ch == 3);
    uint64_t bridge = tl->ch[1].frame, box = tl->ch[2].frame, box_body = tl->ch[2].body_frame;
    CHECK(tl->ch[1].body_frame == bridge); /* no rest before the first move */
    CHECK(box_body > box);                  /* the rest before the second */
    CHECK(said_at(&p, "Rest for 20 seconds.", 0) == box);
    CHECK(said_at(&p, "Exercise 2 of 2: Box.", 0) == box_body);
    uint64_t title_end = box_body + clipstore_len(&p.est, tl->ev[timeline_lower_bound(tl, box_body)].clip);

    /* where am I: a hold, paused, in the rest, in the intro, at the end */
    uint64_t release = 0;
    int releases = 0;
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        if (e->kind == EV_SPEECH && !strcmp(clipstore_text(&p.est, e->clip), "Release.") &&
            ++releases == 11) {
            release = e->frame - RATE; /* a second before: inside hold 2 */
            CHECK(e->set == 2 && e->side == 2 && e->rep == 2);
        }
    }
    CHECK(releases == 12);
    where(&p, release, false, "Exercise 1 of 2: Bridge. Set 2 of 2. Right leg. Hold 2 of 3.");
    where(&p, release, true, "Paused. Exercise 1 of 2: Bridge. Set 2 of 2. Right leg. Hold 2 of 3.");
    char *w = position_where(tl, &p.r, &v, LEVEL_EASY, release, false);
    CHECKF(w && strstr(w, "left in this step.") && strstr(w, "left in the routine."), "%s", w);
    free(w);
    where(&p, box + RATE, false, "Resting. Next: Box.");
    w = position_where(tl, &p.r, &v, LEVEL_EASY, box + RATE, false);
    CHECKF(w && strstr(w, "left in this rest."), "%s", w);
    free(w);
    where(&p, box + RATE, true, "Paused. Resting. Next: Box.");
    where(&p, 0, false, "Introduction.");
    where(&p, tl->ending_frame + 10, false, "The routine is ending.");
    uint64_t breath = 0;
    for (size_t i = 0; i < tl->n_ev; i++)
        if (tl->ev[i].kind == EV_BREATH_OUT && tl->ev[i].rep == 4) breath = tl->ev[i].frame + 10;
    where(&p, breath, false, "Exercise 2 of 2: Box. Breath 4 of 5.");

    /* next: intro -> the first move; in it -> the rest announcing the
     * second; in that rest (or while "Exercise 2 of 2: Box." is said) ->
     * Box itself; in Box -> the closing words; then nothing */
    next_is(&p, 10, bridge);
    next_is(&p, release, box);
    next_is(&p, box, box_body);
    next_is(&p, box + RATE, box_body);
    next_is(&p, box_body - 1, box_body);
    next_is(&p, title_end - 1, box_body);
    next_is(&p, title_end + 1, tl->ending_frame);
    next_is(&p, breath, tl->ending_frame);
    uint64_t to;
    CHECK(position_next(tl, &p.r, tl->ending_frame + 1, UINT64_MAX, &to) == NAV_NO_NEXT);
    /* a jump that just landed on Box's title: next goes on past it */
    CHECK(position_next(tl, &p.r, box_body + 10, box_body, &to) == NAV_OK && to == tl->ending_frame);

    /* previous: nothing before the first move; from the second (its rest
     * or its body) to the first; from the end to the last */
    CHECK(position_previous(tl, &p.r, 10, &to) == NAV_NO_PREVIOUS);
    CHECK(position_previous(tl, &p.r, release, &to) == NAV_NO_PREVIOUS);
    previous_is(&p, box + RATE, bridge);
    previous_is(&p, breath, bridge);
    previous_is(&p, tl->ending_frame + 1, box);

    /* back: the start of what plays */
    CHECK(position_back(tl, &p.r, 10) == 0);
    CHECK(position_back(tl, &p.r, release) == bridge);
    CHECK(position_back(tl, &p.r, box + RATE) == box);
    CHECK(position_back(tl, &p.r, breath) == box_body);
    CHECK(position_back(tl, &p.r, tl->ending_frame + 1) == tl->ending_frame);

    /* repeat: the last instruction before a count is not the count */
    int32_t clip = position_last_instruction(tl, &p.est, release);
    const char *t = clip >= 0 ? clipstore_text(&p.est, (uint32_t)clip) : "none";
    CHECKF(clip >= 0 && strcmp(t, "3. Hold for 10 seconds.") != 0 &&
               strspn(t, "0123456789. ") != strlen(t),
           "%s", t);
    CHECK(position_last_instruction(tl, &p.est, 0) == 0); /* the title at frame 0 */
    unplan(&p);
}

/* A rest step and a spoken step before a move lead into it; a spoken step
 * after the last move belongs to the ending; tempo reps are repetitions. */
static void with_steps(void)
{
    struct planned p;
    plan(&p, "[routine]\ntitle = T\nrest = 0\n"
             "[exercise a]\nname = Squat\nreps = 4\ntempo = 2, 2\n"
             "[rest r]\nseconds = 15\n"
             "[say s]\ntext = Now lie down.\n"
             "[exercise c]\nname = Curl\nhold = 5\n"
             "[say end]\ntext = Stretch gently.\n");
    const struct timeline *tl = &p.tl;
    CHECK(tl->n_ch == 6);
    uint64_t squat = tl->ch[1].frame, rest = tl->ch[2].frame, say = tl->ch[3].frame;
    uint64_t curl = tl->ch[4].frame, tail = tl->ch[5].frame;
    CHECK(tl->ch[4].body_frame == curl);
    uint64_t rep3 = 0;
    for (size_t i = 0; i < tl->n_ev; i++)
        if (tl->ev[i].kind == EV_PHASE && tl->ev[i].rep == 3 && !rep3) rep3 = tl->ev[i].frame + 10;
    where(&p, rep3, false, "Exercise 1 of 2: Squat. Repetition 3 of 4.");
    where(&p, rest + RATE, false, "Resting. Next: Curl.");
    where(&p, say + 10, false, "Next: Curl.");
    next_is(&p, rep3, rest);       /* the lead-in of Curl starts at the rest */
    next_is(&p, rest + RATE, curl); /* in the rest: Curl begins */
    next_is(&p, say + 10, curl);
    next_is(&p, curl + clipstore_len(&p.est, tl->ev[timeline_lower_bound(tl, curl)].clip) + 1, tail);
    previous_is(&p, say + 10, squat);
    previous_is(&p, tail + 10, rest);
    CHECK(position_back(tl, &p.r, say + 10) == rest);
    where(&p, tail + 10, false, "The routine is ending.");
    unplan(&p);
}

int main(void)
{
    struct coach_diags d;
    diags_init(&d);
    CHECK(voice_load(test_src_path("voices/en-us.ini"), &v, &d) == 0);
    diags_print(&d, stderr);
    diags_free(&d);
    with_rest();
    with_steps();
    voice_free(&v);
    return test_done();
}
