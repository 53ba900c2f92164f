/* test_log: hpo_log's two formats, read back from stderr sent to a temporary file: text lines,
 * JSON lines (one valid object a line whatever the message holds), records with fields, levels,
 * and the parsing of --log-format. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo_log.h"

static FILE *capture;
static int saved_stderr = -1;

/* From here to captured(), what goes to stderr lands in a temporary file. */
static void capture_start(void)
{
    fflush(stderr);
    capture = tmpfile();
    ck_assert_ptr_nonnull(capture);
    saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(saved_stderr, 0);
    ck_assert_int_ge(dup2(fileno(capture), STDERR_FILENO), 0);
}

/* What was written (owned), stderr given back. */
static char *captured(void)
{
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    long n = ftell(capture);
    ck_assert_int_ge(n, 0);
    char *text = calloc(1, (size_t)n + 1);
    rewind(capture);
    ck_assert_uint_eq(fread(text, 1, (size_t)n, capture), (size_t)n);
    fclose(capture);
    return text;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* The one JSON object of a one-line text (owned). */
static json_t *one_json_line(const char *text)
{
    ck_assert_uint_eq(count_lines(text), 1);
    ck_assert(text[strlen(text) - 1] == '\n');
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s (%s)", text, e.text);
    ck_assert(json_is_object(j));
    ck_assert(json_is_string(json_object_get(j, "time")));
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(j, "time"))), 24);
    return j;
}

START_TEST(text_format)
{
    hpo_log_set_format(HPO_LOG_TEXT);
    hpo_log_set_level(HPO_LOG_INFO);
    capture_start();
    hpo_log(HPO_LOG_WARN, "disk \"%s\" is\nfull", "/var");
    hpo_log(HPO_LOG_DEBUG, "not shown");
    char *out = captured();
    ck_assert_uint_eq(count_lines(out), 1);
    /* "2026-11-29T21:12:42.123Z warn disk ..." */
    ck_assert_uint_gt(strlen(out), 25);
    ck_assert(out[4] == '-' && out[10] == 'T' && out[23] == 'Z' && out[24] == ' ');
    ck_assert_str_eq(out + 25, "warn disk \"/var\" is full\n");
    free(out);
}
END_TEST

START_TEST(json_format)
{
    hpo_log_set_format(HPO_LOG_JSON);
    hpo_log_set_level(HPO_LOG_INFO);
    capture_start();
    hpo_log(HPO_LOG_ERROR, "say \"hi\"\nthen \\ and\ttab");
    char *out = captured();
    json_t *j = one_json_line(out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "error");
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "say \"hi\"\nthen \\ and\ttab");
    ck_assert_uint_eq(json_object_size(j), 3);
    json_decref(j);
    free(out);

    /* bytes that are not UTF-8 still make one valid JSON line */
    capture_start();
    hpo_log(HPO_LOG_INFO, "bad \xff\xfe byte");
    out = captured();
    j = one_json_line(out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "bad ?? byte");
    json_decref(j);
    free(out);

    /* a long message (past the stack buffer) is whole */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    capture_start();
    hpo_log(HPO_LOG_INFO, "%s", big);
    out = captured();
    j = one_json_line(out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), big);
    json_decref(j);
    free(out);

    capture_start();
    hpo_log(HPO_LOG_DEBUG, "below the level");
    out = captured();
    ck_assert_str_eq(out, "");
    free(out);
    hpo_log_set_format(HPO_LOG_TEXT);
}
END_TEST

START_TEST(records_with_fields)
{
    json_t *f = json_pack("{s:s,s:i,s:s,s:s,s:s,s:n}", "msg", "request refused or failed",
                          "status", 503, "client", "line\nbreak", "route",
                          "/api/v1/studies/{study}", "code", "", "study");
    hpo_log_set_format(HPO_LOG_JSON);
    capture_start();
    hpo_log_json(HPO_LOG_ERROR, f);
    char *out = captured();
    json_t *j = one_json_line(out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "error");
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "request refused or failed");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 503);
    ck_assert_str_eq(json_string_value(json_object_get(j, "client")), "line\nbreak");
    ck_assert(strncmp(out, "{\"time\":", 8) == 0); /* time and level come first */
    json_decref(j);
    free(out);

    /* text: "<time> <level> <msg> key=value ...", a value that is not a plain word as JSON */
    hpo_log_set_format(HPO_LOG_TEXT);
    capture_start();
    hpo_log_json(HPO_LOG_ERROR, f);
    out = captured();
    const char *nl = strchr(out, '\n');
    ck_assert_msg(nl && nl[1] == '\0', "one line: %s", out);
    ck_assert_msg(out[0] != '{', "not JSON: %s", out);
    const char *rest = strchr(out, ' ');
    ck_assert_ptr_nonnull(rest);
    ck_assert_str_eq(rest, " error request refused or failed status=503 "
                           "client=\"line\\nbreak\" route=/api/v1/studies/{study} code=\"\" "
                           "study=null\n");
    free(out);
    json_decref(f);
}
END_TEST

START_TEST(format_parse)
{
    ck_assert_int_eq(hpo_log_format_parse("text"), HPO_LOG_TEXT);
    ck_assert_int_eq(hpo_log_format_parse("json"), HPO_LOG_JSON);
    ck_assert_int_eq(hpo_log_format_parse("JSON"), -1);
    ck_assert_int_eq(hpo_log_format_parse(""), -1);
    ck_assert_int_eq(hpo_log_format_parse(NULL), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, text_format);
    tcase_add_test(tc, json_format);
    tcase_add_test(tc, records_with_fields);
    tcase_add_test(tc, format_parse);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK); /* stderr is swapped in this process */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
