/* h_metrics: GET /metrics: the server's metrics in the Prometheus text format (0.0.4): the
 * registry's request, event and commit families, the studies held in memory (only those the
 * token reaches), the PostgreSQL pool and the build. Never a database round trip. */
#include <stdlib.h>

#include "hpo_expo.h"
#include "hpo_routes.h"

#ifndef HPO_SERVER_VERSION
#define HPO_SERVER_VERSION "unknown"
#endif

#define METRICS_MAX_BYTES ((size_t)64 << 20)

static hpo_rc format_studies(const hpo_request *req, const hpo_study_gauges *g, size_t n,
                             hpo_buf *b)
{
    size_t in_reach = 0;
    hpo_rc rc = hpo_expo_family(b, "hpo_trials", "gauge",
                                "Trials of each study held in memory, by state.");
    for (size_t i = 0; !rc && i < n; i++) {
        if (hpo_request_permits_study(req, g[i].study, NULL) != HPO_OK)
            continue;
        in_reach++;
        for (int s = 0; !rc && s < HPO_TRIAL_STATE_COUNT; s++) {
            hpo_expo_label l[2] = {{"study", g[i].study},
                                   {"state", hpo_trial_state_name((hpo_trial_state)s)}};
            rc = hpo_expo_sample(b, "hpo_trials", l, 2, (double)g[i].counts[s]);
        }
    }
    if (!rc)
        rc = hpo_expo_family(b, "hpo_workers_alive", "gauge",
                             "Distinct workers running a trial of the study (a trial whose "
                             "heartbeats stop is failed by the reaper, and its worker leaves).");
    for (size_t i = 0; !rc && i < n; i++) {
        if (hpo_request_permits_study(req, g[i].study, NULL) != HPO_OK)
            continue;
        hpo_expo_label l = {"study", g[i].study};
        rc = hpo_expo_sample(b, "hpo_workers_alive", &l, 1, (double)g[i].workers);
    }
    if (!rc)
        rc = hpo_expo_family(b, "hpo_studies_loaded", "gauge",
                             "Studies held in memory (used within --study-idle-seconds).");
    if (!rc)
        rc = hpo_expo_sample(b, "hpo_studies_loaded", NULL, 0, (double)in_reach);
    return rc;
}

/* The pool's families, each one sample without labels. */
static hpo_rc format_pool(const hpo_pool_stats *p, hpo_buf *b)
{
    const struct {
        const char *name, *type, *help;
        uint64_t value;
    } f[] = {
        {"hpo_db_pool_connections", "gauge", "PostgreSQL connections in the server's pool.",
         (uint64_t)p->size},
        {"hpo_db_pool_in_use", "gauge", "PostgreSQL connections of the pool taken now.",
         (uint64_t)p->in_use},
        {"hpo_db_pool_waits_total", "counter",
         "Takers of a pooled connection that found none free and waited.", p->waits},
        {"hpo_db_pool_timeouts_total", "counter",
         "Takers that waited in vain for a pooled connection (answered 503).", p->timeouts},
    };
    hpo_rc rc = HPO_OK;
    for (size_t i = 0; !rc && i < sizeof f / sizeof f[0]; i++) {
        rc = hpo_expo_family(b, f[i].name, f[i].type, f[i].help);
        if (!rc)
            rc = hpo_expo_sample_u64(b, f[i].name, NULL, 0, f[i].value);
    }
    return rc;
}

void hpo_h_metrics(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_study_gauges *g = NULL;
    size_t n = 0;
    hpo_pool_stats pool;
    hpo_rc rc = hpo_service_study_gauges(svc, &g, &n, &err);
    if (rc) {
        hpo_response_error(res, &err);
        return;
    }
    hpo_service_pool_stats(svc, &pool);
    hpo_buf b;
    hpo_buf_init(&b, METRICS_MAX_BYTES);
    hpo_expo_label version = {"version", HPO_SERVER_VERSION};
    rc = hpo_metrics_format(hpo_service_metrics(svc), &b);
    if (!rc)
        rc = format_studies(req, g, n, &b);
    if (!rc)
        rc = format_pool(&pool, &b);
    if (!rc)
        rc = hpo_expo_family(&b, "hpo_build_info", "gauge", "The server's version (always 1).");
    if (!rc)
        rc = hpo_expo_sample(&b, "hpo_build_info", &version, 1, 1);
    hpo_study_gauges_free(g, n);
    if (rc) {
        hpo_buf_free(&b);
        hpo_error_set(&err, rc == HPO_E_NOMEM ? HPO_E_NOMEM : HPO_E_INTERNAL, NULL,
                      "cannot write the metrics");
        hpo_response_error(res, &err);
        return;
    }
    res->status = 200;
    res->text = b.data; /* owned by res now */
    res->text_len = b.len;
    res->text_type = HPO_EXPO_CONTENT_TYPE;
}
