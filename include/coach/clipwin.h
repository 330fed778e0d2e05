/* The clip window: the one policy that decides which speech clips are
 * ready (prepared, and published in the slots the renderer reads) as a
 * playhead moves through a timeline. Export and live playback use it with
 * different numbers:
 *   - a clip is prepared when one of its uses starts less than ahead_frames
 *     after the playhead (or after a wanted point: a seek's target);
 *   - it is kept while it has a use in [playhead - behind_frames,
 *     playhead + keep_frames), and released after that;
 *     keep_frames == CLIPWIN_UNTIL_LAST_USE keeps it until its last use.
 * Export: one block ahead, kept until the last use, released at once (the
 * renderer runs on the same thread), long clips streamed. Live: 20 s ahead
 * and kept 20 s, 1 s behind, and a released clip's memory is freed only two audio blocks later
 * (the callback may still be reading it in the block it renders): the
 * caller passes the audio thread's block count, its "epoch". */
#ifndef COACH_CLIPWIN_H
#define COACH_CLIPWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/clips.h"
#include "coach/render.h"
#include "coach/timeline.h"

#define CLIPWIN_UNTIL_LAST_USE UINT64_MAX
#define CLIPWIN_NO_WANT UINT64_MAX

struct clipwin_policy {
    uint64_t ahead_frames;  /* prepare uses starting this soon */
    uint64_t behind_frames; /* keep uses that ended this recently */
    uint64_t keep_frames;   /* keep uses starting this soon (>= ahead), or UNTIL_LAST_USE */
    bool deferred_free;     /* another thread renders: free two epochs after release */
    /* Clips at least this long are streamed (clipstore_prepare_streamed):
     * made from behind_frames before the playhead to ahead_frames after it,
     * dropped once heard, and never kept to their last use. 0: never. Only
     * without deferred_free (the renderer on the updating thread). */
    uint64_t stream_min_frames;
};

struct clipwin_retired {
    float *pcm;
    uint64_t epoch; /* the reader's epoch when it was released */
};

struct clipwin {
    /* immutable after clipwin_init */
    struct clipstore *cs;      /* borrowed */
    clip_slot *slots;          /* clip id -> published PCM, read by the renderer */
    size_t n_slots;
    struct clipwin_policy pol;
    /* the owner's thread only */
    const struct timeline *tl; /* the timeline followed */
    uint64_t *last_end;        /* clip id -> end frame of its last use in tl */
    uint32_t *seen;            /* clip id -> update number that last needed it */
    uint32_t update_no;
    uint32_t *ready;           /* ids prepared by the window */
    size_t n_ready;
    struct clipwin_retired *retired; /* released, not yet freed (deferred_free) */
    size_t n_retired, cap_retired;
    uint64_t prepares;         /* clips prepared so far (each preparation counted) */
    /* streamed clips (stream_min_frames): id -> the frames this update needs */
    uint64_t *need_lo, *need_hi;
    uint32_t *need_no;         /* id -> update number need_lo/hi are for */
};

/* slots: n_slots entries (zeroed by the caller), shared with the renderer.
 * Returns 0 or COACH_ENOMEM. */
int clipwin_init(struct clipwin *w, struct clipstore *cs, clip_slot *slots, size_t n_slots,
                 const struct clipwin_policy *pol);
/* Follows tl from now on (a prefix replaced by the full plan keeps what is
 * ready). Checks every speech event against the store: a known clip, within
 * the slots, no longer in the timeline than in the store. Returns 0 or
 * COACH_EINVAL (with a reason in err) or COACH_ENOMEM. */
int clipwin_set_timeline(struct clipwin *w, const struct timeline *tl, char *err, size_t err_cap);
/* One look at the playhead: prepares what is due (also around want, unless
 * CLIPWIN_NO_WANT), releases what is no longer kept, frees what the reader
 * (at epoch) can no longer be reading. Returns 0 or the error of a clip
 * that could not be prepared. */
int clipwin_update(struct clipwin *w, uint64_t playhead, uint64_t want, uint64_t epoch);
/* Releases every clip and frees everything (no reader may be left). */
void clipwin_free(struct clipwin *w);

#endif
