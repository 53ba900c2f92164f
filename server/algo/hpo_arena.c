/* hpo_arena: the per-call memory context of server/algo (see hpo_arena.h): bump allocation in
 * blocks of 64 KiB or more, marks that hand blocks back to a spare list, and a process-wide cache
 * of the blocks of the last finished call. */
#include "hpo_arena.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

struct hpo_arena_block {
    struct hpo_arena_block *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

/* Blocks of a finished call, kept for the next one (at most ARENA_CACHE_MAX bytes): a call at
 * 10,000 trials works in a few MB, and returning them to malloc makes every call fault its
 * pages in again. One list, taken whole by the first allocation of a call. */
#define ARENA_CACHE_MAX ((size_t)16 << 20)
static _Atomic(hpo_arena_block *) arena_cache;

void *hpo_arena_alloc(hpo_arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / 2 / size)
        return NULL;
    if (!a->took_cache) {
        a->took_cache = true;
        hpo_arena_block *cached = atomic_exchange(&arena_cache, NULL);
        if (cached != NULL) {
            hpo_arena_block *last = cached;
            while (last->next != NULL)
                last = last->next;
            last->next = a->spare;
            a->spare = cached;
        }
    }
    size_t bytes = count * size;
    bytes = (bytes + 15) & ~(size_t)15;
    if (bytes == 0)
        bytes = 16;
    hpo_arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < bytes) {
        hpo_arena_block **pp = &a->spare;
        while (*pp != NULL && (*pp)->cap < bytes)
            pp = &(*pp)->next;
        if (*pp != NULL) {
            b = *pp;
            *pp = b->next;
        } else {
            size_t cap = bytes > 65536 ? bytes : 65536;
            b = malloc(sizeof(*b) + cap);
            if (b == NULL)
                return NULL;
            b->cap = cap;
        }
        b->next = a->head;
        b->used = 0;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += bytes;
    return p;
}

hpo_arena_mark hpo_arena_save(const hpo_arena *a)
{
    return (hpo_arena_mark){ a->head, a->head ? a->head->used : 0 };
}

/* Releases what was allocated after mark m (kept as spare blocks): per-param work reuses it. */
void hpo_arena_restore(hpo_arena *a, hpo_arena_mark m)
{
    while (a->head != NULL && a->head != m.head) {
        hpo_arena_block *b = a->head;
        a->head = b->next;
        b->next = a->spare;
        a->spare = b;
    }
    if (a->head != NULL)
        a->head->used = m.used;
}

static void free_blocks(hpo_arena_block *b)
{
    while (b != NULL) {
        hpo_arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void hpo_arena_free(hpo_arena *a)
{
    hpo_arena_restore(a, (hpo_arena_mark){ NULL, 0 });
    /* keep the largest blocks (up to the cap) for the next call, free the rest */
    hpo_arena_block *keep = NULL, *drop = NULL;
    size_t kept = 0;
    while (a->spare != NULL) {
        hpo_arena_block *b = a->spare;
        a->spare = b->next;
        if (kept + b->cap <= ARENA_CACHE_MAX) {
            kept += b->cap;
            b->next = keep;
            keep = b;
        } else {
            b->next = drop;
            drop = b;
        }
    }
    free_blocks(drop);
    a->took_cache = false;
    if (keep != NULL)
        free_blocks(atomic_exchange(&arena_cache, keep));
}
