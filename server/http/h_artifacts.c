/* h_artifacts: files of a trial: store one (body streamed to disk by the daemon), fetch one,
 * list them. */
#include <stdlib.h>

#include "hpo_clock.h"
#include "hpo_routes.h"

static json_t *artifact_json(const hpo_artifact *a)
{
    char created[32];
    hpo_clock_iso8601(a->created_ms, created, sizeof created);
    return json_pack("{s:s,s:I,s:s,s:s}", "name", a->name, "size", (json_int_t)a->size, "sha256",
                     a->sha256, "datetime_created", created);
}

void hpo_h_artifact_put(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_artifact a = {0};
    bool replaced = false;
    if (hpo_service_artifact_commit(svc, req->study, req->number, req->name, req->upload_path,
                                    req->upload_size, req->upload_sha256, &a, &replaced, &err))
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, replaced ? 200 : 201, artifact_json(&a));
    free(a.name);
}

void hpo_h_artifact_get(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_artifact a = {0};
    char *path = NULL;
    if (hpo_service_artifact_find(svc, req->study, req->number, req->name, &a, &path, &err)) {
        hpo_response_error(res, &err);
        return;
    }
    res->status = 200;
    res->file_path = path;
    snprintf(res->etag, sizeof res->etag, "\"%s\"", a.sha256);
    free(a.name);
}

void hpo_h_artifact_list(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_artifact *list = NULL;
    size_t n = 0;
    if (hpo_service_artifact_list(svc, req->study, req->number, &list, &n, &err)) {
        hpo_response_error(res, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, artifact_json(&list[i]));
    hpo_artifacts_free(list, n);
    hpo_response_json(res, 200, json_pack("{s:o}", "artifacts", arr));
}
