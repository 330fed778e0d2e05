/* The echo gate of spoken commands: the microphone hears the coach too, so
 * a command is taken only if its audio does not overlap a moment when the
 * coach itself was speaking. The control loop looks at the output every
 * turn (is speech being rendered now? how late is the device?) and keeps
 * the recent spans in which speech was audible, in CLOCK_MONOTONIC time;
 * a spotted phrase carries when its audio ended, on the same clock. Pure
 * bookkeeping: no device, no thread, testable with made-up times. */
#ifndef COACH_ECHO_H
#define COACH_ECHO_H

#include <stdbool.h>
#include <stdint.h>

#define ECHO_SPANS 32        /* spans kept (older ones are forgotten) */
/* Added on both sides of a span: the device's reported latency is lower
 * than the real one through a sound server's ALSA plugin, and speech has
 * soft edges. */
#define ECHO_MARGIN_MS 300
/* A phrase is taken to have begun this long before its end (two words at
 * an ordinary pace): the spotter reports only the end. */
#define ECHO_PHRASE_MS 1000
/* Turns further apart than this: the span starts at the later one minus
 * this (the loop was not looking; e.g. its first turn). */
#define ECHO_TURN_MAX_MS 250

struct echo_span {
    uint64_t from_ns, to_ns; /* audible speech, CLOCK_MONOTONIC, to_ns exclusive */
};

struct echo_gate {
    struct echo_span span[ECHO_SPANS]; /* a ring: span[(next - 1) % ECHO_SPANS] is the newest */
    unsigned n;                        /* spans held, up to ECHO_SPANS */
    unsigned next;                     /* where the next span goes */
    uint64_t last_turn_ns;             /* the previous look (0: none yet) */
};

void echo_gate_init(struct echo_gate *g);
/* One look at the output at now_ns: speaking means speech was rendered
 * since the last look; it is heard latency_s later. A speaking look adds
 * (or extends) the span from the last look to now, shifted by the
 * latency, widened by ECHO_MARGIN_MS. */
void echo_gate_turn(struct echo_gate *g, uint64_t now_ns, bool speaking, double latency_s);
/* Was the coach audible as speech anywhere in [from_ns, to_ns]? */
bool echo_gate_heard(const struct echo_gate *g, uint64_t from_ns, uint64_t to_ns);
/* The decision for a phrase whose audio ended at end_ns: true if it may
 * be the coach's own voice (its ECHO_PHRASE_MS overlap a span). */
bool echo_gate_is_echo(const struct echo_gate *g, uint64_t end_ns);

#endif
