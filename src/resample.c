/* Resampling of a whole mono int16 speech clip to float at the
 * output rate with libsoxr (high quality). The output length is fixed by an
 * integer formula, not by what soxr happens to return, so the planner can
 * know a clip's length before it is resampled and every machine agrees. */
#include "coach/resample.h"

#include <soxr.h>
#include <stdlib.h>

#include "coach/common.h"

#define RESAMPLE_BLOCK_FRAMES 4096 /* input frames given to soxr at a time */

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
    /* Streamed through one resampler in short input blocks rather than
     * soxr_oneshot on the whole clip: oneshot buffers about 14 bytes per
     * input sample (valgrind massif: 6.7 MB for the longest caution, half
     * of an export's heap), streaming a fixed few hundred KB, and soxr's
     * output does not depend on how its input is cut. libsoxr does not
     * check all of its allocations (filter tables, fifos): at the edge of an
     * address-space limit it would die of SIGSEGV instead of failing, so
     * the room it needs, with a margin, is asked for first and given back:
     * if it cannot be had, this is "out of memory", not a crash.
     * (volatile: the compiler may not drop the pair.) */
    void *volatile room = malloc(RESAMPLE_BLOCK_FRAMES * 16 + ((size_t)4 << 20));
    if (!room) return COACH_ENOMEM;
    free(room);
    /* HQ explicitly: soxr's default is low quality. */
    soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_error_t e = NULL;
    soxr_t rs = soxr_create(in_rate_hz, out_rate_hz, 1, &e, &io, &q, NULL);
    if (e || !rs) return COACH_EIO;
    size_t in_pos = 0, done = 0;
    while (!e && done < want) {
        size_t in_n = in_len - in_pos < RESAMPLE_BLOCK_FRAMES ? in_len - in_pos : RESAMPLE_BLOCK_FRAMES;
        size_t used = 0, made = 0;
        /* past the input's end, a NULL input flushes what soxr still holds */
        e = soxr_process(rs, in_n ? in + in_pos : NULL, in_n, in_n ? &used : NULL, out + done,
                         want - done, &made);
        in_pos += used;
        done += made;
        if (!in_n && !made) break; /* flushed */
    }
    soxr_delete(rs);
    if (e) return COACH_EIO;
    /* Never more than want (soxr was told the room); pad if it gave less. */
    for (size_t i = done; i < want; i++)
        out[i] = 0.0f;
    return 0;
}
