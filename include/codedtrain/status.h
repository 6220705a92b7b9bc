/* codedtrain: one result enum for the whole library, and a thread-local
 * last-error message with file:line context. The library never exits; only
 * the CLI turns a status into an exit code. */
#ifndef CODEDTRAIN_STATUS_H
#define CODEDTRAIN_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_status {
    CT_OK = 0,
    CT_ERR_INVALID_ARG,   /* bad parameter, flag or spec (user input) */
    CT_ERR_IO,            /* a file could not be opened, read or written */
    CT_ERR_FORMAT,        /* a file's contents are malformed */
    CT_ERR_NOMEM,         /* host or device allocation failed */
    CT_ERR_NO_DEVICE,     /* requested backend has no usable device */
    CT_ERR_CUDA,          /* a CUDA runtime call failed */
    CT_ERR_CUBLAS,        /* a cuBLAS call failed */
    CT_ERR_NCCL,
    CT_ERR_MPI,
    CT_ERR_NOT_DECODABLE, /* the arrived set does not allow decoding */
    CT_ERR_TIMEOUT,       /* a deadline passed (e.g. a dead worker) */
    CT_ERR_NUMERIC,       /* NaN/Inf where finite values were required */
    CT_ERR_UNSUPPORTED,   /* feature not built or not implemented on this backend */
    CT_ERR_INTERNAL,      /* a bug: an invariant did not hold */
    CT_ERR_WRITE,         /* writing an output failed during the run (a runtime failure, not bad input) */
    CT_STATUS_COUNT
} ct_status;

/* Short fixed name of a status, e.g. "invalid argument". */
const char *ct_status_str(ct_status s);

/* The message recorded by the last failing call on this thread, or "" if none: the
 * input and the problem in words. With CODEDTRAIN_DEBUG=1 in the environment it starts
 * with the source location that recorded it ("file.c:123: reason"). */
const char *ct_last_error(void);

/* Record an error message (printf-style) and return `s`. */
ct_status ct_error_set(ct_status s, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Clear the last-error message. */
void ct_error_clear(void);

/* CLI exit code for a status: 0 ok, 2 bad input (invalid arg, format, missing
 * input file), 1 everything else (runtime failure). */
int ct_status_exit_code(ct_status s);

/* Record an error with file:line and return its status. */
#define CT_FAIL(st, ...) ct_error_set((st), __FILE__, __LINE__, __VA_ARGS__)

/* Propagate a failing status unchanged (the callee already recorded why). */
#define CT_TRY(expr)                                                           \
    do {                                                                       \
        ct_status ct_try_s_ = (expr);                                          \
        if (ct_try_s_ != CT_OK) return ct_try_s_;                              \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
