/* UEP block-weighted GEMM on CUDA: C = beta C + sum_b w_b A_b B_b in one
 * launch. Both layouts reduce to the same form: every block pair is a
 * "segment" (A_s: M x len_s with stride lda, B_s: len_s x N with stride ldb,
 * weight w_s), and the packet is ONE product over the segments concatenated
 * along the inner dimension,
 *     C = [w_1 A_1, ..., w_L A_L] [B_1; ...; B_L],
 * so the accumulators stay in registers across every pair and C is touched
 * once. The weight is folded into A's tile as it is loaded.
 *
 * The kernel is a classic FP32 SIMT tile GEMM: 128 x 128 output tile per
 * block of 256 threads, 8 x 8 outputs per thread (two 4 x 4 quadrants so the
 * fragment loads are 16-byte and conflict-free), K tiles of 8 staged through
 * double-buffered shared memory with the next tile's global loads in flight
 * during the current tile's math. 16-byte global loads when every segment's
 * pointers and strides allow.
 *
 * A UEP packet has a small output and a long inner dimension (e.g. 1024 x 1024
 * from 9 pairs of K = 1024: 64 tiles on a 132-SM GPU), so the inner dimension
 * is split over gridDim.z slices when the tiles alone would leave SMs idle.
 * Each slice writes its partial tile to a workspace; the slice that finishes
 * last for a tile (atomic ticket) sums the partials in slice order and writes
 * C. The order is fixed, so the result is deterministic; the split depends only
 * on the shape and the GPU. */
#include <string.h>

#include "kernels/cuda/cuda_internal.h"

#define UEP_BM 128
#define UEP_BN 128
#define UEP_BK 8
#define UEP_THREADS 256
#define UEP_APAD 4 /* As row padding: the transposing stores hit distinct banks */
#define UEP_SEGS 128 /* segments per launch: the parameter block stays under 4 KB */
#define UEP_MAX_SPLITS 16
#define UEP_MIN_KTILES_PER_SPLIT 16 /* >= 128 of inner length per slice: the fix-up stays cheap */

struct uep_seg {
    const float *A; /* A_s(0, 0) */
    const float *B; /* B_s(0, 0) */
    int len;        /* inner length */
    float w;
};

struct uep_params {
    uep_seg seg[UEP_SEGS];
    int tile_start[UEP_SEGS + 1]; /* prefix sums of each segment's K tiles */
    float *C;
    float *ws;          /* partial tiles: [tile][slice][UEP_BM * UEP_BN] */
    unsigned *counters; /* one per output tile; the last slice resets it to 0 */
    int nseg, M, N, lda, ldb, ldc, splits, ktiles;
    float beta;
    int vec_c; /* C 16-byte aligned with ldc % 4 == 0 */
};

/* The next K tile's share of this thread, from global memory into registers:
 * one float4 of A (row tid/2, inner tid%2*4..+3, already scaled by w) and one
 * float4 of B (inner row tid/32, columns tid%32*4..+3). Out-of-range elements
 * are 0, so edge tiles need no special math. */
template <bool VEC>
__device__ __forceinline__ void uep_load(const uep_params &p, int s, int k0, int m0, int n0, int tid, float4 &ra,
                                         float4 &rb) {
    const uep_seg &g = p.seg[s];
    const int len = g.len;
    const int ar = m0 + (tid >> 1), ak = k0 + (tid & 1) * 4;
    float a0, a1, a2, a3;
    if (VEC && ar < p.M && ak + 3 < len) {
        const float4 v = __ldg(reinterpret_cast<const float4 *>(g.A + (size_t)ar * p.lda + ak));
        a0 = v.x, a1 = v.y, a2 = v.z, a3 = v.w;
    } else {
        const float *row = g.A + (size_t)ar * p.lda;
        const bool in = ar < p.M;
        a0 = in && ak + 0 < len ? __ldg(row + ak + 0) : 0.0f;
        a1 = in && ak + 1 < len ? __ldg(row + ak + 1) : 0.0f;
        a2 = in && ak + 2 < len ? __ldg(row + ak + 2) : 0.0f;
        a3 = in && ak + 3 < len ? __ldg(row + ak + 3) : 0.0f;
    }
    ra = make_float4(g.w * a0, g.w * a1, g.w * a2, g.w * a3);
    const int bk = k0 + (tid >> 5), bc = n0 + (tid & 31) * 4;
    if (VEC && bk < len && bc + 3 < p.N) {
        rb = __ldg(reinterpret_cast<const float4 *>(g.B + (size_t)bk * p.ldb + bc));
    } else {
        const float *row = g.B + (size_t)bk * p.ldb;
        const bool in = bk < len;
        rb.x = in && bc + 0 < p.N ? __ldg(row + bc + 0) : 0.0f;
        rb.y = in && bc + 1 < p.N ? __ldg(row + bc + 1) : 0.0f;
        rb.z = in && bc + 2 < p.N ? __ldg(row + bc + 2) : 0.0f;
        rb.w = in && bc + 3 < p.N ? __ldg(row + bc + 3) : 0.0f;
    }
}

/* C rows/cols of thread (ty, tx): quadrant rows ty*4.. and 64+ty*4.., columns
 * tx*4.. and 64+tx*4.. */
__device__ __forceinline__ int uep_row(int ty, int i) { return (i < 4 ? 0 : 64) + ty * 4 + (i & 3); }

__device__ __forceinline__ void uep_store_c(const uep_params &p, int m0, int n0, int ty, int tx, float v[8][8]) {
    const float beta = p.beta;
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const int r = m0 + uep_row(ty, i);
        if (r >= p.M) continue;
        float *crow = p.C + (size_t)r * p.ldc;
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int c = n0 + h * 64 + tx * 4;
            if (p.vec_c && c + 3 < p.N) {
                float4 o = make_float4(v[i][h * 4 + 0], v[i][h * 4 + 1], v[i][h * 4 + 2], v[i][h * 4 + 3]);
                /* beta == 0 overwrites: stale (even NaN) C does not leak in */
                if (beta != 0.0f) {
                    const float4 old = *reinterpret_cast<const float4 *>(crow + c);
                    o.x = fmaf(beta, old.x, o.x);
                    o.y = fmaf(beta, old.y, o.y);
                    o.z = fmaf(beta, old.z, o.z);
                    o.w = fmaf(beta, old.w, o.w);
                }
                *reinterpret_cast<float4 *>(crow + c) = o;
            } else {
#pragma unroll
                for (int j = 0; j < 4; j++)
                    if (c + j < p.N) crow[c + j] = beta != 0.0f ? fmaf(beta, crow[c + j], v[i][h * 4 + j]) : v[i][h * 4 + j];
            }
        }
    }
}

template <bool VEC>
__global__ void __launch_bounds__(UEP_THREADS, 2) uep_gemm_kernel(const __grid_constant__ uep_params p) {
    __shared__ __align__(16) float As[2][UEP_BK][UEP_BM + UEP_APAD]; /* transposed: As[k][m] */
    __shared__ __align__(16) float Bs[2][UEP_BK][UEP_BN];
    __shared__ bool is_last;
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int m0 = blockIdx.y * UEP_BM, n0 = blockIdx.x * UEP_BN;

    /* this slice's K tiles [kt0, kt1) of the concatenated inner dimension */
    const int z = blockIdx.z;
    const int kt0 = (int)((long long)z * p.ktiles / p.splits);
    const int kt1 = (int)((long long)(z + 1) * p.ktiles / p.splits);
    int s = 0;
    while (s + 1 < p.nseg && p.tile_start[s + 1] <= kt0) s++;
    int k0 = (kt0 - p.tile_start[s]) * UEP_BK;

    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;

    const int nt = kt1 - kt0;
    float4 ra, rb;
    const int sa_k = (tid & 1) * 4, sa_m = tid >> 1, sb_k = tid >> 5, sb_n = (tid & 31) * 4;
    if (nt > 0) {
        uep_load<VEC>(p, s, k0, m0, n0, tid, ra, rb);
        As[0][sa_k + 0][sa_m] = ra.x;
        As[0][sa_k + 1][sa_m] = ra.y;
        As[0][sa_k + 2][sa_m] = ra.z;
        As[0][sa_k + 3][sa_m] = ra.w;
        *reinterpret_cast<float4 *>(&Bs[0][sb_k][sb_n]) = rb;
    }
    __syncthreads();
    for (int t = 0; t < nt; t++) {
        const int cur = t & 1;
        const bool more = t + 1 < nt;
        if (more) { /* the next tile's loads fly while this tile's math runs */
            k0 += UEP_BK;
            if (k0 >= p.seg[s].len) {
                s++;
                k0 = 0;
            }
            uep_load<VEC>(p, s, k0, m0, n0, tid, ra, rb);
        }
#pragma unroll
        for (int k = 0; k < UEP_BK; k++) {
            const float4 a0 = *reinterpret_cast<const float4 *>(&As[cur][k][ty * 4]);
            const float4 a1 = *reinterpret_cast<const float4 *>(&As[cur][k][64 + ty * 4]);
            const float4 b0 = *reinterpret_cast<const float4 *>(&Bs[cur][k][tx * 4]);
            const float4 b1 = *reinterpret_cast<const float4 *>(&Bs[cur][k][64 + tx * 4]);
            const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 8; i++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (more) { /* the other buffer: everyone finished reading it before the last barrier */
            const int nxt = cur ^ 1;
            As[nxt][sa_k + 0][sa_m] = ra.x;
            As[nxt][sa_k + 1][sa_m] = ra.y;
            As[nxt][sa_k + 2][sa_m] = ra.z;
            As[nxt][sa_k + 3][sa_m] = ra.w;
            *reinterpret_cast<float4 *>(&Bs[nxt][sb_k][sb_n]) = rb;
        }
        __syncthreads();
    }

    if (p.splits == 1) {
        uep_store_c(p, m0, n0, ty, tx, acc);
        return;
    }

    /* split inner dimension: publish this slice's partial tile (coalesced:
     * float4 g of every thread is contiguous across the block) */
    const unsigned tile = blockIdx.y * gridDim.x + blockIdx.x;
    float4 *part = reinterpret_cast<float4 *>(p.ws) + ((size_t)tile * p.splits + z) * (UEP_BM * UEP_BN / 4);
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int h = 0; h < 2; h++)
            part[(i * 2 + h) * UEP_THREADS + tid] =
                make_float4(acc[i][h * 4 + 0], acc[i][h * 4 + 1], acc[i][h * 4 + 2], acc[i][h * 4 + 3]);
    __threadfence(); /* the partial is visible before the ticket is taken */
    __syncthreads();
    if (tid == 0) is_last = atomicAdd(&p.counters[tile], 1u) == (unsigned)p.splits - 1u;
    __syncthreads();
    if (!is_last) return;
    __threadfence();
    /* the last arriver sums the slices in slice order: same bits whoever is last */
    const float4 *parts = reinterpret_cast<const float4 *>(p.ws) + (size_t)tile * p.splits * (UEP_BM * UEP_BN / 4);
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            float4 sum = __ldcg(&parts[(i * 2 + h) * UEP_THREADS + tid]);
            for (int zz = 1; zz < p.splits; zz++) {
                const float4 v = __ldcg(&parts[(size_t)zz * (UEP_BM * UEP_BN / 4) + (i * 2 + h) * UEP_THREADS + tid]);
                sum.x += v.x;
                sum.y += v.y;
                sum.z += v.z;
                sum.w += v.w;
            }
            acc[i][h * 4 + 0] = sum.x;
            acc[i][h * 4 + 1] = sum.y;
            acc[i][h * 4 + 2] = sum.z;
            acc[i][h * 4 + 3] = sum.w;
        }
    uep_store_c(p, m0, n0, ty, tx, acc);
    if (tid == 0) p.counters[tile] = 0u; /* ready for the next launch on this stream */
}

static bool uep_aligned16(const void *q) { return ((uintptr_t)q & 15u) == 0; }

/* The split workspace: fixed capacity (so the split never depends on what ran
 * before), allocated when the context is set up (never mid-run, where cudaMalloc
 * could wait for another worker's spinning throttle) and kept for the context's
 * life (a captured graph may point at it). */
ct_status ct_cuda_uep_workspace(ct_cuda_backend *b) {
    if (b->uep_ws) return CT_OK;
    cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
    CT_CUDA_CHECK(cudaStreamIsCapturing(b->stream, &cs), "uep_block_gemm: querying capture state");
    if (cs != cudaStreamCaptureStatusNone)
        return CT_FAIL(CT_ERR_INTERNAL, "uep_block_gemm: split workspace missing while recording a graph");
    const size_t bytes = (size_t)CT_UEP_WS_FLOATS * sizeof(float) + (size_t)CT_UEP_WS_TILES * sizeof(unsigned);
    void *mem = NULL;
    CT_CUDA_CHECK(cudaMalloc(&mem, bytes), "uep_block_gemm: allocating the split workspace (16 MiB)");
    unsigned *counters = (unsigned *)((float *)mem + CT_UEP_WS_FLOATS);
    cudaError_t e = cudaMemsetAsync(counters, 0, (size_t)CT_UEP_WS_TILES * sizeof(unsigned), b->stream);
    if (e != cudaSuccess) {
        cudaFree(mem);
        (void)cudaGetLastError();
        return CT_FAIL(CT_ERR_CUDA, "uep_block_gemm: zeroing the split counters failed: %s", cudaGetErrorString(e));
    }
    b->uep_ws = (float *)mem;
    b->uep_counters = counters;
    return CT_OK;
}

/* Inner-dimension slices for a launch: enough blocks to fill every SM slot
 * once, each slice at least UEP_MIN_KTILES_PER_SPLIT tiles, within the
 * workspace. A function of the shape and the GPU only. */
static int uep_choose_splits(const ct_cuda_backend *b, int tiles, int ktiles) {
    const int slots = b->sm_count * (b->uep_blocks_per_sm > 0 ? b->uep_blocks_per_sm : 1);
    if (tiles >= slots || tiles > CT_UEP_WS_TILES) return 1;
    int s = slots / tiles;
    if (s > ktiles / UEP_MIN_KTILES_PER_SPLIT) s = ktiles / UEP_MIN_KTILES_PER_SPLIT;
    if (s > UEP_MAX_SPLITS) s = UEP_MAX_SPLITS;
    const long long cap = (long long)CT_UEP_WS_FLOATS / ((long long)tiles * UEP_BM * UEP_BN);
    if (s > cap) s = (int)cap;
    return s < 1 ? 1 : s;
}

extern "C" ct_status ct_cuda_uep_block_gemm(ct_backend *be, ct_uep_layout layout, int M, int N, int K, int a_rows,
                                            int b_cols, const float *A, int lda, const float *B, int ldb, int nblocks,
                                            const ct_uep_block *blocks, float beta, float *C, int ldc) {
    ct_cuda_backend *b = ct_cuda(be);
    CT_TRY(ct_uep_check_args("uep_block_gemm", layout, M, N, K, a_rows, b_cols, A, lda, B, ldb, nblocks, blocks, C,
                             ldc));
    if (M == 0 || N == 0) return CT_OK;
    CT_CUDA_ENTER(b);
    if (b->uep_blocks_per_sm == 0) {
        int n = 0;
        CT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, uep_gemm_kernel<true>, UEP_THREADS, 0),
                      "uep_block_gemm: querying occupancy");
        b->uep_blocks_per_sm = n > 0 ? n : 1;
    }
    const int tiles_m = (M + UEP_BM - 1) / UEP_BM, tiles_n = (N + UEP_BN - 1) / UEP_BN;
    if (tiles_m > 65535) return CT_FAIL(CT_ERR_INVALID_ARG, "uep_block_gemm: M=%d exceeds the grid (%d rows max)", M, 65535 * UEP_BM);
    const bool row_col = layout == CT_UEP_ROW_COL;
    /* more pairs than one parameter block holds: one launch per group, the
     * later ones accumulating (beta = 1) */
    for (int g0 = 0; g0 < nblocks; g0 += UEP_SEGS) {
        const int ng = nblocks - g0 < UEP_SEGS ? nblocks - g0 : UEP_SEGS;
        uep_params prm;
        memset(&prm, 0, sizeof prm);
        bool vec = lda % 4 == 0 && ldb % 4 == 0;
        long long kt = 0;
        prm.tile_start[0] = 0;
        for (int i = 0; i < ng; i++) {
            const ct_uep_block *bl = &blocks[g0 + i];
            uep_seg *sg = &prm.seg[i];
            sg->A = row_col ? A + (size_t)bl->a_off * (size_t)lda : A + bl->a_off;
            sg->B = row_col ? B + bl->b_off : B + (size_t)bl->b_off * (size_t)ldb;
            sg->len = row_col ? K : bl->len;
            sg->w = bl->w;
            vec = vec && uep_aligned16(sg->A) && uep_aligned16(sg->B);
            kt += (sg->len + UEP_BK - 1) / UEP_BK;
            if (kt > 0x7fffffffLL) return CT_FAIL(CT_ERR_INVALID_ARG, "uep_block_gemm: total inner length too large");
            prm.tile_start[i + 1] = (int)kt;
        }
        prm.nseg = ng;
        prm.C = C;
        prm.M = M;
        prm.N = N;
        prm.lda = lda;
        prm.ldb = ldb;
        prm.ldc = ldc;
        prm.ktiles = (int)kt;
        prm.beta = g0 == 0 ? beta : 1.0f;
        prm.vec_c = uep_aligned16(C) && ldc % 4 == 0;
        prm.splits = uep_choose_splits(b, tiles_m * tiles_n, prm.ktiles);
        if (prm.splits > 1) {
            CT_TRY(ct_cuda_uep_workspace(b));
            prm.ws = b->uep_ws;
            prm.counters = b->uep_counters;
        }
        const dim3 grid((unsigned)tiles_n, (unsigned)tiles_m, (unsigned)prm.splits);
        if (vec) uep_gemm_kernel<true><<<grid, UEP_THREADS, 0, b->stream>>>(prm);
        else uep_gemm_kernel<false><<<grid, UEP_THREADS, 0, b->stream>>>(prm);
        CT_CUDA_CHECK_LAUNCH("uep_gemm_kernel");
    }
    return CT_OK;
}
