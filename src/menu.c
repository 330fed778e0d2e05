/* The routine menu of `coach menu`: loads what the catalog finds, gives
 * each routine's length from the real planner on its phrases' lengths as
 * the phrase cache holds them, estimated for the rest (no espeak-ng,
 * milliseconds per routine: a menu says what the routine's intro will say
 * once it has been played, exported or planned), keeps a wrapping cursor
 * and words the spoken items from the voice profile. */
#include "coach/menu.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coach/catalog.h"
#include "coach/common.h"
#include "coach/diag.h"
#include "coach/history.h"
#include "coach/live.h"
#include "coach/routine.h"
#include "coach/session.h"

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
    free(m->last);
    memset(m, 0, sizeof *m);
}

/* Fills it from one routine file: a session of clip lengths from the
 * phrase cache where it has them, else estimated (the real planner, no
 * synthesis). COACH_EINVAL if it cannot be played. */
static int item_load(struct menu_item *it, const char *name, const char *path, int level,
                     const char *voice, bool no_cache)
{
    struct session_opts so = {.routine = path, .voice = voice, .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .level = level < 0 ? NULL : level_name(level),
                              .rate_hz = MENU_RATE_HZ, .clips = CLIPS_ESTIMATE,
                              .no_cache = no_cache};
    struct session s;
    struct coach_diags d;
    diags_init(&d);
    enum session_fail f = session_open(&s, &so, &d, NULL, 0);
    diags_free(&d);
    int rc = f == SESSION_NOMEM ? COACH_ENOMEM : f ? COACH_EINVAL : 0;
    if (!rc) {
        const struct routine *r = &s.routine;
        uint64_t frames = s.tl.len_frames;
        uint64_t min = (frames + (uint64_t)MENU_RATE_HZ * 30) / ((uint64_t)MENU_RATE_HZ * 60);
        it->minutes = min ? (unsigned)min : 1;
        it->moves = routine_count_moves(r);
        it->name = coach_strdup(name);
        it->path = coach_strdup(path);
        it->title = coach_strdup(r->title);
        it->summary = r->summary ? coach_strdup(r->summary) : NULL;
        it->voice = coach_strdup(r->voice);
        if (!it->name || !it->path || !it->title || !it->voice || (r->summary && !it->summary)) {
            item_free(it);
            rc = COACH_ENOMEM;
        }
    }
    session_free(&s);
    return rc;
}

int menu_load(struct menu *m, int level, const char *voice)
{
    return menu_load_checked(m, level, voice, false, NULL, NULL);
}

int menu_load_checked(struct menu *m, int level, const char *voice, bool no_cache,
                      catalog_skip_fn skip, void *ctx)
{
    memset(m, 0, sizeof *m);
    char **names, **paths;
    size_t n;
    int rc = catalog_list_checked(CATALOG_ROUTINES, &names, &paths, &n, skip, ctx);
    if (rc) return rc;
    if (n && !(m->items = calloc(n, sizeof *m->items))) rc = COACH_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        int irc = item_load(&m->items[m->n], names[i], paths[i], level, voice, no_cache);
        if (irc == COACH_ENOMEM) rc = irc;
        else if (irc) m->skipped++; /* `coach check` says why; the menu offers the rest */
        else m->n++;
    }
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    if (rc) menu_free(m);
    return rc;
}

/* menu_load_history: the start times of each item's sessions that count. */
struct times {
    time_t *when;
    size_t n, cap;
};

struct history_scan {
    const struct menu *m;
    struct times *t; /* one per item */
    int nomem;
};

static int take_record(void *ctx, const struct history_entry *e)
{
    struct history_scan *hs = ctx;
    if (!habit_counts(&e->rec)) return 0;
    for (size_t i = 0; i < hs->m->n; i++) {
        if (strcmp(hs->m->items[i].name, e->rec.routine) != 0) continue;
        struct times *t = &hs->t[i];
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 16;
            time_t *w = realloc(t->when, cap * sizeof *w);
            if (!w) {
                hs->nomem = 1;
                return COACH_ENOMEM;
            }
            t->when = w;
            t->cap = cap;
        }
        t->when[t->n++] = e->rec.when;
    }
    return 0;
}

int menu_load_history(struct menu *m, const char *path, time_t now)
{
    struct history_scan hs = {.m = m, .t = m->n ? calloc(m->n, sizeof *hs.t) : NULL};
    if (m->n && !hs.t) return COACH_ENOMEM;
    int rc = history_read(path, take_record, &hs);
    for (size_t i = 0; i < m->n; i++) {
        if (!rc || rc == COACH_ENOTFOUND)
            habit_from_times(hs.t[i].when, hs.t[i].n, now, &m->items[i].habit);
        else
            memset(&m->items[i].habit, 0, sizeof m->items[i].habit); /* not known */
        free(hs.t[i].when);
    }
    free(hs.t);
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
    /* one count, the one list, check and plan give: exercises */
    char *len = length_text(it, v);
    char *sum = it->summary ? coach_strdup(it->summary) : NULL;
    if (it->summary && !sum) {
        free(item), free(len);
        return NULL;
    }
    /* "Last done Tuesday. 4 days in a row.": optional, so it may be absent */
    char *habit = habit_text(&it->habit, v);
    if (!habit) return join(item, len, sum, NULL);
    if (!sum) return join(item, len, habit, NULL);
    return join(item, len, habit, sum);
}

char *menu_intro_text(const struct menu *m, const struct voice *v, bool keys)
{
    char *intro = voice_format(v, keys ? PH_MENU_INTRO : PH_MENU_INTRO_BUTTONS, NULL);
    char *item = menu_item_text(m, v);
    return join(intro, item, NULL, NULL);
}

enum ctl_cmd menu_key(int key)
{
    switch (key) {
    case 'n': case 'N': case ' ': case KEY_RIGHT: return CTL_NEXT;
    case 'b': case 'B': case 'p': case 'P': case KEY_LEFT: return CTL_BACK;
    case 'd': case 'D': case '?': case 'w': case 'W': return CTL_WHERE;
    case 'r': case 'R': return CTL_REPEAT;
    case '\n': case '\r': case 's': case 'S': return CTL_TOGGLE;
    case 'q': case 'Q': return CTL_STOP;
    case '+': case '=': case KEY_UP: return CTL_VOLUME_UP;
    case '-': case KEY_DOWN: return CTL_VOLUME_DOWN;
    default: return CTL_NONE;
    }
}

int menu_say(struct menu *m, struct player *p, char *text, uint8_t ack)
{
    if (!text) return COACH_ENOMEM;
    int rc = player_say(p, text, ack);
    free(m->last);
    m->last = text;
    return rc;
}

enum menu_verdict menu_command(struct menu *m, struct player *p, const struct voice *v,
                               enum ctl_cmd c, bool *said_new, char *reply, size_t cap)
{
    char buf[256];
    if (!reply) reply = buf, cap = sizeof buf;
    *said_new = false;
    struct player_status st;
    player_status(p, &st);
    if ((c == CTL_TOGGLE || c == CTL_RESUME) && st.paused) { /* a paused menu goes on */
        player_command(p, CTL_RESUME, reply, cap);
        if (m->last) menu_say(m, p, coach_strdup(m->last), LIVE_NO_ACK);
        *said_new = m->last != NULL;
        return MENU_STAY;
    }
    char *text = NULL;
    uint8_t ack = LIVE_NO_ACK;
    switch (c) {
    case CTL_NEXT:
    case CTL_BACK:
    case CTL_PREVIOUS:
        menu_move(m, c == CTL_NEXT ? 1 : -1);
        text = menu_item_text(m, v);
        ack = ACK_SEEK;
        break;
    case CTL_WHERE:
        text = menu_details_text(m, v);
        break;
    case CTL_REPEAT:
        if (!m->last) {
            player_say_phrase(p, PH_NOTHING_TO_REPEAT, ACK_REFUSED); /* refused, in words */
            snprintf(reply, cap, "error nothing to repeat yet");
            return MENU_STAY;
        }
        text = coach_strdup(m->last);
        break;
    case CTL_TOGGLE:
    case CTL_RESUME:
        snprintf(reply, cap, "ok starting %s", m->items[m->cur].name);
        return MENU_START;
    case CTL_STOP:
        snprintf(reply, cap, "ok stopped");
        return MENU_QUIT;
    default: /* pause, louder, softer: as in a routine; unknown: refused in words */
        player_command(p, c, reply, cap);
        return MENU_STAY;
    }
    if (!text || menu_say(m, p, text, ack)) {
        snprintf(reply, cap, "error cannot speak now");
        return MENU_STAY;
    }
    *said_new = true;
    snprintf(reply, cap, "ok %s: %s", m->items[m->cur].name, m->last);
    return MENU_STAY;
}
