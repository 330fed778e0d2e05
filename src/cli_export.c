/* coach export: one routine to an audio file, with its captions and
 * chapter sidecars written beside it only once the audio is in place, and
 * export --all: every routine found, one process each. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <malloc.h> /* mallopt */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "coach/captions.h"
#include "coach/chapters.h"
#include "coach/common.h"
#include "coach/export.h"
#include "coach/phrasecache.h"
#include "coach/split.h"
#include "coach/textsafe.h"
#include "coach/uptodate.h"

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

/* NAME.flac; a sequence: A+B+C.flac (never the first routine's own name). */
static char *default_output(const struct session *s)
{
    if (!s->n_parts) return coach_asprintf("%s.flac", s->name);
    size_t len = 6;
    for (size_t k = 0; k < s->n_parts; k++) len += strlen(s->part_names[k]) + 1;
    char *out = malloc(len);
    if (!out) return NULL;
    out[0] = 0;
    for (size_t k = 0; k < s->n_parts; k++) {
        if (k) strcat(out, "+");
        strcat(out, s->part_names[k]);
    }
    return strcat(out, ".flac");
}

/* What to do about a failed write, by its errno; NULL when the reason
 * says it all. */
static const char *write_advice(int e)
{
    switch (e) {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return "the disk is full: free some space or write somewhere else";
    case EFBIG: {
        /* SIGXFSZ is ignored (main.c), so passing the limit fails here */
        struct rlimit lim;
        if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
            return "the file is larger than the file size limit (ulimit -f) allows: raise the "
                   "limit, or write a shorter file";
        return "the file is too big for this file system: write somewhere else";
    }
    case ENAMETOOLONG:
        return "use a shorter name";
    case EROFS:
        return "the file system is read-only: write somewhere else";
    case EACCES:
    case EPERM:
        return "no permission: write somewhere else, or change the permissions";
    case ENOENT:
        return "create the directory first, or write somewhere else";
    case ENOTDIR:
        return "a part of the path is not a directory";
    case EISDIR:
        return "name a file, not a directory";
    case EIO:
        return "the disk reported an error";
    default:
        return NULL;
    }
}

/* "coach: FILE: reason (what to do; no file was changed)": every failure
 * before the renames leaves every target as it was. e is the errno. */
static void report_failure(const char *path, const char *reason, int e)
{
    const char *advice = write_advice(e);
    fprintf(stderr, "coach: %s: %s (%s%sno file was changed)\n", path, reason,
            advice ? advice : "", advice ? "; " : "");
}

/* Sidecar failures are printed here; each returns an exit status. */
static int sidecar_open(struct export_sidecar *sc, const char *path)
{
    char err[512] = "";
    if (export_sidecar_open(sc, path, err, sizeof err) == 0) return EXIT_OK;
    report_failure(path, err, errno);
    return EXIT_OUTPUT;
}

static int sidecar_close(struct export_sidecar *sc, int write_rc)
{
    char err[512] = "";
    int rc = write_rc ? write_rc : export_sidecar_close(sc, err, sizeof err);
    if (rc == 0) return EXIT_OK;
    int e = errno;
    if (!err[0]) snprintf(err, sizeof err, "write failed: %s",
                          rc == COACH_EIO ? strerror(e) : coach_strerror(rc));
    report_failure(sc->path, err, rc == COACH_EIO ? e : 0);
    return EXIT_OUTPUT;
}

/* Every file the export will write, checked before the speech is made:
 * a wrong path fails in milliseconds, with its reason. The writers check
 * again, so this only makes failures early and clear. */
static int preflight(const char *path)
{
    char err[512] = "";
    if (!path || export_check_target(path, err, sizeof err) == 0) return EXIT_OK;
    report_failure(path, err, errno);
    return EXIT_OUTPUT;
}

/* --split DIR: a new or empty directory, checked as early as a file. */
static int preflight_split(const char *dir)
{
    char err[512] = "";
    if (split_check_target(dir, err, sizeof err) == 0) return EXIT_OK;
    report_failure(dir, err, errno);
    return EXIT_OUTPUT;
}

/* One export at a time to any of these files (export.h): a second is
 * refused at once, before any work, with EXIT_BUSY. */
static int lock_targets(struct export_lock *lk, const char *out, const struct opts *o)
{
    const char *paths[] = {out, o->captions, o->chapters, o->transcript};
    char err[512] = "";
    size_t bad = 0;
    if (export_lock(lk, paths, 4, &bad, err, sizeof err) == 0) return EXIT_OK;
    int e = errno;
    const char *path = paths[bad] ? paths[bad] : "standard output";
    if (e == EBUSY) {
        fprintf(stderr, "coach: %s: %s (wait until it has finished, or write somewhere else; no "
                        "file was changed)\n", path, err);
        return EXIT_BUSY;
    }
    report_failure(path, err, e);
    return EXIT_OUTPUT;
}

/* SIGINT and SIGTERM both set `interrupted` (main.c); which one it was
 * decides the exit status (130 or 143) and the word in the message. */
static volatile sig_atomic_t export_signal;

static void on_export_signal(int sig)
{
    export_signal = sig;
    on_signal(sig);
}

static void catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_export_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int signal_status(void)
{
    return export_signal == SIGTERM ? EXIT_TERMINATED : EXIT_INTERRUPTED;
}

static int export_all(int argc, const struct opts *o);

/* -o - (standard output) and --format against the output's extension:
 * the format is WAV unless --format names another; audio is never written
 * to a terminal; a --format that contradicts a known extension is a
 * mistake (WAV data in x.flac), not a wish. SIGPIPE is ignored, so a
 * reader that goes away is a write error (EPIPE) with a message. */
static int pipe_checks(const struct opts *o, enum export_format *fmt)
{
    enum export_format by_ext = export_format_from_path(o->output);
    if (o->format && by_ext != EXPORT_UNKNOWN && by_ext != *fmt) {
        char why[600];
        snprintf(why, sizeof why, "--format %s disagrees with the extension of '%.300s' (%s): "
                 "drop --format, or name the file .%s", export_format_name(*fmt), o->output,
                 export_format_name(by_ext), export_format_name(*fmt));
        return usage_error("%s", why);
    }
    if (!o->output || strcmp(o->output, "-") != 0) return EXIT_OK;
    if (isatty(STDOUT_FILENO))
        return usage_error("%s", "-o -: refusing to write audio to a terminal (pipe it into a "
                                 "player: coach export NAME -o - | mpv -)");
    if (!o->format) *fmt = EXPORT_WAV;
    signal(SIGPIPE, SIG_IGN);
    return EXIT_OK;
}

int cmd_export(int argc, char **argv, const struct opts *o)
{
    catch_signals();
    /* One malloc arena for every thread of an export: its threads allocate
     * little (clips made ahead, encoders' segments), and a thread's own
     * arena held on to what it freed: 1.7 MB more at the peak of an MP3
     * export of lower-back-relief.es (20.0 MB, the bound in
     * tests/memory.sh), for no measured speed. Not for play: set for every
     * command, `coach play` under `ulimit -v 400000` (tests/attack_server.sh)
     * hung instead of saying it is out of memory. */
    mallopt(M_ARENA_MAX, 1);
    /* --split DIR: the same export, one file per chapter (split.h) */
    if (o->split_dir && (o->all_dir || o->output || o->captions || o->chapters ||
                        o->transcript))
        return usage_error("%s", "--split DIR names its files itself (DIR/NN NAME.EXT and a "
                                 "playlist): drop --all, -o, --captions, --chapters and --transcript");
    if (o->all_dir) return export_all(argc, o);
    if (argc < 1) return usage_error("%s", "export needs a routine, or several played as one session (and -o FILE)");
    enum export_format fmt = EXPORT_UNKNOWN;
    if (o->format && (fmt = export_format_from_name(o->format)) == EXPORT_UNKNOWN)
        return usage_error("unknown format '%s' (use wav, flac, ogg, opus or mp3)", o->format);
    int st = pipe_checks(o, &fmt);
    if (st) return st;
    if (o->output && !o->format && strcmp(o->output, "-") && (fmt = export_format_from_path(o->output)) == EXPORT_UNKNOWN)
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
    struct session s;
    st = cli_session_open_many(&s, argc, argv, o, CLIPS_AUDIO);
    char *out = NULL;
    const bool to_stdout = o->output && !strcmp(o->output, "-");
    FILE *msg = to_stdout ? stderr : stdout; /* standard output carries the audio */
    if (!st) {
        out = o->split_dir ? coach_strdup(o->split_dir)
              : to_stdout  ? coach_strdup("standard output")
              : o->output  ? coach_strdup(o->output)
                           : default_output(&s);
        for (size_t n = out && o->split_dir ? strlen(out) : 0; n > 1 && out[n - 1] == '/';)
            out[--n] = 0; /* "DIR/": the lock beside it is ".DIR.coach-lock" */
        if (!o->output && !o->format) fmt = EXPORT_FLAC;
        if (!out) {
            fputs("coach: out of memory\n", stderr);
            st = EXIT_OUTPUT;
        }
    }
    if (!st && !to_stdout) st = o->split_dir ? preflight_split(out) : preflight(out);
    if (!st) st = preflight(o->captions);
    if (!st) st = preflight(o->chapters);
    if (!st) st = preflight(o->transcript);
    struct export_lock lk = {0}; /* held from before the first temporary file to the last rename */
    if (!st) st = lock_targets(&lk, to_stdout ? NULL : out, o);
    if (!st && o->one_core) clipstore_set_workers(&s.clips, 1);
    if (!st) st = cli_session_plan(&s);
    /* Sidecars are written (and synced) into temporary files first and
     * renamed only after the audio is in place: a failure changes no file. */
    struct export_sidecar cap = {0}, chap = {0}, txt = {0};
    size_t n_cues = !st && (o->captions || o->transcript) ? captions_count(&s.tl, &s.clips) : 0;
    if (!st && o->captions && !(st = sidecar_open(&cap, o->captions)))
        st = sidecar_close(&cap, captions_write(&s.tl, &s.clips, cap_fmt, s.routine.title, cap.f));
    if (!st && o->transcript && !(st = sidecar_open(&txt, o->transcript)))
        st = sidecar_close(&txt, captions_write(&s.tl, &s.clips, CAPTIONS_TEXT, NULL, txt.f));
    if (!st && o->chapters && !(st = sidecar_open(&chap, o->chapters))) {
        char *ref = chapters_audio_ref(o->chapters, to_stdout ? "-" : out);
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
                                 .cancel = &interrupted, .music = have_music ? &music : NULL,
                                 .loudness = (enum loudness_mode)o->loudness,
                                 .encode_workers = o->one_core ? 1 : 0};
        char err[512] = "";
        /* A file already what this export would write (uptodate.h) is kept
         * as it is: not for a pipe or --split, nor without a phrase cache
         * (--no-cache: everything made anew); --rewrite writes it anyway
         * (and records it). */
        char key[UPTODATE_KEY_HEX + 1] = "";
        char *records = NULL;
        struct uptodate_job *job = NULL; /* the key, made while the file is written */
        bool kept = false;
        if (!o->split_dir && !to_stdout && s.clips.cache &&
            (records = uptodate_records_dir(phrasecache_dir(s.clips.cache)))) {
            if (!o->rewrite && uptodate_may_be_fresh(records, out)) {
                if (uptodate_key(&s.tl, &s.clips, &eo, key) == 0)
                    kept = uptodate_is_fresh(records, out, key);
            } else if (uptodate_key_start(&job, &s.tl, &s.clips, &eo) != 0) {
                job = NULL; /* no key: written, not recorded */
            }
        }
        int rc = kept         ? 0
                 : o->split_dir ? split_export(&s.tl, &s.clips, out, s.name, &eo, err, sizeof err)
                 : to_stdout  ? export_stream(&s.tl, &s.clips, STDOUT_FILENO, &eo, err, sizeof err)
                              : export_timeline(&s.tl, &s.clips, out, &eo, err, sizeof err);
        int e = errno;
        if (job && uptodate_key_finish(job, key) != 0) key[0] = 0;
        if (!rc && !kept && key[0]) uptodate_record(records, out, key);
        errno = e;
        free(records);
        if (to_stdout && rc == COACH_EIO && e == EPIPE) {
            if (show) fputc('\n', stderr);
            fputs("coach: standard output: the reader closed the pipe before the end of the "
                  "session (no file was changed)\n", stderr);
            st = EXIT_OUTPUT;
        } else if (rc == COACH_EINTR) {
            if (show) fputc('\n', stderr);
            st = signal_status();
            fprintf(stderr, "coach: %s; %s was not written (no file was changed)\n",
                    st == EXIT_TERMINATED ? "terminated" : "interrupted", out);
        } else if (rc) {
            if (show) fputc('\n', stderr);
            report_failure(out, err[0] ? err : coach_strerror(rc), rc == COACH_EIO ? e : 0);
            st = rc == COACH_ESPEECH ? EXIT_SPEECH : EXIT_OUTPUT;
        } else if (!o->quiet) {
            char d[64];
            fmt_duration(d, sizeof d, s.tl.len_frames, s.tl.rate_hz);
            fprintf(msg, "%s %s%s: %s%s, %s, %u Hz, %s.\n", kept ? "Kept" : "Wrote", out,
                    kept ? " (up to date)" : "",
                    o->split_dir ? "one file per step and a playlist, " : "", d,
                    export_format_name(fmt), o->rate_hz, o->channels == 2 ? "stereo" : "mono");
        }
    }
    for (int k = 0; !st && k < 3; k++) { /* the audio is in place: now the sidecars */
        struct export_sidecar *sc = k == 2 ? &txt : k ? &chap : &cap;
        if (!sc->tmp) continue;
        char err[512] = "";
        char *path = coach_strdup(sc->path);
        if (export_sidecar_commit(sc, err, sizeof err)) {
            /* the audio is in place already: say so */
            fprintf(stderr, "coach: %s: %s (%s is in place, this file was not changed)\n",
                    path ? path : "sidecar", err, out);
            st = EXIT_OUTPUT;
        } else if (!o->quiet) {
            const char *did = sc->kept ? "Kept" : "Wrote", *why = sc->kept ? " (up to date)" : "";
            if (k == 1)
                fprintf(msg, "%s %s%s: %zu chapters.\n", did, path, why, s.tl.n_ch);
            else
                fprintf(msg, "%s %s%s: %zu %s.\n", did, path, why, n_cues, k ? "lines" : "captions");
        }
        free(path);
    }
    export_sidecar_discard(&cap); /* after a failure: remove the temporary files */
    export_sidecar_discard(&chap);
    export_sidecar_discard(&txt);
    export_unlock(&lk);
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
    if (o->from || o->resume)
        return usage_error("%s", "export --all exports every routine whole: --from and --resume "
                                 "are for one routine");
    if (o->output || o->captions || o->chapters || o->transcript)
        return usage_error("%s", "export --all names its files itself (DIR/NAME.flac, .vtt, "
                                 ".json): drop -o, --captions, --chapters and --transcript");
    enum export_format fmt = EXPORT_FLAC;
    if (o->format && (fmt = export_format_from_name(o->format)) == EXPORT_UNKNOWN)
        return usage_error("unknown format '%s' (use wav, flac, ogg, opus or mp3)", o->format);
    const char *dir = o->all_dir;
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        int e = errno;
        char why[300];
        snprintf(why, sizeof why, "cannot create the directory: %s", strerror(e));
        report_failure(dir, why, e);
        return EXIT_OUTPUT;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "coach: %s: not a directory (export --all writes into a directory: name a "
                        "new or existing one)\n", dir);
        return EXIT_OUTPUT;
    }
    char **names, **paths;
    size_t n;
    if (catalog_list_checked(CATALOG_ROUTINES, &names, &paths, &n, warn_skipped, NULL)) {
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
                c.one_core = jobs > 1; /* workers of their own too oversubscribed the cores */
                char *arg = paths[next];
                int rc = cmd_export(1, &arg, &c);
                fflush(NULL);
                _exit(rc);
            }
            if (pid < 0) {
                char name[256];
                fprintf(stderr, "%s: failed (cannot start a process: %s)\n",
                        text_safe(name, sizeof name, names[next]), strerror(errno));
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
                int sig = export_signal ? export_signal : SIGINT;
                for (size_t i = 0; i < next; i++)
                    if (pids[i] > 0) kill(pids[i], sig);
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
        char name[256]; /* from a directory listing: any bytes */
        text_safe(name, sizeof name, names[i]);
        if (code == EXIT_OK)
            printf("%s: ok\n", name);
        else if (WIFEXITED(status))
            printf("%s: failed (status %d)\n", name, code);
        else
            printf("%s: failed (signal %d)\n", name, WTERMSIG(status));
        fflush(stdout);
        if (code > worst) worst = code;
    }
    free(pids);
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    return interrupted ? signal_status() : worst;
}
