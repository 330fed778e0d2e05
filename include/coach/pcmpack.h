/* Lossless packing of mono int16 PCM, for speech sources held in memory
 * for a whole session: a second-order fixed predictor and Rice codes (the
 * scheme of FLAC's fixed subframes), about half the size of the raw samples
 * for espeak-ng's speech and fast both ways. Unpacking gives back exactly the
 * samples that were packed. */
#ifndef COACH_PCMPACK_H
#define COACH_PCMPACK_H

#include <stddef.h>
#include <stdint.h>

/* Packs n samples into a new buffer (*out, malloc'd, *out_bytes long).
 * n == 0 gives *out == NULL, *out_bytes == 0. Returns 0 or COACH_ENOMEM. */
int pcmpack_pack(const int16_t *in, size_t n, uint8_t **out, size_t *out_bytes);
/* Unpacks exactly n samples (the n given to pcmpack_pack) from in into out.
 * Returns 0, or COACH_EINVAL if the data is short or malformed. */
int pcmpack_unpack(const uint8_t *in, size_t in_bytes, int16_t *out, size_t n);

#endif
