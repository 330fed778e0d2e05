/* A routine as plain data in human units (milliseconds, counts, text),
 * parsed from an INI file and validated once. Every error is
 * collected as "file:line: message"; see docs/coach-routine.5 for the format. */
#ifndef COACH_ROUTINE_H
#define COACH_ROUTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/diag.h"
#include "coach/inireader.h"

#define ROUTINE_MAX_PHASES 8      /* tempo phases per dynamic rep */
#define ROUTINE_MAX_STEPS 200
#define ROUTINE_MAX_LIST 32       /* repeated keys (setup, caution) and list items */
#define ROUTINE_MAX_TEXT_BYTES 500 /* one text value or list item */
#define ROUTINE_REMIND_MS 60000   /* default "remind": a reminder after a minute of waiting */
#define ROUTINE_REMIND_MIN_MS 10000 /* a shorter reminder (but 0, never) would nag */
/* Line, file and message limits are the shared INI reader's. */
#define ROUTINE_MAX_ERRORS INI_LINES_MAX_ERRORS
#define ROUTINE_MAX_FILE_BYTES INI_LINES_MAX_FILE_BYTES
#define ROUTINE_MAX_LINE_BYTES INI_LINES_MAX_BYTES

enum step_kind { STEP_EXERCISE, STEP_BREATHING, STEP_REST, STEP_SAY };
enum level { LEVEL_EASY, LEVEL_MEDIUM, LEVEL_HARD };

/* Inclusive range; lo == hi for a single number. Units as the field says. */
struct range {
    uint32_t lo, hi;
};

struct strlist {
    char **items;
    size_t len;
};

struct step {
    enum step_kind kind;
    char *id;  /* from "[kind id]"; unique in the routine */
    int line;  /* line of the section header */

    /* exercise and breathing */
    char *name;           /* spoken name; required for exercise/breathing */
    struct strlist setup; /* spoken while getting into position, in order */
    char *cue;            /* spoken as each side/set starts; NULL if absent */
    char *tip;            /* optional; NULL if absent */
    char *finish;         /* spoken when the step's work ends; NULL if absent */

    /* exercise */
    struct strlist sides;        /* e.g. "left leg", "right leg"; empty = none */
    struct range sets;           /* count, default 1 */
    struct range reps;           /* count, default 1 */
    struct range hold_ms;        /* isometric hold per rep; {0,0} if absent */
    struct range duration_ms;    /* continuous work ("keep going"); {0,0} if absent */
    uint32_t tempo_ms[ROUTINE_MAX_PHASES]; /* per phase of a dynamic rep */
    size_t n_tempo;              /* 0 if no tempo */
    struct strlist phases;       /* one name per tempo phase; may be empty */
    uint32_t rest_reps_ms;       /* between reps; default 0 */
    uint32_t rest_sets_ms;       /* between sets; default 30000 */
    uint32_t metronome_bpm;      /* soft ticks during the work; 0 = off */
    /* "alternate = yes": the two sides take turns rep by rep (right, left,
     * right...) in one block per set instead of all reps on each side in
     * turn; reps still count per side. Only with exactly 2 sides. */
    bool alternate;
    /* self-paced work (the coach waits for "done"; an export gives it the
     * default times of plan.h) */
    bool pace_self;              /* pace = self: reps said, not counted */
    bool hold_max;               /* hold = max: hold as long as you can */
    /* lines of the keys a timing error names (0: not in the file) */
    int hold_line, tempo_line, duration_line, rest_reps_line;

    /* breathing (hold_ms above is not used; breath_hold_ms is) */
    uint32_t inhale_ms, breath_hold_ms, exhale_ms, hold_out_ms;
    struct range cycles;         /* count */
    uint32_t spoken_cycles;      /* cycles with phase words; tones only after */

    /* rest */
    struct range rest_ms;        /* "seconds" */
    bool rest_ready;             /* seconds = ready: rest until "done" */

    /* rest ("say") and say ("text") */
    char *text;                  /* NULL if absent */
    /* say: "unless_after = warm-up": routine names; in a sequence where
     * one of them is played before this routine, the step is left out
     * (routine_join); empty: always said */
    struct strlist unless_after;

    /* every kind: "speech_rate = 130" (words per minute) or "slower"
     * (ROUTINE_SPEECH_SLOWER): the step's own words said at that rate
     * instead of the voice's; 0: the voice's */
    int speech_rate;
};

#define ROUTINE_SPEECH_SLOWER (-1)
/* "slower": this percent of the voice's rate */
#define ROUTINE_SLOWER_PCT 80

struct routine;

/* One routine of a sequence (routine_join): the routine as read (its file
 * for messages, its rest, prepare and countdown) and where its steps are
 * in the joined routine. */
struct routine_part {
    const struct routine *src; /* not owned: outlives the joined routine */
    const char *name;          /* its name (file name without .ini); not owned */
    size_t first_step, n_steps; /* its steps: steps[first_step .. first_step + n_steps) */
};

struct routine {
    char *path;               /* as given */
    char *title;              /* required */
    char *summary;            /* NULL if absent */
    char *voice;              /* profile name, default "en-us" */
    int voice_line;           /* line of "voice =", 0 if defaulted */
    struct strlist cautions;  /* read in the intro */
    char *stop_safely;        /* said on a pain stop (hurt); NULL: the voice profile's */
    uint32_t rest_ms;         /* between steps, default 15000 */
    bool rest_ready;          /* rest = ready: the rests between steps wait for "done" */
    uint32_t remind_ms;       /* a self-paced wait's reminder after this silence; 0 = never;
                               * default ROUTINE_REMIND_MS */
    uint32_t prepare_ms;      /* before the first hold/rep, default 5000 */
    uint32_t countdown_s;     /* 0-10, default 3 */
    int countdown_line;       /* line of "countdown =", 0 if defaulted */
    enum level level;         /* default LEVEL_EASY */
    /* "before = warm-up" / "after = cool-down": routines (names or paths,
     * found as the command line finds them) that --with-warm-up plays
     * before and after this one; empty: none */
    struct strlist before, after;
    int before_line, after_line; /* their lines, 0 if absent */
    struct step *steps;       /* in file order */
    size_t n_steps;
    /* A sequence (routine_join): the routines joined, in order; NULL for
     * a routine read from a file. A joined routine shares its texts with
     * the routines it was made from. */
    struct routine_part *parts;
    size_t n_parts;
};

/* Parses and validates the file at path. On success returns 0 and fills r.
 * On any problem returns COACH_EINVAL (or COACH_ENOTFOUND/COACH_EIO for an
 * unreadable file) with every problem added to d; r is then empty. */
int routine_load(const char *path, struct routine *r, struct coach_diags *d);
/* Same, from memory; name is used in messages. Never reads past len; text
 * need not be NUL-terminated. */
int routine_parse(const char *name, const char *text, size_t len, struct routine *r,
                  struct coach_diags *d);
void routine_free(struct routine *r);

/* Joins n routines (n >= 1) into one sequence played as one session:
 * their steps in order, the title "A, B, C", the cautions of all of them,
 * each once, and parts[] saying where each one's steps are. Settings of
 * [routine] (rest, prepare, countdown, voice, level) are the first's;
 * the planner takes each step's own routine's from parts. With
 * own_levels, every step's ranges are fixed at its own routine's level
 * (lo == hi), so any level picks it. The texts stay the sources': keep
 * them until out is freed (routine_free knows). A [say] step whose
 * unless_after names a routine joined before its own is left out (names
 * given). Returns 0 or
 * COACH_ENOMEM (out empty). */
int routine_join(struct routine *out, const struct routine *const *src, const char *const *names,
                 size_t n, bool own_levels);
/* The part of a joined routine that holds step (NULL: not joined, or
 * no such step). */
const struct routine_part *routine_part_of(const struct routine *r, int32_t step);

/* The value of a range for a level: easy = lo, hard = hi, medium = the
 * midpoint rounded half up. */
uint32_t range_pick(struct range r, enum level lv);
/* "easy" | "medium" | "hard" -> 0 and *lv, else COACH_EINVAL. */
int level_parse(const char *s, enum level *lv);
const char *level_name(enum level lv);
const char *step_kind_name(enum step_kind k);
/* Number of exercise + breathing steps (the ones announced "n of N"). */
size_t routine_count_moves(const struct routine *r);
/* The step --from names: a number N (decimal digits only) is the Nth
 * exercise or breathing step, as "Exercise N of M" counts them; anything
 * else is a step's id ("[exercise bird-dog]": bird-dog, any kind of step).
 * Returns 0 and *index (into r->steps), COACH_EINVAL for a number out of
 * 1..routine_count_moves, COACH_ENOTFOUND for no such id. */
int routine_find_step(const struct routine *r, const char *spec, size_t *index);

#endif
