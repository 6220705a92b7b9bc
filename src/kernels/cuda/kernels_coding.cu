/* CUDA coding kernels: coded combination Y = beta Y + E G over pointer arrays,
 * 1-bit sign packing (stochastic and error-feedback quantizers), and
 * unpack-accumulate decoding. All memory-bound: each input is read once and
 * each output written once, with 16-byte accesses where the pointers allow. */
#include <string.h>

#include "kernels/cuda/reduce.cuh"

/* ---------------- combine ---------------- */

/* Everything a combine launch needs travels in the kernel's parameter block
 * (constant bank): the pointers and E are read by every thread, so they cost
 * no global memory traffic and no extra copy on the stream. */
template <int MAXM, int MAXD>
struct combine_params {
    const float *G[MAXD];
    float *Y[MAXM];
    float E[MAXM * MAXD]; /* m x d, row-major, compact (stride d) */
    size_t P;
    int m, d;
    float beta;
};

template <int VEC>
struct vec_of;
template <>
struct vec_of<1> {
    typedef float type;
};
template <>
struct vec_of<4> {
    typedef float4 type;
};

__device__ __forceinline__ float ct_zero_like(float) { return 0.0f; }
__device__ __forceinline__ float4 ct_zero_like(float4) { return make_float4(0.0f, 0.0f, 0.0f, 0.0f); }
__device__ __forceinline__ float ct_fma_v(float a, float x, float acc) { return fmaf(a, x, acc); }
__device__ __forceinline__ float4 ct_fma_v(float a, float4 x, float4 acc) {
    return make_float4(fmaf(a, x.x, acc.x), fmaf(a, x.y, acc.y), fmaf(a, x.z, acc.z), fmaf(a, x.w, acc.w));
}
/* read-once data: bypass L1 and mark for early eviction from L2 */
__device__ __forceinline__ float ct_load_stream(const float *p) { return __ldcs(p); }
__device__ __forceinline__ float4 ct_load_stream(const float4 *p) { return __ldcs(p); }

/* One output slot (VEC consecutive elements at vector index t) of every Y_l:
 * the m accumulators live in registers (MAXM is a compile-time bound), each
 * G_j slot is loaded once and used for all m outputs. */
template <int MAXM, int MAXD, int VEC>
__device__ __forceinline__ void combine_slot(const combine_params<MAXM, MAXD> &p, size_t t) {
    typedef typename vec_of<VEC>::type V;
    V acc[MAXM];
#pragma unroll
    for (int l = 0; l < MAXM; l++) acc[l] = ct_zero_like(V());
#pragma unroll 4
    for (int j = 0; j < p.d; j++) {
        const V g = ct_load_stream(reinterpret_cast<const V *>(p.G[j]) + t);
#pragma unroll
        for (int l = 0; l < MAXM; l++)
            if (l < p.m) acc[l] = ct_fma_v(p.E[l * p.d + j], g, acc[l]);
    }
#pragma unroll
    for (int l = 0; l < MAXM; l++) {
        if (l >= p.m) break;
        V *y = reinterpret_cast<V *>(p.Y[l]) + t;
        /* beta == 0 overwrites: stale (even NaN) outputs do not leak in */
        *y = p.beta == 0.0f ? acc[l] : ct_fma_v(p.beta, *y, acc[l]);
    }
}

template <int MAXM, int MAXD, int VEC>
__global__ void __launch_bounds__(CT_CUDA_THREADS) combine_kernel(const __grid_constant__ combine_params<MAXM, MAXD> p) {
    const size_t tid = blockIdx.x * (size_t)blockDim.x + threadIdx.x, stride = (size_t)gridDim.x * blockDim.x;
    const size_t slots = p.P / VEC;
    for (size_t t = tid; t < slots; t += stride) combine_slot<MAXM, MAXD, VEC>(p, t);
    /* the last P % VEC elements, one per thread */
    if (VEC > 1 && tid < p.P % VEC) combine_slot<MAXM, MAXD, 1>(reinterpret_cast<const combine_params<MAXM, MAXD> &>(p), slots * VEC + tid);
}

static bool aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

template <int MAXM, int MAXD>
static ct_status launch_combine(ct_cuda_backend *b, int m, int d, const float *E, const float *const *G, size_t P,
                                float *const *Y, float beta, bool vec4) {
    combine_params<MAXM, MAXD> prm;
    memset(&prm, 0, sizeof prm);
    for (int j = 0; j < d; j++) prm.G[j] = G[j];
    for (int l = 0; l < m; l++) prm.Y[l] = Y[l];
    memcpy(prm.E, E, sizeof(float) * (size_t)m * (size_t)d);
    prm.P = P;
    prm.m = m;
    prm.d = d;
    prm.beta = beta;
    const size_t work = vec4 ? (P + 3) / 4 : P;
    const unsigned grid = ct_cuda_grid(work, CT_CUDA_THREADS, b->sm_count, 8);
    if (MAXM <= 16 && vec4) /* compile-time guard: no float4 variant for the widest shape */
        combine_kernel<MAXM, MAXD, MAXM <= 16 ? 4 : 1><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(prm);
    else
        combine_kernel<MAXM, MAXD, 1><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(prm);
    CT_CUDA_CHECK_LAUNCH("combine_kernel");
    return CT_OK;
}

extern "C" ct_status ct_cuda_combine(ct_backend *be, int m, int d, const float *E, const float *const *G, size_t P,
                                     float *const *Y, float beta) {
    ct_cuda_backend *b = ct_cuda(be);
    if (m < 1 || m > CT_COMBINE_MAX || d < 1 || d > CT_COMBINE_MAX)
        return CT_FAIL(CT_ERR_INVALID_ARG, "combine: m=%d d=%d, each must be in 1..%d", m, d, CT_COMBINE_MAX);
    if (!E || !G || !Y) return CT_FAIL(CT_ERR_INVALID_ARG, "combine: NULL E, G or Y array");
    if (P == 0) return CT_OK;
    bool vec4 = true;
    for (int l = 0; l < m; l++) {
        if (!Y[l]) return CT_FAIL(CT_ERR_INVALID_ARG, "combine: Y[%d] is NULL", l);
        vec4 = vec4 && aligned16(Y[l]);
        for (int j = 0; j < d; j++) {
            if (!G[j]) return CT_FAIL(CT_ERR_INVALID_ARG, "combine: G[%d] is NULL", j);
            if ((const float *)Y[l] == G[j])
                return CT_FAIL(CT_ERR_INVALID_ARG, "combine: Y[%d] aliases G[%d] (outputs must not overlap inputs)", l,
                               j);
        }
    }
    for (int j = 0; j < d; j++) vec4 = vec4 && aligned16(G[j]);
    CT_CUDA_ENTER(b);
    /* the smallest instantiation that holds (m, d): fewer registers, a smaller
     * parameter block. m = 1 is the decode form and the common case. */
    if (m == 1) return launch_combine<1, CT_COMBINE_MAX>(b, m, d, E, G, P, Y, beta, vec4);
    if (m <= 4) return launch_combine<4, CT_COMBINE_MAX>(b, m, d, E, G, P, Y, beta, vec4);
    if (m <= 16 && d <= 16) return launch_combine<16, 16>(b, m, d, E, G, P, Y, beta, vec4);
    /* 64 float4 accumulators would spill: the widest shape goes scalar */
    return launch_combine<CT_COMBINE_MAX, CT_COMBINE_MAX>(b, m, d, E, G, P, Y, beta, false);
}

/* ---------------- sign_pack ---------------- */

/* ct_hash64 of include/codedtrain/rng.h, on the device: the stochastic
 * quantizer draws the same uniform for coordinate i on either backend. */
__device__ __forceinline__ uint64_t dev_splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
__device__ __forceinline__ uint64_t dev_hash64(uint64_t seed, uint64_t counter) {
    return dev_splitmix64(seed ^ dev_splitmix64(counter + 0x632BE59BD9B4E019ull));
}

/* Explicitly rounded float operations (never fused into an FMA), so the
 * decisions equal the CPU reference's bit for bit. */
__device__ __forceinline__ bool stochastic_bit(float x, float scale, uint64_t seed, size_t i) {
    if (scale == 0.0f) return true; /* all-zero input: +1, q = 0 */
    const float u = __fmul_rn(__uint2float_rn((unsigned)(dev_hash64(seed, (uint64_t)i) >> 40)), 5.9604644775390625e-08f);
    const float prob = __fmul_rn(__fadd_rn(1.0f, __fdiv_rn(x, scale)), 0.5f);
    return u < prob;
}

/* One warp per 32-element word (words grid-strided over warps): lane b decides
 * bit b and __ballot_sync assembles the word. Loads are coalesced (a warp reads
 * 128 contiguous bytes); lanes past P vote 0, so the padding bits are 0. */
template <int QUANT>
__global__ void __launch_bounds__(CT_CUDA_THREADS)
    pack_kernel(size_t P, const float *__restrict__ x, float *__restrict__ e, uint64_t seed,
                const float *__restrict__ scale_ptr, uint32_t *__restrict__ bits) {
    const float scale = *scale_ptr; /* written by the reduction before this launch */
    const unsigned lane = threadIdx.x & 31;
    const size_t warp = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) >> 5;
    const size_t warps = ((size_t)gridDim.x * blockDim.x) >> 5;
    const size_t words = (P + 31) / 32;
    for (size_t w = warp; w < words; w += warps) {
        const size_t i = w * 32 + lane;
        bool bit = false;
        if (i < P) {
            if (QUANT == CT_QUANT_STOCHASTIC) {
                bit = stochastic_bit(__ldcs(&x[i]), scale, seed, i);
            } else {
                const float p = __fadd_rn(__ldcs(&x[i]), e[i]);
                bit = p >= 0.0f;
                e[i] = bit ? __fsub_rn(p, scale) : __fadd_rn(p, scale); /* e <- p - q */
            }
        }
        const unsigned word = __ballot_sync(0xffffffffu, bit);
        if (lane == 0) bits[w] = word;
    }
}

extern "C" ct_status ct_cuda_sign_pack(ct_backend *be, ct_quantizer q, size_t P, const float *x, uint64_t seed,
                                       float *ef_state, uint32_t *bits, float *scale) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!scale) return CT_FAIL(CT_ERR_INVALID_ARG, "sign_pack: scale is NULL");
    if (P > 0 && (!x || !bits)) return CT_FAIL(CT_ERR_INVALID_ARG, "sign_pack: NULL %s", x ? "bits" : "x");
    if (q != CT_QUANT_STOCHASTIC && q != CT_QUANT_SIGN_EF)
        return CT_FAIL(CT_ERR_INVALID_ARG, "sign_pack: unknown quantizer %d", (int)q);
    if (q == CT_QUANT_SIGN_EF && P > 0 && !ef_state)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "sign_pack: the error-feedback quantizer needs its state buffer (ef_state is NULL)");
    if (q == CT_QUANT_SIGN_EF && ef_state == x)
        return CT_FAIL(CT_ERR_INVALID_ARG, "sign_pack: ef_state must not alias x");
    CT_CUDA_ENTER(b);
    if (P == 0) {
        CT_CUDA_CHECK(cudaMemsetAsync(scale, 0, sizeof(float), b->stream), "sign_pack: writing scale 0");
        return CT_OK;
    }
    /* pass 1: the scale, reduced on the device and written straight to *scale */
    if (q == CT_QUANT_STOCHASTIC) CT_TRY(ct_cuda_reduce(b, CT_REDUCE_MAXABS, P, x, NULL, scale));
    else CT_TRY(ct_cuda_reduce(b, CT_REDUCE_L1_SUM, P, x, ef_state, scale));
    /* pass 2: the bits (and the error-feedback update) */
    const unsigned grid = ct_cuda_grid((P + 31) / 32, CT_CUDA_THREADS / 32, b->sm_count, 8);
    if (q == CT_QUANT_STOCHASTIC)
        pack_kernel<CT_QUANT_STOCHASTIC><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(P, x, NULL, seed, scale, bits);
    else
        pack_kernel<CT_QUANT_SIGN_EF><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(P, x, ef_state, seed, scale, bits);
    CT_CUDA_CHECK_LAUNCH("pack_kernel");
    return CT_OK;
}

/* ---------------- unpack_accumulate ---------------- */

#define CT_UNPACK_GROUP CT_COMBINE_MAX /* messages per launch (as the CPU groups them) */

struct unpack_params {
    const uint32_t *bits[CT_UNPACK_GROUP];
    const float *scales[CT_UNPACK_GROUP];
    float coef[CT_UNPACK_GROUP];
    size_t P;
    int count;
};

__device__ __forceinline__ float signed_coef(uint32_t word, int bit, float a) { return ((word >> bit) & 1u) ? a : -a; }

/* out[i] += sum_k (+-a_k), a_k = coef_k * scale_k formed once per block in
 * shared memory. With VEC = 4 a thread owns 4 consecutive elements, which lie in
 * one 32-bit word (4 divides 32): one word load per message per thread. */
template <int VEC>
__global__ void __launch_bounds__(CT_CUDA_THREADS) unpack_kernel(const __grid_constant__ unpack_params p, float *out) {
    __shared__ float a[CT_UNPACK_GROUP];
    if (threadIdx.x < (unsigned)p.count) a[threadIdx.x] = __fmul_rn(p.coef[threadIdx.x], *p.scales[threadIdx.x]);
    __syncthreads();
    const size_t tid = blockIdx.x * (size_t)blockDim.x + threadIdx.x, stride = (size_t)gridDim.x * blockDim.x;
    if (VEC == 4) {
        const size_t slots = p.P / 4;
        for (size_t t = tid; t < slots; t += stride) {
            const size_t i = t * 4, w = i >> 5;
            const int sh = (int)(i & 31);
            float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            for (int k = 0; k < p.count; k++) {
                const uint32_t word = __ldg(p.bits[k] + w) >> sh;
                const float ak = a[k];
                acc.x += signed_coef(word, 0, ak);
                acc.y += signed_coef(word, 1, ak);
                acc.z += signed_coef(word, 2, ak);
                acc.w += signed_coef(word, 3, ak);
            }
            float4 o = reinterpret_cast<float4 *>(out)[t];
            o.x += acc.x;
            o.y += acc.y;
            o.z += acc.z;
            o.w += acc.w;
            reinterpret_cast<float4 *>(out)[t] = o;
        }
    }
    const size_t first = VEC == 4 ? p.P / 4 * 4 : 0;
    for (size_t i = first + tid; i < p.P; i += stride) {
        float acc = 0.0f;
        for (int k = 0; k < p.count; k++) acc += signed_coef(__ldg(p.bits[k] + (i >> 5)), (int)(i & 31), a[k]);
        out[i] += acc;
    }
}

extern "C" ct_status ct_cuda_unpack_accumulate(ct_backend *be, int count, const float *coef,
                                               const uint32_t *const *bits, const float *const *scales, size_t P,
                                               float *out) {
    ct_cuda_backend *b = ct_cuda(be);
    if (count < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "unpack_accumulate: count = %d", count);
    if (count == 0 || P == 0) return CT_OK;
    if (!coef || !bits || !scales || !out)
        return CT_FAIL(CT_ERR_INVALID_ARG, "unpack_accumulate: NULL coef, bits, scales or out");
    for (int k = 0; k < count; k++)
        if (!bits[k] || !scales[k])
            return CT_FAIL(CT_ERR_INVALID_ARG, "unpack_accumulate: message %d has a NULL %s", k,
                           bits[k] ? "scale" : "bits");
    CT_CUDA_ENTER(b);
    const bool vec4 = aligned16(out);
    /* more than one group of messages: one pass over out per group */
    for (int k0 = 0; k0 < count; k0 += CT_UNPACK_GROUP) {
        unpack_params prm;
        memset(&prm, 0, sizeof prm);
        prm.count = count - k0 < CT_UNPACK_GROUP ? count - k0 : CT_UNPACK_GROUP;
        prm.P = P;
        for (int k = 0; k < prm.count; k++) {
            prm.bits[k] = bits[k0 + k];
            prm.scales[k] = scales[k0 + k];
            prm.coef[k] = coef[k0 + k];
        }
        const unsigned grid = ct_cuda_grid(vec4 ? (P + 3) / 4 : P, CT_CUDA_THREADS, b->sm_count, 8);
        if (vec4) unpack_kernel<4><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(prm, out);
        else unpack_kernel<1><<<grid, CT_CUDA_THREADS, 0, b->stream>>>(prm, out);
        CT_CUDA_CHECK_LAUNCH("unpack_kernel");
    }
    return CT_OK;
}
