/* main: the `hpo` command: global options, the dispatch table of subcommands, help and exit
 * codes. The subcommands are in cmd_*.c. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_SERVER "http://127.0.0.1:8080"

static const cli_optspec OPTS_NONE[] = {{NULL, false}};
static const cli_optspec OPTS_CREATE[] = {
    {"direction", true},  {"directions", true}, {"sampler", true},
    {"pruner", true},     {"search-space", true}, {"max-trials", true},
    {"heartbeat-grace", true}, {"load-if-exists", false}, {NULL, false}};
static const cli_optspec OPTS_DELETE[] = {{"yes", false}, {NULL, false}};
static const cli_optspec OPTS_TRIALS[] = {{"state", true}, {NULL, false}};
static const cli_optspec OPTS_EXPORT[] = {{"format", true}, {"output", true}, {NULL, false}};
static const cli_optspec OPTS_ASK[] = {
    {"worker", true}, {"params", true}, {"no-wait", false}, {NULL, false}};
static const cli_optspec OPTS_TELL[] = {
    {"value", true}, {"values", true}, {"state", true}, {"reason", true}, {"constraints", true},
    {NULL, false}};
static const cli_optspec OPTS_TOKEN_CREATE[] = {
    {"scope", true}, {"study", true}, {"study-prefix", true}, {"name", true},
    {"expires-in", true}, {NULL, false}};

static const cli_command COMMANDS[] = {
    {"study", "create",
     "NAME [--direction minimize|maximize | --directions D1,D2] [--sampler S] [--pruner P]\n"
     "       [--search-space JSON|@FILE] [--max-trials N] [--heartbeat-grace S] [--load-if-exists]",
     "Create a study (or load it with --load-if-exists).",
     "  --direction D         minimize (default) or maximize\n"
     "  --directions D1,D2    several objectives (not with --direction)\n"
     "  --sampler S           a type (auto, the default; tpe, gp, cmaes, nsga2, random, grid, qmc)\n"
     "                        or a JSON object / @FILE,\n"
     "                        e.g. '{\"type\":\"tpe\",\"seed\":42}'\n"
     "  --pruner P            a type (none, median, ...) or a JSON object / @FILE\n"
     "  --search-space JSON   {name: distribution}, or @FILE to read it from a file\n"
     "  --max-trials N        the most trials the study will ever have\n"
     "  --heartbeat-grace S   seconds without a heartbeat before a running trial fails\n"
     "  --load-if-exists      load the study when it exists instead of failing (exit 3)\n",
     OPTS_CREATE, 1, 1, cmd_study_create},
    {"study", "list", "", "List the studies: trials per state and the best value.", NULL,
     OPTS_NONE, 0, 0, cmd_study_list},
    {"study", "show", "NAME", "Show a study: configuration, counts, search space, best trial.",
     NULL, OPTS_NONE, 1, 1, cmd_study_show},
    {"study", "delete", "NAME --yes", "Delete a study and all its trials.",
     "  --yes                 required: deleting cannot be undone\n", OPTS_DELETE, 1, 1,
     cmd_study_delete},
    {"trials", NULL, "STUDY [--state S]",
     "List a study's trials (number, state, value, constraints and feasibility in a\n"
     "constrained study, times, duration, params).",
     "  --state S             only trials in state S (waiting, running, paused, complete,\n"
     "                        pruned, fail)\n",
     OPTS_TRIALS, 1, 1, cmd_trials},
    {"best", NULL, "STUDY",
     "Show the best trial (or the Pareto front); exit 2 while none is complete.",
     NULL, OPTS_NONE, 1, 1, cmd_best},
    {"enqueue", NULL, "STUDY NAME=VALUE...",
     "Enqueue a trial with chosen params; the next ask hands it out.",
     "  NAME=VALUE            VALUE is JSON when it parses as a number, true, false, null or a\n"
     "                        \"quoted string\"; else it is taken as a string (lr=0.01 opt=adam)\n",
     OPTS_NONE, 2, CLI_MAX_POS, cmd_enqueue},
    {"export", NULL, "STUDY [--format csv|json] [--output FILE]",
     "Export the trials, one row per trial like Optuna's trials_dataframe.",
     "  --format F            csv (default; RFC 4180 quoting) or json (an array of objects)\n"
     "  --output FILE         write to FILE instead of standard output\n"
     "  columns: number, state, value (or values_0, values_1, ...), constraints and\n"
     "  feasibility (feasible/infeasible; in a constrained study), datetime_start,\n"
     "  datetime_complete, duration (seconds), params_NAME (every param, sorted)\n",
     OPTS_EXPORT, 1, 1, cmd_export},
    {"ask", NULL, "STUDY [--worker W] [--params JSON] [--no-wait]",
     "Ask for a trial to run: prints its number, then NAME=VALUE per param\n"
     "(--json: the whole trial). Waits while the server has no work now.",
     "  --worker W            who runs the trial (shown in the trial and in hpo workers)\n"
     "  --params JSON         fixed values for some params (a JSON object, or @FILE)\n"
     "  --no-wait             exit 5 at once when there is no work now (instead of waiting)\n",
     OPTS_ASK, 1, 1, cmd_ask},
    {"tell", NULL, "STUDY NUMBER --value V | --values V1,V2 | --state pruned|fail [--reason R]\n"
     "       [--constraints C1,C2]",
     "Finish a trial: complete with its value(s), pruned, or failed.",
     "  --value V             the objective value (state complete)\n"
     "  --values V1,V2        one value per objective (state complete)\n"
     "  --state S             complete, pruned (value optional: else the last reported) or fail\n"
     "  --reason R            why it failed (with --state fail)\n"
     "  --constraints C1,C2   the trial's constraints (complete or pruned), feasible when all\n"
     "                        are <= 0; every trial of a study gives as many\n",
     OPTS_TELL, 2, 2, cmd_tell},
    {"report", NULL, "STUDY NUMBER STEP VALUE",
     "Report an intermediate value; prints what to do next: continue, prune or pause.", NULL,
     OPTS_NONE, 4, 4, cmd_report},
    {"workers", NULL, "", "List the registered workers and the trials they run.", NULL,
     OPTS_NONE, 0, 0, cmd_workers},
    {"token", "create",
     "--scope read|worker|admin [--study NAME | --study-prefix P] [--name TEXT]\n"
     "       [--expires-in SECONDS]",
     "Create an API token (needs an admin token): prints the token alone on the first line,\n"
     "then its id, scope and times. The token is shown this once: keep it.",
     "  --scope S             read (every GET), worker (read + ask, report, finish, artifacts,\n"
     "                        enqueue) or admin (worker + studies and tokens)\n"
     "  --study NAME          the token works for this study only\n"
     "  --study-prefix P      the token works for studies whose name starts with P\n"
     "  --name TEXT           what the token is for (shown by hpo token list)\n"
     "  --expires-in S        the token stops working S seconds from now (default: never)\n",
     OPTS_TOKEN_CREATE, 0, 0, cmd_token_create},
    {"token", "list", "", "List the API tokens (never their text): scope, study, times, revoked.",
     NULL, OPTS_NONE, 0, 0, cmd_token_list},
    {"token", "revoke", "ID", "Revoke a token: it is refused from now on.", NULL, OPTS_NONE, 1, 1,
     cmd_token_revoke},
};
enum { N_COMMANDS = sizeof COMMANDS / sizeof *COMMANDS };

static const char GLOBAL_HELP[] =
    "Global options (before or after the command):\n"
    "  --server URL    the hpo-server (default: $HPO_SERVER, else " DEFAULT_SERVER ")\n"
    "  --json          output for programs: the server's JSON (or arrays)\n"
    "  --timeout S     seconds per request (default 30)\n"
    "  --retries N     retries when the server is unreachable or unavailable (default 8)\n"
    "  --token TOKEN   the API token (default: $HPO_TOKEN); it shows in ps: prefer the env\n"
    "                  or --token-file\n"
    "  --token-file F  read the token from F's first line (default: $HPO_TOKEN_FILE); not with\n"
    "                  --token. A flag beats the environment\n"
    "  --cacert F      CA certificates (PEM) to verify an https server (default: $HPO_CACERT,\n"
    "                  else the system's); https servers are always verified\n"
    "  --help, -h      help; hpo help COMMAND (or hpo COMMAND --help) for a command\n"
    "  --version       the version\n";

static const char EXIT_HELP[] =
    "Exit codes:\n"
    "  0  ok\n"
    "  1  usage error (bad command line)\n"
    "  2  not found (study, trial, or no best trial yet)\n"
    "  3  conflict (study already exists, trial already finished, conflict)\n"
    "  4  study complete (no more trials to ask for)\n"
    "  5  server unreachable or unavailable (ask --no-wait: no work now)\n"
    "  6  invalid argument (the server refused it; its message and field are printed)\n"
    "  7  other errors\n"
    "  8  not allowed: no token, a bad, expired or revoked one, or one without the scope or\n"
    "     the study for this command\n";

static void print_usage_line(FILE *f, const cli_command *c)
{
    fprintf(f, "hpo %s%s%s%s%s", c->group, c->name ? " " : "", c->name ? c->name : "",
            c->args[0] ? " " : "", c->args);
}

static void print_main_help(FILE *f)
{
    fputs("usage: hpo [--server URL] [--json] COMMAND [ARGS]\n\n"
          "hpo talks to an hpo-server: studies, trials, ask/tell from shell scripts.\n\n"
          "Commands:\n",
          f);
    char names[N_COMMANDS][32];
    const char *cells[2 * N_COMMANDS];
    for (size_t i = 0; i < N_COMMANDS; i++) {
        snprintf(names[i], sizeof names[i], "  %s%s%s", COMMANDS[i].group,
                 COMMANDS[i].name ? " " : "", COMMANDS[i].name ? COMMANDS[i].name : "");
        cells[2 * i] = names[i];
        const char *nl = strchr(COMMANDS[i].summary, '\n');
        cells[2 * i + 1] = COMMANDS[i].summary;
        if (nl) /* the first line only */
            cells[2 * i + 1] = strndup(COMMANDS[i].summary, (size_t)(nl - COMMANDS[i].summary));
    }
    char *t = cli_table_render(2, NULL, N_COMMANDS, cells);
    if (t)
        fputs(t, f);
    free(t);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (cells[2 * i + 1] != COMMANDS[i].summary)
            free((char *)cells[2 * i + 1]);
    fprintf(f, "\n%s\n%s\nRun 'hpo help COMMAND' for its arguments.\n", GLOBAL_HELP, EXIT_HELP);
}

static void print_command_help(FILE *f, const cli_command *c)
{
    fputs("usage: ", f);
    print_usage_line(f, c);
    fprintf(f, "\n\n%s\n", c->summary);
    if (c->help)
        fprintf(f, "\nOptions:\n%s", c->help);
    fputs("\nGlobal options: --server URL, --json, --timeout S, --retries N, --token T,\n"
          "--token-file F, --cacert F (see hpo --help).\n",
          f);
}

/* Every command of a group, for "hpo study" and "hpo help study". */
static void print_group_help(FILE *f, const char *group)
{
    fputs("usage:\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].group, group) == 0) {
            fputs("  ", f);
            print_usage_line(f, &COMMANDS[i]);
            fputc('\n', f);
        }
    fprintf(f, "\nRun 'hpo help %s COMMAND' for one.\n", group);
}

static bool group_exists(const char *group, bool *has_subcommands)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].group, group) == 0) {
            *has_subcommands = COMMANDS[i].name != NULL;
            return true;
        }
    return false;
}

/* The command named by words[0] (and words[1] for a group). NULL after printing why; *used
 * gets the number of words taken, *code the exit code. */
static const cli_command *find_command(cli_ctx *ctx, int n, char **words, bool for_help,
                                       int *used, int *code)
{
    bool sub = false;
    if (!group_exists(words[0], &sub)) {
        *code = cli_usage_error(ctx, "unknown command '%s' (see hpo --help)", words[0]);
        return NULL;
    }
    if (!sub) {
        *used = 1;
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (strcmp(COMMANDS[i].group, words[0]) == 0)
                return &COMMANDS[i];
    }
    if (n < 2 || words[1][0] == '-') {
        bool help = for_help || (n >= 2 && (strcmp(words[1], "--help") == 0 ||
                                            strcmp(words[1], "-h") == 0));
        print_group_help(help ? ctx->out : ctx->err, words[0]);
        *code = help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        return NULL;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].group, words[0]) == 0 && strcmp(COMMANDS[i].name, words[1]) == 0) {
            *used = 2;
            return &COMMANDS[i];
        }
    *code = cli_usage_error(ctx, "unknown command '%s %s' (see hpo help %s)", words[0], words[1],
                            words[0]);
    return NULL;
}

static int run(cli_ctx *ctx, int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "-", 1) == 0; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_main_help(ctx->out);
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            fprintf(ctx->out, "hpo %s\n", HPO_CLI_VERSION);
            return CLI_EXIT_OK;
        }
        const char *name = arg + 2, *eq = strchr(arg, '=');
        char key[32];
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        bool has_arg = false;
        if (strncmp(arg, "--", 2) != 0 || len >= sizeof key)
            return cli_usage_error(ctx, "unknown option %s (see hpo --help)", arg);
        memcpy(key, name, len);
        key[len] = '\0';
        if (!cli_is_global(key, &has_arg))
            return cli_usage_error(ctx, "unknown option %s (see hpo --help)", arg);
        const char *v = "";
        if (has_arg && eq)
            v = eq + 1;
        else if (has_arg && i + 1 < argc)
            v = argv[++i];
        else if (has_arg)
            return cli_usage_error(ctx, "option --%s needs a value", key);
        else if (eq)
            return cli_usage_error(ctx, "option --%s takes no value", key);
        int rc = cli_set_global(ctx, key, v);
        if (rc)
            return rc;
    }
    if (i == argc) {
        print_main_help(ctx->err);
        return CLI_EXIT_USAGE;
    }
    int code = 0, used = 0;
    if (strcmp(argv[i], "help") == 0) {
        if (i + 1 == argc) {
            print_main_help(ctx->out);
            return CLI_EXIT_OK;
        }
        const cli_command *c = find_command(ctx, argc - i - 1, argv + i + 1, true, &used, &code);
        if (c)
            print_command_help(ctx->out, c);
        return code;
    }
    const cli_command *c = find_command(ctx, argc - i, argv + i, false, &used, &code);
    if (!c)
        return code;
    cli_args a;
    code = cli_parse_args(ctx, c, argc - i - used, argv + i + used, &a);
    if (code < 0) {
        print_command_help(ctx->out, c);
        return CLI_EXIT_OK;
    }
    if (code)
        return code;
    return c->run(ctx, &a);
}

int main(int argc, char **argv)
{
    const char *env = getenv("HPO_SERVER");
    cli_ctx ctx = {.server = env && env[0] ? env : DEFAULT_SERVER,
                   .retries = -1,
                   .out = stdout,
                   .err = stderr};
    int code = run(&ctx, argc, argv);
    hpo_client_free(ctx.client);
    if (fflush(stdout) != 0 && code == 0) {
        perror("hpo: standard output");
        code = CLI_EXIT_ERROR;
    }
    return code;
}
