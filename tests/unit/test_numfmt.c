/* test_numfmt: doubles and integers as JSON text. Every double written reads back bit for bit
 * (random bit patterns over every exponent, subnormals, the extremes, integers, decimal
 * fractions, powers of two and ten), is valid JSON number text with at most 17 significant
 * digits, and almost always as short as the shortest %.{1..17}g form that reads back (where
 * the shortest digits lie at the very edge of the rounding interval, Grisu2 may miss them and
 * write more); integers as printf. And the reading of number lists ("0.5,-1,2e-3"). */
#include <check.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_numfmt.h"
#include "hpo_rng.h"

/* The shortest %.Ng (N = 1..17) that reads back as v: its significant digits' count. */
static int shortest_digits(double v)
{
    char s[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v)
            return prec;
    }
    return 17;
}

/* Significant digits of our output (mantissa digits without leading zeros). */
static int our_digits(const char *s)
{
    int n = 0, lead = 1, trailing_zeros = 0;
    for (const char *p = s; *p && *p != 'e'; p++) {
        if (*p < '0' || *p > '9')
            continue;
        if (lead && *p == '0')
            continue;
        lead = 0;
        n++;
        trailing_zeros = *p == '0' ? trailing_zeros + 1 : 0;
    }
    /* "12000": the zeros of an integral form are not significant digits */
    if (!strchr(s, '.') && !strchr(s, 'e'))
        n -= trailing_zeros;
    return n ? n : 1;
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return 0;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static long g_longer; /* outputs with more digits than the shortest */

static void check_one(double v)
{
    char s[HPO_NUMFMT_MAX];
    memset(s, 'x', sizeof s);
    size_t n = hpo_numfmt_double(v, s);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_lt(n, HPO_NUMFMT_MAX);
    ck_assert_uint_eq(strlen(s), n);
    ck_assert_msg(json_number(s), "not a JSON number: %s (%a)", s, v);
    double back = strtod(s, NULL);
    ck_assert_msg(memcmp(&back, &v, sizeof v) == 0, "%s reads back as %a, not %a", s, back, v);
    int ours = our_digits(s), best = shortest_digits(v);
    ck_assert_msg(ours <= 17, "%s: %d digits (%a)", s, ours, v);
    if (ours > best)
        g_longer++;
}

START_TEST(known_forms)
{
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0.0, "0"},          {-0.0, "-0"},         {1.0, "1"},           {-3.0, "-3"},
        {0.1, "0.1"},        {0.3, "0.3"},         {1.5, "1.5"},         {123456.0, "123456"},
        {1e16, "10000000000000000"}, {1e17, "1e+17"}, {1.25e20, "1.25e+20"}, {1e-5, "0.00001"},
        {1.5e-5, "0.000015"}, {1e-7, "1e-7"},      {2.5e-300, "2.5e-300"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {0.30000000000000004, "0.30000000000000004"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"}, {-12.375, "-12.375"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char s[HPO_NUMFMT_MAX];
        hpo_numfmt_double(cases[i].v, s);
        ck_assert_str_eq(s, cases[i].s);
        check_one(cases[i].v);
    }
    char s[HPO_NUMFMT_MAX];
    ck_assert_uint_eq(hpo_numfmt_double(NAN, s), 0);
    ck_assert_uint_eq(hpo_numfmt_double(INFINITY, s), 0);
    ck_assert_uint_eq(hpo_numfmt_double(-INFINITY, s), 0);
}
END_TEST

START_TEST(reads_back)
{
    hpo_rng rng;
    hpo_rng_seed(&rng, 20261206);
    long n = 0;
    g_longer = 0;
    for (int i = 0; i < 200000; i++) { /* random bit patterns: every exponent, subnormals */
        uint64_t bits = hpo_rng_u64(&rng);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        check_one(v);
        n++;
    }
    for (int e = -1074; e <= 1023; e++) { /* powers of two and their neighbours */
        double p = ldexp(1.0, e);
        check_one(p);
        check_one(nextafter(p, 0));
        check_one(nextafter(p, INFINITY));
        n += 3;
    }
    for (int e = -323; e <= 308; e++) { /* powers of ten */
        check_one(pow(10.0, e));
        n++;
    }
    for (int i = 0; i < 50000; i++) { /* short decimals, integers, values in [0, 1) */
        check_one((double)(hpo_rng_u64(&rng) % 1000000) / 1000.0);
        check_one((double)(int64_t)(hpo_rng_u64(&rng) >> 11));
        check_one(hpo_rng_uniform(&rng));
        n += 3;
    }
    check_one(DBL_MAX);
    check_one(DBL_MIN);
    check_one(DBL_TRUE_MIN);
    /* Grisu2 is shortest in nearly every case (Loitsch reports 99.9 %) */
    ck_assert_msg(g_longer * 1000 < n, "%ld of %ld not shortest", g_longer, n);
}
END_TEST

START_TEST(integers)
{
    static const int64_t cases[] = {0, 1, -1, 9, 10, 99, 100, 123456789, -987654321,
                                    INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char s[HPO_NUMFMT_MAX], want[32];
        snprintf(want, sizeof want, "%" PRId64, cases[i]);
        ck_assert_uint_eq(hpo_numfmt_int(cases[i], s), strlen(want));
        ck_assert_str_eq(s, want);
    }
}
END_TEST

START_TEST(number_lists)
{
    double v[4];
    const char *ok = "0.5,-1,2e-3";
    ck_assert_uint_eq(hpo_numfmt_parse_list(ok, strlen(ok), v, 4), 3);
    ck_assert(v[0] == 0.5 && v[1] == -1.0 && v[2] == 2e-3);
    ck_assert_uint_eq(hpo_numfmt_parse_list("7", 1, v, 1), 1);
    ck_assert(v[0] == 7.0);
    ck_assert_uint_eq(hpo_numfmt_parse_list("1,2,3,4", 7, v, 4), 4);
    /* only the n bytes given are read: "1,2" of "1,2,junk" */
    ck_assert_uint_eq(hpo_numfmt_parse_list("1,2,junk", 3, v, 4), 2);
    ck_assert(v[1] == 2.0);
    static const char *const bad[] = {
        "", ",", "1,", ",1", "1,,2", "1, 2", " 1", "1 ", "x", "1,x", "0.5x", "nan", "1,inf",
        "-Infinity", "1e999", "1;2", "1,2,3,4,5",
        "1.00000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000", /* 130 characters */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(hpo_numfmt_parse_list(bad[i], strlen(bad[i]), v, 4) == 0, "'%s' read",
                      bad[i]);
    ck_assert_uint_eq(hpo_numfmt_parse_list("1\0002", 3, v, 4), 0); /* a NUL inside */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("numfmt");
    TCase *tc = tcase_create("numfmt");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, known_forms);
    tcase_add_test(tc, reads_back);
    tcase_add_test(tc, integers);
    tcase_add_test(tc, number_lists);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
