/* CIFAR-10 binary batches: each record is 1 label byte followed by 3072 pixel
 * bytes (1024 red, 1024 green, 1024 blue, each 32x32 row-major). Features keep
 * that channel-major order; pixels are scaled to [0,1]. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codedtrain/data.h"

enum {
    CIFAR_CLASSES = 10,
    CIFAR_PIXELS = 3 * 32 * 32,
    CIFAR_RECORD = 1 + CIFAR_PIXELS,
    CIFAR_TRAIN_BATCHES = 5,
    CIFAR_RECORDS_PER_READ = 1000,
};

#define CIFAR_MAX_FILES CIFAR_TRAIN_BATCHES

typedef struct cifar_file {
    char *path;
    size_t records;
} cifar_file;

static char *cifar_path(const char *dir, const char *name) {
    size_t dl = strlen(dir);
    const char *sep = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
    size_t len = dl + strlen(sep) + strlen(name) + 1;
    char *p = malloc(len);
    if (p) snprintf(p, len, "%s%s%s", dir, sep, name);
    return p;
}

/* Sizes a batch file: it must hold a whole, nonzero number of records. */
static ct_status cifar_measure(const char *path, size_t *records) {
    struct stat sb;
    if (stat(path, &sb) != 0) return CT_FAIL(CT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return CT_FAIL(CT_ERR_IO, "%s: not a regular file", path);
    size_t bytes = (size_t)sb.st_size;
    if (bytes == 0) return CT_FAIL(CT_ERR_FORMAT, "%s: empty file, expected %d-byte records", path, CIFAR_RECORD);
    if (bytes % CIFAR_RECORD != 0)
        return CT_FAIL(CT_ERR_FORMAT, "%s: truncated record: %zu bytes hold %zu whole %d-byte records and %zu bytes more",
                       path, bytes, bytes / CIFAR_RECORD, CIFAR_RECORD, bytes % CIFAR_RECORD);
    *records = bytes / CIFAR_RECORD;
    return CT_OK;
}

/* Reads one batch file into x/y (room for f->records already allocated). */
static ct_status cifar_read(const cifar_file *f, unsigned char *buf, float *x, int32_t *y) {
    FILE *fp = fopen(f->path, "rb");
    if (!fp) return CT_FAIL(CT_ERR_IO, "%s: cannot open: %s", f->path, strerror(errno));
    ct_status st = CT_OK;
    float scale[256];
    for (int v = 0; v < 256; v++) scale[v] = (float)v / 255.0f;
    size_t done = 0;
    while (done < f->records) {
        size_t want = f->records - done < CIFAR_RECORDS_PER_READ ? f->records - done : CIFAR_RECORDS_PER_READ;
        size_t got = fread(buf, CIFAR_RECORD, want, fp);
        if (got < want) {
            /* the size was checked, so a short read is an I/O error or a file that shrank */
            if (ferror(fp)) st = CT_FAIL(CT_ERR_IO, "%s: read failed: %s", f->path, strerror(errno));
            else st = CT_FAIL(CT_ERR_FORMAT, "%s: truncated: expected %zu records, file holds %zu", f->path,
                              f->records, done + got);
            break;
        }
        for (size_t r = 0; r < want; r++) {
            const unsigned char *rec = buf + r * CIFAR_RECORD;
            if (rec[0] >= CIFAR_CLASSES) {
                st = CT_FAIL(CT_ERR_FORMAT, "%s: label %d in record %zu is out of range [0, %d)", f->path, rec[0],
                             done + r, CIFAR_CLASSES);
                goto out;
            }
            y[done + r] = rec[0];
            float *row = x + (done + r) * CIFAR_PIXELS;
            for (int i = 0; i < CIFAR_PIXELS; i++) row[i] = scale[rec[1 + i]];
        }
        done += want;
    }
out:
    fclose(fp);
    return st;
}

ct_status ct_dataset_load_cifar10(const char *dir, int train, ct_dataset *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_dataset_load_cifar10: out is NULL");
    memset(out, 0, sizeof *out);
    if (!dir) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_dataset_load_cifar10: dir is NULL");
    struct stat sb;
    if (stat(dir, &sb) != 0) return CT_FAIL(CT_ERR_IO, "%s: cannot open dataset directory: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return CT_FAIL(CT_ERR_IO, "%s: not a directory (expected CIFAR-10 binary batches)", dir);

    cifar_file files[CIFAR_MAX_FILES] = {{0}};
    int nfiles = train ? CIFAR_TRAIN_BATCHES : 1;
    unsigned char *buf = NULL;
    float *x = NULL;
    int32_t *y = NULL;
    ct_status st = CT_OK;
    size_t total = 0;

    for (int i = 0; i < nfiles; i++) {
        char name[32];
        if (train) snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        else snprintf(name, sizeof name, "test_batch.bin");
        files[i].path = cifar_path(dir, name);
        if (!files[i].path) {
            st = CT_FAIL(CT_ERR_NOMEM, "%s: out of memory", dir);
            goto done;
        }
        if ((st = cifar_measure(files[i].path, &files[i].records)) != CT_OK) goto done;
        total += files[i].records;
    }
    if (total > INT32_MAX || total > SIZE_MAX / sizeof(float) / CIFAR_PIXELS) {
        st = CT_FAIL(CT_ERR_FORMAT, "%s: %zu records: too many to address", dir, total);
        goto done;
    }

    buf = malloc((size_t)CIFAR_RECORDS_PER_READ * CIFAR_RECORD);
    x = malloc(total * CIFAR_PIXELS * sizeof(float));
    y = malloc(total * sizeof(int32_t));
    if (!buf || !x || !y) {
        st = CT_FAIL(CT_ERR_NOMEM, "%s: out of memory for %zu images", dir, total);
        goto done;
    }
    size_t at = 0;
    for (int i = 0; i < nfiles; i++) {
        if ((st = cifar_read(&files[i], buf, x + at * CIFAR_PIXELS, y + at)) != CT_OK) goto done;
        at += files[i].records;
    }
    out->n = (int)total;
    out->dim = CIFAR_PIXELS;
    out->classes = CIFAR_CLASSES;
    out->c = 3; /* the R, G, B planes of 32x32 */
    out->h = out->w = 32;
    out->x = x;
    out->y = y;
    x = NULL;
    y = NULL;

done:
    for (int i = 0; i < nfiles; i++) free(files[i].path);
    free(buf);
    free(x);
    free(y);
    return st;
}
