/* cli_format: the pure parts of the hpo command: text of values, JSON, CSV (RFC 4180), aligned
 * tables, name=value arguments, ISO-8601 times and the trials frame of export. No I/O. */
#ifndef CLI_FORMAT_H
#define CLI_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* A growing string. On out of memory it stops growing and cli_sb_take answers NULL. */
typedef struct {
    char *data;
    size_t len, cap;
    bool oom;
} cli_sb;
void cli_sb_init(cli_sb *b);
void cli_sb_putn(cli_sb *b, const char *s, size_t n);
void cli_sb_puts(cli_sb *b, const char *s);
void cli_sb_putc(cli_sb *b, char c);
void cli_sb_printf(cli_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *cli_sb_take(cli_sb *b); /* the string (malloc'd, "" when empty), or NULL after OOM */
void cli_sb_free(cli_sb *b);

/* The shortest text that reads back as v with strtod; ".0" added when it would read as an
 * integer ("3.0", "1e+300" stays). buf must hold 32 bytes. Returns buf. */
char *cli_double_text(double v, char *buf);

/* A value as text for people and CSV: null "", strings as they are, numbers (reals shortest),
 * true/false, arrays and objects as compact JSON. malloc'd; NULL on OOM. */
char *cli_value_text(const json_t *v);

/* Compact JSON text of v (any value) with shortest reals; object keys in their order. malloc'd. */
char *cli_json_text(const json_t *v);

/* Appends s as one CSV field: quoted (quotes doubled) when it holds , " CR or LF. */
void cli_csv_field(cli_sb *b, const char *s);

/* Columns of UTF-8 text as displayed (code points; a terminal's wide characters aside). */
size_t cli_display_width(const char *s);

/* An aligned table: n_rows rows of n_cols cells (row-major), headers first when not NULL.
 * Columns are left-aligned and two spaces apart; no trailing spaces; control characters show
 * as spaces; every line ends in '\n'. malloc'd; NULL on OOM. */
char *cli_table_render(size_t n_cols, const char *const *headers, size_t n_rows,
                       const char *const *cells);

/* "name=value": the value is JSON when it parses as a scalar (number, true, false, null, a
 * quoted string), else the text as a string. Returns 0, or -1 with *why set (no '=', empty
 * name). *ret_name malloc'd, *ret_value a new reference. */
int cli_parse_assignment(const char *arg, char **ret_name, json_t **ret_value, const char **why);

/* "2025-01-31T12:00:00.123Z" (fraction optional, 'Z' or +hh:mm / -hh:mm) to milliseconds
 * since the epoch. Returns 0, or -1 when s is not such a time. */
int cli_parse_iso8601(const char *s, int64_t *ret_ms);

/* The trials frame, like Optuna's trials_dataframe: columns number, state, value (or values_0,
 * values_1, ... for several objectives), when some trial gave constraints (a constrained study)
 * constraints (the list) and feasibility ("feasible" or "infeasible" for complete and pruned
 * trials, as the server judges them for best; null for the others), then datetime_start,
 * datetime_complete, duration (seconds), then params_<name> for the union of the params, sorted
 * by name. Cells are JSON values (null when missing), row-major. */
typedef struct {
    size_t n_cols, n_rows;
    char **cols;
    json_t **cells;
} cli_frame;
/* trials: a JSON array of trials as the API shows them; n_objectives: from the study (0: taken
 * from the longest "values" of the trials). Returns 0, or -1 (not an array, OOM). */
int cli_frame_from_trials(const json_t *trials, size_t n_objectives, cli_frame *ret);
void cli_frame_free(cli_frame *f);
json_t *cli_frame_json(const cli_frame *f); /* array of objects, keys in column order */
char *cli_frame_csv(const cli_frame *f);    /* header line, then a line per row; '\n' ends lines */
char *cli_frame_table(const cli_frame *f);  /* cli_table_render with the columns as headers */

#endif
