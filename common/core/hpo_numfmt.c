/* hpo_numfmt: doubles and integers as JSON text (see the header). The double's digits come from
 * Grisu2: v and the two ends of its rounding interval are scaled by a cached power of ten into
 * a 64-bit window, then digits of the upper end are generated until the rest falls inside the
 * interval (narrowed by one unit at each end for the errors of the scaling), and the last digit
 * is moved toward v while that stays inside. */
#include "hpo_numfmt.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A number f · 2^e. */
typedef struct {
    uint64_t f;
    int e;
} fp;

/* 10^k ≈ f · 2^e, f normalised (top bit set) and rounded to nearest, for k = -348, -340, ..., 340:
 * consecutive entries are 8 decimal (about 26.6 binary) orders apart. */
static const struct {
    uint64_t f;
    int e, k;
} POW10[] = {
    {0xfa8fd5a0081c0288u, -1220, -348},
    {0xbaaee17fa23ebf76u, -1193, -340},
    {0x8b16fb203055ac76u, -1166, -332},
    {0xcf42894a5dce35eau, -1140, -324},
    {0x9a6bb0aa55653b2du, -1113, -316},
    {0xe61acf033d1a45dfu, -1087, -308},
    {0xab70fe17c79ac6cau, -1060, -300},
    {0xff77b1fcbebcdc4fu, -1034, -292},
    {0xbe5691ef416bd60cu, -1007, -284},
    {0x8dd01fad907ffc3cu, -980, -276},
    {0xd3515c2831559a83u, -954, -268},
    {0x9d71ac8fada6c9b5u, -927, -260},
    {0xea9c227723ee8bcbu, -901, -252},
    {0xaecc49914078536du, -874, -244},
    {0x823c12795db6ce57u, -847, -236},
    {0xc21094364dfb5637u, -821, -228},
    {0x9096ea6f3848984fu, -794, -220},
    {0xd77485cb25823ac7u, -768, -212},
    {0xa086cfcd97bf97f4u, -741, -204},
    {0xef340a98172aace5u, -715, -196},
    {0xb23867fb2a35b28eu, -688, -188},
    {0x84c8d4dfd2c63f3bu, -661, -180},
    {0xc5dd44271ad3cdbau, -635, -172},
    {0x936b9fcebb25c996u, -608, -164},
    {0xdbac6c247d62a584u, -582, -156},
    {0xa3ab66580d5fdaf6u, -555, -148},
    {0xf3e2f893dec3f126u, -529, -140},
    {0xb5b5ada8aaff80b8u, -502, -132},
    {0x87625f056c7c4a8bu, -475, -124},
    {0xc9bcff6034c13053u, -449, -116},
    {0x964e858c91ba2655u, -422, -108},
    {0xdff9772470297ebdu, -396, -100},
    {0xa6dfbd9fb8e5b88fu, -369, -92},
    {0xf8a95fcf88747d94u, -343, -84},
    {0xb94470938fa89bcfu, -316, -76},
    {0x8a08f0f8bf0f156bu, -289, -68},
    {0xcdb02555653131b6u, -263, -60},
    {0x993fe2c6d07b7facu, -236, -52},
    {0xe45c10c42a2b3b06u, -210, -44},
    {0xaa242499697392d3u, -183, -36},
    {0xfd87b5f28300ca0eu, -157, -28},
    {0xbce5086492111aebu, -130, -20},
    {0x8cbccc096f5088ccu, -103, -12},
    {0xd1b71758e219652cu, -77, -4},
    {0x9c40000000000000u, -50, 4},
    {0xe8d4a51000000000u, -24, 12},
    {0xad78ebc5ac620000u, 3, 20},
    {0x813f3978f8940984u, 30, 28},
    {0xc097ce7bc90715b3u, 56, 36},
    {0x8f7e32ce7bea5c70u, 83, 44},
    {0xd5d238a4abe98068u, 109, 52},
    {0x9f4f2726179a2245u, 136, 60},
    {0xed63a231d4c4fb27u, 162, 68},
    {0xb0de65388cc8ada8u, 189, 76},
    {0x83c7088e1aab65dbu, 216, 84},
    {0xc45d1df942711d9au, 242, 92},
    {0x924d692ca61be758u, 269, 100},
    {0xda01ee641a708deau, 295, 108},
    {0xa26da3999aef774au, 322, 116},
    {0xf209787bb47d6b85u, 348, 124},
    {0xb454e4a179dd1877u, 375, 132},
    {0x865b86925b9bc5c2u, 402, 140},
    {0xc83553c5c8965d3du, 428, 148},
    {0x952ab45cfa97a0b3u, 455, 156},
    {0xde469fbd99a05fe3u, 481, 164},
    {0xa59bc234db398c25u, 508, 172},
    {0xf6c69a72a3989f5cu, 534, 180},
    {0xb7dcbf5354e9beceu, 561, 188},
    {0x88fcf317f22241e2u, 588, 196},
    {0xcc20ce9bd35c78a5u, 614, 204},
    {0x98165af37b2153dfu, 641, 212},
    {0xe2a0b5dc971f303au, 667, 220},
    {0xa8d9d1535ce3b396u, 694, 228},
    {0xfb9b7cd9a4a7443cu, 720, 236},
    {0xbb764c4ca7a44410u, 747, 244},
    {0x8bab8eefb6409c1au, 774, 252},
    {0xd01fef10a657842cu, 800, 260},
    {0x9b10a4e5e9913129u, 827, 268},
    {0xe7109bfba19c0c9du, 853, 276},
    {0xac2820d9623bf429u, 880, 284},
    {0x80444b5e7aa7cf85u, 907, 292},
    {0xbf21e44003acdd2du, 933, 300},
    {0x8e679c2f5e44ff8fu, 960, 308},
    {0xd433179d9c8cb841u, 986, 316},
    {0x9e19db92b4e31ba9u, 1013, 324},
    {0xeb96bf6ebadf77d9u, 1039, 332},
    {0xaf87023b9bf0ee6bu, 1066, 340},
};
#define N_POW10 (sizeof POW10 / sizeof POW10[0])

/* The product's high 64 bits, rounded (from four 32-bit partial products). */
static fp fp_mul(fp a, fp b)
{
    const uint64_t M = 0xffffffffu;
    uint64_t a1 = a.f >> 32, a0 = a.f & M, b1 = b.f >> 32, b0 = b.f & M;
    uint64_t hh = a1 * b1, hl = a1 * b0, lh = a0 * b1, ll = a0 * b0;
    uint64_t mid = (ll >> 32) + (hl & M) + (lh & M) + ((uint64_t)1 << 31); /* rounds */
    return (fp){hh + (hl >> 32) + (lh >> 32) + (mid >> 32), a.e + b.e + 64};
}

static fp fp_normalize(fp x)
{
    int s = __builtin_clzll(x.f);
    return (fp){x.f << s, x.e - s};
}

/* Window for the scaled upper end's exponent: its integral part (64 + e bits) then fits in 32
 * bits and the fraction keeps at least 32 bits. */
enum { ALPHA = -60, GAMMA = -32 };

static int pow10_index(int e)
{
    /* the smallest k with k · log2(10) − 63 + e + 64 ≥ ALPHA, a guess then corrected */
    int k = (int)((ALPHA - 1 - e) * 0.30102999566398114) + 1;
    int i = (k + 348 + 7) / 8;
    if (i < 0)
        i = 0;
    if (i >= (int)N_POW10)
        i = (int)N_POW10 - 1;
    while (i + 1 < (int)N_POW10 && POW10[i].e + e + 64 < ALPHA)
        i++;
    while (i > 0 && POW10[i].e + e + 64 > GAMMA)
        i--;
    return i;
}

static const uint32_t POW10_32[] = {1,      10,      100,      1000,      10000,
                                    100000, 1000000, 10000000, 100000000, 1000000000};

static int digits32(uint32_t x)
{
    int n = 1;
    while (n < 10 && x >= POW10_32[n])
        n++;
    return n;
}

/* Moves the last digit down (toward v) while the result stays in the interval and gets closer
 * to v. rest: upper end − digits; dist: upper end − v; delta: the interval's width; unit: one
 * step of the last digit; all in the same scale. */
static void weed(char *buf, int len, uint64_t dist, uint64_t delta, uint64_t rest, uint64_t unit)
{
    while (rest < dist && delta - rest >= unit &&
           (rest + unit < dist || dist - rest > rest + unit - dist)) {
        buf[len - 1]--;
        rest += unit;
    }
}

/* The digits (buf, *len) and decimal exponent (*k) of a value in (lo, hi) close to w. */
static void digits(fp w, fp lo, fp hi, char *buf, int *len, int *k)
{
    const fp one = {(uint64_t)1 << -hi.e, hi.e};
    uint64_t delta = hi.f - lo.f, dist = hi.f - w.f;
    uint32_t p1 = (uint32_t)(hi.f >> -one.e);
    uint64_t p2 = hi.f & (one.f - 1);
    int kappa = p1 ? digits32(p1) : 0;
    *len = 0;
    while (kappa > 0) {
        uint32_t pw = POW10_32[kappa - 1];
        uint32_t d = p1 / pw;
        p1 %= pw;
        kappa--;
        if (d || *len)
            buf[(*len)++] = (char)('0' + d);
        uint64_t rest = ((uint64_t)p1 << -one.e) + p2;
        if (rest <= delta) {
            *k += kappa;
            weed(buf, *len, dist, delta, rest, (uint64_t)pw << -one.e);
            return;
        }
    }
    for (;;) {
        p2 *= 10;
        delta *= 10;
        dist *= 10;
        uint32_t d = (uint32_t)(p2 >> -one.e);
        if (d || *len)
            buf[(*len)++] = (char)('0' + d);
        p2 &= one.f - 1;
        kappa--;
        if (p2 < delta) {
            *k += kappa;
            weed(buf, *len, dist, delta, p2, one.f);
            return;
        }
    }
}

/* Positive finite v as digits × 10^k. */
static void grisu2(double v, char *buf, int *len, int *k)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t frac = bits & (((uint64_t)1 << 52) - 1);
    int bexp = (int)(bits >> 52 & 0x7ff);
    fp w = bexp ? (fp){frac | (uint64_t)1 << 52, bexp - 1075} : (fp){frac, -1074};
    /* the rounding interval's ends, halfway to the neighbours (closer below at a power of two) */
    fp hi = fp_normalize((fp){(w.f << 1) + 1, w.e - 1});
    fp lo = frac == 0 && bexp > 1 ? (fp){(w.f << 2) - 1, w.e - 2} : (fp){(w.f << 1) - 1, w.e - 1};
    lo.f <<= lo.e - hi.e;
    lo.e = hi.e;
    w = fp_normalize(w);
    int i = pow10_index(hi.e);
    fp c = {POW10[i].f, POW10[i].e};
    fp sw = fp_mul(w, c), shi = fp_mul(hi, c), slo = fp_mul(lo, c);
    /* each product may be off by one unit: narrow the interval so that it stays inside */
    slo.f++;
    shi.f--;
    *k = -POW10[i].k;
    digits(sw, slo, shi, buf, len, k);
}

static char *put_exp(char *p, int e)
{
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    unsigned u = (unsigned)(e < 0 ? -e : e);
    if (u >= 100)
        *p++ = (char)('0' + u / 100);
    if (u >= 10)
        *p++ = (char)('0' + u / 10 % 10);
    *p++ = (char)('0' + u % 10);
    return p;
}

size_t hpo_numfmt_double(double v, char out[HPO_NUMFMT_MAX])
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits >> 52 & 0x7ff) == 0x7ff)
        return 0;
    char *p = out;
    if (bits >> 63) {
        *p++ = '-';
        v = -v;
    }
    if (v == 0) {
        *p++ = '0';
        *p = '\0';
        return (size_t)(p - out);
    }
    char d[20];
    int len, k;
    grisu2(v, d, &len, &k);
    int point = len + k; /* v = 0.d1d2... × 10^point */
    if (k >= 0 && point <= 17) { /* integral: digits and zeros */
        memcpy(p, d, (size_t)len);
        p += len;
        memset(p, '0', (size_t)k);
        p += k;
    } else if (point > 0 && point <= 17) { /* ddd.ddd */
        memcpy(p, d, (size_t)point);
        p += point;
        *p++ = '.';
        memcpy(p, d + point, (size_t)(len - point));
        p += len - point;
    } else if (point > -5 && point <= 0) { /* 0.000ddd */
        *p++ = '0';
        *p++ = '.';
        memset(p, '0', (size_t)-point);
        p += -point;
        memcpy(p, d, (size_t)len);
        p += len;
    } else { /* d.ddde±x */
        *p++ = d[0];
        if (len > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)(len - 1));
            p += len - 1;
        }
        p = put_exp(p, point - 1);
    }
    *p = '\0';
    return (size_t)(p - out);
}

size_t hpo_numfmt_int(int64_t v, char out[HPO_NUMFMT_MAX])
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    char *p = out;
    if (v < 0)
        *p++ = '-';
    while (n)
        *p++ = tmp[--n];
    *p = '\0';
    return (size_t)(p - out);
}

size_t hpo_numfmt_parse_list(const char *s, size_t n, double *ret, size_t max)
{
    size_t count = 0;
    const char *end = s + n;
    for (const char *p = s;; p++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        size_t len = (size_t)(stop - p);
        char buf[128];
        if (count == max || len == 0 || len >= sizeof buf || isspace((unsigned char)*p))
            return 0; /* (strtod would skip leading white space: the list has none) */
        memcpy(buf, p, len);
        buf[len] = '\0';
        char *e;
        double v = strtod(buf, &e);
        if (e != buf + len || !isfinite(v)) /* (a NUL inside ends strtod early, too) */
            return 0;
        ret[count++] = v;
        if (!comma)
            return count;
        p = comma;
    }
}
