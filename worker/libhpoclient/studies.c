/* studies: create (or load), get, list and delete studies. */
#include "client_internal.h"

hpo_rc hpo_client_study_create(hpo_client *c, const json_t *config, bool load_if_exists,
                               json_t **ret_study, hpo_error *err)
{
    hpo_error_clear(err);
    if (!c || !json_is_object(config))
        return hpo_error_set(err, HPO_E_INVALID, NULL, "config must be a JSON object");
    json_t *body = json_deep_copy(config);
    if (!body)
        return hpoc_nomem(err);
    if (load_if_exists && json_object_set_new(body, "load_if_exists", json_true())) {
        json_decref(body);
        return hpoc_nomem(err);
    }
    /* without load_if_exists a create that reached the server answers already_exists when
     * repeated, so it is retried only when it surely did not */
    json_t *j = NULL;
    hpo_rc rc = hpoc_call(c, "POST", "/api/v1/studies", body,
                          load_if_exists ? HPOC_RETRY_ALL : HPOC_RETRY_CONNECT, NULL,
                          ret_study ? &j : NULL, err);
    json_decref(body);
    if (!rc && ret_study)
        *ret_study = j;
    return rc;
}

hpo_rc hpo_client_study_get(hpo_client *c, const char *study, json_t **ret_study, hpo_error *err)
{
    hpo_error_clear(err);
    hpo_buf p;
    json_t *j = NULL;
    hpo_rc rc = hpoc_path_study(&p, study, err);
    if (!rc)
        rc = hpoc_call(c, "GET", p.data, NULL, HPOC_RETRY_ALL, NULL, &j, err);
    hpo_buf_free(&p);
    if (!rc && ret_study)
        *ret_study = j;
    else
        json_decref(j);
    return rc;
}

hpo_rc hpo_client_study_list(hpo_client *c, json_t **ret_studies, hpo_error *err)
{
    hpo_error_clear(err);
    json_t *j = NULL, *list = NULL;
    hpo_rc rc = hpoc_call(c, "GET", "/api/v1/studies", NULL, HPOC_RETRY_ALL, NULL, &j, err);
    if (!rc)
        rc = hpoc_take_array(j, "studies", &list, err);
    json_decref(j);
    if (!rc && ret_studies)
        *ret_studies = list;
    else
        json_decref(list);
    return rc;
}

hpo_rc hpo_client_study_delete(hpo_client *c, const char *study, hpo_error *err)
{
    hpo_error_clear(err);
    hpo_buf p;
    hpo_rc rc = hpoc_path_study(&p, study, err);
    /* a repeated delete answers not_found: retried only when it surely did not arrive */
    if (!rc)
        rc = hpoc_call(c, "DELETE", p.data, NULL, HPOC_RETRY_CONNECT, NULL, NULL, err);
    hpo_buf_free(&p);
    return rc;
}
