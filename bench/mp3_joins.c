/* Are the joins of a parallel MP3 export audible? Decodes MP3 files with
 * libsndfile (which trims LAME's delay and padding) and compares them,
 * sample by sample, with the WAV export of the same routine: the error
 * within a frame either side of each segment join (src/mp3par.c) against
 * the error in windows of the same size halfway between joins, and over
 * the whole file. Run on the serial export too, the same windows show what
 * the codec does there anyway.
 *   build/mp3_joins REF.wav FILE.mp3... (SEG_FRAMES=96 SPF=1152 DELAY=576)
 * Prints per file: decoded length, SNR and max |error| (dBFS) at joins, in
 * the control windows and overall. */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acc {
    double err2, sig2, max_err;
    unsigned long long n;
};

static void add(struct acc *a, double s, double e)
{
    a->err2 += e * e;
    a->sig2 += s * s;
    if (fabs(e) > a->max_err) a->max_err = fabs(e);
    a->n++;
}

static void show(const char *what, const struct acc *a)
{
    printf("  %-8s SNR %6.1f dB  max |err| %6.1f dBFS  (%llu samples)\n", what,
           10 * log10(a->sig2 / (a->err2 > 0 ? a->err2 : 1e-30)),
           20 * log10(a->max_err > 0 ? a->max_err : 1e-10), a->n);
}

static long env_or(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && *v ? atol(v) : dflt;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s REF.wav FILE.mp3...\n", argv[0]);
        return 2;
    }
    const long spf = env_or("SPF", 1152), seg = env_or("SEG_FRAMES", 96), delay = env_or("DELAY", 576);
    const long period = seg * spf, w = spf; /* a frame either side */
    for (int k = 2; k < argc; k++) {
        SF_INFO ri = {0}, mi = {0};
        SNDFILE *r = sf_open(argv[1], SFM_READ, &ri), *m = sf_open(argv[k], SFM_READ, &mi);
        if (!r || !m || ri.channels != mi.channels) {
            fprintf(stderr, "%s: cannot read (or channels differ)\n", argv[k]);
            return 1;
        }
        struct acc join = {0}, ctl = {0}, all = {0};
        enum { B = 8192 };
        static float rb[B * 2], mb[B * 2];
        long long t = 0;
        sf_count_t n;
        while ((n = sf_readf_float(r, rb, B)) > 0) {
            if (sf_readf_float(m, mb, n) != n) break;
            for (sf_count_t i = 0; i < n; i++, t++) {
                /* distance to the nearest join (t = s*period - delay, s >= 1)
                 * and to the nearest control point, half a period later */
                long long u = t + delay;
                long long dj = u % period, dc = (u + period / 2) % period;
                if (dj > period / 2) dj = period - dj;
                if (dc > period / 2) dc = period - dc;
                for (int c = 0; c < ri.channels; c++) {
                    double s = rb[i * ri.channels + c], e = mb[i * ri.channels + c] - s;
                    add(&all, s, e);
                    if (dj < w && u >= period - w) add(&join, s, e);
                    if (dc < w) add(&ctl, s, e);
                }
            }
        }
        printf("%s: %lld of %lld frames decoded\n", argv[k], (long long)mi.frames, (long long)ri.frames);
        show("joins", &join);
        show("control", &ctl);
        show("whole", &all);
        sf_close(r);
        sf_close(m);
    }
    return 0;
}
