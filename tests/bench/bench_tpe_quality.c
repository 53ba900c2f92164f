/* bench_tpe_quality: sample efficiency of hpo's TPE and random samplers, in-process, on the bench problems (tests/bench/tpe_quality.sh). */
/*
 * usage: bench_tpe_quality [--problems branin,hartmann6,...] [--samplers tpe,tpe-multi,random]
 *                          [--seeds 10] [--trials 100]
 *
 * For each problem, sampler and seed 0..seeds-1: one RNG seeded with the seed; `trials` times:
 * sample every param (hpo_tpe_sample on the trials so far, Optuna's defaults, multivariate for
 * tpe-multi; or hpo_sampler_random), evaluate, append a COMPLETE trial. Prints one JSON line per run:
 *   {"problem":"branin","sampler":"tpe","seed":0,"best":...,"ms":...}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_tpe_common.h"
#include "hpo_rng.h"
#include "hpo_sampler.h"
#include "hpo_tpe.h"

static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static double run(const bp_problem *pb, const char *sampler, int seed, int n_trials)
{
    hpo_space space;
    bt_space(pb, &space);
    hpo_tpe_config c;
    hpo_tpe_config_default(&c);
    c.multivariate = strcmp(sampler, "tpe-multi") == 0;
    int random = strcmp(sampler, "random") == 0;
    hpo_trial *trials = calloc((size_t)n_trials, sizeof *trials);
    if (!trials)
        bt_die("out of memory");
    hpo_rng rng;
    hpo_rng_seed(&rng, (uint64_t)seed);
    double x[BP_MAX_PARAMS], best = INFINITY;
    for (int k = 0; k < n_trials; k++) {
        if (random) {
            for (size_t i = 0; i < space.n; i++)
                x[i] = hpo_sampler_random(&space.items[i].dist, &rng);
        } else {
            hpo_error err;
            if (hpo_tpe_sample(&c, &space, HPO_MINIMIZE, trials, (size_t)k, &rng, x, &err)) {
                fprintf(stderr, "bench_tpe_quality: hpo_tpe_sample: %s\n", err.message);
                exit(1);
            }
        }
        double v = bp_eval(pb, x);
        if (v < best)
            best = v;
        bt_complete_trial(&trials[k], &space, k, x, v);
    }
    for (int k = 0; k < n_trials; k++)
        hpo_trial_clear(&trials[k]);
    free(trials);
    hpo_space_clear(&space);
    return best;
}

int main(int argc, char **argv)
{
    const char *problems = "branin,hartmann6,rosenbrock5,rosenbrock5w,mixed";
    const char *samplers = "tpe,tpe-multi,random";
    int seeds = 10, n_trials = 100;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            goto usage;
        if (strcmp(argv[i], "--problems") == 0)
            problems = argv[++i];
        else if (strcmp(argv[i], "--samplers") == 0)
            samplers = argv[++i];
        else if (strcmp(argv[i], "--seeds") == 0)
            seeds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--trials") == 0)
            n_trials = atoi(argv[++i]);
        else
            goto usage;
    }
    if (seeds < 1 || n_trials < 1)
        goto usage;
    static const char *const ALL_SAMPLERS[] = {"tpe", "tpe-multi", "random"};
    for (size_t p = 0; p < BP_N_PROBLEMS; p++) {
        if (!in_list(problems, BP_PROBLEMS[p].name))
            continue;
        if (BP_PROBLEMS[p].n_objectives != 1) {
            fprintf(stderr, "bench_tpe_quality: %s has several objectives: skipped\n",
                    BP_PROBLEMS[p].name);
            continue;
        }
        for (size_t s = 0; s < 3; s++) {
            if (!in_list(samplers, ALL_SAMPLERS[s]))
                continue;
            for (int seed = 0; seed < seeds; seed++) {
                double t0 = bt_now_ms();
                double best = run(&BP_PROBLEMS[p], ALL_SAMPLERS[s], seed, n_trials);
                printf("{\"problem\":\"%s\",\"sampler\":\"%s\",\"seed\":%d,\"best\":%.9g,"
                       "\"ms\":%.2f}\n",
                       BP_PROBLEMS[p].name, ALL_SAMPLERS[s], seed, best, bt_now_ms() - t0);
                fflush(stdout);
            }
        }
    }
    return 0;
usage:
    fprintf(stderr, "usage: bench_tpe_quality [--problems LIST] [--samplers tpe,tpe-multi,random] "
                    "[--seeds 10] [--trials 100]\n");
    return 2;
}
