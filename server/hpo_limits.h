/* hpo_limits: every limit on what a client can make the server hold (counts, names, bytes,
 * connections), as one plain value with its defaults, and its parsing from env and flags. */
#ifndef HPO_LIMITS_H
#define HPO_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"

typedef struct {
    /* counts, enforced by the service: HPO_E_LIMIT (409 limit_exceeded) */
    int64_t studies;            /* studies in the database */
    int64_t trials_per_study;   /* trials of one study, with or without max_trials */
    int64_t params_per_trial;   /* declared + fixed + suggested params of one trial */
    int64_t choices;            /* choices of one categorical distribution */
    int64_t reports_per_trial;  /* intermediate values of one trial */
    /* sizes of one input, enforced by the service: HPO_E_INVALID (400) */
    int64_t name_length;        /* bytes of a study, param, artifact or worker name or a key */
    /* bytes, enforced by the HTTP layer (bodies) and the service (artifacts): 413 too_large */
    int64_t body_bytes;         /* one JSON request body */
    int64_t artifact_bytes;     /* one artifact */
    int64_t artifact_trial_bytes; /* the artifacts of one trial */
    int64_t artifact_study_bytes; /* the artifacts of one study */
    int64_t artifact_total_bytes; /* every artifact in the artifact directory */
    /* connections, enforced by libmicrohttpd */
    int64_t connections;        /* open connections in all */
    int64_t connections_per_ip; /* open connections from one client address */
    int64_t header_bytes;       /* memory of one connection: request line and headers */
    int64_t idle_timeout_s;     /* a connection silent this long is closed */
    int64_t header_timeout_s;   /* a request head not complete this long after the connection
                                 * opened or its previous answer: the connection is closed */
    /* memory, enforced by the service's reaper */
    int64_t study_idle_s;       /* a study unused this long is dropped from memory (reloaded on
                                 * its next use) */
    /* time, enforced by the HTTP layer when the server stops */
    int64_t drain_s;            /* SIGTERM: requests in flight may finish this long */
} hpo_limits;

/* One limit: its flag (without "--"), environment variable, range and meaning. */
typedef struct {
    const char *flag;
    const char *env;
    size_t offset;  /* of its int64_t in hpo_limits */
    int64_t dflt, min, max;
    bool bytes;     /* accepts K, M, G, T suffixes (powers of 1024) */
    const char *help;
} hpo_limit_def;

extern const hpo_limit_def hpo_limit_defs[];
extern const size_t hpo_n_limit_defs;

/* The defaults (the one place they are written). */
void hpo_limits_default(hpo_limits *ret);
/* Sets the limit named by flag ("max-studies", without "--") from text, within its range.
 * HPO_E_NOT_FOUND when no limit has that flag; HPO_E_INVALID (naming the flag) on a bad value. */
hpo_rc hpo_limits_set(hpo_limits *l, const char *flag, const char *value, hpo_error *err);
/* Applies every HPO_MAX_... environment variable that is set (getenv). HPO_E_INVALID names the
 * variable at fault. */
hpo_rc hpo_limits_from_env(hpo_limits *l, hpo_error *err);
/* HPO_OK when every value is within its range; else HPO_E_INVALID naming the flag. */
hpo_rc hpo_limits_validate(const hpo_limits *l, hpo_error *err);
/* The def of a flag, or NULL. */
const hpo_limit_def *hpo_limit_find(const char *flag);

#endif
