/* The master's resume state in checkpoints (see master.h): the virtual clock,
 * per-worker busy_until and the 1-bit error-feedback buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/checkpoint.h"
#include "host/master_internal.h"

ct_status ct_master_save_state(const ct_master *m, ct_checkpoint *ck) {
    if (m->async) return CT_FAIL(CT_ERR_UNSUPPORTED, "checkpoints of --async runs are not supported (late codewords are not saved)");
    CT_TRY(ct_checkpoint_extra_put(&ck->extra, "vnow", &m->vnow, 1));
    CT_TRY(ct_checkpoint_extra_put(&ck->extra, "busy_until", m->busy_until, m->n));
    if (m->cfg->compress != CT_COMPRESS_SIGN_EF) return CT_OK;
    /* error-feedback buffers: one tensor "state.ef.I.L" per worker I and message L */
    for (int i = 0; i < m->n; i++) {
        const ct_worker *w = m->w[i];
        for (int l = 0; l < w->max_m; l++) {
            ct_checkpoint_state *ns = realloc(ck->state, (size_t)(ck->n_state + 1) * sizeof *ns);
            if (!ns) return CT_FAIL(CT_ERR_NOMEM, "checkpoint: out of memory for worker state");
            ck->state = ns;
            ct_checkpoint_state *e = &ck->state[ck->n_state];
            memset(e, 0, sizeof *e);
            char name[64];
            snprintf(name, sizeof name, "ef.%d.%d", i, l);
            e->name = strdup(name);
            e->count = m->P;
            e->data = malloc(m->P * sizeof(float));
            ck->n_state++; /* owned by ck from here on */
            if (!e->name || !e->data) return CT_FAIL(CT_ERR_NOMEM, "checkpoint: out of memory for worker state");
            CT_TRY(w->be->ops->memcpy_d2h(w->be, e->data, w->ef[l], m->P * sizeof(float)));
            CT_TRY(w->be->ops->sync(w->be));
        }
    }
    return CT_OK;
}

ct_status ct_master_restore_state(ct_master *m, const ct_checkpoint *ck) {
    if (m->async) return CT_FAIL(CT_ERR_UNSUPPORTED, "--resume of --async runs is not supported");
    CT_TRY(ct_checkpoint_extra_get(ck->extra, "vnow", &m->vnow, 1));
    CT_TRY(ct_checkpoint_extra_get(ck->extra, "busy_until", m->busy_until, m->n));
    if (m->cfg->compress != CT_COMPRESS_SIGN_EF) return CT_OK;
    for (int i = 0; i < m->n; i++) {
        ct_worker *w = m->w[i];
        for (int l = 0; l < w->max_m; l++) {
            char name[64];
            snprintf(name, sizeof name, "ef.%d.%d", i, l);
            const ct_checkpoint_state *e = NULL;
            for (int k = 0; k < ck->n_state && !e; k++)
                if (!strcmp(ck->state[k].name, name)) e = &ck->state[k];
            if (!e || e->count != m->P)
                return CT_FAIL(CT_ERR_FORMAT, "checkpoint: no error-feedback state %s of %zu floats for this run", name, m->P);
            CT_TRY(w->be->ops->memcpy_h2d(w->be, w->ef[l], e->data, m->P * sizeof(float)));
            CT_TRY(w->be->ops->sync(w->be));
        }
    }
    return CT_OK;
}
