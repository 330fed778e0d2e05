/* The file an export replaces, let go of off the rendering thread.
 *
 * Replacing a large file costs its page cache and, at its last close after
 * the rename, freeing its blocks: 18 ms for the longest routine's 108 MB
 * WAV on ext4, at the very end of the export, which the caller waits for
 * whichever thread of the process does it (a process's open files are
 * closed before it is reported gone). So the file is held, from the start
 * of the export, by a process of its own (forked on a thread, orphaned at
 * once): it drops the cached pages while the new file renders, and its
 * close frees the blocks once this process has done what follows the
 * export (or starts the next one), without anyone waiting for it.
 * It only reads: the old file stays whole until the rename, and stays
 * whole if the export fails. Where no process can be started, a thread
 * drops the pages and the close stays here, as before. */
#ifndef COACH_REPLACED_H
#define COACH_REPLACED_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* below this, a process costs more than it saves */
#define REPLACED_MIN_BYTES ((off_t)4 << 20)

struct replaced {
    int fd;        /* the old file, while this process holds it (-1 once a holder has it) */
    int hold_r;    /* the holder's end of its pipe, until it is forked */
    int hold_w;    /* ours: its close tells the holder to let go */
    bool started;  /* the thread runs */
    pthread_t thread;
};

/* Opens path if it is a regular file of REPLACED_MIN_BYTES or more and
 * hands it to a holder (or to a thread) that drops its cached pages. Never
 * fails: whatever goes wrong costs only time. */
void replaced_start(struct replaced *r, const char *path);
/* After the rename (or a failure): this process's reference goes. A
 * holder keeps the last one until replaced_let_go: called by the next
 * replaced_start, or implied by this process's end. */
void replaced_end(struct replaced *r);
/* The holder of the last file replaced lets go of it (and frees it, if it
 * was replaced). */
void replaced_let_go(void);

#endif
