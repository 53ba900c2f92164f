/* h_studies: the studies resource: create (with load_if_exists), list, get, delete. */
#include <stdlib.h>
#include <string.h>

#include "hpo_clock.h"
#include "hpo_codec.h"
#include "hpo_routes.h"

#define MAX_OBJECTIVES 16

static json_t *counts_json(const int64_t *counts)
{
    json_t *j = json_object();
    for (int s = 0; s < HPO_TRIAL_STATE_COUNT; s++)
        json_object_set_new(j, hpo_trial_state_name((hpo_trial_state)s), json_integer(counts[s]));
    return j;
}

static json_t *study_json(const hpo_study_info *info)
{
    json_t *j = hpo_study_config_to_json(&info->config);
    json_object_set_new(j, "n_trials", json_integer(info->n_trials));
    json_object_set_new(j, "n_retries", json_integer(info->n_retries));
    json_object_set_new(j, "counts", counts_json(info->counts));
    json_object_set_new(j, "best_trial",
                        info->has_best ? hpo_trial_to_json(&info->best, info->config.name, 1)
                                       : json_null());
    return j;
}

/* An optional object member as canonical JSON text (NULL when absent). */
static hpo_rc object_text(const json_t *body, const char *key, char **ret, hpo_error *err)
{
    json_t *v = json_object_get(body, key);
    *ret = NULL;
    if (!v || json_is_null(v))
        return HPO_OK;
    if (!json_is_object(v))
        return hpo_error_set(err, HPO_E_INVALID, key, "%s must be an object", key);
    if (!(*ret = hpo_json_dump(v)))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    return HPO_OK;
}

static hpo_rc decode_directions(const json_t *body, hpo_study_config *c, hpo_error *err)
{
    json_t *one = json_object_get(body, "direction"), *many = json_object_get(body, "directions");
    if (one && many)
        return hpo_error_set(err, HPO_E_INVALID, "directions",
                             "give either direction or directions, not both");
    size_t n = many ? json_array_size(many) : 1;
    if (many && (!json_is_array(many) || n == 0 || n > MAX_OBJECTIVES))
        return hpo_error_set(err, HPO_E_INVALID, "directions",
                             "directions must be a list of 1 to %d directions", MAX_OBJECTIVES);
    if (!(c->directions = calloc(n, sizeof *c->directions)))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    c->n_directions = n;
    for (size_t i = 0; i < n; i++) {
        json_t *d = many ? json_array_get(many, i) : one;
        char field[32];
        if (many)
            snprintf(field, sizeof field, "directions[%zu]", i);
        else
            snprintf(field, sizeof field, "direction");
        if (!d) {
            c->directions[i] = HPO_MINIMIZE;
            continue;
        }
        if (!json_is_string(d) || hpo_direction_parse(json_string_value(d), &c->directions[i]))
            return hpo_error_set(err, HPO_E_INVALID, field,
                                 "%s must be \"minimize\" or \"maximize\"", field);
    }
    return HPO_OK;
}

hpo_rc hpo_h_study_decode(const hpo_request *req, hpo_study_config *c, bool *load_if_exists,
                          hpo_error *err)
{
    static const char *const allowed[] = {"name", "direction", "directions", "sampler", "pruner",
                                          "search_space", "max_trials", "load_if_exists",
                                          "user_attrs", "heartbeat_grace", "retry", NULL};
    if (!req->body)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "a JSON body is required");
    hpo_rc rc = hpo_body_only(req, allowed, err);
    const char *name = NULL;
    if (!rc)
        rc = hpo_body_string(req, "name", true, 1024, &name, err);
    if (!rc)
        rc = hpo_study_name_validate(name, "name", err);
    if (!rc && !(c->name = hpo_strdup(name)))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    if (!rc)
        rc = decode_directions(req->body, c, err);
    if (!rc)
        rc = object_text(req->body, "sampler", &c->sampler, err);
    if (!rc)
        rc = object_text(req->body, "pruner", &c->pruner, err);
    if (!rc)
        rc = object_text(req->body, "user_attrs", &c->user_attrs, err);
    json_t *space = json_object_get(req->body, "search_space");
    if (!rc && space && !json_is_null(space))
        rc = hpo_json_to_space(space, "search_space", &c->space, err);
    json_t *max = json_object_get(req->body, "max_trials");
    if (!rc && max && !json_is_null(max)) {
        if (!json_is_integer(max) || json_integer_value(max) < 1 ||
            json_integer_value(max) > 1000000000)
            rc = hpo_error_set(err, HPO_E_INVALID, "max_trials",
                               "max_trials must be an integer from 1 to 1000000000");
        else
            c->max_trials = json_integer_value(max);
    }
    json_t *grace = json_object_get(req->body, "heartbeat_grace");
    double seconds = 0;
    if (!rc && grace && !json_is_null(grace)) {
        rc = hpo_json_number(grace, "heartbeat_grace", &seconds, err);
        if (!rc && !(seconds >= 0.1 && seconds <= 7 * 86400))
            rc = hpo_error_set(err, HPO_E_INVALID, "heartbeat_grace",
                               "heartbeat_grace must be from 0.1 to 604800 seconds");
        if (!rc) /* only in range: 1e300 s does not fit an int64_t (undefined behaviour) */
            c->heartbeat_grace_ms = (int64_t)(seconds * 1000 + 0.5);
    }
    json_t *retry = json_object_get(req->body, "retry");
    c->retry = HPO_RETRY_DEFAULT;
    if (!rc && retry && !json_is_null(retry))
        rc = hpo_json_to_retry(retry, "retry", &c->retry, err);
    json_t *lie = json_object_get(req->body, "load_if_exists");
    if (!rc && lie && !json_is_boolean(lie))
        rc = hpo_error_set(err, HPO_E_INVALID, "load_if_exists", "load_if_exists must be a boolean");
    *load_if_exists = json_is_true(lie);
    return rc;
}

void hpo_h_study_create(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_study_config c = {0};
    hpo_study_info info = {0};
    bool load_if_exists = false, created = false;
    hpo_rc rc = hpo_h_study_decode(req, &c, &load_if_exists, &err);
    if (!rc)
        rc = hpo_request_permits_study(req, c.name, &err);
    if (!rc)
        rc = hpo_service_study_create(svc, &c, load_if_exists, &info, &created, &err);
    if (rc)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, created ? 201 : 200, study_json(&info));
    hpo_study_config_clear(&c);
    hpo_study_info_clear(&info);
}

void hpo_h_study_list(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_study_summary *list = NULL;
    size_t n = 0;
    hpo_rc rc = hpo_service_study_list(svc, &list, &n, &err);
    if (rc) {
        hpo_response_error(res, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const hpo_study_summary *s = &list[i];
        if (hpo_request_permits_study(req, s->config.name, NULL) != HPO_OK)
            continue; /* a token limited to some studies sees only those */
        json_t *j = json_object();
        json_t *dirs = json_array();
        int64_t total = 0;
        for (size_t d = 0; d < s->config.n_directions; d++)
            json_array_append_new(dirs, json_string(hpo_direction_name(s->config.directions[d])));
        for (int k = 0; k < HPO_TRIAL_STATE_COUNT; k++)
            total += s->counts[k];
        char created[32];
        hpo_clock_iso8601(s->config.created_ms, created, sizeof created);
        json_object_set_new(j, "name", json_string(s->config.name));
        json_object_set_new(j, "directions", dirs);
        json_object_set_new(j, "n_trials", json_integer(total));
        json_object_set_new(j, "n_retries", json_integer(s->n_retries));
        json_object_set_new(j, "counts", counts_json(s->counts));
        json_object_set_new(j, "best_value", s->has_best ? json_real(s->best_value) : json_null());
        json_object_set_new(j, "max_trials", s->config.max_trials > 0
                                                 ? json_integer(s->config.max_trials)
                                                 : json_null());
        json_object_set_new(j, "datetime_created", json_string(created));
        json_array_append_new(arr, j);
    }
    hpo_study_summaries_free(list, n);
    hpo_response_json(res, 200, json_pack("{s:o}", "studies", arr));
}

void hpo_h_study_get(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_study_info info = {0};
    if (hpo_service_study_get(svc, req->study, &info, &err))
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, study_json(&info));
    hpo_study_info_clear(&info);
}

void hpo_h_study_delete(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    if (hpo_service_study_delete(svc, req->study, &err))
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 204, NULL);
}
