/* hpo_fanova: fANOVA's importances (Optuna 3.1's _Fanova and _FanovaTree) over the random forest
 * of hpo_forest.h (see hpo_importance.h for the semantics).
 *
 * Optuna evaluates a param's marginal at the midpoint of every cell between the tree's split
 * values on it (a product over a categorical's one-hot columns), each by a walk of the tree: a
 * cost of cells * nodes per tree and param. The same numbers come from the leaves directly. With
 * the space scaled to the unit cube, a leaf l (value v_l, box volume vol_l) adds
 * c_l = (v_l - mean) * vol_l / vol_S(l) to the centred marginal a_S(x) at every x inside its box
 * on the param's columns S (vol_S: the box's volume on S alone), so:
 * - numeric param (one column): a_S is piecewise constant between the sorted split values; each
 *   leaf adds c_l on its index range (a difference array), one prefix sum gives every cell:
 *   O(leaves + splits) per tree and param;
 * - categorical (one-hot columns, each split at 0.5 if at all): the leaves are merged by their
 *   box on the split columns, and E[a^2] sums c_b c_b' |b n b'| over pairs of distinct boxes.
 * The variance of a_S over the cube is the param's first-order variance in the tree. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hpo_forest.h"
#include "hpo_importance_eval.h"
#include "hpo_sort.h"

/* A split value of one column, with its node. */
typedef struct {
    double t;
    uint32_t node;
} fv_split;

static inline bool fv_split_less(const fv_split *a, const fv_split *b)
{
    return a->t < b->t || (a->t == b->t && a->node < b->node);
}

HPO_SORT_DEFINE(fv_sort_splits, fv_split, fv_split_less)

/* A leaf's box on a categorical's split columns, packed 2 bits a column, 32 columns a word. */
typedef struct {
    uint64_t key;
    uint32_t leaf;
} fv_key;

static inline bool fv_key_less(const fv_key *a, const fv_key *b)
{
    return a->key < b->key;
}

HPO_SORT_DEFINE(fv_sort_keys, fv_key, fv_key_less)

typedef struct {
    /* the columns: a numeric param has one, a categorical one per choice seen */
    size_t n_cols;
    const double *lo, *hi; /* bounds per column */
    /* the current tree */
    const hpo_tree *tree;
    uint32_t *bp_index;   /* per internal node: its threshold's index in its column's bps */
    double *bps;          /* per column: the breakpoints low, split values..., high */
    size_t *bp_off, *n_bp;
    size_t n_leaves;
    double *leaf_dv;      /* per leaf (in walk order): value - the tree's mean */
    double *leaf_vol;     /* its volume in the unit cube */
    /* walk state */
    uint32_t *cur_lo, *cur_hi; /* per column: the current box, as breakpoint indexes */
    size_t leaf_at;
    /* scratch */
    fv_split *splits, *splits_tmp;
    double *diff;
    fv_key *keys, *keys_tmp;
    uint64_t *leaf_words;
    double *box_c;
    uint32_t *box_leaf;
    size_t *active;       /* a categorical's split columns */
    double *c_leaf;
} fv_ctx;

static inline double col_frac(const fv_ctx *f, size_t j, uint32_t lo, uint32_t hi)
{
    const double *b = f->bps + f->bp_off[j];
    return (b[hi] - b[lo]) / (f->hi[j] - f->lo[j]);
}

/* The breakpoints of every column from the tree's split values, and each node's index there. */
static void breakpoints(fv_ctx *f)
{
    const hpo_tree *t = f->tree;
    size_t *cnt = f->n_bp; /* first the number of splits per column */
    for (size_t j = 0; j < f->n_cols; j++)
        cnt[j] = 0;
    for (size_t k = 0; k < t->n_nodes; k++)
        if (t->nodes[k].feature >= 0)
            cnt[t->nodes[k].feature]++;
    size_t off = 0, soff = 0;
    size_t *sstart = (size_t *)f->active; /* scratch: n_cols entries */
    for (size_t j = 0; j < f->n_cols; j++) {
        f->bp_off[j] = off;
        sstart[j] = soff;
        off += cnt[j] + 2;
        soff += cnt[j];
        cnt[j] = 0;
    }
    for (size_t k = 0; k < t->n_nodes; k++) {
        int32_t j = t->nodes[k].feature;
        if (j >= 0)
            f->splits[sstart[j] + cnt[j]++] = (fv_split){.t = t->nodes[k].threshold,
                                                         .node = (uint32_t)k};
    }
    for (size_t j = 0; j < f->n_cols; j++) {
        fv_split *s = f->splits + sstart[j];
        size_t m = cnt[j];
        fv_sort_splits(s, f->splits_tmp, m);
        double *b = f->bps + f->bp_off[j];
        size_t nb = 0;
        b[nb++] = f->lo[j];
        for (size_t i = 0; i < m; i++) {
            double v = s[i].t < f->lo[j] ? f->lo[j] : s[i].t > f->hi[j] ? f->hi[j] : s[i].t;
            if (v > b[nb - 1])
                b[nb++] = v;
            f->bp_index[s[i].node] = (uint32_t)(nb - 1);
        }
        if (f->hi[j] > b[nb - 1])
            b[nb++] = f->hi[j];
        f->n_bp[j] = nb;
    }
}

/* The leaves' values and volumes, in walk order (left child first). */
static void walk_leaves(fv_ctx *f, uint32_t k)
{
    const hpo_tree_node *nd = &f->tree->nodes[k];
    if (nd->feature < 0) {
        double vol = 1;
        for (size_t j = 0; j < f->n_cols; j++)
            vol *= col_frac(f, j, f->cur_lo[j], f->cur_hi[j]);
        f->leaf_dv[f->leaf_at] = nd->value;
        f->leaf_vol[f->leaf_at++] = vol;
        return;
    }
    size_t j = (size_t)nd->feature;
    uint32_t save = f->cur_hi[j];
    f->cur_hi[j] = f->bp_index[k];
    walk_leaves(f, nd->left);
    f->cur_hi[j] = save;
    save = f->cur_lo[j];
    f->cur_lo[j] = f->bp_index[k];
    walk_leaves(f, nd->right);
    f->cur_lo[j] = save;
}

/* Numeric param on column j: each leaf's contribution on its index range of j. */
static void walk_numeric(fv_ctx *f, uint32_t k, size_t j, uint32_t lo, uint32_t hi)
{
    const hpo_tree_node *nd = &f->tree->nodes[k];
    if (nd->feature < 0) {
        size_t l = f->leaf_at++;
        if (f->leaf_vol[l] > 0) {
            double c = f->leaf_dv[l] * f->leaf_vol[l] / col_frac(f, j, lo, hi);
            f->diff[lo] += c;
            f->diff[hi] -= c;
        }
        return;
    }
    if ((size_t)nd->feature == j) {
        walk_numeric(f, nd->left, j, lo, f->bp_index[k]);
        walk_numeric(f, nd->right, j, f->bp_index[k], hi);
    } else {
        walk_numeric(f, nd->left, j, lo, hi);
        walk_numeric(f, nd->right, j, lo, hi);
    }
}

static double numeric_variance(fv_ctx *f, size_t j)
{
    size_t nb = f->n_bp[j];
    if (nb <= 2)
        return 0; /* never split: the marginal is constant */
    memset(f->diff, 0, nb * sizeof(double));
    f->leaf_at = 0;
    walk_numeric(f, 0, j, 0, (uint32_t)(nb - 1));
    const double *b = f->bps + f->bp_off[j];
    double range = f->hi[j] - f->lo[j], a = 0, m1 = 0, m2 = 0;
    for (size_t s = 0; s + 1 < nb; s++) {
        a += f->diff[s];
        double len = (b[s + 1] - b[s]) / range;
        m1 += len * a;
        m2 += len * a * a;
    }
    double v = m2 - m1 * m1;
    return v > 0 ? v : 0;
}

/* Categorical param with columns [j0, j0 + nc): each leaf's contribution c_leaf and its box on
 * the split columns f->active[0..n_active), packed in `words` words (2 bits a column). */
static void walk_boxes(fv_ctx *f, uint32_t k, size_t j0, size_t nc, size_t n_active,
                       size_t words)
{
    const hpo_tree_node *nd = &f->tree->nodes[k];
    if (nd->feature < 0) {
        size_t l = f->leaf_at++;
        uint64_t *w = f->leaf_words + l * words;
        for (size_t i = 0; i < words; i++)
            w[i] = 0;
        double vs = 1;
        for (size_t q = 0; q < n_active; q++) {
            size_t j = f->active[q];
            vs *= col_frac(f, j, f->cur_lo[j], f->cur_hi[j]);
            /* a one-hot column's breakpoints are 0, 0.5, 1: lo in {0, 1}, hi in {1, 2} */
            uint64_t code = (uint64_t)(f->cur_lo[j] * 2 + (f->cur_hi[j] - 1));
            w[q / 32] |= code << (2 * (q % 32));
        }
        f->c_leaf[l] = f->leaf_vol[l] > 0 ? f->leaf_dv[l] * f->leaf_vol[l] / vs : 0;
        return;
    }
    size_t j = (size_t)nd->feature;
    if (j < j0 || j >= j0 + nc) {
        walk_boxes(f, nd->left, j0, nc, n_active, words);
        walk_boxes(f, nd->right, j0, nc, n_active, words);
        return;
    }
    uint32_t save = f->cur_hi[j];
    f->cur_hi[j] = f->bp_index[k];
    walk_boxes(f, nd->left, j0, nc, n_active, words);
    f->cur_hi[j] = save;
    save = f->cur_lo[j];
    f->cur_lo[j] = f->bp_index[k];
    walk_boxes(f, nd->right, j0, nc, n_active, words);
    f->cur_lo[j] = save;
}

static inline uint32_t code_of(const uint64_t *w, size_t q)
{
    return (uint32_t)((w[q / 32] >> (2 * (q % 32))) & 3u);
}

static double categorical_variance(fv_ctx *f, size_t j0, size_t nc)
{
    size_t n_active = 0;
    for (size_t j = j0; j < j0 + nc; j++) {
        if (f->n_bp[j] > 3)
            return 0; /* not a one-hot column (cannot happen: values are 0 and 1) */
        if (f->n_bp[j] == 3)
            f->active[n_active++] = j;
        f->cur_lo[j] = 0;
        f->cur_hi[j] = (uint32_t)(f->n_bp[j] - 1);
    }
    if (n_active == 0)
        return 0;
    size_t L = f->n_leaves, words = (n_active + 31) / 32;
    f->leaf_at = 0;
    walk_boxes(f, 0, j0, nc, n_active, words);
    /* sort the leaves by box: LSD passes of the stable merge sort, one word at a time */
    for (size_t l = 0; l < L; l++)
        f->keys[l].leaf = (uint32_t)l;
    for (size_t w = words; w-- > 0;) {
        for (size_t l = 0; l < L; l++)
            f->keys[l].key = f->leaf_words[f->keys[l].leaf * words + w];
        fv_sort_keys(f->keys, f->keys_tmp, L);
    }
    size_t nbox = 0;
    for (size_t i = 0; i < L; i++) {
        uint32_t l = f->keys[i].leaf;
        if (nbox > 0 && memcmp(f->leaf_words + (size_t)f->box_leaf[nbox - 1] * words,
                               f->leaf_words + (size_t)l * words, words * sizeof(uint64_t)) == 0) {
            f->box_c[nbox - 1] += f->c_leaf[l];
        } else {
            f->box_leaf[nbox] = l;
            f->box_c[nbox++] = f->c_leaf[l];
        }
    }
    /* E[a] and E[a^2] over the unit cube on the split columns */
    double m1 = 0, m2 = 0;
    for (size_t b = 0; b < nbox; b++) {
        const uint64_t *wb = f->leaf_words + (size_t)f->box_leaf[b] * words;
        double pb = 1;
        for (size_t q = 0; q < n_active; q++) {
            uint32_t code = code_of(wb, q);
            pb *= col_frac(f, f->active[q], code >> 1, (code & 1) + 1);
        }
        m1 += f->box_c[b] * pb;
        m2 += f->box_c[b] * f->box_c[b] * pb;
        for (size_t e = b + 1; e < nbox; e++) {
            const uint64_t *we = f->leaf_words + (size_t)f->box_leaf[e] * words;
            double p = 1;
            for (size_t q = 0; q < n_active && p > 0; q++) {
                uint32_t cb = code_of(wb, q), ce = code_of(we, q);
                uint32_t lo = (cb >> 1) > (ce >> 1) ? (cb >> 1) : (ce >> 1);
                uint32_t hi = (cb & 1) < (ce & 1) ? (cb & 1) + 1 : (ce & 1) + 1;
                p = lo < hi ? p * col_frac(f, f->active[q], lo, hi) : 0;
            }
            m2 += 2 * f->box_c[b] * f->box_c[e] * p;
        }
    }
    double v = m2 - m1 * m1;
    return v > 0 ? v : 0;
}

hpo_rc hpo_fanova_forest(hpo_arena *a, const hpo_tree *trees, size_t n_trees,
                         const hpo_fanova_columns *cols, double v_floor, double *ret,
                         hpo_error *err)
{
    size_t nc = cols->n_cols, np = cols->n_params;
    fv_ctx f = {.n_cols = nc, .lo = cols->lo, .hi = cols->hi};
    /* scratch for the largest tree */
    size_t max_nodes = 1, max_leaves = 1, max_cat = 1;
    for (size_t t = 0; t < n_trees; t++) {
        if (trees[t].n_nodes > max_nodes)
            max_nodes = trees[t].n_nodes;
        if (trees[t].n_leaves > max_leaves)
            max_leaves = trees[t].n_leaves;
    }
    for (size_t p = 0; p < np; p++)
        if (cols->n_param_cols[p] > max_cat)
            max_cat = cols->n_param_cols[p];
    size_t words = (max_cat + 31) / 32;
    f.bp_index = hpo_arena_alloc(a, max_nodes, sizeof(uint32_t));
    f.bps = hpo_arena_alloc(a, max_nodes + 2 * nc, sizeof(double));
    f.bp_off = hpo_arena_alloc(a, nc, sizeof(size_t));
    f.n_bp = hpo_arena_alloc(a, nc, sizeof(size_t));
    f.leaf_dv = hpo_arena_alloc(a, max_leaves, sizeof(double));
    f.leaf_vol = hpo_arena_alloc(a, max_leaves, sizeof(double));
    f.cur_lo = hpo_arena_alloc(a, nc, sizeof(uint32_t));
    f.cur_hi = hpo_arena_alloc(a, nc, sizeof(uint32_t));
    f.splits = hpo_arena_alloc(a, max_nodes, sizeof(fv_split));
    f.splits_tmp = hpo_arena_alloc(a, max_nodes, sizeof(fv_split));
    f.diff = hpo_arena_alloc(a, max_nodes + 2, sizeof(double));
    f.keys = hpo_arena_alloc(a, max_leaves, sizeof(fv_key));
    f.keys_tmp = hpo_arena_alloc(a, max_leaves, sizeof(fv_key));
    f.leaf_words = hpo_arena_alloc(a, max_leaves * words, sizeof(uint64_t));
    f.box_c = hpo_arena_alloc(a, max_leaves, sizeof(double));
    f.box_leaf = hpo_arena_alloc(a, max_leaves, sizeof(uint32_t));
    f.active = hpo_arena_alloc(a, nc, sizeof(size_t));
    f.c_leaf = hpo_arena_alloc(a, max_leaves, sizeof(double));
    if (!f.bp_index || !f.bps || !f.bp_off || !f.n_bp || !f.leaf_dv || !f.leaf_vol || !f.cur_lo ||
        !f.cur_hi || !f.splits || !f.splits_tmp || !f.diff || !f.keys || !f.keys_tmp ||
        !f.leaf_words || !f.box_c || !f.box_leaf || !f.active || !f.c_leaf)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");

    for (size_t p = 0; p < np; p++)
        ret[p] = 0;
    size_t n_varying = 0;
    for (size_t t = 0; t < n_trees; t++) {
        f.tree = &trees[t];
        f.n_leaves = trees[t].n_leaves;
        breakpoints(&f);
        for (size_t j = 0; j < nc; j++) {
            f.cur_lo[j] = 0;
            f.cur_hi[j] = (uint32_t)(f.n_bp[j] - 1);
        }
        f.leaf_at = 0;
        walk_leaves(&f, 0);
        double vsum = 0, mean = 0, var = 0;
        for (size_t l = 0; l < f.n_leaves; l++) {
            vsum += f.leaf_vol[l];
            mean += f.leaf_vol[l] * f.leaf_dv[l];
        }
        mean /= vsum;
        for (size_t l = 0; l < f.n_leaves; l++) {
            f.leaf_dv[l] -= mean;
            var += f.leaf_vol[l] * f.leaf_dv[l] * f.leaf_dv[l];
        }
        var /= vsum;
        if (!(var > v_floor))
            continue; /* Optuna leaves out the trees of zero variance */
        n_varying++;
        for (size_t p = 0; p < np; p++) {
            size_t j0 = cols->first_col[p];
            double vp = cols->one_hot[p] ? categorical_variance(&f, j0, cols->n_param_cols[p])
                                         : numeric_variance(&f, j0);
            ret[p] += vp / var;
        }
    }
    /* a share at the rounding level (a param with no first-order effect) is 0, so that noise is
     * never normalised into an importance */
    for (size_t p = 0; p < np; p++) {
        ret[p] = n_varying > 0 ? ret[p] / (double)n_varying : 0;
        if (ret[p] < 1e-12)
            ret[p] = 0;
    }
    return HPO_OK;
}

hpo_rc hpo_fanova_importance(hpo_arena *a, const hpo_importance_config *c,
                             const hpo_importance_data *data, double *ret, hpo_error *err)
{
    size_t n = data->n, np = data->n_params;
    /* the columns: numeric params raw (Optuna 3.1 leaves log params unscaled), categorical ones
     * one-hot over the choices seen (a choice never seen is a column never split: no effect) */
    size_t *first_col = hpo_arena_alloc(a, np, sizeof(size_t));
    size_t *n_param_cols = hpo_arena_alloc(a, np, sizeof(size_t));
    bool *one_hot = hpo_arena_alloc(a, np, sizeof(bool));
    size_t max_choices = 1;
    for (size_t p = 0; p < np; p++)
        if (data->dists[p]->type == HPO_DIST_CATEGORICAL && data->dists[p]->n_choices > max_choices)
            max_choices = data->dists[p]->n_choices;
    bool *seen = hpo_arena_alloc(a, max_choices, sizeof(bool));
    if (!first_col || !n_param_cols || !one_hot || !seen)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    size_t nc = 0;
    for (size_t p = 0; p < np; p++) {
        const hpo_dist *d = data->dists[p];
        first_col[p] = nc;
        one_hot[p] = d->type == HPO_DIST_CATEGORICAL;
        n_param_cols[p] = 1;
        if (one_hot[p]) {
            memset(seen, 0, d->n_choices * sizeof(bool));
            for (size_t i = 0; i < n; i++)
                seen[(size_t)data->x[p * n + i]] = true;
            n_param_cols[p] = 0;
            for (size_t k = 0; k < d->n_choices; k++)
                n_param_cols[p] += seen[k];
        }
        nc += n_param_cols[p];
    }
    double *x = hpo_arena_alloc(a, nc * n, sizeof(double));
    double *lo = hpo_arena_alloc(a, nc, sizeof(double));
    double *hi = hpo_arena_alloc(a, nc, sizeof(double));
    hpo_tree *trees = hpo_arena_alloc(a, (size_t)c->n_trees, sizeof(hpo_tree));
    if (!x || !lo || !hi || !trees)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (size_t p = 0; p < np; p++) {
        const hpo_dist *d = data->dists[p];
        const double *v = data->x + p * n;
        size_t j = first_col[p];
        if (!one_hot[p]) {
            memcpy(x + j * n, v, n * sizeof(double));
            lo[j] = d->low;
            hi[j] = d->high;
            continue;
        }
        memset(seen, 0, d->n_choices * sizeof(bool));
        for (size_t i = 0; i < n; i++)
            seen[(size_t)v[i]] = true;
        for (size_t k = 0; k < d->n_choices; k++) {
            if (!seen[k])
                continue;
            for (size_t i = 0; i < n; i++)
                x[j * n + i] = v[i] == (double)k ? 1.0 : 0.0;
            lo[j] = 0;
            hi[j] = 1;
            j++;
        }
    }

    hpo_forest_config fc = {.n_trees = c->n_trees, .max_depth = c->max_depth, .bootstrap = true,
                            .seed = c->seed};
    hpo_rc rc = hpo_forest_fit(a, &fc, x, n, nc, data->y, trees, err);
    if (rc != HPO_OK)
        return rc;

    /* a tree varies when its variance is above the rounding noise of the objective's scale */
    double ym = 0, yv = 0;
    for (size_t i = 0; i < n; i++)
        ym += data->y[i];
    ym /= (double)n;
    for (size_t i = 0; i < n; i++)
        yv += (data->y[i] - ym) * (data->y[i] - ym);
    yv /= (double)n;
    hpo_fanova_columns cols = {.n_cols = nc, .lo = lo, .hi = hi, .n_params = np,
                               .first_col = first_col, .n_param_cols = n_param_cols,
                               .one_hot = one_hot};
    return hpo_fanova_forest(a, trees, (size_t)c->n_trees, &cols, 1e-24 * yv, ret, err);
}
