/* How a routine has been kept up, from the history: when it was last done
 * (today, yesterday, a weekday within the week, or N days ago) and how
 * many calendar days in a row it has been done, in local time; and the
 * menu's sentence for it ("Last done Tuesday. 4 days in a row." / "Not
 * done yet."). Pure functions of the records and "now": no clock, no
 * file here (menu.c reads the history). */
#ifndef COACH_HABIT_H
#define COACH_HABIT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "coach/history.h"
#include "coach/voice.h"

struct habit {
    bool known;           /* the history could be read: false says nothing */
    bool done;            /* some session of the routine counts (habit_counts) */
    unsigned days_ago;    /* calendar days from the last one to now; 0: today */
    int weekday;          /* of the last one: 0 Sunday .. 6 Saturday */
    unsigned streak_days; /* calendar days in a row with one, ending on the last;
                           * 0 unless the last was today or yesterday (a run
                           * that is over is not "in a row" any more) */
};

/* A session counts when at least one step of it was done (heard to its
 * end): opening a routine and stopping at once is not doing it. */
bool habit_counts(const struct history_record *rec);
/* From the start times of the sessions that count (any order; a time of
 * -1 is passed over) and now: h->known is set. */
void habit_from_times(const time_t *when, size_t n, time_t now, struct habit *h);
/* From history records: those of routine (by name) that count. */
void habit_of(const struct history_record *recs, size_t n, const char *routine, time_t now,
              struct habit *h);
/* The sentence(s) for h from the voice profile: "Not done yet.", "Last done
 * today." / "yesterday." / "Tuesday." (2-6 days ago) / "12 days ago.",
 * then "4 days in a row." from 2 days on. NULL if there is nothing to say
 * (not known, or the profile has none of these phrases) or no memory. */
char *habit_text(const struct habit *h, const struct voice *v);

#endif
