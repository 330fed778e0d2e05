/* --preroll: speakers that wake in time.
 *   - the plan with a preroll is the plan without it shifted by exactly
 *     the preroll's frames, event for event and chapter for chapter (the
 *     first chapter still starts at 0, its title after the lead-in), plus
 *     keep-alive events over the lead-in and over every silence of at
 *     least PLAN_KEEPALIVE_GAP_MS, and none in shorter ones; with preroll
 *     0 there is none and the title is at frame 0 as always;
 *   - rendered, the two are bit-identical outside the keep-alive; the
 *     keep-alive is measured: peak <= -60 dBFS, not digital zero (also
 *     in 16-bit), a 20 Hz sine with nothing above 30 Hz;
 *   - live (real speech, the memory sink): the session is the export
 *     render of the same plan sample for sample; paused, the engine
 *     plays the keep-alive instead of zeros; a resume after a long pause
 *     holds the timeline back for a lead-in of the preroll, then plays on
 *     exactly; the menu's voice (no routine) says its first words after a
 *     lead-in. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/clipwin.h"
#include "coach/live.h"
#include "coach/loudness.h"
#include "coach/player.h"
#include "coach/render.h"
#include "coach/session.h"
#include "coach/tone.h"
#include "testutil.h"

#define RATE 48000
#define BLOCK 480
#define PRE_MS 500
#define PRE ((uint64_t)RATE * PRE_MS / 1000)
#define FADE ((uint64_t)RATE * LIVE_FADE_MS / 1000)
#define KA_FADE ((uint64_t)(RATE * TONE_KEEPALIVE_FADE_MS / 1000))
#define BOUND 0.001f /* -60 dBFS */
/* what is heard: the keep-alive at the default --loudness (podcast) gain */
#define BOUND_OUT (BOUND * loudness_program_gain(LOUDNESS_PODCAST))

/* A 20 s hold: "Hold" at its start, "10 seconds left" halfway (a silence
 * of over 4 s before it), the countdown from 5 (a silence under 4 s). */
static const char *routine_text =
    "[routine]\ntitle = Preroll test\nrest = 8\nprepare = 2\ncountdown = 2\n"
    "[exercise hold]\nname = Plank\nhold = 20\n"
    "[exercise dyn]\nname = Squat\nreps = 2\ntempo = 1.5, 1.5\n";

static char routine_path[4096];

static void open_session(struct session *s, uint32_t preroll_ms, enum clip_mode mode,
                         const char *routine)
{
    struct session_opts so = {.routine = routine, .voice = routine ? NULL : "en-us",
                              .speech_rate = -1, .pitch = -1, .speech_volume = -1,
                              .rate_hz = RATE, .clips = mode, .preroll_ms = preroll_ms};
    struct coach_diags d;
    diags_init(&d);
    char err[512] = "";
    CHECKF(session_open(s, &so, &d, err, sizeof err) == SESSION_OK, "%s", err);
    diags_print(&d, stderr);
    diags_free(&d);
}

static double db(double x) { return 20.0 * log10(x > 1e-30 ? x : 1e-30); }

/* 1: sound, 2: keep-alive, per frame of tl. */
static unsigned char *coverage(const struct timeline *tl)
{
    unsigned char *c = calloc(tl->len_frames, 1);
    for (size_t i = 0; c && i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        for (uint64_t f = e->frame; f < e->frame + e->len_frames && f < tl->len_frames; f++)
            c[f] |= e->kind == EV_KEEPALIVE ? 2 : 1;
    }
    return c;
}

static float *render_all(const struct timeline *tl, clip_slot *slots)
{
    struct renderer rd;
    float *x = malloc(tl->len_frames * sizeof *x);
    CHECK(x && render_init(&rd, tl, slots, 1, 4096) == 0);
    render_set_gain(&rd, loudness_program_gain(LOUDNESS_PODCAST)); /* export's and live's */
    render(&rd, 0, x, tl->len_frames);
    render_free(&rd);
    return x;
}

static void shifted_plan(void)
{
    struct session a, b;
    open_session(&a, 0, CLIPS_ESTIMATE, routine_path);
    open_session(&b, PRE_MS, CLIPS_ESTIMATE, routine_path);
    const struct timeline *ta = &a.tl, *tb = &b.tl;
    test_plan_invariants("preroll", tb, &b.clips);

    /* preroll 0: no keep-alive, the title at frame 0 as always */
    size_t ka_a = 0;
    for (size_t i = 0; i < ta->n_ev; i++) ka_a += ta->ev[i].kind == EV_KEEPALIVE;
    CHECK(ka_a == 0 && ta->n_ev && ta->ev[0].frame == 0 && ta->ch[0].body_frame == 0);

    /* every event shifted by exactly PRE frames */
    size_t j = 0, ka_b = 0, bad = 0;
    for (size_t i = 0; i < tb->n_ev; i++) {
        const struct event *e = &tb->ev[i];
        if (e->kind == EV_KEEPALIVE) {
            ka_b++;
            continue;
        }
        if (j >= ta->n_ev) {
            bad++;
            break;
        }
        const struct event *x = &ta->ev[j++];
        bool same = e->frame == x->frame + PRE && e->len_frames == x->len_frames &&
                    e->kind == x->kind && e->variant == x->variant && e->step == x->step &&
                    e->set == x->set && e->side == x->side && e->rep == x->rep;
        if (e->kind == EV_SPEECH)
            same = same && strcmp(clipstore_text(&b.clips, e->clip), clipstore_text(&a.clips, x->clip)) == 0;
        bad += !same;
    }
    CHECKF(bad == 0 && j == ta->n_ev, "%zu events differ (%zu of %zu)", bad, j, ta->n_ev);
    CHECK(ka_b > 0);
    CHECK(tb->len_frames == ta->len_frames + PRE && tb->ending_frame == ta->ending_frame + PRE);
    /* chapters: the first starts at 0 (lead-in included), the rest shifted */
    CHECK(ta->n_ch == tb->n_ch && tb->ch[0].frame == 0 && tb->ch[0].body_frame == PRE);
    for (size_t i = 0; i < ta->n_ch && i < tb->n_ch; i++) {
        CHECKF((i == 0 || (tb->ch[i].frame == ta->ch[i].frame + PRE &&
                           tb->ch[i].body_frame == ta->ch[i].body_frame + PRE)) &&
                   tb->ch[i].end_frame == ta->ch[i].end_frame + PRE &&
                   strcmp(tb->ch[i].title, ta->ch[i].title) == 0,
               "chapter %zu", i);
    }

    /* the keep-alive: over the lead-in and every silence >= 4 s, never
     * over a sound, never in a shorter silence */
    unsigned char *c = coverage(tb);
    CHECK(c != NULL);
    uint64_t gap_min = (uint64_t)RATE * PLAN_KEEPALIVE_GAP_MS / 1000, long_gaps = 0, short_gaps = 0;
    size_t overlap = 0, uncovered = 0, extra = 0;
    for (uint64_t f = 0; c && f < tb->len_frames; f++) overlap += c[f] == 3;
    for (uint64_t f = 0; c && f < tb->len_frames;) {
        if (c[f] & 1) {
            f++;
            continue;
        }
        uint64_t g = f;
        while (g < tb->len_frames && !(c[g] & 1)) g++;
        bool want = f == 0 || (g < tb->len_frames && g - f >= gap_min);
        for (uint64_t k = f; k < g; k++) {
            uncovered += want && c[k] != 2;
            extra += !want && c[k] == 2;
        }
        if (f && g < tb->len_frames) {
            if (g - f >= gap_min)
                long_gaps++;
            else
                short_gaps++;
        }
        f = g;
    }
    CHECKF(overlap == 0 && uncovered == 0 && extra == 0, "overlap %zu uncovered %zu extra %zu",
           overlap, uncovered, extra);
    CHECKF(long_gaps >= 2 && short_gaps >= 2, "long %llu short %llu", (unsigned long long)long_gaps,
           (unsigned long long)short_gaps);
    CHECK(c && c[0] == 2 && c[PRE - 1] == 2 && c[PRE] == 1);

    /* rendered (tones only: no speech PCM here): bit-identical outside
     * the keep-alive, and there only the keep-alive's own level apart */
    float *ra = render_all(ta, NULL), *rb = render_all(tb, NULL);
    size_t differ = 0;
    float ka_diff = 0;
    for (uint64_t f = 0; f < ta->len_frames; f++) {
        if (c[f + PRE] == 2)
            ka_diff = fmaxf(ka_diff, fabsf(rb[f + PRE] - ra[f]));
        else
            differ += memcmp(&rb[f + PRE], &ra[f], sizeof *ra) != 0;
    }
    CHECKF(differ == 0, "%zu samples differ outside the keep-alive", differ);
    CHECKF(ka_diff <= BOUND_OUT, "keep-alive adds %g", ka_diff);

    /* the lead-in's level: <= -60 dBFS, but not zero, even in 16-bit */
    float pk = 0;
    double e = 0;
    int max16 = 0;
    for (uint64_t f = 0; f < PRE; f++) {
        pk = fmaxf(pk, fabsf(rb[f]));
        int s16 = (int)lrintf(rb[f] * 32767.0f);
        if (abs(s16) > max16) max16 = abs(s16);
    }
    for (uint64_t f = KA_FADE; f < PRE - KA_FADE; f++) e += (double)rb[f] * rb[f];
    double rms = sqrt(e / (double)(PRE - 2 * KA_FADE));
    CHECKF(pk <= BOUND_OUT && pk > 0.0f, "lead-in peak %g", pk);
    CHECKF(db(rms) > -70.0 && max16 >= 16, "lead-in rms %.1f dBFS, 16-bit peak %d", db(rms), max16);
    /* its spectrum, over a whole keep-alive chunk in a long silence: the
     * 20 Hz sine fitted, what is left (anything above 30 Hz) */
    const struct event *mid = NULL;
    for (size_t i = 0; i < tb->n_ev && !mid; i++)
        if (tb->ev[i].kind == EV_KEEPALIVE && tb->ev[i].variant == 0) mid = &tb->ev[i];
    CHECK(mid != NULL);
    if (mid) {
        double sc = 0, cc = 0, tot = 0;
        for (uint64_t f = mid->frame; f < mid->frame + mid->len_frames; f++) {
            double w = 2 * 3.14159265358979323846 * TONE_KEEPALIVE_HZ * ((double)f + 0.5) / RATE;
            sc += rb[f] * sin(w);
            cc += rb[f] * cos(w);
            tot += (double)rb[f] * rb[f];
        }
        double n = (double)mid->len_frames, fit = (sc * sc + cc * cc) * 2.0 / n;
        double rest = tot - fit > 0 ? tot - fit : 0;
        CHECKF(rest / tot < 1e-4, "%.1f dB of the keep-alive is not its 20 Hz sine", 10 * log10(rest / tot));
        printf("keep-alive: peak %.1f dBFS, rms %.1f dBFS, 16-bit peak %d LSB, "
               "besides 20 Hz %.0f dB\n",
               db(pk), db(rms), max16, 10 * log10(rest / tot + 1e-30));
    }
    free(ra);
    free(rb);
    free(c);
    session_free(&a);
    session_free(&b);
}

/* ---- live ---- */

struct run {
    struct session s;
    float *ref;
    struct player *p;
};

static void open_run(struct run *r, uint32_t preroll_ms)
{
    memset(r, 0, sizeof *r);
    open_session(&r->s, preroll_ms, CLIPS_AUDIO, routine_path);
    const struct timeline *tl = &r->s.tl;
    clip_slot *slots = calloc(tl->n_clips, sizeof *slots);
    struct clipwin w;
    const struct clipwin_policy pol = {.ahead_frames = tl->len_frames,
                                       .keep_frames = CLIPWIN_UNTIL_LAST_USE};
    CHECK(clipwin_init(&w, &r->s.clips, slots, tl->n_clips, &pol) == 0);
    CHECK(clipwin_set_timeline(&w, tl, NULL, 0) == 0 &&
          clipwin_update(&w, 0, CLIPWIN_NO_WANT, 0) == 0);
    r->ref = render_all(tl, slots);
    clipwin_free(&w);
    free(slots);
    struct player_opts po = {.sink = &sink_memory_ops,
                             .sink_cfg = {.rate_hz = RATE, .channels = 1, .block_frames = BLOCK,
                                          .keep = true}};
    char err[512] = "";
    CHECKF(player_open(&r->p, &r->s, &po, err, sizeof err) == PLAYER_OK, "%s", err);
}

static const float *out(struct run *r, uint64_t *n) { return sink_memory_output(player_sink(r->p), n); }

static uint64_t pos(struct run *r)
{
    struct player_status st;
    player_status(r->p, &st);
    return st.pos;
}

static float peak_of(const float *x, uint64_t from, uint64_t to)
{
    float p = 0;
    for (uint64_t i = from; i < to; i++) p = fmaxf(p, fabsf(x[i]));
    return p;
}

static double rms_of(const float *x, uint64_t from, uint64_t to)
{
    double e = 0;
    for (uint64_t i = from; i < to; i++) e += (double)x[i] * x[i];
    return to > from ? sqrt(e / (double)(to - from)) : 0;
}

static void live(void)
{
    struct run r;
    open_run(&r, PRE_MS);
    const struct timeline *tl = &r.s.tl;
    /* into the hold, past its long silence */
    uint64_t hold = 0;
    for (size_t i = 0; i < tl->n_ch; i++)
        if (tl->ch[i].step == 0) hold = tl->ch[i].body_frame;
    CHECK(hold > PRE);
    uint64_t until = hold + 16 * (uint64_t)RATE;
    for (int i = 0; i < 100000 && pos(&r) < until; i++) player_run(r.p, 10);
    uint64_t n;
    const float *x = out(&r, &n);
    size_t differ = 0;
    for (uint64_t f = 0; f < n && f < tl->len_frames; f++) differ += x[f] != r.ref[f];
    CHECKF(n >= until && differ == 0, "live differs from export in %zu of %llu samples", differ,
           (unsigned long long)n);
    CHECKF(peak_of(x, 0, PRE) <= BOUND_OUT && peak_of(x, 0, PRE) > 0, "lead-in peak %g", peak_of(x, 0, PRE));

    /* a long pause: "Paused", then the keep-alive, never digital silence */
    char reply[256];
    uint64_t at = pos(&r), o = n;
    CHECK(player_command(r.p, CTL_PAUSE, reply, sizeof reply) == 0);
    player_run(r.p, 10000);
    x = out(&r, &n);
    uint64_t quiet = o + FADE + 3 * (uint64_t)RATE;
    CHECKF(rms_of(x, o + FADE, o + FADE + RATE / 2) > 0.02, "Paused is not heard");
    float pq = peak_of(x, quiet, n);
    size_t zeros = 0;
    for (uint64_t f = quiet; f < n; f++) zeros += x[f] == 0.0f;
    CHECKF(pq <= BOUND_OUT && pq > 0 && zeros < 16, "paused: peak %g, %zu zeros", pq, zeros);
    CHECK(pos(&r) == at + FADE);

    /* resume: a lead-in of PRE frames, then on from where it held */
    o = n;
    CHECK(player_command(r.p, CTL_RESUME, reply, sizeof reply) == 0);
    player_run(r.p, 3000);
    x = out(&r, &n);
    CHECKF(peak_of(x, o, o + PRE) <= BOUND_OUT, "the lead-in on resume: peak %g", peak_of(x, o, o + PRE));
    uint64_t skip = KA_FADE > FADE ? KA_FADE : FADE;
    uint64_t ack = tone_default_len(EV_ACK, RATE);
    if (ack > skip) skip = ack;
    CHECKF(rms_of(x, o + PRE, o + PRE + ack) > 0.01, "the resume tone after the lead-in");
    differ = 0;
    for (uint64_t i = skip; i < skip + RATE; i++) differ += x[o + PRE + i] != r.ref[at + FADE + i];
    CHECKF(differ == 0, "after the lead-in: %zu samples differ", differ);

    /* a short pause: no lead-in */
    at = pos(&r);
    CHECK(player_command(r.p, CTL_PAUSE, reply, sizeof reply) == 0);
    player_run(r.p, 1000);
    x = out(&r, &n);
    o = n;
    CHECK(player_command(r.p, CTL_RESUME, reply, sizeof reply) == 0);
    player_run(r.p, 2000);
    x = out(&r, &n);
    differ = 0;
    for (uint64_t i = skip; i < skip + RATE; i++) differ += x[o + i] != r.ref[at + FADE + i];
    CHECKF(differ == 0, "short pause: %zu samples differ", differ);
    player_close(r.p, NULL);
    free(r.ref);
    session_free(&r.s);

    /* preroll 0: the pause is digital silence, as it always was */
    open_run(&r, 0);
    player_run(r.p, 3000);
    CHECK(player_command(r.p, CTL_PAUSE, reply, sizeof reply) == 0);
    player_run(r.p, 8000);
    x = out(&r, &n);
    CHECK(peak_of(x, n - 2 * (uint64_t)RATE, n) == 0.0f);
    CHECK(r.s.tl.ev[0].frame == 0 && r.s.tl.ev[0].kind == EV_SPEECH);
    player_close(r.p, NULL);
    free(r.ref);
    session_free(&r.s);
}

/* The menu's voice: nothing planned, its first words after a lead-in. */
static void menu_voice(void)
{
    struct session s;
    open_session(&s, PRE_MS, CLIPS_AUDIO, NULL);
    struct player *p;
    struct player_opts po = {.sink = &sink_memory_ops,
                             .sink_cfg = {.rate_hz = RATE, .channels = 1, .keep = true}};
    char err[256] = "";
    CHECKF(player_open(&p, &s, &po, err, sizeof err) == PLAYER_OK, "%s", err);
    player_run(p, 600);
    uint64_t o;
    const float *x = sink_memory_output(player_sink(p), &o);
    CHECKF(peak_of(x, o / 2, o) <= BOUND_OUT && peak_of(x, o / 2, o) > 0, "held: peak %g",
           peak_of(x, o / 2, o));
    CHECK(player_say(p, "Routine one.", LIVE_NO_ACK) == 0);
    player_wait_said(p, 20000);
    uint64_t n;
    x = sink_memory_output(player_sink(p), &n);
    CHECK(n > o + PRE + RATE / 2);
    if (n < o + PRE + RATE / 2) n = o = 0;
    CHECKF(peak_of(x, o, o + PRE) <= BOUND_OUT, "menu lead-in: peak %g", peak_of(x, o, o + PRE));
    CHECKF(rms_of(x, o + PRE, o + PRE + RATE / 2) > 0.02, "menu words after the lead-in: %g",
           rms_of(x, o + PRE, o + PRE + RATE / 2));
    player_close(p, NULL);
    session_free(&s);
}

int main(void)
{
    setenv("COACH_DATA_DIR", test_src_path(""), 1);
    const char *dir = test_tmpdir("preroll");
    snprintf(routine_path, sizeof routine_path, "%s/preroll-test.ini", dir);
    FILE *f = fopen(routine_path, "w");
    CHECK(f && fputs(routine_text, f) >= 0 && fclose(f) == 0);
    shifted_plan();
    live();
    menu_voice();
    return test_done();
}
