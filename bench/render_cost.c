/* Renders a whole routine, with real speech, with the renderer in 10 ms
 * blocks at 48 kHz stereo, as the audio callback would: run under
 * callgrind with --toggle-collect=render by bench/live_bench.sh renderer to
 * count the renderer's instructions per second of audio. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdio.h>
#include <stdlib.h>

#include "coach/render.h"
#include "coach/session.h"

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "routines/lower-back-relief.ini";
    setenv("COACH_DATA_DIR", ".", 0); /* run from the source tree */
    struct session_opts so = {.routine = path, .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .rate_hz = 48000, .clips = CLIPS_AUDIO};
    struct session s;
    struct coach_diags d;
    diags_init(&d);
    char err[1024];
    if (session_open(&s, &so, &d, err, sizeof err)) {
        diags_print(&d, stderr);
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct timeline *tl = &s.tl;
    clip_slot *slots = calloc(tl->n_clips, sizeof *slots);
    for (uint32_t i = 0; i < tl->n_clips; i++) {
        clipstore_prepare(&s.clips, i);
        slots[i] = s.clips.clips[i].pcm;
    }
    struct renderer rd;
    render_init(&rd, tl, slots, 2, 4096);
    enum { BLOCK = 480 };
    float *out = malloc(BLOCK * 2 * sizeof *out);
    double sum = 0;
    for (uint64_t a = 0; a < tl->len_frames; a += BLOCK) {
        render(&rd, a, out, BLOCK);
        sum += out[0];
    }
    printf("audio seconds %.3f (checksum %g)\n", (double)tl->len_frames / 48000.0, sum);
    return 0;
}
