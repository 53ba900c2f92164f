/* h_columns: a study's trials in columns for plots, whole or only what changed after a version,
 * optionally waiting for a change (long polling). Encoded straight to JSON text: a study of
 * 100,000 trials is millions of numbers, too many for a JSON tree. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_buf.h"
#include "hpo_clock.h"
#include "hpo_codec.h"
#include "hpo_numfmt.h"
#include "hpo_plots.h"
#include "hpo_routes.h"

#define MAX_WAIT_S 30

/* ---- JSON text ---- */

/* The text being written; any failed append (out of memory) is remembered. */
typedef struct {
    hpo_buf buf;
    bool failed;
} text;

static void put_n(text *b, const char *s, size_t n)
{
    if (hpo_buf_append(&b->buf, s, n))
        b->failed = true;
}

static void put(text *b, const char *s)
{
    put_n(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(text *b, const char *fmt, ...)
{
    char s[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof s)
        b->failed = true;
    else
        put_n(b, s, (size_t)n);
}

static void put_string(text *b, const char *s)
{
    if (!s) {
        put(b, "null");
        return;
    }
    put(b, "\"");
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        put_n(b, run, (size_t)((const char *)p - run));
        if (*p == '"' || *p == '\\')
            putf(b, "\\%c", *p);
        else
            putf(b, "\\u%04x", *p);
        run = (const char *)p + 1;
    }
    put(b, run);
    put(b, "\"");
}

/* A finite number in a short form that reads back the same; null otherwise. */
static void put_number(text *b, double v)
{
    char s[HPO_NUMFMT_MAX];
    size_t n = hpo_numfmt_double(v, s);
    if (n)
        put_n(b, s, n);
    else
        put(b, "null");
}

/* [v0, v1, ...], or null when n is 0 (nothing given). */
static void put_numbers(text *b, const double *v, size_t n)
{
    if (!n) {
        put(b, "null");
        return;
    }
    put(b, "[");
    for (size_t k = 0; k < n; k++) {
        if (k)
            put(b, ",");
        put_number(b, v[k]);
    }
    put(b, "]");
}

static void put_int(text *b, int64_t v)
{
    char s[HPO_NUMFMT_MAX];
    put_n(b, s, hpo_numfmt_int(v, s));
}

static void put_json(text *b, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    put(b, s ? s : "null");
    free(s);
    json_decref(j);
}

/* ---- the columns ---- */

/* The params of the trials sent, in order of first appearance, with a distribution each and,
 * for a categorical, the JSON text of each choice. */
typedef struct {
    const char *name;
    const hpo_dist *dist;
    char **choices; /* categorical: n_choices texts */
} column;

typedef struct {
    column *items;
    size_t n, cap;
} columns;

static void columns_free(columns *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        for (size_t k = 0; cs->items[i].choices && k < cs->items[i].dist->n_choices; k++)
            free(cs->items[i].choices[k]);
        free(cs->items[i].choices);
    }
    free(cs->items);
}

static size_t column_find(const columns *cs, const char *name, size_t hint)
{
    if (hint < cs->n && strcmp(cs->items[hint].name, name) == 0)
        return hint;
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->items[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

static hpo_rc columns_collect(const hpo_trials_view *v, columns *cs)
{
    for (size_t i = 0; i < v->n; i++) {
        const hpo_trial *t = v->trials[i];
        for (size_t k = 0; k < t->n_params; k++) {
            if (column_find(cs, t->params[k].name, k) != SIZE_MAX)
                continue;
            if (cs->n == cs->cap) {
                size_t cap = cs->cap ? cs->cap * 2 : 8;
                column *p = realloc(cs->items, cap * sizeof *p);
                if (!p)
                    return HPO_E_NOMEM;
                cs->items = p;
                cs->cap = cap;
            }
            column *c = &cs->items[cs->n++];
            *c = (column){t->params[k].name, &t->params[k].dist, NULL};
            if (c->dist->type != HPO_DIST_CATEGORICAL)
                continue;
            if (!(c->choices = calloc(c->dist->n_choices + 1, sizeof *c->choices)))
                return HPO_E_NOMEM;
            for (size_t ch = 0; ch < c->dist->n_choices; ch++) {
                json_t *j = hpo_choice_to_json(&c->dist->choices[ch]);
                c->choices[ch] = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
                json_decref(j);
            }
        }
    }
    return HPO_OK;
}

/* One param's value in a trial as the objective saw it. */
static void put_param(text *b, const column *c, const hpo_trial *t, size_t hint)
{
    const hpo_param *p = hint < t->n_params && strcmp(t->params[hint].name, c->name) == 0
                             ? &t->params[hint]
                             : hpo_trial_param(t, c->name);
    if (!p) {
        put(b, "null");
    } else if (p->dist.type == HPO_DIST_CATEGORICAL) {
        size_t i = (size_t)p->value;
        put(b, p->value >= 0 && i < c->dist->n_choices && c->choices[i] ? c->choices[i] : "null");
    } else if (p->dist.type == HPO_DIST_INT) {
        put_number(b, nearbyint(p->value));
    } else {
        put_number(b, p->value);
    }
}

static void put_ms(text *b, int64_t ms)
{
    if (ms > 0)
        put_int(b, ms);
    else
        put(b, "null");
}

static void put_ref(text *b, hpo_trial_ref r)
{
    if (r.set)
        putf(b, "%lld", (long long)r.number);
    else
        put(b, "null");
}

typedef struct {
    bool intermediate;
    int64_t iv_last; /* with intermediate: only the last iv_last trials having any; < 0: all */
    text out;
    size_t n;  /* trials written */
    bool full;
    char version[HPO_VERSION_MAX]; /* the version written */
} encode_ctx;

/* The trials' column `key` from `one` applied to each (comma-separated). */
#define COLUMN(b, key, v, EXPR)                                                                   \
    do {                                                                                          \
        put(b, ",\"" key "\":[");                                                                 \
        for (size_t i_ = 0; i_ < (v)->n; i_++) {                                                  \
            const hpo_trial *t = (v)->trials[i_];                                                 \
            if (i_)                                                                               \
                put(b, ",");                                                                      \
            EXPR;                                                                                 \
        }                                                                                         \
        put(b, "]");                                                                              \
    } while (0)

static hpo_rc encode(const hpo_trials_view *v, void *vctx, hpo_error *err)
{
    encode_ctx *ctx = vctx;
    text *b = &ctx->out;
    ctx->n = v->n;
    ctx->full = v->full;
    snprintf(ctx->version, sizeof ctx->version, "%s", v->version);
    columns cs = {0};
    if (columns_collect(v, &cs)) {
        columns_free(&cs);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    put(b, "{\"study\":");
    put_string(b, v->config->name);
    put(b, ",\"version\":");
    put_string(b, v->version);
    put(b, v->full ? ",\"full\":true" : ",\"full\":false");
    put(b, ",\"directions\":[");
    for (size_t d = 0; d < v->config->n_directions; d++)
        putf(b, "%s\"%s\"", d ? "," : "",
                        hpo_direction_name(v->config->directions[d]));
    putf(b, "],\"n_trials\":%lld,\"counts\":{", (long long)v->n_trials);
    for (int s = 0; s < HPO_TRIAL_STATE_COUNT; s++)
        putf(b, "%s\"%s\":%lld", s ? "," : "", hpo_trial_state_name((hpo_trial_state)s),
                        (long long)v->counts[s]);
    put(b, "},\"params\":{");
    for (size_t i = 0; i < cs.n; i++) {
        if (i)
            put(b, ",");
        put_string(b, cs.items[i].name);
        put(b, ":");
        put_json(b, hpo_dist_to_json(cs.items[i].dist));
    }
    put(b, "},\"trials\":{\"number\":[");
    for (size_t i = 0; i < v->n; i++) {
        put(b, i ? "," : "");
        put_int(b, v->trials[i]->number);
    }
    put(b, "]");
    COLUMN(b, "state", v, put_string(b, hpo_trial_state_name(t->state)));
    COLUMN(b, "values", v, put_numbers(b, t->values, t->n_values));
    COLUMN(b, "constraints", v, put_numbers(b, t->constraints, t->n_constraints));
    put(b, ",\"params\":{");
    for (size_t c = 0; c < cs.n; c++) {
        put(b, c ? "," : "");
        put_string(b, cs.items[c].name);
        put(b, ":[");
        for (size_t i = 0; i < v->n; i++) {
            if (i)
                put(b, ",");
            put_param(b, &cs.items[c], v->trials[i], c);
        }
        put(b, "]");
    }
    put(b, "}");
    COLUMN(b, "started_ms", v, put_ms(b, t->started_ms));
    COLUMN(b, "finished_ms", v, put_ms(b, t->finished_ms));
    COLUMN(b, "worker", v, put_string(b, t->worker));
    COLUMN(b, "fail_reason", v, put_string(b, t->fail_reason));
    COLUMN(b, "retry_of", v, put_ref(b, t->retry_of));
    COLUMN(b, "retried_by", v, put_ref(b, t->retried_by));
    COLUMN(b, "preempted", v, put(b, t->preempted ? "true" : "false"));
    /* the trials before iv_from get null: the last iv_last having reports come after it */
    size_t iv_from = 0;
    if (ctx->iv_last >= 0) {
        iv_from = v->n;
        for (int64_t left = ctx->iv_last; iv_from > 0 && left > 0;)
            if (v->trials[--iv_from]->n_reports)
                left--;
    }
    if (ctx->intermediate)
        COLUMN(b, "intermediate", v, {
            if (i_ < iv_from) {
                put(b, "null");
                continue;
            }
            put(b, "{\"steps\":[");
            for (size_t k = 0; k < t->n_reports; k++) {
                put(b, k ? "," : "");
                put_int(b, t->reports[k].step);
            }
            put(b, "],\"values\":[");
            for (size_t k = 0; k < t->n_reports; k++) {
                if (k)
                    put(b, ",");
                put_number(b, t->reports[k].value);
            }
            put(b, "]}");
        });
    put(b, "}}");
    columns_free(&cs);
    return b->failed ? hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory") : HPO_OK;
}

void hpo_h_columns(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    int64_t wait_s = 0;
    const char *since = hpo_request_query(req, "since");
    const char *inter = hpo_request_query(req, "intermediate");
    if (hpo_query_int(req, "wait", 0, MAX_WAIT_S, &wait_s, &err)) {
        hpo_response_error(res, &err);
        return;
    }
    encode_ctx ctx = {.intermediate = true, .iv_last = -1};
    if (inter && strcmp(inter, "false") == 0) {
        ctx.intermediate = false;
    } else if (inter && strcmp(inter, "true") != 0 &&
               hpo_query_int(req, "intermediate", 0, INT32_MAX, &ctx.iv_last, &err)) {
        hpo_error_set(&err, HPO_E_INVALID, "intermediate",
                      "intermediate must be true, false or a number of trials (0 or more)");
        hpo_response_error(res, &err);
        return;
    }
    hpo_buf_init(&ctx.out.buf, SIZE_MAX);
    hpo_rc rc = hpo_service_trials_view(svc, req->study, since, encode, &ctx, &err);
    if (!rc && !ctx.out.buf.data)
        rc = hpo_error_set(&err, HPO_E_NOMEM, NULL, "out of memory");
    if (rc) {
        hpo_buf_free(&ctx.out.buf);
        hpo_response_error(res, &err);
        return;
    }
    /* nothing changed yet: wait for a change (once woken, until the deadline set first) */
    int64_t now = hpo_clock_now_ms();
    int64_t deadline = req->waited_until_ms ? req->waited_until_ms : now + wait_s * 1000;
    if (!ctx.full && ctx.n == 0 && wait_s > 0 && now < deadline) {
        res->wait_until_ms = deadline;
        snprintf(res->wait_version, sizeof res->wait_version, "%s", ctx.version);
        hpo_buf_free(&ctx.out.buf);
        return;
    }
    res->status = 200;
    res->text_len = ctx.out.buf.len;
    res->text = ctx.out.buf.data; /* owned by res now */
}
