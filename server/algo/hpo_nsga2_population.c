/* hpo_nsga2_population: NSGAIISampler's parent population replayed from the trials'
 * generations, and the params of a new trial made from it. */
#include "hpo_nsga2_population.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_sampler.h"
#include "hpo_sort.h"

void hpo_nsga2_config_default(hpo_nsga2_config *ret)
{
    ret->population_size = HPO_NSGA2_POPULATION_SIZE;
    hpo_nsga2_child_options_default(&ret->child);
    ret->constraints = true;
}

static bool prob_ok(double x)
{
    return x >= 0 && x <= 1;
}

hpo_rc hpo_nsga2_config_validate(const hpo_nsga2_config *c, const char *prefix, hpo_error *err)
{
    const char *p = prefix ? prefix : "";
    char field[HPO_ERROR_FIELD_MAX];
    const char *bad = NULL, *why = NULL;
    if (c->population_size < 2 || c->population_size > HPO_NSGA2_POPULATION_MAX)
        bad = "population_size", why = "an integer from 2 to 1000000";
    else if (!isnan(c->child.mutation_prob) && !prob_ok(c->child.mutation_prob))
        bad = "mutation_prob", why = "null or a number in [0, 1]";
    else if (!prob_ok(c->child.crossover_prob))
        bad = "crossover_prob", why = "a number in [0, 1]";
    else if (!prob_ok(c->child.swapping_prob))
        bad = "swapping_prob", why = "a number in [0, 1]";
    if (!bad)
        return HPO_OK;
    snprintf(field, sizeof field, "%s%s", p, bad);
    return hpo_error_set(err, HPO_E_INVALID, field, "%s must be %s", field, why);
}

void hpo_nsga2_parents_clear(hpo_nsga2_parents *p)
{
    if (!p)
        return;
    free(p->index);
    free(p->values);
    free(p->violation);
    free(p->rel);
    free(p->categorical);
    free(p->params);
    memset(p, 0, sizeof *p);
}

/* A trial that counts in its generation's population: COMPLETE, with a generation and m values,
 * none NaN (Optuna fails a trial whose value is NaN, so none of its members has one). */
static bool member(const hpo_trial *t, size_t m)
{
    if (t->state != HPO_TRIAL_COMPLETE || !t->has_generation || t->generation < 0 ||
        t->n_values != m)
        return false;
    for (size_t j = 0; j < m; j++)
        if (isnan(t->values[j]))
            return false;
    return true;
}

typedef struct {
    int64_t generation;
    size_t idx;
} by_generation;

static bool generation_less(const by_generation *a, const by_generation *b)
{
    return a->generation < b->generation;
}

HPO_SORT_DEFINE(sort_by_generation, by_generation, generation_less)

/* ---- the cache ---- */

typedef struct {
    size_t n_members, n_elite;
    int64_t *members; /* trial numbers, in number order */
    int64_t *elite;   /* trial numbers, in the elite's order */
} cached_generation;

struct hpo_nsga2_cache {
    size_t n, cap;
    cached_generation *gens;
};

hpo_nsga2_cache *hpo_nsga2_cache_new(void)
{
    return calloc(1, sizeof(hpo_nsga2_cache));
}

/* Drops generations g and later. */
static void cache_truncate(hpo_nsga2_cache *c, size_t g)
{
    for (size_t i = g; i < c->n; i++) {
        free(c->gens[i].members);
        free(c->gens[i].elite);
    }
    if (c->n > g)
        c->n = g;
}

void hpo_nsga2_cache_free(hpo_nsga2_cache *c)
{
    if (!c)
        return;
    cache_truncate(c, 0);
    free(c->gens);
    free(c);
}

/* The index of trial `number` in trials[0..n) (number order), SIZE_MAX when absent. */
static size_t index_of(const hpo_trial *trials, size_t n, int64_t number)
{
    if (number >= 0 && (uint64_t)number < n && trials[number].number == number)
        return (size_t)number; /* the whole study: index = number */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (trials[mid].number < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && trials[lo].number == number ? lo : SIZE_MAX;
}

/* Generation g's elite from the cache into elite (indexes into trials; scratch when there is no
 * hit), when its members (k entries of mem) are those it was computed from. */
static bool cache_hit(const hpo_nsga2_cache *c, size_t g, const hpo_trial *trials, size_t n,
                      const by_generation *mem, size_t k, size_t *elite, size_t *ret_n)
{
    if (!c || g >= c->n || c->gens[g].n_members != k || c->gens[g].n_elite > n)
        return false;
    const cached_generation *e = &c->gens[g];
    for (size_t i = 0; i < k; i++)
        if (trials[mem[i].idx].number != e->members[i])
            return false;
    for (size_t i = 0; i < e->n_elite; i++)
        if ((elite[i] = index_of(trials, n, e->elite[i])) == SIZE_MAX)
            return false;
    *ret_n = e->n_elite;
    return true;
}

/* Keeps generation g (the cache holds 0..g-1); out of memory: the cache stays at 0..g-1. */
static void cache_put(hpo_nsga2_cache *c, size_t g, const hpo_trial *trials,
                      const by_generation *mem, size_t k, const size_t *elite, size_t n_elite)
{
    cache_truncate(c, g);
    if (c->n != g)
        return; /* an earlier generation could not be kept */
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        cached_generation *p = realloc(c->gens, cap * sizeof *p);
        if (!p)
            return;
        c->gens = p;
        c->cap = cap;
    }
    cached_generation e = {k, n_elite, malloc((k ? k : 1) * sizeof(int64_t)),
                           malloc((n_elite ? n_elite : 1) * sizeof(int64_t))};
    if (!e.members || !e.elite) {
        free(e.members);
        free(e.elite);
        return;
    }
    for (size_t i = 0; i < k; i++)
        e.members[i] = trials[mem[i].idx].number;
    for (size_t i = 0; i < n_elite; i++)
        e.elite[i] = trials[elite[i]].number;
    c->gens[c->n++] = e;
}

/* ---- the replay ---- */

/* Row i of a population: trial t's values and violation. */
static void put_row(const hpo_nsga2_config *c, const hpo_trial *t, size_t m, size_t i,
                    double *values, double *violation)
{
    memcpy(values + i * m, t->values, m * sizeof *values);
    if (c->constraints)
        violation[i] = t->n_constraints ? hpo_nsga2_violation(t->constraints, t->n_constraints)
                                        : NAN;
}

/* The relative search space and the parents' params in it. */
static hpo_rc take_params(hpo_nsga2_parents *par, const hpo_space *space,
                          const hpo_trial *trials, hpo_error *err)
{
    size_t ns = space->n ? space->n : 1, np = par->n ? par->n : 1;
    par->rel = malloc(ns * sizeof *par->rel);
    par->categorical = malloc(ns * sizeof *par->categorical);
    par->params = malloc(np * ns * sizeof *par->params);
    if (!par->rel || !par->categorical || !par->params)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (size_t j = 0; j < space->n; j++) {
        const hpo_dist *d = &space->items[j].dist;
        bool single = d->type == HPO_DIST_CATEGORICAL ? d->n_choices <= 1 : !(d->low < d->high);
        if (single)
            continue; /* Optuna draws it with sample_independent: its one value */
        bool all = true;
        for (size_t i = 0; i < par->n && all; i++) {
            const hpo_param *p = hpo_trial_param(&trials[par->index[i]], space->items[j].name);
            all = p && hpo_dist_equal(&p->dist, d);
        }
        if (!all)
            continue;
        size_t k = par->n_rel++;
        par->rel[k] = j;
        par->categorical[k] = d->type == HPO_DIST_CATEGORICAL;
    }
    for (size_t i = 0; i < par->n; i++)
        for (size_t k = 0; k < par->n_rel; k++)
            par->params[i * par->n_rel + k] =
                hpo_trial_param(&trials[par->index[i]], space->items[par->rel[k]].name)->value;
    return HPO_OK;
}

hpo_rc hpo_nsga2_parents_collect(const hpo_nsga2_config *c, const hpo_direction *dirs, size_t m,
                                 const hpo_space *space, const hpo_trial *trials, size_t n,
                                 hpo_nsga2_cache *cache, hpo_nsga2_parents *ret, hpo_error *err)
{
    hpo_nsga2_parents par = {.m = m, .dirs = dirs};
    size_t pop = c->population_size;
    size_t most = pop < n ? pop : n;  /* an elite's size */
    size_t cap = n + most + 1;        /* a generation's members plus the elite before it */
    by_generation *mem = malloc((n ? n : 1) * sizeof *mem);
    by_generation *tmp = malloc((n ? n : 1) * sizeof *tmp);
    size_t *rows = malloc(cap * sizeof *rows), *sel = malloc(cap * sizeof *sel);
    double *values = malloc(cap * (m ? m : 1) * sizeof *values);
    double *violation = c->constraints ? malloc(cap * sizeof *violation) : NULL;
    par.index = malloc((most + 1) * sizeof *par.index);
    hpo_rc rc = HPO_OK;
    if (!mem || !tmp || !rows || !sel || !values || (c->constraints && !violation) || !par.index) {
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (member(&trials[i], m))
            mem[k++] = (by_generation){trials[i].generation, i};
    sort_by_generation(mem, tmp, k); /* stable: number order within a generation */

    int64_t g = 0;
    size_t pos = 0;
    bool hits = true; /* every generation so far came from the cache */
    for (;;) {
        size_t end = pos;
        while (end < k && mem[end].generation == g)
            end++;
        if (end - pos < pop)
            break;
        size_t n_hit;
        if (hits && cache_hit(cache, (size_t)g, trials, n, mem + pos, end - pos, sel, &n_hit)) {
            memcpy(par.index, sel, n_hit * sizeof *sel);
            par.n = n_hit;
            pos = end;
            g++;
            continue;
        }
        hits = false;
        /* the generation's COMPLETE trials in number order, then the elite before it */
        size_t len = 0;
        for (size_t i = pos; i < end; i++)
            rows[len++] = mem[i].idx;
        for (size_t i = 0; i < par.n; i++)
            rows[len++] = par.index[i];
        for (size_t i = 0; i < len; i++)
            put_row(c, &trials[rows[i]], m, i, values, violation);
        hpo_nsga2_pop p = {len, m, values, dirs, violation};
        size_t n_sel = 0;
        if ((rc = hpo_nsga2_select_elite(&p, pop, sel, &n_sel, err)))
            goto done;
        for (size_t i = 0; i < n_sel; i++)
            par.index[i] = rows[sel[i]];
        par.n = n_sel;
        if (cache)
            cache_put(cache, (size_t)g, trials, mem + pos, end - pos, par.index, par.n);
        pos = end;
        g++;
    }
    par.generation = g;

    /* the parents as a population of their own, for the child */
    size_t np = par.n ? par.n : 1;
    par.values = malloc(np * (m ? m : 1) * sizeof *par.values);
    par.violation = c->constraints ? malloc(np * sizeof *par.violation) : NULL;
    if (!par.values || (c->constraints && !par.violation)) {
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < par.n; i++)
        put_row(c, &trials[par.index[i]], m, i, par.values, par.violation);
    rc = take_params(&par, space, trials, err);
done:
    free(mem);
    free(tmp);
    free(rows);
    free(sel);
    free(values);
    free(violation);
    if (rc) {
        hpo_nsga2_parents_clear(&par);
        return rc;
    }
    *ret = par;
    return HPO_OK;
}

hpo_rc hpo_nsga2_parents_child(const hpo_nsga2_config *c, const hpo_nsga2_parents *par,
                               const hpo_space *space, hpo_rng *rng, double *ret_values,
                               hpo_error *err)
{
    bool *draw = malloc((space->n ? space->n : 1) * sizeof *draw);
    double *child = malloc((par->n_rel ? par->n_rel : 1) * sizeof *child);
    bool *child_draw = malloc((par->n_rel ? par->n_rel : 1) * sizeof *child_draw);
    hpo_rc rc = HPO_OK;
    if (!draw || !child || !child_draw) {
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < space->n; j++)
        draw[j] = true;
    if (par->generation > 0 && par->n >= 2) {
        hpo_nsga2_pop p = {par->n, par->m, par->values, par->dirs, par->violation};
        rc = hpo_nsga2_child(&p, par->params, par->n_rel, par->categorical, &c->child, rng,
                             child, child_draw, NULL, err);
        if (rc)
            goto done;
        for (size_t k = 0; k < par->n_rel; k++) {
            ret_values[par->rel[k]] = child[k];
            draw[par->rel[k]] = child_draw[k];
        }
    }
    for (size_t j = 0; j < space->n; j++)
        if (draw[j])
            ret_values[j] = hpo_sampler_random(&space->items[j].dist, rng);
done:
    free(draw);
    free(child);
    free(child_draw);
    return rc;
}
