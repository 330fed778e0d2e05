/* The single-producer single-consumer message ring: a power-of-two array of
 * fixed-size slots and two monotonic counters. The producer owns head, the
 * consumer owns tail; each publishes its counter with a release store and
 * reads the other's with an acquire load, so a slot's bytes are always
 * complete before the other side can see the counter that covers them.
 * Safe to call from the audio callback: no locks, no allocation, no
 * syscalls after ring_init. */
#include "coach/ring.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

int ring_init(struct ring *r, size_t cap_msgs, size_t msg_size)
{
    r->buf = NULL;
    r->cap = 0;
    r->msg_size = 0;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    if (msg_size == 0) return COACH_EINVAL;

    /* Power of two so an index is a mask, and the counters may wrap
     * around SIZE_MAX without breaking head - tail. */
    size_t cap = 1;
    while (cap < cap_msgs) {
        if (cap > SIZE_MAX / 2) return COACH_ENOMEM;
        cap *= 2;
    }
    if (cap > SIZE_MAX / msg_size) return COACH_ENOMEM;

    /* Zeroed so a reader can never see uninitialised bytes, even by bug. */
    r->buf = calloc(cap, msg_size);
    if (!r->buf) return COACH_ENOMEM;
    r->cap = cap;
    r->msg_size = msg_size;
    return COACH_OK;
}

void ring_free(struct ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

bool ring_push(struct ring *r, const void *msg)
{
    /* Our own counter: only we write it, so relaxed is enough. */
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    /* Acquire pairs with the consumer's release of tail: it has finished
     * reading the slot we are about to overwrite. */
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail >= r->cap) return false;
    memcpy(r->buf + (head & (r->cap - 1)) * r->msg_size, msg, r->msg_size);
    /* Release: the slot's bytes are visible before the new head is. */
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return true;
}

bool ring_pop(struct ring *r, void *msg)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* Acquire pairs with the producer's release of head. */
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (head == tail) return false;
    memcpy(msg, r->buf + (tail & (r->cap - 1)) * r->msg_size, r->msg_size);
    /* Release: we are done with the slot before the producer may reuse it. */
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return true;
}
