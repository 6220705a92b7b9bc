/* Dataset helpers shared by every loader: freeing, scalar normalisation and
 * seeded permutations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codedtrain/data.h"
#include "codedtrain/rng.h"

void ct_dataset_free(ct_dataset *d) {
    if (!d) return;
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

ct_norm ct_dataset_norm_stats(const ct_dataset *ref) {
    ct_norm nm = {0.0f, 1.0f};
    if (!ref || !ref->x || ref->n <= 0 || ref->dim <= 0) return nm;
    size_t count = (size_t)ref->n * (size_t)ref->dim;
    /* two passes in double: tens of millions of values summed in float would
     * lose the low digits of the mean */
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) sum += ref->x[i];
    double mean = sum / (double)count;
    double sq = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)ref->x[i] - mean;
        sq += d * d;
    }
    double std = sqrt(sq / (double)count);
    nm.mean = (float)mean;
    /* a constant dataset has nothing to scale; keep it finite */
    nm.std = (std > 1e-12 && isfinite(std)) ? (float)std : 1.0f;
    return nm;
}

void ct_dataset_normalize(ct_dataset *d, ct_norm nm) {
    if (!d || !d->x || d->n <= 0 || d->dim <= 0) return;
    size_t count = (size_t)d->n * (size_t)d->dim;
    float std = (nm.std > 0.0f && isfinite(nm.std)) ? nm.std : 1.0f;
    float inv_std = 1.0f / std;
    for (size_t i = 0; i < count; i++) d->x[i] = (d->x[i] - nm.mean) * inv_std;
}

void ct_permutation(int32_t *idx, int n, uint64_t seed) {
    if (!idx || n <= 0) return;
    for (int i = 0; i < n; i++) idx[i] = i;
    ct_rng rng;
    ct_rng_seed(&rng, seed);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ct_rng_below(&rng, (uint64_t)i + 1);
        int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

unsigned long long ct_mem_limit_bytes(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    unsigned long long limit = pages > 0 && page > 0 ? (unsigned long long)pages * (unsigned long long)page : 0;
    /* a container's limit (cgroup v2, then v1) counts more than the host's RAM */
    static const char *const files[] = {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) continue;
        unsigned long long v = 0;
        if (fscanf(f, "%llu", &v) == 1 && v > 0 && (limit == 0 || v < limit)) limit = v;
        fclose(f);
    }
    return limit;
}

const char *ct_file_kind(unsigned int m) {
    if (S_ISREG(m)) return "a regular file";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISLNK(m)) return "a symlink";
    return "not a regular file";
}
