/* UEP matmul: block partitioning by importance, the block-weighted GEMM a
 * worker runs, assembly of C_hat, the blocks' Gram matrix and the random test
 * matrices. Coding/decoding is in uep_code.c, analysis in uep_analysis.c, the
 * Monte Carlo in uep_sim.c. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/uep.h"

const char *ct_uep_scheme_name(ct_uep_scheme s) {
    switch (s) {
    case CT_UEP_NOW: return "uep-now";
    case CT_UEP_EW: return "uep-ew";
    case CT_UEP_EEP: return "eep";
    case CT_UEP_UNCODED: return "uncoded";
    default: return "?";
    }
}

const char *ct_uep_paradigm_name(ct_uep_paradigm p) {
    return p == CT_UEP_RXC ? "rxc" : p == CT_UEP_CXR ? "cxr" : "?";
}

ct_status ct_uep_params_check(const ct_uep_params *p, int n_blocks) {
    if (!p) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: params is NULL");
    if (p->n_classes < 1 || p->n_classes > CT_UEP_MAX_CLASSES)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: number of classes %d must be between 1 and %d", p->n_classes,
                       CT_UEP_MAX_CLASSES);
    double sum = 0;
    int ksum = 0;
    for (int l = 0; l < p->n_classes; l++) {
        if (p->k[l] < 1 || p->k[l] > CT_UEP_MAX_BLOCKS)
            return CT_FAIL(CT_ERR_INVALID_ARG, "uep: k[%d]=%d must be between 1 and %d", l, p->k[l],
                           CT_UEP_MAX_BLOCKS);
        if (!isfinite(p->gamma[l]) || p->gamma[l] < 0)
            return CT_FAIL(CT_ERR_INVALID_ARG, "uep: gamma[%d]=%g must be a probability >= 0", l, p->gamma[l]);
        sum += p->gamma[l];
        ksum += p->k[l];
    }
    if (fabs(sum - 1.0) > 1e-6)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: gamma sums to %.9g, must sum to 1", sum);
    if (ksum > CT_UEP_MAX_BLOCKS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: sum of k = %d exceeds %d blocks", ksum, CT_UEP_MAX_BLOCKS);
    if (n_blocks > 0 && ksum != n_blocks)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: sum of k = %d must equal the number of blocks %d", ksum, n_blocks);
    return CT_OK;
}

void ct_uep_partition_free(ct_uep_partition *p) {
    if (!p) return;
    free(p->row_order);
    free(p->col_order);
    free(p->inner_order);
    free(p->row_start);
    free(p->col_start);
    free(p->inner_start);
    free(p->A_sorted);
    free(p->B_sorted);
    free(p);
}

typedef struct keyed {
    double key;
    int idx;
} keyed;

/* decreasing key; ties by increasing index, so the order is deterministic */
static int keyed_desc(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key > y->key) return -1;
    if (x->key < y->key) return 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* near-equal group boundaries, larger groups first */
static void split_even(int n, int parts, int *start) {
    start[0] = 0;
    for (int g = 0; g < parts; g++) start[g + 1] = start[g] + n / parts + (g < n % parts);
}

/* order[pos] = index with the pos-th largest score */
static ct_status sort_desc(const double *score, int n, int *order) {
    keyed *kv = malloc((size_t)n * sizeof *kv);
    if (!kv) return CT_FAIL(CT_ERR_NOMEM, "uep: out of memory sorting %d scores", n);
    for (int i = 0; i < n; i++) kv[i] = (keyed){score[i], i};
    qsort(kv, (size_t)n, sizeof *kv, keyed_desc);
    for (int i = 0; i < n; i++) order[i] = kv[i].idx;
    free(kv);
    return CT_OK;
}

static int all_finite(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

ct_status ct_uep_partition_build(const double *A, const double *B, int rows, int inner, int cols,
                                 ct_uep_paradigm paradigm, int parts, const ct_uep_params *params,
                                 ct_uep_partition **out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: out is NULL");
    *out = NULL;
    if (!A || !B) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: matrix A or B is NULL");
    if (paradigm != CT_UEP_RXC && paradigm != CT_UEP_CXR)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: paradigm %d is neither rxc nor cxr", (int)paradigm);
    if (rows < 1 || inner < 1 || cols < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: matrix sizes rows=%d inner=%d cols=%d must be >= 1", rows, inner,
                       cols);
    if ((double)rows * inner > 1e9 || (double)inner * cols > 1e9 || (double)rows * cols > 1e9)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: matrix sizes rows=%d inner=%d cols=%d too large", rows, inner,
                       cols);
    int n_blocks = paradigm == CT_UEP_RXC ? parts * parts : parts;
    if (parts < 1 || n_blocks > CT_UEP_MAX_BLOCKS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: parts=%d gives %d blocks, must be 1..%d", parts, n_blocks,
                       CT_UEP_MAX_BLOCKS);
    if (paradigm == CT_UEP_RXC && (parts > rows || parts > cols))
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: rxc needs rows (%d) and cols (%d) >= parts (%d)", rows, cols,
                       parts);
    if (paradigm == CT_UEP_CXR && parts > inner)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: cxr needs inner (%d) >= parts (%d)", inner, parts);
    CT_TRY(ct_uep_params_check(params, n_blocks));
    if (!all_finite(A, (size_t)rows * inner) || !all_finite(B, (size_t)inner * cols))
        return CT_FAIL(CT_ERR_NUMERIC, "uep: A or B has a non-finite entry");

    ct_uep_partition *p = calloc(1, sizeof *p);
    if (!p) return CT_FAIL(CT_ERR_NOMEM, "uep: out of memory for the partition");
    p->paradigm = paradigm;
    p->rows = rows, p->inner = inner, p->cols = cols;
    p->parts = parts;
    p->n_blocks = n_blocks;
    p->n_classes = params->n_classes;
    p->row_order = malloc((size_t)rows * sizeof(int));
    p->col_order = malloc((size_t)cols * sizeof(int));
    p->inner_order = malloc((size_t)inner * sizeof(int));
    p->row_start = malloc((size_t)(parts + 1) * sizeof(int));
    p->col_start = malloc((size_t)(parts + 1) * sizeof(int));
    p->inner_start = malloc((size_t)(parts + 1) * sizeof(int));
    p->A_sorted = malloc((size_t)rows * inner * sizeof(double));
    p->B_sorted = malloc((size_t)inner * cols * sizeof(double));
    int big = rows > cols ? rows : cols;
    if (inner > big) big = inner;
    double *score = malloc((size_t)big * sizeof(double));
    ct_status st = CT_OK;
    if (!p->row_order || !p->col_order || !p->inner_order || !p->row_start || !p->col_start ||
        !p->inner_start || !p->A_sorted || !p->B_sorted || !score) {
        st = CT_FAIL(CT_ERR_NOMEM, "uep: out of memory for a %d x %d x %d partition", rows, inner, cols);
        goto done;
    }
    for (int i = 0; i < rows; i++) p->row_order[i] = i;
    for (int i = 0; i < cols; i++) p->col_order[i] = i;
    for (int i = 0; i < inner; i++) p->inner_order[i] = i;

    keyed blocks[CT_UEP_MAX_BLOCKS];
    if (paradigm == CT_UEP_RXC) {
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int m = 0; m < inner; m++) s += fabs(A[(size_t)r * inner + m]);
            score[r] = s / inner;
        }
        if ((st = sort_desc(score, rows, p->row_order)) != CT_OK) goto done;
        for (int c = 0; c < cols; c++) score[c] = 0;
        for (int m = 0; m < inner; m++)
            for (int c = 0; c < cols; c++) score[c] += fabs(B[(size_t)m * cols + c]);
        for (int c = 0; c < cols; c++) score[c] /= inner;
        if ((st = sort_desc(score, cols, p->col_order)) != CT_OK) goto done;
        for (int r = 0; r < rows; r++)
            memcpy(p->A_sorted + (size_t)r * inner, A + (size_t)p->row_order[r] * inner, (size_t)inner * sizeof(double));
        for (int m = 0; m < inner; m++)
            for (int c = 0; c < cols; c++) p->B_sorted[(size_t)m * cols + c] = B[(size_t)m * cols + p->col_order[c]];
        split_even(rows, parts, p->row_start);
        split_even(cols, parts, p->col_start);
        p->inner_start[0] = 0;
        for (int g = 1; g <= parts; g++) p->inner_start[g] = inner;
        double na[CT_UEP_MAX_BLOCKS], nb[CT_UEP_MAX_BLOCKS];
        for (int g = 0; g < parts; g++) {
            double s = 0;
            for (size_t t = (size_t)p->row_start[g] * inner; t < (size_t)p->row_start[g + 1] * inner; t++)
                s += p->A_sorted[t] * p->A_sorted[t];
            na[g] = sqrt(s);
            s = 0;
            for (int m = 0; m < inner; m++)
                for (int c = p->col_start[g]; c < p->col_start[g + 1]; c++) {
                    double v = p->B_sorted[(size_t)m * cols + c];
                    s += v * v;
                }
            nb[g] = sqrt(s);
        }
        /* ||A_i B_j||_F <= ||A_i|| ||B_j||, and for uncorrelated entries it is
         * proportional to it: the ranking the master can make before multiplying */
        for (int i = 0; i < parts; i++)
            for (int j = 0; j < parts; j++) blocks[i * parts + j] = (keyed){na[i] * nb[j], i * parts + j};
        qsort(blocks, (size_t)n_blocks, sizeof blocks[0], keyed_desc);
        for (int b = 0; b < n_blocks; b++) {
            p->block_a[b] = blocks[b].idx / parts;
            p->block_b[b] = blocks[b].idx % parts;
            p->importance[b] = blocks[b].key;
        }
        p->out_rows = p->row_start[1] - p->row_start[0];
        p->out_cols = p->col_start[1] - p->col_start[0];
    } else {
        for (int m = 0; m < inner; m++) {
            double sa = 0, sb = 0;
            for (int r = 0; r < rows; r++) sa += fabs(A[(size_t)r * inner + m]);
            for (int c = 0; c < cols; c++) sb += fabs(B[(size_t)m * cols + c]);
            score[m] = (sa / rows) * (sb / cols);
        }
        if ((st = sort_desc(score, inner, p->inner_order)) != CT_OK) goto done;
        for (int r = 0; r < rows; r++)
            for (int m = 0; m < inner; m++)
                p->A_sorted[(size_t)r * inner + m] = A[(size_t)r * inner + p->inner_order[m]];
        for (int m = 0; m < inner; m++)
            memcpy(p->B_sorted + (size_t)m * cols, B + (size_t)p->inner_order[m] * cols, (size_t)cols * sizeof(double));
        split_even(inner, parts, p->inner_start);
        p->row_start[0] = 0, p->col_start[0] = 0;
        for (int g = 1; g <= parts; g++) p->row_start[g] = rows, p->col_start[g] = cols;
        /* parts stay in score order (the ranking is per inner index); the
         * part's norm product is reported as its importance */
        for (int b = 0; b < n_blocks; b++) {
            double sa = 0, sb = 0;
            for (int r = 0; r < rows; r++)
                for (int m = p->inner_start[b]; m < p->inner_start[b + 1]; m++) {
                    double v = p->A_sorted[(size_t)r * inner + m];
                    sa += v * v;
                }
            for (size_t t = (size_t)p->inner_start[b] * cols; t < (size_t)p->inner_start[b + 1] * cols; t++)
                sb += p->B_sorted[t] * p->B_sorted[t];
            p->block_a[b] = b;
            p->block_b[b] = b;
            p->importance[b] = sqrt(sa) * sqrt(sb);
        }
        p->out_rows = rows;
        p->out_cols = cols;
    }
    for (int l = 0, b = 0; l < params->n_classes; l++)
        for (int t = 0; t < params->k[l]; t++) p->block_class[b++] = l;

done:
    free(score);
    if (st != CT_OK) {
        ct_uep_partition_free(p);
        return st;
    }
    *out = p;
    return CT_OK;
}

ct_status ct_uep_packet_compute(const ct_uep_partition *p, const double *w, double *out) {
    if (!p || !w || !out) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: packet_compute got a NULL argument");
    size_t len = (size_t)p->out_rows * p->out_cols;
    memset(out, 0, len * sizeof(double));
    if (p->paradigm == CT_UEP_CXR) {
        /* sum_b w_b A[:, part b] B[part b, :]: one rank-h update per nonzero weight */
        for (int b = 0; b < p->n_blocks; b++) {
            if (w[b] == 0) continue;
            int m0 = p->inner_start[b], h = p->inner_start[b + 1] - m0;
            if (h == 0) continue;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->rows, p->cols, h, w[b], p->A_sorted + m0,
                        p->inner, p->B_sorted + (size_t)m0 * p->cols, p->cols, 1.0, out, p->out_cols);
        }
        return CT_OK;
    }
    /* rxc: sum_{ij} w_ij A_i B_j = sum_i A_i (sum_j w_ij B_j): combine B's
     * column groups first (cheap), then one GEMM per row group */
    double *Bw = malloc((size_t)p->inner * p->out_cols * sizeof(double));
    if (!Bw) return CT_FAIL(CT_ERR_NOMEM, "uep: out of memory for a packet's %d x %d workspace", p->inner, p->out_cols);
    for (int i = 0; i < p->parts; i++) {
        int used = 0;
        for (int b = 0; b < p->n_blocks; b++) {
            if (p->block_a[b] != i || w[b] == 0) continue;
            if (!used) memset(Bw, 0, (size_t)p->inner * p->out_cols * sizeof(double));
            used = 1;
            int j = p->block_b[b], c0 = p->col_start[j], cw = p->col_start[j + 1] - c0;
            for (int m = 0; m < p->inner; m++) {
                const double *src = p->B_sorted + (size_t)m * p->cols + c0;
                double *dst = Bw + (size_t)m * p->out_cols;
                for (int c = 0; c < cw; c++) dst[c] += w[b] * src[c];
            }
        }
        if (!used) continue;
        int r0 = p->row_start[i], rh = p->row_start[i + 1] - r0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rh, p->out_cols, p->inner, 1.0,
                    p->A_sorted + (size_t)r0 * p->inner, p->inner, Bw, p->out_cols, 1.0, out, p->out_cols);
    }
    free(Bw);
    return CT_OK;
}

ct_status ct_uep_reference_product(const ct_uep_partition *p, double *scratch, double *C, double *norm2) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->rows, p->cols, p->inner, 1.0, p->A_sorted, p->inner,
                p->B_sorted, p->cols, 0.0, scratch, p->cols);
    for (int r = 0; r < p->rows; r++)
        for (int c = 0; c < p->cols; c++)
            C[(size_t)p->row_order[r] * p->cols + p->col_order[c]] = scratch[(size_t)r * p->cols + c];
    *norm2 = cblas_ddot(p->rows * p->cols, C, 1, C, 1);
    if (!(*norm2 > 0))
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: ||A B||^2 = %g, the normalized error is undefined", *norm2);
    return CT_OK;
}

ct_status ct_uep_assemble(const ct_uep_partition *p, const double *X, const unsigned char *have, double *C_hat) {
    if (!p || !X || !have || !C_hat) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: assemble got a NULL argument");
    size_t len = (size_t)p->out_rows * p->out_cols;
    memset(C_hat, 0, (size_t)p->rows * p->cols * sizeof(double));
    for (int b = 0; b < p->n_blocks; b++) {
        if (!have[b]) continue;
        const double *x = X + (size_t)b * len;
        if (p->paradigm == CT_UEP_CXR) {
            for (size_t t = 0; t < len; t++) C_hat[t] += x[t];
            continue;
        }
        int i = p->block_a[b], j = p->block_b[b];
        for (int r = p->row_start[i]; r < p->row_start[i + 1]; r++) {
            double *dst = C_hat + (size_t)p->row_order[r] * p->cols;
            const double *src = x + (size_t)(r - p->row_start[i]) * p->out_cols;
            for (int c = p->col_start[j]; c < p->col_start[j + 1]; c++) dst[p->col_order[c]] = src[c - p->col_start[j]];
        }
    }
    return CT_OK;
}

ct_status ct_uep_block_gram(const ct_uep_partition *p, double *gram) {
    if (!p || !gram) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: block_gram got a NULL argument");
    int K = p->n_blocks;
    size_t len = (size_t)p->out_rows * p->out_cols;
    double *prod = malloc((size_t)K * len * sizeof(double));
    double *w = calloc((size_t)K, sizeof(double));
    if (!prod || !w) {
        free(prod);
        free(w);
        return CT_FAIL(CT_ERR_NOMEM, "uep: out of memory for %d block products of %zu entries", K, len);
    }
    ct_status st = CT_OK;
    for (int b = 0; b < K && st == CT_OK; b++) {
        w[b] = 1;
        st = ct_uep_packet_compute(p, w, prod + (size_t)b * len);
        w[b] = 0;
    }
    if (st == CT_OK) {
        for (int b = 0; b < K; b++)
            for (int c = b; c < K; c++) {
                /* rxc blocks occupy disjoint parts of C: no cross terms */
                double v = 0;
                if (b == c || p->paradigm == CT_UEP_CXR)
                    v = cblas_ddot((int)len, prod + (size_t)b * len, 1, prod + (size_t)c * len, 1);
                gram[b * K + c] = gram[c * K + b] = v;
            }
    }
    free(prod);
    free(w);
    return st;
}

static void shuffle(int *a, int n, ct_rng *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ct_rng_below(rng, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

ct_status ct_uep_random_matrices(ct_uep_paradigm paradigm, int rows, int inner, int cols, int parts,
                                 int n_groups, const double *variances, ct_rng *rng, double *A, double *B) {
    if (!variances || !rng || !A || !B) return CT_FAIL(CT_ERR_INVALID_ARG, "uep: random_matrices got a NULL argument");
    if (rows < 1 || inner < 1 || cols < 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: matrix sizes rows=%d inner=%d cols=%d must be >= 1", rows, inner,
                       cols);
    if (n_groups < 1 || n_groups > CT_UEP_MAX_BLOCKS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: variances: %d groups, must be 1..%d", n_groups, CT_UEP_MAX_BLOCKS);
    for (int g = 0; g < n_groups; g++)
        if (!isfinite(variances[g]) || variances[g] <= 0)
            return CT_FAIL(CT_ERR_INVALID_ARG, "uep: variances[%d]=%g must be > 0", g, variances[g]);
    int n_split = paradigm == CT_UEP_RXC ? n_groups : parts;
    if (paradigm == CT_UEP_CXR && (parts < n_groups || parts > inner))
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: cxr needs groups (%d) <= parts (%d) <= inner (%d)", n_groups, parts,
                       inner);
    if (paradigm == CT_UEP_RXC && (n_groups > rows || n_groups > cols))
        return CT_FAIL(CT_ERR_INVALID_ARG, "uep: rxc needs rows (%d) and cols (%d) >= groups (%d)", rows, cols,
                       n_groups);
    int big = rows > cols ? rows : cols;
    if (inner > big) big = inner;
    int *perm = malloc((size_t)big * sizeof(int));
    int *start = malloc((size_t)(n_split + 1) * sizeof(int));
    double *sd = malloc((size_t)big * sizeof(double));
    if (!perm || !start || !sd) {
        free(perm);
        free(start);
        free(sd);
        return CT_FAIL(CT_ERR_NOMEM, "uep: out of memory generating matrices");
    }
    if (paradigm == CT_UEP_RXC) {
        /* sd of each original row of A / column of B, groups placed in shuffled order */
        split_even(rows, n_groups, start);
        for (int i = 0; i < rows; i++) perm[i] = i;
        shuffle(perm, rows, rng);
        for (int g = 0; g < n_groups; g++)
            for (int t = start[g]; t < start[g + 1]; t++) sd[perm[t]] = sqrt(variances[g]);
        for (int r = 0; r < rows; r++)
            for (int m = 0; m < inner; m++) A[(size_t)r * inner + m] = sd[r] * ct_rng_normal(rng);
        split_even(cols, n_groups, start);
        for (int i = 0; i < cols; i++) perm[i] = i;
        shuffle(perm, cols, rng);
        for (int g = 0; g < n_groups; g++)
            for (int t = start[g]; t < start[g + 1]; t++) sd[perm[t]] = sqrt(variances[g]);
        for (int m = 0; m < inner; m++)
            for (int c = 0; c < cols; c++) B[(size_t)m * cols + c] = sd[c] * ct_rng_normal(rng);
    } else {
        split_even(inner, parts, start);
        for (int i = 0; i < inner; i++) perm[i] = i;
        shuffle(perm, inner, rng);
        for (int q = 0; q < parts; q++)
            for (int t = start[q]; t < start[q + 1]; t++) sd[perm[t]] = sqrt(variances[(int)((long)q * n_groups / parts)]);
        for (int r = 0; r < rows; r++)
            for (int m = 0; m < inner; m++) A[(size_t)r * inner + m] = sd[m] * ct_rng_normal(rng);
        for (int m = 0; m < inner; m++)
            for (int c = 0; c < cols; c++) B[(size_t)m * cols + c] = sd[m] * ct_rng_normal(rng);
    }
    free(perm);
    free(start);
    free(sd);
    return CT_OK;
}
