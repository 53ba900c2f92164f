/* hpo_log: one-line logs to stderr ("<ISO 8601 UTC> <level> <message>"), safe across threads. */
#include "hpo_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "hpo_clock.h"

static atomic_int log_level = HPO_LOG_INFO;

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

void hpo_log(hpo_log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&log_level) || (int)level < 0 || (int)level > HPO_LOG_ERROR)
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

void hpo_log_json(hpo_log_level level, const json_t *fields)
{
    if ((int)level < atomic_load(&log_level) || (int)level < 0 || (int)level > HPO_LOG_ERROR)
        return;
    char ts[40];
    hpo_clock_iso8601(hpo_clock_now_ms(), ts, sizeof ts);
    json_t *line = json_pack("{s:s,s:s}", "time", ts, "level", level_names[level]);
    if (!line)
        return;
    json_object_update(line, (json_t *)fields);
    /* JSON escapes control characters, so a record stays on one line */
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text)
        fprintf(stderr, "%s\n", text);
    free(text);
}
