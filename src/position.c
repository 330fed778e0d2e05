/* Where a live session is, and where its commands go (see
 * include/coach/position.h). The moves and their lead-ins are worked out
 * from the chapters each time they are needed: a routine has a few dozen
 * chapters, and commands come from a person, a few a minute. */
#include "coach/position.h"

#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

bool position_is_move(const struct routine *r, int32_t step)
{
    if (step < 0 || (size_t)step >= r->n_steps) return false;
    enum step_kind k = r->steps[step].kind;
    return k == STEP_EXERCISE || k == STEP_BREATHING;
}

/* One move: [lead, body) announces it, its title is said in [body,
 * said_end), its own content ends at end. */
struct move {
    uint64_t lead, body, said_end, end;
    size_t ch; /* its chapter */
};

struct moves {
    struct move *m;
    size_t n;
    uint64_t tail; /* where the ending starts */
};

/* The end of the speech event starting the body at frame (its title). */
static uint64_t title_end(const struct timeline *tl, uint64_t frame)
{
    for (size_t i = timeline_lower_bound(tl, frame); i < tl->n_ev && tl->ev[i].frame == frame; i++)
        if (tl->ev[i].kind == EV_SPEECH) return frame + tl->ev[i].len_frames;
    return frame;
}

/* The moves of tl; false if memory ran out. */
static bool moves_of(const struct timeline *tl, const struct routine *r, struct moves *mv)
{
    mv->n = 0;
    mv->m = malloc((tl->n_ch ? tl->n_ch : 1) * sizeof *mv->m);
    if (!mv->m) return false;
    /* a run of rests and spoken steps since the last move leads into the next one */
    uint64_t run_start = UINT64_MAX;
    size_t last_ch = 0;
    for (size_t i = 0; i < tl->n_ch; i++) {
        const struct chapter *c = &tl->ch[i];
        if (c->step < 0 && i == 0) continue; /* the intro */
        if (c->step < 0) { /* a sequence's next routine announced: its first move's lead-in */
            if (run_start == UINT64_MAX) run_start = c->frame;
            continue;
        }
        if (!position_is_move(r, c->step)) {
            if (run_start == UINT64_MAX) run_start = c->frame;
            continue;
        }
        uint64_t lead = run_start != UINT64_MAX ? run_start : c->frame;
        mv->m[mv->n++] = (struct move){.lead = lead, .body = c->body_frame,
                                       .said_end = title_end(tl, c->body_frame),
                                       .end = timeline_chapter_content_end(tl, i), .ch = i};
        run_start = UINT64_MAX;
        last_ch = i;
    }
    /* after the last move: its trailing rests and spoken steps, then the
     * closing words */
    if (mv->n && last_ch + 1 < tl->n_ch)
        mv->tail = tl->ch[last_ch + 1].frame;
    else if (run_start != UINT64_MAX)
        mv->tail = run_start;
    else
        mv->tail = tl->ending_frame ? tl->ending_frame : tl->len_frames;
    if (mv->n && mv->tail < mv->m[mv->n - 1].end) mv->tail = mv->m[mv->n - 1].end;
    return true;
}

/* The move whose [lead, next lead) holds pos; -1 in the intro, n in the
 * ending. */
static long move_at(const struct moves *mv, uint64_t pos)
{
    if (!mv->n || pos < mv->m[0].lead) return pos >= mv->tail ? (long)mv->n : -1;
    if (pos >= mv->tail) return (long)mv->n;
    long k = 0;
    while ((size_t)k + 1 < mv->n && mv->m[k + 1].lead <= pos) k++;
    return k;
}

enum nav_result position_next(const struct timeline *tl, const struct routine *r, uint64_t pos,
                              uint64_t jumped_to, uint64_t *to)
{
    struct moves mv;
    if (!moves_of(tl, r, &mv)) return NAV_NO_NEXT;
    long k = move_at(&mv, pos);
    enum nav_result res = NAV_OK;
    if (k < 0)
        *to = mv.n ? mv.m[0].lead : mv.tail;
    else if ((size_t)k == mv.n)
        res = NAV_NO_NEXT;
    else if (pos < mv.m[k].body || (pos < mv.m[k].said_end && jumped_to != mv.m[k].body))
        *to = mv.m[k].body; /* a rest announcing it, or its title as it plays: it begins */
    else if ((size_t)k + 1 < mv.n)
        *to = mv.m[k + 1].lead;
    else
        *to = mv.tail;
    if (res == NAV_OK && *to >= tl->len_frames) res = NAV_NO_NEXT;
    free(mv.m);
    return res;
}

bool position_skip_move(const struct timeline *tl, const struct routine *r, uint64_t pos,
                        int32_t *step, uint64_t *skip_to)
{
    struct moves mv;
    if (!moves_of(tl, r, &mv)) return false;
    if (!mv.n) {
        free(mv.m);
        return false;
    }
    long k = move_at(&mv, pos);
    if (k < 0) k = 0; /* the intro announces the first */
    if ((size_t)k == mv.n) { /* the ending: nothing left to skip */
        *step = tl->ch[mv.m[mv.n - 1].ch].step;
        *skip_to = pos;
    } else {
        *step = tl->ch[mv.m[k].ch].step;
        *skip_to = (size_t)k + 1 < mv.n ? mv.m[k + 1].lead : mv.tail;
    }
    free(mv.m);
    return true;
}

enum nav_result position_previous(const struct timeline *tl, const struct routine *r, uint64_t pos,
                                  uint64_t *to)
{
    struct moves mv;
    if (!moves_of(tl, r, &mv)) return NAV_NO_PREVIOUS;
    long k = move_at(&mv, pos);
    enum nav_result res = NAV_OK;
    if (k <= 0)
        res = NAV_NO_PREVIOUS;
    else
        *to = mv.m[k - 1].lead;
    free(mv.m);
    return res;
}

uint64_t position_back(const struct timeline *tl, const struct routine *r, uint64_t pos)
{
    struct moves mv;
    if (!moves_of(tl, r, &mv)) return pos;
    long k = move_at(&mv, pos);
    uint64_t to;
    if (k < 0)
        to = 0;
    else if ((size_t)k == mv.n)
        to = mv.tail;
    else
        to = pos < mv.m[k].body ? mv.m[k].lead : mv.m[k].body;
    free(mv.m);
    return to;
}

/* The last event at or before pos (NULL before the first). */
static const struct event *event_at(const struct timeline *tl, uint64_t pos)
{
    size_t i = timeline_lower_bound(tl, pos + 1);
    return i ? &tl->ev[i - 1] : NULL;
}

static bool is_count(const char *t)
{
    if (!*t) return true;
    for (; *t; t++)
        if (!((*t >= '0' && *t <= '9') || *t == '.' || *t == ' ')) return false;
    return true;
}

int32_t position_last_instruction(const struct timeline *tl, const struct clipstore *cs,
                                  uint64_t pos)
{
    for (size_t i = timeline_lower_bound(tl, pos + 1); i-- > 0;) {
        const struct event *e = &tl->ev[i];
        const char *text = e->kind == EV_SPEECH ? clipstore_text(cs, e->clip) : NULL;
        if (text && !is_count(text)) return (int32_t)e->clip;
    }
    return -1;
}

/* Appends s and a space to the growing text (NULL-safe). */
static char *append(char *acc, char *s)
{
    if (!s) return acc;
    char *r = acc ? coach_asprintf("%s %s", acc, s) : coach_strdup(s);
    free(acc);
    free(s);
    return r;
}

static char *duration(const struct voice *v, uint64_t frames, uint32_t rate_hz)
{
    uint64_t s = (frames + rate_hz / 2) / rate_hz;
    if (s < 90) return voice_noun(v, NOUN_SECONDS, (long)s);
    return voice_noun(v, NOUN_MINUTES, (long)((s + 30) / 60));
}

/* "{duration} left ..." for frames, with phrase id. */
static char *left(const struct voice *v, enum phrase_id id, uint64_t frames, uint32_t rate_hz)
{
    char *d = duration(v, frames, rate_hz);
    char *s = d ? voice_format(v, id, &(struct phrase_args){.duration = d}) : NULL;
    free(d);
    return s;
}

/* Set, side and repetition of the step's work at pos. */
static char *work_detail(char *text, const struct step *s, const struct event *e,
                         const struct voice *v, enum level lv)
{
    if (e->set) {
        uint32_t sets = range_pick(s->sets, lv);
        if (sets > 1)
            text = append(text, voice_format(v, PH_SET,
                                             &(struct phrase_args){.set = e->set, .sets = sets}));
        if (e->side && e->side <= s->sides.len)
            text = append(text, voice_format(v, PH_SIDE_FIRST,
                                             &(struct phrase_args){.side = s->sides.items[e->side - 1]}));
    }
    if (e->rep) {
        bool breath = s->kind == STEP_BREATHING;
        bool held = !breath && !s->n_tempo && !s->duration_ms.hi && s->hold_ms.hi;
        uint32_t total = range_pick(breath ? s->cycles : s->reps, lv);
        enum phrase_id id = breath ? PH_WHERE_BREATH : held ? PH_WHERE_HOLD : PH_WHERE_REP;
        if (total > 1)
            text = append(text, voice_format(v, id, &(struct phrase_args){.n = e->rep, .total = total}));
    }
    return text;
}

/* Is pos in a self-paced part? Its time is the listener's: no "time left". */
static bool self_paced_at(const struct timeline *tl, uint64_t pos)
{
    for (size_t i = 0; i < tl->n_waits; i++)
        if (tl->waits[i].open_frame <= pos && pos <= tl->waits[i].frame) return true;
    return false;
}

char *position_where(const struct timeline *tl, const struct routine *r, const struct voice *v,
                     enum level lv, uint64_t pos, bool paused)
{
    bool own_pace = self_paced_at(tl, pos);
    struct moves mv;
    if (!moves_of(tl, r, &mv)) return NULL;
    long k = move_at(&mv, pos);
    char *text = paused ? voice_format(v, PH_PAUSED, NULL) : NULL;
    if (k < 0) {
        text = append(text, voice_format(v, PH_WHERE_INTRO, NULL));
    } else if ((size_t)k == mv.n) {
        text = append(text, voice_format(v, PH_WHERE_ENDING, NULL));
    } else if (pos < mv.m[k].body) { /* announcing the move: a rest, or a spoken step */
        const struct chapter *c = timeline_chapter_at(tl, pos);
        bool rest = c && (c - tl->ch == (long)mv.m[k].ch ||
                          (c->step >= 0 && r->steps[c->step].kind == STEP_REST));
        const struct step *s = &r->steps[tl->ch[mv.m[k].ch].step];
        if (rest) text = append(text, voice_format(v, PH_WHERE_RESTING, NULL));
        text = append(text, voice_format(v, PH_NEXT, &(struct phrase_args){.name = s->name}));
        if (rest && !own_pace)
            text = append(text, left(v, PH_WHERE_REST_LEFT, mv.m[k].body - pos, tl->rate_hz));
    } else {
        const struct chapter *c = &tl->ch[mv.m[k].ch];
        const struct event *e = event_at(tl, pos);
        text = append(text, coach_asprintf("%s.", c->title));
        if (e && e->step == c->step) text = work_detail(text, &r->steps[c->step], e, v, lv);
        if (mv.m[k].end > pos && !own_pace)
            text = append(text, left(v, PH_WHERE_STEP_LEFT, mv.m[k].end - pos, tl->rate_hz));
    }
    if (tl->len_frames > pos)
        text = append(text, left(v, PH_WHERE_TOTAL_LEFT, tl->len_frames - pos, tl->rate_hz));
    free(mv.m);
    return text;
}
