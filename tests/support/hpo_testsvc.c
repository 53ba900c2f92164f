/* hpo_testsvc: open and close a service on a test database; a study over x, an ask. */
#include "hpo_testsvc.h"

#include <check.h>

void hpo_testsvc_open(hpo_testsvc *t, const char *conninfo, int pool_size)
{
    hpo_error err = {0};
    ck_assert_msg(hpo_store_open(conninfo, pool_size, &t->store, &err) == HPO_OK, "%s",
                  err.message);
    ck_assert_msg(hpo_store_migrate(t->store, NULL, &err) == HPO_OK, "%s", err.message);
    ck_assert_msg(hpo_service_new(t->store, &t->svc, &err) == HPO_OK, "%s", err.message);
}

void hpo_testsvc_close(hpo_testsvc *t)
{
    hpo_service_free(t->svc);
    hpo_store_close(t->store);
    t->svc = NULL;
    t->store = NULL;
}

void hpo_testsvc_create_study(hpo_testsvc *t, hpo_study_config *c)
{
    hpo_dist x = {.type = HPO_DIST_FLOAT, .low = -5, .high = 5};
    ck_assert_int_eq(hpo_space_add(&c->space, "x", &x), HPO_OK);
    hpo_study_info info = {0};
    bool created = false;
    hpo_error err = {0};
    ck_assert_msg(hpo_service_study_create(t->svc, c, false, &info, &created, &err) == HPO_OK,
                  "%s", err.message);
    ck_assert(created);
    hpo_study_info_clear(&info);
    hpo_space_clear(&c->space);
}

int64_t hpo_testsvc_ask(hpo_testsvc *t, const char *study, const char *worker)
{
    hpo_trial trial = {0};
    bool replayed;
    hpo_error err = {0};
    hpo_ask_request req = {.worker = worker};
    ck_assert_msg(hpo_service_ask(t->svc, study, &req, &trial, &replayed, NULL, &err) == HPO_OK,
                  "%s", err.message);
    int64_t n = trial.number;
    hpo_trial_clear(&trial);
    return n;
}
