/* cmd_token: `hpo token create | list | revoke`: the server's API tokens (an admin token's
 * business). A created token's text is printed once, alone on its line, for scripts to take. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const SCOPES[] = {"read", "worker", "admin", NULL};

/* The create body from the options; 0 or an exit code. */
static int create_body(cli_ctx *ctx, const cli_args *a, json_t *body)
{
    const char *scope = cli_opt(a, "scope"), *study = cli_opt(a, "study"),
               *prefix = cli_opt(a, "study-prefix"), *name = cli_opt(a, "name"),
               *expires = cli_opt(a, "expires-in");
    bool known = false;
    for (const char *const *s = SCOPES; scope && *s; s++)
        known = known || strcmp(scope, *s) == 0;
    if (!scope)
        return cli_usage_error(ctx, "--scope is required: read, worker or admin");
    if (!known)
        return cli_usage_error(ctx, "--scope must be read, worker or admin, not '%s'", scope);
    if (study && prefix)
        return cli_usage_error(ctx, "give --study or --study-prefix, not both");
    if ((study && !*study) || (prefix && !*prefix))
        return cli_usage_error(ctx, "--study and --study-prefix need a value that is not empty");
    json_object_set_new(body, "scope", json_string(scope));
    if (study)
        json_object_set_new(body, "study", json_string(study));
    if (prefix)
        json_object_set_new(body, "study_prefix", json_string(prefix));
    if (name) {
        json_t *n = json_string(name);
        if (!n)
            return cli_usage_error(ctx, "--name is not valid UTF-8");
        json_object_set_new(body, "name", n);
    }
    if (expires) {
        long long s;
        int rc = cli_arg_int(ctx, "--expires-in", expires, 1, &s);
        if (rc)
            return rc;
        json_object_set_new(body, "expires_in", json_integer(s));
    }
    return 0;
}

/* What a token may reach: "*" (every study), the study, or "PREFIX*". malloc'd. */
static char *reach_text(const json_t *t)
{
    const char *study = json_string_value(json_object_get(t, "study"));
    const char *prefix = json_string_value(json_object_get(t, "study_prefix"));
    cli_sb b;
    cli_sb_init(&b);
    if (study)
        cli_sb_puts(&b, study);
    else if (prefix)
        cli_sb_printf(&b, "%s*", prefix);
    else
        cli_sb_puts(&b, "*");
    return cli_sb_take(&b);
}

/* A time of the API, or `none` when null. malloc'd. */
static char *time_text(const json_t *v, const char *none)
{
    return json_is_string(v) ? strdup(json_string_value(v)) : strdup(none);
}

int cmd_token_create(cli_ctx *ctx, const cli_args *a)
{
    json_t *body = json_object();
    int code = body ? create_body(ctx, a, body) : CLI_EXIT_ERROR;
    hpo_client *c = code ? NULL : cli_client(ctx, &code);
    if (!c) {
        json_decref(body);
        return code;
    }
    hpo_error err;
    json_t *t = NULL;
    hpo_rc rc = hpo_client_token_create(c, body, &t, &err);
    json_decref(body);
    if (rc)
        return cli_fail(ctx, rc, &err);
    const char *text = json_string_value(json_object_get(t, "token"));
    if (!text) {
        json_decref(t);
        fputs("hpo: the server's answer holds no token\n", ctx->err);
        return CLI_EXIT_ERROR;
    }
    if (ctx->json) {
        code = cli_print_json(ctx, t);
        json_decref(t);
        return code;
    }
    /* the token alone on the first line: `hpo token create ... | head -n 1` */
    fprintf(ctx->out, "%s\n", text);
    static const char *const keys[] = {"id", "scope", "study", "name", "created", "expires"};
    enum { NR = sizeof keys / sizeof *keys };
    char *vals[NR] = {
        cli_value_text(json_object_get(t, "id")),
        cli_value_text(json_object_get(t, "scope")),
        reach_text(t),
        cli_value_text(json_object_get(t, "name")),
        time_text(json_object_get(t, "datetime_created"), ""),
        time_text(json_object_get(t, "datetime_expires"), "never"),
    };
    const char *cells[2 * NR];
    bool oom = false;
    for (size_t i = 0; i < NR; i++) {
        cells[2 * i] = keys[i];
        cells[2 * i + 1] = vals[i] ? vals[i] : "";
        oom = oom || !vals[i];
    }
    char *table = oom ? NULL : cli_table_render(2, NULL, NR, cells);
    for (size_t i = 0; i < NR; i++)
        free(vals[i]);
    json_decref(t);
    code = cli_print_owned(ctx, table);
    if (!code)
        fputs("hpo: keep the token now: the server shows it only this once\n", ctx->err);
    return code;
}

static const char *const token_headers[] = {
    "id", "scope", "study", "name", "created", "expires", "last_used", "revoked"
};

static void token_row(const json_t *t, char **row)
{
    row[0] = cli_value_text(json_object_get(t, "id"));
    row[1] = cli_value_text(json_object_get(t, "scope"));
    row[2] = reach_text(t);
    row[3] = cli_value_text(json_object_get(t, "name"));
    row[4] = time_text(json_object_get(t, "datetime_created"), "");
    row[5] = time_text(json_object_get(t, "datetime_expires"), "never");
    row[6] = time_text(json_object_get(t, "datetime_last_used"), "never");
    row[7] = strdup(json_is_true(json_object_get(t, "revoked")) ? "yes" : "no");
}

int cmd_token_list(cli_ctx *ctx, const cli_args *a)
{
    (void)a;
    return cli_list(ctx, hpo_client_token_list, sizeof token_headers / sizeof *token_headers, token_headers,
                    token_row);
}

int cmd_token_revoke(cli_ctx *ctx, const cli_args *a)
{
    long long id;
    int code = cli_arg_int(ctx, "ID", a->pos[0], 0, &id);
    hpo_client *c = code ? NULL : cli_client(ctx, &code);
    if (!c)
        return code;
    hpo_error err;
    hpo_rc rc = hpo_client_token_revoke(c, (int64_t)id, &err);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (ctx->json) {
        json_t *j = json_pack("{s:I,s:b}", "id", (json_int_t)id, "revoked", 1);
        code = j ? cli_print_json(ctx, j) : CLI_EXIT_ERROR;
        json_decref(j);
        return code;
    }
    fprintf(ctx->out, "token %lld revoked\n", id);
    return CLI_EXIT_OK;
}
