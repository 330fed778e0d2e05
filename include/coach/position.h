/* Where a live session is, from its timeline and playhead: the words for
 * "where am I", the last instruction to repeat, the steps to jump to, and
 * how many steps were done (for the history). */
#ifndef COACH_POSITION_H
#define COACH_POSITION_H

#include <stdint.h>

#include "coach/routine.h"
#include "coach/timeline.h"
#include "coach/voice.h"

/* "Exercise 3 of 9: Bridge. Set 1 of 2. Left leg. Repetition 4 of 10.
 * 40 seconds left in this step. 12 minutes left in the routine." (heap). */
char *position_where(const struct timeline *tl, const struct routine *r, const struct voice *v,
                     enum level lv, uint64_t pos);
/* The clip of the last instruction heard before pos (counts and bare
 * numbers skipped), or -1. */
int32_t position_last_instruction(const struct timeline *tl, uint64_t pos);
/* Start frame of the chapter holding pos. */
uint64_t position_chapter_start(const struct timeline *tl, uint64_t pos);
/* Start frame of the next chapter, or UINT64_MAX at the last one. */
uint64_t position_next_chapter(const struct timeline *tl, uint64_t pos);
/* Exercise and breathing steps whose chapter ended at or before pos. */
unsigned position_moves_done(const struct timeline *tl, const struct routine *r, uint64_t pos);

#endif
