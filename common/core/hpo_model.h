/* hpo_model: plain data for studies and trials, shared by the service, the store and the algorithms. */
#ifndef HPO_MODEL_H
#define HPO_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"
#include "hpo_space.h"

typedef enum {
    HPO_TRIAL_RUNNING = 0,
    HPO_TRIAL_WAITING = 1,
    HPO_TRIAL_COMPLETE = 2,
    HPO_TRIAL_PRUNED = 3,
    HPO_TRIAL_FAIL = 4,
    HPO_TRIAL_PAUSED = 5,   /* ASHA promotion: waits at a rung until promoted */
    HPO_TRIAL_STATE_COUNT = 6,
} hpo_trial_state;

/* "running", "waiting", "complete", "pruned", "fail", "paused". */
const char *hpo_trial_state_name(hpo_trial_state s);
hpo_rc hpo_trial_state_parse(const char *name, hpo_trial_state *ret);
bool hpo_trial_state_finished(hpo_trial_state s);

typedef enum { HPO_MINIMIZE = 0, HPO_MAXIMIZE = 1 } hpo_direction;

/* What a running trial should do next, as decided on a report or a heartbeat. */
typedef enum { HPO_ACTION_CONTINUE = 0, HPO_ACTION_PRUNE = 1, HPO_ACTION_PAUSE = 2 } hpo_action;
const char *hpo_action_name(hpo_action a); /* "continue", "prune", "pause" */
const char *hpo_direction_name(hpo_direction d);
hpo_rc hpo_direction_parse(const char *name, hpo_direction *ret);

/* Where a study's pruner may judge a trial's reports: the steps at which a report can get a
 * prune or a pause back (a superset: never fewer). The server derives it from its pruner
 * (hpo_pruner_decides, server/algo) and sends it in the ask answer as "decides"; a worker that
 * sends several reports in one request ends each batch where the pruner may judge. A report at
 * step s after the trial's report at step p (p < s) may be judged when a decision step lies in
 * (p, s] (hpo_decides_between): Optuna's "first report at or after a grid step", a rung. */
typedef enum {
    HPO_DECIDES_EVERY = 0, /* "every": any report may be judged (also: not known) */
    HPO_DECIDES_NEVER,     /* "never": none is (no pruner) */
    HPO_DECIDES_GRID,      /* "grid": start + k * interval, k >= 0 */
    HPO_DECIDES_POWERS,    /* "powers": start * factor^k, k >= 0, none above last */
} hpo_decides_kind;
typedef struct {
    hpo_decides_kind kind;
    int64_t start;    /* GRID: >= 0; POWERS: >= 1 */
    int64_t interval; /* GRID: the interval, >= 1; POWERS: the factor, >= 2 */
    int64_t last;     /* POWERS: the largest decision step, or -1 when unbounded */
} hpo_decides;
/* Every step: what a worker assumes when it is told nothing (or nothing it understands). */
#define HPO_DECIDES_ANY ((hpo_decides){.kind = HPO_DECIDES_EVERY, .last = -1})
const char *hpo_decides_kind_name(hpo_decides_kind k); /* "every", "never", "grid", "powers" */
hpo_rc hpo_decides_kind_parse(const char *name, hpo_decides_kind *ret);
/* Whether d's fields are in the ranges above (a description from elsewhere is checked). */
bool hpo_decides_valid(const hpo_decides *d);
/* Whether a decision step of d lies in (after, upto]; after < upto (after may be -1). */
bool hpo_decides_between(const hpo_decides *d, int64_t after, int64_t upto);

/* A param of a trial: its distribution and its internal value (categorical: the index). */
typedef struct {
    char *name; /* owned */
    hpo_dist dist;
    double value;
} hpo_param;

/* A trial number that may be absent: zeroed, it is absent. */
typedef struct {
    bool set;
    int64_t number;
} hpo_trial_ref;

/* An intermediate value. */
typedef struct {
    int64_t step;
    double value;
} hpo_report;

typedef struct {
    int64_t id;      /* database id, as loaded (the service addresses trials by number) */
    int64_t number;  /* 0, 1, 2, ... per study */
    hpo_trial_state state;
    size_t n_params, cap_params;
    hpo_param *params;       /* owned, in the order they were set */
    size_t n_values;
    double *values;          /* owned; one per objective once COMPLETE (PRUNED: 0 or 1) */
    size_t n_constraints;
    double *constraints;     /* owned; given with a COMPLETE or PRUNED finish (feasible when all
                              * are <= 0, as Optuna's constraints_func), else NULL and 0 */
    size_t n_reports, cap_reports;
    hpo_report *reports;     /* owned, sorted by step, steps unique */
    char *worker;            /* owned, may be NULL */
    char *idempotency_key;   /* owned, may be NULL */
    char *fail_reason;       /* owned, may be NULL */
    char *fixed_params;      /* owned JSON object text of params fixed for define-by-run, or NULL */
    int64_t created_ms, started_ms, finished_ms, heartbeat_ms; /* epoch ms, 0 = not yet */
    hpo_trial_ref retry_of;   /* the failed trial this one runs again (retry policy) */
    hpo_trial_ref retried_by; /* the trial that runs this one again */
    bool preempted;           /* failed because its worker was stopped (SIGTERM) */
    /* The generation an evolutionary sampler (NSGA-II, CMA-ES) made the trial in, set when it
     * samples a new trial or starts an enqueued one (Optuna keeps it as a system attribute);
     * has_generation false: none (another sampler, or a waiting trial not started yet). */
    bool has_generation;
    int64_t generation;
    uint64_t version;        /* server: the commit that last changed it in this load, 0 = loaded */
} hpo_trial;

/* An ASHA promotion: a trial paused at a rung handed out again to go past it, and when. */
typedef struct {
    int64_t number;
    int rung;
    int64_t ms; /* epoch ms */
} hpo_promotion;

/* Why a trial failed, as a retry policy names it. */
typedef enum {
    HPO_RETRY_FAIL = 1u << 0,           /* "fail": any other failure the worker reported */
    HPO_RETRY_HEARTBEAT_LOST = 1u << 1, /* "heartbeat_lost": the reaper failed it */
    HPO_RETRY_PREEMPTED = 1u << 2,      /* "preempted": its worker was stopped */
    HPO_RETRY_ALL = (1u << 3) - 1,
} hpo_retry_cause;
const char *hpo_retry_cause_name(hpo_retry_cause c); /* one cause: "fail", ... */
hpo_rc hpo_retry_cause_parse(const char *name, hpo_retry_cause *ret);

/* A study's retry policy: a trial that failed for a cause in `on` runs again as a new trial with
 * the same params, up to max_retries times per configuration. Zeroed: no retries. */
typedef struct {
    int max_retries;        /* 0..HPO_RETRY_MAX */
    unsigned on;            /* hpo_retry_cause bits */
    bool keep_intermediate; /* the retry starts with the failed trial's reports */
} hpo_retry_policy;
#define HPO_RETRY_MAX 100
/* What a study gets when it names no policy: no retries, every cause. */
#define HPO_RETRY_DEFAULT ((hpo_retry_policy){.max_retries = 0, .on = HPO_RETRY_ALL})

typedef struct {
    int64_t id;
    char *name;                   /* owned */
    size_t n_directions;
    hpo_direction *directions;    /* owned */
    char *sampler;                /* owned canonical JSON object text */
    char *pruner;                 /* owned canonical JSON object text */
    char *user_attrs;             /* owned JSON object text */
    hpo_space space;              /* declared search space (may be empty) */
    int64_t max_trials;           /* 0 = unlimited */
    int64_t heartbeat_grace_ms;   /* running trials silent for longer fail; 0 = never */
    hpo_retry_policy retry;
    int64_t created_ms;
} hpo_study_config;

/* Study names: 1-128 characters of [A-Za-z0-9._-]. */
hpo_rc hpo_study_name_validate(const char *name, const char *field, hpo_error *err);

/* Trials. _clear releases what the trial owns and zeroes it; NULL is a no-op. */
void hpo_trial_clear(hpo_trial *t);
hpo_rc hpo_trial_copy(hpo_trial *ret, const hpo_trial *src);
const hpo_param *hpo_trial_param(const hpo_trial *t, const char *name); /* borrowed or NULL */
hpo_rc hpo_trial_add_param(hpo_trial *t, const char *name, const hpo_dist *d, double value);
/* Inserts keeping steps sorted; a step already present is left as it was (returns false). */
hpo_rc hpo_trial_add_report(hpo_trial *t, int64_t step, double value, bool *ret_added);
const hpo_report *hpo_trial_last_report(const hpo_trial *t); /* NULL when none */
const hpo_report *hpo_trial_report_at(const hpo_trial *t, int64_t step); /* NULL when none */
/* Drops the params after the first n (undoes hpo_trial_add_param). */
void hpo_trial_truncate_params(hpo_trial *t, size_t n);
hpo_rc hpo_trial_set_values(hpo_trial *t, const double *values, size_t n);
hpo_rc hpo_trial_set_constraints(hpo_trial *t, const double *constraints, size_t n);

/* Constraints a finish may carry (a study's trials all give the same number of them). */
#define HPO_CONSTRAINTS_MAX 64
/* Optuna's violation of a trial's constraints: the sum of those above 0 (0: feasible). A trial
 * without constraints scores +inf: in a study whose trials give constraints it is infeasible and
 * ranks after every trial that gave some (Optuna 3.1's TPE does the same). */
double hpo_trial_violation(const hpo_trial *t);

void hpo_study_config_clear(hpo_study_config *c);
hpo_rc hpo_study_config_copy(hpo_study_config *ret, const hpo_study_config *src);

/* Whether a is better than b for a single objective in direction d (NaN is never better). */
bool hpo_value_better(hpo_direction d, double a, double b);
/* Pareto dominance over n objectives: a dominates b. */
bool hpo_values_dominate(const hpo_direction *dirs, size_t n, const double *a, const double *b);

/* Params a client fixes for a trial (ask, enqueue): names with their external values. */
typedef struct {
    char *name;        /* owned */
    hpo_choice value;  /* owned (a string value's text) */
} hpo_fixed_param;
typedef struct {
    size_t n;
    hpo_fixed_param *items; /* owned */
} hpo_fixed_params;
void hpo_fixed_params_clear(hpo_fixed_params *p); /* NULL is a no-op */

/* ---- records a query returns (trial lists, study summaries, artifacts, workers) ---- */

void hpo_trials_free(hpo_trial *t, size_t n); /* an array of n trials; NULL is a no-op */

/* A study in a list: its configuration, counts per state and best value. */
typedef struct {
    hpo_study_config config;
    int64_t counts[HPO_TRIAL_STATE_COUNT];
    int64_t n_retries;   /* trials that retry another: the others are its configurations */
    bool has_best;       /* single objective with at least one COMPLETE trial */
    double best_value;
    int64_t best_number;
} hpo_study_summary;
void hpo_study_summaries_free(hpo_study_summary *s, size_t n);

/* A file of a trial (model, checkpoint, log): its facts. */
typedef struct {
    char *name;        /* owned */
    int64_t size;
    char sha256[65];
    int64_t created_ms;
} hpo_artifact;
void hpo_artifacts_free(hpo_artifact *a, size_t n);

/* A registered worker. */
typedef struct {
    char *id, *host, *info; /* owned; info: JSON object text */
    int slots;
    int64_t first_seen_ms, last_seen_ms;
} hpo_worker_info;
void hpo_worker_infos_free(hpo_worker_info *w, size_t n);

/* A running trial that names its worker. */
typedef struct {
    char *worker, *study; /* owned */
    int64_t number;
} hpo_running_trial;
void hpo_running_trials_free(hpo_running_trial *r, size_t n);

/* strdup that accepts NULL (returns NULL). */
char *hpo_strdup(const char *s);

#endif
