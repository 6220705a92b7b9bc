/* Backend discovery and dispatch: picks the CPU or CUDA implementation at run time. */
#include "kernels/backend.h"

#include <string.h>

#ifndef CT_HAVE_CUDA
/* Built without CUDA: the CUDA entry points report that plainly. */
int ct_cuda_device_count(void) { return 0; }
void *ct_cuda_backend_stream(ct_backend *be) {
    (void)be;
    return NULL;
}
ct_status ct_cuda_backend_create(const ct_backend_config *cfg, ct_backend **out) {
    (void)cfg;
    *out = NULL;
    return CT_FAIL(CT_ERR_UNSUPPORTED,
                   "this codedtrain was built without CUDA support (nvcc was not found at configure time)");
}
#endif

int ct_backend_device_count(ct_device_kind kind) {
    switch (kind) {
    case CT_DEVICE_CPU: return 1;
    case CT_DEVICE_CUDA: return ct_cuda_device_count();
    case CT_DEVICE_AUTO: return ct_cuda_device_count() > 0 ? ct_cuda_device_count() : 1;
    }
    return 0;
}

ct_status ct_backend_create(ct_device_kind kind, const ct_backend_config *cfg, ct_backend **out) {
    ct_backend_config def = CT_BACKEND_CONFIG_INIT;
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_backend_create: out is NULL");
    *out = NULL;
    if (!cfg) cfg = &def;
    if (cfg->version != CT_BACKEND_CONFIG_VERSION)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_backend_config version %d, expected %d (use CT_BACKEND_CONFIG_INIT)",
                       cfg->version, CT_BACKEND_CONFIG_VERSION);
    if (kind == CT_DEVICE_AUTO) kind = ct_cuda_device_count() > 0 ? CT_DEVICE_CUDA : CT_DEVICE_CPU;
    if (kind == CT_DEVICE_CUDA) return ct_cuda_backend_create(cfg, out);
    return ct_cpu_backend_create(cfg, out);
}

void ct_backend_destroy(ct_backend *be) {
    if (be) be->ops->destroy(be);
}

ct_status ct_device_kind_parse(const char *s, ct_device_kind *out) {
    if (!s) return CT_FAIL(CT_ERR_INVALID_ARG, "--device: missing value (expected auto, cpu or cuda)");
    if (!strcmp(s, "auto")) *out = CT_DEVICE_AUTO;
    else if (!strcmp(s, "cpu")) *out = CT_DEVICE_CPU;
    else if (!strcmp(s, "cuda") || !strcmp(s, "gpu")) *out = CT_DEVICE_CUDA;
    else return CT_FAIL(CT_ERR_INVALID_ARG, "--device '%s': expected auto, cpu or cuda", s);
    return CT_OK;
}

const char *ct_device_kind_name(ct_device_kind k) {
    switch (k) {
    case CT_DEVICE_AUTO: return "auto";
    case CT_DEVICE_CPU: return "cpu";
    case CT_DEVICE_CUDA: return "cuda";
    }
    return "?";
}
