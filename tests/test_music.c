/* Tests for background music: files made here with libsndfile (a 44.1 kHz
 * stereo WAV chord, a 22.05 kHz FLAC of pink-ish noise, a text file, a
 * silent WAV) loaded alone and as a directory: resampled length, level,
 * smooth joins and loop seam. Then the renderer with music under synthetic
 * speech: the music's level under speech against between phrases (measured
 * in dB), the ramps' length, the peak, block invariance, NULL = no change,
 * and export carrying the bed. Bad inputs give clear errors. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/clips.h"
#include "coach/common.h"
#include "coach/export.h"
#include "coach/loudness.h"
#include "coach/music.h"
#include "coach/render.h"
#include "coach/tone.h"
#include "testutil.h"

#define RATE 48000u
#define TWO_PI 6.283185307179586

/* Writes frames of a chord (220, 277, 330 Hz; amp each) or pink-ish noise
 * (one-pole low-passed white noise) to path; returns 0 or -1. */
static int write_audio(const char *path, int format, int rate, int channels, sf_count_t frames,
                       int noise, float amp)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return -1;
    float *buf = malloc((size_t)frames * (size_t)channels * sizeof *buf);
    uint32_t seed = 12345;
    float lp = 0;
    for (sf_count_t i = 0; i < frames; i++) {
        float v;
        if (noise) {
            seed = seed * 1664525u + 1013904223u;
            float w = (float)(seed >> 8) / 8388608.0f - 1.0f;
            lp += 0.1f * (w - lp);
            v = amp * lp;
        } else {
            double t = (double)i / rate;
            v = amp * (float)(sin(TWO_PI * 220 * t) + sin(TWO_PI * 277.18 * t) +
                              sin(TWO_PI * 329.63 * t));
        }
        for (int c = 0; c < channels; c++)
            buf[i * channels + c] = v;
    }
    sf_count_t w = sf_writef_float(f, buf, frames);
    free(buf);
    sf_close(f);
    return w == frames ? 0 : -1;
}

static double bed_rms(const struct music *m, uint64_t a, uint64_t n)
{
    double s = 0;
    for (uint64_t i = a; i < a + n; i++) {
        double v = m->pcm[i] * m->scale;
        s += v * v;
    }
    return sqrt(s / (double)n);
}

static float bed_peak(const struct music *m)
{
    float p = 0;
    for (uint64_t i = 0; i < m->len_frames; i++)
        p = fmaxf(p, fabsf(m->pcm[i] * m->scale));
    return p;
}

/* Largest step between neighbours in [a, b) (indices wrap). */
static float max_step(const struct music *m, uint64_t a, uint64_t b)
{
    float worst = 0;
    for (uint64_t i = a; i < b; i++) {
        uint64_t j = i % m->len_frames, k = (i + 1) % m->len_frames;
        worst = fmaxf(worst, fabsf((m->pcm[k] - m->pcm[j]) * m->scale));
    }
    return worst;
}

static const char *dir;
static char chord_wav[4200], noise_flac[4200], text_file[4200], silent_wav[4200];

static void make_files(void)
{
    dir = test_tmpdir("music");
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/playlist", dir);
    mkdir(sub, 0777);
    snprintf(chord_wav, sizeof chord_wav, "%s/b-chord.wav", sub);
    snprintf(noise_flac, sizeof noise_flac, "%s/a-noise.flac", sub);
    snprintf(text_file, sizeof text_file, "%s/c-notes.txt", sub);
    snprintf(silent_wav, sizeof silent_wav, "%s/silent.wav", dir);
    CHECK(write_audio(chord_wav, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 5 * 44100, 0, 0.2f) ==
          0);
    CHECK(write_audio(noise_flac, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1, 22050, 1, 0.8f) ==
          0);
    CHECK(write_audio(silent_wav, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, 4800, 0, 0.0f) == 0);
    FILE *f = fopen(text_file, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not music at all, just some words\n", f);
        fclose(f);
    }
}

static void test_load_file(void)
{
    struct music m;
    char err[512];
    CHECKF(music_load(&m, chord_wav, RATE, err, sizeof err) == 0, "%s", err);
    /* 5 s at 44.1 kHz -> exactly 5 s at 48 kHz */
    CHECKF(m.len_frames == 5 * RATE, "len %llu", (unsigned long long)m.len_frames);
    CHECK(m.n_files == 1 && m.n_skipped == 0 && !m.truncated && m.rate_hz == RATE);
    double r = bed_rms(&m, RATE, 3 * RATE);
    CHECKF(fabs(20 * log10(r / MUSIC_TARGET_RMS)) < 0.5, "chord RMS %.2f dBFS", 20 * log10(r));
    CHECKF(bed_peak(&m) <= MUSIC_PEAK_MAX + 0.01f, "peak %.3f", bed_peak(&m));
    /* The seam (last frame -> first) and the fades: no step larger than the
     * music's own, and both ends at exactly zero. */
    float inner = max_step(&m, RATE, 2 * RATE);
    float seam = max_step(&m, m.len_frames - RATE / 10, m.len_frames + RATE / 10);
    CHECKF(seam <= inner * 1.01f, "seam step %.5f vs %.5f inside", seam, inner);
    CHECK(m.pcm[0] == 0 && m.pcm[m.len_frames - 1] == 0);
    /* The fade-in is quieter than the music after it. */
    CHECK(bed_rms(&m, 0, frames_from_ms(MUSIC_FADE_MS, RATE)) < 0.8 * r);
    music_free(&m);
    music_free(&m); /* twice is fine */

    /* A short FLAC at 22.05 kHz: peaky noise, 1 s */
    CHECKF(music_load(&m, noise_flac, RATE, err, sizeof err) == 0, "%s", err);
    CHECK(m.len_frames == RATE);
    CHECKF(bed_peak(&m) <= MUSIC_PEAK_MAX + 0.01f, "noise peak %.3f", bed_peak(&m));
    double rn = bed_rms(&m, RATE / 10, RATE * 8 / 10);
    CHECKF(rn > 0.03 && rn <= MUSIC_TARGET_RMS * 1.1, "noise RMS %.4f", rn);
    music_free(&m);

    /* Same rate: no resampling, same length */
    CHECKF(music_load(&m, chord_wav, 44100, err, sizeof err) == 0, "%s", err);
    CHECK(m.len_frames == 5 * 44100);
    music_free(&m);
}

/* Longer than MUSIC_MAX_SECONDS: cut there, flagged, the end faded. At
 * 8 kHz in and out (no resampling) to keep it quick. */
static void test_cap(void)
{
    struct music m;
    char err[512], path[4200];
    snprintf(path, sizeof path, "%s/long.wav", dir);
    const int rate = 8000;
    CHECK(write_audio(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, 1,
                      (sf_count_t)(MUSIC_MAX_SECONDS + 5) * rate, 0, 0.2f) == 0);
    CHECKF(music_load(&m, path, (uint32_t)rate, err, sizeof err) == 0, "%s", err);
    CHECK(m.len_frames == (uint64_t)MUSIC_MAX_SECONDS * rate && m.truncated);
    CHECK(m.len_frames && m.pcm[m.len_frames - 1] == 0);
    music_free(&m);
    unlink(path);
}

static void test_load_dir(void)
{
    struct music m;
    char err[512], sub[4096];
    snprintf(sub, sizeof sub, "%s/playlist", dir);
    CHECKF(music_load(&m, sub, RATE, err, sizeof err) == 0, "%s", err);
    CHECK(m.n_files == 2 && m.n_skipped == 1 && err[0] == 0);
    /* a-noise.flac (1 s) then b-chord.wav (5 s) */
    CHECKF(m.len_frames == 6 * RATE, "len %llu", (unsigned long long)m.len_frames);
    /* The join between the two files is faded: near zero there. */
    CHECK(m.pcm[RATE - 1] == 0 && m.pcm[RATE] == 0);
    float join = max_step(&m, RATE - RATE / 100, RATE + RATE / 100);
    CHECKF(join < 0.02f, "join step %.4f", join);
    /* The noise part is noise, the chord part the chord's level */
    double r = bed_rms(&m, 2 * RATE, 3 * RATE);
    CHECKF(fabs(20 * log10(r / MUSIC_TARGET_RMS)) < 0.5, "chord RMS in dir %.2f dBFS",
           20 * log10(r));
    music_free(&m);
}

static void test_bad_inputs(void)
{
    struct music m;
    char err[512], path[4096];
    snprintf(path, sizeof path, "%s/nope.wav", dir);
    CHECK(music_load(&m, path, RATE, err, sizeof err) == COACH_ENOTFOUND);
    CHECKF(strstr(err, "nope.wav") && strstr(err, "No such file"), "%s", err);
    CHECK(m.pcm == NULL && m.len_frames == 0);

    CHECK(music_load(&m, text_file, RATE, err, sizeof err) == COACH_EFORMAT);
    CHECKF(strstr(err, "c-notes.txt:") && strstr(err, "libsndfile"), "%s", err);

    CHECK(music_load(&m, silent_wav, RATE, err, sizeof err) == COACH_EINVAL);
    CHECKF(strstr(err, "silent"), "%s", err);

    snprintf(path, sizeof path, "%s/empty", dir);
    mkdir(path, 0777);
    CHECK(music_load(&m, path, RATE, err, sizeof err) == COACH_EINVAL);
    CHECKF(strstr(err, "empty") && strstr(err, "no files"), "%s", err);

    /* A directory with nothing playable */
    snprintf(path, sizeof path, "%s/words", dir);
    mkdir(path, 0777);
    char txt[4200];
    snprintf(txt, sizeof txt, "%s/readme.txt", path);
    FILE *f = fopen(txt, "w");
    if (f) {
        fputs("hello\n", f);
        fclose(f);
    }
    CHECK(music_load(&m, path, RATE, err, sizeof err) == COACH_EINVAL);
    CHECKF(strstr(err, "no audio files") && strstr(err, "readme.txt"), "%s", err);
    CHECK(music_load(&m, "", RATE, err, sizeof err) == COACH_EINVAL);
    CHECK(music_load(&m, chord_wav, 0, err, sizeof err) == COACH_EINVAL);
}

/* A timeline of the test's own: speech at [2 s, 4 s) and [6 s, 7.5 s)
 * (a 200 Hz sine at amp; amp 0 = silent speech that still ducks), a beep,
 * a closing bell at 9 s; 12 s long. */
struct fixture {
    struct timeline tl;
    clip_slot pcm[2];
};

static void add_ev(struct timeline *tl, enum event_kind k, uint64_t frame, uint64_t len,
                   uint32_t clip)
{
    tl->ev[tl->n_ev++] = (struct event){
        .frame = frame, .len_frames = len, .clip = clip, .step = -1, .kind = (uint8_t)k};
    if (len > tl->max_event_frames) tl->max_event_frames = len;
    if (frame + len > tl->len_frames) tl->len_frames = frame + len;
}

static void fx_init(struct fixture *fx, float amp)
{
    memset(fx, 0, sizeof *fx);
    struct timeline *tl = &fx->tl;
    tl->rate_hz = RATE;
    tl->ev = calloc(8, sizeof *tl->ev);
    tl->cap_ev = 8;
    tl->n_clips = 2;
    const uint64_t clip_len[2] = {2 * RATE, 3 * RATE / 2};
    for (int c = 0; c < 2; c++) {
        float *p = malloc(clip_len[c] * sizeof *p);
        for (uint64_t i = 0; i < clip_len[c]; i++)
            p[i] = amp * (float)sin(TWO_PI * 200.0 * (double)i / RATE);
        fx->pcm[c] = p;
    }
    add_ev(tl, EV_SPEECH, 2 * RATE, clip_len[0], 0);
    add_ev(tl, EV_BEEP, 5 * RATE, tone_default_len(EV_BEEP, RATE), 0);
    add_ev(tl, EV_SPEECH, 6 * RATE, clip_len[1], 1);
    add_ev(tl, EV_BELL, 9 * RATE, tone_default_len(EV_BELL, RATE), 0);
    if (tl->len_frames < 12 * RATE) tl->len_frames = 12 * RATE;
}

static void fx_free(struct fixture *fx)
{
    for (int c = 0; c < 2; c++)
        free(fx->pcm[c]);
    timeline_free(&fx->tl);
}

static float *render_with(struct fixture *fx, const struct music *m, size_t max_block, uint64_t a,
                          size_t n)
{
    struct renderer r;
    float *out = malloc(n * sizeof *out + 1);
    if (render_init(&r, &fx->tl, fx->pcm, 1, max_block) != 0) return NULL;
    CHECK(render_set_music(&r, m) == 0);
    render(&r, a, out, n);
    render_free(&r);
    return out;
}

static double rms_of(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s / (double)n);
}

static void test_render_music(void)
{
    struct music m;
    char err[512];
    CHECKF(music_load(&m, chord_wav, RATE, err, sizeof err) == 0, "%s", err);
    if (!m.len_frames) return;
    const size_t n = 12 * RATE;
    const uint64_t ramp = frames_from_ms(RENDER_MUSIC_DUCK_RAMP_MS, RATE);
    struct fixture quiet, loud;
    fx_init(&quiet, 0.0f); /* silent speech: the output is the music (and tones) */
    fx_init(&loud, 0.7f);

    float *plain = render_with(&loud, NULL, 1024, 0, n);
    float *q = render_with(&quiet, &m, 1024, 0, n);
    float *qn = render_with(&quiet, NULL, 1024, 0, n);
    float *l = render_with(&loud, &m, 1024, 0, n);
    /* Music alone = quiet with music - quiet without (tones cancel). */
    float *mus = malloc(n * sizeof *mus), *dry = malloc(n * sizeof *dry);
    for (size_t i = 0; i < n; i++) {
        mus[i] = q[i] - qn[i];
        dry[i] = m.pcm[i % m.len_frames] * m.scale; /* the bed, unducked */
    }
    /* Under speech (0.2 s in from both ends: away from the ramps) vs between
     * phrases (4.3-4.9 s: after the first ramp, before the beep's duck). */
    size_t s0 = 2 * RATE + RATE / 5, sn = 2 * RATE - 2 * RATE / 5;
    size_t b0 = 4 * RATE + 3 * RATE / 10, bn = 6 * RATE / 10;
    double under = rms_of(mus + s0, sn), between = rms_of(mus + b0, bn);
    double duck_db = 20 * log10(under / between);
    /* The chord's own level differs a little between spans: normalize. */
    double dry_db = 20 * log10(rms_of(dry + s0, sn) / rms_of(dry + b0, bn));
    printf("music under speech vs between phrases: %.2f dB (bed itself %.2f dB)\n", duck_db,
           dry_db);
    CHECKF(duck_db <= -10.0, "ducked only %.2f dB", duck_db);
    CHECKF(fabs(duck_db - dry_db + 12.04) < 0.3, "duck depth %.2f dB", duck_db - dry_db);
    /* Between phrases the music plays at full bed level, unducked. */
    CHECKF(fabs(20 * log10(between / rms_of(dry + b0, bn))) < 0.05, "between %.3f dB",
           20 * log10(between / rms_of(dry + b0, bn)));
    /* The same holds with real speech on top (speech subtracted). */
    double s2 = 0;
    for (size_t i = s0; i < s0 + sn; i++) {
        double v = (double)l[i] - plain[i];
        s2 += v * v;
    }
    double under_l = sqrt(s2 / (double)sn);
    CHECKF(fabs(20 * log10(under_l / under)) < 0.1, "with speech %.2f dB vs %.2f dB",
           20 * log10(under_l / between), duck_db);

    /* The ramps: gain = mus / dry where the bed is not near zero. The duck
     * starts ramp frames before speech and ends ramp frames after it. */
    uint64_t sp = 2 * RATE, se = 4 * RATE;
    uint64_t first_low = 0, last_low = 0;
    for (uint64_t f = sp - 2 * ramp; f < se + 2 * ramp; f++) {
        if (fabsf(dry[f]) < 0.02f) continue;
        double g = mus[f] / dry[f];
        if (g < 0.999) {
            if (!first_low) first_low = f;
            last_low = f;
        }
    }
    double ramp_in_ms = (double)(sp - first_low) * 1000.0 / RATE;
    double ramp_out_ms = (double)(last_low + 1 - se) * 1000.0 / RATE;
    printf("ramps: %.1f ms before speech, %.1f ms after\n", ramp_in_ms, ramp_out_ms);
    CHECKF(ramp_in_ms > 90 && ramp_in_ms <= 101, "ramp in %.1f ms", ramp_in_ms);
    CHECKF(ramp_out_ms > 90 && ramp_out_ms <= 101, "ramp out %.1f ms", ramp_out_ms);
    /* Smooth: no sample step larger than the bed's own plus a little. */
    float worst = 0, own = 0;
    for (size_t i = 1; i < 9 * RATE; i++) {
        worst = fmaxf(worst, fabsf(mus[i] - mus[i - 1]));
        own = fmaxf(own, fabsf(dry[i] - dry[i - 1]));
    }
    CHECKF(worst <= own * 1.05f, "music step %.5f vs bed %.5f", worst, own);
    /* Fades out under the bell: silent at the very end. */
    CHECK(fabsf(mus[n - 1]) < 1e-4f);
    CHECK(rms_of(mus + n - RATE / 10, RATE / 10) < 0.1 * between);

    /* Peak with speech and music */
    float peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = fmaxf(peak, fabsf(l[i]));
    CHECKF(peak <= 1.0f, "peak %.3f", peak);

    /* Block invariance with music: many cuts and seeks, bit-identical. */
    size_t blocks[] = {1, 7, 333, 1024, 4096};
    srand(5);
    for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
        struct renderer r;
        CHECK(render_init(&r, &loud.tl, loud.pcm, 1, blocks[bi]) == 0);
        CHECK(render_set_music(&r, &m) == 0);
        float *parts = malloc(n * sizeof *parts);
        for (size_t at = 0; at < n;) {
            size_t k = 1 + (size_t)rand() % (3 * blocks[bi] + 1);
            if (k > n - at) k = n - at;
            render(&r, at, parts + at, k);
            at += k;
        }
        CHECKF(memcmp(parts, l, n * sizeof *l) == 0, "blocks of %zu differ", blocks[bi]);
        render_free(&r);
        free(parts);
    }
    for (int t = 0; t < 10; t++) {
        size_t a = (size_t)rand() % n, k = 1 + (size_t)rand() % 30000;
        if (k > n - a) k = n - a;
        float *slice = render_with(&loud, &m, 1 + (size_t)rand() % 3000, a, k);
        CHECKF(memcmp(slice, l + a, k * sizeof *l) == 0, "seek to %zu differs", a);
        free(slice);
    }

    /* NULL music renders exactly as no music; setting then clearing too. */
    {
        struct renderer r;
        float *x = malloc(n * sizeof *x);
        CHECK(render_init(&r, &loud.tl, loud.pcm, 1, 1024) == 0);
        CHECK(render_set_music(&r, &m) == 0);
        CHECK(render_set_music(&r, NULL) == 0);
        render(&r, 0, x, n);
        CHECK(memcmp(x, plain, n * sizeof *x) == 0);
        render_free(&r);
        free(x);
    }
    /* A bed at another rate is refused, the renderer unchanged. */
    {
        struct music m44;
        struct renderer r;
        CHECKF(music_load(&m44, chord_wav, 44100, err, sizeof err) == 0, "%s", err);
        CHECK(render_init(&r, &loud.tl, loud.pcm, 1, 1024) == 0);
        CHECK(render_set_music(&r, &m44) == COACH_EINVAL && r.music == NULL);
        render_free(&r);
        music_free(&m44);
    }
    free(plain);
    free(q);
    free(qn);
    free(l);
    free(mus);
    free(dry);
    fx_free(&quiet);
    fx_free(&loud);
    music_free(&m);
}

/* Export with opts.music: the file carries the bed (a tone-only timeline,
 * so no speech synthesizer is needed), sample for sample the renderer's. */
static void test_export_music(void)
{
    struct music m;
    char err[512], path[4096];
    CHECKF(music_load(&m, chord_wav, RATE, err, sizeof err) == 0, "%s", err);
    struct timeline tl = {.rate_hz = RATE};
    tl.ev = calloc(4, sizeof *tl.ev);
    tl.cap_ev = 4;
    add_ev(&tl, EV_BEEP, RATE, tone_default_len(EV_BEEP, RATE), 0);
    add_ev(&tl, EV_BELL, 3 * RATE, tone_default_len(EV_BELL, RATE), 0);
    struct clipstore cs;
    CHECK(clipstore_init(&cs, NULL, RATE) == 0);
    snprintf(path, sizeof path, "%s/with-music.wav", dir);
    struct export_opts o = {.format = EXPORT_WAV, .channels = 1, .music = &m};
    CHECKF(export_timeline(&tl, &cs, path, &o, err, sizeof err) == 0, "%s", err);
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    CHECK(f != NULL);
    if (f) {
        size_t n = (size_t)info.frames;
        CHECK(n == tl.len_frames);
        float *got = malloc(n * sizeof *got);
        CHECK(sf_readf_float(f, got, (sf_count_t)n) == (sf_count_t)n);
        sf_close(f);
        struct renderer r;
        float *want = malloc(n * sizeof *want);
        CHECK(render_init(&r, &tl, NULL, 1, 1024) == 0);
        CHECK(render_set_music(&r, &m) == 0);
        render_set_gain(&r, loudness_program_gain(LOUDNESS_PODCAST)); /* export's default */
        render(&r, 0, want, n);
        render_free(&r);
        float diff = 0;
        for (size_t i = 0; i < n; i++)
            diff = fmaxf(diff, fabsf(got[i] - want[i]));
        CHECKF(diff < 2.0f / 32768, "export differs by %g", diff);
        /* music where no tone sounds (0.3-0.8 s) */
        CHECK(rms_of(got + RATE * 3 / 10, RATE / 2) > 0.03);
        free(got);
        free(want);
    }
    /* A bed at the wrong rate: refused with a reason, no file. */
    struct music m44;
    CHECKF(music_load(&m44, chord_wav, 44100, err, sizeof err) == 0, "%s", err);
    o.music = &m44;
    snprintf(path, sizeof path, "%s/wrong-rate.wav", dir);
    CHECK(export_timeline(&tl, &cs, path, &o, err, sizeof err) == COACH_EINVAL);
    CHECKF(strstr(err, "44100"), "%s", err);
    CHECK(access(path, F_OK) != 0);
    music_free(&m44);
    clipstore_free(&cs);
    timeline_free(&tl);
    music_free(&m);
}

int main(void)
{
    make_files();
    test_load_file();
    test_load_dir();
    test_cap();
    test_bad_inputs();
    test_render_music();
    test_export_music();
    return test_done();
}
