/* Graphs on the cpu-streams backend: stream capture records the enqueued ops
 * (arguments as of capture, host arrays included); a replay enqueues copies of
 * them. What CUDA refuses while capturing (waits, allocations, event records,
 * pageable copies, a kernel's first load) fails here too and spoils the
 * capture, so the trainer's graph path is exercised without a GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/streams_internal.h"

typedef struct cs_graph {
    cs_op *ops;
    int device;
} cs_graph;

static void free_ops(cs_op *op) {
    while (op) {
        cs_op *next = op->next;
        free(op->heap);
        free(op);
        op = next;
    }
}

void cs_capture_discard(cs_ctx *c) {
    free_ops(c->cap_head);
    c->cap_head = c->cap_tail = NULL;
    c->cap_count = 0;
}

ct_status cs_refuse_while_capturing(cs_ctx *c, const char *what) {
    if (!c->capturing) return CT_OK;
    if (!c->capture_spoilt) snprintf(c->capture_msg, sizeof c->capture_msg, "%s", what);
    c->capture_spoilt = 1;
    return CT_FAIL(CT_ERR_UNSUPPORTED, "%s cannot be recorded into a graph (it waits, allocates or copies pageable memory)",
                   what);
}

ct_status cs_capture_op(cs_ctx *c, const cs_op *tmpl, int loaded, int *taken) {
    *taken = 0;
    if (!c->capturing) return CT_OK;
    *taken = 1;
    if (!loaded) { /* a first use would load a module: not while recording */
        free(tmpl->heap);
        return cs_refuse_while_capturing(c, "the first use of a kernel");
    }
    cs_op *op = malloc(sizeof *op);
    if (!op) {
        free(tmpl->heap);
        c->capture_spoilt = 1;
        return CT_FAIL(CT_ERR_NOMEM, "cpu-streams capture: out of memory");
    }
    *op = *tmpl;
    op->next = NULL;
    if (c->cap_tail) c->cap_tail->next = op;
    else c->cap_head = op;
    c->cap_tail = op;
    c->cap_count++;
    return CT_OK;
}

static ct_status cs_graph_begin(ct_backend *be) {
    cs_ctx *c = cs(be);
    if (c->capturing) return CT_FAIL(CT_ERR_INVALID_ARG, "graph_begin: this context is already recording a graph");
    CT_TRY(cs_sticky(c));
    c->capturing = 1;
    c->capture_spoilt = 0;
    c->capture_msg[0] = '\0';
    return CT_OK;
}

static ct_status cs_graph_end(ct_backend *be, ct_graph **graph) {
    cs_ctx *c = cs(be);
    if (graph) *graph = NULL;
    if (!c->capturing) return CT_FAIL(CT_ERR_INVALID_ARG, "graph_end: graph_begin was not called on this context");
    c->capturing = 0;
    if (c->capture_spoilt) {
        cs_capture_discard(c);
        return CT_FAIL(CT_ERR_UNSUPPORTED, "graph_end: the capture failed: %s was not capturable", c->capture_msg);
    }
    if (!graph) {
        cs_capture_discard(c);
        return CT_FAIL(CT_ERR_INVALID_ARG, "graph_end: graph is NULL (the recording was discarded)");
    }
    cs_graph *g = malloc(sizeof *g);
    if (!g) {
        cs_capture_discard(c);
        return CT_FAIL(CT_ERR_NOMEM, "graph_end: out of memory");
    }
    g->ops = c->cap_head;
    g->device = c->device;
    c->cap_head = c->cap_tail = NULL;
    c->cap_count = 0;
    *graph = (ct_graph *)g;
    return CT_OK;
}

static ct_status cs_graph_launch(ct_backend *be, ct_graph *graph) {
    cs_ctx *c = cs(be);
    cs_graph *g = (cs_graph *)graph;
    if (!g) return CT_FAIL(CT_ERR_INVALID_ARG, "graph_launch: graph is NULL");
    if (g->device != c->device)
        return CT_FAIL(CT_ERR_INVALID_ARG, "graph_launch: graph recorded on device %d, this context is on device %d",
                       g->device, c->device);
    if (c->capturing) return CT_FAIL(CT_ERR_UNSUPPORTED, "graph_launch: this context is recording a graph");
    for (const cs_op *op = g->ops; op; op = op->next) {
        cs_op inst = *op;
        inst.heap = NULL;
        if (op->heap) {
            if (!(inst.heap = malloc(op->heap_bytes))) return CT_FAIL(CT_ERR_NOMEM, "graph_launch: out of memory");
            memcpy(inst.heap, op->heap, op->heap_bytes);
        }
        CT_TRY(cs_enqueue(c, &inst, "graph_launch"));
    }
    return CT_OK;
}

static void cs_graph_destroy(ct_backend *be, ct_graph *graph) {
    cs_graph *g = (cs_graph *)graph;
    if (!g) return;
    free_ops(g->ops);
    free(g);
}

void cs_fill_graph_ops(ct_backend_ops *o) {
    o->graph_begin = cs_graph_begin;
    o->graph_end = cs_graph_end;
    o->graph_launch = cs_graph_launch;
    o->graph_destroy = cs_graph_destroy;
}
