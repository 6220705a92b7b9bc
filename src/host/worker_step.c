/* A worker's device work for one task, from the uploads to the read-back of
 * its losses and finiteness flag, and the CUDA graph that replays it (see
 * worker.h). A small MLP's step is a few dozen short ops whose launch cost
 * dominates on a GPU: after one eager run of a task shape, the next task of
 * that shape is recorded once and every later one is a single graph launch.
 * What varies between tasks of one shape lives in buffers the graph reads at
 * replay time (the gathered batch and weights in pinned staging); what is
 * baked in (pointers, sizes, encoding coefficients) is part of the shape. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/rng.h"
#include "host/worker.h"

static ct_status enqueue_ops(ct_worker *w, const ct_task *t, int nb, int fast, int direct) {
    const ct_backend_ops *o = w->be->ops;
    ct_backend *be = w->be;
    if (!direct) {
        CT_TRY(o->memcpy_h2d(be, w->x, w->hx, (size_t)nb * w->dim * sizeof(float)));
        CT_TRY(o->memcpy_h2d(be, w->y, w->hy, (size_t)nb * sizeof(int32_t)));
        CT_TRY(o->memcpy_h2d(be, w->w, w->hw, (size_t)nb * sizeof(float)));
    }
    const float *params = w->params_view ? w->params_view : w->params;
    float *out[CT_WORKER_MAX_MSGS]; /* where the messages go: msg_view replaces the first */
    for (int l = 0; l < t->m; l++) out[l] = w->msg[l];
    if (w->msg_view) out[0] = w->msg_view;
    if (fast) {
        /* m = 1: the message is linear in the per-sample loss weights, so one
         * weighted backward pass computes sum_j E[0,j] g_j directly */
        CT_TRY(ct_model_loss_grad(w->ws, params, w->x, w->y, w->w, nb, 0.0f, out[0], w->loss));
    } else {
        const float *G[CT_COMBINE_MAX];
        for (int j = 0; j < t->d; j++) {
            float *gj = w->part_grad + (size_t)j * w->P;
            CT_TRY(ct_model_loss_grad(w->ws, params, w->x + (size_t)j * t->per_part * w->dim, w->y + (size_t)j * t->per_part,
                                    w->w + (size_t)j * t->per_part, t->per_part, 0.0f, gj, w->loss + j));
            G[j] = gj;
        }
        CT_TRY(o->combine(be, t->m, t->d, t->E, G, w->P, out, 0.0f));
    }
    if (t->draw.poison) /* fault injection: a worker whose arithmetic went bad */
        for (int l = 0; l < t->m; l++) CT_TRY(o->fill(be, w->P, NAN, out[l]));
    if (t->compress != CT_COMPRESS_NONE) {
        const ct_quantizer q = t->compress == CT_COMPRESS_SIGN ? CT_QUANT_STOCHASTIC : CT_QUANT_SIGN_EF;
        for (int l = 0; l < t->m; l++) {
            /* plain sign = the error-feedback quantizer with its memory wiped each time */
            if (t->compress == CT_COMPRESS_SIGN_PLAIN) CT_TRY(o->fill(be, w->P, 0.0f, w->ef[l]));
            CT_TRY(o->sign_pack(be, q, w->P, out[l], ct_hash64(t->quant_seed, (uint64_t)l), w->ef[l], w->bits[l],
                                w->scale[l]));
        }
    }
    /* are the messages finite? (a faulty worker is an erasure): tested on the
     * device, the answer comes back with the losses */
    CT_TRY(o->fill(be, 1, 0.0f, (float *)w->bad)); /* 0.0f is the int 0 */
    for (int l = 0; l < t->m; l++)
        CT_TRY(t->compress != CT_COMPRESS_NONE ? o->flag_nonfinite(be, 1, w->scale[l], w->bad)
                                               : o->flag_nonfinite(be, w->P, out[l], w->bad));
    CT_TRY(o->memcpy_d2h(be, w->hloss, w->loss, (size_t)(fast ? 1 : t->d) * sizeof(float)));
    CT_TRY(o->memcpy_d2h(be, w->hbad, w->bad, sizeof(int)));
    return CT_OK;
}

/* Everything a recording bakes in. The stochastic quantizer's seed changes
 * every step and fault injection is occasional: those tasks run eagerly. */
static int shape_of(const ct_worker *w, const ct_task *t, int nb, int fast, ct_worker_shape *s) {
    memset(s, 0, sizeof *s);
    if (t->draw.poison || t->compress == CT_COMPRESS_SIGN || t->m * t->d > CT_WORKER_SHAPE_E) return 0;
    s->nb = nb, s->d = t->d, s->m = t->m, s->per_part = t->per_part, s->fast = fast, s->compress = t->compress;
    s->params = w->params_view ? w->params_view : w->params;
    s->out0 = w->msg_view ? w->msg_view : w->msg[0];
    memcpy(s->E, t->E, (size_t)t->m * t->d * sizeof(float));
    return 1;
}

static void drop_graph(ct_worker *w) {
    if (w->graph) w->be->ops->graph_destroy(w->be, w->graph);
    w->graph = NULL;
}

ct_status ct_worker_enqueue_step(ct_worker *w, const ct_task *t, int nb, int fast, int direct) {
    const ct_backend_ops *o = w->be->ops;
    ct_worker_shape s;
    /* the CPU backend runs ops as they are called: nothing to record */
    if (direct || w->graph_off || !shape_of(w, t, nb, fast, &s)) return enqueue_ops(w, t, nb, fast, direct);
    const int same = w->shape_seen && !memcmp(&s, &w->shape, sizeof s);
    if (same && w->graph) {
        CT_TRY(o->graph_launch(w->be, w->graph));
        w->graph_launches++;
        return CT_OK;
    }
    drop_graph(w);
    if (!same) { /* first task of this shape: eagerly (kernels and library state load now) */
        w->shape = s;
        w->shape_seen = 1;
        return enqueue_ops(w, t, nb, fast, direct);
    }
    /* second task of this shape: record it, then launch the recording */
    ct_status st = o->graph_begin(w->be);
    if (st == CT_OK) {
        st = enqueue_ops(w, t, nb, fast, direct);
        ct_graph *g = NULL;
        ct_status end = o->graph_end(w->be, &g); /* always: it stops the recording */
        if (st == CT_OK && end == CT_OK && g) {
            w->graph = g;
            CT_TRY(o->graph_launch(w->be, w->graph));
            w->graph_launches++;
            return CT_OK;
        }
        if (g) o->graph_destroy(w->be, g);
    }
    /* no graphs here (or this sequence is not capturable): eager from now on */
    w->graph_off = 1;
    return enqueue_ops(w, t, nb, fast, direct);
}

void ct_worker_drop_graph(ct_worker *w) { drop_graph(w); }
