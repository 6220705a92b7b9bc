/* Single-worker minibatch SGD: load data, build the MLP on the chosen backend,
 * train for the configured epochs, evaluate, log JSON Lines. */
#include "codedtrain/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "host/clock.h"
#include "host/jsonl.h"

enum { CT_EVAL_BATCH = 1000 };

typedef struct trainer {
    const ct_train_config *cfg;
    ct_dataset train, test;
    ct_mlp_spec spec;
    ct_lr_schedule sched;
    ct_backend *be;
    ct_mlp_workspace *ws;
    size_t P;
    float *params, *grad, *mom, *xb, *loss; /* device */
    int32_t *yb;                           /* device */
    float *hx;                             /* host staging for one batch */
    int32_t *hy, *perm;
    float *hlogits;
    FILE *log;
} trainer;

static ct_status load_data(trainer *t) {
    const ct_train_config *c = t->cfg;
    switch (c->dataset) {
    case CT_DATA_IDX: {
        const char *dir = c->data_dir ? c->data_dir : CT_FASHION_MNIST_DIR;
        CT_TRY(ct_dataset_load_idx_dir(dir, 1, &t->train));
        CT_TRY(ct_dataset_load_idx_dir(dir, 0, &t->test));
        break;
    }
    case CT_DATA_CIFAR10:
        if (!c->data_dir) return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset cifar10 needs --data DIR");
        CT_TRY(ct_dataset_load_cifar10(c->data_dir, 1, &t->train));
        CT_TRY(ct_dataset_load_cifar10(c->data_dir, 0, &t->test));
        break;
    case CT_DATA_SYNTHETIC: {
        /* one generator call so train and test share the class means; the
         * last sixth becomes the test set */
        int n_test = c->synth_n / 5 > 0 ? c->synth_n / 5 : 1;
        ct_dataset all = {0};
        CT_TRY(ct_dataset_synthetic(c->synth_n + n_test, c->synth_dim, c->synth_classes, 1.0, c->seed, &all));
        t->train = all;
        t->train.n = c->synth_n;
        t->test.n = n_test;
        t->test.dim = all.dim;
        t->test.classes = all.classes;
        t->test.x = malloc((size_t)n_test * all.dim * sizeof(float));
        t->test.y = malloc((size_t)n_test * sizeof(int32_t));
        if (!t->test.x || !t->test.y) return CT_FAIL(CT_ERR_NOMEM, "synthetic test set: out of memory");
        memcpy(t->test.x, all.x + (size_t)c->synth_n * all.dim, (size_t)n_test * all.dim * sizeof(float));
        memcpy(t->test.y, all.y + c->synth_n, (size_t)n_test * sizeof(int32_t));
        break;
    }
    default: return CT_FAIL(CT_ERR_INVALID_ARG, "unknown dataset kind %d", (int)c->dataset);
    }
    if (t->train.dim != t->test.dim || t->train.classes != t->test.classes)
        return CT_FAIL(CT_ERR_FORMAT, "train and test sets disagree: dim %d vs %d, classes %d vs %d",
                       t->train.dim, t->test.dim, t->train.classes, t->test.classes);
    ct_norm nm = ct_dataset_norm_stats(&t->train);
    ct_dataset_normalize(&t->train, nm);
    ct_dataset_normalize(&t->test, nm);
    return CT_OK;
}

static ct_status check_config(const ct_train_config *c) {
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

static ct_status setup_device(trainer *t) {
    const ct_train_config *c = t->cfg;
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    bc.threads = c->threads > 0 ? c->threads : (ncpu > 0 ? (int)ncpu : 1);
    CT_TRY(ct_backend_create(c->device, &bc, &t->be));
    ct_backend *be = t->be;
    const int max_batch = c->batch > CT_EVAL_BATCH ? c->batch : CT_EVAL_BATCH;
    t->P = ct_mlp_param_count(&t->spec);
    CT_TRY(ct_mlp_workspace_create(be, &t->spec, max_batch, &t->ws));
    CT_TRY(be->ops->alloc(be, t->P * sizeof(float), (void **)&t->params));
    CT_TRY(be->ops->alloc(be, t->P * sizeof(float), (void **)&t->grad));
    CT_TRY(be->ops->alloc(be, t->P * sizeof(float), (void **)&t->mom));
    CT_TRY(be->ops->alloc(be, (size_t)max_batch * t->train.dim * sizeof(float), (void **)&t->xb));
    CT_TRY(be->ops->alloc(be, (size_t)max_batch * sizeof(int32_t), (void **)&t->yb));
    CT_TRY(be->ops->alloc(be, sizeof(float), (void **)&t->loss));
    t->hx = malloc((size_t)max_batch * t->train.dim * sizeof(float));
    t->hy = malloc((size_t)max_batch * sizeof(int32_t));
    t->perm = malloc((size_t)t->train.n * sizeof(int32_t));
    t->hlogits = malloc((size_t)max_batch * t->spec.sizes[t->spec.n_layers] * sizeof(float));
    if (!t->hx || !t->hy || !t->perm || !t->hlogits) return CT_FAIL(CT_ERR_NOMEM, "host staging buffers: out of memory");

    float *init = malloc(t->P * sizeof(float));
    if (!init) return CT_FAIL(CT_ERR_NOMEM, "parameter init: out of memory (%zu floats)", t->P);
    ct_mlp_init_params(&t->spec, c->seed, init);
    ct_status st = be->ops->memcpy_h2d(be, t->params, init, t->P * sizeof(float));
    if (st == CT_OK) st = be->ops->sync(be);
    free(init);
    CT_TRY(st);
    CT_TRY(be->ops->fill(be, t->P, 0.0f, t->mom));
    return CT_OK;
}

static void trainer_free(trainer *t) {
    if (t->be) {
        ct_backend *be = t->be;
        be->ops->free(be, t->params);
        be->ops->free(be, t->grad);
        be->ops->free(be, t->mom);
        be->ops->free(be, t->xb);
        be->ops->free(be, t->yb);
        be->ops->free(be, t->loss);
        ct_mlp_workspace_destroy(t->ws);
        ct_backend_destroy(be);
    }
    free(t->hx);
    free(t->hy);
    free(t->perm);
    free(t->hlogits);
    ct_dataset_free(&t->train);
    ct_dataset_free(&t->test);
    if (t->log) fclose(t->log);
}

/* Test accuracy of the current parameters. */
static ct_status evaluate(trainer *t, double *acc) {
    ct_backend *be = t->be;
    const int classes = t->spec.sizes[t->spec.n_layers];
    long correct = 0;
    for (int i = 0; i < t->test.n; i += CT_EVAL_BATCH) {
        int nb = t->test.n - i < CT_EVAL_BATCH ? t->test.n - i : CT_EVAL_BATCH;
        const float *logits = NULL;
        CT_TRY(be->ops->memcpy_h2d(be, t->xb, t->test.x + (size_t)i * t->test.dim, (size_t)nb * t->test.dim * sizeof(float)));
        CT_TRY(ct_mlp_forward(t->ws, t->params, t->xb, nb, &logits));
        CT_TRY(be->ops->memcpy_d2h(be, t->hlogits, logits, (size_t)nb * classes * sizeof(float)));
        CT_TRY(be->ops->sync(be));
        for (int r = 0; r < nb; r++) {
            const float *row = t->hlogits + (size_t)r * classes;
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (row[c] > row[best]) best = c;
            correct += best == t->test.y[i + r];
        }
    }
    *acc = (double)correct / (double)t->test.n;
    return CT_OK;
}

static int progress_is_bar(const ct_train_config *c) {
    if (c->progress == CT_PROGRESS_BAR) return 1;
    if (c->progress == CT_PROGRESS_AUTO) return isatty(STDOUT_FILENO);
    return 0;
}

static void draw_bar(int epoch, int epochs, int step, int steps, double loss) {
    const int width = 30;
    int fill = steps ? (int)((long)step * width / steps) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    printf("\repoch %d/%d [%s] %3d%%  loss %.4f", epoch, epochs, bar, steps ? (int)(100L * step / steps) : 100, loss);
    fflush(stdout);
}

static ct_status write_line(FILE *f, ct_json *j) {
    const char *s = ct_json_end(j);
    if (!s) { ct_json_free(j); return CT_FAIL(CT_ERR_NOMEM, "log record: out of memory"); }
    int ok = fputs(s, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0;
    ct_json_free(j);
    return ok ? CT_OK : CT_FAIL(CT_ERR_IO, "log: write failed");
}

static ct_status run_loop(trainer *t, ct_train_result *res) {
    const ct_train_config *c = t->cfg;
    ct_backend *be = t->be;
    const int dim = t->train.dim;
    const int b = c->batch < t->train.n ? c->batch : t->train.n;
    const int steps_per_epoch = t->train.n / b;
    const int bar = progress_is_bar(c);
    const double t0 = ct_now_s();
    double train_time = 0;
    long steps = 0;
    res->time_to_target_s = -1;

    for (int epoch = 1; epoch <= c->epochs; epoch++) {
        ct_permutation(t->perm, t->train.n, c->seed * 1000003u + (uint64_t)epoch);
        double loss_sum = 0;
        int done = 0;
        const double e0 = ct_now_s();
        for (int s = 0; s < steps_per_epoch; s++) {
            if (c->max_steps > 0 && steps >= c->max_steps) break;
            const int32_t *idx = t->perm + (size_t)s * b;
            for (int r = 0; r < b; r++) {
                memcpy(t->hx + (size_t)r * dim, t->train.x + (size_t)idx[r] * dim, (size_t)dim * sizeof(float));
                t->hy[r] = t->train.y[idx[r]];
            }
            CT_TRY(be->ops->memcpy_h2d(be, t->xb, t->hx, (size_t)b * dim * sizeof(float)));
            CT_TRY(be->ops->memcpy_h2d(be, t->yb, t->hy, (size_t)b * sizeof(int32_t)));
            CT_TRY(ct_mlp_loss_grad(t->ws, t->params, t->xb, t->yb, NULL, b, 0.0f, t->grad, t->loss));
            double lr = ct_lr_at(&t->sched, (epoch - 1) + (double)s / steps_per_epoch);
            CT_TRY(be->ops->sgd_update(be, t->P, (float)lr, (float)c->momentum, (float)c->weight_decay,
                                       t->params, t->grad, t->mom));
            float loss = 0;
            CT_TRY(be->ops->memcpy_d2h(be, &loss, t->loss, sizeof loss));
            CT_TRY(be->ops->sync(be));
            if (!isfinite(loss))
                return CT_FAIL(CT_ERR_NUMERIC, "training diverged at epoch %d step %d (loss %g); try a smaller --lr", epoch, s, loss);
            loss_sum += loss;
            done++;
            steps++;
            if (bar && (s % 20 == 0 || s + 1 == steps_per_epoch)) draw_bar(epoch, c->epochs, s + 1, steps_per_epoch, loss_sum / done);
        }
        train_time += ct_now_s() - e0;
        double acc = -1;
        if (c->eval) CT_TRY(evaluate(t, &acc));
        const double now = ct_now_s() - t0;
        const double train_loss = done ? loss_sum / done : 0;
        res->final_test_acc = acc;
        res->final_train_loss = train_loss;
        res->epochs_run = epoch;
        if (bar) printf("\r\033[K");
        if (c->progress != CT_PROGRESS_OFF)
            printf("epoch %d/%d  loss %.4f  test_acc %.4f  time %.1fs\n", epoch, c->epochs, train_loss, acc, now);
        fflush(stdout);
        if (t->log) {
            ct_json j;
            ct_json_begin(&j);
            ct_json_key_str(&j, "type", "epoch");
            ct_json_key_int(&j, "epoch", epoch);
            ct_json_key_num(&j, "time_s", now);
            ct_json_key_num(&j, "train_loss", train_loss);
            ct_json_key_num(&j, "test_acc", acc);
            CT_TRY(write_line(t->log, &j));
        }
        if (c->target_acc > 0 && acc >= c->target_acc) {
            res->time_to_target_s = now;
            break;
        }
        if (c->max_steps > 0 && steps >= c->max_steps) break;
    }
    res->time_s = ct_now_s() - t0;
    res->train_time_s = train_time;
    res->steps = steps;
    res->samples_per_s = train_time > 0 ? (double)steps * b / train_time : 0;
    return CT_OK;
}

ct_status ct_train_run(const ct_train_config *cfg, ct_train_result *res) {
    if (!cfg || !res) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_train_run: NULL argument");
    memset(res, 0, sizeof *res);
    CT_TRY(check_config(cfg));
    trainer t;
    memset(&t, 0, sizeof t);
    t.cfg = cfg;
    ct_status st = load_data(&t);
    /* validate everything the user typed before touching the device or the log */
    if (st == CT_OK) st = ct_mlp_spec_parse(cfg->model, t.train.dim, t.train.classes, &t.spec);
    if (st == CT_OK) st = ct_lr_schedule_parse(cfg->lr_schedule, cfg->lr, cfg->epochs, &t.sched);
    if (st == CT_OK) st = setup_device(&t);
    if (st == CT_OK) {
        snprintf(res->device, sizeof res->device, "%s", t.be->ops->describe(t.be));
        if (cfg->progress != CT_PROGRESS_OFF) {
            char ms[256];
            ct_mlp_spec_format(&t.spec, ms, sizeof ms);
            printf("device: %s%s\nmodel: mlp %s (%zu parameters), %d train / %d test samples\n", res->device,
                   cfg->device == CT_DEVICE_AUTO ? (t.be->kind == CT_DEVICE_CUDA ? " (auto: CUDA device found)"
                                                                                  : " (auto: no usable CUDA device)")
                                                 : "",
                   ms, t.P, t.train.n, t.test.n);
        }
    }
    if (st == CT_OK && cfg->log_path) {
        t.log = fopen(cfg->log_path, "w");
        if (!t.log) st = CT_FAIL(CT_ERR_IO, "--log %s: cannot open for writing", cfg->log_path);
    }
    if (st == CT_OK) st = run_loop(&t, res);
    if (st == CT_OK && t.log) {
        ct_json j;
        ct_json_begin(&j);
        ct_json_key_str(&j, "type", "final");
        ct_json_key_num(&j, "time_s", res->time_s);
        ct_json_key_num(&j, "test_acc", res->final_test_acc);
        ct_json_key_int(&j, "steps", res->steps);
        ct_json_key_num(&j, "samples_per_s", res->samples_per_s);
        ct_json_key_str(&j, "device", res->device);
        if (cfg->target_acc > 0) {
            if (res->time_to_target_s >= 0) ct_json_key_num(&j, "time_to_target_s", res->time_to_target_s);
            else ct_json_key_null(&j, "time_to_target_s");
        }
        st = write_line(t.log, &j);
    }
    trainer_free(&t);
    return st;
}
