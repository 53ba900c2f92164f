/* hpo_log: one-line logs to stderr, text ("<ISO 8601 UTC> <level> <message>") or JSON lines,
 * safe across threads. */
#include "hpo_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "hpo_buf.h"
#include "hpo_clock.h"

static atomic_int log_level = HPO_LOG_INFO;
static atomic_int log_format = HPO_LOG_TEXT;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void hpo_log_set_level(hpo_log_level level)
{
    atomic_store(&log_level, (int)level);
}

int hpo_log_level_parse(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void hpo_log_set_format(hpo_log_format format)
{
    atomic_store(&log_format, (int)format);
}

int hpo_log_format_parse(const char *name)
{
    if (name && strcmp(name, "text") == 0)
        return HPO_LOG_TEXT;
    if (name && strcmp(name, "json") == 0)
        return HPO_LOG_JSON;
    return -1;
}

static bool enabled(hpo_log_level level)
{
    return (int)level >= atomic_load(&log_level) && (int)level >= 0 && (int)level <= HPO_LOG_ERROR;
}

/* Writes {"time","level", fields...} as one line (JSON escapes control characters). */
static void write_json(hpo_log_level level, const json_t *fields)
{
    char ts[40];
    hpo_clock_iso8601(hpo_clock_now_ms(), ts, sizeof ts);
    json_t *line = json_pack("{s:s,s:s}", "time", ts, "level", level_names[level]);
    if (!line)
        return;
    json_object_update(line, (json_t *)fields);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text)
        fprintf(stderr, "%s\n", text); /* one fprintf: stdio locks the stream per call */
    free(text);
}

/* A message as a JSON string; bytes that are not UTF-8 become '?' (JSON text must be UTF-8). */
static json_t *message_string(char *msg)
{
    json_t *s = json_string(msg);
    if (s)
        return s;
    for (unsigned char *p = (unsigned char *)msg; *p; p++)
        if (*p >= 0x80)
            *p = '?';
    return json_string(msg);
}

void hpo_log(hpo_log_level level, const char *fmt, ...)
{
    if (!enabled(level))
        return;
    char stack[1024];
    char *msg = stack;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof stack) {
        char *heap = malloc((size_t)n + 1);
        if (heap) {
            va_start(ap, fmt);
            vsnprintf(heap, (size_t)n + 1, fmt, ap);
            va_end(ap);
            msg = heap;
        }
    }
    if (atomic_load(&log_format) == HPO_LOG_JSON) {
        json_t *fields = json_object();
        if (fields && json_object_set_new(fields, "msg", message_string(msg)) == 0)
            write_json(level, fields);
        json_decref(fields);
        if (msg != stack)
            free(msg);
        return;
    }
    /* One record per line, whatever the message holds. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    char ts[40];
    hpo_clock_iso8601(hpo_clock_now_ms(), ts, sizeof ts);
    /* A single fprintf: stdio locks the stream per call, so lines from threads do not mix. */
    fprintf(stderr, "%s %s %s\n", ts, level_names[level], msg);
    if (msg != stack)
        free(msg);
}

/* A value as text: a plain word as it is, anything else (blanks, quotes, '=', control
 * characters, an empty string) as JSON, so that a record stays one line and splits on blanks. */
static char *value_text(const json_t *v)
{
    const char *str = json_string_value(v);
    bool plain = str && *str;
    for (const char *p = str; plain && *p; p++)
        plain = (unsigned char)*p > ' ' && *p != '"' && *p != '=' && *p != '\\';
    return plain ? strdup(str) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Writes "<time> <level> <msg> key=value ..." as one line. */
static void write_text(hpo_log_level level, const json_t *fields)
{
    char ts[40];
    hpo_clock_iso8601(hpo_clock_now_ms(), ts, sizeof ts);
    hpo_buf line;
    hpo_buf_init(&line, (size_t)1 << 20);
    const char *msg = json_string_value(json_object_get(fields, "msg"));
    bool ok =
        hpo_buf_appendf(&line, "%s %s %s", ts, level_names[level], msg ? msg : "") == HPO_OK;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)fields, key, v) {
        if (strcmp(key, "msg") == 0)
            continue;
        char *text = value_text(v);
        ok = ok && text && hpo_buf_appendf(&line, " %s=%s", key, text) == HPO_OK;
        free(text);
    }
    if (ok && hpo_buf_append(&line, "\n", 1) == HPO_OK) {
        /* one record a line, whatever the message holds */
        for (size_t i = 0; i + 1 < line.len; i++)
            if (line.data[i] == '\n' || line.data[i] == '\r')
                line.data[i] = ' ';
        fwrite(line.data, 1, line.len, stderr); /* one call: stdio locks the stream per call */
    }
    hpo_buf_free(&line);
}

void hpo_log_json(hpo_log_level level, const json_t *fields)
{
    if (!enabled(level))
        return;
    if (atomic_load(&log_format) == HPO_LOG_JSON)
        write_json(level, fields);
    else
        write_text(level, fields);
}
