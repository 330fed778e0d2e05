/* The echo gate (include/coach/echo.h): a ring of the recent spans of the
 * coach's audible speech, and the overlap test of a spotted phrase. */
#include "coach/echo.h"

#include <string.h>

#define MS_NS 1000000ull

void echo_gate_init(struct echo_gate *g) { memset(g, 0, sizeof *g); }

void echo_gate_turn(struct echo_gate *g, uint64_t now_ns, bool speaking, double latency_s)
{
    uint64_t last = g->last_turn_ns;
    g->last_turn_ns = now_ns;
    if (!speaking) return;
    uint64_t gap_max = ECHO_TURN_MAX_MS * MS_NS;
    uint64_t start = last && now_ns - last <= gap_max ? last : (now_ns > gap_max ? now_ns - gap_max : 0);
    uint64_t lat_ns = latency_s > 0 && latency_s < 10.0 ? (uint64_t)(latency_s * 1e9) : 0;
    uint64_t margin = ECHO_MARGIN_MS * MS_NS;
    uint64_t from = start + lat_ns > margin ? start + lat_ns - margin : 0;
    uint64_t to = now_ns + lat_ns + margin;
    if (g->n) { /* one utterance, many looks: one span */
        struct echo_span *s = &g->span[(g->next + ECHO_SPANS - 1) % ECHO_SPANS];
        if (from <= s->to_ns) {
            if (to > s->to_ns) s->to_ns = to;
            return;
        }
    }
    g->span[g->next] = (struct echo_span){from, to};
    g->next = (g->next + 1) % ECHO_SPANS;
    if (g->n < ECHO_SPANS) g->n++;
}

bool echo_gate_heard(const struct echo_gate *g, uint64_t from_ns, uint64_t to_ns)
{
    for (unsigned i = 0; i < g->n; i++) {
        const struct echo_span *s = &g->span[i];
        if (s->from_ns <= to_ns && from_ns < s->to_ns) return true;
    }
    return false;
}

bool echo_gate_is_echo(const struct echo_gate *g, uint64_t end_ns)
{
    uint64_t len = ECHO_PHRASE_MS * MS_NS;
    return echo_gate_heard(g, end_ns > len ? end_ns - len : 0, end_ns);
}
