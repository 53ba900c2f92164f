/* main.c: hpo-example-c, a study driven from C with libhpoclient only — create (or load) a study,
 * then ask, suggest (float, int, categorical), report a few steps (stopping on prune) and finish,
 * until the server says the study is complete. The objective is a toy function to minimize.
 *
 *   hpo-example-c [--server URL] [--study NAME] [--trials N] [--steps S]
 *   (defaults: $HPO_SERVER or http://127.0.0.1:8080, c-example, 20 trials, 5 steps)
 *   The token comes from $HPO_TOKEN or the file $HPO_TOKEN_FILE (an admin one: it creates the
 *   study), the CA file of an https server from $HPO_CACERT.
 *
 * Exit status: 0 when the study is complete, 1 on an error, 2 on bad arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hpo_client.h"

/* The toy objective: its minimum, 0, is at x = 2, layers = 3, activation "relu". */
static double toy(double x, int64_t layers, const char *activation)
{
    double d = (double)(layers - 3);
    return (x - 2.0) * (x - 2.0) + 0.5 * d * d + (strcmp(activation, "relu") == 0 ? 0.0 : 1.0);
}

/* A "training curve" that comes down to the final value. */
static double curve(double final, int step)
{
    return final + 4.0 / (double)(step + 1);
}

static void sleep_s(int s)
{
    struct timespec ts = {.tv_sec = s > 0 ? s : 1, .tv_nsec = 0};
    nanosleep(&ts, NULL);
}

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--server URL] [--study NAME] [--trials N] [--steps S]\n", argv0);
    return 2;
}

static int fail(const char *what, hpo_rc rc, const hpo_error *err)
{
    fprintf(stderr, "hpo-example-c: %s: %s: %s\n", what, hpo_rc_name(rc), err->message);
    return 1;
}

int main(int argc, char **argv)
{
    const char *server = getenv("HPO_SERVER");
    const char *study = "c-example";
    long trials = 20, steps = 5;
    if (!server || !*server)
        server = "http://127.0.0.1:8080";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            return usage(argv[0]);
        if (strcmp(a, "--server") == 0)
            server = argv[++i];
        else if (strcmp(a, "--study") == 0)
            study = argv[++i];
        else if (strcmp(a, "--trials") == 0)
            trials = strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--steps") == 0)
            steps = strtol(argv[++i], NULL, 10);
        else
            return usage(argv[0]);
    }
    if (trials < 1 || steps < 1)
        return usage(argv[0]);

    hpo_error err;
    hpo_client *c = NULL;
    const char *token = getenv("HPO_TOKEN"), *token_file = getenv("HPO_TOKEN_FILE");
    const char *cacert = getenv("HPO_CACERT");
    char *file_token = NULL;
    if (token && *token && token_file && *token_file) {
        fprintf(stderr, "hpo-example-c: HPO_TOKEN and HPO_TOKEN_FILE are both set: set one\n");
        return 2;
    }
    if (token_file && *token_file &&
        hpo_client_token_read_file(token_file, &file_token, &err) != HPO_OK) {
        fprintf(stderr, "hpo-example-c: %s\n", err.message);
        return 2;
    }
    hpo_client_options opts = {.server = server, .worker = "hpo-example-c",
                               .token = file_token ? file_token : token && *token ? token : NULL,
                               .ca_file = cacert && *cacert ? cacert : NULL};
    hpo_rc rc = hpo_client_new(&opts, &c, &err);
    free(file_token); /* the client keeps its own copy */
    if (rc != HPO_OK)
        return fail("client", rc, &err);

    /* Define-by-run: no declared search space, the params come from suggest. */
    json_t *config = json_pack("{s:s, s:s, s:{s:s, s:i}, s:{s:s, s:i, s:i}, s:i}",
                               "name", study, "direction", "minimize",
                               "sampler", "type", "tpe", "seed", 1,
                               "pruner", "type", "median", "n_startup_trials", 3,
                               "n_warmup_steps", 1,
                               "max_trials", (json_int_t)trials);
    json_t *choices = json_pack("[sss]", "relu", "tanh", "sigmoid");
    int status = 1;
    if (!config || !choices) {
        fprintf(stderr, "hpo-example-c: out of memory\n");
        goto out;
    }
    rc = hpo_client_study_create(c, config, true, NULL, &err);
    if (rc != HPO_OK) {
        status = fail("create study", rc, &err);
        goto out;
    }

    int n_complete = 0, n_pruned = 0;
    for (;;) {
        hpo_client_trial *t = NULL;
        int retry_after = 1;
        rc = hpo_client_ask(c, study, NULL, &t, &retry_after, &err);
        if (rc == HPO_E_COMPLETE)
            break;
        if (rc == HPO_E_NO_WORK) { /* other workers' trials still run */
            sleep_s(retry_after);
            continue;
        }
        if (rc != HPO_OK) {
            status = fail("ask", rc, &err);
            goto out;
        }
        double x;
        int64_t layers;
        json_t *act = NULL;
        if ((rc = hpo_client_suggest_float(c, study, t->number, "x", -10, 10, 0, false, &x,
                                           &err)) != HPO_OK ||
            (rc = hpo_client_suggest_int(c, study, t->number, "layers", 1, 8, 1, false, &layers,
                                         &err)) != HPO_OK ||
            (rc = hpo_client_suggest_categorical(c, study, t->number, "activation", choices,
                                                 &act, &err)) != HPO_OK) {
            hpo_finish_args fa = {.state = HPO_TRIAL_FAIL, .reason = err.message};
            hpo_error err2;
            hpo_client_finish(c, study, t->number, &fa, &err2);
            hpo_client_trial_free(t);
            status = fail("suggest", rc, &err);
            goto out;
        }
        const char *activation = json_is_string(act) ? json_string_value(act) : "?";
        double value = toy(x, layers, activation), last = 0;
        bool pruned = false;
        for (int s = 0; s < steps; s++) {
            hpo_action action = HPO_ACTION_CONTINUE;
            last = curve(value, s);
            rc = hpo_client_report(c, study, t->number, s, last, &action, &err);
            if (rc != HPO_OK) {
                json_decref(act);
                hpo_client_trial_free(t);
                status = fail("report", rc, &err);
                goto out;
            }
            if (action == HPO_ACTION_PRUNE) {
                pruned = true;
                break;
            }
        }
        hpo_finish_args fa = {.state = pruned ? HPO_TRIAL_PRUNED : HPO_TRIAL_COMPLETE,
                              .values = pruned ? &last : &value, .n_values = 1};
        rc = hpo_client_finish(c, study, t->number, &fa, &err);
        if (rc != HPO_OK) {
            json_decref(act);
            hpo_client_trial_free(t);
            status = fail("finish", rc, &err);
            goto out;
        }
        printf("trial %3lld  x=%8.4f layers=%lld activation=%-7s  %s %.6g\n",
               (long long)t->number, x, (long long)layers, activation,
               pruned ? "pruned  " : "complete", pruned ? last : value);
        if (pruned)
            n_pruned++;
        else
            n_complete++;
        json_decref(act);
        hpo_client_trial_free(t);
    }

    json_t *best = NULL;
    rc = hpo_client_best(c, study, &best, &err);
    if (rc != HPO_OK) {
        status = fail("best", rc, &err);
        goto out;
    }
    char *params = json_dumps(json_object_get(best, "params"), JSON_COMPACT | JSON_SORT_KEYS);
    printf("study %s complete: %d complete, %d pruned by this process; best trial %lld: value "
           "%.6g params %s\n",
           study, n_complete, n_pruned, (long long)json_integer_value(json_object_get(best, "number")),
           json_number_value(json_object_get(best, "value")), params ? params : "?");
    free(params);
    json_decref(best);
    status = 0;
out:
    json_decref(choices);
    json_decref(config);
    hpo_client_free(c);
    return status;
}
