/* wk_config: parsing and validating hpo-worker's flags. */
#include "wk_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_log.h"

const char wk_config_usage[] =
    "usage: hpo-worker --server URL --study NAME [options] -- COMMAND ARGS...\n"
    "\n"
    "  --server URL          the hpo server (env HPO_SERVER)\n"
    "  --study NAME          the study to work on\n"
    "  --token TOKEN         the bearer token for the server (env HPO_TOKEN); a worker token\n"
    "                        will do. Prefer --token-file or the env: flags show in ps\n"
    "  --token-file FILE     read the token from FILE's first line (env HPO_TOKEN_FILE);\n"
    "                        not with --token. A flag beats the environment\n"
    "  --cacert FILE         CA certificates (PEM) to verify an https server (env HPO_CACERT);\n"
    "                        default the system's; the server is always verified\n"
    "  --gpus auto|LIST|none GPUs to use: auto (nvidia-smi -L), a list like 0,1,2,3, or none;\n"
    "                        default auto\n"
    "  --gpus-per-trial K    GPUs per trial, default 1; one trial runs per group of K\n"
    "  --parallel N          trials at once without GPUs (default 1); with GPUs, at most N\n"
    "  --max-trials N        start at most N trials, then finish the running ones and exit\n"
    "  --metric-regex RE     also report lines matching RE (POSIX extended): group 1 the step\n"
    "                        (may be optional), group 2 the value; one group: the value\n"
    "  --grace-ms MS         SIGTERM to SIGKILL, default 5000\n"
    "  --heartbeat-s S       heartbeat interval, default 5\n"
    "  --requeue-on-exit     on SIGTERM/SIGINT stop the commands and hand their trials back\n"
    "                        (default: finish the running trials, then exit)\n"
    "  --worker-id ID        default <host>-<pid>\n"
    "  --work-dir DIR        per-trial directories, default $TMPDIR/hpo-worker-<pid>\n"
    "  --log-level LEVEL     debug, info, warn or error; default info\n"
    "  --log-format FORMAT   text (default) or json: one JSON object a line with time,\n"
    "                        level and msg (env HPO_LOG_FORMAT)\n"
    "\n"
    "The command gets the params as {name} placeholders in ARGS, HPO_PARAM_<NAME> and\n"
    "HPO_PARAMS_FILE, and reports by printing 'hpo: step=S value=V' and 'hpo: value=V'.\n"
    "It may also call the API itself: it gets HPO_SERVER, HPO_STUDY, HPO_TRIAL_NUMBER, the\n"
    "worker's token as HPO_TOKEN (read from the file when given as one) and HPO_CACERT.\n";

static hpo_rc parse_long(const char *flag, const char *s, long min, long max, long *ret,
                         hpo_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        return hpo_error_set(err, HPO_E_INVALID, flag,
                             "--%s: expected an integer in [%ld, %ld]: %s", flag, min, max, s);
    *ret = v;
    return HPO_OK;
}

static hpo_rc set_gpus(wk_config *c, const char *s, hpo_error *err)
{
    if (strcmp(s, "auto") == 0) {
        c->gpus_mode = WK_GPUS_AUTO;
        return HPO_OK;
    }
    if (strcmp(s, "none") == 0) {
        c->gpus_mode = WK_GPUS_NONE;
        return HPO_OK;
    }
    c->gpus_mode = WK_GPUS_LIST;
    return wk_gpus_parse_list(s, c->gpus, WK_GPUS_MAX, &c->n_gpus, err);
}

static hpo_rc set_log_format(wk_config *c, const char *source, const char *v, hpo_error *err)
{
    int f = hpo_log_format_parse(v);
    if (f < 0)
        return hpo_error_set(err, HPO_E_INVALID, "log-format", "%s must be text or json: %s",
                             source, v);
    c->log_format = f;
    return HPO_OK;
}

/* Flags that take a value. */
static const char *const valued[] = {
    "server", "study", "gpus", "gpus-per-trial", "parallel", "max-trials", "metric-regex",
    "grace-ms", "heartbeat-s", "worker-id", "work-dir", "log-level", "token", "token-file",
    "cacert", "log-format", NULL,
};

/* The token and log-format flags as given, kept apart from the environment's until all flags
 * are read. */
typedef struct {
    const char *token, *token_file;
    const char *log_format;
} token_flags;

static hpo_rc apply(wk_config *c, token_flags *tf, const char *name, const char *v,
                    hpo_error *err)
{
    long n;
    hpo_rc rc = HPO_OK;
    if (strcmp(name, "server") == 0)
        c->server = v;
    else if (strcmp(name, "token") == 0)
        tf->token = v;
    else if (strcmp(name, "token-file") == 0)
        tf->token_file = v;
    else if (strcmp(name, "cacert") == 0)
        c->cacert = v;
    else if (strcmp(name, "study") == 0)
        c->study = v;
    else if (strcmp(name, "gpus") == 0)
        rc = set_gpus(c, v, err);
    else if (strcmp(name, "gpus-per-trial") == 0) {
        if ((rc = parse_long(name, v, 1, WK_GPUS_MAX, &n, err)) == HPO_OK)
            c->gpus_per_trial = (int)n;
    } else if (strcmp(name, "parallel") == 0) {
        if ((rc = parse_long(name, v, 1, 1024, &n, err)) == HPO_OK)
            c->parallel = (int)n;
    } else if (strcmp(name, "max-trials") == 0) {
        if ((rc = parse_long(name, v, 1, 1000000000L, &n, err)) == HPO_OK)
            c->max_trials = n;
    } else if (strcmp(name, "metric-regex") == 0)
        c->metric_regex = v;
    else if (strcmp(name, "grace-ms") == 0)
        rc = parse_long(name, v, 0, 3600000L, &c->grace_ms, err);
    else if (strcmp(name, "heartbeat-s") == 0) {
        if ((rc = parse_long(name, v, 1, 3600, &n, err)) == HPO_OK)
            c->heartbeat_s = (int)n;
    } else if (strcmp(name, "worker-id") == 0)
        c->worker_id = v;
    else if (strcmp(name, "work-dir") == 0)
        c->work_dir = v;
    else if (strcmp(name, "log-level") == 0)
        c->log_level = v;
    else if (strcmp(name, "log-format") == 0)
        tf->log_format = v;
    return rc;
}

/* An environment variable, NULL when unset or empty (an empty one is as good as unset). */
static const char *env_value(const char *(*getenv_fn)(const char *), const char *name)
{
    const char *v = getenv_fn(name);
    return v && *v ? v : NULL;
}

hpo_rc wk_config_parse(int argc, char *const *argv, const char *(*getenv_fn)(const char *),
                       wk_config *ret, bool *ret_help, hpo_error *err)
{
    wk_config c;
    memset(&c, 0, sizeof c);
    c.gpus_per_trial = 1;
    c.grace_ms = 5000;
    c.heartbeat_s = 5;
    c.log_level = "info";
    c.server = env_value(getenv_fn, "HPO_SERVER");
    c.cacert = env_value(getenv_fn, "HPO_CACERT");
    token_flags tf = {NULL, NULL, NULL};
    *ret_help = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *ret_help = true;
            return HPO_OK;
        }
        if (strcmp(a, "--requeue-on-exit") == 0) {
            c.requeue_on_exit = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return hpo_error_set(err, HPO_E_INVALID, NULL,
                                 "unexpected %s: the command comes after \"--\"", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *flag = NULL;
        for (const char *const *f = valued; *f; f++)
            if (strlen(*f) == len && strncmp(*f, name, len) == 0)
                flag = *f;
        if (!flag)
            return hpo_error_set(err, HPO_E_INVALID, NULL, "unknown flag %s", a);
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v)
            return hpo_error_set(err, HPO_E_INVALID, flag, "--%s needs a value", flag);
        hpo_rc rc = apply(&c, &tf, flag, v, err);
        if (rc != HPO_OK)
            return rc;
    }
    if (!c.server)
        return hpo_error_set(err, HPO_E_INVALID, "server", "--server (or HPO_SERVER) is required");
    const char *env_format = env_value(getenv_fn, "HPO_LOG_FORMAT");
    hpo_rc frc = tf.log_format ? set_log_format(&c, "--log-format", tf.log_format, err)
                 : env_format  ? set_log_format(&c, "HPO_LOG_FORMAT", env_format, err)
                               : HPO_OK;
    if (frc != HPO_OK)
        return frc;
    /* a flag beats the environment, as a pair: --token-file wins over HPO_TOKEN too */
    if (tf.token && tf.token_file)
        return hpo_error_set(err, HPO_E_INVALID, "token",
                             "--token and --token-file together: give one of them");
    if (tf.token || tf.token_file) {
        c.token = tf.token;
        c.token_file = tf.token_file;
    } else {
        c.token = env_value(getenv_fn, "HPO_TOKEN");
        c.token_file = env_value(getenv_fn, "HPO_TOKEN_FILE");
        if (c.token && c.token_file)
            return hpo_error_set(err, HPO_E_INVALID, "token",
                                 "HPO_TOKEN and HPO_TOKEN_FILE are both set: set one of them");
    }
    if ((tf.token && !*tf.token) || (tf.token_file && !*tf.token_file) ||
        (c.cacert && !*c.cacert))
        return hpo_error_set(err, HPO_E_INVALID, NULL,
                             "--token, --token-file and --cacert need a value that is not empty");
    if (!c.study || !*c.study)
        return hpo_error_set(err, HPO_E_INVALID, "study", "--study is required");
    if (i >= argc)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "no command: give it after \"--\"");
    if (c.gpus_mode == WK_GPUS_LIST && (size_t)c.gpus_per_trial > c.n_gpus)
        return hpo_error_set(err, HPO_E_INVALID, "gpus-per-trial",
                             "--gpus-per-trial %d is more than the %zu GPUs listed",
                             c.gpus_per_trial, c.n_gpus);
    c.command = argv + i;
    c.n_command = argc - i;
    *ret = c;
    return HPO_OK;
}
