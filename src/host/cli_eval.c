/* `codedtrain eval`: test accuracy of a saved checkpoint. The test set is
 * normalised with the train-set statistics stored in the checkpoint, as the
 * training loop did, so the training set is never loaded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "host/args.h"
#include "host/checkpoint.h"
#include "host/cli.h"
#include "host/run_common.h"
#include "host/jsonl.h"
#include "kernels/backend.h"

enum { CT_EVAL_CLI_BATCH = 1000 };

static void eval_usage(FILE *f) {
    fprintf(f,
            "usage: codedtrain eval --checkpoint FILE [options]\n"
            "\n"
            "Reports the test accuracy of a model saved by `codedtrain train --checkpoint FILE`.\n"
            "A corrupted or truncated checkpoint is refused (exit 2).\n"
            "\n"
            "options:\n"
            "  --checkpoint FILE     the checkpoint (safetensors) to evaluate\n"
            "  --dataset KIND        idx (default) or cifar10: the test split of that format\n"
            "  --data DIR            dataset directory (default %s)\n"
            "  --device D            auto (default), cpu, cuda\n"
            "  --threads T           CPU BLAS threads (default 1)\n"
            "  --json                one JSON object: {\"test_acc\", \"samples\", \"checkpoint\", \"step\"}\n"
            "\n"
            "examples:\n"
            "  codedtrain eval --checkpoint run.safetensors\n"
            "  codedtrain eval --checkpoint run.safetensors --device cpu --json\n",
            CT_FASHION_MNIST_DIR);
}

typedef struct eval_args {
    const char *checkpoint, *data_dir;
    int cifar, json, threads, help;
    ct_device_kind device;
} eval_args;

static ct_status parse_eval_flags(int argc, char **argv, eval_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) { a->help = 1; return CT_OK; }
        else if (!strcmp(f, "--json")) a->json = 1;
        else if (!strcmp(f, "--checkpoint")) { CT_TRY(ct_arg_value(argc, argv, &i, &v)); a->checkpoint = v; }
        else if (!strcmp(f, "--data")) { CT_TRY(ct_arg_value(argc, argv, &i, &v)); a->data_dir = v; }
        else if (!strcmp(f, "--device")) { CT_TRY(ct_arg_value(argc, argv, &i, &v)); CT_TRY(ct_device_kind_parse(v, &a->device)); }
        else if (!strcmp(f, "--threads")) { CT_TRY(ct_arg_value(argc, argv, &i, &v)); CT_TRY(ct_arg_int(f, v, 1, 1024, &a->threads)); }
        else if (!strcmp(f, "--dataset")) {
            CT_TRY(ct_arg_value(argc, argv, &i, &v));
            if (!strcmp(v, "idx") || !strcmp(v, "fashion-mnist") || !strcmp(v, "mnist")) a->cifar = 0;
            else if (!strcmp(v, "cifar10")) a->cifar = 1;
            else return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset '%s': expected idx or cifar10", v);
        } else return CT_FAIL(CT_ERR_INVALID_ARG, "unknown option '%s' (try codedtrain eval --help)", f);
    }
    if (!a->checkpoint) return CT_FAIL(CT_ERR_INVALID_ARG, "--checkpoint FILE is required");
    if (a->cifar && !a->data_dir) return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset cifar10 needs --data DIR");
    return CT_OK;
}

/* Correct predictions of the checkpoint's model over the whole test set. */
static ct_status count_correct(const eval_args *a, const ct_checkpoint *ck, const ct_dataset *test, long *correct) {
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    bc.threads = a->threads;
    ct_backend *be = NULL;
    ct_model_workspace *ws = NULL;
    float *params = NULL, *xb = NULL, *hlogits = NULL;
    const int classes = ck->spec.classes;
    *correct = 0;
    ct_status st = ct_backend_create(a->device, &bc, &be);
    if (st == CT_OK) st = ct_model_workspace_create(be, &ck->spec, CT_EVAL_CLI_BATCH, &ws);
    if (st == CT_OK) st = be->ops->alloc(be, ck->P * sizeof(float), (void **)&params);
    if (st == CT_OK) st = be->ops->alloc(be, (size_t)CT_EVAL_CLI_BATCH * test->dim * sizeof(float), (void **)&xb);
    if (st == CT_OK && !(hlogits = malloc((size_t)CT_EVAL_CLI_BATCH * classes * sizeof(float))))
        st = CT_FAIL(CT_ERR_NOMEM, "evaluation buffer: out of memory");
    if (st == CT_OK) st = be->ops->memcpy_h2d(be, params, ck->params, ck->P * sizeof(float));
    if (st == CT_OK) {
        double acc = 0;
        st = ct_run_test_accuracy(be, ws, params, test, CT_EVAL_CLI_BATCH, xb, hlogits, classes, &acc);
        *correct = lround(acc * test->n); /* acc is correct / n in double: exact */
    }
    if (be) {
        be->ops->free(be, params);
        be->ops->free(be, xb);
        ct_model_workspace_destroy(ws);
        ct_backend_destroy(be);
    }
    free(hlogits);
    return st;
}

int ct_cli_eval(int argc, char **argv) {
    eval_args a = {.device = CT_DEVICE_AUTO, .threads = 1};
    ct_status st = parse_eval_flags(argc, argv, &a);
    if (a.help) {
        eval_usage(stdout);
        return 0;
    }
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain eval: %s\n", ct_last_error());
        return ct_status_exit_code(st);
    }
    ct_checkpoint ck;
    ct_dataset test = {0};
    long correct = 0;
    st = ct_checkpoint_load(a.checkpoint, &ck);
    if (st == CT_OK) st = ct_run_check_finite_checkpoint(a.checkpoint, &ck);
    if (st == CT_OK) {
        const char *dir = a.data_dir ? a.data_dir : CT_FASHION_MNIST_DIR;
        st = a.cifar ? ct_dataset_load_cifar10(dir, 0, &test) : ct_dataset_load_idx_dir(dir, 0, &test);
    }
    if (st == CT_OK) {
        const int in = ct_model_input_dim(&ck.spec), classes = ck.spec.classes;
        if (test.dim != in || test.classes != classes) {
            char model[512];
            ct_model_spec_format(&ck.spec, model, sizeof model);
            st = CT_FAIL(CT_ERR_INVALID_ARG,
                         "checkpoint %s: model %s takes %d features and %d classes, the test set has %d and %d",
                         a.checkpoint, model, in, classes, test.dim, test.classes);
        } else if (test.n < 1) {
            st = CT_FAIL(CT_ERR_FORMAT, "the test set is empty");
        }
    }
    if (st == CT_OK) {
        ct_norm nm = {ck.norm_mean, ck.norm_std};
        ct_dataset_normalize(&test, nm);
        st = count_correct(&a, &ck, &test, &correct);
    }
    int rc = 0;
    if (st != CT_OK) {
        fprintf(stderr, "codedtrain eval: %s\n", ct_last_error());
        rc = ct_status_exit_code(st);
    } else {
        const double acc = (double)correct / (double)test.n;
        if (a.json) {
            ct_json j;
            ct_json_begin(&j);
            ct_json_key_num(&j, "test_acc", acc);
            ct_json_key_int(&j, "samples", test.n);
            ct_json_key_str(&j, "checkpoint", a.checkpoint);
            ct_json_key_int(&j, "step", ck.step);
            const char *s = ct_json_end(&j);
            if (s) printf("%s\n", s);
            else {
                fprintf(stderr, "codedtrain eval: out of memory\n");
                rc = 1;
            }
            ct_json_free(&j);
        } else {
            printf("test_acc %.4f (%ld/%d)  checkpoint %s  step %ld\n", acc, correct, test.n, a.checkpoint, ck.step);
        }
        if (fflush(stdout) != 0) rc = 1;
    }
    ct_dataset_free(&test);
    ct_checkpoint_free(&ck);
    return rc;
}
