/* e2e_server: spawns hpo-server on a loopback port chosen by the kernel, and a libcurl client. */
#include "e2e_server.h"

#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hpo_testdb.h"

/* Runs argv (argv[0] a path) and reads the first line of its standard output into ret. */
static void run_first_line(char *const argv[], char *ret, size_t cap)
{
    int out[2];
    ck_assert_int_eq(pipe(out), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    ret[0] = '\0';
    if (!fgets(ret, (int)cap, f))
        ret[0] = '\0';
    fclose(f);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s %s failed", argv[0],
                  argv[1]);
    ret[strcspn(ret, "\r\n")] = '\0';
}

void e2e_make_token(const e2e_server *s, char ret[64], const char *scope, ...)
{
    const char *bin = getenv("HPO_SERVER_BIN");
    ck_assert_msg(bin != NULL, "HPO_SERVER_BIN is not set");
    char *argv[24] = {(char *)bin, "token", "create", "--db", s->db, "--scope", (char *)scope};
    size_t n = 7;
    va_list ap;
    va_start(ap, scope);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 23;)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    run_first_line(argv, ret, 64);
    ck_assert_msg(strncmp(ret, "hpo_", 4) == 0, "not a token: %s", ret);
}

void e2e_start(e2e_server *s)
{
    const char *bin = getenv("HPO_SERVER_BIN");
    ck_assert_msg(bin != NULL, "HPO_SERVER_BIN is not set");
    if (!s->db)
        s->db = hpo_testdb_create();
    if (!s->token[0])
        e2e_make_token(s, s->token, "admin", "--name", "e2e", NULL);
    if (!s->artifact_dir[0]) {
        snprintf(s->artifact_dir, sizeof s->artifact_dir, "/tmp/hpo-e2e-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(s->artifact_dir));
    }
    int out[2];
    ck_assert_int_eq(pipe(out), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        if (s->stderr_path) {
            int fd = open(s->stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0)
                dup2(fd, STDERR_FILENO);
        }
        char listen[32];
        snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
        const char *argv[64] = {bin, "--db", s->db, "--listen", listen, "--threads", "8",
                                "--log-level", "warn", "--artifact-dir", s->artifact_dir,
                                "--artifact-max-bytes",
                                s->artifact_max_bytes ? s->artifact_max_bytes : "1073741824"};
        size_t n = 13;
        for (size_t i = 0; s->extra_args && s->extra_args[i] && n < 63; i++)
            argv[n++] = s->extra_args[i];
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    ck_assert_msg(fgets(line, sizeof line, f) != NULL, "hpo-server exited before listening");
    fclose(f);
    int port = 0;
    ck_assert_msg(sscanf(line, "listening on 127.0.0.1:%d", &port) == 1, "unexpected: %s", line);
    s->pid = pid;
    s->port = port;
    snprintf(s->base, sizeof s->base, "%s://127.0.0.1:%d", s->cacert ? "https" : "http", port);
}

void e2e_stop(e2e_server *s, int sig)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, sig);
    int status;
    waitpid(s->pid, &status, 0);
    if (sig == SIGTERM)
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "hpo-server did not stop cleanly on SIGTERM");
    s->pid = 0;
}

void e2e_destroy(e2e_server *s)
{
    e2e_stop(s, SIGTERM);
    if (s->db)
        hpo_testdb_drop(s->db);
    free(s->db);
    s->db = NULL;
    if (s->artifact_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->artifact_dir);
        ck_assert_int_eq(system(cmd), 0);
        s->artifact_dir[0] = '\0';
    }
}

typedef struct {
    char *data;
    size_t len;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink *k = ud;
    char *d = realloc(k->data, k->len + size * n + 1);
    if (!d)
        return 0;
    memcpy(d + k->len, p, size * n);
    k->len += size * n;
    d[k->len] = '\0';
    k->data = d;
    return size * n;
}

long e2e_call(const e2e_server *s, const char *method, const char *path, const char *body,
              json_t **ret_json)
{
    return e2e_call_as(s, s->token, method, path, body, ret_json);
}

long e2e_call_as(const e2e_server *s, const char *token, const char *method, const char *path,
                 const char *body, json_t **ret_json)
{
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    char url[2048];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    sink k = {NULL, 0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (token && token[0]) {
        char auth[128];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (s->cacert)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->cacert);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (ret_json) {
        *ret_json = NULL;
        if (k.len) {
            json_error_t jerr;
            *ret_json = json_loads(k.data, 0, &jerr);
            ck_assert_msg(*ret_json != NULL, "answer is not JSON: %s", k.data);
        }
    }
    free(k.data);
    return status;
}

long e2e_callj(const e2e_server *s, const char *method, json_t *body, json_t **ret_json,
               const char *path_fmt, ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, path_fmt);
    vsnprintf(path, sizeof path, path_fmt, ap);
    va_end(ap);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    long st = e2e_call(s, method, path, text, ret_json);
    free(text);
    return st;
}

void e2e_expect_error(json_t *j, const char *code)
{
    ck_assert_ptr_nonnull(j);
    const char *got = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    ck_assert_msg(got && strcmp(got, code) == 0, "expected error %s, got %s", code,
                  got ? got : "(none)");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(json_object_get(j, "error"), "message")));
}
