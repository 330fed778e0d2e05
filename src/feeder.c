/* The speech thread of a live session (see include/coach/feeder.h). The
 * thread takes a turn every FEEDER_TICK_MS, or at once when asked: it
 * answers a request for speech, follows a newly swapped timeline, and moves
 * the clip window to the playhead (and to a jump's target). While it
 * plans, it takes its turns between phrases, so what is about to be heard
 * is ready while the rest of the routine is still being synthesized. */
#define _POSIX_C_SOURCE 200809L
#include "coach/feeder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/position.h"

#define FEEDER_TICK_MS 40 /* how often the thread looks at the playhead */
#define FEEDER_WANT_MS 5000 /* a jump's target is kept ready this long, or until reached */

static void deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void fail(struct feeder *f, int rc, const char *msg)
{
    pthread_mutex_lock(&f->mu);
    if (!f->rc) {
        f->rc = rc;
        snprintf(f->err, sizeof f->err, "%s", msg);
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    (void)!write(f->wake_fd[1], "!", 1);
}

/* A copy of a clip's speech for a spoken answer: the window may release
 * the clip while the answer plays. */
static int copy_clip(struct feeder *f, uint32_t id, float **pcm, uint64_t *len)
{
    struct clipstore *cs = &f->s->clips;
    bool had = cs->clips[id].pcm != NULL;
    int rc = clipstore_prepare(cs, id);
    if (rc) return rc;
    uint64_t n = cs->clips[id].len_frames;
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (p) memcpy(p, cs->clips[id].pcm, n * sizeof *p);
    if (!had) clipstore_release(cs, id); /* not the window's: do not keep it */
    if (!p) return COACH_ENOMEM;
    *pcm = p;
    *len = n;
    return 0;
}

/* Answers the request (under mu). */
static void serve(struct feeder *f)
{
    float *pcm = NULL;
    uint64_t len = 0;
    int rc;
    if (f->req == FEEDER_REQ_TEXT) {
        uint32_t id;
        rc = clipstore_intern(&f->s->clips, f->req_text, &id, NULL);
        if (!rc) rc = copy_clip(f, id, &pcm, &len);
    } else {
        int32_t id = position_last_instruction(f->req_tl, &f->s->clips, f->req_pos);
        rc = id < 0 ? COACH_ENOTFOUND : copy_clip(f, (uint32_t)id, &pcm, &len);
    }
    free(f->req_text);
    f->req_text = NULL;
    f->req = FEEDER_REQ_NONE;
    f->said_pcm = pcm;
    f->said_len = len;
    f->said_rc = rc;
    f->said_ready = true;
    pthread_cond_broadcast(&f->cv);
}

/* One turn: answer a request, follow the timeline, move the window. */
static int turn(struct feeder *f)
{
    pthread_mutex_lock(&f->mu);
    if (f->req) serve(f);
    const struct timeline *cur = f->current;
    bool is_new = f->current_new;
    f->current_new = false;
    uint64_t played = f->live ? atomic_load_explicit(&f->live->played, memory_order_acquire) : 0;
    uint64_t epoch = f->live ? atomic_load_explicit(&f->live->epoch, memory_order_acquire) : 0;
    bool wv = f->want_valid;
    uint64_t want = f->want_frame;
    pthread_mutex_unlock(&f->mu);
    int rc = 0;
    char err[256] = "";
    if (cur && is_new) rc = clipwin_set_timeline(&f->win, cur, err, sizeof err);
    if (!rc && cur) rc = clipwin_update(&f->win, played, wv ? want : CLIPWIN_NO_WANT, epoch);
    pthread_mutex_lock(&f->mu);
    if (!rc && cur) {
        f->ready_tl = cur;
        f->ready_from = played;
        f->ready_to = played + f->win.pol.ahead_frames;
        f->want_from = wv ? want : 0;
        f->want_to = wv ? want + f->win.pol.ahead_frames : 0;
    }
    if (!rc) f->turns++;
    if (!rc && wv && f->want_valid && f->want_frame == want) {
        f->want_pending = false; /* served: the jump may go */
        /* kept until the playhead is there: the window around it takes over */
        bool there = played >= want && played < want + f->win.pol.ahead_frames;
        if (there || coach_mono_ns() - f->want_since_ns > FEEDER_WANT_MS * 1000000ull)
            f->want_valid = false;
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    f->last_turn_ns = coach_mono_ns();
    if (rc && err[0]) fail(f, rc, err);
    return rc;
}

/* Called by the planner after each phrase: a turn now and then, and stop
 * planning when the session ends. */
static int tick(void *ctx)
{
    struct feeder *f = ctx;
    pthread_mutex_lock(&f->mu);
    bool stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    if (stop) return COACH_EINTR;
    if (f->n_tl && coach_mono_ns() - f->last_turn_ns >= (uint64_t)FEEDER_TICK_MS * 1000000u)
        return turn(f);
    return 0;
}

static void publish(struct feeder *f, struct timeline *tl)
{
    pthread_mutex_lock(&f->mu);
    f->tl[f->n_tl++] = tl;
    if (!f->current) {
        f->current = tl;
        f->current_new = true;
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    (void)!write(f->wake_fd[1], "t", 1);
}

/* The routine, in three stages; the first one's speech ready before it is
 * published (the device starts on it). */
static int plan_stages(struct feeder *f)
{
    static const enum plan_part parts[3] = {PLAN_TITLE, PLAN_INTRO, PLAN_FULL};
    char msg[512];
    /* One core stays with the audio: the rest of the plan is made while
     * the first words play, and synthesis workers on every core gave
     * underruns on a loaded 2-core machine (tests/play_pulse.sh). */
    unsigned workers = f->s->clips.workers;
    if (workers > 1) clipstore_set_workers(&f->s->clips, workers - 1);
    for (int k = 0; k < 3; k++) {
        struct timeline *tl = calloc(1, sizeof *tl);
        msg[0] = 0;
        int rc = tl ? session_plan(f->s, parts[k], tick, f, tl, msg, sizeof msg) : COACH_ENOMEM;
        if (!rc && k == 0) {
            char err[256] = "";
            rc = clipwin_set_timeline(&f->win, tl, err, sizeof err);
            if (!rc) rc = clipwin_update(&f->win, 0, CLIPWIN_NO_WANT, 0);
            if (rc && err[0]) snprintf(msg, sizeof msg, "%s", err);
            if (!rc) {
                f->ready_tl = tl;
                f->ready_to = f->win.pol.ahead_frames;
            }
        }
        if (rc) {
            if (tl) timeline_free(tl);
            free(tl);
            if (rc != COACH_EINTR) fail(f, rc, msg[0] ? msg : coach_strerror(rc));
            return rc;
        }
        publish(f, tl);
    }
    return 0;
}

static void *run(void *arg)
{
    struct feeder *f = arg;
    int rc = f->plan ? plan_stages(f) : 0;
    while (!rc) {
        rc = turn(f);
        pthread_mutex_lock(&f->mu);
        bool stop = f->stop || rc;
        if (!stop && !f->req && !f->want_pending && !f->current_new && f->turns >= f->turn_wanted) {
            struct timespec ts;
            deadline(&ts, FEEDER_TICK_MS);
            pthread_cond_timedwait(&f->cv, &f->mu, &ts);
        }
        pthread_mutex_unlock(&f->mu);
        if (stop) break;
    }
    if (rc && rc != COACH_EINTR) fail(f, rc, "cannot prepare speech in time");
    return NULL;
}

int feeder_start(struct feeder *f, struct session *s, const struct timeline **first)
{
    memset(f, 0, sizeof *f);
    f->s = s;
    f->plan = s->have_routine;
    f->wake_fd[0] = f->wake_fd[1] = -1;
    *first = NULL;
    const struct clipwin_policy pol = {
        .ahead_frames = frames_from_ms(FEEDER_AHEAD_MS, s->clips.rate_hz),
        .behind_frames = frames_from_ms(FEEDER_BEHIND_MS, s->clips.rate_hz),
        .keep_frames = frames_from_ms(FEEDER_AHEAD_MS, s->clips.rate_hz),
        .deferred_free = true};
    f->slots = calloc(FEEDER_MAX_CLIPS, sizeof *f->slots);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (!f->slots || clipwin_init(&f->win, &s->clips, f->slots, FEEDER_MAX_CLIPS, &pol) ||
        pipe(f->wake_fd)) {
        snprintf(f->err, sizeof f->err, "out of memory (or out of file descriptors)");
        return COACH_ENOMEM;
    }
    for (int i = 0; i < 2; i++) { /* the control thread drains it, the thread never waits on it */
        fcntl(f->wake_fd[i], F_SETFL, O_NONBLOCK);
        fcntl(f->wake_fd[i], F_SETFD, FD_CLOEXEC);
    }
    if (pthread_create(&f->thread, NULL, run, f)) {
        snprintf(f->err, sizeof f->err, "cannot start the speech thread");
        return COACH_ENOMEM;
    }
    f->started = true;
    if (!f->plan) return 0;
    pthread_mutex_lock(&f->mu);
    while (!f->n_tl && !f->rc) pthread_cond_wait(&f->cv, &f->mu);
    int rc = f->rc;
    if (!rc) {
        *first = f->tl[0];
        f->n_taken = 1;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void feeder_attach(struct feeder *f, struct live *l)
{
    pthread_mutex_lock(&f->mu);
    f->live = l;
    pthread_mutex_unlock(&f->mu);
}

const struct timeline *feeder_take(struct feeder *f, bool *final)
{
    const struct timeline *tl = NULL;
    pthread_mutex_lock(&f->mu);
    if (f->n_taken < f->n_tl) {
        tl = f->tl[f->n_taken++];
        *final = f->n_taken == 3;
    }
    pthread_mutex_unlock(&f->mu);
    return tl;
}

void feeder_set_current(struct feeder *f, const struct timeline *tl)
{
    pthread_mutex_lock(&f->mu);
    f->current = tl;
    f->current_new = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

bool feeder_ready_at(struct feeder *f, uint64_t frame, int timeout_ms)
{
    struct timespec ts;
    deadline(&ts, timeout_ms);
    pthread_mutex_lock(&f->mu);
    f->want_frame = frame;
    f->want_valid = f->want_pending = true;
    f->want_since_ns = coach_mono_ns();
    pthread_cond_broadcast(&f->cv);
    int e = 0;
    while (f->want_pending && !f->rc && e != ETIMEDOUT)
        e = pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    bool ok = !f->want_pending;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

bool feeder_sync(struct feeder *f, int timeout_ms)
{
    struct timespec ts;
    deadline(&ts, timeout_ms);
    pthread_mutex_lock(&f->mu);
    uint64_t want = f->turns + 2; /* one may be under way with an older playhead */
    if (f->turn_wanted < want) f->turn_wanted = want;
    pthread_cond_broadcast(&f->cv);
    int e = 0;
    while (f->turns < want && !f->rc && e != ETIMEDOUT) e = pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    bool ok = f->turns >= want;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

bool feeder_is_ready(struct feeder *f, const struct timeline *tl, uint64_t frame, uint64_t frames)
{
    pthread_mutex_lock(&f->mu);
    bool ok = f->ready_tl == tl && !f->current_new &&
              ((f->ready_from <= frame && frame + frames <= f->ready_to) ||
               (f->want_from <= frame && frame + frames <= f->want_to));
    pthread_mutex_unlock(&f->mu);
    return ok;
}

bool feeder_wait_timeline(struct feeder *f, int timeout_ms)
{
    struct timespec ts;
    deadline(&ts, timeout_ms);
    pthread_mutex_lock(&f->mu);
    int e = 0;
    while (f->n_taken == f->n_tl && !f->rc && f->n_tl < 3 && e != ETIMEDOUT)
        e = pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    bool ok = f->n_taken < f->n_tl;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

/* Puts a request to the thread and waits (2 s at most) for its answer. */
static int ask(struct feeder *f, enum feeder_req req, char *text, const struct timeline *tl,
               uint64_t pos, float **pcm, uint64_t *len)
{
    pthread_mutex_lock(&f->mu);
    f->said_ready = false;
    f->req = req;
    f->req_text = text;
    f->req_tl = tl;
    f->req_pos = pos;
    pthread_cond_broadcast(&f->cv);
    struct timespec ts;
    deadline(&ts, 2000);
    int e = 0;
    while (!f->said_ready && !f->rc && e != ETIMEDOUT) e = pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    int rc = f->said_ready ? f->said_rc : COACH_ESPEECH;
    *pcm = f->said_ready && !rc ? f->said_pcm : NULL;
    *len = *pcm ? f->said_len : 0;
    if (!f->said_ready) { /* too late: the thread must not answer into nothing */
        free(f->req_text);
        f->req_text = NULL;
        f->req = FEEDER_REQ_NONE;
    } else if (rc) {
        free(f->said_pcm);
    }
    f->said_pcm = NULL;
    f->said_ready = false;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int feeder_say(struct feeder *f, const char *text, float **pcm, uint64_t *len)
{
    char *t = coach_strdup(text);
    if (!t) return COACH_ENOMEM;
    return ask(f, FEEDER_REQ_TEXT, t, NULL, 0, pcm, len);
}

int feeder_say_last(struct feeder *f, const struct timeline *tl, uint64_t pos, float **pcm,
                    uint64_t *len)
{
    return ask(f, FEEDER_REQ_REPEAT, NULL, tl, pos, pcm, len);
}

int feeder_failed(struct feeder *f, char *err, size_t cap)
{
    pthread_mutex_lock(&f->mu);
    int rc = f->rc;
    if (rc && err && cap) snprintf(err, cap, "%s", f->err);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void feeder_stop(struct feeder *f)
{
    if (f->started) {
        pthread_mutex_lock(&f->mu);
        f->stop = true;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
    }
    f->live = NULL;
    if (f->win.cs) clipwin_free(&f->win);
    for (int k = 0; k < f->n_tl; k++) {
        timeline_free(f->tl[k]);
        free(f->tl[k]);
    }
    free(f->said_pcm);
    free(f->req_text);
    free(f->slots);
    for (int i = 0; i < 2; i++)
        if (f->wake_fd[i] >= 0) close(f->wake_fd[i]);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    memset(f, 0, sizeof *f);
}
