/* Block-level reduction helpers shared by the kernels (device code only). */
#ifndef CODEDTRAIN_KERNELS_CUDA_REDUCE_CUH
#define CODEDTRAIN_KERNELS_CUDA_REDUCE_CUH

#include <type_traits>

#include "kernels/cuda/cuda_internal.h"

struct ct_op_sum {
    __device__ static double identity() { return 0.0; }
    __device__ static double apply(double a, double b) { return a + b; }
};
/* fmax returns the other operand when one is NaN: NaN is ignored, as in the
 * CPU reference's `a > m ? a : m` */
struct ct_op_max {
    __device__ static double identity() { return 0.0; } /* used on |x| only */
    __device__ static double apply(double a, double b) { return fmax(a, b); }
};

template <class Op>
__device__ __forceinline__ double ct_warp_reduce(double v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v = Op::apply(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

/* Reduce over the block (blockDim.x a multiple of 32, at most 1024); the
 * result is valid in thread 0. Fixed tree: deterministic. */
template <class Op>
__device__ __forceinline__ double ct_block_reduce(double v) {
    __shared__ double warp_vals[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = ct_warp_reduce<Op>(v);
    __syncthreads(); /* warp_vals may still be read by a previous call */
    if (lane == 0) warp_vals[warp] = v;
    __syncthreads();
    v = threadIdx.x < nwarps ? warp_vals[threadIdx.x] : Op::identity();
    if (warp == 0) v = ct_warp_reduce<Op>(v);
    return v;
}

/* Last-block completion: thread 0 of each block stores its partial, then the
 * block that finishes last (sees the counter reach gridDim.x - 1) returns true
 * in every thread and may read all partials (with __ldcg: past the
 * non-coherent L1). It must reset the counter. */
__device__ __forceinline__ bool ct_store_partial_is_last(ct_cuda_scratch *s, double block_value) {
    __shared__ bool is_last;
    if (threadIdx.x == 0) {
        s->partials[blockIdx.x] = block_value;
        __threadfence(); /* the partial is visible before the counter moves */
        const unsigned ticket = atomicAdd(&s->blocks_done, 1u);
        is_last = ticket == gridDim.x - 1;
    }
    __syncthreads();
    return is_last;
}

template <class Op>
__device__ __forceinline__ double ct_sum_partials(ct_cuda_scratch *s) {
    __threadfence();
    double v = Op::identity();
    for (unsigned i = threadIdx.x; i < gridDim.x; i += blockDim.x) v = Op::apply(v, __ldcg(&s->partials[i]));
    return ct_block_reduce<Op>(v);
}

#endif
