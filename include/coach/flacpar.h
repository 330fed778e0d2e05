/* A FLAC file writer that encodes on several cores (issue 14). FLAC frames
 * are independent, and at libsndfile's settings (16-bit, compression level
 * 4) libFLAC codes each frame from that frame's samples only, but for one
 * thing: in stereo it tries every channel assignment only every ~0.4 s and
 * keeps the last one's kind in between. So the samples are cut into
 * chunks of whole such periods (of whole blocks), each chunk goes to the
 * next idle worker (each its own libFLAC encoder, started fresh per
 * chunk), and the chunks' frames are written in chunk order, renumbered
 * (the frame number in each header, its CRC-8 and the frame's CRC-16). The file is byte for byte what libsndfile 1.2 writes
 * through one encoder: the same header (STREAMINFO, then a VORBIS_COMMENT
 * with title, artist and comment), the same frames, and STREAMINFO filled
 * in at the end with the frame sizes, the length and the MD5 of the
 * samples. Into a pipe, STREAMINFO is written once, up front, with the
 * length the caller gives and without MD5 and frame sizes (0: unknown).
 * Chunks in flight are bounded (two per worker), so memory does not grow
 * with the length. */
#ifndef COACH_FLACPAR_H
#define COACH_FLACPAR_H

#include <stddef.h>
#include <stdint.h>

#define FLACPAR_MAX_WORKERS 4

struct flacpar;

struct flacpar_opts {
    uint32_t rate_hz;     /* 1..655350 */
    uint32_t channels;    /* 1 or 2 */
    /* encoder threads: 0 = one per core this process may use (at most
     * FLACPAR_MAX_WORKERS); 1 = one, encoding in order */
    unsigned workers;
    const char *title;   /* Vorbis comments; NULL or "" = none */
    const char *artist;
    const char *comment;
    /* fd is a pipe (or any stream): written strictly in order, nothing
     * filled in at the end; stream_frames is the length for STREAMINFO */
    int stream;
    uint64_t stream_frames;
};

/* Writes the header at the start of fd (a regular file open for writing,
 * or a stream) and starts the workers. 0, or negative with err set (COACH_EIO with
 * errno: the header could not be written; COACH_ENOMEM; COACH_EINVAL). */
int flacpar_open(struct flacpar **out, int fd, const struct flacpar_opts *o, char *err,
                 size_t err_cap);

/* Adds n interleaved frames (float, full scale +-1, stored as 16-bit the
 * way libsndfile does: rounded x * 32767, clipped). One producer thread.
 * Waits while every chunk slot is busy. 0, or negative once the file has
 * failed (flacpar_error says why). */
int flacpar_write(struct flacpar *p, const float *frames, size_t n);

/* Encodes what is left, waits for every frame to be written and fills in
 * STREAMINFO (not in a stream). The caller syncs and closes fd. 0, or negative as
 * flacpar_write. */
int flacpar_finish(struct flacpar *p);

/* Why the file failed: COACH_EIO with *errno_out the write's errno
 * (ENOSPC, EFBIG, ...), COACH_ENOMEM, or 0 if it has not. */
int flacpar_error(const struct flacpar *p, int *errno_out);

/* The number of workers p encodes with. */
unsigned flacpar_workers(const struct flacpar *p);

/* Stops the workers (a chunk being encoded is finished first, then
 * dropped) and frees p; NULL is fine. What was written stays in fd: the
 * caller removes the file unless flacpar_finish returned 0. */
void flacpar_free(struct flacpar *p);

#endif
