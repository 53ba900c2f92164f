/* hpo_clock: wall-clock and monotonic time in milliseconds (monotonic in nanoseconds too), ISO
 * 8601 formatting. */
#ifndef HPO_CLOCK_H
#define HPO_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t hpo_clock_now_ms(void);        /* milliseconds since the Unix epoch */
int64_t hpo_clock_monotonic_ms(void);
int64_t hpo_clock_monotonic_ns(void);  /* for durations under a millisecond (latency metrics) */
/* "2026-11-29T21:12:42.123Z" into buf (at least 32 bytes). ms <= 0 gives "". */
void hpo_clock_iso8601(int64_t ms, char *buf, size_t size);

#endif
