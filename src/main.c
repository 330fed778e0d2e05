/* The coach command line: parses commands and options, turns library error
 * codes into messages for people (with file and line) and documented exit
 * statuses. No logic the tests need lives here: it calls the core library.
 * This file holds the usage text, option parsing, the signal handler and
 * the dispatch; each command lives in a cli_*.c file (cli.h lists them). */
#define _POSIX_C_SOURCE 200809L
#define OPT_ASK_PAIN 0x100 /* a long option without a letter */
#define OPT_SPLIT 0x101
#define OPT_TRANSCRIPT 0x102
#define OPT_LOUDNESS 0x103
#define OPT_NO_ECHO_CANCEL 0x104
#define OPT_NO_CACHE 0x105
#define OPT_REWRITE 0x106
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "coach/common.h"
#include "coach/interrupt.h"
#include "coach/loudness.h"
#include "coach/phrasecache.h"
#include "coach/plan.h"
#include "coach/routine.h"

static const char usage_text[] =
    "Usage: coach COMMAND [OPTIONS] [ROUTINE...]\n"
    "\n"
    "A voice-guided exercise coach: every instruction is spoken, holds are\n"
    "counted down and reps counted aloud, so a routine can be followed by ear.\n"
    "\n"
    "Commands:\n"
    "  play ROUTINE...          coach a routine live through the sound device; several\n"
    "                           play as one session (one intro, one bell at the end)\n"
    "  menu                     choose a routine by ear, then play it: n or space next,\n"
    "                           b previous, d details, r repeat, Enter start, q quit\n"
    "                           (ctl: next back where repeat toggle stop)\n"
    "  export ROUTINE... -o FILE  write the whole coached session to an audio file\n"
    "                           (.wav .flac .ogg .opus .mp3, chosen by extension)\n"
    "  export --all DIR         export every routine found to DIR/NAME.flac (or --format),\n"
    "                           with DIR/NAME.vtt captions and DIR/NAME.json chapters\n"
    "  check ROUTINE...         check routine files; every error and warning as\n"
    "                           file:line: message (--strict: warnings fail too)\n"
    "  plan ROUTINE...          show what will be said and when (--json for programs)\n"
    "  list                     list the routines found\n"
    "  devices                  list the audio output devices\n"
    "  ctl WORD                 steer a playing coach: pause resume toggle next back\n"
    "                           previous repeat where louder softer stop\n"
    "  history                  the sessions played so far (--json for programs)\n"
    "  voices                   list the voice profiles and the espeak-ng voices installed\n"
    "  cache [clear]            the phrase cache: its directory, entries, size and limit;\n"
    "                           clear empties it\n"
    "  help, version\n"
    "\n"
    "Keys while playing (no Enter needed): space pause/resume, n or Right next step\n"
    "(in a rest: the step it announces), b or Left back to the start of the step\n"
    "(twice within 2 s: the previous step), p previous step, r repeat the last\n"
    "instruction, + / - or Up / Down volume, ? or w where am I, q quit. Without a\n"
    "terminal: SIGUSR1 pause/resume, SIGUSR2 next, and 'coach ctl WORD' through the\n"
    "control socket.\n"
    "\n"
    "A ROUTINE is a file path or a name looked up in ./routines,\n"
    "$XDG_DATA_HOME/coach/routines (~/.local/share/coach/routines),\n"
    "$XDG_DATA_DIRS/coach/routines, next to the binary and the install prefix.\n"
    "Voice profiles are found the same way under voices/.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE        export: the file to write (default ROUTINE.flac); - streams\n"
    "                           to standard output (WAV unless --format says otherwise)\n"
    "  -f, --format NAME        export: wav, flac, ogg, opus or mp3, whatever the extension\n"
    "      --captions FILE      export: also write every spoken phrase as captions\n"
    "                           (.vtt WebVTT or .srt SubRip, chosen by extension)\n"
    "      --chapters FILE      export: also write a chapter list, one per step (.cue CUE\n"
    "                           sheet, .json Podcasting 2.0, .txt ffmetadata); every\n"
    "                           audio file carries them inside too\n"
    "      --split DIR          export: one file per step instead (DIR/01 NAME.flac ...,\n"
    "                           or --format) and DIR/ROUTINE.m3u; DIR is new or empty\n"
    "      --transcript FILE    export: also write a plain-text transcript, one \"M:SS text\"\n"
    "                           line per caption, for screen readers and braille\n"
    "  -l, --level LEVEL        easy, medium or hard: which end of a range (reps = 10-15)\n"
    "      --music FILE|DIR     play, export: music under the voice (any format\n"
    "                           libsndfile reads; a folder plays in name order), looped\n"
    "                           and ducked 12 dB under speech\n"
    "      --from STEP          play, export, plan: start at a step: its number as\n"
    "                           \"Exercise N of M\" counts, or its id ([exercise ID] in\n"
    "                           the file); the cautions are still said\n"
    "      --resume             play, export, plan: start where the last session of the\n"
    "                           routine stopped (the history); from the top if it was\n"
    "                           completed\n"
    "      --with-warm-up       play, export, plan, check: each routine with the ones its\n"
    "                           file lists as 'before' and 'after' (a warm-up, a cool-down)\n"
    "      --progress           play, export: one level up (from the routine's level or\n"
    "                           --level) for every 3 full completions in a row in the\n"
    "                           history, up to hard; one down after a pain stop or a\n"
    "                           pain rating of 7 or more; said at the start\n"
    "      --ask-pain           play, menu: at the end ask \"How is your back, from 0 to\n"
    "                           10?\" (keys 0-9, 1 then 0 for 10, or 'coach ctl pain N');\n"
    "                           kept in the history\n"
    "      --voice NAME         the voice profile (name or path) instead of the routine's\n"
    "      --speech-rate WPM    speaking rate, 80-450 words per minute\n"
    "      --pitch N            voice pitch, 0-100 (50 normal)\n"
    "      --speech-volume N    voice volume, 0-200 (100 normal); also --volume\n"
    "      --loudness L         export, play: podcast (default: -16 LUFS stereo, -19\n"
    "                           mono), broadcast (-23 / -26) or off; true peak <= -1 dBTP\n"
    "  -r, --rate HZ            output sample rate, 48000 (default) or 44100\n"
    "  -c, --channels N         1 (mono, default) or 2 (stereo)\n"
    "  -j, --json               plan, history: print JSON\n"
    "      --strict             check: warnings (a value that looks like a comment)\n"
    "                           are errors too: exit status 1\n"
    "  -d, --device DEV         play: output device, by index or part of its name\n"
    "      --latency MS         play: output latency (default: the device's, at least 100)\n"
    "  -s, --socket PATH        play, menu, ctl: control socket (default\n"
    "                           $XDG_RUNTIME_DIR/coach/control.sock)\n"
    "      --replace            play, menu: stop the coach playing on that socket first\n"
    "      --no-mpris           play, menu: not a media player on the session bus (MPRIS:\n"
    "                           media keys, Bluetooth buttons, playerctl)\n"
    "      --listen             play, menu: spoken commands through a microphone (English\n"
    "                           voices): \"coach pause\", \"coach continue\", \"coach next\",\n"
    "                           \"coach back\", \"coach previous\", \"coach repeat\", \"coach\n"
    "                           where am I\", \"coach louder\", \"coach softer\", \"coach stop\";\n"
    "                           the coach's own sound is cancelled out of the microphone\n"
    "                           (heard over its speech once it is found; until then only\n"
    "                           while the coach is silent)\n"
    "      --mic MIC            with --listen: the microphone, by index or part of its\n"
    "                           name (coach devices lists them; default: the default input)\n"
    "      --echo-cancelled     with --listen: the microphone has the coach's sound removed\n"
    "                           (PulseAudio/PipeWire echo cancellation): heard over its\n"
    "                           speech too\n"
    "      --no-echo-cancel     with --listen: no echo canceller in coach (commands heard\n"
    "                           only while the coach itself is silent)\n"
    "      --verbose            play, menu: also the engine's figures at the end (first\n"
    "                           sound, missed clips, underruns); with --listen, each\n"
    "                           phrase heard or ignored\n"
    "      --preroll MS         play, menu, export: MS of an inaudible tone before the\n"
    "                           first sound, and through silences over 4 s, so a\n"
    "                           Bluetooth speaker is awake for every word (0-10000; play\n"
    "                           and menu: 500 on a Bluetooth output, else 0)\n"
    "      --no-cache           export, play, menu, check, plan: synthesize every phrase\n"
    "                           and keep none in the phrase cache ($XDG_CACHE_HOME/coach,\n"
    "                           at most $COACH_CACHE_MAX_MB, default 256; 0 turns it off)\n"
    "      --rewrite            export: write the file even when it is up to date (an\n"
    "                           export whose file is already what it would write keeps\n"
    "                           it, time stamp and all: \"Kept FILE (up to date)\")\n"
    "  -q, --quiet              no progress or summary messages\n"
    "  -h, --help               this help\n"
    "  -V, --version            the version\n"
    "\n"
    "Exit status: 0 success, 1 a routine or voice profile has errors, 2 bad\n"
    "command line (also --listen with a voice not in English), 3 routine or voice\n"
    "not found or unreadable (ctl: no coach playing; --listen: no speech model),\n"
    "4 the output cannot be written (no such directory, no permission,\n"
    "disk full or the file size limit, a directory or device named; no file is\n"
    "changed) or the history cannot be read, 5 espeak-ng cannot start (install\n"
    "espeak-ng-data) or lacks the voice, 6 no audio device or, with --listen, no\n"
    "microphone (or it cannot be opened), 7 the audio device was lost while\n"
    "playing, 8 another coach is playing (on the same control socket) or\n"
    "exporting to the same file,\n"
    "130 interrupted (SIGINT), 143 terminated (SIGTERM).\n";

volatile sig_atomic_t interrupted;
static volatile sig_atomic_t terminated;
int signal_pipe[2] = {-1, -1}; /* play, menu: signals reach the control loop here */
atomic_uint signals_unsent;
/* a lock-free atomic is what a signal handler may touch */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_uint must be lock-free");

void on_signal(int sig)
{
    /* the core's flag stops a plan or a synthesis where it is */
    if (sig == SIGINT || sig == SIGTERM) coach_interrupt_raise(sig);
    if (sig == SIGINT || sig == SIGTERM) interrupted = 1;
    if (sig == SIGTERM) terminated = 1;
    int saved = errno;
    unsigned char c = (unsigned char)sig;
    bool sent = signal_pipe[1] >= 0 && write(signal_pipe[1], &c, 1) == 1;
    if (!sent && sig > 0 && sig < 32) atomic_fetch_or(&signals_unsent, 1u << sig);
    errno = saved;
}

/* The control loop's self-pipe, made before anything else can take the
 * descriptors it needs (at the limit of open files it would be the one
 * thing missing). Without it signals still arrive, as signals_unsent. */
static void signal_pipe_open(void)
{
    if (signal_pipe[0] >= 0 || pipe(signal_pipe) != 0) return;
    for (int i = 0; i < 2; i++) {
        fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
        fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
    }
}

int usage_error(const char *fmt, const char *arg)
{
    fputs("coach: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'coach --help'.\n", stderr);
    return EXIT_USAGE;
}

/* A whole decimal number in [lo, hi], or -1. */
static int parse_int(const char *s, int lo, int hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return -1;
    return (int)v;
}

int main(int argc, char **argv)
{
    launch_ns = coach_mono_ns();
    /* Passing the file size limit (ulimit -f) must fail the write with
     * EFBIG, which export and the history report and clean up after, not
     * kill the process with its temporary files left behind. */
    signal(SIGXFSZ, SIG_IGN);
    struct opts o = {.rate_hz = 48000, .channels = 1, .speech_rate = -1, .pitch = -1,
                     .speech_volume = -1, .preroll_ms = -1};
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"format", required_argument, 0, 'f'},
        {"level", required_argument, 0, 'l'},  {"rate", required_argument, 0, 'r'},
        {"channels", required_argument, 0, 'c'}, {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},      {"device", required_argument, 0, 'd'},
        {"latency", required_argument, 0, 'L'}, {"socket", required_argument, 0, 's'},
        {"captions", required_argument, 0, 'C'}, {"chapters", required_argument, 0, 'P'},
        {"voice", required_argument, 0, 'v'},  {"speech-rate", required_argument, 0, 'R'},
        {"pitch", required_argument, 0, 'p'},  {"speech-volume", required_argument, 0, 'S'},
        {"volume", required_argument, 0, 'S'},
        {"progress", no_argument, 0, 'g'},     {"all", required_argument, 0, 'A'},
        {"music", required_argument, 0, 'm'},  {"verbose", no_argument, 0, 'B'},
        {"replace", no_argument, 0, 'X'},      {"no-mpris", no_argument, 0, 'M'},
        {"preroll", required_argument, 0, 'E'},
        {"strict", no_argument, 0, 'W'},
        {"listen", no_argument, 0, 'H'},       {"mic", required_argument, 0, 'i'},
        {"echo-cancelled", no_argument, 0, 'K'},
        {"no-echo-cancel", no_argument, 0, OPT_NO_ECHO_CANCEL},
        {"from", required_argument, 0, 'F'},   {"resume", no_argument, 0, 'U'},
        {"with-warm-up", no_argument, 0, 'Y'},
        {"ask-pain", no_argument, 0, OPT_ASK_PAIN},
        {"split", required_argument, 0, OPT_SPLIT},
        {"transcript", required_argument, 0, OPT_TRANSCRIPT},
        {"loudness", required_argument, 0, OPT_LOUDNESS},
        {"no-cache", no_argument, 0, OPT_NO_CACHE},
        {"rewrite", no_argument, 0, OPT_REWRITE},
        {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:f:l:r:c:jqhVd:s:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.output = optarg; break;
        case 'f': o.format = optarg; break;
        case 'l': {
            enum level lv;
            if (level_parse(optarg, &lv)) return usage_error("unknown level '%s' (use easy, medium or hard)", optarg);
            o.level = optarg;
            break;
        }
        case 'r':
            if (strcmp(optarg, "48000") == 0)
                o.rate_hz = 48000;
            else if (strcmp(optarg, "44100") == 0)
                o.rate_hz = 44100;
            else
                return usage_error("unsupported rate '%s' (use 48000 or 44100)", optarg);
            break;
        case 'c':
            if (strcmp(optarg, "1") && strcmp(optarg, "2"))
                return usage_error("channels must be 1 or 2, not '%s'", optarg);
            o.channels = (uint32_t)atoi(optarg);
            break;
        case 'j': o.json = true; break;
        case 'd': o.device = optarg; break;
        case 's': o.socket = optarg; break;
        case 'C': o.captions = optarg; break;
        case 'P': o.chapters = optarg; break;
        case 'v': o.voice = optarg; break;
        case 'R':
            if ((o.speech_rate = parse_int(optarg, 80, 450)) < 0)
                return usage_error("speech rate must be 80-450 words per minute, not '%s'", optarg);
            break;
        case 'p':
            if ((o.pitch = parse_int(optarg, 0, 100)) < 0)
                return usage_error("pitch must be 0-100, not '%s'", optarg);
            break;
        case 'S':
            if ((o.speech_volume = parse_int(optarg, 0, 200)) < 0)
                return usage_error("speech volume must be 0-200, not '%s'", optarg);
            break;
        case 'g': o.progress = true; break;
        case 'm': o.music = optarg; break;
        case 'A': o.all_dir = optarg; break;
        case 'L': {
            char *end;
            o.latency_ms = strtod(optarg, &end);
            if (*end || o.latency_ms < 1 || o.latency_ms > 2000)
                return usage_error("latency must be 1-2000 milliseconds, not '%s'", optarg);
            break;
        }
        case 'q': o.quiet = true; break;
        case 'B': o.verbose = true; break;
        case 'X': o.replace = true; break;
        case 'M': o.no_mpris = true; break;
        case OPT_ASK_PAIN: o.ask_pain = true; break;
        case OPT_SPLIT: o.split_dir = optarg; break;
        case OPT_TRANSCRIPT: o.transcript = optarg; break;
        case OPT_LOUDNESS: {
            enum loudness_mode lm;
            if (loudness_mode_from_name(optarg, &lm))
                return usage_error("unknown loudness '%s' (use podcast, broadcast or off)", optarg);
            o.loudness = (int)lm;
            break;
        }
        case 'E':
            if ((o.preroll_ms = parse_int(optarg, 0, PLAN_PREROLL_MAX_MS)) < 0)
                return usage_error("preroll must be 0-10000 milliseconds, not '%s'", optarg);
            break;
        case 'W': o.strict = true; break;
        case 'H': o.listen = true; break;
        case 'i': o.mic = optarg; break;
        case 'K': o.echo_cancelled = true; break;
        case OPT_NO_ECHO_CANCEL: o.no_echo_cancel = true; break;
        case OPT_NO_CACHE: o.no_cache = true; break;
        case OPT_REWRITE: o.rewrite = true; break;
        case 'F': o.from = optarg; break;
        case 'U': o.resume = true; break;
        case 'Y': o.with_warm_up = true; break;
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        case 'V': printf("coach %s\n", COACH_VERSION); return EXIT_OK;
        default:
            if (optopt && strchr("oflrcds", optopt))
                return usage_error("option '-%s' needs a value", (char[]){(char)optopt, 0});
            if (optopt == OPT_LOUDNESS || optopt == OPT_SPLIT || optopt == OPT_TRANSCRIPT ||
                (optopt > 0 && optopt < 0x100 && strchr("LCPvRpSAEiF", optopt)))
                /* long-only: name it as typed */
                return usage_error("option '%s' needs a value", argv[optind - 1]);
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    int n = argc - optind - 1;
    char **args = argv + optind + 1;
    bool live = strcmp(cmd, "play") == 0 || strcmp(cmd, "menu") == 0;
    if (o.mic && !o.listen) return usage_error("%s", "--mic chooses the microphone of --listen: give both");
    if (o.echo_cancelled && !o.listen)
        return usage_error("%s", "--echo-cancelled is about the microphone of --listen: give both");
    if (o.no_echo_cancel && !o.listen)
        return usage_error("%s", "--no-echo-cancel is about the microphone of --listen: give both");
    if (o.listen && !live) return usage_error("--listen is for play and menu, not %s", cmd);
    if (o.from && o.resume)
        return usage_error("%s", "--from and --resume both choose where to start: give one");
    bool startable = strcmp(cmd, "play") == 0 || strcmp(cmd, "export") == 0 || strcmp(cmd, "plan") == 0;
    if ((o.from || o.resume) && !startable)
        return usage_error("--from and --resume are for play, export and plan, not %s", cmd);
    if (o.with_warm_up && !startable && strcmp(cmd, "check") != 0)
        return usage_error("--with-warm-up is for play, export, plan and check, not %s", cmd);
    if (o.no_cache && !startable && strcmp(cmd, "check") != 0 && strcmp(cmd, "menu") != 0)
        return usage_error("--no-cache is for export, play, menu, check and plan, not %s", cmd);
    if (o.rewrite && strcmp(cmd, "export") != 0)
        return usage_error("--rewrite is for export, not %s", cmd);
    phrasecache_set_warn(cli_cache_warn);

    if (strcmp(cmd, "play") == 0 || strcmp(cmd, "menu") == 0) signal_pipe_open();
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int st;
    if (strcmp(cmd, "play") == 0) st = cmd_play(n, args, &o);
    else if (strcmp(cmd, "menu") == 0) st = cmd_menu(n, &o);
    else if (strcmp(cmd, "devices") == 0) st = cmd_devices(n);
    else if (strcmp(cmd, "ctl") == 0) st = cmd_ctl(n, args, &o);
    else if (strcmp(cmd, "history") == 0) st = cmd_history(n, &o);
    else if (strcmp(cmd, "voices") == 0) st = cmd_voices(n);
    else if (strcmp(cmd, "export") == 0) st = cmd_export(n, args, &o);
    else if (strcmp(cmd, "check") == 0) st = cmd_check(n, args, &o);
    else if (strcmp(cmd, "plan") == 0) st = cmd_plan(n, args, &o);
    else if (strcmp(cmd, "list") == 0) st = cmd_list(n, &o);
    else if (strcmp(cmd, "cache") == 0) st = cmd_cache(n, args);
    else if (strcmp(cmd, "help") == 0) st = (fputs(usage_text, stdout), EXIT_OK);
    else if (strcmp(cmd, "version") == 0) st = (printf("coach %s\n", COACH_VERSION), EXIT_OK);
    else st = usage_error("unknown command '%s'", cmd);
    /* a command stopped by a signal says which one: SIGTERM is 143 */
    if (st == EXIT_INTERRUPTED && terminated) st = EXIT_TERMINATED;
    return st;
}
