/* Captions writer: the timeline's speech events as WebVTT, SubRip or
 * plain-text cues, one per phrase, timed to the millisecond from the
 * plan's frames (start rounded down, end rounded up) and with the text
 * made safe for each format; over the wordless parts (breath tones, a
 * metronome, a hold, a rest) the plan's notes say what sounds, wherever
 * no phrase does. Writes to a FILE; the CLI gives it an export sidecar so
 * the file appears atomically with the audio. */
#include "coach/captions.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"

enum captions_format captions_format_from_path(const char *path)
{
    if (!path) return CAPTIONS_UNKNOWN;
    if (coach_path_has_ext(path, ".vtt")) return CAPTIONS_VTT;
    if (coach_path_has_ext(path, ".srt")) return CAPTIONS_SRT;
    return CAPTIONS_UNKNOWN;
}

/* "HH:MM:SS.mmm" (VTT) or "HH:MM:SS,mmm" (SRT); hours grow past 99. */
static void put_time(FILE *out, uint64_t ms, char sep)
{
    fprintf(out, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 "%c%03" PRIu64, ms / 3600000,
            ms / 60000 % 60, ms / 1000 % 60, sep, ms % 1000);
}

/* One line of text. entities: & < > become &amp; &lt; &gt; (VTT cue text
 * is parsed as markup). Otherwise a '>' right after "--" gets a space
 * before it, so "-->" never appears, however many hyphens come first.
 * Line breaks become spaces: a blank line would end the cue. */
static void put_text(FILE *out, const char *s, int entities)
{
    int dashes = 0; /* hyphens just written */
    for (; *s; s++) {
        char c = *s;
        if (c == '\n' || c == '\r') c = ' ';
        if (entities && c == '&') {
            fputs("&amp;", out);
        } else if (entities && c == '<') {
            fputs("&lt;", out);
        } else if (entities && c == '>') {
            fputs("&gt;", out);
        } else {
            if (c == '>' && dashes >= 2) fputc(' ', out);
            fputc(c, out);
        }
        dashes = c == '-' ? dashes + 1 : 0;
    }
}

/* A transcript line: "M:SS text" ("H:MM:SS" past an hour), the start
 * rounded down to the second; the text as is, line breaks as spaces. */
static void put_line(FILE *out, uint64_t ms, const char *text)
{
    uint64_t s = ms / 1000;
    if (s >= 3600)
        fprintf(out, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64 " ", s / 3600, s / 60 % 60, s % 60);
    else
        fprintf(out, "%" PRIu64 ":%02" PRIu64 " ", s / 60, s % 60);
    put_text(out, text, 0);
    fputc('\n', out);
}

static void put_cue(FILE *out, enum captions_format fmt, unsigned long n, uint32_t rate_hz,
                    uint64_t from, uint64_t to, const char *text)
{
    if (fmt == CAPTIONS_TEXT) {
        put_line(out, captions_ms_floor(from, rate_hz), text ? text : "");
        return;
    }
    const int vtt = fmt == CAPTIONS_VTT;
    if (!vtt) fprintf(out, "%lu\n", n);
    put_time(out, captions_ms_floor(from, rate_hz), vtt ? '.' : ',');
    fputs(" --> ", out);
    put_time(out, captions_ms_ceil(to, rate_hz), vtt ? '.' : ',');
    fputc('\n', out);
    put_text(out, text ? text : "", vtt);
    fputs("\n\n", out);
}

/* One cue: a phrase, a self-paced part, or a note's text over a stretch
 * without either. */
struct cue {
    uint64_t from, to; /* frames */
    const char *text;
    size_t order;      /* ties at one frame keep the order they were made in */
};

struct cues {
    struct cue *c;
    size_t n, cap;
};

static int push(struct cues *q, uint64_t from, uint64_t to, const char *text)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct cue *c = realloc(q->c, cap * sizeof *c);
        if (!c) return COACH_ENOMEM;
        q->c = c;
        q->cap = cap;
    }
    q->c[q->n] = (struct cue){.from = from, .to = to, .text = text, .order = q->n};
    q->n++;
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const struct cue *x = a, *y = b;
    if (x->from != y->from) return x->from < y->from ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int note_by_time(const void *a, const void *b)
{
    const struct note *x = a, *y = b;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

/* A note's one cue: from the first to the end of the last stretch of
 * [frame, end_frame) that no phrase or self-paced part covers (cov: their
 * union, disjoint and in order) for at least CAPTIONS_NOTE_MIN_MS. The
 * phrases in between show over it (rep numbers in a block of tempo reps),
 * so a transcript reads the note once. *done: where the last note's cue
 * ended (notes never overlap one another). */
static int add_note_cues(struct cues *q, const struct cue *cov, size_t n_cov,
                         const struct note *nt, uint64_t min_frames, uint64_t *done)
{
    uint64_t cur = nt->frame > *done ? nt->frame : *done, first = UINT64_MAX, last = 0;
    size_t lo = 0, hi = n_cov; /* first covered stretch ending after cur */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cov[mid].to <= cur) lo = mid + 1;
        else hi = mid;
    }
    for (size_t k = lo; cur < nt->end_frame; k++) {
        uint64_t stop = k < n_cov && cov[k].from < nt->end_frame ? cov[k].from : nt->end_frame;
        if (stop > cur && stop - cur >= min_frames) {
            if (first == UINT64_MAX) first = cur;
            last = stop;
        }
        if (k >= n_cov || cov[k].from >= nt->end_frame) break;
        if (cov[k].to > cur) cur = cov[k].to;
    }
    if (first == UINT64_MAX) return 0;
    *done = last;
    return push(q, first, last, nt->text);
}

/* Every cue of tl in time order (q->c, heap). */
static int collect(const struct timeline *tl, const struct clipstore *cs, struct cues *q)
{
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        if (e->kind == EV_SPEECH &&
            push(q, e->frame, e->frame + e->len_frames, clipstore_text(cs, e->clip)))
            return COACH_ENOMEM;
    }
    for (size_t w = 0; w < tl->n_waits; w++)
        if (push(q, tl->waits[w].start_frame, tl->waits[w].frame, tl->waits[w].caption))
            return COACH_ENOMEM;
    qsort(q->c, q->n, sizeof *q->c, by_time);
    if (!tl->n_notes) return 0;
    /* the union of what the phrases and self-paced parts cover */
    struct cue *cov = malloc(q->n ? q->n * sizeof *cov : 1);
    struct note *notes = malloc(tl->n_notes * sizeof *notes);
    int rc = cov && notes ? 0 : COACH_ENOMEM;
    size_t n_cov = 0;
    for (size_t i = 0; !rc && i < q->n; i++) {
        if (n_cov && q->c[i].from <= cov[n_cov - 1].to) {
            if (q->c[i].to > cov[n_cov - 1].to) cov[n_cov - 1].to = q->c[i].to;
        } else {
            cov[n_cov++] = q->c[i];
        }
    }
    if (!rc) {
        memcpy(notes, tl->notes, tl->n_notes * sizeof *notes);
        qsort(notes, tl->n_notes, sizeof *notes, note_by_time);
    }
    const uint64_t min_frames = (uint64_t)CAPTIONS_NOTE_MIN_MS * tl->rate_hz / 1000;
    uint64_t done = 0;
    for (size_t i = 0; !rc && i < tl->n_notes; i++)
        if (notes[i].text && *notes[i].text)
            rc = add_note_cues(q, cov, n_cov, &notes[i], min_frames, &done);
    free(cov);
    free(notes);
    if (!rc) qsort(q->c, q->n, sizeof *q->c, by_time);
    return rc;
}

size_t captions_count(const struct timeline *tl, const struct clipstore *cs)
{
    struct cues q = {0};
    size_t n = tl && cs && collect(tl, cs, &q) == 0 ? q.n : 0;
    free(q.c);
    return n;
}

int captions_write(const struct timeline *tl, const struct clipstore *cs, enum captions_format fmt,
                   const char *title, FILE *out)
{
    if (!tl || !cs || !out || tl->rate_hz == 0 ||
        (fmt != CAPTIONS_VTT && fmt != CAPTIONS_SRT && fmt != CAPTIONS_TEXT))
        return COACH_EINVAL;
    for (size_t i = 0; i < tl->n_ev; i++) { /* check first: never write half a file */
        const struct event *e = &tl->ev[i];
        if (e->kind == EV_SPEECH && !clipstore_text(cs, e->clip))
            return COACH_EINVAL;
    }
    struct cues q = {0};
    if (collect(tl, cs, &q)) {
        free(q.c);
        return COACH_ENOMEM;
    }
    const int vtt = fmt == CAPTIONS_VTT;
    if (vtt) {
        fputs("WEBVTT\n\n", out);
        if (title && *title) {
            fputs("NOTE ", out);
            put_text(out, title, 0); /* a NOTE is not markup; only "-->" matters */
            fputs("\n\n", out);
        }
    }
    for (size_t i = 0; i < q.n; i++)
        put_cue(out, fmt, (unsigned long)i + 1, tl->rate_hz, q.c[i].from, q.c[i].to, q.c[i].text);
    free(q.c);
    if (ferror(out)) {
        if (!errno) errno = EIO;
        return COACH_EIO;
    }
    return 0;
}
