/* The coach command line: parses commands and options, turns library error
 * codes into messages for people (with file and line) and documented exit
 * statuses. No logic the tests need lives here: it calls the core library. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <espeak-ng/speak_lib.h>

#include "coach/captions.h"
#include "coach/catalog.h"
#include "coach/chapters.h"
#include "coach/clips.h"
#include "coach/common.h"
#include "coach/control.h"
#include "coach/ctlsock.h"
#include "coach/diag.h"
#include "coach/export.h"
#include "coach/feeder.h"
#include "coach/history.h"
#include "coach/live.h"
#include "coach/menu.h"
#include "coach/music.h"
#include "coach/plan.h"
#include "coach/position.h"
#include "coach/progress.h"
#include "coach/sink_portaudio.h"
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
    EXIT_NODEVICE = 6,  /* no audio device, or it cannot be opened */
    EXIT_LOST = 7,      /* the audio device was lost mid-routine */
    EXIT_INTERRUPTED = 130, /* SIGINT */
    EXIT_TERMINATED = 143,  /* SIGTERM */
};

static const char usage_text[] =
    "Usage: coach COMMAND [OPTIONS] [ROUTINE...]\n"
    "\n"
    "A voice-guided exercise coach: every instruction is spoken, holds are\n"
    "counted down and reps counted aloud, so a routine can be followed by ear.\n"
    "\n"
    "Commands:\n"
    "  play ROUTINE             coach a routine live through the sound device\n"
    "  menu                     choose a routine by ear, then play it: n or space next,\n"
    "                           b previous, d details, r repeat, Enter start, q quit\n"
    "                           (ctl: next back where repeat toggle stop)\n"
    "  export ROUTINE -o FILE   write the whole coached session to an audio file\n"
    "                           (.wav .flac .ogg .opus .mp3, chosen by extension)\n"
    "  export --all DIR         export every routine found to DIR/NAME.flac (or --format),\n"
    "                           with DIR/NAME.vtt captions and DIR/NAME.json chapters\n"
    "  check ROUTINE...         check routine files; every error as file:line: message\n"
    "  plan ROUTINE             show what will be said and when (--json for programs)\n"
    "  list                     list the routines found\n"
    "  devices                  list the audio output devices\n"
    "  ctl WORD                 steer a playing coach: pause resume toggle next back\n"
    "                           repeat where louder softer stop\n"
    "  history                  the sessions played so far\n"
    "  voices                   list the voice profiles and the espeak-ng voices installed\n"
    "  help, version\n"
    "\n"
    "Keys while playing (no Enter needed): space pause/resume, n next step, b back to\n"
    "the start of the step, r repeat the last instruction, + / - volume, ? or w\n"
    "where am I, q quit. Without a terminal: SIGUSR1 pause/resume, SIGUSR2 next,\n"
    "and 'coach ctl WORD' through the control socket.\n"
    "\n"
    "A ROUTINE is a file path or a name looked up in ./routines,\n"
    "$XDG_DATA_HOME/coach/routines (~/.local/share/coach/routines),\n"
    "$XDG_DATA_DIRS/coach/routines, next to the binary and the install prefix.\n"
    "Voice profiles are found the same way under voices/.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE        export: the file to write (default ROUTINE.flac)\n"
    "  -f, --format NAME        export: wav, flac, ogg, opus or mp3, whatever the extension\n"
    "      --captions FILE      export: also write every spoken phrase as captions\n"
    "                           (.vtt WebVTT or .srt SubRip, chosen by extension)\n"
    "      --chapters FILE      export: also write a chapter list, one per step (.cue CUE\n"
    "                           sheet, .json Podcasting 2.0, .txt ffmetadata); a .wav\n"
    "                           always carries them as cue points\n"
    "  -l, --level LEVEL        easy, medium or hard: which end of a range (reps = 10-15)\n"
    "      --music FILE|DIR     play, export: music under the voice (any format\n"
    "                           libsndfile reads; a folder plays in name order), looped\n"
    "                           and ducked 12 dB under speech\n"
    "      --progress           play, export: one level up (from the routine's level or\n"
    "                           --level) for every 3 full completions in a row in the\n"
    "                           history, up to hard; said at the start\n"
    "      --voice NAME         the voice profile (name or path) instead of the routine's\n"
    "      --speech-rate WPM    speaking rate, 80-450 words per minute\n"
    "      --pitch N            voice pitch, 0-100 (50 normal)\n"
    "      --speech-volume N    voice volume, 0-200 (100 normal); also --volume\n"
    "  -r, --rate HZ            output sample rate, 48000 (default) or 44100\n"
    "  -c, --channels N         1 (mono, default) or 2 (stereo)\n"
    "  -j, --json               plan: print JSON\n"
    "  -d, --device DEV         play: output device, by index or part of its name\n"
    "      --latency MS         play: output latency (default: the device's, at least 100)\n"
    "  -s, --socket PATH        play, menu, ctl: control socket (default\n"
    "                           $XDG_RUNTIME_DIR/coach/control.sock)\n"
    "  -q, --quiet              no progress or summary messages\n"
    "  -h, --help               this help\n"
    "  -V, --version            the version\n"
    "\n"
    "Exit status: 0 success, 1 a routine or voice profile has errors, 2 bad\n"
    "command line, 3 routine or voice not found (ctl: no coach playing), 4 the\n"
    "output cannot be written, 5 the speech engine (espeak-ng) failed, 6 no audio\n"
    "device (or it cannot be opened), 7 the audio device was lost while playing,\n"
    "130 interrupted (SIGINT), 143 terminated (SIGTERM).\n";

struct opts {
    const char *device;
    const char *socket;
    double latency_ms;
    const char *output;
    const char *format;
    const char *captions; /* export: captions sidecar (.vtt / .srt) */
    const char *chapters; /* export: chapter list sidecar (.cue / .json / .txt) */
    const char *level;
    const char *voice;    /* --voice: profile instead of the routine's */
    int speech_rate, pitch, speech_volume; /* profile overrides; -1 = the profile's */
    const char *all_dir;  /* export --all DIR */
    bool progress;        /* --progress: level from the history */
    const char *music;    /* --music FILE|DIR: a bed under the voice */
    uint32_t rate_hz;
    uint32_t channels;
    bool json, quiet;
};

static volatile sig_atomic_t interrupted;

/* --music: loads the bed at the output rate; the exit status on failure. */
static int load_music(const struct opts *o, uint32_t rate_hz, struct music *m, bool *loaded)
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
static volatile sig_atomic_t terminated;
static int signal_pipe[2] = {-1, -1}; /* play: signals reach the control loop here */

static void on_signal(int sig)
{
    if (sig == SIGINT || sig == SIGTERM) interrupted = 1;
    if (sig == SIGTERM) terminated = 1;
    if (signal_pipe[1] >= 0) {
        unsigned char c = (unsigned char)sig;
        int saved = errno;
        (void)!write(signal_pipe[1], &c, 1);
        errno = saved;
    }
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
    char *announce;       /* --progress sentence said after the title, or NULL */
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
    free(s->announce);
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

static const char *routine_name(const char *path, char *buf, size_t cap)
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
static int session_load(struct session *s, const char *arg, const struct opts *o)
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
                status = rc == COACH_ENOTFOUND ? EXIT_NOTFOUND : EXIT_INVALID;
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
    return status;
}

/* The session's level: --level or the routine's, moved up by --progress
 * (progress.h has the rule). The decision goes to stderr and, when the
 * streak moved (or would move) the level, into s->announce, said after the
 * title. A history that cannot be read only costs the progression. */
static enum level session_level(struct session *s, const struct opts *o)
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
        int st = session_load(&s, argv[i], o);
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
    int st = session_load(&s, argv[0], o);
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

/* Sidecar failures are printed here; each returns an exit status. */
static int sidecar_open(struct export_sidecar *sc, const char *path)
{
    char err[512] = "";
    if (export_sidecar_open(sc, path, err, sizeof err) == 0) return EXIT_OK;
    fprintf(stderr, "%s: %s\n", path, err);
    return EXIT_OUTPUT;
}

static int sidecar_close(struct export_sidecar *sc, int write_rc)
{
    char err[512] = "";
    int rc = write_rc ? write_rc : export_sidecar_close(sc, err, sizeof err);
    if (rc == 0) return EXIT_OK;
    fprintf(stderr, "%s: %s\n", sc->path,
            err[0] ? err : rc == COACH_EIO ? strerror(errno) : coach_strerror(rc));
    return EXIT_OUTPUT;
}

static int export_all(int argc, const struct opts *o);

static int cmd_export(int argc, char **argv, const struct opts *o)
{
    if (o->all_dir) return export_all(argc, o);
    if (argc != 1) return usage_error("%s", "export needs exactly one routine (and -o FILE)");
    enum export_format fmt = EXPORT_UNKNOWN;
    if (o->format && (fmt = export_format_from_name(o->format)) == EXPORT_UNKNOWN)
        return usage_error("unknown format '%s' (use wav, flac, ogg, opus or mp3)", o->format);
    if (o->output && !o->format && (fmt = export_format_from_path(o->output)) == EXPORT_UNKNOWN)
        return usage_error("cannot tell the format of '%s' from its extension (use .wav, .flac, "
                           ".ogg, .opus or .mp3, or --format)",
                           o->output);
    enum captions_format cap_fmt = captions_format_from_path(o->captions);
    if (o->captions && cap_fmt == CAPTIONS_UNKNOWN)
        return usage_error("cannot tell the captions format of '%s' from its extension (use .vtt "
                           "or .srt)",
                           o->captions);
    enum chapters_format chap_fmt = chapters_format_from_path(o->chapters);
    if (o->chapters && chap_fmt == CHAPTERS_UNKNOWN)
        return usage_error("cannot tell the chapter list format of '%s' from its extension (use "
                           ".cue, .json or .txt)",
                           o->chapters);
    struct session s = {0};
    int st = session_load(&s, argv[0], o);
    if (!st) st = session_plan(&s, o);
    char *out = NULL;
    if (!st) {
        out = o->output ? coach_strdup(o->output) : default_output(&s);
        if (!o->output && !o->format) fmt = EXPORT_FLAC;
        if (!out) {
            fputs("coach: out of memory\n", stderr);
            st = EXIT_OUTPUT;
        }
    }
    /* Sidecars are written (and synced) into temporary files first and
     * renamed only after the audio is in place: a failure changes no file. */
    struct export_sidecar cap = {0}, chap = {0};
    size_t n_speech = 0;
    for (size_t i = 0; !st && i < s.tl.n_ev; i++) n_speech += s.tl.ev[i].kind == EV_SPEECH;
    if (!st && o->captions && !(st = sidecar_open(&cap, o->captions)))
        st = sidecar_close(&cap, captions_write(&s.tl, cap_fmt, s.routine.title, cap.f));
    if (!st && o->chapters && !(st = sidecar_open(&chap, o->chapters))) {
        char *ref = chapters_audio_ref(o->chapters, out);
        st = sidecar_close(&chap, ref ? chapters_write(&s.tl, chap_fmt, s.routine.title, ref,
                                                       chap.f)
                                      : COACH_ENOMEM);
        free(ref);
    }
    struct music music;
    bool have_music = false;
    if (!st) st = load_music(o, o->rate_hz, &music, &have_music);
    if (!st) {
        struct progress pr = {.name = out, .last_pct = -1};
        bool show = !o->quiet && isatty(STDERR_FILENO);
        struct export_opts eo = {.format = fmt, .channels = o->channels, .title = s.routine.title,
                                 .artist = "coach", .comment = s.routine.summary,
                                 .progress = show ? on_progress : NULL, .progress_ctx = &pr,
                                 .cancel = &interrupted, .music = have_music ? &music : NULL};
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
    for (int k = 0; !st && k < 2; k++) { /* the audio is in place: now the sidecars */
        struct export_sidecar *sc = k ? &chap : &cap;
        if (!sc->tmp) continue;
        char err[512] = "";
        char *path = coach_strdup(sc->path);
        if (export_sidecar_commit(sc, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", path ? path : "sidecar", err);
            st = EXIT_OUTPUT;
        } else if (!o->quiet) {
            if (k)
                printf("Wrote %s: %zu chapters.\n", path, s.tl.n_ch);
            else
                printf("Wrote %s: %zu captions.\n", path, n_speech);
        }
        free(path);
    }
    export_sidecar_discard(&cap); /* after a failure: remove the temporary files */
    export_sidecar_discard(&chap);
    if (have_music) music_free(&music);
    free(out);
    session_free(&s);
    return st;
}

/* export --all DIR: every routine found, each in its own process (espeak-ng
 * is per-process global state), as many at once as there are processors.
 * Each child runs the single export above with the file names filled in,
 * so a batch behaves exactly like one export per routine. */
static int export_all(int argc, const struct opts *o)
{
    if (argc) return usage_error("%s", "export --all DIR exports every routine: name none");
    if (o->output || o->captions || o->chapters)
        return usage_error("%s", "export --all names its files itself (DIR/NAME.flac, .vtt, "
                                 ".json): drop -o, --captions and --chapters");
    enum export_format fmt = EXPORT_FLAC;
    if (o->format && (fmt = export_format_from_name(o->format)) == EXPORT_UNKNOWN)
        return usage_error("unknown format '%s' (use wav, flac, ogg, opus or mp3)", o->format);
    const char *dir = o->all_dir;
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "coach: cannot create %s: %s\n", dir, strerror(errno));
        return EXIT_OUTPUT;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "coach: %s is not a directory\n", dir);
        return EXIT_OUTPUT;
    }
    char **names, **paths;
    size_t n;
    if (catalog_list(CATALOG_ROUTINES, &names, &paths, &n)) {
        fputs("coach: out of memory\n", stderr);
        return EXIT_INVALID;
    }
    if (!n) {
        fputs("coach: no routines found (see 'coach list')\n", stderr);
        catalog_strv_free(names, n);
        catalog_strv_free(paths, n);
        return EXIT_NOTFOUND;
    }
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    pid_t *pids = calloc(n, sizeof *pids);
    if (!pids) {
        fputs("coach: out of memory\n", stderr);
        catalog_strv_free(names, n);
        catalog_strv_free(paths, n);
        return EXIT_OUTPUT;
    }
    int worst = EXIT_OK;
    size_t next = 0, running = 0;
    bool forwarded = false;
    for (;;) {
        while (!interrupted && running < (size_t)jobs && next < n) {
            fflush(NULL); /* nothing buffered may be written twice */
            pid_t pid = fork();
            if (pid == 0) {
                const char *ext = export_format_name(fmt);
                char *out = coach_asprintf("%s/%s.%s", dir, names[next], ext);
                char *vtt = coach_asprintf("%s/%s.vtt", dir, names[next]);
                char *json = coach_asprintf("%s/%s.json", dir, names[next]);
                if (!out || !vtt || !json) _exit(EXIT_OUTPUT);
                struct opts c = *o;
                c.all_dir = NULL;
                c.output = out;
                c.captions = vtt;
                c.chapters = json;
                c.format = ext;
                c.quiet = true; /* the parent reports; no interleaved progress bars */
                char *arg = paths[next];
                int rc = cmd_export(1, &arg, &c);
                fflush(NULL);
                _exit(rc);
            }
            if (pid < 0) {
                fprintf(stderr, "%s: failed (cannot start a process: %s)\n", names[next],
                        strerror(errno));
                worst = EXIT_OUTPUT;
                next++; /* pids[] stays 0: never waited for */
                continue;
            }
            pids[next++] = pid;
            running++;
        }
        if (!running) break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno != EINTR) break;
            if (interrupted && !forwarded) {
                /* a terminal's Ctrl-C reached them already; a kill did not */
                for (size_t i = 0; i < next; i++)
                    if (pids[i] > 0) kill(pids[i], SIGINT);
                forwarded = true;
            }
            continue;
        }
        size_t i = 0;
        while (i < next && pids[i] != pid) i++;
        if (i == next) continue; /* not ours */
        pids[i] = 0;
        running--;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code == EXIT_OK)
            printf("%s: ok\n", names[i]);
        else if (WIFEXITED(status))
            printf("%s: failed (status %d)\n", names[i], code);
        else
            printf("%s: failed (signal %d)\n", names[i], WTERMSIG(status));
        fflush(stdout);
        if (code > worst) worst = code;
    }
    free(pids);
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    return interrupted ? EXIT_INTERRUPTED : worst;
}

/* ---- listing voices ---- */

/* Voice profiles first (what --voice and 'voice =' take), then the
 * espeak-ng voices installed (what a profile's 'espeak =' takes): one
 * plain line each, for screen readers. */
static int cmd_voices(int argc)
{
    if (argc) return usage_error("%s", "voices takes no arguments");
    char **names, **paths;
    size_t n;
    if (catalog_list(CATALOG_VOICES, &names, &paths, &n)) return EXIT_INVALID;
    printf(n ? "Voice profiles (for --voice, or 'voice =' in a routine):\n"
             : "No voice profiles found.\n");
    for (size_t i = 0; i < n; i++) {
        struct voice v;
        struct coach_diags d;
        diags_init(&d);
        if (voice_load(paths[i], &v, &d) == 0) {
            printf("  %s: espeak-ng voice %s, rate %d, pitch %d, volume %d (%s)\n", names[i],
                   v.espeak_voice, v.rate_wpm, v.pitch, v.volume, paths[i]);
            voice_free(&v);
        } else {
            printf("  %s: has errors (%s)\n", names[i], paths[i]);
        }
        diags_free(&d);
    }
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);

    /* espeak_ListVoices needs an initialized espeak-ng: speech_open does it. */
    struct speech *sp = NULL;
    struct speech_settings ss = {.espeak_voice = "en-us", .rate_wpm = 165, .pitch = 50,
                                 .volume = 100};
    if (speech_open(&sp, &ss)) {
        fprintf(stderr, "coach: espeak-ng cannot start (is espeak-ng-data installed?)\n");
        return EXIT_SPEECH;
    }
    const espeak_VOICE **ev = espeak_ListVoices(NULL);
    printf("\nespeak-ng voices installed (for 'espeak =' in a voice profile):\n");
    for (size_t i = 0; ev && ev[i]; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s", ev[i]->name ? ev[i]->name : "");
        for (char *c = name; *c; c++)
            if (*c == '_') *c = ' '; /* "English_(America)" reads better spoken */
        /* languages: a priority byte, then the language name */
        const char *lang = ev[i]->languages && ev[i]->languages[0] ? ev[i]->languages + 1 : "";
        printf("  %s: %s\n", *lang ? lang : (ev[i]->identifier ? ev[i]->identifier : "?"), name);
    }
    speech_close(sp);
    return fflush(stdout) || ferror(stdout) ? EXIT_OUTPUT : EXIT_OK;
}

/* ---- live playback ---- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t launch_ns; /* when main started: "time to first sound" */

static struct termios saved_tty;
static bool tty_raw;

static void tty_restore(void)
{
    if (tty_raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    tty_raw = false;
}

/* Keys without Enter: no canonical mode, no echo. */
static void tty_keys(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty)) return;
    struct termios t = saved_tty;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
        tty_raw = true;
        atexit(tty_restore);
    }
}

struct player {
    struct session *s;
    const struct opts *o;
    struct feeder feeder;
    struct live live;
    struct pa_sink *sink;
    const struct timeline *cur; /* what the audio renders */
    enum level level;
    bool final;                 /* cur is the whole routine */
    bool paused, done, stopped, lost;
    float *overlays[64];        /* speech said over the timeline; freed at the end */
    size_t n_overlays;
    int32_t chapter_shown;      /* last chapter printed */
};

/* Handles one note from the audio thread; returns its kind. */
static int take_note(struct player *p, struct live_note *n)
{
    if (!live_poll(&p->live, n)) return -1;
    switch (n->kind) {
    case NOTE_PAUSED: p->paused = true; break;
    case NOTE_RESUMED: p->paused = false; break;
    case NOTE_ENDED: p->done = true; break;
    case NOTE_STOPPED: p->done = p->stopped = true; break;
    default: break;
    }
    return n->kind;
}

/* Waits (handling other notes) for a note of this kind; 0 if none came. */
static bool wait_note(struct player *p, int kind, int timeout_ms, uint64_t *frame)
{
    uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000u;
    struct live_note n;
    while (mono_ns() < end) {
        int k;
        while ((k = take_note(p, &n)) >= 0)
            if (k == kind) {
                if (frame) *frame = n.frame;
                return true;
            }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void send_cmd(struct player *p, struct live_cmd c)
{
    for (int i = 0; i < 100 && !live_send(&p->live, &c); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void refuse(struct player *p)
{
    send_cmd(p, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_REFUSED});
}

static uint64_t played(struct player *p)
{
    return atomic_load_explicit(&p->live.played, memory_order_acquire);
}

/* Speech over the timeline (repeat, where am I). */
static const char *overlay(struct player *p, const char *text, int32_t clip)
{
    float *pcm;
    uint64_t len;
    if (p->n_overlays == sizeof p->overlays / sizeof *p->overlays ||
        feeder_say(&p->feeder, text, clip, &pcm, &len)) {
        refuse(p);
        return "error cannot speak now";
    }
    p->overlays[p->n_overlays++] = pcm;
    send_cmd(p, (struct live_cmd){.kind = LIVE_OVERLAY, .pcm = pcm, .len_frames = len,
                                  .ack = LIVE_NO_ACK});
    return NULL;
}

/* Sends a command and answers with the frame the audio thread reports. */
static void ask(struct player *p, struct live_cmd c, int note, const char *what, char *reply,
                size_t cap)
{
    send_cmd(p, c);
    uint64_t f;
    if (wait_note(p, note, 500, &f))
        snprintf(reply, cap, "ok %s at frame %llu", what, (unsigned long long)f);
    else
        snprintf(reply, cap, "error the audio device did not answer");
}

static void seek_to(struct player *p, uint64_t target, char *reply, size_t cap, const char *what)
{
    feeder_ready_at(&p->feeder, target, 500);
    ask(p, (struct live_cmd){.kind = LIVE_SEEK, .frame = target, .ack = ACK_SEEK}, NOTE_SEEKED,
        what, reply, cap);
}

/* Carries out a command; reply is what `coach ctl` prints. */
static void do_cmd(struct player *p, enum ctl_cmd c, char *reply, size_t cap)
{
    if (c == CTL_TOGGLE) c = p->paused ? CTL_RESUME : CTL_PAUSE;
    switch (c) {
    case CTL_PAUSE:
        if (p->paused) {
            snprintf(reply, cap, "ok already paused at frame %llu", (unsigned long long)played(p));
            break;
        }
        ask(p, (struct live_cmd){.kind = LIVE_PAUSE, .ack = ACK_PAUSE}, NOTE_PAUSED, "paused",
            reply, cap);
        break;
    case CTL_RESUME:
        if (!p->paused) {
            snprintf(reply, cap, "ok already playing at frame %llu", (unsigned long long)played(p));
            break;
        }
        ask(p, (struct live_cmd){.kind = LIVE_RESUME, .ack = ACK_RESUME}, NOTE_RESUMED, "resumed",
            reply, cap);
        break;
    case CTL_NEXT: {
        uint64_t t = position_next_chapter(p->cur, played(p));
        if (t == UINT64_MAX || (!p->final && t >= p->cur->len_frames)) {
            refuse(p);
            snprintf(reply, cap, "error this is the last step");
            break;
        }
        seek_to(p, t, reply, cap, "next step");
        break;
    }
    case CTL_BACK:
        seek_to(p, position_chapter_start(p->cur, played(p)), reply, cap, "back");
        break;
    case CTL_REPEAT: {
        int32_t clip = position_last_instruction(p->cur, played(p));
        const char *e = clip < 0 ? "error nothing to repeat yet" : overlay(p, NULL, clip);
        if (clip < 0) refuse(p);
        snprintf(reply, cap, "%s", e ? e : "ok repeating");
        break;
    }
    case CTL_WHERE: {
        char *text = position_where(p->cur, &p->s->routine, &p->s->voice, p->level, played(p));
        const char *e = text ? overlay(p, text, -1) : "error out of memory";
        snprintf(reply, cap, "%s%s", e ? e : "ok ", e ? "" : text);
        free(text);
        break;
    }
    case CTL_VOLUME_UP:
    case CTL_VOLUME_DOWN: {
        float v = atomic_load(&p->live.r.volume) * (c == CTL_VOLUME_UP ? 1.25f : 0.8f);
        if (v > 2.0f) v = 2.0f; /* the renderer's limiter keeps it below full scale */
        if (v < 0.05f) v = 0.05f;
        atomic_store(&p->live.r.volume, v);
        send_cmd(p, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_VOLUME});
        snprintf(reply, cap, "ok volume %d%%", (int)(v * 100.0f + 0.5f));
        break;
    }
    case CTL_STOP:
        send_cmd(p, (struct live_cmd){.kind = LIVE_STOP, .ack = ACK_PAUSE});
        wait_note(p, NOTE_STOPPED, 500, NULL);
        p->done = p->stopped = true;
        snprintf(reply, cap, "ok stopped at frame %llu", (unsigned long long)played(p));
        break;
    default:
        refuse(p);
        snprintf(reply, cap, "error unknown command (use %s)", ctl_words_help());
        break;
    }
}

/* Prints the step being heard when it changes: plain lines, no cursor tricks. */
static void show_chapter(struct player *p)
{
    uint64_t pos = played(p);
    int32_t k = -1;
    for (size_t i = 0; i < p->cur->n_ch && p->cur->ch[i].frame <= pos; i++) k = (int32_t)i;
    if (k < 0 || k == p->chapter_shown) return;
    p->chapter_shown = k;
    if (p->o->quiet) return;
    char d[64];
    fmt_duration(d, sizeof d, p->cur->ch[k].frame, p->cur->rate_hz);
    printf("%s (at %s)\n", p->cur->ch[k].title, d);
    fflush(stdout);
}

static void swap_in(struct player *p)
{
    const struct timeline *tl;
    bool final;
    while ((tl = feeder_take(&p->feeder, &final))) {
        send_cmd(p, (struct live_cmd){.kind = LIVE_SWAP, .tl = tl, .final = final,
                                      .ack = LIVE_NO_ACK});
        feeder_set_current(&p->feeder, tl);
        p->cur = tl;
        p->final = final;
    }
}

static int control_loop(struct player *p, int ctl_fd)
{
    uint64_t last_epoch = 0, still_since = mono_ns();
    while (!p->done) {
        struct pollfd fds[4];
        int n = 0, i_key = -1, i_ctl = -1;
        fds[n++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = p->feeder.wake_fd[0], .events = POLLIN};
        if (tty_raw) i_key = n, fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        if (ctl_fd >= 0) i_ctl = n, fds[n++] = (struct pollfd){.fd = ctl_fd, .events = POLLIN};
        poll(fds, (nfds_t)n, 50);
        char reply[1024];
        if (fds[0].revents & POLLIN) {
            unsigned char sig[16];
            ssize_t got = read(signal_pipe[0], sig, sizeof sig);
            for (ssize_t i = 0; i < got; i++) {
                if (sig[i] == SIGINT || sig[i] == SIGTERM) {
                    do_cmd(p, CTL_STOP, reply, sizeof reply);
                    return sig[i] == SIGINT ? EXIT_INTERRUPTED : EXIT_TERMINATED;
                }
                do_cmd(p, sig[i] == SIGUSR1 ? CTL_TOGGLE : CTL_NEXT, reply, sizeof reply);
            }
        }
        if (fds[1].revents & POLLIN) {
            char junk[16];
            (void)!read(p->feeder.wake_fd[0], junk, sizeof junk);
            swap_in(p);
            if (p->feeder.rc) {
                fprintf(stderr, "%s\n", p->feeder.err);
                do_cmd(p, CTL_STOP, reply, sizeof reply);
                return p->feeder.rc == COACH_ESPEECH ? EXIT_SPEECH : EXIT_INVALID;
            }
        }
        if (i_key >= 0 && (fds[i_key].revents & POLLIN)) {
            char keys[16];
            ssize_t got = read(STDIN_FILENO, keys, sizeof keys);
            for (ssize_t i = 0; i < got; i++) {
                enum ctl_cmd c = ctl_from_key((unsigned char)keys[i]);
                if (c != CTL_NONE) do_cmd(p, c, reply, sizeof reply);
            }
        }
        if (i_ctl >= 0 && (fds[i_ctl].revents & POLLIN)) {
            char line[256];
            int conn = ctlsock_accept(ctl_fd, line, sizeof line);
            if (conn >= 0) {
                enum ctl_cmd c = ctl_from_word(line);
                if (c == CTL_NONE)
                    snprintf(reply, sizeof reply, "error unknown command '%.60s' (use %s)", line,
                             ctl_words_help());
                else
                    do_cmd(p, c, reply, sizeof reply);
                ctlsock_reply(conn, reply);
            }
        }
        struct live_note note;
        while (take_note(p, &note) >= 0) {
        }
        show_chapter(p);
        /* a device that stops calling back is gone (unplugged, server died) */
        uint64_t e = atomic_load(&p->live.epoch), now = mono_ns();
        if (e != last_epoch) {
            last_epoch = e;
            still_since = now;
        }
        if (!p->done && (!pa_sink_active(p->sink) || now - still_since > 3000000000u)) {
            p->lost = true;
            return EXIT_LOST;
        }
    }
    return EXIT_OK;
}

/* PortAudio's ALSA back-end prints "Expression ... failed" lines from its
 * own thread when a device misbehaves, and ALSA/JACK print while probing;
 * their hooks are set (sink_portaudio.c) but PortAudio's debug print is not
 * exported. So while a device is in use fd 2 goes through a pipe, and this
 * thread passes on our own lines and drops theirs. */
static int noise_real_fd = -1, noise_pipe[2] = {-1, -1};
static pthread_t noise_thread;

static bool is_noise(const char *line)
{
    static const char *const marks[] = {"src/hostapi/", "pa_linux_alsa", "ALSA lib ", "Jack",
                                        "jack", "Cannot connect to server", "PaAlsa"};
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
        if (strstr(line, marks[i])) return true;
    return false;
}

static void *noise_run(void *arg)
{
    (void)arg;
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(noise_pipe[0], buf + have, sizeof buf - 1 - have);
        if (n <= 0) break;
        have += (size_t)n;
        buf[have] = 0;
        char *start = buf, *nl;
        while ((nl = strchr(start, '\n'))) {
            *nl = 0;
            if (!is_noise(start)) dprintf(noise_real_fd, "%s\n", start);
            start = nl + 1;
        }
        have = strlen(start);
        memmove(buf, start, have);
        if (have == sizeof buf - 1) { /* a very long line: pass it on as it is */
            if (!is_noise(buf)) (void)!write(noise_real_fd, buf, have);
            have = 0;
        }
    }
    if (have && !is_noise(buf)) (void)!write(noise_real_fd, buf, have);
    return NULL;
}

static void noise_filter_start(void)
{
    fflush(stderr);
    if (pipe(noise_pipe)) return;
    noise_real_fd = dup(STDERR_FILENO);
    if (noise_real_fd < 0 || dup2(noise_pipe[1], STDERR_FILENO) < 0 ||
        pthread_create(&noise_thread, NULL, noise_run, NULL)) {
        if (noise_real_fd >= 0) dup2(noise_real_fd, STDERR_FILENO);
        close(noise_pipe[0]);
        close(noise_pipe[1]);
        noise_pipe[0] = noise_pipe[1] = -1;
        return;
    }
    close(noise_pipe[1]);
    noise_pipe[1] = -1;
}

static void noise_filter_stop(void)
{
    if (noise_pipe[0] < 0) return;
    fflush(stderr);
    dup2(noise_real_fd, STDERR_FILENO); /* the pipe's last writer is gone: EOF */
    pthread_join(noise_thread, NULL);
    close(noise_pipe[0]);
    close(noise_real_fd);
    noise_pipe[0] = noise_real_fd = -1;
}

static int play_session(int argc, char **argv, const struct opts *o);

static int cmd_play(int argc, char **argv, const struct opts *o)
{
    if (argc != 1) return usage_error("%s", "play needs exactly one routine");
    noise_filter_start();
    int st = play_session(argc, argv, o);
    noise_filter_stop();
    return st;
}

/* The control inputs play and menu share: signals through signal_pipe
 * (SIGUSR1/SIGUSR2 too), keys on a terminal if keys, and the control
 * socket. Prints what is missing and, unless --quiet, the keys (help).
 * Returns the socket's fd or -1; *sock is its path (heap, may be NULL) for
 * ctlsock_close. */
static int control_open(const struct opts *o, bool keys, const char *help, char **sock)
{
    if (pipe(signal_pipe) == 0) {
        fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK);
        fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    if (keys) tty_keys();
    *sock = o->socket ? coach_strdup(o->socket) : ctlsock_default_path();
    int ctl_fd = *sock ? ctlsock_listen(*sock) : -1;
    if (ctl_fd < 0 && !o->quiet)
        fprintf(stderr, "coach: no control socket%s%s (%s); keys and signals still work\n",
                *sock ? " at " : "", *sock ? *sock : "",
                errno == EADDRINUSE ? "another coach is playing" : strerror(errno));
    if (!o->quiet && tty_raw) fprintf(stderr, "Keys: %s.\n", help);
    return ctl_fd;
}

static int play_session(int argc, char **argv, const struct opts *o)
{
    (void)argc;
    struct session s = {0};
    int st = session_load(&s, argv[0], o);
    if (st) {
        session_free(&s);
        return st;
    }
    char err[512] = "";
    if (pa_sink_init(err, sizeof err)) {
        fprintf(stderr, "coach: %s\n", err);
        session_free(&s);
        return EXIT_NODEVICE;
    }
    char name[256];
    routine_name(s.routine_path, name, sizeof name);
    uint32_t rate = o->rate_hz;
    int dev;
    if (pa_sink_pick(o->device, o->channels, &rate, &dev, err, sizeof err)) {
        fprintf(stderr,
                "coach: %s.\nTo listen anyway, export the routine and play the file elsewhere:\n"
                "  coach export %s -o %s.flac\n",
                err, name, name);
        pa_sink_terminate();
        session_free(&s);
        return EXIT_NODEVICE;
    }
    struct music music;
    bool have_music = false;
    st = load_music(o, rate, &music, &have_music);
    if (st) {
        pa_sink_terminate();
        session_free(&s);
        return st;
    }
    struct player p = {.s = &s, .o = o, .chapter_shown = -1};
    p.level = session_level(&s, o);
    struct plan_opts po = {.rate_hz = rate, .level = p.level, .announce = s.announce};
    const struct timeline *first;
    int rc = feeder_start(&p.feeder, &s.routine, &s.voice, &po, &first);
    if (rc) {
        fprintf(stderr, "%s\n", p.feeder.err[0] ? p.feeder.err : coach_strerror(rc));
        feeder_stop(&p.feeder);
        if (have_music) music_free(&music);
        pa_sink_terminate();
        session_free(&s);
        return rc == COACH_ESPEECH ? EXIT_SPEECH : EXIT_INVALID;
    }
    p.cur = first;
    rc = live_init(&p.live, first, false, p.feeder.slots, o->channels, 4096);
    if (!rc && have_music) render_set_music(&p.live.r, &music); /* before the audio starts */
    if (!rc) feeder_attach(&p.feeder, &p.live);
    if (!rc) rc = pa_sink_open(&p.sink, dev, rate, o->channels, o->latency_ms, &p.live, err, sizeof err);
    if (rc) {
        fprintf(stderr,
                "coach: %s.\nIs another program using the device? To listen anyway, export it:\n"
                "  coach export %s -o %s.flac\n",
                err[0] ? err : coach_strerror(rc), name, name);
        feeder_stop(&p.feeder);
        live_free(&p.live);
        if (have_music) music_free(&music);
        pa_sink_terminate();
        session_free(&s);
        return EXIT_NODEVICE;
    }
    time_t started = time(NULL);
    /* control: keys on a terminal, the socket, signals */
    char *sock;
    int ctl_fd = control_open(o, !o->quiet, "space pause, n next, b back, r repeat, w where, "
                              "+ - volume, q quit", &sock);

    st = control_loop(&p, ctl_fd);
    tty_restore();
    uint64_t pos = played(&p), first_ns = pa_sink_first_sound_ns(p.sink);
    uint64_t heard = atomic_load(&p.live.heard_frames);
    double latency = pa_sink_latency(p.sink);
    uint64_t underruns = pa_sink_underruns(p.sink);
    pa_sink_close(p.sink);
    if (ctl_fd >= 0) ctlsock_close(ctl_fd, sock);
    free(sock);
    if (st == EXIT_LOST) {
        char at[64];
        fmt_duration(at, sizeof at, pos, rate);
        fprintf(stderr,
                "coach: the audio device stopped (unplugged, or the sound server quit) at %s.\n"
                "Start again with 'coach play %s', or export the routine: coach export %s -o "
                "%s.flac\n",
                at, name, name, name);
    }
    /* what was heard goes into the history, whatever the ending */
    const struct timeline *tl = p.cur;
    struct history_record rec = {
        .when = started, .routine = name, .title = s.routine.title,
        .steps_done = p.done && !p.stopped ? (unsigned)routine_count_moves(&s.routine)
                                           : position_moves_done(tl, &s.routine, pos),
        .steps_total = (unsigned)routine_count_moves(&s.routine),
        .seconds = heard / rate, /* skipped and paused time are not exercise */
        .ending = st == EXIT_OK ? (p.stopped ? "stopped" : "completed")
                  : st == EXIT_INTERRUPTED || st == EXIT_TERMINATED ? "interrupted"
                                                                   : "error"};
    char *hpath = history_default_path();
    if (!hpath || history_append(hpath, &rec))
        fprintf(stderr, "coach: warning: cannot record this session in the history%s%s: %s\n",
                hpath ? " " : "", hpath ? hpath : "", strerror(errno));
    free(hpath);
    uint64_t missed = atomic_load(&p.live.r.missing_clips);
    uint64_t stall_ms = atomic_load(&p.live.stall_frames) * 1000 / rate;
    if (!o->quiet || missed || underruns) {
        char d[64];
        fmt_duration(d, sizeof d, heard, rate);
        fprintf(stderr,
                "coach: played %s; first sound %.0f ms after launch (+%.0f ms device latency); "
                "missed clips: %llu, underruns: %llu, waited for the plan: %llu ms\n",
                d, first_ns ? (double)(first_ns - launch_ns) / 1e6 : -1.0, latency * 1000.0,
                (unsigned long long)missed, (unsigned long long)underruns,
                (unsigned long long)stall_ms);
    }
    feeder_stop(&p.feeder);
    live_free(&p.live);
    if (have_music) music_free(&music);
    for (size_t i = 0; i < p.n_overlays; i++) free(p.overlays[i]);
    pa_sink_terminate();
    session_free(&s);
    return st;
}

/* ---- coach menu: choosing a routine by ear ---- */

/* The menu's sound: the live engine held paused on a silent timeline, and
 * every sentence an overlay (the engine says it and returns to paused; a
 * new one cuts the current one short, so keys can be pressed ahead). The
 * speech is made here on the control thread, the only user of espeak-ng
 * until the chosen routine starts. */
struct menu_audio {
    struct speech *sp;
    struct clipstore cs;
    bool have_cs, have_live;
    struct timeline tl; /* no events: nothing but silence to hold */
    clip_slot slot[1];
    struct live live;
    struct pa_sink *sink;
    uint32_t rate;
};

enum menu_action { MA_NONE, MA_NEXT, MA_PREV, MA_DETAILS, MA_REPEAT, MA_START, MA_QUIT, MA_OTHER };

static enum menu_action menu_key(int key)
{
    switch (key) {
    case 'n': case 'N': case ' ': return MA_NEXT;
    case 'b': case 'B': return MA_PREV;
    case 'd': case 'D': case '?': case 'w': case 'W': return MA_DETAILS;
    case 'r': case 'R': return MA_REPEAT;
    case '\n': case '\r': case 's': case 'S': return MA_START;
    case 'q': case 'Q': return MA_QUIT;
    default: return MA_NONE;
    }
}

/* The same words as a playing coach: toggle (or resume) starts. */
static enum menu_action menu_word(enum ctl_cmd c)
{
    switch (c) {
    case CTL_NEXT: return MA_NEXT;
    case CTL_BACK: return MA_PREV;
    case CTL_WHERE: return MA_DETAILS;
    case CTL_REPEAT: return MA_REPEAT;
    case CTL_TOGGLE: case CTL_RESUME: return MA_START;
    case CTL_STOP: return MA_QUIT;
    case CTL_NONE: return MA_NONE;
    default: return MA_OTHER;
    }
}

static void menu_send(struct menu_audio *a, struct live_cmd c)
{
    for (int i = 0; i < 100 && !live_send(&a->live, &c); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Says text as an overlay; the frames it lasts, or 0 if it cannot. */
static uint64_t menu_say(struct menu_audio *a, const char *text, uint8_t ack)
{
    uint32_t id;
    uint64_t len;
    if (!text || clipstore_intern(&a->cs, text, &id, &len) || clipstore_prepare(&a->cs, id) ||
        !len) {
        menu_send(a, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_REFUSED});
        return 0;
    }
    /* prepared PCM stays until clipstore_free: the engine may still read it */
    menu_send(a, (struct live_cmd){.kind = LIVE_OVERLAY, .pcm = a->cs.clips[id].pcm,
                                   .len_frames = len, .ack = ack});
    return len;
}

/* Waits until the last overlay (len frames, sent now) has been heard. */
static void menu_wait_said(struct menu_audio *a, uint64_t len)
{
    uint64_t ms = len * 1000 / a->rate;
    uint64_t start = mono_ns(), earliest = start + ms * 800000u, end = start + (ms + 2000) * 1000000u;
    struct live_note n;
    for (uint64_t now = start; now < end; now = mono_ns()) {
        /* an earlier overlay's note may still be on its way: too early to count */
        while (live_poll(&a->live, &n))
            if (n.kind == NOTE_OVERLAY_DONE && mono_ns() >= earliest) end = 0;
        if (!end) break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    /* what the callback has made is still in the device's buffer */
    double lat = pa_sink_latency(a->sink);
    struct timespec ts = {(time_t)lat, (long)((lat - (double)(time_t)lat) * 1e9)};
    nanosleep(&ts, NULL);
}

static void menu_audio_close(struct menu_audio *a)
{
    if (a->sink) {
        menu_send(a, (struct live_cmd){.kind = LIVE_STOP, .ack = LIVE_NO_ACK});
        struct live_note n;
        for (int i = 0; i < 100; i++) { /* 500 ms at most */
            bool stopped = false;
            while (live_poll(&a->live, &n)) stopped |= n.kind == NOTE_STOPPED;
            if (stopped) break;
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        pa_sink_close(a->sink);
        a->sink = NULL;
    }
    if (a->have_live) live_free(&a->live);
    if (a->have_cs) clipstore_free(&a->cs);
    if (a->sp) speech_close(a->sp);
    a->have_live = a->have_cs = false;
    a->sp = NULL;
}

/* Carries out one action; reply is what `coach ctl` prints. Returns true
 * when the menu is over (start or quit). */
static bool menu_do(struct menu_audio *a, struct menu *m, const struct voice *v,
                    enum menu_action act, char **last, bool quiet, char *reply, size_t cap)
{
    char *text = NULL;
    uint8_t ack = LIVE_NO_ACK;
    switch (act) {
    case MA_NEXT:
    case MA_PREV:
        menu_move(m, act == MA_NEXT ? 1 : -1);
        text = menu_item_text(m, v);
        ack = ACK_SEEK;
        break;
    case MA_DETAILS: text = menu_details_text(m, v); break;
    case MA_REPEAT: text = *last ? coach_strdup(*last) : NULL; break;
    case MA_START:
        snprintf(reply, cap, "ok starting %s", m->items[m->cur].name);
        return true;
    case MA_QUIT:
        menu_send(a, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_PAUSE});
        snprintf(reply, cap, "ok stopped");
        return true;
    default:
        menu_send(a, (struct live_cmd){.kind = LIVE_ACK, .ack = ACK_REFUSED});
        snprintf(reply, cap, "error not in the menu (use next, back, where, repeat, toggle, stop)");
        return false;
    }
    if (!text || !menu_say(a, text, ack)) {
        snprintf(reply, cap, "error cannot speak now");
        free(text);
        return false;
    }
    snprintf(reply, cap, "ok %s: %s", m->items[m->cur].name, text);
    if (!quiet) {
        printf("%s\n", text);
        fflush(stdout);
    }
    free(*last);
    *last = text;
    return false;
}

/* Keys, the control socket and signals until a routine is chosen (*start)
 * or the menu is left; returns the exit status. */
static int menu_loop(struct menu_audio *a, struct menu *m, const struct voice *v, int ctl_fd,
                     bool quiet, bool *start)
{
    char *last = NULL, reply[1024];
    *start = false;
    {
        char *intro = voice_format(v, PH_MENU_INTRO, &(struct phrase_args){0});
        char *item = menu_item_text(m, v);
        last = intro && item ? coach_asprintf("%s %s", intro, item) : NULL;
        if (last && !menu_say(a, last, LIVE_NO_ACK)) fprintf(stderr, "coach: cannot speak the menu\n");
        if (last && !quiet) printf("%s\n", last), fflush(stdout);
        free(intro);
        free(item);
    }
    uint64_t last_epoch = 0, still_since = mono_ns();
    int st = EXIT_OK;
    bool over = false;
    while (!over) {
        struct pollfd fds[3];
        int n = 0, i_key = -1, i_ctl = -1;
        fds[n++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
        if (tty_raw) i_key = n, fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        if (ctl_fd >= 0) i_ctl = n, fds[n++] = (struct pollfd){.fd = ctl_fd, .events = POLLIN};
        poll(fds, (nfds_t)n, 50);
        enum menu_action act = MA_NONE;
        if (fds[0].revents & POLLIN) {
            unsigned char sig[16];
            ssize_t got = read(signal_pipe[0], sig, sizeof sig);
            for (ssize_t i = 0; i < got && !over; i++) {
                if (sig[i] == SIGINT || sig[i] == SIGTERM) {
                    st = sig[i] == SIGINT ? EXIT_INTERRUPTED : EXIT_TERMINATED;
                    over = true;
                } else {
                    over = menu_do(a, m, v, sig[i] == SIGUSR1 ? MA_START : MA_NEXT, &last, quiet,
                                   reply, sizeof reply);
                    *start = over && sig[i] == SIGUSR1;
                }
            }
        }
        if (!over && i_key >= 0 && (fds[i_key].revents & POLLIN)) {
            char keys[16];
            ssize_t got = read(STDIN_FILENO, keys, sizeof keys);
            for (ssize_t i = 0; i < got && !over; i++) {
                act = menu_key((unsigned char)keys[i]);
                if (act != MA_NONE) over = menu_do(a, m, v, act, &last, quiet, reply, sizeof reply);
                *start = over && act == MA_START;
            }
        }
        if (!over && i_ctl >= 0 && (fds[i_ctl].revents & POLLIN)) {
            char line[256];
            int conn = ctlsock_accept(ctl_fd, line, sizeof line);
            if (conn >= 0) {
                act = menu_word(ctl_from_word(line));
                if (act == MA_NONE)
                    snprintf(reply, sizeof reply, "error unknown command '%.60s' (use next, back, "
                             "where, repeat, toggle, stop)", line);
                else
                    over = menu_do(a, m, v, act, &last, quiet, reply, sizeof reply);
                *start = over && act == MA_START;
                ctlsock_reply(conn, reply); /* before the routine starts: the client is waiting */
            }
        }
        struct live_note note;
        while (!over && live_poll(&a->live, &note)) {
        }
        uint64_t e = atomic_load(&a->live.epoch), now = mono_ns();
        if (e != last_epoch) {
            last_epoch = e;
            still_since = now;
        }
        if (!over && (!pa_sink_active(a->sink) || now - still_since > 3000000000u)) {
            fprintf(stderr, "coach: the audio device stopped (unplugged, or the sound server "
                            "quit). Start again with 'coach menu'.\n");
            st = EXIT_LOST;
            over = true;
        }
    }
    free(last);
    return st;
}

/* The menu's voice: --voice, else the first routine's, with the
 * --speech-rate, --pitch and --speech-volume overrides. */
static int menu_voice(const struct opts *o, const struct menu *m, struct voice *v)
{
    const char *name = o->voice ? o->voice : m->n ? m->items[0].voice : "en-us";
    char *path = NULL;
    int rc = catalog_find(CATALOG_VOICES, name, &path);
    if (rc == COACH_ENOTFOUND) {
        fprintf(stderr, "coach: voice profile '%s' not found (try 'coach voices')\n", name);
        print_known(CATALOG_VOICES);
        return EXIT_NOTFOUND;
    }
    struct coach_diags d;
    diags_init(&d);
    if (!rc) rc = voice_load(path, v, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    free(path);
    if (rc) return rc == COACH_ENOTFOUND ? EXIT_NOTFOUND : EXIT_INVALID;
    if (o->speech_rate >= 0) v->rate_wpm = o->speech_rate;
    if (o->pitch >= 0) v->pitch = o->pitch;
    if (o->speech_volume >= 0) v->volume = o->speech_volume;
    return EXIT_OK;
}

static int menu_run(const struct opts *o)
{
    struct menu m = {0};
    struct voice v;
    bool have_voice = false;
    int level = -1, st;
    if (o->level) {
        enum level lv;
        level_parse(o->level, &lv);
        level = (int)lv;
    }
    /* with --voice, lengths are estimated in that voice; else in each routine's */
    if (o->voice) {
        if ((st = menu_voice(o, &m, &v))) return st;
        have_voice = true;
    }
    int rc = menu_load(&m, level, have_voice ? &v : NULL);
    if (rc) {
        fprintf(stderr, "coach: %s\n", coach_strerror(rc));
        if (have_voice) voice_free(&v);
        return EXIT_INVALID;
    }
    if (!have_voice && (st = menu_voice(o, &m, &v))) {
        menu_free(&m);
        return st;
    }
    if (m.skipped && !o->quiet)
        fprintf(stderr, "coach: %zu routine%s with errors left out (see 'coach list')\n", m.skipped,
                m.skipped == 1 ? "" : "s");
    if (!m.n) {
        fprintf(stderr, "coach: %s (see 'coach list')\n", v.phrases[PH_MENU_EMPTY]);
        voice_free(&v);
        menu_free(&m);
        return EXIT_NOTFOUND;
    }
    struct menu_audio a = {.rate = o->rate_hz};
    char err[512] = "";
    const char *name = m.items[0].name;
    int dev;
    if (pa_sink_init(err, sizeof err)) {
        fprintf(stderr, "coach: %s\n", err);
        voice_free(&v);
        menu_free(&m);
        return EXIT_NODEVICE;
    }
    if (pa_sink_pick(o->device, o->channels, &a.rate, &dev, err, sizeof err)) {
        fprintf(stderr,
                "coach: %s.\nTo listen anyway, export a routine ('coach list' shows them) and play "
                "the file elsewhere:\n  coach export %s -o %s.flac\n",
                err, name, name);
        pa_sink_terminate();
        voice_free(&v);
        menu_free(&m);
        return EXIT_NODEVICE;
    }
    struct speech_settings ss = {.espeak_voice = v.espeak_voice, .rate_wpm = v.rate_wpm,
                                 .pitch = v.pitch, .volume = v.volume};
    if (speech_open(&a.sp, &ss) || clipstore_init(&a.cs, a.sp, a.rate)) {
        fprintf(stderr, "%s: espeak-ng cannot speak with voice '%s' (is espeak-ng-data installed?)\n",
                v.path, v.espeak_voice);
        menu_audio_close(&a);
        pa_sink_terminate();
        voice_free(&v);
        menu_free(&m);
        return EXIT_SPEECH;
    }
    a.have_cs = true;
    /* a day of silence, not final: the engine never ends on its own */
    a.tl = (struct timeline){.rate_hz = a.rate, .len_frames = (uint64_t)a.rate * 86400};
    rc = live_init(&a.live, &a.tl, false, a.slot, o->channels, 4096);
    if (!rc) {
        a.have_live = true;
        /* paused before the first callback: only overlays are heard */
        menu_send(&a, (struct live_cmd){.kind = LIVE_PAUSE, .ack = LIVE_NO_ACK});
        rc = pa_sink_open(&a.sink, dev, a.rate, o->channels, o->latency_ms, &a.live, err, sizeof err);
    }
    if (rc) {
        fprintf(stderr,
                "coach: %s.\nIs another program using the device? To listen anyway, export a "
                "routine:\n  coach export %s -o %s.flac\n",
                err[0] ? err : coach_strerror(rc), name, name);
        menu_audio_close(&a);
        pa_sink_terminate();
        voice_free(&v);
        menu_free(&m);
        return EXIT_NODEVICE;
    }
    /* keys even with --quiet: without them a terminal could not choose */
    char *sock;
    int ctl_fd = control_open(o, true, "n next, b previous, d details, r repeat, Enter start, "
                              "q quit", &sock);
    bool start;
    st = menu_loop(&a, &m, &v, ctl_fd, o->quiet, &start);
    char *chosen = NULL;
    if (start) {
        char *text = voice_format(&v, PH_MENU_START,
                                  &(struct phrase_args){.title = m.items[m.cur].title});
        uint64_t len = text ? menu_say(&a, text, ACK_RESUME) : 0;
        if (!o->quiet && text) printf("%s\n", text);
        menu_wait_said(&a, len);
        free(text);
        chosen = coach_strdup(m.items[m.cur].path);
    }
    /* the routine gets the device, the socket and the signals afresh */
    tty_restore();
    menu_audio_close(&a);
    pa_sink_terminate();
    if (ctl_fd >= 0) ctlsock_close(ctl_fd, sock);
    free(sock);
    for (int i = 0; i < 2; i++) {
        if (signal_pipe[i] >= 0) close(signal_pipe[i]);
        signal_pipe[i] = -1;
    }
    voice_free(&v);
    menu_free(&m);
    if (start && !chosen) {
        fputs("coach: out of memory\n", stderr);
        return EXIT_INVALID;
    }
    if (start) {
        launch_ns = mono_ns(); /* "first sound" counts from the choice, not the menu */
        st = play_session(1, &chosen, o);
        free(chosen);
    }
    return st;
}

static int cmd_menu(int argc, const struct opts *o)
{
    if (argc) return usage_error("%s", "menu takes no arguments: it offers every routine found");
    noise_filter_start();
    int st = menu_run(o);
    noise_filter_stop();
    return st;
}

static int cmd_devices(int argc)
{
    if (argc) return usage_error("%s", "devices takes no arguments");
    char err[512];
    noise_filter_start();
    int rc = pa_sink_init(err, sizeof err);
    int n = rc ? 0 : pa_sink_list(stdout);
    if (!rc) pa_sink_terminate();
    noise_filter_stop();
    if (rc) {
        fprintf(stderr, "coach: %s\n", err);
        return EXIT_NODEVICE;
    }
    if (!n) {
        printf("No audio output devices found. Use 'coach export' to make an audio file.\n");
        return EXIT_NODEVICE;
    }
    return EXIT_OK;
}

static int cmd_ctl(int argc, char **argv, const struct opts *o)
{
    if (argc != 1) return usage_error("ctl needs one word: %s", ctl_words_help());
    if (ctl_from_word(argv[0]) == CTL_NONE)
        return usage_error("unknown ctl word '%s'", argv[0]);
    char *sock = o->socket ? coach_strdup(o->socket) : ctlsock_default_path();
    if (!sock) {
        fprintf(stderr, "coach: no usable control socket directory: %s\n", strerror(errno));
        return EXIT_NOTFOUND;
    }
    char reply[1024];
    int rc = ctlsock_send(sock, argv[0], reply, sizeof reply);
    if (rc == COACH_ENOTFOUND) {
        fprintf(stderr, "coach: no coach is playing (no control socket at %s)\n", sock);
        free(sock);
        return EXIT_NOTFOUND;
    }
    free(sock);
    if (rc) {
        fprintf(stderr, "coach: the playing coach did not answer: %s\n", strerror(errno));
        return EXIT_OUTPUT;
    }
    bool ok = strncmp(reply, "ok", 2) == 0;
    fprintf(ok ? stdout : stderr, "%s\n", reply);
    return ok ? EXIT_OK : EXIT_INVALID;
}

static int cmd_history(int argc)
{
    if (argc) return usage_error("%s", "history takes no arguments");
    char *path = history_default_path();
    int rc = path ? history_print(path, stdout) : COACH_ENOMEM;
    if (rc == COACH_ENOTFOUND) printf("No sessions yet.\n");
    else if (rc) fprintf(stderr, "coach: cannot read %s: %s\n", path ? path : "history", strerror(errno));
    free(path);
    return rc && rc != COACH_ENOTFOUND ? EXIT_OUTPUT : EXIT_OK;
}

/* A whole decimal number in [lo, hi], or -1. */
static int parse_int(const char *s, int lo, int hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return -1;
    return (int)v;
}

int main(int argc, char **argv)
{
    launch_ns = mono_ns();
    struct opts o = {.rate_hz = 48000, .channels = 1, .speech_rate = -1, .pitch = -1,
                     .speech_volume = -1};
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"format", required_argument, 0, 'f'},
        {"level", required_argument, 0, 'l'},  {"rate", required_argument, 0, 'r'},
        {"channels", required_argument, 0, 'c'}, {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},      {"device", required_argument, 0, 'd'},
        {"latency", required_argument, 0, 'L'}, {"socket", required_argument, 0, 's'},
        {"captions", required_argument, 0, 'C'}, {"chapters", required_argument, 0, 'P'},
        {"voice", required_argument, 0, 'v'},  {"speech-rate", required_argument, 0, 'R'},
        {"pitch", required_argument, 0, 'p'},  {"speech-volume", required_argument, 0, 'S'},
        {"volume", required_argument, 0, 'S'},
        {"progress", no_argument, 0, 'g'},     {"all", required_argument, 0, 'A'},
        {"music", required_argument, 0, 'm'},  {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:f:l:r:c:jqhVd:s:", longopts, NULL)) != -1) {
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
        case 'd': o.device = optarg; break;
        case 's': o.socket = optarg; break;
        case 'C': o.captions = optarg; break;
        case 'P': o.chapters = optarg; break;
        case 'v': o.voice = optarg; break;
        case 'R':
            if ((o.speech_rate = parse_int(optarg, 80, 450)) < 0)
                return usage_error("speech rate must be 80-450 words per minute, not '%s'", optarg);
            break;
        case 'p':
            if ((o.pitch = parse_int(optarg, 0, 100)) < 0)
                return usage_error("pitch must be 0-100, not '%s'", optarg);
            break;
        case 'S':
            if ((o.speech_volume = parse_int(optarg, 0, 200)) < 0)
                return usage_error("speech volume must be 0-200, not '%s'", optarg);
            break;
        case 'g': o.progress = true; break;
        case 'm': o.music = optarg; break;
        case 'A': o.all_dir = optarg; break;
        case 'L': {
            char *end;
            o.latency_ms = strtod(optarg, &end);
            if (*end || o.latency_ms < 1 || o.latency_ms > 2000)
                return usage_error("latency must be 1-2000 milliseconds, not '%s'", optarg);
            break;
        }
        case 'q': o.quiet = true; break;
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        case 'V': printf("coach %s\n", COACH_VERSION); return EXIT_OK;
        default:
            if (optopt && strchr("oflrcds", optopt))
                return usage_error("option '-%s' needs a value", (char[]){(char)optopt, 0});
            if (optopt && strchr("LCPvRpSA", optopt)) /* long-only: name it as typed */
                return usage_error("option '%s' needs a value", argv[optind - 1]);
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

    if (strcmp(cmd, "play") == 0) return cmd_play(n, args, &o);
    if (strcmp(cmd, "menu") == 0) return cmd_menu(n, &o);
    if (strcmp(cmd, "devices") == 0) return cmd_devices(n);
    if (strcmp(cmd, "ctl") == 0) return cmd_ctl(n, args, &o);
    if (strcmp(cmd, "history") == 0) return cmd_history(n);
    if (strcmp(cmd, "voices") == 0) return cmd_voices(n);
    if (strcmp(cmd, "export") == 0) return cmd_export(n, args, &o);
    if (strcmp(cmd, "check") == 0) return cmd_check(n, args, &o);
    if (strcmp(cmd, "plan") == 0) return cmd_plan(n, args, &o);
    if (strcmp(cmd, "list") == 0) return cmd_list(n, &o);
    if (strcmp(cmd, "help") == 0) return fputs(usage_text, stdout), EXIT_OK;
    if (strcmp(cmd, "version") == 0) return printf("coach %s\n", COACH_VERSION), EXIT_OK;
    return usage_error("unknown command '%s'", cmd);
}
