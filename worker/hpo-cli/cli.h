/* cli: what the hpo command's files share: exit codes, the context (global options, the
 * client), argument parsing, errors and output. The subcommands live in cmd_*.c. */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "cli_format.h"
#include "hpo_client.h"

/* Exit codes (documented in `hpo --help`). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 1,       /* bad command line */
    CLI_EXIT_NOT_FOUND = 2,   /* no such study / trial, no best trial yet */
    CLI_EXIT_CONFLICT = 3,    /* already exists, conflict, trial already finished */
    CLI_EXIT_COMPLETE = 4,    /* the study can give no more trials */
    CLI_EXIT_UNAVAILABLE = 5, /* server unreachable or unavailable; ask --no-wait: no work now */
    CLI_EXIT_INVALID = 6,     /* the server refused an argument (400) */
    CLI_EXIT_ERROR = 7,       /* anything else */
    CLI_EXIT_DENIED = 8,      /* no token, a bad one, or one without the scope (401, 403) */
};

typedef struct {
    const char *server;  /* base URL */
    bool json;           /* --json: machine output */
    long timeout_ms;     /* per request; 0: the client's default */
    int retries;         /* -1: the client's default; 0: none */
    const char *worker;  /* sent with asks (ask --worker) */
    const char *token;      /* --token, or NULL (then HPO_TOKEN / HPO_TOKEN_FILE) */
    const char *token_file; /* --token-file, or NULL */
    const char *cacert;     /* --cacert, else $HPO_CACERT, or NULL */
    hpo_client *client;  /* made by cli_client on first use */
    FILE *out, *err;
} cli_ctx;

#define CLI_MAX_POS 256
#define CLI_MAX_OPTS 16

/* A subcommand's option: "--name" (with a value when has_arg: "--name V" or "--name=V"). */
typedef struct {
    const char *name;
    bool has_arg;
} cli_optspec;

typedef struct {
    const char *pos[CLI_MAX_POS];
    size_t n_pos;
    const cli_optspec *specs;
    const char *val[CLI_MAX_OPTS]; /* by spec index; flags get "" */
} cli_args;

typedef struct cli_command cli_command;
typedef int (*cli_run_fn)(cli_ctx *ctx, const cli_args *a);
struct cli_command {
    const char *group;        /* first word: "study", "trials", ... */
    const char *name;         /* second word ("create") or NULL */
    const char *args;         /* usage after the command words */
    const char *summary;      /* one line */
    const char *help;         /* the options, one per line, or NULL */
    const cli_optspec *opts;  /* terminated by {NULL} */
    size_t min_pos, max_pos;  /* positional arguments */
    cli_run_fn run;
};

/* Parses argv (after the command words) against cmd's options; the global options (--json,
 * --server, --timeout, --retries, --token, --token-file, --cacert) are accepted anywhere and
 * update ctx. Prints the error and
 * returns CLI_EXIT_USAGE on a bad line, -1 for --help, else 0. */
int cli_parse_args(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, cli_args *a);
const char *cli_opt(const cli_args *a, const char *name); /* the value, "" for a flag, or NULL */

/* Global option NAME (without "--") with value v; returns 0 or prints and returns USAGE. */
int cli_set_global(cli_ctx *ctx, const char *name, const char *v);
bool cli_is_global(const char *name, bool *has_arg);

/* The client on ctx->server (made once) with the token (flags beat the environment; a token
 * and a token file together are refused). NULL after printing the error (*ret_code set). */
hpo_client *cli_client(cli_ctx *ctx, int *ret_code);

/* Prints "hpo: CODE: MESSAGE (field F)" and returns the exit code of rc. */
int cli_fail(cli_ctx *ctx, hpo_rc rc, const hpo_error *err);
int cli_exit_code(hpo_rc rc);
/* Prints "hpo: MESSAGE" and returns CLI_EXIT_USAGE. */
int cli_usage_error(cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Output: JSON (compact, a newline after); a string (freed; NULL: out of memory -> 7). */
int cli_print_json(cli_ctx *ctx, const json_t *v);
int cli_print_owned(cli_ctx *ctx, char *text);

/* A list command: fetches an array with fetch and prints it as JSON (--json) or as a table of
 * n_cols columns, one row per element, whose cells row() fills with owned strings (NULL: out of
 * memory). Returns the exit code. */
typedef hpo_rc (*cli_fetch_fn)(hpo_client *c, json_t **ret, hpo_error *err);
typedef void (*cli_row_fn)(const json_t *item, char **cells);
int cli_list(cli_ctx *ctx, cli_fetch_fn fetch, size_t n_cols, const char *const *headers,
             cli_row_fn row);

/* Argument values. Each prints the problem and returns CLI_EXIT_USAGE, or 0. */
int cli_arg_int(cli_ctx *ctx, const char *what, const char *s, long long min, long long *ret);
int cli_arg_double(cli_ctx *ctx, const char *what, const char *s, double *ret);
/* JSON text, or @FILE for a file's content; *ret a new reference. */
int cli_arg_json(cli_ctx *ctx, const char *what, const char *s, json_t **ret);

/* The subcommands (cmd_study.c, cmd_trials.c, cmd_run.c, cmd_workers.c, cmd_token.c). */
int cmd_study_create(cli_ctx *ctx, const cli_args *a);
int cmd_study_list(cli_ctx *ctx, const cli_args *a);
int cmd_study_show(cli_ctx *ctx, const cli_args *a);
int cmd_study_delete(cli_ctx *ctx, const cli_args *a);
int cmd_trials(cli_ctx *ctx, const cli_args *a);
int cmd_best(cli_ctx *ctx, const cli_args *a);
int cmd_enqueue(cli_ctx *ctx, const cli_args *a);
int cmd_export(cli_ctx *ctx, const cli_args *a);
int cmd_ask(cli_ctx *ctx, const cli_args *a);
int cmd_tell(cli_ctx *ctx, const cli_args *a);
int cmd_report(cli_ctx *ctx, const cli_args *a);
int cmd_workers(cli_ctx *ctx, const cli_args *a);
int cmd_token_create(cli_ctx *ctx, const cli_args *a);
int cmd_token_list(cli_ctx *ctx, const cli_args *a);
int cmd_token_revoke(cli_ctx *ctx, const cli_args *a);

/* Shared by cmd_study.c and cmd_trials.c: the number of objectives of a study JSON. */
size_t cli_study_objectives(const json_t *study);

#endif
