/* Checkpoints in the safetensors format (see checkpoint.h): an atomic writer and
 * a strict reader that validates the whole file before handing anything back. */
#include "host/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

/* the safetensors library refuses headers above 100 MB; so do we */
#define CT_CKPT_HEADER_MAX 100000000ull
#define CT_CKPT_MAX_STATE 65536
#define CT_CKPT_MAX_TENSORS (4 * CT_MLP_MAX_LAYERS + CT_CKPT_MAX_STATE)
#define CT_CKPT_MAX_DIMS 8
#define CT_CKPT_CHECKSUM_PREFIX "crc32:"
#define CT_CKPT_CHECKSUM_LEN 14 /* "crc32:" + 8 hex digits */
#define CT_CKPT_IO_CHUNK (1u << 20)

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap_floats_bytes(unsigned char *p, size_t count) {
    for (size_t i = 0; i < count; i++, p += 4) {
        unsigned char t = p[0];
        p[0] = p[3];
        p[3] = t;
        t = p[1];
        p[1] = p[2];
        p[2] = t;
    }
}

static uLong crc_update(uLong crc, const void *data, size_t len) {
    const unsigned char *p = data;
    while (len > 0) { /* zlib's crc32 takes a uInt length */
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return crc;
}

/* ---------------------------------------------------------------- text buffer */

typedef struct sbuf {
    char *buf;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->failed = 1;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = 1;
        return;
    }
    sb_put(b, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return len;
}

static int utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq_len(p + i, n - i);
        if (!l) return 0;
        i += l;
    }
    return 1;
}

/* s must be valid UTF-8 (checked by the caller) */
static void sb_json_string(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sb_put(b, "\\\"", 2); break;
        case '\\': sb_put(b, "\\\\", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        default:
            if (*p < 0x20) sb_printf(b, "\\u%04x", *p);
            else sb_put(b, (const char *)p, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* ---------------------------------------------------------------- tensor list */

typedef enum { TK_WEIGHT = 0, TK_BIAS, TK_MOM_WEIGHT, TK_MOM_BIAS, TK_STATE } tensor_kind;

typedef struct tensor_desc {
    char name[CT_CHECKPOINT_STATE_NAME_MAX + 64];
    tensor_kind kind;
    int layer;  /* layer tensors: the module's index in the model (and the Sequential) */
    int state;  /* TK_STATE: index into ck->state */
    int ndim;
    uint64_t shape[4];
    uint64_t count;
} tensor_desc;

static int state_name_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > CT_CHECKPOINT_STATE_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int spec_valid(const ct_model_spec *spec) {
    return spec->n_layers >= 1 && spec->n_layers <= CT_MODEL_MAX_LAYERS && spec->classes >= 1 &&
           spec->layers[spec->n_layers - 1].kind == CT_LAYER_DENSE;
}

/* Shape of module `layer`'s weight (dense [out, in], conv [out, in, k, k]) or
 * bias ([out]), as torch lays them out; 0 when the module has no parameters. */
static int param_shape(const ct_model_spec *spec, int layer, int is_bias, uint64_t shape[4], int *ndim) {
    const ct_layer *L = &spec->layers[layer];
    if (L->kind != CT_LAYER_DENSE && L->kind != CT_LAYER_CONV) return 0;
    shape[0] = (uint64_t)L->out;
    if (is_bias) {
        *ndim = 1;
    } else if (L->kind == CT_LAYER_DENSE) {
        *ndim = 2;
        shape[1] = (uint64_t)L->in_c * L->in_h * L->in_w;
    } else {
        *ndim = 4;
        shape[1] = (uint64_t)L->in_c;
        shape[2] = shape[3] = (uint64_t)L->k;
    }
    return 1;
}

static uint64_t shape_count(const uint64_t *shape, int ndim) {
    uint64_t c = 1;
    for (int d = 0; d < ndim; d++) c *= shape[d];
    return c;
}

/* The tensors of a checkpoint in file order; *n receives their number. */
static tensor_desc *make_tensor_list(const ct_model_spec *spec, int with_momentum, int n_state,
                                     const ct_checkpoint_state *state, int *n) {
    int with_params = 0;
    for (int l = 0; l < spec->n_layers; l++) with_params += ct_model_layer_params(spec, l, NULL, NULL, NULL, NULL);
    int total = with_params * (with_momentum ? 4 : 2) + n_state;
    tensor_desc *t = calloc((size_t)total, sizeof *t);
    if (!t) return NULL;
    int k = 0;
    for (int pass = 0; pass < (with_momentum ? 2 : 1); pass++)
        for (int l = 0; l < spec->n_layers; l++) {
            tensor_desc *w = &t[k], *b = &t[k + 1];
            if (!param_shape(spec, l, 0, w->shape, &w->ndim)) continue;
            param_shape(spec, l, 1, b->shape, &b->ndim);
            k += 2;
            const char *prefix = pass ? "optimizer.momentum." : "";
            snprintf(w->name, sizeof w->name, "%s%d.weight", prefix, l);
            snprintf(b->name, sizeof b->name, "%s%d.bias", prefix, l);
            w->kind = pass ? TK_MOM_WEIGHT : TK_WEIGHT;
            b->kind = pass ? TK_MOM_BIAS : TK_BIAS;
            w->layer = b->layer = l;
            w->count = shape_count(w->shape, w->ndim);
            b->count = shape_count(b->shape, b->ndim);
        }
    for (int s = 0; s < n_state; s++) {
        tensor_desc *d = &t[k++];
        snprintf(d->name, sizeof d->name, "state.%s", state[s].name);
        d->kind = TK_STATE;
        d->state = s;
        d->ndim = 1;
        d->shape[0] = d->count = state[s].count;
    }
    *n = total;
    return t;
}

/* ---------------------------------------------------------------- writer */

static ct_status check_for_save(const char *path, const ct_checkpoint *ck) {
    if (!path || !*path) return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint: empty path");
    if (!ck) return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: nothing to save (NULL)", path);
    if (!spec_valid(&ck->spec)) return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: invalid model spec", path);
    size_t P = ct_model_param_count(&ck->spec);
    if (ck->P != P)
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: P = %zu, but the model has %zu parameters", path, ck->P, P);
    if (!ck->params) return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: no parameters (NULL)", path);
    if (ck->step < 0 || ck->epoch < 0 || ck->step_in_epoch < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: negative step %ld / epoch %d / step_in_epoch %d", path,
                       ck->step, ck->epoch, ck->step_in_epoch);
    if (!isfinite(ck->virtual_time))
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: virtual_time %g is not finite", path, ck->virtual_time);
    if (!isfinite(ck->norm_mean) || !isfinite(ck->norm_std) || !(ck->norm_std > 0))
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: normalisation mean %g / std %g (need finite, std > 0)", path,
                       ck->norm_mean, ck->norm_std);
    if (ck->config_json && !utf8_valid(ck->config_json))
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: config is not valid UTF-8", path);
    if (ck->extra && !utf8_valid(ck->extra))
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: extra state is not valid UTF-8", path);
    if (ck->n_state < 0 || ck->n_state > CT_CKPT_MAX_STATE || (ck->n_state > 0 && !ck->state))
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: %d state tensors (at most %d)", path, ck->n_state,
                       CT_CKPT_MAX_STATE);
    for (int s = 0; s < ck->n_state; s++) {
        const ct_checkpoint_state *st = &ck->state[s];
        if (!st->name || !state_name_valid(st->name))
            return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: state name '%s': use 1..%d characters of [A-Za-z0-9._-]",
                           path, st->name ? st->name : "(null)", CT_CHECKPOINT_STATE_NAME_MAX);
        if (st->count < 1 || !st->data)
            return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: state '%s' is empty", path, st->name);
        for (int r = 0; r < s; r++)
            if (!strcmp(ck->state[r].name, st->name))
                return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: state name '%s' given twice", path, st->name);
    }
    return CT_OK;
}

static void sb_meta(sbuf *b, const char *key, const char *value) {
    sb_json_string(b, key);
    sb_put(b, ":", 1);
    sb_json_string(b, value);
    sb_put(b, ",", 1);
}

/* The padded header text; *digits_at = offset of the checksum's 8 hex digits
 * (written as "00000000"). */
static ct_status build_header(const char *path, const ct_checkpoint *ck, const tensor_desc *t, int nt, sbuf *b,
                              size_t *digits_at) {
    sb_put(b, "{", 1);
    uint64_t off = 0;
    for (int k = 0; k < nt; k++) {
        sb_json_string(b, t[k].name);
        sb_str(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t[k].ndim; d++) sb_printf(b, d ? ",%llu" : "%llu", (unsigned long long)t[k].shape[d]);
        sb_printf(b, "],\"data_offsets\":[%llu,%llu]},", (unsigned long long)off,
                  (unsigned long long)(off + 4 * t[k].count));
        off += 4 * t[k].count;
    }
    char model[512], num[64];
    ct_model_spec_format(&ck->spec, model, sizeof model);
    sb_str(b, "\"__metadata__\":{");
    sb_meta(b, "format", CT_CHECKPOINT_FORMAT);
    snprintf(num, sizeof num, "%d", CT_CHECKPOINT_FORMAT_VERSION);
    sb_meta(b, "format_version", num);
    sb_meta(b, "model", model);
    snprintf(num, sizeof num, "%ld", ck->step);
    sb_meta(b, "step", num);
    snprintf(num, sizeof num, "%d", ck->epoch);
    sb_meta(b, "epoch", num);
    snprintf(num, sizeof num, "%d", ck->step_in_epoch);
    sb_meta(b, "step_in_epoch", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)ck->seed);
    sb_meta(b, "seed", num);
    snprintf(num, sizeof num, "%.17g", ck->virtual_time); /* round-trips a double exactly */
    sb_meta(b, "virtual_time", num);
    snprintf(num, sizeof num, "%.9g", (double)ck->norm_mean); /* round-trips a float exactly */
    sb_meta(b, "norm_mean", num);
    snprintf(num, sizeof num, "%.9g", (double)ck->norm_std);
    sb_meta(b, "norm_std", num);
    if (ck->config_json) sb_meta(b, "config", ck->config_json);
    if (ck->extra) sb_meta(b, "extra", ck->extra);
    sb_str(b, "\"checksum\":\"" CT_CKPT_CHECKSUM_PREFIX);
    *digits_at = b->len;
    sb_str(b, "00000000\"}}");
    while (b->len % 8) sb_put(b, " ", 1); /* data starts 8-aligned */
    if (b->failed) return CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory building the header", path);
    if (b->len > CT_CKPT_HEADER_MAX)
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint %s: header of %zu bytes exceeds the safetensors limit", path,
                       b->len);
    return CT_OK;
}

static int write_all(int fd, const void *data, size_t len) {
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len > CT_CKPT_IO_CHUNK ? CT_CKPT_IO_CHUNK : len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Writes count floats little-endian through a bounce buffer, updating crc. */
static int write_floats(int fd, const float *x, uint64_t count, unsigned char *bounce, uLong *crc) {
    const size_t per = CT_CKPT_IO_CHUNK / 4;
    const int swap = !host_is_little_endian();
    while (count > 0) {
        size_t n = count > per ? per : (size_t)count;
        memcpy(bounce, x, n * 4);
        if (swap) swap_floats_bytes(bounce, n);
        *crc = crc_update(*crc, bounce, n * 4);
        if (write_all(fd, bounce, n * 4)) return -1;
        x += n;
        count -= n;
    }
    return 0;
}

static const float *tensor_source(const ct_checkpoint *ck, const tensor_desc *d) {
    size_t w_off = 0, b_off = 0;
    if (d->kind != TK_STATE) ct_model_layer_params(&ck->spec, d->layer, &w_off, NULL, &b_off, NULL);
    switch (d->kind) {
    case TK_WEIGHT: return ck->params + w_off;
    case TK_BIAS: return ck->params + b_off;
    case TK_MOM_WEIGHT: return ck->momentum + w_off;
    case TK_MOM_BIAS: return ck->momentum + b_off;
    case TK_STATE: return ck->state[d->state].data;
    }
    return NULL;
}

static ct_status fsync_parent_dir(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) >= sizeof dir) return CT_FAIL(CT_ERR_IO, "checkpoint %s: path too long", path);
    else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return CT_FAIL(CT_ERR_IO, "checkpoint %s: cannot open directory %s: %s", path, dir, strerror(errno));
    /* some filesystems cannot sync a directory (EINVAL): the rename is then as durable as they allow */
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0 && err != EINVAL && err != ENOTSUP)
        return CT_FAIL(CT_ERR_IO, "checkpoint %s: fsync of directory %s failed: %s", path, dir, strerror(err));
    return CT_OK;
}

ct_status ct_checkpoint_save(const char *path, const ct_checkpoint *ck) {
    CT_TRY(check_for_save(path, ck));
    int nt = 0;
    tensor_desc *t = make_tensor_list(&ck->spec, ck->momentum != NULL, ck->n_state, ck->state, &nt);
    if (!t) return CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory", path);
    sbuf hdr = {0};
    size_t digits_at = 0;
    ct_status st = build_header(path, ck, t, nt, &hdr, &digits_at);
    char *tmp = NULL;
    unsigned char *bounce = NULL;
    int fd = -1;
    if (st == CT_OK) {
        size_t tl = strlen(path) + 48;
        tmp = malloc(tl);
        bounce = malloc(CT_CKPT_IO_CHUNK);
        if (!tmp || !bounce) st = CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory", path);
        else snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    }
    if (st == CT_OK) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) st = CT_FAIL(CT_ERR_IO, "checkpoint %s: cannot create %s: %s", path, tmp, strerror(errno));
    }
    if (st == CT_OK) {
        unsigned char prefix[8];
        uint64_t n = hdr.len;
        for (int i = 0; i < 8; i++) prefix[i] = (unsigned char)(n >> (8 * i));
        uLong crc = crc_update(crc32(0L, Z_NULL, 0), prefix, 8);
        crc = crc_update(crc, hdr.buf, hdr.len);
        int bad = write_all(fd, prefix, 8) || write_all(fd, hdr.buf, hdr.len);
        for (int k = 0; k < nt && !bad; k++) bad = write_floats(fd, tensor_source(ck, &t[k]), t[k].count, bounce, &crc);
        if (!bad) {
            char digits[9];
            snprintf(digits, sizeof digits, "%08lx", (unsigned long)(crc & 0xFFFFFFFFul));
            ssize_t w;
            do w = pwrite(fd, digits, 8, (off_t)(8 + digits_at));
            while (w < 0 && errno == EINTR);
            bad = w != 8;
        }
        if (bad) st = CT_FAIL(CT_ERR_IO, "checkpoint %s: writing %s failed: %s", path, tmp, strerror(errno));
    }
    if (st == CT_OK && fsync(fd) != 0)
        st = CT_FAIL(CT_ERR_IO, "checkpoint %s: fsync of %s failed: %s", path, tmp, strerror(errno));
    if (fd >= 0) {
        if (close(fd) != 0 && st == CT_OK)
            st = CT_FAIL(CT_ERR_IO, "checkpoint %s: closing %s failed: %s", path, tmp, strerror(errno));
        fd = -1;
    }
    if (st == CT_OK && rename(tmp, path) != 0)
        st = CT_FAIL(CT_ERR_IO, "checkpoint %s: renaming %s over it failed: %s", path, tmp, strerror(errno));
    if (st == CT_OK) st = fsync_parent_dir(path);
    else if (tmp) unlink(tmp); /* best effort: PATH is untouched either way */
    free(tmp);
    free(bounce);
    free(hdr.buf);
    free(t);
    return st;
}

/* ---------------------------------------------------------------- header parser */

typedef struct parsed_tensor {
    char *name;
    int dtype_f32;
    char dtype[16];
    int ndim;
    uint64_t shape[CT_CKPT_MAX_DIMS];
    uint64_t begin, end;
} parsed_tensor;

typedef struct parsed_meta {
    char *key, *value;
    size_t raw_at, raw_len; /* the value's bytes in the header, between the quotes */
} parsed_meta;

typedef struct parsed_header {
    parsed_tensor *t;
    int nt, cap_t;
    parsed_meta *m;
    int nm, cap_m;
    int has_meta;
} parsed_header;

static void header_free(parsed_header *h) {
    for (int i = 0; i < h->nt; i++) free(h->t[i].name);
    for (int i = 0; i < h->nm; i++) {
        free(h->m[i].key);
        free(h->m[i].value);
    }
    free(h->t);
    free(h->m);
    memset(h, 0, sizeof *h);
}

typedef struct jparser {
    const char *s;
    size_t n, i;
    const char *path;
} jparser;

static ct_status jp_fail(const jparser *p, const char *what) {
    return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: malformed header: %s at byte %zu of %zu", p->path, what, p->i, p->n);
}

static void jp_ws(jparser *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static ct_status jp_expect(jparser *p, char c) {
    jp_ws(p);
    if (p->i >= p->n || p->s[p->i] != c) {
        char what[32];
        snprintf(what, sizeof what, "expected '%c'", c);
        return jp_fail(p, what);
    }
    p->i++;
    return CT_OK;
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t utf8_encode(unsigned cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A JSON string into a new NUL-terminated buffer (escapes decoded, UTF-8
 * checked, U+0000 refused since C strings cannot hold it). */
static ct_status jp_string(jparser *p, char **out, size_t *raw_at, size_t *raw_len) {
    *out = NULL;
    CT_TRY(jp_expect(p, '"'));
    const size_t start = p->i;
    size_t end = start;
    while (end < p->n && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n) return jp_fail(p, "unterminated string");
    char *o = malloc(end - start + 1); /* decoding never grows the text */
    if (!o) return CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory parsing the header", p->path);
    size_t k = 0;
    while (p->i < end) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c < 0x20) { free(o); return jp_fail(p, "control character in string"); }
        if (c != '\\') {
            size_t l = utf8_seq_len((const unsigned char *)p->s + p->i, end - p->i);
            if (!l) { free(o); return jp_fail(p, "invalid UTF-8 in string"); }
            memcpy(o + k, p->s + p->i, l);
            k += l;
            p->i += l;
            continue;
        }
        char e = p->s[p->i + 1];
        p->i += 2;
        switch (e) {
        case '"': o[k++] = '"'; break;
        case '\\': o[k++] = '\\'; break;
        case '/': o[k++] = '/'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (p->i + 4 > end || !hex4(p->s + p->i, &cp)) { free(o); return jp_fail(p, "bad \\u escape"); }
            p->i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair: 12 escaped bytes -> 4 UTF-8 bytes */
                if (p->i + 6 > end || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' || !hex4(p->s + p->i + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    free(o);
                    return jp_fail(p, "unpaired surrogate in \\u escape");
                }
                p->i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(o);
                return jp_fail(p, "unpaired surrogate in \\u escape");
            }
            if (cp == 0) { free(o); return jp_fail(p, "\\u0000 in string"); }
            k += utf8_encode(cp, o + k);
            break;
        }
        default: free(o); return jp_fail(p, "bad escape in string");
        }
    }
    o[k] = '\0';
    p->i = end + 1;
    if (raw_at) *raw_at = start;
    if (raw_len) *raw_len = end - start;
    *out = o;
    return CT_OK;
}

/* A non-negative JSON integer (no sign, fraction, exponent or leading zeros). */
static ct_status jp_uint(jparser *p, uint64_t *out) {
    jp_ws(p);
    size_t start = p->i;
    uint64_t v = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        unsigned d = (unsigned)(p->s[p->i] - '0');
        if (v > (UINT64_MAX - d) / 10) return jp_fail(p, "integer too large");
        v = v * 10 + d;
        p->i++;
    }
    if (p->i == start) return jp_fail(p, "expected a non-negative integer");
    if (p->s[start] == '0' && p->i - start > 1) return jp_fail(p, "leading zero in integer");
    if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
        return jp_fail(p, "expected an integer");
    *out = v;
    return CT_OK;
}

static int jp_peek(jparser *p, char c) {
    jp_ws(p);
    return p->i < p->n && p->s[p->i] == c;
}

/* [u, u, ...] with at most max entries */
static ct_status jp_uint_array(jparser *p, uint64_t *vals, int max, int *count) {
    CT_TRY(jp_expect(p, '['));
    *count = 0;
    if (jp_peek(p, ']')) {
        p->i++;
        return CT_OK;
    }
    for (;;) {
        if (*count >= max) return jp_fail(p, "too many array entries");
        CT_TRY(jp_uint(p, &vals[(*count)++]));
        if (jp_peek(p, ',')) { p->i++; continue; }
        return jp_expect(p, ']');
    }
}

static ct_status jp_tensor(jparser *p, parsed_tensor *t) {
    int seen_dtype = 0, seen_shape = 0, seen_offsets = 0;
    CT_TRY(jp_expect(p, '{'));
    if (jp_peek(p, '}')) return jp_fail(p, "empty tensor entry");
    for (;;) {
        char *key = NULL;
        CT_TRY(jp_string(p, &key, NULL, NULL));
        ct_status st = jp_expect(p, ':');
        if (st == CT_OK) {
            if (!strcmp(key, "dtype") && !seen_dtype) {
                char *dt = NULL;
                seen_dtype = 1;
                st = jp_string(p, &dt, NULL, NULL);
                if (st == CT_OK) {
                    snprintf(t->dtype, sizeof t->dtype, "%s", dt);
                    t->dtype_f32 = !strcmp(dt, "F32");
                    free(dt);
                }
            } else if (!strcmp(key, "shape") && !seen_shape) {
                seen_shape = 1;
                st = jp_uint_array(p, t->shape, CT_CKPT_MAX_DIMS, &t->ndim);
            } else if (!strcmp(key, "data_offsets") && !seen_offsets) {
                uint64_t off[2];
                int cnt = 0;
                seen_offsets = 1;
                st = jp_uint_array(p, off, 2, &cnt);
                if (st == CT_OK && cnt != 2) st = jp_fail(p, "data_offsets needs exactly two entries");
                if (st == CT_OK) {
                    t->begin = off[0];
                    t->end = off[1];
                }
            } else {
                st = jp_fail(p, "unknown or repeated key in a tensor entry");
            }
        }
        free(key);
        CT_TRY(st);
        if (jp_peek(p, ',')) { p->i++; continue; }
        CT_TRY(jp_expect(p, '}'));
        break;
    }
    if (!seen_dtype || !seen_shape || !seen_offsets)
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: tensor '%s' lacks dtype, shape or data_offsets", p->path,
                       t->name);
    return CT_OK;
}

static ct_status jp_metadata(jparser *p, parsed_header *h) {
    CT_TRY(jp_expect(p, '{'));
    if (jp_peek(p, '}')) { p->i++; return CT_OK; }
    for (;;) {
        if (h->nm == h->cap_m) {
            int cap = h->cap_m ? 2 * h->cap_m : 16;
            if (cap > 64) return jp_fail(p, "too many metadata entries");
            parsed_meta *nm = realloc(h->m, (size_t)cap * sizeof *nm);
            if (!nm) return CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory parsing the header", p->path);
            h->m = nm;
            h->cap_m = cap;
        }
        parsed_meta *m = &h->m[h->nm];
        memset(m, 0, sizeof *m);
        CT_TRY(jp_string(p, &m->key, NULL, NULL));
        h->nm++; /* owned by h from here on */
        for (int r = 0; r < h->nm - 1; r++)
            if (!strcmp(h->m[r].key, m->key))
                return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: metadata key '%s' appears twice", p->path, m->key);
        CT_TRY(jp_expect(p, ':'));
        if (!jp_peek(p, '"'))
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: metadata value of '%s' is not a string", p->path, m->key);
        CT_TRY(jp_string(p, &m->value, &m->raw_at, &m->raw_len));
        if (jp_peek(p, ',')) { p->i++; continue; }
        return jp_expect(p, '}');
    }
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static ct_status parse_header(const char *path, const char *s, size_t n, parsed_header *h) {
    jparser p = {s, n, 0, path};
    memset(h, 0, sizeof *h);
    CT_TRY(jp_expect(&p, '{'));
    if (jp_peek(&p, '}')) {
        p.i++;
    } else {
        for (;;) {
            char *name = NULL;
            CT_TRY(jp_string(&p, &name, NULL, NULL));
            ct_status st = jp_expect(&p, ':');
            if (st == CT_OK && !strcmp(name, "__metadata__")) {
                free(name);
                if (h->has_meta) return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: __metadata__ appears twice", path);
                h->has_meta = 1;
                CT_TRY(jp_metadata(&p, h));
            } else {
                if (st == CT_OK && h->nt >= CT_CKPT_MAX_TENSORS) st = jp_fail(&p, "too many tensors");
                if (st == CT_OK && h->nt == h->cap_t) {
                    int cap = h->cap_t ? 2 * h->cap_t : 16;
                    parsed_tensor *nt = realloc(h->t, (size_t)cap * sizeof *nt);
                    if (!nt) st = CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory parsing the header", path);
                    else {
                        h->t = nt;
                        h->cap_t = cap;
                    }
                }
                if (st != CT_OK) {
                    free(name);
                    return st;
                }
                parsed_tensor *t = &h->t[h->nt++];
                memset(t, 0, sizeof *t);
                t->name = name;
                CT_TRY(jp_tensor(&p, t));
            }
            if (jp_peek(&p, ',')) { p.i++; continue; }
            CT_TRY(jp_expect(&p, '}'));
            break;
        }
    }
    jp_ws(&p); /* the padding */
    if (p.i != n) return jp_fail(&p, "unexpected bytes after the header object");
    /* a repeated name would let two entries fill the same tensor */
    if (h->nt > 1) {
        const char **names = malloc((size_t)h->nt * sizeof *names);
        if (!names) return CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory parsing the header", path);
        for (int i = 0; i < h->nt; i++) names[i] = h->t[i].name;
        qsort(names, (size_t)h->nt, sizeof *names, cmp_cstr);
        const char *dup = NULL;
        for (int i = 1; i < h->nt && !dup; i++)
            if (!strcmp(names[i - 1], names[i])) dup = names[i];
        ct_status st = dup ? CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: tensor '%s' appears twice", path, dup) : CT_OK;
        free(names);
        return st;
    }
    return CT_OK;
}

/* ---------------------------------------------------------------- loader */

static int parse_u64_text(const char *s, uint64_t max, uint64_t *out) {
    uint64_t v = 0;
    if (!*s || (s[0] == '0' && s[1])) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int parse_double_text(const char *s, double *out) {
    if (!*s || !((*s >= '0' && *s <= '9') || *s == '-' || *s == '.')) return 0; /* no spaces, no "inf" */
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int parse_spec_text(const char *s, ct_mlp_spec *spec) {
    memset(spec, 0, sizeof *spec);
    int count = 0;
    const char *p = s;
    for (;;) {
        char num[16];
        size_t k = 0;
        while (*p >= '0' && *p <= '9' && k < sizeof num - 1) num[k++] = *p++;
        num[k] = '\0';
        uint64_t v;
        if (!parse_u64_text(num, 1000000, &v) || v < 1 || count > CT_MLP_MAX_LAYERS) return 0;
        spec->sizes[count++] = (int)v;
        if (*p == '\0') break;
        if (*p++ != '-') return 0;
    }
    spec->n_layers = count - 1;
    return spec->n_layers >= 1;
}

static const char *meta_get(const parsed_header *h, const char *key, const parsed_meta **m) {
    for (int i = 0; i < h->nm; i++)
        if (!strcmp(h->m[i].key, key)) {
            if (m) *m = &h->m[i];
            return h->m[i].value;
        }
    return NULL;
}

static ct_status read_metadata(const char *path, const parsed_header *h, ct_checkpoint *out, int *version) {
    static const char *const known[] = {"format", "format_version", "model", "step", "epoch", "step_in_epoch",
                                        "seed", "virtual_time", "norm_mean", "norm_std", "config", "extra",
                                        "checksum"};
    const size_t n_known = sizeof known / sizeof known[0];
    if (!h->has_meta) return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: no __metadata__ (not a codedtrain checkpoint)", path);
    for (int i = 0; i < h->nm; i++) {
        size_t k = 0;
        while (k < n_known && strcmp(h->m[i].key, known[k])) k++;
        if (k == n_known)
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: unknown metadata key '%s'", path, h->m[i].key);
    }
    for (size_t k = 0; k < n_known; k++) {
        if (!strcmp(known[k], "config") || !strcmp(known[k], "extra")) continue;
        if (!meta_get(h, known[k], NULL))
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: metadata lacks '%s'", path, known[k]);
    }
    if (strcmp(meta_get(h, "format", NULL), CT_CHECKPOINT_FORMAT) != 0)
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: format '%s', expected '%s'", path, meta_get(h, "format", NULL),
                       CT_CHECKPOINT_FORMAT);
    uint64_t u;
    const char *v = meta_get(h, "format_version", NULL);
    if (!parse_u64_text(v, INT_MAX, &u) || u < 1 || u > CT_CHECKPOINT_FORMAT_VERSION)
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: format_version '%s', this build reads versions 1 to %d", path, v,
                       CT_CHECKPOINT_FORMAT_VERSION);
    *version = (int)u;
    v = meta_get(h, "model", NULL);
    if (*version == 1) { /* MLP sizes, "784-256-10" */
        ct_mlp_spec mlp;
        if (!parse_spec_text(v, &mlp))
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: model '%s': expected sizes like 784-256-10", path, v);
        ct_model_from_mlp(&mlp, &out->spec);
    } else if (ct_model_spec_parse(v, 0, 0, 0, 0, &out->spec) != CT_OK) {
        char why[512]; /* the parser's message, copied: CT_FAIL rewrites the buffer it lives in */
        snprintf(why, sizeof why, "%s", ct_last_error());
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: model '%s' does not parse (%s)", path, v, why);
    }
    out->P = ct_model_param_count(&out->spec);
    v = meta_get(h, "step", NULL);
    if (!parse_u64_text(v, LONG_MAX, &u)) return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: step '%s' is not a count", path, v);
    out->step = (long)u;
    v = meta_get(h, "epoch", NULL);
    if (!parse_u64_text(v, INT_MAX, &u)) return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: epoch '%s' is not a count", path, v);
    out->epoch = (int)u;
    v = meta_get(h, "step_in_epoch", NULL);
    if (!parse_u64_text(v, INT_MAX, &u))
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: step_in_epoch '%s' is not a count", path, v);
    out->step_in_epoch = (int)u;
    v = meta_get(h, "seed", NULL);
    if (!parse_u64_text(v, UINT64_MAX, &out->seed))
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: seed '%s' is not a 64-bit unsigned integer", path, v);
    v = meta_get(h, "virtual_time", NULL);
    if (!parse_double_text(v, &out->virtual_time))
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: virtual_time '%s' is not a finite number", path, v);
    double d;
    v = meta_get(h, "norm_mean", NULL);
    if (!parse_double_text(v, &d) || !isfinite((float)d))
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: norm_mean '%s' is not a finite number", path, v);
    out->norm_mean = (float)d;
    v = meta_get(h, "norm_std", NULL);
    if (!parse_double_text(v, &d) || !isfinite((float)d) || !((float)d > 0))
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: norm_std '%s' is not a positive number", path, v);
    out->norm_std = (float)d;
    return CT_OK;
}

/* Parses "L.weight" / "L.bias" after `prefix` (L canonical decimal); 0 when not of that form. */
static int layer_tensor(const char *name, const char *prefix, int *layer, int *is_bias) {
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0) return 0;
    const char *p = name + pl;
    char num[8];
    size_t k = 0;
    while (*p >= '0' && *p <= '9' && k < sizeof num - 1) num[k++] = *p++;
    num[k] = '\0';
    uint64_t l;
    if (!parse_u64_text(num, CT_MODEL_MAX_LAYERS, &l)) return 0;
    if (!strcmp(p, ".weight")) *is_bias = 0;
    else if (!strcmp(p, ".bias")) *is_bias = 1;
    else return 0;
    *layer = (int)l;
    return 1;
}

/* Where each tensor goes: destination pointer set up after allocation. */
typedef struct tensor_slot {
    int index;      /* into the parsed header */
    tensor_kind kind;
    int layer, state;
    uint64_t count, begin;
} tensor_slot;

static int cmp_slot_begin(const void *a, const void *b) {
    uint64_t x = ((const tensor_slot *)a)->begin, y = ((const tensor_slot *)b)->begin;
    return x < y ? -1 : x > y;
}

static ct_status check_tensors(const char *path, const parsed_header *h, ct_checkpoint *out, int version,
                               tensor_slot *slots, uint64_t *data_len, int *has_momentum, int *n_state) {
    const ct_model_spec *spec = &out->spec;
    int seen[4][CT_MODEL_MAX_LAYERS] = {{0}};
    /* version 1 (MLPs only) named dense layer L "layers.L"; it is module 2L of the model */
    const char *pre = version == 1 ? "layers." : "";
    const char *mom_pre = version == 1 ? "optimizer.momentum.layers." : "optimizer.momentum.";
    int states = 0;
    for (int i = 0; i < h->nt; i++) {
        const parsed_tensor *t = &h->t[i];
        tensor_slot *s = &slots[i];
        int layer = 0, is_bias = 0;
        s->index = i;
        s->begin = t->begin;
        if (layer_tensor(t->name, mom_pre, &layer, &is_bias)) s->kind = is_bias ? TK_MOM_BIAS : TK_MOM_WEIGHT;
        else if (layer_tensor(t->name, pre, &layer, &is_bias)) s->kind = is_bias ? TK_BIAS : TK_WEIGHT;
        else if (!strncmp(t->name, "state.", 6) && state_name_valid(t->name + 6)) {
            s->kind = TK_STATE;
            s->state = states++;
        } else
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: unexpected tensor '%s'", path, t->name);
        if (!t->dtype_f32)
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: tensor '%s' has dtype '%s', expected F32", path, t->name,
                           t->dtype);
        if (s->kind == TK_STATE) {
            if (t->ndim != 1 || t->shape[0] < 1 || t->shape[0] > (UINT64_MAX / 4))
                return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: state tensor '%s' must be a non-empty vector", path,
                               t->name);
            s->count = t->shape[0];
        } else {
            if (version == 1) layer = layer < CT_MODEL_MAX_LAYERS / 2 ? 2 * layer : CT_MODEL_MAX_LAYERS;
            uint64_t want[4];
            int wdim = 0;
            if (layer >= spec->n_layers || !param_shape(spec, layer, is_bias, want, &wdim))
                return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: tensor '%s', but the model has no parametrised module there", path,
                               t->name);
            seen[s->kind][layer]++; /* names are unique, so at most once */
            s->layer = layer;
            int ok = t->ndim == wdim;
            for (int d = 0; ok && d < wdim; d++) ok = t->shape[d] == want[d];
            if (!ok) {
                char got[128] = "", need[128] = "";
                int off = 0;
                for (int d = 0; d < t->ndim && off < 100; d++)
                    off += snprintf(got + off, sizeof got - off, d ? ",%llu" : "%llu", (unsigned long long)t->shape[d]);
                off = 0;
                for (int d = 0; d < wdim; d++)
                    off += snprintf(need + off, sizeof need - off, d ? ",%llu" : "%llu", (unsigned long long)want[d]);
                return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: tensor '%s' has shape [%s], model needs [%s]", path, t->name,
                               got, need);
            }
            s->count = shape_count(want, wdim);
        }
        if (t->end < t->begin || t->end - t->begin != 4 * s->count)
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: tensor '%s' data_offsets [%llu,%llu] do not span its %llu floats",
                           path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                           (unsigned long long)s->count);
    }
    int moms = 0, with_params = 0;
    for (int l = 0; l < spec->n_layers; l++) {
        if (!ct_model_layer_params(spec, l, NULL, NULL, NULL, NULL)) continue;
        with_params++;
        if (!seen[TK_WEIGHT][l] || !seen[TK_BIAS][l])
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: tensor %s%d.%s is missing", path, pre,
                           version == 1 ? l / 2 : l, seen[TK_WEIGHT][l] ? "bias" : "weight");
        moms += seen[TK_MOM_WEIGHT][l] + seen[TK_MOM_BIAS][l];
    }
    if (moms != 0 && moms != 2 * with_params)
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: optimizer momentum present for some layers only", path);
    /* offsets: sorted, they must tile [0, data_len) with no gap or overlap */
    qsort(slots, (size_t)h->nt, sizeof *slots, cmp_slot_begin);
    uint64_t at = 0;
    for (int i = 0; i < h->nt; i++) {
        const parsed_tensor *t = &h->t[slots[i].index];
        if (t->begin != at)
            return CT_FAIL(CT_ERR_FORMAT,
                           "checkpoint %s: tensor '%s' data_offsets [%llu,%llu] are not contiguous (expected to start at %llu)",
                           path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                           (unsigned long long)at);
        at = t->end;
    }
    *data_len = at;
    *has_momentum = moms != 0;
    *n_state = states;
    return CT_OK;
}

/* Where the bytes come from: a file or a memory buffer (fuzzing, tests). */
typedef struct byte_source {
    FILE *f;
    const unsigned char *mem;
    uint64_t size, pos;
} byte_source;

static ct_status read_exact(byte_source *src, void *buf, size_t len, const char *path, const char *what) {
    if (!src->f) {
        if (len > src->size - src->pos)
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: file ends inside %s (truncated)", path, what);
        if (len) memcpy(buf, src->mem + src->pos, len);
        src->pos += len;
        return CT_OK;
    }
    FILE *f = src->f;
    if (len && fread(buf, 1, len, f) != len) {
        if (ferror(f)) return CT_FAIL(CT_ERR_IO, "checkpoint %s: read error in %s: %s", path, what, strerror(errno));
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: file ends inside %s (truncated)", path, what);
    }
    return CT_OK;
}

static ct_status load_into(const char *path, byte_source *f, ct_checkpoint *out) {
    const uint64_t size = f->size;
    if (size < 8)
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: %llu bytes, shorter than the 8-byte header length (truncated)", path,
                       (unsigned long long)size);
    unsigned char prefix[8];
    CT_TRY(read_exact(f, prefix, 8, path, "the header length"));
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | prefix[i];
    if (n < 2 || n > CT_CKPT_HEADER_MAX)
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: header length %llu is implausible (not a safetensors file?)", path,
                       (unsigned long long)n);
    if (n > size - 8)
        return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: header length %llu runs past the end of the %llu-byte file (truncated)",
                       path, (unsigned long long)n, (unsigned long long)size);
    char *hdr = malloc((size_t)n + 1);
    if (!hdr) return CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory for a %llu-byte header", path, (unsigned long long)n);
    ct_status st = read_exact(f, hdr, (size_t)n, path, "the header");
    hdr[n] = '\0';
    parsed_header h = {0};
    tensor_slot *slots = NULL;
    uint64_t data_len = 0;
    int has_momentum = 0, n_state = 0;
    const parsed_meta *ck_meta = NULL;
    if (st == CT_OK && memchr(hdr, '\0', (size_t)n))
        st = CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: malformed header: NUL byte", path);
    if (st == CT_OK) st = parse_header(path, hdr, (size_t)n, &h);
    int version = 0;
    if (st == CT_OK) st = read_metadata(path, &h, out, &version);
    if (st == CT_OK) {
        slots = calloc((size_t)(h.nt ? h.nt : 1), sizeof *slots);
        if (!slots) st = CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory", path);
    }
    if (st == CT_OK) st = check_tensors(path, &h, out, version, slots, &data_len, &has_momentum, &n_state);
    if (st == CT_OK && data_len != size - 8 - n) {
        if (data_len > size - 8 - n)
            st = CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: truncated: the header describes %llu bytes of data, the file has %llu",
                         path, (unsigned long long)data_len, (unsigned long long)(size - 8 - n));
        else
            st = CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: %llu unexpected bytes after the tensor data", path,
                         (unsigned long long)(size - 8 - n - data_len));
    }
    /* the checksum value: "crc32:" + 8 lowercase hex digits, written without escapes */
    uint32_t stored = 0;
    if (st == CT_OK) {
        const char *v = meta_get(&h, "checksum", &ck_meta);
        int ok = ck_meta->raw_len == CT_CKPT_CHECKSUM_LEN && strlen(v) == CT_CKPT_CHECKSUM_LEN &&
                 !strncmp(v, CT_CKPT_CHECKSUM_PREFIX, 6);
        for (int i = 6; ok && i < CT_CKPT_CHECKSUM_LEN; i++) {
            char c = v[i];
            ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            stored = (stored << 4) | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        if (!ok) st = CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: checksum '%s': expected crc32:XXXXXXXX", path, v);
    }
    if (st == CT_OK) {
        out->params = malloc(out->P * sizeof(float));
        if (has_momentum) out->momentum = malloc(out->P * sizeof(float));
        if (n_state) out->state = calloc((size_t)n_state, sizeof *out->state);
        if (!out->params || (has_momentum && !out->momentum) || (n_state && !out->state))
            st = CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory for %zu parameters", path, out->P);
        else out->n_state = n_state;
    }
    for (int i = 0; st == CT_OK && i < h.nt; i++) {
        if (slots[i].kind != TK_STATE) continue;
        ct_checkpoint_state *cs = &out->state[slots[i].state];
        cs->name = strdup(h.t[slots[i].index].name + 6);
        cs->count = (size_t)slots[i].count;
        cs->data = cs->count <= SIZE_MAX / 4 ? malloc(cs->count * 4) : NULL;
        if (!cs->name || !cs->data) st = CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory for state tensors", path);
    }
    if (st == CT_OK) {
        /* CRC over the file as written, with the stored digits read as '0' */
        memset(hdr + ck_meta->raw_at + 6, '0', 8);
        uLong crc = crc_update(crc32(0L, Z_NULL, 0), prefix, 8);
        crc = crc_update(crc, hdr, (size_t)n);
        for (int i = 0; st == CT_OK && i < h.nt; i++) {
            const tensor_slot *s = &slots[i];
            size_t w_off = 0, b_off = 0;
            if (s->kind != TK_STATE) ct_model_layer_params(&out->spec, s->layer, &w_off, NULL, &b_off, NULL);
            float *dst = s->kind == TK_WEIGHT       ? out->params + w_off
                         : s->kind == TK_BIAS       ? out->params + b_off
                         : s->kind == TK_MOM_WEIGHT ? out->momentum + w_off
                         : s->kind == TK_MOM_BIAS   ? out->momentum + b_off
                                                    : out->state[s->state].data;
            st = read_exact(f, dst, (size_t)s->count * 4, path, "the tensor data");
            if (st == CT_OK) crc = crc_update(crc, dst, (size_t)s->count * 4);
            if (st == CT_OK && !host_is_little_endian()) swap_floats_bytes((unsigned char *)dst, (size_t)s->count);
        }
        if (st == CT_OK && (uint32_t)crc != stored)
            st = CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: checksum mismatch (stored %08lx, computed %08lx): the file is corrupted",
                         path, (unsigned long)stored, (unsigned long)(crc & 0xFFFFFFFFul));
    }
    if (st == CT_OK) {
        const char *cfg = meta_get(&h, "config", NULL), *extra = meta_get(&h, "extra", NULL);
        if (cfg && !(out->config_json = strdup(cfg))) st = CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory", path);
        if (st == CT_OK && extra && !(out->extra = strdup(extra)))
            st = CT_FAIL(CT_ERR_NOMEM, "checkpoint %s: out of memory", path);
    }
    free(slots);
    header_free(&h);
    free(hdr);
    return st;
}

ct_status ct_checkpoint_load(const char *path, ct_checkpoint *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_checkpoint_load: NULL output");
    memset(out, 0, sizeof *out);
    if (!path || !*path) return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint: empty path");
    FILE *f = fopen(path, "rb");
    if (!f) return CT_FAIL(CT_ERR_IO, "checkpoint %s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    ct_status st = CT_OK;
    if (fstat(fileno(f), &sb) != 0) st = CT_FAIL(CT_ERR_IO, "checkpoint %s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode)) st = CT_FAIL(CT_ERR_IO, "checkpoint %s: not a regular file", path);
    if (st == CT_OK) {
        byte_source src = {.f = f, .size = (uint64_t)sb.st_size};
        st = load_into(path, &src, out);
    }
    fclose(f); /* read-only: nothing to lose */
    if (st != CT_OK) ct_checkpoint_free(out);
    return st;
}

ct_status ct_checkpoint_load_mem(const void *data, size_t len, const char *name, ct_checkpoint *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_checkpoint_load_mem: NULL output");
    memset(out, 0, sizeof *out);
    if (!data && len) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_checkpoint_load_mem: NULL data");
    byte_source src = {.mem = data, .size = len};
    ct_status st = load_into(name ? name : "(memory)", &src, out);
    if (st != CT_OK) ct_checkpoint_free(out);
    return st;
}

void ct_checkpoint_free(ct_checkpoint *ck) {
    if (!ck) return;
    free(ck->params);
    free(ck->momentum);
    free(ck->config_json);
    free(ck->extra);
    for (int s = 0; s < ck->n_state && ck->state; s++) {
        free(ck->state[s].name);
        free(ck->state[s].data);
    }
    free(ck->state);
    memset(ck, 0, sizeof *ck);
}

/* ---------------------------------------------------------------- extra helpers */

static int extra_key_valid(const char *key) {
    if (!key || !*key) return 0;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return 0;
    return 1;
}

ct_status ct_checkpoint_extra_put(char **extra, const char *key, const double *v, int n) {
    if (!extra || !extra_key_valid(key) || n < 0 || (n > 0 && !v))
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint extra: bad record '%s' (%d values)", key ? key : "(null)", n);
    sbuf b = {0};
    if (*extra) sb_str(&b, *extra);
    sb_str(&b, key);
    sb_put(&b, "=", 1);
    for (int i = 0; i < n; i++) sb_printf(&b, i ? ",%a" : "%a", v[i]);
    sb_put(&b, ";", 1);
    if (b.failed) {
        free(b.buf);
        return CT_FAIL(CT_ERR_NOMEM, "checkpoint extra: out of memory");
    }
    free(*extra);
    *extra = b.buf;
    return CT_OK;
}

ct_status ct_checkpoint_extra_get(const char *extra, const char *key, double *v, int n) {
    if (!extra_key_valid(key) || n < 0 || (n > 0 && !v))
        return CT_FAIL(CT_ERR_INVALID_ARG, "checkpoint extra: bad record '%s' (%d values)", key ? key : "(null)", n);
    const size_t kl = strlen(key);
    const char *p = extra;
    /* records start at the beginning or right after a ';' */
    while (p && *p && !(strncmp(p, key, kl) == 0 && p[kl] == '=')) {
        p = strchr(p, ';');
        if (p) p++;
    }
    if (!p || !*p) return CT_FAIL(CT_ERR_FORMAT, "checkpoint extra: no record '%s'", key);
    p += kl + 1;
    if (n == 0 && *p != ';') return CT_FAIL(CT_ERR_FORMAT, "checkpoint extra: record '%s' has values, expected none", key);
    for (int i = 0; i < n; i++) {
        char *end;
        v[i] = strtod(p, &end);
        const char want = i + 1 < n ? ',' : ';';
        if (end == p || *p == ' ' || (*end != want && *end != ';' && *end != ','))
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint extra: record '%s': bad value at '%.20s'", key, p);
        if (*end == ';' && want == ',')
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint extra: record '%s' has %d values, expected %d", key, i + 1, n);
        if (*end == ',' && want == ';')
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint extra: record '%s' has more than %d values", key, n);
        p = end + 1;
    }
    return CT_OK;
}
