/* A bounded queue of sample blocks from one producer thread to one
 * consumer thread (export: the renderer to the encoder). The slots are
 * allocated once; the producer fills one in place and publishes it, the
 * consumer reads it in place and releases it, so a block is never copied.
 * A mutex and a condition variable, not the lock-free ring: neither side
 * is the audio callback, and both sides must be able to sleep. Either side
 * may abort (an error, a cancel): every wait then returns at once. A
 * waiting side is woken when half the queue is ready for it (or at the
 * end), so the two threads meet every few blocks, not at every one. */
#ifndef COACH_BLOCKQ_H
#define COACH_BLOCKQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct blockq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    float *buf;           /* cap slots of slot_floats each */
    size_t *frames;       /* frames in each published slot */
    size_t cap, slot_floats;
    size_t head, tail;    /* published / released slots so far */
    bool closed;          /* the producer has published its last block */
    bool aborted;
    bool producer_waits;  /* for a free slot */
    bool consumer_waits;  /* for a block */
};

/* cap_blocks slots of slot_floats floats. 0 or COACH_ENOMEM/EINVAL. */
int blockq_init(struct blockq *q, size_t cap_blocks, size_t slot_floats);
void blockq_free(struct blockq *q);

/* Producer: the next free slot (waits while all are full), or NULL once
 * the queue is aborted. */
float *blockq_acquire(struct blockq *q);
/* Producer: the slot from blockq_acquire now holds frames frames. */
void blockq_publish(struct blockq *q, size_t frames);
/* Producer: no more blocks; the consumer drains what is queued. */
void blockq_close(struct blockq *q);

/* Consumer: the oldest published block (waits while none is), or NULL at
 * the end (closed and drained) or once aborted. */
const float *blockq_peek(struct blockq *q, size_t *frames);
/* Consumer: done with the block from blockq_peek; its slot is free. */
void blockq_release(struct blockq *q);

/* Either side: stop; the other side's waits return NULL from now on. */
void blockq_abort(struct blockq *q);
bool blockq_aborted(struct blockq *q);

#endif
