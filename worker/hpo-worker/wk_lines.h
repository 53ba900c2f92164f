/* wk_lines: what a line of a command's output means: a report ("hpo: step=3 value=0.87"), the
 * final value ("hpo: value=0.96"), a --metric-regex match, or plain log text. Pure. */
#ifndef WK_LINES_H
#define WK_LINES_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "hpo_error.h"

typedef enum {
    WK_LINE_TEXT = 0,   /* plain output: only logged */
    WK_LINE_REPORT = 1, /* an intermediate value (step, value) */
    WK_LINE_FINAL = 2,  /* the final value */
    WK_LINE_BAD = 3,    /* looks like an hpo line but is not one (why says what is wrong) */
} wk_line_kind;

typedef struct {
    wk_line_kind kind;
    bool has_step;  /* REPORT from --metric-regex without a step group: false (the caller counts) */
    int64_t step;
    double value;
    const char *why; /* BAD: a static message */
} wk_line;

/* Parses one line (without its newline; a trailing '\r' is ignored). The hpo lines are
 * "hpo:" (after optional blanks) followed by blank-separated key=value tokens: step=S (a decimal
 * integer >= 0) and value=V (any strtod number). With both it is a report, with value alone the
 * final value. A value that is NaN or infinite, a missing value, an unknown key or a malformed
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
