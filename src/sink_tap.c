/* The tapped sink (include/coach/sink_tap.h): a wrapper around another
 * sink whose render callback also pushes a mono copy into an SPSC ring. */
#include "coach/sink_tap.h"

#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

#define NS 1000000000ll

struct tap_block {
    uint64_t frame;  /* its first frame, counted from the sink's opening */
    uint64_t cb_ns;  /* CLOCK_MONOTONIC when the callback rendered it */
    uint32_t gen;    /* which opening */
    uint32_t n;      /* frames */
    float x[TAP_BLOCK_FRAMES];
};

struct sink {
    const struct sink_ops *inner;
    struct sink *s;
    struct sink_tap *tap;
    sink_render_fn render;
    void *render_ctx;
    uint32_t channels, gen;
    uint64_t frames; /* the callback's only */
};

static struct sink_tap *armed_tap;
static const struct sink_ops *armed_inner;

/* The callback: render, then copy. No lock, no allocation. */
static void tapped(void *ctx, float *out, size_t n)
{
    struct sink *w = ctx;
    w->render(w->render_ctx, out, n);
    struct tap_block b = {.cb_ns = coach_mono_ns(), .gen = w->gen};
    for (size_t at = 0; at < n; at += TAP_BLOCK_FRAMES) {
        b.frame = w->frames + at;
        b.n = (uint32_t)(n - at < TAP_BLOCK_FRAMES ? n - at : TAP_BLOCK_FRAMES);
        const float *src = out + at * w->channels;
        for (uint32_t i = 0; i < b.n; i++) {
            float s = 0;
            for (uint32_t c = 0; c < w->channels; c++) s += src[i * w->channels + c];
            b.x[i] = s / (float)w->channels;
        }
        if (!ring_push(&w->tap->ring, &b))
            atomic_fetch_add_explicit(&w->tap->dropped, 1, memory_order_relaxed);
    }
    w->frames += n;
}

static int tap_open(struct sink **out, const struct sink_config *cfg, char *err, size_t cap)
{
    *out = NULL;
    struct sink *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, cap, "out of memory");
        return COACH_ENOMEM;
    }
    *w = (struct sink){.inner = armed_inner, .tap = armed_tap, .render = cfg->render,
                       .render_ctx = cfg->render_ctx, .channels = cfg->channels ? cfg->channels : 1};
    struct sink_config c = *cfg;
    c.render = tapped;
    c.render_ctx = w;
    int rc = w->inner->open(&w->s, &c, err, cap);
    if (rc) {
        free(w);
        return rc;
    }
    atomic_store(&w->tap->rate_hz, w->inner->rate(w->s));
    w->gen = atomic_fetch_add(&w->tap->gen, 1) + 1;
    *out = w;
    return 0;
}

static uint32_t tap_rate(struct sink *w) { return w->inner->rate(w->s); }

static int tap_start(struct sink *w, char *err, size_t cap)
{
    int rc = w->inner->start(w->s, err, cap);
    struct sink_stats st;
    w->inner->stats(w->s, &st);
    atomic_store(&w->tap->latency_ns, (uint_fast64_t)(st.latency_s > 0 && st.latency_s < 10 ? st.latency_s * 1e9 : 0));
    return rc;
}

static bool tap_active(struct sink *w) { return w->inner->active(w->s); }
static void tap_wait(struct sink *w, int ms) { w->inner->wait(w->s, ms); }
static void tap_stats(struct sink *w, struct sink_stats *st) { w->inner->stats(w->s, st); }

static void tap_close(struct sink *w)
{
    if (!w) return;
    w->inner->close(w->s);
    free(w);
}

static const struct sink_ops sink_tap_ops = {
    .name = "tap", .open = tap_open, .rate = tap_rate, .start = tap_start, .active = tap_active,
    .wait = tap_wait, .stats = tap_stats, .close = tap_close};

const struct sink_ops *sink_tap_wrap(struct sink_tap *t, const struct sink_ops *inner)
{
    armed_tap = t;
    armed_inner = inner;
    return &sink_tap_ops;
}

int sink_tap_init(struct sink_tap *t)
{
    memset(t, 0, sizeof *t);
    return ring_init(&t->ring, TAP_RING_BLOCKS, sizeof(struct tap_block));
}

void sink_tap_free(struct sink_tap *t)
{
    if (t->soxr) soxr_delete(t->soxr);
    ring_free(&t->ring);
}

/* A new opening (or a rate the resampler was not made for): start over. */
static int restart(struct sink_tap *t, unsigned gen, unsigned rate, uint64_t frame)
{
    if (!t->soxr || t->soxr_rate != rate) {
        if (t->soxr) soxr_delete(t->soxr);
        soxr_error_t e = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_MQ, 0);
        t->soxr = soxr_create(rate, 16000, 1, &e, &io, &q, NULL);
        t->soxr_rate = rate;
        if (e || !t->soxr) {
            t->soxr = NULL;
            return COACH_ENOMEM;
        }
    } else {
        soxr_clear(t->soxr);
    }
    t->gen_seen = gen;
    t->base_frame = t->next_frame = frame;
    t->have_off = false;
    t->out_total = 0;
    return 0;
}

int sink_tap_take(struct sink_tap *t, float *out, size_t cap, size_t *n, uint64_t *play_ns, bool *restarted)
{
    *n = 0;
    *play_ns = 0;
    *restarted = false;
    unsigned rate = atomic_load(&t->rate_hz);
    int64_t lat = (int64_t)atomic_load(&t->latency_ns);
    uint64_t first = t->out_total;
    struct tap_block b;
    /* a block gives at most n * 16k / rate + soxr's slack */
    while (rate && cap - *n >= (size_t)TAP_BLOCK_FRAMES * 16000 / rate + 64 && ring_pop(&t->ring, &b)) {
        if (b.gen != t->gen_seen || !t->soxr) {
            int rc = restart(t, b.gen, rate, b.frame);
            if (rc) return rc;
            *restarted = true; /* what came before was the old opening's */
            *n = 0;
            first = 0;
        }
        if (b.frame != t->next_frame) { /* blocks dropped: silence in their place, or start over */
            uint64_t gap = b.frame > t->next_frame ? b.frame - t->next_frame : UINT64_MAX;
            if (gap > rate) {
                int rc = restart(t, b.gen, rate, b.frame);
                if (rc) return rc;
                *restarted = true;
                *n = 0;
                first = 0;
            } else {
                float zero[TAP_BLOCK_FRAMES] = {0};
                while (t->next_frame < b.frame && cap - *n >= (size_t)TAP_BLOCK_FRAMES * 16000 / rate + 64) {
                    size_t k = b.frame - t->next_frame < TAP_BLOCK_FRAMES ? b.frame - t->next_frame : TAP_BLOCK_FRAMES, done;
                    soxr_process(t->soxr, zero, k, NULL, out + *n, cap - *n, &done);
                    *n += done;
                    t->next_frame += k;
                }
                t->next_frame = b.frame;
            }
        }
        int64_t off = (int64_t)b.cb_ns + lat - (int64_t)((b.frame - t->base_frame) * (uint64_t)NS / rate);
        if (!t->have_off || off > t->off_ns) t->off_ns = off, t->have_off = true;
        size_t done = 0;
        soxr_process(t->soxr, b.x, b.n, NULL, out + *n, cap - *n, &done);
        *n += done;
        t->next_frame = b.frame + b.n;
    }
    t->out_total = first + *n;
    if (t->have_off) *play_ns = (uint64_t)(t->off_ns + (int64_t)(first * (uint64_t)NS / 16000));
    return 0;
}
