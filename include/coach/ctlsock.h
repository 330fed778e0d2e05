/* The control socket of a live session: a UNIX stream socket where each
 * connection sends one command word and a newline, and gets one reply line
 * ("ok paused" / "error unknown command 'x'"). `coach ctl` is the client, so
 * a GPIO button or foot-switch script can drive a headless coach. Only the
 * user who started the session (and root) may steer it, and `coach ctl`
 * talks only to a listener of its own user (or root). */
#ifndef COACH_CTLSOCK_H
#define COACH_CTLSOCK_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The default socket path: $XDG_RUNTIME_DIR/coach/control.sock, else
 * /tmp/coach-$UID/control.sock, in a directory made 0700 and checked: a
 * real directory (not a symlink), ours, not writable by others. 0 and
 * *path (heap), or a negative code with errno (EPERM: the directory is
 * someone else's or open to others) and *path NULL; why then says what is
 * wrong, naming the directory (no trailing period). */
int ctlsock_default_path(char **path, char *why, size_t why_cap);
/* Creates the listening socket (non-blocking, the file 0600 whatever the
 * umask); a stale socket file left by a dead session is replaced, a live
 * one is an error (COACH_EIO with errno EADDRINUSE). Returns the fd or a
 * negative code. */
int ctlsock_listen(const char *path);
/* Closes and unlinks. */
void ctlsock_close(int listen_fd, const char *path);
/* Client: sends word, reads the reply line into reply, its control
 * characters removed (ctlsock_clean). Returns 0, or COACH_ENOTFOUND when
 * no session listens at path, or COACH_EIO with errno; EPERM: the listener
 * runs as another user (not root) and was told nothing (reply: why). */
int ctlsock_send(const char *path, const char *word, char *reply, size_t cap);
/* Removes in place what could steer a terminal: C0 controls but the
 * newline, DEL, C1 controls (as UTF-8 or raw bytes), bidi overrides and
 * isolates, and bytes that are not UTF-8. Returns the new length. */
size_t ctlsock_clean(char *s);

/* ---- the server, served from the caller's poll loop ----
 * Every connection is non-blocking with its own deadline, so slow or
 * silent clients cost nothing but a slot; when all slots are taken the
 * oldest (once it has had CTLSRV_MIN_AGE_MS) makes room for a new one.
 * Out of descriptors, a spare one is given up to answer "busy" and close,
 * else the listener rests for a while: the loop never spins. */
#define CTLSRV_MAX_CONNS 16
#define CTLSRV_POLLFDS (1 + CTLSRV_MAX_CONNS)
#define CTLSRV_LINE 256
struct ctlsrv_conn {
    int fd;                /* -1: a free slot */
    int64_t accepted_ms;   /* monotonic: the oldest makes room first */
    int64_t deadline_ms;   /* closed unanswered if its line is not in by then */
    size_t len;            /* bytes in line */
    bool complete;         /* a whole line (newline, EOF, full): awaits its reply */
    char line[CTLSRV_LINE];
};
struct ctlsrv {
    int listen_fd;         /* ctlsock_listen's, or -1 (not owned: ctlsock_close it) */
    int spare_fd;          /* /dev/null, given up to answer "busy" at the fd limit, or -1 */
    int64_t resume_ms;     /* the listener rests until then (accept lacked resources) */
    int accept_errno;      /* why an accept failed (0: none): the caller reports, clears */
    bool answered_busy;    /* ...and that client was told "busy" */
    unsigned refused;      /* clients of another user turned away */
    struct ctlsrv_conn conns[CTLSRV_MAX_CONNS];
};
void ctlsrv_init(struct ctlsrv *s, int listen_fd);
/* Fills fds (room for CTLSRV_POLLFDS) with what is worth waiting for (the
 * listener, each client still sending) and lowers *timeout_ms to the next
 * deadline; returns how many. Only live descriptors: poll refuses more
 * entries than the limit of open files (EINVAL), so none are padding. */
size_t ctlsrv_pollfds(struct ctlsrv *s, struct pollfd *fds, int *timeout_ms);
/* After poll, with the same fds: accepts, reads, drops the late. */
void ctlsrv_serve(struct ctlsrv *s, const struct pollfd *fds, size_t n);
/* The next whole line (copied to line, cap bytes): its slot, to answer
 * with ctlsrv_reply, or -1 when none is waiting. */
int ctlsrv_next(struct ctlsrv *s, char *line, size_t cap);
/* Sends reply + "\n" (never waits) and closes the slot. */
void ctlsrv_reply(struct ctlsrv *s, int slot, const char *reply);
/* Closes every connection and the spare descriptor (not the listener). */
void ctlsrv_free(struct ctlsrv *s);

#endif
