/* "alternate = yes": two sides taking turns rep by rep, as the articles
 * prescribe bird dog and dead bug ("Repeat with opposite arm and leg",
 * "8-10 repetitions each side"). A set is one block of 2 x reps turns:
 * rep 1 on the first side, "Other side." in the rest, rep 1 on the other,
 * "Other side.", rep 2 ... counted per side; tempo reps say "Other side."
 * on the other side's first beat. Events carry the turn's side and rep,
 * so "where am I" names the side working; the block is as long as its
 * turns and rests, nothing more. The file's mistakes are file:line. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
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

static int plan(struct planned *p, const char *text)
{
    struct coach_diags d;
    diags_init(&d);
    int rc = routine_parse("alt.ini", text, strlen(text), &p->r, &d);
    CHECKF(rc == 0, "routine does not parse");
    diags_print(&d, stderr);
    diags_free(&d);
    if (rc) return rc;
    test_estimator(&p->est, RATE);
    struct plan_opts o = {.rate_hz = RATE, .level = LEVEL_EASY};
    char err[256];
    rc = plan_build(&p->r, &v, &p->est, &o, &p->tl, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc) {
        clipstore_free(&p->est);
        routine_free(&p->r);
        return rc;
    }
    test_plan_invariants("alternate", &p->tl, &p->est);
    return 0;
}

static void unplan(struct planned *p)
{
    timeline_free(&p->tl);
    clipstore_free(&p->est);
    routine_free(&p->r);
}

static const char *text_of(const struct planned *p, const struct event *e)
{
    return e->kind == EV_SPEECH ? clipstore_text(&p->est, e->clip) : "";
}

static size_t times_said(const struct planned *p, const char *t)
{
    size_t n = 0;
    for (size_t i = 0; i < p->tl.n_ev; i++)
        n += !strcmp(text_of(p, &p->tl.ev[i]), t);
    return n;
}

#define BIRD_DOG                                                                            \
    "[routine]\ntitle = T\ncountdown = 3\n"                                                 \
    "[exercise bird-dog]\nname = Bird dog\n"                                                \
    "sides = right arm and left leg, left arm and right leg\nalternate = yes\n"             \
    "reps = 3\nhold = 5\nrest_reps = 4\n"

/* Held reps: the turns' sides and reps, what is said between them, and
 * the block's exact length. */
static void held(void)
{
    struct planned p;
    if (plan(&p, BIRD_DOG)) return;
    const struct timeline *tl = &p.tl;
    /* the turns start on the final beeps: the countdown's, then each rest's */
    uint64_t start[8];
    uint8_t side[8], rep[8];
    size_t n = 0;
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        if (e->kind == EV_BEEP_FINAL && n < 8) {
            start[n] = e->frame;
            side[n] = e->side;
            rep[n] = e->rep;
            n++;
        }
    }
    CHECKF(n == 6, "%zu turns, want 6 (3 reps on each of 2 sides)", n);
    static const uint8_t want_side[6] = {1, 2, 1, 2, 1, 2}, want_rep[6] = {1, 1, 2, 2, 3, 3};
    for (size_t k = 0; k < n && k < 6; k++) {
        /* the countdown's beep is placed before the first turn's rep is known */
        if (k > 0) CHECKF(side[k] == want_side[k] && rep[k] == want_rep[k],
                          "turn %zu: side %u rep %u, want side %u rep %u", k, side[k], rep[k],
                          want_side[k], want_rep[k]);
        /* each turn is a hold and a rest from the last: absolute, no drift */
        CHECK(start[k] - start[0] == frames_from_ms((uint64_t)k * (5000 + 4000), RATE));
    }
    CHECK(times_said(&p, "Right arm and left leg.") == 1);
    CHECK(times_said(&p, "3 repetitions on each side, taking turns.") == 1);
    CHECK(times_said(&p, "Switch sides. Left arm and right leg.") == 0);
    CHECK(times_said(&p, "Other side.") == 5);
    CHECK(times_said(&p, "Release.") == 6);
    /* counted per side: each number once, on the first side's turn */
    CHECK(times_said(&p, "Rep 1.") + times_said(&p, "1. Hold for 5 seconds.") == 1);
    CHECK(times_said(&p, "Rep 3.") + times_said(&p, "3. Hold for 5 seconds.") == 1);
    CHECK(times_said(&p, "Rep 4.") == 0 && times_said(&p, "Rep 6.") == 0);
    CHECK(times_said(&p, "Last one.") == 1);
    /* "Other side." falls in the rest before a turn, tagged with that turn */
    size_t k = 1;
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        if (strcmp(text_of(&p, e), "Other side.")) continue;
        CHECKF(k < n && e->frame < start[k] && e->frame > start[k - 1] + frames_from_ms(5000, RATE),
               "'Other side.' %zu at %.3f s is not in the rest before turn %zu", k,
               (double)e->frame / RATE, k);
        CHECK(k < 6 && e->side == want_side[k] && e->rep == want_rep[k]);
        k++;
    }
    /* the step ends with the last turn's release */
    uint64_t end = start[5] + frames_from_ms(5000, RATE);
    size_t last = 0;
    for (size_t i = 0; i < tl->n_ev; i++)
        if (!strcmp(text_of(&p, &tl->ev[i]), "Release.")) last = i;
    CHECK(tl->ev[last].frame == end);

    /* where am I: the side working and its rep, per side */
    char *w = position_where(tl, &p.r, &v, LEVEL_EASY, start[3] + RATE, false);
    CHECKF(w && strstr(w, "Exercise 1 of 1: Bird dog. Left arm and right leg. Hold 2 of 3.") == w,
           "turn 4: '%s'", w ? w : "(null)");
    free(w);
    w = position_where(tl, &p.r, &v, LEVEL_EASY, start[4] + RATE, false);
    CHECKF(w && strstr(w, "Exercise 1 of 1: Bird dog. Right arm and left leg. Hold 3 of 3.") == w,
           "turn 5: '%s'", w ? w : "(null)");
    free(w);
    unplan(&p);
}

/* The same exercise without alternate: all reps on one side, then the
 * other. Alternating takes no longer than that (one countdown instead of
 * two, the same holds and rests). */
static void not_longer(void)
{
    struct planned a, b;
    if (plan(&a, BIRD_DOG)) return;
    const char *text = "[routine]\ntitle = T\ncountdown = 3\n"
                       "[exercise bird-dog]\nname = Bird dog\n"
                       "sides = right arm and left leg, left arm and right leg\n"
                       "reps = 3\nhold = 5\nrest_reps = 4\n";
    if (plan(&b, text)) {
        unplan(&a);
        return;
    }
    CHECKF(a.tl.len_frames < b.tl.len_frames, "alternating %.3f s, side by side %.3f s",
           (double)a.tl.len_frames / RATE, (double)b.tl.len_frames / RATE);
    CHECK(times_said(&b, "Other side.") == 0);
    CHECK(times_said(&b, "Switch sides. Left arm and right leg.") == 1);
    unplan(&a);
    unplan(&b);
}

/* Tempo reps: the other side's first beat says "Other side." instead of
 * a number; phase tones on every turn; sets are blocks of their own. */
static void tempo(void)
{
    struct planned p;
    if (plan(&p, "[routine]\ntitle = T\n"
                 "[exercise dead-bug]\nname = Dead bug\n"
                 "sides = right arm and left leg, left arm and right leg\nalternate = yes\n"
                 "sets = 2\nreps = 2\ntempo = 3, 3\nphases = Lower, Return\n"))
        return;
    const struct timeline *tl = &p.tl;
    size_t turns = 0, other = 0;
    static const uint8_t want_side[4] = {1, 2, 1, 2}, want_rep[4] = {1, 1, 2, 2};
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        if (e->kind != EV_PHASE || e->variant != 0) continue;
        size_t k = turns++ % 4;
        CHECKF(e->side == want_side[k] && e->rep == want_rep[k], "turn %zu: side %u rep %u", k,
               e->side, e->rep);
        /* what is said on the turn's first beat */
        for (size_t j = i + 1; j < tl->n_ev && tl->ev[j].frame == e->frame; j++) {
            const char *t = text_of(&p, &tl->ev[j]);
            if (!*t) continue;
            if (k % 2) {
                CHECKF(!strcmp(t, "Other side."), "turn %zu says '%s'", k, t);
                other++;
            } else {
                CHECKF(t[0] == (k == 0 ? '1' : '2'), "turn %zu says '%s'", k, t);
            }
        }
    }
    CHECK(turns == 8);
    CHECK(other == 4);
    CHECK(times_said(&p, "Set 2 of 2.") == 1);
    CHECK(times_said(&p, "Right arm and left leg.") == 2); /* each set starts on it */
    CHECK(times_said(&p, "2 repetitions on each side, taking turns.") == 2);
    unplan(&p);
}

/* A profile written before alternate (no side_other, no reps_alternate)
 * still loads and says its side_switch and reps_goal instead. */
static void older_profile(void)
{
    char *so = v.phrases[PH_SIDE_OTHER], *ra = v.phrases[PH_REPS_ALTERNATE];
    v.phrases[PH_SIDE_OTHER] = v.phrases[PH_REPS_ALTERNATE] = NULL;
    struct planned p;
    if (!plan(&p, BIRD_DOG)) {
        CHECK(times_said(&p, "Other side.") == 0);
        CHECK(times_said(&p, "Switch sides. Left arm and right leg.") == 3);
        CHECK(times_said(&p, "Switch sides. Right arm and left leg.") == 2);
        CHECK(times_said(&p, "3 repetitions.") == 1);
        unplan(&p);
    }
    v.phrases[PH_SIDE_OTHER] = so;
    v.phrases[PH_REPS_ALTERNATE] = ra;
}

/* Each mistake is one message at the line of 'alternate'. */
static void errors(void)
{
    static const struct {
        const char *keys, *want;
    } cases[] = {
        {"alternate = yes\nhold = 5\n", "alt.ini:4: 'alternate' needs 'sides'"},
        {"sides = a, b, c\nalternate = yes\nhold = 5\n",
         "alt.ini:5: 'alternate' needs exactly 2 sides, but 'sides' has 3 (line 4)"},
        {"sides = a, b\nalternate = yes\nduration = 60\n",
         "alt.ini:5: 'alternate' is not allowed with 'duration' (line 6)"},
        {"sides = a, b\nalternate = true\nhold = 5\n",
         "alt.ini:5: bad value 'true' for 'alternate': expected yes or no"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[512];
        snprintf(text, sizeof text, "[routine]\ntitle = T\n[exercise e]\n%sname = E\n",
                 cases[i].keys);
        struct routine r;
        struct coach_diags d;
        diags_init(&d);
        CHECK(routine_parse("alt.ini", text, strlen(text), &r, &d) == COACH_EINVAL);
        char *got = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&got, &len);
        diags_print(&d, m);
        fclose(m);
        CHECKF(got && strstr(got, cases[i].want) == got && strchr(got, '\n') == got + len - 1,
               "case %zu: got '%s', want one message starting '%s'", i, got ? got : "", cases[i].want);
        free(got);
        diags_free(&d);
    }
    /* "no" is the default spelled out */
    struct planned p;
    if (!plan(&p, "[routine]\ntitle = T\n[exercise e]\nname = E\nsides = a, b\nalternate = no\n"
                  "hold = 5\n")) {
        CHECK(!p.r.steps[0].alternate);
        CHECK(times_said(&p, "Switch sides. B.") == 1);
        unplan(&p);
    }
}

int main(void)
{
    struct coach_diags d;
    diags_init(&d);
    CHECK(voice_load(test_src_path("voices/en-us.ini"), &v, &d) == 0);
    diags_print(&d, stderr);
    diags_free(&d);
    held();
    not_longer();
    tempo();
    older_profile();
    errors();
    voice_free(&v);
    return test_done();
}
