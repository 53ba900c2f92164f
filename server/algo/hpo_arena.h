/* hpo_arena: a memory context with the lifespan of one call of an algorithm (one TPE sample, one
 * estimator built for a test): every allocation comes from the arena and dies with it, marks
 * release what was allocated since (per-param scratch reused across params), and the blocks of
 * a finished call are cached process-wide (up to 16 MB) so the next call does not fault its pages
 * in again. Not thread-safe per arena; the cache is shared safely. Pure: no I/O. */
#ifndef HPO_ARENA_H
#define HPO_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hpo_arena_block hpo_arena_block;

/* Zero-initialise (hpo_arena a = { 0 }) before the first allocation. */
typedef struct {
    hpo_arena_block *head;
    hpo_arena_block *spare; /* blocks released by hpo_arena_restore, reused before malloc */
    bool took_cache;        /* the process-wide cache was looked at */
} hpo_arena;

typedef struct {
    hpo_arena_block *head;
    size_t used;
} hpo_arena_mark;

/* count * size bytes, 16-byte aligned (max_align_t), valid until the arena is restored
 * below this point or freed; NULL when out of memory or the size overflows. */
void *hpo_arena_alloc(hpo_arena *a, size_t count, size_t size);
hpo_arena_mark hpo_arena_save(const hpo_arena *a);
/* Releases what was allocated after mark m (kept as spare blocks for the next allocations). */
void hpo_arena_restore(hpo_arena *a, hpo_arena_mark m);
/* Releases everything; the arena is empty and reusable afterwards. */
void hpo_arena_free(hpo_arena *a);

#endif
