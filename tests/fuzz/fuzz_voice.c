/* libFuzzer target: bytes -> voice profile parser and validator. Every input
 * must give either a clean failure (messages as fuzz_check_diags wants) or a
 * profile whose every phrase and noun expands with no '{' or '}' left (the
 * validator's promise: a profile can never make the coach say "{secnds}"),
 * and with which a routine using every key plans at every level or fails
 * planning with a message. Also built without libFuzzer by replay.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/routine.h"
#include "coach/voice.h"
#include "fuzzcheck.h"

#define NAME "fuzz.ini"

static struct routine routine;

static void check_expansion(const char *s, const char *what)
{
    FUZZ_REQUIRE(s != NULL, "%s: no memory", what);
    size_t n = strlen(s);
    FUZZ_REQUIRE(!memchr(s, '{', n) && !memchr(s, '}', n), "%s left a brace: %s", what, s);
    FUZZ_REQUIRE(fuzz_utf8_ok((const unsigned char *)s, n), "%s is not UTF-8", what);
}

static void check_voice(const struct voice *v)
{
    FUZZ_REQUIRE(v->espeak_voice && *v->espeak_voice && v->name && v->path,
                 "a loaded profile lacks a name");
    FUZZ_REQUIRE(v->rate_wpm >= 80 && v->rate_wpm <= 450 && v->pitch >= 0 && v->pitch <= 100 &&
                     v->volume >= 0 && v->volume <= 200,
                 "settings out of range");
    /* counts that pick each plural form, and every placeholder filled */
    static const long counts[] = {0, 1, 2, 21, -1};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        long n = counts[c];
        const struct phrase_args a = {.title = "T", .name = "N", .side = "S", .phase = "P",
                                      .text = "X", .n = n, .total = n, .set = n, .sets = n,
                                      .seconds = n, .minutes = n, .reps = n, .cycles = n,
                                      .duration = "D"};
        for (int id = 0; id < PHRASE_COUNT; id++) {
            char *s = voice_format(v, (enum phrase_id)id, &a);
            check_expansion(s, phrase_key((enum phrase_id)id));
            free(s);
        }
        for (int id = 0; id < NOUN_COUNT; id++) {
            char *s = voice_noun(v, (enum noun_id)id, n);
            check_expansion(s, "noun");
            free(s);
        }
    }
}

static void load_routine(void)
{
    struct coach_diags d;
    diags_init(&d);
    const char *path = fuzz_source_path("tests/good/every-key.ini");
    if (routine_load(path, &routine, &d)) {
        diags_print(&d, stderr);
        fprintf(stderr, "fuzz_voice: cannot load %s\n", path);
        abort();
    }
    diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!routine.title) load_routine();
    struct voice v;
    struct coach_diags d;
    diags_init(&d);
    int rc = voice_parse(NAME, (const char *)data, size, &v, &d);
    fuzz_check_diags(&d, NAME, data, size, rc);
    diags_free(&d);
    if (rc) {
        FUZZ_REQUIRE(!v.name && !v.espeak_voice && !v.phrases[0], "a failed parse keeps data");
        return 0;
    }
    FUZZ_REQUIRE(strcmp(v.name, "fuzz") == 0, "profile name '%s'", v.name);
    check_voice(&v);
    fuzz_check_plans(&routine, &v, 48000);
    voice_free(&v);
    return 0;
}
