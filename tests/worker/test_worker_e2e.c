/* test_worker_e2e: the real hpo-worker, server and PostgreSQL with shell scripts as commands: a
 * shared study, GPU slots, prune (also with batched reports), trivial trials ended at once, ASHA
 * checkpoints, a killed worker, a restarted server; constraints and several objectives; tokens
 * (auth is on: workers get the harness's admin token in HPO_TOKEN unless a test says else). */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e_server.h"

static e2e_server srv;
static char dir[256]; /* this test's scratch directory */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}, NULL);
}

static void setup(void)
{
    memset(&srv, 0, sizeof srv);
    snprintf(dir, sizeof dir, "/tmp/hpo-worker-e2e-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char art[300];
    snprintf(art, sizeof art, "%s/server-artifacts", dir);
    setenv("HPO_ARTIFACT_DIR", art, 1); /* the server's artifact store, inside the scratch dir */
    e2e_start(&srv);
}

static void teardown(void)
{
    e2e_destroy(&srv);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static char *path_in(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_in(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* The contents of a file in the scratch dir, or NULL (caller frees). */
static char *read_file(const char *name)
{
    FILE *f = fopen(path_in(name), "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void create_study(const char *body)
{
    json_t *j = NULL;
    long st = e2e_call(&srv, "POST", "/api/v1/studies", body, &j);
    ck_assert_msg(st == 201, "create study answered %ld", st);
    json_decref(j);
}

/* Starts hpo-worker with the given flags, then "--", then /bin/sh SCRIPT ARGS. Its stderr goes
 * to worker-<tag>.log in the scratch dir. Its environment has no HPO_TOKEN, HPO_TOKEN_FILE or
 * HPO_CACERT but the NAME, VALUE pairs of env (NULL-terminated; NULL for none). */
static pid_t start_worker_env(const char *tag, const char *script, const char *const *flags,
                              const char *const *args, const char *const *env)
{
    const char *bin = getenv("HPO_WORKER_BIN");
    ck_assert_msg(bin != NULL, "HPO_WORKER_BIN is not set");
    char logname[64];
    snprintf(logname, sizeof logname, "worker-%s.log", tag);
    const char *log = path_in(logname);
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)bin;
    argv[n++] = "--server";
    argv[n++] = srv.base;
    argv[n++] = "--work-dir";
    argv[n++] = path_in(tag);
    for (int i = 0; flags[i]; i++)
        argv[n++] = (char *)flags[i];
    argv[n++] = "--";
    argv[n++] = "/bin/sh";
    argv[n++] = path_in(script);
    for (int i = 0; args && args[i]; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        if (!f)
            _exit(126);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        setenv("DIR", dir, 1);
        unsetenv("HPO_ARTIFACT_DIR");
        unsetenv("HPO_TOKEN");
        unsetenv("HPO_TOKEN_FILE");
        unsetenv("HPO_CACERT");
        for (int i = 0; env && env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

/* start_worker_env with the harness's admin token in HPO_TOKEN. */
static pid_t start_worker(const char *tag, const char *script, const char *const *flags,
                          const char *const *args)
{
    return start_worker_env(tag, script, flags, args,
                            (const char *const[]){"HPO_TOKEN", srv.token, NULL});
}

static void dump_log(const char *tag)
{
    char name[64];
    snprintf(name, sizeof name, "worker-%s.log", tag);
    char *text = read_file(name);
    fprintf(stderr, "---- %s ----\n%s---- end ----\n", name, text ? text : "(none)\n");
    free(text);
}

/* Waits for the worker to exit; returns its exit code (fails the test after timeout_ms). */
static int wait_worker(pid_t pid, const char *tag, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            dump_log(tag);
            ck_abort_msg("worker %s did not exit within %ld ms", tag, timeout_ms);
        }
        sleep_ms(20);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        dump_log(tag);
    ck_assert_msg(WIFEXITED(status), "worker %s was killed by signal %d", tag, WTERMSIG(status));
    return WEXITSTATUS(status);
}

static json_t *get_trial(const char *study, int n)
{
    json_t *j = NULL;
    ck_assert_int_eq(e2e_callj(&srv, "GET", NULL, &j, "/api/v1/studies/%s/trials/%d", study, n),
                     200);
    return j;
}

static json_t *all_trials(const char *study)
{
    json_t *j = NULL;
    ck_assert_int_eq(e2e_callj(&srv, "GET", NULL, &j, "/api/v1/studies/%s/trials?limit=1000",
                               study), 200);
    json_t *t = json_incref(json_object_get(j, "trials"));
    json_decref(j);
    return t;
}

static long long count(const char *study, const char *state)
{
    json_t *j = NULL;
    ck_assert_int_eq(e2e_callj(&srv, "GET", NULL, &j, "/api/v1/studies/%s", study), 200);
    long long n = json_integer_value(json_object_get(json_object_get(j, "counts"), state));
    json_decref(j);
    return n;
}

static const char *state_of(json_t *t)
{
    return json_string_value(json_object_get(t, "state"));
}

/* ---- two workers, three slots each, one study of 12 trials ---- */

static const char study_script[] =
    "x=\"$1\"\n"
    "[ \"$x\" = \"$HPO_PARAM_X\" ] || { echo \"placeholder $x != env $HPO_PARAM_X\"; exit 7; }\n"
    "grep -q '\"x\"' \"$HPO_PARAMS_FILE\" || exit 8\n"
    "[ -n \"$HPO_TRIAL_NUMBER\" ] && [ \"$HPO_STUDY\" = w12 ] || exit 9\n"
    "[ \"${CUDA_VISIBLE_DEVICES+set}\" = set ] && [ -z \"$CUDA_VISIBLE_DEVICES\" ] || exit 10\n"
    "[ -z \"$HPO_RESOURCE\" ] && [ -d \"$HPO_CHECKPOINT_DIR\" ] && [ -d \"$HPO_ARTIFACT_DIR\" ] "
    "|| exit 11\n"
    "echo model > \"$HPO_ARTIFACT_DIR/model.txt\"\n"
    "for s in 0 1 2; do echo \"hpo: step=$s value=$x\"; echo \"log line $s\"; sleep 0.05; done\n"
    "echo \"hpo: value=$x\"\n";

START_TEST(two_workers_finish_a_study)
{
    create_study("{\"name\":\"w12\",\"max_trials\":12,\"sampler\":{\"type\":\"random\",\"seed\":1},"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":-5,\"high\":5}}}");
    write_file("study.sh", study_script);
    const char *fa[] = {"--study", "w12", "--gpus", "none", "--parallel", "3", "--heartbeat-s",
                        "1", "--worker-id", "wA", NULL};
    const char *fb[] = {"--study", "w12", "--gpus", "none", "--parallel", "3", "--heartbeat-s",
                        "1", "--worker-id", "wB", NULL};
    const char *args[] = {"{x}", NULL};
    pid_t a = start_worker("a", "study.sh", fa, args);
    pid_t b = start_worker("b", "study.sh", fb, args);
    ck_assert_int_eq(wait_worker(a, "a", 30000), 0);
    ck_assert_int_eq(wait_worker(b, "b", 30000), 0);
    ck_assert_int_eq(count("w12", "complete"), 12);
    json_t *ts = all_trials("w12");
    ck_assert_int_eq((int)json_array_size(ts), 12);
    int by_a = 0, by_b = 0;
    size_t i;
    json_t *t;
    json_array_foreach(ts, i, t) {
        double x = json_real_value(json_object_get(json_object_get(t, "params"), "x"));
        /* the value went through {x} as text and back: shortest round-trip keeps it exact */
        ck_assert_msg(json_real_value(json_object_get(t, "value")) == x, "trial %zu value", i);
        json_t *iv = json_object_get(t, "intermediate_values");
        ck_assert_int_eq((int)json_array_size(iv), 3);
        const char *w = json_string_value(json_object_get(t, "worker"));
        by_a += w && strcmp(w, "wA") == 0;
        by_b += w && strcmp(w, "wB") == 0;
    }
    ck_assert_int_eq(by_a + by_b, 12);
    ck_assert_int_gt(by_a, 0);
    ck_assert_int_gt(by_b, 0);
    json_decref(ts);
    /* the log and the model came back as artifacts */
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/w12/trials/0/artifacts", NULL, &j),
                     200);
    char *text = json_dumps(j, 0);
    ck_assert_msg(strstr(text, "\"log\"") && strstr(text, "\"model.txt\""), "artifacts: %s", text);
    free(text);
    json_decref(j);
    json_decref(NULL);
}
END_TEST

/* ---- GPU slots: no GPU is shared by two trials at once ---- */

static const char gpu_script[] =
    "start=$(date +%s%N)\n"
    "sleep 0.3\n"
    "end=$(date +%s%N)\n"
    "echo \"$CUDA_VISIBLE_DEVICES $start $end\" > \"$DIR/gpu.$HPO_TRIAL_NUMBER\"\n"
    "echo \"hpo: value=1\"\n";

START_TEST(gpus_are_not_shared)
{
    enum { N = 10 };
    create_study("{\"name\":\"g\",\"max_trials\":10,"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}");
    write_file("gpu.sh", gpu_script);
    const char *f[] = {"--study", "g", "--gpus", "0,1,2,3", NULL};
    pid_t w = start_worker("g", "gpu.sh", f, NULL);
    ck_assert_int_eq(wait_worker(w, "g", 30000), 0);
    ck_assert_int_eq(count("g", "complete"), N);
    int gpu[N];
    long long start[N], end[N];
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "gpu.%d", i);
        char *text = read_file(name);
        ck_assert_msg(text != NULL, "trial %d left no record", i);
        ck_assert_msg(sscanf(text, "%d %lld %lld", &gpu[i], &start[i], &end[i]) == 3,
                      "trial %d: '%s'", i, text);
        ck_assert_msg(strchr(text, ',') == NULL, "one GPU per trial: %s", text);
        ck_assert_int_ge(gpu[i], 0);
        ck_assert_int_le(gpu[i], 3);
        free(text);
    }
    int overlapping = 0;
    for (int i = 0; i < N; i++)
        for (int k = i + 1; k < N; k++) {
            bool overlap = start[i] < end[k] && start[k] < end[i];
            overlapping += overlap;
            ck_assert_msg(!(overlap && gpu[i] == gpu[k]), "trials %d and %d shared GPU %d", i, k,
                          gpu[i]);
        }
    ck_assert_int_gt(overlapping, 0); /* they did run side by side */
}
END_TEST

/* ---- prune: the command is dead within a second of the answer ---- */

static const char prune_script[] =
    "echo $$ > \"$DIR/pid.$HPO_TRIAL_NUMBER.tmp\" && mv \"$DIR/pid.$HPO_TRIAL_NUMBER.tmp\" "
    "\"$DIR/pid.$HPO_TRIAL_NUMBER\"\n"
    "n=4; [ \"$1\" = 1 ] || n=300\n"
    "s=0; while [ $s -le $n ]; do echo \"hpo: step=$s value=$1\"; s=$((s+1)); sleep 0.1; done\n"
    "echo \"hpo: value=$1\"\n";

/* Queues x = 1 twice (two good trials the median sets its bar by), then x = 50 (the bad one). */
static void queue_good_good_bad(const char *study)
{
    for (int i = 0; i < 3; i++) {
        json_t *body = json_pack("{s:{s:i}}", "params", "x", i < 2 ? 1 : 50), *j = NULL;
        ck_assert_int_eq(e2e_callj(&srv, "POST", body, &j, "/api/v1/studies/%s/queue", study), 201);
        json_decref(body);
        json_decref(j);
    }
}

START_TEST(prune_stops_the_command)
{
    create_study("{\"name\":\"m\",\"max_trials\":3,\"pruner\":{\"type\":\"median\","
                 "\"n_startup_trials\":2,\"n_warmup_steps\":0},"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":100}}}");
    queue_good_good_bad("m");
    write_file("prune.sh", prune_script);
    /* a long grace: the command must go on SIGTERM, not wait for the SIGKILL */
    const char *f[] = {"--study", "m", "--gpus", "none", "--grace-ms", "5000", NULL};
    const char *args[] = {"{x}", NULL};
    pid_t w = start_worker("p", "prune.sh", f, args);
    char *pidtext = NULL;
    long long end = now_ms() + 20000;
    while (!(pidtext = read_file("pid.2")) && now_ms() < end)
        sleep_ms(10);
    ck_assert_msg(pidtext != NULL, "trial 2 did not start");
    pid_t cmd = (pid_t)atoi(pidtext);
    free(pidtext);
    ck_assert_int_gt(cmd, 1);
    /* the first report of trial 2 is stored: the server answered it prune */
    long long t0 = 0;
    while (!t0 && now_ms() < end) {
        json_t *t = get_trial("m", 2);
        if (json_array_size(json_object_get(t, "intermediate_values")) > 0)
            t0 = now_ms();
        json_decref(t);
        if (!t0)
            sleep_ms(5);
    }
    ck_assert_msg(t0 != 0, "trial 2 never reported");
    while (kill(cmd, 0) == 0 && now_ms() - t0 < 3000)
        sleep_ms(5);
    long long dead_after = now_ms() - t0;
    ck_assert_msg(kill(cmd, 0) != 0 && errno == ESRCH, "command %d still alive", (int)cmd);
    ck_assert_msg(dead_after < 1000, "command died %lld ms after the prune", dead_after);
    ck_assert_int_eq(wait_worker(w, "p", 20000), 0);
    json_t *t = get_trial("m", 2);
    ck_assert_str_eq(state_of(t), "pruned");
    ck_assert_int_lt((int)json_array_size(json_object_get(t, "intermediate_values")), 20);
    json_decref(t);
    ck_assert_int_eq(count("m", "complete"), 2);
}
END_TEST

/* ---- batched reports: a prune still answers the step it would have one by one ---- */

/* 20 reports in one write (so they queue up together), then the bad trial waits for its prune */
static const char burst_script[] =
    "lines=$(seq 0 19 | sed \"s/.*/hpo: step=& value=$1/\")\n"
    "echo \"$lines\"\n"
    "[ \"$1\" = 1 ] || exec sleep 60\n"
    "echo \"hpo: value=$1\"\n";

START_TEST(prune_at_its_step_when_batched)
{
    /* judged at steps 5, 10, 15 only: a batch of steps 0..19 judged on its last step (19) would
     * never be pruned, so the worker must cut its batches after 5, 10 and 15 (the ask answer
     * tells it: "decides": {"kind": "grid", "start": 5, "interval": 5}) */
    create_study("{\"name\":\"b\",\"max_trials\":3,\"pruner\":{\"type\":\"median\","
                 "\"n_startup_trials\":2,\"n_warmup_steps\":5,\"interval_steps\":5},"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":100}}}");
    queue_good_good_bad("b");
    write_file("burst.sh", burst_script);
    const char *f[] = {"--study", "b", "--gpus", "none", "--parallel", "1", "--log-level",
                       "debug", NULL};
    const char *args[] = {"{x}", NULL};
    pid_t w = start_worker("b", "burst.sh", f, args);
    ck_assert_int_eq(wait_worker(w, "b", 30000), 0);
    json_t *t = get_trial("b", 2);
    ck_assert_str_eq(state_of(t), "pruned");
    json_decref(t);
    ck_assert_int_eq(count("b", "complete"), 2);
    char *log = read_file("worker-b.log");
    ck_assert_ptr_nonnull(log);
    ck_assert_msg(strstr(log, "prune received") != NULL, "%s", log);
    /* the worker took the decision steps from the ask answer */
    ck_assert_msg(strstr(log, "b/2: its pruner may decide at steps 5 + 5k") != NULL, "%s", log);
    free(log);
}
END_TEST

/* ---- the command's exit is noticed at once ---- */

/* Milliseconds since the epoch of the API's "2025-01-31T12:00:00.123Z". */
static long long api_time_ms(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int ms = 0;
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(sscanf(text, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                     7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000 + ms;
}

START_TEST(trivial_trials_end_at_once)
{
    enum { N = 50 };
    create_study("{\"name\":\"q\",\"max_trials\":50}");
    write_file("trivial.sh", "echo 'hpo: value=1'\n");
    const char *f[] = {"--study", "q", "--gpus", "none", "--parallel", "1", NULL};
    const char *args[] = {NULL};
    pid_t w = start_worker("q", "trivial.sh", f, args);
    ck_assert_int_eq(wait_worker(w, "q", 60000), 0);
    ck_assert_int_eq(count("q", "complete"), N);
    json_t *all = all_trials("q");
    long long first = 0, last = 0;
    size_t i;
    json_t *t;
    json_array_foreach(all, i, t) {
        long long s = api_time_ms(json_string_value(json_object_get(t, "datetime_start")));
        long long e = api_time_ms(json_string_value(json_object_get(t, "datetime_complete")));
        first = !first || s < first ? s : first;
        last = e > last ? e : last;
    }
    json_decref(all);
    /* One after another on one slot: ask, start, exit, log upload, finish. Checking the exit
     * every 50 ms made that at least 50 ms a trial (2.5 s here); noticed at once it is a few ms,
     * so 2 s leaves a loaded machine several times the time it needs. */
    ck_assert_msg(last - first < 2000, "%d trivial trials took %lld ms", N, last - first);
}
END_TEST

/* ---- constraints printed before or after the value (the last counts), several objectives ---- */

/* Even trials: value 10 + n, feasible constraints after it (an earlier line replaced); odd
 * trials: the better value n, an infeasible constraint before it. */
static const char constrained_script[] =
    "n=$HPO_TRIAL_NUMBER\n"
    "if [ $((n % 2)) = 0 ]; then\n"
    "  echo 'hpo: constraints=9,9'\n"
    "  echo \"hpo: value=$((10 + n))\"\n"
    "  echo \"hpo: constraints=-1,-$n\"\n"
    "else\n"
    "  echo 'hpo: constraints=1,0'\n"
    "  echo \"hpo: value=$n\"\n"
    "fi\n";

START_TEST(constraints_reach_the_server)
{
    create_study("{\"name\":\"con\",\"max_trials\":6,\"sampler\":{\"type\":\"random\"},"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}");
    write_file("con.sh", constrained_script);
    const char *f[] = {"--study", "con", "--gpus", "none", "--parallel", "2", NULL};
    ck_assert_int_eq(wait_worker(start_worker("con", "con.sh", f, NULL), "con", 30000), 0);
    ck_assert_int_eq(count("con", "complete"), 6);
    json_t *ts = all_trials("con");
    size_t i;
    json_t *t;
    json_array_foreach(ts, i, t) {
        int n = (int)json_integer_value(json_object_get(t, "number"));
        json_t *c = json_object_get(t, "constraints");
        ck_assert_msg(json_array_size(c) == 2, "trial %d: constraints", n);
        double want0 = n % 2 ? 1 : -1, want1 = n % 2 ? 0 : -n;
        ck_assert_msg(json_number_value(json_array_get(c, 0)) == want0 &&
                      json_number_value(json_array_get(c, 1)) == want1, "trial %d", n);
        ck_assert(json_number_value(json_object_get(t, "value")) == (n % 2 ? n : 10 + n));
    }
    json_decref(ts);
    /* the infeasible trials have the better values; the best is the best feasible one */
    json_t *best = NULL;
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/con/best", NULL, &best), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(best, "number")), 0);
    ck_assert(json_number_value(json_object_get(best, "value")) == 10);
    json_decref(best);
}
END_TEST

/* Trial 2 prints one value in a study of two objectives: it fails, saying why, at once (not when
 * the heartbeat grace runs out). */
static const char objectives_script[] =
    "n=$HPO_TRIAL_NUMBER\n"
    "if [ \"$n\" = 2 ]; then echo 'hpo: value=1'; exit 0; fi\n"
    "echo \"hpo: values=$n,-$((2 * n))\"\n";

START_TEST(several_objectives)
{
    create_study("{\"name\":\"mo\",\"max_trials\":3,\"directions\":[\"minimize\",\"maximize\"],"
                 "\"heartbeat_grace\":600,"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}");
    write_file("mo.sh", objectives_script);
    const char *f[] = {"--study", "mo", "--gpus", "none", NULL};
    ck_assert_int_eq(wait_worker(start_worker("mo", "mo.sh", f, NULL), "mo", 30000), 0);
    for (int n = 0; n < 2; n++) {
        json_t *t = get_trial("mo", n);
        json_t *vs = json_object_get(t, "values");
        ck_assert_str_eq(state_of(t), "complete");
        ck_assert(json_array_size(vs) == 2 && json_number_value(json_array_get(vs, 0)) == n &&
                  json_number_value(json_array_get(vs, 1)) == -2 * n);
        json_decref(t);
    }
    json_t *t = get_trial("mo", 2);
    ck_assert_str_eq(state_of(t), "fail");
    const char *why = json_string_value(json_object_get(t, "fail_reason"));
    ck_assert_msg(why && strstr(why, "the study has 2 objective(s) but 1 value(s) were given") &&
                  strstr(why, "hpo: values=V1,V2,..."), "fail_reason: %s", why ? why : "(null)");
    json_decref(t);
}
END_TEST

/* ---- a command that writes faster than the worker reads waits; no line is lost ---- */

/* 5000 lines in one write: more than a pipe holds, so the writer must be able to wait */
static const char flood_script[] =
    "exec /usr/bin/python3 -c 'import sys; sys.stdout.write(\"\".join(\"hpo: step=%d value=%d\\n\""
    " % (i, i) for i in range(5000))); print(\"hpo: value=1\")'\n";

START_TEST(fast_output_loses_no_report)
{
    create_study("{\"name\":\"f\",\"max_trials\":1}");
    write_file("flood.sh", flood_script);
    const char *f[] = {"--study", "f", "--gpus", "none", NULL};
    const char *args[] = {NULL};
    pid_t w = start_worker("f", "flood.sh", f, args);
    ck_assert_int_eq(wait_worker(w, "f", 60000), 0);
    json_t *t = get_trial("f", 0);
    ck_assert_str_eq(state_of(t), "complete");
    json_t *iv = json_object_get(t, "intermediate_values");
    ck_assert_int_eq((int)json_array_size(iv), 5000);
    for (size_t i = 0; i < json_array_size(iv); i++)
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(iv, i), "step")),
                         (json_int_t)i);
    json_decref(t);
}
END_TEST

/* ---- ASHA: a paused trial's checkpoint comes back when it is promoted ---- */

static const char asha_script[] =
    "n=$HPO_TRIAL_NUMBER; from=$HPO_RESOURCE_FROM; to=$HPO_RESOURCE\n"
    "[ -n \"$to\" ] || { echo \"no resource\" >> \"$DIR/errors\"; exit 5; }\n"
    "if [ \"$from\" -gt 0 ]; then\n"
    "  want=\"trial=$n resource=$from\"\n"
    "  got=$(cat \"$HPO_CHECKPOINT_DIR/state\" 2>/dev/null)\n"
    "  if [ \"$got\" != \"$want\" ]; then\n"
    "    echo \"trial $n: checkpoint '$got', expected '$want'\" >> \"$DIR/errors\"; exit 6\n"
    "  fi\n"
    "  echo \"$n $from $to\" >> \"$DIR/resumed\"\n"
    "  sleep 1.5\n" /* longer than the grace: a stale pause would stop it before it reports */
    "fi\n"
    "s=$((from+1))\n"
    "while [ $s -le $to ]; do\n"
    "  v=$(awk \"BEGIN { print $1 * $s / 9 }\")\n"
    "  echo \"hpo: step=$s value=$v\"; s=$((s+1))\n"
    "done\n"
    "echo \"trial=$n resource=$to\" > \"$HPO_CHECKPOINT_DIR/state\"\n"
    "echo \"hpo: value=$v\"\n";

START_TEST(asha_checkpoint_comes_back)
{
    create_study("{\"name\":\"a\",\"max_trials\":6,\"direction\":\"maximize\","
                 "\"heartbeat_grace\":3,"
                 "\"sampler\":{\"type\":\"random\",\"seed\":3},"
                 "\"pruner\":{\"type\":\"asha\",\"min_resource\":1,\"max_resource\":9,"
                 "\"reduction_factor\":3},"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}");
    write_file("asha.sh", asha_script);
    const char *f[] = {"--study", "a", "--gpus", "none", "--parallel", "2", "--grace-ms", "1000",
                       NULL};
    const char *args[] = {"{x}", NULL};
    pid_t w = start_worker("a", "asha.sh", f, args);
    ck_assert_int_eq(wait_worker(w, "a", 60000), 0);
    char *errors = read_file("errors");
    ck_assert_msg(errors == NULL, "%s", errors);
    char *resumed = read_file("resumed");
    ck_assert_msg(resumed != NULL, "no trial was promoted");
    fprintf(stderr, "asha resumed (trial from to):\n%s", resumed);
    free(resumed);
    long long failed = count("a", "fail");
    if (failed)
        dump_log("a");
    /* A promoted run that says nothing for longer than the grace must not be paused by a stale
     * answer (a heartbeat judging it by the rung it has already passed). */
    ck_assert_msg(failed == 0, "%lld trials failed: a promoted run was stopped before it reported "
                  "(stale pause?), see the worker log", failed);
    ck_assert_int_eq(count("a", "running"), 0);
    ck_assert_int_eq(count("a", "paused"), 0);
    /* a promoted trial kept the reports of its earlier runs */
    json_t *ts = all_trials("a");
    size_t i, most = 0;
    json_t *t;
    json_array_foreach(ts, i, t) {
        size_t n = json_array_size(json_object_get(t, "intermediate_values"));
        most = n > most ? n : most;
    }
    ck_assert_int_ge((int)most, 3);
    json_decref(ts);
}
END_TEST

/* ---- a worker killed with SIGKILL: its trial fails after the heartbeat grace ---- */

static const char kill_script[] =
    "echo $$ > \"$DIR/pid.$HPO_TRIAL_NUMBER.tmp\" && mv \"$DIR/pid.$HPO_TRIAL_NUMBER.tmp\" "
    "\"$DIR/pid.$HPO_TRIAL_NUMBER\"\n"
    "n=2; [ \"$HPO_TRIAL_NUMBER\" = 0 ] && n=300\n"
    "s=0; while [ $s -le $n ]; do echo \"hpo: step=$s value=$s\"; s=$((s+1)); sleep 0.1; done\n"
    "echo \"hpo: value=1\"\n";

START_TEST(killed_worker_loses_its_trial)
{
    create_study("{\"name\":\"k\",\"max_trials\":4,\"heartbeat_grace\":2,"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}");
    write_file("kill.sh", kill_script);
    const char *fa[] = {"--study", "k", "--gpus", "none", "--max-trials", "1", "--heartbeat-s",
                        "1", "--worker-id", "doomed", NULL};
    pid_t a = start_worker("ka", "kill.sh", fa, NULL);
    char *pidtext = NULL;
    long long end = now_ms() + 20000;
    while (!(pidtext = read_file("pid.0")) && now_ms() < end)
        sleep_ms(10);
    ck_assert_msg(pidtext != NULL, "trial 0 did not start");
    pid_t cmd = (pid_t)atoi(pidtext);
    free(pidtext);
    sleep_ms(300);
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    long long killed = now_ms();
    const char *fb[] = {"--study", "k", "--gpus", "none", "--parallel", "2", "--heartbeat-s", "1",
                        "--worker-id", "survivor", NULL};
    pid_t b = start_worker("kb", "kill.sh", fb, NULL);
    /* the orphaned command of the dead worker is no longer anyone's: stop it */
    kill(-cmd, SIGKILL);
    ck_assert_int_eq(wait_worker(b, "kb", 30000), 0);
    long long failed = 0;
    while (!failed && now_ms() - killed < 8000) {
        json_t *t = get_trial("k", 0);
        if (strcmp(state_of(t), "fail") == 0)
            failed = now_ms();
        json_decref(t);
        if (!failed)
            sleep_ms(50);
    }
    ck_assert_msg(failed, "trial 0 of the killed worker was never failed");
    /* not before the grace (less the up to 1 s since the last heartbeat) */
    ck_assert_int_ge(failed - killed, 900);
    json_t *t = get_trial("k", 0);
    ck_assert_str_eq(json_string_value(json_object_get(t, "worker")), "doomed");
    json_decref(t);
    ck_assert_int_eq(count("k", "complete"), 3);
    ck_assert_int_eq(count("k", "running"), 0);
}
END_TEST

/* ---- SIGTERM with --requeue-on-exit: the trial goes back as preempted ---- */

static const char slow_script[] = "echo \"hpo: step=0 value=1\"; sleep 30; echo \"hpo: value=1\"\n";

/* The worker's trial ends fail, preempted; under a retry policy the server's retry has the same
 * params and is handed out before an older enqueued trial; without one, the worker enqueues the
 * params itself. */
static void requeue_case(const char *study, bool policy)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",%s\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,"
             "\"high\":1}}}",
             study, policy ? "\"retry\":{\"max_retries\":2,\"on\":[\"preempted\"]}," : "");
    create_study(body);
    write_file("slow.sh", slow_script);
    const char *f[] = {"--study", study, "--gpus", "none", "--requeue-on-exit", "--grace-ms",
                       "500", "--log-level", "debug", NULL};
    pid_t w = start_worker(study, "slow.sh", f, NULL);
    long long end = now_ms() + 20000;
    while (count(study, "running") < 1 && now_ms() < end)
        sleep_ms(20);
    ck_assert_int_eq(count(study, "running"), 1);
    sleep_ms(300); /* its first report is in */
    /* an enqueued trial, older than the retry to come */
    char path[128];
    snprintf(path, sizeof path, "/api/v1/studies/%s/queue", study);
    json_t *j = NULL;
    ck_assert_int_eq(e2e_call(&srv, "POST", path, "{\"params\":{\"x\":0.5}}", &j), 201);
    json_decref(j);
    kill(w, SIGTERM);
    ck_assert_int_eq(wait_worker(w, study, 20000), 0);
    json_t *t = get_trial(study, 0);
    ck_assert_str_eq(state_of(t), "fail");
    ck_assert(json_is_true(json_object_get(t, "preempted")));
    ck_assert_str_eq(json_string_value(json_object_get(t, "fail_reason")), "preempted");
    double x = json_real_value(json_object_get(json_object_get(t, "params"), "x"));
    json_t *by = json_object_get(t, "retried_by");
    /* the next ask gets the trial that runs trial 0 again, not the older enqueued one */
    snprintf(path, sizeof path, "/api/v1/studies/%s/trials", study);
    ck_assert_int_eq(e2e_call(&srv, "POST", path, "{}", &j), 201);
    json_t *next = json_object_get(json_object_get(j, "params"), "x");
    if (policy) {
        ck_assert(json_is_integer(by));
        ck_assert_int_eq(json_integer_value(json_object_get(j, "number")), json_integer_value(by));
        ck_assert_int_eq(json_integer_value(json_object_get(j, "retry_of")), 0);
        ck_assert(json_real_value(next) == x);
    } else {
        ck_assert(json_is_null(by));
        /* the lowest-numbered waiting trial (0.5, enqueued first) went out; the worker's copy of
         * trial 0's params waits */
        ck_assert(json_real_value(next) == 0.5);
        json_t *all = all_trials(study);
        bool found = false;
        for (size_t i = 0; i < json_array_size(all); i++) {
            json_t *u = json_array_get(all, i);
            if (strcmp(state_of(u), "waiting") == 0 &&
                json_real_value(json_object_get(json_object_get(u, "params"), "x")) == x)
                found = true;
        }
        json_decref(all);
        ck_assert_msg(found, "the worker did not enqueue the preempted trial's params");
    }
    json_decref(j);
    json_decref(t);
}

START_TEST(requeue_on_exit_preempts)
{
    requeue_case("rq", true);
    requeue_case("rq2", false);
}
END_TEST

/* ---- the whole process tree stopped at once (scancel, systemctl stop), the command first: the
 * worker's signal arrives after its command died of one, and the trial still goes back as
 * preempted, not failed "killed by signal 15" ---- */

START_TEST(tree_stop_still_preempts)
{
    write_file("kill.sh", kill_script);
    const char *f[] = {"--study", "", "--gpus", "none", "--requeue-on-exit", NULL};
    /* the order is the worst one; how soon the worker's signal thread runs after it is not
     * controlled: a few rounds (each failed without the wait for the worker's signal, one in
     * several) */
    for (int round = 0; round < 6; round++) {
        char study[32], body[256];
        snprintf(study, sizeof study, "tree%d", round);
        snprintf(body, sizeof body,
                 "{\"name\":\"%s\",\"retry\":{\"max_retries\":1,\"on\":[\"preempted\"]},"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}", study);
        create_study(body);
        unlink(path_in("pid.0"));
        f[1] = study;
        pid_t w = start_worker(study, "kill.sh", f, NULL);
        char *pidtext = NULL;
        long long end = now_ms() + 20000;
        while (!(pidtext = read_file("pid.0")) && now_ms() < end)
            sleep_ms(10);
        ck_assert_msg(pidtext != NULL, "trial 0 of %s did not start", study);
        pid_t cmd = (pid_t)atoi(pidtext);
        free(pidtext);
        sleep_ms(150);
        kill(-cmd, SIGTERM);
        kill(w, SIGTERM);
        ck_assert_int_eq(wait_worker(w, study, 20000), 0);
        json_t *t = get_trial(study, 0);
        ck_assert_msg(strcmp(state_of(t), "fail") == 0 &&
                      json_is_true(json_object_get(t, "preempted")) &&
                      json_is_integer(json_object_get(t, "retried_by")),
                      "round %d: trial 0 is %s (%s), not handed back", round, state_of(t),
                      json_string_value(json_object_get(t, "fail_reason")));
        json_decref(t);
    }
}
END_TEST

/* ---- the server restarted mid-trial: the worker carries on, no report is lost ---- */

static const char restart_script[] =
    "s=0; while [ $s -lt 40 ]; do echo \"hpo: step=$s value=$s\"; s=$((s+1)); sleep 0.1; done\n"
    "echo \"hpo: value=0.5\"\n";

START_TEST(server_restart_loses_no_report)
{
    create_study("{\"name\":\"r\",\"max_trials\":1,"
                 "\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}");
    write_file("restart.sh", restart_script);
    const char *f[] = {"--study", "r", "--gpus", "none", "--heartbeat-s", "1", NULL};
    pid_t w = start_worker("r", "restart.sh", f, NULL);
    long long end = now_ms() + 20000;
    for (;;) {
        json_t *j = NULL;
        long st = e2e_call(&srv, "GET", "/api/v1/studies/r/trials/0", NULL, &j);
        size_t n = st == 200 ? json_array_size(json_object_get(j, "intermediate_values")) : 0;
        json_decref(j);
        if (n >= 3)
            break;
        ck_assert_msg(now_ms() < end, "trial 0 never reported");
        sleep_ms(20);
    }
    e2e_stop(&srv, SIGTERM);
    sleep_ms(2000);
    e2e_start(&srv);
    ck_assert_int_eq(wait_worker(w, "r", 60000), 0);
    json_t *t = get_trial("r", 0);
    ck_assert_str_eq(state_of(t), "complete");
    json_t *iv = json_object_get(t, "intermediate_values");
    ck_assert_int_eq((int)json_array_size(iv), 40);
    for (int s = 0; s < 40; s++) {
        json_t *r = json_array_get(iv, (size_t)s);
        ck_assert_int_eq((int)json_integer_value(json_object_get(r, "step")), s);
        ck_assert(json_number_value(json_object_get(r, "value")) == s);
    }
    json_decref(t);
}
END_TEST

/* ---- tokens ---- */

/* The command checks that it got the worker's token (and no token file, which a client would
 * refuse beside it) and calls the API itself with it. */
static const char token_script[] =
    "[ \"$HPO_TOKEN\" = \"$(cat \"$DIR/expected\")\" ] || { echo 'wrong HPO_TOKEN'; exit 12; }\n"
    "[ -z \"${HPO_TOKEN_FILE+set}\" ] || { echo 'HPO_TOKEN_FILE passed on'; exit 13; }\n"
    "curl -sf -o /dev/null -H \"Authorization: Bearer $HPO_TOKEN\" "
    "\"$HPO_SERVER/api/v1/studies/$HPO_STUDY\" || { echo 'the API refused HPO_TOKEN'; exit 14; }\n"
    "echo \"hpo: value=1\"\n";

START_TEST(token_file_reaches_the_command)
{
    create_study("{\"name\":\"tk\",\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,"
                 "\"high\":1}}}");
    char worker[64];
    e2e_make_token(&srv, worker, "worker", "--study", "tk", NULL);
    write_file("token.sh", token_script);
    write_file("expected", worker);
    /* a file as a person would write it: white space around, a comment after */
    char text[160];
    snprintf(text, sizeof text, "  %s \n# the worker token of tk\n", worker);
    write_file("tokfile", text);
    char tokfile[512];
    snprintf(tokfile, sizeof tokfile, "%s", path_in("tokfile"));
    /* the flag, beating a wrong HPO_TOKEN in the environment */
    const char *fa[] = {"--study", "tk", "--gpus", "none", "--max-trials", "1", "--token-file",
                        tokfile, NULL};
    pid_t a = start_worker_env("tfa", "token.sh", fa, NULL,
                               (const char *const[]){"HPO_TOKEN", "hpo_wrong", NULL});
    ck_assert_int_eq(wait_worker(a, "tfa", 30000), 0);
    /* the environment */
    const char *fb[] = {"--study", "tk", "--gpus", "none", "--max-trials", "1", NULL};
    pid_t b = start_worker_env("tfb", "token.sh", fb, NULL,
                               (const char *const[]){"HPO_TOKEN_FILE", tokfile, NULL});
    ck_assert_int_eq(wait_worker(b, "tfb", 30000), 0);
    ck_assert_int_eq(count("tk", "complete"), 2);
    char *log = read_file("worker-tfa.log");
    ck_assert_msg(strstr(log, worker) == NULL, "the token is in the log:\n%s", log);
    free(log);
}
END_TEST

/* A token the server refuses, or one without the scope to ask, stops the worker at once. */
START_TEST(refused_tokens_stop_the_worker)
{
    create_study("{\"name\":\"tr\",\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,"
                 "\"high\":1}}}");
    write_file("never.sh", "echo ran > \"$DIR/ran\"\necho 'hpo: value=1'\n");
    const char *f[] = {"--study", "tr", "--gpus", "none", NULL};
    long long t0 = now_ms();
    pid_t w = start_worker_env("none", "never.sh", f, NULL, NULL);
    ck_assert_int_eq(wait_worker(w, "none", 20000), 1);
    char *log = read_file("worker-none.log");
    ck_assert_msg(strstr(log, "unauthenticated") && strstr(log, "no token was given"), "%s", log);
    free(log);

    char read[64];
    e2e_make_token(&srv, read, "read", NULL);
    w = start_worker_env("read", "never.sh", f, NULL,
                         (const char *const[]){"HPO_TOKEN", read, NULL});
    ck_assert_int_eq(wait_worker(w, "read", 20000), 1);
    log = read_file("worker-read.log");
    ck_assert_msg(strstr(log, "permission_denied") != NULL, "%s", log);
    ck_assert_msg(strstr(log, read) == NULL, "the token is in the log:\n%s", log);
    free(log);
    /* neither waited for anything: a refusal is not retried */
    ck_assert_msg(now_ms() - t0 < 10000, "took %lld ms", now_ms() - t0);
    ck_assert_int_eq(count("tr", "running") + count("tr", "complete"), 0);
    ck_assert_ptr_null(read_file("ran"));

    /* a token and a token file together: refused before anything starts */
    const char *both[] = {"--study", "tr", "--token", "hpo_x", "--token-file", "/dev/null", NULL};
    w = start_worker_env("both", "never.sh", both, NULL, NULL);
    ck_assert_int_eq(wait_worker(w, "both", 10000), 2);
    log = read_file("worker-both.log");
    ck_assert_msg(strstr(log, "--token and --token-file together") != NULL, "%s", log);
    free(log);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("worker_e2e");
    TCase *tc = tcase_create("worker_e2e");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_workers_finish_a_study);
    tcase_add_test(tc, gpus_are_not_shared);
    tcase_add_test(tc, prune_stops_the_command);
    tcase_add_test(tc, prune_at_its_step_when_batched);
    tcase_add_test(tc, trivial_trials_end_at_once);
    tcase_add_test(tc, fast_output_loses_no_report);
    tcase_add_test(tc, constraints_reach_the_server);
    tcase_add_test(tc, several_objectives);
    tcase_add_test(tc, asha_checkpoint_comes_back);
    tcase_add_test(tc, killed_worker_loses_its_trial);
    tcase_add_test(tc, requeue_on_exit_preempts);
    tcase_add_test(tc, tree_stop_still_preempts);
    tcase_add_test(tc, server_restart_loses_no_report);
    tcase_add_test(tc, token_file_reaches_the_command);
    tcase_add_test(tc, refused_tokens_stop_the_worker);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
