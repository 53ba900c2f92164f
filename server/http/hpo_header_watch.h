/* hpo_header_watch: a deadline for a request's head. libmicrohttpd's idle timeout restarts on
 * every byte, so a client dripping its headers a byte at a time would hold a connection forever;
 * this closes (shutdown) a connection whose request line and headers are not complete within
 * the deadline of its opening or of its previous answer. */
#ifndef HPO_HEADER_WATCH_H
#define HPO_HEADER_WATCH_H

#include <stdint.h>
#include "hpo_error.h"

typedef struct hpo_header_watch hpo_header_watch;
typedef struct hpo_watched hpo_watched; /* one connection */

/* Starts the watch thread (checks every 250 ms). *ret owned: hpo_header_watch_free. */
hpo_rc hpo_header_watch_new(int64_t deadline_ms, hpo_header_watch **ret, hpo_error *err);
/* Stops the thread; every connection must be gone already (the daemon stopped). NULL no-op. */
void hpo_header_watch_free(hpo_header_watch *w);

/* A new connection on socket fd, waiting for its first request head; NULL when out of memory
 * (the connection is then not watched). */
hpo_watched *hpo_header_watch_add(hpo_header_watch *w, int fd);
/* Its request head is complete (the request is being handled). */
void hpo_header_watch_head_done(hpo_header_watch *w, hpo_watched *c);
/* Its answer is sent: the deadline runs again for the next request on the connection. */
void hpo_header_watch_answered(hpo_header_watch *w, hpo_watched *c);
/* The connection is closing: forgotten before its socket is closed. NULL is a no-op. */
void hpo_header_watch_remove(hpo_header_watch *w, hpo_watched *c);

#endif
