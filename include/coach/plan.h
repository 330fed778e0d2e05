/* The planner: routine + voice + clip lengths -> timeline. The only place
 * where seconds become frames. Speech never overlaps other speech and is
 * never cut: the planner knows each clip's length before placing it and
 * lengthens a preparation or a rest, or drops an optional phrase, never a
 * count. Counts land exactly on their second. */
#ifndef COACH_PLAN_H
#define COACH_PLAN_H

#include <stdio.h>

#include "coach/routine.h"
#include "coach/timeline.h"
#include "coach/voice.h"

/* Where clip lengths come from: the clip store in the program, an estimate
 * in golden tests (synthesized lengths vary by a few samples per run). */
struct clip_source {
    /* Returns 0 and the clip's id and length at rate_hz, or negative. */
    int (*intern)(void *ctx, const char *text, uint32_t *id, uint64_t *len_frames);
    void *ctx;
};

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
};

/* The longest session planned. A routine's limits allow weeks (20 sets of
 * 100 ten-minute holds), whose millions of events would take gigabytes and
 * minutes to plan: longer plans fail with COACH_EPLAN instead. */
#define PLAN_MAX_SESSION_MS (24u * 3600u * 1000u)

/* Returns 0, or negative with a message in err (e.g. COACH_EPLAN). */
int plan_build(const struct routine *r, const struct voice *v, const struct clip_source *src,
               const struct plan_opts *o, struct timeline *tl, char *err, size_t err_cap);

/* A readable timeline, one event per line ("  0:12.500  speech  ..."). */
void plan_dump_text(const struct timeline *tl, const struct routine *r, FILE *out);
/* JSON: rate, total frames/seconds, chapters, events (frame, time, duration,
 * kind, step, text). */
void plan_dump_json(const struct timeline *tl, const struct routine *r, FILE *out);

/* A clip source for tests and estimates: length from text length. */
int clip_estimate_intern(void *ctx, const char *text, uint32_t *id, uint64_t *len_frames);
struct clip_estimator {
    uint32_t rate_hz;
    char **texts;
    size_t n, cap;
};
void clip_estimator_free(struct clip_estimator *e);

#endif
