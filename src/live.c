/* The live engine (see include/coach/live.h): the audio callback's body.
 * It renders the timeline at its position and applies fades; commands that
 * must not click (pause, seek, speech overlays, stop) first fade the
 * timeline out over LIVE_FADE_MS and act when the fade ends. Everything
 * here runs on the audio thread and must stay real-time safe: no malloc,
 * no locks, no stdio, no espeak, no libsndfile. */
#include "coach/live.h"

#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/tone.h"

#define LIVE_RING_MSGS 64

int live_init(struct live *l, const struct timeline *tl, bool final, clip_slot *clip_pcm,
              uint32_t channels, size_t max_block)
{
    memset(l, 0, sizeof *l);
    l->rate_hz = tl->rate_hz;
    l->channels = channels;
    l->fade_frames = frames_from_ms(LIVE_FADE_MS, tl->rate_hz);
    l->final = final;
    l->mode = LIVE_RUN;
    l->gain = 1.0f;
    l->pending = LIVE_PENDING_NONE;
    int rc = render_init(&l->r, tl, clip_pcm, channels, max_block);
    if (!rc) rc = ring_init(&l->cmd, LIVE_RING_MSGS, sizeof(struct live_cmd));
    if (!rc) rc = ring_init(&l->note, LIVE_RING_MSGS, sizeof(struct live_note));
    if (!rc) {
        l->ack_mono = calloc(l->r.max_block, sizeof *l->ack_mono);
        if (!l->ack_mono) rc = COACH_ENOMEM;
    }
    if (rc) live_free(l);
    return rc;
}

void live_free(struct live *l)
{
    render_free(&l->r);
    ring_free(&l->cmd);
    ring_free(&l->note);
    free(l->ack_mono);
    l->ack_mono = NULL;
}

bool live_send(struct live *l, const struct live_cmd *c) { return ring_push(&l->cmd, c); }

bool live_poll(struct live *l, struct live_note *n) { return ring_pop(&l->note, n); }

static void note(struct live *l, enum live_note_kind kind)
{
    struct live_note n = {.kind = (uint8_t)kind, .frame = l->pos};
    if (!ring_push(&l->note, &n)) atomic_fetch_add_explicit(&l->lost_notes, 1, memory_order_relaxed);
}

static void start_ack(struct live *l, uint8_t kind)
{
    if (kind == LIVE_NO_ACK) return;
    l->ack = (struct event){.kind = EV_ACK, .variant = kind,
                            .len_frames = tone_default_len(EV_ACK, l->rate_hz)};
    l->ack_pos = 0;
}

/* Fade the timeline out, then do what. A stop outranks anything pending. */
static void fade_out_then(struct live *l, uint8_t what, uint64_t frame)
{
    if (l->pending == LIVE_STOP) return;
    l->pending = what;
    l->pending_frame = frame;
    l->fade = -1;
}

static void apply(struct live *l, const struct live_cmd *c)
{
    start_ack(l, c->ack);
    switch ((enum live_cmd_kind)c->kind) {
    case LIVE_SWAP:
        render_set_timeline(&l->r, c->tl);
        l->final = c->final;
        break;
    case LIVE_PAUSE:
        if (l->mode == LIVE_RUN) {
            fade_out_then(l, LIVE_PAUSE, 0);
        } else if (l->mode == LIVE_SPEAKING && !l->paused_before_overlay) {
            l->paused_before_overlay = true; /* stay paused once the speech ends */
            note(l, NOTE_PAUSED);
        }
        break;
    case LIVE_RESUME:
        if (l->mode == LIVE_RUN && l->pending == LIVE_PAUSE) { /* pause not done yet: undo */
            l->pending = LIVE_PENDING_NONE;
            l->fade = 1;
            note(l, NOTE_RESUMED);
        } else if (l->mode == LIVE_PAUSED) {
            l->mode = LIVE_RUN;
            l->fade = 1;
            note(l, NOTE_RESUMED);
        } else if (l->mode == LIVE_SPEAKING && l->paused_before_overlay) {
            l->paused_before_overlay = false;
            note(l, NOTE_RESUMED);
        }
        break;
    case LIVE_SEEK:
        if (l->mode == LIVE_RUN) {
            fade_out_then(l, LIVE_SEEK, c->frame);
        } else if (l->mode == LIVE_PAUSED || l->mode == LIVE_SPEAKING) {
            l->pos = c->frame; /* the timeline is silent now: jump at once */
            note(l, NOTE_SEEKED);
        }
        break;
    case LIVE_OVERLAY:
        l->ov = c->pcm;
        l->ov_len = c->len_frames;
        l->ov_pos = 0;
        if (l->mode == LIVE_RUN) {
            l->paused_before_overlay = false;
            fade_out_then(l, LIVE_OVERLAY, 0);
        } else if (l->mode == LIVE_PAUSED || l->mode == LIVE_SPEAKING) {
            if (l->mode == LIVE_PAUSED) l->paused_before_overlay = true;
            l->mode = LIVE_SPEAKING;
        }
        break;
    case LIVE_STOP:
        if (l->mode == LIVE_RUN && l->gain > 0.0f) {
            fade_out_then(l, LIVE_STOP, 0);
        } else if (l->mode != LIVE_DONE) {
            l->mode = LIVE_DONE;
            note(l, NOTE_STOPPED);
        }
        break;
    case LIVE_ACK:
        break;
    }
}

/* The fade out has ended: carry out what waited for it. */
static void fade_out_done(struct live *l)
{
    l->fade = 0;
    l->gain = 0.0f;
    uint8_t what = l->pending;
    l->pending = LIVE_PENDING_NONE;
    switch (what) {
    case LIVE_PAUSE:
        l->mode = LIVE_PAUSED;
        note(l, NOTE_PAUSED);
        break;
    case LIVE_SEEK:
        l->pos = l->pending_frame;
        l->fade = 1;
        note(l, NOTE_SEEKED);
        break;
    case LIVE_OVERLAY:
        l->mode = LIVE_SPEAKING;
        break;
    case LIVE_STOP:
        l->mode = LIVE_DONE;
        note(l, NOTE_STOPPED);
        break;
    default: /* nothing waited: never stay faded out */
        l->fade = 1;
        break;
    }
}

/* Timeline frames [pos, pos+n) into out, with the fade; returns frames done
 * (fewer than n when a fade out ends inside the block). */
static size_t run_timeline(struct live *l, float *out, size_t n)
{
    const struct timeline *tl = l->r.tl;
    if (l->pos >= tl->len_frames) {
        memset(out, 0, n * l->channels * sizeof *out);
        if (l->final) {
            l->mode = LIVE_DONE;
            note(l, NOTE_ENDED);
        } else { /* the rest of the plan is not ready: hold, and count it */
            atomic_fetch_add_explicit(&l->stall_frames, n, memory_order_relaxed);
        }
        return n;
    }
    if (n > tl->len_frames - l->pos) n = (size_t)(tl->len_frames - l->pos);
    uint64_t fade_left = 0;
    if (l->fade < 0) {
        fade_left = (uint64_t)(l->gain * (float)l->fade_frames + 0.5f);
        if (fade_left == 0) {
            fade_out_done(l);
            return 0;
        }
        if (n > fade_left) n = (size_t)fade_left;
    }
    render(&l->r, l->pos, out, n);
    l->pos += n;
    atomic_fetch_add_explicit(&l->heard_frames, n, memory_order_relaxed);
    if (l->fade) {
        float step = 1.0f / (float)l->fade_frames;
        for (size_t i = 0; i < n; i++) {
            l->gain += (float)l->fade * step;
            if (l->gain > 1.0f) l->gain = 1.0f;
            if (l->gain < 0.0f) l->gain = 0.0f;
            for (uint32_t c = 0; c < l->channels; c++) out[i * l->channels + c] *= l->gain;
        }
        if (l->fade > 0 && l->gain >= 1.0f) l->fade = 0;
        if (l->fade < 0 && n == fade_left) fade_out_done(l);
    }
    return n;
}

/* Speech said while the timeline waits (repeat, where am I). */
static size_t run_overlay(struct live *l, float *out, size_t n)
{
    uint64_t left = l->ov_len > l->ov_pos ? l->ov_len - l->ov_pos : 0;
    if (n > left) n = (size_t)left;
    float vol = atomic_load_explicit(&l->r.volume, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        for (uint32_t c = 0; c < l->channels; c++)
            out[i * l->channels + c] = vol * l->ov[l->ov_pos + i];
    l->ov_pos += n;
    if (l->ov_pos >= l->ov_len) {
        l->ov = NULL;
        note(l, NOTE_OVERLAY_DONE);
        if (l->paused_before_overlay) {
            l->mode = LIVE_PAUSED;
        } else {
            l->mode = LIVE_RUN;
            l->fade = 1;
        }
    }
    return n;
}

void live_process(struct live *l, float *out, size_t n)
{
    struct live_cmd c;
    while (ring_pop(&l->cmd, &c)) apply(l, &c);
    size_t done = 0;
    while (done < n) {
        size_t m = n - done;
        if (m > l->r.max_block) m = l->r.max_block;
        float *o = out + done * l->channels;
        size_t k;
        switch (l->mode) {
        case LIVE_RUN:
            k = run_timeline(l, o, m);
            break;
        case LIVE_SPEAKING:
            k = run_overlay(l, o, m);
            break;
        default:
            memset(o, 0, m * l->channels * sizeof *o);
            k = m;
            break;
        }
        if (k == 0) continue; /* a state changed at a block edge */
        if (l->ack.len_frames && l->ack_pos < l->ack.len_frames) {
            memset(l->ack_mono, 0, k * sizeof *l->ack_mono);
            tone_add(&l->ack, l->ack_pos, l->ack_mono, k, l->rate_hz);
            l->ack_pos += k;
            float vol = atomic_load_explicit(&l->r.volume, memory_order_relaxed);
            for (size_t i = 0; i < k; i++)
                for (uint32_t ch = 0; ch < l->channels; ch++) {
                    float *s = &o[i * l->channels + ch];
                    float x = *s + vol * l->ack_mono[i];
                    *s = x > 1.0f ? 1.0f : x < -1.0f ? -1.0f : x; /* never past full scale */
                }
        }
        done += k;
    }
    atomic_store_explicit(&l->played, l->pos, memory_order_release);
    atomic_store_explicit(&l->mode_now, (int)l->mode, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->epoch, 1, memory_order_release);
}
