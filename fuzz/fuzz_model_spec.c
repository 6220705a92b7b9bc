/* libFuzzer harness for the model and learning-rate-schedule parsers
 * (ct_mlp_spec_parse, ct_model_spec_parse with its cnn: grammar,
 * ct_lr_schedule_parse). Input: u16 input_dim, u8 classes, u8 epochs, u8 image
 * side, then "MODEL\0SCHEDULE". A parsed model is formatted, re-parsed (the
 * format must give the same spec back) and sized, on whatever the parser
 * accepted. */
#include <math.h>
#include <stdlib.h>

#include "codedtrain/nn.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int input_dim = (int)fz_take(&data, &size, 2);
    int classes = (int)fz_take(&data, &size, 1);
    int epochs = (int)fz_take(&data, &size, 1);
    int side = (int)fz_take(&data, &size, 1) % 40;
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
    /* the general model: the data as a 1-channel image of side x side, and as flat features */
    for (int flat = 0; flat < 2; flat++) {
        ct_model_spec m;
        const ct_status st = flat ? ct_model_spec_parse(model, input_dim, input_dim ? 1 : 0, input_dim ? 1 : 0, classes, &m)
                                  : ct_model_spec_parse(model, side ? 1 : 0, side, side, classes, &m);
        if (st != CT_OK) continue;
        if (m.n_layers < 1 || m.n_layers > CT_MODEL_MAX_LAYERS || m.classes < 1) abort();
        if (m.layers[m.n_layers - 1].kind != CT_LAYER_DENSE) abort();
        char buf[1024];
        ct_model_spec_format(&m, buf, sizeof buf);
        ct_model_spec again;
        if (strlen(buf) < sizeof buf - 1) {
            if (ct_model_spec_parse(buf, 0, 0, 0, 0, &again) != CT_OK || memcmp(&again, &m, sizeof m)) abort();
        }
        char tiny[5];
        ct_model_spec_format(&m, tiny, sizeof tiny);
        size_t total = 0;
        for (int l = 0; l < m.n_layers; l++) {
            size_t wo, wc, bo, bc;
            if (ct_model_layer_params(&m, l, &wo, &wc, &bo, &bc) && (wo != total || bo != wo + wc)) abort();
            total += wc + bc;
            if (l > 0) {
                const ct_layer *a = &m.layers[l - 1], *b = &m.layers[l];
                if ((size_t)a->out_c * a->out_h * a->out_w != (size_t)b->in_c * b->in_h * b->in_w) abort();
            }
        }
        if (total != ct_model_param_count(&m)) abort();
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
