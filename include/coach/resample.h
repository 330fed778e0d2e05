/* High-quality resampling (libsoxr, HQ) of a speech clip to the
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

/* The same, in pieces: in_len input frames pulled as needed through pull
 * (n frames into in: 0, or an error returned as is), the output made n
 * frames at a time. The frames are exactly resample_i16_to_f32's. */
struct resampler;
int resampler_open(struct resampler **r, size_t in_len, uint32_t in_rate_hz,
                   uint32_t out_rate_hz, int (*pull)(void *ctx, int16_t *in, size_t n), void *ctx);
/* The next n output frames (in all at most resample_out_len()): 0,
 * COACH_EINVAL (more than that), COACH_EIO, or the pull's error. */
int resampler_run(struct resampler *r, float *out, size_t n);
void resampler_close(struct resampler *r);

#endif
