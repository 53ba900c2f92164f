/* fuzz: what the fuzz targets share: the libFuzzer entry point and FUZZ_CHECK, which aborts with
 * the broken invariant, so libFuzzer saves the input and the corpus replay test fails on it. */
#ifndef HPO_FUZZ_H
#define HPO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) \
    ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))

static inline _Noreturn void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}

#endif
