/* The speech clip store: a dense array of clips indexed by id plus an
 * open-addressing hash table from text to id. Interning synthesizes a text
 * once and keeps the trimmed int16 source at the synthesizer's rate as a
 * FLAC stream (pcmstore; ~44 KB per second of speech raw at 22050 Hz: 17 MB
 * for the 143 phrases of a 32-minute routine, 56 % of that as FLAC) in the
 * spill store, an unlinked temporary file read back with pread, so that the
 * resident memory stays flat however long the routine is; preparing decodes
 * it and makes the normalized float PCM at the output rate just before a
 * clip is heard, and releasing drops that PCM again. In the measuring and estimating modes no audio is kept and nothing
 * can be prepared. */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include "coach/clips.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/loudness.h"
#include "coach/pcmstore.h"
#include "coach/phrasecache.h"
#include "coach/resample.h"
#include "coach/synthpool.h"

#define CLIPS_EDGE_FADE_MS 3    /* fade at both ends of a prepared clip */
#define CLIPS_PI 3.14159265358979f
/* A streamed clip is made at least this many frames at a time (soxr
 * copies what it holds on each call: a block, 8192 frames, at a time cost
 * 11 % of a WAV export in copies), into a window of twice that. */
#define CLIPS_MAKE_FRAMES (CLIPS_STREAM_WINDOW_FRAMES / 2)

/* A clip is its text said at its rate: both make its identity. */
static uint32_t hash_text(const char *s, int rate_wpm)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return (h ^ (uint32_t)rate_wpm) * 16777619u;
}

int clipstore_init(struct clipstore *cs, struct speech *sp, uint32_t rate_hz)
{
    memset(cs, 0, sizeof *cs);
    if (rate_hz == 0) return COACH_EINVAL;
    cs->rate_hz = rate_hz;
    cs->sp = sp;
    cs->mode = CLIPS_AUDIO;
    cs->workers = synthpool_default_workers();
    /* the voice's volume scales the loudness every clip is brought to */
    cs->volume = (float)(sp ? speech_volume_pct(sp) : 100) / 100.0f;
    return 0;
}

void clipstore_set_mode(struct clipstore *cs, enum clip_mode mode) { cs->mode = mode; }

void clipstore_set_workers(struct clipstore *cs, unsigned workers)
{
    cs->workers = workers < 1 ? 1 : workers > SYNTHPOOL_MAX_WORKERS ? SYNTHPOOL_MAX_WORKERS : workers;
}

/* Fitted to the 951 phrases of the shipped routines as espeak-ng says
 * them (least squares, length against characters, per voice and rate):
 * en-us at 160 wpm 267 ms + 58.7 ms a character, at 128 wpm 192 + 70.3,
 * de at 155 208 + 59.6, es at 150 244 + 63.5: ms a character x wpm is
 * 9000-9525 in all four. The old 150 + 65 ms a byte (any rate) made the
 * shipped routines' phrases 1-9 % off in sum, by voice. */
uint64_t clip_estimate_frames(const char *text, int rate_wpm, uint32_t rate_hz)
{
    uint64_t units = 0;
    for (const char *c = text; *c; c++) /* characters, not bytes: ü is one */
        units += (*c >= '0' && *c <= '9') ? 4 : ((unsigned char)*c & 0xC0) != 0x80;
    uint64_t wpm = rate_wpm > 0 ? (uint64_t)rate_wpm : 175;
    return units ? frames_from_ms(230 + (9300 * units + wpm / 2) / wpm, rate_hz) : 0;
}

void clipstore_free(struct clipstore *cs)
{
    for (size_t i = 0; i < cs->len; i++) {
        clipstore_release(cs, (uint32_t)i);
        free(cs->clips[i].text);
    }
    free(cs->clips);
    free(cs->hash);
    for (size_t i = 0; i < cs->ready_len; i++)
        free(cs->ready[i].text);
    free(cs->ready);
    free(cs->ready_hash);
    if (cs->spill_open && cs->spill_fd >= 0) close(cs->spill_fd);
    free(cs->spill_mem);
    memset(cs, 0, sizeof *cs);
}

/* An unlinked temporary file under $TMPDIR (else /tmp), or -1. */
static int spill_file(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    int fd = -1;
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
#endif
    char *path = coach_asprintf("%s/coach-clips-XXXXXX", dir);
    if (!path) return -1;
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0) unlink(path);
    free(path);
    return fd;
}

/* Moves the spill store into memory: the file cannot take more (a full
 * $TMPDIR, a file size limit), and keeping the sources in memory, as before
 * there was a spill store, is better than failing the session. */
static int spill_to_memory(struct clipstore *cs)
{
    size_t cap = cs->spill_end > (1 << 16) ? (size_t)cs->spill_end : 1 << 16;
    uint8_t *p = malloc(cap);
    if (!p) return COACH_ENOMEM;
    if (coach_read_at(cs->spill_fd, p, (size_t)cs->spill_end, 0)) {
        free(p);
        return COACH_EIO;
    }
    if (cs->spill_fd >= 0) close(cs->spill_fd);
    cs->spill_fd = -1;
    cs->spill_mem = p;
    cs->spill_mem_cap = cap;
    return 0;
}

/* Appends bytes to the spill store; their offset in *off. The file is made
 * on first use; where none can be made or written (no writable $TMPDIR, a
 * full disk, a file size limit) the bytes stay in memory. */
static int spill_put(struct clipstore *cs, const uint8_t *bytes, size_t n, uint64_t *off)
{
    if (!cs->spill_open) {
        cs->spill_fd = spill_file();
        cs->spill_open = true;
    }
    if (!cs->spill_mem && (cs->spill_fd < 0 || coach_write_at(cs->spill_fd, bytes, n, cs->spill_end) != 0)) {
        int rc = spill_to_memory(cs);
        if (rc) return rc;
    }
    *off = cs->spill_end;
    if (cs->spill_mem) {
        if (cs->spill_end + n > cs->spill_mem_cap) {
            size_t cap = cs->spill_mem_cap;
            while (cap < cs->spill_end + n) cap *= 2;
            uint8_t *p = realloc(cs->spill_mem, cap);
            if (!p) return COACH_ENOMEM;
            cs->spill_mem = p;
            cs->spill_mem_cap = cap;
        }
        memcpy(cs->spill_mem + cs->spill_end, bytes, n);
    }
    cs->spill_end += n;
    return 0;
}

/* A table of clips: a dense array and an open-addressing hash from (text,
 * rate) to index + 1. The store's clips are one; the clips synthesized
 * ahead (clipstore_prefetch) another. */
struct cliptab_ref {
    struct clip **v;
    size_t *len, *cap;
    uint32_t **hash;
    size_t *hash_cap;
};

static struct cliptab_ref tab_clips(struct clipstore *cs)
{
    return (struct cliptab_ref){&cs->clips, &cs->len, &cs->cap, &cs->hash, &cs->hash_cap};
}

static struct cliptab_ref tab_ready(struct clipstore *cs)
{
    return (struct cliptab_ref){&cs->ready, &cs->ready_len, &cs->ready_cap, &cs->ready_hash,
                                &cs->ready_hash_cap};
}

/* Slot of text at rate_wpm in the table, or of the empty slot where it
 * would go. */
static size_t hash_slot(struct cliptab_ref t, const char *text, int rate_wpm)
{
    size_t mask = *t.hash_cap - 1;
    size_t i = hash_text(text, rate_wpm) & mask;
    const struct clip *v = *t.v;
    const uint32_t *h = *t.hash;
    while (h[i] && (v[h[i] - 1].rate_wpm != rate_wpm || strcmp(v[h[i] - 1].text, text) != 0))
        i = (i + 1) & mask;
    return i;
}

/* Keeps the load factor at most 1/2 for len + 1 entries. */
static int hash_reserve(struct cliptab_ref t)
{
    if ((*t.len + 1) * 2 <= *t.hash_cap) return 0;
    size_t cap = *t.hash_cap ? *t.hash_cap * 2 : 64;
    uint32_t *old = *t.hash;
    size_t old_cap = *t.hash_cap;
    *t.hash = calloc(cap, sizeof **t.hash);
    if (!*t.hash) {
        *t.hash = old;
        return COACH_ENOMEM;
    }
    *t.hash_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i]) {
            const struct clip *c = &(*t.v)[old[i] - 1];
            (*t.hash)[hash_slot(t, c->text, c->rate_wpm)] = old[i];
        }
    free(old);
    return 0;
}

/* The index of text at rate_wpm if the table has it, else -1. */
static int64_t tab_find(struct cliptab_ref t, const char *text, int rate_wpm)
{
    if (!*t.hash_cap) return -1;
    size_t slot = hash_slot(t, text, rate_wpm);
    return (*t.hash)[slot] ? (int64_t)(*t.hash)[slot] - 1 : -1;
}

static int64_t find(struct clipstore *cs, const char *text, int rate_wpm)
{
    return tab_find(tab_clips(cs), text, rate_wpm);
}

/* Appends c (its text owned by the table from now on); its index in *id. */
static int tab_append(struct cliptab_ref t, struct clip *c, uint32_t *id)
{
    int rc = *t.len >= UINT32_MAX - 1 ? COACH_ENOMEM : hash_reserve(t);
    if (!rc && *t.len == *t.cap) {
        size_t cap = *t.cap ? *t.cap * 2 : 32;
        struct clip *p = realloc(*t.v, cap * sizeof *p);
        if (!p)
            rc = COACH_ENOMEM;
        else {
            *t.v = p;
            *t.cap = cap;
        }
    }
    if (rc) return rc;
    uint32_t k = (uint32_t)*t.len;
    (*t.v)[(*t.len)++] = *c;
    (*t.hash)[hash_slot(t, c->text, c->rate_wpm)] = k + 1;
    if (id) *id = k;
    return 0;
}

static int append(struct clipstore *cs, struct clip *c, uint32_t *id)
{
    return tab_append(tab_clips(cs), c, id);
}

/* c from the phrase cache's entry for key, its FLAC stream in *flac
 * (malloc'd): 1 if it had one. */
static int from_cache(struct clipstore *cs, struct clip *c, const char *key, uint8_t **flac)
{
    struct phrase_entry e;
    if (phrasecache_get(cs->cache, key, &e)) return 0;
    c->src_len = e.src_len;
    c->src_rate_hz = e.src_rate_hz;
    c->loudness_lufs = e.loudness_lufs;
    c->loudness_known = e.loudness_known;
    *flac = e.flac; /* the stream as stored: nothing decoded or encoded again */
    c->flac_bytes = e.flac_bytes;
    return 1;
}

/* Stores c (its source's FLAC stream flac, its loudness measured with it
 * by the synthesizing child) under key. */
static void to_cache(struct clipstore *cs, const struct clip *c, uint8_t *flac, const char *key)
{
    struct phrase_entry e = {.flac = flac, .flac_bytes = c->flac_bytes, .src_len = c->src_len,
                             .src_rate_hz = c->src_rate_hz, .loudness_lufs = c->loudness_lufs,
                             .loudness_known = c->loudness_known};
    phrasecache_put(cs->cache, key, &e); /* not kept: only slower next time */
}

/* c's fields from a finished synthesis job (flac not taken). */
static void from_job(struct clip *c, const struct synth_job *j)
{
    c->src_len = j->src_len;
    c->src_rate_hz = j->src_rate_hz;
    c->loudness_lufs = j->loudness_lufs;
    c->loudness_known = j->loudness_known;
    c->flac_bytes = j->flac_bytes;
}

/* Keeps c's source (its FLAC stream flac) in the spill store in
 * CLIPS_AUDIO; in the other modes nothing is kept. */
static int keep_source(struct clipstore *cs, struct clip *c, const uint8_t *flac)
{
    if (cs->mode != CLIPS_AUDIO || !flac) {
        if (cs->mode != CLIPS_AUDIO) c->flac_bytes = 0; /* measured only */
        return 0;
    }
    return spill_put(cs, flac, c->flac_bytes, &c->flac_off);
}

/* A clip's length and the store's counts, once its source is known. */
static void count(struct clipstore *cs, struct clip *c)
{
    cs->src_bytes += c->src_len * sizeof(int16_t);
    cs->flac_bytes += c->flac_bytes;
    c->len_frames = resample_out_len(c->src_len, c->src_rate_hz, cs->rate_hz);
}

/* Sources are encoded when they are kept or cached. */
static bool wants_audio(const struct clipstore *cs)
{
    return cs->mode == CLIPS_AUDIO || cs->cache;
}

struct one_job {
    struct clipstore *cs;
    struct clip *c;
    const char *key;
    int rc;
};

static void one_done(void *ctx, struct synth_job *j)
{
    struct one_job *o = ctx;
    o->rc = j->rc;
    if (j->rc) return;
    from_job(o->c, j);
    if (o->key) to_cache(o->cs, o->c, j->flac, o->key);
    o->rc = keep_source(o->cs, o->c, j->flac);
}

/* Synthesizes c->text into c (source kept in CLIPS_AUDIO): taken from the
 * clips synthesized ahead, else from the phrase cache, else synthesized
 * now, here. */
static int synthesize(struct clipstore *cs, struct clip *c)
{
    if (!cs->sp) return COACH_ESPEECH;
    int64_t r = tab_find(tab_ready(cs), c->text, c->rate_wpm);
    if (r >= 0) {
        char *text = c->text; /* the ready copy's text stays with the table */
        *c = cs->ready[r];
        c->text = text;
        count(cs, c);
        return 0;
    }
    char *key = cs->cache ? speech_cache_key(cs->sp, c->text, c->rate_wpm, PHRASECACHE_FORMAT) : NULL;
    uint8_t *flac = NULL;
    int rc = 0;
    if (key && from_cache(cs, c, key, &flac)) {
        rc = keep_source(cs, c, flac);
        free(flac);
    } else {
        struct synth_job j = {.text = c->text, .rate_wpm = c->rate_wpm};
        struct one_job o = {.cs = cs, .c = c, .key = key};
        rc = synthpool_run(cs->sp, &j, 1, 1, wants_audio(cs), one_done, &o);
        if (!rc) rc = o.rc;
    }
    free(key);
    if (rc) return rc;
    count(cs, c);
    return 0;
}

struct ahead {
    struct clipstore *cs;
    struct synth_job *jobs;
    char **keys;
    int rc;
};

/* Adds a clip synthesized ahead (its FLAC stream flac) to the ready table. */
static int add_ready(struct clipstore *cs, const char *text, int rate_wpm, struct clip *c,
                     const uint8_t *flac)
{
    c->text = coach_strdup(text);
    c->rate_wpm = rate_wpm;
    int rc = c->text ? keep_source(cs, c, flac) : COACH_ENOMEM;
    if (!rc) rc = tab_append(tab_ready(cs), c, NULL);
    if (rc) free(c->text);
    return rc;
}

static void ahead_done(void *ctx, struct synth_job *j)
{
    struct ahead *a = ctx;
    if (j->rc || a->rc) return; /* a failure is met again, and told, when it is interned */
    struct clip c = {0};
    from_job(&c, j);
    const char *key = a->keys[j - a->jobs];
    if (key) to_cache(a->cs, &c, j->flac, key);
    a->rc = add_ready(a->cs, j->text, j->rate_wpm, &c, j->flac);
}

int clipstore_prefetch(struct clipstore *cs, const struct clipstore *wanted)
{
    if (!cs->sp || cs->mode == CLIPS_ESTIMATE || !wanted->len) return 0;
    struct ahead a = {.cs = cs, .jobs = calloc(wanted->len, sizeof *a.jobs),
                      .keys = calloc(wanted->len, sizeof *a.keys)};
    int rc = a.jobs && a.keys ? 0 : COACH_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; !rc && i < wanted->len; i++) {
        const struct clip *w = &wanted->clips[i];
        if (!*w->text || find(cs, w->text, w->rate_wpm) >= 0 ||
            tab_find(tab_ready(cs), w->text, w->rate_wpm) >= 0)
            continue;
        char *key = cs->cache ? speech_cache_key(cs->sp, w->text, w->rate_wpm, PHRASECACHE_FORMAT) : NULL;
        struct clip c = {0};
        uint8_t *flac = NULL;
        if (key && from_cache(cs, &c, key, &flac)) {
            rc = add_ready(cs, w->text, w->rate_wpm, &c, flac);
            free(flac);
            free(key);
            continue;
        }
        a.jobs[n] = (struct synth_job){.text = w->text, .rate_wpm = w->rate_wpm};
        a.keys[n++] = key;
    }
    if (!rc) rc = synthpool_run(cs->sp, a.jobs, n, cs->workers, wants_audio(cs), ahead_done, &a);
    if (!rc) rc = a.rc;
    for (size_t i = 0; a.keys && i < n; i++)
        free(a.keys[i]);
    free(a.keys);
    free(a.jobs);
    return rc;
}

int clipstore_intern(struct clipstore *cs, const char *text, uint32_t *id, uint64_t *len_frames)
{
    return clipstore_intern_at(cs, text, 0, id, len_frames);
}

/* CLIPS_ESTIMATE: the phrase's length as synthesized, if the phrase cache
 * has it (a menu then says the length the routine's intro will say), else
 * the estimate. */
static uint64_t cached_len(struct clipstore *cs, const char *text, int rate_wpm)
{
    uint64_t len = clip_estimate_frames(text, rate_wpm > 0 ? rate_wpm : cs->keys.rate_wpm,
                                        cs->rate_hz);
    if (!*text || !cs->cache) return len;
    char *key = speech_settings_cache_key(&cs->keys, text, rate_wpm, PHRASECACHE_FORMAT);
    size_t src_len;
    uint32_t src_rate_hz;
    if (key && phrasecache_length(cs->cache, key, &src_len, &src_rate_hz) == 0)
        len = resample_out_len(src_len, src_rate_hz, cs->rate_hz);
    free(key);
    return len;
}

int clipstore_intern_at(struct clipstore *cs, const char *text, int rate_wpm, uint32_t *id,
                        uint64_t *len_frames)
{
    if (!text) return COACH_EINVAL;
    if (rate_wpm < 0) rate_wpm = 0;
    int64_t k = find(cs, text, rate_wpm);
    if (k >= 0) {
        if (id) *id = (uint32_t)k;
        if (len_frames) *len_frames = cs->clips[k].len_frames;
        return 0;
    }
    struct clip c = {.text = coach_strdup(text), .rate_wpm = rate_wpm};
    if (!c.text) return COACH_ENOMEM;
    int rc = 0;
    /* an empty text is a valid 0-length clip, no synthesis needed */
    if (cs->mode == CLIPS_ESTIMATE)
        c.len_frames = cached_len(cs, text, rate_wpm);
    else if (*text)
        rc = synthesize(cs, &c);
    uint32_t got = 0;
    if (!rc) rc = append(cs, &c, &got);
    if (rc) {
        free(c.text);
        return rc;
    }
    if (id) *id = got;
    if (len_frames) *len_frames = c.len_frames;
    return 0;
}

int clipstore_add(struct clipstore *cs, const char *text, uint64_t len_frames, uint32_t *id)
{
    return clipstore_add_at(cs, text, 0, len_frames, id);
}

int clipstore_add_at(struct clipstore *cs, const char *text, int rate_wpm, uint64_t len_frames,
                     uint32_t *id)
{
    if (!text) return COACH_EINVAL;
    if (rate_wpm < 0) rate_wpm = 0;
    int64_t k = find(cs, text, rate_wpm);
    if (k >= 0) {
        if (id) *id = (uint32_t)k;
        return 0;
    }
    struct clip c = {.text = coach_strdup(text), .rate_wpm = rate_wpm, .len_frames = len_frames};
    if (!c.text) return COACH_ENOMEM;
    int rc = append(cs, &c, id);
    if (rc) free(c.text);
    return rc;
}

const char *clipstore_text(const struct clipstore *cs, uint32_t id)
{
    return id < cs->len ? cs->clips[id].text : NULL;
}

uint64_t clipstore_len(const struct clipstore *cs, uint32_t id)
{
    return id < cs->len ? cs->clips[id].len_frames : 0;
}

/* Where a clip's FLAC source is read from: the spill store, through the
 * store (its memory fallback may move when it grows). */
struct spill_at {
    const struct clipstore *cs;
    uint64_t off;
};

static int read_spill(void *ctx, uint64_t off, void *buf, size_t n)
{
    const struct spill_at *at = ctx;
    if (at->cs->spill_mem) {
        memcpy(buf, at->cs->spill_mem + at->off + off, n);
        return 0;
    }
    return coach_read_at(at->cs->spill_fd, buf, n, at->off + off) ? COACH_EIO : 0;
}

int clipstore_source_read(const struct clipstore *cs, uint32_t id, uint64_t off, void *buf, size_t n)
{
    if (id >= cs->len) return COACH_EINVAL;
    const struct clip *c = &cs->clips[id];
    if (off > c->flac_bytes || n > c->flac_bytes - off) return COACH_EINVAL;
    if (!n) return 0;
    struct spill_at at = {cs, c->flac_off};
    return read_spill(&at, off, buf, n);
}

/* A clip being made: its source decoded and resampled in order, scaled to
 * the speech loudness, with a fade at both ends. A whole preparation makes
 * every frame at once, a streamed one (clipstore_prepare_streamed) a few
 * blocks at a time: the same frames either way. */
struct clipstream {
    struct spill_at at;
    struct pcmstore_reader *rd;
    struct resampler *rs;
    float gain;       /* loudness and volume */
    bool scaled;      /* gain applies (the loudness is known and finite) */
    size_t fade;      /* frames faded in at the start and out at the end */
    uint64_t made;    /* frames of the clip made so far */
    uint64_t rs_at;   /* frames the resampler has given since it was opened: made,
                         unless a streamed clip's frames came from elsewhere */
    /* streamed: the window holds the clip's frames [first, made) */
    float *win;
    size_t win_cap;   /* frames */
    uint64_t first;
};

static int pull_source(void *ctx, int16_t *in, size_t n)
{
    return pcmstore_reader_read(ctx, in, n);
}

/* Measures c's loudness on its whole source, where the synthesizer did not
 * (loudness.h says how short phrases are measured). */
static int measure(struct clipstore *cs, struct clip *c)
{
    int16_t *src = malloc(c->src_len * sizeof *src);
    struct spill_at at = {cs, c->flac_off};
    struct pcmstore_bytes b = {.read_at = read_spill, .ctx = &at, .len = c->flac_bytes};
    struct pcmstore_reader *rd = NULL;
    int rc = src ? pcmstore_reader_open(&rd, &b, c->src_len) : COACH_ENOMEM;
    if (!rc) rc = pcmstore_reader_read(rd, src, c->src_len);
    pcmstore_reader_close(rd);
    if (!rc) rc = loudness_of_phrase(src, c->src_len, c->src_rate_hz, &c->loudness_lufs);
    c->loudness_known = rc == 0;
    free(src);
    return rc;
}

static void stream_close(struct clipstream *st)
{
    resampler_close(st->rs);
    pcmstore_reader_close(st->rd);
    st->rs = NULL;
    st->rd = NULL;
}

/* Opens c's source and resampler at its first frame (rs_at = 0; its
 * loudness known: measure). */
static int stream_open(const struct clipstore *cs, const struct clip *c, struct clipstream *st)
{
    st->rs_at = 0;
    st->at = (struct spill_at){cs, c->flac_off};
    st->scaled = isfinite(c->loudness_lufs);
    if (st->scaled)
        st->gain = cs->volume * (float)pow(10.0, (LOUDNESS_SPEECH_LUFS - c->loudness_lufs) / 20.0);
    /* Trimming cut the clip at a near-silent but nonzero sample: a short
     * raised-cosine fade at both ends so no clip starts or stops with a
     * click. */
    size_t n = (size_t)c->len_frames;
    st->fade = (size_t)CLIPS_EDGE_FADE_MS * cs->rate_hz / 1000;
    if (st->fade > n / 2) st->fade = n / 2;
    struct pcmstore_bytes b = {.read_at = read_spill, .ctx = &st->at, .len = c->flac_bytes};
    int rc = pcmstore_reader_open(&st->rd, &b, c->src_len);
    if (!rc) rc = resampler_open(&st->rs, c->src_len, c->src_rate_hz, cs->rate_hz, pull_source, st->rd);
    if (rc) stream_close(st);
    return rc;
}

static float fade_weight(size_t i, size_t fade)
{
    return 0.5f - 0.5f * cosf(CLIPS_PI * ((float)i + 0.5f) / (float)fade);
}

/* Makes c's frames up to upto (at most its length) into pcm, where frame
 * f of the clip goes to pcm[f - first]. */
static int stream_make(const struct clip *c, struct clipstream *st, float *pcm, uint64_t first,
                       uint64_t upto)
{
    uint64_t n = c->len_frames;
    if (upto > n) upto = n;
    if (upto <= st->made) return 0;
    pcm -= first; /* from here on indexed by the clip's frame, always >= first */
    float *out = pcm + st->made;
    size_t k = (size_t)(upto - st->made);
    int rc = resampler_run(st->rs, out, k);
    if (rc) return rc;
    st->rs_at = upto;
    if (st->scaled)
        for (size_t i = 0; i < k; i++)
            out[i] *= st->gain;
    for (uint64_t f = st->made; f < upto && f < st->fade; f++)
        pcm[f] *= fade_weight((size_t)f, st->fade);
    for (uint64_t f = st->made > n - st->fade ? st->made : n - st->fade; f < upto; f++)
        pcm[f] *= fade_weight((size_t)(n - 1 - f), st->fade);
    st->made = upto;
    return 0;
}

/* 0 if clip id can be made: its audio kept (only in CLIPS_AUDIO, and only
 * for synthesized clips) and its loudness known, measured here where the
 * synthesizer did not. */
static int makeable(struct clipstore *cs, uint32_t id)
{
    if (id >= cs->len) return COACH_EINVAL;
    struct clip *c = &cs->clips[id];
    if (c->len_frames && !c->flac_bytes) return COACH_EINVAL;
    return c->len_frames && !c->loudness_known ? measure(cs, c) : 0;
}

/* Makes clip c's whole PCM into a new buffer; reads cs and c only. */
static int make_whole(const struct clipstore *cs, const struct clip *c, float **out)
{
    /* At least one float so a prepared clip is never NULL, even when empty
     * (the renderer reads NULL as "not ready"). */
    size_t n = (size_t)c->len_frames;
    float *pcm = malloc((n ? n : 1) * sizeof *pcm);
    if (!pcm) return COACH_ENOMEM;
    pcm[0] = 0.0f;
    if (n) {
        struct clipstream st = {0};
        int rc = stream_open(cs, c, &st);
        if (!rc) rc = stream_make(c, &st, pcm, 0, n);
        stream_close(&st);
        if (rc) {
            free(pcm);
            return rc;
        }
    }
    *out = pcm;
    return 0;
}

bool clipstore_can_make(const struct clipstore *cs, uint32_t id)
{
    if (id >= cs->len) return false;
    const struct clip *c = &cs->clips[id];
    return c->len_frames && c->flac_bytes && c->loudness_known;
}

int clipstore_make(const struct clipstore *cs, uint32_t id, float **pcm)
{
    if (!clipstore_can_make(cs, id)) return COACH_EINVAL;
    return make_whole(cs, &cs->clips[id], pcm);
}

int clipstore_prepare(struct clipstore *cs, uint32_t id)
{
    if (id < cs->len && cs->clips[id].pcm) return 0;
    int rc = makeable(cs, id);
    if (rc) return rc;
    struct clip *c = &cs->clips[id];
    float *pcm = NULL;
    if (cs->premade) { /* made on another thread, if it got there first */
        rc = cs->premade(cs->premade_ctx, id, &pcm);
        if (rc < 0) return rc;
    }
    if (!pcm) {
        rc = make_whole(cs, c, &pcm);
        if (rc) return rc;
    }
    c->pcm = pcm;
    return 0;
}

int clipstore_stream_open(const struct clipstore *cs, uint32_t id, struct clipstream **out)
{
    *out = NULL;
    if (!clipstore_can_make(cs, id)) return COACH_EINVAL;
    struct clipstream *st = calloc(1, sizeof *st);
    if (!st) return COACH_ENOMEM;
    int rc = stream_open(cs, &cs->clips[id], st);
    if (rc) {
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

int clipstore_stream_next(const struct clipstore *cs, uint32_t id, struct clipstream *st, float *pcm,
                          size_t n, size_t *got)
{
    const struct clip *c = &cs->clips[id];
    uint64_t upto = st->made + n < c->len_frames ? st->made + n : c->len_frames;
    *got = (size_t)(upto - st->made);
    return stream_make(c, st, pcm, st->made, upto);
}

void clipstore_stream_close(struct clipstream *st)
{
    if (!st) return;
    stream_close(st);
    free(st);
}

/* Brings a streamed clip's resampler to its window's end (made): opened
 * (again, when it went past: a restart), and the frames before made that
 * came from elsewhere made and dropped. */
static int stream_sync(const struct clipstore *cs, const struct clip *c, struct clipstream *st)
{
    if (st->rs && st->rs_at == st->made) return 0;
    if (!st->rs || st->rs_at > st->made) {
        stream_close(st);
        int rc = stream_open(cs, c, st);
        if (rc) return rc;
    }
    uint64_t gap = st->made - st->rs_at;
    if (!gap) return 0;
    size_t cap = gap < 8192 ? (size_t)gap : 8192;
    float *scratch = malloc(cap * sizeof *scratch);
    int rc = scratch ? 0 : COACH_ENOMEM;
    while (!rc && st->rs_at < st->made) {
        size_t k = st->made - st->rs_at < cap ? (size_t)(st->made - st->rs_at) : cap;
        rc = resampler_run(st->rs, scratch, k);
        if (!rc) st->rs_at += k;
    }
    free(scratch);
    return rc;
}

/* Makes a streamed clip's frames [made, upto) into its window: taken from
 * the clips made ahead (cs->premade_frames) where they are there, else
 * made here. */
static int window_make(const struct clipstore *cs, uint32_t id, struct clipstream *st, uint64_t upto)
{
    const struct clip *c = &cs->clips[id];
    while (st->made < upto) {
        if (cs->premade_frames) {
            size_t k = cs->premade_frames(cs->premade_ctx, id, st->made, upto,
                                          st->win + (st->made - st->first));
            if (k) {
                st->made += k;
                continue;
            }
        }
        int rc = stream_sync(cs, c, st);
        if (!rc) rc = stream_make(c, st, st->win, st->first, upto);
        return rc;
    }
    return 0;
}

/* The address at which a streamed clip's frame 0 would be, so that the
 * renderer's pcm + frame lands in the window for every frame in it. Made
 * in integers: it points outside the window, and is only ever used
 * offset back into it. */
static float *window_base(const struct clipstream *st)
{
    return (float *)((uintptr_t)st->win - (uintptr_t)(st->first * sizeof(float)));
}

int clipstore_prepare_streamed(struct clipstore *cs, uint32_t id)
{
    if (id >= cs->len) return COACH_EINVAL;
    struct clip *c = &cs->clips[id];
    if (c->pcm) return 0;
    if (!c->len_frames) return clipstore_prepare(cs, id);
    int rc = makeable(cs, id);
    if (rc) return rc;
    struct clipstream *st = calloc(1, sizeof *st);
    if (!st) return COACH_ENOMEM;
    st->win_cap = c->len_frames < CLIPS_STREAM_WINDOW_FRAMES ? (size_t)c->len_frames
                                                             : CLIPS_STREAM_WINDOW_FRAMES;
    st->win = malloc(st->win_cap * sizeof *st->win);
    if (!st->win) {
        free(st);
        return COACH_ENOMEM;
    }
    /* the source and resampler are opened when a frame is first made here
       (window_make): the clips made ahead may give every frame */
    c->stream = st;
    c->pcm = window_base(st);
    return 0;
}

int clipstore_window(struct clipstore *cs, uint32_t id, uint64_t from, uint64_t upto)
{
    if (id >= cs->len) return COACH_EINVAL;
    struct clip *c = &cs->clips[id];
    struct clipstream *st = c->stream;
    if (!st) return c->pcm ? 0 : COACH_EINVAL;
    if (upto > c->len_frames) upto = c->len_frames;
    if (from > upto) from = upto;
    if (from < st->first) { /* a use from further back: made again from the start */
        stream_close(st);
        st->first = 0;
        st->made = 0;
    }
    /* A jump ahead (an export from the middle of a clip): the frames before
     * from are made a window at a time and dropped, so the window does not
     * grow to the jump (the resampler has to go through them). */
    while (st->made < from) {
        uint64_t to = st->first + st->win_cap < from ? st->first + st->win_cap : from;
        if (to > st->made) {
            int rc = window_make(cs, id, st, to);
            if (rc) return rc;
        }
        st->first = st->made;
    }
    if (upto > st->made && upto - st->made < CLIPS_MAKE_FRAMES) {
        upto = st->made + CLIPS_MAKE_FRAMES;
        if (upto > c->len_frames) upto = c->len_frames;
    }
    if (upto > st->made) {
        /* Frames before from are heard: slide what is kept to the window's
         * start when the new ones would not fit after it. */
        uint64_t keep_from = from < st->made ? from : st->made;
        if (upto - st->first > st->win_cap) {
            memmove(st->win, st->win + (keep_from - st->first),
                    (size_t)(st->made - keep_from) * sizeof *st->win);
            st->first = keep_from;
        }
        if (upto - st->first > st->win_cap) { /* a wider window than ever asked */
            float *w = realloc(st->win, (size_t)(upto - st->first) * sizeof *w);
            if (!w) return COACH_ENOMEM;
            st->win = w;
            st->win_cap = (size_t)(upto - st->first);
        }
        int rc = window_make(cs, id, st, upto);
        if (rc) return rc;
    }
    c->pcm = window_base(st);
    return 0;
}

void clipstore_release(struct clipstore *cs, uint32_t id)
{
    if (id >= cs->len) return;
    struct clip *c = &cs->clips[id];
    if (c->stream) {
        stream_close(c->stream);
        free(c->stream->win);
        free(c->stream);
        c->stream = NULL;
    } else {
        free(c->pcm);
    }
    c->pcm = NULL;
}

uint64_t clipstore_resident_bytes(const struct clipstore *cs)
{
    uint64_t n = cs->cap * sizeof *cs->clips + cs->hash_cap * sizeof *cs->hash + cs->spill_mem_cap +
                 cs->ready_cap * sizeof *cs->ready + cs->ready_hash_cap * sizeof *cs->ready_hash;
    for (size_t i = 0; i < cs->ready_len; i++)
        n += strlen(cs->ready[i].text) + 1;
    for (size_t i = 0; i < cs->len; i++) {
        n += strlen(cs->clips[i].text) + 1;
        const struct clip *c = &cs->clips[i];
        if (c->stream)
            n += c->stream->win_cap * sizeof(float) + sizeof *c->stream;
        else if (c->pcm)
            n += (c->len_frames ? c->len_frames : 1) * sizeof(float);
    }
    return n;
}
