/* Export: render a whole timeline into an audio file with libsndfile (WAV,
 * OGG Vorbis, Opus, MP3) or flacpar.h (FLAC, encoded on every core), with
 * the chapters inside (tags.h).
 * Written to a temporary file next to the target and renamed, so a failure
 * never leaves a partial file. Sidecar text files (captions, chapter lists)
 * are written the same way and renamed only once the audio is in place. */
#ifndef COACH_EXPORT_H
#define COACH_EXPORT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "coach/clips.h"
#include "coach/loudness.h"
#include "coach/music.h"
#include "coach/timeline.h"

enum export_format { EXPORT_WAV, EXPORT_FLAC, EXPORT_OGG, EXPORT_OPUS, EXPORT_MP3, EXPORT_UNKNOWN };

struct export_opts {
    enum export_format format; /* from export_format_from_path or --format */
    uint32_t channels;         /* 1 or 2 */
    const char *title;         /* metadata, may be NULL */
    const char *artist;        /* metadata, may be NULL */
    const char *comment;       /* metadata, may be NULL */
    const char *album;         /* metadata, may be NULL (--split: the routine's title) */
    unsigned track;            /* metadata: 1-based track number, 0 = none */
    /* Only frames [from_frame, to_frame) of the timeline, without chapters
     * (--split: one step per file); to_frame 0 = the whole timeline, its
     * chapters embedded in every format (tags.h; WAV: cue points). */
    uint64_t from_frame, to_frame;
    /* called now and then with frames done/total; may be NULL */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    /* when it becomes nonzero (e.g. from SIGINT) the export stops, removes
     * its temporary file and returns COACH_EINTR; may be NULL */
    volatile sig_atomic_t *cancel;
    /* background music under the voice (render_set_music); NULL = none.
     * Its rate must be the timeline's. */
    const struct music *music;
    /* --loudness: the programme gain (loudness.h); 0 is podcast */
    enum loudness_mode loudness;
    /* threads encoding FLAC (flacpar.h): 0 = one per core, 1 = one */
    unsigned encode_workers;
};

/* ".wav" -> EXPORT_WAV ... (case-insensitive); EXPORT_UNKNOWN otherwise. */
enum export_format export_format_from_path(const char *path);
/* "wav", "flac", "ogg", "opus", "mp3" -> format; EXPORT_UNKNOWN otherwise. */
enum export_format export_format_from_name(const char *name);
const char *export_format_name(enum export_format f);

/* Whether path can be exported to, before any work is done: what exists
 * there is a regular file that may be replaced (never a directory, a
 * device such as /dev/full, a pipe or a socket; not a file without write
 * permission, which for root too means a file whose mode lets nobody
 * write it, such as 0444), and its directory exists and can be written in. Returns 0,
 * or negative with errno and a reason in err (e.g. "the directory D does
 * not exist"; errno ENOENT, ENOTDIR, EISDIR, EACCES, EROFS, or EINVAL for
 * a device). export_timeline and export_sidecar_open check the target the
 * same way (the directory through creating the temporary file), so this
 * only makes a failure come early. */
int export_check_target(const char *path, char *err, size_t err_cap);

/* Renders tl into path. Its chapters (tl->ch) go inside: a WAV gets one
 * cue point per chapter at its first frame (libsndfile; their names:
 * tags.h), MP3, FLAC, Ogg and Opus named chapters (tags.h), written into
 * the temporary file before the rename. Clips are
 * prepared just before they are needed and released after their last use. On failure returns negative, sets errno
 * where it applies, writes a short reason to err, and leaves no file
 * (an existing file at path is untouched). A path that is not a regular
 * file, or a file without write permission, is refused
 * (export_check_target). */
int export_timeline(const struct timeline *tl, struct clipstore *cs, const char *path,
                    const struct export_opts *o, char *err, size_t err_cap);

/* Renders tl to fd, a stream such as a pipe to a player, in order and
 * never seeking back: a WAV gets a header with its exact sizes up front
 * and no cue points, a FLAC has its length but no MD5 in its header, an
 * MP3 has no Xing tag. fd is not closed. Returns 0, or negative with errno
 * and a short reason in err: COACH_EIO with errno EPIPE when the reader
 * went away (SIGPIPE must be ignored), COACH_EINTR on cancel. */
int export_stream(const struct timeline *tl, struct clipstore *cs, int fd,
                  const struct export_opts *o, char *err, size_t err_cap);

/* A small text file beside an export (captions, chapters), written into a
 * hidden temporary file in its target's directory: content goes to f,
 * export_sidecar_close makes it durable, export_sidecar_commit renames it
 * into place, export_sidecar_discard removes it. Until the commit the
 * target is untouched, so a caller writes and closes every sidecar, exports
 * the audio, and commits the sidecars only if the audio succeeded. */
struct export_sidecar {
    FILE *f;     /* write here between open and commit */
    char *path;  /* the target */
    char *tmp;   /* the temporary file, NULL once renamed or removed */
    char *dir;   /* the target's directory (synced after the rename) */
    int hold_fd; /* while tmp is set: keeps tmp locked (a live writer's), or -1 */
    bool kept;   /* after a commit: the target already held these bytes and was kept */
};

/* Returns 0, or negative with errno and a reason in err (nothing created;
 * a target that is not a replaceable regular file is refused, as above). */
int export_sidecar_open(struct export_sidecar *sc, const char *path, char *err, size_t err_cap);
/* Flushes, syncs and closes f: a write error that stdio hid until now (a
 * full disk) shows here. Returns 0, or negative with errno and err set (the
 * temporary file stays until commit or discard). */
int export_sidecar_close(struct export_sidecar *sc, char *err, size_t err_cap);
/* Closes (if still open) and renames into place (checking the target
 * again, as it may have changed meanwhile); where the target already holds
 * the same bytes it is kept as it is (its time stamp too) and the
 * temporary file removed. On failure the temporary
 * file is removed and the target untouched; returns negative with errno and
 * err set. Frees sc either way. */
int export_sidecar_commit(struct export_sidecar *sc, char *err, size_t err_cap);
/* Closes and removes the temporary file; frees sc. Safe on a zeroed sc. */
void export_sidecar_discard(struct export_sidecar *sc);

/* One coach at a time per set of targets (the audio and its sidecars), so
 * an audio file and its captions and chapters always come from the same
 * export. Each target gets a hidden lock file beside it,
 * ".NAME.coach-lock", flock()ed from export_lock to export_unlock and
 * removed then (one left by a killed coach is taken over and removed by
 * the next). While writing, a coach keeps each of its temporary files
 * locked too; export_lock removes the temporary files of its targets that
 * nobody holds: those of a coach that was killed (SIGKILL, the OOM killer)
 * before it could remove them. */
#define EXPORT_LOCK_MAX 4
struct export_lock {
    size_t n;                    /* entries used */
    int fd[EXPORT_LOCK_MAX];     /* a locked lock file, or -1 (none held) */
    char *path[EXPORT_LOCK_MAX]; /* its name, removed at unlock; NULL if none */
};

/* Locks the targets paths[0..n_paths) (NULL entries are skipped, a path
 * named twice is locked once), then removes their orphaned temporary
 * files. Returns 0, or negative with errno and a reason in err, *failed
 * the index of the path at fault, and nothing held: errno EBUSY when
 * another coach holds one ("another coach is writing this file now"),
 * else why its lock file cannot be made. On a file system without locks
 * it goes on without them. */
int export_lock(struct export_lock *l, const char *const *paths, size_t n_paths, size_t *failed,
                char *err, size_t err_cap);
/* Removes the lock files and releases the locks; safe on a zeroed l. */
void export_unlock(struct export_lock *l);

#endif
