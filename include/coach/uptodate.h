/* Whether an export's file is already what the export would write, so that
 * a second export of an unchanged routine keeps the file as it is: nearly
 * instant, and with its time stamp untouched (a phone's sync tool then
 * copies nothing again).
 *
 * The key is a SHA-256 digest of everything the file's bytes are made from:
 * the timeline (every event at its frame, the chapters, waits and notes),
 * every spoken clip's kept source (its FLAC bytes, rate, length, loudness,
 * text), the store's output rate and voice volume, the export's options
 * (format, channels, tags, range, loudness, encoder threads), and the
 * program and its libraries as loaded (each mapped file's path, device,
 * inode, size and modification time: a rebuilt coach or an upgraded
 * libFLAC is another key). A record beside the phrase cache (DIR/exports)
 * holds, for one output path, the key it was written with and the file's
 * identity right after the rename (device, inode, size, mtime, ctime): a
 * file changed or replaced since, by anyone, no longer matches (ctime
 * cannot be set back), and is written again. Records are advice: a
 * missing, damaged or unwritable one only means the export is done. */
#ifndef COACH_UPTODATE_H
#define COACH_UPTODATE_H

#include <stdbool.h>
#include <stddef.h>

#include "coach/clips.h"
#include "coach/export.h"
#include "coach/timeline.h"

#define UPTODATE_KEY_HEX 64 /* characters of a key, without its NUL */

/* The key of exporting tl (its clips in cs) with o, into key (65 bytes).
 * COACH_EINVAL when the export cannot be keyed (background music: its file
 * is read while rendering), COACH_EIO when a clip's source cannot be read,
 * COACH_ENOMEM; else 0. */
int uptodate_key(const struct timeline *tl, const struct clipstore *cs, const struct export_opts *o,
                 char key[UPTODATE_KEY_HEX + 1]);

/* The same key made on a thread of its own while the export renders (what
 * may change meanwhile is copied first: tl, cs and o's strings must stay
 * until the finish, and no clip may be added): 0 or as uptodate_key;
 * uptodate_key_finish waits for it and frees the job, with
 * uptodate_key's result. Where no thread can be started the key is made
 * at once. */
struct uptodate_job;
int uptodate_key_start(struct uptodate_job **job, const struct timeline *tl, const struct clipstore *cs,
                       const struct export_opts *o);
int uptodate_key_finish(struct uptodate_job *job, char key[UPTODATE_KEY_HEX + 1]);

/* Whether path's record in records_dir is for the file as it is now,
 * whatever its key: when not, the export is written in any case, and its
 * key can be made while it renders. */
bool uptodate_may_be_fresh(const char *records_dir, const char *path);

/* Whether path is a regular file whose record in records_dir says it was
 * written with key and has not changed since. */
bool uptodate_is_fresh(const char *records_dir, const char *path, const char *key);

/* Records that path, as it is now, was written with key (records_dir and
 * its parent are made if missing). 0, or negative if it cannot be
 * recorded (nothing else changes). */
int uptodate_record(const char *records_dir, const char *path, const char *key);

/* The records directory for a phrase cache directory: DIR/exports (heap;
 * NULL if out of memory). */
char *uptodate_records_dir(const char *cache_dir);

/* Removes every record (coach cache clear); the count in *removed. */
int uptodate_clear(const char *records_dir, size_t *removed);

#endif
