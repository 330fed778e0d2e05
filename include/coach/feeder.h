/* The speech thread of a live session. espeak-ng is not thread-safe, so one
 * thread owns it and does all synthesis: it plans the routine in stages (the
 * title first, so sound starts in milliseconds, then the intro, then the
 * whole routine), hands each timeline to the control thread to swap in,
 * prepares every clip shortly before it is heard and frees it after (only
 * once the audio callback has moved past it: see live.epoch), and makes the
 * speech of "repeat" and "where am I" on request. */
#ifndef COACH_FEEDER_H
#define COACH_FEEDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "coach/clips.h"
#include "coach/live.h"
#include "coach/plan.h"
#include "coach/render.h"
#include "coach/routine.h"
#include "coach/speech.h"
#include "coach/voice.h"

#define FEEDER_MAX_CLIPS 8192     /* clip slots of one session */
#define FEEDER_AHEAD_MS 20000     /* clips prepared this far ahead of the playhead */

struct feeder {
    /* immutable after feeder_start */
    const struct routine *r;
    const struct voice *v;
    struct plan_opts po;
    clip_slot *slots;          /* FEEDER_MAX_CLIPS, read by the audio callback */
    int wake_fd[2];            /* pipe: the thread tells the control thread "timeline ready" */
    pthread_t thread;
    /* speech thread only */
    struct speech *sp;
    struct clipstore cs;
    uint64_t *retire_epoch;    /* per clip: epoch at which its slot was cleared, 0 = none */
    float *retired_pcm[FEEDER_MAX_CLIPS];
    uint8_t *needed;           /* per clip: in the window this turn */
    uint64_t last_turn_ns;     /* CLOCK_MONOTONIC of the last turn */
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct live *live;         /* set once the engine runs (for played/epoch) */
    struct timeline *tl[3];    /* title, intro, full: made by the thread */
    int n_tl;                  /* timelines made so far */
    int n_taken;               /* timelines the control thread has taken */
    const struct timeline *current; /* what the audio renders (set by control) */
    uint64_t want_frame;       /* also keep clips ready from here (seek target) */
    bool want_valid;
    char *say_text;            /* request: synthesize this for an overlay */
    int32_t say_clip;          /* request: copy this clip for an overlay (-1 none) */
    float *said_pcm;           /* answer */
    uint64_t said_len;
    bool said_ready;
    bool stop;
    int rc;                    /* first error of the thread (0 = fine) */
    char err[512];
};

/* Starts the thread and waits for the first (title) timeline, which it
 * returns in *first. Returns 0 or negative with a reason in f->err. */
int feeder_start(struct feeder *f, const struct routine *r, const struct voice *v,
                 const struct plan_opts *po, const struct timeline **first);
/* The engine is running: from now on the thread follows its playhead. */
void feeder_attach(struct feeder *f, struct live *l);
/* Control thread: the next timeline made and not yet taken (NULL if none);
 * *final is true for the whole routine. */
const struct timeline *feeder_take(struct feeder *f, bool *final);
/* Control thread: the timeline the audio now renders. */
void feeder_set_current(struct feeder *f, const struct timeline *tl);
/* Control thread: makes sure clips from frame on are ready (before a seek);
 * waits at most timeout_ms. Returns true if ready. */
bool feeder_ready_at(struct feeder *f, uint64_t frame, int timeout_ms);
/* Control thread: speech for an overlay, either text (synthesized) or a
 * clip of the plan (copied); waits. The buffer is the caller's (free()). */
int feeder_say(struct feeder *f, const char *text, int32_t clip, float **pcm, uint64_t *len);
/* Stops the thread and frees everything it owns (timelines included). */
void feeder_stop(struct feeder *f);

#endif
