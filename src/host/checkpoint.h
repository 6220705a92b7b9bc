/* Checkpoints in the safetensors format, so PyTorch users can read the weights
 * with the `safetensors` library:
 *
 *   u64 (little-endian) N | N bytes of JSON header | raw little-endian tensor data
 *
 * The header maps tensor names to {"dtype":"F32","shape":[...],"data_offsets":[b,e]}
 * (offsets relative to the data section, contiguous, in file order) and holds a
 * "__metadata__" object of string values. It is padded with spaces so that the
 * data starts at a multiple of 8 bytes.
 *
 * Tensors, in this order:
 *   M.weight, M.bias for each module M with parameters, M counted over every
 *   module as in torch.nn.Sequential (ReLU, pooling, Flatten included); dense
 *   weights [out, in], conv weights [out, in, k, k], biases [out]
 *   optimizer.momentum.M.weight / .bias                        (when momentum is saved)
 *   state.NAME [count]                                        (opaque per-worker vectors)
 *
 * Metadata (all strings): format, format_version, model (ct_model_spec_format: "mlp:784-256-10",
 * "cnn:1x28x28:c6k5p2-r-m2-..."; version 1: "784-256-10"), step,
 * epoch, step_in_epoch, seed, virtual_time, norm_mean, norm_std, optionally
 * config (the run's flags as JSON) and extra (opaque resume state), and
 * checksum = "crc32:XXXXXXXX": zlib's CRC-32 of the whole file as written with
 * those 8 hex digits replaced by '0'. It covers the length prefix, every header
 * byte (names, shapes, offsets, metadata, padding) and every data byte, so any
 * single changed byte makes the file fail to load.
 *
 * Saving writes PATH.tmp.<pid>, fsyncs it, renames it over PATH and fsyncs the
 * directory: a crash at any moment leaves either the previous or the new
 * checkpoint at PATH, never a partial one. */
#ifndef CODEDTRAIN_CHECKPOINT_H
#define CODEDTRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "codedtrain/nn.h"
#include "codedtrain/status.h"

#define CT_CHECKPOINT_FORMAT "codedtrain-checkpoint"
/* 2: any model; tensors named as torch.nn.Sequential's state_dict ("0.weight").
 * 1: MLPs, "layers.L.weight" for dense layer L; still read (module 2L). */
#define CT_CHECKPOINT_FORMAT_VERSION 2
/* state tensor names: [A-Za-z0-9._-], at most this long (without "state.") */
#define CT_CHECKPOINT_STATE_NAME_MAX 128

/* A named float vector saved as tensor "state.NAME", e.g. a worker's
 * error-feedback buffer ("ef.3.0"). */
typedef struct ct_checkpoint_state {
    char *name;
    size_t count; /* >= 1 */
    float *data;
} ct_checkpoint_state;

typedef struct ct_checkpoint {
    ct_model_spec spec;
    size_t P;             /* ct_model_param_count(&spec) */
    float *params;        /* P floats, host, flat layout of nn.h */
    float *momentum;      /* P floats, host; NULL: no optimizer state */
    long step;            /* steps completed */
    int epoch;            /* epoch of the next step (1-based, as in the training loop) */
    int step_in_epoch;    /* index of the next step within that epoch */
    uint64_t seed;        /* the run's seed: init, permutations and straggler draws derive from it */
    double virtual_time;  /* the master's virtual clock (seconds); 0 in real-clock runs */
    float norm_mean, norm_std; /* normalisation of the inputs (train-set statistics); std > 0 */
    char *config_json;    /* the run's configuration (JSON text); may be NULL */
    char *extra;          /* opaque resume state (UTF-8 text); may be NULL */
    int n_state;          /* entries in state (0: state may be NULL) */
    ct_checkpoint_state *state;
} ct_checkpoint;

/* Write ck atomically to path (see above). CT_ERR_INVALID_ARG when ck is
 * inconsistent (P does not match the spec, NULL params, non-UTF-8 strings, bad
 * state names); CT_ERR_IO naming the path when a write fails (the temporary
 * file is removed, PATH is untouched). */
ct_status ct_checkpoint_save(const char *path, const ct_checkpoint *ck);

/* Read and validate everything (header length, JSON syntax, names, dtypes,
 * shapes against the model, contiguous offsets, file size, metadata values,
 * checksum) before returning. CT_ERR_IO when the file cannot be opened or read,
 * CT_ERR_FORMAT for anything malformed, each with one message naming the file
 * and the problem. On failure *out is zeroed and nothing is left allocated. */
ct_status ct_checkpoint_load(const char *path, ct_checkpoint *out);
/* The same checks on a checkpoint already in memory (fuzzing, tests); `name`
 * stands for the file in messages. */
ct_status ct_checkpoint_load_mem(const void *data, size_t len, const char *name, ct_checkpoint *out);

/* Frees what load allocated (or what a caller allocated with malloc in the same
 * shape) and zeroes *ck. NULL and zeroed structs are fine. */
void ct_checkpoint_free(ct_checkpoint *ck);

/* ---- helpers for the opaque `extra` text: named vectors of doubles, exact ----
 * Records "KEY=V,V,...;" with each V a C99 hex float, so every double (and the
 * resume state built from them) comes back bit for bit. KEY: [a-z0-9_]+. */

/* Appends a record to *extra (a malloc'd string, or NULL to start one). */
ct_status ct_checkpoint_extra_put(char **extra, const char *key, const double *v, int n);
/* Reads exactly n values of record KEY; CT_ERR_FORMAT when the record is
 * missing, has another count or does not parse (the message names KEY). */
ct_status ct_checkpoint_extra_get(const char *extra, const char *key, double *v, int n);

#endif
