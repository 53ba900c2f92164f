/* hpo_obs: the observations of a single-objective study as an append-only log, kept as trials
 * finish (a row per COMPLETE trial with a value and per PRUNED trial: its number, Optuna's rank
 * key and its params as compact entries), so that the TPE sampler reads them instead of walking
 * every trial and looking each param up by name on every ask. Pure data, no I/O.
 *
 * Concurrency contract: one writer, any number of readers. The writer calls hpo_obs_add under
 * its own lock (the study's mutex). A reader calls hpo_obs_view_take under that same lock: the
 * view records the prefix of the log that exists then (rows, entries, names). After releasing
 * the lock the reader may read that prefix through the hpo_obs_view_* accessors with no lock
 * while the writer keeps appending: storage never moves (rows, entries and names live in
 * segments that are allocated once and never reallocated, segment k holding base << k items,
 * found through a fixed directory inside the log), an item is written once before the counts
 * that publish it, and the lock orders those writes before the capture (happens-before), so no
 * atomics are needed. A reader must touch nothing beyond its view, and the log must outlive
 * every view of it (hpo_obs_free only when no reader holds one). */
#ifndef HPO_OBS_H
#define HPO_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_arena.h"
#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_space.h"

typedef struct hpo_obs hpo_obs;

/* A finished trial (40 bytes). The key orders observations best first (minimised, (k1, k2)
 * lexicographic, NaN k2 last), exactly as Optuna ranks them: COMPLETE (-inf, sign * value);
 * PRUNED (-last step, sign * the value at it, NaN -> +inf), (1, 0) with no report; sign = -1
 * when maximising. violation: hpo_trial_violation (0 feasible, +inf without constraints), which
 * constrained TPE ranks by first. */
typedef struct {
    int64_t number;
    double k1, k2;
    double violation;
    uint64_t packed; /* first entry << 24 | entries << 1 | complete: use the accessors below */
} hpo_obs_row;

/* A param of a row (16 bytes): the id of its name in the log, its distribution's type and
 * number of choices, its internal value as the trial holds it (not checked). */
typedef struct {
    double value;
    uint32_t name;
    uint32_t dist; /* type | n_choices << 2 (0 choices: more than HPO_OBS_MAX_CHOICES) */
} hpo_obs_entry;

#define HPO_OBS_MAX_PARAMS ((1u << 23) - 1) /* params per row */
#define HPO_OBS_MAX_CHOICES ((1u << 30) - 1)

static inline bool hpo_obs_row_complete(const hpo_obs_row *r)
{
    return (r->packed & 1) != 0;
}

static inline size_t hpo_obs_row_params(const hpo_obs_row *r)
{
    return (size_t)(r->packed >> 1 & HPO_OBS_MAX_PARAMS);
}

static inline hpo_dist_type hpo_obs_entry_type(const hpo_obs_entry *e)
{
    return (hpo_dist_type)(e->dist & 3);
}

static inline size_t hpo_obs_entry_choices(const hpo_obs_entry *e)
{
    return (size_t)(e->dist >> 2);
}

/* A prefix of a log: what a reader may read. Plain data, copied freely. */
typedef struct {
    const hpo_obs *log;
    hpo_direction dir;
    size_t n_rows;    /* rows in finishing (append) order */
    size_t n_entries; /* entry slots in use (a row's entries never straddle a segment: the
                       * tail of a segment too short for a row is skipped) */
    size_t n_names;
    size_t n_constrained; /* rows that carry constraints */
} hpo_obs_view;

/* An empty log for a study in direction dir (NULL when out of memory). */
hpo_obs *hpo_obs_new(hpo_direction dir);
/* A log for the length of one call (TPE over a trials array): all its memory comes from arena a
 * and goes with it (hpo_obs_free does nothing), so a log rebuilt on every call reuses the
 * arena's cached blocks instead of faulting fresh pages in. */
hpo_obs *hpo_obs_new_temp(hpo_direction dir, hpo_arena *a);
void hpo_obs_free(hpo_obs *o); /* NULL is a no-op */

/* The writer: records a trial that has become final. A COMPLETE trial with a value or a PRUNED
 * trial becomes a row (its params in its order; a name repeated within it is kept once, the
 * first); any other trial, or COMPLETE without a value, is ignored (HPO_OK). HPO_E_NOMEM or
 * HPO_E_LIMIT (more than HPO_OBS_MAX_PARAMS params) leave the rows as they were (names may have
 * been added: harmless). Not thread-safe against other writers; see the contract above. */
hpo_rc hpo_obs_add(hpo_obs *o, const hpo_trial *t);
/* Rows so far and bytes held (segments, names, the writer's index); for the writer. */
size_t hpo_obs_rows(const hpo_obs *o);
size_t hpo_obs_bytes(const hpo_obs *o);

/* Captures the current prefix (under the writer's lock). */
void hpo_obs_view_take(const hpo_obs *o, hpo_obs_view *ret);

/* The readers, within the view's prefix (no lock; i < v->n_rows, ids < v->n_names). */
/* Row i and how many rows from i on are contiguous in memory (*ret_n >= 1): walk with it. */
const hpo_obs_row *hpo_obs_view_rows(const hpo_obs_view *v, size_t i, size_t *ret_n);
/* A row's entries (contiguous; NULL and 0 when it has none). */
const hpo_obs_entry *hpo_obs_view_entries(const hpo_obs_view *v, const hpo_obs_row *r,
                                          size_t *ret_n);
/* The name of id, and the id of name (a linear scan of the view's names; -1 when absent). */
const char *hpo_obs_view_name(const hpo_obs_view *v, uint32_t id);
int64_t hpo_obs_view_find(const hpo_obs_view *v, const char *name);

#endif
