/* hpo_sampling_nsga2: the nsga2 sampler's options (NSGAIISampler's arguments) in the sampler
 * JSON; the sampler itself is server/algo/hpo_nsga2_population.c, called by hpo_sampling.c. */
#include "hpo_sampling_nsga2.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hpo_codec.h"

hpo_rc hpo_sampling_nsga2_option(const char *key, const json_t *v, hpo_nsga2_config *c,
                                 hpo_error *err)
{
    char field[HPO_ERROR_FIELD_MAX];
    snprintf(field, sizeof field, "sampler.%s", key);
    if (strcmp(key, "population_size") == 0) {
        if (!json_is_integer(v) || json_integer_value(v) < 2 ||
            json_integer_value(v) > HPO_NSGA2_POPULATION_MAX)
            return hpo_error_set(err, HPO_E_INVALID, field,
                                 "%s must be an integer from 2 to %d", field,
                                 HPO_NSGA2_POPULATION_MAX);
        c->population_size = (size_t)json_integer_value(v);
        return HPO_OK;
    }
    if (strcmp(key, "mutation_prob") == 0 && json_is_null(v)) {
        c->child.mutation_prob = NAN; /* 1 / the number of params */
        return HPO_OK;
    }
    double *at = strcmp(key, "mutation_prob") == 0    ? &c->child.mutation_prob
                 : strcmp(key, "crossover_prob") == 0 ? &c->child.crossover_prob
                 : strcmp(key, "swapping_prob") == 0  ? &c->child.swapping_prob
                                                      : NULL;
    if (at) {
        hpo_rc rc = hpo_json_number(v, field, at, NULL);
        if (rc)
            return hpo_error_set(err, HPO_E_INVALID, field, "%s must be a number in [0, 1]%s",
                                 field, at == &c->child.mutation_prob ? " or null" : "");
        return HPO_OK;
    }
    if (strcmp(key, "constraints") == 0) {
        if (!json_is_boolean(v))
            return hpo_error_set(err, HPO_E_INVALID, field, "%s must be true or false", field);
        c->constraints = json_is_true(v);
        return HPO_OK;
    }
    return hpo_error_set(err, HPO_E_INVALID, field, "unknown option '%s' for sampler 'nsga2'",
                         key);
}

hpo_rc hpo_sampling_nsga2_write(const hpo_nsga2_config *c, json_t *out, hpo_error *err)
{
    hpo_rc rc = hpo_nsga2_config_validate(c, "sampler.", err);
    if (rc)
        return rc;
    json_object_set_new(out, "population_size", json_integer((json_int_t)c->population_size));
    json_object_set_new(out, "mutation_prob", isnan(c->child.mutation_prob)
                                                  ? json_null()
                                                  : json_real(c->child.mutation_prob));
    json_object_set_new(out, "crossover_prob", json_real(c->child.crossover_prob));
    json_object_set_new(out, "swapping_prob", json_real(c->child.swapping_prob));
    json_object_set_new(out, "constraints", json_boolean(c->constraints));
    return HPO_OK;
}
