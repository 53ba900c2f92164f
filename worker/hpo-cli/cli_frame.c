/* cli_frame: name=value arguments, ISO-8601 times, and the trials frame of `hpo export` /
 * `hpo trials` (Optuna's trials_dataframe; constraints and feasibility in a constrained study)
 * with its JSON, CSV and table forms. Pure. */
#include "cli_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_parse_assignment(const char *arg, char **ret_name, json_t **ret_value, const char **why)
{
    const char *eq = strchr(arg, '=');
    if (!eq) {
        *why = "expected name=value";
        return -1;
    }
    if (eq == arg) {
        *why = "the name before '=' is empty";
        return -1;
    }
    const char *text = eq + 1;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (v && (json_is_array(v) || json_is_object(v))) {
        json_decref(v);
        v = NULL;
    }
    if (!v)
        v = json_string(text); /* NULL when text is not UTF-8 */
    if (!v) {
        *why = "the value is not valid UTF-8";
        return -1;
    }
    char *name = strndup(arg, (size_t)(eq - arg));
    if (!name) {
        json_decref(v);
        *why = "out of memory";
        return -1;
    }
    *ret_name = name;
    *ret_value = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char **p, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    *ret = v;
    return 0;
}

int cli_parse_iso8601(const char *s, int64_t *ret_ms)
{
    if (!s)
        return -1;
    const char *p = s;
    int y, mo, d, h, mi, sec;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t ms = 0;
    if (*p == '.') {
        p++;
        int scale = 100, n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (n == 0)
            return -1;
    }
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
            return -1;
        offset_min = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    if (*p)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *ret_ms = t * 1000 + ms;
    return 0;
}

void cli_frame_free(cli_frame *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_cols; i++)
        free(f->cols[i]);
    if (f->cells)
        for (size_t i = 0; i < f->n_cols * f->n_rows; i++)
            json_decref(f->cells[i]);
    free(f->cols);
    free(f->cells);
    memset(f, 0, sizeof *f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, distinct param names over every trial (borrowed from the trials). */
static const char **param_names(const json_t *trials, size_t *ret_n)
{
    size_t n = 0, cap = 0;
    const char **names = NULL;
    size_t i;
    json_t *t;
    json_array_foreach(trials, i, t) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(t, "params"), k, v) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                const char **x = realloc(names, cap * sizeof *x);
                if (!x) {
                    free(names);
                    return NULL;
                }
                names = x;
            }
            names[n++] = k;
        }
    }
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (m == 0 || strcmp(names[m - 1], names[k]) != 0)
            names[m++] = names[k];
    *ret_n = m;
    if (!names)
        names = malloc(sizeof *names); /* a valid pointer for "none" */
    return names;
}

static json_t *or_null(json_t *v)
{
    return v ? json_incref(v) : json_null();
}

/* A finished trial's feasibility in a constrained study, as the server judges it for best:
 * complete or pruned with every constraint <= 0 is "feasible", without constraints or with one
 * above 0 "infeasible"; null for the other states. */
static json_t *feasibility(const json_t *t)
{
    const char *state = json_string_value(json_object_get(t, "state"));
    if (!state || (strcmp(state, "complete") != 0 && strcmp(state, "pruned") != 0))
        return json_null();
    const json_t *cons = json_object_get(t, "constraints");
    bool ok = json_array_size(cons) > 0;
    size_t i;
    json_t *c;
    json_array_foreach(cons, i, c)
        ok = ok && json_is_number(c) && json_number_value(c) <= 0;
    return json_string(ok ? "feasible" : "infeasible");
}

static json_t *duration(const json_t *t)
{
    int64_t a, b;
    if (cli_parse_iso8601(json_string_value(json_object_get(t, "datetime_start")), &a) ||
        cli_parse_iso8601(json_string_value(json_object_get(t, "datetime_complete")), &b))
        return json_null();
    return json_real((double)(b - a) / 1000.0);
}

int cli_frame_from_trials(const json_t *trials, size_t n_objectives, cli_frame *ret)
{
    memset(ret, 0, sizeof *ret);
    if (!json_is_array(trials))
        return -1;
    size_t i;
    json_t *t;
    if (n_objectives == 0) {
        n_objectives = 1;
        json_array_foreach(trials, i, t) {
            size_t k = json_array_size(json_object_get(t, "values"));
            if (k > n_objectives)
                n_objectives = k;
        }
    }
    bool constrained = false; /* some trial gave constraints */
    json_array_foreach(trials, i, t)
        constrained = constrained || json_array_size(json_object_get(t, "constraints")) > 0;
    size_t n_params = 0;
    const char **names = param_names(trials, &n_params);
    if (!names)
        return -1;
    cli_frame f = {0};
    size_t n_cols = 2 + (n_objectives > 1 ? n_objectives : 1) + 2 * constrained + 3 + n_params;
    f.cols = calloc(n_cols, sizeof *f.cols);
    f.cells = calloc(n_cols * (json_array_size(trials) ? json_array_size(trials) : 1),
                     sizeof *f.cells);
    if (!f.cols || !f.cells)
        goto oom;
    static const char *const lead[] = {"number", "state"};
    static const char *const times[] = {"datetime_start", "datetime_complete", "duration"};
    for (size_t k = 0; k < 2; k++)
        f.cols[f.n_cols++] = strdup(lead[k]);
    if (n_objectives == 1) {
        f.cols[f.n_cols++] = strdup("value");
    } else {
        for (size_t k = 0; k < n_objectives; k++) {
            char name[40];
            snprintf(name, sizeof name, "values_%zu", k);
            f.cols[f.n_cols++] = strdup(name);
        }
    }
    if (constrained) {
        f.cols[f.n_cols++] = strdup("constraints");
        f.cols[f.n_cols++] = strdup("feasibility");
    }
    for (size_t k = 0; k < 3; k++)
        f.cols[f.n_cols++] = strdup(times[k]);
    for (size_t k = 0; k < n_params; k++) {
        size_t len = strlen(names[k]) + 8;
        char *c = malloc(len);
        if (c)
            snprintf(c, len, "params_%s", names[k]);
        f.cols[f.n_cols++] = c;
    }
    for (size_t k = 0; k < f.n_cols; k++)
        if (!f.cols[k])
            goto oom;

    json_array_foreach(trials, i, t) {
        json_t **row = f.cells + i * f.n_cols;
        size_t c = 0;
        row[c++] = or_null(json_object_get(t, "number"));
        row[c++] = or_null(json_object_get(t, "state"));
        if (n_objectives == 1) {
            json_t *v = json_object_get(t, "value");
            if (!v || json_is_null(v))
                v = json_array_get(json_object_get(t, "values"), 0);
            row[c++] = or_null(v);
        } else {
            for (size_t k = 0; k < n_objectives; k++)
                row[c++] = or_null(json_array_get(json_object_get(t, "values"), k));
        }
        if (constrained) {
            row[c++] = or_null(json_object_get(t, "constraints"));
            row[c++] = feasibility(t);
        }
        row[c++] = or_null(json_object_get(t, "datetime_start"));
        row[c++] = or_null(json_object_get(t, "datetime_complete"));
        row[c++] = duration(t);
        json_t *params = json_object_get(t, "params");
        for (size_t k = 0; k < n_params; k++)
            row[c++] = or_null(json_object_get(params, names[k]));
        f.n_rows++;
        for (size_t k = 0; k < f.n_cols; k++)
            if (!row[k])
                goto oom;
    }
    free(names);
    *ret = f;
    return 0;
oom:
    free(names);
    cli_frame_free(&f);
    return -1;
}

json_t *cli_frame_json(const cli_frame *f)
{
    json_t *arr = json_array();
    for (size_t r = 0; arr && r < f->n_rows; r++) {
        json_t *o = json_object();
        for (size_t c = 0; o && c < f->n_cols; c++)
            if (json_object_set(o, f->cols[c], f->cells[r * f->n_cols + c])) {
                json_decref(o);
                o = NULL;
            }
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

char *cli_frame_csv(const cli_frame *f)
{
    cli_sb b;
    cli_sb_init(&b);
    for (size_t c = 0; c < f->n_cols; c++) {
        if (c)
            cli_sb_putc(&b, ',');
        cli_csv_field(&b, f->cols[c]);
    }
    cli_sb_putc(&b, '\n');
    for (size_t r = 0; r < f->n_rows; r++) {
        for (size_t c = 0; c < f->n_cols; c++) {
            if (c)
                cli_sb_putc(&b, ',');
            char *s = cli_value_text(f->cells[r * f->n_cols + c]);
            if (!s) {
                cli_sb_free(&b);
                return NULL;
            }
            cli_csv_field(&b, s);
            free(s);
        }
        cli_sb_putc(&b, '\n');
    }
    return cli_sb_take(&b);
}

char *cli_frame_table(const cli_frame *f)
{
    size_t n = f->n_rows * f->n_cols;
    char **text = calloc(n ? n : 1, sizeof *text);
    if (!text)
        return NULL;
    char *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (!(text[i] = cli_value_text(f->cells[i])))
            goto done;
    out = cli_table_render(f->n_cols, (const char *const *)f->cols, f->n_rows,
                           (const char *const *)text);
done:
    for (size_t i = 0; i < n; i++)
        free(text[i]);
    free(text);
    return out;
}
