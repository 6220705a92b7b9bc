/* Minimal test harness: CHECK records a failure with file:line and goes on,
 * so one run reports every wrong value; ct_test_done() returns the exit code. */
#ifndef CT_TEST_H
#define CT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int ct_test_failures = 0;
static int ct_test_checks = 0;

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        ct_test_checks++;                                                                    \
        if (!(cond)) {                                                                       \
            ct_test_failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
        }                                                                                    \
    } while (0)

/* A call returning ct_status must succeed; prints the library's message if not. */
#define CHECK_OK(expr)                                                                       \
    do {                                                                                     \
        ct_status ct_chk_s_ = (expr);                                                        \
        CHECK(ct_chk_s_ == CT_OK, "%s -> %s (%s)", #expr, ct_status_str(ct_chk_s_),          \
              ct_last_error());                                                              \
    } while (0)

/* Relative error ||a-b|| / max(||b||, tiny), in double. */
static inline double ct_rel_err_f(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        if (!isfinite(a[i])) return INFINITY;
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-30);
}

#define CT_TEST_SKIP(...)                                                                    \
    do {                                                                                     \
        printf("SKIP: ");                                                                    \
        printf(__VA_ARGS__);                                                                 \
        printf("\n");                                                                        \
        exit(77);                                                                            \
    } while (0)

static inline int ct_test_done(const char *name) {
    printf("%s: %d checks, %d failed\n", name, ct_test_checks, ct_test_failures);
    return ct_test_failures ? 1 : 0;
}

/* Deterministic xorshift RNG for test inputs (never zero-filled). */
static inline unsigned long long ct_test_rng_next(unsigned long long *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
/* uniform in [lo, hi) */
static inline float ct_test_uniform(unsigned long long *s, float lo, float hi) {
    return lo + (hi - lo) * (float)((ct_test_rng_next(s) >> 11) * (1.0 / 9007199254740992.0));
}

#endif
