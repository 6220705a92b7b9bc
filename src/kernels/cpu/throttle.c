/* CPU straggler injection: the worker thread waits on its cancel flag (a futex
 * on the flag's own word) until the delay has passed or flag_raise wakes it, so
 * a cancelled worker is idle within the kernel's wake-up latency. A flag set by a
 * plain store (no wake) is still noticed within one slice. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kernels/cpu/cpu_internal.h"

#define CT_THROTTLE_SLICE_NS 1000000LL /* 1 ms: the latency of a cancel by plain store */
#define CT_THROTTLE_MAX_MS 1e12        /* ~30 years: "until cancelled" */

static long long monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int flag_read(volatile int *flag) { return __atomic_load_n((int *)flag, __ATOMIC_ACQUIRE); }

ct_status ct_cpu_flag_raise(ct_backend *be, volatile int *flag) {
    (void)be;
    if (!flag) return CT_FAIL(CT_ERR_INVALID_ARG, "cpu flag_raise: flag is NULL");
    __atomic_store_n((int *)flag, 1, __ATOMIC_RELEASE);
    if (syscall(SYS_futex, (int *)flag, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0) < 0)
        return CT_FAIL(CT_ERR_INTERNAL, "cpu flag_raise: futex wake failed (errno %d)", errno);
    return CT_OK;
}

ct_status ct_cpu_throttle(ct_backend *be, double ms, volatile int *cancel) {
    (void)be;
    if (!(ms > 0)) return CT_OK; /* also NaN */
    if (ms > CT_THROTTLE_MAX_MS) ms = CT_THROTTLE_MAX_MS;
    const long long deadline = monotonic_ns() + (long long)(ms * 1e6);
    for (;;) {
        if (cancel && flag_read(cancel)) return CT_OK;
        const long long left = deadline - monotonic_ns();
        if (left <= 0) return CT_OK;
        const long long slice = left < CT_THROTTLE_SLICE_NS ? left : CT_THROTTLE_SLICE_NS;
        struct timespec ts = {(time_t)(slice / 1000000000LL), (long)(slice % 1000000000LL)};
        if (cancel) {
            /* sleeps only while the flag is still 0: a raise between the read and
             * the wait makes the wait return at once (EAGAIN) */
            if (syscall(SYS_futex, (int *)cancel, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0) != 0 && errno != EAGAIN &&
                errno != EINTR && errno != ETIMEDOUT)
                return CT_FAIL(CT_ERR_INTERNAL, "throttle: futex wait failed (errno %d)", errno);
        } else if (nanosleep(&ts, NULL) != 0 && errno != EINTR) {
            return CT_FAIL(CT_ERR_INTERNAL, "throttle: nanosleep failed (errno %d)", errno);
        }
    }
}
