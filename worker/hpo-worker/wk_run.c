/* wk_run: the trial runner thread: directories, environment, the command's life (spawn, output,
 * prune / pause / stop), and the end of the trial (artifacts, checkpoint, finish or requeue). */
#include "wk_run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hpo_clock.h"
#include "hpo_log.h"
#include "wk_artifacts.h"
#include "wk_comm.h"
#include "wk_params.h"
#include "wk_proc.h"
#include "wk_tail.h"

extern char **environ;

#define WK_LINE_MAX ((size_t)64 * 1024)       /* longer output lines are cut into pieces */
#define WK_LOG_MAX ((size_t)64 * 1024 * 1024) /* the log artifact stops growing here */
#define WK_READ_BUDGET ((size_t)64 * 1024)    /* bytes read per wake-up */
#define WK_LOOK_MS 50 /* how often the command's exit is looked for when it cannot be watched */
#define WK_BAD_LINES_LOGGED 5                 /* malformed hpo lines logged per run */
#define WK_FETCH_WAIT_MS 30000L               /* a promotion's checkpoint may still be uploading */
#define WK_STRAGGLER_WAIT_MS 2000             /* pipe held open after the command's group died */
#define WK_OUTSIDE_STOP_WAIT_MS 250 /* for the worker's own signal after its command's (below) */

/* Why the worker stopped the command (if it did). */
typedef enum {
    STOP_NONE = 0,
    STOP_PRUNE,   /* prune answered: finish pruned */
    STOP_PAUSE,   /* pause answered: checkpoint, leave paused */
    STOP_LOST,    /* the server no longer has the trial running */
    STOP_REQUEUE, /* the worker hands its trials back */
    STOP_WORKER,  /* the worker stops at once */
} stop_reason;

static atomic_uint_fast64_t run_seq;

struct wk_run {
    wk_ctx *ctx;
    hpo_client_trial *t;
    const wk_slot *slot;
    size_t slot_index;
    wk_run_done_fn done;
    void *ud;
    pthread_t thread;
    int wake[2];
    char label[200]; /* "study/number" for logs */
    char dir[4096], ckpt_dir[4200], art_dir[4200], log_path[4200], params_path[4200];
    FILE *log;
    size_t log_bytes;
    bool log_full;
    bool log_later; /* the log goes up after the outcome (wk_tail) */
    wk_comm *comm;
    int64_t asked_mono_ms; /* when the ask that gave this trial was answered */
    /* what the output said: the last final line's values, the last constraints given */
    size_t n_final; /* 0: none yet */
    double final_values[WK_VALUES_MAX];
    size_t n_constraints; /* 0: none */
    double constraints[HPO_CONSTRAINTS_MAX];
    bool has_step;
    int64_t last_step;
    bool has_regex_value;
    double regex_value;
    int bad_lines;
};

/* ---- the environment and argv of the command ---- */

static const char *const own_vars[] = {
    "HPO_SERVER", "HPO_STUDY", "HPO_TRIAL_NUMBER", "HPO_RESOURCE", "HPO_RESOURCE_FROM",
    "HPO_CHECKPOINT_DIR", "HPO_ARTIFACT_DIR", "HPO_PARAMS_FILE", "CUDA_VISIBLE_DEVICES",
    /* the worker's own are set again below; HPO_TOKEN_FILE goes, or a client in the command
     * would see a token and a token file together and refuse both */
    "HPO_TOKEN", "HPO_TOKEN_FILE", "HPO_CACERT", NULL,
};

static bool is_own(const char *entry)
{
    if (strncmp(entry, "HPO_PARAM_", 10) == 0)
        return true; /* stale params of an enclosing run */
    for (const char *const *v = own_vars; *v; v++) {
        size_t n = strlen(*v);
        if (strncmp(entry, *v, n) == 0 && entry[n] == '=')
            return true;
    }
    return false;
}

static void free_strv(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

typedef struct {
    char **v;
    size_t n, cap;
    bool failed;
} strv;

static void strv_add(strv *s, char *owned)
{
    if (!owned || s->failed) {
        free(owned);
        s->failed = true;
        return;
    }
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(owned);
            s->failed = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = owned;
    s->v[s->n] = NULL;
}

static void strv_addf(strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void strv_addf(strv *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p) {
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    strv_add(s, p);
}

static char **build_env(const wk_run *r)
{
    const hpo_client_trial *t = r->t;
    strv s = {0};
    bool has_order = false;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "CUDA_DEVICE_ORDER=", 18) == 0)
            has_order = true;
        if (!is_own(*e))
            strv_add(&s, strdup(*e));
    }
    strv_addf(&s, "HPO_SERVER=%s", r->ctx->cfg->server);
    if (r->ctx->token)
        strv_addf(&s, "HPO_TOKEN=%s", r->ctx->token);
    if (r->ctx->cfg->cacert)
        strv_addf(&s, "HPO_CACERT=%s", r->ctx->cfg->cacert);
    strv_addf(&s, "HPO_STUDY=%s", t->study ? t->study : r->ctx->cfg->study);
    strv_addf(&s, "HPO_TRIAL_NUMBER=%" PRId64, t->number);
    if (t->has_resource) {
        strv_addf(&s, "HPO_RESOURCE=%" PRId64, t->resource_to);
        strv_addf(&s, "HPO_RESOURCE_FROM=%" PRId64, t->resource_from);
    } else {
        strv_addf(&s, "HPO_RESOURCE=");
        strv_addf(&s, "HPO_RESOURCE_FROM=");
    }
    strv_addf(&s, "HPO_CHECKPOINT_DIR=%s", r->ckpt_dir);
    strv_addf(&s, "HPO_ARTIFACT_DIR=%s", r->art_dir);
    strv_addf(&s, "HPO_PARAMS_FILE=%s", r->params_path);
    strv_addf(&s, "CUDA_VISIBLE_DEVICES=%s", r->slot->cuda);
    /* nvidia-smi numbers GPUs in PCI order; make CUDA agree unless the user chose otherwise. */
    if (!has_order && r->slot->n_gpus)
        strv_addf(&s, "CUDA_DEVICE_ORDER=PCI_BUS_ID");
    const char *name;
    json_t *v;
    json_object_foreach(t->params, name, v) {
        char *key = wk_param_env_name(name), *text = wk_param_format(v);
        if (key && text)
            strv_addf(&s, "%s=%s", key, text);
        else
            s.failed = true;
        free(key);
        free(text);
    }
    if (s.failed) {
        free_strv(s.v);
        return NULL;
    }
    return s.v;
}

static char **build_argv(const wk_run *r)
{
    strv s = {0};
    for (int i = 0; i < r->ctx->cfg->n_command; i++)
        strv_add(&s, wk_substitute(r->ctx->cfg->command[i], r->t->params));
    if (s.failed || !s.v) {
        free_strv(s.v);
        return NULL;
    }
    return s.v;
}

/* ---- the command's output ---- */

static void log_append(wk_run *r, const char *line, size_t len)
{
    if (!r->log || r->log_full)
        return;
    if (r->log_bytes + len + 1 > WK_LOG_MAX) {
        fputs("[hpo-worker: log truncated here]\n", r->log);
        r->log_full = true;
        return;
    }
    fwrite(line, 1, len, r->log);
    fputc('\n', r->log);
    r->log_bytes += len + 1;
}

static void queue_report(wk_run *r, int64_t step, double value)
{
    /* Only fails when out of memory: wait for the sender to make room rather than lose it. */
    while (!wk_comm_report(r->comm, step, value))
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 10000000L}, NULL);
}

static void on_line(void *ud, char *line, size_t len)
{
    wk_run *r = ud;
    log_append(r, line, len);
    wk_line l;
    wk_line_kind k = wk_line_parse(line, &l);
    bool from_regex = false;
    if (k == WK_LINE_TEXT && r->ctx->regex) {
        k = wk_metric_regex_match(r->ctx->regex, line, &l);
        from_regex = true;
    }
    switch (k) {
    case WK_LINE_TEXT:
        return;
    case WK_LINE_BAD:
        if (r->bad_lines++ < WK_BAD_LINES_LOGGED)
            hpo_log(HPO_LOG_WARN, "trial %s: ignored output line (%s): %.200s", r->label, l.why,
                    line);
        return;
    case WK_LINE_FINAL:
    case WK_LINE_CONSTRAINTS:
        /* the last of each counts: a final line may give constraints too */
        if (l.n_values) {
            r->n_final = l.n_values;
            memcpy(r->final_values, l.values, l.n_values * sizeof *l.values);
        }
        if (l.n_constraints) {
            r->n_constraints = l.n_constraints;
            memcpy(r->constraints, l.constraints, l.n_constraints * sizeof *l.constraints);
        }
        return;
    case WK_LINE_REPORT:
        if (!l.has_step && r->has_step && r->last_step == INT64_MAX) {
            if (r->bad_lines++ < WK_BAD_LINES_LOGGED) /* no step is left after the last one */
                hpo_log(HPO_LOG_WARN, "trial %s: a report past step %" PRId64 " ignored",
                        r->label, r->last_step);
            return;
        }
        if (!l.has_step)
            l.step = r->has_step ? r->last_step + 1 : 0;
        if (!r->has_step || l.step > r->last_step)
            r->last_step = l.step;
        r->has_step = true;
        if (from_regex) {
            r->has_regex_value = true;
            r->regex_value = l.value;
        }
        queue_report(r, l.step, l.value);
        return;
    }
}

/* ---- the command's life ---- */

typedef struct {
    pid_t pid;
    int fd;           /* -1 at end of file */
    bool exited;
    int status;
    stop_reason why;
    int64_t term_at, kill_at; /* monotonic ms, 0 = not scheduled */
    bool term_sent, kill_sent;
} child;

static void signal_group(wk_run *r, child *c, int sig)
{
    /* Only while the leader is not reaped: its pid then still names this group. */
    if (!c->exited && kill(-c->pid, sig) != 0 && errno != ESRCH)
        hpo_log(HPO_LOG_WARN, "trial %s: kill(-%d, %d): %s", r->label, (int)c->pid, sig,
                strerror(errno));
}

static void schedule_stop(wk_run *r, child *c, stop_reason why, long delay_ms)
{
    int64_t now = hpo_clock_monotonic_ms();
    c->why = why;
    c->term_at = now + delay_ms;
    if (delay_ms == 0) {
        signal_group(r, c, SIGTERM);
        c->term_sent = true;
        c->kill_at = now + r->ctx->cfg->grace_ms;
    }
}

/* Looks at the answers and the worker's mode; decides whether to stop the command. */
static void check_actions(wk_run *r, child *c)
{
    bool lost = false;
    hpo_action a = wk_comm_action(r->comm, &lost);
    int mode = atomic_load(&r->ctx->mode);
    if (c->why == STOP_PAUSE && !c->term_sent && a == HPO_ACTION_CONTINUE && !lost &&
        mode != WK_MODE_STOP) {
        hpo_log(HPO_LOG_INFO, "trial %s: pause withdrawn by the server, going on", r->label);
        c->why = STOP_NONE;
        c->term_at = 0;
    }
    if (c->why == STOP_NONE) {
        if (lost) {
            schedule_stop(r, c, STOP_LOST, 0);
        } else if (a == HPO_ACTION_PRUNE) {
            hpo_log(HPO_LOG_INFO, "trial %s: prune received, stopping the command", r->label);
            schedule_stop(r, c, STOP_PRUNE, 0);
        } else if (a == HPO_ACTION_PAUSE) {
            hpo_log(HPO_LOG_INFO, "trial %s: pause received, the command has %ld ms to save its "
                    "checkpoint and exit", r->label, r->ctx->cfg->grace_ms);
            schedule_stop(r, c, STOP_PAUSE, r->ctx->cfg->grace_ms);
        } else if (mode == WK_MODE_REQUEUE) {
            schedule_stop(r, c, STOP_REQUEUE, 0);
        } else if (mode == WK_MODE_STOP) {
            schedule_stop(r, c, STOP_WORKER, 0);
        }
    } else if (c->why == STOP_PAUSE && a == HPO_ACTION_PRUNE && !c->term_sent) {
        hpo_log(HPO_LOG_INFO, "trial %s: prune received, stopping the command", r->label);
        schedule_stop(r, c, STOP_PRUNE, 0);
    } else if (mode == WK_MODE_STOP && !c->term_sent) {
        /* e.g. a pause waiting for the command: the worker will not wait any more */
        schedule_stop(r, c, c->why, 0);
    }
}

/* The leader exited: clean up what is left of its group, then reap it. */
static void check_exit(wk_run *r, child *c)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid != c->pid)
        return;
    /* Background processes it left behind die with the trial (the zombie leader keeps the group
     * id from being reused until it is reaped). */
    if (kill(-c->pid, SIGKILL) != 0 && errno != ESRCH)
        hpo_log(HPO_LOG_WARN, "trial %s: kill(-%d): %s", r->label, (int)c->pid, strerror(errno));
    while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
        ;
    c->exited = true;
}

static void drain_wake(wk_run *r)
{
    char buf[64];
    while (read(r->wake[0], buf, sizeof buf) > 0)
        ;
}

/* The poll timeout until the first of the deadlines (monotonic ms, 0 = none): -1 when none. */
static int timeout_until(int64_t now, const int64_t *deadlines, size_t n)
{
    int64_t first = 0;
    for (size_t i = 0; i < n; i++)
        if (deadlines[i] && (!first || deadlines[i] < first))
            first = deadlines[i];
    if (!first)
        return -1;
    return first <= now ? 0 : first - now > INT_MAX ? INT_MAX : (int)(first - now);
}

/* Runs the command to its end. Sleeps in poll until something happens: output, an answer or a
 * signal (the wake pipe), the command's exit (its pidfd, or SIGCHLD on the wake pipe), or the
 * next deadline (SIGTERM, SIGKILL, giving up on the pipe). */
static void supervise(wk_run *r, child *c)
{
    wk_linebuf lb;
    if (wk_linebuf_init(&lb, WK_LINE_MAX) != 0) {
        hpo_log(HPO_LOG_ERROR, "trial %s: out of memory", r->label);
        schedule_stop(r, c, STOP_WORKER, 0);
    }
    wk_exit_watch watch;
    int wrc = wk_exit_watch_start(&watch, c->pid, r->wake[1]);
    if (wrc < 0)
        hpo_log(HPO_LOG_WARN, "trial %s: the command's exit is looked for every %d ms (%s)",
                r->label, WK_LOOK_MS, strerror(-wrc));
    int64_t eof_deadline = 0;
    while (!c->exited || c->fd >= 0) {
        int64_t now = hpo_clock_monotonic_ms();
        if (!c->exited) {
            check_actions(r, c);
            if (c->term_at && !c->term_sent && now >= c->term_at) {
                signal_group(r, c, SIGTERM);
                c->term_sent = true;
                c->kill_at = now + r->ctx->cfg->grace_ms;
            }
            if (c->kill_at && !c->kill_sent && now >= c->kill_at) {
                signal_group(r, c, SIGKILL);
                c->kill_sent = true;
            }
            check_exit(r, c); /* also catches an exit before the watch started */
        }
        if (c->exited && c->fd < 0)
            break; /* reaped just now, its output read to the end: nothing left to wait for */
        if (c->exited && c->fd >= 0) {
            if (!eof_deadline)
                eof_deadline = now + WK_STRAGGLER_WAIT_MS;
            else if (now >= eof_deadline) {
                /* something outside the group still holds the pipe: stop reading */
                close(c->fd);
                c->fd = -1;
                break;
            }
        }
        /* a reaped command's pidfd stays readable: it leaves the set */
        struct pollfd p[3] = {{.fd = r->wake[0], .events = POLLIN},
                              {.fd = -1, .events = POLLIN},
                              {.fd = c->exited ? -1 : watch.fd, .events = POLLIN}};
        /* back-pressure: a command far ahead of an unreachable server waits on its pipe (the
         * sender wakes this loop when the queue has room again) */
        if (c->fd >= 0 && lb.data && wk_comm_pending(r->comm) < WK_COMM_QUEUE_MAX / 2)
            p[1].fd = c->fd;
        int64_t deadlines[] = {
            c->exited || c->term_sent ? 0 : c->term_at,
            c->exited || c->kill_sent ? 0 : c->kill_at,
            c->exited || wrc == 0 ? 0 : now + WK_LOOK_MS,
            c->exited ? eof_deadline : 0,
        };
        if (poll(p, 3, timeout_until(now, deadlines, sizeof deadlines / sizeof *deadlines)) < 0) {
            if (errno != EINTR) /* cannot really happen; never leave the command unreaped */
                nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = WK_LOOK_MS * 1000000L}, NULL);
            continue;
        }
        if (p[0].revents)
            drain_wake(r);
        if (p[1].revents) {
            int rc = wk_linebuf_read(&lb, c->fd, WK_READ_BUDGET, on_line, r);
            if (rc != 0) {
                close(c->fd);
                c->fd = -1;
            }
        }
    }
    wk_exit_watch_stop(&watch);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    wk_linebuf_free(&lb);
}

/* ---- the end of the trial ---- */

/* Sends the finish, again while the server is unavailable; the last error in *err. */
static hpo_rc finish(wk_run *r, const hpo_finish_args *a, const char *what, hpo_error *err)
{
    for (int attempt = 0;; attempt++) {
        hpo_error_clear(err);
        hpo_rc rc = hpo_client_finish(r->ctx->client, r->t->study, r->t->number, a, err);
        if (rc == HPO_OK) {
            hpo_log(HPO_LOG_INFO, "trial %s finished: %s", r->label, what);
            return rc;
        }
        bool again = rc == HPO_E_UNAVAILABLE && atomic_load(&r->ctx->mode) != WK_MODE_STOP;
        if (!again || attempt == 0)
            hpo_log(again ? HPO_LOG_WARN : HPO_LOG_ERROR, "trial %s: finish (%s): %s%s", r->label,
                    what, err->message, again ? "; retrying until the server answers" : "");
        if (!again)
            return rc;
        nanosleep(&(struct timespec){.tv_sec = 1, .tv_nsec = 0}, NULL);
    }
}

static void finish_fail(wk_run *r, const char *reason)
{
    hpo_finish_args a = {.state = HPO_TRIAL_FAIL, .reason = reason};
    char what[900];
    snprintf(what, sizeof what, "fail (%.800s)", reason);
    hpo_error err;
    finish(r, &a, what, &err);
}

/* A complete or pruned finish with what the command printed. One the server refuses because
 * that does not fit the study (a value count other than its objectives', a constraint count
 * other than its trials') fails the trial, saying why: it would otherwise stay running until
 * the study's heartbeat grace ran out. */
static void finish_result(wk_run *r, const hpo_finish_args *a, const char *what)
{
    hpo_error err;
    if (finish(r, a, what, &err) != HPO_E_INVALID)
        return;
    char reason[HPO_ERROR_MESSAGE_MAX + 160];
    snprintf(reason, sizeof reason, "the server refused the %s finish: %s (%s)",
             hpo_trial_state_name(a->state), err.message,
             strcmp(err.field, "constraints") == 0
                 ? "print as many constraints as the study's other trials: "
                   "'hpo: constraints=C1,C2,...'"
                 : "print one value per objective: 'hpo: value=V' or 'hpo: values=V1,V2,...'");
    finish_fail(r, reason);
}

/* "0.5, 2" (shortest forms) into buf. */
static void numbers_text(char *buf, size_t size, const double *v, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        json_t *j = json_real(v[i]);
        char *text = j ? wk_param_format(j) : NULL;
        int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", text ? text : "?");
        used += k > 0 ? (size_t)k : 0;
        free(text);
        json_decref(j);
    }
}

/* A pause keeps its outputs together (a promotion resumes from them): all go now. Otherwise the
 * files of HPO_ARTIFACT_DIR go before the outcome (a complete trial has its model) and the log
 * after it (wk_tail: the slot takes its next trial meanwhile). */
static void upload_outputs(wk_run *r, bool paused)
{
    hpo_client *cl = r->ctx->client;
    hpo_error err;
    if (r->log) {
        fclose(r->log);
        r->log = NULL;
        r->log_later = !paused;
        hpo_error_clear(&err);
        if (paused &&
            hpo_client_artifact_put(cl, r->t->study, r->t->number, "log", r->log_path, &err) !=
                HPO_OK)
            hpo_log(HPO_LOG_WARN, "trial %s: log not uploaded: %s", r->label, err.message);
    }
    wk_artifacts_upload_dir(cl, r->t->study, r->t->number, r->art_dir);
    if (!paused)
        return;
    char tarfile[4300], name[48];
    snprintf(tarfile, sizeof tarfile, "%s/checkpoint.tar", r->dir);
    /* named by the resource it paused at: the promotion's resume names exactly this one */
    snprintf(name, sizeof name, "checkpoint-%lld", (long long)r->t->resource_to);
    hpo_error_clear(&err);
    hpo_rc rc = wk_tar_pack(r->ckpt_dir, tarfile, &err);
    if (rc == HPO_OK)
        rc = hpo_client_artifact_put(cl, r->t->study, r->t->number, name, tarfile, &err);
    if (rc != HPO_OK)
        hpo_log(HPO_LOG_ERROR, "trial %s: checkpoint not saved: %s", r->label, err.message);
    else
        hpo_log(HPO_LOG_INFO, "trial %s: paused, checkpoint uploaded", r->label);
}

/* The trial goes back as preempted: under a retry policy that covers it, the server runs it again
 * before any other waiting trial; otherwise its params are enqueued here. */
static void requeue(wk_run *r)
{
    hpo_finish_args fa = {.state = HPO_TRIAL_FAIL, .reason = "preempted", .preempted = true};
    hpo_error err;
    finish(r, &fa, "fail (preempted)", &err);
    int64_t n = -1;
    hpo_error_clear(&err);
    json_t *t = NULL;
    if (hpo_client_trial_get(r->ctx->client, r->t->study, r->t->number, &t, &err) == HPO_OK &&
        json_is_integer(json_object_get(t, "retried_by"))) {
        hpo_log(HPO_LOG_INFO, "trial %s: preempted; the server retries it as trial %" JSON_INTEGER_FORMAT,
                r->label, json_integer_value(json_object_get(t, "retried_by")));
        json_decref(t);
        return;
    }
    json_decref(t);
    hpo_error_clear(&err);
    if (hpo_client_enqueue(r->ctx->client, r->t->study, r->t->params, &n, &err) == HPO_OK)
        hpo_log(HPO_LOG_INFO, "trial %s: params requeued as trial %" PRId64, r->label, n);
    else
        hpo_log(HPO_LOG_ERROR, "trial %s: params not requeued: %s", r->label, err.message);
}

/* A status of a command stopped by SIGTERM, SIGINT, SIGHUP or SIGKILL (or exiting 128 + one of
 * the first three, as a shell or a handler does). */
static bool stop_status(int status)
{
    int sig = WIFSIGNALED(status) ? WTERMSIG(status)
              : WIFEXITED(status) && WEXITSTATUS(status) > 128 ? WEXITSTATUS(status) - 128 : 0;
    return sig == SIGTERM || sig == SIGINT || sig == SIGHUP ||
           (sig == SIGKILL && WIFSIGNALED(status));
}

/* The command died of a stop signal the worker did not send. Whatever stops a whole process tree
 * (scancel, systemctl stop) signals the worker too, in no set order: the command may die before
 * the worker's signal arrives. That signal is given a moment, and when it came with
 * --requeue-on-exit the trial is handed back (a second one: stopped) instead of failing. */
static void outside_stop(wk_run *r, child *c)
{
    if (c->why != STOP_NONE || c->term_sent || !stop_status(c->status))
        return;
    for (int i = 0; i < WK_OUTSIDE_STOP_WAIT_MS / 10 && atomic_load(&r->ctx->mode) == WK_MODE_RUN;
         i++)
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 10 * 1000000L}, NULL);
    int mode = atomic_load(&r->ctx->mode);
    if (mode == WK_MODE_REQUEUE)
        c->why = STOP_REQUEUE;
    else if (mode == WK_MODE_STOP)
        c->why = STOP_WORKER;
}

static void conclude(wk_run *r, child *c)
{
    bool lost = false;
    hpo_action a = wk_comm_action(r->comm, &lost);
    /* The answers to the last reports (flushed after the exit) decide: a prune always (a pruned
     * configuration is not worth requeueing either); a pause the server took back (it answered
     * continue since) is no pause; one that came in after the exit is. A command stopped by the
     * pause deadline stays paused. */
    if (a == HPO_ACTION_PRUNE)
        c->why = STOP_PRUNE;
    else if (a == HPO_ACTION_PAUSE && c->why != STOP_PRUNE)
        c->why = STOP_PAUSE; /* paused on the server: keep it so, even when the worker stops */
    else if (c->why == STOP_PAUSE && !c->term_sent)
        c->why = STOP_NONE;
    if (lost && c->why != STOP_PAUSE)
        c->why = STOP_LOST;
    outside_stop(r, c);
    char how[128];
    wk_proc_describe(c->status, how, sizeof how);
    bool ok = WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
    if (c->why == STOP_LOST) {
        hpo_log(HPO_LOG_WARN, "trial %s: dropped (the server no longer runs it); command %s",
                r->label, how);
        return;
    }
    upload_outputs(r, c->why == STOP_PAUSE);
    wk_comm_free(r->comm); /* no more heartbeats: the trial ends now */
    r->comm = NULL;
    char what[400];
    switch (c->why) {
    case STOP_PAUSE:
        return;
    case STOP_PRUNE: {
        hpo_finish_args fa = {.state = HPO_TRIAL_PRUNED, .constraints = r->constraints,
                              .n_constraints = r->n_constraints};
        finish_result(r, &fa, "pruned");
        return;
    }
    case STOP_REQUEUE:
        requeue(r);
        return;
    case STOP_WORKER:
        finish_fail(r, "worker stopped");
        return;
    case STOP_NONE:
    case STOP_LOST:
        break;
    }
    /* A command that cannot be changed (--metric-regex) ends with its last matched value. */
    if (!r->n_final && ok && r->has_regex_value) {
        r->n_final = 1;
        r->final_values[0] = r->regex_value;
    }
    if (ok && r->n_final) {
        hpo_finish_args fa = {.state = HPO_TRIAL_COMPLETE, .values = r->final_values,
                              .n_values = r->n_final, .constraints = r->constraints,
                              .n_constraints = r->n_constraints};
        char vs[160], cs[160] = "";
        numbers_text(vs, sizeof vs, r->final_values, r->n_final);
        if (r->n_constraints)
            numbers_text(cs, sizeof cs, r->constraints, r->n_constraints);
        snprintf(what, sizeof what, "complete, value%s %s%s%s", r->n_final > 1 ? "s" : "", vs,
                 r->n_constraints ? ", constraints " : "", cs);
        finish_result(r, &fa, what);
    } else if (!ok) {
        snprintf(what, sizeof what, "command %s", how);
        finish_fail(r, what);
    } else {
        finish_fail(r, "no final value (print 'hpo: value=V')");
    }
}

/* ---- the thread ---- */

static bool prepare(wk_run *r)
{
    uint_fast64_t seq = atomic_fetch_add(&run_seq, 1);
    snprintf(r->dir, sizeof r->dir, "%s/%s-%" PRId64 "-%" PRIuFAST64, r->ctx->work_dir,
             r->ctx->cfg->study, r->t->number, seq);
    snprintf(r->ckpt_dir, sizeof r->ckpt_dir, "%s/checkpoint", r->dir);
    snprintf(r->art_dir, sizeof r->art_dir, "%s/artifacts", r->dir);
    snprintf(r->log_path, sizeof r->log_path, "%s/log", r->dir);
    snprintf(r->params_path, sizeof r->params_path, "%s/params.json", r->dir);
    int rc;
    if ((rc = wk_remove_tree(r->dir)) < 0 || (rc = wk_mkdirs(r->ckpt_dir)) < 0 ||
        (rc = wk_mkdirs(r->art_dir)) < 0) {
        hpo_log(HPO_LOG_ERROR, "trial %s: cannot make %s: %s", r->label, r->dir, strerror(-rc));
        return false;
    }
    if (json_dump_file(r->t->params, r->params_path, JSON_COMPACT) != 0) {
        hpo_log(HPO_LOG_ERROR, "trial %s: cannot write %s", r->label, r->params_path);
        return false;
    }
    int fd = open(r->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    r->log = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!r->log) {
        if (fd >= 0)
            close(fd);
        hpo_log(HPO_LOG_WARN, "trial %s: no log file: %s", r->label, strerror(errno));
    }
    if (r->t->resume) {
        char tarfile[4300];
        snprintf(tarfile, sizeof tarfile, "%s/resume.tar", r->dir);
        hpo_error err;
        hpo_error_clear(&err);
        hpo_rc hrc = wk_artifact_fetch(r->ctx->client, r->t->study, r->t->number, r->t->resume,
                                       tarfile, WK_FETCH_WAIT_MS, &err);
        if (hrc == HPO_OK)
            hrc = wk_tar_unpack(tarfile, r->ckpt_dir, &err);
        unlink(tarfile);
        /* The command finds HPO_CHECKPOINT_DIR empty and decides (most start over). */
        if (hrc != HPO_OK)
            hpo_log(HPO_LOG_WARN, "trial %s: checkpoint %s not restored: %s", r->label,
                    r->t->resume, err.message);
    }
    return true;
}

static void run_trial(wk_run *r)
{
    if (!prepare(r)) {
        finish_fail(r, "worker could not prepare the trial directory");
        return;
    }
    char **argv = build_argv(r), **envp = build_env(r);
    child c = {.pid = -1, .fd = -1};
    int rc = argv && envp ? wk_proc_spawn(argv, envp, &c.pid, &c.fd) : -ENOMEM;
    free_strv(envp);
    if (rc < 0) {
        char why[300];
        snprintf(why, sizeof why, "cannot start %s: %s", argv ? argv[0] : "the command",
                 strerror(-rc));
        free_strv(argv);
        hpo_log(HPO_LOG_ERROR, "trial %s: %s; this worker takes no more trials", r->label, why);
        /* Every trial would fail the same way: do not burn through the study. */
        atomic_store(&r->ctx->broken, true);
        finish_fail(r, why);
        return;
    }
    free_strv(argv);
    char res[64] = "";
    if (r->t->has_resource)
        snprintf(res, sizeof res, ", resource %" PRId64 " -> %" PRId64 "%s", r->t->resource_from,
                 r->t->resource_to, r->t->resume ? " (resumed)" : "");
    hpo_log(HPO_LOG_INFO, "trial %s started: slot %zu%s%s, pid %d%s", r->label, r->slot_index,
            r->slot->n_gpus ? ", GPUs " : "", r->slot->cuda, (int)c.pid, res);
    wk_comm_options co = {.client = r->ctx->client, .study = r->t->study, .number = r->t->number,
                          .heartbeat_s = r->ctx->cfg->heartbeat_s, .wake_fd = r->wake[1],
                          .abandon = &r->ctx->abandon, .decides = r->t->decides,
                          .known_max = wk_reports_max_step(r->t->json),
                          .heard_mono_ms = r->asked_mono_ms};
    r->comm = wk_comm_start(&co);
    if (!r->comm) {
        hpo_log(HPO_LOG_ERROR, "trial %s: cannot start its sender thread", r->label);
        kill(-c.pid, SIGKILL);
        waitpid(c.pid, &c.status, 0);
        finish_fail(r, "worker out of resources");
        return;
    }
    supervise(r, &c);
    /* Every report read is answered before the trial ends (unless the worker stops at once):
     * the last answers decide how it ends. Heartbeats go on while its outputs upload. */
    wk_comm_flush(r->comm);
    conclude(r, &c);
    wk_comm_free(r->comm);
    r->comm = NULL;
}

static void *run_main(void *arg)
{
    wk_run *r = arg;
    run_trial(r);
    if (r->log)
        fclose(r->log);
    r->log = NULL;
    if (r->dir[0])
        wk_tail_add(r->ctx->tail, r->t->study, r->t->number, r->label,
                    r->log_later ? r->log_path : NULL, r->dir);
    r->done(r->ud, r);
    return NULL;
}

hpo_rc wk_run_start(wk_ctx *ctx, hpo_client_trial *t, const wk_slot *slot, size_t slot_index,
                    wk_run_done_fn done, void *ud, wk_run **ret)
{
    wk_run *r = calloc(1, sizeof *r);
    if (!r)
        return HPO_E_NOMEM;
    r->ctx = ctx;
    r->t = t;
    r->asked_mono_ms = hpo_clock_monotonic_ms();
    r->slot = slot;
    r->slot_index = slot_index;
    r->done = done;
    r->ud = ud;
    snprintf(r->label, sizeof r->label, "%s/%" PRId64, t->study ? t->study : ctx->cfg->study,
             t->number);
    if (!t->study)
        t->study = strdup(ctx->cfg->study);
    if (!t->study || wk_pipe(r->wake) != 0) {
        free(r);
        return HPO_E_INTERNAL;
    }
    *ret = r; /* before the thread may call done() with it */
    if (pthread_create(&r->thread, NULL, run_main, r) != 0) {
        close(r->wake[0]);
        close(r->wake[1]);
        free(r);
        return HPO_E_INTERNAL;
    }
    return HPO_OK;
}

void wk_run_wake(wk_run *r)
{
    char b = 1;
    ssize_t w = write(r->wake[1], &b, 1);
    (void)w;
}

void wk_run_join(wk_run *r)
{
    if (!r)
        return;
    pthread_join(r->thread, NULL);
    close(r->wake[0]);
    close(r->wake[1]);
    hpo_client_trial_free(r->t);
    free(r);
}
