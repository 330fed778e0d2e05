/* A lock-free single-producer single-consumer ring of fixed-size messages
 * (C11 atomics, acquire/release). The only way the audio callback and the
 * other threads talk: no locks, no allocation after ring_init. */
#ifndef COACH_RING_H
#define COACH_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct ring {
    /* immutable after ring_init */
    unsigned char *buf;  /* cap * msg_size bytes */
    size_t cap;          /* messages; a power of two */
    size_t msg_size;     /* bytes per message */
    /* producer writes, consumer reads */
    _Alignas(64) atomic_size_t head; /* messages pushed (monotonic) */
    /* consumer writes, producer reads */
    _Alignas(64) atomic_size_t tail; /* messages popped (monotonic) */
};

/* cap_msgs is rounded up to a power of two. Returns 0 or COACH_ENOMEM. */
int ring_init(struct ring *r, size_t cap_msgs, size_t msg_size);
void ring_free(struct ring *r);
/* Producer only. Copies msg in; false (nothing written) when full. */
bool ring_push(struct ring *r, const void *msg);
/* Consumer only. Copies the oldest message out; false when empty. */
bool ring_pop(struct ring *r, void *msg);

#endif
