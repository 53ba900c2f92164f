/* hpo_store: PostgreSQL storage: a connection pool, numbered migrations, one transaction runner,
 * and the queries the service needs. Never sees HTTP. Thread-safe: every call takes its own
 * connection from the pool. */
#ifndef HPO_STORE_H
#define HPO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_token.h"

typedef struct hpo_store hpo_store;
typedef struct hpo_db hpo_db; /* one connection inside a running transaction (borrowed) */

/* Opens a pool of `pool_size` connections to `conninfo` (a postgresql:// URI or key=value string).
 * HPO_E_UNAVAILABLE when PostgreSQL cannot be reached. *ret is owned; hpo_store_close frees it. */
hpo_rc hpo_store_open(const char *conninfo, int pool_size, hpo_store **ret, hpo_error *err);
void hpo_store_close(hpo_store *s); /* NULL is a no-op */
/* The pool now: its connections, those taken, and since the open how many takers found none
 * free and waited, and how many of them gave up (HPO_E_UNAVAILABLE). */
void hpo_store_pool_stats(hpo_store *s, int *ret_size, int *ret_in_use, uint64_t *ret_waits,
                          uint64_t *ret_timeouts);

/* Applies the migrations not yet applied, in order, in one transaction under an advisory lock, and
 * records them in hpo_schema_version: safe to run twice and from two servers at once.
 * *ret_version (may be NULL) is the schema version after the call. */
hpo_rc hpo_store_migrate(hpo_store *s, int *ret_version, hpo_error *err);
/* The number of the newest migration this build knows. */
int hpo_store_schema_version(void);

/* Runs fn inside BEGIN ... COMMIT on a pooled connection (isolation READ COMMITTED). fn returns
 * HPO_OK to commit, anything else to roll back (that code is returned). Serialization failures
 * and deadlocks (SQLSTATE 40001, 40P01) are retried with backoff, up to 8 times, so fn must have
 * no effects outside the database. A connection found broken is reset (PostgreSQL restarted);
 * when it is lost mid-transaction the call returns HPO_E_UNAVAILABLE and the outcome is unknown. */
typedef hpo_rc (*hpo_tx_fn)(hpo_db *db, void *ctx, hpo_error *err);
hpo_rc hpo_store_tx(hpo_store *s, hpo_tx_fn fn, void *ctx, hpo_error *err);

/* ---- trial writes, batched: the service's group commit ----
 * A batch collects typed changes to trials (addressed by study id and trial number, so a trial
 * created earlier in the same batch can be changed by a later write) and commits them all in one
 * transaction sent in one round trip (libpq's pipeline mode). Each write copies what it needs:
 * the trial may change after the call. */
typedef struct hpo_writes hpo_writes;
hpo_writes *hpo_writes_new(void); /* NULL on OOM */
void hpo_writes_free(hpo_writes *w); /* NULL is a no-op */
size_t hpo_writes_count(const hpo_writes *w);
/* A new trial with its params, values and intermediate values. Its number must be free (the
 * unique constraint refuses a number another server took: the commit fails). */
hpo_rc hpo_writes_trial_insert(hpo_writes *w, int64_t study_id, const hpo_trial *t);
/* A trial's state, worker, idempotency key, fail reason, times, values, constraints and
 * generation (an enqueued trial gets its generation when it starts). */
hpo_rc hpo_writes_trial_update(hpo_writes *w, int64_t study_id, const hpo_trial *t);
/* Params t->params[first..] of an existing trial, at their positions. */
hpo_rc hpo_writes_params_insert(hpo_writes *w, int64_t study_id, const hpo_trial *t,
                                size_t first);
/* Intermediate values (steps not yet stored) and the heartbeat time they bring. */
hpo_rc hpo_writes_reports_insert(hpo_writes *w, int64_t study_id, int64_t number,
                                 const hpo_report *reports, size_t n, int64_t heartbeat_ms);
/* A heartbeat: its time and (when not NULL) the worker. */
hpo_rc hpo_writes_heartbeat(hpo_writes *w, int64_t study_id, int64_t number,
                            int64_t heartbeat_ms, const char *worker);
/* An ASHA promotion of an existing trial. */
hpo_rc hpo_writes_promotion(hpo_writes *w, int64_t study_id, const hpo_promotion *p);
/* Commits the batch: HPO_OK once PostgreSQL has made every write durable. Otherwise nothing of it
 * was committed, except HPO_E_UNAVAILABLE from a connection lost at commit, when the outcome is
 * unknown (the caller reloads). A write addressing a trial that does not exist fails the batch
 * (HPO_E_NOT_FOUND). Serialization failures are retried like hpo_store_tx's, and a batch that met a
 * session ended while idle in the pool (PostgreSQL restarted) runs once more on a new one. */
hpo_rc hpo_store_commit(hpo_store *s, const hpo_writes *w, hpo_error *err);

/* ---- queries: call only from inside a hpo_tx_fn ---- */


/* Inserts a study; sets c->id and c->created_ms. HPO_E_EXISTS when the name is taken. */
hpo_rc hpo_db_study_insert(hpo_db *db, hpo_study_config *c, hpo_error *err);
/* Loads a study's configuration by name into *ret (owned by the caller). HPO_E_NOT_FOUND. */
hpo_rc hpo_db_study_load(hpo_db *db, const char *name, hpo_study_config *ret, hpo_error *err);
/* Deletes a study and everything of it. HPO_E_NOT_FOUND when absent. */
hpo_rc hpo_db_study_delete(hpo_db *db, const char *name, hpo_error *err);

/* All studies ordered by name, with counts per state and the best value. *ret owned: free with
 * hpo_study_summaries_free. */
hpo_rc hpo_db_study_list(hpo_db *db, hpo_study_summary **ret, size_t *ret_n, hpo_error *err);

/* Every trial of a study with its params, values and intermediate values, ordered by number.
 * *ret owned: free with hpo_trials_free. */
hpo_rc hpo_db_trials_load(hpo_db *db, int64_t study_id, hpo_trial **ret, size_t *ret_n,
                          hpo_error *err);

/* The ASHA promotions of a study's trials, in the order they were made. *ret owned: free(). */
hpo_rc hpo_db_promotions_load(hpo_db *db, int64_t study_id, hpo_promotion **ret, size_t *ret_n,
                              hpo_error *err);

/* The database id of trial `number` of a study; HPO_E_NOT_FOUND when there is none. */
hpo_rc hpo_db_trial_id(hpo_db *db, int64_t study_id, int64_t number, int64_t *ret,
                       hpo_error *err);

/* ---- artifacts: the files live under the server's artifact directory; rows keep their facts ---- */
/* An artifact to record and the quotas it must fit; what the one statement found. */
typedef struct {
    int64_t study_id, number;
    const char *name, *sha256;
    int64_t size;
    int64_t max[3];  /* bytes at most: of the trial's artifacts, of the study's, of all */
    int64_t used[3]; /* out: bytes stored there now, less the artifact this one replaces */
    bool stored;     /* out: it fitted and its row is written */
    bool replaced;   /* out: the row replaced one of the same name */
} hpo_artifact_put;

/* Records (or replaces) an artifact of a trial when it fits the quotas, keeping the study's byte
 * count; one statement. HPO_E_NOT_FOUND when the trial has no row. */
hpo_rc hpo_db_artifact_put(hpo_db *db, hpo_artifact_put *a, hpo_error *err);
/* HPO_E_NOT_FOUND when the trial has no artifact of that name. */
hpo_rc hpo_db_artifact_get(hpo_db *db, int64_t trial_id, const char *name, hpo_artifact *ret,
                           hpo_error *err);
hpo_rc hpo_db_artifact_list(hpo_db *db, int64_t trial_id, hpo_artifact **ret, size_t *ret_n,
                            hpo_error *err);

/* ---- what the server's limits count (hpo_queries_limits.c) ---- */
/* The number of studies and whether `name` is one of them, under a lock that serializes study
 * creation until the transaction ends (so a count then an insert cannot race another server). */
hpo_rc hpo_db_study_count(hpo_db *db, const char *name, int64_t *ret_n, bool *ret_exists,
                          hpo_error *err);

/* ---- workers ---- */
/* Registers a worker or refreshes it (host, slots, info, last_seen = now). */
hpo_rc hpo_db_worker_upsert(hpo_db *db, const char *id, const char *host, int slots,
                            const char *info, hpo_error *err);
hpo_rc hpo_db_worker_list(hpo_db *db, hpo_worker_info **ret, size_t *ret_n, hpo_error *err);

hpo_rc hpo_db_running_trials(hpo_db *db, hpo_running_trial **ret, size_t *ret_n, hpo_error *err);
/* Running trials that name a worker, ordered by worker. */

/* Names of studies with a running trial whose last heartbeat is older than the study's
 * heartbeat grace at now_ms. *ret owned: free each name and the array. */
hpo_rc hpo_db_stale_studies(hpo_db *db, int64_t now_ms, char ***ret, size_t *ret_n,
                            hpo_error *err);

/* ---- API tokens: only their SHA-256 is stored ---- */
/* Inserts a token (hash, grant without id, name); sets grant.id and created_ms. */
hpo_rc hpo_db_token_insert(hpo_db *db, hpo_token_info *t, hpo_error *err);
/* Every token ordered by id; usable_only: neither revoked nor expired. *ret owned:
 * hpo_token_infos_free. */
hpo_rc hpo_db_token_list(hpo_db *db, bool usable_only, hpo_token_info **ret, size_t *ret_n,
                         hpo_error *err);
/* The usable token with that hash; HPO_E_NOT_FOUND when none. *ret owned:
 * clear with hpo_token_info_clear. */
hpo_rc hpo_db_token_by_hash(hpo_db *db, const char *hash, hpo_token_info *ret, hpo_error *err);
/* Marks a token revoked (again is fine). HPO_E_NOT_FOUND when there is no such id. */
hpo_rc hpo_db_token_revoke(hpo_db *db, int64_t id, hpo_error *err);
/* Records last-use times: ids[i] was last used at ms[i] (a later time already stored stays). */
hpo_rc hpo_db_tokens_touch(hpo_db *db, const int64_t *ids, const int64_t *ms, size_t n,
                           hpo_error *err);

#endif
