/* Opening a user's file to read (openfile.h): a regular file opens in
 * blocking mode; a FIFO, a directory, a device, a socket and a dangling
 * link are refused at once, named; and every reader of user files (the
 * INI reader for routines and voice profiles, the music loader) goes
 * through it, so a FIFO in place of a file can never hang them (the
 * stat-then-open race of issue 10). An alarm turns a hang into a failure. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/diag.h"
#include "coach/music.h"
#include "coach/openfile.h"
#include "coach/routine.h"
#include "coach/voice.h"
#include "testutil.h"

static int open_fds(void)
{
    int n = count_entries("/proc/self/fd");
    return n < 0 ? 0 : n;
}

static void refused(const char *path, int want_errno, const char *want_kind)
{
    const char *kind = "unset";
    errno = 0;
    int fd = coach_open_regular(path, &kind);
    int e = errno;
    CHECKF(fd == -1, "%s opened", path);
    if (fd >= 0) close(fd);
    CHECKF(e == want_errno, "%s: errno %d (%s), want %d", path, e, strerror(e), want_errno);
    CHECKF(want_kind ? kind && strcmp(kind, want_kind) == 0 : kind == NULL, "%s: kind %s",
           path, kind ? kind : "NULL");
}

/* The message d holds for the file as a whole (line 0), or "". */
static const char *file_msg(const struct coach_diags *d)
{
    return d->len == 1 && d->items[0].line == 0 ? d->items[0].msg : "";
}

int main(void)
{
    alarm(60); /* a reader waiting on a FIFO would wait for ever */
    const char *dir = test_tmpdir("openfile");
    char reg[512], fifo[512], sub[512], dangling[512], sock[512];
    snprintf(reg, sizeof reg, "%s/r.ini", dir);
    snprintf(fifo, sizeof fifo, "%s/f.ini", dir);
    snprintf(sub, sizeof sub, "%s/d.ini", dir);
    snprintf(dangling, sizeof dangling, "%s/l.ini", dir);
    snprintf(sock, sizeof sock, "%s/s.ini", dir);
    FILE *f = fopen(reg, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("[routine]\ntitle = R\n[say a]\ntext = Hello.\n", f);
        fclose(f);
    }
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(mkdir(sub, 0700) == 0);
    CHECK(symlink("/nonexistent/coach/x.ini", dangling) == 0);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t sock_len = strlen(sock);
    int have_sock = ls >= 0 && sock_len < sizeof sa.sun_path; /* else not tested */
    if (have_sock) {
        memcpy(sa.sun_path, sock, sock_len + 1);
        have_sock = bind(ls, (struct sockaddr *)&sa, sizeof sa) == 0;
    }

    int before = open_fds();

    /* a regular file: open, blocking, close-on-exec */
    const char *kind = "unset";
    int fd = coach_open_regular(reg, &kind);
    CHECK(fd >= 0 && kind == NULL);
    if (fd >= 0) {
        CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
        CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
        char b[9] = "";
        CHECK(read(fd, b, 9) == 9 && memcmp(b, "[routine]", 9) == 0);
        close(fd);
    }
    refused(fifo, EINVAL, "a FIFO (named pipe)");
    refused(sub, EISDIR, "a directory");
    refused(dangling, ENOENT, NULL);
    refused("/dev/null", EINVAL, "a character device");
    if (have_sock) refused(sock, EINVAL, "a socket");
    CHECK(coach_open_regular(fifo, NULL) == -1); /* kind is optional */

    /* the readers: a FIFO named as the routine, the voice profile, the music */
    struct coach_diags d;
    diags_init(&d);
    struct routine r;
    CHECK(routine_load(fifo, &r, &d) == COACH_EIO);
    CHECKF(strcmp(file_msg(&d), "cannot open: it is a FIFO (named pipe), not a regular file") == 0,
           "got '%s'", file_msg(&d));
    diags_free(&d);
    struct voice v;
    CHECK(voice_load(fifo, &v, &d) == COACH_EIO);
    CHECKF(strcmp(file_msg(&d), "cannot open: it is a FIFO (named pipe), not a regular file") == 0,
           "got '%s'", file_msg(&d));
    diags_free(&d);
    CHECK(routine_load(sub, &r, &d) == COACH_EIO);
    CHECK(strcmp(file_msg(&d), "cannot open: it is a directory, not a regular file") == 0);
    diags_free(&d);

    struct music m;
    char err[512] = "";
    CHECK(music_load(&m, fifo, 48000, err, sizeof err) != 0);
    CHECKF(strstr(err, "f.ini: it is a FIFO (named pipe), not an audio file") != NULL, "got '%s'",
           err);
    /* a file libsndfile cannot read: refused, its descriptor closed */
    CHECK(music_load(&m, reg, 48000, err, sizeof err) != 0);
    CHECKF(strstr(err, "not an audio file libsndfile can read") != NULL, "got '%s'", err);

    CHECKF(open_fds() == before, "%d descriptors open, %d before", open_fds(), before);
    if (ls >= 0) close(ls);
    return test_done();
}
