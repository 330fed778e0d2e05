/* Micro benchmark for the renderer (not a test): frames per second and the
 * real-time factor at 48 kHz stereo for a representative 30-minute mix
 * (metronome, speech ~25% of the time, countdown beeps, breathing sections,
 * phase tones, bell), for silence, and for back-to-back breath glides.
 * Build: gcc -std=c11 -O2 -Iinclude bench/render_bench.c src/render.c
 *        src/tone.c src/timeline.c src/common.c -lm -o /tmp/render_bench */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coach/render.h"
#include "coach/tone.h"

#define RATE 48000u
#define BLOCK 4096

static struct event *add(struct timeline *tl, enum event_kind k, uint64_t frame, uint64_t len)
{
    struct event *e = &tl->ev[tl->n_ev++];
    memset(e, 0, sizeof *e);
    e->frame = frame;
    e->kind = (uint8_t)k;
    e->len_frames = len ? len : tone_default_len(k, RATE);
    if (e->len_frames > tl->max_event_frames) tl->max_event_frames = e->len_frames;
    if (frame + e->len_frames > tl->len_frames) tl->len_frames = frame + e->len_frames;
    return e;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void run(const char *name, struct timeline *tl, float *const *pcm)
{
    struct renderer r;
    if (render_init(&r, tl, pcm, 2, BLOCK) != 0) return;
    float *out = malloc(2 * BLOCK * sizeof(float));
    volatile float sink = 0; /* keeps the work observable */
    double t0 = now_s();
    for (uint64_t a = 0; a < tl->len_frames; a += BLOCK) {
        render(&r, a, out, BLOCK);
        sink = out[BLOCK - 1];
    }
    double dt = now_s() - t0;
    double fps = (double)tl->len_frames / dt;
    printf("%-10s %8.1f s audio in %6.3f s: %7.1f Mframes/s, %7.0fx real time\n", name,
           (double)tl->len_frames / RATE, dt, fps / 1e6, fps / RATE);
    (void)sink;
    free(out);
    render_free(&r);
}

int main(void)
{
    uint64_t seconds = 1800;
    struct timeline tl = {0};
    tl.rate_hz = RATE;
    tl.ev = calloc(8 * seconds, sizeof(struct event));
    /* Four synthetic clips, 0.5 - 2 s. */
    float *pcm[4];
    uint64_t clip_len[4];
    for (int c = 0; c < 4; c++) {
        clip_len[c] = RATE / 2 + (uint64_t)c * RATE / 2;
        pcm[c] = malloc(clip_len[c] * sizeof(float));
        for (uint64_t i = 0; i < clip_len[c]; i++)
            pcm[c][i] = 0.6f * (float)sin(6.283185307179586 * 180.0 * (double)i / RATE);
    }
    tl.clip_len = clip_len;
    tl.n_clips = 4;

    /* Minutes alternate: a metronome minute and a breathing minute. */
    for (uint64_t s = 0; s < seconds; s++) {
        uint64_t base = s * RATE;
        int breathing = (s / 60) % 2 == 1;
        if (s % 4 == 0) {
            struct event *e = add(&tl, EV_SPEECH, base, clip_len[s % 16 / 4]);
            e->clip = (uint32_t)(s % 16 / 4);
        }
        if (breathing) {
            if (s % 10 == 0) add(&tl, EV_BREATH_IN, base + RATE / 2, 4 * RATE);
            if (s % 10 == 4) add(&tl, EV_BREATH_HOLD, base + RATE / 2, 2 * RATE);
            if (s % 10 == 6) add(&tl, EV_BREATH_OUT, base + RATE / 2, 4 * RATE);
        } else {
            add(&tl, s % 4 ? EV_CLICK : EV_CLICK_ACCENT, base, 0);
            if (s % 60 >= 57) add(&tl, s % 60 == 59 ? EV_BEEP_FINAL : EV_BEEP, base + 100, 0);
            if (s % 20 == 10) add(&tl, EV_PHASE, base + 200, 0)->variant = (uint8_t)(s % 3);
        }
    }
    add(&tl, EV_BELL, seconds * RATE, 0);
    run("mix", &tl, pcm);

    struct timeline quiet = tl;
    quiet.n_ev = 0;
    run("silence", &quiet, pcm);

    struct timeline breath = {0};
    breath.rate_hz = RATE;
    breath.ev = calloc(seconds / 4 + 1, sizeof(struct event));
    for (uint64_t s = 0; s + 4 <= seconds; s += 4)
        add(&breath, (s / 4) % 2 ? EV_BREATH_OUT : EV_BREATH_IN, s * RATE, 4 * RATE);
    run("breath", &breath, pcm);

    free(breath.ev);
    free(tl.ev);
    for (int c = 0; c < 4; c++)
        free(pcm[c]);
    return 0;
}
