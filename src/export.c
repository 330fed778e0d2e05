/* The file sink: renders a whole timeline block by block with the renderer
 * and writes it with libsndfile (WAV as 16-bit PCM, Ogg Vorbis, MP3 into
 * a pipe) or with a parallel writer: FLAC (flacpar.h: libsndfile's bytes,
 * encoded on every core), Opus (opuspar.h, a file or a pipe). Speech clips
 * are prepared one block ahead of their first use and released after their
 * last, and a long one is made as it is heard (clipstore_prepare_streamed),
 * so memory stays flat however long the routine or its phrases are. The
 * renderer runs on the calling thread, the encoder on a second one (FLAC:
 * it feeds the writer's workers), a few blocks behind (blockq.h); an MP3
 * file (not a stream) or any Opus goes from there to mp3par.h or
 * opuspar.h, which encode segments on every core. The file is written
 * under a hidden temporary name in the target's directory, synced, and
 * renamed into place: a failure or a cancel removes the temporary file
 * and never touches an existing target. The chapters go inside, so players
 * can jump between steps: a WAV gets a cue point per chapter, the other
 * formats named chapters and tags (tags.h) written into the temporary file
 * before the rename.
 * Sidecar text files (captions, chapter lists) share the temporary-file and
 * rename machinery. A set of targets is locked for one coach at a time
 * (export_lock), which also removes the temporary files that a killed
 * coach left behind. */
#define _GNU_SOURCE /* sync_file_range; fsync, clock_gettime, O_DIRECTORY, fdopen, openat */

#include "coach/export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h> /* flock */
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coach/blockq.h"
#include "coach/clipahead.h"
#include "coach/clipwin.h"
#include "coach/common.h"
#include "coach/flacpar.h"
#include "coach/mp3par.h"
#include "coach/opuspar.h"
#include "coach/pcm16.h"
#include "coach/render.h"
#include "coach/replaced.h"
#include "coach/tags.h"

#define EXPORT_BLOCK_FRAMES 8192 /* per render + write; also the prepare lookahead */
/* Blocks rendered ahead of the encoder: enough to ride out one slow
 * clip preparation or page write (the threads meet every 4 blocks), small
 * next to the clips (8 x 32 KB mono). */
#define EXPORT_QUEUE_BLOCKS 8
#define EXPORT_PCM16_BLOCKS 16 /* a WAV's blocks written at once: 256 KB mono */
#define EXPORT_KICK_BYTES ((sf_count_t)4 << 20) /* written bytes sent on to the disk at a time */
/* Speech clips are made ahead of the renderer on a thread of their own
 * (clipahead.h), up to 6 s and 512 KB ahead. Measured on lower-back-relief
 * to WAV in tmpfs (median of 9): 1 s ahead 0.40 s, 3 s 0.35 s, 6 s 0.34 s,
 * 12 s 0.33 s; a bound of 512 KB, 1 MB or 2 MB the same speed, and 512 KB
 * kept the peak of an MP3 export where it was without the thread. */
#define EXPORT_MAKE_AHEAD_S 6
#define EXPORT_MAKE_AHEAD_BYTES ((size_t)512 << 10)

/* libsndfile's SFC_SET_COMPRESSION_LEVEL runs from 0 = best quality
 * (biggest file) to 1 = smallest file. Measured on a 48 kHz mono routine
 * (libsndfile 1.2.0): Vorbis 0.5 ~ 60-90 kbit/s, MP3 0.5 ~ 65 kbit/s VBR.
 * Opus maps the level linearly onto ~6-256 kbit/s per channel: 0.5 would
 * be a wasteful 108 kbit/s; 0.8 gives ~46 kbit/s, clean for speech and
 * tones, and still uses the fast CELT mode (0.85, ~32 kbit/s, switches to
 * hybrid mode and encodes 3x slower). FLAC is lossless: 0.5 (its level 4)
 * is as small as the default and fast. */
static double compression_level(enum export_format f)
{
    switch (f) {
    case EXPORT_OPUS:
        return 0.8;
    case EXPORT_OGG:
    case EXPORT_MP3:
    case EXPORT_FLAC:
        return 0.5;
    default:
        return -1; /* not applicable */
    }
}

static const struct {
    const char *name; /* for --format and messages */
    const char *ext;  /* file name extension (a second one below) */
    int sf_format;
} formats[] = {
    [EXPORT_WAV] = {"wav", ".wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
    [EXPORT_FLAC] = {"flac", ".flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
    [EXPORT_OGG] = {"ogg", ".ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS},
    [EXPORT_OPUS] = {"opus", ".opus", SF_FORMAT_OGG | SF_FORMAT_OPUS},
    [EXPORT_MP3] = {"mp3", ".mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III},
};

/* ASCII-only, so the locale cannot change what a file name means. */
static int eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a;
        int y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
        if (x != y) return 0;
    }
    return *a == *b;
}

enum export_format export_format_from_path(const char *path)
{
    if (!path) return EXPORT_UNKNOWN;
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot) return EXPORT_UNKNOWN;
    if (eq_nocase(dot, ".oga")) return EXPORT_OGG;
    for (int f = 0; f < EXPORT_UNKNOWN; f++)
        if (eq_nocase(dot, formats[f].ext)) return (enum export_format)f;
    return EXPORT_UNKNOWN;
}

enum export_format export_format_from_name(const char *name)
{
    if (!name) return EXPORT_UNKNOWN;
    for (int f = 0; f < EXPORT_UNKNOWN; f++)
        if (eq_nocase(name, formats[f].name)) return (enum export_format)f;
    return EXPORT_UNKNOWN;
}

const char *export_format_name(enum export_format f)
{
    return (unsigned)f < EXPORT_UNKNOWN ? formats[f].name : "unknown";
}


/* Hidden files beside a target NAME: ".STEM.coach-XXXXXX" while it is
 * written (XXXXXX random), ".STEM.coach-lock" while a coach holds it
 * (export_lock). STEM is NAME, or when that would pass the directory's
 * NAME_MAX (names of 242-255 bytes on most file systems), NAME's first
 * bytes and a hash of all of it. The tag tells our files from a user's
 * ".NAME.backup"; only files of this exact shape are ever removed. */
#define TEMP_TAG ".coach-"
#define TEMP_RANDOM_LEN 6
#define TEMP_LOCK "lock"
#define STEM_HASH_LEN 17 /* "~" and 16 hex digits */

static const char temp_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* FNV-1a: stable across processes and builds, as every coach must derive
 * the same stem from the same name. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static long dir_name_max(const char *dir)
{
    errno = 0;
    long m = pathconf(dir, _PC_NAME_MAX);
    return m > 0 ? m : 255;
}

/* STEM (above) for base in dir; heap, NULL when out of memory. */
static char *temp_stem(const char *dir, const char *base)
{
    size_t len = strlen(base);
    long room = dir_name_max(dir) - 1 - (long)strlen(TEMP_TAG) - TEMP_RANDOM_LEN;
    if ((long)len <= room) return coach_strdup(base);
    size_t keep = room > STEM_HASH_LEN ? (size_t)(room - STEM_HASH_LEN) : 0;
    while (keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80) keep--; /* whole UTF-8 chars */
    return coach_asprintf("%.*s~%016llx", (int)keep, base, (unsigned long long)name_hash(base));
}

/* The directory part of path ("." for a bare name, "/" for "/name"); heap. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return coach_strdup(".");
    if (slash == path) return coach_strdup("/");
    return coach_asprintf("%.*s", (int)(slash - path), path);
}

/* "<dir>/.STEM.coach-<suffix>" for path (relative when path is); heap. */
static char *hidden_name(const char *path, const char *stem, const char *suffix)
{
    const char *slash = strrchr(path, '/');
    return slash ? coach_asprintf("%.*s/.%s" TEMP_TAG "%s", (int)(slash - path), path, stem, suffix)
                 : coach_asprintf(".%s" TEMP_TAG "%s", stem, suffix);
}

/* Creates ".STEM.coach-XXXXXX" beside path with O_EXCL (what mkstemp
 * does) but with mode 0666, so the umask applies and the renamed file gets
 * the permissions of a normally created one (mkstemp's are 0600). The
 * descriptor holds a flock() on the file as long as it (or a dup of it)
 * is open: a file nobody holds locked is an orphan (remove_orphans). */
static int create_temp(const char *path, char **tmp_out, char **dir_out)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = dir_of(path);
    if (!dir) return COACH_ENOMEM;
    *dir_out = dir;
    if (!*base) {
        errno = EISDIR;
        return COACH_EIO;
    }
    char *stem = temp_stem(dir, base);
    if (!stem) return COACH_ENOMEM;
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
    int rc = COACH_EIO;
    for (int attempt = 0; attempt < 100; attempt++) {
        char suffix[TEMP_RANDOM_LEN + 1];
        uint64_t h = (x + ++counter) * 0x9E3779B97F4A7C15ull; /* spread the bits */
        for (int i = 0; i < TEMP_RANDOM_LEN; i++, h >>= 6)
            suffix[i] = temp_chars[(h >> 4) % 62];
        suffix[TEMP_RANDOM_LEN] = 0;
        char *tmp = hidden_name(path, stem, suffix);
        if (!tmp) {
            rc = COACH_ENOMEM;
            break;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            (void)flock(fd, LOCK_EX | LOCK_NB); /* new: nobody else holds it */
            *tmp_out = tmp;
            free(stem);
            return fd;
        }
        int e = errno;
        free(tmp);
        errno = e;
        if (e != EEXIST) break;
    }
    int e = errno; /* EEXIST after 100 tries */
    free(stem);
    errno = e;
    return rc;
}

/* A second descriptor of fd: it keeps the temporary file's lock while fd
 * is closed (to see close's errors) until the rename; -1 if none. */
static int hold_lock(int fd)
{
    return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* Removes the hidden temporary files of dir/STEM that no live writer
 * holds: a writer keeps its file locked until the rename, so one whose
 * lock can be taken lost its writer (SIGKILL, the OOM killer, a crash).
 * Called under export_lock, so no coach of ours is between creating a
 * temporary file and locking it. Returns how many were removed. */
static int remove_orphans(const char *dir, const char *stem)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t stem_len = strlen(stem), tag_len = strlen(TEMP_TAG);
    size_t prefix_len = 1 + stem_len + tag_len;
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strlen(name) != prefix_len + TEMP_RANDOM_LEN || name[0] != '.' ||
            strncmp(name + 1, stem, stem_len) != 0 ||
            strncmp(name + 1 + stem_len, TEMP_TAG, tag_len) != 0 ||
            strspn(name + prefix_len, temp_chars) != TEMP_RANDOM_LEN)
            continue;
        int fd = openat(dirfd(d), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) continue; /* not ours to judge (another user's, unreadable) */
        struct stat held, now;
        if (fstat(fd, &held) == 0 && S_ISREG(held.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            fstatat(dirfd(d), name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
            held.st_dev == now.st_dev && held.st_ino == now.st_ino &&
            unlinkat(dirfd(d), name, 0) == 0)
            removed++;
        close(fd);
    }
    closedir(d);
    return removed;
}

/* Why path cannot exist: its last part passes the directory's NAME_MAX,
 * or the whole path passes PATH_MAX. */
static void too_long(const char *path, char *err, size_t err_cap)
{
    const char *slash = strrchr(path, '/');
    size_t len = strlen(slash ? slash + 1 : path);
    char *dir = dir_of(path);
    long max = dir ? dir_name_max(dir) : 255;
    free(dir);
    if ((long)len > max)
        coach_set_err(err, err_cap, "the file name is too long: at most %ld bytes here, not %zu", max,
                len);
    else
        coach_set_err(err, err_cap, "the path is too long: at most %d bytes, not %zu", PATH_MAX - 1,
                strlen(path));
}

/* What already sits at path must be a regular file: never a directory,
 * and never a device, pipe or socket (renaming over /dev/full would
 * replace the device node, and a temporary file would land in /dev). 0,
 * or COACH_EIO with errno and err set. */
static int check_kind(const char *path, char *err, size_t err_cap)
{
    const char *slash = strrchr(path, '/');
    struct stat st;
    if (!*(slash ? slash + 1 : path)) { /* "dir/" */
        coach_set_err(err, err_cap, "is a directory");
        errno = EISDIR;
        return COACH_EIO;
    }
    if (stat(path, &st) != 0) {
        /* a new file (or a dangling link); a missing or bad directory is
         * reported by whoever creates the temporary file */
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        int e = errno;
        if (e == ENAMETOOLONG)
            too_long(path, err, err_cap);
        else
            coach_set_err(err, err_cap, "cannot check it: %s", strerror(e));
        errno = e;
        return COACH_EIO;
    }
    if (S_ISDIR(st.st_mode)) {
        coach_set_err(err, err_cap, "is a directory");
        errno = EISDIR;
        return COACH_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        coach_set_err(err, err_cap, "is not a regular file (a device, pipe or socket): coach writes "
                              "regular files only");
        errno = EINVAL;
        return COACH_EIO;
    }
    return 0;
}

/* An existing file without write permission is a wish to keep it: it is
 * not replaced (a rename could, as the directory allows it). Root passes
 * every access() check, so a file nobody may write (0444) is read-only by
 * its mode bits, whoever asks. */
static int check_replaceable(const char *path, char *err, size_t err_cap)
{
    struct stat st;
    if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0) {
        if (stat(path, &st) != 0 || (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))) return 0;
        errno = EACCES;
    } else if (errno == ENOENT) {
        return 0;
    }
    int e = errno;
    if (e == EROFS)
        coach_set_err(err, err_cap, "is on a read-only file system");
    else
        coach_set_err(err, err_cap, "the file exists and is read-only (%s): it is not replaced",
                strerror(e));
    errno = e;
    return COACH_EIO;
}

static int check_existing(const char *path, char *err, size_t err_cap)
{
    int rc = check_kind(path, err, err_cap);
    return rc ? rc : check_replaceable(path, err, err_cap);
}

int export_check_target(const char *path, char *err, size_t err_cap)
{
    if (err && err_cap) err[0] = 0;
    if (!path || !*path) {
        coach_set_err(err, err_cap, "no file name");
        errno = EINVAL;
        return COACH_EINVAL;
    }
    /* what is there first (a device says more than its directory), then
     * the directory (on a read-only file system, that is the news), then
     * the file's own permission */
    int rc = check_kind(path, err, err_cap);
    if (rc) return rc;
    char *dir = dir_of(path);
    if (!dir) {
        coach_set_err(err, err_cap, "out of memory");
        errno = ENOMEM;
        return COACH_ENOMEM;
    }
    struct stat st;
    int e = 0;
    if (stat(dir, &st) != 0) {
        e = errno;
        if (e == ENOENT)
            coach_set_err(err, err_cap, "the directory %s does not exist", dir);
        else
            coach_set_err(err, err_cap, "cannot reach the directory %s: %s", dir, strerror(e));
    } else if (!S_ISDIR(st.st_mode)) {
        e = ENOTDIR;
        coach_set_err(err, err_cap, "%s is not a directory", dir);
    } else if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
        e = errno;
        coach_set_err(err, err_cap, "cannot write in the directory %s: %s", dir, strerror(e));
    }
    free(dir);
    errno = e;
    return e ? COACH_EIO : check_replaceable(path, err, err_cap);
}

/* libsndfile writes through these callbacks instead of its own file layer:
 * some encoders (Ogg pages, the final flush in sf_close) ignore short
 * writes, so the first write error is recorded here, sticky, and checked
 * after every block and after sf_close. */
struct vio_file {
    int fd;
    int err;         /* first errno of a failed write/seek, 0 if none */
    bool stream;     /* a pipe (export_stream): written in order, never sought */
    sf_count_t pos;  /* bytes written so far */
    sf_count_t kicked; /* a file: bytes before this are on their way to the disk */
};

static sf_count_t vio_filelen(void *u)
{
    struct vio_file *v = u;
    struct stat st;
    if (v->stream) return v->pos;
    return fstat(v->fd, &st) == 0 ? (sf_count_t)st.st_size : -1;
}

/* A stream refuses every seek but to where it is: the encoders that go
 * back at sf_close to fill in a length (FLAC's STREAMINFO, MP3's Xing tag)
 * then leave it unknown, which decoders accept; not an error. */
static sf_count_t vio_seek(sf_count_t off, int whence, void *u)
{
    struct vio_file *v = u;
    if (v->stream) {
        sf_count_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? v->pos + off : -1;
        if (to == v->pos) return v->pos;
        errno = ESPIPE;
        return -1;
    }
    off_t r = lseek(v->fd, (off_t)off, whence);
    if (r < 0 && !v->err) v->err = errno;
    return (sf_count_t)r;
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *u)
{
    struct vio_file *v = u;
    sf_count_t done = 0;
    while (done < count) {
        ssize_t r = read(v->fd, (char *)ptr + done, (size_t)(count - done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        done += r;
    }
    return done;
}

/* A file's written bytes are sent on to the disk every EXPORT_KICK_BYTES
 * (sync_file_range starts the writeback and does not wait), so the fsync
 * before the rename waits only for the last few, and the writer is not
 * held up when the kernel's dirty-page limit is reached: measured,
 * lower-back-relief to WAV (103 MB), warm: the fsync and the throttled
 * writes were a third of the export. Advice only: where it is refused
 * (not Linux, a pipe) nothing changes. */
static void writeback(struct vio_file *v)
{
#ifdef SYNC_FILE_RANGE_WRITE
    if (v->stream || v->pos - v->kicked < EXPORT_KICK_BYTES) return;
    sync_file_range(v->fd, v->kicked, v->pos - v->kicked, SYNC_FILE_RANGE_WRITE);
    v->kicked = v->pos;
#else
    (void)v;
#endif
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *u)
{
    struct vio_file *v = u;
    sf_count_t done = 0;
    while (done < count) {
        ssize_t r = write(v->fd, (const char *)ptr + done, (size_t)(count - done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (!v->err) v->err = r < 0 ? errno : EIO;
            break;
        }
        done += r;
    }
    v->pos += done;
    writeback(v);
    return done;
}

static sf_count_t vio_tell(void *u)
{
    struct vio_file *v = u;
    return v->stream ? v->pos : (sf_count_t)lseek(v->fd, 0, SEEK_CUR);
}

/* One WAV cue point per chapter at its first frame. libsndfile takes them
 * only before the first write, and only for WAV (its other writers ignore
 * them). The struct is variable-length (SF_CUES_VAR): libsndfile 1.2.0
 * copies cue_count points, measured to work beyond SF_CUES's 100. */
static int set_wav_cues(SNDFILE *f, const struct timeline *tl)
{
    if (tl->n_ch == 0) return 0;
    size_t size = offsetof(SF_CUES, cue_points) + tl->n_ch * sizeof(SF_CUE_POINT);
    if (size > INT32_MAX) return COACH_EINVAL;
    SF_CUES *cues = calloc(1, size);
    if (!cues) return COACH_ENOMEM;
    cues->cue_count = (uint32_t)tl->n_ch;
    for (size_t i = 0; i < tl->n_ch; i++) {
        /* WAV positions are 32-bit; a 16-bit WAV cannot pass 2^31 frames */
        uint32_t pos = tl->ch[i].frame > UINT32_MAX ? UINT32_MAX : (uint32_t)tl->ch[i].frame;
        cues->cue_points[i] = (SF_CUE_POINT){.indx = (int32_t)(i + 1),
                                             .position = pos,
                                             .fcc_chunk = 0x61746164, /* "data", little-endian */
                                             .sample_offset = pos};
    }
    int ok = sf_command(f, SFC_SET_CUE, cues, (int)size) == SF_TRUE;
    free(cues);
    return ok ? 0 : COACH_EFORMAT;
}

/* libsndfile writes a WAV header with sizes it fills in at sf_close, by
 * seeking back, which a pipe cannot (it writes a second header instead).
 * The length is known before the first sample, so a stream gets the
 * canonical 44-byte header with its exact sizes here, and libsndfile
 * writes the samples after it as raw 16-bit little-endian PCM, converted
 * exactly as in a WAV file. Past 4 GiB the sizes say 0xFFFFFFFF, "until
 * the end", the convention for WAV streams. */
static int write_wav_stream_header(struct vio_file *v, const struct timeline *tl,
                                   uint32_t channels)
{
    uint64_t data = tl->len_frames * channels * 2;
    uint32_t data32 = data > UINT32_MAX - 36 ? UINT32_MAX : (uint32_t)data;
    uint32_t riff32 = data32 == UINT32_MAX ? UINT32_MAX : data32 + 36;
    uint32_t fields[] = {riff32, 16, 1 | channels << 16, tl->rate_hz, tl->rate_hz * channels * 2,
                         (channels * 2) | 16 << 16, data32};
    unsigned char h[44];
    memcpy(h, "RIFF", 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    memcpy(h + 36, "data", 4);
    static const unsigned char at[] = {4, 16, 20, 24, 28, 32, 40};
    for (size_t i = 0; i < sizeof at; i++)
        for (int b = 0; b < 4; b++) h[at[i] + b] = (unsigned char)(fields[i] >> (8 * b));
    return vio_write(h, sizeof h, v) == (sf_count_t)sizeof h ? 0 : COACH_EIO;
}

static SNDFILE *open_sndfile(struct vio_file *v, const struct timeline *tl,
                             const struct export_opts *o, char *err, size_t err_cap)
{
    static SF_VIRTUAL_IO vio = {vio_filelen, vio_seek, vio_read, vio_write, vio_tell};
    SF_INFO info = {.samplerate = (int)tl->rate_hz,
                    .channels = (int)o->channels,
                    .format = formats[o->format].sf_format};
    const bool wav_stream = v->stream && o->format == EXPORT_WAV;
    if (wav_stream) {
        info.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
        if (write_wav_stream_header(v, tl, o->channels) != 0) {
            coach_set_err(err, err_cap, "write failed: %s", strerror(v->err));
            errno = v->err;
            return NULL;
        }
    }
    SNDFILE *f = sf_open_virtual(&vio, SFM_WRITE, &info, v);
    if (!f && v->err) {
        coach_set_err(err, err_cap, "write failed: %s", strerror(v->err));
        errno = v->err;
        return NULL;
    } else if (!f) {
        coach_set_err(err, err_cap, "cannot write %s at %u Hz, %u channel(s): %s",
                formats[o->format].name, tl->rate_hz, o->channels, sf_strerror(NULL));
        return NULL;
    }
    /* Tags go in before any audio: FLAC, Ogg and MP3 write them up front.
     * A format that cannot store one just goes without. */
    if (o->title && *o->title) sf_set_string(f, SF_STR_TITLE, o->title);
    if (o->artist && *o->artist) sf_set_string(f, SF_STR_ARTIST, o->artist);
    if (o->comment && *o->comment) sf_set_string(f, SF_STR_COMMENT, o->comment);
    double level = compression_level(o->format);
    if (level >= 0) sf_command(f, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level);
    if (o->format == EXPORT_WAV && !o->to_frame && !wav_stream && set_wav_cues(f, tl) != 0) {
        coach_set_err(err, err_cap, "cannot write cue points: %s", sf_strerror(f));
        sf_close(f);
        return NULL;
    }
    return f;
}

/* The encoder thread: writes the rendered blocks in order with
 * libsndfile (or hands them to the FLAC writer's workers), which only it
 * touches between the writer's opening and the join. The first failed
 * write aborts the queue, which stops the renderer. */
struct encoder {
    SNDFILE *f;
    int16_t *pcm16; /* blocks as 16-bit PCM, for f in WAV (pcm16.h); NULL: floats to f */
    size_t pcm16_frames; /* held in pcm16, not written yet */
    unsigned channels;
    struct flacpar *fp; /* instead of f: a FLAC file (open_writer) */
    struct mp3par *mp3; /* instead of f: an MP3 file encoded on every core */
    struct opuspar *opus; /* instead of f: an Opus file encoded on every core */
    struct vio_file *v;
    struct blockq *q;
    bool failed; /* read after the join */
};

/* WAV's 16-bit PCM made here, libsndfile's bytes (pcm16.h), and handed to
 * it EXPORT_PCM16_BLOCKS blocks at a time, which it writes as they are in
 * one write(): it converted floats one sample at a time and wrote 8 KB at a
 * time (13,180 writes for the longest routine; now 412). */
static bool flush_pcm16(struct encoder *e)
{
    sf_count_t n = (sf_count_t)e->pcm16_frames;
    e->pcm16_frames = 0;
    return n == 0 || (sf_writef_short(e->f, e->pcm16, n) == n && !e->v->err);
}

static bool write_pcm16(struct encoder *e, const float *block, size_t frames)
{
    if (e->pcm16_frames + frames > EXPORT_PCM16_BLOCKS * EXPORT_BLOCK_FRAMES && !flush_pcm16(e))
        return false;
    if (!pcm16_from_float(block, e->pcm16 + e->pcm16_frames * e->channels, frames * e->channels))
        return flush_pcm16(e) && /* a wild sample: libsndfile's own conversion */
               sf_writef_float(e->f, block, (sf_count_t)frames) == (sf_count_t)frames && !e->v->err;
    e->pcm16_frames += frames;
    return e->pcm16_frames < EXPORT_PCM16_BLOCKS * EXPORT_BLOCK_FRAMES || flush_pcm16(e);
}

static void *encode_blocks(void *arg)
{
    struct encoder *e = arg;
    size_t n;
    const float *block;
    while ((block = blockq_peek(e->q, &n)) != NULL) {
        bool ok = e->mp3    ? mp3par_write(e->mp3, block, n) == 0
                : e->opus ? opuspar_write(e->opus, block, n) == 0
                : e->fp ? flacpar_write(e->fp, block, n) == 0
                : e->pcm16 ? write_pcm16(e, block, n)
                        : sf_writef_float(e->f, block, (sf_count_t)n) == (sf_count_t)n && !e->v->err;
        if (!ok) {
            if (e->fp && flacpar_error(e->fp, &e->v->err) && !e->v->err) e->v->err = EIO;
            e->failed = true;
            blockq_abort(e->q);
            break;
        }
        blockq_release(e->q);
    }
    /* the end of the stream (not an abort): what is held is written */
    if (!e->failed && e->pcm16 && !blockq_aborted(e->q) && !flush_pcm16(e)) e->failed = true;
    return NULL;
}

/* Renders every block into the queue (the clip window one block ahead)
 * while the encoder thread writes the blocks before it, so rendering and
 * encoding use both cores; the blocks, and so the file, are the same as
 * rendered and written one after the other. Returns 0 or negative with err
 * set. */
static int write_all(SNDFILE *f, struct flacpar *fp, struct mp3par *mp3, struct opuspar *opus,
                     struct vio_file *v,
                     const struct timeline *tl,
                     struct clipwin *w, const struct export_opts *o, char *err, size_t err_cap)
{
    const uint64_t first = o->to_frame ? o->from_frame : 0;
    const uint64_t total = o->to_frame ? o->to_frame : tl->len_frames;
    const size_t block = EXPORT_BLOCK_FRAMES;
    struct renderer r;
    struct blockq q;
    int rc = blockq_init(&q, EXPORT_QUEUE_BLOCKS, block * o->channels);
    if (rc) {
        coach_set_err(err, err_cap, "%s", coach_strerror(rc));
        return rc;
    }
    rc = render_init(&r, tl, w->slots, o->channels, block);
    if (rc == 0 && render_set_music(&r, o->music) != 0) {
        render_free(&r);
        blockq_free(&q);
        coach_set_err(err, err_cap, "music at %u Hz does not match the output rate %u Hz",
                o->music->rate_hz, tl->rate_hz);
        return COACH_EINVAL;
    }
    if (rc) {
        blockq_free(&q);
        coach_set_err(err, err_cap, "%s", coach_strerror(rc));
        return rc;
    }
    render_set_gain(&r, loudness_program_gain(o->loudness));
    struct encoder enc = {.f = f, .fp = fp, .mp3 = mp3, .opus = opus, .v = v, .q = &q,
                          .channels = o->channels};
    if (f && o->format == EXPORT_WAV) /* no memory: libsndfile converts, the same bytes */
        enc.pcm16 = malloc(EXPORT_PCM16_BLOCKS * block * o->channels * sizeof *enc.pcm16);
    pthread_t thread;
    rc = coach_thread_start(&thread, encode_blocks, &enc); /* the cancel is checked here */
    if (rc) {
        render_free(&r);
        blockq_free(&q);
        free(enc.pcm16);
        coach_set_err(err, err_cap, "cannot start the encoder: %s", coach_strerror(rc));
        return rc;
    }
    struct clipahead *ahead = NULL;
    const struct clipahead_policy ap = {.first_frame = first,
                                        .ahead_frames = (uint64_t)EXPORT_MAKE_AHEAD_S * tl->rate_hz,
                                        .max_bytes = EXPORT_MAKE_AHEAD_BYTES};
    if (clipahead_start(&ahead, w->cs, tl, &w->pol, &ap) != 0)
        ahead = NULL; /* no memory for it: every clip made here, as before */
    for (uint64_t a = first; a < total;) {
        if (o->cancel && *o->cancel) {
            rc = COACH_EINTR;
            break;
        }
        size_t n = total - a < block ? (size_t)(total - a) : block;
        clipahead_advance(ahead, a);
        rc = clipwin_update(w, a, CLIPWIN_NO_WANT, 0);
        if (rc) {
            coach_set_err(err, err_cap, "cannot prepare speech: %s", coach_strerror(rc));
            break;
        }
        float *buf = blockq_acquire(&q);
        if (!buf) {
            rc = COACH_EIO; /* the encoder failed: its error is told below */
            break;
        }
        render(&r, a, buf, n);
        blockq_publish(&q, n);
        a += n;
        if (o->progress) o->progress(o->progress_ctx, a - first, total - first);
    }
    clipahead_stop(ahead, NULL);
    if (rc)
        blockq_abort(&q);
    else
        blockq_close(&q); /* the encoder writes what is queued, then ends */
    pthread_join(thread, NULL);
    if (mp3 && !v->err) v->err = mp3par_errno(mp3);
    if (opus && !v->err) v->err = opuspar_errno(opus);
    if (enc.failed && (rc == 0 || rc == COACH_EIO) && (mp3 || opus) && !v->err) {
        coach_set_err(err, err_cap, "cannot encode %s: %s", mp3 ? "MP3" : "Opus",
                      coach_strerror(mp3 ? mp3par_write(mp3, NULL, 0) : opuspar_write(opus, NULL, 0)));
        rc = COACH_EIO;
    } else if (enc.failed && (rc == 0 || rc == COACH_EIO)) {
        errno = v->err ? v->err : EIO;
        coach_set_err(err, err_cap, "write failed: %s", v->err ? strerror(v->err) : sf_strerror(f));
        rc = COACH_EIO;
    }
    if (rc == 0 && o->cancel && *o->cancel) rc = COACH_EINTR; /* set in the last progress */
    if (rc == COACH_EINTR) {
        errno = EINTR;
        coach_set_err(err, err_cap, "interrupted");
    }
    uint64_t missing = atomic_load(&r.missing_clips);
    if (rc == 0 && missing) { /* a bug here, but never ship silent speech */
        coach_set_err(err, err_cap, "internal error: %llu speech clip(s) not ready in time",
                (unsigned long long)missing);
        rc = COACH_EIO;
    }
    render_free(&r);
    blockq_free(&q);
    free(enc.pcm16);
    return rc;
}

/* The file's writer: FLAC goes to the parallel writer (flacpar.h: a
 * file gets libsndfile's bytes, encoded on every core; a pipe a header
 * with the length, where libsndfile left it unknown and appended the
 * values it could not seek back to), every other format to libsndfile.
 * 0 or negative with err set; *f or *fp is set. */
static int open_writer(struct vio_file *v, SNDFILE **f, struct flacpar **fp,
                       const struct timeline *tl, const struct export_opts *o, char *err,
                       size_t err_cap)
{
    if (o->format == EXPORT_FLAC) {
        uint64_t frames = o->to_frame ? o->to_frame - o->from_frame : tl->len_frames;
        const struct flacpar_opts fo = {.rate_hz = tl->rate_hz, .channels = o->channels,
                                        .title = o->title, .artist = o->artist,
                                        .comment = o->comment, .stream = v->stream,
                                        .stream_frames = frames, .workers = o->encode_workers};
        return flacpar_open(fp, v->fd, &fo, err, err_cap);
    }
    *f = open_sndfile(v, tl, o, err, err_cap);
    return *f ? 0 : v->err ? COACH_EIO : COACH_EFORMAT;
}

/* Finishes the file: the encoders write their last frames (sf_close,
 * flacpar_finish). 0 or negative with errno and err set. */
static int close_writer(SNDFILE **f, struct flacpar **fp, struct vio_file *v, char *err,
                        size_t err_cap)
{
    if (*fp) {
        int rc = flacpar_finish(*fp), e = errno;
        flacpar_free(*fp);
        *fp = NULL;
        if (rc) {
            coach_set_err(err, err_cap, "write failed: %s", strerror(e));
            errno = e;
        }
        return rc;
    }
    int sf_rc = sf_close(*f);
    *f = NULL;
    if (sf_rc || v->err) {
        errno = v->err ? v->err : EIO;
        coach_set_err(err, err_cap, "write failed: %s", v->err ? strerror(v->err) : sf_error_number(sf_rc));
        return COACH_EIO;
    }
    return 0;
}

/* Makes the rename durable; best effort (some filesystems refuse). */
static void sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

/* What export_timeline and export_stream refuse before any work: 0 or
 * negative with err set. */
static int check_args(const struct timeline *tl, const struct clipstore *cs,
                      const struct export_opts *o, char *err, size_t err_cap)
{
    if (err && err_cap) err[0] = 0;
    if (!tl || !cs || !o || (o->channels != 1 && o->channels != 2)) {
        coach_set_err(err, err_cap, "invalid export arguments");
        return COACH_EINVAL;
    }
    if (o->to_frame && (o->to_frame <= o->from_frame || o->to_frame > tl->len_frames)) {
        coach_set_err(err, err_cap, "invalid range of frames");
        return COACH_EINVAL;
    }
    if ((unsigned)o->format >= EXPORT_UNKNOWN) {
        coach_set_err(err, err_cap, "unknown output format");
        return COACH_EFORMAT;
    }
    if (tl->rate_hz == 0 || tl->rate_hz > INT32_MAX) {
        coach_set_err(err, err_cap, "invalid sample rate %u Hz", tl->rate_hz);
        return COACH_EINVAL;
    }
    if (o->format == EXPORT_OPUS) {
        static const uint32_t ok[] = {8000, 12000, 16000, 24000, 48000};
        int found = 0;
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
            found |= tl->rate_hz == ok[i];
        if (!found) {
            coach_set_err(err, err_cap,
                    "Opus supports only 8000, 12000, 16000, 24000 and 48000 Hz, not %u Hz",
                    tl->rate_hz);
            return COACH_EFORMAT;
        }
    }
    return 0;
}

/* The clip window of an export: one block ahead, a clip kept while it is
 * used again within EXPORT_KEEP_S (the counts of a set, the phrases of the
 * next set or side) and freed otherwise (the renderer runs here, so at
 * once): kept to its last use, the numbers and other reused phrases would
 * stay in memory for the whole export. 30 s rather than 10: a sixth less
 * speech prepared (lower-back-relief: 431 s instead of 510 s, for 339 s of
 * distinct speech), the same peak; 60 s saved more (386 s) but held
 * 1.3 MB more at the peak.
 * A clip longer than a streaming window is streamed (and not kept to its
 * last use): a 25 s caution held whole was 4.8 MB of an export's peak.
 * *slots is the caller's to free, also on failure. 0 or negative, err set. */
#define EXPORT_KEEP_S 30

static int open_window(struct clipwin *w, clip_slot **slots, const struct timeline *tl,
                       struct clipstore *cs, char *err, size_t err_cap)
{
    const struct clipwin_policy pol = {.ahead_frames = 2 * EXPORT_BLOCK_FRAMES,
                                       .keep_frames = (uint64_t)EXPORT_KEEP_S * tl->rate_hz,
                                       /* the limiter reads the mix before a block */
                                       .behind_frames = render_limit_before_frames(tl->rate_hz),
                                       /* the longest clips (cautions, 10-30 s)
                                          made as they are heard */
                                       .stream_min_frames = CLIPS_STREAM_WINDOW_FRAMES + 1};
    size_t nc = tl->n_clips ? tl->n_clips : 1;
    *slots = calloc(nc, sizeof **slots);
    int rc = *slots ? clipwin_init(w, cs, *slots, tl->n_clips, &pol) : COACH_ENOMEM;
    if (rc) {
        coach_set_err(err, err_cap, "out of memory");
        return rc;
    }
    return clipwin_set_timeline(w, tl, err, err_cap);
}

/* libsndfile's Opus bitrate for a compression level (ogg_opus.c: 6 to
 * 256 kbit/s per channel), the same expression so the same integer. */
static int opus_bitrate(double level, uint32_t channels)
{
    return (int)(((1.0 - level) * (250000.0)) + 6000.0) * (int)channels;
}

/* An MP3 or Opus file, encoded on every core (mp3par.h, opuspar.h):
 * libsndfile's encoder settings at compression_level's level, one encoder
 * per segment. */
static int write_segmented(struct vio_file *v, const struct timeline *tl, struct clipwin *w,
                           const struct export_opts *o, char *err, size_t err_cap)
{
    const bool is_mp3 = o->format == EXPORT_MP3;
    const uint64_t frames = o->to_frame ? o->to_frame - o->from_frame : tl->len_frames;
    struct mp3par *m = NULL;
    struct opuspar *op = NULL;
    int rc;
    if (is_mp3) {
        const struct mp3par_opts mo = {.rate_hz = tl->rate_hz, .channels = o->channels, .len_frames = frames,
                                       .vbr_quality = 10.0 * compression_level(EXPORT_MP3),
                                       .title = o->title, .artist = o->artist, .comment = o->comment};
        rc = mp3par_open(&m, v->fd, &mo);
    } else {
        const struct opuspar_opts oo = {.rate_hz = tl->rate_hz, .channels = o->channels, .len_frames = frames,
                                        .bitrate_bps = opus_bitrate(compression_level(EXPORT_OPUS), o->channels),
                                        .stream = v->stream,
                                        .title = o->title, .artist = o->artist, .comment = o->comment};
        rc = opuspar_open(&op, v->fd, &oo);
    }
    const char *name = is_mp3 ? "MP3" : "Opus";
    if (rc == COACH_EFORMAT && is_mp3)
        coach_set_err(err, err_cap, "cannot write mp3 at %u Hz, %u channel(s)", tl->rate_hz, o->channels);
    else if (rc == COACH_EFORMAT)
        coach_set_err(err, err_cap,
                      "cannot write opus at %u Hz, %u channel(s): Opus takes only 8000, 12000, 16000, 24000 "
                      "or 48000 Hz (--rate)", tl->rate_hz, o->channels);
    else if (rc == 0)
        rc = write_all(NULL, NULL, m, op, v, tl, w, o, err, err_cap);
    else if (rc != COACH_EIO)
        coach_set_err(err, err_cap, "cannot start the %s encoder: %s", name, coach_strerror(rc));
    if ((m || op) && rc == 0) rc = m ? mp3par_finish(m) : opuspar_finish(op);
    int e = m ? mp3par_errno(m) : op ? opuspar_errno(op) : rc == COACH_EIO ? errno : 0;
    if (e) { /* a failed write, here or on the encoder thread */
        errno = e;
        coach_set_err(err, err_cap, "write failed: %s", strerror(e));
        rc = COACH_EIO;
    } else if (rc && err && !*err) {
        coach_set_err(err, err_cap, "cannot encode %s: %s", name, coach_strerror(rc));
    }
    int saved = e ? e : errno;
    mp3par_free(m);
    opuspar_free(op);
    errno = saved;
    return rc;
}

int export_timeline(const struct timeline *tl, struct clipstore *cs, const char *path,
                    const struct export_opts *o, char *err, size_t err_cap)
{
    int rc = check_args(tl, cs, o, err, err_cap);
    if (rc) return rc;
    if (!path) {
        coach_set_err(err, err_cap, "invalid export arguments");
        return COACH_EINVAL;
    }
    rc = check_existing(path, err, err_cap);
    if (rc) return rc;
    struct replaced old;
    replaced_start(&old, path);

    struct clipwin w = {0};
    clip_slot *slots = NULL;
    char *tmp = NULL, *dir = NULL;
    SNDFILE *f = NULL;
    struct flacpar *fp = NULL;
    struct vio_file v = {.fd = -1};
    int fd = -1, hold = -1;
    rc = open_window(&w, &slots, tl, cs, err, err_cap);
    if (rc) goto out;

    fd = create_temp(path, &tmp, &dir);
    if (fd < 0) {
        rc = fd;
        if (rc == COACH_ENOMEM)
            coach_set_err(err, err_cap, "out of memory");
        else
            coach_set_err(err, err_cap, "cannot create temporary file in %s: %s", dir, strerror(errno));
        goto out;
    }
    hold = hold_lock(fd);
    v.fd = fd;
    if (o->format == EXPORT_MP3 || o->format == EXPORT_OPUS) { /* a file: on every core (a stream: libsndfile) */
        rc = write_segmented(&v, tl, &w, o, err, err_cap);
        if (rc) goto out;
    } else {
        rc = open_writer(&v, &f, &fp, tl, o, err, err_cap);
        if (rc) goto out;
        rc = write_all(f, fp, NULL, NULL, &v, tl, &w, o, err, err_cap);
        if (rc) goto out;
        rc = close_writer(&f, &fp, &v, err, err_cap);
        if (rc) goto out;
    }
    /* What libsndfile cannot write (chapters, album, track), into the
     * temporary file: synced with it below, gone with it on failure. */
    const struct tags tags = {.title = o->title, .artist = o->artist, .album = o->album,
                              .track = o->track, .chapters = o->to_frame ? NULL : tl};
    rc = tags_write(tmp, export_format_name(o->format), &tags, err, err_cap);
    if (rc) goto out;
    /* Delayed write errors (a full disk, NFS) show up here, not in write(). */
    int sync_rc = fsync(fd), e = errno;
    if (close(fd) != 0 && sync_rc == 0) {
        sync_rc = -1;
        e = errno;
    }
    fd = -1;
    if (sync_rc != 0) {
        errno = e;
        coach_set_err(err, err_cap, "write failed: %s", strerror(e));
        rc = COACH_EIO;
        goto out;
    }
    /* Minutes may have passed: whatever appeared at path meanwhile gets
     * the same checks before it is replaced. */
    rc = check_existing(path, err, err_cap);
    if (rc) goto out;
    if (rename(tmp, path) != 0) {
        coach_set_err(err, err_cap, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        rc = COACH_EIO;
        goto out;
    }
    free(tmp);
    tmp = NULL; /* it is the target now: nothing to remove */
    sync_dir(dir);

out:;
    int saved = errno; /* cleanup must not hide the cause */
    if (f) sf_close(f);
    flacpar_free(fp);
    if (fd >= 0) close(fd);
    if (tmp) unlink(tmp);
    if (hold >= 0) close(hold); /* after the rename or unlink: never an orphan's look */
    replaced_end(&old);
    if (w.cs) clipwin_free(&w);
    free(tmp);
    free(dir);
    free(slots);
    errno = saved;
    return rc;
}

int export_stream(const struct timeline *tl, struct clipstore *cs, int fd,
                  const struct export_opts *o, char *err, size_t err_cap)
{
    int rc = check_args(tl, cs, o, err, err_cap);
    if (rc) return rc;
    struct clipwin w = {0};
    clip_slot *slots = NULL;
    struct vio_file v = {.fd = fd, .stream = true};
    SNDFILE *f = NULL;
    struct flacpar *fp = NULL;
    rc = open_window(&w, &slots, tl, cs, err, err_cap);
    if (rc == 0 && o->format == EXPORT_OPUS) { /* on every core, pages in order */
        rc = write_segmented(&v, tl, &w, o, err, err_cap);
        goto out;
    }
    if (rc == 0) rc = open_writer(&v, &f, &fp, tl, o, err, err_cap);
    if (rc == 0) rc = write_all(f, fp, NULL, NULL, &v, tl, &w, o, err, err_cap);
    if (rc == 0 && fp) rc = close_writer(&f, &fp, &v, err, err_cap);
    flacpar_free(fp); /* after a failure: what is written stays, the rest is dropped */
    if (f) {
        /* the encoders' last frames go out in sf_close, also after a
         * failure (then into a pipe that is gone: ignored) */
        int sf_rc = sf_close(f);
        if (rc == 0 && (sf_rc || v.err)) {
            errno = v.err ? v.err : EIO;
            coach_set_err(err, err_cap, "write failed: %s",
                          v.err ? strerror(v.err) : sf_error_number(sf_rc));
            rc = COACH_EIO;
        }
    }
out:;
    int saved = errno;
    if (w.cs) clipwin_free(&w);
    free(slots);
    errno = saved;
    return rc;
}

int export_sidecar_open(struct export_sidecar *sc, const char *path, char *err, size_t err_cap)
{
    memset(sc, 0, sizeof *sc);
    if (err && err_cap) err[0] = 0;
    if (!path) {
        coach_set_err(err, err_cap, "invalid sidecar arguments");
        return COACH_EINVAL;
    }
    int fd = check_existing(path, err, err_cap);
    if (fd) return fd;
    fd = create_temp(path, &sc->tmp, &sc->dir);
    if (fd < 0) {
        int e = errno;
        if (fd == COACH_ENOMEM)
            coach_set_err(err, err_cap, "out of memory");
        else
            coach_set_err(err, err_cap, "cannot create temporary file in %s: %s",
                    sc->dir ? sc->dir : ".", strerror(e));
        free(sc->dir);
        memset(sc, 0, sizeof *sc);
        errno = e;
        return fd;
    }
    sc->hold_fd = hold_lock(fd);
    sc->path = coach_strdup(path);
    sc->f = sc->path ? fdopen(fd, "w") : NULL;
    if (!sc->f) {
        close(fd);
        export_sidecar_discard(sc);
        coach_set_err(err, err_cap, "out of memory");
        errno = ENOMEM;
        return COACH_ENOMEM;
    }
    return 0;
}

int export_sidecar_close(struct export_sidecar *sc, char *err, size_t err_cap)
{
    if (!sc->f) return sc->tmp ? 0 : COACH_EINVAL;
    errno = 0;
    /* ferror first: fflush cannot report an error an earlier flush hit */
    int bad = ferror(sc->f) || fflush(sc->f) != 0 || fsync(fileno(sc->f)) != 0;
    int e = bad ? (errno ? errno : EIO) : 0;
    if (fclose(sc->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    sc->f = NULL;
    if (bad) {
        coach_set_err(err, err_cap, "write failed: %s", strerror(e));
        errno = e;
        return COACH_EIO;
    }
    return 0;
}

/* Whether the regular files a and b hold the same bytes. */
static bool same_bytes(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sa, sb;
    bool same = fa >= 0 && fb >= 0 && !fstat(fa, &sa) && !fstat(fb, &sb) && S_ISREG(sb.st_mode) &&
                sa.st_size == sb.st_size;
    char ba[16384], bb[sizeof ba];
    for (uint64_t off = 0; same && off < (uint64_t)sa.st_size; off += sizeof ba) {
        size_t n = (uint64_t)sa.st_size - off < sizeof ba ? (size_t)((uint64_t)sa.st_size - off) : sizeof ba;
        same = !coach_read_at(fa, ba, n, off) && !coach_read_at(fb, bb, n, off) && !memcmp(ba, bb, n);
    }
    if (fa >= 0) close(fa);
    if (fb >= 0) close(fb);
    return same;
}

int export_sidecar_commit(struct export_sidecar *sc, char *err, size_t err_cap)
{
    int rc = export_sidecar_close(sc, err, err_cap);
    if (rc == 0) rc = check_existing(sc->path, err, err_cap);
    /* The same text as the file there: that file is kept, time stamp and
     * all (export --all into a phone's folder: its sync copies nothing). */
    if (rc == 0 && same_bytes(sc->tmp, sc->path)) {
        export_sidecar_discard(sc);
        sc->kept = true;
        return 0;
    }
    if (rc == 0 && rename(sc->tmp, sc->path) != 0) {
        int e = errno;
        coach_set_err(err, err_cap, "cannot rename %s to %s: %s", sc->tmp, sc->path, strerror(e));
        errno = e;
        rc = COACH_EIO;
    }
    if (rc == 0) {
        free(sc->tmp);
        sc->tmp = NULL; /* it is the target now */
        if (sc->hold_fd >= 0) close(sc->hold_fd);
        sync_dir(sc->dir);
    }
    int saved = errno;
    export_sidecar_discard(sc);
    errno = saved;
    return rc;
}

void export_sidecar_discard(struct export_sidecar *sc)
{
    int saved = errno;
    if (sc->f) fclose(sc->f);
    if (sc->tmp) {
        unlink(sc->tmp);
        if (sc->hold_fd >= 0) close(sc->hold_fd); /* valid while tmp is set */
    }
    free(sc->tmp);
    free(sc->dir);
    free(sc->path);
    memset(sc, 0, sizeof *sc);
    errno = saved;
}

/* Locks one target's lock file. The file is removed at unlock, so a
 * coach that opened it just before that holds a lock on a name that is
 * gone: after locking, the name must still lead to the locked file, or it
 * tries again with the new one. 0 with *fd_out set (-1: this file system
 * has no locks, so none is held), or negative with errno and err set
 * (EBUSY: another coach holds it). held[0..n_held) are the lock files this
 * coach holds already (a path named twice is held once: *fd_out -1). */
static int lock_one(const char *lock_path, const int *held, size_t n_held, int *fd_out, char *err,
                    size_t err_cap)
{
    *fd_out = -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        bool created = true;
        /* O_NOFOLLOW: a link planted in a shared directory leads nowhere */
        int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
        int fd = open(lock_path, flags | O_CREAT | O_EXCL, 0644);
        if (fd < 0 && errno == EEXIST) { /* without O_CREAT, as another user's may be */
            created = false;
            fd = open(lock_path, flags);
            if (fd < 0 && errno == ENOENT) continue; /* removed meanwhile */
        }
        struct stat a, b;
        if (fd < 0 || fstat(fd, &a) != 0 || !S_ISREG(a.st_mode)) {
            int e = fd < 0 ? errno : EINVAL;
            if (fd >= 0) close(fd);
            coach_set_err(err, err_cap, "cannot use the lock file %s: %s", lock_path,
                    e == ELOOP ? "it is a symbolic link" : strerror(e));
            errno = e;
            return COACH_EIO;
        }
        for (size_t i = 0; i < n_held; i++) {
            struct stat h;
            if (held[i] >= 0 && fstat(held[i], &h) == 0 && h.st_dev == a.st_dev &&
                h.st_ino == a.st_ino) {
                close(fd); /* the same file named twice: held already */
                return 0;
            }
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK) {
                coach_set_err(err, err_cap, "another coach is writing this file now");
                errno = EBUSY;
                return COACH_EIO;
            }
            /* no locks on this file system (ENOLCK, EOPNOTSUPP): go on as
             * before there were locks, without leaving the file behind */
            if (created) unlink(lock_path);
            return 0;
        }
        if (lstat(lock_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            *fd_out = fd;
            return 0;
        }
        close(fd); /* its holder removed it before we locked it: again */
    }
    coach_set_err(err, err_cap, "another coach is writing this file now");
    errno = EBUSY;
    return COACH_EIO;
}

int export_lock(struct export_lock *l, const char *const *paths, size_t n_paths, size_t *failed,
                char *err, size_t err_cap)
{
    memset(l, 0, sizeof *l);
    if (err && err_cap) err[0] = 0;
    if (failed) *failed = 0;
    if (n_paths > EXPORT_LOCK_MAX) {
        coach_set_err(err, err_cap, "too many files to lock");
        errno = EINVAL;
        return COACH_EINVAL;
    }
    char *stems[EXPORT_LOCK_MAX] = {0}, *dirs[EXPORT_LOCK_MAX] = {0};
    int rc = 0;
    for (size_t i = 0; i < n_paths && rc == 0; i++) {
        l->fd[i] = -1;
        if (failed) *failed = i;
        const char *path = paths[i];
        if (!path) continue;
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        if (!*base) continue; /* "dir/": refused by whoever writes it */
        dirs[i] = dir_of(path);
        stems[i] = dirs[i] ? temp_stem(dirs[i], base) : NULL;
        l->path[i] = stems[i] ? hidden_name(path, stems[i], TEMP_LOCK) : NULL;
        if (!l->path[i]) {
            coach_set_err(err, err_cap, "out of memory");
            errno = ENOMEM;
            rc = COACH_ENOMEM;
            break;
        }
        l->n = i + 1;
        rc = lock_one(l->path[i], l->fd, i, &l->fd[i], err, err_cap);
        if (rc == 0 && l->fd[i] < 0) { /* not held: nothing to remove at unlock */
            free(l->path[i]);
            l->path[i] = NULL;
        }
    }
    /* every target is ours: whatever temporary file of theirs nobody
     * holds was left by a coach that died */
    for (size_t i = 0; rc == 0 && i < n_paths; i++)
        if (l->fd[i] >= 0) remove_orphans(dirs[i], stems[i]);
    for (size_t i = 0; i < n_paths; i++) {
        free(stems[i]);
        free(dirs[i]);
    }
    if (rc) {
        int e = errno;
        export_unlock(l);
        errno = e;
    }
    return rc;
}

void export_unlock(struct export_lock *l)
{
    int saved = errno;
    for (size_t i = 0; i < l->n; i++) {
        if (l->path[i] && l->fd[i] >= 0) {
            unlink(l->path[i]); /* while locked: see lock_one */
            close(l->fd[i]);
        }
        free(l->path[i]);
    }
    memset(l, 0, sizeof *l);
    errno = saved;
}
