/* test_errors: the table of result codes (common/core/hpo_error.c) walked both ways, and against
 * proto/errors.md, the wire contract it implements (HPO_ERRORS_MD names the file). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_error.h"

/* The last value of hpo_rc: a new code must be added to the table, and then here. */
#define LAST_RC HPO_E_METHOD

#define MAX_DOC_ROWS 64

typedef struct {
    char code[64];
    int status;
    bool retry_after; /* the row says the answer comes with Retry-After */
} doc_row;

static doc_row doc_rows[MAX_DOC_ROWS];
static size_t n_doc_rows;
static bool doc_has_204;

/* Reads the "| `code` | NNN | when |" rows of proto/errors.md. */
static void load_errors_md(void)
{
    const char *path = getenv("HPO_ERRORS_MD");
    ck_assert_msg(path != NULL, "HPO_ERRORS_MD must name proto/errors.md");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char line[16384];
    n_doc_rows = 0;
    doc_has_204 = false;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "**204 No Content**"))
            doc_has_204 = true;
        char code[64];
        int status;
        if (sscanf(line, "| `%63[a-z_]` | %d |", code, &status) != 2)
            continue;
        ck_assert_uint_lt(n_doc_rows, MAX_DOC_ROWS);
        doc_row *r = &doc_rows[n_doc_rows++];
        snprintf(r->code, sizeof r->code, "%s", code);
        r->status = status;
        r->retry_after = strstr(line, "Retry-After") != NULL;
    }
    fclose(f);
}

/* Every rc from HPO_OK down to the last has its own row, in the slot of its value. */
START_TEST(test_every_rc_has_a_row)
{
    size_t n;
    const hpo_rc_info *t = hpo_rc_table(&n);
    ck_assert_uint_eq(n, (size_t)-LAST_RC + 1);
    for (size_t i = 0; i < n; i++) {
        hpo_rc rc = (hpo_rc)-(int)i;
        ck_assert_msg(t[i].name != NULL && t[i].name[0], "rc %d has no name", (int)rc);
        ck_assert_int_eq(t[i].rc, rc);
        ck_assert_ptr_eq(hpo_rc_info_of(rc), &t[i]);
        ck_assert_str_eq(hpo_rc_name(rc), t[i].name);
        ck_assert_int_eq(hpo_rc_http_status(rc), t[i].http_status);
        ck_assert_int_eq(hpo_rc_retriable(rc), t[i].retriable);
        ck_assert_msg(strspn(t[i].name, "abcdefghijklmnopqrstuvwxyz_") == strlen(t[i].name),
                      "%s is not snake_case", t[i].name);
    }
}
END_TEST

/* Names are distinct but for aliases, and an alias shares the name of a row that is not one. */
START_TEST(test_names_distinct)
{
    size_t n;
    const hpo_rc_info *t = hpo_rc_table(&n);
    for (size_t i = 0; i < n; i++) {
        size_t same_canonical = 0;
        for (size_t j = 0; j < n; j++) {
            if (j != i && !t[i].alias && !t[j].alias)
                ck_assert_msg(strcmp(t[i].name, t[j].name) != 0, "%s is the name of %d and %d",
                              t[i].name, (int)t[i].rc, (int)t[j].rc);
            if (!t[j].alias && strcmp(t[i].name, t[j].name) == 0)
                same_canonical++;
        }
        ck_assert_msg(same_canonical == 1, "%s (%d): %zu rows that are not aliases", t[i].name,
                      (int)t[i].rc, same_canonical);
    }
    ck_assert(hpo_rc_info_of(HPO_E_NOMEM)->alias); /* out of memory is "internal" on the wire */
}
END_TEST

/* rc -> name -> rc gives rc back (an alias: the row of its name); name -> rc -> name gives the
 * name back; an alias keeps its status. */
START_TEST(test_round_trips)
{
    size_t n;
    const hpo_rc_info *t = hpo_rc_table(&n);
    for (size_t i = 0; i < n; i++) {
        hpo_rc back = (hpo_rc)1;
        ck_assert_int_eq(hpo_rc_parse(t[i].name, &back), HPO_OK);
        if (!t[i].alias)
            ck_assert_int_eq(back, t[i].rc);
        ck_assert_str_eq(hpo_rc_name(back), t[i].name);
        ck_assert_int_eq(hpo_rc_http_status(back), t[i].http_status);
        ck_assert_int_eq(hpo_rc_retriable(back), t[i].retriable);
    }
    hpo_rc untouched = HPO_E_CONFLICT;
    ck_assert_int_eq(hpo_rc_parse("no_such_code", &untouched), HPO_E_INVALID);
    ck_assert_int_eq(hpo_rc_parse("", &untouched), HPO_E_INVALID);
    ck_assert_int_eq(hpo_rc_parse("Not_Found", &untouched), HPO_E_INVALID);
    ck_assert_int_eq(hpo_rc_parse(NULL, &untouched), HPO_E_INVALID);
    ck_assert_int_eq(untouched, HPO_E_CONFLICT);
}
END_TEST

/* Each status of the table has one rc a bare status reads back as, and it has that status. */
START_TEST(test_status_reads_back)
{
    size_t n;
    const hpo_rc_info *t = hpo_rc_table(&n);
    for (size_t i = 0; i < n; i++) {
        size_t by_status = 0;
        for (size_t j = 0; j < n; j++)
            by_status += t[j].by_status && t[j].http_status == t[i].http_status;
        ck_assert_msg(by_status == 1, "status %d: %zu rows read back from it", t[i].http_status,
                      by_status);
        hpo_rc rc = hpo_rc_of_http_status(t[i].http_status);
        ck_assert_int_eq(hpo_rc_http_status(rc), t[i].http_status);
        ck_assert(!hpo_rc_info_of(rc)->alias);
    }
    ck_assert_int_eq(hpo_rc_of_http_status(409), HPO_E_CONFLICT);
    ck_assert_int_eq(hpo_rc_of_http_status(500), HPO_E_INTERNAL);
    ck_assert_int_eq(hpo_rc_of_http_status(204), HPO_E_NO_WORK);
    ck_assert_int_eq(hpo_rc_of_http_status(405), HPO_E_METHOD);
    ck_assert_int_eq(hpo_rc_of_http_status(502), HPO_E_INTERNAL); /* not ours: internal */
    ck_assert_int_eq(hpo_rc_of_http_status(0), HPO_E_INTERNAL);
}
END_TEST

/* A value outside the enum (a bug) reads as internal, 500, never NULL. */
START_TEST(test_unknown_rc)
{
    hpo_rc bad[] = {(hpo_rc)-999, (hpo_rc)(LAST_RC - 1), (hpo_rc)1, (hpo_rc)42};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_ptr_eq(hpo_rc_info_of(bad[i]), hpo_rc_info_of(HPO_E_INTERNAL));
        ck_assert_str_eq(hpo_rc_name(bad[i]), "internal");
        ck_assert_int_eq(hpo_rc_http_status(bad[i]), 500);
        ck_assert(!hpo_rc_retriable(bad[i]));
    }
}
END_TEST

/* The statuses are proto/errors.md's, both ways: each error row of the document is a table row
 * with its status, and each error of the table (status >= 400) is in the document; the
 * retriable codes are those the document answers with Retry-After; no_work is the 204. */
START_TEST(test_statuses_match_errors_md)
{
    load_errors_md();
    ck_assert_uint_ge(n_doc_rows, 10);
    for (size_t i = 0; i < n_doc_rows; i++) {
        hpo_rc rc;
        ck_assert_msg(hpo_rc_parse(doc_rows[i].code, &rc) == HPO_OK,
                      "errors.md names %s, the table does not", doc_rows[i].code);
        ck_assert_msg(hpo_rc_http_status(rc) == doc_rows[i].status,
                      "%s: errors.md says %d, the table %d", doc_rows[i].code, doc_rows[i].status,
                      hpo_rc_http_status(rc));
        ck_assert_msg(hpo_rc_retriable(rc) == doc_rows[i].retry_after,
                      "%s: retriable in the table is %d, Retry-After in errors.md %d",
                      doc_rows[i].code, hpo_rc_retriable(rc), doc_rows[i].retry_after);
    }
    size_t n;
    const hpo_rc_info *t = hpo_rc_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (t[i].http_status < 400)
            continue;
        bool found = false;
        for (size_t j = 0; j < n_doc_rows && !found; j++)
            found = strcmp(doc_rows[j].code, t[i].name) == 0;
        ck_assert_msg(found, "%s (%d) is not in proto/errors.md", t[i].name, t[i].http_status);
    }
    ck_assert_int_eq(hpo_rc_http_status(HPO_OK), 200);
    ck_assert_int_eq(hpo_rc_http_status(HPO_E_NO_WORK), 204);
    ck_assert(hpo_rc_retriable(HPO_E_NO_WORK));
    ck_assert_msg(doc_has_204, "errors.md no longer documents the 204 of no_work");
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_every_rc_has_a_row);
    tcase_add_test(tc, test_names_distinct);
    tcase_add_test(tc, test_round_trips);
    tcase_add_test(tc, test_status_reads_back);
    tcase_add_test(tc, test_unknown_rc);
    tcase_add_test(tc, test_statuses_match_errors_md);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(errors_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
