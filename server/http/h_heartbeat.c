/* h_heartbeat: keeps a running trial alive and answers its pending action. */
#include "hpo_routes.h"

void hpo_h_heartbeat(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    static const char *const allowed[] = {"worker", NULL};
    hpo_error err = {0};
    const char *worker = NULL;
    hpo_action action;
    hpo_rc rc = hpo_body_only(req, allowed, &err);
    if (!rc)
        rc = hpo_body_string(req, "worker", false, 256, &worker, &err);
    if (!rc)
        rc = hpo_service_heartbeat(svc, req->study, req->number, worker, &action, &err);
    if (rc)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, json_pack("{s:s}", "action", hpo_action_name(action)));
}
