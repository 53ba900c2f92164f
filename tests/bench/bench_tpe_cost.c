/* bench_tpe_cost: in-process cost of one hpo_tpe_sample call against N completed trials (tests/bench/tpe_cost.sh). */
/*
 * usage: bench_tpe_cost [--sizes 10,100,1000,10000] [--calls 20] [--params 10] [--log]
 *
 * Builds max(sizes) COMPLETE trials of `params` float params x0.. in [-5, 5] (uniform random,
 * fixed seed), value = sum of squares. For each size N (the first N of them) and for univariate
 * then multivariate TPE (Optuna's defaults otherwise), makes 2 warm-up calls and then `calls`
 * timed calls of hpo_tpe_sample (each with its own RNG state) and prints one JSON line:
 *   {"trials":N,"multivariate":false,"calls":20,"median_ms":...,"min_ms":...,"max_ms":...}
 * --log: hpo_tpe_sample_obs on an hpo_obs log of the N trials (filled once, outside the timing:
 * the server keeps it as trials finish) instead of hpo_tpe_sample on the trials array; the JSON
 * line then has "log":true.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_tpe_common.h"
#include "hpo_obs.h"
#include "hpo_rng.h"
#include "hpo_tpe.h"

int main(int argc, char **argv)
{
    const char *sizes_arg = "10,100,1000,10000";
    int calls = 20, n_params = 10;
    bool use_log = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--log") == 0) {
            use_log = true;
            continue;
        }
        if (i + 1 >= argc)
            goto usage;
        if (strcmp(argv[i], "--sizes") == 0)
            sizes_arg = argv[++i];
        else if (strcmp(argv[i], "--calls") == 0)
            calls = atoi(argv[++i]);
        else if (strcmp(argv[i], "--params") == 0)
            n_params = atoi(argv[++i]);
        else
            goto usage;
    }
    if (calls < 1 || n_params < 1 || n_params > 100)
        goto usage;

    long sizes[32];
    size_t n_sizes = 0;
    long max_size = 0;
    for (const char *p = sizes_arg; *p && n_sizes < 32;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0)
            goto usage;
        sizes[n_sizes++] = v;
        if (v > max_size)
            max_size = v;
        p = *end == ',' ? end + 1 : end;
    }

    hpo_space space = {0};
    hpo_dist d = {.type = HPO_DIST_FLOAT, .low = -5.0, .high = 5.0};
    for (int i = 0; i < n_params; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", i);
        if (hpo_space_add(&space, name, &d))
            bt_die("hpo_space_add failed");
    }

    hpo_trial *trials = calloc((size_t)(max_size ? max_size : 1), sizeof *trials);
    double *x = calloc((size_t)n_params, sizeof *x);
    double *times = calloc((size_t)calls, sizeof *times);
    if (!trials || !x || !times)
        bt_die("out of memory");
    hpo_rng rng;
    hpo_rng_seed(&rng, 12345);
    for (long k = 0; k < max_size; k++) {
        double v = 0.0;
        for (int i = 0; i < n_params; i++) {
            x[i] = -5.0 + 10.0 * hpo_rng_uniform(&rng);
            v += x[i] * x[i];
        }
        bt_complete_trial(&trials[k], &space, k, x, v);
    }

    for (size_t s = 0; s < n_sizes; s++) {
        hpo_obs *log = NULL;
        hpo_obs_view view = {0};
        if (use_log) {
            if (!(log = hpo_obs_new(HPO_MINIMIZE)))
                bt_die("out of memory");
            for (long k = 0; k < sizes[s]; k++)
                if (hpo_obs_add(log, &trials[k]))
                    bt_die("hpo_obs_add failed");
            hpo_obs_view_take(log, &view);
        }
        for (int multi = 0; multi <= 1; multi++) {
            hpo_tpe_config c;
            hpo_tpe_config_default(&c);
            c.multivariate = multi;
            hpo_error err;
            for (int k = -2; k < calls; k++) {
                hpo_rng r;
                hpo_rng_seed(&r, 1000u + (uint64_t)(k + 2) * 7919u + (uint64_t)s);
                double t0 = bt_now_ms();
                hpo_rc rc = use_log ? hpo_tpe_sample_obs(&c, &space, &view, NULL, 0, &r, x, &err)
                                    : hpo_tpe_sample(&c, &space, HPO_MINIMIZE, trials,
                                                     (size_t)sizes[s], &r, x, &err);
                double t1 = bt_now_ms();
                if (rc) {
                    fprintf(stderr, "bench_tpe_cost: hpo_tpe_sample: %s\n", err.message);
                    return 1;
                }
                if (k >= 0)
                    times[k] = t1 - t0;
            }
            double med = bt_median(times, (size_t)calls);
            printf("{\"trials\":%ld,\"multivariate\":%s,%s\"calls\":%d,\"median_ms\":%.4f,"
                   "\"min_ms\":%.4f,\"max_ms\":%.4f}\n",
                   sizes[s], multi ? "true" : "false", use_log ? "\"log\":true," : "", calls,
                   med, times[0], times[calls - 1]);
            fflush(stdout);
        }
        hpo_obs_free(log);
    }

    for (long k = 0; k < max_size; k++)
        hpo_trial_clear(&trials[k]);
    free(trials);
    free(x);
    free(times);
    hpo_space_clear(&space);
    return 0;
usage:
    fprintf(stderr, "usage: bench_tpe_cost [--sizes 10,100,1000,10000] [--calls 20] [--params 10] "
                    "[--log]\n");
    return 2;
}
