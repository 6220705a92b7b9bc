/* libFuzzer harness for the k-schedule parser (ct_kschedule_create) and the
 * policy constructor. Input: u8 n, u8 k, then "SCHEDULE\0POLICY". Whatever is
 * accepted must give a k in 1..n at every step, and keep doing so while it is
 * fed loss and gradient statistics (the auto schedule's switching rule). */
#include <math.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "host/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int n = 1 + (int)fz_take(&data, &size, 1) % 64;
    int k = (int)fz_take(&data, &size, 1) % 70;
    const uint8_t *nul = memchr(data, 0, size);
    size_t slen = nul ? (size_t)(nul - data) : size;
    char *spec = fz_strndup(data, slen);
    char *policy = nul ? fz_strndup(nul + 1, size - slen - 1) : fz_strndup(data, 0);

    ct_kschedule *ks = NULL;
    if (ct_kschedule_create(spec, n, &ks) == CT_OK) {
        for (long step = 0; step < 400; step += 7) {
            int kk = ct_kschedule_k(ks, step);
            if (kk < 1 || kk > n) abort();
            /* alternate a flat and a falling loss, and both signs of <g_t, g_t-1> */
            ct_kschedule_observe(ks, step, (step & 8) ? 1.0 : 1.0 / (1.0 + step), (step & 16) ? -1.0 : 1.0);
        }
        ct_kschedule_destroy(ks);
    } else if (ks) {
        abort(); /* a refusal hands back nothing */
    }
    ct_policy *p = NULL;
    if (ct_policy_create(policy, *spec ? spec : NULL, n, k, 1, &p) == CT_OK) {
        unsigned char idle[64], assign[64];
        for (int i = 0; i < n; i++) idle[i] = (unsigned char)(i % 3 != 0 || n < 3);
        for (long step = 0; step < 50; step++) {
            int got = ct_policy_select(p, step, idle, assign);
            if (got < 0 || got > n) abort();
            for (int i = 0; i < n; i++) {
                if (assign[i] && !idle[i]) abort(); /* never gives work to a busy worker */
                if (assign[i]) ct_policy_observe(p, i, 0.001 * (1 + i));
            }
        }
        ct_policy_destroy(p);
    }
    free(spec);
    free(policy);
    return 0;
}
