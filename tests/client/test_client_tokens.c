/* test_client_tokens: libhpoclient against the real hpo-server with auth on: no token or a bad one
 * is unauthenticated, each scope reaches what it should and no more, and the tokens API creates,
 * lists and revokes (a revoked token is refused from then on). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_test.h"

static const char *STUDY =
    "{\"name\":\"%s\",\"direction\":\"minimize\",\"sampler\":{\"type\":\"random\",\"seed\":1},"
    "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}";

static void create_study(hpo_client *c, const char *name)
{
    char text[512];
    snprintf(text, sizeof text, STUDY, name);
    ct_create(c, text);
}

/* A token made over the API by the admin client; *ret_id (may be NULL) gets its id. */
static char *make_token(hpo_client *admin, const char *scope, const char *study,
                        const char *prefix, int64_t *ret_id)
{
    json_t *body = json_pack("{s:s,s:s}", "scope", scope, "name", "made by a test");
    if (study)
        json_object_set_new(body, "study", json_string(study));
    if (prefix)
        json_object_set_new(body, "study_prefix", json_string(prefix));
    json_t *t = NULL;
    hpo_error err;
    hpo_rc rc = hpo_client_token_create(admin, body, &t, &err);
    ct_assert_rc(rc, HPO_OK, err);
    json_decref(body);
    const char *text = json_string_value(json_object_get(t, "token"));
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strncmp(text, "hpo_", 4) == 0 && strlen(text) == 47, "token %s", text);
    ck_assert_str_eq(json_string_value(json_object_get(t, "scope")), scope);
    ck_assert(!json_is_true(json_object_get(t, "revoked")));
    if (ret_id)
        *ret_id = json_integer_value(json_object_get(t, "id"));
    char *copy = strdup(text);
    json_decref(t);
    return copy;
}

START_TEST(no_token_or_a_bad_one_is_unauthenticated)
{
    hpo_error err;
    hpo_client *anon = ct_client_as(NULL, 5);
    ck_assert_int_eq(hpo_client_study_list(anon, NULL, &err), HPO_E_UNAUTHENTICATED);
    ck_assert_msg(strstr(err.message, "no token was given") != NULL, "%s", err.message);
    hpo_client_trial *t = NULL;
    ck_assert_int_eq(hpo_client_ask(anon, "s", NULL, &t, NULL, &err), HPO_E_UNAUTHENTICATED);
    hpo_client_free(anon);

    /* well formed, but no such token */
    static const char *bogus = "hpo_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    hpo_client *bad = ct_client_as(bogus, 5);
    ck_assert_int_eq(hpo_client_study_list(bad, NULL, &err), HPO_E_UNAUTHENTICATED);
    ck_assert_str_eq(hpo_rc_name(err.code), "unauthenticated");
    ck_assert_msg(strstr(err.message, bogus) == NULL, "%s", err.message);
    hpo_client_free(bad);

    /* the admin token of the harness works */
    hpo_client *admin = ct_client(0);
    ck_assert_int_eq(hpo_client_study_list(admin, NULL, &err), HPO_OK);
    hpo_client_free(admin);
}
END_TEST

START_TEST(scopes_reach_what_they_should)
{
    hpo_client *admin = ct_client(0);
    create_study(admin, "s1");
    create_study(admin, "s2");
    char *read = make_token(admin, "read", NULL, NULL, NULL);
    char *worker = make_token(admin, "worker", NULL, NULL, NULL);
    char *only_s1 = make_token(admin, "worker", "s1", NULL, NULL);
    hpo_error err;
    hpo_client_trial *t = NULL;

    /* read: every GET, nothing else */
    hpo_client *r = ct_client_as(read, 5);
    json_t *list = NULL;
    ck_assert_int_eq(hpo_client_study_list(r, &list, &err), HPO_OK);
    ck_assert_int_eq(json_array_size(list), 2);
    json_decref(list);
    ck_assert_int_eq(hpo_client_ask(r, "s1", NULL, &t, NULL, &err), HPO_E_PERMISSION);
    ck_assert_str_eq(hpo_rc_name(err.code), "permission_denied");
    ck_assert_ptr_null(t);
    ck_assert_int_eq(hpo_client_study_delete(r, "s1", &err), HPO_E_PERMISSION);
    ck_assert_int_eq(hpo_client_token_list(r, NULL, &err), HPO_E_PERMISSION);
    hpo_client_free(r);

    /* worker: asks and finishes, but neither makes studies nor tokens */
    hpo_client *w = ct_client_as(worker, 5);
    ck_assert_int_eq(hpo_client_ask(w, "s2", NULL, &t, NULL, &err), HPO_OK);
    double v = 0.5;
    hpo_finish_args fa = {.state = HPO_TRIAL_COMPLETE, .values = &v, .n_values = 1};
    hpo_rc rc = hpo_client_finish(w, "s2", t->number, &fa, &err);
    ct_assert_rc(rc, HPO_OK, err);
    hpo_client_trial_free(t);
    t = NULL;
    json_t *cfg = json_pack("{s:s}", "name", "s3");
    ck_assert_int_eq(hpo_client_study_create(w, cfg, false, NULL, &err), HPO_E_PERMISSION);
    json_decref(cfg);
    json_t *body = json_pack("{s:s}", "scope", "read");
    ck_assert_int_eq(hpo_client_token_create(w, body, NULL, &err), HPO_E_PERMISSION);
    json_decref(body);
    hpo_client_free(w);

    /* a worker token bound to s1 works there only */
    hpo_client *w1 = ct_client_as(only_s1, 5);
    ck_assert_int_eq(hpo_client_ask(w1, "s1", NULL, &t, NULL, &err), HPO_OK);
    hpo_client_trial_free(t);
    t = NULL;
    ck_assert_int_eq(hpo_client_ask(w1, "s2", NULL, &t, NULL, &err), HPO_E_PERMISSION);
    ck_assert_ptr_null(t);
    hpo_client_free(w1);

    free(read);
    free(worker);
    free(only_s1);
    hpo_client_free(admin);
}
END_TEST

START_TEST(tokens_create_list_revoke)
{
    hpo_client *admin = ct_client(0);
    create_study(admin, "s1");
    int64_t id = -1;
    char *worker = make_token(admin, "worker", NULL, "s", &id);
    ck_assert_int_ge(id, 0);
    hpo_error err;
    hpo_client *w = ct_client_as(worker, 5);
    json_t *study = NULL;
    ck_assert_int_eq(hpo_client_study_get(w, "s1", &study, &err), HPO_OK);
    json_decref(study);

    /* the list shows the token's facts, never its text */
    json_t *list = NULL;
    hpo_rc rc = hpo_client_token_list(admin, &list, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_ge(json_array_size(list), 2); /* the harness's admin token and this one */
    json_t *mine = NULL, *e;
    size_t i;
    json_array_foreach(list, i, e) {
        ck_assert_ptr_null(json_object_get(e, "token"));
        if (json_integer_value(json_object_get(e, "id")) == id)
            mine = e;
    }
    ck_assert_ptr_nonnull(mine);
    ck_assert_str_eq(json_string_value(json_object_get(mine, "scope")), "worker");
    ck_assert_str_eq(json_string_value(json_object_get(mine, "study_prefix")), "s");
    ck_assert_str_eq(json_string_value(json_object_get(mine, "name")), "made by a test");
    ck_assert(json_is_false(json_object_get(mine, "revoked")));
    char *dump = json_dumps(list, 0);
    ck_assert_msg(strstr(dump, worker) == NULL, "the list shows a token's text");
    free(dump);
    json_decref(list);

    /* revoked: refused from now on, and the list says so */
    rc = hpo_client_token_revoke(admin, id, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(hpo_client_study_get(w, "s1", NULL, &err), HPO_E_UNAUTHENTICATED);
    rc = hpo_client_token_list(admin, &list, &err);
    ct_assert_rc(rc, HPO_OK, err);
    json_array_foreach(list, i, e)
        if (json_integer_value(json_object_get(e, "id")) == id)
            ck_assert(json_is_true(json_object_get(e, "revoked")));
    json_decref(list);
    ck_assert_int_eq(hpo_client_token_revoke(admin, 999999, &err), HPO_E_NOT_FOUND);

    hpo_client_free(w);
    free(worker);
    hpo_client_free(admin);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_tokens");
    TCase *tc = tcase_create("tokens");
    tcase_add_checked_fixture(tc, ct_setup, ct_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, no_token_or_a_bad_one_is_unauthenticated);
    tcase_add_test(tc, scopes_reach_what_they_should);
    tcase_add_test(tc, tokens_create_list_revoke);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
