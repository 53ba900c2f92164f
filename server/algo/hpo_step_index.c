/* hpo_step_index: per step, a sorted array of the finite values and a count of reports; the
 * steps themselves in a sorted array (a study has tens to thousands of distinct steps). */
#include "hpo_step_index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_sort.h"

typedef struct {
    int64_t step;
    double *values; /* finite, ascending */
    size_t n, cap;
    size_t reported; /* NaN included */
} step_values;

struct hpo_step_index {
    step_values *steps; /* by step, ascending */
    size_t n, cap;
    size_t trials;
};

static void step_values_clear(step_values *s)
{
    free(s->values);
}

void hpo_step_index_free(hpo_step_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->n; i++)
        step_values_clear(&ix->steps[i]);
    free(ix->steps);
    free(ix);
}

size_t hpo_step_index_trials(const hpo_step_index *ix)
{
    return ix->trials;
}

/* The position of step in ix->steps (where it is or would go). */
static size_t step_pos(const hpo_step_index *ix, int64_t step)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->steps[mid].step < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static step_values *step_get(hpo_step_index *ix, int64_t step)
{
    size_t at = step_pos(ix, step);
    if (at < ix->n && ix->steps[at].step == step)
        return &ix->steps[at];
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 16;
        step_values *p = realloc(ix->steps, cap * sizeof *p);
        if (!p)
            return NULL;
        ix->steps = p;
        ix->cap = cap;
    }
    memmove(&ix->steps[at + 1], &ix->steps[at], (ix->n - at) * sizeof *ix->steps);
    ix->steps[at] = (step_values){.step = step};
    ix->n++;
    return &ix->steps[at];
}

static bool values_reserve(step_values *s)
{
    if (s->n < s->cap)
        return true;
    size_t cap = s->cap ? s->cap * 2 : 8;
    double *v = realloc(s->values, cap * sizeof *v);
    if (!v)
        return false;
    s->values = v;
    s->cap = cap;
    return true;
}

/* Appends t's reports, unsorted (sorted keeps the values' order: insert in place). */
static hpo_rc add_reports(hpo_step_index *ix, const hpo_trial *t, bool sorted)
{
    for (size_t i = 0; i < t->n_reports; i++) {
        step_values *s = step_get(ix, t->reports[i].step);
        if (!s)
            return HPO_E_NOMEM;
        s->reported++;
        double v = t->reports[i].value;
        if (isnan(v))
            continue;
        if (!values_reserve(s))
            return HPO_E_NOMEM;
        size_t at = s->n;
        if (sorted)
            at = hpo_sort_search(s->values, s->n, v, true);
        memmove(&s->values[at + 1], &s->values[at], (s->n - at) * sizeof *s->values);
        s->values[at] = v;
        s->n++;
    }
    ix->trials++;
    return HPO_OK;
}

static bool less_double(const double *a, const double *b)
{
    return *a < *b;
}
HPO_SORT_DEFINE(sort_values, double, less_double)

hpo_step_index *hpo_step_index_build(const hpo_trial *trials, size_t n)
{
    hpo_step_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (trials[i].state == HPO_TRIAL_COMPLETE && add_reports(ix, &trials[i], false)) {
            hpo_step_index_free(ix);
            return NULL;
        }
    double *tmp = NULL;
    size_t tmp_cap = 0;
    for (size_t i = 0; i < ix->n; i++) {
        step_values *s = &ix->steps[i];
        if (s->n > tmp_cap) {
            free(tmp);
            tmp_cap = s->n;
            if (!(tmp = malloc(tmp_cap * sizeof *tmp))) {
                hpo_step_index_free(ix);
                return NULL;
            }
        }
        sort_values(s->values, tmp, s->n);
    }
    free(tmp);
    return ix;
}

hpo_rc hpo_step_index_add(hpo_step_index *ix, const hpo_trial *t)
{
    return add_reports(ix, t, true);
}

const double *hpo_step_index_at(const hpo_step_index *ix, int64_t step, size_t *ret_n,
                                size_t *ret_reported)
{
    size_t at = step_pos(ix, step);
    if (at >= ix->n || ix->steps[at].step != step) {
        *ret_n = *ret_reported = 0;
        return NULL;
    }
    *ret_n = ix->steps[at].n;
    *ret_reported = ix->steps[at].reported;
    return ix->steps[at].values;
}
