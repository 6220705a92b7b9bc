/* uncoded (wait for all) and ignore (fastest n - s, rescaled by n/|F|):
 * k = n, worker i holds partition i and sends its gradient. */
#include "codes/code_internal.h"

static ct_status ct_single_layout(ct_code *c) {
    const char *name = ct_code_scheme_name(c->spec.scheme);
    if (c->spec.load != 0 && c->spec.load != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: load d=%d must be 1 (each worker holds one partition)", name, c->spec.load);
    if (c->spec.messages != 0 && c->spec.messages != 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: messages m=%d must be 1", name, c->spec.messages);
    c->spec.load = 1;
    c->spec.messages = 1;
    CT_TRY(ct_code_layout_uniform(c, c->n, 1, 1));
    for (int i = 0; i < c->n; i++) { CT_PARTS(c, i)[0] = i; CT_ENC(c, i)[0] = 1.0f; }
    return CT_OK;
}

static ct_status ct_uncoded_decode(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    for (int i = 0; i < c->n; i++)
        if (ct_mask_test(arrived, i)) { out->coeffs[i] = 1.0; out->recovered[i] = 1; }
    out->has_recovered = 1;
    out->status = CT_DECODE_NONE; /* the core upgrades to exact when all arrived */
    return CT_OK;
}

ct_status ct_code_build_uncoded(ct_code *c) {
    if (c->s != 0)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "uncoded: stragglers s=%d must be 0 (uncoded waits for every worker; use ignore to drop stragglers)",
                       c->s);
    CT_TRY(ct_single_layout(c));
    c->exact = 1;
    c->bound_kind = CT_BOUND_EXACT;
    c->decode = ct_uncoded_decode;
    return CT_OK;
}

/* a_i = n/|F|: unbiased when the stragglers are a uniformly random set */
static ct_status ct_ignore_decode(ct_code *c, const uint64_t *arrived, ct_decode_out *out) {
    int f = ct_code_slots_arrived(c, arrived);
    for (int i = 0; i < c->n; i++)
        if (ct_mask_test(arrived, i)) out->coeffs[i] = (double)c->n / f;
    out->status = CT_DECODE_APPROX;
    return CT_OK;
}

ct_status ct_code_build_ignore(ct_code *c) {
    CT_TRY(ct_single_layout(c));
    c->exact = 0;
    c->decode = ct_ignore_decode;
    return CT_OK;
}
