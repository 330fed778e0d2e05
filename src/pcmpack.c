/* Lossless int16 packing (see include/coach/pcmpack.h). Each sample is
 * predicted from the ones before it by a fixed polynomial predictor of order
 * 0 to 3 (FLAC's), chosen per block of PCMPACK_BLOCK samples (2 bits); the
 * residual is zigzag-mapped to an unsigned value and Rice-coded with a
 * parameter k chosen per block too (5 bits). A quotient that would need
 * PCMPACK_ESCAPE or more unary bits is escaped: PCMPACK_ESCAPE ones, then the
 * value in PCMPACK_RAW_BITS bits. Bits are written most significant first. */
#include "coach/pcmpack.h"

#include <stdlib.h>

#include "coach/common.h"

#define PCMPACK_BLOCK 512
#define PCMPACK_ORDER_BITS 2
#define PCMPACK_K_BITS 5
#define PCMPACK_MAX_K 19
#define PCMPACK_ESCAPE 32
/* order 3: |prediction| <= 7 * 32768, |residual| < 2^18, zigzag < 2^19: 20 bits hold it */
#define PCMPACK_RAW_BITS 20

/* The fixed predictors; near the start of the clip, the highest order the
 * samples before allow. */
static int32_t predict(const int16_t *x, size_t i, unsigned order)
{
    if (order > i) order = (unsigned)i;
    switch (order) {
    case 0: return 0;
    case 1: return x[i - 1];
    case 2: return 2 * (int32_t)x[i - 1] - (int32_t)x[i - 2];
    default: return 3 * (int32_t)x[i - 1] - 3 * (int32_t)x[i - 2] + (int32_t)x[i - 3];
    }
}

static uint32_t zigzag(int32_t r) { return r >= 0 ? (uint32_t)r << 1 : ((uint32_t)(-(r + 1)) << 1) | 1u; }

static int32_t unzigzag(uint32_t u) { return (u & 1u) ? -(int32_t)(u >> 1) - 1 : (int32_t)(u >> 1); }

static uint64_t rice_bits(uint32_t u, unsigned k)
{
    uint32_t q = u >> k;
    return q < PCMPACK_ESCAPE ? q + 1 + k : PCMPACK_ESCAPE + PCMPACK_RAW_BITS;
}

static uint64_t block_bits(const int16_t *x, size_t lo, size_t hi, unsigned order, unsigned k)
{
    uint64_t bits = PCMPACK_ORDER_BITS + PCMPACK_K_BITS;
    for (size_t i = lo; i < hi; i++) bits += rice_bits(zigzag(x[i] - predict(x, i, order)), k);
    return bits;
}

/* The block's predictor (the one with the smallest residuals) and k (near
 * log2 of their mean, checked exactly one either side). */
static void block_params(const int16_t *x, size_t lo, size_t hi, unsigned *order_out,
                         unsigned *k_out, uint64_t *bits)
{
    uint64_t best_sum = UINT64_MAX;
    unsigned order = 0;
    for (unsigned o = 0; o <= 3; o++) {
        uint64_t sum = 0;
        for (size_t i = lo; i < hi; i++) sum += zigzag(x[i] - predict(x, i, o));
        if (sum < best_sum) {
            best_sum = sum;
            order = o;
        }
    }
    uint64_t mean = best_sum / (hi - lo);
    unsigned guess = 0;
    while (guess < PCMPACK_MAX_K && (2ull << guess) <= mean) guess++;
    unsigned best = guess;
    *bits = block_bits(x, lo, hi, order, guess);
    for (int d = -1; d <= 1; d += 2) {
        int k = (int)guess + d;
        if (k < 0 || k > PCMPACK_MAX_K) continue;
        uint64_t b = block_bits(x, lo, hi, order, (unsigned)k);
        if (b < *bits) {
            *bits = b;
            best = (unsigned)k;
        }
    }
    *order_out = order;
    *k_out = best;
}

struct bitwriter {
    uint8_t *p;
    size_t pos;
    uint64_t acc;
    int nacc; /* bits in acc not yet written, < 8 between calls */
};

static void put(struct bitwriter *w, uint32_t v, int nbits)
{
    if (!nbits) return;
    w->acc = (w->acc << nbits) | (v & (uint32_t)((1ull << nbits) - 1));
    w->nacc += nbits;
    while (w->nacc >= 8) {
        w->nacc -= 8;
        w->p[w->pos++] = (uint8_t)(w->acc >> w->nacc);
    }
}

int pcmpack_pack(const int16_t *in, size_t n, uint8_t **out, size_t *out_bytes)
{
    *out = NULL;
    *out_bytes = 0;
    if (!n) return 0;
    size_t blocks = (n + PCMPACK_BLOCK - 1) / PCMPACK_BLOCK;
    uint8_t *ks = malloc(blocks * 2); /* per block: order, k */
    if (!ks) return COACH_ENOMEM;
    uint64_t total = 0; /* exact size first, so the buffer is allocated once */
    for (size_t b = 0; b < blocks; b++) {
        size_t lo = b * PCMPACK_BLOCK, hi = lo + PCMPACK_BLOCK < n ? lo + PCMPACK_BLOCK : n;
        uint64_t bits;
        unsigned order, k;
        block_params(in, lo, hi, &order, &k, &bits);
        ks[2 * b] = (uint8_t)order;
        ks[2 * b + 1] = (uint8_t)k;
        total += bits;
    }
    size_t bytes = (size_t)((total + 7) / 8);
    struct bitwriter w = {.p = malloc(bytes)};
    if (!w.p) {
        free(ks);
        return COACH_ENOMEM;
    }
    for (size_t b = 0; b < blocks; b++) {
        size_t lo = b * PCMPACK_BLOCK, hi = lo + PCMPACK_BLOCK < n ? lo + PCMPACK_BLOCK : n;
        unsigned order = ks[2 * b], k = ks[2 * b + 1];
        put(&w, order, PCMPACK_ORDER_BITS);
        put(&w, k, PCMPACK_K_BITS);
        for (size_t i = lo; i < hi; i++) {
            uint32_t u = zigzag(in[i] - predict(in, i, order));
            uint32_t q = u >> k;
            if (q < PCMPACK_ESCAPE) {
                put(&w, (uint32_t)((1ull << (q + 1)) - 2), (int)q + 1); /* q ones, a zero */
                put(&w, u, (int)k);
            } else {
                put(&w, 0xFFFFFFFFu, PCMPACK_ESCAPE);
                put(&w, u, PCMPACK_RAW_BITS);
            }
        }
    }
    if (w.nacc) put(&w, 0, 8 - w.nacc); /* pad the last byte with zeros */
    free(ks);
    *out = w.p;
    *out_bytes = w.pos;
    return 0;
}

struct bitreader {
    const uint8_t *p;
    size_t len, pos;
    uint64_t acc;
    int nacc;
};

static int get(struct bitreader *r, int nbits, uint32_t *v)
{
    while (r->nacc < nbits) {
        if (r->pos >= r->len) return -1;
        r->acc = (r->acc << 8) | r->p[r->pos++];
        r->nacc += 8;
    }
    r->nacc -= nbits;
    *v = (uint32_t)((r->acc >> r->nacc) & ((1ull << nbits) - 1));
    return 0;
}

int pcmpack_unpack(const uint8_t *in, size_t in_bytes, int16_t *out, size_t n)
{
    struct bitreader r = {.p = in, .len = in_bytes};
    uint32_t order = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % PCMPACK_BLOCK == 0 &&
            (get(&r, PCMPACK_ORDER_BITS, &order) || get(&r, PCMPACK_K_BITS, &k) || k > PCMPACK_MAX_K))
            return COACH_EINVAL;
        uint32_t q = 0, bit = 1, u;
        while (q < PCMPACK_ESCAPE) {
            if (get(&r, 1, &bit)) return COACH_EINVAL;
            if (!bit) break;
            q++;
        }
        if (q < PCMPACK_ESCAPE) {
            uint32_t low;
            if (get(&r, (int)k, &low)) return COACH_EINVAL;
            u = (q << k) | low;
        } else if (get(&r, PCMPACK_RAW_BITS, &u)) {
            return COACH_EINVAL;
        }
        int32_t x = predict(out, i, order) + unzigzag(u);
        if (x < INT16_MIN || x > INT16_MAX) return COACH_EINVAL;
        out[i] = (int16_t)x;
    }
    return 0;
}
