/* The configuration record (see run_config.h). */
#include "host/run_config.h"

#include "host/run_common.h"
#include "host/outpath.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* FNV-1a over 64-bit words (then the tail bytes): fast enough for every run,
 * and any change of a value shows */
static uint64_t fnv_words(uint64_t h, const void *p, size_t bytes) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h ^= w;
        h *= 0x100000001b3ull;
    }
    for (; i < bytes; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

void ct_dataset_checksum(const ct_dataset *train, const ct_dataset *test, char out[32]) {
    uint64_t h = 0xcbf29ce484222325ull;
    const ct_dataset *sets[2] = {train, test};
    for (int s = 0; s < 2; s++) {
        const ct_dataset *d = sets[s];
        const int32_t shape[3] = {d->n, d->dim, d->classes};
        h = fnv_words(h, shape, sizeof shape);
        h = fnv_words(h, d->x, (size_t)d->n * d->dim * sizeof(float));
        h = fnv_words(h, d->y, (size_t)d->n * sizeof(int32_t));
    }
    snprintf(out, 32, "fnv1a64:%016llx", (unsigned long long)h);
}

static const char *const info_keys[] = {"type", "codedtrain_version", "device_used", "dataset_checksum"};

int ct_run_config_is_info_key(const char *key) {
    for (size_t i = 0; i < sizeof info_keys / sizeof info_keys[0]; i++)
        if (!strcmp(key, info_keys[i])) return 1;
    return 0;
}

/* an option that is "off" at 0 (and whose flag refuses 0) is written as null */
static void key_int_or_null(ct_json *j, const char *k, long long v) {
    if (v) ct_json_key_int(j, k, v);
    else ct_json_key_null(j, k);
}

static void key_str_or_null(ct_json *j, const char *k, const char *v) {
    if (v) ct_json_key_str(j, k, v);
    else ct_json_key_null(j, k);
}

void ct_run_config_record(ct_json *j, const ct_train_config *c, const char *device_used, const char *data_checksum) {
    static const char *const compress_names[] = {"none", "sign", "sign-ef", "sign-plain"};
    static const char *const transport_names[] = {"local", "mpi", "nccl"};
    ct_json_begin(j);
    ct_json_key_str(j, "type", "config");
    ct_json_key_str(j, "codedtrain_version", CT_VERSION_STRING);
    ct_json_key_str(j, "device_used", device_used ? device_used : "");
    ct_json_key_str(j, "dataset_checksum", data_checksum ? data_checksum : "");
    /* model and data */
    ct_json_key_str(j, "model", c->model);
    char ds[96];
    if (c->dataset == CT_DATA_SYNTHETIC) snprintf(ds, sizeof ds, "synthetic:%d,%d,%d", c->synth_n, c->synth_dim, c->synth_classes);
    else snprintf(ds, sizeof ds, "%s", c->dataset == CT_DATA_CIFAR10 ? "cifar10" : "idx");
    ct_json_key_str(j, "dataset", ds);
    key_str_or_null(j, "data", c->data_dir ? c->data_dir : c->dataset == CT_DATA_IDX ? CT_FASHION_MNIST_DIR : NULL);
    /* optimisation */
    ct_json_key_int(j, "epochs", c->epochs);
    ct_json_key_int(j, "batch", c->batch);
    ct_json_key_num_exact(j, "lr", c->lr);
    ct_json_key_str(j, "lr-schedule", c->lr_schedule ? c->lr_schedule : "constant");
    ct_json_key_num_exact(j, "momentum", c->momentum);
    ct_json_key_num_exact(j, "weight-decay", c->weight_decay);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed); /* a string: a u64 need not fit a double */
    ct_json_key_str(j, "seed", seed);
    if (c->target_acc > 0) ct_json_key_num_exact(j, "target-acc", c->target_acc);
    else ct_json_key_null(j, "target-acc");
    key_int_or_null(j, "max-steps", c->max_steps);
    key_int_or_null(j, "eval-every", c->eval_every);
    /* device */
    ct_json_key_str(j, "device", ct_device_kind_name(c->device));
    key_int_or_null(j, "threads", c->threads);
    ct_json_key_str(j, "transport", transport_names[c->transport >= 0 && c->transport <= 2 ? c->transport : 0]);
    /* coded runtime */
    ct_json_key_int(j, "workers", c->workers);
    ct_json_key_str(j, "code", c->code ? c->code : "uncoded");
    ct_json_key_int(j, "stragglers", c->stragglers);
    key_int_or_null(j, "load", c->load);
    key_int_or_null(j, "messages", c->messages);
    ct_json_key_num_exact(j, "alpha", c->alpha);
    ct_json_key_str(j, "straggle", c->straggle ? c->straggle : "none");
    ct_json_key_str(j, "clock", c->clock == CT_CLOCK_VIRTUAL ? "virtual" : "real");
    ct_json_key_num_exact(j, "deadline-ms", c->deadline_ms);
    ct_json_key_str(j, "policy", c->policy ? c->policy : "all");
    key_int_or_null(j, "k", c->k);
    key_str_or_null(j, "k-schedule", c->k_schedule);
    ct_json_key_num_exact(j, "unit-cost-ms", c->unit_cost_ms);
    ct_json_key_str(j, "cancel-late", c->cancel_late ? "on" : "off");
    ct_json_key_bool(j, "general-path", c->general_path);
    ct_json_key_bool(j, "async", c->async);
    ct_json_key_int(j, "max-staleness", c->max_staleness);
    ct_json_key_str(j, "lossy", c->lossy_lsq ? "lsq" : "zero");
    ct_json_key_str(j, "compress", compress_names[c->compress >= 0 && c->compress <= 3 ? c->compress : 0]);
    /* UEP-coded backprop */
    key_str_or_null(j, "uep", c->uep ? c->uep_scheme : NULL);
    ct_json_key_int(j, "uep-workers", c->uep_workers);
    if (isinf(c->uep_deadline)) ct_json_key_str(j, "uep-deadline", "inf");
    else ct_json_key_num_exact(j, "uep-deadline", c->uep_deadline);
    ct_json_key_num_exact(j, "uep-lambda", c->uep_lambda);
    key_str_or_null(j, "uep-gamma", c->uep_gamma);
    key_str_or_null(j, "uep-k", c->uep_k);
    ct_json_key_str(j, "uep-paradigm", c->uep_paradigm ? "cxr" : "rxc");
    key_str_or_null(j, "uep-device", c->uep_device);
    ct_json_key_num_exact(j, "uep-time-scale-ms", c->uep_time_scale_ms);
}

ct_status ct_run_config_data(const ct_train_config *c, const ct_dataset *train, const ct_dataset *test, char out[32]) {
    out[0] = '\0';
    if (!c->log_path && !c->expect_data_checksum) return CT_OK; /* nobody reads it */
    ct_dataset_checksum(train, test, out);
    /* synthetic data is made from the recorded options (seed included): only files can differ */
    if (c->expect_data_checksum && c->dataset != CT_DATA_SYNTHETIC && strcmp(c->expect_data_checksum, out) != 0)
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--config: the run it records used data with checksum %s, this data has %s (other files, or "
                       "--data/--dataset changed: give them on the command line to run on this data anyway)",
                       c->expect_data_checksum, out);
    return CT_OK;
}

ct_status ct_run_config_open_log(const ct_train_config *c, const char *device_used, const char *data_checksum,
                                 int append, FILE **out) {
    *out = NULL;
    if (!c->log_path) return CT_OK;
    FILE *f = NULL;
    CT_TRY(ct_outpath_open_log("--log", c->log_path, append, &f));
    ct_json j;
    ct_run_config_record(&j, c, device_used, data_checksum);
    ct_status st = ct_run_write_record(f, c->log_path, &j);
    if (st != CT_OK) {
        fclose(f);
        return st;
    }
    *out = f;
    return CT_OK;
}
