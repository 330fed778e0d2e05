/* The voices benchmark (bench/voices_bench.sh runs it; not installed):
 * for each engine:voice given, over the phrases read from a file (one a
 * line), the synthesis speed (seconds of speech per second of work, "x
 * real time"), the first-phrase latency (opening the voice and making its
 * first phrase, as a session's first words wait for both), and the word
 * error rate of an independent recognizer (pocketsphinx, its generic US
 * English model and language model, no grammar of ours): a proxy for how
 * natural the voice sounds, not for whether a person understands it.
 *
 *   voices_bench PHRASES espeak-ng:en-us flite:slt ...
 *
 * One line per voice: engine, voice, phrases, audio s, synth s, x real
 * time, first-phrase ms, words, errors, WER %. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coach/common.h"
#include "coach/resample.h"
#include "coach/speech.h"

#ifndef COACH_PS_MODELDIR
#define COACH_PS_MODELDIR "/usr/share/pocketsphinx/model"
#endif
#define MAX_WORDS 256

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "23" as the recognizer writes it: "twenty three" (0-999). */
static void number_words(long n, char *out, size_t cap)
{
    static const char *const ones[] = {"zero", "one", "two", "three", "four", "five", "six",
                                       "seven", "eight", "nine", "ten", "eleven", "twelve",
                                       "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                                       "eighteen", "nineteen"};
    static const char *const tens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty",
                                       "seventy", "eighty", "ninety"};
    out[0] = 0;
    if (n >= 100) {
        snprintf(out, cap, "%s hundred ", ones[n / 100 % 10]);
        n %= 100;
        if (!n) return;
    }
    size_t o = strlen(out);
    if (n < 20)
        snprintf(out + o, cap - o, "%s", ones[n]);
    else if (n % 10)
        snprintf(out + o, cap - o, "%s %s", tens[n / 10], ones[n % 10]);
    else
        snprintf(out + o, cap - o, "%s", tens[n / 10]);
}

/* Lower-case words of text (letters and apostrophes; numbers as words). */
static size_t words_of(const char *text, char w[][32], size_t max)
{
    size_t n = 0;
    for (const char *p = text; *p && n < max;) {
        if (isdigit((unsigned char)*p)) {
            char num[96];
            number_words(strtol(p, (char **)&p, 10) % 1000, num, sizeof num);
            for (char *t = strtok(num, " "); t && n < max; t = strtok(NULL, " "))
                snprintf(w[n++], 32, "%s", t);
            continue;
        }
        if (!isalpha((unsigned char)*p) && *p != '\'') {
            p++;
            continue;
        }
        size_t k = 0;
        while ((isalpha((unsigned char)*p) || *p == '\'') && k < 31)
            w[n][k++] = (char)tolower((unsigned char)*p++);
        while (isalpha((unsigned char)*p) || *p == '\'') p++;
        w[n][k] = 0;
        if (strcmp(w[n], "'") != 0) n++;
    }
    return n;
}

/* Word-level edit distance (substitutions, insertions, deletions). */
static size_t edits(char a[][32], size_t na, char b[][32], size_t nb)
{
    static size_t d[MAX_WORDS + 1][MAX_WORDS + 1];
    for (size_t i = 0; i <= na; i++) d[i][0] = i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            size_t s = d[i - 1][j - 1] + (strcmp(a[i - 1], b[j - 1]) != 0);
            size_t x = d[i - 1][j] + 1, y = d[i][j - 1] + 1;
            d[i][j] = s < x ? (s < y ? s : y) : (x < y ? x : y);
        }
    return d[na][nb];
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: voices_bench PHRASES ENGINE:VOICE...\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char **phrase = NULL;
    size_t n_phrase = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!*line) continue;
        phrase = realloc(phrase, (n_phrase + 1) * sizeof *phrase);
        phrase[n_phrase++] = coach_strdup(line);
    }
    fclose(f);

    err_set_logfp(NULL);
    cmd_ln_t *config = cmd_ln_init(
        NULL, ps_args(), TRUE, "-hmm", COACH_PS_MODELDIR "/en-us/en-us", "-lm",
        COACH_PS_MODELDIR "/en-us/en-us.lm.bin", "-dict",
        COACH_PS_MODELDIR "/en-us/cmudict-en-us.dict", "-samprate", "16000", NULL);
    ps_decoder_t *ps = config ? ps_init(config) : NULL;
    if (!ps) {
        fprintf(stderr, "pocketsphinx: no model in %s\n", COACH_PS_MODELDIR);
        return 1;
    }
    printf("engine\tvoice\tphrases\taudio_s\tsynth_s\tx_realtime\tfirst_ms\twords\terrors\twer_pct\n");
    for (int a = 2; a < argc; a++) {
        char eng[32], voice[64];
        if (sscanf(argv[a], "%31[^:]:%63s", eng, voice) != 2) continue;
        struct speech_settings ss = {.espeak_voice = voice, .rate_wpm = 160, .pitch = 45,
                                     .volume = 100};
        if (speech_engine_parse(eng, &ss.engine)) {
            fprintf(stderr, "unknown engine %s\n", eng);
            continue;
        }
        double t0 = now_s();
        struct speech *sp = NULL;
        int rc = speech_open(&sp, &ss);
        if (rc) {
            char why[512];
            speech_explain(rc, voice, argv[a], why, sizeof why);
            printf("%s\t%s\tunavailable: %s\n", eng, voice, why);
            continue;
        }
        double first_ms = -1, synth_s = 0, audio_s = 0;
        size_t words = 0, errors = 0;
        uint32_t hz = speech_rate_hz(sp);
        for (size_t i = 0; i < n_phrase; i++) {
            int16_t *pcm = NULL;
            size_t n = 0;
            double s0 = now_s();
            if (speech_synth(sp, phrase[i], &pcm, &n)) continue;
            double s1 = now_s();
            if (first_ms < 0) first_ms = (s1 - t0) * 1000;
            synth_s += s1 - s0;
            audio_s += (double)n / hz;
            /* the recognizer hears 16 kHz, with a little silence around */
            size_t m = resample_out_len(n, hz, 16000);
            float *fl = malloc((m + 1) * sizeof *fl);
            int16_t *in = calloc(m + 3200, sizeof *in);
            if (fl && in && !resample_i16_to_f32(pcm, n, hz, fl, m, 16000))
                for (size_t k = 0; k < m; k++) {
                    float x = fl[k] * 32767.0f;
                    in[1600 + k] = (int16_t)(x > 32767 ? 32767 : x < -32768 ? -32768 : x);
                }
            ps_start_utt(ps);
            ps_process_raw(ps, in, m + 3200, FALSE, TRUE);
            ps_end_utt(ps);
            const char *hyp = ps_get_hyp(ps, NULL);
            static char ref_w[MAX_WORDS][32], hyp_w[MAX_WORDS][32];
            size_t nr = words_of(phrase[i], ref_w, MAX_WORDS);
            size_t nh = words_of(hyp ? hyp : "", hyp_w, MAX_WORDS);
            words += nr;
            errors += edits(ref_w, nr, hyp_w, nh);
            free(fl);
            free(in);
            free(pcm);
        }
        printf("%s\t%s\t%zu\t%.1f\t%.2f\t%.0f\t%.0f\t%zu\t%zu\t%.1f\n", eng, voice, n_phrase,
               audio_s, synth_s, synth_s > 0 ? audio_s / synth_s : 0, first_ms, words, errors,
               words ? 100.0 * (double)errors / (double)words : 0);
        fflush(stdout);
        speech_close(sp);
    }
    ps_free(ps);
    for (size_t i = 0; i < n_phrase; i++) free(phrase[i]);
    free(phrase);
    return 0;
}
