/* Writes two tiny valid checkpoints through ct_checkpoint_save, as seeds for
 * the checkpoint fuzzer: a bare one (2-3-2 model) and one with momentum, a
 * state vector, config and extra. Usage: ct_fuzz_ckpt_seed DIR */
#include <stdio.h>
#include <stdlib.h>

#include "host/checkpoint.h"

static int write_one(const char *dir, const char *name, int full) {
    ct_checkpoint ck = {0};
    const ct_mlp_spec mlp = {2, {2, 3, 2}};
    ct_model_from_mlp(&mlp, &ck.spec);
    ck.P = ct_model_param_count(&ck.spec);
    float params[64], mom[64], st[3] = {0.5f, -1.0f, 2.0f};
    for (size_t i = 0; i < ck.P; i++) {
        params[i] = (float)i * 0.25f - 1.0f;
        mom[i] = (float)i * -0.125f;
    }
    ck.params = params;
    ck.step = 7;
    ck.epoch = 2;
    ck.step_in_epoch = 3;
    ck.seed = 42;
    ck.norm_mean = 0.25f;
    ck.norm_std = 0.5f;
    ct_checkpoint_state state = {.name = "ef.0.0", .count = 3, .data = st};
    if (full) {
        ck.momentum = mom;
        ck.virtual_time = 1.5;
        ck.config_json = "{\"model\":\"mlp:2-3-2\",\"workers\":2}";
        ck.extra = "rng=1,2,3";
        ck.n_state = 1;
        ck.state = &state;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (ct_checkpoint_save(path, &ck) != CT_OK) {
        fprintf(stderr, "ct_fuzz_ckpt_seed: %s\n", ct_last_error());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: ct_fuzz_ckpt_seed DIR\n");
        return 2;
    }
    return write_one(argv[1], "valid_bare.safetensors", 0) | write_one(argv[1], "valid_full.safetensors", 1);
}
