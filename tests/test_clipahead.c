/* Clips made ahead on a second thread (clipahead.h): an owner that follows
 * a timeline with export's clip window renders the same samples with the
 * thread as without it, for clips made whole (used again soon, and again
 * after a release), streamed clips (one use, two uses far apart, a use over
 * its own first use), from the start and from the middle; every piece the
 * thread makes is taken when it runs well ahead (caught up before every
 * block: clipahead_settle); left to run as in an export, the thread is
 * woken where it has work, not at every block; and with a thread that
 * can hardly get ahead (ahead 1 frame, or a bound of 1 byte) the owner
 * makes what is missing itself and the samples are still the same. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coach/clipahead.h"
#include "coach/clips.h"
#include "coach/clipwin.h"
#include "coach/render.h"
#include "coach/speech.h"
#include "coach/tone.h"
#include "testutil.h"

#define RATE 48000u
#define BLOCK 8192u

static void add_ev(struct timeline *tl, enum event_kind k, uint64_t frame, uint64_t len, uint32_t clip)
{
    tl->ev[tl->n_ev++] = (struct event){
        .frame = frame, .len_frames = len, .clip = clip, .step = 0, .kind = (uint8_t)k};
    if (len > tl->max_event_frames) tl->max_event_frames = len;
    if (frame + len > tl->len_frames) tl->len_frames = frame + len;
}

/* Renders tl from first with export's clip window; with the thread when
 * pol is not NULL. Returns the frames (the caller frees), and the stats. */
static float *render_all(struct clipstore *cs, const struct timeline *tl, uint64_t first,
                         const struct clipahead_policy *pol, bool settle, struct clipahead_stats *stats)
{
    clip_slot *slots = calloc(tl->n_clips, sizeof *slots);
    struct clipwin w;
    const struct clipwin_policy wp = {.ahead_frames = 2 * BLOCK,
                                      .keep_frames = 2 * (uint64_t)RATE,
                                      .behind_frames = render_limit_before_frames(RATE),
                                      .stream_min_frames = CLIPS_STREAM_WINDOW_FRAMES + 1};
    CHECK(clipwin_init(&w, cs, slots, tl->n_clips, &wp) == 0);
    char err[200] = "";
    CHECKF(clipwin_set_timeline(&w, tl, err, sizeof err) == 0, "%s", err);
    struct clipahead *a = NULL;
    if (pol) {
        struct clipahead_policy p = *pol;
        p.first_frame = first;
        CHECK(clipahead_start(&a, cs, tl, &wp, &p) == 0 && a);
    }
    struct renderer r;
    CHECK(render_init(&r, tl, slots, 1, BLOCK) == 0);
    float *out = calloc(tl->len_frames, sizeof *out);
    for (uint64_t f = first; f < tl->len_frames;) {
        size_t n = tl->len_frames - f < BLOCK ? (size_t)(tl->len_frames - f) : BLOCK;
        clipahead_advance(a, f);
        if (settle) clipahead_settle(a);
        CHECK(clipwin_update(&w, f, CLIPWIN_NO_WANT, 0) == 0);
        render(&r, f, out + f, n);
        f += n;
    }
    CHECK(atomic_load(&r.missing_clips) == 0);
    render_free(&r);
    clipahead_stop(a, stats);
    CHECK(cs->premade == NULL && cs->premade_frames == NULL);
    clipwin_free(&w);
    free(slots);
    return out;
}

static size_t differ(const float *x, const float *y, uint64_t from, uint64_t n)
{
    size_t bad = 0;
    for (uint64_t i = from; i < n; i++)
        bad += memcmp(&x[i], &y[i], sizeof *x) != 0;
    return bad;
}

int main(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {.espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &set) != 0) {
        fprintf(stderr, "espeak-ng unavailable: skipped\n");
        return 77;
    }
    struct clipstore cs;
    clipstore_init(&cs, sp, RATE);
    uint32_t lid, tid, bid;
    uint64_t llen, tlen, blen;
    CHECK(clipstore_intern(&cs, "Stop at once if you feel sharp pain, numbness or tingling in "
                                "your legs, and ask your doctor before you go on.",
                           &lid, &llen) == 0);
    CHECK(clipstore_intern(&cs, "Ten", &tid, &tlen) == 0);
    CHECK(clipstore_intern(&cs, "Lie on your back with your knees bent.", &bid, &blen) == 0);
    CHECKF(llen > CLIPS_STREAM_WINDOW_FRAMES + 1 && blen < CLIPS_STREAM_WINDOW_FRAMES,
           "clip lengths %llu %llu", (unsigned long long)llen, (unsigned long long)blen);
    struct timeline tl = {.rate_hz = RATE, .n_clips = (uint32_t)cs.len, .cap_ev = 16};
    tl.ev = calloc(tl.cap_ev, sizeof *tl.ev);
    add_ev(&tl, EV_SPEECH, RATE / 4, blen, bid);
    add_ev(&tl, EV_SPEECH, 2 * (uint64_t)RATE, tlen, tid);
    add_ev(&tl, EV_SPEECH, 3 * (uint64_t)RATE, llen, lid);
    add_ev(&tl, EV_SPEECH, 4 * (uint64_t)RATE, tlen, tid);          /* kept from before */
    add_ev(&tl, EV_BEEP, 5 * (uint64_t)RATE, tone_default_len(EV_BEEP, RATE), 0);
    add_ev(&tl, EV_SPEECH, 3 * (uint64_t)RATE + llen - RATE, llen, lid); /* over its own use */
    add_ev(&tl, EV_SPEECH, 3 * (uint64_t)RATE + 2 * llen + 10 * (uint64_t)RATE, blen, bid);
    add_ev(&tl, EV_SPEECH, 3 * (uint64_t)RATE + 2 * llen + 12 * (uint64_t)RATE, tlen, tid);
    add_ev(&tl, EV_SPEECH, 3 * (uint64_t)RATE + 2 * llen + 14 * (uint64_t)RATE, llen, lid);
    tl.len_frames += RATE;

    const uint64_t firsts[] = {0, 3 * (uint64_t)RATE + llen / 3};
    for (size_t k = 0; k < 2; k++) {
        uint64_t first = firsts[k];
        float *ref = render_all(&cs, &tl, first, NULL, false, NULL);
        struct clipahead_stats st;
        const struct clipahead_policy roomy = {.ahead_frames = 6 * (uint64_t)RATE};
        float *got = render_all(&cs, &tl, first, &roomy, true, &st);
        size_t bad = differ(ref, got, first, tl.len_frames);
        CHECKF(bad == 0, "from %llu: %zu samples differ with the thread",
               (unsigned long long)first, bad);
        /* with the thread caught up before every block: all taken but the
           first use's last piece of the long clip (the use over it starts
           its window again from frame 0) */
        CHECKF(st.made > 3 && st.taken <= st.made && st.taken + 1 >= st.made,
               "from %llu: made %llu, taken %llu",
               (unsigned long long)first, (unsigned long long)st.made, (unsigned long long)st.taken);
        free(got);
        /* left to run as an export does (no settle): the thread sleeps for
           the playhead and is woken where it has work, not at every block
           (it was woken at every one: waits ~ blocks) */
        got = render_all(&cs, &tl, first, &roomy, false, &st);
        bad = differ(ref, got, first, tl.len_frames);
        const uint64_t blocks = (tl.len_frames - first + BLOCK - 1) / BLOCK;
        CHECKF(bad == 0 && st.waits <= 2 * st.made + 2 && blocks > 4 * (2 * st.made + 2),
               "from %llu, not settled: %zu samples differ, the thread slept %llu times "
               "for %llu pieces over %llu blocks",
               (unsigned long long)first, bad, (unsigned long long)st.waits,
               (unsigned long long)st.made, (unsigned long long)blocks);
        free(got);
        const struct clipahead_policy tight[] = {{.ahead_frames = 1},
                                                 {.ahead_frames = 6 * (uint64_t)RATE, .max_bytes = 1}};
        for (size_t t = 0; t < 2; t++) {
            got = render_all(&cs, &tl, first, &tight[t], t == 1, &st);
            bad = differ(ref, got, first, tl.len_frames);
            CHECKF(bad == 0, "from %llu, tight %zu: %zu samples differ (made %llu, taken %llu)",
                   (unsigned long long)first, t, bad, (unsigned long long)st.made,
                   (unsigned long long)st.taken);
            free(got);
        }
        float peak = 0; /* the long clip is heard, not silence compared with silence */
        uint64_t at = first > 4 * (uint64_t)RATE ? first : 4 * (uint64_t)RATE;
        for (uint64_t i = at; i < at + RATE; i++)
            if (ref[i] > peak) peak = ref[i];
        CHECKF(peak > 0.05f, "from %llu: peak %f", (unsigned long long)first, peak);
        free(ref);
    }
    free(tl.ev);
    clipstore_free(&cs);
    speech_close(sp);
    return test_done();
}
