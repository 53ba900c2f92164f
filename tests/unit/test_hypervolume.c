/* test_hypervolume: the exact hypervolume against brute force (unit cells counted on an integer
 * grid), a hand-worked case, points outside the reference, and Optuna's default reference. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "hpo_hypervolume.h"
#include "hpo_rng.h"

#define SIDE 10

/* Unit cells [c, c + 1) of [0, SIDE)^m that some point weakly dominates (p <= c). */
static double brute_force(const double *p, size_t n, size_t m)
{
    size_t cells = 1;
    for (size_t k = 0; k < m; k++)
        cells *= SIDE;
    double count = 0;
    for (size_t c = 0; c < cells; c++) {
        double corner[4];
        size_t x = c;
        for (size_t k = 0; k < m; k++, x /= SIDE)
            corner[k] = (double)(x % SIDE);
        bool in = false;
        for (size_t i = 0; i < n && !in; i++) {
            bool dom = true;
            for (size_t k = 0; k < m && dom; k++)
                dom = p[i * m + k] <= corner[k];
            in = dom;
        }
        count += in;
    }
    return count;
}

START_TEST(exact_against_brute_force)
{
    hpo_rng r;
    hpo_rng_seed(&r, 11);
    double ref[4] = {SIDE, SIDE, SIDE, SIDE};
    for (size_t m = 2; m <= 4; m++)
        for (int round = 0; round < 60; round++) {
            size_t n = 1 + (size_t)hpo_rng_below(&r, 40);
            double p[40 * 4];
            for (size_t i = 0; i < n * m; i++)
                p[i] = (double)hpo_rng_below(&r, SIDE + 2); /* some at or past the reference */
            double want = brute_force(p, n, m), got = hpo_hypervolume(p, n, m, ref);
            ck_assert_msg(got == want, "m %zu, n %zu, round %d: %g, brute force %g", m, n, round,
                          got, want);
        }
}
END_TEST

START_TEST(hand_worked_and_edges)
{
    double p2[] = {1, 3, 2, 2, 3, 1, 5, 0, 2, 2}, ref2[] = {4, 4};
    /* strips 3 + 2 + 1; (5, 0) is past the reference, the repeated (2, 2) adds nothing */
    ck_assert(hpo_hypervolume(p2, 5, 2, ref2) == 6);
    double p3[] = {0.5, 0.5, 0.5}, ref3[] = {1, 2, 3};
    ck_assert(fabs(hpo_hypervolume(p3, 1, 3, ref3) - 0.5 * 1.5 * 2.5) < 1e-15);
    double p1[] = {3, 1, 7}, ref1[] = {5};
    ck_assert(hpo_hypervolume(p1, 3, 1, ref1) == 4);
    ck_assert(hpo_hypervolume(p2, 0, 2, ref2) == 0);
    /* a point equal to the reference in one objective dominates no volume */
    double p4[] = {4, 0}, ref4[] = {4, 4};
    ck_assert(hpo_hypervolume(p4, 1, 2, ref4) == 0);
}
END_TEST

START_TEST(optuna_default_reference)
{
    double p[] = {1, -4, 0, 2, -2, 0}, ref[3];
    hpo_hypervolume_default_ref(p, 2, 3, DBL_EPSILON, ref);
    ck_assert(fabs(ref[0] - 2.2) < 1e-15); /* worst 2: 1.1 * 2 */
    ck_assert(fabs(ref[1] - -1.8) < 1e-15); /* worst -2: 0.9 * -2 */
    ck_assert(ref[2] == DBL_EPSILON);       /* worst 0 */
}
END_TEST

/* Points on the unit sphere's positive orthant (all non-dominated): the volume stays below the
 * cube's and grows with more points. */
START_TEST(front_on_a_sphere)
{
    hpo_rng r;
    hpo_rng_seed(&r, 5);
    size_t m = 4, n = 300;
    double *p = malloc(n * m * sizeof *p), ref[4] = {1, 1, 1, 1};
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < m; k++) {
            double g = fabs(hpo_rng_normal(&r));
            p[i * m + k] = g;
            s += g * g;
        }
        for (size_t k = 0; k < m; k++)
            p[i * m + k] /= sqrt(s);
    }
    double half = hpo_hypervolume(p, n / 2, m, ref), all = hpo_hypervolume(p, n, m, ref);
    ck_assert(half > 0 && half < all && all < 1);
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hypervolume");
    TCase *tc = tcase_create("hypervolume");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, exact_against_brute_force);
    tcase_add_test(tc, hand_worked_and_edges);
    tcase_add_test(tc, optuna_default_reference);
    tcase_add_test(tc, front_on_a_sphere);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
