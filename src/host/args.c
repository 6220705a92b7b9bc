/* Strict numeric flag parsing: reject empty strings, trailing garbage,
 * out-of-range values and non-finite numbers, naming the flag. */
#include "host/args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

ct_status ct_arg_value(int argc, char **argv, int *i, const char **out) {
    if (*i + 1 >= argc)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: missing value", argv[*i]);
    *i += 1;
    *out = argv[*i];
    return CT_OK;
}

ct_status ct_arg_int(const char *flag, const char *s, long lo, long hi, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': expected an integer", flag, s);
    if (v < lo || v > hi)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s %ld: must be between %ld and %ld", flag, v, lo, hi);
    *out = (int)v;
    return CT_OK;
}

ct_status ct_arg_u64(const char *flag, const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    if (*s == '-') return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': expected a non-negative integer", flag, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': expected a non-negative integer", flag, s);
    *out = (uint64_t)v;
    return CT_OK;
}

ct_status ct_arg_double(const char *flag, const char *s, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': expected a number", flag, s);
    if (v < lo || v > hi)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s %g: must be between %g and %g", flag, v, lo, hi);
    *out = v;
    return CT_OK;
}

ct_status ct_arg_fraction(const char *flag, const char *s, double *out) {
    double v = 0;
    CT_TRY(ct_arg_double(flag, s, -1e300, 1e300, &v));
    if (!(v > 0.0 && v <= 1.0)) return CT_FAIL(CT_ERR_INVALID_ARG, "%s %g: must be in (0, 1]", flag, v);
    *out = v;
    return CT_OK;
}
