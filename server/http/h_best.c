/* h_best: the best trial of a single-objective study, or the Pareto front of several objectives
 * with its hypervolume. */
#include "hpo_codec.h"
#include "hpo_routes.h"

void hpo_h_best(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_trial *list = NULL;
    size_t n = 0, nd = 1;
    if (hpo_service_best(svc, req->study, &list, &n, &nd, &err)) {
        hpo_response_error(res, &err);
        return;
    }
    if (nd == 1 && n == 1) {
        hpo_response_json(res, 200, hpo_trial_to_json(&list[0], req->study, 1));
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, hpo_trial_to_json(&list[i], req->study, nd));
        json_t *out = json_pack("{s:o}", "trials", arr);
        /* several objectives: the front's hypervolume too (its reference point as for GET
         * hypervolume) */
        json_t *hv = nd > 1 ? hpo_hypervolume_json(svc, req, false, &err) : NULL;
        if (nd > 1 && !hv) {
            json_decref(out);
            hpo_trials_free(list, n);
            hpo_response_error(res, &err);
            return;
        }
        if (hv)
            json_object_update(out, hv);
        json_decref(hv);
        hpo_response_json(res, 200, out);
    }
    hpo_trials_free(list, n);
}
