/* test_cli_e2e: the real `hpo` binary (path in HPO_CLI_BIN) against the real hpo-server: studies,
 * enqueue/ask/report/tell (with constraints), trials and best, export, workers, the exit codes of errors, and tokens
 * (auth is on: hpo gets the harness's admin token in HPO_TOKEN unless a test says else). */
#include <check.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_server.h"

static e2e_server srv;
static pid_t tls_pid;      /* an https hpo-server a test started, stopped by the teardown */
static char tls_dir[64];   /* its certificate and key */

static void setup(void)
{
    memset(&srv, 0, sizeof srv);
    e2e_start(&srv);
}

static void teardown(void)
{
    if (tls_pid > 0) {
        kill(tls_pid, SIGTERM);
        waitpid(tls_pid, NULL, 0);
        tls_pid = 0;
    }
    if (tls_dir[0]) {
        char cmd[96];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tls_dir);
        ck_assert_int_eq(system(cmd), 0);
        tls_dir[0] = '\0';
    }
    e2e_destroy(&srv);
}

typedef struct {
    int code;  /* exit status, or -1 when it did not exit */
    char *out; /* stdout */
    char *err; /* stderr */
} result;

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

static void append(char **buf, size_t *len, const char *p, size_t n)
{
    char *d = realloc(*buf, *len + n + 1);
    ck_assert_ptr_nonnull(d);
    memcpy(d + *len, p, n);
    *len += n;
    d[*len] = '\0';
    *buf = d;
}

/* Runs hpo with argv (NULL-terminated); with_server: "--server BASE" first. Its environment has
 * no HPO_TOKEN, HPO_TOKEN_FILE or HPO_CACERT but the NAME, VALUE pairs of env (NULL-terminated),
 * or HPO_TOKEN = the harness's admin token when env is NULL. */
static result run_argv_env(bool with_server, const char *const *env, const char *const *args)
{
    const char *bin = getenv("HPO_CLI_BIN");
    ck_assert_msg(bin != NULL, "HPO_CLI_BIN is not set");
    const char *argv[64];
    size_t n = 0;
    argv[n++] = bin;
    if (with_server) {
        argv[n++] = "--server";
        argv[n++] = srv.base;
    }
    for (size_t i = 0; args[i]; i++) {
        ck_assert_uint_lt(n, 62);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    int out[2], err[2];
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(err), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        unsetenv("HPO_SERVER");
        unsetenv("HPO_TOKEN");
        unsetenv("HPO_TOKEN_FILE");
        unsetenv("HPO_CACERT");
        if (!env)
            setenv("HPO_TOKEN", srv.token, 1);
        for (size_t i = 0; env && env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    result r = {-1, NULL, NULL};
    size_t lens[2] = {0, 0};
    append(&r.out, &lens[0], "", 0);
    append(&r.err, &lens[1], "", 0);
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        ck_assert_int_ge(poll(fds, 2, 60000), 1);
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char buf[4096];
            ssize_t k = read(fds[i].fd, buf, sizeof buf);
            if (k <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else {
                append(i == 0 ? &r.out : &r.err, &lens[i], buf, (size_t)k);
            }
        }
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    /* under -Db_sanitize the binary reports here even where the exit code is the expected one */
    ck_assert_msg(!strstr(r.err, "Sanitizer") && !strstr(r.err, "runtime error"), "%s", r.err);
    return r;
}

#define HPO(...) run_argv_env(true, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define HPO_BARE(...) run_argv_env(false, NULL, (const char *const[]){__VA_ARGS__, NULL})
/* With the environment env: {NAME, VALUE, ..., NULL} ({NULL}: no token at all). */
#define HPO_ENV(env, ...) run_argv_env(true, (env), (const char *const[]){__VA_ARGS__, NULL})
#define NO_TOKEN ((const char *const[]){NULL})
#define TOKEN_ENV(t) ((const char *const[]){"HPO_TOKEN", (t), NULL})

/* Asserts the exit code, showing both outputs when it differs. */
#define expect_code(r, want)                                                               \
    ck_assert_msg((r).code == (want), "exit %d, expected %d\nstdout:\n%s\nstderr:\n%s",    \
                  (r).code, (want), (r).out, (r).err)
#define expect_has(text, needle)                                                           \
    ck_assert_msg(strstr((text), (needle)) != NULL, "'%s' not in:\n%s", (needle), (text))

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    ck_assert_msg(j != NULL, "not JSON (%s):\n%s", e.text, text);
    return j;
}

static const char *SPACE = "{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1},"
                           "\"opt\":{\"type\":\"categorical\",\"choices\":[\"sgd\",\"adam\",\"a,b\"]}}";

static void create_ok(const char *name, const char *extra_opt, const char *extra_val)
{
    result r = extra_opt ? HPO("study", "create", name, "--sampler", "{\"type\":\"random\",\"seed\":1}",
                               "--search-space", SPACE, extra_opt, extra_val)
                         : HPO("study", "create", name, "--sampler", "{\"type\":\"random\",\"seed\":1}",
                               "--search-space", SPACE);
    expect_code(r, 0);
    result_free(&r);
}

/* Runs a trial through ask and tell: returns its number. */
static long ask_tell(const char *study, const char *value)
{
    result r = HPO("ask", study, "--worker", "w1");
    expect_code(r, 0);
    long n = strtol(r.out, NULL, 10);
    result_free(&r);
    char num[32];
    snprintf(num, sizeof num, "%ld", n);
    r = HPO("tell", study, num, "--value", value);
    expect_code(r, 0);
    result_free(&r);
    return n;
}

START_TEST(studies)
{
    result r = HPO("study", "create", "s1", "--direction", "maximize", "--sampler", "random",
                   "--pruner", "{\"type\":\"median\",\"n_warmup_steps\":1}", "--search-space",
                   SPACE, "--max-trials", "20");
    expect_code(r, 0);
    expect_has(r.out, "Created study 's1'");
    expect_has(r.out, "sampler random, pruner median");
    result_free(&r);

    /* a duplicate is exit 3 with the server's message; --load-if-exists loads it */
    r = HPO("study", "create", "s1");
    expect_code(r, 3);
    ck_assert_str_eq(r.out, "");
    expect_has(r.err, "hpo: already_exists: ");
    expect_has(r.err, "s1");
    result_free(&r);
    r = HPO("study", "create", "s1", "--load-if-exists", "--json");
    expect_code(r, 0);
    json_t *j = parse(r.out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "s1");
    json_decref(j);
    result_free(&r);
    r = HPO("study", "create", "s1", "--load-if-exists");
    expect_code(r, 0);
    expect_has(r.out, "Loaded study 's1'");
    result_free(&r);

    /* the server refuses a bad search space: exit 6, message and field */
    r = HPO("study", "create", "bad", "--search-space",
            "{\"lr\":{\"type\":\"float\",\"low\":1,\"high\":0}}");
    expect_code(r, 6);
    expect_has(r.err, "invalid_argument");
    expect_has(r.err, "(field search_space.lr");
    result_free(&r);
    /* bad JSON never reaches the server: usage error */
    r = HPO("study", "create", "bad", "--search-space", "{nope");
    expect_code(r, 1);
    expect_has(r.err, "--search-space is not valid JSON");
    result_free(&r);
    r = HPO("study", "create", "mo", "--directions", "minimize,maximize");
    expect_code(r, 0);
    expect_has(r.out, "(minimize,maximize;");
    result_free(&r);

    /* list: a table with a header, and JSON */
    r = HPO("study", "list");
    expect_code(r, 0);
    ck_assert_msg(strncmp(r.out, "name  directions         trials  complete", 41) == 0, "%s",
                  r.out);
    expect_has(r.out, "\ns1    maximize           0       0");
    expect_has(r.out, "\nmo    minimize,maximize  0");
    result_free(&r);
    r = HPO("--json", "study", "list");
    expect_code(r, 0);
    j = parse(r.out);
    ck_assert_uint_eq(json_array_size(j), 2);
    json_decref(j);
    result_free(&r);

    /* show */
    r = HPO("study", "show", "s1");
    expect_code(r, 0);
    expect_has(r.out, "name:             s1\n");
    expect_has(r.out, "directions:       maximize\n");
    expect_has(r.out, "max_trials:       20\n");
    expect_has(r.out, "\"type\":\"median\"");
    expect_has(r.out, "search_space:\n");
    expect_has(r.out, "  opt  {\"type\":\"categorical\"");
    expect_has(r.out, "best_trial:       none\n");
    result_free(&r);
    r = HPO("study", "show", "s1", "--json");
    expect_code(r, 0);
    j = parse(r.out);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "max_trials")), 20);
    json_decref(j);
    result_free(&r);

    /* delete needs --yes */
    r = HPO("study", "delete", "s1");
    expect_code(r, 1);
    expect_has(r.err, "--yes");
    result_free(&r);
    r = HPO("study", "delete", "s1", "--yes");
    expect_code(r, 0);
    expect_has(r.out, "Deleted study 's1'");
    result_free(&r);
    r = HPO("study", "show", "s1");
    expect_code(r, 2);
    expect_has(r.err, "hpo: not_found: ");
    result_free(&r);
    r = HPO("study", "delete", "s1", "--yes");
    expect_code(r, 2);
    result_free(&r);
}
END_TEST

START_TEST(enqueue_ask_report_tell)
{
    create_ok("s", NULL, NULL);
    result r = HPO("enqueue", "s", "x=0.25", "opt=a,b");
    expect_code(r, 0);
    ck_assert_str_eq(r.out, "Enqueued trial 0\n");
    result_free(&r);
    r = HPO("--json", "enqueue", "s", "x=0.5", "opt=\"sgd\"");
    expect_code(r, 0);
    json_t *j = parse(r.out);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "waiting");
    json_decref(j);
    result_free(&r);
    r = HPO("enqueue", "s", "x");
    expect_code(r, 1);
    expect_has(r.err, "expected name=value");
    result_free(&r);

    /* ask hands out the enqueued trials first, with their params */
    r = HPO("ask", "s", "--worker", "w1");
    expect_code(r, 0);
    expect_has(r.out, "0\n");
    ck_assert_msg(strncmp(r.out, "0\n", 2) == 0, "%s", r.out);
    expect_has(r.out, "\nx=0.25\n");
    expect_has(r.out, "\nopt=a,b\n");
    result_free(&r);
    r = HPO("ask", "s", "--json");
    expect_code(r, 0);
    j = parse(r.out);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "params"), "opt")),
                     "sgd");
    ck_assert(json_real_value(json_object_get(json_object_get(j, "params"), "x")) == 0.5);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "running");
    json_decref(j);
    result_free(&r);
    /* fixed params */
    r = HPO("ask", "s", "--params", "{\"opt\":\"adam\"}");
    expect_code(r, 0);
    ck_assert_msg(strncmp(r.out, "2\n", 2) == 0, "%s", r.out);
    expect_has(r.out, "\nopt=adam\n");
    result_free(&r);

    /* report prints the action; tell finishes */
    r = HPO("report", "s", "0", "0", "0.7");
    expect_code(r, 0);
    ck_assert_str_eq(r.out, "continue\n");
    result_free(&r);
    r = HPO("--json", "report", "s", "0", "1", "-0.5");
    expect_code(r, 0);
    ck_assert_str_eq(r.out, "{\"action\":\"continue\"}\n");
    result_free(&r);
    r = HPO("tell", "s", "0", "--value", "0.3");
    expect_code(r, 0);
    ck_assert_str_eq(r.out, "Trial 0 of 's' finished: complete\n");
    result_free(&r);
    r = HPO("tell", "s", "0", "--value", "0.3"); /* the same again is harmless */
    expect_code(r, 0);
    result_free(&r);
    r = HPO("tell", "s", "0", "--value", "0.9"); /* a different one is a conflict */
    expect_code(r, 3);
    expect_has(r.err, "trial_finished");
    result_free(&r);
    r = HPO("report", "s", "0", "5", "0.1");
    expect_code(r, 3);
    result_free(&r);
    r = HPO("tell", "s", "1", "--state", "fail", "--reason", "out of memory", "--json");
    expect_code(r, 0);
    j = parse(r.out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "fail");
    ck_assert_str_eq(json_string_value(json_object_get(j, "fail_reason")), "out of memory");
    json_decref(j);
    result_free(&r);
    r = HPO("tell", "s", "2", "--state", "pruned");
    expect_code(r, 0);
    result_free(&r);
    r = HPO("tell", "s", "2");
    expect_code(r, 1);
    result_free(&r);
    r = HPO("tell", "s", "2", "--value", "nan");
    expect_code(r, 1);
    result_free(&r);
    r = HPO("tell", "s", "99", "--value", "1");
    expect_code(r, 2);
    result_free(&r);

    /* trials, by state */
    r = HPO("trials", "s");
    expect_code(r, 0);
    expect_has(r.out, "number  state     value  datetime_start");
    expect_has(r.out, "params_opt  params_x\n");
    expect_has(r.out, "\n0       complete  0.3    ");
    expect_has(r.out, "\n1       fail");
    expect_has(r.out, "\n2       pruned");
    result_free(&r);
    r = HPO("trials", "s", "--state", "complete");
    expect_code(r, 0);
    expect_has(r.out, "\n0       complete");
    ck_assert_ptr_null(strstr(r.out, "fail"));
    result_free(&r);
    r = HPO("trials", "s", "--state", "fail", "--json");
    expect_code(r, 0);
    j = parse(r.out);
    ck_assert_uint_eq(json_array_size(j), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, 0), "number")), 1);
    json_decref(j);
    result_free(&r);
    r = HPO("trials", "s", "--state", "bogus");
    expect_code(r, 6);
    result_free(&r);

    /* best */
    r = HPO("best", "s");
    expect_code(r, 0);
    expect_has(r.out, "\n0       complete  0.3");
    result_free(&r);
    r = HPO("best", "s", "--json");
    expect_code(r, 0);
    j = parse(r.out);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), 0);
    ck_assert(json_real_value(json_object_get(j, "value")) == 0.3);
    json_decref(j);
    result_free(&r);
}
END_TEST

/* tell --constraints: stored with the trial, best among the feasible; trials and export show
 * the constraints and each trial's feasibility. */
START_TEST(tell_constraints)
{
    create_ok("c", NULL, NULL);
    static const char *const tells[][3] = {{"0", "0.5", "-1,0"}, {"1", "0.1", "1,0"}};
    for (int i = 0; i < 3; i++) {
        result r = HPO("ask", "c");
        expect_code(r, 0);
        result_free(&r);
        if (i == 2)
            break;
        r = HPO("tell", "c", tells[i][0], "--value", tells[i][1], "--constraints", tells[i][2]);
        expect_code(r, 0);
        result_free(&r);
    }
    result r = HPO("tell", "c", "2", "--value", "1", "--constraints", "1,x");
    expect_code(r, 1);
    expect_has(r.err, "--constraints must be 1 to 64 finite numbers separated by commas, not '1,x'");
    result_free(&r);
    r = HPO("tell", "c", "2", "--state", "fail", "--constraints", "1,0");
    expect_code(r, 1);
    result_free(&r);
    r = HPO("tell", "c", "2", "--value", "1", "--constraints", "1"); /* the server refuses it */
    expect_code(r, 6);
    expect_has(r.err, "2 constraints per trial but 1 were given");
    result_free(&r);
    r = HPO("tell", "c", "2", "--state", "pruned", "--constraints", "0,0");
    expect_code(r, 0);
    result_free(&r);
    r = HPO("trials", "c");
    expect_code(r, 0);
    expect_has(r.out, "value  constraints  feasibility");
    expect_has(r.out, "[-1.0,0.0]   feasible");
    expect_has(r.out, "[1.0,0.0]    infeasible");
    expect_has(r.out, "[0.0,0.0]    feasible");
    result_free(&r);
    r = HPO("--json", "best", "c"); /* trial 1's better value is infeasible */
    json_t *j = parse(r.out);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), 0);
    json_decref(j);
    result_free(&r);
    r = HPO("export", "c");
    expect_has(r.out, "number,state,value,constraints,feasibility,");
    expect_has(r.out, "\n1,complete,0.1,\"[1.0,0.0]\",infeasible,");
    result_free(&r);
}
END_TEST

START_TEST(best_none_and_study_complete)
{
    create_ok("one", "--max-trials", "1");
    result r = HPO("best", "one");
    expect_code(r, 2);
    expect_has(r.err, "not_found");
    result_free(&r);
    ask_tell("one", "1.5");
    r = HPO("ask", "one");
    expect_code(r, 4);
    expect_has(r.err, "study_complete");
    result_free(&r);

    /* a grid with one point, taken and running: no work now */
    r = HPO("study", "create", "g", "--sampler", "grid", "--search-space",
            "{\"c\":{\"type\":\"categorical\",\"choices\":[1]}}");
    expect_code(r, 0);
    result_free(&r);
    r = HPO("ask", "g");
    expect_code(r, 0);
    ck_assert_str_eq(r.out, "0\nc=1\n");
    result_free(&r);
    r = HPO("ask", "g", "--no-wait");
    expect_code(r, 5);
    expect_has(r.err, "no trial to run now");
    result_free(&r);
}
END_TEST

START_TEST(export_csv_json)
{
    create_ok("ex", NULL, NULL);
    result r = HPO("enqueue", "ex", "x=0.125", "opt=a,b");
    expect_code(r, 0);
    result_free(&r);
    ask_tell("ex", "0.5");
    r = HPO("enqueue", "ex", "x=1", "opt=sgd");
    expect_code(r, 0);
    result_free(&r);
    ask_tell("ex", "2.25");
    r = HPO("ask", "ex"); /* a running trial: no value, no datetime_complete */
    expect_code(r, 0);
    result_free(&r);

    r = HPO("export", "ex", "--format", "csv");
    expect_code(r, 0);
    static const char header[] = "number,state,value,datetime_start,datetime_complete,duration,"
                                 "params_opt,params_x\n";
    ck_assert_msg(strncmp(r.out, header, strlen(header)) == 0, "%s", r.out);
    char *line = strchr(r.out, '\n') + 1;
    ck_assert_msg(strncmp(line, "0,complete,0.5,", 15) == 0, "%s", line);
    char *eol = strchr(line, '\n');
    *eol = '\0';
    ck_assert_msg(strlen(line) > 12 && strcmp(line + strlen(line) - 12, ",\"a,b\",0.125") == 0,
                  "%s", line);
    line = eol + 1;
    ck_assert_msg(strncmp(line, "1,complete,2.25,", 16) == 0, "%s", line);
    expect_has(line, ",sgd,1.0\n"); /* x is a float param */
    expect_has(line, "\n2,running,,");
    result_free(&r);

    char path[] = "/tmp/hpo-cli-export-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    r = HPO("export", "ex", "--format", "json", "--output", path);
    expect_code(r, 0);
    ck_assert_str_eq(r.out, "");
    expect_has(r.err, "Exported 3 trials");
    result_free(&r);
    json_error_t e;
    json_t *rows = json_load_file(path, 0, &e);
    unlink(path);
    ck_assert_msg(rows != NULL, "%s", e.text);
    ck_assert_uint_eq(json_array_size(rows), 3);
    json_t *row = json_array_get(rows, 0);
    const char *keys[] = {"number", "state", "value", "datetime_start", "datetime_complete",
                          "duration", "params_opt", "params_x"};
    ck_assert_uint_eq(json_object_size(row), 8);
    for (size_t i = 0; i < 8; i++)
        ck_assert_msg(json_object_get(row, keys[i]) != NULL, "no %s", keys[i]);
    ck_assert(json_real_value(json_object_get(row, "value")) == 0.5);
    ck_assert(json_real_value(json_object_get(row, "params_x")) == 0.125);
    ck_assert_str_eq(json_string_value(json_object_get(row, "params_opt")), "a,b");
    ck_assert(json_is_real(json_object_get(row, "duration")));
    ck_assert(json_real_value(json_object_get(row, "duration")) >= 0);
    row = json_array_get(rows, 2);
    ck_assert_str_eq(json_string_value(json_object_get(row, "state")), "running");
    ck_assert(json_is_null(json_object_get(row, "value")));
    ck_assert(json_is_null(json_object_get(row, "duration")));
    json_decref(rows);

    r = HPO("export", "ex", "--format", "xml");
    expect_code(r, 1);
    result_free(&r);
    r = HPO("export", "nope");
    expect_code(r, 2);
    result_free(&r);
}
END_TEST

START_TEST(workers)
{
    create_ok("w", NULL, NULL);
    long st = e2e_call(&srv, "POST", "/api/v1/workers",
                       "{\"id\":\"gpu-1\",\"host\":\"node1\",\"slots\":2,\"gpus\":[\"0\",\"1\"]}",
                       NULL);
    ck_assert_int_eq(st, 200);
    result r = HPO("ask", "w", "--worker", "gpu-1");
    expect_code(r, 0);
    result_free(&r);
    r = HPO("workers");
    expect_code(r, 0);
    expect_has(r.out, "id     host   slots  gpus  last_seen");
    expect_has(r.out, "\ngpu-1  node1  2      0,1   ");
    expect_has(r.out, "  w#0\n");
    result_free(&r);
    r = HPO("workers", "--json");
    expect_code(r, 0);
    json_t *j = parse(r.out);
    ck_assert_uint_eq(json_array_size(j), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "id")), "gpu-1");
    json_decref(j);
    result_free(&r);
}
END_TEST

START_TEST(errors_and_help)
{
    result r = HPO("study", "show", "missing");
    expect_code(r, 2);
    expect_has(r.err, "hpo: not_found: ");
    expect_has(r.err, "missing");
    result_free(&r);
    r = HPO("trials", "missing");
    expect_code(r, 2);
    result_free(&r);
    r = HPO("ask", "missing");
    expect_code(r, 2);
    expect_has(r.err, "missing");
    result_free(&r);

    /* nothing listens on port 1: unreachable */
    r = HPO_BARE("--server", "http://127.0.0.1:1", "--retries", "1", "study", "list");
    expect_code(r, 5);
    expect_has(r.err, "hpo: unavailable: ");
    result_free(&r);
    r = HPO_BARE("study", "list", "--retries=0", "--server=http://127.0.0.1:1");
    expect_code(r, 5);
    result_free(&r);

    /* usage errors and help */
    r = HPO_BARE("--server", "ftp://x", "study", "list");
    expect_code(r, 1);
    result_free(&r);
    r = HPO("bogus");
    expect_code(r, 1);
    expect_has(r.err, "unknown command 'bogus'");
    result_free(&r);
    r = HPO("study", "create");
    expect_code(r, 1);
    expect_has(r.err, "usage: hpo study create NAME");
    result_free(&r);
    r = HPO("study", "create", "x", "--nope");
    expect_code(r, 1);
    expect_has(r.err, "unknown option --nope");
    result_free(&r);
    r = HPO("report", "s", "zero", "0", "1");
    expect_code(r, 1);
    result_free(&r);
    r = HPO_BARE("");
    expect_code(r, 1);
    result_free(&r);
    r = HPO_BARE("--help");
    expect_code(r, 0);
    expect_has(r.out, "usage: hpo");
    expect_has(r.out, "Exit codes:");
    expect_has(r.out, "  5  server unreachable");
    expect_has(r.out, "  study create");
    expect_has(r.out, "  workers");
    result_free(&r);
    r = HPO_BARE("help", "study", "create");
    expect_code(r, 0);
    expect_has(r.out, "usage: hpo study create NAME");
    expect_has(r.out, "--load-if-exists");
    result_free(&r);
    r = HPO_BARE("tell", "--help");
    expect_code(r, 0);
    expect_has(r.out, "usage: hpo tell STUDY NUMBER");
    result_free(&r);
    r = HPO_BARE("study");
    expect_code(r, 1);
    expect_has(r.err, "hpo study list");
    result_free(&r);
    r = HPO_BARE("help", "study");
    expect_code(r, 0);
    expect_has(r.out, "hpo study delete NAME --yes");
    result_free(&r);
    r = HPO_BARE("--version");
    expect_code(r, 0);
    expect_has(r.out, "hpo ");
    result_free(&r);
}
END_TEST

/* ---- tokens ---- */

/* The first line of text (a created token), malloc'd. */
static char *first_line(const char *text)
{
    return strndup(text, strcspn(text, "\n"));
}

static bool is_token(const char *t)
{
    return strncmp(t, "hpo_", 4) == 0 && strlen(t) == 47 &&
           strspn(t + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43;
}

START_TEST(tokens_create_list_revoke)
{
    create_ok("exp-1", NULL, NULL);
    result r = HPO("token", "create", "--scope", "worker", "--study-prefix", "exp-", "--name",
                   "ci runner", "--expires-in", "3600");
    expect_code(r, 0);
    char *tok = first_line(r.out);
    ck_assert_msg(is_token(tok), "first line is not a token: %s", r.out);
    expect_has(r.out, "\nscope    worker\n");
    expect_has(r.out, "\nstudy    exp-*\n");
    expect_has(r.out, "\nname     ci runner\n");
    ck_assert_msg(!strstr(r.out, "expires  never"), "%s", r.out);
    expect_has(r.err, "only this once");
    result_free(&r);

    /* the new token: reads and asks within its prefix, cannot make studies */
    r = HPO_ENV(TOKEN_ENV(tok), "study", "show", "exp-1");
    expect_code(r, 0);
    result_free(&r);
    r = HPO_ENV(TOKEN_ENV(tok), "ask", "exp-1", "--no-wait");
    expect_code(r, 0);
    result_free(&r);
    r = HPO_ENV(TOKEN_ENV(tok), "study", "create", "exp-2");
    expect_code(r, 8);
    expect_has(r.err, "hpo: permission_denied: ");
    result_free(&r);

    /* the list: facts, never a token's text */
    r = HPO("token", "list");
    expect_code(r, 0);
    expect_has(r.out, "id  scope   study  name       created");
    expect_has(r.out, "worker  exp-*  ci runner");
    ck_assert_msg(!strstr(r.out, tok), "the list shows the token:\n%s", r.out);
    ck_assert_msg(!strstr(r.out, srv.token), "the list shows the admin token:\n%s", r.out);
    result_free(&r);
    r = HPO("token", "list", "--json");
    expect_code(r, 0);
    json_t *list = parse(r.out);
    long long id = -1;
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
        if (json_is_string(json_object_get(t, "name")) &&
            strcmp(json_string_value(json_object_get(t, "name")), "ci runner") == 0)
            id = json_integer_value(json_object_get(t, "id"));
    ck_assert_int_ge(id, 0);
    json_decref(list);
    result_free(&r);

    /* revoked: refused from then on */
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    r = HPO("token", "revoke", ids);
    expect_code(r, 0);
    expect_has(r.out, "revoked");
    result_free(&r);
    r = HPO_ENV(TOKEN_ENV(tok), "study", "show", "exp-1");
    expect_code(r, 8);
    expect_has(r.err, "hpo: unauthenticated: ");
    ck_assert_msg(!strstr(r.err, tok), "the token is in the message: %s", r.err);
    result_free(&r);
    r = HPO("token", "list", "--json");
    expect_code(r, 0);
    list = parse(r.out);
    json_array_foreach(list, i, t)
        if (json_integer_value(json_object_get(t, "id")) == id)
            ck_assert(json_is_true(json_object_get(t, "revoked")));
    json_decref(list);
    result_free(&r);
    r = HPO("token", "revoke", "999999");
    expect_code(r, 2);
    result_free(&r);

    /* --json gives the whole answer, the text included */
    r = HPO("token", "create", "--scope", "read", "--json");
    expect_code(r, 0);
    json_t *j = parse(r.out);
    ck_assert(is_token(json_string_value(json_object_get(j, "token"))));
    ck_assert_str_eq(json_string_value(json_object_get(j, "scope")), "read");
    ck_assert(json_is_null(json_object_get(j, "datetime_expires")));
    json_decref(j);
    result_free(&r);

    /* only an admin makes tokens; bad lines never reach the server */
    r = HPO_ENV(TOKEN_ENV(tok), "token", "list");
    expect_code(r, 8);
    result_free(&r);
    static const char *const bad[][8] = {
        {"token", "create"},
        {"token", "create", "--scope", "root"},
        {"token", "create", "--scope", "read", "--study", "a", "--study-prefix", "b"},
        {"token", "create", "--scope", "read", "--expires-in", "0"},
        {"token", "revoke", "x"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        const char *args[9] = {0};
        memcpy(args, bad[k], sizeof bad[k]);
        r = run_argv_env(true, NULL, args);
        expect_code(r, 1);
        result_free(&r);
    }
    free(tok);
}
END_TEST

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/hpo-cli-token-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(token_sources)
{
    create_ok("s", NULL, NULL);
    char read[64], line[128];
    e2e_make_token(&srv, read, "read", NULL);
    snprintf(line, sizeof line, "\t%s  \r\n", read);
    char *file = write_temp(line);

    /* no token: unauthenticated, and the message says why */
    result r = HPO_ENV(NO_TOKEN, "study", "list");
    expect_code(r, 8);
    expect_has(r.err, "hpo: unauthenticated: ");
    expect_has(r.err, "no token was given");
    result_free(&r);
    /* a token nobody made */
    static const char *bogus = "hpo_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    r = HPO_ENV(TOKEN_ENV(bogus), "study", "list");
    expect_code(r, 8);
    ck_assert_msg(!strstr(r.err, bogus), "the token is in the message: %s", r.err);
    result_free(&r);

    /* every source of the token works; a flag beats the environment */
    r = HPO_ENV(NO_TOKEN, "--token", read, "study", "list");
    expect_code(r, 0);
    expect_has(r.out, "s");
    result_free(&r);
    r = HPO_ENV(NO_TOKEN, "study", "list", "--token-file", file);
    expect_code(r, 0);
    result_free(&r);
    r = HPO_ENV(((const char *const[]){"HPO_TOKEN_FILE", file, NULL}), "study", "list");
    expect_code(r, 0);
    result_free(&r);
    r = HPO_ENV(TOKEN_ENV(bogus), "--token-file", file, "study", "list");
    expect_code(r, 0);
    result_free(&r);
    r = HPO_ENV(((const char *const[]){"HPO_TOKEN_FILE", "/nonexistent", NULL}), "--token",
                read, "study", "list");
    expect_code(r, 0);
    result_free(&r);

    /* a read token cannot ask, and no trial is made */
    r = HPO_ENV(NO_TOKEN, "--token-file", file, "ask", "s", "--no-wait");
    expect_code(r, 8);
    expect_has(r.err, "hpo: permission_denied: ");
    result_free(&r);
    r = HPO("trials", "s", "--json");
    expect_code(r, 0);
    json_t *j = parse(r.out);
    ck_assert_uint_eq(json_array_size(j), 0);
    json_decref(j);
    result_free(&r);

    /* a token and a token file together are refused; so is a file that is not there */
    r = HPO_ENV(NO_TOKEN, "--token", read, "--token-file", file, "study", "list");
    expect_code(r, 1);
    expect_has(r.err, "--token and --token-file together");
    result_free(&r);
    r = HPO_ENV(((const char *const[]){"HPO_TOKEN", read, "HPO_TOKEN_FILE", file, NULL}), "study",
                "list");
    expect_code(r, 1);
    expect_has(r.err, "HPO_TOKEN and HPO_TOKEN_FILE are both set");
    result_free(&r);
    r = HPO_ENV(NO_TOKEN, "--token-file", "/nonexistent/token", "study", "list");
    expect_code(r, 1);
    expect_has(r.err, "/nonexistent/token");
    result_free(&r);

    /* the help tells about all of it */
    r = HPO_BARE("--help");
    expect_has(r.out, "--token-file F");
    expect_has(r.out, "--cacert F");
    expect_has(r.out, "  8  not allowed");
    expect_has(r.out, "  token create");
    result_free(&r);
    r = HPO_BARE("help", "token", "create");
    expect_code(r, 0);
    expect_has(r.out, "--study-prefix P");
    result_free(&r);
    unlink(file);
    free(file);
}
END_TEST

/* Starts hpo-server on srv's database over https with a new self-signed certificate that names
 * DNS:localhost only (its own CA: ret_cert); returns the port. */
static int start_tls_server(char *ret_cert, size_t cap)
{
    snprintf(tls_dir, sizeof tls_dir, "/tmp/hpo-cli-tls-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tls_dir));
    char key[128], cmd[512];
    snprintf(ret_cert, cap, "%s/cert.pem", tls_dir);
    snprintf(key, sizeof key, "%s/key.pem", tls_dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
             "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout '%s' -out '%s' "
             ">/dev/null 2>&1", key, ret_cert);
    ck_assert_msg(system(cmd) == 0, "openssl could not make a test certificate");
    int out[2];
    ck_assert_int_eq(pipe(out), 0);
    tls_pid = fork();
    ck_assert_int_ge(tls_pid, 0);
    if (tls_pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        const char *bin = getenv("HPO_SERVER_BIN");
        execl(bin, bin, "--db", srv.db, "--listen", "127.0.0.1:0", "--log-level", "error",
              "--tls-cert", ret_cert, "--tls-key", key, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    ck_assert_msg(fgets(line, sizeof line, f) != NULL, "the https hpo-server did not start");
    fclose(f);
    int port = 0;
    ck_assert_msg(sscanf(line, "listening on 127.0.0.1:%d", &port) == 1, "unexpected: %s", line);
    return port;
}

START_TEST(https_is_verified)
{
    create_ok("s", NULL, NULL);
    e2e_stop(&srv, SIGTERM); /* one server on the database at a time */
    char cert[128], by_name[64], by_ip[64];
    int port = start_tls_server(cert, sizeof cert);
    snprintf(by_name, sizeof by_name, "https://localhost:%d", port);
    snprintf(by_ip, sizeof by_ip, "https://127.0.0.1:%d", port);

    /* trusted through --cacert or HPO_CACERT, the token going along */
    result r = HPO_BARE("--server", by_name, "--cacert", cert, "study", "list");
    expect_code(r, 0);
    expect_has(r.out, "s");
    result_free(&r);
    r = run_argv_env(false, ((const char *const[]){"HPO_TOKEN", srv.token, "HPO_CACERT", cert,
                                                   NULL}),
                     ((const char *const[]){"--server", by_name, "study", "list", NULL}));
    expect_code(r, 0);
    result_free(&r);
    /* not trusted: the system's CAs do not know it, and no retry makes it so */
    r = HPO_BARE("--server", by_name, "--retries", "3", "study", "list");
    expect_code(r, 5);
    expect_has(r.err, "certificate");
    result_free(&r);
    /* trusted, but not for this host name */
    r = HPO_BARE("--server", by_ip, "--cacert", cert, "study", "list");
    expect_code(r, 5);
    result_free(&r);
    r = HPO_BARE("--server", by_name, "--cacert", "/nonexistent/ca.pem", "study", "list");
    expect_code(r, 1);
    expect_has(r.err, "/nonexistent/ca.pem");
    result_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, studies);
    tcase_add_test(tc, enqueue_ask_report_tell);
    tcase_add_test(tc, tell_constraints);
    tcase_add_test(tc, best_none_and_study_complete);
    tcase_add_test(tc, export_csv_json);
    tcase_add_test(tc, workers);
    tcase_add_test(tc, errors_and_help);
    tcase_add_test(tc, tokens_create_list_revoke);
    tcase_add_test(tc, token_sources);
    tcase_add_test(tc, https_is_verified);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
