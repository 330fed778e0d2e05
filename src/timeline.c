/* The timeline's small helpers: the names events carry in dumps, freeing a
 * timeline the planner built, and the binary search the renderer uses to find
 * the events near a block of frames. The timeline itself is plain data
 * (see coach/timeline.h); the planner fills it and nobody edits it after. */
#include "coach/timeline.h"

#include <stdlib.h>
#include <string.h>

const char *event_kind_name(enum event_kind k)
{
    switch (k) {
    case EV_SPEECH:
        return "speech";
    case EV_CLICK:
        return "click";
    case EV_CLICK_ACCENT:
        return "click-accent";
    case EV_BEEP:
        return "beep";
    case EV_BEEP_FINAL:
        return "beep-final";
    case EV_BREATH_IN:
        return "breath-in";
    case EV_BREATH_HOLD:
        return "breath-hold";
    case EV_BREATH_OUT:
        return "breath-out";
    case EV_PHASE:
        return "phase";
    case EV_BELL:
        return "bell";
    case EV_ACK:
        return "ack";
    case EV_KEEPALIVE:
        return "keepalive";
    case EV_KIND_COUNT:
        break;
    }
    return "unknown";
}

void timeline_free(struct timeline *tl)
{
    if (!tl) return;
    free(tl->ev);
    for (size_t i = 0; i < tl->n_ch; i++)
        free(tl->ch[i].title);
    free(tl->ch);
    for (size_t i = 0; i < tl->n_waits; i++)
        free(tl->waits[i].caption);
    free(tl->waits);
    for (size_t i = 0; i < tl->n_notes; i++)
        free(tl->notes[i].text);
    free(tl->notes);
    memset(tl, 0, sizeof *tl);
}

size_t timeline_wait_from(const struct timeline *tl, uint64_t frame, bool after)
{
    size_t i = 0; /* a handful per routine: a walk is enough (the audio thread calls it) */
    while (i < tl->n_waits && (tl->waits[i].frame < frame || (after && tl->waits[i].frame == frame)))
        i++;
    return i;
}

size_t timeline_lower_bound(const struct timeline *tl, uint64_t frame)
{
    size_t lo = 0, hi = tl->n_ev;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tl->ev[mid].frame < frame)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct chapter *timeline_chapter_at(const struct timeline *tl, uint64_t frame)
{
    const struct chapter *c = NULL;
    for (size_t i = 0; i < tl->n_ch && tl->ch[i].frame <= frame; i++) c = &tl->ch[i];
    return c;
}

uint64_t timeline_chapter_content_end(const struct timeline *tl, size_t i)
{
    uint64_t end = tl->ch[i].end_frame;
    return tl->ending_frame && tl->ending_frame < end ? tl->ending_frame : end;
}

bool timeline_speech_between(const struct timeline *tl, uint64_t from, uint64_t to)
{
    if (!tl || to <= from) return false;
    /* an event reaching into [from, to) starts at most max_event_frames before it */
    size_t i = timeline_lower_bound(tl, from > tl->max_event_frames ? from - tl->max_event_frames : 0);
    for (; i < tl->n_ev && tl->ev[i].frame < to; i++)
        if (tl->ev[i].kind == EV_SPEECH && tl->ev[i].frame + tl->ev[i].len_frames > from) return true;
    return false;
}
