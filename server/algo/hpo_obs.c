/* hpo_obs: the log's three segmented arrays (rows, entries, names) and the writer's name index
 * (a hash of the interned names, private to the writer, so it may grow in place). */
#include "hpo_obs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_arena.h"
#include "hpo_hash.h"

#define SEGMENTS 32     /* directory size: segment k holds base << k items */
#define ROW_SHIFT 6     /* 64 rows (2 KiB) in segment 0 */
#define ENTRY_SHIFT 8   /* 256 entries (4 KiB) */
#define NAME_SHIFT 4    /* 16 names */
#define FIRST_BITS 40   /* entry slots addressable by a row */

struct hpo_obs {
    hpo_direction dir;
    hpo_arena *arena;     /* a temporary log's memory (hpo_obs_new_temp); NULL: malloc */
    /* published by the writer after the items they count are written */
    size_t n_rows, n_entries, n_names;
    size_t n_constrained;
    /* the segments: allocated once, never moved nor freed before the log */
    hpo_obs_row *rows[SEGMENTS];
    hpo_obs_entry *entries[SEGMENTS];
    char **names[SEGMENTS];
    /* the writer's own state, never read by readers */
    uint32_t *index;      /* open addressing: id + 1 of the names by hash, 0 empty */
    size_t index_cap;     /* a power of two, more than twice n_names */
    uint64_t *stamp;      /* per name id: the add that last saw it (repeated names in a trial) */
    uint64_t adds;
    const char **hint_names; /* names by position in a row added (interned) and their ids: a */
    uint32_t *hint_ids;      /* trial's i-th name is compared with hint_names[i] first */
    size_t n_hint, cap_hint;
    size_t bytes;
};

/* ------------------------------------------------------------------------------------------ */
/* Segmented arrays: item i lies in segment k = floor(log2(i / base + 1)), at
 * i - base * (2^k - 1). */

static unsigned floor_log2(size_t q)
{
#if defined(__GNUC__)
    return (unsigned)(sizeof(unsigned long long) * 8 - 1) - (unsigned)__builtin_clzll(q);
#else
    unsigned k = 0;
    while (q >>= 1)
        k++;
    return k;
#endif
}

static unsigned seg_of(size_t i, unsigned shift, size_t *ret_off)
{
    unsigned k = floor_log2((i >> shift) + 1);
    *ret_off = i - ((((size_t)1 << k) - 1) << shift);
    return k;
}

/* Memory: malloc's, or the arena's for a temporary log (released with the arena). */
static void *obs_alloc(hpo_obs *o, size_t n, size_t size)
{
    void *p = o->arena ? hpo_arena_alloc(o->arena, n, size) : malloc(n * size);
    if (p != NULL)
        o->bytes += n * size;
    return p;
}

/* p (old_n items of `size` bytes) grown to n items, contents kept (indeterminate items are
 * copied as they are); NULL (p intact) when out of memory. */
static void *obs_grow(hpo_obs *o, void *p, size_t old_n, size_t n, size_t size)
{
    void *q;
    if (o->arena) {
        q = hpo_arena_alloc(o->arena, n, size);
        if (q != NULL && old_n > 0)
            memcpy(q, p, old_n * size);
    } else {
        q = realloc(p, n * size);
    }
    if (q != NULL)
        o->bytes += (n - old_n) * size;
    return q;
}

static void obs_release(const hpo_obs *o, void *p)
{
    if (o->arena == NULL)
        free(p);
}

/* A segment k of items of `size` bytes (base 1 << shift); NULL when out of memory. */
static void *seg_alloc(hpo_obs *o, unsigned k, unsigned shift, size_t size)
{
    return obs_alloc(o, (size_t)1 << (shift + k), size);
}

/* ------------------------------------------------------------------------------------------ */
/* The log. */

hpo_obs *hpo_obs_new(hpo_direction dir)
{
    hpo_obs *o = calloc(1, sizeof(*o));
    if (o == NULL)
        return NULL;
    o->dir = dir;
    o->bytes = sizeof(*o);
    return o;
}

hpo_obs *hpo_obs_new_temp(hpo_direction dir, hpo_arena *a)
{
    hpo_obs *o = hpo_arena_alloc(a, 1, sizeof(*o));
    if (o == NULL)
        return NULL;
    memset(o, 0, sizeof(*o));
    o->dir = dir;
    o->arena = a;
    o->bytes = sizeof(*o);
    return o;
}

void hpo_obs_free(hpo_obs *o)
{
    if (o == NULL || o->arena != NULL)
        return;
    for (size_t i = 0; i < o->n_names; i++) {
        size_t off;
        unsigned k = seg_of(i, NAME_SHIFT, &off);
        free(o->names[k][off]);
    }
    for (unsigned k = 0; k < SEGMENTS; k++) {
        free(o->rows[k]);
        free(o->entries[k]);
        free(o->names[k]);
    }
    free(o->index);
    free(o->stamp);
    free(o->hint_names);
    free(o->hint_ids);
    free(o);
}

size_t hpo_obs_rows(const hpo_obs *o)
{
    return o->n_rows;
}

size_t hpo_obs_bytes(const hpo_obs *o)
{
    return o->bytes;
}

static const char *name_at(const hpo_obs *o, size_t id)
{
    size_t off;
    unsigned k = seg_of(id, NAME_SHIFT, &off);
    return o->names[k][off];
}

static bool name_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* Doubles the writer's index (and the stamps along). */
static hpo_rc index_grow(hpo_obs *o)
{
    size_t cap = o->index_cap ? o->index_cap * 2 : 64;
    uint64_t *stamp = obs_grow(o, o->stamp, o->index_cap / 2, cap / 2, sizeof(uint64_t));
    if (stamp == NULL)
        return HPO_E_NOMEM;
    o->stamp = stamp;
    uint32_t *index = obs_alloc(o, cap, sizeof(uint32_t));
    if (index == NULL)
        return HPO_E_NOMEM; /* the stamps grown: harmless */
    memset(index, 0, cap * sizeof(uint32_t));
    memset(stamp + o->index_cap / 2, 0, (cap - o->index_cap) / 2 * sizeof(uint64_t));
    for (size_t id = 0; id < o->n_names; id++) {
        size_t h = (size_t)hpo_hash_name(name_at(o, id)) & (cap - 1);
        while (index[h] != 0)
            h = (h + 1) & (cap - 1);
        index[h] = (uint32_t)id + 1;
    }
    obs_release(o, o->index);
    o->bytes -= o->index_cap * sizeof(uint32_t);
    o->index = index;
    o->index_cap = cap;
    return HPO_OK;
}

/* The id of name, interned when new. */
static hpo_rc intern(hpo_obs *o, const char *name, uint32_t *ret)
{
    hpo_rc rc;
    if (2 * (o->n_names + 1) > o->index_cap && (rc = index_grow(o)) != HPO_OK)
        return rc;
    size_t h = (size_t)hpo_hash_name(name) & (o->index_cap - 1);
    for (; o->index[h] != 0; h = (h + 1) & (o->index_cap - 1)) {
        if (name_eq(name_at(o, o->index[h] - 1), name)) {
            *ret = o->index[h] - 1;
            return HPO_OK;
        }
    }
    if (o->n_names >= UINT32_MAX - 1)
        return HPO_E_LIMIT;
    size_t off;
    unsigned k = seg_of(o->n_names, NAME_SHIFT, &off);
    if (k >= SEGMENTS)
        return HPO_E_LIMIT;
    if (o->names[k] == NULL && !(o->names[k] = seg_alloc(o, k, NAME_SHIFT, sizeof(char *))))
        return HPO_E_NOMEM;
    char **seg = o->names[k];
    size_t len = strlen(name) + 1;
    char *copy = obs_alloc(o, len, 1);
    if (copy == NULL)
        return HPO_E_NOMEM;
    memcpy(copy, name, len);
    seg[off] = copy;
    o->index[h] = (uint32_t)o->n_names + 1;
    *ret = (uint32_t)o->n_names;
    o->n_names++; /* the writer's: readers see names through their views */
    return HPO_OK;
}

hpo_rc hpo_obs_add(hpo_obs *o, const hpo_trial *t)
{
    double sign = o->dir == HPO_MAXIMIZE ? -1.0 : 1.0;
    double k1, k2;
    bool complete = t->state == HPO_TRIAL_COMPLETE;
    if (complete) {
        if (t->n_values == 0 || t->values == NULL)
            return HPO_OK;
        k1 = -INFINITY;
        k2 = sign * t->values[0];
    } else if (t->state == HPO_TRIAL_PRUNED) {
        const hpo_report *r = hpo_trial_last_report(t);
        if (r != NULL) {
            k1 = -(double)r->step;
            k2 = isnan(r->value) ? INFINITY : sign * r->value;
        } else {
            k1 = 1;
            k2 = 0;
        }
    } else {
        return HPO_OK;
    }
    if (t->n_params > HPO_OBS_MAX_PARAMS)
        return HPO_E_LIMIT;

    /* room for the np entries, contiguous: skip a segment's tail too short for them */
    size_t np = t->n_params, first = o->n_entries, off = 0;
    hpo_obs_entry *seg = NULL;
    if (np > 0) {
        unsigned k;
        for (;;) {
            k = seg_of(first, ENTRY_SHIFT, &off);
            if (k >= SEGMENTS)
                return HPO_E_LIMIT;
            size_t cap = (size_t)1 << (ENTRY_SHIFT + k);
            if (off + np <= cap)
                break;
            first += cap - off;
        }
        if ((uint64_t)first + np > (uint64_t)1 << FIRST_BITS)
            return HPO_E_LIMIT;
        if (o->entries[k] == NULL &&
            !(o->entries[k] = seg_alloc(o, k, ENTRY_SHIFT, sizeof(hpo_obs_entry))))
            return HPO_E_NOMEM;
        seg = o->entries[k] + off;
    } else if ((uint64_t)first >= (uint64_t)1 << FIRST_BITS) {
        return HPO_E_LIMIT;
    }
    size_t roff;
    unsigned rk = seg_of(o->n_rows, ROW_SHIFT, &roff);
    if (rk >= SEGMENTS)
        return HPO_E_LIMIT;
    if (o->rows[rk] == NULL && !(o->rows[rk] = seg_alloc(o, rk, ROW_SHIFT, sizeof(hpo_obs_row))))
        return HPO_E_NOMEM;
    hpo_obs_row *rseg = o->rows[rk];
    if (np > o->cap_hint) {
        size_t cap = o->cap_hint ? o->cap_hint : 8;
        while (cap < np)
            cap *= 2;
        const char **names = obs_grow(o, o->hint_names, o->cap_hint, cap, sizeof(char *));
        if (names == NULL)
            return HPO_E_NOMEM;
        o->hint_names = names;
        uint32_t *ids = obs_grow(o, o->hint_ids, o->cap_hint, cap, sizeof(uint32_t));
        if (ids == NULL) {
            o->n_hint = 0; /* names grown, ids not: drop the hint */
            return HPO_E_NOMEM;
        }
        o->hint_ids = ids;
        o->cap_hint = cap;
    }

    /* the entries (written beyond the published count: invisible until the row is). A name's
     * id: the hint's at the same position first (trials of a study mostly set the same params
     * in the same order), else the index */
    bool miss = false;
    for (size_t i = 0; i < np; i++) {
        const hpo_param *p = &t->params[i];
        uint32_t id;
        if (i < o->n_hint && name_eq(o->hint_names[i], p->name)) {
            id = o->hint_ids[i];
        } else {
            hpo_rc rc = intern(o, p->name, &id);
            if (rc != HPO_OK)
                return rc;
            miss = true;
        }
        uint32_t choices = 0;
        if (p->dist.type == HPO_DIST_CATEGORICAL)
            choices = p->dist.n_choices <= HPO_OBS_MAX_CHOICES ? (uint32_t)p->dist.n_choices : 0;
        seg[i] = (hpo_obs_entry){ .value = p->value, .name = id,
                                  .dist = (uint32_t)p->dist.type | choices << 2 };
    }
    /* every name from the hint: distinct, as the hint's (one row's) are. Else a name repeated within the
     * trial keeps its first entry, and the hint becomes this row's names */
    size_t n = np;
    if (miss) {
        uint64_t stamp = ++o->adds;
        n = 0;
        for (size_t i = 0; i < np; i++) {
            uint32_t id = seg[i].name;
            if (o->stamp[id] == stamp)
                continue;
            o->stamp[id] = stamp;
            seg[n++] = seg[i];
        }
        for (size_t i = 0; i < n; i++) {
            o->hint_ids[i] = seg[i].name;
            o->hint_names[i] = name_at(o, seg[i].name);
        }
        o->n_hint = n; /* one row's names: distinct */
    }

    /* publish */
    rseg[roff] = (hpo_obs_row){ .number = t->number, .k1 = k1, .k2 = k2,
                                .violation = hpo_trial_violation(t),
                                .packed = (uint64_t)first << 24 | (uint64_t)n << 1 |
                                          (complete ? 1u : 0u) };
    o->n_entries = first + n;
    o->n_constrained += t->n_constraints > 0;
    o->n_rows++;
    return HPO_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Readers. */

void hpo_obs_view_take(const hpo_obs *o, hpo_obs_view *ret)
{
    *ret = (hpo_obs_view){ .log = o, .dir = o->dir, .n_rows = o->n_rows,
                           .n_entries = o->n_entries, .n_names = o->n_names,
                           .n_constrained = o->n_constrained };
}

const hpo_obs_row *hpo_obs_view_rows(const hpo_obs_view *v, size_t i, size_t *ret_n)
{
    size_t off;
    unsigned k = seg_of(i, ROW_SHIFT, &off);
    size_t left = ((size_t)1 << (ROW_SHIFT + k)) - off;
    *ret_n = left < v->n_rows - i ? left : v->n_rows - i;
    return v->log->rows[k] + off;
}

const hpo_obs_entry *hpo_obs_view_entries(const hpo_obs_view *v, const hpo_obs_row *r,
                                          size_t *ret_n)
{
    size_t n = hpo_obs_row_params(r);
    *ret_n = n;
    if (n == 0)
        return NULL;
    size_t off;
    unsigned k = seg_of((size_t)(r->packed >> 24), ENTRY_SHIFT, &off);
    return v->log->entries[k] + off;
}

const char *hpo_obs_view_name(const hpo_obs_view *v, uint32_t id)
{
    return name_at(v->log, id);
}

int64_t hpo_obs_view_find(const hpo_obs_view *v, const char *name)
{
    for (size_t id = 0; id < v->n_names; id++)
        if (name_eq(name_at(v->log, id), name))
            return (int64_t)id;
    return -1;
}
