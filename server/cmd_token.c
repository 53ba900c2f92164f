/* cmd_token: `hpo-server token create|list|revoke`, straight on the database (no running server
 * needed), so the first admin token can be made before the server starts. */
#include "cmd_token.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_clock.h"
#include "hpo_service.h"
#include "hpo_store.h"

static int usage(void)
{
    fputs("usage: hpo-server token create --db CONNINFO --scope read|worker|admin\n"
          "                  [--study NAME | --study-prefix PREFIX] [--name TEXT]\n"
          "                  [--expires-in SECONDS]\n"
          "       hpo-server token list --db CONNINFO\n"
          "       hpo-server token revoke --db CONNINFO ID\n"
          "The token is printed once, alone on the first line of standard output; only its\n"
          "SHA-256 is kept. --db defaults to env HPO_DB.\n",
          stderr);
    return 2;
}

static void print_row(const hpo_token_info *t)
{
    char created[40] = "-", expires[40] = "never", used[40] = "never";
    hpo_clock_iso8601(t->created_ms, created, sizeof created);
    if (t->grant.expires_ms)
        hpo_clock_iso8601(t->grant.expires_ms, expires, sizeof expires);
    if (t->last_used_ms)
        hpo_clock_iso8601(t->last_used_ms, used, sizeof used);
    char reach[HPO_TOKEN_STUDY_MAX + 16];
    if (t->grant.study[0])
        snprintf(reach, sizeof reach, "study=%s", t->grant.study);
    else if (t->grant.study_prefix[0])
        snprintf(reach, sizeof reach, "prefix=%s", t->grant.study_prefix);
    else
        snprintf(reach, sizeof reach, "all");
    printf("%-6lld %-6s %-24s %-8s %-24s %-24s %-24s %s\n", (long long)t->grant.id,
           hpo_scope_name(t->grant.scope), reach, t->revoked_ms ? "revoked" : "active", created,
           expires, used, t->name ? t->name : "");
}

int hpo_server_token_main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *verb = argv[1];
    const char *db = getenv("HPO_DB"), *scope = NULL;
    hpo_token_spec spec = {0};
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},           {"scope", required_argument, NULL, 's'},
        {"study", required_argument, NULL, 'S'},        {"study-prefix", required_argument, NULL, 'P'},
        {"name", required_argument, NULL, 'n'},         {"expires-in", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0}};
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': db = optarg; break;
        case 's': scope = optarg; break;
        case 'S': spec.study = optarg; break;
        case 'P': spec.study_prefix = optarg; break;
        case 'n': spec.name = optarg; break;
        case 'e': {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno || *end || end == optarg || v < 1)
                return fprintf(stderr, "hpo-server token: --expires-in must be seconds >= 1\n"), 2;
            spec.expires_in_s = v;
            break;
        }
        default: return usage();
        }
    }
    bool create = strcmp(verb, "create") == 0, list = strcmp(verb, "list") == 0,
         revoke = strcmp(verb, "revoke") == 0;
    if (!create && !list && !revoke)
        return usage();
    if (!db || !*db)
        return fprintf(stderr, "hpo-server token: --db (or HPO_DB) is required\n"), 2;
    if (optind != argc - (revoke ? 1 : 0))
        return usage();
    if (create) {
        int s = scope ? hpo_scope_parse(scope) : -1;
        if (s < 0)
            return fprintf(stderr, "hpo-server token: --scope must be read, worker or admin\n"), 2;
        spec.scope = (hpo_scope)s;
    }
    int64_t id = 0;
    if (revoke) {
        char *end;
        errno = 0;
        id = strtoll(argv[optind], &end, 10);
        if (errno || *end || end == argv[optind] || id < 1)
            return fprintf(stderr, "hpo-server token: ID must be a token id\n"), 2;
    }

    hpo_error err = {0};
    hpo_store *store = NULL;
    hpo_service *svc = NULL;
    hpo_rc rc = hpo_store_open(db, 1, &store, &err);
    if (!rc)
        rc = hpo_store_migrate(store, NULL, &err);
    if (!rc)
        rc = hpo_service_new(store, &svc, &err);
    if (!rc && create) {
        char text[HPO_TOKEN_TEXT_LEN + 1];
        hpo_token_info info = {0};
        rc = hpo_service_token_create(svc, &spec, text, &info, &err);
        if (!rc) {
            printf("%s\n", text);
            fflush(stdout);
            fprintf(stderr, "token %lld created (scope %s); it is shown only now\n",
                    (long long)info.grant.id, hpo_scope_name(info.grant.scope));
            hpo_token_info_clear(&info);
        }
    } else if (!rc && list) {
        hpo_token_info *rows = NULL;
        size_t n = 0;
        rc = hpo_service_token_list(svc, &rows, &n, &err);
        if (!rc) {
            printf("%-6s %-6s %-24s %-8s %-24s %-24s %-24s %s\n", "ID", "SCOPE", "REACH", "STATE",
                   "CREATED", "EXPIRES", "LAST USED", "NAME");
            for (size_t i = 0; i < n; i++)
                print_row(&rows[i]);
            hpo_token_infos_free(rows, n);
        }
    } else if (!rc && revoke) {
        rc = hpo_service_token_revoke(svc, id, &err);
        if (!rc)
            fprintf(stderr, "token %lld revoked\n", (long long)id);
    }
    hpo_service_free(svc);
    hpo_store_close(store);
    if (rc) {
        fprintf(stderr, "hpo-server token %s: %s\n", verb, err.message);
        return 1;
    }
    return 0;
}
