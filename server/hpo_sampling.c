/* hpo_sampling: sampler configuration and the choice of params for new and define-by-run params,
 * over the pure samplers of server/algo. */
#include "hpo_sampling.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_codec.h"
#include "hpo_hash.h"
#include "hpo_rng.h"
#include "hpo_sampler.h"
#include "hpo_sampling_cmaes.h"
#include "hpo_sampling_nsga2.h"

#define DUPLICATE_RETRIES 8

/* ---- configuration ---- */

typedef enum { OPT_INT, OPT_NUMBER, OPT_BOOL, OPT_STARTUP } opt_kind;

static const char *const STARTUP_NAMES[] = {"random", "sobol", "halton"};

typedef struct {
    const char *name;
    opt_kind kind;
    size_t offset; /* into hpo_sampler */
} sampler_option;

static const sampler_option TPE_OPTIONS[] = {
    {"n_startup_trials", OPT_INT, offsetof(hpo_sampler, tpe.n_startup_trials)},
    {"startup", OPT_STARTUP, offsetof(hpo_sampler, tpe.startup)},
    {"n_ei_candidates", OPT_INT, offsetof(hpo_sampler, tpe.n_ei_candidates)},
    {"gamma", OPT_NUMBER, offsetof(hpo_sampler, tpe.gamma_fraction)},
    {"gamma_max", OPT_INT, offsetof(hpo_sampler, tpe.gamma_max)},
    {"prior_weight", OPT_NUMBER, offsetof(hpo_sampler, tpe.prior_weight)},
    {"consider_magic_clip", OPT_BOOL, offsetof(hpo_sampler, tpe.consider_magic_clip)},
    {"consider_endpoints", OPT_BOOL, offsetof(hpo_sampler, tpe.consider_endpoints)},
    {"multivariate", OPT_BOOL, offsetof(hpo_sampler, tpe.multivariate)},
    {"group", OPT_BOOL, offsetof(hpo_sampler, tpe.group)},
    {"constant_liar", OPT_BOOL, offsetof(hpo_sampler, tpe.constant_liar)},
    {"constraints", OPT_BOOL, offsetof(hpo_sampler, tpe.constraints)},
};

static const sampler_option GP_OPTIONS[] = {
    {"n_startup_trials", OPT_INT, offsetof(hpo_sampler, gp.n_startup_trials)},
    {"deterministic_objective", OPT_BOOL, offsetof(hpo_sampler, gp.deterministic)},
};

#define N_OPTIONS(t) (sizeof(t) / sizeof(t)[0])

/* The options a sampler type takes beyond type and seed (*ret_n of them). */
static const sampler_option *options_of(hpo_sampler_type type, size_t *ret_n)
{
    *ret_n = type == HPO_SAMPLER_TPE ? N_OPTIONS(TPE_OPTIONS)
             : type == HPO_SAMPLER_GP ? N_OPTIONS(GP_OPTIONS)
                                      : 0;
    return type == HPO_SAMPLER_TPE ? TPE_OPTIONS : type == HPO_SAMPLER_GP ? GP_OPTIONS : NULL;
}

static hpo_rc read_option(const sampler_option *o, json_t *v, hpo_sampler *s, hpo_error *err)
{
    char field[64];
    snprintf(field, sizeof field, "sampler.%s", o->name);
    char *at = (char *)s + o->offset;
    switch (o->kind) {
    case OPT_INT:
        if (!json_is_integer(v) || json_integer_value(v) < -1000000000 ||
            json_integer_value(v) > 1000000000)
            return hpo_error_set(err, HPO_E_INVALID, field, "%s must be an integer", field);
        *(int *)at = (int)json_integer_value(v);
        return HPO_OK;
    case OPT_NUMBER:
        return hpo_json_number(v, field, (double *)at, err);
    case OPT_BOOL:
        if (!json_is_boolean(v))
            return hpo_error_set(err, HPO_E_INVALID, field, "%s must be true or false", field);
        *(bool *)at = json_is_true(v);
        return HPO_OK;
    case OPT_STARTUP:
        for (int i = 0; i < 3; i++)
            if (json_is_string(v) && strcmp(json_string_value(v), STARTUP_NAMES[i]) == 0) {
                *(hpo_tpe_startup *)at = (hpo_tpe_startup)i;
                return HPO_OK;
            }
        return hpo_error_set(err, HPO_E_INVALID, field, "%s must be random, sobol or halton",
                             field);
    }
    return HPO_OK;
}

static void write_options(const hpo_sampler *s, json_t *out)
{
    size_t n;
    const sampler_option *opts = options_of(s->type, &n);
    for (size_t i = 0; i < n; i++) {
        const char *at = (const char *)s + opts[i].offset;
        json_t *v = opts[i].kind == OPT_INT      ? json_integer(*(const int *)at)
                    : opts[i].kind == OPT_NUMBER ? json_real(*(const double *)at)
                    : opts[i].kind == OPT_BOOL
                        ? json_boolean(*(const bool *)at)
                        : json_string(STARTUP_NAMES[*(const hpo_tpe_startup *)at]);
        json_object_set_new(out, opts[i].name, v);
    }
}

static hpo_rc configure_json(json_t *j, const hpo_study_config *study, hpo_sampler *s,
                             json_t *out, hpo_error *err)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.type",
                             "sampler.type is required: auto, tpe, gp, cmaes, nsga2, random, "
                             "grid or qmc");
    if (strcmp(type, "auto") == 0)
        s->type = HPO_SAMPLER_AUTO;
    else if (strcmp(type, "tpe") == 0)
        s->type = HPO_SAMPLER_TPE;
    else if (strcmp(type, "random") == 0)
        s->type = HPO_SAMPLER_RANDOM;
    else if (strcmp(type, "grid") == 0)
        s->type = HPO_SAMPLER_GRID;
    else if (strcmp(type, "qmc") == 0)
        s->type = HPO_SAMPLER_QMC;
    else if (strcmp(type, "gp") == 0)
        s->type = HPO_SAMPLER_GP;
    else if (strcmp(type, "cmaes") == 0)
        s->type = HPO_SAMPLER_CMAES;
    else if (strcmp(type, "nsga2") == 0)
        s->type = HPO_SAMPLER_NSGA2;
    else
        return hpo_error_set(err, HPO_E_INVALID, "sampler.type",
                             "unknown sampler type '%s': auto, tpe, gp, cmaes, nsga2, random, "
                             "grid or qmc",
                             type);
    json_object_set_new(out, "type", json_string(type));
    hpo_tpe_config_default(&s->tpe);
    hpo_gp_config_default(&s->gp);
    hpo_nsga2_config_default(&s->nsga2);

    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        if (strcmp(key, "type") == 0)
            continue;
        if (strcmp(key, "seed") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return hpo_error_set(err, HPO_E_INVALID, "sampler.seed",
                                     "sampler.seed must be an integer >= 0");
            s->seed = (uint64_t)json_integer_value(v);
            json_object_set(out, "seed", v);
            continue;
        }
        if (s->type == HPO_SAMPLER_CMAES)
            continue; /* its options are read below */
        if (s->type == HPO_SAMPLER_QMC && strcmp(key, "qmc_type") == 0) {
            const char *q = json_string_value(v);
            if (!q || (strcmp(q, "sobol") != 0 && strcmp(q, "halton") != 0))
                return hpo_error_set(err, HPO_E_INVALID, "sampler.qmc_type",
                                     "sampler.qmc_type must be sobol or halton");
            s->qmc.type = strcmp(q, "halton") == 0 ? HPO_QMC_HALTON : HPO_QMC_SOBOL;
            continue;
        }
        if (s->type == HPO_SAMPLER_QMC && strcmp(key, "scramble") == 0) {
            if (!json_is_boolean(v))
                return hpo_error_set(err, HPO_E_INVALID, "sampler.scramble",
                                     "sampler.scramble must be true or false");
            s->qmc.scramble = json_is_true(v);
            continue;
        }
        if (s->type == HPO_SAMPLER_NSGA2) {
            hpo_rc rc = hpo_sampling_nsga2_option(key, v, &s->nsga2, err);
            if (rc)
                return rc;
            continue;
        }
        size_t n_opts;
        const sampler_option *opts = options_of(s->type, &n_opts), *o = NULL;
        for (size_t i = 0; i < n_opts; i++)
            if (strcmp(opts[i].name, key) == 0)
                o = &opts[i];
        char field[HPO_ERROR_FIELD_MAX];
        snprintf(field, sizeof field, "sampler.%s", key);
        if (!o)
            return hpo_error_set(err, HPO_E_INVALID, field, "unknown option '%s' for sampler '%s'",
                                 key, type);
        hpo_rc rc = read_option(o, v, s, err);
        if (rc)
            return rc;
    }
    if (s->type == HPO_SAMPLER_TPE) {
        if (study->n_directions > 1) {
            /* Optuna 3.1's multi-objective TPE leaves running trials out */
            if (json_is_true(json_object_get(j, "constant_liar")))
                return hpo_error_set(err, HPO_E_INVALID, "sampler.constant_liar",
                                     "sampler.constant_liar takes one objective: multi-objective "
                                     "TPE leaves running trials out (as Optuna 3.1)");
            s->tpe.constant_liar = false;
        }
        if (s->tpe.group && !s->tpe.multivariate)
            return hpo_error_set(err, HPO_E_INVALID, "sampler.group",
                                 "sampler.group needs sampler.multivariate");
        hpo_rc rc = hpo_tpe_config_validate(&s->tpe, err);
        if (rc)
            return rc;
        write_options(s, out);
    }
    if (s->type == HPO_SAMPLER_AUTO) /* the TPE it runs: joint for several objectives only */
        s->tpe.multivariate = study->n_directions > 1;
    if (s->type == HPO_SAMPLER_GP || s->type == HPO_SAMPLER_AUTO) {
        if (s->type == HPO_SAMPLER_GP && study->n_directions != 1)
            return hpo_error_set(err, HPO_E_INVALID, "sampler.type",
                                 "the gp sampler takes one objective; use random for several");
        hpo_rc rc = hpo_gp_config_validate(&s->gp, err);
        if (rc)
            return rc;
        if (s->type == HPO_SAMPLER_GP)
            write_options(s, out);
        if (!(s->gp_warm = calloc(1, sizeof *s->gp_warm)))
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    if (s->type == HPO_SAMPLER_TPE && s->tpe.startup != HPO_TPE_STARTUP_RANDOM)
        /* scrambled: an unscrambled sequence starts at the space's corner */
        s->qmc = (hpo_qmc){.type = s->tpe.startup == HPO_TPE_STARTUP_HALTON ? HPO_QMC_HALTON
                                                                             : HPO_QMC_SOBOL,
                           .scramble = true};
    if (s->type == HPO_SAMPLER_QMC) {
        json_object_set_new(out, "qmc_type",
                            json_string(s->qmc.type == HPO_QMC_HALTON ? "halton" : "sobol"));
        json_object_set_new(out, "scramble", json_boolean(s->qmc.scramble));
    }
    if (s->type == HPO_SAMPLER_NSGA2)
        return hpo_sampling_nsga2_write(&s->nsga2, out, err);
    if (s->type == HPO_SAMPLER_GRID)
        return hpo_grid_build(&study->space, "search_space", &s->grid, err);
    if (s->type == HPO_SAMPLER_CMAES)
        return hpo_sampling_cmaes_configure(j, study, s, out, err);
    return HPO_OK;
}

hpo_rc hpo_sampler_configure(const char *text, const hpo_study_config *study, hpo_sampler *ret,
                             char **ret_text, hpo_error *err)
{
    json_t *j = text ? json_loads(text, 0, NULL)
                     : json_pack("{s:s}", "type", "auto");
    if (!json_is_object(j)) {
        json_decref(j);
        return hpo_error_set(err, HPO_E_INVALID, "sampler", "sampler must be an object");
    }
    hpo_sampler s = {0};
    s.seed = hpo_rng_entropy() >> 1;
    json_t *out = json_object();
    hpo_rc rc = configure_json(j, study, &s, out, err);
    /* a drawn seed is stored too, so a study samples the same after a restart */
    if (!rc && !json_object_get(out, "seed"))
        json_object_set_new(out, "seed", json_integer((json_int_t)s.seed));
    s.qmc.seed = s.seed;
    if (!rc && s.type == HPO_SAMPLER_NSGA2 && !(s.nsga2_cache = hpo_nsga2_cache_new()))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    json_decref(j);
    if (!rc && ret_text && !(*ret_text = hpo_json_dump(out)))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    json_decref(out);
    if (rc) {
        hpo_sampler_clear(&s);
        return rc;
    }
    *ret = s;
    return HPO_OK;
}

void hpo_sampler_clear(hpo_sampler *s)
{
    if (!s)
        return;
    hpo_grid_clear(&s->grid);
    hpo_gp_warm_clear(s->gp_warm);
    free(s->gp_warm);
    hpo_cmaes_options_clear(&s->cmaes);
    if (s->cmaes_run)
        hpo_cmaes_run_free(*s->cmaes_run);
    free(s->cmaes_run);
    hpo_nsga2_cache_free(s->nsga2_cache);
    memset(s, 0, sizeof *s);
}

/* ---- sampling ---- */

/* One stream per (seed, trial number, attempt, param name): reproducible and independent. */
static void stream(hpo_rng *r, uint64_t seed, int64_t number, unsigned attempt, const char *name)
{
    uint64_t h = hpo_hash_name(name ? name : "");
    hpo_rng_seed(r, seed ^ ((uint64_t)number * 0x9E3779B97F4A7C15ull) ^ (h * 0xBF58476D1CE4E5B9ull) ^
                        ((uint64_t)attempt << 56));
}

static bool all_continuous(const hpo_space *space)
{
    for (size_t i = 0; i < space->n; i++)
        if (space->items[i].dist.type != HPO_DIST_FLOAT || space->items[i].dist.step > 0)
            return false;
    return space->n > 0;
}

/* Whether the declared params new trial t will have (those it has, the others from values: one
 * per declared param) equal the params of a running or waiting trial; false when t has them all
 * (a new draw would change nothing). */
static bool repeats_live_trial(const hpo_space *space, const hpo_trial *t, const double *values,
                               const hpo_trial *trials, size_t n)
{
    size_t drawn = 0;
    for (size_t i = 0; i < space->n; i++)
        drawn += hpo_trial_param(t, space->items[i].name) == NULL;
    if (drawn == 0)
        return false;
    for (size_t k = 0; k < n; k++) {
        const hpo_trial *o = &trials[k];
        if (o->state != HPO_TRIAL_RUNNING && o->state != HPO_TRIAL_WAITING)
            continue;
        bool same = true;
        for (size_t i = 0; i < space->n && same; i++) {
            const hpo_param *p = hpo_trial_param(o, space->items[i].name);
            const hpo_param *mine = hpo_trial_param(t, space->items[i].name);
            same = p && p->value == (mine ? mine->value : values[i]);
        }
        if (same)
            return true;
    }
    return false;
}

static hpo_rc fill_grid(const hpo_sampler *s, const hpo_study_config *study,
                        const hpo_trial *trials, size_t n_trials, int64_t number,
                        double *values, hpo_error *err)
{
    const hpo_space *space = &study->space;
    bool *taken = calloc(s->grid.size ? s->grid.size : 1, sizeof *taken);
    if (!taken)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    bool running = false;
    for (size_t k = 0; k < n_trials; k++) {
        const hpo_trial *o = &trials[k];
        if (o->state == HPO_TRIAL_FAIL)
            continue; /* a failed point is handed out again */
        running |= o->state == HPO_TRIAL_RUNNING;
        bool whole = true;
        for (size_t i = 0; i < space->n && whole; i++) {
            const hpo_param *p = hpo_trial_param(o, space->items[i].name);
            whole = p != NULL;
            if (p)
                values[i] = p->value;
        }
        size_t idx = whole ? hpo_grid_index(&s->grid, values) : SIZE_MAX;
        if (idx != SIZE_MAX)
            taken[idx] = true;
    }
    hpo_rng rng;
    stream(&rng, s->seed, number, 0, NULL);
    size_t idx = hpo_grid_pick(&s->grid, taken, &rng);
    free(taken);
    if (idx == SIZE_MAX)
        return running ? hpo_error_set(err, HPO_E_NO_WORK, NULL,
                                       "every grid point is taken; trials are still running")
                       : hpo_error_set(err, HPO_E_COMPLETE, NULL,
                                       "study '%s' has run every point of its grid", study->name);
    hpo_grid_point(&s->grid, idx, values);
    return HPO_OK;
}

bool hpo_sampling_keeps_log(const hpo_sampler *s, const hpo_study_config *study)
{
    return (s->type == HPO_SAMPLER_TPE || s->type == HPO_SAMPLER_AUTO) &&
           study->n_directions == 1;
}

/* ---- auto ---- */

hpo_sampler_type hpo_sampling_auto_pick(const hpo_study_config *study, int64_t number,
                                        int64_t n_complete, bool constrained)
{
    const hpo_space *space = &study->space;
    size_t n_categorical = 0;
    for (size_t i = 0; i < space->n; i++)
        n_categorical += space->items[i].dist.type == HPO_DIST_CATEGORICAL;
    if (study->n_directions > 1 || space->n == 0 || constrained ||
        2 * n_categorical > space->n || n_complete >= HPO_AUTO_GP_TRIALS)
        return HPO_SAMPLER_TPE;
    return number % 2 == 0 ? HPO_SAMPLER_GP : HPO_SAMPLER_TPE;
}

bool hpo_sampling_reads_log(const hpo_sampler *s, const hpo_study_config *study,
                            int64_t n_complete, bool constrained)
{
    /* auto: while it may pick the GP (with either parity), every trial is sampled under the
     * mutex, so the number need not be known yet */
    return hpo_sampling_keeps_log(s, study) &&
           (s->type == HPO_SAMPLER_TPE ||
            (hpo_sampling_auto_pick(study, 0, n_complete, constrained) == HPO_SAMPLER_TPE &&
             hpo_sampling_auto_pick(study, 1, n_complete, constrained) == HPO_SAMPLER_TPE));
}

/* The sampler auto runs for trial `number`: s with the type it picks from h (with a log: TPE,
 * as the caller samples from the log only then). A shallow copy: it shares s's configurations
 * and caches and is not cleared. */
static hpo_sampler auto_delegate(const hpo_sampler *s, const hpo_study_config *study,
                                 const hpo_history *h, int64_t number)
{
    hpo_sampler d = *s;
    int64_t n_complete = 0;
    bool constrained = false;
    for (size_t k = 0; !h->obs && k < h->n_trials; k++) {
        n_complete += h->trials[k].state == HPO_TRIAL_COMPLETE;
        constrained |= h->trials[k].n_constraints > 0;
    }
    d.type = h->obs ? HPO_SAMPLER_TPE
                    : hpo_sampling_auto_pick(study, number, n_complete, constrained);
    return d;
}

/* The declared params at point `number` of the sampler's sequence: numeric params take its
 * coordinates in order, categorical ones (and numeric ones past the last dimension) a draw. */
static void qmc_values(const hpo_qmc *q, const hpo_space *space, int64_t number, hpo_rng *rng,
                       double *values)
{
    size_t dim = 0;
    for (size_t i = 0; i < space->n; i++) {
        const hpo_dist *d = &space->items[i].dist;
        if (d->type == HPO_DIST_CATEGORICAL || dim == HPO_QMC_MAX_DIMS)
            values[i] = hpo_sampler_random(d, rng);
        else
            values[i] = hpo_sampler_at(d, hpo_qmc_coord(q, dim++, (uint64_t)number));
    }
}

/* TPE's draw of the declared params, from the log when h has one (one objective). */
static hpo_rc tpe_values(const hpo_sampler *s, const hpo_study_config *study,
                         const hpo_history *h, hpo_rng *rng, double *values, hpo_error *err)
{
    if (h->obs)
        return hpo_tpe_sample_obs(&s->tpe, &study->space, h->obs, h->trials, h->n_trials, rng,
                                  values, err);
    if (study->n_directions > 1)
        return hpo_tpe_sample_multi(&s->tpe, &study->space, study->directions,
                                    study->n_directions, h->trials, h->n_trials, rng, values,
                                    err);
    return hpo_tpe_sample(&s->tpe, &study->space, study->directions[0], h->trials, h->n_trials,
                          rng, values, err);
}

hpo_rc hpo_sampling_fill(const hpo_sampler *s, const hpo_study_config *study,
                         const hpo_history *h, int64_t number, hpo_trial *t, hpo_error *err)
{
    if (s->type == HPO_SAMPLER_AUTO) {
        hpo_sampler d = auto_delegate(s, study, h, number);
        return hpo_sampling_fill(&d, study, h, number, t, err);
    }
    const hpo_trial *trials = h->trials;
    size_t n_trials = h->n_trials;
    const hpo_space *space = &study->space;
    if (space->n == 0 && s->type != HPO_SAMPLER_NSGA2)
        return HPO_OK;
    double *values = calloc(space->n ? space->n : 1, sizeof *values);
    if (!values)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    hpo_rc rc = HPO_OK;
    int64_t generation = -1;
    if (s->type == HPO_SAMPLER_GRID) {
        rc = fill_grid(s, study, trials, n_trials, number, values, err);
    } else {
        /* NSGA-II: the parents replayed once, a child drawn on each attempt */
        hpo_nsga2_parents par = {0};
        if (s->type == HPO_SAMPLER_NSGA2)
            rc = hpo_nsga2_parents_collect(&s->nsga2, study->directions, study->n_directions,
                                           space, trials, n_trials, s->nsga2_cache, &par, err);
        bool check = space->n > 0 && (s->type == HPO_SAMPLER_NSGA2 || all_continuous(space));
        for (unsigned attempt = 0; !rc && attempt <= DUPLICATE_RETRIES; attempt++) {
            hpo_rng rng;
            stream(&rng, s->seed, number, attempt, NULL);
            if (s->type == HPO_SAMPLER_QMC) {
                qmc_values(&s->qmc, space, number, &rng, values);
                break; /* the sequence never repeats a point */
            }
            if (s->type == HPO_SAMPLER_CMAES) {
                rc = hpo_cmaes_sample(&s->cmaes, s->seed, space, study->directions[0], trials,
                                      n_trials, s->cmaes_run, &rng, values, &generation, err);
            } else if (s->type == HPO_SAMPLER_NSGA2 && attempt < DUPLICATE_RETRIES) {
                rc = hpo_nsga2_parents_child(&s->nsga2, &par, space, &rng, values, err);
            } else if (s->type == HPO_SAMPLER_TPE && attempt < DUPLICATE_RETRIES) {
                rc = tpe_values(s, study, h, &rng, values, err);
                if (rc == HPO_E_NO_WORK) { /* a quasi-random start-up */
                    qmc_values(&s->qmc, space, number, &rng, values);
                    rc = HPO_OK;
                    break;
                }
            } else {
                rc = s->type == HPO_SAMPLER_GP && attempt < DUPLICATE_RETRIES
                         ? hpo_gp_sample(&s->gp, space, study->directions[0], trials, n_trials,
                                         &rng, s->gp_warm, values, err)
                         : HPO_E_NO_WORK;
                if (rc == HPO_E_NO_WORK) { /* random (also the GP's start-up, the last retry) */
                    rc = HPO_OK;
                    for (size_t i = 0; i < space->n; i++)
                        values[i] = hpo_sampler_random(&space->items[i].dist, &rng);
                }
            }
            if (rc || !check || !repeats_live_trial(space, t, values, trials, n_trials))
                break;
        }
        if (!rc && s->type == HPO_SAMPLER_NSGA2) {
            t->has_generation = true;
            t->generation = par.generation;
        }
        hpo_nsga2_parents_clear(&par);
    }
    bool drawn = false;
    for (size_t i = 0; !rc && i < space->n; i++) {
        const hpo_param_def *def = &space->items[i];
        if (hpo_trial_param(t, def->name))
            continue; /* fixed by the caller or the queue */
        drawn = true;
        if (hpo_trial_add_param(t, def->name, &def->dist, values[i]))
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    if (!rc && drawn && generation >= 0) { /* a trial whose params were all given has none */
        t->has_generation = true;
        t->generation = generation;
    }
    free(values);
    return rc;
}

/* The QMC dimension of a define-by-run numeric param: after the declared numeric params, the
 * others in the order they first appeared in the study (trials by number, params in the order
 * they were suggested; h holds every trial, the asking one too), as Optuna's QMCSampler orders
 * the search space of its first trial. */
static size_t qmc_dim(const hpo_study_config *study, const hpo_history *h, const char *name)
{
    size_t base = 0;
    for (size_t i = 0; i < study->space.n; i++)
        base += study->space.items[i].dist.type != HPO_DIST_CATEGORICAL;
    size_t n_seen = 0, cap = 0, dim = SIZE_MAX;
    const char **seen = NULL;
    for (size_t k = 0; k < h->n_trials && dim == SIZE_MAX; k++)
        for (size_t i = 0; i < h->trials[k].n_params && dim == SIZE_MAX; i++) {
            const hpo_param *p = &h->trials[k].params[i];
            if (p->dist.type == HPO_DIST_CATEGORICAL || hpo_space_find(&study->space, p->name))
                continue;
            if (strcmp(p->name, name) == 0) {
                dim = base + n_seen;
                break;
            }
            size_t j = 0;
            while (j < n_seen && strcmp(seen[j], p->name) != 0)
                j++;
            if (j < n_seen)
                continue;
            if (n_seen == cap) {
                const char **g = realloc(seen, (cap = cap ? 2 * cap : 16) * sizeof *g);
                if (!g)
                    break; /* out of memory: the caller draws at random */
                seen = g;
            }
            seen[n_seen++] = p->name;
        }
    if (dim == SIZE_MAX)
        dim = base + n_seen; /* a new param: the next dimension */
    free(seen);
    return dim;
}

double hpo_sampling_param(const hpo_sampler *s, const hpo_study_config *study,
                          const hpo_history *h, int64_t number, const char *name,
                          const hpo_dist *d)
{
    if (s->type == HPO_SAMPLER_AUTO) { /* a define-by-run param: TPE's, alone */
        hpo_sampler tpe = *s;
        tpe.type = HPO_SAMPLER_TPE;
        return hpo_sampling_param(&tpe, study, h, number, name, d);
    }
    if (s->type == HPO_SAMPLER_QMC && d->type != HPO_DIST_CATEGORICAL) {
        size_t dim = qmc_dim(study, h, name);
        if (dim < HPO_QMC_MAX_DIMS)
            return hpo_sampler_at(d, hpo_qmc_coord(&s->qmc, dim, (uint64_t)number));
    }
    hpo_rng rng;
    stream(&rng, s->seed, number, 0, name);
    if (s->type == HPO_SAMPLER_TPE && h->obs)
        return hpo_tpe_sample_param_obs(&s->tpe, name, d, h->obs, h->trials, h->n_trials, &rng);
    if (s->type == HPO_SAMPLER_TPE && study->n_directions > 1)
        return hpo_tpe_sample_param_multi(&s->tpe, name, d, study->directions,
                                          study->n_directions, h->trials, h->n_trials, &rng);
    if (s->type == HPO_SAMPLER_TPE)
        return hpo_tpe_sample_param(&s->tpe, name, d, study->directions[0], h->trials,
                                    h->n_trials, &rng);
    return hpo_sampler_random(d, &rng);
}
