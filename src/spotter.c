/* The keyword spotter (include/coach/spotter.h): reads the listen file,
 * writes the phrases and just their words' pronunciations to two private
 * temporary files (pocketsphinx reads a keyword list and a dictionary only
 * from files; the whole 130 000-word dictionary would cost a second and
 * 30 MB to load), opens pocketsphinx's keyword search on them and feeds it
 * in small blocks, so that the search can restart right after a hit and
 * at the end of speech in which it heard nothing (see collect()).
 * phone_loop (the listen file's) is how likely pocketsphinx's keyword
 * search takes any other speech to be: below its default 0.1 the phrases
 * compete less and voices the model fits badly are heard more. gaussians
 * is how many of each codebook's Gaussians score a frame (-topn, both
 * decoders): above its default 4 such voices are scored more exactly.
 * Each detection is then checked, once the speech has ended, by a second
 * decoder on the last 2.5 seconds of audio with a grammar of all the
 * phrases (verify()): it names the phrase said and places its end, and a
 * phrase crammed into too few frames or cut off by the audio's end is
 * refused, and so is one whose words are quieter than the listen file's
 * floor_dbfs (an echo canceller's residual is heard as commands at -80
 * dBFS). A reading that calls speech silence between its words ("coach
 * [where am] back") is refused too, and the audio decoded again without
 * that phrase (read_hyp(), verify()). pocketsphinx's logging is switched
 * off: coach's stderr stays its own.
 * [pronounce] gives a word more pronunciations (espeak-ng's "coach" is
 * heard as T OW CH): the grammar takes them as the dictionary's "(2)"
 * variants, but the keyword search takes only a word's first one, so each
 * is also written as a word of its own ("coach_2") and the phrases are
 * searched again with every combination of their words' pronunciations
 * ("coach_2 pause_3"), at thresholds FACTOR times stricter.
 * canceller_gaussians replaces gaussians behind coach's own echo canceller
 * (SPOTTER_CANCELLED), and canceller_thresholds multiplies every threshold
 * there (the variants' included, so a variant too strict to search fed
 * straight may be searched there). The answers to a question (pain 0-10) are in a
 * second keyword search and grammar, used only while spotter_answers() is
 * on: the switch is made at a restart, between utterances.
 * Fed by spotter_feed_both (behind coach's canceller), the check also
 * reads the audio as it was before the canceller's suppression, and the
 * better of the two readings is taken (verify()).
 * spotter_trace() writes what both decoders hear, for diagnosis.
 * pocketsphinx (with sphinxbase and the BLAS, LAPACK, gfortran and OpenMP
 * runtimes under it: 1.3 MB resident once loaded) is opened with dlopen
 * by the first spotter_open, so that export, check, plan and a play
 * without --listen go without it. */
#define _POSIX_C_SOURCE 200809L
#include "coach/spotter.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dlfcn.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include "coach/common.h"
#include "coach/diag.h"
#include "coach/inireader.h"

/* Every function of pocketsphinx and sphinxbase the spotter calls, looked
 * up by load_pocketsphinx(); the names below then call through it. */
#define PS_FUNCS(X)                                                                              \
    X(cmd_ln_init) X(cmd_ln_free_r) X(err_set_logfp) X(ps_args) X(ps_init) X(ps_free)            \
    X(ps_set_jsgf_string) X(ps_set_search) X(ps_start_utt) X(ps_end_utt) X(ps_process_raw)       \
    X(ps_get_hyp) X(ps_seg_iter) X(ps_seg_next) X(ps_seg_frames) X(ps_seg_word)                  \
    X(ps_lookup_word) X(ps_get_in_speech) X(ps_set_kws)
#define PS_FIELD(f) __typeof__(&f) f;
static struct {
    PS_FUNCS(PS_FIELD)
} psapi;
#undef PS_FIELD
static bool psapi_loaded;

/* 0, or COACH_ESPEECH with err set when the libraries are missing. */
static int load_pocketsphinx(char *err, size_t cap)
{
    if (psapi_loaded) return 0;
    void *h = dlopen("libpocketsphinx.so.3", RTLD_NOW | RTLD_LOCAL); /* kept open */
    bool all = h != NULL;
#define PS_LOOKUP(f) all = all && (*(void **)&psapi.f = dlsym(h, #f)) != NULL;
    PS_FUNCS(PS_LOOKUP)
#undef PS_LOOKUP
    if (!all) {
        coach_set_err(err, cap, "pocketsphinx cannot be loaded (%s); install libpocketsphinx3",
                      h ? "a function is missing" : dlerror());
        return COACH_ESPEECH;
    }
    psapi_loaded = true;
    return 0;
}

#define cmd_ln_init psapi.cmd_ln_init
#define cmd_ln_free_r psapi.cmd_ln_free_r
#define err_set_logfp psapi.err_set_logfp
#define ps_args psapi.ps_args
#define ps_init psapi.ps_init
#define ps_free psapi.ps_free
#define ps_set_jsgf_string psapi.ps_set_jsgf_string
#define ps_set_search psapi.ps_set_search
#define ps_start_utt psapi.ps_start_utt
#define ps_end_utt psapi.ps_end_utt
#define ps_process_raw psapi.ps_process_raw
#define ps_get_hyp psapi.ps_get_hyp
#define ps_seg_iter psapi.ps_seg_iter
#define ps_seg_next psapi.ps_seg_next
#define ps_seg_frames psapi.ps_seg_frames
#define ps_seg_word psapi.ps_seg_word
#define ps_lookup_word psapi.ps_lookup_word
#define ps_get_in_speech psapi.ps_get_in_speech
#define ps_set_kws psapi.ps_set_kws

#ifndef COACH_PS_MODELDIR
#define COACH_PS_MODELDIR "/usr/share/pocketsphinx/model"
#endif

#define MAX_PHRASES 64
#define MAX_WORDS_PER_PHRASE 8
#define BLOCK_SAMPLES 480       /* 30 ms: how finely a hit's end is placed */
#define FRAME_SAMPLES 160       /* pocketsphinx: 100 frames per second at 16 kHz */
#define RESTART_SAMPLES (SPOTTER_RATE_HZ * 30) /* a long quiet utterance restarts */
#define PENDING_MAX 8
#define SETTLE_SAMPLES (SPOTTER_RATE_HZ * 3 / 10) /* 300 ms: see collect() */
#define SETTLE_MAX_SAMPLES (SPOTTER_RATE_HZ * 1) /* 1 s: see collect() */
#define CHECK_SAMPLES (SPOTTER_RATE_HZ * 5 / 2) /* see verify(): a phrase and the settling after it */
#define RING_SAMPLES CHECK_SAMPLES
#define NO_LINEAR UINT64_MAX
/* The fewest frames (10 ms) per phone of a phrase really said, on
 * average over its words: the coach's own speech that the grammar bends
 * to a phrase is crammed into it (5.1-6.5 frames per phone over 88 min of
 * its sessions), the ten commands said by seven other voices, slow and
 * fast, took 7.3-18.8 (bench/listen_bench.sh, docs/PERFORMANCE.md). */
#define MIN_PHONE_FRAMES 7.0
/* ... and of each word: the commands heard right took 4.5 or more, a false
 * trigger on the coach's own session crammed "coach" into 9 frames (3) */
#define MIN_WORD_PHONE_FRAMES 4.0
#define MAX_PRONS 16 /* [pronounce] lines */
#define MAX_GAUSSIANS 64 /* gaussians = N: the en-us model has 128 per codebook */
#define CUT_FRAMES 2 /* a phrase ending this close to the end of the checked audio is cut off */
/* Silence between a reading's words that is this loud against its words
 * (-10 dB: a pause is room noise, far softer) is speech the grammar could
 * not place; more than INSIDE_MAX_FRAMES of it and the reading is refused:
 * the commands heard right (bench/listen_bench.sh) had at most 14 frames
 * of it (espeak-ng's en+m7 "where [] am i"), the wrong ones 32-44, a false
 * trigger on the coach's own session ("coach [] pause") 24. */
#define INSIDE_LEVEL 0.316
#define INSIDE_MAX_FRAMES 20
#define RETRIES_MAX 3 /* readings refused for speech inside, each decoded again without */
#define GRAMMAR_BYTES (64 + MAX_PHRASES * 68)

struct phrase {
    char text[64];     /* "coach pause": single spaces, lower case */
    enum ctl_cmd cmd;
    double threshold;  /* pocketsphinx's keyword threshold */
    int line;          /* where it is in the listen file */
};

struct pron {
    char word[32];    /* a word of the phrases */
    char phones[128]; /* "T OW CH" */
    double stricter;  /* its phrases' thresholds times this (>= 1) */
    int line;
};

struct listen_file {
    char model[512], dict[512];
    int model_line, dict_line;
    double phone_loop; /* pocketsphinx's -kws_plp; 0: its default */
    int phone_loop_line;
    int gaussians;     /* pocketsphinx's -topn; 0: its default (4) */
    int gaussians_line;
    int canceller_gaussians; /* ... behind coach's own echo canceller; 0: gaussians */
    int canceller_gaussians_line;
    double canceller_factor; /* ... and every threshold times this; 0: 1 */
    int canceller_factor_line;
    double floor_dbfs; /* a phrase's words quieter than this are refused; 0: no floor */
    int floor_line;
    struct phrase ph[MAX_PHRASES];
    size_t n;
    struct pron pr[MAX_PRONS];
    size_t n_pr;
    const char *section; /* the known section we are in, or NULL */
    struct ini_lines *lines;
};

struct spotter {
    ps_decoder_t *ps;
    struct phrase ph[MAX_PHRASES];
    size_t n;
    uint64_t fed;       /* samples fed since open */
    uint64_t utt_start; /* sample at which the current utterance began */
    struct spotter_hit pending[PENDING_MAX]; /* hits not yet returned */
    size_t n_pending;
    uint64_t settle_until; /* a detection is waiting until this sample; 0: none */
    uint64_t detected_at;  /* the sample at which it was detected */
    ps_decoder_t *check; /* the grammar of the phrases: see verify() */
    double floor_rms;    /* the listen file's floor_dbfs as an RMS in samples; 0: none */
    char grammar[GRAMMAR_BYTES]; /* see grammar() */
    const struct phrase *quiet;  /* the last phrase refused as too quiet; NULL: none since asked */
    double quiet_dbfs;           /* ... its words' level */
    int16_t ring[RING_SAMPLES]; /* the last samples fed; sample k at k % RING_SAMPLES */
    int16_t seg[CHECK_SAMPLES]; /* a detection's audio, for check */
    /* the same samples before the canceller's suppression (spotter_feed_both) */
    int16_t ring_linear[RING_SAMPLES];
    int16_t seg_linear[CHECK_SAMPLES];
    uint64_t linear_from; /* ring_linear holds every sample fed from this one on; NO_LINEAR: none */
    FILE *trace; /* spotter_trace(); NULL: quiet */
    bool was_in_speech; /* the search's voice activity after the last block */
    bool answers;       /* the answers (pain 0-10) are searched now: see spotter_answers() */
    bool want_answers;  /* ... from the next restart */
};

static bool word_char(int c) { return (c >= 'a' && c <= 'z') || c == '\''; }

/* Normalizes a phrase into out (lower case, single spaces); 0, or -1 with
 * why when it is not a phrase of words. */
static int norm_phrase(const char *in, char *out, size_t cap, const char **why)
{
    size_t o = 0, words = 0;
    for (const char *p = in; *p;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (words && o + 1 < cap) out[o++] = ' ';
        for (; *p && *p != ' ' && *p != '\t'; p++) {
            int c = tolower((unsigned char)*p);
            if (!word_char(c)) {
                *why = "a phrase is words of letters a-z and '";
                return -1;
            }
            if (o + 1 >= cap) {
                *why = "the phrase is longer than 63 bytes";
                return -1;
            }
            out[o++] = (char)c;
        }
        words++;
    }
    out[o] = 0;
    if (words < 2) {
        *why = "a phrase needs a wake word and a word (\"coach pause\"): bare words would fire on coach's own speech";
        return -1;
    }
    if (words > MAX_WORDS_PER_PHRASE) {
        *why = "a phrase has at most 8 words";
        return -1;
    }
    return 0;
}

/* [pronounce]: word = PHONES (the model's phones, upper case) */
static int on_pron(struct listen_file *F, const char *name, const char *value, int line)
{
    struct ini_lines *L = F->lines;
    struct pron r = {.line = line, .stricter = 1};
    size_t wl = strlen(name), o = 0;
    bool ok = wl > 0 && wl < sizeof r.word;
    for (size_t i = 0; ok && i < wl; i++) ok = word_char(tolower((unsigned char)name[i]));
    if (!ok) {
        ini_lines_error(L, line, "'%s': a word of letters a-z and ' (at most %zu)", ini_lines_quote(L, name, wl),
                        sizeof r.word - 1);
        return 0;
    }
    for (size_t i = 0; i < wl; i++) r.word[i] = (char)tolower((unsigned char)name[i]);
    char phones[160];
    ok = ok && snprintf(phones, sizeof phones, "%s", value) < (int)sizeof phones;
    char *last = strrchr(phones, ' ');
    if (last && isdigit((unsigned char)last[1])) { /* "T OW CH 1e5": stricter thresholds */
        char *end = NULL;
        errno = 0;
        r.stricter = strtod(last + 1, &end);
        if (errno || *end || !(r.stricter >= 1)) {
            ini_lines_error(L, line, "'%s': the factor after the phones must be a number of at least 1", last + 1);
            return 0;
        }
        *last = 0;
    }
    for (const char *v = phones; *v && ok; v++) {
        if (*v == ' ' || *v == '\t') {
            if (o && r.phones[o - 1] != ' ') r.phones[o++] = ' ';
        } else if (*v >= 'A' && *v <= 'Z') {
            r.phones[o++] = *v;
        } else {
            ok = false;
        }
        if (o + 2 >= sizeof r.phones) ok = false;
    }
    while (o && r.phones[o - 1] == ' ') o--;
    r.phones[o] = 0;
    if (!ok || !o) {
        ini_lines_error(L, line, "'%s' is not a pronunciation: the model's phones in upper case, like K OW CH",
                        ini_lines_quote(L, value, strlen(value)));
        return 0;
    }
    if (F->n_pr == MAX_PRONS) {
        ini_lines_error(L, line, "more than %d pronunciations", MAX_PRONS);
        return 0;
    }
    F->pr[F->n_pr++] = r;
    return 0;
}

/* 1 if a [listen] key has not been taken yet (first_line 0), else says
 * where it first was and returns 0. */
static int first_time(struct ini_lines *L, int line, const char *name, int first_line)
{
    if (first_line) {
        ini_lines_error(L, line, "duplicate key '%s' (first on line %d)", name, first_line);
        return 0;
    }
    return 1;
}

/* The bounds of a [listen] key's number: lo and hi, each in or out. */
struct range {
    double lo, hi;
    bool lo_in, hi_in;
    const char *what; /* "NAME must be WHAT" */
};

/* A [listen] key of one real number within r into *v, its line into
 * *at_line. Returns 0 (inih's handler: errors are collected in L). */
static int real_key(struct ini_lines *L, int line, const char *name, const char *value, struct range r, double *v,
                    int *at_line)
{
    if (!first_time(L, line, name, *at_line)) return 0;
    char *end = NULL;
    errno = 0;
    double x = strtod(value, &end);
    bool in = (r.lo_in ? x >= r.lo : x > r.lo) && (r.hi_in ? x <= r.hi : x < r.hi);
    if (errno || end == value || *end || !in) {
        ini_lines_error(L, line, "%s must be %s", name, r.what);
        return 0;
    }
    *v = x;
    *at_line = line;
    return 0;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct listen_file *F = user;
    struct ini_lines *L = F->lines;
    int line = ini_lines_current(L);
    (void)section;
    if (!F->section) return 0; /* an unknown section: said once at its header */
    if (strcmp(F->section, "listen") == 0) {
        if (strcmp(name, "phone_loop") == 0)
            return real_key(L, line, name, value,
                            (struct range){0, 1, false, true, "a probability above 0 and at most 1 (like 1e-3)"},
                            &F->phone_loop, &F->phone_loop_line);
        if (strcmp(name, "canceller_thresholds") == 0)
            return real_key(L, line, name, value,
                            (struct range){0, 1, false, true, "a factor above 0 and at most 1 (like 1e-5)"},
                            &F->canceller_factor, &F->canceller_factor_line);
        if (strcmp(name, "floor_dbfs") == 0)
            return real_key(L, line, name, value,
                            (struct range){-96, 0, true, false, "a level in dBFS from -96 to below 0 (like -60)"},
                            &F->floor_dbfs, &F->floor_line);
        bool behind = strcmp(name, "canceller_gaussians") == 0;
        if (behind || strcmp(name, "gaussians") == 0) {
            int *at_line = behind ? &F->canceller_gaussians_line : &F->gaussians_line;
            if (!first_time(L, line, name, *at_line)) return 0;
            char *end = NULL;
            errno = 0;
            long v = strtol(value, &end, 10);
            if (errno || end == value || *end || v < 1 || v > MAX_GAUSSIANS) {
                ini_lines_error(L, line, "%s must be a whole number from 1 to %d (like 16)", name, MAX_GAUSSIANS);
                return 0;
            }
            *(behind ? &F->canceller_gaussians : &F->gaussians) = (int)v;
            *at_line = line;
            return 0;
        }
        bool is_model = strcmp(name, "model") == 0;
        if (!is_model && strcmp(name, "dict") != 0) {
            ini_lines_error(L, line,
                            "unknown key '%s' in [listen] (model, dict, phone_loop, gaussians, "
                            "canceller_gaussians, canceller_thresholds, floor_dbfs)",
                            name);
            return 0;
        }
        char *dst = is_model ? F->model : F->dict;
        int *dst_line = is_model ? &F->model_line : &F->dict_line;
        if (!first_time(L, line, name, *dst_line)) return 0;
        if (!*value || strlen(value) >= sizeof F->model) {
            ini_lines_error(L, line, "%s must be a path of 1-%zu bytes", name, sizeof F->model - 1);
            return 0;
        }
        strcpy(dst, value);
        *dst_line = line;
        return 0;
    }
    if (strcmp(F->section, "pronounce") == 0) return on_pron(F, name, value, line);
    /* [commands]: phrase = command threshold */
    struct phrase p = {.line = line};
    const char *why;
    if (norm_phrase(name, p.text, sizeof p.text, &why)) {
        ini_lines_error(L, line, "'%s': %s", ini_lines_quote(L, name, strlen(name)), why);
        return 0;
    }
    /* "pain N" (the answer to --ask-pain) is the one command of two words */
    char word[32] = "", rest[64] = "", more[64] = "";
    int got = sscanf(value, "%31s %63s %63s", word, rest, more);
    int words = 1;
    if (got >= 2 && strcmp(word, "pain") == 0 && strlen(rest) < 3) {
        size_t n = strlen(word);
        snprintf(word + n, sizeof word - n, " %s", rest);
        snprintf(rest, sizeof rest, "%s", more);
        got--;
        words = 2;
    }
    if (got < 1 || (p.cmd = ctl_from_word(word)) == CTL_NONE) {
        ini_lines_error(L, line, "'%s' is not a command (%s)", ini_lines_quote(L, value, strlen(value)),
                        ctl_words_help());
        return 0;
    }
    char *end = NULL;
    errno = 0;
    p.threshold = got >= 2 ? strtod(rest, &end) : 0;
    if (got < 2 || errno || !end || *end || !(p.threshold > 0 && p.threshold <= 1)) {
        ini_lines_error(L, line, "'%s' needs a threshold after the command, above 0 and at most 1 (like 1e-30)",
                        p.text);
        return 0;
    }
    {
        /* nothing may follow the threshold */
        const char *v = value;
        for (int k = 0; k < words + 1; k++) {
            while (*v == ' ' || *v == '\t') v++;
            while (*v && *v != ' ' && *v != '\t') v++;
        }
        while (*v == ' ' || *v == '\t') v++;
        if (*v) {
            ini_lines_error(L, line, "unexpected '%s' after the threshold", ini_lines_quote(L, v, strlen(v)));
            return 0;
        }
    }
    for (size_t i = 0; i < F->n; i++)
        if (strcmp(F->ph[i].text, p.text) == 0) {
            ini_lines_error(L, line, "duplicate phrase '%s' (first on line %d)", p.text, F->ph[i].line);
            return 0;
        }
    if (F->n == MAX_PHRASES) {
        ini_lines_error(L, line, "more than %d phrases", MAX_PHRASES);
        return 0;
    }
    F->ph[F->n++] = p;
    return 0;
}

static void on_section(void *user, const char *name)
{
    struct listen_file *F = user;
    if (!name) {
        F->section = NULL;
        return;
    }
    if (strcmp(name, "listen") == 0)
        F->section = "listen";
    else if (strcmp(name, "commands") == 0)
        F->section = "commands";
    else if (strcmp(name, "pronounce") == 0)
        F->section = "pronounce";
    else
        ini_lines_error(F->lines, ini_lines_current(F->lines),
                        "unknown section [%s] (listen, commands, pronounce)", name);
}

/* The first message of d into err, with a count of the others. */
static void first_diag(const struct coach_diags *d, char *err, size_t cap)
{
    if (!d->len) return;
    const struct coach_diag *g = &d->items[0];
    char more[48] = "";
    if (d->len > 1) snprintf(more, sizeof more, " (and %zu more)", d->len - 1);
    if (g->line)
        coach_set_err(err, cap, "%s:%d: %s%s", g->file, g->line, g->msg, more);
    else
        coach_set_err(err, cap, "%s: %s%s", g->file, g->msg, more);
}

static int read_listen_file(const char *path, struct listen_file *F, char *err, size_t cap)
{
    struct coach_diags d;
    diags_init(&d);
    struct ini_lines L;
    int rc = ini_lines_open_file(&L, path, &d);
    if (!rc) {
        F->lines = &L;
        rc = ini_lines_parse(&L, on_key, on_section, F);
        /* what the file lacks, once its lines are right (a broken line may
         * be the missing key) */
        if (!rc && !d.len && !F->model_line) ini_lines_error(&L, 0, "no 'model' in [listen]");
        if (!rc && !d.len && !F->dict_line) ini_lines_error(&L, 0, "no 'dict' in [listen]");
        if (!rc && !d.len && !F->n) ini_lines_error(&L, 0, "no phrase in [commands]");
        bool command = false;
        for (size_t i = 0; i < F->n; i++) command = command || !CTL_IS_PAIN(F->ph[i].cmd);
        if (!rc && !d.len && F->n && !command)
            ini_lines_error(&L, 0, "no phrase in [commands] but answers (pain 0-10): a command is needed");
        if (!rc && L.nomem) rc = COACH_ENOMEM;
        if (!rc && d.len) rc = COACH_EINVAL;
        F->lines = NULL;
    }
    ini_lines_close(&L);
    diags_sort(&d);
    if (rc == COACH_ENOMEM && !d.len)
        coach_set_err(err, cap, "%s: out of memory", path);
    else
        first_diag(&d, err, cap);
    diags_free(&d);
    return rc;
}

/* model/dict path: as given when absolute, else under pocketsphinx's
 * model directory. */
static void data_path(const char *v, char *out, size_t cap)
{
    if (v[0] == '/')
        snprintf(out, cap, "%s", v);
    else
        snprintf(out, cap, "%s/%s", COACH_PS_MODELDIR, v);
}

/* A private temporary file; its name into name. NULL with err set. */
static FILE *temp_file(char *name, size_t cap, char *err, size_t err_cap)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || dir[0] != '/') dir = "/tmp";
    snprintf(name, cap, "%s/coach-listen-XXXXXX", dir);
    int fd = mkstemp(name);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        coach_set_err(err, err_cap, "cannot make a temporary file in %s: %s", dir, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(name);
        }
    }
    return f;
}

/* Copies the dictionary lines of the phrases' words ("next" and its
 * variants "next(2)") from dict to out; a word the dictionary lacks is
 * an error at its phrase's line. */
static int write_dict(const struct listen_file *F, const char *lf_path, const char *dict, FILE *out,
                      char *err, size_t cap)
{
    const char *words[MAX_PHRASES * MAX_WORDS_PER_PHRASE];
    int word_line[MAX_PHRASES * MAX_WORDS_PER_PHRASE];
    bool found[MAX_PHRASES * MAX_WORDS_PER_PHRASE];
    size_t nw = 0;
    char store[MAX_PHRASES][64];
    for (size_t i = 0; i < F->n; i++) {
        strcpy(store[i], F->ph[i].text);
        for (char *t = strtok(store[i], " "); t; t = strtok(NULL, " ")) {
            bool dup = false;
            for (size_t k = 0; k < nw && !dup; k++) dup = strcmp(words[k], t) == 0;
            if (dup) continue;
            words[nw] = t;
            word_line[nw] = F->ph[i].line;
            found[nw++] = false;
        }
    }
    FILE *in = fopen(dict, "r");
    if (!in) {
        coach_set_err(err, cap, "pocketsphinx dictionary not found at %s (%s): install pocketsphinx-en-us",
                      dict, strerror(errno));
        return COACH_ENOTFOUND;
    }
    char line[512];
    while (fgets(line, sizeof line, in)) {
        size_t wl = strcspn(line, " \t(");
        for (size_t k = 0; k < nw; k++)
            if (strlen(words[k]) == wl && memcmp(words[k], line, wl) == 0) {
                found[k] = true;
                fputs(line, out);
                if (!strchr(line, '\n')) fputc('\n', out);
                break;
            }
    }
    bool rd_err = ferror(in);
    fclose(in);
    if (rd_err) {
        coach_set_err(err, cap, "%s: cannot read", dict);
        return COACH_EIO;
    }
    for (size_t k = 0; k < nw; k++)
        if (!found[k]) {
            coach_set_err(err, cap, "%s:%d: the word '%s' is not in the dictionary %s", lf_path, word_line[k],
                          words[k], dict);
            return COACH_EINVAL;
        }
    /* [pronounce]: a "(N)" variant for the grammar, a word of its own for kws */
    for (size_t r = 0; r < F->n_pr; r++) {
        const struct pron *pr = &F->pr[r];
        bool known = false;
        for (size_t k = 0; k < nw && !known; k++) known = strcmp(words[k], pr->word) == 0;
        if (!known) {
            coach_set_err(err, cap, "%s:%d: '%s' is not a word of the phrases", lf_path, pr->line, pr->word);
            return COACH_EINVAL;
        }
        fprintf(out, "%s(%zu) %s\n%s_%zu %s\n", pr->word, r + 100, pr->phones, pr->word, r + 2, pr->phones);
    }
    return 0;
}

/* Writes phrase p to the keyword list, then its variants: every
 * combination of its words' [pronounce] lines ("coach_2 pause_4": espeak-ng's
 * "coach" and its "pause" in one phrase; see the top), at the phrase's
 * threshold times the product of their FACTORs. A variant whose threshold
 * would reach 1 (deaf) is not searched. At most MAX_VARIANTS per phrase:
 * COACH_EINVAL with err at the phrase's line beyond. */
#define MAX_VARIANTS 256
static int write_kws(const struct listen_file *F, const char *lf_path, const struct phrase *p, FILE *out,
                     char *err, size_t cap)
{
    char store[64];
    const char *word[MAX_WORDS_PER_PHRASE];
    size_t nw = 0;
    strcpy(store, p->text);
    for (char *t = strtok(store, " "); t && nw < MAX_WORDS_PER_PHRASE; t = strtok(NULL, " ")) word[nw++] = t;
    /* pick[k]: the [pronounce] line word k is said with; F->n_pr: its dictionary one */
    size_t pick[MAX_WORDS_PER_PHRASE];
    for (size_t k = 0; k < nw; k++) pick[k] = F->n_pr;
    int lines = 0;
    for (;;) {
        char line[256];
        size_t o = 0;
        double t = p->threshold;
        for (size_t k = 0; k < nw; k++) {
            if (pick[k] < F->n_pr) {
                o += (size_t)snprintf(line + o, sizeof line - o, "%s%s_%zu", o ? " " : "", word[k], pick[k] + 2);
                t *= F->pr[pick[k]].stricter;
            } else {
                o += (size_t)snprintf(line + o, sizeof line - o, "%s%s", o ? " " : "", word[k]);
            }
        }
        if (t < 1 || lines == 0) {
            if (++lines > MAX_VARIANTS) {
                coach_set_err(err, cap, "%s:%d: '%s' has more than %d pronunciations to search ([pronounce])",
                              lf_path, p->line, p->text, MAX_VARIANTS);
                return COACH_EINVAL;
            }
            fprintf(out, "%s /%g/\n", line, t);
        }
        /* the next combination: word k's next [pronounce] line, or back to its own */
        size_t k = 0;
        for (; k < nw; k++) {
            size_t r = pick[k] == F->n_pr ? 0 : pick[k] + 1;
            while (r < F->n_pr && strcmp(F->pr[r].word, word[k]) != 0) r++;
            pick[k] = r;
            if (r < F->n_pr) break;
        }
        if (k == nw) return 0;
    }
}

/* Writes into g (GRAMMAR_BYTES) the grammar of the phrases ph[0..n): the
 * answers only with answers, none of those marked in without (if given).
 * Returns how many phrases it holds. */
static size_t grammar(char *g, const struct phrase *ph, size_t n, bool answers, const bool *without)
{
    size_t o = (size_t)sprintf(g, "#JSGF V1.0;\ngrammar coach;\npublic <command> = "), k = 0;
    for (size_t i = 0; i < n; i++)
        if ((answers || !CTL_IS_PAIN(ph[i].cmd)) && !(without && without[i]))
            o += (size_t)sprintf(g + o, "%s%s", k++ ? " | " : "", ph[i].text);
    strcpy(g + o, ";\n");
    return k;
}

/* The second decoder (see verify()): a grammar of the phrases, on the
 * same model and words. Its beams are wide: it decodes only the two
 * seconds around a detection, and a narrow beam loses the phrases of
 * voices the model fits badly. Silence is kept, so that its frames are
 * the samples' (a hit's end is placed by them). */
static int open_check(struct spotter *s, const struct listen_file *F, const char *model, const char *dict,
                      char *err, size_t cap)
{
    char topn[16];
    snprintf(topn, sizeof topn, "%d", F->gaussians);
    cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", model, "-dict", dict, "-samprate", "16000",
                                   "-remove_silence", "no", "-beam", "1e-80", "-pbeam", "1e-80", "-wbeam",
                                   "1e-80", F->gaussians ? "-topn" : NULL, topn, NULL);
    s->check = config ? ps_init(config) : NULL;
    if (config) cmd_ln_free_r(config);
    int rc = s->check ? 0 : COACH_ESPEECH;
    /* "commands": the phrases but the answers; "answers": all of them */
    for (int all = 0; all < 2 && !rc; all++) {
        grammar(s->grammar, F->ph, F->n, all, NULL);
        if (ps_set_jsgf_string(s->check, all ? "answers" : "commands", s->grammar) < 0) rc = COACH_ESPEECH;
    }
    if (!rc && ps_set_search(s->check, "commands") < 0) rc = COACH_ESPEECH;
    if (rc) coach_set_err(err, cap, "pocketsphinx could not open the model at %s for checking phrases", model);
    return rc;
}

int spotter_open(struct spotter **out, const char *listen_file, unsigned flags, char *err, size_t err_cap)
{
    *out = NULL;
    int loaded = load_pocketsphinx(err, err_cap);
    if (loaded) return loaded;
    err_set_logfp(NULL); /* before anything of sphinxbase can speak */
    struct listen_file *F = calloc(1, sizeof *F);
    struct spotter *s = calloc(1, sizeof *s);
    if (!F || !s) {
        free(F);
        free(s);
        coach_set_err(err, err_cap, "out of memory");
        return COACH_ENOMEM;
    }
    s->linear_from = NO_LINEAR;
    int rc = read_listen_file(listen_file, F, err, err_cap);
    if (!rc && (flags & SPOTTER_CANCELLED)) {
        if (F->canceller_gaussians) F->gaussians = F->canceller_gaussians;
        if (F->canceller_factor > 0)
            for (size_t i = 0; i < F->n; i++) F->ph[i].threshold *= F->canceller_factor;
    }
    char model[600], dict[600], kws_name[256] = "", all_name[256] = "", dict_name[256] = "";
    if (!rc) {
        data_path(F->model, model, sizeof model);
        data_path(F->dict, dict, sizeof dict);
        char mdef[700];
        snprintf(mdef, sizeof mdef, "%s/mdef", model);
        struct stat st;
        if (stat(mdef, &st) != 0) {
            coach_set_err(err, err_cap, "pocketsphinx model not found at %s: install pocketsphinx-en-us", model);
            rc = COACH_ENOTFOUND;
        }
    }
    FILE *kf = NULL, *af = NULL, *df = NULL;
    if (!rc && !(kf = temp_file(kws_name, sizeof kws_name, err, err_cap))) rc = COACH_EIO;
    if (!rc && !(af = temp_file(all_name, sizeof all_name, err, err_cap))) rc = COACH_EIO;
    if (!rc && !(df = temp_file(dict_name, sizeof dict_name, err, err_cap))) rc = COACH_EIO;
    if (!rc) rc = write_dict(F, listen_file, dict, df, err, err_cap);
    /* two keyword lists: the commands, and the commands with the answers
     * (searched only while a question waits: see spotter_answers()) */
    for (size_t i = 0; !rc && i < F->n; i++) {
        rc = write_kws(F, listen_file, &F->ph[i], af, err, err_cap);
        if (!rc && !CTL_IS_PAIN(F->ph[i].cmd)) rc = write_kws(F, listen_file, &F->ph[i], kf, err, err_cap);
    }
    if (kf && fclose(kf) != 0 && !rc) {
        coach_set_err(err, err_cap, "cannot write %s: %s", kws_name, strerror(errno));
        rc = COACH_EIO;
    }
    if (af && fclose(af) != 0 && !rc) {
        coach_set_err(err, err_cap, "cannot write %s: %s", all_name, strerror(errno));
        rc = COACH_EIO;
    }
    if (df && fclose(df) != 0 && !rc) {
        coach_set_err(err, err_cap, "cannot write %s: %s", dict_name, strerror(errno));
        rc = COACH_EIO;
    }
    if (!rc) {
        char plp[32];
        snprintf(plp, sizeof plp, "%g", F->phone_loop > 0 ? F->phone_loop : 0.1); /* 0.1: pocketsphinx's own */
        char topn[16];
        snprintf(topn, sizeof topn, "%d", F->gaussians);
        /* no search here: the two keyword searches are added below */
        cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", model, "-dict", dict_name, "-samprate",
                                       "16000", "-kws_plp", plp, F->gaussians ? "-topn" : NULL, topn, NULL);
        s->ps = config ? ps_init(config) : NULL;
        if (config) cmd_ln_free_r(config); /* the decoder keeps its own reference */
        if (s->ps && (ps_set_kws(s->ps, "commands", kws_name) < 0 || ps_set_kws(s->ps, "answers", all_name) < 0 ||
                      ps_set_search(s->ps, "commands") < 0)) {
            ps_free(s->ps);
            s->ps = NULL;
        }
        if (!s->ps) {
            coach_set_err(err, err_cap, "pocketsphinx could not open the model at %s with the phrases of %s",
                          model, listen_file);
            rc = COACH_ESPEECH;
        }
    }
    if (!rc) rc = open_check(s, F, model, dict_name, err, err_cap);
    if (kws_name[0]) unlink(kws_name);
    if (all_name[0]) unlink(all_name);
    if (dict_name[0]) unlink(dict_name);
    if (!rc && ps_start_utt(s->ps) < 0) {
        coach_set_err(err, err_cap, "pocketsphinx could not start listening");
        rc = COACH_ESPEECH;
    }
    if (rc) {
        if (s->ps) ps_free(s->ps);
        if (s->check) ps_free(s->check);
        free(s);
        free(F);
        return rc;
    }
    memcpy(s->ph, F->ph, sizeof s->ph);
    s->n = F->n;
    if (F->floor_line) s->floor_rms = 32768.0 * pow(10.0, F->floor_dbfs / 20.0);
    free(F);
    *out = s;
    return 0;
}

static const struct phrase *phrase_of(const struct spotter *s, const char *text, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->ph[i].text) == len && memcmp(s->ph[i].text, text, len) == 0) return &s->ph[i];
    return NULL;
}

static void queue(struct spotter *s, const struct phrase *p, uint64_t end)
{
    if (s->n_pending == PENDING_MAX) return; /* a caller that never collects */
    struct spotter_hit *h = &s->pending[s->n_pending++];
    h->cmd = p->cmd;
    snprintf(h->phrase, sizeof h->phrase, "%s", p->text);
    h->end_sample = end;
}

/* Restarts the search: what comes next is a new utterance. */
static int restart(struct spotter *s)
{
    if (ps_end_utt(s->ps) < 0) return COACH_ESPEECH;
    if (s->want_answers != s->answers) {
        if (ps_set_search(s->ps, s->want_answers ? "answers" : "commands") < 0 ||
            ps_set_search(s->check, s->want_answers ? "answers" : "commands") < 0)
            return COACH_ESPEECH;
        s->answers = s->want_answers;
    }
    if (ps_start_utt(s->ps) < 0) return COACH_ESPEECH;
    s->utt_start = s->fed;
    s->settle_until = 0;
    s->was_in_speech = false;
    return 0;
}

/* A silence or noise word of the model (<sil>, [NOISE], +SPN+...). */
static bool filler(const char *w) { return !w || w[0] == '<' || w[0] == '[' || w[0] == '+'; }

/* The RMS of pcm[0..n) over the frames f0..f1, in samples (0 when they
 * are not there), and its sum of squares into *sum, its samples into *len. */
static double frames_rms(const int16_t *pcm, size_t n, int f0, int f1, double *sum, size_t *len)
{
    *sum = 0;
    *len = 0;
    if (f0 < 0 || f1 < f0) return 0;
    size_t a = (size_t)f0 * FRAME_SAMPLES, b = (size_t)(f1 + 1) * FRAME_SAMPLES;
    if (b > n) b = n;
    for (size_t i = a; i < b; i++) *sum += (double)pcm[i] * pcm[i];
    *len = b > a ? b - a : 0;
    return *len ? sqrt(*sum / (double)*len) : 0;
}

enum verdict { TAKEN, NOT_A_PHRASE, TOO_SHORT, CUT_OFF, TOO_QUIET, SPEECH_INSIDE };
static const char *const verdict_words[] = {"taken", "refused, not a phrase", "refused, too short",
                                            "refused, cut off", "refused, too quiet",
                                            "refused, speech inside"};

/* What the grammar decoder's reading of the checked audio is worth. */
struct reading {
    const struct phrase *p;
    int ef;           /* the frame its last word ends on; -1: no word */
    double per_phone; /* frames per phone of its words */
    double rms;       /* of its words' frames, in samples */
    int inside;       /* frames the reading calls silence, between its words, as loud as speech */
    enum verdict v;
};

#define MAX_SEGS 64
/* Reads hyp and its segments (it) over the n samples of s->seg. */
static void read_hyp(struct spotter *s, const char *hyp, ps_seg_t *it, size_t n, struct reading *r)
{
    struct seg_span {
        int f0, f1;
        bool filler;
    } sg[MAX_SEGS];
    size_t k = 0;
    int frames = 0, phones = 0, sf = -1;
    bool crammed = false; /* a word in too few frames */
    double sum = 0;
    size_t len = 0;
    *r = (struct reading){.p = hyp ? phrase_of(s, hyp, strlen(hyp)) : NULL, .ef = -1};
    for (; it; it = ps_seg_next(it)) {
        int f0 = 0, f1 = 0;
        ps_seg_frames(it, &f0, &f1);
        const char *w = ps_seg_word(it);
        bool fill = filler(w);
        if (k < MAX_SEGS) sg[k++] = (struct seg_span){f0, f1, fill};
        if (fill) continue;
        frames += f1 - f0 + 1;
        if (sf < 0) sf = f0;
        r->ef = f1;
        double ws;
        size_t wl;
        frames_rms(s->seg, n, f0, f1, &ws, &wl);
        sum += ws;
        len += wl;
        const char *pron = ps_lookup_word(s->check, w); /* "K OW CH" */
        int word_phones = 0;
        for (const char *c = pron; c && *c; c++) word_phones += c == pron || (c[-1] == ' ' && *c != ' ');
        phones += word_phones;
        if (word_phones && f1 - f0 + 1 < MIN_WORD_PHONE_FRAMES * word_phones) crammed = true;
    }
    r->per_phone = phones ? (double)frames / phones : 0;
    r->rms = len ? sqrt(sum / (double)len) : 0;
    /* the grammar may call speech it cannot place silence, between the
     * words of a phrase it bends that speech to ("coach [where am] back") */
    for (size_t i = 0; i < k; i++) {
        if (!sg[i].filler || sg[i].f0 <= sf || sg[i].f1 >= r->ef) continue;
        double fs;
        size_t fl;
        if (frames_rms(s->seg, n, sg[i].f0, sg[i].f1, &fs, &fl) >= r->rms * INSIDE_LEVEL)
            r->inside += sg[i].f1 - sg[i].f0 + 1;
    }
    /* the phrase runs to the end of the audio: it goes on (collect() waited
     * up to SETTLE_MAX_SAMPLES for the speech to end), so it is a piece of
     * longer speech bent to a phrase, not a command said on its own */
    bool cut = r->ef >= (int)(n / FRAME_SAMPLES) - CUT_FRAMES;
    r->v = !r->p || r->ef < 0            ? NOT_A_PHRASE
           : r->per_phone < MIN_PHONE_FRAMES || crammed ? TOO_SHORT
           : cut                            ? CUT_OFF
           : r->rms < s->floor_rms          ? TOO_QUIET
           : r->inside > INSIDE_MAX_FRAMES  ? SPEECH_INSIDE
                                            : TAKEN;
}

/* An RMS in samples as dB under full scale. */
static double dbfs_of(double rms) { return 20 * log10(rms / 32768.0 + 1e-10); }

static void trace_reading(struct spotter *s, const char *what, const char *hyp, ps_seg_t *it,
                          const struct reading *r)
{
    fprintf(s->trace, "%s%s\"%s\"", what, *what ? " " : "", hyp ? hyp : "");
    for (; it; it = ps_seg_next(it)) {
        int f0 = 0, f1 = 0;
        ps_seg_frames(it, &f0, &f1);
        fprintf(s->trace, " %s[%d-%d]", ps_seg_word(it), f0, f1);
    }
    fprintf(s->trace, " %.1f frames/phone, %.1f dBFS, %d frames of speech inside: %s\n",
            r->per_phone, dbfs_of(r->rms), r->inside, verdict_words[r->v]);
}

/* One utterance of pcm[0..n) through the grammar decoder ps: 0, or -1. */
static int decode(ps_decoder_t *ps, const int16_t *pcm, size_t n)
{
    if (ps_start_utt(ps) < 0) return -1;
    int bad = ps_process_raw(ps, pcm, n, FALSE, TRUE) < 0;
    return ps_end_utt(ps) < 0 || bad ? -1 : 0;
}

/* Checks a detection: decodes the last CHECK_SAMPLES fed (the detection,
 * the phrase's start before it and its end after it) with a grammar of
 * all the phrases, which names the phrase said: kws weighs each phrase
 * alone, and a short one fits parts of longer ones. Returns the phrase,
 * its end sample into *end (NULL: no phrase, or one refused: see
 * read_hyp()); < 0 into *rc on failure. When the reading holds speech it
 * calls silence, the audio is decoded again without that phrase (the
 * lattice's n-best are pieces of paths, not other phrases): espeak-ng's
 * en+m7 "coach where am I" is read as "coach back", "where am" taken
 * for silence. */
static const struct phrase *verify(struct spotter *s, uint64_t *end, int *rc)
{
    uint64_t a = s->fed > CHECK_SAMPLES ? s->fed - CHECK_SAMPLES : 0;
    size_t n = (size_t)(s->fed - a);
    for (size_t i = 0; i < n; i++) s->seg[i] = s->ring[(a + i) % RING_SAMPLES];
    ps_decoder_t *ps = s->check;
    *rc = 0;
    if (decode(ps, s->seg, n) < 0) return *rc = COACH_ESPEECH, NULL;
    const char *hyp = ps_get_hyp(ps, NULL);
    struct reading r;
    read_hyp(s, hyp, ps_seg_iter(ps), n, &r);
    if (s->trace) {
        fprintf(s->trace, "check %.2f-%.2f s: ", (double)a / SPOTTER_RATE_HZ, (double)s->fed / SPOTTER_RATE_HZ);
        trace_reading(s, "", hyp, ps_seg_iter(ps), &r);
    }
    /* speech the reading called silence: the audio is decoded again
     * without its phrase, for one that takes in the whole utterance */
    bool without[MAX_PHRASES] = {false};
    for (int k = 0; r.v == SPEECH_INSIDE && k < RETRIES_MAX; k++) {
        without[r.p - s->ph] = true;
        if (!grammar(s->grammar, s->ph, s->n, s->answers, without)) break; /* none left */
        if (ps_set_jsgf_string(ps, "without", s->grammar) < 0 || ps_set_search(ps, "without") < 0)
            return *rc = COACH_ESPEECH, NULL;
        int bad = decode(ps, s->seg, n) < 0;
        if (!bad) {
            hyp = ps_get_hyp(ps, NULL);
            read_hyp(s, hyp, ps_seg_iter(ps), n, &r);
            if (s->trace) trace_reading(s, "  without it:", hyp, ps_seg_iter(ps), &r);
        }
        if (ps_set_search(ps, s->answers ? "answers" : "commands") < 0 || bad) return *rc = COACH_ESPEECH, NULL;
    }
    /* Behind coach's canceller, the same audio before its suppression is
     * read too (its words' level still measured after it): the suppression
     * bends a command said over the coach (a /p/'s burst goes with the
     * echo: "coach pause" read "coach back"), while before it the coach's
     * residual may run on into the command's end ("cut off"). A reading
     * taken by one and refused by the other is taken; where both are taken
     * and differ, the one whose words are louder, that is, lie on the
     * command rather than on what is left around it. Measured over the
     * coach's speech (docs/PERFORMANCE.md, stop 31): 133 of 140 heard
     * instead of 125, 3 heard as another command instead of 7, and no
     * cell worse at any of four room noise levels. */
    if (s->linear_from <= a) {
        for (size_t i = 0; i < n; i++) s->seg_linear[i] = s->ring_linear[(a + i) % RING_SAMPLES];
        if (decode(ps, s->seg_linear, n) < 0) return *rc = COACH_ESPEECH, NULL;
        struct reading lr;
        hyp = ps_get_hyp(ps, NULL);
        read_hyp(s, hyp, ps_seg_iter(ps), n, &lr);
        if (s->trace) trace_reading(s, "  before the suppression:", hyp, ps_seg_iter(ps), &lr);
        if (lr.v == TAKEN && (r.v != TAKEN || lr.rms > r.rms)) r = lr;
    }
    if (r.v == TOO_QUIET) s->quiet = r.p, s->quiet_dbfs = dbfs_of(r.rms);
    if (r.v != TAKEN) return NULL;
    const struct phrase *p = r.p;
    int ef = r.ef;
    *end = a + (uint64_t)(ef + 1) * FRAME_SAMPLES;
    return p;
}

/* After a block. A detection is not taken at once: kws finds "coach
 * stop" inside "coach softer" before its end, "coach back" in "coach
 * pause"; the search goes on for SETTLE_SAMPLES, then the grammar names
 * the phrase said (verify()). Then the search restarts, so one utterance
 * is one hit. */
static int collect(struct spotter *s)
{
    const char *hyp = ps_get_hyp(s->ps, NULL);
    if (!hyp || !*hyp) {
        /* Speech ended and nothing was heard: restart. The search's
         * cepstral mean (sphinxbase's live CMN) moves only when an utterance
         * ends or after 800 frames of speech: a voice far from the model's
         * starting mean (espeak-ng's: c0 62 against 41) was otherwise heard
         * with the wrong mean until a hit or the 30 s restart, and missed
         * without a hit: its first 8 commands in a row. Also bounds the
         * state over hours of listening. */
        bool speech = ps_get_in_speech(s->ps);
        bool ended = s->was_in_speech && !speech;
        s->was_in_speech = speech;
        if (ended || (s->fed - s->utt_start > RESTART_SAMPLES && !speech)) return restart(s);
        return 0;
    }
    if (!s->settle_until) {
        s->settle_until = s->fed + SETTLE_SAMPLES;
        s->detected_at = s->fed;
        if (s->trace)
            fprintf(s->trace, "kws \"%s\" at %.2f s (utterance from %.2f s)\n", hyp, (double)s->fed / SPOTTER_RATE_HZ,
                    (double)s->utt_start / SPOTTER_RATE_HZ);
    }
    if (s->fed < s->settle_until) return 0;
    /* ... and until the speech has ended (at most SETTLE_MAX_SAMPLES):
     * kws finds "coach pause" in the first half of a slow "coach next",
     * and 300 ms later the grammar, given half a word, named "coach done" */
    if (ps_get_in_speech(s->ps) && s->fed < s->detected_at + SETTLE_MAX_SAMPLES) return 0;
    uint64_t end = 0;
    int rc = 0;
    const struct phrase *p = verify(s, &end, &rc);
    if (rc) return rc;
    if (p) queue(s, p, end);
    return restart(s);
}

int spotter_feed(struct spotter *s, const int16_t *pcm, size_t n, struct spotter_hit *hit)
{
    return spotter_feed_both(s, pcm, NULL, n, hit);
}

int spotter_feed_both(struct spotter *s, const int16_t *pcm, const int16_t *linear, size_t n,
                      struct spotter_hit *hit)
{
    if (n && !linear)
        s->linear_from = NO_LINEAR;
    else if (n && s->linear_from == NO_LINEAR)
        s->linear_from = s->fed;
    for (size_t at = 0; at < n;) {
        size_t len = n - at < BLOCK_SAMPLES ? n - at : BLOCK_SAMPLES;
        if (ps_process_raw(s->ps, pcm + at, len, FALSE, FALSE) < 0) return COACH_ESPEECH;
        for (size_t i = 0; i < len; i++) s->ring[(s->fed + i) % RING_SAMPLES] = pcm[at + i];
        if (linear)
            for (size_t i = 0; i < len; i++) s->ring_linear[(s->fed + i) % RING_SAMPLES] = linear[at + i];
        s->fed += len;
        at += len;
        int rc = collect(s);
        if (rc) return rc;
    }
    if (!s->n_pending) return 0;
    *hit = s->pending[0];
    memmove(s->pending, s->pending + 1, (s->n_pending - 1) * sizeof s->pending[0]);
    s->n_pending--;
    return 1;
}

void spotter_trace(struct spotter *s, FILE *f) { s->trace = f; }

int spotter_answers(struct spotter *s, bool on)
{
    s->want_answers = on;
    /* at once unless a detection waits for its check (then at its restart) */
    return s->want_answers != s->answers && !s->settle_until ? restart(s) : 0;
}

int spotter_refused_quiet(struct spotter *s, char *phrase, size_t cap, double *dbfs)
{
    if (!s->quiet) return 0;
    snprintf(phrase, cap, "%s", s->quiet->text);
    *dbfs = s->quiet_dbfs;
    s->quiet = NULL;
    return 1;
}

void spotter_close(struct spotter *s)
{
    if (!s) return;
    ps_end_utt(s->ps);
    ps_free(s->ps);
    ps_free(s->check);
    free(s);
}

/* "en-US+f3" -> "en-us"; "gmw/en" -> "en". */
static void norm_language(const char *in, char *out, size_t cap)
{
    const char *slash = strrchr(in, '/');
    if (slash) in = slash + 1;
    size_t o = 0;
    for (; *in && *in != '+' && o + 1 < cap; in++) {
        char c = (char)tolower((unsigned char)*in);
        out[o++] = c == '_' ? '-' : c;
    }
    out[o] = 0;
}

int spotter_find(const char *dir, const char *language, char *out, size_t out_cap)
{
    char lang[64];
    norm_language(language, lang, sizeof lang);
    /* en-us-x -> en-us -> en: the most specific file first */
    for (;;) {
        if (!*lang || !strchr("abcdefghijklmnopqrstuvwxyz", lang[0]) || strchr(lang, '.'))
            return COACH_ENOTFOUND;
        char path[4096];
        int l = snprintf(path, sizeof path, "%s/%s.ini", dir, lang);
        struct stat st;
        if (l > 0 && (size_t)l < sizeof path && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if ((size_t)l >= out_cap) return COACH_ENOTFOUND;
            memcpy(out, path, (size_t)l + 1);
            return 0;
        }
        char *dash = strrchr(lang, '-');
        if (!dash) return COACH_ENOTFOUND;
        *dash = 0;
    }
}
