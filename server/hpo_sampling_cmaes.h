/* hpo_sampling_cmaes: the cmaes sampler's configuration (JSON in, validated, canonical JSON out),
 * for hpo_sampling.c; the sampling itself is server/algo/hpo_cmaes_sampler. */
#ifndef HPO_SAMPLING_CMAES_H
#define HPO_SAMPLING_CMAES_H

#include <jansson.h>

#include "hpo_sampling.h"

/* Reads the options of j (a {"type": "cmaes", ...} object; "type" and "seed" are read by the
 * caller) into s->cmaes and writes them all, spelled out, into out (borrowed). HPO_E_INVALID
 * naming "sampler.<option>" for an unknown option or a bad value, "sampler.type" for a study of
 * several objectives. */
hpo_rc hpo_sampling_cmaes_configure(json_t *j, const hpo_study_config *study, hpo_sampler *s,
                                    json_t *out, hpo_error *err);

#endif
