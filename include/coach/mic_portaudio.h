/* The microphone of spoken commands (`--listen`, `--mic`): a PortAudio
 * input stream read with the blocking API on the caller's (ordinary, not
 * real-time) thread, delivered as 16 kHz mono int16 (the device's own rate
 * resampled with libsoxr when it cannot give 16 kHz), each read stamped
 * with when its last sample was captured. Not part of the core library,
 * like the PortAudio sink; never touches the output's callback. */
#ifndef COACH_MIC_PORTAUDIO_H
#define COACH_MIC_PORTAUDIO_H

#include <stddef.h>
#include <stdint.h>

#define MIC_RATE_HZ 16000
#define MIC_READ_MS 100 /* one read waits for this much audio */

struct mic;

/* Opens the input device (NULL: the default input; a number: that index;
 * else the first input device whose name contains the text; the same
 * rules as the output's --device) and starts it. Returns 0, or
 * COACH_ENOTFOUND (no microphone, no such device), COACH_EIO (it cannot
 * be opened), COACH_ETIMEDOUT (the sound system does not answer), with a
 * reason in err. */
int mic_open(struct mic **out, const char *device, char *err, size_t cap);
/* The device's name. */
const char *mic_name(const struct mic *m);
/* Waits for the next MIC_READ_MS of audio: up to cap samples at 16 kHz
 * into pcm (cap >= MIC_RATE_HZ * MIC_READ_MS / 1000 + 64), their number in
 * *n, and in *end_ns when (CLOCK_MONOTONIC) the last of them was captured:
 * the read's return time less the input still buffered and the device's
 * input latency. Returns 0, or COACH_EIO with a reason in err when the
 * device is gone. */
int mic_read(struct mic *m, int16_t *pcm, size_t cap, size_t *n, uint64_t *end_ns, char *err,
             size_t err_cap);
/* Stops and closes (a read under way must have returned). */
void mic_close(struct mic *m);

#endif
