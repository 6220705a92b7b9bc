/* libFuzzer harness for the model and learning-rate-schedule parsers
 * (ct_mlp_spec_parse, ct_lr_schedule_parse). Input: u16 input_dim, u8
 * classes, u8 epochs, then "MODEL\0SCHEDULE". A parsed model is formatted and
 * sized to check those on whatever the parser accepted. */
#include <math.h>
#include <stdlib.h>

#include "codedtrain/nn.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int input_dim = (int)fz_take(&data, &size, 2);
    int classes = (int)fz_take(&data, &size, 1);
    int epochs = (int)fz_take(&data, &size, 1);
    const uint8_t *nul = memchr(data, 0, size);
    size_t mlen = nul ? (size_t)(nul - data) : size;
    char *model = fz_strndup(data, mlen);
    char *sched = nul ? fz_strndup(nul + 1, size - mlen - 1) : fz_strndup(data, 0);

    ct_mlp_spec spec;
    if (ct_mlp_spec_parse(model, input_dim, classes, &spec) == CT_OK) {
        if (spec.n_layers < 1 || spec.n_layers > CT_MLP_MAX_LAYERS) abort();
        for (int i = 0; i <= spec.n_layers; i++)
            if (spec.sizes[i] < 1) abort();
        char buf[256];
        ct_mlp_spec_format(&spec, buf, sizeof buf);
        char tiny[5]; /* truncation must stay in bounds */
        ct_mlp_spec_format(&spec, tiny, sizeof tiny);
        (void)ct_mlp_param_count(&spec);
        for (int l = 0; l < spec.n_layers; l++) {
            size_t w, b;
            ct_mlp_layer_offsets(&spec, l, &w, &b);
        }
    }
    ct_lr_schedule s;
    if (ct_lr_schedule_parse(sched, 0.1, epochs, &s) == CT_OK) {
        for (double e = 0; e <= epochs + 1; e += 0.5) {
            double lr = ct_lr_at(&s, e);
            if (!isfinite(lr) || lr < 0) abort();
        }
    }
    free(model);
    free(sched);
    return 0;
}
