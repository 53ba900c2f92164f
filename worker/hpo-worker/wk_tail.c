/* wk_tail: a trial's log upload and directory removal after its outcome, on one thread. */
#include "wk_tail.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_log.h"
#include "hpo_model.h"
#include "wk_artifacts.h"

typedef struct item {
    struct item *next;
    char *study, *label, *log_path, *dir; /* owned; log_path and dir may be NULL */
    int64_t number;
} item;

struct wk_tail {
    hpo_client *client;
    const atomic_bool *abandon;
    size_t max_queued, n;
    item *head, *last;
    bool stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the queue changed */
    pthread_t thread;
};

static void item_free(item *it)
{
    free(it->study);
    free(it->label);
    free(it->log_path);
    free(it->dir);
    free(it);
}

static void settle(hpo_client *client, const atomic_bool *abandon, const item *it)
{
    if (it->log_path && !(abandon && atomic_load(abandon))) {
        hpo_error err;
        hpo_error_clear(&err);
        if (hpo_client_artifact_put(client, it->study, it->number, "log", it->log_path, &err) !=
            HPO_OK)
            hpo_log(HPO_LOG_WARN, "trial %s: log not uploaded: %s", it->label, err.message);
    }
    if (it->dir)
        wk_remove_tree(it->dir);
}

static void *tail_main(void *arg)
{
    wk_tail *t = arg;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->head && !t->stopping)
            pthread_cond_wait(&t->cv, &t->mu);
        item *it = t->head;
        if (!it)
            break; /* stopping, and nothing left */
        pthread_mutex_unlock(&t->mu);
        settle(t->client, t->abandon, it);
        pthread_mutex_lock(&t->mu);
        /* taken off only now: a full queue holds its adders until the trial is settled */
        t->head = it->next;
        if (!t->head)
            t->last = NULL;
        t->n--;
        pthread_cond_broadcast(&t->cv);
        item_free(it);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

wk_tail *wk_tail_start(hpo_client *client, size_t max_queued, const atomic_bool *abandon)
{
    wk_tail *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->client = client;
    t->abandon = abandon;
    t->max_queued = max_queued ? max_queued : 1;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        return NULL;
    }
    if (pthread_cond_init(&t->cv, NULL) != 0) {
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    if (pthread_create(&t->thread, NULL, tail_main, t) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    return t;
}

void wk_tail_add(wk_tail *t, const char *study, int64_t number, const char *label,
                 const char *log_path, const char *dir)
{
    item it0 = {.study = (char *)study, .label = (char *)label, .log_path = (char *)log_path,
                .dir = (char *)dir, .number = number};
    item *it = calloc(1, sizeof *it);
    if (it) {
        it->number = number;
        it->study = hpo_strdup(study);
        it->label = hpo_strdup(label);
        it->log_path = log_path ? hpo_strdup(log_path) : NULL;
        it->dir = dir ? hpo_strdup(dir) : NULL;
        if (!it->study || !it->label || (log_path && !it->log_path) || (dir && !it->dir)) {
            item_free(it);
            it = NULL;
        }
    }
    if (!it) { /* out of memory: now, here */
        settle(t->client, t->abandon, &it0);
        return;
    }
    pthread_mutex_lock(&t->mu);
    while (t->n >= t->max_queued)
        pthread_cond_wait(&t->cv, &t->mu);
    if (t->last)
        t->last->next = it;
    else
        t->head = it;
    t->last = it;
    t->n++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void wk_tail_stop(wk_tail *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
