/* Decode latency per call against n for every gradient-code scheme, cold
 * (pattern cache cleared before each call) and cached (one pattern repeated).
 * Straggler patterns: s = max(1, n/8) whole workers chosen at random.
 * Goals (issue 3): cached <= 2 us everywhere; cold <= 1 ms at n = 64.
 *
 * usage: bench_decode [--max-n N] [--cell-budget SECONDS] [--alpha A]
 * Prints a Markdown table on stdout and progress on stderr. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codedtrain/codes.h"
#include "codedtrain/rng.h"

#define COLD_MAX_CALLS 201
#define COLD_MIN_CALLS 5
#define CACHED_SAMPLES 201
#define CACHED_BATCH 100 /* one cached call is tens of ns: time batches */
#define GOAL_CACHED_US 2.0
#define GOAL_COLD_US 1000.0
#define GOAL_COLD_N 64
/* a scheme whose create took longer than this is not tried at larger n */
#define CREATE_GIVE_UP_S 20.0

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The machine is shared: the load average says how much to trust a run. */
static void print_load_average(const char *when) {
    char line[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(line, sizeof line, f)) snprintf(line, sizeof line, "?");
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    printf("load average %s: %s (OPENBLAS_NUM_THREADS=%s)\n", when, line, threads ? threads : "unset");
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int count) {
    qsort(v, (size_t)count, sizeof *v, compare_doubles);
    return count % 2 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]);
}

/* Every worker arrives except `s` chosen uniformly at random. */
static void random_arrivals(const ct_code *code, int s, ct_rng *rng, int *perm, uint64_t *mask) {
    int n = ct_code_n_workers(code);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int t = 0; t < s; t++) {
        int u = t + (int)ct_rng_below(rng, (uint64_t)(n - t));
        int tmp = perm[t]; perm[t] = perm[u]; perm[u] = tmp;
    }
    memset(mask, 0, (size_t)ct_code_mask_words(code) * sizeof(uint64_t));
    for (int t = s; t < n; t++) ct_code_mask_add_worker(code, perm[t], mask);
}

typedef struct cell {
    int built;
    char note[160];
    int s, k, load, messages;
    double create_s, cold_us, cached_us;
    int cold_calls;
} cell;

/* The s used for a scheme at n: the benchmark's s = max(1, n/8), adjusted
 * where the scheme constrains it (note says how). */
static int scheme_stragglers(ct_code_scheme scheme, int n, char *note, size_t note_size) {
    int s = n / 8 > 1 ? n / 8 : 1;
    if (scheme == CT_CODE_UNCODED) {
        snprintf(note, note_size, "s=0 (uncoded waits for all)");
        return 0;
    }
    if (scheme == CT_CODE_FREP || scheme == CT_CODE_ERASUREHEAD) {
        int want = s;
        while ((n % (s + 1)) != 0) s++; /* groups of s+1 workers must tile n */
        if (s != want) snprintf(note, note_size, "s=%d: (s+1) must divide n", s);
    }
    return s;
}

static void measure(ct_code_scheme scheme, int n, double alpha, double cell_budget_s, cell *out) {
    memset(out, 0, sizeof *out);
    ct_code_spec spec = CT_CODE_SPEC_INIT;
    spec.scheme = scheme;
    spec.n_workers = n;
    spec.stragglers = scheme_stragglers(scheme, n, out->note, sizeof out->note);
    spec.seed = 1;
    if (scheme == CT_CODE_ALPHA_SUBSET || scheme == CT_CODE_ALPHA_CYCLIC) spec.alpha = alpha;
    out->s = spec.stragglers;
    ct_code *code = NULL;
    double t0 = now_s();
    ct_status st = ct_code_create(&spec, &code);
    out->create_s = now_s() - t0;
    if (st != CT_OK) {
        snprintf(out->note, sizeof out->note, "refused: %s", ct_last_error());
        return;
    }
    out->built = 1;
    out->k = ct_code_n_partitions(code);
    out->load = ct_code_max_load(code);
    out->messages = ct_code_max_messages(code);
    int words = ct_code_mask_words(code);
    uint64_t *mask = calloc((size_t)words, sizeof *mask);
    int *perm = malloc((size_t)n * sizeof *perm);
    double *samples = malloc((COLD_MAX_CALLS > CACHED_SAMPLES ? COLD_MAX_CALLS : CACHED_SAMPLES) * sizeof *samples);
    if (!mask || !perm || !samples) {
        snprintf(out->note, sizeof out->note, "out of memory");
        out->built = 0;
        goto done;
    }
    ct_rng rng;
    ct_rng_seed(&rng, 0xbe7c4ull + (uint64_t)n);
    ct_decode_result res;

    /* cold: a fresh random pattern and an empty cache for every call; the
     * cache clear itself is not timed */
    int calls = 0;
    double started = now_s();
    while (calls < COLD_MAX_CALLS && (calls < COLD_MIN_CALLS || now_s() - started < cell_budget_s)) {
        random_arrivals(code, out->s, &rng, perm, mask);
        ct_code_cache_clear(code);
        double c0 = now_s();
        st = ct_code_decode(code, mask, &res);
        samples[calls++] = (now_s() - c0) * 1e6;
        if (st != CT_OK) {
            snprintf(out->note, sizeof out->note, "decode failed: %s", ct_last_error());
            out->built = 0;
            goto done;
        }
    }
    out->cold_calls = calls;
    out->cold_us = median_of(samples, calls);

    /* cached: the last pattern again and again (first call fills the cache) */
    ct_code_decode(code, mask, &res);
    for (int r = 0; r < CACHED_SAMPLES; r++) {
        double c0 = now_s();
        for (int c = 0; c < CACHED_BATCH; c++) ct_code_decode(code, mask, &res);
        samples[r] = (now_s() - c0) * 1e6 / CACHED_BATCH;
    }
    if (!res.cache_hit) snprintf(out->note, sizeof out->note, "cache did not hit");
    out->cached_us = median_of(samples, CACHED_SAMPLES);
done:
    free(mask);
    free(perm);
    free(samples);
    ct_code_destroy(code);
}

int main(int argc, char **argv) {
    int max_n = 256;
    double cell_budget_s = 1.5, alpha = 0.95;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--max-n") && i + 1 < argc) max_n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cell-budget") && i + 1 < argc) cell_budget_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--alpha") && i + 1 < argc) alpha = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_decode [--max-n N] [--cell-budget SECONDS] [--alpha A]\n");
            return 2;
        }
    }
    static const int sizes[] = {8, 16, 32, 64, 128, 256};
    const int n_sizes = (int)(sizeof sizes / sizeof sizes[0]);
    double bench_start = now_s();
    int cached_missed = 0, cold_missed = 0, cold_checked = 0;
    print_load_average("at start");
    printf("\n");

    printf("| scheme | n | s | k | d | m | create ms | cold us (median, calls) | cached us | notes |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int sc = 0; sc < CT_CODE_SCHEME_COUNT; sc++) {
        ct_code_scheme scheme = (ct_code_scheme)sc;
        const char *name = ct_code_scheme_name(scheme);
        int gave_up = 0;
        for (int z = 0; z < n_sizes && sizes[z] <= max_n; z++) {
            int n = sizes[z];
            if (gave_up) {
                printf("| %s | %d | | | | | | | | skipped: create too slow at smaller n |\n", name, n);
                continue;
            }
            fprintf(stderr, "bench_decode: %s n=%d ...\n", name, n);
            cell c;
            measure(scheme, n, alpha, cell_budget_s, &c);
            if (c.create_s > CREATE_GIVE_UP_S) gave_up = 1;
            if (!c.built) {
                printf("| %s | %d | %d | | | | %.1f | | | %s |\n", name, n, c.s, c.create_s * 1e3, c.note);
                continue;
            }
            char notes[320];
            int len = snprintf(notes, sizeof notes, "%s", c.note);
            if (c.cached_us > GOAL_CACHED_US) {
                cached_missed++;
                len += snprintf(notes + len, sizeof notes - (size_t)len, "%scached goal missed", len ? "; " : "");
            }
            if (n == GOAL_COLD_N) {
                cold_checked++;
                int met = c.cold_us <= GOAL_COLD_US;
                cold_missed += !met;
                snprintf(notes + len, sizeof notes - (size_t)len, "%scold <= 1 ms: %s", len ? "; " : "",
                         met ? "met" : "MISSED");
            }
            printf("| %s | %d | %d | %d | %d | %d | %.1f | %.2f (%d) | %.3f | %s |\n", name, n, c.s, c.k, c.load,
                   c.messages, c.create_s * 1e3, c.cold_us, c.cold_calls, c.cached_us, notes);
            fflush(stdout);
        }
    }
    printf("\nalpha schemes built with alpha = %g. Goals: cached <= %.0f us: %s (%d cells over); "
           "cold <= 1 ms at n = %d: %d of %d schemes met.\n",
           alpha, GOAL_CACHED_US, cached_missed ? "MISSED" : "met", cached_missed, GOAL_COLD_N,
           cold_checked - cold_missed, cold_checked);
    printf("total bench time %.1f s\n", now_s() - bench_start);
    print_load_average("at end");
    return 0;
}
