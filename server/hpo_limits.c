/* hpo_limits: the defaults of every server limit, in one table that the flags, the environment,
 * the usage text and the checks read. */
#include "hpo_limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((int64_t)1 << 10)
#define MiB ((int64_t)1 << 20)
#define GiB ((int64_t)1 << 30)
#define TiB ((int64_t)1 << 40)
#define F(field) offsetof(hpo_limits, field)

/* Defaults: far above what a GPU cluster does in normal use (README "Limits" says why each),
 * low enough that one client cannot make the server hold without bound. */
const hpo_limit_def hpo_limit_defs[] = {
    {"max-studies", "HPO_MAX_STUDIES", F(studies), 10000, 1, 1000000000, false,
     "studies in the database"},
    {"max-trials-per-study", "HPO_MAX_TRIALS_PER_STUDY", F(trials_per_study), 100000, 1,
     1000000000, false, "trials of one study (max_trials or not)"},
    {"max-params-per-trial", "HPO_MAX_PARAMS_PER_TRIAL", F(params_per_trial), 1000, 1, 1000000,
     false, "params of one trial: search space, fixed and suggested"},
    {"max-choices", "HPO_MAX_CHOICES", F(choices), 10000, 1, 10000000, false,
     "choices of one categorical distribution"},
    {"max-reports-per-trial", "HPO_MAX_REPORTS_PER_TRIAL", F(reports_per_trial), 100000, 1,
     1000000000, false, "intermediate values (steps) of one trial"},
    {"max-name-length", "HPO_MAX_NAME_LENGTH", F(name_length), 256, 8, 256, false,
     "bytes of a name: study, param, artifact, worker, user_attrs key"},
    {"max-body-bytes", "HPO_MAX_BODY_BYTES", F(body_bytes), 1 * MiB, 1 * KiB, 1 * GiB, true,
     "one JSON request body"},
    {"artifact-max-bytes", "HPO_ARTIFACT_MAX_BYTES", F(artifact_bytes), 10 * GiB, 1,
     INT64_MAX / 2, true, "one artifact"},
    {"max-artifact-bytes-per-trial", "HPO_MAX_ARTIFACT_BYTES_PER_TRIAL", F(artifact_trial_bytes),
     100 * GiB, 1, INT64_MAX / 2, true, "the artifacts of one trial"},
    {"max-artifact-bytes-per-study", "HPO_MAX_ARTIFACT_BYTES_PER_STUDY", F(artifact_study_bytes),
     2 * TiB, 1, INT64_MAX / 2, true, "the artifacts of one study"},
    {"max-artifact-bytes-total", "HPO_MAX_ARTIFACT_BYTES_TOTAL", F(artifact_total_bytes),
     4 * TiB, 1, INT64_MAX / 2, true, "every artifact in the artifact directory"},
    {"max-connections", "HPO_MAX_CONNECTIONS", F(connections), 4096, 1, 1000000, false,
     "open connections in all"},
    {"max-connections-per-ip", "HPO_MAX_CONNECTIONS_PER_IP", F(connections_per_ip), 256, 1,
     1000000, false, "open connections from one client address"},
    {"max-header-bytes", "HPO_MAX_HEADER_BYTES", F(header_bytes), 64 * KiB, 4 * KiB, 16 * MiB,
     true, "request line and headers of one request"},
    {"idle-timeout", "HPO_IDLE_TIMEOUT", F(idle_timeout_s), 30, 1, 86400, false,
     "seconds before a silent connection is closed"},
    {"header-timeout", "HPO_HEADER_TIMEOUT", F(header_timeout_s), 30, 1, 86400, false,
     "seconds to send a request line and headers (slow clients are closed)"},
    {"study-idle-seconds", "HPO_STUDY_IDLE_SECONDS", F(study_idle_s), 600, 1, 31536000, false,
     "seconds a study stays in memory unused (then it is reloaded from PostgreSQL on demand)"},
    {"drain-seconds", "HPO_DRAIN_SECONDS", F(drain_s), 10, 0, 3600, false,
     "seconds a stopping server (SIGTERM, SIGINT) lets the requests in flight finish"},
};
const size_t hpo_n_limit_defs = sizeof hpo_limit_defs / sizeof hpo_limit_defs[0];

static int64_t *slot(hpo_limits *l, const hpo_limit_def *d)
{
    return (int64_t *)(void *)((char *)l + d->offset);
}

static int64_t value_of(const hpo_limits *l, const hpo_limit_def *d)
{
    return *(const int64_t *)(const void *)((const char *)l + d->offset);
}

void hpo_limits_default(hpo_limits *ret)
{
    memset(ret, 0, sizeof *ret);
    for (size_t i = 0; i < hpo_n_limit_defs; i++)
        *slot(ret, &hpo_limit_defs[i]) = hpo_limit_defs[i].dflt;
}

const hpo_limit_def *hpo_limit_find(const char *flag)
{
    for (size_t i = 0; flag && i < hpo_n_limit_defs; i++)
        if (strcmp(hpo_limit_defs[i].flag, flag) == 0)
            return &hpo_limit_defs[i];
    return NULL;
}

/* A decimal integer, with a K/M/G/T suffix (powers of 1024) for byte limits. */
static int parse(const hpo_limit_def *d, const char *s, int64_t *ret)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    int64_t unit = 1;
    if (d->bytes && *end) {
        switch (*end) {
        case 'K': case 'k': unit = KiB; break;
        case 'M': case 'm': unit = MiB; break;
        case 'G': case 'g': unit = GiB; break;
        case 'T': case 't': unit = TiB; break;
        default: return -1;
        }
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
    }
    if (*end || (int64_t)v > INT64_MAX / unit)
        return -1;
    *ret = (int64_t)v * unit;
    return 0;
}

static hpo_rc set(hpo_limits *l, const hpo_limit_def *d, const char *value, const char *source,
                  hpo_error *err)
{
    int64_t v;
    if (!value || parse(d, value, &v) || v < d->min || v > d->max)
        return hpo_error_set(err, HPO_E_INVALID, d->flag,
                             "%s must be an integer from %lld to %lld%s, got '%s'", source,
                             (long long)d->min, (long long)d->max,
                             d->bytes ? " (bytes; K, M, G, T suffixes allowed)" : "",
                             value ? value : "");
    *slot(l, d) = v;
    return HPO_OK;
}

hpo_rc hpo_limits_set(hpo_limits *l, const char *flag, const char *value, hpo_error *err)
{
    const hpo_limit_def *d = hpo_limit_find(flag);
    if (!d)
        return hpo_error_set(err, HPO_E_NOT_FOUND, flag, "no limit is named --%s",
                             flag ? flag : "");
    char source[64];
    snprintf(source, sizeof source, "--%s", d->flag);
    return set(l, d, value, source, err);
}

hpo_rc hpo_limits_validate(const hpo_limits *l, hpo_error *err)
{
    for (size_t i = 0; i < hpo_n_limit_defs; i++) {
        const hpo_limit_def *d = &hpo_limit_defs[i];
        int64_t v = value_of(l, d);
        if (v < d->min || v > d->max)
            return hpo_error_set(err, HPO_E_INVALID, d->flag,
                                 "--%s must be from %lld to %lld, got %lld", d->flag,
                                 (long long)d->min, (long long)d->max, (long long)v);
    }
    return HPO_OK;
}

hpo_rc hpo_limits_from_env(hpo_limits *l, hpo_error *err)
{
    for (size_t i = 0; i < hpo_n_limit_defs; i++) {
        const char *v = getenv(hpo_limit_defs[i].env);
        hpo_rc rc = v ? set(l, &hpo_limit_defs[i], v, hpo_limit_defs[i].env, err) : HPO_OK;
        if (rc)
            return rc;
    }
    return HPO_OK;
}
