/* Lossless in-memory storage of mono int16 PCM as FLAC (see
 * include/coach/pcmstore.h): libsndfile's FLAC writer and reader run over
 * a memory buffer through its virtual I/O. Writing needs a real seek: at
 * close the FLAC encoder goes back to the start to fill in STREAMINFO (the
 * sample count, frame sizes, MD5). Reading checks everything it can before
 * trusting a sample: the "fLaC" mark, one channel, the sample count in
 * STREAMINFO, and libsndfile's error state after the read (a damaged stream
 * still gives the full count of samples, wrong ones; libFLAC's frame CRCs
 * are reported only there). */
#include "coach/pcmstore.h"

#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

#define PCMSTORE_MAX_RATE_HZ 655350u /* FLAC's STREAMINFO holds up to this */
/* STREAMINFO's sample count is 36 bits wide */
#define PCMSTORE_MAX_SAMPLES ((uint64_t)1 << 36)
/* FLAC's level 0 (libsndfile's 0..1 maps to 0..8): fixed predictors only.
 * Measured on lower-back-relief's speech (hard: 17.1 MB raw), level 0 keeps
 * 56.3 %, libsndfile's default 5 54.1 %, 8 51.8 %; encoding plus decoding
 * an export's speech costs 1.46 G instructions at 0, 1.99 G at 5, 3.08 G at
 * 8 (of 8.8 G in all). Saving 0.4-0.8 MB is not worth 6-18 % of the time. */
#define PCMSTORE_FLAC_LEVEL 0.0

/* A growable (writing) or borrowed read-only (reading) byte buffer with a
 * position, behaving like a file (libsndfile does not check what a virtual
 * seek returns): a seek past the end is allowed, a read there gives
 * nothing, a write there fills the gap with zeros. */
struct membuf {
    const uint8_t *rd; /* reading: the stream (borrowed) */
    uint8_t *wr;       /* writing: the stream so far (owned); NULL when reading */
    sf_count_t len;    /* bytes in the stream */
    sf_count_t cap;    /* bytes allocated at wr */
    sf_count_t pos;    /* the next byte read or written */
    bool nomem;        /* a write could not grow the buffer */
};

static sf_count_t mem_len(void *user)
{
    return ((struct membuf *)user)->len;
}

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
    struct membuf *m = user;
    sf_count_t base;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = m->pos;
        break;
    case SEEK_END:
        base = m->len;
        break;
    default:
        return -1;
    }
    if (offset < -base || offset > INT64_MAX - base) return -1;
    m->pos = base + offset;
    return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user)
{
    struct membuf *m = user;
    if (count <= 0 || m->pos >= m->len) return 0;
    sf_count_t k = m->len - m->pos < count ? m->len - m->pos : count;
    memcpy(ptr, (m->wr ? m->wr : m->rd) + m->pos, (size_t)k);
    m->pos += k;
    return k;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
    struct membuf *m = user;
    if (!m->wr || count <= 0) return 0;
    if (count > INT64_MAX - m->pos) return 0;
    sf_count_t end = m->pos + count;
    if (end > m->cap) {
        sf_count_t cap = m->cap > INT64_MAX / 2 ? end : m->cap * 2;
        if (cap < end) cap = end;
        uint8_t *p = (uint64_t)cap <= SIZE_MAX ? realloc(m->wr, (size_t)cap) : NULL;
        if (!p) {
            m->nomem = true;
            return 0;
        }
        m->wr = p;
        m->cap = cap;
    }
    if (m->pos > m->len) memset(m->wr + m->len, 0, (size_t)(m->pos - m->len));
    memcpy(m->wr + m->pos, ptr, (size_t)count);
    m->pos = end;
    if (end > m->len) m->len = end;
    return count;
}

static sf_count_t mem_tell(void *user)
{
    return ((struct membuf *)user)->pos;
}

static SF_VIRTUAL_IO mem_io = {mem_len, mem_seek, mem_read, mem_write, mem_tell};

int pcmstore_encode(const int16_t *in, size_t n, uint32_t rate_hz, uint8_t **out, size_t *out_bytes)
{
    *out = NULL;
    *out_bytes = 0;
    if (rate_hz == 0 || rate_hz > PCMSTORE_MAX_RATE_HZ || (uint64_t)n >= PCMSTORE_MAX_SAMPLES)
        return COACH_EINVAL;
    if (n == 0) return 0;
    /* Speech takes about half the raw bytes: start there, so the buffer
     * grows at most once and is trimmed to size at the end. */
    struct membuf m = {.cap = (sf_count_t)n + 4096};
    m.wr = malloc((size_t)m.cap);
    if (!m.wr) return COACH_ENOMEM;
    SF_INFO info = {
        .samplerate = (int)rate_hz, .channels = 1, .format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open_virtual(&mem_io, SFM_WRITE, &info, &m);
    int rc = f ? 0 : COACH_EFORMAT;
    double level = PCMSTORE_FLAC_LEVEL;
    if (!rc && !sf_command(f, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level)) rc = COACH_EFORMAT;
    if (!rc && sf_write_short(f, in, (sf_count_t)n) != (sf_count_t)n) rc = COACH_EIO;
    /* The last frame and STREAMINFO are written at close; libsndfile does
     * not report a failed write there, the buffer's flag does. */
    if (f && sf_close(f) != 0 && !rc) rc = COACH_EIO;
    if (m.nomem) rc = COACH_ENOMEM;
    if (rc) {
        free(m.wr);
        return rc;
    }
    uint8_t *p = realloc(m.wr, (size_t)m.len);
    *out = p ? p : m.wr;
    *out_bytes = (size_t)m.len;
    return 0;
}

int pcmstore_decode(const uint8_t *in, size_t in_bytes, int16_t *out, size_t n)
{
    if (n == 0) return 0;
    /* Only ever a FLAC stream: libsndfile would otherwise guess a format
     * from whatever the damaged bytes look like. */
    if (!in || in_bytes < 4 || memcmp(in, "fLaC", 4) != 0 || in_bytes > INT64_MAX)
        return COACH_EINVAL;
    struct membuf m = {.rd = in, .len = (sf_count_t)in_bytes};
    SF_INFO info = {0};
    SNDFILE *f = sf_open_virtual(&mem_io, SFM_READ, &info, &m);
    if (!f) return COACH_EINVAL;
    int rc = 0;
    if ((info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_FLAC ||
        (info.format & SF_FORMAT_SUBMASK) != SF_FORMAT_PCM_16 || info.channels != 1 ||
        info.frames != (sf_count_t)n)
        rc = COACH_EINVAL;
    else if (sf_read_short(f, out, (sf_count_t)n) != (sf_count_t)n ||
             sf_error(f) != SF_ERR_NO_ERROR)
        rc = COACH_EINVAL;
    sf_close(f);
    return rc;
}
