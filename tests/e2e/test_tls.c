/* test_tls: hpo-server over HTTPS (--tls-cert/--tls-key) with a CA and certificates made here by
 * openssl: the study and trial life cycle over TLS, and clients (libcurl, the hpo command) that
 * refuse a certificate from another CA and one for another host name. */
#include <check.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_server.h"

static char dir[64];
static char path_ca[128], path_other_ca[128], path_cert[128], path_key[128];
static char path_elsewhere_cert[128], path_elsewhere_key[128];

static void sh(const char *fmt, const char *arg)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, arg, arg, arg, arg, arg, arg, arg, arg);
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* A CA, a certificate for localhost and 127.0.0.1 signed by it, and an unrelated second CA. */
static void make_certificates(void)
{
    snprintf(dir, sizeof dir, "/tmp/hpo-tls-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    sh("cd %s && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
       "-keyout ca.key -out ca.pem -days 2 -subj /CN=hpo-test-ca 2>/dev/null && "
       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
       "-keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null && "
       "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
       "-out server.pem -days 2 -extfile san.ext 2>/dev/null && "
       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
       "-keyout other.key -out other.pem -days 2 -subj /CN=hpo-other-ca 2>/dev/null && "
       "printf 'subjectAltName=DNS:elsewhere.hpo.test\\n' > elsewhere.ext && "
       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
       "-keyout elsewhere.key -out elsewhere.csr -subj /CN=elsewhere.hpo.test 2>/dev/null && "
       "openssl x509 -req -in elsewhere.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
       "-out elsewhere.pem -days 2 -extfile elsewhere.ext 2>/dev/null", dir);
    snprintf(path_ca, sizeof path_ca, "%s/ca.pem", dir);
    snprintf(path_other_ca, sizeof path_other_ca, "%s/other.pem", dir);
    snprintf(path_cert, sizeof path_cert, "%s/server.pem", dir);
    snprintf(path_key, sizeof path_key, "%s/server.key", dir);
    snprintf(path_elsewhere_cert, sizeof path_elsewhere_cert, "%s/elsewhere.pem", dir);
    snprintf(path_elsewhere_key, sizeof path_elsewhere_key, "%s/elsewhere.key", dir);
}

static e2e_server srv;
static const char *tls_args[5];

static void setup(void)
{
    make_certificates();
    memset(&srv, 0, sizeof srv);
    tls_args[0] = "--tls-cert", tls_args[1] = path_cert;
    tls_args[2] = "--tls-key", tls_args[3] = path_key, tls_args[4] = NULL;
    srv.extra_args = tls_args;
    srv.cacert = path_ca;
    e2e_start(&srv);
}

static void teardown(void)
{
    e2e_destroy(&srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(life_cycle_over_https)
{
    ck_assert(strncmp(srv.base, "https://", 8) == 0);
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"t\",\"direction\":\"minimize\",\"search_space\":"
                              "{\"x\":{\"type\":\"float\",\"low\":-1,\"high\":1}}}", NULL), 201);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/t/trials", "{}", &j), 201);
        long n = (long)json_integer_value(json_object_get(j, "number"));
        double x = json_real_value(json_object_get(json_object_get(j, "params"), "x"));
        json_decref(j);
        char path[128], body[128];
        snprintf(path, sizeof path, "/api/v1/studies/t/trials/%ld/reports", n);
        snprintf(body, sizeof body, "{\"step\":0,\"value\":%.17g}", x * x + 1);
        ck_assert_int_eq(e2e_call(&srv, "POST", path, body, NULL), 200);
        snprintf(path, sizeof path, "/api/v1/studies/t/trials/%ld/finish", n);
        snprintf(body, sizeof body, "{\"state\":\"complete\",\"value\":%.17g}", x * x);
        ck_assert_int_eq(e2e_call(&srv, "POST", path, body, NULL), 200);
    }
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/t", NULL, &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "counts"),
                                                        "complete")), 5);
    json_decref(j);
    /* plain HTTP to the TLS port is not served */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", srv.port);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    ck_assert(rc != CURLE_OK || status != 200);
}
END_TEST

/* One GET /healthz with libcurl verifying against cafile; host replaces 127.0.0.1 in the URL. */
static CURLcode get_health(const char *cafile, const char *host)
{
    char url[256], resolve[256];
    snprintf(url, sizeof url, "https://%s:%d/healthz", host, srv.port);
    snprintf(resolve, sizeof resolve, "%s:%d:127.0.0.1", host, srv.port);
    struct curl_slist *r = curl_slist_append(NULL, resolve);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, r);
    curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(r);
    return rc;
}

START_TEST(curl_refuses_other_ca_and_wrong_host)
{
    ck_assert_int_eq(get_health(path_ca, "127.0.0.1"), CURLE_OK);
    ck_assert_int_eq(get_health(path_ca, "localhost"), CURLE_OK);
    ck_assert_int_eq(get_health(path_other_ca, "127.0.0.1"), CURLE_PEER_FAILED_VERIFICATION);
    ck_assert_int_eq(get_health(path_ca, "wrong.hpo.test"), CURLE_PEER_FAILED_VERIFICATION);
}
END_TEST

/* Runs the hpo command (HPO_CLI_BIN) against the server with a CA file and a host name. */
static int run_cli(const char *cafile, const char *host)
{
    const char *cli = getenv("HPO_CLI_BIN");
    ck_assert_ptr_nonnull(cli);
    char url[128];
    snprintf(url, sizeof url, "https://%s:%d", host, srv.port);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("HPO_TOKEN", srv.token, 1);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(cli, cli, "--server", url, "--cacert", cafile, "--retries", "0", "study", "list",
              (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(hpo_command_verifies_the_server)
{
    ck_assert_int_eq(run_cli(path_ca, "127.0.0.1"), 0);
    ck_assert_int_eq(run_cli(path_ca, "localhost"), 0);
    ck_assert_int_ne(run_cli(path_other_ca, "127.0.0.1"), 0);
    /* the same CA, but a certificate for another host name */
    e2e_stop(&srv, SIGTERM);
    tls_args[1] = path_elsewhere_cert, tls_args[3] = path_elsewhere_key;
    e2e_start(&srv);
    ck_assert_int_eq(get_health(path_ca, "elsewhere.hpo.test"), CURLE_OK);
    ck_assert_int_ne(run_cli(path_ca, "127.0.0.1"), 0);
    ck_assert_int_ne(run_cli(path_ca, "localhost"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, life_cycle_over_https);
    tcase_add_test(tc, curl_refuses_other_ca_and_wrong_host);
    tcase_add_test(tc, hpo_command_verifies_the_server);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
