/* hpo_log: one-line logs to stderr for programs (libraries return errors, callers log): text
 * ("<ISO 8601 UTC> <level> <message>") or JSON lines ({"time","level","msg",...}). */
#ifndef HPO_LOG_H
#define HPO_LOG_H

typedef enum { HPO_LOG_DEBUG = 0, HPO_LOG_INFO = 1, HPO_LOG_WARN = 2, HPO_LOG_ERROR = 3 } hpo_log_level;

typedef enum { HPO_LOG_TEXT = 0, HPO_LOG_JSON = 1 } hpo_log_format;

void hpo_log_set_level(hpo_log_level level);
/* Parses "debug"/"info"/"warn"/"error"; returns -1 on unknown. */
int hpo_log_level_parse(const char *name);
/* Text (the default) or JSON: every record one JSON object on a line of its own. */
void hpo_log_set_format(hpo_log_format format);
/* Parses "text"/"json"; returns -1 on unknown. */
int hpo_log_format_parse(const char *name);
/* A message; as JSON {"time","level","msg"}, in text with line breaks turned into spaces. */
void hpo_log(hpo_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A record with fields (borrowed; "msg" among them, by convention): as JSON, the object's members
 * after "time" and "level"; in text, "<time> <level> <msg> key=value ..." with a value that is
 * not a plain word (blanks, quotes, '=', control characters) written as JSON. */
struct json_t;
void hpo_log_json(hpo_log_level level, const struct json_t *fields);

#endif
