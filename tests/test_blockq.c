/* Tests for the block queue between export's renderer and its encoder
 * thread: blocks arrive whole, once, in order through a tiny queue that is
 * constantly full or empty; close lets the consumer drain what is queued;
 * an abort from either side wakes the other out of its wait (a failed
 * write stops the renderer, a cancel stops the encoder). COACH_BLOCKQ_N
 * overrides the block count (smaller under a slow sanitizer). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "coach/blockq.h"
#include "coach/common.h"
#include "testutil.h"

#define SLOT 64

struct run {
    struct blockq q;
    size_t blocks;
    size_t got;      /* consumer: blocks seen */
    size_t bad;      /* consumer: torn or out-of-order blocks */
    size_t stop_at;  /* consumer aborts after this many (0: never) */
};

static void *consume(void *arg)
{
    struct run *r = arg;
    const float *b;
    size_t n;
    while ((b = blockq_peek(&r->q, &n)) != NULL) {
        size_t want_n = 1 + r->got % SLOT;
        if (n != want_n) r->bad++;
        for (size_t i = 0; i < n; i++)
            if (b[i] != (float)(r->got * 7 + i)) r->bad++;
        r->got++;
        blockq_release(&r->q);
        if (r->stop_at && r->got == r->stop_at) {
            blockq_abort(&r->q);
            break;
        }
    }
    return NULL;
}

/* Producer on this thread: returns how many blocks it published. */
static size_t produce(struct run *r, size_t abort_after)
{
    size_t k = 0;
    for (; k < r->blocks; k++) {
        if (abort_after && k == abort_after) {
            blockq_abort(&r->q);
            return k;
        }
        float *s = blockq_acquire(&r->q);
        if (!s) return k;
        size_t n = 1 + k % SLOT;
        for (size_t i = 0; i < n; i++) s[i] = (float)(k * 7 + i);
        blockq_publish(&r->q, n);
    }
    blockq_close(&r->q);
    return k;
}

static void run(size_t blocks, size_t cap, size_t consumer_stop, size_t producer_abort)
{
    struct run r = {.blocks = blocks, .stop_at = consumer_stop};
    CHECK(blockq_init(&r.q, cap, SLOT) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, consume, &r) == 0);
    size_t sent = produce(&r, producer_abort);
    pthread_join(t, NULL);
    CHECKF(r.bad == 0, "%zu bad blocks", r.bad);
    if (!consumer_stop && !producer_abort) {
        CHECKF(sent == blocks && r.got == blocks, "sent %zu, got %zu of %zu", sent, r.got, blocks);
        CHECK(!blockq_aborted(&r.q));
    }
    if (consumer_stop) {
        /* the producer was woken out of a full queue and told to stop */
        CHECKF(r.got == consumer_stop, "got %zu", r.got);
        CHECKF(sent < blocks && sent <= consumer_stop + cap, "sent %zu", sent);
        CHECK(blockq_aborted(&r.q));
    }
    if (producer_abort) {
        /* the consumer was woken out of an empty (or draining) queue */
        CHECKF(sent == producer_abort && r.got <= sent, "sent %zu, got %zu", sent, r.got);
        CHECK(blockq_aborted(&r.q));
    }
    blockq_free(&r.q);
}

/* One thread: close drains what is queued; after the end, peek says so. */
static void test_close_drains(void)
{
    struct blockq q;
    CHECK(blockq_init(&q, 3, 4) == 0);
    for (int k = 0; k < 3; k++) {
        float *s = blockq_acquire(&q);
        CHECK(s != NULL);
        if (s) s[0] = (float)k;
        blockq_publish(&q, (size_t)k + 1);
    }
    blockq_close(&q);
    for (int k = 0; k < 3; k++) {
        size_t n = 0;
        const float *b = blockq_peek(&q, &n);
        CHECK(b && b[0] == (float)k && n == (size_t)k + 1);
        blockq_release(&q);
    }
    size_t n;
    CHECK(blockq_peek(&q, &n) == NULL);
    blockq_free(&q);
    blockq_free(&q); /* twice is harmless */
}

static void test_bad_args(void)
{
    struct blockq q;
    CHECK(blockq_init(&q, 0, 4) == COACH_EINVAL);
    CHECK(blockq_init(&q, 4, 0) == COACH_EINVAL);
    CHECK(blockq_init(&q, SIZE_MAX / 2, 8) == COACH_ENOMEM);
    /* an aborted queue hands out nothing, to either side */
    CHECK(blockq_init(&q, 2, 4) == 0);
    blockq_abort(&q);
    size_t n;
    CHECK(blockq_acquire(&q) == NULL);
    CHECK(blockq_peek(&q, &n) == NULL);
    blockq_free(&q);
}

int main(void)
{
    size_t n = 200000;
    const char *env = getenv("COACH_BLOCKQ_N");
    if (env && *env) n = strtoull(env, NULL, 10);
    test_close_drains();
    test_bad_args();
    run(n, 4, 0, 0);
    run(n / 4, 1, 0, 0); /* one slot: every hand-over waits */
    run(n / 4, 4, n / 8, 0);
    run(n / 4, 4, 0, n / 8);
    run(100, 2, 1, 0);
    run(100, 2, 0, 1);
    return test_done();
}
