/* Straggler models (see straggler.h). */
#include "host/straggler.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/rng.h"
#include "host/outpath.h"

typedef enum { M_SLOW, M_SHIFTED_EXP, M_PARETO, M_BIMODAL, M_DROP, M_TRACE, M_NAN, M_EXP_MEANS } model_kind;

typedef struct model {
    model_kind kind;
    double a, b;        /* parameters (factor / shift,mean / alpha,scale / p,slow) */
    unsigned char *who; /* per-worker membership for slow/drop/nan (n entries) */
    double *trace;      /* trace: rows x n delays in ms (negative = dead) */
    double *means;      /* exp-means / exp-spread: per-worker mean delay in ms */
    long trace_rows;
} model;

struct ct_straggler {
    int n;
    uint64_t seed;
    int count;
    model models[8];
    char spec[512];
};

static ct_status parse_number(const char *spec, const char **p, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(*p, &end);
    if (end == *p || errno || !isfinite(v))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--straggle '%s': expected a number at '%s'", spec, *p);
    if (v < lo || v > hi)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--straggle '%s': value %g out of range [%g, %g]", spec, v, lo, hi);
    *p = end;
    *out = v;
    return CT_OK;
}

static ct_status expect_char(const char *spec, const char **p, char c) {
    if (**p != c) return CT_FAIL(CT_ERR_INVALID_ARG, "--straggle '%s': expected '%c' at '%s'", spec, c, *p);
    (*p)++;
    return CT_OK;
}

/* comma-separated worker indices up to '@', '+' or end */
static ct_status parse_workers(const char *spec, const char **p, int n, unsigned char *who) {
    for (;;) {
        double v;
        CT_TRY(parse_number(spec, p, 0, 1e9, &v));
        if (v != floor(v) || v >= n)
            return CT_FAIL(CT_ERR_INVALID_ARG, "--straggle '%s': worker %g is not in 0..%d", spec, v, n - 1);
        who[(int)v] = 1;
        if (**p != ',') return CT_OK;
        (*p)++;
    }
}

static ct_status load_trace(const char *spec, const char *path, int n, model *m) {
    CT_TRY(ct_inpath_check("--straggle trace:", path)); /* a FIFO would block the open */
    FILE *f = fopen(path, "r");
    if (!f) return CT_FAIL(CT_ERR_IO, "--straggle trace:%s: cannot open the file", path);
    size_t cap = 64;
    m->trace = malloc(cap * (size_t)n * sizeof(double));
    if (!m->trace) { fclose(f); return CT_FAIL(CT_ERR_NOMEM, "trace %s: out of memory", path); }
    char line[65536];
    long lineno = 0;
    ct_status st = CT_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) { st = CT_FAIL(CT_ERR_FORMAT, "%s:%ld: line too long", path, lineno); break; }
        const char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        if (lineno == 1 && isalpha((unsigned char)*p) && strncmp(p, "inf", 3) != 0) continue; /* header */
        if ((size_t)m->trace_rows == cap) {
            cap *= 2;
            double *t = realloc(m->trace, cap * (size_t)n * sizeof(double));
            if (!t) { st = CT_FAIL(CT_ERR_NOMEM, "trace %s: out of memory", path); break; }
            m->trace = t;
        }
        double *row = m->trace + (size_t)m->trace_rows * n;
        for (int w = 0; w < n; w++) {
            while (*p == ' ' || *p == '\t') p++;
            char *end;
            double v;
            if (!strncmp(p, "inf", 3) || !strncmp(p, "dead", 4)) { v = -1; end = (char *)p + (p[0] == 'i' ? 3 : 4); }
            else {
                errno = 0;
                v = strtod(p, &end);
                if (end == p || errno || !isfinite(v) || v < 0) {
                    st = CT_FAIL(CT_ERR_FORMAT, "%s:%ld: column %d: expected a delay in ms >= 0 or 'inf'", path, lineno, w + 1);
                    break;
                }
            }
            row[w] = v;
            p = end;
            while (*p == ' ' || *p == '\t') p++;
            if (w + 1 < n) {
                if (*p != ',') { st = CT_FAIL(CT_ERR_FORMAT, "%s:%ld: expected %d comma-separated delays (one per worker), found %d", path, lineno, n, w + 1); break; }
                p++;
            }
        }
        if (st != CT_OK) break;
        while (isspace((unsigned char)*p)) p++;
        if (*p) { st = CT_FAIL(CT_ERR_FORMAT, "%s:%ld: more than %d delays (one per worker expected)", path, lineno, n); break; }
        m->trace_rows++;
    }
    if (st == CT_OK && ferror(f)) st = CT_FAIL(CT_ERR_IO, "%s: read error", path);
    if (st == CT_OK && m->trace_rows == 0) st = CT_FAIL(CT_ERR_FORMAT, "%s: no delay rows (spec '%s')", path, spec);
    fclose(f);
    return st;
}

void ct_straggler_destroy(ct_straggler *s) {
    if (!s) return;
    for (int i = 0; i < s->count; i++) {
        free(s->models[i].who);
        free(s->models[i].trace);
        free(s->models[i].means);
    }
    free(s);
}

static ct_status parse_one(ct_straggler *s, const char *spec, const char **p) {
    model *m = &s->models[s->count];
    memset(m, 0, sizeof *m);
    const char *q = *p;
    if (!strncmp(q, "none", 4)) { *p = q + 4; return CT_OK; }
    if (s->count == (int)(sizeof s->models / sizeof s->models[0]))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--straggle '%s': too many combined models", spec);
    struct { const char *name; model_kind kind; } names[] = {
        {"slow:", M_SLOW}, {"shifted-exp:", M_SHIFTED_EXP}, {"pareto:", M_PARETO}, {"bimodal:", M_BIMODAL},
        {"drop:", M_DROP}, {"trace:", M_TRACE}, {"nan:", M_NAN}, {"exp-means:", M_EXP_MEANS}, {"exp-spread:", M_EXP_MEANS}};
    int found = -1;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strncmp(q, names[i].name, strlen(names[i].name))) { found = i; break; }
    if (found < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--straggle '%s': unknown model at '%s' (expected none, slow:I,J@F, shifted-exp:SHIFT_MS,MEAN_MS, "
                       "pareto:ALPHA,SCALE_MS, bimodal:P,SLOW_MS, drop:I,J, trace:FILE, exp-means:M0,M1,..., "
                       "exp-spread:MIN_MS,MAX_MS)", spec, q);
    m->kind = names[found].kind;
    q += strlen(names[found].name);
    s->count++; /* owned from here on, so destroy frees it on error */
    if (m->kind == M_SLOW || m->kind == M_DROP || m->kind == M_NAN) {
        m->who = calloc((size_t)s->n, 1);
        if (!m->who) return CT_FAIL(CT_ERR_NOMEM, "--straggle: out of memory");
        CT_TRY(parse_workers(spec, &q, s->n, m->who));
        if (m->kind == M_SLOW) {
            CT_TRY(expect_char(spec, &q, '@'));
            CT_TRY(parse_number(spec, &q, 1, 1e6, &m->a));
        }
    } else if (m->kind == M_SHIFTED_EXP) {
        CT_TRY(parse_number(spec, &q, 0, 1e9, &m->a));
        CT_TRY(expect_char(spec, &q, ','));
        CT_TRY(parse_number(spec, &q, 0, 1e9, &m->b));
    } else if (m->kind == M_PARETO) {
        CT_TRY(parse_number(spec, &q, 1e-3, 1e3, &m->a));
        CT_TRY(expect_char(spec, &q, ','));
        CT_TRY(parse_number(spec, &q, 0, 1e9, &m->b));
    } else if (m->kind == M_BIMODAL) {
        CT_TRY(parse_number(spec, &q, 0, 1, &m->a));
        CT_TRY(expect_char(spec, &q, ','));
        CT_TRY(parse_number(spec, &q, 0, 1e9, &m->b));
    } else if (m->kind == M_EXP_MEANS) {
        /* exp-means:M0,...,M{n-1} (one mean per worker) or exp-spread:MIN,MAX (geometric from worker 0 to n-1) */
        m->means = malloc((size_t)s->n * sizeof *m->means);
        if (!m->means) return CT_FAIL(CT_ERR_NOMEM, "--straggle: out of memory");
        if (!strncmp(*p, "exp-spread:", 11)) {
            double lo, hi;
            CT_TRY(parse_number(spec, &q, 1e-6, 1e9, &lo));
            CT_TRY(expect_char(spec, &q, ','));
            CT_TRY(parse_number(spec, &q, lo, 1e9, &hi));
            for (int w = 0; w < s->n; w++) m->means[w] = s->n > 1 ? lo * pow(hi / lo, (double)w / (s->n - 1)) : lo;
        } else {
            for (int w = 0; w < s->n; w++) {
                if (w) CT_TRY(expect_char(spec, &q, ','));
                CT_TRY(parse_number(spec, &q, 1e-6, 1e9, &m->means[w]));
            }
            if (*q == ',') return CT_FAIL(CT_ERR_INVALID_ARG, "--straggle '%s': exp-means takes exactly %d means (one per worker)", spec, s->n);
        }
    } else { /* trace: the rest up to '+' is the path */
        const char *end = strchr(q, '+');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        char path[4096];
        if (len == 0 || len >= sizeof path) return CT_FAIL(CT_ERR_INVALID_ARG, "--straggle '%s': trace needs a file name", spec);
        memcpy(path, q, len);
        path[len] = '\0';
        CT_TRY(load_trace(spec, path, s->n, m));
        q += len;
    }
    *p = q;
    return CT_OK;
}

ct_status ct_straggler_create(const char *spec, int n, uint64_t seed, ct_straggler **out) {
    *out = NULL;
    if (n < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "straggler model: %d workers", n);
    if (!spec || !*spec) spec = "none";
    ct_straggler *s = calloc(1, sizeof *s);
    if (!s) return CT_FAIL(CT_ERR_NOMEM, "straggler model: out of memory");
    s->n = n;
    s->seed = seed;
    snprintf(s->spec, sizeof s->spec, "%s", spec);
    const char *p = spec;
    for (;;) {
        ct_status st = parse_one(s, spec, &p);
        if (st != CT_OK) { ct_straggler_destroy(s); return st; }
        if (*p == '+') { p++; continue; }
        if (*p) {
            ct_straggler_destroy(s);
            return CT_FAIL(CT_ERR_INVALID_ARG, "--straggle '%s': unexpected '%s'", spec, p);
        }
        break;
    }
    *out = s;
    return CT_OK;
}

const char *ct_straggler_spec(const ct_straggler *s) { return s->spec; }

ct_straggle_draw ct_straggler_draw(const ct_straggler *s, int w, long step) {
    ct_straggle_draw d = {0.0, 1.0, 0, 0};
    for (int i = 0; i < s->count; i++) {
        const model *m = &s->models[i];
        /* a private stream per (seed, model, worker, step): order-independent */
        ct_rng r;
        ct_rng_seed(&r, ct_hash64(s->seed ^ ((uint64_t)i << 56), ((uint64_t)step << 20) ^ (uint64_t)w));
        switch (m->kind) {
        case M_SLOW: if (m->who[w]) d.factor *= m->a; break;
        case M_DROP: if (m->who[w]) d.dead = 1; break;
        case M_NAN: if (m->who[w]) d.poison = 1; break;
        case M_SHIFTED_EXP: d.delay_ms += m->a + ct_rng_exponential(&r, m->b); break;
        case M_PARETO: {
            double u = 1.0 - ct_rng_uniform(&r); /* (0, 1] */
            d.delay_ms += m->b * pow(u, -1.0 / m->a);
            break;
        }
        case M_BIMODAL: if (ct_rng_uniform(&r) < m->a) d.delay_ms += m->b; break;
        case M_EXP_MEANS: d.delay_ms += ct_rng_exponential(&r, m->means[w]); break;
        case M_TRACE: {
            double v = m->trace[(size_t)(step % m->trace_rows) * s->n + w];
            if (v < 0) d.dead = 1;
            else d.delay_ms += v;
            break;
        }
        }
    }
    return d;
}

int ct_straggler_exp_mean_ms(const ct_straggler *s, int w, double *mean_ms) {
    /* only a lone exponential model: anything combined with it changes the law */
    if (s->count != 1 || w < 0 || w >= s->n) return 0;
    const model *m = &s->models[0];
    if (m->kind == M_EXP_MEANS) { *mean_ms = m->means[w]; return 1; }
    if (m->kind == M_SHIFTED_EXP && m->b > 0) { *mean_ms = m->b; return 1; } /* the common shift cancels in regret */
    return 0;
}
