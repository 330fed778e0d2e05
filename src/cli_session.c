/* The session every routine command starts from: the routine found by
 * name or path, its voice profile (or --voice) with the command line's
 * overrides, the level (--level, moved up by --progress), the plan built
 * through espeak-ng, and the --music bed. Errors are printed here, as
 * file:line: messages, and come back as exit statuses. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <espeak-ng/speak_lib.h>

#include "cli.h"
#include "coach/common.h"
#include "coach/diag.h"
#include "coach/history.h"
#include "coach/progress.h"

/* --music: loads the bed at the output rate; the exit status on failure. */
int load_music(const struct opts *o, uint32_t rate_hz, struct music *m, bool *loaded)
{
    *loaded = false;
    if (!o->music) return 0;
    char err[512] = "";
    int rc = music_load(m, o->music, rate_hz, err, sizeof err);
    if (rc) {
        fprintf(stderr, "coach: music: %s\n", err[0] ? err : coach_strerror(rc));
        return rc == COACH_ENOTFOUND ? 3 : 1;
    }
    *loaded = true;
    return 0;
}

static int clip_intern(void *ctx, const char *text, uint32_t *id, uint64_t *len)
{
    return clipstore_intern(ctx, text, id, len);
}

void session_free(struct session *s)
{
    if (s->have_tl) timeline_free(&s->tl);
    if (s->have_clips) clipstore_free(&s->clips);
    if (s->speech) speech_close(s->speech);
    if (s->have_voice) voice_free(&s->voice);
    if (s->have_routine) routine_free(&s->routine);
    free(s->routine_path);
    free(s->announce);
    memset(s, 0, sizeof *s);
}

void print_known(enum catalog_kind kind)
{
    char **names, **paths;
    size_t n;
    if (catalog_list(kind, &names, &paths, &n)) return;
    fprintf(stderr, "  found: ");
    for (size_t i = 0; i < n; i++) fprintf(stderr, "%s%s", i ? ", " : "", names[i]);
    fprintf(stderr, "%s\n", n ? "" : "none");
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
}

const char *routine_name(const char *path, char *buf, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 4 && strcmp(b + n - 4, ".ini") == 0) n -= 4;
    snprintf(buf, cap, "%.*s", (int)n, b);
    return buf;
}

/* Loads the routine and its voice profile (--voice instead of the
 * routine's, with the --speech-rate, --pitch and --speech-volume
 * overrides applied). Errors are printed. */
int session_load(struct session *s, const char *arg, const struct opts *o)
{
    int rc = catalog_find(CATALOG_ROUTINES, arg, &s->routine_path);
    struct stat st;
    if (rc == COACH_ENOTFOUND && stat(arg, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* something is there, just not a routine: say what (a FIFO or a
         * device is never opened: reading one could block forever) */
        fprintf(stderr, "coach: %s: %s, not a routine file (name an .ini file%s, or see 'coach "
                        "list')\n",
                arg, S_ISDIR(st.st_mode) ? "is a directory" : "is a device, pipe or socket",
                S_ISDIR(st.st_mode) ? " in it" : "");
        return EXIT_NOTFOUND;
    }
    if (rc == COACH_ENOTFOUND) {
        fprintf(stderr, "coach: routine '%s' not found (try 'coach list')\n", arg);
        print_known(CATALOG_ROUTINES);
        return EXIT_NOTFOUND;
    }
    if (rc) {
        fprintf(stderr, "coach: %s\n", coach_strerror(rc));
        return EXIT_INVALID;
    }
    struct coach_diags d;
    diags_init(&d);
    rc = routine_load(s->routine_path, &s->routine, &d);
    int status = EXIT_OK;
    char *unreadable = NULL; /* "the routine FILE" that could not be read, if any */
    if (rc) {
        /* unreadable (permissions, an I/O error) or gone since it was
         * found: the routine is not there to check, like a missing one */
        status = rc == COACH_ENOTFOUND || rc == COACH_EIO ? EXIT_NOTFOUND : EXIT_INVALID;
        if (rc == COACH_EIO) unreadable = coach_asprintf("the routine %s", s->routine_path);
    } else {
        s->have_routine = true;
        char *vpath = NULL;
        const struct routine *r = &s->routine;
        rc = catalog_find(CATALOG_VOICES, o->voice ? o->voice : r->voice, &vpath);
        if (rc == COACH_ENOTFOUND && o->voice) { /* the command line's, not the file's */
            fprintf(stderr, "coach: voice profile '%s' not found (try 'coach voices')\n", o->voice);
            print_known(CATALOG_VOICES);
            status = EXIT_NOTFOUND;
        } else if (rc == COACH_ENOTFOUND) {
            char **names, **paths;
            size_t n = 0;
            char *known = NULL;
            if (!catalog_list(CATALOG_VOICES, &names, &paths, &n)) {
                size_t len = 1;
                for (size_t i = 0; i < n; i++) len += strlen(names[i]) + 2;
                known = calloc(1, len);
                for (size_t i = 0; known && i < n; i++) {
                    if (i) strcat(known, ", ");
                    strcat(known, names[i]);
                }
                catalog_strv_free(names, n);
                catalog_strv_free(paths, n);
            }
            diags_add(&d, s->routine_path, r->voice_line, "unknown voice '%s' (voice profiles found: %s)",
                      r->voice, known && *known ? known : "none");
            free(known);
            status = EXIT_INVALID;
        } else if (rc) {
            status = EXIT_INVALID;
        } else {
            rc = voice_load(vpath, &s->voice, &d);
            if (rc) {
                status = rc == COACH_ENOTFOUND || rc == COACH_EIO ? EXIT_NOTFOUND : EXIT_INVALID;
                if (rc == COACH_EIO) unreadable = coach_asprintf("the voice profile %s", vpath);
            } else {
                s->have_voice = true;
                if (o->speech_rate >= 0) s->voice.rate_wpm = o->speech_rate;
                if (o->pitch >= 0) s->voice.pitch = o->pitch;
                if (o->speech_volume >= 0) s->voice.volume = o->speech_volume;
            }
        }
        free(vpath);
    }
    diags_sort(&d);
    diags_print(&d, stderr);
    diags_free(&d);
    if (unreadable)
        fprintf(stderr, "coach: %s cannot be read (see above): check the file and its "
                        "permissions\n", unreadable);
    free(unreadable);
    return status;
}

/* The session's level: --level or the routine's, moved up by --progress
 * (progress.h has the rule). The decision goes to stderr and, when the
 * streak moved (or would move) the level, into s->announce, said after the
 * title. A history that cannot be read only costs the progression. */
enum level session_level(struct session *s, const struct opts *o)
{
    enum level base = s->routine.level;
    if (o->level) level_parse(o->level, &base);
    if (!o->progress) return base;
    char name[256];
    routine_name(s->routine_path, name, sizeof name);
    unsigned streak = 0;
    char *hpath = history_default_path();
    if (!hpath || progress_streak(hpath, name, &streak))
        fprintf(stderr, "coach: warning: cannot read the history%s%s (%s); level unchanged\n",
                hpath ? " " : "", hpath ? hpath : "", strerror(errno));
    free(hpath);
    enum level lv = progress_level(base, streak);
    fprintf(stderr, "progress: %u completion%s in a row -> %s\n", streak, streak == 1 ? "" : "s",
            level_name(lv));
    if (streak >= PROGRESS_PER_LEVEL) {
        static const enum phrase_id words[] = {PH_LEVEL_EASY, PH_LEVEL_MEDIUM, PH_LEVEL_HARD};
        /* the bare word: voice_format would capitalize it ("Medium") */
        const char *word = s->voice.phrases[words[lv]];
        s->announce = voice_format(&s->voice, PH_PROGRESS,
                                   &(struct phrase_args){.n = (long)streak, .text = word});
    }
    return lv;
}

/* Starts espeak-ng and plans the routine at the given rate and level. */
int session_plan(struct session *s, const struct opts *o)
{
    const struct voice *v = &s->voice;
    struct speech_settings ss = {.espeak_voice = v->espeak_voice, .rate_wpm = v->rate_wpm,
                                 .pitch = v->pitch, .volume = v->volume};
    int rc = speech_open(&s->speech, &ss);
    if (rc) {
        char why[1024];
        speech_explain(rc, v->espeak_voice, v->path, why, sizeof why);
        fprintf(stderr, "%s\n", why);
        return EXIT_SPEECH;
    }
    rc = clipstore_init(&s->clips, s->speech, o->rate_hz);
    if (!rc && s->lengths_only) clipstore_set_lengths_only(&s->clips);
    if (rc) {
        fprintf(stderr, "coach: %s\n", coach_strerror(rc));
        return EXIT_SPEECH;
    }
    s->have_clips = true;
    enum level lv = session_level(s, o);
    struct plan_opts po = {.rate_hz = o->rate_hz, .level = lv, .announce = s->announce};
    struct clip_source src = {.intern = clip_intern, .ctx = &s->clips};
    char err[512];
    rc = plan_build(&s->routine, v, &src, &po, &s->tl, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s\n", err[0] ? err : coach_strerror(rc));
        return rc == COACH_ESPEECH ? EXIT_SPEECH : EXIT_INVALID;
    }
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
