/* hpo_header_watch: the connections waiting for a request head, in a list under one mutex, and
 * a thread that shuts down the sockets of those past their deadline (libmicrohttpd then sees the
 * connection end and closes it as usual). */
#include "hpo_header_watch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define CHECK_MS 250

struct hpo_watched {
    int fd;
    bool waiting;     /* for a request head */
    bool cut;         /* shut down already */
    int64_t since_ms; /* when the wait began */
    struct hpo_watched *prev, *next;
};

struct hpo_header_watch {
    int64_t deadline_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hpo_watched *head;
    bool stop;
    pthread_t thread;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *watch_main(void *arg)
{
    hpo_header_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += CHECK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
        int64_t now = now_ms();
        for (hpo_watched *c = w->head; c; c = c->next) {
            if (c->waiting && !c->cut && now - c->since_ms > w->deadline_ms) {
                shutdown(c->fd, SHUT_RDWR);
                c->cut = true;
            }
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

hpo_rc hpo_header_watch_new(int64_t deadline_ms, hpo_header_watch **ret, hpo_error *err)
{
    hpo_header_watch *w = calloc(1, sizeof *w);
    if (!w)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    w->deadline_ms = deadline_ms;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot start the header watch thread");
    }
    *ret = w;
    return HPO_OK;
}

void hpo_header_watch_free(hpo_header_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    while (w->head) {
        hpo_watched *next = w->head->next;
        free(w->head);
        w->head = next;
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

hpo_watched *hpo_header_watch_add(hpo_header_watch *w, int fd)
{
    hpo_watched *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->waiting = true;
    c->since_ms = now_ms();
    pthread_mutex_lock(&w->mu);
    c->next = w->head;
    if (w->head)
        w->head->prev = c;
    w->head = c;
    pthread_mutex_unlock(&w->mu);
    return c;
}

void hpo_header_watch_head_done(hpo_header_watch *w, hpo_watched *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&w->mu);
    c->waiting = false;
    pthread_mutex_unlock(&w->mu);
}

void hpo_header_watch_answered(hpo_header_watch *w, hpo_watched *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&w->mu);
    c->waiting = true;
    c->since_ms = now_ms();
    pthread_mutex_unlock(&w->mu);
}

void hpo_header_watch_remove(hpo_header_watch *w, hpo_watched *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&w->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&w->mu);
    free(c);
}
