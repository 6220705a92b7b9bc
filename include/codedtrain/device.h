/* Devices as the public API sees them: which kind of device runs the work, and a
 * worker context (ct_backend: a device, an in-order stream, its own BLAS handle) as
 * an opaque handle. The op table behind the handle is internal (docs/design.md). */
#ifndef CODEDTRAIN_DEVICE_H
#define CODEDTRAIN_DEVICE_H

#include "codedtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CPU_STREAMS: the CPU reference ops under CUDA's stream semantics (asynchronous
 * per-stream queues; allocation, free, context destruction and a kernel's first
 * use wait for the whole device): a test mode that exercises the CUDA path's
 * ordering and hang hazards without a GPU (docs/gpu.md). */
typedef enum ct_device_kind { CT_DEVICE_AUTO = 0, CT_DEVICE_CPU, CT_DEVICE_CUDA, CT_DEVICE_CPU_STREAMS } ct_device_kind;

typedef struct ct_backend ct_backend; /* one worker context (device+stream+BLAS) */

/* Options for creating a worker context. Versioned: initialise with
 * CT_BACKEND_CONFIG_INIT and change only what you need. */
typedef struct ct_backend_config {
    int version;        /* CT_BACKEND_CONFIG_VERSION */
    int device_index;   /* CUDA: which GPU (round-robin is the caller's job) */
    int threads;        /* CPU: BLAS threads for this worker (>=1) */
} ct_backend_config;

#define CT_BACKEND_CONFIG_VERSION 1
#define CT_BACKEND_CONFIG_INIT {CT_BACKEND_CONFIG_VERSION, 0, 1}

/* Number of usable devices of this kind (CPU and cpu-streams: 1; CUDA: visible GPUs, 0 when no
 * driver/GPU or when CUDA support was not built). Never fails. */
int ct_backend_device_count(ct_device_kind kind);

/* Create one worker context of `kind` (AUTO = CUDA if a GPU is usable, else CPU).
 * Fails with CT_ERR_NO_DEVICE for CUDA without a usable GPU, CT_ERR_UNSUPPORTED
 * when CUDA support was not built. */
ct_status ct_backend_create(ct_device_kind kind, const ct_backend_config *cfg, ct_backend **out);
void ct_backend_destroy(ct_backend *be);

/* "auto" | "cpu" | "cuda" | "cpu-streams" -> kind; CT_ERR_INVALID_ARG otherwise. */
ct_status ct_device_kind_parse(const char *s, ct_device_kind *out);
const char *ct_device_kind_name(ct_device_kind k);

#ifdef __cplusplus
}
#endif
#endif
