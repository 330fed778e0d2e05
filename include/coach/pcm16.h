/* Float samples to 16-bit PCM exactly as libsndfile writes them (its
 * f2les_array: lrintf(x * 0x7FFF), the low 16 bits kept), but many at a
 * time: libsndfile converts one sample per call of lrintf, 8 % of a warm
 * WAV export's time, and writes the result 8 KB at a time. */
#ifndef COACH_PCM16_H
#define COACH_PCM16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* y[0, n) from x[0, n). false (y unspecified) if a sample is 127 times
 * full scale or more, or NaN: libsndfile's bytes for it depend on the
 * machine, so the caller gives those floats to libsndfile itself. */
bool pcm16_from_float(const float *x, int16_t *y, size_t n);

/* y[0, n) from x[0, n) for an encoder fed 16-bit PCM (the MP3 writer):
 * within full scale the same values as pcm16_from_float, beyond it
 * clipped to 32767 / -32768 (where libsndfile's WAV bytes wrap), NaN as 0. */
void pcm16_from_float_clipped(const float *x, int16_t *y, size_t n);

#endif
