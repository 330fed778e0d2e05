/* The memory sink (see include/coach/sink.h): no device and no thread.
 * wait(ms) renders ms of audio right away, block by block, calling the
 * pace hook before each block and the render callback for it, exactly as
 * an audio device's callback would be called, only faster than real time;
 * with keep, every frame is kept for the caller to measure. */
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/sink.h"

#define MEMORY_BLOCK_MS 10

struct sink {
    struct sink_config cfg;
    bool started, lost, stalled;
    float *block;           /* one block of output */
    float *kept;            /* every frame rendered (cfg.keep) */
    uint64_t frames, cap;   /* frames rendered; room in kept */
    uint64_t first_sound_ns;
};

static int mem_open(struct sink **out, const struct sink_config *cfg, char *err, size_t cap)
{
    (void)err, (void)cap;
    struct sink *s = calloc(1, sizeof *s);
    if (!s) return COACH_ENOMEM;
    s->cfg = *cfg;
    if (!s->cfg.rate_hz) s->cfg.rate_hz = 48000;
    if (!s->cfg.channels) s->cfg.channels = 1;
    if (!s->cfg.block_frames) s->cfg.block_frames = frames_from_ms(MEMORY_BLOCK_MS, s->cfg.rate_hz);
    s->block = malloc(s->cfg.block_frames * s->cfg.channels * sizeof *s->block);
    if (!s->block) {
        free(s);
        return COACH_ENOMEM;
    }
    *out = s;
    return 0;
}

static uint32_t mem_rate(struct sink *s) { return s->cfg.rate_hz; }

static int mem_start(struct sink *s, char *err, size_t cap)
{
    (void)err, (void)cap;
    s->started = true;
    return 0;
}

static bool mem_active(struct sink *s) { return s->started && !s->lost; }

/* Appends a block to kept (growing it); false if memory ran out. */
static bool keep(struct sink *s, size_t n)
{
    uint32_t ch = s->cfg.channels;
    if (s->frames + n > s->cap) {
        uint64_t cap = s->cap ? s->cap * 2 : (uint64_t)s->cfg.rate_hz * 60;
        while (cap < s->frames + n) cap *= 2;
        float *p = realloc(s->kept, cap * ch * sizeof *p);
        if (!p) return false;
        s->kept = p;
        s->cap = cap;
    }
    memcpy(s->kept + s->frames * ch, s->block, n * ch * sizeof *s->block);
    return true;
}

static void mem_wait(struct sink *s, int ms)
{
    if (!mem_active(s) || s->stalled || ms <= 0) return;
    uint64_t want = frames_from_ms((uint64_t)ms, s->cfg.rate_hz);
    for (uint64_t done = 0; done < want && !s->lost;) {
        size_t n = s->cfg.block_frames;
        if (s->cfg.pace) s->cfg.pace(s->cfg.pace_ctx, s->frames);
        s->cfg.render(s->cfg.render_ctx, s->block, n);
        if (!s->first_sound_ns)
            for (size_t i = 0; i < n * s->cfg.channels; i++)
                if (s->block[i] != 0.0f) {
                    s->first_sound_ns = coach_mono_ns();
                    break;
                }
        if (s->cfg.keep && !keep(s, n)) s->cfg.keep = false;
        s->frames += n;
        done += n;
    }
}

static void mem_stats(struct sink *s, struct sink_stats *st)
{
    *st = (struct sink_stats){.frames = s->frames, .first_sound_ns = s->first_sound_ns,
                              .latency_s = 0.0};
}

static void mem_close(struct sink *s)
{
    if (!s) return;
    free(s->block);
    free(s->kept);
    free(s);
}

const float *sink_memory_output(struct sink *s, uint64_t *frames)
{
    *frames = s->cfg.keep ? s->frames : 0;
    return s->kept;
}

void sink_memory_lose(struct sink *s) { s->lost = true; }

void sink_memory_stall(struct sink *s, bool stalled) { s->stalled = stalled; }

const struct sink_ops sink_memory_ops = {
    .name = "memory",
    .realtime = false,
    .open = mem_open,
    .rate = mem_rate,
    .start = mem_start,
    .active = mem_active,
    .wait = mem_wait,
    .stats = mem_stats,
    .close = mem_close,
};
