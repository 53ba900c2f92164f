/* test_limits: the service's limits over a real PostgreSQL, each configured small: studies,
 * trials, params, choices, reports, name lengths and artifact bytes refuse the one too many. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo_codec.h"
#include "hpo_testdb.h"
#include "hpo_testsvc.h"

static char *db;
static hpo_testsvc ts;
static char artifact_dir[64];

static void setup(void)
{
    db = hpo_testdb_create();
    hpo_testsvc_open(&ts, db, 4);
    artifact_dir[0] = '\0';
}

static void teardown(void)
{
    hpo_testsvc_close(&ts);
    hpo_testdb_drop(db);
    free(db);
    if (artifact_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", artifact_dir);
        ck_assert_int_eq(system(cmd), 0);
    }
}

/* Sets one limit (by flag) on top of the defaults. */
static void limit(const char *flag, const char *value)
{
    static hpo_limits l;
    static bool init;
    hpo_error err = {0};
    if (!init || !flag) {
        hpo_limits_default(&l);
        init = true;
    }
    if (!flag)
        return;
    ck_assert_msg(hpo_limits_set(&l, flag, value, &err) == HPO_OK, "%s", err.message);
    ck_assert_msg(hpo_service_set_limits(ts.svc, &l, &err) == HPO_OK, "%s", err.message);
}

/* Asserts rc and that the message names the flag. */
static void expect(hpo_rc rc, const hpo_error *err, hpo_rc want, const char *flag)
{
    ck_assert_msg(rc == want, "got %d (%s), expected %d", rc, err->message, want);
    ck_assert_msg(strstr(err->message, flag) != NULL, "'%s' does not name %s", err->message,
                  flag);
}

static hpo_rc create_study(const char *name, size_t n_params, size_t n_choices,
                           const char *user_attrs, hpo_error *err)
{
    hpo_study_config c = {0};
    hpo_direction dir = HPO_MINIMIZE;
    c.name = (char *)name;
    c.n_directions = 1;
    c.directions = &dir;
    c.user_attrs = (char *)user_attrs;
    hpo_choice choices[16] = {0};
    for (size_t i = 0; i < n_choices; i++)
        choices[i] = (hpo_choice){.kind = HPO_CHOICE_NUMBER, .number = (double)i};
    for (size_t i = 0; i < n_params; i++) {
        char pname[16];
        snprintf(pname, sizeof pname, "p%zu", i);
        hpo_dist d = {.type = HPO_DIST_FLOAT, .low = 0, .high = 1};
        if (n_choices)
            d = (hpo_dist){.type = HPO_DIST_CATEGORICAL, .n_choices = n_choices,
                           .choices = choices};
        ck_assert_int_eq(hpo_space_add(&c.space, pname, &d), HPO_OK);
    }
    hpo_study_info info = {0};
    bool created;
    hpo_rc rc = hpo_service_study_create(ts.svc, &c, true, &info, &created, err);
    hpo_study_info_clear(&info);
    hpo_space_clear(&c.space);
    return rc;
}

static hpo_rc ask(const char *study, const json_t *params, int64_t *ret_number, hpo_error *err)
{
    hpo_fixed_params fixed = {0};
    if (params && hpo_json_to_fixed_params(params, "params", &fixed, err))
        return err->code;
    hpo_ask_request req = {.params = params ? &fixed : NULL};
    hpo_trial t = {0};
    bool replayed;
    hpo_rc rc = hpo_service_ask(ts.svc, study, &req, &t, &replayed, NULL, err);
    hpo_fixed_params_clear(&fixed);
    if (ret_number)
        *ret_number = t.number;
    hpo_trial_clear(&t);
    return rc;
}

START_TEST(studies)
{
    hpo_error err = {0};
    limit(NULL, NULL);
    limit("max-studies", "2");
    ck_assert_int_eq(create_study("a", 1, 0, NULL, &err), HPO_OK);
    ck_assert_int_eq(create_study("b", 1, 0, NULL, &err), HPO_OK);
    expect(create_study("c", 1, 0, NULL, &err), &err, HPO_E_LIMIT, "--max-studies");
    /* an existing name is still loaded at the limit (load_if_exists) */
    ck_assert_int_eq(create_study("b", 1, 0, NULL, &err), HPO_OK);
    ck_assert_int_eq(hpo_service_study_delete(ts.svc, "a", &err), HPO_OK);
    ck_assert_int_eq(create_study("c", 1, 0, NULL, &err), HPO_OK);
}
END_TEST

START_TEST(trials_per_study)
{
    hpo_error err = {0};
    limit(NULL, NULL);
    limit("max-trials-per-study", "3");
    ck_assert_int_eq(create_study("s", 1, 0, NULL, &err), HPO_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ask("s", NULL, NULL, &err), HPO_OK);
    expect(ask("s", NULL, NULL, &err), &err, HPO_E_LIMIT, "--max-trials-per-study");
    hpo_fixed_param p0 = {"p0", {.kind = HPO_CHOICE_NUMBER, .number = 0.5}};
    hpo_fixed_params p = {1, &p0};
    hpo_trial t = {0};
    expect(hpo_service_enqueue(ts.svc, "s", &p, &t, &err), &err, HPO_E_LIMIT,
           "--max-trials-per-study");
    hpo_trial_clear(&t);
    hpo_study_info info = {0};
    ck_assert_int_eq(hpo_service_study_get(ts.svc, "s", &info, &err), HPO_OK);
    ck_assert_int_eq(info.n_trials, 3);
    hpo_study_info_clear(&info);
}
END_TEST

START_TEST(params_per_trial)
{
    hpo_error err = {0};
    limit(NULL, NULL);
    limit("max-params-per-trial", "3");
    expect(create_study("wide", 4, 0, NULL, &err), &err, HPO_E_LIMIT, "--max-params-per-trial");
    ck_assert_int_eq(create_study("s", 2, 0, NULL, &err), HPO_OK);
    /* fixed params beyond the search space count too */
    json_t *p = json_pack("{s:i,s:i}", "x", 1, "y", 2);
    expect(ask("s", p, NULL, &err), &err, HPO_E_LIMIT, "--max-params-per-trial");
    json_decref(p);
    int64_t n;
    ck_assert_int_eq(ask("s", NULL, &n, &err), HPO_OK);
    hpo_dist d = {.type = HPO_DIST_FLOAT, .low = 0, .high = 1};
    double v;
    ck_assert_int_eq(hpo_service_suggest(ts.svc, "s", n, "x", &d, &v, &err), HPO_OK);
    expect(hpo_service_suggest(ts.svc, "s", n, "y", &d, &v, &err), &err, HPO_E_LIMIT,
           "--max-params-per-trial");
    /* a param the trial has is answered still */
    ck_assert_int_eq(hpo_service_suggest(ts.svc, "s", n, "x", &d, &v, &err), HPO_OK);
}
END_TEST

START_TEST(choices)
{
    hpo_error err = {0};
    limit(NULL, NULL);
    limit("max-choices", "3");
    expect(create_study("many", 1, 4, NULL, &err), &err, HPO_E_LIMIT, "--max-choices");
    ck_assert_int_eq(create_study("s", 1, 3, NULL, &err), HPO_OK);
    int64_t n;
    ck_assert_int_eq(ask("s", NULL, &n, &err), HPO_OK);
    hpo_choice c[4] = {{.kind = HPO_CHOICE_NUMBER, .number = 1},
                       {.kind = HPO_CHOICE_NUMBER, .number = 2},
                       {.kind = HPO_CHOICE_NUMBER, .number = 3},
                       {.kind = HPO_CHOICE_NUMBER, .number = 4}};
    hpo_dist d = {.type = HPO_DIST_CATEGORICAL, .n_choices = 4, .choices = c};
    double v;
    expect(hpo_service_suggest(ts.svc, "s", n, "c", &d, &v, &err), &err, HPO_E_LIMIT,
           "--max-choices");
    d.n_choices = 3;
    ck_assert_int_eq(hpo_service_suggest(ts.svc, "s", n, "c", &d, &v, &err), HPO_OK);
}
END_TEST

START_TEST(reports_per_trial)
{
    hpo_error err = {0};
    limit(NULL, NULL);
    limit("max-reports-per-trial", "3");
    ck_assert_int_eq(create_study("s", 1, 0, NULL, &err), HPO_OK);
    int64_t n;
    ck_assert_int_eq(ask("s", NULL, &n, &err), HPO_OK);
    hpo_report r[3] = {{0, 1.0}, {1, 0.9}, {2, 0.8}};
    hpo_action a;
    ck_assert_int_eq(hpo_service_report(ts.svc, "s", n, r, 3, &a, &err), HPO_OK);
    hpo_report more = {3, 0.7};
    expect(hpo_service_report(ts.svc, "s", n, &more, 1, &a, &err), &err, HPO_E_LIMIT,
           "--max-reports-per-trial");
    /* a repeated step adds nothing: still answered */
    ck_assert_int_eq(hpo_service_report(ts.svc, "s", n, &r[2], 1, &a, &err), HPO_OK);
    hpo_trial t = {0};
    ck_assert_int_eq(hpo_service_trial(ts.svc, "s", n, &t, &err), HPO_OK);
    ck_assert_int_eq(t.n_reports, 3);
    hpo_trial_clear(&t);
}
END_TEST

START_TEST(name_length)
{
    hpo_error err = {0};
    limit(NULL, NULL);
    limit("max-name-length", "8");
    expect(create_study("ninechars", 1, 0, NULL, &err), &err, HPO_E_INVALID,
           "--max-name-length");
    expect(create_study("s", 1, 0, "{\"a-long-key\":1}", &err), &err, HPO_E_INVALID,
           "--max-name-length");
    ck_assert_int_eq(create_study("s", 1, 0, "{\"key\":1}", &err), HPO_OK);
    int64_t n;
    ck_assert_int_eq(ask("s", NULL, &n, &err), HPO_OK);
    hpo_dist d = {.type = HPO_DIST_FLOAT, .low = 0, .high = 1};
    double v;
    expect(hpo_service_suggest(ts.svc, "s", n, "ninechars", &d, &v, &err), &err, HPO_E_INVALID,
           "--max-name-length");
    json_t *p = json_pack("{s:i}", "ninechars", 1);
    expect(ask("s", p, NULL, &err), &err, HPO_E_INVALID, "--max-name-length");
    json_decref(p);
    expect(hpo_service_worker_register(ts.svc, "ninechars", "h", 1, "{}", &err), &err,
           HPO_E_INVALID, "--max-name-length");
    ck_assert_int_eq(hpo_service_worker_register(ts.svc, "w1", "h", 1, "{}", &err), HPO_OK);
    hpo_ask_request by = {.worker = "ninechars"};
    hpo_trial t = {0};
    bool replayed;
    expect(hpo_service_ask(ts.svc, "s", &by, &t, &replayed, NULL, &err), &err, HPO_E_INVALID,
           "--max-name-length");
    hpo_action a;
    expect(hpo_service_heartbeat(ts.svc, "s", n, "ninechars", &a, &err), &err, HPO_E_INVALID,
           "--max-name-length");
}
END_TEST

/* Writes `size` bytes into a new file of the service's upload folder and commits it. */
static hpo_rc put_artifact(const char *study, int64_t number, const char *name, size_t size,
                           char ret_tmp[4096], hpo_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/upload-XXXXXX", hpo_service_artifact_tmp_dir(ts.svc));
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char buf[256];
    memset(buf, 'a', sizeof buf);
    ck_assert(size <= sizeof buf);
    ck_assert_int_eq(write(fd, buf, size), (ssize_t)size);
    close(fd);
    if (ret_tmp)
        snprintf(ret_tmp, 4096, "%s", path);
    char sha[65];
    memset(sha, '0', 64);
    sha[64] = '\0';
    snprintf(sha, sizeof sha, "%064zu", size); /* tells the versions apart */
    hpo_artifact a = {0};
    hpo_rc rc = hpo_service_artifact_commit(ts.svc, study, number, name, path, (int64_t)size, sha,
                                            &a, NULL, err);
    free(a.name);
    return rc;
}

static int64_t artifact_size(const char *study, int64_t number, const char *name)
{
    hpo_error err = {0};
    hpo_artifact a = {0};
    char *path = NULL;
    ck_assert_msg(hpo_service_artifact_find(ts.svc, study, number, name, &a, &path, &err) == HPO_OK,
                  "%s", err.message);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    ck_assert_int_eq(ftell(f), a.size); /* the file is the one its row describes */
    fclose(f);
    free(path);
    free(a.name);
    return a.size;
}

START_TEST(artifact_bytes)
{
    hpo_error err = {0};
    snprintf(artifact_dir, sizeof artifact_dir, "/tmp/hpo-limits-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(artifact_dir));
    ck_assert_int_eq(hpo_service_set_artifact_dir(ts.svc, artifact_dir, 200, &err), HPO_OK);
    limit(NULL, NULL);
    limit("max-artifact-bytes-per-trial", "100");
    limit("max-artifact-bytes-per-study", "150");
    limit("max-artifact-bytes-total", "200");
    ck_assert_int_eq(create_study("s", 1, 0, NULL, &err), HPO_OK);
    ck_assert_int_eq(create_study("t", 1, 0, NULL, &err), HPO_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ask("s", NULL, NULL, &err), HPO_OK);
    ck_assert_int_eq(ask("t", NULL, NULL, &err), HPO_OK);

    char tmp[4096];
    ck_assert_int_eq(put_artifact("s", 0, "a", 60, NULL, &err), HPO_OK);
    expect(put_artifact("s", 0, "b", 60, tmp, &err), &err, HPO_E_TOO_LARGE,
           "--max-artifact-bytes-per-trial");
    ck_assert_int_ne(access(tmp, F_OK), 0); /* the refused upload is gone */
    /* a replacement counts its new size only; a refused one leaves the old file and row */
    ck_assert_int_eq(put_artifact("s", 0, "a", 90, NULL, &err), HPO_OK);
    expect(put_artifact("s", 0, "a", 101, NULL, &err), &err, HPO_E_TOO_LARGE,
           "--max-artifact-bytes-per-trial");
    ck_assert_int_eq(artifact_size("s", 0, "a"), 90);
    ck_assert_int_eq(put_artifact("s", 1, "a", 60, NULL, &err), HPO_OK); /* study: 150 */
    expect(put_artifact("s", 2, "a", 1, NULL, &err), &err, HPO_E_TOO_LARGE,
           "--max-artifact-bytes-per-study");
    ck_assert_int_eq(put_artifact("t", 0, "a", 50, NULL, &err), HPO_OK); /* total: 200 */
    expect(put_artifact("t", 0, "b", 1, NULL, &err), &err, HPO_E_TOO_LARGE,
           "--max-artifact-bytes-total");
    /* a deleted study's bytes are free again */
    ck_assert_int_eq(hpo_service_study_delete(ts.svc, "s", &err), HPO_OK);
    ck_assert_int_eq(put_artifact("t", 0, "b", 100, NULL, &err), HPO_E_TOO_LARGE);
    ck_assert_int_eq(put_artifact("t", 0, "b", 50, NULL, &err), HPO_OK);
}
END_TEST

START_TEST(limits_out_of_range_are_refused)
{
    hpo_error err = {0};
    hpo_limits l;
    hpo_limits_default(&l);
    l.reports_per_trial = 0;
    ck_assert_int_eq(hpo_service_set_limits(ts.svc, &l, &err), HPO_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "--max-reports-per-trial"));
    /* nothing changed: the default still holds */
    ck_assert_int_eq(create_study("s", 1, 0, NULL, &err), HPO_OK);
    int64_t n;
    ck_assert_int_eq(ask("s", NULL, &n, &err), HPO_OK);
    hpo_report r = {0, 1.0};
    hpo_action a;
    ck_assert_int_eq(hpo_service_report(ts.svc, "s", n, &r, 1, &a, &err), HPO_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, studies);
    tcase_add_test(tc, trials_per_study);
    tcase_add_test(tc, params_per_trial);
    tcase_add_test(tc, choices);
    tcase_add_test(tc, reports_per_trial);
    tcase_add_test(tc, name_length);
    tcase_add_test(tc, artifact_bytes);
    tcase_add_test(tc, limits_out_of_range_are_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
