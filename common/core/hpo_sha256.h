/* hpo_sha256: SHA-256 (FIPS 180-4), incremental, for artifact checksums. Plain value type. */
#ifndef HPO_SHA256_H
#define HPO_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t length;   /* bytes so far */
    uint8_t block[64];
    size_t used;       /* bytes in block */
} hpo_sha256;

void hpo_sha256_init(hpo_sha256 *s);
void hpo_sha256_update(hpo_sha256 *s, const void *data, size_t n);
/* Writes the digest as 64 lowercase hex digits and a NUL into hex (65 bytes). */
void hpo_sha256_final_hex(hpo_sha256 *s, char hex[65]);

#endif
