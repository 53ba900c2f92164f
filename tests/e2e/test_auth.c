/* test_auth: tokens against the real hpo-server: 401 without or with a bad token, 403 for a scope
 * too low or a study out of reach, the tokens API, revocation and expiry (across two servers on
 * one database), start-up refusals, and the JSON log lines that never hold a token. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_server.h"
#include "hpo_testdb.h"

static e2e_server srv;
static char log_path[64];

static void setup(void)
{
    memset(&srv, 0, sizeof srv);
    snprintf(log_path, sizeof log_path, "/tmp/hpo-auth-log-XXXXXX");
    int fd = mkstemp(log_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    srv.stderr_path = log_path;
    static const char *const json_log[] = {"--log-format", "json", NULL};
    srv.extra_args = json_log;
    e2e_start(&srv);
}

static void teardown(void)
{
    e2e_destroy(&srv);
    unlink(log_path);
}

static long call_as(const char *token, const char *method, const char *path, const char *body,
                    const char *expect_code)
{
    json_t *j = NULL;
    long st = e2e_call_as(&srv, token, method, path, body, &j);
    if (expect_code)
        e2e_expect_error(j, expect_code);
    json_decref(j);
    return st;
}

static void create_study(const char *name)
{
    char body[256];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"direction\":\"minimize\","
             "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}", name);
    ck_assert_int_eq(call_as(srv.token, "POST", "/api/v1/studies", body, NULL), 201);
}

/* Creates a token over the API; ret gets its text, the id is returned. */
static long api_token(const char *body, char ret[64])
{
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/tokens", body, &j), 201);
    const char *t = json_string_value(json_object_get(j, "token"));
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(strlen(t), 47);
    snprintf(ret, 64, "%s", t);
    long id = (long)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

START_TEST(every_route_but_health_needs_a_token)
{
    create_study("s1");
    ck_assert_int_eq(call_as(NULL, "GET", "/healthz", NULL, NULL), 200);
    static const char *const calls[][2] = {
        {"GET", "/api/v1/studies"},           {"POST", "/api/v1/studies"},
        {"GET", "/api/v1/studies/s1"},        {"DELETE", "/api/v1/studies/s1"},
        {"POST", "/api/v1/studies/s1/trials"}, {"GET", "/api/v1/studies/s1/trials"},
        {"GET", "/api/v1/studies/s1/trials/0"}, {"POST", "/api/v1/studies/s1/queue"},
        {"POST", "/api/v1/studies/s1/trials/0/suggest"},
        {"POST", "/api/v1/studies/s1/trials/0/reports"},
        {"POST", "/api/v1/studies/s1/trials/0/heartbeat"},
        {"POST", "/api/v1/studies/s1/trials/0/finish"}, {"GET", "/api/v1/studies/s1/best"},
        {"GET", "/api/v1/studies/s1/trials/0/artifacts"},
        {"PUT", "/api/v1/studies/s1/trials/0/artifacts/m.bin"},
        {"GET", "/api/v1/studies/s1/trials/0/artifacts/m.bin"}, {"POST", "/api/v1/workers"},
        {"GET", "/api/v1/workers"},           {"POST", "/api/v1/tokens"},
        {"GET", "/api/v1/tokens"},            {"DELETE", "/api/v1/tokens/1"},
    };
    /* no token, a malformed one, an unknown well-formed one, the admin token sent as Basic */
    const char *bad[] = {NULL, "nonsense", "hpo_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        for (size_t b = 0; b < 3; b++)
            ck_assert_msg(call_as(bad[b], calls[i][0], calls[i][1], "{}", "unauthenticated") == 401,
                          "%s %s with token %zu", calls[i][0], calls[i][1], b);
    /* nothing changed: s1 is still there with no trial */
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/s1", NULL, &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n_trials")), 0);
    json_decref(j);
}
END_TEST

START_TEST(scopes_nest)
{
    create_study("s1");
    char rd[64], wk[64], ad[64];
    e2e_make_token(&srv, rd, "read", NULL);
    e2e_make_token(&srv, wk, "worker", NULL);
    e2e_make_token(&srv, ad, "admin", NULL);
    /* read: GETs only */
    ck_assert_int_eq(call_as(rd, "GET", "/api/v1/studies/s1", NULL, NULL), 200);
    ck_assert_int_eq(call_as(rd, "GET", "/api/v1/workers", NULL, NULL), 200);
    ck_assert_int_eq(call_as(rd, "POST", "/api/v1/studies/s1/trials", "{}", "permission_denied"),
                     403);
    ck_assert_int_eq(call_as(rd, "POST", "/api/v1/workers", "{\"id\":\"w\"}", "permission_denied"),
                     403);
    /* worker: the trial life cycle, not studies or tokens */
    ck_assert_int_eq(call_as(wk, "POST", "/api/v1/studies/s1/trials", "{}", NULL), 201);
    ck_assert_int_eq(call_as(wk, "POST", "/api/v1/studies/s1/trials/0/finish",
                             "{\"state\":\"complete\",\"value\":0.5}", NULL), 200);
    ck_assert_int_eq(call_as(wk, "GET", "/api/v1/studies/s1/best", NULL, NULL), 200);
    ck_assert_int_eq(call_as(wk, "POST", "/api/v1/studies",
                             "{\"name\":\"s2\",\"direction\":\"minimize\"}", "permission_denied"),
                     403);
    ck_assert_int_eq(call_as(wk, "DELETE", "/api/v1/studies/s1", NULL, "permission_denied"), 403);
    ck_assert_int_eq(call_as(wk, "GET", "/api/v1/tokens", NULL, "permission_denied"), 403);
    /* admin: everything */
    ck_assert_int_eq(call_as(ad, "POST", "/api/v1/studies",
                             "{\"name\":\"s2\",\"direction\":\"minimize\"}", NULL), 201);
    ck_assert_int_eq(call_as(ad, "DELETE", "/api/v1/studies/s2", NULL, NULL), 204);
    ck_assert_int_eq(call_as(ad, "GET", "/api/v1/tokens", NULL, NULL), 200);
}
END_TEST

START_TEST(tokens_limited_to_a_study_or_prefix)
{
    create_study("s1");
    create_study("team-a");
    create_study("team-b");
    char one[64], pre[64], padmin[64];
    e2e_make_token(&srv, one, "worker", "--study", "s1", NULL);
    e2e_make_token(&srv, pre, "read", "--study-prefix", "team-", NULL);
    e2e_make_token(&srv, padmin, "admin", "--study-prefix", "team-", NULL);
    ck_assert_int_eq(call_as(one, "POST", "/api/v1/studies/s1/trials", "{}", NULL), 201);
    ck_assert_int_eq(call_as(one, "POST", "/api/v1/studies/team-a/trials", "{}",
                             "permission_denied"), 403);
    ck_assert_int_eq(call_as(one, "GET", "/api/v1/studies/team-a/trials/0", NULL,
                             "permission_denied"), 403);
    ck_assert_int_eq(call_as(pre, "GET", "/api/v1/studies/team-b", NULL, NULL), 200);
    ck_assert_int_eq(call_as(pre, "GET", "/api/v1/studies/s1", NULL, "permission_denied"), 403);
    /* a list shows only the studies in reach */
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call_as(&srv, pre, "GET", "/api/v1/studies", NULL, &j), 200);
    json_t *list = json_object_get(j, "studies");
    ck_assert_uint_eq(json_array_size(list), 2);
    for (size_t i = 0; i < 2; i++)
        ck_assert(strncmp(json_string_value(json_object_get(json_array_get(list, i), "name")),
                          "team-", 5) == 0);
    json_decref(j);
    /* an admin limited to a prefix creates studies only there, and manages no tokens */
    ck_assert_int_eq(call_as(padmin, "POST", "/api/v1/studies",
                             "{\"name\":\"team-c\",\"direction\":\"minimize\"}", NULL), 201);
    ck_assert_int_eq(call_as(padmin, "POST", "/api/v1/studies",
                             "{\"name\":\"other\",\"direction\":\"minimize\"}",
                             "permission_denied"), 403);
    ck_assert_int_eq(call_as(padmin, "POST", "/api/v1/tokens", "{\"scope\":\"admin\"}",
                             "permission_denied"), 403);
    ck_assert_int_eq(call_as(padmin, "GET", "/api/v1/tokens", NULL, "permission_denied"), 403);
    ck_assert_int_eq(call_as(srv.token, "GET", "/api/v1/studies/other", NULL, "not_found"), 404);
}
END_TEST

START_TEST(tokens_api_create_list_revoke)
{
    create_study("s1");
    char t[64];
    long id = api_token("{\"scope\":\"worker\",\"study\":\"s1\",\"name\":\"gpu node 1\"}", t);
    ck_assert_int_eq(call_as(t, "POST", "/api/v1/studies/s1/trials", "{}", NULL), 201);
    /* listed without its text, with a last use */
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/tokens", NULL, &j), 200);
    char *text = json_dumps(j, 0);
    ck_assert_ptr_null(strstr(text, t));
    ck_assert_ptr_null(strstr(text, "\"token\""));
    free(text);
    json_t *found = NULL, *v;
    size_t i;
    json_array_foreach(json_object_get(j, "tokens"), i, v)
        if (json_integer_value(json_object_get(v, "id")) == id)
            found = v;
    ck_assert_ptr_nonnull(found);
    ck_assert_str_eq(json_string_value(json_object_get(found, "scope")), "worker");
    ck_assert_str_eq(json_string_value(json_object_get(found, "study")), "s1");
    ck_assert_str_eq(json_string_value(json_object_get(found, "name")), "gpu node 1");
    ck_assert(json_is_string(json_object_get(found, "datetime_last_used")));
    ck_assert(json_is_false(json_object_get(found, "revoked")));
    json_decref(j);
    /* bad specs are refused and make nothing */
    const char *bad[] = {"{\"scope\":\"root\"}", "{}", "{\"scope\":\"read\",\"study\":\"a\","
                         "\"study_prefix\":\"b\"}", "{\"scope\":\"read\",\"expires_in\":0}",
                         "{\"scope\":\"read\",\"study\":\"../x\"}", "{\"scope\":\"read\",\"x\":1}",
                         "{\"scope\":\"read\",\"name\":\"a\\nb\"}"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        ck_assert_msg(call_as(srv.token, "POST", "/api/v1/tokens", bad[b], "invalid_argument") ==
                          400, "%s", bad[b]);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/tokens", NULL, &j), 200);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "tokens")), 2); /* e2e's and t */
    json_decref(j);
    /* revoked: refused at once */
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tokens/%ld", id);
    ck_assert_int_eq(call_as(srv.token, "DELETE", path, NULL, NULL), 204);
    ck_assert_int_eq(call_as(t, "GET", "/api/v1/studies/s1", NULL, "unauthenticated"), 401);
    ck_assert_int_eq(call_as(srv.token, "DELETE", "/api/v1/tokens/9999", NULL, "not_found"), 404);
}
END_TEST

START_TEST(tokens_expire)
{
    char t[64];
    api_token("{\"scope\":\"read\",\"expires_in\":1}", t);
    ck_assert_int_eq(call_as(t, "GET", "/api/v1/studies", NULL, NULL), 200);
    usleep(1300 * 1000);
    ck_assert_int_eq(call_as(t, "GET", "/api/v1/studies", NULL, "unauthenticated"), 401);
}
END_TEST

/* A second server on the same database learns of tokens made and revoked through the first. */
START_TEST(two_servers_share_tokens)
{
    e2e_server b = {0};
    b.db = strdup(srv.db);
    snprintf(b.token, sizeof b.token, "%s", srv.token);
    e2e_start(&b);
    char t[64];
    long id = api_token("{\"scope\":\"read\"}", t);
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call_as(&b, t, "GET", "/api/v1/studies", NULL, &j), 200);
    json_decref(j);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tokens/%ld", id);
    ck_assert_int_eq(call_as(srv.token, "DELETE", path, NULL, NULL), 204);
    long st = 200;
    for (int i = 0; i < 50 && st == 200; i++) { /* the refresh runs every 2 s */
        usleep(100 * 1000);
        st = e2e_call_as(&b, t, "GET", "/api/v1/studies", NULL, NULL);
    }
    ck_assert_int_eq(st, 401);
    e2e_stop(&b, SIGTERM);
    free(b.db);
    if (b.artifact_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.artifact_dir);
        ck_assert_int_eq(system(cmd), 0);
    }
}
END_TEST

/* Runs hpo-server with args and returns its exit status and the start of its stderr. */
static int run_server(const char *const *args, char *err_out, size_t cap)
{
    const char *bin = getenv("HPO_SERVER_BIN");
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        const char *argv[16] = {bin};
        for (size_t i = 0; args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    FILE *f = fdopen(pipefd[0], "r");
    size_t n = fread(err_out, 1, cap - 1, f);
    err_out[n] = '\0';
    fclose(f);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(start_up_refusals)
{
    char *db = hpo_testdb_create();
    char out[4096];
    /* a database without a usable token: no start */
    const char *none[] = {"--db", db, "--listen", "127.0.0.1:0", NULL};
    ck_assert_int_eq(run_server(none, out, sizeof out), 1);
    ck_assert_ptr_nonnull(strstr(out, "no usable token"));
    /* --no-auth only on loopback */
    const char *open_all[] = {"--db", db, "--listen", "0.0.0.0:0", "--no-auth", NULL};
    ck_assert_int_eq(run_server(open_all, out, sizeof out), 2);
    ck_assert_ptr_nonnull(strstr(out, "loopback"));
    const char *open_v6[] = {"--db", db, "--listen", "[::]:0", "--no-auth", NULL};
    ck_assert_int_eq(run_server(open_v6, out, sizeof out), 2);
    hpo_testdb_drop(db);
    free(db);
}
END_TEST

START_TEST(no_auth_on_loopback_serves_without_tokens)
{
    e2e_server o = {0};
    o.db = hpo_testdb_create();
    snprintf(o.token, sizeof o.token, "-"); /* no token is made: the database has none */
    static const char *const args[] = {"--no-auth", NULL};
    o.extra_args = args;
    e2e_start(&o);
    ck_assert_int_eq(e2e_call_as(&o, NULL, "POST", "/api/v1/studies",
                                 "{\"name\":\"s\",\"direction\":\"minimize\"}", NULL), 201);
    ck_assert_int_eq(e2e_call_as(&o, NULL, "GET", "/api/v1/tokens", NULL, NULL), 200);
    o.token[0] = '\0';
    e2e_destroy(&o);
}
END_TEST

START_TEST(refusals_are_logged_as_json_without_the_token)
{
    create_study("s1");
    char rd[64];
    e2e_make_token(&srv, rd, "read", "--study", "other", NULL);
    const char *guess = "hpo_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    ck_assert_int_eq(call_as(guess, "GET", "/api/v1/studies/s1", NULL, NULL), 401);
    ck_assert_int_eq(call_as(rd, "GET", "/api/v1/studies/s1", NULL, NULL), 403);
    e2e_stop(&srv, SIGTERM);
    FILE *f = fopen(log_path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int n401 = 0, n403 = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_msg(!strstr(line, guess) && !strstr(line, rd) && !strstr(line, srv.token),
                      "a token in the log: %s", line);
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            continue;
        long status = (long)json_integer_value(json_object_get(j, "status"));
        if (status == 401 || status == 403) {
            ck_assert_str_eq(json_string_value(json_object_get(j, "route")),
                             "/api/v1/studies/{study}");
            ck_assert_str_eq(json_string_value(json_object_get(j, "study")), "s1");
            ck_assert_str_eq(json_string_value(json_object_get(j, "client")), "127.0.0.1");
            ck_assert(json_string_length(json_object_get(j, "request_id")) > 0);
            n401 += status == 401;
            n403 += status == 403;
        }
        json_decref(j);
    }
    fclose(f);
    ck_assert_int_eq(n401, 1);
    ck_assert_int_eq(n403, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("auth");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_route_but_health_needs_a_token);
    tcase_add_test(tc, scopes_nest);
    tcase_add_test(tc, tokens_limited_to_a_study_or_prefix);
    tcase_add_test(tc, tokens_api_create_list_revoke);
    tcase_add_test(tc, tokens_expire);
    tcase_add_test(tc, two_servers_share_tokens);
    tcase_add_test(tc, start_up_refusals);
    tcase_add_test(tc, no_auth_on_loopback_serves_without_tokens);
    tcase_add_test(tc, refusals_are_logged_as_json_without_the_token);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
