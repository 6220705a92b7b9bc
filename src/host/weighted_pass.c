/* One weighted backward pass for the decoded gradient (see weighted_pass.h). */
#include "host/weighted_pass.h"

#include <stdlib.h>
#include <string.h>

struct ct_weighted_pass {
    ct_backend *be;
    const ct_dataset *data;
    ct_augment aug;
    uint64_t seed;
    ct_model_workspace *ws;
    int max_samples, dim;
    size_t P;
    float *x, *w, *loss; /* device */
    int32_t *y;
    float *hx, *hw; /* host staging (device backends) */
    int32_t *hy;
};

ct_status ct_weighted_pass_create(ct_backend *be, const ct_model_spec *spec, const ct_dataset *data,
                                  const ct_augment *aug, uint64_t seed, int max_samples, ct_weighted_pass **out) {
    *out = NULL;
    ct_weighted_pass *p = calloc(1, sizeof *p);
    if (!p) return CT_FAIL(CT_ERR_NOMEM, "weighted pass: out of memory");
    *out = p; /* destroy cleans up a partial one */
    p->be = be;
    p->data = data;
    p->aug = *aug;
    p->seed = seed;
    p->max_samples = max_samples;
    p->dim = data->dim;
    p->P = ct_model_param_count(spec);
    const ct_backend_ops *o = be->ops;
    CT_TRY(ct_model_workspace_create(be, spec, max_samples, &p->ws));
    CT_TRY(o->alloc(be, (size_t)max_samples * p->dim * sizeof(float), (void **)&p->x));
    CT_TRY(o->alloc(be, (size_t)max_samples * sizeof(int32_t), (void **)&p->y));
    CT_TRY(o->alloc(be, (size_t)max_samples * sizeof(float), (void **)&p->w));
    CT_TRY(o->alloc(be, sizeof(float), (void **)&p->loss));
    if (be->kind != CT_DEVICE_CPU) {
        p->hx = malloc((size_t)max_samples * p->dim * sizeof(float));
        p->hy = malloc((size_t)max_samples * sizeof(int32_t));
        p->hw = malloc((size_t)max_samples * sizeof(float));
        if (!p->hx || !p->hy || !p->hw) return CT_FAIL(CT_ERR_NOMEM, "weighted pass: host staging");
    }
    return CT_OK;
}

void ct_weighted_pass_destroy(ct_weighted_pass *p) {
    if (!p) return;
    const ct_backend_ops *o = p->be->ops;
    o->free(p->be, p->x);
    o->free(p->be, p->y);
    o->free(p->be, p->w);
    o->free(p->be, p->loss);
    ct_model_workspace_destroy(p->ws);
    free(p->hx);
    free(p->hy);
    free(p->hw);
    free(p);
}

ct_status ct_weighted_pass_run(ct_weighted_pass *p, const float *params, int epoch, int k, const double *part_w,
                               const int32_t *perm, int part_size, int offset, int per_part, float inv_batch,
                               float *grad, double *loss) {
    const ct_backend_ops *o = p->be->ops;
    const int direct = p->be->kind == CT_DEVICE_CPU; /* CPU device memory is host memory */
    float *hx = direct ? p->x : p->hx, *hw = direct ? p->w : p->hw;
    int32_t *hy = direct ? p->y : p->hy;
    int nb = 0;
    for (int j = 0; j < k; j++) {
        if (part_w[j] == 0.0) continue;
        if (nb + per_part > p->max_samples)
            return CT_FAIL(CT_ERR_INTERNAL, "weighted pass: %d partitions of %d samples exceed %d", k, per_part, p->max_samples);
        const int32_t *src = perm + (size_t)j * part_size + offset;
        const float wj = (float)part_w[j] * inv_batch;
        for (int s = 0; s < per_part; s++, nb++) {
            ct_augment_sample(p->data, &p->aug, p->seed, epoch, src[s], hx + (size_t)nb * p->dim);
            hy[nb] = p->data->y[src[s]];
            hw[nb] = wj;
        }
    }
    *loss = 0;
    if (nb == 0) return o->fill(p->be, p->P, 0.0f, grad);
    if (!direct) {
        CT_TRY(o->memcpy_h2d(p->be, p->x, p->hx, (size_t)nb * p->dim * sizeof(float)));
        CT_TRY(o->memcpy_h2d(p->be, p->y, p->hy, (size_t)nb * sizeof(int32_t)));
        CT_TRY(o->memcpy_h2d(p->be, p->w, p->hw, (size_t)nb * sizeof(float)));
    }
    CT_TRY(ct_model_loss_grad(p->ws, params, p->x, p->y, p->w, nb, 0.0f, grad, p->loss));
    float hl = 0;
    CT_TRY(o->memcpy_d2h(p->be, &hl, p->loss, sizeof(float)));
    CT_TRY(o->sync(p->be));
    *loss = hl;
    return CT_OK;
}
