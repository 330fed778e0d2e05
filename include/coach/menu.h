/* `coach menu`: choosing a routine by ear. The menu is the list of routines
 * the catalog finds, each with what a listener needs to choose (title,
 * estimated length, number of exercises, summary), a cursor that wraps
 * around at both ends, the sentences spoken for an item, and the commands
 * (the same words and keys as a playing coach) carried out with a player
 * that speaks (player.h, a voice without a routine). The command line only
 * prints; everything here is tested offline through the memory sink. */
#ifndef COACH_MENU_H
#define COACH_MENU_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "coach/catalog.h"
#include "coach/control.h"
#include "coach/habit.h"
#include "coach/player.h"
#include "coach/voice.h"

struct menu_item {
    char *name;      /* catalog name, e.g. "lower-back-relief" */
    char *path;      /* the routine file */
    char *title;     /* [routine] title */
    char *summary;   /* NULL if the routine has none */
    char *voice;     /* the routine's voice profile name */
    unsigned minutes; /* length, rounded, at least 1: what the routine's intro
                       * says when its phrases are in the phrase cache, else
                       * estimated */
    size_t moves;    /* routine_count_moves */
    struct habit habit; /* from the history (menu_load_history); unknown: not said */
};

struct menu {
    struct menu_item *items;
    size_t n;
    size_t cur;      /* the item being offered */
    size_t skipped;  /* routines left out: they have errors */
    char *last;      /* the last sentence said (repeat) */
};

enum menu_verdict { MENU_STAY, MENU_START, MENU_QUIT };

/* Loads every routine catalog_list finds and estimates its length (a
 * session with estimated clip lengths: no synthesis). level < 0: each
 * routine's own level, else an enum level. voice: the voice profile to plan
 * with, or NULL for each routine's own (a routine whose voice cannot be
 * loaded is skipped). Routines with errors are skipped and counted.
 * Entries that are not files (a dangling link, a directory, a FIFO) are
 * passed over. Returns 0 or negative. */
int menu_load(struct menu *m, int level, const char *voice);
/* menu_load, telling skip (if not NULL) about each entry passed over (see
 * catalog_list_checked); no_cache (--no-cache): lengths estimated, the
 * phrase cache not read. */
int menu_load_checked(struct menu *m, int level, const char *voice, bool no_cache,
                      catalog_skip_fn skip, void *ctx);
/* Reads the history at path once and fills each item's habit (when it
 * was last done, the days in a row, as of now). No history yet: "not done
 * yet" for all; a history that cannot be read: nothing is said about it.
 * Returns what history_read does. */
int menu_load_history(struct menu *m, const char *path, time_t now);
void menu_free(struct menu *m);
/* Moves the cursor by delta (+1 next, -1 previous), wrapping around at
 * the ends; returns the new cursor. No-op on an empty menu. */
size_t menu_move(struct menu *m, int delta);
/* "Routine 2 of 9: Lower back relief. About 18 minutes, 9 exercises."
 * Heap string, NULL if the menu is empty or memory ran out. */
char *menu_item_text(const struct menu *m, const struct voice *v);
/* The item, its length and number of exercises, when it was last done
 * and the days in a row (if the history was read), and its summary. */
char *menu_details_text(const struct menu *m, const struct voice *v);
/* How to choose (keys: the keyboard's keys; else the buttons and coach
 * ctl) and the first item. Heap string. */
char *menu_intro_text(const struct menu *m, const struct voice *v, bool keys);
/* A key in the menu -> command: n, space, Right next; b, p, Left back; d,
 * ?, w details (where); r repeat; Enter, s start (toggle); q quit; + = Up
 * louder; - Down softer. */
enum ctl_cmd menu_key(int key);
/* Says text through p (taking it: it becomes m->last, for repeat).
 * Returns 0 or negative. */
int menu_say(struct menu *m, struct player *p, char *text, uint8_t ack);
/* Carries out a command: next/back (previous) move through the routines,
 * where says the details, repeat the last sentence, toggle/resume start
 * the one offered (or resume a paused menu), pause/louder/softer as in a
 * routine, stop leaves. Whatever is said is in m->last; *said_new tells
 * whether something new was said. reply: for `coach ctl`. */
enum menu_verdict menu_command(struct menu *m, struct player *p, const struct voice *v,
                               enum ctl_cmd c, bool *said_new, char *reply, size_t cap);

#endif
