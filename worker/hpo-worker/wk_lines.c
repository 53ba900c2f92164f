/* wk_lines: parsing of the report lines a command prints, and of --metric-regex matches. */
#include "wk_lines.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    bool has_value = false;
    while (p < end) {
        while (p < end && is_blank(*p))
            p++;
        const char *tok = p;
        while (p < end && !is_blank(*p))
            p++;
        const char *eq = memchr(tok, '=', (size_t)(p - tok));
        if (!eq)
            return bad(ret, "expected key=value tokens");
        size_t klen = (size_t)(eq - tok);
        const char *why = NULL;
        if (klen == 4 && memcmp(tok, "step", 4) == 0) {
            if (ret->has_step)
                return bad(ret, "step given twice");
            if (!parse_step(eq + 1, p, &ret->step, &why))
                return bad(ret, why);
            ret->has_step = true;
        } else if (klen == 5 && memcmp(tok, "value", 5) == 0) {
            if (has_value)
                return bad(ret, "value given twice");
            if (!parse_value(eq + 1, p, &ret->value, &why))
                return bad(ret, why);
            has_value = true;
        } else {
            return bad(ret, "unknown key (expected step= and value=)");
        }
    }
    if (!has_value)
        return bad(ret, "no value=");
    return ret->kind = ret->has_step ? WK_LINE_REPORT : WK_LINE_FINAL;
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
