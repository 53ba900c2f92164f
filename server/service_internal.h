/* service_internal: the service's own state, shared by the files of the service layer
 * (hpo_service.c, hpo_tokens.c) and nobody else. */
#ifndef HPO_SERVICE_INTERNAL_H
#define HPO_SERVICE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hpo_limits.h"
#include "hpo_service.h"
#include "hpo_store.h"
#include "hpo_tokens.h"

#define HPO_SERVICE_BUCKETS 256

struct study;

struct hpo_service {
    hpo_store *store;
    pthread_mutex_t mu;
    struct study *buckets[HPO_SERVICE_BUCKETS];
    char *artifact_dir, *artifact_tmp; /* owned; NULL until set */
    int64_t artifact_max;
    /* the reaper thread */
    pthread_t reaper;
    bool reaper_running, reaper_stop;
    int64_t reaper_interval_ms;
    pthread_mutex_t reaper_mu;
    pthread_cond_t reaper_cv;
    hpo_token_cache *tokens; /* NULL while authentication is off */
    hpo_limits limits;       /* hpo_service_set_limits; the defaults until then */
};

#endif
