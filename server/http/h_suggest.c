/* h_suggest: define-by-run: the value of a param first asked inside a running trial. */
#include "hpo_codec.h"
#include "hpo_routes.h"

void hpo_h_suggest(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    static const char *const allowed[] = {"name", "distribution", NULL};
    hpo_error err = {0};
    hpo_dist dist = {0};
    const char *name = NULL;
    double v = 0;
    hpo_rc rc = req->body ? hpo_body_only(req, allowed, &err)
                          : hpo_error_set(&err, HPO_E_INVALID, "name", "name is required");
    if (!rc)
        rc = hpo_body_string(req, "name", true, 256, &name, &err);
    json_t *d = json_object_get(req->body, "distribution");
    if (!rc && !d)
        rc = hpo_error_set(&err, HPO_E_INVALID, "distribution", "distribution is required");
    if (!rc)
        rc = hpo_json_to_dist(d, "distribution", &dist, &err);
    if (!rc)
        rc = hpo_service_suggest(svc, req->study, req->number, name, &dist, &v, &err);
    if (rc)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, json_pack("{s:s,s:o}", "name", name, "value",
                                               hpo_param_value_to_json(&dist, v)));
    hpo_dist_clear(&dist);
}
