/* hpo_pruner: early-stopping decisions as pure functions (Optuna's pruners and the paper's
 * promotion-based ASHA): a study's trials and the reporting trial in, an action out. Direction-
 * aware and NaN-safe. No I/O. */
#ifndef HPO_PRUNER_H
#define HPO_PRUNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_step_index.h"

typedef enum {
    HPO_PRUNER_NONE = 0,
    HPO_PRUNER_MEDIAN,             /* percentile 50 */
    HPO_PRUNER_PERCENTILE,
    HPO_PRUNER_THRESHOLD,
    HPO_PRUNER_PATIENT,            /* wraps another pruner (or none) */
    HPO_PRUNER_SUCCESSIVE_HALVING, /* Optuna's asynchronous stopping variant */
    HPO_PRUNER_HYPERBAND,
    HPO_PRUNER_ASHA,               /* promotion-based: pause at each rung, promote the top 1/eta */
} hpo_pruner_type;

typedef struct hpo_pruner_config {
    hpo_pruner_type type;
    /* median / percentile: Optuna's defaults 50, 5, 0, 1, 1 */
    double percentile;
    int n_startup_trials;
    int64_t n_warmup_steps;   /* also threshold */
    int64_t interval_steps;   /* also threshold */
    int n_min_trials;
    /* threshold: prune when the value is below lower or above upper (or NaN) */
    bool has_lower, has_upper;
    double lower, upper;
    /* patient: prune when no improvement by more than min_delta over `patience` steps and the
     * wrapped pruner (NULL: none) would prune */
    int64_t patience;
    double min_delta;
    struct hpo_pruner_config *wrapped; /* owned */
    /* successive halving, hyperband, asha */
    int64_t min_resource;     /* 0 = "auto" (successive halving only; hyperband, asha: >= 1) */
    int64_t max_resource;     /* hyperband (0 = "auto") and asha */
    int reduction_factor;     /* eta */
    int min_early_stopping_rate;
    int bootstrap_count;
} hpo_pruner_config;

/* Defaults of each type as in Optuna (asha: min_resource 1, reduction_factor 3, and
 * max_resource 0, which validation refuses: it must be given). */
void hpo_pruner_config_default(hpo_pruner_type type, hpo_pruner_config *ret);
/* Range checks naming "pruner.<option>" fields. */
hpo_rc hpo_pruner_config_validate(const hpo_pruner_config *c, hpo_error *err);
void hpo_pruner_config_clear(hpo_pruner_config *c); /* frees `wrapped` chains */

/* The decision for trial t (one of trials[], RUNNING, whose newest report was just stored) in a
 * single-objective study of direction dir. trials: every trial of the study (or of t's bracket
 * for hyperband: see hpo_hyperband_bracket). For ASHA: PAUSE when the report reaches the rung
 * the trial runs to and that rung is below max_resource; never PRUNE. t's newest report is its
 * last one by step (Optuna's last_step). Never fails: out of memory answers CONTINUE.
 *
 * Median / percentile / threshold follow Optuna 3.1 exactly: a step is judged when its report is
 * the first at or after a grid step n_warmup_steps + k * interval_steps (with a report at every
 * step: (step - n_warmup_steps) % interval_steps == 0); the trial's best value ignores NaN and
 * only an all-NaN trial is pruned for NaN; completed trials' NaN at the step count toward
 * n_min_trials but not in the percentile (numpy's nanpercentile, linear). A patient pruner may
 * not wrap hyperband or asha (validation refuses it). Successive halving's bootstrap_count is
 * Optuna's: a trial reaching a rung that, with it, has been recorded by no more than
 * bootstrap_count trials is pruned there (so the first bootstrap_count trials at a rung stop).
 *
 * Where this departs from Optuna 3.1, and why:
 * - Successive halving (and hyperband's brackets) keeps no per-trial state: Optuna stores a
 *   trial's value for rung r as a system attr when the report reaching the rung is judged; here
 *   a trial has recorded rung r when it has a report at a step >= the rung's step, and its value
 *   there is that of its first such report (NaN values record nothing: Optuna prunes them before
 *   recording). The differences: a report jumping over several rungs records its value for
 *   each of them, where Optuna stops recording at the first rung the trial lost. With an
 *   "auto" min_resource, Optuna records nothing before the first trial completes: trials that
 *   had finished by then take no part here either; a trial that was running across that moment
 *   counts its earlier reports as records, where Optuna records from its next report on.
 * - "auto" resources (successive halving's min_resource, hyperband's max_resource) are derived
 *   from the COMPLETE trials on every call; Optuna fixes them at the first estimate in each
 *   process. They agree while completed trials share their last step.
 * - Hyperband: hpo_pruner_decide takes t's bracket from c->min_early_stopping_rate (unused by
 *   hyperband otherwise); hpo_hyperband_decide takes it as an argument. n_brackets is computed
 *   in integers: Optuna's float log gives 5 brackets for max/min = 243, eta 3, where it is 6. */
hpo_action hpo_pruner_decide(const hpo_pruner_config *c, hpo_direction dir,
                             const hpo_trial *trials, size_t n_trials, const hpo_trial *t);
/* The same decision with the COMPLETE trials' values per step taken from ix (an index of exactly
 * the COMPLETE trials among trials[]) instead of a scan: the median and percentile pruners then
 * cost a binary search, not a pass over the history. */
hpo_action hpo_pruner_decide_indexed(const hpo_pruner_config *c, hpo_direction dir,
                                     const hpo_trial *trials, size_t n_trials,
                                     const hpo_step_index *ix, const hpo_trial *t);

/* Hyperband: the number of brackets, and the bracket of trial `number` (assigned in proportion to
 * each bracket's budget, deterministically from the study name and the number).
 * n_brackets: floor(log_eta(max_resource / min_resource)) + 1, with max_resource "auto" = the
 * largest last step of the COMPLETE trials + 1 (as Optuna); 0 while unknown (no COMPLETE trial)
 * or when max_resource < min_resource: nothing is pruned then.
 * bracket: bracket i has budget ceil(n_brackets * eta^s / (s + 1)), s = n_brackets - 1 - i; the
 * trial goes to the bracket where CRC-32 of "<study>_<number>" modulo the total budget falls in
 * the cumulative budgets. This is Optuna 3.1's rule exactly (binascii.crc32, stable across
 * processes), so a study gets the same brackets here as in Optuna. 0 when n_brackets <= 0. */
int hpo_hyperband_n_brackets(const hpo_pruner_config *c, const hpo_trial *trials, size_t n);
int hpo_hyperband_bracket(const hpo_pruner_config *c, const char *study, int64_t number,
                          int n_brackets);
/* Hyperband's decision for t in `bracket` (0 .. n_brackets - 1): successive halving with
 * min_resource, reduction_factor, bootstrap_count and min_early_stopping_rate = bracket, over
 * trials[] = the trials of that bracket. Call it only once hpo_hyperband_n_brackets over all the
 * study's trials is > 0 (Optuna prunes nothing before). */
hpo_action hpo_hyperband_decide(const hpo_pruner_config *c, hpo_direction dir, int bracket,
                                const hpo_trial *trials, size_t n_trials, const hpo_trial *t);

/* ASHA promotion. Rung k is reached at step min_resource * eta^k (k = 0 .. top, the last rung
 * being max_resource). top = the largest k with min_resource * eta^k <= max_resource; when
 * max_resource is not min_resource times a power of eta, rung top is max_resource itself
 * (min 1, max 20, eta 3: rungs 1, 3, 20). rung_resource: 0 for rung < 0, max_resource for
 * rung >= top. A report at a step >= max_resource is never paused (the trial completes). */
int64_t hpo_asha_rung_resource(const hpo_pruner_config *c, int rung);
int hpo_asha_top_rung(const hpo_pruner_config *c);
/* The highest rung whose resource is <= step, or -1 below the first rung. */
int hpo_asha_rung_of_step(const hpo_pruner_config *c, int64_t step);
/* A paused trial to promote now: a PAUSED trial in the top floor(count / eta) of its rung
 * (count = trials that reached the rung, ranked by their value at the rung) and so not yet
 * promoted from it; highest rung first, best value first within a rung. Returns its index in
 * trials[] and its rung in *ret_rung, or SIZE_MAX when none can be promoted now. */
size_t hpo_asha_pick_promotion(const hpo_pruner_config *c, hpo_direction dir,
                               const hpo_trial *trials, size_t n_trials, int *ret_rung);

/* Where c may judge the reports of trial `number` of study `study` (hpo_decides, hpo_model.h):
 * the steps at which hpo_pruner_decide (or hyperband's decision over the trial's bracket) can
 * answer other than CONTINUE, for a worker to end its batches of reports there. Never fewer:
 * - none: NEVER; median, percentile, threshold: GRID n_warmup_steps + k * interval_steps;
 * - patient: its wrapped pruner's steps (it prunes only where that one does), EVERY alone;
 * - successive halving: POWERS min_resource * eta^(min_early_stopping_rate + k); EVERY with an
 *   "auto" min_resource (its rungs move with the completed trials);
 * - hyperband: POWERS min_resource * eta^(bracket + k) over the trial's bracket when
 *   max_resource is fixed; with "auto" the brackets move: min_resource * eta^k (every bracket's
 *   rungs are among them);
 * - asha: POWERS min_resource * eta^k below max_resource, `last` the highest such rung (a
 *   report at max_resource is never paused); NEVER when no rung lies below max_resource.
 * An unvalidated config that hpo_pruner_decide would never act on gives NEVER. Pure. */
hpo_decides hpo_pruner_decides(const hpo_pruner_config *c, const char *study, int64_t number);

#endif
