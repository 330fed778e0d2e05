/* What the command-line files share (src/cli_*.c and main.c): the exit
 * statuses, the parsed options, a loaded session, the signal flags, and the
 * helpers more than one command uses. Private to the coach program: the
 * core library and its tests never see it. */
#ifndef COACH_CLI_H
#define COACH_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coach/catalog.h"
#include "coach/clips.h"
#include "coach/music.h"
#include "coach/plan.h"
#include "coach/routine.h"
#include "coach/speech.h"
#include "coach/voice.h"

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
    const char *level;
    const char *voice;    /* --voice: profile instead of the routine's */
    int speech_rate, pitch, speech_volume; /* profile overrides; -1 = the profile's */
    const char *all_dir;  /* export --all DIR */
    bool progress;        /* --progress: level from the history */
    const char *music;    /* --music FILE|DIR: a bed under the voice */
    uint32_t rate_hz;
    uint32_t channels;
    bool json, quiet;
};

/* Everything one routine needs from file to timeline. */
struct session {
    char *routine_path;
    struct routine routine;
    struct voice voice;
    struct speech *speech;
    struct clipstore clips;
    struct timeline tl;
    char *announce;       /* --progress sentence said after the title, or NULL */
    bool lengths_only;    /* check, plan: no audio will be made (clipstore) */
    bool have_routine, have_voice, have_clips, have_tl;
};

/* main.c: signals and command-line errors. SIGINT and SIGTERM set
 * interrupted; every handled signal is also written to signal_pipe once a
 * command has opened it (control_open). */
extern volatile sig_atomic_t interrupted;
extern int signal_pipe[2];
void on_signal(int sig);
int usage_error(const char *fmt, const char *arg);

/* cli_session.c: from a routine's name to its timeline. */
int session_load(struct session *s, const char *arg, const struct opts *o);
enum level session_level(struct session *s, const struct opts *o);
int session_plan(struct session *s, const struct opts *o);
void session_free(struct session *s);
void print_known(enum catalog_kind kind);
const char *routine_name(const char *path, char *buf, size_t cap);
void fmt_duration(char *buf, size_t cap, uint64_t frames, uint32_t rate_hz);
int load_music(const struct opts *o, uint32_t rate_hz, struct music *m, bool *loaded);

/* cli_play.c: live playback and what play and menu share. */
extern uint64_t launch_ns;
extern bool tty_raw;
void tty_restore(void);
void noise_filter_start(void);
void noise_filter_stop(void);
int control_open(const struct opts *o, bool keys, const char *help, char **sock);
int play_session(int argc, char **argv, const struct opts *o);

/* The commands: argc and argv are the words after the command's name. */
int cmd_check(int argc, char **argv, const struct opts *o);   /* cli_inspect.c */
int cmd_plan(int argc, char **argv, const struct opts *o);
int cmd_list(int argc, const struct opts *o);
int cmd_voices(int argc);
int cmd_export(int argc, char **argv, const struct opts *o);  /* cli_export.c */
int cmd_play(int argc, char **argv, const struct opts *o);    /* cli_play.c */
int cmd_devices(int argc);
int cmd_ctl(int argc, char **argv, const struct opts *o);
int cmd_history(int argc);
int cmd_menu(int argc, const struct opts *o);                 /* cli_menu.c */

#endif
