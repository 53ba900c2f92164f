/* hpo_sort: sorting and searching sorted arrays for server/algo. HPO_SORT_DEFINE(name, type,
 * less) defines `static void name(type *v, type *tmp, size_t n)`, the one stable merge sort of
 * the folder (insertion-sorted runs of 16, then bottom-up merges through tmp, n items of
 * scratch), for an element type and a `bool less(const type *, const type *)`; it is a template,
 * as PostgreSQL's sort_template.h is, so that each instance compares and moves its type inline
 * (the estimator sorts observations on every sampling call). hpo_sort_search is numpy's
 * searchsorted over ascending doubles. Pure: no I/O, no allocation. */
#ifndef HPO_SORT_H
#define HPO_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define HPO_SORT_DEFINE(name, type, less)                                                          \
    static void name(type *v, type *tmp, size_t n)                                                 \
    {                                                                                              \
        const size_t run = 16;                                                                     \
        for (size_t s = 0; s < n; s += run) {                                                      \
            size_t e = s + run < n ? s + run : n;                                                  \
            for (size_t i = s + 1; i < e; i++) {                                                   \
                type x = v[i];                                                                     \
                size_t j = i;                                                                      \
                while (j > s && less(&x, &v[j - 1])) {                                             \
                    v[j] = v[j - 1];                                                               \
                    j--;                                                                           \
                }                                                                                  \
                v[j] = x;                                                                          \
            }                                                                                      \
        }                                                                                          \
        type *src = v, *dst = tmp;                                                                 \
        for (size_t width = run; width < n; width *= 2) {                                          \
            for (size_t lo = 0; lo < n; lo += 2 * width) {                                         \
                size_t mid = lo + width < n ? lo + width : n;                                      \
                size_t hi = lo + 2 * width < n ? lo + 2 * width : n;                               \
                size_t i = lo, j = mid, k = lo;                                                    \
                while (i < mid && j < hi)                                                          \
                    dst[k++] = less(&src[j], &src[i]) ? src[j++] : src[i++];                       \
                while (i < mid)                                                                    \
                    dst[k++] = src[i++];                                                           \
                while (j < hi)                                                                     \
                    dst[k++] = src[j++];                                                           \
            }                                                                                      \
            type *t_ = src;                                                                        \
            src = dst;                                                                             \
            dst = t_;                                                                              \
        }                                                                                          \
        if (src != v)                                                                              \
            memcpy(v, src, n * sizeof(*v));                                                        \
    }

/* The first index i in a[0..n) (ascending) with a[i] >= v, or with a[i] > v when upper (numpy's
 * searchsorted, side left or right); n when there is none. */
static inline size_t hpo_sort_search(const double *a, size_t n, double v, bool upper)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (upper ? a[mid] <= v : a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

#endif
