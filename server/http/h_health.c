/* h_health: liveness: the server answers and PostgreSQL answers it. */
#include "hpo_routes.h"

void hpo_h_health(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    (void)req;
    hpo_error err = {0};
    if (hpo_service_ping(svc, &err))
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, json_pack("{s:s}", "status", "ok"));
}
