/* The parallel MP3 writer (mp3par.h). Geometry, with spf samples per MP3
 * frame and LAME's encoder delay d (576): global frame j carries samples
 * from j * spf - d on. Segment s keeps frames [s*K, (s+1)*K); its encoder
 * is fed the samples from (s*K - L) * spf, so its local frame i is global
 * frame s*K - L + i and the first L (the lead-in) are dropped, and it is fed
 * TAIL samples past its last frame (the MDCT overlap and LAME's look-ahead
 * see the real signal), then flushed; the frames after its K are dropped.
 * The last segment ends where the input ends and keeps every frame its
 * flush gives, as one encoder for the whole file would. Bit reservoir off:
 * a frame's bits never sit in an earlier frame, so frames from different
 * encoders follow each other. Each segment is fed 16-bit PCM, the samples
 * of a WAV export (segpar.h holds them so: half the memory of floats).
 * The segments are scheduled by segpar.h: a ring of a few, so memory does
 * not grow with the file. */
#define _POSIX_C_SOURCE 200809L

#include "coach/mp3par.h"

#include <errno.h>
#include <lame/lame.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/segpar.h"

/* K: ~3.5 s at 48 kHz. The lead-in and tail cost 3.5 % (at 72: 7 %), and
 * an encoder is started per segment (0.46 ms each): 144 took 0.95x the
 * CPU of 72 and as much memory, the segments holding 16-bit PCM (segpar.h);
 * 216 took 0.90x but 1.2 MiB more, past 20 MB for the longest routine. */
#define SEG_MP3_FRAMES 144
#define LEAD_MP3_FRAMES 3   /* L: primes the MDCT overlap and the psychoacoustic model */
#define TAIL_MP3_FRAMES 2   /* past the segment: overlap + look-ahead, real samples */
#define MAX_FRAME_BYTES 1441 /* 320 kbit/s at 32 kHz, or 160 at 8 kHz, padded */
#define FEED_FRAMES 4608    /* samples per lame_encode call */

struct mp3par {
    /* immutable after open */
    int fd;
    uint32_t rate_hz, channels;
    uint64_t total;       /* input frames promised */
    unsigned spf;         /* samples per MP3 frame */
    unsigned delay;       /* LAME's encoder delay, samples */
    uint64_t est_frames;  /* MP3 frames one encoder would write (for the seek table) */
    uint64_t n_segs;
    double quality;
    unsigned char *info;  /* the info frame (LAME's, patched at finish) */
    size_t info_len, xing; /* its size; where "Xing" starts in it */
    uint64_t audio_off;   /* file offset of the info frame */
    unsigned char id3v1[128];
    size_t id3v1_len;
    uint16_t crc_tab[256];
    struct segpar *sp;

    /* the writing thread only */
    uint64_t frames_out;  /* MP3 frames written */
    uint64_t bytes_out;   /* their bytes */
    uint16_t music_crc;
    uint64_t toc_pos[100]; /* byte offset (from the info frame) of frame i% */
    unsigned toc_next;
    int err;              /* first error, sticky */
    int write_errno;
};

/* LAME keeps a few tables in globals that its first init fills: inits
 * one at a time. */
static pthread_mutex_t lame_init_mu = PTHREAD_MUTEX_INITIALIZER;

static lame_t new_encoder(const struct mp3par *m, bool info_frame)
{
    pthread_mutex_lock(&lame_init_mu);
    lame_t g = lame_init();
    if (g) {
        /* libsndfile 1.2's MP3 writer: VBR (vbr_default = mtrh) at
         * quality level*10, in rate = out rate, tags by hand. */
        lame_set_in_samplerate(g, (int)m->rate_hz);
        lame_set_num_channels(g, (int)m->channels);
        lame_set_write_id3tag_automatic(g, 0);
        lame_set_VBR(g, vbr_default);
        lame_set_VBR_quality(g, (float)m->quality);
        lame_set_disable_reservoir(g, 1);
        lame_set_bWriteVbrTag(g, info_frame);
        if (lame_set_out_samplerate(g, (int)m->rate_hz) < 0 || lame_init_params(g) < 0) {
            lame_close(g);
            g = NULL;
        }
    }
    pthread_mutex_unlock(&lame_init_mu);
    return g;
}

/* Length of the MPEG-1/2/2.5 layer III frame at p, 0 if none is there
 * whole. */
static size_t frame_len(const unsigned char *p, size_t avail)
{
    static const unsigned short kbps1[15] = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
    static const unsigned short kbps2[15] = {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160};
    static const unsigned rates[3] = {44100, 48000, 32000};
    if (avail < 4 || p[0] != 0xFF || (p[1] & 0xE0) != 0xE0) return 0;
    unsigned ver = (p[1] >> 3) & 3, layer = (p[1] >> 1) & 3;
    unsigned bri = p[2] >> 4, sri = (p[2] >> 2) & 3, pad = (p[2] >> 1) & 1;
    if (ver == 1 || layer != 1 || bri == 0 || bri == 15 || sri == 3) return 0;
    unsigned rate = rates[sri] >> (ver == 3 ? 0 : ver == 2 ? 1 : 2);
    size_t len = ver == 3 ? 144000u * kbps1[bri] / rate + pad : 72000u * kbps2[bri] / rate + pad;
    return len <= avail ? len : 0;
}

/* Whole frames in p[0, len). */
static uint64_t count_frames(const unsigned char *p, size_t len)
{
    uint64_t n = 0;
    for (size_t at = 0, fl; at < len && (fl = frame_len(p + at, len - at)) != 0; at += fl) n++;
    return n;
}

/* The input frames segment s is fed: [in_a, in_b). */
static uint64_t seg_in_a(void *ctx, uint64_t s)
{
    const struct mp3par *m = ctx;
    return s == 0 ? 0 : (s * SEG_MP3_FRAMES - LEAD_MP3_FRAMES) * (uint64_t)m->spf;
}

static uint64_t seg_in_b(void *ctx, uint64_t s)
{
    const struct mp3par *m = ctx;
    if (s + 1 >= m->n_segs) return m->total;
    uint64_t b = ((s + 1) * SEG_MP3_FRAMES + TAIL_MP3_FRAMES) * (uint64_t)m->spf;
    return b < m->total ? b : m->total;
}

/* Encodes segment s on a worker: into out, the kept frames only. */
static int encode_seg(void *ctx, uint64_t s, const void *pcm_in, size_t n, unsigned char *out,
                      size_t out_cap, size_t *out_len)
{
    struct mp3par *m = ctx;
    const short *pcm = pcm_in; /* segpar holds 16-bit PCM here (mp3par_open) */
    lame_t e = new_encoder(m, false);
    if (!e) return COACH_ENOMEM;
    size_t len = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t c = n - i < FEED_FRAMES ? n - i : FEED_FRAMES;
        /* LAME's interleaved call takes a pointer to non-const, but only reads */
        short *x = (short *)pcm + i * m->channels;
        int b = m->channels == 2
                    ? lame_encode_buffer_interleaved(e, x, (int)c, out + len, (int)(out_cap - len))
                    : lame_encode_buffer(e, x, NULL, (int)c, out + len, (int)(out_cap - len));
        if (b < 0) rc = COACH_ENOMEM; /* -1: out too small, -2: malloc; neither expected */
        else len += (size_t)b;
        i += c;
    }
    /* A segment before the last has its frames out once the tail is in
     * (reservoir off: LAME holds none back); the flush would only encode
     * padding. The last one is flushed, as one encoder's end. */
    const bool last = s + 1 == m->n_segs;
    const uint64_t lead = s == 0 ? 0 : LEAD_MP3_FRAMES;
    if (rc == 0 && (last || count_frames(out, len) < lead + SEG_MP3_FRAMES)) {
        int b = lame_encode_flush(e, out + len, (int)(out_cap - len));
        if (b < 0) rc = COACH_ENOMEM;
        else len += (size_t)b;
    }
    lame_close(e);
    if (rc) return rc;
    /* keep frames [lead, lead + K) (the last segment: [lead, end)) */
    size_t at = 0, keep_a = 0, keep_b = 0;
    uint64_t i = 0;
    while (at < len) {
        size_t fl = frame_len(out + at, len - at);
        if (!fl) return COACH_EFORMAT; /* not LAME's plain frames */
        if (i == lead) keep_a = at;
        at += fl;
        i++;
        if (i == lead + SEG_MP3_FRAMES && !last) break;
    }
    if (i < lead || (!last && i < lead + SEG_MP3_FRAMES)) return COACH_EFORMAT; /* too few frames */
    keep_b = at;
    if (i == lead) keep_a = keep_b; /* an empty last segment */
    memmove(out, out + keep_a, keep_b - keep_a);
    *out_len = keep_b - keep_a;
    return 0;
}

static int fail(struct mp3par *m, int rc)
{
    if (!m->err) m->err = rc;
    return m->err;
}

static int write_at(struct mp3par *m, const void *p, size_t n, uint64_t off)
{
    if (coach_write_at(m->fd, p, n, off) == 0) return 0;
    if (!m->write_errno) m->write_errno = errno ? errno : EIO;
    errno = m->write_errno;
    return fail(m, COACH_EIO);
}

/* Writes a finished segment, in order: the seek table and the music CRC
 * follow it frame by frame. */
static int emit_seg(void *ctx, uint64_t s, const unsigned char *out, size_t out_len)
{
    struct mp3par *m = ctx;
    (void)s;
    for (size_t at = 0; at < out_len;) {
        size_t fl = frame_len(out + at, out_len - at);
        while (m->toc_next < 100 && m->frames_out >= m->toc_next * m->est_frames / 100)
            m->toc_pos[m->toc_next++] = m->info_len + m->bytes_out + at;
        for (size_t k = at; k < at + fl; k++)
            m->music_crc = (uint16_t)((m->music_crc >> 8) ^ m->crc_tab[(m->music_crc ^ out[k]) & 0xFF]);
        at += fl;
        m->frames_out++;
    }
    int rc = write_at(m, out, out_len, m->audio_off + m->info_len + m->bytes_out);
    if (rc) return rc;
    m->bytes_out += out_len;
    return 0;
}

int mp3par_write(struct mp3par *m, const float *frames, size_t n)
{
    if (m->err) return m->err;
    int rc = segpar_write(m->sp, frames, n);
    return rc ? fail(m, rc) : 0;
}

static void put_be32(unsigned char *p, uint64_t v)
{
    uint32_t x = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(x >> (24 - 8 * i));
}

int mp3par_finish(struct mp3par *m)
{
    if (m->err) return m->err;
    int rc = segpar_finish(m->sp);
    if (rc) return fail(m, rc);
    uint64_t samples = m->frames_out * m->spf;
    if (samples < m->delay + m->total || samples - m->delay - m->total > 4095)
        return fail(m, COACH_EFORMAT); /* the tag cannot say this padding */
    unsigned pad = (unsigned)(samples - m->delay - m->total);
    uint64_t bytes = m->info_len + m->bytes_out;
    while (m->toc_next < 100) m->toc_pos[m->toc_next++] = bytes;
    /* The Xing part: frames, bytes, seek table (byte position of each
     * percent of the time, in 256ths of the bytes) */
    unsigned char *x = m->info + m->xing;
    put_be32(x + 8, m->frames_out);
    put_be32(x + 12, bytes);
    for (int i = 0; i < 100; i++) {
        uint64_t t = m->toc_pos[i] * 256 / (bytes ? bytes : 1);
        x[16 + i] = (unsigned char)(t > 255 ? 255 : t);
    }
    /* The LAME part (after the 120 Xing bytes): delay and padding 12 bits
     * each, the music length and CRC, then the CRC of the frame so far. */
    unsigned char *l = x + 120;
    unsigned delay = ((unsigned)l[21] << 4) | (l[22] >> 4);
    l[21] = (unsigned char)(delay >> 4);
    l[22] = (unsigned char)(((delay & 15) << 4) | (pad >> 8));
    l[23] = (unsigned char)(pad & 0xFF);
    put_be32(l + 28, bytes);
    l[32] = (unsigned char)(m->music_crc >> 8);
    l[33] = (unsigned char)(m->music_crc & 0xFF);
    uint16_t crc = 0;
    for (unsigned char *p = m->info; p < l + 34; p++)
        crc = (uint16_t)((crc >> 8) ^ m->crc_tab[(crc ^ *p) & 0xFF]);
    l[34] = (unsigned char)(crc >> 8);
    l[35] = (unsigned char)(crc & 0xFF);
    rc = write_at(m, m->id3v1, m->id3v1_len, m->audio_off + bytes);
    if (rc == 0) rc = write_at(m, m->info, m->info_len, m->audio_off);
    return rc;
}

int mp3par_errno(const struct mp3par *m)
{
    return m ? m->write_errno : 0;
}

void mp3par_geometry(const struct mp3par *m, unsigned *spf, unsigned *seg_frames,
                     unsigned *lead_frames)
{
    if (spf) *spf = m->spf;
    if (seg_frames) *seg_frames = SEG_MP3_FRAMES;
    if (lead_frames) *lead_frames = LEAD_MP3_FRAMES;
}

void mp3par_free(struct mp3par *m)
{
    if (!m) return;
    segpar_free(m->sp);
    free(m->info);
    free(m);
}

/* One encoder with the same settings makes the tags and the info frame
 * (its counts are patched at finish): the ID3v2 tag goes out now, the
 * info frame's place is kept. */
static int write_head(struct mp3par *m, const struct mp3par_opts *o)
{
    lame_t e = new_encoder(m, true);
    if (!e) return COACH_EFORMAT;
    int rc = 0;
    m->spf = (unsigned)lame_get_framesize(e);
    m->delay = (unsigned)lame_get_encoder_delay(e);
    id3tag_init(e);
    if (o->title && *o->title) id3tag_set_title(e, o->title);
    if (o->artist && *o->artist) id3tag_set_artist(e, o->artist);
    if (o->comment && *o->comment) id3tag_set_comment(e, o->comment);
    size_t cap = 2 * (size_t)m->spf * 2 + 7200;
    unsigned char *buf = NULL;
    size_t id3_len = lame_get_id3v2_tag(e, NULL, 0);
    if (id3_len + 1 > cap) cap = id3_len + 1;
    float *zero = calloc((size_t)m->spf * m->channels, sizeof *zero);
    buf = malloc(cap);
    if (!zero || !buf) rc = COACH_ENOMEM;
    if (rc == 0 && id3_len > 0) {
        lame_get_id3v2_tag(e, buf, cap);
        rc = write_at(m, buf, id3_len, 0);
        m->audio_off = id3_len;
    }
    int b = 0;
    /* one frame of silence, so that LAME has an info frame to give */
    if (rc == 0)
        b = m->channels == 2 ? lame_encode_buffer_interleaved_ieee_float(e, zero, (int)m->spf, buf, (int)cap)
                             : lame_encode_buffer_ieee_float(e, zero, NULL, (int)m->spf, buf, (int)cap);
    if (rc == 0 && b >= 0) b = lame_encode_flush(e, buf, (int)cap);
    if (rc == 0 && b < 0) rc = COACH_ENOMEM;
    size_t info_len = rc == 0 ? lame_get_lametag_frame(e, NULL, 0) : 0;
    if (rc == 0 && (info_len == 0 || !(m->info = calloc(1, info_len)))) rc = info_len ? COACH_ENOMEM : COACH_EFORMAT;
    if (rc == 0) {
        lame_get_lametag_frame(e, m->info, info_len);
        m->info_len = info_len;
        const unsigned char *x = NULL;
        for (size_t i = 4; i + 4 <= info_len && !x; i++)
            if (!memcmp(m->info + i, "Xing", 4) || !memcmp(m->info + i, "Info", 4)) x = m->info + i;
        if (!x || (size_t)(x - m->info) + 156 > info_len || memcmp(x + 120, "LAME", 4)) rc = COACH_EFORMAT;
        else m->xing = (size_t)(x - m->info);
    }
    if (rc == 0) {
        int n1 = lame_get_id3v1_tag(e, m->id3v1, sizeof m->id3v1);
        m->id3v1_len = n1 > 0 && (size_t)n1 <= sizeof m->id3v1 ? (size_t)n1 : 0;
        /* the info frame's place: zeros until finish */
        memset(buf, 0, cap < info_len ? cap : info_len);
        if (cap >= info_len) rc = write_at(m, buf, info_len, m->audio_off);
    }
    free(zero);
    free(buf);
    lame_close(e);
    return rc;
}

int mp3par_open(struct mp3par **out, int fd, const struct mp3par_opts *o)
{
    *out = NULL;
    if (o->channels < 1 || o->channels > 2 || o->rate_hz == 0 || o->rate_hz > 48000)
        return COACH_EFORMAT;
    struct mp3par *m = calloc(1, sizeof *m);
    if (!m) return COACH_ENOMEM;
    m->fd = fd;
    m->rate_hz = o->rate_hz;
    m->channels = o->channels;
    m->total = o->len_frames;
    m->quality = o->vbr_quality;
    for (unsigned i = 0; i < 256; i++) { /* CRC-16/ARC, the LAME tag's */
        unsigned c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xA001 : c >> 1;
        m->crc_tab[i] = (uint16_t)c;
    }
    int rc = write_head(m, o);
    if (rc) {
        mp3par_free(m);
        return rc;
    }
    /* one encoder's frame count: its delay and 1152 samples of flush
     * padding, rounded up to whole frames (LAME 3.100) */
    m->est_frames = (m->total + m->delay + 1152 + m->spf - 1) / m->spf;
    m->n_segs = (m->est_frames + SEG_MP3_FRAMES - 1) / SEG_MP3_FRAMES;
    if (m->n_segs == 0) m->n_segs = 1;
    size_t pcm_cap = (size_t)(SEG_MP3_FRAMES + LEAD_MP3_FRAMES + TAIL_MP3_FRAMES) * m->spf;
    size_t local_frames = (pcm_cap + m->delay + 1152) / m->spf + 2;
    const struct segpar_opts so = {.channels = m->channels, .total = m->total, .n_segs = m->n_segs,
                                   .pcm_cap = pcm_cap, .out_cap = local_frames * MAX_FRAME_BYTES + 7200,
                                   .workers = o->workers, .pcm16 = true};
    const struct segpar_codec codec = {.ctx = m, .in_a = seg_in_a, .in_b = seg_in_b,
                                       .encode = encode_seg, .emit = emit_seg};
    rc = segpar_open(&m->sp, &so, &codec);
    if (rc) {
        mp3par_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
