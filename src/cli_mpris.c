/* MPRIS: coach as a media player on the D-Bus session bus, so that what
 * steers media players steers it: a Bluetooth speaker's or headset's play
 * and skip buttons (through bluez's mpris-proxy), a keyboard's media keys,
 * a phone running KDE Connect, playerctl. Through sd-bus (libsystemd), the
 * bus connection's descriptor in the control loop's poll; never on the
 * audio thread. Methods become the same commands as keys and `coach ctl`
 * (queued here, carried out by the loop); the properties are the state the
 * loop hands over each turn, and PropertiesChanged goes out for what
 * changed. No session bus: one line, and everything else works. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "coach/common.h"

#define MPRIS_PATH "/org/mpris/MediaPlayer2"
#define MPRIS_ROOT "org.mpris.MediaPlayer2"
#define MPRIS_PLAYER "org.mpris.MediaPlayer2.Player"
#define MPRIS_NAME "org.mpris.MediaPlayer2.coach"
#define QUEUE_LEN 16

struct mpris {
    sd_bus *bus;
    sd_bus_slot *root_slot, *player_slot;
    char name[96];                  /* the bus name taken */
    struct mpris_state st;          /* what the properties say (strings: the two below) */
    char *title, *album;            /* ours */
    bool have_state;
    enum ctl_cmd queue[QUEUE_LEN];  /* commands from method calls, oldest first */
    size_t n_queued;
};

static void enqueue(struct mpris *m, enum ctl_cmd c)
{
    if (m->n_queued < QUEUE_LEN) m->queue[m->n_queued++] = c;
}

/* ---- methods ---- */

static int reply_empty(sd_bus_message *msg) { return sd_bus_reply_method_return(msg, ""); }

static int m_next(sd_bus_message *msg, void *u, sd_bus_error *e)
{
    (void)e;
    enqueue(u, CTL_NEXT);
    return reply_empty(msg);
}

static int m_previous(sd_bus_message *msg, void *u, sd_bus_error *e)
{
    (void)e;
    enqueue(u, CTL_PREVIOUS);
    return reply_empty(msg);
}

static int m_pause(sd_bus_message *msg, void *u, sd_bus_error *e)
{
    (void)e;
    struct mpris *m = u;
    if (m->st.status == MPRIS_PLAYING) enqueue(m, CTL_PAUSE); /* elsewhere: nothing to do */
    return reply_empty(msg);
}

static int m_play(sd_bus_message *msg, void *u, sd_bus_error *e)
{
    (void)e;
    struct mpris *m = u;
    if (m->st.status != MPRIS_PLAYING) enqueue(m, CTL_RESUME); /* paused: on; menu: start */
    return reply_empty(msg);
}

static int m_play_pause(sd_bus_message *msg, void *u, sd_bus_error *e)
{
    (void)e;
    enqueue(u, CTL_TOGGLE);
    return reply_empty(msg);
}

static int m_stop(sd_bus_message *msg, void *u, sd_bus_error *e)
{
    (void)e;
    enqueue(u, CTL_STOP);
    return reply_empty(msg);
}

/* Seek, SetPosition, OpenUri, Raise: CanSeek is false, there is nothing
 * to open or raise; the specification says to ignore them. */
static int m_ignore(sd_bus_message *msg, void *u, sd_bus_error *e)
{
    (void)u, (void)e;
    return reply_empty(msg);
}

/* ---- properties ---- */

static int p_bool(sd_bus *b, const char *path, const char *iface, const char *prop,
                  sd_bus_message *reply, void *u, sd_bus_error *e)
{
    (void)b, (void)path, (void)iface, (void)e;
    const struct mpris *m = u;
    int v = 0;
    if (strcmp(prop, "CanQuit") == 0 || strcmp(prop, "CanControl") == 0) v = 1;
    else if (strcmp(prop, "CanGoNext") == 0) v = m->st.can_next;
    else if (strcmp(prop, "CanGoPrevious") == 0) v = m->st.can_previous;
    else if (strcmp(prop, "CanPlay") == 0 || strcmp(prop, "CanPause") == 0) v = m->have_state;
    return sd_bus_message_append(reply, "b", v);
}

static int p_identity(sd_bus *b, const char *path, const char *iface, const char *prop,
                      sd_bus_message *reply, void *u, sd_bus_error *e)
{
    (void)b, (void)path, (void)iface, (void)prop, (void)u, (void)e;
    return sd_bus_message_append(reply, "s", "coach");
}

static int p_empty_list(sd_bus *b, const char *path, const char *iface, const char *prop,
                        sd_bus_message *reply, void *u, sd_bus_error *e)
{
    (void)b, (void)path, (void)iface, (void)prop, (void)u, (void)e;
    return sd_bus_message_append(reply, "as", 0);
}

static const char *status_word(enum mpris_status s)
{
    return s == MPRIS_PLAYING ? "Playing" : s == MPRIS_PAUSED ? "Paused" : "Stopped";
}

static int p_status(sd_bus *b, const char *path, const char *iface, const char *prop,
                    sd_bus_message *reply, void *u, sd_bus_error *e)
{
    (void)b, (void)path, (void)iface, (void)prop, (void)e;
    const struct mpris *m = u;
    return sd_bus_message_append(reply, "s", status_word(m->st.status));
}

static int p_rate(sd_bus *b, const char *path, const char *iface, const char *prop,
                  sd_bus_message *reply, void *u, sd_bus_error *e)
{
    (void)b, (void)path, (void)iface, (void)prop, (void)u, (void)e;
    return sd_bus_message_append(reply, "d", 1.0);
}

static int p_volume(sd_bus *b, const char *path, const char *iface, const char *prop,
                    sd_bus_message *reply, void *u, sd_bus_error *e)
{
    (void)b, (void)path, (void)iface, (void)prop, (void)e;
    const struct mpris *m = u;
    return sd_bus_message_append(reply, "d", m->st.volume);
}

/* A volume asked for: one step of louder or softer towards it (the steps
 * the keys take, each acknowledged as they are). */
static int set_volume(sd_bus *b, const char *path, const char *iface, const char *prop,
                      sd_bus_message *value, void *u, sd_bus_error *e)
{
    (void)b, (void)path, (void)iface, (void)prop, (void)e;
    struct mpris *m = u;
    double v;
    int r = sd_bus_message_read(value, "d", &v);
    if (r < 0) return r;
    if (!isfinite(v)) return -EINVAL;
    if (v > m->st.volume + 1e-6) enqueue(m, CTL_VOLUME_UP);
    else if (v < m->st.volume - 1e-6) enqueue(m, CTL_VOLUME_DOWN);
    return 0;
}

static int p_position(sd_bus *b, const char *path, const char *iface, const char *prop,
                      sd_bus_message *reply, void *u, sd_bus_error *e)
{
    (void)b, (void)path, (void)iface, (void)prop, (void)e;
    const struct mpris *m = u;
    return sd_bus_message_append(reply, "x", (int64_t)m->st.position_us);
}

static int p_metadata(sd_bus *b, const char *path, const char *iface, const char *prop,
                      sd_bus_message *reply, void *u, sd_bus_error *e)
{
    (void)b, (void)path, (void)iface, (void)prop, (void)e;
    const struct mpris *m = u;
    char track[64];
    /* a track per step (and one for the menu's offer): a valid object path */
    snprintf(track, sizeof track, "/org/coach/track/%ld", m->st.track < 0 ? 0 : m->st.track);
    int r = sd_bus_message_open_container(reply, 'a', "{sv}");
    if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "mpris:trackid", "o", track);
    if (r >= 0 && m->st.title)
        r = sd_bus_message_append(reply, "{sv}", "xesam:title", "s", m->st.title);
    if (r >= 0 && m->st.album)
        r = sd_bus_message_append(reply, "{sv}", "xesam:album", "s", m->st.album);
    if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "xesam:artist", "as", 1, "coach");
    if (r >= 0 && m->st.length_us)
        r = sd_bus_message_append(reply, "{sv}", "mpris:length", "x", (int64_t)m->st.length_us);
    if (r >= 0) r = sd_bus_message_close_container(reply);
    return r;
}

static const sd_bus_vtable root_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Raise", "", "", m_ignore, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Quit", "", "", m_stop, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("CanQuit", "b", p_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("CanRaise", "b", p_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("HasTrackList", "b", p_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Identity", "s", p_identity, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("SupportedUriSchemes", "as", p_empty_list, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("SupportedMimeTypes", "as", p_empty_list, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END};

#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
static const sd_bus_vtable player_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Next", "", "", m_next, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Previous", "", "", m_previous, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Pause", "", "", m_pause, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("PlayPause", "", "", m_play_pause, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Stop", "", "", m_stop, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Play", "", "", m_play, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Seek", "x", "", m_ignore, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("SetPosition", "ox", "", m_ignore, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("OpenUri", "s", "", m_ignore, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("PlaybackStatus", "s", p_status, 0, EMITS),
    SD_BUS_PROPERTY("Rate", "d", p_rate, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("MinimumRate", "d", p_rate, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("MaximumRate", "d", p_rate, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Metadata", "a{sv}", p_metadata, 0, EMITS),
    SD_BUS_WRITABLE_PROPERTY("Volume", "d", p_volume, set_volume, 0,
                             EMITS | SD_BUS_VTABLE_UNPRIVILEGED),
    /* position moves all the time: read when asked, never announced */
    SD_BUS_PROPERTY("Position", "x", p_position, 0, 0),
    SD_BUS_PROPERTY("CanGoNext", "b", p_bool, 0, EMITS),
    SD_BUS_PROPERTY("CanGoPrevious", "b", p_bool, 0, EMITS),
    SD_BUS_PROPERTY("CanPlay", "b", p_bool, 0, EMITS),
    SD_BUS_PROPERTY("CanPause", "b", p_bool, 0, EMITS),
    SD_BUS_PROPERTY("CanSeek", "b", p_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("CanControl", "b", p_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END};

/* ---- the connection ---- */

int mpris_open(struct mpris **out, char *why, size_t cap)
{
    if (why && cap) why[0] = 0;
    *out = NULL;
    struct mpris *m = calloc(1, sizeof *m);
    if (!m) return -ENOMEM;
    m->st.volume = 1.0;
    int r = sd_bus_open_user(&m->bus);
    if (r < 0) {
        if (!why) {
        } else if (r == -ENOMEDIUM || r == -ENOENT || r == -ECONNREFUSED) {
            snprintf(why, cap, "coach: MPRIS off: no session bus (media keys and Bluetooth "
                               "buttons do not reach coach; see coach(1))");
        } else {
            snprintf(why, cap, "coach: MPRIS off: no session bus (%s)", strerror(-r));
        }
        free(m);
        return r;
    }
    r = sd_bus_add_object_vtable(m->bus, &m->root_slot, MPRIS_PATH, MPRIS_ROOT, root_vtable, m);
    if (r >= 0)
        r = sd_bus_add_object_vtable(m->bus, &m->player_slot, MPRIS_PATH, MPRIS_PLAYER,
                                     player_vtable, m);
    if (r >= 0) {
        snprintf(m->name, sizeof m->name, "%s", MPRIS_NAME);
        r = sd_bus_request_name(m->bus, m->name, 0);
        if (r == -EEXIST) { /* another coach has it: one of our own, as players do */
            snprintf(m->name, sizeof m->name, "%s.instance%ld", MPRIS_NAME, (long)getpid());
            r = sd_bus_request_name(m->bus, m->name, 0);
        }
    }
    if (r < 0) {
        if (why) snprintf(why, cap, "coach: MPRIS off: %s", strerror(-r));
        mpris_close(m);
        return r;
    }
    *out = m;
    return 0;
}

void mpris_close(struct mpris *m)
{
    if (!m) return;
    sd_bus_slot_unref(m->player_slot);
    sd_bus_slot_unref(m->root_slot);
    if (m->bus) sd_bus_flush_close_unref(m->bus);
    free(m->title);
    free(m->album);
    free(m);
}

const char *mpris_name(const struct mpris *m) { return m ? m->name : NULL; }

void mpris_pollfd(struct mpris *m, struct pollfd *pfd, int *timeout_ms)
{
    int ev = sd_bus_get_events(m->bus);
    *pfd = (struct pollfd){.fd = sd_bus_get_fd(m->bus), .events = (short)(ev > 0 ? ev : POLLIN)};
    uint64_t until_us;
    if (sd_bus_get_timeout(m->bus, &until_us) >= 0 && until_us != UINT64_MAX) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
        int ms = until_us <= now_us ? 0 : (int)((until_us - now_us + 999) / 1000);
        if (ms < *timeout_ms) *timeout_ms = ms;
    }
}

enum ctl_cmd mpris_take(struct mpris *m)
{
    /* everything the bus has for us first (each call at most one message) */
    for (int i = 0; i < 64 && sd_bus_process(m->bus, NULL) > 0; i++)
        ;
    if (!m->n_queued) return CTL_NONE;
    enum ctl_cmd c = m->queue[0];
    memmove(m->queue, m->queue + 1, --m->n_queued * sizeof *m->queue);
    return c;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void set_text(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? coach_strdup(src) : NULL;
}

void mpris_update(struct mpris *m, const struct mpris_state *st)
{
    const char *changed[8];
    size_t n = 0;
    bool first = !m->have_state;
    if (first || st->status != m->st.status) changed[n++] = "PlaybackStatus";
    if (first || st->track != m->st.track || !same_text(st->title, m->st.title) ||
        !same_text(st->album, m->st.album) || st->length_us != m->st.length_us)
        changed[n++] = "Metadata";
    if (first || fabs(st->volume - m->st.volume) > 1e-6) changed[n++] = "Volume";
    if (first || st->can_next != m->st.can_next) changed[n++] = "CanGoNext";
    if (first || st->can_previous != m->st.can_previous) changed[n++] = "CanGoPrevious";
    if (first) changed[n++] = "CanPlay", changed[n++] = "CanPause";
    if (!same_text(st->title, m->title)) set_text(&m->title, st->title);
    if (!same_text(st->album, m->album)) set_text(&m->album, st->album);
    m->st = *st;
    m->st.title = m->title;
    m->st.album = m->album;
    m->have_state = true;
    if (!n) return;
    changed[n] = NULL;
    sd_bus_emit_properties_changed_strv(m->bus, MPRIS_PATH, MPRIS_PLAYER, (char **)changed);
}
