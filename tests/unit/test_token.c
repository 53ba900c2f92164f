/* test_token: the pure token model: scopes nest, study and prefix limits, expiry, the token text,
 * its hash, and the Authorization header parser. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "hpo_sha256.h"
#include "hpo_token.h"

static hpo_token_grant grant(hpo_scope s, const char *study, const char *prefix)
{
    hpo_token_grant g = {.id = 1, .scope = s};
    snprintf(g.study, sizeof g.study, "%s", study ? study : "");
    snprintf(g.study_prefix, sizeof g.study_prefix, "%s", prefix ? prefix : "");
    return g;
}

START_TEST(scopes_nest)
{
    hpo_scope scopes[] = {HPO_SCOPE_READ, HPO_SCOPE_WORKER, HPO_SCOPE_ADMIN};
    for (int have = 0; have < 3; have++) {
        hpo_token_grant g = grant(scopes[have], NULL, NULL);
        for (int need = 0; need < 3; need++) {
            hpo_error err = {0};
            hpo_rc rc = hpo_token_permits(&g, scopes[need], "s", 0, &err);
            ck_assert_int_eq(rc, need <= have ? HPO_OK : HPO_E_PERMISSION);
            if (rc)
                ck_assert_ptr_nonnull(strstr(err.message, hpo_scope_name(scopes[need])));
        }
    }
    /* open routes and authentication off */
    hpo_token_grant g = grant(HPO_SCOPE_READ, "x", NULL);
    ck_assert_int_eq(hpo_token_permits(&g, HPO_SCOPE_NONE, "y", 0, NULL), HPO_OK);
    ck_assert_int_eq(hpo_token_permits(NULL, HPO_SCOPE_ADMIN, "y", 0, NULL), HPO_OK);
    ck_assert_int_eq(hpo_scope_parse("worker"), HPO_SCOPE_WORKER);
    ck_assert_int_eq(hpo_scope_parse("none"), -1);
    ck_assert_int_eq(hpo_scope_parse("Admin"), -1);
    ck_assert_int_eq(hpo_scope_parse(NULL), -1);
}
END_TEST

START_TEST(study_and_prefix_limits)
{
    hpo_token_grant one = grant(HPO_SCOPE_ADMIN, "s1", NULL);
    ck_assert(hpo_token_grant_covers(&one, "s1"));
    ck_assert(!hpo_token_grant_covers(&one, "s10"));
    ck_assert(!hpo_token_grant_covers(&one, "s"));
    ck_assert(!hpo_token_grant_covers(&one, NULL));
    hpo_token_grant pre = grant(HPO_SCOPE_READ, NULL, "team-");
    ck_assert(hpo_token_grant_covers(&pre, "team-"));
    ck_assert(hpo_token_grant_covers(&pre, "team-a"));
    ck_assert(!hpo_token_grant_covers(&pre, "team"));
    ck_assert(!hpo_token_grant_covers(&pre, "xteam-a"));
    hpo_token_grant all = grant(HPO_SCOPE_READ, NULL, NULL);
    ck_assert(hpo_token_grant_covers(&all, "anything"));
    ck_assert(hpo_token_grant_covers(&all, NULL));
    hpo_error err = {0};
    ck_assert_int_eq(hpo_token_permits(&pre, HPO_SCOPE_READ, "other", 0, &err), HPO_E_PERMISSION);
    ck_assert_ptr_nonnull(strstr(err.message, "other"));
    /* a request about no one study (a list) passes the limit; the handler filters */
    ck_assert_int_eq(hpo_token_permits(&pre, HPO_SCOPE_READ, NULL, 0, NULL), HPO_OK);
}
END_TEST

START_TEST(expiry)
{
    hpo_token_grant g = grant(HPO_SCOPE_ADMIN, NULL, NULL);
    g.expires_ms = 1000;
    ck_assert_int_eq(hpo_token_permits(&g, HPO_SCOPE_READ, NULL, 999, NULL), HPO_OK);
    ck_assert_int_eq(hpo_token_permits(&g, HPO_SCOPE_READ, NULL, 1000, NULL),
                     HPO_E_UNAUTHENTICATED);
    g.expires_ms = 0;
    ck_assert_int_eq(hpo_token_permits(&g, HPO_SCOPE_READ, NULL, INT64_MAX, NULL), HPO_OK);
}
END_TEST

START_TEST(token_text_and_hash)
{
    uint8_t a[HPO_TOKEN_RANDOM_BYTES], b[HPO_TOKEN_RANDOM_BYTES];
    memset(a, 0, sizeof a);
    memset(b, 0xff, sizeof b);
    char ta[HPO_TOKEN_TEXT_LEN + 1], tb[HPO_TOKEN_TEXT_LEN + 1];
    hpo_token_format(a, ta);
    hpo_token_format(b, tb);
    ck_assert_str_eq(ta, "hpo_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    /* 256 one bits: 42 full groups of six, then four bits padded with zeros ('8' = 111100) */
    ck_assert_str_eq(tb, "hpo___________________________________________8");
    ck_assert(hpo_token_well_formed(ta, strlen(ta)));
    ck_assert(hpo_token_well_formed(tb, strlen(tb)));
    /* every single bit of the random bytes shows in the text */
    for (size_t bit = 0; bit < 8 * sizeof a; bit++) {
        uint8_t r[HPO_TOKEN_RANDOM_BYTES] = {0};
        r[bit / 8] = (uint8_t)(0x80 >> (bit % 8));
        char t[HPO_TOKEN_TEXT_LEN + 1];
        hpo_token_format(r, t);
        ck_assert_str_ne(t, ta);
    }
    ck_assert(!hpo_token_well_formed("hpo_short", 9));
    char bad[HPO_TOKEN_TEXT_LEN + 1];
    memcpy(bad, ta, sizeof bad);
    bad[10] = '+';
    ck_assert(!hpo_token_well_formed(bad, strlen(bad)));
    memcpy(bad, ta, sizeof bad);
    bad[0] = 'H';
    ck_assert(!hpo_token_well_formed(bad, strlen(bad)));
    memcpy(bad, ta, sizeof bad);
    bad[20] = '\0';
    ck_assert(!hpo_token_well_formed(bad, HPO_TOKEN_TEXT_LEN));
    char ha[HPO_TOKEN_HASH_HEX], hb[HPO_TOKEN_HASH_HEX], hx[HPO_TOKEN_HASH_HEX];
    hpo_token_hash(ta, strlen(ta), ha);
    hpo_token_hash(tb, strlen(tb), hb);
    hpo_sha256 s;
    hpo_sha256_init(&s);
    hpo_sha256_update(&s, ta, strlen(ta));
    hpo_sha256_final_hex(&s, hx);
    ck_assert_str_eq(ha, hx);
    ck_assert(hpo_token_hash_equal(ha, hx));
    ck_assert(!hpo_token_hash_equal(ha, hb));
    hx[63] = hx[63] == '0' ? '1' : '0';
    ck_assert(!hpo_token_hash_equal(ha, hx));
}
END_TEST

START_TEST(bearer_header)
{
    const char *t;
    size_t n;
    ck_assert(hpo_token_from_header("Bearer abc", &t, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert(strncmp(t, "abc", 3) == 0);
    ck_assert(hpo_token_from_header("  bearer \t xyz  ", &t, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert(strncmp(t, "xyz", 3) == 0);
    ck_assert(!hpo_token_from_header(NULL, &t, &n));
    ck_assert(!hpo_token_from_header("", &t, &n));
    ck_assert(!hpo_token_from_header("Bearer", &t, &n));
    ck_assert(!hpo_token_from_header("Bearer ", &t, &n));
    ck_assert(!hpo_token_from_header("Basic abc", &t, &n));
    ck_assert(!hpo_token_from_header("Bearerabc", &t, &n));
    ck_assert(!hpo_token_from_header("Bearer a b", &t, &n));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("token");
    tcase_add_test(tc, scopes_nest);
    tcase_add_test(tc, study_and_prefix_limits);
    tcase_add_test(tc, expiry);
    tcase_add_test(tc, token_text_and_hash);
    tcase_add_test(tc, bearer_header);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
