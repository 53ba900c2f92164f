/* hpo_nsga2_population: the NSGA-II sampler over a study's trials, as Optuna 3.1's NSGAIISampler
 * runs it: the parent population replayed generation by generation from the trials
 * (_collect_parent_population), and a new trial's declared params made from it (sample_relative
 * and the random draws of sample_independent). Pure: no I/O; the core is hpo_nsga2.h. */
#ifndef HPO_NSGA2_POPULATION_H
#define HPO_NSGA2_POPULATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_nsga2.h"
#include "hpo_rng.h"
#include "hpo_space.h"

/* Optuna's default population size. */
#define HPO_NSGA2_POPULATION_SIZE 50
/* The largest population size accepted (a generation is that many trials). */
#define HPO_NSGA2_POPULATION_MAX 1000000

/* A study's NSGA-II options (NSGAIISampler's arguments). */
typedef struct {
    size_t population_size;        /* >= 2; 50 */
    hpo_nsga2_child_options child; /* crossover_prob, swapping_prob, mutation_prob (NaN: unset) */
    bool constraints;              /* true: constrained dominance over the trials' constraints
                                    * (Optuna's constraints_func); a study whose trials give none
                                    * ranks as without */
} hpo_nsga2_config;

void hpo_nsga2_config_default(hpo_nsga2_config *ret);
/* HPO_E_INVALID naming `<prefix>population_size`, `<prefix>mutation_prob`, ... (prefix may be
 * NULL: none) for a value out of range. */
hpo_rc hpo_nsga2_config_validate(const hpo_nsga2_config *c, const char *prefix, hpo_error *err);

/* The parent population of a new trial and what its child is made from. Owned arrays:
 * hpo_nsga2_parents_clear. */
typedef struct {
    int64_t generation; /* the new trial's generation: the parents' + 1; 0 when there are none */
    size_t n;           /* parents: 0 in generation 0, else min(population_size, ...) >= 2 */
    size_t *index;      /* n indexes into the trials given, in the order Optuna's elite list has */
    size_t m;           /* objectives */
    const hpo_direction *dirs; /* m, borrowed from the caller of hpo_nsga2_parents_collect */
    double *values;     /* n x m: the parents' values as reported */
    double *violation;  /* n (NaN: no constraint values), or NULL: unconstrained dominance */
    /* the relative search space: the declared params that are not single-valued and that every
     * parent has with the declared distribution; the others are drawn at random */
    size_t n_rel;
    size_t *rel;        /* n_rel indexes into the space */
    bool *categorical;  /* n_rel */
    double *params;     /* n x n_rel: the parents' internal values */
} hpo_nsga2_parents;

/* What a replay learnt, kept for the next one: per generation its members and its elite (trial
 * numbers). A generation whose members are the same as last time, after a generation that was
 * too, has the same elite (a COMPLETE trial never changes), so a replay recomputes only the
 * generations that changed: an ask costs one elite selection, not one per generation. Valid
 * for one study's trials as long as trial numbers name the same trials (a study loaded again
 * starts a new cache); it is not locked: one replay at a time. */
typedef struct hpo_nsga2_cache hpo_nsga2_cache;
hpo_nsga2_cache *hpo_nsga2_cache_new(void); /* NULL: out of memory */
void hpo_nsga2_cache_free(hpo_nsga2_cache *c); /* NULL is a no-op */

/* _collect_parent_population over trials[0..n) in number order: only the COMPLETE trials that
 * have a generation (and m values, none NaN) count; generation g is complete when at least
 * population_size of them are in it; its elite is hpo_nsga2_select_elite over its COMPLETE
 * trials in number order followed by the elite of generation g - 1 (none for 0); the first
 * generation that is not complete is the new trial's, the elite before it its parents. Values
 * are as reported (dirs says which are maximized); violations (c->constraints) from each
 * trial's constraints by hpo_nsga2_violation, NaN for a trial without. space: the declared
 * params (the relative search space is taken from it). cache: NULL, or one kept for these
 * trials and this c (the result is the same; a cache that cannot grow just helps less). *ret
 * owned; HPO_E_NOMEM. */
hpo_rc hpo_nsga2_parents_collect(const hpo_nsga2_config *c, const hpo_direction *dirs, size_t m,
                                 const hpo_space *space, const hpo_trial *trials, size_t n,
                                 hpo_nsga2_cache *cache, hpo_nsga2_parents *ret, hpo_error *err);
void hpo_nsga2_parents_clear(hpo_nsga2_parents *p); /* NULL is a no-op */

/* A new trial's declared params (internal values, one per item of space, in its order): in
 * generation 0 each drawn at random (hpo_sampler_random); else the child of the parents
 * (hpo_nsga2_child over the relative search space, categoricals by choice index), its mutated
 * params and the params outside the relative space drawn at random, in the space's order. All
 * the draws come from rng. HPO_E_NOMEM. */
hpo_rc hpo_nsga2_parents_child(const hpo_nsga2_config *c, const hpo_nsga2_parents *par,
                               const hpo_space *space, hpo_rng *rng, double *ret_values,
                               hpo_error *err);

#endif
