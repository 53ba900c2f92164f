/* hpo_expo: the Prometheus text exposition format 0.0.4 (see hpo_expo.h); formatting only. */
#include "hpo_expo.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hpo_numfmt.h"

bool hpo_expo_valid_name(const char *s, bool label)
{
    if (!s || !*s || (label && s[0] == '_' && s[1] == '_'))
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                     (!label && *p == ':');
        if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

/* Appends s with \ and newline escaped, and " too when quoted (label values). */
static hpo_rc append_escaped(hpo_buf *b, const char *s, bool quoted)
{
    for (const char *p = s;;) {
        size_t run = strcspn(p, quoted ? "\\\"\n" : "\\\n");
        hpo_rc rc = hpo_buf_append(b, p, run);
        if (rc || p[run] == '\0')
            return rc;
        const char *esc = p[run] == '\n' ? "\\n" : p[run] == '"' ? "\\\"" : "\\\\";
        if ((rc = hpo_buf_append(b, esc, 2)))
            return rc;
        p += run + 1;
    }
}

hpo_rc hpo_expo_family(hpo_buf *b, const char *name, const char *type, const char *help)
{
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    bool known = false;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        known = known || strcmp(type, types[i]) == 0;
    if (!known || !hpo_expo_valid_name(name, false))
        return HPO_E_INVALID;
    size_t mark = b->len;
    hpo_rc rc = hpo_buf_appendf(b, "# HELP %s ", name);
    if (!rc)
        rc = append_escaped(b, help ? help : "", false);
    if (!rc)
        rc = hpo_buf_appendf(b, "\n# TYPE %s %s\n", name, type);
    if (rc && b->data) {
        b->len = mark; /* no half a header */
        b->data[mark] = '\0';
    }
    return rc;
}

/* A value as the format reads it (Go's ParseFloat): NaN, +Inf, -Inf, or a number. */
static void format_value(double v, char out[HPO_NUMFMT_MAX])
{
    if (isnan(v))
        snprintf(out, HPO_NUMFMT_MAX, "NaN");
    else if (isinf(v))
        snprintf(out, HPO_NUMFMT_MAX, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9e15)
        out[hpo_numfmt_int((int64_t)v, out)] = '\0';
    else
        out[hpo_numfmt_double(v, out)] = '\0';
}

/* name suffix{labels[,extra="extra_value"]} value_text */
static hpo_rc sample_line(hpo_buf *b, const char *name, const char *suffix,
                          const hpo_expo_label *labels, size_t n, const char *extra,
                          const char *extra_value, const char *value_text)
{
    if (!hpo_expo_valid_name(name, false))
        return HPO_E_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!hpo_expo_valid_name(labels[i].name, true) || !labels[i].value)
            return HPO_E_INVALID;
    size_t mark = b->len;
    hpo_rc rc = hpo_buf_appendf(b, "%s%s", name, suffix);
    for (size_t i = 0; !rc && i < n + (extra != NULL); i++) {
        const char *ln = i < n ? labels[i].name : extra;
        const char *lv = i < n ? labels[i].value : extra_value;
        rc = hpo_buf_appendf(b, "%s%s=\"", i == 0 ? "{" : ",", ln);
        if (!rc)
            rc = append_escaped(b, lv, true);
        if (!rc)
            rc = hpo_buf_append(b, "\"", 1);
    }
    if (!rc && n + (extra != NULL) > 0)
        rc = hpo_buf_append(b, "}", 1);
    if (!rc)
        rc = hpo_buf_appendf(b, " %s\n", value_text);
    if (rc && b->data) {
        b->len = mark; /* no half a line */
        b->data[mark] = '\0';
    }
    return rc;
}

hpo_rc hpo_expo_sample(hpo_buf *b, const char *name, const hpo_expo_label *labels, size_t n,
                       double value)
{
    char text[HPO_NUMFMT_MAX];
    format_value(value, text);
    return sample_line(b, name, "", labels, n, NULL, NULL, text);
}

hpo_rc hpo_expo_sample_u64(hpo_buf *b, const char *name, const hpo_expo_label *labels, size_t n,
                           uint64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, value);
    return sample_line(b, name, "", labels, n, NULL, NULL, text);
}

hpo_rc hpo_expo_histogram(hpo_buf *b, const char *name, const hpo_expo_label *labels, size_t n,
                          const double *bounds, size_t n_bounds, const uint64_t *counts,
                          double sum)
{
    for (size_t i = 1; i < n_bounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return HPO_E_INVALID;
    size_t mark = b->len;
    uint64_t total = 0;
    char le[HPO_NUMFMT_MAX], value[24];
    hpo_rc rc = HPO_OK;
    for (size_t i = 0; !rc && i <= n_bounds; i++) {
        total += counts[i];
        if (i < n_bounds)
            format_value(bounds[i], le);
        else
            snprintf(le, sizeof le, "+Inf");
        snprintf(value, sizeof value, "%" PRIu64, total);
        rc = sample_line(b, name, "_bucket", labels, n, "le", le, value);
    }
    char sum_text[HPO_NUMFMT_MAX];
    format_value(sum, sum_text);
    if (!rc)
        rc = sample_line(b, name, "_sum", labels, n, NULL, NULL, sum_text);
    snprintf(value, sizeof value, "%" PRIu64, total);
    if (!rc)
        rc = sample_line(b, name, "_count", labels, n, NULL, NULL, value);
    if (rc && b->data) {
        b->len = mark;
        b->data[mark] = '\0';
    }
    return rc;
}
