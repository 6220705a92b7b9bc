/* The scheme-independent core of the gradient-code library: spec validation,
 * the layout every scheme fills, queries, the pattern cache, and decode. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codes/code_internal.h"

/* ---------------------------------------------------------------- schemes */

static const char *const ct_scheme_names[CT_CODE_SCHEME_COUNT] = {
    "uncoded", "ignore", "frep", "cyclic", "cyclic-mds", "expander",
    "bgc", "sgc", "erasurehead", "alpha-subset", "alpha-cyclic", "ldgm", "frep-mds",
};

const char *ct_code_scheme_name(ct_code_scheme scheme) {
    if ((int)scheme < 0 || scheme >= CT_CODE_SCHEME_COUNT) return "?";
    return ct_scheme_names[scheme];
}

ct_status ct_code_scheme_parse(const char *name, ct_code_scheme *out) {
    if (!name || !out) return CT_FAIL(CT_ERR_INVALID_ARG, "scheme: name and out must be non-NULL");
    for (int i = 0; i < CT_CODE_SCHEME_COUNT; i++)
        if (!strcmp(name, ct_scheme_names[i])) { *out = (ct_code_scheme)i; return CT_OK; }
    return CT_FAIL(CT_ERR_INVALID_ARG,
                   "scheme '%s' unknown (one of uncoded, ignore, frep, cyclic, cyclic-mds, expander, "
                   "bgc, sgc, erasurehead, alpha-subset, alpha-cyclic, ldgm, frep-mds)", name);
}

int ct_code_scheme_is_exact(ct_code_scheme scheme) {
    return scheme == CT_CODE_UNCODED || scheme == CT_CODE_FREP || scheme == CT_CODE_CYCLIC ||
           scheme == CT_CODE_CYCLIC_MDS || scheme == CT_CODE_FREP_MDS;
}

typedef ct_status (*ct_build_fn)(ct_code *);
static ct_build_fn ct_builder(ct_code_scheme s) {
    switch (s) {
    case CT_CODE_UNCODED: return ct_code_build_uncoded;
    case CT_CODE_IGNORE: return ct_code_build_ignore;
    case CT_CODE_FREP: return ct_code_build_frep;
    case CT_CODE_CYCLIC: return ct_code_build_cyclic;
    case CT_CODE_CYCLIC_MDS: return ct_code_build_cyclic_mds;
    case CT_CODE_EXPANDER: return ct_code_build_expander;
    case CT_CODE_BGC: return ct_code_build_bgc;
    case CT_CODE_SGC: return ct_code_build_sgc;
    case CT_CODE_ERASUREHEAD: return ct_code_build_erasurehead;
    case CT_CODE_ALPHA_SUBSET: return ct_code_build_alpha_subset;
    case CT_CODE_ALPHA_CYCLIC: return ct_code_build_alpha_cyclic;
    case CT_CODE_LDGM: return ct_code_build_ldgm;
    case CT_CODE_FREP_MDS: return ct_code_build_frep_mds;
    default: return NULL;
    }
}

/* ------------------------------------------------------------------ cache */

/* Open addressing over decoded patterns. An entry owns its float coefficients
 * and flags, so a hit hands out pointers without copying. When the table is
 * full it is cleared: a training run repeats a few patterns, so a simple
 * policy is enough and keeps the hit path to a hash and a memcmp. */
typedef struct ct_cache_entry {
    uint64_t hash;
    int used;
    ct_decode_status status;
    double residual, residual_max, recovered_fraction, condition;
    int n_arrived, has_recovered;
    uint64_t *key;          /* mask_words */
    float *coeffs;          /* total */
    unsigned char *recovered; /* k */
} ct_cache_entry;

struct ct_code_cache {
    int capacity;           /* slots, power of two */
    int max_entries;        /* clear when count reaches this (load <= 1/2) */
    int count;
    ct_cache_entry *slots;
    uint64_t *keys;         /* capacity * mask_words */
    float *coeffs;          /* capacity * total */
    unsigned char *flags;   /* capacity * k */
    /* scratch for cold decodes */
    uint64_t *mask;
    double *a;
    unsigned char *rec;
    double *w;
};

static uint64_t ct_mask_hash(const uint64_t *m, int words) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < words; i++) h = ct_splitmix64(h ^ m[i]);
    return h;
}

static void ct_cache_free(struct ct_code_cache *cc) {
    if (!cc) return;
    free(cc->slots); free(cc->keys); free(cc->coeffs); free(cc->flags);
    free(cc->mask); free(cc->a); free(cc->rec); free(cc->w);
    free(cc);
}

static ct_status ct_cache_create(ct_code *c) {
    struct ct_code_cache *cc = calloc(1, sizeof *cc);
    if (!cc) return CT_FAIL(CT_ERR_NOMEM, "code cache: out of memory");
    /* budget ~16 MiB of coefficients, between 16 and 4096 patterns */
    size_t per = (size_t)c->mask_words * 8 + (size_t)c->total * 4 + (size_t)c->k;
    size_t want = ((size_t)16 << 20) / (per ? per : 1);
    if (want < 16) want = 16;
    if (want > 4096) want = 4096;
    int cap = 32;
    while ((size_t)cap < 2 * want) cap <<= 1;
    cc->capacity = cap;
    cc->max_entries = cap / 2;
    cc->slots = calloc((size_t)cap, sizeof *cc->slots);
    cc->keys = malloc((size_t)cap * c->mask_words * sizeof(uint64_t));
    cc->coeffs = malloc((size_t)cap * c->total * sizeof(float));
    cc->flags = malloc((size_t)cap * c->k);
    cc->mask = calloc((size_t)c->mask_words, sizeof(uint64_t));
    cc->a = calloc((size_t)c->total, sizeof(double));
    cc->rec = calloc((size_t)c->k, 1);
    cc->w = calloc((size_t)c->k, sizeof(double));
    if (!cc->slots || !cc->keys || !cc->coeffs || !cc->flags || !cc->mask || !cc->a || !cc->rec || !cc->w) {
        ct_cache_free(cc);
        return CT_FAIL(CT_ERR_NOMEM, "code cache: out of memory (%d patterns of %d slots)", cap, c->total);
    }
    for (int i = 0; i < cap; i++) {
        cc->slots[i].key = cc->keys + (size_t)i * c->mask_words;
        cc->slots[i].coeffs = cc->coeffs + (size_t)i * c->total;
        cc->slots[i].recovered = cc->flags + (size_t)i * c->k;
    }
    c->cache = cc;
    return CT_OK;
}

static ct_cache_entry *ct_cache_find(const ct_code *c, const uint64_t *mask, uint64_t h) {
    struct ct_code_cache *cc = c->cache;
    int i = (int)(h & (uint64_t)(cc->capacity - 1));
    for (;;) {
        ct_cache_entry *e = &cc->slots[i];
        if (!e->used) return NULL;
        if (e->hash == h && !memcmp(e->key, mask, (size_t)c->mask_words * sizeof(uint64_t))) return e;
        i = (i + 1) & (cc->capacity - 1);
    }
}

static ct_cache_entry *ct_cache_insert_slot(ct_code *c, const uint64_t *mask, uint64_t h) {
    struct ct_code_cache *cc = c->cache;
    if (cc->count >= cc->max_entries) {
        for (int i = 0; i < cc->capacity; i++) cc->slots[i].used = 0;
        cc->count = 0;
    }
    int i = (int)(h & (uint64_t)(cc->capacity - 1));
    while (cc->slots[i].used) i = (i + 1) & (cc->capacity - 1);
    ct_cache_entry *e = &cc->slots[i];
    e->used = 1;
    e->hash = h;
    memcpy(e->key, mask, (size_t)c->mask_words * sizeof(uint64_t));
    cc->count++;
    return e;
}

void ct_code_cache_clear(ct_code *c) {
    if (!c || !c->cache) return;
    for (int i = 0; i < c->cache->capacity; i++) c->cache->slots[i].used = 0;
    c->cache->count = 0;
}

void ct_code_cache_stats(const ct_code *c, uint64_t *hits, uint64_t *misses) {
    if (hits) *hits = c ? c->cache_hits : 0;
    if (misses) *misses = c ? c->cache_misses : 0;
}

/* ----------------------------------------------------------------- layout */

ct_status ct_code_layout(ct_code *c, int k, const int *load, const int *msgs) {
    if (c->load) return CT_FAIL(CT_ERR_INTERNAL, "%s: layout set twice", ct_code_scheme_name(c->spec.scheme));
    if (k < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: partitions k=%d must be >= 1", ct_code_scheme_name(c->spec.scheme), k);
    int n = c->n;
    c->k = k;
    c->load = malloc((size_t)n * sizeof(int));
    c->msgs = malloc((size_t)n * sizeof(int));
    c->part_off = malloc((size_t)(n + 1) * sizeof(int));
    c->msg_off = malloc((size_t)(n + 1) * sizeof(int));
    c->enc_off = malloc((size_t)(n + 1) * sizeof(size_t));
    if (!c->load || !c->msgs || !c->part_off || !c->msg_off || !c->enc_off)
        return CT_FAIL(CT_ERR_NOMEM, "code layout: out of memory (n=%d)", n);
    size_t np = 0, nm = 0, ne = 0;
    for (int i = 0; i < n; i++) {
        if (load[i] < 1 || load[i] > k)
            return CT_FAIL(CT_ERR_INVALID_ARG, "%s: worker %d load d=%d must be in [1, k=%d]",
                           ct_code_scheme_name(c->spec.scheme), i, load[i], k);
        if (msgs[i] < 1)
            return CT_FAIL(CT_ERR_INVALID_ARG, "%s: worker %d messages m=%d must be >= 1",
                           ct_code_scheme_name(c->spec.scheme), i, msgs[i]);
        c->load[i] = load[i];
        c->msgs[i] = msgs[i];
        c->part_off[i] = (int)np;
        c->msg_off[i] = (int)nm;
        c->enc_off[i] = ne;
        np += (size_t)load[i];
        nm += (size_t)msgs[i];
        ne += (size_t)load[i] * (size_t)msgs[i];
    }
    if (nm * (size_t)k > CT_CODE_MAX_B_ENTRIES || nm > (size_t)1 << 24)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: %zu messages x k=%d partitions exceeds the %u-entry limit",
                       ct_code_scheme_name(c->spec.scheme), nm, k, CT_CODE_MAX_B_ENTRIES);
    c->part_off[n] = (int)np;
    c->msg_off[n] = (int)nm;
    c->enc_off[n] = ne;
    c->total = (int)nm;
    c->mask_words = (c->total + 63) / 64;
    c->parts = malloc(np * sizeof(int));
    c->enc = calloc(ne ? ne : 1, sizeof(float));
    c->slot_worker = malloc(nm * sizeof(int));
    if (!c->parts || !c->enc || !c->slot_worker) return CT_FAIL(CT_ERR_NOMEM, "code layout: out of memory");
    for (size_t j = 0; j < np; j++) c->parts[j] = -1;
    for (int i = 0; i < n; i++)
        for (int l = 0; l < msgs[i]; l++) c->slot_worker[c->msg_off[i] + l] = i;
    return CT_OK;
}

ct_status ct_code_layout_uniform(ct_code *c, int k, int d, int m) {
    int *load = malloc((size_t)c->n * sizeof(int)), *msgs = malloc((size_t)c->n * sizeof(int));
    if (!load || !msgs) { free(load); free(msgs); return CT_FAIL(CT_ERR_NOMEM, "code layout: out of memory"); }
    for (int i = 0; i < c->n; i++) { load[i] = d; msgs[i] = m; }
    ct_status st = ct_code_layout(c, k, load, msgs);
    free(load); free(msgs);
    return st;
}

/* After the build hook: the layout must be complete and consistent. */
static ct_status ct_code_finish(ct_code *c) {
    const char *name = ct_code_scheme_name(c->spec.scheme);
    if (!c->load) return CT_FAIL(CT_ERR_INTERNAL, "%s: build hook set no layout", name);
    unsigned char *seen = calloc((size_t)c->k, 1);
    if (!seen) return CT_FAIL(CT_ERR_NOMEM, "code: out of memory");
    for (int i = 0; i < c->n; i++) {
        const int *p = CT_PARTS(c, i);
        for (int j = 0; j < c->load[i]; j++) {
            if (p[j] < 0 || p[j] >= c->k || seen[p[j]]) {
                free(seen);
                return CT_FAIL(CT_ERR_INTERNAL, "%s: worker %d partition list invalid (entry %d = %d, k=%d)",
                               name, i, j, p[j], c->k);
            }
            seen[p[j]] = 1;
        }
        for (int j = 0; j < c->load[i]; j++) seen[p[j]] = 0;
        const float *e = CT_ENC(c, i);
        for (int t = 0; t < c->load[i] * c->msgs[i]; t++)
            if (!isfinite(e[t])) { free(seen); return CT_FAIL(CT_ERR_NUMERIC, "%s: worker %d encoding not finite", name, i); }
    }
    free(seen);
    c->B = calloc((size_t)c->total * c->k, sizeof(double));
    if (!c->B) return CT_FAIL(CT_ERR_NOMEM, "code: out of memory for B (%d x %d)", c->total, c->k);
    for (int i = 0; i < c->n; i++) {
        const int *p = CT_PARTS(c, i);
        const float *e = CT_ENC(c, i);
        for (int l = 0; l < c->msgs[i]; l++) {
            double *row = c->B + (size_t)(c->msg_off[i] + l) * c->k;
            for (int j = 0; j < c->load[i]; j++) row[p[j]] = e[l * c->load[i] + j];
        }
    }
    return ct_cache_create(c);
}

/* --------------------------------------------------------------- lifetime */

static ct_status ct_code_validate(const ct_code_spec *sp) {
    if (sp->version != CT_CODE_SPEC_VERSION)
        return CT_FAIL(CT_ERR_INVALID_ARG, "code spec: version=%d, expected %d (start from CT_CODE_SPEC_INIT)",
                       sp->version, CT_CODE_SPEC_VERSION);
    if ((int)sp->scheme < 0 || sp->scheme >= CT_CODE_SCHEME_COUNT)
        return CT_FAIL(CT_ERR_INVALID_ARG, "code spec: scheme=%d is not a known scheme", (int)sp->scheme);
    const char *name = ct_code_scheme_name(sp->scheme);
    int n = sp->n_workers, s = sp->stragglers;
    if (n < 1 || n > CT_CODE_MAX_WORKERS)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: workers n=%d must be in [1, %d]", name, n, CT_CODE_MAX_WORKERS);
    if (s < 0 || s >= n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: stragglers s=%d must satisfy 0 <= s < n=%d", name, s, n);
    if (sp->load < 0 || sp->load > n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: load d=%d must satisfy 1 <= d <= n=%d (0 = default)", name, sp->load, n);
    if (sp->messages < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: messages m=%d must be >= 1 (0 = default)", name, sp->messages);
    if (!(sp->alpha == 0.0 || (sp->alpha > 0.0 && sp->alpha <= 1.0)))
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: alpha=%g must be in (0, 1]", name, sp->alpha);
    if (!(sp->straggle_prob < 1.0) || isnan(sp->straggle_prob))
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: straggle probability p=%g must be < 1 (negative = default s/n)",
                       name, sp->straggle_prob);
    if (sp->ldgm_weight < 0 || sp->ldgm_weight > n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: ldgm weight w=%d must satisfy 1 <= w <= n=%d (0 = default)",
                       name, sp->ldgm_weight, n);
    if (sp->wait_count < 0 || sp->wait_count > n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: wait count %d must satisfy 0 <= wait <= n=%d (0 = n - s)",
                       name, sp->wait_count, n);
    if ((int)sp->decoder < 0 || sp->decoder > CT_DECODER_OPTIMAL)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: decoder=%d is not default/fixed/optimal", name, (int)sp->decoder);
    return CT_OK;
}

ct_status ct_code_create(const ct_code_spec *spec, ct_code **out) {
    if (!spec || !out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_code_create: spec and out must be non-NULL");
    *out = NULL;
    CT_TRY(ct_code_validate(spec));
    ct_code *c = calloc(1, sizeof *c);
    if (!c) return CT_FAIL(CT_ERR_NOMEM, "ct_code_create: out of memory");
    c->spec = *spec;
    c->n = spec->n_workers;
    c->s = spec->stragglers;
    c->lambda2 = -1.0;
    ct_status st = ct_builder(spec->scheme)(c);
    if (st == CT_OK) st = ct_code_finish(c);
    if (st != CT_OK) { ct_code_destroy(c); return st; }
    *out = c;
    return CT_OK;
}

void ct_code_destroy(ct_code *c) {
    if (!c) return;
    if (c->scheme_free) c->scheme_free(c->scheme_data);
    ct_cache_free(c->cache);
    free(c->load); free(c->msgs); free(c->part_off); free(c->msg_off); free(c->enc_off);
    free(c->parts); free(c->enc); free(c->slot_worker); free(c->B);
    free(c);
}

/* ---------------------------------------------------------------- queries */

const ct_code_spec *ct_code_get_spec(const ct_code *c) { return c ? &c->spec : NULL; }
ct_code_scheme ct_code_get_scheme(const ct_code *c) { return c->spec.scheme; }
int ct_code_n_workers(const ct_code *c) { return c ? c->n : -1; }
int ct_code_n_partitions(const ct_code *c) { return c ? c->k : -1; }
int ct_code_stragglers(const ct_code *c) { return c ? c->s : -1; }
int ct_code_is_exact(const ct_code *c) { return c ? c->exact : 0; }
int ct_code_load(const ct_code *c, int i) { return (c && i >= 0 && i < c->n) ? c->load[i] : -1; }
int ct_code_messages(const ct_code *c, int i) { return (c && i >= 0 && i < c->n) ? c->msgs[i] : -1; }
const int *ct_code_partitions(const ct_code *c, int i) {
    return (c && i >= 0 && i < c->n) ? c->parts + c->part_off[i] : NULL;
}
const float *ct_code_encoding(const ct_code *c, int i) {
    return (c && i >= 0 && i < c->n) ? c->enc + c->enc_off[i] : NULL;
}
int ct_code_max_load(const ct_code *c) {
    int m = 0;
    for (int i = 0; i < c->n; i++) if (c->load[i] > m) m = c->load[i];
    return m;
}
int ct_code_max_messages(const ct_code *c) {
    int m = 0;
    for (int i = 0; i < c->n; i++) if (c->msgs[i] > m) m = c->msgs[i];
    return m;
}
int ct_code_message_index(const ct_code *c, int i, int l) {
    if (!c || i < 0 || i >= c->n || l < 0 || l >= c->msgs[i]) return -1;
    return c->msg_off[i] + l;
}
int ct_code_message_worker(const ct_code *c, int slot) {
    return (c && slot >= 0 && slot < c->total) ? c->slot_worker[slot] : -1;
}
int ct_code_total_messages(const ct_code *c) { return c ? c->total : -1; }
int ct_code_mask_words(const ct_code *c) { return c ? c->mask_words : -1; }
double ct_code_lambda2(const ct_code *c) { return c ? c->lambda2 : -1.0; }

double ct_code_residual_bound(const ct_code *c, int stragglers) {
    if (!c || stragglers < 0 || stragglers >= c->n) return -1.0;
    switch (c->bound_kind) {
    case CT_BOUND_EXACT: return stragglers <= c->s ? 0.0 : -1.0;
    case CT_BOUND_EXPANDER: {
        double n = c->n, s = stragglers, d = c->spec.load;
        return (c->lambda2 / d) * sqrt(n * s / (n - s));
    }
    default: return -1.0;
    }
}

ct_status ct_code_mask_add_worker(const ct_code *c, int worker, uint64_t *mask) {
    if (!c || !mask) return CT_FAIL(CT_ERR_INVALID_ARG, "mask_add_worker: code and mask must be non-NULL");
    if (worker < 0 || worker >= c->n)
        return CT_FAIL(CT_ERR_INVALID_ARG, "mask_add_worker: worker=%d must be in [0, n=%d)", worker, c->n);
    for (int l = 0; l < c->msgs[worker]; l++) ct_mask_set(mask, c->msg_off[worker] + l);
    return CT_OK;
}

int ct_code_workers_arrived(const ct_code *c, const uint64_t *m) {
    int count = 0;
    for (int i = 0; i < c->n; i++) {
        int all = 1;
        for (int l = 0; l < c->msgs[i] && all; l++) all = ct_mask_test(m, c->msg_off[i] + l);
        count += all;
    }
    return count;
}

int ct_code_slots_arrived(const ct_code *c, const uint64_t *m) {
    int count = 0;
    for (int w = 0; w < c->mask_words; w++) {
        uint64_t x = m[w];
        if (w == c->mask_words - 1 && (c->total & 63)) x &= (1ull << (c->total & 63)) - 1;
        count += __builtin_popcountll(x);
    }
    return count;
}

double ct_code_residual_of(const ct_code *c, const uint64_t *arrived, const double *a) {
    double *w = c->cache ? c->cache->w : NULL, local[64];
    double *heap = NULL;
    if (!w) {
        if (c->k <= 64) w = local;
        else if (!(w = heap = malloc((size_t)c->k * sizeof(double)))) return INFINITY;
    }
    for (int j = 0; j < c->k; j++) w[j] = 0.0;
    for (int t = 0; t < c->total; t++) {
        if (a[t] == 0.0 || !ct_mask_test(arrived, t)) continue;
        const double *row = c->B + (size_t)t * c->k;
        for (int j = 0; j < c->k; j++) w[j] += a[t] * row[j];
    }
    double r = 0.0;
    for (int j = 0; j < c->k; j++) r += (w[j] - 1.0) * (w[j] - 1.0);
    free(heap);
    return sqrt(r);
}

/* ----------------------------------------------------------------- decode */

/* The default decoder: min-norm least squares towards 1, or for exact codes
 * the exact solver on a decodable subset. Exact schemes call a pattern short
 * of n - s workers "not decodable" (the master keeps waiting) but still hand
 * back the best-effort coefficients for a deadline decode. */
static ct_status ct_code_decode_lstsq(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    int f = ct_code_slots_arrived(c, arrived);
    if (c->exact && c->exact_rank > 0 && f >= c->exact_rank) {
        int *slots = malloc((size_t)f * sizeof(int)), *parts = malloc((size_t)c->k * sizeof(int));
        if (!slots || !parts) { free(slots); free(parts); return CT_FAIL(CT_ERR_NOMEM, "decode: out of memory"); }
        int q = 0;
        for (int t = 0; t < c->total; t++) if (ct_mask_test(arrived, t)) slots[q++] = t;
        for (int j = 0; j < c->k; j++) parts[j] = j;
        ct_status st = ct_code_solve_exact(c, slots, f, parts, c->k, c->exact_rank, out->coeffs, &out->condition);
        free(slots); free(parts);
        CT_TRY(st);
        /* the core demotes it when the float32 residual says otherwise */
        out->status = CT_DECODE_EXACT;
        return CT_OK;
    }
    CT_TRY(ct_code_lstsq(c, arrived, NULL, out->coeffs, &out->condition));
    if (c->exact) out->status = CT_DECODE_NONE;
    else out->status = CT_DECODE_APPROX; /* upgraded by the core when exact */
    return CT_OK;
}

ct_status ct_code_decode(ct_code *c, const uint64_t *arrived, ct_decode_result *res) {
    if (!c || !arrived || !res) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_code_decode: code, arrived and result must be non-NULL");
    struct ct_code_cache *cc = c->cache;
    memcpy(cc->mask, arrived, (size_t)c->mask_words * sizeof(uint64_t));
    if (c->total & 63) cc->mask[c->mask_words - 1] &= (1ull << (c->total & 63)) - 1;
    uint64_t h = ct_mask_hash(cc->mask, c->mask_words);
    ct_cache_entry *e = ct_cache_find(c, cc->mask, h);
    if (e) {
        c->cache_hits++;
        res->cache_hit = 1;
    } else {
        c->cache_misses++;
        memset(cc->a, 0, (size_t)c->total * sizeof(double));
        memset(cc->rec, 0, (size_t)c->k);
        ct_decode_out out = {cc->a, cc->rec, 0, CT_DECODE_NONE, 0.0};
        int n_arrived = ct_code_slots_arrived(c, cc->mask);
        /* hooks are called for the empty pattern too, so flags are always set */
        CT_TRY(c->decode ? c->decode(c, cc->mask, &out) : ct_code_decode_lstsq(c, cc->mask, &out));
        if (n_arrived == 0) out.status = CT_DECODE_NONE;
        /* residual and recovered fraction from the coefficients themselves */
        double *w = cc->w;
        for (int j = 0; j < c->k; j++) w[j] = 0.0;
        for (int t = 0; t < c->total; t++) {
            if (cc->a[t] == 0.0) continue;
            if (!ct_mask_test(cc->mask, t)) cc->a[t] = 0.0; /* a hook must not use absent slots */
            else { /* sparse: row t of B is E_i[l, :] on worker i's partitions;
                    * the residual is the one of the float32 coefficients the
                    * runtime combines float32 messages with */
                int i = c->slot_worker[t], d = c->load[i];
                const int *p = c->parts + c->part_off[i];
                const float *e = c->enc + c->enc_off[i] + (size_t)(t - c->msg_off[i]) * d;
                double af = (double)(float)cc->a[t];
                for (int j = 0; j < d; j++) w[p[j]] += af * (double)e[j];
            }
        }
        double r2 = 0.0, rinf = 0.0;
        int nonzero = 0;
        for (int j = 0; j < c->k; j++) {
            double d = w[j] - 1.0;
            r2 += d * d;
            if (fabs(d) > rinf) rinf = fabs(d);
            nonzero += fabs(w[j]) > 1e-9;
        }
        for (int t = 0; t < c->total; t++)
            if (!isfinite(cc->a[t])) return CT_FAIL(CT_ERR_NUMERIC, "%s decode: non-finite coefficient at slot %d",
                                                  ct_code_scheme_name(c->spec.scheme), t);
        int recovered = 0;
        if (out.has_recovered) for (int j = 0; j < c->k; j++) recovered += out.recovered[j] != 0;
        if (rinf < CT_CODE_EXACT_TOL && n_arrived > 0) out.status = CT_DECODE_EXACT;
        /* an exact code on an ill-conditioned pattern (random H at large n) can
         * leave a visible error: call it what it is */
        if (out.status == CT_DECODE_EXACT && !(rinf <= CT_CODE_EXACT_LOOSE_TOL)) out.status = CT_DECODE_APPROX;
        e = ct_cache_insert_slot(c, cc->mask, h);
        e->status = out.status;
        e->residual = sqrt(r2 / c->k);
        e->residual_max = rinf;
        e->has_recovered = out.has_recovered;
        e->recovered_fraction = out.has_recovered ? (double)recovered / c->k : (double)nonzero / c->k;
        e->condition = out.condition;
        e->n_arrived = n_arrived;
        for (int t = 0; t < c->total; t++) e->coeffs[t] = (float)cc->a[t];
        if (out.has_recovered) memcpy(e->recovered, out.recovered, (size_t)c->k);
        res->cache_hit = 0;
    }
    res->coeffs = e->coeffs;
    res->status = e->status;
    res->residual = e->residual;
    res->residual_max = e->residual_max;
    res->recovered_fraction = e->recovered_fraction;
    res->recovered = e->has_recovered ? e->recovered : NULL;
    res->n_arrived = e->n_arrived;
    res->condition = e->condition;
    return CT_OK;
}

int ct_code_decodable(const ct_code *c, const uint64_t *arrived) {
    if (!c || !arrived) return 0;
    if (c->decodable) return c->decodable(c, arrived);
    if (ct_code_workers_arrived(c, arrived) >= c->n - c->s) return 1;
    if (!c->exact) return 0;
    /* an exact code short of n - s workers: only a cached exact decode says yes */
    uint64_t local[8], *m = c->mask_words <= 8 ? local : malloc((size_t)c->mask_words * sizeof(uint64_t));
    if (!m) return 0;
    memcpy(m, arrived, (size_t)c->mask_words * sizeof(uint64_t));
    if (c->total & 63) m[c->mask_words - 1] &= (1ull << (c->total & 63)) - 1;
    ct_cache_entry *e = ct_cache_find(c, m, ct_mask_hash(m, c->mask_words));
    int ok = e && e->status == CT_DECODE_EXACT;
    if (m != local) free(m);
    return ok;
}
