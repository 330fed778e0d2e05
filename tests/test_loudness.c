/* Loudness: every phrase is brought to the same BS.1770 loudness (short
 * ones too), and the renderer's look-ahead limiter keeps every sample, and
 * the true peak a libebur128 meter sees, under -1 dBTP on a worst case
 * (loud speech over tones and music, programme gain and volume pushed up),
 * the same whatever the block size or where rendering starts. The export
 * levels of the shipped routines are checked by tests/loudness.sh. */
#include "testutil.h"

#include <ebur128.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coach/clips.h"
#include "coach/loudness.h"
#include "coach/music.h"
#include "coach/render.h"
#include "coach/speech.h"
#include "coach/timeline.h"
#include "coach/tone.h"

#define RATE 48000u

/* Phrases of every length the routines have, "Go." to a setup sentence:
 * their loudness spread over 5.3 LU when clips were normalized by peak. */
static void test_phrase_spread(void)
{
    static const char *texts[] = {
        "Go.", "Rep 3.", "One.", "Ten.", "Rest.", "Breathe in.", "Hold.", "Other side.",
        "Next: Bridge.", "Exercise 4 of 9.",
        "Lie on your back, knees bent, feet flat on the floor, hip-width apart.",
        "Slowly lower your hips back down, one vertebra at a time.",
        "Well done. That is the end of today's session."};
    struct speech *sp = NULL;
    struct speech_settings set = {.espeak_voice = "en-us", .rate_wpm = 160, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &set) != 0) {
        CHECK(!"speech_open");
        return;
    }
    struct clipstore cs;
    CHECK(clipstore_init(&cs, sp, RATE) == 0);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        uint32_t id;
        uint64_t len;
        double l = -INFINITY;
        CHECK(clipstore_intern(&cs, texts[i], &id, &len) == 0);
        CHECK(clipstore_prepare(&cs, id) == 0);
        CHECK(loudness_of_phrase_f32(cs.clips[id].pcm, (size_t)len, RATE, &l) == 0);
        CHECK(isfinite(l));
        if (l < lo) lo = l;
        if (l > hi) hi = l;
    }
    if (hi - lo > 1.0 || fabs(lo - LOUDNESS_SPEECH_LUFS) > 1.0 || fabs(hi - LOUDNESS_SPEECH_LUFS) > 1.0)
        fprintf(stderr, "phrase loudness %.2f .. %.2f LUFS (want %.1f, spread <= 1 LU)\n", lo, hi,
                LOUDNESS_SPEECH_LUFS);
    CHECK(hi - lo <= 1.0);
    CHECK(fabs(lo - LOUDNESS_SPEECH_LUFS) <= 1.0 && fabs(hi - LOUDNESS_SPEECH_LUFS) <= 1.0);
    /* the voice's volume still counts: 50 % is 6 dB down */
    struct clipstore half;
    CHECK(clipstore_init(&half, sp, RATE) == 0);
    half.volume = 0.5f;
    uint32_t id;
    uint64_t len;
    double full = 0, soft = 0;
    CHECK(clipstore_intern(&half, "Breathe in.", &id, &len) == 0 && clipstore_prepare(&half, id) == 0);
    CHECK(loudness_of_phrase_f32(half.clips[id].pcm, (size_t)len, RATE, &soft) == 0);
    uint32_t id2;
    CHECK(clipstore_intern(&cs, "Breathe in.", &id2, NULL) == 0);
    CHECK(loudness_of_phrase_f32(cs.clips[id2].pcm, (size_t)len, RATE, &full) == 0);
    CHECK(fabs(full - soft - 6.02) < 0.1);
    clipstore_free(&half);
    clipstore_free(&cs);
    speech_close(sp);
}

static void test_modes(void)
{
    enum loudness_mode m = LOUDNESS_OFF;
    CHECK(loudness_mode_from_name("podcast", &m) == 0 && m == LOUDNESS_PODCAST);
    CHECK(loudness_mode_from_name("broadcast", &m) == 0 && m == LOUDNESS_BROADCAST);
    CHECK(loudness_mode_from_name("off", &m) == 0 && m == LOUDNESS_OFF);
    CHECK(loudness_mode_from_name("loud", &m) == -1 && loudness_mode_from_name(NULL, &m) == -1);
    CHECK(loudness_target_lufs(LOUDNESS_PODCAST) == -19.0);
    CHECK(loudness_target_lufs(LOUDNESS_BROADCAST) == -26.0);
    CHECK(loudness_program_gain(LOUDNESS_OFF) == 1.0f);
    CHECK(fabsf(20.0f * log10f(loudness_program_gain(LOUDNESS_PODCAST)) - 2.8f) < 0.01f);
}

/* Loud speech (a full-scale 3 kHz square-ish wave: its true peaks fall
 * between samples), every tone under and around it, a full-scale music
 * bed, programme gain x4 and volume x2. */
struct worst {
    struct timeline tl;
    clip_slot pcm[2];
    struct music mu;
};

static void worst_init(struct worst *w)
{
    memset(w, 0, sizeof *w);
    w->tl.rate_hz = RATE;
    w->tl.cap_ev = 64;
    w->tl.ev = calloc(w->tl.cap_ev, sizeof *w->tl.ev);
    w->tl.n_clips = 1;
    uint64_t clip_len = RATE; /* 1 s */
    float *p = malloc(clip_len * sizeof *p);
    for (uint64_t i = 0; i < clip_len; i++)
        p[i] = 0.999f * (float)tanh(8.0 * sin(6.283185307179586 * 3001.0 * (double)i / RATE));
    w->pcm[0] = p;
    static const enum event_kind kinds[] = {EV_CLICK, EV_CLICK_ACCENT, EV_BEEP, EV_BEEP_FINAL,
                                            EV_PHASE, EV_BELL};
    for (size_t k = 0; k < 24; k++) {
        struct event *e = &w->tl.ev[w->tl.n_ev++];
        memset(e, 0, sizeof *e);
        e->frame = (uint64_t)k * RATE / 4;
        e->step = -1;
        if (k % 3 == 0) {
            e->kind = EV_SPEECH;
            e->clip = 0;
            e->len_frames = clip_len;
        } else {
            e->kind = (uint8_t)kinds[k % 6];
            e->len_frames = tone_default_len(e->kind, RATE);
        }
        if (e->len_frames > w->tl.max_event_frames) w->tl.max_event_frames = e->len_frames;
        if (e->frame + e->len_frames > w->tl.len_frames) w->tl.len_frames = e->frame + e->len_frames;
    }
    w->mu.len_frames = RATE / 2;
    w->mu.rate_hz = RATE;
    w->mu.scale = 1.0f / 32767.0f;
    w->mu.pcm = malloc(w->mu.len_frames * sizeof *w->mu.pcm);
    for (uint64_t i = 0; i < w->mu.len_frames; i++)
        w->mu.pcm[i] = (int16_t)(32767.0 * sin(6.283185307179586 * 110.0 * (double)i / RATE));
}

static void worst_free(struct worst *w)
{
    free(w->pcm[0]);
    free(w->mu.pcm);
    free(w->tl.ev);
}

static float *render_worst(struct worst *w, uint32_t ch, size_t block, uint64_t a, size_t n)
{
    struct renderer r;
    float *out = malloc(n * ch * sizeof *out);
    CHECK(out && render_init(&r, &w->tl, w->pcm, ch, block) == 0);
    CHECK(render_set_music(&r, &w->mu) == 0);
    render_set_gain(&r, 4.0f);
    atomic_store(&r.volume, 2.0f);
    for (size_t done = 0; done < n;) { /* uneven pieces */
        size_t k = n - done < block / 3 + 1 ? n - done : block / 3 + 1;
        render(&r, a + done, out + done * ch, k);
        done += k;
    }
    CHECK(atomic_load(&r.missing_clips) == 0);
    render_free(&r);
    return out;
}

static void test_limiter_worst_case(void)
{
    struct worst w;
    worst_init(&w);
    size_t n = (size_t)w.tl.len_frames;
    float *a = render_worst(&w, 1, 4096, 0, n);
    float peak = 0.0f;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(a[i]) > peak) {
            peak = fabsf(a[i]);
            at = i;
        }
    if (peak > RENDER_LIMIT_CEILING) fprintf(stderr, "peak %.6f at frame %zu\n", peak, at);
    CHECK(peak <= RENDER_LIMIT_CEILING);
    CHECK(peak > 0.8f); /* limited, not silenced */
    /* what a 4x-oversampling true-peak meter sees */
    ebur128_state *st = ebur128_init(1, RATE, EBUR128_MODE_TRUE_PEAK);
    double tp = 1.0;
    CHECK(st && ebur128_add_frames_float(st, a, n) == 0 && ebur128_true_peak(st, 0, &tp) == 0);
    ebur128_destroy(&st);
    if (!(20 * log10(tp) <= LOUDNESS_CEILING_DBTP))
        fprintf(stderr, "true peak %.2f dBTP\n", 20 * log10(tp));
    CHECK(20 * log10(tp) <= LOUDNESS_CEILING_DBTP);
    /* the same samples in other block sizes, in stereo, and from the middle */
    float *b = render_worst(&w, 1, 257, 0, n);
    CHECK(memcmp(a, b, n * sizeof *a) == 0);
    float *s = render_worst(&w, 2, 1024, 0, n);
    int same = 1;
    for (size_t i = 0; i < n; i++) same &= s[2 * i] == a[i] && s[2 * i + 1] == a[i];
    CHECK(same);
    size_t mid = n / 2 + 123;
    float *c = render_worst(&w, 1, 999, mid, n - mid);
    CHECK(memcmp(a + mid, c, (n - mid) * sizeof *a) == 0);
    free(a);
    free(b);
    free(s);
    free(c);
    worst_free(&w);
}

int main(void)
{
    test_modes();
    test_limiter_worst_case();
    test_phrase_spread();
    return test_done();
}
