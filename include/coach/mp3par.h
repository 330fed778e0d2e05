/* An MP3 file writer that encodes on several cores: the samples are cut
 * into segments on MP3 frame boundaries, each segment is encoded by its own
 * LAME encoder on a worker thread (bit reservoir off, so every frame stands
 * alone; a lead-in of the samples before the segment primes the filter bank
 * and the psychoacoustic model, and its frames are dropped), and the frames
 * are written in order. The file starts with an ID3v2 tag (title, artist,
 * comment) and a Xing/LAME info frame written at the end with the frame
 * count, byte count, seek table, encoder delay and padding, so decoders
 * trim to exactly the samples written. Same LAME settings as libsndfile
 * 1.2's MP3 writer at export.c's level (VBR, quality 5). A regular file
 * only: the info frame is written last, at its place near the start. */
#ifndef COACH_MP3PAR_H
#define COACH_MP3PAR_H

#include <stddef.h>
#include <stdint.h>

struct mp3par;

struct mp3par_opts {
    uint32_t rate_hz;     /* MPEG rates only: 8000 ... 48000 */
    uint32_t channels;    /* 1 or 2 */
    uint64_t len_frames;  /* exactly this many sample frames will be written */
    unsigned workers;     /* encoder threads; 0 = coach_cores(), at most 4 */
    double vbr_quality;   /* LAME's VBR quality, 0 (best) ... 9.999 */
    const char *title, *artist, *comment; /* ID3v2 text, may be NULL */
};

/* Starts a writer on fd (a regular file, written from offset 0 with
 * pwrite; not closed). 0, or negative (COACH_ENOMEM, COACH_EFORMAT for a
 * rate or channel count MP3 cannot take, COACH_EIO with errno). */
int mp3par_open(struct mp3par **out, int fd, const struct mp3par_opts *o);
/* Takes n interleaved frames (float, -1..1). Blocks while every segment
 * buffer is busy. 0, or negative: COACH_EIO with errno (a write failed),
 * COACH_ENOMEM, COACH_EINVAL (more frames than len_frames). The first
 * error sticks: every later call returns it. */
int mp3par_write(struct mp3par *m, const float *frames, size_t n);
/* Encodes and writes what is left, the ID3v1 tag and the info frame.
 * 0, or negative as above (COACH_EINVAL: fewer frames than len_frames). */
int mp3par_finish(struct mp3par *m);
/* errno of the first failed write, 0 if none. */
int mp3par_errno(const struct mp3par *m);
/* Stops the workers and frees m (also unfinished: a cancel); NULL is fine. */
void mp3par_free(struct mp3par *m);

/* Segment geometry, for tests: frames per MP3 frame (1152 or 576), MP3
 * frames per segment, lead-in MP3 frames. The first sample of segment s>0
 * is sample s * seg_frames * spf - delay (delay = 576, LAME's). */
void mp3par_geometry(const struct mp3par *m, unsigned *spf, unsigned *seg_frames,
                     unsigned *lead_frames);

#endif
