/* client_test: what the libhpoclient end-to-end tests share: a server per test and a client on it. */
#ifndef CLIENT_TEST_H
#define CLIENT_TEST_H

#include <check.h>

#include "e2e_server.h"
#include "hpo_client.h"

extern e2e_server ct_srv;

/* A client on ct_srv with its admin token (max_retries as in hpo_client_options: 0 = default 8,
 * -1 = none). */
hpo_client *ct_client(int max_retries);
/* The same with another token (NULL: none). */
hpo_client *ct_client_as(const char *token, int max_retries);
/* Creates a study from JSON text; fails the test on error. */
void ct_create(hpo_client *c, const char *config);
/* Asserts rc == want, naming the error the call gave. */
#define ct_assert_rc(rc, want, err)                                                          \
    ck_assert_msg((rc) == (want), "rc %d (%s: %s), expected %d", (int)(rc),                   \
                  hpo_rc_name(rc), (err).message, (int)(want))

/* Check fixtures: a fresh server and database per test. */
void ct_setup(void);
void ct_teardown(void);

#endif
