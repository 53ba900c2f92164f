/* wk_tail: what is left of a trial once the server has its outcome (its log to upload, its
 * directory to remove), done on a thread of its own so that the slot takes its next trial at
 * once. */
#ifndef WK_TAIL_H
#define WK_TAIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo_client.h"

typedef struct wk_tail wk_tail;

/* Starts the thread. At most max_queued trials wait (wk_tail_add then blocks); when abandon
 * (may be NULL) is set, logs not yet sent are dropped. NULL when out of resources. */
wk_tail *wk_tail_start(hpo_client *client, size_t max_queued, const atomic_bool *abandon);

/* Queues the upload of log_path (NULL: none) as the trial's "log" artifact, then the removal of
 * dir (NULL: none). Copies its arguments. */
void wk_tail_add(wk_tail *t, const char *study, int64_t number, const char *label,
                 const char *log_path, const char *dir);

/* Waits for everything queued, ends the thread and frees t. NULL is a no-op. */
void wk_tail_stop(wk_tail *t);

#endif
