/* Speech clips made ahead on a second thread (clipahead.h says why and
 * what). One mutex and one condition variable, not the lock-free ring:
 * neither side is the audio callback, both must be able to sleep, and they
 * meet about once a block and once a piece.
 *
 * The thread makes pieces in the order they will be heard: a clip made
 * whole is one piece, taken by the owner as it is; a streamed clip's use
 * is a chain of pieces of CLIPAHEAD_CHUNK_FRAMES made by one stream of its
 * own, copied into the owner's window as it asks for them. */
#include "coach/clipahead.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

#define CLIPAHEAD_CHUNK_FRAMES 65536 /* a streamed clip's piece: what its window makes at a time */
#define CLIPAHEAD_MAX_CHAINS 8       /* streamed uses made at once; more are left to the owner */
#define NO_FRAME UINT64_MAX

struct item {
    uint64_t due; /* the use's first frame */
    uint32_t id;
    bool streamed;
};

struct piece {
    struct piece *next;      /* of the same clip, in the order made */
    struct piece *next_made; /* of every clip, in the order made */
    float *pcm;              /* frames [from, from + n) of the clip; NULL once taken */
    uint64_t from, n;
    uint64_t passed;         /* the owner is past it once its playhead is here */
    uint32_t id;
    bool whole;
};

struct slot {
    struct piece *pieces;
    bool making;          /* the thread is making a piece of this clip */
    uint64_t chain_next;  /* a chain's next piece starts here; NO_FRAME: no chain */
};

struct chain {
    uint32_t id;
    uint64_t due;         /* the use's first frame */
    uint64_t next;        /* its next piece's first frame */
    struct clipstream *st;
};

struct clipahead {
    struct clipstore *cs;
    struct clipahead_policy pol;
    uint64_t skip_frames;       /* clips due sooner than this are the owner's */
    uint64_t keep_frames;       /* a use within this after the last one reuses its clip */
    uint64_t stream_min_frames; /* clips this long are streamed: made in pieces */
    struct item *items; /* in due order */
    size_t n_items;
    struct slot *slots; /* clip id -> the pieces made of it */
    struct piece *made_head, *made_tail;
    struct chain chains[CLIPAHEAD_MAX_CHAINS];
    size_t n_chains;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t playhead; /* the owner's */
    size_t bytes;      /* of the pieces made and not taken */
    bool stop;
    bool thread_waits; /* for the playhead, or for room (wait_full) */
    bool wait_full;    /* it waits with max_bytes held: a piece let go may end it */
    uint64_t wake_frame; /* while it waits, a playhead before this cannot end the wait */
    bool owner_waits;  /* for a piece being made */
    bool owner_settles; /* for the thread to catch up (clipahead_settle) */
    bool done;         /* the thread has nothing more to make */
    struct clipahead_stats stats;
};

static void unlink_piece(struct slot *s, struct piece *p)
{
    for (struct piece **pp = &s->pieces; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

/* The piece leaves the thread's hands (taken, or freed): less held. */
static void let_go(struct clipahead *a, struct slot *s, struct piece *p)
{
    unlink_piece(s, p);
    p->pcm = NULL;
    a->bytes -= (size_t)p->n * sizeof(float);
    if (a->thread_waits && a->wait_full) pthread_cond_broadcast(&a->cv);
}

static void free_pcm(struct clipahead *a, struct slot *s, struct piece *p)
{
    if (!p->pcm) return;
    free(p->pcm);
    let_go(a, s, p);
}

/* Frees the pieces the owner is past (taken or not), oldest first. Under mu. */
static void drop_passed(struct clipahead *a)
{
    struct piece *p;
    while ((p = a->made_head) && (!p->pcm || p->passed < a->playhead)) {
        free_pcm(a, &a->slots[p->id], p);
        a->made_head = p->next_made;
        if (!a->made_head) a->made_tail = NULL;
        free(p);
    }
}

static void add_piece(struct clipahead *a, uint32_t id, struct piece *p)
{
    p->id = id;
    struct piece **pp = &a->slots[id].pieces;
    while (*pp) pp = &(*pp)->next;
    *pp = p;
    if (a->made_tail)
        a->made_tail->next_made = p;
    else
        a->made_head = p;
    a->made_tail = p;
    a->bytes += (size_t)p->n * sizeof(float);
    a->stats.made++;
}

/* Makes an item's clip whole. Under mu, released while making. */
static void make_whole(struct clipahead *a, const struct item *it)
{
    struct slot *s = &a->slots[it->id];
    for (struct piece *p = s->pieces; p; p = p->next)
        if (p->whole) { /* made for an earlier use, not taken: the same frames */
            p->passed = it->due + 1;
            return;
        }
    struct piece *p = calloc(1, sizeof *p);
    if (!p) return;
    s->making = true;
    pthread_mutex_unlock(&a->mu);
    int rc = clipstore_make(a->cs, it->id, &p->pcm);
    pthread_mutex_lock(&a->mu);
    s->making = false;
    if (rc == 0) { /* else the owner makes it, and meets the error itself */
        p->n = clipstore_len(a->cs, it->id);
        p->passed = it->due + 1;
        p->whole = true;
        add_piece(a, it->id, p);
    } else {
        free(p);
    }
    if (a->owner_waits) pthread_cond_broadcast(&a->cv);
}

static void end_chain(struct clipahead *a, size_t k)
{
    a->slots[a->chains[k].id].chain_next = NO_FRAME;
    clipstore_stream_close(a->chains[k].st);
    a->chains[k] = a->chains[--a->n_chains];
    if (a->owner_waits) pthread_cond_broadcast(&a->cv);
}

/* Makes chain k's next piece. Under mu, released while making. */
static void make_chunk(struct clipahead *a, size_t k)
{
    struct chain *c = &a->chains[k];
    uint32_t id = c->id;
    struct slot *s = &a->slots[id];
    struct piece *p = calloc(1, sizeof *p);
    float *pcm = malloc(CLIPAHEAD_CHUNK_FRAMES * sizeof *pcm);
    if (!p || !pcm) {
        free(p);
        free(pcm);
        end_chain(a, k);
        return;
    }
    s->making = true;
    struct clipstream *st = c->st;
    uint64_t from = c->next, due = c->due;
    pthread_mutex_unlock(&a->mu);
    int rc = st ? 0 : clipstore_stream_open(a->cs, id, &st);
    size_t got = 0;
    if (!rc) rc = clipstore_stream_next(a->cs, id, st, pcm, CLIPAHEAD_CHUNK_FRAMES, &got);
    pthread_mutex_lock(&a->mu);
    s->making = false;
    /* the chains may have moved while unlocked (only this thread moves them) */
    c = &a->chains[k];
    c->st = st;
    if (rc || !got) {
        free(p);
        free(pcm);
        end_chain(a, k);
        return;
    }
    *p = (struct piece){.pcm = pcm, .from = from, .n = got, .passed = due + from + got};
    add_piece(a, id, p);
    c->next = from + got;
    s->chain_next = c->next;
    if (c->next >= clipstore_len(a->cs, id))
        end_chain(a, k);
    else if (a->owner_waits)
        pthread_cond_broadcast(&a->cv);
}

/* The first playhead at which a wait for the next piece (due at due; far:
 * it is more than ahead_frames away, full: max_bytes are held) may end:
 * the piece comes within reach, or the oldest piece not taken is passed
 * and freed. The owner wakes the thread only from there on: woken at
 * every block it found nothing to do ~1300 times in a warm export of the
 * longest routine, and each wake cost both threads a context switch and
 * the owner a contended unlock (perf sched). Under mu. */
static uint64_t wake_frame(const struct clipahead *a, uint64_t due, bool far, bool full)
{
    uint64_t w = NO_FRAME;
    if (far) w = due - a->pol.ahead_frames + 1;
    if (full) {
        uint64_t near = due - a->skip_frames + 1;
        if (near < w) w = near;
        for (const struct piece *p = a->made_head; p; p = p->next_made)
            if (p->pcm) {
                if (p->passed + 1 < w) w = p->passed + 1;
                break;
            }
    }
    return w;
}

static void *run(void *arg)
{
    struct clipahead *a = arg;
    size_t i = 0;
    pthread_mutex_lock(&a->mu);
    while (!a->stop && (i < a->n_items || a->n_chains)) {
        /* the next piece to be heard: an item's, or a chain's next */
        uint64_t due = i < a->n_items ? a->items[i].due : NO_FRAME;
        size_t ck = a->n_chains;
        for (size_t k = 0; k < a->n_chains; k++) {
            uint64_t d = a->chains[k].due + a->chains[k].next;
            if (d < due) {
                due = d;
                ck = k;
            }
        }
        /* a piece due soon is made however much is held: the owner may be
           waiting for it */
        const bool far = due >= a->playhead + a->pol.ahead_frames;
        const bool full = a->pol.max_bytes && a->bytes >= a->pol.max_bytes &&
                          due >= a->playhead + a->skip_frames;
        if (!a->owner_waits && (far || full)) {
            a->wake_frame = wake_frame(a, due, far, full);
            a->wait_full = full;
            a->thread_waits = true;
            a->stats.waits++;
            if (a->owner_settles) pthread_cond_broadcast(&a->cv);
            pthread_cond_wait(&a->cv, &a->mu);
            a->thread_waits = false;
            continue;
        }
        drop_passed(a);
        if (ck < a->n_chains) { /* a chain goes on however late: the owner waits for it */
            make_chunk(a, ck);
            continue;
        }
        const struct item *it = &a->items[i++];
        if (it->due < a->playhead + a->skip_frames) continue; /* the owner's */
        if (!it->streamed) {
            make_whole(a, it);
        } else if (a->n_chains < CLIPAHEAD_MAX_CHAINS &&
                   a->slots[it->id].chain_next == NO_FRAME) {
            a->chains[a->n_chains++] = (struct chain){.id = it->id, .due = it->due};
            a->slots[it->id].chain_next = 0;
        }
    }
    a->done = true;
    if (a->owner_settles) pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* cs->premade: the clip made whole (1), waited for while it is being
 * made, or not here (0: the owner makes it). */
static int take(void *ctx, uint32_t id, float **pcm)
{
    struct clipahead *a = ctx;
    if (id >= a->cs->len) return 0;
    struct slot *s = &a->slots[id];
    int got = 0;
    pthread_mutex_lock(&a->mu);
    while (s->making) {
        a->owner_waits = true;
        pthread_cond_wait(&a->cv, &a->mu);
    }
    a->owner_waits = false;
    for (struct piece *p = s->pieces; p; p = p->next)
        if (p->whole) {
            *pcm = p->pcm;
            let_go(a, s, p);
            a->stats.taken++;
            got = 1;
            break;
        }
    pthread_mutex_unlock(&a->mu);
    return got;
}

/* cs->premade_frames: copies a streamed clip's frames from the pieces
 * made, waiting for one its chain is about to make. */
static size_t take_frames(void *ctx, uint32_t id, uint64_t from, uint64_t upto, float *pcm)
{
    struct clipahead *a = ctx;
    if (id >= a->cs->len) return 0;
    struct slot *s = &a->slots[id];
    size_t copied = 0;
    pthread_mutex_lock(&a->mu);
    while (from < upto) {
        struct piece *p = s->pieces, *next;
        for (; p; p = next) {
            next = p->next;
            if (p->whole) continue;
            if (p->from + p->n <= from) { /* behind the window: never asked for again */
                free_pcm(a, s, p);
                continue;
            }
            if (p->from <= from) break;
        }
        if (p) {
            uint64_t end = p->from + p->n < upto ? p->from + p->n : upto;
            memcpy(pcm + copied, p->pcm + (from - p->from), (size_t)(end - from) * sizeof *pcm);
            copied += (size_t)(end - from);
            from = end;
            if (end == p->from + p->n) {
                free_pcm(a, s, p);
                a->stats.taken++;
            }
            continue;
        }
        if (s->chain_next != from) break; /* not made, nor about to be */
        a->owner_waits = true; /* the thread makes it now, however far ahead */
        if (a->thread_waits) pthread_cond_broadcast(&a->cv);
        pthread_cond_wait(&a->cv, &a->mu);
        a->owner_waits = false;
    }
    pthread_mutex_unlock(&a->mu);
    return copied;
}

/* The uses the clip window prepares anew, from pol.first_frame on, in
 * due order: of a clip made whole, those after no use within keep_frames;
 * of a streamed clip (never kept between uses), every one. */
static int plan_items(struct clipahead *a, const struct timeline *tl)
{
    size_t n_ids = a->cs->len;
    /* clip id -> end of its last use so far; 0: none (a clip made here is
       never empty, so a use ends after frame 0) */
    uint64_t *last_end = calloc(n_ids ? n_ids : 1, sizeof *last_end);
    a->items = malloc((tl->n_ev ? tl->n_ev : 1) * sizeof *a->items);
    if (!last_end || !a->items) {
        free(last_end);
        return COACH_ENOMEM;
    }
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        if (e->kind != EV_SPEECH || e->clip >= n_ids || !clipstore_can_make(a->cs, e->clip)) continue;
        uint64_t end = e->frame + e->len_frames;
        if (end <= a->pol.first_frame) continue;
        uint64_t *last = &last_end[e->clip];
        bool streamed = a->stream_min_frames && clipstore_len(a->cs, e->clip) >= a->stream_min_frames;
        bool anew = streamed || !*last ||
                    (a->keep_frames < UINT64_MAX - *last && e->frame > *last + a->keep_frames);
        if (end > *last) *last = end;
        if (anew) a->items[a->n_items++] = (struct item){e->frame, e->clip, streamed};
    }
    free(last_end);
    return 0;
}

static void destroy(struct clipahead *a)
{
    for (size_t k = 0; k < a->n_chains; k++)
        clipstore_stream_close(a->chains[k].st);
    for (struct piece *p = a->made_head, *next; p; p = next) {
        next = p->next_made;
        free(p->pcm);
        free(p);
    }
    free(a->slots);
    free(a->items);
    free(a);
}

int clipahead_start(struct clipahead **out, struct clipstore *cs, const struct timeline *tl,
                    const struct clipwin_policy *win, const struct clipahead_policy *pol)
{
    *out = NULL;
    struct clipahead *a = calloc(1, sizeof *a);
    if (!a) return COACH_ENOMEM;
    a->cs = cs;
    a->pol = *pol;
    a->skip_frames = win->ahead_frames + win->ahead_frames / 2;
    a->keep_frames = win->keep_frames >= UINT64_MAX - win->behind_frames
                         ? UINT64_MAX
                         : win->keep_frames + win->behind_frames;
    a->stream_min_frames = win->stream_min_frames;
    a->playhead = pol->first_frame;
    int rc = plan_items(a, tl);
    if (rc || !a->n_items) {
        destroy(a);
        return rc;
    }
    a->slots = calloc(cs->len, sizeof *a->slots);
    if (!a->slots) {
        destroy(a);
        return COACH_ENOMEM;
    }
    for (size_t i = 0; i < cs->len; i++)
        a->slots[i].chain_next = NO_FRAME;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    rc = coach_thread_start(&a->thread, run, a); /* signals go to the owner */
    if (rc) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        destroy(a);
        return rc;
    }
    cs->premade = take;
    cs->premade_frames = take_frames;
    cs->premade_ctx = a;
    *out = a;
    return 0;
}

void clipahead_advance(struct clipahead *a, uint64_t frame)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->playhead = frame;
    const bool wake = a->thread_waits && frame >= a->wake_frame;
    pthread_mutex_unlock(&a->mu);
    if (wake) pthread_cond_broadcast(&a->cv); /* after the unlock: the thread wakes to a free mutex */
}

void clipahead_settle(struct clipahead *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->owner_settles = true;
    while (!a->done && !a->thread_waits)
        pthread_cond_wait(&a->cv, &a->mu);
    a->owner_settles = false;
    pthread_mutex_unlock(&a->mu);
}

void clipahead_stop(struct clipahead *a, struct clipahead_stats *stats)
{
    if (stats) *stats = (struct clipahead_stats){0};
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    a->cs->premade = NULL;
    a->cs->premade_frames = NULL;
    a->cs->premade_ctx = NULL;
    if (stats) *stats = a->stats;
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    destroy(a);
}
