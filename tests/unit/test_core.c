/* test_core: unit tests for common/core (errors, buffer, distributions and their validation,
 * rng, clock, model helpers). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_buf.h"
#include "hpo_clock.h"
#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_rng.h"
#include "hpo_space.h"

/* ---- helpers ---- */

static hpo_dist float_dist(double low, double high, double step, bool log)
{
    return (hpo_dist){ .type = HPO_DIST_FLOAT, .low = low, .high = high, .step = step, .log = log };
}

static hpo_dist int_dist(double low, double high, double step, bool log)
{
    return (hpo_dist){ .type = HPO_DIST_INT, .low = low, .high = high, .step = step, .log = log };
}

static hpo_choice str_choice(const char *s)
{
    return (hpo_choice){ .kind = HPO_CHOICE_STRING, .str = (char *)s };
}

static hpo_choice num_choice(double x, bool integer)
{
    return (hpo_choice){ .kind = HPO_CHOICE_NUMBER, .number = x, .integer = integer };
}

/* Validates d under field "search_space.x" and checks the failing field and message. */
static void expect_invalid(const hpo_dist *d, const char *field, const char *needle)
{
    hpo_error err;
    hpo_error_clear(&err);
    ck_assert_int_eq(hpo_dist_validate(d, "search_space.x", &err), HPO_E_INVALID);
    ck_assert_int_eq(err.code, HPO_E_INVALID);
    ck_assert_str_eq(err.field, field);
    ck_assert_msg(strstr(err.message, needle) != NULL, "message \"%s\" lacks \"%s\"", err.message,
                  needle);
}

static void expect_valid(const hpo_dist *d)
{
    hpo_error err;
    hpo_error_clear(&err);
    hpo_rc rc = hpo_dist_validate(d, "search_space.x", &err);
    ck_assert_msg(rc == HPO_OK, "unexpected error at %s: %s", err.field, err.message);
}

/* ---- errors ---- */

START_TEST(test_rc_names)
{
    ck_assert_str_eq(hpo_rc_name(HPO_OK), "ok");
    ck_assert_str_eq(hpo_rc_name(HPO_E_INVALID), "invalid_argument");
    ck_assert_str_eq(hpo_rc_name(HPO_E_NOT_FOUND), "not_found");
    ck_assert_str_eq(hpo_rc_name(HPO_E_EXISTS), "already_exists");
    ck_assert_str_eq(hpo_rc_name(HPO_E_CONFLICT), "conflict");
    ck_assert_str_eq(hpo_rc_name(HPO_E_FINISHED), "trial_finished");
    ck_assert_str_eq(hpo_rc_name(HPO_E_COMPLETE), "study_complete");
    ck_assert_str_eq(hpo_rc_name(HPO_E_TOO_LARGE), "too_large");
    ck_assert_str_eq(hpo_rc_name(HPO_E_UNAVAILABLE), "unavailable");
    ck_assert_str_eq(hpo_rc_name(HPO_E_NOMEM), "internal");
    ck_assert_str_eq(hpo_rc_name(HPO_E_INTERNAL), "internal");
    ck_assert_str_eq(hpo_rc_name(HPO_E_NO_WORK), "no_work");
    ck_assert_str_eq(hpo_rc_name((hpo_rc)-99), "internal");
}
END_TEST

START_TEST(test_error_set_clear)
{
    hpo_error err;
    ck_assert_int_eq(hpo_error_set(&err, HPO_E_NOT_FOUND, "study", "no study %s", "s1"),
                     HPO_E_NOT_FOUND);
    ck_assert_int_eq(err.code, HPO_E_NOT_FOUND);
    ck_assert_str_eq(err.message, "no study s1");
    ck_assert_str_eq(err.field, "study");
    hpo_error_set(&err, HPO_E_INVALID, NULL, "x");
    ck_assert_str_eq(err.field, "");
    hpo_error_clear(&err);
    ck_assert_int_eq(err.code, HPO_OK);
    ck_assert_str_eq(err.message, "");
    ck_assert_int_eq(hpo_error_set(NULL, HPO_E_CONFLICT, "f", "m"), HPO_E_CONFLICT);
    hpo_error_clear(NULL);
    /* Over-long messages are truncated, never overflowed. */
    char big[2 * HPO_ERROR_MESSAGE_MAX];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    hpo_error_set(&err, HPO_E_INVALID, big, "%s", big);
    ck_assert_uint_eq(strlen(err.message), HPO_ERROR_MESSAGE_MAX - 1);
    ck_assert_uint_eq(strlen(err.field), HPO_ERROR_FIELD_MAX - 1);
}
END_TEST

/* ---- buffer ---- */

START_TEST(test_buf_append)
{
    hpo_buf b;
    hpo_buf_init(&b, 1 << 20);
    ck_assert_int_eq(hpo_buf_append(&b, "abc", 3), HPO_OK);
    ck_assert_int_eq(hpo_buf_appendf(&b, "-%d-%s", 42, "x"), HPO_OK);
    ck_assert_str_eq(b.data, "abc-42-x");
    ck_assert_uint_eq(b.len, 8);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(hpo_buf_append(&b, "0123456789", 10), HPO_OK);
    ck_assert_uint_eq(b.len, 10008);
    ck_assert_int_eq(b.data[b.len], '\0');
    ck_assert_int_eq(memcmp(b.data + 9998, "0123456789", 10), 0);
    hpo_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    ck_assert_ptr_nonnull(b.data);
    hpo_buf_free(&b);
    ck_assert_ptr_null(b.data);
    hpo_buf_free(&b);
}
END_TEST

START_TEST(test_buf_max)
{
    hpo_buf b;
    hpo_buf_init(&b, 10);
    ck_assert_int_eq(hpo_buf_append(&b, "12345678", 8), HPO_OK);
    ck_assert_int_eq(hpo_buf_append(&b, "abc", 3), HPO_E_TOO_LARGE);
    ck_assert_uint_eq(b.len, 8);
    ck_assert_str_eq(b.data, "12345678");
    ck_assert_int_eq(hpo_buf_appendf(&b, "%s", "xyz"), HPO_E_TOO_LARGE);
    ck_assert_str_eq(b.data, "12345678");
    ck_assert_int_eq(hpo_buf_append(&b, "90", 2), HPO_OK);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_int_eq(hpo_buf_append(&b, "", 0), HPO_OK);
    ck_assert_int_eq(hpo_buf_append(&b, "x", 1), HPO_E_TOO_LARGE);
    ck_assert_int_eq(hpo_buf_append(&b, "x", SIZE_MAX), HPO_E_TOO_LARGE);
    ck_assert_str_eq(b.data, "1234567890");
    hpo_buf_free(&b);

    hpo_buf z;
    hpo_buf_init(&z, 0);
    ck_assert_int_eq(hpo_buf_append(&z, "a", 1), HPO_E_TOO_LARGE);
    hpo_buf_free(&z);
}
END_TEST

/* ---- distribution validation ---- */

START_TEST(test_validate_float)
{
    hpo_dist d = float_dist(0, 1, 0, false);
    expect_valid(&d);
    d = float_dist(1e-5, 1e-1, 0, true);
    expect_valid(&d);
    d = float_dist(0, 1, 0.1, false);
    expect_valid(&d);
    d = float_dist(0.5, 0.5, 0, false);
    expect_valid(&d);
    d = float_dist(-1, 2, 0.25, false);
    expect_valid(&d);

    d = float_dist(2, 1, 0, false);
    expect_invalid(&d, "search_space.x.low", "greater than high");
    d = float_dist(NAN, 1, 0, false);
    expect_invalid(&d, "search_space.x.low", "finite");
    d = float_dist(0, INFINITY, 0, false);
    expect_invalid(&d, "search_space.x.high", "finite");
    d = float_dist(0, 1, 0, true);
    expect_invalid(&d, "search_space.x.low", "> 0 when log");
    d = float_dist(-1, 1, 0, true);
    expect_invalid(&d, "search_space.x.low", "> 0 when log");
    d = float_dist(0.1, 1, 0.1, true);
    expect_invalid(&d, "search_space.x.step", "log");
    d = float_dist(0, 1, -0.5, false);
    expect_invalid(&d, "search_space.x.step", "> 0");
    d = float_dist(0, 1, NAN, false);
    expect_invalid(&d, "search_space.x.step", "> 0");
    d = float_dist(0, 1, 0.3, false);
    expect_invalid(&d, "search_space.x.step", "does not fit the range");
}
END_TEST

START_TEST(test_validate_int)
{
    hpo_dist d = int_dist(1, 8, 1, false);
    expect_valid(&d);
    d = int_dist(0, 10, 2, false);
    expect_valid(&d);
    d = int_dist(1, 1024, 1, true);
    expect_valid(&d);
    d = int_dist(-5, 5, 5, false);
    expect_valid(&d);

    d = int_dist(1.5, 8, 1, false);
    expect_invalid(&d, "search_space.x.low", "integer");
    d = int_dist(1, 8.25, 1, false);
    expect_invalid(&d, "search_space.x.high", "integer");
    d = int_dist(8, 1, 1, false);
    expect_invalid(&d, "search_space.x.low", "greater than high");
    d = int_dist(1, 8, 0, false);
    expect_invalid(&d, "search_space.x.step", ">= 1");
    d = int_dist(1, 8, 1.5, false);
    expect_invalid(&d, "search_space.x.step", "integer");
    d = int_dist(0, 10, 3, false);
    expect_invalid(&d, "search_space.x.step", "does not fit the range");
    d = int_dist(0, 8, 1, true);
    expect_invalid(&d, "search_space.x.low", ">= 1 when log");
    d = int_dist(1, 9, 2, true);
    expect_invalid(&d, "search_space.x.step", "log");
    d = int_dist(1, 1e300, 1, false);
    expect_invalid(&d, "search_space.x.high", "integer");
}
END_TEST

START_TEST(test_validate_categorical)
{
    hpo_choice ok[] = { str_choice("a"), num_choice(1, true), num_choice(2.5, false),
                        { .kind = HPO_CHOICE_BOOL, .boolean = true }, { .kind = HPO_CHOICE_NULL } };
    hpo_dist d = { .type = HPO_DIST_CATEGORICAL, .n_choices = 5, .choices = ok };
    expect_valid(&d);

    hpo_dist empty = { .type = HPO_DIST_CATEGORICAL };
    expect_invalid(&empty, "search_space.x.choices", "at least one");

    hpo_choice dup[] = { str_choice("a"), str_choice("b"), str_choice("a") };
    d = (hpo_dist){ .type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = dup };
    expect_invalid(&d, "search_space.x.choices[2]", "duplicate");

    /* 1 and 1.0 are the same number. */
    hpo_choice dupnum[] = { num_choice(1, true), num_choice(1.0, false) };
    d = (hpo_dist){ .type = HPO_DIST_CATEGORICAL, .n_choices = 2, .choices = dupnum };
    expect_invalid(&d, "search_space.x.choices[1]", "duplicate");

    /* "1", 1, true and null are all different. */
    hpo_choice mixed[] = { str_choice("1"), num_choice(1, true),
                           { .kind = HPO_CHOICE_BOOL, .boolean = true },
                           { .kind = HPO_CHOICE_BOOL, .boolean = false }, { .kind = HPO_CHOICE_NULL } };
    d = (hpo_dist){ .type = HPO_DIST_CATEGORICAL, .n_choices = 5, .choices = mixed };
    expect_valid(&d);

    hpo_choice nan[] = { num_choice(NAN, false) };
    d = (hpo_dist){ .type = HPO_DIST_CATEGORICAL, .n_choices = 1, .choices = nan };
    expect_invalid(&d, "search_space.x.choices[0]", "finite");

    hpo_dist bad = { .type = (hpo_dist_type)7 };
    expect_invalid(&bad, "search_space.x.type", "type");
}
END_TEST

START_TEST(test_validate_no_field)
{
    hpo_error err;
    hpo_dist d = float_dist(2, 1, 0, false);
    ck_assert_int_eq(hpo_dist_validate(&d, NULL, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "low");
    ck_assert_int_eq(hpo_dist_validate(&d, "", &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "low");
    ck_assert_int_eq(hpo_dist_validate(&d, "p", NULL), HPO_E_INVALID);
}
END_TEST

/* ---- contains / to_internal / round ---- */

START_TEST(test_contains)
{
    hpo_dist f = float_dist(0, 1, 0, false);
    ck_assert(hpo_dist_contains(&f, 0));
    ck_assert(hpo_dist_contains(&f, 1));
    ck_assert(hpo_dist_contains(&f, 0.123));
    ck_assert(!hpo_dist_contains(&f, 1.0000001));
    ck_assert(!hpo_dist_contains(&f, -0.1));
    ck_assert(!hpo_dist_contains(&f, NAN));

    hpo_dist fs = float_dist(0, 1, 0.1, false);
    ck_assert(hpo_dist_contains(&fs, 0.3));  /* 0.3 is not exactly 3*0.1 in binary */
    ck_assert(hpo_dist_contains(&fs, 0.7));
    ck_assert(hpo_dist_contains(&fs, 1.0));
    ck_assert(!hpo_dist_contains(&fs, 0.35));
    ck_assert(!hpo_dist_contains(&fs, 0.31));

    hpo_dist i = int_dist(0, 10, 2, false);
    ck_assert(hpo_dist_contains(&i, 4));
    ck_assert(hpo_dist_contains(&i, 10));
    ck_assert(!hpo_dist_contains(&i, 5));
    ck_assert(!hpo_dist_contains(&i, 4.5));
    ck_assert(!hpo_dist_contains(&i, 12));

    hpo_choice cs[] = { str_choice("a"), str_choice("b") };
    hpo_dist c = { .type = HPO_DIST_CATEGORICAL, .n_choices = 2, .choices = cs };
    ck_assert(hpo_dist_contains(&c, 0));
    ck_assert(hpo_dist_contains(&c, 1));
    ck_assert(!hpo_dist_contains(&c, 2));
    ck_assert(!hpo_dist_contains(&c, -1));
    ck_assert(!hpo_dist_contains(&c, 0.5));
}
END_TEST

START_TEST(test_to_internal)
{
    hpo_error err;
    double v = -1;
    hpo_dist fs = float_dist(0, 1, 0.25, false);
    ck_assert_int_eq(hpo_dist_number_to_internal(&fs, 0.75, "params.x", &v, &err), HPO_OK);
    ck_assert_double_eq(v, 0.75);
    v = -1;
    ck_assert_int_eq(hpo_dist_number_to_internal(&fs, 0.8, "params.x", &v, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "params.x");
    ck_assert_ptr_nonnull(strstr(err.message, "step"));
    ck_assert_double_eq(v, -1); /* not written on error */
    ck_assert_int_eq(hpo_dist_number_to_internal(&fs, 2, "params.x", &v, &err), HPO_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "outside"));
    ck_assert_int_eq(hpo_dist_number_to_internal(&fs, NAN, "params.x", &v, &err), HPO_E_INVALID);

    hpo_dist i = int_dist(1, 8, 1, false);
    ck_assert_int_eq(hpo_dist_number_to_internal(&i, 3, "p", &v, &err), HPO_OK);
    ck_assert_double_eq(v, 3);
    ck_assert_int_eq(hpo_dist_number_to_internal(&i, 3.5, "p", &v, &err), HPO_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "integer"));

    hpo_choice cs[] = { str_choice("adam"), str_choice("sgd"), num_choice(3, true) };
    hpo_dist c = { .type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = cs };
    hpo_choice sgd = str_choice("sgd");
    ck_assert_int_eq(hpo_dist_choice_to_internal(&c, &sgd, "p", &v, &err), HPO_OK);
    ck_assert_double_eq(v, 1);
    hpo_choice three = num_choice(3.0, false);
    ck_assert_int_eq(hpo_dist_choice_to_internal(&c, &three, "p", &v, &err), HPO_OK);
    ck_assert_double_eq(v, 2);
    hpo_choice rms = str_choice("rmsprop");
    ck_assert_int_eq(hpo_dist_choice_to_internal(&c, &rms, "p.opt", &v, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "p.opt");
    ck_assert_ptr_nonnull(strstr(err.message, "choices"));
    ck_assert_int_eq(hpo_dist_choice_to_internal(&i, &sgd, "p", &v, &err), HPO_E_INVALID);
}
END_TEST

START_TEST(test_round)
{
    hpo_dist f = float_dist(0, 1, 0, false);
    ck_assert_double_eq(hpo_dist_round(&f, 0.37), 0.37);
    ck_assert_double_eq(hpo_dist_round(&f, 1.5), 1);
    ck_assert_double_eq(hpo_dist_round(&f, -3), 0);

    hpo_dist fs = float_dist(0, 1, 0.25, false);
    ck_assert_double_eq(hpo_dist_round(&fs, 0.3), 0.25);
    ck_assert_double_eq(hpo_dist_round(&fs, 0.4), 0.5);
    ck_assert_double_eq(hpo_dist_round(&fs, 7), 1);
    ck_assert(hpo_dist_contains(&fs, hpo_dist_round(&fs, 0.61)));

    hpo_dist fl = float_dist(-1, 2, 0.1, false);
    for (double x = -1.5; x < 2.5; x += 0.037)
        ck_assert_msg(hpo_dist_contains(&fl, hpo_dist_round(&fl, x)), "round(%g) off grid", x);

    hpo_dist i = int_dist(1, 9, 2, false);
    ck_assert_double_eq(hpo_dist_round(&i, 4.2), 5);
    ck_assert_double_eq(hpo_dist_round(&i, 3.9), 3);
    ck_assert_double_eq(hpo_dist_round(&i, 100), 9);
    ck_assert_double_eq(hpo_dist_round(&i, -100), 1);
    hpo_dist i1 = int_dist(1, 8, 1, false);
    ck_assert_double_eq(hpo_dist_round(&i1, 2.6), 3);

    hpo_choice cs[] = { str_choice("a"), str_choice("b"), str_choice("c") };
    hpo_dist c = { .type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = cs };
    ck_assert_double_eq(hpo_dist_round(&c, 1.4), 1);
    ck_assert_double_eq(hpo_dist_round(&c, 1.6), 2);
    ck_assert_double_eq(hpo_dist_round(&c, 9), 2);
    ck_assert_double_eq(hpo_dist_round(&c, -2), 0);
}
END_TEST

START_TEST(test_dist_copy_equal)
{
    hpo_choice cs[] = { str_choice("a"), num_choice(1, true), { .kind = HPO_CHOICE_NULL } };
    hpo_dist c = { .type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = cs };
    hpo_dist copy;
    ck_assert_int_eq(hpo_dist_copy(&copy, &c), HPO_OK);
    ck_assert(hpo_dist_equal(&c, &copy));
    ck_assert_ptr_ne(copy.choices[0].str, cs[0].str);
    copy.choices[1].number = 2;
    ck_assert(!hpo_dist_equal(&c, &copy));
    hpo_dist_clear(&copy);
    ck_assert_ptr_null(copy.choices);
    hpo_dist_clear(NULL);

    hpo_dist a = float_dist(0, 1, 0, false), b = float_dist(0, 1, 0, true);
    ck_assert(!hpo_dist_equal(&a, &b));
    b.log = false;
    ck_assert(hpo_dist_equal(&a, &b));
    hpo_dist ia = int_dist(0, 1, 1, false);
    ck_assert(!hpo_dist_equal(&a, &ia));
}
END_TEST

START_TEST(test_space)
{
    hpo_space s = { 0 };
    hpo_dist f = float_dist(0, 1, 0, false), i = int_dist(1, 4, 1, false);
    ck_assert_int_eq(hpo_space_add(&s, "lr", &f), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&s, "layers", &i), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&s, "lr", &i), HPO_E_EXISTS);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_ptr_nonnull(hpo_space_find(&s, "layers"));
    ck_assert(hpo_dist_equal(&hpo_space_find(&s, "layers")->dist, &i));
    ck_assert_ptr_null(hpo_space_find(&s, "nope"));
    hpo_space copy;
    ck_assert_int_eq(hpo_space_copy(&copy, &s), HPO_OK);
    hpo_space_clear(&s);
    ck_assert_uint_eq(copy.n, 2);
    ck_assert_str_eq(copy.items[0].name, "lr");
    hpo_space_clear(&copy);
    hpo_space_clear(NULL);
}
END_TEST

START_TEST(test_param_name)
{
    hpo_error err;
    char name[300];
    ck_assert_int_eq(hpo_param_name_validate("lr", "f", &err), HPO_OK);
    ck_assert_int_eq(hpo_param_name_validate("layer 1/units é", "f", &err), HPO_OK);
    ck_assert_int_eq(hpo_param_name_validate("", "f", &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "f");
    ck_assert_int_eq(hpo_param_name_validate("a\nb", "f", &err), HPO_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "control"));
    memset(name, 'x', 256);
    name[256] = '\0';
    ck_assert_int_eq(hpo_param_name_validate(name, "f", &err), HPO_OK);
    name[256] = 'x';
    name[257] = '\0';
    ck_assert_int_eq(hpo_param_name_validate(name, "f", &err), HPO_E_INVALID);
}
END_TEST

/* ---- rng ---- */

START_TEST(test_rng_determinism)
{
    hpo_rng a, b, c;
    hpo_rng_seed(&a, 42);
    hpo_rng_seed(&b, 42);
    hpo_rng_seed(&c, 43);
    int same_as_c = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = hpo_rng_u64(&a);
        ck_assert_uint_eq(x, hpo_rng_u64(&b));
        same_as_c += x == hpo_rng_u64(&c);
    }
    ck_assert_int_lt(same_as_c, 2);
    /* Seed 0 must not give the all-zero state (xoshiro would then output only zeros). */
    hpo_rng z;
    hpo_rng_seed(&z, 0);
    ck_assert(hpo_rng_u64(&z) != 0 || hpo_rng_u64(&z) != 0);
}
END_TEST

START_TEST(test_rng_ranges)
{
    hpo_rng r;
    hpo_rng_seed(&r, 7);
    double sum = 0, sumsq = 0, nsum = 0, nsumsq = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = hpo_rng_uniform(&r);
        ck_assert(u >= 0.0 && u < 1.0);
        sum += u;
        sumsq += u * u;
        double z = hpo_rng_normal(&r);
        ck_assert(isfinite(z));
        nsum += z;
        nsumsq += z * z;
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    ck_assert_double_eq_tol(mean, 0.5, 0.01);
    ck_assert_double_eq_tol(var, 1.0 / 12, 0.005);
    double nmean = nsum / n, nvar = nsumsq / n - nmean * nmean;
    ck_assert_double_eq_tol(nmean, 0.0, 0.02);
    ck_assert_double_eq_tol(nvar, 1.0, 0.02);
}
END_TEST

START_TEST(test_rng_below)
{
    hpo_rng r;
    hpo_rng_seed(&r, 123);
    int counts[7] = { 0 };
    const int n = 70000;
    for (int i = 0; i < n; i++) {
        uint64_t x = hpo_rng_below(&r, 7);
        ck_assert_uint_lt(x, 7);
        counts[x]++;
    }
    /* Each bucket expects 10000 (sd ~93); 600 is over 6 sd. */
    for (int k = 0; k < 7; k++)
        ck_assert_msg(abs(counts[k] - n / 7) < 600, "bucket %d has %d", k, counts[k]);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(hpo_rng_below(&r, 1), 0);
    /* A huge bound (where naive modulo is most biased) still stays in range. */
    uint64_t big = (UINT64_MAX / 3) * 2;
    int upper = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t x = hpo_rng_below(&r, big);
        ck_assert_uint_lt(x, big);
        upper += x >= big / 2;
    }
    /* With plain modulo, the lower half would get ~2/3 of the draws. */
    ck_assert_int_gt(upper, 4500);
}
END_TEST

START_TEST(test_rng_entropy)
{
    uint64_t a = hpo_rng_entropy(), b = hpo_rng_entropy();
    ck_assert_uint_ne(a, b);
}
END_TEST

/* ---- clock ---- */

START_TEST(test_clock)
{
    char buf[40];
    hpo_clock_iso8601(1795987962123LL, buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-11-29T21:32:42.123Z");
    hpo_clock_iso8601(1000, buf, sizeof buf);
    ck_assert_str_eq(buf, "1970-01-01T00:00:01.000Z");
    hpo_clock_iso8601(0, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    int64_t now = hpo_clock_now_ms();
    ck_assert_int_gt(now, 1700000000000LL);
    int64_t m1 = hpo_clock_monotonic_ms(), m2 = hpo_clock_monotonic_ms();
    ck_assert_int_ge(m2, m1);
}
END_TEST

/* ---- model ---- */

START_TEST(test_state_direction_names)
{
    const char *names[] = { "running", "waiting", "complete", "pruned", "fail", "paused" };
    for (int i = 0; i < HPO_TRIAL_STATE_COUNT; i++) {
        hpo_trial_state s;
        ck_assert_str_eq(hpo_trial_state_name((hpo_trial_state)i), names[i]);
        ck_assert_int_eq(hpo_trial_state_parse(names[i], &s), HPO_OK);
        ck_assert_int_eq(s, i);
    }
    hpo_trial_state s = HPO_TRIAL_FAIL;
    ck_assert_int_eq(hpo_trial_state_parse("done", &s), HPO_E_INVALID);
    ck_assert_int_eq(s, HPO_TRIAL_FAIL);
    ck_assert(!hpo_trial_state_finished(HPO_TRIAL_RUNNING));
    ck_assert(!hpo_trial_state_finished(HPO_TRIAL_WAITING));
    ck_assert(hpo_trial_state_finished(HPO_TRIAL_COMPLETE));
    ck_assert(hpo_trial_state_finished(HPO_TRIAL_PRUNED));
    ck_assert(hpo_trial_state_finished(HPO_TRIAL_FAIL));

    hpo_direction d;
    ck_assert_str_eq(hpo_direction_name(HPO_MINIMIZE), "minimize");
    ck_assert_str_eq(hpo_direction_name(HPO_MAXIMIZE), "maximize");
    ck_assert_int_eq(hpo_direction_parse("maximize", &d), HPO_OK);
    ck_assert_int_eq(d, HPO_MAXIMIZE);
    ck_assert_int_eq(hpo_direction_parse("minimize", &d), HPO_OK);
    ck_assert_int_eq(d, HPO_MINIMIZE);
    ck_assert_int_eq(hpo_direction_parse("Maximize", &d), HPO_E_INVALID);
}
END_TEST

START_TEST(test_study_name)
{
    hpo_error err;
    char name[200];
    ck_assert_int_eq(hpo_study_name_validate("mnist-v1.2_a", "name", &err), HPO_OK);
    memset(name, 'a', 128);
    name[128] = '\0';
    ck_assert_int_eq(hpo_study_name_validate(name, "name", &err), HPO_OK);
    name[128] = 'a';
    name[129] = '\0';
    ck_assert_int_eq(hpo_study_name_validate(name, "name", &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "name");
    ck_assert_ptr_nonnull(strstr(err.message, "1-128"));
    ck_assert_int_eq(hpo_study_name_validate("", "name", &err), HPO_E_INVALID);
    ck_assert_int_eq(hpo_study_name_validate(NULL, "name", &err), HPO_E_INVALID);
    /* URL dot segments: clients drop them from a path, so such a study could not be reached */
    ck_assert_int_eq(hpo_study_name_validate(".", "name", &err), HPO_E_INVALID);
    ck_assert_int_eq(hpo_study_name_validate("..", "name", &err), HPO_E_INVALID);
    ck_assert_int_eq(hpo_study_name_validate("...", "name", &err), HPO_OK);
    ck_assert_int_eq(hpo_study_name_validate(".a", "name", &err), HPO_OK);
    const char *bad[] = { "a b", "a/b", "ä", "x?", "semi;colon", "tab\t" };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ck_assert_int_eq(hpo_study_name_validate(bad[k], "name", &err), HPO_E_INVALID);
        ck_assert_ptr_nonnull(strstr(err.message, "letters, digits"));
    }
}
END_TEST

START_TEST(test_trial_reports)
{
    hpo_trial t = { 0 };
    bool added = false;
    ck_assert_ptr_null(hpo_trial_last_report(&t));
    int64_t steps[] = { 5, 1, 3, 10, 0, 7 };
    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(hpo_trial_add_report(&t, steps[i], (double)steps[i] * 10, &added), HPO_OK);
        ck_assert(added);
    }
    /* A duplicate step keeps the first value. */
    ck_assert_int_eq(hpo_trial_add_report(&t, 3, -1, &added), HPO_OK);
    ck_assert(!added);
    ck_assert_uint_eq(t.n_reports, 6);
    int64_t sorted[] = { 0, 1, 3, 5, 7, 10 };
    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(t.reports[i].step, sorted[i]);
        ck_assert_double_eq(t.reports[i].value, (double)sorted[i] * 10);
    }
    ck_assert_int_eq(hpo_trial_last_report(&t)->step, 10);
    for (int64_t s = 11; s < 100; s++)
        ck_assert_int_eq(hpo_trial_add_report(&t, s, 0, NULL), HPO_OK);
    ck_assert_uint_eq(t.n_reports, 95);
    ck_assert_int_eq(hpo_trial_last_report(&t)->step, 99);
    hpo_trial_clear(&t);
    ck_assert_ptr_null(t.reports);
    hpo_trial_clear(NULL);
}
END_TEST

START_TEST(test_trial_params_copy)
{
    hpo_trial t = { .number = 3, .state = HPO_TRIAL_COMPLETE, .created_ms = 1000 };
    hpo_choice cs[] = { str_choice("a"), str_choice("b") };
    hpo_dist c = { .type = HPO_DIST_CATEGORICAL, .n_choices = 2, .choices = cs };
    hpo_dist f = float_dist(0, 1, 0, false);
    ck_assert_int_eq(hpo_trial_add_param(&t, "x", &f, 0.5), HPO_OK);
    ck_assert_int_eq(hpo_trial_add_param(&t, "opt", &c, 1), HPO_OK);
    ck_assert_int_eq(hpo_trial_add_param(&t, "x", &f, 0.7), HPO_E_EXISTS);
    ck_assert_uint_eq(t.n_params, 2);
    ck_assert_double_eq(hpo_trial_param(&t, "x")->value, 0.5);
    ck_assert_ptr_null(hpo_trial_param(&t, "y"));
    double vals[] = { 1.5, 2.5 };
    ck_assert_int_eq(hpo_trial_set_values(&t, vals, 2), HPO_OK);
    hpo_trial_add_report(&t, 1, 0.25, NULL);
    t.worker = hpo_strdup("w1");
    t.fail_reason = hpo_strdup("boom");

    hpo_trial u;
    ck_assert_int_eq(hpo_trial_copy(&u, &t), HPO_OK);
    hpo_trial_clear(&t);
    ck_assert_int_eq(u.number, 3);
    ck_assert_uint_eq(u.n_params, 2);
    ck_assert_str_eq(u.params[1].name, "opt");
    ck_assert_str_eq(u.params[1].dist.choices[1].str, "b");
    ck_assert_uint_eq(u.n_values, 2);
    ck_assert_double_eq(u.values[1], 2.5);
    ck_assert_uint_eq(u.n_reports, 1);
    ck_assert_str_eq(u.worker, "w1");
    ck_assert_str_eq(u.fail_reason, "boom");
    ck_assert_ptr_null(u.idempotency_key);
    ck_assert_int_eq(hpo_trial_set_values(&u, NULL, 0), HPO_OK);
    ck_assert_ptr_null(u.values);
    hpo_trial_clear(&u);
    ck_assert_ptr_null(hpo_strdup(NULL));
}
END_TEST

START_TEST(test_study_config_copy)
{
    hpo_direction dirs[] = { HPO_MINIMIZE, HPO_MAXIMIZE };
    hpo_study_config c = { .id = 9, .name = "s", .n_directions = 2, .directions = dirs,
                           .sampler = "{\"type\":\"tpe\"}", .pruner = NULL, .user_attrs = "{}",
                           .max_trials = 10 };
    hpo_dist f = float_dist(0, 1, 0, false);
    ck_assert_int_eq(hpo_space_add(&c.space, "x", &f), HPO_OK);
    hpo_study_config d;
    ck_assert_int_eq(hpo_study_config_copy(&d, &c), HPO_OK);
    hpo_space_clear(&c.space);
    ck_assert_str_eq(d.name, "s");
    ck_assert_ptr_ne(d.name, c.name);
    ck_assert_uint_eq(d.n_directions, 2);
    ck_assert_int_eq(d.directions[1], HPO_MAXIMIZE);
    ck_assert_str_eq(d.sampler, "{\"type\":\"tpe\"}");
    ck_assert_ptr_null(d.pruner);
    ck_assert_uint_eq(d.space.n, 1);
    ck_assert_int_eq(d.max_trials, 10);
    hpo_study_config_clear(&d);
    ck_assert_ptr_null(d.name);
    hpo_study_config_clear(NULL);
}
END_TEST

START_TEST(test_better_dominate)
{
    ck_assert(hpo_value_better(HPO_MINIMIZE, 1, 2));
    ck_assert(!hpo_value_better(HPO_MINIMIZE, 2, 1));
    ck_assert(!hpo_value_better(HPO_MINIMIZE, 1, 1));
    ck_assert(hpo_value_better(HPO_MAXIMIZE, 2, 1));
    ck_assert(!hpo_value_better(HPO_MAXIMIZE, 1, 2));
    ck_assert(!hpo_value_better(HPO_MINIMIZE, NAN, 1));
    ck_assert(!hpo_value_better(HPO_MAXIMIZE, NAN, 1));
    ck_assert(!hpo_value_better(HPO_MINIMIZE, NAN, NAN));
    ck_assert(hpo_value_better(HPO_MINIMIZE, 1, NAN));

    hpo_direction dirs[] = { HPO_MINIMIZE, HPO_MAXIMIZE };
    double a[] = { 1, 5 }, b[] = { 2, 4 }, c[] = { 1, 5 }, d[] = { 0, 3 }, e[] = { 1, 6 };
    ck_assert(hpo_values_dominate(dirs, 2, a, b));
    ck_assert(!hpo_values_dominate(dirs, 2, b, a));
    ck_assert(!hpo_values_dominate(dirs, 2, a, c)); /* equal: no strict improvement */
    ck_assert(!hpo_values_dominate(dirs, 2, a, d)); /* trade-off */
    ck_assert(!hpo_values_dominate(dirs, 2, d, a));
    ck_assert(hpo_values_dominate(dirs, 2, e, a));  /* equal in one, better in the other */
    double n[] = { NAN, 5 };
    ck_assert(!hpo_values_dominate(dirs, 2, n, a));
    ck_assert(hpo_values_dominate(dirs, 2, a, n));
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("error");
    tcase_add_test(tc, test_rc_names);
    tcase_add_test(tc, test_error_set_clear);
    suite_add_tcase(s, tc);

    tc = tcase_create("buf");
    tcase_add_test(tc, test_buf_append);
    tcase_add_test(tc, test_buf_max);
    suite_add_tcase(s, tc);

    tc = tcase_create("space");
    tcase_add_test(tc, test_validate_float);
    tcase_add_test(tc, test_validate_int);
    tcase_add_test(tc, test_validate_categorical);
    tcase_add_test(tc, test_validate_no_field);
    tcase_add_test(tc, test_contains);
    tcase_add_test(tc, test_to_internal);
    tcase_add_test(tc, test_round);
    tcase_add_test(tc, test_dist_copy_equal);
    tcase_add_test(tc, test_space);
    tcase_add_test(tc, test_param_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("rng");
    tcase_add_test(tc, test_rng_determinism);
    tcase_add_test(tc, test_rng_ranges);
    tcase_add_test(tc, test_rng_below);
    tcase_add_test(tc, test_rng_entropy);
    suite_add_tcase(s, tc);

    tc = tcase_create("clock");
    tcase_add_test(tc, test_clock);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_test(tc, test_state_direction_names);
    tcase_add_test(tc, test_study_name);
    tcase_add_test(tc, test_trial_reports);
    tcase_add_test(tc, test_trial_params_copy);
    tcase_add_test(tc, test_study_config_copy);
    tcase_add_test(tc, test_better_dominate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
