/* Printing a timeline for people and programs: a readable text listing
 * grouped by chapter (plain lines, screen-reader friendly, also the golden
 * files of the planner tests) and a JSON document. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "coach/plan.h"
#include "coach/textsafe.h"

/* "m:ss.mmm" (or "h:mm:ss.mmm") from frames, exactly. */
static void put_time(FILE *out, uint64_t frame, uint32_t rate_hz)
{
    uint64_t ms = (frame * 1000 + rate_hz / 2) / rate_hz;
    uint64_t s = ms / 1000, m = s / 60, h = m / 60;
    if (h)
        fprintf(out, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64, h, m % 60, s % 60, ms % 1000);
    else
        fprintf(out, "%" PRIu64 ":%02" PRIu64 ".%03" PRIu64, m, s % 60, ms % 1000);
}

void plan_dump_text(const struct timeline *tl, const struct clipstore *cs, const struct routine *r,
                    FILE *out)
{
    size_t n_speech = 0;
    for (size_t i = 0; i < tl->n_ev; i++) n_speech += tl->ev[i].kind == EV_SPEECH;
    size_t moves = routine_count_moves(r); /* "exercises" as list, check and the menu count */
    fprintf(out, "%s: %zu exercise%s, ", r->title, moves, moves == 1 ? "" : "s");
    put_time(out, tl->len_frames, tl->rate_hz);
    fprintf(out, " (%" PRIu64 " frames at %" PRIu32 " Hz), %zu chapters, %zu events, %zu spoken.\n",
            tl->len_frames, tl->rate_hz, tl->n_ch, tl->n_ev, n_speech);
    const struct chapter *cur = NULL;
    size_t w = 0;
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        /* a self-paced part, at its end: where live playback waits for done */
        for (; w < tl->n_waits && tl->waits[w].frame <= e->frame; w++) {
            const struct wait *x = &tl->waits[w];
            fputs("  ", out);
            put_time(out, x->frame, tl->rate_hz);
            uint64_t ms = ((x->frame - x->start_frame) * 1000 + tl->rate_hz / 2) / tl->rate_hz;
            fprintf(out, "  wait for done (live; %" PRIu64 ".%03" PRIu64 " s here: %s)\n", ms / 1000,
                    ms % 1000, x->caption ? x->caption : "");
        }
        const struct chapter *c = timeline_chapter_at(tl, e->frame);
        if (c && c != cur) {
            fprintf(out, "\n%s, at ", c->title);
            put_time(out, c->frame, tl->rate_hz);
            fputs("\n", out);
            cur = c;
        }
        fputs("  ", out);
        put_time(out, e->frame, tl->rate_hz);
        fprintf(out, "  %s", event_kind_name(e->kind));
        if (e->kind == EV_PHASE) fprintf(out, " %u", e->variant + 1);
        if (e->kind == EV_SPEECH && clipstore_text(cs, e->clip))
            fprintf(out, "  \"%s\"", clipstore_text(cs, e->clip));
        fputs(", ", out);
        uint64_t ms = (e->len_frames * 1000 + tl->rate_hz / 2) / tl->rate_hz;
        fprintf(out, "%" PRIu64 ".%03" PRIu64 " s\n", ms / 1000, ms % 1000);
    }
    fputs("\nEnd at ", out);
    put_time(out, tl->len_frames, tl->rate_hz);
    fputs("\n", out);
}

/* One JSON string writer for every JSON coach prints (textsafe.h). */
static void put_json_string(FILE *out, const char *s) { text_fput_json(s, out); }

static void put_seconds(FILE *out, uint64_t frames, uint32_t rate_hz)
{
    /* exact to the microsecond from integers; no float formatting drift */
    uint64_t us = (frames * 1000000 + rate_hz / 2) / rate_hz;
    fprintf(out, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

static const char *step_id(const struct routine *r, int32_t step)
{
    return step >= 0 && (size_t)step < r->n_steps ? r->steps[step].id : NULL;
}

void plan_dump_json(const struct timeline *tl, const struct clipstore *cs, const struct routine *r,
                    FILE *out)
{
    fputs("{\n  \"title\": ", out);
    put_json_string(out, r->title);
    fprintf(out, ",\n  \"exercises\": %zu", routine_count_moves(r));
    fprintf(out, ",\n  \"rate_hz\": %" PRIu32 ",\n  \"length_frames\": %" PRIu64, tl->rate_hz,
            tl->len_frames);
    fputs(",\n  \"length_seconds\": ", out);
    put_seconds(out, tl->len_frames, tl->rate_hz);
    fputs(",\n  \"chapters\": [", out);
    for (size_t i = 0; i < tl->n_ch; i++) {
        const struct chapter *c = &tl->ch[i];
        fprintf(out, "%s\n    {\"step\": %" PRId32 ", \"step_id\": ", i ? "," : "", c->step);
        const char *id = step_id(r, c->step);
        if (id)
            put_json_string(out, id);
        else
            fputs("null", out);
        fputs(", \"title\": ", out);
        put_json_string(out, c->title);
        fprintf(out, ", \"frame\": %" PRIu64 ", \"body_frame\": %" PRIu64 ", \"end_frame\": %" PRIu64
                ", \"time\": ", c->frame, c->body_frame, c->end_frame);
        put_seconds(out, c->frame, tl->rate_hz);
        fputs("}", out);
    }
    fputs("\n  ],\n  \"events\": [", out);
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        fprintf(out, "%s\n    {\"frame\": %" PRIu64 ", \"time\": ", i ? "," : "", e->frame);
        put_seconds(out, e->frame, tl->rate_hz);
        fprintf(out, ", \"len_frames\": %" PRIu64 ", \"duration\": ", e->len_frames);
        put_seconds(out, e->len_frames, tl->rate_hz);
        fputs(", \"kind\": ", out);
        put_json_string(out, event_kind_name(e->kind));
        fprintf(out, ", \"step\": %" PRId32, e->step);
        const char *id = step_id(r, e->step);
        if (id) {
            fputs(", \"step_id\": ", out);
            put_json_string(out, id);
        }
        if (e->kind == EV_PHASE) fprintf(out, ", \"phase\": %u", e->variant + 1);
        if (e->kind == EV_SPEECH && clipstore_text(cs, e->clip)) {
            fprintf(out, ", \"clip\": %" PRIu32 ", \"text\": ", e->clip);
            put_json_string(out, clipstore_text(cs, e->clip));
        }
        fputs("}", out);
    }
    fputs("\n  ]", out);
    if (tl->n_waits) { /* self-paced parts: live playback holds at "frame" for done */
        static const char *const kinds[] = {"reps", "hold", "rest"};
        fputs(",\n  \"waits\": [", out);
        for (size_t i = 0; i < tl->n_waits; i++) {
            const struct wait *w = &tl->waits[i];
            fprintf(out, "%s\n    {\"step\": %" PRId32 ", \"kind\": \"%s\", \"open_frame\": %" PRIu64
                    ", \"start_frame\": %" PRIu64 ", \"frame\": %" PRIu64 ", \"time\": ",
                    i ? "," : "", w->step, w->kind < 3 ? kinds[w->kind] : "?", w->open_frame,
                    w->start_frame, w->frame);
            put_seconds(out, w->frame, tl->rate_hz);
            fputs(", \"caption\": ", out);
            put_json_string(out, w->caption ? w->caption : "");
            fputs("}", out);
        }
        fputs("\n  ]", out);
    }
    fputs("\n}\n", out);
}
