/* Live output through PortAudio: a sink (sink.h) whose device callback
 * calls the render callback and nothing else. The noise PortAudio's ALSA
 * and JACK back-ends print while probing devices never reaches the user's
 * terminal. Not part of the core library: the tests need no sound device.
 * It includes no command-line header and never ends the process: a hung
 * sound system is COACH_ETIMEDOUT, and the caller decides. */
#ifndef COACH_SINK_PORTAUDIO_H
#define COACH_SINK_PORTAUDIO_H

#include <stdbool.h>
#include <stdio.h>

#include "coach/sink.h"

/* open: starts PortAudio (quietly, without probing ALSA plugins that are
 * never a speaker and cost memory, unless cfg->device names one; giving up
 * after PA_SINK_INIT_TIMEOUT_S when the sound system hangs; refusing with
 * "too many open files" when fewer than PA_SINK_MIN_FDS descriptors are
 * free, and naming a lack of descriptors or address space, not the device,
 * when that is what made it fail), picks the
 * device (NULL: the default; a number: that index; else the first output
 * device whose name contains the text) and a rate it can play (the one
 * asked, else 48000 or 44100), and opens a stream with at least 100 ms of
 * latency by default. start: real-time scheduling where allowed. close:
 * bounded by PA_SINK_CLOSE_TIMEOUT_MS; if the sound system holds it longer,
 * it is left to finish on its own thread (no callback reaches the render
 * callback after close returns) and PortAudio is not started again until it
 * has (open then gives COACH_ETIMEDOUT). */
extern const struct sink_ops sink_portaudio_ops;

#define PA_SINK_INIT_TIMEOUT_S 10 /* a healthy start takes well under 1 s */
/* close gives up waiting after this (a stopped or stuck sound server holds
 * PortAudio's close for as long as it is stopped); a healthy close takes
 * well under 100 ms */
#define PA_SINK_CLOSE_TIMEOUT_MS 1500
/* open and `coach devices` refuse to start the sound system with fewer
 * free file descriptors (a PulseAudio client takes about 10) */
#define PA_SINK_MIN_FDS 16
/* after a failure, the sound system is said to be out of memory if this
 * much address space cannot be reserved (a PulseAudio client maps ~480 MB) */
#define PA_SINK_AS_PROBE_MB 512UL

/* `coach devices`: lists the output devices ("INDEX: NAME (HOST API), N
 * channels, RATE Hz[, default]") to out, then under "Microphones (--mic):"
 * the input devices the same way. Returns how many output devices, or a
 * negative code with a reason in err (COACH_ETIMEDOUT as for open;
 * COACH_EIO when short of descriptors or, finding none, of address space). */
int sink_portaudio_list(FILE *out, char *err, size_t cap);

/* For the microphone (mic_portaudio.h): PortAudio started as for open
 * (bounded in time, quiet, the descriptor check; device: kept from the
 * plugins skipped), 0 or as open; and ended. Each start needs its end. */
int sink_portaudio_system_start(const char *device, char *err, size_t cap);
void sink_portaudio_system_end(void);
/* fd 2 muted while PortAudio works (*saved_fd -1: mute, saving fd 2 in it;
 * else: restore it and set -1). */
void sink_portaudio_mute(int *saved_fd);
/* The device a --device (input false) or --mic (input true) names: NULL
 * the default of that direction, a number that index, else the first
 * device of that direction whose name contains the text. Its index, or
 * -1 (paNoDevice) when there is none, or it cannot play / record. One
 * rule for both, so the names `coach devices` lists work for both. */
int sink_portaudio_find(const char *device, bool input);

#endif
