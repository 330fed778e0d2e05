/* Tests for session commands and the control socket: every key and word
 * mapping (and that unknown ones are rejected), then the socket end to
 * end in a scratch directory: a client thread's "pause" gets the server's
 * "ok paused"; no session -> COACH_ENOTFOUND; a second listener on a live
 * path -> EADDRINUSE; a stale socket file is replaced, a regular file is
 * not; the socket is 0600 under any umask; silent clients, more than the
 * server's slots, neither delay a client behind them nor stay past their
 * deadline; out of descriptors a client is answered "busy", or the
 * listener rests (no spin); replies are cleaned of terminal controls; the
 * default path's private directory, and why a hostile one is refused. */
#define _GNU_SOURCE /* setenv, clock_gettime, poll, POSIX sockets, rlimits */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
        {'\n', CTL_DONE},      {'\r', CTL_DONE},  {'d', CTL_DONE},
        {'h', CTL_HURT},
        /* the digits answer --ask-pain */
        {'0', CTL_PAIN_0},      {'1', CTL_PAIN_0 + 1}, {'5', CTL_PAIN_0 + 5}, {'9', CTL_PAIN_0 + 9},
        {'2', CTL_PAIN_0 + 2},  {'3', CTL_PAIN_0 + 3}, {'4', CTL_PAIN_0 + 4}, {'6', CTL_PAIN_0 + 6},
        {'7', CTL_PAIN_0 + 7},  {'8', CTL_PAIN_0 + 8},
    };
    int bound = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        CHECKF(ctl_from_key(map[i].key) == map[i].cmd, "key '%c'", map[i].key);
    /* nothing else in the whole byte range (and a few out of it) is bound */
    for (int k = -1; k < 0x110; k++)
        if (ctl_from_key(k) != CTL_NONE) bound++;
    CHECKF(bound == (int)(sizeof map / sizeof map[0]), "%d keys bound", bound);
    CHECK(ctl_from_key('D') == CTL_NONE); /* the arrows' letters are not commands */
    CHECK(ctl_from_key('H') == CTL_NONE); /* nor Home's */
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
        {"done", CTL_DONE},
        {" Done\n", CTL_DONE},
        {"hurt", CTL_HURT},
        {"HURT", CTL_HURT},
        {"pain 0", CTL_PAIN_0},
        {"pain 3", CTL_PAIN_0 + 3},
        {"Pain  10", CTL_PAIN_10},
        {" pain\t7 \n", CTL_PAIN_0 + 7},
        {"pain 007", CTL_PAIN_0 + 7},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        CHECKF(ctl_from_word(map[i].word) == map[i].cmd, "word '%s'", map[i].word);

    static const char *unknown[] = {"",      "   ",  "paus",     "pausee",    "pause now",
                                    "p",     "n",    "+",        "volume",    "volume up",
                                    "stop!", "none", "\xc3\xa9", "toggle\x01", "pain",
                                    "pain ", "pain 11", "pain -1", "pain 3x", "pain 1 0",
                                    "pain3", "pain 0010", "hurts"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECKF(ctl_from_word(unknown[i]) == CTL_NONE, "word '%s' accepted", unknown[i]);
    CHECK(ctl_from_word(NULL) == CTL_NONE);

    /* canonical words round-trip; the help names each of them */
    const char *help = ctl_words_help();
    for (int c = CTL_TOGGLE; c <= CTL_HURT; c++) {
        const char *w = ctl_word((enum ctl_cmd)c);
        CHECKF(w && ctl_from_word(w) == (enum ctl_cmd)c, "ctl_word(%d) = '%s'", c,
               w ? w : "(null)");
        CHECKF(w && strstr(help, w), "help lacks '%s'", w);
    }
    CHECK(strcmp(ctl_word(CTL_VOLUME_UP), "louder") == 0);
    CHECK(strcmp(ctl_word(CTL_STOP), "stop") == 0);
    CHECK(ctl_word(CTL_NONE) != NULL);
    CHECK(strcmp(ctl_word(CTL_PAIN_0 + 4), "pain") == 0);
    CHECK(strstr(help, ", pain") != NULL);
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

/* Serves the socket as the control loop does until a whole line is in:
 * its slot (to answer with ctlsrv_reply), or -1 after 5 s. */
static int serve_wait(struct ctlsrv *s, char *line, size_t cap)
{
    for (int i = 0; i < 100; i++) {
        struct pollfd fds[CTLSRV_POLLFDS];
        int timeout_ms = 50;
        size_t n = ctlsrv_pollfds(s, fds, &timeout_ms);
        poll(fds, n, timeout_ms);
        ctlsrv_serve(s, fds, n);
        int slot = ctlsrv_next(s, line, cap);
        if (slot >= 0) return slot;
    }
    return -1;
}

/* One turn of serving: no line may be waiting. */
static void serve_turn(struct ctlsrv *s, int wait_ms)
{
    struct pollfd fds[CTLSRV_POLLFDS];
    int timeout_ms = wait_ms;
    size_t n = ctlsrv_pollfds(s, fds, &timeout_ms);
    CHECKF(poll(fds, n, timeout_ms) >= 0, "poll: %s", strerror(errno));
    ctlsrv_serve(s, fds, n);
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
    mode_t old_umask = umask(0); /* the socket is 0600 whatever the umask */
    int lfd = ctlsock_listen(path);
    umask(old_umask);
    CHECKF(lfd >= 0, "listen: %d errno %s", lfd, strerror(errno));
    if (lfd < 0) return;
    struct ctlsrv srv;
    ctlsrv_init(&srv, lfd);

    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
    CHECKF((st.st_mode & 07777) == 0600, "socket mode %04o under umask 0",
           (unsigned)(st.st_mode & 07777));

    /* nothing pending: a turn returns at once, with nothing */
    char line[64] = "junk";
    double t0 = now_s();
    serve_turn(&srv, 0);
    CHECK(ctlsrv_next(&srv, line, sizeof line) == -1);
    CHECK(now_s() - t0 < 0.1);

    const char *words[] = {"pause", "  Next ", "bogus"};
    for (size_t i = 0; i < 3; i++) {
        struct client c = {.path = path, .word = words[i]};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, client_main, &c) == 0);
        int slot = serve_wait(&srv, line, sizeof line);
        CHECK(slot >= 0);
        CHECKF(strcmp(line, words[i]) == 0, "line '%s'", line);
        enum ctl_cmd cmd = ctl_from_word(line);
        char reply[96];
        if (cmd != CTL_NONE)
            snprintf(reply, sizeof reply, "ok %s", cmd == CTL_PAUSE ? "paused" : ctl_word(cmd));
        else
            snprintf(reply, sizeof reply, "error unknown command '%s'", line);
        ctlsrv_reply(&srv, slot, reply);
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
        int slot = serve_wait(&srv, small, sizeof small);
        CHECK(slot >= 0);
        CHECKF(strcmp(small, want[i]) == 0, "raw line '%s' want '%s'", small, want[i]);
        ctlsrv_reply(&srv, slot, "ok");
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
        int slot = serve_wait(&srv, line, sizeof line);
        CHECK(slot >= 0 && strcmp(line, "resume") == 0);
        ctlsrv_reply(&srv, slot, "ok resumed");
        pthread_join(t, NULL);
        CHECK(c.rc == 0 && strcmp(c.reply, "ok resumed") == 0);
    }

    /* silent clients, more than there are slots: a client behind them is
     * served at once, and each silent one is dropped without a reply by
     * its deadline */
    int silent[CTLSRV_MAX_CONNS + 4];
    size_t n_silent = sizeof silent / sizeof *silent;
    for (size_t i = 0; i < n_silent; i++) {
        silent[i] = raw_connect(path);
        if (i < CTLSRV_MAX_CONNS) serve_turn(&srv, 0); /* accepted, and waiting */
    }
    CHECK(silent[0] >= 0 && silent[n_silent - 1] >= 0);
    nanosleep(&(struct timespec){0, 150000000L}, NULL); /* the slots' time to make room */
    {
        struct client c = {.path = path, .word = "where"};
        pthread_t t;
        t0 = now_s();
        CHECK(pthread_create(&t, NULL, client_main, &c) == 0);
        int slot = serve_wait(&srv, line, sizeof line);
        double dt = now_s() - t0;
        CHECKF(slot >= 0 && strcmp(line, "where") == 0, "behind silent clients: '%s'", line);
        CHECKF(dt < 0.5, "a client behind silent ones waited %.3f s", dt);
        ctlsrv_reply(&srv, slot, "ok at 0:01.0");
        pthread_join(t, NULL);
        CHECK(c.rc == 0 && strcmp(c.reply, "ok at 0:01.0") == 0);
    }
    t0 = now_s();
    while (now_s() - t0 < 2.0)
        serve_turn(&srv, 50);
    for (size_t i = 0; i < n_silent; i++) {
        if (silent[i] < 0) continue;
        char buf[8];
        struct pollfd p = {.fd = silent[i], .events = POLLIN};
        CHECKF(poll(&p, 1, 0) == 1 && read(silent[i], buf, sizeof buf) == 0,
               "silent client %zu not dropped, or answered", i);
        close(silent[i]);
    }
    for (int i = 0; i < CTLSRV_MAX_CONNS; i++)
        CHECK(srv.conns[i].fd == -1);

    ctlsrv_free(&srv);
    ctlsock_close(lfd, path);
    CHECK(lstat(path, &st) != 0 && errno == ENOENT);

    /* nobody listening any more */
    char reply[64] = "x";
    CHECK(ctlsock_send(path, "pause", reply, sizeof reply) == COACH_ENOTFOUND);
    CHECK(reply[0] == 0);
}

/* Out of descriptors: a pending client is answered "busy" with the spare
 * descriptor (and the failure is kept, with its errno); without a spare
 * the listener rests instead of being polled again at once (a spin). */
static void test_fd_limit(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/limit.sock", dir);
    unlink(path);
    int lfd = ctlsock_listen(path);
    CHECK(lfd >= 0);
    if (lfd < 0) return;
    struct ctlsrv srv;
    ctlsrv_init(&srv, lfd);
    CHECK(srv.spare_fd >= 0);
    int a = raw_connect(path), b = raw_connect(path);
    CHECK(a >= 0 && b >= 0);

    struct rlimit old;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    int low = 0; /* the lowest free descriptor: the limit there leaves none */
    while (fcntl(low, F_GETFD) != -1)
        low++;
    struct rlimit lim = {.rlim_cur = (rlim_t)low, .rlim_max = old.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);

    serve_turn(&srv, 100);
    CHECKF(srv.accept_errno == EMFILE && srv.answered_busy, "accept errno %d busy %d",
           srv.accept_errno, srv.answered_busy);
    char buf[128] = {0};
    struct pollfd p = {.fd = a, .events = POLLIN};
    CHECK(poll(&p, 1, 1000) == 1 && read(a, buf, sizeof buf - 1) > 0);
    CHECKF(strncmp(buf, "error busy", 10) == 0 && strstr(buf, strerror(EMFILE)), "busy reply '%s'",
           buf);

    /* no spare left to give: the listener rests */
    int hold = srv.spare_fd; /* kept: no descriptor comes free */
    srv.spare_fd = -1;
    srv.accept_errno = 0;
    for (int i = 0; i < 10 && !srv.accept_errno; i++) /* after "busy" it rests a little */
        serve_turn(&srv, 100);
    CHECK(srv.accept_errno == EMFILE);
    struct pollfd fds[CTLSRV_POLLFDS];
    int timeout_ms = 50;
    size_t n = ctlsrv_pollfds(&srv, fds, &timeout_ms);
    CHECKF(n == 0 && timeout_ms == 50, "listener polled at the limit: %zu fds, timeout %d", n,
           timeout_ms);

    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    if (hold >= 0) close(hold);
    close(a);
    close(b);
    ctlsrv_free(&srv);
    ctlsock_close(lfd, path);
}

static void test_clean(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"ok paused at 0:10.3", "ok paused at 0:10.3"},
        {"ok \x1b]0;pwned\x07\x1b[2J done", "ok ]0;pwned[2J done"},
        {"a\tb\rc\nd\x7f", "abc\nd"},
        {"C1 \xc2\x9b" "31m raw \x9b" "31m", "C1 31m raw 31m"},
        {"bidi \xe2\x80\xae" "evil\xe2\x81\xa6" "x", "bidi evilx"},
        {"caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x92\xaa", "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x92\xaa"},
        {"overlong \xc0\xaf surrogate \xed\xa0\x80 cut \xe2\x80", "overlong  surrogate  cut "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        size_t n = ctlsock_clean(buf);
        CHECKF(strcmp(buf, cases[i].out) == 0 && n == strlen(cases[i].out), "case %zu: '%s'", i,
               buf);
    }
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
        struct ctlsrv srv;
        ctlsrv_init(&srv, lfd);
        int slot = serve_wait(&srv, line, sizeof line);
        CHECK(slot >= 0 && strcmp(line, "toggle") == 0);
        ctlsrv_reply(&srv, slot, "ok paused");
        pthread_join(t, NULL);
        CHECK(c.rc == 0 && strcmp(c.reply, "ok paused") == 0);
        ctlsrv_free(&srv);
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
    char xdg[512], want[600], why[512];
    snprintf(xdg, sizeof xdg, "%s/xdg", dir);
    mkdir(xdg, 0700);
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    char *p = NULL;
    int rc = ctlsock_default_path(&p, why, sizeof why);
    snprintf(want, sizeof want, "%s/coach/control.sock", xdg);
    CHECKF(rc == 0 && p && strcmp(p, want) == 0, "default path '%s'", p ? p : why);
    free(p);
    char cdir[600];
    snprintf(cdir, sizeof cdir, "%s/coach", xdg);
    struct stat st;
    CHECK(stat(cdir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);

    /* again: the existing private directory is fine */
    CHECK(ctlsock_default_path(&p, why, sizeof why) == 0 && p != NULL);
    free(p);

    /* a directory others can write to is refused, and said so */
    CHECK(chmod(cdir, 0777) == 0);
    errno = 0;
    rc = ctlsock_default_path(&p, why, sizeof why);
    CHECKF(rc != 0 && p == NULL && errno == EPERM, "unsafe dir accepted: %s", p ? p : why);
    CHECKF(strstr(why, cdir) && strstr(why, "other users") && strstr(why, "0777"), "why '%s'", why);
    free(p);
    chmod(cdir, 0700);

    /* another user's directory (root can make one) */
    if (geteuid() == 0 && chown(cdir, 65534, 65534) == 0) {
        errno = 0;
        rc = ctlsock_default_path(&p, why, sizeof why);
        CHECKF(rc != 0 && errno == EPERM && strstr(why, cdir) && strstr(why, "uid 65534"),
               "foreign dir: '%s'", why);
        free(p);
        CHECK(chown(cdir, 0, 0) == 0);
    }

    /* a symlink in place of the directory is refused */
    rmdir(cdir);
    char target[600];
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    mkdir(target, 0700);
    CHECK(symlink(target, cdir) == 0);
    errno = 0;
    rc = ctlsock_default_path(&p, why, sizeof why);
    CHECK(rc != 0 && p == NULL && errno == EPERM);
    CHECKF(strstr(why, cdir) && strstr(why, "symbolic link"), "why '%s'", why);
    free(p);
    unlink(cdir);

    /* a file in its place */
    FILE *f = fopen(cdir, "w");
    if (f) fclose(f);
    rc = ctlsock_default_path(&p, why, sizeof why);
    CHECKF(rc != 0 && errno == EPERM && strstr(why, "not a directory"), "why '%s'", why);
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
    test_clean();
    test_roundtrip(dir);
    test_fd_limit(dir);
    test_no_session(dir);
    test_stale(dir);
    test_default_path(dir);
    return test_done();
}
