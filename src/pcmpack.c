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

/* Residuals of the four predictors for samples lo..hi-1, zigzag-mapped,
 * into u[order][i - lo]; returns in sums[order] their totals. */
static void block_residuals(const int16_t *x, size_t lo, size_t hi, uint32_t u[4][PCMPACK_BLOCK],
                            uint64_t sums[4])
{
    sums[0] = sums[1] = sums[2] = sums[3] = 0;
    for (size_t i = lo; i < hi; i++) {
        size_t j = i - lo;
        if (i < 3) { /* the clip's first samples: what predict() allows */
            for (unsigned o = 0; o < 4; o++) u[o][j] = zigzag(x[i] - predict(x, i, o));
        } else {
            int32_t a = x[i], b = x[i - 1], c = x[i - 2], d = x[i - 3];
            u[0][j] = zigzag(a);
            u[1][j] = zigzag(a - b);
            u[2][j] = zigzag(a - 2 * b + c);
            u[3][j] = zigzag(a - 3 * b + 3 * c - d);
        }
        for (unsigned o = 0; o < 4; o++) sums[o] += u[o][j];
    }
}

static uint64_t rice_total(const uint32_t *u, size_t n, unsigned k)
{
    uint64_t bits = PCMPACK_ORDER_BITS + PCMPACK_K_BITS;
    for (size_t j = 0; j < n; j++) bits += rice_bits(u[j], k);
    return bits;
}

/* The block's k for residuals u: near log2 of their mean, checked exactly
 * one either side. */
static unsigned block_k(const uint32_t *u, size_t n, uint64_t sum)
{
    uint64_t mean = sum / n;
    unsigned guess = 0;
    while (guess < PCMPACK_MAX_K && (2ull << guess) <= mean) guess++;
    unsigned best = guess;
    uint64_t best_bits = rice_total(u, n, guess);
    for (int d = -1; d <= 1; d += 2) {
        int k = (int)guess + d;
        if (k < 0 || k > PCMPACK_MAX_K) continue;
        uint64_t b = rice_total(u, n, (unsigned)k);
        if (b < best_bits) {
            best_bits = b;
            best = (unsigned)k;
        }
    }
    return best;
}

struct bitwriter {
    uint8_t *p;
    size_t pos, cap;
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

/* Room for one more block, whatever its residuals. */
static int reserve_block(struct bitwriter *w)
{
    size_t worst = (PCMPACK_ORDER_BITS + PCMPACK_K_BITS +
                    (size_t)PCMPACK_BLOCK * (PCMPACK_ESCAPE + PCMPACK_RAW_BITS)) / 8 + 2;
    if (w->cap - w->pos >= worst) return 0;
    size_t cap = w->cap * 2 > w->pos + worst ? w->cap * 2 : w->pos + worst;
    uint8_t *p = realloc(w->p, cap);
    if (!p) return COACH_ENOMEM;
    w->p = p;
    w->cap = cap;
    return 0;
}

int pcmpack_pack(const int16_t *in, size_t n, uint8_t **out, size_t *out_bytes)
{
    *out = NULL;
    *out_bytes = 0;
    if (!n) return 0;
    uint32_t u[4][PCMPACK_BLOCK]; /* 8 KB of stack */
    /* speech packs to about 60 %: start there, grow if needed */
    struct bitwriter w = {.cap = n * 2 * 5 / 8 + 64};
    w.p = malloc(w.cap);
    if (!w.p) return COACH_ENOMEM;
    for (size_t lo = 0; lo < n; lo += PCMPACK_BLOCK) {
        size_t hi = lo + PCMPACK_BLOCK < n ? lo + PCMPACK_BLOCK : n, len = hi - lo;
        if (reserve_block(&w)) {
            free(w.p);
            return COACH_ENOMEM;
        }
        uint64_t sums[4];
        block_residuals(in, lo, hi, u, sums);
        unsigned order = 0; /* the predictor with the smallest residuals */
        for (unsigned o = 1; o < 4; o++)
            if (sums[o] < sums[order]) order = o;
        unsigned k = block_k(u[order], len, sums[order]);
        put(&w, order, PCMPACK_ORDER_BITS);
        put(&w, k, PCMPACK_K_BITS);
        for (size_t j = 0; j < len; j++) {
            uint32_t v = u[order][j], q = v >> k;
            if (q < PCMPACK_ESCAPE) {
                put(&w, (uint32_t)((1ull << (q + 1)) - 2), (int)q + 1); /* q ones, a zero */
                put(&w, v, (int)k);
            } else {
                put(&w, 0xFFFFFFFFu, PCMPACK_ESCAPE);
                put(&w, v, PCMPACK_RAW_BITS);
            }
        }
    }
    if (w.nacc) put(&w, 0, 8 - w.nacc); /* pad the last byte with zeros */
    uint8_t *fit = realloc(w.p, w.pos); /* give back what was not needed */
    *out = fit ? fit : w.p;
    *out_bytes = w.pos;
    return 0;
}

struct bitreader {
    const uint8_t *p;
    size_t len, pos;
    uint64_t acc; /* the low nacc bits are the next ones to read */
    int nacc;
};

static void refill(struct bitreader *r)
{
    while (r->nacc <= 56 && r->pos < r->len) {
        r->acc = (r->acc << 8) | r->p[r->pos++];
        r->nacc += 8;
    }
}

static int get(struct bitreader *r, int nbits, uint32_t *v)
{
    if (!nbits) { /* k = 0; and acc >> 64 would be undefined */
        *v = 0;
        return 0;
    }
    if (r->nacc < nbits) {
        refill(r);
        if (r->nacc < nbits) return -1;
    }
    r->nacc -= nbits;
    *v = (uint32_t)((r->acc >> r->nacc) & ((1ull << nbits) - 1));
    return 0;
}

/* A run of ones ended by a zero, at most PCMPACK_ESCAPE ones (an escape has
 * no zero): counted a word at a time. */
static int get_unary(struct bitreader *r, uint32_t *q)
{
    uint32_t n = 0;
    while (n < PCMPACK_ESCAPE) {
        if (!r->nacc) {
            refill(r);
            if (!r->nacc) return -1;
        }
        uint64_t top = r->acc << (64 - r->nacc); /* the unread bits, first one at bit 63 */
        int ones = ~top ? __builtin_clzll(~top) : 64;
        if (ones > r->nacc) ones = r->nacc;
        if ((uint32_t)ones >= PCMPACK_ESCAPE - n) { /* an escape */
            r->nacc -= (int)(PCMPACK_ESCAPE - n);
            n = PCMPACK_ESCAPE;
            break;
        }
        n += (uint32_t)ones;
        if (ones < r->nacc) { /* the zero that ends the run is here */
            r->nacc -= ones + 1;
            break;
        }
        r->nacc = 0; /* ones to the end of what was read: read on */
    }
    *q = n;
    return 0;
}

/* One Rice-coded value (or escape). The longest takes PCMPACK_ESCAPE +
 * PCMPACK_RAW_BITS bits: with that many at hand (all but the last values of
 * a clip), it is read with one count of leading ones and no more checks. */
static int get_value(struct bitreader *r, uint32_t k, uint32_t *u)
{
    if (r->nacc < 57) refill(r);
    if (r->nacc < PCMPACK_ESCAPE + PCMPACK_RAW_BITS) {
        uint32_t q, low;
        if (get_unary(r, &q)) return -1;
        if (q >= PCMPACK_ESCAPE) return get(r, PCMPACK_RAW_BITS, u);
        if (get(r, (int)k, &low)) return -1;
        *u = (q << k) | low;
        return 0;
    }
    uint64_t top = r->acc << (64 - r->nacc);
    int ones = ~top ? __builtin_clzll(~top) : 64;
    if (ones >= PCMPACK_ESCAPE) {
        r->nacc -= PCMPACK_ESCAPE + PCMPACK_RAW_BITS;
        *u = (uint32_t)((r->acc >> r->nacc) & ((1u << PCMPACK_RAW_BITS) - 1));
        return 0;
    }
    r->nacc -= ones + 1 + (int)k;
    *u = ((uint32_t)ones << k) | (uint32_t)((r->acc >> r->nacc) & ((1ull << k) - 1));
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
        uint32_t u;
        if (get_value(&r, k, &u)) return COACH_EINVAL;
        int32_t x = predict(out, i, order) + unzigzag(u);
        if (x < INT16_MIN || x > INT16_MAX) return COACH_EINVAL;
        out[i] = (int16_t)x;
    }
    return 0;
}
