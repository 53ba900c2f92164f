/* test_codec: unit tests for common/json (distribution, space, param value, trial, study and
 * error codecs). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo_codec.h"
#include "hpo_log.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(j != NULL, "bad test JSON %s: %s", text, jerr.text);
    return j;
}

/* Decodes text as a distribution under "search_space.lr" and expects a 400 naming `field`. */
static void expect_dist_error(const char *text, const char *field, const char *needle)
{
    json_t *j = parse(text);
    hpo_dist d;
    hpo_error err;
    hpo_error_clear(&err);
    hpo_rc rc = hpo_json_to_dist(j, "search_space.lr", &d, &err);
    json_decref(j);
    ck_assert_msg(rc == HPO_E_INVALID, "%s decoded (rc %d)", text, rc);
    ck_assert_msg(strcmp(err.field, field) == 0, "%s: field \"%s\", want \"%s\"", text, err.field,
                  field);
    ck_assert_msg(strstr(err.message, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", text,
                  err.message, needle);
}

static void decode_dist(const char *text, hpo_dist *d)
{
    json_t *j = parse(text);
    hpo_error err;
    hpo_rc rc = hpo_json_to_dist(j, "f", d, &err);
    json_decref(j);
    ck_assert_msg(rc == HPO_OK, "%s: %s at %s", text, err.message, err.field);
}

/* dumps j (consuming it) and compares with the expected compact, key-sorted text. */
static void expect_dump(json_t *j, const char *want)
{
    ck_assert_ptr_nonnull(j);
    char *s = hpo_json_dump(j);
    json_decref(j);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, want);
    free(s);
}

/* Decodes text, encodes the result, decodes that again and checks both decodes are equal. */
static void round_trip(const char *text, const char *want_dump)
{
    hpo_dist a, b;
    hpo_error err;
    decode_dist(text, &a);
    json_t *j = hpo_dist_to_json(&a);
    ck_assert_ptr_nonnull(j);
    char *s = hpo_json_dump(j);
    ck_assert_str_eq(s, want_dump);
    free(s);
    ck_assert_int_eq(hpo_json_to_dist(j, "f", &b, &err), HPO_OK);
    json_decref(j);
    ck_assert(hpo_dist_equal(&a, &b));
    hpo_dist_clear(&a);
    hpo_dist_clear(&b);
}

START_TEST(test_dist_errors)
{
    expect_dist_error("{\"low\":0,\"high\":1}", "search_space.lr.type", "required");
    expect_dist_error("{\"type\":\"uniform\",\"low\":0,\"high\":1}", "search_space.lr.type",
                      "unknown type");
    expect_dist_error("{\"type\":3}", "search_space.lr.type", "string");
    expect_dist_error("{\"type\":\"float\",\"low\":0,\"high\":1,\"foo\":1}", "search_space.lr.foo",
                      "unknown key");
    expect_dist_error("{\"type\":\"categorical\",\"choices\":[1],\"low\":0}",
                      "search_space.lr.low", "unknown key");
    expect_dist_error("{\"type\":\"float\",\"low\":\"0\",\"high\":1}", "search_space.lr.low",
                      "finite number");
    expect_dist_error("{\"type\":\"float\",\"high\":1}", "search_space.lr.low", "required");
    expect_dist_error("{\"type\":\"float\",\"low\":0,\"high\":[1]}", "search_space.lr.high",
                      "finite number");
    expect_dist_error("{\"type\":\"float\",\"low\":0,\"high\":1,\"log\":\"yes\"}",
                      "search_space.lr.log", "boolean");
    expect_dist_error("{\"type\":\"float\",\"low\":0,\"high\":1,\"step\":true}",
                      "search_space.lr.step", "finite number");
    expect_dist_error("{\"type\":\"float\",\"low\":0,\"high\":1,\"step\":0}",
                      "search_space.lr.step", "> 0");
    expect_dist_error("{\"type\":\"int\",\"low\":1.5,\"high\":8}", "search_space.lr.low",
                      "integer");
    expect_dist_error("{\"type\":\"int\",\"low\":1,\"high\":8,\"step\":0.5}",
                      "search_space.lr.step", "integer");
    expect_dist_error("{\"type\":\"categorical\",\"choices\":[\"a\",{\"b\":1}]}",
                      "search_space.lr.choices[1]", "string, a number");
    expect_dist_error("{\"type\":\"categorical\",\"choices\":[[1]]}",
                      "search_space.lr.choices[0]", "string, a number");
    expect_dist_error("{\"type\":\"categorical\",\"choices\":[]}", "search_space.lr.choices",
                      "at least one");
    expect_dist_error("{\"type\":\"categorical\",\"choices\":\"a\"}", "search_space.lr.choices",
                      "array");
    expect_dist_error("{\"type\":\"categorical\"}", "search_space.lr.choices", "required");
    expect_dist_error("{\"type\":\"categorical\",\"choices\":[1,1.0]}",
                      "search_space.lr.choices[1]", "duplicate");
    /* Semantic rules come from hpo_dist_validate, under the same field names. */
    expect_dist_error("{\"type\":\"float\",\"low\":0,\"high\":1,\"log\":true}",
                      "search_space.lr.low", "log");
    expect_dist_error("{\"type\":\"float\",\"low\":2,\"high\":1}", "search_space.lr.low",
                      "greater than high");
    expect_dist_error("{\"type\":\"int\",\"low\":0,\"high\":10,\"step\":3}",
                      "search_space.lr.step", "does not fit");
    expect_dist_error("[1,2]", "search_space.lr", "object");
}
END_TEST

START_TEST(test_dist_decode_defaults)
{
    hpo_dist d;
    decode_dist("{\"type\":\"int\",\"low\":1,\"high\":8}", &d);
    ck_assert_int_eq(d.type, HPO_DIST_INT);
    ck_assert_double_eq(d.step, 1);
    ck_assert(!d.log);
    hpo_dist_clear(&d);
    decode_dist("{\"type\":\"int\",\"low\":1.0,\"high\":8.0,\"step\":null,\"log\":null}", &d);
    ck_assert_double_eq(d.low, 1);
    ck_assert_double_eq(d.high, 8);
    ck_assert_double_eq(d.step, 1);
    hpo_dist_clear(&d);
    decode_dist("{\"type\":\"float\",\"low\":1e-5,\"high\":1,\"log\":true,\"step\":null}", &d);
    ck_assert_int_eq(d.type, HPO_DIST_FLOAT);
    ck_assert_double_eq(d.step, 0);
    ck_assert(d.log);
    hpo_dist_clear(&d);
}
END_TEST

START_TEST(test_dist_round_trips)
{
    round_trip("{\"type\":\"float\",\"low\":0,\"high\":1}",
               "{\"high\":1.0,\"log\":false,\"low\":0.0,\"type\":\"float\"}");
    round_trip("{\"type\":\"float\",\"low\":0.5,\"high\":2.5,\"step\":0.5}",
               "{\"high\":2.5,\"log\":false,\"low\":0.5,\"step\":0.5,\"type\":\"float\"}");
    round_trip("{\"type\":\"float\",\"low\":0.25,\"high\":4,\"log\":true}",
               "{\"high\":4.0,\"log\":true,\"low\":0.25,\"type\":\"float\"}");
    round_trip("{\"type\":\"int\",\"low\":-4,\"high\":8,\"step\":4}",
               "{\"high\":8,\"log\":false,\"low\":-4,\"step\":4,\"type\":\"int\"}");
    round_trip("{\"type\":\"int\",\"low\":1,\"high\":1024,\"log\":true}",
               "{\"high\":1024,\"log\":true,\"low\":1,\"step\":1,\"type\":\"int\"}");
    round_trip("{\"type\":\"categorical\",\"choices\":[\"a\",1,2.5,true,null]}",
               "{\"choices\":[\"a\",1,2.5,true,null],\"type\":\"categorical\"}");
    round_trip("{\"type\":\"categorical\",\"choices\":[false,\"1\",1.0]}",
               "{\"choices\":[false,\"1\",1.0],\"type\":\"categorical\"}");
}
END_TEST

START_TEST(test_choice_codec)
{
    hpo_choice c;
    hpo_error err;
    json_t *j = parse("3");
    ck_assert_int_eq(hpo_json_to_choice(j, "c", &c, &err), HPO_OK);
    json_decref(j);
    ck_assert_int_eq(c.kind, HPO_CHOICE_NUMBER);
    ck_assert(c.integer);
    expect_dump(hpo_choice_to_json(&c), "3");
    j = parse("2.5");
    ck_assert_int_eq(hpo_json_to_choice(j, "c", &c, &err), HPO_OK);
    json_decref(j);
    ck_assert(!c.integer);
    expect_dump(hpo_choice_to_json(&c), "2.5");
    j = parse("\"x\"");
    ck_assert_int_eq(hpo_json_to_choice(j, "c", &c, &err), HPO_OK);
    json_decref(j);
    ck_assert_int_eq(c.kind, HPO_CHOICE_STRING);
    ck_assert_str_eq(c.str, "x");
    free(c.str);
    j = parse("{}");
    ck_assert_int_eq(hpo_json_to_choice(j, "c.x", &c, &err), HPO_E_INVALID);
    json_decref(j);
    ck_assert_str_eq(err.field, "c.x");
}
END_TEST

START_TEST(test_space_codec)
{
    json_t *j = parse("{\"lr\":{\"type\":\"float\",\"low\":1e-4,\"high\":1.0,\"log\":true},"
                      "\"opt\":{\"type\":\"categorical\",\"choices\":[\"adam\",\"sgd\"]}}");
    hpo_space s;
    hpo_error err;
    ck_assert_int_eq(hpo_json_to_space(j, "search_space", &s, &err), HPO_OK);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_ptr_nonnull(hpo_space_find(&s, "opt"));
    json_t *back = hpo_space_to_json(&s);
    ck_assert(json_equal(j, back));
    json_decref(back);
    json_decref(j);
    hpo_space_clear(&s);

    j = parse("{\"lr\":{\"type\":\"float\",\"low\":0,\"high\":1,\"bogus\":2}}");
    ck_assert_int_eq(hpo_json_to_space(j, "search_space", &s, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "search_space.lr.bogus");
    json_decref(j);
    j = parse("{\"\":{\"type\":\"float\",\"low\":0,\"high\":1}}");
    ck_assert_int_eq(hpo_json_to_space(j, "search_space", &s, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "search_space.");
    json_decref(j);
    j = parse("[]");
    ck_assert_int_eq(hpo_json_to_space(j, "search_space", &s, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "search_space");
    json_decref(j);
    j = parse("{}");
    ck_assert_int_eq(hpo_json_to_space(j, "search_space", &s, &err), HPO_OK);
    ck_assert_uint_eq(s.n, 0);
    expect_dump(hpo_space_to_json(&s), "{}");
    hpo_space_clear(&s);
    json_decref(j);
}
END_TEST

START_TEST(test_param_values)
{
    hpo_dist f, i, c;
    hpo_error err;
    double v;
    decode_dist("{\"type\":\"float\",\"low\":0,\"high\":1,\"step\":0.25}", &f);
    decode_dist("{\"type\":\"int\",\"low\":1,\"high\":8}", &i);
    decode_dist("{\"type\":\"categorical\",\"choices\":[\"a\",1,2.5,true,null]}", &c);

    expect_dump(hpo_param_value_to_json(&f, 0.5), "0.5");
    expect_dump(hpo_param_value_to_json(&i, 3), "3");
    expect_dump(hpo_param_value_to_json(&c, 0), "\"a\"");
    expect_dump(hpo_param_value_to_json(&c, 1), "1");
    expect_dump(hpo_param_value_to_json(&c, 2), "2.5");
    expect_dump(hpo_param_value_to_json(&c, 3), "true");
    expect_dump(hpo_param_value_to_json(&c, 4), "null");

    json_t *j = parse("0.75");
    ck_assert_int_eq(hpo_json_to_param_value(&f, j, "params.x", &v, &err), HPO_OK);
    ck_assert_double_eq(v, 0.75);
    json_decref(j);
    j = parse("1");
    ck_assert_int_eq(hpo_json_to_param_value(&f, j, "params.x", &v, &err), HPO_OK);
    ck_assert_double_eq(v, 1);
    json_decref(j);
    j = parse("0.3");
    ck_assert_int_eq(hpo_json_to_param_value(&f, j, "params.x", &v, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "params.x");
    json_decref(j);
    j = parse("\"0.5\"");
    ck_assert_int_eq(hpo_json_to_param_value(&f, j, "params.x", &v, &err), HPO_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "finite number"));
    json_decref(j);

    j = parse("4.0");
    ck_assert_int_eq(hpo_json_to_param_value(&i, j, "params.n", &v, &err), HPO_OK);
    ck_assert_double_eq(v, 4);
    json_decref(j);
    j = parse("4.5");
    ck_assert_int_eq(hpo_json_to_param_value(&i, j, "params.n", &v, &err), HPO_E_INVALID);
    json_decref(j);
    j = parse("9");
    ck_assert_int_eq(hpo_json_to_param_value(&i, j, "params.n", &v, &err), HPO_E_INVALID);
    json_decref(j);

    const char *inputs[] = { "\"a\"", "1", "2.5", "true", "null", "1.0" };
    const double want[] = { 0, 1, 2, 3, 4, 1 };
    for (size_t k = 0; k < 6; k++) {
        j = parse(inputs[k]);
        ck_assert_int_eq(hpo_json_to_param_value(&c, j, "params.c", &v, &err), HPO_OK);
        ck_assert_double_eq(v, want[k]);
        json_decref(j);
    }
    const char *bad[] = { "\"b\"", "false", "2", "{}", "[\"a\"]" };
    for (size_t k = 0; k < 5; k++) {
        j = parse(bad[k]);
        ck_assert_int_eq(hpo_json_to_param_value(&c, j, "params.c", &v, &err), HPO_E_INVALID);
        ck_assert_str_eq(err.field, "params.c");
        json_decref(j);
    }
    hpo_dist_clear(&f);
    hpo_dist_clear(&i);
    hpo_dist_clear(&c);
}
END_TEST

START_TEST(test_json_number)
{
    hpo_error err;
    double v;
    json_t *j = parse("7");
    ck_assert_int_eq(hpo_json_number(j, "n", &v, &err), HPO_OK);
    ck_assert_double_eq(v, 7);
    json_decref(j);
    j = parse("-0.5");
    ck_assert_int_eq(hpo_json_number(j, "n", &v, &err), HPO_OK);
    ck_assert_double_eq(v, -0.5);
    json_decref(j);
    j = parse("\"7\"");
    ck_assert_int_eq(hpo_json_number(j, "body.value", &v, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "body.value");
    ck_assert_str_eq(err.message, "must be a finite number");
    json_decref(j);
    ck_assert_int_eq(hpo_json_number(NULL, "n", &v, &err), HPO_E_INVALID);
}
END_TEST

static void make_trial(hpo_trial *t)
{
    hpo_dist f, c;
    decode_dist("{\"type\":\"float\",\"low\":0,\"high\":1}", &f);
    decode_dist("{\"type\":\"categorical\",\"choices\":[\"adam\",\"sgd\"]}", &c);
    *t = (hpo_trial){ .number = 4, .state = HPO_TRIAL_COMPLETE, .created_ms = 1000,
                      .started_ms = 2000, .finished_ms = 3500 };
    ck_assert_int_eq(hpo_trial_add_param(t, "x", &f, 0.5), HPO_OK);
    ck_assert_int_eq(hpo_trial_add_param(t, "opt", &c, 1), HPO_OK);
    hpo_trial_add_report(t, 2, 0.25, NULL);
    hpo_trial_add_report(t, 1, NAN, NULL);
    hpo_dist_clear(&f);
    hpo_dist_clear(&c);
}

START_TEST(test_trial_one_objective)
{
    hpo_trial t;
    make_trial(&t);
    double v = 0.125;
    hpo_trial_set_values(&t, &v, 1);
    t.worker = hpo_strdup("w-1");
    expect_dump(hpo_trial_to_json(&t, "s1", 1),
                "{\"constraints\":null,\"datetime_complete\":\"1970-01-01T00:00:03.500Z\","
                "\"datetime_created\":\"1970-01-01T00:00:01.000Z\","
                "\"datetime_start\":\"1970-01-01T00:00:02.000Z\","
                "\"distributions\":{\"opt\":{\"choices\":[\"adam\",\"sgd\"],\"type\":\"categorical\"},"
                "\"x\":{\"high\":1.0,\"log\":false,\"low\":0.0,\"type\":\"float\"}},"
                "\"generation\":null,"
                "\"intermediate_values\":[{\"step\":1,\"value\":null},{\"step\":2,\"value\":0.25}],"
                "\"number\":4,\"params\":{\"opt\":\"sgd\",\"x\":0.5},\"preempted\":false,"
                "\"retried_by\":null,\"retry_of\":null,\"state\":\"complete\","
                "\"study\":\"s1\",\"value\":0.125,\"values\":[0.125],\"worker\":\"w-1\"}");
    hpo_trial_clear(&t);
}
END_TEST

START_TEST(test_trial_two_objectives)
{
    hpo_trial t;
    make_trial(&t);
    double v[] = { 1.5, -2.0 };
    hpo_trial_set_values(&t, v, 2);
    json_t *j = hpo_trial_to_json(&t, NULL, 2);
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_null(json_object_get(j, "study"));
    ck_assert_ptr_null(json_object_get(j, "value"));
    ck_assert_ptr_null(json_object_get(j, "fail_reason"));
    ck_assert(json_is_null(json_object_get(j, "worker")));
    expect_dump(json_incref(json_object_get(j, "values")), "[1.5,-2.0]");
    ck_assert(json_is_null(json_object_get(j, "constraints")));
    json_decref(j);

    /* Constraints, as given with the finish. */
    double c[] = { -0.5, 2.0 };
    ck_assert_int_eq(hpo_trial_set_constraints(&t, c, 2), HPO_OK);
    j = hpo_trial_to_json(&t, NULL, 2);
    expect_dump(json_incref(json_object_get(j, "constraints")), "[-0.5,2.0]");
    json_decref(j);
    ck_assert_int_eq(hpo_trial_set_constraints(&t, NULL, 0), HPO_OK);

    /* An evolutionary sampler's generation. */
    t.has_generation = true;
    t.generation = 7;
    j = hpo_trial_to_json(&t, NULL, 2);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "generation")), 7);
    json_decref(j);

    /* Not finished yet: no values, no completion time; fail_reason appears when set. */
    t.state = HPO_TRIAL_FAIL;
    t.finished_ms = 0;
    hpo_trial_set_values(&t, NULL, 0);
    t.fail_reason = hpo_strdup("worker lost");
    j = hpo_trial_to_json(&t, "s", 2);
    ck_assert(json_is_null(json_object_get(j, "value")));
    ck_assert(json_is_null(json_object_get(j, "values")));
    ck_assert(json_is_null(json_object_get(j, "datetime_complete")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "fail");
    ck_assert_str_eq(json_string_value(json_object_get(j, "fail_reason")), "worker lost");
    json_decref(j);
    hpo_trial_clear(&t);
}
END_TEST

START_TEST(test_study_config_json)
{
    hpo_direction one = HPO_MAXIMIZE;
    hpo_study_config c = { .name = "s1", .n_directions = 1, .directions = &one,
                           .sampler = "{\"type\":\"tpe\",\"seed\":1}", .pruner = "{\"type\":\"none\"}",
                           .user_attrs = "{\"k\":[1]}", .max_trials = 0, .created_ms = 1000,
                           .retry = {.max_retries = 2, .on = HPO_RETRY_FAIL | HPO_RETRY_PREEMPTED} };
    expect_dump(hpo_study_config_to_json(&c),
                "{\"datetime_created\":\"1970-01-01T00:00:01.000Z\",\"direction\":\"maximize\","
                "\"directions\":[\"maximize\"],\"heartbeat_grace\":null,\"max_trials\":null,"
                "\"name\":\"s1\","
                "\"pruner\":{\"type\":\"none\"},"
                "\"retry\":{\"keep_intermediate\":false,\"max_retries\":2,"
                "\"on\":[\"fail\",\"preempted\"]},"
                "\"sampler\":{\"seed\":1,\"type\":\"tpe\"},"
                "\"search_space\":{},\"user_attrs\":{\"k\":[1]}}");
    hpo_direction two[] = { HPO_MINIMIZE, HPO_MAXIMIZE };
    c.n_directions = 2;
    c.directions = two;
    c.max_trials = 50;
    json_t *j = hpo_study_config_to_json(&c);
    ck_assert_ptr_null(json_object_get(j, "direction"));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "max_trials")), 50);
    expect_dump(json_incref(json_object_get(j, "directions")), "[\"minimize\",\"maximize\"]");
    json_decref(j);
}
END_TEST

/* The retry policy: defaults for absent members, every bad value refused with its field. */
START_TEST(test_retry_policy_json)
{
    hpo_retry_policy p;
    hpo_error err;
    json_t *j = json_loads("{\"max_retries\":3}", 0, NULL);
    ck_assert_int_eq(hpo_json_to_retry(j, "retry", &p, &err), HPO_OK);
    json_decref(j);
    ck_assert_int_eq(p.max_retries, 3);
    ck_assert_uint_eq(p.on, HPO_RETRY_ALL);
    ck_assert(!p.keep_intermediate);
    expect_dump(hpo_retry_to_json(&p), "{\"keep_intermediate\":false,\"max_retries\":3,"
                "\"on\":[\"fail\",\"heartbeat_lost\",\"preempted\"]}");
    static const struct {
        const char *text, *field;
    } bad[] = {
        {"[]", "retry"},
        {"{\"max_retries\":101}", "retry.max_retries"},
        {"{\"max_retries\":-1}", "retry.max_retries"},
        {"{\"max_retries\":1.5}", "retry.max_retries"},
        {"{\"on\":[]}", "retry.on"},
        {"{\"on\":\"fail\"}", "retry.on"},
        {"{\"on\":[\"fail\",\"fail\"]}", "retry.on"},
        {"{\"on\":[\"oom\"]}", "retry.on"},
        {"{\"keep_intermediate\":1}", "retry.keep_intermediate"},
        {"{\"retries\":1}", "retry.retries"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i].text, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_int_eq(hpo_json_to_retry(j, "retry", &p, &err), HPO_E_INVALID);
        ck_assert_str_eq(err.field, bad[i].field);
        json_decref(j);
    }
}
END_TEST

START_TEST(test_error_json)
{
    hpo_error err;
    hpo_error_set(&err, HPO_E_INVALID, "search_space.lr.low", "low must be > 0");
    expect_dump(hpo_error_to_json(&err),
                "{\"error\":{\"code\":\"invalid_argument\",\"field\":\"search_space.lr.low\","
                "\"message\":\"low must be > 0\"}}");
    hpo_error_set(&err, HPO_E_NOT_FOUND, NULL, "no such study");
    expect_dump(hpo_error_to_json(&err),
                "{\"error\":{\"code\":\"not_found\",\"message\":\"no such study\"}}");
    /* A message cut inside a UTF-8 sequence still gives valid JSON. */
    hpo_error_set(&err, HPO_E_INVALID, "f", "bad \xc3");
    expect_dump(hpo_error_to_json(&err),
                "{\"error\":{\"code\":\"invalid_argument\",\"field\":\"f\",\"message\":\"bad ?\"}}");
}
END_TEST

START_TEST(test_log_level_parse)
{
    ck_assert_int_eq(hpo_log_level_parse("debug"), HPO_LOG_DEBUG);
    ck_assert_int_eq(hpo_log_level_parse("info"), HPO_LOG_INFO);
    ck_assert_int_eq(hpo_log_level_parse("warn"), HPO_LOG_WARN);
    ck_assert_int_eq(hpo_log_level_parse("error"), HPO_LOG_ERROR);
    ck_assert_int_eq(hpo_log_level_parse("verbose"), -1);
    ck_assert_int_eq(hpo_log_level_parse(NULL), -1);
    hpo_log_set_level(HPO_LOG_ERROR);
    hpo_log(HPO_LOG_INFO, "not shown %d", 1);
    hpo_log_set_level(HPO_LOG_INFO);
}
END_TEST

START_TEST(test_log_line)
{
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    hpo_log_set_level(HPO_LOG_WARN);
    hpo_log(HPO_LOG_INFO, "hidden");
    hpo_log(HPO_LOG_WARN, "two\nlines %d", 5);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    hpo_log_set_level(HPO_LOG_INFO);

    char line[256] = { 0 };
    rewind(tmp);
    size_t n = fread(line, 1, sizeof line - 1, tmp);
    fclose(tmp);
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ warn two lines 5\n" and nothing else. */
    ck_assert_uint_eq(n, 24 + strlen(" warn two lines 5\n"));
    ck_assert_int_eq(line[4], '-');
    ck_assert_int_eq(line[10], 'T');
    ck_assert_int_eq(line[19], '.');
    ck_assert_int_eq(line[23], 'Z');
    ck_assert_str_eq(line + 24, " warn two lines 5\n");
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("dist");
    tcase_add_test(tc, test_dist_errors);
    tcase_add_test(tc, test_dist_decode_defaults);
    tcase_add_test(tc, test_dist_round_trips);
    tcase_add_test(tc, test_choice_codec);
    tcase_add_test(tc, test_space_codec);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, test_param_values);
    tcase_add_test(tc, test_json_number);
    suite_add_tcase(s, tc);

    tc = tcase_create("objects");
    tcase_add_test(tc, test_trial_one_objective);
    tcase_add_test(tc, test_trial_two_objectives);
    tcase_add_test(tc, test_study_config_json);
    tcase_add_test(tc, test_retry_policy_json);
    tcase_add_test(tc, test_error_json);
    tcase_add_test(tc, test_log_level_parse);
    tcase_add_test(tc, test_log_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(codec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
