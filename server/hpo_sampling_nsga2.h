/* hpo_sampling_nsga2: the options of the nsga2 sampler in a study's sampler JSON, read one by one
 * and written back in canonical form. Seen by hpo_sampling.c only. */
#ifndef HPO_SAMPLING_NSGA2_H
#define HPO_SAMPLING_NSGA2_H

#include <jansson.h>

#include "hpo_error.h"
#include "hpo_nsga2_population.h"

/* Reads option `key` (not "type" nor "seed") into c: population_size (an integer), mutation_prob
 * (null or a number), crossover_prob, swapping_prob (numbers), constraints (a boolean).
 * HPO_E_INVALID naming "sampler.<key>" for a value of the wrong kind or an unknown key; ranges
 * are checked by hpo_sampling_nsga2_write. v borrowed. */
hpo_rc hpo_sampling_nsga2_option(const char *key, const json_t *v, hpo_nsga2_config *c,
                                 hpo_error *err);

/* Checks c (HPO_E_INVALID naming "sampler.<option>") and spells every option out into out
 * (mutation_prob null when unset). */
hpo_rc hpo_sampling_nsga2_write(const hpo_nsga2_config *c, json_t *out, hpo_error *err);

#endif
