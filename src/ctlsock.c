/* The control socket, both ends. The server side is a non-blocking,
 * close-on-exec UNIX stream socket, its file 0600 in a private (0700, our
 * own, checked) directory; each connection carries one command line and
 * gets one reply line. The server is served from the session's poll loop:
 * every connection non-blocking, with its own deadline, in a bounded table
 * (the one that has waited longest makes room), so silent or slow clients
 * never stall the session nor keep others out; a client of another user
 * (root aside) is refused, and running out of descriptors is answered
 * "busy" or rested out, never spun on. A socket file left by a dead session
 * is detected by trying to connect to it and is replaced; a live one is
 * left alone. The client side (`coach ctl`) connects, checks that the
 * listener is its own user's (or root's), sends its word, half-closes and
 * waits a bounded time for the reply, which it cleans of anything that
 * could steer a terminal. No SIGPIPE on either side: every send uses
 * MSG_NOSIGNAL. */
#define _GNU_SOURCE /* accept4; also brings the POSIX 2008 calls */

#include "coach/ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
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

#define CTLSOCK_READ_MS 1000  /* server: time a client has to send its line */
#define CTLSRV_MIN_AGE_MS 100 /* server, all slots taken: a client's time before it makes room */
#define CTLSRV_REST_MS 1000   /* server: the listener's rest when accept lacks resources */
#define CTLSRV_BUSY_REST_MS 100 /* ...and after a client was answered "busy" */
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
 * socket in: a real directory (opened without following a symlink someone
 * planted in /tmp), owned by us, not writable by anyone else. 0, or -1
 * with errno (EPERM for an unsafe directory) and why said in why. */
static int private_dir(const char *dir, char *why, size_t cap)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        coach_set_err(why, cap, "the control socket directory %s cannot be made: %s", dir,
                      strerror(e));
        errno = e;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        struct stat st;
        if ((e == ELOOP || e == ENOTDIR) && lstat(dir, &st) == 0) {
            coach_set_err(why, cap, "the control socket directory %s is %s", dir,
                          S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
            errno = EPERM;
        } else {
            coach_set_err(why, cap, "the control socket directory %s cannot be opened: %s", dir,
                          strerror(e));
            errno = e;
        }
        return -1;
    }
    struct stat st;
    int rc = fstat(fd, &st);
    int e = errno;
    close(fd);
    if (rc != 0) {
        coach_set_err(why, cap, "the control socket directory %s cannot be read: %s", dir,
                      strerror(e));
        errno = e;
        return -1;
    }
    if (st.st_uid != geteuid()) {
        coach_set_err(why, cap, "the control socket directory %s belongs to another user (uid %lu)",
                      dir, (unsigned long)st.st_uid);
        errno = EPERM;
        return -1;
    }
    if (st.st_mode & 022) {
        coach_set_err(why, cap,
                      "the control socket directory %s can be written by other users (mode %04o)",
                      dir, (unsigned)(st.st_mode & 07777));
        errno = EPERM;
        return -1;
    }
    return 0;
}

int ctlsock_default_path(char **path, char *why, size_t why_cap)
{
    *path = NULL;
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
        coach_set_err(why, why_cap, "out of memory");
        errno = ENOMEM;
        return COACH_ENOMEM;
    }
    if (private_dir(dir, why, why_cap) != 0) {
        int e = errno;
        free(dir);
        errno = e;
        return COACH_EIO;
    }
    char *p = coach_asprintf("%s/%s", dir, CTLSOCK_NAME);
    if (!p) {
        free(dir);
        coach_set_err(why, why_cap, "out of memory");
        errno = ENOMEM;
        return COACH_ENOMEM;
    }
    struct sockaddr_un a;
    if (fill_addr(&a, p) != 0) {
        coach_set_err(why, why_cap, "the control socket path in %s is too long", dir);
        free(dir);
        free(p);
        errno = ENAMETOOLONG;
        return COACH_EIO;
    }
    free(dir);
    *path = p;
    return 0;
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

/* bind, the file made 0600 whatever the umask (the mode of a socket is
 * what lets another user connect): umask 0177 for the bind only, as
 * fchmod before bind is Linux's alone. */
static int bind_private(int fd, const struct sockaddr_un *a)
{
    mode_t old = umask(0177);
    int r = bind(fd, (const struct sockaddr *)a, sizeof *a);
    int e = errno;
    umask(old);
    errno = e;
    return r;
}

int ctlsock_listen(const char *path)
{
    struct sockaddr_un a;
    if (fill_addr(&a, path) != 0) return COACH_EIO;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return COACH_EIO;

    for (int attempt = 0;; attempt++) {
        if (bind_private(fd, &a) == 0) break;
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

void ctlsock_close(int listen_fd, const char *path)
{
    /* The name goes first, while we still listen: a coach waiting to take
     * the socket over (--replace) sees a live one until the name is free,
     * so the name it then binds is never the one we remove. */
    if (path && listen_fd >= 0) unlink(path);
    if (listen_fd >= 0) close(listen_fd);
}

/* The uid of the process at the other end of a connected UNIX socket, or
 * -1 (errno) if the system cannot say. */
static long peer_uid(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    return (long)cred.uid;
}

/* May a process of this uid and we talk? Our own user, and root either
 * way: root may steer anyone's coach, and a root listener is no
 * impostor. */
static bool trusted_uid(long uid) { return uid == (long)geteuid() || uid == 0; }

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
    /* Whoever listens hears our word and may answer anything: only a
     * session of our own user (or root's) is told anything. */
    long uid = peer_uid(fd);
    if (uid < 0) goto out;
    if (!trusted_uid(uid)) {
        coach_set_err(reply, cap,
                      "the control socket %s is held by a program of another user (uid %ld)", path,
                      uid);
        errno = EPERM;
        goto out;
    }
    char *msg = coach_asprintf("%s\n", word);
    if (!msg) {
        rc = COACH_ENOMEM;
        goto out;
    }
    int sent = send_all(fd, msg, strlen(msg), CTLSOCK_REPLY_MS);
    free(msg);
    /* A session that turns us away (busy, another user) answers and closes
     * at once, maybe before our word is out: its answer is still there. */
    if (sent != 0 && errno != EPIPE && errno != ECONNRESET) goto out;
    /* EOF tells the session our line is complete even without waiting. */
    shutdown(fd, SHUT_WR);

    char tmp[2];
    char *buf = (reply && cap) ? reply : tmp;
    size_t bcap = (reply && cap) ? cap : sizeof tmp;
    ssize_t got = read_line(fd, buf, bcap, CTLSOCK_REPLY_MS);
    if (got > 0) {
        ctlsock_clean(buf); /* it goes to a terminal */
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

/* The length of a well-formed UTF-8 sequence at s (1-4) and its code point
 * in *cp, or 0 for a byte that does not start one (overlong forms and
 * surrogates included). */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return n;
}

/* Characters that steer a terminal or the direction of text. */
static bool is_control(uint32_t cp)
{
    return (cp < 0x20 && cp != '\n') || (cp >= 0x7f && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
           cp == 0x200f || cp == 0x061c;
}

size_t ctlsock_clean(char *s)
{
    if (!s) return 0;
    unsigned char *in = (unsigned char *)s, *out = in;
    while (*in) {
        uint32_t cp;
        size_t n = utf8_seq(in, &cp);
        if (n == 0) { /* not UTF-8: a raw 0x9b is CSI to an 8-bit terminal */
            in++;
            continue;
        }
        if (!is_control(cp)) {
            memmove(out, in, n);
            out += n;
        }
        in += n;
    }
    *out = 0;
    return (size_t)(out - (unsigned char *)s);
}

/* ---- the server ---- */

static void conn_drop(struct ctlsrv_conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->complete = false;
}

/* One short line, never waiting: a client that does not read it loses it. */
static void send_line(int fd, const char *text)
{
    char buf[CTLSRV_LINE * 4 + 2];
    size_t n = strlen(text);
    if (n > sizeof buf - 1) n = sizeof buf - 1;
    memcpy(buf, text, n);
    buf[n++] = '\n';
    (void)!send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void ctlsrv_init(struct ctlsrv *s, int listen_fd)
{
    memset(s, 0, sizeof *s);
    s->listen_fd = listen_fd;
    for (size_t i = 0; i < CTLSRV_MAX_CONNS; i++)
        s->conns[i].fd = -1;
    /* Held now, while descriptors are plenty: the one that lets us answer
     * "busy" when they run out. */
    s->spare_fd = listen_fd >= 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
}

void ctlsrv_free(struct ctlsrv *s)
{
    for (size_t i = 0; i < CTLSRV_MAX_CONNS; i++)
        conn_drop(&s->conns[i]);
    if (s->spare_fd >= 0) close(s->spare_fd);
    s->spare_fd = -1;
}

/* The slot that has waited longest (all are waiting for a line), or -1. */
static int oldest(const struct ctlsrv *s)
{
    int o = -1;
    for (int i = 0; i < CTLSRV_MAX_CONNS; i++)
        if (s->conns[i].fd >= 0 && !s->conns[i].complete &&
            (o < 0 || s->conns[i].accepted_ms < s->conns[o].accepted_ms))
            o = i;
    return o;
}

static int free_slot(const struct ctlsrv *s)
{
    for (int i = 0; i < CTLSRV_MAX_CONNS; i++)
        if (s->conns[i].fd < 0) return i;
    return -1;
}

size_t ctlsrv_pollfds(struct ctlsrv *s, struct pollfd *fds, int *timeout_ms)
{
    int64_t now = now_ms(), wake = now + *timeout_ms;
    size_t n = 0;
    bool listen = s->listen_fd >= 0 && now >= s->resume_ms;
    if (s->listen_fd >= 0 && !listen && s->resume_ms < wake) wake = s->resume_ms;
    if (listen && free_slot(s) < 0) {
        /* full: a new client may only push out one that has had its time;
         * until then the listener is not polled (it would spin) */
        int o = oldest(s);
        int64_t room = o >= 0 ? s->conns[o].accepted_ms + CTLSRV_MIN_AGE_MS : now;
        if (room > now) {
            listen = false;
            if (room < wake) wake = room;
        }
    }
    if (listen) fds[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
    for (int i = 0; i < CTLSRV_MAX_CONNS; i++) {
        const struct ctlsrv_conn *c = &s->conns[i];
        if (c->fd < 0 || c->complete) continue;
        fds[n++] = (struct pollfd){.fd = c->fd, .events = POLLIN};
        if (c->deadline_ms < wake) wake = c->deadline_ms;
    }
    int64_t left = wake - now;
    *timeout_ms = left < 0 ? 0 : (int)left;
    return n;
}

/* Reads what a client has sent so far; a line is whole at its newline, at
 * EOF or when the buffer is full. A client that closes without a word (a
 * probe: is a session alive?) is dropped without a reply. */
static void conn_read(struct ctlsrv_conn *c)
{
    while (c->fd >= 0 && !c->complete) {
        ssize_t r = recv(c->fd, c->line + c->len, sizeof c->line - 1 - c->len, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (r < 0 || (r == 0 && c->len == 0)) {
            conn_drop(c);
            return;
        }
        char *nl = r > 0 ? memchr(c->line + c->len, '\n', (size_t)r) : NULL;
        c->len = nl ? (size_t)(nl - c->line) : c->len + (size_t)r;
        if (nl || r == 0 || c->len == sizeof c->line - 1) {
            c->line[c->len] = 0;
            while (c->len && c->line[c->len - 1] == '\r')
                c->line[--c->len] = 0;
            c->complete = true;
        }
    }
}

/* Out of descriptors: the spare one makes room to tell one client "busy";
 * without it, or if that fails too, the listener rests. */
static void accept_failed(struct ctlsrv *s, int64_t now, int e)
{
    s->accept_errno = e;
    if ((e == EMFILE || e == ENFILE) && s->spare_fd >= 0) {
        close(s->spare_fd);
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "error busy: coach is out of file descriptors (%s)",
                     strerror(e));
            send_line(fd, msg);
            close(fd);
            s->answered_busy = true;
        }
        s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && s->spare_fd >= 0) {
            /* the next may wait its turn: a client that comes straight
             * back costs a few turns a second, not a core */
            s->resume_ms = now + CTLSRV_BUSY_REST_MS;
            return;
        }
    }
    s->resume_ms = now + CTLSRV_REST_MS;
}

static void accept_some(struct ctlsrv *s, int64_t now)
{
    for (int n = 0; n < CTLSRV_MAX_CONNS; n++) {
        int slot = free_slot(s), o = -1;
        if (slot < 0) {
            o = oldest(s);
            if (o < 0 || now - s->conns[o].accepted_ms < CTLSRV_MIN_AGE_MS) return;
        }
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) accept_failed(s, now, errno);
            return;
        }
        long uid = peer_uid(fd);
        if (!trusted_uid(uid)) {
            send_line(fd, "error refused: this coach belongs to another user");
            close(fd);
            s->refused++;
            continue;
        }
        if (slot < 0) { /* the one that has waited longest makes room */
            conn_drop(&s->conns[o]);
            slot = o;
        }
        struct ctlsrv_conn *c = &s->conns[slot];
        *c = (struct ctlsrv_conn){.fd = fd, .accepted_ms = now,
                                  .deadline_ms = now + CTLSOCK_READ_MS};
        conn_read(c); /* a client usually sent its word before we accepted */
    }
}

void ctlsrv_serve(struct ctlsrv *s, const struct pollfd *fds, size_t n)
{
    int64_t now = now_ms();
    bool accept = false;
    for (size_t k = 0; k < n; k++) {
        if (!fds[k].revents) continue;
        if (fds[k].fd == s->listen_fd) {
            accept = fds[k].revents & POLLIN;
            continue;
        }
        for (int i = 0; i < CTLSRV_MAX_CONNS; i++)
            if (s->conns[i].fd == fds[k].fd) conn_read(&s->conns[i]);
    }
    if (accept && s->listen_fd >= 0) accept_some(s, now);
    for (int i = 0; i < CTLSRV_MAX_CONNS; i++) {
        struct ctlsrv_conn *c = &s->conns[i];
        if (c->fd >= 0 && !c->complete && now >= c->deadline_ms)
            conn_drop(c); /* too slow: dropped without a reply */
    }
}

int ctlsrv_next(struct ctlsrv *s, char *line, size_t cap)
{
    for (int i = 0; i < CTLSRV_MAX_CONNS; i++) {
        struct ctlsrv_conn *c = &s->conns[i];
        if (c->fd >= 0 && c->complete) {
            if (cap) snprintf(line, cap, "%s", c->line);
            return i;
        }
    }
    return -1;
}

void ctlsrv_reply(struct ctlsrv *s, int slot, const char *reply)
{
    if (slot < 0 || slot >= CTLSRV_MAX_CONNS || s->conns[slot].fd < 0) return;
    send_line(s->conns[slot].fd, reply ? reply : "");
    conn_drop(&s->conns[slot]);
}
