/* Commands that steer a live session, whatever they come from: a key on
 * the terminal, a word on the control socket (`coach ctl WORD`), a signal. */
#ifndef COACH_CONTROL_H
#define COACH_CONTROL_H

enum ctl_cmd {
    CTL_NONE = 0,
    CTL_TOGGLE,      /* space, SIGUSR1: pause or resume */
    CTL_PAUSE,
    CTL_RESUME,
    CTL_NEXT,        /* n, SIGUSR2: next step */
    CTL_BACK,        /* b: back to the start of this step */
    CTL_REPEAT,      /* r: repeat the last instruction */
    CTL_WHERE,       /* ? or w: speak step, side, set, rep and time left */
    CTL_VOLUME_UP,   /* + (also =) */
    CTL_VOLUME_DOWN, /* - */
    CTL_STOP,        /* q: stop and exit */
};

/* A key pressed on the terminal -> command (CTL_NONE if not bound). */
enum ctl_cmd ctl_from_key(int key);
/* A word ("pause", "resume", "toggle", "next", "back", "repeat", "where",
 * "louder", "softer", "stop"; case-insensitive, surrounding blanks ignored)
 * -> command, CTL_NONE if unknown. */
enum ctl_cmd ctl_from_word(const char *word);
/* The canonical word of a command ("pause", ...). */
const char *ctl_word(enum ctl_cmd c);
/* A one-line list of the words, for messages. */
const char *ctl_words_help(void);

#endif
