/* The planner: routine + voice + clip lengths -> timeline. The only place
 * where seconds become frames. Speech never overlaps other speech and is
 * never cut: the planner knows each clip's length before placing it and
 * lengthens a preparation or a rest, or drops an optional phrase, never a
 * count. Counts land exactly on their second. */
#ifndef COACH_PLAN_H
#define COACH_PLAN_H

#include <stdio.h>

#include "coach/clips.h"
#include "coach/diag.h"
#include "coach/routine.h"
#include "coach/timeline.h"
#include "coach/voice.h"

/* How much of the routine to plan. A prefix is exactly the beginning of
 * the full plan (same events at the same frames), so live playback can
 * start on it while the rest is synthesized, then swap to the full plan. */
enum plan_part {
    PLAN_FULL,     /* everything */
    PLAN_TITLE,    /* the title only: one clip, ready in milliseconds */
    PLAN_INTRO,    /* the intro up to the spoken length (which needs it all) */
};

struct plan_opts {
    uint32_t rate_hz;   /* output rate */
    enum level level;   /* which end of ranges */
    enum plan_part part;
    /* Optional sentence said right after the title (e.g. the --progress
     * decision); NULL for none. Not owned: must outlive the planning. */
    const char *announce;
    /* A sequence (routine.parts): per part, a sentence said right after
     * its name (--progress, each routine's), NULL entries for none; NULL
     * for none at all. Not owned. */
    char *const *part_announce;
    /* What the listener can answer a self-paced part with (enum
     * voice_input bits): its words say how (voice_format_done). 0: none
     * (export, plan, check). */
    unsigned inputs;
    /* Called after each phrase is interned (synthesized, or found in the
     * store): a live session's speech thread takes its turns here while it
     * plans; non-zero stops the planning with that code. NULL: none. */
    int (*tick)(void *ctx);
    void *tick_ctx;
    /* --preroll: the whole plan starts this late, after a lead-in of the
     * inaudible keep-alive (tone.h), and every silence of at least
     * PLAN_KEEPALIVE_GAP_MS is filled with it, so a Bluetooth speaker that
     * sleeps on silence is awake for the first word and after long rests.
     * 0: neither (the plan is what it always was). */
    uint32_t preroll_ms;
    /* NULL: the first phrase that cannot be said where it must fails the
     * plan (err says which). Set (coach check): every such phrase is added
     * here as "file:line: message", naming what it collides with and the
     * key to change (the same misfit repeated is one message), and the
     * planning goes on to find them all; plan_build then returns
     * COACH_EPLAN if there was any. */
    struct coach_diags *problems;
    /* --from: the session starts at this step of the routine (one of its
     * r->steps); NULL: at the top. The intro says the title, where it
     * starts (the profile's optional "from" phrase), the cautions (safety
     * advice is always heard) and the length, not the summary; then the
     * steps from there are placed exactly as in the full plan (the same
     * events, shifted). */
    const struct step *from;
    /* The words the intro says for the session's length ("18 minutes",
     * plan_length_words), given: the routine is planned once,
     * saying them, whatever length the plan then has. NULL: the words are
     * the plan's own length (planned again until they agree). A plan made
     * with the words plan_build would have chosen is that plan exactly;
     * what may be planned before the last phrase is synthesized
     * (bench/plan_horizon). */
    const char *length_words;
};

/* Self-paced parts (timeline.h's struct wait) have these lengths in the
 * plan: what an export plays, and where live playback holds for "done". */
#define PLAN_SELF_REP_MS 4000    /* pace = self: per repetition */
#define PLAN_HOLD_MAX_MS 30000   /* hold = max */
#define PLAN_REST_READY_MS 30000 /* rest = ready (at least: its words may take longer) */
#define PLAN_COUNT_UP_MS 10000   /* hold = max: "10 seconds", "20 seconds", ... */
#define PLAN_COUNT_UP_MAX_S 600  /* live, a hold is counted up to 10 minutes, then waits quietly */

#define PLAN_PREROLL_MAX_MS 10000
/* A Bluetooth speaker (or the sound server's idle suspend, ~5 s) may fall
 * asleep after a few seconds of silence; shorter silences keep no
 * keep-alive (they are between words, a speaker stays awake there). */
#define PLAN_KEEPALIVE_GAP_MS 4000
/* Keep-alive events are cut to this length (they join without a seam): a
 * long rest would otherwise make the longest event, and with it how far
 * back the renderer looks for events that still sound, minutes long. */
#define PLAN_KEEPALIVE_CHUNK_MS 2000

/* The longest session planned. A routine's limits allow weeks (20 sets of
 * 100 ten-minute holds), whose millions of events would take gigabytes and
 * minutes to plan: longer plans fail with COACH_EPLAN instead. */
#define PLAN_MAX_SESSION_MS (24u * 3600u * 1000u)

/* Plans with the clips of cs (which owns their texts and lengths: keep it
 * for as long as the timeline is used). Returns 0, or negative with a
 * message in err (e.g. COACH_EPLAN). */
int plan_build(const struct routine *r, const struct voice *v, struct clipstore *cs,
               const struct plan_opts *o, struct timeline *tl, char *err, size_t err_cap);

/* "14 minutes" in the voice's words (its noun for minutes; under 90 s,
 * seconds), for a session of frames at rate_hz: what the intro says of
 * its length. Heap; NULL if out of memory. */
char *plan_length_words(const struct voice *v, uint64_t frames, uint32_t rate_hz);

/* A readable timeline, one event per line ("  0:12.500  speech  ..."),
 * the texts from cs. */
void plan_dump_text(const struct timeline *tl, const struct clipstore *cs, const struct routine *r,
                    FILE *out);
/* JSON: rate, total frames/seconds, chapters (with the step's own start),
 * events (frame, time, duration, kind, step, text). */
void plan_dump_json(const struct timeline *tl, const struct clipstore *cs, const struct routine *r,
                    FILE *out);

#endif
