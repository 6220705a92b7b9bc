/* Command-line value parsing: strict conversions with one clear message that
 * names the flag, the value and what was expected (CT_ERR_INVALID_ARG). */
#ifndef CODEDTRAIN_ARGS_H
#define CODEDTRAIN_ARGS_H

#include <stdint.h>

#include "codedtrain/status.h"

/* Fetch the value of flag argv[*i] (advancing *i); fails when it is missing. */
ct_status ct_arg_value(int argc, char **argv, int *i, const char **out);
ct_status ct_arg_int(const char *flag, const char *s, long lo, long hi, int *out);
ct_status ct_arg_u64(const char *flag, const char *s, uint64_t *out);
/* a finite double in [lo, hi] */
ct_status ct_arg_double(const char *flag, const char *s, double lo, double hi, double *out);
/* A fraction in (0, 1] (e.g. --alpha): 0 is refused, not taken as "unset". */
ct_status ct_arg_fraction(const char *flag, const char *s, double *out);

#endif
