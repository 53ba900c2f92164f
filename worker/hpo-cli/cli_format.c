/* cli_format: strings, value text, compact JSON with shortest reals, CSV fields and aligned
 * tables for the hpo command. Pure: no I/O. */
#include "cli_format.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_sb_init(cli_sb *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

static bool sb_reserve(cli_sb *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void cli_sb_putn(cli_sb *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cli_sb_puts(cli_sb *b, const char *s)
{
    cli_sb_putn(b, s, strlen(s));
}

void cli_sb_putc(cli_sb *b, char c)
{
    cli_sb_putn(b, &c, 1);
}

void cli_sb_printf(cli_sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *cli_sb_take(cli_sb *b)
{
    if (b->oom) {
        cli_sb_free(b);
        return NULL;
    }
    char *s = b->data ? b->data : strdup("");
    cli_sb_init(b);
    return s;
}

void cli_sb_free(cli_sb *b)
{
    free(b->data);
    cli_sb_init(b);
}

char *cli_double_text(double v, char *buf)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eEni")) /* reads as an integer: keep it a real */
        strcat(buf, ".0");
    return buf;
}

static void put_json_string(cli_sb *b, const char *s, size_t n)
{
    cli_sb_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': cli_sb_puts(b, "\\\""); break;
        case '\\': cli_sb_puts(b, "\\\\"); break;
        case '\b': cli_sb_puts(b, "\\b"); break;
        case '\f': cli_sb_puts(b, "\\f"); break;
        case '\n': cli_sb_puts(b, "\\n"); break;
        case '\r': cli_sb_puts(b, "\\r"); break;
        case '\t': cli_sb_puts(b, "\\t"); break;
        default:
            if (c < 0x20)
                cli_sb_printf(b, "\\u%04x", c);
            else
                cli_sb_putc(b, (char)c);
        }
    }
    cli_sb_putc(b, '"');
}

static void put_json(cli_sb *b, const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        cli_sb_putc(b, '{');
        const char *k;
        json_t *x;
        bool first = true;
        json_object_foreach((json_t *)v, k, x) {
            if (!first)
                cli_sb_putc(b, ',');
            first = false;
            put_json_string(b, k, strlen(k));
            cli_sb_putc(b, ':');
            put_json(b, x);
        }
        cli_sb_putc(b, '}');
        break;
    }
    case JSON_ARRAY:
        cli_sb_putc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                cli_sb_putc(b, ',');
            put_json(b, json_array_get(v, i));
        }
        cli_sb_putc(b, ']');
        break;
    case JSON_STRING:
        put_json_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        cli_sb_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        cli_sb_puts(b, cli_double_text(json_real_value(v), num));
        break;
    case JSON_TRUE: cli_sb_puts(b, "true"); break;
    case JSON_FALSE: cli_sb_puts(b, "false"); break;
    case JSON_NULL: cli_sb_puts(b, "null"); break;
    }
}

char *cli_json_text(const json_t *v)
{
    cli_sb b;
    cli_sb_init(&b);
    if (v)
        put_json(&b, v);
    else
        cli_sb_puts(&b, "null");
    return cli_sb_take(&b);
}

char *cli_value_text(const json_t *v)
{
    if (!v || json_is_null(v))
        return strdup("");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return cli_json_text(v);
}

void cli_csv_field(cli_sb *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        cli_sb_puts(b, s);
        return;
    }
    cli_sb_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            cli_sb_putc(b, '"');
        cli_sb_putc(b, *p);
    }
    cli_sb_putc(b, '"');
}

size_t cli_display_width(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) /* not a continuation byte */
            n++;
    return n;
}

static void put_cell(cli_sb *b, const char *s)
{
    for (const char *p = s; *p; p++)
        cli_sb_putc(b, (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
}

char *cli_table_render(size_t n_cols, const char *const *headers, size_t n_rows,
                       const char *const *cells)
{
    if (n_cols == 0)
        return strdup("");
    size_t *w = calloc(n_cols, sizeof *w);
    if (!w)
        return NULL;
    for (size_t c = 0; c < n_cols; c++) {
        if (headers)
            w[c] = cli_display_width(headers[c]);
        for (size_t r = 0; r < n_rows; r++) {
            size_t x = cli_display_width(cells[r * n_cols + c] ? cells[r * n_cols + c] : "");
            if (x > w[c])
                w[c] = x;
        }
    }
    cli_sb b;
    cli_sb_init(&b);
    for (size_t r = headers ? 0 : 1; r <= n_rows; r++) {
        const char *const *row = r == 0 ? headers : cells + (r - 1) * n_cols;
        /* the last non-empty cell ends the line: no trailing spaces */
        size_t last = n_cols;
        while (last > 0 && (!row[last - 1] || !row[last - 1][0]))
            last--;
        for (size_t c = 0; c < last; c++) {
            const char *s = row[c] ? row[c] : "";
            put_cell(&b, s);
            if (c + 1 < last)
                for (size_t k = cli_display_width(s); k < w[c] + 2; k++)
                    cli_sb_putc(&b, ' ');
        }
        cli_sb_putc(&b, '\n');
    }
    free(w);
    return cli_sb_take(&b);
}
