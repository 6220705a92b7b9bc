/* 1-bit gradient coding in the runtime: the master's decode straight from the
 * packed bits equals the decode of the dequantized floats, and the error-feedback
 * state is carried from one step to the next (a reset would change the bits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/codes.h"
#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "ct_test.h"
#include "host/master.h"

static ct_dataset data;
static ct_model_spec spec;
static ct_backend *be;
static size_t P;
static float *params, *grad;

static void setup(const char *model) {
    CHECK_OK(ct_dataset_synthetic(3000, 16, 4, 1.0, 9, &data));
    CHECK_OK(ct_model_spec_parse_for(model, &data, &spec));
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    CHECK_OK(ct_backend_create(CT_DEVICE_CPU, &bc, &be));
    P = ct_model_param_count(&spec);
    float *h = malloc(P * sizeof(float));
    ct_model_init_params(&spec, 5, h);
    CHECK_OK(be->ops->alloc(be, P * sizeof(float), (void **)&params));
    CHECK_OK(be->ops->alloc(be, P * sizeof(float), (void **)&grad));
    CHECK_OK(be->ops->memcpy_h2d(be, params, h, P * sizeof(float)));
    free(h);
}

static void config(ct_train_config *c, const char *code, int n, int s, int compress) {
    ct_train_config d = CT_TRAIN_CONFIG_INIT;
    *c = d;
    c->device = CT_DEVICE_CPU;
    c->workers = n;
    c->code = code;
    c->stragglers = s;
    c->batch = 10 * n;
    c->clock = CT_CLOCK_VIRTUAL;
    c->straggle = "shifted-exp:0,1";
    c->compress = compress;
    c->threads = 1;
}

static float sign_of(const uint32_t *bits, size_t i) { return (bits[i / 32] >> (i % 32)) & 1u ? 1.0f : -1.0f; }

static void test_decode_from_bits(int compress) {
    const char *codes[] = {"frep", "cyclic", "ignore"};
    for (size_t ci = 0; ci < 3; ci++) {
        ct_train_config c;
        config(&c, codes[ci], 6, strcmp(codes[ci], "frep") ? 2 : 1, compress);
        ct_master *m = NULL;
        CHECK_OK(ct_master_create(&c, &spec, &data, be, &m));
        if (!m) continue;
        ct_step_info info;
        CHECK_OK(ct_master_step(m, 0, 1, 0, params, grad, &info));
        float *got = malloc(P * sizeof(float));
        double *want = calloc(P, sizeof(double));
        CHECK_OK(be->ops->memcpy_d2h(be, got, grad, P * sizeof(float)));
        /* the same code decodes the same arrival pattern to the same coefficients */
        ct_code *code = NULL;
        CHECK_OK(ct_code_create(ct_code_get_spec(ct_master_code(m)), &code));
        uint64_t mask[8] = {0};
        for (int r = 0; r < info.n_arrived; r++) CHECK_OK(ct_code_mask_add_worker(code, info.arrived[r], mask));
        ct_decode_result res;
        CHECK_OK(ct_code_decode(code, mask, &res));
        for (int r = 0; r < info.n_arrived; r++) {
            int i = info.arrived[r];
            ct_worker *w = ct_master_worker(m, i);
            float a = res.coeffs[ct_code_message_index(code, i, 0)];
            const float scale = *w->scale[0];
            for (size_t p = 0; p < P; p++) want[p] += (double)a * scale * sign_of(w->bits[0], p);
        }
        double num = 0, den = 0;
        for (size_t p = 0; p < P; p++) {
            num += (got[p] - want[p]) * (got[p] - want[p]);
            den += want[p] * want[p];
        }
        CHECK(den > 0 && sqrt(num / den) < 1e-6, "%s compress=%d: decode from bits vs dequantized: rel err %.3g",
              codes[ci], compress, sqrt(num / (den > 0 ? den : 1)));
        CHECK(info.bits_up == info.n_arrived * ((double)P + 32), "%s: bits_up %g for %d messages of %zu coordinates",
              codes[ci], info.bits_up, info.n_arrived, P);
        ct_code_destroy(code);
        free(got);
        free(want);
        ct_master_destroy(m);
    }
}

static void test_error_feedback_carried(void) {
    ct_train_config c;
    config(&c, "uncoded", 1, 0, 2);
    c.straggle = NULL;
    ct_master *m = NULL;
    CHECK_OK(ct_master_create(&c, &spec, &data, be, &m));
    if (!m) return;
    ct_worker *w = ct_master_worker(m, 0);
    ct_step_info info;
    CHECK_OK(ct_master_step(m, 0, 1, 0, params, grad, &info));
    float *e1 = malloc(P * sizeof(float));
    memcpy(e1, w->ef[0], P * sizeof(float)); /* CPU backend: device memory is host memory */
    int nonzero = 0;
    for (size_t p = 0; p < P; p++) nonzero += e1[p] != 0.0f;
    CHECK(nonzero > (int)P / 2, "error feedback after one step is mostly zero (%d of %zu)", nonzero, P);
    CHECK_OK(ct_master_step(m, 1, 1, 1, params, grad, &info));
    /* step 2 packs p = y2 + e1: its bits follow sign(y2 + e1), not sign(y2) */
    int follows_ef = 0, differs_from_plain = 0, checked = 0;
    double l1 = 0;
    for (size_t p = 0; p < P; p++) {
        float y2 = w->msg[0][p], pe = y2 + e1[p];
        l1 += fabs(pe);
        if (fabsf(pe) < 1e-12f) continue;
        checked++;
        follows_ef += sign_of(w->bits[0], p) == (pe >= 0 ? 1.0f : -1.0f);
        differs_from_plain += (pe >= 0) != (y2 >= 0);
    }
    CHECK(follows_ef == checked, "step 2 bits follow sign(y + e) in %d of %d coordinates", follows_ef, checked);
    CHECK(differs_from_plain > 0, "the carried error never changed a sign: the test could not catch a reset");
    CHECK(fabs(*w->scale[0] - l1 / P) < 1e-5 * (l1 / P), "EF scale %.8g vs ||p||_1/P %.8g", *w->scale[0], l1 / P);
    /* and the new state is p - q */
    for (size_t p = 0; p < P; p += 7) {
        float pe = w->msg[0][p] + e1[p];
        float q = *w->scale[0] * sign_of(w->bits[0], p);
        CHECK(fabsf(w->ef[0][p] - (pe - q)) <= 1e-6f * (fabsf(pe) + fabsf(q)), "EF state at %zu", p);
    }
    free(e1);
    ct_master_destroy(m);
}

int main(void) {
    /* an MLP and a small CNN (the 16 features seen as a 1x4x4 image) */
    static const char *const models[] = {"mlp:16-7-4", "cnn:1x4x4:c3k3p1-r-m2-f5-r-4"};
    for (int mi = 0; mi < 2; mi++) {
        setup(models[mi]);
        test_decode_from_bits(1);
        test_decode_from_bits(2);
        test_error_feedback_carried();
        be->ops->free(be, params);
        be->ops->free(be, grad);
        ct_backend_destroy(be);
        ct_dataset_free(&data);
    }
    return ct_test_done("test_host_compress");
}
