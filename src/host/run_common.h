/* Pieces every training run shares (the coded trainer in train.c and the UEP
 * trainer in uep_train.c): the dataset with its split and normalisation, the
 * configuration checks, test accuracy, and one JSON Lines record. */
#ifndef CODEDTRAIN_RUN_COMMON_H
#define CODEDTRAIN_RUN_COMMON_H

#include <stdio.h>

#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "codedtrain/train.h"
#include "host/jsonl.h"

/* Train and test sets as the config names them, both normalised with the
 * training set's statistics (returned in *norm). */
ct_status ct_run_load_data(const ct_train_config *c, ct_dataset *train, ct_dataset *test, ct_norm *norm);
/* The checks every trainer makes on the user's numbers. */
ct_status ct_run_check_config(const ct_train_config *c);
/* Test accuracy of `params`: forward in batches of up to `batch` rows through
 * xb (device, batch x dim) and hlogits (host, batch x classes). */
ct_status ct_run_test_accuracy(ct_backend *be, ct_model_workspace *ws, const float *params, const ct_dataset *test,
                               int batch, float *xb, float *hlogits, int classes, double *acc);
/* Start a log record with the fields every trainer writes first; the caller adds
 * its own fields, then ct_run_write_record. */
void ct_run_record_eval(ct_json *j, long step, int epoch, double time_s, double test_acc);
void ct_run_record_epoch(ct_json *j, int epoch, double time_s, double train_loss, double test_acc);
void ct_run_record_final(ct_json *j, const ct_train_result *res);
/* Finish `j`, write it as one line, flush; frees j. */
ct_status ct_run_write_record(FILE *f, ct_json *j);

#endif
