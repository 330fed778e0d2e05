/* The speech thread of a live session. espeak-ng is not thread-safe, so one
 * thread owns the session's speech and clip store from feeder_start to
 * feeder_stop and does all synthesis: it plans the routine in stages (the
 * title first, so sound starts in milliseconds, then the intro, then the
 * whole routine), hands each timeline to the control thread to swap in,
 * keeps the clips around the playhead ready through the clip window
 * (clipwin.h: 20 s ahead, freed only once the audio callback has moved
 * past them), and makes the speech of spoken answers on request. A
 * session without a routine (the menu's voice) plans nothing and only
 * speaks. */
#ifndef COACH_FEEDER_H
#define COACH_FEEDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "coach/clipwin.h"
#include "coach/live.h"
#include "coach/session.h"

#define FEEDER_MAX_CLIPS 8192  /* clip slots of one session */
#define FEEDER_AHEAD_MS 20000  /* clips prepared this far ahead of the playhead */
#define FEEDER_BEHIND_MS 1000  /* and kept this long after they were heard */

enum feeder_req { FEEDER_REQ_NONE, FEEDER_REQ_TEXT, FEEDER_REQ_REPEAT };

struct feeder {
    /* immutable after feeder_start */
    struct session *s;         /* its speech and clips are the thread's until feeder_stop */
    bool plan;                 /* the session has a routine to plan */
    clip_slot *slots;          /* FEEDER_MAX_CLIPS, read by the audio callback */
    int wake_fd[2];            /* pipe: the thread tells the control thread "timeline ready" */
    pthread_t thread;
    bool started;
    /* speech thread only */
    struct clipwin win;
    uint64_t last_turn_ns;     /* CLOCK_MONOTONIC of the last turn */
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct live *live;         /* set once the engine exists (for played/epoch) */
    struct timeline *tl[3];    /* title, intro, full: made by the thread */
    int n_tl;                  /* timelines made so far */
    int n_taken;               /* timelines the control thread has taken */
    const struct timeline *current; /* what the audio renders (set by control) */
    bool current_new;          /* the thread has not followed current yet */
    uint64_t want_frame;       /* also keep clips ready from here (a jump's target)... */
    bool want_valid;           /* ...until the playhead gets there (or a newer wish) */
    bool want_pending;         /* the control thread waits for the clips at want_frame */
    uint64_t want_since_ns;    /* when it was asked: a wish is dropped after a while */
    uint64_t ready_from, ready_to; /* the windows last made ready, on ready_tl: */
    uint64_t want_from, want_to;   /* around the playhead, and around the wish */
    const struct timeline *ready_tl;
    enum feeder_req req;       /* a request for speech */
    char *req_text;            /* FEEDER_REQ_TEXT */
    const struct timeline *req_tl; /* FEEDER_REQ_REPEAT: the last instruction before req_pos */
    uint64_t req_pos;
    float *said_pcm;           /* the answer (the caller's to free) */
    uint64_t said_len;
    int said_rc;
    bool said_ready;
    uint64_t turns;            /* turns taken (each moved the window to the playhead) */
    uint64_t turn_wanted;      /* the control thread waits for this turn */
    bool stop;
    int rc;                    /* first error of the thread (0 = fine) */
    char err[512];
};

/* Starts the thread. With a routine, waits for the first (title) timeline,
 * its speech ready, and returns it in *first; a voice only: *first is
 * NULL. Returns 0 or negative with a reason in f->err. */
int feeder_start(struct feeder *f, struct session *s, const struct timeline **first);
/* The engine exists: from now on the thread follows its playhead. */
void feeder_attach(struct feeder *f, struct live *l);
/* Control thread: the next timeline made and not yet taken (NULL if none);
 * *final is true for the whole routine. */
const struct timeline *feeder_take(struct feeder *f, bool *final);
/* Control thread: the timeline the audio now renders. */
void feeder_set_current(struct feeder *f, const struct timeline *tl);
/* Control thread: makes sure the clips from frame on are ready (before a
 * jump, or a faster-than-real-time sink); waits at most timeout_ms.
 * Returns true if ready. */
bool feeder_ready_at(struct feeder *f, uint64_t frame, int timeout_ms);
/* Control thread: waits (at most timeout_ms) for a turn taken from now,
 * which makes the clips around the playhead ready. */
bool feeder_sync(struct feeder *f, int timeout_ms);
/* Is [frame, frame + frames) of tl inside what the thread made ready? */
bool feeder_is_ready(struct feeder *f, const struct timeline *tl, uint64_t frame, uint64_t frames);
/* Control thread: waits up to timeout_ms for a timeline not yet taken. */
bool feeder_wait_timeline(struct feeder *f, int timeout_ms);
/* Control thread: speech for a spoken answer, synthesized from text; the
 * buffer is the caller's (free()). Waits. Returns 0 or negative. */
int feeder_say(struct feeder *f, const char *text, float **pcm, uint64_t *len);
/* The same for the last instruction heard before pos on tl (counts
 * skipped); COACH_ENOTFOUND when there is none yet. */
int feeder_say_last(struct feeder *f, const struct timeline *tl, uint64_t pos, float **pcm,
                    uint64_t *len);
/* The thread's first error (0: none), and its reason into err. */
int feeder_failed(struct feeder *f, char *err, size_t cap);
/* Stops the thread and frees everything it owns (timelines included). */
void feeder_stop(struct feeder *f);

#endif
