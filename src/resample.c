/* One-shot resampling of a whole mono int16 speech clip to float at the
 * output rate with libsoxr (high quality). The output length is fixed by an
 * integer formula, not by what soxr happens to return, so the planner can
 * know a clip's length before it is resampled and every machine agrees. */
#include "coach/resample.h"

#include <soxr.h>
#include <stdlib.h>

#include "coach/common.h"

size_t resample_out_len(size_t in_len, uint32_t in_rate_hz, uint32_t out_rate_hz)
{
    if (in_rate_hz == 0 || in_len == 0) return 0;
    if (in_rate_hz == out_rate_hz) return in_len;
    /* round(in_len * out / in) in integers; clips are far below the 64-bit
     * overflow point (2^64 / 192000 frames = years of audio). */
    uint64_t num = (uint64_t)in_len * out_rate_hz + in_rate_hz / 2;
    return (size_t)(num / in_rate_hz);
}

int resample_i16_to_f32(const int16_t *in, size_t in_len, uint32_t in_rate_hz, float *out,
                        size_t out_len, uint32_t out_rate_hz)
{
    size_t want = resample_out_len(in_len, in_rate_hz, out_rate_hz);
    if (in_rate_hz == 0 || out_rate_hz == 0 || out_len < want) return COACH_EINVAL;
    if (want == 0) return 0;
    if (in_rate_hz == out_rate_hz) {
        for (size_t i = 0; i < in_len; i++)
            out[i] = in[i] * (1.0f / 32768.0f);
        return 0;
    }
    /* libsoxr does not check all of its allocations (filter tables, fifos):
     * at the edge of an address-space limit it dies of SIGSEGV instead of
     * failing. It needs about 14 bytes per input sample plus its tables
     * (valgrind massif: 2.0 MB for a 6.7 s clip, 7.8 MB for 27 s), so that
     * much, with a margin, is asked for first and given back: if it cannot
     * be had, this is "out of memory", not a crash. (volatile: the
     * compiler may not drop the pair.) */
    void *volatile room = malloc(in_len * 16 + ((size_t)1 << 20));
    if (!room) return COACH_ENOMEM;
    free(room);
    /* soxr_oneshot defaults to low quality: ask for HQ explicitly. */
    soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    size_t done = 0;
    soxr_error_t e =
        soxr_oneshot(in_rate_hz, out_rate_hz, 1, in, in_len, NULL, out, want, &done, &io, &q, NULL);
    if (e) return COACH_EIO;
    /* Never more than want (soxr was told the room); pad if it gave less. */
    for (size_t i = done; i < want; i++)
        out[i] = 0.0f;
    return 0;
}
