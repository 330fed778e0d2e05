/* Opening a user's file to read (see include/coach/openfile.h): open
 * first, then look at what was opened, so nothing can be swapped in
 * between. */
#define _POSIX_C_SOURCE 200809L
#include "coach/openfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char *coach_file_kind(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

int coach_open_regular(const char *path, const char **kind)
{
    if (kind) *kind = NULL;
    /* O_NONBLOCK: opening a FIFO with no writer returns at once instead
     * of waiting for one (for ever). A socket fails here with ENXIO. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        int oe = errno;
        /* "No such device or address" would puzzle anyone: name it */
        if (oe == ENXIO && stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
            if (kind) *kind = coach_file_kind(st.st_mode);
            oe = EINVAL;
        }
        errno = oe;
        return -1;
    }
    int e = 0;
    if (fstat(fd, &st) != 0) {
        e = errno;
    } else if (!S_ISREG(st.st_mode)) {
        if (kind) *kind = coach_file_kind(st.st_mode);
        e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    } else {
        /* a regular file: reads block as usual (a network file system may
         * otherwise answer EAGAIN) */
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) e = errno;
    }
    if (e) {
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
