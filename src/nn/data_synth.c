/* Seeded synthetic classification data: one Gaussian cluster per class.
 * Class means have N(0,1) coordinates; a sample is its class mean plus
 * `noise` * N(0,1) per coordinate. Labels are exactly balanced (i mod classes)
 * and then shuffled. Means, labels and noise come from separate streams
 * derived from the seed, so each is a pure function of (seed, arguments). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/data.h"
#include "codedtrain/rng.h"

enum { SYNTH_STREAM_MEANS = 1, SYNTH_STREAM_LABELS = 2, SYNTH_STREAM_NOISE = 3 };

ct_status ct_dataset_synthetic(int n, int dim, int classes, double noise, uint64_t seed, ct_dataset *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_dataset_synthetic: out is NULL");
    memset(out, 0, sizeof *out);
    if (n < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "synthetic dataset: n = %d, must be >= 1", n);
    if (dim < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "synthetic dataset: dim = %d, must be >= 1", dim);
    if (classes < 2) return CT_FAIL(CT_ERR_INVALID_ARG, "synthetic dataset: classes = %d, must be >= 2", classes);
    if (!(noise >= 0.0) || !isfinite(noise))
        return CT_FAIL(CT_ERR_INVALID_ARG, "synthetic dataset: noise = %g, must be finite and >= 0", noise);
    if ((uint64_t)n * (uint64_t)dim > SIZE_MAX / sizeof(float) ||
        (uint64_t)classes * (uint64_t)dim > SIZE_MAX / sizeof(float))
        return CT_FAIL(CT_ERR_INVALID_ARG, "synthetic dataset: %d x %d (%d classes) is too large to address", n, dim,
                       classes);

    size_t count = (size_t)n * (size_t)dim;
    float *means = malloc((size_t)classes * (size_t)dim * sizeof(float));
    float *x = malloc(count * sizeof(float));
    int32_t *y = malloc((size_t)n * sizeof(int32_t));
    if (!means || !x || !y) {
        free(means);
        free(x);
        free(y);
        return CT_FAIL(CT_ERR_NOMEM, "synthetic dataset: out of memory for %d x %d floats", n, dim);
    }

    ct_rng rng;
    ct_rng_seed(&rng, ct_hash64(seed, SYNTH_STREAM_MEANS));
    for (size_t i = 0; i < (size_t)classes * (size_t)dim; i++) means[i] = (float)ct_rng_normal(&rng);

    ct_rng_seed(&rng, ct_hash64(seed, SYNTH_STREAM_LABELS));
    for (int i = 0; i < n; i++) y[i] = i % classes;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ct_rng_below(&rng, (uint64_t)i + 1);
        int32_t t = y[i];
        y[i] = y[j];
        y[j] = t;
    }

    ct_rng_seed(&rng, ct_hash64(seed, SYNTH_STREAM_NOISE));
    for (int i = 0; i < n; i++) {
        const float *mu = means + (size_t)y[i] * (size_t)dim;
        float *row = x + (size_t)i * (size_t)dim;
        for (int j = 0; j < dim; j++) row[j] = (float)((double)mu[j] + noise * ct_rng_normal(&rng));
    }
    free(means);

    out->n = n;
    out->dim = dim;
    out->classes = classes;
    out->x = x;
    out->y = y;
    return CT_OK;
}
