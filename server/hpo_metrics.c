/* hpo_metrics: the server's metric registry (see hpo_metrics.h): relaxed atomic counters, fixed
 * bucket histograms, and their exposition through hpo_expo. */
#include "hpo_metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_clock.h"
#include "hpo_expo.h"

const double hpo_metrics_bounds[HPO_METRICS_N_BOUNDS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
/* the same in nanoseconds, for the request path: no floating point there */
static const int64_t bounds_ns[HPO_METRICS_N_BOUNDS] = {
    500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000, 100000000, 250000000,
    500000000, 1000000000, 2500000000, 5000000000, 10000000000};

static const struct {
    const char *name, *help;
} count_families[HPO_COUNT_N] = {
    [HPO_COUNT_ASKS] = {"hpo_asks_total", "Trials handed out by ask: new, enqueued, retried or "
                                          "promoted (a replayed idempotency key not counted)."},
    [HPO_COUNT_REPORTS] = {"hpo_reports_total",
                           "Intermediate values stored (a step reported again not counted)."},
    [HPO_COUNT_PRUNES] = {"hpo_prunes_total",
                          "Reports bringing a new step that were answered prune (the pruner's "
                          "decisions to stop a trial)."},
    [HPO_COUNT_PAUSES] = {"hpo_pauses_total", "Reports that paused their trial at an ASHA rung."},
    [HPO_COUNT_PROMOTIONS] = {"hpo_promotions_total",
                              "Paused trials promoted to the next rung by an ask (ASHA)."},
    [HPO_COUNT_ARTIFACTS] = {"hpo_artifacts_written_total",
                             "Artifacts stored by this server (uploads accepted)."},
    [HPO_COUNT_ARTIFACT_BYTES] = {"hpo_artifact_bytes_written_total",
                                  "Bytes of the artifacts stored by this server."},
};

typedef struct {
    atomic_uint_fast64_t n[HPO_METRICS_N_BOUNDS + 1]; /* per bucket; the last: above 10 s */
    atomic_uint_fast64_t sum_ns;
} hist;

#define STATUS_MIN 100
#define N_STATUS 500 /* 100..599 */

typedef struct {
    atomic_uint_fast64_t status[N_STATUS];
    hist latency;
} route_slot;

/* Requests that matched no route: counted by method, the usual ones by name, the rest as one. */
static const char *const other_methods[] = {"GET",   "HEAD",    "POST", "PUT", "DELETE",
                                            "PATCH", "OPTIONS", "other"};
#define N_OTHER (sizeof other_methods / sizeof other_methods[0])

struct hpo_metrics {
    int64_t start_ms;
    atomic_uint_fast64_t counts[HPO_COUNT_N];
    hist commit;
    hpo_metrics_route *routes;
    size_t n_routes;
    route_slot *slots; /* n_routes, then N_OTHER for the other paths; NULL until routes are set */
};

hpo_metrics *hpo_metrics_new(void)
{
    hpo_metrics *m = calloc(1, sizeof *m); /* zeroed atomics are valid zero counters */
    if (m)
        m->start_ms = hpo_clock_now_ms();
    return m;
}

void hpo_metrics_free(hpo_metrics *m)
{
    if (!m)
        return;
    free(m->routes);
    free(m->slots);
    free(m);
}

hpo_rc hpo_metrics_set_routes(hpo_metrics *m, const hpo_metrics_route *routes, size_t n)
{
    if (m->slots)
        return HPO_E_CONFLICT;
    m->routes = malloc((n ? n : 1) * sizeof *m->routes);
    m->slots = calloc(n + N_OTHER, sizeof *m->slots);
    if (!m->routes || !m->slots) {
        free(m->routes);
        free(m->slots);
        m->routes = NULL;
        m->slots = NULL;
        return HPO_E_NOMEM;
    }
    memcpy(m->routes, routes, n * sizeof *routes);
    m->n_routes = n;
    return HPO_OK;
}

void hpo_metrics_count(hpo_metrics *m, hpo_count c, uint64_t n)
{
    if (m && c >= 0 && c < HPO_COUNT_N)
        atomic_fetch_add_explicit(&m->counts[c], n, memory_order_relaxed);
}

uint64_t hpo_metrics_counter(const hpo_metrics *m, hpo_count c)
{
    if (!m || c < 0 || c >= HPO_COUNT_N)
        return 0;
    return atomic_load_explicit(&((hpo_metrics *)m)->counts[c], memory_order_relaxed);
}

static void hist_observe(hist *h, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    size_t i = 0;
    while (i < HPO_METRICS_N_BOUNDS && ns > bounds_ns[i])
        i++;
    atomic_fetch_add_explicit(&h->n[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)ns, memory_order_relaxed);
}

void hpo_metrics_request(hpo_metrics *m, int route, const char *method, int status, int64_t ns)
{
    if (!m || !m->slots || status < STATUS_MIN || status >= STATUS_MIN + N_STATUS)
        return;
    size_t slot;
    if (route >= 0 && (size_t)route < m->n_routes) {
        slot = (size_t)route;
    } else {
        size_t k = 0;
        while (k < N_OTHER - 1 && !(method && strcmp(method, other_methods[k]) == 0))
            k++;
        slot = m->n_routes + k;
    }
    route_slot *s = &m->slots[slot];
    atomic_fetch_add_explicit(&s->status[status - STATUS_MIN], 1, memory_order_relaxed);
    hist_observe(&s->latency, ns);
}

void hpo_metrics_commit(hpo_metrics *m, int64_t ns)
{
    if (m)
        hist_observe(&m->commit, ns);
}

/* A histogram's buckets as they are now; returns their total. */
static uint64_t hist_read(const hist *h, uint64_t counts[HPO_METRICS_N_BOUNDS + 1], double *sum)
{
    hist *w = (hist *)h; /* atomic loads take a non-const pointer in C11 */
    uint64_t total = 0;
    for (size_t i = 0; i <= HPO_METRICS_N_BOUNDS; i++)
        total += counts[i] = atomic_load_explicit(&w->n[i], memory_order_relaxed);
    *sum = (double)atomic_load_explicit(&w->sum_ns, memory_order_relaxed) / 1e9;
    return total;
}

static void slot_labels(const hpo_metrics *m, size_t slot, hpo_expo_label labels[2])
{
    bool other = slot >= m->n_routes;
    labels[0] = (hpo_expo_label){"route", other ? "other" : m->routes[slot].pattern};
    labels[1] = (hpo_expo_label){"method", other ? other_methods[slot - m->n_routes]
                                                 : m->routes[slot].method};
}

static hpo_rc format_requests(const hpo_metrics *m, hpo_buf *out)
{
    size_t n_slots = m->slots ? m->n_routes + N_OTHER : 0;
    hpo_rc rc = hpo_expo_family(out, "hpo_http_requests_total", "counter",
                                "HTTP requests answered, by route pattern (\"other\": no route "
                                "matched), method and status.");
    for (size_t s = 0; !rc && s < n_slots; s++)
        for (size_t i = 0; !rc && i < N_STATUS; i++) {
            uint64_t v = atomic_load_explicit(&m->slots[s].status[i], memory_order_relaxed);
            if (v == 0)
                continue;
            char status[8];
            snprintf(status, sizeof status, "%d", (int)i + STATUS_MIN);
            hpo_expo_label l[3];
            slot_labels(m, s, l);
            l[2] = (hpo_expo_label){"status", status};
            rc = hpo_expo_sample_u64(out, "hpo_http_requests_total", l, 3, v);
        }
    if (!rc)
        rc = hpo_expo_family(out, "hpo_http_request_duration_seconds", "histogram",
                             "Time from a request's headers to its answer handed to the "
                             "connection, by route pattern and method.");
    for (size_t s = 0; !rc && s < n_slots; s++) {
        uint64_t counts[HPO_METRICS_N_BOUNDS + 1];
        double sum;
        if (hist_read(&m->slots[s].latency, counts, &sum) == 0)
            continue;
        hpo_expo_label l[2];
        slot_labels(m, s, l);
        rc = hpo_expo_histogram(out, "hpo_http_request_duration_seconds", l, 2,
                                hpo_metrics_bounds, HPO_METRICS_N_BOUNDS, counts, sum);
    }
    return rc;
}

hpo_rc hpo_metrics_format(const hpo_metrics *m, hpo_buf *out)
{
    hpo_rc rc = format_requests(m, out);
    for (size_t c = 0; !rc && c < HPO_COUNT_N; c++) {
        rc = hpo_expo_family(out, count_families[c].name, "counter", count_families[c].help);
        if (!rc)
            rc = hpo_expo_sample_u64(out, count_families[c].name, NULL, 0,
                                     hpo_metrics_counter(m, (hpo_count)c));
    }
    uint64_t counts[HPO_METRICS_N_BOUNDS + 1];
    double sum;
    hist_read(&m->commit, counts, &sum);
    if (!rc)
        rc = hpo_expo_family(out, "hpo_db_commit_duration_seconds", "histogram",
                             "Time a group commit of trial changes took to be durable in "
                             "PostgreSQL (waiting for a pooled connection and retries included).");
    if (!rc)
        rc = hpo_expo_histogram(out, "hpo_db_commit_duration_seconds", NULL, 0,
                                hpo_metrics_bounds, HPO_METRICS_N_BOUNDS, counts, sum);
    if (!rc)
        rc = hpo_expo_family(out, "hpo_start_time_seconds", "gauge",
                             "When the server started, in seconds since the Unix epoch.");
    if (!rc)
        rc = hpo_expo_sample(out, "hpo_start_time_seconds", NULL, 0, (double)m->start_ms / 1000.0);
    return rc;
}
