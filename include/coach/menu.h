/* `coach menu`: choosing a routine by ear. The menu is the list of routines
 * the catalog finds, each with what a listener needs to choose (title,
 * estimated length, number of exercises, summary), a cursor that wraps
 * around at both ends, and the sentences spoken for an item. The audio and
 * the keys live in cli_menu.c; everything here is testable without a device. */
#ifndef COACH_MENU_H
#define COACH_MENU_H

#include <stddef.h>

#include "coach/voice.h"

struct menu_item {
    char *name;      /* catalog name, e.g. "lower-back-relief" */
    char *path;      /* the routine file */
    char *title;     /* [routine] title */
    char *summary;   /* NULL if the routine has none */
    char *voice;     /* the routine's voice profile name */
    unsigned minutes; /* estimated length, rounded, at least 1 */
    size_t moves;    /* routine_count_moves */
    size_t steps;    /* sections (exercises, rests, breathing, ...) */
};

struct menu {
    struct menu_item *items;
    size_t n;
    size_t cur;      /* the item being offered */
    size_t skipped;  /* routines left out: they have errors */
};

/* Loads every routine catalog_list finds and estimates its length (plan
 * with the clip estimator: no synthesis). level < 0: each routine's own
 * level, else an enum level. v: the voice to plan with, or NULL for each
 * routine's own (a routine whose voice cannot be loaded is skipped).
 * Routines with errors are skipped and counted. Returns 0 or negative. */
int menu_load(struct menu *m, int level, const struct voice *v);
void menu_free(struct menu *m);
/* Moves the cursor by delta (+1 next, -1 previous), wrapping around at
 * the ends; returns the new cursor. No-op on an empty menu. */
size_t menu_move(struct menu *m, int delta);
/* "Routine 2 of 9: Lower back relief. About 18 minutes, 9 exercises."
 * Heap string, NULL if the menu is empty or memory ran out. */
char *menu_item_text(const struct menu *m, const struct voice *v);
/* The item, its length, its number of steps and its summary. */
char *menu_details_text(const struct menu *m, const struct voice *v);

#endif
