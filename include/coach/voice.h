/* A voice profile (voices/<name>.ini): the espeak-ng voice and its settings,
 * and the template of every phrase the coach says. No user-facing phrase
 * lives in C: C only names phrase keys and fills placeholders. */
#ifndef COACH_VOICE_H
#define COACH_VOICE_H

#include <stddef.h>
#include <stdint.h>

#include "coach/diag.h"
#include "coach/lexicon.h"
#include "coach/speech.h"

/* Phrase keys, as written in [phrases] of a profile. X(enum, "key") */
#define COACH_PHRASES(X)                                                                    \
    X(PH_INTRO, "intro")                 /* {title} */                                    \
    X(PH_DURATION, "duration")           /* {duration} */                                 \
    X(PH_CAUTION_INTRO, "caution_intro") /* before the routine's cautions */              \
    X(PH_BEGIN, "begin")                 /* after the intro */                            \
    X(PH_STEP, "step")                   /* {n} {total} {name} */                         \
    X(PH_TIP, "tip")                     /* {text} */                                     \
    X(PH_SET, "set")                     /* {set} {sets} */                               \
    X(PH_SIDE_FIRST, "side_first")       /* {side} */                                     \
    X(PH_SIDE_SWITCH, "side_switch")     /* {side} */                                     \
    X(PH_REPS_GOAL, "reps_goal")         /* {reps} (counted phrase) */                    \
    X(PH_COUNT, "count")                 /* {n}: countdown and counted seconds */         \
    X(PH_HOLD, "hold")                   /* {seconds} (duration phrase) */                \
    X(PH_REP_HOLD, "rep_hold")           /* {n} {seconds}: rep number + hold */           \
    X(PH_REP_SHORT, "rep_short")         /* {n}: held rep when rep_hold is too long */    \
    X(PH_HALFWAY, "halfway")             /* {seconds} left */                             \
    X(PH_RELEASE, "release")                                                              \
    X(PH_REP, "rep")                     /* {n} */                                        \
    X(PH_REP_PHASE, "rep_phase")         /* {n} {phase} */                                \
    X(PH_PHASE, "phase")                 /* {phase} */                                    \
    X(PH_LAST_ONE, "last_one")                                                            \
    X(PH_KEEP_GOING, "keep_going")       /* {seconds} */                                  \
    X(PH_STOP, "stop")                                                                    \
    X(PH_REST, "rest")                   /* {seconds} */                                  \
    X(PH_NEXT, "next")                   /* {name} */                                     \
    X(PH_REST_LEFT, "rest_left")         /* {seconds} */                                  \
    X(PH_BREATHS, "breaths")             /* {cycles} (counted phrase) */                  \
    X(PH_INHALE, "inhale")                                                                \
    X(PH_BREATH_HOLD, "breath_hold")                                                      \
    X(PH_EXHALE, "exhale")                                                                \
    X(PH_HOLD_OUT, "hold_out")                                                            \
    X(PH_TONES_ONLY, "tones_only")                                                        \
    X(PH_COMPLETE, "complete")                                                            \
    X(PH_WHERE_INTRO, "where_intro")     /* "where am I" in the intro */                 \
    X(PH_WHERE_REP, "where_rep")         /* {n} {total} */                                \
    X(PH_WHERE_BREATH, "where_breath")   /* {n} {total} */                                \
    X(PH_WHERE_STEP_LEFT, "where_step_left")   /* {duration} */                           \
    X(PH_WHERE_TOTAL_LEFT, "where_total_left") /* {duration} */                           \
    X(PH_PROGRESS, "progress")           /* {n} completions in a row, {text} the level */ \
    X(PH_LEVEL_EASY, "level_easy")       /* level words for {text} of "progress" */       \
    X(PH_LEVEL_MEDIUM, "level_medium")                                                    \
    X(PH_LEVEL_HARD, "level_hard")                                                        \
    X(PH_MENU_INTRO, "menu_intro")       /* coach menu: how to choose */                  \
    X(PH_MENU_ITEM, "menu_item")         /* {n} {total} {title} */                        \
    X(PH_MENU_LENGTH, "menu_length")     /* {minutes}, {n} exercises */                   \
    X(PH_MENU_LENGTH_ONE, "menu_length_one") /* {minutes}, a single exercise */           \
    X(PH_MENU_START, "menu_start")       /* {title} */                                    \
    X(PH_MENU_EMPTY, "menu_empty")       /* no routine found */                           \
    X(PH_MENU_INTRO_BUTTONS, "menu_intro_buttons") /* menu_intro with no keyboard */      \
    X(PH_PAUSED, "paused")               /* said once a pause holds; "where am I" */      \
    X(PH_MAX_VOLUME, "max_volume")       /* louder at the top */                          \
    X(PH_MIN_VOLUME, "min_volume")       /* softer at the bottom */                       \
    X(PH_NO_NEXT, "no_next")             /* next refused: nothing follows */              \
    X(PH_NO_PREVIOUS, "no_previous")     /* previous refused: nothing before */           \
    X(PH_NOTHING_TO_REPEAT, "nothing_to_repeat") /* repeat refused */                    \
    X(PH_UNKNOWN_COMMAND, "unknown_command") /* a control word coach does not know */     \
    X(PH_NOT_READY, "not_ready")         /* a jump before the whole plan is made */       \
    X(PH_WHERE_RESTING, "where_resting") /* "where am I" in a rest, before "next" */      \
    X(PH_WHERE_HOLD, "where_hold")       /* {n} {total}: held repetitions */              \
    X(PH_WHERE_REST_LEFT, "where_rest_left") /* {duration} */                             \
    X(PH_WHERE_ENDING, "where_ending")   /* "where am I" after the last step */          \
    X(PH_FROM, "from")                   /* --from: {n} {total} {name}; optional */        \
    X(PH_SIDE_OTHER, "side_other")       /* alternate: {side} now working; optional */     \
    X(PH_REPS_ALTERNATE, "reps_alternate") /* alternate: {reps} per side; optional */  \
    X(PH_HISTORY_NEVER, "history_never") /* menu details: no session done yet */          \
    X(PH_HISTORY_TODAY, "history_today") /* last done today */                            \
    X(PH_HISTORY_YESTERDAY, "history_yesterday")                                          \
    X(PH_HISTORY_WEEKDAY, "history_weekday") /* {text}: a weekday word, 2-6 days ago */    \
    X(PH_HISTORY_DAYS_AGO, "history_days_ago") /* {n} days ago, 7 or more */               \
    X(PH_HISTORY_STREAK, "history_streak") /* {n} days in a row, 2 or more */               \
    X(PH_SUNDAY, "sunday")               /* weekday words for history_weekday */          \
    X(PH_MONDAY, "monday")                                                                \
    X(PH_TUESDAY, "tuesday")                                                              \
    X(PH_WEDNESDAY, "wednesday")                                                          \
    X(PH_THURSDAY, "thursday")                                                            \
    X(PH_FRIDAY, "friday")                                                                \
    X(PH_SATURDAY, "saturday")                                                            \
    X(PH_FIRST_ROUTINE, "first_routine") /* a sequence: {title} of its first routine */  \
    X(PH_NEXT_ROUTINE, "next_routine")   /* a sequence: {title} of the next routine */   \
    X(PH_SELF_REPS, "self_reps")         /* pace = self: {reps}, then wait for done */    \
    X(PH_HOLD_MAX, "hold_max")           /* hold = max: before the countdown */          \
    X(PH_REST_READY, "rest_ready")       /* rest = ready: instead of "rest" */            \
    X(PH_REMIND, "remind")               /* a self-paced wait, after 'remind' seconds */  \
    X(PH_COUNT_UP, "count_up")           /* hold = max: {seconds} held so far */          \
    X(PH_HELD, "held")                   /* hold = max, after done: {seconds} held */     \
    X(PH_NOTHING_TO_FINISH, "nothing_to_finish") /* done when nothing waits for it */     \
    X(PH_CAPTION_SELF, "caption_self")   /* captions of an export: {seconds} given to a self-paced part */ \
    X(PH_STOP_SAFELY, "stop_safely")     /* hurt: how to get out of the exercise safely */ \
    X(PH_HURT_OFFER, "hurt_offer")       /* hurt: skip the exercise or end the session */  \
    X(PH_ASK_PAIN, "ask_pain")           /* --ask-pain: the question at the end */         \
    X(PH_PAIN_NOTED, "pain_noted")       /* --ask-pain: {n} the rating given */            \
    X(PH_PROGRESS_DOWN, "progress_down") /* --progress after pain: {text} the level */ \
    /* how to answer a self-paced part, after its words, by the session's    \
     * inputs (enum voice_input; in this order: PH_DONE_VOICE + bits - 1) */ \
    X(PH_DONE_VOICE, "done_voice")       /* --listen: "coach done" */                     \
    X(PH_DONE_KEYS, "done_keys")         /* keys on the terminal: Enter */               \
    X(PH_DONE_VOICE_KEYS, "done_voice_keys")                                              \
    X(PH_DONE_BUTTON, "done_button")     /* MPRIS: a media or headset button's Next */    \
    X(PH_DONE_VOICE_BUTTON, "done_voice_button")                                          \
    X(PH_DONE_KEYS_BUTTON, "done_keys_button")                                            \
    X(PH_DONE_VOICE_KEYS_BUTTON, "done_voice_keys_button")                                \
    X(PH_CHAPTER_OPENING, "chapter_opening") /* chapter name of a say step before every move */ \
    X(PH_CHAPTER_CLOSING, "chapter_closing") /* ... after every move */                  \
    X(PH_CHAPTER_NOTE, "chapter_note")   /* ... between moves */                          \
    X(PH_CAPTION_CYCLE, "caption_cycle") /* captions: {text} the breath's words, {n} of {total} */ \
    X(PH_CAPTION_HOLD, "caption_hold")   /* captions: a hold of {seconds} */               \
    X(PH_CAPTION_WORK, "caption_work")   /* captions: timed work of {seconds} */           \
    X(PH_CAPTION_METRONOME, "caption_metronome") /* captions: {reps} to the metronome */   \
    X(PH_CAPTION_TONES, "caption_tones") /* captions: {reps} to the tempo tones */          \
    X(PH_CAPTION_REST, "caption_rest")   /* captions: a rest of {seconds} */               \
    X(PH_CAPTION_READY, "caption_ready") /* captions: the time to get ready */

/* Counted nouns: templates with "_one" and "_other" forms ({n} inside). */
#define COACH_NOUNS(X)                                                                      \
    X(NOUN_SECONDS, "seconds")                                                            \
    X(NOUN_MINUTES, "minutes")                                                            \
    X(NOUN_REPS, "reps")                                                                  \
    X(NOUN_BREATHS, "breaths")

/* Phrases a profile may leave out (added after profiles were written, so
 * older profiles still load): the coach then says nothing in their place,
 * or a phrase it had before (side_other: side_switch). They are the ones
 * from PH_FROM on: add new optional phrases at the end of the list. */
#define VOICE_PHRASE_OPTIONAL(id) ((int)(id) >= (int)PH_FROM)

#define COACH_ENUM_ITEM(e, key) e,
enum phrase_id { COACH_PHRASES(COACH_ENUM_ITEM) PHRASE_COUNT };
enum noun_id { COACH_NOUNS(COACH_ENUM_ITEM) NOUN_COUNT };
#undef COACH_ENUM_ITEM

enum plural_rule {
    PLURAL_ONE_IS_1,  /* English, German...: one for n == 1 */
    PLURAL_ONE_IS_01, /* French, pt-BR: one for n == 0 or 1 */
};

/* The longest phrase a profile may make: a template's text plus the most
 * each of its placeholders can bring (a routine's text at most 500 bytes,
 * a number 20, a noun its own template) must stay within it, checked when
 * the profile is read; so no profile can turn one routine title into an
 * hour of speech. The shipped profiles need less than half. */
#define VOICE_MAX_PHRASE_BYTES 2000
/* The most a {title}, {name}, {side}, {phase} or {text} brings: a routine
 * text (ROUTINE_MAX_TEXT_BYTES); {text} also gets a level word. */
#define VOICE_MAX_ARG_BYTES 500

/* The most bases under a profile ("base = x" in [voice], x's own base...):
 * a deeper chain is an error at the line that goes past it. */
#define VOICE_MAX_BASES 8

struct voice {
    char *path;            /* file it was read from */
    char *name;            /* profile name (file name without .ini) */
    /* [voice] the engine's voice: "espeak = en-us" (espeak-ng), or
     * "engine = flite" and "voice = slt"; "voice = mb-us1" alone is
     * espeak-ng's (the engine's default) */
    char *espeak_voice;
    enum speech_engine engine; /* [voice] engine, default espeak-ng */
    int rate_wpm;          /* [voice] rate, default 165 */
    int pitch;             /* [voice] pitch 0-100, default 50 */
    int volume;            /* [voice] volume 0-200, default 100 */
    enum plural_rule plural;
    char *phrases[PHRASE_COUNT];
    char *noun_one[NOUN_COUNT], *noun_other[NOUN_COUNT];
    int phrase_line[PHRASE_COUNT]; /* line of each phrase in its file (messages) */
    unsigned char phrase_file[PHRASE_COUNT]; /* its file: 0 path, k base_files[k - 1] */
    char *base_files[VOICE_MAX_BASES]; /* the bases read, nearest first (NULL: none) */
    /* [lexicon] word = replacement: said instead of the word, never shown;
     * a base's entries for words this profile does not give are added */
    struct lexicon lexicon;
};

/* Placeholder values for voice_format; unused ones may be left zero/NULL. */
struct phrase_args {
    const char *title, *name, *side, *phase, *text;
    long n, total, set, sets;
    long seconds;   /* rendered with the "seconds" noun: "20 seconds" */
    long minutes;   /* rendered with the "minutes" noun */
    long reps;      /* rendered with the "reps" noun */
    long cycles;    /* rendered with the "breaths" noun */
    const char *duration; /* preformatted ("about 14 minutes" part) */
};

/* Reads a profile; a "base = NAME" in its [voice] (a name found as
 * --voice finds one, passing over this very file, or a path relative to
 * the profile's directory) gives every phrase and setting it does not. */
int voice_load(const char *path, struct voice *v, struct coach_diags *d);
/* Same, from memory; name stands for the path (messages, profile name).
 * Never reads past len; text need not be NUL-terminated. There is no
 * directory to find a base in: a "base" key is checked and refused. */
int voice_parse(const char *name, const char *text, size_t len, struct voice *v,
                struct coach_diags *d);
void voice_free(struct voice *v);
/* Expands a phrase into a new heap string (NULL on no memory). */
char *voice_format(const struct voice *v, enum phrase_id id, const struct phrase_args *a);
/* What a listener can answer "done" with in a live session (bits; 0: none,
 * as in an export). */
enum voice_input {
    VOICE_IN_LISTEN = 1, /* spoken commands: "coach done" */
    VOICE_IN_KEYS = 2,   /* keys on the terminal: Enter or d */
    VOICE_IN_BUTTON = 4, /* MPRIS: Next on media keys or a headset */
    VOICE_IN_ALL = 7,
};
/* A self-paced part's words (self_reps, hold_max, rest_ready, remind)
 * followed by the profile's sentence for how to answer with these inputs
 * (done_voice ... done_voice_keys_button); the words alone with no inputs
 * or in a profile without that sentence. */
char *voice_format_done(const struct voice *v, enum phrase_id id, const struct phrase_args *a,
                        unsigned inputs);
/* "20 seconds" / "1 second" in the voice's language. */
char *voice_noun(const struct voice *v, enum noun_id id, long n);
const char *phrase_key(enum phrase_id id);
/* The language the profile's voice speaks ("en-us" for flite's slt). */
void voice_language(const struct voice *v, char *buf, size_t cap);
/* The file a phrase was read from (the profile's or one of its bases'). */
const char *voice_phrase_file(const struct voice *v, enum phrase_id id);

#endif
