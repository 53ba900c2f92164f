/* test_routes: the route table and proto/openapi.yaml describe the same (method, path) set; path
 * matching (params, 404 vs 405) and the answers the table of result codes gives (test_errors walks
 * the whole table). */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_routes.h"

#define MAX_SPEC_OPS 256
#define MAX_PATH_LEN 256

typedef struct {
    char method[8];
    char path[MAX_PATH_LEN];
} spec_op;

static const char *spec_file; /* from argv[1] or HPO_OPENAPI */

/* Reads the operations of the spec. It relies on the layout the spec keeps: under the top-level
 * "paths:" each path is a line "  /path:" and each of its methods a line "    get:". Returns the
 * number of operations, or -1 (with a message in why) when the file cannot be read or breaks
 * that layout. */
static int spec_load(spec_op *ops, size_t cap, char *why, size_t why_size)
{
    FILE *f = spec_file ? fopen(spec_file, "r") : NULL;
    if (!f) {
        snprintf(why, why_size, "cannot open the OpenAPI file '%s' (pass it as argv[1] or HPO_OPENAPI)",
                 spec_file ? spec_file : "(unset)");
        return -1;
    }
    static const char *const methods[] = {"get", "put", "post", "delete", "patch", "head", "options"};
    char line[1024], path[MAX_PATH_LEN] = "";
    bool in_paths = false;
    int n = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (!isspace((unsigned char)line[0])) { /* a top-level key */
            in_paths = strcmp(line, "paths:") == 0;
            path[0] = '\0';
            continue;
        }
        if (!in_paths)
            continue;
        size_t len = strlen(line);
        if (strncmp(line, "  /", 3) == 0) {
            if (line[len - 1] != ':' || len - 3 >= sizeof path) {
                snprintf(why, why_size, "%s:%d: a path line must be '  /path:'", spec_file, lineno);
                fclose(f);
                return -1;
            }
            memcpy(path, line + 2, len - 3);
            path[len - 3] = '\0';
            continue;
        }
        if (strncmp(line, "    ", 4) != 0 || isspace((unsigned char)line[4]))
            continue;
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            size_t ml = strlen(methods[m]);
            if (strncmp(line + 4, methods[m], ml) != 0 || strcmp(line + 4 + ml, ":") != 0)
                continue;
            if (path[0] == '\0' || (size_t)n >= cap) {
                snprintf(why, why_size, "%s:%d: method outside a path, or too many operations",
                         spec_file, lineno);
                fclose(f);
                return -1;
            }
            for (size_t k = 0; k <= ml; k++)
                ops[n].method[k] = (char)toupper((unsigned char)methods[m][k]);
            snprintf(ops[n].path, sizeof ops[n].path, "%s", path);
            n++;
        }
    }
    fclose(f);
    return n;
}

static int spec_load_or_fail(spec_op *ops, size_t cap)
{
    char why[512] = "";
    int n = spec_load(ops, cap, why, sizeof why);
    ck_assert_msg(n >= 0, "%s", why);
    ck_assert_msg(n > 0, "no operations found under 'paths:' in %s", spec_file);
    return n;
}

START_TEST(test_spec_covers_routes)
{
    static spec_op ops[MAX_SPEC_OPS];
    int n = spec_load_or_fail(ops, MAX_SPEC_OPS);
    for (size_t i = 0; i < hpo_n_routes; i++) {
        bool found = false;
        for (int k = 0; k < n && !found; k++)
            found = strcmp(ops[k].method, hpo_routes[i].method) == 0 &&
                    strcmp(ops[k].path, hpo_routes[i].pattern) == 0;
        ck_assert_msg(found, "route %s %s is not in %s", hpo_routes[i].method,
                      hpo_routes[i].pattern, spec_file);
    }
}
END_TEST

START_TEST(test_routes_cover_spec)
{
    static spec_op ops[MAX_SPEC_OPS];
    int n = spec_load_or_fail(ops, MAX_SPEC_OPS);
    for (int k = 0; k < n; k++) {
        bool found = false;
        for (size_t i = 0; i < hpo_n_routes && !found; i++)
            found = strcmp(ops[k].method, hpo_routes[i].method) == 0 &&
                    strcmp(ops[k].path, hpo_routes[i].pattern) == 0;
        ck_assert_msg(found, "%s %s is in %s but not in hpo_routes[]", ops[k].method,
                      ops[k].path, spec_file);
    }
}
END_TEST

START_TEST(test_no_duplicates)
{
    static spec_op ops[MAX_SPEC_OPS];
    int n = spec_load_or_fail(ops, MAX_SPEC_OPS);
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            ck_assert_msg(strcmp(ops[a].method, ops[b].method) != 0 ||
                              strcmp(ops[a].path, ops[b].path) != 0,
                          "%s %s twice in the spec", ops[a].method, ops[a].path);
    for (size_t a = 0; a < hpo_n_routes; a++) {
        ck_assert(hpo_routes[a].handler != NULL);
        for (size_t b = a + 1; b < hpo_n_routes; b++)
            ck_assert_msg(strcmp(hpo_routes[a].method, hpo_routes[b].method) != 0 ||
                              strcmp(hpo_routes[a].pattern, hpo_routes[b].pattern) != 0,
                          "%s %s twice in hpo_routes[]", hpo_routes[a].method,
                          hpo_routes[a].pattern);
    }
}
END_TEST

/* Every route is found again from a concrete path built from its own pattern. */
START_TEST(test_match_every_route)
{
    for (size_t i = 0; i < hpo_n_routes; i++) {
        char path[MAX_PATH_LEN] = "";
        const char *p = hpo_routes[i].pattern;
        bool has_study = strstr(p, "{study}") != NULL;
        bool has_n = strstr(p, "{n}") != NULL || strstr(p, "{id}") != NULL;
        while (*p) {
            if (strncmp(p, "{study}", 7) == 0) {
                strcat(path, "s.1_x-Y");
                p += 7;
            } else if (strncmp(p, "{n}", 3) == 0 || strncmp(p, "{id}", 4) == 0) {
                strcat(path, "42");
                p += p[1] == 'n' ? 3 : 4;
            } else {
                strncat(path, p, 1);
                p++;
            }
        }
        hpo_request req = {0};
        bool known = false;
        const hpo_route *r = hpo_route_match(hpo_routes[i].method, path, &req, &known);
        ck_assert_msg(r == &hpo_routes[i], "%s %s did not match its own route %s",
                      hpo_routes[i].method, path, hpo_routes[i].pattern);
        ck_assert(known);
        if (has_study)
            ck_assert_str_eq(req.study, "s.1_x-Y");
        else
            ck_assert_ptr_null(req.study);
        ck_assert_int_eq(req.number, has_n ? 42 : -1);
    }
}
END_TEST

static const hpo_route *match(const char *method, const char *path, hpo_request *req,
                              bool *known)
{
    memset(req, 0, sizeof *req);
    *known = true; /* must be reset by the call */
    return hpo_route_match(method, path, req, known);
}

START_TEST(test_match_params)
{
    hpo_request req;
    bool known;
    const hpo_route *r = match("GET", "/api/v1/studies/mnist/trials/12", &req, &known);
    ck_assert_ptr_nonnull(r);
    ck_assert(r->handler == hpo_h_trial_get);
    ck_assert_str_eq(req.study, "mnist");
    ck_assert_int_eq(req.number, 12);

    r = match("POST", "/api/v1/studies/mnist/trials/0/finish", &req, &known);
    ck_assert_ptr_nonnull(r);
    ck_assert(r->handler == hpo_h_finish);
    ck_assert_str_eq(req.study, "mnist");
    ck_assert_int_eq(req.number, 0);

    r = match("POST", "/api/v1/studies/mnist/trials", &req, &known);
    ck_assert(r && r->handler == hpo_h_ask);
    ck_assert_str_eq(req.study, "mnist");
    ck_assert_int_eq(req.number, -1);

    r = match("GET", "/api/v1/studies/mnist/trials", &req, &known);
    ck_assert(r && r->handler == hpo_h_trial_list);

    r = match("GET", "/api/v1/studies", &req, &known);
    ck_assert(r && r->handler == hpo_h_study_list);
    ck_assert_ptr_null(req.study);

    r = match("POST", "/api/v1/studies", &req, &known);
    ck_assert(r && r->handler == hpo_h_study_create);

    r = match("DELETE", "/api/v1/studies/a", &req, &known);
    ck_assert(r && r->handler == hpo_h_study_delete);
    ck_assert_str_eq(req.study, "a");

    r = match("GET", "/api/v1/studies/a/best", &req, &known);
    ck_assert(r && r->handler == hpo_h_best);

    r = match("GET", "/healthz", &req, &known);
    ck_assert(r && r->handler == hpo_h_health);

    /* the dashboard: "/" is the page, /ui/{file} a file of it by name */
    r = match("GET", "/", &req, &known);
    ck_assert(r && r->handler == hpo_h_dashboard_index);
    ck_assert_ptr_null(req.name);
    r = match("GET", "/ui/app.js", &req, &known);
    ck_assert(r && r->handler == hpo_h_dashboard_file);
    ck_assert_str_eq(req.name, "app.js");
    ck_assert_int_eq(req.number, -1);

    /* 18 digits still fit; leading zeros are digits. */
    r = match("GET", "/api/v1/studies/s/trials/123456789012345678", &req, &known);
    ck_assert_ptr_nonnull(r);
    ck_assert(req.number == INT64_C(123456789012345678));
    r = match("GET", "/api/v1/studies/s/trials/007", &req, &known);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(req.number, 7);

    /* "best" and "queue" are literal segments, "trials" is not a study param here. */
    r = match("POST", "/api/v1/studies/best/queue", &req, &known);
    ck_assert(r && r->handler == hpo_h_queue);
    ck_assert_str_eq(req.study, "best");
}
END_TEST

/* A path that matches nothing: NULL and not known (404). */
static void assert_unknown(const char *method, const char *path)
{
    hpo_request req;
    bool known;
    const hpo_route *r = match(method, path, &req, &known);
    ck_assert_msg(r == NULL, "%s %s matched %s", method, path, r ? r->pattern : "");
    ck_assert_msg(!known, "%s %s reported as a known path", method, path);
}

START_TEST(test_match_not_found)
{
    assert_unknown("GET", "/api/v1/studies/s/trials/abc");
    assert_unknown("GET", "/api/v1/studies/s/trials/12a");
    assert_unknown("GET", "/api/v1/studies/s/trials/-1");
    assert_unknown("GET", "/api/v1/studies/s/trials/+1");
    assert_unknown("GET", "/api/v1/studies/s/trials/ 1");
    assert_unknown("GET", "/api/v1/studies/s/trials/1.0");
    assert_unknown("GET", "/api/v1/studies/s/trials/1234567890123456789"); /* 19 digits */
    assert_unknown("POST", "/api/v1/studies/s/trials/x/finish");
    /* trailing slash, empty segments */
    assert_unknown("GET", "/api/v1/studies/");
    assert_unknown("GET", "/api/v1/studies/s/");
    assert_unknown("GET", "/api/v1/studies//trials");
    assert_unknown("GET", "/api/v1//studies");
    assert_unknown("GET", "/api/v1/studies/s/trials/1/");
    assert_unknown("GET", "/healthz/");
    assert_unknown("GET", "//healthz");
    /* no leading slash, unknown, prefixes and extensions of known paths */
    assert_unknown("GET", "api/v1/studies");
    assert_unknown("GET", "");
    assert_unknown("GET", "//");
    assert_unknown("GET", "/ui");
    assert_unknown("GET", "/ui/");
    assert_unknown("GET", "/ui/vendor/plotly.min.js"); /* one segment: no sub-folders */
    assert_unknown("GET", "/nope");
    assert_unknown("GET", "/api/v1");
    assert_unknown("GET", "/api/v2/studies");
    assert_unknown("GET", "/api/v1/studiesx");
    assert_unknown("GET", "/api/v1/studies/s/trials/1/finish/more");
    assert_unknown("POST", "/api/v1/studies/s/bogus");
    assert_unknown("GET", "/API/V1/STUDIES");
}
END_TEST

/* A known path under a method it does not have: NULL and known (405). */
static void assert_wrong_method(const char *method, const char *path)
{
    hpo_request req;
    bool known = false;
    memset(&req, 0, sizeof req);
    const hpo_route *r = hpo_route_match(method, path, &req, &known);
    ck_assert_msg(r == NULL, "%s %s matched %s", method, path, r ? r->pattern : "");
    ck_assert_msg(known, "%s %s: the path exists, so this must be 405", method, path);
}

START_TEST(test_match_method_not_allowed)
{
    assert_wrong_method("PUT", "/api/v1/studies/s");
    assert_wrong_method("POST", "/api/v1/studies/s");
    assert_wrong_method("DELETE", "/api/v1/studies");
    assert_wrong_method("GET", "/api/v1/studies/s/trials/3/finish");
    assert_wrong_method("DELETE", "/api/v1/studies/s/trials/3");
    assert_wrong_method("GET", "/api/v1/studies/s/queue");
    assert_wrong_method("POST", "/api/v1/studies/s/best");
    assert_wrong_method("POST", "/healthz");
    assert_wrong_method("POST", "/");
    assert_wrong_method("DELETE", "/ui/app.js");
    assert_wrong_method("get", "/healthz"); /* methods are case-sensitive (RFC 9110) */
}
END_TEST

START_TEST(test_request_query)
{
    hpo_request req = {0};
    req.n_query = 2;
    req.query_keys[0] = "state";
    req.query_values[0] = "complete";
    req.query_keys[1] = "limit";
    req.query_values[1] = "5";
    ck_assert_str_eq(hpo_request_query(&req, "state"), "complete");
    ck_assert_str_eq(hpo_request_query(&req, "limit"), "5");
    ck_assert_ptr_null(hpo_request_query(&req, "after"));
    ck_assert_ptr_null(hpo_request_query(&req, "State"));
}
END_TEST

START_TEST(test_http_status)
{
    ck_assert_int_eq(hpo_rc_http_status(HPO_OK), 200);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_INVALID), 400);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_NOT_FOUND), 404);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_EXISTS), 409);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_CONFLICT), 409);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_FINISHED), 409);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_COMPLETE), 409);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_TOO_LARGE), 413);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_UNAVAILABLE), 503);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_NOMEM), 500);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_INTERNAL), 500);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_NO_WORK), 204);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_METHOD), 405);
    ck_assert_int_eq(hpo_rc_http_status((hpo_rc)-999), 500); /* an unknown code is a bug: 500 */
}
END_TEST

START_TEST(test_wire_codes)
{
    ck_assert_str_eq(hpo_rc_name(HPO_E_INVALID), "invalid_argument");
    ck_assert_str_eq(hpo_rc_name(HPO_E_NOT_FOUND), "not_found");
    ck_assert_str_eq(hpo_rc_name(HPO_E_EXISTS), "already_exists");
    ck_assert_str_eq(hpo_rc_name(HPO_E_CONFLICT), "conflict");
    ck_assert_str_eq(hpo_rc_name(HPO_E_FINISHED), "trial_finished");
    ck_assert_str_eq(hpo_rc_name(HPO_E_COMPLETE), "study_complete");
    ck_assert_str_eq(hpo_rc_name(HPO_E_TOO_LARGE), "too_large");
    ck_assert_str_eq(hpo_rc_name(HPO_E_UNAVAILABLE), "unavailable");
    ck_assert_str_eq(hpo_rc_name(HPO_E_NOMEM), "internal");
    ck_assert_str_eq(hpo_rc_name(HPO_E_INTERNAL), "internal");
    ck_assert_str_eq(hpo_rc_name(HPO_E_METHOD), "method_not_allowed");
    ck_assert_ptr_nonnull(hpo_rc_name((hpo_rc)-999));
}
END_TEST

START_TEST(test_response_error)
{
    hpo_response res = {0};
    hpo_error err;
    hpo_error_set(&err, HPO_E_INVALID, "search_space.lr.low", "low must be <= high");
    hpo_response_error(&res, &err);
    ck_assert_int_eq(res.status, 400);
    ck_assert_int_eq(res.retry_after, 0);
    ck_assert_ptr_nonnull(res.body);
    json_t *e = json_object_get(res.body, "error");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "invalid_argument");
    ck_assert_str_eq(json_string_value(json_object_get(e, "message")), "low must be <= high");
    ck_assert_str_eq(json_string_value(json_object_get(e, "field")), "search_space.lr.low");

    /* Replacing the body releases the old one (the sanitizer build checks for the leak). */
    hpo_error_set(&err, HPO_E_UNAVAILABLE, NULL, "database unreachable");
    hpo_response_error(&res, &err);
    ck_assert_int_eq(res.status, 503);
    ck_assert_int_eq(res.retry_after, 1);
    e = json_object_get(res.body, "error");
    ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "unavailable");
    ck_assert_ptr_null(json_object_get(e, "field"));

    hpo_error_set(&err, HPO_E_NO_WORK, NULL, "no work now");
    hpo_response_error(&res, &err);
    ck_assert_int_eq(res.status, 204);
    ck_assert_int_eq(res.retry_after, 1);
    ck_assert_ptr_null(res.body);

    hpo_response_json(&res, 201, json_pack("{s:i}", "number", 3));
    ck_assert_int_eq(res.status, 201);
    ck_assert_int_eq(json_integer_value(json_object_get(res.body, "number")), 3);
    json_decref(res.body);
}
END_TEST

static Suite *routes_suite(void)
{
    Suite *s = suite_create("routes");
    TCase *spec = tcase_create("spec");
    tcase_add_test(spec, test_spec_covers_routes);
    tcase_add_test(spec, test_routes_cover_spec);
    tcase_add_test(spec, test_no_duplicates);
    suite_add_tcase(s, spec);
    TCase *m = tcase_create("match");
    tcase_add_test(m, test_match_every_route);
    tcase_add_test(m, test_match_params);
    tcase_add_test(m, test_match_not_found);
    tcase_add_test(m, test_match_method_not_allowed);
    tcase_add_test(m, test_request_query);
    suite_add_tcase(s, m);
    TCase *st = tcase_create("status");
    tcase_add_test(st, test_http_status);
    tcase_add_test(st, test_wire_codes);
    tcase_add_test(st, test_response_error);
    suite_add_tcase(s, st);
    return s;
}

int main(int argc, char **argv)
{
    spec_file = argc > 1 ? argv[1] : getenv("HPO_OPENAPI");
    SRunner *sr = srunner_create(routes_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
