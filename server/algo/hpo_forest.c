/* hpo_forest: the random forest regressor of Optuna's fANOVA (see hpo_forest.h).
 *
 * Every feature is sorted once per fit; a tree keeps, per feature, its bootstrap rows in that
 * order, and a split partitions each feature's range stably into the left rows then the right
 * ones, so a node's rows are sorted by every feature without sorting again: a tree costs
 * O(d * rows * depth). */
#include "hpo_forest.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "hpo_rng.h"
#include "hpo_sort.h"

/* A row's value of one feature, kept with the row so the split scan reads values in order. */
typedef struct {
    double x;
    uint32_t row;
} fx_entry;

static inline bool fx_less(const fx_entry *a, const fx_entry *b)
{
    return a->x < b->x || (a->x == b->x && a->row < b->row);
}

HPO_SORT_DEFINE(fx_sort, fx_entry, fx_less)

/* A node still to grow: rows [start, end) of every feature's order. */
typedef struct {
    uint32_t start, end;
    uint32_t parent; /* UINT32_MAX for the root */
    int depth;
    bool is_left;
} fx_pending;

typedef struct {
    size_t n, d;
    const double *y;
    double floor;        /* a node whose weighted variance is at most this is pure */
    int max_depth;
    fx_entry *sorted;    /* d * n: every row, per feature by value (then row) */
    fx_entry *ord;       /* d * n: the tree's rows with a weight, per feature in order */
    fx_entry *tmp;       /* n */
    double *w;           /* n: the row's bootstrap count */
    double *wyc;         /* n: w * (y - the node's mean), for the node's rows */
    unsigned char *left; /* n: the row goes left at the current split */
    uint32_t *perm;      /* d */
    fx_pending *stack;   /* n + 1 */
    hpo_tree_node *scratch; /* 2n */
} fx_fit;

/* The best split of rows [s, e) (m = e - s >= 2): false when every feature is constant there.
 * sc: the node's sum of w * (y - mean), wt: its weight. */
static bool best_split(fx_fit *f, uint32_t s, uint32_t e, double wt, double sc, hpo_rng *rng,
                       size_t *ret_feature, uint32_t *ret_pos)
{
    size_t d = f->d, n = f->n;
    for (size_t i = d; i > 1; i--) { /* a random feature order: ties go to the first one */
        size_t k = (size_t)hpo_rng_below(rng, i);
        uint32_t t = f->perm[i - 1];
        f->perm[i - 1] = f->perm[k];
        f->perm[k] = t;
    }
    double best = -INFINITY;
    bool found = false;
    for (size_t q = 0; q < d; q++) {
        size_t j = f->perm[q];
        const fx_entry *o = f->ord + j * n + s;
        uint32_t m = e - s;
        if (!(o[m - 1].x > o[0].x))
            continue; /* constant in this node */
        double wl = 0, sl = 0;
        for (uint32_t p = 1; p < m; p++) {
            uint32_t r = o[p - 1].row;
            wl += f->w[r];
            sl += f->wyc[r];
            if (!(o[p].x > o[p - 1].x))
                continue;
            double wr = wt - wl, sr = sc - sl;
            double proxy = sl * sl / wl + sr * sr / wr;
            if (proxy > best) {
                best = proxy;
                *ret_feature = j;
                *ret_pos = p;
                found = true;
            }
        }
    }
    return found;
}

/* Partitions rows [s, e) of every feature's order but `skip` stably: rows marked left first. */
static void partition(fx_fit *f, uint32_t s, uint32_t e, size_t skip)
{
    for (size_t j = 0; j < f->d; j++) {
        if (j == skip)
            continue;
        fx_entry *o = f->ord + j * f->n;
        uint32_t l = s, r = 0;
        for (uint32_t p = s; p < e; p++) { /* branch-free: the sides are unpredictable */
            fx_entry x = o[p];
            uint32_t go = f->left[x.row];
            o[l] = x; /* l <= p: nothing unread is overwritten */
            f->tmp[r] = x;
            l += go;
            r += 1 - go;
        }
        memcpy(o + l, f->tmp, (size_t)r * sizeof(fx_entry));
    }
}

/* Grows one tree on the rows whose weight f->w is positive; the nodes go to f->scratch. */
static size_t grow(fx_fit *f, hpo_rng *rng, size_t *ret_leaves)
{
    size_t n = f->n, d = f->d;
    uint32_t u = 0;
    for (size_t j = 0; j < d; j++) {
        const fx_entry *src = f->sorted + j * n;
        fx_entry *dst = f->ord + j * n;
        uint32_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (f->w[src[i].row] > 0)
                dst[k++] = src[i];
        u = k;
    }
    size_t n_nodes = 0, n_leaves = 0, top = 0;
    f->stack[top++] = (fx_pending){.start = 0, .end = u, .parent = UINT32_MAX, .depth = 0};
    while (top > 0) {
        fx_pending pe = f->stack[--top];
        uint32_t id = (uint32_t)n_nodes++;
        hpo_tree_node *nd = &f->scratch[id];
        if (pe.parent != UINT32_MAX) {
            if (pe.is_left)
                f->scratch[pe.parent].left = id;
            else
                f->scratch[pe.parent].right = id;
        }
        const fx_entry *o = f->ord; /* feature 0's order: the node's rows */
        double wt = 0, sy = 0;
        for (uint32_t p = pe.start; p < pe.end; p++) {
            uint32_t r = o[p].row;
            wt += f->w[r];
            sy += f->w[r] * f->y[r];
        }
        double mean = sy / wt, sc = 0, ss = 0;
        for (uint32_t p = pe.start; p < pe.end; p++) {
            uint32_t r = o[p].row;
            double c = f->y[r] - mean;
            f->wyc[r] = f->w[r] * c;
            sc += f->wyc[r];
            ss += f->wyc[r] * c;
        }
        *nd = (hpo_tree_node){.feature = -1, .value = mean};
        size_t feat = 0;
        uint32_t pos = 0;
        if (pe.depth >= f->max_depth || pe.end - pe.start < 2 || ss / wt <= f->floor ||
            !best_split(f, pe.start, pe.end, wt, sc, rng, &feat, &pos)) {
            n_leaves++;
            continue;
        }
        fx_entry *of = f->ord + feat * n + pe.start;
        double lo = of[pos - 1].x, hi = of[pos].x;
        double thr = lo / 2.0 + hi / 2.0;
        if (thr == hi || isinf(thr))
            thr = lo;
        nd->feature = (int32_t)feat;
        nd->threshold = thr;
        for (uint32_t p = 0; p < pe.end - pe.start; p++)
            f->left[of[p].row] = p < pos;
        partition(f, pe.start, pe.end, feat);
        uint32_t mid = pe.start + pos;
        /* right first: the left child is grown (and numbered) first, as sklearn does */
        f->stack[top++] = (fx_pending){.start = mid, .end = pe.end, .parent = id,
                                       .depth = pe.depth + 1, .is_left = false};
        f->stack[top++] = (fx_pending){.start = pe.start, .end = mid, .parent = id,
                                       .depth = pe.depth + 1, .is_left = true};
    }
    *ret_leaves = n_leaves;
    return n_nodes;
}

hpo_rc hpo_forest_fit(hpo_arena *a, const hpo_forest_config *c, const double *x, size_t n,
                      size_t d, const double *y, hpo_tree *ret_trees, hpo_error *err)
{
    if (c->n_trees < 1 || c->max_depth < 1)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "n_trees and max_depth must be >= 1");
    if (n == 0 || d == 0 || n > ((size_t)1 << 31) || d > ((size_t)1 << 31))
        return hpo_error_set(err, HPO_E_INVALID, NULL, "a forest needs 1 to 2^31 rows and features");
    fx_fit f = {.n = n, .d = d, .y = y, .max_depth = c->max_depth};
    f.sorted = hpo_arena_alloc(a, d * n, sizeof(fx_entry));
    f.ord = hpo_arena_alloc(a, d * n, sizeof(fx_entry));
    f.tmp = hpo_arena_alloc(a, n, sizeof(fx_entry));
    f.w = hpo_arena_alloc(a, n, sizeof(double));
    f.wyc = hpo_arena_alloc(a, n, sizeof(double));
    f.left = hpo_arena_alloc(a, n, 1);
    f.perm = hpo_arena_alloc(a, d, sizeof(uint32_t));
    f.stack = hpo_arena_alloc(a, n + 1, sizeof(fx_pending));
    f.scratch = hpo_arena_alloc(a, 2 * n, sizeof(hpo_tree_node));
    if (!f.sorted || !f.ord || !f.tmp || !f.w || !f.wyc || !f.left || !f.perm || !f.stack ||
        !f.scratch)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (size_t j = 0; j < d; j++) {
        fx_entry *s = f.sorted + j * n;
        for (size_t i = 0; i < n; i++)
            s[i] = (fx_entry){.x = x[j * n + i], .row = (uint32_t)i};
        fx_sort(s, f.ord, n); /* f.ord: scratch until the first tree */
        f.perm[j] = (uint32_t)j;
    }
    /* purity relative to y's variance (two passes: exact for constant y) */
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++)
        mean += y[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        var += (y[i] - mean) * (y[i] - mean);
    var /= (double)n;
    f.floor = DBL_EPSILON * var;

    hpo_rng rng;
    hpo_rng_seed(&rng, c->seed);
    for (int t = 0; t < c->n_trees; t++) {
        if (c->bootstrap) {
            memset(f.w, 0, n * sizeof(double));
            for (size_t i = 0; i < n; i++)
                f.w[hpo_rng_below(&rng, n)] += 1.0;
        } else {
            for (size_t i = 0; i < n; i++)
                f.w[i] = 1.0;
        }
        size_t leaves = 0;
        size_t nn = grow(&f, &rng, &leaves);
        hpo_tree_node *nodes = hpo_arena_alloc(a, nn, sizeof(hpo_tree_node));
        if (nodes == NULL)
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        memcpy(nodes, f.scratch, nn * sizeof(hpo_tree_node));
        ret_trees[t] = (hpo_tree){.n_nodes = nn, .n_leaves = leaves, .nodes = nodes};
    }
    return HPO_OK;
}

double hpo_tree_predict(const hpo_tree *t, const double *row)
{
    size_t k = 0;
    while (t->nodes[k].feature >= 0) {
        const hpo_tree_node *nd = &t->nodes[k];
        k = row[nd->feature] <= nd->threshold ? nd->left : nd->right;
    }
    return t->nodes[k].value;
}
