/* Voice profiles: the espeak-ng voice and settings, and every phrase the
 * coach says as a template with {placeholders}. Parsed with the shared
 * INI reader (coach/inireader.h), so every error carries its own line
 * and line-level problems read as they do in routine files; validated so a
 * profile can never make the coach say "{secnds}". */
#define _POSIX_C_SOURCE 200809L
#include "coach/voice.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coach/catalog.h"
#include "coach/common.h"
#include "coach/inireader.h"
#include "coach/speech.h"
#include "coach/textsafe.h"

#define X_KEY(e, key) key,
static const char *const phrase_keys[PHRASE_COUNT] = {COACH_PHRASES(X_KEY)};
static const char *const noun_keys[NOUN_COUNT] = {COACH_NOUNS(X_KEY)};
#undef X_KEY

/* Every placeholder a template may use. */
static const char *const placeholders[] = {"title", "name",  "side",    "phase",  "text",
                                           "n",     "total", "set",     "sets",   "seconds",
                                           "minutes", "reps", "cycles", "duration"};

const char *phrase_key(enum phrase_id id)
{
    return (unsigned)id < PHRASE_COUNT ? phrase_keys[id] : "?";
}

const char *voice_phrase_file(const struct voice *v, enum phrase_id id)
{
    unsigned k = (unsigned)id < PHRASE_COUNT ? v->phrase_file[id] : 0;
    return k && k <= VOICE_MAX_BASES && v->base_files[k - 1] ? v->base_files[k - 1] : v->path;
}

/* One file being read (a profile or one of its bases). */
struct vload {
    struct voice *v;
    struct ini_lines *lines; /* also where messages go */
    int espeak_line;         /* where 'espeak' or 'voice' was given (even if rejected) */
    int engine_line;         /* where 'engine' was given */
    const char *voice_key;   /* "espeak" or "voice": which one it was */
    int rate_line, pitch_line, volume_line, plural_line; /* given here: not inherited */
    int noun_line[NOUN_COUNT][2];
    char *base;    /* "base = ..." as written, or NULL */
    int base_line;
    bool base_failed; /* a base was named but could not be used (said so) */
    int rc;
};

/* The profiles being read, outermost first: a base already among them
 * closes a cycle. From memory there is no chain (no base can be found). */
struct chain {
    int n;
    unsigned long long dev[VOICE_MAX_BASES + 1], ino[VOICE_MAX_BASES + 1];
    const char *name[VOICE_MAX_BASES + 1];
};

static int parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    long x = strtol(s, &end, 10);
    if (end == s || *end || x < lo || x > hi) return -1;
    *out = (int)x;
    return 0;
}

/* Checks that every {...} names a known placeholder and braces balance. A
 * noun takes {n} only: its other placeholders would expand to nouns again
 * ("seconds_other = {seconds}" recursed until the stack overflowed). */
static void check_template(struct vload *L, const char *t, int line, const char *key, bool noun)
{
    for (const char *p = t; *p; p++) {
        if (*p == '}') {
            ini_lines_error(L->lines, line, "unmatched '}' in '%s'", key);
            return;
        }
        if (*p != '{') continue;
        const char *e = strchr(p, '}');
        if (!e) {
            ini_lines_error(L->lines, line, "unclosed '{' in '%s'", key);
            return;
        }
        size_t n = (size_t)(e - p - 1);
        if (noun) {
            if (n != 1 || p[1] != 'n')
                ini_lines_error(L->lines, line,
                                "placeholder '{%.*s}' in noun '%s': a noun takes only {n}", (int)n,
                                p + 1, key);
            p = e;
            continue;
        }
        bool known = false;
        for (size_t i = 0; i < sizeof placeholders / sizeof *placeholders; i++)
            if (strlen(placeholders[i]) == n && strncmp(placeholders[i], p + 1, n) == 0)
                known = true;
        if (!known)
            ini_lines_error(L->lines, line, "unknown placeholder '{%.*s}' in '%s'", (int)n, p + 1,
                            key);
        p = e;
    }
}

static int set_text(struct vload *L, char **slot, int *slot_line, const char *value, int line,
                    const char *key, bool noun)
{
    if (*slot) {
        ini_lines_error(L->lines, line, "duplicate key '%s' (first on line %d)", key, *slot_line);
        return 1;
    }
    if (!*value) {
        ini_lines_error(L->lines, line, "empty value for '%s'", key);
        return 1;
    }
    *slot = coach_strdup(value);
    if (!*slot) L->rc = COACH_ENOMEM;
    *slot_line = line;
    check_template(L, value, line, key, noun);
    return 1;
}

/* "word = replacement" of [lexicon]: one whole word, said as the
 * replacement (words, apostrophes, hyphens and spaces: no placeholders). */
static void add_lexicon_entry(struct vload *L, const char *word, const char *value, int line)
{
    struct lexicon *lx = &L->v->lexicon;
    const char *shown = ini_lines_quote(L->lines, word, strlen(word));
    if (!lexicon_word_ok(word)) {
        ini_lines_error(L->lines, line,
                        "lexicon word '%s' must be one word: letters, digits and apostrophes, at "
                        "most %d bytes",
                        shown, LEXICON_MAX_WORD_BYTES);
        return;
    }
    long k = lexicon_find(lx, word, strlen(word));
    if (k >= 0) {
        ini_lines_error(L->lines, line, "duplicate lexicon word '%s' (first on line %d)", shown,
                        lx->line[k]);
        return;
    }
    size_t n = strlen(value);
    bool said = false, plain = n <= LEXICON_MAX_REPLACEMENT_BYTES;
    for (size_t i = 0; i < n && plain; i++) {
        unsigned char c = (unsigned char)value[i];
        said = said || lexicon_word_byte(c);
        plain = lexicon_word_byte(c) || c == ' ' || c == '-';
    }
    if (!said || !plain) {
        ini_lines_error(L->lines, line,
                        "lexicon '%s': the replacement must be words (letters, digits, "
                        "apostrophes, hyphens and spaces, at most %d bytes), not '%s'",
                        shown, LEXICON_MAX_REPLACEMENT_BYTES,
                        ini_lines_quote(L->lines, value, n));
        return;
    }
    if (lx->n >= LEXICON_MAX_ENTRIES) {
        ini_lines_error(L->lines, line, "too many lexicon words (at most %d)",
                        LEXICON_MAX_ENTRIES);
        return;
    }
    if (lexicon_add(lx, word, value, line, 0)) L->rc = COACH_ENOMEM;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct vload *L = user;
    struct voice *v = L->v;
    int line = ini_lines_current(L->lines);
    if (strcmp(section, "voice") == 0) {
        if (strcmp(name, "espeak") == 0 || strcmp(name, "voice") == 0) {
            const char *key = name[0] == 'e' ? "espeak" : "voice";
            if (L->espeak_line) {
                ini_lines_error(L->lines, line, "'%s' and '%s' both name the voice (first on "
                                "line %d): keep one", L->voice_key, key, L->espeak_line);
                return 1;
            }
            L->espeak_line = line;
            L->voice_key = key;
            if (!*value) {
                ini_lines_error(L->lines, line, "empty value for '%s'", key);
            } else if (!speech_voice_name_ok(value)) {
                /* an engine reads a name as a path, espeak-ng copies a
                 * variant into a fixed buffer: only a plain name reaches it */
                char shown[61]; /* its first 60 bytes, on a character boundary */
                text_safe(shown, sizeof shown, value);
                ini_lines_error(L->lines, line,
                                "%s voice '%s%s' is not a voice name: letters, digits, "
                                "'-' and '_', at most one '+variant' (en-us, en-us+f3), at most "
                                "%d characters, %d after the '+' ('coach voices' lists them)",
                                key, shown, strlen(value) > 60 ? "..." : "",
                                SPEECH_VOICE_NAME_MAX, SPEECH_VARIANT_MAX);
            } else {
                free(v->espeak_voice);
                if (!(v->espeak_voice = coach_strdup(value))) L->rc = COACH_ENOMEM;
            }
        } else if (strcmp(name, "engine") == 0) {
            if (L->engine_line) {
                ini_lines_error(L->lines, line, "duplicate key 'engine' (first on line %d)",
                                L->engine_line);
                return 1;
            }
            L->engine_line = line;
            if (speech_engine_parse(value, &v->engine))
                ini_lines_error(L->lines, line, "unknown engine '%s': espeak-ng or flite",
                                ini_lines_quote(L->lines, value, strlen(value)));
        } else if (strcmp(name, "base") == 0) {
            if (L->base_line) {
                ini_lines_error(L->lines, line, "duplicate key 'base' (first on line %d)",
                                L->base_line);
            } else if (!*value) {
                ini_lines_error(L->lines, line, "empty value for 'base'");
            } else {
                L->base_line = line;
                if (!(L->base = coach_strdup(value))) L->rc = COACH_ENOMEM;
            }
        } else if (strcmp(name, "rate") == 0) {
            L->rate_line = line;
            if (parse_int(value, 80, 450, &v->rate_wpm))
                ini_lines_error(L->lines, line, "rate must be 80-450 words per minute, not '%s'",
                                value);
        } else if (strcmp(name, "pitch") == 0) {
            L->pitch_line = line;
            if (parse_int(value, 0, 100, &v->pitch))
                ini_lines_error(L->lines, line, "pitch must be 0-100, not '%s'", value);
        } else if (strcmp(name, "volume") == 0) {
            L->volume_line = line;
            if (parse_int(value, 0, 200, &v->volume))
                ini_lines_error(L->lines, line, "volume must be 0-200, not '%s'", value);
        } else if (strcmp(name, "plural") == 0) {
            L->plural_line = line;
            if (strcmp(value, "one_is_1") == 0)
                v->plural = PLURAL_ONE_IS_1;
            else if (strcmp(value, "one_is_01") == 0)
                v->plural = PLURAL_ONE_IS_01;
            else
                ini_lines_error(L->lines, line, "plural must be one_is_1 or one_is_01, not '%s'",
                                value);
        } else {
            ini_lines_error(L->lines, line, "unknown key '%s' in [voice]", name);
        }
    } else if (strcmp(section, "phrases") == 0) {
        for (int i = 0; i < PHRASE_COUNT; i++)
            if (strcmp(name, phrase_keys[i]) == 0)
                return set_text(L, &v->phrases[i], &v->phrase_line[i], value, line, name, false);
        /* retired (the menu says one count, "N exercises", no longer the
         * steps): still read, so older profiles keep working */
        if (strcmp(name, "menu_steps") == 0) return 1;
        ini_lines_error(L->lines, line, "unknown phrase '%s'", name);
    } else if (strcmp(section, "lexicon") == 0) {
        add_lexicon_entry(L, name, value, line);
    } else if (strcmp(section, "nouns") == 0) {
        for (int i = 0; i < NOUN_COUNT; i++) {
            size_t k = strlen(noun_keys[i]);
            if (strncmp(name, noun_keys[i], k) != 0) continue;
            if (strcmp(name + k, "_one") == 0)
                return set_text(L, &v->noun_one[i], &L->noun_line[i][0], value, line, name, true);
            if (strcmp(name + k, "_other") == 0)
                return set_text(L, &v->noun_other[i], &L->noun_line[i][1], value, line, name,
                                true);
        }
        ini_lines_error(L->lines, line, "unknown noun '%s'", name);
    } else {
        ini_lines_error(L->lines, line, "unknown section [%s]", section);
    }
    return 1;
}

static char *name_from_path(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 4 && strcmp(b + n - 4, ".ini") == 0) n -= 4;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = 0;
    }
    return s;
}

/* Sets v's defaults and its names from path; 0 or COACH_ENOMEM (v freed). */
static int voice_init(struct voice *v, const char *path)
{
    memset(v, 0, sizeof *v);
    v->path = coach_strdup(path);
    v->name = name_from_path(path);
    v->rate_wpm = 165;
    v->pitch = 50;
    v->volume = 100;
    if (!v->path || !v->name) {
        voice_free(v);
        return COACH_ENOMEM;
    }
    return 0;
}

/* Bytes a placeholder's number can take ("-9223372036854775808"). */
#define NUMBER_MAX_BYTES 20

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static size_t grown_bytes(const struct voice *v, const char *t, size_t text_max);

/* The longer form of a counted noun, its {n} filled. */
static size_t noun_max(const struct voice *v, enum noun_id id)
{
    return max_size(grown_bytes(v, v->noun_one[id], 0), grown_bytes(v, v->noun_other[id], 0));
}

/* The most template t can grow to once its placeholders are filled: its
 * own bytes, a number's 20 for each {n}, and for the others the most they
 * bring (text_max for {text}, the longest noun for a counted noun). A
 * noun's template has only {n} (check_template), so this ends. */
static size_t grown_bytes(const struct voice *v, const char *t, size_t text_max)
{
    size_t n = 0;
    for (const char *p = t; p && *p;) {
        const char *o = strchr(p, '{');
        const char *e = o ? strchr(o, '}') : NULL;
        if (!o || !e) {
            n += strlen(p);
            break;
        }
        n += (size_t)(o - p);
        size_t k = (size_t)(e - o - 1);
#define IS(name) (k == strlen(name) && strncmp(o + 1, name, k) == 0)
        if (IS("n") || IS("total") || IS("set") || IS("sets")) n += NUMBER_MAX_BYTES;
        else if (IS("seconds")) n += noun_max(v, NOUN_SECONDS);
        else if (IS("minutes")) n += noun_max(v, NOUN_MINUTES);
        else if (IS("duration")) n += max_size(noun_max(v, NOUN_SECONDS), noun_max(v, NOUN_MINUTES));
        else if (IS("reps")) n += noun_max(v, NOUN_REPS);
        else if (IS("cycles")) n += noun_max(v, NOUN_BREATHS);
        else if (IS("text")) n += text_max;
        else n += VOICE_MAX_ARG_BYTES;
#undef IS
        p = e + 1;
    }
    return n;
}

/* A phrase that could grow past VOICE_MAX_PHRASE_BYTES is an error at its
 * line (in the file it came from: a base's, maybe): found here, before any
 * routine is planned or any speech made ("{title}" 140 times made a
 * 74-minute intro). Returns the errors added, or -1 on no memory. */
static int check_growth(struct coach_diags *d, const struct voice *v)
{
    /* {text} is a routine's text, or a level word said by --progress */
    size_t text_max = VOICE_MAX_ARG_BYTES;
    static const enum phrase_id level_words[] = {PH_LEVEL_EASY, PH_LEVEL_MEDIUM, PH_LEVEL_HARD};
    for (size_t i = 0; i < sizeof level_words / sizeof *level_words; i++)
        text_max = max_size(text_max, strlen(v->phrases[level_words[i]]));
    int n_err = 0;
    for (int i = 0; i < PHRASE_COUNT; i++) {
        size_t n = grown_bytes(v, v->phrases[i], text_max);
        if (n <= VOICE_MAX_PHRASE_BYTES) continue;
        if (diags_add(d, voice_phrase_file(v, (enum phrase_id)i), v->phrase_line[i],
                      "phrase '%s' can grow to %zu bytes once its placeholders are filled "
                      "(at most %d): use fewer placeholders",
                      phrase_keys[i], n, VOICE_MAX_PHRASE_BYTES))
            return -1;
        n_err++;
    }
    return n_err;
}

/* Missing phrases and nouns named in a message, at most this many. */
#define MISSING_LISTED 8

/* Everything the profile and its bases left unset, said once: a profile
 * with only [voice] is one message with the way out, not 55. */
static void check_complete(struct vload *L)
{
    struct voice *v = L->v;
    struct ini_lines *lines = L->lines;
    if (!v->espeak_voice && !L->espeak_line) ini_lines_error(lines, 0, "missing 'espeak' (or 'voice') in [voice]");
    char list[512] = "", one[96] = "";
    int n = 0;
    for (int i = 0; i < PHRASE_COUNT + 2 * NOUN_COUNT; i++) {
        char key[64];
        if (i < PHRASE_COUNT) {
            if (v->phrases[i] || VOICE_PHRASE_OPTIONAL(i)) continue;
            snprintf(key, sizeof key, "%s", phrase_keys[i]);
            snprintf(one, sizeof one, "missing phrase '%s'", key);
        } else {
            int k = (i - PHRASE_COUNT) / 2;
            bool other = (i - PHRASE_COUNT) % 2;
            if (other ? v->noun_other[k] : v->noun_one[k]) continue;
            snprintf(key, sizeof key, "%s%s", noun_keys[k], other ? "_other" : "_one");
            snprintf(one, sizeof one, "missing noun '%s'", key);
        }
        if (n < MISSING_LISTED)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", n ? ", " : "", key);
        n++;
    }
    if (n == 1) {
        ini_lines_error(lines, 0, "%s", one);
    } else if (n > 1) {
        char more[32] = "";
        if (n > MISSING_LISTED) snprintf(more, sizeof more, " and %d more", n - MISSING_LISTED);
        if (L->base_line)
            ini_lines_error(lines, 0,
                            "missing %d phrases and nouns: %s%s; neither this profile nor its "
                            "bases give them",
                            n, list, more);
        else
            ini_lines_error(lines, 0,
                            "missing %d phrases and nouns: %s%s; write 'base = en-us' in [voice] "
                            "to start from a complete profile (it gives every phrase and setting "
                            "this one does not), or write them all",
                            n, list, more);
    }
}

static int read_layer(struct vload *L, struct chain *ch);

/* The voice this file names (or, when it names only the engine, none: a
 * base's espeak-ng voice means nothing to flite) is one its engine knows. */
static void check_engine_voice(struct vload *L)
{
    struct voice *v = L->v;
    if (L->engine_line && !L->espeak_line) {
        ini_lines_error(L->lines, L->engine_line,
                        "'engine = %s' needs 'voice =' in the same [voice] ('coach voices' lists "
                        "the voices of each engine)",
                        speech_engine_name(v->engine));
        return;
    }
    if (!L->espeak_line || !v->espeak_voice) return;
    if (L->voice_key && strcmp(L->voice_key, "espeak") == 0 && v->engine != SPEECH_ESPEAK) {
        ini_lines_error(L->lines, L->espeak_line,
                        "'espeak =' names an espeak-ng voice, but the engine is %s: write "
                        "'voice =' instead",
                        speech_engine_name(v->engine));
        return;
    }
    /* flite's voices are compiled in: a name it lacks is known here; an
     * espeak-ng voice depends on what is installed (said when it is used) */
    if (v->engine == SPEECH_FLITE && !speech_voice_available(SPEECH_FLITE, v->espeak_voice,
                                                             NULL, 0))
        ini_lines_error(L->lines, L->espeak_line,
                        "flite has no voice '%s': slt, rms, awb or kal16",
                        ini_lines_quote(L->lines, v->espeak_voice, strlen(v->espeak_voice)));
}

/* Where base names a profile: a path (with a '/' or ending in .ini)
 * relative to from's directory, else a name in the search directories,
 * passing over from itself (dev, ino). */
static int find_base(const char *from, const char *base, unsigned long long dev,
                     unsigned long long ino, char **path)
{
    size_t len = strlen(base);
    if (!strchr(base, '/') && !(len > 4 && strcmp(base + len - 4, ".ini") == 0))
        return catalog_find_other(CATALOG_VOICES, base, dev, ino, path);
    const char *slash = strrchr(from, '/');
    char *p = base[0] == '/' || !slash ? coach_strdup(base)
                                       : coach_asprintf("%.*s/%s", (int)(slash - from), from, base);
    if (!p) return COACH_ENOMEM;
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(p);
        return COACH_ENOTFOUND;
    }
    *path = p;
    return 0;
}

/* "a -> b -> c" from the chain and one more name, into buf. */
static const char *chain_text(const struct chain *ch, const char *last, char *buf, size_t cap)
{
    buf[0] = 0;
    for (int i = 0; i < ch->n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s -> ", ch->name[i]);
    snprintf(buf + strlen(buf), cap - strlen(buf), "%s", last);
    return buf;
}

/* Takes from b every phrase, noun and setting L's profile did not give. */
static void take_unset(struct vload *L, struct voice *b)
{
    struct voice *v = L->v;
#define TAKE(dst, src) \
    do {               \
        if (!(dst)) {  \
            (dst) = (src); \
            (src) = NULL;  \
        }              \
    } while (0)
    if (!L->espeak_line) TAKE(v->espeak_voice, b->espeak_voice);
    /* 'espeak =' says the engine too (a profile on a flite base that names
     * an espeak-ng voice speaks with espeak-ng) */
    bool says_espeak = L->voice_key && strcmp(L->voice_key, "espeak") == 0;
    if (!L->engine_line && !says_espeak) v->engine = b->engine;
    /* the base's words this profile does not give, one file further */
    for (size_t i = 0; i < b->lexicon.n && !L->rc; i++) {
        const char *w = b->lexicon.word[i];
        if (lexicon_find(&v->lexicon, w, strlen(w)) < 0 &&
            lexicon_add(&v->lexicon, w, b->lexicon.replacement[i], b->lexicon.line[i],
                        (unsigned char)(b->lexicon.file[i] + 1)))
            L->rc = COACH_ENOMEM;
    }
    if (!L->rate_line) v->rate_wpm = b->rate_wpm;
    if (!L->pitch_line) v->pitch = b->pitch;
    if (!L->volume_line) v->volume = b->volume;
    if (!L->plural_line) v->plural = b->plural;
    for (int i = 0; i < PHRASE_COUNT; i++)
        if (!v->phrases[i] && b->phrases[i]) {
            TAKE(v->phrases[i], b->phrases[i]);
            v->phrase_line[i] = b->phrase_line[i];
            v->phrase_file[i] = (unsigned char)(b->phrase_file[i] + 1);
        }
    for (int i = 0; i < NOUN_COUNT; i++) {
        TAKE(v->noun_one[i], b->noun_one[i]);
        TAKE(v->noun_other[i], b->noun_other[i]);
    }
#undef TAKE
    /* b's bases are one further away; the chain's depth limit keeps them in */
    v->base_files[0] = b->path;
    b->path = NULL;
    for (int k = 0; k + 1 < VOICE_MAX_BASES; k++) {
        v->base_files[k + 1] = b->base_files[k];
        b->base_files[k] = NULL;
    }
}

/* Reads L's base (named at L->base_line) and takes what L's profile left
 * unset. A base that cannot be used is said at L's line (its own errors at
 * its own lines); returns 0 or COACH_ENOMEM. */
static int read_base(struct vload *L, struct chain *ch)
{
    struct ini_lines *lines = L->lines;
    const char *shown = ini_lines_quote(lines, L->base, strlen(L->base));
    L->base_failed = true;
    if (!ch) {
        ini_lines_error(lines, L->base_line,
                        "base '%s': a profile read from memory cannot start from another", shown);
        return 0;
    }
    char *path = NULL;
    int rc = find_base(L->v->path, L->base, ch->dev[ch->n - 1], ch->ino[ch->n - 1], &path);
    struct stat st;
    if (rc == COACH_ENOTFOUND) {
        /* the name is this very profile's, and no other has it */
        char *self = NULL;
        if (catalog_find_other(CATALOG_VOICES, L->base, 0, 0, &self) == 0) {
            path = self;
            rc = 0;
        }
    }
    if (rc == COACH_ENOMEM) return rc;
    if (rc || stat(path, &st) != 0) {
        ini_lines_error(lines, L->base_line, "no voice profile '%s' (coach voices lists them)",
                        shown);
        free(path);
        return 0;
    }
    char *name = name_from_path(path);
    if (!name) {
        free(path);
        return COACH_ENOMEM;
    }
    char text[(VOICE_MAX_BASES + 2) * 64];
    for (int i = 0; i < ch->n; i++)
        if (ch->dev[i] == (unsigned long long)st.st_dev &&
            ch->ino[i] == (unsigned long long)st.st_ino) {
            ini_lines_error(lines, L->base_line, "base '%s' leads back to itself: %s", shown,
                            chain_text(ch, name, text, sizeof text));
            rc = -1;
            break;
        }
    if (!rc && ch->n > VOICE_MAX_BASES) {
        ini_lines_error(lines, L->base_line, "base '%s' is more than %d bases deep: %s", shown,
                        VOICE_MAX_BASES, chain_text(ch, name, text, sizeof text));
        rc = -1;
    }
    if (rc) {
        free(name);
        free(path);
        return 0;
    }
    struct voice b;
    rc = voice_init(&b, path);
    if (rc) {
        free(name);
        free(path);
        return rc;
    }
    ch->dev[ch->n] = (unsigned long long)st.st_dev;
    ch->ino[ch->n] = (unsigned long long)st.st_ino;
    ch->name[ch->n++] = name;
    struct ini_lines bl;
    rc = ini_lines_open_file(&bl, b.path, lines->d);
    if (!rc) {
        struct vload BL = {.v = &b, .lines = &bl};
        rc = read_layer(&BL, ch);
    }
    ch->n--;
    free(name);
    if (rc == COACH_ENOMEM) {
        ini_lines_close(&bl);
        voice_free(&b);
        free(path);
        return rc;
    }
    if (rc) {
        ini_lines_error(lines, L->base_line, "base '%s' has errors (%s)", shown,
                        ini_lines_quote(lines, path, strlen(path)));
    } else {
        take_unset(L, &b);
        L->base_failed = false;
    }
    ini_lines_close(&bl);
    voice_free(&b);
    free(path);
    return 0;
}

/* Parses one file's keys into L's profile, then takes what they leave
 * unset from its base (and so on down the chain). Nothing is checked for
 * completeness here: a base may lack what its child gives. Returns 0,
 * COACH_EINVAL (this file or a base had errors) or COACH_ENOMEM. */
static int read_layer(struct vload *L, struct chain *ch)
{
    if (ini_lines_parse(L->lines, handler, NULL, L)) L->rc = COACH_ENOMEM;
    if (!L->rc && L->base) L->rc = read_base(L, ch);
    free(L->base);
    L->base = NULL;
    if (!L->rc) check_engine_voice(L);
    if (L->lines->nomem) L->rc = COACH_ENOMEM;
    if (L->rc) return L->rc;
    return L->lines->n_err ? COACH_EINVAL : 0;
}

/* Parses the opened text (and its bases) into v and checks that nothing is
 * missing; on failure v is freed. */
static int voice_read(struct ini_lines *lines, struct voice *v, struct chain *ch)
{
    struct vload L = {.v = v, .lines = lines};
    int rc = read_layer(&L, ch);
    if (rc != COACH_ENOMEM && !L.base_failed) {
        check_complete(&L);
    }
    if (rc != COACH_ENOMEM && !lines->n_err && rc == 0) {
        int n = check_growth(lines->d, v);
        if (n < 0) rc = COACH_ENOMEM;
        else if (n) rc = COACH_EINVAL;
    }
    if (lines->nomem) rc = COACH_ENOMEM;
    if (!rc && lines->n_err) rc = COACH_EINVAL;
    if (rc) voice_free(v);
    return rc;
}

int voice_load(const char *path, struct voice *v, struct coach_diags *d)
{
    int rc = voice_init(v, path);
    if (rc) return rc;
    struct ini_lines lines;
    rc = ini_lines_open_file(&lines, path, d);
    struct stat st = {0}; /* its identity, to find cycles; none if it just went */
    if (!rc && stat(path, &st) != 0) memset(&st, 0, sizeof st);
    if (rc) {
        voice_free(v);
    } else {
        struct chain ch = {.n = 1,
                           .dev = {(unsigned long long)st.st_dev},
                           .ino = {(unsigned long long)st.st_ino},
                           .name = {v->name}};
        rc = voice_read(&lines, v, &ch);
    }
    ini_lines_close(&lines);
    return rc;
}

int voice_parse(const char *name, const char *text, size_t len, struct voice *v,
                struct coach_diags *d)
{
    int rc = voice_init(v, name ? name : "");
    if (rc) return rc;
    struct ini_lines lines;
    ini_lines_open_mem(&lines, name ? name : "", text ? text : "", text ? len : 0, d);
    rc = voice_read(&lines, v, NULL);
    ini_lines_close(&lines);
    return rc;
}

void voice_language(const struct voice *v, char *buf, size_t cap)
{
    speech_voice_language(v->engine, v->espeak_voice ? v->espeak_voice : "", buf, cap);
}

void voice_free(struct voice *v)
{
    free(v->path);
    free(v->name);
    free(v->espeak_voice);
    for (int i = 0; i < PHRASE_COUNT; i++) free(v->phrases[i]);
    for (int i = 0; i < NOUN_COUNT; i++) {
        free(v->noun_one[i]);
        free(v->noun_other[i]);
    }
    for (int k = 0; k < VOICE_MAX_BASES; k++) free(v->base_files[k]);
    lexicon_free(&v->lexicon);
    memset(v, 0, sizeof *v);
}

/* A growable string for template expansion. */
struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_long(struct sbuf *b, long x)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%ld", x);
    sb_put(b, tmp, (size_t)n);
}

static bool is_one(const struct voice *v, long n)
{
    return n == 1 || (v->plural == PLURAL_ONE_IS_01 && n == 0);
}

/* Expands template t; nouns recurse one level (their {n} is the count). */
static char *expand(const struct voice *v, const char *t, const struct phrase_args *a)
{
    struct sbuf b = {0};
    sb_put(&b, "", 0);
    for (const char *p = t; *p;) {
        const char *o = strchr(p, '{');
        const char *e = o ? strchr(o, '}') : NULL;
        if (!o || !e) {
            sb_put(&b, p, strlen(p));
            break;
        }
        sb_put(&b, p, (size_t)(o - p));
        size_t n = (size_t)(e - o - 1);
        const char *k = o + 1;
#define IS(name) (n == strlen(name) && strncmp(k, name, n) == 0)
        const char *s = NULL;
        char *owned = NULL;
        if (IS("title")) s = a->title;
        else if (IS("name")) s = a->name;
        else if (IS("side")) s = a->side;
        else if (IS("phase")) s = a->phase;
        else if (IS("text")) s = a->text;
        else if (IS("duration")) s = a->duration;
        else if (IS("n")) sb_long(&b, a->n);
        else if (IS("total")) sb_long(&b, a->total);
        else if (IS("set")) sb_long(&b, a->set);
        else if (IS("sets")) sb_long(&b, a->sets);
        else if (IS("seconds")) s = owned = voice_noun(v, NOUN_SECONDS, a->seconds);
        else if (IS("minutes")) s = owned = voice_noun(v, NOUN_MINUTES, a->minutes);
        else if (IS("reps")) s = owned = voice_noun(v, NOUN_REPS, a->reps);
        else if (IS("cycles")) s = owned = voice_noun(v, NOUN_BREATHS, a->cycles);
#undef IS
        if (s) sb_put(&b, s, strlen(s));
        free(owned);
        p = e + 1;
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

char *voice_noun(const struct voice *v, enum noun_id id, long n)
{
    const char *t = is_one(v, n) ? v->noun_one[id] : v->noun_other[id];
    struct phrase_args a = {.n = n};
    return expand(v, t ? t : "{n}", &a);
}

/* Routine text is often written in lower case ("left leg") but is spoken,
 * captioned and shown as a sentence: an ASCII letter that starts a sentence
 * gets its capital. */
static void capitalize_sentences(char *s)
{
    bool start = true;
    for (char *p = s; *p; p++) {
        if (start && *p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
        if (*p != ' ') start = (*p == '.' || *p == '!' || *p == '?' || *p == ':') && p[1] == ' ';
    }
}

char *voice_format(const struct voice *v, enum phrase_id id, const struct phrase_args *a)
{
    static const struct phrase_args none;
    char *s = expand(v, v->phrases[id] ? v->phrases[id] : "", a ? a : &none);
    if (s) capitalize_sentences(s);
    return s;
}

_Static_assert(PH_DONE_VOICE + VOICE_IN_KEYS - 1 == PH_DONE_KEYS &&
                   PH_DONE_VOICE + VOICE_IN_BUTTON - 1 == PH_DONE_BUTTON &&
                   PH_DONE_VOICE + VOICE_IN_ALL - 1 == PH_DONE_VOICE_KEYS_BUTTON,
               "the done phrases follow the input bits");

char *voice_format_done(const struct voice *v, enum phrase_id id, const struct phrase_args *a,
                        unsigned inputs)
{
    char *s = voice_format(v, id, a);
    inputs &= VOICE_IN_ALL;
    const char *how = inputs ? v->phrases[PH_DONE_VOICE + inputs - 1] : NULL;
    if (!s || !*s || !how || !*how) return s;
    char *h = voice_format(v, (enum phrase_id)(PH_DONE_VOICE + inputs - 1), NULL);
    char *both = h ? coach_asprintf("%s %s", s, h) : NULL;
    free(s);
    free(h);
    return both;
}
