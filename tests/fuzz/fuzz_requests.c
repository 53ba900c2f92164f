/* fuzz_requests: the JSON request bodies of the server through the decoders its handlers use
 * (study create with its sampler and pruner, reports, finish, suggest, the string fields), with
 * round trips: what a decoder accepts, encoded again, decodes to the same. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "hpo_codec.h"
#include "hpo_pruning.h"
#include "hpo_routes.h"
#include "hpo_sampling.h"

/* A refusal names what is wrong and can be sent as the JSON error body. */
static void check_refusal(hpo_rc rc, const hpo_error *err)
{
    FUZZ_CHECK(rc < 0);
    FUZZ_CHECK(err->code == rc);
    FUZZ_CHECK(err->message[0] != '\0');
    FUZZ_CHECK(hpo_rc_http_status(rc) >= 400);
    json_t *j = hpo_error_to_json(err);
    FUZZ_CHECK(j != NULL);
    char *text = hpo_json_dump(j);
    FUZZ_CHECK(text != NULL);
    free(text);
    json_decref(j);
}

static hpo_request request_of(json_t *body)
{
    return (hpo_request){.method = "POST", .path = "/", .number = -1, .body = body};
}

static bool same_text(const char *a, const char *b)
{
    /* an absent object and an empty one mean the same */
    if (!a)
        a = "{}";
    if (!b)
        b = "{}";
    return strcmp(a, b) == 0;
}

static bool same_space(const hpo_space *a, const hpo_space *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const hpo_param_def *d = hpo_space_find(b, a->items[i].name);
        if (!d || !hpo_dist_equal(&a->items[i].dist, &d->dist))
            return false;
    }
    return true;
}

/* A sampler or pruner the server accepted is stored as canonical text; reading that text again
 * must give the same text (a study must sample and prune the same after a restart). */
static void check_sampler(const hpo_study_config *c)
{
    hpo_sampler s = {0};
    hpo_error err = {0};
    char *text = NULL;
    hpo_rc rc = hpo_sampler_configure(c->sampler, c, &s, &text, &err);
    hpo_sampler_clear(&s);
    if (rc) {
        check_refusal(rc, &err);
        return;
    }
    FUZZ_CHECK(text != NULL);
    char *again = NULL;
    rc = hpo_sampler_configure(text, c, &s, &again, &err);
    hpo_sampler_clear(&s);
    FUZZ_CHECK(rc == HPO_OK);
    FUZZ_CHECK(strcmp(text, again) == 0);
    free(text);
    free(again);
}

static void check_pruner(const hpo_study_config *c)
{
    hpo_pruner_config p = {0};
    hpo_error err = {0};
    char *text = NULL;
    hpo_rc rc = hpo_pruner_configure(c->pruner, c, &p, &text, &err);
    hpo_pruner_config_clear(&p);
    if (rc) {
        check_refusal(rc, &err);
        return;
    }
    FUZZ_CHECK(text != NULL);
    char *again = NULL;
    rc = hpo_pruner_configure(text, c, &p, &again, &err);
    hpo_pruner_config_clear(&p);
    FUZZ_CHECK(rc == HPO_OK);
    FUZZ_CHECK(strcmp(text, again) == 0);
    free(text);
    free(again);
}

/* POST /api/v1/studies: decode, then what the service checks before storing; the study as the
 * API shows it, cut to the keys a create takes, decodes to the same configuration. */
static void check_study(const hpo_request *req)
{
    static const char *const input_keys[] = {"name", "directions", "sampler", "pruner",
                                             "search_space", "max_trials", "user_attrs",
                                             "heartbeat_grace"};
    hpo_study_config c = {0};
    hpo_error err = {0};
    bool load_if_exists = false;
    hpo_rc rc = hpo_h_study_decode(req, &c, &load_if_exists, &err);
    if (rc) {
        check_refusal(rc, &err);
        hpo_study_config_clear(&c);
        return;
    }
    FUZZ_CHECK(hpo_study_name_validate(c.name, "name", NULL) == HPO_OK);
    FUZZ_CHECK(c.n_directions >= 1 && c.n_directions <= 16);
    for (size_t i = 0; i < c.n_directions; i++)
        FUZZ_CHECK(c.directions[i] == HPO_MINIMIZE || c.directions[i] == HPO_MAXIMIZE);
    FUZZ_CHECK(c.max_trials >= 0 && c.max_trials <= 1000000000);
    FUZZ_CHECK(c.heartbeat_grace_ms == 0 ||
               (c.heartbeat_grace_ms >= 100 && c.heartbeat_grace_ms <= 7 * 86400 * 1000LL));
    for (size_t i = 0; i < c.space.n; i++)
        FUZZ_CHECK(hpo_dist_validate(&c.space.items[i].dist, "d", NULL) == HPO_OK);
    check_sampler(&c);
    check_pruner(&c);

    json_t *shown = hpo_study_config_to_json(&c);
    FUZZ_CHECK(shown != NULL);
    json_t *body = json_object();
    for (size_t i = 0; i < sizeof input_keys / sizeof input_keys[0]; i++) {
        json_t *v = json_object_get(shown, input_keys[i]);
        if (v)
            json_object_set(body, input_keys[i], v);
    }
    json_decref(shown);
    hpo_request again = request_of(body);
    hpo_study_config c2 = {0};
    rc = hpo_h_study_decode(&again, &c2, &load_if_exists, &err);
    FUZZ_CHECK(rc == HPO_OK);
    FUZZ_CHECK(strcmp(c.name, c2.name) == 0);
    FUZZ_CHECK(c.n_directions == c2.n_directions);
    FUZZ_CHECK(memcmp(c.directions, c2.directions, c.n_directions * sizeof *c.directions) == 0);
    FUZZ_CHECK(same_text(c.sampler, c2.sampler));
    FUZZ_CHECK(same_text(c.pruner, c2.pruner));
    FUZZ_CHECK(same_text(c.user_attrs, c2.user_attrs));
    FUZZ_CHECK(same_space(&c.space, &c2.space));
    FUZZ_CHECK(c.max_trials == c2.max_trials);
    FUZZ_CHECK(c.heartbeat_grace_ms == c2.heartbeat_grace_ms);
    json_decref(body);
    hpo_study_config_clear(&c2);
    hpo_study_config_clear(&c);
}

/* POST .../reports: every report has a step >= 0 and a finite value; the list form of what was
 * decoded decodes to the same reports. */
static void check_reports(const hpo_request *req)
{
    hpo_report *r = NULL;
    size_t n = 0;
    hpo_error err = {0};
    hpo_rc rc = hpo_h_reports_decode(req, &r, &n, &err);
    if (rc) {
        check_refusal(rc, &err);
        return;
    }
    FUZZ_CHECK(n >= 1 && n <= 10000);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(r[i].step >= 0);
        FUZZ_CHECK(isfinite(r[i].value));
        json_array_append_new(list, json_pack("{s:I,s:f}", "step", (json_int_t)r[i].step,
                                              "value", r[i].value));
    }
    json_t *body = json_pack("{s:o}", "reports", list);
    hpo_request again = request_of(body);
    hpo_report *r2 = NULL;
    size_t n2 = 0;
    FUZZ_CHECK(hpo_h_reports_decode(&again, &r2, &n2, &err) == HPO_OK);
    FUZZ_CHECK(n2 == n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(r2[i].step == r[i].step && r2[i].value == r[i].value);
    json_decref(body);
    free(r2);
    free(r);
}

/* POST .../finish: a finished state, 0 to 16 finite values (at least one when complete), a
 * reason only with fail, 0 to 64 finite constraints; encoded again it decodes to the same. */
static void check_finish(const hpo_request *req)
{
    hpo_finish_request fin = {0};
    double values[HPO_FINISH_MAX_VALUES], cons[HPO_CONSTRAINTS_MAX];
    hpo_error err = {0};
    hpo_rc rc = hpo_h_finish_decode(req, &fin, values, cons, &err);
    if (rc) {
        check_refusal(rc, &err);
        return;
    }
    FUZZ_CHECK(hpo_trial_state_finished(fin.state));
    FUZZ_CHECK(fin.n_values <= HPO_FINISH_MAX_VALUES);
    FUZZ_CHECK(fin.state != HPO_TRIAL_COMPLETE || fin.n_values >= 1);
    FUZZ_CHECK(!fin.reason || (fin.state == HPO_TRIAL_FAIL && strlen(fin.reason) <= 4096));
    json_t *body = json_pack("{s:s}", "state", hpo_trial_state_name(fin.state));
    json_t *vs = json_array();
    for (size_t i = 0; i < fin.n_values; i++) {
        FUZZ_CHECK(isfinite(fin.values[i]));
        json_array_append_new(vs, json_real(fin.values[i]));
    }
    if (fin.n_values)
        json_object_set(body, "values", vs);
    json_decref(vs);
    if (fin.reason)
        json_object_set_new(body, "reason", json_string(fin.reason));
    FUZZ_CHECK(fin.n_constraints <= HPO_CONSTRAINTS_MAX);
    json_t *cs = json_array();
    for (size_t i = 0; i < fin.n_constraints; i++) {
        FUZZ_CHECK(isfinite(fin.constraints[i]));
        json_array_append_new(cs, json_real(fin.constraints[i]));
    }
    if (fin.n_constraints)
        json_object_set(body, "constraints", cs);
    json_decref(cs);
    hpo_request again = request_of(body);
    hpo_finish_request fin2 = {0};
    double values2[HPO_FINISH_MAX_VALUES], cons2[HPO_CONSTRAINTS_MAX];
    FUZZ_CHECK(hpo_h_finish_decode(&again, &fin2, values2, cons2, &err) == HPO_OK);
    FUZZ_CHECK(fin2.state == fin.state && fin2.n_values == fin.n_values);
    for (size_t i = 0; i < fin.n_values; i++)
        FUZZ_CHECK(values2[i] == values[i]);
    FUZZ_CHECK(fin2.n_constraints == fin.n_constraints);
    for (size_t i = 0; i < fin.n_constraints; i++)
        FUZZ_CHECK(cons2[i] == cons[i]);
    FUZZ_CHECK((fin.reason == NULL) == (fin2.reason == NULL));
    FUZZ_CHECK(!fin.reason || strcmp(fin.reason, fin2.reason) == 0);
    json_decref(body);
}

/* POST .../suggest: the decoders h_suggest.c uses; the distribution round-trips. */
static void check_suggest(const hpo_request *req)
{
    static const char *const allowed[] = {"name", "distribution", NULL};
    hpo_error err = {0};
    const char *name = NULL;
    hpo_dist d = {0};
    hpo_rc rc = hpo_body_only(req, allowed, &err);
    if (!rc)
        rc = hpo_body_string(req, "name", true, 256, &name, &err);
    if (!rc)
        rc = hpo_json_to_dist(json_object_get(req->body, "distribution"), "distribution", &d,
                              &err);
    if (rc) {
        check_refusal(rc, &err);
        return;
    }
    FUZZ_CHECK(name && strlen(name) <= 256);
    FUZZ_CHECK(hpo_dist_validate(&d, "distribution", NULL) == HPO_OK);
    json_t *j = hpo_dist_to_json(&d);
    hpo_dist d2 = {0};
    FUZZ_CHECK(hpo_json_to_dist(j, "distribution", &d2, &err) == HPO_OK);
    FUZZ_CHECK(hpo_dist_equal(&d, &d2));
    json_decref(j);
    hpo_dist_clear(&d2);
    hpo_dist_clear(&d);
}

/* The optional strings of ask, heartbeat and worker registration: bounded, without NUL. */
static void check_strings(const hpo_request *req)
{
    static const struct {
        const char *key;
        size_t max;
    } fields[] = {{"worker", 256}, {"idempotency_key", 128}, {"id", 128}, {"host", 256}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *s = NULL;
        hpo_error err = {0};
        hpo_rc rc = hpo_body_string(req, fields[i].key, false, fields[i].max, &s, &err);
        if (rc) {
            check_refusal(rc, &err);
            continue;
        }
        FUZZ_CHECK(!s || strlen(s) <= fields[i].max);
        FUZZ_CHECK(!s || strlen(s) == json_string_length(json_object_get(req->body, fields[i].key)));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* as hpo_http.c reads a body: duplicate keys refused, only an object goes to a handler */
    json_t *body = size ? json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)
                        : NULL;
    if (size && !json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    hpo_request req = request_of(body);
    check_study(&req);
    check_reports(&req);
    check_finish(&req);
    check_suggest(&req);
    check_strings(&req);
    json_decref(body);
    return 0;
}
