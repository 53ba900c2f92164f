/* wk_lines: what a line of a command's output means: a report ("hpo: step=3 value=0.87"), the
 * final value(s) ("hpo: value=0.96", "hpo: values=0.96,12.5"), the constraints ("hpo:
 * constraints=-0.5,0"), a --metric-regex match, or plain log text. Pure. */
#ifndef WK_LINES_H
#define WK_LINES_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "hpo_error.h"
#include "hpo_model.h"

typedef enum {
    WK_LINE_TEXT = 0,        /* plain output: only logged */
    WK_LINE_REPORT = 1,      /* an intermediate value (step, value) */
    WK_LINE_FINAL = 2,       /* the final value(s), maybe with constraints */
    WK_LINE_BAD = 3,         /* looks like an hpo line but is not one (why says what is wrong) */
    WK_LINE_CONSTRAINTS = 4, /* constraints alone */
} wk_line_kind;

/* The most values= takes: the objectives a study may have (the server's limit). */
#define WK_VALUES_MAX 16

typedef struct {
    wk_line_kind kind;
    bool has_step;  /* REPORT from --metric-regex without a step group: false (the caller counts) */
    int64_t step;
    double value;   /* REPORT; FINAL: values[0] */
    size_t n_values; /* FINAL: 1 to WK_VALUES_MAX */
    double values[WK_VALUES_MAX];
    size_t n_constraints; /* FINAL (0: none on the line) or CONSTRAINTS: 1 to HPO_CONSTRAINTS_MAX */
    double constraints[HPO_CONSTRAINTS_MAX];
    const char *why; /* BAD: a static message */
} wk_line;

/* Parses one line (without its newline; a trailing '\r' is ignored). The hpo lines are
 * "hpo:" (after optional blanks) followed by blank-separated key=value tokens, each key once:
 *   step=S value=V        a report (S a decimal integer >= 0, V any strtod number);
 *   value=V               the final value, or values=V1,V2,... (one per objective; not both);
 *   constraints=C1,C2,... the trial's constraints (feasible when all are <= 0), alone or with
 *                         the final value(s), not with step=.
 * Lists are hpo_numfmt_parse_list's: finite numbers separated by single commas, no blanks. A
 * number that is NaN or infinite, a missing value, an unknown key, a key twice or a malformed
 * number make the line BAD: it is logged and otherwise ignored (the server refuses non-finite
 * values; a command whose final value is NaN therefore ends with no final value: FAIL). */
wk_line_kind wk_line_parse(const char *line, wk_line *ret);

/* --metric-regex: a POSIX extended regex. With two or more capture groups, group 1 is the step
 * (it may be optional, "(...)?": when it did not take part the caller numbers the reports 0, 1,
 * 2, ... after the last step seen) and group 2 the value; with one group, that group is the value
 * and steps are numbered. A line matching it is a report; a matched value that is not a finite
 * number makes the line BAD. */
typedef struct {
    regex_t re;
    int step_group;  /* 0: none */
    int value_group;
} wk_metric_regex;

hpo_rc wk_metric_regex_compile(const char *pattern, wk_metric_regex *ret, hpo_error *err);
void wk_metric_regex_free(wk_metric_regex *m);
/* REPORT or BAD when the line matches, TEXT otherwise. */
wk_line_kind wk_metric_regex_match(const wk_metric_regex *m, const char *line, wk_line *ret);

#endif
