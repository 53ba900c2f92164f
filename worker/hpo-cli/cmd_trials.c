/* cmd_trials: reading and seeding a study's trials: `hpo trials`, `hpo best`, `hpo enqueue`,
 * `hpo export`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Prints trials (a JSON array) as a table of the trials frame. */
static int print_frame(cli_ctx *ctx, const json_t *trials, size_t n_objectives)
{
    cli_frame f;
    if (cli_frame_from_trials(trials, n_objectives, &f))
        return cli_print_owned(ctx, NULL);
    char *text = cli_frame_table(&f);
    cli_frame_free(&f);
    return cli_print_owned(ctx, text);
}

int cmd_trials(cli_ctx *ctx, const cli_args *a)
{
    int code = 0;
    hpo_client *c = cli_client(ctx, &code);
    if (!c)
        return code;
    hpo_error err;
    json_t *trials = NULL;
    hpo_rc rc = hpo_client_trials(c, a->pos[0], cli_opt(a, "state"), &trials, &err);
    if (rc)
        return cli_fail(ctx, rc, &err);
    code = ctx->json ? cli_print_json(ctx, trials) : print_frame(ctx, trials, 0);
    json_decref(trials);
    return code;
}

int cmd_best(cli_ctx *ctx, const cli_args *a)
{
    int code = 0;
    hpo_client *c = cli_client(ctx, &code);
    if (!c)
        return code;
    hpo_error err;
    json_t *best = NULL;
    hpo_rc rc = hpo_client_best(c, a->pos[0], &best, &err);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (ctx->json) {
        code = cli_print_json(ctx, best);
    } else {
        json_t *front = json_object_get(best, "trials"); /* several objectives: the Pareto front */
        json_t *rows = front ? json_incref(front) : json_pack("[O]", best);
        code = print_frame(ctx, rows, 0);
        json_decref(rows);
    }
    json_decref(best);
    return code;
}

int cmd_enqueue(cli_ctx *ctx, const cli_args *a)
{
    json_t *params = json_object();
    for (size_t i = 1; i < a->n_pos; i++) {
        char *name = NULL;
        json_t *v = NULL;
        const char *why = NULL;
        if (cli_parse_assignment(a->pos[i], &name, &v, &why)) {
            json_decref(params);
            return cli_usage_error(ctx, "'%s': %s", a->pos[i], why);
        }
        json_object_set_new(params, name, v);
        free(name);
    }
    int code = 0;
    hpo_client *c = cli_client(ctx, &code);
    if (!c) {
        json_decref(params);
        return code;
    }
    hpo_error err;
    int64_t number = -1;
    hpo_rc rc = hpo_client_enqueue(c, a->pos[0], params, &number, &err);
    json_decref(params);
    if (rc)
        return cli_fail(ctx, rc, &err);
    if (!ctx->json) {
        fprintf(ctx->out, "Enqueued trial %lld\n", (long long)number);
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

/* The export as JSON text: an array, one object (a row) per line. */
static char *frame_json_text(const cli_frame *f)
{
    json_t *rows = cli_frame_json(f);
    if (!rows)
        return NULL;
    cli_sb b;
    cli_sb_init(&b);
    cli_sb_putc(&b, '[');
    for (size_t i = 0; i < json_array_size(rows); i++) {
        char *s = cli_json_text(json_array_get(rows, i));
        if (!s) {
            b.oom = true;
            break;
        }
        cli_sb_puts(&b, i ? ",\n" : "\n");
        cli_sb_puts(&b, s);
        free(s);
    }
    cli_sb_puts(&b, json_array_size(rows) ? "\n]\n" : "]\n");
    json_decref(rows);
    return cli_sb_take(&b);
}

int cmd_export(cli_ctx *ctx, const cli_args *a)
{
    const char *format = cli_opt(a, "format"), *output = cli_opt(a, "output");
    if (!format)
        format = "csv";
    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error(ctx, "--format must be csv or json, not '%s'", format);
    int code = 0;
    hpo_client *c = cli_client(ctx, &code);
    if (!c)
        return code;
    hpo_error err;
    json_t *study = NULL, *trials = NULL;
    hpo_rc rc = hpo_client_study_get(c, a->pos[0], &study, &err);
    if (!rc)
        rc = hpo_client_trials(c, a->pos[0], NULL, &trials, &err);
    size_t n_objectives = cli_study_objectives(study);
    json_decref(study);
    if (rc)
        return cli_fail(ctx, rc, &err);
    cli_frame f;
    int frc = cli_frame_from_trials(trials, n_objectives, &f);
    json_decref(trials);
    if (frc)
        return cli_print_owned(ctx, NULL);
    char *text = strcmp(format, "csv") == 0 ? cli_frame_csv(&f) : frame_json_text(&f);
    size_t n_rows = f.n_rows;
    cli_frame_free(&f);
    if (!output || strcmp(output, "-") == 0)
        return cli_print_owned(ctx, text);
    if (!text)
        return cli_print_owned(ctx, NULL);
    FILE *out = fopen(output, "w");
    bool ok = out && fputs(text, out) >= 0;
    ok = (out && fclose(out) == 0) && ok;
    free(text);
    if (!ok) {
        fprintf(ctx->err, "hpo: cannot write %s: %s\n", output, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    if (!ctx->json)
        fprintf(ctx->err, "Exported %zu trials to %s\n", n_rows, output);
    return 0;
}
