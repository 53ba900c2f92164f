/* wk_batch: where the worker's queued reports may be sent together. The server judges a batch
 * once, on its last report; a batch therefore ends at every step where the server may judge on
 * its own, so that a prune or pause answers at the step it would have one report at a time. */
#ifndef WK_BATCH_H
#define WK_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hpo_model.h"

/* The most reports in one request (the server takes up to 10,000 and a body of 1 MiB). */
#define WK_BATCH_MAX ((size_t)1000)

/* The steps at which the study's pruner may decide: a superset, never fewer. */
typedef enum {
    WK_DECIDES_EVERY = 0, /* any step (unknown pruner, patient, "auto" rungs): one per request */
    WK_DECIDES_NEVER,     /* no pruner */
    WK_DECIDES_GRID,      /* start + k * interval, k >= 0 (median, percentile, threshold) */
    WK_DECIDES_POWERS,    /* start * factor^k, k >= 0, and `extra` when >= 0 (rungs) */
} wk_decides_kind;

typedef struct {
    wk_decides_kind kind;
    int64_t start, interval; /* GRID: interval >= 1; POWERS: start >= 1, interval = factor >= 2 */
    int64_t extra;           /* POWERS: one more decision step (ASHA's max_resource), or -1 */
} wk_decides;

/* The decision steps of a pruner as GET study shows it (its canonical JSON, every option spelled
 * out); NULL or anything not understood gives WK_DECIDES_EVERY. Borrows pruner. */
wk_decides wk_decides_of_pruner(const json_t *pruner);

/* The largest step among a trial's intermediate_values (the trial JSON of the ask answer), or -1
 * when it has none. Borrows trial. */
int64_t wk_reports_max_step(const json_t *trial);

/* How many of the queued reports q[0 .. n-1] go in the next request (1 .. min(n, max); 0 when n
 * or max is 0). known_max: the largest step the server holds for the trial (-1: none). A batch
 * ends with the first report the server may judge on its own: one whose step is not above every
 * step before it (a repeat or out of order: the server re-judges), or one that reaches a decision
 * step above the step before it (the server judges a report when a decision step lies in
 * (the step before it, its step]: Optuna's first report at or after a grid step, a rung). */
size_t wk_batch_len(const wk_decides *d, int64_t known_max, const hpo_report *q, size_t n,
                    size_t max);

#endif
