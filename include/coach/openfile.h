/* Opening a user's file to read (a routine, a voice profile, a music
 * track) without the stat-then-open race: the path is opened first, never
 * waiting (O_NONBLOCK, so a FIFO put in its place between a check and the
 * open cannot hang us, and O_NOCTTY, so a terminal never becomes ours),
 * and the descriptor itself is checked to be a regular file. */
#ifndef COACH_OPENFILE_H
#define COACH_OPENFILE_H

#include <sys/types.h>

/* Opens path read-only and close-on-exec; returns the descriptor of a
 * regular file, in blocking mode again. Otherwise returns -1 with errno
 * set: from open or fstat (ENOENT...), or EISDIR for a directory and
 * EINVAL for anything else that is not a regular file (a FIFO, a device,
 * a socket), with *kind naming it ("a FIFO (named pipe)"); *kind (may be
 * NULL) is NULL when the file is regular or could not be opened. */
int coach_open_regular(const char *path, const char **kind);
/* What a mode that is not a regular file is, for messages: "a directory",
 * "a FIFO (named pipe)", "a character device", "a block device",
 * "a socket", "a symbolic link" or "not a regular file". */
const char *coach_file_kind(mode_t mode);

#endif
