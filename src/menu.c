/* The routine menu of `coach menu`: loads what the catalog finds, estimates
 * each routine's length with the clip estimator (the real planner on
 * estimated clip lengths: no espeak-ng, milliseconds per routine), keeps a
 * wrapping cursor and words the spoken items from the voice profile. */
#include "coach/menu.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coach/catalog.h"
#include "coach/common.h"
#include "coach/diag.h"
#include "coach/plan.h"
#include "coach/routine.h"

#define MENU_RATE_HZ 48000 /* any rate: only the length in minutes is kept */

static void item_free(struct menu_item *it)
{
    free(it->name);
    free(it->path);
    free(it->title);
    free(it->summary);
    free(it->voice);
}

void menu_free(struct menu *m)
{
    for (size_t i = 0; i < m->n; i++) item_free(&m->items[i]);
    free(m->items);
    memset(m, 0, sizeof *m);
}

/* The routine's length in frames with estimated speech; 0 or negative. */
static int estimate(const struct routine *r, const struct voice *v, int level, uint64_t *frames)
{
    struct clip_estimator est = {.rate_hz = MENU_RATE_HZ};
    struct clip_source src = {.intern = clip_estimate_intern, .ctx = &est};
    struct plan_opts po = {.rate_hz = MENU_RATE_HZ, .part = PLAN_FULL,
                           .level = level < 0 ? r->level : (enum level)level};
    struct timeline tl;
    char err[256];
    int rc = plan_build(r, v, &src, &po, &tl, err, sizeof err);
    if (!rc) {
        *frames = tl.len_frames;
        timeline_free(&tl);
    }
    clip_estimator_free(&est);
    return rc;
}

/* Fills it from one routine file; COACH_EINVAL if it cannot be played. */
static int item_load(struct menu_item *it, const char *name, const char *path, int level,
                     const struct voice *v)
{
    struct coach_diags d;
    diags_init(&d);
    struct routine r;
    int rc = routine_load(path, &r, &d);
    diags_free(&d);
    if (rc) return rc == COACH_ENOMEM ? rc : COACH_EINVAL;
    struct voice own;
    bool have_own = false;
    if (!v) { /* the routine's own voice: its phrases set the estimate */
        char *vpath = NULL;
        diags_init(&d);
        rc = catalog_find(CATALOG_VOICES, r.voice, &vpath);
        if (!rc) rc = voice_load(vpath, &own, &d);
        diags_free(&d);
        free(vpath);
        if (rc) {
            routine_free(&r);
            return rc == COACH_ENOMEM ? rc : COACH_EINVAL;
        }
        have_own = true;
        v = &own;
    }
    uint64_t frames = 0;
    rc = estimate(&r, v, level, &frames);
    if (!rc) {
        uint64_t min = (frames + (uint64_t)MENU_RATE_HZ * 30) / ((uint64_t)MENU_RATE_HZ * 60);
        it->minutes = min ? (unsigned)min : 1;
        it->moves = routine_count_moves(&r);
        it->steps = r.n_steps;
        it->name = coach_strdup(name);
        it->path = coach_strdup(path);
        it->title = coach_strdup(r.title);
        it->summary = r.summary ? coach_strdup(r.summary) : NULL;
        it->voice = coach_strdup(r.voice);
        if (!it->name || !it->path || !it->title || !it->voice || (r.summary && !it->summary)) {
            item_free(it);
            rc = COACH_ENOMEM;
        }
    } else if (rc != COACH_ENOMEM) {
        rc = COACH_EINVAL;
    }
    if (have_own) voice_free(&own);
    routine_free(&r);
    return rc;
}

int menu_load(struct menu *m, int level, const struct voice *v)
{
    memset(m, 0, sizeof *m);
    char **names, **paths;
    size_t n;
    int rc = catalog_list(CATALOG_ROUTINES, &names, &paths, &n);
    if (rc) return rc;
    if (n && !(m->items = calloc(n, sizeof *m->items))) rc = COACH_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        int irc = item_load(&m->items[m->n], names[i], paths[i], level, v);
        if (irc == COACH_ENOMEM) rc = irc;
        else if (irc) m->skipped++; /* `coach check` says why; the menu offers the rest */
        else m->n++;
    }
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    if (rc) menu_free(m);
    return rc;
}

size_t menu_move(struct menu *m, int delta)
{
    if (!m->n) return 0;
    /* delta may be negative: work in [0, n) without unsigned wrap surprises */
    long k = ((long)m->cur + delta % (long)m->n + (long)m->n) % (long)m->n;
    m->cur = (size_t)k;
    return m->cur;
}

/* "About 18 minutes, 9 exercises." */
static char *length_text(const struct menu_item *it, const struct voice *v)
{
    struct phrase_args a = {.minutes = it->minutes, .n = (long)it->moves};
    return voice_format(v, it->moves == 1 ? PH_MENU_LENGTH_ONE : PH_MENU_LENGTH, &a);
}

static char *join(char *a, char *b, char *c, char *d)
{
    char *s = NULL;
    if (a && b && c && d) s = coach_asprintf("%s %s %s %s", a, b, c, d);
    else if (a && b && c) s = coach_asprintf("%s %s %s", a, b, c);
    else if (a && b && !c && !d) s = coach_asprintf("%s %s", a, b);
    free(a);
    free(b);
    free(c);
    free(d);
    return s;
}

char *menu_item_text(const struct menu *m, const struct voice *v)
{
    if (!m->n) return NULL;
    const struct menu_item *it = &m->items[m->cur];
    struct phrase_args a = {.n = (long)m->cur + 1, .total = (long)m->n, .title = it->title};
    return join(voice_format(v, PH_MENU_ITEM, &a), length_text(it, v), NULL, NULL);
}

char *menu_details_text(const struct menu *m, const struct voice *v)
{
    if (!m->n) return NULL;
    const struct menu_item *it = &m->items[m->cur];
    struct phrase_args a = {.n = (long)m->cur + 1, .total = (long)m->n, .title = it->title};
    char *item = voice_format(v, PH_MENU_ITEM, &a);
    char *len = length_text(it, v);
    char *steps = voice_format(v, PH_MENU_STEPS, &(struct phrase_args){.n = (long)it->steps});
    char *sum = it->summary ? coach_strdup(it->summary) : NULL;
    if (it->summary && !sum) {
        free(item), free(len), free(steps);
        return NULL;
    }
    return join(item, len, steps, sum);
}
