/* Resampling of a mono int16 speech clip to float at the output rate with
 * libsoxr (high quality), whole or in pieces: a clip is streamed through
 * one resampler in short input blocks (soxr_oneshot on a whole clip
 * buffers about 14 bytes per input sample: valgrind massif, 6.7 MB for the
 * longest caution), and soxr's output does not depend on how its input or
 * output is cut, so a clip made in pieces is the same clip. The output
 * length is fixed by an integer formula, not by what soxr happens to
 * return, so the planner can know a clip's length before it is resampled
 * and every machine agrees. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include "coach/resample.h"

#include <soxr.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/* The input a resampler pulls, RESAMPLE_BLOCK_FRAMES at a time. */
struct resampler {
    soxr_t rs;           /* NULL when the rates are equal: a plain scale */
    int (*pull)(void *ctx, int16_t *in, size_t n);
    void *ctx;
    size_t in_left;      /* input frames not pulled yet */
    size_t want, done;   /* output frames in all / made so far */
    size_t buf_pos, buf_len;
    bool flushed;        /* soxr has given everything it had */
    int16_t buf[RESAMPLE_BLOCK_FRAMES];
};

int resampler_open(struct resampler **out, size_t in_len, uint32_t in_rate_hz,
                   uint32_t out_rate_hz, int (*pull)(void *ctx, int16_t *in, size_t n), void *ctx)
{
    *out = NULL;
    if (in_rate_hz == 0 || out_rate_hz == 0) return COACH_EINVAL;
    struct resampler *r = calloc(1, sizeof *r);
    if (!r) return COACH_ENOMEM;
    r->pull = pull;
    r->ctx = ctx;
    r->in_left = in_len;
    r->want = resample_out_len(in_len, in_rate_hz, out_rate_hz);
    if (in_rate_hz != out_rate_hz && r->want) {
        /* libsoxr does not check all of its allocations (filter tables,
         * fifos): at the edge of an address-space limit it would die of
         * SIGSEGV instead of failing, so the room it needs, with a margin,
         * is asked for first and given back: if it cannot be had, this is
         * "out of memory", not a crash. Mapped, not malloc'd: glibc
         * takes a freed mapped block's size for its mmap threshold, and
         * 4 MB there put every block below it (soxr's, LAME's, the clips')
         * on the heap, where they left 2-3 MB more resident at a peak
         * (an MP3 export of lower-back-relief: 18.6-20.7 MB, now
         * docs/PERFORMANCE.md "the mmap threshold"). */
        const size_t room_bytes = RESAMPLE_BLOCK_FRAMES * 16 + ((size_t)4 << 20);
        void *room = mmap(NULL, room_bytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (room == MAP_FAILED) {
            free(r);
            return COACH_ENOMEM;
        }
        munmap(room, room_bytes);
        /* HQ explicitly: soxr's default is low quality. */
        soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        soxr_error_t e = NULL;
        r->rs = soxr_create(in_rate_hz, out_rate_hz, 1, &e, &io, &q, NULL);
        if (e || !r->rs) {
            if (r->rs) soxr_delete(r->rs);
            free(r);
            return COACH_EIO;
        }
    }
    *out = r;
    return 0;
}

/* Refills the input buffer when it is used up: 0, or the pull's error. */
static int refill(struct resampler *r)
{
    if (r->buf_pos < r->buf_len || !r->in_left) return 0;
    size_t n = r->in_left < RESAMPLE_BLOCK_FRAMES ? r->in_left : RESAMPLE_BLOCK_FRAMES;
    int rc = r->pull(r->ctx, r->buf, n);
    if (rc) return rc;
    r->in_left -= n;
    r->buf_pos = 0;
    r->buf_len = n;
    return 0;
}

int resampler_run(struct resampler *r, float *out, size_t n)
{
    if (n > r->want - r->done) return COACH_EINVAL;
    size_t made_here = 0;
    while (made_here < n) {
        int rc = refill(r);
        if (rc) return rc;
        size_t avail = r->buf_len - r->buf_pos;
        if (!r->rs) { /* equal rates: in and out are the same frames */
            size_t k = avail < n - made_here ? avail : n - made_here;
            if (!k) break;
            for (size_t i = 0; i < k; i++)
                out[made_here + i] = r->buf[r->buf_pos + i] * (1.0f / 32768.0f);
            r->buf_pos += k;
            made_here += k;
            continue;
        }
        if (r->flushed) break;
        size_t used = 0, made = 0;
        /* past the input's end, a NULL input flushes what soxr still holds */
        soxr_error_t e = soxr_process(r->rs, avail ? r->buf + r->buf_pos : NULL, avail,
                                      avail ? &used : NULL, out + made_here, n - made_here, &made);
        if (e) return COACH_EIO;
        r->buf_pos += used;
        made_here += made;
        if (!avail && !made) r->flushed = true;
    }
    /* Never more than want (soxr was told the room); pad if it gave less. */
    for (size_t i = made_here; i < n; i++)
        out[i] = 0.0f;
    r->done += n;
    return 0;
}

void resampler_close(struct resampler *r)
{
    if (!r) return;
    if (r->rs) soxr_delete(r->rs);
    free(r);
}

struct from_array {
    const int16_t *in;
    size_t pos;
};

static int pull_array(void *ctx, int16_t *in, size_t n)
{
    struct from_array *a = ctx;
    memcpy(in, a->in + a->pos, n * sizeof *in);
    a->pos += n;
    return 0;
}

int resample_i16_to_f32(const int16_t *in, size_t in_len, uint32_t in_rate_hz, float *out,
                        size_t out_len, uint32_t out_rate_hz)
{
    size_t want = resample_out_len(in_len, in_rate_hz, out_rate_hz);
    if (in_rate_hz == 0 || out_rate_hz == 0 || out_len < want) return COACH_EINVAL;
    if (want == 0) return 0;
    struct from_array a = {.in = in};
    struct resampler *r;
    int rc = resampler_open(&r, in_len, in_rate_hz, out_rate_hz, pull_array, &a);
    if (rc) return rc;
    rc = resampler_run(r, out, want);
    resampler_close(r);
    return rc;
}
