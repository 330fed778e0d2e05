/* The echo canceller's tap (sink_tap.h) around the memory sink: what the
 * render callback played reaches the listener's side mono, at 16 kHz, in
 * order, stamped; a new sink opened through it restarts the reference. */
#include <math.h>
#include <string.h>

#include "coach/common.h"
#include "coach/sink_tap.h"
#include "testutil.h"

#define RATE 48000

static uint64_t rendered;

/* A 400 Hz sine, 0.5, the same in both channels. */
static void sine(void *ctx, float *out, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++, rendered++) {
        float v = (float)(0.5 * sin(2 * 3.141592653589793 * 400.0 * (double)rendered / RATE));
        out[2 * i] = out[2 * i + 1] = v;
    }
}

/* Everything the tap holds: samples, the RMS of those after the first
 * 20 ms (the resampler's start), whether it restarted, the first stamp. */
static size_t take_all(struct sink_tap *t, double *rms, bool *restarted, uint64_t *stamp)
{
    static float buf[RATE];
    size_t total = 0, n;
    double e = 0;
    size_t counted = 0;
    *restarted = false;
    *stamp = 0;
    do {
        uint64_t play_ns;
        bool r;
        CHECK(sink_tap_take(t, buf, sizeof buf / sizeof *buf, &n, &play_ns, &r) == 0);
        if (r) *restarted = true, total = 0, e = 0, counted = 0;
        if (n && !*stamp) *stamp = play_ns;
        for (size_t i = 0; i < n; i++, total++)
            if (total >= 320) e += (double)buf[i] * buf[i], counted++;
    } while (n);
    *rms = counted ? sqrt(e / (double)counted) : 0;
    return total;
}

static void one_opening(struct sink_tap *t, const struct sink_ops *ops)
{
    char err[256];
    struct sink *s;
    struct sink_config cfg = {.rate_hz = RATE, .channels = 2, .render = sine, .block_frames = 1024};
    uint64_t before = coach_mono_ns();
    CHECKF(ops->open(&s, &cfg, err, sizeof err) == 0, "%s", err);
    CHECK(ops->rate(s) == RATE);
    CHECK(ops->start(s, err, sizeof err) == 0);
    ops->wait(s, 1000); /* one second, in 1024-frame blocks */
    double rms;
    bool restarted;
    uint64_t stamp;
    size_t n = take_all(t, &rms, &restarted, &stamp);
    CHECKF(n > 15700 && n <= 16000, "%zu samples at 16 kHz for 1 s", n);
    CHECKF(fabs(rms - 0.5 / sqrt(2)) < 0.01, "rms %.4f", rms);
    CHECK(restarted); /* each opening starts the reference again */
    CHECK(stamp >= before);
    CHECK(atomic_load(&t->dropped) == 0);
    ops->close(s);
}

int main(void)
{
    struct sink_tap t;
    CHECK(sink_tap_init(&t) == 0);
    const struct sink_ops *ops = sink_tap_wrap(&t, &sink_memory_ops);
    one_opening(&t, ops);
    one_opening(&t, ops); /* the menu, then the routine chosen */
    sink_tap_free(&t);
    return test_done();
}
