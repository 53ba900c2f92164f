/* test_auto: the auto sampler (the default) through the service over a real PostgreSQL: it is
 * what a study without a sampler gets; it picks by study as hpo_sampling_auto_pick says; and what
 * it samples is exactly what the picked sampler samples: a numeric study asks, trial by trial,
 * what a gp sampler (even numbers) and a tpe one (odd numbers) of the same seed give for the same
 * history (the GP's warm start too); a categorical-heavy one and a constrained one the same as a
 * tpe study, two objectives the same as a multivariate tpe study; and with HPO_AUTO_GP_TRIALS
 * complete trials it hands over to TPE, from the observation log. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_codec.h"
#include "hpo_sampling.h"
#include "hpo_testdb.h"
#include "hpo_testsvc.h"

static char *db;
static hpo_testsvc ts;

static void setup(void)
{
    db = hpo_testdb_create();
    hpo_testsvc_open(&ts, db, 4);
}

static void teardown(void)
{
    hpo_testsvc_close(&ts);
    hpo_testdb_drop(db);
    free(db);
}

static const hpo_direction DIRS[2] = {HPO_MINIMIZE, HPO_MAXIMIZE};

static hpo_choice CHOICES[3] = {{.kind = HPO_CHOICE_STRING, .str = "a"},
                                {.kind = HPO_CHOICE_STRING, .str = "b"},
                                {.kind = HPO_CHOICE_STRING, .str = "c"}};

static void add(hpo_space *s, const char *name, hpo_dist d)
{
    ck_assert_int_eq(hpo_space_add(s, name, &d), HPO_OK);
}

/* x, y floats; k an int; with `categorical` cats, three categoricals more (then most of the
 * space is categorical). */
static void space(hpo_space *s, bool categorical)
{
    memset(s, 0, sizeof *s);
    add(s, "x", (hpo_dist){.type = HPO_DIST_FLOAT, .low = -5, .high = 5});
    add(s, "y", (hpo_dist){.type = HPO_DIST_FLOAT, .low = 1e-3, .high = 10, .log = true});
    if (!categorical)
        return;
    add(s, "c1", (hpo_dist){.type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = CHOICES});
    add(s, "c2", (hpo_dist){.type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = CHOICES});
    add(s, "c3", (hpo_dist){.type = HPO_DIST_CATEGORICAL, .n_choices = 3, .choices = CHOICES});
}

/* Creates study `name` (sampler NULL: the default) over space(categorical) with n_dirs
 * objectives; returns the canonical sampler JSON (owned). */
static char *create(const char *name, const char *sampler, bool categorical, size_t n_dirs)
{
    hpo_study_config c = {0};
    c.name = (char *)name;
    c.n_directions = n_dirs;
    c.directions = (hpo_direction *)DIRS;
    c.sampler = (char *)sampler;
    space(&c.space, categorical);
    hpo_study_info info = {0};
    bool created = false;
    hpo_error err = {0};
    ck_assert_msg(hpo_service_study_create(ts.svc, &c, false, &info, &created, &err) == HPO_OK,
                  "%s", err.message);
    char *ret = strdup(info.config.sampler);
    hpo_study_info_clear(&info);
    hpo_space_clear(&c.space);
    return ret;
}

static void ask(const char *study, hpo_trial *ret)
{
    bool replayed = false;
    hpo_error err = {0};
    hpo_ask_request req = {.worker = "w"};
    ck_assert_msg(hpo_service_ask(ts.svc, study, &req, ret, &replayed, NULL, &err) == HPO_OK,
                  "%s", err.message);
}

/* A complete finish with values from the params (a bowl with its minimum at x = 1, y = 1; the
 * second objective its opposite corner) and, with `constrained`, one constraint x - 2. */
static void finish(const char *study, const hpo_trial *t, size_t n_dirs, bool constrained)
{
    double x = hpo_trial_param(t, "x")->value, y = hpo_trial_param(t, "y")->value;
    double v[2] = {(x - 1) * (x - 1) + (y - 1) * (y - 1), (x + 4) * (x + 4) + y};
    double c = x - 2;
    hpo_finish_request fin = {HPO_TRIAL_COMPLETE, v, n_dirs, NULL, false,
                              constrained ? &c : NULL, constrained ? 1 : 0};
    hpo_trial done = {0};
    hpo_error err = {0};
    ck_assert_msg(hpo_service_finish(ts.svc, study, t->number, &fin, &done, &err) == HPO_OK,
                  "%s", err.message);
    hpo_trial_clear(&done);
}

/* Runs studies a and b side by side for n trials (ask a, ask b, finish both alike) and checks
 * that every trial gets the same params in both. */
static void same_params(const char *a, const char *b, int n, size_t n_dirs, bool constrained)
{
    for (int k = 0; k < n; k++) {
        hpo_trial ta = {0}, tb = {0};
        ask(a, &ta);
        ask(b, &tb);
        ck_assert_uint_eq(ta.n_params, tb.n_params);
        for (size_t i = 0; i < ta.n_params; i++)
            ck_assert_msg(ta.params[i].value == tb.params[i].value,
                          "trial %d param %s: %s %.17g, %s %.17g", k, ta.params[i].name, a,
                          ta.params[i].value, b, tb.params[i].value);
        finish(a, &ta, n_dirs, constrained);
        finish(b, &tb, n_dirs, constrained);
        hpo_trial_clear(&ta);
        hpo_trial_clear(&tb);
    }
}

START_TEST(test_default_is_auto)
{
    /* one objective or two: auto, with the seed drawn and spelled out, and nothing else */
    for (size_t n_dirs = 1; n_dirs <= 2; n_dirs++) {
        char *s = create(n_dirs == 1 ? "plain" : "two", NULL, false, n_dirs);
        json_t *j = json_loads(s, 0, NULL);
        ck_assert_msg(json_object_size(j) == 2, "%s", s);
        ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "auto");
        ck_assert(json_is_integer(json_object_get(j, "seed")));
        json_decref(j);
        free(s);
    }
    char *s = create("seeded", "{\"type\":\"auto\",\"seed\":7}", false, 1);
    ck_assert_str_eq(s, "{\"seed\":7,\"type\":\"auto\"}");
    free(s);
    hpo_study_config c = {0};
    c.name = "bad";
    c.n_directions = 1;
    c.directions = (hpo_direction *)DIRS;
    c.sampler = "{\"type\":\"auto\",\"multivariate\":true}";
    space(&c.space, false);
    hpo_study_info info = {0};
    bool created = false;
    hpo_error err = {0};
    ck_assert_int_eq(hpo_service_study_create(ts.svc, &c, false, &info, &created, &err),
                     HPO_E_INVALID);
    ck_assert_str_eq(err.field, "sampler.multivariate");
    hpo_space_clear(&c.space);
}
END_TEST

START_TEST(test_pick_rules)
{
    hpo_study_config c = {0};
    c.n_directions = 1;
    c.directions = (hpo_direction *)DIRS;
    space(&c.space, false);
    /* numeric, one objective: GP for even trial numbers, TPE for odd ones */
    ck_assert_int_eq(hpo_sampling_auto_pick(&c, 0, 0, false), HPO_SAMPLER_GP);
    ck_assert_int_eq(hpo_sampling_auto_pick(&c, 1, 0, false), HPO_SAMPLER_TPE);
    ck_assert_int_eq(hpo_sampling_auto_pick(&c, 42, HPO_AUTO_GP_TRIALS - 1, false),
                     HPO_SAMPLER_GP);
    /* then TPE only: a long study, constraints, several objectives */
    ck_assert_int_eq(hpo_sampling_auto_pick(&c, 42, HPO_AUTO_GP_TRIALS, false), HPO_SAMPLER_TPE);
    ck_assert_int_eq(hpo_sampling_auto_pick(&c, 42, 5, true), HPO_SAMPLER_TPE);
    c.n_directions = 2;
    ck_assert_int_eq(hpo_sampling_auto_pick(&c, 42, 5, false), HPO_SAMPLER_TPE);
    c.n_directions = 1;
    hpo_space_clear(&c.space);
    space(&c.space, true); /* 3 of 5 categorical */
    ck_assert_int_eq(hpo_sampling_auto_pick(&c, 42, 5, false), HPO_SAMPLER_TPE);
    add(&c.space, "z", (hpo_dist){.type = HPO_DIST_INT, .low = 0, .high = 9, .step = 1});
    ck_assert_int_eq(hpo_sampling_auto_pick(&c, 42, 5, false), HPO_SAMPLER_GP); /* 3 of 6 */
    hpo_space_clear(&c.space);
    ck_assert_int_eq(hpo_sampling_auto_pick(&c, 42, 5, false), HPO_SAMPLER_TPE); /* nothing declared */
}
END_TEST

/* The sampler `json` configured for a one-objective study over space(false). */
static void configure(const char *json, hpo_study_config *cfg, hpo_sampler *ret)
{
    hpo_error err = {0};
    ck_assert_msg(hpo_sampler_configure(json, cfg, ret, NULL, &err) == HPO_OK, "%s", err.message);
}

/* A numeric study: auto runs the GP for even trial numbers and TPE for odd ones,
 * each over the whole history. Checked against a gp and a tpe sampler of the same seed, each
 * asked (in process) for the same trials over the same history the service held: the GP's
 * warm start goes the same way, as it fits for the same trials in the same order. */
START_TEST(test_numeric_is_gp_and_tpe)
{
    free(create("auto-num", "{\"type\":\"auto\",\"seed\":3}", false, 1));
    hpo_study_config cfg = {0};
    cfg.name = "auto-num";
    cfg.n_directions = 1;
    cfg.directions = (hpo_direction *)DIRS;
    space(&cfg.space, false);
    hpo_sampler gp, tpe;
    configure("{\"type\":\"gp\",\"seed\":3}", &cfg, &gp);
    configure("{\"type\":\"tpe\",\"seed\":3}", &cfg, &tpe);
    for (int64_t k = 0; k < 30; k++) {
        hpo_trial *trials = NULL;
        size_t n = 0;
        bool more = false;
        hpo_error err = {0};
        ck_assert_int_eq(hpo_service_trials(ts.svc, "auto-num", -1, -1, 1000, &trials, &n, &more,
                                            &err), HPO_OK);
        hpo_history h = {trials, n, NULL};
        hpo_trial want = {0};
        ck_assert_int_eq(hpo_sampling_fill(k % 2 == 0 ? &gp : &tpe, &cfg, &h, k, &want, &err),
                         HPO_OK);
        hpo_trials_free(trials, n);
        hpo_trial got = {0};
        ask("auto-num", &got);
        ck_assert_int_eq(got.number, k);
        for (size_t i = 0; i < want.n_params; i++) {
            const hpo_param *p = hpo_trial_param(&got, want.params[i].name);
            ck_assert_ptr_nonnull(p);
            ck_assert_msg(p->value == want.params[i].value, "trial %d param %s: %.17g, want %.17g",
                          (int)k, p->name, p->value, want.params[i].value);
        }
        finish("auto-num", &got, 1, false);
        hpo_trial_clear(&got);
        hpo_trial_clear(&want);
    }
    hpo_sampler_clear(&gp);
    hpo_sampler_clear(&tpe);
    hpo_space_clear(&cfg.space);
}
END_TEST

/* Categorical-heavy, or constrained: auto is TPE. */
START_TEST(test_categorical_and_constrained_are_tpe)
{
    free(create("auto-cat", "{\"type\":\"auto\",\"seed\":4}", true, 1));
    free(create("tpe-cat", "{\"type\":\"tpe\",\"seed\":4}", true, 1));
    same_params("auto-cat", "tpe-cat", 25, 1, false);
    free(create("auto-con", "{\"type\":\"auto\",\"seed\":5}", false, 1));
    free(create("tpe-con", "{\"type\":\"tpe\",\"seed\":5}", false, 1));
    same_params("auto-con", "tpe-con", 25, 1, true);
}
END_TEST

/* Two objectives: auto is multi-objective TPE, multivariate. */
START_TEST(test_two_objectives_are_motpe)
{
    free(create("auto-mo", "{\"type\":\"auto\",\"seed\":6}", false, 2));
    free(create("tpe-mo", "{\"type\":\"tpe\",\"seed\":6,\"multivariate\":true}", false, 2));
    same_params("auto-mo", "tpe-mo", 20, 2, false);
}
END_TEST

/* Past HPO_AUTO_GP_TRIALS complete trials: TPE (from the observation log), as a tpe study with
 * the same trials. The first trials come in finished (enqueued params), so both studies hold the
 * same history without running the GP that long. */
START_TEST(test_long_study_goes_to_tpe)
{
    free(create("auto-long", "{\"type\":\"auto\",\"seed\":8}", false, 1));
    free(create("tpe-long", "{\"type\":\"tpe\",\"seed\":8}", false, 1));
    const char *studies[2] = {"auto-long", "tpe-long"};
    for (int k = 0; k < HPO_AUTO_GP_TRIALS; k++)
        for (int s = 0; s < 2; s++) {
            char params[96];
            snprintf(params, sizeof params, "{\"x\":%.17g,\"y\":%.17g}",
                     -5 + 10 * ((k * 37) % 101) / 101.0, exp(-6.9 + 9.2 * ((k * 53) % 97) / 97.0));
            hpo_fixed_params fp = {0};
            hpo_error err = {0};
            json_t *j = json_loads(params, 0, NULL);
            ck_assert_msg(hpo_json_to_fixed_params(j, "params", &fp, &err) == HPO_OK, "%s",
                          err.message);
            json_decref(j);
            hpo_trial queued = {0};
            ck_assert_msg(hpo_service_enqueue(ts.svc, studies[s], &fp, &queued, &err) == HPO_OK,
                          "%s", err.message);
            hpo_trial_clear(&queued);
            hpo_fixed_params_clear(&fp);
            hpo_trial t = {0};
            ask(studies[s], &t);
            ck_assert_int_eq(t.number, k);
            finish(studies[s], &t, 1, false);
            hpo_trial_clear(&t);
        }
    same_params("auto-long", "tpe-long", 5, 1, false);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("auto");
    TCase *tc = tcase_create("auto");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_default_is_auto);
    tcase_add_test(tc, test_pick_rules);
    tcase_add_test(tc, test_numeric_is_gp_and_tpe);
    tcase_add_test(tc, test_categorical_and_constrained_are_tpe);
    tcase_add_test(tc, test_two_objectives_are_motpe);
    tcase_add_test(tc, test_long_study_goes_to_tpe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
