/* The one table of session commands: which terminal key and which control
 * word mean what, and the canonical word for each command. Keys, the
 * control socket and signals all end up here, so the session loop deals
 * only in enum ctl_cmd. */
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
    {"repeat", CTL_REPEAT},
    {"where", CTL_WHERE},
    {"louder", CTL_VOLUME_UP},
    {"softer", CTL_VOLUME_DOWN},
    {"stop", CTL_STOP},
    /* aliases */
    {"volume-up", CTL_VOLUME_UP},
    {"volume-down", CTL_VOLUME_DOWN},
    {"quit", CTL_STOP},
};

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
        return CTL_BACK;
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
    default:
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
    return CTL_NONE;
}

const char *ctl_word(enum ctl_cmd c)
{
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (words[i].cmd == c) return words[i].word;
    return "none";
}

const char *ctl_words_help(void)
{
    return "pause, resume, toggle, next, back, repeat, where, louder, softer, stop";
}
