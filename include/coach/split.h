/* export --split DIR: one audio file per chapter (the intro, each step),
 * named "01 Introduction.flac" ..., plus an .m3u playlist, for players
 * with no chapter support (car stereos, old MP3 players). The set is
 * written into a hidden directory beside DIR (".DIR.coach-split-XXXXXX")
 * and renamed to DIR in one step: DIR appears whole or not at all. DIR
 * must not exist, or be an empty directory. */
#ifndef COACH_SPLIT_H
#define COACH_SPLIT_H

#include <stddef.h>

#include "coach/clips.h"
#include "coach/export.h"
#include "coach/timeline.h"

/* Whether dir can receive a split set, before any work: nothing there, or
 * an empty directory, in a directory we can write in. 0, or negative with
 * errno and a reason in err. */
int split_check_target(const char *dir, char *err, size_t err_cap);

/* Writes chapter i of tl into dir/"NN NAME.ext" (NN from 01, two digits or
 * more; NAME the chapter's title with characters file systems refuse
 * replaced; ext by o->format), each tagged with its title, o->title as the
 * album and its track number, and dir/LIST.m3u (#EXTM3U, #EXTINF whole
 * seconds and title; LIST is playlist, made safe the same way). o->from_frame,
 * to_frame, track and album are set here; progress covers the whole set.
 * Returns 0, or negative with errno and err set, leaving dir as it was. */
int split_export(const struct timeline *tl, struct clipstore *cs, const char *dir,
                 const char *playlist, const struct export_opts *o, char *err, size_t err_cap);

/* "NN NAME" for chapter title in buf[0..cap) (no extension); returns buf. */
const char *split_file_name(char *buf, size_t cap, size_t n, size_t n_total, const char *title);

#endif
