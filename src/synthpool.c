/* Phrases synthesized by forked worker processes (synthpool.h says why).
 * A worker writes, for each of its jobs in order, a fixed header and then
 * the FLAC bytes to its own pipe, and exits with _exit (nothing of the
 * parent's is flushed or torn down twice); the parent polls the workers'
 * pipes, so a worker never blocks long on a full pipe, and reaps each one
 * once its pipe reaches EOF. Forking is done once per worker, not per
 * phrase: a fork and its copy-on-write faults cost more than a phrase's
 * synthesis (measured: 3-7 ms against 1-4 ms on this project's 2-core
 * machine). */
#define _GNU_SOURCE /* pipe2 */
#include "coach/synthpool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/interrupt.h"
#include "coach/loudness.h"
#include "coach/pcmstore.h"

#define SYNTHPOOL_POLL_MS 100            /* how often a signal is looked for */
#define SYNTHPOOL_MAX_FLAC (1u << 30)    /* a reply larger than this is corrupt */

struct reply_head {
    uint64_t job; /* its index in jobs */
    int32_t rc;
    uint32_t src_rate_hz;
    uint64_t src_len;
    uint64_t flac_bytes;
    double loudness_lufs;
    int32_t loudness_known;
    int32_t reserved;
};

struct slot {
    pid_t pid;
    int fd;
    size_t next;        /* the job whose reply comes next */
    struct reply_head h;
    uint8_t *flac;
    size_t got;         /* bytes of its header + flac read */
};

unsigned synthpool_default_workers(void)
{
    const char *env = getenv("COACH_SYNTH_JOBS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (!*end && v >= 1 && v <= SYNTHPOOL_MAX_WORKERS) return (unsigned)v;
    }
    unsigned n = coach_cores();
    return n > SYNTHPOOL_MAX_WORKERS ? SYNTHPOOL_MAX_WORKERS : n;
}

/* One phrase's whole work, in whichever process runs it. */
static void work(struct speech *sp, struct synth_job *j, bool audio)
{
    int16_t *src = NULL;
    size_t len = 0;
    j->flac = NULL;
    j->flac_bytes = 0;
    j->loudness_known = 0;
    j->rc = speech_synth_at(sp, j->text, j->rate_wpm, &src, &len);
    j->src_len = len;
    j->src_rate_hz = speech_rate_hz(sp);
    if (!j->rc && audio) {
        j->rc = pcmstore_encode(src, len, j->src_rate_hz, &j->flac, &j->flac_bytes);
        if (!j->rc && len)
            j->loudness_known = loudness_of_phrase(src, len, j->src_rate_hz, &j->loudness_lufs) == 0;
    }
    free(src);
}

static bool write_full(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

/* Worker k of n: synthesizes jobs k, k + n, k + 2n... in that order and
 * sends each reply (its header, then the FLAC bytes) down fd. */
static _Noreturn void worker(struct speech *sp, struct synth_job *jobs, size_t n_jobs, size_t k,
                             size_t n, bool audio, int fd)
{
    for (size_t i = k; i < n_jobs; i += n) {
        struct synth_job *j = &jobs[i];
        work(sp, j, audio);
        struct reply_head h = {.job = i, .rc = j->rc, .src_rate_hz = j->src_rate_hz,
                               .src_len = j->src_len, .flac_bytes = j->flac_bytes,
                               .loudness_lufs = j->loudness_lufs, .loudness_known = j->loudness_known};
        bool ok = write_full(fd, &h, sizeof h) && write_full(fd, j->flac, j->flac_bytes);
        free(j->flac);
        if (!ok) _exit(1); /* the parent is gone or stopped reading */
    }
    _exit(0);
}

/* Forks worker k of n into s: 0, or -1 when no process can be made. */
static int start(struct slot *s, struct speech *sp, struct synth_job *jobs, size_t n_jobs, size_t k,
                 size_t n, bool audio)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        worker(sp, jobs, n_jobs, k, n, audio, fds[1]);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    *s = (struct slot){.pid = pid, .fd = fds[0], .next = k};
    return 0;
}

/* Reads what s's pipe holds, handing each whole reply to got(): 1 at EOF
 * or on an error (the worker is done), 0 while more is to come. */
static int pump(struct slot *s, struct synth_job *jobs, size_t n_jobs, size_t n,
                void (*got)(struct synth_job *j, void *arg), void *arg)
{
    for (;;) {
        uint8_t *dst;
        size_t want;
        if (s->got < sizeof s->h) {
            dst = (uint8_t *)&s->h + s->got;
            want = sizeof s->h - s->got;
        } else {
            /* replies come in the worker's order: anything else is corrupt */
            if (s->h.job != s->next || s->h.job >= n_jobs || s->h.flac_bytes > SYNTHPOOL_MAX_FLAC)
                return 1;
            size_t at = s->got - sizeof s->h;
            if (!s->flac && s->h.flac_bytes && !(s->flac = malloc((size_t)s->h.flac_bytes))) return 1;
            want = (size_t)s->h.flac_bytes - at;
            if (!want) {
                struct synth_job *j = &jobs[s->next];
                j->rc = s->h.rc;
                j->src_rate_hz = s->h.src_rate_hz;
                j->src_len = (size_t)s->h.src_len;
                j->flac = s->flac;
                j->flac_bytes = (size_t)s->h.flac_bytes;
                j->loudness_lufs = s->h.loudness_lufs;
                j->loudness_known = s->h.loudness_known;
                s->flac = NULL;
                s->got = 0;
                s->next += n;
                got(j, arg);
                continue;
            }
            dst = s->flac + at;
        }
        ssize_t r = read(s->fd, dst, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return 0;
        if (r <= 0) return 1;
        s->got += (size_t)r;
    }
}

static void reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

struct deliver_ctx {
    void (*done)(void *, struct synth_job *);
    void *ctx;
};

static void deliver(struct synth_job *j, void *arg)
{
    struct deliver_ctx *d = arg;
    d->done(d->ctx, j);
    free(j->flac);
    j->flac = NULL;
}

/* The jobs a worker did not answer (it died: a crash in the engine, or
 * it could not write), as failures. */
static void fail_rest(struct slot *s, struct synth_job *jobs, size_t n_jobs, size_t n,
                      struct deliver_ctx *d)
{
    for (size_t i = s->next; i < n_jobs; i += n) {
        jobs[i].rc = COACH_ESPEECH;
        jobs[i].flac = NULL;
        jobs[i].flac_bytes = 0;
        deliver(&jobs[i], d);
    }
}

int synthpool_run(struct speech *sp, struct synth_job *jobs, size_t n_jobs, unsigned workers,
                  bool audio, void (*done)(void *ctx, struct synth_job *job), void *ctx)
{
    struct deliver_ctx d = {done, ctx};
    size_t n = workers < 1 ? 1 : workers > SYNTHPOOL_MAX_WORKERS ? SYNTHPOOL_MAX_WORKERS : workers;
    if (n > n_jobs) n = n_jobs;
    struct slot slots[SYNTHPOOL_MAX_WORKERS];
    struct pollfd pfd[SYNTHPOOL_MAX_WORKERS];
    size_t running = 0;
    /* a child gets no threads: an engine still starting (speech_open_async)
     * is waited for here; if it failed, the jobs fail as in-process ones */
    if (n > 1 && speech_opened(sp)) n = 1;
    if (n > 1) {
        fflush(NULL); /* nothing buffered may be written twice */
        while (running < n && start(&slots[running], sp, jobs, n_jobs, running, n, audio) == 0)
            running++;
    }
    if (running < n) { /* one process, or no more to be had: all said here, in order */
        for (size_t i = 0; i < running; i++) {
            kill(slots[i].pid, SIGKILL);
            close(slots[i].fd);
            reap(slots[i].pid);
        }
        for (size_t i = 0; i < n_jobs; i++) {
            if (coach_interrupted()) return COACH_EINTR;
            work(sp, &jobs[i], audio);
            deliver(&jobs[i], &d);
        }
        return 0;
    }
    int rc = 0;
    while (running) {
        if (coach_interrupted()) {
            rc = COACH_EINTR;
            break;
        }
        for (size_t i = 0; i < running; i++)
            pfd[i] = (struct pollfd){.fd = slots[i].fd, .events = POLLIN};
        if (poll(pfd, running, SYNTHPOOL_POLL_MS) < 0 && errno != EINTR) {
            rc = COACH_EIO;
            break;
        }
        for (size_t i = 0; i < running;) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ||
                !pump(&slots[i], jobs, n_jobs, n, deliver, &d)) {
                i++;
                continue;
            }
            close(slots[i].fd);
            reap(slots[i].pid);
            free(slots[i].flac);
            fail_rest(&slots[i], jobs, n_jobs, n, &d); /* none when it finished */
            /* the last slot moves here, and its poll result with it */
            slots[i] = slots[running - 1];
            pfd[i] = pfd[running - 1];
            running--;
        }
    }
    for (size_t i = 0; i < running; i++) { /* stopped early: the rest is dropped */
        kill(slots[i].pid, SIGKILL);
        close(slots[i].fd);
        reap(slots[i].pid);
        free(slots[i].flac);
    }
    return rc;
}
