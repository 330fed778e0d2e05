/* Where a live session is, from its timeline and playhead, and where the
 * commands that move it go. The steps a listener moves between are the
 * moves (exercises and breathing); each has a lead-in, the part before its
 * own start that announces it (a rest that says "Next: Bridge." and reads
 * its setup, a standalone rest or a spoken step before it), and its body,
 * from its title on. Before the first move is the intro; after the last,
 * the ending.
 *   next:     in a lead-in, or while a step's title is said (unless a jump
 *             just landed there: next, next goes on): that step's start
 *             (the announced step begins); in a body: the next move's
 *             lead-in; in the last move: the ending.
 *   previous: the previous move's lead-in.
 *   back:     the start of what is playing: the body's, the lead-in's, the
 *             intro's or the ending's.
 * Also the words for "where am I", and the last instruction to repeat. */
#ifndef COACH_POSITION_H
#define COACH_POSITION_H

#include <stdbool.h>
#include <stdint.h>

#include "coach/clips.h"
#include "coach/routine.h"
#include "coach/timeline.h"
#include "coach/voice.h"

enum nav_result {
    NAV_OK,
    NAV_NO_NEXT,     /* in the ending: nothing follows */
    NAV_NO_PREVIOUS, /* in the intro or the first move: nothing before */
};

/* The frame a command goes to from pos, in *to. jumped_to: where the last
 * jump landed (UINT64_MAX: none). */
enum nav_result position_next(const struct timeline *tl, const struct routine *r, uint64_t pos,
                              uint64_t jumped_to, uint64_t *to);
enum nav_result position_previous(const struct timeline *tl, const struct routine *r, uint64_t pos,
                                  uint64_t *to);
uint64_t position_back(const struct timeline *tl, const struct routine *r, uint64_t pos);

/* A pain stop at pos (`hurt`): the move it concerns in *step (the move
 * playing, or the one a lead-in or the intro announces; the last one in
 * the ending) and where skipping it goes in *skip_to: the next move's
 * lead-in, or the ending after the last move (in the ending: pos, nothing
 * left to skip). Returns false if the timeline has no move (or memory ran
 * out). */
bool position_skip_move(const struct timeline *tl, const struct routine *r, uint64_t pos,
                        int32_t *step, uint64_t *skip_to);

/* "Exercise 3 of 9: Bridge. Set 1 of 2. Left leg. Hold 4 of 10. 40 seconds
 * left in this step. 12 minutes left in the routine.", "Paused." first when
 * paused, "Resting. Next: Bridge. 12 seconds left in this rest." in a rest
 * (heap; NULL if memory ran out). In a self-paced part (timeline.h's
 * struct wait) the time left in the step or rest is not said: it is the
 * listener's. */
char *position_where(const struct timeline *tl, const struct routine *r, const struct voice *v,
                     enum level lv, uint64_t pos, bool paused);
/* The clip of the last instruction heard before pos (counts and bare
 * numbers skipped: their texts come from cs), or -1. */
int32_t position_last_instruction(const struct timeline *tl, const struct clipstore *cs,
                                  uint64_t pos);
/* Is step a move (an exercise or a breathing step)? */
bool position_is_move(const struct routine *r, int32_t step);

#endif
