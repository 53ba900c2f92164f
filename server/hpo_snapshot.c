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
        if (is_live(st->trials[i].state)) {
            if (live_add(st, st->trials[i].number))
                return HPO_E_NOMEM;
            study_note_change(st, st->trials[i].number); /* its first version */
        }
    return HPO_OK;
}

/* ---- the versions of the live trials, shared by snapshots ----
 *
 * A snapshot reads a live trial in a version: a shallow copy made when the trial last changed,
 * never written after. The versions are found by number through pages of SNAPSHOT_PAGE slots;
 * a snapshot copies only the study's array of pages. A capture makes new versions of the trials
 * changed since the previous one, in copies of their pages: what the others saw is retired, not
 * changed. So a commit costs what it changed (and a pointer per page), not what is live: a paused
 * trial keeps its version until a promotion resumes it. The rule that makes this hold: whatever
 * changes a trial in place (its fields, or a block it points to) notes the change first. */

void study_note_change(study *st, int64_t number)
{
    if (st->n_changed && st->changed[st->n_changed - 1] == number)
        return; /* the usual repeat: one request changing one trial several times */
    if (st->n_changed == st->cap_changed) {
        size_t cap = st->cap_changed ? st->cap_changed * 2 : 64;
        int64_t *p = realloc(st->changed, cap * sizeof *p);
        if (!p) {
            st->changes_lost = true; /* the next capture fails: the study is loaded again */
            return;
        }
        st->changed = p;
        st->cap_changed = cap;
    }
    st->changed[st->n_changed++] = number;
}

static int number_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Room in the array of pages for the trials there are (new pages empty). Snapshots have their
 * own copy of the array, so it may move. */
static hpo_rc pages_cover(study *st)
{
    size_t need = (st->n + SNAPSHOT_PAGE - 1) / SNAPSHOT_PAGE;
    if (need > st->cap_pages) {
        size_t cap = st->cap_pages ? st->cap_pages * 2 : 16;
        while (cap < need)
            cap *= 2;
        trial_page **p = realloc(st->pages, cap * sizeof *p);
        if (!p)
            return HPO_E_NOMEM;
        st->pages = p;
        st->cap_pages = cap;
    }
    for (; st->n_pages < need; st->n_pages++)
        st->pages[st->n_pages] = NULL;
    return HPO_OK;
}

/* Makes page p this capture's own: a copy of the one the snapshots so far share (retired). */
static hpo_rc page_own(study *st, size_t p)
{
    trial_page *fresh = calloc(1, sizeof *fresh);
    if (!fresh)
        return HPO_E_NOMEM;
    if (st->pages[p])
        *fresh = *st->pages[p];
    if (study_retire(st, st->pages[p])) {
        free(fresh);
        return HPO_E_NOMEM;
    }
    st->pages[p] = fresh;
    return HPO_OK;
}

/* Trial i's version as it is now (its page owned): a copy while live; none once finished, as a
 * finished trial never changes again and is read in the trials array. */
static hpo_rc version_make(study *st, size_t i)
{
    const hpo_trial *t = &st->trials[i];
    hpo_trial *v = NULL;
    if (is_live(t->state)) {
        if (!(v = malloc(sizeof *v)))
            return HPO_E_NOMEM;
        *v = *t;
    }
    const hpo_trial **slot = &st->pages[i / SNAPSHOT_PAGE]->at[i % SNAPSHOT_PAGE];
    if (study_retire(st, (void *)*slot)) {
        free(v);
        return HPO_E_NOMEM;
    }
    *slot = v;
    return HPO_OK;
}

/* New versions of the trials changed since the last capture. On failure the pages are still
 * whole (each slot an old or a new version) and the changes stay noted. */
static hpo_rc versions_update(study *st)
{
    if (st->changes_lost || pages_cover(st))
        return HPO_E_NOMEM;
    if (st->n_changed) /* qsort takes no NULL, even with nothing to sort */
        qsort(st->changed, st->n_changed, sizeof *st->changed, number_cmp);
    size_t owned = SIZE_MAX; /* the page copied last: changed numbers come in order */
    for (size_t k = 0; k < st->n_changed; k++) {
        int64_t i = st->changed[k];
        if ((k > 0 && i == st->changed[k - 1]) || i < 0 || (uint64_t)i >= st->n)
            continue; /* a repeat, or a trial whose adding failed */
        size_t p = (size_t)i / SNAPSHOT_PAGE;
        if (p != owned && page_own(st, p))
            return HPO_E_NOMEM;
        owned = p;
        if (version_make(st, (size_t)i))
            return HPO_E_NOMEM;
    }
    st->n_changed = 0;
    return HPO_OK;
}

/* The current pages and versions (the study is being freed: no snapshot is left). */
static void versions_free(study *st)
{
    for (size_t p = 0; p < st->n_pages; p++) {
        for (size_t k = 0; st->pages[p] && k < SNAPSHOT_PAGE; k++)
            free((void *)st->pages[p]->at[k]); /* shallow: the trial owns what it points to */
        free(st->pages[p]);
    }
    free(st->pages);
    free(st->changed);
    st->pages = NULL;
    st->changed = NULL;
    st->n_pages = st->cap_pages = st->n_changed = st->cap_changed = 0;
}

/* ---- snapshots ---- */

void snapshot_release(snapshot *s)
{
    while (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        snapshot *next = s->next;
        for (size_t i = 0; i < s->n_retired; i++)
            free(s->retired[i]);
        free(s->retired);
        free(s->pages); /* the pages and the versions belong to the study (or are retired) */
        free(s->front);
        free(s);
        s = next;
    }
}

/* A new version of the study as it is in memory now (mutex held). */
static snapshot *capture(study *st, uint64_t seq)
{
    if (versions_update(st))
        return NULL;
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
    s->n_pages = st->n_pages;
    s->n_constraints = st->n_constraints;
    s->n_front = st->n_front;
    s->promotions = st->promotions;
    s->n_promotions = st->n_promotions;
    size_t np = s->n_pages ? s->n_pages : 1, nf = s->n_front ? s->n_front : 1;
    if (!(s->pages = malloc(np * sizeof *s->pages)) ||
        !(s->front = malloc(nf * sizeof *s->front))) {
        snapshot_release(s);
        return NULL;
    }
    if (s->n_pages)
        memcpy(s->pages, st->pages, s->n_pages * sizeof *s->pages);
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
    versions_free(st);
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
    const trial_page *page = s->pages[i / SNAPSHOT_PAGE]; /* none: no trial of it was live */
    const hpo_trial *v = page ? page->at[i % SNAPSHOT_PAGE] : NULL;
    return v ? v : &s->base[i];
}

/* ---- changes that leave what a snapshot sees untouched ---- */

hpo_rc study_retire(study *st, void *p)
{
    if (!p)
        return HPO_OK;
    snapshot *s = st->cur;
    if (!s) { /* the first capture: no snapshot saw p */
        free(p);
        return HPO_OK;
    }
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
    study_note_change(st, t->number);
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
    study_note_change(st, t->number);
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

/* *slot (n_slot doubles of trial memory) replaced by a copy of v[0..n): the old array is
 * retired, not freed (a snapshot may read it). */
static hpo_rc set_doubles(study *st, double **slot, size_t *n_slot, const double *v, size_t n)
{
    double *copy = NULL;
    if (n && !(copy = malloc(n * sizeof *copy)))
        return HPO_E_NOMEM;
    if (n)
        memcpy(copy, v, n * sizeof *copy);
    if (study_retire(st, *slot)) {
        free(copy);
        return HPO_E_NOMEM;
    }
    *slot = copy;
    *n_slot = n;
    return HPO_OK;
}

hpo_rc trial_set_values(study *st, hpo_trial *t, const double *values, size_t n)
{
    study_note_change(st, t->number);
    return set_doubles(st, &t->values, &t->n_values, values, n);
}

hpo_rc trial_set_constraints(study *st, hpo_trial *t, const double *constraints, size_t n)
{
    study_note_change(st, t->number);
    return set_doubles(st, &t->constraints, &t->n_constraints, constraints, n);
}

hpo_rc trial_set_string(study *st, hpo_trial *t, char **slot, char *value)
{
    study_note_change(st, t->number);
    if (study_retire(st, *slot))
        return HPO_E_NOMEM;
    *slot = value;
    return HPO_OK;
}
