/* Shared pieces of a training run (see run_common.h). */
#include "host/run_common.h"

#include "kernels/backend.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/outpath.h"

ct_status ct_run_load_data(const ct_train_config *c, ct_dataset *train, ct_dataset *test, ct_norm *norm) {
    switch (c->dataset) {
    case CT_DATA_IDX: {
        const char *dir = c->data_dir ? c->data_dir : CT_FASHION_MNIST_DIR;
        CT_TRY(ct_dataset_load_idx_dir(dir, 1, train));
        CT_TRY(ct_dataset_load_idx_dir(dir, 0, test));
        break;
    }
    case CT_DATA_CIFAR10:
        if (!c->data_dir) return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset cifar10 needs --data DIR");
        CT_TRY(ct_dataset_load_cifar10(c->data_dir, 1, train));
        CT_TRY(ct_dataset_load_cifar10(c->data_dir, 0, test));
        break;
    case CT_DATA_SYNTHETIC: {
        /* one generator call so train and test share the class means; the last
         * sixth becomes the test set */
        int n_test = c->synth_n / 5 > 0 ? c->synth_n / 5 : 1;
        ct_dataset all = {0};
        CT_TRY(ct_dataset_synthetic(c->synth_n + n_test, c->synth_dim, c->synth_classes, 1.0, c->seed, &all));
        *train = all;
        train->n = c->synth_n;
        test->n = n_test;
        test->dim = all.dim;
        test->classes = all.classes;
        test->x = malloc((size_t)n_test * all.dim * sizeof(float));
        test->y = malloc((size_t)n_test * sizeof(int32_t));
        if (!test->x || !test->y) return CT_FAIL(CT_ERR_NOMEM, "synthetic test set: out of memory");
        memcpy(test->x, all.x + (size_t)c->synth_n * all.dim, (size_t)n_test * all.dim * sizeof(float));
        memcpy(test->y, all.y + c->synth_n, (size_t)n_test * sizeof(int32_t));
        break;
    }
    default: return CT_FAIL(CT_ERR_INVALID_ARG, "unknown dataset kind %d", (int)c->dataset);
    }
    if (train->dim != test->dim || train->classes != test->classes) {
        /* name the files: the user has to find which of them is the odd one */
        const char *dir = c->data_dir ? c->data_dir : CT_FASHION_MNIST_DIR;
        const int idx = c->dataset == CT_DATA_IDX;
        return CT_FAIL(CT_ERR_FORMAT, "%s: the train set (%s) and the test set (%s) disagree: %d vs %d features, %d vs %d classes",
                       dir, idx ? "train-images-idx3-ubyte" : "data_batch_*.bin", idx ? "t10k-images-idx3-ubyte" : "test_batch.bin",
                       train->dim, test->dim, train->classes, test->classes);
    }
    *norm = ct_dataset_norm_stats(train);
    ct_dataset_normalize(train, *norm);
    ct_dataset_normalize(test, *norm);
    return CT_OK;
}

ct_status ct_run_check_config(const ct_train_config *c) {
    if (c->version != CT_TRAIN_CONFIG_VERSION)
        return CT_FAIL(CT_ERR_INVALID_ARG, "ct_train_config version %d, expected %d", c->version, CT_TRAIN_CONFIG_VERSION);
    if (c->epochs < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "--epochs %d: must be >= 1", c->epochs);
    if (c->batch < 1) return CT_FAIL(CT_ERR_INVALID_ARG, "--batch %d: must be >= 1", c->batch);
    if (!(c->lr > 0)) return CT_FAIL(CT_ERR_INVALID_ARG, "--lr %g: must be > 0", c->lr);
    if (c->momentum < 0 || c->momentum >= 1) return CT_FAIL(CT_ERR_INVALID_ARG, "--momentum %g: must be in [0, 1)", c->momentum);
    if (c->weight_decay < 0) return CT_FAIL(CT_ERR_INVALID_ARG, "--weight-decay %g: must be >= 0", c->weight_decay);
    if (c->target_acc > 1) return CT_FAIL(CT_ERR_INVALID_ARG, "--target-acc %g: must be <= 1", c->target_acc);
    if (c->dataset == CT_DATA_SYNTHETIC && (c->synth_n < 1 || c->synth_dim < 1 || c->synth_classes < 2))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset synthetic:%d,%d,%d: need N >= 1, DIM >= 1, CLASSES >= 2",
                       c->synth_n, c->synth_dim, c->synth_classes);
    if (c->dataset == CT_DATA_SYNTHETIC) {
        /* train plus a fifth for test, as floats, before generating any of it */
        const double rows = (double)c->synth_n + (double)(c->synth_n / 5 > 0 ? c->synth_n / 5 : 1);
        const double bytes = rows * ((double)c->synth_dim * sizeof(float) + sizeof(int32_t));
        const unsigned long long limit = ct_mem_limit_bytes();
        if (rows > 2147483647.0)
            return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset synthetic:%d,...: %.0f samples with the test fifth do not fit an int",
                           c->synth_n, rows);
        if (limit && bytes > (double)limit)
            return CT_FAIL(CT_ERR_INVALID_ARG,
                           "--dataset synthetic:%d,%d,%d: needs %.1f GiB for the data alone, more than this machine's %.1f GiB",
                           c->synth_n, c->synth_dim, c->synth_classes, bytes / 1073741824.0, (double)limit / 1073741824.0);
    }
    return CT_OK;
}

ct_status ct_run_check_memory(const ct_train_config *c, const ct_model_spec *spec) {
    const unsigned long long limit = ct_mem_limit_bytes();
    if (!limit) return CT_OK;
    const double P = (double)ct_model_param_count(spec);
    double widest = 0;
    for (int l = 0; l < spec->n_layers; l++) {
        const ct_layer *L = &spec->layers[l];
        const double out = (double)L->out_c * L->out_h * L->out_w;
        if (out > widest) widest = out;
    }
    /* a lower bound, not a forecast: the master's parameters, gradient and
     * momentum; per worker a parameter replica, one message and one partition
     * gradient; activations of the evaluation batch (1000 rows) */
    const int workers = c->uep ? 1 : (c->workers > 0 ? c->workers : 1);
    /* on a GPU those live in device memory (a cudaMalloc that fails says so with
     * the GPU's free memory); the host then holds the initial parameters and,
     * when checkpointing, its copies of parameters and momentum */
    const int on_gpu = c->device == CT_DEVICE_CUDA ||
                       (c->device == CT_DEVICE_AUTO && ct_backend_device_count(CT_DEVICE_CUDA) > 0);
    if (on_gpu) {
        const double host = (c->checkpoint_path ? 3.0 : 1.0) * P * sizeof(float);
        if (host > (double)limit)
            return CT_FAIL(CT_ERR_INVALID_ARG,
                           "--model %s: %.0f parameters need at least %.1f GiB of host memory (initial parameters%s), "
                           "more than this machine's %.1f GiB",
                           c->model, P, host / 1073741824.0, c->checkpoint_path ? " and checkpoint copies" : "",
                           (double)limit / 1073741824.0);
        return CT_OK;
    }
    const double floats = P * (3.0 + 3.0 * workers) + 1000.0 * widest * 2.0 * spec->n_layers;
    const double bytes = floats * sizeof(float);
    const double have = (double)limit;
    if (bytes > have) {
        char ms[256];
        ct_model_spec_format(spec, ms, sizeof ms);
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--model %s (%s): %.0f parameters need at least %.1f GiB with %d worker%s (parameters, gradient, momentum, "
                       "one replica, message and partition gradient per worker), more than this machine's %.1f GiB; "
                       "use a smaller model or fewer --workers",
                       c->model, ms, P, bytes / 1073741824.0, workers, workers == 1 ? "" : "s", have / 1073741824.0);
    }
    return CT_OK;
}

ct_status ct_run_test_accuracy(ct_backend *be, ct_model_workspace *ws, const float *params, const ct_dataset *test,
                               int batch, float *xb, float *hlogits, int classes, double *acc) {
    long correct = 0;
    for (int i = 0; i < test->n; i += batch) {
        int nb = test->n - i < batch ? test->n - i : batch;
        const float *logits = NULL;
        CT_TRY(be->ops->memcpy_h2d(be, xb, test->x + (size_t)i * test->dim, (size_t)nb * test->dim * sizeof(float)));
        CT_TRY(ct_model_forward(ws, params, xb, nb, &logits));
        CT_TRY(be->ops->memcpy_d2h(be, hlogits, logits, (size_t)nb * classes * sizeof(float)));
        CT_TRY(be->ops->sync(be));
        for (int r = 0; r < nb; r++) {
            const float *row = hlogits + (size_t)r * classes;
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (row[c] > row[best]) best = c;
            correct += best == test->y[i + r];
        }
    }
    *acc = (double)correct / (double)test->n;
    return CT_OK;
}

void ct_run_record_eval(ct_json *j, long step, int epoch, double time_s, double test_acc) {
    ct_json_begin(j);
    ct_json_key_str(j, "type", "eval");
    ct_json_key_int(j, "step", step);
    ct_json_key_int(j, "epoch", epoch);
    ct_json_key_num(j, "time_s", time_s);
    ct_json_key_num(j, "test_acc", test_acc);
}

void ct_run_record_epoch(ct_json *j, int epoch, double time_s, double train_loss, double test_acc) {
    ct_json_begin(j);
    ct_json_key_str(j, "type", "epoch");
    ct_json_key_int(j, "epoch", epoch);
    ct_json_key_num(j, "time_s", time_s);
    ct_json_key_num(j, "train_loss", train_loss);
    ct_json_key_num(j, "test_acc", test_acc);
}

void ct_run_record_final(ct_json *j, const ct_train_result *res) {
    ct_json_begin(j);
    ct_json_key_str(j, "type", "final");
    ct_json_key_num(j, "time_s", res->time_s);
    ct_json_key_num(j, "test_acc", res->final_test_acc);
    ct_json_key_int(j, "steps", res->steps);
    ct_json_key_num(j, "samples_per_s", res->samples_per_s);
    ct_json_key_str(j, "device", res->device);
}

ct_status ct_run_write_record(FILE *f, const char *path, ct_json *j) {
    const char *s = ct_json_end(j);
    if (!s) {
        ct_json_free(j);
        return CT_FAIL(CT_ERR_NOMEM, "log record: out of memory");
    }
    errno = 0;
    int ok = fputs(s, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0;
    const int err = errno;
    ct_json_free(j);
    /* the path was checked before the run: a failure now is a runtime failure (exit 1), not bad input */
    return ok ? CT_OK : CT_FAIL(CT_ERR_WRITE, "--log %s: write failed: %s", path, err ? strerror(err) : "unknown error");
}

ct_status ct_run_check_paths(const ct_train_config *c) {
    if (c->resume_path) CT_TRY(ct_inpath_check("--resume", c->resume_path));
    if (c->log_path) CT_TRY(ct_outpath_check("--log", c->log_path));
    if (c->log_path) CT_TRY(ct_outpath_check_unlocked("--log", c->log_path));
    if (c->checkpoint_path) CT_TRY(ct_outpath_check("--checkpoint", c->checkpoint_path));
    if (c->log_path && c->checkpoint_path && ct_path_same(c->log_path, c->checkpoint_path))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--log %s and --checkpoint %s name the same file: give two paths", c->log_path,
                       c->checkpoint_path);
    /* --checkpoint may equal --resume: a checkpoint is replaced by an atomic rename */
    if (c->log_path && c->resume_path && ct_path_same(c->log_path, c->resume_path))
        return CT_FAIL(CT_ERR_INVALID_ARG, "--log %s is the --resume checkpoint %s: writing the log would destroy it",
                       c->log_path, c->resume_path);
    return CT_OK;
}

ct_status ct_run_check_finite_checkpoint(const char *path, const ct_checkpoint *ck) {
    for (size_t i = 0; i < ck->P; i++) {
        if (!isfinite(ck->params[i]))
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: parameter %zu is %g: refusing a model with non-finite weights",
                           path, i, (double)ck->params[i]);
        if (ck->momentum && !isfinite(ck->momentum[i]))
            return CT_FAIL(CT_ERR_FORMAT, "checkpoint %s: momentum %zu is %g: refusing non-finite optimizer state", path,
                           i, (double)ck->momentum[i]);
    }
    return CT_OK;
}
