/* fuzz_lines: the worker's reading of a command's output: "hpo: step=S value=V" lines (and
 * values=, constraints=) and --metric-regex matches. Input: a first byte choosing one of a few typical --metric-regex
 * patterns (or none), then the output, cut into lines at '\n' as wk_linebuf hands them over. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "wk_lines.h"

/* Patterns as users write them: value only, step and value, an optional step, a greedy group
 * that may catch text. The pattern is the operator's flag; the lines are what is fuzzed. */
static const char *const patterns[] = {
    "loss=([0-9.eE+-]+)",
    "step ([0-9]+).*acc[a-z]*[:=] *([^ ]+)",
    "^epoch ([0-9]+)/[0-9]+ .*val_loss: ([-+0-9.eEinfa]+)",
    "([0-9]+)? *metric=(.*)$",
    "([^ ]*)$",
    "^\\[([0-9]*)\\] *([^,]*),",
};
#define N_PATTERNS (sizeof patterns / sizeof patterns[0])

static wk_metric_regex compiled[N_PATTERNS];
static bool ready;

static void compile_all(void)
{
    for (size_t i = 0; i < N_PATTERNS; i++) {
        hpo_error err = {0};
        FUZZ_CHECK(wk_metric_regex_compile(patterns[i], &compiled[i], &err) == HPO_OK);
    }
    ready = true;
}

static bool same_line(const wk_line *a, const wk_line *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == WK_LINE_BAD)
        return strcmp(a->why, b->why) == 0;
    if (a->kind == WK_LINE_TEXT)
        return true;
    if (a->n_values != b->n_values || a->n_constraints != b->n_constraints ||
        memcmp(a->values, b->values, a->n_values * sizeof *a->values) != 0 ||
        memcmp(a->constraints, b->constraints, a->n_constraints * sizeof *a->constraints) != 0)
        return false;
    return a->has_step == b->has_step && (!a->has_step || a->step == b->step) &&
           (a->kind == WK_LINE_CONSTRAINTS || a->value == b->value);
}

static bool all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

static void check_parsed(const wk_line *l, wk_line_kind k)
{
    FUZZ_CHECK(l->kind == k);
    switch (k) {
    case WK_LINE_TEXT:
        break;
    case WK_LINE_BAD:
        FUZZ_CHECK(l->why != NULL && l->why[0] != '\0');
        break;
    case WK_LINE_FINAL:
        FUZZ_CHECK(!l->has_step);
        FUZZ_CHECK(l->n_values >= 1 && l->n_values <= WK_VALUES_MAX);
        FUZZ_CHECK(all_finite(l->values, l->n_values) && l->value == l->values[0]);
        FUZZ_CHECK(l->n_constraints <= HPO_CONSTRAINTS_MAX);
        FUZZ_CHECK(all_finite(l->constraints, l->n_constraints));
        break;
    case WK_LINE_CONSTRAINTS:
        FUZZ_CHECK(!l->has_step && l->n_values == 0);
        FUZZ_CHECK(l->n_constraints >= 1 && l->n_constraints <= HPO_CONSTRAINTS_MAX);
        FUZZ_CHECK(all_finite(l->constraints, l->n_constraints));
        break;
    case WK_LINE_REPORT:
        FUZZ_CHECK(!l->has_step || l->step >= 0);
        FUZZ_CHECK(isfinite(l->value));
        FUZZ_CHECK(l->n_values == 0 && l->n_constraints == 0);
        break;
    default:
        FUZZ_CHECK(!"unknown kind");
    }
}

static void check_line(const char *line, const wk_metric_regex *re)
{
    wk_line l;
    wk_line_kind k = wk_line_parse(line, &l);
    check_parsed(&l, k);
    FUZZ_CHECK(k != WK_LINE_REPORT || l.has_step);

    /* blanks before and a '\r' after change nothing */
    size_t n = strlen(line);
    char *framed = malloc(n + 4);
    FUZZ_CHECK(framed != NULL);
    memcpy(framed, " \t", 2);
    memcpy(framed + 2, line, n);
    memcpy(framed + 2 + n, "\r", 2);
    wk_line l2;
    wk_line_parse(framed, &l2);
    FUZZ_CHECK(same_line(&l, &l2));
    free(framed);

    /* what was read, written as the docs say, reads back the same */
    if (k == WK_LINE_REPORT || k == WK_LINE_FINAL || k == WK_LINE_CONSTRAINTS) {
        char again[(WK_VALUES_MAX + HPO_CONSTRAINTS_MAX) * 26 + 64];
        int n = 0;
        if (k == WK_LINE_REPORT)
            n = snprintf(again, sizeof again, "hpo: step=%lld value=%.17g", (long long)l.step,
                         l.value);
        else
            n = snprintf(again, sizeof again, "hpo:");
        for (size_t i = 0; i < l.n_values; i++)
            n += snprintf(again + n, sizeof again - (size_t)n, "%s%.17g", i ? "," : " values=",
                          l.values[i]);
        for (size_t i = 0; i < l.n_constraints; i++)
            n += snprintf(again + n, sizeof again - (size_t)n, "%s%.17g",
                          i ? "," : " constraints=", l.constraints[i]);
        wk_line_parse(again, &l2);
        FUZZ_CHECK(same_line(&l, &l2));
    }

    if (k == WK_LINE_TEXT && re) {
        k = wk_metric_regex_match(re, line, &l);
        FUZZ_CHECK(k == WK_LINE_TEXT || k == WK_LINE_REPORT || k == WK_LINE_BAD);
        check_parsed(&l, k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        compile_all();
    if (size == 0)
        return 0;
    const wk_metric_regex *re = data[0] < N_PATTERNS ? &compiled[data[0]] : NULL;
    /* lines are NUL-terminated by wk_linebuf: a NUL byte in the output ends the line early */
    char *text = malloc(size);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    for (char *p = text, *nl; p < text + size - 1; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(text + size - 1 - p));
        if (!nl)
            nl = text + size - 1;
        *nl = '\0';
        check_line(p, re);
    }
    free(text);
    return 0;
}
