/* The control socket of a live session: a UNIX stream socket where each
 * connection sends one command word and a newline, and gets one reply line
 * ("ok paused" / "error unknown command 'x'"). `coach ctl` is the client, so
 * a GPIO button or foot-switch script can drive a headless coach. */
#ifndef COACH_CTLSOCK_H
#define COACH_CTLSOCK_H

#include <stddef.h>

/* The default socket path: $XDG_RUNTIME_DIR/coach/control.sock, else
 * /tmp/coach-$UID/control.sock (directory created 0700). Heap string. */
char *ctlsock_default_path(void);
/* Creates the listening socket (non-blocking); a stale socket file left by
 * a dead session is replaced, a live one is an error (COACH_EIO with errno
 * EADDRINUSE). Returns the fd or a negative code. */
int ctlsock_listen(const char *path);
/* Accepts one pending connection and reads its command line (up to cap-1
 * bytes, with a short timeout so a silent client cannot block the session).
 * Returns the connection fd (>= 0, to answer with ctlsock_reply), or -1 if
 * nothing was pending. */
int ctlsock_accept(int listen_fd, char *line, size_t cap);
/* Writes reply + "\n" and closes conn. */
void ctlsock_reply(int conn, const char *reply);
/* Closes and unlinks. */
void ctlsock_close(int listen_fd, const char *path);
/* Client: sends word, reads the reply line into reply. Returns 0, or
 * COACH_ENOTFOUND when no session listens at path, or COACH_EIO. */
int ctlsock_send(const char *path, const char *word, char *reply, size_t cap);

#endif
