/* hpo_migrations: the numbered schema migrations and the code that applies the missing ones in one
 * transaction under an advisory lock, so that two servers starting together never collide. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "store_internal.h"

/* Any constant works as long as nothing else in the database uses it: "hpo-migr". */
#define MIGRATION_LOCK_KEY "7525470402330538610"

typedef struct {
    int version;
    const char *const *statements; /* NULL-terminated; one statement each */
} migration;

/* Times are timestamptz; the model's epoch milliseconds are converted in the queries.
 * Distributions, search spaces and option objects are `json`, not `jsonb`: json keeps the text
 * as written, so key order (the order of the search space) and number spelling (1e300, 3 vs 3.0)
 * come back exactly as the codecs wrote them. */
static const char *const v1[] = {
    "CREATE TABLE studies ("
    " id bigserial PRIMARY KEY,"
    " name text NOT NULL UNIQUE,"
    " directions text[] NOT NULL"
    "  CHECK (cardinality(directions) >= 1"
    "         AND directions <@ ARRAY['minimize', 'maximize']::text[]),"
    " sampler json NOT NULL CHECK (json_typeof(sampler) = 'object'),"
    " pruner json NOT NULL CHECK (json_typeof(pruner) = 'object'),"
    " search_space json NOT NULL DEFAULT '{}' CHECK (json_typeof(search_space) = 'object'),"
    " max_trials bigint CHECK (max_trials IS NULL OR max_trials > 0),"
    " user_attrs json NOT NULL DEFAULT '{}' CHECK (json_typeof(user_attrs) = 'object'),"
    " next_number bigint NOT NULL DEFAULT 0 CHECK (next_number >= 0),"
    " created_at timestamptz NOT NULL DEFAULT now())",

    "CREATE TABLE trials ("
    " id bigserial PRIMARY KEY,"
    " study_id bigint NOT NULL REFERENCES studies (id) ON DELETE CASCADE,"
    " number bigint NOT NULL CHECK (number >= 0),"
    " state text NOT NULL"
    "  CHECK (state IN ('running', 'waiting', 'complete', 'pruned', 'fail')),"
    " worker text,"
    " idempotency_key text,"
    " fail_reason text,"
    " fixed_params json,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " started_at timestamptz,"
    " finished_at timestamptz,"
    " heartbeat_at timestamptz,"
    " UNIQUE (study_id, number),"
    " UNIQUE (study_id, idempotency_key))",
    /* The service and the reaper look for running/waiting trials of a study. */
    "CREATE INDEX trials_study_state ON trials (study_id, state)",

    "CREATE TABLE trial_params ("
    " trial_id bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,"
    " name text NOT NULL,"
    " distribution json NOT NULL,"
    " value double precision NOT NULL," /* the internal value: categorical = choice index */
    " position int NOT NULL,"           /* the order the params were set in */
    " PRIMARY KEY (trial_id, name))",

    "CREATE TABLE trial_values ("
    " trial_id bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,"
    " objective int NOT NULL CHECK (objective >= 0),"
    " value double precision NOT NULL,"
    " PRIMARY KEY (trial_id, objective))",

    "CREATE TABLE trial_intermediate_values ("
    " trial_id bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,"
    " step bigint NOT NULL,"
    " value double precision NOT NULL,"
    " PRIMARY KEY (trial_id, step))",

    "CREATE TABLE trial_user_attrs ("
    " trial_id bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,"
    " key text NOT NULL,"
    " value jsonb NOT NULL,"
    " PRIMARY KEY (trial_id, key))",

    "CREATE TABLE workers ("
    " id text PRIMARY KEY,"
    " host text,"
    " slots int CHECK (slots IS NULL OR slots >= 0),"
    " info jsonb NOT NULL DEFAULT '{}',"
    " first_seen timestamptz NOT NULL DEFAULT now(),"
    " last_seen timestamptz NOT NULL DEFAULT now())",
    NULL,
};

/* v2: the paused state (ASHA promotion: a trial waits at a rung until it is promoted). */
static const char *const v2[] = {
    "ALTER TABLE trials DROP CONSTRAINT trials_state_check",
    "ALTER TABLE trials ADD CONSTRAINT trials_state_check"
    " CHECK (state IN ('running', 'waiting', 'complete', 'pruned', 'fail', 'paused'))",
    NULL,
};

/* v3: artifacts (files kept under the server's artifact directory, their size and SHA-256 here)
 * and the heartbeat grace period of a study (after which silent running trials fail). */
static const char *const v3[] = {
    "ALTER TABLE studies ADD COLUMN heartbeat_grace_ms bigint"
    " CHECK (heartbeat_grace_ms IS NULL OR heartbeat_grace_ms > 0)",
    "CREATE TABLE artifacts ("
    " trial_id bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,"
    " name text NOT NULL,"
    " size bigint NOT NULL CHECK (size >= 0),"
    " sha256 text NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (trial_id, name))",
    "CREATE INDEX trials_running_heartbeat ON trials (heartbeat_at) WHERE state = 'running'",
    NULL,
};

/* v4: API tokens, kept only as the SHA-256 of their text; a token is limited to one study or a
 * study-name prefix at most. Revoked tokens stay as rows (revoked_at) so a list shows them. */
static const char *const v4[] = {
    "CREATE TABLE tokens ("
    " id bigserial PRIMARY KEY,"
    " hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),"
    " scope text NOT NULL CHECK (scope IN ('read', 'worker', 'admin')),"
    " study text,"
    " study_prefix text,"
    " name text,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " expires_at timestamptz,"
    " last_used_at timestamptz,"
    " revoked_at timestamptz,"
    " CHECK (study IS NULL OR study_prefix IS NULL))",
    NULL,
};

/* v5: batched trial writes (hpo_writes.c) address a trial by (study, number) and must abort their
 * whole batch when it is missing: this raises no_data_found (P0002) on a count of 0. Trial
 * numbers are given by the servers (dense per study, the unique constraint settles a race), so
 * studies.next_number is no longer kept. */
static const char *const v5[] = {
    "CREATE FUNCTION hpo_trial_required(n bigint) RETURNS bigint LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF n = 0 THEN RAISE EXCEPTION 'no such trial' USING ERRCODE = 'no_data_found'; END IF;"
    "  RETURN n;"
    " END $$",
    "ALTER TABLE studies DROP COLUMN next_number",
    NULL,
};

/* v6: when each ASHA promotion was made (the dashboard's promotions over time); a promotion made
 * before v6 is known only from its trial's reports, without a time. */
static const char *const v6[] = {
    "CREATE TABLE trial_promotions ("
    " trial_id bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,"
    " rung int NOT NULL CHECK (rung >= 0),"
    " promoted_at timestamptz NOT NULL,"
    " PRIMARY KEY (trial_id, rung))",
    NULL,
};

/* v7: the retry policy of a study (NULL: none) and the chain of retries: a trial records the
 * trial it runs again (retry_of) and the trial that runs it again (retried_by), by number, and
 * whether it failed because its worker was stopped (preempted). Old rows read as no chain. */
static const char *const v7[] = {
    "ALTER TABLE studies ADD COLUMN retry json CHECK (retry IS NULL OR json_typeof(retry) = 'object')",
    "ALTER TABLE trials ADD COLUMN retry_of bigint CHECK (retry_of IS NULL OR retry_of >= 0)",
    "ALTER TABLE trials ADD COLUMN retried_by bigint CHECK (retried_by IS NULL OR retried_by >= 0)",
    "ALTER TABLE trials ADD COLUMN preempted boolean NOT NULL DEFAULT false",
    NULL,
};

/* v8: the bytes of each study's artifacts, kept by the statement that stores an artifact (and
 * gone with the study), so that the quota check of an upload reads one row per study rather than
 * every artifact. */
static const char *const v8[] = {
    "ALTER TABLE studies ADD COLUMN artifact_bytes bigint NOT NULL DEFAULT 0"
    " CHECK (artifact_bytes >= 0)",
    "UPDATE studies s SET artifact_bytes = (SELECT coalesce(sum(a.size), 0) FROM artifacts a"
    " JOIN trials t ON t.id = a.trial_id WHERE t.study_id = s.id)",
    NULL,
};

/* v9: the constraints a complete or pruned trial gave with its finish (Optuna's
 * constraints_func, evaluated by the client; feasible when all are <= 0), NULL when none. */
static const char *const v9[] = {
    "ALTER TABLE trials ADD COLUMN constraints double precision[]"
    " CHECK (constraints IS NULL OR (cardinality(constraints) BETWEEN 1 AND 64"
    "        AND array_position(constraints, NULL) IS NULL))",
    NULL,
};

/* v10: the generation an evolutionary sampler made a trial in (NSGA-II's population, CMA-ES's
 * generation), NULL when none: the sampler rebuilds its populations from it. */
static const char *const v10[] = {
    "ALTER TABLE trials ADD COLUMN generation bigint CHECK (generation IS NULL OR generation >= 0)",
    NULL,
};

/* Append only: a released migration is never edited, a change is a new version. */
static const migration migrations[] = {
    {1, v1},
    {2, v2},
    {3, v3},
    {4, v4},
    {5, v5},
    {6, v6},
    {7, v7},
    {8, v8},
    {9, v9},
    {10, v10},
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

int hpo_store_schema_version(void)
{
    return migrations[N_MIGRATIONS - 1].version;
}

typedef struct {
    int version;
} migrate_ctx;

static bool version_applied(PGresult *r, int version)
{
    for (int i = 0; i < PQntuples(r); i++)
        if (atoi(PQgetvalue(r, i, 0)) == version)
            return true;
    return false;
}

static hpo_rc migrate_fn(hpo_db *db, void *vctx, hpo_error *err)
{
    migrate_ctx *ctx = vctx;
    /* Held until COMMIT: a second server waits here, then sees everything already applied. */
    hpo_rc rc = hpo_db_exec(db, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK_KEY ")", 0, NULL,
                            NULL, err);
    if (rc == HPO_OK)
        rc = hpo_db_exec(db,
                         "CREATE TABLE IF NOT EXISTS hpo_schema_version ("
                         " version int PRIMARY KEY,"
                         " applied_at timestamptz NOT NULL DEFAULT now())",
                         0, NULL, NULL, err);
    PGresult *applied = NULL;
    if (rc == HPO_OK)
        rc = hpo_db_exec(db, "SELECT version FROM hpo_schema_version ORDER BY version", 0, NULL,
                         &applied, err);
    if (rc != HPO_OK)
        return rc;

    int newest = 0;
    for (int i = 0; i < PQntuples(applied); i++) {
        int v = atoi(PQgetvalue(applied, i, 0));
        if (v > newest)
            newest = v;
    }
    if (newest > hpo_store_schema_version()) {
        PQclear(applied);
        return hpo_error_set(err, HPO_E_INTERNAL, NULL,
                             "the database schema (version %d) is newer than this build knows "
                             "(version %d): upgrade hpo-server",
                             newest, hpo_store_schema_version());
    }

    for (size_t m = 0; m < N_MIGRATIONS && rc == HPO_OK; m++) {
        if (version_applied(applied, migrations[m].version))
            continue;
        for (const char *const *stmt = migrations[m].statements; *stmt && rc == HPO_OK; stmt++)
            rc = hpo_db_exec(db, *stmt, 0, NULL, NULL, err);
        if (rc != HPO_OK) {
            char msg[HPO_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            hpo_error_set(err, rc, NULL, "migration %d: %s", migrations[m].version, msg);
            break;
        }
        char vbuf[16];
        snprintf(vbuf, sizeof vbuf, "%d", migrations[m].version);
        const char *params[] = {vbuf};
        rc = hpo_db_exec(db, "INSERT INTO hpo_schema_version (version) VALUES ($1::int)", 1,
                         params, NULL, err);
        if (migrations[m].version > newest)
            newest = migrations[m].version;
    }
    PQclear(applied);
    if (rc == HPO_OK)
        ctx->version = newest;
    return rc;
}

hpo_rc hpo_store_migrate(hpo_store *s, int *ret_version, hpo_error *err)
{
    migrate_ctx ctx = {0};
    hpo_rc rc = hpo_store_tx(s, migrate_fn, &ctx, err);
    if (rc == HPO_OK && ret_version)
        *ret_version = ctx.version;
    return rc;
}
