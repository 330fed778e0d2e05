/* libFuzzer target: bytes -> routine parser and validator -> planner. Every
 * input must give either a clean failure (messages as fuzz_check_diags
 * wants) or a routine within the documented limits, which must then plan at
 * every level, or fail planning with a message (fuzz_check_plans). Also
 * built without libFuzzer by replay.c, for the regression test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/routine.h"
#include "coach/voice.h"
#include "fuzzcheck.h"

#define NAME "fuzz.ini"

static struct voice voice;

static void check_text(const char *s, const char *what)
{
    FUZZ_REQUIRE(s && *s, "%s is missing or empty", what);
    size_t n = strlen(s);
    FUZZ_REQUIRE(n <= ROUTINE_MAX_TEXT_BYTES, "%s is %zu bytes", what, n);
    FUZZ_REQUIRE(fuzz_utf8_ok((const unsigned char *)s, n), "%s is not UTF-8", what);
}

static void check_list(const struct strlist *l, size_t min_len, const char *what)
{
    FUZZ_REQUIRE(l->len == 0 || l->len >= min_len, "%s has %zu items", what, l->len);
    FUZZ_REQUIRE(l->len <= ROUTINE_MAX_LIST, "%s has %zu items", what, l->len);
    for (size_t i = 0; i < l->len; i++)
        check_text(l->items[i], what);
}

static void check_range(struct range r, uint32_t lo, uint32_t hi, const char *what)
{
    FUZZ_REQUIRE(r.lo <= r.hi && r.lo >= lo && r.hi <= hi, "%s is %u-%u, limits %u-%u", what,
                 (unsigned)r.lo, (unsigned)r.hi, (unsigned)lo, (unsigned)hi);
}

/* What a routine that passed validation promises (docs/coach-routine.5). */
static void check_routine(const struct routine *r)
{
    check_text(r->title, "title");
    if (r->summary) check_text(r->summary, "summary");
    FUZZ_REQUIRE(r->voice && *r->voice, "no voice name");
    check_list(&r->cautions, 1, "caution");
    FUZZ_REQUIRE(r->rest_ms <= 600000 && r->prepare_ms <= 120000 && r->countdown_s <= 10,
                 "routine timings out of range");
    FUZZ_REQUIRE(r->level <= LEVEL_HARD, "level %d", (int)r->level);
    FUZZ_REQUIRE(r->n_steps >= 1 && r->n_steps <= ROUTINE_MAX_STEPS, "%zu steps", r->n_steps);
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct step *s = &r->steps[i];
        FUZZ_REQUIRE(s->id && *s->id, "step %zu has no id", i);
        for (size_t j = 0; j < i; j++)
            FUZZ_REQUIRE(strcmp(r->steps[j].id, s->id) != 0, "id '%s' twice", s->id);
        switch (s->kind) {
        case STEP_EXERCISE: {
            check_text(s->name, "name");
            check_list(&s->setup, 1, "setup");
            check_list(&s->sides, 2, "sides");
            check_list(&s->phases, 1, "phases");
            check_range(s->sets, 1, 20, "sets");
            check_range(s->reps, 1, 100, "reps");
            /* one kind of work: a hold (timed, or as long as you can), a tempo,
             * a duration, or reps at your own pace */
            int work = (s->hold_ms.hi > 0 || s->hold_max) + (s->n_tempo > 0) +
                       (s->duration_ms.hi > 0) + s->pace_self;
            FUZZ_REQUIRE(work == 1, "step '%s' has %d kinds of work", s->id, work);
            if (s->hold_ms.hi) check_range(s->hold_ms, 1000, 600000, "hold");
            if (s->duration_ms.hi) check_range(s->duration_ms, 1000, 3600000, "duration");
            FUZZ_REQUIRE(s->n_tempo <= ROUTINE_MAX_PHASES, "%zu tempo phases", s->n_tempo);
            for (size_t k = 0; k < s->n_tempo; k++)
                FUZZ_REQUIRE(s->tempo_ms[k] >= 500 && s->tempo_ms[k] <= 60000, "tempo %u",
                             (unsigned)s->tempo_ms[k]);
            FUZZ_REQUIRE(s->phases.len == 0 || s->phases.len == s->n_tempo,
                         "%zu phase names for %zu phases", s->phases.len, s->n_tempo);
            FUZZ_REQUIRE(s->rest_reps_ms <= 600000 && s->rest_sets_ms <= 600000,
                         "rests out of range");
            FUZZ_REQUIRE(s->metronome_bpm == 0 ||
                             (s->metronome_bpm >= 20 && s->metronome_bpm <= 240),
                         "metronome %u", (unsigned)s->metronome_bpm);
            break;
        }
        case STEP_BREATHING:
            check_text(s->name, "name");
            check_list(&s->setup, 1, "setup");
            FUZZ_REQUIRE(s->inhale_ms >= 1000 && s->inhale_ms <= 30000 && s->exhale_ms >= 1000 &&
                             s->exhale_ms <= 30000 && s->breath_hold_ms <= 30000 &&
                             s->hold_out_ms <= 30000,
                         "breath phases out of range");
            check_range(s->cycles, 1, 100, "cycles");
            FUZZ_REQUIRE(s->spoken_cycles <= s->cycles.hi, "spoken_cycles %u of %u",
                         (unsigned)s->spoken_cycles, (unsigned)s->cycles.hi);
            break;
        case STEP_REST:
            if (s->rest_ready) /* seconds = ready: until done, no time of its own */
                FUZZ_REQUIRE(s->rest_ms.lo == 0 && s->rest_ms.hi == 0, "ready rest with seconds");
            else
                check_range(s->rest_ms, 1000, 3600000, "seconds");
            if (s->text) check_text(s->text, "say");
            break;
        case STEP_SAY:
            check_text(s->text, "text");
            check_list(&s->unless_after, 1, "unless_after");
            for (size_t k = 0; k < s->unless_after.len; k++)
                FUZZ_REQUIRE(!strchr(s->unless_after.items[k], '/'), "unless_after is a path");
            break;
        default:
            FUZZ_REQUIRE(0, "step kind %d", (int)s->kind);
        }
        if (s->cue) check_text(s->cue, "cue");
        if (s->tip) check_text(s->tip, "tip");
        if (s->finish) check_text(s->finish, "finish");
    }
}

static void load_voice(void)
{
    struct coach_diags d;
    diags_init(&d);
    const char *path = fuzz_source_path("voices/en-us.ini");
    if (voice_load(path, &voice, &d)) {
        diags_print(&d, stderr);
        fprintf(stderr, "fuzz_routine: cannot load %s\n", path);
        abort();
    }
    diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!voice.name) load_voice();
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    int rc = routine_parse(NAME, (const char *)data, size, &r, &d);
    fuzz_check_diags(&d, NAME, data, size, rc);
    diags_free(&d);
    if (rc) {
        FUZZ_REQUIRE(!r.steps && !r.n_steps && !r.title, "a failed parse keeps data");
        return 0;
    }
    check_routine(&r);
    /* both rates coach offers (--rate), chosen by the input */
    fuzz_check_plans(&r, &voice, size % 2 ? 44100 : 48000);
    routine_free(&r);
    return 0;
}
