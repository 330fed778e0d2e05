/* The live engine offline, block by block as an audio callback would call
 * it: with no commands it plays exactly what export renders; a pause holds
 * the timeline (paused time does not count) and resumes where it stopped,
 * with fades that never click; a seek lands on its frame; speech said while
 * the timeline waits; a prefix timeline holds at its end (counted) until
 * the full one is swapped in; stop and the routine's end are reported. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coach/live.h"
#include "coach/ring.h"
#include "coach/tone.h"
#include "testutil.h"

#define RATE 48000
#define BLOCK 480 /* 10 ms callbacks */
#define SECONDS 6
#define LEN ((uint64_t)SECONDS * RATE)

static struct event events[16];
static struct timeline full, prefix;

static void add(struct timeline *tl, enum event_kind k, uint64_t frame, uint64_t len)
{
    tl->ev[tl->n_ev++] = (struct event){.frame = frame, .len_frames = len, .kind = (uint8_t)k,
                                        .step = -1};
    if (len > tl->max_event_frames) tl->max_event_frames = len;
}

static void build(void)
{
    full = (struct timeline){.rate_hz = RATE, .len_frames = LEN, .ev = events};
    add(&full, EV_BREATH_HOLD, 0, LEN); /* a steady tone: any click would show */
    for (int s = 1; s < SECONDS; s++) add(&full, EV_BEEP, (uint64_t)s * RATE, tone_default_len(EV_BEEP, RATE));
    prefix = full;
    prefix.n_ev = 2; /* the tone and the first beep... */
    prefix.len_frames = 2 * RATE; /* ...up to 2 s */
}

/* Renders the whole timeline the way export does. */
static float *reference(void)
{
    static clip_slot none[1];
    struct renderer r;
    float *ref = calloc(LEN, sizeof *ref);
    CHECK(render_init(&r, &full, none, 1, 4096) == 0);
    render(&r, 0, ref, LEN);
    render_free(&r);
    return ref;
}

/* Runs n blocks of the callback into out (which must have room). */
static void blocks(struct live *l, float *out, size_t *at, size_t n)
{
    for (size_t i = 0; i < n; i++, *at += BLOCK) live_process(l, out + *at, BLOCK);
}

static void send(struct live *l, uint8_t kind, uint64_t frame)
{
    struct live_cmd c = {.kind = kind, .frame = frame, .ack = LIVE_NO_ACK};
    CHECK(live_send(l, &c));
}

static float max_step(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 1; i < n; i++) m = fmaxf(m, fabsf(x[i] - x[i - 1]));
    return m;
}

/* Frames heard before a jump requested after n blocks: those plus the fade. */
static uint64_t jump_heard(size_t n) { return n * BLOCK + (uint64_t)RATE * LIVE_FADE_MS / 1000; }

static int next_note(struct live *l, uint64_t *frame)
{
    struct live_note n;
    if (!live_poll(l, &n)) return -1;
    if (frame) *frame = n.frame;
    return n.kind;
}

static void plain(const float *ref)
{
    static clip_slot none[1];
    struct live l;
    CHECK(live_init(&l, &full, true, none, 1, 1024) == 0);
    float *out = calloc(LEN + 10 * BLOCK, sizeof *out);
    size_t at = 0;
    blocks(&l, out, &at, LEN / BLOCK + 5);
    CHECK(memcmp(out, ref, LEN * sizeof *out) == 0); /* live == export, bit for bit */
    CHECK(next_note(&l, NULL) == NOTE_ENDED);
    CHECK(atomic_load(&l.played) == LEN);
    CHECK(atomic_load(&l.heard_frames) == LEN);
    CHECK(atomic_load(&l.stall_frames) == 0);
    for (size_t i = LEN; i < at; i++) CHECK(out[i] == 0.0f);
    live_free(&l);
    free(out);
}

static void pause_resume(const float *ref)
{
    static clip_slot none[1];
    struct live l;
    CHECK(live_init(&l, &full, true, none, 1, 1024) == 0);
    float *out = calloc(LEN * 2, sizeof *out);
    size_t at = 0;
    blocks(&l, out, &at, 100); /* 1 s: the pause falls inside the 1 s beep */
    send(&l, LIVE_PAUSE, 0);
    blocks(&l, out, &at, 150); /* fade, then 1.5 s or so paused */
    uint64_t held = 0;
    CHECK(next_note(&l, &held) == NOTE_PAUSED);
    uint64_t fade = (uint64_t)RATE * LIVE_FADE_MS / 1000;
    CHECKF(held == 100 * BLOCK + fade, "held at %llu", (unsigned long long)held);
    CHECK(atomic_load(&l.played) == held); /* paused time does not count */
    for (size_t i = 100 * BLOCK + fade; i < at; i++) CHECK(out[i] == 0.0f);
    size_t resumed_at = at;
    send(&l, LIVE_RESUME, 0);
    blocks(&l, out, &at, 200);
    CHECK(next_note(&l, NULL) == NOTE_RESUMED);
    /* after the fade in, the output is the reference shifted by the pause */
    int diff = 0;
    for (size_t i = resumed_at + fade; i < at; i++)
        if (out[i] != ref[held + (i - resumed_at)]) diff++;
    CHECKF(diff == 0, "%d samples differ after resume", diff);
    /* fades never click: no sample step larger than the audio's own (the
     * pause falls inside a beep; cutting it would jump by ~10x that) */
    float own_step = max_step(ref, LEN);
    CHECKF(max_step(out, at) <= own_step * 1.05f, "step %g vs %g", max_step(out, at), own_step);
    live_free(&l);
    free(out);
}

static void seek(const float *ref)
{
    static clip_slot none[1];
    struct live l;
    CHECK(live_init(&l, &full, true, none, 1, 1024) == 0);
    float *out = calloc(LEN * 2, sizeof *out);
    size_t at = 0;
    blocks(&l, out, &at, 50);
    send(&l, LIVE_SEEK, 4 * RATE);
    blocks(&l, out, &at, 20);
    uint64_t f;
    CHECK(next_note(&l, &f) == NOTE_SEEKED && f == 4 * RATE);
    /* what was heard: 50 blocks and the fade before the jump, then since */
    CHECK(atomic_load(&l.heard_frames) == atomic_load(&l.played) - 4 * RATE + jump_heard(50));
    /* the beep at 4 s (ref frame 4*RATE) sounds right after the jump's fade */
    size_t jump = 50 * BLOCK + (size_t)RATE * LIVE_FADE_MS / 1000;
    int diff = 0;
    for (size_t i = jump + (size_t)RATE * LIVE_FADE_MS / 1000; i < at; i++)
        if (out[i] != ref[4 * RATE + (i - jump)]) diff++;
    CHECKF(diff == 0, "%d samples differ after the seek", diff);
    CHECK(max_step(out, at) <= max_step(ref, LEN) * 1.05f);
    live_free(&l);
    free(out);
}

static void overlay(void)
{
    static clip_slot none[1];
    struct live l;
    CHECK(live_init(&l, &full, true, none, 1, 1024) == 0);
    float *out = calloc(LEN * 2, sizeof *out);
    float *speech = malloc(RATE / 2 * sizeof *speech);
    for (int i = 0; i < RATE / 2; i++) speech[i] = 0.5f;
    size_t at = 0;
    blocks(&l, out, &at, 10);
    struct live_cmd c = {.kind = LIVE_SAY, .pcm = speech, .len_frames = RATE / 2, .ack = LIVE_NO_ACK,
                         .say_id = 7};
    CHECK(live_send(&l, &c));
    blocks(&l, out, &at, 100);
    size_t start = 10 * BLOCK + (size_t)RATE * LIVE_FADE_MS / 1000;
    CHECK(out[start] == 0.5f && out[start + RATE / 2 - 1] == 0.5f);
    struct live_note n;
    CHECK(live_poll(&l, &n) && n.kind == NOTE_SAID && n.id == 7);
    CHECK(atomic_load(&l.mode_now) == LIVE_RUN);
    /* commands while speaking: a seek jumps at once, a pause holds after */
    CHECK(live_send(&l, &c));
    blocks(&l, out, &at, 10); /* fade out, speaking */
    send(&l, LIVE_SEEK, 3 * RATE);
    send(&l, LIVE_PAUSE, 0);
    blocks(&l, out, &at, 100);
    uint64_t f = 0;
    CHECK(next_note(&l, &f) == NOTE_SEEKED && f == 3 * RATE);
    CHECK(next_note(&l, NULL) == NOTE_PAUSED);
    CHECK(next_note(&l, NULL) == NOTE_SAID);
    CHECK(atomic_load(&l.mode_now) == LIVE_PAUSED && atomic_load(&l.played) == 3 * RATE);
    live_free(&l);
    free(out);
    free(speech);
}

static void stall_and_swap(const float *ref)
{
    static clip_slot none[1];
    struct live l;
    CHECK(live_init(&l, &prefix, false, none, 1, 1024) == 0);
    float *out = calloc(LEN * 2, sizeof *out);
    size_t at = 0;
    blocks(&l, out, &at, 250); /* 2.5 s: the prefix ends at 2 s */
    CHECK(atomic_load(&l.played) == 2 * RATE);
    CHECK(atomic_load(&l.stall_frames) == 50 * BLOCK);
    CHECK(memcmp(out, ref, 2 * RATE * sizeof *out) == 0);
    struct live_cmd c = {.kind = LIVE_SWAP, .tl = &full, .final = true, .ack = LIVE_NO_ACK};
    CHECK(live_send(&l, &c));
    size_t swap_at = at;
    blocks(&l, out, &at, 100);
    /* it goes on from exactly where it held */
    CHECK(memcmp(out + swap_at, ref + 2 * RATE, 100 * BLOCK * sizeof *out) == 0);
    live_free(&l);
    free(out);
}

static void stop(void)
{
    static clip_slot none[1];
    struct live l;
    CHECK(live_init(&l, &full, true, none, 2, 1024) == 0);
    float *out = calloc(LEN * 2 * 2, sizeof *out);
    size_t at = 0;
    for (int i = 0; i < 10; i++, at += BLOCK) live_process(&l, out + at * 2, BLOCK);
    struct live_cmd c = {.kind = LIVE_STOP, .ack = ACK_PAUSE};
    CHECK(live_send(&l, &c));
    for (int i = 0; i < 20; i++, at += BLOCK) live_process(&l, out + at * 2, BLOCK);
    CHECK(next_note(&l, NULL) == NOTE_STOPPED);
    CHECK(atomic_load(&l.mode_now) == LIVE_DONE);
    /* stereo channels equal; after the fade and the ack tone only silence */
    for (size_t i = 0; i < at; i++) CHECK(out[2 * i] == out[2 * i + 1]);
    size_t quiet_from = 10 * BLOCK + (size_t)RATE * 100 / 1000;
    for (size_t i = quiet_from; i < at; i++) CHECK(out[2 * i] == 0.0f);
    float peak = 0;
    for (size_t i = 0; i < at * 2; i++) peak = fmaxf(peak, fabsf(out[i]));
    CHECK(peak <= 1.0f);
    live_free(&l);
    free(out);
}

int main(void)
{
    build();
    float *ref = reference();
    plain(ref);
    pause_resume(ref);
    seek(ref);
    overlay();
    stall_and_swap(ref);
    stop();
    free(ref);
    return test_done();
}
