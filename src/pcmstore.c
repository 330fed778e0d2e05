/* Lossless in-memory storage of mono int16 PCM as FLAC (see
 * include/coach/pcmstore.h): libsndfile's FLAC writer and reader run
 * through its virtual I/O, the writer over a memory buffer, the reader over
 * any bytes (a buffer, the clip store's spill file), in pieces if asked
 * (a long clip is decoded as it is heard). Writing needs a real seek: at
 * close the FLAC encoder goes back to the start to fill in STREAMINFO (the
 * sample count, frame sizes, MD5). Reading checks everything it can before
 * trusting a sample: the "fLaC" mark, one channel, the sample count in
 * STREAMINFO, and libsndfile's error state after every read (a damaged stream
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

/* A growable byte buffer being written, with a position, behaving like a
 * file (libsndfile does not check what a virtual seek returns): a seek past
 * the end is allowed, a read there gives nothing, a write there fills the
 * gap with zeros. */
struct membuf {
    uint8_t *wr;       /* the stream so far (owned) */
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
    memcpy(ptr, m->wr + m->pos, (size_t)k);
    m->pos += k;
    return k;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
    struct membuf *m = user;
    if (count <= 0) return 0;
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

/* A stream read in pieces: its bytes come through read_at (from a
 * buffer, or a file at an offset) at the position libsndfile asks for. */
struct pcmstore_reader {
    SNDFILE *sf;
    struct pcmstore_bytes src;
    sf_count_t pos;   /* the next byte libsndfile reads */
    size_t left;      /* samples not yet read */
    bool io_failed;   /* read_at failed: what was read is not trusted */
};

static sf_count_t rd_len(void *user)
{
    return (sf_count_t)((struct pcmstore_reader *)user)->src.len;
}

static sf_count_t rd_seek(sf_count_t offset, int whence, void *user)
{
    struct pcmstore_reader *r = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? r->pos
                    : whence == SEEK_END ? (sf_count_t)r->src.len : -1;
    if (base < 0 || offset < -base || offset > INT64_MAX - base) return -1;
    r->pos = base + offset;
    return r->pos;
}

static sf_count_t rd_read(void *ptr, sf_count_t count, void *user)
{
    struct pcmstore_reader *r = user;
    if (count <= 0 || r->pos >= (sf_count_t)r->src.len) return 0;
    sf_count_t k = (sf_count_t)r->src.len - r->pos < count ? (sf_count_t)r->src.len - r->pos : count;
    if (r->src.read_at(r->src.ctx, (uint64_t)r->pos, ptr, (size_t)k)) {
        r->io_failed = true;
        return 0;
    }
    r->pos += k;
    return k;
}

static sf_count_t rd_write(const void *ptr, sf_count_t count, void *user)
{
    (void)ptr, (void)count, (void)user;
    return 0;
}

static sf_count_t rd_tell(void *user)
{
    return ((struct pcmstore_reader *)user)->pos;
}

static SF_VIRTUAL_IO rd_io = {rd_len, rd_seek, rd_read, rd_write, rd_tell};

int pcmstore_reader_open(struct pcmstore_reader **out, const struct pcmstore_bytes *src, size_t n)
{
    *out = NULL;
    /* Only ever a FLAC stream: libsndfile would otherwise guess a format
     * from whatever the damaged bytes look like. */
    uint8_t mark[4];
    if (!src->read_at || src->len < 4 || src->len > INT64_MAX) return COACH_EINVAL;
    if (src->read_at(src->ctx, 0, mark, 4)) return COACH_EIO;
    if (memcmp(mark, "fLaC", 4) != 0) return COACH_EINVAL;
    struct pcmstore_reader *r = calloc(1, sizeof *r);
    if (!r) return COACH_ENOMEM;
    r->src = *src;
    r->left = n;
    SF_INFO info = {0};
    r->sf = sf_open_virtual(&rd_io, SFM_READ, &info, r);
    int rc = r->sf ? 0 : r->io_failed ? COACH_EIO : COACH_EINVAL;
    if (!rc && ((info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_FLAC ||
                (info.format & SF_FORMAT_SUBMASK) != SF_FORMAT_PCM_16 || info.channels != 1 ||
                info.frames != (sf_count_t)n))
        rc = COACH_EINVAL;
    if (rc) {
        pcmstore_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int pcmstore_reader_read(struct pcmstore_reader *r, int16_t *out, size_t n)
{
    if (n > r->left) return COACH_EINVAL;
    if (n == 0) return 0;
    sf_count_t got = sf_read_short(r->sf, out, (sf_count_t)n);
    if (r->io_failed) return COACH_EIO;
    if (got != (sf_count_t)n || sf_error(r->sf) != SF_ERR_NO_ERROR) return COACH_EINVAL;
    r->left -= n;
    return 0;
}

void pcmstore_reader_close(struct pcmstore_reader *r)
{
    if (!r) return;
    if (r->sf) sf_close(r->sf);
    free(r);
}

/* read_at for a stream in memory: ctx is its first byte. */
static int read_mem(void *ctx, uint64_t off, void *buf, size_t n)
{
    memcpy(buf, (const uint8_t *)ctx + off, n);
    return 0;
}

int pcmstore_decode(const uint8_t *in, size_t in_bytes, int16_t *out, size_t n)
{
    if (n == 0) return 0;
    if (!in) return COACH_EINVAL;
    struct pcmstore_bytes src = {.read_at = read_mem, .ctx = (void *)in, .len = in_bytes};
    struct pcmstore_reader *r;
    int rc = pcmstore_reader_open(&r, &src, n);
    if (rc) return rc == COACH_EIO ? COACH_EINVAL : rc;
    rc = pcmstore_reader_read(r, out, n);
    pcmstore_reader_close(r);
    return rc;
}
