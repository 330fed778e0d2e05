/* When a routine was last done and the days in a row (habit.c), from
 * history records and a given "now", in the local calendar (TZ fixed here):
 * today, yesterday, a weekday 2-6 days back, "N days ago" from 7; a streak
 * counts distinct calendar days back from the last one (two sessions on a
 * day are one day; 23:50 and 00:10 are two days), is over once a day is
 * missed, and is only told while it runs (last done today or yesterday).
 * Sessions of other routines and sessions with no step done do not count.
 * The words come from the profile (en-us here; one without them says
 * nothing), and the menu's details say them, read from a history file. */
#define _POSIX_C_SOURCE 200809L /* setenv, tzset */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "coach/common.h"
#include "coach/habit.h"
#include "coach/menu.h"
#include "coach/voice.h"
#include "testutil.h"

/* Thursday 2026-12-03 10:00 local (UTC here) */
#define NOW ((time_t)1796292000)
#define DAY 86400

static struct voice v;

static void said(const struct habit *h, const char *want)
{
    char *s = habit_text(h, &v);
    CHECKF(want ? s && strcmp(s, want) == 0 : s == NULL, "said '%s', want '%s'", s ? s : "(null)",
           want ? want : "(null)");
    free(s);
}

static struct history_record rec(const char *routine, time_t when, unsigned done)
{
    return (struct history_record){.when = when, .routine = routine, .title = "T",
                                   .steps_done = done, .steps_total = 5, .ending = "completed"};
}

static void pure(void)
{
    struct tm tm;
    time_t now = NOW;
    CHECK(gmtime_r(&now, &tm) && tm.tm_wday == 4 && tm.tm_hour == 10); /* the premise */
    struct habit h;

    habit_of(NULL, 0, "core", NOW, &h);
    CHECK(h.known && !h.done);
    said(&h, "Not done yet.");

    /* today, two days before it, a gap, and older: a run of 1 */
    struct history_record a[] = {
        rec("core", NOW - 2 * DAY, 3), rec("core", NOW - 3 * DAY, 5), rec("core", NOW - 1 * 3600, 5),
        rec("other", NOW - DAY, 5), /* another routine: not this one's yesterday */
        rec("core", NOW - DAY + 60, 0), /* yesterday, but no step done */
    };
    habit_of(a, sizeof a / sizeof *a, "core", NOW, &h);
    CHECK(h.done && h.days_ago == 0 && h.streak_days == 1);
    said(&h, "Last done today.");

    /* yesterday and 3 days before it, in a row; twice on one day counts once */
    struct history_record b[] = {
        rec("core", NOW - DAY, 5),     rec("core", NOW - 2 * DAY, 5), rec("core", NOW - 2 * DAY - 600, 5),
        rec("core", NOW - 3 * DAY, 5), rec("core", NOW - 4 * DAY, 5), rec("core", NOW - 6 * DAY, 5),
    };
    habit_of(b, sizeof b / sizeof *b, "core", NOW, &h);
    CHECKF(h.days_ago == 1 && h.streak_days == 4, "%u days ago, %u in a row", h.days_ago, h.streak_days);
    said(&h, "Last done yesterday. 4 days in a row.");

    /* a weekday within the week: Tuesday; its run is over, so not told */
    struct history_record c[] = {rec("core", NOW - 2 * DAY, 5), rec("core", NOW - 3 * DAY, 5)};
    habit_of(c, 2, "core", NOW, &h);
    CHECK(h.days_ago == 2 && h.weekday == 2 && h.streak_days == 0);
    said(&h, "Last done Tuesday.");
    habit_of(c + 1, 1, "core", NOW, &h);
    said(&h, "Last done Monday.");
    struct history_record d[] = {rec("core", NOW - 6 * DAY, 5)};
    habit_of(d, 1, "core", NOW, &h);
    said(&h, "Last done Friday.");
    /* a week or more: days ago (a weekday would be ambiguous) */
    struct history_record e[] = {rec("core", NOW - 7 * DAY, 5), rec("core", NOW - 30 * DAY, 5)};
    habit_of(e, 2, "core", NOW, &h);
    CHECK(h.days_ago == 7);
    said(&h, "Last done 7 days ago.");

    /* calendar days, not 24-hour spans: 23:50 and 00:10 are two days in a
     * row; now at 00:05, a session at 23:55 was yesterday */
    time_t midnight = NOW - 10 * 3600; /* Thursday 00:00 */
    time_t t[] = {midnight + 10 * 60, midnight - 10 * 60};
    habit_from_times(t, 2, midnight + 3600, &h);
    CHECK(h.days_ago == 0 && h.streak_days == 2);
    said(&h, "Last done today. 2 days in a row.");
    time_t late[] = {midnight - 5 * 60};
    habit_from_times(late, 1, midnight + 5 * 60, &h);
    CHECK(h.days_ago == 1 && h.streak_days == 1);
    said(&h, "Last done yesterday.");

    /* a record "in the future" (the clock set back) is today; -1 is no time */
    time_t odd[] = {(time_t)-1, NOW + 3 * DAY};
    habit_from_times(odd, 2, NOW, &h);
    CHECK(h.done && h.days_ago == 0);
    habit_from_times(odd, 1, NOW, &h);
    CHECK(!h.done);

    /* not known (no history read): nothing */
    struct habit unknown = {0};
    said(&unknown, NULL);
    /* a profile without these phrases says nothing either */
    char *saved = v.phrases[PH_HISTORY_NEVER];
    v.phrases[PH_HISTORY_NEVER] = NULL;
    habit_of(NULL, 0, "core", NOW, &h);
    said(&h, NULL);
    v.phrases[PH_HISTORY_NEVER] = saved;
}

/* The menu's details read the history file once for every routine. */
static void menu(void)
{
    const char *dir = test_tmpdir("habit");
    char sub[1024], path[1100];
    snprintf(sub, sizeof sub, "%s/routines", dir);
    mkdir(sub, 0777);
    snprintf(path, sizeof path, "%s/aa-one.ini", sub);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("[routine]\ntitle = One\nsummary = A short one.\n[exercise a]\nname = Reach\nhold = 20\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/ab-two.ini", sub);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("[routine]\ntitle = Two\n[exercise a]\nname = Twist\nhold = 30\n", f);
    fclose(f);
    setenv("HOME", dir, 1);
    setenv("XDG_DATA_HOME", dir, 1);
    setenv("XDG_DATA_DIRS", "/nonexistent", 1);
    /* only the two routines here: the data directory's are the shipped ones */
    setenv("COACH_DATA_DIR", dir, 1);
    snprintf(sub, sizeof sub, "%s/voices", dir);
    mkdir(sub, 0777);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/'", test_src_path("voices/en-us.ini"), sub);
    CHECK(system(cmd) == 0);

    struct menu m;
    CHECK(menu_load(&m, -1, NULL) == 0);
    /* the two written here come first (by name; a routines/ in the
     * working directory may add more after them) */
    if (m.n < 2 || strcmp(m.items[0].name, "aa-one") || strcmp(m.items[1].name, "ab-two")) {
        CHECKF(0, "the menu does not start with aa-one, ab-two (%zu items)", m.n);
        menu_free(&m);
        return;
    }
    /* before the history is read: nothing said of it */
    char *s = menu_details_text(&m, &v);
    CHECKF(s && strstr(s, "One.") && !strstr(s, "done"), "%s", s);
    free(s);

    char hist[1024];
    snprintf(hist, sizeof hist, "%s/state", dir);
    mkdir(hist, 0700);
    snprintf(hist, sizeof hist, "%s/state/history.tsv", dir);
    CHECK(menu_load_history(&m, hist, NOW) == COACH_ENOTFOUND);
    s = menu_details_text(&m, &v);
    CHECKF(s && strstr(s, ". Not done yet. A short one."), "%s", s);
    free(s);

    for (int k = 3; k >= 1; k--) {
        struct history_record r = rec("aa-one", NOW - k * DAY, 2);
        CHECK(history_append(hist, &r) == 0);
    }
    struct history_record stopped = rec("ab-two", NOW - 3600, 0);
    CHECK(history_append(hist, &stopped) == 0);
    CHECK(menu_load_history(&m, hist, NOW) == 0);
    s = menu_details_text(&m, &v);
    CHECKF(s && strstr(s, "exercise. Last done yesterday. 3 days in a row. A short one."), "%s", s);
    free(s);
    menu_move(&m, 1);
    s = menu_details_text(&m, &v); /* no summary: the habit ends it */
    CHECKF(s && strstr(s, "exercise. Not done yet.") && s[strlen(s) - 1] == '.', "%s", s);
    free(s);
    menu_free(&m);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct coach_diags d;
    diags_init(&d);
    CHECK(voice_load(test_src_path("voices/en-us.ini"), &v, &d) == 0);
    diags_print(&d, stderr);
    diags_free(&d);
    pure();
    menu();
    voice_free(&v);
    return test_done();
}
