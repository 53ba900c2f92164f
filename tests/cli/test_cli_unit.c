/* test_cli_unit: the hpo command's pure parts: value text and JSON, CSV quoting, aligned
 * tables, name=value arguments, ISO-8601 times, and the export frame built from trial JSON. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_format.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
    return j;
}

#define expect_owned(expr, want)                                                          \
    do {                                                                                  \
        char *got_ = (expr);                                                              \
        ck_assert_ptr_nonnull(got_);                                                      \
        ck_assert_msg(strcmp(got_, (want)) == 0, "%s:\n'%s'\nexpected\n'%s'", #expr, got_, \
                      (want));                                                            \
        free(got_);                                                                       \
    } while (0)

START_TEST(double_text_is_shortest_and_stays_real)
{
    char buf[32];
    ck_assert_str_eq(cli_double_text(0.1, buf), "0.1");
    ck_assert_str_eq(cli_double_text(3.0, buf), "3.0");
    ck_assert_str_eq(cli_double_text(-0.0, buf), "-0.0");
    ck_assert_str_eq(cli_double_text(1e300, buf), "1e+300");
    ck_assert_str_eq(cli_double_text(0.0031, buf), "0.0031");
    ck_assert_str_eq(cli_double_text(250.512, buf), "250.512");
    static const double v[] = {1.0 / 3.0, 2.0 / 3.0, 5e-324, 1.7976931348623157e308,
                               0.00031622776601683794, 123456789.123};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        ck_assert_msg(strtod(cli_double_text(v[i], buf), NULL) == v[i], "%s", buf);
}
END_TEST

START_TEST(value_text_and_json)
{
    json_t *j = parse("{\"s\":\"adam\",\"i\":-3,\"r\":0.1,\"t\":true,\"f\":false,\"n\":null,"
                      "\"a\":[1,2.5,\"x\"],\"o\":{\"k\":1}}");
    expect_owned(cli_value_text(json_object_get(j, "s")), "adam");
    expect_owned(cli_value_text(json_object_get(j, "i")), "-3");
    expect_owned(cli_value_text(json_object_get(j, "r")), "0.1");
    expect_owned(cli_value_text(json_object_get(j, "t")), "true");
    expect_owned(cli_value_text(json_object_get(j, "f")), "false");
    expect_owned(cli_value_text(json_object_get(j, "n")), "");
    expect_owned(cli_value_text(NULL), "");
    expect_owned(cli_value_text(json_object_get(j, "a")), "[1,2.5,\"x\"]");
    expect_owned(cli_value_text(json_object_get(j, "o")), "{\"k\":1}");
    /* the whole object: keys in order, shortest reals */
    expect_owned(cli_json_text(j), "{\"s\":\"adam\",\"i\":-3,\"r\":0.1,\"t\":true,\"f\":false,"
                                   "\"n\":null,\"a\":[1,2.5,\"x\"],\"o\":{\"k\":1}}");
    json_decref(j);

    /* strings are escaped; UTF-8 passes through; reals that look integral stay reals */
    j = json_pack("[s,s,f,f]", "q\"b\\s/\n\t\x01", "h\xc3\xa9", 3.0, 1e-7);
    expect_owned(cli_json_text(j), "[\"q\\\"b\\\\s/\\n\\t\\u0001\",\"h\xc3\xa9\",3.0,1e-07]");
    /* and it reads back as the same JSON */
    char *text = cli_json_text(j);
    json_t *back = parse(text);
    ck_assert(json_equal(j, back));
    ck_assert(json_is_real(json_array_get(back, 2)));
    free(text);
    json_decref(back);
    json_decref(j);
    expect_owned(cli_json_text(NULL), "null");
    j = json_object();
    expect_owned(cli_json_text(j), "{}");
    json_decref(j);
}
END_TEST

static char *csv(const char *s)
{
    cli_sb b;
    cli_sb_init(&b);
    cli_csv_field(&b, s);
    return cli_sb_take(&b);
}

START_TEST(csv_quoting)
{
    expect_owned(csv("plain"), "plain");
    expect_owned(csv(""), "");
    expect_owned(csv("with space"), "with space");
    expect_owned(csv("a,b"), "\"a,b\"");
    expect_owned(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
    expect_owned(csv("\""), "\"\"\"\"");
    expect_owned(csv("two\nlines"), "\"two\nlines\"");
    expect_owned(csv("cr\rhere"), "\"cr\rhere\"");
    expect_owned(csv("h\xc3\xa9"), "h\xc3\xa9");
}
END_TEST

START_TEST(table_alignment)
{
    const char *headers[] = {"name", "trials", "best"};
    const char *cells[] = {"mnist", "12", "0.118", "a", "3", "", "long-study-name", "100", "1.5"};
    expect_owned(cli_table_render(3, headers, 3, cells),
                 "name             trials  best\n"
                 "mnist            12      0.118\n"
                 "a                3\n"
                 "long-study-name  100     1.5\n");
    /* no headers; UTF-8 counts by characters; control characters become spaces */
    const char *kv[] = {"caf\xc3\xa9:", "x", "ab:", "line1\nline2", "c:", NULL};
    expect_owned(cli_table_render(2, NULL, 3, kv), "caf\xc3\xa9:  x\n"
                                                   "ab:    line1 line2\n"
                                                   "c:\n");
    /* headers only */
    expect_owned(cli_table_render(3, headers, 0, NULL), "name  trials  best\n");
    expect_owned(cli_table_render(0, NULL, 0, NULL), "");
    ck_assert_uint_eq(cli_display_width("h\xc3\xa9llo"), 5);
    ck_assert_uint_eq(cli_display_width(""), 0);
}
END_TEST

static void expect_assign(const char *arg, const char *name, const char *json_value)
{
    char *n = NULL;
    json_t *v = NULL;
    const char *why = NULL;
    ck_assert_msg(cli_parse_assignment(arg, &n, &v, &why) == 0, "%s: %s", arg, why);
    ck_assert_str_eq(n, name);
    json_t *want = parse(json_value);
    ck_assert_msg(json_equal(v, want), "%s gave %s", arg, json_dumps(v, JSON_ENCODE_ANY));
    ck_assert_int_eq(json_typeof(v), json_typeof(want));
    free(n);
    json_decref(v);
    json_decref(want);
}

START_TEST(name_value_parsing)
{
    expect_assign("lr=0.01", "lr", "0.01");
    expect_assign("layers=3", "layers", "3");
    expect_assign("neg=-2.5e-3", "neg", "-0.0025");
    expect_assign("bn=true", "bn", "true");
    expect_assign("off=false", "off", "false");
    expect_assign("wd=null", "wd", "null");
    expect_assign("opt=adam", "opt", "\"adam\"");
    expect_assign("opt=\"3\"", "opt", "\"3\"");     /* a quoted string stays a string */
    expect_assign("opt=\"a b\"", "opt", "\"a b\"");
    expect_assign("e=", "e", "\"\"");
    expect_assign("x=a=b", "x", "\"a=b\"");          /* the first '=' splits */
    expect_assign("l=[1,2]", "l", "\"[1,2]\"");      /* params are scalars: kept as text */
    expect_assign("o={\"a\":1}", "o", "\"{\\\"a\\\":1}\"");
    expect_assign("n=NaN", "n", "\"NaN\"");
    expect_assign("s=1 2", "s", "\"1 2\"");
    expect_assign("big=1e999", "big", "\"1e999\"");
    expect_assign("a b=1", "a b", "1");

    char *n = NULL;
    json_t *v = NULL;
    const char *why = NULL;
    ck_assert_int_eq(cli_parse_assignment("noequals", &n, &v, &why), -1);
    ck_assert_str_eq(why, "expected name=value");
    ck_assert_int_eq(cli_parse_assignment("=5", &n, &v, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "empty"));
    ck_assert_int_eq(cli_parse_assignment("x=\xff", &n, &v, &why), -1);
    ck_assert_ptr_null(n);
    ck_assert_ptr_null(v);
}
END_TEST

START_TEST(iso8601)
{
    int64_t ms = -1;
    ck_assert_int_eq(cli_parse_iso8601("1970-01-01T00:00:00Z", &ms), 0);
    ck_assert_int_eq(ms, 0);
    ck_assert_int_eq(cli_parse_iso8601("2025-01-31T12:04:10.512Z", &ms), 0);
    ck_assert_int_eq(ms, 1738325050512LL);
    ck_assert_int_eq(cli_parse_iso8601("2025-01-31T12:04:10.5Z", &ms), 0);
    ck_assert_int_eq(ms, 1738325050500LL);
    ck_assert_int_eq(cli_parse_iso8601("2024-02-29T00:00:00.000Z", &ms), 0);
    ck_assert_int_eq(ms, 1709164800000LL);
    ck_assert_int_eq(cli_parse_iso8601("2025-01-31T14:04:10+02:00", &ms), 0);
    ck_assert_int_eq(ms, 1738325050000LL);
    ck_assert_int_eq(cli_parse_iso8601("1969-12-31T23:59:59Z", &ms), 0);
    ck_assert_int_eq(ms, -1000);
    static const char *const bad[] = {"", "2025-01-31", "2025-01-31T12:04:10", "2025-13-01T00:00:00Z",
                                      "2025-01-31T12:04:10.Z", "2025-01-31T12:04:10Zx",
                                      "25-01-31T12:04:10Z", "2025-01-31T12:04Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(cli_parse_iso8601(bad[i], &ms) == -1, "%s parsed", bad[i]);
    ck_assert_int_eq(cli_parse_iso8601(NULL, &ms), -1);
}
END_TEST

static const char *TRIALS =
    "[{\"number\":0,\"state\":\"complete\",\"params\":{\"lr\":0.01,\"opt\":\"adam\"},"
    "\"value\":0.5,\"values\":[0.5],\"datetime_start\":\"2025-01-31T12:00:00.000Z\","
    "\"datetime_complete\":\"2025-01-31T12:04:10.512Z\"},"
    " {\"number\":1,\"state\":\"running\",\"params\":{\"lr\":0.1,\"layers\":2},"
    "\"value\":null,\"values\":null,\"datetime_start\":\"2025-01-31T12:01:00.000Z\","
    "\"datetime_complete\":null},"
    " {\"number\":2,\"state\":\"fail\",\"params\":{\"opt\":\"a,\\\"b\\\"\"},\"value\":null,"
    "\"values\":null,\"datetime_start\":null,\"datetime_complete\":null}]";

START_TEST(frame_single_objective)
{
    json_t *trials = parse(TRIALS);
    cli_frame f;
    ck_assert_int_eq(cli_frame_from_trials(trials, 1, &f), 0);
    ck_assert_uint_eq(f.n_rows, 3);
    ck_assert_uint_eq(f.n_cols, 9);
    static const char *const cols[] = {"number", "state", "value", "datetime_start",
                                       "datetime_complete", "duration", "params_layers",
                                       "params_lr", "params_opt"};
    for (size_t i = 0; i < 9; i++)
        ck_assert_str_eq(f.cols[i], cols[i]);
    /* duration in seconds, null when not finished */
    ck_assert(fabs(json_real_value(f.cells[5]) - 250.512) < 1e-9);
    ck_assert(json_is_null(f.cells[9 + 5]));
    ck_assert(json_is_null(f.cells[6])); /* trial 0 has no layers */

    expect_owned(cli_frame_csv(&f),
                 "number,state,value,datetime_start,datetime_complete,duration,params_layers,"
                 "params_lr,params_opt\n"
                 "0,complete,0.5,2025-01-31T12:00:00.000Z,2025-01-31T12:04:10.512Z,250.512,,"
                 "0.01,adam\n"
                 "1,running,,2025-01-31T12:01:00.000Z,,,2,0.1,\n"
                 "2,fail,,,,,,,\"a,\"\"b\"\"\"\n");

    json_t *rows = cli_frame_json(&f);
    ck_assert_uint_eq(json_array_size(rows), 3);
    json_t *want = parse("{\"number\":0,\"state\":\"complete\",\"value\":0.5,"
                         "\"datetime_start\":\"2025-01-31T12:00:00.000Z\","
                         "\"datetime_complete\":\"2025-01-31T12:04:10.512Z\","
                         "\"duration\":250.512,\"params_layers\":null,\"params_lr\":0.01,"
                         "\"params_opt\":\"adam\"}");
    ck_assert(json_equal(json_array_get(rows, 0), want));
    /* keys come in column order */
    expect_owned(cli_json_text(json_array_get(rows, 1)),
                 "{\"number\":1,\"state\":\"running\",\"value\":null,"
                 "\"datetime_start\":\"2025-01-31T12:01:00.000Z\",\"datetime_complete\":null,"
                 "\"duration\":null,\"params_layers\":2,\"params_lr\":0.1,\"params_opt\":null}");
    json_decref(want);
    json_decref(rows);

    char *table = cli_frame_table(&f);
    ck_assert_ptr_nonnull(table);
    ck_assert_ptr_nonnull(strstr(table, "number  state     value  datetime_start"));
    ck_assert_ptr_nonnull(strstr(table, "\n0       complete  0.5    2025-01-31T12:00:00.000Z"));
    free(table);
    cli_frame_free(&f);
    json_decref(trials);
}
END_TEST

START_TEST(frame_several_objectives_and_empty)
{
    json_t *trials = parse("[{\"number\":0,\"state\":\"complete\",\"params\":{},\"value\":null,"
                           "\"values\":[1.5,-2],\"datetime_start\":null,"
                           "\"datetime_complete\":null},"
                           "{\"number\":1,\"state\":\"pruned\",\"params\":{},\"value\":null,"
                           "\"values\":null}]");
    cli_frame f;
    ck_assert_int_eq(cli_frame_from_trials(trials, 2, &f), 0);
    expect_owned(cli_frame_csv(&f), "number,state,values_0,values_1,datetime_start,"
                                    "datetime_complete,duration\n"
                                    "0,complete,1.5,-2,,,\n"
                                    "1,pruned,,,,,\n");
    cli_frame_free(&f);
    /* 0 objectives: taken from the trials' values */
    ck_assert_int_eq(cli_frame_from_trials(trials, 0, &f), 0);
    ck_assert_str_eq(f.cols[3], "values_1");
    cli_frame_free(&f);
    json_decref(trials);

    /* a pruned single-objective trial shows its value; value null falls back to values[0] */
    trials = parse("[{\"number\":4,\"state\":\"pruned\",\"params\":{\"x\":1},\"value\":0.25},"
                   "{\"number\":5,\"state\":\"complete\",\"params\":{},\"values\":[7]}]");
    ck_assert_int_eq(cli_frame_from_trials(trials, 1, &f), 0);
    expect_owned(cli_frame_csv(&f), "number,state,value,datetime_start,datetime_complete,"
                                    "duration,params_x\n"
                                    "4,pruned,0.25,,,,1\n"
                                    "5,complete,7,,,,\n");
    cli_frame_free(&f);
    json_decref(trials);

    trials = json_array();
    ck_assert_int_eq(cli_frame_from_trials(trials, 1, &f), 0);
    ck_assert_uint_eq(f.n_rows, 0);
    expect_owned(cli_frame_csv(&f),
                 "number,state,value,datetime_start,datetime_complete,duration\n");
    json_t *rows = cli_frame_json(&f);
    ck_assert_uint_eq(json_array_size(rows), 0);
    json_decref(rows);
    expect_owned(cli_frame_table(&f),
                 "number  state  value  datetime_start  datetime_complete  duration\n");
    cli_frame_free(&f);
    cli_frame_free(NULL);
    json_decref(trials);

    json_t *obj = json_object();
    ck_assert_int_eq(cli_frame_from_trials(obj, 1, &f), -1);
    json_decref(obj);
}
END_TEST

START_TEST(frame_constrained)
{
    /* some trial gave constraints: the columns constraints and feasibility, after the values */
    json_t *trials = parse(
        "[{\"number\":0,\"state\":\"complete\",\"params\":{},\"value\":1,\"constraints\":[-1,0]},"
        "{\"number\":1,\"state\":\"complete\",\"params\":{},\"value\":0.5,\"constraints\":[-1,0.5]},"
        "{\"number\":2,\"state\":\"pruned\",\"params\":{},\"value\":2,\"constraints\":[0,-3]},"
        "{\"number\":3,\"state\":\"complete\",\"params\":{},\"value\":0.1,\"constraints\":null},"
        "{\"number\":4,\"state\":\"fail\",\"params\":{},\"value\":null,\"constraints\":null},"
        "{\"number\":5,\"state\":\"running\",\"params\":{},\"value\":null}]");
    cli_frame f;
    ck_assert_int_eq(cli_frame_from_trials(trials, 1, &f), 0);
    expect_owned(cli_frame_csv(&f),
                 "number,state,value,constraints,feasibility,datetime_start,datetime_complete,"
                 "duration\n"
                 "0,complete,1,\"[-1,0]\",feasible,,,\n"
                 "1,complete,0.5,\"[-1,0.5]\",infeasible,,,\n"
                 "2,pruned,2,\"[0,-3]\",feasible,,,\n"
                 "3,complete,0.1,,infeasible,,,\n" /* none given: infeasible, as for best */
                 "4,fail,,,,,,\n"
                 "5,running,,,,,,\n");
    char *table = cli_frame_table(&f);
    ck_assert_ptr_nonnull(strstr(table, "value  constraints  feasibility"));
    ck_assert_ptr_nonnull(strstr(table, "\n1       complete  0.5    [-1,0.5]     infeasible"));
    free(table);
    cli_frame_free(&f);
    json_decref(trials);
}
END_TEST

START_TEST(string_builder)
{
    cli_sb b;
    cli_sb_init(&b);
    expect_owned(cli_sb_take(&b), "");
    for (int i = 0; i < 1000; i++)
        cli_sb_printf(&b, "%d,", i);
    cli_sb_putc(&b, 'x');
    char *s = cli_sb_take(&b);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(strlen(s), 3891);
    ck_assert(strncmp(s, "0,1,2,", 6) == 0);
    ck_assert(strcmp(s + strlen(s) - 5, "999,x") == 0);
    free(s);
    cli_sb_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli_unit");
    TCase *tc = tcase_create("cli_unit");
    tcase_add_test(tc, double_text_is_shortest_and_stays_real);
    tcase_add_test(tc, value_text_and_json);
    tcase_add_test(tc, csv_quoting);
    tcase_add_test(tc, table_alignment);
    tcase_add_test(tc, name_value_parsing);
    tcase_add_test(tc, iso8601);
    tcase_add_test(tc, frame_single_objective);
    tcase_add_test(tc, frame_several_objectives_and_empty);
    tcase_add_test(tc, frame_constrained);
    tcase_add_test(tc, string_builder);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
