/* h_dashboard: the dashboard's static files, embedded in the binary (hpo_dashboard.h): GET /
 * answers index.html, GET /ui/{file} the others. Open to all (the page holds no data: its API
 * calls carry the user's token). The page's own files are revalidated (no-cache, ETag, 304 on
 * If-None-Match); vendored ones carry their version in their name and are cached for good. */
#include <stdio.h>
#include <string.h>

#include "hpo_dashboard.h"
#include "hpo_routes.h"

/* The page may load and call nothing but this server (Plotly sets inline styles). */
static const char csp[] = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
                          "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
                          "base-uri 'none'; form-action 'self'";

static void answer(const hpo_request *req, hpo_response *res, const char *name)
{
    const hpo_dash_file *f = NULL;
    for (size_t i = 0; i < hpo_n_dash_files && !f; i++)
        if (strcmp(hpo_dash_files[i].name, name) == 0)
            f = &hpo_dash_files[i];
    if (!f) {
        hpo_error err;
        hpo_error_set(&err, HPO_E_NOT_FOUND, NULL, "no dashboard file '%s'", name);
        hpo_response_error(res, &err);
        return;
    }
    res->content_type = f->content_type;
    res->cache_control = f->immutable ? "public, max-age=31536000, immutable" : "no-cache";
    res->csp = csp;
    snprintf(res->etag, sizeof res->etag, "%s", f->etag);
    /* If-None-Match: a list of tags, maybe weak (W/"..."); ours is among them or not */
    if (req->if_none_match && strstr(req->if_none_match, f->etag)) {
        res->status = 304;
        res->bytes = "";
        res->n_bytes = 0;
        return;
    }
    res->status = 200;
    res->bytes = f->start;
    res->n_bytes = (size_t)(f->end - f->start);
}

void hpo_h_dashboard_index(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    (void)svc;
    answer(req, res, "index.html");
}

void hpo_h_dashboard_file(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    (void)svc;
    answer(req, res, req->name);
}
