/* test_client_files: libhpoclient's artifacts (5 MiB streamed up and down, byte for byte, listed
 * with size and sha256) and worker registration, against the real hpo-server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_test.h"

static char dir[64];

static void files_setup(void)
{
    ct_setup();
    snprintf(dir, sizeof dir, "/tmp/hpoc-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void files_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    ct_teardown();
}

static void sha256_of(const char *path, char out[65])
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fscanf(p, "%64s", out), 1);
    ck_assert_int_eq(pclose(p), 0);
}

static bool same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    ck_assert_ptr_nonnull(fa);
    ck_assert_ptr_nonnull(fb);
    bool same = true;
    for (;;) {
        int x = getc(fa), y = getc(fb);
        if (x != y) {
            same = false;
            break;
        }
        if (x == EOF)
            break;
    }
    fclose(fa);
    fclose(fb);
    return same;
}

START_TEST(artifact_put_get_list)
{
    hpo_client *c = ct_client(0);
    hpo_error err;
    ct_create(c, "{\"name\":\"art\",\"sampler\":{\"type\":\"random\"},"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}");
    hpo_client_trial *t = NULL;
    hpo_rc rc = hpo_client_ask(c, "art", NULL, &t, NULL, &err);
    ct_assert_rc(rc, HPO_OK, err);

    char src[128], dst[128], part[160];
    snprintf(src, sizeof src, "%s/model.bin", dir);
    snprintf(dst, sizeof dst, "%s/back.bin", dir);
    snprintf(part, sizeof part, "%s.part", dst);
    FILE *f = fopen(src, "wb");
    ck_assert_ptr_nonnull(f);
    unsigned x = 12345;
    for (size_t i = 0; i < (size_t)5 << 20; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)(x >> 16) & 0xff, f);
    }
    ck_assert_int_eq(fclose(f), 0);
    char sum[65];
    sha256_of(src, sum);

    /* names are [A-Za-z0-9._-]: nothing to escape, but the path is built the same way */
    const char *name = "model-v1.bin";
    rc = hpo_client_artifact_put(c, "art", t->number, name, src, &err);
    ct_assert_rc(rc, HPO_OK, err);
    rc = hpo_client_artifact_put(c, "art", t->number, name, src, &err); /* replaced: 200 */
    ct_assert_rc(rc, HPO_OK, err);
    rc = hpo_client_artifact_get(c, "art", t->number, name, dst, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert(same_bytes(src, dst));
    ck_assert_int_ne(access(part, F_OK), 0);

    json_t *list = NULL;
    rc = hpo_client_artifact_list(c, "art", t->number, &list, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(json_array_size(list), 1);
    json_t *a = json_array_get(list, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "name")), name);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "size")), 5 << 20);
    ck_assert_str_eq(json_string_value(json_object_get(a, "sha256")), sum);
    json_decref(list);

    /* an unknown artifact: not_found, and neither the file nor its .part is left behind */
    char missing[128];
    snprintf(missing, sizeof missing, "%s/missing.bin", dir);
    ck_assert_int_eq(hpo_client_artifact_get(c, "art", t->number, "nope", missing, &err),
                     HPO_E_NOT_FOUND);
    ck_assert(strlen(err.message) > 0);
    ck_assert_int_ne(access(missing, F_OK), 0);
    snprintf(part, sizeof part, "%s.part", missing);
    ck_assert_int_ne(access(part, F_OK), 0);
    /* a file that does not exist cannot be put */
    ck_assert_int_eq(hpo_client_artifact_put(c, "art", t->number, "x", missing, &err),
                     HPO_E_NOT_FOUND);
    ck_assert_str_eq(err.field, "path");
    /* an unknown trial */
    ck_assert_int_eq(hpo_client_artifact_put(c, "art", 999, "x", src, &err), HPO_E_NOT_FOUND);
    hpo_client_trial_free(t);
    hpo_client_free(c);
}
END_TEST

START_TEST(workers_register_and_list)
{
    hpo_client *c = ct_client(0);
    hpo_error err;
    json_t *gpus = json_pack("[s,s]", "0", "1");
    hpo_rc rc = hpo_client_worker_register(c, "node-1", 2, gpus, &err);
    ct_assert_rc(rc, HPO_OK, err);
    rc = hpo_client_worker_register(c, "node-1", 2, gpus, &err); /* a refresh */
    ct_assert_rc(rc, HPO_OK, err);
    json_decref(gpus);
    json_t *list = NULL;
    rc = hpo_client_workers(c, &list, &err);
    ct_assert_rc(rc, HPO_OK, err);
    ck_assert_int_eq(json_array_size(list), 1);
    json_t *w = json_array_get(list, 0);
    ck_assert_str_eq(json_string_value(json_object_get(w, "id")), "test-worker");
    ck_assert_str_eq(json_string_value(json_object_get(w, "host")), "node-1");
    ck_assert_int_eq(json_integer_value(json_object_get(w, "slots")), 2);
    json_decref(list);

    /* a client without a worker id cannot register */
    hpo_client_options o = {.server = ct_srv.base};
    hpo_client *anon = NULL;
    ck_assert_int_eq(hpo_client_new(&o, &anon, &err), HPO_OK);
    ck_assert_int_eq(hpo_client_worker_register(anon, "h", 1, NULL, &err), HPO_E_INVALID);
    hpo_client_free(anon);
    hpo_client_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_files");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, files_setup, files_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, artifact_put_get_list);
    tcase_add_test(tc, workers_register_and_list);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
