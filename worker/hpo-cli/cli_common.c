/* cli_common: argument parsing, the client, errors mapped to exit codes, output and argument
 * values for the hpo command's subcommands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const cli_optspec GLOBALS[] = {
    {"json", false},  {"server", true},     {"timeout", true}, {"retries", true},
    {"token", true},  {"token-file", true}, {"cacert", true},  {NULL, false}};

bool cli_is_global(const char *name, bool *has_arg)
{
    for (const cli_optspec *g = GLOBALS; g->name; g++)
        if (strcmp(g->name, name) == 0) {
            *has_arg = g->has_arg;
            return true;
        }
    return false;
}

int cli_set_global(cli_ctx *ctx, const char *name, const char *v)
{
    if (strcmp(name, "json") == 0) {
        ctx->json = true;
    } else if (strcmp(name, "server") == 0) {
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            return cli_usage_error(ctx, "--server must be a URL starting with http:// or https://");
        ctx->server = v;
    } else if (strcmp(name, "timeout") == 0) {
        double s;
        int rc = cli_arg_double(ctx, "--timeout", v, &s);
        if (rc)
            return rc;
        if (s <= 0 || s > 86400)
            return cli_usage_error(ctx, "--timeout must be between 0 and 86400 seconds");
        ctx->timeout_ms = (long)ceil(s * 1000);
    } else if (strcmp(name, "retries") == 0) {
        long long n;
        int rc = cli_arg_int(ctx, "--retries", v, 0, &n);
        if (rc)
            return rc;
        if (n > 100)
            return cli_usage_error(ctx, "--retries must be at most 100");
        ctx->retries = (int)n;
    } else if (strcmp(name, "token") == 0 || strcmp(name, "token-file") == 0 ||
               strcmp(name, "cacert") == 0) {
        if (!*v)
            return cli_usage_error(ctx, "--%s needs a value that is not empty", name);
        if (strcmp(name, "token") == 0)
            ctx->token = v;
        else if (strcmp(name, "token-file") == 0)
            ctx->token_file = v;
        else
            ctx->cacert = v;
    }
    return 0;
}

/* An environment variable, NULL when unset or empty. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The token to send (*ret_owned: a copy read from a file, to free), from the flags, else from the
 * environment; 0 or an exit code after printing why. */
static int resolve_token(cli_ctx *ctx, const char **ret, char **ret_owned)
{
    const char *token = ctx->token, *file = ctx->token_file;
    *ret = NULL;
    *ret_owned = NULL;
    if (token && file)
        return cli_usage_error(ctx, "--token and --token-file together: give one of them");
    if (!token && !file) { /* a flag beats the environment, as a pair */
        token = env_value("HPO_TOKEN");
        file = env_value("HPO_TOKEN_FILE");
        if (token && file)
            return cli_usage_error(ctx,
                                   "HPO_TOKEN and HPO_TOKEN_FILE are both set: set one of them");
    }
    if (file) {
        hpo_error err;
        if (hpo_client_token_read_file(file, ret_owned, &err) != HPO_OK)
            return cli_usage_error(ctx, "%s", err.message);
        token = *ret_owned;
    }
    *ret = token;
    return 0;
}

int cli_parse_args(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->specs = cmd->opts;
    bool options_done = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
            if (!options_done && strcmp(arg, "--") == 0) {
                options_done = true;
                continue;
            }
            if (!options_done && (strcmp(arg, "-h") == 0))
                return -1;
            if (a->n_pos == CLI_MAX_POS)
                return cli_usage_error(ctx, "too many arguments");
            a->pos[a->n_pos++] = arg;
            continue;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (len == 4 && strncmp(name, "help", 4) == 0)
            return -1;
        char key[64];
        if (len >= sizeof key)
            return cli_usage_error(ctx, "unknown option %s (see hpo help)", arg);
        memcpy(key, name, len);
        key[len] = '\0';
        int idx = -1;
        bool has_arg = false, global = false;
        for (int k = 0; cmd->opts && cmd->opts[k].name; k++)
            if (strcmp(cmd->opts[k].name, key) == 0) {
                idx = k;
                has_arg = cmd->opts[k].has_arg;
            }
        if (idx < 0 && !(global = cli_is_global(key, &has_arg)))
            return cli_usage_error(ctx, "unknown option --%s for '%s%s%s' (see hpo help %s%s%s)",
                                   key, cmd->group, cmd->name ? " " : "",
                                   cmd->name ? cmd->name : "", cmd->group, cmd->name ? " " : "",
                                   cmd->name ? cmd->name : "");
        const char *v = "";
        if (has_arg) {
            if (eq)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                return cli_usage_error(ctx, "option --%s needs a value", key);
        } else if (eq) {
            return cli_usage_error(ctx, "option --%s takes no value", key);
        }
        if (global) {
            int rc = cli_set_global(ctx, key, v);
            if (rc)
                return rc;
        } else {
            a->val[idx] = v;
        }
    }
    if (a->n_pos < cmd->min_pos || a->n_pos > cmd->max_pos)
        return cli_usage_error(ctx, "usage: hpo %s%s%s %s", cmd->group, cmd->name ? " " : "",
                               cmd->name ? cmd->name : "", cmd->args);
    return 0;
}

const char *cli_opt(const cli_args *a, const char *name)
{
    for (int k = 0; a->specs && a->specs[k].name; k++)
        if (strcmp(a->specs[k].name, name) == 0)
            return a->val[k];
    return NULL;
}

hpo_client *cli_client(cli_ctx *ctx, int *ret_code)
{
    if (ctx->client)
        return ctx->client;
    const char *token = NULL;
    char *owned = NULL;
    if ((*ret_code = resolve_token(ctx, &token, &owned)) != 0)
        return NULL;
    hpo_client_options o = {.server = ctx->server,
                            .worker = ctx->worker,
                            .timeout_ms = ctx->timeout_ms,
                            .max_retries = ctx->retries < 0 ? 0 : ctx->retries == 0 ? -1
                                                                                  : ctx->retries,
                            .token = token,
                            .ca_file = ctx->cacert ? ctx->cacert : env_value("HPO_CACERT")};
    hpo_error err;
    hpo_rc rc = hpo_client_new(&o, &ctx->client, &err);
    if (owned) /* the client keeps its own copy */
        explicit_bzero(owned, strlen(owned));
    free(owned);
    if (rc) {
        *ret_code = rc == HPO_E_INVALID ? cli_usage_error(ctx, "%s", err.message)
                                        : cli_fail(ctx, rc, &err);
        return NULL;
    }
    return ctx->client;
}

int cli_exit_code(hpo_rc rc)
{
    switch (rc) {
    case HPO_OK: return CLI_EXIT_OK;
    case HPO_E_NOT_FOUND: return CLI_EXIT_NOT_FOUND;
    case HPO_E_EXISTS:
    case HPO_E_CONFLICT:
    case HPO_E_FINISHED: return CLI_EXIT_CONFLICT;
    case HPO_E_COMPLETE: return CLI_EXIT_COMPLETE;
    case HPO_E_UNAVAILABLE:
    case HPO_E_NO_WORK: return CLI_EXIT_UNAVAILABLE;
    case HPO_E_INVALID: return CLI_EXIT_INVALID;
    case HPO_E_UNAUTHENTICATED:
    case HPO_E_PERMISSION: return CLI_EXIT_DENIED;
    default: return CLI_EXIT_ERROR;
    }
}

int cli_fail(cli_ctx *ctx, hpo_rc rc, const hpo_error *err)
{
    const char *msg = err && err->message[0] ? err->message : hpo_rc_name(rc);
    fprintf(ctx->err, "hpo: %s: %s", hpo_rc_name(rc), msg);
    if (err && err->field[0])
        fprintf(ctx->err, " (field %s)", err->field);
    fputc('\n', ctx->err);
    return cli_exit_code(rc);
}

int cli_usage_error(cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hpo: ", ctx->err);
    vfprintf(ctx->err, fmt, ap);
    fputc('\n', ctx->err);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_print_owned(cli_ctx *ctx, char *text)
{
    if (!text) {
        fputs("hpo: out of memory\n", ctx->err);
        return CLI_EXIT_ERROR;
    }
    fputs(text, ctx->out);
    free(text);
    return CLI_EXIT_OK;
}

int cli_list(cli_ctx *ctx, cli_fetch_fn fetch, size_t n_cols, const char *const *headers,
             cli_row_fn row)
{
    int code = 0;
    hpo_client *c = cli_client(ctx, &code);
    if (!c)
        return code;
    hpo_error err;
    json_t *list = NULL;
    hpo_rc rc = fetch(c, &list, &err);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (ctx->json) {
        code = cli_print_json(ctx, list);
        json_decref(list);
        return code;
    }
    size_t n = json_array_size(list);
    char **cells = calloc(n * n_cols + 1, sizeof *cells);
    bool oom = !cells;
    for (size_t i = 0; cells && i < n; i++) {
        row(json_array_get(list, i), cells + i * n_cols);
        for (size_t k = 0; k < n_cols; k++)
            oom = oom || !cells[i * n_cols + k];
    }
    char *text = oom ? NULL : cli_table_render(n_cols, headers, n, (const char *const *)cells);
    for (size_t i = 0; cells && i < n * n_cols; i++)
        free(cells[i]);
    free(cells);
    json_decref(list);
    return cli_print_owned(ctx, text);
}

int cli_print_json(cli_ctx *ctx, const json_t *v)
{
    char *s = cli_json_text(v);
    int rc = cli_print_owned(ctx, s);
    if (!rc)
        fputc('\n', ctx->out);
    return rc;
}

int cli_arg_int(cli_ctx *ctx, const char *what, const char *s, long long min, long long *ret)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return cli_usage_error(ctx, "%s must be an integer, not '%s'", what, s);
    if (v < min)
        return cli_usage_error(ctx, "%s must be >= %lld", what, min);
    *ret = v;
    return 0;
}

int cli_arg_double(cli_ctx *ctx, const char *what, const char *s, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno == ERANGE || !isfinite(v))
        return cli_usage_error(ctx, "%s must be a finite number, not '%s'", what, s);
    *ret = v;
    return 0;
}

int cli_arg_json(cli_ctx *ctx, const char *what, const char *s, json_t **ret)
{
    json_error_t e;
    json_t *v;
    if (s[0] == '@') {
        v = json_load_file(s + 1, JSON_DECODE_ANY, &e);
        if (!v && e.line > 0)
            return cli_usage_error(ctx, "%s: %s: %s (line %d)", what, s + 1, e.text, e.line);
        if (!v)
            return cli_usage_error(ctx, "%s: %s", what, e.text);
    } else {
        v = json_loads(s, JSON_DECODE_ANY, &e);
        if (!v)
            return cli_usage_error(ctx, "%s is not valid JSON: %s (column %d)", what, e.text,
                                   e.column);
    }
    *ret = v;
    return 0;
}

size_t cli_study_objectives(const json_t *study)
{
    size_t n = json_array_size(json_object_get(study, "directions"));
    return n ? n : 1;
}
