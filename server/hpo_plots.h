/* hpo_plots: what the dashboard and plotting clients draw, read from a study's latest committed
 * version without its mutex (never from PostgreSQL): its trials (all of them, or those changed
 * after a version, for live pages), the optimization history, the empirical distribution of the
 * values, ASHA's rungs and the params' importances. */
#ifndef HPO_PLOTS_H
#define HPO_PLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_service.h"

#define HPO_VERSION_MAX 40

/* A study's trials as of one committed version, for the encoder that runs in the callback; the
 * pointers are valid only during it. */
typedef struct {
    const hpo_study_config *config;
    char version[HPO_VERSION_MAX]; /* opaque: "<load>.<commit>" */
    bool full;                     /* every trial; else only those changed after `since` */
    int64_t n_trials;
    int64_t counts[HPO_TRIAL_STATE_COUNT];
    const hpo_trial *const *trials; /* by number */
    size_t n;
} hpo_trials_view;
typedef hpo_rc (*hpo_trials_view_fn)(const hpo_trials_view *v, void *ctx, hpo_error *err);

/* Calls fn with the trials of the study's latest committed version that changed after version
 * `since`: all of them (full) when since is NULL or names another load of the study (a restart,
 * a reload). fn's result is returned. */
hpo_rc hpo_service_trials_view(hpo_service *svc, const char *study, const char *since,
                               hpo_trials_view_fn fn, void *ctx, hpo_error *err);

/* The study's latest committed version (loads it when it is not in memory). */
hpo_rc hpo_service_study_version(hpo_service *svc, const char *study,
                                 char ret[HPO_VERSION_MAX], hpo_error *err);
/* Waits until any study commits a version after count `seen` (0: returns at once) or timeout_ms
 * passes; returns the count now. For the HTTP layer's long polls. */
uint64_t hpo_service_wait_published(hpo_service *svc, uint64_t seen, int64_t timeout_ms);

/* Optimization history: the COMPLETE trials having objective `objective`, by number, with the
 * best value so far in its direction. */
typedef struct {
    hpo_direction direction;
    size_t n;
    int64_t *number;
    double *value, *best;
} hpo_history_data;
hpo_rc hpo_service_history(hpo_service *svc, const char *study, size_t objective,
                           hpo_history_data *ret, hpo_error *err);
void hpo_history_data_clear(hpo_history_data *h);

/* The hypervolume of a study of several objectives: the volume the Pareto front of its COMPLETE
 * trials (feasible ones only in a constrained study) dominates up to the reference point, and
 * with history the same after each of those trials, by number. ref: one number per objective in
 * the objectives' own directions (a maximized one is dominated below it), or NULL: Optuna's
 * default from the worst value of each objective over those trials. */
#define HPO_HV_MAX_OBJECTIVES 16
typedef struct {
    size_t n_objectives;
    double reference_point[HPO_HV_MAX_OBJECTIVES]; /* the one used, in the objectives' directions */
    double value;      /* the whole front's */
    size_t n;          /* with history: one entry per trial; else 0 */
    int64_t *number;
    double *hypervolume;
} hpo_hypervolume_data;
hpo_rc hpo_service_hypervolume(hpo_service *svc, const char *study, const double *ref,
                               size_t n_ref, bool history, hpo_hypervolume_data *ret,
                               hpo_error *err);
void hpo_hypervolume_data_clear(hpo_hypervolume_data *h);

/* The COMPLETE trials' values of objective `objective`, ascending (the EDF's steps). */
typedef struct {
    size_t n;
    double *values;
} hpo_edf_data;
hpo_rc hpo_service_edf(hpo_service *svc, const char *study, size_t objective, hpo_edf_data *ret,
                       hpo_error *err);
void hpo_edf_data_clear(hpo_edf_data *e);

/* ASHA: per rung, the trials that reached it (a report at a step >= its resource), those paused
 * there now and those promoted past it; and each promotion (trial, rung, time): those the server
 * recorded, in the order made, then those known only from a trial's reports (made before the
 * schema kept them; ms 0). Empty for other pruners. */
typedef struct {
    int rung;
    int64_t resource;
    int64_t reached, paused, promoted;
} hpo_asha_rung;
typedef struct {
    int64_t number;
    int rung;
    int64_t ms; /* when it was made; 0 when not known */
} hpo_asha_promotion;
typedef struct {
    size_t n_rungs;
    hpo_asha_rung *rungs;
    size_t n_promotions;
    hpo_asha_promotion *promotions;
} hpo_asha_data;
hpo_rc hpo_service_asha(hpo_service *svc, const char *study, hpo_asha_data *ret, hpo_error *err);
void hpo_asha_data_clear(hpo_asha_data *a);

/* Parameter importance: fANOVA (Optuna 3.1's evaluator: a random forest, 64 trees) or PED-ANOVA
 * (Optuna 3.6's), over the COMPLETE trials having every param ranked; computed on the committed
 * version without the study's mutex. params: the names to rank (NULL/0: those every COMPLETE
 * trial has), each with the declared distribution or the latest one a trial used. */
typedef enum { HPO_EVALUATOR_FANOVA = 0, HPO_EVALUATOR_PED_ANOVA = 1 } hpo_evaluator;
typedef struct {
    hpo_evaluator evaluator;
    size_t objective;
    uint64_t seed;              /* fANOVA's forest */
    const char *const *params;
    size_t n_params;
} hpo_importance_request;
/* Sorted by importance, descending; importances sum to 1. */
typedef struct {
    size_t n;
    char **names;               /* owned */
    double *importance;
    int64_t n_trials;           /* COMPLETE trials having every param ranked */
} hpo_importance_data;
hpo_rc hpo_service_importance(hpo_service *svc, const char *study,
                              const hpo_importance_request *req, hpo_importance_data *ret,
                              hpo_error *err);
void hpo_importance_data_clear(hpo_importance_data *d);

#endif
