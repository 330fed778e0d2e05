/* --progress: counting a routine's full completions in a row in the
 * session history. history_read does the parsing, so the reader here skips
 * exactly the lines `coach history` skips: a damaged line (torn by a crash,
 * NUL-filled) does not break the streak, since it says nothing about how a
 * session ended. */
#include "coach/progress.h"

#include <errno.h>
#include <string.h>

#include "coach/common.h"
#include "coach/history.h"

struct streak_ctx {
    const char *routine;
    unsigned *streak;
};

/* Reading oldest first: a full completion extends the streak, any other
 * ending of this routine starts it over. What is left at the end is the
 * run counted back from the newest record. */
static int count_record(void *ctx, const struct history_entry *e)
{
    struct streak_ctx *c = ctx;
    const struct history_record *rec = &e->rec;
    if (strcmp(rec->routine, c->routine) != 0) return 0;
    if (strcmp(rec->ending, "completed") == 0 && rec->steps_done == rec->steps_total &&
        rec->skipped == 0)
        (*c->streak)++;
    else
        *c->streak = 0;
    return 0;
}

int progress_streak(const char *path, const char *routine, unsigned *streak,
                    struct history_damage *damage)
{
    if (!path || !routine || !streak) {
        errno = EINVAL;
        return COACH_EINVAL;
    }
    *streak = 0;
    struct streak_ctx c = {.routine = routine, .streak = streak};
    int rc = history_scan(path, count_record, &c, damage);
    if (rc == COACH_ENOTFOUND) return COACH_OK; /* no history yet: a streak of 0 */
    if (rc) *streak = 0;
    return rc;
}

enum level progress_level(enum level base, unsigned streak)
{
    unsigned up = streak / PROGRESS_PER_LEVEL;
    unsigned lv = (unsigned)base + (up > LEVEL_HARD ? LEVEL_HARD : up);
    return lv > LEVEL_HARD ? LEVEL_HARD : (enum level)lv;
}
