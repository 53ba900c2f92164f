/* test_sha256: the SHA-256 of artifacts against the FIPS 180-4 examples, whole and in pieces. */
#include <check.h>
#include <string.h>

#include "hpo_sha256.h"

static void digest(const char *data, size_t n, size_t piece, char hex[65])
{
    hpo_sha256 s;
    hpo_sha256_init(&s);
    for (size_t at = 0; at < n; at += piece)
        hpo_sha256_update(&s, data + at, n - at < piece ? n - at : piece);
    hpo_sha256_final_hex(&s, hex);
}

START_TEST(known_digests)
{
    char hex[65];
    digest("", 0, 1, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    digest("abc", 3, 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    for (size_t piece = 1; piece <= 64; piece += 7) {
        digest(two, strlen(two), piece, hex);
        ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
}
END_TEST

START_TEST(a_million_a)
{
    static char a[1000000];
    memset(a, 'a', sizeof a);
    char hex[65];
    digest(a, sizeof a, 4099, hex);
    ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("sha256");
    tcase_add_test(tc, known_digests);
    tcase_add_test(tc, a_million_a);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
