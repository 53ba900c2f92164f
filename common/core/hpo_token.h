/* hpo_token: API tokens as plain values: scopes that nest (admin > worker > read), the study a
 * token may be limited to, the token text and its hash, and the one permission check. Pure. */
#ifndef HPO_TOKEN_H
#define HPO_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hpo_error.h"

/* Ordered: a scope grants every scope below it. HPO_SCOPE_NONE: a route open to all. */
typedef enum {
    HPO_SCOPE_NONE = 0,
    HPO_SCOPE_READ = 1,
    HPO_SCOPE_WORKER = 2,
    HPO_SCOPE_ADMIN = 3,
} hpo_scope;

#define HPO_TOKEN_PREFIX "hpo_"
#define HPO_TOKEN_RANDOM_BYTES 32
/* "hpo_" + 43 base64url characters (256 bits) */
#define HPO_TOKEN_TEXT_LEN 47
#define HPO_TOKEN_HASH_HEX 65 /* SHA-256 as 64 hex digits and a NUL */
#define HPO_TOKEN_STUDY_MAX 128

/* "read"/"worker"/"admin" (and "none"). */
const char *hpo_scope_name(hpo_scope s);
/* HPO_SCOPE_READ.. from a name; -1 when unknown (NONE is not a token's scope). */
int hpo_scope_parse(const char *name);

/* What a token lets its bearer do: its scope and, at most one of the two, a study name or a
 * study-name prefix ("" when unrestricted). */
typedef struct {
    int64_t id;
    hpo_scope scope;
    char study[HPO_TOKEN_STUDY_MAX + 1];
    char study_prefix[HPO_TOKEN_STUDY_MAX + 1];
    int64_t expires_ms; /* 0: never */
} hpo_token_grant;

/* A token's facts as stored and listed (never its text, only its SHA-256). */
typedef struct {
    hpo_token_grant grant; /* id, scope, study or prefix, expiry */
    char hash[HPO_TOKEN_HASH_HEX];
    char *name;            /* owned; NULL when none */
    int64_t created_ms, last_used_ms, revoked_ms; /* 0: not set */
} hpo_token_info;
/* Frees what t owns (NULL is a no-op); _infos_free also the array of n. */
void hpo_token_info_clear(hpo_token_info *t);
void hpo_token_infos_free(hpo_token_info *t, size_t n);

/* Whether the grant reaches study `study` (NULL: a request about no one study). */
bool hpo_token_grant_covers(const hpo_token_grant *g, const char *study);
/* HPO_OK when g allows a request needing scope `need` on `study` (NULL for none) at now_ms;
 * else HPO_E_UNAUTHENTICATED (expired) or HPO_E_PERMISSION, with a message fit for the client
 * (it never holds the token). g NULL means authentication is off: everything is allowed. */
hpo_rc hpo_token_permits(const hpo_token_grant *g, hpo_scope need, const char *study,
                         int64_t now_ms, hpo_error *err);

/* Formats HPO_TOKEN_RANDOM_BYTES random bytes as a token: ret gets HPO_TOKEN_TEXT_LEN + 1 bytes. */
void hpo_token_format(const uint8_t random[HPO_TOKEN_RANDOM_BYTES],
                      char ret[HPO_TOKEN_TEXT_LEN + 1]);
/* Whether text has the shape of a token (prefix, length, alphabet); says nothing of validity. */
bool hpo_token_well_formed(const char *text, size_t len);
/* The stored form of a token: SHA-256 of its text, as hex. */
void hpo_token_hash(const char *text, size_t len, char ret[HPO_TOKEN_HASH_HEX]);
/* Compares two hashes in time independent of where they differ. */
bool hpo_token_hash_equal(const char a[HPO_TOKEN_HASH_HEX], const char b[HPO_TOKEN_HASH_HEX]);

/* The token of an "Authorization: Bearer <token>" header value (case-insensitive scheme, spaces
 * around allowed): *ret points into value, *ret_len its length. false when there is none. */
bool hpo_token_from_header(const char *value, const char **ret, size_t *ret_len);

#endif
