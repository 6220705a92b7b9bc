/* CUDA straggler injection: a one-block, one-thread kernel that holds the
 * worker's stream until the GPU's global timer has advanced by the requested
 * delay (measured from when the kernel starts, i.e. when the stream reaches
 * it), or until the host sets the cancel flag in mapped host memory. */
#include "kernels/cuda/cuda_internal.h"

#define CT_THROTTLE_MAX_MS 1e12 /* ~30 years: "until cancelled"; 1e18 ns fits in 64 bits */

__device__ __forceinline__ unsigned long long global_timer_ns(void) {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

__global__ void __launch_bounds__(1) throttle_kernel(unsigned long long ns, const volatile int *cancel) {
    const unsigned long long start = global_timer_ns();
    while (global_timer_ns() - start < ns) {
        if (cancel && *cancel) return; /* volatile: re-read over the bus each time */
        __nanosleep(1000);            /* ~1 us between polls: < 0.1% of a 1 ms delay */
    }
}

ct_status ct_cuda_probe_kernel_image(int device) {
    cudaFuncAttributes attr;
    cudaError_t e = cudaFuncGetAttributes(&attr, throttle_kernel);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        int major = 0, minor = 0;
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
        (void)cudaGetLastError();
        return CT_FAIL(CT_ERR_NO_DEVICE,
                       "GPU %d (sm_%d%d) cannot run this build's kernels: %s; rebuild with "
                       "-DCMAKE_CUDA_ARCHITECTURES=%d%d",
                       device, major, minor, cudaGetErrorString(e), major, minor);
    }
    return CT_OK;
}

extern "C" ct_status ct_cuda_throttle(ct_backend *be, double ms, volatile int *cancel) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!(ms > 0)) return CT_OK; /* also NaN */
    if (ms > CT_THROTTLE_MAX_MS) ms = CT_THROTTLE_MAX_MS;
    CT_CUDA_ENTER(b);
    int *dev_cancel = NULL;
    if (cancel)
        CT_CUDA_CHECK(cudaHostGetDevicePointer((void **)&dev_cancel, (void *)cancel, 0),
                      "throttle: the cancel flag must come from this backend's flag_alloc");
    throttle_kernel<<<1, 1, 0, b->stream>>>((unsigned long long)(ms * 1e6), dev_cancel);
    CT_CUDA_CHECK_LAUNCH("throttle_kernel");
    return CT_OK;
}
