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

#endif
