/* Pieces every training run shares (the coded trainer in train.c and the UEP
 * trainer in uep_train.c): the dataset with its split and normalisation, the
 * configuration checks, test accuracy, and one JSON Lines record. */
#ifndef CODEDTRAIN_RUN_COMMON_H
#define CODEDTRAIN_RUN_COMMON_H

#include <stdio.h>

#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "codedtrain/train.h"
#include "host/checkpoint.h"
#include "host/jsonl.h"

/* Train and test sets as the config names them, both normalised with the
 * training set's statistics (returned in *norm). */
ct_status ct_run_load_data(const ct_train_config *c, ct_dataset *train, ct_dataset *test, ct_norm *norm);
/* The checks every trainer makes on the user's numbers. */
ct_status ct_run_check_config(const ct_train_config *c);
/* Refuses a model whose parameters, optimizer state and per-worker copies
 * could never fit in this machine's memory, before anything is allocated. */
ct_status ct_run_check_memory(const ct_train_config *c, const ct_model_spec *spec);
/* Test accuracy of `params`: forward in batches of up to `batch` rows through
 * xb (device, batch x dim) and hlogits (host, batch x classes). */
ct_status ct_run_test_accuracy(ct_backend *be, ct_model_workspace *ws, const float *params, const ct_dataset *test,
                               int batch, float *xb, float *hlogits, int classes, double *acc);
/* Start a log record with the fields every trainer writes first; the caller adds
 * its own fields, then ct_run_write_record. */
void ct_run_record_eval(ct_json *j, long step, int epoch, double time_s, double test_acc);
void ct_run_record_epoch(ct_json *j, int epoch, double time_s, double train_loss, double test_acc);
void ct_run_record_final(ct_json *j, const ct_train_result *res);
/* Finish `j`, write it as one line to the log at `path`, flush; frees j.
 * CT_ERR_WRITE naming the path and the reason when the write fails. */
ct_status ct_run_write_record(FILE *f, const char *path, ct_json *j);
/* Every output path the run will write (--log, --checkpoint) and its --resume
 * input, checked before any work (outpath.h): nothing existing is touched when
 * one is refused. */
ct_status ct_run_check_paths(const ct_train_config *c);
/* A checkpoint's parameters and momentum are all finite (a valid CRC does not
 * make a NaN weight usable). */
ct_status ct_run_check_finite_checkpoint(const char *path, const ct_checkpoint *ck);

#endif
