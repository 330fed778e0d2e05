/* A pronunciation lexicon: whole words replaced by what a synthesizer
 * says better ("supine = soo-pine"), case-insensitively, in the text given
 * to the synthesizer only (captions and the terminal keep the real words).
 * A voice profile's [lexicon] section fills one (voice.c). */
#ifndef COACH_LEXICON_H
#define COACH_LEXICON_H

#include <stdbool.h>
#include <stddef.h>

/* Limits a profile's [lexicon] is checked against. */
#define LEXICON_MAX_ENTRIES 500
#define LEXICON_MAX_WORD_BYTES 40
#define LEXICON_MAX_REPLACEMENT_BYTES 80

struct lexicon {
    size_t n, cap;
    char **word;        /* as written; compared ignoring ASCII case */
    char **replacement;
    int *line;          /* where each entry was written (its file's line) */
    unsigned char *file; /* which file: 0 the profile's, k its base k (voice.h) */
};

/* A byte that belongs to a word: an ASCII letter or digit, an apostrophe,
 * or any byte of a UTF-8 sequence (letters of other scripts). */
bool lexicon_word_byte(unsigned char c);
/* 1 if word is one whole word (only word bytes, 1 to LEXICON_MAX_WORD_BYTES). */
bool lexicon_word_ok(const char *word);
/* The entry for word (length n), or -1. */
long lexicon_find(const struct lexicon *lx, const char *word, size_t n);
/* Adds an entry (copies); 0 or COACH_ENOMEM. */
int lexicon_add(struct lexicon *lx, const char *word, const char *replacement, int line,
                unsigned char file);
/* text with every whole word of lx replaced: a new string (NULL: no memory). */
char *lexicon_apply(const struct lexicon *lx, const char *text);
void lexicon_free(struct lexicon *lx);

#endif
