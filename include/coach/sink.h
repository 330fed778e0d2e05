/* Sinks: where live audio goes. A sink is a const struct sink_ops table
 * (mpv's audio-out layer is the model) and an opaque handle: the PortAudio
 * sink of `coach play` (sink_portaudio.h, outside the core library), and
 * the memory sink here, which calls the same render callback block by block
 * as fast as the CPU allows and keeps what it rendered, so live sessions
 * are tested offline sample by sample. A sink decides nothing about timing
 * and never ends the process: it returns errors, and the caller chooses
 * what to tell people and which exit status to use.
 *
 * Life of a sink: open (finds the device and a rate it can play, nothing
 * sounds yet), start (the callback runs from now on, on the sink's thread
 * or, for the memory sink, inside wait), then active/wait/stats while it
 * plays, then close. */
#ifndef COACH_SINK_H
#define COACH_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink;

/* The callback: n frames (n * channels floats) into out. Real-time rules:
 * no allocation, lock, I/O or logging. */
typedef void (*sink_render_fn)(void *ctx, float *out, size_t n);

struct sink_config {
    const char *device;        /* NULL: the default; a number: that index; else part of a name */
    uint32_t rate_hz;          /* wanted; open may settle on another (sink_ops.rate) */
    uint32_t channels;         /* 1 or 2 */
    double latency_ms;         /* 0: the sink's default */
    sink_render_fn render;     /* called once started */
    void *render_ctx;
    /* memory sink only */
    size_t block_frames;       /* frames per callback (0: 10 ms) */
    bool keep;                 /* keep every frame rendered (sink_memory_output) */
    /* Called before each block with the frames rendered so far: a caller
     * faster than real time makes sure the next block has what it needs
     * (speech prepared, the plan swapped in). NULL: none. */
    void (*pace)(void *ctx, uint64_t frames_done);
    void *pace_ctx;
};

struct sink_stats {
    uint64_t frames;         /* rendered so far */
    uint64_t underruns;      /* the device ran dry (reported by its API) */
    uint64_t first_sound_ns; /* CLOCK_MONOTONIC of the first block that was not silent; 0: none */
    double latency_s;        /* output latency the device reports */
};

struct sink_ops {
    const char *name;
    bool realtime; /* paced by a clock (a device); false: by wait alone */
    /* Returns 0, or COACH_ENOTFOUND (no such device, no device at all),
     * COACH_EIO (it cannot be opened or cannot play a usable rate) or
     * COACH_ETIMEDOUT (the sound system does not answer; a thread may be
     * left waiting in it), with a reason in err. */
    int (*open)(struct sink **out, const struct sink_config *cfg, char *err, size_t cap);
    uint32_t (*rate)(struct sink *s); /* the rate it plays at */
    int (*start)(struct sink *s, char *err, size_t cap);
    bool (*active)(struct sink *s);   /* false once the device is gone */
    void (*wait)(struct sink *s, int ms); /* lets ms of output time pass */
    void (*stats)(struct sink *s, struct sink_stats *st);
    void (*close)(struct sink *s);    /* stops (dropping what is queued) and frees */
};

extern const struct sink_ops sink_memory_ops;

/* Memory sink only: everything rendered so far (with keep), interleaved. */
const float *sink_memory_output(struct sink *s, uint64_t *frames);
/* Memory sink only: from now on the "device" is gone (active is false and
 * the callback is no longer called), as when a speaker is unplugged. */
void sink_memory_lose(struct sink *s);
/* Memory sink only: while stalled, wait renders nothing (the callback is
 * not called) but the device stays active, as with a sound server that is
 * stopped or stuck; unstalled, it plays on. */
void sink_memory_stall(struct sink *s, bool stalled);

#endif
