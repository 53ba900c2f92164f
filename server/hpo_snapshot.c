/* hpo_snapshot: the committed versions of a study that reads use without its mutex, and the
 * trial changes that keep them valid. See service_internal.h for the life cycle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

/* ---- the live trials (running, waiting, paused), by number ---- */

static bool is_live(hpo_trial_state s)
{
    return !hpo_trial_state_finished(s);
}

static hpo_rc live_add(study *st, int64_t number)
{
    if (st->n_live == st->cap_live) {
        size_t cap = st->cap_live ? st->cap_live * 2 : 64;
        int64_t *p = realloc(st->live, cap * sizeof *p);
        if (!p)
            return HPO_E_NOMEM;
        st->live = p;
        st->cap_live = cap;
    }
    size_t at = st->n_live;
    while (at > 0 && st->live[at - 1] > number) /* trials are added in number order */
        at--;
    memmove(&st->live[at + 1], &st->live[at], (st->n_live - at) * sizeof *st->live);
    st->live[at] = number;
    st->n_live++;
    return HPO_OK;
}

/* The position of number in a sorted array, or SIZE_MAX. */
static size_t find_number(const int64_t *a, size_t n, int64_t number)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == number ? lo : SIZE_MAX;
}

hpo_rc study_live_add(study *st, const hpo_trial *t)
{
    return is_live(t->state) ? live_add(st, t->number) : HPO_OK;
}

void study_live_update(study *st, int64_t number, hpo_trial_state from, hpo_trial_state to)
{
    if (!is_live(from) || is_live(to)) /* a finished trial never lives again */
        return;
    size_t at = find_number(st->live, st->n_live, number);
    if (at != SIZE_MAX) {
        memmove(&st->live[at], &st->live[at + 1], (st->n_live - at - 1) * sizeof *st->live);
        st->n_live--;
    }
}

hpo_rc study_live_rebuild(study *st)
{
    st->n_live = 0;
    for (size_t i = 0; i < st->n; i++)
        if (is_live(st->trials[i].state) && live_add(st, st->trials[i].number))
            return HPO_E_NOMEM;
    return HPO_OK;
}

/* ---- snapshots ---- */

void snapshot_release(snapshot *s)
{
    while (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        snapshot *next = s->next;
        for (size_t i = 0; i < s->n_retired; i++)
            free(s->retired[i]);
        free(s->retired);
        free(s->live_numbers);
        free(s->live); /* shallow copies: what they point to belongs to the study's trials */
        free(s->front);
        free(s);
        s = next;
    }
}

/* A new version of the study as it is in memory now (mutex held). */
static snapshot *capture(study *st, uint64_t seq)
{
    snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    s->seq = seq;
    s->cfg = &st->cfg;
    s->pruner = &st->pruner;
    s->load_id = st->load_id;
    s->base = st->trials;
    s->n = st->n;
    memcpy(s->counts, st->counts, sizeof s->counts);
    s->n_retries = st->n_retries;
    s->best = st->best;
    s->n_live = st->n_live;
    s->n_front = st->n_front;
    s->promotions = st->promotions;
    s->n_promotions = st->n_promotions;
    size_t nl = s->n_live ? s->n_live : 1, nf = s->n_front ? s->n_front : 1;
    if (!(s->live_numbers = malloc(nl * sizeof *s->live_numbers)) ||
        !(s->live = malloc(nl * sizeof *s->live)) || !(s->front = malloc(nf * sizeof *s->front))) {
        snapshot_release(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n_live; i++) {
        s->live_numbers[i] = st->live[i];
        s->live[i] = st->trials[st->live[i]];
    }
    for (size_t i = 0; i < s->n_front; i++)
        s->front[i] = st->front[i];
    return s;
}

hpo_rc study_capture(study *st, uint64_t seq, snapshot **ret)
{
    snapshot *s = capture(st, seq);
    if (!s)
        return HPO_E_NOMEM;
    /* what is retired from now on may be seen by s: s's predecessor keeps s (and so what s
     * will free) alive for as long as it is itself alive */
    if (st->cur) {
        atomic_fetch_add(&s->refs, 1);
        st->cur->next = s;
        snapshot_release(st->cur);
    }
    st->cur = s;
    *ret = s;
    return HPO_OK;
}

void study_publish(hpo_service *svc, study *st, snapshot *s)
{
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_lock(&st->snap_mu);
    snapshot *old = st->pub;
    st->pub = s;
    pthread_mutex_unlock(&st->snap_mu);
    snapshot_release(old);
    pthread_mutex_lock(&svc->pub_mu);
    svc->pub_count++;
    pthread_cond_broadcast(&svc->pub_cv);
    pthread_mutex_unlock(&svc->pub_mu);
}

snapshot *study_snapshot(study *st)
{
    pthread_mutex_lock(&st->snap_mu);
    snapshot *s = st->pub;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&st->snap_mu);
    return s;
}

snapshot *study_hold(study *st)
{
    atomic_fetch_add(&st->cur->refs, 1);
    return st->cur;
}

void study_snapshots_free(study *st)
{
    snapshot_release(st->pub);
    snapshot_release(st->cur);
    st->pub = st->cur = NULL;
}

hpo_rc with_snapshot(hpo_service *svc, const char *name, snapshot_fn fn, void *ctx,
                     hpo_error *err)
{
    study *st;
    hpo_rc rc = study_acquire_for(svc, name, true, &st, err);
    if (rc)
        return rc;
    snapshot *s = study_snapshot(st);
    rc = fn(s, ctx, err);
    snapshot_release(s);
    study_release(svc, st);
    return rc;
}

void snapshot_version(const snapshot *s, char *ret, size_t size)
{
    snprintf(ret, size, "%08x.%llu", (unsigned)s->load_id, (unsigned long long)s->seq);
}

const hpo_trial *snapshot_trial(const snapshot *s, size_t i)
{
    size_t at = find_number(s->live_numbers, s->n_live, (int64_t)i);
    return at != SIZE_MAX ? &s->live[at] : &s->base[i];
}

/* ---- changes that leave what a snapshot sees untouched ---- */

hpo_rc study_retire(study *st, void *p)
{
    if (!p)
        return HPO_OK;
    snapshot *s = st->cur;
    if (s->n_retired == s->cap_retired) {
        size_t cap = s->cap_retired ? s->cap_retired * 2 : 16;
        void **r = realloc(s->retired, cap * sizeof *r);
        if (!r)
            return HPO_E_NOMEM;
        s->retired = r;
        s->cap_retired = cap;
    }
    s->retired[s->n_retired++] = p;
    return HPO_OK;
}

/* Moves *buf (n items of size bytes) into a new block of cap items and retires the old one. */
static hpo_rc grow(study *st, void **buf, size_t n, size_t cap, size_t size)
{
    void *fresh = malloc(cap * size);
    if (!fresh)
        return HPO_E_NOMEM;
    if (n)
        memcpy(fresh, *buf, n * size);
    if (study_retire(st, *buf)) {
        free(fresh);
        return HPO_E_NOMEM;
    }
    *buf = fresh;
    return HPO_OK;
}

hpo_rc study_grow_trials(study *st)
{
    if (st->n < st->cap)
        return HPO_OK;
    size_t cap = st->cap ? st->cap * 2 : 64;
    void *buf = st->trials;
    hpo_rc rc = grow(st, &buf, st->n, cap, sizeof *st->trials);
    if (!rc) {
        st->trials = buf;
        st->cap = cap;
    }
    return rc;
}

hpo_rc study_add_promotion(study *st, const hpo_promotion *p)
{
    if (st->n_promotions == st->cap_promotions) {
        size_t cap = st->cap_promotions ? st->cap_promotions * 2 : 64;
        void *buf = st->promotions;
        hpo_rc rc = grow(st, &buf, st->n_promotions, cap, sizeof *st->promotions);
        if (rc)
            return rc;
        st->promotions = buf;
        st->cap_promotions = cap;
    }
    st->promotions[st->n_promotions++] = *p; /* past what any snapshot sees */
    return HPO_OK;
}

hpo_rc trial_add_report(study *st, hpo_trial *t, int64_t step, double value, bool *ret_added)
{
    const hpo_report *last = hpo_trial_last_report(t);
    bool at_end = !last || last->step < step;
    if (!at_end && hpo_trial_report_at(t, step)) {
        if (ret_added)
            *ret_added = false;
        return HPO_OK;
    }
    /* appended into spare room, a report lies past what any snapshot sees; anything else
     * (a full block, a step inserted before others) moves the reports to a new block */
    if (!at_end || t->n_reports == t->cap_reports) {
        size_t cap = t->n_reports == t->cap_reports ? (t->cap_reports ? t->cap_reports * 2 : 8)
                                                    : t->cap_reports;
        void *buf = t->reports;
        if (grow(st, &buf, t->n_reports, cap, sizeof *t->reports))
            return HPO_E_NOMEM;
        t->reports = buf;
        t->cap_reports = cap;
    }
    return hpo_trial_add_report(t, step, value, ret_added);
}

hpo_rc trial_add_param(study *st, hpo_trial *t, const char *name, const hpo_dist *d,
                       double value)
{
    if (t->n_params == t->cap_params) {
        size_t cap = t->cap_params ? t->cap_params * 2 : 4;
        void *buf = t->params;
        if (grow(st, &buf, t->n_params, cap, sizeof *t->params))
            return HPO_E_NOMEM;
        t->params = buf;
        t->cap_params = cap;
    }
    return hpo_trial_add_param(t, name, d, value);
}

hpo_rc trial_set_values(study *st, hpo_trial *t, const double *values, size_t n)
{
    double *v = NULL;
    if (n && !(v = malloc(n * sizeof *v)))
        return HPO_E_NOMEM;
    if (n)
        memcpy(v, values, n * sizeof *v);
    if (study_retire(st, t->values)) {
        free(v);
        return HPO_E_NOMEM;
    }
    t->values = v;
    t->n_values = n;
    return HPO_OK;
}

hpo_rc trial_set_string(study *st, char **slot, char *value)
{
    if (study_retire(st, *slot))
        return HPO_E_NOMEM;
    *slot = value;
    return HPO_OK;
}
