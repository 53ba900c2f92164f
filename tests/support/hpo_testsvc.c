/* hpo_testsvc: open and close a service on a test database. */
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
