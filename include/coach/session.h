/* A session: everything one routine needs from its name to its timeline,
 * made in one place for every command (check, plan, export, play, menu).
 * session_open finds and reads the routine (a name or a path) and its voice
 * profile (or an override) with the speech overrides, picks the level
 * (--level, moved up by --progress from the history), opens the speech and
 * the clip store and, unless told to wait, plans the whole routine. A
 * session without a routine is a voice that can speak (the menu's). Errors
 * come back as a kind (what failed, for the exit status) with the file:line
 * messages in a diagnostics list and a one-line reason; nothing is printed
 * here. */
#ifndef COACH_SESSION_H
#define COACH_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "coach/clips.h"
#include "coach/diag.h"
#include "coach/plan.h"
#include "coach/routine.h"
#include "coach/speech.h"
#include "coach/timeline.h"
#include "coach/voice.h"

struct progress; /* progress.h */

struct session_opts {
    const char *routine;      /* name or path; NULL: a voice only */
    /* Several routines played as one session (a sequence, routine_join),
     * instead of routine: names or paths, in order. n_routines 0: routine. */
    const char *const *routines;
    size_t n_routines;
    /* each routine given with its "before" routines ahead of it and its
     * "after" routines behind it (--with-warm-up) */
    bool with_warm_up;
    const char *voice;        /* profile name or path instead of the routine's; NULL: its own */
    int speech_rate, pitch, speech_volume; /* profile overrides; -1 = the profile's */
    const char *level;        /* "easy", "medium", "hard"; NULL: the routine's */
    bool progress;            /* move the level up from the history's streak */
    const char *history_path; /* for progress; NULL: the default (history.h) */
    uint32_t rate_hz;         /* output rate */
    enum clip_mode clips;     /* audio (export, play), lengths (check, plan), estimate (menu) */
    bool defer_plan;          /* play: the speech thread plans in stages (session_plan) */
    uint32_t preroll_ms;      /* --preroll (plan.h): lead-in and keep-alive; 0: none */
    const char *from;         /* --from: a step number or id (routine_find_step); NULL: the top */
    bool resume;              /* --resume: from the step where the history's last record of
                               * the routine stopped; from the top (with a note) if it was
                               * completed, or there is none */
    bool no_cache;            /* --no-cache: synthesize every phrase, keep none (phrasecache.h) */
    /* play: the speech engine starts on a thread of its own while the sound
     * system does (speech_open_async); session_speech_ready waits for it */
    bool speech_async;
};

/* What failed; each has its exit status in the CLI. */
enum session_fail {
    SESSION_OK,
    SESSION_NO_ROUTINE,   /* no routine of that name (err: the name) */
    SESSION_NOT_A_FILE,   /* a directory, device or pipe was named */
    SESSION_NO_VOICE,     /* the --voice profile is not found (err: its name) */
    SESSION_UNREADABLE,   /* the routine or profile cannot be read (err: which) */
    SESSION_INVALID,      /* errors in the files (the diagnostics say which) */
    SESSION_SPEECH,       /* espeak-ng cannot start or lacks the voice (err: why) */
    SESSION_PLAN,         /* the plan cannot be made (err: why, as file:line) */
    SESSION_BAD_STEP,     /* --from names no step (err: what there is) */
    SESSION_SEQUENCE,     /* a sequence cannot be played so: mixed voices without --voice,
                           * or --from, --resume (err: why and what to do) */
    SESSION_NOMEM,
};

struct session {
    char *routine_path;   /* the file found */
    char *name;           /* the routine's name: its file name without .ini */
    struct routine routine;
    struct voice voice;
    struct speech *speech;
    struct clipstore clips;
    struct phrasecache *cache; /* the phrase cache the clips use, or NULL */
    struct timeline tl;   /* the whole plan (unless defer_plan) */
    enum level level;     /* the level played */
    unsigned streak;      /* --progress: full completions in a row found */
    bool pain_down;       /* --progress: the last session hurt, so a level down (progress.h) */
    int progress_errno;   /* --progress: the history could not be read (0: it could) */
    char *announce;       /* --progress sentence said after the title, or NULL */
    uint32_t preroll_ms;  /* every plan's lead-in; the live engine's too (0: none) */
    size_t routine_warnings; /* warnings the routine file gave (in the diagnostics) */
    const struct step *from; /* --from, --resume: the step it starts at; NULL: the top */
    char *from_note;      /* --resume: where it resumes, or why from the top (for stderr) */
    /* set by the caller: session_plan collects every timing problem here
     * (plan_opts.problems) instead of failing at the first */
    struct coach_diags *plan_problems;
    /* A sequence (routine is then their join, routine.parts): the routines
     * read, in order, with their files and names. n_parts 0: one routine. */
    struct routine *part_routines;
    char **part_paths, **part_names;
    size_t n_parts;
    /* --progress in a sequence: each routine's walk of the history (its
     * level, streak, a step down) and its sentence, said after its name
     * (NULL: none); NULL without --progress */
    struct progress *part_progress;
    char **part_announce;
    bool history_warned;  /* the history's damage was warned about */
    /* set by the caller before planning: what the listener can answer a
     * self-paced part with (enum voice_input bits; plan_opts.inputs) */
    unsigned inputs;
    bool have_routine, have_voice, have_clips, have_tl;
};

/* Opens a session (see above). On failure returns the kind, with messages
 * in d (file:line, sorted) and a reason in err; s is then only to be
 * freed. */
enum session_fail session_open(struct session *s, const struct session_opts *o,
                               struct coach_diags *d, char *err, size_t err_cap);
/* With speech_async: waits for the speech engine. SESSION_SPEECH, with
 * what it lacks in err (as session_open says it), if it failed to start. */
enum session_fail session_speech_ready(struct session *s, char *err, size_t cap);
/* Plans part of the routine into tl (the whole routine into s->tl is
 * session_open's). The clip store must be used by one thread at a time:
 * the caller's. Returns 0 or negative with err set. */
int session_plan(struct session *s, enum plan_part part, int (*tick)(void *ctx), void *tick_ctx,
                 struct timeline *tl, char *err, size_t err_cap);
/* The options session_plan plans part with (no tick): the session's level,
 * announcements, inputs, lead-in, start step and problem list. */
struct plan_opts session_plan_opts(const struct session *s, enum plan_part part);
/* An empty store of estimated lengths at the session's rate and speaking
 * rate (no speech, no cache): what the planner's estimate passes use.
 * Returns 0 or COACH_EINVAL. */
int session_estimates(const struct session *s, struct clipstore *est);
/* Makes the clips at another output rate (a device that cannot play the
 * one asked): only before any clip is made. Returns 0 or COACH_EINVAL. */
int session_set_rate(struct session *s, uint32_t rate_hz);
void session_free(struct session *s);
/* "lower-back-relief" from ".../lower-back-relief.ini". */
const char *session_routine_name(const char *path, char *buf, size_t cap);

#endif
