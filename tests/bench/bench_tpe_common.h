/* bench_tpe_common: helpers of the in-process TPE benchmarks: the hpo search space of a bench problem, completed trials, timing. */
#ifndef BENCH_TPE_COMMON_H
#define BENCH_TPE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_problems.h"
#include "hpo_model.h"
#include "hpo_space.h"

static inline double bt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void bt_die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}

/* The hpo distribution of one bench param. */
static inline hpo_dist bt_dist(const bp_param *p, hpo_choice *choices_buf)
{
    hpo_dist d;
    memset(&d, 0, sizeof d);
    switch (p->kind) {
    case BP_FLOAT:
        d.type = HPO_DIST_FLOAT;
        d.low = p->low;
        d.high = p->high;
        d.log = p->log;
        break;
    case BP_INT:
        d.type = HPO_DIST_INT;
        d.low = p->low;
        d.high = p->high;
        d.step = 1;
        break;
    case BP_CAT:
        d.type = HPO_DIST_CATEGORICAL;
        for (size_t i = 0; i < p->n_choices; i++) {
            memset(&choices_buf[i], 0, sizeof choices_buf[i]);
            choices_buf[i].kind = HPO_CHOICE_STRING;
            choices_buf[i].str = (char *)p->choices[i];
        }
        d.n_choices = p->n_choices;
        d.choices = choices_buf;
        break;
    }
    return d;
}

static inline void bt_space(const bp_problem *pb, hpo_space *space)
{
    memset(space, 0, sizeof *space);
    for (size_t i = 0; i < pb->n; i++) {
        hpo_choice buf[4];
        hpo_dist d = bt_dist(&pb->params[i], buf);
        if (hpo_space_add(space, pb->params[i].name, &d) != HPO_OK)
            bt_die("hpo_space_add failed");
    }
}

/* A COMPLETE trial numbered `number` holding values[i] for space->items[i] and objective value v. */
static inline void bt_complete_trial(hpo_trial *t, const hpo_space *space, int64_t number,
                                     const double *values, double v)
{
    memset(t, 0, sizeof *t);
    t->number = number;
    t->id = number + 1;
    t->state = HPO_TRIAL_COMPLETE;
    for (size_t i = 0; i < space->n; i++)
        if (hpo_trial_add_param(t, space->items[i].name, &space->items[i].dist, values[i]))
            bt_die("hpo_trial_add_param failed");
    if (hpo_trial_set_values(t, &v, 1))
        bt_die("hpo_trial_set_values failed");
}

static inline int bt_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (sorts a). */
static inline double bt_median(double *a, size_t n)
{
    qsort(a, n, sizeof *a, bt_cmp_double);
    if (n == 0)
        return 0.0;
    return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

#endif
