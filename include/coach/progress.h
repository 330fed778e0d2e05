/* --progress: the session's level from the history. The routine's records
 * (other routines' are ignored) are walked in file order, which is the
 * order sessions ended in (the history is append-only), from the base
 * level (the routine's or --level):
 *   - a clean session (ended "completed", every step done, none skipped,
 *     no pain stop, a pain rating below PROGRESS_PAIN_DOWN or none) adds
 *     one to the streak; every PROGRESS_PER_LEVEL clean sessions in a row
 *     move one level up, capped at hard;
 *   - a pain stop (`hurt`) or a pain rating of PROGRESS_PAIN_DOWN or more
 *     (--ask-pain) steps one level back down, never below easy, and starts
 *     the streak over;
 *   - any other session (stopped, interrupted, a step skipped) starts the
 *     streak over and keeps the level.
 * With no pain, from a clean run this is base + streak / 3, as before. */
#ifndef COACH_PROGRESS_H
#define COACH_PROGRESS_H

#include <stdbool.h>

#include "coach/routine.h"

#define PROGRESS_PER_LEVEL 3 /* full completions in a row per level up */
#define PROGRESS_PAIN_DOWN 7 /* a pain rating this high (0-10) steps a level down */

struct history_damage;
struct history_record;

/* What the walk found. */
struct progress {
    enum level level;   /* the level to play */
    unsigned streak;    /* clean sessions in a row, back from the newest */
    bool stepped_down;  /* the newest record of the routine was a pain stop or rating that
                         * stepped the level down (or would have, below easy) */
    bool pain_stop;     /* that record was a pain stop (else a rating) */
    unsigned pain;      /* its rating, if it had one */
};

/* Reads the history at path (history.h's format and safety rules, damaged
 * lines skipped and counted in *damage, which may be NULL) and walks the
 * records of the routine named routine from base. A missing history is
 * base with a streak of 0. Returns 0, COACH_EINVAL or COACH_EIO (errno
 * kept; out is then base, streak 0). */
int progress_walk(const char *path, const char *routine, enum level base, struct progress *out,
                  struct history_damage *damage);
/* Only the streak (progress_walk's). */
int progress_streak(const char *path, const char *routine, unsigned *streak,
                    struct history_damage *damage);
/* base + streak / PROGRESS_PER_LEVEL, capped at LEVEL_HARD. */
enum level progress_level(enum level base, unsigned streak);
/* Is this record a clean session? Does it step the level down? */
bool progress_clean(const struct history_record *rec);
bool progress_pain(const struct history_record *rec);

#endif
