/* Finding routines and voice profiles by name: a path, or a name looked up
 * in ./routines, $XDG_DATA_HOME/coach/routines (~/.local/share/...),
 * $XDG_DATA_DIRS/coach/routines, next to the binary (../share/coach/routines
 * for a relocated install, ../routines for a build directory inside the
 * source tree) and the install prefix; the same for voices.
 * $COACH_DATA_DIR, when set, is searched first. */
#ifndef COACH_CATALOG_H
#define COACH_CATALOG_H

#include <stddef.h>

enum catalog_kind { CATALOG_ROUTINES, CATALOG_VOICES };

/* Resolves a routine/voice argument to a readable file path (heap string).
 * Returns 0 or COACH_ENOTFOUND / COACH_ENOMEM. */
int catalog_find(enum catalog_kind kind, const char *arg, char **path);
/* A name looked up in the search directories only (never as a path), passing
 * over the file that is skip_dev/skip_ino: a profile of your own may start
 * from the one of its name it shadows. 0, COACH_ENOTFOUND or COACH_ENOMEM. */
int catalog_find_other(enum catalog_kind kind, const char *name, unsigned long long skip_dev,
                       unsigned long long skip_ino, char **path);
/* The directories searched, in order (heap array of heap strings). */
int catalog_dirs(enum catalog_kind kind, char ***dirs, size_t *n);
/* Every *.ini found (first occurrence of a name wins), sorted by name.
 * names[i] is the name, paths[i] the file. An entry that is not a regular
 * file (a dangling symbolic link, a directory, a FIFO, a device) is passed
 * over silently. Returns 0 or COACH_ENOMEM. */
int catalog_list(enum catalog_kind kind, char ***names, char ***paths, size_t *n);
/* Told about each *.ini entry passed over: its path and why ("a dangling
 * symbolic link", "a FIFO (named pipe)", "cannot be read: ..."). */
typedef void (*catalog_skip_fn)(void *ctx, const char *path, const char *why);
/* catalog_list, calling skip (if not NULL) for each entry passed over. */
int catalog_list_checked(enum catalog_kind kind, char ***names, char ***paths, size_t *n,
                         catalog_skip_fn skip, void *ctx);
void catalog_strv_free(char **v, size_t n);

#endif
