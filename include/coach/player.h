/* The player: one live session, from the first sound to the history
 * record. It owns the sink (sink.h), the live engine (live.h) and the
 * speech thread (feeder.h); it takes commands (enum ctl_cmd, whatever they
 * came from: keys, the control socket, signals) and carries them out the
 * way a person lying on the floor expects (position.h says where next,
 * previous and back go), speaks every state and every refusal (the voice
 * profile's words), keeps track of what was heard (a step skipped is not
 * done) and writes the history record at the end. It knows nothing about
 * terminals or argv: the caller polls player_fd, calls player_tick, and
 * prints what player_status says.
 *
 * A player made from a session without a routine is a voice with nothing
 * to play: it says sentences on request (player_say; the routine menu),
 * and pause, resume and the volume commands work as in a routine.
 *
 * Threads: every function here is for one control thread; the speech
 * thread and the audio callback are the player's own. */
#ifndef COACH_PLAYER_H
#define COACH_PLAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "coach/control.h"
#include "coach/loudness.h"
#include "coach/music.h"
#include "coach/session.h"
#include "coach/sink.h"

#define PLAYER_VOLUME_MAX 2.0f  /* louder stops here (the limiter keeps it below full scale) */
#define PLAYER_VOLUME_MIN 0.05f
#define PLAYER_VOLUME_STEP 1.25f
#define PLAYER_BACK_TWICE_MS 2000 /* back pressed twice this fast: previous */
/* A device whose stream still runs but that stops calling back (a sound
 * server stopped or stuck) is stalled after PLAYER_STALL_MS: the player
 * waits for it, and plays on from where it held when it calls back; after
 * PLAYER_GIVE_UP_MS without a callback the session ends (PLAYER_STALLED).
 * A stream that stops (the server quit, the device was unplugged) is lost
 * at once. Time the control thread itself was not running (the process
 * stopped with Ctrl-Z) does not count. */
#define PLAYER_STALL_MS 2000
#define PLAYER_GIVE_UP_MS 60000
#define PLAYER_TICK_GAP_MS 1000   /* ticks further apart: the process was stopped */
/* --ask-pain: the question waits this long for an answer, then the session
 * ends with none recorded; key 1 waits PLAYER_TEN_MS for a 0 (10) */
#define PLAYER_ASK_PAIN_MS 60000
#define PLAYER_TEN_MS 1000

struct player;

struct player_opts {
    const struct sink_ops *sink; /* where the audio goes */
    struct sink_config sink_cfg; /* device, rate, channels, latency (render is the player's) */
    const char *music;           /* --music FILE|DIR, or NULL */
    float volume;                /* master volume to start with (0: 1.0) */
    enum loudness_mode loudness; /* the programme gain, as export's (0: podcast) */
    const char *history_path;    /* where the record goes (NULL: nowhere) */
    /* "now" for "back twice within 2 s"; NULL: CLOCK_MONOTONIC. The tests
     * give the memory sink's time. */
    uint64_t (*clock_ns)(void *ctx);
    void *clock_ctx;
    /* 0: PLAYER_STALL_MS and PLAYER_GIVE_UP_MS on a device (a real-time
     * sink); a sink paced by wait alone never stalls unless given these */
    int stall_ms, give_up_ms;
    /* --ask-pain: at the end (completed, or stopped by a command) ask "How
     * is your back, from 0 to 10?" and wait up to ask_pain_ms (0:
     * PLAYER_ASK_PAIN_MS) for CTL_PAIN_0..10 */
    bool ask_pain;
    int ask_pain_ms;
};

/* What failed when a player could not start; each has its exit status. */
enum player_fail {
    PLAYER_OK,
    PLAYER_NO_DEVICE,   /* no audio device, or it cannot be opened (err) */
    PLAYER_HUNG,        /* the sound system does not answer (err); a thread is left in it */
    PLAYER_SPEECH,      /* espeak-ng failed (err) */
    PLAYER_PLAN,        /* the routine cannot be planned (err, file:line) */
    PLAYER_NO_MUSIC,    /* --music not found (err) */
    PLAYER_BAD_MUSIC,   /* --music cannot be used (err) */
    PLAYER_NOMEM,
};

enum player_state {
    PLAYER_PLAYING,     /* also paused, or speaking */
    PLAYER_ENDED,       /* the routine was played to its end */
    PLAYER_STOPPED,     /* stopped by a command */
    PLAYER_INTERRUPTED, /* stopped by a signal (player_interrupt) */
    PLAYER_LOST,        /* the device went away */
    PLAYER_STALLED,     /* the device stopped calling back and did not come back */
    PLAYER_FAILED,      /* speech could not be made (player_error says why) */
};

struct player_status {
    enum player_state state;
    uint64_t pos;           /* timeline frame playing */
    uint32_t rate_hz;
    bool paused;
    bool stalled;           /* the device stopped calling back (the player waits for it) */
    long chapter;           /* index in the timeline, -1 before the first */
    const char *chapter_title; /* valid until the next player call */
    uint64_t chapter_frame;
    uint64_t chapter_end_frame; /* exclusive */
    size_t n_chapters;          /* in the timeline playing */
    /* speech is being rendered: said live (an answer, "Paused", the menu),
     * or the timeline's within the last PLAYER_SPEAKING_MS before pos */
    bool speaking;
    double latency_s;           /* the device's output latency (what it reports) */
    bool self_paced;            /* in a self-paced part: done (and next) finish it */
    bool waiting;               /* held at its end, waiting for done */
    bool asking;                /* --ask-pain's question waits for its answer */
};
#define PLAYER_SPEAKING_MS 100

/* What the session came to; the record of the history is made of it. */
struct player_summary {
    enum player_state state;
    uint64_t heard_frames;  /* timeline frames played: skipped and paused time do not count */
    uint64_t pos;           /* where it ended */
    uint32_t rate_hz;
    unsigned moves_total, moves_done, moves_skipped;
    /* the routine step playing when it ended unfinished (index into the
     * routine's steps; the one --from started at if it ended in the intro),
     * recorded in the history for --resume; -1: completed, or none */
    int32_t stop_step;
    /* a sequence that ended unfinished: the routine it ended in (index
     * into routine.parts; it has the record with stop_step); -1: none */
    int32_t stop_part;
    /* engine figures (--verbose) */
    uint64_t first_sound_ns; /* CLOCK_MONOTONIC; 0: no sound */
    double latency_s;
    uint64_t missed_clips, underruns, stall_frames, lost_notes;
    /* a pain stop (`hurt`): the exercise it stopped (index into the
     * routine's steps; the first, if more than one hurt); -1: none */
    int32_t pain_step;
    bool has_pain;          /* --ask-pain was answered */
    unsigned pain;          /* with this rating, 0-10 */
    bool history_failed;    /* the record could not be written (history_errno) */
    int history_errno;
};

/* Opens the sink (its rate may differ from the session's: the session then
 * follows it), loads the music, starts the speech thread, waits for the
 * first sound to be ready and starts the sound. s must stay open until
 * player_close, and is the player's meanwhile. */
enum player_fail player_open(struct player **out, struct session *s, const struct player_opts *o,
                             char *err, size_t err_cap);
/* An fd to poll for input (POLLIN): then call player_tick. */
int player_fd(const struct player *p);
/* Swaps in the plan as it is made, handles what the engine reports, and
 * notices a lost or stalled device or failed speech. Call it after
 * player_fd is readable and at least every 50 ms. */
enum player_state player_tick(struct player *p);
/* Carries out a command; reply is a line for `coach ctl` ("ok paused at
 * 4:31.0", "error this is the end of the routine"). Returns 0 if carried
 * out, else COACH_EINVAL (refused: said why in speech too).
 *   CTL_HURT: the pain stop. The timeline fades out at once and holds
 *   (paused); the routine's stop_safely words (or the profile's) are said,
 *   then the profile's hurt_offer. Then next, resume or toggle go on with
 *   the move after the one that hurt (its lead-in; never the one that
 *   hurt, unless previous or back ask for it), stop ends the session. The
 *   history records the pain stop.
 *   CTL_PAIN_0..10: the answer to --ask-pain's question (refused when no
 *   question waits); 1 waits PLAYER_TEN_MS for a 0 (then it is 10) or any
 *   other command (then it is 1). */
int player_command(struct player *p, enum ctl_cmd c, char *reply, size_t cap);
/* A signal asks to stop: as a stop command, but recorded as interrupted. */
void player_interrupt(struct player *p);
/* Says text (an answer, the menu's sentences), cutting what is being said;
 * ack: an enum ack_kind tone with it, or LIVE_NO_ACK. Returns 0 or
 * negative. */
int player_say(struct player *p, const char *text, uint8_t ack);
/* Says a phrase of the session's voice profile (a refusal: ack
 * ACK_REFUSED). Returns 0 or negative. */
int player_say_phrase(struct player *p, enum phrase_id id, uint8_t ack);
/* Waits until what player_say said last has been heard (also the device's
 * buffer), at most timeout_ms. */
void player_wait_said(struct player *p, int timeout_ms);
/* Lets ms of output time pass while handling what happens (the memory
 * sink renders it at once). */
void player_run(struct player *p, int ms);
void player_status(struct player *p, struct player_status *st);
float player_volume(const struct player *p);
/* The timeline the audio renders now (a prefix until the whole plan is
 * made); owned by the player. */
const struct timeline *player_timeline(const struct player *p);
/* The sink, for its stats or (memory sink) its output. */
struct sink *player_sink(struct player *p);
/* Why the speech failed (PLAYER_FAILED). */
const char *player_error(struct player *p);
/* Stops the sound (fading out) if it still plays, writes the history
 * record (a routine), fills sum, frees everything. */
void player_close(struct player *p, struct player_summary *sum);

#endif
