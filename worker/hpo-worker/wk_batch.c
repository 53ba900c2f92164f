/* wk_batch: the decision steps of a study's pruner, and where a queue of reports is cut into
 * requests. Pure: no I/O. The rules mirror server/algo/hpo_pruner.c's (see wk_batch.h). */
#include "wk_batch.h"

#include <stdbool.h>
#include <string.h>

/* An integer option >= min, or false (missing, "auto", out of range). */
static bool int_option(const json_t *p, const char *name, int64_t min, int64_t *ret)
{
    const json_t *v = json_object_get(p, name);
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return false;
    *ret = (int64_t)json_integer_value(v);
    return true;
}

static const wk_decides every = {.kind = WK_DECIDES_EVERY, .extra = -1};

wk_decides wk_decides_of_pruner(const json_t *pruner)
{
    const char *type = json_string_value(json_object_get(pruner, "type"));
    if (!type)
        return every;
    wk_decides d = {.kind = WK_DECIDES_GRID, .extra = -1};
    if (strcmp(type, "none") == 0)
        return (wk_decides){.kind = WK_DECIDES_NEVER, .extra = -1};
    /* Optuna's interval rule: judged at the first report at or after warmup + k * interval. */
    if (strcmp(type, "median") == 0 || strcmp(type, "percentile") == 0 ||
        strcmp(type, "threshold") == 0)
        return int_option(pruner, "n_warmup_steps", 0, &d.start) &&
                       int_option(pruner, "interval_steps", 1, &d.interval)
                   ? d
                   : every;
    /* Rungs: successive halving's at min_resource * eta^(rate + k); hyperband's brackets are
     * successive halvings with rate = bracket >= 0, so their rungs are all among min * eta^k,
     * whichever bracket the trial is in; ASHA's also, plus its top rung at max_resource. */
    d.kind = WK_DECIDES_POWERS;
    int64_t rate = 0;
    bool sh = strcmp(type, "successive_halving") == 0, asha = strcmp(type, "asha") == 0;
    if (!sh && !asha && strcmp(type, "hyperband") != 0)
        return every; /* patient (judges every report) or a type this worker does not know */
    if (!int_option(pruner, "min_resource", 1, &d.start) ||
        !int_option(pruner, "reduction_factor", 2, &d.interval) ||
        (sh && !int_option(pruner, "min_early_stopping_rate", 0, &rate)) ||
        (asha && !int_option(pruner, "max_resource", 1, &d.extra)))
        return every; /* "auto": the rungs depend on the complete trials */
    for (; rate > 0; rate--) {
        if (d.start > INT64_MAX / d.interval)
            return every;
        d.start *= d.interval;
    }
    return d;
}

int64_t wk_reports_max_step(const json_t *trial)
{
    int64_t max = -1;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(trial, "intermediate_values"), i, r) {
        const json_t *s = json_object_get(r, "step");
        if (json_is_integer(s) && json_integer_value(s) > max)
            max = (int64_t)json_integer_value(s);
    }
    return max;
}

/* Whether a decision step lies in (after, upto]; after < upto. */
static bool decides_between(const wk_decides *d, int64_t after, int64_t upto)
{
    switch (d->kind) {
    case WK_DECIDES_NEVER:
        return false;
    case WK_DECIDES_GRID: {
        if (after < d->start)
            return d->start <= upto;
        int64_t k = (after - d->start) / d->interval + 1; /* the first grid step above after */
        return k <= (upto - d->start) / d->interval;
    }
    case WK_DECIDES_POWERS: {
        if (after < d->extra && d->extra <= upto)
            return true;
        int64_t p = d->start;
        while (p <= after) {
            if (p > INT64_MAX / d->interval)
                return false; /* no rung above after */
            p *= d->interval;
        }
        return p <= upto;
    }
    case WK_DECIDES_EVERY:
    default:
        return true;
    }
}

size_t wk_batch_len(const wk_decides *d, int64_t known_max, const hpo_report *q, size_t n,
                    size_t max)
{
    size_t lim = n < max ? n : max;
    int64_t prev = known_max;
    for (size_t i = 0; i < lim; i++) {
        if (q[i].step <= prev || decides_between(d, prev, q[i].step))
            return i + 1;
        prev = q[i].step;
    }
    return lim;
}
