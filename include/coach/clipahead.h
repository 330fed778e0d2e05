/* Speech clips made ahead on a second thread (export). Making a clip
 * (decoding its FLAC source, resampling, scaling: clipstore_make) was half
 * of the rendering thread's time in a warm export; here a thread of its own
 * makes each clip a few seconds before it is heard, and the clip window's
 * preparation (clipstore_prepare, through the store's premade hook) takes
 * it ready. The frames are clipstore_make's, so the output is the same
 * bytes with or without it.
 *
 * What it makes is decided once, from the timeline, before it starts: each
 * use of a clip that the clip window will prepare anew (no use of it ended
 * within the window's keep and behind spans before), made whole, or in
 * pieces for a clip the window streams. It stays at most ahead_frames
 * ahead of the playhead the owner gives it, holding about max_bytes at
 * most (a piece due soon is made whatever is held: the owner may be
 * waiting for it), and leaves a clip due soon to the owner, which makes it
 * itself when nothing is ready: a slow thread never holds the rendering
 * up. A clip made and not taken (the window kept it from before) is freed
 * once its use has passed, so memory stays within what ahead_frames holds.
 * A clip it cannot make (no memory) is left to the owner, which meets the
 * error itself. */
#ifndef COACH_CLIPAHEAD_H
#define COACH_CLIPAHEAD_H

#include <stdint.h>

#include "coach/clips.h"
#include "coach/clipwin.h"
#include "coach/timeline.h"

struct clipahead;

struct clipahead_policy {
    uint64_t first_frame;  /* the playhead starts here */
    uint64_t ahead_frames; /* make clips due this soon after the playhead */
    size_t max_bytes;      /* hold at most about this much made and not taken; 0: no bound */
};

struct clipahead_stats {
    uint64_t made;  /* clips made by the thread */
    uint64_t taken; /* of those, taken by the owner */
    uint64_t waits; /* times the thread slept for the playhead or for room */
};

/* Plans the clips of tl to make for the owner's clip window (win: what it
 * prepares anew, what it streams; a clip due within one and a half times
 * its lead is left to it) and starts the thread (every signal blocked),
 * and hooks it into cs (cs->premade). cs must gain no clip until
 * clipahead_stop. *out is NULL when there is nothing to make (no thread).
 * Returns 0 or COACH_ENOMEM. */
int clipahead_start(struct clipahead **out, struct clipstore *cs, const struct timeline *tl,
                    const struct clipwin_policy *win, const struct clipahead_policy *pol);
/* The owner's playhead moved to frame (called before each block). */
void clipahead_advance(struct clipahead *a, uint64_t frame);
/* Waits until the thread has made all it may for now (it waits for the
 * playhead) or has nothing more to make: for tests that need it ahead. */
void clipahead_settle(struct clipahead *a);
/* Stops and joins the thread, frees what was not taken, unhooks cs, and
 * fills *stats (if not NULL). NULL: nothing. */
void clipahead_stop(struct clipahead *a, struct clipahead_stats *stats);

#endif
