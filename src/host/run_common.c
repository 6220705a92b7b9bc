/* Shared pieces of a training run (see run_common.h). */
#include "host/run_common.h"

#include "kernels/backend.h"

#include <stdlib.h>
#include <string.h>

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
    if (train->dim != test->dim || train->classes != test->classes)
        return CT_FAIL(CT_ERR_FORMAT, "train and test sets disagree: dim %d vs %d, classes %d vs %d", train->dim,
                       test->dim, train->classes, test->classes);
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

ct_status ct_run_write_record(FILE *f, ct_json *j) {
    const char *s = ct_json_end(j);
    if (!s) {
        ct_json_free(j);
        return CT_FAIL(CT_ERR_NOMEM, "log record: out of memory");
    }
    int ok = fputs(s, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0;
    ct_json_free(j);
    return ok ? CT_OK : CT_FAIL(CT_ERR_IO, "log: write failed");
}
