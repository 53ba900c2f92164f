/* hpo_buf: the growable byte buffer with a maximum size (the one way buffers grow). */
#include "hpo_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hpo_buf_init(hpo_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

/* Makes room for len + n bytes plus the terminating NUL. */
static hpo_rc buf_reserve(hpo_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return HPO_E_TOO_LARGE;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return HPO_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    /* Never hold much more than the cap allows. */
    if (cap > b->max + 1 && need <= b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p)
        return HPO_E_NOMEM;
    b->data = p;
    b->cap = cap;
    return HPO_OK;
}

hpo_rc hpo_buf_append(hpo_buf *b, const void *data, size_t n)
{
    hpo_rc rc = buf_reserve(b, n);
    if (rc != HPO_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return HPO_OK;
}

hpo_rc hpo_buf_appendf(hpo_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return HPO_E_INTERNAL;
    hpo_rc rc = buf_reserve(b, (size_t)n);
    if (rc != HPO_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return HPO_OK;
}

void hpo_buf_reset(hpo_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void hpo_buf_free(hpo_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
