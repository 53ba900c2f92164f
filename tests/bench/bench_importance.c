/* bench_importance: hpo's parameter importance (fANOVA and PED-ANOVA) on trial files written by optuna_importance.py, with its time (tests/bench/importance.sh). */
/*
 * usage: bench_importance [--repeat 5] [--seed 0] FILE...
 *
 * Each FILE holds one problem's trials (optuna_importance.py write):
 *   problem NAME
 *   param NAME float|int LOW HIGH LOG STEP      (STEP 0: a continuous float)
 *   param NAME cat K CHOICE...
 *   trials N
 *   V1 ... VP VALUE                              (internal values: a categorical's index)
 * For each file, hpo_importance with fANOVA (Optuna's defaults, the given seed) and PED-ANOVA
 * (defaults, minimize) is called `repeat` times; one JSON line per file:
 *   {"problem":NAME,"params":[...],"fanova":[...],"ped_anova":[...],"fanova_ms":MIN,
 *    "fanova_median_ms":MED,"ped_anova_ms":MIN,"ped_anova_median_ms":MED}
 * The times are of the whole call (filtering the trials included), on one thread.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hpo_importance.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *file, const char *what)
{
    fprintf(stderr, "bench_importance: %s: %s\n", file, what);
    exit(1);
}

typedef struct {
    char name[128];
    hpo_space space;
    hpo_trial *trials;
    size_t n;
} problem;

static void load(const char *path, problem *p)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die(path, "cannot open");
    memset(p, 0, sizeof(*p));
    char word[64], name[257], kind[16];
    if (fscanf(f, "%63s %127s", word, p->name) != 2 || strcmp(word, "problem") != 0)
        die(path, "expected: problem NAME");
    while (fscanf(f, "%63s", word) == 1 && strcmp(word, "param") == 0) {
        hpo_dist d = {0};
        if (fscanf(f, "%256s %15s", name, kind) != 2)
            die(path, "bad param line");
        if (strcmp(kind, "cat") == 0) {
            d.type = HPO_DIST_CATEGORICAL;
            if (fscanf(f, "%zu", &d.n_choices) != 1 || d.n_choices == 0 || d.n_choices > 1000)
                die(path, "bad choice count");
            d.choices = calloc(d.n_choices, sizeof(hpo_choice));
            for (size_t k = 0; k < d.n_choices; k++) {
                char c[257];
                if (fscanf(f, "%256s", c) != 1)
                    die(path, "bad choices");
                d.choices[k] = (hpo_choice){.kind = HPO_CHOICE_STRING, .str = strdup(c)};
            }
        } else {
            int lg;
            d.type = strcmp(kind, "int") == 0 ? HPO_DIST_INT : HPO_DIST_FLOAT;
            if (fscanf(f, "%lf %lf %d %lf", &d.low, &d.high, &lg, &d.step) != 4)
                die(path, "bad numeric param");
            d.log = lg != 0;
        }
        if (hpo_space_add(&p->space, name, &d) != HPO_OK)
            die(path, "bad param");
        hpo_dist_clear(&d);
    }
    if (strcmp(word, "trials") != 0 || fscanf(f, "%zu", &p->n) != 1)
        die(path, "expected: trials N");
    p->trials = calloc(p->n, sizeof(hpo_trial));
    double *v = calloc(p->space.n + 1, sizeof(double));
    for (size_t i = 0; i < p->n; i++) {
        hpo_trial *t = &p->trials[i];
        t->number = (int64_t)i;
        t->state = HPO_TRIAL_COMPLETE;
        for (size_t j = 0; j <= p->space.n; j++)
            if (fscanf(f, "%lf", &v[j]) != 1)
                die(path, "short trial row");
        for (size_t j = 0; j < p->space.n; j++)
            if (hpo_trial_add_param(t, p->space.items[j].name, &p->space.items[j].dist, v[j]) !=
                HPO_OK)
                die(path, "bad value");
        hpo_trial_set_values(t, &v[p->space.n], 1);
    }
    free(v);
    fclose(f);
}

static void print_array(const char *key, const double *v, size_t n)
{
    printf(",\"%s\":[", key);
    for (size_t i = 0; i < n; i++)
        printf("%s%.17g", i ? "," : "", v[i]);
    printf("]");
}

int main(int argc, char **argv)
{
    int repeat = 5;
    unsigned long long seed = 0;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (i + 1 >= argc)
            goto usage;
        if (strcmp(argv[i], "--repeat") == 0)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[++i], NULL, 10);
        else
            goto usage;
    }
    if (i >= argc || repeat < 1)
        goto usage;
    for (; i < argc; i++) {
        problem p;
        load(argv[i], &p);
        size_t np = p.space.n;
        double *imp[2] = {calloc(np, sizeof(double)), calloc(np, sizeof(double))};
        double *ms = calloc((size_t)repeat, sizeof(double));
        printf("{\"problem\":\"%s\",\"trials\":%zu,\"params\":[", p.name, p.n);
        for (size_t j = 0; j < np; j++)
            printf("%s\"%s\"", j ? "," : "", p.space.items[j].name);
        printf("]");
        static const char *key[2] = {"fanova", "ped_anova"};
        for (int e = 0; e < 2; e++) {
            hpo_importance_config c;
            hpo_importance_config_default(&c);
            c.evaluator = e == 0 ? HPO_IMPORTANCE_FANOVA : HPO_IMPORTANCE_PED_ANOVA;
            c.seed = seed;
            for (int r = 0; r < repeat; r++) {
                hpo_error err;
                double t0 = now_ms();
                if (hpo_importance(&c, &p.space, p.trials, p.n, HPO_MINIMIZE, imp[e], &err) !=
                    HPO_OK)
                    die(argv[i], err.message);
                ms[r] = now_ms() - t0;
            }
            qsort(ms, (size_t)repeat, sizeof(double), cmp_double);
            print_array(key[e], imp[e], np);
            printf(",\"%s_ms\":%.3f,\"%s_median_ms\":%.3f", key[e], ms[0], key[e],
                   ms[repeat / 2]);
        }
        printf("}\n");
        fflush(stdout);
        free(imp[0]);
        free(imp[1]);
        free(ms);
        hpo_trials_free(p.trials, p.n);
        hpo_space_clear(&p.space);
    }
    return 0;
usage:
    fprintf(stderr, "usage: bench_importance [--repeat 5] [--seed 0] FILE...\n");
    return 2;
}
