/* Background music loading: each file is read twice with libsndfile. The
 * first pass measures the mono mixdown (RMS and peak) to find the file's
 * gain; the second decodes again, applies the gain, resamples with soxr as
 * a stream and stores int16 straight into the bed. So memory is the bed
 * itself plus a few small chunks, never a whole track as float (a 4-minute
 * stereo 44.1 kHz track would be 85 MB). The stored length of each file is
 * exactly resample_out_len() of what was read, the same on every machine. */
#define _POSIX_C_SOURCE 200809L
#include "coach/music.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coach/common.h"
#include "coach/openfile.h"
#include "coach/resample.h"

#define CHUNK_FRAMES 4096
/* int16 full scale stands for this float level: headroom for the few
 * inter-sample peaks resampling adds above MUSIC_PEAK_MAX. */
#define STORE_FULL_SCALE 0.5f

void music_free(struct music *m)
{
    if (!m) return;
    free(m->pcm);
    memset(m, 0, sizeof *m);
}

/* Reads up to CHUNK_FRAMES frames mixed down to mono into mono[]; returns
 * the frame count (0 at the end or on a read error). */
static size_t read_mono(SNDFILE *f, int channels, float *inter, float *mono)
{
    sf_count_t got = sf_readf_float(f, inter, CHUNK_FRAMES);
    if (got <= 0) return 0;
    const float inv = 1.0f / (float)channels;
    for (sf_count_t i = 0; i < got; i++) {
        float s = 0;
        for (int c = 0; c < channels; c++)
            s += inter[i * channels + c];
        mono[i] = s * inv;
    }
    return (size_t)got;
}

static SNDFILE *open_audio(const char *path, SF_INFO *info, char *err, size_t cap)
{
    memset(info, 0, sizeof *info);
    /* not sf_open(path): it would wait for ever on a FIFO */
    const char *kind;
    int fd = coach_open_regular(path, &kind);
    if (fd < 0) {
        if (kind)
            coach_set_err(err, cap, "%s: it is %s, not an audio file", path, kind);
        else
            coach_set_err(err, cap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    SNDFILE *f = sf_open_fd(fd, SFM_READ, info, SF_TRUE);
    if (!f) {
        coach_set_err(err, cap, "%s: not an audio file libsndfile can read (%s)", path,
                sf_strerror(NULL));
        return NULL;
    }
    if (info->channels <= 0 || info->samplerate <= 0) {
        coach_set_err(err, cap, "%s: invalid format (%d channels, %d Hz)", path, info->channels,
                info->samplerate);
        sf_close(f);
        return NULL;
    }
    return f;
}

/* The bed being filled: pcm grows to exactly what each file needs (glibc
 * moves large blocks with mremap, so growing does not copy). */
struct bed {
    struct music *m;
    uint64_t cap_frames;
    uint64_t alloc_frames;
};

static int bed_reserve(struct bed *b, uint64_t frames)
{
    if (frames <= b->alloc_frames) return 0;
    int16_t *p = realloc(b->m->pcm, (size_t)frames * sizeof *p);
    if (!p) return COACH_ENOMEM;
    b->m->pcm = p;
    b->alloc_frames = frames;
    return 0;
}

/* Appends up to n floats as int16 within the reserved room; returns how
 * many fitted. */
static size_t bed_append(struct bed *b, const float *x, size_t n)
{
    struct music *m = b->m;
    uint64_t room = b->alloc_frames - m->len_frames;
    if (n > room) n = (size_t)room;
    const float k = 32767.0f / STORE_FULL_SCALE;
    int16_t *dst = m->pcm + m->len_frames;
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * k;
        v = v > 32767.0f ? 32767.0f : (v < -32767.0f ? -32767.0f : v);
        dst[i] = (int16_t)lrintf(v);
    }
    m->len_frames += n;
    return n;
}

/* Linear fades over MUSIC_FADE_MS at both ends of pcm[lo, hi). */
static void fade_ends(struct music *m, uint64_t lo, uint64_t hi)
{
    uint64_t n = frames_from_ms(MUSIC_FADE_MS, m->rate_hz);
    if (n > (hi - lo) / 2) n = (hi - lo) / 2;
    for (uint64_t i = 0; i < n; i++) {
        float g = (float)i / (float)n; /* 0 on the very first and last frame */
        m->pcm[lo + i] = (int16_t)lrintf(m->pcm[lo + i] * g);
        m->pcm[hi - 1 - i] = (int16_t)lrintf(m->pcm[hi - 1 - i] * g);
    }
}

/* Pass 1: the gain that levels this file (source frames counted up to
 * max_src). Returns 0 with *gain, or negative with err set. */
static int measure(const char *path, uint64_t max_src, float *gain, uint64_t *frames,
                   float *inter, float *mono, char *err, size_t cap)
{
    SF_INFO info;
    SNDFILE *f = open_audio(path, &info, err, cap);
    if (!f) return COACH_EFORMAT;
    double sum2 = 0;
    float peak = 0;
    uint64_t n = 0;
    size_t got;
    while (n < max_src && (got = read_mono(f, info.channels, inter, mono)) > 0) {
        if (got > max_src - n) got = (size_t)(max_src - n);
        for (size_t i = 0; i < got; i++) {
            float a = fabsf(mono[i]);
            if (!(a <= 1e3f)) a = 0; /* NaN or absurd float data: ignore */
            sum2 += (double)a * a;
            if (a > peak) peak = a;
        }
        n += got;
    }
    sf_close(f);
    if (n == 0) {
        coach_set_err(err, cap, "%s: no audio in the file", path);
        return COACH_EINVAL;
    }
    double rms = sqrt(sum2 / (double)n);
    if (peak < 1e-5f || rms < 1e-6) {
        coach_set_err(err, cap, "%s: the file is silent", path);
        return COACH_EINVAL;
    }
    float g = (float)(MUSIC_TARGET_RMS / rms);
    if (peak * g > MUSIC_PEAK_MAX) g = MUSIC_PEAK_MAX / peak; /* peaky music: quieter RMS */
    *gain = g;
    *frames = n;
    return 0;
}

/* Appends one file to the bed. Returns 0, or negative with err set. */
static int load_file(struct bed *b, const char *path, char *err, size_t cap)
{
    struct music *m = b->m;
    uint64_t room = b->cap_frames - m->len_frames;
    if (room == 0) return 0;
    float *inter = NULL, *mono = NULL, *out = NULL;
    soxr_t sx = NULL;
    SNDFILE *f = NULL;
    SF_INFO info;
    int rc = 0;

    /* Probe first to learn the channel count for the chunk buffer. */
    f = open_audio(path, &info, err, cap);
    if (!f) return COACH_EFORMAT;
    sf_close(f);
    f = NULL;
    const uint32_t in_hz = (uint32_t)info.samplerate, out_hz = m->rate_hz;
    /* Source frames that fill the room left (and a few more for soxr). */
    uint64_t max_src = room * in_hz / out_hz + 16;
    size_t out_cap = (size_t)((uint64_t)CHUNK_FRAMES * out_hz / in_hz) + 64;
    inter = malloc((size_t)CHUNK_FRAMES * (size_t)info.channels * sizeof *inter);
    mono = malloc(CHUNK_FRAMES * sizeof *mono);
    out = malloc(out_cap * sizeof *out);
    if (!inter || !mono || !out) {
        rc = COACH_ENOMEM;
        goto done;
    }
    float gain;
    uint64_t src_frames;
    rc = measure(path, max_src, &gain, &src_frames, inter, mono, err, cap);
    if (rc) goto done;

    if (in_hz != out_hz) {
        soxr_error_t e = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        sx = soxr_create(in_hz, out_hz, 1, &e, &io, &q, NULL);
        if (!sx || e) {
            coach_set_err(err, cap, "%s: cannot resample %u Hz to %u Hz: %s", path, in_hz, out_hz,
                    e ? e : "soxr_create failed");
            rc = COACH_EIO;
            goto done;
        }
    }
    /* Pass 2: decode again, level, resample, store. */
    f = open_audio(path, &info, err, cap);
    if (!f) {
        rc = COACH_EFORMAT;
        goto done;
    }
    const uint64_t seg_start = m->len_frames;
    uint64_t want = resample_out_len((size_t)src_frames, in_hz, out_hz);
    if (want > room) {
        want = room;
        m->truncated = 1;
    }
    const uint64_t seg_end = seg_start + want;
    rc = bed_reserve(b, seg_end);
    if (rc) goto done;
    uint64_t read_n = 0;
    int flushing = 0;
    while (m->len_frames < seg_end) {
        size_t got = 0;
        if (!flushing) {
            got = read_n < src_frames ? read_mono(f, info.channels, inter, mono) : 0;
            if (got > src_frames - read_n) got = (size_t)(src_frames - read_n);
            read_n += got;
            for (size_t i = 0; i < got; i++)
                mono[i] *= gain;
            if (got == 0) flushing = 1;
        }
        if (sx) {
            /* Feed all of this chunk (NULL input = flush); soxr may need
             * several calls when out is full. */
            size_t used = 0;
            do {
                size_t idone = 0, odone = 0;
                soxr_error_t e = soxr_process(sx, flushing ? NULL : mono + used, got - used,
                                              &idone, out, out_cap, &odone);
                if (e) {
                    coach_set_err(err, cap, "%s: resampling failed: %s", path, e);
                    rc = COACH_EIO;
                    goto done;
                }
                used += idone;
                uint64_t left = seg_end - m->len_frames;
                if (odone > left) odone = (size_t)left;
                bed_append(b, out, odone);
                if (flushing && odone == 0) goto pad; /* soxr has nothing more */
            } while (used < got && m->len_frames < seg_end);
            continue;
        }
        if (flushing) break;
        uint64_t left = seg_end - m->len_frames;
        bed_append(b, mono, got < left ? got : (size_t)left);
    }
pad:
    /* A file that read shorter the second time, or soxr's last frames held
     * back: pad with silence so the length is the formula's. */
    while (m->len_frames < seg_end) {
        float zero[256] = {0};
        uint64_t left = seg_end - m->len_frames;
        bed_append(b, zero, left < 256 ? (size_t)left : 256);
    }
    if (m->len_frames > seg_start) fade_ends(m, seg_start, m->len_frames);
    m->n_files++;
done:
    if (f) sf_close(f);
    if (sx) soxr_delete(sx);
    free(inter);
    free(mono);
    free(out);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct bed *b, const char *dir, char *err, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d) {
        coach_set_err(err, cap, "%s: %s", dir, strerror(errno));
        return errno == ENOENT ? COACH_ENOTFOUND : COACH_EIO;
    }
    char **names = NULL;
    size_t n = 0, alloc = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue; /* ., .., hidden files */
        char *p = coach_asprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (!p) {
            rc = COACH_ENOMEM;
            break;
        }
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (n == alloc) {
            size_t na = alloc ? alloc * 2 : 16;
            char **q = realloc(names, na * sizeof *q);
            if (!q) {
                free(p);
                rc = COACH_ENOMEM;
                break;
            }
            names = q;
            alloc = na;
        }
        names[n++] = p;
    }
    closedir(d);
    if (rc == 0 && n == 0) {
        coach_set_err(err, cap, "%s: the directory holds no files", dir);
        rc = COACH_EINVAL;
    }
    if (rc == 0) {
        qsort(names, n, sizeof *names, cmp_names);
        char first_skip[512] = "";
        size_t i = 0;
        for (; i < n && b->m->len_frames < b->cap_frames; i++) {
            int r = load_file(b, names[i], err, cap);
            if (r == COACH_EFORMAT || r == COACH_EINVAL) { /* not music: skip */
                if (!first_skip[0]) snprintf(first_skip, sizeof first_skip, "%s", err);
                b->m->n_skipped++;
                continue;
            }
            if (r) {
                rc = r;
                break;
            }
        }
        if (rc == 0 && i < n) b->m->truncated = 1; /* the cap came first */
        if (rc == 0 && b->m->n_files == 0) {
            coach_set_err(err, cap, "%s: no audio files libsndfile can read (%u skipped; first: %s)",
                    dir, b->m->n_skipped, first_skip);
            rc = COACH_EINVAL;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int music_load(struct music *m, const char *path_or_dir, uint32_t rate_hz, char *err, size_t cap)
{
    if (err && cap) err[0] = 0;
    memset(m, 0, sizeof *m);
    if (!path_or_dir || !*path_or_dir || rate_hz == 0) {
        coach_set_err(err, cap, "music: invalid arguments");
        return COACH_EINVAL;
    }
    m->rate_hz = rate_hz;
    m->scale = STORE_FULL_SCALE / 32767.0f;
    struct bed b = {.m = m, .cap_frames = (uint64_t)MUSIC_MAX_SECONDS * rate_hz};
    struct stat st;
    int rc;
    if (stat(path_or_dir, &st) != 0) {
        coach_set_err(err, cap, "%s: %s", path_or_dir, strerror(errno));
        rc = errno == ENOENT || errno == ENOTDIR ? COACH_ENOTFOUND : COACH_EIO;
    } else if (S_ISDIR(st.st_mode)) {
        rc = load_dir(&b, path_or_dir, err, cap);
    } else {
        rc = load_file(&b, path_or_dir, err, cap);
    }
    if (rc == 0 && m->len_frames == 0) {
        coach_set_err(err, cap, "%s: no audio", path_or_dir);
        rc = COACH_EINVAL;
    }
    if (rc) {
        music_free(m);
        return rc;
    }
    if (err && cap) err[0] = 0; /* skipped files left their reason there */
    /* Give back what the doubling over-allocated. */
    int16_t *p = realloc(m->pcm, (size_t)m->len_frames * sizeof *p);
    if (p) m->pcm = p;
    return 0;
}
