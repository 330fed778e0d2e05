/* 16-bit PCM from float (pcm16.h) is byte for byte what libsndfile writes
 * for the same floats (sf_writef_float to 16-bit PCM, little-endian):
 * every step of full scale, the values halfway between two steps (ties:
 * to even, as lrintf) and just above each, random values in and a little
 * beyond full scale, zeros, denormals and values up to just under 127
 * times full scale; a stretch with a sample at 127 times full scale or
 * more, an infinity or NaN is refused (the export gives it to libsndfile).
 * The WAV export writes what pcm16_from_float makes (export.c). */
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coach/pcm16.h"
#include "testutil.h"

struct mem {
    unsigned char *buf;
    sf_count_t len, pos, cap;
};

static sf_count_t m_len(void *u) { return ((struct mem *)u)->len; }
static sf_count_t m_tell(void *u) { return ((struct mem *)u)->pos; }
static sf_count_t m_seek(sf_count_t off, int whence, void *u)
{
    struct mem *m = u;
    m->pos = (whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->len) + off;
    return m->pos;
}
static sf_count_t m_read(void *p, sf_count_t n, void *u)
{
    (void)p, (void)n, (void)u;
    return 0;
}
static sf_count_t m_write(const void *p, sf_count_t n, void *u)
{
    struct mem *m = u;
    if (m->pos + n > m->cap) return 0;
    memcpy(m->buf + m->pos, p, (size_t)n);
    m->pos += n;
    if (m->pos > m->len) m->len = m->pos;
    return n;
}

/* libsndfile's bytes for x[0, n): raw 16-bit little-endian PCM. */
static int16_t *libsndfile_pcm16(const float *x, size_t n)
{
    struct mem m = {.cap = (sf_count_t)(2 * n + 64)};
    m.buf = malloc((size_t)m.cap);
    SF_VIRTUAL_IO io = {m_len, m_seek, m_read, m_write, m_tell};
    SF_INFO info = {.samplerate = 48000, .channels = 1,
                    .format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE};
    SNDFILE *f = m.buf ? sf_open_virtual(&io, SFM_WRITE, &info, &m) : NULL;
    CHECK(f != NULL);
    if (!f) {
        free(m.buf);
        return NULL;
    }
    CHECK(sf_writef_float(f, x, (sf_count_t)n) == (sf_count_t)n);
    sf_close(f);
    CHECK(m.len == (sf_count_t)(2 * n));
    int16_t *y = malloc(2 * n);
    for (size_t i = 0; y && i < n; i++) /* little-endian bytes, whatever the host */
        y[i] = (int16_t)(uint16_t)(m.buf[2 * i] | m.buf[2 * i + 1] << 8);
    free(m.buf);
    return y;
}

static void same_as_libsndfile(const char *what, const float *x, size_t n)
{
    int16_t *want = libsndfile_pcm16(x, n), *got = malloc(2 * n + 2);
    if (!want || !got) {
        CHECK(0);
        free(want);
        free(got);
        return;
    }
    CHECKF(pcm16_from_float(x, got, n), "%s: refused", what);
    size_t bad = 0, first = n;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            if (!bad++) first = i;
        }
    CHECKF(bad == 0, "%s: %zu of %zu samples differ, the first %.9g: %d, libsndfile %d", what, bad, n,
           first < n ? (double)x[first] : 0.0, first < n ? got[first] : 0, first < n ? want[first] : 0);
    free(want);
    free(got);
}

int main(void)
{
    /* every step, and both halfway points around it, over the whole scale */
    const size_t steps = 2 * 32768 + 1;
    float *x = malloc(3 * steps * sizeof *x);
    CHECK(x != NULL);
    if (!x) return test_done();
    size_t n = 0;
    for (long k = -32768; k <= 32768; k++) {
        float v = (float)k / 32767.0f;
        x[n++] = v;
        x[n++] = ((float)k + 0.5f) / 32767.0f;
        x[n++] = nextafterf(v, 2.0f);
    }
    same_as_libsndfile("every step and halfway", x, n);

    /* random values within and a little beyond full scale */
    srand(14);
    for (size_t i = 0; i < n; i++) x[i] = ((float)rand() / (float)RAND_MAX * 2.0f - 1.0f) * 1.1f;
    same_as_libsndfile("random", x, n);

    /* ordinary stretches with one unusual sample in it: converted as
       libsndfile does; with a wild one: refused */
    const float odd[] = {0.0f, -0.0f, 1e-40f, -1e-40f, 0.5f / 32767.0f, -0.5f / 32767.0f,
                         1.5f / 32767.0f, -1.5f / 32767.0f, 1.0f, -1.0f, 2.0f, -100.0f,
                         nextafterf(127.0f, 0.0f), -nextafterf(127.0f, 0.0f)};
    const float wild[] = {127.0f, -127.0f, 200.0f, -1e6f, 1e10f, INFINITY, -INFINITY, NAN};
    for (size_t w = 0; w < sizeof odd / sizeof odd[0] + sizeof wild / sizeof wild[0]; w++) {
        bool is_wild = w >= sizeof odd / sizeof odd[0];
        float v = is_wild ? wild[w - sizeof odd / sizeof odd[0]] : odd[w];
        for (size_t i = 0; i < 1000; i++) x[i] = sinf((float)i * 0.05f) * 0.9f;
        x[517] = v;
        char what[64];
        snprintf(what, sizeof what, "a stretch with %g in it", (double)v);
        if (!is_wild) {
            same_as_libsndfile(what, x, 1000);
        } else {
            int16_t y[1000];
            CHECKF(!pcm16_from_float(x, y, 1000), "%s: converted, not refused", what);
        }
    }
    /* clipped: the same values within full scale (and on real speech
     * above), the ends beyond it, NaN as 0 */
    {
        const float in[] = {0.0f, 0.5f, -0.5f, 1.0f, -1.0f, 1.0f + 1e-6f, 1.5f, -1.5f, 100.0f,
                            -1e10f, INFINITY, -INFINITY, NAN, 1.6f / 32767.0f, -2.4f / 32767.0f};
        const int16_t want[] = {0, 16384, -16384, 32767, -32767, 32767, 32767, -32768, 32767,
                                -32768, 32767, -32768, 0, 2, -2};
        int16_t got[sizeof in / sizeof in[0]];
        pcm16_from_float_clipped(in, got, sizeof in / sizeof in[0]);
        for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
            CHECKF(got[i] == want[i], "clipped %g: %d, not %d", (double)in[i], got[i], want[i]);
        for (size_t i = 0; i < 1000; i++) x[i] = sinf((float)i * 0.05f) * 0.9f;
        int16_t a[1000], b[1000];
        CHECK(pcm16_from_float(x, a, 1000));
        pcm16_from_float_clipped(x, b, 1000);
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
    free(x);
    return test_done();
}
