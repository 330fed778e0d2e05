/* --preroll for play and menu: as given, else on (PREROLL_BLUETOOTH_MS)
 * when the sound goes to a Bluetooth sink, which drops the first 100-300 ms
 * after a silence. Where the sound goes: --device when it names a device
 * of its own (BlueALSA's "bluealsa", or any name with "bluez" or
 * "bluetooth" in it, is Bluetooth; another named device is not); else the
 * sound server's sink, PULSE_SINK if set (the one libpulse and the ALSA
 * pulse plugin take), else the server's default sink, asked through
 * libpulse's introspection API (PulseAudio, or PipeWire's pulse server).
 * A Bluetooth sink is named bluez_sink.ADDRESS.PROFILE (PulseAudio) or
 * bluez_output.ADDRESS.N (PipeWire). The question is bounded like every
 * sound-system call: PREROLL_PROBE_MS, then it counts as not Bluetooth.
 * Without --device, ALSA's default pcm is looked at first: BlueALSA on a
 * headless Pi is made the default in ~/.asoundrc or /etc/asound.conf
 * (pcm.!default "bluealsa", or a plug whose slave is a bluealsa pcm),
 * with no sound server at all; its configuration is read (alsa-lib's
 * snd_config, nothing opened), following slaves and aliases. */
#define _POSIX_C_SOURCE 200809L
#include <alsa/asoundlib.h>
#include <pulse/pulseaudio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "coach/common.h"
#include "coach/textsafe.h"

#define PREROLL_PROBE_MS 1000

static bool bluetooth_sink_name(const char *s)
{
    return s && (strncmp(s, "bluez_sink.", 11) == 0 || strncmp(s, "bluez_output.", 13) == 0);
}

static bool contains_nocase(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s; s++)
        if (strncasecmp(s, word, n) == 0) return true;
    return false;
}

/* Devices that play through the sound server's sink. */
static bool server_device(const char *d)
{
    return !d || !*d || strcmp(d, "default") == 0 || strcmp(d, "sysdefault") == 0 ||
           strcmp(d, "pulse") == 0 || strcmp(d, "pipewire") == 0;
}

struct probe {
    bool done;
    char sink[256]; /* the default sink's name, "" if none */
};

static void on_server_info(pa_context *c, const pa_server_info *i, void *u)
{
    (void)c;
    struct probe *p = u;
    if (i && i->default_sink_name) snprintf(p->sink, sizeof p->sink, "%s", i->default_sink_name);
    p->done = true;
}

static void on_state(pa_context *c, void *u)
{
    struct probe *p = u;
    pa_context_state_t st = pa_context_get_state(c);
    if (st == PA_CONTEXT_READY) {
        pa_operation *op = pa_context_get_server_info(c, on_server_info, p);
        if (op) pa_operation_unref(op);
        else p->done = true;
    } else if (!PA_CONTEXT_IS_GOOD(st)) {
        p->done = true;
    }
}

/* The sound server's default sink into buf ("" if there is no server or it
 * does not answer within PREROLL_PROBE_MS). */
static void default_sink(char *buf, size_t cap)
{
    buf[0] = 0;
    pa_mainloop *ml = pa_mainloop_new();
    if (!ml) return;
    pa_proplist *pl = pa_proplist_new();
    if (pl) pa_proplist_sets(pl, PA_PROP_APPLICATION_NAME, "coach");
    pa_context *c = pl ? pa_context_new_with_proplist(pa_mainloop_get_api(ml), "coach", pl) : NULL;
    struct probe p = {0};
    if (c) {
        pa_context_set_state_callback(c, on_state, &p);
        if (pa_context_connect(c, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0) p.done = true;
        uint64_t deadline = coach_mono_ns() + (uint64_t)PREROLL_PROBE_MS * 1000000u;
        while (!p.done) {
            uint64_t now = coach_mono_ns();
            if (now >= deadline) break;
            /* each poll waits no longer than what is left */
            if (pa_mainloop_prepare(ml, (int)((deadline - now) / 1000u)) < 0 ||
                pa_mainloop_poll(ml) < 0 || pa_mainloop_dispatch(ml) < 0)
                break;
        }
        snprintf(buf, cap, "%s", p.sink);
        pa_context_disconnect(c);
        pa_context_unref(c);
    }
    if (pl) pa_proplist_free(pl);
    pa_mainloop_free(ml);
}

/* How deep slaves and aliases are followed: real chains are 2-4 long, a
 * loop in a user's file must end. */
#define ALSA_CHAIN_MAX 8

static bool alsa_pcm_bluealsa(snd_config_t *top, const char *name, int depth);

/* Whether a pcm definition is BlueALSA's: its type, or its slave's (a
 * name, or a definition in place). */
static bool alsa_node_bluealsa(snd_config_t *top, snd_config_t *node, int depth)
{
    if (depth > ALSA_CHAIN_MAX) return false;
    const char *str = NULL;
    if (snd_config_get_type(node) == SND_CONFIG_TYPE_STRING) /* an alias: pcm.!default "bluealsa" */
        return snd_config_get_string(node, &str) >= 0 && alsa_pcm_bluealsa(top, str, depth + 1);
    snd_config_t *type, *slave, *pcm;
    if (snd_config_search(node, "type", &type) >= 0 && snd_config_get_string(type, &str) >= 0 &&
        strcmp(str, "bluealsa") == 0)
        return true;
    if (snd_config_search(node, "slave", &slave) < 0) return false;
    if (snd_config_get_type(slave) == SND_CONFIG_TYPE_STRING) /* slave "name" */
        return snd_config_get_string(slave, &str) >= 0 && alsa_pcm_bluealsa(top, str, depth + 1);
    if (snd_config_search(slave, "pcm", &pcm) < 0) return false;
    return alsa_node_bluealsa(top, pcm, depth + 1);
}

static bool alsa_pcm_bluealsa(snd_config_t *top, const char *name, int depth)
{
    if (depth > ALSA_CHAIN_MAX) return false;
    if (strncmp(name, "bluealsa", 8) == 0 && (!name[8] || name[8] == ':')) return true;
    snd_config_t *def = NULL;
    if (snd_config_search_definition(top, "pcm", name, &def) < 0) return false;
    bool bt = alsa_node_bluealsa(top, def, depth);
    snd_config_delete(def);
    return bt;
}

/* Whether ALSA's default pcm plays through BlueALSA. */
static bool alsa_default_bluealsa(void)
{
    snd_config_t *top = NULL;
    if (snd_config_update_ref(&top) < 0 || !top) return false;
    bool bt = alsa_pcm_bluealsa(top, "default", 0);
    snd_config_unref(top);
    return bt;
}

int cli_preroll_ms(const struct opts *o)
{
    if (o->preroll_ms >= 0) return o->preroll_ms;
    const char *d = o->device;
    char why[320] = "";
    if (d && (contains_nocase(d, "bluealsa") || contains_nocase(d, "bluez") ||
              contains_nocase(d, "bluetooth")))
        snprintf(why, sizeof why, "--device %s", d);
    else if ((!d || !*d || strcmp(d, "default") == 0) && alsa_default_bluealsa())
        snprintf(why, sizeof why, "ALSA's default device is BlueALSA");
    else if (server_device(d)) {
        const char *env = getenv("PULSE_SINK");
        char sink[256];
        if (env && *env)
            snprintf(sink, sizeof sink, "%s", env);
        else
            default_sink(sink, sizeof sink);
        if (bluetooth_sink_name(sink))
            snprintf(why, sizeof why, "%s sink %s", env && *env ? "PULSE_SINK's" : "the default",
                     sink);
    }
    if (!why[0]) return 0;
    if (o->verbose) { /* names from the environment or the server: shown safely */
        char safe[400];
        fprintf(stderr, "coach: preroll %d ms on: the output is Bluetooth (%s); --preroll 0 turns "
                        "it off\n",
                PREROLL_BLUETOOTH_MS, text_safe(safe, sizeof safe, why));
    }
    return PREROLL_BLUETOOTH_MS;
}
