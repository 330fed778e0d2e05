/* The planner: turns a routine and a voice into a timeline of events at
 * exact frames. It walks the routine in time order with a cursor, knowing
 * every clip's length before it places it: phrases that may move ("flowing"
 * speech: announcements, setup, cues) go after the previous phrase and
 * lengthen the preparation or rest they sit in; phrases tied to a moment
 * (counts, "Release", rep numbers) go exactly on their frame, and an optional
 * one that would overlap is dropped. A mandatory one that cannot fit is an
 * error, never an overlap. */
#include "coach/plan.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/interrupt.h"
#include "coach/textsafe.h"
#include "coach/tone.h"

/* voice.c's bound on a phrase assumes a placeholder brings no more than a
 * routine text */
_Static_assert(VOICE_MAX_ARG_BYTES >= ROUTINE_MAX_TEXT_BYTES, "placeholder bound below routine text");

#define GAP_MS 350              /* silence between flowing phrases */
#define TIGHT_GAP_MS 60         /* least silence before a phrase at a fixed moment */
#define HELD_REP_REST_MIN_MS 3000 /* time to release and reset between held reps */
#define PHASE_WORD_REPS 2       /* dynamic reps whose phase names are spoken */
#define HALFWAY_MIN_MS 20000    /* holds this long get "N seconds left" halfway */
#define LONG_REST_MS 30000      /* rests this long get "10 seconds left" */
#define REST_LEFT_S 10
#define BELL_GAP_MS 300         /* from the last word to the bell */
#define TAIL_MS 500             /* silence after the bell's tail */

struct pb {
    const struct routine *r;
    /* the routine file of the steps being placed: its rest, prepare and
     * countdown, and the file messages name (r itself, but for a sequence,
     * where it is the part's) */
    const struct routine *pr;
    size_t part;               /* a sequence: the part being placed */
    const struct voice *v;
    struct clipstore *cs;
    const struct plan_opts *o;
    struct timeline *tl;
    const char *duration_text; /* "about 14 minutes" part of the intro */
    uint64_t start;            /* where the session starts: after the --preroll lead-in */
    uint64_t t;                /* cursor: where the next flowing thing may start */
    uint64_t speech_end;       /* end of the last speech placed */
    bool any_speech;
    int32_t step;              /* step of the events being placed; -1 intro/end */
    uint8_t set, side, rep;    /* position inside the step's work (1-based, 0 = none) */
    size_t n_moves, move;      /* exercise+breathing steps, and the current one's number */
    char *err;
    size_t err_cap;
    int rc;
    /* The phrases made from a template and not yet said, with their key:
     * a text too long to speak is blamed on the profile's line. */
    struct { const char *text; int id; } made[4];
    uint32_t prev_clip;        /* the last phrase placed (when any_speech) */
    /* o->problems: what does not fit, kept until the pass ends so that the
     * same misfit repeated (every rep of a set) is one message */
    struct problem *probs;
    size_t n_probs, cap_probs;
};

/* One timing problem: "file:line: first msg", seen `times` times (the
 * same msg: the same collision and advice, maybe another number), first
 * at at_s, last at last_s. */
struct problem {
    const char *file;
    int line;
    char *first, *msg;
    unsigned times;
    double at_s, last_s;
};

/* What a mandatory phrase must not collide with, and the key to change
 * when it does (line 0: the key is not in the file; the step's header is
 * named instead). */
struct fit {
    int line;
    const char *before; /* "the next second of the countdown" */
    const char *advice; /* "make 'hold' longer, or ..." */
};

static uint64_t F(const struct pb *p, uint64_t ms) { return frames_from_ms(ms, p->o->rate_hz); }

static void fail(struct pb *p, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct pb *p, int rc, const char *fmt, ...)
{
    if (p->rc) return;
    p->rc = rc;
    if (p->err && p->err_cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->err_cap, fmt, ap);
        va_end(ap);
    }
}

/* A phrase that cannot be said where it must: with o->problems, kept (the
 * planning goes on, to find every one); else the plan fails with it. */
static void problem(struct pb *p, int rc, const char *file, int line, double at_s,
                    const char *first, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void problem(struct pb *p, int rc, const char *file, int line, double at_s,
                    const char *first, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!p->o->problems) {
        fail(p, rc, "%s:%d: %s%s", file, line, first, msg);
        return;
    }
    for (size_t i = 0; i < p->n_probs; i++) {
        struct problem *q = &p->probs[i];
        if (q->line == line && strcmp(q->file, file) == 0 && strcmp(q->msg, msg) == 0) {
            q->times++;
            q->last_s = at_s;
            return;
        }
    }
    if (p->n_probs == p->cap_probs) {
        size_t cap = p->cap_probs ? p->cap_probs * 2 : 8;
        struct problem *q = realloc(p->probs, cap * sizeof *q);
        if (!q) return fail(p, COACH_ENOMEM, "out of memory");
        p->probs = q;
        p->cap_probs = cap;
    }
    char *m = coach_strdup(msg), *f = coach_strdup(first);
    if (!m || !f) {
        free(m), free(f);
        return fail(p, COACH_ENOMEM, "out of memory");
    }
    p->probs[p->n_probs++] = (struct problem){.file = file, .line = line, .first = f, .msg = m,
                                              .times = 1, .at_s = at_s, .last_s = at_s};
}

/* The problems kept, into o->problems; frees them. Returns how many. */
static size_t flush_problems(struct pb *p)
{
    size_t n = p->n_probs;
    for (size_t i = 0; i < n; i++) {
        struct problem *q = &p->probs[i];
        unsigned s = (unsigned)(q->at_s + 0.5), e = (unsigned)(q->last_s + 0.5);
        char times[64] = "";
        if (q->times > 1)
            snprintf(times, sizeof times, "; %u times, up to %u:%02u", q->times, e / 60, e % 60);
        if (!p->rc && diags_add(p->o->problems, q->file, q->line, "%s%s (at %u:%02u%s)", q->first,
                                q->msg, s / 60, s % 60, times))
            fail(p, COACH_ENOMEM, "out of memory");
        free(q->first);
        free(q->msg);
    }
    free(p->probs);
    p->probs = NULL;
    p->n_probs = p->cap_probs = 0;
    return n;
}

/* A session past PLAN_MAX_SESSION_MS fails at the step that reaches it. */
static void too_long(struct pb *p)
{
    const struct routine *r = p->r;
    const struct step *s = p->step >= 0 ? &r->steps[p->step]
                           : r->n_steps ? &r->steps[r->n_steps - 1] : NULL;
    fail(p, COACH_EPLAN,
         "%s:%d: step '%s': the session would last more than %u hours; use fewer sets or reps, "
         "or shorter times",
         p->pr->path, s ? s->line : 0, s ? s->id : "intro", (unsigned)(PLAN_MAX_SESSION_MS / 3600000));
}

static void add_event(struct pb *p, enum event_kind kind, uint64_t frame, uint64_t len,
                      uint32_t clip, uint8_t variant)
{
    struct timeline *tl = p->tl;
    if (p->rc) return;
    /* loops that only place tones (clicks, silent breaths) stop here too */
    if (coach_interrupted()) return fail(p, COACH_EINTR, "interrupted");
    if (frame + len > p->start + F(p, PLAN_MAX_SESSION_MS)) return too_long(p);
    if (tl->n_ev == tl->cap_ev) {
        size_t cap = tl->cap_ev ? tl->cap_ev * 2 : 256;
        struct event *e = realloc(tl->ev, cap * sizeof *e);
        if (!e) return fail(p, COACH_ENOMEM, "out of memory");
        tl->ev = e;
        tl->cap_ev = cap;
    }
    /* field by field over zeros: a compound literal may carry the stack's
     * bytes into the padding, and timelines are compared with memcmp */
    struct event *e = &tl->ev[tl->n_ev++];
    memset(e, 0, sizeof *e);
    e->frame = frame;
    e->len_frames = len;
    e->clip = clip;
    e->step = p->step;
    e->kind = (uint8_t)kind;
    e->variant = variant;
    e->set = p->set;
    e->side = p->side;
    e->rep = p->rep;
}

static void add_tone(struct pb *p, enum event_kind kind, uint64_t frame, uint8_t variant)
{
    add_event(p, kind, frame, tone_default_len(kind, p->o->rate_hz), 0, variant);
}

static void add_chapter(struct pb *p, uint64_t frame, const char *title)
{
    struct timeline *tl = p->tl;
    if (p->rc) return;
    if (tl->n_ch == tl->cap_ch) {
        size_t cap = tl->cap_ch ? tl->cap_ch * 2 : 32;
        struct chapter *c = realloc(tl->ch, cap * sizeof *c);
        if (!c) return fail(p, COACH_ENOMEM, "out of memory");
        tl->ch = c;
        tl->cap_ch = cap;
    }
    if (tl->n_ch) tl->ch[tl->n_ch - 1].end_frame = frame;
    char *t = coach_strdup(title ? title : "");
    if (!t) return fail(p, COACH_ENOMEM, "out of memory");
    /* a title, not a sentence: no closing full stop */
    size_t n = strlen(t);
    while (n && (t[n - 1] == '.' || t[n - 1] == ' ')) t[--n] = 0;
    tl->ch[tl->n_ch++] = (struct chapter){
        .frame = frame, .body_frame = frame, .end_frame = frame, .step = p->step, .title = t};
}

/* A self-paced part from open to end (timeline.h); its caption says the
 * time an export gives it. */
static void add_wait(struct pb *p, enum wait_kind kind, uint64_t open, uint64_t start, uint64_t end)
{
    struct timeline *tl = p->tl;
    if (p->rc) return;
    if (tl->n_waits == tl->cap_waits) {
        size_t cap = tl->cap_waits ? tl->cap_waits * 2 : 8;
        struct wait *w = realloc(tl->waits, cap * sizeof *w);
        if (!w) return fail(p, COACH_ENOMEM, "out of memory");
        tl->waits = w;
        tl->cap_waits = cap;
    }
    long secs = (long)((end - start + p->o->rate_hz / 2) / p->o->rate_hz);
    char *caption = voice_format(p->v, PH_CAPTION_SELF, &(struct phrase_args){.seconds = secs});
    if (!caption) return fail(p, COACH_ENOMEM, "out of memory");
    tl->waits[tl->n_waits++] = (struct wait){.open_frame = open, .start_frame = start, .frame = end,
                                             .step = p->step, .kind = (uint8_t)kind,
                                             .caption = caption};
}

/* A caption for a wordless part from frame to end (timeline.h's struct
 * note), made from a caption_* phrase; a profile without it has none. */
static void add_note(struct pb *p, uint64_t frame, uint64_t end, enum phrase_id id,
                     const struct phrase_args *a)
{
    struct timeline *tl = p->tl;
    if (p->rc || end <= frame || !p->v->phrases[id]) return;
    if (tl->n_notes == tl->cap_notes) {
        size_t cap = tl->cap_notes ? tl->cap_notes * 2 : 32;
        struct note *n = realloc(tl->notes, cap * sizeof *n);
        if (!n) return fail(p, COACH_ENOMEM, "out of memory");
        tl->notes = n;
        tl->cap_notes = cap;
    }
    char *text = voice_format(p->v, id, a);
    if (!text) return fail(p, COACH_ENOMEM, "out of memory");
    tl->notes[tl->n_notes++] = (struct note){.frame = frame, .end_frame = end, .text = text};
}

/* The template that made text (a phrase key's index), or -1: a routine's
 * own text. */
static int made_by(const struct pb *p, const char *text)
{
    for (size_t i = 0; i < sizeof p->made / sizeof *p->made; i++)
        if (p->made[i].text == text) return p->made[i].id;
    return -1;
}

/* Frees a text, forgetting that a template made it. */
static void drop(struct pb *p, char *text)
{
    for (size_t i = 0; text && i < sizeof p->made / sizeof *p->made; i++)
        if (p->made[i].text == text) p->made[i].text = NULL;
    free(text);
}

/* A text that would be spoken for longer than a clip may last: a
 * template's fault (its profile line), else the step's. */
static void too_long_to_say(struct pb *p, const char *text)
{
    int id = made_by(p, text);
    int max_s = speech_max_clip_s(p->cs->sp);
    const struct step *s = p->step >= 0 ? &p->r->steps[p->step] : NULL;
    char start[41]; /* its first 40 bytes, cut on a character boundary */
    text_safe(start, sizeof start, text);
    double at_s = (double)p->t / p->o->rate_hz;
    if (id >= 0)
        problem(p, COACH_ETOOLONG, voice_phrase_file(p->v, (enum phrase_id)id),
                p->v->phrase_line[id], at_s, "",
                "phrase '%s' would be spoken for more than %d s (\"%s...\"); use fewer "
                "placeholders",
                phrase_key((enum phrase_id)id), max_s, start);
    else
        problem(p, COACH_ETOOLONG, p->pr->path, s ? s->line : 0, at_s, "",
                "step '%s': \"%s...\" would be spoken for more than %d s; say it in shorter "
                "sentences (one 'setup' line each)",
                s ? s->id : "intro", start, max_s);
}

/* The rate the current step's words are said at (its speech_rate), 0 for
 * the voice's own. */
static int step_rate_wpm(const struct pb *p)
{
    int r = p->step >= 0 ? p->r->steps[p->step].speech_rate : 0;
    return r == ROUTINE_SPEECH_SLOWER ? p->v->rate_wpm * ROUTINE_SLOWER_PCT / 100 : r;
}

/* Interns a text: its clip id and length (the store keeps both). */
static int intern(struct pb *p, const char *text, uint32_t *id, uint64_t *len)
{
    if (p->rc) return p->rc;
    if (coach_interrupted()) return fail(p, COACH_EINTR, "interrupted"), p->rc;
    int rc = clipstore_intern_at(p->cs, text, step_rate_wpm(p), id, len);
    if (rc == COACH_ETOOLONG) {
        too_long_to_say(p, text);
        return rc;
    }
    if (rc) {
        fail(p, rc, "cannot synthesize '%s': %s", text, coach_strerror(rc));
        return rc;
    }
    if (*id >= p->tl->n_clips) p->tl->n_clips = (size_t)*id + 1;
    if (p->o->tick && (rc = p->o->tick(p->o->tick_ctx)) != 0) {
        fail(p, rc, "%s", coach_strerror(rc));
        return rc;
    }
    return 0;
}

/* Keeps s, made from phrase id, to blame the profile's line if it is too
 * long to say. */
static char *made(struct pb *p, enum phrase_id id, char *s)
{
    if (!s) {
        fail(p, COACH_ENOMEM, "out of memory");
        return s;
    }
    size_t slot = 0; /* a free slot, else the oldest would do: 4 are never all in use */
    for (size_t i = 0; i < sizeof p->made / sizeof *p->made; i++)
        if (!p->made[i].text) slot = i;
    p->made[slot].text = s;
    p->made[slot].id = (int)id;
    return s;
}

static char *phrase(struct pb *p, enum phrase_id id, const struct phrase_args *a)
{
    return made(p, id, voice_format(p->v, id, a));
}

/* A self-paced part's words, with how to answer them in this session. */
static char *phrase_done(struct pb *p, enum phrase_id id, const struct phrase_args *a)
{
    return made(p, id, voice_format_done(p->v, id, a, p->o->inputs));
}

/* Flowing speech: after the cursor and the previous phrase; moves the cursor
 * to its end. Takes ownership of text. */
static void say_flow(struct pb *p, char *text)
{
    uint32_t id;
    uint64_t len;
    if (text && *text && !intern(p, text, &id, &len) && len) {
        uint64_t at = p->t;
        if (p->any_speech && at < p->speech_end + F(p, GAP_MS)) at = p->speech_end + F(p, GAP_MS);
        add_event(p, EV_SPEECH, at, len, id, 0);
        p->speech_end = at + len;
        p->any_speech = true;
        p->prev_clip = id;
        p->t = p->speech_end;
    }
    drop(p, text);
}

/* Flowing speech, returning where it starts (the cursor if nothing was said). */
static uint64_t say_flow_at(struct pb *p, char *text)
{
    size_t before = p->tl->n_ev;
    uint64_t at = p->t;
    say_flow(p, text);
    return p->tl->n_ev > before ? p->tl->ev[before].frame : at;
}

/* Speech at an exact frame that must end before limit. Returns true if
 * placed. A mandatory phrase (must: what it must fit before, and the key
 * to change) that does not fit is a problem; an optional one (must NULL)
 * is left out. Takes ownership of text. */
static bool say_at(struct pb *p, uint64_t frame, char *text, uint64_t limit, const struct fit *must)
{
    uint32_t id;
    uint64_t len;
    bool placed = false;
    if (text && *text && !intern(p, text, &id, &len)) {
        uint64_t tight = F(p, TIGHT_GAP_MS);
        bool after_prev = !p->any_speech || frame >= p->speech_end + tight;
        bool before_next = limit == UINT64_MAX || frame + len + tight <= limit;
        if (after_prev && before_next) {
            if (len) add_event(p, EV_SPEECH, frame, len, id, 0);
            p->speech_end = frame + len;
            p->any_speech = true;
            p->prev_clip = id;
            placed = true;
        } else if (must) {
            const struct step *s = p->step >= 0 ? &p->r->steps[p->step] : NULL;
            char with[160];
            if (!after_prev) {
                char prev[61];
                text_safe(prev, sizeof prev, clipstore_text(p->cs, p->prev_clip));
                snprintf(with, sizeof with, "it would overlap \"%s\" said before it", prev);
            } else {
                snprintf(with, sizeof with, "it would run into %s", must->before);
            }
            char first[160], shown[61];
            snprintf(first, sizeof first, "step '%s': \"%s\" (%.2f s) ", s ? s->id : "intro",
                     text_safe(shown, sizeof shown, text), (double)len / p->o->rate_hz);
            problem(p, COACH_EPLAN, p->pr->path, must->line ? must->line : s ? s->line : 0,
                    (double)frame / p->o->rate_hz, first, "does not fit: %s; %s", with,
                    must->advice);
        }
    }
    drop(p, text);
    return placed;
}

static char *count_text(struct pb *p, long n)
{
    return phrase(p, PH_COUNT, &(struct phrase_args){.n = n});
}

static long whole_seconds(uint32_t ms) { return (long)((ms + 500) / 1000); }

/* Countdown "3, 2, 1" with beeps before t0 (the caller made room), and the
 * final higher beep at t0 itself. */
static void countdown(struct pb *p, uint64_t t0)
{
    uint32_t c = p->pr->countdown_s;
    for (uint32_t k = c; k >= 1; k--) {
        uint64_t f = t0 - F(p, (uint64_t)k * 1000);
        add_tone(p, EV_BEEP, f, 0);
        const struct fit fit = {
            p->pr->countdown_line, "the next second of the countdown",
            p->pr->countdown_line ? "make 'countdown' smaller (0: none), or choose a faster voice rate"
                                 : "add 'countdown = 0' to [routine], or choose a faster voice rate"};
        say_at(p, f, count_text(p, k), f + F(p, 1000), &fit);
    }
    add_tone(p, EV_BEEP_FINAL, t0, 0);
}

/* Where a timed block may start: after the flowing speech, with room for the
 * countdown, and not before the preparation time is over. */
static uint64_t block_start(struct pb *p, uint64_t prep_until)
{
    uint64_t t0 = p->t;
    if (p->any_speech && t0 < p->speech_end + F(p, GAP_MS)) t0 = p->speech_end + F(p, GAP_MS);
    t0 += F(p, (uint64_t)p->pr->countdown_s * 1000);
    return t0 < prep_until ? prep_until : t0;
}

/* Beeps (no words) before a rep that follows a short rest: the last seconds
 * of the rest, then the final beep at the rep's start. */
static void rest_beeps(struct pb *p, uint64_t next, uint32_t rest_ms)
{
    uint32_t c = p->pr->countdown_s;
    uint32_t room = rest_ms >= 2000 ? (rest_ms - 1000) / 1000 : 0;
    if (c > room) c = room;
    for (uint32_t k = c; k >= 1; k--) add_tone(p, EV_BEEP, next - F(p, (uint64_t)k * 1000), 0);
    add_tone(p, EV_BEEP_FINAL, next, 0);
}

static void clicks(struct pb *p, uint64_t from, uint64_t until, uint32_t bpm, bool accent_first,
                   bool skip_first)
{
    if (!bpm) return;
    /* beat i from its absolute index: no drift however long the block */
    for (uint64_t i = skip_first ? 1 : 0;; i++) {
        uint64_t f = from + i * 60 * p->o->rate_hz / bpm;
        if (f >= until || p->rc) break;
        add_tone(p, i == 0 && accent_first ? EV_CLICK_ACCENT : EV_CLICK, f, 0);
    }
}

/* How many of the last seconds of a hold or timed work are counted aloud:
 * 5 for 10 s or more, 3 from 5 s; shorter ones end on "Release" alone. */
static uint32_t counted_seconds(uint32_t len_ms)
{
    return len_ms >= 10000 ? 5 : len_ms >= 5000 ? 3 : 0;
}

/* The counted end of a hold or timed work: "N seconds left" halfway (long
 * ones), the last seconds counted aloud, each on its second. */
static void counted_end(struct pb *p, uint64_t start, uint32_t len_ms)
{
    uint64_t end = start + F(p, len_ms);
    uint32_t k = counted_seconds(len_ms);
    uint64_t first = end - F(p, (uint64_t)k * 1000);
    const struct step *s = &p->r->steps[p->step];
    const struct fit fit = {s->hold_line ? s->hold_line : s->duration_line,
                            "the next counted second",
                            "choose a faster voice rate (the profile's 'rate', or --rate)"};
    if (len_ms >= HALFWAY_MIN_MS) {
        uint32_t half_s = len_ms / 2000;
        uint64_t f = start + F(p, (uint64_t)half_s * 1000);
        long left = whole_seconds(len_ms - half_s * 1000);
        say_at(p, f, phrase(p, PH_HALFWAY, &(struct phrase_args){.seconds = left}), first, NULL);
    }
    for (uint32_t c = k; c >= 1; c--) {
        uint64_t f = end - F(p, (uint64_t)c * 1000);
        say_at(p, f, count_text(p, c), f + F(p, 1000), &fit);
    }
}

/* Speech at the start of a hold or timed work, ending before its first
 * count (or its end): the first of the texts that fits is said; the last
 * one is mandatory if last_mandatory. Takes ownership of the texts. */
static void say_opening(struct pb *p, uint64_t at, uint32_t len_ms, const struct fit *last_must, size_t n,
                        char *texts[])
{
    uint64_t limit = at + F(p, len_ms - counted_seconds(len_ms) * 1000);
    bool placed = false;
    for (size_t i = 0; i < n; i++) {
        if (placed)
            drop(p, texts[i]);
        else
            placed = say_at(p, at, texts[i], limit, i + 1 == n ? last_must : NULL);
    }
}

/* "alternate = yes": the sides take turns rep by rep, so a block of reps
 * is 2 x reps turns (rep r on the first side, rep r on the other, ...),
 * counted per side as the articles count them ("8 each side"). */
static uint32_t turns_of(const struct step *s, uint32_t reps)
{
    return s->alternate ? 2 * reps : reps;
}

/* Turn k (0-based) of a block: its rep (1-based, per side) and, when the
 * sides alternate, its side (1-based) in p. */
static uint32_t start_turn(struct pb *p, const struct step *s, uint32_t k)
{
    uint32_t r = s->alternate ? k / 2 + 1 : k + 1;
    p->rep = (uint8_t)r;
    if (s->alternate) p->side = (uint8_t)(k % 2 + 1);
    return r;
}

/* "Other side." before an alternating turn; a profile without the phrase
 * says its side_switch with the side's name instead. */
static char *other_side(struct pb *p, const struct step *s, uint32_t k)
{
    const char *side = s->sides.items[k % 2];
    if (!p->v->phrases[PH_SIDE_OTHER])
        return phrase(p, PH_SIDE_SWITCH, &(struct phrase_args){.side = side});
    return phrase(p, PH_SIDE_OTHER, &(struct phrase_args){.side = side});
}

/* One timed block of held reps starting at t0. Returns the block's end. */
static uint64_t held_reps(struct pb *p, const struct step *s, uint64_t t0, uint32_t reps,
                          uint32_t hold_ms)
{
    uint32_t turns = turns_of(s, reps);
    uint32_t rest_ms = s->rest_reps_ms;
    if (turns > 1 && rest_ms < HELD_REP_REST_MIN_MS) rest_ms = HELD_REP_REST_MIN_MS;
    long secs = whole_seconds(hold_ms);
    uint64_t end = t0;
    const struct fit rel = {s->rest_reps_line, "the next repetition",
                            s->rest_reps_line ? "make 'rest_reps' longer"
                                              : "add a longer 'rest_reps'"};
    for (uint32_t k = 0; k < turns && !p->rc; k++) {
        uint64_t rs = t0 + F(p, (uint64_t)k * (hold_ms + rest_ms));
        end = rs + F(p, hold_ms);
        uint32_t r = start_turn(p, s, k);
        if (k > 0) rest_beeps(p, rs, rest_ms);
        if (s->alternate && k % 2) {
            /* the other side of rep r: "Other side" in the rest said it */
            char *texts[] = {phrase(p, PH_HOLD, &(struct phrase_args){.seconds = secs})};
            say_opening(p, rs, hold_ms, NULL, 1, texts);
        } else if (turns > 1) {
            /* the rep's number is never dropped: shorter forms until it fits */
            const struct phrase_args a = {.n = r, .seconds = secs};
            char *texts[] = {phrase(p, PH_REP_HOLD, &a), phrase(p, PH_REP_SHORT, &a),
                             phrase(p, PH_REP, &a)};
            const struct fit fit = {s->hold_line, "the counted last seconds of the hold",
                                    "make 'hold' longer, or choose a faster voice rate"};
            say_opening(p, rs, hold_ms, &fit, 3, texts);
        } else {
            char *texts[] = {phrase(p, PH_HOLD, &(struct phrase_args){.seconds = secs})};
            say_opening(p, rs, hold_ms, NULL, 1, texts);
        }
        clicks(p, rs, end, s->metronome_bpm, false, true);
        add_note(p, rs, end, PH_CAPTION_HOLD, &(struct phrase_args){.seconds = secs});
        counted_end(p, rs, hold_ms);
        uint64_t next = k + 1 < turns ? end + F(p, rest_ms) : UINT64_MAX;
        if (k + 1 < turns)
            add_note(p, end, next, PH_CAPTION_REST,
                     &(struct phrase_args){.seconds = whole_seconds(rest_ms)});
        say_at(p, end, phrase(p, PH_RELEASE, NULL), next, &rel);
        if (s->alternate && k + 1 < turns) {
            /* said in the rest, so the switch is made before the beep; it
             * belongs to the turn it announces */
            start_turn(p, s, k + 1);
            say_at(p, p->speech_end + F(p, GAP_MS), other_side(p, s, k + 1), next, &rel);
            start_turn(p, s, k);
        }
        if (k + 2 == turns) /* "Last one" in the rest before the final rep */
            say_at(p, p->speech_end + F(p, GAP_MS), phrase(p, PH_LAST_ONE, NULL), next, NULL);
    }
    return end;
}

/* One timed block of dynamic reps (tempo phases) starting at t0. */
static uint64_t tempo_reps(struct pb *p, const struct step *s, uint64_t t0, uint32_t reps)
{
    uint32_t rep_ms = 0;
    for (size_t i = 0; i < s->n_tempo; i++) rep_ms += s->tempo_ms[i];
    uint32_t rest_ms = s->rest_reps_ms;
    uint32_t turns = turns_of(s, reps);
    uint64_t end = t0;
    for (uint32_t k = 0; k < turns && !p->rc; k++) {
        uint32_t r = start_turn(p, s, k);
        uint64_t rs = t0 + F(p, (uint64_t)k * (rep_ms + rest_ms));
        uint64_t next_rep = k + 1 < turns ? rs + F(p, rep_ms + rest_ms) : UINT64_MAX;
        end = rs + F(p, rep_ms);
        if (k > 0 && rest_ms) rest_beeps(p, rs, rest_ms);
        clicks(p, rs, end, s->metronome_bpm, true, false);
        bool words = s->phases.len == s->n_tempo && r <= PHASE_WORD_REPS;
        uint32_t off_ms = 0;
        for (size_t ph = 0; ph < s->n_tempo && !p->rc; ph++) {
            uint64_t ps = rs + F(p, off_ms);
            off_ms += s->tempo_ms[ph];
            uint64_t pe = ph + 1 < s->n_tempo ? rs + F(p, off_ms) : (rest_ms ? end : next_rep);
            add_tone(p, EV_PHASE, ps, (uint8_t)ph);
            bool last_phase_before_final = k + 2 == turns && ph + 1 == s->n_tempo;
            const struct fit fit = {s->tempo_line, "the next phase of the tempo",
                                    "make the first 'tempo' phase longer, or choose a faster "
                                    "voice rate"};
            if (ph == 0 && s->alternate && k % 2) {
                /* the other side of rep r: said on its first beat instead
                 * of the number, never dropped */
                say_at(p, ps, other_side(p, s, k), pe, &fit);
            } else if (ph == 0) {
                /* the rep's number on its first beat, never dropped */
                char *num = phrase(p, PH_REP, &(struct phrase_args){.n = r});
                if (words) {
                    char *both = phrase(
                        p, PH_REP_PHASE, &(struct phrase_args){.n = r, .phase = s->phases.items[0]});
                    if (say_at(p, ps, both, pe, NULL)) {
                        drop(p, num);
                        continue;
                    }
                }
                say_at(p, ps, num, pe, &fit);
            } else if (last_phase_before_final && !rest_ms) {
                if (!say_at(p, ps, phrase(p, PH_LAST_ONE, NULL), pe, NULL) && words)
                    say_at(p, ps, phrase(p, PH_PHASE, &(struct phrase_args){.phase = s->phases.items[ph]}),
                           pe, NULL);
            } else if (words) {
                say_at(p, ps, phrase(p, PH_PHASE, &(struct phrase_args){.phase = s->phases.items[ph]}),
                       pe, NULL);
            }
        }
        if (k + 2 == turns && rest_ms) /* a rest before the final rep: say it there */
            say_at(p, end + F(p, TIGHT_GAP_MS), phrase(p, PH_LAST_ONE, NULL), next_rep, NULL);
    }
    add_note(p, t0, end, s->metronome_bpm ? PH_CAPTION_METRONOME : PH_CAPTION_TONES,
             &(struct phrase_args){.reps = reps});
    return end;
}

/* Continuous work ("keep going") for len_ms from t0. */
static uint64_t timed_work(struct pb *p, const struct step *s, uint64_t t0, uint32_t len_ms)
{
    uint64_t end = t0 + F(p, len_ms);
    char *texts[] = {phrase(p, PH_KEEP_GOING, &(struct phrase_args){.seconds = whole_seconds(len_ms)})};
    say_opening(p, t0, len_ms, NULL, 1, texts);
    clicks(p, t0, end, s->metronome_bpm, false, true);
    add_note(p, t0, end, PH_CAPTION_WORK, &(struct phrase_args){.seconds = whole_seconds(len_ms)});
    counted_end(p, t0, len_ms);
    const struct fit fit = {s->duration_line, "the end of the work",
                            "choose a faster voice rate"};
    say_at(p, end, phrase(p, PH_STOP, NULL), UINT64_MAX, &fit);
    return end;
}

/* pace = self: the set was said (from open); a start beep, then quiet for
 * PLAN_SELF_REP_MS a repetition, where live playback waits for "done". */
static uint64_t self_reps(struct pb *p, uint64_t open, uint64_t prep_until, uint32_t reps)
{
    uint64_t t0 = p->t;
    if (p->any_speech && t0 < p->speech_end + F(p, GAP_MS)) t0 = p->speech_end + F(p, GAP_MS);
    if (t0 < prep_until) t0 = prep_until;
    add_tone(p, EV_BEEP_FINAL, t0, 0);
    uint64_t end = t0 + F(p, (uint64_t)reps * PLAN_SELF_REP_MS);
    add_wait(p, WAIT_REPS, open, t0, end);
    return end;
}

/* hold = max: "hold as long as you can" was said (from open); the
 * countdown, the time held said every PLAN_COUNT_UP_MS, and the end of the
 * default hold, where live playback waits for "done" (the player counts on
 * there) before "Release". */
static uint64_t hold_max(struct pb *p, const struct step *s, uint64_t open, uint64_t prep_until)
{
    uint64_t t0 = block_start(p, prep_until);
    countdown(p, t0);
    uint64_t end = t0 + F(p, PLAN_HOLD_MAX_MS);
    p->rep = 1;
    for (uint32_t ms = PLAN_COUNT_UP_MS; ms < PLAN_HOLD_MAX_MS && !p->rc; ms += PLAN_COUNT_UP_MS)
        say_at(p, t0 + F(p, ms), phrase(p, PH_COUNT_UP, &(struct phrase_args){.seconds = ms / 1000}),
               end, NULL);
    add_wait(p, WAIT_HOLD, open, t0, end);
    const struct fit rel = {s->hold_line, "the end of the hold", "choose a faster voice rate"};
    say_at(p, end, phrase(p, PH_RELEASE, NULL), UINT64_MAX, &rel);
    p->rep = 0;
    return end;
}

static void say_list(struct pb *p, const struct strlist *l)
{
    for (size_t i = 0; i < l->len; i++) say_flow(p, coach_strdup(l->items[i]));
}

/* A rest: its phrase, optional extra text, a preview of the next move (its
 * name and setup), "10 seconds left" on long rests. A rest until ready
 * (ready) lasts PLAN_REST_READY_MS, or until its words end, and is a
 * self-paced part: live playback waits at its end for "done". */
static void rest(struct pb *p, uint32_t rest_ms, bool ready, const char *text,
                 const struct step *next)
{
    uint64_t start = p->t;
    uint64_t open = say_flow_at(p, ready ? phrase_done(p, PH_REST_READY, NULL)
                                         : phrase(p, PH_REST, &(struct phrase_args){
                                                              .seconds = whole_seconds(rest_ms)}));
    if (text) say_flow(p, coach_strdup(text));
    if (next) {
        say_flow(p, phrase(p, PH_NEXT, &(struct phrase_args){.name = next->name}));
        say_list(p, &next->setup);
    }
    if (ready) {
        uint64_t end = start + F(p, PLAN_REST_READY_MS);
        if (end < p->speech_end + F(p, GAP_MS)) end = p->speech_end + F(p, GAP_MS);
        add_wait(p, WAIT_REST, open, start, end);
        p->t = end;
        return;
    }
    uint64_t end = start + F(p, rest_ms);
    add_note(p, start, end, PH_CAPTION_REST,
             &(struct phrase_args){.seconds = whole_seconds(rest_ms)});
    if (rest_ms >= LONG_REST_MS) {
        uint64_t f = end - F(p, REST_LEFT_S * 1000);
        say_at(p, f, phrase(p, PH_REST_LEFT, &(struct phrase_args){.seconds = REST_LEFT_S}), end,
               NULL);
    }
    if (p->t < end) p->t = end;
}

static char *step_title(struct pb *p, const struct step *s)
{
    return phrase(p, PH_STEP,
                  &(struct phrase_args){.n = (long)p->move, .total = (long)p->n_moves, .name = s->name});
}

/* Announcement, setup (unless a rest already read it), tip; returns the
 * frame before which the first block may not start. */
static uint64_t prepare(struct pb *p, const struct step *s, bool previewed)
{
    uint64_t start = p->t;
    size_t before = p->tl->n_ev;
    say_flow(p, step_title(p, s));
    /* the step itself starts with its title (after a rest that announced it) */
    if (p->tl->n_ch)
        p->tl->ch[p->tl->n_ch - 1].body_frame = p->tl->n_ev > before ? p->tl->ev[before].frame : start;
    if (!previewed) say_list(p, &s->setup);
    if (s->tip) say_flow(p, phrase(p, PH_TIP, &(struct phrase_args){.text = s->tip}));
    return start + F(p, p->pr->prepare_ms);
}

static void exercise(struct pb *p, const struct step *s, bool previewed)
{
    enum level lv = p->o->level;
    uint32_t sets = range_pick(s->sets, lv), reps = range_pick(s->reps, lv);
    uint32_t hold_ms = range_pick(s->hold_ms, lv), work_ms = range_pick(s->duration_ms, lv);
    /* alternating sides take turns inside one block per set */
    size_t sides = s->sides.len && !s->alternate ? s->sides.len : 1;
    uint64_t prep_until = prepare(p, s, previewed);
    for (uint32_t set = 1; set <= sets && !p->rc; set++) {
        p->set = (uint8_t)set;
        p->side = 0;
        p->rep = 0;
        if (sets > 1)
            say_flow(p, phrase(p, PH_SET, &(struct phrase_args){.set = set, .sets = sets}));
        for (size_t side = 0; side < sides && !p->rc; side++) {
            p->side = s->sides.len ? (uint8_t)(side + 1) : 0;
            p->rep = 0;
            if (s->sides.len)
                say_flow(p, phrase(p, side ? PH_SIDE_SWITCH : PH_SIDE_FIRST,
                                   &(struct phrase_args){.side = s->sides.items[side]}));
            if (s->cue) say_flow(p, coach_strdup(s->cue));
            if (s->pace_self || s->hold_max) {
                uint64_t open = say_flow_at(
                    p, s->hold_max ? phrase_done(p, PH_HOLD_MAX, NULL)
                                   : phrase_done(p, PH_SELF_REPS, &(struct phrase_args){.reps = reps}));
                p->t = s->hold_max ? hold_max(p, s, open, prep_until)
                                   : self_reps(p, open, prep_until, reps);
                continue;
            }
            if (s->alternate) /* older profiles: the plain goal (per side all the same) */
                say_flow(p, phrase(p, p->v->phrases[PH_REPS_ALTERNATE] ? PH_REPS_ALTERNATE
                                                                       : PH_REPS_GOAL,
                                   &(struct phrase_args){.reps = reps}));
            else if (reps > 1)
                say_flow(p, phrase(p, PH_REPS_GOAL, &(struct phrase_args){.reps = reps}));
            uint64_t t0 = block_start(p, prep_until);
            add_note(p, p->t, t0, PH_CAPTION_READY, NULL);
            countdown(p, t0);
            uint64_t end;
            if (s->n_tempo)
                end = tempo_reps(p, s, t0, reps);
            else if (work_ms)
                end = timed_work(p, s, t0, work_ms);
            else
                end = held_reps(p, s, t0, reps, hold_ms);
            p->t = end;
        }
        p->rep = 0;
        if (set < sets) rest(p, s->rest_sets_ms, false, NULL, NULL);
    }
    p->set = p->side = p->rep = 0;
    if (s->finish) say_flow(p, coach_strdup(s->finish));
}

/* A breath cycle in the profile's words, for its caption: the words of
 * its phases, each ending in an ellipsis ("Breathe in… Hold… Breathe
 * out…"). Heap; NULL only on failure (p->rc set). */
static char *breath_words(struct pb *p, const uint32_t phase_ms[4], const enum phrase_id word[4])
{
    char *all = coach_strdup("");
    for (int ph = 0; ph < 4 && all; ph++) {
        if (!phase_ms[ph]) continue;
        char *w = voice_format(p->v, word[ph], NULL);
        size_t n = w ? strlen(w) : 0;
        while (n && (w[n - 1] == '.' || w[n - 1] == '!' || w[n - 1] == ' ')) n--;
        char *next = w ? coach_asprintf("%s%s%.*s\xe2\x80\xa6", all, *all ? " " : "", (int)n, w) : NULL;
        free(w);
        free(all);
        all = next;
    }
    if (!all) fail(p, COACH_ENOMEM, "out of memory");
    return all;
}

static void breathing(struct pb *p, const struct step *s, bool previewed)
{
    uint32_t cycles = range_pick(s->cycles, p->o->level);
    uint64_t prep_until = prepare(p, s, previewed);
    if (s->cue) say_flow(p, coach_strdup(s->cue));
    say_flow(p, phrase(p, PH_BREATHS, &(struct phrase_args){.cycles = cycles}));
    uint64_t t0 = block_start(p, prep_until);
    add_note(p, p->t, t0, PH_CAPTION_READY, NULL);
    countdown(p, t0);
    const uint32_t phase_ms[4] = {s->inhale_ms, s->breath_hold_ms, s->exhale_ms, s->hold_out_ms};
    static const enum event_kind tone[4] = {EV_BREATH_IN, EV_BREATH_HOLD, EV_BREATH_OUT,
                                            EV_BREATH_HOLD};
    static const enum phrase_id word[4] = {PH_INHALE, PH_BREATH_HOLD, PH_EXHALE, PH_HOLD_OUT};
    uint32_t cycle_ms = phase_ms[0] + phase_ms[1] + phase_ms[2] + phase_ms[3];
    uint64_t end = t0;
    char *words = breath_words(p, phase_ms, word);
    for (uint32_t c = 0; c < cycles && !p->rc; c++) {
        p->rep = (uint8_t)(c + 1);
        uint32_t off_ms = c * cycle_ms;
        if (c >= s->spoken_cycles) /* the tones alone: the cycle in words for captions */
            add_note(p, t0 + F(p, off_ms), t0 + F(p, off_ms + cycle_ms), PH_CAPTION_CYCLE,
                     &(struct phrase_args){.text = words, .n = c + 1, .total = cycles});
        for (int ph = 0; ph < 4; ph++) {
            if (!phase_ms[ph]) continue;
            uint64_t ps = t0 + F(p, off_ms);
            off_ms += phase_ms[ph];
            uint64_t pe = t0 + F(p, off_ms);
            add_event(p, tone[ph], ps, pe - ps, 0, 0);
            if (c < s->spoken_cycles)
                say_at(p, ps, phrase(p, word[ph], NULL), pe, NULL);
            else if (c == s->spoken_cycles && ph == 0 && s->spoken_cycles > 0)
                say_at(p, ps, phrase(p, PH_TONES_ONLY, NULL), pe, NULL);
            end = pe;
        }
    }
    free(words);
    p->t = end;
    p->rep = 0;
    if (s->finish) say_flow(p, coach_strdup(s->finish));
}

static bool is_move(const struct step *s)
{
    return s->kind == STEP_EXERCISE || s->kind == STEP_BREATHING;
}

/* The index of the step --from names (0: the top). */
static size_t first_step(const struct pb *p)
{
    const struct step *f = p->o->from;
    return f && f >= p->r->steps && f < p->r->steps + p->r->n_steps ? (size_t)(f - p->r->steps) : 0;
}

/* "Starting at exercise 4 of 9: Bird dog.": the move it starts at, or the
 * first after a [say] or [rest] it starts at; nothing if none follows or
 * the profile has no "from" phrase. */
static void say_from(struct pb *p)
{
    const struct routine *r = p->r;
    if (!p->v->phrases[PH_FROM]) return;
    size_t n = 0;
    for (size_t i = 0; i < r->n_steps; i++) {
        if (!is_move(&r->steps[i])) continue;
        n++;
        if (i >= first_step(p)) {
            say_flow(p, phrase(p, PH_FROM,
                               &(struct phrase_args){.n = (long)n, .total = (long)p->n_moves,
                                                     .name = r->steps[i].name}));
            return;
        }
    }
}

/* The intro. The spoken length comes last, after the cautions: it is the
 * one thing that needs the whole plan, so live playback can begin with the
 * title while the rest is still being synthesized. */
static void intro(struct pb *p)
{
    const struct routine *r = p->r;
    p->step = -1;
    /* the file's first chapter starts with it, lead-in and all; the title
     * is said after the lead-in */
    add_chapter(p, 0, r->title);
    if (p->tl->n_ch) p->tl->ch[0].body_frame = p->start;
    say_flow(p, phrase(p, PH_INTRO, &(struct phrase_args){.title = r->title}));
    if (p->o->part == PLAN_TITLE) return;
    if (p->o->from) say_from(p);
    if (p->o->announce) say_flow(p, coach_strdup(p->o->announce));
    /* the summary was heard when the session began; the cautions stay */
    if (r->summary && !p->o->from) say_flow(p, coach_strdup(r->summary));
    if (r->cautions.len) {
        say_flow(p, phrase(p, PH_CAUTION_INTRO, NULL));
        say_list(p, &r->cautions);
    }
    if (p->o->part == PLAN_INTRO) return;
    if (p->duration_text)
        say_flow(p, phrase(p, PH_DURATION, &(struct phrase_args){.duration = p->duration_text}));
    say_flow(p, phrase(p, PH_BEGIN, NULL));
}

/* Starts a step's chapter at the cursor (after the gap that follows speech). */
static void open_chapter(struct pb *p, size_t i, char *title)
{
    if (p->any_speech && p->t < p->speech_end + F(p, GAP_MS)) p->t = p->speech_end + F(p, GAP_MS);
    p->step = (int32_t)i;
    add_chapter(p, p->t, title);
    drop(p, title);
}

/* A sequence: where part k's steps end (one past its last). */
static size_t part_end(const struct pb *p)
{
    const struct routine *r = p->r;
    return r->parts ? r->parts[p->part].first_step + r->parts[p->part].n_steps : r->n_steps;
}

/* A sequence: the routine that starts at step i, announced in a chapter of
 * its own ("First routine: Warm-up." / "Next routine: Core strength."),
 * its moves counted from 1 again and its own settings used from here. */
static void start_part(struct pb *p, size_t i)
{
    const struct routine *r = p->r;
    size_t k = 0;
    while (k + 1 < r->n_parts && r->parts[k + 1].first_step <= i) k++;
    const struct routine_part *pt = &r->parts[k];
    p->part = k;
    p->pr = pt->src;
    p->move = 0;
    p->n_moves = routine_count_moves(pt->src);
    if (p->any_speech && p->t < p->speech_end + F(p, GAP_MS)) p->t = p->speech_end + F(p, GAP_MS);
    p->step = -1;
    add_chapter(p, p->t, pt->src->title);
    enum phrase_id id = k ? PH_NEXT_ROUTINE : PH_FIRST_ROUTINE;
    if (!p->v->phrases[id]) id = PH_INTRO; /* an older profile: the title alone */
    say_flow(p, phrase(p, id, &(struct phrase_args){.title = pt->src->title}));
    if (p->o->part_announce && p->o->part_announce[k])
        say_flow(p, coach_strdup(p->o->part_announce[k]));
}

/* A say step's chapter: a short name from the voice profile by where it
 * stands in its routine (before every move, after them all, between),
 * not its text, which can be a paragraph; a profile without these names
 * gives the text. */
static char *say_chapter_name(struct pb *p, size_t i)
{
    const struct routine *r = p->r;
    size_t lo = r->parts ? r->parts[p->part].first_step : 0, hi = part_end(p);
    bool before = false, after = false;
    for (size_t k = lo; k < hi; k++)
        if (is_move(&r->steps[k])) *(k < i ? &before : &after) = true;
    enum phrase_id id = !before ? PH_CHAPTER_OPENING : !after ? PH_CHAPTER_CLOSING : PH_CHAPTER_NOTE;
    return p->v->phrases[id] ? phrase(p, id, NULL) : coach_strdup(r->steps[i].text);
}

static void body(struct pb *p)
{
    const struct routine *r = p->r;
    bool move_since_rest = false; /* a move happened since the last rest */
    /* --from: the moves before it still count in "Exercise N of M" */
    for (size_t i = 0; i < first_step(p); i++) p->move += is_move(&r->steps[i]);
    for (size_t i = first_step(p); i < r->n_steps && !p->rc; i++) {
        if (r->parts && (i == 0 || i == part_end(p))) {
            start_part(p, i);
            move_since_rest = false; /* the announcement is the pause */
        }
        const struct step *s = &r->steps[i];
        /* a rest previews the next move of its own routine only */
        const struct step *next = i + 1 < part_end(p) && is_move(&r->steps[i + 1]) ? &r->steps[i + 1] : NULL;
        bool previewed = false;
        if (is_move(s)) {
            p->move++;
            char *title = step_title(p, s);
            open_chapter(p, i, title);
            if (move_since_rest && (p->pr->rest_ms || p->pr->rest_ready)) {
                rest(p, p->pr->rest_ms, p->pr->rest_ready, NULL, s);
                previewed = true;
            }
            if (s->kind == STEP_EXERCISE)
                exercise(p, s, previewed);
            else
                breathing(p, s, previewed);
            move_since_rest = true;
        } else if (s->kind == STEP_REST) {
            uint32_t ms = s->rest_ready ? 0 : range_pick(s->rest_ms, p->o->level);
            open_chapter(p, i, s->rest_ready ? phrase(p, PH_REST_READY, NULL)
                                             : phrase(p, PH_REST, &(struct phrase_args){
                                                                      .seconds = whole_seconds(ms)}));
            rest(p, ms, s->rest_ready, s->text, next);
            move_since_rest = false;
            if (next) { /* the next move's setup was read: say only its title */
                const struct step *n = next;
                i++;
                p->move++;
                open_chapter(p, i, step_title(p, n));
                if (n->kind == STEP_EXERCISE)
                    exercise(p, n, true);
                else
                    breathing(p, n, true);
                move_since_rest = true;
            }
        } else { /* say */
            open_chapter(p, i, say_chapter_name(p, i));
            say_flow(p, coach_strdup(s->text));
        }
    }
}

static void ending(struct pb *p)
{
    p->step = -1;
    if (p->any_speech && p->t < p->speech_end + F(p, GAP_MS)) p->t = p->speech_end + F(p, GAP_MS);
    p->tl->ending_frame = p->t;
    say_flow(p, phrase(p, PH_COMPLETE, NULL));
    uint64_t bell = p->speech_end + F(p, BELL_GAP_MS);
    add_tone(p, EV_BELL, bell, 0);
    uint64_t end = bell + tone_default_len(EV_BELL, p->o->rate_hz) + F(p, TAIL_MS);
    if (end > p->start + F(p, PLAN_MAX_SESSION_MS)) return too_long(p);
    if (p->tl->n_ch) p->tl->ch[p->tl->n_ch - 1].end_frame = end;
    p->tl->len_frames = end;
}

/* Stable merge sort by frame: events placed in time order mostly, but tones
 * and phrases of one block are placed phrase by phrase. */
static void sort_events(struct event *ev, struct event *tmp, size_t n)
{
    if (n < 2) return;
    size_t h = n / 2;
    sort_events(ev, tmp, h);
    sort_events(ev + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = ev[j].frame < ev[i].frame ? ev[j++] : ev[i++];
    while (i < h) tmp[k++] = ev[i++];
    while (j < n) tmp[k++] = ev[j++];
    memcpy(ev, tmp, n * sizeof *ev);
}

/* The keep-alive of --preroll (tone.h): over the lead-in, [0, the first
 * sound), and over every silence of at least PLAN_KEEPALIVE_GAP_MS between
 * the end of all sound so far and the next event; in events of at most
 * PLAN_KEEPALIVE_CHUNK_MS, faded only at the span's two ends. Each carries
 * the step, set, side and rep of the sound before it, so "where am I"
 * answers as without it. Placed after everything else, in the gaps: no
 * other event moves. Events must be sorted; they are not after this. */
static void add_keepalive(struct pb *p)
{
    struct timeline *tl = p->tl;
    const uint64_t gap_min = F(p, PLAN_KEEPALIVE_GAP_MS), chunk = F(p, PLAN_KEEPALIVE_CHUNK_MS);
    const size_t n = tl->n_ev;
    uint64_t quiet_from = 0; /* where all sound placed so far has ended */
    struct event before = {.step = -1};
    for (size_t i = 0; i <= n && !p->rc; i++) {
        /* the end of the session is a sound too: the bell's tail is short */
        uint64_t next = i < n ? tl->ev[i].frame : tl->len_frames;
        if (next > quiet_from && (i == 0 || (i < n && next - quiet_from >= gap_min))) {
            p->step = before.step;
            p->set = before.set, p->side = before.side, p->rep = before.rep;
            for (uint64_t f = quiet_from; f < next && !p->rc; f += chunk) {
                uint64_t len = next - f < chunk ? next - f : chunk;
                uint8_t fades = (f == quiet_from ? TONE_KEEPALIVE_FADE_IN : 0) |
                                (f + len == next ? TONE_KEEPALIVE_FADE_OUT : 0);
                add_event(p, EV_KEEPALIVE, f, len, 0, fades);
            }
        }
        if (i == n) break;
        before = tl->ev[i];
        uint64_t end = before.frame + before.len_frames;
        if (end > quiet_from) quiet_from = end;
    }
}

static int build_once(struct pb *p)
{
    intro(p);
    if (p->o->part == PLAN_FULL) {
        body(p);
        ending(p);
    } else { /* a prefix ends with its last phrase */
        p->tl->len_frames = p->tl->ending_frame = p->speech_end;
        if (p->tl->n_ch) p->tl->ch[p->tl->n_ch - 1].end_frame = p->speech_end;
    }
    if (p->rc) return p->rc;
    struct timeline *tl = p->tl;
    for (int pass = 0; pass < (p->o->preroll_ms ? 2 : 1); pass++) {
        struct event *tmp = malloc((tl->n_ev ? tl->n_ev : 1) * sizeof *tmp);
        if (!tmp) return fail(p, COACH_ENOMEM, "out of memory"), p->rc;
        sort_events(tl->ev, tmp, tl->n_ev);
        free(tmp);
        if (pass == 0 && p->o->preroll_ms) add_keepalive(p);
        if (p->rc) return p->rc;
    }
    tl->max_event_frames = 0;
    for (size_t i = 0; i < tl->n_ev; i++)
        if (tl->ev[i].len_frames > tl->max_event_frames) tl->max_event_frames = tl->ev[i].len_frames;
    return 0;
}

char *plan_length_words(const struct voice *v, uint64_t frames, uint32_t rate_hz)
{
    uint64_t s = (frames + rate_hz / 2) / rate_hz;
    if (s < 90) return voice_noun(v, NOUN_SECONDS, (long)((s + 5) / 10 * 10));
    return voice_noun(v, NOUN_MINUTES, (long)((s + 30) / 60));
}

int plan_build(const struct routine *r, const struct voice *v, struct clipstore *cs,
               const struct plan_opts *o, struct timeline *tl, char *err, size_t err_cap)
{
    char *said = NULL;
    int rc = 0;
    if (err && err_cap) err[0] = 0;
    /* The intro says the total length, which depends on the intro: plan,
     * then plan again saying what the previous pass measured, until the
     * spoken words agree with the length (rounded to minutes: 2-3 passes).
     * At a rounding edge the words can flip at every pass ("90 seconds" makes
     * it 2 minutes, "2 minutes" makes it 89 s): the last pass is kept. */
    const int passes = 4;
    if (o->preroll_ms > PLAN_PREROLL_MAX_MS) return COACH_EINVAL;
    if (o->length_words && !(said = coach_strdup(o->length_words))) return COACH_ENOMEM;
    /* The one place where the session's start is set: with --preroll
     * everything is placed from there (frames from absolute anchors, as
     * always), so the plan is the plan without it, shifted by exactly
     * start frames, plus the keep-alive. */
    const uint64_t start = frames_from_ms(o->preroll_ms, o->rate_hz);
    for (int pass = 0; pass < passes; pass++) {
        memset(tl, 0, sizeof *tl);
        tl->rate_hz = o->rate_hz;
        struct pb p = {.r = r, .pr = r, .v = v, .cs = cs, .o = o, .tl = tl, .duration_text = said,
                       .start = start, .t = start, .speech_end = start,
                       .n_moves = routine_count_moves(r), .err = err, .err_cap = err_cap};
        rc = build_once(&p);
        size_t misfits = flush_problems(&p);
        if (!rc && p.rc) rc = p.rc; /* a message could not be kept */
        if (!rc && misfits) {
            rc = COACH_EPLAN;
            if (err && err_cap)
                snprintf(err, err_cap, "%zu timing problem%s (see above)", misfits,
                         misfits == 1 ? "" : "s");
        }
        if (rc) break;
        if (o->length_words) break; /* said as given */
        /* the spoken length is the session's, not the lead-in's */
        char *now = plan_length_words(v, tl->len_frames - start, o->rate_hz);
        if (!now) {
            rc = COACH_ENOMEM;
            break;
        }
        bool same = (said && strcmp(now, said) == 0) || o->part != PLAN_FULL;
        free(said);
        said = now;
        if (same || pass + 1 == passes) break;
        timeline_free(tl);
    }
    free(said);
    if (rc) timeline_free(tl);
    return rc;
}
