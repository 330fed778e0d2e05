/* Benchmark of the spoken-command spotter (not a test; bench/listen_bench.sh
 * drives it): feeds audio files through one spotter, as a microphone would,
 * and prints what it heard and the CPU it took.
 *
 *   listen_bench LISTEN_FILE [--bg WAV] [--bg-ref WAV] [--bg-db DB] ITEM...
 *
 * ITEM is WORD=FILE: FILE (any rate, mono; resampled to 16 kHz) says the
 * command WORD (as `coach ctl` takes it); it is fed between a second of
 * silence before and after, or of the background WAV (the coach's own
 * export) mixed DB dB (default -10) below the command's speech level, and
 * should give exactly one hit, of that command. --bg-ref: the level of
 * the background is set by this file's speech instead (the full export,
 * when the background is the same session without its speech: the sounds
 * keep their level relative to the coach's voice). Or -=FILE: fed straight,
 * every hit is a false trigger.
 *
 * Built by CMake (target listen_bench, not installed).
 *
 * One line per item: "item WORD FILE right N wrong N false N audio_s S",
 * then "total right N of M, wrong N, false N over S s, cpu S s, share P"
 * (cpu: the spotter's process CPU time while feeding; share: of one core). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coach/common.h"
#include "coach/resample.h"
#include "coach/spotter.h"

#define RATE SPOTTER_RATE_HZ
#define BLOCK 1600 /* 100 ms, as the microphone thread reads */

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A mono (first channel) file at 16 kHz as floats in [-1, 1]. */
static float *load(const char *path, size_t *n)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        fprintf(stderr, "listen_bench: %s: %s\n", path, sf_strerror(NULL));
        return NULL;
    }
    size_t frames = (size_t)info.frames, ch = (size_t)info.channels;
    short *all = malloc(frames * ch * sizeof *all + 1);
    int16_t *mono = malloc(frames * sizeof *mono + 1);
    float *out = NULL;
    if (all && mono) {
        frames = (size_t)sf_readf_short(f, all, info.frames);
        for (size_t i = 0; i < frames; i++) mono[i] = all[i * ch];
        *n = resample_out_len(frames, (uint32_t)info.samplerate, RATE);
        out = malloc(*n * sizeof *out + 1);
        if (out && resample_i16_to_f32(mono, frames, (uint32_t)info.samplerate, out, *n, RATE) != 0) {
            free(out);
            out = NULL;
        }
    }
    free(all);
    free(mono);
    sf_close(f);
    if (!out) fprintf(stderr, "listen_bench: %s: cannot load\n", path);
    return out;
}

/* The RMS of the speech in x: over the 20 ms frames within 30 dB of the
 * loudest one (pauses and silence do not count). */
static double speech_rms(const float *x, size_t n)
{
    const size_t fr = RATE / 50;
    double peak = 0;
    for (size_t a = 0; a + fr <= n; a += fr) {
        double e = 0;
        for (size_t i = a; i < a + fr; i++) e += (double)x[i] * x[i];
        if (e > peak) peak = e;
    }
    double sum = 0;
    size_t cnt = 0;
    for (size_t a = 0; a + fr <= n; a += fr) {
        double e = 0;
        for (size_t i = a; i < a + fr; i++) e += (double)x[i] * x[i];
        if (e >= peak * 1e-3) {
            sum += e;
            cnt += fr;
        }
    }
    return cnt ? sqrt(sum / cnt) : 0;
}

static struct {
    double cpu, audio_s;
    int right, wrong, false_hits, items;
} tot;

/* Feeds x[0..n) as int16 in blocks; counts hits by what they are. */
static void feed(struct spotter *s, const float *x, size_t n, enum ctl_cmd want, int *right, int *wrong,
                 int *false_hits)
{
    int16_t blk[BLOCK];
    for (size_t at = 0; at < n; at += BLOCK) {
        size_t len = n - at < BLOCK ? n - at : BLOCK;
        for (size_t i = 0; i < len; i++) {
            float v = x[at + i] * 32767.0f;
            blk[i] = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : lrintf(v));
        }
        double c0 = cpu_s();
        struct spotter_hit h;
        int rc = spotter_feed(s, blk, len, &h);
        while (rc == 1) {
            if (want == CTL_NONE)
                ++*false_hits, printf("false %s at %.2f s\n", h.phrase, (double)h.end_sample / RATE);
            else if (h.cmd == want)
                ++*right;
            else
                ++*wrong, printf("wrong %s\n", h.phrase);
            rc = spotter_feed(s, NULL, 0, &h);
        }
        tot.cpu += cpu_s() - c0;
        if (rc < 0) {
            fprintf(stderr, "listen_bench: spotter_feed: %s\n", coach_strerror(rc));
            exit(1);
        }
    }
    tot.audio_s += (double)n / RATE;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: listen_bench LISTEN_FILE [--bg WAV] [--bg-ref WAV] [--bg-db DB] WORD=FILE|-=FILE...\n");
        return 2;
    }
    struct spotter *s;
    char err[512];
    int rc = spotter_open(&s, argv[1], err, sizeof err);
    if (rc) {
        fprintf(stderr, "listen_bench: %s\n", err);
        return 1;
    }
    float *bg = NULL;
    size_t bg_n = 0, bg_at = 0;
    double bg_db = -10, bg_rms = 0, bg_ref_rms = 0;
    int i = 2;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (i + 1 >= argc) return 2;
        if (strcmp(argv[i], "--bg") == 0) {
            if (!(bg = load(argv[i + 1], &bg_n))) return 1;
            bg_rms = speech_rms(bg, bg_n);
        } else if (strcmp(argv[i], "--bg-ref") == 0) {
            size_t ref_n = 0;
            float *ref = load(argv[i + 1], &ref_n);
            if (!ref) return 1;
            bg_ref_rms = speech_rms(ref, ref_n);
            free(ref);
        } else if (strcmp(argv[i], "--bg-db") == 0) {
            bg_db = atof(argv[i + 1]);
        } else {
            return 2;
        }
    }
    if (bg_ref_rms > 0) bg_rms = bg_ref_rms;
    for (; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) return 2;
        *eq = 0;
        const char *word = argv[i], *path = eq + 1;
        enum ctl_cmd want = strcmp(word, "-") == 0 ? CTL_NONE : ctl_from_word(word);
        size_t n;
        float *x = load(path, &n);
        if (!x) return 1;
        int right = 0, wrong = 0, false_hits = 0;
        if (want == CTL_NONE) {
            feed(s, x, n, want, &right, &wrong, &false_hits);
        } else {
            size_t pad = RATE, total = pad + n + pad;
            float *y = calloc(total, sizeof *y);
            if (!y) return 1;
            memcpy(y + pad, x, n * sizeof *x);
            if (bg && bg_n > total && bg_rms > 0) {
                double gain = speech_rms(x, n) / bg_rms * pow(10, bg_db / 20);
                if (bg_at + total > bg_n) bg_at = 0;
                for (size_t k = 0; k < total; k++) y[k] += (float)(gain * bg[bg_at + k]);
                bg_at += total;
            }
            feed(s, y, total, want, &right, &wrong, &false_hits);
            free(y);
        }
        printf("item %s %s right %d wrong %d false %d audio_s %.1f\n", word, path, right, wrong, false_hits,
               (double)n / RATE);
        fflush(stdout);
        tot.right += right > 0;
        tot.wrong += wrong;
        tot.false_hits += false_hits;
        tot.items += want != CTL_NONE;
        free(x);
    }
    printf("total right %d of %d, wrong %d, false %d over %.1f s, cpu %.2f s, share %.4f\n", tot.right,
           tot.items, tot.wrong, tot.false_hits, tot.audio_s, tot.cpu, tot.audio_s > 0 ? tot.cpu / tot.audio_s : 0);
    spotter_close(s);
    free(bg);
    return 0;
}
