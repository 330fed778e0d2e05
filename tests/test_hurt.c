/* The pain stop and the pain question, played offline through the memory
 * sink (as tests/test_player.c does) with real speech:
 *   - hurt during a hold: the timeline fades out at once and holds (no
 *     more of that step), the routine's stop_safely words and the offer are
 *     heard, then silence while it waits; next skips the exercise: the next
 *     move's lead-in is heard sample for sample, the one that hurt never
 *     again; the history records the pain stop and the skip;
 *   - without stop_safely the profile's words are said (longer here);
 *   - hurt, then stop: the session ends "stopped" with the pain stop;
 *   - --ask-pain: at the end the question is heard and waits; 1 then 0 is
 *     10, a lone 1 is 1 after a second; stop asks first; no answer within
 *     the time records none; a rating with no question is refused. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/clipwin.h"
#include "coach/history.h"
#include "coach/live.h"
#include "coach/player.h"
#include "coach/render.h"
#include "coach/session.h"
#include "coach/tone.h"
#include "testutil.h"

#define RATE 48000
#define BLOCK 480
#define FADE ((uint64_t)RATE * LIVE_FADE_MS / 1000)

static const char *routine_body =
    "rest = 6\nprepare = 2\ncountdown = 2\n"
    "[exercise hold]\nname = Plank\nhold = 10\n"
    "[exercise dyn]\nname = Squat\nsetup = Stand with your feet apart.\nreps = 2\n"
    "tempo = 1.5, 1.5\n"
    "[breathing breath]\nname = Breathe\ninhale = 2\nexhale = 2\ncycles = 2\n";

static char safe_path[4096], plain_path[4096], history_path[4096];
static uint64_t ack_len;

struct run {
    struct session s;
    struct player *p;
    const struct timeline *tl;
    float *ref; /* the whole routine rendered as export renders it */
};

static uint64_t sink_clock(void *ctx)
{
    struct run *r = ctx;
    struct sink_stats st;
    sink_memory_ops.stats(player_sink(r->p), &st);
    return st.frames * 1000000000ull / RATE;
}

static void open_run(struct run *r, const char *path, bool ask, int ask_ms)
{
    memset(r, 0, sizeof *r);
    struct session_opts so = {.routine = path, .speech_rate = -1, .pitch = -1,
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
                             .ask_pain = ask, .ask_pain_ms = ask_ms};
    CHECKF(player_open(&r->p, &r->s, &po, err, sizeof err) == PLAYER_OK, "%s", err);
}

static void close_run(struct run *r, struct player_summary *sum)
{
    player_close(r->p, sum);
    free(r->ref);
    session_free(&r->s);
}

static const float *out(struct run *r, uint64_t *n)
{
    return sink_memory_output(player_sink(r->p), n);
}

static uint64_t out_len(struct run *r)
{
    uint64_t n;
    out(r, &n);
    return n;
}

static struct player_status status(struct run *r)
{
    struct player_status st;
    player_status(r->p, &st);
    return st;
}

static void play_to(struct run *r, uint64_t frame)
{
    for (int i = 0; i < 100000 && status(r).pos < frame && status(r).state == PLAYER_PLAYING; i++)
        player_run(r->p, 10);
}

static int command(struct run *r, enum ctl_cmd c, char *reply, size_t cap)
{
    int rc = player_command(r->p, c, reply, cap);
    printf("  %s -> %s\n", ctl_word(c), reply);
    return rc;
}

static double rms(struct run *r, uint64_t o, uint64_t len)
{
    uint64_t n;
    const float *x = out(r, &n);
    double sum = 0;
    for (uint64_t i = 0; i < len && o + i < n; i++) sum += (double)x[o + i] * x[o + i];
    return len ? sqrt(sum / (double)len) : 0;
}

/* Output frames of speech from o until the first full second of silence. */
static uint64_t speech_len(struct run *r, uint64_t o)
{
    uint64_t n;
    const float *x = out(r, &n);
    uint64_t last = o, quiet = 0;
    for (uint64_t i = o; i < n && quiet < RATE; i++) {
        if (fabsf(x[i]) > 1e-4f) {
            last = i;
            quiet = 0;
        } else {
            quiet++;
        }
    }
    return last - o;
}

/* Where in the output, from o on, the routine as export renders it is
 * heard from timeline frame f (RATE / 2 frames of it, sample for sample);
 * 0 if nowhere. */
static uint64_t heard_at(struct run *r, uint64_t o, uint64_t f)
{
    uint64_t n;
    const float *x = out(r, &n);
    uint64_t len = RATE / 2;
    if (f + len > r->tl->len_frames) return 0;
    double e = 0;
    for (uint64_t i = 0; i < len; i++) e += (double)r->ref[f + i] * r->ref[f + i];
    CHECKF(e / (double)len > 1e-5, "the routine is silent at %.3f s: nothing to compare", (double)f / RATE);
    for (uint64_t q = o; q + len <= n; q++) {
        if (x[q] != r->ref[f]) continue;
        uint64_t i = 0;
        while (i < len && x[q + i] == r->ref[f + i]) i++;
        if (i == len) return q;
    }
    return 0;
}

struct last {
    char routine[64], ending[16], pain_step[72];
    unsigned skipped, done, pain;
    bool has_pain;
    int n;
};

static int take_last(void *ctx, const struct history_entry *e)
{
    struct last *l = ctx;
    snprintf(l->routine, sizeof l->routine, "%s", e->rec.routine);
    snprintf(l->ending, sizeof l->ending, "%s", e->rec.ending);
    snprintf(l->pain_step, sizeof l->pain_step, "%s", e->rec.pain_step ? e->rec.pain_step : "");
    l->skipped = e->rec.skipped;
    l->done = e->rec.steps_done;
    l->has_pain = e->rec.has_pain;
    l->pain = e->rec.pain;
    l->n++;
    return 0;
}

static struct last last_record(void)
{
    struct last l = {0};
    CHECK(history_read(history_path, take_last, &l) == 0);
    return l;
}

/* ---- the pain stop ---- */

static uint64_t hurt_in_hold(const char *path, const char *what)
{
    printf("hurt during the hold (%s)\n", what);
    struct run r;
    open_run(&r, path, false, 0);
    const struct timeline *tl = r.tl;
    CHECK(tl->n_ch == 4);
    uint64_t plank_body = tl->ch[1].body_frame, squat = tl->ch[2].frame;
    uint64_t plank_end = tl->ch[1].end_frame;
    char reply[1024];
    /* into the hold: the timeline is past its title and countdown */
    play_to(&r, plank_body + 6 * RATE);
    uint64_t at = status(&r).pos, o = out_len(&r);
    CHECK(at < plank_end);
    CHECK(command(&r, CTL_HURT, reply, sizeof reply) == 0 &&
          strstr(reply, "ok stopped for pain at ") && strstr(reply, ", hold: next skips it"));
    player_run(r.p, 20000);
    /* held at once: 30 ms of fade, then nothing more of the step */
    CHECKF(status(&r).pos == at + FADE, "held at %llu, hurt at %llu",
           (unsigned long long)status(&r).pos, (unsigned long long)at);
    CHECK(status(&r).paused && status(&r).state == PLAYER_PLAYING);
    /* the words are heard, then silence while it waits */
    uint64_t said = speech_len(&r, o + FADE);
    CHECKF(rms(&r, o + FADE, RATE) > 0.02, "nothing heard (rms %.4f)", rms(&r, o + FADE, RATE));
    CHECK(rms(&r, out_len(&r) - RATE, RATE) == 0.0);
    printf("  said for %.2f s\n", (double)said / RATE);
    /* a rating with no question is refused */
    CHECK(command(&r, CTL_PAIN_0 + 3, reply, sizeof reply) != 0 &&
          strstr(reply, "error no question waits"));
    player_run(r.p, 3000);
    /* next: the move after it, from its lead-in; never Plank again */
    o = out_len(&r);
    CHECK(command(&r, CTL_NEXT, reply, sizeof reply) == 0 && strstr(reply, "ok skipped hold; next: Exercise 2 of 3: Squat"));
    CHECK(!status(&r).paused);
    player_run(r.p, 3000);
    /* Squat's lead-in, sample for sample, once the fade in and the tone are over */
    uint64_t q = heard_at(&r, o, squat + ack_len + FADE);
    CHECKF(q && q < o + RATE, "Squat's lead-in is not heard after next (%llu)", (unsigned long long)q);
    play_to(&r, UINT64_MAX);
    CHECK(status(&r).state == PLAYER_ENDED);
    struct player_summary sum;
    close_run(&r, &sum);
    CHECK(sum.pain_step == 0 && sum.moves_skipped == 1 && sum.moves_done == 2);
    struct last l = last_record();
    CHECKF(strcmp(l.ending, "completed") == 0 && l.skipped == 1 && strcmp(l.pain_step, "hold") == 0 &&
               !l.has_pain,
           "%s skipped %u pain at '%s'", l.ending, l.skipped, l.pain_step);
    /* shown by coach history */
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    CHECK(m && history_print(history_path, m, NULL) == 0);
    if (m) fclose(m);
    CHECKF(text && strstr(text, ", stopped for pain at hold,"), "%s", text ? text : "");
    free(text);
    return said;
}

static void hurt_then_stop(void)
{
    printf("hurt, then stop\n");
    struct run r;
    open_run(&r, safe_path, false, 0);
    uint64_t squat_body = r.tl->ch[2].body_frame;
    char reply[1024];
    play_to(&r, squat_body + 3 * RATE);
    CHECK(command(&r, CTL_HURT, reply, sizeof reply) == 0 && strstr(reply, ", dyn: next skips it"));
    player_run(r.p, 2000);
    CHECK(command(&r, CTL_STOP, reply, sizeof reply) == 0 && strstr(reply, "ok stopped at "));
    player_run(r.p, 500);
    CHECK(status(&r).state == PLAYER_STOPPED);
    struct player_summary sum;
    close_run(&r, &sum);
    struct last l = last_record();
    CHECK(strcmp(l.ending, "stopped") == 0 && strcmp(l.pain_step, "dyn") == 0);
}

/* ---- the pain question ---- */

static void ask_at_end(void)
{
    printf("--ask-pain at the end: 1 then 0 is 10\n");
    struct run r;
    open_run(&r, safe_path, true, 30000);
    char reply[1024];
    CHECK(command(&r, CTL_PAIN_0 + 4, reply, sizeof reply) != 0); /* no question yet */
    play_to(&r, r.tl->len_frames);
    player_run(r.p, 500);
    CHECK(status(&r).state == PLAYER_PLAYING); /* the question waits */
    uint64_t o = out_len(&r);
    player_run(r.p, 8000);
    CHECKF(rms(&r, o - RATE / 2, 3 * RATE) > 0.02, "the question is not heard");
    CHECK(rms(&r, out_len(&r) - RATE, RATE) == 0.0);
    CHECK(command(&r, CTL_NEXT, reply, sizeof reply) != 0 && strstr(reply, "answer with pain 0-10"));
    player_run(r.p, 6000);
    CHECK(command(&r, CTL_PAIN_0 + 1, reply, sizeof reply) == 0 && strstr(reply, "ok pain 1 ("));
    player_run(r.p, 200);
    CHECK(command(&r, CTL_PAIN_0, reply, sizeof reply) == 0 && strstr(reply, "ok pain 10 noted"));
    o = out_len(&r);
    for (int i = 0; i < 100 && status(&r).state == PLAYER_PLAYING; i++) player_run(r.p, 100);
    CHECK(status(&r).state == PLAYER_ENDED);
    CHECKF(rms(&r, o, RATE) > 0.02, "the rating is not confirmed in words");
    struct player_summary sum;
    close_run(&r, &sum);
    CHECK(sum.has_pain && sum.pain == 10);
    struct last l = last_record();
    CHECK(strcmp(l.ending, "completed") == 0 && l.has_pain && l.pain == 10 && !l.pain_step[0]);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    CHECK(m && history_print(history_path, m, NULL) == 0);
    if (m) fclose(m);
    CHECKF(text && strstr(text, ", pain 10 of 10.\n"), "%s", text ? text : "");
    free(text);
}

static void ask_on_stop(void)
{
    printf("--ask-pain on stop: a lone 1 is 1\n");
    struct run r;
    open_run(&r, safe_path, true, 30000);
    char reply[1024];
    play_to(&r, r.tl->ch[1].body_frame + RATE);
    CHECK(command(&r, CTL_STOP, reply, sizeof reply) == 0 && strstr(reply, "ok stopping"));
    player_run(r.p, 3000);
    CHECK(status(&r).state == PLAYER_PLAYING);
    CHECK(command(&r, CTL_PAIN_0 + 1, reply, sizeof reply) == 0);
    for (int i = 0; i < 200 && status(&r).state == PLAYER_PLAYING; i++) player_run(r.p, 100);
    CHECK(status(&r).state == PLAYER_STOPPED);
    struct player_summary sum;
    close_run(&r, &sum);
    struct last l = last_record();
    CHECK(strcmp(l.ending, "stopped") == 0 && l.has_pain && l.pain == 1);
}

static void ask_unanswered(void)
{
    printf("--ask-pain with no answer\n");
    struct run r;
    open_run(&r, safe_path, true, 4000);
    play_to(&r, r.tl->len_frames);
    for (int i = 0; i < 200 && status(&r).state == PLAYER_PLAYING; i++) player_run(r.p, 100);
    CHECK(status(&r).state == PLAYER_ENDED);
    struct player_summary sum;
    close_run(&r, &sum);
    CHECK(!sum.has_pain);
    struct last l = last_record();
    CHECK(strcmp(l.ending, "completed") == 0 && !l.has_pain);
}

static void put(const char *path, const char *title, const char *extra)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fprintf(f, "[routine]\ntitle = %s\n%s%s", title, extra, routine_body) > 0 &&
          fclose(f) == 0);
}

int main(void)
{
    setenv("COACH_DATA_DIR", test_src_path(""), 1);
    const char *dir = test_tmpdir("hurt");
    snprintf(safe_path, sizeof safe_path, "%s/hurt-safe.ini", dir);
    snprintf(plain_path, sizeof plain_path, "%s/hurt-plain.ini", dir);
    snprintf(history_path, sizeof history_path, "%s/history.tsv", dir);
    put(safe_path, "Hurt test", "stop_safely = Stop.\n");
    put(plain_path, "Hurt test", "");
    remove(history_path);
    ack_len = tone_default_len(EV_ACK, RATE);
    uint64_t own = hurt_in_hold(safe_path, "the routine's stop_safely");
    uint64_t profile = hurt_in_hold(plain_path, "the profile's words");
    /* the profile's words are the longer: "Stop. Slowly return to a
     * comfortable position..." against the routine's "Stop." */
    CHECKF(profile > own + RATE, "profile %.2f s, routine %.2f s", (double)profile / RATE,
           (double)own / RATE);
    hurt_then_stop();
    ask_at_end();
    ask_on_stop();
    ask_unanswered();
    return test_done();
}
