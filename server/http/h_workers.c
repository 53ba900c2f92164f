/* h_workers: the cluster: workers register their host, slots and GPUs; the list shows each with
 * the trials it is running. */
#include <string.h>

#include "hpo_clock.h"
#include "hpo_codec.h"
#include "hpo_routes.h"

void hpo_h_worker_register(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    static const char *const allowed[] = {"id", "host", "slots", "gpus", NULL};
    hpo_error err = {0};
    const char *id = NULL, *host = NULL;
    hpo_rc rc = req->body ? hpo_body_only(req, allowed, &err)
                          : hpo_error_set(&err, HPO_E_INVALID, "id", "id is required");
    if (!rc)
        rc = hpo_body_string(req, "id", true, 128, &id, &err);
    if (!rc)
        rc = hpo_body_string(req, "host", false, 256, &host, &err);
    json_t *slots = json_object_get(req->body, "slots");
    if (!rc && slots && (!json_is_integer(slots) || json_integer_value(slots) < 0 ||
                         json_integer_value(slots) > 1 << 20))
        rc = hpo_error_set(&err, HPO_E_INVALID, "slots", "slots must be an integer >= 0");
    json_t *gpus = json_object_get(req->body, "gpus");
    if (!rc && gpus && !json_is_null(gpus) && !json_is_array(gpus))
        rc = hpo_error_set(&err, HPO_E_INVALID, "gpus", "gpus must be a list");
    char *info = NULL;
    if (!rc) {
        json_t *j = json_pack("{s:O}", "gpus", gpus ? gpus : json_null());
        info = hpo_json_dump(j);
        json_decref(j);
        rc = hpo_service_worker_register(svc, id, host ? host : "", (int)json_integer_value(slots),
                                         info, &err);
    }
    free(info);
    if (rc)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, json_pack("{s:s,s:s,s:I,s:O}", "id", id, "host",
                                              host ? host : "", "slots",
                                              json_integer_value(slots), "gpus",
                                              gpus ? gpus : json_null()));
}

void hpo_h_worker_list(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_worker_info *w = NULL;
    hpo_running_trial *r = NULL;
    size_t n = 0, nr = 0;
    if (hpo_service_workers(svc, &w, &n, &r, &nr, &err)) {
        hpo_response_error(res, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char first[32], last[32];
        hpo_clock_iso8601(w[i].first_seen_ms, first, sizeof first);
        hpo_clock_iso8601(w[i].last_seen_ms, last, sizeof last);
        json_t *info = json_loads(w[i].info ? w[i].info : "{}", 0, NULL);
        json_t *trials = json_array();
        for (size_t k = 0; k < nr; k++)
            if (strcmp(r[k].worker, w[i].id) == 0 &&
                hpo_request_permits_study(req, r[k].study, NULL) == HPO_OK)
                json_array_append_new(trials, json_pack("{s:s,s:I}", "study", r[k].study,
                                                        "number", (json_int_t)r[k].number));
        json_t *gpus = json_object_get(info, "gpus");
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:O,s:s,s:s,s:o}", "id", w[i].id,
                                             "host", w[i].host ? w[i].host : "", "slots",
                                             w[i].slots, "gpus", gpus ? gpus : json_null(),
                                             "first_seen", first, "last_seen", last, "trials",
                                             trials));
        json_decref(info);
    }
    hpo_worker_infos_free(w, n);
    hpo_running_trials_free(r, nr);
    hpo_response_json(res, 200, json_pack("{s:o}", "workers", arr));
}
