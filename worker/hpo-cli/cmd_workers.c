/* cmd_workers: `hpo workers`: the registered workers, their slots and GPUs and the trials they
 * are running. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "study#3 study#4", or "" for none. */
static char *running_text(const json_t *trials)
{
    cli_sb b;
    cli_sb_init(&b);
    size_t i;
    json_t *t;
    json_array_foreach(trials, i, t) {
        const char *s = json_string_value(json_object_get(t, "study"));
        cli_sb_printf(&b, "%s%s#%" JSON_INTEGER_FORMAT, i ? " " : "", s ? s : "?",
                      json_integer_value(json_object_get(t, "number")));
    }
    return cli_sb_take(&b);
}

static char *gpus_text(const json_t *gpus)
{
    if (!json_is_array(gpus))
        return strdup("");
    cli_sb b;
    cli_sb_init(&b);
    size_t i;
    json_t *g;
    json_array_foreach(gpus, i, g) {
        char *s = cli_value_text(g);
        cli_sb_printf(&b, "%s%s", i ? "," : "", s ? s : "?");
        free(s);
    }
    return cli_sb_take(&b);
}

static const char *const worker_headers[] = {
    "id", "host", "slots", "gpus", "last_seen", "running"
};

static void worker_row(const json_t *w, char **row)
{
    row[0] = cli_value_text(json_object_get(w, "id"));
    row[1] = cli_value_text(json_object_get(w, "host"));
    row[2] = cli_value_text(json_object_get(w, "slots"));
    row[3] = gpus_text(json_object_get(w, "gpus"));
    row[4] = cli_value_text(json_object_get(w, "last_seen"));
    row[5] = running_text(json_object_get(w, "trials"));
}

int cmd_workers(cli_ctx *ctx, const cli_args *a)
{
    (void)a;
    return cli_list(ctx, hpo_client_workers, sizeof worker_headers / sizeof *worker_headers, worker_headers,
                    worker_row);
}
