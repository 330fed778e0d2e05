/* Phrases synthesized on every core (synthpool.h): every job answered once
 * with its source, its FLAC stream and its loudness; the same job list on
 * the same number of workers gives the same bytes; a failing job is
 * answered as failed; an interrupt stops the workers. Through the clip
 * store: phrases synthesized ahead are taken when interned, not
 * synthesized again, and play like any other. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/clips.h"
#include "coach/common.h"
#include "coach/interrupt.h"
#include "coach/pcmstore.h"
#include "coach/synthpool.h"
#include "testutil.h"

static const char *const texts[] = {
    "Lie on your back with your knees bent.", "Hold for five seconds.", "Rest.",
    "Slowly bring one knee toward your chest.", "Next: the cat cow stretch.",
    "Breathe in, two, three, four.", "Well done.", "...",
};
#define N_TEXTS (sizeof texts / sizeof *texts)

struct seen {
    int times[N_TEXTS];
    struct synth_job *jobs;
    uint8_t *flac[N_TEXTS]; /* taken from the jobs */
};

static void on_done(void *ctx, struct synth_job *j)
{
    struct seen *s = ctx;
    size_t k = (size_t)(j - s->jobs);
    s->times[k]++;
    s->flac[k] = j->flac;
    j->flac = NULL; /* taken */
}

/* Runs every text on workers; the jobs (and their FLAC) in out. */
static int run(struct speech *sp, unsigned workers, struct synth_job *jobs, struct seen *s)
{
    memset(s, 0, sizeof *s);
    s->jobs = jobs;
    for (size_t i = 0; i < N_TEXTS; i++)
        jobs[i] = (struct synth_job){.text = texts[i], .rate_wpm = i == 3 ? 140 : 0};
    return synthpool_run(sp, jobs, N_TEXTS, workers, true, on_done, s);
}

static void free_seen(struct seen *s)
{
    for (size_t i = 0; i < N_TEXTS; i++)
        free(s->flac[i]);
}

static void pool(struct speech *sp)
{
    struct synth_job a[N_TEXTS], b[N_TEXTS], c[N_TEXTS];
    struct seen sa, sb, sc;
    /* two runs on 3 workers from the same state: the same bytes */
    CHECK(run(sp, 3, a, &sa) == 0);
    CHECK(run(sp, 3, b, &sb) == 0);
    for (size_t i = 0; i < N_TEXTS; i++) {
        CHECKF(sa.times[i] == 1, "job %zu answered %d times", i, sa.times[i]);
        CHECKF(a[i].rc == 0, "job %zu: %s", i, coach_strerror(a[i].rc));
        CHECK(a[i].src_rate_hz == speech_rate_hz(sp));
        bool words = i + 1 < N_TEXTS;
        CHECKF(words ? a[i].src_len > 2000 : a[i].src_len == 0, "job %zu: %zu frames", i, a[i].src_len);
        CHECK(words ? a[i].loudness_known && a[i].loudness_lufs < -5 && a[i].loudness_lufs > -50
                    : !a[i].loudness_known);
        CHECK(a[i].src_len == b[i].src_len && a[i].flac_bytes == b[i].flac_bytes);
        CHECKF(a[i].flac_bytes == b[i].flac_bytes && (!a[i].flac_bytes ||
               memcmp(sa.flac[i], sb.flac[i], a[i].flac_bytes) == 0), "job %zu: other bytes", i);
        /* the stream holds the source */
        if (a[i].src_len) {
            int16_t *pcm = malloc(a[i].src_len * sizeof *pcm);
            CHECK(pcm && pcmstore_decode(sa.flac[i], a[i].flac_bytes, pcm, a[i].src_len) == 0);
            int peak = 0;
            for (size_t k = 0; pcm && k < a[i].src_len; k++)
                peak = abs(pcm[k]) > peak ? abs(pcm[k]) : peak;
            CHECKF(peak > 3000, "job %zu: peak %d", i, peak);
            free(pcm);
        }
    }
    /* the slower rate is longer than the same words would be at the voice's */
    CHECK(a[3].src_len > a[0].src_len);
    /* one worker: said here, the same lengths within 1 % (the engine's
     * state differs: synthpool.h) */
    CHECK(run(sp, 1, c, &sc) == 0);
    for (size_t i = 0; i < N_TEXTS; i++) {
        CHECK(sc.times[i] == 1 && c[i].rc == 0);
        long d = (long)c[i].src_len - (long)a[i].src_len;
        CHECKF(labs(d) * 100 <= (long)a[i].src_len, "job %zu: %zu frames here, %zu in a worker", i,
               c[i].src_len, a[i].src_len);
    }
    free_seen(&sa);
    free_seen(&sb);
    free_seen(&sc);
}

struct rc_ctx {
    struct synth_job *j;
    int *rcs;
};

static void on(void *ctx, struct synth_job *job)
{
    struct rc_ctx *c = ctx;
    c->rcs[job - c->j] = job->rc;
}

static void failures(struct speech *sp)
{
    /* a job that cannot be said is answered, failed, and the others are not held up */
    struct synth_job j[3] = {{.text = "Rest."}, {.text = NULL}, {.text = "Well done."}};
    int rcs[3] = {1, 1, 1};
    struct rc_ctx c = {j, rcs};
    CHECK(synthpool_run(sp, j, 3, 2, false, on, &c) == 0);
    CHECK(rcs[0] == 0 && rcs[1] == COACH_EINVAL && rcs[2] == 0);
    CHECK(j[0].src_len > 0 && j[0].flac_bytes == 0); /* lengths only: no stream */
    /* interrupted: stopped, COACH_EINTR */
    coach_interrupt_raise(2);
    struct synth_job k[4] = {{.text = "Rest."}, {.text = "Rest again."}, {.text = "Hold."}, {.text = "Go."}};
    int rk[4] = {1, 1, 1, 1};
    struct rc_ctx ck = {k, rk};
    CHECK(synthpool_run(sp, k, 4, 2, true, on, &ck) == COACH_EINTR);
    coach_interrupt_reset();
}

/* Through the store: synthesized ahead, taken when interned. */
static void ahead(struct speech *sp, enum clip_mode mode)
{
    struct clipstore want, cs;
    CHECK(clipstore_init(&want, NULL, 48000) == 0);
    clipstore_set_mode(&want, CLIPS_ESTIMATE);
    for (size_t i = 0; i < N_TEXTS; i++)
        CHECK(clipstore_intern_at(&want, texts[i], i == 3 ? 140 : 0, NULL, NULL) == 0);
    CHECK(clipstore_init(&cs, sp, 48000) == 0);
    clipstore_set_mode(&cs, mode);
    clipstore_set_workers(&cs, 2);
    uint32_t id0;
    CHECK(clipstore_intern(&cs, texts[0], &id0, NULL) == 0); /* one the store has already */
    CHECK(clipstore_prefetch(&cs, &want) == 0);
    CHECKF(cs.ready_len == N_TEXTS - 1, "%zu ready", cs.ready_len); /* all but the one known */
    CHECK(cs.len == 1);
    uint64_t src0 = cs.src_bytes;
    CHECK(clipstore_prefetch(&cs, &want) == 0); /* nothing new to do */
    CHECK(cs.ready_len == N_TEXTS - 1);
    for (size_t i = 0; i < N_TEXTS; i++) {
        uint32_t id;
        uint64_t len;
        CHECK(clipstore_intern_at(&cs, texts[i], i == 3 ? 140 : 0, &id, &len) == 0);
        int64_t r = -1;
        for (size_t k = 0; k < cs.ready_len; k++)
            if (strcmp(cs.ready[k].text, texts[i]) == 0) r = (int64_t)k;
        if (i == 0 || i + 1 == N_TEXTS) continue;
        CHECKF(r >= 0 && cs.clips[id].src_len == cs.ready[r].src_len, "%s not taken", texts[i]);
        CHECK(len > 48000 / 4);
        /* the very bytes synthesized ahead, not a new synthesis */
        CHECK(r >= 0 && cs.clips[id].flac_off == cs.ready[r].flac_off &&
              cs.clips[id].flac_bytes == cs.ready[r].flac_bytes);
        if (mode == CLIPS_AUDIO) {
            CHECK(clipstore_prepare(&cs, id) == 0 && cs.clips[id].pcm);
            float peak = 0;
            for (uint64_t k = 0; cs.clips[id].pcm && k < len; k++)
                peak = fmaxf(peak, fabsf(cs.clips[id].pcm[k]));
            CHECKF(peak > 0.05f, "%s: peak %g", texts[i], peak);
            clipstore_release(&cs, id);
        } else {
            CHECK(clipstore_prepare(&cs, id) == COACH_EINVAL); /* nothing kept */
        }
    }
    CHECK(cs.len == N_TEXTS);
    CHECK(cs.src_bytes > src0); /* counted when taken */
    clipstore_free(&cs);
    clipstore_free(&want);
}

int main(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {.espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &set) != 0) {
        fprintf(stderr, "espeak-ng unavailable\n");
        return 77;
    }
    CHECK(synthpool_default_workers() >= 1);
    pool(sp);
    failures(sp);
    ahead(sp, CLIPS_AUDIO);
    ahead(sp, CLIPS_LENGTHS);
    speech_close(sp);
    return test_done();
}
