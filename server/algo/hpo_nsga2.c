/* hpo_nsga2: NSGA-II as Optuna 3.1's NSGAIISampler computes it (samplers/nsgaii/_sampler.py,
 * _crossover.py), each function following the Python one it names, down to its list orders. */
#include "hpo_nsga2.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "hpo_sort.h"

/* An individual with the key of a sort (Python's list.sort(key=...) compares keys with <). */
typedef struct {
    size_t idx;
    double key;
} keyed;

static bool keyed_less(const keyed *a, const keyed *b)
{
    return a->key < b->key;
}

HPO_SORT_DEFINE(sort_keyed, keyed, keyed_less)

double hpo_nsga2_violation(const double *c, size_t k)
{
    double sum = 0;
    for (size_t i = 0; i < k; i++) {
        if (isnan(c[i]))
            return NAN;
        if (c[i] > 0)
            sum += c[i];
    }
    return sum;
}

/* _normalize_value: maximized objectives negated. */
static double normalized(const hpo_nsga2_pop *p, size_t i, size_t j)
{
    double v = p->values[i * p->m + j];
    return p->dirs[j] == HPO_MAXIMIZE ? -v : v;
}

/* _dominates: not when the normalized values are equal, else when every one is <=. */
static bool pareto_dominates(const hpo_nsga2_pop *p, size_t a, size_t b)
{
    bool equal = true;
    for (size_t j = 0; j < p->m; j++) {
        double va = normalized(p, a, j), vb = normalized(p, b, j);
        if (va != vb)
            equal = false;
        if (!(va <= vb))
            return false;
    }
    return !equal;
}

bool hpo_nsga2_dominates(const hpo_nsga2_pop *p, size_t a, size_t b)
{
    if (!p->violation)
        return pareto_dominates(p, a, b);
    double va = p->violation[a], vb = p->violation[b];
    bool has_a = !isnan(va), has_b = !isnan(vb);
    if (!has_a && !has_b)
        return pareto_dominates(p, a, b);
    if (has_a != has_b)
        return has_a;
    bool feasible_a = va <= 0, feasible_b = vb <= 0;
    if (feasible_a && feasible_b)
        return pareto_dominates(p, a, b);
    if (feasible_a != feasible_b)
        return feasible_a;
    return va < vb;
}

static hpo_rc check_pop(const hpo_nsga2_pop *p, hpo_error *err)
{
    if (p->m == 0 || (p->n > 0 && (!p->values || !p->dirs)))
        return hpo_error_set(err, HPO_E_INVALID, "", "a population needs objectives");
    for (size_t i = 0; i < p->n * p->m; i++)
        if (isnan(p->values[i]))
            return hpo_error_set(err, HPO_E_INVALID, "", "individual %zu has a NaN value",
                                 i / p->m);
    if (p->violation)
        for (size_t i = 0; i < p->n; i++)
            if (p->violation[i] < 0)
                return hpo_error_set(err, HPO_E_INVALID, "", "individual %zu: negative violation",
                                     i);
    return HPO_OK;
}

/* hpo_nsga2_dominates over rows of normalized values (maximized ones negated; no NaN), inlined
 * for the sort's O(n^2) comparisons. */
static inline bool row_dominates(const double *norm, size_t m, const double *violation,
                                 size_t a, size_t b)
{
    if (violation) {
        double va = violation[a], vb = violation[b];
        bool has_a = !isnan(va), has_b = !isnan(vb);
        if (has_a != has_b)
            return has_a;
        if (has_a && (va > 0 || vb > 0))
            return va <= 0 ? true : vb <= 0 ? false : va < vb;
    }
    const double *x = norm + a * m, *y = norm + b * m;
    bool equal = true;
    for (size_t j = 0; j < m; j++) {
        if (x[j] > y[j])
            return false;
        equal &= x[j] == y[j];
    }
    return !equal;
}

/* _fast_non_dominated_sort into order (n): the fronts one after the other, front_end[f] the end
 * of front f in order; the counts as Optuna keeps them. Domination between two individuals is
 * asked again when a front is taken out instead of kept in lists: dominates is antisymmetric, so
 * "p dominates q" is what Optuna's pairwise loop recorded, and nothing n x n is allocated. */
static hpo_rc fronts(const hpo_nsga2_pop *p, size_t *order, size_t *front_end,
                     size_t *ret_n_fronts, hpo_error *err)
{
    size_t n = p->n, m = p->m;
    size_t *count = calloc(n ? n : 1, sizeof *count);
    size_t *pop = malloc((n ? n : 1) * sizeof *pop);
    double *norm = malloc((n ? n : 1) * m * sizeof *norm);
    if (!count || !pop || !norm) {
        free(count);
        free(pop);
        free(norm);
        return hpo_error_set(err, HPO_E_NOMEM, "", "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            norm[i * m + j] = normalized(p, i, j);
    const double *vio = p->violation;
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++) {
            if (row_dominates(norm, m, vio, a, b))
                count[b]++;
            else if (row_dominates(norm, m, vio, b, a))
                count[a]++;
        }
    for (size_t i = 0; i < n; i++)
        pop[i] = i;
    size_t len = n, out = 0, n_fronts = 0;
    while (len > 0) {
        size_t start = out, i = 0;
        while (i < len) {
            if (count[pop[i]] == 0) {
                order[out++] = pop[i];
                /* population[i] = population.pop(), or just pop() for the last one */
                pop[i] = pop[len - 1];
                len--;
            } else {
                i++;
            }
        }
        for (size_t f = start; f < out; f++)
            for (size_t r = 0; r < len; r++)
                if (row_dominates(norm, m, vio, order[f], pop[r]))
                    count[pop[r]]--;
        front_end[n_fronts++] = out;
    }
    free(count);
    free(pop);
    free(norm);
    *ret_n_fronts = n_fronts;
    return HPO_OK;
}

hpo_rc hpo_nsga2_ranks(const hpo_nsga2_pop *p, size_t *ret_rank, size_t *ret_order,
                       size_t *ret_n_fronts, hpo_error *err)
{
    hpo_rc rc = check_pop(p, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = p->n ? p->n : 1, n_fronts;
    size_t *order = malloc(n * sizeof *order), *end = malloc(n * sizeof *end);
    if (!order || !end) {
        free(order);
        free(end);
        return hpo_error_set(err, HPO_E_NOMEM, "", "out of memory");
    }
    rc = fronts(p, order, end, &n_fronts, err);
    if (rc == HPO_OK) {
        if (ret_rank)
            for (size_t f = 0, i = 0; f < n_fronts; f++)
                for (; i < end[f]; i++)
                    ret_rank[order[i]] = f;
        if (ret_order)
            for (size_t i = 0; i < p->n; i++)
                ret_order[i] = order[i];
        if (ret_n_fronts)
            *ret_n_fronts = n_fronts;
    }
    free(order);
    free(end);
    return rc;
}

hpo_rc hpo_nsga2_first_fronts(const hpo_nsga2_pop *p, size_t need, size_t *ret_rank,
                              size_t *ret_n_fronts, hpo_error *err)
{
    hpo_rc rc = check_pop(p, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = p->n;
    size_t *rest = malloc((n ? n : 1) * sizeof *rest), *front = malloc((n ? n : 1) * sizeof *front);
    if (!rest || !front) {
        free(rest);
        free(front);
        return hpo_error_set(err, HPO_E_NOMEM, "", "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        rest[i] = i;
        ret_rank[i] = SIZE_MAX;
    }
    size_t len = n, taken = 0, f = 0;
    while (len > 0 && taken < need) {
        /* one that some kept individual dominates is out (so is it by transitivity when that
         * one is dropped later); a new one drops the kept ones it dominates */
        size_t k = 0;
        for (size_t i = 0; i < len; i++) {
            size_t x = rest[i];
            bool dominated = false;
            for (size_t j = 0; j < k && !dominated; j++)
                dominated = hpo_nsga2_dominates(p, front[j], x);
            if (dominated)
                continue;
            size_t kept = 0;
            for (size_t j = 0; j < k; j++)
                if (!hpo_nsga2_dominates(p, x, front[j]))
                    front[kept++] = front[j];
            k = kept;
            front[k++] = x;
        }
        for (size_t j = 0; j < k; j++)
            ret_rank[front[j]] = f;
        size_t left = 0;
        for (size_t i = 0; i < len; i++)
            if (ret_rank[rest[i]] == SIZE_MAX)
                rest[left++] = rest[i];
        len = left;
        taken += k;
        f++;
    }
    free(rest);
    free(front);
    if (ret_n_fronts)
        *ret_n_fronts = f;
    return HPO_OK;
}

/* _calc_crowding_distance over members[0..k): dist[s] for members[s]; list (k) ends as the
 * slots in the order Optuna's population.sort calls leave the list; cur (k) is scratch. */
static void crowding(const hpo_nsga2_pop *p, const size_t *members, size_t k, double *dist,
                     size_t *list, keyed *cur, keyed *tmp)
{
    for (size_t s = 0; s < k; s++) {
        dist[s] = 0;
        list[s] = s;
    }
    if (k == 0)
        return;
    for (size_t j = 0; j < p->m; j++) {
        for (size_t t = 0; t < k; t++) {
            cur[t].idx = list[t];
            cur[t].key = p->values[members[list[t]] * p->m + j];
        }
        sort_keyed(cur, tmp, k);
        for (size_t t = 0; t < k; t++)
            list[t] = cur[t].idx;
        /* the sort stays even when this objective is skipped: the next one sorts its result */
        if (cur[0].key == cur[k - 1].key)
            continue;
        double v_min = INFINITY, v_max = -INFINITY; /* the sentinels when none is finite */
        for (size_t t = 0; t < k; t++)
            if (cur[t].key != -INFINITY) {
                v_min = cur[t].key;
                break;
            }
        for (size_t t = k; t-- > 0;)
            if (cur[t].key != INFINITY) {
                v_max = cur[t].key;
                break;
            }
        double width = v_max - v_min;
        if (width <= 0)
            width = 1.0;
        for (size_t t = 0; t < k; t++) {
            double lo = t == 0 ? -INFINITY : cur[t - 1].key;
            double hi = t == k - 1 ? INFINITY : cur[t + 1].key;
            double gap = lo == hi ? 0.0 : hi - lo;
            dist[cur[t].idx] += gap / width;
        }
    }
}

/* Scratch for crowding: dist and list (k each), two keyed arrays (k each). */
typedef struct {
    double *dist;
    size_t *list;
    keyed *cur, *tmp;
} crowd_scratch;

static void crowd_scratch_free(crowd_scratch *c)
{
    free(c->dist);
    free(c->list);
    free(c->cur);
    free(c->tmp);
}

static hpo_rc crowd_scratch_alloc(crowd_scratch *c, size_t k, hpo_error *err)
{
    size_t n = k ? k : 1;
    c->dist = malloc(n * sizeof *c->dist);
    c->list = malloc(n * sizeof *c->list);
    c->cur = malloc(n * sizeof *c->cur);
    c->tmp = malloc(n * sizeof *c->tmp);
    if (!c->dist || !c->list || !c->cur || !c->tmp) {
        crowd_scratch_free(c);
        return hpo_error_set(err, HPO_E_NOMEM, "", "out of memory");
    }
    return HPO_OK;
}

hpo_rc hpo_nsga2_crowding(const hpo_nsga2_pop *p, const size_t *members, size_t k,
                          double *ret_dist, hpo_error *err)
{
    crowd_scratch c;
    hpo_rc rc = crowd_scratch_alloc(&c, k, err);
    if (rc != HPO_OK)
        return rc;
    crowding(p, members, k, c.dist, c.list, c.cur, c.tmp);
    for (size_t s = 0; s < k; s++)
        ret_dist[s] = c.dist[s];
    crowd_scratch_free(&c);
    return HPO_OK;
}

/* _crowding_distance_sort with scratch c (k): members reordered in place. */
static void crowding_sort(const hpo_nsga2_pop *p, size_t *members, size_t k, crowd_scratch *c)
{
    crowding(p, members, k, c->dist, c->list, c->cur, c->tmp);
    for (size_t t = 0; t < k; t++) {
        c->cur[t].idx = members[c->list[t]];
        c->cur[t].key = c->dist[c->list[t]];
    }
    sort_keyed(c->cur, c->tmp, k);
    for (size_t t = 0; t < k; t++)
        members[t] = c->cur[k - 1 - t].idx;
}

hpo_rc hpo_nsga2_crowding_sort(const hpo_nsga2_pop *p, size_t *members, size_t k,
                               hpo_error *err)
{
    crowd_scratch c;
    hpo_rc rc = crowd_scratch_alloc(&c, k, err);
    if (rc != HPO_OK)
        return rc;
    crowding_sort(p, members, k, &c);
    crowd_scratch_free(&c);
    return HPO_OK;
}

hpo_rc hpo_nsga2_select_elite(const hpo_nsga2_pop *p, size_t pop_size, size_t *ret_elite,
                              size_t *ret_n, hpo_error *err)
{
    if (pop_size == 0)
        return hpo_error_set(err, HPO_E_INVALID, "population_size",
                             "the population size must be positive");
    hpo_rc rc = check_pop(p, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = p->n ? p->n : 1, n_fronts;
    size_t *order = malloc(n * sizeof *order), *end = malloc(n * sizeof *end);
    crowd_scratch c = {0};
    if (!order || !end) {
        rc = hpo_error_set(err, HPO_E_NOMEM, "", "out of memory");
        goto done;
    }
    rc = fronts(p, order, end, &n_fronts, err);
    if (rc != HPO_OK)
        goto done;
    size_t taken = 0;
    for (size_t f = 0, start = 0; f < n_fronts; start = end[f++]) {
        size_t len = end[f] - start;
        if (taken + len < pop_size) {
            taken += len;
            continue;
        }
        rc = crowd_scratch_alloc(&c, len, err);
        if (rc != HPO_OK)
            goto done;
        crowding_sort(p, order + start, len, &c);
        crowd_scratch_free(&c);
        taken = pop_size;
        break;
    }
    /* the fronts are contiguous in order: the elite is its first `taken` entries */
    for (size_t i = 0; i < taken; i++)
        ret_elite[i] = order[i];
    *ret_n = taken;
done:
    free(order);
    free(end);
    return rc;
}

size_t hpo_nsga2_select_parent(const hpo_nsga2_pop *p, const size_t *cand, size_t k,
                               hpo_rng *rng)
{
    size_t c0 = cand[hpo_rng_below(rng, k)];
    size_t c1 = cand[hpo_rng_below(rng, k)];
    return hpo_nsga2_dominates(p, c0, c1) ? c0 : c1;
}

void hpo_nsga2_child_options_default(hpo_nsga2_child_options *ret)
{
    ret->crossover_prob = HPO_NSGA2_CROSSOVER_PROB;
    ret->swapping_prob = HPO_NSGA2_SWAPPING_PROB;
    ret->mutation_prob = NAN;
}

static bool prob_ok(double x)
{
    return x >= 0 && x <= 1;
}

hpo_rc hpo_nsga2_child(const hpo_nsga2_pop *p, const double *params, size_t n_params,
                       const bool *categorical, const hpo_nsga2_child_options *opt,
                       hpo_rng *rng, double *ret_values, bool *ret_draw, size_t *ret_parents,
                       hpo_error *err)
{
    if (p->n < 2)
        return hpo_error_set(err, HPO_E_INVALID, "", "a parent population needs 2 individuals");
    if (!prob_ok(opt->crossover_prob))
        return hpo_error_set(err, HPO_E_INVALID, "crossover_prob", "must be in [0, 1]");
    if (!prob_ok(opt->swapping_prob))
        return hpo_error_set(err, HPO_E_INVALID, "swapping_prob", "must be in [0, 1]");
    if (!isnan(opt->mutation_prob) && !prob_ok(opt->mutation_prob))
        return hpo_error_set(err, HPO_E_INVALID, "mutation_prob", "must be in [0, 1] or unset");
    size_t *cand = malloc(p->n * sizeof *cand);
    if (!cand)
        return hpo_error_set(err, HPO_E_NOMEM, "", "out of memory");

    size_t a, b;
    /* visiting order of the params for the mutation draws: Optuna's child_params dict */
    bool crossed = hpo_rng_uniform(rng) < opt->crossover_prob;
    if (crossed) {
        for (size_t i = 0; i < p->n; i++)
            cand[i] = i;
        a = hpo_nsga2_select_parent(p, cand, p->n, rng);
        size_t k = 0;
        for (size_t i = 0; i < p->n; i++)
            if (i != a)
                cand[k++] = i;
        b = hpo_nsga2_select_parent(p, cand, k, rng);
        /* _inlined_categorical_uniform_crossover, then UniformCrossover.crossover */
        for (int pass = 0; pass < 2; pass++)
            for (size_t j = 0; j < n_params; j++) {
                bool cat = categorical && categorical[j];
                if (cat != (pass == 0))
                    continue;
                size_t from = hpo_rng_uniform(rng) >= opt->swapping_prob ? b : a;
                ret_values[j] = params[from * n_params + j];
            }
    } else {
        a = b = (size_t)hpo_rng_below(rng, p->n);
        for (size_t j = 0; j < n_params; j++)
            ret_values[j] = params[a * n_params + j];
    }
    free(cand);

    double mutation_prob = isnan(opt->mutation_prob)
                               ? 1.0 / (n_params > 1 ? (double)n_params : 1.0)
                               : opt->mutation_prob;
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < n_params; j++) {
            bool cat = categorical && categorical[j];
            if (crossed ? cat != (pass == 0) : pass == 1)
                continue;
            ret_draw[j] = !(hpo_rng_uniform(rng) >= mutation_prob);
        }
    if (ret_parents) {
        ret_parents[0] = a;
        ret_parents[1] = b;
    }
    return HPO_OK;
}
