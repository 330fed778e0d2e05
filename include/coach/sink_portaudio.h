/* Live output through PortAudio: opens a device, and its callback calls the
 * live engine and nothing else. The noise PortAudio's ALSA and JACK
 * back-ends print while probing devices never reaches the user's terminal.
 * Not part of the core library: the tests need no sound device. */
#ifndef COACH_SINK_PORTAUDIO_H
#define COACH_SINK_PORTAUDIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "coach/live.h"

struct pa_sink;

/* Starts PortAudio (quietly), without probing ALSA plugins that are never
 * a speaker and cost memory (unless device, the --device text, names one).
 * Returns 0 or COACH_EIO with a reason in err. */
int pa_sink_init(const char *device, char *err, size_t cap);
void pa_sink_terminate(void);
/* Lists output devices ("INDEX: NAME (HOST API), N channels, default rate")
 * to out; returns how many there are. */
int pa_sink_list(FILE *out);
/* Picks the device (NULL: the default; a number: that index; else the
 * first output device whose name contains the text) and finds a rate it
 * can play: *rate_hz as asked, else 48000 or 44100. Returns 0, or
 * COACH_ENOTFOUND (no such device / no output device at all) or COACH_EIO,
 * with a reason in err. */
int pa_sink_pick(const char *device, uint32_t channels, uint32_t *rate_hz, int *index, char *err,
                 size_t cap);
/* Opens and starts the stream on device index at rate_hz; the callback runs
 * live_process(l, ...). latency_ms 0: the device's default high latency,
 * and at least 100 ms. */
int pa_sink_open(struct pa_sink **out, int index, uint32_t rate_hz, uint32_t channels,
                 double latency_ms, struct live *l, char *err, size_t cap);
/* Is the stream still running (false once the device is gone)? */
bool pa_sink_active(struct pa_sink *s);
/* Underruns PortAudio reported to the callback. */
uint64_t pa_sink_underruns(struct pa_sink *s);
/* CLOCK_MONOTONIC nanoseconds of the first callback that produced sound (0 = none yet). */
uint64_t pa_sink_first_sound_ns(struct pa_sink *s);
/* The output latency PortAudio reports, in seconds. */
double pa_sink_latency(struct pa_sink *s);
/* Stops (abort: drop what is queued, the engine already faded out) and closes. */
void pa_sink_close(struct pa_sink *s);

#endif
