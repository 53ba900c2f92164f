/* hpo_tokens: the in-memory cache of usable API tokens (by hash), kept in step with PostgreSQL
 * by a refresh thread; service-internal (the service's functions in hpo_service.h use it). */
#ifndef HPO_TOKENS_H
#define HPO_TOKENS_H

typedef struct hpo_token_cache hpo_token_cache;

/* Stops the refresh thread (flushing last-use times) and frees the cache. NULL is a no-op. */
void hpo_token_cache_free(hpo_token_cache *c);

#endif
