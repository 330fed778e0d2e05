/* A whole session offline, with real espeak-ng speech: every shipped
 * routine is planned with synthesized clip lengths (speech never overlaps),
 * rendered through the same renderer as export and live playback, and the
 * audio is held to the plan, each routine in its own voice: exact silence where no event sounds, speech
 * energy inside every speech event, nothing above full scale. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coach/render.h"
#include "coach/session.h"
#include "testutil.h"

#define BLOCK 4096

static void session(const char *path)
{
    /* each routine in its own voice: a German routine is spoken in German */
    struct session_opts so = {.routine = path, .speech_rate = -1, .pitch = -1, .speech_volume = -1,
                              .rate_hz = 48000, .clips = CLIPS_AUDIO};
    struct session s;
    struct coach_diags d;
    diags_init(&d);
    char err[1024] = "";
    enum session_fail f = session_open(&s, &so, &d, err, sizeof err);
    diags_print(&d, stderr);
    diags_free(&d);
    CHECKF(f == SESSION_OK, "%s: %d %s", path, f, err);
    if (f) {
        session_free(&s);
        return;
    }
    const struct timeline tl = s.tl;
    test_plan_invariants(path, &tl, &s.clips);

    clip_slot *pcm = calloc(tl.n_clips, sizeof *pcm);
    for (uint32_t i = 0; i < tl.n_clips; i++) {
        CHECK(clipstore_prepare(&s.clips, i) == 0);
        pcm[i] = s.clips.clips[i].pcm;
    }
    /* which frames have an event sounding (speech or tone) */
    uint8_t *busy = calloc(tl.len_frames, 1);
    for (size_t i = 0; i < tl.n_ev; i++) {
        const struct event *e = &tl.ev[i];
        uint64_t end = e->frame + e->len_frames;
        memset(busy + e->frame, 1, (size_t)((end < tl.len_frames ? end : tl.len_frames) - e->frame));
    }
    float *out = malloc(tl.len_frames * sizeof *out);
    struct renderer rd;
    CHECK(render_init(&rd, &tl, pcm, 1, BLOCK) == 0);
    for (uint64_t a = 0; a < tl.len_frames; a += BLOCK) {
        size_t n = tl.len_frames - a < BLOCK ? (size_t)(tl.len_frames - a) : BLOCK;
        render(&rd, a, out + a, n);
    }
    CHECK(atomic_load(&rd.missing_clips) == 0);
    uint64_t noise = 0;
    float peak = 0;
    for (uint64_t f = 0; f < tl.len_frames; f++) {
        if (!busy[f] && out[f] != 0.0f) noise++;
        peak = fmaxf(peak, fabsf(out[f]));
    }
    CHECKF(noise == 0, "%s: %llu frames sound where the plan has nothing", path,
           (unsigned long long)noise);
    CHECKF(peak <= 1.0f && peak > 0.5f, "%s: peak %f", path, peak);
    /* every speech event carries speech: RMS well above silence */
    int quiet = 0;
    for (size_t i = 0; i < tl.n_ev; i++) {
        const struct event *e = &tl.ev[i];
        if (e->kind != EV_SPEECH) continue;
        double sum = 0;
        for (uint64_t f = e->frame; f < e->frame + e->len_frames; f++) sum += (double)out[f] * out[f];
        if (sqrt(sum / (double)e->len_frames) < 0.03) quiet++;
    }
    CHECKF(quiet == 0, "%s: %d speech events without speech", path, quiet);
    render_free(&rd);
    free(out);
    free(busy);
    free(pcm);
    session_free(&s);
}

int main(void)
{
    setenv("COACH_DATA_DIR", test_src_path(""), 1); /* the voices beside the routines */
    char dir[4096]; /* test_src_path's buffers rotate: keep a copy */
    snprintf(dir, sizeof dir, "%s", test_src_path("routines"));
    DIR *dd = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (dd && (e = readdir(dd))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".ini")) continue;
        char path[4096 + 256 + 2];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        session(path);
        n++;
    }
    if (dd) closedir(dd);
    CHECK(n >= 8);
    return test_done();
}
