/* test_limits: the server limits' table: defaults, parsing (suffixes, ranges), the environment
 * beneath the flags, and validation naming the flag or variable at fault. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_limits.h"

START_TEST(defaults_fill_every_field)
{
    hpo_limits l;
    memset(&l, 0xff, sizeof l);
    hpo_limits_default(&l);
    ck_assert_int_eq(l.body_bytes, 1 << 20);
    ck_assert_int_eq(l.reports_per_trial, 100000);
    ck_assert_int_eq(l.idle_timeout_s, 30);
    ck_assert_int_eq(hpo_limits_validate(&l, NULL), HPO_OK);
    /* every int64_t of the struct has a row of the table */
    ck_assert_uint_eq(hpo_n_limit_defs * sizeof(int64_t), sizeof l);
    for (size_t i = 0; i < hpo_n_limit_defs; i++) {
        ck_assert_ptr_eq(hpo_limit_find(hpo_limit_defs[i].flag), &hpo_limit_defs[i]);
        ck_assert_int_eq(strncmp(hpo_limit_defs[i].env, "HPO_", 4), 0);
    }
}
END_TEST

START_TEST(values_parse_with_suffixes_and_ranges)
{
    hpo_limits l;
    hpo_limits_default(&l);
    hpo_error err = {0};
    ck_assert_int_eq(hpo_limits_set(&l, "max-body-bytes", "2M", &err), HPO_OK);
    ck_assert_int_eq(l.body_bytes, 2 << 20);
    ck_assert_int_eq(hpo_limits_set(&l, "max-artifact-bytes-total", "3TiB", &err), HPO_OK);
    ck_assert_int_eq(l.artifact_total_bytes, (int64_t)3 << 40);
    ck_assert_int_eq(hpo_limits_set(&l, "max-studies", "12", &err), HPO_OK);
    ck_assert_int_eq(l.studies, 12);
    /* counts take no suffix; values outside the range are refused, naming the flag */
    ck_assert_int_eq(hpo_limits_set(&l, "max-studies", "1k", &err), HPO_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "--max-studies"));
    ck_assert_int_eq(hpo_limits_set(&l, "max-studies", "0", &err), HPO_E_INVALID);
    ck_assert_int_eq(hpo_limits_set(&l, "max-body-bytes", "512", &err), HPO_E_INVALID);
    ck_assert_int_eq(hpo_limits_set(&l, "max-body-bytes", "-1", &err), HPO_E_INVALID);
    ck_assert_int_eq(hpo_limits_set(&l, "max-body-bytes", "99999999999T", &err), HPO_E_INVALID);
    ck_assert_int_eq(hpo_limits_set(&l, "idle-timeout", "", &err), HPO_E_INVALID);
    ck_assert_int_eq(l.studies, 12); /* unchanged by the refusals */
    ck_assert_int_eq(hpo_limits_set(&l, "max-nothing", "1", &err), HPO_E_NOT_FOUND);
}
END_TEST

START_TEST(environment_then_flags)
{
    hpo_limits l;
    hpo_limits_default(&l);
    hpo_error err = {0};
    setenv("HPO_MAX_STUDIES", "5", 1);
    setenv("HPO_MAX_HEADER_BYTES", "16K", 1);
    ck_assert_int_eq(hpo_limits_from_env(&l, &err), HPO_OK);
    ck_assert_int_eq(l.studies, 5);
    ck_assert_int_eq(l.header_bytes, 16 << 10);
    ck_assert_int_eq(l.trials_per_study, 100000); /* unset variables keep the default */
    ck_assert_int_eq(hpo_limits_set(&l, "max-studies", "7", &err), HPO_OK); /* a flag beats it */
    ck_assert_int_eq(l.studies, 7);
    setenv("HPO_IDLE_TIMEOUT", "soon", 1);
    ck_assert_int_eq(hpo_limits_from_env(&l, &err), HPO_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "HPO_IDLE_TIMEOUT"));
    unsetenv("HPO_IDLE_TIMEOUT");
    unsetenv("HPO_MAX_STUDIES");
    unsetenv("HPO_MAX_HEADER_BYTES");
}
END_TEST

START_TEST(validate_names_the_flag)
{
    hpo_limits l;
    hpo_limits_default(&l);
    hpo_error err = {0};
    l.connections_per_ip = 0;
    ck_assert_int_eq(hpo_limits_validate(&l, &err), HPO_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "--max-connections-per-ip"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, defaults_fill_every_field);
    tcase_add_test(tc, values_parse_with_suffixes_and_ranges);
    tcase_add_test(tc, environment_then_flags);
    tcase_add_test(tc, validate_names_the_flag);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
