/* coach-loudness FILE...: prints, per audio file, its integrated loudness
 * (LUFS, ITU-R BS.1770 through libebur128; a mono file is measured as
 * heard on one speaker) and its true peak (dBTP, the highest channel):
 *   FILE <tab> I=-16.02 <tab> TP=-1.35 <tab> channels=2
 * For the shell tests (tests/loudness.sh). Exit 1 if a file cannot be read. */
#include <ebur128.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>

static int measure(const char *path)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        fprintf(stderr, "coach-loudness: %s: %s\n", path, sf_strerror(NULL));
        return 1;
    }
    unsigned ch = (unsigned)info.channels;
    ebur128_state *st = ebur128_init(ch, (unsigned long)info.samplerate,
                                     EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    float *buf = malloc(65536 * ch * sizeof *buf);
    if (!st || !buf) return 1;
    sf_count_t n;
    while ((n = sf_readf_float(f, buf, 65536)) > 0)
        ebur128_add_frames_float(st, buf, (size_t)n);
    double lufs = -HUGE_VAL, tp = 0.0;
    ebur128_loudness_global(st, &lufs);
    for (unsigned c = 0; c < ch; c++) {
        double p = 0.0;
        ebur128_true_peak(st, c, &p);
        if (p > tp) tp = p;
    }
    printf("%s\tI=%.2f\tTP=%.2f\tchannels=%u\n", path, lufs, tp > 0 ? 20 * log10(tp) : -HUGE_VAL, ch);
    ebur128_destroy(&st);
    free(buf);
    sf_close(f);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) rc |= measure(argv[i]);
    return argc > 1 ? rc : 2;
}
