/* The echo gate of spoken commands (echo.h) and the timeline question it
 * is fed with (timeline_speech_between): a phrase heard while the coach
 * was audibly speaking (its device latency and a margin included) is the
 * coach's own voice; one heard in a silence is a person's. */
#include <stdlib.h>
#include <string.h>

#include "coach/echo.h"
#include "coach/timeline.h"
#include "testutil.h"

#define MS 1000000ull /* ns */

static void add(struct timeline *tl, uint64_t frame, uint64_t len, uint8_t kind)
{
    tl->ev[tl->n_ev++] = (struct event){.frame = frame, .len_frames = len, .kind = kind};
    if (len > tl->max_event_frames) tl->max_event_frames = len;
    if (frame + len > tl->len_frames) tl->len_frames = frame + len;
}

static void timeline_speech(void)
{
    struct event ev[8];
    struct timeline tl = {.rate_hz = 1000, .ev = ev, .cap_ev = 8};
    add(&tl, 100, 50, EV_SPEECH);  /* [100, 150) */
    add(&tl, 120, 400, EV_BEEP);   /* a long tone: not speech */
    add(&tl, 1000, 900, EV_SPEECH); /* [1000, 1900): long, starts well before a window */
    CHECK(!timeline_speech_between(&tl, 0, 100));
    CHECK(timeline_speech_between(&tl, 0, 101));
    CHECK(timeline_speech_between(&tl, 149, 150));
    CHECK(!timeline_speech_between(&tl, 150, 400));   /* only the tone sounds */
    CHECK(!timeline_speech_between(&tl, 400, 1000));
    CHECK(timeline_speech_between(&tl, 1800, 1801));  /* inside the long one */
    CHECK(!timeline_speech_between(&tl, 1900, 5000));
    CHECK(!timeline_speech_between(&tl, 500, 500));   /* empty */
    CHECK(!timeline_speech_between(NULL, 0, 100));
}

static void gate(void)
{
    struct echo_gate g;
    echo_gate_init(&g);
    uint64_t t0 = 100000 * MS; /* a monotonic clock well past 0 */
    CHECK(!echo_gate_is_echo(&g, t0));
    /* the coach speaks from t0 to t0 + 2 s, looked at every 50 ms, heard
     * 200 ms later */
    for (uint64_t t = t0; t <= t0 + 2000 * MS; t += 50 * MS) echo_gate_turn(&g, t, true, 0.2);
    for (uint64_t t = t0 + 2050 * MS; t <= t0 + 8000 * MS; t += 50 * MS) echo_gate_turn(&g, t, false, 0.2);
    CHECKF(g.n == 1, "one utterance, one span: %u", g.n);
    /* a phrase ending inside the speech, or within the latency and margin
     * after it, is the coach's */
    CHECK(echo_gate_is_echo(&g, t0 + 1000 * MS));
    CHECK(echo_gate_is_echo(&g, t0 + 2200 * MS));  /* the last words, heard late */
    CHECK(echo_gate_is_echo(&g, t0 + 2200 * MS + ECHO_MARGIN_MS * MS + ECHO_PHRASE_MS * MS - MS));
    /* one that began after the speech was heard out is a person's */
    CHECK(!echo_gate_is_echo(&g, t0 + 2200 * MS + ECHO_MARGIN_MS * MS + ECHO_PHRASE_MS * MS + MS));
    CHECK(!echo_gate_is_echo(&g, t0 + 6000 * MS));
    /* and one that ended before the coach began (the first look covers
     * the ECHO_TURN_MAX_MS before it) */
    uint64_t began = t0 - ECHO_TURN_MAX_MS * MS + 200 * MS - ECHO_MARGIN_MS * MS;
    CHECK(!echo_gate_is_echo(&g, began - MS));
    CHECK(echo_gate_is_echo(&g, began + MS));

    /* a first look after a long time without looks: the span reaches back
     * at most ECHO_TURN_MAX_MS, not to the last look */
    uint64_t t1 = t0 + 60000 * MS;
    echo_gate_turn(&g, t1, true, 0.0);
    CHECK(g.n == 2);
    CHECK(!echo_gate_heard(&g, t1 - 30000 * MS, t1 - 10000 * MS));
    CHECK(echo_gate_heard(&g, t1 - (ECHO_TURN_MAX_MS + ECHO_MARGIN_MS - 1) * MS, t1 - (ECHO_TURN_MAX_MS + ECHO_MARGIN_MS - 1) * MS));
    CHECK(!echo_gate_heard(&g, t1 - (ECHO_TURN_MAX_MS + ECHO_MARGIN_MS + 1) * MS, t1 - (ECHO_TURN_MAX_MS + ECHO_MARGIN_MS + 1) * MS));

    /* many short utterances: the oldest are forgotten, the ring holds */
    uint64_t t = t1 + 10000 * MS;
    for (int i = 0; i < 3 * ECHO_SPANS; i++, t += 5000 * MS) {
        echo_gate_turn(&g, t, false, 0.1);
        echo_gate_turn(&g, t + 50 * MS, true, 0.1);
        echo_gate_turn(&g, t + 100 * MS, false, 0.1);
    }
    CHECK(g.n == ECHO_SPANS);
    CHECK(echo_gate_is_echo(&g, t - 5000 * MS + 200 * MS)); /* the newest */
    CHECK(!echo_gate_is_echo(&g, t - 5000 * MS + 3000 * MS)); /* the silence after it */
    /* an absurd latency report is not believed (no span hours long) */
    echo_gate_init(&g);
    echo_gate_turn(&g, t0, true, 1e9);
    CHECK(!echo_gate_is_echo(&g, t0 + 60000 * MS));
}

int main(void)
{
    timeline_speech();
    gate();
    return test_done();
}
