/* Commands that steer a live session, whatever they come from: a key on
 * the terminal, a word on the control socket (`coach ctl WORD`), a signal.
 * Keys arrive as bytes: a terminal sends the arrow keys as escape
 * sequences (ESC [ A), so a small decoder turns bytes into keys first and
 * swallows every other sequence whole, never as letters. */
#ifndef COACH_CONTROL_H
#define COACH_CONTROL_H

#include <stdint.h>

enum ctl_cmd {
    CTL_NONE = 0,
    CTL_TOGGLE,      /* space, SIGUSR1: pause or resume */
    CTL_PAUSE,
    CTL_RESUME,
    CTL_NEXT,        /* n, Right, SIGUSR2: next step */
    CTL_BACK,        /* b, Left: back to the start of this step (twice within 2 s: previous) */
    CTL_PREVIOUS,    /* p: the previous step */
    CTL_REPEAT,      /* r: repeat the last instruction */
    CTL_WHERE,       /* ? or w: speak step, side, set, rep and time left */
    CTL_VOLUME_UP,   /* + (also =), Up */
    CTL_VOLUME_DOWN, /* -, Down */
    CTL_STOP,        /* q: stop and exit */
    CTL_DONE,        /* Enter, d: a self-paced part is finished (pace = self, hold = max,
                      * rest = ready); MPRIS Next while one waits */
    CTL_HURT,        /* h: it hurts: stop the exercise at once, say how to get out of it
                      * safely, offer to skip it (next) or end the session (stop) */
    /* --ask-pain's answer, 0-10: keys 0-9 (1 then 0 within a second: 10),
     * the words "pain 0" .. "pain 10" (consecutive: CTL_PAIN_0 + n) */
    CTL_PAIN_0,
    CTL_PAIN_10 = CTL_PAIN_0 + 10,
};
#define CTL_IS_PAIN(c) ((c) >= CTL_PAIN_0 && (c) <= CTL_PAIN_10)

/* Keys beyond bytes: the arrows. */
enum { KEY_NONE = -1, KEY_UP = 0x100, KEY_DOWN, KEY_RIGHT, KEY_LEFT };

/* Turns terminal bytes into keys: a plain byte is itself; ESC [ A..D and
 * ESC O A..D are the arrows; any other escape sequence (with parameters,
 * function keys, Alt+key) is swallowed whole. A sequence broken off for
 * longer than KEYDEC_GAP_MS counts as ended. */
struct keydec {
    int state;        /* 0 plain, 1 after ESC, 2 in ESC [ ..., 3 after ESC O */
    int params;       /* parameter bytes seen in ESC [ ... */
    uint64_t last_ms; /* when the last byte came */
};
#define KEYDEC_GAP_MS 100
/* The key byte c makes (a byte, or KEY_UP..KEY_LEFT), or KEY_NONE while a
 * sequence is incomplete or swallowed. now_ms: a monotonic clock. */
int keydec_feed(struct keydec *k, unsigned char c, uint64_t now_ms);

/* A key of a playing coach -> command (CTL_NONE if not bound). */
enum ctl_cmd ctl_from_key(int key);
/* A word ("pause", "resume", "toggle", "next", "back", "previous",
 * "repeat", "where", "louder", "softer", "stop", "done", "hurt", "pain N"
 * with N 0-10; case-insensitive, surrounding blanks ignored) -> command,
 * CTL_NONE if unknown. */
enum ctl_cmd ctl_from_word(const char *word);
/* The canonical word of a command ("pause", ..., "pain" for every rating). */
const char *ctl_word(enum ctl_cmd c);
/* A one-line list of the words, for messages ("pain" takes its number). */
const char *ctl_words_help(void);

#endif
