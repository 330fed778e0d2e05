/* Renders a whole routine, with real speech, through the live engine in
 * 10 ms blocks at 48 kHz stereo, as the audio callback would: run under
 * callgrind with --toggle-collect=render by bench/live_bench.sh renderer to
 * count the renderer's instructions per second of audio. */
#include <stdio.h>
#include <stdlib.h>

#include "coach/clips.h"
#include "coach/plan.h"
#include "coach/render.h"
#include "coach/routine.h"
#include "coach/speech.h"
#include "coach/voice.h"

static int intern(void *ctx, const char *text, uint32_t *id, uint64_t *len)
{
    return clipstore_intern(ctx, text, id, len);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "routines/lower-back-relief.ini";
    struct coach_diags d;
    diags_init(&d);
    struct routine r;
    struct voice v;
    if (routine_load(path, &r, &d) || voice_load("voices/en-us.ini", &v, &d)) {
        diags_print(&d, stderr);
        return 1;
    }
    struct speech *sp;
    struct speech_settings ss = {v.espeak_voice, v.rate_wpm, v.pitch, v.volume};
    if (speech_open(&sp, &ss)) return 1;
    struct clipstore cs;
    clipstore_init(&cs, sp, 48000);
    struct clip_source src = {.intern = intern, .ctx = &cs};
    struct plan_opts o = {.rate_hz = 48000, .level = r.level};
    struct timeline tl;
    char err[256];
    if (plan_build(&r, &v, &src, &o, &tl, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    clip_slot *slots = calloc(tl.n_clips, sizeof *slots);
    for (uint32_t i = 0; i < tl.n_clips; i++) {
        clipstore_prepare(&cs, i);
        slots[i] = cs.clips[i].pcm;
    }
    struct renderer rd;
    render_init(&rd, &tl, slots, 2, 4096);
    enum { BLOCK = 480 };
    float *out = malloc(BLOCK * 2 * sizeof *out);
    double sum = 0;
    for (uint64_t a = 0; a < tl.len_frames; a += BLOCK) {
        render(&rd, a, out, BLOCK);
        sum += out[0];
    }
    printf("audio seconds %.3f (checksum %g)\n", (double)tl.len_frames / 48000.0, sum);
    return 0;
}
