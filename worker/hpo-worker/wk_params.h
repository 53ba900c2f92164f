/* wk_params: how a trial's params reach the command: {name} placeholders in its arguments,
 * HPO_PARAM_<NAME> environment names and the text of each value. Pure (jansson only). */
#ifndef WK_PARAMS_H
#define WK_PARAMS_H

#include <jansson.h>

/* The text a command sees for a param value: strings as they are, integers in decimal, reals in
 * the shortest form that reads back to the same double, true/false, "null"; arrays and objects
 * as compact JSON. Returns an owned string (free), NULL when out of memory. v is borrowed. */
char *wk_param_format(const json_t *v);

/* "HPO_PARAM_" + name upper-cased, every byte that is not an ASCII letter or digit turned into
 * '_' ("lr-max" -> "HPO_PARAM_LR_MAX"). Owned string, NULL when out of memory. */
char *wk_param_env_name(const char *name);

/* arg with every "{name}" whose name is a key of params (an object, borrowed) replaced by the
 * formatted value. Braces around anything else ("{}", "{x" or an unknown name) stay as they are,
 * so shell or awk code in an argument survives. Owned string, NULL when out of memory. */
char *wk_substitute(const char *arg, const json_t *params);

#endif
