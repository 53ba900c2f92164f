/* hpo_step_index: for each step, the intermediate values the COMPLETE trials reported there, kept
 * sorted, so that the median and percentile pruners compare a trial with them without scanning
 * and sorting the whole history on every report. Pure data, no I/O. */
#ifndef HPO_STEP_INDEX_H
#define HPO_STEP_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"
#include "hpo_model.h"

typedef struct hpo_step_index hpo_step_index;

/* An index of the COMPLETE trials among trials[0..n) (NULL on OOM). Sorts each step once. */
hpo_step_index *hpo_step_index_build(const hpo_trial *trials, size_t n);
void hpo_step_index_free(hpo_step_index *ix); /* NULL is a no-op */
/* Adds a trial that has just become COMPLETE (each of its reports). HPO_E_NOMEM leaves the index
 * unusable: free it. */
hpo_rc hpo_step_index_add(hpo_step_index *ix, const hpo_trial *t);
/* How many COMPLETE trials were added. */
size_t hpo_step_index_trials(const hpo_step_index *ix);
/* The finite values reported at `step`, sorted ascending (borrowed, *ret_n of them; NULL when
 * none), and in *ret_reported how many trials reported that step (NaN values included). */
const double *hpo_step_index_at(const hpo_step_index *ix, int64_t step, size_t *ret_n,
                                size_t *ret_reported);

#endif
