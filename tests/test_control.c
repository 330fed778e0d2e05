/* Tests for session commands and the control socket: every key and word
 * mapping (and that unknown ones are rejected), then the socket end to
 * end in a scratch directory: a client thread's "pause" gets the server's
 * "ok paused"; no session -> COACH_ENOTFOUND; a second listener on a live
 * path -> EADDRINUSE; a stale socket file is replaced, a regular file is
 * not; a silent client costs accept only its short timeout; the default
 * path's private directory. */
#define _POSIX_C_SOURCE 200809L /* setenv, clock_gettime, poll, POSIX sockets */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/control.h"
#include "coach/ctlsock.h"
#include "testutil.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_keys(void)
{
    static const struct {
        int key;
        enum ctl_cmd cmd;
    } map[] = {
        {' ', CTL_TOGGLE},      {'n', CTL_NEXT},   {'N', CTL_NEXT},      {'b', CTL_BACK},
        {'B', CTL_BACK},        {'r', CTL_REPEAT}, {'R', CTL_REPEAT},    {'?', CTL_WHERE},
        {'w', CTL_WHERE},       {'W', CTL_WHERE},  {'+', CTL_VOLUME_UP}, {'=', CTL_VOLUME_UP},
        {'-', CTL_VOLUME_DOWN}, {'q', CTL_STOP},   {'Q', CTL_STOP},      {'p', CTL_PREVIOUS},
        {'P', CTL_PREVIOUS},    {KEY_RIGHT, CTL_NEXT}, {KEY_LEFT, CTL_BACK},
        {KEY_UP, CTL_VOLUME_UP}, {KEY_DOWN, CTL_VOLUME_DOWN},
    };
    int bound = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        CHECKF(ctl_from_key(map[i].key) == map[i].cmd, "key '%c'", map[i].key);
    /* nothing else in the whole byte range (and a few out of it) is bound */
    for (int k = -1; k < 0x110; k++)
        if (ctl_from_key(k) != CTL_NONE) bound++;
    CHECKF(bound == (int)(sizeof map / sizeof map[0]), "%d keys bound", bound);
    CHECK(ctl_from_key('\n') == CTL_NONE);
    CHECK(ctl_from_key('D') == CTL_NONE); /* the arrows' letters are not commands */
    CHECK(ctl_from_key(0) == CTL_NONE);
    CHECK(ctl_from_key(1000) == CTL_NONE);
}

static void test_words(void)
{
    static const struct {
        const char *word;
        enum ctl_cmd cmd;
    } map[] = {
        {"pause", CTL_PAUSE},
        {"resume", CTL_RESUME},
        {"toggle", CTL_TOGGLE},
        {"next", CTL_NEXT},
        {"back", CTL_BACK},
        {"previous", CTL_PREVIOUS},
        {"prev", CTL_PREVIOUS},
        {"repeat", CTL_REPEAT},
        {"where", CTL_WHERE},
        {"louder", CTL_VOLUME_UP},
        {"softer", CTL_VOLUME_DOWN},
        {"stop", CTL_STOP},
        {"volume-up", CTL_VOLUME_UP},
        {"volume-down", CTL_VOLUME_DOWN},
        {"quit", CTL_STOP},
        {"PAUSE", CTL_PAUSE},
        {"Resume", CTL_RESUME},
        {"  next\n", CTL_NEXT},
        {"\tLouder \r\n", CTL_VOLUME_UP},
        {"Volume-Down", CTL_VOLUME_DOWN},
        {"QUIT", CTL_STOP},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        CHECKF(ctl_from_word(map[i].word) == map[i].cmd, "word '%s'", map[i].word);

    static const char *unknown[] = {"",      "   ",  "paus",     "pausee",    "pause now",
                                    "p",     "n",    "+",        "volume",    "volume up",
                                    "stop!", "none", "\xc3\xa9", "toggle\x01"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECKF(ctl_from_word(unknown[i]) == CTL_NONE, "word '%s' accepted", unknown[i]);
    CHECK(ctl_from_word(NULL) == CTL_NONE);

    /* canonical words round-trip; the help names each of them */
    const char *help = ctl_words_help();
    for (int c = CTL_TOGGLE; c <= CTL_STOP; c++) {
        const char *w = ctl_word((enum ctl_cmd)c);
        CHECKF(w && ctl_from_word(w) == (enum ctl_cmd)c, "ctl_word(%d) = '%s'", c,
               w ? w : "(null)");
        CHECKF(w && strstr(help, w), "help lacks '%s'", w);
    }
    CHECK(strcmp(ctl_word(CTL_VOLUME_UP), "louder") == 0);
    CHECK(strcmp(ctl_word(CTL_STOP), "stop") == 0);
    CHECK(ctl_word(CTL_NONE) != NULL);
}

/* Feeds bytes (all at once) to a decoder; the keys that come out. */
static int decode(const char *bytes, int *keys, int cap)
{
    struct keydec k = {0};
    int n = 0;
    for (const char *b = bytes; *b; b++) {
        int key = keydec_feed(&k, (unsigned char)*b, 1000);
        if (key != KEY_NONE && n < cap) keys[n++] = key;
    }
    return n;
}

/* The terminal's escape sequences: arrows become keys, everything else is
 * swallowed whole and never read as letters ("ESC [ B" is not 'B'). */
static void test_escapes(void)
{
    int k[16];
    CHECK(decode("\x1b[A\x1b[B\x1b[C\x1b[D", k, 16) == 4 && k[0] == KEY_UP && k[1] == KEY_DOWN &&
          k[2] == KEY_RIGHT && k[3] == KEY_LEFT);
    CHECK(decode("\x1bOC\x1bOD", k, 16) == 2 && k[0] == KEY_RIGHT && k[1] == KEY_LEFT);
    CHECK(decode("n\x1b[Bb", k, 16) == 3 && k[0] == 'n' && k[1] == KEY_DOWN && k[2] == 'b');
    /* Ctrl+Right, F5, Page Up, Delete, Alt+n, a bare ESC ESC: nothing */
    CHECK(decode("\x1b[1;5C\x1b[15~\x1b[5~\x1b[3~\x1bn\x1b\x1b", k, 16) == 0);
    CHECK(decode("\x1b[1;5Cq", k, 16) == 1 && k[0] == 'q');
    /* a sequence split across reads is still one key; one cut off long
     * ago is over */
    struct keydec d = {0};
    CHECK(keydec_feed(&d, 0x1b, 1000) == KEY_NONE && keydec_feed(&d, '[', 1010) == KEY_NONE &&
          keydec_feed(&d, 'C', 1020) == KEY_RIGHT);
    CHECK(keydec_feed(&d, 0x1b, 2000) == KEY_NONE && keydec_feed(&d, 'n', 5000) == 'n');
    /* no decoded key maps 'B' or 'D' of an arrow to back or anything */
    CHECK(ctl_from_key(KEY_DOWN) == CTL_VOLUME_DOWN && ctl_from_key(KEY_LEFT) == CTL_BACK);
}

/* ---- socket ---- */

struct client {
    const char *path;
    const char *word;
    char reply[128];
    int rc;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    c->rc = ctlsock_send(c->path, c->word, c->reply, sizeof c->reply);
    return NULL;
}

/* Waits for a connection and accepts it (the listen fd is non-blocking). */
static int accept_wait(int lfd, char *line, size_t cap)
{
    for (int i = 0; i < 50; i++) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        poll(&p, 1, 100);
        int conn = ctlsock_accept(lfd, line, cap);
        if (conn >= 0) return conn;
    }
    return -1;
}

static int raw_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) return -1;
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_roundtrip(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/control.sock", dir);
    unlink(path);
    int lfd = ctlsock_listen(path);
    CHECKF(lfd >= 0, "listen: %d errno %s", lfd, strerror(errno));
    if (lfd < 0) return;

    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));

    /* nothing pending: returns at once */
    char line[64] = "junk";
    double t0 = now_s();
    CHECK(ctlsock_accept(lfd, line, sizeof line) == -1);
    CHECK(now_s() - t0 < 0.1);

    const char *words[] = {"pause", "  Next ", "bogus"};
    for (size_t i = 0; i < 3; i++) {
        struct client c = {.path = path, .word = words[i]};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, client_main, &c) == 0);
        int conn = accept_wait(lfd, line, sizeof line);
        CHECK(conn >= 0);
        CHECKF(strcmp(line, words[i]) == 0, "line '%s'", line);
        enum ctl_cmd cmd = ctl_from_word(line);
        char reply[96];
        if (cmd != CTL_NONE)
            snprintf(reply, sizeof reply, "ok %s", cmd == CTL_PAUSE ? "paused" : ctl_word(cmd));
        else
            snprintf(reply, sizeof reply, "error unknown command '%s'", line);
        ctlsock_reply(conn, reply);
        pthread_join(t, NULL);
        CHECKF(c.rc == 0, "send rc %d", c.rc);
        CHECKF(strcmp(c.reply, reply) == 0, "reply '%s' want '%s'", c.reply, reply);
    }

    /* a client without a trailing newline (half-close), with CRLF, and
     * one with an over-long line: truncated to cap - 1 */
    const char *raw[] = {"stop", "where\r\n", "0123456789abcdefghij\n"};
    const char *want[] = {"stop", "where", "0123456789"};
    for (size_t i = 0; i < 3; i++) {
        int fd = raw_connect(path);
        CHECK(fd >= 0);
        if (fd < 0) continue;
        CHECK(write(fd, raw[i], strlen(raw[i])) == (ssize_t)strlen(raw[i]));
        shutdown(fd, SHUT_WR);
        char small[11];
        int conn = accept_wait(lfd, small, sizeof small);
        CHECK(conn >= 0);
        CHECKF(strcmp(small, want[i]) == 0, "raw line '%s' want '%s'", small, want[i]);
        ctlsock_reply(conn, "ok");
        char buf[16] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        CHECK(n == 3 && strcmp(buf, "ok\n") == 0);
        close(fd);
    }

    /* a second session on the same live path is refused, and leaves the
     * first one working */
    errno = 0;
    int second = ctlsock_listen(path);
    CHECKF(second == COACH_EIO && errno == EADDRINUSE, "second listen %d errno %s", second,
           strerror(errno));
    {
        struct client c = {.path = path, .word = "resume"};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, client_main, &c) == 0);
        int conn = accept_wait(lfd, line, sizeof line);
        CHECK(conn >= 0 && strcmp(line, "resume") == 0);
        ctlsock_reply(conn, "ok resumed");
        pthread_join(t, NULL);
        CHECK(c.rc == 0 && strcmp(c.reply, "ok resumed") == 0);
    }

    /* a silent client: accept gives up after its short timeout, and a
     * client waiting behind it is still served */
    int silent = raw_connect(path);
    CHECK(silent >= 0);
    t0 = now_s();
    int conn = ctlsock_accept(lfd, line, sizeof line);
    double dt = now_s() - t0;
    CHECK(conn == -1);
    CHECKF(dt >= 0.15 && dt < 0.6, "silent client held accept %.3f s", dt);
    if (silent >= 0) {
        char buf[8];
        CHECK(read(silent, buf, sizeof buf) == 0); /* dropped without reply */
        close(silent);
    }

    ctlsock_close(lfd, path);
    CHECK(lstat(path, &st) != 0 && errno == ENOENT);

    /* nobody listening any more */
    char reply[64] = "x";
    CHECK(ctlsock_send(path, "pause", reply, sizeof reply) == COACH_ENOTFOUND);
    CHECK(reply[0] == 0);
}

static void test_no_session(const char *dir)
{
    char path[512], reply[64];
    snprintf(path, sizeof path, "%s/no-such.sock", dir);
    CHECK(ctlsock_send(path, "pause", reply, sizeof reply) == COACH_ENOTFOUND);
    snprintf(path, sizeof path, "%s/no-such-dir/control.sock", dir);
    CHECK(ctlsock_send(path, "pause", reply, sizeof reply) == COACH_ENOTFOUND);
    CHECK(ctlsock_send(path, "pause\nstop", reply, sizeof reply) == COACH_EINVAL);

    /* a path that does not fit a socket address */
    char longp[300];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = 0;
    CHECK(ctlsock_listen(longp) == COACH_EIO && errno == ENAMETOOLONG);
    CHECK(ctlsock_send(longp, "pause", reply, sizeof reply) == COACH_EIO);
}

/* A session that died without unlinking leaves a socket nobody accepts on:
 * the next one replaces it. Something that is not a socket is not touched. */
static void test_stale(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stale.sock", dir);
    unlink(path);
    for (int with_listen = 0; with_listen < 2; with_listen++) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        CHECK(strlen(path) < sizeof a.sun_path);
        memcpy(a.sun_path, path, strlen(path) + 1);
        unlink(path);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
        if (with_listen) CHECK(listen(fd, 1) == 0);
        close(fd); /* no unlink: the file stays */
        struct stat st;
        CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));

        int lfd = ctlsock_listen(path);
        CHECKF(lfd >= 0, "stale socket not replaced: %d %s", lfd, strerror(errno));
        struct client c = {.path = path, .word = "toggle"};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, client_main, &c) == 0);
        char line[32];
        int conn = accept_wait(lfd, line, sizeof line);
        CHECK(conn >= 0 && strcmp(line, "toggle") == 0);
        ctlsock_reply(conn, "ok paused");
        pthread_join(t, NULL);
        CHECK(c.rc == 0 && strcmp(c.reply, "ok paused") == 0);
        close(lfd); /* a crash: no unlink */
    }
    /* the file the crashed ctlsock_listen left is stale too */
    int lfd = ctlsock_listen(path);
    CHECKF(lfd >= 0, "stale listener not replaced: %d %s", lfd, strerror(errno));
    ctlsock_close(lfd, path);

    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    errno = 0;
    CHECK(ctlsock_listen(path) == COACH_EIO && errno == EEXIST);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
    unlink(path);
}

static void test_default_path(const char *dir)
{
    char xdg[512], want[600];
    snprintf(xdg, sizeof xdg, "%s/xdg", dir);
    mkdir(xdg, 0700);
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    char *p = ctlsock_default_path();
    snprintf(want, sizeof want, "%s/coach/control.sock", xdg);
    CHECKF(p && strcmp(p, want) == 0, "default path '%s'", p ? p : "(null)");
    free(p);
    char cdir[600];
    snprintf(cdir, sizeof cdir, "%s/coach", xdg);
    struct stat st;
    CHECK(stat(cdir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);

    /* again: the existing private directory is fine */
    p = ctlsock_default_path();
    CHECK(p != NULL);
    free(p);

    /* a directory others can write to is refused */
    CHECK(chmod(cdir, 0777) == 0);
    errno = 0;
    p = ctlsock_default_path();
    CHECKF(p == NULL && errno == EPERM, "unsafe dir accepted: %s", p ? p : strerror(errno));
    free(p);
    chmod(cdir, 0700);

    /* a symlink in place of the directory is refused */
    rmdir(cdir);
    char target[600];
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    mkdir(target, 0700);
    CHECK(symlink(target, cdir) == 0);
    errno = 0;
    p = ctlsock_default_path();
    CHECK(p == NULL && errno == EPERM);
    free(p);
    unlink(cdir);
    unsetenv("XDG_RUNTIME_DIR");
}

int main(void)
{
    test_keys();
    test_words();
    test_escapes();
    const char *dir = test_tmpdir("test_control");
    test_roundtrip(dir);
    test_no_session(dir);
    test_stale(dir);
    test_default_path(dir);
    return test_done();
}
