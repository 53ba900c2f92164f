/* cmd_run: running trials from a shell script: `hpo ask`, `hpo report`, `hpo tell`. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hpo_numfmt.h"

int cmd_ask(cli_ctx *ctx, const cli_args *a)
{
    json_t *params = NULL;
    const char *p = cli_opt(a, "params");
    if (p) {
        int rc = cli_arg_json(ctx, "--params", p, &params);
        if (rc)
            return rc;
        if (!json_is_object(params)) {
            json_decref(params);
            return cli_usage_error(ctx, "--params must be a JSON object");
        }
    }
    ctx->worker = cli_opt(a, "worker");
    bool wait = !cli_opt(a, "no-wait");
    int code = 0;
    hpo_client *c = cli_client(ctx, &code);
    if (!c) {
        json_decref(params);
        return code;
    }
    hpo_ask_options o = {.params = params};
    hpo_client_trial *t = NULL;
    hpo_error err;
    hpo_rc rc;
    for (;;) {
        int retry_after = 0;
        rc = hpo_client_ask(c, a->pos[0], &o, &t, &retry_after, &err);
        if (rc != HPO_E_NO_WORK)
            break;
        if (!wait) {
            json_decref(params);
            fprintf(ctx->err, "hpo: no_work: no trial to run now; retry in %d s\n",
                    retry_after > 0 ? retry_after : 1);
            return CLI_EXIT_UNAVAILABLE;
        }
        sleep(retry_after > 0 && retry_after < 60 ? (unsigned)retry_after : 1);
    }
    json_decref(params);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (ctx->json) {
        code = cli_print_json(ctx, t->json);
    } else {
        /* for scripts: the number alone on the first line, then name=value per param */
        fprintf(ctx->out, "%lld\n", (long long)t->number);
        const char *k;
        json_t *v;
        json_object_foreach(t->params, k, v) {
            char *s = cli_value_text(v);
            fprintf(ctx->out, "%s=%s\n", k, s ? s : "");
            free(s);
        }
    }
    hpo_client_trial_free(t);
    return code;
}

/* The objectives a study may have (the server's limit): the most --values takes. */
#define MAX_VALUES 16

/* Parses option what's "V1,V2,..." into ret (1 to max numbers); 0 or an exit code. */
static int parse_list(cli_ctx *ctx, const char *what, const char *s, double *ret, size_t max,
                      size_t *ret_n)
{
    *ret_n = hpo_numfmt_parse_list(s, strlen(s), ret, max);
    if (!*ret_n)
        return cli_usage_error(ctx, "%s must be 1 to %zu finite numbers separated by commas, "
                               "not '%s'", what, max, s);
    return 0;
}

int cmd_tell(cli_ctx *ctx, const cli_args *a)
{
    long long number;
    int code = cli_arg_int(ctx, "NUMBER", a->pos[1], 0, &number);
    if (code)
        return code;
    const char *value = cli_opt(a, "value"), *values = cli_opt(a, "values");
    const char *state = cli_opt(a, "state"), *reason = cli_opt(a, "reason");
    const char *constraints = cli_opt(a, "constraints");
    if (value && values)
        return cli_usage_error(ctx, "give --value or --values, not both");
    if (!state && !value && !values)
        return cli_usage_error(ctx, "give --value V, --values V1,V2 or --state pruned|fail");
    double v[MAX_VALUES], cons[HPO_CONSTRAINTS_MAX];
    hpo_finish_args fa = {.state = HPO_TRIAL_COMPLETE, .values = v, .constraints = cons};
    if (state) {
        if (strcmp(state, "complete") == 0)
            fa.state = HPO_TRIAL_COMPLETE;
        else if (strcmp(state, "pruned") == 0)
            fa.state = HPO_TRIAL_PRUNED;
        else if (strcmp(state, "fail") == 0)
            fa.state = HPO_TRIAL_FAIL;
        else
            return cli_usage_error(ctx, "--state must be complete, pruned or fail, not '%s'",
                                   state);
    }
    if (value && (code = cli_arg_double(ctx, "--value", value, &v[0])))
        return code;
    if (value)
        fa.n_values = 1;
    if (values && (code = parse_list(ctx, "--values", values, v, MAX_VALUES, &fa.n_values)))
        return code;
    if (constraints && (code = parse_list(ctx, "--constraints", constraints, cons,
                                          HPO_CONSTRAINTS_MAX, &fa.n_constraints)))
        return code;
    if (fa.state == HPO_TRIAL_COMPLETE && fa.n_values == 0)
        return cli_usage_error(ctx, "a complete trial needs --value or --values");
    if (fa.state == HPO_TRIAL_FAIL && fa.n_values)
        return cli_usage_error(ctx, "a failed trial takes no value");
    if (fa.state == HPO_TRIAL_PRUNED && fa.n_values > 1)
        return cli_usage_error(ctx, "a pruned trial takes at most one value");
    if (reason && fa.state != HPO_TRIAL_FAIL)
        return cli_usage_error(ctx, "--reason goes with --state fail");
    if (constraints && fa.state == HPO_TRIAL_FAIL)
        return cli_usage_error(ctx, "--constraints go with a complete or pruned trial");
    fa.reason = reason;
    hpo_client *c = cli_client(ctx, &code);
    if (!c)
        return code;
    hpo_error err;
    hpo_rc rc = hpo_client_finish(c, a->pos[0], number, &fa, &err);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (!ctx->json) {
        fprintf(ctx->out, "Trial %lld of '%s' finished: %s\n", number, a->pos[0],
                hpo_trial_state_name(fa.state));
        return 0;
    }
    json_t *trial = NULL;
    rc = hpo_client_trial_get(c, a->pos[0], number, &trial, &err);
    if (rc)
        return cli_fail(ctx, rc, &err);
    code = cli_print_json(ctx, trial);
    json_decref(trial);
    return code;
}

int cmd_report(cli_ctx *ctx, const cli_args *a)
{
    long long number, step;
    double value;
    int code = cli_arg_int(ctx, "NUMBER", a->pos[1], 0, &number);
    if (!code)
        code = cli_arg_int(ctx, "STEP", a->pos[2], 0, &step);
    if (!code)
        code = cli_arg_double(ctx, "VALUE", a->pos[3], &value);
    hpo_client *c = code ? NULL : cli_client(ctx, &code);
    if (!c)
        return code;
    hpo_error err;
    hpo_action action = HPO_ACTION_CONTINUE;
    hpo_rc rc = hpo_client_report(c, a->pos[0], number, step, value, &action, &err);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (!ctx->json) {
        fprintf(ctx->out, "%s\n", hpo_action_name(action));
        return 0;
    }
    json_t *j = json_pack("{s:s}", "action", hpo_action_name(action));
    code = cli_print_json(ctx, j);
    json_decref(j);
    return code;
}
