/* Pronunciation lexicon: whole-word, case-insensitive replacement applied
 * just before synthesis (see lexicon.h). Linear search: a profile has a
 * few dozen entries and a phrase a few words. */
#include "coach/lexicon.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coach/common.h"

bool lexicon_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '\'' || c >= 0x80;
}

bool lexicon_word_ok(const char *word)
{
    size_t n = strlen(word);
    if (n == 0 || n > LEXICON_MAX_WORD_BYTES) return false;
    for (size_t i = 0; i < n; i++)
        if (!lexicon_word_byte((unsigned char)word[i])) return false;
    return true;
}

long lexicon_find(const struct lexicon *lx, const char *word, size_t n)
{
    for (size_t i = 0; lx && i < lx->n; i++)
        if (strlen(lx->word[i]) == n && strncasecmp(lx->word[i], word, n) == 0) return (long)i;
    return -1;
}

int lexicon_add(struct lexicon *lx, const char *word, const char *replacement, int line,
                unsigned char file)
{
    if (lx->n == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 16;
        char **w = realloc(lx->word, cap * sizeof *w);
        if (w) lx->word = w;
        char **r = realloc(lx->replacement, cap * sizeof *r);
        if (r) lx->replacement = r;
        int *l = realloc(lx->line, cap * sizeof *l);
        if (l) lx->line = l;
        unsigned char *f = realloc(lx->file, cap * sizeof *f);
        if (f) lx->file = f;
        if (!w || !r || !l || !f) return COACH_ENOMEM;
        lx->cap = cap;
    }
    char *w = coach_strdup(word), *r = coach_strdup(replacement);
    if (!w || !r) {
        free(w);
        free(r);
        return COACH_ENOMEM;
    }
    lx->word[lx->n] = w;
    lx->replacement[lx->n] = r;
    lx->line[lx->n] = line;
    lx->file[lx->n] = file;
    lx->n++;
    return 0;
}

char *lexicon_apply(const struct lexicon *lx, const char *text)
{
    size_t n_text = strlen(text);
    if (!lx || !lx->n) return coach_strdup(text);
    /* the longest it can grow: every word of one byte replaced */
    size_t cap = n_text + 1;
    for (const char *p = text; *p;) {
        if (!lexicon_word_byte((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *s = p;
        while (*p && lexicon_word_byte((unsigned char)*p)) p++;
        long k = lexicon_find(lx, s, (size_t)(p - s));
        if (k >= 0) cap += strlen(lx->replacement[k]);
    }
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    for (const char *p = text; *p;) {
        if (!lexicon_word_byte((unsigned char)*p)) {
            *o++ = *p++;
            continue;
        }
        const char *s = p;
        while (*p && lexicon_word_byte((unsigned char)*p)) p++;
        size_t n = (size_t)(p - s);
        long k = lexicon_find(lx, s, n);
        const char *r = k >= 0 ? lx->replacement[k] : s;
        size_t rn = k >= 0 ? strlen(r) : n;
        memcpy(o, r, rn);
        o += rn;
    }
    *o = 0;
    return out;
}

void lexicon_free(struct lexicon *lx)
{
    for (size_t i = 0; i < lx->n; i++) {
        free(lx->word[i]);
        free(lx->replacement[i]);
    }
    free(lx->word);
    free(lx->replacement);
    free(lx->line);
    free(lx->file);
    memset(lx, 0, sizeof *lx);
}
