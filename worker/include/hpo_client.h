/* hpo_client.h: libhpoclient, the C client of the hpo server's REST API (over libcurl and
 * jansson). The worker, the hpo command and the C examples talk to the server only through it.
 *
 * Errors: every call returns an hpo_rc (0 = ok, negative = error; see hpo_error.h) and, when err
 * is not NULL, fills it with the server's code, message and field (or the transport's). Server
 * answers map back through the table of result codes (hpo_error.h: hpo_rc_parse,
 * hpo_rc_of_http_status): the body's code when it is one of that status, else the status's own:
 * 400 HPO_E_INVALID, 404 HPO_E_NOT_FOUND, 405 HPO_E_METHOD, 409 already_exists HPO_E_EXISTS,
 * conflict HPO_E_CONFLICT, trial_finished HPO_E_FINISHED, study_complete HPO_E_COMPLETE, 413
 * HPO_E_TOO_LARGE, 204 on ask HPO_E_NO_WORK, 503 / connection failures after the retries
 * HPO_E_UNAVAILABLE, 401 HPO_E_UNAUTHENTICATED, 403 HPO_E_PERMISSION, 409 limit_exceeded
 * HPO_E_LIMIT, anything else HPO_E_INTERNAL.
 *
 * Authentication: the token of the options goes as "Authorization: Bearer <token>" on every
 * request; it never appears in an error message. https URLs are always verified (peer and host
 * name) against ca_file, or the system's CAs when none is given.
 *
 * Retries: connection errors and 503 are retried with exponential backoff and full jitter
 * (options below); 401 and 403 never are (a token does not get better by asking again). Every
 * call is safe to retry: asks carry an idempotency key (generated when the caller gives none) so
 * a retried ask never makes a second trial; reports are idempotent by step, suggest by name,
 * finish by content.
 *
 * Ownership: pointers returned through ret_* are owned by the caller and freed with the named
 * function (json_t*: json_decref). Arguments are borrowed for the duration of the call.
 *
 * Threads: an hpo_client may be used from several threads at once (each call takes its own curl
 * handle from an internal pool). */
#ifndef HPO_CLIENT_H
#define HPO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "hpo_error.h"
#include "hpo_model.h"

typedef struct hpo_client hpo_client;

typedef struct {
    const char *server;      /* base URL, e.g. "http://10.0.0.5:8080" (required) */
    const char *worker;      /* this client's worker id, sent with asks and heartbeats (may be NULL) */
    long timeout_ms;         /* per request; 0 = 30000 */
    int max_retries;         /* 0 = 8; -1 = none */
    long backoff_initial_ms; /* 0 = 100 */
    long backoff_max_ms;     /* 0 = 5000 */
    const char *token;       /* bearer token for every request (copied), or NULL for none */
    const char *ca_file;     /* PEM file of the CAs that sign an https server's certificate;
                              * NULL: the system's CAs */
} hpo_client_options;

hpo_rc hpo_client_new(const hpo_client_options *opts, hpo_client **ret, hpo_error *err);
void hpo_client_free(hpo_client *c); /* NULL is a no-op */

/* Reads a token file, as the hpo tools do for --token-file / HPO_TOKEN_FILE: the first line with
 * the white space around it stripped. *ret_token is owned (free it). HPO_E_INVALID (field
 * "token_file") when the file cannot be read, its first line is empty or holds characters a
 * token cannot have; the message names the file, never its content. */
hpo_rc hpo_client_token_read_file(const char *path, char **ret_token, hpo_error *err);

/* Any request: path like "/api/v1/studies"; body may be NULL. *ret_status gets the HTTP status,
 * *ret_json (may be NULL) the parsed answer or NULL when it had none. Transport failures are
 * retried as above; HTTP error statuses are returned, not turned into errors. */
hpo_rc hpo_client_request(hpo_client *c, const char *method, const char *path, const json_t *body,
                          long *ret_status, json_t **ret_json, hpo_error *err);

/* ---- studies ---- */
/* config: the create body of the API ({"name":..., "direction":..., "sampler":..., ...});
 * load_if_exists is added when true. *ret_study (may be NULL): the study as the API shows it. */
hpo_rc hpo_client_study_create(hpo_client *c, const json_t *config, bool load_if_exists,
                               json_t **ret_study, hpo_error *err);
hpo_rc hpo_client_study_get(hpo_client *c, const char *study, json_t **ret_study, hpo_error *err);
hpo_rc hpo_client_study_list(hpo_client *c, json_t **ret_studies, hpo_error *err); /* array */
hpo_rc hpo_client_study_delete(hpo_client *c, const char *study, hpo_error *err);

/* ---- trials ---- */
typedef struct {
    char *study;
    int64_t number;
    hpo_trial_state state;
    json_t *params;          /* {name: value} */
    json_t *json;            /* the whole trial as the API answered it */
    bool has_resource;       /* ASHA: train from resource_from to resource_to */
    int64_t resource_from, resource_to;
    char *resume;            /* artifact to resume from (a promotion), or NULL */
    hpo_decides decides;     /* the ask answer's "decides": the steps where the study's pruner
                              * may judge this trial's reports (hpo_model.h); HPO_DECIDES_EVERY
                              * when the answer has none (an older server, GET trial) or it is
                              * not understood */
} hpo_client_trial;
void hpo_client_trial_free(hpo_client_trial *t); /* NULL is a no-op; frees t itself */

typedef struct {
    const char *idempotency_key; /* NULL: one is generated for this call (and its retries) */
    const json_t *params;        /* fixed params, or NULL */
} hpo_ask_options;

/* HPO_E_NO_WORK when there is no work now (*ret_retry_after_s, may be NULL, gets the server's
 * Retry-After); HPO_E_COMPLETE when the study can give no more work. opts may be NULL. */
hpo_rc hpo_client_ask(hpo_client *c, const char *study, const hpo_ask_options *opts,
                      hpo_client_trial **ret, int *ret_retry_after_s, hpo_error *err);
/* Enqueue is not idempotent (each makes a trial): after a transport failure it is retried only
 * when no byte of it went out; so are study_create without load_if_exists and study_delete. */
hpo_rc hpo_client_enqueue(hpo_client *c, const char *study, const json_t *params,
                          int64_t *ret_number, hpo_error *err);

/* Define-by-run. step 0 = continuous (float). */
hpo_rc hpo_client_suggest_float(hpo_client *c, const char *study, int64_t number,
                                const char *name, double low, double high, double step, bool log,
                                double *ret, hpo_error *err);
hpo_rc hpo_client_suggest_int(hpo_client *c, const char *study, int64_t number, const char *name,
                              int64_t low, int64_t high, int64_t step, bool log, int64_t *ret,
                              hpo_error *err);
/* choices: a JSON array; *ret: the chosen JSON value (new reference). */
hpo_rc hpo_client_suggest_categorical(hpo_client *c, const char *study, int64_t number,
                                      const char *name, const json_t *choices, json_t **ret,
                                      hpo_error *err);

/* One intermediate value; *ret_action (may be NULL): what the server wants next. */
hpo_rc hpo_client_report(hpo_client *c, const char *study, int64_t number, int64_t step,
                         double value, hpo_action *ret_action, hpo_error *err);
/* n (1 .. 10000) intermediate values in one request, stored together; the server judges the trial
 * once, with all of them (on the last step), so *ret_action is what one report of the last step
 * would have answered. A step the server holds already keeps its value (a replay is harmless). */
hpo_rc hpo_client_reports(hpo_client *c, const char *study, int64_t number,
                          const hpo_report *reports, size_t n, hpo_action *ret_action,
                          hpo_error *err);
hpo_rc hpo_client_heartbeat(hpo_client *c, const char *study, int64_t number,
                            hpo_action *ret_action, hpo_error *err);

/* Initialize it with a designated initializer (or zeroed): members are only ever added at its
 * end, and one left out is 0 / NULL, its default. Before 1.0 the library promises no binary
 * compatibility (its soname is libhpoclient.so.0): a program built against an older
 * hpo_client.h passes a shorter struct and must be rebuilt with this one. */
typedef struct {
    hpo_trial_state state;  /* HPO_TRIAL_COMPLETE, HPO_TRIAL_PRUNED or HPO_TRIAL_FAIL */
    const double *values;   /* COMPLETE: one per objective; PRUNED: 0 or 1 */
    size_t n_values;
    const char *reason;     /* FAIL: why (may be NULL) */
    bool preempted;         /* FAIL: its worker was stopped, not the trial at fault (the study's
                             * retry policy may run it again, first) */
    const double *constraints; /* COMPLETE or PRUNED: Optuna's constraints_func values, finite,
                                * the trial feasible when all are <= 0; every trial of a study
                                * gives as many (the server refuses others: HPO_E_INVALID) */
    size_t n_constraints;      /* 0 (none) to HPO_CONSTRAINTS_MAX */
} hpo_finish_args;
hpo_rc hpo_client_finish(hpo_client *c, const char *study, int64_t number,
                         const hpo_finish_args *args, hpo_error *err);

/* Trials of a study (every page), optionally of one state (NULL: all): *ret is a JSON array. */
hpo_rc hpo_client_trials(hpo_client *c, const char *study, const char *state, json_t **ret,
                         hpo_error *err);
hpo_rc hpo_client_trial_get(hpo_client *c, const char *study, int64_t number, json_t **ret,
                            hpo_error *err);
/* The best trial (one objective) or {"trials": Pareto front}. */
hpo_rc hpo_client_best(hpo_client *c, const char *study, json_t **ret, hpo_error *err);

/* ---- artifacts: streamed from and to files, never held whole in memory ---- */
/* A transfer has no overall time limit: it fails when no byte moves for timeout_ms. A get
 * writes PATH.part, checks it against the server's ETag (the SHA-256) and renames it to PATH;
 * on any error nothing is left behind. Retries start the transfer again from the first byte. */
hpo_rc hpo_client_artifact_put(hpo_client *c, const char *study, int64_t number,
                               const char *name, const char *path, hpo_error *err);
hpo_rc hpo_client_artifact_get(hpo_client *c, const char *study, int64_t number,
                               const char *name, const char *path, hpo_error *err);
hpo_rc hpo_client_artifact_list(hpo_client *c, const char *study, int64_t number, json_t **ret,
                                hpo_error *err); /* array of {name, size, sha256, ...} */

/* ---- workers ---- */
/* Registers (or refreshes) this client's worker: host, slots, gpus (array of strings or NULL). */
hpo_rc hpo_client_worker_register(hpo_client *c, const char *host, int slots, const json_t *gpus,
                                  hpo_error *err);
hpo_rc hpo_client_workers(hpo_client *c, json_t **ret, hpo_error *err); /* array */

/* ---- tokens (an admin token without a study restriction) ---- */
/* body: {"scope": "read"|"worker"|"admin", "study"?, "study_prefix"?, "name"?, "expires_in"?}.
 * *ret_token: the token as the API shows it, its text under "token" (shown this once). Not
 * idempotent: after a transport failure it is retried only when no byte of it went out. */
hpo_rc hpo_client_token_create(hpo_client *c, const json_t *body, json_t **ret_token,
                               hpo_error *err);
hpo_rc hpo_client_token_list(hpo_client *c, json_t **ret, hpo_error *err); /* array, no texts */
/* HPO_E_NOT_FOUND when no token has this id. */
hpo_rc hpo_client_token_revoke(hpo_client *c, int64_t id, hpo_error *err);

#endif
