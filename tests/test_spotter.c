/* The spoken-command spotter (issue 11): its data file's errors come as
 * file:line; spotter_find serves English voices only; each of the ten
 * commands spoken by a voice that is not the coach's (flite's slt,
 * synthesized now: skipped without flite) is heard as that command, and
 * the coach's own speech (an export of routines/warm-up.ini at 16 kHz)
 * gives no hit; espeak-ng's "coach stop" is heard through the listen
 * file's [pronounce]; behind coach's canceller, a command the canceller's
 * suppression bent is read as said in its linear filter's output. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coach/catalog.h"
#include "coach/common.h"
#include "coach/export.h"
#include "coach/resample.h"
#include "coach/session.h"
#include "coach/spotter.h"
#include "testutil.h"

static const char *tmp;
static uint64_t fed_total; /* samples fed to the spotter so far */

static const char *put(const char *name, const char *text)
{
    static char path[4][4096];
    static int k;
    char *p = path[k++ & 3];
    snprintf(p, sizeof path[0], "%s/%s", tmp, name);
    FILE *f = fopen(p, "w");
    CHECKF(f != NULL, "cannot write %s", p);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

#define HEAD "[listen]\nmodel = en-us/en-us\ndict = en-us/cmudict-en-us.dict\n[commands]\n"

/* A listen file with body must fail with rc and a message that starts
 * "path:line: " and holds want. */
static void bad(const char *name, const char *body, int rc_want, int line, const char *want)
{
    const char *p = put(name, body);
    struct spotter *s = NULL;
    char err[512] = "";
    int rc = spotter_open(&s, p, 0, err, sizeof err);
    CHECKF(rc == rc_want && s == NULL, "%s: rc %d (want %d)", name, rc, rc_want);
    char prefix[4200];
    if (line)
        snprintf(prefix, sizeof prefix, "%s:%d: ", p, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", p);
    CHECKF(strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, want), "%s: '%s' (want '%s' ... '%s')",
           name, err, prefix, want);
    if (s) spotter_close(s);
}

static void test_errors(void)
{
    bad("word.ini", HEAD "coach pause = pause 1e-30\ncoach pause now = hop 1e-30\n", COACH_EINVAL, 6,
        "'hop 1e-30' is not a command");
    bad("bare.ini", HEAD "pause = pause 1e-30\n", COACH_EINVAL, 5, "wake word");
    bad("nothr.ini", HEAD "coach pause = pause\n", COACH_EINVAL, 5, "needs a threshold");
    bad("bigthr.ini", HEAD "coach pause = pause 2\n", COACH_EINVAL, 5, "needs a threshold");
    bad("junk.ini", HEAD "coach pause = pause 1e-30 x\n", COACH_EINVAL, 5, "unexpected 'x'");
    /* "pain N": the one command of two words */
    bad("painthr.ini", HEAD "coach pain three = pain 3\n", COACH_EINVAL, 5, "needs a threshold");
    bad("pain11.ini", HEAD "coach pain eleven = pain 11 1e-20\n", COACH_EINVAL, 5, "is not a command");
    bad("painjunk.ini", HEAD "coach pain two = pain 2 1e-20 x\n", COACH_EINVAL, 5, "unexpected 'x'");
    bad("painbare.ini", HEAD "coach pain = pain 1e-20\n", COACH_EINVAL, 5, "is not a command");
    bad("chars.ini", HEAD "coach pa-use = pause 1e-30\n", COACH_EINVAL, 5, "letters a-z");
    bad("dup.ini", HEAD "coach pause = pause 1e-30\ncoach  Pause = stop 1e-20\n", COACH_EINVAL, 6,
        "duplicate phrase 'coach pause' (first on line 5)");
    bad("section.ini", HEAD "coach pause = pause 1e-30\n[extra]\nx = y\n", COACH_EINVAL, 6,
        "unknown section [extra]");
    bad("key.ini", "[listen]\nmodel = en-us/en-us\nlang = en\n", COACH_EINVAL, 3, "unknown key 'lang'");
    bad("plp.ini", "[listen]\nmodel = en-us/en-us\nphone_loop = 2\n", COACH_EINVAL, 3,
        "phone_loop must be a probability above 0 and at most 1");
    bad("plp0.ini", "[listen]\nphone_loop = 0\n", COACH_EINVAL, 2, "phone_loop must be");
    bad("plpx.ini", "[listen]\nphone_loop = 1e-2x\n", COACH_EINVAL, 2, "phone_loop must be");
    bad("plpdup.ini", "[listen]\nphone_loop = 1e-2\nphone_loop = 1e-1\n", COACH_EINVAL, 3,
        "duplicate key 'phone_loop' (first on line 2)");
    bad("g0.ini", "[listen]\ngaussians = 0\n", COACH_EINVAL, 2, "gaussians must be a whole number from 1 to 64");
    bad("g65.ini", "[listen]\ngaussians = 65\n", COACH_EINVAL, 2, "gaussians must be");
    bad("gx.ini", "[listen]\ngaussians = 8x\n", COACH_EINVAL, 2, "gaussians must be");
    bad("cg65.ini", "[listen]\ncanceller_gaussians = 65\n", COACH_EINVAL, 2,
        "canceller_gaussians must be a whole number from 1 to 64");
    bad("cgdup.ini", "[listen]\ncanceller_gaussians = 8\ncanceller_gaussians = 16\n", COACH_EINVAL, 3,
        "duplicate key 'canceller_gaussians' (first on line 2)");
    bad("gdup.ini", "[listen]\ngaussians = 8\ngaussians = 16\n", COACH_EINVAL, 3,
        "duplicate key 'gaussians' (first on line 2)");
    bad("floor0.ini", "[listen]\nfloor_dbfs = 0\n", COACH_EINVAL, 2,
        "floor_dbfs must be a level in dBFS from -96 to below 0");
    bad("floorlow.ini", "[listen]\nfloor_dbfs = -97\n", COACH_EINVAL, 2, "floor_dbfs must be");
    bad("floorx.ini", "[listen]\nfloor_dbfs = -60dB\n", COACH_EINVAL, 2, "floor_dbfs must be");
    bad("ctzero.ini", "[listen]\ncanceller_thresholds = 0\n", COACH_EINVAL, 2,
        "canceller_thresholds must be a factor above 0 and at most 1");
    bad("ctbig.ini", "[listen]\ncanceller_thresholds = 2\n", COACH_EINVAL, 2, "canceller_thresholds must be");
    bad("ctx.ini", "[listen]\ncanceller_thresholds = 1e-5x\n", COACH_EINVAL, 2, "canceller_thresholds must be");
    bad("floordup.ini", "[listen]\nfloor_dbfs = -60\nfloor_dbfs = -50\n", COACH_EINVAL, 3,
        "duplicate key 'floor_dbfs' (first on line 2)");
    bad("empty.ini", "[listen]\nmodel = en-us/en-us\ndict = en-us/cmudict-en-us.dict\n", COACH_EINVAL, 0,
        "no phrase in [commands]");
    bad("answers.ini", HEAD "coach pain one = pain 1 1e-20\n", COACH_EINVAL, 0, "but answers");
    bad("nodict.ini", "[listen]\nmodel = en-us/en-us\n[commands]\ncoach pause = pause 1e-30\n", COACH_EINVAL, 0,
        "no 'dict'");
    bad("unknown.ini", HEAD "coach pause = pause 1e-30\ncoach zorbflux = stop 1e-30\n", COACH_EINVAL, 6,
        "'zorbflux' is not in the dictionary");
    /* [pronounce]: more pronunciations of the phrases' words */
    bad("pron.ini", HEAD "coach pause = pause 1e-30\n[pronounce]\ncoach = t ow ch\n", COACH_EINVAL, 7,
        "'t ow ch' is not a pronunciation");
    bad("pronw.ini", HEAD "coach pause = pause 1e-30\n[pronounce]\nco-ach = T OW CH\n", COACH_EINVAL, 7,
        "a word of letters");
    bad("pronx.ini", HEAD "coach pause = pause 1e-30\n[pronounce]\nzebra = Z IY B R AH\n", COACH_EINVAL, 7,
        "'zebra' is not a word of the phrases");
    /* every combination of the words' pronunciations is searched: 5^4 > 256 */
    bad("pronmany.ini",
        HEAD "coach pause pause pause pause = pause 1e-30\n[pronounce]\npause = P AA Z\npause = P OW Z\npause = P AH Z\npause = P AO S\n",
        COACH_EINVAL, 5, "'coach pause pause pause pause' has more than 256 pronunciations to search");
    bad("pronf.ini", HEAD "coach pause = pause 1e-30\n[pronounce]\ncoach = T OW CH 0.5\n", COACH_EINVAL, 7,
        "the factor after the phones must be a number of at least 1");
    /* no model: said with the package to install */
    const char *p = put("model.ini", "[listen]\nmodel = /nonexistent/en-us\ndict = en-us/cmudict-en-us.dict\n"
                                     "[commands]\ncoach pause = pause 1e-30\n");
    struct spotter *s = NULL;
    char err[512] = "";
    CHECK(spotter_open(&s, p, 0, err, sizeof err) == COACH_ENOTFOUND && !s);
    CHECKF(strstr(err, "model not found at /nonexistent/en-us") && strstr(err, "install pocketsphinx-en-us"),
           "%s", err);
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none.ini", tmp);
    CHECK(spotter_open(&s, missing, 0, err, sizeof err) == COACH_ENOTFOUND && !s);
    CHECKF(strstr(err, "none.ini") != NULL, "%s", err);
}

static void test_find(void)
{
    const char *dir = test_src_path("voices/listen");
    char want[4200], out[4200];
    snprintf(want, sizeof want, "%s/en.ini", dir);
    const char *yes[] = {"en-us", "en-gb", "en", "EN_us", "en-us+f3", "gmw/en-GB-x-rp"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        out[0] = 0;
        int rc = spotter_find(dir, yes[i], out, sizeof out);
        CHECKF(rc == 0 && strcmp(out, want) == 0, "%s: rc %d '%s'", yes[i], rc, out);
    }
    const char *no[] = {"de", "es", "fr", "pt-br", "", "e", "eng", "..", "en.", "-en"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        CHECKF(spotter_find(dir, no[i], out, sizeof out) == COACH_ENOTFOUND, "%s", no[i]);
    CHECK(spotter_find(dir, "en-us", out, 8) == COACH_ENOTFOUND); /* does not fit */
    /* the most specific file wins */
    put("en.ini", "x");
    put("en-gb.ini", "x");
    snprintf(want, sizeof want, "%s/en-gb.ini", tmp);
    CHECK(spotter_find(tmp, "en-gb", out, sizeof out) == 0 && strcmp(out, want) == 0);
    snprintf(want, sizeof want, "%s/en.ini", tmp);
    CHECK(spotter_find(tmp, "en-us", out, sizeof out) == 0 && strcmp(out, want) == 0);
}

/* voices/listen/ holds no voice profile: the catalog (and so `coach
 * voices`, --voice) never offers it or its file. */
static void test_catalog(void)
{
    char **names, **paths;
    size_t n;
    CHECK(catalog_list(CATALOG_VOICES, &names, &paths, &n) == 0);
    int en_us = 0;
    for (size_t i = 0; i < n; i++) {
        CHECKF(strcmp(names[i], "listen") != 0 && !strstr(paths[i], "/listen/"), "%s: %s", names[i], paths[i]);
        en_us += strcmp(names[i], "en-us") == 0;
    }
    CHECK(en_us == 1);
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    char *p = NULL;
    CHECK(catalog_find(CATALOG_VOICES, "listen", &p) == COACH_ENOTFOUND && !p);
    free(p);
}

/* Reads a 16 kHz mono file into a heap array. */
static int16_t *read_16k(const char *path, size_t *n)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) return NULL;
    int16_t *pcm = NULL;
    if (info.samplerate == SPOTTER_RATE_HZ && info.channels == 1 && info.frames > 0) {
        pcm = malloc((size_t)info.frames * sizeof *pcm);
        if (pcm) *n = (size_t)sf_readf_short(f, pcm, info.frames);
    }
    sf_close(f);
    return pcm;
}

/* Feeds pcm in 100 ms blocks (with linear: spotter_feed_both); counts
 * the hits and keeps the first. */
static int feed_both_all(struct spotter *s, const int16_t *pcm, const int16_t *linear, size_t n,
                         struct spotter_hit *first)
{
    int hits = 0;
    struct spotter_hit h;
    for (size_t at = 0; at < n; at += 1600) {
        size_t len = n - at < 1600 ? n - at : 1600;
        int rc = spotter_feed_both(s, pcm + at, linear ? linear + at : NULL, len, &h);
        while (rc == 1) {
            if (!hits++ && first) *first = h;
            rc = spotter_feed_both(s, NULL, NULL, 0, &h);
        }
        CHECK(rc == 0);
        if (rc < 0) break;
    }
    return hits;
}

/* The same without linear, the samples counted in fed_total. */
static int feed_all(struct spotter *s, const int16_t *pcm, size_t n, struct spotter_hit *first)
{
    fed_total += n;
    return feed_both_all(s, pcm, NULL, n, first);
}

static int have_flite(void)
{
    int rc = system("flite -lv >/dev/null 2>&1");
    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

static const struct {
    const char *said, *phrase;
    enum ctl_cmd cmd;
} commands[] = {
    {"coach pause", "coach pause", CTL_PAUSE},
    {"coach continue", "coach continue", CTL_RESUME},
    {"coach next", "coach next", CTL_NEXT},
    {"coach back", "coach back", CTL_BACK},
    {"coach previous", "coach previous", CTL_PREVIOUS},
    {"coach repeat", "coach repeat", CTL_REPEAT},
    {"coach where am I", "coach where am i", CTL_WHERE},
    {"coach louder", "coach louder", CTL_VOLUME_UP},
    {"coach softer", "coach softer", CTL_VOLUME_DOWN},
    {"coach stop", "coach stop", CTL_STOP},
    {"coach done", "coach done", CTL_DONE},
    {"coach it hurts", "coach it hurts", CTL_HURT},
    {"coach pain seven", "coach pain seven", (enum ctl_cmd)(CTL_PAIN_0 + 7)},
    {"coach pain ten", "coach pain ten", CTL_PAIN_10},
};

/* Each command, said by flite's slt between half-seconds of silence, is
 * heard once, as itself, ending inside the utterance; an answer ("coach
 * pain seven") only while answers are listened for (a question waits),
 * never outside (pass 1). */
static void test_commands(struct spotter *s)
{
    for (size_t k = 0; k < sizeof commands / sizeof *commands + 2; k++) {
        bool outside = k >= sizeof commands / sizeof *commands;
        size_t i = outside ? sizeof commands / sizeof *commands - 2 + (k - sizeof commands / sizeof *commands) : k;
        CHECK(spotter_answers(s, CTL_IS_PAIN(commands[i].cmd) && !outside) == 0);
        char wav[4200], cmd[8600];
        snprintf(wav, sizeof wav, "%s/cmd%zu.wav", tmp, i);
        snprintf(cmd, sizeof cmd, "flite -voice slt -t '%s' -o '%s'", commands[i].said, wav);
        CHECKF(system(cmd) == 0, "%s", cmd);
        size_t n = 0;
        int16_t *speech = read_16k(wav, &n);
        CHECKF(speech != NULL, "%s: not 16 kHz mono", wav);
        if (!speech) continue;
        size_t pad = SPOTTER_RATE_HZ / 2, total = pad + n + pad;
        int16_t *pcm = calloc(total, sizeof *pcm);
        memcpy(pcm + pad, speech, n * sizeof *pcm);
        struct spotter_hit h = {0};
        uint64_t fed = fed_total;
        int hits = feed_all(s, pcm, total, &h);
        if (outside) {
            CHECKF(hits == 0, "'%s' with no question waiting: %d hits, the first '%s'", commands[i].said, hits,
                   h.phrase);
            free(pcm);
            free(speech);
            continue;
        }
        CHECKF(hits == 1, "'%s': %d hits", commands[i].said, hits);
        if (hits >= 1) {
            CHECKF(h.cmd == commands[i].cmd && strcmp(h.phrase, commands[i].phrase) == 0,
                   "'%s' heard as '%s'", commands[i].said, h.phrase);
            CHECKF(h.end_sample > fed + pad && h.end_sample <= fed + total, "'%s' ends at %llu, not in %llu..%llu",
                   commands[i].said, (unsigned long long)h.end_sample, (unsigned long long)(fed + pad),
                   (unsigned long long)(fed + total));
        }
        free(pcm);
        free(speech);
    }
}

static int have_espeak(void)
{
    int rc = system("espeak-ng --version >/dev/null 2>&1");
    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

/* flite's kal16 says the ten commands of bench/listen_bench.sh, each at
 * two rates, between seconds of silence, to a spotter of its own: each is
 * heard as itself. Its "coach softer" was heard as "coach stop": the
 * keyword search finds "coach stop" in its first half, and the grammar,
 * given the audio 300 ms after that detection, had half of "softer"; it
 * now waits for the end of the speech. */
static void test_whole_phrase(const char *listen_file)
{
    struct spotter *s = NULL;
    char err[512] = "";
    CHECKF(spotter_open(&s, listen_file, 0, err, sizeof err) == 0 && s, "spotter_open: %s", err);
    if (!s) return;
    static const char *stretch[] = {"", "--setf duration_stretch=1.25"};
    for (size_t i = 0; i < 10; i++)
        for (size_t r = 0; r < 2; r++) {
            char wav[4200], cmd[8600];
            snprintf(wav, sizeof wav, "%s/kal16-%zu-%zu.wav", tmp, i, r);
            snprintf(cmd, sizeof cmd, "flite -voice kal16 %s -t '%s' -o '%s'", stretch[r], commands[i].said, wav);
            CHECKF(system(cmd) == 0, "%s", cmd);
            size_t n = 0;
            int16_t *speech = read_16k(wav, &n);
            CHECKF(speech != NULL, "%s: not 16 kHz mono", wav);
            if (!speech) continue;
            size_t pad = SPOTTER_RATE_HZ, total = pad + n + pad;
            int16_t *pcm = calloc(total, sizeof *pcm);
            memcpy(pcm + pad, speech, n * sizeof *pcm);
            struct spotter_hit h = {0};
            int hits = feed_all(s, pcm, total, &h);
            CHECKF(hits == 1 && h.cmd == commands[i].cmd, "flite kal16 '%s'%s: %d hits, the first '%s'",
                   commands[i].said, r ? " (slower)" : "", hits, h.phrase);
            free(pcm);
            free(speech);
        }
    spotter_close(s);
}

/* The shipped file's floor_dbfs: an echo canceller's residual (speexdsp's,
 * what --echo-cancelled trusts the sound server to run) was heard as
 * "coach where am i" at -78 to -80 dBFS over the coach's sessions
 * (docs/PERFORMANCE.md). flite's slt saying it over a faint noise (about
 * -85 dBFS: pocketsphinx needs some; a spotter of its own, as its live
 * mean moves with the level) is heard at 35 dB under full scale (peak),
 * and refused at 52, where its words are at about -67 dBFS; without the
 * floor the quiet one was heard too (and is, down to 53). */
static void test_quiet(void)
{
    struct spotter *s = NULL;
    char err[512] = "";
    int rc = spotter_open(&s, test_src_path("voices/listen/en.ini"), 0, err, sizeof err);
    CHECKF(rc == 0 && s, "spotter_open: %s", err);
    if (!s) return;
    char wav[4200], cmd[8600];
    snprintf(wav, sizeof wav, "%s/quiet.wav", tmp);
    snprintf(cmd, sizeof cmd, "flite -voice slt -t 'coach where am I' -o '%s'", wav);
    CHECKF(system(cmd) == 0, "%s", cmd);
    size_t n = 0;
    int16_t *speech = read_16k(wav, &n);
    CHECKF(speech != NULL, "%s: not 16 kHz mono", wav);
    if (!speech) {
        spotter_close(s);
        return;
    }
    int peak = 1;
    for (size_t i = 0; i < n; i++) peak = abs(speech[i]) > peak ? abs(speech[i]) : peak;
    const double peak_db[] = {-35, -52};
    for (size_t k = 0; k < 2; k++) {
        size_t pad = SPOTTER_RATE_HZ, total = pad + n + pad;
        int16_t *pcm = malloc(total * sizeof *pcm);
        double gain = 32768.0 * pow(10.0, peak_db[k] / 20.0) / peak;
        uint32_t rnd = 12345;
        for (size_t i = 0; i < total; i++) {
            rnd = rnd * 1664525u + 1013904223u;
            double v = (double)((int)(rnd >> 29) - 4) + 0.5; /* -3.5 .. 3.5: about -85 dBFS */
            if (i >= pad && i < pad + n) v += speech[i - pad] * gain;
            pcm[i] = (int16_t)lrint(v);
        }
        struct spotter_hit h = {0};
        int hits = feed_all(s, pcm, total, &h);
        char quiet[64] = "";
        double quiet_dbfs = 0;
        int told = spotter_refused_quiet(s, quiet, sizeof quiet, &quiet_dbfs);
        if (k == 0) {
            CHECKF(hits == 1 && h.cmd == CTL_WHERE, "'coach where am I' at %.0f dBFS (peak): %d hits, the first '%s'",
                   peak_db[k], hits, h.phrase);
            CHECKF(!told, "refused as too quiet at %.0f dBFS (peak): '%s'", peak_db[k], quiet);
        } else {
            CHECKF(hits == 0, "'coach where am I' at %.0f dBFS (peak), under the floor: %d hits, the first '%s'",
                   peak_db[k], hits, h.phrase);
            /* told once, for --verbose */
            CHECKF(told && strcmp(quiet, "coach where am i") == 0 && quiet_dbfs < -60 && quiet_dbfs > -75,
                   "refused as too quiet: %d '%s' %.1f dBFS", told, quiet, quiet_dbfs);
            CHECK(!spotter_refused_quiet(s, quiet, sizeof quiet, &quiet_dbfs));
        }
        free(pcm);
    }
    free(speech);
    spotter_close(s);
}

/* espeak-ng's voice saying text, fed to s between half-seconds of
 * silence: the number of hits, the first in *h (-1: no audio). */
static int espeak_heard(struct spotter *s, const char *voice, const char *text, struct spotter_hit *h)
{
    char wav[4200], cmd[8600];
    snprintf(wav, sizeof wav, "%s/espeak-%s.wav", tmp, voice);
    snprintf(cmd, sizeof cmd, "espeak-ng -v %s -s 175 -w '%s' '%s'", voice, wav, text);
    CHECKF(system(cmd) == 0, "%s", cmd);
    SF_INFO info = {0};
    SNDFILE *f = sf_open(wav, SFM_READ, &info);
    CHECKF(f && info.channels == 1 && info.frames > 0, "%s: not mono", wav);
    if (!f) return -1;
    size_t n = (size_t)info.frames, pad = SPOTTER_RATE_HZ / 2;
    int16_t *in = malloc(n * sizeof *in);
    size_t m = resample_out_len(n, (uint32_t)info.samplerate, SPOTTER_RATE_HZ);
    float *x = malloc(m * sizeof *x);
    int16_t *pcm = calloc(pad + m + pad, sizeof *pcm);
    CHECK(in && x && pcm);
    int hits = -1;
    if (in && x && pcm && sf_readf_short(f, in, info.frames) == info.frames &&
        resample_i16_to_f32(in, n, (uint32_t)info.samplerate, x, m, SPOTTER_RATE_HZ) == 0) {
        for (size_t i = 0; i < m; i++) pcm[pad + i] = (int16_t)lrintf(x[i] * 32767.0f);
        hits = feed_all(s, pcm, pad + m + pad, h);
    }
    sf_close(f);
    free(in);
    free(x);
    free(pcm);
    return hits;
}

/* espeak-ng's en+m7 "coach stop" (its "coach" is heard as T OW CH: the
 * keyword search missed it with the dictionary's K OW CH alone; the
 * listen file's [pronounce] adds it) is heard, as itself. */
static void test_espeak(struct spotter *s)
{
    struct spotter_hit h = {0};
    int hits = espeak_heard(s, "en+m7", "coach stop", &h);
    CHECKF(hits == 1 && h.cmd == CTL_STOP, "espeak-ng en+m7 'coach stop': %d hits, the first '%s'", hits,
           h.phrase);
}

/* The shipped listen file written to tmp/name (its path into path) with
 * insert put after the first `find` in it, or (drop) with the line that
 * `find` starts (after its newline) left out. False if find is not there. */
static bool edited_copy(const char *name, const char *find, bool drop, const char *insert, char *path,
                        size_t cap)
{
    size_t len = 0;
    char *text = test_read_file(test_src_path("voices/listen/en.ini"), &len);
    const char *at = text ? strstr(text, find) : NULL;
    const char *eol = at && drop ? strchr(at + 1, '\n') : NULL;
    CHECKF(at && (!drop || eol), "en.ini has no '%s'", find);
    if (!at || (drop && !eol)) {
        free(text);
        return false;
    }
    size_t head = drop ? (size_t)(at - text) + 1 : (size_t)(at - text) + strlen(find);
    size_t tail = drop ? (size_t)(eol - text) + 1 : head;
    snprintf(path, cap, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    bool ok = f && fwrite(text, 1, head, f) == head && fputs(insert, f) >= 0 &&
              fwrite(text + tail, 1, len - tail, f) == len - tail;
    if (f && fclose(f)) ok = false;
    CHECKF(ok, "%s: not written", path);
    free(text);
    return ok;
}

/* gaussians = 64 in [listen] reaches both decoders: espeak-ng's en-gb
 * "coach next" (175 wpm), which the shipped file (4, pocketsphinx's
 * default) does not hear, is heard as itself. */
static void test_gaussians(void)
{
    char path[4200];
    if (!edited_copy("en.ini", "\n[listen]\n", false, "gaussians = 64\n", path, sizeof path)) return;
    struct spotter *s = NULL;
    char err[512] = "";
    int rc = spotter_open(&s, path, 0, err, sizeof err);
    CHECKF(rc == 0 && s, "spotter_open with gaussians = 64: %s", err);
    if (!s) return;
    struct spotter_hit h = {0};
    int hits = espeak_heard(s, "en-gb", "coach next", &h);
    CHECKF(hits == 1 && h.cmd == CTL_NEXT, "gaussians = 64: espeak-ng en-gb 'coach next': %d hits, the first '%s'",
           hits, h.phrase);
    spotter_close(s);
    /* the shipped file: canceller_gaussians (64) only behind coach's own
     * echo canceller; without it, pocketsphinx's default, which misses it */
    for (unsigned flags = 0; flags <= SPOTTER_CANCELLED; flags += SPOTTER_CANCELLED) {
        s = NULL;
        rc = spotter_open(&s, test_src_path("voices/listen/en.ini"), flags, err, sizeof err);
        CHECKF(rc == 0 && s, "spotter_open: %s", err);
        if (!s) return;
        h = (struct spotter_hit){0};
        hits = espeak_heard(s, "en-gb", "coach next", &h);
        if (flags)
            CHECKF(hits == 1 && h.cmd == CTL_NEXT,
                   "the shipped file behind the canceller: en-gb 'coach next': %d hits, the first '%s'", hits, h.phrase);
        else
            CHECKF(hits == 0, "the shipped file without the canceller: en-gb 'coach next': %d hits, the first '%s'",
                   hits, h.phrase);
        spotter_close(s);
    }
}

/* canceller_thresholds behind coach's canceller: espeak-ng's en+m7
 * "coach pause" (175 wpm), missed at the phrase's own threshold, is heard
 * as itself with the shipped file's 1e-5. */
static void test_canceller_thresholds(void)
{
    char path[4200];
    if (!edited_copy("en-no-factor.ini", "\ncanceller_thresholds = ", true, "", path, sizeof path)) return;
    for (int shipped = 0; shipped <= 1; shipped++) {
        struct spotter *s = NULL;
        char err[512] = "";
        int rc = spotter_open(&s, shipped ? test_src_path("voices/listen/en.ini") : path, SPOTTER_CANCELLED, err,
                              sizeof err);
        CHECKF(rc == 0 && s, "spotter_open: %s", err);
        if (!s) return;
        struct spotter_hit h = {0};
        int hits = espeak_heard(s, "en+m7", "coach pause", &h);
        if (shipped)
            CHECKF(hits == 1 && h.cmd == CTL_PAUSE,
                   "behind the canceller, canceller_thresholds = 1e-5: en+m7 'coach pause': %d hits, the first '%s'",
                   hits, h.phrase);
        else
            CHECKF(hits == 0, "behind the canceller, no canceller_thresholds: en+m7 'coach pause': %d hits, the "
                   "first '%s'", hits, h.phrase);
        spotter_close(s);
    }
}

/* Speech the grammar took for silence between a phrase's words: espeak-
 * ng's en+m7 "coach where am I", behind the canceller (the shipped file,
 * SPOTTER_CANCELLED), was read as "coach back" with "where am" as a
 * third of a second of silence, and taken (a wrong command); such a
 * reading is refused and the audio decoded again without that phrase. */
static void test_speech_inside(void)
{
    struct spotter *s = NULL;
    char err[512] = "";
    int rc = spotter_open(&s, test_src_path("voices/listen/en.ini"), SPOTTER_CANCELLED, err, sizeof err);
    CHECKF(rc == 0 && s, "spotter_open: %s", err);
    if (!s) return;
    struct spotter_hit h = {0};
    int hits = espeak_heard(s, "en+m7", "coach where am I", &h);
    CHECKF(hits == 1 && h.cmd == CTL_WHERE, "espeak-ng en+m7 'coach where am I' behind the canceller: %d hits, "
           "the first '%s'", hits, h.phrase);
    spotter_close(s);
    /* with no other phrase to decode it with, it is refused (not a failure
     * of the recognizer: an empty grammar is not tried) */
    s = NULL;
    rc = spotter_open(&s, put("back.ini", HEAD "coach back = back 1e-40\n[pronounce]\ncoach = T OW CH\nback = B AA K\n"),
                      SPOTTER_CANCELLED, err, sizeof err);
    CHECKF(rc == 0 && s, "spotter_open: %s", err);
    if (!s) return;
    h = (struct spotter_hit){0};
    hits = espeak_heard(s, "en+m7", "coach where am I", &h); /* feed_all checks every feed's rc */
    CHECKF(hits == 0, "only 'coach back' listened for: %d hits, the first '%s'", hits, h.phrase);
    spotter_close(s);
}

/* The coach's own session, exported at 16 kHz, is never a command. */
/* Behind coach's canceller the check reads the audio before the
 * canceller's suppression too (spotter_feed_both). Two commands of
 * espeak-ng's en-us+f3 said over the coach's speech 10 dB louder (the
 * first item of `build/listen_bench voices/listen/en.ini --bg
 * bench/out/listen/session-lower-back-relief.wav --bg-db -10 --aec 2
 * back=espeak-en-us+f3-3-1.wav` or `pause=...-0-1.wav`, its room noise
 * 50 dB under the command), as the spotter is fed them: channel 1 the
 * canceller's output, channel 2 its linear filter's. After the
 * suppression "coach back" reads "coach where am i", crammed (refused),
 * and "coach pause" reads "coach back"; before it, each reads as said. */
static void test_before_suppression(void)
{
    static const struct {
        const char *file, *said;
        enum ctl_cmd cmd;
        int hits_after; /* fed only the canceller's output: hits */
        enum ctl_cmd after;
    } cases[] = {
        {"tests/listen/f3-back-cancelled.flac", "coach back", CTL_BACK, 0, CTL_NONE},
        {"tests/listen/f3-pause-cancelled.flac", "coach pause", CTL_PAUSE, 1, CTL_BACK},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        SF_INFO info = {0};
        SNDFILE *f = sf_open(test_src_path(cases[k].file), SFM_READ, &info);
        CHECKF(f && info.channels == 2 && info.samplerate == SPOTTER_RATE_HZ, "%s", cases[k].file);
        if (!f) continue;
        size_t n = (size_t)info.frames;
        int16_t *both = malloc(2 * n * sizeof *both), *out = malloc(n * sizeof *out),
                *linear = malloc(n * sizeof *linear);
        CHECK(both && out && linear && sf_readf_short(f, both, info.frames) == info.frames);
        sf_close(f);
        for (size_t i = 0; both && out && linear && i < n; i++) out[i] = both[2 * i], linear[i] = both[2 * i + 1];
        for (int with_linear = 0; with_linear < 2 && out && linear; with_linear++) {
            struct spotter *s = NULL;
            char err[512] = "";
            CHECKF(spotter_open(&s, test_src_path("voices/listen/en.ini"), SPOTTER_CANCELLED, err, sizeof err) == 0,
                   "spotter_open: %s", err);
            if (!s) break;
            struct spotter_hit first = {0};
            int hits = feed_both_all(s, out, with_linear ? linear : NULL, n, &first);
            if (with_linear)
                CHECKF(hits == 1 && first.cmd == cases[k].cmd, "'%s' before the suppression too: %d hits, '%s'",
                       cases[k].said, hits, first.phrase);
            else
                CHECKF(hits == cases[k].hits_after && (!hits || first.cmd == cases[k].after),
                       "'%s' after the suppression only: %d hits, '%s'", cases[k].said, hits, first.phrase);
            spotter_close(s);
        }
        free(both);
        free(out);
        free(linear);
    }
}

static void test_own_speech(struct spotter *s)
{
    struct session_opts so = {.routine = test_src_path("routines/warm-up.ini"),
                              .speech_rate = -1,
                              .pitch = -1,
                              .speech_volume = -1,
                              .rate_hz = SPOTTER_RATE_HZ,
                              .clips = CLIPS_AUDIO};
    struct session ses = {0};
    struct coach_diags d;
    diags_init(&d);
    char err[512] = "";
    enum session_fail f = session_open(&ses, &so, &d, err, sizeof err);
    CHECKF(f == SESSION_OK, "session_open: %s", err);
    char wav[4200];
    snprintf(wav, sizeof wav, "%s/warm-up.wav", tmp);
    if (f == SESSION_OK) {
        struct export_opts eo = {.format = export_format_from_path(wav), .channels = 1};
        int rc = export_timeline(&ses.tl, &ses.clips, wav, &eo, err, sizeof err);
        CHECKF(rc == 0, "export: %s", err);
    }
    session_free(&ses);
    diags_free(&d);
    size_t n = 0;
    int16_t *pcm = read_16k(wav, &n);
    CHECKF(pcm && n > (size_t)SPOTTER_RATE_HZ * 120, "%s: %zu samples", wav, n);
    if (!pcm) return;
    struct spotter_hit h = {0};
    int hits = feed_all(s, pcm, n, &h);
    CHECKF(hits == 0, "%d hits on %zu s of the coach's own speech; the first: '%s' at %.1f s", hits,
           n / SPOTTER_RATE_HZ, h.phrase, (double)h.end_sample / SPOTTER_RATE_HZ);
    free(pcm);
}

int main(void)
{
    tmp = test_tmpdir("spotter");
    setenv("COACH_DATA_DIR", test_src_path(""), 1); /* the voices beside the routines */
    struct stat st;
    if (stat("/usr/share/pocketsphinx/model/en-us/en-us/mdef", &st) != 0) {
        printf("skip: pocketsphinx-en-us is not installed\n");
        return 77;
    }
    test_errors();
    test_find();
    test_catalog();

    struct spotter *s = NULL;
    char err[512] = "";
    int rc = spotter_open(&s, test_src_path("voices/listen/en.ini"), 0, err, sizeof err);
    CHECKF(rc == 0 && s, "spotter_open: %s", err);
    if (!s) return test_done();
    if (have_flite()) {
        test_commands(s);
        test_quiet();
        test_whole_phrase(test_src_path("voices/listen/en.ini"));
    } else {
        printf("skip: no flite: the commands are not spoken\n");
    }
    if (have_espeak()) {
        test_espeak(s);
        test_gaussians();
        test_speech_inside();
        test_canceller_thresholds();
    }
    else
        printf("skip: no espeak-ng: its voice is not heard\n");
    spotter_close(s);
    test_before_suppression();
    /* a spotter of its own: a miss or a hit here is the coach's speech's */
    s = NULL;
    rc = spotter_open(&s, test_src_path("voices/listen/en.ini"), 0, err, sizeof err);
    CHECKF(rc == 0 && s, "spotter_open: %s", err);
    if (s) test_own_speech(s);
    spotter_close(s);
    int st_done = test_done();
    return st_done ? st_done : (have_flite() ? 0 : 77);
}
