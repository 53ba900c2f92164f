/* wk_run: one trial on one slot, on a thread of its own: directories and checkpoint, the command,
 * its output, prune / pause / stop, then log, artifacts, checkpoint and the finish. */
#ifndef WK_RUN_H
#define WK_RUN_H

#include <stdatomic.h>
#include <stddef.h>

#include "hpo_client.h"
#include "wk_batch.h"
#include "wk_config.h"
#include "wk_lines.h"
#include "wk_slots.h"
#include "wk_tail.h"

/* What the worker as a whole is doing; runners read it whenever they are woken. */
typedef enum {
    WK_MODE_RUN = 0,     /* asking for work */
    WK_MODE_DRAIN = 1,   /* first signal: let running trials finish */
    WK_MODE_REQUEUE = 2, /* first signal with --requeue-on-exit: stop and hand trials back */
    WK_MODE_STOP = 3,    /* second signal: stop everything now */
} wk_mode;

/* Shared by every runner; outlives them. */
typedef struct {
    const wk_config *cfg;
    hpo_client *client;
    const wk_metric_regex *regex; /* NULL without --metric-regex */
    const char *work_dir;         /* trial directories go below it */
    const char *token;            /* the worker's token (from the flag, env or file), or NULL;
                                   * the command gets it as HPO_TOKEN */
    atomic_int mode;              /* a wk_mode */
    atomic_bool abandon;          /* set with WK_MODE_STOP: drop unsent reports */
    atomic_bool broken;           /* a runner could not start the command: ask no more */
    wk_tail *tail;                /* takes each trial's log and directory after its outcome */
} wk_ctx;

typedef struct wk_run wk_run;
/* Called on the runner's thread as its last act; the owner then joins it with wk_run_join. */
typedef void (*wk_run_done_fn)(void *ud, wk_run *r);

/* Starts a thread for trial t (taken over: freed by the runner) on slot (borrowed).
 * HPO_E_NOMEM / HPO_E_INTERNAL when it could not (t is then still the caller's). */
hpo_rc wk_run_start(wk_ctx *ctx, hpo_client_trial *t, const wk_slot *slot, size_t slot_index,
                    wk_run_done_fn done, void *ud, wk_run **ret);
/* The worker's mode changed: look at it now. */
void wk_run_wake(wk_run *r);
/* Waits for the thread and frees r. */
void wk_run_join(wk_run *r);

#endif
