/* When a routine was last done and the days in a row, from its history
 * records, in the local calendar (a session at 23:50 and one at 00:10 are
 * two days in a row), and the menu's words for it. */
#define _POSIX_C_SOURCE 200809L /* localtime_r */
#include "coach/habit.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

/* Days since 1970-01-01 of t's local date (proleptic Gregorian), and its
 * weekday; false if t has no local time. */
static bool local_day(time_t t, long *day, int *wday)
{
    struct tm tm;
    if (t == (time_t)-1 || !localtime_r(&t, &tm)) return false;
    long y = tm.tm_year + 1900L, m = tm.tm_mon + 1, d = tm.tm_mday;
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *day = era * 146097 + doe - 719468;
    if (wday) *wday = tm.tm_wday;
    return true;
}

bool habit_counts(const struct history_record *rec)
{
    return rec->steps_done > 0;
}

static int by_day_desc(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

void habit_from_times(const time_t *when, size_t n, time_t now, struct habit *h)
{
    memset(h, 0, sizeof *h);
    h->known = true;
    long today;
    if (!local_day(now, &today, NULL)) return;
    long *days = n ? malloc(n * sizeof *days) : NULL;
    size_t k = 0;
    long last = LONG_MIN;
    int last_wday = 0;
    for (size_t i = 0; i < n; i++) {
        long d;
        int w;
        if (!local_day(when[i], &d, &w)) continue;
        if (d > today) d = today; /* a clock set back: not "in the future" */
        if (days) days[k++] = d;
        if (d > last) last = d, last_wday = w;
    }
    if (last == LONG_MIN) {
        free(days);
        return;
    }
    h->done = true;
    h->days_ago = (unsigned)(today - last);
    h->weekday = last_wday;
    if (h->days_ago <= 1 && days) {
        /* distinct days back from the last while each is the day before */
        qsort(days, k, sizeof *days, by_day_desc);
        long want = last;
        for (size_t i = 0; i < k; i++) {
            if (days[i] == want) {
                h->streak_days++;
                want--;
            } else if (days[i] < want) {
                break;
            }
        }
    }
    free(days);
}

void habit_of(const struct history_record *recs, size_t n, const char *routine, time_t now,
              struct habit *h)
{
    time_t *when = n ? malloc(n * sizeof *when) : NULL;
    size_t k = 0;
    for (size_t i = 0; when && i < n; i++)
        if (strcmp(recs[i].routine, routine) == 0 && habit_counts(&recs[i])) when[k++] = recs[i].when;
    habit_from_times(when, k, now, h);
    free(when);
}

/* The weekday word of the profile: "Tuesday" (in "Last done {text}."). */
static const enum phrase_id weekday_phrase[7] = {PH_SUNDAY,   PH_MONDAY, PH_TUESDAY, PH_WEDNESDAY,
                                                 PH_THURSDAY, PH_FRIDAY, PH_SATURDAY};

char *habit_text(const struct habit *h, const struct voice *v)
{
    if (!h->known) return NULL;
    enum phrase_id last;
    struct phrase_args a = {.n = (long)h->days_ago};
    if (!h->done) {
        last = PH_HISTORY_NEVER;
    } else if (h->days_ago == 0) {
        last = PH_HISTORY_TODAY;
    } else if (h->days_ago == 1) {
        last = PH_HISTORY_YESTERDAY;
    } else if (h->days_ago < 7 && v->phrases[weekday_phrase[h->weekday]]) {
        /* within the week a weekday names one day only */
        last = PH_HISTORY_WEEKDAY;
        a.text = v->phrases[weekday_phrase[h->weekday]]; /* a word inside the sentence */
    } else {
        last = PH_HISTORY_DAYS_AGO;
    }
    if (!v->phrases[last]) return NULL;
    char *s = voice_format(v, last, &a);
    if (!s || h->streak_days < 2 || !v->phrases[PH_HISTORY_STREAK]) return s;
    char *streak = voice_format(v, PH_HISTORY_STREAK, &(struct phrase_args){.n = (long)h->streak_days});
    char *both = streak ? coach_asprintf("%s %s", s, streak) : NULL;
    free(s);
    free(streak);
    return both;
}
