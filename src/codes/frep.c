/* Fractional repetition (Tandon et al.) and ErasureHead (Wang et al.): workers
 * form n/d groups of d; every worker of group g holds partitions
 * {g d, ..., g d + d - 1} and sends their plain sum. frep uses d = s+1 and
 * waits until every group has answered; erasurehead may use a smaller d and
 * stops early, summing one reply per covered group with no rescaling. */
#include "codes/code_internal.h"

typedef struct { int d; int wait; } ct_frep_data;

static ct_status ct_frep_layout(ct_code *c, int d) {
    CT_TRY(ct_code_layout_uniform(c, c->n, d, 1));
    for (int i = 0; i < c->n; i++) {
        int g = i / d;
        for (int j = 0; j < d; j++) { CT_PARTS(c, i)[j] = g * d + j; CT_ENC(c, i)[j] = 1.0f; }
    }
    return CT_OK;
}

/* group coverage: first arrived worker of each group gets coefficient 1 */
static int ct_frep_cover(const ct_code *c, const uint64_t *arrived, double *coeffs, unsigned char *rec) {
    int d = c->spec.load, groups = c->n / d, covered = 0;
    for (int g = 0; g < groups; g++) {
        for (int i = g * d; i < (g + 1) * d; i++) {
            if (!ct_mask_test(arrived, i)) continue;
            if (coeffs) coeffs[i] = 1.0;
            if (rec) for (int j = 0; j < d; j++) rec[g * d + j] = 1;
            covered++;
            break;
        }
    }
    return covered;
}

static ct_status ct_frep_decode(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    ct_frep_cover(c, arrived, out->coeffs, out->recovered);
    out->has_recovered = 1;
    /* frep is an exact code: short of full coverage it is "not decodable";
     * erasurehead's partial sum is its intended approximate answer */
    out->status = c->spec.scheme == CT_CODE_FREP ? CT_DECODE_NONE : CT_DECODE_APPROX;
    return CT_OK;
}

static int ct_frep_decodable(const ct_code *c, const uint64_t *arrived) {
    return ct_frep_cover(c, arrived, NULL, NULL) == c->n / c->spec.load;
}

static int ct_erasurehead_decodable(const ct_code *c, const uint64_t *arrived) {
    return ct_frep_decodable(c, arrived) || ct_code_workers_arrived(c, arrived) >= c->spec.wait_count;
}

ct_status ct_code_build_frep(ct_code *c) {
    int n = c->n, s = c->s;
    if (c->spec.load != 0 && c->spec.load != s + 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "frep: load d=%d must equal s+1=%d", c->spec.load, s + 1);
    if (n % (s + 1) != 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "frep: (s+1)=%d must divide n=%d", s + 1, n);
    if (c->spec.messages != 0 && c->spec.messages != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "frep: messages m=%d must be 1", c->spec.messages);
    c->spec.load = s + 1;
    c->spec.messages = 1;
    CT_TRY(ct_frep_layout(c, s + 1));
    c->exact = 1;
    c->bound_kind = CT_BOUND_EXACT;
    c->decode = ct_frep_decode;
    c->decodable = ct_frep_decodable;
    return CT_OK;
}

ct_status ct_code_build_erasurehead(ct_code *c) {
    int n = c->n, s = c->s;
    int d = c->spec.load ? c->spec.load : s + 1;
    if (n % d != 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "erasurehead: load d=%d must divide n=%d (groups of d workers)", d, n);
    if (c->spec.messages != 0 && c->spec.messages != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "erasurehead: messages m=%d must be 1", c->spec.messages);
    c->spec.load = d;
    c->spec.messages = 1;
    if (c->spec.wait_count == 0) c->spec.wait_count = n - s;
    CT_TRY(ct_frep_layout(c, d));
    c->exact = d >= s + 1; /* with d = s+1 any n - s arrivals cover every group */
    c->bound_kind = c->exact ? CT_BOUND_EXACT : CT_BOUND_NONE;
    c->decode = ct_frep_decode;
    c->decodable = ct_erasurehead_decodable;
    return CT_OK;
}
