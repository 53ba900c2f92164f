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

/* The steps at which the trial's pruner may decide: the server's description, from the ask
 * answer ("decides", hpo_client_trial.decides; hpo_model.h's hpo_decides). The worker knows no
 * pruner: the server derives it from its own (hpo_pruner_decides); an answer without one (an
 * older server) reads as every step, so reports then go one per request. */
typedef hpo_decides wk_decides;

/* d in words for the log: "every step", "no step", "steps 5 + 5k", "steps 1 * 3^k up to 9".
 * Returns buf. */
const char *wk_decides_text(const wk_decides *d, char *buf, size_t size);

/* The largest step among a trial's intermediate_values (the trial JSON of the ask answer), or -1
 * when it has none. Borrows trial. */
int64_t wk_reports_max_step(const json_t *trial);

/* How many of the queued reports q[0 .. n-1] go in the next request (1 .. min(n, max); 0 when n
 * or max is 0). known_max: the largest step the server holds for the trial (-1: none). A batch
 * ends with the first report the server may judge on its own: one whose step is not above every
 * step before it (a repeat or out of order: the server re-judges), or one that reaches a decision
 * step above the step before it (the server judges a report when a decision step lies in
 * (the step before it, its step]: hpo_decides_between). */
size_t wk_batch_len(const wk_decides *d, int64_t known_max, const hpo_report *q, size_t n,
                    size_t max);

#endif
