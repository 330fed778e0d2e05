/* Loudness measurement of phrases with libebur128, and the --loudness
 * targets (see loudness.h for the method chosen for short phrases). */
#include "coach/loudness.h"

#include <ebur128.h>
#include <math.h>
#include <string.h>

#include "coach/common.h"

static const struct {
    const char *name;
    double lufs; /* mono measure */
} modes[] = {
    [LOUDNESS_PODCAST] = {"podcast", -19.0},
    [LOUDNESS_BROADCAST] = {"broadcast", -26.0},
    [LOUDNESS_OFF] = {"off", NAN},
};

int loudness_mode_from_name(const char *name, enum loudness_mode *mode)
{
    for (size_t i = 0; name && i < sizeof modes / sizeof *modes; i++)
        if (strcmp(name, modes[i].name) == 0) {
            *mode = (enum loudness_mode)i;
            return 0;
        }
    return -1;
}

const char *loudness_mode_name(enum loudness_mode mode)
{
    return (size_t)mode < sizeof modes / sizeof *modes ? modes[mode].name : "?";
}

double loudness_target_lufs(enum loudness_mode mode)
{
    return (size_t)mode < sizeof modes / sizeof *modes ? modes[mode].lufs : NAN;
}

float loudness_program_gain(enum loudness_mode mode)
{
    double t = loudness_target_lufs(mode);
    return isfinite(t) ? (float)pow(10.0, (t - LOUDNESS_PROGRAMME_LUFS) / 20.0) : 1.0f;
}

/* One phrase through st (mono, MODE_I). */
static int finish(ebur128_state *st, size_t n, uint32_t rate_hz, double *lufs)
{
    double l = -HUGE_VAL;
    unsigned long ms = (unsigned long)((uint64_t)n * 1000 / rate_hz);
    int rc = ebur128_loudness_global(st, &l);
    /* no full 400 ms block: one block of the phrase's own length (the
     * state keeps the last 400 ms: ebur128_set_max_window is not used, it
     * costs 0.5 s per call in libebur128 1.2.6) */
    if (rc == EBUR128_SUCCESS && !isfinite(l) && ms > 0 && ms <= 400)
        rc = ebur128_loudness_window(st, ms, &l);
    ebur128_destroy(&st);
    if (rc != EBUR128_SUCCESS) return COACH_EINVAL;
    *lufs = l;
    return 0;
}

/* A state for a phrase of n frames, or NULL. */
static ebur128_state *open_state(size_t n, uint32_t rate_hz)
{
    if (rate_hz < 16 || n == 0) return NULL;
    return ebur128_init(1, rate_hz, EBUR128_MODE_I);
}

/* Measures n frames of pcm, given to libebur128 by add (short or float). */
static int measure(const void *pcm, size_t n, uint32_t rate_hz, double *lufs,
                   int (*add)(ebur128_state *, const void *, size_t))
{
    *lufs = -HUGE_VAL;
    if (n == 0) return 0;
    ebur128_state *st = open_state(n, rate_hz);
    if (!st) return rate_hz < 16 ? COACH_EINVAL : COACH_ENOMEM;
    if (add(st, pcm, n) != EBUR128_SUCCESS) {
        ebur128_destroy(&st);
        return COACH_ENOMEM;
    }
    return finish(st, n, rate_hz, lufs);
}

static int add_short(ebur128_state *st, const void *pcm, size_t n)
{
    return ebur128_add_frames_short(st, pcm, n);
}

static int add_float(ebur128_state *st, const void *pcm, size_t n)
{
    return ebur128_add_frames_float(st, pcm, n);
}

int loudness_of_phrase(const int16_t *pcm, size_t n, uint32_t rate_hz, double *lufs)
{
    return measure(pcm, n, rate_hz, lufs, add_short);
}

int loudness_of_phrase_f32(const float *pcm, size_t n, uint32_t rate_hz, double *lufs)
{
    return measure(pcm, n, rate_hz, lufs, add_float);
}
