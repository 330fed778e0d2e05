/* The speech thread of a live session (see include/coach/feeder.h). */
#define _POSIX_C_SOURCE 200809L
#include "coach/feeder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coach/common.h"

#define FEEDER_TICK_MS 40    /* how often the thread looks at the playhead */
#define FEEDER_BEHIND_MS 1000 /* clips kept this long after they were heard */


/* Makes clip id ready for the callback. */
static int prepare(struct feeder *f, uint32_t id)
{
    if (atomic_load_explicit(&f->slots[id], memory_order_relaxed)) return 0;
    int rc = clipstore_prepare(&f->cs, id);
    if (!rc) atomic_store_explicit(&f->slots[id], f->cs.clips[id].pcm, memory_order_release);
    return rc;
}

static uint64_t epoch_now(struct feeder *f)
{
    return f->live ? atomic_load_explicit(&f->live->epoch, memory_order_acquire) : 0;
}

/* Clears a clip's slot now and frees its PCM later: the callback may be
 * reading it during the block it is rendering, and is surely done with it
 * two blocks on. */
static void retire(struct feeder *f, uint32_t id)
{
    float *p = f->cs.clips[id].pcm;
    if (!p) return;
    atomic_store_explicit(&f->slots[id], NULL, memory_order_release);
    f->cs.clips[id].pcm = NULL; /* the store may prepare it anew meanwhile */
    if (f->retired_pcm[id]) free(f->retired_pcm[id]);
    f->retired_pcm[id] = p;
    f->retire_epoch[id] = epoch_now(f);
}

static void reap(struct feeder *f, bool all)
{
    uint64_t now = epoch_now(f);
    for (size_t id = 0; id < f->cs.len && id < FEEDER_MAX_CLIPS; id++)
        if (f->retired_pcm[id] && (all || now >= f->retire_epoch[id] + 2)) {
            free(f->retired_pcm[id]);
            f->retired_pcm[id] = NULL;
        }
}

/* Marks the clips of speech sounding in [lo, hi) of tl as needed. */
static int need_window(struct feeder *f, const struct timeline *tl, uint64_t lo, uint64_t hi,
                       uint8_t *needed)
{
    uint64_t back = tl->max_event_frames < lo ? lo - tl->max_event_frames : 0;
    for (size_t i = timeline_lower_bound(tl, back); i < tl->n_ev && tl->ev[i].frame < hi; i++) {
        const struct event *e = &tl->ev[i];
        if (e->kind != EV_SPEECH || e->frame + e->len_frames <= lo) continue;
        needed[e->clip] = 1;
        int rc = prepare(f, e->clip);
        if (rc) return rc;
    }
    return 0;
}

/* One look at the playhead: prepare what is due, retire what is past. */
static int follow(struct feeder *f, const struct timeline *tl, uint64_t played, bool want_valid,
                  uint64_t want, uint8_t *needed)
{
    uint32_t rate = tl->rate_hz;
    memset(needed, 0, f->cs.len < FEEDER_MAX_CLIPS ? f->cs.len : FEEDER_MAX_CLIPS);
    uint64_t behind = frames_from_ms(FEEDER_BEHIND_MS, rate);
    uint64_t ahead = frames_from_ms(FEEDER_AHEAD_MS, rate);
    uint64_t lo = played > behind ? played - behind : 0;
    int rc = need_window(f, tl, lo, played + ahead, needed);
    if (!rc && want_valid) rc = need_window(f, tl, want, want + ahead, needed);
    if (rc) return rc;
    if (f->live) /* before the engine runs nothing was heard: keep all */
        for (size_t id = 0; id < f->cs.len && id < FEEDER_MAX_CLIPS; id++)
            if (!needed[id] && f->cs.clips[id].pcm) retire(f, (uint32_t)id);
    reap(f, false);
    return 0;
}

/* A copy of a clip's speech for an overlay (the plan's copy may be retired
 * while the overlay plays). */
static int copy_clip(struct feeder *f, uint32_t id, float **pcm, uint64_t *len)
{
    int rc = clipstore_prepare(&f->cs, id);
    if (rc) return rc;
    uint64_t n = f->cs.clips[id].len_frames;
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) return COACH_ENOMEM;
    memcpy(p, f->cs.clips[id].pcm, n * sizeof *p);
    if (!atomic_load(&f->slots[id])) clipstore_release(&f->cs, id); /* not on the timeline now */
    *pcm = p;
    *len = n;
    return 0;
}

static void serve_say(struct feeder *f)
{
    float *pcm = NULL;
    uint64_t len = 0;
    int rc = 0;
    if (f->say_text) {
        uint32_t id;
        uint64_t n;
        rc = clipstore_intern(&f->cs, f->say_text, &id, &n);
        if (!rc) rc = id < FEEDER_MAX_CLIPS ? copy_clip(f, id, &pcm, &len) : COACH_ENOMEM;
        free(f->say_text);
        f->say_text = NULL;
    } else {
        rc = f->say_clip >= 0 && (size_t)f->say_clip < f->cs.len
                 ? copy_clip(f, (uint32_t)f->say_clip, &pcm, &len)
                 : COACH_EINVAL;
        f->say_clip = -1;
    }
    f->said_pcm = rc ? NULL : pcm;
    f->said_len = rc ? 0 : len;
    f->said_ready = true;
    pthread_cond_broadcast(&f->cv);
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

static void publish(struct feeder *f, struct timeline *tl)
{
    pthread_mutex_lock(&f->mu);
    f->tl[f->n_tl++] = tl;
    if (!f->current) f->current = tl;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    (void)!write(f->wake_fd[1], "t", 1);
}

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

/* One turn of the thread's work: answer a speech request, then prepare what
 * the playhead will soon need (and serve a seek's wish). */
static int turn(struct feeder *f)
{
    pthread_mutex_lock(&f->mu);
    if (f->say_text || f->say_clip >= 0) serve_say(f);
    const struct timeline *cur = f->current;
    uint64_t played = f->live ? atomic_load_explicit(&f->live->played, memory_order_acquire) : 0;
    bool wv = f->want_valid;
    uint64_t want = f->want_frame;
    pthread_mutex_unlock(&f->mu);
    int rc = cur ? follow(f, cur, played, wv, want, f->needed) : 0;
    pthread_mutex_lock(&f->mu);
    if (!rc && wv && f->want_valid && f->want_frame == want) {
        f->want_valid = false; /* served: the seek may go */
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    f->last_turn_ns = coach_mono_ns();
    return rc;
}

/* The planner's clip source. Planning the whole routine synthesizes every
 * phrase (seconds of work on a loaded Pi) while the title and intro already
 * play: between phrases the thread keeps taking its turns, so what is about
 * to be heard is ready in time. */
static int intern(void *ctx, const char *text, uint32_t *id, uint64_t *len)
{
    struct feeder *f = ctx;
    int rc = clipstore_intern(&f->cs, text, id, len);
    if (!rc && *id >= FEEDER_MAX_CLIPS) return COACH_ENOMEM;
    if (!rc && f->n_tl && coach_mono_ns() - f->last_turn_ns >= (uint64_t)FEEDER_TICK_MS * 1000000u)
        rc = turn(f);
    return rc;
}

static void *run(void *arg)
{
    struct feeder *f = arg;
    struct speech_settings ss = {.espeak_voice = f->v->espeak_voice, .rate_wpm = f->v->rate_wpm,
                                 .pitch = f->v->pitch, .volume = f->v->volume};
    char msg[512];
    int rc = speech_open(&f->sp, &ss);
    if (rc) {
        speech_explain(rc, f->v->espeak_voice, f->v->path, msg, sizeof msg);
        fail(f, rc, msg);
        return NULL;
    }
    rc = clipstore_init(&f->cs, f->sp, f->po.rate_hz);
    f->needed = calloc(FEEDER_MAX_CLIPS, 1);
    if (rc || !f->needed) {
        fail(f, COACH_ENOMEM, "out of memory");
        return NULL;
    }
    struct clip_source src = {.intern = intern, .ctx = f};
    static const enum plan_part parts[3] = {PLAN_TITLE, PLAN_INTRO, PLAN_FULL};
    for (int k = 0; k < 3 && !rc; k++) {
        struct timeline *tl = calloc(1, sizeof *tl);
        struct plan_opts o = f->po;
        o.part = parts[k];
        rc = tl ? plan_build(f->r, f->v, &src, &o, tl, msg, sizeof msg) : COACH_ENOMEM;
        if (!rc && k == 0) /* the first sound: ready before the device starts */
            for (size_t i = 0; i < tl->n_ev && !rc; i++)
                if (tl->ev[i].kind == EV_SPEECH) rc = prepare(f, tl->ev[i].clip);
        if (rc) {
            free(tl);
            if (!msg[0]) snprintf(msg, sizeof msg, "%s", coach_strerror(rc));
            fail(f, rc, msg);
            break;
        }
        publish(f, tl);
    }
    while (!rc) {
        rc = turn(f);
        pthread_mutex_lock(&f->mu);
        bool stop = f->stop || rc;
        if (!stop && !f->say_text && f->say_clip < 0 && !f->want_valid) {
            struct timespec ts;
            deadline(&ts, FEEDER_TICK_MS);
            pthread_cond_timedwait(&f->cv, &f->mu, &ts);
        }
        pthread_mutex_unlock(&f->mu);
        if (stop) break;
    }
    if (rc) fail(f, rc, "cannot prepare speech in time");
    return NULL;
}

int feeder_start(struct feeder *f, const struct routine *r, const struct voice *v,
                 const struct plan_opts *po, const struct timeline **first)
{
    memset(f, 0, sizeof *f);
    f->r = r;
    f->v = v;
    f->po = *po;
    f->say_clip = -1;
    f->slots = calloc(FEEDER_MAX_CLIPS, sizeof *f->slots);
    f->retire_epoch = calloc(FEEDER_MAX_CLIPS, sizeof *f->retire_epoch);
    if (!f->slots || !f->retire_epoch || pipe(f->wake_fd)) {
        free(f->slots);
        free(f->retire_epoch);
        return COACH_ENOMEM;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (pthread_create(&f->thread, NULL, run, f)) {
        snprintf(f->err, sizeof f->err, "cannot start the speech thread");
        return COACH_ENOMEM;
    }
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
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

bool feeder_ready_at(struct feeder *f, uint64_t frame, int timeout_ms)
{
    struct timespec ts;
    deadline(&ts, timeout_ms);
    pthread_mutex_lock(&f->mu);
    f->want_frame = frame;
    f->want_valid = true;
    pthread_cond_broadcast(&f->cv);
    int e = 0;
    while (f->want_valid && !f->rc && e != ETIMEDOUT) e = pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    bool ok = !f->want_valid;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

int feeder_say(struct feeder *f, const char *text, int32_t clip, float **pcm, uint64_t *len)
{
    pthread_mutex_lock(&f->mu);
    f->said_ready = false;
    f->say_text = text ? coach_strdup(text) : NULL;
    f->say_clip = text ? -1 : clip;
    pthread_cond_broadcast(&f->cv);
    struct timespec ts;
    deadline(&ts, 2000);
    int e = 0;
    while (!f->said_ready && !f->rc && e != ETIMEDOUT) e = pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    int rc = f->said_ready && f->said_pcm ? 0 : COACH_ESPEECH;
    *pcm = rc ? NULL : f->said_pcm;
    *len = rc ? 0 : f->said_len;
    f->said_pcm = NULL;
    f->said_ready = false;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void feeder_stop(struct feeder *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    f->live = NULL;
    reap(f, true);
    for (int k = 0; k < f->n_tl; k++) {
        timeline_free(f->tl[k]);
        free(f->tl[k]);
    }
    free(f->said_pcm);
    free(f->say_text);
    free(f->needed);
    if (f->sp) {
        clipstore_free(&f->cs);
        speech_close(f->sp);
    }
    free(f->slots);
    free(f->retire_epoch);
    close(f->wake_fd[0]);
    close(f->wake_fd[1]);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
}
