/* wk_comm: a running trial's conversation with the server on a thread of its own: reports queued
 * and sent in order, as many per request as wk_batch allows (never dropped while the server is
 * away), heartbeats, the actions answered. */
#ifndef WK_COMM_H
#define WK_COMM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo_client.h"
#include "wk_batch.h"

/* The most reports held for one trial; the reader stops reading the command's output (which then
 * blocks on its pipe) while this many wait. */
#define WK_COMM_QUEUE_MAX ((size_t)1 << 20)

typedef struct wk_comm wk_comm;

typedef struct {
    hpo_client *client;        /* borrowed; outlives the comm */
    const char *study;         /* borrowed */
    int64_t number;
    int heartbeat_s;
    int wake_fd;               /* written one byte when an action arrives (the runner polls it) */
    const atomic_bool *abandon;/* when set, stop retrying and drop what is queued (may be NULL) */
    wk_decides decides;        /* where the study's pruner may decide: batches end there */
    int64_t known_max;         /* the largest step the server holds for the trial (-1: none) */
    int64_t heard_mono_ms;     /* when the server last heard of the trial (its ask answered) */
} wk_comm_options;

/* Starts the thread; the first heartbeat goes heartbeat_s after heard_mono_ms. NULL when out of
 * resources. */
wk_comm *wk_comm_start(const wk_comm_options *o);

/* Queues a report. false when the queue is full (the caller waits, see wk_comm_pending). */
bool wk_comm_report(wk_comm *c, int64_t step, double value);
size_t wk_comm_pending(wk_comm *c);

/* What the server wants now: PRUNE once any answer said prune (final), else the newest answer
 * (CONTINUE before any; a pause answered continue afterwards is withdrawn). *ret_lost (may be
 * NULL) is true when the server no longer has the trial running (finished, or gone): nothing
 * more is sent for it then. */
hpo_action wk_comm_action(wk_comm *c, bool *ret_lost);

/* Waits until every queued report has been answered (or dropped: abandon, lost trial); the
 * thread goes on with heartbeats (the trial's outputs may take a while to upload). */
void wk_comm_flush(wk_comm *c);

/* Waits until every queued report has been answered (or dropped: abandon, lost trial) and stops
 * the thread; wk_comm_action still answers afterwards. */
void wk_comm_drain(wk_comm *c);
/* Drains (when not done yet) and frees c. NULL is a no-op. */
void wk_comm_free(wk_comm *c);

#endif
