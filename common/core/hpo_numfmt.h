/* hpo_numfmt: numbers as JSON text, fast: a double in a short decimal form that reads back as
 * the same double (strtod), and a 64-bit integer. For encoders that write millions of numbers
 * (the plot data of a large study), where printf and a strtod check cost most of the time. And
 * the one reader of a list of numbers as the tools take them ("0.5,-1,2e-3"). */
#ifndef HPO_NUMFMT_H
#define HPO_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

#define HPO_NUMFMT_MAX 32 /* room for any output, the terminating NUL included */

/* Writes a finite v as JSON number text and returns its length (0, nothing written, for NaN and
 * the infinities). The digits are those of Grisu2 (Loitsch, PLDI 2010): always within v's
 * rounding interval, so strtod gives v back; the shortest such digits in nearly every case
 * (otherwise one digit more). Plain notation for 1e-5 <= |v| < 1e17, exponent form otherwise
 * (1e-7, 1.25e+20); integral values without a fraction ("3", not "3.0"). */
size_t hpo_numfmt_double(double v, char out[HPO_NUMFMT_MAX]);

/* Writes v in decimal; returns its length. */
size_t hpo_numfmt_int(int64_t v, char out[HPO_NUMFMT_MAX]);

/* Reads "V1,V2,...", the n bytes at s (no NUL needed): 1 to max finite numbers as strtod reads
 * them, separated by single commas, with nothing else (no blanks, no empty item) and each under
 * 128 characters. Returns how many were stored in ret, or 0 when the text is not such a list
 * (ret may then be partly written). What `hpo tell --values/--constraints` and hpo-worker's
 * "hpo: values=... constraints=..." lines take. */
size_t hpo_numfmt_parse_list(const char *s, size_t n, double *ret, size_t max);

#endif
