/* Routine files: reading an INI text into a struct routine and validating
 * it once. The shared INI reader (coach/inireader.h) hands us each key,
 * reports every malformed, over-long, binary or non-UTF-8 line and tells us
 * of every section header (even an empty or repeated one); here each
 * header's kind and id are checked, the handler checks each key against a
 * table for its section kind, and the end of each section checks the rules
 * between keys. Every problem becomes one "file:line: message" diagnostic. */
#include "coach/routine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/inireader.h"

#define ID_MAX_BYTES 64    /* step ids */
#define VOICE_MAX_BYTES 64 /* voice profile names */
#define MAX_KEYS 20        /* at least the keys of the largest table (exercise) */

/* routine.h states the reader's limits for its users: keep them the same. */

/* What a key's value is and how it is stored. */
enum ktype {
    KT_TEXT,        /* char *: non-empty text */
    KT_TEXTS,       /* struct strlist: repeatable text key, one item per line */
    KT_LIST,        /* struct strlist: comma list; lo = fewest items */
    KT_SEC,         /* uint32_t ms: seconds with up to 3 decimals; lo..hi in ms */
    KT_SEC_RANGE,   /* struct range in ms */
    KT_COUNT,       /* uint32_t: whole number; lo..hi */
    KT_COUNT_RANGE, /* struct range of whole numbers */
    KT_TEMPO,       /* tempo_ms[] + n_tempo: comma list of seconds; lo..hi in ms */
    KT_BPM,         /* uint32_t: 0 or lo..hi */
    KT_VOICE,       /* char *: [a-z0-9_-]+ */
    KT_LEVEL,       /* enum level */
    KT_BOOL,        /* bool: yes or no */
    KT_PACE,        /* bool: "self" (true) or "timed" (false) */
    KT_SPEECH_RATE, /* int: words per minute lo..hi, or slower (ROUTINE_SPEECH_SLOWER) */
};

struct keydef {
    const char *name;
    enum ktype type;
    size_t off;      /* field offset in struct routine or struct step */
    uint32_t lo, hi; /* limits, in ms for seconds */
    int required;    /* 1 = missing key is an error */
};

#define RK(f) offsetof(struct routine, f)
#define SK(f) offsetof(struct step, f)

static const struct keydef routine_keys[] = {
    {"title", KT_TEXT, RK(title), 0, 0, 1},
    {"summary", KT_TEXT, RK(summary), 0, 0, 0},
    {"voice", KT_VOICE, RK(voice), 0, 0, 0},
    {"caution", KT_TEXTS, RK(cautions), 0, 0, 0},
    {"stop_safely", KT_TEXT, RK(stop_safely), 0, 0, 0},
    {"rest", KT_SEC, RK(rest_ms), 0, 600000, 0},
    {"prepare", KT_SEC, RK(prepare_ms), 0, 120000, 0},
    {"countdown", KT_COUNT, RK(countdown_s), 0, 10, 0},
    {"level", KT_LEVEL, RK(level), 0, 0, 0},
    {"before", KT_LIST, RK(before), 1, 0, 0},
    {"after", KT_LIST, RK(after), 1, 0, 0},
    {"remind", KT_SEC, RK(remind_ms), 0, 600000, 0},
};

static const struct keydef exercise_keys[] = {
    {"name", KT_TEXT, SK(name), 0, 0, 1},
    {"setup", KT_TEXTS, SK(setup), 0, 0, 0},
    {"cue", KT_TEXT, SK(cue), 0, 0, 0},
    {"tip", KT_TEXT, SK(tip), 0, 0, 0},
    {"finish", KT_TEXT, SK(finish), 0, 0, 0},
    {"sides", KT_LIST, SK(sides), 2, 0, 0},
    {"sets", KT_COUNT_RANGE, SK(sets), 1, 20, 0},
    {"reps", KT_COUNT_RANGE, SK(reps), 1, 100, 0},
    {"hold", KT_SEC_RANGE, SK(hold_ms), 1000, 600000, 0},
    {"tempo", KT_TEMPO, SK(tempo_ms), 500, 60000, 0},
    {"phases", KT_LIST, SK(phases), 1, 0, 0},
    {"duration", KT_SEC_RANGE, SK(duration_ms), 1000, 3600000, 0},
    {"rest_reps", KT_SEC, SK(rest_reps_ms), 0, 600000, 0},
    {"rest_sets", KT_SEC, SK(rest_sets_ms), 0, 600000, 0},
    {"metronome", KT_BPM, SK(metronome_bpm), 20, 240, 0},
    {"alternate", KT_BOOL, SK(alternate), 0, 0, 0},
    {"pace", KT_PACE, SK(pace_self), 0, 0, 0},
    {"speech_rate", KT_SPEECH_RATE, SK(speech_rate), 80, 450, 0},
};

static const struct keydef breathing_keys[] = {
    {"name", KT_TEXT, SK(name), 0, 0, 1},
    {"setup", KT_TEXTS, SK(setup), 0, 0, 0},
    {"cue", KT_TEXT, SK(cue), 0, 0, 0},
    {"tip", KT_TEXT, SK(tip), 0, 0, 0},
    {"finish", KT_TEXT, SK(finish), 0, 0, 0},
    {"inhale", KT_SEC, SK(inhale_ms), 1000, 30000, 1},
    {"hold", KT_SEC, SK(breath_hold_ms), 0, 30000, 0},
    {"exhale", KT_SEC, SK(exhale_ms), 1000, 30000, 1},
    {"hold_out", KT_SEC, SK(hold_out_ms), 0, 30000, 0},
    {"cycles", KT_COUNT_RANGE, SK(cycles), 1, 100, 1},
    {"spoken_cycles", KT_COUNT, SK(spoken_cycles), 0, 100, 0},
    {"speech_rate", KT_SPEECH_RATE, SK(speech_rate), 80, 450, 0},
};

static const struct keydef rest_keys[] = {
    {"seconds", KT_SEC_RANGE, SK(rest_ms), 1000, 3600000, 1},
    {"say", KT_TEXT, SK(text), 0, 0, 0},
    {"speech_rate", KT_SPEECH_RATE, SK(speech_rate), 80, 450, 0},
};

static const struct keydef say_keys[] = {
    {"text", KT_TEXT, SK(text), 0, 0, 1},
    {"unless_after", KT_LIST, SK(unless_after), 1, 0, 0},
    {"speech_rate", KT_SPEECH_RATE, SK(speech_rate), 80, 450, 0},
};

/* Section kinds: 0 is [routine], 1 + enum step_kind are the steps. */
#define N_SECT 5
static const char *const sect_names[N_SECT] = {"routine", "exercise", "breathing", "rest", "say"};
static const struct keydef *const sect_keys[N_SECT] = {routine_keys, exercise_keys, breathing_keys,
                                                       rest_keys, say_keys};
static const size_t sect_nkeys[N_SECT] = {
    sizeof routine_keys / sizeof routine_keys[0], sizeof exercise_keys / sizeof exercise_keys[0],
    sizeof breathing_keys / sizeof breathing_keys[0], sizeof rest_keys / sizeof rest_keys[0],
    sizeof say_keys / sizeof say_keys[0]};

enum { SECT_NONE = -1, SECT_SKIP = -2 }; /* before any header; keys ignored */

struct parser {
    struct ini_lines in; /* input, line number, messages and their cap */
    struct routine *r;   /* being filled */
    int nomem;           /* an allocation failed */

    /* the current section; in.section_dropped: skip "missing key" */
    int sect;              /* 0..N_SECT-1, SECT_NONE or SECT_SKIP */
    void *base;            /* struct routine or struct step being filled */
    int sect_line;         /* line of its header */
    char label[160];       /* "[exercise bridge]" for messages */
    int seen[MAX_KEYS];    /* line of each key's first use, 0 if unused */
    int bad[MAX_KEYS];     /* 1 if that key's value was rejected */
    int guessed[MAX_KEYS]; /* 1 if "did you mean" named it: not "missing" too */

    /* the whole file */
    int routine_line;     /* first [routine] header, 0 if none yet */
    int first_other_line; /* first header that is not [routine], 0 if none */
    int too_many_steps;   /* reported once */
    size_t cap_steps;     /* allocated entries of r->steps */
};

/* ---- messages ---- */

/* The reader's messages and ours share one cap. */
#define err(p, ...) ini_lines_error(&(p)->in, __VA_ARGS__)
#define LINE(p) ini_lines_current(&(p)->in)

static const char *qn(struct parser *p, const char *s, size_t n)
{
    return ini_lines_quote(&p->in, s, n);
}

static const char *q(struct parser *p, const char *s)
{
    return qn(p, s, strlen(s));
}

/* Seconds from milliseconds for messages: "30", "0.5", "1.25". */
static const char *secs(char buf[24], uint32_t ms)
{
    if (ms % 1000 == 0) {
        snprintf(buf, 24, "%u", (unsigned)(ms / 1000));
    } else {
        int n = snprintf(buf, 24, "%u.%03u", (unsigned)(ms / 1000), (unsigned)(ms % 1000));
        while (n > 0 && buf[n - 1] == '0')
            buf[--n] = 0;
    }
    return buf;
}

/* Optimal string alignment distance, case-insensitive, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return SIZE_MAX;
    size_t dm[41][41];
    for (size_t i = 0; i <= la; i++)
        dm[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        dm[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            char ca = a[i - 1], cb = b[j - 1];
            if (ca >= 'A' && ca <= 'Z') ca = (char)(ca - 'A' + 'a');
            if (cb >= 'A' && cb <= 'Z') cb = (char)(cb - 'A' + 'a');
            size_t v = dm[i - 1][j - 1] + (ca != cb);
            if (dm[i - 1][j] + 1 < v) v = dm[i - 1][j] + 1;
            if (dm[i][j - 1] + 1 < v) v = dm[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                dm[i - 2][j - 2] + 1 < v)
                v = dm[i - 2][j - 2] + 1;
            dm[i][j] = v;
        }
    }
    return dm[la][lb];
}

/* The nearest of names[] if it is close enough to be a likely typo. */
static const char *nearest(const char *s, const char *const *names, size_t n, size_t stride)
{
    const char *best = NULL;
    size_t bd = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const char *c = *(const char *const *)((const char *)names + i * stride);
        size_t dist = edit_distance(s, c);
        if (dist < bd) {
            bd = dist;
            best = c;
        }
    }
    size_t allowed = strlen(s) <= 3 ? 1 : 2;
    return bd <= allowed ? best : NULL;
}

/* ---- small helpers ---- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static char *dup_n(struct parser *p, const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (!c) {
        p->nomem = 1;
        return NULL;
    }
    memcpy(c, s, n);
    c[n] = 0;
    return c;
}

static int strlist_push(struct parser *p, struct strlist *l, const char *s, size_t n)
{
    char *c = dup_n(p, s, n);
    char **items = c ? realloc(l->items, (l->len + 1) * sizeof *items) : NULL;
    if (!items) {
        free(c);
        p->nomem = 1;
        return COACH_ENOMEM;
    }
    items[l->len++] = c;
    l->items = items;
    return 0;
}

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

/* ---- sections ---- */

static void finish_section(struct parser *p);

static struct step *new_step(struct parser *p, enum step_kind kind, const char *id, size_t id_len)
{
    struct routine *r = p->r;
    if (r->n_steps == p->cap_steps) {
        size_t cap = p->cap_steps ? p->cap_steps * 2 : 16;
        if (cap > ROUTINE_MAX_STEPS) cap = ROUTINE_MAX_STEPS;
        struct step *s = realloc(r->steps, cap * sizeof *s);
        if (!s) {
            p->nomem = 1;
            return NULL;
        }
        r->steps = s;
        p->cap_steps = cap;
    }
    struct step *s = &r->steps[r->n_steps++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->line = LINE(p);
    s->sets = (struct range){1, 1};
    s->reps = (struct range){1, 1};
    s->rest_sets_ms = 30000;
    s->spoken_cycles = 2;
    if (id_len) s->id = dup_n(p, id, id_len);
    return s;
}

static int valid_id(const char *s, size_t n)
{
    if (n == 0 || n > ID_MAX_BYTES) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
        if (!ok) return 0;
    }
    return 1;
}

/* The reader's section hook. With NULL the current section ends (at a
 * header line, before the reader checks it, and at the end of the file);
 * keys are ignored until a well-formed header comes, as "kind id" (trimmed,
 * not empty). */
static void section_header(void *user, const char *in)
{
    struct parser *p = user;
    if (!in) {
        finish_section(p);
        p->sect = SECT_SKIP;
        p->base = NULL;
        p->sect_line = LINE(p);
        memset(p->seen, 0, sizeof p->seen);
        memset(p->bad, 0, sizeof p->bad);
        memset(p->guessed, 0, sizeof p->guessed);
        return;
    }
    size_t in_len = strlen(in);
    size_t kl = 0;
    while (kl < in_len && !is_blank(in[kl]))
        kl++;
    const char *id = in + kl;
    size_t id_len = in_len - kl;
    while (id_len && is_blank(*id))
        id++, id_len--;

    int sect = -1;
    for (int i = 0; i < N_SECT; i++)
        if (strlen(sect_names[i]) == kl && memcmp(sect_names[i], in, kl) == 0) sect = i;
    if (sect < 0) {
        char kind[48];
        const char *kq = qn(p, in, kl);
        snprintf(kind, sizeof kind, "%.*s", (int)(kl < 47 ? kl : 47), in);
        const char *near = nearest(kind, sect_names, N_SECT, sizeof sect_names[0]);
        if (near)
            err(p, LINE(p), "unknown section kind '%s'; did you mean '%s'?", kq, near);
        else
            err(p, LINE(p),
                "unknown section kind '%s'; expected routine, exercise, breathing, rest or say",
                kq);
        if (!p->first_other_line) p->first_other_line = LINE(p);
        return;
    }

    if (sect == 0) {
        if (id_len) err(p, LINE(p), "[routine] takes no id, got '%s'", qn(p, id, id_len));
        if (p->routine_line) {
            err(p, LINE(p), "repeated [routine] section (first on line %d)", p->routine_line);
            return;
        }
        p->routine_line = LINE(p);
        if (p->first_other_line)
            err(p, LINE(p), "[routine] must be the first section (line %d comes before it)",
                p->first_other_line);
        p->sect = 0;
        p->base = p->r;
        snprintf(p->label, sizeof p->label, "[routine]");
        return;
    }

    if (!p->first_other_line) p->first_other_line = LINE(p);
    if (p->r->n_steps >= ROUTINE_MAX_STEPS) {
        if (!p->too_many_steps) err(p, LINE(p), "too many steps (at most %d)", ROUTINE_MAX_STEPS);
        p->too_many_steps = 1;
        return;
    }
    snprintf(p->label, sizeof p->label, "[%s%s%s]", sect_names[sect], id_len ? " " : "",
             id_len ? qn(p, id, id_len) : "");
    int id_ok = 0;
    if (id_len == 0) {
        err(p, LINE(p), "missing id in [%s]; write [%s <id>]", sect_names[sect], sect_names[sect]);
    } else if (!valid_id(id, id_len)) {
        err(p, LINE(p),
            "bad id '%s': use lower-case letters, digits, '_' and '-', starting with a letter or "
            "digit (at most %d bytes)",
            qn(p, id, id_len), ID_MAX_BYTES);
    } else {
        id_ok = 1;
        for (size_t i = 0; i < p->r->n_steps; i++) {
            const char *o = p->r->steps[i].id;
            if (o && strlen(o) == id_len && memcmp(o, id, id_len) == 0) {
                err(p, LINE(p), "duplicate id '%s' (first used on line %d)", o,
                    p->r->steps[i].line);
                break;
            }
        }
    }
    struct step *st = new_step(p, (enum step_kind)(sect - 1), id, id_ok ? id_len : 0);
    if (!st) return;
    p->sect = sect;
    p->base = st;
}

/* Index of a key in its section's table (the name is known to be there). */
static int kidx(int sect, const char *name)
{
    for (size_t i = 0; i < sect_nkeys[sect]; i++)
        if (strcmp(sect_keys[sect][i].name, name) == 0) return (int)i;
    return 0;
}

/* The rules of a self-paced exercise: a part the listener times has no
 * timing keys, and "hold = max" is one hold per side and set. */
static void self_paced_rules(struct parser *p, const struct step *st)
{
    const int k_pace = kidx(p->sect, "pace"), k_hold = kidx(p->sect, "hold"),
              k_reps = kidx(p->sect, "reps");
    static const char *const untimed[] = {"hold", "tempo", "duration", "rest_reps", "metronome"};
    if (st->pace_self) {
        for (size_t i = 0; i < sizeof untimed / sizeof *untimed; i++) {
            int line = p->seen[kidx(p->sect, untimed[i])];
            if (line)
                err(p, line, "'%s' is not allowed with 'pace = self' (line %d): the listener "
                    "keeps the pace and says done", untimed[i], p->seen[k_pace]);
        }
        if (!p->seen[k_reps] && !p->guessed[k_reps])
            err(p, p->seen[k_pace], "'pace = self' needs 'reps' (how many to do at your own pace)");
    }
    if (st->hold_max) {
        for (size_t i = 3; i < sizeof untimed / sizeof *untimed; i++) {
            int line = p->seen[kidx(p->sect, untimed[i])];
            if (line)
                err(p, line, "'%s' is not allowed with 'hold = max' (line %d)", untimed[i],
                    p->seen[k_hold]);
        }
        if (p->seen[k_reps] && !p->bad[k_reps] && st->reps.hi > 1)
            err(p, p->seen[k_reps], "'hold = max' is one hold (per side and set), but 'reps' "
                "is more than 1; use 'sets' for more, or give 'hold' in seconds");
    }
}

/* A routine's name in a file name or path: after the last '/', without
 * ".ini" (its length in *len). */
static const char *name_in(const char *path, size_t *len)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    *len = strlen(b);
    if (*len > 4 && strcmp(b + *len - 4, ".ini") == 0) *len -= 4;
    return b;
}

/* unless_after names routines as the command line and 'coach list' do
 * (a sequence is matched by name): not a file, and not this routine. */
static void unless_after_rules(struct parser *p, const struct step *st)
{
    const int k = kidx(p->sect, "unless_after");
    if (!p->seen[k] || p->bad[k]) return;
    size_t self_len, len;
    const char *self = name_in(p->in.name, &self_len);
    for (size_t i = 0; i < st->unless_after.len; i++) {
        const char *n = st->unless_after.items[i], *b = name_in(n, &len);
        if (b != n || len != strlen(n))
            err(p, p->seen[k], "'unless_after' takes routine names as 'coach list' shows them, "
                "not files: write '%.*s', not '%s'", (int)len, b, q(p, n));
        else if (len == self_len && strncmp(n, self, len) == 0)
            err(p, p->seen[k], "'unless_after' names this routine itself ('%s'); name the "
                "routine that, played before it, makes this step needless (e.g. 'warm-up')", q(p, n));
    }
}

/* Checks that need the whole section: required keys and rules between keys. */
static void finish_section(struct parser *p)
{
    if (p->sect < 0 || !p->base) return;
    const struct keydef *keys = sect_keys[p->sect];
    size_t nk = sect_nkeys[p->sect];
    if (!p->in.section_dropped) {
        for (size_t i = 0; i < nk; i++)
            if (keys[i].required && !p->seen[i] && !p->guessed[i])
                err(p, p->sect_line, "%s is missing '%s'", p->label, keys[i].name);
    }
    if (p->sect == 1 + STEP_EXERCISE) {
        const int k_hold = kidx(p->sect, "hold"), k_tempo = kidx(p->sect, "tempo"),
                  k_duration = kidx(p->sect, "duration"), k_reps = kidx(p->sect, "reps"),
                  k_rest_reps = kidx(p->sect, "rest_reps"), k_phases = kidx(p->sect, "phases");
        struct step *st = p->base;
        const int work[3] = {k_hold, k_tempo, k_duration};
        int n_work = 0;
        for (int i = 0; i < 3; i++)
            n_work += p->seen[work[i]] || p->guessed[work[i]];
        if (n_work == 0 && !st->pace_self && !p->in.section_dropped)
            err(p, p->sect_line, "%s needs one of 'hold', 'tempo' or 'duration' (or 'pace = self')",
                p->label);
        self_paced_rules(p, st);
        for (int i = 0; i < 3; i++) {
            for (int j = i + 1; j < 3; j++) {
                int a = p->seen[work[i]], b = p->seen[work[j]];
                if (a && b)
                    err(p, a > b ? a : b, "'%s' together with '%s' (lines %d and %d); use only one",
                        keys[work[i]].name, keys[work[j]].name, a < b ? a : b, a > b ? a : b);
            }
        }
        if (p->seen[k_duration]) {
            if (p->seen[k_reps])
                err(p, p->seen[k_reps], "'reps' is not allowed with 'duration' (line %d)",
                    p->seen[k_duration]);
            if (p->seen[k_rest_reps])
                err(p, p->seen[k_rest_reps], "'rest_reps' is not allowed with 'duration' (line %d)",
                    p->seen[k_duration]);
        }
        const int k_alt = kidx(p->sect, "alternate"), k_sides = kidx(p->sect, "sides");
        if (p->seen[k_alt] && !p->bad[k_alt] && st->alternate) {
            /* turns between two sides: "Other side" names the one not
             * working, so three sides (or none) have no "other" */
            if (!p->seen[k_sides])
                err(p, p->seen[k_alt],
                    "'alternate' needs 'sides' with the two sides that take turns, e.g. "
                    "'sides = right arm and left leg, left arm and right leg'");
            else if (!p->bad[k_sides] && st->sides.len != 2)
                err(p, p->seen[k_alt], "'alternate' needs exactly 2 sides, but 'sides' has %zu (line %d)",
                    st->sides.len, p->seen[k_sides]);
            if (p->seen[k_duration])
                err(p, p->seen[k_alt],
                    "'alternate' is not allowed with 'duration' (line %d): sides take turns "
                    "rep by rep; use 'hold' or 'tempo' with 'reps'",
                    p->seen[k_duration]);
        }
        if (p->seen[k_phases] && !p->bad[k_phases]) {
            if (!p->seen[k_tempo])
                err(p, p->seen[k_phases], "'phases' without 'tempo'");
            else if (!p->bad[k_tempo] && st->phases.len != st->n_tempo)
                err(p, p->seen[k_phases], "'phases' has %zu name%s but 'tempo' has %zu phase%s",
                    st->phases.len, st->phases.len == 1 ? "" : "s", st->n_tempo,
                    st->n_tempo == 1 ? "" : "s");
        }
    } else if (p->sect == 0 && p->seen[kidx(0, "remind")] && !p->bad[kidx(0, "remind")]) {
        const struct routine *r = p->base;
        if (r->remind_ms && r->remind_ms < ROUTINE_REMIND_MIN_MS)
            err(p, p->seen[kidx(0, "remind")], "'remind' must be 0 (never) or %u to 600 seconds",
                ROUTINE_REMIND_MIN_MS / 1000);
    } else if (p->sect == 1 + STEP_SAY) {
        unless_after_rules(p, p->base);
    } else if (p->sect == 1 + STEP_BREATHING) {
        const int k_cycles = kidx(p->sect, "cycles"), k_spoken = kidx(p->sect, "spoken_cycles");
        struct step *st = p->base;
        if (p->seen[k_spoken] && !p->bad[k_spoken] && p->seen[k_cycles] && !p->bad[k_cycles] &&
            st->spoken_cycles > st->cycles.hi)
            err(p, p->seen[k_spoken], "'spoken_cycles' is %u but 'cycles' is at most %u",
                (unsigned)st->spoken_cycles, (unsigned)st->cycles.hi);
        if (st->spoken_cycles > st->cycles.hi) st->spoken_cycles = st->cycles.hi;
    }
    p->sect = SECT_SKIP;
    p->base = NULL;
}

/* ---- values ---- */

/* Seconds "12" or "1.5" (up to 3 decimals) in s[0..n) -> ms, saturating.
 * Returns 0, -1 for bad syntax, -2 for too many decimals. */
static int parse_ms(const char *s, size_t n, uint32_t *ms)
{
    size_t i = 0;
    uint64_t v = 0;
    if (n == 0 || s[0] < '0' || s[0] > '9') return -1;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (v < 100000000) v = v * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    uint64_t frac = 0;
    if (i < n && s[i] == '.') {
        size_t d = 0;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (d < 3) frac = frac * 10 + (uint64_t)(s[i] - '0');
            d++;
            i++;
        }
        if (d == 0 || i < n) return -1;
        if (d > 3) return -2;
        while (d++ < 3)
            frac *= 10;
    }
    if (i < n) return -1;
    v = v * 1000 + frac;
    *ms = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    return 0;
}

/* Whole number in s[0..n), saturating. Returns 0 or -1. */
static int parse_count(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        if (v < 100000000000ull) v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    return 0;
}

static int parse_num(int seconds, const char *s, size_t n, uint32_t *v)
{
    return seconds ? parse_ms(s, n, v) : parse_count(s, n, v);
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_blank(**s))
        (*s)++, (*n)--;
    while (*n && is_blank((*s)[*n - 1]))
        (*n)--;
}

/* The allowed range of a key, for messages: "from 1 to 600 seconds". */
static const char *limits(char buf[80], const struct keydef *k, int seconds)
{
    char a[24], b[24];
    if (seconds)
        snprintf(buf, 80, "from %s to %s seconds", secs(a, k->lo), secs(b, k->hi));
    else
        snprintf(buf, 80, "from %u to %u", (unsigned)k->lo, (unsigned)k->hi);
    return buf;
}

/* ---- hints for values written with a unit ---- */

/* Length of a number ("5", "1.5") at s[0..n), or 0. */
static size_t number_len(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i && i + 1 < n && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    return i;
}

/* s[0..n) is word w, ignoring ASCII case. */
static int is_word(const char *w, const char *s, size_t n)
{
    if (strlen(w) != n) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != w[i]) return 0;
    }
    return 1;
}

/* The factor (in ms per unit for seconds, 1 for counts) of a unit word,
 * or 0 if it is not one a person writes after such a number. */
static uint32_t unit_factor(int seconds, const char *u, size_t n)
{
    static const char *const sec[] = {"s", "sec", "secs", "second", "seconds", "\"", NULL};
    static const char *const min[] = {"m", "min", "mins", "minute", "minutes", "'", NULL};
    static const char *const cnt[] = {"x", "times", "rep", "reps", "repetition", "repetitions",
                                      "set", "sets", "cycle", "cycles", "breath", "breaths", NULL};
    for (const char *const *w = seconds ? sec : cnt; *w; w++)
        if (is_word(*w, u, n)) return seconds ? 1000 : 1;
    if (seconds && is_word("ms", u, n)) return 1; /* milliseconds */
    for (const char *const *w = min; seconds && *w; w++)
        if (is_word(*w, u, n)) return 60000;
    return 0;
}

/* One item "5s", "10 sec", "1min", "1.5 minutes", "10x" in s[0..n):
 * appends it as a bare number (seconds, or the count) to out. Returns 0,
 * or -1 when it is not a number with a unit. *unit is set when one was. */
static int strip_unit(int seconds, const char *s, size_t n, char *out, size_t cap, int *unit)
{
    trim(&s, &n);
    size_t k = number_len(s, n);
    if (!k) return -1;
    const char *u = s + k;
    size_t un = n - k;
    trim(&u, &un);
    uint32_t f = 1000;
    if (un) {
        f = unit_factor(seconds, u, un);
        if (!f) return -1;
        *unit = 1;
    }
    size_t used = strlen(out);
    if (!seconds || f == 1000) {
        snprintf(out + used, cap - used, "%.*s", (int)k, s);
        return 0;
    }
    /* minutes or milliseconds: to seconds, with up to 3 decimals */
    uint32_t ms;
    if (parse_ms(s, k, &ms)) return -1;
    uint64_t v = (uint64_t)ms * f / 1000; /* ms of the value in the unit */
    char b[24];
    if (v > UINT32_MAX) return -1;
    snprintf(out + used, cap - used, "%s", secs(b, (uint32_t)v));
    return 0;
}

/* For a refused value written with a unit or a comment, a hint for the
 * message: "; write hold = 5 (seconds, without a unit)". "" if none. */
static const char *value_hint(char buf[160], const struct keydef *k, const char *v)
{
    buf[0] = 0;
    const char *hash = strstr(v, " #");
    if (!hash) hash = strstr(v, "\t#");
    if (hash && hash > v) {
        snprintf(buf, 160, "; a comment goes on a line of its own, or after ' ;'");
        return buf;
    }
    int seconds = k->type == KT_SEC || k->type == KT_SEC_RANGE || k->type == KT_TEMPO;
    int range = k->type == KT_SEC_RANGE || k->type == KT_COUNT_RANGE;
    size_t whole = number_len(v, strlen(v));
    const char *frac = whole && v[whole] == ',' ? v + whole + 1 : NULL;
    if (seconds && k->type != KT_TEMPO && frac && *frac && !strchr(frac, '.') &&
        number_len(frac, strlen(frac)) == strlen(frac)) {
        snprintf(buf, 160, "; write %s = %.*s.%s (a decimal point, not a comma)", k->name,
                 (int)whole, v, frac);
        return buf;
    }
    char num[96] = "";
    int unit = 0;
    size_t n = strlen(v);
    /* a list for tempo, else a number or a range: split and strip each */
    char sep = k->type == KT_TEMPO ? ',' : '-';
    if (!seconds && k->type != KT_COUNT && !range) return buf;
    const char *s = v;
    for (;;) {
        const char *e = memchr(s, sep, (size_t)(v + n - s));
        if (e && !range && k->type != KT_TEMPO) return buf; /* no list or range here */
        if (strip_unit(seconds, s, e ? (size_t)(e - s) : (size_t)(v + n - s), num, sizeof num,
                       &unit))
            return buf;
        if (!e) break;
        size_t used = strlen(num);
        snprintf(num + used, sizeof num - used, "%s", sep == ',' ? ", " : "-");
        s = e + 1;
    }
    if (unit)
        snprintf(buf, 160, "; write %s = %s (%s)", k->name, num,
                 seconds ? "seconds, without a unit" : "a bare number");
    return buf;
}

/* A number or "lo-hi" range for key k. Returns 0 and fills *out, or reports
 * and returns -1. */
static int parse_number_or_range(struct parser *p, const struct keydef *k, const char *v,
                                 struct range *out, int allow_range)
{
    int seconds = k->type == KT_SEC || k->type == KT_SEC_RANGE;
    size_t n = strlen(v);
    const char *dash = memchr(v, '-', n);
    char lim[80];
    const char *expect = seconds
                             ? (allow_range ? "expected seconds like 30 or a range like 15-30"
                                            : "expected seconds like 30 or 1.5")
                             : (allow_range ? "expected a whole number like 10 or a range like 8-12"
                                            : "expected a whole number like 3");
    if (dash == v) {
        /* "-5": a negative number; say the allowed range rather than "syntax" */
        uint32_t x;
        if (parse_num(seconds, v + 1, n - 1, &x) == 0) {
            err(p, LINE(p), "'%s' must be %s, got '%s'", k->name, limits(lim, k, seconds), q(p, v));
            return -1;
        }
    }
    if (dash && dash != v && !allow_range) {
        char hint[160];
        err(p, LINE(p), "'%s' takes a single value, not a range: '%s'%s", k->name, q(p, v),
            value_hint(hint, k, v));
        return -1;
    }
    uint32_t lo, hi;
    if (dash) {
        const char *a = v, *b = dash + 1;
        size_t an = (size_t)(dash - v), bn = n - an - 1;
        trim(&a, &an);
        trim(&b, &bn);
        int ra = parse_num(seconds, a, an, &lo), rb = parse_num(seconds, b, bn, &hi);
        if (ra == -2 || rb == -2) {
            err(p, LINE(p), "bad value '%s' for '%s': at most 3 decimals", q(p, v), k->name);
            return -1;
        }
        if (ra || rb) {
            char hint[160];
            err(p, LINE(p), "bad range '%s' for '%s': expected 'lo-hi' like %s%s", q(p, v),
                k->name, seconds ? "15-30" : "8-12", value_hint(hint, k, v));
            return -1;
        }
    } else {
        int rc = parse_num(seconds, v, n, &lo);
        if (rc == -2) {
            err(p, LINE(p), "bad value '%s' for '%s': at most 3 decimals", q(p, v), k->name);
            return -1;
        }
        if (rc) {
            char hint[160];
            err(p, LINE(p), "bad value '%s' for '%s': %s%s", q(p, v), k->name, expect,
                value_hint(hint, k, v));
            return -1;
        }
        hi = lo;
    }
    if (lo < k->lo || hi > k->hi || lo > k->hi || hi < k->lo) {
        err(p, LINE(p), "'%s' must be %s, got '%s'", k->name, limits(lim, k, seconds), q(p, v));
        return -1;
    }
    if (lo > hi) {
        char a[24], b[24];
        if (seconds)
            err(p, LINE(p), "bad range '%s' for '%s': %s is more than %s", q(p, v), k->name,
                secs(a, lo), secs(b, hi));
        else
            err(p, LINE(p), "bad range '%s' for '%s': %u is more than %u", q(p, v), k->name,
                (unsigned)lo, (unsigned)hi);
        return -1;
    }
    out->lo = lo;
    out->hi = hi;
    return 0;
}

/* Splits a comma list into trimmed items (pointers into v). Returns the
 * count, or -1 after reporting. */
static int split_list(struct parser *p, const struct keydef *k, const char *v, size_t max,
                      const char **item, size_t *item_len)
{
    size_t n = 0;
    const char *s = v;
    for (;;) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        const char *t = s;
        trim(&t, &len);
        if (n == max) {
            size_t total = n + 1;
            for (const char *x = c; x; x = strchr(x + 1, ','))
                total++;
            err(p, LINE(p), "'%s' has %zu %s; at most %zu", k->name, total,
                k->type == KT_TEMPO ? "phases" : "items", max);
            return -1;
        }
        if (len == 0) {
            err(p, LINE(p), "empty item %zu in '%s'", n + 1, k->name);
            return -1;
        }
        item[n] = t;
        item_len[n] = len;
        n++;
        if (!c) break;
        s = c + 1;
    }
    return (int)n;
}

static void check_text(struct parser *p, const struct keydef *k, size_t n, int *ok)
{
    if (n > ROUTINE_MAX_TEXT_BYTES) {
        err(p, LINE(p), "value of '%s' is too long (%zu bytes; at most %d)", k->name, n,
            ROUTINE_MAX_TEXT_BYTES);
        *ok = 0;
    }
}

/* Stores value v of key k into the current section. Returns 0, or -1 after
 * reporting a problem. */
static int set_value(struct parser *p, const struct keydef *k, const char *v)
{
    char *field = (char *)p->base + k->off;
    size_t n = strlen(v);
    int ok = 1;
    switch (k->type) {
    case KT_TEXT:
        check_text(p, k, n, &ok);
        if (!ok) return -1;
        free(*(char **)field);
        *(char **)field = dup_n(p, v, n);
        return 0;
    case KT_TEXTS: {
        struct strlist *l = (struct strlist *)field;
        check_text(p, k, n, &ok);
        if (!ok) return -1;
        if (l->len >= ROUTINE_MAX_LIST) {
            err(p, LINE(p), "too many '%s' lines (at most %d)", k->name, ROUTINE_MAX_LIST);
            return -1;
        }
        return strlist_push(p, l, v, n) ? -1 : 0;
    }
    case KT_LIST: {
        const char *item[ROUTINE_MAX_LIST];
        size_t len[ROUTINE_MAX_LIST];
        int m = split_list(p, k, v, ROUTINE_MAX_LIST, item, len);
        if (m < 0) return -1;
        if ((uint32_t)m < k->lo) {
            err(p, LINE(p), "'%s' needs at least %u items separated by commas, got %d", k->name,
                (unsigned)k->lo, m);
            return -1;
        }
        for (int i = 0; i < m; i++) {
            if (len[i] > ROUTINE_MAX_TEXT_BYTES) {
                err(p, LINE(p), "item %d of '%s' is too long (%zu bytes; at most %d)", i + 1,
                    k->name, len[i], ROUTINE_MAX_TEXT_BYTES);
                return -1;
            }
        }
        struct strlist *l = (struct strlist *)field;
        strlist_free(l);
        for (int i = 0; i < m; i++)
            if (strlist_push(p, l, item[i], len[i])) return -1;
        return 0;
    }
    case KT_SEC:
    case KT_COUNT: {
        struct range r;
        if (parse_number_or_range(p, k, v, &r, 0)) return -1;
        *(uint32_t *)field = r.lo;
        return 0;
    }
    case KT_SEC_RANGE:
    case KT_COUNT_RANGE:
        return parse_number_or_range(p, k, v, (struct range *)field, 1);
    case KT_BPM: {
        uint32_t x;
        if (parse_count(v, n, &x) || (x != 0 && (x < k->lo || x > k->hi))) {
            char hint[160] = "";
            size_t d = number_len(v, n);
            const char *u = v + d;
            size_t un = n - d;
            trim(&u, &un);
            if (d && !strchr(v, '.') && is_word("bpm", u, un))
                snprintf(hint, sizeof hint, "; write %s = %.*s (a bare number)", k->name, (int)d,
                         v);
            else
                value_hint(hint, k, v);
            err(p, LINE(p), "'%s' must be 0 (off) or from %u to %u bpm, got '%s'%s", k->name,
                (unsigned)k->lo, (unsigned)k->hi, q(p, v), hint);
            return -1;
        }
        *(uint32_t *)field = x;
        return 0;
    }
    case KT_TEMPO: {
        struct step *st = p->base;
        const char *item[ROUTINE_MAX_PHASES];
        size_t len[ROUTINE_MAX_PHASES];
        uint32_t ms[ROUTINE_MAX_PHASES];
        int m = split_list(p, k, v, ROUTINE_MAX_PHASES, item, len);
        if (m < 0) return -1;
        for (int i = 0; i < m; i++) {
            char a[24], b[24];
            int rc = parse_ms(item[i], len[i], &ms[i]);
            if (rc == -2) {
                err(p, LINE(p), "bad value '%s' in 'tempo': at most 3 decimals",
                    qn(p, item[i], len[i]));
                return -1;
            }
            if (rc) {
                char hint[160];
                err(p, LINE(p), "bad value '%s' in 'tempo': expected seconds like 2 or 1.5%s",
                    qn(p, item[i], len[i]), value_hint(hint, k, v));
                return -1;
            }
            if (ms[i] < k->lo || ms[i] > k->hi) {
                err(p, LINE(p), "tempo phase %d must be from %s to %s seconds, got '%s'", i + 1,
                    secs(a, k->lo), secs(b, k->hi), qn(p, item[i], len[i]));
                return -1;
            }
        }
        memcpy(st->tempo_ms, ms, (size_t)m * sizeof ms[0]);
        st->n_tempo = (size_t)m;
        return 0;
    }
    case KT_VOICE: {
        int good = n <= VOICE_MAX_BYTES;
        for (size_t i = 0; i < n && good; i++)
            good = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
                   v[i] == '-';
        if (!good) {
            char hint[160];
            err(p, LINE(p), "bad voice name '%s': use lower-case letters, digits, '_' and '-'%s",
                q(p, v), value_hint(hint, k, v));
            return -1;
        }
        free(*(char **)field);
        *(char **)field = dup_n(p, v, n);
        p->r->voice_line = LINE(p);
        return 0;
    }
    case KT_BOOL:
        if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
            *(bool *)field = v[0] == 'y';
            return 0;
        }
        err(p, LINE(p), "bad value '%s' for '%s': expected yes or no", q(p, v), k->name);
        return -1;
    case KT_PACE:
        if (strcmp(v, "self") == 0 || strcmp(v, "timed") == 0) {
            *(bool *)field = v[0] == 's';
            return 0;
        }
        err(p, LINE(p), "unknown pace '%s'; expected self (the listener counts and says done) "
            "or timed", q(p, v));
        return -1;
    case KT_SPEECH_RATE: {
        uint32_t x;
        if (strcmp(v, "slower") == 0) {
            *(int *)field = ROUTINE_SPEECH_SLOWER;
            return 0;
        }
        if (parse_count(v, n, &x) || x < k->lo || x > k->hi) {
            err(p, LINE(p),
                "'%s' must be from %u to %u words per minute, or slower (the voice's rate less "
                "%d %%), got '%s'",
                k->name, (unsigned)k->lo, (unsigned)k->hi, 100 - ROUTINE_SLOWER_PCT, q(p, v));
            return -1;
        }
        *(int *)field = (int)x;
        return 0;
    }
    case KT_LEVEL:
        if (level_parse(v, (enum level *)field)) {
            char hint[160];
            err(p, LINE(p), "unknown level '%s'; expected easy, medium or hard%s", q(p, v),
                value_hint(hint, k, v));
            return -1;
        }
        return 0;
    }
    return -1;
}

/* Which sections accept key name, as "breathing steps" or "[routine]". */
static void where_valid(const char *name, char *buf, size_t cap)
{
    const char *kinds[N_SECT];
    size_t n = 0;
    int routine = 0;
    for (int s = 0; s < N_SECT; s++) {
        for (size_t i = 0; i < sect_nkeys[s]; i++) {
            if (strcmp(sect_keys[s][i].name, name) == 0) {
                if (s == 0)
                    routine = 1;
                else
                    kinds[n++] = sect_names[s];
            }
        }
    }
    buf[0] = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        used += (size_t)snprintf(buf + used, cap - used, "%s%s",
                                 i == 0       ? ""
                                 : i + 1 == n ? " and "
                                              : ", ",
                                 kinds[i]);
        if (used >= cap) return;
    }
    if (n) used += (size_t)snprintf(buf + used, cap - used, " steps");
    if (used < cap && routine) snprintf(buf + used, cap - used, "%s[routine]", n ? " and " : "");
}

/* Lines of the keys the planner names when a phrase does not fit. */
static void note_line(struct parser *p, const char *name)
{
    if (p->sect == 0) {
        if (strcmp(name, "countdown") == 0) p->r->countdown_line = LINE(p);
        else if (strcmp(name, "before") == 0) p->r->before_line = LINE(p);
        else if (strcmp(name, "after") == 0) p->r->after_line = LINE(p);
        return;
    }
    if (p->sect != 1 + STEP_EXERCISE) return;
    struct step *st = p->base;
    if (strcmp(name, "hold") == 0) st->hold_line = LINE(p);
    else if (strcmp(name, "tempo") == 0) st->tempo_line = LINE(p);
    else if (strcmp(name, "duration") == 0) st->duration_line = LINE(p);
    else if (strcmp(name, "rest_reps") == 0) st->rest_reps_line = LINE(p);
}

/* A spoken value that looks as if it held a comment: "Relax # gently" is
 * spoken whole ('#' starts a comment only at the start of a line), and in
 * "Relax ; gently" the reader cut "; gently" off. Either may not be what
 * the author meant, so both are said; neither stops the file. */
static void comment_warnings(struct parser *p, const struct keydef *k, const char *v)
{
    for (const char *h = v; (h = strchr(h, '#')) != NULL; h++) {
        if (h > v && is_blank(h[-1])) {
            ini_lines_warn(&p->in, LINE(p),
                           "'%s' in '%s' looks like a comment but is spoken ('#' starts a "
                           "comment only at the start of a line); put the comment on a line of "
                           "its own, or remove it",
                           q(p, h), k->name);
            break;
        }
    }
    if (p->in.comment_len)
        ini_lines_warn(&p->in, LINE(p),
                       "'%s' after '%s' is a comment and is not spoken (' ;' starts one); to "
                       "have it said, remove the blank before ';'",
                       qn(p, p->in.comment, p->in.comment_len), k->name);
}

/* The word a timed key takes for a self-paced part: "hold = max" in an
 * exercise, "seconds = ready" in a [rest], "rest = ready" in [routine].
 * Returns true if v was it (and stored it). */
static bool self_paced_value(struct parser *p, const struct keydef *k, const char *v)
{
    if (p->sect == 0 && strcmp(k->name, "rest") == 0 && strcmp(v, "ready") == 0)
        return p->r->rest_ready = true;
    struct step *st = p->base;
    if (p->sect == 1 + STEP_EXERCISE && strcmp(k->name, "hold") == 0 && strcmp(v, "max") == 0)
        return st->hold_max = true;
    if (p->sect == 1 + STEP_REST && strcmp(k->name, "seconds") == 0 && strcmp(v, "ready") == 0)
        return st->rest_ready = true;
    return false;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parser *p = user;
    (void)section; /* p->sect, set from the same header, says more */
    if (p->sect == SECT_NONE) {
        err(p, LINE(p), "key '%s' before any section header (start the file with [routine])",
            q(p, name));
        return 1;
    }
    if (p->sect == SECT_SKIP || !p->base) return 1;
    const struct keydef *keys = sect_keys[p->sect];
    size_t nk = sect_nkeys[p->sect];
    size_t k = 0;
    while (k < nk && strcmp(keys[k].name, name) != 0)
        k++;
    if (k == nk) {
        char where[80];
        where_valid(name, where, sizeof where);
        if (where[0]) {
            err(p, LINE(p), "key '%s' is not valid in %s (only in %s)", name, p->label, where);
            return 1;
        }
        const char *near = nearest(name, &keys[0].name, nk, sizeof keys[0]);
        if (near) {
            err(p, LINE(p), "unknown key '%s' in %s; did you mean '%s'?", q(p, name), p->label,
                near);
            for (size_t i = 0; i < nk; i++)
                p->guessed[i] |= keys[i].name == near;
        } else
            err(p, LINE(p), "unknown key '%s' in %s", q(p, name), p->label);
        return 1;
    }
    const struct keydef *kd = &keys[k];
    if (p->seen[k] && kd->type != KT_TEXTS) {
        err(p, LINE(p), "duplicate key '%s' (first on line %d)", kd->name, p->seen[k]);
        return 1;
    }
    if (!p->seen[k]) p->seen[k] = LINE(p);
    if (!*value) {
        err(p, LINE(p), "empty value for '%s'", kd->name);
        p->bad[k] = 1;
        return 1;
    }
    if (self_paced_value(p, kd, value)) {
        note_line(p, kd->name);
        return 1;
    }
    if (set_value(p, kd, value)) {
        p->bad[k] = 1;
        return 1;
    }
    note_line(p, kd->name);
    if (kd->type == KT_TEXT || kd->type == KT_TEXTS || kd->type == KT_LIST)
        comment_warnings(p, kd, value);
    return 1;
}

/* ---- public ---- */

/* Parses the opened input into r (zeroed by the caller). */
static int parse(struct parser *p, struct routine *r)
{
    p->r = r;
    p->sect = SECT_NONE;
    r->path = coach_strdup(p->in.name);
    r->rest_ms = 15000;
    r->prepare_ms = 5000;
    r->countdown_s = 3;
    r->remind_ms = ROUTINE_REMIND_MS;
    r->level = LEVEL_EASY;

    if (ini_lines_parse(&p->in, handler, section_header, p)) p->nomem = 1;
    if (!p->in.unreadable) {
        if (!p->routine_line) err(p, 0, "missing [routine] section");
        if (r->n_steps == 0 && !p->too_many_steps)
            err(p, p->routine_line,
                "routine has no steps; add [exercise <id>], [breathing <id>], [rest <id>] or "
                "[say <id>] sections");
    }
    if (!r->voice) r->voice = coach_strdup("en-us");
    if (!r->path || !r->voice || p->in.nomem) p->nomem = 1;

    int ret = p->nomem ? COACH_ENOMEM : p->in.n_err ? COACH_EINVAL : 0;
    if (ret) routine_free(r);
    return ret;
}

int routine_parse(const char *name, const char *text, size_t len, struct routine *r,
                  struct coach_diags *d)
{
    struct parser *p = calloc(1, sizeof *p);
    memset(r, 0, sizeof *r);
    if (!p) return COACH_ENOMEM;
    ini_lines_open_mem(&p->in, name ? name : "", text ? text : "", text ? len : 0, d);
    int rc = parse(p, r);
    free(p);
    return rc;
}

int routine_load(const char *path, struct routine *r, struct coach_diags *d)
{
    struct parser *p = calloc(1, sizeof *p);
    memset(r, 0, sizeof *r);
    if (!p) return COACH_ENOMEM;
    int rc = ini_lines_open_file(&p->in, path, d);
    if (!rc) rc = parse(p, r);
    ini_lines_close(&p->in);
    free(p);
    return rc;
}

static void step_free(struct step *s)
{
    free(s->id);
    free(s->name);
    strlist_free(&s->setup);
    free(s->cue);
    free(s->tip);
    free(s->finish);
    strlist_free(&s->sides);
    strlist_free(&s->phases);
    strlist_free(&s->unless_after);
    free(s->text);
}

void routine_free(struct routine *r)
{
    if (!r) return;
    if (r->parts) { /* joined: the texts are its sources' */
        free(r->title);
        free(r->cautions.items);
        free(r->steps);
        free(r->parts);
        memset(r, 0, sizeof *r);
        return;
    }
    free(r->path);
    free(r->title);
    free(r->summary);
    free(r->stop_safely);
    free(r->voice);
    strlist_free(&r->cautions);
    strlist_free(&r->before);
    strlist_free(&r->after);
    for (size_t i = 0; r->steps && i < r->n_steps; i++)
        step_free(&r->steps[i]);
    free(r->steps);
    memset(r, 0, sizeof *r);
}

uint32_t range_pick(struct range r, enum level lv)
{
    switch (lv) {
    case LEVEL_HARD:
        return r.hi;
    case LEVEL_MEDIUM:
        return (uint32_t)(((uint64_t)r.lo + r.hi + 1) / 2);
    default:
        return r.lo;
    }
}

int level_parse(const char *s, enum level *lv)
{
    static const enum level all[] = {LEVEL_EASY, LEVEL_MEDIUM, LEVEL_HARD};
    for (size_t i = 0; s && i < 3; i++) {
        if (strcmp(s, level_name(all[i])) == 0) {
            *lv = all[i];
            return 0;
        }
    }
    return COACH_EINVAL;
}

const char *level_name(enum level lv)
{
    switch (lv) {
    case LEVEL_EASY:
        return "easy";
    case LEVEL_MEDIUM:
        return "medium";
    case LEVEL_HARD:
        return "hard";
    }
    return "?";
}

const char *step_kind_name(enum step_kind k)
{
    switch (k) {
    case STEP_EXERCISE:
        return "exercise";
    case STEP_BREATHING:
        return "breathing";
    case STEP_REST:
        return "rest";
    case STEP_SAY:
        return "say";
    }
    return "?";
}

size_t routine_count_moves(const struct routine *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_steps; i++)
        n += r->steps[i].kind == STEP_EXERCISE || r->steps[i].kind == STEP_BREATHING;
    return n;
}

int routine_find_step(const struct routine *r, const char *spec, size_t *index)
{
    size_t digits = strspn(spec, "0123456789");
    if (digits && !spec[digits]) {
        /* more than 9 digits is out of range anyway (ROUTINE_MAX_STEPS) */
        unsigned long n = digits > 9 ? 0 : strtoul(spec, NULL, 10), seen = 0;
        for (size_t i = 0; n && i < r->n_steps; i++) {
            const struct step *s = &r->steps[i];
            if ((s->kind == STEP_EXERCISE || s->kind == STEP_BREATHING) && ++seen == n) {
                *index = i;
                return 0;
            }
        }
        return COACH_EINVAL;
    }
    for (size_t i = 0; i < r->n_steps; i++)
        if (r->steps[i].id && strcmp(r->steps[i].id, spec) == 0) {
            *index = i;
            return 0;
        }
    return COACH_ENOTFOUND;
}

/* Fixes a range at the value lv picks. */
static void fix_range(struct range *r, enum level lv)
{
    r->lo = r->hi = range_pick(*r, lv);
}

/* Is one of the routines in l among names[0..n)? */
static bool said_before(const struct strlist *l, const char *const *names, size_t n)
{
    for (size_t i = 0; names && i < l->len; i++)
        for (size_t j = 0; j < n; j++)
            if (names[j] && strcmp(l->items[i], names[j]) == 0) return true;
    return false;
}

int routine_join(struct routine *out, const struct routine *const *src, const char *const *names,
                 size_t n, bool own_levels)
{
    memset(out, 0, sizeof *out);
    if (!n) return COACH_EINVAL;
    size_t steps = 0, cautions = 0, title_len = 1;
    for (size_t k = 0; k < n; k++) {
        steps += src[k]->n_steps;
        cautions += src[k]->cautions.len;
        title_len += strlen(src[k]->title ? src[k]->title : "") + 2;
    }
    out->steps = calloc(steps ? steps : 1, sizeof *out->steps);
    out->cautions.items = calloc(cautions ? cautions : 1, sizeof *out->cautions.items);
    out->parts = calloc(n, sizeof *out->parts);
    out->title = calloc(1, title_len);
    if (!out->steps || !out->cautions.items || !out->parts || !out->title) {
        free(out->steps), free(out->cautions.items), free(out->parts), free(out->title);
        memset(out, 0, sizeof *out);
        return COACH_ENOMEM;
    }
    const struct routine *first = src[0];
    out->path = first->path;
    out->voice = first->voice;
    out->voice_line = first->voice_line;
    out->rest_ms = first->rest_ms;
    out->prepare_ms = first->prepare_ms;
    out->countdown_s = first->countdown_s;
    out->countdown_line = first->countdown_line;
    out->level = first->level;
    out->remind_ms = first->remind_ms; /* a wait's reminders: the first routine's */
    out->rest_ready = first->rest_ready;
    out->n_parts = n;
    for (size_t k = 0; k < n; k++) {
        const struct routine *r = src[k];
        if (k) strcat(out->title, ", ");
        strcat(out->title, r->title ? r->title : "");
        out->parts[k] = (struct routine_part){
            .src = r, .name = names ? names[k] : NULL, .first_step = out->n_steps,
            .n_steps = r->n_steps};
        for (size_t i = 0; i < r->n_steps; i++) {
            if (said_before(&r->steps[i].unless_after, names, k)) {
                out->parts[k].n_steps--; /* "do the warm-up first", after the warm-up */
                continue;
            }
            struct step *s = &out->steps[out->n_steps++];
            *s = r->steps[i];
            if (!own_levels) continue;
            fix_range(&s->sets, r->level);
            fix_range(&s->reps, r->level);
            fix_range(&s->hold_ms, r->level);
            fix_range(&s->duration_ms, r->level);
            fix_range(&s->cycles, r->level);
            fix_range(&s->rest_ms, r->level);
        }
        /* a caution two routines share is heard once */
        for (size_t c = 0; c < r->cautions.len; c++) {
            bool seen = false;
            for (size_t j = 0; j < out->cautions.len && !seen; j++)
                seen = strcmp(out->cautions.items[j], r->cautions.items[c]) == 0;
            if (!seen) out->cautions.items[out->cautions.len++] = r->cautions.items[c];
        }
    }
    return 0;
}

const struct routine_part *routine_part_of(const struct routine *r, int32_t step)
{
    if (!r->parts || step < 0) return NULL;
    for (size_t k = 0; k < r->n_parts; k++) {
        const struct routine_part *pt = &r->parts[k];
        if ((size_t)step >= pt->first_step && (size_t)step < pt->first_step + pt->n_steps)
            return pt;
    }
    return NULL;
}
