/* Thread-local last-error store behind ct_status. */
#include "codedtrain/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char ct_err_msg[1024];

const char *ct_status_str(ct_status s) {
    switch (s) {
    case CT_OK: return "ok";
    case CT_ERR_INVALID_ARG: return "invalid argument";
    case CT_ERR_IO: return "i/o error";
    case CT_ERR_FORMAT: return "malformed input";
    case CT_ERR_NOMEM: return "out of memory";
    case CT_ERR_NO_DEVICE: return "no usable device";
    case CT_ERR_CUDA: return "CUDA error";
    case CT_ERR_CUBLAS: return "cuBLAS error";
    case CT_ERR_NCCL: return "NCCL error";
    case CT_ERR_MPI: return "MPI error";
    case CT_ERR_NOT_DECODABLE: return "not decodable";
    case CT_ERR_TIMEOUT: return "workers did not answer in time";
    case CT_ERR_NUMERIC: return "non-finite values";
    case CT_ERR_UNSUPPORTED: return "unsupported";
    case CT_ERR_INTERNAL: return "internal error";
    case CT_ERR_WRITE: return "write failed";
    default: return "unknown status";
    }
}

const char *ct_last_error(void) { return ct_err_msg; }

void ct_error_clear(void) { ct_err_msg[0] = '\0'; }

/* CODEDTRAIN_DEBUG=1: messages start with the source location that recorded them */
static int debug_locations(void) {
    const char *d = getenv("CODEDTRAIN_DEBUG");
    return d && *d && strcmp(d, "0") != 0;
}

ct_status ct_error_set(ct_status s, const char *file, int line, const char *fmt, ...) {
    int off = 0;
    if (debug_locations()) {
        const char *base = strrchr(file, '/');
        base = base ? base + 1 : file;
        off = snprintf(ct_err_msg, sizeof ct_err_msg, "%s:%d: ", base, line);
        if (off < 0 || (size_t)off >= sizeof ct_err_msg) off = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ct_err_msg + off, sizeof ct_err_msg - (size_t)off, fmt, ap);
    va_end(ap);
    return s;
}

int ct_status_exit_code(ct_status s) {
    switch (s) {
    case CT_OK: return 0;
    case CT_ERR_INVALID_ARG:
    case CT_ERR_FORMAT:
    case CT_ERR_IO: return 2;
    default: return 1;
    }
}
