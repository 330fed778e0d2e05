/* Checks shared by the fuzz targets (fuzz_routine.c, fuzz_voice.c). A
 * broken property prints what broke and aborts: libFuzzer reports that as a
 * crash and saves the input, and the replay test (replay.c) fails on it in
 * every normal build. Plans use a deterministic length per text (the
 * planner's clip estimator), so no espeak-ng is needed. */
#ifndef COACH_FUZZCHECK_H
#define COACH_FUZZCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "coach/diag.h"
#include "coach/routine.h"
#include "coach/voice.h"

#define FUZZ_REQUIRE(cond, ...)                                                             \
    do {                                                                                    \
        if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                     \
    } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* $source/rel, with the source directory fixed at build time. */
const char *fuzz_source_path(const char *rel);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int fuzz_utf8_ok(const unsigned char *s, size_t n);

/* What a parser must report about the text data[0..size) it was given as
 * name: rc is 0 exactly when there is no message; every message names the
 * file, has a line within the text and is non-empty UTF-8 on one line. */
void fuzz_check_diags(const struct coach_diags *d, const char *name, const uint8_t *data,
                      size_t size, int rc);

/* Plans r with v at every level, and the title and intro prefixes; a plan
 * either fails with COACH_EPLAN and a message or holds every invariant of
 * test_plan_invariants, and each prefix is the start of the full plan. The
 * dumps are made too and must be clean UTF-8. */
void fuzz_check_plans(const struct routine *r, const struct voice *v, uint32_t rate_hz);

#endif
