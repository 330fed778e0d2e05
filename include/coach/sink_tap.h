/* The tap of spoken commands' echo canceller: a sink (sink.h) that wraps
 * another and hands a copy of everything it plays, mixed to mono, to the
 * listener's thread through an SPSC ring (ring.h): the far-end reference,
 * exact whatever the player does (pauses, fades, answers, volume). In the
 * audio callback it only copies and pushes (no lock, no allocation); a
 * full ring drops a block, which the listener sees as a gap. The listener
 * takes the copy at 16 kHz, stamped with when it is heard by the output's
 * clock (the callback's time plus the device's latency). */
#ifndef COACH_SINK_TAP_H
#define COACH_SINK_TAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/ring.h"
#include "coach/sink.h"

#define TAP_BLOCK_FRAMES 480 /* frames a ring message holds (10 ms at 48 kHz) */
#define TAP_RING_BLOCKS 512  /* 5 s at 48 kHz (1 MB): the listener reads every 100 ms */

struct sink_tap {
    struct ring ring;               /* struct tap_block (sink_tap.c) */
    atomic_uint gen;                /* sinks opened through the tap: a new one restarts the reference */
    atomic_uint rate_hz;            /* the open sink's rate */
    atomic_uint_fast64_t latency_ns; /* its reported output latency */
    atomic_uint_fast64_t dropped;   /* blocks the full ring refused */
    /* the listener's side */
    void *soxr;                     /* the sink's rate -> 16 kHz */
    unsigned soxr_rate, gen_seen;
    uint64_t next_frame;            /* the frame the next block should start at */
    uint64_t base_frame;            /* the frame 16 kHz sample 0 was made from (since the last restart) */
    int64_t off_ns;                 /* base_frame is heard at the latest of (callback time + latency - its frame's time) */
    bool have_off;
    uint64_t out_total;             /* 16 kHz samples given since the sink opened */
};

/* Returns 0 or COACH_ENOMEM. */
int sink_tap_init(struct sink_tap *t);
void sink_tap_free(struct sink_tap *t);
/* The sink to open instead of inner: plays through inner, tapped into t.
 * One tapped sink at a time (the tap's table is static). */
const struct sink_ops *sink_tap_wrap(struct sink_tap *t, const struct sink_ops *inner);
/* The listener: what was played since the last call, at 16 kHz, into
 * out[0..cap) (cap >= 1024), *n samples, the first heard at *play_ns
 * (CLOCK_MONOTONIC); *restarted when a new sink began (or a gap over a
 * second was lost) since the last call. Call until *n is 0. Returns 0 or
 * COACH_ENOMEM. */
int sink_tap_take(struct sink_tap *t, float *out, size_t cap, size_t *n, uint64_t *play_ns, bool *restarted);

#endif
