/* The live engine (see include/coach/live.h): the audio callback's body.
 * Each block is cut into pieces at the moments the state changes (a fade
 * ends, a phrase ends, the timeline ends); each piece mixes the timeline
 * (through its fade), the speech said over it and the acknowledgement tone
 * into one mono buffer, and the renderer's render_finish applies the
 * volume and the one limiter. With nothing but the timeline playing, the
 * piece is the renderer's own mix, so live playback equals export bit for
 * bit. Everything here runs on the audio thread and must stay real-time
 * safe: no malloc, no locks, no stdio, no espeak, no libsndfile. */
#include "coach/live.h"

#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/tone.h"

/* The first chapter whose content ends after pos, or at pos where the
 * playhead holds for "done" (wait: the index of the wait it holds at). */
static size_t first_mark(const struct timeline *tl, uint64_t pos, size_t wait)
{
    uint64_t held = wait < tl->n_waits && tl->waits[wait].frame == pos ? pos : UINT64_MAX;
    size_t i = 0;
    for (uint64_t e; i < tl->n_ch && (e = timeline_chapter_content_end(tl, i)) <= pos && e != held;)
        i++;
    return i;
}

int live_init(struct live *l, const struct timeline *tl, bool final, clip_slot *clip_pcm,
              uint32_t channels, size_t max_block)
{
    memset(l, 0, sizeof *l);
    l->rate_hz = tl->rate_hz;
    l->channels = channels;
    l->fade_frames = frames_from_ms(LIVE_FADE_MS, tl->rate_hz);
    if (!l->fade_frames) l->fade_frames = 1;
    l->final = final;
    l->gain = 1.0f;
    l->said_gain = 1.0f;
    l->next_wait = timeline_wait_from(tl, 0, false);
    l->next_mark = first_mark(tl, 0, l->next_wait);
    int rc = render_init(&l->r, tl, clip_pcm, channels, max_block);
    if (!rc) rc = ring_init(&l->cmd, LIVE_RING_MSGS, sizeof(struct live_cmd));
    if (!rc) rc = ring_init(&l->note, LIVE_RING_MSGS, sizeof(struct live_note));
    if (!rc) {
        l->mix = calloc(l->r.max_block, sizeof *l->mix);
        l->ack_mono = calloc(l->r.max_block, sizeof *l->ack_mono);
        l->ka_mono = calloc(l->r.max_block, sizeof *l->ka_mono);
        if (!l->mix || !l->ack_mono || !l->ka_mono) rc = COACH_ENOMEM;
    }
    if (rc) live_free(l);
    return rc;
}

void live_free(struct live *l)
{
    render_free(&l->r);
    ring_free(&l->cmd);
    ring_free(&l->note);
    free(l->mix);
    free(l->ack_mono);
    free(l->ka_mono);
    l->mix = l->ack_mono = l->ka_mono = NULL;
}

void live_keepalive(struct live *l, uint64_t preroll_frames, uint64_t wake_after_frames,
                    bool awake)
{
    l->preroll_frames = preroll_frames;
    l->wake_after_frames = wake_after_frames;
    l->ka_fade_frames = frames_from_ms((uint64_t)TONE_KEEPALIVE_FADE_MS, l->rate_hz);
    if (!l->ka_fade_frames) l->ka_fade_frames = 1;
    l->quiet_frames = awake ? 0 : wake_after_frames;
}

bool live_send(struct live *l, const struct live_cmd *c) { return ring_push(&l->cmd, c); }

bool live_poll(struct live *l, struct live_note *n) { return ring_pop(&l->note, n); }

static void note(struct live *l, enum live_note_kind kind, int32_t id, uint64_t from)
{
    struct live_note n = {.kind = (uint8_t)kind, .id = id, .frame = l->pos, .from = from};
    if (!ring_push(&l->note, &n)) atomic_fetch_add_explicit(&l->lost_notes, 1, memory_order_relaxed);
}

static void start_ack(struct live *l, uint8_t kind)
{
    if (kind == LIVE_NO_ACK) return;
    l->ack = (struct event){.kind = EV_ACK, .variant = kind,
                            .len_frames = tone_default_len(EV_ACK, l->rate_hz)};
    l->ack_pos = 0;
}

/* Speech that will never be said (replaced, or no longer wanted). */
static void drop(struct live *l, struct live_speech *s)
{
    if (s->pcm) note(l, NOTE_SAID, (int32_t)s->id, 0);
    *s = (struct live_speech){0};
}

/* The speech being said fades out, and ends. */
static void cut(struct live *l) { l->cutting = l->said.pcm != NULL; }

/* New speech: said once the timeline is silent; it replaces speech that
 * waits and cuts speech being said. */
static void queue(struct live *l, const struct live_cmd *c, bool for_pause)
{
    if (!c->pcm) return;
    drop(l, &l->next);
    l->next = (struct live_speech){.pcm = c->pcm, .len = c->len_frames, .id = c->say_id,
                                   .for_pause = for_pause};
    cut(l);
}

static void apply(struct live *l, const struct live_cmd *c)
{
    if (l->done) return;
    start_ack(l, c->ack);
    switch ((enum live_cmd_kind)c->kind) {
    case LIVE_SWAP:
        render_set_timeline(&l->r, c->tl);
        l->final = c->final;
        l->next_wait = timeline_wait_from(c->tl, l->pos, false);
        l->next_mark = first_mark(c->tl, l->pos, l->next_wait);
        break;
    case LIVE_PAUSE: /* each pause is answered with its NOTE_PAUSED */
        l->paused_noted = false;
        l->paused = true;
        queue(l, c, true);
        break;
    case LIVE_RESUME:
        if (!l->paused) break;
        l->paused = false;
        if (l->next.for_pause) drop(l, &l->next);
        if (l->said.for_pause) cut(l);
        note(l, NOTE_RESUMED, 0, 0);
        break;
    case LIVE_SEEK:
        l->seeking = true;
        l->seek_to = c->frame;
        l->seek_done = c->wait_done;
        break;
    case LIVE_SAY:
        queue(l, c, false);
        break;
    case LIVE_STOP:
        l->stopping = true;
        drop(l, &l->next);
        cut(l);
        break;
    case LIVE_ACK:
        break;
    }
}

static bool holding(const struct live *l)
{
    return l->paused || l->stopping || l->seeking || l->said.pcm || l->next.pcm;
}

/* Chapters whose content ends inside (a, b], played through. One that
 * ends where the playhead holds for "done" (a self-paced part at the end
 * of its step) is not yet: a stop there leaves it undone. done: "done"
 * was said, so every chapter left up to b (that one too) was. */
static void marks(struct live *l, uint64_t a, uint64_t b, bool done)
{
    const struct timeline *tl = l->r.tl;
    uint64_t barrier = l->next_wait < tl->n_waits ? tl->waits[l->next_wait].frame : UINT64_MAX;
    while (l->next_mark < tl->n_ch) {
        uint64_t e = timeline_chapter_content_end(tl, l->next_mark);
        if (e > b || (!done && e == barrier)) break;
        if (e > a || done) note(l, NOTE_CHAPTER_END, tl->ch[l->next_mark].step, 0);
        l->next_mark++;
    }
}

/* What happens once the timeline is silent and held: the jump, the next
 * speech, the end of a stop, the pause's note. */
static void while_held(struct live *l)
{
    if (l->seeking) {
        uint64_t from = l->pos;
        l->pos = l->seek_to;
        l->seeking = false;
        if (l->seek_done && l->pos >= from) /* done: what it ends was played through */
            marks(l, from, l->pos, true);
        l->seek_done = false;
        l->next_wait = timeline_wait_from(l->r.tl, l->pos, true);
        l->next_mark = first_mark(l->r.tl, l->pos, l->next_wait);
        atomic_store_explicit(&l->wait_frames, 0, memory_order_relaxed);
        note(l, NOTE_SEEKED, 0, from);
    }
    if (!l->said.pcm && l->next.pcm) {
        l->said = l->next;
        l->next = (struct live_speech){0};
        l->said_gain = 1.0f;
        l->cutting = false;
    }
    if (l->stopping && !l->said.pcm) {
        l->done = true;
        note(l, NOTE_STOPPED, 0, 0);
        return;
    }
    if (l->paused && !l->paused_noted) {
        l->paused_noted = true;
        note(l, NOTE_PAUSED, 0, 0);
    }
}

/* Frames left in a fade from gain down to 0. */
static uint64_t fade_left(const struct live *l, float gain)
{
    return (uint64_t)(gain * (float)l->fade_frames + 0.999f);
}


/* The timeline's part of a piece of k frames: mixed into mix (have says
 * whether mix holds anything yet) through the fade. */
static bool mix_timeline(struct live *l, size_t k, bool have)
{
    const float *tm = render_mix(&l->r, l->pos, k);
    bool hold = holding(l);
    float step = 1.0f / (float)l->fade_frames;
    if (!hold && l->gain >= 1.0f) { /* steady: the renderer's samples as they are */
        if (tm) {
            if (have)
                for (size_t i = 0; i < k; i++) l->mix[i] += tm[i];
            else
                memcpy(l->mix, tm, k * sizeof *tm);
            have = true;
        }
    } else {
        float g = l->gain, d = hold ? -step : step;
        for (size_t i = 0; i < k; i++) {
            g += d;
            g = g > 1.0f ? 1.0f : g < 0.0f ? 0.0f : g;
            if (tm) l->mix[i] = (have ? l->mix[i] : 0.0f) + tm[i] * g;
        }
        have |= tm != NULL;
        l->gain = g;
    }
    uint64_t a = l->pos;
    l->pos += k;
    atomic_fetch_add_explicit(&l->heard_frames, k, memory_order_relaxed);
    marks(l, a, l->pos, false);
    return have;
}

static bool mix_speech(struct live *l, size_t k, bool have)
{
    const float *p = l->said.pcm + l->said.pos;
    float g = l->said_gain, d = l->cutting ? -1.0f / (float)l->fade_frames : 0.0f;
    for (size_t i = 0; i < k; i++) {
        if (d != 0.0f) {
            g += d;
            if (g < 0.0f) g = 0.0f;
        }
        l->mix[i] = (have ? l->mix[i] : 0.0f) + p[i] * g;
    }
    l->said_gain = g;
    l->said.pos += k;
    if (l->said.pos >= l->said.len || (l->cutting && g <= 0.0f)) {
        note(l, NOTE_SAID, (int32_t)l->said.id, 0);
        l->said = (struct live_speech){0};
        l->cutting = false;
        l->said_gain = 1.0f;
    }
    return true;
}

static bool mix_ack(struct live *l, size_t k, bool have)
{
    memset(l->ack_mono, 0, k * sizeof *l->ack_mono);
    tone_add(&l->ack, l->ack_pos, l->ack_mono, k, l->rate_hz);
    l->ack_pos += k;
    for (size_t i = 0; i < k; i++) l->mix[i] = (have ? l->mix[i] : 0.0f) + l->ack_mono[i];
    return true;
}

/* The engine's keep-alive over k frames, fading towards on (1) or off
 * (0); mixed into mix. Its phase runs on with the output (ka_pos). */
static bool mix_keepalive(struct live *l, size_t k, bool on, bool have)
{
    if (!on && l->ka_gain <= 0.0f) {
        l->ka_pos += k;
        return have;
    }
    static const struct event ka = {.kind = EV_KEEPALIVE, .len_frames = UINT64_MAX};
    memset(l->ka_mono, 0, k * sizeof *l->ka_mono);
    tone_add(&ka, l->ka_pos, l->ka_mono, k, l->rate_hz);
    float g = l->ka_gain, d = (on ? 1.0f : -1.0f) / (float)l->ka_fade_frames;
    for (size_t i = 0; i < k; i++) {
        g += d;
        g = g > 1.0f ? 1.0f : g < 0.0f ? 0.0f : g;
        l->mix[i] = (have ? l->mix[i] : 0.0f) + l->ka_mono[i] * g;
    }
    l->ka_gain = g;
    l->ka_pos += k;
    return true;
}

/* --preroll: whether the piece is a lead-in (only the keep-alive, nothing
 * else moves). A sound about to start after wake_after_frames of quiet
 * starts one; one whose sound went away (a stop) ends. */
static bool leading_in(struct live *l, bool sound)
{
    if (!l->preroll_frames) return false;
    if (!sound) return l->lead_left = 0, false;
    if (!l->lead_left && l->quiet_frames >= l->wake_after_frames) {
        l->lead_left = l->preroll_frames;
        l->quiet_frames = 0;
        atomic_fetch_add_explicit(&l->lead_ins, 1, memory_order_relaxed);
    }
    return l->lead_left > 0;
}

/* One piece of at most m frames into out; returns the frames done (0 when
 * a state changed exactly here: the caller comes straight back). */
static size_t piece(struct live *l, float *out, size_t m)
{
    const struct timeline *tl = l->r.tl;
    bool hold = holding(l);
    if (hold && l->gain <= 0.0f) {
        l->gain = 0.0f;
        while_held(l);
        hold = holding(l);
    }
    if (l->done) {
        memset(out, 0, m * l->channels * sizeof *out);
        return m;
    }
    /* at the end of a self-paced part: the timeline waits for "done" (it
     * is silent there: nothing to fade) */
    uint64_t barrier = l->next_wait < tl->n_waits ? tl->waits[l->next_wait].frame : UINT64_MAX;
    bool at_barrier = l->pos >= barrier;
    if (at_barrier && hold && l->gain > 0.0f) {
        l->gain = 0.0f;
        return 0;
    }
    bool timeline = !(hold && l->gain <= 0.0f) && !at_barrier; /* playing or fading */
    bool ack = l->ack.len_frames && l->ack_pos < l->ack.len_frames;
    /* a sound about to start: the timeline playing on (not fading out), speech, a tone */
    if (leading_in(l, (timeline && !hold && l->pos < tl->len_frames) || l->said.pcm || ack)) {
        size_t k = m < l->lead_left ? m : (size_t)l->lead_left;
        l->lead_left -= k;
        mix_keepalive(l, k, true, false);
        render_finish(&l->r, l->mix, out, k);
        return k;
    }
    size_t k = m;
    if (timeline && l->pos >= tl->len_frames) {
        if (hold) { /* nothing left to fade */
            l->gain = 0.0f;
            return 0;
        }
        if (l->final && !l->linger) {
            l->done = true;
            note(l, NOTE_ENDED, 0, 0);
            memset(out, 0, m * l->channels * sizeof *out);
            return m;
        }
        if (l->final) { /* lingering after the end: silent, speech may still come */
            if (!l->ended) note(l, NOTE_ENDED, 0, 0);
            l->ended = true;
        } else { /* the rest of the plan is not ready: hold, and count it */
            atomic_fetch_add_explicit(&l->stall_frames, m, memory_order_relaxed);
        }
        timeline = false;
    }
    if (timeline) {
        if (k > tl->len_frames - l->pos) k = (size_t)(tl->len_frames - l->pos);
        if (k > barrier - l->pos) k = (size_t)(barrier - l->pos);
        if (hold) {
            uint64_t left = fade_left(l, l->gain);
            if (left == 0) {
                l->gain = 0.0f;
                return 0;
            }
            if (k > left) k = (size_t)left;
        }
    }
    if (l->said.pcm) {
        uint64_t left = l->said.len - l->said.pos;
        if (l->cutting) {
            uint64_t c = fade_left(l, l->said_gain);
            if (c < left) left = c;
        }
        if (left == 0) { /* an empty phrase, or a cut done */
            note(l, NOTE_SAID, (int32_t)l->said.id, 0);
            l->said = (struct live_speech){0};
            l->cutting = false;
            l->said_gain = 1.0f;
            return 0;
        }
        if (k > left) k = (size_t)left;
    }
    bool have = false;
    if (timeline) have = mix_timeline(l, k, have);
    if (l->said.pcm) have = mix_speech(l, k, have);
    if (ack) have = mix_ack(l, k, have);
    if (l->preroll_frames) { /* the timeline keeps itself awake: the rest of the time, we do */
        l->quiet_frames = have ? 0 : l->quiet_frames + k;
        have = mix_keepalive(l, k, !timeline, have);
    }
    render_finish(&l->r, have ? l->mix : NULL, out, k);
    if (at_barrier && !l->paused) atomic_fetch_add_explicit(&l->wait_frames, k, memory_order_relaxed);
    return k;
}

static enum live_mode mode_of(const struct live *l)
{
    if (l->done) return LIVE_DONE;
    if (l->said.pcm || l->next.pcm) return LIVE_SPEAKING;
    return l->paused ? LIVE_PAUSED : LIVE_RUN;
}

void live_process(struct live *l, float *out, size_t n)
{
    struct live_cmd c;
    while (ring_pop(&l->cmd, &c)) apply(l, &c);
    size_t done = 0;
    for (int idle = 0; done < n;) {
        size_t m = n - done;
        if (m > l->r.max_block) m = l->r.max_block;
        size_t k = piece(l, out + done * l->channels, m);
        /* a state changes at most a few times at one frame; never spin */
        if (k == 0 && ++idle > 8) k = m, memset(out + done * l->channels, 0, m * l->channels * sizeof *out);
        if (k) idle = 0;
        done += k;
    }
    atomic_store_explicit(&l->wait_now, l->next_wait, memory_order_relaxed);
    atomic_store_explicit(&l->played, l->pos, memory_order_release);
    atomic_store_explicit(&l->mode_now, (int)mode_of(l), memory_order_relaxed);
    atomic_fetch_add_explicit(&l->epoch, 1, memory_order_release);
}
