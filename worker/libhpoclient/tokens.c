/* tokens: the bearer token's text (checked, or read from a token file for the hpo tools) and the
 * tokens API (create, list, revoke). A token's text never goes into an error message. */
#include "client_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A token is some 50 characters; a first line past this is not a token file. */
#define TOKEN_FILE_MAX 4096

bool hpoc_token_ok(const char *token)
{
    if (!token || !*token)
        return false;
    for (const unsigned char *p = (const unsigned char *)token; *p; p++)
        if (*p <= ' ' || *p >= 0x7f) /* a CR or LF would end the header early */
            return false;
    return true;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

hpo_rc hpo_client_token_read_file(const char *path, char **ret_token, hpo_error *err)
{
    hpo_error_clear(err);
    if (!path || !*path || !ret_token)
        return hpo_error_set(err, HPO_E_INVALID, "token_file", "a token file path is required");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hpo_error_set(err, HPO_E_INVALID, "token_file", "cannot read the token file %s: %s",
                             path, strerror(errno));
    char buf[TOKEN_FILE_MAX + 1];
    size_t len = 0;
    int read_errno = 0;
    /* up to the first newline: what follows may be a comment, and is never looked at */
    while (len < TOKEN_FILE_MAX && !memchr(buf, '\n', len)) {
        ssize_t n = read(fd, buf + len, TOKEN_FILE_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            read_errno = errno;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    hpo_rc rc = HPO_OK;
    char *nl = memchr(buf, '\n', len);
    size_t end = nl ? (size_t)(nl - buf) : len, start = 0;
    if (read_errno)
        rc = hpo_error_set(err, HPO_E_INVALID, "token_file", "cannot read the token file %s: %s",
                           path, strerror(read_errno));
    else if (!nl && len == TOKEN_FILE_MAX)
        rc = hpo_error_set(err, HPO_E_INVALID, "token_file",
                           "the token file %s: the first line is over %d bytes", path,
                           TOKEN_FILE_MAX);
    if (!rc) {
        while (start < end && is_space(buf[start]))
            start++;
        while (end > start && is_space(buf[end - 1]))
            end--;
        buf[end] = '\0';
        if (start == end)
            rc = hpo_error_set(err, HPO_E_INVALID, "token_file",
                               "the token file %s: the first line is empty", path);
        else if (!hpoc_token_ok(buf + start))
            rc = hpo_error_set(err, HPO_E_INVALID, "token_file",
                               "the token file %s: the first line holds a space or a control "
                               "character inside the token", path);
        else if (!(*ret_token = strdup(buf + start)))
            rc = hpoc_nomem(err);
    }
    explicit_bzero(buf, sizeof buf);
    return rc;
}

hpo_rc hpo_client_token_create(hpo_client *c, const json_t *body, json_t **ret_token,
                               hpo_error *err)
{
    hpo_error_clear(err);
    if (!json_is_object(body))
        return hpo_error_set(err, HPO_E_INVALID, NULL, "the body must be a JSON object");
    json_t *j = NULL;
    hpo_rc rc = hpoc_call(c, "POST", "/api/v1/tokens", body, HPOC_RETRY_CONNECT, NULL, &j, err);
    if (!rc && !json_is_object(j))
        rc = hpo_error_set(err, HPO_E_INTERNAL, NULL,
                           "the answer to a token create is not an object");
    if (!rc && ret_token)
        *ret_token = json_incref(j);
    json_decref(j);
    return rc;
}

hpo_rc hpo_client_token_list(hpo_client *c, json_t **ret, hpo_error *err)
{
    hpo_error_clear(err);
    json_t *j = NULL, *list = NULL;
    hpo_rc rc = hpoc_call(c, "GET", "/api/v1/tokens", NULL, HPOC_RETRY_ALL, NULL, &j, err);
    if (!rc)
        rc = hpoc_take_array(j, "tokens", &list, err);
    json_decref(j);
    if (!rc && ret)
        *ret = list;
    else
        json_decref(list);
    return rc;
}

hpo_rc hpo_client_token_revoke(hpo_client *c, int64_t id, hpo_error *err)
{
    hpo_error_clear(err);
    if (id < 0)
        return hpo_error_set(err, HPO_E_INVALID, "id", "a token id is >= 0");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tokens/%lld", (long long)id);
    /* a repeated DELETE could answer 404 for a token the first one revoked: not blindly */
    return hpoc_call(c, "DELETE", path, NULL, HPOC_RETRY_CONNECT, NULL, NULL, err);
}
