/* wk_batch: where a queue of reports is cut into requests, at the decision steps the server
 * described in the ask answer. Pure: no I/O. */
#include "wk_batch.h"

#include <inttypes.h>
#include <stdio.h>

const char *wk_decides_text(const wk_decides *d, char *buf, size_t size)
{
    switch (d->kind) {
    case HPO_DECIDES_NEVER:
        snprintf(buf, size, "no step");
        break;
    case HPO_DECIDES_GRID:
        snprintf(buf, size, "steps %" PRId64 " + %" PRId64 "k", d->start, d->interval);
        break;
    case HPO_DECIDES_POWERS:
        if (d->last >= 0)
            snprintf(buf, size, "steps %" PRId64 " * %" PRId64 "^k up to %" PRId64, d->start,
                     d->interval, d->last);
        else
            snprintf(buf, size, "steps %" PRId64 " * %" PRId64 "^k", d->start, d->interval);
        break;
    case HPO_DECIDES_EVERY:
    default:
        snprintf(buf, size, "every step");
        break;
    }
    return buf;
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

size_t wk_batch_len(const wk_decides *d, int64_t known_max, const hpo_report *q, size_t n,
                    size_t max)
{
    size_t lim = n < max ? n : max;
    int64_t prev = known_max;
    for (size_t i = 0; i < lim; i++) {
        if (q[i].step <= prev || hpo_decides_between(d, prev, q[i].step))
            return i + 1;
        prev = q[i].step;
    }
    return lim;
}
