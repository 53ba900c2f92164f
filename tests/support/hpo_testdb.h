/* hpo_testdb: a fresh PostgreSQL database per test, on the server that HPO_TEST_PG names. */
#ifndef HPO_TESTDB_H
#define HPO_TESTDB_H

/* Creates a database with a unique name on the server named by the environment variable
 * HPO_TEST_PG (a libpq conninfo for an account that may CREATE DATABASE) and returns a conninfo
 * for it (owned, free()). Fails the test (Check ck_abort) when HPO_TEST_PG is unset or the server
 * cannot be reached: database tests never skip silently. */
char *hpo_testdb_create(void);
/* Drops the database created by hpo_testdb_create (terminating its connections). */
void hpo_testdb_drop(const char *conninfo);

#endif
