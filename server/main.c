/* hpo-server: configuration (defaults, environment, flags), start-up (PostgreSQL, migrations,
 * HTTP), and an orderly stop on SIGINT/SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo_http.h"
#include "hpo_log.h"
#include "hpo_service.h"
#include "hpo_store.h"

typedef struct {
    const char *db;
    char host[256];
    uint16_t port;
    unsigned threads;
    int db_wait_s;
    int log_level;
    const char *artifact_dir;
    int64_t artifact_max;
} config;

static void usage(FILE *f)
{
    fputs("usage: hpo-server --db CONNINFO [--listen HOST:PORT] [--threads N]\n"
          "                  [--artifact-dir DIR] [--artifact-max-bytes N]\n"
          "                  [--db-wait SECONDS] [--log-level debug|info|warn|error]\n"
          "\n"
          "  --db         PostgreSQL conninfo or postgresql:// URI        (env HPO_DB)\n"
          "  --listen     address to serve HTTP on, default 127.0.0.1:8080 (env HPO_LISTEN);\n"
          "               port 0 picks a free port, printed at start\n"
          "  --threads    threads answering requests, default 4            (env HPO_THREADS)\n"
          "  --artifact-dir  where trial artifacts (models, checkpoints, logs) are kept,\n"
          "               default ./hpo-artifacts                         (env HPO_ARTIFACT_DIR)\n"
          "  --artifact-max-bytes  the largest artifact, default 10 GiB\n"
          "  --db-wait    seconds to wait for PostgreSQL at start, default 30\n"
          "  --log-level  default info                                     (env HPO_LOG_LEVEL)\n",
          f);
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
    const char *threads = getenv("HPO_THREADS") ? getenv("HPO_THREADS") : "4";
    const char *level = getenv("HPO_LOG_LEVEL") ? getenv("HPO_LOG_LEVEL") : "info";
    const char *wait = "30";
    const char *amax = "10737418240";
    c->db = getenv("HPO_DB");
    c->artifact_dir = getenv("HPO_ARTIFACT_DIR") ? getenv("HPO_ARTIFACT_DIR") : "hpo-artifacts";
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'}, {"db-wait", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {"artifact-dir", required_argument, NULL, 'a'},
        {"artifact-max-bytes", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "d:l:t:w:v:ha:m:", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': c->db = optarg; break;
        case 'l': listen = optarg; break;
        case 't': threads = optarg; break;
        case 'w': wait = optarg; break;
        case 'v': level = optarg; break;
        case 'a': c->artifact_dir = optarg; break;
        case 'm': amax = optarg; break;
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
    char *end;
    errno = 0;
    long long am = strtoll(amax, &end, 10);
    if (errno || *end || end == amax || am < 1)
        return fprintf(stderr, "hpo-server: --artifact-max-bytes must be a positive integer\n"), -1;
    c->artifact_max = am;
    if ((c->log_level = hpo_log_level_parse(level)) < 0)
        return fprintf(stderr, "hpo-server: unknown log level '%s'\n", level), -1;
    return 0;
}

int main(int argc, char **argv)
{
    config cfg = {0};
    if (configure(argc, argv, &cfg))
        return 2;
    hpo_log_set_level((hpo_log_level)cfg.log_level);

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
        if (hpo_store_open(cfg.db, (int)cfg.threads + 2, &store, &err) == HPO_OK)
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
    hpo_http_config hc = {cfg.host, cfg.port, cfg.threads, HPO_HTTP_MAX_BODY};
    if (hpo_service_new(store, &svc, &err) ||
        hpo_service_set_artifact_dir(svc, cfg.artifact_dir, cfg.artifact_max, &err) ||
        hpo_service_start_reaper(svc, 1000, &err) || hpo_http_start(svc, &hc, &http, &err)) {
        hpo_log(HPO_LOG_ERROR, "cannot start: %s", err.message);
        hpo_service_free(svc);
        hpo_store_close(store);
        return 1;
    }
    hpo_log(HPO_LOG_INFO, "hpo-server listening on http://%s:%u (schema version %d, %u threads)",
            strchr(cfg.host, ':') ? "[::]" : cfg.host, (unsigned)hpo_http_port(http), version,
            cfg.threads);
    printf("listening on %s:%u\n", cfg.host, (unsigned)hpo_http_port(http));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    hpo_log(HPO_LOG_INFO, "stopping on signal %d", sig);
    hpo_http_stop(http);
    hpo_service_free(svc);
    hpo_store_close(store);
    return 0;
}
