/* Shared error codes and small helpers. A function that can fail returns 0 on
 * success or one of these negative codes; people-facing messages are made at
 * the edge (the CLI) from coach_strerror() plus context. */
#ifndef COACH_COMMON_H
#define COACH_COMMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum coach_err {
    COACH_OK = 0,
    COACH_ENOMEM = -1,   /* allocation failed */
    COACH_EIO = -2,      /* read/write failed (errno has details) */
    COACH_EINVAL = -3,   /* invalid input (details are in a diag list) */
    COACH_ESPEECH = -4,  /* espeak-ng failed or voice missing */
    COACH_EFORMAT = -5,  /* output format unknown or unsupported */
    COACH_ENOTFOUND = -6,/* routine, voice or file not found */
    COACH_EPLAN = -7,    /* the plan cannot fit mandatory speech */
    COACH_EINTR = -8,    /* interrupted by a signal */
    COACH_ETIMEDOUT = -9,/* a component (the sound system) did not answer in time */
    COACH_ETOOLONG = -10,/* a text would be spoken for longer than a clip may last */
};

const char *coach_strerror(int err);

/* Seconds (as milliseconds) to frames, rounded to nearest. Exact for
 * 48000 and 44100 Hz at whole milliseconds. The ONLY seconds->frames rule. */
static inline uint64_t frames_from_ms(uint64_t ms, uint32_t rate_hz)
{
    return (ms * rate_hz + 500) / 1000;
}

/* CLOCK_MONOTONIC in nanoseconds: for timeouts and "time to first sound".
 * No lock, no allocation: safe on the audio thread. */
uint64_t coach_mono_ns(void);

/* strdup that is C11 (strdup is POSIX); returns NULL on NULL or no memory. */
char *coach_strdup(const char *s);
/* printf into a new heap string; NULL on no memory. */
char *coach_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A reason for people into err[0..cap) (printf); nothing if err is NULL. */
void coach_set_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 1 if the extension of path's base name (from its last dot) is ext
 * (".vtt": lower case, dot included), ignoring ASCII case; else 0. */
int coach_path_has_ext(const char *path, const char *ext);
/* Reads / writes exactly n bytes of fd at byte offset off (pread/pwrite,
 * retried after EINTR and short transfers). 0, or -1 with errno set (0 at
 * an end of file reached first). */
int coach_read_at(int fd, void *buf, size_t n, uint64_t off);
/* The cores this process may run on (taskset, a container's cpuset), else
 * the online ones; at least 1. What the worker pools size themselves by. */
unsigned coach_cores(void);
int coach_write_at(int fd, const void *buf, size_t n, uint64_t off);
/* Writes exactly n bytes at fd's position (a pipe): write, retried after
 * EINTR and short writes. 0, or -1 with errno (EIO if nothing was taken). */
int coach_write_full(int fd, const void *buf, size_t n);
/* Starts a thread with every signal blocked, so SIGINT and SIGTERM reach
 * the caller's threads, which check for a cancel. 0 or COACH_ENOMEM. */
int coach_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
