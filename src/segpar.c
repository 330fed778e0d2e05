/* Segments encoded on workers, handed back in order (segpar.h). Written by
 * hand: no Debian library schedules a codec's segments this way. The
 * calling thread copies samples into every segment they belong to (with
 * overlapping segments, into two), queues a segment once its input is
 * complete, and emits finished segments in order; workers take queued
 * segments in order. A slot is reused only after its segment was emitted:
 * one filling, the workers' encoding, one emitted. */
#define _POSIX_C_SOURCE 200809L

#include "coach/segpar.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/pcm16.h"

enum seg_state { SEG_FREE, SEG_FILLING, SEG_QUEUED, SEG_DONE };

struct seg {
    void *pcm;            /* interleaved input, from in_a: float, or int16_t (pcm16) */
    unsigned char *out;   /* the kept bytes once done */
    size_t out_len;
    int err;              /* worker's result: 0 or negative */
    enum seg_state state; /* guarded by mu */
};

struct segpar {
    /* immutable after open */
    struct segpar_codec c;
    uint32_t channels;
    uint64_t total, n_segs;
    size_t pcm_cap, out_cap;
    bool c16;            /* segments hold int16_t (segpar_opts.pcm16) */
    size_t n_ring;
    struct seg *ring;
    unsigned n_workers;
    pthread_t workers[SEGPAR_MAX_WORKERS];
    unsigned started; /* workers running */

    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    uint64_t queued; /* segments handed to the workers (mu) */
    uint64_t taken;  /* segments a worker took (mu) */
    bool stop;       /* (mu) */

    /* caller's thread only */
    uint64_t pos;       /* input frames received */
    uint64_t next_open; /* next segment to start filling */
    uint64_t written;   /* segments emitted */
    int err;            /* first error, sticky */
};

static struct seg *slot(const struct segpar *p, uint64_t s) { return &p->ring[s % p->n_ring]; }
static uint64_t in_a(const struct segpar *p, uint64_t s) { return p->c.in_a(p->c.ctx, s); }
static uint64_t in_b(const struct segpar *p, uint64_t s) { return p->c.in_b(p->c.ctx, s); }

static void *worker(void *arg)
{
    struct segpar *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->taken == p->queued) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        uint64_t s = p->taken++;
        pthread_mutex_unlock(&p->mu);
        struct seg *g = slot(p, s);
        size_t n = (size_t)(in_b(p, s) - in_a(p, s));
        int rc = p->c.encode(p->c.ctx, s, g->pcm, n, g->out, p->out_cap, &g->out_len);
        pthread_mutex_lock(&p->mu);
        g->err = rc;
        g->state = SEG_DONE;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int fail(struct segpar *p, int rc)
{
    if (!p->err) p->err = rc;
    return p->err;
}

/* Emits the oldest unemitted segment, waiting for its worker if `wait`;
 * 1 if one was emitted, 0 if not (not done yet), negative on error. */
static int write_next(struct segpar *p, bool wait)
{
    uint64_t s = p->written;
    struct seg *g = slot(p, s);
    pthread_mutex_lock(&p->mu);
    while (wait && s < p->queued && g->state != SEG_DONE) pthread_cond_wait(&p->done_cv, &p->mu);
    bool ready = s < p->queued && g->state == SEG_DONE;
    pthread_mutex_unlock(&p->mu);
    if (!ready) return wait ? fail(p, COACH_EINVAL) : 0; /* waiting for one never queued: a bug */
    if (g->err) return fail(p, g->err);
    int rc = p->c.emit(p->c.ctx, s, g->out, g->out_len);
    if (rc) return fail(p, rc);
    pthread_mutex_lock(&p->mu);
    g->state = SEG_FREE;
    pthread_mutex_unlock(&p->mu);
    p->written++;
    return 1;
}

static void queue_seg(struct segpar *p, uint64_t s)
{
    pthread_mutex_lock(&p->mu);
    slot(p, s)->state = SEG_QUEUED;
    p->queued = s + 1;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

/* Opens segment s for filling once its slot is free: the segment that
 * used it before is emitted (finished ones are emitted on the way). */
static int open_seg(struct segpar *p, uint64_t s)
{
    int rc;
    while ((rc = write_next(p, false)) > 0) {}
    if (rc < 0) return rc;
    while (p->written + p->n_ring <= s)
        if ((rc = write_next(p, true)) < 0) return rc;
    struct seg *g = slot(p, s);
    g->state = SEG_FILLING;
    g->out_len = 0;
    g->err = 0;
    return 0;
}

/* n samples of x into g's pcm from sample `at`: as they are, or as 16-bit
 * PCM (a WAV export's values; beyond full scale, which the renderer's
 * limiter never gives, clipped: pcm16.h). */
static void copy_in(const struct segpar *p, struct seg *g, size_t at, const float *x, size_t n)
{
    if (p->c16)
        pcm16_from_float_clipped(x, (int16_t *)g->pcm + at, n);
    else
        memcpy((float *)g->pcm + at, x, n * sizeof *x);
}

/* Copies x into every segment it belongs to, opening and queueing
 * segments as the position passes their bounds. */
static int feed(struct segpar *p, const float *x, size_t n)
{
    for (;;) {
        int rc;
        while (p->next_open < p->n_segs && in_a(p, p->next_open) <= p->pos) {
            if ((rc = open_seg(p, p->next_open)) != 0) return rc;
            p->next_open++;
        }
        while (p->queued < p->next_open && in_b(p, p->queued) <= p->pos) queue_seg(p, p->queued);
        if (n == 0) return 0;
        uint64_t lim = p->pos + n;
        if (p->next_open < p->n_segs && in_a(p, p->next_open) < lim) lim = in_a(p, p->next_open);
        if (p->queued < p->next_open && in_b(p, p->queued) < lim) lim = in_b(p, p->queued);
        size_t c = (size_t)(lim - p->pos);
        if (c == 0) return fail(p, COACH_EINVAL); /* unreachable: more than total is refused */
        for (uint64_t s = p->queued; s < p->next_open; s++)
            copy_in(p, slot(p, s), (size_t)(p->pos - in_a(p, s)) * p->channels, x, c * p->channels);
        x += c * p->channels;
        n -= c;
        p->pos += c;
    }
}

int segpar_write(struct segpar *p, const float *frames, size_t n)
{
    if (p->err) return p->err;
    if (n > p->total - p->pos) return fail(p, COACH_EINVAL);
    return feed(p, frames, n);
}

int segpar_finish(struct segpar *p)
{
    if (p->err) return p->err;
    if (p->pos != p->total) return fail(p, COACH_EINVAL);
    int rc = feed(p, NULL, 0);
    while (rc == 0 && p->written < p->n_segs) rc = write_next(p, true) < 0 ? p->err : 0;
    return rc;
}

void segpar_free(struct segpar *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->started; i++) pthread_join(p->workers[i], NULL);
    if (p->ring)
        for (size_t i = 0; i < p->n_ring; i++) {
            free(p->ring[i].pcm);
            free(p->ring[i].out);
        }
    free(p->ring);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

static int start_workers(struct segpar *p)
{
    for (; p->started < p->n_workers; p->started++) {
        int rc = coach_thread_start(&p->workers[p->started], worker, p);
        if (rc) return rc;
    }
    return 0;
}

int segpar_open(struct segpar **out, const struct segpar_opts *o, const struct segpar_codec *c)
{
    *out = NULL;
    if (o->channels == 0 || o->n_segs == 0 || o->pcm_cap == 0 || o->out_cap == 0 || !c->in_a ||
        !c->in_b || !c->encode || !c->emit)
        return COACH_EINVAL;
    struct segpar *p = calloc(1, sizeof *p);
    if (!p) return COACH_ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->c = *c;
    p->channels = o->channels;
    p->total = o->total;
    p->n_segs = o->n_segs;
    p->pcm_cap = o->pcm_cap;
    p->out_cap = o->out_cap;
    p->c16 = o->pcm16;
    p->n_workers = o->workers ? o->workers : coach_cores();
    if (p->n_workers > SEGPAR_MAX_WORKERS) p->n_workers = SEGPAR_MAX_WORKERS;
    /* one filling, n_workers encoding, one emitted (a slot fewer than with
     * a second one filling: 0.3 MB less resident for MP3, the same speed) */
    p->n_ring = p->n_workers + 2;
    p->ring = calloc(p->n_ring, sizeof *p->ring);
    int rc = p->ring ? 0 : COACH_ENOMEM;
    for (size_t i = 0; rc == 0 && i < p->n_ring; i++) {
        p->ring[i].pcm = malloc(p->pcm_cap * p->channels * (p->c16 ? sizeof(int16_t) : sizeof(float)));
        p->ring[i].out = malloc(p->out_cap);
        if (!p->ring[i].pcm || !p->ring[i].out) rc = COACH_ENOMEM;
    }
    if (rc == 0) rc = start_workers(p);
    if (rc) {
        segpar_free(p);
        return rc;
    }
    *out = p;
    return 0;
}
