/* libFuzzer target: bytes -> voice profile -> speech_open with the
 * profile's engine (espeak-ng or flite), voice, settings and lexicon ->
 * one of its phrases synthesized. The one
 * target that reaches espeak-ng: whatever a profile that parses hands it
 * must not crash it, hang it or make it read outside its data (issue 10:
 * "en+" and 40 letters overflowed a buffer in espeak-ng, "../../etc/passwd"
 * was read and then crashed it, "../../dev/zero" spun for ever). Every input
 * gives a clean parse failure, a clean "no such voice", or a handle that
 * speaks within its clip cap. Also built without libFuzzer by replay.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "coach/common.h"
#include "coach/speech.h"
#include "coach/voice.h"
#include "fuzzcheck.h"

#define NAME "fuzz.ini"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct voice v;
    struct coach_diags d;
    diags_init(&d);
    int rc = voice_parse(NAME, (const char *)data, size, &v, &d);
    fuzz_check_diags(&d, NAME, data, size, rc);
    diags_free(&d);
    if (rc) return 0;
    FUZZ_REQUIRE(speech_voice_name_ok(v.espeak_voice), "a profile passed espeak = '%s'",
                 v.espeak_voice);
    /* a short cap: a fuzzed phrase may be a minute of speech */
    struct speech_settings ss = {.espeak_voice = v.espeak_voice, .engine = v.engine,
                                 .lexicon = &v.lexicon, .rate_wpm = v.rate_wpm,
                                 .pitch = v.pitch, .volume = v.volume, .max_clip_s = 5};
    struct speech *sp = NULL;
    rc = speech_open(&sp, &ss);
    FUZZ_REQUIRE(rc == 0 || rc == COACH_ESPEECH, "speech_open('%s') gave %d", v.espeak_voice, rc);
    FUZZ_REQUIRE(!rc == !!sp, "speech_open('%s'): handle and status disagree", v.espeak_voice);
    if (sp) {
        FUZZ_REQUIRE(speech_rate_hz(sp) >= 8000 && speech_rate_hz(sp) <= 48000, "rate %u Hz",
                     speech_rate_hz(sp));
        char *text = voice_format(&v, PH_BEGIN, NULL);
        FUZZ_REQUIRE(text != NULL, "no memory");
        int16_t *pcm = NULL;
        size_t n = 0;
        rc = speech_synth(sp, text, &pcm, &n);
        FUZZ_REQUIRE(rc == 0 || rc == COACH_ETOOLONG, "speech_synth gave %d", rc);
        FUZZ_REQUIRE(n <= (size_t)5 * speech_rate_hz(sp), "%zu frames past the cap", n);
        FUZZ_REQUIRE(!!pcm == !!n, "frames and buffer disagree");
        free(pcm);
        free(text);
        speech_close(sp);
    }
    voice_free(&v);
    return 0;
}
