/* Whether espeak-ng's output of a sentence depends on what it said before
 * in the same process (not a test: docs/PERFORMANCE.md, "espeak-ng's
 * state dependence"). Says TARGET alone, then after each CONTEXT, and
 * prints the length in samples and a hash of the samples each time; with
 * --reset, calls espeak_ng_Cancel, espeak_ng_Initialize and
 * espeak_ng_InitializeOutput again and chooses the voice again before
 * every utterance.
 *
 *   espeak_flutter [--voice V] [--reset] TARGET CONTEXT...
 *
 * Written with the espeak-ng API directly (not coach's speech.h) so that
 * nothing of coach's own sits between the calls. Built by CMake (target
 * espeak_flutter, not installed). */
#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static long n_samples;
static uint64_t hash;

static int on_audio(short *wav, int n, espeak_EVENT *ev)
{
    (void)ev;
    for (int i = 0; wav && i < n; i++, n_samples++) hash = hash * 31 + (uint16_t)wav[i];
    return 0;
}

static int open_voice(const char *voice)
{
    espeak_ng_ERROR_CONTEXT ctx = NULL;
    if (espeak_ng_Initialize(&ctx) != ENS_OK ||
        espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, NULL) != ENS_OK)
        return 1;
    espeak_SetSynthCallback(on_audio);
    return espeak_ng_SetVoiceByName(voice) != ENS_OK;
}

static int say(const char *text, const char *voice, bool reset)
{
    if (reset && (espeak_ng_Cancel() != ENS_OK || open_voice(voice))) return 1;
    n_samples = 0;
    hash = 0;
    return espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, NULL) !=
           ENS_OK;
}

int main(int argc, char **argv)
{
    const char *voice = "en-us";
    bool reset = false;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--reset") == 0)
            reset = true;
        else if (strcmp(argv[i], "--voice") == 0 && i + 1 < argc)
            voice = argv[++i];
        else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: espeak_flutter [--voice V] [--reset] TARGET CONTEXT...\n");
        return 2;
    }
    espeak_ng_InitializePath(NULL);
    if (open_voice(voice)) {
        fprintf(stderr, "espeak_flutter: cannot open espeak-ng with the voice %s\n", voice);
        return 1;
    }
    const char *target = argv[i];
    if (say(target, voice, reset)) return 1;
    printf("alone: %ld samples, hash %016llx\n", n_samples, (unsigned long long)hash);
    for (int k = i + 1; k < argc; k++) {
        if (say(argv[k], voice, reset) || say(target, voice, reset)) return 1;
        printf("after \"%s\": %ld samples, hash %016llx\n", argv[k], n_samples, (unsigned long long)hash);
    }
    return 0;
}
