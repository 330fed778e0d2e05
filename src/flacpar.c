/* The parallel FLAC writer (flacpar.h). Threads: one producer (the caller
 * of flacpar_write) converts the samples to 16-bit and fills the next of
 * SLOTS_PER_WORKER x workers chunk slots, in turn; any idle worker takes
 * the earliest chunk filled and encodes it with a fresh libFLAC stream
 * encoder (init, process, finish, so the chunk's last block comes out too:
 * libFLAC holds a block back until it has seen one sample past it),
 * renumbering each frame as libFLAC hands it over into the slot. The
 * worker that finishes the chunk whose turn it is writes it at the file's
 * end and adds its samples to the MD5, and so every finished chunk after
 * it; a slot is filled again once written. Before, each worker had one
 * slot and waited for its own chunk's turn: on two cores shared with the
 * renderer, a worker waiting for the other's chunk left a core idle (a
 * warm FLAC export used 1.47 of 2 cores). One mutex and one condition
 * variable: a handful of threads that meet once a chunk (~1 s of audio). */
#define _POSIX_C_SOURCE 200809L

#include "coach/flacpar.h"

#include <FLAC/metadata.h>
#include <FLAC/stream_encoder.h>
#include <errno.h>
#include <nettle/md5.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/flacmd5.h"

/* libsndfile's SFC_SET_COMPRESSION_LEVEL 0.5 (export.c) is
 * lrint(0.5 * 8) = libFLAC level 4: blocks of 4096 frames and "loose"
 * (adaptive) mid-side stereo, the one state a libFLAC encoder carries from
 * frame to frame: every LOOSE frames (~0.4 s) it tries all four channel
 * assignments, in between it keeps the last one's kind (independent or
 * mid-side). A chunk is therefore a whole number of those periods: each
 * starts with a full try, in a fresh encoder as in the single one. */
#define FLACPAR_LEVEL 4
#define FLACPAR_BITS 16
/* Blocks per chunk, at least: 12 x 4096 frames is ~1 s at 48 kHz, long
 * enough that a fresh encoder per chunk costs little. */
#define CHUNK_BLOCKS_MIN 12
/* STREAMINFO's 34 bytes start after "fLaC" and its 4-byte block header. */
#define STREAMINFO_AT 8
#define STREAMINFO_LEN 34

struct flacpar;

#define SLOTS_PER_WORKER 2 /* chunks filled, encoded or waiting to be written, per worker */

enum slot_state {
    SLOT_FREE,     /* the producer's: being filled */
    SLOT_FILLED,   /* waiting for a worker */
    SLOT_ENCODING, /* a worker's */
    SLOT_DONE,     /* encoded, waiting for its turn to be written */
};

struct chunk_slot {
    FLAC__int32 *in;           /* chunk_frames x channels */
    unsigned char *out;        /* the chunk's frames, renumbered */
    size_t out_len, out_cap;   /* bytes */
    uint32_t min_bytes, max_bytes; /* of the chunk's frames */
    /* guarded by p->mu */
    enum slot_state state;
    uint64_t chunk;            /* its index */
    size_t frames;             /* in it */
};

struct worker {
    struct flacpar *p;
    pthread_t thread;
    bool started;
    FLAC__StreamEncoder *enc; /* worker only, between start and join */
    /* worker only */
    struct chunk_slot *cur;    /* the slot being encoded */
    uint64_t first_frame;      /* the stream's number of the chunk's first frame */
    int rc;                    /* why on_frame failed, 0 if it did not */
};

struct flacpar {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* any change below; every waiter rechecks */
    int fd;
    bool stream;               /* fd is a pipe: written in order, STREAMINFO left as it is */
    uint32_t rate_hz, channels, block_frames;
    uint32_t chunk_blocks;     /* CHUNK_BLOCKS_MIN, up to a multiple of the loose period */
    size_t chunk_frames;
    unsigned n;                /* workers */
    struct worker w[FLACPAR_MAX_WORKERS];
    unsigned n_slots;          /* SLOTS_PER_WORKER x n */
    struct chunk_slot slot[SLOTS_PER_WORKER * FLACPAR_MAX_WORKERS]; /* chunk k in slot k % n_slots */
    /* producer only */
    uint64_t fill_chunk;       /* the chunk being filled */
    size_t fill_frames;        /* frames in it so far */
    uint64_t total_frames;
    unsigned char streaminfo[STREAMINFO_LEN]; /* as libFLAC wrote it at the start */
    bool finished;
    /* guarded by mu */
    uint64_t write_turn;       /* the chunk whose frames go out next */
    bool writing;              /* a worker is writing chunks out */
    struct md5_ctx md5;        /* the writing worker's, in chunk order; then flacpar_finish's */
    uint64_t end_bytes;        /* where they go: the file's length so far */
    uint32_t min_bytes, max_bytes; /* of every frame written */
    bool closing;              /* no more chunks: idle workers end */
    bool stop;                 /* end now (failure or free) */
    int rc, err;               /* the first failure: COACH_E* and errno */
};

/* ---- frame headers: CRCs, numbers ---- */

static uint8_t crc8_table[256];
/* crc16_table[k][b]: byte b followed by k zero bytes (slicing by 8: the
 * whole file passes through it once more, on the workers) */
static uint16_t crc16_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* FLAC's CRC-8 (x^8 + x^2 + x + 1) over a frame header and CRC-16
 * (x^16 + x^15 + x^2 + 1) over a whole frame, both MSB first from 0. */
static void crc_tables(void)
{
    for (unsigned i = 0; i < 256; i++) {
        unsigned c8 = i, c16 = i << 8;
        for (int b = 0; b < 8; b++) {
            c8 = (c8 << 1) ^ ((c8 & 0x80) ? 0x07 : 0);
            c16 = (c16 << 1) ^ ((c16 & 0x8000) ? 0x8005 : 0);
        }
        crc8_table[i] = (uint8_t)c8;
        crc16_table[0][i] = (uint16_t)c16;
    }
    for (int k = 1; k < 8; k++)
        for (unsigned i = 0; i < 256; i++) {
            uint16_t c = crc16_table[k - 1][i];
            crc16_table[k][i] = (uint16_t)((c << 8) ^ crc16_table[0][c >> 8]);
        }
}

static uint8_t crc8(const unsigned char *d, size_t n)
{
    uint8_t c = 0;
    for (size_t i = 0; i < n; i++) c = crc8_table[c ^ d[i]];
    return c;
}

static uint16_t crc16(const unsigned char *d, size_t n)
{
    uint16_t c = 0;
    const uint16_t(*t)[256] = crc16_table;
    for (; n >= 8; n -= 8, d += 8)
        c = t[7][(c >> 8) ^ d[0]] ^ t[6][(c & 0xFF) ^ d[1]] ^ t[5][d[2]] ^ t[4][d[3]] ^
            t[3][d[4]] ^ t[2][d[5]] ^ t[1][d[6]] ^ t[0][d[7]];
    for (; n; n--, d++) c = (uint16_t)((c << 8) ^ t[0][(c >> 8) ^ *d]);
    return c;
}

/* Bytes of the UTF-8-style frame number that starts with b; 0 if b
 * cannot start one. */
static size_t number_len(unsigned char b)
{
    if (b < 0x80) return 1;
    for (size_t n = 2; n <= 6; n++)
        if ((unsigned)(b >> (7 - n)) == (0xFFu >> (7 - n)) - 1) return n; /* n ones, then a zero */
    return 0;
}

/* The frame number v (below 2^31) coded as FLAC codes it; its length. */
static size_t number_put(unsigned char *d, uint32_t v)
{
    if (v < 0x80) {
        d[0] = (unsigned char)v;
        return 1;
    }
    size_t n = v < 0x800 ? 2 : v < 0x10000 ? 3 : v < 0x200000 ? 4 : v < 0x4000000 ? 5 : 6;
    for (size_t i = n - 1; i > 0; i--, v >>= 6) d[i] = (unsigned char)(0x80 | (v & 0x3F));
    d[0] = (unsigned char)((0xFF00u >> n) | v); /* n ones, a zero, the top bits */
    return n;
}

/* Appends frame f (one libFLAC hands over whole) to slot s as frame
 * number `number` of the stream: a new number, header CRC-8 and CRC-16;
 * the rest of the frame, the audio, as it is. 0 or negative. */
static int put_frame(struct chunk_slot *s, const unsigned char *f, size_t len, uint64_t number)
{
    /* fixed block size: sync 0xFFF8; then block size and rate codes, the
     * channels and bits byte, the number; 8 or 16 more bits of block size
     * (codes 6, 7) and of rate (12; 13, 14); CRC-8 */
    if (len < 8 || f[0] != 0xFF || f[1] != 0xF8 || number >= (1u << 31)) return COACH_EINVAL;
    unsigned bs = f[2] >> 4, sr = f[2] & 15;
    size_t extra = (bs == 6 ? 1 : bs == 7 ? 2 : 0) + (sr == 12 ? 1 : sr == 13 || sr == 14 ? 2 : 0);
    size_t old_n = number_len(f[4]), old_head = 4 + old_n + extra + 1;
    if (!old_n || len < old_head + 2) return COACH_EINVAL;
    unsigned char num[6];
    size_t n = number_put(num, (uint32_t)number);
    size_t new_len = len - old_n + n;
    if (s->out_len + new_len > s->out_cap) {
        size_t cap = 2 * (s->out_len + new_len);
        unsigned char *o = realloc(s->out, cap);
        if (!o) return COACH_ENOMEM;
        s->out = o;
        s->out_cap = cap;
    }
    unsigned char *d = s->out + s->out_len;
    memcpy(d, f, 4);
    memcpy(d + 4, num, n);
    memcpy(d + 4 + n, f + 4 + old_n, extra);
    size_t head = 4 + n + extra;
    d[head] = crc8(d, head);
    memcpy(d + head + 1, f + old_head, len - old_head - 2);
    uint16_t c = crc16(d, new_len - 2);
    d[new_len - 2] = (unsigned char)(c >> 8);
    d[new_len - 1] = (unsigned char)c;
    s->out_len += new_len;
    if (new_len < s->min_bytes) s->min_bytes = (uint32_t)new_len;
    if (new_len > s->max_bytes) s->max_bytes = (uint32_t)new_len;
    return 0;
}

/* ---- encoders ---- */

/* libsndfile's settings (its flac.c, SFC_SET_COMPRESSION_LEVEL 0.5); the
 * MD5 is the writer's (over the whole stream), not each chunk's. */
static bool configure(FLAC__StreamEncoder *e, const struct flacpar *p, bool md5)
{
    return FLAC__stream_encoder_set_channels(e, p->channels) &&
           FLAC__stream_encoder_set_sample_rate(e, p->rate_hz) &&
           FLAC__stream_encoder_set_bits_per_sample(e, FLACPAR_BITS) &&
           FLAC__stream_encoder_set_compression_level(e, FLACPAR_LEVEL) &&
           (md5 || flac_md5_off(e));
}

/* The worker's write callback: a frame (samples > 0) or the stream's
 * header (samples 0: each chunk's encoder writes one; the file has its
 * own). */
static FLAC__StreamEncoderWriteStatus on_frame(const FLAC__StreamEncoder *e, const FLAC__byte buf[],
                                               size_t bytes, uint32_t samples,
                                               uint32_t frame_no, void *u)
{
    (void)e;
    struct worker *w = u;
    if (samples == 0) return FLAC__STREAM_ENCODER_WRITE_STATUS_OK;
    w->rc = put_frame(w->cur, buf, bytes, w->first_frame + frame_no);
    return w->rc ? FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR : FLAC__STREAM_ENCODER_WRITE_STATUS_OK;
}

/* Encodes slot s's chunk (frames frames, chunk `chunk`) into its out. 0
 * or negative. */
static int encode_chunk(struct worker *w, struct chunk_slot *s, uint64_t chunk, size_t frames)
{
    s->out_len = 0;
    s->min_bytes = UINT32_MAX;
    s->max_bytes = 0;
    w->cur = s;
    w->first_frame = chunk * w->p->chunk_blocks;
    w->rc = 0;
    if (!configure(w->enc, w->p, false) ||
        FLAC__stream_encoder_init_stream(w->enc, on_frame, NULL, NULL, NULL, w) !=
            FLAC__STREAM_ENCODER_INIT_STATUS_OK) {
        FLAC__stream_encoder_finish(w->enc); /* back to uninitialized for the next try */
        return COACH_ENOMEM; /* the settings were accepted at open: only memory is left */
    }
    bool ok = FLAC__stream_encoder_process_interleaved(w->enc, s->in, (uint32_t)frames);
    ok = FLAC__stream_encoder_finish(w->enc) && ok; /* the last block */
    if (w->rc) return w->rc;
    return ok ? 0 : COACH_ENOMEM;
}

/* Records the first failure and stops everyone. Under p->mu. */
static void fail_locked(struct flacpar *p, int rc, int e)
{
    if (!p->rc) {
        p->rc = rc;
        p->err = e;
    }
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
}

/* Writes n bytes at offset at (a file) or next (a pipe, where at is the
 * length written so far). 0, or -1 with errno set. */
static int put_bytes(struct flacpar *p, const void *d, size_t n, uint64_t at)
{
    if (!p->stream) return n ? coach_write_at(p->fd, d, n, at) : 0;
    return coach_write_full(p->fd, d, n);
}

/* The filled slot of the earliest chunk, or NULL. Under p->mu. */
static struct chunk_slot *next_filled(struct flacpar *p)
{
    struct chunk_slot *best = NULL;
    for (unsigned i = 0; i < p->n_slots; i++) {
        struct chunk_slot *s = &p->slot[i];
        if (s->state == SLOT_FILLED && (!best || s->chunk < best->chunk)) best = s;
    }
    return best;
}

/* Adds n samples to the MD5, which FLAC takes over the samples as
 * little-endian 16-bit words, interleaved. */
static void add_md5(struct flacpar *p, const FLAC__int32 *pcm, size_t n)
{
    unsigned char le[4096];
    while (n) {
        size_t m = n < sizeof le / 2 ? n : sizeof le / 2;
        for (size_t j = 0; j < m; j++) {
            le[2 * j] = (unsigned char)pcm[j];
            le[2 * j + 1] = (unsigned char)((uint32_t)pcm[j] >> 8);
        }
        md5_update(&p->md5, 2 * m, le);
        pcm += m;
        n -= m;
    }
}

/* Writes the chunk whose turn it is, and each one after it, while they
 * are encoded; one worker at a time (the others go on encoding). Under
 * p->mu, released while writing. 0, or negative once it failed. */
static int write_ready(struct flacpar *p)
{
    if (p->writing) return 0; /* that worker looks again after each chunk */
    p->writing = true;
    int rc = 0;
    for (;;) {
        struct chunk_slot *s = &p->slot[p->write_turn % p->n_slots];
        if (p->stop || s->state != SLOT_DONE || s->chunk != p->write_turn) break;
        uint64_t at = p->end_bytes;
        pthread_mutex_unlock(&p->mu);
        /* the turn is ours: nobody else writes until write_turn moves; the
           MD5 of the samples, in chunk order, here too: on the producer it
           was 12 % of a FLAC export's CPU, ahead of every chunk's encoding */
        int wr = put_bytes(p, s->out, s->out_len, at);
        int e = errno;
        if (wr == 0 && !p->stream) add_md5(p, s->in, s->frames * p->channels); /* a pipe's is never written */
        pthread_mutex_lock(&p->mu);
        if (wr != 0) {
            fail_locked(p, COACH_EIO, e ? e : EIO);
            rc = COACH_EIO;
            break;
        }
        p->end_bytes += s->out_len;
        if (s->min_bytes < p->min_bytes) p->min_bytes = s->min_bytes;
        if (s->max_bytes > p->max_bytes) p->max_bytes = s->max_bytes;
        s->state = SLOT_FREE; /* the producer may fill it again */
        p->write_turn++;
        pthread_cond_broadcast(&p->cv);
    }
    p->writing = false;
    return rc;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct flacpar *p = w->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct chunk_slot *s;
        while (!(s = next_filled(p)) && !p->closing && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop || !s) break; /* closing, and nothing left to encode */
        s->state = SLOT_ENCODING;
        uint64_t chunk = s->chunk;
        size_t frames = s->frames;
        pthread_mutex_unlock(&p->mu);
        int rc = encode_chunk(w, s, chunk, frames);
        pthread_mutex_lock(&p->mu);
        if (rc) {
            fail_locked(p, rc, rc == COACH_ENOMEM ? ENOMEM : EIO);
            break;
        }
        s->state = SLOT_DONE;
        if (write_ready(p) != 0) break;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- the header ---- */

struct bytes {
    unsigned char *d;
    size_t len, cap;
    bool failed;
};

static FLAC__StreamEncoderWriteStatus on_header(const FLAC__StreamEncoder *e, const FLAC__byte buf[],
                                                size_t bytes, uint32_t samples,
                                                uint32_t frame_no, void *u)
{
    (void)e, (void)samples, (void)frame_no;
    struct bytes *b = u;
    if (b->len + bytes > b->cap) {
        size_t cap = 2 * (b->len + bytes);
        unsigned char *d = realloc(b->d, cap);
        if (!d) {
            b->failed = true;
            return FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR;
        }
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->len, buf, bytes);
    b->len += bytes;
    return FLAC__STREAM_ENCODER_WRITE_STATUS_OK;
}

/* What libsndfile's encoder writes before the first frame: "fLaC",
 * STREAMINFO (sizes, length and MD5 still unknown) and a VORBIS_COMMENT
 * with libFLAC's vendor string and the tags, made by libFLAC itself with
 * the same settings and tags. Also learns the block size. 0 or negative
 * with err set. */
static int make_header(struct flacpar *p, const struct flacpar_opts *o, struct bytes *h, char *err,
                       size_t err_cap)
{
    FLAC__StreamEncoder *e = FLAC__stream_encoder_new();
    FLAC__StreamMetadata *vc = NULL;
    int rc = COACH_ENOMEM;
    if (!e || !configure(e, p, true)) goto out;
    /* libsndfile's order and keys: title, artist, comment (as export.c
     * sets them), lower case */
    const char *keys[] = {"title", "artist", "comment"};
    const char *vals[] = {o->title, o->artist, o->comment};
    for (int i = 0; i < 3; i++) {
        if (!vals[i] || !*vals[i]) continue;
        FLAC__StreamMetadata_VorbisComment_Entry entry;
        if (!vc && !(vc = FLAC__metadata_object_new(FLAC__METADATA_TYPE_VORBIS_COMMENT))) goto out;
        if (!FLAC__metadata_object_vorbiscomment_entry_from_name_value_pair(&entry, keys[i], vals[i]))
            goto out;
        if (!FLAC__metadata_object_vorbiscomment_append_comment(vc, entry, false)) {
            free(entry.entry);
            goto out;
        }
    }
    if (vc && !FLAC__stream_encoder_set_metadata(e, &vc, 1)) goto out;
    /* a pipe's STREAMINFO stays as written now: with the length */
    if (o->stream && !FLAC__stream_encoder_set_total_samples_estimate(e, o->stream_frames)) goto out;
    FLAC__StreamEncoderInitStatus st = FLAC__stream_encoder_init_stream(e, on_header, NULL, NULL, NULL, h);
    if (st != FLAC__STREAM_ENCODER_INIT_STATUS_OK) {
        if (!h->failed) {
            coach_set_err(err, err_cap, "cannot write FLAC at %u Hz, %u channel(s): %s", p->rate_hz,
                          p->channels, FLAC__StreamEncoderInitStatusString[st]);
            rc = COACH_EFORMAT;
        }
        FLAC__stream_encoder_finish(e);
        goto out;
    }
    p->block_frames = FLAC__stream_encoder_get_blocksize(e);
    FLAC__stream_encoder_finish(e); /* no samples: no frame, nothing more written */
    if (h->failed || h->len < STREAMINFO_AT + STREAMINFO_LEN || memcmp(h->d, "fLaC", 4) != 0 ||
        (h->d[4] & 0x7F) != 0 || p->block_frames == 0)
        goto out;
    memcpy(p->streaminfo, h->d + STREAMINFO_AT, STREAMINFO_LEN);
    rc = 0;
out:
    if (rc == COACH_ENOMEM) coach_set_err(err, err_cap, "out of memory");
    if (e) FLAC__stream_encoder_delete(e);
    if (vc) FLAC__metadata_object_delete(vc);
    return rc;
}

/* ---- the public side ---- */

static unsigned auto_workers(void)
{
    unsigned n = coach_cores();
    return n > FLACPAR_MAX_WORKERS ? FLACPAR_MAX_WORKERS : n;
}

int flacpar_open(struct flacpar **out, int fd, const struct flacpar_opts *o, char *err,
                 size_t err_cap)
{
    *out = NULL;
    if (err && err_cap) err[0] = 0;
    if (!o || fd < 0 || (o->channels != 1 && o->channels != 2) || o->rate_hz == 0 ||
        o->workers > FLACPAR_MAX_WORKERS) {
        coach_set_err(err, err_cap, "invalid FLAC writer arguments");
        return COACH_EINVAL;
    }
    pthread_once(&crc_once, crc_tables);
    struct flacpar *p = calloc(1, sizeof *p);
    if (!p) {
        coach_set_err(err, err_cap, "out of memory");
        return COACH_ENOMEM;
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        coach_set_err(err, err_cap, "out of memory");
        return COACH_ENOMEM;
    }
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        coach_set_err(err, err_cap, "out of memory");
        return COACH_ENOMEM;
    }
    p->fd = fd;
    p->stream = o->stream;
    p->rate_hz = o->rate_hz;
    p->channels = o->channels;
    p->n = o->workers ? o->workers : auto_workers();
    p->min_bytes = UINT32_MAX;
    md5_init(&p->md5);
    struct bytes h = {0};
    int rc = make_header(p, o, &h, err, err_cap);
    if (rc == 0 && put_bytes(p, h.d, h.len, 0) != 0) {
        int e = errno ? errno : EIO;
        coach_set_err(err, err_cap, "write failed: %s", strerror(e));
        errno = e;
        rc = COACH_EIO;
    }
    p->end_bytes = h.len;
    free(h.d);
    if (rc == 0) {
        /* libFLAC's loose mid-side period in blocks (stream_encoder.c,
         * init_stream_internal_), computed the same way */
        uint32_t loose = (uint32_t)((double)p->rate_hz * 0.4 / (double)p->block_frames + 0.5);
        if (loose == 0) loose = 1;
        p->chunk_blocks = (CHUNK_BLOCKS_MIN + loose - 1) / loose * loose;
        p->chunk_frames = (size_t)p->block_frames * p->chunk_blocks;
    }
    p->n_slots = SLOTS_PER_WORKER * p->n;
    for (unsigned i = 0; rc == 0 && i < p->n_slots; i++) {
        struct chunk_slot *s = &p->slot[i];
        s->out_cap = p->chunk_frames * p->channels * 2 + 1024; /* about a raw chunk */
        s->in = malloc(p->chunk_frames * p->channels * sizeof *s->in);
        s->out = malloc(s->out_cap);
        if (!s->in || !s->out) {
            coach_set_err(err, err_cap, "out of memory");
            rc = COACH_ENOMEM;
        }
    }
    for (unsigned i = 0; rc == 0 && i < p->n; i++) {
        struct worker *w = &p->w[i];
        w->p = p;
        w->enc = FLAC__stream_encoder_new();
        if (!w->enc) {
            coach_set_err(err, err_cap, "out of memory");
            rc = COACH_ENOMEM;
        }
    }
    for (unsigned i = 0; rc == 0 && i < p->n; i++) {
        if (coach_thread_start(&p->w[i].thread, work, &p->w[i]) != 0) {
            coach_set_err(err, err_cap, "cannot start the FLAC encoders");
            rc = COACH_ENOMEM;
        } else {
            p->w[i].started = true;
        }
    }
    if (rc) {
        int e = errno;
        flacpar_free(p);
        errno = e;
        return rc;
    }
    *out = p;
    return 0;
}

/* 16-bit as libsndfile 1.2 stores a float (flac.c, f2flac16_array:
 * lrintf(x * 32767), no clipping by default); clipped here, which changes
 * nothing the limiter lets through. Rounded to nearest, ties to even, as
 * lrintf in the default rounding mode: adding 1.5 * 2^23 leaves the
 * rounded value in the float's low mantissa bits (|s| < 2^22), without a
 * call into libm, so the loop vectorizes (checked against lrintf for every
 * float in [-1.00002, 1.00002]). NaN becomes 32767. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static void to_pcm16(FLAC__int32 *restrict dst, const float *restrict src, size_t n)
{
    const v4f scale = {32767.0f, 32767.0f, 32767.0f, 32767.0f};
    const v4f hi = {32767.0f, 32767.0f, 32767.0f, 32767.0f};
    const v4f lo = {-32768.0f, -32768.0f, -32768.0f, -32768.0f};
    const v4f magic = {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f};
    const v4i magic_bits = {0x4B400000, 0x4B400000, 0x4B400000, 0x4B400000};
    size_t j = 0;
    for (; j + 4 <= n; j += 4) { /* four at a time: GCC's vector extension */
        v4f s;
        memcpy(&s, src + j, sizeof s);
        s *= scale;
        v4i below = s < hi; /* all ones where true; NaN: false */
        s = (v4f)((below & (v4i)s) | (~below & (v4i)hi));
        v4i above = s > lo;
        s = (v4f)((above & (v4i)s) | (~above & (v4i)lo));
        s += magic;
        v4i q = (v4i)s - magic_bits;
        memcpy(dst + j, &q, sizeof q);
    }
    for (; j < n; j++) {
        float s = src[j] * 32767.0f;
        s = s < 32767.0f ? s : 32767.0f;
        s = s > -32768.0f ? s : -32768.0f;
        s += 12582912.0f;
        int32_t bits;
        memcpy(&bits, &s, sizeof bits);
        dst[j] = bits - 0x4B400000; /* the bits of 12582912.0f */
    }
}

/* Hands the filled chunk to the workers. */
static void submit(struct flacpar *p)
{
    struct chunk_slot *s = &p->slot[p->fill_chunk % p->n_slots];
    pthread_mutex_lock(&p->mu);
    s->chunk = p->fill_chunk;
    s->frames = p->fill_frames;
    s->state = SLOT_FILLED;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    p->fill_chunk++;
    p->fill_frames = 0;
}

int flacpar_write(struct flacpar *p, const float *frames, size_t n)
{
    if (p->finished) return COACH_EINVAL;
    while (n) {
        struct chunk_slot *s = &p->slot[p->fill_chunk % p->n_slots];
        if (p->fill_frames == 0) { /* wait until the slot's last chunk is written */
            pthread_mutex_lock(&p->mu);
            while (s->state != SLOT_FREE && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
            int rc = p->rc ? p->rc : p->stop ? COACH_EIO : 0;
            pthread_mutex_unlock(&p->mu);
            if (rc) return rc;
        }
        size_t m = p->chunk_frames - p->fill_frames;
        if (m > n) m = n;
        to_pcm16(s->in + p->fill_frames * p->channels, frames, m * p->channels);
        p->fill_frames += m;
        p->total_frames += m;
        frames += m * p->channels;
        n -= m;
        if (p->fill_frames == p->chunk_frames) submit(p);
    }
    return 0;
}

static void put_be(unsigned char *d, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8) d[i] = (unsigned char)v;
}

int flacpar_finish(struct flacpar *p)
{
    if (p->finished) return COACH_EINVAL;
    p->finished = true;
    if (p->fill_frames) submit(p); /* the last, shorter chunk */
    pthread_mutex_lock(&p->mu);
    p->closing = true; /* each worker encodes and writes what it holds, then ends */
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++) {
        if (p->w[i].started) pthread_join(p->w[i].thread, NULL);
        p->w[i].started = false;
    }
    if (!p->rc && p->write_turn != p->fill_chunk) { /* a bug here: never a file with a hole */
        p->rc = COACH_EIO;
        p->err = EIO;
    }
    if (p->rc) {
        errno = p->err;
        return p->rc;
    }
    if (p->stream) return 0; /* a pipe cannot go back: as libFLAC leaves it */
    /* What libFLAC fills in at its end (its update_metadata_): frame
     * sizes, samples, MD5; no frames leaves libFLAC's start values. */
    unsigned char *si = p->streaminfo;
    if (p->max_bytes) {
        put_be(si + 4, p->min_bytes, 3);
        put_be(si + 7, p->max_bytes, 3);
    }
    /* rate (20 bits), channels - 1 (3), bits - 1 (5), samples (36) */
    si[13] = (unsigned char)((si[13] & 0xF0) | ((p->total_frames >> 32) & 0x0F));
    put_be(si + 14, p->total_frames & 0xFFFFFFFFu, 4);
    md5_digest(&p->md5, MD5_DIGEST_SIZE, si + 18);
    if (coach_write_at(p->fd, si, STREAMINFO_LEN, STREAMINFO_AT) != 0) {
        p->rc = COACH_EIO;
        p->err = errno ? errno : EIO;
        errno = p->err;
        return p->rc;
    }
    return 0;
}

int flacpar_error(const struct flacpar *p, int *errno_out)
{
    if (errno_out) *errno_out = p->err;
    return p->rc;
}

unsigned flacpar_workers(const struct flacpar *p)
{
    return p->n;
}

void flacpar_free(struct flacpar *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++) {
        struct worker *w = &p->w[i];
        if (w->started) pthread_join(w->thread, NULL);
        if (w->enc) FLAC__stream_encoder_delete(w->enc);
    }
    for (unsigned i = 0; i < p->n_slots; i++) {
        free(p->slot[i].in);
        free(p->slot[i].out);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
