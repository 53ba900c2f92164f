/* hpo_codec: JSON codecs over jansson for the model types of common/core.
 * Functions returning json_t* return a new reference (owned by the caller) or NULL on OOM.
 * json_t* arguments are borrowed. Decoders validate and name the field at fault in err. */
#ifndef HPO_CODEC_H
#define HPO_CODEC_H

#include <jansson.h>
#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_space.h"

/* {"type":"float","low":..,"high":..,"log":..,"step":..} | {"type":"int",...} |
 * {"type":"categorical","choices":[...]} -> validated distribution. Unknown keys are 400. */
hpo_rc hpo_json_to_dist(const json_t *j, const char *field, hpo_dist *ret, hpo_error *err);
json_t *hpo_dist_to_json(const hpo_dist *d);

/* A JSON value -> a choice (strings, numbers, booleans, null; anything else is 400). */
hpo_rc hpo_json_to_choice(const json_t *j, const char *field, hpo_choice *ret, hpo_error *err);
json_t *hpo_choice_to_json(const hpo_choice *c);

/* {"name": dist, ...} -> space (names validated). */
hpo_rc hpo_json_to_space(const json_t *j, const char *field, hpo_space *ret, hpo_error *err);
json_t *hpo_space_to_json(const hpo_space *s);

/* External value (what users see: a number, an integer, or the choice) <-> internal value. */
json_t *hpo_param_value_to_json(const hpo_dist *d, double internal);
hpo_rc hpo_json_to_param_value(const hpo_dist *d, const json_t *v, const char *field,
                               double *ret_internal, hpo_error *err);

/* {"name": value, ...} (values: JSON scalars) -> fixed params, names not yet validated. *ret
 * owned: hpo_fixed_params_clear. */
hpo_rc hpo_json_to_fixed_params(const json_t *j, const char *field, hpo_fixed_params *ret,
                                hpo_error *err);
/* The JSON object of the given fixed params (borrowed pointers), in that order. */
json_t *hpo_fixed_params_to_json(const hpo_fixed_param *const *items, size_t n);

/* A number that may be JSON integer or real; HPO_E_INVALID naming field otherwise, and for
 * non-finite values. */
hpo_rc hpo_json_number(const json_t *v, const char *field, double *ret, hpo_error *err);

/* A retry policy {"max_retries", "on", "keep_intermediate"}: absent members take their defaults
 * (0, every cause, false); unknown members and bad values are HPO_E_INVALID naming the field. */
hpo_rc hpo_json_to_retry(const json_t *j, const char *field, hpo_retry_policy *ret,
                         hpo_error *err);
json_t *hpo_retry_to_json(const hpo_retry_policy *p); /* every member spelled out */

/* The trial as the API shows it: number, state, params (external values), distributions,
 * value/values, intermediate_values [{step, value}], worker, datetime_start/complete,
 * fail_reason, retry_of/retried_by (numbers or null), preempted, constraints (numbers or null). `study` names the study (borrowed, may be NULL). */
json_t *hpo_trial_to_json(const hpo_trial *t, const char *study, size_t n_directions);

/* Where the pruner may judge (the ask answer's "decides"): {"kind": "every"}, {"kind": "never"},
 * {"kind": "grid", "start", "interval"} or {"kind": "powers", "start", "factor"} with "last"
 * when the powers stop (hpo_model.h: hpo_decides). */
json_t *hpo_decides_to_json(const hpo_decides *d);

/* The study's configuration as the API shows it (heartbeat_grace in seconds, or null). */
json_t *hpo_study_config_to_json(const hpo_study_config *c);

/* {"error":{"code":..,"message":..,"field":..}} (field left out when empty). */
json_t *hpo_error_to_json(const hpo_error *err);

/* An epoch-milliseconds time as an ISO 8601 UTC string, or null for 0 (not set). New reference. */
json_t *hpo_json_time(int64_t ms);

/* Compact JSON text with sorted keys (owned, free()), or NULL. */
char *hpo_json_dump(const json_t *j);

#endif
