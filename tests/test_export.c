/* Tests for export: a hand-made timeline (speech from a real clip store plus
 * beeps) written to every format at 48 kHz (and 44.1 kHz), mono and stereo,
 * and read back with libsndfile: length, rate, channels, tags, speech energy
 * where speech is and silence where nothing is; WAV sample by sample against
 * the renderer. Then the failures: missing directory, cancel from the
 * progress callback, Opus at 44.1 kHz, a write error (RLIMIT_FSIZE stands in
 * for a full disk), a read-only directory (skipped as root) - each must
 * leave no file, no temporary file, and an existing target untouched. */
#define _POSIX_C_SOURCE 200809L /* umask, setrlimit, signal */

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coach/clips.h"
#include "coach/common.h"
#include "coach/export.h"
#include "coach/loudness.h"
#include "coach/render.h"
#include "coach/replaced.h"
#include "coach/speech.h"
#include "coach/tone.h"
#include "testutil.h"

static const char *const texts[] = {"Get ready", "Ten", "Rest"};
#define N_TEXTS 3

/* Lossy codecs: libsndfile 1.2.0 reads back exactly the frames written
 * (Vorbis granule positions, Opus pre-skip, the LAME gapless tag), measured;
 * allowed slack is one MP3 frame in case a codec pads. */
#define LOSSY_FRAME_SLACK 1152

struct span {
    uint64_t a, b; /* frames [a, b) */
};

/* Adds an event; keep calls in frame order (the timeline is sorted). */
static void add_ev(struct timeline *tl, enum event_kind k, uint64_t frame, uint64_t len,
                   uint32_t clip)
{
    tl->ev[tl->n_ev++] = (struct event){
        .frame = frame, .len_frames = len, .clip = clip, .step = 0, .kind = (uint8_t)k};
    if (len > tl->max_event_frames) tl->max_event_frames = len;
}

/* Speech at 0.5 s, a beep at 3 s, speech at 4 s and 6 s (the first text
 * again), a final beep at 8 s; `seconds` long. speech_at[] gets the spans
 * of the second clip ("Ten"), quiet gets 2.2-2.9 s where nothing sounds. */
static void build_timeline(struct timeline *tl, struct clipstore *cs, uint32_t rate, double seconds,
                           struct span *ten, struct span *quiet)
{
    memset(tl, 0, sizeof *tl);
    tl->rate_hz = rate;
    tl->n_clips = N_TEXTS;
    uint64_t lens[N_TEXTS];
    for (uint32_t i = 0; i < N_TEXTS; i++) {
        uint32_t id;
        CHECK(clipstore_intern(cs, texts[i], &id, &lens[i]) == 0 && id == i);
    }
    tl->cap_ev = 8;
    tl->ev = calloc(tl->cap_ev, sizeof *tl->ev);
    add_ev(tl, EV_SPEECH, rate / 2, lens[0], 0);
    add_ev(tl, EV_BEEP, 3 * (uint64_t)rate, tone_default_len(EV_BEEP, rate), 0);
    add_ev(tl, EV_SPEECH, 4 * (uint64_t)rate, lens[1], 1);
    add_ev(tl, EV_SPEECH, 6 * (uint64_t)rate, lens[0], 0);
    add_ev(tl, EV_BEEP_FINAL, 8 * (uint64_t)rate, tone_default_len(EV_BEEP_FINAL, rate), 0);
    tl->len_frames = (uint64_t)(seconds * rate);
    if (ten) *ten = (struct span){4 * (uint64_t)rate, 4 * (uint64_t)rate + lens[1]};
    if (quiet) *quiet = (struct span){rate * 22 / 10, rate * 29 / 10};
}

/* Reference: the renderer over the whole timeline, every clip prepared. */
static float *render_all(const struct timeline *tl, struct clipstore *cs, uint32_t ch)
{
    clip_slot clip_pcm[N_TEXTS];
    for (uint32_t i = 0; i < N_TEXTS; i++) {
        CHECK(clipstore_prepare(cs, i) == 0);
        clip_pcm[i] = cs->clips[i].pcm;
    }
    struct renderer r;
    float *out = malloc(tl->len_frames * ch * sizeof *out);
    CHECK(render_init(&r, tl, clip_pcm, ch, 4096) == 0);
    render_set_gain(&r, loudness_program_gain(LOUDNESS_PODCAST)); /* export's default */
    render(&r, 0, out, tl->len_frames);
    render_free(&r);
    for (uint32_t i = 0; i < N_TEXTS; i++)
        clipstore_release(cs, i);
    return out;
}

static double rms(const float *x, uint32_t ch, struct span s)
{
    double sum = 0;
    for (uint64_t i = s.a * ch; i < s.b * ch; i++)
        sum += (double)x[i] * x[i];
    return s.b > s.a ? sqrt(sum / ((s.b - s.a) * ch)) : 0;
}

struct progress_log {
    int calls;
    uint64_t last_done, total;
    int monotonic;
    int cancel_after; /* set *cancel on this call (0 = never) */
    volatile sig_atomic_t *cancel;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct progress_log *p = ctx;
    if (done <= p->last_done && p->calls) p->monotonic = 0;
    p->calls++;
    p->last_done = done;
    p->total = total;
    if (p->cancel_after && p->calls == p->cancel_after) *p->cancel = 1;
}

static void test_format_names(void)
{
    CHECK(export_format_from_path("a.wav") == EXPORT_WAV);
    CHECK(export_format_from_path("/x/y/A.WAV") == EXPORT_WAV);
    CHECK(export_format_from_path("b.Flac") == EXPORT_FLAC);
    CHECK(export_format_from_path("c.ogg") == EXPORT_OGG);
    CHECK(export_format_from_path("c.OGA") == EXPORT_OGG);
    CHECK(export_format_from_path("d.opus") == EXPORT_OPUS);
    CHECK(export_format_from_path("e.Mp3") == EXPORT_MP3);
    CHECK(export_format_from_path("noext") == EXPORT_UNKNOWN);
    CHECK(export_format_from_path("dir.wav/file") == EXPORT_UNKNOWN);
    CHECK(export_format_from_path("x.wave") == EXPORT_UNKNOWN);
    CHECK(export_format_from_path(".mp3x") == EXPORT_UNKNOWN);
    CHECK(export_format_from_name("FLAC") == EXPORT_FLAC);
    CHECK(export_format_from_name("opus") == EXPORT_OPUS);
    CHECK(export_format_from_name("aac") == EXPORT_UNKNOWN);
    for (int f = 0; f < EXPORT_UNKNOWN; f++)
        CHECK((int)export_format_from_name(export_format_name((enum export_format)f)) == f);
    CHECK(strcmp(export_format_name(EXPORT_UNKNOWN), "unknown") == 0);
}

/* Exports tl in format f with ch channels and checks what comes back. */
static void check_format(const struct timeline *tl, struct clipstore *cs, const char *dir,
                         enum export_format f, uint32_t ch, struct span ten, struct span quiet,
                         const float *ref)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/out-%u.%s", dir, ch, export_format_name(f));
    struct progress_log pl = {.monotonic = 1};
    struct export_opts o = {.format = f,
                            .channels = ch,
                            .title = "Morning routine – Grüße",
                            .artist = "coach",
                            .comment = "test export",
                            .progress = on_progress,
                            .progress_ctx = &pl};
    char err[256] = "";
    int rc = export_timeline(tl, cs, path, &o, err, sizeof err);
    CHECKF(rc == 0, "%s/%u: %d %s", export_format_name(f), ch, rc, err);
    if (rc) return;
    CHECK(pl.calls > 0 && pl.monotonic && pl.last_done == tl->len_frames &&
          pl.total == tl->len_frames);
    for (uint32_t i = 0; i < N_TEXTS; i++)
        CHECK(cs->clips[i].pcm == NULL); /* released */

    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644); /* umask 022 in main */

    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    CHECKF(sf != NULL, "%s: %s", path, sf_strerror(NULL));
    if (!sf) return;
    int lossless = f == EXPORT_WAV || f == EXPORT_FLAC;
    long long diff = (long long)info.frames - (long long)tl->len_frames;
    CHECKF(lossless ? diff == 0 : llabs(diff) <= LOSSY_FRAME_SLACK, "%s/%u: %lld frames, want %llu",
           export_format_name(f), ch, (long long)info.frames, (unsigned long long)tl->len_frames);
    if (diff) printf("%s/%u: %+lld frames\n", export_format_name(f), ch, diff);
    CHECK(info.samplerate == (int)tl->rate_hz && info.channels == (int)ch);
    /* libsndfile 1.2.0 stores and reads back all three tags in every one
     * of these formats (WAV: LIST/INFO; FLAC, Vorbis, Opus: Vorbis
     * comments; MP3: ID3v2), measured. */
    const char *t = sf_get_string(sf, SF_STR_TITLE);
    CHECKF(t && strcmp(t, o.title) == 0, "%s title: %s", export_format_name(f), t ? t : "(none)");
    const char *a = sf_get_string(sf, SF_STR_ARTIST);
    CHECKF(a && strcmp(a, o.artist) == 0, "%s artist", export_format_name(f));
    const char *c = sf_get_string(sf, SF_STR_COMMENT);
    CHECKF(c && strcmp(c, o.comment) == 0, "%s comment", export_format_name(f));

    sf_count_t n =
        info.frames < (sf_count_t)tl->len_frames ? info.frames : (sf_count_t)tl->len_frames;
    float *got = calloc(tl->len_frames * ch, sizeof *got);
    CHECK(sf_readf_float(sf, got, n) == n);
    sf_close(sf);

    double speech = rms(got, ch, ten), silence = rms(got, ch, quiet);
    CHECKF(speech > 0.05, "%s/%u: speech rms %.4f", export_format_name(f), ch, speech);
    CHECKF(silence < 0.003, "%s/%u: silence rms %.5f", export_format_name(f), ch, silence);
    if (f == EXPORT_WAV) {
        /* PCM_16: written as round(x * 32767), read as q / 32768. */
        double worst = 0;
        for (uint64_t i = 0; i < tl->len_frames * ch; i++) {
            double e = fabs((double)got[i] - ref[i]);
            if (e > worst) worst = e;
        }
        CHECKF(worst <= 1.5 / 32767, "wav/%u: max error %.3g", ch, worst);
    } else if (f == EXPORT_FLAC) {
        /* the parallel writer (flacpar.h): exactly the rendered samples as
         * 16-bit, round(x * 32767), read back as q / 32768 */
        size_t bad = 0;
        for (uint64_t i = 0; i < tl->len_frames * ch; i++)
            bad += lrintf(got[i] * 32768.0f) != lrintf(ref[i] * 32767.0f);
        CHECKF(bad == 0, "flac/%u: %zu samples differ from the renderer's", ch, bad);
    } else if (!lossless) {
        /* The speech region sounds like the reference (level within 2 dB). */
        double want = rms(ref, ch, ten);
        CHECKF(fabs(20 * log10(speech / want)) < 2.0, "%s/%u: %.4f vs %.4f", export_format_name(f),
               ch, speech, want);
    }
    free(got);
    printf("%s/%u: %lld bytes\n", export_format_name(f), ch, (long long)st.st_size);
}

static void test_formats(struct clipstore *cs48, struct clipstore *cs44)
{
    const char *dir = test_tmpdir("export-formats");
    struct timeline tl;
    struct span ten, quiet;
    build_timeline(&tl, cs48, 48000, 9.0, &ten, &quiet);
    for (uint32_t ch = 1; ch <= 2; ch++) {
        float *ref = render_all(&tl, cs48, ch);
        for (int f = 0; f < EXPORT_UNKNOWN; f++)
            check_format(&tl, cs48, dir, (enum export_format)f, ch, ten, quiet, ref);
        free(ref);
    }
    CHECK(count_entries(dir) == 2 * EXPORT_UNKNOWN); /* no temporary files left */
    timeline_free(&tl);

    /* 44.1 kHz: everything but Opus. */
    dir = test_tmpdir("export-44k");
    build_timeline(&tl, cs44, 44100, 9.0, &ten, &quiet);
    float *ref = render_all(&tl, cs44, 2);
    for (int f = 0; f < EXPORT_UNKNOWN; f++)
        if (f != EXPORT_OPUS)
            check_format(&tl, cs44, dir, (enum export_format)f, 2, ten, quiet, ref);
    free(ref);
    char path[4096], err[256] = "";
    snprintf(path, sizeof path, "%s/out.opus", dir);
    struct export_opts o = {.format = EXPORT_OPUS, .channels = 2};
    int rc = export_timeline(&tl, cs44, path, &o, err, sizeof err);
    CHECKF(rc == COACH_EFORMAT && strstr(err, "Opus") && strstr(err, "44100"), "opus 44.1: %d %s",
           rc, err);
    printf("opus at 44.1 kHz: %s\n", err);
    CHECK(access(path, F_OK) != 0);
    CHECK(count_entries(dir) == EXPORT_UNKNOWN - 1);
    timeline_free(&tl);
}

/* A target that must survive a failed export, byte for byte. */
static const char old_bytes[] = "previous export, must survive\n";

static void write_old(const char *path)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (!fp) return;
    fputs(old_bytes, fp);
    fclose(fp);
}

static int old_intact(const char *path)
{
    size_t len = 0;
    char *s = test_read_file(path, &len);
    int ok = s && len == strlen(old_bytes) && memcmp(s, old_bytes, len) == 0;
    free(s);
    return ok;
}

static void test_error_paths(struct clipstore *cs)
{
    struct timeline tl;
    build_timeline(&tl, cs, 48000, 60.0, NULL, NULL);
    char path[4096], err[256];
    int rc;

    /* A directory that does not exist. */
    const char *dir = test_tmpdir("export-fail");
    snprintf(path, sizeof path, "%s/missing/out.wav", dir);
    struct export_opts o = {.format = EXPORT_WAV, .channels = 1};
    errno = 0;
    rc = export_timeline(&tl, cs, path, &o, err, sizeof err);
    CHECKF(rc < 0 && errno == ENOENT && strstr(err, "cannot create temporary file in") &&
               strstr(err, "/missing"),
           "%d %s", rc, err);
    printf("missing dir: %s\n", err);
    CHECK(count_entries(dir) == 0);

    /* Cancel from the progress callback, over an existing target. */
    snprintf(path, sizeof path, "%s/out.flac", dir);
    write_old(path);
    volatile sig_atomic_t cancel = 0;
    struct progress_log pl = {.monotonic = 1, .cancel_after = 20, .cancel = &cancel};
    o = (struct export_opts){.format = EXPORT_FLAC,
                             .channels = 2,
                             .progress = on_progress,
                             .progress_ctx = &pl,
                             .cancel = &cancel};
    errno = 0;
    rc = export_timeline(&tl, cs, path, &o, err, sizeof err);
    CHECKF(rc == COACH_EINTR && errno == EINTR, "cancel: %d %s", rc, err);
    CHECK(pl.calls == 20); /* stopped at the next block */
    CHECK(old_intact(path));
    CHECK(count_entries(dir) == 1); /* the old target only: no temporary file */
    for (uint32_t i = 0; i < N_TEXTS; i++)
        CHECK(cs->clips[i].pcm == NULL);
    /* Cancelled before it starts: nothing written at all. */
    rc = export_timeline(&tl, cs, path, &o, err, sizeof err);
    CHECK(rc == COACH_EINTR && old_intact(path) && count_entries(dir) == 1);

    /* A write error: the file size limit makes write() fail with EFBIG
     * like a full disk fails with ENOSPC (works as root, unlike a
     * read-only directory; /dev/full cannot be renamed over). WAV fails
     * in sf_writef_float; MP3 with a tiny limit checks the error path of
     * encoders that buffer. */
    struct rlimit old_lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old_lim) == 0);
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    static const struct {
        enum export_format f;
        rlim_t limit;
    } lim_cases[] = {{EXPORT_WAV, 256 * 1024}, {EXPORT_MP3, 8 * 1024}, {EXPORT_OGG, 16 * 1024},
                     {EXPORT_FLAC, 24 * 1024}};
    for (size_t k = 0; k < sizeof lim_cases / sizeof lim_cases[0]; k++) {
        snprintf(path, sizeof path, "%s/full.%s", dir, export_format_name(lim_cases[k].f));
        write_old(path);
        struct rlimit lim = {lim_cases[k].limit, old_lim.rlim_max};
        CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
        o = (struct export_opts){.format = lim_cases[k].f, .channels = 1, .title = "t"};
        errno = 0;
        rc = export_timeline(&tl, cs, path, &o, err, sizeof err);
        int e = errno;
        CHECK(setrlimit(RLIMIT_FSIZE, &old_lim) == 0);
        CHECKF(rc == COACH_EIO && e == EFBIG && strstr(err, "write failed"), "%s: %d %s",
               export_format_name(lim_cases[k].f), rc, err);
        printf("file too big (%s): %s\n", export_format_name(lim_cases[k].f), err);
        CHECK(old_intact(path));
        CHECK(count_entries(dir) == 2 + (int)k); /* out.flac + the full.* so far */
        if (k == 3) CHECK(cs->clips[0].pcm == NULL); /* the window let go after the failure too */
    }
    signal(SIGXFSZ, old_sig);

    /* A read-only directory: root ignores permissions, so only as a user. */
    const char *ro = test_tmpdir("export-ro");
    if (geteuid() != 0) {
        CHECK(chmod(ro, 0555) == 0);
        snprintf(path, sizeof path, "%s/out.wav", ro);
        o = (struct export_opts){.format = EXPORT_WAV, .channels = 1};
        errno = 0;
        rc = export_timeline(&tl, cs, path, &o, err, sizeof err);
        CHECKF(rc == COACH_EIO && errno == EACCES && strstr(err, "Permission denied"), "%d %s", rc,
               err);
        chmod(ro, 0755);
        CHECK(count_entries(ro) == 0);
    } else {
        printf("read-only directory check skipped (running as root)\n");
    }

    /* Bad arguments fail before touching the disk. */
    snprintf(path, sizeof path, "%s/bad.wav", dir);
    o = (struct export_opts){.format = EXPORT_UNKNOWN, .channels = 1};
    CHECK(export_timeline(&tl, cs, path, &o, err, sizeof err) == COACH_EFORMAT);
    o = (struct export_opts){.format = EXPORT_WAV, .channels = 3};
    CHECK(export_timeline(&tl, cs, path, &o, err, sizeof err) == COACH_EINVAL);
    CHECK(access(path, F_OK) != 0);
    timeline_free(&tl);
}

/* A target large enough that its cached pages are dropped on a thread
 * while the export renders (export.c, old_target_start): a cancelled
 * export leaves it whole, byte for byte; a finished one replaces it. */
/* A process other than this one with `what` open (its /proc fd link);
 * *n_fds: how many descriptors it has. 0: none. */
static pid_t holder_of(const char *what, int *n_fds)
{
    DIR *proc = opendir("/proc");
    if (!proc) return 0;
    pid_t found = 0;
    for (struct dirent *d; !found && (d = readdir(proc));) {
        pid_t pid = (pid_t)atoi(d->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        char dir[64], link[320], to[4200];
        snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
        DIR *fds = opendir(dir);
        if (!fds) continue;
        int n = 0;
        for (struct dirent *f; (f = readdir(fds));) {
            if (f->d_name[0] == '.') continue;
            n++;
            snprintf(link, sizeof link, "%s/%s", dir, f->d_name);
            ssize_t len = readlink(link, to, sizeof to - 1);
            if (len > 0 && (to[len] = 0, strcmp(to, what) == 0)) found = pid;
        }
        closedir(fds);
        if (found) *n_fds = n;
    }
    closedir(proc);
    return found;
}

/* Waits up to 10 s for no process to hold `what`. */
static int let_go_of(const char *what)
{
    int n;
    for (int i = 0; i < 1000; i++) {
        if (!holder_of(what, &n)) return 1;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    return 0;
}

static void test_replace_large(struct clipstore *cs)
{
    struct timeline tl;
    build_timeline(&tl, cs, 48000, 60.0, NULL, NULL);
    const char *dir = test_tmpdir("export-large");
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/big.wav", dir);
    const size_t big = (size_t)6 << 20;
    unsigned char *old = malloc(big);
    CHECK(old != NULL);
    if (!old) return;
    for (size_t i = 0; i < big; i++) old[i] = (unsigned char)(i * 2654435761u >> 13);
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(old, 1, big, fp) == big);
    if (fp) fclose(fp);

    volatile sig_atomic_t cancel = 0;
    struct progress_log pl = {.monotonic = 1, .cancel_after = 5, .cancel = &cancel};
    struct export_opts o = {.format = EXPORT_WAV, .channels = 1, .progress = on_progress,
                            .progress_ctx = &pl, .cancel = &cancel};
    int rc = export_timeline(&tl, cs, path, &o, err, sizeof err);
    CHECKF(rc == COACH_EINTR, "cancel over a large target: %d %s", rc, err);
    size_t len = 0;
    char *now = test_read_file(path, &len);
    CHECK(now && len == big && memcmp(now, old, big) == 0);
    free(now);
    CHECK(count_entries(dir) == 1);
    replaced_let_go(); /* its holder ends, the file stays */
    CHECKF(let_go_of(path), "a process still holds %s", path);

    o = (struct export_opts){.format = EXPORT_WAV, .channels = 1};
    rc = export_timeline(&tl, cs, path, &o, err, sizeof err);
    CHECKF(rc == 0, "over a large target: %d %s", rc, err);
    /* The replaced file is held by a process of its own, with nothing else
     * open (no one's pipe held), until it is let go of; then it is freed. */
    char deleted[4200];
    snprintf(deleted, sizeof deleted, "%s (deleted)", path);
    int n_fds = 0;
    pid_t holder = holder_of(deleted, &n_fds);
    CHECKF(holder > 0 && n_fds == 2, "the replaced file: holder %d with %d descriptors",
           (int)holder, n_fds);
    replaced_let_go();
    CHECKF(let_go_of(deleted), "the replaced file is still held after 10 s");
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    CHECK(sf != NULL && info.frames == (sf_count_t)tl.len_frames && info.channels == 1);
    if (sf) sf_close(sf);
    CHECK(count_entries(dir) == 1);
    free(old);
    timeline_free(&tl);
}

/* A FLAC of a timeline without sound, 0 to a few frames long: a valid
 * stream (`flac -t`, when installed) of exactly that many silent frames. */
static void test_short_flac(void)
{
    const char *dir = test_tmpdir("export-short");
    static const uint64_t lens[] = {0, 1, 100, 4097};
    int flac_tool = system("command -v flac >/dev/null 2>&1") == 0;
    struct clipstore cs;
    clipstore_init(&cs, NULL, 48000);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        struct timeline tl = {.rate_hz = 48000, .len_frames = lens[k]};
        char path[4096], err[256] = "";
        snprintf(path, sizeof path, "%s/short-%llu.flac", dir, (unsigned long long)lens[k]);
        struct export_opts o = {.format = EXPORT_FLAC, .channels = 2, .title = "t"};
        int rc = export_timeline(&tl, &cs, path, &o, err, sizeof err);
        CHECKF(rc == 0, "%llu frames: %d %s", (unsigned long long)lens[k], rc, err);
        SF_INFO info = {0};
        SNDFILE *sf = sf_open(path, SFM_READ, &info);
        CHECKF(sf != NULL, "%s: %s", path, sf_strerror(NULL));
        if (!sf) continue;
        /* no samples: the length is unknown (0) in STREAMINFO */
        CHECK(info.frames == (lens[k] ? (sf_count_t)lens[k] : SF_COUNT_MAX) && info.channels == 2);
        short s[2 * 4097 + 2];
        sf_count_t n = sf_readf_short(sf, s, 4098);
        CHECK(n == (sf_count_t)lens[k]);
        int silent = 1;
        for (sf_count_t i = 0; i < 2 * n; i++) silent &= s[i] == 0;
        CHECK(silent);
        sf_close(sf);
        if (flac_tool) {
            char cmd[4200];
            snprintf(cmd, sizeof cmd, "flac -t -s '%s' 2>/dev/null", path);
            CHECKF(system(cmd) == 0, "flac -t %s", path);
        }
    }
    CHECK(count_entries(dir) == 4);
    clipstore_free(&cs);
}

/* A clip longer than the streaming window (a caution) is made as it is
 * heard (clipstore_prepare_streamed): the export is still the renderer's
 * output over the whole clip, sample for sample (FLAC, exact), where the
 * clip overlaps another, overlaps itself (a second use starting before
 * the first ends: made again from its start) and comes back after it was
 * released. */
static void test_long_clip(struct clipstore *cs)
{
    const char *dir = test_tmpdir("export-long");
    const uint32_t rate = 48000;
    uint32_t lid, tid;
    uint64_t llen, tlen;
    CHECK(clipstore_intern(cs, "Stop at once if you feel sharp pain, numbness or tingling in your "
                               "legs, and ask your doctor before you go on with these exercises.",
                           &lid, &llen) == 0);
    CHECK(clipstore_intern(cs, "Ten", &tid, &tlen) == 0);
    CHECKF(llen > 2 * CLIPS_STREAM_WINDOW_FRAMES, "the long clip is %llu frames",
           (unsigned long long)llen);
    struct timeline tl = {.rate_hz = rate, .n_clips = (uint32_t)cs->len, .cap_ev = 8};
    tl.ev = calloc(tl.cap_ev, sizeof *tl.ev);
    add_ev(&tl, EV_SPEECH, rate / 4, llen, lid);
    add_ev(&tl, EV_SPEECH, rate, tlen, tid);
    add_ev(&tl, EV_BEEP, 2 * (uint64_t)rate, tone_default_len(EV_BEEP, rate), 0);
    add_ev(&tl, EV_SPEECH, llen - rate, llen, lid);            /* over its own first use */
    add_ev(&tl, EV_SPEECH, 2 * llen + 15 * (uint64_t)rate, llen, lid); /* after a release */
    tl.len_frames = 3 * llen + 16 * (uint64_t)rate;

    clip_slot *slots = calloc(tl.n_clips, sizeof *slots);
    CHECK(clipstore_prepare(cs, lid) == 0 && clipstore_prepare(cs, tid) == 0);
    slots[lid] = cs->clips[lid].pcm;
    slots[tid] = cs->clips[tid].pcm;
    struct renderer r;
    float *ref = malloc(tl.len_frames * sizeof *ref);
    CHECK(render_init(&r, &tl, slots, 1, 4096) == 0);
    render_set_gain(&r, loudness_program_gain(LOUDNESS_PODCAST));
    render(&r, 0, ref, tl.len_frames);
    render_free(&r);
    clipstore_release(cs, lid);
    clipstore_release(cs, tid);
    free(slots);

    char path[4096];
    snprintf(path, sizeof path, "%s/long.flac", dir);
    struct export_opts o = {.format = EXPORT_FLAC, .channels = 1};
    char err[256] = "";
    int rc = export_timeline(&tl, cs, path, &o, err, sizeof err);
    CHECKF(rc == 0, "long clip: %d %s", rc, err);
    CHECK(cs->clips[lid].pcm == NULL && cs->clips[lid].stream == NULL); /* released */
    SF_INFO info = {0};
    SNDFILE *sf = rc ? NULL : sf_open(path, SFM_READ, &info);
    float *got = calloc(tl.len_frames, sizeof *got);
    CHECK(sf && info.frames == (sf_count_t)tl.len_frames &&
          sf_readf_float(sf, got, info.frames) == info.frames);
    if (sf) sf_close(sf);
    size_t bad = 0, first_bad = 0;
    for (uint64_t i = 0; i < tl.len_frames; i++)
        if (lrintf(got[i] * 32768.0f) != lrintf(ref[i] * 32767.0f) && !bad++) first_bad = i;
    CHECKF(bad == 0, "long clip: %zu samples differ from the renderer's, the first at %zu", bad,
           first_bad);
    CHECK(rms(got, 1, (struct span){rate / 4, rate / 4 + llen}) > 0.05);
    free(got);
    free(ref);
    free(tl.ev);
}

int main(void)
{
    umask(022);
    test_format_names();
    struct speech *sp = NULL;
    struct speech_settings set = {
        .espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &set) != 0) {
        fprintf(stderr, "espeak-ng unavailable: skipped\n");
        return 77;
    }
    struct clipstore cs48, cs44;
    clipstore_init(&cs48, sp, 48000);
    clipstore_init(&cs44, sp, 44100);
    test_formats(&cs48, &cs44);
    test_error_paths(&cs48);
    test_replace_large(&cs48);
    test_long_clip(&cs48);
    test_short_flac();
    clipstore_free(&cs48);
    clipstore_free(&cs44);
    speech_close(sp);
    return test_done();
}
