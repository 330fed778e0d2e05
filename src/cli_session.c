/* The command line's side of a session (session.h does the work): the
 * options turned into session options, every failure printed for people
 * (file:line messages, what was not found and what there is) and turned
 * into its exit status, the --progress decision on stderr, and the --music
 * bed. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "coach/common.h"
#include "coach/diag.h"
#include "coach/history.h"
#include "coach/interrupt.h"
#include "coach/progress.h"
#include "coach/textsafe.h"

/* --music: loads the bed at the output rate; the exit status on failure. */
int load_music(const struct opts *o, uint32_t rate_hz, struct music *m, bool *loaded)
{
    *loaded = false;
    if (!o->music) return 0;
    char err[512] = "";
    int rc = music_load(m, o->music, rate_hz, err, sizeof err);
    if (rc) {
        fprintf(stderr, "coach: music: %s\n", err[0] ? err : coach_strerror(rc));
        return rc == COACH_ENOTFOUND ? EXIT_NOTFOUND : EXIT_INVALID;
    }
    *loaded = true;
    return 0;
}

void warn_skipped(void *ctx, const char *path, const char *why)
{
    (void)ctx;
    char safe[512];
    fprintf(stderr, "coach: warning: skipping %s: %s\n", text_safe(safe, sizeof safe, path), why);
}

void print_known(enum catalog_kind kind)
{
    char **names, **paths;
    size_t n;
    if (catalog_list(kind, &names, &paths, &n)) return;
    fprintf(stderr, "  found: ");
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", stderr);
        text_fput_safe(names[i], stderr);
    }
    fprintf(stderr, "%s\n", n ? "" : "none");
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
}

struct session_opts cli_session_opts(const struct opts *o, const char *routine,
                                     enum clip_mode clips)
{
    return (struct session_opts){
        .routine = routine, .voice = o->voice, .speech_rate = o->speech_rate, .pitch = o->pitch,
        .speech_volume = o->speech_volume, .level = o->level, .progress = o->progress,
        .rate_hz = o->rate_hz, .clips = clips, .defer_plan = true,
        .preroll_ms = o->preroll_ms > 0 ? (uint32_t)o->preroll_ms : 0, .from = o->from,
        .resume = o->resume, .with_warm_up = o->with_warm_up, .no_cache = o->no_cache};
}

/* Prints why a session could not be opened (arg: the routine asked for);
 * returns the exit status. */
static int session_failed(enum session_fail f, const char *arg, const char *err_raw)
{
    /* both can hold a path as typed or found: never raw control characters */
    char err[1024], safe_arg[512];
    text_safe(err, sizeof err, err_raw);
    if (arg) arg = text_safe(safe_arg, sizeof safe_arg, arg);
    switch (f) {
    case SESSION_OK:
        return EXIT_OK;
    case SESSION_NO_ROUTINE:
        fprintf(stderr, "coach: routine '%s' not found (try 'coach list')\n", err);
        print_known(CATALOG_ROUTINES);
        return EXIT_NOTFOUND;
    case SESSION_NOT_A_FILE:
        fprintf(stderr, "coach: %s: %s, not a routine file (name an .ini file%s, or see 'coach "
                        "list')\n",
                arg, err, strcmp(err, "is a directory") == 0 ? " in it" : "");
        return EXIT_NOTFOUND;
    case SESSION_NO_VOICE:
        fprintf(stderr, "coach: voice profile '%s' not found (try 'coach voices')\n", err);
        print_known(CATALOG_VOICES);
        return EXIT_NOTFOUND;
    case SESSION_UNREADABLE:
        fprintf(stderr, "coach: %s cannot be read (see above): check the file and its "
                        "permissions\n",
                err);
        return EXIT_NOTFOUND;
    case SESSION_INVALID:
        return EXIT_INVALID;
    case SESSION_SPEECH:
        fprintf(stderr, "%s\n", err);
        return EXIT_SPEECH;
    case SESSION_PLAN:
        fprintf(stderr, "%s\n", err);
        return EXIT_INVALID;
    case SESSION_BAD_STEP:
    case SESSION_SEQUENCE:
        fprintf(stderr, "coach: %s\n", err);
        return EXIT_USAGE;
    case SESSION_NOMEM:
        break;
    }
    fputs("coach: out of memory\n", stderr);
    return EXIT_INVALID;
}

/* Leaves d's errors only (warnings freed). */
static void drop_warnings(struct coach_diags *d)
{
    size_t kept = 0;
    for (size_t i = 0; i < d->len; i++) {
        if (d->items[i].warning) {
            free(d->items[i].file);
            free(d->items[i].msg);
        } else {
            d->items[kept++] = d->items[i];
        }
    }
    d->len = kept;
}

/* Opens, printing why not; warnings: print the files' warnings too. */
static int open_printing(struct session *s, const struct session_opts *so, const struct opts *o,
                         bool warnings)
{
    struct coach_diags d;
    diags_init(&d);
    char err[1024] = "";
    enum session_fail f = session_open(s, so, &d, err, sizeof err);
    if (!warnings) drop_warnings(&d);
    diags_print(&d, stderr);
    diags_free(&d);
    if (f) return session_failed(f, so->routine, err);
    if (s->from_note && !o->quiet) {
        char safe[1024];
        fprintf(stderr, "coach: %s\n", text_safe(safe, sizeof safe, s->from_note));
    }
    if (o->progress && so->routine) {
        if (s->progress_errno) {
            char *h = history_default_path(); /* the one session_open read */
            const char *unsafe = history_refused();
            if (unsafe)
                fprintf(stderr,
                        "coach: warning: cannot read the history%s%s: %s, so it is not trusted "
                        "(set COACH_HISTORY_FILE to a file in a directory only you can write "
                        "to); level unchanged\n",
                        h ? " " : "", h ? h : "", unsafe);
            else
                fprintf(stderr,
                        "coach: warning: cannot read the history%s%s (%s); level unchanged\n",
                        h ? " " : "", h ? h : "", strerror(s->progress_errno));
            free(h);
        }
        if (!s->part_progress)
            fprintf(stderr, "progress: %u completion%s in a row%s -> %s\n", s->streak,
                    s->streak == 1 ? "" : "s",
                    s->pain_down ? ", the last session hurt: a level down" : "",
                    level_name(s->level));
        for (size_t k = 0; s->part_progress && k < s->n_parts; k++) { /* a sequence: each its own */
            const struct progress *pr = &s->part_progress[k];
            char safe[512];
            fprintf(stderr, "progress: %s: %u completion%s in a row%s -> %s\n",
                    text_safe(safe, sizeof safe, s->part_names[k]), pr->streak,
                    pr->streak == 1 ? "" : "s",
                    pr->stepped_down ? ", the last session hurt: a level down" : "",
                    level_name(pr->level));
        }
    }
    return EXIT_OK;
}

int cli_session_open_with(struct session *s, const struct session_opts *so, const struct opts *o)
{
    return open_printing(s, so, o, true);
}

int cli_session_open_errors(struct session *s, const struct session_opts *so, const struct opts *o)
{
    return open_printing(s, so, o, false);
}

int cli_session_open(struct session *s, const char *routine, const struct opts *o,
                     enum clip_mode clips)
{
    struct session_opts so = cli_session_opts(o, routine, clips);
    return cli_session_open_with(s, &so, o);
}

struct session_opts cli_session_opts_many(const struct opts *o, int n, char **routines,
                                          enum clip_mode clips)
{
    struct session_opts so = cli_session_opts(o, routines[0], clips);
    if (n > 1) {
        so.routines = (const char *const *)routines;
        so.n_routines = (size_t)n;
    }
    return so;
}

int cli_session_open_many(struct session *s, int n, char **routines, const struct opts *o,
                          enum clip_mode clips)
{
    struct session_opts so = cli_session_opts_many(o, n, routines, clips);
    return cli_session_open_with(s, &so, o);
}

/* Ctrl-C or SIGTERM while the plan is made (seconds of synthesis on a Pi)
 * stops it. */
static int cli_tick(void *ctx)
{
    (void)ctx;
    return interrupted ? COACH_EINTR : 0;
}

int cli_session_plan(struct session *s)
{
    char err[1024] = "";
    /* every timing problem at once, each at its line, not just the first */
    struct coach_diags d;
    diags_init(&d);
    s->plan_problems = &d;
    int rc = session_plan(s, PLAN_FULL, cli_tick, NULL, &s->tl, err, sizeof err);
    s->plan_problems = NULL;
    diags_sort(&d);
    diags_print(&d, stderr);
    bool listed = d.len > 0;
    diags_free(&d);
    if (rc == COACH_EPLAN && listed) return EXIT_INVALID;
    if (rc == COACH_EINTR) {
        /* said, so that a stop is never silent (main turns 130 into 143
         * after SIGTERM) */
        fprintf(stderr, "coach: %s while the plan was made; no file was changed\n",
                coach_interrupted() == SIGTERM ? "terminated" : "interrupted");
        return EXIT_INTERRUPTED;
    }
    if (rc)
        return session_failed(rc == COACH_ESPEECH   ? SESSION_SPEECH
                              : rc == COACH_ENOMEM ? SESSION_NOMEM
                                                   : SESSION_PLAN,
                              NULL, err);
    s->have_tl = true;
    return EXIT_OK;
}

void fmt_duration(char *buf, size_t cap, uint64_t frames, uint32_t rate_hz)
{
    uint64_t s = (frames + rate_hz / 2) / rate_hz;
    if (s >= 3600)
        snprintf(buf, cap, "%u h %u min %u s", (unsigned)(s / 3600), (unsigned)(s / 60 % 60),
                 (unsigned)(s % 60));
    else
        snprintf(buf, cap, "%u min %u s", (unsigned)(s / 60), (unsigned)(s % 60));
}
