/* The microphone through PortAudio (see include/coach/mic_portaudio.h):
 * a blocking input stream, mono or the device's first channel, at 16 kHz
 * where the device can, else at its own rate through a libsoxr stream. */
#define _POSIX_C_SOURCE 200809L
#include "coach/mic_portaudio.h"

#include <portaudio.h>
#include <soxr.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/sink_portaudio.h"

#define MIC_LATENCY_S 0.1 /* plenty: a command is acted on in tenths of seconds anyway */

struct mic {
    PaStream *stream;     /* immutable after open */
    char name[256];       /* the device's */
    uint32_t rate_hz;     /* the device's rate */
    int channels;         /* read per frame; the first is used */
    soxr_t soxr;          /* rate_hz -> 16 kHz, or NULL at 16 kHz */
    size_t read_frames;   /* frames per read at rate_hz */
    int16_t *raw;         /* read_frames * channels */
    float *in_f, *out_f;  /* the resampler's buffers */
};

static bool format_ok(int index, int channels, double rate)
{
    const PaDeviceInfo *d = Pa_GetDeviceInfo(index);
    PaStreamParameters p = {.device = index, .channelCount = channels, .sampleFormat = paInt16,
                            .suggestedLatency = d ? d->defaultHighInputLatency : MIC_LATENCY_S};
    int saved = -1;
    sink_portaudio_mute(&saved);
    PaError e = Pa_IsFormatSupported(&p, NULL, rate);
    sink_portaudio_mute(&saved);
    return e == paFormatIsSupported;
}

/* The device, as the output's --device picks one, among input devices. */
static int pick(const char *device, int *index, char *err, size_t cap)
{
    int k = sink_portaudio_find(device, true);
    if (k == paNoDevice) {
        if (device)
            snprintf(err, cap, "no microphone '%s' (see the microphones 'coach devices' lists)",
                     device);
        else
            snprintf(err, cap, "no microphone found");
        return COACH_ENOTFOUND;
    }
    *index = k;
    return 0;
}

static void mic_free(struct mic *m)
{
    if (!m) return;
    if (m->soxr) soxr_delete(m->soxr);
    free(m->raw);
    free(m->in_f);
    free(m->out_f);
    free(m);
}

int mic_open(struct mic **out, const char *device, char *err, size_t cap)
{
    *out = NULL;
    int rc = sink_portaudio_system_start(device, err, cap);
    if (rc) return rc;
    int index;
    rc = pick(device, &index, err, cap);
    struct mic *m = rc ? NULL : calloc(1, sizeof *m);
    if (!rc && !m) rc = COACH_ENOMEM;
    if (rc) {
        sink_portaudio_system_end();
        return rc;
    }
    const PaDeviceInfo *d = Pa_GetDeviceInfo(index);
    snprintf(m->name, sizeof m->name, "%s", d->name);
    /* 16 kHz mono if it can; else its own rate, and mono or its channels */
    m->channels = 1;
    m->rate_hz = MIC_RATE_HZ;
    if (!format_ok(index, 1, MIC_RATE_HZ)) {
        m->rate_hz = d->defaultSampleRate >= 8000 ? (uint32_t)d->defaultSampleRate : 48000;
        if (!format_ok(index, 1, m->rate_hz)) m->channels = d->maxInputChannels >= 2 ? 2 : 1;
    }
    m->read_frames = (size_t)m->rate_hz * MIC_READ_MS / 1000;
    m->raw = calloc(m->read_frames * (size_t)m->channels, sizeof *m->raw);
    rc = m->raw ? 0 : COACH_ENOMEM;
    if (!rc && m->rate_hz != MIC_RATE_HZ) {
        soxr_error_t e = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_MQ, 0);
        m->soxr = soxr_create(m->rate_hz, MIC_RATE_HZ, 1, &e, &io, &q, NULL);
        m->in_f = calloc(m->read_frames, sizeof *m->in_f);
        m->out_f = calloc((size_t)MIC_RATE_HZ * MIC_READ_MS / 1000 + 64, sizeof *m->out_f);
        if (e || !m->soxr || !m->in_f || !m->out_f) {
            snprintf(err, cap, "cannot resample the microphone's %u Hz: %s", m->rate_hz,
                     e ? e : "out of memory");
            rc = COACH_ENOMEM;
        }
    }
    if (!rc) {
        PaStreamParameters p = {.device = index, .channelCount = m->channels,
                                .sampleFormat = paInt16,
                                .suggestedLatency = d->defaultHighInputLatency > MIC_LATENCY_S
                                                        ? d->defaultHighInputLatency
                                                        : MIC_LATENCY_S};
        int saved = -1;
        sink_portaudio_mute(&saved);
        PaError e = Pa_OpenStream(&m->stream, &p, NULL, m->rate_hz, (unsigned long)m->read_frames,
                                  paClipOff | paDitherOff, NULL, NULL);
        if (e == paNoError) {
            e = Pa_StartStream(m->stream);
            if (e != paNoError) Pa_CloseStream(m->stream);
        }
        sink_portaudio_mute(&saved);
        if (e != paNoError) {
            snprintf(err, cap, "cannot open the microphone '%s': %s", m->name, Pa_GetErrorText(e));
            rc = e == paDeviceUnavailable || e == paInvalidDevice ? COACH_ENOTFOUND : COACH_EIO;
        }
    }
    if (rc) {
        if (rc == COACH_ENOMEM && !*err) snprintf(err, cap, "out of memory");
        mic_free(m);
        sink_portaudio_system_end();
        return rc;
    }
    *out = m;
    return 0;
}

const char *mic_name(const struct mic *m) { return m->name; }

int mic_read(struct mic *m, int16_t *pcm, size_t cap, size_t *n, uint64_t *end_ns, char *err,
             size_t err_cap)
{
    *n = 0;
    PaError e = Pa_ReadStream(m->stream, m->raw, (unsigned long)m->read_frames);
    uint64_t now = coach_mono_ns();
    if (e != paNoError && e != paInputOverflowed) { /* an overflow only lost old audio */
        snprintf(err, err_cap, "the microphone '%s' stopped: %s", m->name, Pa_GetErrorText(e));
        return COACH_EIO;
    }
    /* what is still queued after the last sample read is newer than it */
    signed long queued = Pa_GetStreamReadAvailable(m->stream);
    const PaStreamInfo *info = Pa_GetStreamInfo(m->stream);
    double behind_s = (queued > 0 ? (double)queued / m->rate_hz : 0.0) +
                      (info && info->inputLatency > 0 && info->inputLatency < 5 ? info->inputLatency : 0.0);
    uint64_t behind_ns = (uint64_t)(behind_s * 1e9);
    *end_ns = now > behind_ns ? now - behind_ns : 0;
    if (!m->soxr) { /* 16 kHz already: the first channel */
        size_t k = m->read_frames < cap ? m->read_frames : cap;
        for (size_t i = 0; i < k; i++) pcm[i] = m->raw[i * (size_t)m->channels];
        *n = k;
        return 0;
    }
    for (size_t i = 0; i < m->read_frames; i++)
        m->in_f[i] = m->raw[i * (size_t)m->channels] / 32768.0f;
    size_t room = (size_t)MIC_RATE_HZ * MIC_READ_MS / 1000 + 64, done = 0;
    if (room > cap) room = cap;
    soxr_error_t se = soxr_process(m->soxr, m->in_f, m->read_frames, NULL, m->out_f, room, &done);
    if (se) {
        snprintf(err, err_cap, "cannot resample the microphone: %s", se);
        return COACH_EIO;
    }
    for (size_t i = 0; i < done; i++) {
        float v = m->out_f[i] * 32768.0f;
        pcm[i] = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : v);
    }
    *n = done;
    return 0;
}

void mic_close(struct mic *m)
{
    if (!m) return;
    int saved = -1;
    sink_portaudio_mute(&saved);
    Pa_AbortStream(m->stream);
    Pa_CloseStream(m->stream);
    sink_portaudio_mute(&saved);
    mic_free(m);
    sink_portaudio_system_end();
}
