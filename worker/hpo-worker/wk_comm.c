/* wk_comm: the per-trial sender thread: queued reports in order and in batches (wk_batch),
 * heartbeats, actions. */
#include "wk_comm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "hpo_clock.h"
#include "hpo_log.h"
#include "wk_batch.h"

/* Pause between rounds when the client has given up its own retries (server down for long). */
#define WK_COMM_RETRY_MS 1000
#define WK_COMM_INTERNAL_RETRIES 10

struct wk_comm {
    wk_comm_options o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hpo_report *q;        /* ring buffer */
    size_t cap, head, n;
    hpo_report *batch;    /* the next request's reports, copied from the head of q */
    int64_t known_max;    /* the largest step the server holds (-1: none) */
    size_t solo;          /* this many reports go one per request (a batch was refused) */
    bool closing, heartbeats;
    hpo_action latest; /* the newest answer */
    bool prune_seen;
    bool lost;
    bool exited; /* the thread has left its loop */
    bool joined; /* the thread has been joined (only the owner's thread touches this) */
    int64_t next_heartbeat_ms;
};

static bool abandoned(const wk_comm *c)
{
    return c->o.abandon && atomic_load(c->o.abandon);
}

static void timed_wait(wk_comm *c, int64_t until_mono_ms)
{
    /* The condition variable runs on CLOCK_MONOTONIC (see wk_comm_start). */
    struct timespec ts = {.tv_sec = (time_t)(until_mono_ms / 1000),
                          .tv_nsec = (long)(until_mono_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

static void wake_runner(wk_comm *c)
{
    char b = 1;
    ssize_t w = write(c->o.wake_fd, &b, 1); /* a full pipe already wakes the runner */
    (void)w;
}

/* Called with mu held after an answer. The newest answer counts (a pause the server takes back
 * by answering continue is withdrawn), except that a prune is final. */
static void take_action(wk_comm *c, hpo_action a)
{
    hpo_action before = c->prune_seen ? HPO_ACTION_PRUNE : c->latest;
    c->latest = a;
    c->prune_seen = c->prune_seen || a == HPO_ACTION_PRUNE;
    hpo_action after = c->prune_seen ? HPO_ACTION_PRUNE : c->latest;
    if (after != before)
        wake_runner(c);
}

/* The trial is no longer the server's running trial: stop talking about it. */
static void lose(wk_comm *c, const hpo_error *err)
{
    if (!c->lost)
        hpo_log(HPO_LOG_WARN, "trial %s/%lld: the server no longer runs it (%s: %s)", c->o.study,
                (long long)c->o.number, hpo_rc_name(err->code), err->message);
    c->lost = true;
    c->n = 0;
    pthread_cond_broadcast(&c->cv);
    wake_runner(c);
}

/* What to do after a failed call; true when it should be tried again. An unreachable server is
 * waited for however long it takes (the report must not be lost); an internal error only a few
 * times (it would block the trial forever). */
static bool retry_after_error(wk_comm *c, const char *what, const hpo_error *err, bool *logged,
                              int *attempts)
{
    if (err->code != HPO_E_UNAVAILABLE && ++*attempts > WK_COMM_INTERNAL_RETRIES) {
        hpo_log(HPO_LOG_WARN, "trial %s/%lld: %s dropped after %d failures: %s", c->o.study,
                (long long)c->o.number, what, *attempts, err->message);
        return false;
    }
    switch (err->code) {
    case HPO_E_FINISHED:
    case HPO_E_NOT_FOUND:
    case HPO_E_CONFLICT:
        lose(c, err);
        return false;
    case HPO_E_INVALID:
    case HPO_E_TOO_LARGE:
    case HPO_E_UNAUTHENTICATED: /* the token was revoked or expired: asking again cannot help */
    case HPO_E_PERMISSION:
        hpo_log(HPO_LOG_WARN, "trial %s/%lld: %s refused (%s): %s", c->o.study,
                (long long)c->o.number, what, hpo_rc_name(err->code), err->message);
        return false;
    default:
        if (!*logged)
            hpo_log(HPO_LOG_WARN, "trial %s/%lld: %s: server unreachable (%s), retrying",
                    c->o.study, (long long)c->o.number, what, err->message);
        *logged = true;
        timed_wait(c, hpo_clock_monotonic_ms() + WK_COMM_RETRY_MS);
        return true;
    }
}

static void *comm_main(void *arg)
{
    wk_comm *c = arg;
    bool logged = false;
    int attempts = 0;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        if (abandoned(c)) {
            c->n = 0;
            break;
        }
        int64_t now = hpo_clock_monotonic_ms();
        if (c->heartbeats && !c->lost && now >= c->next_heartbeat_ms) {
            c->next_heartbeat_ms = now + (int64_t)c->o.heartbeat_s * 1000;
            pthread_mutex_unlock(&c->mu);
            hpo_action a = HPO_ACTION_CONTINUE;
            hpo_error err;
            hpo_error_clear(&err);
            hpo_rc rc = hpo_client_heartbeat(c->o.client, c->o.study, c->o.number, &a, &err);
            pthread_mutex_lock(&c->mu);
            if (rc == HPO_OK)
                take_action(c, a);
            else if (rc == HPO_E_FINISHED || rc == HPO_E_NOT_FOUND)
                lose(c, &err);
            /* other heartbeat failures: the next one comes on time anyway */
            continue;
        }
        if (c->n > 0 && !c->lost) {
            size_t len = c->n < WK_BATCH_MAX ? c->n : WK_BATCH_MAX;
            for (size_t i = 0; i < len; i++)
                c->batch[i] = c->q[(c->head + i) % c->cap];
            len = wk_batch_len(&c->o.decides, c->known_max, c->batch, len,
                               c->solo ? 1 : WK_BATCH_MAX);
            pthread_mutex_unlock(&c->mu);
            hpo_action a = HPO_ACTION_CONTINUE;
            hpo_error err;
            hpo_error_clear(&err);
            hpo_rc rc = hpo_client_reports(c->o.client, c->o.study, c->o.number, c->batch, len,
                                           &a, &err);
            pthread_mutex_lock(&c->mu);
            if (rc == HPO_OK) {
                if (logged)
                    hpo_log(HPO_LOG_INFO, "trial %s/%lld: server reachable again", c->o.study,
                            (long long)c->o.number);
                logged = false;
                for (size_t i = 0; i < len; i++) {
                    if (c->batch[i].step > c->known_max)
                        c->known_max = c->batch[i].step;
                    hpo_log(HPO_LOG_DEBUG, "trial %s/%lld: step %lld acknowledged", c->o.study,
                            (long long)c->o.number, (long long)c->batch[i].step);
                }
                take_action(c, a);
            } else if (len > 1 && (rc == HPO_E_INVALID || rc == HPO_E_TOO_LARGE ||
                                   rc == HPO_E_LIMIT)) {
                /* refused as a whole: send them one by one, so that only the reports the
                 * server refuses on their own are dropped (as before batching) */
                c->solo = len;
                continue;
            } else if (retry_after_error(c, "report", &err, &logged, &attempts)) {
                continue; /* the same reports again: the server keeps a step's first value */
            }
            attempts = 0;
            size_t done = len < c->n ? len : c->n; /* lose() may have emptied it */
            bool was_full = c->n >= WK_COMM_QUEUE_MAX / 2;
            c->head = (c->head + done) % c->cap;
            c->n -= done;
            c->solo = c->solo > done ? c->solo - done : 0;
            if (was_full && c->n < WK_COMM_QUEUE_MAX / 2)
                wake_runner(c); /* it reads the command's output again */
            pthread_cond_broadcast(&c->cv);
            continue;
        }
        if (c->closing)
            break;
        if (c->heartbeats && !c->lost)
            timed_wait(c, c->next_heartbeat_ms);
        else
            pthread_cond_wait(&c->cv, &c->mu);
    }
    c->n = 0;
    c->exited = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

wk_comm *wk_comm_start(const wk_comm_options *o)
{
    wk_comm *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->o = *o;
    c->cap = 256;
    c->q = malloc(c->cap * sizeof *c->q);
    c->batch = malloc(WK_BATCH_MAX * sizeof *c->batch);
    c->known_max = o->known_max;
    c->heartbeats = true;
    /* the ask set the trial's heartbeat: the next one is due a period later */
    c->next_heartbeat_ms = o->heard_mono_ms + (int64_t)o->heartbeat_s * 1000;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = c->q && c->batch ? 0 : ENOMEM;
    if (rc == 0)
        rc = pthread_mutex_init(&c->mu, NULL);
    if (rc == 0 && (rc = pthread_cond_init(&c->cv, &ca)) != 0)
        pthread_mutex_destroy(&c->mu);
    pthread_condattr_destroy(&ca);
    if (rc == 0 && (rc = pthread_create(&c->thread, NULL, comm_main, c)) != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
    }
    if (rc != 0) {
        free(c->q);
        free(c->batch);
        free(c);
        return NULL;
    }
    return c;
}

bool wk_comm_report(wk_comm *c, int64_t step, double value)
{
    pthread_mutex_lock(&c->mu);
    bool ok = true;
    if (c->lost) {
        /* nobody to tell */
    } else if (c->n == c->cap) {
        size_t cap = c->cap * 2;
        hpo_report *q = cap <= WK_COMM_QUEUE_MAX ? malloc(cap * sizeof *q) : NULL;
        if (!q) {
            ok = false;
        } else {
            for (size_t i = 0; i < c->n; i++)
                q[i] = c->q[(c->head + i) % c->cap];
            free(c->q);
            c->q = q;
            c->cap = cap;
            c->head = 0;
        }
    }
    if (ok && !c->lost) {
        c->q[(c->head + c->n) % c->cap] = (hpo_report){step, value};
        c->n++;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

size_t wk_comm_pending(wk_comm *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

hpo_action wk_comm_action(wk_comm *c, bool *ret_lost)
{
    pthread_mutex_lock(&c->mu);
    hpo_action a = c->prune_seen ? HPO_ACTION_PRUNE : c->latest;
    if (ret_lost)
        *ret_lost = c->lost;
    pthread_mutex_unlock(&c->mu);
    return a;
}

void wk_comm_flush(wk_comm *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->n > 0 && !c->exited)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

void wk_comm_drain(wk_comm *c)
{
    if (c->joined)
        return;
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    c->heartbeats = false;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    c->joined = true;
}

void wk_comm_free(wk_comm *c)
{
    if (!c)
        return;
    wk_comm_drain(c);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->q);
    free(c->batch);
    free(c);
}
