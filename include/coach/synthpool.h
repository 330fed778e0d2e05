/* Phrases synthesized on every core: a pool of worker processes.
 *
 * The engines keep global state and are not thread-safe, so a second core
 * needs a second process: synthpool_run forks its workers from the calling
 * process (its engine opened), worker k of n takes jobs k, k + n, k + 2n...
 * in that order, and does all the work of each phrase: synthesis, then
 * (when asked) the lossless pcmstore FLAC stream and the BS.1770 loudness;
 * the caller gets each result as it arrives.
 *
 * espeak-ng 1.51 keeps state from one synthesis to the next (wavegen's
 * flutter index, phases, counters; no call resets it, and a fork per
 * phrase costs more than the phrase: DEPENDENCY-NOTES), so a phrase's
 * samples can differ by a few from one context to another. The fixed
 * split and order make them depend only on the job list, the number of
 * workers and what the calling process said before: the same export twice
 * gives the same bytes.
 * Not thread-safe: one caller at a time per process. */
#ifndef COACH_SYNTHPOOL_H
#define COACH_SYNTHPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/speech.h"

#define SYNTHPOOL_MAX_WORKERS 16

struct synth_job {
    const char *text;    /* borrowed */
    int rate_wpm;        /* 0: the voice's own */
    /* the result, set before done() is called: */
    int rc;              /* 0 or negative (speech_synth_at's errors) */
    size_t src_len;      /* frames at src_rate_hz, silence trimmed */
    uint32_t src_rate_hz;
    uint8_t *flac;       /* pcmstore stream (malloc'd; done() may take it), if asked */
    size_t flac_bytes;
    double loudness_lufs;
    int loudness_known;
};

/* Workers at once by default: coach_cores() (at most
 * SYNTHPOOL_MAX_WORKERS), or $COACH_SYNTH_JOBS (1..16) when set. */
unsigned synthpool_default_workers(void);

/* Synthesizes jobs[0..n) with sp on min(workers, n) worker processes, or
 * in this process when that is 1 (or no process can be made); with audio,
 * each phrase's source is also encoded (flac) and its loudness measured,
 * else only its length is known. done(ctx, job) is called in this process
 * as each finishes, in any order; a job's flac is freed after done() unless
 * done() took it (set job->flac = NULL). A job that failed (its worker
 * died: rc COACH_ESPEECH) is passed to done() too. Returns 0, COACH_EINTR
 * (a signal: the workers are stopped) or COACH_EIO. */
int synthpool_run(struct speech *sp, struct synth_job *jobs, size_t n, unsigned workers,
                  bool audio, void (*done)(void *ctx, struct synth_job *job), void *ctx);

#endif
