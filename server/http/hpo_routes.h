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
    /* routes with raw bodies: the body streamed into a file, its size and SHA-256 */
    const char *upload_path;
    int64_t upload_size;
    const char *upload_sha256;
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
} hpo_response;

typedef void (*hpo_handler_fn)(hpo_service *svc, const hpo_request *req, hpo_response *res);

typedef struct {
    const char *method;   /* "GET", "POST", "PUT", "DELETE" */
    const char *pattern;  /* OpenAPI path syntax: "/api/v1/studies/{study}/trials/{n}" */
    hpo_handler_fn handler;
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

/* The one table from result codes to HTTP status. */
int hpo_http_status(hpo_rc rc);
/* Fills res with the JSON error for err (status from hpo_http_status; 503 gets Retry-After). */
void hpo_response_error(hpo_response *res, const hpo_error *err);
/* Fills res with status and body (owned by res from now on). */
void hpo_response_json(hpo_response *res, int status, json_t *body);

/* Body decoding for handlers. Each names the field at fault in err (HPO_E_INVALID). */
/* Refuses keys of the body outside `allowed` (NULL-terminated). A missing body passes. */
hpo_rc hpo_body_only(const hpo_request *req, const char *const *allowed, hpo_error *err);
/* A string member: *ret borrowed, NULL when absent and not required; max_len bytes at most. */
hpo_rc hpo_body_string(const hpo_request *req, const char *key, bool required, size_t max_len,
                       const char **ret, hpo_error *err);
/* A string query argument parsed as an integer in [min, max]; *ret unchanged when absent. */
hpo_rc hpo_query_int(const hpo_request *req, const char *key, int64_t min, int64_t max,
                     int64_t *ret, hpo_error *err);

/* Handlers: one file per resource. */
void hpo_h_health(hpo_service *svc, const hpo_request *req, hpo_response *res);
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
void hpo_h_artifact_put(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_artifact_get(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_artifact_list(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_worker_register(hpo_service *svc, const hpo_request *req, hpo_response *res);
void hpo_h_worker_list(hpo_service *svc, const hpo_request *req, hpo_response *res);

#endif
