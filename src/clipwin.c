/* The clip window (see include/coach/clipwin.h): which clips are prepared
 * and published to the renderer around a playhead. Each update scans only
 * the events near the playhead (binary search, then the window), marks the
 * clips they use with the update's number, prepares the unready ones among
 * those due, and walks the short list of ready clips to release the ones
 * no longer kept. A long clip may be streamed (export): made a few blocks
 * ahead of the playhead and given back as it is heard. */
#include "coach/clipwin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

#define CLIPWIN_SAFE_EPOCHS 2 /* the reader is done with a released clip two blocks on */

int clipwin_init(struct clipwin *w, struct clipstore *cs, clip_slot *slots, size_t n_slots,
                 const struct clipwin_policy *pol)
{
    memset(w, 0, sizeof *w);
    w->cs = cs;
    w->slots = slots;
    w->n_slots = n_slots;
    w->pol = *pol;
    if (w->pol.keep_frames < w->pol.ahead_frames) w->pol.keep_frames = w->pol.ahead_frames;
    size_t n = n_slots ? n_slots : 1;
    w->last_end = calloc(n, sizeof *w->last_end);
    w->seen = calloc(n, sizeof *w->seen);
    w->ready = malloc(n * sizeof *w->ready);
    /* Streaming needs the renderer on this thread: a streamed clip's
     * frames are dropped as soon as they are heard. */
    if (w->pol.deferred_free) w->pol.stream_min_frames = 0;
    if (w->pol.stream_min_frames) {
        w->need_lo = malloc(n * sizeof *w->need_lo);
        w->need_hi = malloc(n * sizeof *w->need_hi);
        w->need_no = calloc(n, sizeof *w->need_no);
    }
    if (!w->last_end || !w->seen || !w->ready ||
        (w->pol.stream_min_frames && (!w->need_lo || !w->need_hi || !w->need_no))) {
        clipwin_free(w);
        return COACH_ENOMEM;
    }
    return 0;
}

int clipwin_set_timeline(struct clipwin *w, const struct timeline *tl, char *err, size_t err_cap)
{
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        if (e->kind != EV_SPEECH) continue;
        const char *why = NULL;
        if (e->clip >= w->cs->len || e->clip >= tl->n_clips)
            why = "refers to an unknown clip";
        else if (e->clip >= w->n_slots)
            why = "refers to more clips than the session holds";
        else if (e->len_frames > clipstore_len(w->cs, e->clip))
            why = "is longer in the timeline than in the clip store";
        if (why) {
            if (err && err_cap) snprintf(err, err_cap, "speech event %zu (clip %u) %s", i, e->clip, why);
            return COACH_EINVAL;
        }
    }
    memset(w->last_end, 0, w->n_slots * sizeof *w->last_end);
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        uint64_t end = e->frame + e->len_frames;
        if (e->kind == EV_SPEECH && end > w->last_end[e->clip]) w->last_end[e->clip] = end;
    }
    w->tl = tl;
    return 0;
}

static void publish(struct clipwin *w, uint32_t id, float *pcm)
{
    atomic_store_explicit(&w->slots[id], pcm, memory_order_release);
}

static bool streams(const struct clipwin *w, uint32_t id)
{
    return w->pol.stream_min_frames && clipstore_len(w->cs, id) >= w->pol.stream_min_frames;
}

/* Marks the clips of speech sounding in [lo, hi) as seen by this update,
 * and prepares them if prepare; for a streamed clip, the frames of it
 * those uses reach are noted in need_lo / need_hi. */
static int scan(struct clipwin *w, uint64_t lo, uint64_t hi, bool prepare)
{
    const struct timeline *tl = w->tl;
    uint64_t back = tl->max_event_frames < lo ? lo - tl->max_event_frames : 0;
    for (size_t i = timeline_lower_bound(tl, back); i < tl->n_ev && tl->ev[i].frame < hi; i++) {
        const struct event *e = &tl->ev[i];
        if (e->kind != EV_SPEECH || e->frame + e->len_frames <= lo) continue;
        uint32_t id = e->clip;
        if (prepare && streams(w, id)) {
            uint64_t from = lo > e->frame ? lo - e->frame : 0, upto = hi - e->frame;
            if (w->need_no[id] != w->update_no) {
                w->need_no[id] = w->update_no;
                w->need_lo[id] = from;
                w->need_hi[id] = upto;
            } else {
                if (from < w->need_lo[id]) w->need_lo[id] = from;
                if (upto > w->need_hi[id]) w->need_hi[id] = upto;
            }
        }
        if (w->seen[id] == w->update_no) continue;
        bool is_ready = atomic_load_explicit(&w->slots[id], memory_order_relaxed) != NULL;
        if (!is_ready && !prepare) continue; /* only ready clips need keeping */
        w->seen[id] = w->update_no;
        if (is_ready) continue;
        int rc = streams(w, id) ? clipstore_prepare_streamed(w->cs, id) : clipstore_prepare(w->cs, id);
        if (rc) return rc;
        w->prepares++;
        w->ready[w->n_ready++] = id;
        publish(w, id, w->cs->clips[id].pcm);
    }
    return 0;
}

static void reap(struct clipwin *w, uint64_t epoch, bool all)
{
    size_t k = 0;
    for (size_t i = 0; i < w->n_retired; i++) {
        if (all || epoch >= w->retired[i].epoch + CLIPWIN_SAFE_EPOCHS)
            free(w->retired[i].pcm);
        else
            w->retired[k++] = w->retired[i];
    }
    w->n_retired = k;
}

/* Unpublishes clip id; its PCM is freed now, or once the reader is past it. */
static int release(struct clipwin *w, uint32_t id, uint64_t epoch)
{
    publish(w, id, NULL);
    if (!w->pol.deferred_free) {
        clipstore_release(w->cs, id);
        return 0;
    }
    if (w->n_retired == w->cap_retired) {
        size_t cap = w->cap_retired ? w->cap_retired * 2 : 64;
        struct clipwin_retired *r = realloc(w->retired, cap * sizeof *r);
        if (!r) { /* keep it published: better ready too long than freed too early */
            publish(w, id, w->cs->clips[id].pcm);
            return COACH_ENOMEM;
        }
        w->retired = r;
        w->cap_retired = cap;
    }
    w->retired[w->n_retired++] = (struct clipwin_retired){w->cs->clips[id].pcm, epoch};
    w->cs->clips[id].pcm = NULL; /* the store may prepare it anew meanwhile */
    return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

int clipwin_update(struct clipwin *w, uint64_t playhead, uint64_t want, uint64_t epoch)
{
    if (!w->tl) return 0;
    const struct clipwin_policy *p = &w->pol;
    if (++w->update_no == 0) { /* wrapped: forget every mark */
        memset(w->seen, 0, w->n_slots * sizeof *w->seen);
        if (w->need_no) memset(w->need_no, 0, w->n_slots * sizeof *w->need_no);
        w->update_no = 1;
    }
    uint64_t lo = playhead > p->behind_frames ? playhead - p->behind_frames : 0;
    int rc = scan(w, lo, sat_add(playhead, p->ahead_frames), true);
    if (!rc && want != CLIPWIN_NO_WANT) rc = scan(w, want, sat_add(want, p->ahead_frames), true);
    if (rc) return rc;
    bool to_last = p->keep_frames == CLIPWIN_UNTIL_LAST_USE;
    if (!to_last) {
        scan(w, lo, sat_add(playhead, p->keep_frames), false);
        if (want != CLIPWIN_NO_WANT) scan(w, want, sat_add(want, p->keep_frames), false);
    }
    for (size_t i = 0; i < w->n_ready;) {
        uint32_t id = w->ready[i];
        /* a streamed clip is kept only while a use is near, never to its
         * last use: between uses it is given back */
        bool keep = w->seen[id] == w->update_no ||
                    (to_last && w->last_end[id] > lo && !streams(w, id));
        if (keep && streams(w, id) && w->need_no[id] == w->update_no) {
            rc = clipstore_window(w->cs, id, w->need_lo[id], w->need_hi[id]);
            if (rc) return rc;
            publish(w, id, w->cs->clips[id].pcm); /* the window may have moved */
        }
        if (keep || release(w, id, epoch)) {
            i++;
            continue;
        }
        w->ready[i] = w->ready[--w->n_ready];
    }
    reap(w, epoch, false);
    return 0;
}

void clipwin_free(struct clipwin *w)
{
    for (size_t i = 0; i < w->n_ready; i++) {
        publish(w, w->ready[i], NULL);
        clipstore_release(w->cs, w->ready[i]);
    }
    w->n_ready = 0;
    reap(w, 0, true);
    free(w->retired);
    free(w->last_end);
    free(w->seen);
    free(w->ready);
    free(w->need_lo);
    free(w->need_hi);
    free(w->need_no);
    memset(w, 0, sizeof *w);
}
