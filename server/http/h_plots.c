/* h_plots: plot data computed by the server: the optimization history, the hypervolume history
 * of several objectives, the empirical distribution of the values, ASHA's rungs and the params'
 * importances (the trials themselves: h_columns.c). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_codec.h"
#include "hpo_plots.h"
#include "hpo_routes.h"

/* A finite number, or null. */
static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* ?objective= (default 0). */
static hpo_rc objective_of(const hpo_request *req, size_t *ret, hpo_error *err)
{
    int64_t k = 0;
    hpo_rc rc = hpo_query_int(req, "objective", 0, 64, &k, err);
    *ret = (size_t)k;
    return rc;
}

void hpo_h_history(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    size_t objective;
    hpo_history_data h = {0};
    if (objective_of(req, &objective, &err) ||
        hpo_service_history(svc, req->study, objective, &h, &err)) {
        hpo_response_error(res, &err);
        return;
    }
    json_t *num = json_array(), *val = json_array(), *best = json_array();
    for (size_t i = 0; i < h.n; i++) {
        json_array_append_new(num, json_integer(h.number[i]));
        json_array_append_new(val, number(h.value[i]));
        json_array_append_new(best, number(h.best[i]));
    }
    hpo_response_json(res, 200, json_pack("{s:I,s:s,s:o,s:o,s:o}", "objective",
                                          (json_int_t)objective, "direction",
                                          hpo_direction_name(h.direction), "number", num, "value",
                                          val, "best", best));
    hpo_history_data_clear(&h);
}

/* ?reference_point=a,b,...: finite numbers, at most HPO_HV_MAX_OBJECTIVES; absent: *ret_n 0. */
static hpo_rc reference_point_of(const hpo_request *req, double *ret, size_t *ret_n,
                                 hpo_error *err)
{
    const char *p = hpo_request_query(req, "reference_point");
    *ret_n = 0;
    while (p && *p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !isfinite(v) || (*end != ',' && *end != '\0') ||
            *ret_n == HPO_HV_MAX_OBJECTIVES)
            return hpo_error_set(err, HPO_E_INVALID, "reference_point",
                                 "reference_point is finite numbers separated by commas, one per "
                                 "objective");
        ret[(*ret_n)++] = v;
        p = *end ? end + 1 : end;
    }
    return HPO_OK;
}

json_t *hpo_hypervolume_json(hpo_service *svc, const hpo_request *req, bool history,
                             hpo_error *err)
{
    double ref[HPO_HV_MAX_OBJECTIVES];
    size_t n_ref;
    hpo_hypervolume_data h = {0};
    if (reference_point_of(req, ref, &n_ref, err) ||
        hpo_service_hypervolume(svc, req->study, n_ref ? ref : NULL, n_ref, history, &h, err))
        return NULL;
    json_t *rp = json_array(), *out = json_object();
    for (size_t k = 0; k < h.n_objectives; k++)
        json_array_append_new(rp, json_real(h.reference_point[k]));
    json_object_set_new(out, "reference_point", rp);
    json_object_set_new(out, "hypervolume", json_real(h.value));
    if (history) {
        json_t *num = json_array(), *hv = json_array();
        for (size_t i = 0; i < h.n; i++) {
            json_array_append_new(num, json_integer(h.number[i]));
            json_array_append_new(hv, json_real(h.hypervolume[i]));
        }
        json_object_set_new(out, "number", num);
        json_object_set_new(out, "history", hv);
    }
    hpo_hypervolume_data_clear(&h);
    return out;
}

void hpo_h_hypervolume(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    json_t *j = hpo_hypervolume_json(svc, req, true, &err);
    if (!j)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, j);
}

void hpo_h_edf(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    size_t objective;
    hpo_edf_data e = {0};
    if (objective_of(req, &objective, &err) ||
        hpo_service_edf(svc, req->study, objective, &e, &err)) {
        hpo_response_error(res, &err);
        return;
    }
    json_t *val = json_array(), *prob = json_array();
    for (size_t i = 0; i < e.n; i++) {
        json_array_append_new(val, number(e.values[i]));
        json_array_append_new(prob, json_real((double)(i + 1) / (double)e.n));
    }
    hpo_response_json(res, 200, json_pack("{s:I,s:o,s:o}", "objective", (json_int_t)objective,
                                          "values", val, "probability", prob));
    hpo_edf_data_clear(&e);
}

void hpo_h_asha(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_asha_data a = {0};
    if (hpo_service_asha(svc, req->study, &a, &err)) {
        hpo_response_error(res, &err);
        return;
    }
    json_t *rungs = json_array(), *promotions = json_array();
    for (size_t i = 0; i < a.n_rungs; i++)
        json_array_append_new(rungs, json_pack("{s:i,s:I,s:I,s:I,s:I}", "rung", a.rungs[i].rung,
                                               "resource", (json_int_t)a.rungs[i].resource,
                                               "reached", (json_int_t)a.rungs[i].reached,
                                               "paused", (json_int_t)a.rungs[i].paused,
                                               "promoted", (json_int_t)a.rungs[i].promoted));
    for (size_t i = 0; i < a.n_promotions; i++)
        json_array_append_new(
            promotions,
            json_pack("{s:I,s:i,s:o}", "number", (json_int_t)a.promotions[i].number, "rung",
                      a.promotions[i].rung,
                      "promoted_ms", a.promotions[i].ms > 0 ? json_integer(a.promotions[i].ms)
                                                            : json_null()));
    hpo_response_json(res, 200, json_pack("{s:o,s:o}", "rungs", rungs, "promotions", promotions));
    hpo_asha_data_clear(&a);
}

#define MAX_RANKED 64 /* params named in ?params= */

void hpo_h_importance(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_importance_request ir = {0};
    int64_t seed = 0;
    const char *evaluator = hpo_request_query(req, "evaluator");
    const char *list = hpo_request_query(req, "params");
    char names[4096] = "";
    const char *params[MAX_RANKED];
    if (objective_of(req, &ir.objective, &err) ||
        hpo_query_int(req, "seed", 0, INT64_MAX, &seed, &err))
        goto fail;
    ir.seed = (uint64_t)seed;
    if (evaluator && strcmp(evaluator, "ped_anova") == 0) {
        ir.evaluator = HPO_EVALUATOR_PED_ANOVA;
    } else if (evaluator && strcmp(evaluator, "fanova") != 0) {
        hpo_error_set(&err, HPO_E_INVALID, "evaluator", "evaluator must be fanova or ped_anova");
        goto fail;
    }
    if (list && strlen(list) >= sizeof names) {
        hpo_error_set(&err, HPO_E_INVALID, "params", "params is too long");
        goto fail;
    }
    snprintf(names, sizeof names, "%s", list ? list : "");
    for (char *save = NULL, *p = strtok_r(names, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (ir.n_params == MAX_RANKED) {
            hpo_error_set(&err, HPO_E_INVALID, "params", "at most %d params", MAX_RANKED);
            goto fail;
        }
        params[ir.n_params++] = p;
    }
    ir.params = params;
    hpo_importance_data d = {0};
    if (hpo_service_importance(svc, req->study, &ir, &d, &err))
        goto fail;
    json_t *arr = json_array();
    for (size_t i = 0; i < d.n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:f}", "param", d.names[i], "importance",
                                             d.importance[i]));
    hpo_response_json(res, 200, json_pack("{s:s,s:I,s:I,s:o}", "evaluator",
                                          ir.evaluator == HPO_EVALUATOR_PED_ANOVA ? "ped_anova"
                                                                                  : "fanova",
                                          "objective", (json_int_t)ir.objective, "n_trials",
                                          (json_int_t)d.n_trials, "importances", arr));
    hpo_importance_data_clear(&d);
    return;
fail:
    hpo_response_error(res, &err);
}
