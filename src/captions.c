/* Captions writer: the timeline's speech events as WebVTT or SubRip cues,
 * one per phrase, timed to the millisecond from the plan's frames (start
 * rounded down, end rounded up) and with the text made safe for each
 * format. Writes to a FILE; the CLI gives it an export sidecar so the file
 * appears atomically with the audio. */
#include "coach/captions.h"

#include <errno.h>
#include <inttypes.h>

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
    const int vtt = fmt == CAPTIONS_VTT;
    if (vtt) {
        fputs("WEBVTT\n\n", out);
        if (title && *title) {
            fputs("NOTE ", out);
            put_text(out, title, 0); /* a NOTE is not markup; only "-->" matters */
            fputs("\n\n", out);
        }
    }
    unsigned long n = 0;
    size_t w = 0; /* self-paced parts: a cue over each that says what time it was given */
    for (size_t i = 0; i <= tl->n_ev; i++) {
        const struct event *e = i < tl->n_ev ? &tl->ev[i] : NULL;
        if (e && e->kind != EV_SPEECH) continue;
        for (; w < tl->n_waits && (!e || tl->waits[w].start_frame <= e->frame); w++)
            put_cue(out, fmt, ++n, tl->rate_hz, tl->waits[w].start_frame, tl->waits[w].frame,
                    tl->waits[w].caption);
        if (e) put_cue(out, fmt, ++n, tl->rate_hz, e->frame, e->frame + e->len_frames,
                       clipstore_text(cs, e->clip));
    }
    if (ferror(out)) {
        if (!errno) errno = EIO;
        return COACH_EIO;
    }
    return 0;
}
