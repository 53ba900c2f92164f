/* bench_sampler_cost: in-process cost of one hpo_sampling_fill call (the server's sampling of a new trial) for each sampler type against N completed trials (tests/bench/sampler_quality.sh). */
/*
 * usage: bench_sampler_cost [--samplers tpe,random,qmc] [--sizes 100,1000] [--objectives 1,2]
 *                           [--calls 20]
 *
 * For each sampler type X, number of objectives and size N: a study of 10 float params x0..x9 in
 * [-5, 5] (all minimized) with sampler {"type": X, "seed": 1} as hpo_sampler_configure reads it,
 * N COMPLETE trials (uniform random params, fixed seed; values sum x_i^2 and sum (x_i - 1)^2;
 * trial k made in generation k / 50, as by an evolutionary sampler's population of 50), and
 * 2 warm-up then `calls` timed calls of hpo_sampling_fill for trial number N, from the study's
 * observation log when the server would read it for this ask (hpo_sampling_reads_log: auto
 * reads it only once it runs TPE alone; the log is filled outside the timing, as the server
 * keeps it while trials finish), else from the trials array. The type list is the
 * caller's, so a new type needs no change here; one the build refuses (unknown type, or not for
 * this many objectives) prints its reason. One JSON line per run:
 *   {"sampler":"tpe","objectives":1,"trials":N,"calls":20,"median_ms":...,"min_ms":...,"max_ms":...}
 *   {"sampler":"gp","objectives":1,"refused":"unknown sampler type 'gp': ..."}
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_tpe_common.h"
#include "hpo_rng.h"
#include "hpo_sampling.h"

#define N_PARAMS 10

static int parse_list(const char *arg, long *out, int max)
{
    int n = 0;
    for (const char *p = arg; *p && n < max;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0)
            return -1;
        out[n++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

static void print_refused(const char *type, long n_obj, const char *why)
{
    json_t *o = json_pack("{s:s,s:I,s:s}", "sampler", type, "objectives", (json_int_t)n_obj,
                          "refused", why);
    char *text = json_dumps(o, JSON_COMPACT);
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(o);
    fflush(stdout);
}

/* Times the sampler `type` over the first N of `trials` for each size; 0, or 1 on a failure. */
static int run(const char *type, long n_obj, hpo_study_config *study, const hpo_trial *trials,
               const long *sizes, int n_sizes, int calls, double *times)
{
    char text[256];
    snprintf(text, sizeof text, "{\"type\":\"%s\",\"seed\":1}", type);
    hpo_sampler s;
    hpo_error err;
    if (hpo_sampler_configure(text, study, &s, NULL, &err)) {
        print_refused(type, n_obj, err.message);
        return 0;
    }
    for (int k = 0; k < n_sizes; k++) {
        long n = sizes[k];
        bool keeps_log = hpo_sampling_reads_log(&s, study, n, false);
        hpo_obs *log = NULL;
        hpo_obs_view view = {0};
        hpo_history h = {trials, (size_t)n, NULL};
        if (keeps_log) {
            if (!(log = hpo_obs_new(study->directions[0])))
                bt_die("out of memory");
            for (long i = 0; i < n; i++)
                if (hpo_obs_add(log, &trials[i]))
                    bt_die("hpo_obs_add failed");
            hpo_obs_view_take(log, &view);
            h = (hpo_history){NULL, 0, &view}; /* no running trials */
        }
        for (int c = -2; c < calls; c++) {
            hpo_trial t = {0};
            double t0 = bt_now_ms();
            hpo_rc rc = hpo_sampling_fill(&s, study, &h, n, &t, &err);
            double t1 = bt_now_ms();
            hpo_trial_clear(&t);
            if (rc == HPO_E_INVALID) { /* the sampler does not take this study */
                print_refused(type, n_obj, err.message);
                hpo_obs_free(log);
                hpo_sampler_clear(&s);
                return 0;
            }
            if (rc) {
                fprintf(stderr, "bench_sampler_cost: %s over %ld trials: %s\n", type, n,
                        err.message);
                hpo_obs_free(log);
                hpo_sampler_clear(&s);
                return 1;
            }
            if (c >= 0)
                times[c] = t1 - t0;
        }
        double med = bt_median(times, (size_t)calls);
        printf("{\"sampler\":\"%s\",\"objectives\":%ld,\"trials\":%ld,\"calls\":%d,"
               "\"median_ms\":%.4f,\"min_ms\":%.4f,\"max_ms\":%.4f}\n",
               type, n_obj, n, calls, med, times[0], times[calls - 1]);
        fflush(stdout);
        hpo_obs_free(log);
    }
    hpo_sampler_clear(&s);
    return 0;
}

int main(int argc, char **argv)
{
    const char *samplers = "tpe,random,qmc", *sizes_arg = "100,1000", *objectives_arg = "1,2";
    int calls = 20;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            goto usage;
        if (strcmp(argv[i], "--samplers") == 0)
            samplers = argv[++i];
        else if (strcmp(argv[i], "--sizes") == 0)
            sizes_arg = argv[++i];
        else if (strcmp(argv[i], "--objectives") == 0)
            objectives_arg = argv[++i];
        else if (strcmp(argv[i], "--calls") == 0)
            calls = atoi(argv[++i]);
        else
            goto usage;
    }
    long sizes[32], objectives[2];
    int n_sizes = parse_list(sizes_arg, sizes, 32);
    int n_objectives = parse_list(objectives_arg, objectives, 2);
    if (calls < 1 || n_sizes < 1 || n_objectives < 1)
        goto usage;
    long max_size = 0;
    for (int k = 0; k < n_sizes; k++)
        max_size = sizes[k] > max_size ? sizes[k] : max_size;
    for (int k = 0; k < n_objectives; k++)
        if (objectives[k] < 1 || objectives[k] > 2)
            goto usage;

    hpo_direction dirs[2] = {HPO_MINIMIZE, HPO_MINIMIZE};
    hpo_study_config study = {.name = "cost", .directions = dirs};
    hpo_dist d = {.type = HPO_DIST_FLOAT, .low = -5.0, .high = 5.0};
    for (int i = 0; i < N_PARAMS; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", i);
        if (hpo_space_add(&study.space, name, &d))
            bt_die("hpo_space_add failed");
    }
    hpo_trial *trials = calloc((size_t)(max_size ? max_size : 1), sizeof *trials);
    double *times = calloc((size_t)calls, sizeof *times);
    if (!trials || !times)
        bt_die("out of memory");
    int rc = 0;
    for (int o = 0; o < n_objectives && !rc; o++) {
        long n_obj = objectives[o];
        study.n_directions = (size_t)n_obj;
        hpo_rng rng;
        hpo_rng_seed(&rng, 12345);
        for (long k = 0; k < max_size; k++) {
            double x[N_PARAMS], v[2] = {0.0, 0.0};
            for (int i = 0; i < N_PARAMS; i++) {
                x[i] = -5.0 + 10.0 * hpo_rng_uniform(&rng);
                v[0] += x[i] * x[i];
                v[1] += (x[i] - 1.0) * (x[i] - 1.0);
            }
            hpo_trial_clear(&trials[k]);
            bt_complete_trial(&trials[k], &study.space, k, x, v[0]);
            if (hpo_trial_set_values(&trials[k], v, (size_t)n_obj))
                bt_die("hpo_trial_set_values failed");
            /* generations of a population of 50 (NSGA-II's default), as if it had made them */
            trials[k].has_generation = true;
            trials[k].generation = k / 50;
        }
        for (const char *p = samplers; *p && !rc;) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            char type[64];
            if (len > 0 && len < sizeof type) {
                memcpy(type, p, len);
                type[len] = '\0';
                rc = run(type, n_obj, &study, trials, sizes, n_sizes, calls, times);
            }
            p = e ? e + 1 : p + len;
        }
    }
    for (long k = 0; k < max_size; k++)
        hpo_trial_clear(&trials[k]);
    free(trials);
    free(times);
    hpo_space_clear(&study.space);
    return rc;
usage:
    fprintf(stderr, "usage: bench_sampler_cost [--samplers tpe,random,qmc] [--sizes 100,1000] "
                    "[--objectives 1,2] [--calls 20]\n");
    return 2;
}
