/* Mono int16 PCM kept losslessly in memory as a FLAC stream (libsndfile's
 * FLAC writer and reader over a heap buffer): the clip store keeps every
 * synthesized speech source this way for a whole session, at about half
 * the size of the raw samples. Decoding gives back exactly the samples that
 * were encoded; a damaged or truncated stream is refused, never read past
 * its end. */
#ifndef COACH_PCMSTORE_H
#define COACH_PCMSTORE_H

#include <stddef.h>
#include <stdint.h>

/* Encodes n samples at rate_hz (1..655350, FLAC's range) into a new
 * buffer (*out, malloc'd, *out_bytes long). n == 0 gives *out == NULL,
 * *out_bytes == 0. Returns 0, COACH_EINVAL (rate or n out of range),
 * COACH_ENOMEM, or COACH_EFORMAT (libsndfile cannot write FLAC). */
int pcmstore_encode(const int16_t *in, size_t n, uint32_t rate_hz, uint8_t **out,
                    size_t *out_bytes);
/* Decodes exactly n samples (the n given to pcmstore_encode) from in into
 * out. n == 0 reads nothing. Returns 0, or COACH_EINVAL if in is not a
 * whole, intact mono FLAC stream of n samples. */
int pcmstore_decode(const uint8_t *in, size_t in_bytes, int16_t *out, size_t n);

/* A stream's bytes wherever they are: read_at copies n bytes at off (all
 * within len) into buf and returns 0, or nonzero if it cannot. */
struct pcmstore_bytes {
    int (*read_at)(void *ctx, uint64_t off, void *buf, size_t n);
    void *ctx;
    size_t len; /* the stream's bytes */
};

/* A stream decoded in pieces, in order: the same samples pcmstore_decode
 * gives, with memory that does not grow with the stream (a long clip is
 * prepared as it is heard). */
struct pcmstore_reader;
/* Opens src, a mono FLAC stream of n samples, or refuses it: COACH_EINVAL
 * (not such a stream), COACH_EIO (read_at failed), COACH_ENOMEM. */
int pcmstore_reader_open(struct pcmstore_reader **r, const struct pcmstore_bytes *src, size_t n);
/* The next n samples (in all never more than the n opened with): 0, or
 * COACH_EINVAL (damaged: what is in out is not to be used), COACH_EIO. */
int pcmstore_reader_read(struct pcmstore_reader *r, int16_t *out, size_t n);
void pcmstore_reader_close(struct pcmstore_reader *r);

#endif
