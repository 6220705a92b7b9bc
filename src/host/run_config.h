/* The resolved configuration of a run as one JSON object: the first record of
 * every log ("type": "config"). Its keys are the `train` flags without the
 * leading dashes and its values what the run used, defaults included, so that
 * `codedtrain train --config LOG` (src/host/cli_config.c) repeats the run and
 * other tools can compare two runs' configurations key by key. Outputs (where
 * the log, trace, timeline and checkpoints go) and --resume are not part of it:
 * they do not change what is computed. */
#ifndef CODEDTRAIN_RUN_CONFIG_H
#define CODEDTRAIN_RUN_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "codedtrain/data.h"
#include "codedtrain/train.h"
#include "host/jsonl.h"

/* A checksum of the train and test sets as the run uses them (normalised
 * features, labels, shapes), as "fnv1a64:HEX". */
void ct_dataset_checksum(const ct_dataset *train, const ct_dataset *test, char out[32]);

/* Starts the record (type, version, device used, dataset checksum, every option);
 * the caller finishes it with ct_run_write_record. */
void ct_run_config_record(ct_json *j, const ct_train_config *c, const char *device_used, const char *data_checksum);

/* The data checksum of this run into out (empty when neither a log nor an
 * expectation needs it); CT_ERR_INVALID_ARG when c->expect_data_checksum is set
 * and the data files (not synthetic data, which the options make) differ. */
ct_status ct_run_config_data(const ct_train_config *c, const ct_dataset *train, const ct_dataset *test, char out[32]);

/* Opens c->log_path (when set; else *out = NULL) as a locked regular file
 * (ct_outpath_open_log: truncated, or appended to when `append`, as a resumed run
 * does) and writes the record as the run's first line. */
ct_status ct_run_config_open_log(const ct_train_config *c, const char *device_used, const char *data_checksum,
                                 int append, FILE **out);

/* Keys of the record that describe the run rather than set an option. */
int ct_run_config_is_info_key(const char *key);

#endif
