/* test_worker_unit: the pure parts of hpo-worker: placeholders, value text and environment
 * names, report lines and --metric-regex, GPU lists, nvidia-smi -L output, slots, flags (the
 * token's and the log format's among them), where queued reports are cut into batches. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_log.h"
#include "wk_batch.h"
#include "wk_config.h"
#include "wk_lines.h"
#include "wk_params.h"
#include "wk_slots.h"

static void expect_sub(const char *arg, const char *params_json, const char *want)
{
    json_error_t e;
    json_t *p = json_loads(params_json, JSON_DECODE_ANY, &e);
    ck_assert_ptr_nonnull(p);
    char *got = wk_substitute(arg, p);
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(strcmp(got, want) == 0, "%s -> '%s', expected '%s'", arg, got, want);
    free(got);
    json_decref(p);
}

START_TEST(placeholders)
{
    const char *p = "{\"lr\":0.001,\"layers\":3,\"opt\":\"adam\",\"bn\":true,\"wd\":null,"
                    "\"drop\":0.1,\"big\":1e+300,\"neg\":-2.5,\"off\":false,\"a b\":\"x y\"}";
    expect_sub("--lr={lr}", p, "--lr=0.001");
    expect_sub("{layers}", p, "3");
    expect_sub("{opt}-{bn}-{wd}-{off}", p, "adam-true-null-false");
    expect_sub("{drop}", p, "0.1");
    expect_sub("{big}", p, "1e+300");
    expect_sub("{neg}", p, "-2.5");
    expect_sub("{a b}", p, "x y");
    /* anything that is not a known name stays */
    expect_sub("plain", p, "plain");
    expect_sub("", p, "");
    expect_sub("{}", p, "{}");
    expect_sub("{unknown}", p, "{unknown}");
    expect_sub("awk '{print $1}'", p, "awk '{print $1}'");
    expect_sub("{lr", p, "{lr");
    expect_sub("lr}", p, "lr}");
    expect_sub("{{lr}}", p, "{0.001}");
    expect_sub("{lr}{lr}", p, "0.0010.001");
    expect_sub("${HOME}/{opt}", p, "${HOME}/adam");
}
END_TEST

START_TEST(value_text_round_trips)
{
    static const double v[] = {0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-4, 0.00031622776601683794,
                               123456789.123, 5e-324, 1.7976931348623157e308, -0.0, 3.0};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        json_t *j = json_real(v[i]);
        char *s = wk_param_format(j);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(strtod(s, NULL) == v[i] && signbit(strtod(s, NULL)) == signbit(v[i]),
                      "%s does not read back as %.17g", s, v[i]);
        /* shortest: one digit fewer does not round-trip */
        ck_assert_int_le((int)strlen(s), 24);
        free(s);
        json_decref(j);
    }
    json_t *j = json_real(0.1);
    char *s = wk_param_format(j);
    ck_assert_str_eq(s, "0.1");
    free(s);
    json_decref(j);
    j = json_real(3.0);
    s = wk_param_format(j);
    ck_assert_str_eq(s, "3");
    free(s);
    json_decref(j);
    j = json_integer(-42);
    s = wk_param_format(j);
    ck_assert_str_eq(s, "-42");
    free(s);
    json_decref(j);
    j = json_string("with space");
    s = wk_param_format(j);
    ck_assert_str_eq(s, "with space");
    free(s);
    json_decref(j);
}
END_TEST

START_TEST(env_names)
{
    static const struct {
        const char *name, *env;
    } cases[] = {
        {"lr", "HPO_PARAM_LR"},
        {"learning-rate", "HPO_PARAM_LEARNING_RATE"},
        {"n_layers", "HPO_PARAM_N_LAYERS"},
        {"Adam.beta1", "HPO_PARAM_ADAM_BETA1"},
        {"x y/z", "HPO_PARAM_X_Y_Z"},
        {"\xc3\xa9t\xc3\xa9", "HPO_PARAM___T__"},
        {"", "HPO_PARAM_"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *e = wk_param_env_name(cases[i].name);
        ck_assert_str_eq(e, cases[i].env);
        free(e);
    }
}
END_TEST

START_TEST(report_lines)
{
    wk_line l;
    ck_assert_int_eq(wk_line_parse("hpo: step=3 value=0.87", &l), WK_LINE_REPORT);
    ck_assert(l.has_step);
    ck_assert_int_eq(l.step, 3);
    ck_assert(l.value == 0.87);
    ck_assert_int_eq(wk_line_parse("hpo: value=0.96", &l), WK_LINE_FINAL);
    ck_assert(l.value == 0.96);
    ck_assert(!l.has_step);
    /* blanks, CR, order, exponent, negative values */
    ck_assert_int_eq(wk_line_parse("  hpo:\tvalue=-1.5e-3   step=12 \r", &l), WK_LINE_REPORT);
    ck_assert_int_eq(l.step, 12);
    ck_assert(l.value == -1.5e-3);
    ck_assert_int_eq(wk_line_parse("hpo:value=2", &l), WK_LINE_FINAL);
    ck_assert(l.value == 2.0);
    ck_assert_int_eq(wk_line_parse("hpo: step=0 value=1e308", &l), WK_LINE_REPORT);
    /* plain output */
    ck_assert_int_eq(wk_line_parse("epoch 3: loss 0.2", &l), WK_LINE_TEXT);
    ck_assert_int_eq(wk_line_parse("", &l), WK_LINE_TEXT);
    ck_assert_int_eq(wk_line_parse("xhpo: value=1", &l), WK_LINE_TEXT);
    ck_assert_int_eq(wk_line_parse("HPO: value=1", &l), WK_LINE_TEXT);
    /* junk that claims to be an hpo line */
    static const char *const bad[] = {
        "hpo:",
        "hpo: starting",
        "hpo: step=3",
        "hpo: step=3 value=",
        "hpo: step=3 value=abc",
        "hpo: step=3 value=0.5x",
        "hpo: step=-1 value=0.5",
        "hpo: step=1.5 value=0.5",
        "hpo: step=99999999999999999999 value=1",
        "hpo: step=1 step=2 value=1",
        "hpo: value=1 value=2",
        "hpo: epoch=1 value=2",
        "hpo: step=3 value=nan",
        "hpo: step=3 value=NaN",
        "hpo: value=inf",
        "hpo: value=-Infinity",
        "hpo: value=1e999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(wk_line_parse(bad[i], &l) == WK_LINE_BAD, "'%s' is not BAD", bad[i]);
        ck_assert_ptr_nonnull(l.why);
    }
    ck_assert_int_eq(wk_line_parse("hpo: value=nan", &l), WK_LINE_BAD);
    ck_assert_str_eq(l.why, "value is not finite");
}
END_TEST

START_TEST(values_and_constraints_lines)
{
    wk_line l;
    /* several objectives: one value each; values= of one is value= */
    ck_assert_int_eq(wk_line_parse("hpo: values=0.5,-12,3e2", &l), WK_LINE_FINAL);
    ck_assert_uint_eq(l.n_values, 3);
    ck_assert(l.values[0] == 0.5 && l.values[1] == -12.0 && l.values[2] == 300.0);
    ck_assert(l.value == 0.5 && l.n_constraints == 0 && !l.has_step);
    ck_assert_int_eq(wk_line_parse("hpo: values=7", &l), WK_LINE_FINAL);
    ck_assert(l.n_values == 1 && l.value == 7.0);
    ck_assert_int_eq(wk_line_parse("hpo: value=0.25", &l), WK_LINE_FINAL);
    ck_assert(l.n_values == 1 && l.values[0] == 0.25);
    /* constraints alone, or with the final value(s), in either order */
    ck_assert_int_eq(wk_line_parse(" hpo: constraints=-0.5,0,1e-3 \r", &l), WK_LINE_CONSTRAINTS);
    ck_assert_uint_eq(l.n_constraints, 3);
    ck_assert(l.constraints[0] == -0.5 && l.constraints[1] == 0.0 && l.constraints[2] == 1e-3);
    ck_assert_uint_eq(l.n_values, 0);
    ck_assert_int_eq(wk_line_parse("hpo: constraints=2 values=1,2", &l), WK_LINE_FINAL);
    ck_assert(l.n_values == 2 && l.values[1] == 2.0 && l.n_constraints == 1 &&
              l.constraints[0] == 2.0);
    ck_assert_int_eq(wk_line_parse("hpo: value=1 constraints=-1", &l), WK_LINE_FINAL);
    ck_assert(l.n_values == 1 && l.n_constraints == 1 && l.constraints[0] == -1.0);
    /* the limits: 16 values, 64 constraints */
    char line[1024] = "hpo: values=";
    for (int i = 0; i < WK_VALUES_MAX; i++)
        strcat(line, i ? ",1" : "1");
    ck_assert_int_eq(wk_line_parse(line, &l), WK_LINE_FINAL);
    ck_assert_uint_eq(l.n_values, WK_VALUES_MAX);
    strcat(line, ",1");
    ck_assert_int_eq(wk_line_parse(line, &l), WK_LINE_BAD);
    strcpy(line, "hpo: constraints=");
    for (int i = 0; i < HPO_CONSTRAINTS_MAX; i++)
        strcat(line, i ? ",0" : "0");
    ck_assert_int_eq(wk_line_parse(line, &l), WK_LINE_CONSTRAINTS);
    ck_assert_uint_eq(l.n_constraints, HPO_CONSTRAINTS_MAX);
    strcat(line, ",0");
    ck_assert_int_eq(wk_line_parse(line, &l), WK_LINE_BAD);
    ck_assert_str_eq(l.why, "constraints= must be 1 to 64 finite numbers separated by commas");
    static const char *const bad[] = {
        "hpo: values=",
        "hpo: values=1,",
        "hpo: values=1,,2",
        "hpo: values=1, 2",
        "hpo: values=1,nan",
        "hpo: values=1,inf",
        "hpo: values=a,b",
        "hpo: values=1 values=2",
        "hpo: value=1 values=2",
        "hpo: constraints=",
        "hpo: constraints=0,x",
        "hpo: constraints=1e999",
        "hpo: constraints=1 constraints=2",
        "hpo: step=1 values=1,2",
        "hpo: step=1 value=1 constraints=0",
        "hpo: step=1 constraints=0",
        "hpo: constraint=0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(wk_line_parse(bad[i], &l) == WK_LINE_BAD, "'%s' is not BAD", bad[i]);
        ck_assert_ptr_nonnull(l.why);
    }
    ck_assert_int_eq(wk_line_parse("hpo: value=1 values=2", &l), WK_LINE_BAD);
    ck_assert_str_eq(l.why, "give value= or values=, not both");
    ck_assert_int_eq(wk_line_parse("hpo: step=1 value=1 constraints=0", &l), WK_LINE_BAD);
    ck_assert_str_eq(l.why, "a report (step=) takes value= only");
}
END_TEST

START_TEST(metric_regex)
{
    wk_metric_regex m;
    hpo_error err;
    wk_line l;
    /* two groups: step (optional) and value */
    ck_assert_int_eq(wk_metric_regex_compile("^epoch ([0-9]+)?.*acc=([-0-9.e]+)", &m, &err),
                     HPO_OK);
    ck_assert_int_eq(wk_metric_regex_match(&m, "epoch 7 loss=1 acc=0.93", &l), WK_LINE_REPORT);
    ck_assert(l.has_step);
    ck_assert_int_eq(l.step, 7);
    ck_assert(l.value == 0.93);
    ck_assert_int_eq(wk_metric_regex_match(&m, "epoch  acc=0.5", &l), WK_LINE_REPORT);
    ck_assert(!l.has_step);
    ck_assert(l.value == 0.5);
    ck_assert_int_eq(wk_metric_regex_match(&m, "loss=1", &l), WK_LINE_TEXT);
    ck_assert_int_eq(wk_metric_regex_match(&m, "epoch 1 acc=1e999", &l), WK_LINE_BAD);
    ck_assert_int_eq(wk_metric_regex_match(&m, "epoch 1 acc=.", &l), WK_LINE_BAD);
    wk_metric_regex_free(&m);
    /* one group: the value, steps numbered by the caller */
    ck_assert_int_eq(wk_metric_regex_compile("val_loss: ([0-9.]+)", &m, &err), HPO_OK);
    ck_assert_int_eq(wk_metric_regex_match(&m, "x val_loss: 0.25 y", &l), WK_LINE_REPORT);
    ck_assert(!l.has_step);
    ck_assert(l.value == 0.25);
    wk_metric_regex_free(&m);
    /* no group, bad syntax */
    ck_assert_int_eq(wk_metric_regex_compile("val_loss", &m, &err), HPO_E_INVALID);
    ck_assert_int_eq(wk_metric_regex_compile("(unclosed", &m, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "metric-regex");
}
END_TEST

START_TEST(gpu_lists)
{
    int g[WK_GPUS_MAX];
    size_t n = 0;
    hpo_error err;
    ck_assert_int_eq(wk_gpus_parse_list("0,1,2,3", g, WK_GPUS_MAX, &n, &err), HPO_OK);
    ck_assert_int_eq((int)n, 4);
    ck_assert_int_eq(g[3], 3);
    ck_assert_int_eq(wk_gpus_parse_list(" 7 , 2", g, WK_GPUS_MAX, &n, &err), HPO_OK);
    ck_assert_int_eq((int)n, 2);
    ck_assert_int_eq(g[0], 7);
    ck_assert_int_eq(g[1], 2);
    static const char *const bad[] = {"", ",", "0,", ",0", "0,,1", "a", "1,1", "-1", "0 1",
                                      "256", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(wk_gpus_parse_list(bad[i], g, WK_GPUS_MAX, &n, &err) == HPO_E_INVALID,
                      "'%s' accepted", bad[i]);
    ck_assert_int_eq(wk_gpus_parse_list("0,1,2", g, 2, &n, &err), HPO_E_INVALID);
}
END_TEST

START_TEST(nvidia_smi_output)
{
    const char *out =
        "GPU 0: NVIDIA H200 (UUID: GPU-1b7c0c4e-3e0b-7b0e-8a3e-5c5f1d8e9a01)\n"
        "GPU 1: NVIDIA H200 (UUID: GPU-2b7c0c4e-3e0b-7b0e-8a3e-5c5f1d8e9a02)\n"
        "  MIG 3g.71gb     Device  0: (UUID: MIG-0f1e...)\n"
        "GPU 10: Tesla V100-SXM2-16GB (UUID: GPU-3b7c)\n"
        "No devices were found\n"
        "GPU x: broken\n"
        "GPU 3 missing colon\n"
        "GPU 4: no newline at the end";
    int g[8];
    size_t n = wk_gpus_parse_smi(out, g, 8);
    ck_assert_int_eq((int)n, 4);
    ck_assert_int_eq(g[0], 0);
    ck_assert_int_eq(g[1], 1);
    ck_assert_int_eq(g[2], 10);
    ck_assert_int_eq(g[3], 4);
    ck_assert_int_eq((int)wk_gpus_parse_smi("", g, 8), 0);
    ck_assert_int_eq((int)wk_gpus_parse_smi(out, g, 2), 2);
    /* discovery never fails: with no GPU it finds none */
    int d[WK_GPUS_MAX];
    ck_assert_int_le((int)wk_gpus_discover(d, WK_GPUS_MAX), WK_GPUS_MAX);
}
END_TEST

START_TEST(slot_grouping)
{
    int g[] = {0, 1, 2, 3, 4};
    wk_slot *s = NULL;
    size_t n = 0;
    hpo_error err;
    ck_assert_int_eq(wk_slots_make(g, 4, 1, 0, &s, &n, &err), HPO_OK);
    ck_assert_int_eq((int)n, 4);
    ck_assert_str_eq(s[2].cuda, "2");
    ck_assert_int_eq((int)s[2].n_gpus, 1);
    free(s);
    ck_assert_int_eq(wk_slots_make(g, 5, 2, 0, &s, &n, &err), HPO_OK); /* GPU 4 left over */
    ck_assert_int_eq((int)n, 2);
    ck_assert_str_eq(s[0].cuda, "0,1");
    ck_assert_str_eq(s[1].cuda, "2,3");
    ck_assert_int_eq(s[1].gpus[1], 3);
    free(s);
    ck_assert_int_eq(wk_slots_make(g, 4, 1, 3, &s, &n, &err), HPO_OK); /* --parallel caps */
    ck_assert_int_eq((int)n, 3);
    free(s);
    ck_assert_int_eq(wk_slots_make(g, 0, 1, 3, &s, &n, &err), HPO_OK); /* CPU slots */
    ck_assert_int_eq((int)n, 3);
    ck_assert_str_eq(s[0].cuda, "");
    ck_assert_int_eq((int)s[0].n_gpus, 0);
    free(s);
    ck_assert_int_eq(wk_slots_make(g, 0, 1, 0, &s, &n, &err), HPO_OK);
    ck_assert_int_eq((int)n, 1);
    free(s);
    ck_assert_int_eq(wk_slots_make(g, 3, 4, 0, &s, &n, &err), HPO_E_INVALID);
    int h[] = {6, 2, 5};
    ck_assert_int_eq(wk_slots_make(h, 3, 3, 0, &s, &n, &err), HPO_OK);
    ck_assert_str_eq(s[0].cuda, "6,2,5");
    free(s);
}
END_TEST

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static const char *server_env(const char *name)
{
    return strcmp(name, "HPO_SERVER") == 0 ? "http://env:1" : NULL;
}

START_TEST(flags)
{
    wk_config c;
    bool help;
    hpo_error err;
    char *a[] = {"hpo-worker", "--server", "http://h:8080", "--study=s1", "--gpus", "0,1,2,3",
                 "--gpus-per-trial", "2", "--max-trials", "7", "--grace-ms=250",
                 "--heartbeat-s", "2", "--requeue-on-exit", "--metric-regex", "acc=([0-9.]+)",
                 "--worker-id", "w1", "--", "python", "train.py", "--lr", "{lr}", NULL};
    int an = (int)(sizeof a / sizeof *a) - 1;
    ck_assert_int_eq(wk_config_parse(an, a, no_env, &c, &help, &err), HPO_OK);
    ck_assert(!help);
    ck_assert_str_eq(c.server, "http://h:8080");
    ck_assert_str_eq(c.study, "s1");
    ck_assert_int_eq(c.gpus_mode, WK_GPUS_LIST);
    ck_assert_int_eq((int)c.n_gpus, 4);
    ck_assert_int_eq(c.gpus_per_trial, 2);
    ck_assert_int_eq((int)c.max_trials, 7);
    ck_assert_int_eq((int)c.grace_ms, 250);
    ck_assert_int_eq(c.heartbeat_s, 2);
    ck_assert(c.requeue_on_exit);
    ck_assert_str_eq(c.metric_regex, "acc=([0-9.]+)");
    ck_assert_str_eq(c.worker_id, "w1");
    ck_assert_int_eq(c.n_command, 4);
    ck_assert_str_eq(c.command[0], "python");
    ck_assert_str_eq(c.command[3], "{lr}");
    ck_assert_ptr_null(c.command[4]);

    /* defaults, and the server from the environment; flags win over it */
    char *b[] = {"hpo-worker", "--study", "s", "--", "./run.sh", NULL};
    ck_assert_int_eq(wk_config_parse(5, b, server_env, &c, &help, &err), HPO_OK);
    ck_assert_str_eq(c.server, "http://env:1");
    ck_assert_int_eq(c.gpus_mode, WK_GPUS_AUTO);
    ck_assert_int_eq((int)c.grace_ms, 5000);
    ck_assert_int_eq(c.heartbeat_s, 5);
    ck_assert_int_eq(c.gpus_per_trial, 1);
    ck_assert_int_eq(c.parallel, 0);
    ck_assert(!c.requeue_on_exit);
    char *b2[] = {"hpo-worker", "--server", "http://flag:2", "--study", "s", "--gpus", "none",
                  "--parallel", "3", "--", "x", NULL};
    ck_assert_int_eq(wk_config_parse(11, b2, server_env, &c, &help, &err), HPO_OK);
    ck_assert_str_eq(c.server, "http://flag:2");
    ck_assert_int_eq(c.gpus_mode, WK_GPUS_NONE);
    ck_assert_int_eq(c.parallel, 3);

    char *h[] = {"hpo-worker", "--help", NULL};
    ck_assert_int_eq(wk_config_parse(2, h, no_env, &c, &help, &err), HPO_OK);
    ck_assert(help);

    static const char *const bad[][8] = {
        {"hpo-worker", "--study", "s", "--", "x"},                              /* no server */
        {"hpo-worker", "--server", "u", "--", "x"},                             /* no study */
        {"hpo-worker", "--server", "u", "--study", "s"},                        /* no command */
        {"hpo-worker", "--server", "u", "--study", "s", "--"},                  /* empty command */
        {"hpo-worker", "--server", "u", "--study", "s", "x"},                   /* no -- */
        {"hpo-worker", "--server", "u", "--study", "s", "--bogus", "--", "x"},
        {"hpo-worker", "--server", "u", "--study", "s", "--parallel", "0", "x"},
        {"hpo-worker", "--server", "u", "--study", "s", "--gpus", "0,x", "--"},
        {"hpo-worker", "--server", "u", "--study", "s", "--heartbeat-s", "0", "--"},
        {"hpo-worker", "--server", "u", "--study", "s", "--grace-ms", "-1", "--"},
        {"hpo-worker", "--server", "u", "--study", "s", "--max-trials", "1x", "--"},
        {"hpo-worker", "--server", "u", "--study", "s", "--study"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int n = 0;
        while (n < 8 && bad[i][n])
            n++;
        ck_assert_msg(wk_config_parse(n, (char *const *)bad[i], no_env, &c, &help, &err) ==
                          HPO_E_INVALID, "case %zu accepted", i);
        ck_assert(err.message[0]);
    }
    char *g[] = {"hpo-worker", "--server", "u", "--study", "s", "--gpus", "0,1",
                 "--gpus-per-trial", "3", "--", "x", NULL};
    ck_assert_int_eq(wk_config_parse(11, g, no_env, &c, &help, &err), HPO_E_INVALID);
    ck_assert_str_eq(err.field, "gpus-per-trial");
}
END_TEST

/* An environment of name=value pairs for the token tests (NULL-terminated, set per case). */
static const char *const *fake_env;

static const char *table_env(const char *name)
{
    for (const char *const *e = fake_env; e && *e; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

/* Parses "--server u --study s EXTRA... -- x" with fake_env = env. */
static hpo_rc parse_with(const char *const *env, const char *const *extra, wk_config *c,
                         hpo_error *err)
{
    char *argv[32] = {"hpo-worker", "--server", "http://u:1", "--study", "s"};
    int n = 5;
    for (size_t i = 0; extra[i]; i++)
        argv[n++] = (char *)extra[i];
    argv[n++] = "--";
    argv[n++] = "x";
    argv[n] = NULL;
    bool help;
    fake_env = env;
    return wk_config_parse(n, argv, table_env, c, &help, err);
}

START_TEST(token_flags)
{
    wk_config c;
    hpo_error err;
    static const char *const none[] = {NULL};
    static const char *const env_token[] = {"HPO_TOKEN", "hpo_env", "HPO_CACERT", "/env/ca.pem",
                                            NULL};
    static const char *const env_file[] = {"HPO_TOKEN_FILE", "/env/tok", NULL};
    static const char *const env_both[] = {"HPO_TOKEN", "hpo_env", "HPO_TOKEN_FILE", "/env/tok",
                                           NULL};
    static const char *const env_empty[] = {"HPO_TOKEN", "", "HPO_TOKEN_FILE", "/env/tok", NULL};

    ck_assert_int_eq(parse_with(none, (const char *const[]){NULL}, &c, &err), HPO_OK);
    ck_assert_ptr_null(c.token);
    ck_assert_ptr_null(c.token_file);
    ck_assert_ptr_null(c.cacert);

    /* from the environment */
    ck_assert_int_eq(parse_with(env_token, (const char *const[]){NULL}, &c, &err), HPO_OK);
    ck_assert_str_eq(c.token, "hpo_env");
    ck_assert_ptr_null(c.token_file);
    ck_assert_str_eq(c.cacert, "/env/ca.pem");
    ck_assert_int_eq(parse_with(env_file, (const char *const[]){NULL}, &c, &err), HPO_OK);
    ck_assert_ptr_null(c.token);
    ck_assert_str_eq(c.token_file, "/env/tok");
    /* an empty variable counts as unset */
    ck_assert_int_eq(parse_with(env_empty, (const char *const[]){NULL}, &c, &err), HPO_OK);
    ck_assert_ptr_null(c.token);
    ck_assert_str_eq(c.token_file, "/env/tok");

    /* a flag beats the environment, either flag beats either variable */
    ck_assert_int_eq(parse_with(env_token, (const char *const[]){"--token", "hpo_flag", "--cacert",
                                                                  "/flag/ca.pem", NULL},
                                &c, &err),
                     HPO_OK);
    ck_assert_str_eq(c.token, "hpo_flag");
    ck_assert_str_eq(c.cacert, "/flag/ca.pem");
    ck_assert_int_eq(parse_with(env_token, (const char *const[]){"--token-file=/flag/tok", NULL},
                                &c, &err),
                     HPO_OK);
    ck_assert_ptr_null(c.token);
    ck_assert_str_eq(c.token_file, "/flag/tok");
    ck_assert_int_eq(parse_with(env_both, (const char *const[]){"--token", "hpo_flag", NULL}, &c,
                                &err),
                     HPO_OK);
    ck_assert_str_eq(c.token, "hpo_flag");
    ck_assert_ptr_null(c.token_file);

    /* a token and a token file together are refused, as flags or as variables */
    ck_assert_int_eq(parse_with(none, (const char *const[]){"--token", "t", "--token-file", "f",
                                                             NULL},
                                &c, &err),
                     HPO_E_INVALID);
    ck_assert(strstr(err.message, "--token and --token-file together") != NULL);
    ck_assert_int_eq(parse_with(env_both, (const char *const[]){NULL}, &c, &err), HPO_E_INVALID);
    ck_assert(strstr(err.message, "HPO_TOKEN and HPO_TOKEN_FILE") != NULL);
    ck_assert_int_eq(parse_with(none, (const char *const[]){"--token=", NULL}, &c, &err),
                     HPO_E_INVALID);
    ck_assert_int_eq(parse_with(none, (const char *const[]){"--cacert=", NULL}, &c, &err),
                     HPO_E_INVALID);
    /* the help names the flags and their variables */
    ck_assert(strstr(wk_config_usage, "--token-file FILE") != NULL);
    ck_assert(strstr(wk_config_usage, "HPO_CACERT") != NULL);
    ck_assert(strstr(wk_config_usage, "as HPO_TOKEN") != NULL);
}
END_TEST

START_TEST(log_format_flag)
{
    wk_config c;
    hpo_error err;
    static const char *const none[] = {NULL};
    static const char *const env_json[] = {"HPO_LOG_FORMAT", "json", NULL};
    static const char *const env_bad[] = {"HPO_LOG_FORMAT", "yaml", NULL};
    ck_assert_int_eq(parse_with(none, (const char *const[]){NULL}, &c, &err), HPO_OK);
    ck_assert_int_eq(c.log_format, HPO_LOG_TEXT);
    ck_assert_int_eq(parse_with(env_json, (const char *const[]){NULL}, &c, &err), HPO_OK);
    ck_assert_int_eq(c.log_format, HPO_LOG_JSON);
    ck_assert_int_eq(parse_with(none, (const char *const[]){"--log-format", "json", NULL}, &c,
                                &err),
                     HPO_OK);
    ck_assert_int_eq(c.log_format, HPO_LOG_JSON);
    /* the flag beats the environment, a bad variable too */
    ck_assert_int_eq(parse_with(env_bad, (const char *const[]){"--log-format=text", NULL}, &c,
                                &err),
                     HPO_OK);
    ck_assert_int_eq(c.log_format, HPO_LOG_TEXT);
    /* a bad value names itself and where it came from */
    ck_assert_int_eq(parse_with(none, (const char *const[]){"--log-format", "JSON ", NULL}, &c,
                                &err),
                     HPO_E_INVALID);
    ck_assert_str_eq(err.field, "log-format");
    ck_assert(strstr(err.message, "--log-format must be text or json") != NULL);
    ck_assert_int_eq(parse_with(env_bad, (const char *const[]){NULL}, &c, &err), HPO_E_INVALID);
    ck_assert(strstr(err.message, "HPO_LOG_FORMAT must be text or json: yaml") != NULL);
    ck_assert(strstr(wk_config_usage, "--log-format FORMAT") != NULL);
}
END_TEST

/* Descriptions as the server sends them in the ask answer (hpo_pruner_decides derives them from
 * its pruner; tests/unit/test_pruner.c checks them against the pruner's decisions). */
static const wk_decides NEVER = {.kind = HPO_DECIDES_NEVER, .last = -1};

static wk_decides grid(int64_t start, int64_t interval)
{
    return (wk_decides){.kind = HPO_DECIDES_GRID, .start = start, .interval = interval,
                        .last = -1};
}

static wk_decides powers(int64_t start, int64_t factor, int64_t last)
{
    return (wk_decides){.kind = HPO_DECIDES_POWERS, .start = start, .interval = factor,
                        .last = last};
}

/* Cuts the queue steps[] (values unused) into requests as the sender does, starting from
 * known_max, and returns the batch lengths as "a,b,c". */
static const char *split(const wk_decides *d, int64_t known_max, const int64_t *steps, size_t n,
                         size_t max)
{
    static char out[512];
    hpo_report q[64];
    ck_assert_uint_le(n, 64);
    for (size_t i = 0; i < n; i++)
        q[i] = (hpo_report){steps[i], 0.5};
    out[0] = '\0';
    for (size_t at = 0; at < n;) {
        size_t len = wk_batch_len(d, known_max, q + at, n - at, max);
        ck_assert_uint_ge(len, 1);
        for (size_t i = at; i < at + len; i++)
            if (q[i].step > known_max)
                known_max = q[i].step;
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%zu", at ? "," : "", len);
        at += len;
    }
    return out;
}

static size_t upto(int64_t *steps, int64_t from, int64_t to) /* steps from .. to */
{
    size_t n = 0;
    for (int64_t s = from; s <= to; s++)
        steps[n++] = s;
    return n;
}

START_TEST(batch_rule)
{
    int64_t s[64];
    size_t n = upto(s, 0, 30);
    ck_assert_uint_eq(wk_batch_len(&NEVER, -1, NULL, 0, 10), 0);
    /* no pruner: everything queued, up to the size cap */
    wk_decides d = NEVER;
    ck_assert_str_eq(split(&d, -1, s, n, WK_BATCH_MAX), "31");
    ck_assert_str_eq(split(&d, -1, s, n, 10), "10,10,10,1");
    /* every step (a patient pruner alone, "auto" rungs, an older server that sent none): every
     * report is judged, one by one */
    d = HPO_DECIDES_ANY;
    ck_assert_int_eq(d.kind, HPO_DECIDES_EVERY);
    ck_assert_str_eq(split(&d, -1, s, 4, WK_BATCH_MAX), "1,1,1,1");
    ck_assert_str_eq(split(&(wk_decides){0}, -1, s, 4, WK_BATCH_MAX), "1,1,1,1");
    /* a grid (median warmup 5, interval 10): judged at the first report at or after 5, 15, 25 */
    d = grid(5, 10);
    ck_assert_str_eq(split(&d, -1, s, n, WK_BATCH_MAX), "6,10,10,5");
    /* a missed grid step is judged at the next report: 0 | 2 4 | 7 with grid 0, 3, 6 */
    d = grid(0, 3);
    ck_assert_str_eq(split(&d, -1, (const int64_t[]){0, 2, 4, 7}, 4, WK_BATCH_MAX), "1,2,1");
    /* interval 1 judges every report */
    d = grid(0, 1);
    ck_assert_str_eq(split(&d, -1, s, 3, WK_BATCH_MAX), "1,1,1");
    /* ASHA 1/3/9 below max_resource 27: a batch ends at every rung up to the last, 9 */
    d = powers(1, 3, 9);
    ck_assert_str_eq(split(&d, -1, s, n, WK_BATCH_MAX), "2,2,6,21");
    /* a promoted trial (the server holds steps up to 3) resumes: 4..9, then 10.. */
    ck_assert_str_eq(split(&d, 3, s + 4, 10, WK_BATCH_MAX), "6,4");
    /* successive halving: rungs at min_resource * eta^(rate + k) = 8, 32 */
    d = powers(8, 4, -1);
    ck_assert_str_eq(split(&d, -1, s, n, WK_BATCH_MAX), "9,22");
    /* powers without a last one: 1, 3, 9, 27 */
    d = powers(1, 3, -1);
    ck_assert_str_eq(split(&d, -1, s, n, WK_BATCH_MAX), "2,2,6,18,3");
    /* a report jumping over rungs (3, 9) ends its batch: 1 | 2 10 */
    ck_assert_str_eq(split(&d, 1, (const int64_t[]){2, 10}, 2, WK_BATCH_MAX), "2");
    ck_assert_str_eq(split(&d, 3, (const int64_t[]){4, 10, 11}, 3, WK_BATCH_MAX), "2,1");
    /* a repeated or earlier step ends its batch (the server judges it again) */
    d = NEVER;
    ck_assert_str_eq(split(&d, -1, (const int64_t[]){3, 4, 4, 5, 6, 2, 7}, 7, WK_BATCH_MAX),
                     "3,3,1");
    ck_assert_str_eq(split(&d, 10, (const int64_t[]){5, 11, 12}, 3, WK_BATCH_MAX), "1,2");
    /* in words, for the worker's log */
    char text[96];
    ck_assert_str_eq(wk_decides_text(&(wk_decides){0}, text, sizeof text), "every step");
    ck_assert_str_eq(wk_decides_text(&NEVER, text, sizeof text), "no step");
    ck_assert_str_eq(wk_decides_text(&(wk_decides){.kind = HPO_DECIDES_GRID, .start = 5, .interval = 10}, text, sizeof text),
                     "steps 5 + 10k");
    d = powers(1, 3, 9);
    ck_assert_str_eq(wk_decides_text(&d, text, sizeof text), "steps 1 * 3^k up to 9");
    d = powers(8, 4, -1);
    ck_assert_str_eq(wk_decides_text(&d, text, sizeof text), "steps 8 * 4^k");
    /* rungs near INT64_MAX do not overflow */
    d = powers(INT64_MAX / 2, 3, -1);
    ck_assert_str_eq(split(&d, INT64_MAX / 2, (const int64_t[]){INT64_MAX - 1, INT64_MAX}, 2,
                           WK_BATCH_MAX),
                     "2");
    d = grid(0, INT64_MAX);
    ck_assert_str_eq(split(&d, 0, (const int64_t[]){1, INT64_MAX - 1, INT64_MAX}, 3,
                           WK_BATCH_MAX),
                     "3");
}
END_TEST

START_TEST(known_steps)
{
    json_t *t = json_loads("{\"number\":3,\"intermediate_values\":[{\"step\":1,\"value\":0.3},"
                           "{\"step\":3,\"value\":null},{\"step\":2,\"value\":0.1}]}", 0, NULL);
    ck_assert_int_eq(wk_reports_max_step(t), 3);
    json_decref(t);
    t = json_loads("{\"number\":3,\"intermediate_values\":[]}", 0, NULL);
    ck_assert_int_eq(wk_reports_max_step(t), -1);
    json_decref(t);
    ck_assert_int_eq(wk_reports_max_step(NULL), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("worker_unit");
    TCase *tc = tcase_create("worker_unit");
    tcase_add_test(tc, placeholders);
    tcase_add_test(tc, value_text_round_trips);
    tcase_add_test(tc, env_names);
    tcase_add_test(tc, report_lines);
    tcase_add_test(tc, values_and_constraints_lines);
    tcase_add_test(tc, metric_regex);
    tcase_add_test(tc, gpu_lists);
    tcase_add_test(tc, nvidia_smi_output);
    tcase_add_test(tc, slot_grouping);
    tcase_add_test(tc, flags);
    tcase_add_test(tc, token_flags);
    tcase_add_test(tc, log_format_flag);
    tcase_add_test(tc, batch_rule);
    tcase_add_test(tc, known_steps);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
