/* hpo_hash: FNV-1a over a string: the one hash of names (params, studies) in hash tables and
 * random streams. Not for anything an adversary chooses to collide on purpose. */
#ifndef HPO_HASH_H
#define HPO_HASH_H

#include <stdint.h>

static inline uint64_t hpo_hash_name(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

#endif
