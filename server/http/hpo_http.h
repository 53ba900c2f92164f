/* hpo_http: the libmicrohttpd daemon that feeds requests through the route table. */
#ifndef HPO_HTTP_H
#define HPO_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"
#include "hpo_service.h"

typedef struct hpo_http hpo_http;

typedef struct {
    const char *host;   /* address to bind ("127.0.0.1", "0.0.0.0", "::", a name) */
    uint16_t port;      /* 0 picks a free port: see hpo_http_port */
    unsigned threads;   /* worker threads answering requests */
    const hpo_limits *limits; /* bodies, connections, headers, idle time (borrowed for the
                               * call); NULL: hpo_limits_default */
    const char *tls_cert; /* PEM text of the certificate (chain) and of its key: both set */
    const char *tls_key;  /* serves HTTPS, both NULL plain HTTP; borrowed for the call */
} hpo_http_config;

/* Starts serving svc (borrowed; must outlive the daemon). *ret owned: hpo_http_stop. */
hpo_rc hpo_http_start(hpo_service *svc, const hpo_http_config *cfg, hpo_http **ret,
                      hpo_error *err);
uint16_t hpo_http_port(const hpo_http *h);
void hpo_http_stop(hpo_http *h); /* NULL is a no-op */

#endif
