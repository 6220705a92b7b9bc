/* `codedtrain uep`: the standalone UEP-coded approximate matrix
 * multiplication experiment. Draws A and B with per-group variances, splits
 * the product into 9 block products by importance, and for each worker count
 * N prints each class's decoding probability (analytic and Monte Carlo with
 * real packets) and the normalized error for UEP-NOW, UEP-EW, EEP and
 * uncoded. The library side is include/codedtrain/uep.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/uep.h"
#include "host/args.h"
#include "host/cli.h"
#include "host/jsonl.h"
#include "host/uep_workers.h"

#define UEP_MAX_N_VALUES 1000

static void uep_usage(FILE *f) {
    fprintf(f,
            "usage: codedtrain uep [options]\n"
            "\n"
            "UEP-coded approximate matrix multiplication C = A B with stragglers. A and B\n"
            "have groups of rows/columns with different variances; the product is split\n"
            "into 9 block products ranked by importance and cut into classes of sizes k.\n"
            "Each of N workers returns one coded packet; a packet arrives by the deadline\n"
            "T with probability 1 - exp(-lambda T). For each N prints every class's\n"
            "decoding probability (analytic / simulated with real packets and decoding)\n"
            "and the normalized error ||C - C_hat||^2 / ||C||^2 (analytic / simulated)\n"
            "for UEP-NOW, UEP-EW, EEP (equal protection) and uncoded.\n"
            "\n"
            "options:\n"
            "  --rows R, --inner M, --cols Q   A is R x M, B is M x Q (default 60 each)\n"
            "  --paradigm rxc|cxr   rows x columns (3x3 blocks) or columns x rows (9 parts)\n"
            "                       (default rxc)\n"
            "  --variances LIST     entry variance per group, most important first\n"
            "                       (default 10,1,0.1)\n"
            "  --gamma LIST         window probabilities, summing to 1 (default 0.40,0.35,0.25)\n"
            "  --k LIST             blocks per class, summing to 9 (default 3,3,3)\n"
            "  --workers N|A:B[:S]  worker counts N = A, A+S, ..., B (default 5:30:5);\n"
            "                       a single number is one N; --workers-range is the old spelling\n"
            "  --lambda L           exponential latency rate (default 1)\n"
            "  --deadline T         deadline (default 1)\n"
            "  --schemes LIST       subset of now,ew,eep,uncoded (default all four)\n"
            "  --trials N           Monte Carlo trials per N (default 2000)\n"
            "  --seed S             seed (default 1)\n"
            "  --device host|cpu|cuda|auto   where packets are computed: host = the\n"
            "                       library's double-precision packets (default); cpu/cuda =\n"
            "                       one backend context per worker (a CPU thread or a CUDA\n"
            "                       stream) computing its packet with the float block GEMM\n"
            "                       kernel; auto = cuda when a GPU is usable, else cpu.\n"
            "                       Decoding is on the host in double either way\n"
            "  --clock virtual|real arrivals: virtual = latency <= T (default); real (cpu/cuda\n"
            "                       only) = each worker is held by a throttle for latency x\n"
            "                       --time-scale-ms of wall time, the master takes what is done\n"
            "                       T x --time-scale-ms after the start and cancels the rest\n"
            "  --time-scale-ms S    real clock: wall ms per latency unit (default 1); every\n"
            "                       round takes about T x S ms, so lower --trials\n"
            "  --json               print a JSON array, one object per scheme, N and class\n"
            "\n"
            "examples:\n"
            "  codedtrain uep --workers 3:30:3 --deadline 1\n"
            "  codedtrain uep --paradigm cxr --inner 90 --k 3,3,3 --gamma 0.5,0.3,0.2 --json\n"
            "  codedtrain uep --device cuda --clock real --time-scale-ms 2 --trials 200\n");
}

/* comma list of doubles/ints, naming the flag on error */
static ct_status parse_doubles(const char *flag, const char *s, double lo, double hi, double *out, int max, int *n) {
    char buf[512], tok[64];
    if (strlen(s) >= sizeof buf) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: list too long", flag);
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    const char *p = buf;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (*n == max) return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': at most %d values", flag, s, max);
        if (len >= sizeof tok) return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': value too long", flag, s);
        memcpy(tok, p, len);
        tok[len] = '\0';
        CT_TRY(ct_arg_double(flag, tok, lo, hi, &out[(*n)++]));
        if (!e) break;
        p = e + 1;
    }
    return CT_OK;
}

static ct_status parse_ints(const char *flag, const char *s, long lo, long hi, int *out, int max, int *n) {
    double v[CT_UEP_MAX_BLOCKS];
    CT_TRY(parse_doubles(flag, s, -1e9, 1e9, v, max < CT_UEP_MAX_BLOCKS ? max : CT_UEP_MAX_BLOCKS, n));
    for (int i = 0; i < *n; i++) {
        if (v[i] != (double)(long)v[i]) return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': expected integers", flag, s);
        if (v[i] < lo || v[i] > hi)
            return CT_FAIL(CT_ERR_INVALID_ARG, "%s %ld: must be between %ld and %ld", flag, (long)v[i], lo, hi);
        out[i] = (int)v[i];
    }
    return CT_OK;
}

static ct_status parse_range(const char *flag, const char *s, int *a, int *b, int *step) {
    char buf[64];
    if (strlen(s) >= sizeof buf) return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': expected A:B[:S]", flag, s);
    snprintf(buf, sizeof buf, "%s", s);
    char *f[3] = {buf, NULL, NULL};
    int nf = 1;
    for (char *p = buf; *p; p++)
        if (*p == ':') {
            if (nf == 3) return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': expected A:B[:S]", flag, s);
            *p = '\0';
            f[nf++] = p + 1;
        }
    CT_TRY(ct_arg_int(flag, f[0], 1, CT_UEP_MAX_WORKERS, a));
    *b = *a, *step = 1;
    if (nf >= 2) CT_TRY(ct_arg_int(flag, f[1], 1, CT_UEP_MAX_WORKERS, b));
    if (nf == 3) CT_TRY(ct_arg_int(flag, f[2], 1, CT_UEP_MAX_WORKERS, step));
    if (*b < *a) return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': end %d is below start %d", flag, s, *b, *a);
    if ((*b - *a) / *step + 1 > UEP_MAX_N_VALUES)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s '%s': more than %d values of N", flag, s, UEP_MAX_N_VALUES);
    return CT_OK;
}

static ct_status parse_schemes(const char *s, ct_uep_scheme *out, int *n) {
    char buf[128];
    if (strlen(s) >= sizeof buf) return CT_FAIL(CT_ERR_INVALID_ARG, "--schemes: list too long");
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        ct_uep_scheme sc;
        if (!strcmp(t, "now") || !strcmp(t, "uep-now")) sc = CT_UEP_NOW;
        else if (!strcmp(t, "ew") || !strcmp(t, "uep-ew")) sc = CT_UEP_EW;
        else if (!strcmp(t, "eep")) sc = CT_UEP_EEP;
        else if (!strcmp(t, "uncoded")) sc = CT_UEP_UNCODED;
        else return CT_FAIL(CT_ERR_INVALID_ARG, "--schemes '%s': unknown scheme '%s' (now, ew, eep, uncoded)", s, t);
        for (int i = 0; i < *n; i++)
            if (out[i] == sc) return CT_FAIL(CT_ERR_INVALID_ARG, "--schemes '%s': '%s' given twice", s, t);
        out[(*n)++] = sc;
    }
    if (*n == 0) return CT_FAIL(CT_ERR_INVALID_ARG, "--schemes '%s': no scheme named", s);
    return CT_OK;
}

typedef struct uep_opts {
    int rows, inner, cols, trials, n_lo, n_hi, n_step, json, n_var, n_schemes;
    ct_uep_paradigm paradigm;
    double variances[CT_UEP_MAX_BLOCKS], lambda, deadline;
    ct_uep_params params;
    ct_uep_scheme schemes[CT_UEP_SCHEME_COUNT];
    uint64_t seed;
    int host;              /* --device host: the library's double packets */
    ct_device_kind device; /* otherwise: the backend the workers run on */
    ct_uep_clock clock;
    double time_scale_ms;
} uep_opts;

static ct_status parse_opts(int argc, char **argv, uep_opts *o, int *help) {
    const char *v;
    int n_gamma = 3, n_k = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { *help = 1; return CT_OK; }
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        static const char *value_flags[] = {"--rows", "--inner", "--cols", "--trials", "--lambda", "--deadline",
                                            "--seed", "--variances", "--gamma", "--k", "--workers", "--workers-range",
                                            "--schemes", "--paradigm", "--device", "--clock",
                                            "--time-scale-ms"};
        int known = 0;
        for (size_t f = 0; f < sizeof value_flags / sizeof value_flags[0]; f++) known |= !strcmp(a, value_flags[f]);
        if (!known) return CT_FAIL(CT_ERR_INVALID_ARG, "unknown option '%s' (see codedtrain uep --help)", a);
        CT_TRY(ct_arg_value(argc, argv, &i, &v));
        if (!strcmp(a, "--rows")) CT_TRY(ct_arg_int(a, v, 1, 20000, &o->rows));
        else if (!strcmp(a, "--inner")) CT_TRY(ct_arg_int(a, v, 1, 20000, &o->inner));
        else if (!strcmp(a, "--cols")) CT_TRY(ct_arg_int(a, v, 1, 20000, &o->cols));
        else if (!strcmp(a, "--trials")) CT_TRY(ct_arg_int(a, v, 1, 100000000, &o->trials));
        else if (!strcmp(a, "--lambda")) CT_TRY(ct_arg_double(a, v, 1e-9, 1e9, &o->lambda));
        else if (!strcmp(a, "--deadline")) CT_TRY(ct_arg_double(a, v, 0, 1e9, &o->deadline));
        else if (!strcmp(a, "--seed")) CT_TRY(ct_arg_u64(a, v, &o->seed));
        else if (!strcmp(a, "--variances")) CT_TRY(parse_doubles(a, v, 1e-12, 1e12, o->variances, 9, &o->n_var));
        else if (!strcmp(a, "--gamma")) CT_TRY(parse_doubles(a, v, 0, 1, o->params.gamma, CT_UEP_MAX_CLASSES, &n_gamma));
        else if (!strcmp(a, "--k")) CT_TRY(parse_ints(a, v, 1, 9, o->params.k, CT_UEP_MAX_CLASSES, &n_k));
        else if (!strcmp(a, "--workers") || !strcmp(a, "--workers-range")) /* as in train; old spelling */
            CT_TRY(parse_range(a, v, &o->n_lo, &o->n_hi, &o->n_step));
        else if (!strcmp(a, "--schemes")) CT_TRY(parse_schemes(v, o->schemes, &o->n_schemes));
        else if (!strcmp(a, "--paradigm")) {
            if (!strcmp(v, "rxc")) o->paradigm = CT_UEP_RXC;
            else if (!strcmp(v, "cxr")) o->paradigm = CT_UEP_CXR;
            else return CT_FAIL(CT_ERR_INVALID_ARG, "--paradigm '%s': expected rxc or cxr", v);
        } else if (!strcmp(a, "--device")) {
            o->host = !strcmp(v, "host");
            if (!o->host && ct_device_kind_parse(v, &o->device) != CT_OK)
                return CT_FAIL(CT_ERR_INVALID_ARG, "--device '%s': expected host, cpu, cuda or auto", v);
        } else if (!strcmp(a, "--clock")) {
            CT_TRY(ct_uep_clock_parse(a, v, &o->clock));
        } else if (!strcmp(a, "--time-scale-ms")) {
            CT_TRY(ct_arg_double(a, v, 1e-6, 1e6, &o->time_scale_ms));
        }
    }
    if (o->host && o->clock == CT_UEP_CLOCK_REAL)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--clock real: needs workers on a backend (--device cpu, cuda or auto)");
    if (n_gamma != n_k)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--gamma has %d values and --k %d: one per class each", n_gamma, n_k);
    o->params.n_classes = n_k;
    int parts = o->paradigm == CT_UEP_RXC ? 3 : 9;
    if (o->paradigm == CT_UEP_RXC && (o->rows < 3 || o->cols < 3))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--rows %d / --cols %d: rxc splits each into 3 groups, need >= 3", o->rows,
                       o->cols);
    if (o->paradigm == CT_UEP_CXR && o->inner < 9)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--inner %d: cxr splits it into 9 parts, need >= 9", o->inner);
    if (o->paradigm == CT_UEP_RXC && (o->n_var > o->rows || o->n_var > o->cols))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--variances: %d groups do not fit %d rows / %d cols", o->n_var, o->rows,
                       o->cols);
    if (o->paradigm == CT_UEP_CXR && o->n_var > parts)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--variances: %d groups, cxr has %d parts", o->n_var, parts);
    ct_status st = ct_uep_params_check(&o->params, 9);
    if (st != CT_OK) {
        /* the library names gamma / k; say which flags they came from */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ct_last_error());
        const char *m = strstr(msg, "uep: ");
        return CT_FAIL(st, "--gamma/--k: %s", m ? m + 5 : msg);
    }
    return CT_OK;
}

/* JSON objects collected and printed at the end: nothing half-written on failure */
typedef struct text_buf {
    char *s;
    size_t len, cap;
} text_buf;

static int buf_add(text_buf *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) return 0;
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
    return 1;
}

int ct_cli_uep(int argc, char **argv) {
    uep_opts o;
    memset(&o, 0, sizeof o);
    o.rows = o.inner = o.cols = 60;
    o.trials = 2000;
    o.n_lo = 5, o.n_hi = 30, o.n_step = 5;
    o.lambda = 1, o.deadline = 1, o.seed = 1;
    o.paradigm = CT_UEP_RXC;
    o.n_var = 3;
    o.variances[0] = 10, o.variances[1] = 1, o.variances[2] = 0.1;
    o.params = (ct_uep_params){3, {3, 3, 3}, {0.40, 0.35, 0.25}};
    o.n_schemes = 4;
    o.host = 1, o.device = CT_DEVICE_CPU, o.clock = CT_UEP_CLOCK_VIRTUAL, o.time_scale_ms = 1;
    for (int s = 0; s < 4; s++) o.schemes[s] = (ct_uep_scheme)s;
    int help = 0;
    ct_status st = parse_opts(argc, argv, &o, &help);
    if (help) {
        uep_usage(stdout);
        return 0;
    }
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain uep: %s\n", ct_last_error());
        return ct_status_exit_code(st);
    }

    int parts = o.paradigm == CT_UEP_RXC ? 3 : 9, L = o.params.n_classes;
    double *A = malloc((size_t)o.rows * o.inner * sizeof(double));
    double *B = malloc((size_t)o.inner * o.cols * sizeof(double));
    ct_uep_partition *p = NULL;
    ct_uep_pool *pool = NULL;
    text_buf out = {0};
    double gram[CT_UEP_MAX_BLOCKS * CT_UEP_MAX_BLOCKS];
    if (!A || !B) st = CT_FAIL(CT_ERR_NOMEM, "out of memory for %d x %d and %d x %d matrices", o.rows, o.inner, o.inner, o.cols);
    ct_rng rng;
    ct_rng_seed(&rng, ct_hash64(o.seed, 0x4d41545249434553ull)); /* matrices: their own stream */
    if (st == CT_OK) st = ct_uep_random_matrices(o.paradigm, o.rows, o.inner, o.cols, parts, o.n_var, o.variances, &rng, A, B);
    if (st == CT_OK) st = ct_uep_partition_build(A, B, o.rows, o.inner, o.cols, o.paradigm, parts, &o.params, &p);
    if (st == CT_OK) st = ct_uep_block_gram(p, gram);
    free(A);
    free(B);
    /* one pool for the largest N; smaller N use its first workers */
    if (st == CT_OK && !o.host) {
        st = ct_uep_pool_create(o.device, p, o.n_hi, &pool);
        if (st == CT_ERR_NO_DEVICE || st == CT_ERR_UNSUPPORTED) { /* say which flag asked for it */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", ct_last_error());
            st = CT_FAIL(st, "--device %s: %s", ct_device_kind_name(o.device), msg);
        }
    }
    if (st != CT_OK) goto fail;
    const char *dev_name = o.host ? "host" : ct_device_kind_name(ct_uep_pool_kind(pool));
    const char *clock_name = o.clock == CT_UEP_CLOCK_REAL ? "real" : "virtual";

    int K = p->n_blocks;
    double total = 0, class_energy[CT_UEP_MAX_CLASSES] = {0};
    for (int b = 0; b < K * K; b++) total += gram[b];
    for (int b = 0; b < K; b++) class_energy[p->block_class[b]] += gram[b * K + b];
    double pa = ct_uep_p_arrive(o.lambda, o.deadline);
    if (!o.json) {
        printf("codedtrain uep: %s, A %dx%d, B %dx%d, %d blocks in %d classes, ", ct_uep_paradigm_name(o.paradigm),
               o.rows, o.inner, o.inner, o.cols, K, L);
        if (o.host) printf("device host (double packets)");
        else printf("device %s, %d workers on %s (float block GEMM)", dev_name, o.n_hi, ct_uep_pool_describe(pool));
        if (o.clock == CT_UEP_CLOCK_REAL) printf(", real clock %g ms per latency unit\n", o.time_scale_ms);
        else printf(", virtual clock\n");
        printf("Gamma =");
        for (int l = 0; l < L; l++) printf(" %.3g", o.params.gamma[l]);
        printf(", k =");
        for (int l = 0; l < L; l++) printf(" %d", o.params.k[l]);
        printf(", variances =");
        for (int g = 0; g < o.n_var; g++) printf(" %g", o.variances[g]);
        printf("\nlatency Exp(lambda=%g), deadline T=%g: each packet arrives with p = %.4f; %d trials, seed %llu\n",
               o.lambda, o.deadline, pa, o.trials, (unsigned long long)o.seed);
        printf("blocks by importance (%s, class, share of ||C||^2):", o.paradigm == CT_UEP_RXC ? "A group x B group" : "inner part");
        for (int b = 0; b < K; b++) {
            if (o.paradigm == CT_UEP_RXC) printf(" %d%d:c%d:%.3g", p->block_a[b], p->block_b[b], p->block_class[b], gram[b * K + b] / total);
            else printf(" %d:c%d:%.3g", p->block_a[b], p->block_class[b], gram[b * K + b] / total);
        }
        printf("\nclass energy shares:");
        for (int l = 0; l < L; l++) printf(" class %d %.4f", l, class_energy[l] / total);
        printf("\n\n%4s %-8s", "N", "scheme");
        for (int l = 0; l < L; l++) printf("  P(class %d) an/sim", l);
        printf("  %12s %12s %10s\n", "nmse_an", "nmse_sim", "+-se");
    } else if (!buf_add(&out, "[")) {
        st = CT_FAIL(CT_ERR_NOMEM, "out of memory for the JSON output");
        goto fail;
    }
    int first = 1;
    for (int N = o.n_lo; N <= o.n_hi; N += o.n_step) {
        ct_uep_sim_config cfg = {N, o.lambda, o.deadline, o.trials, ct_hash64(o.seed, (uint64_t)N)};
        ct_uep_sim_result res[CT_UEP_SCHEME_COUNT];
        ct_uep_pool_stats ps = {0, 0, 0};
        if (o.host) st = ct_uep_simulate(p, &o.params, o.schemes, o.n_schemes, &cfg, res);
        else st = ct_uep_simulate_pool(pool, p, &o.params, o.schemes, o.n_schemes, &cfg, o.clock, o.time_scale_ms, res, &ps);
        if (st != CT_OK) goto fail;
        if (!o.json && o.clock == CT_UEP_CLOCK_REAL)
            printf("%4d real clock: %.2f packets arrived and %.2f workers cancelled per round\n", N,
                   ps.rounds ? (double)ps.arrived / ps.rounds : 0.0, ps.rounds ? (double)ps.cancelled / ps.rounds : 0.0);
        for (int s = 0; s < o.n_schemes; s++) {
            double pc[CT_UEP_MAX_CLASSES], nmse;
            st = ct_uep_analyze(o.schemes[s], &o.params, N, pa, gram, pc, &nmse);
            if (st != CT_OK) goto fail;
            if (!o.json) {
                printf("%4d %-8s", N, ct_uep_scheme_name(o.schemes[s]));
                for (int l = 0; l < L; l++) printf("     %6.4f/%6.4f", pc[l], res[s].p_class[l]);
                printf("  %12.4e %12.4e %10.2e\n", nmse, res[s].nmse, res[s].nmse_se);
                continue;
            }
            for (int l = 0; l < L; l++) {
                ct_json j;
                ct_json_begin(&j);
                ct_json_key_str(&j, "scheme", ct_uep_scheme_name(o.schemes[s]));
                ct_json_key_str(&j, "paradigm", ct_uep_paradigm_name(o.paradigm));
                ct_json_key_int(&j, "workers", N);
                ct_json_key_int(&j, "class", l);
                ct_json_key_num(&j, "p_decode_analytic", pc[l]);
                ct_json_key_num(&j, "p_decode_sim", res[s].p_class[l]);
                ct_json_key_num(&j, "nmse", res[s].nmse);
                ct_json_key_num(&j, "nmse_se", res[s].nmse_se);
                ct_json_key_num(&j, "nmse_analytic", nmse);
                ct_json_key_num(&j, "class_energy_share", class_energy[l] / total);
                ct_json_key_num(&j, "p_arrive", pa);
                ct_json_key_num(&j, "mean_arrived", res[s].mean_arrived);
                ct_json_key_num(&j, "lambda", o.lambda);
                ct_json_key_num(&j, "deadline", o.deadline);
                ct_json_key_int(&j, "trials", o.trials);
                ct_json_key_str(&j, "device", dev_name);
                ct_json_key_str(&j, "clock", clock_name);
                if (o.clock == CT_UEP_CLOCK_REAL) {
                    ct_json_key_num(&j, "time_scale_ms", o.time_scale_ms);
                    ct_json_key_num(&j, "cancelled_per_round", ps.rounds ? (double)ps.cancelled / ps.rounds : 0.0);
                }
                const char *txt = ct_json_end(&j);
                int ok = txt && buf_add(&out, first ? "" : ",\n ") && buf_add(&out, txt);
                ct_json_free(&j);
                first = 0;
                if (!ok) {
                    st = CT_FAIL(CT_ERR_NOMEM, "out of memory for the JSON output");
                    goto fail;
                }
            }
        }
        if (!o.json) fflush(stdout);
    }
    if (o.json) {
        if (!buf_add(&out, "]\n")) {
            st = CT_FAIL(CT_ERR_NOMEM, "out of memory for the JSON output");
            goto fail;
        }
        fputs(out.s, stdout);
    }
    free(out.s);
    ct_uep_pool_destroy(pool);
    ct_uep_partition_free(p);
    return 0;
fail:
    fprintf(stderr, "codedtrain uep: %s\n", ct_last_error());
    free(out.s);
    ct_uep_pool_destroy(pool);
    ct_uep_partition_free(p);
    return ct_status_exit_code(st);
}
