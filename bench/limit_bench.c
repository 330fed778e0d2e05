/* The limit of an export (issue 14): the work no exporter can avoid, done by
 * the libraries alone, so bench/limit_bench.sh can print export ÷ limit.
 *
 *   limit_bench synth VOICE RATE_WPM PITCH PHRASES [PART NPARTS]
 *       espeak-ng synthesizes every line of PHRASES (or every NPARTS-th line
 *       from PART) in this one process, the way src/tts_espeak.c calls it
 *       (synchronous, UTF-8); prints the samples made.
 *   limit_bench encode IN.f32 RATE_HZ CHANNELS FORMAT OUT [PART NPARTS]
 *       libsndfile writes IN's frames (raw native float, mapped; or the
 *       PART-th of NPARTS contiguous slices) to OUT in FORMAT (wav flac mp3
 *       opus ogg), 8192 frames a call, with the sample format and
 *       compression level of src/export.c.
 *
 * Built by CMake (not installed); bench/limit_bench.sh runs it. */
#define _POSIX_C_SOURCE 200809L
#include <espeak-ng/speak_lib.h>
#include <espeak-ng/espeak_ng.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

static unsigned long long g_samples;

static int count_cb(short *wav, int n, espeak_EVENT *ev)
{
    (void)wav;
    (void)ev;
    if (n > 0) g_samples += (unsigned long long)n;
    return 0;
}

static int synth(int argc, char **argv)
{
    if (argc != 6 && argc != 8) return 2;
    int rate_wpm = atoi(argv[3]), pitch = atoi(argv[4]);
    int part = argc == 8 ? atoi(argv[6]) : 0, nparts = argc == 8 ? atoi(argv[7]) : 1;
    FILE *in = fopen(argv[5], "r");
    if (!in) { perror(argv[5]); return 1; }
    espeak_ng_InitializePath(NULL);
    if (espeak_ng_Initialize(NULL) != ENS_OK ||
        espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, NULL) != ENS_OK ||
        espeak_ng_SetVoiceByName(argv[2]) != ENS_OK) {
        fprintf(stderr, "limit_bench: espeak-ng cannot speak with voice %s\n", argv[2]);
        return 1;
    }
    espeak_SetSynthCallback(count_cb);
    /* after the voice, as src/tts_espeak.c does: selecting one resets these */
    espeak_ng_SetParameter(espeakPITCH, pitch, 0);
    espeak_ng_SetParameter(espeakRATE, rate_wpm, 0);
    char line[8192];
    unsigned phrases = 0;
    for (int i = 0; fgets(line, sizeof line, in); i++) {
        if (i % nparts != part) continue;
        line[strcspn(line, "\n")] = 0;
        if (espeak_ng_Synthesize(line, strlen(line) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL,
                                 NULL) != ENS_OK)
            return 1;
        phrases++;
    }
    fclose(in);
    printf("%u phrases, %llu samples at %d Hz\n", phrases, g_samples, espeak_ng_GetSampleRate());
    return 0;
}

/* the same formats and levels as src/export.c's table and compression_level() */
static int format_of(const char *name, int *sf_format, double *level)
{
    static const struct { const char *name; int sf; double level; } t[] = {
        {"wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, -1},
        {"flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 0.5},
        {"ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.5},
        {"opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 0.8},
        {"mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 0.5},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(name, t[i].name)) {
            *sf_format = t[i].sf;
            *level = t[i].level;
            return 0;
        }
    return -1;
}

static int encode(int argc, char **argv)
{
    if (argc != 7 && argc != 9) return 2;
    int rate_hz = atoi(argv[3]), channels = atoi(argv[4]);
    int part = argc == 9 ? atoi(argv[7]) : 0, nparts = argc == 9 ? atoi(argv[8]) : 1;
    int fd = open(argv[2], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || channels < 1) { perror(argv[2]); return 1; }
    /* mapped, not read: the samples come from the page cache as an
     * exporter's would come from its renderer, with no decoding timed */
    const float *all = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
    if (st.st_size && all == MAP_FAILED) { perror("mmap"); return 1; }
    sf_count_t frames = (sf_count_t)st.st_size / (sf_count_t)(channels * sizeof(float));
    sf_count_t first = frames * part / nparts, n = frames * (part + 1) / nparts - first;
    SF_INFO oi = {.samplerate = rate_hz, .channels = channels};
    double level;
    if (format_of(argv[5], &oi.format, &level)) { fprintf(stderr, "limit_bench: no format %s\n", argv[5]); return 2; }
    SNDFILE *out = sf_open(argv[6], SFM_WRITE, &oi);
    if (!out) { fprintf(stderr, "limit_bench: %s: %s\n", argv[6], sf_strerror(NULL)); return 1; }
    if (level >= 0) sf_command(out, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level);
    const sf_count_t block = 8192; /* src/export.c's EXPORT_BLOCK_FRAMES */
    for (sf_count_t at = 0; at < n; at += block) {
        sf_count_t k = n - at < block ? n - at : block;
        if (sf_writef_float(out, all + (first + at) * channels, k) != k) return 1;
    }
    return sf_close(out) ? 1 : 0;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc > 1 && !strcmp(argv[1], "synth")) rc = synth(argc, argv);
    else if (argc > 1 && !strcmp(argv[1], "encode")) rc = encode(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: limit_bench synth VOICE RATE_WPM PITCH PHRASES [PART NPARTS]\n"
                        "       limit_bench encode IN.f32 RATE_HZ CHANNELS FORMAT OUT [PART NPARTS]\n");
    return rc;
}
