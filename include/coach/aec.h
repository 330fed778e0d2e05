/* Echo cancellation of spoken commands: the microphone hears the coach,
 * and the coach knows exactly what it played (the far-end reference,
 * sink_tap.h), so speexdsp's echo canceller and residual-echo suppressor
 * take the coach out of the microphone before the spotter hears it. The
 * two streams are only roughly aligned by their clocks (a device's
 * reported latency is unreliable through a sound server): a delay search
 * (cross-correlation over a bounded range) finds where the coach's sound
 * is in the microphone, and is repeated now and then to follow the two
 * devices' clocks drifting apart (moving only when two windows in a row
 * agree). Pure computation at 16 kHz on the listener's thread: no
 * device, no lock, testable on synthetic signals. */
#ifndef COACH_AEC_H
#define COACH_AEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AEC_RATE_HZ 16000
#define AEC_FRAME 256      /* 16 ms: the canceller's step (it converges faster than at 10 ms), and the output's fixed delay */
#define AEC_FILTER_MS 200  /* the echo it can model, AEC_LEAD_MS included: the room's tail (PulseAudio's default) */
#define AEC_LEAD_MS 30     /* the reference is given this much early: the filter sees the direct sound */
/* The delay search looks this far either side of what the clocks say
 * (the echo is later than nominal: latency under-reported). */
#define AEC_SEARCH_EARLY_MS 600
#define AEC_SEARCH_LATE_MS 1000
#define AEC_WINDOW_MS 3000 /* microphone audio a search compares */

/* The delay search: mic[0..n) against ref, where ref[j + max_lag] is the
 * reference at the time of mic[j] (ref has n + max_lag + min_lag samples,
 * ref[0] the earliest). The lag in [-min_lag, max_lag] (samples; positive:
 * the echo comes later) whose reference best matches the microphone, by
 * normalized cross-correlation at 2 kHz; its score (0..1) in *score, 0
 * when either side is silent or another lag over 25 ms away matches
 * nearly as well (the coach repeating itself: "Coach pause. Coach
 * continue." matches itself a word later). Returns the lag (0 if none). */
long aec_find_delay(const int16_t *mic, size_t n, const int16_t *ref, size_t min_lag, size_t max_lag,
                    double *score);

struct aec;

/* Returns 0 or COACH_ENOMEM. */
int aec_open(struct aec **out);
void aec_close(struct aec *a);
/* The output was reopened (or lost its place): the reference starts
 * again, the delay is searched again. */
void aec_restart(struct aec *a);
/* The reference: n samples at 16 kHz, in order, the first of them heard
 * (by the output's clock) at play_ns, CLOCK_MONOTONIC. */
void aec_ref(struct aec *a, const float *x, size_t n, uint64_t play_ns);
/* The microphone: n samples, the last captured at end_ns. out gets n
 * samples, the input with the coach taken out, AEC_FRAME samples late
 * (the same delay whether or not it is cancelling). linear (NULL: not
 * wanted) gets the same samples as the linear filter left them, before
 * speexdsp's preprocessor suppresses what is left of the echo and the
 * noise: more of the coach remains there, but also all of a command said
 * over it (the suppression takes a /p/'s burst out with the coach's
 * echo: spotter_feed_both). */
void aec_mic(struct aec *a, const int16_t *in, size_t n, uint64_t end_ns, int16_t *out, int16_t *linear);

/* How much of the microphone's sound over its samples [from, to)
 * (counted from the first given to aec_mic; the output's sample j is the
 * input's j - AEC_FRAME) the canceller let through, in dB: about 0 where
 * a person speaks (or nothing was cancelled), -40 where only the coach's
 * echo was. Within the last 8 s. */
double aec_kept_db(const struct aec *a, uint64_t from, uint64_t to);
/* A phrase over which the canceller kept less than this is what was left
 * of the coach's own voice (the recognizer normalizes its level, so even
 * a residual 40 dB down can sound like words to it), not a person. */
#define AEC_RESIDUAL_DB -20.0

/* Whether the canceller had found the coach AEC_SETTLE_MS before the
 * microphone's sample `from` (counted as for aec_kept_db), ran since
 * without moving its reference, and by `from` had taken the coach's sound
 * 25 dB out over half a second of it: only then does aec_kept_db tell
 * what is left of the coach from a person over [from, ...). Just after it
 * locks, or moves, its filter has not converged: the coach's "three
 * calming breathing techniques" at 4 s of a session was heard as "coach
 * it hurts", 1 s after the lock, and its speech in core-strength as
 * "coach louder" just after a move (bench/listen_bench.sh); through a
 * real PulseAudio path it was only 21 dB softer 2 s after the lock, 28 dB
 * at 3 s. A path where it never gets there is never settled. */
bool aec_settled_at(const struct aec *a, uint64_t from);
#define AEC_SETTLE_MS 2000

struct aec_state {
    bool locked;      /* the delay is found: the canceller runs */
    double delay_ms;  /* the echo's delay beyond what the clocks say (locked) */
    double score;     /* the last search's correlation (0..1) */
    unsigned searches; /* searches run */
    unsigned moves;    /* times two later searches in a row moved the reference */
    /* locked, over the frames where the coach sounds: the microphone's
     * energy over the output's, in dB (the echo taken out; a person
     * speaking over the coach lowers it) */
    double erle_db;
    uint64_t ref_missing; /* samples the canceller needed before they were taken from the tap */
};
void aec_state(const struct aec *a, struct aec_state *st);

#endif
