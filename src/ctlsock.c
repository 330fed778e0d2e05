/* The control socket, both ends. The server side is a non-blocking,
 * close-on-exec UNIX stream socket in a private (0700, our own) directory;
 * each connection carries one command line and gets one reply line, read
 * with a short deadline so a silent or slow client never stalls the
 * session. A socket file left by a dead session is detected by trying to
 * connect to it and is replaced; a live one is left alone. The client side
 * (`coach ctl`) connects, sends its word, half-closes and waits a bounded
 * time for the reply. No SIGPIPE on either side: every send uses
 * MSG_NOSIGNAL. */
#define _GNU_SOURCE /* accept4; also brings the POSIX 2008 calls */

#include "coach/ctlsock.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "coach/common.h"

#define CTLSOCK_READ_MS 200   /* server: time a client has to send its line */
#define CTLSOCK_REPLY_MS 2000 /* client: time the session has to answer */
#define CTLSOCK_BACKLOG 16
#define CTLSOCK_NAME "control.sock"

static int64_t now_ms(void) { return (int64_t)(coach_mono_ns() / 1000000u); }

/* 0, or -1 with errno (the path must fit sun_path with its NUL). */
static int fill_addr(struct sockaddr_un *a, const char *path)
{
    size_t n = path ? strlen(path) : 0;
    if (n == 0) {
        errno = EINVAL;
        return -1;
    }
    if (n >= sizeof a->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path, path, n + 1);
    return 0;
}

/* Makes dir (0700) or checks that an existing one is safe to put our
 * socket in: a real directory (not a symlink someone planted in /tmp),
 * owned by us, not writable by anyone else. 0, or -1 with errno (EPERM
 * for an unsafe directory). */
static int private_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0) return 0;
    if (errno != EEXIST) return -1;
    struct stat st;
    if (lstat(dir, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

char *ctlsock_default_path(void)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    char *dir;
    /* The XDG runtime dir is per-user and private; /tmp is the fallback
     * when there is no login session (a headless box started from cron). */
    if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode))
        dir = coach_asprintf("%s/coach", xdg);
    else
        dir = coach_asprintf("/tmp/coach-%lu", (unsigned long)geteuid());
    if (!dir) {
        errno = ENOMEM;
        return NULL;
    }
    if (private_dir(dir) != 0) {
        int e = errno;
        free(dir);
        errno = e;
        return NULL;
    }
    char *path = coach_asprintf("%s/%s", dir, CTLSOCK_NAME);
    free(dir);
    if (!path) {
        errno = ENOMEM;
        return NULL;
    }
    struct sockaddr_un a;
    if (fill_addr(&a, path) != 0) {
        free(path);
        return NULL; /* errno ENAMETOOLONG */
    }
    return path;
}

/* Is a session listening at a? 1 yes, 0 no (stale file: refused), -1 the
 * file vanished meanwhile (ENOENT) or another error (errno kept). */
static int probe_live(const struct sockaddr_un *a)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int r = connect(fd, (const struct sockaddr *)a, sizeof *a);
    int e = errno;
    close(fd);
    if (r == 0) return 1;
    /* EAGAIN: a live listener whose backlog is full */
    if (e == EAGAIN || e == EINPROGRESS) return 1;
    if (e == ECONNREFUSED) return 0;
    errno = e;
    return -1;
}

int ctlsock_listen(const char *path)
{
    struct sockaddr_un a;
    if (fill_addr(&a, path) != 0) return COACH_EIO;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return COACH_EIO;

    for (int attempt = 0;; attempt++) {
        if (bind(fd, (const struct sockaddr *)&a, sizeof a) == 0) break;
        if (errno != EADDRINUSE || attempt == 2) goto fail;
        int live = probe_live(&a);
        if (live == 1) {
            errno = EADDRINUSE; /* another coach is running */
            goto fail;
        }
        if (live < 0) {
            if (errno == ENOENT) continue; /* removed meanwhile: bind again */
            goto fail;
        }
        /* Refused: a dead session's socket. Never unlink anything that is
         * not a socket, whatever its name. */
        struct stat st;
        if (lstat(path, &st) != 0) {
            if (errno == ENOENT) continue;
            goto fail;
        }
        if (!S_ISSOCK(st.st_mode)) {
            errno = EEXIST;
            goto fail;
        }
        if (unlink(path) != 0 && errno != ENOENT) goto fail;
    }
    if (listen(fd, CTLSOCK_BACKLOG) != 0) {
        int e = errno;
        unlink(path);
        close(fd);
        errno = e;
        return COACH_EIO;
    }
    return fd;

fail:;
    int e = errno;
    close(fd);
    errno = e;
    return COACH_EIO;
}

/* Reads one line from fd into line (cap bytes) until a newline, EOF, a full
 * buffer or the deadline. CR/LF stripped. Returns the number of bytes
 * received (0: the peer sent nothing), or -1 on a receive error. */
static ssize_t read_line(int fd, char *line, size_t cap, int timeout_ms)
{
    if (cap == 0) return -1;
    int64_t deadline = now_ms() + timeout_ms;
    size_t n = 0;
    ssize_t got = 0;
    errno = 0; /* ETIMEDOUT below tells a timeout from an EOF */
    while (n + 1 < cap) {
        ssize_t r = recv(fd, line + n, cap - 1 - n, MSG_DONTWAIT);
        if (r > 0) {
            got += r;
            char *nl = memchr(line + n, '\n', (size_t)r);
            if (nl) {
                n = (size_t)(nl - line);
                break;
            }
            n += (size_t)r;
            continue;
        }
        if (r == 0) break; /* EOF: a last line without newline counts */
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            line[n] = 0;
            return -1;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
            line[n] = 0;
            return -1;
        }
    }
    line[n] = 0;
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
        line[--n] = 0;
    return got;
}

int ctlsock_accept(int listen_fd, char *line, size_t cap)
{
    int conn;
    do {
        conn = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (conn < 0 && errno == EINTR);
    if (conn < 0) return -1;
    /* A client that sends nothing (or is just probing whether we are
     * alive) is dropped without a reply. */
    if (read_line(conn, line, cap, CTLSOCK_READ_MS) <= 0) {
        close(conn);
        if (cap) line[0] = 0;
        return -1;
    }
    return conn;
}

/* Sends all of buf; the socket may be non-blocking, so wait a little when
 * its buffer is full rather than drop the reply. 0 or -1. */
static int send_all(int fd, const char *buf, size_t len, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (len) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
        if (w > 0) {
            buf += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, (int)left);
    }
    return 0;
}

void ctlsock_reply(int conn, const char *reply)
{
    if (conn < 0) return;
    if (!reply) reply = "";
    /* One send for the usual short reply, so the client reads one line. */
    char buf[512];
    size_t n = strlen(reply);
    if (n + 1 <= sizeof buf) {
        memcpy(buf, reply, n);
        buf[n] = '\n';
        send_all(conn, buf, n + 1, CTLSOCK_READ_MS);
    } else if (send_all(conn, reply, n, CTLSOCK_READ_MS) == 0) {
        send_all(conn, "\n", 1, CTLSOCK_READ_MS);
    }
    close(conn);
}

void ctlsock_close(int listen_fd, const char *path)
{
    /* The name goes first, while we still listen: a coach waiting to take
     * the socket over (--replace) sees a live one until the name is free,
     * so the name it then binds is never the one we remove. */
    if (path && listen_fd >= 0) unlink(path);
    if (listen_fd >= 0) close(listen_fd);
}

int ctlsock_send(const char *path, const char *word, char *reply, size_t cap)
{
    if (reply && cap) reply[0] = 0;
    if (!word || strpbrk(word, "\r\n")) {
        errno = EINVAL;
        return COACH_EINVAL;
    }
    struct sockaddr_un a;
    if (fill_addr(&a, path) != 0) return COACH_EIO;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return COACH_EIO;

    /* A UNIX connect blocks while the listener's backlog is full; the send
     * timeout bounds that wait too. */
    struct timeval tv = {.tv_sec = CTLSOCK_REPLY_MS / 1000,
                         .tv_usec = (CTLSOCK_REPLY_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    int rc = COACH_EIO;
    if (connect(fd, (const struct sockaddr *)&a, sizeof a) != 0) {
        if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR)
            rc = COACH_ENOTFOUND;
        else if (errno == EAGAIN || errno == EINPROGRESS)
            errno = ETIMEDOUT;
        goto out;
    }
    char *msg = coach_asprintf("%s\n", word);
    if (!msg) {
        rc = COACH_ENOMEM;
        goto out;
    }
    int sent = send_all(fd, msg, strlen(msg), CTLSOCK_REPLY_MS);
    free(msg);
    if (sent != 0) goto out;
    /* EOF tells the session our line is complete even without waiting. */
    shutdown(fd, SHUT_WR);

    char tmp[2];
    char *buf = (reply && cap) ? reply : tmp;
    size_t bcap = (reply && cap) ? cap : sizeof tmp;
    ssize_t got = read_line(fd, buf, bcap, CTLSOCK_REPLY_MS);
    if (got > 0) {
        rc = COACH_OK;
    } else if (got == 0 && errno != ETIMEDOUT) {
        errno = ECONNRESET; /* the session closed without answering */
    }

out:;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}
