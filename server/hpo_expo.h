/* hpo_expo: the Prometheus text exposition format, version 0.0.4, written into an hpo_buf (no
 * I/O): family headers, samples with escaped label values, histograms with cumulative buckets. */
#ifndef HPO_EXPO_H
#define HPO_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_buf.h"
#include "hpo_error.h"

#define HPO_EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct {
    const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]* */
    const char *value; /* any UTF-8: \, " and newline are escaped */
} hpo_expo_label;

/* Whether s is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, with label, label name
 * ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", which Prometheus keeps for itself). */
bool hpo_expo_valid_name(const char *s, bool label);

/* "# HELP name help" (help escaped: \ and newline) and "# TYPE name type"; type is counter,
 * gauge, histogram, summary or untyped. Written once per family, before its samples. */
hpo_rc hpo_expo_family(hpo_buf *b, const char *name, const char *type, const char *help);

/* One sample line: name{labels} value. Values: integral ones exactly, others in the shortest form
 * that reads back the same, NaN, +Inf, -Inf. HPO_E_INVALID (nothing written) for a bad name or
 * label name; HPO_E_TOO_LARGE / HPO_E_NOMEM from the buffer. */
hpo_rc hpo_expo_sample(hpo_buf *b, const char *name, const hpo_expo_label *labels, size_t n,
                       double value);
/* The same for a count, exact over the whole range of uint64_t (a double is exact to 2^53). */
hpo_rc hpo_expo_sample_u64(hpo_buf *b, const char *name, const hpo_expo_label *labels, size_t n,
                           uint64_t value);

/* A histogram's samples: name_bucket{labels,le="B"} for each of the n_bounds upper bounds
 * (increasing) and le="+Inf", cumulative, then name_sum and name_count. counts holds n_bounds + 1
 * per-bucket (not cumulative) counts, the last for values above every bound; _count is their
 * total, so it always equals the +Inf bucket. */
hpo_rc hpo_expo_histogram(hpo_buf *b, const char *name, const hpo_expo_label *labels, size_t n,
                          const double *bounds, size_t n_bounds, const uint64_t *counts,
                          double sum);

#endif
