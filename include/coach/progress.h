/* --progress: the session's level from the history. The streak is the
 * number of the routine's most recent records, newest first, that ended
 * "completed" with every step done and none skipped, stopping at the first
 * that did not
 * (other routines' records are ignored). Every 3 of them move the session
 * one level up from its base level, capped at hard:
 * level = base + streak / 3. Records count in file order, which is the
 * order sessions ended in (the history is append-only). */
#ifndef COACH_PROGRESS_H
#define COACH_PROGRESS_H

#include "coach/routine.h"

#define PROGRESS_PER_LEVEL 3 /* full completions in a row per level up */

struct history_damage;
/* Reads the history at path (history.h's format and safety rules, damaged
 * lines skipped and counted in *damage, which may be NULL) and sets
 * *streak for the routine named routine. A missing history is a streak of
 * 0. Returns 0, COACH_EINVAL or COACH_EIO (errno kept). */
int progress_streak(const char *path, const char *routine, unsigned *streak,
                    struct history_damage *damage);
/* base + streak / PROGRESS_PER_LEVEL, capped at LEVEL_HARD. */
enum level progress_level(enum level base, unsigned streak);

#endif
