/* test_obs: the observation log (server/algo/hpo_obs.h) and TPE over it: rows, keys and entries as
 * the trials had them; sampling from a log filled in finishing order equals hpo_tpe_sample on the
 * trials array bit for bit (random histories, every mode); a view keeps sampling its prefix
 * while rows are added; a writer thread appending under a mutex while a reader samples views
 * outside it (run under ThreadSanitizer: meson setup -Db_sanitize=thread). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hpo_obs.h"
#include "hpo_rng.h"
#include "hpo_sampler.h"
#include "hpo_tpe.h"

/* ---- helpers ---- */

static void trial_init(hpo_trial *t, int64_t number, hpo_trial_state state)
{
    memset(t, 0, sizeof(*t));
    t->number = number;
    t->id = number + 1;
    t->state = state;
}

static void trial_value(hpo_trial *t, double v)
{
    ck_assert_int_eq(hpo_trial_set_values(t, &v, 1), HPO_OK);
}

static void trial_report(hpo_trial *t, int64_t step, double v)
{
    bool added;
    ck_assert_int_eq(hpo_trial_add_report(t, step, v, &added), HPO_OK);
}

static hpo_dist fdist(double low, double high, double step, bool log)
{
    return (hpo_dist){ .type = HPO_DIST_FLOAT, .low = low, .high = high, .step = step, .log = log };
}

static hpo_dist idist(double low, double high, double step, bool log)
{
    return (hpo_dist){ .type = HPO_DIST_INT, .low = low, .high = high, .step = step, .log = log };
}

/* A categorical of n number choices 0..n-1 (owned: hpo_dist_clear). */
static hpo_dist cdist(size_t n)
{
    hpo_dist d = { .type = HPO_DIST_CATEGORICAL, .n_choices = n };
    d.choices = calloc(n, sizeof(hpo_choice));
    ck_assert_ptr_nonnull(d.choices);
    for (size_t i = 0; i < n; i++)
        d.choices[i] = (hpo_choice){ .kind = HPO_CHOICE_NUMBER, .number = (double)i,
                                     .integer = true };
    return d;
}

static void shuffle(size_t *v, size_t n, hpo_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)hpo_rng_below(rng, i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static bool same_bits(const double *a, const double *b, size_t n)
{
    return memcmp(a, b, n * sizeof(double)) == 0;
}

/* A space of np params of every kind (kind i % 8), named p0, p1, ...; single-valued ones too. */
static hpo_space make_space(size_t np)
{
    hpo_space s = { 0 };
    for (size_t i = 0; i < np; i++) {
        hpo_dist d;
        switch (i % 8) {
        case 0: d = fdist(-5, 5, 0, false); break;
        case 1: d = fdist(1e-4, 1, 0, true); break;
        case 2: d = fdist(0, 10, 0.5, false); break;
        case 3: d = idist(1, 20, 1, false); break;
        case 4: d = idist(1, 64, 1, true); break;
        case 5: d = cdist(3); break;
        case 6: d = cdist(5); break;
        default: d = idist(3, 3, 1, false); break; /* single-valued */
        }
        char name[32];
        snprintf(name, sizeof name, "p%zu", i);
        ck_assert_int_eq(hpo_space_add(&s, name, &d), HPO_OK);
        hpo_dist_clear(&d);
    }
    return s;
}

/* A param for a trial: mostly a valid value of d, sometimes one the sampler must not use (another
 * type, another number of choices, out of range, not finite). */
static void add_random_param(hpo_trial *t, const char *name, const hpo_dist *d, hpo_rng *rng)
{
    double u = hpo_rng_uniform(rng);
    double v = hpo_sampler_random(d, rng);
    hpo_dist other = *d;
    hpo_dist cat = { 0 };
    if (u < 0.04) {
        /* another type */
        if (d->type == HPO_DIST_CATEGORICAL) {
            other = fdist(0, 2, 0, false);
        } else if (d->type == HPO_DIST_INT) {
            other = fdist(d->low, d->high, 0, false);
        } else {
            cat = cdist(3);
            other = cat;
            v = (double)hpo_rng_below(rng, 3);
        }
    } else if (u < 0.07 && d->type == HPO_DIST_CATEGORICAL) {
        cat = cdist(d->n_choices + 1); /* another number of choices */
        other = cat;
        v = (double)hpo_rng_below(rng, d->n_choices + 1);
    } else if (u < 0.10) {
        v = d->type == HPO_DIST_CATEGORICAL ? (double)d->n_choices + 1 : d->high + 1;
    } else if (u < 0.12) {
        v = d->type == HPO_DIST_CATEGORICAL ? 0.5 : d->low - 0.25; /* not a choice; below */
    } else if (u < 0.13) {
        v = hpo_rng_uniform(rng) < 0.5 ? NAN : -INFINITY;
    }
    ck_assert_int_eq(hpo_trial_add_param(t, name, &other, v), HPO_OK);
    hpo_dist_clear(&cat);
}

typedef enum { NUM_DENSE, NUM_SPARSE, NUM_OUTLIERS } number_kind;

/* n trials of random states over space s (a subset of its params each, sometimes shuffled, and
 * define-by-run extras e0..e5), numbered by kind (all distinct). */
static hpo_trial *make_history(const hpo_space *s, size_t n, number_kind kind, hpo_rng *rng)
{
    hpo_trial *ts = calloc(n ? n : 1, sizeof(hpo_trial));
    ck_assert_ptr_nonnull(ts);
    size_t *order = malloc((s->n + 6) * sizeof(size_t));
    ck_assert_ptr_nonnull(order);
    hpo_dist extra = fdist(0, 1, 0, false);
    for (size_t i = 0; i < n; i++) {
        int64_t number = (int64_t)i;
        if (kind == NUM_SPARSE)
            number = (int64_t)i * 13 + (int64_t)hpo_rng_below(rng, 13) - 1000000;
        else if (kind == NUM_OUTLIERS && hpo_rng_uniform(rng) < 0.05)
            number = (int64_t)(hpo_rng_u64(rng) >> 1) * (hpo_rng_uniform(rng) < 0.5 ? -1 : 1);
        double u = hpo_rng_uniform(rng);
        hpo_trial_state st = u < 0.50   ? HPO_TRIAL_COMPLETE
                             : u < 0.68 ? HPO_TRIAL_PRUNED
                             : u < 0.82 ? HPO_TRIAL_RUNNING
                             : u < 0.90 ? HPO_TRIAL_FAIL
                             : u < 0.95 ? HPO_TRIAL_WAITING
                                        : HPO_TRIAL_COMPLETE; /* without a value below */
        trial_init(&ts[i], number, st);
        if (st == HPO_TRIAL_COMPLETE && u < 0.50) {
            double r = hpo_rng_uniform(rng);
            trial_value(&ts[i], r < 0.05 ? NAN : r < 0.06 ? INFINITY : hpo_rng_normal(rng));
        } else if (st == HPO_TRIAL_PRUNED && hpo_rng_uniform(rng) < 0.8) {
            size_t nr = 1 + (size_t)hpo_rng_below(rng, 3);
            for (size_t k = 0; k < nr; k++) {
                double r = hpo_rng_uniform(rng);
                trial_report(&ts[i], (int64_t)hpo_rng_below(rng, 6),
                             r < 0.1 ? NAN : (double)hpo_rng_below(rng, 5)); /* ties */
            }
        }
        size_t no = 0;
        for (size_t p = 0; p < s->n + 6; p++)
            if (hpo_rng_uniform(rng) < (p < s->n ? 0.85 : 0.3))
                order[no++] = p;
        if (hpo_rng_uniform(rng) < 0.3)
            shuffle(order, no, rng);
        for (size_t k = 0; k < no; k++) {
            if (order[k] < s->n) {
                add_random_param(&ts[i], s->items[order[k]].name, &s->items[order[k]].dist, rng);
            } else {
                char name[32];
                snprintf(name, sizeof name, "e%zu", order[k] - s->n);
                add_random_param(&ts[i], name, &extra, rng);
            }
        }
    }
    free(order);
    return ts;
}

/* A log of the finished trials of ts[0..n) added in a random (finishing) order, and shallow
 * copies of the RUNNING ones in a random order (*ret_running, *ret_nr; free() it). */
static hpo_obs *log_of(const hpo_trial *ts, size_t n, hpo_direction dir, hpo_rng *rng,
                       hpo_trial **ret_running, size_t *ret_nr)
{
    hpo_obs *o = hpo_obs_new(dir);
    ck_assert_ptr_nonnull(o);
    size_t *order = malloc((n ? n : 1) * sizeof(size_t));
    hpo_trial *running = malloc((n ? n : 1) * sizeof(hpo_trial));
    ck_assert(order && running);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    shuffle(order, n, rng);
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        const hpo_trial *t = &ts[order[i]];
        if (t->state == HPO_TRIAL_RUNNING)
            running[nr++] = *t;
        else
            ck_assert_int_eq(hpo_obs_add(o, t), HPO_OK);
    }
    free(order);
    *ret_running = running;
    *ret_nr = nr;
    return o;
}

/* The trials in a random storage order (shallow copies; free() it). */
static hpo_trial *shuffled(const hpo_trial *ts, size_t n, hpo_rng *rng)
{
    size_t *order = malloc((n ? n : 1) * sizeof(size_t));
    hpo_trial *out = malloc((n ? n : 1) * sizeof(hpo_trial));
    ck_assert(order && out);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    shuffle(order, n, rng);
    for (size_t i = 0; i < n; i++)
        out[i] = ts[order[i]];
    free(order);
    return out;
}

/* ---- the log ---- */

START_TEST(test_rows_and_keys)
{
    hpo_obs *o = hpo_obs_new(HPO_MAXIMIZE);
    ck_assert_ptr_nonnull(o);
    hpo_dist fx = fdist(0, 1, 0, false), c3 = cdist(3);
    hpo_trial ts[8];
    trial_init(&ts[0], 4, HPO_TRIAL_COMPLETE), trial_value(&ts[0], 2.5);
    trial_init(&ts[1], 1, HPO_TRIAL_PRUNED), trial_report(&ts[1], 7, NAN);
    trial_init(&ts[2], 2, HPO_TRIAL_PRUNED);
    trial_init(&ts[3], 3, HPO_TRIAL_COMPLETE);                       /* no value: ignored */
    trial_init(&ts[4], 0, HPO_TRIAL_RUNNING);                        /* ignored */
    trial_init(&ts[5], 5, HPO_TRIAL_FAIL);                           /* ignored */
    trial_init(&ts[6], 6, HPO_TRIAL_PRUNED), trial_report(&ts[6], 2, 3.0);
    trial_init(&ts[7], 7, HPO_TRIAL_WAITING);                        /* ignored */
    ck_assert_int_eq(hpo_trial_add_param(&ts[0], "x", &fx, 0.25), HPO_OK);
    ck_assert_int_eq(hpo_trial_add_param(&ts[0], "c", &c3, 2), HPO_OK);
    ck_assert_int_eq(hpo_trial_add_param(&ts[1], "c", &c3, 1), HPO_OK);
    ck_assert_int_eq(hpo_trial_add_param(&ts[6], "y", &fx, 9), HPO_OK); /* out of range: kept */
    for (size_t i = 0; i < 8; i++)
        ck_assert_int_eq(hpo_obs_add(o, &ts[i]), HPO_OK);
    ck_assert_uint_eq(hpo_obs_rows(o), 4);

    hpo_obs_view v;
    hpo_obs_view_take(o, &v);
    ck_assert_uint_eq(v.n_rows, 4);
    ck_assert_uint_eq(v.n_names, 3);
    ck_assert_int_eq(v.dir, HPO_MAXIMIZE);
    ck_assert_int_eq(hpo_obs_view_find(&v, "x"), 0);
    ck_assert_int_eq(hpo_obs_view_find(&v, "c"), 1);
    ck_assert_int_eq(hpo_obs_view_find(&v, "y"), 2);
    ck_assert_int_eq(hpo_obs_view_find(&v, "z"), -1);
    ck_assert_str_eq(hpo_obs_view_name(&v, 2), "y");

    const struct {
        int64_t number;
        double k1, k2;
        bool complete;
        size_t n;
    } want[4] = {
        { 4, -INFINITY, -2.5, true, 2 },
        { 1, -7, INFINITY, false, 1 },
        { 2, 1, 0, false, 0 },
        { 6, -2, -3.0, false, 1 },
    };
    size_t len;
    const hpo_obs_row *r = hpo_obs_view_rows(&v, 0, &len);
    ck_assert_uint_eq(len, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(r[i].number, want[i].number);
        ck_assert(r[i].k1 == want[i].k1 && r[i].k2 == want[i].k2);
        ck_assert(hpo_obs_row_complete(&r[i]) == want[i].complete);
        ck_assert_uint_eq(hpo_obs_row_params(&r[i]), want[i].n);
    }
    size_t ne;
    const hpo_obs_entry *e = hpo_obs_view_entries(&v, &r[0], &ne);
    ck_assert_uint_eq(ne, 2);
    ck_assert(e[0].name == 0 && e[0].value == 0.25 && hpo_obs_entry_type(&e[0]) == HPO_DIST_FLOAT);
    ck_assert(e[1].name == 1 && e[1].value == 2 && hpo_obs_entry_type(&e[1]) == HPO_DIST_CATEGORICAL
              && hpo_obs_entry_choices(&e[1]) == 3);
    ck_assert_ptr_null(hpo_obs_view_entries(&v, &r[2], &ne));
    ck_assert_uint_eq(ne, 0);
    e = hpo_obs_view_entries(&v, &r[3], &ne);
    ck_assert(ne == 1 && e[0].name == 2 && e[0].value == 9);

    /* a name repeated within a trial (hpo_trial_add_param refuses it; built by hand): the first
     * counts */
    hpo_trial dup;
    trial_init(&dup, 9, HPO_TRIAL_COMPLETE), trial_value(&dup, 1);
    ck_assert_int_eq(hpo_trial_add_param(&dup, "x", &fx, 0.5), HPO_OK);
    ck_assert_int_eq(hpo_trial_add_param(&dup, "w", &fx, 0.75), HPO_OK);
    free(dup.params[1].name);
    dup.params[1].name = strdup("x");
    ck_assert_int_eq(hpo_obs_add(o, &dup), HPO_OK);
    hpo_obs_view_take(o, &v);
    ck_assert_uint_eq(v.n_rows, 5);
    e = hpo_obs_view_entries(&v, hpo_obs_view_rows(&v, 4, &len), &ne);
    ck_assert(ne == 1 && e[0].name == 0 && e[0].value == 0.5);
    ck_assert_uint_gt(hpo_obs_bytes(o), 0);

    hpo_trial_clear(&dup);
    for (size_t i = 0; i < 8; i++)
        hpo_trial_clear(&ts[i]);
    hpo_dist_clear(&c3);
    hpo_obs_free(o);
    hpo_obs_free(NULL);
}
END_TEST

/* Rows, entries and names across many segments: every row reads back what its trial had, and a
 * row's entries are contiguous even when they do not fit a segment's tail. */
START_TEST(test_segments)
{
    hpo_obs *o = hpo_obs_new(HPO_MINIMIZE);
    ck_assert_ptr_nonnull(o);
    hpo_dist fx = fdist(0, 1e9, 0, false);
    enum { N = 5000 };
    hpo_rng rng;
    hpo_rng_seed(&rng, 5);
    size_t *np = malloc(N * sizeof(size_t));
    for (size_t i = 0; i < N; i++) {
        hpo_trial t;
        trial_init(&t, (int64_t)i, HPO_TRIAL_COMPLETE);
        trial_value(&t, (double)i);
        /* mostly 3 params, some trials with hundreds, new names now and then */
        np[i] = i % 97 == 0 ? 150 + (size_t)hpo_rng_below(&rng, 400) : 3;
        for (size_t k = 0; k < np[i]; k++) {
            char name[32];
            snprintf(name, sizeof name, "n%zu", i % 61 == 0 && k == 0 ? 1000 + i : k);
            ck_assert_int_eq(hpo_trial_add_param(&t, name, &fx, (double)(i * 1000 + k)), HPO_OK);
        }
        ck_assert_int_eq(hpo_obs_add(o, &t), HPO_OK);
        hpo_trial_clear(&t);
    }
    hpo_obs_view v;
    hpo_obs_view_take(o, &v);
    ck_assert_uint_eq(v.n_rows, N);
    size_t seen = 0;
    for (size_t i = 0; i < v.n_rows;) {
        size_t len;
        const hpo_obs_row *r = hpo_obs_view_rows(&v, i, &len);
        ck_assert_uint_ge(len, 1);
        for (size_t k = 0; k < len; k++, i++) {
            ck_assert_int_eq(r[k].number, (int64_t)i);
            size_t ne;
            const hpo_obs_entry *e = hpo_obs_view_entries(&v, &r[k], &ne);
            ck_assert_uint_eq(ne, np[i]);
            for (size_t j = 0; j < ne; j++) {
                ck_assert(e[j].value == (double)(i * 1000 + j));
                char name[32];
                snprintf(name, sizeof name, "n%zu", i % 61 == 0 && j == 0 ? 1000 + i : j);
                ck_assert_uint_lt(e[j].name, v.n_names);
                ck_assert_str_eq(hpo_obs_view_name(&v, e[j].name), name);
            }
            seen++;
        }
    }
    ck_assert_uint_eq(seen, N);
    free(np);
    hpo_obs_free(o);
}
END_TEST

/* ---- TPE over the log equals TPE over the trials ---- */

/* Every mode: univariate, multivariate, group; with and without constant liar; gamma small and
 * large (the bounded pass and the sort). */
static hpo_tpe_config mode_config(int mode)
{
    hpo_tpe_config c;
    hpo_tpe_config_default(&c);
    c.n_startup_trials = 4;
    c.multivariate = mode % 3 >= 1;
    c.group = mode % 3 == 2;
    c.constant_liar = (mode / 3) % 2 == 0;
    if (mode >= 6) {
        c.gamma_fraction = 0.5;
        c.gamma_max = 1000;
    }
    return c;
}

enum { N_MODES = 12 };

/* Each row of v holds what its trial (by number) has: its state, key and params. */
static void check_rows(const hpo_obs_view *v, const hpo_trial *ts, size_t n)
{
    double sign = v->dir == HPO_MAXIMIZE ? -1 : 1;
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        const hpo_trial *t = &ts[i];
        rows += t->state == HPO_TRIAL_PRUNED || (t->state == HPO_TRIAL_COMPLETE && t->n_values);
    }
    ck_assert_uint_eq(v->n_rows, rows);
    for (size_t i = 0; i < v->n_rows; i++) {
        size_t len;
        const hpo_obs_row *r = hpo_obs_view_rows(v, i, &len);
        const hpo_trial *t = NULL;
        for (size_t k = 0; k < n && !t; k++)
            if (ts[k].number == r->number)
                t = &ts[k];
        ck_assert_ptr_nonnull(t);
        ck_assert(hpo_obs_row_complete(r) == (t->state == HPO_TRIAL_COMPLETE));
        const hpo_report *last = hpo_trial_last_report(t);
        double k1 = t->state == HPO_TRIAL_COMPLETE ? -INFINITY : last ? -(double)last->step : 1;
        double k2 = t->state == HPO_TRIAL_COMPLETE ? sign * t->values[0]
                    : !last                        ? 0
                    : isnan(last->value)           ? INFINITY
                                                   : sign * last->value;
        ck_assert(same_bits(&r->k1, &k1, 1) && same_bits(&r->k2, &k2, 1));
        size_t ne;
        const hpo_obs_entry *e = hpo_obs_view_entries(v, r, &ne);
        ck_assert_uint_eq(ne, t->n_params);
        for (size_t k = 0; k < ne; k++) {
            const hpo_param *p = &t->params[k];
            ck_assert_str_eq(hpo_obs_view_name(v, e[k].name), p->name);
            ck_assert_int_eq(hpo_obs_entry_type(&e[k]), p->dist.type);
            ck_assert_uint_eq(hpo_obs_entry_choices(&e[k]),
                              p->dist.type == HPO_DIST_CATEGORICAL ? p->dist.n_choices : 0);
            ck_assert(same_bits(&e[k].value, &p->value, 1));
        }
    }
}

/* Samples the space and some params from trials ts[0..n) and from a log of them filled in a
 * random finishing order; the values and the rng's state after must be the same bits. */
static void check_same(const hpo_space *s, const hpo_trial *ts, size_t n, hpo_direction dir,
                       hpo_rng *rng, uint64_t seed)
{
    hpo_trial *running;
    size_t nr;
    hpo_obs *o = log_of(ts, n, dir, rng, &running, &nr);
    hpo_obs_view v;
    hpo_obs_view_take(o, &v);
    check_rows(&v, ts, n);
    hpo_trial *stored = shuffled(ts, n, rng);
    double *a = calloc(s->n + 1, sizeof(double)), *b = calloc(s->n + 1, sizeof(double));
    ck_assert(a && b);
    hpo_error err;
    for (int mode = 0; mode < N_MODES; mode++) {
        hpo_tpe_config c = mode_config(mode);
        hpo_rng ra, rb;
        hpo_rng_seed(&ra, seed + (uint64_t)mode);
        rb = ra;
        ck_assert_int_eq(hpo_tpe_sample(&c, s, dir, stored, n, &ra, a, &err), HPO_OK);
        ck_assert_int_eq(hpo_tpe_sample_obs(&c, s, &v, running, nr, &rb, b, &err), HPO_OK);
        ck_assert_msg(same_bits(a, b, s->n), "mode %d, %zu trials: the samples differ", mode, n);
        ck_assert_msg(memcmp(&ra, &rb, sizeof ra) == 0, "mode %d: rng states differ", mode);
        for (size_t p = 0; p < s->n; p++)
            ck_assert(hpo_dist_contains(&s->items[p].dist, b[p]));

        /* define-by-run: params of the space, extras, an unknown name; the param's own
         * distribution or another one */
        hpo_dist e_ok = fdist(0, 1, 0, false), e_int = idist(0, 5, 1, false);
        const char *names[] = { "p0", "p3", "p5", "e1", "e4", "zz" };
        const size_t at[] = { 0, 3, 5 };
        for (size_t k = 0; k < 6; k++) {
            const hpo_dist *d = k < 3 && at[k] < s->n ? &s->items[at[k]].dist : &e_ok;
            for (int alt = 0; alt < 2; alt++) {
                const hpo_dist *dd = alt ? &e_int : d;
                double x = hpo_tpe_sample_param(&c, names[k], dd, dir, stored, n, &ra);
                double y = hpo_tpe_sample_param_obs(&c, names[k], dd, &v, running, nr, &rb);
                ck_assert_msg(same_bits(&x, &y, 1), "mode %d, param %s: %.17g != %.17g", mode,
                              names[k], x, y);
                ck_assert(memcmp(&ra, &rb, sizeof ra) == 0);
            }
        }
    }
    free(a);
    free(b);
    free(stored);
    free(running);
    hpo_obs_free(o);
}

START_TEST(test_same_as_trials)
{
    hpo_rng rng;
    hpo_rng_seed(&rng, 20240611u + (uint64_t)_i);
    const size_t widths[] = { 3, 8, 24 };
    for (int round = 0; round < 12; round++) {
        hpo_space s = make_space(widths[round % 3]);
        size_t n = round == 0 ? 0 : round == 1 ? 3 : 5 + (size_t)hpo_rng_below(&rng, 150);
        number_kind kind = (number_kind)(round % 3);
        hpo_trial *ts = make_history(&s, n, kind, &rng);
        check_same(&s, ts, n, round % 2 ? HPO_MAXIMIZE : HPO_MINIMIZE, &rng,
                   1000u * (uint64_t)round);
        hpo_trials_free(ts, n);
        hpo_space_clear(&s);
    }
}
END_TEST

/* Larger histories: the bounded and sorted splits, dense and sparse numbers. */
START_TEST(test_same_as_trials_large)
{
    hpo_rng rng;
    hpo_rng_seed(&rng, 77);
    for (int round = 0; round < 3; round++) {
        hpo_space s = make_space(round == 2 ? 20 : 6);
        size_t n = 600 + (size_t)hpo_rng_below(&rng, 600);
        hpo_trial *ts = make_history(&s, n, (number_kind)round, &rng);
        check_same(&s, ts, n, HPO_MINIMIZE, &rng, 99u + (uint64_t)round);
        hpo_trials_free(ts, n);
        hpo_space_clear(&s);
    }
}
END_TEST

/* A view taken before more rows are added samples exactly as it did. */
START_TEST(test_view_prefix)
{
    hpo_rng rng;
    hpo_rng_seed(&rng, 3);
    hpo_space s = make_space(8);
    enum { N = 300 };
    hpo_trial *ts = make_history(&s, N, NUM_DENSE, &rng);
    hpo_obs *o = hpo_obs_new(HPO_MINIMIZE);
    ck_assert_ptr_nonnull(o);
    for (size_t i = 0; i < N / 2; i++)
        if (ts[i].state != HPO_TRIAL_RUNNING)
            ck_assert_int_eq(hpo_obs_add(o, &ts[i]), HPO_OK);
    hpo_obs_view v1;
    hpo_obs_view_take(o, &v1);
    double before[N_MODES][8], after[8];
    hpo_error err;
    for (int mode = 0; mode < N_MODES; mode++) {
        hpo_tpe_config c = mode_config(mode);
        hpo_rng r;
        hpo_rng_seed(&r, 40u + (uint64_t)mode);
        ck_assert_int_eq(hpo_tpe_sample_obs(&c, &s, &v1, NULL, 0, &r, before[mode], &err),
                         HPO_OK);
        /* the same as the trials array then */
        double want[8];
        hpo_rng_seed(&r, 40u + (uint64_t)mode);
        hpo_trial *fin = malloc(N * sizeof(hpo_trial));
        size_t nf = 0;
        for (size_t i = 0; i < N / 2; i++)
            if (ts[i].state != HPO_TRIAL_RUNNING)
                fin[nf++] = ts[i];
        ck_assert_int_eq(hpo_tpe_sample(&c, &s, HPO_MINIMIZE, fin, nf, &r, want, &err), HPO_OK);
        ck_assert(same_bits(before[mode], want, 8));
        free(fin);
    }
    for (size_t i = N / 2; i < N; i++)
        if (ts[i].state != HPO_TRIAL_RUNNING)
            ck_assert_int_eq(hpo_obs_add(o, &ts[i]), HPO_OK);
    hpo_obs_view v2;
    hpo_obs_view_take(o, &v2);
    ck_assert_uint_gt(v2.n_rows, v1.n_rows);
    for (int mode = 0; mode < N_MODES; mode++) {
        hpo_tpe_config c = mode_config(mode);
        hpo_rng r;
        hpo_rng_seed(&r, 40u + (uint64_t)mode);
        ck_assert_int_eq(hpo_tpe_sample_obs(&c, &s, &v1, NULL, 0, &r, after, &err), HPO_OK);
        ck_assert_msg(same_bits(before[mode], after, 8), "mode %d: the old view moved", mode);
    }
    hpo_obs_free(o);
    hpo_trials_free(ts, N);
    hpo_space_clear(&s);
}
END_TEST

/* ---- a writer appending under a mutex, a reader sampling views outside it ---- */

enum { THREAD_TRIALS = 4000 };

typedef struct {
    pthread_mutex_t mu;
    hpo_obs *log;
    const hpo_trial *trials;
    const hpo_space *space;
    bool done;
    size_t views;               /* taken by the reader (under mu) */
    size_t samples, rows_read;  /* the reader's */
} shared_log;

static void pause_us(long us)
{
    struct timespec ts = { 0, us * 1000 };
    nanosleep(&ts, NULL);
}

/* Appends the trials one per lock; after every burst of 100 waits for the reader to take a
 * view, then appends the next burst while the reader samples that view. */
static void *writer_main(void *arg)
{
    shared_log *sh = arg;
    size_t seen = 0;
    for (size_t i = 0; i < THREAD_TRIALS; i++) {
        pthread_mutex_lock(&sh->mu);
        hpo_rc rc = hpo_obs_add(sh->log, &sh->trials[i]);
        pthread_mutex_unlock(&sh->mu);
        if (rc != HPO_OK)
            return (void *)1;
        while (i % 100 == 99) {
            pthread_mutex_lock(&sh->mu);
            size_t views = sh->views;
            pthread_mutex_unlock(&sh->mu);
            if (views > seen) {
                seen = views;
                break;
            }
            pause_us(10);
        }
    }
    pthread_mutex_lock(&sh->mu);
    sh->done = true;
    pthread_mutex_unlock(&sh->mu);
    return NULL;
}

static void *reader_main(void *arg)
{
    shared_log *sh = arg;
    hpo_tpe_config c;
    hpo_tpe_config_default(&c);
    c.n_startup_trials = 5;
    double x[8];
    for (size_t k = 0;; k++) {
        hpo_obs_view v;
        pthread_mutex_lock(&sh->mu);
        hpo_obs_view_take(sh->log, &v);
        bool done = sh->done;
        sh->views++;
        pthread_mutex_unlock(&sh->mu);
        /* the prefix, read without the lock */
        for (size_t i = 0; i < v.n_rows;) {
            size_t len;
            const hpo_obs_row *r = hpo_obs_view_rows(&v, i, &len);
            for (size_t j = 0; j < len; j++, i++) {
                size_t ne;
                const hpo_obs_entry *e = hpo_obs_view_entries(&v, &r[j], &ne);
                if (r[j].number < 0 || r[j].number >= THREAD_TRIALS)
                    return (void *)1;
                for (size_t q = 0; q < ne; q++)
                    if (e[q].name >= v.n_names || hpo_obs_view_name(&v, e[q].name)[0] == '\0')
                        return (void *)1;
            }
        }
        sh->rows_read += v.n_rows;
        c.multivariate = k % 2 == 1;
        hpo_rng rng;
        hpo_rng_seed(&rng, k);
        hpo_error err;
        if (hpo_tpe_sample_obs(&c, sh->space, &v, NULL, 0, &rng, x, &err) != HPO_OK)
            return (void *)1;
        for (size_t p = 0; p < sh->space->n; p++)
            if (!hpo_dist_contains(&sh->space->items[p].dist, x[p]))
                return (void *)1;
        (void)hpo_tpe_sample_param_obs(&c, "e0", &sh->space->items[0].dist, &v, NULL, 0, &rng);
        sh->samples++;
        if (done)
            break;
    }
    return NULL;
}

START_TEST(test_concurrent_reader)
{
    hpo_rng rng;
    hpo_rng_seed(&rng, 8);
    hpo_space s = make_space(8);
    hpo_trial *ts = make_history(&s, THREAD_TRIALS, NUM_DENSE, &rng);
    /* finished trials only (the writer's adds), new names now and then */
    hpo_dist fx = fdist(0, 1, 0, false);
    for (size_t i = 0; i < THREAD_TRIALS; i++) {
        if (ts[i].state == HPO_TRIAL_RUNNING || ts[i].state == HPO_TRIAL_WAITING) {
            ts[i].state = HPO_TRIAL_COMPLETE;
            trial_value(&ts[i], (double)i);
        }
        if (i % 37 == 0) {
            char name[32];
            snprintf(name, sizeof name, "new%zu", i);
            ck_assert_int_eq(hpo_trial_add_param(&ts[i], name, &fx, 0.5), HPO_OK);
        }
    }
    shared_log sh = { .trials = ts, .space = &s, .log = hpo_obs_new(HPO_MINIMIZE) };
    ck_assert_ptr_nonnull(sh.log);
    pthread_mutex_init(&sh.mu, NULL);
    pthread_t w, r;
    ck_assert_int_eq(pthread_create(&r, NULL, reader_main, &sh), 0);
    ck_assert_int_eq(pthread_create(&w, NULL, writer_main, &sh), 0);
    void *wret, *rret;
    pthread_join(w, &wret);
    pthread_join(r, &rret);
    ck_assert_ptr_null(wret);
    ck_assert_ptr_null(rret);
    ck_assert_uint_ge(sh.samples, THREAD_TRIALS / 100);
    /* views of every size up to the whole log: about 40 x 2000 rows read */
    ck_assert_uint_ge(sh.rows_read, THREAD_TRIALS / 100 * THREAD_TRIALS / 4);
    ck_assert_uint_gt(hpo_obs_rows(sh.log), THREAD_TRIALS / 2);
    pthread_mutex_destroy(&sh.mu);
    hpo_obs_free(sh.log);
    hpo_trials_free(ts, THREAD_TRIALS);
    hpo_space_clear(&s);
}
END_TEST

static Suite *obs_suite(void)
{
    Suite *s = suite_create("obs");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, test_rows_and_keys);
    tcase_add_test(tc, test_segments);
    suite_add_tcase(s, tc);

    tc = tcase_create("tpe");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_same_as_trials, 0, 4);
    tcase_add_test(tc, test_same_as_trials_large);
    tcase_add_test(tc, test_view_prefix);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_concurrent_reader);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(obs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
