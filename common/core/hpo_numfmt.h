/* hpo_numfmt: numbers as JSON text, fast: a double in a short decimal form that reads back as
 * the same double (strtod), and a 64-bit integer. For encoders that write millions of numbers
 * (the plot data of a large study), where printf and a strtod check cost most of the time. */
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

#endif
