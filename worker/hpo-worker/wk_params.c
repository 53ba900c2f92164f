/* wk_params: placeholder substitution, environment names and value formatting for the params a
 * trial hands to its command. */
#include "wk_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_buf.h"

/* Arguments and values are bounded by what a command line can hold anyway. */
#define WK_ARG_MAX ((size_t)1 << 20)

static char *format_real(double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return strdup(buf);
}

char *wk_param_format(const json_t *v)
{
    char buf[32];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strdup(json_string_value(v));
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    case JSON_REAL:
        return format_real(json_real_value(v));
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    case JSON_NULL:
        return strdup("null");
    case JSON_OBJECT:
    case JSON_ARRAY:
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    return NULL;
}

char *wk_param_env_name(const char *name)
{
    static const char prefix[] = "HPO_PARAM_";
    size_t n = strlen(name);
    char *out = malloc(sizeof prefix + n);
    if (!out)
        return NULL;
    memcpy(out, prefix, sizeof prefix - 1);
    char *p = out + sizeof prefix - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 'a' && c <= 'z')
            *p++ = (char)(c - 'a' + 'A');
        else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            *p++ = (char)c;
        else
            *p++ = '_';
    }
    *p = '\0';
    return out;
}

char *wk_substitute(const char *arg, const json_t *params)
{
    hpo_buf b;
    hpo_buf_init(&b, WK_ARG_MAX);
    hpo_rc rc = hpo_buf_append(&b, "", 0);
    const char *p = arg;
    while (rc == HPO_OK && *p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open + 1, '}') : NULL;
        if (!close) {
            rc = hpo_buf_append(&b, p, strlen(p));
            break;
        }
        /* The last '{' before the '}' starts the candidate name: "{{x}" keeps one brace. */
        const char *name = open + 1;
        for (const char *q = name; q < close; q++)
            if (*q == '{')
                name = q + 1;
        rc = hpo_buf_append(&b, p, (size_t)(name - 1 - p));
        size_t len = (size_t)(close - name);
        char key[257]; /* param names have 1 to 256 bytes (hpo_param_name_validate) */
        const json_t *v = NULL;
        if (len > 0 && len < sizeof key) {
            memcpy(key, name, len);
            key[len] = '\0';
            v = json_object_get(params, key);
        }
        if (rc == HPO_OK && v) {
            char *text = wk_param_format(v);
            rc = text ? hpo_buf_append(&b, text, strlen(text)) : HPO_E_NOMEM;
            free(text);
        } else if (rc == HPO_OK) {
            rc = hpo_buf_append(&b, name - 1, len + 2);
        }
        p = close + 1;
    }
    if (rc != HPO_OK) {
        hpo_buf_free(&b);
        return NULL;
    }
    return b.data;
}
