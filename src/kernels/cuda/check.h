/* Checking macros for the CUDA backend: every CUDA runtime and cuBLAS call goes
 * through one of these, so a failure returns a ct_status whose message names
 * the call, the file:line, the CUDA error and a hint of what was being done. */
#ifndef CODEDTRAIN_KERNELS_CUDA_CHECK_H
#define CODEDTRAIN_KERNELS_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "codedtrain/status.h"

#define CT_CUDA_CHECK(call, hint)                                                                  \
    do {                                                                                           \
        cudaError_t ct_cuda_e_ = (call);                                                           \
        if (ct_cuda_e_ != cudaSuccess)                                                             \
            return ct_error_set(CT_ERR_CUDA, __FILE__, __LINE__, "%s: %s failed: %s (%s)", (hint), \
                                #call, cudaGetErrorString(ct_cuda_e_), cudaGetErrorName(ct_cuda_e_)); \
    } while (0)

#define CT_CUBLAS_CHECK(call, hint)                                                                \
    do {                                                                                           \
        cublasStatus_t ct_cublas_s_ = (call);                                                      \
        if (ct_cublas_s_ != CUBLAS_STATUS_SUCCESS)                                                 \
            return ct_error_set(CT_ERR_CUBLAS, __FILE__, __LINE__, "%s: %s failed: %s", (hint),     \
                                #call, cublasGetStatusString(ct_cublas_s_));                       \
    } while (0)

/* After every <<<...>>>: a bad launch configuration (or a kernel image missing
 * for this GPU) surfaces here, not at some later, unrelated call. */
#define CT_CUDA_CHECK_LAUNCH(kernel_name)                                                          \
    CT_CUDA_CHECK(cudaGetLastError(), "launching kernel " kernel_name)

#endif
