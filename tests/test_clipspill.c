/* The clip store's memory does not grow with the routine's length: the
 * synthesized sources go to the spill store (an unlinked temporary file),
 * so adding clips adds only their records and texts to the heap; a clip is
 * read back whole when prepared, or a window at a time when streamed; with
 * no usable $TMPDIR the store still works (in memory). */
#define _GNU_SOURCE /* mallinfo2 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/clips.h"
#include "coach/common.h"
#include "testutil.h"

#define SPILL_FIRST 10
#define SPILL_MORE 80
#define SPILL_BYTES_PER_CLIP 1024 /* record + text + hash: far below a source (~30 KB) */

static int intern_n(struct clipstore *cs, int from, int to)
{
    char text[96];
    for (int i = from; i < to; i++) {
        snprintf(text, sizeof text, "Step %d. Lift the left arm slowly and breathe out.", i);
        if (clipstore_intern(cs, text, NULL, NULL) != 0) return -1;
    }
    return 0;
}

static void bounded(struct speech *sp)
{
    struct clipstore cs;
    CHECK(clipstore_init(&cs, sp, 48000) == 0);
    CHECK(intern_n(&cs, 0, SPILL_FIRST) == 0);
    size_t heap0 = mallinfo2().uordblks;
    uint64_t res0 = clipstore_resident_bytes(&cs);
    CHECK(intern_n(&cs, SPILL_FIRST, SPILL_FIRST + SPILL_MORE) == 0);
    size_t heap1 = mallinfo2().uordblks;
    uint64_t res1 = clipstore_resident_bytes(&cs);
    uint64_t bound = (uint64_t)SPILL_MORE * SPILL_BYTES_PER_CLIP;
    CHECKF(heap1 < heap0 + bound, "heap grew by %zu bytes for %d clips (%llu bytes of FLAC)",
           heap1 - heap0, SPILL_MORE, (unsigned long long)cs.flac_bytes);
    CHECKF(res1 < res0 + bound, "store holds %llu bytes more after %d clips",
           (unsigned long long)(res1 - res0), SPILL_MORE);
    CHECK(cs.flac_bytes > (uint64_t)SPILL_MORE * 10000); /* the sources were kept */
    /* the first and last clips read back and prepare, then go again */
    uint32_t ids[2] = {0, (uint32_t)cs.len - 1};
    for (int k = 0; k < 2; k++) {
        uint32_t id = ids[k];
        CHECK(clipstore_prepare(&cs, id) == 0 && cs.clips[id].pcm);
        float peak = 0;
        for (uint64_t i = 0; cs.clips[id].pcm && i < cs.clips[id].len_frames; i++)
            peak = fmaxf(peak, fabsf(cs.clips[id].pcm[i]));
        CHECKF(peak > 0.05f, "clip %u peak %g", id, peak);
        CHECK(clipstore_resident_bytes(&cs) >= res1 + cs.clips[id].len_frames * sizeof(float));
        clipstore_release(&cs, id);
    }
    CHECK(clipstore_resident_bytes(&cs) == res1);
    clipstore_free(&cs);
}

/* A clip streamed (clipstore_prepare_streamed) gives the same frames as
 * the clip prepared whole, in whatever windows it is asked for, while the
 * store holds only the window: forwards in small steps, a jump ahead, a
 * jump further than the window holds, a window wider than the usual, and
 * back to the start (made again). */
static void streamed(struct speech *sp)
{
    struct clipstore cs;
    CHECK(clipstore_init(&cs, sp, 48000) == 0);
    uint32_t id;
    uint64_t n;
    CHECK(clipstore_intern(&cs, "Keep your back flat on the floor, your knees bent and your feet "
                                "hip width apart, and breathe slowly in and out through the nose.",
                           &id, &n) == 0);
    CHECKF(n > 2 * CLIPS_STREAM_WINDOW_FRAMES, "%llu frames", (unsigned long long)n);
    CHECK(clipstore_prepare(&cs, id) == 0);
    float *whole = malloc(n * sizeof *whole);
    memcpy(whole, cs.clips[id].pcm, n * sizeof *whole);
    clipstore_release(&cs, id);
    uint64_t res0 = clipstore_resident_bytes(&cs);

    CHECK(clipstore_prepare_streamed(&cs, id) == 0 && cs.clips[id].stream);
    struct span { uint64_t from, upto; } steps[64];
    size_t k = 0;
    for (uint64_t f = 0; f < n / 2 && k < 40; f += 7919) steps[k++] = (struct span){f, f + 16384};
    steps[k++] = (struct span){n - 30000, n + 5000}; /* a jump ahead, past the end */
    steps[k++] = (struct span){0, 100};                /* back to the start */
    steps[k++] = (struct span){n - 2000, n};           /* a jump wider than the window */
    steps[k++] = (struct span){0, 100};                /* and back again */
    steps[k++] = (struct span){10, 3 * CLIPS_STREAM_WINDOW_FRAMES}; /* wider than usual */
    size_t bad = 0;
    for (size_t i = 0; i < k; i++) {
        CHECK(clipstore_window(&cs, id, steps[i].from, steps[i].upto) == 0);
        const float *p = cs.clips[id].pcm;
        uint64_t hi = steps[i].upto < n ? steps[i].upto : n;
        for (uint64_t f = steps[i].from; f < hi; f++) bad += p[f] != whole[f];
        uint64_t held = clipstore_resident_bytes(&cs) - res0;
        uint64_t want = (i == k - 1 ? 3 : 1) * CLIPS_STREAM_WINDOW_FRAMES * sizeof(float) + 4096;
        CHECKF(held <= want, "step %zu: %llu bytes held", i, (unsigned long long)held);
    }
    CHECKF(bad == 0, "%zu frames differ from the whole clip's", bad);
    clipstore_release(&cs, id);
    CHECK(cs.clips[id].pcm == NULL && cs.clips[id].stream == NULL && clipstore_resident_bytes(&cs) == res0);
    free(whole);
    clipstore_free(&cs);
}

/* No writable $TMPDIR: the sources stay in memory, everything still works. */
static void no_tmpdir(struct speech *sp)
{
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", "/nonexistent/coach-test", 1);
    struct clipstore cs;
    CHECK(clipstore_init(&cs, sp, 44100) == 0);
    uint32_t id = 9;
    CHECK(clipstore_intern(&cs, "Rest", &id, NULL) == 0 && id == 0);
    CHECK(clipstore_intern(&cs, "Breathe in", &id, NULL) == 0 && id == 1);
    CHECK(clipstore_prepare(&cs, 1) == 0 && cs.clips[1].pcm);
    CHECK(clipstore_prepare(&cs, 0) == 0 && cs.clips[0].pcm);
    /* streamed from the memory store: the same frames */
    clipstore_release(&cs, 1);
    CHECK(clipstore_prepare(&cs, 1) == 0);
    uint64_t n = cs.clips[1].len_frames;
    float *whole = malloc(n * sizeof *whole);
    memcpy(whole, cs.clips[1].pcm, n * sizeof *whole);
    clipstore_release(&cs, 1);
    CHECK(clipstore_prepare_streamed(&cs, 1) == 0 && clipstore_window(&cs, 1, 0, n) == 0);
    CHECK(memcmp(cs.clips[1].pcm, whole, n * sizeof *whole) == 0);
    free(whole);
    clipstore_free(&cs);
    if (saved) setenv("TMPDIR", saved, 1); else unsetenv("TMPDIR");
    free(saved);
}

int main(void)
{
    struct speech *sp = NULL;
    struct speech_settings set = {
        .espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &set) != 0) {
        fprintf(stderr, "espeak-ng unavailable\n");
        return 77;
    }
    bounded(sp);
    streamed(sp);
    no_tmpdir(sp);
    speech_close(sp);
    return test_done();
}
