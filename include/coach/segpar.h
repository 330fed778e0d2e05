/* A stream cut into segments that are encoded on worker threads and
 * handed back in order: the machinery the parallel MP3 and Opus writers
 * share (mp3par.h, opuspar.h). The codec says which input frames each
 * segment is fed (segments may overlap: a lead-in primes an encoder),
 * encodes one segment on a worker, and takes the finished segments in
 * order on the writing thread. Segment buffers form a ring, reused in
 * order: memory is a few segments however long the stream. */
#ifndef COACH_SEGPAR_H
#define COACH_SEGPAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct segpar;

struct segpar_codec {
    void *ctx;
    /* The input frames segment s is fed, [in_a(s), in_b(s)): both grow
     * with s; in_a(0) = 0 and the last segment's in_b is the total. */
    uint64_t (*in_a)(void *ctx, uint64_t s);
    uint64_t (*in_b)(void *ctx, uint64_t s);
    /* On a worker: encodes segment s (n interleaved frames: floats, or
     * int16_t with segpar_opts.pcm16) into out, at most cap bytes; *len =
     * the bytes kept. 0 or negative. */
    int (*encode)(void *ctx, uint64_t s, const void *pcm, size_t n, unsigned char *out,
                  size_t cap, size_t *len);
    /* On the writing thread, in order of s: takes a finished segment.
     * 0 or negative. */
    int (*emit)(void *ctx, uint64_t s, const unsigned char *out, size_t len);
};

struct segpar_opts {
    uint32_t channels;
    uint64_t total;   /* input frames that will be written */
    uint64_t n_segs;  /* at least 1 */
    size_t pcm_cap;   /* frames a segment may be fed, at most */
    size_t out_cap;   /* bytes a segment's encoding may take, at most */
    unsigned workers; /* threads; 0 = coach_cores(), at most SEGPAR_MAX_WORKERS */
    bool pcm16;       /* segments hold 16-bit PCM (as a WAV export's, pcm16.h; a
                         sample beyond full scale clipped): half the memory */
};

#define SEGPAR_MAX_WORKERS 4

/* 0, or COACH_ENOMEM / COACH_EINVAL. */
int segpar_open(struct segpar **out, const struct segpar_opts *o, const struct segpar_codec *c);
/* Takes n interleaved frames; blocks while every segment buffer is busy.
 * 0 or negative; the first error (of encode or emit too) sticks.
 * COACH_EINVAL: more frames than total. */
int segpar_write(struct segpar *p, const float *frames, size_t n);
/* Once every frame is in: encodes and emits what is left. 0 or negative
 * (COACH_EINVAL: fewer frames than total). */
int segpar_finish(struct segpar *p);
/* Stops the workers and frees p (also unfinished: a cancel); NULL is fine. */
void segpar_free(struct segpar *p);

#endif
