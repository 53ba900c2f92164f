/* workers: a worker registers itself (host, slots, GPUs) and anyone may list the workers seen. */
#include "client_internal.h"

hpo_rc hpo_client_worker_register(hpo_client *c, const char *host, int slots, const json_t *gpus,
                                  hpo_error *err)
{
    hpo_error_clear(err);
    if (!c || !c->worker)
        return hpo_error_set(err, HPO_E_INVALID, "worker",
                             "the client needs a worker id (options.worker) to register");
    if (!host || slots < 0 || (gpus && !json_is_array(gpus)))
        return hpo_error_set(err, HPO_E_INVALID, NULL,
                             "host is required, slots >= 0, gpus an array or NULL");
    json_t *body = json_pack("{s:s,s:s,s:i,s:o}", "id", c->worker, "host", host, "slots", slots,
                             "gpus", gpus ? json_deep_copy(gpus) : json_array());
    if (!body)
        return hpoc_nomem(err);
    /* registering again refreshes: safe to retry */
    hpo_rc rc = hpoc_call(c, "POST", "/api/v1/workers", body, HPOC_RETRY_ALL, NULL, NULL, err);
    json_decref(body);
    return rc;
}

hpo_rc hpo_client_workers(hpo_client *c, json_t **ret, hpo_error *err)
{
    hpo_error_clear(err);
    json_t *j = NULL, *list = NULL;
    hpo_rc rc = hpoc_call(c, "GET", "/api/v1/workers", NULL, HPOC_RETRY_ALL, NULL, &j, err);
    if (!rc)
        rc = hpoc_take_array(j, "workers", &list, err);
    json_decref(j);
    if (!rc && ret)
        *ret = list;
    else
        json_decref(list);
    return rc;
}
