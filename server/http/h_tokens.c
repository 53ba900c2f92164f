/* h_tokens: the tokens resource (admin tokens not limited to a study): create (the token text is
 * shown in this answer only), list, revoke. */
#include <string.h>

#include "hpo_codec.h"
#include "hpo_routes.h"

static json_t *token_json(const hpo_token_info *t)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(t->grant.id));
    json_object_set_new(j, "scope", json_string(hpo_scope_name(t->grant.scope)));
    json_object_set_new(j, "study", t->grant.study[0] ? json_string(t->grant.study) : json_null());
    json_object_set_new(j, "study_prefix", t->grant.study_prefix[0]
                                               ? json_string(t->grant.study_prefix)
                                               : json_null());
    json_object_set_new(j, "name", t->name ? json_string(t->name) : json_null());
    json_object_set_new(j, "datetime_created", hpo_json_time(t->created_ms));
    json_object_set_new(j, "datetime_expires", hpo_json_time(t->grant.expires_ms));
    json_object_set_new(j, "datetime_last_used", hpo_json_time(t->last_used_ms));
    json_object_set_new(j, "datetime_revoked", hpo_json_time(t->revoked_ms));
    json_object_set_new(j, "revoked", json_boolean(t->revoked_ms != 0));
    return j;
}

/* A token limited to some studies manages no tokens: it could mint one that reaches further. */
static hpo_rc require_unrestricted(const hpo_request *req, hpo_error *err)
{
    if (req->grant && (req->grant->study[0] || req->grant->study_prefix[0]))
        return hpo_error_set(err, HPO_E_PERMISSION, NULL,
                             "managing tokens needs an admin token not limited to a study");
    return HPO_OK;
}

static hpo_rc decode_spec(const hpo_request *req, hpo_token_spec *spec, hpo_error *err)
{
    static const char *const allowed[] = {"scope", "study", "study_prefix", "name", "expires_in",
                                          NULL};
    if (!req->body)
        return hpo_error_set(err, HPO_E_INVALID, "scope", "a JSON body with a scope is required");
    const char *scope = NULL;
    hpo_rc rc = hpo_body_only(req, allowed, err);
    if (!rc)
        rc = hpo_body_string(req, "scope", true, 16, &scope, err);
    if (!rc && hpo_scope_parse(scope) < 0)
        rc = hpo_error_set(err, HPO_E_INVALID, "scope", "scope must be 'read', 'worker' or 'admin'");
    if (!rc)
        spec->scope = (hpo_scope)hpo_scope_parse(scope);
    if (!rc)
        rc = hpo_body_string(req, "study", false, HPO_TOKEN_STUDY_MAX, &spec->study, err);
    if (!rc)
        rc = hpo_body_string(req, "study_prefix", false, HPO_TOKEN_STUDY_MAX, &spec->study_prefix,
                             err);
    if (!rc)
        rc = hpo_body_string(req, "name", false, HPO_TOKEN_NAME_MAX, &spec->name, err);
    json_t *exp = json_object_get(req->body, "expires_in");
    if (!rc && exp && !json_is_null(exp)) {
        if (!json_is_integer(exp) || json_integer_value(exp) < 1)
            rc = hpo_error_set(err, HPO_E_INVALID, "expires_in",
                               "expires_in must be a whole number of seconds >= 1");
        else
            spec->expires_in_s = json_integer_value(exp);
    }
    return rc;
}

void hpo_h_token_create(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_token_spec spec = {0};
    hpo_token_info info = {0};
    char text[HPO_TOKEN_TEXT_LEN + 1];
    hpo_rc rc = require_unrestricted(req, &err);
    if (!rc)
        rc = decode_spec(req, &spec, &err);
    if (!rc)
        rc = hpo_service_token_create(svc, &spec, text, &info, &err);
    if (rc) {
        hpo_response_error(res, &err);
        return;
    }
    json_t *j = token_json(&info);
    json_object_set_new(j, "token", json_string(text));
    memset(text, 0, sizeof text);
    hpo_token_info_clear(&info);
    hpo_response_json(res, 201, j);
}

void hpo_h_token_list(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_token_info *list = NULL;
    size_t n = 0;
    hpo_rc rc = require_unrestricted(req, &err);
    if (!rc)
        rc = hpo_service_token_list(svc, &list, &n, &err);
    if (rc) {
        hpo_response_error(res, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, token_json(&list[i]));
    hpo_token_infos_free(list, n);
    hpo_response_json(res, 200, json_pack("{s:o}", "tokens", arr));
}

void hpo_h_token_revoke(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_rc rc = require_unrestricted(req, &err);
    if (!rc)
        rc = hpo_service_token_revoke(svc, req->number, &err);
    if (rc)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 204, NULL);
}
