/* Shared helpers for the unit tests. */
#include "testutil.h"

#include "coach/clips.h"
#include "coach/clipwin.h"
#include "coach/loudness.h"
#include "coach/render.h"
#include "coach/timeline.h"

#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int test_failures;
int test_checks;

int test_done(void)
{
    printf("%d passed, %d failed\n", test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}

const char *test_src_path(const char *rel)
{
    static char buf[4][4096];
    static int k;
    const char *root = getenv("COACH_SOURCE_DIR");
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", root ? root : ".", rel);
    return b;
}

static void mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0777);
            *p = '/';
        }
    }
    mkdir(tmp, 0777);
}

const char *test_tmpdir(const char *name)
{
    static char buf[4][4096];
    static int k;
    const char *root = getenv("COACH_TEST_TMP");
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s.%ld", root ? root : "/tmp/coach-test", name, (long)getpid());
    mkdir_p(b);
    return b;
}

void test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap + 1);
    size_t r;
    while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *q = realloc(p, cap * 2 + 1);
            if (!q) { free(p); p = NULL; break; }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (!p) return NULL;
    p[n] = 0;
    if (len) *len = n;
    return p;
}

/* Invariants every plan must hold. */
void test_plan_invariants(const char *name, const struct timeline *tl, const struct clipstore *cs)
{
    uint64_t speech_end = 0, rate = tl->rate_hz;
    int overlaps = 0, unsorted = 0, past_end = 0, bad_countdown = 0;
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        if (i && e->frame < tl->ev[i - 1].frame) unsorted++;
        if (e->frame + e->len_frames > tl->len_frames) past_end++;
        if (e->len_frames > tl->max_event_frames) past_end++;
        if (e->kind == EV_SPEECH) {
            if (i && e->frame < speech_end) overlaps++;
            speech_end = e->frame + e->len_frames;
            CHECK(e->clip < tl->n_clips && clipstore_len(cs, e->clip) == e->len_frames);
        }
        if (e->kind == EV_BEEP) {
            /* every countdown beep is a whole number of seconds before the
             * next final beep */
            size_t j = i + 1;
            while (j < tl->n_ev && tl->ev[j].kind != EV_BEEP_FINAL) j++;
            if (j == tl->n_ev || (tl->ev[j].frame - e->frame) % rate != 0 ||
                tl->ev[j].frame - e->frame > 10 * rate)
                bad_countdown++;
        }
    }
    CHECKF(!unsorted, "%s: %d events out of order", name, unsorted);
    CHECKF(!overlaps, "%s: %d speech overlaps", name, overlaps);
    CHECKF(!past_end, "%s: %d events past the end", name, past_end);
    CHECKF(!bad_countdown, "%s: %d countdown beeps off their second", name, bad_countdown);
    /* chapters in order, covering the whole timeline */
    CHECK(tl->n_ch >= 1 && tl->ch[0].frame == 0);
    for (size_t i = 1; i < tl->n_ch; i++) CHECK(tl->ch[i].frame == tl->ch[i - 1].end_frame);
    for (size_t i = 0; i < tl->n_ch; i++)
        CHECKF(tl->ch[i].frame <= tl->ch[i].body_frame && tl->ch[i].body_frame < tl->ch[i].end_frame,
               "%s: chapter %zu's own start %llu outside [%llu, %llu)", name, i,
               (unsigned long long)tl->ch[i].body_frame, (unsigned long long)tl->ch[i].frame,
               (unsigned long long)tl->ch[i].end_frame);
    CHECK(tl->n_ch && tl->ending_frame >= tl->ch[tl->n_ch - 1].body_frame &&
          tl->ending_frame < tl->len_frames);
    CHECK(tl->n_ch && tl->ch[tl->n_ch - 1].end_frame == tl->len_frames);
    /* the last event is the bell */
    CHECK(tl->n_ev && tl->ev[tl->n_ev - 1].kind == EV_BELL);
}

int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

void test_estimator(struct clipstore *cs, uint32_t rate_hz)
{
    CHECK(clipstore_init(cs, NULL, rate_hz) == 0);
    clipstore_set_mode(cs, CLIPS_ESTIMATE);
}

float *test_render_all(const struct timeline *tl, struct clipstore *cs)
{
    clip_slot *slots = calloc(tl->n_clips, sizeof *slots);
    struct clipwin w;
    const struct clipwin_policy pol = {.ahead_frames = tl->len_frames,
                                       .keep_frames = CLIPWIN_UNTIL_LAST_USE};
    CHECK(clipwin_init(&w, cs, slots, tl->n_clips, &pol) == 0);
    CHECK(clipwin_set_timeline(&w, tl, NULL, 0) == 0 && clipwin_update(&w, 0, CLIPWIN_NO_WANT, 0) == 0);
    struct renderer rd;
    float *ref = malloc(tl->len_frames * sizeof *ref);
    CHECK(ref && render_init(&rd, tl, slots, 1, 4096) == 0);
    /* at the level a live session plays (player_opts.loudness 0) */
    render_set_gain(&rd, loudness_program_gain(LOUDNESS_PODCAST));
    if (ref) render(&rd, 0, ref, tl->len_frames);
    render_free(&rd);
    clipwin_free(&w);
    free(slots);
    return ref;
}

#define TEST_PI 3.14159265358979323846

/* Codec tests (test_mp3par, test_opuspar): a programme, decoding, error windows. */
static uint32_t test_rng = 12345;
static float noise(void)
{
    test_rng = test_rng * 1664525u + 1013904223u;
    return (float)((test_rng >> 8) / 8388608.0 - 1.0);
}

/* n frames of a programme with something at every kind of join. */
float *test_programme(uint32_t rate, uint32_t ch, uint64_t n)
{
    float *x = calloc(n ? n * ch : 1, sizeof *x);
    double ph = 0;
    for (uint64_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double f0 = 180 + 40 * sin(2 * TEST_PI * 3 * t); /* a voice-like pitch */
        ph += 2 * TEST_PI * f0 / rate;
        double env = fmod(t, 1.7) < 1.2 ? 0.5 * sin(TEST_PI * fmod(t, 1.7) / 1.2) : 0; /* words, pauses */
        double v = 0;
        for (int h = 1; h <= 8; h++) v += sin(h * ph) / h;
        v = 0.4 * env * v + (fmod(t, 2.3) < 0.15 ? 0.1 * noise() : 0); /* and hiss */
        if (i % (rate / 2) < 3) v += 0.6; /* a click every half second */
        for (uint32_t c = 0; c < ch; c++) x[i * ch + c] = (float)(c ? 0.7 * v : v);
    }
    return x;
}

/* Decoded frames of path into *out (heap), -1 if it cannot be read. */
int64_t test_decode(const char *path, float **out)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    *out = NULL;
    if (!f) return -1;
    *out = calloc(info.frames > 0 ? (size_t)info.frames * info.channels : 1, sizeof **out);
    sf_count_t got = sf_readf_float(f, *out, info.frames);
    sf_close(f);
    return got;
}

/* Error of y against x over the windows of a frame either side of
 * `centre + k * period` (k >= 1), the joins or the points between. */
struct test_err test_window_err(const float *x, const float *y, uint32_t ch, uint64_t n, int64_t first,
                             int64_t period, int64_t half)
{
    struct test_err r = {0};
    for (int64_t c = first; c < (int64_t)n; c += period)
        for (int64_t i = c - half; i < c + half; i++) {
            if (i < 0 || i >= (int64_t)n) continue;
            for (uint32_t k = 0; k < ch; k++) {
                double e = (double)y[i * ch + k] - x[i * ch + k];
                r.e2 += e * e;
                r.s2 += (double)x[i * ch + k] * x[i * ch + k];
                if (fabs(e) > r.max) r.max = fabs(e);
            }
        }
    return r;
}

double test_db(double v)
{
    return 10 * log10(v > 1e-30 ? v : 1e-30);
}


float *test_par_encodes(const char *dir, const char *ext, test_encode_fn enc, const float *x,
                        uint32_t rate, uint32_t ch, uint64_t n)
{
    char path[3][512];
    char *bytes[3];
    size_t len[3] = {0};
    for (unsigned w = 1; w <= 3; w++) {
        snprintf(path[w - 1], sizeof path[w - 1], "%s/w%u-%u-%u-%llu.%s", dir, w, rate, ch,
                 (unsigned long long)n, ext);
        CHECKF(enc(path[w - 1], x, rate, ch, n, w) == 0, "%s: cannot encode", path[w - 1]);
        bytes[w - 1] = test_read_file(path[w - 1], &len[w - 1]);
    }
    CHECKF(bytes[0] && bytes[1] && bytes[2] && len[0] == len[1] && len[0] == len[2] &&
               !memcmp(bytes[0], bytes[1], len[0]) && !memcmp(bytes[0], bytes[2], len[0]),
           "%s %u Hz %u ch %llu frames: 1, 2 and 3 workers differ", ext, rate, ch, (unsigned long long)n);
    for (int i = 0; i < 3; i++) free(bytes[i]);
    float *y = NULL;
    int64_t got = test_decode(path[1], &y);
    CHECKF(got == (int64_t)n, "%s %u Hz %u ch: %lld frames decoded, %llu written", ext, rate, ch,
           (long long)got, (unsigned long long)n);
    if (got != (int64_t)n) {
        free(y);
        return NULL;
    }
    return y;
}
