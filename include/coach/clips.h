/* The speech clip store: the one owner of every clip's text and length (a
 * timeline refers to clips by id only). Each distinct text is synthesized
 * once; its length at the output rate is known at once (the planner needs
 * it); the synthesized source is kept for the whole session (synthesizing
 * the text again could give another length), losslessly as FLAC in a spill
 * store: an unlinked temporary file under $TMPDIR (in memory only if none
 * can be made), so the resident memory does not grow with the routine's
 * length (see pcmstore.h: the same samples in about half the bytes); its float
 * PCM at the output rate is made ("prepared") only when it is about to be
 * heard and dropped after its last use, so memory stays small for long
 * routines. A plan's phrases can be synthesized ahead on every core
 * (clipstore_prefetch, synthpool.h). A store can also only measure (check,
 * plan: no audio is kept) or only estimate (no synthesis: lengths from the text, for the menu's
 * estimates and the tests). Not thread-safe. */
#ifndef COACH_CLIPS_H
#define COACH_CLIPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/speech.h"

enum clip_mode {
    CLIPS_AUDIO,    /* synthesize and keep the source: clips can be prepared */
    CLIPS_LENGTHS,  /* synthesize to measure, keep nothing: never prepared */
    CLIPS_ESTIMATE, /* no synthesis: a phrase's length from the phrase cache
                     * (if the store has one) or estimated from the text */
};

struct clip {
    char *text;           /* the UTF-8 text spoken (and captioned) */
    int rate_wpm;         /* said at this rate; 0: the voice's own */
    uint64_t flac_off;    /* synthesized PCM at src_rate_hz, silence trimmed, as a
                             FLAC stream (pcmstore) at this offset in the spill store */
    size_t flac_bytes;    /* its bytes; 0: no source kept (not CLIPS_AUDIO) */
    size_t src_len;       /* frames at src_rate_hz */
    uint32_t src_rate_hz; /* the synthesizer's rate for this clip's voice */
    uint64_t len_frames;  /* frames at the output rate (exact, known at intern) */
    float *pcm;           /* output-rate PCM, normalized; NULL unless prepared */
    struct clipstream *stream; /* prepared in pieces (clipstore_prepare_streamed); else NULL */
    double loudness_lufs; /* of the source (loudness_of_phrase), once known */
    int loudness_known;   /* loudness_lufs measured (at the first prepare) */
};

struct clipstore {
    struct clip *clips;   /* index = clip id, dense from 0 */
    size_t len, cap;
    uint32_t rate_hz;     /* output rate */
    struct speech *sp;    /* borrowed; NULL: only clipstore_add and estimates */
    enum clip_mode mode;
    uint32_t *hash;       /* open-addressing text -> id+1 table */
    size_t hash_cap;
    float volume;         /* the voice's volume: linear gain on the clips' loudness */
    uint64_t src_bytes;   /* int16 bytes of every source synthesized (raw) */
    uint64_t flac_bytes;  /* bytes of every source kept as FLAC */
    struct phrasecache *cache; /* borrowed; NULL: every phrase synthesized */
    /* What the speech is (or would be) opened with: the voice's rate for
     * estimates and, in CLIPS_ESTIMATE with a cache, the keys to find a
     * phrase's real length there without an engine. Zero: the defaults
     * speech_open gives. */
    struct speech_settings keys;
    /* The spill store holding the sources' FLAC bytes end to end: */
    int spill_fd;         /* an unlinked temporary file, if spill_open; -1: none */
    bool spill_open;      /* tried to open it */
    uint8_t *spill_mem;   /* the fallback when the file cannot be made or written */
    size_t spill_mem_cap;
    uint64_t spill_end;   /* bytes used */
    /* Clips synthesized ahead (clipstore_prefetch), taken when interned: */
    struct clip *ready;
    size_t ready_len, ready_cap;
    uint32_t *ready_hash;
    size_t ready_hash_cap;
    unsigned workers;     /* phrases synthesized at once (synthpool.h) */
    /* Clips made on another thread (clipahead.h), asked first by
     * clipstore_prepare: 1 and *pcm (clipstore_make's, now the store's),
     * 0 (make it here) or negative (that thread's error). NULL: none. */
    int (*premade)(void *ctx, uint32_t id, float **pcm);
    /* ... and asked first by a streamed clip's window: copies frames
     * [from, upto) of clip id from their start into pcm as far as it has
     * them, and returns how many (0: make them here). */
    size_t (*premade_frames)(void *ctx, uint32_t id, uint64_t from, uint64_t upto, float *pcm);
    void *premade_ctx;
};

int clipstore_init(struct clipstore *cs, struct speech *sp, uint32_t rate_hz);
/* CLIPS_AUDIO by default; set before the first clip. */
void clipstore_set_mode(struct clipstore *cs, enum clip_mode mode);
/* Phrases synthesized at once by clipstore_prefetch (1..SYNTHPOOL_MAX_WORKERS;
 * synthpool_default_workers() by default). */
void clipstore_set_workers(struct clipstore *cs, unsigned workers);
void clipstore_free(struct clipstore *cs);
/* Synthesizes ahead, on cs->workers processes at once, every text of
 * wanted (a store that only estimated: the texts a plan will likely ask
 * for) that cs has not, nor the phrase cache: interning one later takes
 * it at once. A text that fails is left to fail again, with its message,
 * when it is interned.
 * Returns 0, COACH_EINTR or COACH_ENOMEM. */
int clipstore_prefetch(struct clipstore *cs, const struct clipstore *wanted);
/* Returns the id of text, synthesizing (or estimating) it if new;
 * *len_frames is the clip's length at the output rate. Returns 0 or
 * negative. */
int clipstore_intern(struct clipstore *cs, const char *text, uint32_t *id, uint64_t *len_frames);
/* Same, said at rate_wpm words per minute (0: the voice's rate): the same
 * text at two rates is two clips. */
int clipstore_intern_at(struct clipstore *cs, const char *text, int rate_wpm, uint32_t *id,
                        uint64_t *len_frames);
/* A clip of a given length with no audio (hand-made timelines, tests):
 * the id of text, added with len_frames if new (an existing clip keeps its
 * length). Returns 0 or negative. */
int clipstore_add(struct clipstore *cs, const char *text, uint64_t len_frames, uint32_t *id);
/* The same for text said at rate_wpm (clipstore_intern_at's: 0 for the
 * voice's own): a plan interning it there finds this length. */
int clipstore_add_at(struct clipstore *cs, const char *text, int rate_wpm, uint64_t len_frames,
                     uint32_t *id);
/* The clip's text and length; NULL / 0 for an unknown id. */
const char *clipstore_text(const struct clipstore *cs, uint32_t id);
uint64_t clipstore_len(const struct clipstore *cs, uint32_t id);
/* Bytes [off, off+n) of clip id's kept source (its FLAC stream, flac_bytes
 * long): 0, COACH_EINVAL outside it, or COACH_EIO. */
int clipstore_source_read(const struct clipstore *cs, uint32_t id, uint64_t off, void *buf, size_t n);
/* Makes clips[id].pcm (resample + normalize). Idempotent. COACH_EINVAL for
 * a clip whose audio was not kept (another mode, or clipstore_add). */
int clipstore_prepare(struct clipstore *cs, uint32_t id);
/* Whether clipstore_make can make clip id: audio kept, loudness known
 * (measured by the synthesizer or a first clipstore_prepare), not empty. */
bool clipstore_can_make(const struct clipstore *cs, uint32_t id);
/* Makes clip id's PCM, the frames clipstore_prepare makes, into a new
 * buffer (*pcm, the caller's to free) without touching the store: it may
 * run on another thread while the owner prepares, streams and releases
 * clips, as long as no clip is added meanwhile. COACH_EINVAL unless
 * clipstore_can_make; else 0 or negative. */
int clipstore_make(const struct clipstore *cs, uint32_t id, float **pcm);
/* The same frames in pieces, in order, under clipstore_make's rules:
 * opens clip id's source and resampler; each clipstore_stream_next makes
 * the next n frames (*got: fewer at the clip's end, 0 after it) into pcm. */
int clipstore_stream_open(const struct clipstore *cs, uint32_t id, struct clipstream **st);
int clipstore_stream_next(const struct clipstore *cs, uint32_t id, struct clipstream *st, float *pcm,
                          size_t n, size_t *got);
void clipstore_stream_close(struct clipstream *st);
/* Prepares clips[id] in pieces, for a long clip heard in order (export):
 * its frames are made only when clipstore_window asks for them, into a
 * window that drops what was heard, so memory stays flat however long the
 * clip; its pcm is the address frame 0 would have, so pcm + frame reads
 * the window. The frames made are clipstore_prepare's. Returns 0 or
 * negative. */
int clipstore_prepare_streamed(struct clipstore *cs, uint32_t id);
/* The frames a streamed clip holds at most (as float: 512 KB), unless
 * clipstore_window asks for a wider span: streaming pays only for clips
 * longer than this. */
#define CLIPS_STREAM_WINDOW_FRAMES 131072
/* A streamed clip's frames [from, upto) are about to be read: makes them
 * (from the start again if frames before from were dropped), drops what
 * is before from when the window needs room, and moves pcm with the
 * window. A clip prepared whole: nothing to do. Returns 0, or negative
 * (then what the clip's pcm holds is not to be used). */
int clipstore_window(struct clipstore *cs, uint32_t id, uint64_t from, uint64_t upto);
/* Frees clips[id].pcm (the source stays, so it can be prepared again). */
void clipstore_release(struct clipstore *cs, uint32_t id);
/* Bytes the store holds in memory now (clip records, texts, hash table,
 * prepared PCM, an in-memory spill): what grows with a routine's length. */
uint64_t clipstore_resident_bytes(const struct clipstore *cs);

/* The estimate CLIPS_ESTIMATE uses for a phrase said at rate_wpm (<= 0:
 * 175, espeak-ng's own): 230 ms and 9300 / rate_wpm ms a character (not
 * a byte; a digit counts 4: read as a word), 0 for an empty text. */
uint64_t clip_estimate_frames(const char *text, int rate_wpm, uint32_t rate_hz);

#endif
