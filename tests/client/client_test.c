/* client_test: fixtures and helpers of the libhpoclient end-to-end tests. */
#include "client_test.h"

#include <stdio.h>
#include <string.h>

e2e_server ct_srv;

void ct_setup(void)
{
    memset(&ct_srv, 0, sizeof ct_srv);
    e2e_start(&ct_srv); /* auth on: it makes an admin token first (ct_srv.token) */
}

void ct_teardown(void)
{
    e2e_destroy(&ct_srv);
}

hpo_client *ct_client(int max_retries)
{
    return ct_client_as(ct_srv.token, max_retries);
}

hpo_client *ct_client_as(const char *token, int max_retries)
{
    hpo_client_options o = {.server = ct_srv.base, .worker = "test-worker",
                            .max_retries = max_retries, .backoff_initial_ms = 20,
                            .backoff_max_ms = 200, .token = token};
    hpo_client *c = NULL;
    hpo_error err;
    hpo_rc rc = hpo_client_new(&o, &c, &err);
    ct_assert_rc(rc, HPO_OK, err);
    return c;
}

void ct_create(hpo_client *c, const char *config)
{
    json_error_t jerr;
    json_t *cfg = json_loads(config, 0, &jerr);
    ck_assert_msg(cfg != NULL, "bad test JSON: %s", jerr.text);
    hpo_error err;
    hpo_rc rc = hpo_client_study_create(c, cfg, false, NULL, &err);
    ct_assert_rc(rc, HPO_OK, err);
    json_decref(cfg);
}
