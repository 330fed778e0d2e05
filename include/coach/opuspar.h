/* An Ogg Opus file writer that encodes on several cores: the samples are
 * cut into segments of whole 20 ms packets, each segment is encoded by its
 * own libopus encoder on a worker thread (segpar.h) after a lead-in of the
 * packets before it (their packets are dropped: they prime the encoder's
 * filter bank, energy prediction and analysis), and the packets are paged
 * into one Ogg stream in order. Same encoder settings as libsndfile 1.2's
 * Opus writer (application audio, complexity 10, its bitrate for a
 * compression level, 20 ms packets, pages of at most 1 s), the same
 * headers (OpusHead with the encoder's look-ahead as pre-skip, OpusTags
 * with libopus's version as vendor), and the end trimmed by the last
 * page's granule position, so decoders give exactly the samples written.
 * A regular file, written from offset 0 with pwrite, or a pipe, written
 * in order (nothing is ever written twice). */
#ifndef COACH_OPUSPAR_H
#define COACH_OPUSPAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opuspar;

struct opuspar_opts {
    uint32_t rate_hz;     /* Opus rates only: 8000, 12000, 16000, 24000, 48000 */
    uint32_t channels;    /* 1 or 2 */
    uint64_t len_frames;  /* exactly this many sample frames will be written */
    unsigned workers;     /* encoder threads; 0 = coach_cores(), at most 4 */
    int bitrate_bps;      /* the whole stream's target */
    uint32_t serial;      /* the Ogg stream's serial number; 0 = a random one */
    bool stream;          /* fd is a pipe: written in order with write */
    const char *title, *artist, *comment; /* OpusTags text, may be NULL */
};

/* Starts a writer on fd (not closed); the headers are written now. 0, or
 * negative (COACH_ENOMEM, COACH_EFORMAT for a rate or channel count Opus
 * cannot take, COACH_EIO with errno). */
int opuspar_open(struct opuspar **out, int fd, const struct opuspar_opts *o);
/* Takes n interleaved frames (float, -1..1); blocks while every segment
 * buffer is busy. 0, or negative (COACH_EIO with errno, COACH_ENOMEM,
 * COACH_EINVAL: more frames than len_frames); the first error sticks. */
int opuspar_write(struct opuspar *p, const float *frames, size_t n);
/* Encodes and writes what is left and the last page. 0 or negative as
 * above (COACH_EINVAL: fewer frames than len_frames). */
int opuspar_finish(struct opuspar *p);
/* errno of the first failed write, 0 if none. */
int opuspar_errno(const struct opuspar *p);
/* Stops the workers and frees p (also unfinished: a cancel); NULL is fine. */
void opuspar_free(struct opuspar *p);
/* Segment geometry, for tests and bench/mp3_joins: samples per packet,
 * packets per segment, lead-in packets, pre-skip (48 kHz samples). The
 * first decoded sample of segment s > 0 is s * seg_packets * packet_frames
 * - pre-skip / (48000 / rate). */
void opuspar_geometry(const struct opuspar *p, unsigned *packet_frames, unsigned *seg_packets,
                      unsigned *lead_packets, unsigned *preskip);

#endif
