/* IDX reader (MNIST, Fashion-MNIST): u8 image files (magic 0x00000803) and u8
 * label files (magic 0x00000801), raw or gzip'd. zlib's gzread passes non-gzip
 * files through unchanged, so compression is detected from the content and the
 * file name does not matter. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "codedtrain/data.h"

enum {
    IDX_MAGIC_LABELS = 0x00000801, /* u8 data, 1 dimension */
    IDX_MAGIC_IMAGES = 0x00000803, /* u8 data, 3 dimensions */
    IDX_CLASSES = 10,
};

/* Bounds past which a header is considered corrupt rather than merely large. */
#define IDX_MAX_SIDE 65535u          /* rows or cols */
#define IDX_MAX_FEATURES (1u << 24)  /* rows * cols */

#define IDX_CHUNK_BYTES ((size_t)1 << 20)
#define IDX_INITIAL_ITEMS ((size_t)1 << 22)

static uint32_t be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* Turns a failed gzread into one message naming the file. */
static ct_status gz_failure(gzFile g, const char *path) {
    int errnum = Z_OK;
    const char *zmsg = gzerror(g, &errnum);
    /* zlib prefixes its message with the path, which ours already names */
    size_t plen = strlen(path);
    if (strncmp(zmsg, path, plen) == 0 && strncmp(zmsg + plen, ": ", 2) == 0) zmsg += plen + 2;
    switch (errnum) {
    case Z_ERRNO: return CT_FAIL(CT_ERR_IO, "%s: read failed: %s", path, strerror(errno));
    case Z_DATA_ERROR: return CT_FAIL(CT_ERR_FORMAT, "%s: corrupt gzip data (%s)", path, zmsg);
    case Z_MEM_ERROR: return CT_FAIL(CT_ERR_NOMEM, "%s: out of memory while decompressing", path);
    default: return CT_FAIL(CT_ERR_IO, "%s: read failed (%s)", path, zmsg);
    }
}

/* Reads up to `want` bytes; *got < want means the file ended early (for a gzip
 * file whose stream was cut short, zlib reports Z_BUF_ERROR, which is the same
 * thing: truncation). */
static ct_status read_upto(gzFile g, const char *path, void *buf, size_t want, size_t *got) {
    unsigned char *p = buf;
    size_t total = 0;
    while (total < want) {
        size_t left = want - total;
        unsigned ask = left > (1u << 30) ? (1u << 30) : (unsigned)left; /* gzread takes unsigned, returns int */
        int r = gzread(g, p + total, ask);
        if (r < 0) return gz_failure(g, path);
        if (r == 0) break;
        total += (size_t)r;
    }
    *got = total;
    return CT_OK;
}

static ct_status open_idx(const char *path, gzFile *out) {
    /* only a regular file: a FIFO would block the open, a directory reads as garbage */
    struct stat sb;
    if (stat(path, &sb) != 0) return CT_FAIL(CT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return CT_FAIL(CT_ERR_IO, "%s: not a regular file (%s)", path, ct_file_kind(sb.st_mode));
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) {
        if (errno) return CT_FAIL(CT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return CT_FAIL(CT_ERR_NOMEM, "%s: cannot open: out of memory", path);
    }
    /* a large buffer keeps inflate streaming: tens of MB load in a fraction of a second */
    gzbuffer(g, 1u << 20);
    *out = g;
    return CT_OK;
}

static const char *magic_kind(uint32_t magic) {
    if (magic == IDX_MAGIC_LABELS) return "an IDX label file";
    if (magic == IDX_MAGIC_IMAGES) return "an IDX image file";
    if ((magic >> 16) == 0x1f8b) return "a gzip file inside a gzip file";
    if ((magic >> 16) == 0 && ((magic >> 8) & 0xff) != 0x08) return "IDX, but not unsigned-byte data";
    if ((magic >> 16) == 0) return "IDX, with the wrong number of dimensions";
    return "not an IDX file";
}

/* Reads the magic and the `ndims` dimension sizes that follow it. */
static ct_status read_header(gzFile g, const char *path, uint32_t want_magic, int ndims, uint32_t *dims) {
    unsigned char head[16];
    size_t head_len = 4 + 4 * (size_t)ndims, got = 0;
    CT_TRY(read_upto(g, path, head, head_len, &got));
    if (got < 4)
        return CT_FAIL(CT_ERR_FORMAT, "%s: truncated: %zu bytes, too short for an IDX header", path, got);
    uint32_t magic = be32(head);
    if (magic != want_magic)
        return CT_FAIL(CT_ERR_FORMAT, "%s: wrong magic 0x%08x (%s), expected 0x%08x (%s)", path, magic,
                       magic_kind(magic), want_magic, magic_kind(want_magic));
    if (got < head_len)
        return CT_FAIL(CT_ERR_FORMAT, "%s: truncated: header needs %zu bytes, file holds %zu", path, head_len, got);
    for (int i = 0; i < ndims; i++) dims[i] = be32(head + 4 + 4 * i);
    return CT_OK;
}

/* Reads `count` u8 items and widens them into a new array: pixels to floats in
 * [0,1], labels to int32. The array grows with the data actually present, so a
 * corrupt header claiming billions of items fails as "truncated", not as a huge
 * allocation. */
static ct_status read_body(gzFile g, const char *path, size_t count, int as_pixels, void **out, size_t *got) {
    size_t item_size = as_pixels ? sizeof(float) : sizeof(int32_t);
    size_t capacity = count < IDX_INITIAL_ITEMS ? count : IDX_INITIAL_ITEMS;
    unsigned char *chunk = malloc(IDX_CHUNK_BYTES);
    void *data = malloc(capacity * item_size);
    size_t total = 0;
    ct_status st = CT_OK;
    *out = NULL;
    *got = 0;
    if (!chunk || !data) {
        st = CT_FAIL(CT_ERR_NOMEM, "%s: out of memory for %zu items", path, capacity);
        goto done;
    }
    float scale[256];
    for (int v = 0; v < 256; v++) scale[v] = (float)v / 255.0f;

    while (total < count) {
        size_t want = count - total < IDX_CHUNK_BYTES ? count - total : IDX_CHUNK_BYTES;
        size_t n = 0;
        st = read_upto(g, path, chunk, want, &n);
        if (st != CT_OK) goto done;
        if (n == 0) break;
        if (total + n > capacity) {
            size_t grown = capacity * 2 > count ? count : capacity * 2;
            if (grown < total + n) grown = total + n;
            void *bigger = realloc(data, grown * item_size);
            if (!bigger) {
                st = CT_FAIL(CT_ERR_NOMEM, "%s: out of memory for %zu items", path, grown);
                goto done;
            }
            data = bigger;
            capacity = grown;
        }
        if (as_pixels) {
            float *x = (float *)data + total;
            for (size_t i = 0; i < n; i++) x[i] = scale[chunk[i]];
        } else {
            int32_t *y = (int32_t *)data + total;
            for (size_t i = 0; i < n; i++) y[i] = chunk[i];
        }
        total += n;
        if (n < want) break;
    }
done:
    free(chunk);
    if (st != CT_OK) {
        free(data);
        return st;
    }
    *out = data;
    *got = total;
    return CT_OK;
}

/* After the declared data the file must end; reading one more byte also makes
 * zlib check the gzip trailer (CRC and length). */
static ct_status expect_end(gzFile g, const char *path, const char *what) {
    unsigned char extra;
    int r = gzread(g, &extra, 1);
    if (r < 0) return gz_failure(g, path);
    if (r > 0) return CT_FAIL(CT_ERR_FORMAT, "%s: extra bytes after the %s the header declares", path, what);
    int errnum = Z_OK;
    gzerror(g, &errnum);
    if (errnum == Z_BUF_ERROR)
        return CT_FAIL(CT_ERR_FORMAT, "%s: truncated: gzip stream ends without its trailer", path);
    return CT_OK;
}

ct_status ct_dataset_load_idx(const char *images_path, const char *labels_path, ct_dataset *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_dataset_load_idx: out is NULL");
    memset(out, 0, sizeof *out);
    if (!images_path || !labels_path)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_dataset_load_idx: %s path is NULL", images_path ? "labels" : "images");

    gzFile gi = NULL, gl = NULL;
    float *x = NULL;
    int32_t *y = NULL;
    ct_status st;
    uint32_t idims[3], ldims[1];

    if ((st = open_idx(images_path, &gi)) != CT_OK) goto fail;
    if ((st = read_header(gi, images_path, IDX_MAGIC_IMAGES, 3, idims)) != CT_OK) goto fail;
    uint32_t n = idims[0], rows = idims[1], cols = idims[2];
    if (n == 0 || rows == 0 || cols == 0) {
        st = CT_FAIL(CT_ERR_FORMAT, "%s: header says %u images of %ux%u pixels: zero size", images_path, n, rows, cols);
        goto fail;
    }
    if (rows > IDX_MAX_SIDE || cols > IDX_MAX_SIDE || (uint64_t)rows * cols > IDX_MAX_FEATURES) {
        st = CT_FAIL(CT_ERR_FORMAT, "%s: header says images of %ux%u pixels: absurd size (at most %u pixels per image)",
                     images_path, rows, cols, IDX_MAX_FEATURES);
        goto fail;
    }
    size_t dim = (size_t)rows * cols;
    /* n <= INT_MAX because ct_dataset counts in int; n * dim must fit in a size_t of floats */
    if (n > INT_MAX || (uint64_t)n * dim > SIZE_MAX / sizeof(float)) {
        st = CT_FAIL(CT_ERR_FORMAT, "%s: header says %u images of %ux%u pixels: too many to address", images_path, n,
                     rows, cols);
        goto fail;
    }

    /* the header's claim against what this machine can hold, before reading any of it */
    const unsigned long long mem = ct_mem_limit_bytes();
    if (mem && (double)n * (double)dim * sizeof(float) > (double)mem) {
        st = CT_FAIL(CT_ERR_FORMAT, "%s: header says %u images of %ux%u pixels (%.1f GiB as floats), more than this "
                     "machine's %.1f GiB of memory: a corrupt header?", images_path, n, rows, cols,
                     (double)n * (double)dim * sizeof(float) / 1073741824.0, (double)mem / 1073741824.0);
        goto fail;
    }

    if ((st = open_idx(labels_path, &gl)) != CT_OK) goto fail;
    if ((st = read_header(gl, labels_path, IDX_MAGIC_LABELS, 1, ldims)) != CT_OK) goto fail;
    if (ldims[0] != n) {
        st = CT_FAIL(CT_ERR_FORMAT, "%s: count mismatch: header says %u labels, but %s says %u images", labels_path,
                     ldims[0], images_path, n);
        goto fail;
    }

    size_t pixels = (size_t)n * dim, got = 0;
    void *body = NULL;
    if ((st = read_body(gi, images_path, pixels, 1, &body, &got)) != CT_OK) goto fail;
    x = body;
    if (got < pixels) {
        st = CT_FAIL(CT_ERR_FORMAT, "%s: truncated: header says %u images of %ux%u pixels, file holds %zu%s",
                     images_path, n, rows, cols, got / dim, got % dim ? " (plus part of one more)" : "");
        goto fail;
    }
    if ((st = expect_end(gi, images_path, "images")) != CT_OK) goto fail;

    if ((st = read_body(gl, labels_path, n, 0, &body, &got)) != CT_OK) goto fail;
    y = body;
    if (got < n) {
        st = CT_FAIL(CT_ERR_FORMAT, "%s: truncated: header says %u labels, file holds %zu", labels_path, n, got);
        goto fail;
    }
    if ((st = expect_end(gl, labels_path, "labels")) != CT_OK) goto fail;
    for (uint32_t i = 0; i < n; i++) {
        if (y[i] >= IDX_CLASSES) {
            st = CT_FAIL(CT_ERR_FORMAT, "%s: label %d at index %u is out of range [0, %d)", labels_path, (int)y[i], i,
                         IDX_CLASSES);
            goto fail;
        }
    }

    gzclose(gi);
    gzclose(gl);
    out->n = (int)n;
    out->dim = (int)dim;
    out->classes = IDX_CLASSES;
    out->c = 1;
    out->h = (int)rows;
    out->w = (int)cols;
    out->x = x;
    out->y = y;
    return CT_OK;

fail:
    if (gi) gzclose(gi);
    if (gl) gzclose(gl);
    free(x);
    free(y);
    return st;
}

/* "<dir>/<name>" in a new string, or NULL when out of memory. */
static char *join_path(const char *dir, const char *name, const char *suffix) {
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    size_t len = dl + 1 + strlen(name) + strlen(suffix) + 1;
    char *p = malloc(len);
    if (p) {
        memcpy(p, dir, dl);
        p[dl] = '\0';
        if (!slash) strcat(p, "/");
        strcat(p, name);
        strcat(p, suffix);
    }
    return p;
}

/* Picks <dir>/<name> if it exists, else <dir>/<name>.gz. */
static ct_status find_idx_file(const char *dir, const char *name, char **path_out) {
    static const char *const suffixes[] = {"", ".gz"};
    *path_out = NULL;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char *p = join_path(dir, name, suffixes[i]);
        if (!p) return CT_FAIL(CT_ERR_NOMEM, "%s: out of memory", dir);
        struct stat sb;
        if (lstat(p, &sb) == 0) {
            /* there, but perhaps a symlink to nothing: say so, not "found neither" */
            if (stat(p, &sb) != 0) {
                ct_status st = errno == ELOOP ? CT_FAIL(CT_ERR_IO, "%s: symlink loop", p)
                               : errno == ENOENT ? CT_FAIL(CT_ERR_IO, "%s: dangling symlink (its target does not exist)", p)
                                                 : CT_FAIL(CT_ERR_IO, "%s: %s", p, strerror(errno));
                free(p);
                return st;
            }
            *path_out = p;
            return CT_OK;
        }
        free(p);
    }
    return CT_FAIL(CT_ERR_IO, "%s: found neither %s nor %s.gz", dir, name, name);
}

ct_status ct_dataset_load_idx_dir(const char *dir, int train, ct_dataset *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_dataset_load_idx_dir: out is NULL");
    memset(out, 0, sizeof *out);
    if (!dir) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_dataset_load_idx_dir: dir is NULL");
    struct stat sb;
    if (stat(dir, &sb) != 0) return CT_FAIL(CT_ERR_IO, "%s: cannot open dataset directory: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return CT_FAIL(CT_ERR_IO, "%s: not a directory (expected an IDX dataset directory)", dir);

    const char *images_name = train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte";
    const char *labels_name = train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte";
    char *images_path = NULL, *labels_path = NULL;
    ct_status st = find_idx_file(dir, images_name, &images_path);
    if (st == CT_OK) st = find_idx_file(dir, labels_name, &labels_path);
    if (st == CT_OK) st = ct_dataset_load_idx(images_path, labels_path, out);
    free(images_path);
    free(labels_path);
    return st;
}
