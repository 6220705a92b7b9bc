/* CUDA graphs of a worker context: stream capture of a fixed-shape sequence of
 * ops (a training step), instantiated once and replayed with one launch. A
 * small MLP's step is a dozen short kernels whose launch cost dominates; a
 * replay submits them all at once. */
#include <stdlib.h>

#include "kernels/cuda/cuda_internal.h"

struct ct_graph {
    cudaGraphExec_t exec;
    int device;
};

extern "C" ct_status ct_cuda_graph_begin(ct_backend *be) {
    ct_cuda_backend *b = ct_cuda(be);
    if (b->capturing) return CT_FAIL(CT_ERR_INVALID_ARG, "graph_begin: this context is already recording a graph");
    CT_CUDA_ENTER(b);
    /* allocations cannot happen while recording: uep_block_gemm's split
     * workspace must exist before, in case the graph uses it */
    CT_TRY(ct_cuda_uep_workspace(b));
    /* thread-local: a worker recording on this thread does not break other
     * threads' (unrelated) CUDA calls, as the global mode would */
    CT_CUDA_CHECK(cudaStreamBeginCapture(b->stream, cudaStreamCaptureModeThreadLocal), "graph_begin");
    b->capturing = 1;
    return CT_OK;
}

extern "C" ct_status ct_cuda_graph_end(ct_backend *be, ct_graph **graph) {
    ct_cuda_backend *b = ct_cuda(be);
    if (graph) *graph = NULL;
    if (!b->capturing) return CT_FAIL(CT_ERR_INVALID_ARG, "graph_end: graph_begin was not called on this context");
    b->capturing = 0;
    CT_CUDA_ENTER(b);
    /* end the capture in every case, so the stream is usable afterwards */
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(b->stream, &g);
    /* an op that failed while recording may have left its error pending: it is
     * reported through this status, not at the next unrelated launch check */
    (void)cudaGetLastError();
    if (e != cudaSuccess || !g) {
        if (g) cudaGraphDestroy(g);
        return CT_FAIL(CT_ERR_CUDA,
                       "graph_end: the capture failed: %s (%s) — an op in it was not capturable (a sync, or a copy from "
                       "pageable host memory?)",
                       cudaGetErrorString(e), cudaGetErrorName(e));
    }
    if (!graph) {
        cudaGraphDestroy(g);
        return CT_FAIL(CT_ERR_INVALID_ARG, "graph_end: graph is NULL (the recording was discarded)");
    }
    cudaGraphExec_t exec = NULL;
    e = cudaGraphInstantiate(&exec, g, 0);
    cudaGraphDestroy(g); /* the executable graph keeps what it needs */
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return CT_FAIL(CT_ERR_CUDA, "graph_end: cudaGraphInstantiate failed: %s (%s)", cudaGetErrorString(e),
                       cudaGetErrorName(e));
    }
    ct_graph *out = (ct_graph *)malloc(sizeof *out);
    if (!out) {
        cudaGraphExecDestroy(exec);
        return CT_FAIL(CT_ERR_NOMEM, "graph_end: out of memory");
    }
    out->exec = exec;
    out->device = b->device;
    *graph = out;
    return CT_OK;
}

extern "C" ct_status ct_cuda_graph_launch(ct_backend *be, ct_graph *graph) {
    ct_cuda_backend *b = ct_cuda(be);
    if (!graph) return CT_FAIL(CT_ERR_INVALID_ARG, "graph_launch: graph is NULL");
    if (graph->device != b->device)
        return CT_FAIL(CT_ERR_INVALID_ARG, "graph_launch: graph recorded on GPU %d, this context is on GPU %d",
                       graph->device, b->device);
    if (b->capturing) return CT_FAIL(CT_ERR_UNSUPPORTED, "graph_launch: this context is recording a graph");
    CT_CUDA_ENTER(b);
    CT_CUDA_CHECK(cudaGraphLaunch(graph->exec, b->stream), "graph_launch");
    return CT_OK;
}

extern "C" void ct_cuda_graph_destroy(ct_backend *be, ct_graph *graph) {
    if (!graph) return;
    /* best effort, as every teardown: a replay still in flight completes first */
    if (cudaSetDevice(graph->device) == cudaSuccess) cudaGraphExecDestroy(graph->exec);
    (void)cudaGetLastError();
    free(graph);
}
