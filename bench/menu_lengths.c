/* What `coach menu` says of each routine's length against what the
 * routine's intro says ("This session takes about N minutes."), and what
 * the menu's load costs (issue 14: the phrase cache used for lengths).
 *
 *   menu_lengths [RUNS]
 *
 * For every routine the catalog finds: its length planned on its phrases
 * as synthesized (CLIPS_LENGTHS, which also puts them in the phrase cache)
 * and on estimated lengths alone, each in minutes as the intro rounds
 * them; then the minutes the menu offers with the phrase cache and without
 * it (--no-cache), and the median time of a whole menu load each way over
 * RUNS (default 9). Runs in the caller's XDG_CACHE_HOME (give it an empty
 * one for a first run's figures) and COACH_DATA_DIR.
 *
 * Built by CMake (not installed). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coach/menu.h"
#include "coach/session.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The routine's length in seconds with clips of mode (estimates: from the
 * text alone, not the cache); -1 if it fails. */
static double planned_s(const char *path, enum clip_mode mode)
{
    struct session_opts so = {.routine = path, .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .rate_hz = 48000, .clips = mode,
                              .no_cache = mode == CLIPS_ESTIMATE};
    struct session s;
    struct coach_diags d;
    diags_init(&d);
    char err[256] = "";
    double len = -1;
    if (session_open(&s, &so, &d, err, sizeof err) == SESSION_OK)
        len = (double)s.tl.len_frames / s.tl.rate_hz;
    else
        fprintf(stderr, "%s: %s\n", path, err);
    diags_free(&d);
    session_free(&s);
    return len;
}

/* Minutes as plan.c's duration_words rounds a session of 90 s or more. */
static unsigned minutes(double s)
{
    long whole = (long)(s + 0.5);
    return (unsigned)((whole + 30) / 60);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median ms of runs menu loads; the last load left in *m. */
static double load_ms(struct menu *m, bool no_cache, int runs)
{
    double *t = calloc((size_t)runs, sizeof *t);
    if (!t) return -1;
    for (int i = 0; i < runs; i++) {
        if (i) menu_free(m);
        double t0 = now_s();
        if (menu_load_checked(m, -1, NULL, no_cache, NULL, NULL)) {
            free(t);
            return -1;
        }
        t[i] = (now_s() - t0) * 1e3;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    double med = t[runs / 2];
    free(t);
    return med;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 9;
    if (runs < 1) runs = 1;
    struct menu est, cached;
    double est_ms = load_ms(&est, true, runs); /* before anything is synthesized */
    if (est_ms < 0) {
        fprintf(stderr, "menu_lengths: no routines\n");
        return 1;
    }
    printf("%-24s %9s %9s %6s %6s %10s %10s\n", "routine", "real s", "est s", "intro", "est",
           "menu", "menu -nc");
    double real_s[256];
    for (size_t i = 0; i < est.n && i < 256; i++) real_s[i] = planned_s(est.items[i].path, CLIPS_LENGTHS);
    double cached_ms = load_ms(&cached, false, runs);
    unsigned agree_cached = 0, agree_est = 0;
    for (size_t i = 0; i < est.n && i < 256; i++) {
        const struct menu_item *e = &est.items[i], *c = NULL;
        for (size_t j = 0; j < cached.n; j++)
            if (strcmp(cached.items[j].name, e->name) == 0) c = &cached.items[j];
        double es = planned_s(e->path, CLIPS_ESTIMATE);
        unsigned said = minutes(real_s[i]);
        printf("%-24s %9.2f %9.2f %6u %6u %10u %10u\n", e->name, real_s[i], es, said, minutes(es),
               c ? c->minutes : 0, e->minutes);
        agree_cached += c && c->minutes == said;
        agree_est += e->minutes == said;
    }
    printf("menu = intro: %u of %zu with the phrase cache, %u of %zu estimated (--no-cache)\n",
           agree_cached, est.n, agree_est, est.n);
    printf("menu load (median of %d): %.1f ms estimated, %.1f ms with the phrase cache\n", runs,
           est_ms, cached_ms);
    menu_free(&est);
    menu_free(&cached);
    return 0;
}
