/* What the command-line files share (src/cli_*.c and main.c): the exit
 * statuses, the parsed options, the signal flags, and the helpers more
 * than one command uses. Private to the coach program: the
 * core library and its tests never see it. */
#ifndef COACH_CLI_H
#define COACH_CLI_H

#include <signal.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/catalog.h"
#include "coach/clips.h"
#include "coach/control.h"
#include "coach/ctlsock.h"
#include "coach/music.h"
#include "coach/player.h"
#include "coach/session.h"

/* Exit statuses (documented in --help, README.md and coach(1)). */
enum {
    EXIT_OK = 0,
    EXIT_INVALID = 1,   /* a routine or voice profile has errors */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_NOTFOUND = 3,  /* routine or voice profile not found */
    EXIT_OUTPUT = 4,    /* the output file cannot be written */
    EXIT_SPEECH = 5,    /* espeak-ng cannot start or speak */
    EXIT_NODEVICE = 6,  /* no audio device, or it cannot be opened */
    EXIT_LOST = 7,      /* the audio device was lost mid-routine */
    EXIT_BUSY = 8,      /* another coach is playing (its control socket answers) */
    EXIT_INTERRUPTED = 130, /* SIGINT */
    EXIT_TERMINATED = 143,  /* SIGTERM */
};

struct opts {
    const char *device;
    const char *socket;
    double latency_ms;
    const char *output;
    const char *format;
    const char *captions; /* export: captions sidecar (.vtt / .srt) */
    const char *chapters; /* export: chapter list sidecar (.cue / .json / .txt) */
    const char *transcript; /* export: plain-text transcript sidecar */
    const char *level;
    const char *voice;    /* --voice: profile instead of the routine's */
    int speech_rate, pitch, speech_volume; /* profile overrides; -1 = the profile's */
    const char *all_dir;  /* export --all DIR */
    const char *split_dir; /* export --split DIR: one file per step and a playlist */
    bool progress;        /* --progress: level from the history */
    bool ask_pain;        /* --ask-pain: the pain question at the end of a session */
    const char *music;    /* --music FILE|DIR: a bed under the voice */
    int loudness;         /* --loudness: enum loudness_mode (0: podcast) */
    uint32_t rate_hz;
    uint32_t channels;
    bool json, quiet;
    bool verbose;         /* play, menu: the engine's figures at the end */
    bool replace;         /* play, menu: stop the coach that is playing, then play */
    bool no_mpris;        /* play, menu: not on the session bus as a media player */
    int preroll_ms;       /* --preroll (plan.h); -1: not given (play, menu: on for Bluetooth) */
    bool strict;          /* check: warnings count as errors */
    bool listen;          /* play, menu: spoken commands through a microphone */
    const char *mic;      /* --mic NAME|INDEX: the microphone (NULL: the default input) */
    bool echo_cancelled;  /* the microphone has the coach removed: listen over its speech too */
    bool no_echo_cancel;  /* --listen without coach's own echo canceller */
    const char *from;     /* play, export, plan: --from STEP (a number or id) */
    bool resume;          /* play, export, plan: --resume where the last session stopped */
    bool with_warm_up;    /* play, export, plan, check: each routine with its before/after ones */
    bool no_cache;        /* export, play, menu, check, plan: no phrase cache (phrasecache.h) */
    bool rewrite;         /* export: write the file even when it is up to date (uptodate.h) */
    bool one_core;        /* export --all's jobs: no synthesis workers or encoder threads of
                           * their own (the jobs already use every core) */
};

/* main.c: signals and command-line errors. SIGINT and SIGTERM set
 * interrupted; every handled signal is also written to signal_pipe (made
 * first thing for play and menu), or, if it cannot be (no pipe, or full),
 * set as bit (1 << sig) in signals_unsent, which the control loop looks at
 * every turn: signals work even without the pipe. */
extern volatile sig_atomic_t interrupted;
extern int signal_pipe[2];
extern atomic_uint signals_unsent;
void on_signal(int sig);
int usage_error(const char *fmt, const char *arg);

/* cli_session.c: a session (session.h) for a command, its failures
 * printed and turned into exit statuses. cli_session_open opens without
 * planning (for checks that should fail first); cli_session_plan plans
 * the whole routine into s->tl (Ctrl-C stops it: EXIT_INTERRUPTED). */
struct session_opts cli_session_opts(const struct opts *o, const char *routine,
                                     enum clip_mode clips);
int cli_session_open_with(struct session *s, const struct session_opts *so, const struct opts *o);
/* The same, printing the errors only (check's look at a sequence whose
 * files it checked, and warned about, one by one). */
int cli_session_open_errors(struct session *s, const struct session_opts *so, const struct opts *o);
int cli_session_open(struct session *s, const char *routine, const struct opts *o,
                     enum clip_mode clips);
/* Several routines as one session (a sequence); n == 1: cli_session_open.
 * cli_session_opts_many: the options it opens with. */
struct session_opts cli_session_opts_many(const struct opts *o, int n, char **routines,
                                          enum clip_mode clips);
int cli_session_open_many(struct session *s, int n, char **routines, const struct opts *o,
                          enum clip_mode clips);
int cli_session_plan(struct session *s);
void print_known(enum catalog_kind kind);
/* A catalog_skip_fn: "coach: warning: skipping PATH: WHY" on stderr. */
void warn_skipped(void *ctx, const char *path, const char *why);
void fmt_duration(char *buf, size_t cap, uint64_t frames, uint32_t rate_hz);
int load_music(const struct opts *o, uint32_t rate_hz, struct music *m, bool *loaded);

/* cli_control.c: what play and menu share: the control inputs (keys on
 * a terminal in the foreground, the control socket, signals), the one poll
 * loop that feeds their commands to a player or the menu, the device
 * options, and the filter that keeps the sound system's noise off fd 2. */
#define CONTROL_SPARE_FDS 3
struct mpris;
struct listen;
struct control {
    struct mpris *mpris; /* on the session bus as a media player, or NULL */
    struct listen *listen; /* spoken commands (opened once the voice is known), or NULL */
    struct ctlsrv srv; /* the control socket and its clients (srv.listen_fd -1: none) */
    char *sock;        /* its path (heap), or NULL */
    bool keys;         /* keys are read from the terminal now */
    bool want_keys;    /* read keys whenever coach is in the foreground */
    struct keydec kd;
    /* held while a loop runs, given back when it ends: the descriptors the
     * player needs to record the session even at the limit of open files */
    int spare_fds[CONTROL_SPARE_FDS];
    int accept_errno_told; /* the control socket's accept failure already reported */
    /* why MPRIS is off, told by control_tell once the session is sure to
     * play (a session refused says that alone) */
    char mpris_note[200];
};
/* What a loop drives. command: carries out c (reply: for `coach ctl`, or
 * NULL for a key or a signal) and returns LOOP_GO_ON, or the exit status
 * the loop ends with; tick: called every turn (at least every 50 ms), same
 * return; interrupt: SIGINT or SIGTERM came (the loop then ends with 130
 * or 143); key: a key's command in this mode. */
#define LOOP_GO_ON (-1)
/* What a media player shows (MPRIS, cli_mpris.c): the loop asks the mode
 * for it every turn; strings are copied. */
enum mpris_status { MPRIS_STOPPED, MPRIS_PLAYING, MPRIS_PAUSED };
struct mpris_state {
    enum mpris_status status;
    long track;             /* the step (or the menu's offer): its index */
    const char *title;      /* the step's name, or the routine offered */
    const char *album;      /* the routine's title, or "coach menu" */
    uint64_t length_us;     /* the step's length, 0 if none */
    uint64_t position_us;   /* into the step */
    double volume;          /* 1.0 = as made */
    bool can_next, can_previous;
};
struct loop_ops {
    int (*command)(void *ctx, enum ctl_cmd c, char *reply, size_t cap);
    /* fills in what a media player shows now (NULL: nothing) */
    void (*media)(void *ctx, struct mpris_state *st);
    int (*tick)(void *ctx);
    /* is speech being rendered now, and the device's latency (for the
     * echo gate of spoken commands), and does a question wait for its
     * answer (spoken answers are listened for only then); NULL: never */
    void (*output)(void *ctx, bool *speaking, double *latency_s, bool *asking);
    void (*interrupt)(void *ctx);
    enum ctl_cmd (*key)(int key);
    int fd; /* polled as well (the player's), or -1 */
};
/* Sets up the inputs: signals (SIGUSR1 toggle, SIGUSR2 next, SIGTSTP and
 * SIGCONT for the terminal), the keys (want_keys, on a terminal, in the
 * foreground; in the background coach says how to steer it instead) and
 * the control socket: another coach answering there is refused with
 * EXIT_BUSY, or stopped first with --replace. help: the keys, printed once
 * they work. Returns EXIT_OK or EXIT_BUSY. */
int control_open(struct control *c, const struct opts *o, bool want_keys, const char *help);
void control_close(struct control *c);
/* Until a command or tick ends it: its status (LOOP_GO_ON never). */
int control_loop(struct control *c, const struct loop_ops *ops, void *ctx);
/* The player options the command line gives (device, rate, volume...). */
struct player_opts cli_player_opts(const struct opts *o);
/* Prints why a player could not start (routine: its name, for the advice
 * to export it; NULL: any routine); the exit status. Ends the process at
 * once when the sound system hangs. */
int cli_player_failed(enum player_fail f, const char *err, const char *routine);
/* cli_mpris.c. Opens the connection and takes the name
 * org.mpris.MediaPlayer2.coach (or .instancePID): 0, or a negative errno
 * with *out NULL and the line to tell in why (unless why is NULL). */
int mpris_open(struct mpris **out, char *why, size_t cap);
void mpris_close(struct mpris *m);
const char *mpris_name(const struct mpris *m);
/* Its descriptor, the events it waits for, and a shorter timeout if it
 * has one. */
void mpris_pollfd(struct mpris *m, struct pollfd *pfd, int *timeout_ms);
/* Reads what came and returns the next command asked for (CTL_NONE: none). */
enum ctl_cmd mpris_take(struct mpris *m);
/* Announces what changed (PropertiesChanged). */
void mpris_update(struct mpris *m, const struct mpris_state *st);
/* cli_listen.c: spoken commands. listen_check_language: EXIT_OK if a
 * listen file serves the voice's language (espeak name), else
 * EXIT_USAGE after saying that spoken commands are English only.
 * listen_open: that check, then the recognizer, the microphone (o->mic)
 * and its thread; EXIT_OK, or the exit status after a message (no
 * microphone: EXIT_NODEVICE; the model missing: EXIT_NOTFOUND). */
int listen_check_language(const char *voice_name, const char *language, bool tell);
int listen_open(struct listen **out, const struct opts *o, const char *voice_name,
                const char *language);
void listen_close(struct listen *l);
int listen_fd(const struct listen *l); /* -1 for NULL */
/* The player's sink, tapped for the echo canceller (the coach's own
 * output is its reference); unchanged without one. Before player_open. */
struct player_opts;
void listen_tap(struct listen *l, struct player_opts *po);
/* A loop starts at now_ns: phrases heard before are stale. */
void listen_arm(struct listen *l, uint64_t now_ns);
/* One look at the output (echo.h's gate), and whether a question waits
 * for its answer (the spotter listens for answers only then). */
void listen_turn(struct listen *l, uint64_t now_ns, bool speaking, double latency_s, bool asking);
/* The next command heard and not the coach's own voice; CTL_NONE: none.
 * Says once on stderr when the microphone stopped; --verbose: each
 * phrase heard or ignored. */
enum ctl_cmd listen_take(struct listen *l);
/* The inputs for a session whose voice is voice (play_routine, choose):
 * the listener if --listen and not yet open, then MPRIS unless
 * --no-mpris (once; why it is off is kept for control_tell). EXIT_OK or
 * an exit status. */
int control_listen(struct control *c, const struct opts *o, const char *voice_name,
                   const char *language);
/* Tells what control_listen kept to tell (why MPRIS is off), once: when the
 * session is sure to go on. */
void control_tell(struct control *c);
void noise_filter_start(void);
void noise_filter_stop(void);
extern uint64_t launch_ns;

/* cli_preroll.c: --preroll for play and menu: as given, else
 * PREROLL_BLUETOOTH_MS when the output is a Bluetooth sink (said with
 * --verbose), else 0. Asks the sound server, bounded (about 1 s). */
#define PREROLL_BLUETOOTH_MS 500
int cli_preroll_ms(const struct opts *o);

/* cli_play.c: a routine played (also after the menu's choice). */
int play_routine(int n, char **routines, const struct opts *o, struct control *c, float volume);
/* Says on stderr when the sound server stops responding and when it is
 * back (*shown: what was said last); for play and menu. */
void cli_show_stall(const struct player_status *st, bool *shown);

/* The commands: argc and argv are the words after the command's name. */
int cmd_check(int argc, char **argv, const struct opts *o);   /* cli_inspect.c */
int cmd_plan(int argc, char **argv, const struct opts *o);
int cmd_list(int argc, const struct opts *o);
int cmd_voices(int argc);
/* cli_cache.c: 'coach cache [clear]', and the cache's warning line. */
int cmd_cache(int argc, char **argv);
void cli_cache_warn(const char *message);
int cmd_export(int argc, char **argv, const struct opts *o);  /* cli_export.c */
int cmd_play(int argc, char **argv, const struct opts *o);    /* cli_play.c */
int cmd_devices(int argc);
int cmd_ctl(int argc, char **argv, const struct opts *o);
int cmd_history(int argc, const struct opts *o);
int cmd_menu(int argc, const struct opts *o);                 /* cli_menu.c */

#endif
