/* 16-bit PCM from float (pcm16.h). Rounding to the nearest integer, ties to
 * even, is done by adding and taking away 1.5 x 2^23, where a float has no
 * bits below 1: the same rounding as lrintf in the default rounding mode,
 * for |x * 0x7FFF| < 2^22, and a loop the compiler vectorizes (lrintf it
 * does not; this file is built with -O3, CMakeLists.txt). Beyond that
 * (128 times full scale, NaN: never from the renderer, whose limiter keeps
 * every sample within 1), what libsndfile writes depends on how its lrintf
 * overflows on the machine, so such samples are left to libsndfile. */
#include "coach/pcm16.h"

#include <math.h>

#define PCM16_SCALE 32767.0f    /* libsndfile's 0x7FFF for normalized floats */
#define PCM16_ROUND 12582912.0f /* 1.5 x 2^23 */
#define PCM16_SAFE 127.0f       /* |x| below this: |x * 0x7FFF| < 2^22 */

bool pcm16_from_float(const float *restrict x, int16_t *restrict y, size_t n)
{
    int wild = 0; /* a sample out of the safe range, or NaN */
    for (size_t i = 0; i < n; i++) wild |= !(fabsf(x[i]) < PCM16_SAFE);
    if (wild) return false;
    for (size_t i = 0; i < n; i++) {
        float r = (x[i] * PCM16_SCALE + PCM16_ROUND) - PCM16_ROUND;
        y[i] = (int16_t)(int32_t)r;
    }
    return true;
}

void pcm16_from_float_clipped(const float *restrict x, int16_t *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * PCM16_SCALE;
        v = v == v ? v : 0.0f;                /* NaN */
        v = v < 32767.0f ? v : 32767.0f;      /* then within [-32768, 32767]: */
        v = v > -32768.0f ? v : -32768.0f;    /* the rounding below is exact */
        float r = (v + PCM16_ROUND) - PCM16_ROUND;
        y[i] = (int16_t)(int32_t)r;
    }
}
