/* hpo_model: helpers over the plain study and trial structs: names, copies, reports, values,
 * and comparison of objective values (better, Pareto dominance). */
#include "hpo_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[HPO_TRIAL_STATE_COUNT] = {
    [HPO_TRIAL_RUNNING] = "running",
    [HPO_TRIAL_WAITING] = "waiting",
    [HPO_TRIAL_COMPLETE] = "complete",
    [HPO_TRIAL_PRUNED] = "pruned",
    [HPO_TRIAL_FAIL] = "fail",
    [HPO_TRIAL_PAUSED] = "paused",
};

const char *hpo_trial_state_name(hpo_trial_state s)
{
    if ((int)s < 0 || s >= HPO_TRIAL_STATE_COUNT)
        return "unknown";
    return state_names[s];
}

hpo_rc hpo_trial_state_parse(const char *name, hpo_trial_state *ret)
{
    if (!name)
        return HPO_E_INVALID;
    for (int i = 0; i < HPO_TRIAL_STATE_COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            if (ret)
                *ret = (hpo_trial_state)i;
            return HPO_OK;
        }
    }
    return HPO_E_INVALID;
}

bool hpo_trial_state_finished(hpo_trial_state s)
{
    return s == HPO_TRIAL_COMPLETE || s == HPO_TRIAL_PRUNED || s == HPO_TRIAL_FAIL;
}

const char *hpo_action_name(hpo_action a)
{
    switch (a) {
    case HPO_ACTION_PRUNE: return "prune";
    case HPO_ACTION_PAUSE: return "pause";
    case HPO_ACTION_CONTINUE: break;
    }
    return "continue";
}

static const char *const decides_names[] = {"every", "never", "grid", "powers"};

const char *hpo_decides_kind_name(hpo_decides_kind k)
{
    return (unsigned)k < sizeof decides_names / sizeof decides_names[0] ? decides_names[k]
                                                                        : "every";
}

hpo_rc hpo_decides_kind_parse(const char *name, hpo_decides_kind *ret)
{
    for (size_t i = 0; name && i < sizeof decides_names / sizeof decides_names[0]; i++) {
        if (strcmp(name, decides_names[i]) == 0) {
            if (ret)
                *ret = (hpo_decides_kind)i;
            return HPO_OK;
        }
    }
    return HPO_E_INVALID;
}

bool hpo_decides_valid(const hpo_decides *d)
{
    switch (d->kind) {
    case HPO_DECIDES_EVERY:
    case HPO_DECIDES_NEVER:
        return true;
    case HPO_DECIDES_GRID:
        return d->start >= 0 && d->interval >= 1;
    case HPO_DECIDES_POWERS:
        return d->start >= 1 && d->interval >= 2 && d->last >= -1;
    }
    return false;
}

bool hpo_decides_between(const hpo_decides *d, int64_t after, int64_t upto)
{
    switch (d->kind) {
    case HPO_DECIDES_NEVER:
        return false;
    case HPO_DECIDES_GRID: {
        if (after < d->start)
            return d->start <= upto;
        int64_t k = (after - d->start) / d->interval + 1; /* the first grid step above after */
        return k <= (upto - d->start) / d->interval;
    }
    case HPO_DECIDES_POWERS: {
        int64_t p = d->start;
        while (p <= after) {
            if (p > INT64_MAX / d->interval)
                return false; /* no power above after */
            p *= d->interval;
        }
        return p <= upto && (d->last < 0 || p <= d->last);
    }
    case HPO_DECIDES_EVERY:
        break;
    }
    return true;
}

const char *hpo_direction_name(hpo_direction d)
{
    return d == HPO_MAXIMIZE ? "maximize" : "minimize";
}

hpo_rc hpo_direction_parse(const char *name, hpo_direction *ret)
{
    hpo_direction d;
    if (name && strcmp(name, "minimize") == 0)
        d = HPO_MINIMIZE;
    else if (name && strcmp(name, "maximize") == 0)
        d = HPO_MAXIMIZE;
    else
        return HPO_E_INVALID;
    if (ret)
        *ret = d;
    return HPO_OK;
}

static const struct {
    hpo_retry_cause cause;
    const char *name;
} retry_causes[] = {
    {HPO_RETRY_FAIL, "fail"},
    {HPO_RETRY_HEARTBEAT_LOST, "heartbeat_lost"},
    {HPO_RETRY_PREEMPTED, "preempted"},
};

const char *hpo_retry_cause_name(hpo_retry_cause c)
{
    for (size_t i = 0; i < sizeof retry_causes / sizeof retry_causes[0]; i++)
        if (retry_causes[i].cause == c)
            return retry_causes[i].name;
    return "?";
}

hpo_rc hpo_retry_cause_parse(const char *name, hpo_retry_cause *ret)
{
    for (size_t i = 0; name && i < sizeof retry_causes / sizeof retry_causes[0]; i++)
        if (strcmp(retry_causes[i].name, name) == 0) {
            if (ret)
                *ret = retry_causes[i].cause;
            return HPO_OK;
        }
    return HPO_E_INVALID;
}

hpo_rc hpo_study_name_validate(const char *name, const char *field, hpo_error *err)
{
    static const char rule[] =
        "a study name must be 1-128 characters of letters, digits, '.', '_' or '-'";
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 128)
        return hpo_error_set(err, HPO_E_INVALID, field, "%s (got %zu characters)", rule, len);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return hpo_error_set(err, HPO_E_INVALID, field, "%s (bad character at %zu)", rule, i);
    }
    /* a URL's dot segments: clients squash "/studies/.." to "/" before sending it */
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return hpo_error_set(err, HPO_E_INVALID, field, "a study name cannot be '.' or '..'");
    return HPO_OK;
}

char *hpo_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* strdup of an optional string into *out; false on OOM. */
static bool dup_opt(char **out, const char *s)
{
    *out = hpo_strdup(s);
    return !s || *out;
}

void hpo_trial_clear(hpo_trial *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_params && t->params; i++) {
        free(t->params[i].name);
        hpo_dist_clear(&t->params[i].dist);
    }
    free(t->params);
    free(t->values);
    free(t->constraints);
    free(t->reports);
    free(t->worker);
    free(t->idempotency_key);
    free(t->fail_reason);
    free(t->fixed_params);
    memset(t, 0, sizeof *t);
}

hpo_rc hpo_trial_copy(hpo_trial *ret, const hpo_trial *src)
{
    hpo_trial t = *src;
    t.params = NULL;
    t.n_params = t.cap_params = 0;
    t.values = NULL;
    t.n_values = 0;
    t.constraints = NULL;
    t.n_constraints = 0;
    t.reports = NULL;
    t.n_reports = t.cap_reports = 0;
    t.worker = t.idempotency_key = t.fail_reason = t.fixed_params = NULL;

    if (!dup_opt(&t.worker, src->worker) || !dup_opt(&t.idempotency_key, src->idempotency_key) ||
        !dup_opt(&t.fail_reason, src->fail_reason) || !dup_opt(&t.fixed_params, src->fixed_params))
        goto oom;
    for (size_t i = 0; i < src->n_params; i++)
        if (hpo_trial_add_param(&t, src->params[i].name, &src->params[i].dist,
                                src->params[i].value) != HPO_OK)
            goto oom;
    if (src->n_values && hpo_trial_set_values(&t, src->values, src->n_values) != HPO_OK)
        goto oom;
    if (src->n_constraints &&
        hpo_trial_set_constraints(&t, src->constraints, src->n_constraints) != HPO_OK)
        goto oom;
    if (src->n_reports) {
        t.reports = malloc(src->n_reports * sizeof *t.reports);
        if (!t.reports)
            goto oom;
        memcpy(t.reports, src->reports, src->n_reports * sizeof *t.reports);
        t.n_reports = t.cap_reports = src->n_reports;
    }
    *ret = t;
    return HPO_OK;
oom:
    hpo_trial_clear(&t);
    return HPO_E_NOMEM;
}

const hpo_param *hpo_trial_param(const hpo_trial *t, const char *name)
{
    for (size_t i = 0; i < t->n_params; i++)
        if (strcmp(t->params[i].name, name) == 0)
            return &t->params[i];
    return NULL;
}

hpo_rc hpo_trial_add_param(hpo_trial *t, const char *name, const hpo_dist *d, double value)
{
    if (hpo_trial_param(t, name))
        return HPO_E_EXISTS;
    if (t->n_params == t->cap_params) {
        size_t cap = t->cap_params ? t->cap_params * 2 : 4;
        hpo_param *p = realloc(t->params, cap * sizeof *p);
        if (!p)
            return HPO_E_NOMEM;
        t->params = p;
        t->cap_params = cap;
    }
    hpo_param p = { .name = strdup(name), .value = value };
    if (!p.name)
        return HPO_E_NOMEM;
    if (hpo_dist_copy(&p.dist, d) != HPO_OK) {
        free(p.name);
        return HPO_E_NOMEM;
    }
    t->params[t->n_params++] = p;
    return HPO_OK;
}

hpo_rc hpo_trial_add_report(hpo_trial *t, int64_t step, double value, bool *ret_added)
{
    /* Reports mostly arrive in order: search from the end. */
    size_t pos = t->n_reports;
    while (pos > 0 && t->reports[pos - 1].step > step)
        pos--;
    if (pos > 0 && t->reports[pos - 1].step == step) {
        if (ret_added)
            *ret_added = false;
        return HPO_OK;
    }
    if (t->n_reports == t->cap_reports) {
        size_t cap = t->cap_reports ? t->cap_reports * 2 : 8;
        hpo_report *r = realloc(t->reports, cap * sizeof *r);
        if (!r)
            return HPO_E_NOMEM;
        t->reports = r;
        t->cap_reports = cap;
    }
    memmove(&t->reports[pos + 1], &t->reports[pos], (t->n_reports - pos) * sizeof *t->reports);
    t->reports[pos] = (hpo_report){ .step = step, .value = value };
    t->n_reports++;
    if (ret_added)
        *ret_added = true;
    return HPO_OK;
}

void hpo_trial_truncate_params(hpo_trial *t, size_t n)
{
    while (t->n_params > n) {
        hpo_param *p = &t->params[--t->n_params];
        free(p->name);
        hpo_dist_clear(&p->dist);
    }
}

const hpo_report *hpo_trial_report_at(const hpo_trial *t, int64_t step)
{
    size_t lo = 0, hi = t->n_reports;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->reports[mid].step < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n_reports && t->reports[lo].step == step ? &t->reports[lo] : NULL;
}

const hpo_report *hpo_trial_last_report(const hpo_trial *t)
{
    return t->n_reports ? &t->reports[t->n_reports - 1] : NULL;
}

/* *slot (n_slot doubles) replaced by a copy of v[0..n) (NULL when n is 0). */
static hpo_rc set_doubles(double **slot, size_t *n_slot, const double *v, size_t n)
{
    double *copy = NULL;
    if (n) {
        copy = malloc(n * sizeof *copy);
        if (!copy)
            return HPO_E_NOMEM;
        memcpy(copy, v, n * sizeof *copy);
    }
    free(*slot);
    *slot = copy;
    *n_slot = n;
    return HPO_OK;
}

hpo_rc hpo_trial_set_values(hpo_trial *t, const double *values, size_t n)
{
    return set_doubles(&t->values, &t->n_values, values, n);
}

hpo_rc hpo_trial_set_constraints(hpo_trial *t, const double *constraints, size_t n)
{
    return set_doubles(&t->constraints, &t->n_constraints, constraints, n);
}

double hpo_trial_violation(const hpo_trial *t)
{
    if (t->n_constraints == 0)
        return INFINITY;
    double sum = 0;
    for (size_t i = 0; i < t->n_constraints; i++)
        if (t->constraints[i] > 0)
            sum += t->constraints[i];
    return sum;
}

void hpo_study_config_clear(hpo_study_config *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->directions);
    free(c->sampler);
    free(c->pruner);
    free(c->user_attrs);
    hpo_space_clear(&c->space);
    memset(c, 0, sizeof *c);
}

hpo_rc hpo_study_config_copy(hpo_study_config *ret, const hpo_study_config *src)
{
    hpo_study_config c = *src;
    c.name = c.sampler = c.pruner = c.user_attrs = NULL;
    c.directions = NULL;
    c.n_directions = 0;
    c.space = (hpo_space){ 0 };

    if (!dup_opt(&c.name, src->name) || !dup_opt(&c.sampler, src->sampler) ||
        !dup_opt(&c.pruner, src->pruner) || !dup_opt(&c.user_attrs, src->user_attrs))
        goto oom;
    if (src->n_directions) {
        c.directions = malloc(src->n_directions * sizeof *c.directions);
        if (!c.directions)
            goto oom;
        memcpy(c.directions, src->directions, src->n_directions * sizeof *c.directions);
        c.n_directions = src->n_directions;
    }
    if (hpo_space_copy(&c.space, &src->space) != HPO_OK)
        goto oom;
    *ret = c;
    return HPO_OK;
oom:
    hpo_study_config_clear(&c);
    return HPO_E_NOMEM;
}

bool hpo_value_better(hpo_direction d, double a, double b)
{
    if (isnan(a))
        return false;
    if (isnan(b))
        return true;
    return d == HPO_MAXIMIZE ? a > b : a < b;
}

bool hpo_values_dominate(const hpo_direction *dirs, size_t n, const double *a, const double *b)
{
    bool strictly = false;
    for (size_t i = 0; i < n; i++) {
        if (hpo_value_better(dirs[i], b[i], a[i]))
            return false;
        if (hpo_value_better(dirs[i], a[i], b[i]))
            strictly = true;
    }
    return strictly;
}

/* ---- records ---- */

void hpo_trials_free(hpo_trial *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++)
        hpo_trial_clear(&t[i]);
    free(t);
}

void hpo_study_summaries_free(hpo_study_summary *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        hpo_study_config_clear(&s[i].config);
    free(s);
}

void hpo_artifacts_free(hpo_artifact *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        free(a[i].name);
    free(a);
}

void hpo_worker_infos_free(hpo_worker_info *w, size_t n)
{
    for (size_t i = 0; w && i < n; i++) {
        free(w[i].id);
        free(w[i].host);
        free(w[i].info);
    }
    free(w);
}

void hpo_running_trials_free(hpo_running_trial *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].worker);
        free(r[i].study);
    }
    free(r);
}

void hpo_fixed_params_clear(hpo_fixed_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].name);
        free(p->items[i].value.str);
    }
    free(p->items);
    memset(p, 0, sizeof *p);
}
