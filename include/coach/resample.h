/* One-shot high-quality resampling (libsoxr, HQ) of a speech clip to the
 * output rate. Called once per clip, never on the audio thread. */
#ifndef COACH_RESAMPLE_H
#define COACH_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* Exactly how many frames resample_i16_to_f32 produces: ceil-free,
 * round(in_len * out_rate / in_rate), the same on every machine. */
size_t resample_out_len(size_t in_len, uint32_t in_rate_hz, uint32_t out_rate_hz);
/* Resamples mono int16 to mono float in [-1, 1], writing exactly
 * resample_out_len() frames to out. Returns 0 or negative. */
int resample_i16_to_f32(const int16_t *in, size_t in_len, uint32_t in_rate_hz, float *out,
                        size_t out_len, uint32_t out_rate_hz);

#endif
