/* Minimal test helpers: CHECK records a failure and goes on, so one run
 * shows every failing assertion; test_done() gives the exit status. */
#ifndef COACH_TESTUTIL_H
#define COACH_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>

extern int test_failures;
extern int test_checks;

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        test_checks++;                                                                      \
        if (!(cond)) {                                                                      \
            test_failures++;                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                                   \
    } while (0)

#define CHECKF(cond, ...)                                                                   \
    do {                                                                                    \
        test_checks++;                                                                      \
        if (!(cond)) {                                                                      \
            test_failures++;                                                                \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

/* Prints "N passed, M failed" and returns the exit status. */
int test_done(void);
/* $COACH_SOURCE_DIR/rel (static buffer rotation of 4). */
const char *test_src_path(const char *rel);
/* A fresh scratch directory under $COACH_TEST_TMP (or /tmp). */
const char *test_tmpdir(const char *name);
/* Writes text as the whole of path (a failure is a CHECK). */
void test_write_file(const char *path, const char *text);
/* Reads a whole file into a heap string (NULL on failure). */
char *test_read_file(const char *path, size_t *len);
/* Number of entries in dir other than . and .. (so hidden temporary files
 * count too), or -1 if it cannot be read. */
int count_entries(const char *dir);

struct timeline;
struct clipstore;
/* Checks what every plan must hold: events sorted and inside the timeline,
 * speech never overlapping and as long as its clip in cs, countdown beeps
 * a whole number of seconds before their final beep, chapters contiguous
 * with each step's own start inside its chapter, the closing words after
 * the last chapter's content, the bell last. */
void test_plan_invariants(const char *name, const struct timeline *tl, const struct clipstore *cs);

/* A clip store that estimates lengths from the texts (no synthesis: the
 * same on every run), for plans in tests. */
void test_estimator(struct clipstore *cs, uint32_t rate_hz);
/* The whole timeline rendered mono in one go, every clip prepared first
 * (call it before a speech thread owns the store): the reference a live
 * session's output is compared with. Heap (free it); failures are CHECKs. */
float *test_render_all(const struct timeline *tl, struct clipstore *cs);

/* Codec tests: n frames (ch channels) of a programme with something at
 * every kind of join: a voice-like tone in words and pauses, hiss, a click
 * every half second. Heap. */
float *test_programme(uint32_t rate, uint32_t ch, uint64_t n);
/* Decoded frames of path (libsndfile) into *out (heap), -1 if unreadable. */
int64_t test_decode(const char *path, float **out);
struct test_err {
    double e2, s2, max;
};
/* Error of y against x over the windows of `half` frames either side of
 * first + k * period (k >= 0). */
struct test_err test_window_err(const float *x, const float *y, uint32_t ch, uint64_t n, int64_t first,
                                int64_t period, int64_t half);
/* 10 log10(v), floored. */
double test_db(double v);
/* Writes x (n frames, ch channels) to path with `workers` encoder threads;
 * 0 or negative. */
typedef int (*test_encode_fn)(const char *path, const float *x, uint32_t rate, uint32_t ch, uint64_t n,
                              unsigned workers);
/* A parallel writer's common checks: x encoded with 1, 2 and 3 workers
 * into dir/wK-RATE-CH-N.ext gives the same bytes, and decodes to exactly n
 * frames. The decoded frames (heap), or NULL when they are not n. */
float *test_par_encodes(const char *dir, const char *ext, test_encode_fn enc, const float *x,
                        uint32_t rate, uint32_t ch, uint64_t n);

#endif
