/* e2e_server: starts the real hpo-server binary on a fresh database and talks HTTP to it. */
#ifndef E2E_SERVER_H
#define E2E_SERVER_H

#include <jansson.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;  /* 0 before the first start: the kernel picks one; kept across restarts */
    char *db; /* conninfo of the test database (owned) */
    char base[64];
    char artifact_dir[64];          /* made at the first start, removed by e2e_destroy */
    const char *artifact_max_bytes; /* passed as --artifact-max-bytes when set */
    char token[64]; /* an admin token, made by the first start; sent by e2e_call */
    const char *const *extra_args;  /* NULL-terminated flags added to the command line, or NULL */
    const char *stderr_path;        /* the server's standard error goes there when set */
    const char *cacert;             /* set: the server speaks HTTPS (its flags in extra_args)
                                     * and clients verify it with this CA file */
} e2e_server;

/* Starts hpo-server (path from env HPO_SERVER_BIN) against s->db, or a new test database when
 * s->db is NULL (with an admin token made by `hpo-server token create` into s->token), on s->port (0: a free port, kept in s->port for restarts); waits until it
 * listens. Fails the test on error. */
void e2e_start(e2e_server *s);
/* Stops the server with sig (SIGTERM or SIGKILL) and waits for it; keeps the database. */
void e2e_stop(e2e_server *s, int sig);
/* Stops the server if running and drops the database. */
void e2e_destroy(e2e_server *s);

/* One request: body is JSON text or NULL. Returns the HTTP status; *ret_json (may be NULL) gets
 * the parsed answer (NULL when empty). *ret_retry_after (may be NULL) the Retry-After seconds. */
long e2e_call(const e2e_server *s, const char *method, const char *path, const char *body,
              json_t **ret_json);
/* The same with another token (NULL or "": no Authorization header). */
long e2e_call_as(const e2e_server *s, const char *token, const char *method, const char *path,
                 const char *body, json_t **ret_json);
/* Makes a token with `hpo-server token create --db s->db` and the given arguments after
 * "--scope" (e.g. "read", "--study", "s1", NULL); fails the test when it fails. */
void e2e_make_token(const e2e_server *s, char ret[64], const char *scope, ...);
/* The same with a printf-formatted path and a json_t body (borrowed; NULL for none). */
long e2e_callj(const e2e_server *s, const char *method, json_t *body, json_t **ret_json,
               const char *path_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Asserts the error code of an error answer. */
void e2e_expect_error(json_t *j, const char *code);

#endif
