/* How much of a routine's plan is final before its last phrase is
 * synthesized (issue 14: a cold export renders only after every phrase is
 * synthesized; could it render while the workers still synthesize?).
 *
 *   plan_horizon [ROUTINE ...]      (default: every routine the catalog finds)
 *
 * For each routine: its plan on its phrases as synthesized (CLIPS_LENGTHS,
 * through the phrase cache), the phrases in the order they are first heard
 * (the order a render that follows synthesis needs them), and then, for K of
 * them known (every twentieth), the plan made with those K lengths and
 * estimates for the rest, saying the length in the words the real plan
 * says (plan_opts.length_words). Its horizon is where it first differs from
 * the real plan (events sorted by frame, compared by frame, length, kind,
 * step, set, side, rep and text): everything before it could be rendered
 * with K phrases synthesized. Printed per K: the share of the speech
 * synthesized (by source length), the horizon in seconds and as a share of
 * the session. A last line per routine: the same with the words the
 * estimate alone would say (what a speculative render would have to say
 * before it knows), and whether they are the real words.
 *
 * Runs in the caller's XDG_CACHE_HOME and COACH_DATA_DIR. Built by CMake
 * (not installed). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/catalog.h"
#include "coach/common.h"
#include "coach/plan.h"
#include "coach/session.h"

#define STEPS 20

static bool same_event(const struct event *a, const struct clipstore *ca, const struct event *b,
                       const struct clipstore *cb)
{
    if (a->frame != b->frame || a->len_frames != b->len_frames || a->kind != b->kind ||
        a->step != b->step || a->set != b->set || a->side != b->side || a->rep != b->rep ||
        a->variant != b->variant)
        return false;
    if (a->kind != EV_SPEECH) return a->clip == b->clip;
    const char *ta = clipstore_text(ca, a->clip), *tb = clipstore_text(cb, b->clip);
    return ta && tb && strcmp(ta, tb) == 0;
}

/* The frame up to which tl (planned on est) is the real plan. */
static uint64_t horizon(const struct timeline *tl, const struct clipstore *est,
                        const struct timeline *real, const struct clipstore *cs)
{
    size_t i = 0;
    while (i < tl->n_ev && i < real->n_ev && same_event(&tl->ev[i], est, &real->ev[i], cs)) i++;
    if (i == tl->n_ev && i == real->n_ev && tl->len_frames == real->len_frames)
        return real->len_frames;
    uint64_t h = real->len_frames;
    if (i < tl->n_ev && tl->ev[i].frame < h) h = tl->ev[i].frame;
    if (i < real->n_ev && real->ev[i].frame < h) h = real->ev[i].frame;
    return h;
}

/* The plan with clips order[0, k) of s's store known, the rest
 * estimated, saying words; its horizon against s's plan, or UINT64_MAX if
 * it fails. */
static uint64_t plan_known(struct session *s, const uint32_t *order, size_t k, const char *words)
{
    struct clipstore est;
    if (session_estimates(s, &est)) return UINT64_MAX;
    for (size_t i = 0; i < k; i++) {
        const struct clip *c = &s->clips.clips[order[i]];
        clipstore_add_at(&est, c->text, c->rate_wpm, c->len_frames, NULL);
    }
    struct coach_diags misfits;
    diags_init(&misfits);
    struct plan_opts po = session_plan_opts(s, PLAN_FULL);
    po.problems = &misfits;
    po.length_words = words;
    struct timeline tl;
    char err[256];
    uint64_t h = UINT64_MAX;
    if (plan_build(&s->routine, &s->voice, &est, &po, &tl, err, sizeof err) == 0) {
        h = horizon(&tl, &est, &s->tl, &s->clips);
        timeline_free(&tl);
    }
    diags_free(&misfits);
    clipstore_free(&est);
    return h;
}

static int one(const char *arg)
{
    struct session_opts so = {.routine = arg, .speech_rate = -1, .pitch = -1, .speech_volume = -1,
                              .rate_hz = 48000, .clips = CLIPS_LENGTHS};
    struct session s;
    struct coach_diags d;
    diags_init(&d);
    char err[256] = "";
    if (session_open(&s, &so, &d, err, sizeof err) != SESSION_OK) {
        fprintf(stderr, "%s: %s\n", arg, err);
        diags_free(&d);
        session_free(&s);
        return 1;
    }
    const double rate = s.tl.rate_hz, len_s = (double)s.tl.len_frames / rate;
    /* the length said is the session's, not a --preroll lead-in's */
    const uint64_t lead_in = frames_from_ms(s.preroll_ms, s.tl.rate_hz);
    char *words = plan_length_words(&s.voice, s.tl.len_frames - lead_in, s.tl.rate_hz);
    /* every clip the plan asked for, in the order they are needed: one
       heard at its first frame, one never heard (a phrase that did not
       fit: its length decided that) where the planner asked for it, just
       before the next clip asked for (ids are given in that order) */
    const size_t n = s.clips.len;
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    uint64_t *first = malloc((n ? n : 1) * sizeof *first), total = 0;
    for (size_t id = 0; first && id < n; id++) first[id] = UINT64_MAX;
    for (size_t i = 0; first && i < s.tl.n_ev; i++) {
        const struct event *e = &s.tl.ev[i];
        if (e->kind == EV_SPEECH && e->clip < n && first[e->clip] == UINT64_MAX)
            first[e->clip] = e->frame;
    }
    size_t heard = 0;
    for (size_t id = n; first && id-- > 0;) {
        if (first[id] != UINT64_MAX)
            heard++;
        else
            first[id] = id + 1 < n ? first[id + 1] : s.tl.len_frames;
    }
    for (size_t id = 0; order && first && id < n; id++) {
        size_t j = id; /* insertion by first frame, ties in id order */
        while (j > 0 && first[order[j - 1]] > first[id]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (uint32_t)id;
        total += s.clips.clips[id].len_frames;
    }
    free(first);
    printf("%s: %.1f s, %zu phrases (%zu heard), says \"%s\"\n", s.name, len_s, n, heard,
           words ? words : "?");
    printf("  %8s %8s %10s %8s\n", "phrases", "speech", "horizon s", "session");
    for (int step = 0; step <= STEPS; step++) {
        size_t k = (n * (size_t)step + STEPS / 2) / STEPS;
        uint64_t known = 0;
        for (size_t i = 0; i < k; i++) known += s.clips.clips[order[i]].len_frames;
        uint64_t h = plan_known(&s, order, k, words);
        if (h == UINT64_MAX) {
            printf("  %8zu  (the plan failed)\n", k);
            continue;
        }
        printf("  %8zu %7.1f%% %10.1f %7.1f%%\n", k, total ? 100.0 * (double)known / (double)total : 0,
               (double)h / rate, 100.0 * (double)h / (double)s.tl.len_frames);
    }
    /* the words a render started before the last phrase would have to say */
    struct clipstore est;
    struct plan_opts po = session_plan_opts(&s, PLAN_FULL);
    po.problems = &d;
    struct timeline tl;
    char *est_words = NULL;
    if (session_estimates(&s, &est) == 0 &&
        plan_build(&s.routine, &s.voice, &est, &po, &tl, err, sizeof err) == 0) {
        est_words = plan_length_words(&s.voice, tl.len_frames - lead_in, tl.rate_hz);
        timeline_free(&tl);
    }
    clipstore_free(&est);
    bool agree = est_words && words && strcmp(est_words, words) == 0;
    printf("  estimates alone say \"%s\": %s\n", est_words ? est_words : "?",
           agree ? "the same words" : "other words: a render started on them is redone");
    free(est_words);
    free(words);
    free(order);
    diags_free(&d);
    session_free(&s);
    return 0;
}

int main(int argc, char **argv)
{
    int bad = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) bad |= one(argv[i]);
        return bad;
    }
    char **names, **paths;
    size_t n = 0;
    if (catalog_list(CATALOG_ROUTINES, &names, &paths, &n) || !n) {
        fprintf(stderr, "plan_horizon: no routines\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) bad |= one(paths[i]);
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    return bad;
}
