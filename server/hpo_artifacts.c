/* hpo_artifacts: files of a trial (model, checkpoint, log) under the artifact directory, their
 * facts in PostgreSQL, and the quotas on their bytes. No study mutex is held while files move. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo_clock.h"
#include "hpo_files.h"
#include "service_internal.h"

#define ARTIFACT_DEFAULT_MAX ((int64_t)10 << 30)

hpo_rc hpo_service_set_artifact_dir(hpo_service *svc, const char *dir, int64_t max_bytes,
                                    hpo_error *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s/tmp", dir) >= (int)sizeof tmp)
        return hpo_error_set(err, HPO_E_INVALID, "artifact_dir", "artifact directory too long");
    if (hpo_files_mkdirs(tmp) != 0)
        return hpo_error_set(err, HPO_E_UNAVAILABLE, "artifact_dir", "cannot create %s: %s", tmp,
                             strerror(errno));
    free(svc->artifact_dir);
    free(svc->artifact_tmp);
    svc->artifact_dir = hpo_strdup(dir);
    svc->artifact_tmp = hpo_strdup(tmp);
    svc->artifact_max = max_bytes > 0 ? max_bytes : ARTIFACT_DEFAULT_MAX;
    if (!svc->artifact_dir || !svc->artifact_tmp)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    return HPO_OK;
}

const char *hpo_service_artifact_tmp_dir(const hpo_service *svc)
{
    return svc->artifact_tmp;
}

int64_t hpo_service_artifact_max_bytes(const hpo_service *svc)
{
    return svc->artifact_max;
}

hpo_rc hpo_artifact_name_validate(const char *name, hpo_error *err)
{
    size_t n = name ? strlen(name) : 0;
    bool ok = n >= 1 && n <= 128 && name[0] != '.';
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok)
        return hpo_error_set(err, HPO_E_INVALID, "name",
                             "artifact names have 1 to 128 characters of letters, digits, '.', "
                             "'_' and '-', and do not start with '.'");
    return HPO_OK;
}

/* <dir>/<study id>/<trial number>/<name>: ids never repeat, so a deleted study's files and a
 * new study of the same name never meet. */
static void artifact_path(const hpo_service *svc, int64_t study_id, int64_t number,
                          const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%lld/%lld%s%s", svc->artifact_dir, (long long)study_id,
             (long long)number, name ? "/" : "", name ? name : "");
}

typedef struct {
    int64_t study_id, number, trial_id;
    const char *name;
    hpo_artifact found;
    hpo_artifact *list;
    size_t n;
} artifact_ctx;

static hpo_rc tx_artifact_put(hpo_db *db, void *vctx, hpo_error *err)
{
    return hpo_db_artifact_put(db, vctx, err);
}

/* Why an upload did not fit, from the usage its statement found. */
static hpo_rc room_error(const hpo_artifact_put *put, hpo_error *err)
{
    static const char *const what[] = {"the trial's", "the study's", "all"};
    static const char *const flag[] = {"--max-artifact-bytes-per-trial",
                                       "--max-artifact-bytes-per-study",
                                       "--max-artifact-bytes-total"};
    for (int i = 0; i < 3; i++)
        if (put->size > put->max[i] - put->used[i])
            return hpo_error_set(err, HPO_E_TOO_LARGE, NULL,
                                 "%s artifacts would take %lld bytes (at most %lld): %s", what[i],
                                 (long long)(put->used[i] + put->size), (long long)put->max[i],
                                 flag[i]);
    return hpo_error_set(err, HPO_E_TOO_LARGE, NULL, "the artifact does not fit its quotas");
}

static hpo_rc tx_artifact_get(hpo_db *db, void *vctx, hpo_error *err)
{
    artifact_ctx *ctx = vctx;
    hpo_rc rc = hpo_db_trial_id(db, ctx->study_id, ctx->number, &ctx->trial_id, err);
    if (rc)
        return rc;
    free(ctx->found.name);
    ctx->found.name = NULL;
    return hpo_db_artifact_get(db, ctx->trial_id, ctx->name, &ctx->found, err);
}

static hpo_rc tx_artifact_list(hpo_db *db, void *vctx, hpo_error *err)
{
    artifact_ctx *ctx = vctx;
    hpo_rc rc = hpo_db_trial_id(db, ctx->study_id, ctx->number, &ctx->trial_id, err);
    if (rc)
        return rc;
    hpo_artifacts_free(ctx->list, ctx->n);
    ctx->list = NULL;
    ctx->n = 0;
    return hpo_db_artifact_list(db, ctx->trial_id, &ctx->list, &ctx->n, err);
}

static hpo_rc trial_exists_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    (void)svc;
    artifact_ctx *ctx = vctx;
    hpo_trial *t;
    hpo_rc rc = trial_at(st, ctx->number, &t, err);
    ctx->study_id = st->cfg.id;
    return rc;
}

/* The study and trial an artifact call is about (the trial durable: its row exists). */
static hpo_rc artifact_trial(hpo_service *svc, const char *name, artifact_ctx *ctx,
                             hpo_error *err)
{
    if (!svc->artifact_dir)
        return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL, "the server keeps no artifacts");
    return with_study(svc, name, trial_exists_fn, ctx, err);
}

/* Stores an upload within the quotas, in one statement. A new artifact's file goes in place
 * first (link() refuses an existing name), so a row always has its file; a replacement's row
 * changes first and its file after, so an upload refused changes nothing. Uploads take turns, so
 * that each sees the bytes the others stored. */
hpo_rc hpo_service_artifact_commit(hpo_service *svc, const char *name, int64_t number,
                                   const char *artifact, const char *tmp_path, int64_t size,
                                   const char *sha256, hpo_artifact *ret, bool *ret_replaced,
                                   hpo_error *err)
{
    artifact_ctx ctx = {.number = number};
    hpo_rc rc = hpo_artifact_name_validate(artifact, err);
    if (!rc)
        rc = check_name(&svc->limits, "artifact name", artifact, "name", err);
    if (!rc)
        rc = artifact_trial(svc, name, &ctx, err);
    if (rc) {
        unlink(tmp_path);
        return rc;
    }
    const hpo_limits *l = &svc->limits;
    hpo_artifact_put put = {.study_id = ctx.study_id, .number = number, .name = artifact,
                            .sha256 = sha256, .size = size,
                            .max = {l->artifact_trial_bytes, l->artifact_study_bytes,
                                    l->artifact_total_bytes}};
    char dir[4096], path[4096];
    artifact_path(svc, ctx.study_id, number, NULL, dir, sizeof dir);
    artifact_path(svc, ctx.study_id, number, artifact, path, sizeof path);
    bool fresh = false;
    pthread_mutex_lock(&svc->artifact_mu);
    if (hpo_files_mkdirs(dir) != 0)
        rc = HPO_E_INTERNAL;
    else if (link(tmp_path, path) == 0)
        fresh = true;
    else if (errno != EEXIST)
        rc = HPO_E_INTERNAL;
    if (rc)
        hpo_error_set(err, rc, NULL, "cannot store artifact: %s", strerror(errno));
    if (!rc)
        rc = hpo_store_tx(svc->store, tx_artifact_put, &put, err);
    if (!rc && !put.stored)
        rc = room_error(&put, err);
    if (!rc && !fresh && rename(tmp_path, path) != 0)
        rc = hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot store artifact: %s",
                           strerror(errno));
    /* a new file goes unless its row may exist (the outcome of a lost commit is unknown: the file
     * stays, and the client's retry replaces it) */
    if (fresh && rc && rc != HPO_E_UNAVAILABLE)
        unlink(path);
    pthread_mutex_unlock(&svc->artifact_mu);
    unlink(tmp_path); /* linked, refused or failed: its name goes */
    if (rc)
        return rc;
    hpo_metrics_count(svc->metrics, HPO_COUNT_ARTIFACTS, 1);
    hpo_metrics_count(svc->metrics, HPO_COUNT_ARTIFACT_BYTES, (uint64_t)size);
    memset(ret, 0, sizeof *ret);
    ret->name = hpo_strdup(artifact);
    ret->size = size;
    snprintf(ret->sha256, sizeof ret->sha256, "%s", sha256);
    ret->created_ms = hpo_clock_now_ms();
    if (ret_replaced)
        *ret_replaced = put.replaced;
    return ret->name ? HPO_OK : hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
}

hpo_rc hpo_service_artifact_find(hpo_service *svc, const char *name, int64_t number,
                                 const char *artifact, hpo_artifact *ret, char **ret_path,
                                 hpo_error *err)
{
    artifact_ctx ctx = {.number = number, .name = artifact};
    hpo_rc rc = hpo_artifact_name_validate(artifact, err);
    if (!rc)
        rc = artifact_trial(svc, name, &ctx, err);
    if (!rc)
        rc = hpo_store_tx(svc->store, tx_artifact_get, &ctx, err);
    if (rc) {
        free(ctx.found.name);
        return rc;
    }
    char path[4096];
    artifact_path(svc, ctx.study_id, number, artifact, path, sizeof path);
    *ret = ctx.found;
    if (!(*ret_path = hpo_strdup(path))) {
        free(ret->name);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    return HPO_OK;
}

hpo_rc hpo_service_artifact_list(hpo_service *svc, const char *name, int64_t number,
                                 hpo_artifact **ret, size_t *ret_n, hpo_error *err)
{
    artifact_ctx ctx = {.number = number};
    hpo_rc rc = artifact_trial(svc, name, &ctx, err);
    if (!rc)
        rc = hpo_store_tx(svc->store, tx_artifact_list, &ctx, err);
    if (rc) {
        hpo_artifacts_free(ctx.list, ctx.n);
        return rc;
    }
    *ret = ctx.list;
    *ret_n = ctx.n;
    return HPO_OK;
}
