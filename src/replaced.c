/* The file an export replaces, held by a process of its own (replaced.h
 * says why). The holder is a grandchild, forked on a thread while the
 * export renders: its parent exits at once and is reaped here, so the
 * holder is nobody's child of ours (nothing to wait for, no zombie for the
 * rest of a long-running coach) and exits when the pipe's last writer, this
 * process, closes it: at the next export or replaced_let_go, or when this
 * process ends (or dies). Between fork and _exit the child only makes
 * system calls (the other threads' locks were copied in whatever state
 * they were). */
#define _GNU_SOURCE /* close_range */
#include "coach/replaced.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coach/common.h"

/* Every descriptor but a and b closed: the holder keeps no one's pipe or
 * terminal open (a reader waiting for the end of the export's output, a
 * lock on its temporary file) for longer than the export. */
/* The pipe of the last file replaced, its holder waiting (replaced_end). */
static atomic_int pending_hold_w = -1;

static int close_between(int from, int to) /* [from, to]; nothing if empty */
{
    return from > to ? 0 : close_range((unsigned)from, (unsigned)to, 0);
}

static void close_all_but(int a, int b)
{
    int lo = a < b ? a : b, hi = a < b ? b : a;
    if (close_between(0, lo - 1) == 0 && close_between(lo + 1, hi - 1) == 0 &&
        close_range((unsigned)hi + 1u, ~0u, 0) == 0)
        return;
    for (int fd = 0; fd < 1024; fd++) /* a kernel without close_range */
        if (fd != a && fd != b) close(fd);
}

static _Noreturn void hold(int fd, int hold_r)
{
    close_all_but(fd, hold_r);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* advice: a failure costs only time */
    for (;;) { /* until the end of file: nobody writes, the last writer closes */
        char c;
        ssize_t n = read(hold_r, &c, 1);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    _exit(0); /* closes fd: after the rename, the blocks are freed here */
}

static void *hand_off(void *arg)
{
    struct replaced *r = arg;
    pid_t pid = fork();
    if (pid == 0) {
        pid_t holder = fork();
        if (holder == 0) hold(r->fd, r->hold_r);
        _exit(holder > 0 ? 0 : 1);
    }
    int status = 0;
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    close(r->hold_r);
    r->hold_r = -1;
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        close(r->fd); /* the holder's is the last reference now */
        r->fd = -1;
    } else {
        (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_DONTNEED);
    }
    return NULL;
}

void replaced_let_go(void)
{
    int prev = atomic_exchange(&pending_hold_w, -1);
    if (prev >= 0) close(prev); /* the holder reads its end of file, and exits */
}

void replaced_start(struct replaced *r, const char *path)
{
    replaced_let_go(); /* the last export's old file: freed while this one renders */
    *r = (struct replaced){.fd = -1, .hold_r = -1, .hold_w = -1};
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return; /* nothing there (or not ours to read): nothing to let go of */
    struct stat st;
    int p[2];
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < REPLACED_MIN_BYTES ||
        pipe2(p, O_CLOEXEC) != 0) {
        close(fd);
        return;
    }
    r->fd = fd;
    r->hold_r = p[0];
    r->hold_w = p[1];
    r->started = coach_thread_start(&r->thread, hand_off, r) == 0;
    if (!r->started) {
        close(r->hold_r);
        r->hold_r = -1;
    }
}

void replaced_end(struct replaced *r)
{
    if (r->started) pthread_join(r->thread, NULL);
    /* The holder is told to let go by the next export or by this process's
     * exit, not now: what follows an export (the directory's fsync, the
     * export's record, its sidecars) would wait in the file system's
     * journal for the blocks it frees (measured: its 17 ms moved from our
     * close into those fsyncs, 1.00x the wall). */
    if (r->hold_w >= 0) {
        int prev = atomic_exchange(&pending_hold_w, r->hold_w);
        if (prev >= 0) close(prev);
    }
    if (r->fd >= 0) close(r->fd);
    *r = (struct replaced){.fd = -1, .hold_r = -1, .hold_w = -1};
}
