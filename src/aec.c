/* The echo canceller of spoken commands (include/coach/aec.h): speexdsp's
 * MDF canceller and residual-echo suppressor, fed the coach's own output,
 * aligned by a delay search. */
#include "coach/aec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

#include "coach/common.h"

#define REF_HIST (1u << 17) /* 8.2 s of reference: the output renders ahead of the microphone */
#define MIC_HIST (1u << 16) /* 4.1 s of microphone: a search's window */
#define FRAME_HIST 512u     /* 8.2 s of frames' energies (aec_kept_db) */
#define MS(ms) ((long)(ms) * AEC_RATE_HZ / 1000)
#define DECIM 8             /* the search runs at 2 kHz */
#define SEARCH_EVERY MS(2000)      /* unlocked: look again this often */
#define TRACK_EVERY MS(10000)      /* locked: search again this often (the clocks drift) */
#define TRACK_MOVE_MS 10           /* ... and move the reference only past this, */
#define CONFIRM_EVERY MS(AEC_WINDOW_MS) /* ... once a search over the next window agrees */
#define UNIQUE_MS 25               /* a rival match is this far from the best one */
#define UNIQUE_RATIO 0.8           /* ... and must score under this share of it */
/* A search below this is not taken: speech against other speech stays
 * under 0.1 over a window; the coach's echo through a room is 0.3-1. */
#define LOCK_SCORE 0.25
/* Settled (aec_settled_at) once the coach's sound is this much softer
 * over this many of its frames (0.5 s), after a lock or a move. Through a
 * real PulseAudio path (tests/listen.sh) it was -21 dB 2 s after the
 * lock, -28 dB at 3 s; through the bench's room -57 dB at 3 s. */
#define CONVERGED_DB -25.0
#define CONVERGE_FRAMES 31

struct aec {
    SpeexEchoState *echo;
    SpeexPreprocessState *pre;
    float ref[REF_HIST];
    int64_t ref_total; /* reference samples since the (re)start */
    int64_t ref_t0_ns; /* when reference sample 0 is heard, by the output's clock */
    bool have_ref;
    int16_t mic[MIC_HIST];
    int64_t mic_total; /* microphone samples since opening */
    int64_t mic_t0_ns; /* when microphone sample 0 was captured */
    int16_t in[AEC_FRAME], out[AEC_FRAME];
    int16_t linear[AEC_FRAME]; /* out before speexdsp's preprocessor: see aec_mic */
    size_t fill;
    bool locked;
    int64_t locked_at; /* locked: the microphone sample at which it locked, or last moved */
    /* since then: the first microphone sample by which it had taken the
     * coach's sound CONVERGED_DB out over CONVERGE_FRAMES of it (-1: not
     * yet), and the sums of the frames counted towards it */
    int64_t converged_at;
    double conv_in, conv_out;
    int conv_frames;
    int64_t k;         /* locked: microphone sample m holds the echo of reference sample m + k */
    bool moving;       /* locked: a search put the echo at k_new; the next one confirms it */
    int64_t k_new;
    int64_t next_search;
    struct aec_state st;
    double e_in, e_out; /* erle_db's sums */
    float fr_in[FRAME_HIST], fr_out[FRAME_HIST]; /* each frame's energy, before and after */
};

static int16_t to_i16(double v)
{
    v *= 32767.0;
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
}

/* x[0..n) box-averaged by DECIM into d (n / DECIM values), as doubles. */
static void decimate_i16(const int16_t *x, size_t n, double *d)
{
    for (size_t i = 0; i < n / DECIM; i++) {
        double s = 0;
        for (size_t k = 0; k < DECIM; k++) s += x[i * DECIM + k];
        d[i] = s / DECIM;
    }
}

long aec_find_delay(const int16_t *mic, size_t n, const int16_t *ref, size_t min_lag, size_t max_lag,
                    double *score)
{
    *score = 0;
    size_t nm = n / DECIM, nr = (n + min_lag + max_lag) / DECIM;
    size_t lo = min_lag / DECIM, hi = max_lag / DECIM; /* lags at 2 kHz */
    if (!nm || nr < nm + lo + hi) return 0;
    double *m = malloc(nm * sizeof *m), *r = malloc(nr * sizeof *r);
    if (!m || !r) {
        free(m);
        free(r);
        return 0;
    }
    decimate_i16(mic, nm * DECIM, m);
    decimate_i16(ref, nr * DECIM, r);
    double em = 0;
    for (size_t j = 0; j < nm; j++) em += m[j] * m[j];
    /* the reference under the window at lag -lo: then slid one sample a lag */
    double er = 0;
    size_t first = hi + lo; /* lag l uses r[hi - l + j], j < nm; start at l = -lo */
    for (size_t j = 0; j < nm; j++) er += r[first + j] * r[first + j];
    const double floor = (double)nm * 30.0 * 30.0; /* RMS 30 of 32768: -60 dBFS */
    long best = 0;
    double best_s = 0;
    double *sc = calloc(lo + hi + 1, sizeof *sc); /* each lag's score */
    if (em > floor && sc) {
        for (long l = -(long)lo; l <= (long)hi; l++) {
            size_t at = (size_t)((long)hi - l);
            if (l > -(long)lo) { /* the window moved one sample earlier */
                er += r[at] * r[at] - r[at + nm] * r[at + nm];
                if (er < 0) er = 0;
            }
            if (er <= floor) continue;
            double c = 0;
            for (size_t j = 0; j < nm; j++) c += m[j] * r[at + j];
            double s = fabs(c) / sqrt(em * er);
            sc[l + (long)lo] = s;
            if (s > best_s) best_s = s, best = l;
        }
        long apart = (long)(UNIQUE_MS * AEC_RATE_HZ / 1000 / DECIM);
        for (long l = -(long)lo; l <= (long)hi; l++)
            if (labs(l - best) > apart && sc[l + (long)lo] >= UNIQUE_RATIO * best_s) best_s = 0, best = 0;
    }
    free(sc);
    free(m);
    free(r);
    *score = best_s;
    return best * DECIM;
}

int aec_open(struct aec **out)
{
    struct aec *a = calloc(1, sizeof *a);
    if (!a) return COACH_ENOMEM;
    a->echo = speex_echo_state_init(AEC_FRAME, MS(AEC_FILTER_MS));
    a->pre = speex_preprocess_state_init(AEC_FRAME, AEC_RATE_HZ);
    if (!a->echo || !a->pre) {
        aec_close(a);
        return COACH_ENOMEM;
    }
    int rate = AEC_RATE_HZ;
    speex_echo_ctl(a->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
    speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_ECHO_STATE, a->echo);
    a->next_search = MS(AEC_WINDOW_MS);
    *out = a;
    return 0;
}

void aec_close(struct aec *a)
{
    if (!a) return;
    if (a->pre) speex_preprocess_state_destroy(a->pre);
    if (a->echo) speex_echo_state_destroy(a->echo);
    free(a);
}

void aec_restart(struct aec *a)
{
    a->ref_total = 0;
    a->have_ref = false;
    a->locked = false;
    a->moving = false;
    a->st.locked = false;
    a->next_search = a->mic_total + SEARCH_EVERY;
    speex_echo_state_reset(a->echo);
}

void aec_ref(struct aec *a, const float *x, size_t n, uint64_t play_ns)
{
    /* the newest mapping: the caller's estimate improves as it goes */
    a->ref_t0_ns = (int64_t)play_ns - a->ref_total * 1000000000 / AEC_RATE_HZ;
    a->have_ref = true;
    for (size_t i = 0; i < n; i++) a->ref[(size_t)(a->ref_total + (int64_t)i) % REF_HIST] = x[i];
    a->ref_total += (int64_t)n;
}

/* Its filter adapts anew from microphone sample m: not settled until it
 * has converged again. */
static void adapt_anew(struct aec *a, int64_t m)
{
    a->locked_at = m;
    a->converged_at = -1;
    a->conv_in = a->conv_out = 0;
    a->conv_frames = 0;
}

/* Reference sample r as int16 (0 where there is none). */
static int16_t ref_at(const struct aec *a, int64_t r)
{
    if (r < 0 || r >= a->ref_total || r < a->ref_total - (int64_t)REF_HIST) return 0;
    return to_i16(a->ref[(size_t)r % REF_HIST]);
}

/* Searches around k_center (microphone sample m against reference m + k)
 * over the last AEC_WINDOW_MS; true with *k_out if the match is clear. */
static bool search(struct aec *a, int64_t k_center, long early, long late, int64_t *k_out)
{
    size_t n = (size_t)MS(AEC_WINDOW_MS);
    int64_t m0 = a->mic_total - (int64_t)n;
    int16_t *mic = malloc(n * sizeof *mic), *ref = malloc((n + (size_t)(early + late)) * sizeof *ref);
    bool ok = false;
    if (mic && ref) {
        for (size_t j = 0; j < n; j++) mic[j] = a->mic[(size_t)(m0 + (int64_t)j) % MIC_HIST];
        /* ref[j + late] is reference m0 + j + k_center */
        int64_t r0 = m0 + k_center - late;
        for (size_t j = 0; j < n + (size_t)(early + late); j++) ref[j] = ref_at(a, r0 + (int64_t)j);
        double score;
        long lag = aec_find_delay(mic, n, ref, (size_t)early, (size_t)late, &score);
        a->st.score = score;
        a->st.searches++;
        if (score >= LOCK_SCORE) {
            *k_out = k_center - lag;
            ok = true;
        }
    }
    free(mic);
    free(ref);
    return ok;
}

/* Where the clocks say the echo is: reference = microphone + k. */
static int64_t nominal_k(const struct aec *a)
{
    return (a->mic_t0_ns - a->ref_t0_ns) * AEC_RATE_HZ / 1000000000;
}

static void maybe_search(struct aec *a)
{
    if (!a->have_ref || a->mic_total < MS(AEC_WINDOW_MS) || a->mic_total < a->next_search) return;
    int64_t k;
    if (!a->locked) {
        a->next_search = a->mic_total + SEARCH_EVERY;
        int64_t k_nom = nominal_k(a);
        if (search(a, k_nom, MS(AEC_SEARCH_EARLY_MS), MS(AEC_SEARCH_LATE_MS), &k)) {
            a->locked = true;
            adapt_anew(a, a->mic_total);
            a->k = k;
            a->st.delay_ms = (double)(k_nom - k) * 1000.0 / AEC_RATE_HZ;
            speex_echo_state_reset(a->echo);
        }
    } else { /* the whole range again: a first lock may have been wrong */
        /* One window's answer is not enough to move: a coach's tone or
         * count can match itself a reflection later (core-strength moved
         * 150 -> 206 ms and back every 10 s, bench/listen_bench.sh), and
         * each move leaves the filter adapting anew with the coach let
         * through. A second search over the next window must agree. */
        int64_t k_nom = nominal_k(a);
        bool found = search(a, k_nom, MS(AEC_SEARCH_EARLY_MS), MS(AEC_SEARCH_LATE_MS), &k);
        bool elsewhere = found && llabs(k - a->k) >= MS(TRACK_MOVE_MS);
        if (elsewhere && a->moving && llabs(k - a->k_new) < MS(TRACK_MOVE_MS)) {
            a->st.delay_ms = (double)(k_nom - k) * 1000.0 / AEC_RATE_HZ;
            a->k = k;
            a->st.moves++;
            adapt_anew(a, a->mic_total); /* see aec_settled_at */
            elsewhere = false;
        }
        a->moving = elsewhere;
        a->k_new = k;
        a->next_search = a->mic_total + (elsewhere ? CONFIRM_EVERY : TRACK_EVERY);
    }
    a->st.locked = a->locked;
}

/* One full frame in a->in (microphone samples m_first...): into a->out. */
static void run_frame(struct aec *a, int64_t m_first)
{
    size_t f = (size_t)(m_first / AEC_FRAME) % FRAME_HIST;
    double e_in = 0, e_out = 0;
    for (size_t i = 0; i < AEC_FRAME; i++) e_in += (double)a->in[i] * a->in[i];
    a->fr_in[f] = a->fr_out[f] = (float)e_in;
    if (!a->locked) {
        memcpy(a->out, a->in, sizeof a->out);
        memcpy(a->linear, a->in, sizeof a->linear);
        return;
    }
    int16_t ref[AEC_FRAME];
    int64_t r0 = m_first + a->k + MS(AEC_LEAD_MS);
    double e_ref = 0;
    for (size_t i = 0; i < AEC_FRAME; i++) {
        ref[i] = ref_at(a, r0 + (int64_t)i);
        e_ref += (double)ref[i] * ref[i];
    }
    if (r0 + AEC_FRAME > a->ref_total) /* the tap is behind: rendered, not yet taken */
        a->st.ref_missing += (uint64_t)(r0 >= a->ref_total ? AEC_FRAME : r0 + AEC_FRAME - a->ref_total);
    speex_echo_cancellation(a->echo, a->in, ref, a->out);
    memcpy(a->linear, a->out, sizeof a->linear);
    speex_preprocess_run(a->pre, a->out);
    for (size_t i = 0; i < AEC_FRAME; i++) e_out += (double)a->out[i] * a->out[i];
    a->fr_out[f] = (float)e_out;
    if (e_ref <= AEC_FRAME * 100.0 * 100.0) return; /* the coach is silent (under -50 dBFS) */
    a->e_in += e_in;
    a->e_out += e_out;
    a->st.erle_db = 10 * log10((a->e_in + 1) / (a->e_out + 1));
    if (a->converged_at < 0) { /* converging: judged over 0.5 s of the coach at a time */
        a->conv_in += e_in;
        a->conv_out += e_out;
        if (++a->conv_frames == CONVERGE_FRAMES) {
            if (10 * log10((a->conv_out + 1) / (a->conv_in + 1)) <= CONVERGED_DB) a->converged_at = m_first + AEC_FRAME;
            a->conv_in = a->conv_out = 0;
            a->conv_frames = 0;
        }
    }
}

void aec_mic(struct aec *a, const int16_t *in, size_t n, uint64_t end_ns, int16_t *out, int16_t *linear)
{
    for (size_t i = 0; i < n; i++) {
        a->mic[(size_t)a->mic_total % MIC_HIST] = in[i];
        a->in[a->fill] = in[i];
        out[i] = a->out[a->fill];
        if (linear) linear[i] = a->linear[a->fill];
        a->mic_total++;
        if (++a->fill == AEC_FRAME) {
            run_frame(a, a->mic_total - AEC_FRAME);
            a->fill = 0;
        }
    }
    if (n) a->mic_t0_ns = (int64_t)end_ns - (a->mic_total - 1) * 1000000000 / AEC_RATE_HZ;
    maybe_search(a);
}

double aec_kept_db(const struct aec *a, uint64_t from, uint64_t to)
{
    uint64_t done = (uint64_t)a->mic_total / AEC_FRAME; /* frames run */
    uint64_t f0 = from / AEC_FRAME, f1 = (to + AEC_FRAME - 1) / AEC_FRAME;
    if (f1 > done) f1 = done;
    if (f0 + FRAME_HIST < done) f0 = done - FRAME_HIST;
    double in = 0, out = 0;
    for (uint64_t f = f0; f < f1; f++) in += a->fr_in[f % FRAME_HIST], out += a->fr_out[f % FRAME_HIST];
    return in > 0 ? 10 * log10((out + 1e-3) / in) : 0.0;
}

bool aec_settled_at(const struct aec *a, uint64_t from)
{
    return a->locked && a->locked_at + MS(AEC_SETTLE_MS) <= (int64_t)from && a->converged_at >= 0 &&
           a->converged_at <= (int64_t)from;
}

void aec_state(const struct aec *a, struct aec_state *st) { *st = a->st; }
