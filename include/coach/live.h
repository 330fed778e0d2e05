/* The live engine: what the audio callback runs. It renders the timeline
 * with the renderer and carries out commands that arrive through a
 * lock-free ring (pause and resume with fades, seeks, speech said while the
 * timeline waits, acknowledgement tones, a timeline swap), and reports back
 * through another ring. Everything it mixes (the timeline, the spoken
 * answers, the acknowledgement tones) goes through the renderer's one
 * limiter. Real-time safe: after live_init, live_process never allocates,
 * locks, logs or does I/O. It knows nothing about devices: a sink calls it
 * (PortAudio's callback, or the memory sink of the tests), block by block.
 *
 * What sounds follows from a few states: the timeline plays when nothing
 * holds it (not paused, no speech waiting or being said, no jump or stop
 * under way); whatever holds it first fades it out over LIVE_FADE_MS, and
 * only then is the jump made, the speech said or the stop done. Speech
 * that is cut short (a newer one, a stop, a resume cutting "Paused") fades
 * out too. Paused time and speech time do not advance the timeline.
 *
 * A self-paced part (timeline.h's struct wait) holds the timeline at its
 * end until a LIVE_SEEK jumps there: the engine counts the
 * time held (wait_frames) and plays nothing of the timeline meanwhile
 * (speech said over it, acknowledgements and the keep-alive as ever). */
#ifndef COACH_LIVE_H
#define COACH_LIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "coach/render.h"
#include "coach/ring.h"
#include "coach/timeline.h"

#define LIVE_FADE_MS 30    /* fade out before pausing or jumping, fade in after */
#define LIVE_NO_ACK 0xff
#define LIVE_RING_MSGS 256 /* commands and notes in flight */

enum live_cmd_kind {
    LIVE_SWAP,   /* render tl from now on; final: it is the whole routine */
    LIVE_PAUSE,  /* hold the timeline; pcm (optional): said once it holds ("Paused") */
    LIVE_RESUME, /* play on; cuts the pause's speech */
    LIVE_SEEK,   /* jump to frame (plays on from there unless paused; a self-paced
                  * part that ends right there is over: "done" jumps so) */
    LIVE_SAY,    /* say pcm while the timeline waits, then go on; cuts earlier speech */
    LIVE_ACK,    /* only sound an acknowledgement */
    LIVE_STOP,   /* fade out and end */
};

struct live_cmd {
    uint8_t kind;              /* enum live_cmd_kind */
    uint8_t ack;               /* enum ack_kind to sound, or LIVE_NO_ACK */
    bool final;                /* LIVE_SWAP */
    uint32_t say_id;           /* LIVE_SAY, LIVE_PAUSE with pcm: reported back in NOTE_SAID */
    uint64_t frame;            /* LIVE_SEEK: target timeline frame */
    /* LIVE_SEEK: "done": the self-paced part ending at frame is finished,
     * so a chapter ending there was played through (NOTE_CHAPTER_END) */
    bool wait_done;
    const struct timeline *tl; /* LIVE_SWAP */
    const float *pcm;          /* LIVE_SAY, LIVE_PAUSE: mono at the output rate, or NULL */
    uint64_t len_frames;       /* of pcm */
};

enum live_note_kind {
    NOTE_PAUSED,      /* frame: where the timeline holds */
    NOTE_RESUMED,     /* frame: where it plays on */
    NOTE_SEEKED,      /* from -> frame */
    NOTE_SAID,        /* id: that speech is over (said, cut or dropped): its pcm is free */
    NOTE_CHAPTER_END, /* id: the step of a chapter played through to its end (frame) */
    NOTE_ENDED,       /* the whole routine was played */
    NOTE_STOPPED,     /* after LIVE_STOP's fade */
};

struct live_note {
    uint8_t kind;   /* enum live_note_kind */
    int32_t id;     /* NOTE_SAID: say_id; NOTE_CHAPTER_END: the chapter's step */
    uint64_t frame; /* timeline position */
    uint64_t from;  /* NOTE_SEEKED: the position it left */
};

enum live_mode { LIVE_RUN, LIVE_PAUSED, LIVE_SPEAKING, LIVE_DONE };

/* Speech the engine says over a waiting timeline. */
struct live_speech {
    const float *pcm; /* NULL: none */
    uint64_t len, pos;
    uint32_t id;
    bool for_pause;   /* the pause's own words: a resume cuts them */
};

struct live {
    /* immutable after live_init */
    uint32_t rate_hz;
    uint32_t channels;
    uint64_t fade_frames;
    struct ring cmd;           /* control thread -> audio */
    struct ring note;          /* audio -> control thread */
    float *mix;                /* scratch: the mono mix of a block */
    float *ack_mono;           /* scratch for the acknowledgement tone */
    /* set before the sound starts: at the end of the whole routine, note
     * NOTE_ENDED but stay (silent) for speech until LIVE_STOP (--ask-pain
     * asks its question there) */
    bool linger;
    /* audio thread only (after start) */
    struct renderer r;
    bool ended;                /* linger: NOTE_ENDED sent, the timeline is over */
    bool final;                /* the timeline is the whole routine */
    bool done;
    bool paused;               /* asked to pause (stays until resumed) */
    bool paused_noted;         /* NOTE_PAUSED sent for this pause */
    bool stopping;
    bool seeking;              /* a jump waits for the fade out */
    uint64_t seek_to;
    bool seek_done;            /* the jump is a "done" (live_cmd.wait_done) */
    size_t next_wait;          /* the self-paced part (tl->waits) whose end holds the timeline */
    uint64_t pos;              /* next timeline frame to render */
    float gain;                /* timeline fade gain, 0..1 */
    struct live_speech said;   /* being said */
    struct live_speech next;   /* waiting for the timeline to fade out */
    float said_gain;           /* 1, falling while said is cut */
    bool cutting;              /* said is fading out */
    size_t next_mark;          /* first chapter whose end is not yet played */
    struct event ack;          /* current acknowledgement tone (len 0: none) */
    uint64_t ack_pos;
    /* --preroll (live_keepalive, before the sound starts; 0: off) */
    uint64_t preroll_frames;   /* lead-in before a sound that follows a long quiet */
    uint64_t wake_after_frames; /* quiet this long: the speaker may be asleep */
    uint64_t ka_fade_frames;   /* the engine's keep-alive fades in and out this fast */
    float *ka_mono;            /* scratch for it */
    /* audio thread only */
    uint64_t quiet_frames;     /* output frames since something other than a keep-alive sounded */
    uint64_t lead_left;        /* frames of the lead-in still to play before that sound */
    uint64_t ka_pos;           /* output frames so far: the engine keep-alive's phase */
    float ka_gain;             /* its fade, 0..1 */
    /* audio writes, others read */
    atomic_uint_fast64_t played;       /* timeline position after the last block */
    atomic_uint_fast64_t heard_frames; /* timeline frames actually played (no skips, no pauses) */
    atomic_uint_fast64_t epoch;        /* blocks completed: a reader-free point */
    atomic_uint_fast64_t stall_frames; /* silence because the plan was not ready */
    atomic_uint_fast64_t lost_notes;   /* notes dropped: the note ring was full */
    atomic_int mode_now;               /* enum live_mode, for status */
    atomic_uint_fast64_t lead_ins;     /* lead-ins played (--preroll) */
    atomic_uint_fast64_t wait_now;     /* next_wait after the last block */
    atomic_uint_fast64_t wait_frames;  /* output frames held at its end, not paused (0: not there) */
};

/* tl: the first timeline (a prefix unless final). clip_pcm: slots for every
 * clip the timelines will use. Returns 0 or COACH_ENOMEM. */
int live_init(struct live *l, const struct timeline *tl, bool final, clip_slot *clip_pcm,
              uint32_t channels, size_t max_block);
void live_free(struct live *l);
/* --preroll for a live session (call before the sound starts): while the
 * timeline does not play (paused, speaking over it, waiting for the plan)
 * the engine plays the inaudible keep-alive (tone.h) itself, and a sound
 * (speech, the timeline resuming, a tone) that follows wake_after_frames
 * of quiet is held back for preroll_frames of keep-alive first, so a
 * Bluetooth speaker that fell asleep anyway wakes before it. What the
 * timeline plays is never changed: it carries its own lead-in and
 * keep-alive (plan.h). awake: the first sound needs no lead-in (the
 * timeline starts with its own); else the first sound gets one (the
 * menu's first words). */
void live_keepalive(struct live *l, uint64_t preroll_frames, uint64_t wake_after_frames,
                    bool awake);
/* The audio callback's whole job: n frames (n * channels floats) into out. */
void live_process(struct live *l, float *out, size_t n);
/* Control thread: queue a command; false if the ring is full. */
bool live_send(struct live *l, const struct live_cmd *c);
/* Control thread: next note, false if none. */
bool live_poll(struct live *l, struct live_note *n);

#endif
