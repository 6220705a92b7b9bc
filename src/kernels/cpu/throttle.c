/* CPU straggler injection: sleep in the calling worker thread, in short slices
 * so that a cancel flag set by the master cuts the delay short promptly. */
#include <errno.h>
#include <time.h>

#include "kernels/cpu/cpu_internal.h"

#define CT_THROTTLE_SLICE_NS 1000000LL /* 1 ms: the latency of a cancel */
#define CT_THROTTLE_MAX_MS 1e12        /* ~30 years: "until cancelled" */

static long long monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

ct_status ct_cpu_throttle(ct_backend *be, double ms, volatile int *cancel) {
    if (!(ms > 0)) return CT_OK; /* also NaN */
    if (ms > CT_THROTTLE_MAX_MS) ms = CT_THROTTLE_MAX_MS;
    const long long deadline = monotonic_ns() + (long long)(ms * 1e6);
    for (;;) {
        if (cancel && *cancel) return CT_OK;
        const long long left = deadline - monotonic_ns();
        if (left <= 0) return CT_OK;
        const long long slice = left < CT_THROTTLE_SLICE_NS ? left : CT_THROTTLE_SLICE_NS;
        struct timespec ts = {(time_t)(slice / 1000000000LL), (long)(slice % 1000000000LL)};
        if (nanosleep(&ts, NULL) != 0 && errno != EINTR)
            return CT_FAIL(CT_ERR_INTERNAL, "throttle: nanosleep failed (errno %d)", errno);
    }
}
