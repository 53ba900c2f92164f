/* hpo_log: one-line structured logs to stderr for programs (libraries return errors, callers log). */
#ifndef HPO_LOG_H
#define HPO_LOG_H

typedef enum { HPO_LOG_DEBUG = 0, HPO_LOG_INFO = 1, HPO_LOG_WARN = 2, HPO_LOG_ERROR = 3 } hpo_log_level;

void hpo_log_set_level(hpo_log_level level);
/* Parses "debug"/"info"/"warn"/"error"; returns -1 on unknown. */
int hpo_log_level_parse(const char *name);
void hpo_log(hpo_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One record as a JSON line: the object's members (borrowed) after "time" and "level". */
struct json_t;
void hpo_log_json(hpo_log_level level, const struct json_t *fields);

#endif
