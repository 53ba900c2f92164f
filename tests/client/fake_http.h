/* fake_http: a scripted HTTP server on loopback for libhpoclient's unit tests: each connection
 * takes one request and gets the next canned answer (or is closed unanswered). */
#ifndef FAKE_HTTP_H
#define FAKE_HTTP_H

#include <pthread.h>
#include <stddef.h>

#define MAX_SCRIPT 8
#define DROP NULL /* a script entry: read the request, close without answering */

typedef struct {
    int listen_fd, port;
    const char *script[MAX_SCRIPT];
    int n;
    int served;
    char *requests[MAX_SCRIPT]; /* head and body of each request (owned) */
    size_t body_len[MAX_SCRIPT];
    pthread_t th;
} fake;

/* Listens on a loopback port (f->port) and serves f->script on a thread of its own. */
void fake_start(fake *f);
/* Stops serving (requests not yet served are refused) and frees f->requests: look at them
 * before. */
void fake_stop(fake *f);
/* The body of request i (after the head). */
const char *body_of(const fake *f, int i);

#endif
