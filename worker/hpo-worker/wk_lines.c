/* wk_lines: parsing of the report lines a command prints, and of --metric-regex matches. */
#include "wk_lines.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_numfmt.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A whole token [s, e) as a finite double. */
static bool parse_value(const char *s, const char *e, double *ret, const char **why)
{
    char buf[128];
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= sizeof buf) {
        *why = "value is not a number";
        return false;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || end == buf) {
        *why = "value is not a number";
        return false;
    }
    if (!isfinite(v)) {
        *why = "value is not finite";
        return false;
    }
    *ret = v;
    return true;
}

static bool parse_step(const char *s, const char *e, int64_t *ret, const char **why)
{
    if (s == e) {
        *why = "step is not an integer >= 0";
        return false;
    }
    int64_t v = 0;
    for (const char *p = s; p < e; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10) {
            *why = "step is not an integer >= 0";
            return false;
        }
        v = v * 10 + (*p - '0');
    }
    *ret = v;
    return true;
}

static wk_line_kind bad(wk_line *r, const char *why)
{
    r->kind = WK_LINE_BAD;
    r->why = why;
    return WK_LINE_BAD;
}

_Static_assert(WK_VALUES_MAX == 16 && HPO_CONSTRAINTS_MAX == 64, "the messages below name them");

/* Whether token [tok, eq) is key. */
static bool is_key(const char *tok, const char *eq, const char *key)
{
    size_t n = strlen(key);
    return (size_t)(eq - tok) == n && memcmp(tok, key, n) == 0;
}

wk_line_kind wk_line_parse(const char *line, wk_line *ret)
{
    memset(ret, 0, sizeof *ret);
    const char *p = line;
    while (is_blank(*p))
        p++;
    if (strncmp(p, "hpo:", 4) != 0)
        return ret->kind = WK_LINE_TEXT;
    p += 4;
    const char *end = p + strlen(p);
    while (end > p && (end[-1] == '\r' || is_blank(end[-1])))
        end--;
    bool has_value = false, has_values = false, has_constraints = false;
    while (p < end) {
        while (p < end && is_blank(*p))
            p++;
        const char *tok = p;
        while (p < end && !is_blank(*p))
            p++;
        const char *eq = memchr(tok, '=', (size_t)(p - tok));
        if (!eq)
            return bad(ret, "expected key=value tokens");
        const char *why = NULL;
        if (is_key(tok, eq, "step")) {
            if (ret->has_step)
                return bad(ret, "step given twice");
            if (!parse_step(eq + 1, p, &ret->step, &why))
                return bad(ret, why);
            ret->has_step = true;
        } else if (is_key(tok, eq, "value")) {
            if (has_value)
                return bad(ret, "value given twice");
            if (!parse_value(eq + 1, p, &ret->value, &why))
                return bad(ret, why);
            has_value = true;
        } else if (is_key(tok, eq, "values")) {
            if (has_values)
                return bad(ret, "values given twice");
            ret->n_values = hpo_numfmt_parse_list(eq + 1, (size_t)(p - eq - 1), ret->values,
                                                  WK_VALUES_MAX);
            if (!ret->n_values)
                return bad(ret, "values= must be 1 to 16 finite numbers separated by commas");
            has_values = true;
        } else if (is_key(tok, eq, "constraints")) {
            if (has_constraints)
                return bad(ret, "constraints given twice");
            ret->n_constraints = hpo_numfmt_parse_list(eq + 1, (size_t)(p - eq - 1),
                                                       ret->constraints, HPO_CONSTRAINTS_MAX);
            if (!ret->n_constraints)
                return bad(ret, "constraints= must be 1 to 64 finite numbers separated by commas");
            has_constraints = true;
        } else {
            return bad(ret, "unknown key (expected step=, value=, values= or constraints=)");
        }
    }
    if (has_value && has_values)
        return bad(ret, "give value= or values=, not both");
    if (ret->has_step && (has_values || has_constraints))
        return bad(ret, "a report (step=) takes value= only");
    if (ret->has_step && !has_value)
        return bad(ret, "no value=");
    if (ret->has_step)
        return ret->kind = WK_LINE_REPORT;
    if (has_value) {
        ret->n_values = 1;
        ret->values[0] = ret->value;
    } else if (has_values) {
        ret->value = ret->values[0];
    } else if (has_constraints) {
        return ret->kind = WK_LINE_CONSTRAINTS;
    } else {
        return bad(ret, "no value=");
    }
    return ret->kind = WK_LINE_FINAL;
}

hpo_rc wk_metric_regex_compile(const char *pattern, wk_metric_regex *ret, hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    int rc = regcomp(&ret->re, pattern, REG_EXTENDED);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &ret->re, msg, sizeof msg);
        return hpo_error_set(err, HPO_E_INVALID, "metric-regex", "bad --metric-regex: %s", msg);
    }
    if (ret->re.re_nsub == 0) {
        regfree(&ret->re);
        return hpo_error_set(err, HPO_E_INVALID, "metric-regex",
                             "--metric-regex needs a capture group for the value "
                             "(or two: the step, then the value)");
    }
    if (ret->re.re_nsub >= 2) {
        ret->step_group = 1;
        ret->value_group = 2;
    } else {
        ret->value_group = 1;
    }
    return HPO_OK;
}

void wk_metric_regex_free(wk_metric_regex *m)
{
    if (m && m->value_group)
        regfree(&m->re);
    if (m)
        m->value_group = 0;
}

wk_line_kind wk_metric_regex_match(const wk_metric_regex *m, const char *line, wk_line *ret)
{
    memset(ret, 0, sizeof *ret);
    regmatch_t g[3];
    if (regexec(&m->re, line, 3, g, 0) != 0)
        return ret->kind = WK_LINE_TEXT;
    const char *why = NULL;
    regmatch_t v = g[m->value_group];
    if (v.rm_so < 0 || !parse_value(line + v.rm_so, line + v.rm_eo, &ret->value, &why))
        return bad(ret, why ? why : "value group did not match");
    if (m->step_group && g[m->step_group].rm_so >= 0) {
        regmatch_t s = g[m->step_group];
        if (!parse_step(line + s.rm_so, line + s.rm_eo, &ret->step, &why))
            return bad(ret, why);
        ret->has_step = true;
    }
    return ret->kind = WK_LINE_REPORT;
}
