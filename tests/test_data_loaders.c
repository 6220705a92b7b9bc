/* Data loaders: IDX (raw and gzip'd) and CIFAR-10 on small files written here,
 * every malformed-input path, the synthetic generator, permutations,
 * normalisation, and the installed Fashion-MNIST when present. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "codedtrain/data.h"
#include "ct_test.h"

static char tmp_dir[512];

/* Created files, removed at the end so reruns start clean. */
static char created[64][600];
static int n_created = 0;

/* <tmp_dir>/<name>; valid until 8 further calls, so copy paths kept longer */
static const char *tmp_path(const char *name) {
    static char buf[8][600];
    static int slot = 0;
    char *p = buf[slot++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
    return p;
}

static void note_created(const char *path) {
    for (int i = 0; i < n_created; i++)
        if (strcmp(created[i], path) == 0) return;
    if (n_created < 64) snprintf(created[n_created++], sizeof created[0], "%s", path);
}

static void write_file(const char *path, const unsigned char *data, size_t len, int gzip) {
    if (gzip) {
        gzFile g = gzopen(path, "wb");
        if (!g || (len && gzwrite(g, data, (unsigned)len) != (int)len)) {
            fprintf(stderr, "cannot write %s\n", path);
            exit(1);
        }
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, len, f) != len) {
            fprintf(stderr, "cannot write %s\n", path);
            exit(1);
        }
        fclose(f);
    }
    note_created(path);
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* IDX image file bytes: header then `pixel_bytes` pixels (pixel i = (7i+3) mod 256). */
static unsigned char *idx_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols, size_t pixel_bytes,
                                 size_t *len) {
    unsigned char *b = malloc(16 + pixel_bytes);
    put_be32(b, magic);
    put_be32(b + 4, n);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    for (size_t i = 0; i < pixel_bytes; i++) b[16 + i] = (unsigned char)((7 * i + 3) % 256);
    *len = 16 + pixel_bytes;
    return b;
}

/* IDX label file bytes: header then `count` labels (label i = i mod 10). */
static unsigned char *idx_labels(uint32_t magic, uint32_t n, size_t count, size_t *len) {
    unsigned char *b = malloc(8 + count);
    put_be32(b, magic);
    put_be32(b + 4, n);
    for (size_t i = 0; i < count; i++) b[8 + i] = (unsigned char)(i % 10);
    *len = 8 + count;
    return b;
}

static void write_images(const char *name, uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                         size_t pixel_bytes, int gzip) {
    size_t len;
    unsigned char *b = idx_images(magic, n, rows, cols, pixel_bytes, &len);
    write_file(tmp_path(name), b, len, gzip);
    free(b);
}

static void write_labels(const char *name, uint32_t magic, uint32_t n, size_t count, int gzip) {
    size_t len;
    unsigned char *b = idx_labels(magic, n, count, &len);
    write_file(tmp_path(name), b, len, gzip);
    free(b);
}

static int is_zeroed(const ct_dataset *d) {
    return d->n == 0 && d->dim == 0 && d->classes == 0 && d->x == NULL && d->y == NULL;
}

static void poison(ct_dataset *d) {
    d->n = 77;
    d->dim = 77;
    d->classes = 77;
    d->x = (float *)(uintptr_t)0x1;
    d->y = (int32_t *)(uintptr_t)0x1;
}

/* A failing load: the expected status, output zeroed, and a message naming
 * `file` and containing `problem`. */
#define EXPECT_FAIL(call, out, want_status, file, problem)                                                        \
    do {                                                                                                          \
        poison(out);                                                                                              \
        ct_error_clear();                                                                                         \
        ct_status got_ = (call);                                                                                  \
        const char *msg_ = ct_last_error();                                                                       \
        CHECK(got_ == (want_status), "%s -> %s, expected %s (%s)", #call, ct_status_str(got_),                   \
              ct_status_str(want_status), msg_);                                                                  \
        CHECK(is_zeroed(out), "%s left output not zeroed", #call);                                                \
        CHECK(strstr(msg_, (file)) != NULL, "%s: message does not name %s: '%s'", #call, (file), msg_);           \
        CHECK(strstr(msg_, (problem)) != NULL, "%s: message lacks '%s': '%s'", #call, (problem), msg_);           \
        printf("  ok: %s -> %s\n", ct_status_str(got_), msg_);                                                   \
        if (got_ == CT_OK) ct_dataset_free(out);                                                                  \
    } while (0)

static void test_idx_valid(void) {
    enum { N = 5, R = 3, C = 4 };
    for (int gzip = 0; gzip <= 1; gzip++) {
        /* gzip'd files deliberately without a .gz name: detection is by content */
        write_images("img", 0x803, N, R, C, N * R * C, gzip);
        write_labels("lbl", 0x801, N, N, gzip);
        ct_dataset d;
        poison(&d);
        CHECK_OK(ct_dataset_load_idx(tmp_path("img"), tmp_path("lbl"), &d));
        CHECK(d.n == N && d.dim == R * C && d.classes == 10, "gzip=%d: n=%d dim=%d classes=%d", gzip, d.n, d.dim,
              d.classes);
        CHECK(d.c == 1 && d.h == R && d.w == C, "gzip=%d: image shape %dx%dx%d, expected 1x%dx%d", gzip, d.c, d.h, d.w,
              R, C);
        int pixels_ok = 1, labels_ok = 1;
        for (int i = 0; i < N * R * C && d.x; i++)
            if (d.x[i] != (float)((7 * i + 3) % 256) / 255.0f) pixels_ok = 0;
        for (int i = 0; i < N && d.y; i++)
            if (d.y[i] != i % 10) labels_ok = 0;
        CHECK(d.x && pixels_ok, "gzip=%d: pixels differ from the file scaled to [0,1]", gzip);
        CHECK(d.y && labels_ok, "gzip=%d: labels differ from the file", gzip);
        ct_dataset_free(&d);
        CHECK(is_zeroed(&d), "ct_dataset_free leaves a zeroed struct");
    }
    ct_dataset_free(NULL); /* allowed */
}

static void test_idx_malformed(void) {
    enum { N = 6, R = 2, C = 3 };
    ct_dataset d;
    /* own copies: tmp_path's buffers are reused */
    char img[600], lbl[600], good_img[600], good_lbl[600];
    snprintf(img, sizeof img, "%s", tmp_path("bad-img"));
    snprintf(lbl, sizeof lbl, "%s", tmp_path("bad-lbl"));
    snprintf(good_img, sizeof good_img, "%s", tmp_path("good-img"));
    snprintf(good_lbl, sizeof good_lbl, "%s", tmp_path("good-lbl"));
    write_images("good-img", 0x803, N, R, C, N * R * C, 0);
    write_labels("good-lbl", 0x801, N, N, 0);

    EXPECT_FAIL(ct_dataset_load_idx(tmp_path("no-such-images"), good_lbl, &d), &d, CT_ERR_IO, "no-such-images",
                "cannot open");
    EXPECT_FAIL(ct_dataset_load_idx(good_img, tmp_path("no-such-labels"), &d), &d, CT_ERR_IO, "no-such-labels",
                "cannot open");

    write_images("bad-img", 0x801, N, R, C, N * R * C, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "wrong magic");
    write_images("bad-img", 0x12345678, N, R, C, N * R * C, 1);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "wrong magic");
    write_labels("bad-lbl", 0x803, N, N, 0);
    EXPECT_FAIL(ct_dataset_load_idx(good_img, lbl, &d), &d, CT_ERR_FORMAT, "bad-lbl", "wrong magic");

    /* header shorter than 16 bytes */
    write_file(img, (const unsigned char *)"\0\0\x08\x03\0\0", 6, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "truncated");
    write_file(img, (const unsigned char *)"", 0, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "truncated");

    /* truncated images: raw, gzip'd content, and a gzip stream cut short */
    write_images("bad-img", 0x803, N, R, C, N * R * C - 8, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img",
                "truncated: header says 6 images of 2x3 pixels, file holds 4 (plus part of one more)");
    write_images("bad-img", 0x803, N, R, C, 3 * R * C, 1);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img",
                "header says 6 images of 2x3 pixels, file holds 3");
    {
        /* a bigger gzip file so the cut falls inside the deflate data */
        enum { BN = 1000, BR = 28, BC = 28 };
        write_images("big-img.gz", 0x803, BN, BR, BC, (size_t)BN * BR * BC, 1);
        write_labels("big-lbl", 0x801, BN, BN, 0);
        FILE *f = fopen(tmp_path("big-img.gz"), "rb");
        unsigned char *buf = malloc(1 << 20);
        size_t len = f ? fread(buf, 1, 1 << 20, f) : 0;
        if (f) fclose(f);
        write_file(img, buf, len / 2, 0);
        EXPECT_FAIL(ct_dataset_load_idx(img, tmp_path("big-lbl"), &d), &d, CT_ERR_FORMAT, "bad-img", "truncated");
        /* the whole stream but its 8-byte trailer */
        write_file(img, buf, len - 8, 0);
        EXPECT_FAIL(ct_dataset_load_idx(img, tmp_path("big-lbl"), &d), &d, CT_ERR_FORMAT, "bad-img", "truncated");
        /* flipped bytes in the middle: corrupt deflate data or a CRC mismatch */
        for (size_t i = len / 2; i < len / 2 + 16 && i < len; i++) buf[i] ^= 0x5a;
        write_file(img, buf, len, 0);
        EXPECT_FAIL(ct_dataset_load_idx(img, tmp_path("big-lbl"), &d), &d, CT_ERR_FORMAT, "bad-img", "gzip");
        free(buf);
        /* the intact big file loads */
        CHECK_OK(ct_dataset_load_idx(tmp_path("big-img.gz"), tmp_path("big-lbl"), &d));
        CHECK(d.n == BN && d.dim == BR * BC, "big gzip file: n=%d dim=%d", d.n, d.dim);
        ct_dataset_free(&d);
    }

    /* truncated labels, raw and gzip'd */
    write_labels("bad-lbl", 0x801, N, N - 2, 0);
    EXPECT_FAIL(ct_dataset_load_idx(good_img, lbl, &d), &d, CT_ERR_FORMAT, "bad-lbl",
                "truncated: header says 6 labels, file holds 4");
    write_labels("bad-lbl.gz", 0x801, N, N - 1, 1);
    EXPECT_FAIL(ct_dataset_load_idx(good_img, tmp_path("bad-lbl.gz"), &d), &d, CT_ERR_FORMAT, "bad-lbl.gz",
                "header says 6 labels, file holds 5");

    /* trailing bytes past the declared data */
    write_labels("bad-lbl", 0x801, N, N + 3, 0);
    EXPECT_FAIL(ct_dataset_load_idx(good_img, lbl, &d), &d, CT_ERR_FORMAT, "bad-lbl", "extra bytes");

    /* image/label count mismatch */
    write_labels("bad-lbl", 0x801, N - 1, N - 1, 0);
    EXPECT_FAIL(ct_dataset_load_idx(good_img, lbl, &d), &d, CT_ERR_FORMAT, "bad-lbl", "mismatch");

    /* label out of range */
    {
        size_t len;
        unsigned char *b = idx_labels(0x801, N, N, &len);
        b[8 + 4] = 10;
        write_file(lbl, b, len, 0);
        free(b);
        EXPECT_FAIL(ct_dataset_load_idx(good_img, lbl, &d), &d, CT_ERR_FORMAT, "bad-lbl",
                    "label 10 at index 4 is out of range");
    }

    /* zero and absurd dimensions; a header whose n*rows*cols cannot be addressed
     * (must fail without attempting a huge allocation) */
    write_images("bad-img", 0x803, 0, R, C, 0, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "zero");
    write_images("bad-img", 0x803, N, 0, C, 0, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "zero");
    write_images("bad-img", 0x803, N, 65536, 65536, 64, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "absurd");
    write_images("bad-img", 0x803, N, 4096, 8192, 64, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "absurd");
    write_images("bad-img", 0x803, 0xFFFFFFFFu, 4096, 4096, 64, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, good_lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "too many");
    /* a claim beyond this machine's memory: refused from the header, before reading */
    write_images("bad-img", 0x803, 2000000000u, 28, 28, 64, 0);
    write_labels("bad-lbl", 0x801, 2000000000u, 16, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "more than this machine");
    /* a plausible claim the file does not hold: truncated, with memory grown only with the data */
    write_images("bad-img", 0x803, 20000u, 28, 28, 64, 0);
    write_labels("bad-lbl", 0x801, 20000u, 16, 0);
    EXPECT_FAIL(ct_dataset_load_idx(img, lbl, &d), &d, CT_ERR_FORMAT, "bad-img", "truncated");

    /* a directory where a file was expected */
    EXPECT_FAIL(ct_dataset_load_idx(tmp_dir, good_lbl, &d), &d, CT_ERR_IO, tmp_dir, "not a regular file");
}

static void test_idx_dir(void) {
    enum { N = 4, R = 2, C = 2 };
    ct_dataset d;
    /* train raw, test gzip'd with .gz names */
    write_images("train-images-idx3-ubyte", 0x803, N, R, C, N * R * C, 0);
    write_labels("train-labels-idx1-ubyte", 0x801, N, N, 0);
    write_images("t10k-images-idx3-ubyte.gz", 0x803, N - 1, R, C, (N - 1) * R * C, 1);
    CHECK_OK(ct_dataset_load_idx_dir(tmp_dir, 1, &d));
    CHECK(d.n == N && d.dim == R * C, "dir train: n=%d dim=%d", d.n, d.dim);
    ct_dataset_free(&d);
    EXPECT_FAIL(ct_dataset_load_idx_dir(tmp_dir, 0, &d), &d, CT_ERR_IO, "t10k-labels-idx1-ubyte",
                "found neither");
    write_labels("t10k-labels-idx1-ubyte.gz", 0x801, N - 1, N - 1, 1);
    CHECK_OK(ct_dataset_load_idx_dir(tmp_dir, 0, &d));
    CHECK(d.n == N - 1 && d.dim == R * C, "dir test: n=%d dim=%d", d.n, d.dim);
    ct_dataset_free(&d);
    EXPECT_FAIL(ct_dataset_load_idx_dir(tmp_path("no-such-dir"), 1, &d), &d, CT_ERR_IO, "no-such-dir",
                "cannot open");
    EXPECT_FAIL(ct_dataset_load_idx_dir(tmp_path("good-img"), 1, &d), &d, CT_ERR_IO, "good-img", "not a directory");
}

/* CIFAR record r of a test batch: label (r + shift) mod 10, pixels (r + i) mod 256. */
static void write_cifar(const char *name, int records, int shift, size_t cut) {
    size_t len = (size_t)records * 3073;
    unsigned char *b = malloc(len);
    for (int r = 0; r < records; r++) {
        unsigned char *rec = b + (size_t)r * 3073;
        rec[0] = (unsigned char)((r + shift) % 10);
        for (int i = 0; i < 3072; i++) rec[1 + i] = (unsigned char)((r + i) % 256);
    }
    write_file(tmp_path(name), b, len - cut, 0);
    free(b);
}

static void test_cifar(void) {
    ct_dataset d;
    char name[64];
    EXPECT_FAIL(ct_dataset_load_cifar10(tmp_dir, 1, &d), &d, CT_ERR_IO, "data_batch_1.bin", "cannot open");
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", i);
        write_cifar(name, 3, i, 0);
    }
    write_cifar("test_batch.bin", 2, 0, 0);
    CHECK_OK(ct_dataset_load_cifar10(tmp_dir, 1, &d));
    CHECK(d.c == 3 && d.h == 32 && d.w == 32, "cifar image shape %dx%dx%d", d.c, d.h, d.w);
    CHECK(d.n == 15 && d.dim == 3072 && d.classes == 10, "cifar train: n=%d dim=%d classes=%d", d.n, d.dim,
          d.classes);
    if (d.n == 15) {
        CHECK(d.y[0] == 1 && d.y[3] == 2 && d.y[14] == (2 + 5) % 10, "cifar labels in file order: %d %d %d", d.y[0],
              d.y[3], d.y[14]);
        CHECK(d.x[3072 * 4 + 5] == (float)((1 + 5) % 256) / 255.0f, "cifar pixel scaled to [0,1]");
    }
    ct_dataset_free(&d);
    CHECK_OK(ct_dataset_load_cifar10(tmp_dir, 0, &d));
    CHECK(d.n == 2 && d.dim == 3072, "cifar test: n=%d", d.n);
    ct_dataset_free(&d);

    write_cifar("data_batch_3.bin", 3, 0, 100);
    EXPECT_FAIL(ct_dataset_load_cifar10(tmp_dir, 1, &d), &d, CT_ERR_FORMAT, "data_batch_3.bin", "truncated record");
    write_cifar("data_batch_3.bin", 3, 0, 0);
    {
        size_t len = 2 * 3073;
        unsigned char *b = calloc(1, len);
        b[3073] = 10;
        write_file(tmp_path("test_batch.bin"), b, len, 0);
        free(b);
    }
    EXPECT_FAIL(ct_dataset_load_cifar10(tmp_dir, 0, &d), &d, CT_ERR_FORMAT, "test_batch.bin",
                "label 10 in record 1 is out of range");
    EXPECT_FAIL(ct_dataset_load_cifar10(tmp_path("no-such-dir"), 0, &d), &d, CT_ERR_IO, "no-such-dir",
                "cannot open");
}

static void test_synthetic(void) {
    enum { N = 3000, D = 7, K = 5 };
    ct_dataset a, b, c;
    CHECK_OK(ct_dataset_synthetic(N, D, K, 0.5, 42, &a));
    CHECK_OK(ct_dataset_synthetic(N, D, K, 0.5, 42, &b));
    CHECK_OK(ct_dataset_synthetic(N, D, K, 0.5, 43, &c));
    if (a.x && b.x && c.x) {
        CHECK(a.n == N && a.dim == D && a.classes == K, "synthetic shape %d x %d, %d classes", a.n, a.dim, a.classes);
        CHECK(memcmp(a.x, b.x, sizeof(float) * N * D) == 0 && memcmp(a.y, b.y, sizeof(int32_t) * N) == 0,
              "same seed gives identical bytes");
        CHECK(memcmp(a.x, c.x, sizeof(float) * N * D) != 0 && memcmp(a.y, c.y, sizeof(int32_t) * N) != 0,
              "different seed gives different data");
        int hist[K] = {0}, in_range = 1, finite = 1;
        for (int i = 0; i < N; i++) {
            if (a.y[i] < 0 || a.y[i] >= K) in_range = 0;
            else hist[a.y[i]]++;
        }
        for (int i = 0; i < N * D; i++)
            if (!isfinite(a.x[i])) finite = 0;
        CHECK(in_range, "labels in [0, %d)", K);
        CHECK(finite, "features finite");
        for (int k = 0; k < K; k++)
            CHECK(hist[k] >= N / K - N / (5 * K) && hist[k] <= N / K + N / (5 * K), "class %d has %d of %d samples",
                  k, hist[k], N);
        /* labels are shuffled, not in blocks */
        int runs = 0;
        for (int i = 1; i < N; i++) runs += a.y[i] != a.y[i - 1];
        CHECK(runs > N / 2, "labels look shuffled (%d changes)", runs);
        /* clusters are learnable: nearest class centroid classifies most samples */
        double cent[K][D];
        memset(cent, 0, sizeof cent);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < D; j++) cent[a.y[i]][j] += a.x[i * D + j] / hist[a.y[i]];
        int right = 0;
        for (int i = 0; i < N; i++) {
            int best = 0;
            double best_d = INFINITY;
            for (int k = 0; k < K; k++) {
                double dd = 0;
                for (int j = 0; j < D; j++) dd += (a.x[i * D + j] - cent[k][j]) * (a.x[i * D + j] - cent[k][j]);
                if (dd < best_d) best_d = dd, best = k;
            }
            right += best == a.y[i];
        }
        CHECK(right > N * 8 / 10, "nearest centroid gets %d of %d right", right, N);
    }
    ct_dataset_free(&a);
    ct_dataset_free(&b);
    ct_dataset_free(&c);

    ct_dataset d;
    EXPECT_FAIL(ct_dataset_synthetic(0, D, K, 1.0, 1, &d), &d, CT_ERR_INVALID_ARG, "synthetic", "n = 0");
    EXPECT_FAIL(ct_dataset_synthetic(10, 0, K, 1.0, 1, &d), &d, CT_ERR_INVALID_ARG, "synthetic", "dim = 0");
    EXPECT_FAIL(ct_dataset_synthetic(10, D, 1, 1.0, 1, &d), &d, CT_ERR_INVALID_ARG, "synthetic", "classes = 1");
    EXPECT_FAIL(ct_dataset_synthetic(10, D, K, -1.0, 1, &d), &d, CT_ERR_INVALID_ARG, "synthetic", "noise");
    EXPECT_FAIL(ct_dataset_synthetic(10, D, K, NAN, 1, &d), &d, CT_ERR_INVALID_ARG, "synthetic", "noise");
}

static void test_permutation(void) {
    enum { N = 1000 };
    static int32_t a[N], b[N], c[N];
    ct_permutation(a, N, 7);
    ct_permutation(b, N, 7);
    ct_permutation(c, N, 8);
    int seen[N] = {0}, is_perm = 1, fixed = 0;
    for (int i = 0; i < N; i++) {
        if (a[i] < 0 || a[i] >= N || seen[a[i]]++) is_perm = 0;
        fixed += a[i] == i;
    }
    CHECK(is_perm, "ct_permutation gives a permutation of 0..n-1");
    CHECK(fixed < 20, "permutation moves almost everything (%d fixed points)", fixed);
    CHECK(memcmp(a, b, sizeof a) == 0, "same seed, same permutation");
    CHECK(memcmp(a, c, sizeof a) != 0, "different seed, different permutation");
    int32_t one = 5;
    ct_permutation(&one, 1, 3);
    CHECK(one == 0, "n = 1 gives {0}");
    ct_permutation(NULL, 0, 3); /* allowed, does nothing */
}

static void check_normalized(const ct_dataset *d, const char *what) {
    size_t count = (size_t)d->n * d->dim;
    double s = 0, sq = 0;
    for (size_t i = 0; i < count; i++) s += d->x[i];
    double mean = s / count;
    for (size_t i = 0; i < count; i++) sq += (d->x[i] - mean) * (d->x[i] - mean);
    double std = sqrt(sq / count);
    CHECK(fabs(mean) < 1e-3 && fabs(std - 1.0) < 1e-3, "%s normalised: mean %g std %g", what, mean, std);
}

static void test_normalisation(void) {
    ct_dataset d;
    CHECK_OK(ct_dataset_synthetic(500, 9, 3, 2.0, 5, &d));
    if (!d.x) return;
    for (int i = 0; i < d.n * d.dim; i++) d.x[i] = 3.0f + 0.25f * d.x[i]; /* offset and scale */
    ct_norm nm = ct_dataset_norm_stats(&d);
    CHECK(nm.std > 0 && isfinite(nm.mean), "stats finite: mean %g std %g", nm.mean, nm.std);
    ct_dataset_normalize(&d, nm);
    check_normalized(&d, "synthetic reference set");
    ct_dataset_free(&d);

    /* a constant set keeps a finite, unit std */
    float x[4] = {2, 2, 2, 2};
    int32_t y[2] = {0, 1};
    ct_dataset k = {2, 2, 2, x, y, 0, 0, 0};
    ct_norm kn = ct_dataset_norm_stats(&k);
    CHECK(kn.mean == 2.0f && kn.std == 1.0f, "constant set: mean %g std %g", kn.mean, kn.std);
    ct_dataset_normalize(&k, kn);
    CHECK(x[0] == 0.0f && x[3] == 0.0f, "constant set normalises to zeros");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_fashion_mnist(void) {
    struct stat sb;
    if (stat(CT_FASHION_MNIST_DIR, &sb) != 0) {
        printf("note: %s not installed; skipping the Fashion-MNIST part\n", CT_FASHION_MNIST_DIR);
        return;
    }
    ct_dataset train, test;
    double t0 = now_s();
    CHECK_OK(ct_dataset_load_idx_dir(CT_FASHION_MNIST_DIR, 1, &train));
    double t1 = now_s();
    CHECK_OK(ct_dataset_load_idx_dir(CT_FASHION_MNIST_DIR, 0, &test));
    printf("  Fashion-MNIST: train loaded in %.3f s, test in %.3f s\n", t1 - t0, now_s() - t1);
    CHECK(train.n == 60000 && train.dim == 784 && train.classes == 10, "train n=%d dim=%d", train.n, train.dim);
    CHECK(test.n == 10000 && test.dim == 784 && test.classes == 10, "test n=%d dim=%d", test.n, test.dim);
    if (train.y && test.y) {
        int htrain[10] = {0}, htest[10] = {0};
        for (int i = 0; i < train.n; i++) htrain[train.y[i]]++;
        for (int i = 0; i < test.n; i++) htest[test.y[i]]++;
        for (int k = 0; k < 10; k++) {
            CHECK(htrain[k] == 6000, "train class %d has %d samples", k, htrain[k]);
            CHECK(htest[k] == 1000, "test class %d has %d samples", k, htest[k]);
        }
        float lo = 1, hi = 0;
        for (size_t i = 0; i < (size_t)train.n * train.dim; i++) {
            if (train.x[i] < lo) lo = train.x[i];
            if (train.x[i] > hi) hi = train.x[i];
        }
        CHECK(lo == 0.0f && hi == 1.0f, "pixels span [0,1]: [%g, %g]", lo, hi);
        ct_norm nm = ct_dataset_norm_stats(&train);
        printf("  Fashion-MNIST train: mean %.4f std %.4f\n", nm.mean, nm.std);
        ct_dataset_normalize(&train, nm);
        ct_dataset_normalize(&test, nm);
        check_normalized(&train, "Fashion-MNIST train");
    }
    ct_dataset_free(&train);
    ct_dataset_free(&test);
}

static void remove_created(void) {
    for (int i = 0; i < n_created; i++) remove(created[i]);
    rmdir(tmp_dir);
}

int main(void) {
    const char *base = getenv("CT_TEST_TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/test_data_loaders.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("idx valid\n");
    test_idx_valid();
    printf("idx malformed\n");
    test_idx_malformed();
    printf("idx dir\n");
    test_idx_dir();
    printf("cifar-10\n");
    test_cifar();
    printf("synthetic\n");
    test_synthetic();
    printf("permutation\n");
    test_permutation();
    printf("normalisation\n");
    test_normalisation();
    printf("fashion-mnist\n");
    test_fashion_mnist();
    remove_created();
    return ct_test_done("test_data_loaders");
}
