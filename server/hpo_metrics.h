/* hpo_metrics: the server's metric registry: counters and latency histograms kept with relaxed
 * atomics (no lock on the request path), written out in the Prometheus text format (hpo_expo.h).
 * Accumulation and formatting only, no I/O. Thread-safe. */
#ifndef HPO_METRICS_H
#define HPO_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "hpo_buf.h"
#include "hpo_error.h"

/* Events of the service, each a counter family hpo_<name>_total (hpo_metrics.c has the texts). */
typedef enum {
    HPO_COUNT_ASKS,           /* trials handed out by ask */
    HPO_COUNT_REPORTS,        /* intermediate values stored */
    HPO_COUNT_PRUNES,         /* reports answered prune */
    HPO_COUNT_PAUSES,         /* reports that paused their trial at an ASHA rung */
    HPO_COUNT_PROMOTIONS,     /* paused trials promoted by an ask (ASHA) */
    HPO_COUNT_ARTIFACTS,      /* artifacts stored */
    HPO_COUNT_ARTIFACT_BYTES, /* their bytes */
    HPO_COUNT_N
} hpo_count;

/* The upper bounds (seconds) of the latency histograms' buckets, 0.5 ms to 10 s. */
#define HPO_METRICS_N_BOUNDS 14
extern const double hpo_metrics_bounds[HPO_METRICS_N_BOUNDS];

/* A route of the HTTP layer: its method and its pattern ("/api/v1/studies/{study}"), the labels
 * its requests are counted under (never the path: the number of series stays bounded). */
typedef struct {
    const char *method;
    const char *pattern;
} hpo_metrics_route;

typedef struct hpo_metrics hpo_metrics;

/* Owned: hpo_metrics_free. NULL on OOM. Notes the time as the process's start. */
hpo_metrics *hpo_metrics_new(void);
void hpo_metrics_free(hpo_metrics *m); /* NULL is a no-op */

/* The routes requests are counted by (copied; the strings are borrowed and must outlive m: the
 * route table's). Call once, before requests are observed (from one thread); a later call is
 * HPO_E_CONFLICT and changes nothing. */
hpo_rc hpo_metrics_set_routes(hpo_metrics *m, const hpo_metrics_route *routes, size_t n);

/* Each is a few relaxed atomic additions; m NULL is a no-op. */
void hpo_metrics_count(hpo_metrics *m, hpo_count c, uint64_t n);
/* A request answered with status after ns nanoseconds. route: the index of its route in the
 * routes set, or -1 when none matched (counted as route "other" with its method, or "other"
 * for a method that is not a usual one). Statuses outside 100-599 are not counted. */
void hpo_metrics_request(hpo_metrics *m, int route, const char *method, int status, int64_t ns);
/* A group commit that took ns nanoseconds (hpo_store_commit, pool wait and retries included). */
void hpo_metrics_commit(hpo_metrics *m, int64_t ns);

uint64_t hpo_metrics_counter(const hpo_metrics *m, hpo_count c);

/* Appends the registry's families: hpo_http_requests_total and
 * hpo_http_request_duration_seconds (series of routes seen only), the event counters,
 * hpo_db_commit_duration_seconds and hpo_start_time_seconds. A scrape that runs while requests
 * are counted may see a sum a request ahead of its buckets; the buckets and _count always agree. */
hpo_rc hpo_metrics_format(const hpo_metrics *m, hpo_buf *out);

#endif
