/* Spoken commands: a keyword spotter over 16 kHz mono speech (pocketsphinx's
 * keyword search). The phrases ("coach pause"), the command each one means
 * and their thresholds are data: voices/listen/<language>.ini (format in
 * that file and in coach(1) FILES). Lives in its own library, coachlisten,
 * so that only coach and its listening tests link pocketsphinx. Not for the
 * audio thread: feeding decodes speech. */
#ifndef COACH_SPOTTER_H
#define COACH_SPOTTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coach/control.h" /* enum ctl_cmd, ctl_from_word */

#define SPOTTER_RATE_HZ 16000

struct spotter;

/* What was heard. */
struct spotter_hit {
    enum ctl_cmd cmd;    /* the command word of the phrase */
    char phrase[64];     /* "coach pause" */
    uint64_t end_sample; /* samples (16 kHz) fed since open when it ended */
};

/* spotter_open's flags. SPOTTER_CANCELLED: the microphone's audio comes
 * through coach's own echo canceller (aec.h), whose residual rule drops
 * what is left of the coach's voice: the listen file's
 * canceller_gaussians then applies (exact scores that hear more voices
 * but would take the coach's own voice, fed straight, for commands), and
 * every threshold is multiplied by canceller_thresholds (more eager). */
#define SPOTTER_CANCELLED 1u

/* Opens the recognizer with the phrases of listen_file (a path to en.ini).
 * 0, or a COACH_E* status with err ("file:line: ...", "pocketsphinx model not
 * found at ...: install pocketsphinx-en-us", ...). */
int spotter_open(struct spotter **out, const char *listen_file, unsigned flags, char *err, size_t err_cap);

/* Feeds 16 kHz mono signed 16-bit samples (any count). Returns 1 with *hit filled
 * when a phrase was spotted in them (the search restarts after it, so one
 * utterance gives one hit), 0 when nothing, <0 (COACH_E*) on failure.
 * When one call's samples hold more than one hit, the later ones are
 * returned by the next calls (n may be 0 to collect them). */
int spotter_feed(struct spotter *s, const int16_t *pcm, size_t n, struct spotter_hit *hit);
/* The same, behind coach's echo canceller (aec.h): pcm is its output,
 * linear (NULL: as spotter_feed) the same samples before its suppression
 * (aec_mic's linear). The search hears pcm; a detection is then read in
 * both (verify() in spotter.c says how one is chosen). */
int spotter_feed_both(struct spotter *s, const int16_t *pcm, const int16_t *linear, size_t n,
                      struct spotter_hit *hit);

/* The answers (the phrases of "pain 0" .. "pain 10", --ask-pain's
 * question) are searched only while on: a question waits for them.
 * Outside it they would only be refused, and these eleven phrases were
 * most of what the coach's own sessions set off (docs/PERFORMANCE.md).
 * Off at open. Takes effect at once, or after a detection waiting for its
 * check. 0, or <0 (COACH_E*) on failure. */
int spotter_answers(struct spotter *s, bool on);

/* 1 with the phrase (into phrase, cap bytes) and its words' level in
 * dBFS when a phrase was refused as quieter than the listen file's
 * floor_dbfs since the last call (the last such), 0 when none: what
 * `--verbose` tells, as a microphone set too low looks like no command. */
int spotter_refused_quiet(struct spotter *s, char *phrase, size_t cap, double *dbfs);

void spotter_close(struct spotter *s);

/* Writes to f, one line each, what the keyword search detects and what
 * the grammar check then hears (phrase, words with their frames, frames
 * per phone, taken or why refused); NULL: nothing (the default). For
 * benchmarks and diagnosis (bench/listen_bench --trace), never coach's
 * own stderr. */
void spotter_trace(struct spotter *s, FILE *f);

/* The listen file for a voice language ("en-us", "de"...), looked up in dir
 * (e.g. the voices directory + "/listen"): writes its path to out and returns 0,
 * or COACH_ENOTFOUND when no file serves that language (spoken commands are
 * English only while Debian ships only the English model).
 * The file's name is the language it serves: en.ini serves "en" and every
 * "en-..." (en-us, en-gb); an espeak-ng variant ("+f3") and a directory
 * ("gmw/") are ignored, case and '_' / '-' do not matter; the most specific
 * file wins (en-gb.ini before en.ini). */
int spotter_find(const char *dir, const char *language, char *out, size_t out_cap);

#endif
