/* The speech clip store: each distinct text is synthesized once (espeak-ng at
 * its own rate, int16, kept losslessly packed: see pcmpack.h), its length at the output rate known at once
 * (the planner needs it), and its float PCM at the output rate made
 * ("prepared") only when it is about to be heard and dropped after its last
 * use, so memory stays small for long routines. Not thread-safe. */
#ifndef COACH_CLIPS_H
#define COACH_CLIPS_H

#include <stddef.h>
#include <stdint.h>

#include "coach/speech.h"

struct clip {
    char *text;           /* the UTF-8 text spoken */
    uint8_t *packed;      /* synthesized PCM at src_rate_hz, silence trimmed,
                             packed (pcmpack): half the memory, same samples */
    size_t packed_bytes;
    size_t src_len;       /* frames at src_rate_hz */
    uint64_t len_frames;  /* frames at the output rate (exact, known at intern) */
    float *pcm;           /* output-rate PCM, normalized; NULL unless prepared */
};

struct clipstore {
    struct clip *clips;   /* index = clip id, dense from 0 */
    size_t len, cap;
    uint32_t rate_hz;     /* output rate */
    uint32_t src_rate_hz; /* speech rate */
    struct speech *sp;    /* borrowed */
    uint32_t *hash;       /* open-addressing text -> id+1 table */
    size_t hash_cap;
    float peak;           /* normalization target for prepared clips */
    int lengths_only;     /* keep no sources: the clips are never prepared */
    uint64_t src_bytes;   /* int16 bytes of every source (what packing saves on) */
    uint64_t packed_bytes;/* bytes of every packed source */
};

int clipstore_init(struct clipstore *cs, struct speech *sp, uint32_t rate_hz);
/* For a plan that is only looked at (check, plan): interning measures each
 * clip and keeps nothing of its audio, preparing fails with COACH_EINVAL. */
void clipstore_set_lengths_only(struct clipstore *cs);
void clipstore_free(struct clipstore *cs);
/* Returns the id of text, synthesizing it if new; *len_frames is the clip's
 * length at the output rate. Returns 0 or negative. */
int clipstore_intern(struct clipstore *cs, const char *text, uint32_t *id, uint64_t *len_frames);
/* Makes clips[id].pcm (resample + normalize). Idempotent. */
int clipstore_prepare(struct clipstore *cs, uint32_t id);
/* Frees clips[id].pcm (the packed source stays, so it can be prepared again). */
void clipstore_release(struct clipstore *cs, uint32_t id);

#endif
