/* The parallel Ogg Opus writer (opuspar.h). Written by hand around libopus
 * and libogg because libsndfile keeps one encoder per file and libopusenc
 * cannot take packets made elsewhere. Geometry, with P samples per packet
 * (20 ms) and N input frames: packet j encodes input [j*P, (j+1)*P), the
 * F packets after the last whole one carry the rest and the encoder's
 * look-ahead (zeros pushed through; the last one as short as 2.5, 5 or
 * 10 ms allows), and the last page's granule position N + pre-skip (at
 * 48 kHz) trims the padding. Segment s keeps packets [s*K, (s+1)*K); its
 * encoder is fed from packet s*K - L on and its first L packets (the
 * lead-in) are dropped. Packets from different encoders follow each other
 * because every Opus packet is self-delimiting and the decoder's state
 * after the lead-in's audio is close to the encoder's; what differs at a
 * join is measured in tests/test_opuspar.c and docs/PERFORMANCE.md. */
#define _DEFAULT_SOURCE /* getentropy */

#include "coach/opuspar.h"

#include <errno.h>
#include <ogg/ogg.h>
#include <opus/opus_multistream.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/segpar.h"

#define SEG_PACKETS 100     /* K: 1 s of 20 ms packets; the lead-in costs 10 % */
#define LEAD_PACKETS 5     /* L: 100 ms; see the joins in docs/PERFORMANCE.md */
#define MAX_PACKET_BYTES (1275 * 3 + 7) /* per stream, as opus-tools and libsndfile */
#define PAGE_GRANULES 48000 /* a page at least every second (libsndfile's default) */
#define TAGS_PADDING 512   /* room for tags edited in place, as libsndfile leaves */

struct opuspar {
    /* immutable after open */
    int fd;
    bool stream;        /* fd is a pipe: pages written in order with write */
    uint32_t rate_hz, channels;
    uint64_t total;     /* input frames promised */
    unsigned packet;    /* P: input frames per packet */
    unsigned sr_factor; /* 48000 / rate */
    unsigned preskip;   /* at 48 kHz */
    int bitrate;
    uint64_t whole;     /* packets of input alone: total / P */
    uint64_t n_packets; /* all the packets, the last flush included */
    uint64_t n_segs;
    struct segpar *sp;

    /* the writing thread only */
    ogg_stream_state os;
    bool os_ready;
    uint64_t packets_out; /* packets paged */
    uint64_t pkt_pos;     /* granule position after the last packet */
    uint64_t pg_pos;      /* granule position at the end of the last page */
    int page_segments;    /* lacing values waiting in the stream */
    uint64_t off;         /* file bytes written */
    int err;              /* first error, sticky */
    int write_errno;
};

static OpusMSEncoder *new_encoder(const struct opuspar *p)
{
    static const unsigned char map[2] = {0, 1};
    int e = OPUS_OK;
    OpusMSEncoder *enc = opus_multistream_encoder_create((opus_int32)p->rate_hz, (int)p->channels, 1,
                                                         (int)p->channels - 1, map,
                                                         OPUS_APPLICATION_AUDIO, &e);
    if (!enc || e != OPUS_OK) {
        if (enc) opus_multistream_encoder_destroy(enc);
        return NULL;
    }
    if (opus_multistream_encoder_ctl(enc, OPUS_SET_BITRATE(p->bitrate)) != OPUS_OK ||
        opus_multistream_encoder_ctl(enc, OPUS_SET_COMPLEXITY(10)) != OPUS_OK ||
        opus_multistream_encoder_ctl(enc, OPUS_SET_LSB_DEPTH(24)) != OPUS_OK) {
        opus_multistream_encoder_destroy(enc);
        return NULL;
    }
    return enc;
}

/* The frames of the last packet (at the rate), as libsndfile shortens it:
 * the smallest of 2.5, 5, 10 or 20 ms that holds what is left. */
static unsigned last_packet_frames(const struct opuspar *p)
{
    uint64_t left48 = (p->total - p->whole * p->packet) * p->sr_factor + p->preskip -
                      (p->n_packets - 1 - p->whole) * (uint64_t)p->packet * p->sr_factor;
    unsigned len48 = left48 <= 120 ? 120 : left48 <= 240 ? 240 : left48 <= 480 ? 480 : p->packet * p->sr_factor;
    return len48 / p->sr_factor;
}

static uint64_t seg_in_a(void *ctx, uint64_t s)
{
    const struct opuspar *p = ctx;
    return s == 0 ? 0 : (s * SEG_PACKETS - LEAD_PACKETS) * (uint64_t)p->packet;
}

static uint64_t seg_in_b(void *ctx, uint64_t s)
{
    const struct opuspar *p = ctx;
    return s + 1 >= p->n_segs ? p->total : (s + 1) * SEG_PACKETS * (uint64_t)p->packet;
}

/* One packet of frames at x into out as [4-byte length][packet]; kept
 * unless `drop`. */
static int encode_one(OpusMSEncoder *enc, const float *x, unsigned frames, unsigned char *out,
                      size_t cap, size_t *len, bool drop)
{
    if (cap - *len < 4 + MAX_PACKET_BYTES) return COACH_ENOMEM; /* unreachable: sized at open */
    int b = opus_multistream_encode_float(enc, x, (int)frames, out + *len + 4, MAX_PACKET_BYTES);
    if (b < 0) return COACH_EFORMAT;
    if (drop) return 0;
    for (int k = 0; k < 4; k++) out[*len + (size_t)k] = (unsigned char)((unsigned)b >> (8 * k));
    *len += 4 + (size_t)b;
    return 0;
}

/* Encodes segment s on a worker: its lead-in (dropped), its packets, and
 * for the last segment the flush packets. */
static int encode_seg(void *ctx, uint64_t s, const void *pcm_in, size_t n, unsigned char *out,
                      size_t cap, size_t *out_len)
{
    struct opuspar *p = ctx;
    const float *pcm = pcm_in; /* segpar holds floats here */
    OpusMSEncoder *enc = new_encoder(p);
    if (!enc) return COACH_ENOMEM;
    const uint64_t first = s == 0 ? 0 : s * SEG_PACKETS - LEAD_PACKETS; /* global packet of pcm[0] */
    const uint64_t keep_from = s * SEG_PACKETS;
    const uint64_t end = s + 1 >= p->n_segs ? p->n_packets : (s + 1) * SEG_PACKETS;
    const size_t P = p->packet, ch = p->channels;
    float *tail = NULL; /* the packets past the input: what is left, then zeros */
    size_t len = 0;
    int rc = 0;
    for (uint64_t j = first; j < end && rc == 0; j++) {
        const size_t at = (size_t)(j - first) * P; /* frame of pcm where packet j starts */
        unsigned frames = j + 1 == p->n_packets ? last_packet_frames(p) : (unsigned)P;
        const float *x = pcm + at * ch;
        if (at + P > n) { /* a flush packet */
            if (!tail && !(tail = malloc(P * ch * sizeof *tail))) {
                rc = COACH_ENOMEM;
                break;
            }
            memset(tail, 0, P * ch * sizeof *tail);
            if (at < n) memcpy(tail, x, (n - at) * ch * sizeof *tail);
            x = tail;
        }
        rc = encode_one(enc, x, frames, out, cap, &len, j < keep_from);
    }
    free(tail);
    opus_multistream_encoder_destroy(enc);
    *out_len = len;
    return rc;
}

static int fail(struct opuspar *p, int rc)
{
    if (!p->err) p->err = rc;
    return p->err;
}

static int write_page(struct opuspar *p, const ogg_page *pg)
{
    bool ok = p->stream ? coach_write_full(p->fd, pg->header, (size_t)pg->header_len) == 0 &&
                              coach_write_full(p->fd, pg->body, (size_t)pg->body_len) == 0
                        : coach_write_at(p->fd, pg->header, (size_t)pg->header_len, p->off) == 0 &&
                              coach_write_at(p->fd, pg->body, (size_t)pg->body_len,
                                             p->off + (uint64_t)pg->header_len) == 0;
    if (ok) {
        p->off += (uint64_t)pg->header_len + (uint64_t)pg->body_len;
        return 0;
    }
    if (!p->write_errno) p->write_errno = errno ? errno : EIO;
    errno = p->write_errno;
    return fail(p, COACH_EIO);
}

/* Pages a packet as libsndfile does: a page is closed before the packet
 * goes in once a second of audio waits or 255 lacing values would. */
static int page_packet(struct opuspar *p, const unsigned char *data, size_t bytes)
{
    const bool last = p->packets_out + 1 == p->n_packets;
    p->pkt_pos += (uint64_t)p->packet * p->sr_factor;
    ogg_packet op = {.packet = (unsigned char *)data, .bytes = (long)bytes,
                     .granulepos = (ogg_int64_t)(last ? p->total * p->sr_factor + p->preskip : p->pkt_pos),
                     .packetno = (ogg_int64_t)(2 + p->packets_out), .e_o_s = last};
    p->page_segments += (int)(bytes + 255) / 255;
    ogg_page pg;
    for (;;) {
        int got = p->pkt_pos - p->pg_pos >= PAGE_GRANULES || p->page_segments >= 255
                      ? ogg_stream_flush_fill(&p->os, &pg, 255 * 255)
                      : ogg_stream_pageout_fill(&p->os, &pg, 255 * 255);
        if (!got) break;
        p->page_segments -= pg.header[26]; /* the page's lacing values */
        p->pg_pos = p->pkt_pos;
        if (write_page(p, &pg)) return p->err;
    }
    if (ogg_stream_packetin(&p->os, &op) != 0) return fail(p, COACH_ENOMEM);
    p->packets_out++;
    if (last)
        while (ogg_stream_flush(&p->os, &pg))
            if (write_page(p, &pg)) return p->err;
    return 0;
}

static int emit_seg(void *ctx, uint64_t s, const unsigned char *out, size_t len)
{
    struct opuspar *p = ctx;
    (void)s;
    for (size_t at = 0; at + 4 <= len;) {
        size_t b = (size_t)out[at] | (size_t)out[at + 1] << 8 | (size_t)out[at + 2] << 16 |
                   (size_t)out[at + 3] << 24;
        if (b > len - at - 4) return fail(p, COACH_EFORMAT); /* unreachable: made by encode_seg */
        int rc = page_packet(p, out + at + 4, b);
        if (rc) return rc;
        at += 4 + b;
    }
    return 0;
}

int opuspar_write(struct opuspar *p, const float *frames, size_t n)
{
    if (p->err) return p->err;
    int rc = segpar_write(p->sp, frames, n);
    return rc ? fail(p, rc) : 0;
}

int opuspar_finish(struct opuspar *p)
{
    if (p->err) return p->err;
    int rc = segpar_finish(p->sp);
    if (rc) return fail(p, rc);
    return p->packets_out == p->n_packets ? 0 : fail(p, COACH_EFORMAT);
}

int opuspar_errno(const struct opuspar *p)
{
    return p ? p->write_errno : 0;
}

void opuspar_geometry(const struct opuspar *p, unsigned *packet_frames, unsigned *seg_packets,
                      unsigned *lead_packets, unsigned *preskip)
{
    if (packet_frames) *packet_frames = p->packet;
    if (seg_packets) *seg_packets = SEG_PACKETS;
    if (lead_packets) *lead_packets = LEAD_PACKETS;
    if (preskip) *preskip = p->preskip;
}

void opuspar_free(struct opuspar *p)
{
    if (!p) return;
    segpar_free(p->sp);
    if (p->os_ready) ogg_stream_clear(&p->os);
    free(p);
}

static void put_le32(unsigned char *b, uint32_t v)
{
    for (int k = 0; k < 4; k++) b[k] = (unsigned char)(v >> (8 * k));
}

/* Appends a length-prefixed string; the new length, or 0 if it would not fit. */
static size_t put_str(unsigned char *b, size_t at, size_t cap, const char *key, const char *val)
{
    if (!key) key = "";
    size_t kl = strlen(key), vl = strlen(val);
    if (vl > cap || kl > cap - vl || 4 + kl + vl > cap - at) return 0;
    put_le32(b + at, (uint32_t)(kl + vl));
    memcpy(b + at + 4, key, kl);
    memcpy(b + at + 4 + kl, val, vl);
    return at + 4 + kl + vl;
}

/* OpusHead on a page of its own, then OpusTags (vendor: libopus's version;
 * title, artist, comment; zero padding for tags edited in place). */
static int write_headers(struct opuspar *p, const struct opuspar_opts *o)
{
    unsigned char head[19] = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, (unsigned char)p->channels,
                              (unsigned char)(p->preskip & 0xFF), (unsigned char)(p->preskip >> 8)};
    put_le32(head + 12, p->rate_hz); /* the input rate; gain 0, mapping 0 */
    ogg_packet op = {.packet = head, .bytes = sizeof head, .b_o_s = 1, .packetno = 0};
    ogg_page pg;
    if (ogg_stream_packetin(&p->os, &op) != 0) return COACH_ENOMEM;
    while (ogg_stream_flush(&p->os, &pg))
        if (write_page(p, &pg)) return p->err;

    const char *keys[3] = {"TITLE=", "ARTIST=", "COMMENT="};
    const char *vals[3] = {o->title, o->artist, o->comment};
    size_t cap = 64 + strlen(opus_get_version_string()) + TAGS_PADDING;
    for (int i = 0; i < 3; i++) cap += vals[i] ? 4 + strlen(keys[i]) + strlen(vals[i]) : 0;
    unsigned char *tags = calloc(1, cap);
    if (!tags) return COACH_ENOMEM;
    memcpy(tags, "OpusTags", 8);
    size_t at = put_str(tags, 8, cap, NULL, opus_get_version_string());
    size_t count_at = at;
    uint32_t count = 0;
    at += 4;
    for (int i = 0; i < 3 && at; i++)
        if (vals[i] && *vals[i]) {
            at = put_str(tags, at, cap, keys[i], vals[i]);
            count++;
        }
    int rc = at && count_at ? 0 : COACH_ENOMEM; /* unreachable: cap counted them */
    if (rc == 0) {
        put_le32(tags + count_at, count);
        op = (ogg_packet){.packet = tags, .bytes = (long)(at + TAGS_PADDING), .packetno = 1};
        if (ogg_stream_packetin(&p->os, &op) != 0) rc = COACH_ENOMEM;
    }
    while (rc == 0 && ogg_stream_flush(&p->os, &pg))
        if (write_page(p, &pg)) rc = p->err;
    free(tags);
    return rc;
}

static uint32_t random_serial(void)
{
    uint32_t s = 0;
    if (getentropy(&s, sizeof s) != 0) s = (uint32_t)coach_mono_ns() ^ (uint32_t)getpid() << 16;
    return s ? s : 1;
}

int opuspar_open(struct opuspar **out, int fd, const struct opuspar_opts *o)
{
    *out = NULL;
    if (o->channels < 1 || o->channels > 2 ||
        (o->rate_hz != 8000 && o->rate_hz != 12000 && o->rate_hz != 16000 && o->rate_hz != 24000 &&
         o->rate_hz != 48000))
        return COACH_EFORMAT;
    struct opuspar *p = calloc(1, sizeof *p);
    if (!p) return COACH_ENOMEM;
    p->fd = fd;
    p->stream = o->stream;
    p->rate_hz = o->rate_hz;
    p->channels = o->channels;
    p->total = o->len_frames;
    p->packet = o->rate_hz / 50;
    p->sr_factor = 48000 / o->rate_hz;
    p->bitrate = o->bitrate_bps;
    OpusMSEncoder *probe = new_encoder(p);
    opus_int32 lookahead = 0;
    int rc = probe && opus_multistream_encoder_ctl(probe, OPUS_GET_LOOKAHEAD(&lookahead)) == OPUS_OK
                 ? 0
                 : COACH_EFORMAT;
    if (probe) opus_multistream_encoder_destroy(probe);
    p->preskip = (unsigned)lookahead * p->sr_factor;
    /* the packets: the whole ones, then enough to carry the rest and the
     * look-ahead out (at least one) */
    p->whole = p->total / p->packet;
    uint64_t rest48 = (p->total - p->whole * p->packet) * p->sr_factor + p->preskip;
    uint64_t per48 = (uint64_t)p->packet * p->sr_factor;
    p->n_packets = p->whole + (rest48 + per48 - 1) / per48;
    if (p->n_packets == p->whole) p->n_packets++;
    p->n_segs = p->whole / SEG_PACKETS + 1;
    if (rc == 0 && ogg_stream_init(&p->os, (int)(o->serial ? o->serial : random_serial())) == 0)
        p->os_ready = true;
    else if (rc == 0)
        rc = COACH_ENOMEM;
    if (rc == 0) rc = write_headers(p, o);
    if (rc == 0) {
        /* the last segment is fed its lead-in, fewer than K whole packets
         * and what is left of the input */
        const struct segpar_opts so = {
            .channels = p->channels, .total = p->total, .n_segs = p->n_segs,
            .pcm_cap = (size_t)(SEG_PACKETS + LEAD_PACKETS + 1) * p->packet,
            .out_cap = (size_t)(SEG_PACKETS + 3) * (4 + MAX_PACKET_BYTES), .workers = o->workers};
        const struct segpar_codec codec = {.ctx = p, .in_a = seg_in_a, .in_b = seg_in_b,
                                           .encode = encode_seg, .emit = emit_seg};
        rc = segpar_open(&p->sp, &so, &codec);
    }
    if (rc) {
        int e = p->write_errno;
        opuspar_free(p);
        errno = e ? e : errno;
        return rc;
    }
    *out = p;
    return 0;
}
