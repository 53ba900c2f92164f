/* hpo_trials: the trial life cycle (ask, enqueue, suggest, report, heartbeat, finish) and what
 * every change keeps up to date (counts per state, the best trial, the Pareto front). Each
 * operation runs under its study's mutex through with_study: it changes the trial in place (only
 * what it adds) and queues its writes; the answer waits for their commit. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_clock.h"
#include "hpo_codec.h"
#include "hpo_log.h"
#include "service_internal.h"

#define IDEMPOTENCY_KEY_MAX 128

/* ---- derived state ---- */

/* Several objectives: adds trial i (just COMPLETE) to the front unless a member dominates it, and
 * drops the members it dominates. A trial dominated by a non-member is dominated by a member. */
static hpo_rc front_add(study *st, size_t i)
{
    const hpo_direction *dirs = st->cfg.directions;
    size_t nd = st->cfg.n_directions;
    const double *v = st->trials[i].values;
    size_t kept = 0;
    for (size_t k = 0; k < st->n_front; k++)
        if (hpo_values_dominate(dirs, nd, st->trials[st->front[k]].values, v))
            return HPO_OK;
    for (size_t k = 0; k < st->n_front; k++)
        if (!hpo_values_dominate(dirs, nd, v, st->trials[st->front[k]].values))
            st->front[kept++] = st->front[k];
    st->n_front = kept;
    if (st->n_front == st->cap_front) {
        size_t cap = st->cap_front ? st->cap_front * 2 : 16;
        size_t *f = realloc(st->front, cap * sizeof *f);
        if (!f)
            return HPO_E_NOMEM;
        st->front = f;
        st->cap_front = cap;
    }
    size_t at = st->n_front;
    while (at > 0 && st->front[at - 1] > i)
        at--;
    memmove(&st->front[at + 1], &st->front[at], (st->n_front - at) * sizeof *st->front);
    st->front[at] = i;
    st->n_front++;
    return HPO_OK;
}

/* One objective: the best trial; several: the Pareto front; with trial i (COMPLETE). In a
 * constrained study only feasible trials compete (Optuna >= 4.0's best_trial and best_trials;
 * 3.1 ignored constraints there): a better value never makes up for a violated constraint. */
static hpo_rc best_add(study *st, size_t i)
{
    const hpo_trial *t = &st->trials[i];
    if (t->n_values != st->cfg.n_directions)
        return HPO_OK;
    if (st->n_constraints && hpo_trial_violation(t) != 0)
        return HPO_OK;
    if (st->cfg.n_directions > 1)
        return front_add(st, i);
    if (st->best == SIZE_MAX ||
        hpo_value_better(st->cfg.directions[0], t->values[0], st->trials[st->best].values[0]))
        st->best = i;
    return HPO_OK;
}

/* Best and front from every COMPLETE trial. */
static hpo_rc best_rebuild(study *st)
{
    st->best = SIZE_MAX;
    st->n_front = 0;
    for (size_t i = 0; i < st->n; i++)
        if (st->trials[i].state == HPO_TRIAL_COMPLETE && best_add(st, i))
            return HPO_E_NOMEM;
    return HPO_OK;
}

/* Trial t has just finished (its state, values and constraints set): what its end keeps up to
 * date. */
static hpo_rc note_finished(study *st, const hpo_trial *t)
{
    if (st->obs && hpo_obs_add(st->obs, t))
        return HPO_E_NOMEM;
    /* the study's first constraints: the trials that gave none leave best and front */
    bool first = t->n_constraints && !st->n_constraints;
    if (first)
        st->n_constraints = t->n_constraints;
    if (t->state == HPO_TRIAL_COMPLETE && st->steps && hpo_step_index_add(st->steps, t))
        return HPO_E_NOMEM;
    if (first)
        return best_rebuild(st);
    return t->state == HPO_TRIAL_COMPLETE ? best_add(st, (size_t)t->number) : HPO_OK;
}

/* The median and percentile pruners (patient wraps them) compare with the values per step. */
static bool pruner_uses_steps(const hpo_pruner_config *p)
{
    return p->type == HPO_PRUNER_MEDIAN || p->type == HPO_PRUNER_PERCENTILE ||
           p->type == HPO_PRUNER_PATIENT;
}

void study_set_state(study *st, hpo_trial *t, hpo_trial_state s)
{
    study_note_change(st, t->number);
    study_live_update(st, t->number, t->state, s);
    st->counts[t->state]--;
    st->counts[s]++;
    t->state = s;
}

hpo_rc study_derive(study *st)
{
    memset(st->counts, 0, sizeof st->counts);
    hpo_step_index_free(st->steps);
    st->steps = NULL;
    if (pruner_uses_steps(&st->pruner) && !(st->steps = hpo_step_index_build(st->trials, st->n)))
        return HPO_E_NOMEM;
    if (study_live_rebuild(st))
        return HPO_E_NOMEM;
    /* TPE reads its observations from a log kept as trials finish (not under Hyperband, whose
     * brackets each see only their own trials) */
    hpo_obs_free(st->obs);
    st->obs = NULL;
    if (hpo_sampling_keeps_log(&st->sampler, &st->cfg) && st->pruner.type != HPO_PRUNER_HYPERBAND) {
        if (!(st->obs = hpo_obs_new(st->cfg.directions[0])))
            return HPO_E_NOMEM;
        for (size_t i = 0; i < st->n; i++)
            if (hpo_obs_add(st->obs, &st->trials[i]))
                return HPO_E_NOMEM;
    }
    st->n_retries = 0;
    st->n_constraints = 0;
    for (size_t i = 0; i < st->n; i++) {
        st->counts[st->trials[i].state]++;
        st->n_retries += st->trials[i].retry_of.set;
        if (!st->n_constraints)
            st->n_constraints = st->trials[i].n_constraints;
    }
    return best_rebuild(st);
}

/* ---- checks ---- */

/* A trial must be running to take reports, suggestions and heartbeats. */
static hpo_rc require_running(const study *st, const hpo_trial *t, hpo_error *err)
{
    if (t->state == HPO_TRIAL_RUNNING)
        return HPO_OK;
    if (t->state == HPO_TRIAL_WAITING || t->state == HPO_TRIAL_PAUSED)
        return hpo_error_set(err, HPO_E_CONFLICT, "number",
                             "trial %lld of study '%s' is %s: ask for it first",
                             (long long)t->number, st->cfg.name, hpo_trial_state_name(t->state));
    return hpo_error_set(err, HPO_E_FINISHED, "number", "trial %lld of study '%s' is already %s",
                         (long long)t->number, st->cfg.name, hpo_trial_state_name(t->state));
}

/* Reports and heartbeats also reach a paused trial (its command may still be saving). */
static hpo_rc require_live(const study *st, const hpo_trial *t, hpo_error *err)
{
    return t->state == HPO_TRIAL_PAUSED ? HPO_OK : require_running(st, t, err);
}

/* Trial `number` when it may take a change: running, or also paused when paused_ok. */
static hpo_rc changeable_trial(study *st, int64_t number, bool paused_ok, hpo_trial **ret,
                               hpo_error *err)
{
    hpo_rc rc = trial_at(st, number, ret, err);
    if (!rc)
        rc = paused_ok ? require_live(st, *ret, err) : require_running(st, *ret, err);
    return rc;
}

/* Trials are created (asked or enqueued) only while the study has room for one more. */
static hpo_rc check_trial_room(const hpo_limits *lim, const study *st, hpo_error *err)
{
    if ((int64_t)st->n < lim->trials_per_study)
        return HPO_OK;
    return hpo_error_set(err, HPO_E_LIMIT, NULL, "study '%s' has %zu trials: "
                         "--max-trials-per-study", st->cfg.name, st->n);
}

/* max_trials counts configurations: a retry runs one again and does not count. */
static bool max_reached(const study *st)
{
    return st->cfg.max_trials > 0 && (int64_t)st->n - st->n_retries >= st->cfg.max_trials;
}

/* ---- the sampler and the pruner over a trial's bracket ---- */

/* Hyperband: the sampler and the pruner see only the trials of one bracket. Returns a view of
 * shallow copies (free() the array only) with the index of `number` in *ret_self (SIZE_MAX when
 * absent), or NULL when the whole study is seen. */
static hpo_trial *bracket_view(const study *st, int64_t number, size_t *ret_n, size_t *ret_self,
                               int *ret_bracket)
{
    *ret_self = number >= 0 && (uint64_t)number < st->n ? (size_t)number : SIZE_MAX;
    *ret_n = st->n;
    *ret_bracket = -1;
    if (st->pruner.type != HPO_PRUNER_HYPERBAND)
        return NULL;
    int nb = hpo_hyperband_n_brackets(&st->pruner, st->trials, st->n);
    if (nb <= 0)
        return NULL; /* brackets are not known before a trial completes */
    hpo_trial *view = malloc((st->n ? st->n : 1) * sizeof *view);
    if (!view)
        return NULL;
    int mine = hpo_hyperband_bracket(&st->pruner, st->cfg.name, number, nb);
    *ret_bracket = mine;
    size_t n = 0;
    *ret_self = SIZE_MAX;
    for (size_t i = 0; i < st->n; i++) {
        if (hpo_hyperband_bracket(&st->pruner, st->cfg.name, st->trials[i].number, nb) != mine)
            continue;
        if (st->trials[i].number == number)
            *ret_self = n;
        view[n++] = st->trials[i];
    }
    *ret_n = n;
    return view;
}

/* What trial t should do now, by the study's pruner over t's bracket. */
static hpo_action decide(const study *st, const hpo_trial *t)
{
    if (st->pruner.type == HPO_PRUNER_NONE || st->cfg.n_directions != 1 || t->n_reports == 0)
        return HPO_ACTION_CONTINUE;
    size_t n, self;
    int bracket;
    hpo_trial *view = bracket_view(st, t->number, &n, &self, &bracket);
    hpo_direction dir = st->cfg.directions[0];
    hpo_action a = HPO_ACTION_CONTINUE;
    if (st->pruner.type != HPO_PRUNER_HYPERBAND)
        a = hpo_pruner_decide_indexed(&st->pruner, dir, st->trials, st->n, st->steps, t);
    else if (view && self != SIZE_MAX)
        a = hpo_hyperband_decide(&st->pruner, dir, bracket, view, n, &view[self]);
    free(view);
    return a;
}

/* Fills the declared params t lacks, from the sampler over trial `number`'s bracket. t is not
 * one of the study's trials. */
static hpo_rc sample_params(const study *st, int64_t number, hpo_trial *t, hpo_error *err)
{
    size_t n, self;
    int bracket;
    hpo_trial *view = bracket_view(st, number, &n, &self, &bracket);
    hpo_history h = {view ? view : st->trials, n, NULL};
    hpo_rc rc = hpo_sampling_fill(&st->sampler, &st->cfg, &h, number, t, err);
    free(view);
    return rc;
}

/* Sampling that runs without the study's mutex (TPE over its observation log): what it needs,
 * taken under the mutex. */
typedef struct {
    snapshot *hold;        /* keeps what the running copies point to alive */
    hpo_obs_view obs;
    hpo_trial *running;    /* shallow copies of the RUNNING trials (constant liar) */
    size_t n_running;
    int64_t number;
    const hpo_sampler *sampler;
    const hpo_study_config *cfg;
} sample_job;

static hpo_rc sample_job_take(study *st, int64_t number, sample_job *job, hpo_error *err)
{
    int64_t n_running = st->counts[HPO_TRIAL_RUNNING];
    *job = (sample_job){.number = number, .sampler = &st->sampler, .cfg = &st->cfg};
    if (!(job->running = malloc((size_t)(n_running > 0 ? n_running : 1) * sizeof *job->running)))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (size_t i = 0; i < st->n_live; i++)
        if (st->trials[st->live[i]].state == HPO_TRIAL_RUNNING)
            job->running[job->n_running++] = st->trials[st->live[i]];
    hpo_obs_view_take(st->obs, &job->obs);
    job->hold = study_hold(st);
    return STUDY_RUN_OUTSIDE;
}

static hpo_history sample_job_history(const sample_job *job)
{
    return (hpo_history){job->running, job->n_running, &job->obs};
}

static void sample_job_drop(sample_job *job)
{
    snapshot_release(job->hold);
    free(job->running);
    memset(job, 0, sizeof *job);
}

/* Under ASHA, the budget of a running trial: from the rung it reached to the next one. */
static void resource_of(const study *st, const hpo_trial *t, hpo_resource *ret)
{
    memset(ret, 0, sizeof *ret);
    if (st->pruner.type != HPO_PRUNER_ASHA)
        return;
    const hpo_report *last = hpo_trial_last_report(t);
    int k = last ? hpo_asha_rung_of_step(&st->pruner, last->step) : -1;
    int top = hpo_asha_top_rung(&st->pruner);
    ret->set = true;
    ret->from = k >= 0 ? hpo_asha_rung_resource(&st->pruner, k) : 0;
    ret->to = hpo_asha_rung_resource(&st->pruner, k + 1 < top ? k + 1 : top);
}

/* ---- fixed params ---- */

/* Splits fixed params: names of the declared space become params of t (validated against their
 * distribution); the others are kept as JSON text in t->fixed_params for their suggest. */
static hpo_rc apply_fixed_params(const study *st, const hpo_limits *lim,
                                 const hpo_fixed_params *params, hpo_trial *t, hpo_error *err)
{
    if (!params || params->n == 0)
        return HPO_OK;
    const hpo_fixed_param **rest = calloc(params->n, sizeof *rest);
    if (!rest)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    size_t n_rest = 0;
    hpo_rc rc = HPO_OK;
    for (size_t i = 0; !rc && i < params->n; i++) {
        const hpo_fixed_param *p = &params->items[i];
        char field[HPO_ERROR_FIELD_MAX];
        snprintf(field, sizeof field, "params.%s", p->name);
        if ((rc = hpo_param_name_validate(p->name, field, err)) ||
            (rc = check_name(lim, "param name", p->name, field, err)))
            break;
        const hpo_param_def *def = hpo_space_find(&st->cfg.space, p->name);
        double internal;
        if (!def)
            rest[n_rest++] = p;
        else if (!(rc = hpo_dist_value_to_internal(&def->dist, &p->value, field, &internal, err)) &&
                 hpo_trial_add_param(t, p->name, &def->dist, internal))
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    /* the trial gets every declared param, and the others at their suggest */
    size_t total = st->cfg.space.n + n_rest;
    if (!rc && (int64_t)total > lim->params_per_trial)
        rc = hpo_error_set(err, HPO_E_LIMIT, "params", "the trial would have %zu params (at most "
                           "%lld): --max-params-per-trial", total,
                           (long long)lim->params_per_trial);
    if (!rc && n_rest > 0) {
        json_t *o = hpo_fixed_params_to_json(rest, n_rest);
        free(t->fixed_params);
        t->fixed_params = o ? hpo_json_dump(o) : NULL;
        json_decref(o);
        if (!t->fixed_params)
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    free(rest);
    return rc;
}

/* ---- ask and enqueue ---- */

/* Appends a new trial (moved in: t is zeroed) under the next number and queues its insert. */
static hpo_rc add_trial(study *st, hpo_trial *t, hpo_trial *ret, hpo_error *err)
{
    t->number = (int64_t)st->n;
    if (study_grow_trials(st) || study_live_add(st, t))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    study_touch(st, t);
    hpo_writes *w = study_writes(st);
    if (!w || hpo_writes_trial_insert(w, st->cfg.id, t))
        return study_break(st, HPO_E_NOMEM, err);
    st->trials[st->n++] = *t;
    st->counts[t->state]++;
    st->n_retries += t->retry_of.set;
    memset(t, 0, sizeof *t);
    return copy_out(ret, &st->trials[st->n - 1], err);
}

/* Hands an existing trial (waiting, or paused and promoted) to a worker: fills the declared
 * params it lacks and marks it running. */
static hpo_rc start_existing(study *st, hpo_trial *w, const hpo_ask_request *req, hpo_trial *ret,
                             hpo_error *err)
{
    /* the sampler reads the study's trials: it fills a copy of the params, not w itself */
    hpo_trial fill = {0};
    fill.number = w->number;
    hpo_rc rc = HPO_OK;
    for (size_t i = 0; !rc && i < w->n_params; i++)
        if (hpo_trial_add_param(&fill, w->params[i].name, &w->params[i].dist, w->params[i].value))
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    if (!rc)
        rc = sample_params(st, w->number, &fill, err);
    char *worker = hpo_strdup(req->worker), *key = hpo_strdup(req->idempotency_key);
    if (!rc && ((req->worker && !worker) || (req->idempotency_key && !key)))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    size_t first = w->n_params;
    for (size_t i = first; !rc && i < fill.n_params; i++)
        if (trial_add_param(st, w, fill.params[i].name, &fill.params[i].dist,
                            fill.params[i].value))
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    /* an enqueued trial joins the generation it starts in; a promoted one keeps its own */
    bool generation = !w->has_generation && fill.has_generation;
    int64_t gen = fill.generation;
    hpo_trial_clear(&fill);
    if (rc) {
        hpo_trial_truncate_params(w, first);
        free(worker);
        free(key);
        return rc;
    }
    if (trial_set_string(st, w, &w->worker, worker)) {
        free(worker);
        free(key);
        return study_break(st, HPO_E_NOMEM, err);
    }
    if (trial_set_string(st, w, &w->idempotency_key, key)) {
        free(key);
        return study_break(st, HPO_E_NOMEM, err);
    }
    int64_t now = hpo_clock_now_ms();
    study_set_state(st, w, HPO_TRIAL_RUNNING);
    if (generation) {
        w->has_generation = true;
        w->generation = gen;
    }
    if (!w->started_ms)
        w->started_ms = now;
    w->heartbeat_ms = now;
    study_touch(st, w);
    hpo_writes *wr = study_writes(st);
    if (!wr || hpo_writes_params_insert(wr, st->cfg.id, w, first) ||
        hpo_writes_trial_update(wr, st->cfg.id, w))
        return study_break(st, HPO_E_NOMEM, err);
    return copy_out(ret, w, err);
}

/* ASHA with every configuration created and nothing running: no paused trial can be promoted
 * any more, so each is left behind as PRUNED with its value at its rung. */
static hpo_rc leave_paused_behind(study *st, hpo_error *err)
{
    int64_t now = hpo_clock_now_ms();
    for (size_t i = 0; i < st->n; i++) {
        hpo_trial *t = &st->trials[i];
        if (t->state != HPO_TRIAL_PAUSED)
            continue;
        const hpo_report *last = hpo_trial_last_report(t);
        if (last && trial_set_values(st, t, &last->value, 1))
            return study_break(st, HPO_E_NOMEM, err);
        study_set_state(st, t, HPO_TRIAL_PRUNED);
        t->finished_ms = now;
        study_touch(st, t);
        hpo_writes *w = study_writes(st);
        if (!w || hpo_writes_trial_update(w, st->cfg.id, t) || note_finished(st, t))
            return study_break(st, HPO_E_NOMEM, err);
    }
    return HPO_OK;
}

/* The waiting trial to hand out next: a retry of a preempted trial first (its worker was stopped,
 * not the trial at fault, so it goes on as soon as it can), else the lowest-numbered one. */
static hpo_trial *next_waiting(study *st)
{
    hpo_trial *first = NULL;
    for (size_t i = 0; st->counts[HPO_TRIAL_WAITING] > 0 && i < st->n_live; i++) {
        hpo_trial *t = &st->trials[st->live[i]];
        if (t->state != HPO_TRIAL_WAITING)
            continue;
        if (t->retry_of.set && (uint64_t)t->retry_of.number < st->n &&
            st->trials[t->retry_of.number].preempted)
            return t;
        if (!first)
            first = t;
    }
    return first;
}

typedef struct {
    const hpo_ask_request *req;
    hpo_trial *ret;
    bool *replayed;
    bool promoted; /* the trial handed out is an ASHA promotion */
    hpo_ask_info *info;
    /* a new trial's params sampled outside the mutex (every declared one) */
    sample_job job;
    bool sampled;
    hpo_trial pre;
    hpo_rc pre_rc;
    hpo_error pre_err;
} ask_ctx;

static void ask_outside(void *vctx)
{
    ask_ctx *ctx = vctx;
    hpo_history h = sample_job_history(&ctx->job);
    ctx->pre_rc = hpo_sampling_fill(ctx->job.sampler, ctx->job.cfg, &h, ctx->job.number,
                                    &ctx->pre, &ctx->pre_err);
    ctx->sampled = true;
    sample_job_drop(&ctx->job);
}

/* The declared params of a new trial t that the caller did not fix: sampled outside the mutex
 * when the sampler can (STUDY_RUN_OUTSIDE the first time), else here. */
static hpo_rc new_trial_params(study *st, ask_ctx *ctx, hpo_trial *t, hpo_error *err)
{
    if (!ctx->sampled && st->obs && st->cfg.space.n > 0 &&
        hpo_sampling_reads_log(&st->sampler, &st->cfg, st->counts[HPO_TRIAL_COMPLETE],
                               st->n_constraints > 0)) {
        /* the number the trial will likely get; asks sampling at the same time draw for
         * different numbers, so their random streams differ */
        int64_t draw = (int64_t)st->n > st->last_draw ? (int64_t)st->n : st->last_draw + 1;
        st->last_draw = draw;
        return sample_job_take(st, draw, &ctx->job, err);
    }
    if (!ctx->sampled)
        return sample_params(st, (int64_t)st->n, t, err);
    if (ctx->pre_rc) {
        if (err)
            *err = ctx->pre_err;
        return ctx->pre_rc;
    }
    for (size_t i = 0; i < ctx->pre.n_params; i++) {
        const hpo_param *p = &ctx->pre.params[i];
        if (!hpo_trial_param(t, p->name) && hpo_trial_add_param(t, p->name, &p->dist, p->value))
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    return HPO_OK;
}

static hpo_rc ask_locked(hpo_service *svc, study *st, ask_ctx *ctx, hpo_error *err)
{
    const hpo_ask_request *req = ctx->req;
    hpo_trial *ret = ctx->ret;
    bool *ret_replayed = ctx->replayed;
    if (req->idempotency_key) {
        size_t klen = strlen(req->idempotency_key);
        if (klen == 0 || klen > IDEMPOTENCY_KEY_MAX)
            return hpo_error_set(err, HPO_E_INVALID, "idempotency_key",
                                 "idempotency_key must have 1 to %d characters",
                                 IDEMPOTENCY_KEY_MAX);
        for (size_t i = st->n; i-- > 0;)
            if (st->trials[i].idempotency_key &&
                strcmp(st->trials[i].idempotency_key, req->idempotency_key) == 0) {
                *ret_replayed = true;
                return copy_out(ret, &st->trials[i], err);
            }
    }
    /* a promotion first (ASHA), then an enqueued trial unless the caller fixed params */
    if (st->pruner.type == HPO_PRUNER_ASHA && !req->params) {
        int rung;
        size_t i = hpo_asha_pick_promotion(&st->pruner, st->cfg.directions[0], st->trials, st->n,
                                           &rung);
        if (i != SIZE_MAX) {
            hpo_rc rc = start_existing(st, &st->trials[i], req, ret, err);
            if (rc)
                return rc;
            hpo_promotion p = {st->trials[i].number, rung, hpo_clock_now_ms()};
            hpo_writes *w = study_writes(st);
            if (study_add_promotion(st, &p) || !w || hpo_writes_promotion(w, st->cfg.id, &p))
                return study_break(st, HPO_E_NOMEM, err);
            ctx->promoted = true;
            return HPO_OK;
        }
    }
    hpo_trial *waiting = req->params ? NULL : next_waiting(st);
    if (waiting)
        return start_existing(st, waiting, req, ret, err);

    if (max_reached(st)) {
        if (st->pruner.type == HPO_PRUNER_ASHA && st->counts[HPO_TRIAL_RUNNING] > 0)
            return hpo_error_set(err, HPO_E_NO_WORK, NULL,
                                 "no work now: running trials may make paused ones promotable");
        if (st->cfg.retry.max_retries > 0 && st->counts[HPO_TRIAL_RUNNING] > 0)
            return hpo_error_set(err, HPO_E_NO_WORK, NULL,
                                 "no work now: a running trial that fails may be retried");
        hpo_rc rc = st->pruner.type == HPO_PRUNER_ASHA ? leave_paused_behind(st, err) : HPO_OK;
        if (rc)
            return rc;
        return hpo_error_set(err, HPO_E_COMPLETE, NULL,
                             "study '%s' has reached max_trials (%lld)", st->cfg.name,
                             (long long)st->cfg.max_trials);
    }

    hpo_rc rc = check_trial_room(&svc->limits, st, err);
    if (rc)
        return rc;
    int64_t now = hpo_clock_now_ms();
    hpo_trial t = {0};
    t.state = HPO_TRIAL_RUNNING;
    t.created_ms = t.started_ms = t.heartbeat_ms = now;
    t.worker = hpo_strdup(req->worker);
    t.idempotency_key = hpo_strdup(req->idempotency_key);
    if ((req->worker && !t.worker) || (req->idempotency_key && !t.idempotency_key))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    if (!rc)
        rc = apply_fixed_params(st, &svc->limits, req->params, &t, err);
    if (!rc)
        rc = new_trial_params(st, ctx, &t, err);
    if (!rc)
        rc = add_trial(st, &t, ret, err);
    hpo_trial_clear(&t);
    return rc;
}

static hpo_rc ask_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    ask_ctx *ctx = vctx;
    hpo_trial_clear(ctx->ret); /* from an attempt that had to be run again */
    *ctx->replayed = false;
    ctx->promoted = false;
    hpo_rc rc = ask_locked(svc, st, ctx, err);
    if (!rc && ctx->info) {
        resource_of(st, ctx->ret, &ctx->info->resource);
        ctx->info->decides = hpo_pruner_decides(&st->pruner, st->cfg.name, ctx->ret->number);
    }
    return rc;
}

hpo_rc hpo_service_ask(hpo_service *svc, const char *name, const hpo_ask_request *req,
                       hpo_trial *ret, bool *ret_replayed, hpo_ask_info *ret_info,
                       hpo_error *err)
{
    hpo_rc rc = check_name(&svc->limits, "worker name", req->worker, "worker", err);
    if (rc)
        return rc;
    *ret_replayed = false;
    memset(ret, 0, sizeof *ret);
    ask_ctx ctx = {.req = req, .ret = ret, .replayed = ret_replayed, .info = ret_info};
    rc = with_study_outside(svc, name, ask_fn, ask_outside, &ctx, err);
    hpo_trial_clear(&ctx.pre);
    if (rc)
        hpo_trial_clear(ret); /* decided, but its commit failed */
    if (!rc && !*ret_replayed) /* counted once durable */
        hpo_metrics_count(svc->metrics, HPO_COUNT_ASKS, 1);
    if (!rc && ctx.promoted)
        hpo_metrics_count(svc->metrics, HPO_COUNT_PROMOTIONS, 1);
    return rc;
}

typedef struct {
    const hpo_fixed_params *params;
    hpo_trial *ret;
} enqueue_ctx;

static hpo_rc enqueue_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    enqueue_ctx *ctx = vctx;
    hpo_trial_clear(ctx->ret);
    if (max_reached(st))
        return hpo_error_set(err, HPO_E_CONFLICT, NULL,
                             "study '%s' has reached max_trials (%lld): nothing more can be "
                             "enqueued", st->cfg.name, (long long)st->cfg.max_trials);
    hpo_rc rc = check_trial_room(&svc->limits, st, err);
    if (rc)
        return rc;
    hpo_trial t = {0};
    t.state = HPO_TRIAL_WAITING;
    t.created_ms = hpo_clock_now_ms();
    rc = apply_fixed_params(st, &svc->limits, ctx->params, &t, err);
    if (!rc)
        rc = add_trial(st, &t, ctx->ret, err);
    hpo_trial_clear(&t);
    return rc;
}

hpo_rc hpo_service_enqueue(hpo_service *svc, const char *name, const hpo_fixed_params *params,
                           hpo_trial *ret, hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    enqueue_ctx ctx = {params, ret};
    hpo_rc rc = with_study(svc, name, enqueue_fn, &ctx, err);
    if (rc)
        hpo_trial_clear(ret);
    return rc;
}

/* ---- retries ---- */

/* The retries before trial t in its chain (t itself included when it is one). Numbers a store
 * could hold wrongly end the walk rather than index out of the array. */
static int chain_retries(const study *st, const hpo_trial *t)
{
    int k = 0;
    while (t->retry_of.set && t->retry_of.number >= 0 && (uint64_t)t->retry_of.number < st->n &&
           t->retry_of.number != t->number && k <= HPO_RETRY_MAX) {
        t = &st->trials[t->retry_of.number];
        k++;
    }
    return k;
}

/* The new trial that runs `orig` again: its params as they are (whatever the sampler or a
 * suggest gave), the params fixed for its suggests, and its reports when asked to keep them. */
static hpo_rc retry_copy(const study *st, const hpo_trial *orig, hpo_trial *t)
{
    t->state = HPO_TRIAL_WAITING;
    t->created_ms = hpo_clock_now_ms();
    t->retry_of = (hpo_trial_ref){true, orig->number};
    if (orig->fixed_params && !(t->fixed_params = hpo_strdup(orig->fixed_params)))
        return HPO_E_NOMEM;
    for (size_t i = 0; i < orig->n_params; i++)
        if (hpo_trial_add_param(t, orig->params[i].name, &orig->params[i].dist,
                                orig->params[i].value))
            return HPO_E_NOMEM;
    for (size_t i = 0; st->cfg.retry.keep_intermediate && i < orig->n_reports; i++)
        if (hpo_trial_add_report(t, orig->reports[i].step, orig->reports[i].value, NULL))
            return HPO_E_NOMEM;
    return HPO_OK;
}

hpo_rc study_retry_failed(hpo_service *svc, study *st, int64_t number, hpo_retry_cause cause,
                          hpo_error *err)
{
    const hpo_retry_policy *p = &st->cfg.retry;
    const hpo_trial *orig = &st->trials[number];
    if (!(p->on & cause) || orig->retried_by.set || chain_retries(st, orig) >= p->max_retries)
        return HPO_OK;
    if (check_trial_room(&svc->limits, st, NULL)) {
        hpo_log(HPO_LOG_WARN, "study '%s': trial %lld failed (%s) but is not retried: the study "
                "has %zu trials (--max-trials-per-study)", st->cfg.name, (long long)number,
                hpo_retry_cause_name(cause), st->n);
        return HPO_OK;
    }
    hpo_trial t = {0}, added = {0};
    hpo_rc rc = retry_copy(st, orig, &t);
    if (rc)
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    else
        rc = add_trial(st, &t, &added, err);
    if (!rc) /* a scalar the caller's update of the failed trial writes */
        st->trials[number].retried_by = (hpo_trial_ref){true, added.number};
    hpo_trial_clear(&t);
    hpo_trial_clear(&added);
    return rc;
}

/* ---- suggest ---- */

/* Optuna's rule: a name keeps its distribution's type across trials, and categorical choices. */
static hpo_rc check_compatible(const study *st, const char *name, const hpo_dist *d,
                               hpo_error *err)
{
    const hpo_param_def *def = hpo_space_find(&st->cfg.space, name);
    if (def && !hpo_dist_equal(&def->dist, d))
        return hpo_error_set(err, HPO_E_CONFLICT, "distribution",
                             "param '%s' is declared in the study's search space with another "
                             "distribution", name);
    for (size_t i = st->n; i-- > 0;) {
        const hpo_param *p = hpo_trial_param(&st->trials[i], name);
        if (!p)
            continue;
        if (p->dist.type != d->type ||
            (d->type == HPO_DIST_CATEGORICAL && !hpo_dist_equal(&p->dist, d)))
            return hpo_error_set(err, HPO_E_CONFLICT, "distribution",
                                 "param '%s' was used with an incompatible distribution in "
                                 "trial %lld", name, (long long)st->trials[i].number);
        break;
    }
    return HPO_OK;
}

typedef struct {
    int64_t number;
    const char *name;
    const hpo_dist *dist;
    double *ret;
    /* the value sampled outside the mutex */
    sample_job job;
    bool sampled;
    double pre;
} suggest_ctx;

static void suggest_outside(void *vctx)
{
    suggest_ctx *ctx = vctx;
    hpo_history h = sample_job_history(&ctx->job);
    ctx->pre = hpo_sampling_param(ctx->job.sampler, ctx->job.cfg, &h, ctx->number, ctx->name,
                                  ctx->dist);
    ctx->sampled = true;
    sample_job_drop(&ctx->job);
}

static hpo_rc suggest_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    suggest_ctx *ctx = vctx;
    hpo_trial *t = NULL;
    hpo_rc rc = changeable_trial(st, ctx->number, false, &t, err);
    if (rc)
        return rc;
    const hpo_param *have = hpo_trial_param(t, ctx->name);
    if (have) {
        if (!hpo_dist_equal(&have->dist, ctx->dist))
            return hpo_error_set(err, HPO_E_CONFLICT, "distribution",
                                 "param '%s' of trial %lld was suggested with another distribution",
                                 ctx->name, (long long)ctx->number);
        *ctx->ret = have->value;
        return HPO_OK;
    }
    if ((rc = check_compatible(st, ctx->name, ctx->dist, err)))
        return rc;
    if ((int64_t)t->n_params >= svc->limits.params_per_trial)
        return hpo_error_set(err, HPO_E_LIMIT, "name", "trial %lld of study '%s' has %zu params: "
                             "--max-params-per-trial", (long long)ctx->number, st->cfg.name,
                             t->n_params);

    double v = 0;
    bool fixed = false;
    json_t *fixed_params = t->fixed_params ? json_loads(t->fixed_params, 0, NULL) : NULL;
    json_t *fv = json_object_get(fixed_params, ctx->name);
    /* an enqueued value outside the distribution is ignored and the param sampled, as Optuna does */
    if (fv && hpo_json_to_param_value(ctx->dist, fv, ctx->name, &v, NULL) == HPO_OK)
        fixed = true;
    json_decref(fixed_params);
    if (!fixed && ctx->sampled) {
        v = ctx->pre;
    } else if (!fixed && st->obs) {
        return sample_job_take(st, ctx->number, &ctx->job, err);
    } else if (!fixed) {
        hpo_history h = {st->trials, st->n, NULL};
        v = hpo_sampling_param(&st->sampler, &st->cfg, &h, ctx->number, ctx->name, ctx->dist);
    }
    if (trial_add_param(st, t, ctx->name, ctx->dist, v))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    study_touch(st, t);
    hpo_writes *w = study_writes(st);
    if (!w || hpo_writes_params_insert(w, st->cfg.id, t, t->n_params - 1))
        return study_break(st, HPO_E_NOMEM, err);
    *ctx->ret = v;
    return HPO_OK;
}

hpo_rc hpo_service_suggest(hpo_service *svc, const char *name, int64_t number, const char *param,
                           const hpo_dist *dist, double *ret_internal, hpo_error *err)
{
    hpo_rc rc = hpo_param_name_validate(param, "name", err);
    if (!rc)
        rc = check_name(&svc->limits, "param name", param, "name", err);
    if (!rc)
        rc = check_choices(&svc->limits, dist, "distribution.choices", err);
    if (!rc)
        rc = hpo_dist_validate(dist, "distribution", err);
    if (rc)
        return rc;
    suggest_ctx ctx = {.number = number, .name = param, .dist = dist, .ret = ret_internal};
    return with_study_outside(svc, name, suggest_fn, suggest_outside, &ctx, err);
}

/* ---- report and heartbeat ---- */

typedef struct {
    int64_t number;
    const hpo_report *reports;
    size_t n;
    hpo_action *ret;
    size_t stored; /* new steps stored (the metrics) */
    bool paused;   /* the report paused the trial */
} report_ctx;

/* Stores reports and decides: the pruner judges the trial with its new reports, and a pause
 * (ASHA) is written in the same commit as the reports that reached the rung. Only new steps are
 * added: a trial's earlier reports are not touched. */
static hpo_rc report_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    report_ctx *ctx = vctx;
    ctx->stored = 0;
    ctx->paused = false;
    hpo_trial *t = NULL;
    hpo_rc rc = changeable_trial(st, ctx->number, true, &t, err);
    if (rc)
        return rc;
    hpo_report *fresh = malloc((ctx->n ? ctx->n : 1) * sizeof *fresh);
    if (!fresh)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    /* the new steps, first value of a step repeated within the batch kept */
    size_t k = 0;
    for (size_t i = 0; i < ctx->n; i++) {
        bool seen = hpo_trial_report_at(t, ctx->reports[i].step) != NULL;
        for (size_t j = 0; !seen && j < k; j++)
            seen = fresh[j].step == ctx->reports[i].step;
        if (!seen)
            fresh[k++] = ctx->reports[i];
    }
    /* only new steps count: a repeated report on a full trial is still answered */
    if (k > 0 && (int64_t)(t->n_reports + k) > svc->limits.reports_per_trial)
        rc = hpo_error_set(err, HPO_E_LIMIT, NULL, "trial %lld of study '%s' has %zu reports: "
                           "--max-reports-per-trial", (long long)ctx->number, st->cfg.name,
                           t->n_reports);
    for (size_t i = 0; !rc && i < k; i++)
        if (trial_add_report(st, t, fresh[i].step, fresh[i].value, NULL))
            rc = study_break(st, HPO_E_NOMEM, err);
    if (rc) {
        free(fresh);
        return rc;
    }
    t->heartbeat_ms = hpo_clock_now_ms();
    hpo_action action = HPO_ACTION_PAUSE;
    bool paused = false;
    if (t->state == HPO_TRIAL_RUNNING) {
        action = decide(st, t);
        if ((paused = action == HPO_ACTION_PAUSE))
            study_set_state(st, t, HPO_TRIAL_PAUSED);
    }
    /* a report is a sign of life too: it keeps the reaper away */
    study_touch(st, t);
    hpo_writes *w = study_writes(st);
    if (!w || hpo_writes_reports_insert(w, st->cfg.id, t->number, fresh, k, t->heartbeat_ms) ||
        (paused && hpo_writes_trial_update(w, st->cfg.id, t)))
        rc = study_break(st, HPO_E_NOMEM, err);
    free(fresh);
    *ctx->ret = action;
    ctx->stored = k;
    ctx->paused = paused;
    return rc;
}

hpo_rc hpo_service_report(hpo_service *svc, const char *name, int64_t number,
                          const hpo_report *reports, size_t n, hpo_action *ret_action,
                          hpo_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (reports[i].step < 0)
            return hpo_error_set(err, HPO_E_INVALID, "step", "step must be >= 0");
    report_ctx ctx = {number, reports, n, ret_action, 0, false};
    hpo_rc rc = with_study(svc, name, report_fn, &ctx, err);
    if (rc == HPO_OK) { /* counted once durable */
        hpo_metrics_count(svc->metrics, HPO_COUNT_REPORTS, ctx.stored);
        if (ctx.stored > 0 && *ret_action == HPO_ACTION_PRUNE)
            hpo_metrics_count(svc->metrics, HPO_COUNT_PRUNES, 1);
        if (ctx.paused)
            hpo_metrics_count(svc->metrics, HPO_COUNT_PAUSES, 1);
    }
    return rc;
}

typedef struct {
    int64_t number;
    const char *worker;
    hpo_action *ret;
} heartbeat_ctx;

static hpo_rc heartbeat_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    (void)svc;
    heartbeat_ctx *ctx = vctx;
    hpo_trial *t = NULL;
    hpo_rc rc = changeable_trial(st, ctx->number, true, &t, err);
    if (rc)
        return rc;
    if (ctx->worker && (!t->worker || strcmp(t->worker, ctx->worker) != 0)) {
        char *w = hpo_strdup(ctx->worker);
        if (!w || trial_set_string(st, t, &t->worker, w)) {
            free(w);
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        }
    }
    t->heartbeat_ms = hpo_clock_now_ms();
    study_touch(st, t);
    hpo_writes *w = study_writes(st);
    if (!w || hpo_writes_heartbeat(w, st->cfg.id, t->number, t->heartbeat_ms, ctx->worker))
        return study_break(st, HPO_E_NOMEM, err);
    /* the pending action: paused stays paused; a running trial is judged on its last report,
     * except under ASHA, where only a report reaching a rung pauses (a promoted trial's last
     * report still sits on the rung it left) */
    *ctx->ret = t->state == HPO_TRIAL_PAUSED         ? HPO_ACTION_PAUSE
                : st->pruner.type == HPO_PRUNER_ASHA ? HPO_ACTION_CONTINUE
                                                     : decide(st, t);
    return HPO_OK;
}

hpo_rc hpo_service_heartbeat(hpo_service *svc, const char *name, int64_t number,
                             const char *worker, hpo_action *ret_action, hpo_error *err)
{
    hpo_rc rc = check_name(&svc->limits, "worker name", worker, "worker", err);
    if (rc)
        return rc;
    heartbeat_ctx ctx = {number, worker, ret_action};
    return with_study(svc, name, heartbeat_fn, &ctx, err);
}

/* ---- finish ---- */

/* Whether a finish request describes the finish already recorded (idempotent repeat). */
static bool same_finish(const hpo_trial *t, const hpo_finish_request *req)
{
    if (t->state != req->state || t->preempted != req->preempted ||
        t->n_constraints != req->n_constraints)
        return false;
    for (size_t i = 0; i < req->n_constraints; i++)
        if (t->constraints[i] != req->constraints[i])
            return false;
    if (req->state != HPO_TRIAL_COMPLETE && req->n_values == 0)
        return true;
    if (t->n_values != req->n_values)
        return false;
    for (size_t i = 0; i < req->n_values; i++)
        if (t->values[i] != req->values[i])
            return false;
    return true;
}

/* The values a finish records, checked against the study (nothing changed yet). */
static hpo_rc finish_values(const study *st, const hpo_trial *t, const hpo_finish_request *req,
                            const double **ret, size_t *ret_n, hpo_error *err)
{
    *ret = req->values;
    *ret_n = req->n_values;
    if (req->preempted && req->state != HPO_TRIAL_FAIL)
        return hpo_error_set(err, HPO_E_INVALID, "preempted", "preempted goes with state fail");
    switch (req->state) {
    case HPO_TRIAL_COMPLETE:
        if (req->n_values != st->cfg.n_directions)
            return hpo_error_set(err, HPO_E_INVALID, req->n_values > 1 ? "values" : "value",
                                 "the study has %zu objective(s) but %zu value(s) were given",
                                 st->cfg.n_directions, req->n_values);
        return HPO_OK;
    case HPO_TRIAL_PRUNED:
        if (req->n_values > 1 || (req->n_values == 1 && st->cfg.n_directions != 1))
            return hpo_error_set(err, HPO_E_INVALID, "value", "a pruned trial takes at most one "
                                 "value, in single-objective studies");
        if (req->n_values == 0 && hpo_trial_last_report(t) && st->cfg.n_directions == 1) {
            /* as Optuna does, a pruned trial's value is its last intermediate value */
            *ret = &hpo_trial_last_report(t)->value;
            *ret_n = 1;
        }
        return HPO_OK;
    case HPO_TRIAL_FAIL:
        if (req->n_values)
            return hpo_error_set(err, HPO_E_INVALID, "value", "a failed trial takes no value");
        return HPO_OK;
    default:
        return hpo_error_set(err, HPO_E_INVALID, "state",
                             "state must be complete, pruned or fail");
    }
}

/* The constraints a finish records, checked against the study (nothing changed yet). Optuna
 * records them for complete and pruned trials only (its samplers' after_trial). */
static hpo_rc finish_constraints(const study *st, const hpo_finish_request *req, hpo_error *err)
{
    if (req->n_constraints == 0)
        return HPO_OK;
    if (req->state == HPO_TRIAL_FAIL)
        return hpo_error_set(err, HPO_E_INVALID, "constraints",
                             "constraints go with state complete or pruned");
    if (req->n_constraints > HPO_CONSTRAINTS_MAX)
        return hpo_error_set(err, HPO_E_INVALID, "constraints",
                             "at most %d constraints", HPO_CONSTRAINTS_MAX);
    for (size_t i = 0; i < req->n_constraints; i++)
        if (!isfinite(req->constraints[i]))
            return hpo_error_set(err, HPO_E_INVALID, "constraints",
                                 "constraints must be finite numbers");
    /* feasibility compares like with like: every trial evaluates the same constraints */
    if (st->n_constraints && req->n_constraints != st->n_constraints)
        return hpo_error_set(err, HPO_E_INVALID, "constraints",
                             "study '%s' has %zu constraints per trial but %zu were given",
                             st->cfg.name, st->n_constraints, req->n_constraints);
    return HPO_OK;
}

typedef struct {
    int64_t number;
    const hpo_finish_request *req;
    hpo_trial *ret;
} finish_ctx;

static hpo_rc finish_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    finish_ctx *ctx = vctx;
    const hpo_finish_request *req = ctx->req;
    hpo_trial_clear(ctx->ret);
    hpo_trial *t = NULL;
    hpo_rc rc = trial_at(st, ctx->number, &t, err);
    if (rc)
        return rc;
    if (hpo_trial_state_finished(t->state)) {
        if (!same_finish(t, req))
            return hpo_error_set(err, HPO_E_FINISHED, "state",
                                 "trial %lld of study '%s' already finished as %s",
                                 (long long)ctx->number, st->cfg.name,
                                 hpo_trial_state_name(t->state));
        return copy_out(ctx->ret, t, err);
    }
    if ((rc = require_live(st, t, err)))
        return rc;
    const double *values;
    size_t n_values;
    if ((rc = finish_values(st, t, req, &values, &n_values, err)) ||
        (rc = finish_constraints(st, req, err)))
        return rc;
    char *reason = req->state == HPO_TRIAL_FAIL ? hpo_strdup(req->reason) : NULL;
    if ((req->state == HPO_TRIAL_FAIL && req->reason && !reason) ||
        trial_set_values(st, t, values, n_values) ||
        trial_set_constraints(st, t, req->constraints, req->n_constraints) ||
        (req->state == HPO_TRIAL_FAIL && trial_set_string(st, t, &t->fail_reason, reason))) {
        free(reason);
        return study_break(st, HPO_E_NOMEM, err);
    }
    study_set_state(st, t, req->state);
    t->finished_ms = hpo_clock_now_ms();
    t->preempted = req->state == HPO_TRIAL_FAIL && req->preempted;
    if (req->state == HPO_TRIAL_FAIL &&
        (rc = study_retry_failed(svc, st, ctx->number,
                                 t->preempted ? HPO_RETRY_PREEMPTED : HPO_RETRY_FAIL, err)))
        return rc;
    t = &st->trials[ctx->number]; /* a retry may have moved the array */
    study_touch(st, t);
    hpo_writes *w = study_writes(st);
    if (!w || hpo_writes_trial_update(w, st->cfg.id, t) || note_finished(st, t))
        return study_break(st, HPO_E_NOMEM, err);
    return copy_out(ctx->ret, t, err);
}

hpo_rc hpo_service_finish(hpo_service *svc, const char *name, int64_t number,
                          const hpo_finish_request *req, hpo_trial *ret, hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    finish_ctx ctx = {number, req, ret};
    hpo_rc rc = with_study(svc, name, finish_fn, &ctx, err);
    if (rc)
        hpo_trial_clear(ret);
    return rc;
}
