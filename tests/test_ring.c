/* Tests for the SPSC ring: single-thread edge cases (empty, exactly full,
 * wrap-around, capacity rounding, every message size from 1 to 64 bytes)
 * and a two-thread stress run where a producer pushes millions of
 * sequenced, checksummed messages and the consumer proves each one arrives
 * exactly once, in order, untorn. COACH_RING_MSGS overrides the count
 * (e.g. smaller under a slow sanitizer). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coach/common.h"
#include "coach/ring.h"
#include "testutil.h"

struct msg16 {
    uint64_t seq;
    uint64_t check; /* derived from seq: a torn copy shows as a mismatch */
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_rounding(void)
{
    static const size_t in[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 100, 1000, 1024, 1025};
    static const size_t out[] = {1, 1, 2, 4, 4, 8, 8, 8, 16, 128, 1024, 1024, 2048};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        struct ring r;
        CHECK(ring_init(&r, in[i], 8) == COACH_OK);
        CHECKF(r.cap == out[i], "cap %zu -> %zu, want %zu", in[i], r.cap, out[i]);
        ring_free(&r);
    }
    struct ring r;
    CHECK(ring_init(&r, 4, 0) == COACH_EINVAL);
    CHECK(ring_init(&r, SIZE_MAX / 2 + 2, 1) == COACH_ENOMEM);
    CHECK(ring_init(&r, 1u << 20, SIZE_MAX / 4) == COACH_ENOMEM);
}

static void test_empty_full(void)
{
    struct ring r;
    CHECK(ring_init(&r, 6, sizeof(uint32_t)) == COACH_OK); /* rounds to 8 */
    uint32_t v = 0xdeadbeef;
    CHECK(!ring_pop(&r, &v));
    CHECK(v == 0xdeadbeef); /* a failed pop writes nothing */

    for (uint32_t i = 0; i < 8; i++)
        CHECK(ring_push(&r, &i));
    uint32_t extra = 99;
    CHECK(!ring_push(&r, &extra)); /* full at exactly cap */
    CHECK(!ring_push(&r, &extra));
    for (uint32_t i = 0; i < 8; i++) {
        CHECK(ring_pop(&r, &v));
        CHECK(v == i);
    }
    CHECK(!ring_pop(&r, &v));

    /* Many laps with varying fill levels: wrap-around of the slot index. */
    uint32_t next_in = 0, next_out = 0;
    int bad = 0;
    for (int lap = 0; lap < 1000; lap++) {
        int n = 1 + lap % 8;
        for (int k = 0; k < n; k++) {
            if (!ring_push(&r, &next_in)) bad++;
            next_in++;
        }
        for (int k = 0; k < n; k++) {
            if (!ring_pop(&r, &v) || v != next_out) bad++;
            next_out++;
        }
    }
    CHECKF(!bad, "%d wrap-around errors", bad);
    CHECK(!ring_pop(&r, &v));
    ring_free(&r);
}

/* The counters wrap past SIZE_MAX without losing count. */
static void test_counter_wrap(void)
{
    struct ring r;
    CHECK(ring_init(&r, 4, 1) == COACH_OK);
    atomic_store(&r.head, SIZE_MAX - 2);
    atomic_store(&r.tail, SIZE_MAX - 2);
    int bad = 0;
    for (unsigned i = 0; i < 20; i++) {
        unsigned char in = (unsigned char)i, out = 0;
        if (!ring_push(&r, &in)) bad++;
        if (i % 2) {
            unsigned char in2 = (unsigned char)(100 + i);
            if (!ring_push(&r, &in2)) bad++;
            if (!ring_pop(&r, &out) || out != in) bad++;
            if (!ring_pop(&r, &out) || out != in2) bad++;
        } else if (!ring_pop(&r, &out) || out != in) {
            bad++;
        }
    }
    for (int i = 0; i < 4; i++) {
        unsigned char c = 7;
        if (!ring_push(&r, &c)) bad++;
    }
    unsigned char c = 8;
    if (ring_push(&r, &c)) bad++; /* still full at exactly cap */
    CHECKF(!bad, "%d errors across the counter wrap", bad);
    ring_free(&r);
}

static void test_sizes(void)
{
    for (size_t sz = 1; sz <= 64; sz++) {
        struct ring r;
        CHECK(ring_init(&r, 5, sz) == COACH_OK);
        unsigned char in[64], out[64];
        int bad = 0;
        for (unsigned n = 0; n < 50; n++) {
            for (size_t b = 0; b < sz; b++)
                in[b] = (unsigned char)(n * 31 + b);
            memset(out, 0xAA, sizeof out);
            if (!ring_push(&r, in)) bad++;
            if (!ring_pop(&r, out)) bad++;
            if (memcmp(in, out, sz)) bad++;
            /* the copy is exactly msg_size bytes */
            for (size_t b = sz; b < 64; b++)
                if (out[b] != 0xAA) bad++;
        }
        for (unsigned n = 0; n < 8; n++) {
            memset(in, (int)n, sz);
            if (ring_push(&r, in) != (n < 8)) bad++;
        }
        memset(in, 0xFF, sz);
        if (ring_push(&r, in)) bad++;
        for (unsigned n = 0; n < 8; n++) {
            if (!ring_pop(&r, out)) bad++;
            for (size_t b = 0; b < sz; b++)
                if (out[b] != n) bad++;
        }
        CHECKF(!bad, "msg size %zu: %d errors", sz, bad);
        ring_free(&r);
    }
}

/* ---- two threads ---- */

struct stress {
    struct ring r;
    uint64_t n;          /* messages to send */
    size_t msg_size;     /* 16 (struct msg16) or 64 (seq repeated) */
    uint64_t full_waits; /* producer saw full (producer only) */
};

static void fill(unsigned char *m, size_t sz, uint64_t seq)
{
    if (sz == sizeof(struct msg16)) {
        struct msg16 x = {seq, mix(seq)};
        memcpy(m, &x, sizeof x);
    } else {
        /* every 8-byte word carries a seq-derived value across cache lines */
        for (size_t w = 0; w < sz / 8; w++) {
            uint64_t v = mix(seq + w);
            memcpy(m + w * 8, &v, 8);
        }
        memcpy(m, &seq, 8);
    }
}

static void *producer(void *arg)
{
    struct stress *s = arg;
    unsigned char m[64];
    for (uint64_t seq = 0; seq < s->n; seq++) {
        fill(m, s->msg_size, seq);
        unsigned spins = 0;
        while (!ring_push(&s->r, m)) {
            s->full_waits++;
            /* Spin briefly, then yield: with 2 cores the consumer may
             * need our CPU. */
            if (++spins > 64) sched_yield();
        }
    }
    return NULL;
}

static void stress(uint64_t n, size_t msg_size, size_t cap)
{
    struct stress s = {.n = n, .msg_size = msg_size};
    CHECK(ring_init(&s.r, cap, msg_size) == COACH_OK);
    pthread_t t;
    double t0 = now_s();
    CHECK(pthread_create(&t, NULL, producer, &s) == 0);

    unsigned char m[64], want[64];
    uint64_t expect = 0, lost = 0, torn = 0, empty_waits = 0;
    while (expect < n) {
        unsigned spins = 0;
        while (!ring_pop(&s.r, m)) {
            empty_waits++;
            if (++spins > 64) sched_yield();
        }
        uint64_t seq;
        memcpy(&seq, m, 8);
        if (seq != expect) {
            /* out of order, lost or duplicated: count and resynchronise */
            if (lost++ < 5)
                fprintf(stderr, "got seq %llu, want %llu\n", (unsigned long long)seq,
                        (unsigned long long)expect);
            if (seq >= n) break;
            expect = seq;
        }
        fill(want, msg_size, seq);
        if (memcmp(m, want, msg_size)) torn++;
        expect++;
    }
    pthread_join(t, NULL);
    double dt = now_s() - t0;
    CHECKF(lost == 0, "%llu sequence errors", (unsigned long long)lost);
    CHECKF(torn == 0, "%llu torn messages", (unsigned long long)torn);
    CHECK(!ring_pop(&s.r, m)); /* nothing extra left behind */
    printf("ring: %llu x %zu-byte msgs, cap %zu: %.2f s, %.1f M msgs/s "
           "(producer full %llu, consumer empty %llu)\n",
           (unsigned long long)n, msg_size, s.r.cap, dt, n / dt / 1e6,
           (unsigned long long)s.full_waits, (unsigned long long)empty_waits);
    ring_free(&s.r);
}

int main(void)
{
    test_rounding();
    test_empty_full();
    test_counter_wrap();
    test_sizes();

    uint64_t n = 5000000;
    const char *env = getenv("COACH_RING_MSGS");
    if (env && *env) n = strtoull(env, NULL, 10);
    stress(n, sizeof(struct msg16), 1024);
    stress(n / 5, 64, 256);
    stress(n / 5, sizeof(struct msg16), 2); /* tiny ring: constant full/empty */
    return test_done();
}
