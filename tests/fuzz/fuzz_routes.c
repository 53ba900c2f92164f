/* fuzz_routes: the route matcher on any method and (decoded) path, the query arguments handlers
 * read as integers, and the Authorization header with the permission check. A match must be
 * exact (the pattern with the captured segments put back gives the path again) and every route
 * but /healthz must need a token. Input: "METHOD\nPATH?key=value&...\nAUTHORIZATION VALUE". */
#include <string.h>

#include "fuzz.h"
#include "hpo_routes.h"
#include "hpo_token.h"

/* Whether a pattern's segment {x} is a number ({n}, {id}): all but {study} and {name}. */
/* {name} and {file} (the dashboard's files) both fill req->name. */
static size_t name_placeholder(const char *p)
{
    return strncmp(p, "{name}", 6) == 0 ? 6 : strncmp(p, "{file}", 6) == 0 ? 6 : 0;
}

static bool number_placeholder(const char *p)
{
    return p[0] == '{' && strncmp(p, "{study}", 7) != 0 && !name_placeholder(p);
}

static bool has_number(const char *pattern)
{
    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{'))
        if (number_placeholder(p))
            return true;
    return false;
}

/* The pattern with {study}, {n} and {name} or {file} replaced by what the match captured. */
static void rebuild(const char *pattern, const hpo_request *req, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 1 < size;) {
        const char *seg = NULL;
        char num[32];
        size_t skip = 0;
        if (strncmp(p, "{study}", 7) == 0) {
            seg = req->study, skip = 7;
        } else if (name_placeholder(p)) {
            seg = req->name, skip = name_placeholder(p);
        } else if (number_placeholder(p)) {
            snprintf(num, sizeof num, "%lld", (long long)req->number);
            seg = num, skip = strcspn(p, "}") + 1;
        }
        if (!seg) {
            out[o++] = *p++;
            continue;
        }
        size_t len = strlen(seg);
        FUZZ_CHECK(len > 0 && strchr(seg, '/') == NULL);
        if (o + len >= size)
            len = size - o - 1;
        memcpy(out + o, seg, len);
        o += len;
        p += skip;
    }
    out[o] = '\0';
}

static void check_auth(const char *auth, const char *study, hpo_scope need);

static void check_match(const char *method, const char *path, const char *auth)
{
    hpo_request req = {.method = method, .path = path, .number = -1};
    bool known = true;
    const hpo_route *r = hpo_route_match(method, path, &req, &known);
    if (!r) {
        /* 405 only when the path is a route's under some other method */
        static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
        bool other = false;
        for (size_t i = 0; i < 4; i++) {
            hpo_request probe = {.number = -1};
            bool k;
            if (strcmp(methods[i], method) != 0 && hpo_route_match(methods[i], path, &probe, &k))
                other = true;
        }
        FUZZ_CHECK(known == other);
        check_auth(auth, NULL, HPO_SCOPE_ADMIN);
        return;
    }
    FUZZ_CHECK(known);
    FUZZ_CHECK(strcmp(r->method, method) == 0);
    FUZZ_CHECK((strstr(r->pattern, "{study}") != NULL) == (req.study != NULL));
    FUZZ_CHECK((strstr(r->pattern, "{name}") || strstr(r->pattern, "{file}")) ==
               (req.name != NULL));
    FUZZ_CHECK(has_number(r->pattern) == (req.number >= 0));
    /* the contract: every API request and GET /metrics need a token (GET /healthz and the
     * dashboard's static files do not); tokens need admin; writes need at least worker */
    FUZZ_CHECK((r->scope == HPO_SCOPE_NONE) ==
               (strncmp(r->pattern, "/api/", 5) != 0 && strcmp(r->pattern, "/metrics") != 0));
    FUZZ_CHECK(strncmp(r->pattern, "/api/v1/tokens", 14) != 0 || r->scope == HPO_SCOPE_ADMIN);
    FUZZ_CHECK(strcmp(method, "GET") == 0 || r->scope >= HPO_SCOPE_WORKER);
    char again[2048];
    rebuild(r->pattern, &req, again, sizeof again);
    /* a number segment may have had leading zeros ("/trials/007"): compare after re-reading */
    if (strcmp(again, path) != 0) {
        hpo_request req2 = {.number = -1};
        bool k2;
        const hpo_route *r2 = hpo_route_match(method, again, &req2, &k2);
        FUZZ_CHECK(r2 == r);
        FUZZ_CHECK(req2.number == req.number);
        FUZZ_CHECK(has_number(r->pattern));
    }
    check_auth(auth, req.study, r->scope);
}

/* The bearer token of an Authorization value, and grants limited to the path's study. */
static void check_auth(const char *auth, const char *study, hpo_scope need)
{
    const char *tok = NULL;
    size_t len = 0;
    if (hpo_token_from_header(auth, &tok, &len)) {
        FUZZ_CHECK(tok >= auth && tok + len <= auth + strlen(auth) && len > 0);
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK(tok[i] != ' ' && tok[i] != '\t' && tok[i] != '\0');
        if (hpo_token_well_formed(tok, len)) {
            FUZZ_CHECK(len == HPO_TOKEN_TEXT_LEN && strncmp(tok, HPO_TOKEN_PREFIX, 4) == 0);
            char h1[HPO_TOKEN_HASH_HEX], h2[HPO_TOKEN_HASH_HEX];
            hpo_token_hash(tok, len, h1);
            hpo_token_hash(tok, len, h2);
            FUZZ_CHECK(hpo_token_hash_equal(h1, h2) && strlen(h1) == 64);
        }
    }
    if (!study || strlen(study) > HPO_TOKEN_STUDY_MAX)
        return;
    size_t n = strlen(study);
    for (int scope = HPO_SCOPE_READ; scope <= HPO_SCOPE_ADMIN; scope++) {
        hpo_token_grant exact = {.scope = (hpo_scope)scope}, prefix = exact, other = exact;
        memcpy(exact.study, study, n + 1);
        memcpy(prefix.study_prefix, study, n / 2);
        snprintf(other.study, sizeof other.study, "%.*s%s", (int)(n > 0 ? n - 1 : 0), study,
                 n > 0 && study[n - 1] == 'x' ? "y" : "x");
        FUZZ_CHECK(hpo_token_grant_covers(&exact, study));
        FUZZ_CHECK(n / 2 == 0 || hpo_token_grant_covers(&prefix, study));
        FUZZ_CHECK(!hpo_token_grant_covers(&other, study));
        hpo_error err = {0};
        hpo_rc rc = hpo_token_permits(&exact, need, study, 1, &err);
        FUZZ_CHECK((rc == HPO_OK) == (scope >= (int)need));
        FUZZ_CHECK(rc == HPO_OK || (rc == HPO_E_PERMISSION && err.message[0]));
        rc = hpo_token_permits(&other, need, study, 1, &err);
        FUZZ_CHECK(rc != HPO_OK || need == HPO_SCOPE_NONE);
        /* an expired token is refused whatever else it grants */
        exact.expires_ms = 1;
        FUZZ_CHECK(need == HPO_SCOPE_NONE ||
                   hpo_token_permits(&exact, need, study, 1, &err) == HPO_E_UNAUTHENTICATED);
    }
}

/* The integer query arguments of the trials list: in range or refused, never half-read. */
static void check_query(hpo_request *req)
{
    static const struct {
        const char *key;
        int64_t min, max;
    } ints[] = {{"limit", 1, 1000}, {"after", -1, INT64_MAX - 1}, {"n", INT64_MIN, INT64_MAX}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v = 12345;
        hpo_error err = {0};
        hpo_rc rc = hpo_query_int(req, ints[i].key, ints[i].min, ints[i].max, &v, &err);
        const char *s = hpo_request_query(req, ints[i].key);
        if (!s) {
            FUZZ_CHECK(rc == HPO_OK && v == 12345);
        } else if (rc == HPO_OK) {
            FUZZ_CHECK(v >= ints[i].min && v <= ints[i].max);
            char *end;
            FUZZ_CHECK(strtoll(s, &end, 10) == v && *end == '\0');
        } else {
            FUZZ_CHECK(rc == HPO_E_INVALID && v == 12345 && err.message[0]);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the strings a connection hands over are NUL-terminated: cut the input at its first NUL */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *path = strchr(text, '\n');
    if (!path) {
        free(text);
        return 0;
    }
    *path++ = '\0';
    const char *method = text;
    char *auth = strchr(path, '\n');
    if (auth)
        *auth++ = '\0';
    char *query = strchr(path, '?');
    hpo_request req = {.method = method, .path = path, .number = -1};
    if (query) {
        /* what libmicrohttpd hands the server: path and arguments apart (decoding is its job) */
        *query++ = '\0';
        for (char *save = NULL, *kv = strtok_r(query, "&", &save);
             kv && req.n_query < HPO_MAX_QUERY_ARGS; kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (eq)
                *eq++ = '\0';
            req.query_keys[req.n_query] = kv;
            req.query_values[req.n_query++] = eq ? eq : "";
        }
    }
    check_match(method, path, auth ? auth : "");
    check_query(&req);
    free(text);
    return 0;
}
