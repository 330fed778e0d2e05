/* The clip store's memory does not grow with the routine's length: the
 * synthesized sources go to the spill store (an unlinked temporary file),
 * so adding clips adds only their records and texts to the heap; a clip is
 * read back whole when prepared; with no usable $TMPDIR the store still
 * works (in memory). */
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
    no_tmpdir(sp);
    speech_close(sp);
    return test_done();
}
