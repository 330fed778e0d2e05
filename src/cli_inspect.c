/* The commands that look without playing: check (every error of every
 * routine given), plan (what will be said and when), list (the routines
 * found) and voices (the profiles and every engine's voices).
 * Plain lines, one thing a line, for screen readers. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "cli.h"
#include "coach/common.h"
#include "coach/diag.h"
#include "coach/textsafe.h"

/* A checked session's verdict: "name: ok, 5 exercises, 14 min 2 s" (a
 * sequence named "warm-up + core-strength"), or with --strict its
 * warnings as errors (strict: the files' own, not counted again for a
 * whole they make). Returns st, or the status that failed it. */
static int verdict(const struct session *s, int st, const struct opts *o, bool strict)
{
    char path[512] = "";
    if (s->routine_path) text_safe(path, sizeof path, s->routine_path);
    for (size_t k = 0; k < s->n_parts; k++) { /* a sequence: "warm-up + core-strength" */
        size_t used = k ? strlen(path) : 0;
        char name[256];
        snprintf(path + used, sizeof path - used, "%s%s", k ? " + " : "",
                 text_safe(name, sizeof name, s->part_names[k]));
    }
    if (!st && strict && o->strict && s->routine_warnings) {
        fprintf(stderr, "%s: %zu warning%s, errors with --strict\n", path, s->routine_warnings,
                s->routine_warnings == 1 ? "" : "s");
        st = EXIT_INVALID;
    }
    if (!st && !o->quiet) {
        char d[64];
        fmt_duration(d, sizeof d, s->tl.len_frames, s->tl.rate_hz);
        size_t n = routine_count_moves(&s->routine);
        printf("%s: ok, %zu exercise%s, %s", path, n, n == 1 ? "" : "s", d);
        if (strict && s->routine_warnings)
            printf(", %zu warning%s", s->routine_warnings, s->routine_warnings == 1 ? "" : "s");
        putchar('\n');
    }
    return st;
}

int cmd_check(int argc, char **argv, const struct opts *o)
{
    if (argc < 1) return usage_error("%s", "check needs at least one routine");
    int worst = EXIT_OK;
    for (int i = 0; i < argc; i++) {
        struct session s;
        int st = cli_session_open(&s, argv[i], o, CLIPS_LENGTHS);
        /* the timing is checked even when warnings will fail the file */
        if (!st) st = cli_session_plan(&s);
        st = verdict(&s, st, o, true);
        if (st > worst || (worst == EXIT_OK && st)) worst = st;
        session_free(&s);
        if (interrupted) return EXIT_INTERRUPTED;
    }
    if (argc < 2 || worst) return worst; /* the whole would fail on the files' errors first */
    /* then as play takes them, one session: one voice for all, the
     * before/after routines (--with-warm-up), the joined plan's timing */
    struct session s;
    struct session_opts so = cli_session_opts(o, argv[0], CLIPS_LENGTHS);
    so.routines = (const char *const *)argv;
    so.n_routines = (size_t)argc;
    int st = cli_session_open_errors(&s, &so, o);
    if (!st) st = cli_session_plan(&s);
    st = verdict(&s, st, o, false);
    session_free(&s);
    return interrupted ? EXIT_INTERRUPTED : st;
}

int cmd_plan(int argc, char **argv, const struct opts *o)
{
    if (argc < 1) return usage_error("%s", "plan needs a routine (or several, played as one session)");
    struct session s;
    int st = cli_session_open_many(&s, argc, argv, o, CLIPS_LENGTHS);
    if (!st) st = cli_session_plan(&s);
    if (!st) {
        if (o->json)
            plan_dump_json(&s.tl, &s.clips, &s.routine, stdout);
        else
            plan_dump_text(&s.tl, &s.clips, &s.routine, stdout);
        if (fflush(stdout) || ferror(stdout)) {
            fprintf(stderr, "coach: cannot write the plan: %s\n", strerror(errno));
            st = EXIT_OUTPUT;
        }
    }
    session_free(&s);
    return st;
}

int cmd_list(int argc, const struct opts *o)
{
    (void)o;
    if (argc) return usage_error("%s", "list takes no arguments");
    char **names, **paths;
    size_t n;
    if (catalog_list_checked(CATALOG_ROUTINES, &names, &paths, &n, warn_skipped, NULL)) {
        fputs("coach: out of memory\n", stderr);
        return EXIT_INVALID;
    }
    if (!n) {
        printf("No routines found. Searched:\n");
        char **dirs;
        size_t nd;
        if (!catalog_dirs(CATALOG_ROUTINES, &dirs, &nd)) {
            for (size_t i = 0; i < nd; i++) {
                char dir[512];
                printf("  %s\n", text_safe(dir, sizeof dir, dirs[i]));
            }
            catalog_strv_free(dirs, nd);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct routine r;
        struct coach_diags d;
        diags_init(&d);
        /* names and paths come from a directory listing: any bytes at all */
        char name[256], path[512];
        text_safe(name, sizeof name, names[i]);
        text_safe(path, sizeof path, paths[i]);
        if (routine_load(paths[i], &r, &d) == 0) {
            size_t moves = routine_count_moves(&r);
            printf("%s: %s, %zu exercise%s (%s)\n", name, r.title, moves, moves == 1 ? "" : "s",
                   path);
            routine_free(&r);
        } else {
            printf("%s: has errors, see 'coach check %s' (%s)\n", name, path, path);
        }
        diags_free(&d);
    }
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    return EXIT_OK;
}

/* One engine's voices, in the part of the listing chosen by mbrola. */
struct voice_list {
    bool mbrola; /* espeak-ng's MBROLA voices (true) or its own (false) */
};

static int list_voice(void *ctx, const struct speech_voice_info *v)
{
    const struct voice_list *l = ctx;
    bool mb = strncmp(v->name, "mb-", 3) == 0;
    if (mb != l->mbrola) return 0;
    /* the language only where the name does not say it already */
    bool lang = strcmp(v->name, v->language) != 0;
    printf("  %s: %s%s%s", v->name, lang ? v->language : "", lang && *v->about ? ", " : "",
           v->about);
    if (!v->available) printf("; not installed: sudo apt-get install %s", v->packages);
    putchar('\n');
    return 0;
}

/* Voice profiles first (what --voice and 'voice =' take), then every
 * engine's voices (what a profile's 'voice =' takes), installed or with
 * the packages that add them: one plain line each, for screen readers. */
int cmd_voices(int argc)
{
    if (argc) return usage_error("%s", "voices takes no arguments");
    char **names, **paths;
    size_t n;
    if (catalog_list_checked(CATALOG_VOICES, &names, &paths, &n, warn_skipped, NULL)) {
        fputs("coach: out of memory\n", stderr);
        return EXIT_INVALID;
    }
    printf(n ? "Voice profiles (for --voice, or 'voice =' in a routine):\n"
             : "No voice profiles found.\n");
    for (size_t i = 0; i < n; i++) {
        struct voice v;
        struct coach_diags d;
        diags_init(&d);
        char name[256], path[512];
        text_safe(name, sizeof name, names[i]);
        text_safe(path, sizeof path, paths[i]);
        if (voice_load(paths[i], &v, &d) == 0) {
            char lang[64], packages[160];
            voice_language(&v, lang, sizeof lang);
            bool ok = speech_voice_available(v.engine, v.espeak_voice, packages, sizeof packages);
            printf("  %s: %s voice %s, language %s, rate %d, pitch %d, volume %d, %s%s%s (%s)\n",
                   name, speech_engine_name(v.engine), v.espeak_voice, lang, v.rate_wpm, v.pitch,
                   v.volume, ok ? "available" : "not installed",
                   !ok && *packages ? ": sudo apt-get install " : "", ok ? "" : packages, path);
            voice_free(&v);
        } else {
            printf("  %s: has errors (%s)\n", name, path);
        }
        diags_free(&d);
    }
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);

    printf("\nespeak-ng voices installed (engine = espeak-ng, the default: 'voice =' or "
           "'espeak =' in a voice profile):\n");
    fflush(stdout);
    struct voice_list own = {false}, mb = {true};
    int rc = speech_list_voices(SPEECH_ESPEAK, list_voice, &own);
    if (rc) { /* its data missing, or a limit (ulimit -v, -n): named */
        char why[512];
        speech_explain(rc, "en-us", "", why, sizeof why);
        fprintf(stderr, "%s\n", why);
        return EXIT_SPEECH;
    }
    printf("\nespeak-ng's MBROLA voices (engine = espeak-ng; each needs the program mbrola and "
           "its voice, Debian contrib/non-free):\n");
    speech_list_voices(SPEECH_ESPEAK, list_voice, &mb);
    printf("\nflite voices (engine = flite, US English only):\n");
    speech_list_voices(SPEECH_FLITE, list_voice, &own);
    return fflush(stdout) || ferror(stdout) ? EXIT_OUTPUT : EXIT_OK;
}
