/* The persistent phrase cache: every phrase a speech engine synthesized,
 * kept on disk as the clip store keeps it (the trimmed int16 source as a
 * pcmstore FLAC stream, its length and rate, its loudness), so the next
 * export, play, check or plan of the same text with the same engine,
 * version, voice and settings synthesizes nothing. One file per phrase in
 * $XDG_CACHE_HOME/coach (else ~/.cache/coach), named by a hash of its key;
 * the whole key text is stored in the entry and compared on reading, so a
 * hash collision is a miss, never another phrase's audio. Entries are
 * written to a unique temporary file and renamed into place, so several
 * coaches can share the directory; a damaged entry (short, flipped byte,
 * another key) is a miss and is replaced. A hit touches the entry's mtime:
 * the oldest mtime is the least recently used, evicted first once the
 * directory passes its limit (COACH_CACHE_MAX_MB, default 256 MB). An
 * unusable or read-only directory only means no cache: a warning through
 * the hook below at most once, never an error. Not thread-safe: one thread
 * per handle (the clip store's). */
#ifndef COACH_PHRASECACHE_H
#define COACH_PHRASECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PHRASECACHE_DEFAULT_MAX_MB 256
/* Bumped whenever what an entry holds changes meaning (the layout, the
 * trimming, the FLAC packing, the loudness measure): old entries then
 * simply miss. Part of every key. */
#define PHRASECACHE_FORMAT 2 /* 2: the check sums the FLAC 8 bytes at a time */

struct phrasecache;

/* What one phrase keeps (see struct clip). */
struct phrase_entry {
    uint8_t *flac;        /* pcmstore stream of the source; phrasecache_get: malloc'd */
    size_t flac_bytes;
    size_t src_len;       /* frames at src_rate_hz */
    uint32_t src_rate_hz;
    double loudness_lufs; /* loudness_of_phrase of the source, if loudness_known */
    bool loudness_known;
};

/* The directory used: $XDG_CACHE_HOME/coach if XDG_CACHE_HOME is an
 * absolute path, else $HOME/.cache/coach; NULL if neither (heap). */
char *phrasecache_default_dir(void);
/* The size limit: $COACH_CACHE_MAX_MB (a whole number of MB, 0 turns the
 * cache off), else PHRASECACHE_DEFAULT_MAX_MB; in bytes. */
uint64_t phrasecache_default_max_bytes(void);

/* A handle on dir (NULL: the default) with max_bytes (0: the default
 * limit). Nothing is created until the first entry is stored. Returns 0,
 * COACH_ENOTFOUND (no directory can be named, or the limit is 0: run
 * without a cache) or COACH_ENOMEM. */
int phrasecache_open(struct phrasecache **out, const char *dir, uint64_t max_bytes);
/* Evicts if anything was stored and the directory is over its limit. */
void phrasecache_close(struct phrasecache *pc);
const char *phrasecache_dir(const struct phrasecache *pc);

/* The entry of key into *e (e->flac malloc'd, the caller's). 0: a hit;
 * COACH_ENOTFOUND: a miss (none, damaged, another key); COACH_ENOMEM. */
int phrasecache_get(struct phrasecache *pc, const char *key, struct phrase_entry *e);
/* Only the length of key's phrase (src_len frames at src_rate_hz), from
 * its entry's header: the header's shape and the key are checked, not the
 * checksum over the audio, so a flipped bit there can make a length wrong
 * (bounded by SPEECH_MAX_CLIP_S), which is all a menu reads. The entry is
 * not marked used. 0: a hit; COACH_ENOTFOUND: a miss; COACH_ENOMEM. */
int phrasecache_length(struct phrasecache *pc, const char *key, size_t *src_len,
                       uint32_t *src_rate_hz);
/* Stores e under key (atomically replacing any entry). The least recently
 * used entries are evicted when the directory is over its limit, looked at
 * on phrasecache_close (or after a tenth of the limit stored), never on
 * every store.
 * 0, or COACH_EIO when it cannot be written: the handle then stores
 * nothing more (the warning hook is called once). */
int phrasecache_put(struct phrasecache *pc, const char *key, const struct phrase_entry *e);

struct phrasecache_stats {
    size_t entries;
    uint64_t bytes;      /* of the entries */
    uint64_t max_bytes;  /* the limit */
    bool exists;         /* the directory exists */
};
/* Counts the entries in the directory (0 of them when it does not exist). */
int phrasecache_stats(struct phrasecache *pc, struct phrasecache_stats *st);
/* Removes every entry (and leftover temporary file); the count removed in
 * *removed. 0 or COACH_EIO (errno says why). */
int phrasecache_clear(struct phrasecache *pc, size_t *removed, uint64_t *bytes);

/* Where a handle's one warning goes (the CLI prints it; NULL: nowhere). */
void phrasecache_set_warn(void (*fn)(const char *message));

#endif
