/* Lossless in-memory storage of mono int16 PCM as FLAC (see
 * include/coach/pcmstore.h): libFLAC's encoder writes over a memory
 * buffer, libsndfile's FLAC reader (through its virtual I/O) reads any
 * bytes (a buffer, the clip store's spill file), in pieces if asked (a
 * long clip is decoded as it is heard). Writing needs a real seek: at
 * finish the encoder goes back to the start to fill in STREAMINFO (the
 * sample count, frame sizes). libFLAC, not libsndfile, writes because
 * libsndfile always has it compute the MD5 of the samples, a third of the
 * encoding's time at level 0, which nothing here reads: the frames are
 * libsndfile's own, byte for byte, and STREAMINFO's MD5 is zero ("not
 * computed", which every decoder accepts). Reading checks everything it
 * can before trusting a sample: the "fLaC" mark, one channel, the sample
 * count in STREAMINFO, and libsndfile's error state after every read (a
 * damaged stream still gives the full count of samples, wrong ones;
 * libFLAC's frame CRCs are reported only there). */
#include "coach/pcmstore.h"

#include <FLAC/stream_encoder.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/flacmd5.h"

#define PCMSTORE_MAX_RATE_HZ 655350u /* FLAC's STREAMINFO holds up to this */
/* STREAMINFO's sample count is 36 bits wide */
#define PCMSTORE_MAX_SAMPLES ((uint64_t)1 << 36)
/* FLAC's level 0: fixed predictors only.
 * Measured on lower-back-relief's speech (hard: 17.1 MB raw), level 0 keeps
 * 56.3 %, libsndfile's default 5 54.1 %, 8 51.8 %; encoding plus decoding
 * an export's speech costs 1.46 G instructions at 0, 1.99 G at 5, 3.08 G at
 * 8 (of 8.8 G in all). Saving 0.4-0.8 MB is not worth 6-18 % of the time. */
#define PCMSTORE_FLAC_LEVEL 0
#define PCMSTORE_ENCODE_BLOCK 4096 /* samples handed to libFLAC at a time */

/* A growable byte buffer being written, with a position, as the encoder's
 * file: libFLAC appends, and seeks back only into what it wrote. */
struct membuf {
    uint8_t *wr;       /* the stream so far (owned) */
    uint64_t len;      /* bytes in the stream */
    uint64_t cap;      /* bytes allocated at wr */
    uint64_t pos;      /* the next byte written */
    bool nomem;        /* a write could not grow the buffer */
};

/* libFLAC's callbacks over a membuf: frames appended, and the seek back
 * at finish that fills in STREAMINFO (sample count, frame sizes). */
static FLAC__StreamEncoderWriteStatus enc_write(const FLAC__StreamEncoder *e,
                                                const FLAC__byte buf[], size_t bytes,
                                                uint32_t samples, uint32_t frame, void *user)
{
    (void)e, (void)samples, (void)frame;
    struct membuf *m = user;
    if (bytes > SIZE_MAX - m->pos) return FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR;
    uint64_t end = m->pos + bytes;
    if (end > m->cap) {
        uint64_t cap = m->cap > SIZE_MAX / 2 ? end : m->cap * 2;
        if (cap < end) cap = end;
        uint8_t *p = realloc(m->wr, (size_t)cap);
        if (!p) {
            m->nomem = true;
            return FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR;
        }
        m->wr = p;
        m->cap = cap;
    }
    memcpy(m->wr + m->pos, buf, bytes);
    m->pos = end;
    if (end > m->len) m->len = end;
    return FLAC__STREAM_ENCODER_WRITE_STATUS_OK;
}

static FLAC__StreamEncoderSeekStatus enc_seek(const FLAC__StreamEncoder *e, FLAC__uint64 off,
                                              void *user)
{
    (void)e;
    struct membuf *m = user;
    if (off > m->len) return FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR;
    m->pos = off;
    return FLAC__STREAM_ENCODER_SEEK_STATUS_OK;
}

static FLAC__StreamEncoderTellStatus enc_tell(const FLAC__StreamEncoder *e, FLAC__uint64 *off,
                                              void *user)
{
    (void)e;
    *off = ((struct membuf *)user)->pos;
    return FLAC__STREAM_ENCODER_TELL_STATUS_OK;
}

/* Encodes in into m with e (set up, not initialized): 0 or COACH_E*. */
static int encode_into(FLAC__StreamEncoder *e, const int16_t *in, size_t n, uint32_t rate_hz,
                       struct membuf *m)
{
    if (!FLAC__stream_encoder_set_channels(e, 1) ||
        !FLAC__stream_encoder_set_bits_per_sample(e, 16) ||
        !FLAC__stream_encoder_set_sample_rate(e, rate_hz) ||
        !FLAC__stream_encoder_set_compression_level(e, PCMSTORE_FLAC_LEVEL) ||
        !FLAC__stream_encoder_set_total_samples_estimate(e, n) || !flac_md5_off(e))
        return COACH_EFORMAT;
    if (FLAC__stream_encoder_init_stream(e, enc_write, enc_seek, enc_tell, NULL, m) !=
        FLAC__STREAM_ENCODER_INIT_STATUS_OK)
        return m->nomem ? COACH_ENOMEM : COACH_EFORMAT;
    FLAC__int32 block[PCMSTORE_ENCODE_BLOCK];
    int rc = 0;
    for (size_t at = 0; at < n && !rc;) {
        size_t k = n - at < PCMSTORE_ENCODE_BLOCK ? n - at : PCMSTORE_ENCODE_BLOCK;
        for (size_t i = 0; i < k; i++) block[i] = in[at + i];
        if (!FLAC__stream_encoder_process_interleaved(e, block, (uint32_t)k)) rc = COACH_EIO;
        at += k;
    }
    /* the last frame and STREAMINFO are written here */
    if (!FLAC__stream_encoder_finish(e) && !rc) rc = COACH_EIO;
    if (m->nomem) rc = COACH_ENOMEM;
    return rc;
}

int pcmstore_encode(const int16_t *in, size_t n, uint32_t rate_hz, uint8_t **out, size_t *out_bytes)
{
    *out = NULL;
    *out_bytes = 0;
    if (rate_hz == 0 || rate_hz > PCMSTORE_MAX_RATE_HZ || (uint64_t)n >= PCMSTORE_MAX_SAMPLES)
        return COACH_EINVAL;
    if (n == 0) return 0;
    /* Speech takes about half the raw bytes: start there, so the buffer
     * grows at most once and is trimmed to size at the end. */
    struct membuf m = {.cap = (uint64_t)n + 4096};
    m.wr = malloc((size_t)m.cap);
    if (!m.wr) return COACH_ENOMEM;
    FLAC__StreamEncoder *e = FLAC__stream_encoder_new();
    int rc = e ? encode_into(e, in, n, rate_hz, &m) : COACH_ENOMEM;
    if (e) FLAC__stream_encoder_delete(e);
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
