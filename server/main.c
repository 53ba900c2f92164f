/* hpo-server: configuration (defaults, environment, flags), start-up (PostgreSQL, migrations,
 * tokens, HTTP), and an orderly stop on SIGINT/SIGTERM; `hpo-server token …` manages tokens. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_token.h"
#include "hpo_http.h"
#include "hpo_log.h"
#include "hpo_service.h"
#include "hpo_store.h"

#define DB_POOL_MAX 16 /* PostgreSQL connections beyond the two kept for the reaper and tokens */

typedef struct {
    const char *db;
    char host[256];
    uint16_t port;
    unsigned threads;
    int db_wait_s;
    int log_level;
    int log_format;
    const char *artifact_dir;
    hpo_limits limits;
    bool no_auth;
    const char *tls_cert, *tls_key; /* file paths, NULL for plain HTTP */
} config;

static void usage(FILE *f)
{
    fputs("usage: hpo-server --db CONNINFO [--listen HOST:PORT] [--threads N]\n"
          "                  [--artifact-dir DIR] [--artifact-max-bytes N]\n"
          "                  [--db-wait SECONDS] [--log-level debug|info|warn|error]\n"
          "                  [--log-format text|json]\n"
          "                  [--no-auth] [--tls-cert FILE --tls-key FILE]\n"
          "       hpo-server token create --db CONNINFO --scope read|worker|admin\n"
          "                  [--study NAME | --study-prefix PREFIX] [--name TEXT]\n"
          "                  [--expires-in SECONDS]\n"
          "       hpo-server token list --db CONNINFO\n"
          "       hpo-server token revoke --db CONNINFO ID\n"
          "\n"
          "  --db         PostgreSQL conninfo or postgresql:// URI        (env HPO_DB)\n"
          "  --listen     address to serve HTTP on, default 127.0.0.1:8080 (env HPO_LISTEN);\n"
          "               port 0 picks a free port, printed at start\n"
          "  --threads    threads answering requests (the most requests in flight at\n"
          "               once: a change waits in its thread for the commit that\n"
          "               holds it), default 64                           (env HPO_THREADS)\n"
          "  --artifact-dir  where trial artifacts (models, checkpoints, logs) are kept,\n"
          "               default ./hpo-artifacts                         (env HPO_ARTIFACT_DIR)\n"
          "  --db-wait    seconds to wait for PostgreSQL at start, default 30\n"
          "  --log-level  default info                                     (env HPO_LOG_LEVEL)\n"
          "  --log-format text (default): '<time> <level> <message> key=value...'\n"
          "               lines; json: one JSON object a line with time, level, msg\n"
          "               and the record's fields                         (env HPO_LOG_FORMAT)\n"
          "  --no-auth    serve without tokens: only on a loopback address (env HPO_NO_AUTH=1);\n"
          "               otherwise every request but /healthz needs 'Authorization: Bearer',\n"
          "               and the server refuses to start while the database has no usable\n"
          "               token (make the first with 'hpo-server token create')\n"

          "  --tls-cert   PEM certificate (chain) to serve HTTPS with      (env HPO_TLS_CERT)\n"
          "  --tls-key    its PEM private key, unencrypted                (env HPO_TLS_KEY)\n"
          "\n"
          "endpoints: the API under /api/v1 (proto/openapi.yaml), the dashboard at /,\n"
          "  GET /healthz (liveness, no token), GET /metrics (Prometheus text format, a\n"
          "  token of scope read: Prometheus's authorization.credentials_file)\n",
          f);
    fputs("\nlimits (a flag beats its environment variable; bytes take K, M, G, T suffixes):\n", f);
    for (size_t i = 0; i < hpo_n_limit_defs; i++)
        fprintf(f, "  --%-29s %s\n%34sdefault %lld (env %s)\n", hpo_limit_defs[i].flag,
                hpo_limit_defs[i].help, "", (long long)hpo_limit_defs[i].dflt,
                hpo_limit_defs[i].env);
}

static int parse_listen(const char *s, config *c)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') /* [::1]:8080 */
        s++, hl -= 2;
    if (hl >= sizeof c->host)
        return -1;
    memcpy(c->host, s, hl);
    c->host[hl] = '\0';
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
        return -1;
    c->port = (uint16_t)p;
    return 0;
}

/* Whether host names only this machine: 127.0.0.0/8, ::1 or localhost (not 0.0.0.0 or ::). */
static bool is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* A PEM file's text (owned), at most 1 MiB; NULL with a message on stderr. */
static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fprintf(stderr, "hpo-server: cannot read '%s': %s\n", path, strerror(errno)), NULL;
    size_t cap = 1 << 20;
    char *text = malloc(cap + 1);
    size_t n = text ? fread(text, 1, cap + 1, f) : 0;
    fclose(f);
    if (!text || n == 0 || n > cap) {
        free(text);
        return fprintf(stderr, "hpo-server: '%s' is empty or over 1 MiB\n", path), NULL;
    }
    text[n] = '\0';
    return text;
}

static int parse_uint(const char *s, long min, long max, long *ret)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        return -1;
    *ret = v;
    return 0;
}

static int configure(int argc, char **argv, config *c)
{
    const char *listen = getenv("HPO_LISTEN") ? getenv("HPO_LISTEN") : "127.0.0.1:8080";
    const char *threads = getenv("HPO_THREADS") ? getenv("HPO_THREADS") : "64";
    const char *level = getenv("HPO_LOG_LEVEL") ? getenv("HPO_LOG_LEVEL") : "info";
    const char *format = getenv("HPO_LOG_FORMAT") && *getenv("HPO_LOG_FORMAT")
                             ? getenv("HPO_LOG_FORMAT") : "text";
    const char *wait = "30";
    c->db = getenv("HPO_DB");
    c->no_auth = getenv("HPO_NO_AUTH") && strcmp(getenv("HPO_NO_AUTH"), "1") == 0;
    c->tls_cert = getenv("HPO_TLS_CERT");
    c->tls_key = getenv("HPO_TLS_KEY");
    c->artifact_dir = getenv("HPO_ARTIFACT_DIR") ? getenv("HPO_ARTIFACT_DIR") : "hpo-artifacts";
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'}, {"db-wait", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {"log-format", required_argument, NULL, 'F'},
        {"artifact-dir", required_argument, NULL, 'a'},
        {"no-auth", no_argument, NULL, 'N'},
        {"tls-cert", required_argument, NULL, 'C'}, {"tls-key", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0}};
    /* the limits: defaults, then HPO_MAX_… variables, then flags (one long option each) */
    enum { LIMIT_OPT = 0x100 };
    struct option all[sizeof opts / sizeof opts[0] + 32];
    size_t n_opts = sizeof opts / sizeof opts[0] - 1;
    memcpy(all, opts, n_opts * sizeof opts[0]);
    for (size_t i = 0; i < hpo_n_limit_defs && n_opts + 1 < sizeof all / sizeof all[0]; i++)
        all[n_opts++] = (struct option){hpo_limit_defs[i].flag, required_argument, NULL,
                                        LIMIT_OPT + (int)i};
    all[n_opts] = (struct option){NULL, 0, NULL, 0};
    hpo_error lerr = {0};
    hpo_limits_default(&c->limits);
    if (hpo_limits_from_env(&c->limits, &lerr))
        return fprintf(stderr, "hpo-server: %s\n", lerr.message), -1;
    int ch;
    while ((ch = getopt_long(argc, argv, "d:l:t:w:v:ha:m:", all, NULL)) != -1) {
        if (ch == 'm' || (ch >= LIMIT_OPT && ch < LIMIT_OPT + (int)hpo_n_limit_defs)) {
            const char *flag =
                ch == 'm' ? "artifact-max-bytes" : hpo_limit_defs[ch - LIMIT_OPT].flag;
            if (hpo_limits_set(&c->limits, flag, optarg, &lerr))
                return fprintf(stderr, "hpo-server: %s\n", lerr.message), -1;
            continue;
        }
        switch (ch) {
        case 'd': c->db = optarg; break;
        case 'l': listen = optarg; break;
        case 't': threads = optarg; break;
        case 'w': wait = optarg; break;
        case 'v': level = optarg; break;
        case 'F': format = optarg; break;
        case 'a': c->artifact_dir = optarg; break;
        case 'N': c->no_auth = true; break;
        case 'C': c->tls_cert = optarg; break;
        case 'K': c->tls_key = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    long v;
    if (optind < argc)
        return fprintf(stderr, "hpo-server: unexpected argument '%s'\n", argv[optind]), -1;
    if (!c->db || !*c->db)
        return fprintf(stderr, "hpo-server: --db (or HPO_DB) is required\n"), -1;
    if (parse_listen(listen, c))
        return fprintf(stderr, "hpo-server: --listen must be HOST:PORT, got '%s'\n", listen), -1;
    if (parse_uint(threads, 1, 1024, &v))
        return fprintf(stderr, "hpo-server: --threads must be 1 to 1024, got '%s'\n", threads), -1;
    c->threads = (unsigned)v;
    if (parse_uint(wait, 0, 3600, &v))
        return fprintf(stderr, "hpo-server: --db-wait must be 0 to 3600, got '%s'\n", wait), -1;
    c->db_wait_s = (int)v;
    if ((c->log_level = hpo_log_level_parse(level)) < 0)
        return fprintf(stderr, "hpo-server: unknown log level '%s'\n", level), -1;
    if ((c->log_format = hpo_log_format_parse(format)) < 0)
        return fprintf(stderr, "hpo-server: --log-format (or HPO_LOG_FORMAT) must be text or "
                               "json, got '%s'\n", format), -1;
    if (c->tls_cert && !*c->tls_cert)
        c->tls_cert = NULL;
    if (c->tls_key && !*c->tls_key)
        c->tls_key = NULL;
    if (!c->tls_cert != !c->tls_key)
        return fprintf(stderr, "hpo-server: --tls-cert and --tls-key go together\n"), -1;
    if (c->no_auth && !is_loopback(c->host))
        return fprintf(stderr, "hpo-server: --no-auth is allowed only on a loopback address "
                               "(127.0.0.0/8, ::1, localhost), not '%s'\n", c->host), -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return hpo_server_token_main(argc - 1, argv + 1);
    config cfg = {0};
    if (configure(argc, argv, &cfg))
        return 2;
    hpo_log_set_level((hpo_log_level)cfg.log_level);
    hpo_log_set_format((hpo_log_format)cfg.log_format);
    /* Blocks of 1 MiB and more (answers of large studies, trial arrays) are mapped on their own
     * and given back to the system when freed. glibc's default raises this threshold after each
     * such free, up to 32 MiB, after which those blocks come from the threads' arenas and stay
     * there: hundreds of MB held after a few dashboard loads of a 100,000-trial study. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    /* signals are taken by sigwait below; threads started from here inherit the mask */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    hpo_error err = {0};
    hpo_store *store = NULL;
    for (int waited = 0;; waited++) {
        /* a study commits on one connection at a time, however many requests join it */
        if (hpo_store_open(cfg.db, (int)(cfg.threads < DB_POOL_MAX ? cfg.threads : DB_POOL_MAX) + 2,
                           &store, &err) == HPO_OK)
            break;
        if (err.code != HPO_E_UNAVAILABLE || waited >= cfg.db_wait_s) {
            hpo_log(HPO_LOG_ERROR, "cannot open the database: %s", err.message);
            return 1;
        }
        if (waited == 0)
            hpo_log(HPO_LOG_WARN, "waiting for PostgreSQL: %s", err.message);
        sleep(1);
    }
    int version = 0;
    if (hpo_store_migrate(store, &version, &err)) {
        hpo_log(HPO_LOG_ERROR, "database migration failed: %s", err.message);
        hpo_store_close(store);
        return 1;
    }
    hpo_service *svc = NULL;
    hpo_http *http = NULL;
    hpo_http_config hc = {.host = cfg.host, .port = cfg.port, .threads = cfg.threads,
                          .limits = &cfg.limits};
    char *cert = cfg.tls_cert ? read_pem(cfg.tls_cert) : NULL;
    char *key = cfg.tls_key ? read_pem(cfg.tls_key) : NULL;
    if (cfg.tls_cert && (!cert || !key)) {
        free(cert);
        free(key);
        hpo_store_close(store);
        return 1;
    }
    hc.tls_cert = cert;
    hc.tls_key = key;
    if (hpo_service_new(store, &svc, &err) ||
        hpo_service_set_limits(svc, &cfg.limits, &err) ||
        (!cfg.no_auth && hpo_service_auth_enable(svc, 2000, &err)) ||
        hpo_service_set_artifact_dir(svc, cfg.artifact_dir, cfg.limits.artifact_bytes, &err) ||
        hpo_service_start_reaper(svc, 1000, &err) || hpo_http_start(svc, &hc, &http, &err)) {
        hpo_log(HPO_LOG_ERROR, "cannot start: %s", err.message);
        free(cert);
        free(key);
        hpo_service_free(svc);
        hpo_store_close(store);
        return 1;
    }
    if (cfg.no_auth)
        hpo_log(HPO_LOG_WARN, "authentication is off (--no-auth): anyone who reaches %s can "
                "read and change every study", cfg.host);
    hpo_log(HPO_LOG_INFO, "hpo-server listening on %s://%s:%u (schema version %d, %u threads)",
            hc.tls_cert ? "https" : "http", strchr(cfg.host, ':') ? "[::]" : cfg.host, (unsigned)hpo_http_port(http), version,
            cfg.threads);
    printf("listening on %s:%u\n", cfg.host, (unsigned)hpo_http_port(http));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    hpo_log(HPO_LOG_INFO, "stopping on signal %d: no new connections, requests in flight may "
            "finish for %lld s", sig, (long long)cfg.limits.drain_s);
    hpo_http_stop(http);
    free(cert); /* libmicrohttpd may read them until it stops */
    free(key);
    hpo_service_free(svc);
    hpo_store_close(store);
    hpo_log(HPO_LOG_INFO, "hpo-server stopped");
    return 0;
}
