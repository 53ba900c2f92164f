/* hpo_routes: the request/response model of the HTTP layer and the const route table. */
#ifndef HPO_ROUTES_H
#define HPO_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "hpo_error.h"
#include "hpo_service.h"

#define HPO_MAX_QUERY_ARGS 16

/* A decoded request. Everything is borrowed from the connection for the handler's duration. */
typedef struct {
    const char *method;
    const char *path;
    const char *study;      /* {study} path segment, or NULL */
    int64_t number;         /* {n} path segment, -1 when absent */
    const char *name;       /* {name} path segment, or NULL */
    json_t *body;           /* parsed JSON body, or NULL when the request had none */
    const hpo_token_grant *grant; /* what the request's token grants; NULL: authentication off */
    const char *if_none_match; /* the If-None-Match header, or NULL (the dashboard's files) */
    /* routes with raw bodies: the body streamed into a file, its size and SHA-256 */
    const char *upload_path;
    int64_t upload_size;
    const char *upload_sha256;
    int64_t waited_until_ms; /* a long poll woken up: the deadline it set; 0 on its first call */
    size_t n_query;
    const char *query_keys[HPO_MAX_QUERY_ARGS];
    const char *query_values[HPO_MAX_QUERY_ARGS];
} hpo_request;

/* What a handler answers: a status and an owned JSON body (NULL for none). */
typedef struct {
    int status;
    json_t *body;
    int retry_after; /* seconds for a Retry-After header, 0 for none */
    char *file_path; /* owned: answer with this file's bytes instead of body */
    char etag[80];   /* with file_path: the ETag header, "" for none */
    /* the dashboard's embedded files: static bytes to answer with instead of body (borrowed,
     * never freed) when content_type is set; etag as with file_path */
    const void *bytes;
    size_t n_bytes;
    const char *content_type;
    const char *cache_control; /* Cache-Control header, or NULL */
    const char *csp;           /* Content-Security-Policy header, or NULL */
    char *text;      /* owned text to answer with instead of body (large encodings) */
    size_t text_len;
    const char *text_type; /* text's Content-Type (static); NULL: application/json */
    /* a long poll: instead of answering, wait until the study's version is no longer
     * wait_version or until wait_until_ms (epoch ms), then call the handler again with
     * req->waited_until_ms set (status stays 0) */
    int64_t wait_until_ms;
    char wait_version[48];
} hpo_response;

typedef void (*hpo_handler_fn)(hpo_service *svc, const hpo_request *req, hpo_response *res);

typedef struct {
    const char *method;   /* "GET", "POST", "PUT", "DELETE" */
    const char *pattern;  /* OpenAPI path syntax: "/api/v1/studies/{study}/trials/{n}" */
    hpo_handler_fn handler;
    hpo_scope scope;      /* the token scope it needs (HPO_SCOPE_NONE: open to all) */
    bool raw_body;        /* the body is a file, streamed to disk, not JSON held in memory */
} hpo_route;

extern const hpo_route hpo_routes[];
extern const size_t hpo_n_routes;

/* Finds the route for method and path, filling req->study and req->number from the path.
 * NULL with *ret_path_known true when the path exists under another method (405). */
const hpo_route *hpo_route_match(const char *method, const char *path, hpo_request *req,
                                 bool *ret_path_known);

/* A query argument by key (borrowed) or NULL. */
const char *hpo_request_query(const hpo_request *req, const char *key);

/* Fills res with the JSON error for err: status from the table of result codes (hpo_error.h),
 * Retry-After for a retriable code (503; 204 for HPO_E_NO_WORK, without a body). */
void hpo_response_error(hpo_response *res, const hpo_error *err);
/* Fills res with status and body (owned by res from now on). */
void hpo_response_json(hpo_response *res, int status, json_t *body);

/* HPO_OK when the request's token reaches study `name` (always, with authentication off); else
 * HPO_E_PERMISSION. For handlers whose study is not in the path (create) or that list studies. */
hpo_rc hpo_request_permits_study(const hpo_request *req, const char *name, hpo_error *err);

/* Body decoding for handlers. Each names the field at fault in err (HPO_E_INVALID). */
/* Refuses keys of the body outside `allowed` (NULL-terminated). A missing body passes. */
hpo_rc hpo_body_only(const hpo_request *req, const char *const *allowed, hpo_error *err);
/* A string member: *ret borrowed, NULL when absent and not required; max_len bytes at most. */
hpo_rc hpo_body_string(const hpo_request *req, const char *key, bool required, size_t max_len,
                       const char **ret, hpo_error *err);
/* A string query argument parsed as an integer in [min, max]; *ret unchanged when absent. */
hpo_rc hpo_query_int(const hpo_request *req, const char *key, int64_t min, int64_t max,
                     int64_t *ret, hpo_error *err);

/* The body decoders of handlers, shared with the fuzz targets (tests/fuzz). */
/* POST /studies: fills c (zeroed by the caller; clear it with hpo_study_config_clear, also on
 * error). */
hpo_rc hpo_h_study_decode(const hpo_request *req, hpo_study_config *c, bool *load_if_exists,
                          hpo_error *err);
/* POST .../reports: {step, value} or {"reports": [{step, value}, ...]}; *ret owned (free). */
hpo_rc hpo_h_reports_decode(const hpo_request *req, hpo_report **ret, size_t *ret_n,
                            hpo_error *err);
/* POST .../finish: fills fin (zeroed by the caller); fin->values points to values (room for
 * HPO_FINISH_MAX_VALUES), fin->constraints to constraints (room for HPO_CONSTRAINTS_MAX),
 * fin->reason into req->body. */
#define HPO_FINISH_MAX_VALUES 16
hpo_rc hpo_h_finish_decode(const hpo_request *req, hpo_finish_request *fin, double *values,
                           double *constraints, hpo_error *err);

/* Handlers: one file per resource. */
void hpo_h_health(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_metrics(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_study_create(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_study_list(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_study_get(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_study_delete(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_ask(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_trial_list(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_trial_get(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_queue(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_suggest(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_reports(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_heartbeat(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_finish(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_best(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_columns(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_history(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_edf(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_asha(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_importance(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_hypervolume(hpo_service *svc, const hpo_request *req, hpo_response *res);
/* The hypervolume of the study's front (and with history, after each COMPLETE trial) as JSON,
 * for ?reference_point=; NULL with err set. For GET best and GET hypervolume. */
json_t *hpo_hypervolume_json(hpo_service *svc, const hpo_request *req, bool history,
                             hpo_error *err);
void hpo_h_artifact_put(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_artifact_get(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_artifact_list(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_worker_register(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_worker_list(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_token_create(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_token_list(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_token_revoke(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_dashboard_index(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_dashboard_file(hpo_service *svc, const hpo_request *req, hpo_response *res);

#endif
