/* Tests for the renderer on hand-built timelines with synthetic "speech"
 * (a 200 Hz sine at 0.7): onsets at exact frames, exact silence between
 * events, speech where placed, tone ducking under speech, the limiter,
 * bit-identical output for any block cut, stereo, missing clips, volume,
 * and exact positions an hour in. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/render.h"
#include "coach/tone.h"
#include "testutil.h"

#define RATE 48000u

/* A timeline owned by the test (arrays on the heap, freed with
 * timeline_free), plus the clips' PCM. */
struct fixture {
    struct timeline tl;
    clip_slot pcm[16];
    uint64_t clip_len[16]; /* what a clip store would hold */
};

static void fx_init(struct fixture *fx, size_t cap)
{
    memset(fx, 0, sizeof *fx);
    fx->tl.rate_hz = RATE;
    fx->tl.ev = calloc(cap, sizeof(struct event));
    fx->tl.cap_ev = cap;
}

static void fx_free(struct fixture *fx)
{
    for (size_t i = 0; i < 16; i++)
        free(fx->pcm[i]);
    timeline_free(&fx->tl);
}

static struct event *fx_add(struct fixture *fx, enum event_kind k, uint64_t frame, uint64_t len)
{
    struct event *e = &fx->tl.ev[fx->tl.n_ev++];
    memset(e, 0, sizeof *e);
    e->frame = frame;
    e->kind = (uint8_t)k;
    e->len_frames = len ? len : tone_default_len(k, RATE);
    e->step = -1;
    if (e->len_frames > fx->tl.max_event_frames) fx->tl.max_event_frames = e->len_frames;
    if (e->frame + e->len_frames > fx->tl.len_frames) fx->tl.len_frames = e->frame + e->len_frames;
    return e;
}

/* Adds a clip (200 Hz sine at amp, smooth 5 ms ends) and returns its id. */
static uint32_t fx_clip(struct fixture *fx, uint64_t len, float amp, int ready)
{
    struct timeline *tl = &fx->tl;
    uint32_t id = (uint32_t)tl->n_clips++;
    fx->clip_len[id] = len;
    float *p = malloc(len * sizeof(float));
    for (uint64_t i = 0; i < len; i++)
        p[i] = amp * (float)sin(6.283185307179586 * 200.0 * (double)i / RATE);
    fx->pcm[id] = p;
    if (!ready) {
        /* Kept for the test's reference, but the renderer sees NULL. */
        free(p);
        fx->pcm[id] = NULL;
    }
    return id;
}

static struct event *fx_speech(struct fixture *fx, uint64_t frame, uint32_t clip)
{
    struct event *e = fx_add(fx, EV_SPEECH, frame, fx->clip_len[clip]);
    e->clip = clip;
    return e;
}

/* Sorts events by frame (stable insertion sort: small timelines). */
static void fx_sort(struct fixture *fx)
{
    struct event *ev = fx->tl.ev;
    for (size_t i = 1; i < fx->tl.n_ev; i++) {
        struct event t = ev[i];
        size_t j = i;
        while (j > 0 && ev[j - 1].frame > t.frame) {
            ev[j] = ev[j - 1];
            j--;
        }
        ev[j] = t;
    }
}

static float g_volume = 1.0f; /* render_range's and test_block_invariance's */

static float *render_range(struct fixture *fx, uint32_t ch, size_t max_block, uint64_t a, size_t n)
{
    struct renderer r;
    float *out = malloc(n * ch * sizeof(float) + 1);
    if (render_init(&r, &fx->tl, fx->pcm, ch, max_block) != 0) return NULL;
    atomic_store(&r.volume, g_volume);
    render(&r, a, out, n);
    render_free(&r);
    return out;
}

static size_t first_nonzero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0) return i;
    return n;
}

static int all_zero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0 || signbit(x[i])) return 0;
    return 1;
}

static double rms(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return n ? sqrt(s / (double)n) : 0;
}

static void test_onsets_and_silence(void)
{
    static const enum event_kind kinds[] = {EV_CLICK,      EV_CLICK_ACCENT, EV_BEEP,
                                            EV_BEEP_FINAL, EV_PHASE,        EV_BELL,
                                            EV_BREATH_IN,  EV_BREATH_HOLD,  EV_BREATH_OUT};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        struct fixture fx;
        fx_init(&fx, 4);
        uint64_t at = 10007 + 13 * k;
        struct event *e = fx_add(&fx, kinds[k], at, tone_default_len(kinds[k], RATE) ? 0 : RATE);
        uint64_t end = e->frame + e->len_frames;
        size_t n = (size_t)end + 5000;
        float *out = render_range(&fx, 1, 1000, 0, n);
        CHECKF(first_nonzero(out, n) == at, "%s starts at %zu, not %lu", event_kind_name(kinds[k]),
               first_nonzero(out, n), (unsigned long)at);
        CHECKF(all_zero(out, (size_t)at), "%s: not silent before", event_kind_name(kinds[k]));
        CHECKF(all_zero(out + end, n - (size_t)end), "%s: not silent after",
               event_kind_name(kinds[k]));
        CHECKF(out[end - 1] != 0, "%s: ends early", event_kind_name(kinds[k]));
        /* Alone, a tone is the generator's output exactly (below the knee). */
        float *ref = calloc(e->len_frames, sizeof(float));
        tone_add(e, 0, ref, e->len_frames, RATE);
        CHECKF(memcmp(ref, out + at, e->len_frames * sizeof(float)) == 0, "%s differs",
               event_kind_name(kinds[k]));
        free(ref);
        free(out);
        fx_free(&fx);
    }
    /* An empty timeline is silence. */
    struct fixture fx;
    fx_init(&fx, 1);
    float *out = render_range(&fx, 2, 256, 123456, 3000);
    CHECK(all_zero(out, 6000));
    free(out);
    fx_free(&fx);
}

static void test_speech_placed(void)
{
    struct fixture fx;
    fx_init(&fx, 4);
    uint32_t c = fx_clip(&fx, RATE / 2, 0.7f, 1);
    uint64_t at = 24000;
    fx_speech(&fx, at, c);
    size_t n = 2 * RATE;
    float *out = render_range(&fx, 1, 512, 0, n);
    CHECK(all_zero(out, at));
    CHECK(memcmp(out + at, fx.pcm[c], RATE / 2 * sizeof(float)) == 0);
    CHECK(all_zero(out + at + RATE / 2, n - at - RATE / 2));
    double level = rms(out + at, RATE / 2);
    CHECKF(fabs(level - 0.7 / sqrt(2)) < 0.01, "speech rms %.3f", level);
    free(out);
    fx_free(&fx);
}

/* Tones under speech drop to RENDER_DUCK_GAIN, with ramps, and come back. */
static void test_ducking(void)
{
    uint64_t ramp = RATE * RENDER_DUCK_RAMP_MS / 1000;
    uint64_t sp_at = RATE, sp_len = RATE; /* speech over [1 s, 2 s) */
    for (int ready = 0; ready < 2; ready++) {
        struct fixture alone, both;
        fx_init(&alone, 4);
        fx_init(&both, 4);
        fx_add(&alone, EV_BREATH_HOLD, 0, 3 * RATE);
        fx_add(&both, EV_BREATH_HOLD, 0, 3 * RATE);
        uint32_t c = fx_clip(&both, sp_len, 0.7f, ready);
        fx_speech(&both, sp_at, c);
        size_t n = 3 * RATE;
        float *a = render_range(&alone, 1, 700, 0, n);
        float *b = render_range(&both, 1, 700, 0, n);
        /* Away from speech (beyond the ramps): untouched. */
        CHECK(memcmp(a, b, (sp_at - ramp + 1) * sizeof(float)) == 0);
        CHECK(memcmp(a + sp_at + sp_len + ramp - 1, b + sp_at + sp_len + ramp - 1,
                     (n - sp_at - sp_len - ramp + 1) * sizeof(float)) == 0);
        CHECK(b[sp_at - ramp + 1] != a[sp_at - ramp + 1]); /* the ramp has begun */
        if (!ready) {
            /* Unready speech is silent but still ducks: exactly the gain. */
            int exact = 1;
            for (size_t i = sp_at; i < sp_at + sp_len; i++)
                exact &= b[i] == a[i] * RENDER_DUCK_GAIN;
            CHECK(exact);
        }
        /* Under speech: tone level = duck gain x level alone. */
        double ra = rms(a + sp_at, sp_len), rb;
        {
            double s = 0;
            for (size_t i = 0; i < sp_len; i++) {
                double v = (double)b[sp_at + i] - (ready ? both.pcm[c][i] : 0.0);
                s += v * v;
            }
            rb = sqrt(s / (double)sp_len);
        }
        CHECKF(fabs(rb / ra - RENDER_DUCK_GAIN) < 0.005, "ducked ratio %.4f (ready %d)", rb / ra,
               ready);
        /* Ramps: halfway through each ramp the gain is between. */
        size_t mid_in = sp_at - ramp / 2, mid_out = sp_at + sp_len + ramp / 2;
        double g_in = rms(b + mid_in - 100, 200) / rms(a + mid_in - 100, 200);
        double g_out = rms(b + mid_out - 100, 200) / rms(a + mid_out - 100, 200);
        CHECKF(g_in > 0.45 && g_in < 0.80, "ramp in %.3f", g_in);
        CHECKF(g_out > 0.45 && g_out < 0.80, "ramp out %.3f", g_out);
        /* No step: the ducking curve is continuous. */
        float worst = 0;
        for (size_t i = sp_at - 2 * ramp; i < sp_at; i++)
            if (fabsf(b[i] - b[i - 1]) > worst) worst = fabsf(b[i] - b[i - 1]);
        CHECKF(worst < 0.01f, "step %.4f in ramp", worst);
        free(a);
        free(b);
        fx_free(&alone);
        fx_free(&both);
    }
    /* A block that starts in the ramp after the longest event (speech)
     * ends must still see that speech to duck a tone there. */
    struct fixture fx;
    fx_init(&fx, 4);
    uint32_t c = fx_clip(&fx, RATE, 0.7f, 1);
    fx_speech(&fx, RATE, c);
    fx_add(&fx, EV_BEEP, 2 * RATE - 2400, 0);
    fx_add(&fx, EV_BEEP, RATE - 3000, 0); /* ... and before it starts */
    fx_sort(&fx);
    float *whole = render_range(&fx, 1, 8192, 0, 3 * RATE);
    uint64_t starts[2] = {RATE - ramp - 100, 2 * RATE - 5};
    for (int k = 0; k < 2; k++) {
        for (uint64_t start = starts[k]; start < starts[k] + ramp + 105; start += 7) {
            float *slice = render_range(&fx, 1, 64, start, 2000);
            CHECKF(memcmp(whole + start, slice, 2000 * sizeof(float)) == 0,
                   "block at %lu near speech differs", (unsigned long)start);
            free(slice);
        }
    }
    free(whole);
    fx_free(&fx);
}

static void test_limiter(void)
{
    struct fixture fx;
    fx_init(&fx, 200);
    uint32_t c = fx_clip(&fx, RATE, 0.9f, 1);
    for (int i = 0; i < 40; i++)
        fx_add(&fx, EV_BELL, 1000 + (uint64_t)i * 7, 0);
    for (int i = 0; i < 40; i++)
        fx_add(&fx, EV_BEEP_FINAL, 2000 + (uint64_t)i * 3, 0);
    for (int i = 0; i < 5; i++)
        fx_speech(&fx, 1500 + (uint64_t)i * 100, c);
    fx_sort(&fx);
    size_t n = 3 * RATE;
    float vols[3] = {1.0f, 8.0f, 1e30f};
    for (int v = 0; v < 3; v++) {
        struct renderer r;
        float *out = malloc(2 * n * sizeof(float));
        CHECK(render_init(&r, &fx.tl, fx.pcm, 2, 1024) == 0);
        atomic_store(&r.volume, vols[v]);
        render(&r, 0, out, n);
        float pk = 0;
        int bad = 0;
        for (size_t i = 0; i < 2 * n; i++) {
            bad |= isnan(out[i]) || isinf(out[i]);
            if (fabsf(out[i]) > pk) pk = fabsf(out[i]);
        }
        CHECKF(!bad && pk <= 1.0f, "peak %g at volume %g", pk, vols[v]);
        /* the look-ahead limiter holds them at its ceiling (-1.3 dBFS) */
        CHECKF(pk > 0.85f && pk <= RENDER_LIMIT_CEILING, "peak %g: overlaps should drive the limiter", pk);
        render_free(&r);
        free(out);
    }
    /* Below the knee the limiter is the identity: half volume = half. */
    struct fixture q;
    fx_init(&q, 2);
    fx_add(&q, EV_BEEP, 100, 0);
    struct renderer r;
    CHECK(render_init(&r, &q.tl, q.pcm, 1, 256) == 0);
    float full[6000], half[6000];
    render(&r, 0, full, 6000);
    atomic_store(&r.volume, 0.5f);
    render(&r, 0, half, 6000);
    int ok = 1;
    for (int i = 0; i < 6000; i++)
        ok &= half[i] == 0.5f * full[i];
    CHECK(ok);
    render_free(&r);
    fx_free(&q);
    fx_free(&fx);
}

/* A busy timeline: clicks, beeps, breath glides, phase tones, speech, bell. */
static void build_busy(struct fixture *fx, uint64_t seconds)
{
    fx_init(fx, 64 * seconds + 16);
    uint32_t c1 = fx_clip(fx, RATE * 7 / 10, 0.7f, 1);
    uint32_t c2 = fx_clip(fx, RATE * 3 / 2, 0.6f, 1);
    uint32_t c3 = fx_clip(fx, RATE / 3, 0.7f, 0); /* never ready */
    for (uint64_t s = 0; s < seconds; s++) {
        uint64_t base = s * RATE;
        fx_add(fx, s % 4 ? EV_CLICK : EV_CLICK_ACCENT, base, 0);
        fx_add(fx, EV_CLICK, base + RATE / 2, 0);
        if (s % 5 == 1) fx_speech(fx, base + 1234, s % 2 ? c1 : c2);
        if (s % 7 == 3) fx_speech(fx, base + 777, c3);
        if (s % 6 == 2) fx_add(fx, EV_BEEP, base + 300, 0);
        if (s % 6 == 3) fx_add(fx, EV_BEEP_FINAL, base + 300, 0);
        if (s % 8 == 4) fx_add(fx, EV_BREATH_IN, base + 100, RATE * 3 / 2);
        if (s % 8 == 6) fx_add(fx, EV_BREATH_OUT, base + 100, RATE * 2);
        if (s % 8 == 5) fx_add(fx, EV_BREATH_HOLD, base + 100, RATE / 2);
        if (s % 3 == 0) fx_add(fx, EV_PHASE, base + 5000, 0)->variant = (uint8_t)(s % 9);
    }
    fx_add(fx, EV_BELL, (seconds - 2) * RATE + 11, 0);
    fx_sort(fx);
}

/* Any cut of the stream, at full volume and at 4x (the look-ahead
 * limiter then works on most of the busy timeline: its quiet chunks and
 * its lines fall at other frames of each window for each cut). */
static void test_block_invariance(void)
{
    struct fixture fx;
    uint64_t seconds = 12;
    build_busy(&fx, seconds);
    size_t n = (size_t)(seconds * RATE);
    for (int vi = 0; vi < 2; vi++)
    for (uint32_t ch = 1; ch <= 2; ch++) {
        g_volume = vi ? 4.0f : 1.0f;
        float *whole = render_range(&fx, ch, 4096, 0, n);
        srand(11 + ch);
        size_t blocks[] = {1, 7, 64, 333, 1024, 0};
        for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
            struct renderer r;
            size_t mb = blocks[bi] ? blocks[bi] : 2048;
            CHECK(render_init(&r, &fx.tl, fx.pcm, ch, mb) == 0);
            atomic_store(&r.volume, g_volume);
            float *parts = malloc(n * ch * sizeof(float));
            size_t at = 0;
            while (at < n) {
                /* Random call sizes, often larger than max_block. */
                size_t m =
                    blocks[bi] == 1 ? 1 + (size_t)rand() % 300 : 1 + (size_t)rand() % (3 * mb + 1);
                if (m > n - at) m = n - at;
                render(&r, at, parts + at * ch, m);
                at += m;
            }
            CHECKF(memcmp(whole, parts, n * ch * sizeof(float)) == 0,
                   "blocks of max %zu, %u channels, volume %g differ", mb, ch, g_volume);
            render_free(&r);
            free(parts);
        }
        /* Seeking: any range equals the same slice of the whole. */
        for (int t = 0; t < 20; t++) {
            size_t a = (size_t)rand() % n, m = 1 + (size_t)rand() % 20000;
            if (m > n - a) m = n - a;
            float *slice = render_range(&fx, ch, 1 + (size_t)rand() % 5000, a, m);
            CHECKF(memcmp(whole + a * ch, slice, m * ch * sizeof(float)) == 0,
                   "seek to %zu (%zu frames), volume %g differs", a, m, g_volume);
            free(slice);
        }
        free(whole);
    }
    g_volume = 1.0f;
    fx_free(&fx);
}

static void test_stereo(void)
{
    struct fixture fx;
    build_busy(&fx, 6);
    size_t n = 6 * RATE;
    float *mono = render_range(&fx, 1, 1000, 0, n);
    float *st = render_range(&fx, 2, 1000, 0, n);
    int same = 1;
    for (size_t i = 0; i < n; i++)
        same &= st[2 * i] == mono[i] && st[2 * i + 1] == mono[i];
    CHECK(same);
    CHECK(rms(mono, n) > 0.05);
    free(mono);
    free(st);
    fx_free(&fx);
}

static void test_missing_clip(void)
{
    struct fixture fx;
    fx_init(&fx, 4);
    uint32_t c = fx_clip(&fx, RATE, 0.7f, 0);
    fx_speech(&fx, 5000, c);
    fx_add(&fx, EV_CLICK, RATE * 2, 0);
    size_t n = 3 * RATE;
    struct renderer r;
    CHECK(render_init(&r, &fx.tl, fx.pcm, 2, 256) == 0);
    float *out = malloc(2 * n * sizeof(float));
    for (size_t at = 0; at < n; at += 100) /* the clip spans many blocks */
        render(&r, at, out + 2 * at, n - at < 100 ? n - at : 100);
    CHECK(atomic_load(&r.missing_clips) == 1);
    CHECK(all_zero(out, 2 * 2 * RATE)); /* speech slot is silent */
    CHECK(out[2 * 2 * RATE] != 0);      /* the click still plays */
    /* Starting mid-event (a seek) plays silence without counting. */
    render(&r, 20000, out, 1000);
    CHECK(atomic_load(&r.missing_clips) == 1);
    CHECK(all_zero(out, 2000));
    render_free(&r);
    free(out);
    fx_free(&fx);
}

/* One hour in, events still land on their exact frame, with the same
 * samples as at the start (nothing accumulates). */
static void test_hour(void)
{
    struct fixture fx;
    fx_init(&fx, 3700);
    uint64_t hour = 3600ull * RATE;
    for (uint64_t s = 0; s < 3600; s++)
        fx_add(&fx, EV_CLICK, s * RATE, 0);
    uint64_t beep_at = hour - 4800;
    fx_add(&fx, EV_BEEP, 4800 + 10, 0);
    fx_add(&fx, EV_BEEP, beep_at, 0);
    uint32_t c = fx_clip(&fx, RATE / 10, 0.7f, 1);
    fx_speech(&fx, hour - 20000, c);
    fx_sort(&fx);
    uint64_t a = hour - RATE; /* last second */
    float *out = render_range(&fx, 1, 1024, a, RATE);
    size_t off = (size_t)(beep_at - a);
    CHECK(out[off - 1] == 0);
    CHECK(out[off] != 0);
    /* Same samples as the early beep. */
    float *early = render_range(&fx, 1, 1024, 4810, 4800);
    CHECK(memcmp(early, out + off, 4800 * sizeof(float)) == 0);
    /* The click at 3599 s is first; speech placed exactly. */
    CHECK(out[0] != 0);
    CHECK(memcmp(out + (hour - 20000 - a), fx.pcm[c], RATE / 10 * sizeof(float)) == 0);
    /* The click before the hour: exact onset. */
    float *pre = render_range(&fx, 1, 512, hour - RATE - 10, 20);
    CHECK(all_zero(pre, 10) && pre[10] != 0);
    free(pre);
    free(early);
    free(out);
    fx_free(&fx);
}

static void test_init(void)
{
    struct fixture fx;
    fx_init(&fx, 1);
    struct renderer r;
    CHECK(render_init(&r, &fx.tl, fx.pcm, 3, 256) == COACH_EINVAL);
    CHECK(render_init(&r, &fx.tl, fx.pcm, 1, 0) == 0); /* default block */
    CHECK(r.max_block > 0);
    CHECK(atomic_load(&r.volume) == 1.0f);
    CHECK(atomic_load(&r.missing_clips) == 0);
    render_free(&r);
    render_free(&r); /* twice is harmless */
    fx_free(&fx);
    struct timeline zero = {0};
    timeline_free(&zero); /* a zeroed timeline frees cleanly */
    CHECK(timeline_lower_bound(&zero, 5) == 0);
}

static void test_lower_bound(void)
{
    struct fixture fx;
    fx_init(&fx, 8);
    uint64_t frames[] = {0, 10, 10, 10, 20, 30, 30};
    for (size_t i = 0; i < 7; i++)
        fx_add(&fx, EV_CLICK, frames[i], 0);
    CHECK(timeline_lower_bound(&fx.tl, 0) == 0);
    CHECK(timeline_lower_bound(&fx.tl, 1) == 1);
    CHECK(timeline_lower_bound(&fx.tl, 10) == 1);
    CHECK(timeline_lower_bound(&fx.tl, 11) == 4);
    CHECK(timeline_lower_bound(&fx.tl, 30) == 5);
    CHECK(timeline_lower_bound(&fx.tl, 31) == 7);
    fx_free(&fx);
}

int main(void)
{
    test_init();
    test_lower_bound();
    test_onsets_and_silence();
    test_speech_placed();
    test_ducking();
    test_limiter();
    test_block_invariance();
    test_stereo();
    test_missing_clip();
    test_hour();
    return test_done();
}
