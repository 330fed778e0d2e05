/* The one table of session commands: which terminal key and which control
 * word mean what, and the canonical word for each command. Keys, the
 * control socket and signals all end up here, so the session loop deals
 * only in enum ctl_cmd. Also the decoder of the terminal's escape
 * sequences. */
#include "coach/control.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

struct word_map {
    const char *word;
    enum ctl_cmd cmd;
};

/* Canonical words first: ctl_word() returns the first match. */
static const struct word_map words[] = {
    {"pause", CTL_PAUSE},
    {"resume", CTL_RESUME},
    {"toggle", CTL_TOGGLE},
    {"next", CTL_NEXT},
    {"back", CTL_BACK},
    {"previous", CTL_PREVIOUS},
    {"repeat", CTL_REPEAT},
    {"where", CTL_WHERE},
    {"louder", CTL_VOLUME_UP},
    {"softer", CTL_VOLUME_DOWN},
    {"stop", CTL_STOP},
    {"done", CTL_DONE},
    {"hurt", CTL_HURT},
    /* aliases */
    {"volume-up", CTL_VOLUME_UP},
    {"volume-down", CTL_VOLUME_DOWN},
    {"quit", CTL_STOP},
    {"prev", CTL_PREVIOUS},
};

int keydec_feed(struct keydec *k, unsigned char c, uint64_t now_ms)
{
    if (k->state && now_ms - k->last_ms > KEYDEC_GAP_MS) k->state = 0;
    k->last_ms = now_ms;
    switch (k->state) {
    case 1: /* after ESC */
        k->state = c == '[' ? 2 : c == 'O' ? 3 : c == 0x1b ? 1 : 0;
        k->params = 0;
        return KEY_NONE; /* ESC x (Alt+x) is swallowed */
    case 2: /* ESC [ params final */
        if (c >= 0x20 && c <= 0x3f) {
            k->params++;
            return KEY_NONE;
        }
        k->state = 0;
        if (k->params || c < 'A' || c > 'D') return KEY_NONE; /* Ctrl+arrow, F-keys, ... */
        return KEY_UP + (c - 'A');
    case 3: /* ESC O x */
        k->state = 0;
        return c >= 'A' && c <= 'D' ? KEY_UP + (c - 'A') : KEY_NONE;
    default:
        if (c == 0x1b) {
            k->state = 1;
            return KEY_NONE;
        }
        return c;
    }
}

enum ctl_cmd ctl_from_key(int key)
{
    switch (key) {
    case ' ':
        return CTL_TOGGLE;
    case 'n':
    case 'N':
        return CTL_NEXT;
    case 'b':
    case 'B':
    case KEY_LEFT:
        return CTL_BACK;
    case KEY_RIGHT:
        return CTL_NEXT;
    case 'p':
    case 'P':
        return CTL_PREVIOUS;
    case KEY_UP:
        return CTL_VOLUME_UP;
    case KEY_DOWN:
        return CTL_VOLUME_DOWN;
    case 'r':
    case 'R':
        return CTL_REPEAT;
    case '?':
    case 'w':
    case 'W':
        return CTL_WHERE;
    /* '=' is '+' without shift on most layouts */
    case '+':
    case '=':
        return CTL_VOLUME_UP;
    case '-':
        return CTL_VOLUME_DOWN;
    case 'q':
    case 'Q':
        return CTL_STOP;
    case '\n': /* Enter; not 'D': an arrow's final letter, should its sequence break */
    case '\r':
    case 'd':
        return CTL_DONE;
    case 'h': /* not 'H' (Home's final letter), as 'd' */
        return CTL_HURT;
    default: /* digits answer --ask-pain's question */
        if (key >= '0' && key <= '9') return (enum ctl_cmd)(CTL_PAIN_0 + (key - '0'));
        return CTL_NONE;
    }
}

enum ctl_cmd ctl_from_word(const char *word)
{
    if (!word) return CTL_NONE;
    /* isspace() on a negative char is undefined: go through unsigned char */
    while (*word && isspace((unsigned char)*word))
        word++;
    size_t len = strlen(word);
    while (len && isspace((unsigned char)word[len - 1]))
        len--;

    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        const char *w = words[i].word;
        if (strlen(w) != len) continue;
        size_t k = 0;
        while (k < len && tolower((unsigned char)word[k]) == w[k])
            k++;
        if (k == len) return words[i].cmd;
    }
    /* "pain N": a rating 0-10, one or more blanks between */
    if (len > 4 && tolower((unsigned char)word[0]) == 'p' && tolower((unsigned char)word[1]) == 'a' &&
        tolower((unsigned char)word[2]) == 'i' && tolower((unsigned char)word[3]) == 'n' &&
        isspace((unsigned char)word[4])) {
        size_t k = 4;
        while (k < len && isspace((unsigned char)word[k])) k++;
        unsigned n = 0, digits = 0;
        for (; k < len && isdigit((unsigned char)word[k]) && digits < 3; k++, digits++)
            n = n * 10 + (unsigned)(word[k] - '0');
        if (k == len && digits && n <= 10) return (enum ctl_cmd)(CTL_PAIN_0 + n);
    }
    return CTL_NONE;
}

const char *ctl_word(enum ctl_cmd c)
{
    if (CTL_IS_PAIN(c)) return "pain";
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (words[i].cmd == c) return words[i].word;
    return "none";
}

const char *ctl_words_help(void)
{
    return "pause, resume, toggle, next, back, previous, repeat, where, louder, softer, stop, done, "
           "hurt, pain";
}
