/* libFuzzer harness for the straggler-model parser (ct_straggler_create):
 * spec strings, and trace files through "trace:" specs.
 * Input: one byte of worker count (1..64), then the spec up to the first NUL;
 * whatever follows the NUL is the contents of a trace file, and every
 * "trace:@" in the spec is replaced by that file's path, so the fuzzer never
 * names a real file on this machine. Successful models are drawn from for a
 * few (worker, step) pairs to check the draws' promises. */
#include <math.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "host/straggler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fz_file trace;
    if (!trace.path[0]) fz_file_open(&trace, "ct-fuzz-trace");
    int n = 1 + (int)(fz_take(&data, &size, 1) % 64);
    const uint8_t *nul = memchr(data, 0, size);
    size_t spec_len = nul ? (size_t)(nul - data) : size;
    if (nul) fz_file_set(&trace, nul + 1, size - spec_len - 1);
    else fz_file_set(&trace, NULL, 0);

    /* expand "trace:@" to the memfd path; any other trace: path is dropped to
     * a name that cannot exist, so no real file is read */
    char *spec = malloc(spec_len * 8 + 64);
    if (!spec) abort();
    size_t o = 0;
    for (size_t i = 0; i < spec_len;) {
        if (spec_len - i >= 6 && !memcmp(data + i, "trace:", 6)) {
            memcpy(spec + o, "trace:", 6);
            o += 6;
            i += 6;
            if (i < spec_len && data[i] == '@') {
                i++;
                o += (size_t)sprintf(spec + o, "%s", trace.path);
            } else {
                o += (size_t)sprintf(spec + o, "/nonexistent/ct-fuzz/");
            }
            continue;
        }
        spec[o++] = (char)data[i++];
    }
    spec[o] = '\0';

    ct_straggler *m = NULL;
    ct_status st = ct_straggler_create(spec, n, 7, &m);
    if (st == CT_OK) {
        if (!m || !ct_straggler_spec(m)) abort();
        for (int w = 0; w < n; w++) {
            for (long t = 0; t < 3; t++) {
                ct_straggle_draw d = ct_straggler_draw(m, w, t * 977);
                if (!(d.delay_ms >= 0) || !(d.factor >= 1) || isnan(d.delay_ms)) abort();
            }
        }
    } else if (m) {
        abort();
    }
    ct_straggler_destroy(m);
    free(spec);
    return 0;
}
