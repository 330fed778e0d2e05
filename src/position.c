/* Where a live session is: see include/coach/position.h. */
#include "coach/position.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

uint64_t position_chapter_start(const struct timeline *tl, uint64_t pos)
{
    const struct chapter *c = timeline_chapter_at(tl, pos);
    return c ? c->frame : 0;
}

uint64_t position_next_chapter(const struct timeline *tl, uint64_t pos)
{
    for (size_t i = 0; i < tl->n_ch; i++)
        if (tl->ch[i].frame > pos) return tl->ch[i].frame;
    return UINT64_MAX;
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

int32_t position_last_instruction(const struct timeline *tl, uint64_t pos)
{
    for (size_t i = timeline_lower_bound(tl, pos + 1); i-- > 0;) {
        const struct event *e = &tl->ev[i];
        if (e->kind == EV_SPEECH && e->clip < tl->n_clips && !is_count(tl->clip_text[e->clip]))
            return (int32_t)e->clip;
    }
    return -1;
}

unsigned position_moves_done(const struct timeline *tl, const struct routine *r, uint64_t pos)
{
    unsigned n = 0;
    for (size_t i = 0; i < tl->n_ch; i++) {
        const struct chapter *c = &tl->ch[i];
        if (c->step < 0 || (size_t)c->step >= r->n_steps) continue;
        enum step_kind k = r->steps[c->step].kind;
        if ((k == STEP_EXERCISE || k == STEP_BREATHING) && c->end_frame <= pos) n++;
    }
    return n;
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

char *position_where(const struct timeline *tl, const struct routine *r, const struct voice *v,
                     enum level lv, uint64_t pos)
{
    const struct chapter *c = timeline_chapter_at(tl, pos);
    const struct event *e = event_at(tl, pos);
    char *text = NULL;
    if (!c || c->step < 0 || (size_t)c->step >= r->n_steps) {
        text = append(text, voice_format(v, PH_WHERE_INTRO, NULL));
    } else {
        const struct step *s = &r->steps[c->step];
        text = append(text, coach_asprintf("%s.", c->title));
        if (e && e->step == c->step && e->set) {
            uint32_t sets = range_pick(s->sets, lv);
            if (sets > 1)
                text = append(text, voice_format(v, PH_SET,
                                                 &(struct phrase_args){.set = e->set, .sets = sets}));
            if (e->side && e->side <= s->sides.len)
                text = append(text, voice_format(v, PH_SIDE_FIRST,
                                                 &(struct phrase_args){.side = s->sides.items[e->side - 1]}));
        }
        if (e && e->step == c->step && e->rep) {
            bool breath = s->kind == STEP_BREATHING;
            uint32_t total = range_pick(breath ? s->cycles : s->reps, lv);
            if (total > 1)
                text = append(text, voice_format(v, breath ? PH_WHERE_BREATH : PH_WHERE_REP,
                                                 &(struct phrase_args){.n = e->rep, .total = total}));
        }
    }
    if (c && c->end_frame > pos) {
        char *d = duration(v, c->end_frame - pos, tl->rate_hz);
        text = append(text, voice_format(v, PH_WHERE_STEP_LEFT, &(struct phrase_args){.duration = d}));
        free(d);
    }
    if (tl->len_frames > pos) {
        char *d = duration(v, tl->len_frames - pos, tl->rate_hz);
        text = append(text, voice_format(v, PH_WHERE_TOTAL_LEFT, &(struct phrase_args){.duration = d}));
        free(d);
    }
    return text;
}
