/* hpo-worker: asks the hpo server for trials whenever a slot is free and runs the training
 * command on it; the main loop, signals (drain, requeue, stop) and start-up. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hpo_clock.h"
#include "hpo_log.h"
#include "wk_artifacts.h"
#include "wk_config.h"
#include "wk_run.h"
#include "wk_slots.h"
#include "wk_tail.h"

#define WK_REGISTER_EVERY_MS 60000
#define WK_UNAVAILABLE_WAIT_MS 2000
#define WK_ERROR_WAIT_MS 5000

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    wk_ctx ctx;
    wk_slot *slots;
    size_t n_slots;
    wk_run **runs;     /* per slot: running, or NULL */
    bool *done;        /* per slot: the runner has ended and waits to be joined */
    size_t running;
    int signals;       /* SIGTERM/SIGINT received */
    sigset_t sigs;
} worker;

static worker W;

static const char *env_get(const char *name)
{
    return getenv(name);
}

static void on_run_done(void *ud, wk_run *r)
{
    (void)r;
    size_t i = (size_t)(uintptr_t)ud;
    pthread_mutex_lock(&W.mu);
    W.done[i] = true;
    pthread_cond_broadcast(&W.cv);
    pthread_mutex_unlock(&W.mu);
}

/* The first SIGTERM/SIGINT drains (or requeues), the second stops everything now. */
static void *signal_main(void *arg)
{
    (void)arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&W.sigs, &sig) != 0)
            continue;
        pthread_mutex_lock(&W.mu);
        W.signals++;
        if (W.signals == 1 && W.ctx.cfg->requeue_on_exit) {
            hpo_log(HPO_LOG_INFO, "%s: stopping %zu running trial(s) and handing them back",
                    strsignal(sig), W.running);
            atomic_store(&W.ctx.mode, WK_MODE_REQUEUE);
        } else if (W.signals == 1) {
            hpo_log(HPO_LOG_INFO, "%s: no new trials; waiting for %zu running trial(s) "
                    "(signal again to stop them)", strsignal(sig), W.running);
            atomic_store(&W.ctx.mode, WK_MODE_DRAIN);
        } else if (W.signals == 2) {
            hpo_log(HPO_LOG_INFO, "%s: stopping %zu running trial(s) now", strsignal(sig),
                    W.running);
            atomic_store(&W.ctx.abandon, true);
            atomic_store(&W.ctx.mode, WK_MODE_STOP);
        }
        for (size_t i = 0; i < W.n_slots; i++)
            if (W.runs[i] && !W.done[i])
                wk_run_wake(W.runs[i]);
        pthread_cond_broadcast(&W.cv);
        pthread_mutex_unlock(&W.mu);
    }
    return NULL;
}

static void wait_until(int64_t mono_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(mono_ms / 1000),
                          .tv_nsec = (long)(mono_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&W.cv, &W.mu, &ts);
}

static void register_worker(const char *host, bool *warned)
{
    json_t *gpus = json_array();
    for (size_t i = 0; i < W.n_slots; i++)
        for (size_t k = 0; k < W.slots[i].n_gpus; k++)
            json_array_append_new(gpus, json_sprintf("%d", W.slots[i].gpus[k]));
    hpo_error err;
    hpo_error_clear(&err);
    hpo_rc rc = hpo_client_worker_register(W.ctx.client, host, (int)W.n_slots, gpus, &err);
    json_decref(gpus);
    if (rc != HPO_OK && !*warned)
        hpo_log(HPO_LOG_WARN, "worker not registered (%s); going on", err.message);
    *warned = rc != HPO_OK;
}

/* Asks for one trial (mu not held) and starts it on slot i. Returns when to ask next. */
static int64_t ask_once(size_t slot, bool *complete, bool *fatal, int64_t *started)
{
    const wk_config *cfg = W.ctx.cfg;
    hpo_client_trial *t = NULL;
    int retry_after = 0;
    hpo_error err;
    hpo_error_clear(&err);
    hpo_rc rc = hpo_client_ask(W.ctx.client, cfg->study, NULL, &t, &retry_after, &err);
    int64_t now = hpo_clock_monotonic_ms();
    static bool unreachable_logged;
    if (rc != HPO_E_UNAVAILABLE)
        unreachable_logged = false;
    switch (rc) {
    case HPO_OK:
        break;
    case HPO_E_NO_WORK:
        return now + (retry_after >= 1 ? retry_after : 1) * 1000L;
    case HPO_E_COMPLETE:
        hpo_log(HPO_LOG_INFO, "study %s is complete: no more trials", cfg->study);
        *complete = true;
        return now;
    case HPO_E_UNAVAILABLE:
        if (!unreachable_logged)
            hpo_log(HPO_LOG_WARN, "server unreachable (%s); asking again", err.message);
        unreachable_logged = true;
        return now + WK_UNAVAILABLE_WAIT_MS;
    case HPO_E_NOT_FOUND:
    case HPO_E_INVALID:
    case HPO_E_UNAUTHENTICATED: /* a token is not mended by waiting: stop and say why */
    case HPO_E_PERMISSION:
        hpo_log(HPO_LOG_ERROR, "ask: %s: %s", hpo_rc_name(rc), err.message);
        *fatal = true;
        return now;
    default:
        hpo_log(HPO_LOG_ERROR, "ask: %s; asking again in %d s", err.message,
                WK_ERROR_WAIT_MS / 1000);
        return now + WK_ERROR_WAIT_MS;
    }
    char where[96];
    hpo_log(HPO_LOG_DEBUG, "trial %s/%" PRId64 ": its pruner may decide at %s; reports go in "
            "batches that end there", cfg->study, t->number,
            wk_decides_text(&t->decides, where, sizeof where));
    (*started)++;
    pthread_mutex_lock(&W.mu);
    wk_run *r = NULL;
    rc = wk_run_start(&W.ctx, t, &W.slots[slot], slot, on_run_done, (void *)(uintptr_t)slot, &r);
    if (rc == HPO_OK) {
        W.runs[slot] = r;
        W.done[slot] = false;
        W.running++;
    }
    pthread_mutex_unlock(&W.mu);
    if (rc != HPO_OK) {
        hpo_log(HPO_LOG_ERROR, "trial %s/%" PRId64 ": cannot start a thread for it", cfg->study,
                t->number);
        hpo_finish_args a = {.state = HPO_TRIAL_FAIL, .reason = "worker out of resources"};
        hpo_client_finish(W.ctx.client, cfg->study, t->number, &a, NULL);
        hpo_client_trial_free(t);
        return now + WK_ERROR_WAIT_MS;
    }
    return now;
}

/* Runs until there is nothing more to do. Returns the exit status. */
static int main_loop(const char *host)
{
    const wk_config *cfg = W.ctx.cfg;
    bool complete = false, fatal = false, reg_warned = false;
    int64_t started = 0, next_ask = 0, next_register = 0;
    pthread_mutex_lock(&W.mu);
    for (;;) {
        for (size_t i = 0; i < W.n_slots; i++)
            if (W.done[i]) {
                wk_run_join(W.runs[i]); /* the runner touches nothing shared after done() */
                W.runs[i] = NULL;
                W.done[i] = false;
                W.running--;
            }
        int mode = atomic_load(&W.ctx.mode);
        if (atomic_load(&W.ctx.broken))
            fatal = true;
        bool asking = mode == WK_MODE_RUN && !complete && !fatal &&
                      (cfg->max_trials == 0 || started < cfg->max_trials);
        if (!asking && W.running == 0)
            break;
        size_t free_slot = W.n_slots;
        for (size_t i = 0; i < W.n_slots && free_slot == W.n_slots; i++)
            if (!W.runs[i])
                free_slot = i;
        int64_t now = hpo_clock_monotonic_ms();
        if (now >= next_register) {
            next_register = now + WK_REGISTER_EVERY_MS;
            pthread_mutex_unlock(&W.mu);
            register_worker(host, &reg_warned);
            pthread_mutex_lock(&W.mu);
            continue;
        }
        if (asking && free_slot < W.n_slots && now >= next_ask) {
            pthread_mutex_unlock(&W.mu);
            next_ask = ask_once(free_slot, &complete, &fatal, &started);
            pthread_mutex_lock(&W.mu);
            continue;
        }
        int64_t until = next_register;
        if (asking && free_slot < W.n_slots && next_ask < until)
            until = next_ask;
        wait_until(until);
    }
    pthread_mutex_unlock(&W.mu);
    if (atomic_load(&W.ctx.mode) == WK_MODE_STOP)
        return 1;
    return fatal ? 1 : 0;
}

/* Whether argv0 names an executable (as is when it has a '/', else in PATH). A name with a
 * placeholder is checked when the trial starts. */
static bool command_found(const char *argv0)
{
    if (strchr(argv0, '{'))
        return true;
    if (strchr(argv0, '/'))
        return access(argv0, X_OK) == 0;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; p;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        char full[4096];
        if (snprintf(full, sizeof full, "%.*s/%s", (int)(len ? len : 1), len ? p : ".", argv0) <
                (int)sizeof full &&
            access(full, X_OK) == 0)
            return true;
        p = colon ? colon + 1 : NULL;
    }
    return false;
}

static int setup_slots(const wk_config *cfg, hpo_error *err)
{
    int gpus[WK_GPUS_MAX];
    size_t n = 0;
    if (cfg->gpus_mode == WK_GPUS_LIST) {
        memcpy(gpus, cfg->gpus, cfg->n_gpus * sizeof *gpus);
        n = cfg->n_gpus;
    } else if (cfg->gpus_mode == WK_GPUS_AUTO) {
        n = wk_gpus_discover(gpus, WK_GPUS_MAX);
        hpo_log(HPO_LOG_INFO, "%zu GPU%s found", n, n == 1 ? "" : "s");
    }
    int rc = wk_slots_make(gpus, n, cfg->gpus_per_trial, cfg->parallel, &W.slots, &W.n_slots, err);
    size_t used = 0;
    for (size_t i = 0; rc == HPO_OK && i < W.n_slots; i++)
        used += W.slots[i].n_gpus;
    if (rc == HPO_OK && used < n)
        hpo_log(HPO_LOG_WARN, "%zu of %zu GPUs unused (--gpus-per-trial %d, --parallel %d)",
                n - used, n, cfg->gpus_per_trial, cfg->parallel);
    return rc;
}

int main(int argc, char **argv)
{
    wk_config cfg;
    bool help = false;
    hpo_error err;
    hpo_error_clear(&err);
    if (wk_config_parse(argc, argv, env_get, &cfg, &help, &err) != HPO_OK) {
        fprintf(stderr, "hpo-worker: %s\n\n%s", err.message, wk_config_usage);
        return 2;
    }
    if (help) {
        fputs(wk_config_usage, stdout);
        return 0;
    }
    if (!command_found(cfg.command[0])) {
        fprintf(stderr, "hpo-worker: command not found or not executable: %s\n", cfg.command[0]);
        return 2;
    }
    int level = hpo_log_level_parse(cfg.log_level);
    if (level < 0) {
        fprintf(stderr, "hpo-worker: unknown --log-level %s\n", cfg.log_level);
        return 2;
    }
    hpo_log_set_level((hpo_log_level)level);
    hpo_log_set_format((hpo_log_format)cfg.log_format);

    wk_metric_regex regex;
    bool has_regex = cfg.metric_regex != NULL;
    if (has_regex && wk_metric_regex_compile(cfg.metric_regex, &regex, &err) != HPO_OK) {
        fprintf(stderr, "hpo-worker: %s\n", err.message);
        return 2;
    }
    if (setup_slots(&cfg, &err) != HPO_OK) {
        fprintf(stderr, "hpo-worker: %s\n", err.message);
        return 2;
    }

    char *file_token = NULL; /* read once: a file changed later takes a restart */
    if (cfg.token_file &&
        hpo_client_token_read_file(cfg.token_file, &file_token, &err) != HPO_OK) {
        fprintf(stderr, "hpo-worker: %s\n", err.message);
        return 2;
    }
    const char *token = file_token ? file_token : cfg.token;

    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    char worker_id[300];
    snprintf(worker_id, sizeof worker_id, "%s-%d", host, (int)getpid());
    if (cfg.worker_id)
        snprintf(worker_id, sizeof worker_id, "%s", cfg.worker_id);

    char work_dir[4096];
    const char *tmp = getenv("TMPDIR");
    if (cfg.work_dir)
        snprintf(work_dir, sizeof work_dir, "%s", cfg.work_dir);
    else
        snprintf(work_dir, sizeof work_dir, "%s/hpo-worker-%d", tmp && *tmp ? tmp : "/tmp",
                 (int)getpid());
    int rc = wk_mkdirs(work_dir);
    if (rc < 0) {
        fprintf(stderr, "hpo-worker: cannot make %s: %s\n", work_dir, strerror(-rc));
        return 1;
    }

    /* Signals go to one thread (blocked everywhere else, and reset for the commands). */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&W.sigs);
    sigaddset(&W.sigs, SIGTERM);
    sigaddset(&W.sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &W.sigs, NULL);

    curl_global_init(CURL_GLOBAL_ALL);
    hpo_client_options co = {.server = cfg.server, .worker = worker_id, .token = token,
                             .ca_file = cfg.cacert};
    hpo_client *client = NULL;
    if (hpo_client_new(&co, &client, &err) != HPO_OK) {
        fprintf(stderr, "hpo-worker: %s\n", err.message);
        return err.code == HPO_E_INVALID ? 2 : 1;
    }

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&W.mu, NULL);
    pthread_cond_init(&W.cv, &ca);
    pthread_condattr_destroy(&ca);
    W.ctx.cfg = &cfg;
    W.ctx.client = client;
    W.ctx.regex = has_regex ? &regex : NULL;
    W.ctx.work_dir = work_dir;
    W.ctx.token = token;
    atomic_init(&W.ctx.mode, WK_MODE_RUN);
    atomic_init(&W.ctx.abandon, false);
    atomic_init(&W.ctx.broken, false);
    W.runs = calloc(W.n_slots, sizeof *W.runs);
    W.done = calloc(W.n_slots, sizeof *W.done);
    /* a slot's next trial may start while its last one's log uploads: a few may wait */
    W.ctx.tail = wk_tail_start(client, 2 * W.n_slots, &W.ctx.abandon);
    pthread_t sig_thread;
    if (!W.runs || !W.done || !W.ctx.tail ||
        pthread_create(&sig_thread, NULL, signal_main, NULL) != 0) {
        fprintf(stderr, "hpo-worker: out of resources\n");
        return 1;
    }
    pthread_detach(sig_thread);

    hpo_log(HPO_LOG_INFO, "worker %s: study %s on %s, %zu slot%s, %s", worker_id, cfg.study,
            cfg.server, W.n_slots, W.n_slots == 1 ? "" : "s",
            cfg.token_file ? "token from its file" : token ? "token given" : "no token");
    int status = main_loop(host);
    wk_tail_stop(W.ctx.tail); /* the last logs go up, the last directories go */
    hpo_log(HPO_LOG_INFO, "worker %s: exiting", worker_id);

    if (!cfg.work_dir)
        wk_remove_tree(work_dir);
    hpo_client_free(client);
    if (file_token)
        explicit_bzero(file_token, strlen(file_token));
    free(file_token);
    if (has_regex)
        wk_metric_regex_free(&regex);
    free(W.runs);
    free(W.done);
    free(W.slots);
    curl_global_cleanup();
    /* The signal thread stays blocked in sigwait; exit() ends it. */
    return status;
}
