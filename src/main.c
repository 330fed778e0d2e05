/* The coach command line: parses commands and options, turns library error
 * codes into messages for people (with file and line) and documented exit
 * statuses. No logic the tests need lives here: it calls the core library. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coach/catalog.h"
#include "coach/clips.h"
#include "coach/common.h"
#include "coach/diag.h"
#include "coach/export.h"
#include "coach/plan.h"
#include "coach/routine.h"
#include "coach/speech.h"
#include "coach/voice.h"

/* Exit statuses (documented in --help, README.md and coach(1)). */
enum {
    EXIT_OK = 0,
    EXIT_INVALID = 1,   /* a routine or voice profile has errors */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_NOTFOUND = 3,  /* routine or voice profile not found */
    EXIT_OUTPUT = 4,    /* the output file cannot be written */
    EXIT_SPEECH = 5,    /* espeak-ng cannot start or speak */
    EXIT_INTERRUPTED = 130,
};

static const char usage_text[] =
    "Usage: coach COMMAND [OPTIONS] [ROUTINE...]\n"
    "\n"
    "A voice-guided exercise coach: every instruction is spoken, holds are\n"
    "counted down and reps counted aloud, so a routine can be followed by ear.\n"
    "\n"
    "Commands:\n"
    "  export ROUTINE -o FILE   write the whole coached session to an audio file\n"
    "                           (.wav .flac .ogg .opus .mp3, chosen by extension)\n"
    "  check ROUTINE...         check routine files; every error as file:line: message\n"
    "  plan ROUTINE             show what will be said and when (--json for programs)\n"
    "  list                     list the routines found\n"
    "  help, version\n"
    "\n"
    "A ROUTINE is a file path or a name looked up in ./routines,\n"
    "$XDG_DATA_HOME/coach/routines (~/.local/share/coach/routines),\n"
    "$XDG_DATA_DIRS/coach/routines, next to the binary and the install prefix.\n"
    "Voice profiles are found the same way under voices/.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE        export: the file to write (default ROUTINE.flac)\n"
    "  -f, --format NAME        export: wav, flac, ogg, opus or mp3, whatever the extension\n"
    "  -l, --level LEVEL        easy, medium or hard: which end of a range (reps = 10-15)\n"
    "  -r, --rate HZ            output sample rate, 48000 (default) or 44100\n"
    "  -c, --channels N         1 (mono, default) or 2 (stereo)\n"
    "  -j, --json               plan: print JSON\n"
    "  -q, --quiet              no progress or summary messages\n"
    "  -h, --help               this help\n"
    "  -V, --version            the version\n"
    "\n"
    "Exit status: 0 success, 1 a routine or voice profile has errors, 2 bad\n"
    "command line, 3 routine or voice not found, 4 the output cannot be written,\n"
    "5 the speech engine (espeak-ng) failed, 130 interrupted.\n";

struct opts {
    const char *output;
    const char *format;
    const char *level;
    uint32_t rate_hz;
    uint32_t channels;
    bool json, quiet;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("coach: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'coach --help'.\n", stderr);
    return EXIT_USAGE;
}

/* Everything one routine needs from file to timeline. */
struct session {
    char *routine_path;
    struct routine routine;
    struct voice voice;
    struct speech *speech;
    struct clipstore clips;
    struct timeline tl;
    bool have_routine, have_voice, have_clips, have_tl;
};

static int clip_intern(void *ctx, const char *text, uint32_t *id, uint64_t *len)
{
    return clipstore_intern(ctx, text, id, len);
}

static void session_free(struct session *s)
{
    if (s->have_tl) timeline_free(&s->tl);
    if (s->have_clips) clipstore_free(&s->clips);
    if (s->speech) speech_close(s->speech);
    if (s->have_voice) voice_free(&s->voice);
    if (s->have_routine) routine_free(&s->routine);
    free(s->routine_path);
    memset(s, 0, sizeof *s);
}

static void print_known(enum catalog_kind kind)
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

/* Loads the routine and its voice profile. Errors are printed. */
static int session_load(struct session *s, const char *arg)
{
    int rc = catalog_find(CATALOG_ROUTINES, arg, &s->routine_path);
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
    if (rc) {
        status = rc == COACH_ENOTFOUND ? EXIT_NOTFOUND : EXIT_INVALID;
    } else {
        s->have_routine = true;
        char *vpath = NULL;
        const struct routine *r = &s->routine;
        rc = catalog_find(CATALOG_VOICES, r->voice, &vpath);
        if (rc == COACH_ENOTFOUND) {
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
            if (rc)
                status = rc == COACH_ENOTFOUND ? EXIT_NOTFOUND : EXIT_INVALID;
            else
                s->have_voice = true;
        }
        free(vpath);
    }
    diags_sort(&d);
    diags_print(&d, stderr);
    diags_free(&d);
    return status;
}

/* Starts espeak-ng and plans the routine at the given rate and level. */
static int session_plan(struct session *s, const struct opts *o)
{
    const struct voice *v = &s->voice;
    struct speech_settings ss = {.espeak_voice = v->espeak_voice, .rate_wpm = v->rate_wpm,
                                 .pitch = v->pitch, .volume = v->volume};
    int rc = speech_open(&s->speech, &ss);
    if (rc) {
        fprintf(stderr,
                "%s: espeak-ng cannot speak with voice '%s' (is espeak-ng-data installed, and does "
                "it have this voice? 'espeak-ng --voices' lists them)\n",
                v->path, v->espeak_voice);
        return EXIT_SPEECH;
    }
    rc = clipstore_init(&s->clips, s->speech, o->rate_hz);
    if (rc) {
        fprintf(stderr, "coach: %s\n", coach_strerror(rc));
        return EXIT_SPEECH;
    }
    s->have_clips = true;
    enum level lv = s->routine.level;
    if (o->level) level_parse(o->level, &lv);
    struct plan_opts po = {.rate_hz = o->rate_hz, .level = lv};
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

static void fmt_duration(char *buf, size_t cap, uint64_t frames, uint32_t rate_hz)
{
    uint64_t s = (frames + rate_hz / 2) / rate_hz;
    if (s >= 3600)
        snprintf(buf, cap, "%u h %u min %u s", (unsigned)(s / 3600), (unsigned)(s / 60 % 60),
                 (unsigned)(s % 60));
    else
        snprintf(buf, cap, "%u min %u s", (unsigned)(s / 60), (unsigned)(s % 60));
}

static int cmd_check(int argc, char **argv, const struct opts *o)
{
    if (argc < 1) return usage_error("%s", "check needs at least one routine");
    int worst = EXIT_OK;
    for (int i = 0; i < argc; i++) {
        struct session s = {0};
        int st = session_load(&s, argv[i]);
        if (!st) st = session_plan(&s, o);
        if (!st && !o->quiet) {
            char d[64];
            fmt_duration(d, sizeof d, s.tl.len_frames, s.tl.rate_hz);
            printf("%s: ok, %zu steps, %s\n", s.routine_path, s.routine.n_steps, d);
        }
        if (st > worst || (worst == EXIT_OK && st)) worst = st;
        session_free(&s);
        if (interrupted) return EXIT_INTERRUPTED;
    }
    return worst;
}

static int cmd_plan(int argc, char **argv, const struct opts *o)
{
    if (argc != 1) return usage_error("%s", "plan needs exactly one routine");
    struct session s = {0};
    int st = session_load(&s, argv[0]);
    if (!st) st = session_plan(&s, o);
    if (!st) {
        if (o->json)
            plan_dump_json(&s.tl, &s.routine, stdout);
        else
            plan_dump_text(&s.tl, &s.routine, stdout);
        if (fflush(stdout) || ferror(stdout)) {
            fprintf(stderr, "coach: cannot write the plan: %s\n", strerror(errno));
            st = EXIT_OUTPUT;
        }
    }
    session_free(&s);
    return st;
}

static int cmd_list(int argc, const struct opts *o)
{
    (void)o;
    if (argc) return usage_error("%s", "list takes no arguments");
    char **names, **paths;
    size_t n;
    if (catalog_list(CATALOG_ROUTINES, &names, &paths, &n)) return EXIT_INVALID;
    if (!n) {
        printf("No routines found. Searched:\n");
        char **dirs;
        size_t nd;
        if (!catalog_dirs(CATALOG_ROUTINES, &dirs, &nd)) {
            for (size_t i = 0; i < nd; i++) printf("  %s\n", dirs[i]);
            catalog_strv_free(dirs, nd);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct routine r;
        struct coach_diags d;
        diags_init(&d);
        if (routine_load(paths[i], &r, &d) == 0) {
            printf("%s: %s, %zu exercises (%s)\n", names[i], r.title, routine_count_moves(&r), paths[i]);
            routine_free(&r);
        } else {
            printf("%s: has errors, see 'coach check %s' (%s)\n", names[i], paths[i], paths[i]);
        }
        diags_free(&d);
    }
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    return EXIT_OK;
}

struct progress {
    const char *name;
    int last_pct;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct progress *p = ctx;
    int pct = total ? (int)(done * 100 / total) : 100;
    if (pct == p->last_pct) return;
    p->last_pct = pct;
    int width = 30, fill = pct * width / 100;
    fprintf(stderr, "\r%s [%.*s%*s] %3d%%", p->name, fill, "##############################",
            width - fill, "", pct);
    if (done >= total) fputc('\n', stderr);
}

static char *default_output(const struct session *s)
{
    const char *b = strrchr(s->routine_path, '/');
    b = b ? b + 1 : s->routine_path;
    size_t n = strlen(b);
    if (n > 4 && strcmp(b + n - 4, ".ini") == 0) n -= 4;
    return coach_asprintf("%.*s.flac", (int)n, b);
}

static int cmd_export(int argc, char **argv, const struct opts *o)
{
    if (argc != 1) return usage_error("%s", "export needs exactly one routine (and -o FILE)");
    enum export_format fmt = EXPORT_UNKNOWN;
    if (o->format && (fmt = export_format_from_name(o->format)) == EXPORT_UNKNOWN)
        return usage_error("unknown format '%s' (use wav, flac, ogg, opus or mp3)", o->format);
    if (o->output && !o->format && (fmt = export_format_from_path(o->output)) == EXPORT_UNKNOWN)
        return usage_error("cannot tell the format of '%s' from its extension (use .wav, .flac, "
                           ".ogg, .opus or .mp3, or --format)",
                           o->output);
    struct session s = {0};
    int st = session_load(&s, argv[0]);
    if (!st) st = session_plan(&s, o);
    char *out = NULL;
    if (!st) {
        out = o->output ? coach_strdup(o->output) : default_output(&s);
        if (!o->output && !o->format) fmt = EXPORT_FLAC;
    }
    if (!st && out) {
        struct progress pr = {.name = out, .last_pct = -1};
        bool show = !o->quiet && isatty(STDERR_FILENO);
        struct export_opts eo = {.format = fmt, .channels = o->channels, .title = s.routine.title,
                                 .artist = "coach", .comment = s.routine.summary,
                                 .progress = show ? on_progress : NULL, .progress_ctx = &pr,
                                 .cancel = &interrupted};
        char err[512] = "";
        int rc = export_timeline(&s.tl, &s.clips, out, &eo, err, sizeof err);
        if (rc == COACH_EINTR) {
            if (show) fputc('\n', stderr);
            fprintf(stderr, "coach: interrupted; %s was not written\n", out);
            st = EXIT_INTERRUPTED;
        } else if (rc) {
            if (show) fputc('\n', stderr);
            fprintf(stderr, "%s: %s\n", out, err[0] ? err : coach_strerror(rc));
            st = rc == COACH_ESPEECH ? EXIT_SPEECH : EXIT_OUTPUT;
        } else if (!o->quiet) {
            char d[64];
            fmt_duration(d, sizeof d, s.tl.len_frames, s.tl.rate_hz);
            printf("Wrote %s: %s, %s, %u Hz, %s.\n", out, d, export_format_name(fmt), o->rate_hz,
                   o->channels == 2 ? "stereo" : "mono");
        }
    }
    free(out);
    session_free(&s);
    return st;
}

int main(int argc, char **argv)
{
    struct opts o = {.rate_hz = 48000, .channels = 1};
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"format", required_argument, 0, 'f'},
        {"level", required_argument, 0, 'l'},  {"rate", required_argument, 0, 'r'},
        {"channels", required_argument, 0, 'c'}, {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},      {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:f:l:r:c:jqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.output = optarg; break;
        case 'f': o.format = optarg; break;
        case 'l': {
            enum level lv;
            if (level_parse(optarg, &lv)) return usage_error("unknown level '%s' (use easy, medium or hard)", optarg);
            o.level = optarg;
            break;
        }
        case 'r':
            if (strcmp(optarg, "48000") == 0)
                o.rate_hz = 48000;
            else if (strcmp(optarg, "44100") == 0)
                o.rate_hz = 44100;
            else
                return usage_error("unsupported rate '%s' (use 48000 or 44100)", optarg);
            break;
        case 'c':
            if (strcmp(optarg, "1") && strcmp(optarg, "2"))
                return usage_error("channels must be 1 or 2, not '%s'", optarg);
            o.channels = (uint32_t)atoi(optarg);
            break;
        case 'j': o.json = true; break;
        case 'q': o.quiet = true; break;
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        case 'V': printf("coach %s\n", COACH_VERSION); return EXIT_OK;
        default:
            if (optopt && strchr("oflrc", optopt))
                return usage_error("option '-%s' needs a value", (char[]){(char)optopt, 0});
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    int n = argc - optind - 1;
    char **args = argv + optind + 1;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (strcmp(cmd, "export") == 0) return cmd_export(n, args, &o);
    if (strcmp(cmd, "check") == 0) return cmd_check(n, args, &o);
    if (strcmp(cmd, "plan") == 0) return cmd_plan(n, args, &o);
    if (strcmp(cmd, "list") == 0) return cmd_list(n, &o);
    if (strcmp(cmd, "help") == 0) return fputs(usage_text, stdout), EXIT_OK;
    if (strcmp(cmd, "version") == 0) return printf("coach %s\n", COACH_VERSION), EXIT_OK;
    return usage_error("unknown command '%s'", cmd);
}
