/* --progress: walking a routine's records in the session history (the
 * rule is in progress.h). history_read does the parsing, so the reader
 * here skips exactly the lines `coach history` skips: a damaged line (torn
 * by a crash, NUL-filled) does not break the streak, since it says nothing
 * about how a session ended. */
#include "coach/progress.h"

#include <errno.h>
#include <string.h>

#include "coach/common.h"
#include "coach/history.h"

bool progress_pain(const struct history_record *rec)
{
    return rec->pain_step || (rec->has_pain && rec->pain >= PROGRESS_PAIN_DOWN);
}

bool progress_clean(const struct history_record *rec)
{
    return strcmp(rec->ending, "completed") == 0 && rec->steps_done == rec->steps_total &&
           rec->skipped == 0 && !progress_pain(rec);
}

struct walk_ctx {
    const char *routine;
    struct progress *p;
};

/* Oldest first: what is left at the end is the newest state. */
static int walk_record(void *ctx, const struct history_entry *e)
{
    struct walk_ctx *c = ctx;
    const struct history_record *rec = &e->rec;
    struct progress *p = c->p;
    if (strcmp(rec->routine, c->routine) != 0) return 0;
    p->stepped_down = false;
    if (progress_pain(rec)) { /* it hurt: a level easier, and the count starts again */
        if (p->level > LEVEL_EASY) p->level = (enum level)(p->level - 1);
        p->streak = 0;
        p->stepped_down = true;
        p->pain_stop = rec->pain_step != NULL;
        p->pain = rec->has_pain ? rec->pain : 0;
    } else if (progress_clean(rec)) {
        p->streak++;
        if (p->streak % PROGRESS_PER_LEVEL == 0 && p->level < LEVEL_HARD)
            p->level = (enum level)(p->level + 1);
    } else {
        p->streak = 0;
    }
    return 0;
}

int progress_walk(const char *path, const char *routine, enum level base, struct progress *out,
                  struct history_damage *damage)
{
    if (!out) {
        errno = EINVAL;
        return COACH_EINVAL;
    }
    *out = (struct progress){.level = base};
    if (!path || !routine) {
        errno = EINVAL;
        return COACH_EINVAL;
    }
    struct walk_ctx c = {.routine = routine, .p = out};
    int rc = history_scan(path, walk_record, &c, damage);
    if (rc == COACH_ENOTFOUND) rc = COACH_OK; /* no history yet: the base level */
    if (rc) *out = (struct progress){.level = base};
    return rc;
}

int progress_streak(const char *path, const char *routine, unsigned *streak,
                    struct history_damage *damage)
{
    if (!streak) {
        errno = EINVAL;
        return COACH_EINVAL;
    }
    struct progress p;
    int rc = progress_walk(path, routine, LEVEL_EASY, &p, damage);
    *streak = p.streak;
    return rc;
}

enum level progress_level(enum level base, unsigned streak)
{
    unsigned up = streak / PROGRESS_PER_LEVEL;
    unsigned lv = (unsigned)base + (up > LEVEL_HARD ? LEVEL_HARD : up);
    return lv > LEVEL_HARD ? LEVEL_HARD : (enum level)lv;
}
