/* The keyword spotter (include/coach/spotter.h): reads the listen file,
 * writes the phrases and just their words' pronunciations to two private
 * temporary files (pocketsphinx reads a keyword list and a dictionary only
 * from files; the whole 130 000-word dictionary would cost a second and
 * 30 MB to load), opens pocketsphinx's keyword search on them and feeds it
 * in small blocks, so that a hit's end is known to 30 ms and the search can
 * restart right after it. pocketsphinx's logging is switched off: coach's
 * stderr stays its own. */
#define _POSIX_C_SOURCE 200809L
#include "coach/spotter.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include "coach/common.h"
#include "coach/diag.h"
#include "coach/inireader.h"

#ifndef COACH_PS_MODELDIR
#define COACH_PS_MODELDIR "/usr/share/pocketsphinx/model"
#endif

#define MAX_PHRASES 64
#define MAX_WORDS_PER_PHRASE 8
#define BLOCK_SAMPLES 480       /* 30 ms: how finely a hit's end is placed */
#define FRAME_SAMPLES 160       /* pocketsphinx: 100 frames per second at 16 kHz */
#define RESTART_SAMPLES (SPOTTER_RATE_HZ * 30) /* a long quiet utterance restarts */
#define PENDING_MAX 8
#define CAND_MAX 16
#define SETTLE_SAMPLES (SPOTTER_RATE_HZ * 3 / 10) /* 300 ms: see collect() */

struct phrase {
    char text[64];     /* "coach pause": single spaces, lower case */
    enum ctl_cmd cmd;
    double threshold;  /* pocketsphinx's keyword threshold */
    int line;          /* where it is in the listen file */
};

struct listen_file {
    char model[512], dict[512];
    int model_line, dict_line;
    struct phrase ph[MAX_PHRASES];
    size_t n;
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
    struct candidate {
        const struct phrase *p; /* into ph */
        int sf, ef;             /* frames of the utterance (100 per second) */
        int32_t prob;           /* pocketsphinx's log score */
    } cand[CAND_MAX];           /* what this utterance's search has found */
    size_t n_cand;
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

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct listen_file *F = user;
    struct ini_lines *L = F->lines;
    int line = ini_lines_current(L);
    (void)section;
    if (!F->section) return 0; /* an unknown section: said once at its header */
    if (strcmp(F->section, "listen") == 0) {
        bool is_model = strcmp(name, "model") == 0;
        if (!is_model && strcmp(name, "dict") != 0) {
            ini_lines_error(L, line, "unknown key '%s' in [listen] (model, dict)", name);
            return 0;
        }
        char *dst = is_model ? F->model : F->dict;
        int *dst_line = is_model ? &F->model_line : &F->dict_line;
        if (*dst_line) {
            ini_lines_error(L, line, "duplicate key '%s' (first on line %d)", name, *dst_line);
            return 0;
        }
        if (!*value || strlen(value) >= sizeof F->model) {
            ini_lines_error(L, line, "%s must be a path of 1-%zu bytes", name, sizeof F->model - 1);
            return 0;
        }
        strcpy(dst, value);
        *dst_line = line;
        return 0;
    }
    /* [commands]: phrase = command threshold */
    struct phrase p = {.line = line};
    const char *why;
    if (norm_phrase(name, p.text, sizeof p.text, &why)) {
        ini_lines_error(L, line, "'%s': %s", ini_lines_quote(L, name, strlen(name)), why);
        return 0;
    }
    char word[32] = "", rest[64] = "";
    int got = sscanf(value, "%31s %63s", word, rest);
    if (got < 1 || (p.cmd = ctl_from_word(word)) == CTL_NONE) {
        ini_lines_error(L, line, "'%s' is not a command (%s)", ini_lines_quote(L, value, strlen(value)),
                        ctl_words_help());
        return 0;
    }
    char *end = NULL;
    errno = 0;
    p.threshold = got == 2 ? strtod(rest, &end) : 0;
    if (got < 2 || errno || !end || *end || !(p.threshold > 0 && p.threshold <= 1)) {
        ini_lines_error(L, line, "'%s' needs a threshold after the command, above 0 and at most 1 (like 1e-30)",
                        p.text);
        return 0;
    }
    {
        /* nothing may follow the threshold */
        const char *v = value;
        for (int k = 0; k < 2; k++) {
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
    else
        ini_lines_error(F->lines, ini_lines_current(F->lines), "unknown section [%s] (listen, commands)",
                        name);
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
    return 0;
}

int spotter_open(struct spotter **out, const char *listen_file, char *err, size_t err_cap)
{
    *out = NULL;
    err_set_logfp(NULL); /* before anything of sphinxbase can speak */
    struct listen_file *F = calloc(1, sizeof *F);
    struct spotter *s = calloc(1, sizeof *s);
    if (!F || !s) {
        free(F);
        free(s);
        coach_set_err(err, err_cap, "out of memory");
        return COACH_ENOMEM;
    }
    int rc = read_listen_file(listen_file, F, err, err_cap);
    char model[600], dict[600], kws_name[256] = "", dict_name[256] = "";
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
    FILE *kf = NULL, *df = NULL;
    if (!rc && !(kf = temp_file(kws_name, sizeof kws_name, err, err_cap))) rc = COACH_EIO;
    if (!rc && !(df = temp_file(dict_name, sizeof dict_name, err, err_cap))) rc = COACH_EIO;
    if (!rc) rc = write_dict(F, listen_file, dict, df, err, err_cap);
    if (!rc)
        for (size_t i = 0; i < F->n; i++) fprintf(kf, "%s /%g/\n", F->ph[i].text, F->ph[i].threshold);
    if (kf && fclose(kf) != 0 && !rc) {
        coach_set_err(err, err_cap, "cannot write %s: %s", kws_name, strerror(errno));
        rc = COACH_EIO;
    }
    if (df && fclose(df) != 0 && !rc) {
        coach_set_err(err, err_cap, "cannot write %s: %s", dict_name, strerror(errno));
        rc = COACH_EIO;
    }
    if (!rc) {
        cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", model, "-dict", dict_name, "-kws",
                                       kws_name, "-samprate", "16000", NULL);
        s->ps = config ? ps_init(config) : NULL;
        if (config) cmd_ln_free_r(config); /* the decoder keeps its own reference */
        if (!s->ps) {
            coach_set_err(err, err_cap, "pocketsphinx could not open the model at %s with the phrases of %s",
                          model, listen_file);
            rc = COACH_ESPEECH;
        }
    }
    if (kws_name[0]) unlink(kws_name);
    if (dict_name[0]) unlink(dict_name);
    if (!rc && ps_start_utt(s->ps) < 0) {
        coach_set_err(err, err_cap, "pocketsphinx could not start listening");
        rc = COACH_ESPEECH;
    }
    if (rc) {
        if (s->ps) ps_free(s->ps);
        free(s);
        free(F);
        return rc;
    }
    memcpy(s->ph, F->ph, sizeof s->ph);
    s->n = F->n;
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
    if (ps_end_utt(s->ps) < 0 || ps_start_utt(s->ps) < 0) return COACH_ESPEECH;
    s->utt_start = s->fed;
    s->settle_until = 0;
    s->n_cand = 0;
    return 0;
}

/* Notes each detection the search has made, once: pocketsphinx keeps only
 * the likeliest of overlapping ones, and a short phrase ("coach back")
 * that fits the start of a longer one ("coach pause") is likelier
 * because it is shorter. */
static void note_candidates(struct spotter *s)
{
    for (ps_seg_t *seg = ps_seg_iter(s->ps); seg; seg = ps_seg_next(seg)) {
        const char *w = ps_seg_word(seg);
        size_t wl = w ? strlen(w) : 0;
        while (wl && w[wl - 1] == ' ') wl--; /* pocketsphinx ends it with a blank */
        const struct phrase *p = w ? phrase_of(s, w, wl) : NULL;
        if (!p) continue;
        int sf = 0, ef = 0;
        ps_seg_frames(seg, &sf, &ef);
        bool known = false;
        for (size_t i = 0; i < s->n_cand && !known; i++)
            known = s->cand[i].p == p && s->cand[i].ef == ef;
        if (known || s->n_cand == CAND_MAX) continue;
        struct candidate *c = &s->cand[s->n_cand++];
        c->p = p;
        c->sf = sf;
        c->ef = ef;
        c->prob = ps_seg_prob(seg, NULL, NULL, NULL);
    }
}

/* After a block. A detection is not taken at once: "coach stop" is found
 * inside "coach softer" before its end, "coach back" in "coach pause";
 * the search goes on for SETTLE_SAMPLES, and then of every phrase found
 * the one that spans the most frames wins (the whole phrase said, not a
 * phrase that fits a part of it). Then the search restarts, so one
 * utterance is one hit. */
static int collect(struct spotter *s)
{
    const char *hyp = ps_get_hyp(s->ps, NULL);
    if (!hyp || !*hyp) {
        if (s->fed - s->utt_start > RESTART_SAMPLES && !ps_get_in_speech(s->ps))
            return restart(s); /* bounded state over hours of listening: restart in a pause */
        return 0;
    }
    note_candidates(s);
    if (!s->settle_until) s->settle_until = s->fed + SETTLE_SAMPLES;
    if (s->fed < s->settle_until) return 0;
    const struct candidate *best = NULL;
    for (size_t i = 0; i < s->n_cand; i++)
        if (!best || s->cand[i].ef - s->cand[i].sf > best->ef - best->sf) best = &s->cand[i];
    if (best) {
        uint64_t end = s->utt_start + (uint64_t)(best->ef + 1) * FRAME_SAMPLES;
        queue(s, best->p, best->ef < 0 || end > s->fed ? s->fed : end);
    } else {
        /* no segment: the hypothesis names the phrases, space-separated;
         * take the first one it starts with */
        for (size_t i = 0; i < s->n; i++) {
            size_t l = strlen(s->ph[i].text);
            if (strncmp(hyp, s->ph[i].text, l) == 0 && (hyp[l] == 0 || hyp[l] == ' ')) {
                queue(s, &s->ph[i], s->fed);
                break;
            }
        }
    }
    return restart(s);
}

int spotter_feed(struct spotter *s, const int16_t *pcm, size_t n, struct spotter_hit *hit)
{
    for (size_t at = 0; at < n;) {
        size_t len = n - at < BLOCK_SAMPLES ? n - at : BLOCK_SAMPLES;
        if (ps_process_raw(s->ps, pcm + at, len, FALSE, FALSE) < 0) return COACH_ESPEECH;
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

void spotter_close(struct spotter *s)
{
    if (!s) return;
    ps_end_utt(s->ps);
    ps_free(s->ps);
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
