/* Where a live session is: the words of "where am I" follow the step, set,
 * side and repetition under the playhead; "repeat" finds the last
 * instruction (not a count); next/back find chapter starts; the history
 * counts the steps whose chapter is over. */
#include <stdlib.h>
#include <string.h>

#include "coach/plan.h"
#include "coach/position.h"
#include "coach/routine.h"
#include "coach/voice.h"
#include "testutil.h"

int main(void)
{
    struct voice v;
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    CHECK(voice_load(test_src_path("voices/en-us.ini"), &v, &d) == 0);
    const char *text = "[routine]\ntitle = T\n"
                       "[exercise a]\nname = Bridge\nsides = left leg, right leg\nsets = 2\n"
                       "reps = 3\nhold = 10\n"
                       "[breathing b]\nname = Box\ninhale = 4\nexhale = 4\ncycles = 5\n";
    CHECK(routine_parse("p.ini", text, strlen(text), &r, &d) == 0);
    diags_print(&d, stderr);
    struct clip_estimator est = {.rate_hz = 48000};
    struct clip_source src = {.intern = clip_estimate_intern, .ctx = &est};
    struct plan_opts o = {.rate_hz = 48000, .level = LEVEL_EASY};
    struct timeline tl;
    char err[256];
    CHECK(plan_build(&r, &v, &src, &o, &tl, err, sizeof err) == 0);

    /* the second "Release." of set 2, right leg */
    uint64_t at = 0;
    int releases = 0;
    for (size_t i = 0; i < tl.n_ev; i++) {
        const struct event *e = &tl.ev[i];
        if (e->kind == EV_SPEECH && !strcmp(tl.clip_text[e->clip], "Release.") && ++releases == 11) {
            at = e->frame - 48000; /* a second before: inside repetition 2 */
            CHECK(e->set == 2 && e->side == 2 && e->rep == 2);
        }
    }
    CHECK(releases == 12);
    char *w = position_where(&tl, &r, &v, LEVEL_EASY, at);
    CHECKF(w && strstr(w, "Exercise 1 of 2: Bridge. Set 2 of 2. Right leg. Repetition 2 of 3.") == w,
           "%s", w);
    CHECKF(w && strstr(w, "left in this step.") && strstr(w, "left in the routine."), "%s", w);
    free(w);
    /* in the intro */
    w = position_where(&tl, &r, &v, LEVEL_EASY, 0);
    CHECKF(w && !strncmp(w, "Introduction.", 13), "%s", w);
    free(w);
    /* during the breathing: which breath */
    uint64_t breath = 0;
    for (size_t i = 0; i < tl.n_ev; i++)
        if (tl.ev[i].kind == EV_BREATH_OUT && tl.ev[i].rep == 4) breath = tl.ev[i].frame + 10;
    w = position_where(&tl, &r, &v, LEVEL_EASY, breath);
    CHECKF(w && strstr(w, "Exercise 2 of 2: Box. Breath 4 of 5."), "%s", w);
    free(w);

    /* repeat: the last instruction before a count is not the count */
    int32_t clip = position_last_instruction(&tl, at);
    CHECKF(clip >= 0 && strcmp(tl.clip_text[clip], "3. Hold for 10 seconds.") != 0 &&
               strspn(tl.clip_text[clip], "0123456789. ") != strlen(tl.clip_text[clip]),
           "%s", clip >= 0 ? tl.clip_text[clip] : "none");
    CHECK(position_last_instruction(&tl, 0) == 0); /* the title at frame 0 */

    /* chapters: back to the start of this one, next is the breathing */
    CHECK(tl.n_ch == 3);
    CHECK(position_chapter_start(&tl, at) == tl.ch[1].frame);
    CHECK(position_next_chapter(&tl, at) == tl.ch[2].frame);
    CHECK(position_next_chapter(&tl, tl.ch[2].frame) == UINT64_MAX);
    CHECK(position_moves_done(&tl, &r, at) == 0);
    CHECK(position_moves_done(&tl, &r, tl.ch[2].frame) == 1);
    CHECK(position_moves_done(&tl, &r, tl.len_frames) == 2);

    timeline_free(&tl);
    clip_estimator_free(&est);
    routine_free(&r);
    voice_free(&v);
    diags_free(&d);
    return test_done();
}
