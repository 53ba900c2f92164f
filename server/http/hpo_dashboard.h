/* hpo_dashboard: the dashboard's files (server/http/dashboard/), embedded in hpo-server at build
 * time by embed_dashboard.py (a generated C file whose bytes come from the assembler's .incbin),
 * and served by h_dashboard.c at GET / and GET /ui/{file}. */
#ifndef HPO_DASHBOARD_H
#define HPO_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name;         /* served as /ui/NAME ("index.html" also at /) */
    const char *content_type;
    const char *etag;         /* quoted: "\"<32 hex digits of its SHA-256>\"" */
    bool immutable;           /* vendored, its version in its name: cached for good */
    const unsigned char *start, *end; /* the bytes: [start, end) */
} hpo_dash_file;

extern const hpo_dash_file hpo_dash_files[];
extern const size_t hpo_n_dash_files;

#endif
