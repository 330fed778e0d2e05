/* The timeline: sorted, immutable events at exact frame positions, made by
 * the planner and read by the renderer, the dumps and the sinks. Speech
 * events name their clip by id: its text and length live in the clip store
 * the plan was made with (clips.h), never here. */
#ifndef COACH_TIMELINE_H
#define COACH_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum event_kind {
    EV_SPEECH,       /* a speech clip (clip = id) */
    EV_CLICK,        /* soft metronome tick */
    EV_CLICK_ACCENT, /* accented first beat of a bar / block */
    EV_BEEP,         /* countdown beep */
    EV_BEEP_FINAL,   /* last countdown beep: higher and longer (work starts) */
    EV_BREATH_IN,    /* rising tone over the inhale */
    EV_BREATH_HOLD,  /* steady quiet tone over a breath hold */
    EV_BREATH_OUT,   /* falling tone over the exhale */
    EV_PHASE,        /* tempo phase tone; variant = phase index */
    EV_BELL,         /* end-of-routine bell */
    EV_ACK,          /* live only: a command heard; variant = enum ack_kind */
    EV_KEEPALIVE,    /* --preroll: an inaudible tone that keeps a Bluetooth speaker
                      * awake (variant: TONE_KEEPALIVE_FADE_IN | _FADE_OUT) */
    EV_KIND_COUNT
};

/* Acknowledgement tones of live commands (EV_ACK variants). */
enum ack_kind { ACK_PAUSE, ACK_RESUME, ACK_SEEK, ACK_VOLUME, ACK_REFUSED };

struct event {
    uint64_t frame;      /* first frame */
    uint64_t len_frames; /* length; for speech = the clip's length */
    uint32_t clip;       /* EV_SPEECH: clip id; else 0 */
    int32_t step;        /* step index, -1 for intro and ending */
    uint8_t kind;        /* enum event_kind */
    uint8_t variant;     /* EV_PHASE: phase index; EV_ACK: enum ack_kind; EV_KEEPALIVE: fades */
    uint8_t set;         /* 1-based set of the step's work, 0 outside it */
    uint8_t side;        /* 1-based side, 0 if the step has none */
    uint8_t rep;         /* 1-based repetition or breath cycle, 0 outside */
};

/* One per step (and one for the intro): chapters for exports and dumps,
 * and the places live commands jump to. A step's chapter may begin with a
 * rest that announces it ("Rest for 15 seconds. Next: Bridge." and its
 * setup); the step itself begins at body_frame, with its own announcement. */
struct chapter {
    uint64_t frame;      /* start */
    uint64_t body_frame; /* the step's own start (its title); == frame without a rest */
    uint64_t end_frame;  /* exclusive */
    int32_t step;        /* -1 = intro */
    char *title;         /* e.g. "Exercise 3 of 10: Bridge" */
};

/* A self-paced part (pace = self, hold = max, rest = ready): an
 * open-ended segment of the plan. An export plays it for its default length
 * (plan.h); live, the playhead holds at its end (frame) until "done", which
 * jumps there from anywhere in [open_frame, frame]. Nothing sounds across
 * frame: the planner ends every event of the part before it. */
enum wait_kind { WAIT_REPS, WAIT_HOLD, WAIT_REST };
struct wait {
    uint64_t open_frame;  /* the coach asks for "done" from here on */
    uint64_t start_frame; /* the work (a hold: the time held) starts here */
    uint64_t frame;       /* its end at the default length: live playback holds here */
    int32_t step;         /* step index */
    uint8_t kind;         /* enum wait_kind */
    char *caption;        /* for captions: "[at your own pace: 40 seconds in this recording]" */
};

/* What sounds without words (breath tones, a metronome, a hold, a rest),
 * for captions: a caption shows its text over the parts of [frame,
 * end_frame) that no phrase covers, so a viewer is never left without a
 * cue while the session is guiding. Nothing is heard of it. */
struct note {
    uint64_t frame;     /* start */
    uint64_t end_frame; /* exclusive */
    char *text;         /* e.g. "[rest, 30 seconds]" (the profile's caption_* phrases) */
};

struct timeline {
    uint32_t rate_hz;
    uint64_t len_frames;      /* total length, including the bell's tail */
    struct event *ev;         /* sorted by frame (stable) */
    size_t n_ev, cap_ev;
    struct chapter *ch;
    size_t n_ch, cap_ch;
    uint64_t max_event_frames; /* longest event: bounds the renderer's search */
    uint64_t ending_frame;    /* where the closing words start (len_frames in a prefix) */
    size_t n_clips;           /* clip ids used are below this */
    struct wait *waits;       /* self-paced parts, in time order */
    size_t n_waits, cap_waits;
    struct note *notes;       /* captions of the wordless parts, in placing order */
    size_t n_notes, cap_notes;
};

const char *event_kind_name(enum event_kind k); /* "speech", "click", ... */
void timeline_free(struct timeline *tl);
/* The chapter holding frame (chapters are contiguous and in order); NULL
 * before the first. */
const struct chapter *timeline_chapter_at(const struct timeline *tl, uint64_t frame);
/* Where chapter i's own content ends: its end, or where the closing words
 * begin (the last chapter runs on to the end of the session). */
uint64_t timeline_chapter_content_end(const struct timeline *tl, size_t i);
/* Index of the first wait whose frame >= frame (after: > frame); n_waits
 * if none. */
size_t timeline_wait_from(const struct timeline *tl, uint64_t frame, bool after);
/* Index of the first event whose frame >= frame (binary search). */
size_t timeline_lower_bound(const struct timeline *tl, uint64_t frame);
/* Is speech sounding anywhere in frames [from, to)? (The echo gate of
 * spoken commands asks, echo.h.) tl may be NULL: no. */
bool timeline_speech_between(const struct timeline *tl, uint64_t from, uint64_t to);

#endif
