/* service_internal: the service's own state and the helpers its files share (hpo_registry.c,
 * hpo_trials.c, hpo_reads.c, hpo_artifacts.c, hpo_workers.c, hpo_reaper.c, hpo_tokens.c) and
 * nobody else.
 *
 * How a study changes: a request takes the study's mutex only to decide in memory and to queue
 * its writes on the study's pending batch; then it waits, without the mutex, until a commit holds
 * its writes (group commit: the first waiter to find no commit running commits everything queued
 * so far in one transaction, and the others wait for it). A request that only read waits the same
 * way for the writes it saw, so nothing is answered that is not durable. When a commit fails,
 * every request whose writes were in it or after it fails (503), the study is marked broken and
 * the next request loads it again from PostgreSQL.
 *
 * How a study is read: each commit, when it starts, captures the study as it is in memory then
 * (exactly what the commit will make durable) as a snapshot, and publishes it once it succeeded.
 * GETs read the latest published snapshot without the study's mutex. A snapshot copies only what
 * is small: counts, best, front, and the array of pages through which it finds the versions of
 * the live trials (running, waiting, paused). A version is a shallow copy of a trial made at the
 * first capture after it changed, and shared by every snapshot until it changes again: a paused
 * trial is copied once, not at every commit (hpo_snapshot.c). A finished trial never changes
 * again, so it is read in place, in the trials array the snapshot saw. Nothing a snapshot points
 * to is changed or freed while it lives: the trial changes append into spare room or move to a
 * new block, and the block they leave, like a replaced string, a grown trials array, a replaced
 * version or page, is retired: freed with the latest captured snapshot, which lives until every
 * snapshot before it has gone. */
#ifndef HPO_SERVICE_INTERNAL_H
#define HPO_SERVICE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hpo_limits.h"
#include "hpo_pruning.h"
#include "hpo_sampling.h"
#include "hpo_service.h"
#include "hpo_store.h"
#include "hpo_tokens.h"

#define HPO_SERVICE_BUCKETS 256

/* SNAPSHOT_PAGE trial numbers' versions: a page is never changed once a snapshot sees it. */
#define SNAPSHOT_PAGE 64
typedef struct trial_page {
    const hpo_trial *at[SNAPSHOT_PAGE]; /* a live trial's version; NULL: read the trials array */
} trial_page;

/* A committed version of a study (immutable; see above). */
typedef struct snapshot {
    atomic_int refs;           /* readers, the study (pub, cur) and the snapshot before it */
    uint64_t seq;              /* the commit it shows (0: as loaded) */
    const hpo_study_config *cfg; /* the study's, unchanged for its life */
    const hpo_pruner_config *pruner; /* likewise */
    uint32_t load_id;          /* the study's (a version names its load and its commit) */
    const hpo_trial *base;     /* the trials array when captured: finished trials are read here */
    size_t n;                  /* trials */
    trial_page **pages;        /* its own copy of the study's array (the pages are shared) */
    size_t n_pages;            /* NULL pages: no trial of theirs was live */
    int64_t counts[HPO_TRIAL_STATE_COUNT];
    int64_t n_retries;         /* as in study */
    size_t best;               /* as in study */
    size_t *front, n_front;
    size_t n_constraints;      /* as in study */
    const hpo_promotion *promotions; /* the study's, the first n_promotions */
    size_t n_promotions;
    void **retired;            /* freed with this snapshot */
    size_t n_retired, cap_retired;
    struct snapshot *next;     /* the next one captured (a reference) */
} snapshot;

typedef struct study {
    hpo_study_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t commit_cv; /* a commit ended */
    hpo_trial *trials;        /* trials[i].number == i: numbers are dense */
    size_t n, cap;
    hpo_sampler sampler;
    hpo_pruner_config pruner;
    /* kept up to date with the trials (study_note_*) */
    int64_t counts[HPO_TRIAL_STATE_COUNT];
    int64_t n_retries;        /* trials with retry_of: max_trials counts the others */
    size_t best;              /* one objective: the best COMPLETE trial, SIZE_MAX when none */
    size_t *front;            /* several objectives: the Pareto front, indexes in increasing order */
    size_t n_constraints;     /* constraints each trial gives (the first that gave some set it);
                               * not 0: best and front hold feasible trials only */
    size_t n_front, cap_front;
    hpo_step_index *steps;    /* median, percentile, patient: the COMPLETE trials' values per step */
    uint32_t load_id;         /* random per load: versions of another load are not comparable */
    hpo_obs *obs;             /* TPE: the observations, kept as trials finish; else NULL */
    int64_t last_draw;        /* the number the latest ask sampling outside the mutex drew for */
    int64_t *live;            /* numbers of the running, waiting and paused trials, sorted */
    size_t n_live, cap_live;
    hpo_promotion *promotions; /* ASHA: the promotions made (since v6 of the schema), in order */
    size_t n_promotions, cap_promotions;
    /* the versions of the live trials, by page (the latest of each), and the trials changed
     * since the last capture (repeats allowed): what the next capture copies */
    trial_page **pages;
    size_t n_pages, cap_pages;
    int64_t *changed;
    size_t n_changed, cap_changed;
    bool changes_lost;        /* a change could not be noted (out of memory): capture fails */
    /* snapshots: cur, the latest captured (under mu); pub, the latest published (snap_mu) */
    snapshot *cur, *pub;
    pthread_mutex_t snap_mu;  /* held only to take a reference to pub or to replace it */
    /* group commit (under mu): commits are numbered 1, 2, ...; pending is the next one's writes */
    hpo_writes *pending;
    uint64_t pending_seq;     /* the number of the commit that will carry `pending` */
    uint64_t done_seq;        /* the last commit that succeeded */
    uint64_t changed_seq;     /* the commit that carries the latest change made in memory */
    bool committing;
    bool broken;              /* a commit failed: memory is not what PostgreSQL holds */
    hpo_error broken_err;
    atomic_bool stale;        /* load again on the next acquire */
    /* guarded by the service mutex */
    int refs;
    bool in_registry;
    int64_t last_used_ms;
    int64_t reload_after_ms;  /* stale, and a reload found the database out of reach: reads
                               * do not try again before this (monotonic ms) */
    struct study *next;
} study;

struct hpo_service {
    hpo_store *store;
    hpo_metrics *metrics;    /* owned; counted into without a lock */
    pthread_mutex_t mu;
    study *buckets[HPO_SERVICE_BUCKETS];
    size_t n_loaded;
    atomic_bool trim_wanted; /* a load or an eviction freed much memory: the reaper trims */
    char *artifact_dir, *artifact_tmp; /* owned; NULL until set */
    int64_t artifact_max;
    pthread_mutex_t artifact_mu;       /* uploads take turns at the quota check and the move */
    /* the reaper thread (hpo_reaper.c) */
    pthread_t reaper;
    bool reaper_running, reaper_stop;
    int64_t reaper_interval_ms;
    pthread_mutex_t reaper_mu;
    pthread_cond_t reaper_cv;
    hpo_token_cache *tokens; /* NULL while authentication is off */
    hpo_limits limits;       /* hpo_service_set_limits; the defaults until then */
    /* a study published a version: the long polls of the HTTP layer look again */
    pthread_mutex_t pub_mu;
    pthread_cond_t pub_cv;
    uint64_t pub_count;
};

/* Trial `number` changes in place now (mutex held): the next capture makes it a new version.
 * Whatever changes a live trial, a field or a block it points to, calls it (or study_touch). */
void study_note_change(study *st, int64_t number);

/* The commit that will carry what is changed in trial t now (mutex held): its version. */
static inline void study_touch(struct study *st, hpo_trial *t)
{
    t->version = st->pending_seq;
    study_note_change(st, t->number);
}

/* ---- the registry (hpo_registry.c) ---- */

/* Finds or loads a study and takes a reference to it; release() gives it back. */
hpo_rc study_acquire(hpo_service *svc, const char *name, study **ret, hpo_error *err);
/* reading: a stale study whose reload finds the database out of reach is still given (its
 * published version is what it last committed), and its reload is not tried again for a second */
hpo_rc study_acquire_for(hpo_service *svc, const char *name, bool reading, study **ret,
                         hpo_error *err);
void study_release(hpo_service *svc, study *st);
/* A reference to every study held now (*ret owned: free() it after giving each back with
 * study_release_unused, which, unlike study_release, leaves the study's idle time running: a
 * look at the registry, such as a metrics scrape, is no use of a study). */
hpo_rc studies_hold_all(hpo_service *svc, study ***ret, size_t *ret_n, hpo_error *err);
void study_release_unused(hpo_service *svc, study *st);
/* Drops every study nobody used for idle_ms (none in use or committing); returns how many. */
size_t study_evict_idle(hpo_service *svc, int64_t now_ms, int64_t idle_ms);
/* Gives freed heap back to the system when a load or an eviction left much of it (reaper). */
void study_trim_memory(hpo_service *svc);

/* What runs under a study's mutex: decides in memory and queues writes (study_writes). It may
 * instead return STUDY_RUN_OUTSIDE, having changed nothing and prepared in ctx work that needs no
 * mutex (sampling on a view of the study): that work runs with the mutex released, then fn runs
 * again on the study as it is by then. */
typedef hpo_rc (*study_fn)(hpo_service *svc, study *st, void *ctx, hpo_error *err);
typedef void (*study_outside_fn)(void *ctx);
#define STUDY_RUN_OUTSIDE ((hpo_rc)1)
/* Finds the study, runs fn under its mutex, then waits (mutex released while PostgreSQL works)
 * until every change fn made or saw is durable. A failed commit turns fn's answer into the
 * commit's error. */
hpo_rc with_study(hpo_service *svc, const char *name, study_fn fn, void *ctx, hpo_error *err);
/* with_study for an fn that may return STUDY_RUN_OUTSIDE: outside(ctx) does that work. */
hpo_rc with_study_outside(hpo_service *svc, const char *name, study_fn fn,
                          study_outside_fn outside, void *ctx, hpo_error *err);
/* The batch the next commit carries (mutex held); NULL on OOM. Marks the study changed. */
hpo_writes *study_writes(study *st);
/* After a write could not be queued (out of memory): memory is ahead of PostgreSQL. */
hpo_rc study_break(study *st, hpo_rc rc, hpo_error *err);

/* ---- the reaper (hpo_reaper.c) ---- */
void hpo_service_stop_reaper(hpo_service *svc); /* joins the thread; no-op when not running */

/* ---- what every trial change keeps up to date (hpo_trials.c) ---- */
void study_set_state(study *st, hpo_trial *t, hpo_trial_state s);
/* Recomputes counts, best and front from the trials (after a load). */
hpo_rc study_derive(study *st);
/* Trial `number` has just failed for `cause` (mutex held; its update not queued yet): when the
 * study's retry policy covers the cause and the chain has retries left, adds a WAITING trial with
 * the same params (retry_of = number) and sets the failed trial's retried_by, which the caller's
 * update of it writes. Trial pointers taken before may be stale after (the array can move). With
 * no room left (--max-trials-per-study) it logs and retries nothing. */
hpo_rc study_retry_failed(hpo_service *svc, study *st, int64_t number, hpo_retry_cause cause,
                          hpo_error *err);

/* ---- snapshots (hpo_snapshot.c) ---- */

/* The latest published snapshot, with a reference: no study mutex. snapshot_release gives it
 * back (NULL is a no-op). */
snapshot *study_snapshot(study *st);
void snapshot_release(snapshot *s);
/* Finds the study and runs fn on its latest published snapshot (what GETs read). */
typedef hpo_rc (*snapshot_fn)(const snapshot *s, void *ctx, hpo_error *err);
hpo_rc with_snapshot(hpo_service *svc, const char *name, snapshot_fn fn, void *ctx,
                     hpo_error *err);
/* "<load>.<commit>" (hpo_plots.h: HPO_VERSION_MAX bytes). */
void snapshot_version(const snapshot *s, char *ret, size_t size);
/* Trial i (< s->n) as the snapshot saw it. */
const hpo_trial *snapshot_trial(const snapshot *s, size_t i);
/* Captures the study as it is now for commit seq (mutex held); it becomes the retire target. */
hpo_rc study_capture(study *st, uint64_t seq, snapshot **ret);
/* Makes s what reads see (mutex held; s's commit succeeded) and tells the waiting readers. */
void study_publish(hpo_service *svc, study *st, snapshot *s);
/* A reference to the latest captured snapshot (mutex held): while it is held, nothing retired
 * from now on is freed, so shallow copies of the study's trials made now stay valid. */
snapshot *study_hold(study *st);
void study_snapshots_free(study *st);
/* The live-trial index: a trial just added, a trial moved from one state to another. */
hpo_rc study_live_add(study *st, const hpo_trial *t);
void study_live_update(study *st, int64_t number, hpo_trial_state from, hpo_trial_state to);
hpo_rc study_live_rebuild(study *st); /* after a load */
/* Changes a snapshot may see (mutex held): what they replace is retired, not freed, and the
 * trial's change is noted. */
hpo_rc study_retire(study *st, void *p);
hpo_rc study_grow_trials(study *st); /* room for one more trial */
hpo_rc study_add_promotion(study *st, const hpo_promotion *p);
hpo_rc trial_add_report(study *st, hpo_trial *t, int64_t step, double value, bool *ret_added);
hpo_rc trial_add_param(study *st, hpo_trial *t, const char *name, const hpo_dist *d,
                       double value);
hpo_rc trial_set_values(study *st, hpo_trial *t, const double *values, size_t n);
hpo_rc trial_set_constraints(study *st, hpo_trial *t, const double *constraints, size_t n);
/* Replaces *slot (a string trial t owns) with value (owned); on failure value is not taken. */
hpo_rc trial_set_string(study *st, hpo_trial *t, char **slot, char *value);

/* ---- checks shared by the service's files (hpo_registry.c) ---- */
/* A name a client chose, against --max-name-length. */
hpo_rc check_name(const hpo_limits *lim, const char *what, const char *name, const char *field,
                  hpo_error *err);
hpo_rc check_choices(const hpo_limits *lim, const hpo_dist *d, const char *field, hpo_error *err);
hpo_rc trial_at(study *st, int64_t number, hpo_trial **ret, hpo_error *err);
hpo_rc copy_out(hpo_trial *ret, const hpo_trial *t, hpo_error *err);
hpo_rc out_of_memory(hpo_error *err); /* HPO_E_NOMEM, "out of memory" */

#endif
