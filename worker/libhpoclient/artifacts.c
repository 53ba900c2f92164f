/* artifacts: files of a trial (models, checkpoints, logs) streamed to and from the server,
 * never held whole in memory; a download lands under PATH.part and is renamed when complete. */
#include "client_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static hpo_rc artifact_path(hpo_buf *p, const char *study, int64_t number, const char *name,
                            hpo_error *err)
{
    hpo_rc rc = hpoc_path_trial(p, study, number, err);
    if (!rc && hpo_buf_appendf(p, "/artifacts"))
        rc = hpoc_nomem(err);
    if (!rc && name) {
        if (hpo_buf_appendf(p, "/"))
            rc = hpoc_nomem(err);
        else
            rc = hpoc_path_escape(p, name, err);
    }
    return rc;
}

hpo_rc hpo_client_artifact_put(hpo_client *c, const char *study, int64_t number,
                               const char *name, const char *path, hpo_error *err)
{
    hpo_error_clear(err);
    if (!name || !*name || !path)
        return hpo_error_set(err, HPO_E_INVALID, "name", "an artifact name and a path are required");
    FILE *f = fopen(path, "rb");
    if (!f)
        return hpo_error_set(err, errno == ENOENT ? HPO_E_NOT_FOUND : HPO_E_INVALID, "path",
                             "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return hpo_error_set(err, HPO_E_INVALID, "path", "%s is not a regular file", path);
    }
    hpo_buf p;
    hpo_rc rc = artifact_path(&p, study, number, name, err);
    if (!rc) {
        /* PUT replaces: a retry after a lost answer stores the same bytes again */
        hpoc_req rq = {.method = "PUT", .path = p.data, .retry = HPOC_RETRY_ALL, .upload = f,
                       .upload_size = (int64_t)st.st_size};
        hpoc_resp rs;
        rc = hpoc_perform(c, &rq, &rs, err);
        if (!rc && rs.status != 200 && rs.status != 201)
            rc = hpoc_resp_error(&rs, err);
        hpoc_resp_free(&rs);
    }
    hpo_buf_free(&p);
    fclose(f);
    return rc;
}

hpo_rc hpo_client_artifact_get(hpo_client *c, const char *study, int64_t number,
                               const char *name, const char *path, hpo_error *err)
{
    hpo_error_clear(err);
    if (!name || !*name || !path)
        return hpo_error_set(err, HPO_E_INVALID, "name", "an artifact name and a path are required");
    hpo_buf p;
    hpo_buf part;
    hpo_buf_init(&part, 8192);
    hpo_rc rc = artifact_path(&p, study, number, name, err);
    if (!rc && hpo_buf_appendf(&part, "%s.part", path))
        rc = hpo_error_set(err, HPO_E_INVALID, "path", "path too long");
    FILE *f = NULL;
    if (!rc && !(f = fopen(part.data, "wb")))
        rc = hpo_error_set(err, HPO_E_INVALID, "path", "cannot create %s: %s", part.data,
                           strerror(errno));
    if (!rc) {
        hpo_sha256 sha;
        hpoc_req rq = {.method = "GET", .path = p.data, .retry = HPOC_RETRY_ALL, .download = f,
                       .download_sha = &sha};
        hpoc_resp rs;
        rc = hpoc_perform(c, &rq, &rs, err);
        if (!rc && (rs.status < 200 || rs.status > 299))
            rc = hpoc_resp_error(&rs, err);
        char hex[65];
        hpo_sha256_final_hex(&sha, hex);
        /* the server's ETag is the artifact's SHA-256: check what was written against it */
        if (!rc && strlen(rs.etag) == 64 && strcasecmp(rs.etag, hex) != 0)
            rc = hpo_error_set(err, HPO_E_INTERNAL, NULL,
                               "%s: SHA-256 %s of the download is not the server's %s", name, hex,
                               rs.etag);
        hpoc_resp_free(&rs);
    }
    if (f && fclose(f) != 0 && !rc)
        rc = hpo_error_set(err, HPO_E_INTERNAL, "path", "cannot write %s: %s", part.data,
                           strerror(errno));
    if (!rc && rename(part.data, path) != 0)
        rc = hpo_error_set(err, HPO_E_INTERNAL, "path", "cannot rename %s to %s: %s", part.data,
                           path, strerror(errno));
    if (rc && f)
        unlink(part.data);
    hpo_buf_free(&part);
    hpo_buf_free(&p);
    return rc;
}

hpo_rc hpo_client_artifact_list(hpo_client *c, const char *study, int64_t number, json_t **ret,
                                hpo_error *err)
{
    hpo_error_clear(err);
    hpo_buf p;
    json_t *j = NULL, *list = NULL;
    hpo_rc rc = artifact_path(&p, study, number, NULL, err);
    if (!rc)
        rc = hpoc_call(c, "GET", p.data, NULL, HPOC_RETRY_ALL, NULL, &j, err);
    if (!rc)
        rc = hpoc_take_array(j, "artifacts", &list, err);
    json_decref(j);
    hpo_buf_free(&p);
    if (!rc && ret)
        *ret = list;
    else
        json_decref(list);
    return rc;
}
