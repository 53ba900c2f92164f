/* hpo_routes: the const route table, path matching, and the answers for results (their status
 * from the table of result codes in common/core/hpo_error.c). */
#include "hpo_routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_codec.h"

/* Scopes: reads need `read`, the trial life cycle and workers `worker`, studies' creation and
 * deletion and tokens `admin`. */
#define R HPO_SCOPE_READ
#define W HPO_SCOPE_WORKER
#define A HPO_SCOPE_ADMIN
const hpo_route hpo_routes[] = {
    {"GET", "/healthz", hpo_h_health, HPO_SCOPE_NONE, false},
    /* Prometheus scrapes with a read token (authorization: credentials_file) */
    {"GET", "/metrics", hpo_h_metrics, R, false},
    {"POST", "/api/v1/studies", hpo_h_study_create, A, false},
    {"GET", "/api/v1/studies", hpo_h_study_list, R, false},
    {"GET", "/api/v1/studies/{study}", hpo_h_study_get, R, false},
    {"DELETE", "/api/v1/studies/{study}", hpo_h_study_delete, A, false},
    {"POST", "/api/v1/studies/{study}/trials", hpo_h_ask, W, false},
    {"GET", "/api/v1/studies/{study}/trials", hpo_h_trial_list, R, false},
    {"GET", "/api/v1/studies/{study}/trials/{n}", hpo_h_trial_get, R, false},
    {"POST", "/api/v1/studies/{study}/queue", hpo_h_queue, W, false},
    {"POST", "/api/v1/studies/{study}/trials/{n}/suggest", hpo_h_suggest, W, false},
    {"POST", "/api/v1/studies/{study}/trials/{n}/reports", hpo_h_reports, W, false},
    {"POST", "/api/v1/studies/{study}/trials/{n}/heartbeat", hpo_h_heartbeat, W, false},
    {"POST", "/api/v1/studies/{study}/trials/{n}/finish", hpo_h_finish, W, false},
    {"GET", "/api/v1/studies/{study}/best", hpo_h_best, R, false},
    {"GET", "/api/v1/studies/{study}/columns", hpo_h_columns, R, false},
    {"GET", "/api/v1/studies/{study}/history", hpo_h_history, R, false},
    {"GET", "/api/v1/studies/{study}/hypervolume", hpo_h_hypervolume, R, false},
    {"GET", "/api/v1/studies/{study}/edf", hpo_h_edf, R, false},
    {"GET", "/api/v1/studies/{study}/asha", hpo_h_asha, R, false},
    {"GET", "/api/v1/studies/{study}/importance", hpo_h_importance, R, false},
    {"GET", "/api/v1/studies/{study}/trials/{n}/artifacts", hpo_h_artifact_list, R, false},
    {"PUT", "/api/v1/studies/{study}/trials/{n}/artifacts/{name}", hpo_h_artifact_put, W, true},
    {"GET", "/api/v1/studies/{study}/trials/{n}/artifacts/{name}", hpo_h_artifact_get, R, false},
    {"POST", "/api/v1/workers", hpo_h_worker_register, W, false},
    {"GET", "/api/v1/workers", hpo_h_worker_list, R, false},
    {"POST", "/api/v1/tokens", hpo_h_token_create, A, false},
    {"GET", "/api/v1/tokens", hpo_h_token_list, A, false},
    {"DELETE", "/api/v1/tokens/{id}", hpo_h_token_revoke, A, false},
    /* the dashboard (h_dashboard.c): static files embedded in the binary, open to all */
    {"GET", "/", hpo_h_dashboard_index, HPO_SCOPE_NONE, false},
    {"GET", "/ui/{file}", hpo_h_dashboard_file, HPO_SCOPE_NONE, false},
};
#undef R
#undef W
#undef A
const size_t hpo_n_routes = sizeof hpo_routes / sizeof hpo_routes[0];

/* Matches one pattern against a path segment by segment. Segments of the path are borrowed
 * into seg_buf (NUL-separated copy) so {study} can point into it; {name} and {file} both fill
 * ret->name. The pattern "/" matches the path "/" only. */
static bool match_pattern(const char *pattern, const char *path, char *seg_buf, size_t buf_size,
                          hpo_request *ret)
{
    const char *p = pattern, *s = path;
    size_t used = 0;
    ret->study = ret->name = NULL;
    ret->number = -1;
    if (strcmp(pattern, "/") == 0)
        return strcmp(path, "/") == 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++, s++;
        size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
        if (slen == 0)
            return false;
        if (plen >= 2 && p[0] == '{') {
            if (used + slen + 1 > buf_size)
                return false;
            char *seg = seg_buf + used;
            memcpy(seg, s, slen);
            seg[slen] = '\0';
            used += slen + 1;
            if (strncmp(p, "{study}", plen) == 0) {
                ret->study = seg;
            } else if (strncmp(p, "{name}", plen) == 0 || strncmp(p, "{file}", plen) == 0) {
                ret->name = seg;
            } else {
                if (slen > 18 || seg[0] < '0' || seg[0] > '9' || strspn(seg, "0123456789") != slen)
                    return false;
                errno = 0;
                long long v = strtoll(seg, NULL, 10);
                if (errno)
                    return false;
                ret->number = v;
            }
        } else if (plen != slen || strncmp(p, s, plen) != 0) {
            return false;
        }
        p += plen, s += slen;
    }
    return *p == '\0' && *s == '\0';
}

const hpo_route *hpo_route_match(const char *method, const char *path, hpo_request *req,
                                 bool *ret_path_known)
{
    /* A thread-local scratch for path segments: request paths are short and capped here. */
    static _Thread_local char seg_buf[1024];
    *ret_path_known = false;
    for (size_t i = 0; i < hpo_n_routes; i++) {
        hpo_request found;
        if (!match_pattern(hpo_routes[i].pattern, path, seg_buf, sizeof seg_buf, &found))
            continue;
        *ret_path_known = true;
        if (strcmp(hpo_routes[i].method, method) != 0)
            continue;
        req->study = found.study;
        req->number = found.number;
        req->name = found.name;
        return &hpo_routes[i];
    }
    return NULL;
}

const char *hpo_request_query(const hpo_request *req, const char *key)
{
    for (size_t i = 0; i < req->n_query; i++)
        if (strcmp(req->query_keys[i], key) == 0)
            return req->query_values[i];
    return NULL;
}

void hpo_response_error(hpo_response *res, const hpo_error *err)
{
    res->status = hpo_rc_http_status(err->code);
    res->retry_after = hpo_rc_retriable(err->code) ? 1 : 0;
    json_decref(res->body);
    res->body = NULL;
    if (res->status != 204) /* HPO_E_NO_WORK: no content */
        res->body = hpo_error_to_json(err);
}

void hpo_response_json(hpo_response *res, int status, json_t *body)
{
    json_decref(res->body);
    res->status = status;
    res->body = body;
}

hpo_rc hpo_request_permits_study(const hpo_request *req, const char *name, hpo_error *err)
{
    if (!req->grant || hpo_token_grant_covers(req->grant, name))
        return HPO_OK;
    return hpo_error_set(err, HPO_E_PERMISSION, NULL, "the token does not reach study '%s'",
                         name);
}

hpo_rc hpo_body_only(const hpo_request *req, const char *const *allowed, hpo_error *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(req->body, key, val) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], key) == 0;
        if (!ok)
            return hpo_error_set(err, HPO_E_INVALID, key, "unknown field '%s'", key);
    }
    return HPO_OK;
}

hpo_rc hpo_body_string(const hpo_request *req, const char *key, bool required, size_t max_len,
                       const char **ret, hpo_error *err)
{
    json_t *v = json_object_get(req->body, key);
    *ret = NULL;
    if (!v || (json_is_null(v) && !required)) {
        if (required)
            return hpo_error_set(err, HPO_E_INVALID, key, "%s is required", key);
        return HPO_OK;
    }
    if (!json_is_string(v))
        return hpo_error_set(err, HPO_E_INVALID, key, "%s must be a string", key);
    if (json_string_length(v) > max_len || strlen(json_string_value(v)) != json_string_length(v))
        return hpo_error_set(err, HPO_E_INVALID, key, "%s must be at most %zu bytes, without NUL",
                             key, max_len);
    *ret = json_string_value(v);
    return HPO_OK;
}

hpo_rc hpo_query_int(const hpo_request *req, const char *key, int64_t min, int64_t max,
                     int64_t *ret, hpo_error *err)
{
    const char *s = hpo_request_query(req, key);
    if (!s)
        return HPO_OK;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return hpo_error_set(err, HPO_E_INVALID, key, "%s must be an integer from %lld to %lld",
                             key, (long long)min, (long long)max);
    *ret = v;
    return HPO_OK;
}
