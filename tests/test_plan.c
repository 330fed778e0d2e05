/* The planner: golden dumps of small routines (with estimated clip lengths,
 * since synthesized lengths vary run to run), and invariants checked on
 * every shipped routine at every level: events sorted, speech never
 * overlapping, countdowns exactly on their seconds, beats from absolute
 * indices (no drift over an hour), mandatory speech that cannot fit is an
 * error and never an overlap. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/plan.h"
#include "coach/routine.h"
#include "coach/voice.h"
#include "testutil.h"

static struct voice voice;

static int plan_file(const char *path, enum level lv, bool use_level, uint32_t rate,
                     struct routine *r, struct timeline *tl, struct clipstore *est)
{
    struct coach_diags d;
    diags_init(&d);
    int rc = routine_load(path, r, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    CHECKF(rc == 0, "%s does not load", path);
    if (rc) return rc;
    test_estimator(est, rate);
    struct plan_opts o = {.rate_hz = rate, .level = use_level ? lv : r->level};
    char err[512];
    rc = plan_build(r, &voice, est, &o, tl, err, sizeof err);
    CHECKF(rc == 0, "%s: %s", path, err);
    if (rc) {
        routine_free(r);
        clipstore_free(est);
    }
    return rc;
}

static void golden(const char *name)
{
    char path[512], want_path[512];
    snprintf(path, sizeof path, "%s", test_src_path("tests/golden/"));
    strncat(path, name, sizeof path - strlen(path) - 1);
    strncat(path, ".ini", sizeof path - strlen(path) - 1);
    snprintf(want_path, sizeof want_path, "%.*s.plan", (int)(strlen(path) - 4), path);
    struct routine r;
    struct timeline tl;
    struct clipstore est;
    if (plan_file(path, LEVEL_EASY, false, 48000, &r, &tl, &est)) return;
    test_plan_invariants(name, &tl, &est);
    char *got = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&got, &len);
    plan_dump_text(&tl, &est, &r, m);
    fclose(m);
    if (getenv("UPDATE_GOLDEN")) {
        FILE *f = fopen(want_path, "w");
        CHECK(f != NULL);
        if (f) {
            fputs(got, f);
            fclose(f);
        }
    }
    char *want = test_read_file(want_path, NULL);
    CHECKF(want && strcmp(want, got) == 0, "%s differs from %s (UPDATE_GOLDEN=1 rewrites it); got:\n%s",
           name, want_path, got);
    free(want);
    free(got);
    timeline_free(&tl);
    routine_free(&r);
    clipstore_free(&est);
}

static void shipped(void)
{
    const char *dir = test_src_path("routines");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".ini")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        for (int lv = LEVEL_EASY; lv <= LEVEL_HARD; lv++) {
            struct routine r;
            struct timeline tl;
            struct clipstore est;
            if (plan_file(path, (enum level)lv, true, lv == LEVEL_MEDIUM ? 44100 : 48000, &r, &tl, &est))
                continue;
            test_plan_invariants(e->d_name, &tl, &est);
            timeline_free(&tl);
            routine_free(&r);
            clipstore_free(&est);
        }
        n++;
    }
    if (d) closedir(d);
    CHECKF(n >= 8, "only %d shipped routines", n);
}

static int parse(const char *text, struct routine *r)
{
    struct coach_diags d;
    diags_init(&d);
    int rc = routine_parse("inline.ini", text, strlen(text), r, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    return rc;
}

/* A one-hour timed work with a 60 bpm metronome: the last tick is exactly
 * 3599 s after the first beat, to the frame. */
static void no_drift(void)
{
    struct routine r;
    const char *text = "[routine]\ntitle = Long\n[exercise walk]\nname = Walk\nduration = 3600\n"
                       "metronome = 60\n";
    CHECK(parse(text, &r) == 0);
    struct clipstore est;
    test_estimator(&est, 44100);
    struct timeline tl;
    struct plan_opts o = {.rate_hz = 44100, .level = LEVEL_EASY};
    char err[256];
    CHECK(plan_build(&r, &voice, &est, &o, &tl, err, sizeof err) == 0);
    uint64_t start = 0, first = 0, last = 0;
    size_t clicks = 0;
    for (size_t i = 0; i < tl.n_ev; i++) {
        if (tl.ev[i].kind == EV_BEEP_FINAL) start = tl.ev[i].frame;
        if (tl.ev[i].kind == EV_CLICK) {
            if (!clicks++) first = tl.ev[i].frame;
            last = tl.ev[i].frame;
        }
    }
    CHECKF(clicks == 3599, "%zu clicks", clicks);
    CHECK(first == start + 44100);
    CHECK(last == start + 3599ull * 44100);
    /* the last counted second "1" lands exactly 1 s before the end */
    test_plan_invariants("one hour", &tl, &est);
    timeline_free(&tl);
    clipstore_free(&est);
    routine_free(&r);
}


static void cannot_fit(void)
{
    struct routine r;
    CHECK(parse("[routine]\ntitle = T\n[exercise a]\nname = A\nhold = 10\n", &r) == 0);
    /* the countdown's "3" is 2 s long: it cannot fit in its second */
    struct clipstore est;
    test_estimator(&est, 48000);
    CHECK(clipstore_add(&est, "3", 2 * 48000, NULL) == 0);
    struct timeline tl;
    struct plan_opts o = {.rate_hz = 48000, .level = LEVEL_EASY};
    char err[512] = "";
    CHECK(plan_build(&r, &voice, &est, &o, &tl, err, sizeof err) == COACH_EPLAN);
    CHECKF(strstr(err, "inline.ini:3: step 'a'") && strstr(err, "does not fit"), "%s", err);
    clipstore_free(&est);
    routine_free(&r);
}

/* Levels pick from ranges: hard holds are longer than easy ones. */
static void levels(void)
{
    struct routine r;
    CHECK(parse("[routine]\ntitle = T\n[exercise a]\nname = A\nhold = 15-30\nreps = 2-4\n", &r) == 0);
    uint64_t len[3];
    for (int lv = 0; lv < 3; lv++) {
        struct clipstore est;
        test_estimator(&est, 48000);
        struct timeline tl;
        struct plan_opts o = {.rate_hz = 48000, .level = (enum level)lv};
        char err[256];
        CHECK(plan_build(&r, &voice, &est, &o, &tl, err, sizeof err) == 0);
        len[lv] = tl.len_frames;
        size_t releases = 0;
        for (size_t i = 0; i < tl.n_ev; i++)
            if (tl.ev[i].kind == EV_SPEECH && strcmp(clipstore_text(&est, tl.ev[i].clip), "Release.") == 0)
                releases++;
        CHECKF(releases == (size_t)(lv == 0 ? 2 : lv == 1 ? 3 : 4), "level %d: %zu releases", lv, releases);
        timeline_free(&tl);
        clipstore_free(&est);
    }
    CHECK(len[0] < len[1] && len[1] < len[2]);
    routine_free(&r);
}

/* lower-back-relief into *r, an estimating clip store at 48 kHz into
 * *est, and its full plan at the routine's easy level into *full; o is
 * that plan's options. */
static void plan_lower_back(struct routine *r, struct clipstore *est, struct plan_opts *o,
                            struct timeline *full)
{
    struct coach_diags d;
    diags_init(&d);
    CHECK(routine_load(test_src_path("routines/lower-back-relief.ini"), r, &d) == 0);
    diags_free(&d);
    test_estimator(est, 48000);
    *o = (struct plan_opts){.rate_hz = 48000, .level = LEVEL_EASY, .part = PLAN_FULL};
    char err[256];
    CHECK(plan_build(r, &voice, est, o, full, err, sizeof err) == 0);
}

/* A prefix plan (title only; intro up to the spoken length) is exactly the
 * beginning of the full plan: live playback swaps from one to the other. */
static void prefixes(void)
{
    struct routine r;
    struct clipstore est;
    struct plan_opts o;
    struct timeline full, part;
    char err[256];
    plan_lower_back(&r, &est, &o, &full);
    for (int k = PLAN_TITLE; k <= PLAN_INTRO; k++) {
        o.part = (enum plan_part)k;
        CHECK(plan_build(&r, &voice, &est, &o, &part, err, sizeof err) == 0);
        CHECK(part.n_ev >= 1 && part.n_ev < full.n_ev);
        CHECK(memcmp(part.ev, full.ev, part.n_ev * sizeof *part.ev) == 0);
        CHECK(part.len_frames == part.ev[part.n_ev - 1].frame + part.ev[part.n_ev - 1].len_frames);
        CHECK(full.ev[part.n_ev].frame >= part.len_frames);
        if (k == PLAN_TITLE) CHECK(part.n_ev == 1);
        timeline_free(&part);
    }
    timeline_free(&full);
    clipstore_free(&est);
    routine_free(&r);
}

/* The length said as given (plan_opts.length_words, what a render that
 * starts before the last phrase is synthesized must say): with the words
 * plan_build chose itself, the same plan event for event; with other
 * words, those are said (planned once: the length is not measured again)
 * and everything before the sentence is the same. */
static void length_words(void)
{
    struct routine r;
    struct clipstore est;
    struct plan_opts o;
    struct timeline full, given;
    char err[256];
    plan_lower_back(&r, &est, &o, &full);
    char *words = plan_length_words(&voice, full.len_frames, full.rate_hz);
    CHECK(words && strstr(words, "minutes"));
    o.length_words = words;
    CHECK(plan_build(&r, &voice, &est, &o, &given, err, sizeof err) == 0);
    CHECKF(given.n_ev == full.n_ev && given.len_frames == full.len_frames &&
               memcmp(given.ev, full.ev, full.n_ev * sizeof *full.ev) == 0,
           "said as chosen (\"%s\"): %zu events, %llu frames; chosen: %zu, %llu", words,
           given.n_ev, (unsigned long long)given.len_frames, full.n_ev,
           (unsigned long long)full.len_frames);
    timeline_free(&given);
    /* other words: said, not corrected */
    o.length_words = "97 minutes";
    CHECK(plan_build(&r, &voice, &est, &o, &given, err, sizeof err) == 0);
    size_t said = 0, same = 0;
    for (size_t i = 0; i < given.n_ev; i++) {
        const char *t = given.ev[i].kind == EV_SPEECH ? clipstore_text(&est, given.ev[i].clip) : NULL;
        if (t && strstr(t, "97 minutes")) said++;
    }
    while (same < given.n_ev && same < full.n_ev &&
           memcmp(&given.ev[same], &full.ev[same], sizeof *given.ev) == 0)
        same++;
    CHECKF(said == 1, "\"97 minutes\" said %zu times", said);
    CHECKF(same > 0 && same < full.n_ev && given.ev[same].kind == EV_SPEECH &&
               strstr(clipstore_text(&est, given.ev[same].clip), "97"),
           "the plans part at event %zu, not at the sentence", same);
    timeline_free(&given);
    free(words);
    timeline_free(&full);
    clipstore_free(&est);
    routine_free(&r);
}

/* A length given for a phrase at a rate (clipstore_add_at: a plan made
 * with the phrases synthesized so far) is what interning it at that rate
 * finds; at another rate it is another clip, estimated. */
static void lengths_given(void)
{
    struct clipstore est;
    test_estimator(&est, 48000);
    uint32_t id, again, other;
    uint64_t len = 0, other_len = 0;
    CHECK(clipstore_add_at(&est, "Breathe in slowly.", 120, 12345, &id) == 0);
    CHECK(clipstore_intern_at(&est, "Breathe in slowly.", 120, &again, &len) == 0);
    CHECKF(again == id && len == 12345, "id %u / %u, %llu frames", again, id,
           (unsigned long long)len);
    CHECK(clipstore_intern_at(&est, "Breathe in slowly.", 0, &other, &other_len) == 0);
    CHECKF(other != id && other_len != 12345 && other_len > 0, "at the voice's rate: id %u, %llu",
           other, (unsigned long long)other_len);
    CHECK(clipstore_add_at(&est, "Breathe in slowly.", 120, 999, &again) == 0 && again == id &&
          clipstore_len(&est, id) == 12345); /* a clip keeps its length */
    clipstore_free(&est);
}

int main(void)
{
    struct coach_diags d;
    diags_init(&d);
    int rc = voice_load(test_src_path("voices/en-us.ini"), &voice, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    CHECK(rc == 0);
    if (rc) return test_done();
    golden("holds");
    golden("tempo");
    golden("breath");
    golden("alternate");
    shipped();
    no_drift();
    cannot_fit();
    levels();
    prefixes();
    length_words();
    lengths_given();
    voice_free(&voice);
    return test_done();
}
