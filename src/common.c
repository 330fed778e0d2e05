/* Error strings and the few string and I/O helpers every module uses. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT; pread, pwrite */
#include "coach/common.h"

#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

const char *coach_strerror(int err)
{
    switch (err) {
    case COACH_OK: return "success";
    case COACH_ENOMEM: return "out of memory";
    case COACH_EIO: return "input/output error";
    case COACH_EINVAL: return "invalid input";
    case COACH_ESPEECH: return "speech synthesis failed";
    case COACH_EFORMAT: return "unsupported output format";
    case COACH_ENOTFOUND: return "not found";
    case COACH_EPLAN: return "the routine cannot be planned";
    case COACH_EINTR: return "interrupted";
    case COACH_ETIMEDOUT: return "no answer in time";
    case COACH_ETOOLONG: return "too long to speak";
    default: return "unknown error";
    }
}

char *coach_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

char *coach_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ASCII-only, so the locale cannot change what a file name means. */
int coach_path_has_ext(const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot) return 0;
    for (; *dot && *ext; dot++, ext++) {
        int c = (*dot >= 'A' && *dot <= 'Z') ? *dot + 32 : *dot;
        if (c != *ext) return 0;
    }
    return *dot == *ext;
}

uint64_t coach_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void coach_set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

int coach_read_at(int fd, void *buf, size_t n, uint64_t off)
{
    for (size_t done = 0; done < n;) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) errno = 0;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

int coach_write_at(int fd, const void *buf, size_t n, uint64_t off)
{
    for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR) continue;
        if (w == 0) errno = 0;
        if (w <= 0) return -1;
        done += (size_t)w;
    }
    return 0;
}

int coach_write_full(int fd, const void *buf, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w == 0) errno = EIO;
        if (w <= 0) return -1;
        done += (size_t)w;
    }
    return 0;
}

unsigned coach_cores(void)
{
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                          : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (unsigned)n;
}

int coach_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc == 0 ? 0 : COACH_ENOMEM;
}
