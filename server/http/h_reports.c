/* h_reports: intermediate values of a running trial; the answer says continue, prune or pause. */
#include <stdlib.h>

#include "hpo_codec.h"
#include "hpo_routes.h"

#define MAX_REPORTS 10000

static hpo_rc decode_report(const json_t *j, const char *field, hpo_report *ret, hpo_error *err)
{
    char sub[64];
    if (!json_is_object(j))
        return hpo_error_set(err, HPO_E_INVALID, field, "%s must be an object", field);
    json_t *step = json_object_get(j, "step");
    snprintf(sub, sizeof sub, "%s%sstep", field, *field ? "." : "");
    if (!json_is_integer(step) || json_integer_value(step) < 0)
        return hpo_error_set(err, HPO_E_INVALID, sub, "%s must be an integer >= 0", sub);
    ret->step = json_integer_value(step);
    snprintf(sub, sizeof sub, "%s%svalue", field, *field ? "." : "");
    json_t *value = json_object_get(j, "value");
    if (!value)
        return hpo_error_set(err, HPO_E_INVALID, sub, "%s is required", sub);
    return hpo_json_number(value, sub, &ret->value, err);
}

hpo_rc hpo_h_reports_decode(const hpo_request *req, hpo_report **ret, size_t *ret_n,
                            hpo_error *err)
{
    static const char *const allowed[] = {"step", "value", "reports", NULL};
    hpo_report *reports = NULL;
    size_t n = 0;
    json_t *list = json_object_get(req->body, "reports");
    hpo_rc rc = req->body ? hpo_body_only(req, allowed, err)
                          : hpo_error_set(err, HPO_E_INVALID, "step", "step and value are required");
    if (!rc && list && (json_object_get(req->body, "step") || json_object_get(req->body, "value")))
        rc = hpo_error_set(err, HPO_E_INVALID, "reports", "give step/value or reports, not both");
    if (!rc && list && (!json_is_array(list) || json_array_size(list) == 0 ||
                        json_array_size(list) > MAX_REPORTS))
        rc = hpo_error_set(err, HPO_E_INVALID, "reports",
                           "reports must be a list of 1 to %d {step, value}", MAX_REPORTS);
    if (!rc) {
        n = list ? json_array_size(list) : 1;
        if (!(reports = calloc(n, sizeof *reports)))
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; !rc && i < n; i++) {
        char field[32] = "";
        if (list)
            snprintf(field, sizeof field, "reports[%zu]", i);
        rc = decode_report(list ? json_array_get(list, i) : req->body, field, &reports[i], err);
    }
    if (rc) {
        free(reports);
        return rc;
    }
    *ret = reports;
    *ret_n = n;
    return HPO_OK;
}

void hpo_h_reports(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_report *reports = NULL;
    size_t n = 0;
    hpo_action action;
    hpo_rc rc = hpo_h_reports_decode(req, &reports, &n, &err);
    if (!rc)
        rc = hpo_service_report(svc, req->study, req->number, reports, n, &action, &err);
    free(reports);
    if (rc)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, json_pack("{s:s}", "action", hpo_action_name(action)));
}
