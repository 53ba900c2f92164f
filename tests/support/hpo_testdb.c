/* hpo_testdb: creates and drops a uniquely named database per test on the PostgreSQL server that
 * HPO_TEST_PG names; database tests fail (never skip) when it is missing. */
#include "hpo_testdb.h"

#include <check.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ENV_NAME "HPO_TEST_PG"

static atomic_uint counter;

static const char *base_conninfo(void)
{
    const char *base = getenv(ENV_NAME);
    if (!base || !*base)
        ck_abort_msg(ENV_NAME " is not set: database tests need a PostgreSQL server, e.g. "
                     ENV_NAME "=\"host=/tmp/hpo-pg port=54329 user=postgres dbname=postgres\"");
    return base;
}

static PGconn *connect_admin(void)
{
    const char *base = base_conninfo();
    PGconn *c = PQconnectdb(base);
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        PQfinish(c);
        ck_abort_msg("cannot connect to " ENV_NAME " (%s): %s", base, msg);
    }
    return c;
}

static void exec_or_abort(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        ck_abort_msg("%s: %s", sql, msg);
    }
    PQclear(r);
}

/* Appends key='value' (quotes and backslashes escaped) to out. */
static void append_kv(char **out, size_t *len, const char *key, const char *val)
{
    size_t need = *len + strlen(key) + 2 * strlen(val) + 6;
    char *s = realloc(*out, need);
    ck_assert_msg(s != NULL, "out of memory");
    size_t n = *len;
    if (n)
        s[n++] = ' ';
    n += (size_t)sprintf(s + n, "%s='", key);
    for (const char *p = val; *p; p++) {
        if (*p == '\'' || *p == '\\')
            s[n++] = '\\';
        s[n++] = *p;
    }
    s[n++] = '\'';
    s[n] = '\0';
    *out = s;
    *len = n;
}

/* HPO_TEST_PG (key=value or URI) with dbname replaced, as a key=value string. */
static char *conninfo_with_db(const char *dbname)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(base_conninfo(), &perr);
    if (!opts) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", perr ? perr : "out of memory");
        PQfreemem(perr);
        ck_abort_msg(ENV_NAME " is not a valid conninfo: %s", msg);
    }
    char *out = NULL;
    size_t len = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val && strcmp(o->keyword, "dbname") != 0)
            append_kv(&out, &len, o->keyword, o->val);
    append_kv(&out, &len, "dbname", dbname);
    PQconninfoFree(opts);
    return out;
}

char *hpo_testdb_create(void)
{
    PGconn *c = connect_admin();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned rnd = (unsigned)ts.tv_nsec ^ ((unsigned)ts.tv_sec << 7) ^ (unsigned)rand();
    char name[64];
    snprintf(name, sizeof name, "hpo_test_%ld_%u_%08x", (long)getpid(),
             atomic_fetch_add(&counter, 1), rnd);
    char sql[160];
    /* template0: nobody is ever connected to it, so parallel tests can copy it at once. */
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\" TEMPLATE template0 ENCODING 'UTF8'", name);
    exec_or_abort(c, sql);
    PQfinish(c);
    return conninfo_with_db(name);
}

void hpo_testdb_drop(const char *conninfo)
{
    if (!conninfo)
        return;
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    ck_assert_msg(opts != NULL, "hpo_testdb_drop: unreadable conninfo");
    char *name = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "dbname") == 0 && o->val)
            name = strdup(o->val);
    PQconninfoFree(opts);
    ck_assert_msg(name != NULL, "hpo_testdb_drop: conninfo names no database");

    PGconn *c = connect_admin();
    char *ident = PQescapeIdentifier(c, name, strlen(name));
    free(name);
    ck_assert_msg(ident != NULL, "hpo_testdb_drop: %s", PQerrorMessage(c));
    size_t n = strlen(ident) + 64;
    char *sql = malloc(n);
    ck_assert_msg(sql != NULL, "out of memory");
    snprintf(sql, n, "DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
    PQfreemem(ident);
    exec_or_abort(c, sql);
    free(sql);
    PQfinish(c);
}
