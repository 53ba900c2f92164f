/* cmd_study: `hpo study create | list | show | delete`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "--sampler tpe" is {"type":"tpe"}; anything else is JSON (or @FILE) and must be an object. */
static int typed_object(cli_ctx *ctx, const char *what, const char *s, json_t **ret)
{
    if (s[0] && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == strlen(s) && strcmp(s, "null") &&
        strcmp(s, "true") && strcmp(s, "false")) {
        *ret = json_pack("{s:s}", "type", s);
        return 0;
    }
    int rc = cli_arg_json(ctx, what, s, ret);
    if (!rc && !json_is_object(*ret)) {
        json_decref(*ret);
        *ret = NULL;
        return cli_usage_error(ctx, "%s must be a JSON object (or a type name)", what);
    }
    return rc;
}

static int object_arg(cli_ctx *ctx, const char *what, const char *s, json_t **ret)
{
    int rc = cli_arg_json(ctx, what, s, ret);
    if (!rc && !json_is_object(*ret)) {
        json_decref(*ret);
        *ret = NULL;
        return cli_usage_error(ctx, "%s must be a JSON object", what);
    }
    return rc;
}

/* The create body from the options; 0 or an exit code. */
static int create_config(cli_ctx *ctx, const cli_args *a, json_t *cfg)
{
    const char *dir = cli_opt(a, "direction"), *dirs = cli_opt(a, "directions");
    if (dir && dirs)
        return cli_usage_error(ctx, "give --direction or --directions, not both");
    if (dir)
        json_object_set_new(cfg, "direction", json_string(dir));
    if (dirs) {
        json_t *arr = json_array();
        json_object_set_new(cfg, "directions", arr);
        const char *p = dirs;
        for (;;) {
            size_t n = strcspn(p, ",");
            if (n == 0)
                return cli_usage_error(ctx, "--directions: an empty direction in '%s'", dirs);
            json_array_append_new(arr, json_stringn(p, n));
            if (!p[n])
                break;
            p += n + 1;
        }
    }
    static const struct {
        const char *opt, *key;
        bool typed;
    } objs[] = {{"sampler", "sampler", true},
                {"pruner", "pruner", true},
                {"search-space", "search_space", false}};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
        const char *s = cli_opt(a, objs[i].opt);
        if (!s)
            continue;
        char what[32];
        snprintf(what, sizeof what, "--%s", objs[i].opt);
        json_t *v = NULL;
        int rc = objs[i].typed ? typed_object(ctx, what, s, &v) : object_arg(ctx, what, s, &v);
        if (rc)
            return rc;
        json_object_set_new(cfg, objs[i].key, v);
    }
    const char *s;
    if ((s = cli_opt(a, "max-trials"))) {
        long long n;
        int rc = cli_arg_int(ctx, "--max-trials", s, 1, &n);
        if (rc)
            return rc;
        json_object_set_new(cfg, "max_trials", json_integer(n));
    }
    if ((s = cli_opt(a, "heartbeat-grace"))) {
        double g;
        int rc = cli_arg_double(ctx, "--heartbeat-grace", s, &g);
        if (rc)
            return rc;
        json_object_set_new(cfg, "heartbeat_grace", json_real(g));
    }
    return 0;
}

static char *directions_text(const json_t *study)
{
    cli_sb b;
    cli_sb_init(&b);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(study, "directions"), i, d) {
        if (i)
            cli_sb_putc(&b, ',');
        cli_sb_puts(&b, json_string_value(d) ? json_string_value(d) : "?");
    }
    return cli_sb_take(&b);
}

static const char *type_of(const json_t *study, const char *key)
{
    const char *t = json_string_value(json_object_get(json_object_get(study, key), "type"));
    return t ? t : "?";
}

int cmd_study_create(cli_ctx *ctx, const cli_args *a)
{
    const char *name = a->pos[0];
    bool load = cli_opt(a, "load-if-exists") != NULL;
    json_t *cfg = json_pack("{s:s}", "name", name);
    int code = create_config(ctx, a, cfg);
    hpo_client *c = code ? NULL : cli_client(ctx, &code);
    if (!c) {
        json_decref(cfg);
        return code;
    }
    hpo_error err;
    bool existed = false;
    json_t *study = NULL;
    if (load) /* only to say "loaded" or "created": the create below decides */
        existed = hpo_client_study_get(c, name, NULL, &err) == HPO_OK;
    hpo_rc rc = hpo_client_study_create(c, cfg, load, &study, &err);
    json_decref(cfg);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (ctx->json) {
        code = cli_print_json(ctx, study);
    } else {
        char *dirs = directions_text(study);
        fprintf(ctx->out, "%s study '%s' (%s; sampler %s, pruner %s)\n",
                existed ? "Loaded" : "Created", name, dirs ? dirs : "?", type_of(study, "sampler"),
                type_of(study, "pruner"));
        free(dirs);
    }
    json_decref(study);
    return code;
}

static json_int_t count_of(const json_t *s, const char *state)
{
    return json_integer_value(json_object_get(json_object_get(s, "counts"), state));
}

static const char *const study_headers[] = {
    "name", "directions", "trials", "complete", "running", "waiting", "paused", "pruned", "fail",
    "best_value", "datetime_created"
};

static void study_row(const json_t *s, char **row)
{
    row[0] = cli_value_text(json_object_get(s, "name"));
    row[1] = directions_text(s);
    row[2] = cli_value_text(json_object_get(s, "n_trials"));
    static const char *const states[] = {"complete", "running", "waiting",
                                         "paused",   "pruned",  "fail"};
    for (size_t k = 0; k < 6; k++) {
        char num[32];
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, count_of(s, states[k]));
        row[3 + k] = strdup(num);
    }
    row[9] = cli_value_text(json_object_get(s, "best_value"));
    row[10] = cli_value_text(json_object_get(s, "datetime_created"));
}

int cmd_study_list(cli_ctx *ctx, const cli_args *a)
{
    (void)a;
    return cli_list(ctx, hpo_client_study_list, sizeof study_headers / sizeof *study_headers, study_headers,
                    study_row);
}

/* One line per declared param: name, type and range. */
static char *space_text(const json_t *space)
{
    size_t n = json_object_size(space), i = 0;
    char **cells = calloc(2 * n + 1, sizeof *cells);
    if (!cells)
        return NULL;
    const char *k;
    json_t *d;
    json_object_foreach((json_t *)space, k, d) {
        cells[2 * i] = malloc(strlen(k) + 3);
        if (cells[2 * i])
            snprintf(cells[2 * i], strlen(k) + 3, "  %s", k);
        cells[2 * i + 1] = cli_json_text(d);
        i++;
    }
    char *text = cli_table_render(2, NULL, n, (const char *const *)cells);
    for (i = 0; i < 2 * n; i++)
        free(cells[i]);
    free(cells);
    return text;
}

int cmd_study_show(cli_ctx *ctx, const cli_args *a)
{
    int code = 0;
    hpo_client *c = cli_client(ctx, &code);
    if (!c)
        return code;
    hpo_error err;
    json_t *s = NULL;
    hpo_rc rc = hpo_client_study_get(c, a->pos[0], &s, &err);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (ctx->json) {
        code = cli_print_json(ctx, s);
        json_decref(s);
        return code;
    }
    char *v[9] = {0};
    v[0] = cli_value_text(json_object_get(s, "name"));
    v[1] = directions_text(s);
    v[2] = cli_json_text(json_object_get(s, "sampler"));
    v[3] = cli_json_text(json_object_get(s, "pruner"));
    json_t *mt = json_object_get(s, "max_trials"), *hg = json_object_get(s, "heartbeat_grace");
    v[4] = mt && !json_is_null(mt) ? cli_value_text(mt) : strdup("none");
    v[5] = hg && !json_is_null(hg) ? cli_value_text(hg) : strdup("none");
    v[6] = cli_value_text(json_object_get(s, "datetime_created"));
    cli_sb b;
    cli_sb_init(&b);
    cli_sb_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(s, "n_trials")));
    const char *k;
    json_t *x;
    bool first = true;
    json_object_foreach(json_object_get(s, "counts"), k, x) {
        if (json_integer_value(x) == 0)
            continue;
        cli_sb_printf(&b, "%s%s %" JSON_INTEGER_FORMAT, first ? " (" : ", ", k,
                      json_integer_value(x));
        first = false;
    }
    if (!first)
        cli_sb_putc(&b, ')');
    v[7] = cli_sb_take(&b);
    json_t *best = json_object_get(s, "best_trial");
    if (best && !json_is_null(best)) {
        char *val = cli_value_text(json_object_get(best, "value"));
        char *params = cli_json_text(json_object_get(best, "params"));
        cli_sb_init(&b);
        cli_sb_printf(&b, "%" JSON_INTEGER_FORMAT " (value %s, params %s)",
                      json_integer_value(json_object_get(best, "number")), val ? val : "?",
                      params ? params : "?");
        v[8] = cli_sb_take(&b);
        free(val);
        free(params);
    } else {
        v[8] = strdup("none");
    }
    static const char *const keys[] = {"name:",       "directions:",      "sampler:",
                                       "pruner:",     "max_trials:",      "heartbeat_grace:",
                                       "created:",    "trials:",          "best_trial:"};
    const char *cells[18];
    for (size_t i = 0; i < 9; i++) {
        cells[2 * i] = keys[i];
        cells[2 * i + 1] = v[i] ? v[i] : "?";
    }
    char *text = cli_table_render(2, NULL, 9, cells);
    char *space = space_text(json_object_get(s, "search_space"));
    code = cli_print_owned(ctx, text);
    if (!code) {
        fputs(json_object_size(json_object_get(s, "search_space")) ? "search_space:\n"
                                                                    : "search_space: (none)\n",
              ctx->out);
        code = cli_print_owned(ctx, space);
    } else {
        free(space);
    }
    for (size_t i = 0; i < 9; i++)
        free(v[i]);
    json_decref(s);
    return code;
}

int cmd_study_delete(cli_ctx *ctx, const cli_args *a)
{
    if (!cli_opt(a, "yes"))
        return cli_usage_error(ctx, "deleting study '%s' removes all its trials: add --yes",
                               a->pos[0]);
    int code = 0;
    hpo_client *c = cli_client(ctx, &code);
    if (!c)
        return code;
    hpo_error err;
    hpo_rc rc = hpo_client_study_delete(c, a->pos[0], &err);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (!ctx->json) /* the server answers 204 with no body: --json prints nothing */
        fprintf(ctx->out, "Deleted study '%s'\n", a->pos[0]);
    return 0;
}
