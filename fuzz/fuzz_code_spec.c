/* libFuzzer harness for code construction and decoding: a scheme name
 * (ct_code_scheme_parse) and a small fuzzed ct_code_spec (ct_code_create,
 * which must reject every inconsistent spec with a message), then queries and
 * decodes of fuzzed arrival patterns on whatever was accepted. Sizes are kept
 * small (n <= 24) so each input runs in well under a millisecond or so.
 * Input: 12 parameter bytes, a u8 name length, the name, then arrival masks. */
#include <math.h>
#include <stdlib.h>

#include "codedtrain/codes.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ct_code_spec spec = CT_CODE_SPEC_INIT;
    spec.scheme = (ct_code_scheme)(fz_take(&data, &size, 1) % (CT_CODE_SCHEME_COUNT + 1));
    spec.n_workers = (int)(fz_take(&data, &size, 1) % 25);
    spec.stragglers = (int)(fz_take(&data, &size, 1) % 26) - 1;
    spec.load = (int)(fz_take(&data, &size, 1) % 27) - 1;
    spec.messages = (int)(fz_take(&data, &size, 1) % 10) - 1;
    spec.alpha = (double)fz_take(&data, &size, 1) / 200.0; /* [0, 1.275]: in and out of range */
    spec.seed = fz_take(&data, &size, 2);
    spec.decoder = (ct_code_decoder)(fz_take(&data, &size, 1) % 4);
    int sp = (int)fz_take(&data, &size, 1);
    spec.straggle_prob = sp == 255 ? -1.0 : sp / 200.0;
    spec.ldgm_weight = (int)(fz_take(&data, &size, 1) % 8);
    spec.wait_count = (int)(fz_take(&data, &size, 1) % 27) - 1;
    size_t name_len = (size_t)fz_take(&data, &size, 1);
    if (name_len > size) name_len = size;
    char *name = fz_strndup(data, name_len);
    data += name_len;
    size -= name_len;
    ct_code_scheme parsed;
    if (ct_code_scheme_parse(name, &parsed) == CT_OK) {
        if ((int)parsed < 0 || parsed >= CT_CODE_SCHEME_COUNT) abort();
        spec.scheme = parsed;
    }
    free(name);

    ct_code *code = NULL;
    if (ct_code_create(&spec, &code) != CT_OK) {
        if (code) abort();
        return 0;
    }
    int n = ct_code_n_workers(code), k = ct_code_n_partitions(code);
    int total = ct_code_total_messages(code), words = ct_code_mask_words(code);
    if (n != spec.n_workers || k < 1 || total < 1 || words < 1) abort();
    for (int w = 0; w < n; w++) {
        int d = ct_code_load(code, w);
        const int *parts = ct_code_partitions(code, w);
        for (int j = 0; j < d; j++)
            if (parts[j] < 0 || parts[j] >= k) abort();
        for (int l = 0; l < ct_code_messages(code, w); l++) {
            int slot = ct_code_message_index(code, w, l);
            if (slot < 0 || slot >= total || ct_code_message_worker(code, slot) != w) abort();
        }
    }
    (void)ct_code_residual_bound(code, ct_code_stragglers(code));
    uint64_t *mask = calloc((size_t)words, sizeof *mask);
    if (!mask) abort();
    /* up to 4 patterns: each input byte is a worker that arrived (>= n: none) */
    for (int round = 0; round < 4 && size; round++) {
        memset(mask, 0, (size_t)words * sizeof *mask);
        int count = (int)fz_take(&data, &size, 1) % (n + 1);
        for (int i = 0; i < count && size; i++) {
            int w = (int)fz_take(&data, &size, 1);
            if (w < n && ct_code_mask_add_worker(code, w, mask) != CT_OK) abort();
        }
        (void)ct_code_decodable(code, mask);
        ct_decode_result r;
        if (ct_code_decode(code, mask, &r) == CT_OK) {
            for (int t = 0; t < total; t++)
                if (!isfinite(r.coeffs[t]) || (!ct_mask_test(mask, t) && r.coeffs[t] != 0.0f)) abort();
            if (r.status == CT_DECODE_EXACT && (r.residual > 1e-3 || r.residual_max > 1e-4)) abort();
        }
    }
    /* the measured label on a small budget: counts consistent with the code */
    ct_code_verify_report rep;
    if (ct_code_verify(code, 16, spec.seed, &rep) == CT_OK) {
        if (rep.sets_tested > 16 || rep.failures > rep.sets_tested) abort();
        if (rep.verified_exact && (!ct_code_is_exact(code) || rep.failures)) abort();
        if (!ct_code_is_exact(code) && rep.sets_tested) abort();
    }
    free(mask);
    ct_code_destroy(code);
    return 0;
}
