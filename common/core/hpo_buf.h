/* hpo_buf: the one growable byte buffer; it has a maximum size fixed at init (how bodies are capped). */
#ifndef HPO_BUF_H
#define HPO_BUF_H

#include <stddef.h>
#include "hpo_error.h"

typedef struct {
    char *data;  /* always NUL-terminated when non-NULL; owned */
    size_t len;
    size_t cap;
    size_t max;  /* the most bytes len may reach */
} hpo_buf;

void hpo_buf_init(hpo_buf *b, size_t max);
/* Appends n bytes; HPO_E_TOO_LARGE (buffer unchanged) when len + n > max, HPO_E_NOMEM on OOM. */
hpo_rc hpo_buf_append(hpo_buf *b, const void *data, size_t n);
hpo_rc hpo_buf_appendf(hpo_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hpo_buf_reset(hpo_buf *b);  /* len = 0, memory kept */
void hpo_buf_free(hpo_buf *b);   /* releases memory; b may be re-initialised */

#endif
