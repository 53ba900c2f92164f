/* hpo_testsvc: the service over its store on a test database (hpo_testdb), opened and closed as a
 * server's start and stop would: what the db suite's service tests set up for each test, and the
 * study and ask they all start from. */
#ifndef HPO_TESTSVC_H
#define HPO_TESTSVC_H

#include "hpo_service.h"
#include "hpo_store.h"

typedef struct {
    hpo_store *store;
    hpo_service *svc;
} hpo_testsvc;

/* Opens a store of pool_size connections on conninfo, migrates it and makes a service over it;
 * fails the test (Check) otherwise. */
void hpo_testsvc_open(hpo_testsvc *t, const char *conninfo, int pool_size);
/* Frees the service and closes the store (NULLs them); a closed one is a no-op. */
void hpo_testsvc_close(hpo_testsvc *t);

/* Creates the study c describes (name, directions, sampler, pruner, ... as the caller set them)
 * over one param x, a float in [-5, 5] added here; fails the test otherwise. */
void hpo_testsvc_create_study(hpo_testsvc *t, hpo_study_config *c);
/* Asks `study` for a trial as `worker` (may be NULL) and returns its number; fails the test
 * otherwise. */
int64_t hpo_testsvc_ask(hpo_testsvc *t, const char *study, const char *worker);

#endif
