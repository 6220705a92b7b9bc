/* Monotonic wall clock in seconds. */
#ifndef CODEDTRAIN_CLOCK_H
#define CODEDTRAIN_CLOCK_H

#include <time.h>

static inline double ct_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
