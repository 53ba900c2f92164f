/* wk_config: hpo-worker's configuration: defaults, then the environment (HPO_SERVER, HPO_TOKEN,
 * HPO_TOKEN_FILE, HPO_CACERT), then the flags; validated once, then passed explicitly. Pure (no
 * I/O but reading the environment: a token file is read by main). */
#ifndef WK_CONFIG_H
#define WK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpo_error.h"
#include "wk_slots.h"

typedef enum { WK_GPUS_AUTO = 0, WK_GPUS_LIST = 1, WK_GPUS_NONE = 2 } wk_gpus_mode;

typedef struct {
    const char *server;       /* borrowed from argv or the environment */
    const char *token;        /* the bearer token, or NULL; at most one of token, token_file */
    const char *token_file;   /* a file whose first line is the token, or NULL */
    const char *cacert;       /* CA file to verify an https server, or NULL (system CAs) */
    const char *study;
    const char *worker_id;    /* NULL: "<host>-<pid>" */
    const char *metric_regex; /* NULL: none */
    const char *work_dir;     /* NULL: $TMPDIR (else /tmp) /hpo-worker-<pid> */
    wk_gpus_mode gpus_mode;
    int gpus[WK_GPUS_MAX];    /* WK_GPUS_LIST */
    size_t n_gpus;
    int gpus_per_trial;       /* default 1 */
    int parallel;             /* 0: not given (1 CPU slot, or one slot per GPU group) */
    int64_t max_trials;       /* 0: no limit */
    long grace_ms;            /* SIGTERM -> SIGKILL, default 5000 */
    int heartbeat_s;          /* default 5 */
    bool requeue_on_exit;
    const char *log_level;    /* default "info" */
    int log_format;           /* hpo_log_format: --log-format, else HPO_LOG_FORMAT, else text */
    char *const *command;     /* argv after "--" (borrowed), NULL-terminated */
    int n_command;
} wk_config;

/* Parses argv (flags as "--flag value" or "--flag=value", then "--", then the command).
 * getenv_fn reads the environment (getenv, or a stub in tests). HPO_E_INVALID with a message
 * for the user on a bad or missing flag; *ret_help is set for --help. */
hpo_rc wk_config_parse(int argc, char *const *argv, const char *(*getenv_fn)(const char *),
                       wk_config *ret, bool *ret_help, hpo_error *err);

/* The text of --help. */
extern const char wk_config_usage[];

#endif
