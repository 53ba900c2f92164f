/* fuzz_space: the search-space model through its JSON entry points: a distribution, a space (as a
 * create and the store read it), choices, and param values against a space (as ask and enqueue
 * take fixed params). Round trips and the agreement of validate, round and contains are checked. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "hpo_codec.h"

static void check_refusal(hpo_rc rc, const hpo_error *err)
{
    FUZZ_CHECK(rc < 0);
    FUZZ_CHECK(err->code == rc);
    FUZZ_CHECK(err->message[0] != '\0');
    json_t *j = hpo_error_to_json(err);
    FUZZ_CHECK(j != NULL);
    json_decref(j);
}

/* An internal value the distribution holds goes out as JSON and comes back as itself. */
static void check_value_round_trip(const hpo_dist *d, double internal)
{
    FUZZ_CHECK(hpo_dist_contains(d, internal));
    json_t *v = hpo_param_value_to_json(d, internal);
    FUZZ_CHECK(v != NULL);
    double back = NAN;
    hpo_error err = {0};
    hpo_rc rc = hpo_json_to_param_value(d, v, "params.x", &back, &err);
    FUZZ_CHECK(rc == HPO_OK);
    FUZZ_CHECK(back == internal);
    json_decref(v);
}

/* What the samplers do with a raw value (hpo_dist_round) must give a value the distribution
 * holds, whatever the raw value. */
static void check_dist(const hpo_dist *d, const double *extra, size_t n_extra)
{
    FUZZ_CHECK(hpo_dist_validate(d, "d", NULL) == HPO_OK);
    double mid = d->low / 2 + d->high / 2;
    const double probes[] = {d->low, d->high, mid, d->low - 1, d->high + 1, 0, -0.0, 0.5, -1,
                             1, NAN, INFINITY, -INFINITY, 1e308, -1e308, 4.9e-324,
                             d->low + d->step / 2, d->high - d->step / 3,
                             (double)d->n_choices, (double)d->n_choices - 1};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0] + n_extra; i++) {
        double x = i < sizeof probes / sizeof probes[0] ? probes[i]
                                                         : extra[i - sizeof probes / sizeof probes[0]];
        double r = hpo_dist_round(d, x);
        check_value_round_trip(d, r);
        if (hpo_dist_contains(d, x))
            check_value_round_trip(d, x);
    }
    json_t *j = hpo_dist_to_json(d);
    FUZZ_CHECK(j != NULL);
    hpo_dist d2 = {0};
    hpo_error err = {0};
    FUZZ_CHECK(hpo_json_to_dist(j, "d", &d2, &err) == HPO_OK);
    FUZZ_CHECK(hpo_dist_equal(d, &d2));
    hpo_dist copy = {0};
    FUZZ_CHECK(hpo_dist_copy(&copy, d) == HPO_OK);
    FUZZ_CHECK(hpo_dist_equal(d, &copy));
    hpo_dist_clear(&copy);
    hpo_dist_clear(&d2);
    json_decref(j);
}

/* The numbers of a JSON value (up to 16), as extra probes for hpo_dist_round. */
static size_t numbers_in(const json_t *j, double *out, size_t n, size_t max)
{
    if (n >= max)
        return n;
    if (json_is_number(j)) {
        out[n++] = json_number_value(j);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) n = numbers_in(v, out, n, max);
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) n = numbers_in(v, out, n, max);
    }
    return n;
}

static void check_as_dist(const json_t *j, const double *extra, size_t n_extra)
{
    hpo_dist d = {0};
    hpo_error err = {0};
    hpo_rc rc = hpo_json_to_dist(j, "distribution", &d, &err);
    if (rc) {
        check_refusal(rc, &err);
        return;
    }
    check_dist(&d, extra, n_extra);
    hpo_dist_clear(&d);
}

static void check_as_space(const json_t *j, hpo_space *ret)
{
    hpo_space s = {0};
    hpo_error err = {0};
    hpo_rc rc = hpo_json_to_space(j, "search_space", &s, &err);
    if (rc) {
        check_refusal(rc, &err);
        return;
    }
    FUZZ_CHECK(s.n == json_object_size(j));
    for (size_t i = 0; i < s.n; i++) {
        FUZZ_CHECK(hpo_param_name_validate(s.items[i].name, "n", NULL) == HPO_OK);
        check_dist(&s.items[i].dist, NULL, 0);
    }
    json_t *back = hpo_space_to_json(&s);
    FUZZ_CHECK(back != NULL);
    hpo_space s2 = {0}, copy = {0};
    FUZZ_CHECK(hpo_json_to_space(back, "search_space", &s2, &err) == HPO_OK);
    FUZZ_CHECK(hpo_space_copy(&copy, &s) == HPO_OK);
    FUZZ_CHECK(s2.n == s.n && copy.n == s.n);
    for (size_t i = 0; i < s.n; i++) {
        FUZZ_CHECK(strcmp(s.items[i].name, s2.items[i].name) == 0);
        FUZZ_CHECK(hpo_dist_equal(&s.items[i].dist, &s2.items[i].dist));
        FUZZ_CHECK(hpo_dist_equal(&s.items[i].dist, &hpo_space_find(&copy, s.items[i].name)->dist));
    }
    json_decref(back);
    hpo_space_clear(&s2);
    hpo_space_clear(&copy);
    *ret = s;
}

/* {"space": {...}, "params": {...}}: each fixed param against its distribution, as the
 * service's apply_fixed_params does for ask and enqueue. */
static void check_params(const hpo_space *s, const json_t *params)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)params, name, v) {
        const hpo_param_def *def = hpo_space_find(s, name);
        if (!def)
            continue;
        double internal = NAN;
        hpo_error err = {0};
        hpo_rc rc = hpo_json_to_param_value(&def->dist, v, "params.x", &internal, &err);
        if (rc) {
            check_refusal(rc, &err);
            continue;
        }
        check_value_round_trip(&def->dist, internal);
    }
}

/* An array: each element as a categorical choice. */
static void check_choices(const json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        hpo_choice c = {0}, c2 = {0};
        hpo_error err = {0};
        hpo_rc rc = hpo_json_to_choice(v, "choice", &c, &err);
        if (rc) {
            check_refusal(rc, &err);
            continue;
        }
        json_t *back = hpo_choice_to_json(&c);
        FUZZ_CHECK(hpo_json_to_choice(back, "choice", &c2, &err) == HPO_OK);
        FUZZ_CHECK(hpo_choice_equal(&c, &c2));
        json_decref(back);
        free(c.str);
        free(c2.str);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                           NULL);
    if (!j)
        return 0;
    double extra[16];
    size_t n_extra = numbers_in(j, extra, 0, 16);
    check_as_dist(j, extra, n_extra);
    hpo_space s = {0};
    check_as_space(j, &s);
    hpo_space_clear(&s);
    json_t *space = json_object_get(j, "space"), *params = json_object_get(j, "params");
    if (json_is_object(params)) {
        check_as_space(space, &s);
        check_params(&s, params);
        hpo_space_clear(&s);
    }
    if (json_is_array(j))
        check_choices(j);
    json_decref(j);
    return 0;
}
