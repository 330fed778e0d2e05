/* The live engine: what the audio callback runs. It renders the timeline
 * with the renderer and carries out commands that arrive through a
 * lock-free ring (pause and resume with fades, seeks, speech said while the
 * timeline waits, acknowledgement tones, a timeline swap), and reports back
 * through another ring. Real-time safe: after live_init, live_process never
 * allocates, locks, logs or does I/O. It knows nothing about devices: the
 * PortAudio sink calls it, and so do the tests, block by block. */
#ifndef COACH_LIVE_H
#define COACH_LIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "coach/render.h"
#include "coach/ring.h"
#include "coach/timeline.h"

#define LIVE_FADE_MS 30 /* fade out before pausing or jumping, fade in after */
#define LIVE_NO_ACK 0xff
#define LIVE_PENDING_NONE 0xff /* no command waits for a fade out */

enum live_cmd_kind {
    LIVE_SWAP,    /* render tl from now on; final: it is the whole routine */
    LIVE_PAUSE,   /* fade out, then hold the timeline */
    LIVE_RESUME,  /* fade back in */
    LIVE_SEEK,    /* fade out, jump to frame, fade in (stays paused if paused) */
    LIVE_OVERLAY, /* say pcm while the timeline waits, then go on */
    LIVE_ACK,     /* only sound an acknowledgement */
    LIVE_STOP,    /* fade out and end */
};

struct live_cmd {
    uint8_t kind;               /* enum live_cmd_kind */
    uint8_t ack;                /* enum ack_kind to sound, or LIVE_NO_ACK */
    bool final;                 /* LIVE_SWAP */
    uint64_t frame;             /* LIVE_SEEK: target timeline frame */
    const struct timeline *tl;  /* LIVE_SWAP */
    const float *pcm;           /* LIVE_OVERLAY: mono at the output rate */
    uint64_t len_frames;        /* LIVE_OVERLAY */
};

enum live_note_kind {
    NOTE_PAUSED,       /* frame: where the timeline holds */
    NOTE_RESUMED,
    NOTE_SEEKED,       /* frame: the new position */
    NOTE_OVERLAY_DONE,
    NOTE_ENDED,        /* the whole routine was played */
    NOTE_STOPPED,      /* after LIVE_STOP's fade */
};

struct live_note {
    uint8_t kind;   /* enum live_note_kind */
    uint64_t frame; /* timeline position */
};

enum live_mode { LIVE_RUN, LIVE_PAUSED, LIVE_SPEAKING, LIVE_DONE };

struct live {
    /* immutable after live_init */
    uint32_t rate_hz;
    uint32_t channels;
    uint64_t fade_frames;
    struct ring cmd;           /* control thread -> audio */
    struct ring note;          /* audio -> control thread */
    float *ack_mono;           /* scratch for the acknowledgement tone */
    /* audio thread only (after start) */
    struct renderer r;
    bool final;                /* the timeline is the whole routine */
    enum live_mode mode;
    uint64_t pos;              /* next timeline frame to render */
    float gain;                /* timeline fade gain, 0..1 */
    int fade;                  /* -1 fading out, +1 fading in, 0 steady */
    uint8_t pending;           /* what a fade out leads to: enum live_cmd_kind or LIVE_PENDING_NONE */
    uint64_t pending_frame;    /* LIVE_SEEK target */
    bool paused_before_overlay;
    const float *ov;           /* speech said while the timeline waits */
    uint64_t ov_len, ov_pos;
    struct event ack;          /* current acknowledgement tone (len 0: none) */
    uint64_t ack_pos;
    /* audio writes, others read */
    atomic_uint_fast64_t played;       /* timeline position after the last block */
    atomic_uint_fast64_t heard_frames; /* timeline frames actually played (no skips, no pauses) */
    atomic_uint_fast64_t epoch;        /* blocks completed: a reader-free point */
    atomic_uint_fast64_t stall_frames; /* silence because the plan was not ready */
    atomic_uint_fast64_t lost_notes;   /* notes dropped: the note ring was full */
    atomic_int mode_now;               /* enum live_mode, for status */
};

/* tl: the first timeline (a prefix unless final). clip_pcm: slots for every
 * clip the timelines will use. Returns 0 or COACH_ENOMEM. */
int live_init(struct live *l, const struct timeline *tl, bool final, clip_slot *clip_pcm,
              uint32_t channels, size_t max_block);
void live_free(struct live *l);
/* The audio callback's whole job: n frames (n * channels floats) into out. */
void live_process(struct live *l, float *out, size_t n);
/* Control thread: queue a command; false if the ring is full. */
bool live_send(struct live *l, const struct live_cmd *c);
/* Control thread: next note, false if none. */
bool live_poll(struct live *l, struct live_note *n);

#endif
