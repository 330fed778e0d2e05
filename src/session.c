/* Opening a session (see include/coach/session.h): the routine found by
 * name or path, its voice profile (or the override) with the speech
 * overrides, the level from --level and --progress, the speech and the
 * clip store, and the plan. Every command starts here, so a routine is
 * found, checked and planned the same way whatever is done with it. */
#define _POSIX_C_SOURCE 200809L
#include "coach/session.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coach/catalog.h"
#include "coach/common.h"
#include "coach/history.h"
#include "coach/phrasecache.h"
#include "coach/progress.h"

const char *session_routine_name(const char *path, char *buf, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 4 && strcmp(b + n - 4, ".ini") == 0) n -= 4;
    snprintf(buf, cap, "%.*s", (int)n, b);
    return buf;
}

void session_free(struct session *s)
{
    if (s->have_tl) timeline_free(&s->tl);
    if (s->have_clips) clipstore_free(&s->clips);
    if (s->speech) speech_close(s->speech);
    phrasecache_close(s->cache);
    if (s->have_voice) voice_free(&s->voice);
    if (s->have_routine) routine_free(&s->routine);
    for (size_t k = 0; k < s->n_parts; k++) {
        routine_free(&s->part_routines[k]);
        free(s->part_paths[k]);
        free(s->part_names[k]);
    }
    for (size_t k = 0; s->part_announce && k < s->n_parts; k++) free(s->part_announce[k]);
    free(s->part_announce);
    free(s->part_progress);
    free(s->part_routines);
    free(s->part_paths);
    free(s->part_names);
    free(s->routine_path);
    free(s->name);
    free(s->announce);
    free(s->from_note);
    memset(s, 0, sizeof *s);
}

/* "a, b, c": the names catalog_list finds (heap; "none" when empty). */
static char *known_names(enum catalog_kind kind)
{
    char **names, **paths;
    size_t n = 0;
    if (catalog_list(kind, &names, &paths, &n)) return NULL;
    size_t len = 5;
    for (size_t i = 0; i < n; i++) len += strlen(names[i]) + 2;
    char *known = calloc(1, len);
    for (size_t i = 0; known && i < n; i++) {
        if (i) strcat(known, ", ");
        strcat(known, names[i]);
    }
    if (known && !n) strcpy(known, "none");
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    return known;
}

/* A routine file: found (by name or path), read and checked into *r,
 * its file into *path and its name into *name (heap). */
static enum session_fail load_one(const char *arg, char **path, char **name, struct routine *r,
                                  size_t *warnings, struct coach_diags *d, char *err, size_t cap)
{
    int rc = catalog_find(CATALOG_ROUTINES, arg, path);
    struct stat st;
    if (rc == COACH_ENOTFOUND && stat(arg, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* something is there, just not a routine (a FIFO or a device is
         * never opened: reading one could block forever) */
        coach_set_err(err, cap, "%s", S_ISDIR(st.st_mode) ? "is a directory" : "is a device, pipe or socket");
        return SESSION_NOT_A_FILE;
    }
    if (rc == COACH_ENOTFOUND) {
        coach_set_err(err, cap, "%s", arg);
        return SESSION_NO_ROUTINE;
    }
    if (rc) return SESSION_NOMEM;
    char buf[256];
    *name = coach_strdup(session_routine_name(*path, buf, sizeof buf));
    if (!*name) return SESSION_NOMEM;
    size_t warned = diags_warnings(d);
    rc = routine_load(*path, r, d);
    *warnings += diags_warnings(d) - warned;
    if (rc == COACH_ENOMEM) return SESSION_NOMEM;
    if (rc == COACH_ENOTFOUND || rc == COACH_EIO) {
        /* unreadable (permissions, an I/O error) or gone since it was found */
        coach_set_err(err, cap, "the routine %s", *path);
        return SESSION_UNREADABLE;
    }
    if (rc) return SESSION_INVALID;
    return SESSION_OK;
}

/* The routine file: found, read and checked. */
static enum session_fail load_routine(struct session *s, const char *arg, struct coach_diags *d,
                                      char *err, size_t cap)
{
    enum session_fail f = load_one(arg, &s->routine_path, &s->name, &s->routine,
                                   &s->routine_warnings, d, err, cap);
    if (!f) s->have_routine = true;
    return f;
}

/* --progress: the walk of one routine's records from base (progress.h
 * has the rule) into *pr. A history that cannot be read only costs the
 * progression (progress_errno; why in history_refused() if it was refused
 * as unsafe); damaged lines in it are a warning in d at the first of
 * them (once: a sequence walks it once per routine). */
static void walk_history(struct session *s, const struct session_opts *o, const char *name,
                         enum level base, struct coach_diags *d, struct progress *pr)
{
    char *hpath = o->history_path ? coach_strdup(o->history_path) : history_default_path();
    struct history_damage dmg = {0};
    *pr = (struct progress){.level = base};
    if (!hpath || progress_walk(hpath, name, base, pr, &dmg)) {
        s->progress_errno = errno ? errno : EIO;
        *pr = (struct progress){.level = base};
    } else if (dmg.lines && d && !s->history_warned) {
        char text[256];
        history_damage_text(&dmg, text, sizeof text);
        diags_warn(d, hpath, dmg.first_line > INT_MAX ? INT_MAX : (int)dmg.first_line, "%s",
                   text);
        s->history_warned = true;
    }
    free(hpath);
}

/* The sentence --progress says for pr (heap in *out), or NULL if there is
 * nothing to say: a level down after pain, else a level reached. */
static enum session_fail progress_words(const struct voice *v, const struct progress *pr,
                                        char **out)
{
    static const enum phrase_id words[] = {PH_LEVEL_EASY, PH_LEVEL_MEDIUM, PH_LEVEL_HARD};
    /* the bare word: voice_format would capitalize it ("Medium") */
    const char *word = v->phrases[words[pr->level]];
    *out = NULL;
    if (pr->stepped_down) /* it hurt last time: said first thing, whatever the level */
        *out = voice_format(v, PH_PROGRESS_DOWN, &(struct phrase_args){.text = word});
    else if (pr->streak >= PROGRESS_PER_LEVEL)
        *out = voice_format(v, PH_PROGRESS,
                            &(struct phrase_args){.n = (long)pr->streak, .text = word});
    else
        return SESSION_OK;
    return *out ? SESSION_OK : SESSION_NOMEM;
}

/* The routines of a sequence, read so far (grown one at a time). */
struct seq {
    struct routine *r;
    char **paths, **names;
    size_t n, cap;
};

static void seq_free(struct seq *q)
{
    for (size_t k = 0; k < q->n; k++) {
        routine_free(&q->r[k]);
        free(q->paths[k]);
        free(q->names[k]);
    }
    free(q->r), free(q->paths), free(q->names);
    memset(q, 0, sizeof *q);
}

/* Puts a routine read on the end of q (q owns it then, or frees it). */
static enum session_fail seq_push(struct seq *q, struct routine *r, char *path, char *name)
{
    if (q->n == q->cap) {
        size_t c = q->cap ? q->cap * 2 : 4;
        struct routine *r = realloc(q->r, c * sizeof *r);
        if (r) q->r = r;
        char **p = r ? realloc(q->paths, c * sizeof *p) : NULL;
        if (p) q->paths = p;
        char **n = p ? realloc(q->names, c * sizeof *n) : NULL;
        if (!n) {
            routine_free(r);
            free(path), free(name);
            return SESSION_NOMEM;
        }
        q->names = n;
        q->cap = c;
    }
    q->r[q->n] = *r;
    q->paths[q->n] = path;
    q->names[q->n] = name;
    q->n++;
    return SESSION_OK;
}

/* Reads arg onto the end of q; a routine found at the same file as the
 * one before it is not played twice in a row (--with-warm-up warm-up
 * core-strength). by, by_line: the routine and line that named it (a
 * before/after key), NULL for the command line. */
static enum session_fail seq_add(struct session *s, struct seq *q, const char *arg,
                                 const struct routine *by, int by_line, struct coach_diags *d,
                                 char *err, size_t cap)
{
    char *path = NULL, *name = NULL;
    struct routine r;
    memset(&r, 0, sizeof r);
    enum session_fail f = load_one(arg, &path, &name, &r, &s->routine_warnings, d, err, cap);
    if (f == SESSION_NO_ROUTINE && by) { /* the file's fault: at its line */
        char *known = known_names(CATALOG_ROUTINES);
        diags_add(d, by->path, by_line,
                  "%s: no routine '%s' (routines found: %s)", by_line == by->after_line ? "after"
                                                                                       : "before",
                  arg, known ? known : "none");
        free(known);
        f = SESSION_INVALID;
    }
    if (!f && q->n && strcmp(q->paths[q->n - 1], path) == 0) { /* already there */
        routine_free(&r);
        free(path), free(name);
        return SESSION_OK;
    }
    if (f) {
        free(path), free(name);
        return f;
    }
    return seq_push(q, &r, path, name);
}

/* Several routines (or one with --with-warm-up): read in order, then
 * joined into s->routine if more than one. */
static enum session_fail load_sequence(struct session *s, const struct session_opts *o,
                                       struct coach_diags *d, char *err, size_t cap)
{
    const char *one[1] = {o->routine};
    const char *const *args = o->n_routines ? o->routines : one;
    size_t n_args = o->n_routines ? o->n_routines : 1;
    struct seq q = {0};
    enum session_fail f = SESSION_OK;
    for (size_t a = 0; a < n_args && !f; a++) {
        struct routine main_r;
        char *main_path = NULL, *main_name = NULL;
        if (!o->with_warm_up) {
            f = seq_add(s, &q, args[a], NULL, 0, d, err, cap);
            continue;
        }
        /* read it first: its before and after say what goes around it */
        f = load_one(args[a], &main_path, &main_name, &main_r, &s->routine_warnings, d, err, cap);
        if (f) {
            free(main_path), free(main_name);
            break;
        }
        for (size_t b = 0; b < main_r.before.len && !f; b++)
            f = seq_add(s, &q, main_r.before.items[b], &main_r, main_r.before_line, d, err, cap);
        if (f) {
            routine_free(&main_r);
            free(main_path), free(main_name);
            break;
        }
        f = seq_push(&q, &main_r, main_path, main_name); /* q owns it now */
        if (f) break;
        const size_t mi = q.n - 1; /* q.r may move as it grows: by index */
        for (size_t b = 0; b < q.r[mi].after.len && !f; b++)
            f = seq_add(s, &q, q.r[mi].after.items[b], &q.r[mi], q.r[mi].after_line, d, err, cap);
    }
    if (f) {
        seq_free(&q);
        return f;
    }
    if (q.n == 1) { /* one routine after all: an ordinary session */
        s->routine = q.r[0];
        s->routine_path = q.paths[0];
        s->name = q.names[0];
        free(q.r), free(q.paths), free(q.names);
        s->have_routine = true;
        return SESSION_OK;
    }
    s->part_routines = q.r;
    s->part_paths = q.paths;
    s->part_names = q.names;
    s->n_parts = q.n;
    s->routine_path = coach_strdup(q.paths[0]);
    s->name = coach_strdup(q.names[0]);
    const struct routine **src = malloc(q.n * sizeof *src);
    if (!s->routine_path || !s->name || !src) {
        free(src);
        return SESSION_NOMEM;
    }
    for (size_t k = 0; k < q.n; k++) src[k] = &q.r[k];
    /* --progress: each routine moved from its own level (or --level) by
     * its own records, the history's (one record per routine played) */
    if (o->progress && !(s->part_progress = calloc(q.n, sizeof *s->part_progress))) {
        free(src);
        return SESSION_NOMEM;
    }
    for (size_t k = 0; o->progress && k < q.n; k++) {
        enum level base = q.r[k].level;
        if (o->level) level_parse(o->level, &base);
        walk_history(s, o, q.names[k], base, d, &s->part_progress[k]);
        q.r[k].level = s->part_progress[k].level;
    }
    /* each routine at its own level, unless --level names one for all */
    int rc = routine_join(&s->routine, src, (const char *const *)q.names, q.n,
                          !o->level || o->progress);
    free(src);
    if (rc) return SESSION_NOMEM;
    s->have_routine = true;
    /* one voice reads the whole session: the routines' own, if they agree */
    for (size_t k = 1; k < q.n && !o->voice; k++) {
        if (strcmp(q.r[k].voice, q.r[0].voice) == 0) continue;
        coach_set_err(err, cap,
                      "the routines are for different voice profiles (%s: %s, %s: %s); give "
                      "--voice NAME to read the whole session with one",
                      q.names[0], q.r[0].voice, q.names[k], q.r[k].voice);
        return SESSION_SEQUENCE;
    }
    const char *opt = o->from ? "--from" : o->resume ? "--resume" : NULL;
    if (opt) {
        coach_set_err(err, cap,
                      "%s takes one routine, not a sequence of %zu; play the routine it is "
                      "for on its own (e.g. coach play %s %s)",
                      opt, q.n, opt, o->from ? "STEP ROUTINE" : "ROUTINE");
        return SESSION_SEQUENCE;
    }
    return SESSION_OK;
}

/* The voice profile: the override, else the routine's; with the overrides
 * of its settings. */
static enum session_fail load_voice(struct session *s, const struct session_opts *o,
                                    struct coach_diags *d, char *err, size_t cap)
{
    const char *want = o->voice ? o->voice : s->have_routine ? s->routine.voice : "en-us";
    char *vpath = NULL;
    int rc = catalog_find(CATALOG_VOICES, want, &vpath);
    if (rc == COACH_ENOTFOUND && (o->voice || !s->have_routine)) { /* the command line's */
        coach_set_err(err, cap, "%s", want);
        return SESSION_NO_VOICE;
    }
    if (rc == COACH_ENOTFOUND) { /* the routine file names it: an error at its line */
        char *known = known_names(CATALOG_VOICES);
        diags_add(d, s->routine_path, s->routine.voice_line,
                  "unknown voice '%s' (voice profiles found: %s)", want, known ? known : "none");
        free(known);
        return SESSION_INVALID;
    }
    if (rc) return SESSION_NOMEM;
    rc = voice_load(vpath, &s->voice, d);
    enum session_fail f = SESSION_OK;
    if (rc == COACH_ENOMEM)
        f = SESSION_NOMEM;
    else if (rc == COACH_ENOTFOUND || rc == COACH_EIO) {
        coach_set_err(err, cap, "the voice profile %s", vpath);
        f = SESSION_UNREADABLE;
    } else if (rc)
        f = SESSION_INVALID;
    free(vpath);
    if (f) return f;
    s->have_voice = true;
    if (o->speech_rate >= 0) s->voice.rate_wpm = o->speech_rate;
    if (o->pitch >= 0) s->voice.pitch = o->pitch;
    if (o->speech_volume >= 0) s->voice.volume = o->speech_volume;
    return SESSION_OK;
}

/* --level, else the routine's; moved up by --progress (progress.h has the
 * rule), which also makes the sentence said after the title; in a
 * sequence, each routine's (load_sequence walked them), said after its
 * name. */
static enum session_fail pick_level(struct session *s, const struct session_opts *o,
                                    struct coach_diags *d)
{
    enum level base = s->routine.level;
    if (o->level) level_parse(o->level, &base);
    s->level = base;
    if (!o->progress) return SESSION_OK;
    if (s->part_progress) {
        s->part_announce = calloc(s->n_parts, sizeof *s->part_announce);
        if (!s->part_announce) return SESSION_NOMEM;
        for (size_t k = 0; k < s->n_parts; k++)
            if (progress_words(&s->voice, &s->part_progress[k], &s->part_announce[k]))
                return SESSION_NOMEM;
        s->level = s->part_progress[0].level; /* the ranges are fixed: any level plays them */
        return SESSION_OK;
    }
    struct progress pr;
    walk_history(s, o, s->name, base, d, &pr);
    s->streak = pr.streak;
    s->level = pr.level;
    s->pain_down = pr.stepped_down;
    return progress_words(&s->voice, &pr, &s->announce);
}

/* "exercises 1-5; steps warm-up, bridge, ...": what --from can name (heap). */
static char *step_choices(const struct routine *r)
{
    size_t moves = routine_count_moves(r), len = 64;
    for (size_t i = 0; i < r->n_steps; i++) len += strlen(r->steps[i].id ? r->steps[i].id : "") + 2;
    char *t = malloc(len);
    if (!t) return NULL;
    size_t n = moves ? (size_t)snprintf(t, len, "a number 1-%zu (the exercises) or ", moves) : 0;
    n += (size_t)snprintf(t + n, len - n, "a step id: ");
    for (size_t i = 0; i < r->n_steps && n < len; i++)
        n += (size_t)snprintf(t + n, len - n, "%s%s", i ? ", " : "", r->steps[i].id ? r->steps[i].id : "");
    return t;
}

/* "exercise 3 of 5, bird-dog" / "step closing" (heap) */
static char *step_words(const struct routine *r, const struct step *st)
{
    if (st->kind != STEP_EXERCISE && st->kind != STEP_BREATHING)
        return coach_asprintf("step %s", st->id);
    size_t n = 0;
    for (const struct step *q = r->steps; q <= st; q++)
        n += q->kind == STEP_EXERCISE || q->kind == STEP_BREATHING;
    return coach_asprintf("exercise %zu of %zu, %s", n, routine_count_moves(r), st->id);
}

/* --from: the step named; --resume: the step the history's last record of
 * the routine stopped at. A history that cannot be read, a last session
 * that was completed or recorded no step, or a step no longer in the
 * routine: from the top, and from_note says why (a user who asks to resume
 * wants to exercise, not an error). */
static enum session_fail pick_start(struct session *s, const struct session_opts *o, char *err,
                                    size_t cap)
{
    const struct routine *r = &s->routine;
    if (o->from) {
        size_t i;
        if (routine_find_step(r, o->from, &i)) {
            char *choices = step_choices(r);
            coach_set_err(err, cap, "--from '%s': %s has no such step; give %s", o->from, s->name,
                          choices ? choices : "a step number or id");
            free(choices);
            return SESSION_BAD_STEP;
        }
        s->from = &r->steps[i];
        return SESSION_OK;
    }
    if (!o->resume) return SESSION_OK;
    char *hpath = o->history_path ? coach_strdup(o->history_path) : history_default_path();
    struct history_resume hr;
    int rc = hpath ? history_resume_point(hpath, s->name, &hr) : COACH_ENOMEM;
    size_t i = 0;
    const char *why = NULL;
    if (rc == COACH_ENOTFOUND)
        why = "no earlier session of it in the history";
    else if (rc)
        why = "the history cannot be read";
    else if (strcmp(hr.ending, "completed") == 0)
        why = "the last session was completed";
    else if (!hr.stop_step[0])
        why = "the last session did not record where it stopped";
    else if (routine_find_step(r, hr.stop_step, &i) || strcmp(r->steps[i].id, hr.stop_step))
        why = "the step where the last session stopped is no longer in the routine";
    free(hpath);
    if (why) {
        s->from_note = coach_asprintf("resume %s: %s; starting from the top", s->name, why);
    } else {
        s->from = &r->steps[i];
        char *at = step_words(r, s->from);
        const char *how = strcmp(hr.ending, "stopped") == 0       ? "was stopped"
                          : strcmp(hr.ending, "interrupted") == 0 ? "was interrupted"
                                                                  : "ended early";
        s->from_note = coach_asprintf("resume %s: the last session %s at %s; starting there",
                                      s->name, how, at ? at : hr.stop_step);
        free(at);
    }
    return s->from_note ? SESSION_OK : SESSION_NOMEM;
}

/* The profile's engine and voice, and the clip store on it. */
static enum session_fail open_speech(struct session *s, const struct session_opts *o, char *err,
                                     size_t cap)
{
    const struct voice *v = &s->voice;
    struct speech_settings ss = {.espeak_voice = v->espeak_voice, .engine = v->engine,
                                 .lexicon = &v->lexicon, .rate_wpm = v->rate_wpm,
                                 .pitch = v->pitch, .volume = v->volume};
    /* no usable directory is no cache, not a failure */
    if (!o->no_cache && phrasecache_open(&s->cache, NULL, 0)) s->cache = NULL;
    if (o->clips != CLIPS_ESTIMATE) {
        int rc = o->speech_async ? speech_open_async(&s->speech, &ss) : speech_open(&s->speech, &ss);
        if (rc) { /* what it lacks, named: data, the voice, memory or descriptors */
            speech_explain(rc, v->espeak_voice, v->path, err, cap);
            return SESSION_SPEECH;
        }
    }
    if (clipstore_init(&s->clips, s->speech, o->rate_hz)) {
        coach_set_err(err, cap, "invalid output rate %u Hz", o->rate_hz);
        return SESSION_SPEECH;
    }
    s->clips.cache = s->cache;
    s->clips.keys = ss; /* its strings are the voice's, which outlives the store */
    clipstore_set_mode(&s->clips, o->clips);
    s->have_clips = true;
    return SESSION_OK;
}

enum session_fail session_speech_ready(struct session *s, char *err, size_t cap)
{
    if (!s->speech) return SESSION_OK;
    int rc = speech_opened(s->speech);
    if (!rc) return SESSION_OK;
    speech_explain(rc, s->voice.espeak_voice, s->voice.path, err, cap);
    return SESSION_SPEECH;
}

enum session_fail session_open(struct session *s, const struct session_opts *o,
                               struct coach_diags *d, char *err, size_t err_cap)
{
    memset(s, 0, sizeof *s);
    if (err && err_cap) err[0] = 0;
    s->preroll_ms = o->preroll_ms;
    enum session_fail f = SESSION_OK;
    if (o->n_routines || (o->routine && o->with_warm_up))
        f = load_sequence(s, o, d, err, err_cap);
    else if (o->routine)
        f = load_routine(s, o->routine, d, err, err_cap);
    if (!f) f = load_voice(s, o, d, err, err_cap);
    diags_sort(d);
    if (!f && s->have_routine) f = pick_level(s, o, d);
    if (!f && s->have_routine) f = pick_start(s, o, err, err_cap);
    if (!f) f = open_speech(s, o, err, err_cap);
    if (!f && s->have_routine && !o->defer_plan) {
        int rc = session_plan(s, PLAN_FULL, NULL, NULL, &s->tl, err, err_cap);
        if (rc == COACH_ENOMEM) return SESSION_NOMEM;
        if (rc == COACH_ESPEECH) return SESSION_SPEECH;
        if (rc) return SESSION_PLAN;
        s->have_tl = true;
    }
    return f;
}

/* The phrases the plan will ask for, synthesized ahead on every core: a
 * first pass with estimated lengths names them (nearly all: a phrase that
 * fits only by its estimate, or a length said in words, may differ, and
 * is then synthesized when the real pass asks for it). */
static int prefetch(struct session *s, const struct plan_opts *po)
{
    if (!s->speech || s->clips.mode == CLIPS_ESTIMATE || s->clips.workers < 2) return 0;
    struct clipstore est;
    if (session_estimates(s, &est)) return 0;
    struct coach_diags misfits; /* kept so the pass goes on to the end; told by the real one */
    diags_init(&misfits);
    struct plan_opts eo = *po;
    eo.problems = &misfits;
    eo.tick = NULL;
    struct timeline tl;
    char err[256];
    if (plan_build(&s->routine, &s->voice, &est, &eo, &tl, err, sizeof err) == 0) timeline_free(&tl);
    diags_free(&misfits);
    int rc = clipstore_prefetch(&s->clips, &est);
    clipstore_free(&est);
    return rc == COACH_ENOMEM ? 0 : rc; /* without it, only slower */
}

struct plan_opts session_plan_opts(const struct session *s, enum plan_part part)
{
    return (struct plan_opts){.rate_hz = s->clips.rate_hz, .level = s->level, .part = part,
                              .announce = s->announce, .part_announce = s->part_announce,
                              .inputs = s->inputs, .preroll_ms = s->preroll_ms, .from = s->from,
                              .problems = s->plan_problems};
}

int session_estimates(const struct session *s, struct clipstore *est)
{
    if (clipstore_init(est, NULL, s->clips.rate_hz)) return COACH_EINVAL;
    clipstore_set_mode(est, CLIPS_ESTIMATE);
    est->keys = s->clips.keys; /* the voice's rate, for the estimates (no cache: no lookups) */
    return 0;
}

int session_plan(struct session *s, enum plan_part part, int (*tick)(void *ctx), void *tick_ctx,
                 struct timeline *tl, char *err, size_t err_cap)
{
    struct plan_opts po = session_plan_opts(s, part);
    po.tick = tick;
    po.tick_ctx = tick_ctx;
    int rc = prefetch(s, &po);
    if (!rc) rc = plan_build(&s->routine, &s->voice, &s->clips, &po, tl, err, err_cap);
    if (rc && err && err_cap && !err[0]) coach_set_err(err, err_cap, "%s", coach_strerror(rc));
    return rc;
}

int session_set_rate(struct session *s, uint32_t rate_hz)
{
    if (!s->have_clips || s->clips.len || rate_hz == 0) return COACH_EINVAL;
    enum clip_mode mode = s->clips.mode;
    struct speech_settings keys = s->clips.keys;
    clipstore_free(&s->clips);
    int rc = clipstore_init(&s->clips, s->speech, rate_hz);
    clipstore_set_mode(&s->clips, mode);
    s->clips.cache = s->cache;
    s->clips.keys = keys;
    return rc;
}
