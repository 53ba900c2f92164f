/* hpo_service: the study registry and the in-memory state of active studies; ask, suggest,
 * report, heartbeat and finish orchestration. Every change is committed to PostgreSQL (through
 * the store) before the call returns, and concurrent changes of a study share commits (group
 * commit). Thread-safe: a study's mutex is held only while deciding in memory. */
#ifndef HPO_SERVICE_H
#define HPO_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"
#include "hpo_limits.h"
#include "hpo_metrics.h"
#include "hpo_model.h"
#include "hpo_token.h"

typedef struct hpo_service hpo_service;
typedef struct hpo_store hpo_store; /* server/store: PostgreSQL */


/* store is borrowed and must outlive the service. *ret owned: hpo_service_free. */
hpo_rc hpo_service_new(hpo_store *store, hpo_service **ret, hpo_error *err);
void hpo_service_free(hpo_service *svc); /* NULL is a no-op */
/* The limits the service enforces from now on (copied; hpo_limits_default until called):
 * counts answer HPO_E_LIMIT, names HPO_E_INVALID, artifact bytes HPO_E_TOO_LARGE, each message
 * naming the limit's flag. Call before serving. HPO_E_INVALID (nothing changed) when a value is
 * outside its range (hpo_limits_validate). */
hpo_rc hpo_service_set_limits(hpo_service *svc, const hpo_limits *limits, hpo_error *err);

/* How many studies are held in memory now (the others load on their next use). */
size_t hpo_service_loaded_studies(hpo_service *svc);

/* ---- what GET /metrics shows (hpo_stats.c) ---- */

/* The service's metric registry (owned by the service, borrowed here): the service counts its
 * events and commits into it, the HTTP layer its requests. */
hpo_metrics *hpo_service_metrics(hpo_service *svc);

/* A study held in memory as its latest committed version shows it. */
typedef struct {
    char *study; /* owned */
    int64_t counts[HPO_TRIAL_STATE_COUNT];
    int64_t workers; /* distinct workers named by its running trials */
} hpo_study_gauges;
/* Every study held in memory now (used within --study-idle-seconds), by name; no database round
 * trip, and looking is no use of a study (its idle time runs on). *ret owned:
 * hpo_study_gauges_free. */
hpo_rc hpo_service_study_gauges(hpo_service *svc, hpo_study_gauges **ret, size_t *ret_n,
                                hpo_error *err);
void hpo_study_gauges_free(hpo_study_gauges *g, size_t n); /* NULL is a no-op */

/* The PostgreSQL connection pool (hpo_store_pool_stats). */
typedef struct {
    int size, in_use;
    uint64_t waits, timeouts;
} hpo_pool_stats;
void hpo_service_pool_stats(hpo_service *svc, hpo_pool_stats *ret);

/* Whether PostgreSQL answers. */
hpo_rc hpo_service_ping(hpo_service *svc, hpo_error *err);

/* A study as GET shows it. Owned copies; clear with hpo_study_info_clear. */
typedef struct {
    hpo_study_config config;
    int64_t counts[HPO_TRIAL_STATE_COUNT];
    int64_t n_trials;
    int64_t n_retries; /* trials that retry another; n_trials - n_retries configurations */
    bool has_best; /* single objective with a COMPLETE trial */
    hpo_trial best;
} hpo_study_info;
void hpo_study_info_clear(hpo_study_info *info);

/* Creates a study from cfg (cfg->sampler / cfg->pruner: JSON object text or NULL for the
 * defaults; validated here). When the name exists: with load_if_exists the existing study is
 * returned and *ret_created is false; otherwise HPO_E_EXISTS. */
hpo_rc hpo_service_study_create(hpo_service *svc, const hpo_study_config *cfg, bool load_if_exists,
                                hpo_study_info *ret, bool *ret_created, hpo_error *err);
hpo_rc hpo_service_study_get(hpo_service *svc, const char *study, hpo_study_info *ret,
                             hpo_error *err);
/* All studies with counts and best values (from PostgreSQL). Free with hpo_study_summaries_free. */
hpo_rc hpo_service_study_list(hpo_service *svc, hpo_study_summary **ret, size_t *ret_n,
                              hpo_error *err);
hpo_rc hpo_service_study_delete(hpo_service *svc, const char *study, hpo_error *err);

typedef struct {
    const char *worker;          /* may be NULL */
    const char *idempotency_key; /* may be NULL */
    const hpo_fixed_params *params; /* fixed params, or NULL when none were given */
} hpo_ask_request;

/* Under ASHA, the budget a handed-out trial runs with: from the resource it reached to the next
 * rung (from 0 for a new trial). set is false for other pruners. */
typedef struct {
    bool set;
    int64_t from, to;
} hpo_resource;

/* What the worker of a handed-out trial is told besides the trial itself. */
typedef struct {
    hpo_resource resource; /* ASHA's budget */
    hpo_decides decides;   /* the steps where the study's pruner may judge the trial's reports
                            * (hpo_pruner_decides: from the pruner's own code) */
} hpo_ask_info;

/* Hands out a trial. With fixed params: a new trial with them. Otherwise, in order: under ASHA a
 * promotion (a paused trial in the top 1/eta of its rung, highest rung first); the
 * lowest-numbered waiting (enqueued) trial; a new trial sampled over the declared search space.
 * A known idempotency key returns that trial again with *ret_replayed true. When max_trials
 * trials exist: HPO_E_NO_WORK while work may still come (ASHA with running trials; a grid with
 * running trials), else HPO_E_COMPLETE (ASHA first leaves the paused trials behind as PRUNED).
 * *ret owned (hpo_trial_clear); *ret_info may be NULL. */
hpo_rc hpo_service_ask(hpo_service *svc, const char *study, const hpo_ask_request *req,
                       hpo_trial *ret, bool *ret_replayed, hpo_ask_info *ret_info,
                       hpo_error *err);

/* Enqueues a waiting trial with the given params (names in the search space are checked against
 * it; other names wait for their suggest). HPO_E_CONFLICT beyond max_trials. */
hpo_rc hpo_service_enqueue(hpo_service *svc, const char *study, const hpo_fixed_params *params,
                           hpo_trial *ret, hpo_error *err);

/* Define-by-run: the value of param `name` in a running trial, sampled on first use.
 * *ret_internal is the internal value under dist. */
hpo_rc hpo_service_suggest(hpo_service *svc, const char *study, int64_t number, const char *name,
                           const hpo_dist *dist, double *ret_internal, hpo_error *err);

/* Stores intermediate values (finite values; a step already stored keeps its first value) and
 * answers what the trial should do next. */
hpo_rc hpo_service_report(hpo_service *svc, const char *study, int64_t number,
                          const hpo_report *reports, size_t n, hpo_action *ret_action,
                          hpo_error *err);
hpo_rc hpo_service_heartbeat(hpo_service *svc, const char *study, int64_t number,
                             const char *worker, hpo_action *ret_action, hpo_error *err);

typedef struct {
    hpo_trial_state state;  /* COMPLETE, PRUNED or FAIL */
    const double *values;   /* finite */
    size_t n_values;
    const char *reason;     /* FAIL only, may be NULL */
    bool preempted;         /* FAIL only: the worker was stopped before the trial could end */
    const double *constraints; /* COMPLETE or PRUNED only: finite, 1 to HPO_CONSTRAINTS_MAX, */
    size_t n_constraints;      /* as many as the study's other trials gave; 0: none */
} hpo_finish_request;
/* Ends a running trial. Repeating the same finish returns the trial; a different one on a
 * finished trial is HPO_E_FINISHED. Constraints (Optuna's constraints_func, evaluated by the
 * client) make the study constrained: from the first trial that gives them on, best and the
 * Pareto front hold only feasible trials (all constraints <= 0; a trial without constraints is
 * infeasible), and TPE ranks by feasibility (hpo_tpe.h). */
hpo_rc hpo_service_finish(hpo_service *svc, const char *study, int64_t number,
                          const hpo_finish_request *req, hpo_trial *ret, hpo_error *err);

/* Trials with number > after (after < 0: from the first), in state `state` (< 0: any), at most
 * limit. *ret owned: hpo_trials_free. *ret_more tells whether more follow. */
hpo_rc hpo_service_trials(hpo_service *svc, const char *study, int state, int64_t after,
                          size_t limit, hpo_trial **ret, size_t *ret_n, bool *ret_more,
                          hpo_error *err);
hpo_rc hpo_service_trial(hpo_service *svc, const char *study, int64_t number, hpo_trial *ret,
                         hpo_error *err);
/* The best COMPLETE trial (one objective; HPO_E_NOT_FOUND when none) or the Pareto front; in
 * a constrained study, among the feasible COMPLETE trials only (none feasible: HPO_E_NOT_FOUND,
 * an empty front), as Optuna >= 4.0 does. *ret owned: hpo_trials_free. */
hpo_rc hpo_service_best(hpo_service *svc, const char *study, hpo_trial **ret, size_t *ret_n,
                        size_t *ret_n_directions, hpo_error *err);

/* ---- artifacts: files of a trial (model, checkpoint, log) kept under the artifact directory ---- */

/* Where artifacts live (created when missing, with a tmp/ folder for uploads in progress);
 * max_bytes caps one artifact (0: 10 GiB). Until it is set, artifact calls are HPO_E_UNAVAILABLE. */
hpo_rc hpo_service_set_artifact_dir(hpo_service *svc, const char *dir, int64_t max_bytes,
                                    hpo_error *err);
/* The folder uploads are streamed into before hpo_service_artifact_commit (borrowed), or NULL. */
const char *hpo_service_artifact_tmp_dir(const hpo_service *svc);
int64_t hpo_service_artifact_max_bytes(const hpo_service *svc);
/* Artifact names: 1-128 characters of [A-Za-z0-9._-], not starting with '.'. */
hpo_rc hpo_artifact_name_validate(const char *name, hpo_error *err);
/* Moves an uploaded file (tmp_path, in the tmp folder) into place as artifact `name` of the
 * trial and records its size and SHA-256; the upload is removed on error. *ret (owned:
 * free(ret->name)) describes it; *ret_replaced tells whether it replaced one. */
hpo_rc hpo_service_artifact_commit(hpo_service *svc, const char *study, int64_t number,
                                   const char *name, const char *tmp_path, int64_t size,
                                   const char *sha256, hpo_artifact *ret, bool *ret_replaced,
                                   hpo_error *err);
/* The facts of an artifact and the path of its file (owned, free()). */
hpo_rc hpo_service_artifact_find(hpo_service *svc, const char *study, int64_t number,
                                 const char *name, hpo_artifact *ret, char **ret_path,
                                 hpo_error *err);
hpo_rc hpo_service_artifact_list(hpo_service *svc, const char *study, int64_t number,
                                 hpo_artifact **ret, size_t *ret_n, hpo_error *err);

/* ---- workers ---- */
/* Registers or refreshes a worker: id 1-128 characters; info: JSON object text (gpus, ...). */
hpo_rc hpo_service_worker_register(hpo_service *svc, const char *id, const char *host, int slots,
                                   const char *info, hpo_error *err);
/* Workers and the running trials that name them (both from PostgreSQL). */
hpo_rc hpo_service_workers(hpo_service *svc, hpo_worker_info **ret, size_t *ret_n,
                           hpo_running_trial **ret_running, size_t *ret_n_running, hpo_error *err);

/* ---- the reaper ---- */
/* One pass: every running trial silent (no heartbeat, report or start) for longer than its
 * study's heartbeat grace fails with reason "heartbeat_lost". *ret_failed (may be NULL) counts. */
hpo_rc hpo_service_reap(hpo_service *svc, int64_t now_ms, size_t *ret_failed, hpo_error *err);
/* Runs hpo_service_reap every interval_ms on a thread of its own until hpo_service_free. */
hpo_rc hpo_service_start_reaper(hpo_service *svc, int64_t interval_ms, hpo_error *err);

/* ---- authentication: API tokens (hpo_tokens.c) ---- */

/* Turns token checks on: loads the usable tokens into memory and refreshes them every
 * refresh_ms from PostgreSQL (a revocation made through another server reaches this one within
 * that time). HPO_E_INVALID when the database holds no usable token: nobody could get in. */
hpo_rc hpo_service_auth_enable(hpo_service *svc, int64_t refresh_ms, hpo_error *err);
bool hpo_service_auth_enabled(const hpo_service *svc);
/* Checks a bearer token (text of len bytes) and fills *ret with what it grants. A token found in
 * memory costs no database round trip; an unknown one is looked up once (it may have been made
 * through another server), at most a few times a second in all. HPO_E_UNAUTHENTICATED when it is
 * unknown or revoked (an expiry reached since the last refresh is for hpo_token_permits). */
hpo_rc hpo_service_authenticate(hpo_service *svc, const char *token, size_t len,
                                hpo_token_grant *ret, hpo_error *err);

typedef struct {
    hpo_scope scope;
    const char *study;        /* NULL or a study name the token is limited to */
    const char *study_prefix; /* NULL or a study-name prefix the token is limited to */
    const char *name;         /* NULL or a description */
    int64_t expires_in_s;     /* 0: never */
} hpo_token_spec;

#define HPO_TOKEN_NAME_MAX 200
#define HPO_TOKENS_MAX 10000 /* usable tokens at once */

/* Creates a token: ret_text gets its text (shown once, never stored), *ret its facts (owned:
 * hpo_token_info_clear). Works with authentication on or off (hpo-server token create). */
hpo_rc hpo_service_token_create(hpo_service *svc, const hpo_token_spec *spec,
                                char ret_text[HPO_TOKEN_TEXT_LEN + 1], hpo_token_info *ret,
                                hpo_error *err);
/* Every token, revoked and expired ones too. *ret owned: hpo_token_infos_free. */
hpo_rc hpo_service_token_list(hpo_service *svc, hpo_token_info **ret, size_t *ret_n,
                              hpo_error *err);
/* Revokes a token: refused by this server at once, by others after their next refresh. */
hpo_rc hpo_service_token_revoke(hpo_service *svc, int64_t id, hpo_error *err);

#endif
