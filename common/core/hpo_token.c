/* hpo_token: scopes, token text and hashing, and the permission check behind every request. */
#include "hpo_token.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hpo_sha256.h"

static const char *const scope_names[] = {"none", "read", "worker", "admin"};

const char *hpo_scope_name(hpo_scope s)
{
    return (unsigned)s <= HPO_SCOPE_ADMIN ? scope_names[s] : "none";
}

int hpo_scope_parse(const char *name)
{
    for (int s = HPO_SCOPE_READ; name && s <= HPO_SCOPE_ADMIN; s++)
        if (strcmp(name, scope_names[s]) == 0)
            return s;
    return -1;
}

bool hpo_token_grant_covers(const hpo_token_grant *g, const char *study)
{
    if (!g->study[0] && !g->study_prefix[0])
        return true;
    if (!study)
        return false;
    if (g->study[0])
        return strcmp(g->study, study) == 0;
    return strncmp(g->study_prefix, study, strlen(g->study_prefix)) == 0;
}

hpo_rc hpo_token_permits(const hpo_token_grant *g, hpo_scope need, const char *study,
                         int64_t now_ms, hpo_error *err)
{
    if (!g || need == HPO_SCOPE_NONE)
        return HPO_OK;
    if (g->expires_ms && now_ms >= g->expires_ms)
        return hpo_error_set(err, HPO_E_UNAUTHENTICATED, NULL, "the token has expired");
    if (g->scope < need)
        return hpo_error_set(err, HPO_E_PERMISSION, NULL,
                             "this needs a token of scope '%s'; the token's scope is '%s'",
                             hpo_scope_name(need), hpo_scope_name(g->scope));
    if (study && !hpo_token_grant_covers(g, study))
        return hpo_error_set(err, HPO_E_PERMISSION, NULL,
                             "the token does not reach study '%s'", study);
    return HPO_OK;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void hpo_token_format(const uint8_t random[HPO_TOKEN_RANDOM_BYTES],
                      char ret[HPO_TOKEN_TEXT_LEN + 1])
{
    size_t o = strlen(HPO_TOKEN_PREFIX);
    memcpy(ret, HPO_TOKEN_PREFIX, o);
    /* 32 bytes = 256 bits: 42 full 6-bit groups and 4 bits left in a 43rd character */
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < HPO_TOKEN_RANDOM_BYTES; i++) {
        acc = (acc << 8) | random[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            ret[o++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        ret[o++] = b64url[(acc << (6 - bits)) & 63];
    ret[o] = '\0';
}

bool hpo_token_well_formed(const char *text, size_t len)
{
    size_t pl = strlen(HPO_TOKEN_PREFIX);
    if (len != HPO_TOKEN_TEXT_LEN || strncmp(text, HPO_TOKEN_PREFIX, pl) != 0)
        return false;
    for (size_t i = pl; i < len; i++)
        if (!text[i] || !strchr(b64url, text[i]))
            return false;
    return true;
}

void hpo_token_hash(const char *text, size_t len, char ret[HPO_TOKEN_HASH_HEX])
{
    hpo_sha256 s;
    hpo_sha256_init(&s);
    hpo_sha256_update(&s, text, len);
    hpo_sha256_final_hex(&s, ret);
}

bool hpo_token_hash_equal(const char a[HPO_TOKEN_HASH_HEX], const char b[HPO_TOKEN_HASH_HEX])
{
    unsigned char diff = 0;
    for (size_t i = 0; i < HPO_TOKEN_HASH_HEX - 1; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool hpo_token_from_header(const char *value, const char **ret, size_t *ret_len)
{
    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, "Bearer", 6) != 0 || (value[6] != ' ' && value[6] != '\t'))
        return false;
    value += 6;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strcspn(value, " \t");
    const char *rest = value + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (n == 0 || *rest)
        return false;
    *ret = value;
    *ret_len = n;
    return true;
}

void hpo_token_info_clear(hpo_token_info *t)
{
    if (t) {
        free(t->name);
        t->name = NULL;
    }
}

void hpo_token_infos_free(hpo_token_info *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        hpo_token_info_clear(&t[i]);
    free(t);
}
