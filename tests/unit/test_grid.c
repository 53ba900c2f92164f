/* test_grid: the grid sampler's points, indexes and picks. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_grid.h"

static hpo_space space3(void)
{
    hpo_space s = {0};
    hpo_dist c = {.type = HPO_DIST_CATEGORICAL, .n_choices = 3,
                  .choices = (hpo_choice[]){{.kind = HPO_CHOICE_STRING, .str = "a"},
                                            {.kind = HPO_CHOICE_NULL},
                                            {.kind = HPO_CHOICE_BOOL, .boolean = true}}};
    hpo_dist i = {.type = HPO_DIST_INT, .low = 2, .high = 8, .step = 3};       /* 2 5 8 */
    hpo_dist f = {.type = HPO_DIST_FLOAT, .low = 0, .high = 0.3, .step = 0.1}; /* 0 .1 .2 .3 */
    ck_assert_int_eq(hpo_space_add(&s, "c", &c), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&s, "i", &i), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&s, "f", &f), HPO_OK);
    return s;
}

START_TEST(points_and_indexes_round_trip)
{
    hpo_space s = space3();
    hpo_grid g;
    hpo_error err;
    ck_assert_int_eq(hpo_grid_build(&s, "search_space", &g, &err), HPO_OK);
    ck_assert_uint_eq(g.size, 3 * 3 * 4);
    bool seen[36] = {0};
    for (size_t k = 0; k < g.size; k++) {
        double v[3];
        hpo_grid_point(&g, k, v);
        ck_assert(v[0] >= 0 && v[0] <= 2 && v[0] == (int)v[0]);
        ck_assert(v[1] == 2 || v[1] == 5 || v[1] == 8);
        ck_assert(v[2] >= -1e-12 && v[2] <= 0.3 + 1e-12);
        ck_assert_uint_eq(hpo_grid_index(&g, v), k);
        ck_assert(!seen[k]);
        seen[k] = true;
    }
    double off[3] = {1, 5, 0.15};
    ck_assert_uint_eq(hpo_grid_index(&g, off), SIZE_MAX);
    double close[3] = {1, 5, 0.1 + 1e-13};
    ck_assert_uint_ne(hpo_grid_index(&g, close), SIZE_MAX);
    hpo_grid_clear(&g);
    hpo_space_clear(&s);
}
END_TEST

START_TEST(pick_takes_only_free_points_then_none)
{
    hpo_space s = space3();
    hpo_grid g;
    ck_assert_int_eq(hpo_grid_build(&s, "search_space", &g, NULL), HPO_OK);
    bool taken[36] = {0};
    hpo_rng rng;
    hpo_rng_seed(&rng, 7);
    for (size_t k = 0; k < g.size; k++) {
        size_t p = hpo_grid_pick(&g, taken, &rng);
        ck_assert_uint_lt(p, g.size);
        ck_assert(!taken[p]);
        taken[p] = true;
    }
    ck_assert_uint_eq(hpo_grid_pick(&g, taken, &rng), SIZE_MAX);
    taken[17] = false;
    ck_assert_uint_eq(hpo_grid_pick(&g, taken, &rng), 17);
    hpo_grid_clear(&g);
    hpo_space_clear(&s);
}
END_TEST

START_TEST(refuses_continuous_empty_and_huge)
{
    hpo_space s = {0};
    hpo_grid g;
    hpo_error err;
    ck_assert_int_eq(hpo_grid_build(&s, "search_space", &g, &err), HPO_E_INVALID);
    hpo_dist f = {.type = HPO_DIST_FLOAT, .low = 0, .high = 1};
    ck_assert_int_eq(hpo_space_add(&s, "x", &f), HPO_OK);
    ck_assert_int_eq(hpo_grid_build(&s, "search_space", &g, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "search_space");
    ck_assert_ptr_nonnull(strstr(err.message, "'x'"));
    hpo_space_clear(&s);
    hpo_dist big = {.type = HPO_DIST_INT, .low = 0, .high = 9999, .step = 1};
    ck_assert_int_eq(hpo_space_add(&s, "a", &big), HPO_OK);
    ck_assert_int_eq(hpo_space_add(&s, "b", &big), HPO_OK);
    ck_assert_int_eq(hpo_grid_build(&s, "search_space", &g, &err), HPO_E_INVALID);
    hpo_space_clear(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("grid");
    TCase *tc = tcase_create("grid");
    tcase_add_test(tc, points_and_indexes_round_trip);
    tcase_add_test(tc, pick_takes_only_free_points_then_none);
    tcase_add_test(tc, refuses_continuous_empty_and_huge);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
