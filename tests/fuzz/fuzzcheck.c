/* The properties every fuzz target checks: what a parser's messages must
 * look like, and what every plan and its prefixes must hold. */
#define _POSIX_C_SOURCE 200809L
#include "fuzzcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/plan.h"
#include "testutil.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "%s:%d: fuzz check failed: %s: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

const char *fuzz_source_path(const char *rel)
{
    static char buf[4][4096];
    static unsigned k;
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", COACH_FUZZ_SOURCE_DIR, rel);
    return b;
}

int fuzz_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], lo = 0x80, hi = 0xBF;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            k = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            k = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            k = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else
            return 0;
        if (i + k >= n) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t j = 2; j <= k; j++)
            if (s[i + j] < 0x80 || s[i + j] > 0xBF) return 0;
        i += k + 1;
    }
    return 1;
}

void fuzz_check_diags(const struct coach_diags *d, const char *name, const uint8_t *data,
                      size_t size, int rc)
{
    FUZZ_REQUIRE(rc == 0 || rc == COACH_EINVAL, "rc %d", rc);
    size_t warnings = diags_warnings(d), errors = d->len - warnings;
    FUZZ_REQUIRE((rc == 0) == (errors == 0), "rc %d with %zu errors", rc, errors);
    /* the reader's caps: at most INI_LINES_MAX_ERRORS, then "too many
     * errors"; at most as many warnings */
    FUZZ_REQUIRE(errors <= INI_LINES_MAX_ERRORS + 1, "%zu errors", errors);
    FUZZ_REQUIRE(warnings <= INI_LINES_MAX_ERRORS, "%zu warnings", warnings);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    for (size_t i = 0; i < d->len; i++) {
        const struct coach_diag *x = &d->items[i];
        size_t n = strlen(x->msg);
        FUZZ_REQUIRE(strcmp(x->file, name) == 0, "message names '%s'", x->file);
        FUZZ_REQUIRE(x->line >= 0 && (size_t)x->line <= lines, "line %d of %zu: %s", x->line,
                     lines, x->msg);
        FUZZ_REQUIRE(n > 0, "empty message on line %d", x->line);
        FUZZ_REQUIRE(!memchr(x->msg, '\n', n), "line break in message: %s", x->msg);
        FUZZ_REQUIRE(fuzz_utf8_ok((const unsigned char *)x->msg, n), "bad UTF-8 in message: %s",
                     x->msg);
    }
}

/* A dump must be clean UTF-8 text; the JSON one has no raw control byte. */
static void check_dumps(const struct timeline *tl, const struct clipstore *cs,
                        const struct routine *r)
{
    for (int json = 0; json < 2; json++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        FUZZ_REQUIRE(f != NULL, "open_memstream failed");
        if (json)
            plan_dump_json(tl, cs, r, f);
        else
            plan_dump_text(tl, cs, r, f);
        FUZZ_REQUIRE(fclose(f) == 0, "cannot write the dump");
        FUZZ_REQUIRE(fuzz_utf8_ok((const unsigned char *)buf, len), "bad UTF-8 in the %s dump",
                     json ? "JSON" : "text");
        for (size_t i = 0; json && i < len; i++)
            FUZZ_REQUIRE((unsigned char)buf[i] >= 0x20 || buf[i] == '\n',
                         "raw control byte 0x%02x in the JSON dump", (unsigned char)buf[i]);
        free(buf);
    }
}

static const char *clip_text(const struct clipstore *cs, const struct event *e)
{
    const char *t = e->kind == EV_SPEECH ? clipstore_text(cs, e->clip) : NULL;
    return t ? t : "";
}

/* The prefix plan's events are exactly the first events of the full plan. */
static void check_prefix(const struct timeline *pre, const struct timeline *full,
                         const struct clipstore *cs, enum plan_part part)
{
    FUZZ_REQUIRE(pre->n_ev <= full->n_ev, "part %d has %zu events, the full plan %zu", part,
                 pre->n_ev, full->n_ev);
    for (size_t i = 0; i < pre->n_ev; i++) {
        const struct event *a = &pre->ev[i], *b = &full->ev[i];
        FUZZ_REQUIRE(a->frame == b->frame && a->len_frames == b->len_frames &&
                         a->kind == b->kind && strcmp(clip_text(cs, a), clip_text(cs, b)) == 0,
                     "part %d event %zu differs from the full plan", part, i);
    }
    FUZZ_REQUIRE(pre->len_frames <= full->len_frames, "part %d is longer than the full plan",
                 part);
}

void fuzz_check_plans(const struct routine *r, const struct voice *v, uint32_t rate_hz)
{
    struct clipstore est;
    test_estimator(&est, rate_hz);
    static const enum level levels[] = {LEVEL_EASY, LEVEL_MEDIUM, LEVEL_HARD};
    for (size_t i = 0; i < 3; i++) {
        struct plan_opts o = {.rate_hz = rate_hz, .level = levels[i], .part = PLAN_FULL};
        struct timeline full;
        char err[1024];
        int rc = plan_build(r, v, &est, &o, &full, err, sizeof err);
        FUZZ_REQUIRE(rc == 0 || rc == COACH_EPLAN, "plan_build: %d (%s)", rc, err);
        /* collecting every misfit (coach check) fails exactly when the
         * first one fails, and then lists at least one, each at a line */
        struct coach_diags probs;
        diags_init(&probs);
        struct plan_opts all = o;
        all.problems = &probs;
        struct timeline tl2;
        char err2[1024];
        int rc2 = plan_build(r, v, &est, &all, &tl2, err2, sizeof err2);
        FUZZ_REQUIRE((rc2 == 0) == (rc == 0) && (rc2 == 0 || rc2 == COACH_EPLAN),
                     "collecting: %d, first only: %d (%s)", rc2, rc, err2);
        if (!rc2) timeline_free(&tl2);
        for (size_t k = 0; k < probs.len; k++)
            FUZZ_REQUIRE(probs.items[k].line >= 0 && probs.items[k].msg[0], "empty problem");
        diags_free(&probs);
        if (rc) {
            FUZZ_REQUIRE(err[0] && full.n_ev == 0 && full.ev == NULL,
                         "a failed plan has no message or keeps events");
            continue;
        }
        FUZZ_REQUIRE(full.len_frames <= frames_from_ms(PLAN_MAX_SESSION_MS, rate_hz),
                     "a plan of %llu frames", (unsigned long long)full.len_frames);
        int before = test_failures;
        test_plan_invariants(level_name(levels[i]), &full, &est);
        FUZZ_REQUIRE(test_failures == before, "plan invariants broken at level %s",
                     level_name(levels[i]));
        if (i == 0) {
            for (enum plan_part part = PLAN_TITLE; part <= PLAN_INTRO; part++) {
                struct timeline pre;
                o.part = part;
                rc = plan_build(r, v, &est, &o, &pre, err, sizeof err);
                FUZZ_REQUIRE(rc == 0, "part %d: %d (%s)", part, rc, err);
                check_prefix(&pre, &full, &est, part);
                timeline_free(&pre);
            }
            check_dumps(&full, &est, r);
        }
        timeline_free(&full);
    }
    clipstore_free(&est);
}
