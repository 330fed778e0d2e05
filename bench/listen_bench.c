/* Benchmark of the spoken-command spotter (not a test; bench/listen_bench.sh
 * drives it): feeds audio files through one spotter, as a microphone would,
 * and prints what it heard and the CPU it took.
 *
 *   listen_bench LISTEN_FILE [--bg WAV] [--bg-ref WAV] [--bg-speech VTT] [--bg-db DB] [--aec 1|2] [--noise-db DB] [--linear 0|1] [--cancelled 1] [--gate 1] [--answers 1] [--levels 1] [--dump FILE] [--trace 1] ITEM...
 *
 * ITEM is WORD=FILE: FILE (any rate, mono; resampled to 16 kHz) says the
 * command WORD (as `coach ctl` takes it); it is fed between a second of
 * silence before and after, or of the background WAV (the coach's own
 * export) mixed DB dB (default -10) below the command's speech level, and
 * should give exactly one hit, of that command. --bg-ref: the level of
 * the background is set by this file's speech instead (the full export,
 * when the background is the same session without its speech: the sounds
 * keep their level relative to the coach's voice). --bg-speech: the
 * captions of the background (`coach export --captions x.vtt`; its bracketed
 * cues, "[hold, 30 seconds]", mark wordless parts, not speech): each
 * item's background is then taken only from where the coach does not
 * speak and something sounds (clicks, tones, beeps), spread over the session:
 * the live side ignores phrases over the coach's speech, so this is the
 * background a command is heard over. --aec 1: the background reaches
 * the microphone through a room (a 30 ms delay and a sparse synthetic
 * response of 150 ms, room noise 50 dB under the command) and speexdsp's
 * echo canceller with its residual echo suppressor (what PulseAudio's
 * module-echo-cancel aec_method=speex does) removes it, given the
 * background itself as the reference, before the spotter hears it; one
 * canceller over all the items (their backgrounds follow each other),
 * warmed up on the 10 s before the first. --aec 2: the same room, but
 * coach's own canceller (src/aec.c, as `coach play --listen` runs it)
 * with the background as its reference, told 120 ms off (a device's
 * latency misreported): it must find the delay itself. Or -=FILE: fed
 * straight, every hit is a false trigger; with --aec 2 the FILE is the
 * coach's output: it reaches the microphone through the room (room noise
 * at -60 dBFS) and the canceller takes it out before the spotter; until
 * the canceller has found the coach and settled (aec_settled_at), the
 * live gate drops a phrase over its speech (FILE.vtt, as --gate 1), as
 * `coach play --listen` does.
 *
 * Built by CMake (target listen_bench, not installed).
 *
 * --noise-db DB: the room noise under the command with --aec 1|2 and
 * items (default -50; below -150: none). The espeak-ng voices' cells
 * depend on it, through speexdsp's preprocessor (docs/PERFORMANCE.md).
 *
 * --linear 0: behind coach's canceller (--aec 2) the spotter is fed only
 * its output (spotter_feed), not also its linear filter's output
 * (spotter_feed_both, as `coach play --listen`): the check as before
 * stop 31, for comparison.
 *
 * --cancelled 1: the spotter opened as behind coach's own canceller
 * (SPOTTER_CANCELLED: the listen file's canceller_gaussians), with no
 * echo to take out: a command said in a quiet room in `coach play
 * --listen`'s default mode. --aec 2 implies it.
 *
 * --answers 1: the answers (pain 0-10) are searched too, as while
 * --ask-pain's question waits (spotter_answers()); without it, as the rest
 * of a session: only the commands.
 *
 * --gate 1 (with -=FILE): a phrase is dropped ("gated") as the live gate
 * drops it (coach play --listen --no-echo-cancel): when the
 * ECHO_PHRASE_MS before its end overlap the coach's speech, widened by
 * ECHO_MARGIN_MS; the speech is FILE.vtt's cues (`coach export
 * --captions`). --aec 1 with -=FILE: the session through the room and
 * speexdsp's canceller, given the session as the reference (what
 * --echo-cancelled trusts the sound server to do).
 *
 * --levels 1: for each hit, "level PHRASE L dBFS": the RMS of the second
 * of what was fed before its end.
 *
 * --dump FILE: every sample fed to the spotter, as raw 16-bit mono at 16
 * kHz (the items one after the other: a hit's time is its place in it).
 *
 * --trace 1: before each item's line, what the keyword search detected
 * and what the grammar check heard (spotter_trace()).
 *
 * With --aec 2, each move of coach's canceller's reference: "coach aec
 * moved at S s of its stream: delay A -> B ms (score C)" (the bench's
 * room never changes its delay: every move is a mistake).
 *
 * One line per item: "item WORD FILE right N wrong N false N audio_s S",
 * then "total right N of M, wrong N, false N over S s, cpu S s, share P"
 * (cpu: the spotter's process CPU time while feeding; share: of one core). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdbool.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coach/aec.h"
#include "coach/common.h"
#include "coach/echo.h"
#include "coach/resample.h"
#include "coach/spotter.h"

#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

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

/* The coach's speech spans of the background, in samples (from --bg-speech). */
#define MAX_SPANS 4096
#define SPAN_MARGIN (RATE / 5)  /* 200 ms: the gate's margin around speech */
#define BG_STRIDE (RATE * 2)    /* spread the items' backgrounds over the session */
static size_t span_a[MAX_SPANS], span_b[MAX_SPANS], n_spans;

static double vtt_time(const char *t)
{
    int h = 0, m = 0;
    double sec = 0;
    return sscanf(t, "%d:%d:%lf", &h, &m, &sec) == 3 ? h * 3600.0 + m * 60.0 + sec : -1;
}

static int load_spans(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "listen_bench: %s: cannot open\n", path);
        return -1;
    }
    char line[1024], a[32], b[32];
    while (fgets(line, sizeof line, f) && n_spans < MAX_SPANS)
        if (sscanf(line, "%31s --> %31s", a, b) == 2) {
            double ta = vtt_time(a), tb = vtt_time(b);
            if (ta < 0 || tb < ta) continue;
            /* "[hold, 30 seconds]": a wordless part's cue (src/captions.c), not speech */
            if (fgets(line, sizeof line, f) && line[0] == '[') continue;
            span_a[n_spans] = (size_t)(ta * RATE);
            span_b[n_spans++] = (size_t)(tb * RATE);
        }
    fclose(f);
    return 0;
}

/* The first start >= from of a window of bg[0..n) of len samples clear of
 * speech and not silent (the sounds are what is measured), or (size_t)-1. */
static size_t quiet_window(const float *bg, size_t from, size_t len, size_t n)
{
    for (size_t at = from; at + len <= n;) {
        size_t next = 0;
        for (size_t k = 0; k < n_spans; k++)
            if (span_a[k] < at + len + SPAN_MARGIN && at < span_b[k] + SPAN_MARGIN && span_b[k] + SPAN_MARGIN > next)
                next = span_b[k] + SPAN_MARGIN;
        if (!next) {
            double e = 0;
            for (size_t k = at; k < at + len; k++) e += (double)bg[k] * bg[k];
            if (e / len > 1e-8) return at; /* above -80 dBFS */
            next = at + RATE / 2;
        }
        at = next;
    }
    return (size_t)-1;
}

/* The room between the coach's speaker and the microphone (--aec): the
 * direct sound after ECHO_DELAY and sparse reflections decaying over
 * 150 ms (fixed pseudo-random taps), energy 1: the level is kept. */
#define ECHO_DELAY (RATE * 3 / 100)
#define ECHO_TAPS 24
#define AEC_FRAME 256              /* 16 ms: a power of two, as PulseAudio picks */
#define AEC_FILTER (RATE / 5)      /* 200 ms, PulseAudio's default for speex */
static size_t tap_at[ECHO_TAPS + 1];
static double tap_gain[ECHO_TAPS + 1];
static SpeexEchoState *aec;
static SpeexPreprocessState *aec_pre;
static uint32_t noise_seed = 12345;
static double erle_in, erle_out; /* the echo before and after the canceller, where no command is */

static void room_open(void)
{
    uint32_t r = 2463534242u;
    double e = 1;
    tap_at[0] = ECHO_DELAY, tap_gain[0] = 1;
    for (int k = 1; k <= ECHO_TAPS; k++) {
        r ^= r << 13, r ^= r >> 17, r ^= r << 5;
        double t = (double)(r % 1000) / 1000 * 0.15; /* seconds after the direct sound */
        tap_at[k] = ECHO_DELAY + 48 + (size_t)(t * RATE);
        tap_gain[k] = ((r >> 12) & 1 ? 0.5 : -0.5) * exp(-6.9 * t / 0.3); /* 300 ms RT60 */
        e += tap_gain[k] * tap_gain[k];
    }
    for (int k = 0; k <= ECHO_TAPS; k++) tap_gain[k] /= sqrt(e);
    aec = speex_echo_state_init(AEC_FRAME, AEC_FILTER);
    aec_pre = speex_preprocess_state_init(AEC_FRAME, RATE);
    int rate = RATE;
    speex_echo_ctl(aec, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
    speex_preprocess_ctl(aec_pre, SPEEX_PREPROCESS_SET_ECHO_STATE, aec);
}

static double room_noise(void)
{
    noise_seed = noise_seed * 1664525u + 1013904223u;
    return ((double)(noise_seed >> 8) / (1 << 24) - 0.5) * 3.4641; /* unit variance */
}

static int16_t to_i16(double v)
{
    v *= 32767.0;
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
}

/* y[0..total) (the command, padded) gets the background bg[at..] through
 * the room and the canceller; gain: the background's level at the
 * microphone, noise_rms: the room's noise. */
static void through_aec(float *y, size_t total, const float *bg, size_t at, double gain, double noise_rms)
{
    int16_t mic[AEC_FRAME], ref[AEC_FRAME], out[AEC_FRAME];
    for (size_t f = 0; f + AEC_FRAME <= total; f += AEC_FRAME) {
        for (size_t i = 0; i < AEC_FRAME; i++) {
            size_t k = at + f + i;
            double echo = 0;
            for (int t = 0; t <= ECHO_TAPS; t++)
                if (k >= tap_at[t]) echo += tap_gain[t] * bg[k - tap_at[t]];
            mic[i] = to_i16(y[f + i] + gain * echo + noise_rms * room_noise());
            ref[i] = to_i16(0.5 * bg[k]); /* what the coach plays, at its own level */
        }
        speex_echo_cancellation(aec, mic, ref, out);
        speex_preprocess_run(aec_pre, out);
        for (size_t i = 0; i < AEC_FRAME; i++) y[f + i] = (float)out[i] / 32767.0f;
        if (f < RATE * 9 / 10)
            for (size_t i = 0; i < AEC_FRAME; i++) erle_in += (double)mic[i] * mic[i], erle_out += (double)out[i] * out[i];
    }
    for (size_t i = total / AEC_FRAME * AEC_FRAME; i < total; i++) y[i] = 0; /* a partial frame */
}

/* --aec 2: coach's canceller. The stream it is fed runs on a clock of
 * its own (vclock, samples): the room convolves what was played on it
 * (played[], the last second), so each item's background follows the
 * previous one as a live session's would. */
#define CLOCK_OFF_NS 120000000ll /* the reference's stamps are this much early */
#define PLAYED (1u << 14)
static struct aec *caec;
static uint64_t vclock;
static float played[PLAYED];
static double caec_cpu;
static uint64_t caec_ahead; /* samples the canceller got that the spotter did not (the warm-up) */
static int residual_hits;   /* hits dropped as the canceller's residual (cli_listen.c's rule) */

static uint64_t v_ns(uint64_t v) { return v * 1000000000ull / RATE; }

/* y[0..total) (at the microphone, the person's part) gets ref[0..total)
 * (what coach plays) through the room at gain, and noise; then coach's
 * canceller, given ref as it is played, takes it out; the echo before and
 * after it is summed over y[0..erle_upto). y_linear (NULL: not wanted)
 * gets the canceller's linear output (aec_mic). */
static void through_coach_aec(float *y, float *y_linear, size_t total, const float *ref, double gain,
                              double noise_rms, size_t erle_upto)
{
    int16_t mic[BLOCK], out[BLOCK], linear[BLOCK];
    for (size_t b = 0; b < total; b += BLOCK) {
        size_t len = total - b < BLOCK ? total - b : BLOCK;
        double c0 = cpu_s();
        aec_ref(caec, ref + b, len, v_ns(vclock) - (uint64_t)CLOCK_OFF_NS);
        caec_cpu += cpu_s() - c0;
        for (size_t i = 0; i < len; i++) {
            uint64_t v = vclock + i;
            played[v % PLAYED] = ref[b + i];
            double echo = 0;
            for (int t = 0; t <= ECHO_TAPS; t++)
                if (v >= tap_at[t]) echo += tap_gain[t] * played[(v - tap_at[t]) % PLAYED];
            mic[i] = to_i16(y[b + i] + gain * echo + noise_rms * room_noise());
        }
        c0 = cpu_s();
        struct aec_state was;
        aec_state(caec, &was);
        aec_mic(caec, mic, len, v_ns(vclock + len - 1), out, linear);
        caec_cpu += cpu_s() - c0;
        struct aec_state now;
        aec_state(caec, &now);
        if (now.moves != was.moves) /* the room's delay never changes here: every move is a mistake */
            printf("coach aec moved at %.1f s of its stream: delay %.1f -> %.1f ms (score %.2f)\n",
                   (double)(vclock + len) / RATE, was.delay_ms, now.delay_ms, now.score);
        for (size_t i = 0; i < len; i++) {
            y[b + i] = (float)out[i] / 32767.0f;
            if (y_linear) y_linear[b + i] = (float)linear[i] / 32767.0f;
            if (b + i < erle_upto) erle_in += (double)mic[i] * mic[i], erle_out += (double)out[i] * out[i];
        }
        vclock += len;
    }
}

/* --gate 1: a session's phrase is dropped as the live gate drops it
 * (echo.h, the rule of `coach play --listen --no-echo-cancel`) when the
 * ECHO_PHRASE_MS before its end overlap the coach's speech (the session's
 * captions, FILE.vtt beside FILE.wav) widened by ECHO_MARGIN_MS. */
static bool gate_on;
static bool level_trace; /* --levels 1 */
static FILE *dump; /* --dump FILE: what the spotter is fed */
static uint64_t item_start; /* samples fed to the spotter before this item */
static int gated_hits;

static bool gate_until_settled; /* --aec 2 on sessions: see gated() */

/* With --aec 2 on a session, the gate judges a phrase that starts before
 * coach's canceller has settled (aec_settled_at), as live (cli_listen.c).
 * canceller_from: the phrase's first sample in the canceller's count. */
static bool gated(uint64_t end_sample, uint64_t canceller_from)
{
    bool on = gate_on || (gate_until_settled && caec && !aec_settled_at(caec, canceller_from));
    if (!on || end_sample < item_start) return false;
    double end = (double)(end_sample - item_start), from = end - ECHO_PHRASE_MS * RATE / 1000.0;
    double margin = ECHO_MARGIN_MS * RATE / 1000.0;
    for (size_t k = 0; k < n_spans; k++)
        if (from < span_b[k] + margin && end > span_a[k] - margin) return true;
    return false;
}

static struct {
    double cpu, audio_s;
    int right, wrong, false_hits, items;
} tot;

static int16_t sample_i16(float x)
{
    float v = x * 32767.0f;
    return (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : lrintf(v));
}

/* Feeds x[0..n) as int16 in blocks (with x_linear, the same samples
 * before the canceller's suppression: spotter_feed_both); counts hits by
 * what they are. */
static void feed(struct spotter *s, const float *x, const float *x_linear, size_t n, enum ctl_cmd want, int *right,
                 int *wrong, int *false_hits)
{
    int16_t blk[BLOCK], blk_linear[BLOCK];
    uint64_t base = (uint64_t)llround(tot.audio_s * RATE); /* x[0]'s sample in the spotter's count */
    for (size_t at = 0; at < n; at += BLOCK) {
        size_t len = n - at < BLOCK ? n - at : BLOCK;
        for (size_t i = 0; i < len; i++) {
            blk[i] = sample_i16(x[at + i]);
            if (x_linear) blk_linear[i] = sample_i16(x_linear[at + i]);
        }
        if (dump && fwrite(blk, sizeof blk[0], len, dump) != len) {
            fprintf(stderr, "listen_bench: --dump: write failed\n");
            exit(1);
        }
        double c0 = cpu_s();
        struct spotter_hit h;
        int rc = spotter_feed_both(s, blk, x_linear ? blk_linear : NULL, len, &h);
        while (rc == 1) {
            if (level_trace) { /* the phrase's level: the second before its end */
                uint64_t e = h.end_sample > base ? h.end_sample - base : 0, b = e > RATE ? e - RATE : 0;
                double sum = 0;
                for (uint64_t k = b; k < e && k < n; k++) sum += (double)x[k] * x[k];
                printf("level %s %.1f dBFS\n", h.phrase, 10 * log10(sum / (double)(e > b ? e - b : 1) + 1e-20));
            }
            double kept = 0;
            uint64_t from = 0; /* the phrase's start, in the canceller's count */
            if (caec) { /* the live rule: a phrase the canceller took 20 dB out of is the coach's */
                uint64_t to = h.end_sample + caec_ahead, span = (uint64_t)ECHO_PHRASE_MS * RATE / 1000;
                to = to > AEC_FRAME ? to - AEC_FRAME : 0;
                from = to > span ? to - span : 0;
                kept = aec_kept_db(caec, from, to);
            }
            if (want == CTL_NONE && gated(h.end_sample, from))
                gated_hits++, printf("gated %s at %.2f s\n", h.phrase, (double)h.end_sample / RATE);
            else if (kept < AEC_RESIDUAL_DB)
                residual_hits++, printf("residual %s at %.2f s (%.0f dB kept)\n", h.phrase,
                                        (double)h.end_sample / RATE, kept);
            else if (want == CTL_NONE)
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
        fprintf(stderr, "usage: listen_bench LISTEN_FILE [--bg WAV] [--bg-ref WAV] [--bg-speech VTT] [--bg-db DB] [--aec 1|2] [--cancelled 1] [--gate 1] [--answers 1] [--levels 1] [--dump FILE] [--trace 1] WORD=FILE|-=FILE...\n");
        return 2;
    }
    /* behind coach's own canceller (--aec 2) the listen file's
     * canceller_gaussians applies, as in `coach play --listen` */
    unsigned flags = 0;
    for (int k = 2; k + 1 < argc && strncmp(argv[k], "--", 2) == 0; k += 2)
        if ((strcmp(argv[k], "--aec") == 0 && atoi(argv[k + 1]) == 2) ||
            (strcmp(argv[k], "--cancelled") == 0 && atoi(argv[k + 1])))
            flags = SPOTTER_CANCELLED;
    struct spotter *s;
    char err[512];
    int rc = spotter_open(&s, argv[1], flags, err, sizeof err);
    if (rc) {
        fprintf(stderr, "listen_bench: %s\n", err);
        return 1;
    }
    float *bg = NULL;
    size_t bg_n = 0, bg_at = 0;
    double bg_db = -10, bg_rms = 0, bg_ref_rms = 0, noise_db = -50;
    bool use_linear = true;
    bool use_aec = false, warm = false;
    int aec_kind = 0;
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
        } else if (strcmp(argv[i], "--bg-speech") == 0) {
            if (load_spans(argv[i + 1])) return 1;
        } else if (strcmp(argv[i], "--aec") == 0) {
            aec_kind = atoi(argv[i + 1]);
            use_aec = aec_kind != 0;
        } else if (strcmp(argv[i], "--noise-db") == 0) {
            noise_db = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--linear") == 0) {
            use_linear = atoi(argv[i + 1]) != 0;
        } else if (strcmp(argv[i], "--cancelled") == 0) {
            /* read above: the spotter as behind coach's canceller (with no echo to take out) */
        } else if (strcmp(argv[i], "--answers") == 0) {
            if (spotter_answers(s, atoi(argv[i + 1]) != 0)) return 1;
        } else if (strcmp(argv[i], "--dump") == 0) {
            if (!(dump = fopen(argv[i + 1], "wb"))) {
                perror(argv[i + 1]);
                return 1;
            }
        } else if (strcmp(argv[i], "--levels") == 0) {
            level_trace = atoi(argv[i + 1]) != 0;
        } else if (strcmp(argv[i], "--gate") == 0) {
            gate_on = atoi(argv[i + 1]) != 0;
        } else if (strcmp(argv[i], "--bg-db") == 0) {
            bg_db = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--trace") == 0) {
            spotter_trace(s, atoi(argv[i + 1]) ? stdout : NULL);
        } else {
            return 2;
        }
    }
    if (bg_ref_rms > 0) bg_rms = bg_ref_rms;
    if (use_aec) room_open();
    if (aec_kind == 2 && aec_open(&caec)) return 1;
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
        item_start = (uint64_t)llround(tot.audio_s * RATE);
        if (want == CTL_NONE && (gate_on || aec_kind == 2)) {
            gate_until_settled = aec_kind == 2;
            char vtt[4096];
            snprintf(vtt, sizeof vtt, "%.*s.vtt", (int)(strlen(path) > 4 ? strlen(path) - 4 : strlen(path)), path);
            n_spans = 0;
            if (load_spans(vtt)) return 1;
        }
        if (want == CTL_NONE && aec_kind == 1) { /* the session through the room and speexdsp's canceller */
            float *y = calloc(n + 1, sizeof *y);
            if (!y) return 1;
            through_aec(y, n, x, 0, 1.0, pow(10, -60.0 / 20));
            feed(s, y, NULL, n, want, &right, &wrong, &false_hits);
            free(y);
        } else if (want == CTL_NONE && aec_kind == 2) { /* the session, played into the room */
            float y[BLOCK], y_linear[BLOCK]; /* block by block: the residual rule looks back 1 s */
            for (size_t at = 0; at < n; at += BLOCK) {
                size_t len = n - at < BLOCK ? n - at : BLOCK;
                memset(y, 0, sizeof y);
                through_coach_aec(y, y_linear, len, x + at, 1.0, pow(10, -60.0 / 20), len);
                feed(s, y, use_linear ? y_linear : NULL, len, want, &right, &wrong, &false_hits);
            }
        } else if (want == CTL_NONE) {
            feed(s, x, NULL, n, want, &right, &wrong, &false_hits);
        } else {
            size_t pad = RATE, total = pad + n + pad;
            float *y = calloc(total, sizeof *y), *y_linear = NULL;
            if (!y) return 1;
            memcpy(y + pad, x, n * sizeof *x);
            if (bg && bg_n > total && bg_rms > 0) {
                double gain = speech_rms(x, n) / bg_rms * pow(10, bg_db / 20);
                if (bg_at + total > bg_n) bg_at = 0;
                if (n_spans) {
                    size_t q = quiet_window(bg, bg_at, total, bg_n);
                    if (q == (size_t)-1) q = quiet_window(bg, 0, total, bg_n);
                    if (q == (size_t)-1) {
                        fprintf(stderr, "listen_bench: no %.1f s of the background without speech that is not silent\n",
                                (double)total / RATE);
                        return 1;
                    }
                    bg_at = q;
                }
                double e = 0;
                for (size_t k = 0; k < total; k++) e += (double)bg[bg_at + k] * bg[bg_at + k];
                if (use_aec) {
                    double noise = noise_db < -150 ? 0 : speech_rms(x, n) * pow(10, noise_db / 20);
                    if (!warm) { /* the canceller adapts on the 10 s before the first item */
                        size_t w = 10 * RATE;
                        if (bg_at < w) bg_at = w;
                        float *z = calloc(w + 1, sizeof *z);
                        if (!z) return 1;
                        if (aec_kind == 2)
                            through_coach_aec(z, NULL, w, bg + bg_at - w, gain, noise, 0), caec_ahead += w;
                        else
                            through_aec(z, w, bg, bg_at - w, gain, noise);
                        free(z);
                        warm = true;
                        erle_in = erle_out = 0;
                    }
                    if (aec_kind == 2 && use_linear && !(y_linear = calloc(total, sizeof *y_linear))) return 1;
                    if (aec_kind == 2)
                        through_coach_aec(y, y_linear, total, bg + bg_at, gain, noise, RATE * 9 / 10);
                    else
                        through_aec(y, total, bg, bg_at, gain, noise);
                } else {
                    for (size_t k = 0; k < total; k++) y[k] += (float)(gain * bg[bg_at + k]);
                }
                printf("background %s at %.1f s, %.1f dB below the command\n", path, (double)bg_at / RATE,
                       20 * log10(speech_rms(x, n) / (gain * sqrt(e / total) + 1e-12)));
                bg_at += total + (n_spans ? BG_STRIDE : 0);
            }
            feed(s, y, y_linear, total, want, &right, &wrong, &false_hits);
            free(y_linear);
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
    if (gate_on || gate_until_settled)
        printf("gate%s: %d phrases dropped over the coach's speech\n",
               gate_until_settled ? " (until coach's canceller settled)" : "", gated_hits);
    if (erle_in > 0 && erle_out > 0)
        printf("aec: the coach's sound %.1f dB softer where no command is\n", 10 * log10(erle_in / erle_out));
    if (caec) {
        struct aec_state st;
        aec_state(caec, &st);
        printf("coach aec: %s, delay %.1f ms beyond the stamps (true %.1f), %u searches, %u moves, "
               "cpu %.2f s (share %.4f), %d hits dropped as its residual\n",
               st.locked ? "locked" : "NOT locked", st.delay_ms,
               (CLOCK_OFF_NS / 1e6) + 1000.0 * ECHO_DELAY / RATE, st.searches, st.moves, caec_cpu,
               tot.audio_s > 0 ? caec_cpu / tot.audio_s : 0, residual_hits);
        aec_close(caec);
    }
    spotter_close(s);
    if (aec) {
        speex_preprocess_state_destroy(aec_pre);
        speex_echo_state_destroy(aec);
    }
    free(bg);
    if (dump && fclose(dump)) {
        fprintf(stderr, "listen_bench: --dump: write failed\n");
        return 1;
    }
    return 0;
}
