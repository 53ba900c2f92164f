/* hpo_stats: what GET /metrics shows of the service besides its counters: the studies held in
 * memory (trials by state, workers) and the PostgreSQL pool. Reads snapshots, never the
 * database, and takes no study's mutex. */
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int compare_gauges(const void *a, const void *b)
{
    return strcmp(((const hpo_study_gauges *)a)->study, ((const hpo_study_gauges *)b)->study);
}

/* The distinct workers named by the running trials of s: only live trials have versions in the
 * pages, so finished ones are not looked at. -1 on OOM. */
static int64_t running_workers(const snapshot *s)
{
    size_t n = 0, cap = 0;
    const char **names = NULL;
    for (size_t p = 0; p < s->n_pages; p++)
        for (size_t k = 0; s->pages[p] && k < SNAPSHOT_PAGE; k++) {
            const hpo_trial *t = s->pages[p]->at[k];
            if (!t || t->state != HPO_TRIAL_RUNNING || !t->worker)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                const char **more = realloc(names, cap * sizeof *names);
                if (!more) {
                    free(names);
                    return -1;
                }
                names = more;
            }
            names[n++] = t->worker;
        }
    if (n > 1)
        qsort(names, n, sizeof *names, compare_names);
    int64_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || strcmp(names[i], names[i - 1]) != 0;
    free(names);
    return distinct;
}

hpo_rc hpo_service_study_gauges(hpo_service *svc, hpo_study_gauges **ret, size_t *ret_n,
                                hpo_error *err)
{
    study **held = NULL;
    size_t n = 0;
    hpo_rc rc = studies_hold_all(svc, &held, &n, err);
    if (rc)
        return rc;
    hpo_study_gauges *g = calloc(n ? n : 1, sizeof *g);
    size_t filled = 0;
    for (size_t i = 0; i < n; i++) {
        if (g && !rc) {
            snapshot *s = study_snapshot(held[i]);
            hpo_study_gauges *o = &g[filled];
            o->study = hpo_strdup(s->cfg->name);
            memcpy(o->counts, s->counts, sizeof o->counts);
            o->workers = running_workers(s);
            snapshot_release(s);
            if (!o->study || o->workers < 0) {
                free(o->study);
                rc = out_of_memory(err);
            } else {
                filled++;
            }
        }
        study_release_unused(svc, held[i]);
    }
    free(held);
    if (!g)
        rc = out_of_memory(err);
    if (rc) {
        hpo_study_gauges_free(g, filled);
        return rc;
    }
    qsort(g, filled, sizeof *g, compare_gauges);
    *ret = g;
    *ret_n = filled;
    return HPO_OK;
}

void hpo_study_gauges_free(hpo_study_gauges *g, size_t n)
{
    for (size_t i = 0; g && i < n; i++)
        free(g[i].study);
    free(g);
}

void hpo_service_pool_stats(hpo_service *svc, hpo_pool_stats *ret)
{
    hpo_store_pool_stats(svc->store, &ret->size, &ret->in_use, &ret->waits, &ret->timeouts);
}
