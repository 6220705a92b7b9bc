/* Datasets: IDX (MNIST / Fashion-MNIST, raw or .gz), CIFAR-10 binary, and a
 * seeded synthetic classification generator. All data lives in host memory as
 * float features (row-major, n x dim) and int32 labels. Every loader zeroes
 * *out first and leaves it zeroed (nothing allocated) when it fails. */
#ifndef CODEDTRAIN_DATA_H
#define CODEDTRAIN_DATA_H

#include <stdint.h>

#include "codedtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_dataset {
    int n;       /* samples */
    int dim;     /* features per sample */
    int classes; /* labels are in [0, classes) */
    float *x;    /* n * dim, row-major */
    int32_t *y;  /* n */
    /* image shape of a sample (NCHW: dim = c * h * w); c = 0 for flat data */
    int c, h, w;
} ct_dataset;

/* Default location of the Debian package dataset-fashion-mnist. */
#define CT_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* One IDX image file (magic 0x00000803, u8 pixels, scaled to [0,1]) and its
 * label file (magic 0x00000801). Each path may be raw or gzip'd (detected by
 * content, not by name). classes = 10. Errors: CT_ERR_IO (missing/unreadable),
 * CT_ERR_FORMAT (wrong magic, truncated, trailing bytes, zero or absurd sizes,
 * count mismatch, label >= 10), each naming the file. */
ct_status ct_dataset_load_idx(const char *images_path, const char *labels_path, ct_dataset *out);

/* A directory holding train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
 * t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] (the raw name is
 * preferred when both exist). train: 1 train split, 0 test split. */
ct_status ct_dataset_load_idx_dir(const char *dir, int train, ct_dataset *out);

/* CIFAR-10 binary: a directory with data_batch_1..5.bin (train) or test_batch.bin
 * (test); records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32;
 * features keep that order), scaled to [0,1]. */
ct_status ct_dataset_load_cifar10(const char *dir, int train, ct_dataset *out);

/* Seeded synthetic classification: `classes` Gaussian clusters in `dim`
 * dimensions (class means drawn from the seed, unit-variance noise scaled by
 * `noise`); labels exactly balanced (n mod classes aside) and shuffled; same
 * arguments -> same data, bit for bit. CT_ERR_INVALID_ARG unless n, dim >= 1,
 * classes >= 2, noise finite and >= 0. */
ct_status ct_dataset_synthetic(int n, int dim, int classes, double noise, uint64_t seed,
                               ct_dataset *out);

void ct_dataset_free(ct_dataset *d);

/* Augmentation of image samples (c > 0): a random crop with zero padding
 * (shift by dy, dx in [-crop_pad, crop_pad]) then a horizontal flip with
 * probability 1/2 when flip is set. */
typedef struct ct_augment {
    int crop_pad; /* 0: no crop */
    int flip;
} ct_augment;
/* "none" (or NULL), "crop:P", "flip", "crop:P+flip"; CT_ERR_INVALID_ARG naming the part otherwise. */
ct_status ct_augment_parse(const char *s, ct_augment *out);
int ct_augment_active(const ct_augment *a);
/* out (dim floats) = sample idx of d augmented by the draw of (seed, epoch, idx)
 * alone, so every worker that computes the sample gets the same copy; a plain
 * copy when nothing is active or d is flat. */
void ct_augment_sample(const ct_dataset *d, const ct_augment *a, uint64_t seed, int epoch, int32_t idx, float *out);

/* Per-dataset scalar normalisation: compute mean and std over every feature of
 * `ref` (the training set), then x = (x - mean) / std for each of the given sets. */
typedef struct ct_norm { float mean, std; } ct_norm;
ct_norm ct_dataset_norm_stats(const ct_dataset *ref);
/* Memory this process may use: physical memory, or the cgroup's limit when
 * lower (0 when unknown). Loaders refuse data that could never fit. */
unsigned long long ct_mem_limit_bytes(void);
/* "a directory", "a FIFO", "a character device", ... for a stat st_mode. */
const char *ct_file_kind(unsigned int st_mode);
void ct_dataset_normalize(ct_dataset *d, ct_norm nm);

/* Fisher-Yates permutation of idx[0..n) (filled with 0..n-1 first), by seed. */
void ct_permutation(int32_t *idx, int n, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
