/* wk_slots: finding the GPUs and cutting them into per-trial slots. */
#include "wk_slots.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_index(const char **pp, int *ret)
{
    const char *p = *pp;
    if (*p < '0' || *p > '9')
        return false;
    int v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v >= WK_GPUS_MAX)
            return false;
        p++;
    }
    *pp = p;
    *ret = v;
    return true;
}

hpo_rc wk_gpus_parse_list(const char *s, int *ret, size_t max, size_t *ret_n, hpo_error *err)
{
    size_t n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        int v;
        if (!parse_index(&p, &v))
            return hpo_error_set(err, HPO_E_INVALID, "gpus",
                                 "--gpus: expected auto, none or GPU indices like 0,1,2 (< %d): %s",
                                 WK_GPUS_MAX, s);
        for (size_t i = 0; i < n; i++)
            if (ret[i] == v)
                return hpo_error_set(err, HPO_E_INVALID, "gpus", "--gpus: GPU %d listed twice", v);
        if (n == max)
            return hpo_error_set(err, HPO_E_INVALID, "gpus", "--gpus: more than %zu GPUs", max);
        ret[n++] = v;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (*p != ',')
            return hpo_error_set(err, HPO_E_INVALID, "gpus",
                                 "--gpus: expected auto, none or GPU indices like 0,1,2: %s", s);
        p++;
    }
    *ret_n = n;
    return HPO_OK;
}

size_t wk_gpus_parse_smi(const char *text, int *ret, size_t max)
{
    size_t n = 0;
    for (const char *line = text; line && *line && n < max;) {
        const char *p = line;
        int v;
        if (strncmp(p, "GPU ", 4) == 0) {
            p += 4;
            if (parse_index(&p, &v) && *p == ':')
                ret[n++] = v;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return n;
}

static size_t discover_smi(int *ret, size_t max)
{
    FILE *f = popen("nvidia-smi -L 2>/dev/null", "r");
    if (!f)
        return 0;
    char text[16384];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    int status = pclose(f);
    if (status != 0)
        return 0;
    return wk_gpus_parse_smi(text, ret, max);
}

static size_t discover_proc(int *ret, size_t max)
{
    DIR *d = opendir("/proc/driver/nvidia/gpus");
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max)
        if (e->d_name[0] != '.') {
            ret[n] = (int)n;
            n++;
        }
    closedir(d);
    return n;
}

size_t wk_gpus_discover(int *ret, size_t max)
{
    size_t n = discover_smi(ret, max);
    return n ? n : discover_proc(ret, max);
}

hpo_rc wk_slots_make(const int *gpus, size_t n_gpus, int per_trial, int parallel, wk_slot **ret,
                     size_t *ret_n, hpo_error *err)
{
    size_t n;
    if (n_gpus == 0) {
        n = parallel > 0 ? (size_t)parallel : 1;
    } else {
        if (per_trial < 1 || (size_t)per_trial > n_gpus)
            return hpo_error_set(err, HPO_E_INVALID, "gpus-per-trial",
                                 "--gpus-per-trial %d: there are %zu GPUs", per_trial, n_gpus);
        n = n_gpus / (size_t)per_trial;
        if (parallel > 0 && (size_t)parallel < n)
            n = (size_t)parallel;
    }
    wk_slot *slots = calloc(n, sizeof *slots);
    if (!slots)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (size_t i = 0; n_gpus && i < n; i++) {
        size_t len = 0;
        for (size_t k = 0; k < (size_t)per_trial; k++) {
            int g = gpus[i * (size_t)per_trial + k];
            slots[i].gpus[slots[i].n_gpus++] = g;
            len += (size_t)snprintf(slots[i].cuda + len, sizeof slots[i].cuda - len, "%s%d",
                                    k ? "," : "", g);
        }
    }
    *ret = slots;
    *ret_n = n;
    return HPO_OK;
}
