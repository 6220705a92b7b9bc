/* `codedtrain train`: flags -> ct_train_config -> ct_train_run. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "codedtrain/train.h"
#include "host/args.h"
#include "host/cli.h"
#include "host/code_label.h"
#include "host/transport_mpi.h"

static void train_usage(FILE *f) {
    fprintf(f,
            "usage: codedtrain train [options]\n"
            "\n"
            "Trains an MLP or a CNN with minibatch SGD and reports test accuracy per epoch.\n"
            "\n"
            "model and data:\n"
            "  --model SPEC          mlp:784-256-10 (default; the whole chain), mlp:256 (one hidden layer,\n"
            "                        input and classes from the data), logreg, lenet5, cifarnet, or\n"
            "                        cnn:TOKENS (docs/models.md), tokens joined by '-':\n"
            "                          cOUTkKpPsS conv (k default 3, p 0, s 1)  mK[sS] max pool  aK[sS] avg pool\n"
            "                          r ReLU  fN dense  N last dense, to the classes (must end the string)\n"
            "                        e.g. cnn:c32k3p1-r-m2-c64k3p1-r-m2-f256-r-10; the input shape comes from\n"
            "                        the data (1x28x28, 3x32x32) or a prefix cnn:CxHxW:TOKENS\n"
            "  --dataset KIND        idx (default), cifar10, synthetic:N,DIM,CLASSES\n"
            "  --data DIR            IDX or CIFAR-10 directory (default %s)\n"
            "  --augment A           none (default), crop:P (random shift by up to P pixels, zero fill),\n"
            "                        flip (horizontal, p = 1/2), crop:P+flip; drawn per (seed, epoch, sample),\n"
            "                        so every worker holding a sample augments it alike\n"
            "optimisation:\n"
            "  --epochs E            epochs (default 5)\n"
            "  --batch B             minibatch size (default 128)\n"
            "  --lr LR               base learning rate (default 0.05)\n"
            "  --lr-schedule S       constant (default), step:EPOCHS,GAMMA, cosine\n"
            "  --momentum M          SGD momentum (default 0.9)\n"
            "  --weight-decay WD     L2 weight decay (default 0)\n"
            "  --seed S              seed for init, shuffling and synthetic data (default 1)\n"
            "  --target-acc A        stop at the first evaluation whose test accuracy reaches A\n"
            "  --max-steps N         stop after N steps (benchmarks)\n"
            "  --eval-every N        also measure test accuracy every N steps (finer time to target)\n"
            "coded training (n workers):\n"
            "  --workers N           logical workers (default 1)\n"
            "  --code NAME           uncoded (default), ignore, frep, cyclic, cyclic-mds, expander, bgc, sgc,\n"
            "                        erasurehead, alpha-subset, alpha-cyclic, ldgm, frep-mds (codedtrain codes --help)\n"
            "  --stragglers S        stragglers the code tolerates\n"
            "  --load D              partitions per worker (approximate / partial codes)\n"
            "  --messages M          messages per worker (partial-recovery codes)\n"
            "  --alpha A             fraction to recover (partial-recovery codes)\n"
            "  --straggle MODEL      none, slow:I,J@F, shifted-exp:SHIFT_MS,MEAN_MS, pareto:ALPHA,SCALE_MS,\n"
            "                        bimodal:P,SLOW_MS, drop:I,J, trace:FILE, exp-means:M0,M1,... (per worker),\n"
            "                        exp-spread:MIN_MS,MAX_MS; combine with '+'\n"
            "  --clock C             real (default: wall time, real throttling) or virtual (deterministic)\n"
            "  --deadline-ms D       stop waiting for workers after D ms (default: until decodable;\n"
            "                        exact codes then give up after 60 s and report who never answered)\n"
            "  --policy P            who gets work: all (default), fastest-k (all work, wait for the fastest --k),\n"
            "                        adaptive-k (all work, wait for the fastest k_t), cmab (only k_t workers,\n"
            "                        chosen by a KL-LCB bandit), cmab-ucb (distribution-free index)\n"
            "  --k K                 fastest-k: results to wait for; cmab: workers to assign; adaptive-k: k0\n"
            "  --k-schedule S        adaptive-k, cmab: fixed:K, steps:K0@0,K1@T1,..., auto[:K0[,DK[,MIN_STEPS]]]\n"
            "  --unit-cost-ms C      virtual clock: compute time per sample (default 0.05); auto:\n"
            "                        measured on worker 0's backend before the run (median of 15 tasks)\n"
            "  --per-worker-messages virtual clock: run every worker's task even where one weighted\n"
            "                        backward pass gives the same decoded gradient (the default there)\n"
            "  --cancel-late on|off  cut short the throttle of workers no longer needed (default on)\n"
            "  --general-path        per-partition gradients + combine even when one message suffices\n"
            "  --async               apply each unit as soon as peeling recovers it, late codewords\n"
            "                        included (ldgm; needs --deadline-ms)\n"
            "  --max-staleness S     async: use codewords up to S steps late (default 1)\n"
            "  --lossy zero|lsq      async: undecoded units at the deadline: zero or least squares\n"
            "  --compress C          none (default), sign (1 bit/coordinate, stochastic, unbiased),\n"
            "                        sign-ef (deterministic sign with error feedback),\n"
            "                        sign-plain (signSGD-style: sign times mean |y|, no feedback)\n"
            "UEP-coded backprop (forward exact; dX = dZ W and dW = dZ^T X of every layer coded):\n"
            "  --uep SCHEME          now, ew, eep, uncoded, or exact (exact gradient, timed as 9 workers\n"
            "                        with one block each and no deadline); time is virtual\n"
            "  --uep-workers N       workers, one packet per product each (default 15)\n"
            "  --uep-deadline T      per-product deadline, or inf: wait for all packets (default 1)\n"
            "  --uep-lambda L        exponential packet latency rate (default 1)\n"
            "  --uep-gamma G         window probabilities (default 0.40,0.35,0.25)\n"
            "  --uep-k K             blocks per class (default 3,3,3; rxc: the sum must be a square)\n"
            "  --uep-paradigm P      rxc (default: row x column blocks) or cxr (column x row)\n"
            "  --uep-device D        who computes the packets: host (default: the UEP library in double,\n"
            "                        virtual clock), or cpu, cuda, cpu-streams, auto: a pool of backend workers\n"
            "                        (threads or CUDA streams) on --clock: virtual gives host's arrivals, real throttles\n"
            "                        each worker and makes the step time wall time\n"
            "  --uep-time-scale-ms S pool on the real clock: wall ms per latency unit (default 1)\n"
            "device and output:\n"
            "  --device D            auto (default: CUDA when a GPU is usable), cpu, cuda, or cpu-streams\n"
            "                        (the CPU ops under CUDA's stream semantics: a test mode, docs/gpu.md)\n"
            "  --threads T           CPU BLAS threads (default: all cores)\n"
            "  --transport T         local (default), mpi (under mpirun -np WORKERS+1: rank 0 is the master),\n"
            "                        nccl (one process, 2+ GPUs: master on GPU 0, worker i on GPU 1 + i mod (GPUs-1))\n"
            "  --log FILE            JSON Lines: the run's whole configuration first, then step, eval and\n"
            "                        epoch records and a final record\n"
            "  --config FILE         start from the configuration in FILE (a log: its first record; or a JSON\n"
            "                        object with the same keys: train's flags without the dashes); flags given\n"
            "                        here override it. The data must have the checksum the log records unless\n"
            "                        --data or --dataset is given\n"
            "  --progress P          auto (default: a live bar on a terminal), lines, off\n"
            "  --trace FILE          Chrome trace-event JSON (Perfetto, chrome://tracing): one track per worker\n"
            "                        (compute, injected delay, arrival / late / cancelled / dead) and one for\n"
            "                        the master (wait, decode, update); virtual or wall time as --clock says\n"
            "  --plot-timeline FILE  PNG (gnuplot): workers against time over the first steps, compute / delay /\n"
            "                        cut / unused bars and the master's decode instants\n"
            "  --timeline-steps N    steps the timeline shows (default 12)\n"
            "checkpoints (safetensors: loadable with the Python safetensors library):\n"
            "  --checkpoint FILE     save the model, optimizer and resume state to FILE at the end\n"
            "  --checkpoint-every N  ... and after every N steps (written atomically: a crash keeps the last one)\n"
            "  --resume FILE         continue the run saved in FILE (same --model, --seed and data);\n"
            "                        with --clock virtual the result equals an uninterrupted run bit for bit\n"
            "\n"
            "examples:\n"
            "  codedtrain train --epochs 10 --log run.jsonl\n"
            "  codedtrain train --config run.jsonl --log rerun.jsonl        # the same run again\n"
            "  codedtrain train --model mlp:784-512-512-10 --device cpu --threads 2 --epochs 2\n"
            "  codedtrain train --dataset synthetic:20000,64,10 --model mlp:128 --epochs 3\n"
            "  codedtrain train --model lenet5 --epochs 10 --target-acc 0.9\n"
            "  codedtrain train --dataset cifar10 --data cifar-10-batches-bin --model cnn:c32k3p1-r-m2-c64k3p1-r-m2-f256-r-10\n"
            "  codedtrain train --target-acc 0.85 --epochs 30 --log run.jsonl\n"
            "  codedtrain train --device cpu --workers 8 --code cyclic --stragglers 2 --straggle drop:3,5 --epochs 2\n"
            "  codedtrain train --workers 16 --code frep --stragglers 3 --clock virtual \\\n"
            "      --straggle shifted-exp:0,3.2 --target-acc 0.85 --log run.jsonl\n"
            "  codedtrain train --model mlp:784-100-200-10 --batch 64 --lr 0.01 --momentum 0 \\\n"
            "      --uep ew --uep-workers 15 --uep-deadline 1 --log uep.jsonl\n",
            "/usr/share/datasets/fashion-mnist");
}

static ct_status parse_dataset(const char *s, ct_train_config *c) {
    if (!strcmp(s, "idx") || !strcmp(s, "fashion-mnist") || !strcmp(s, "mnist")) c->dataset = CT_DATA_IDX;
    else if (!strcmp(s, "cifar10")) c->dataset = CT_DATA_CIFAR10;
    else if (!strncmp(s, "synthetic", 9)) {
        c->dataset = CT_DATA_SYNTHETIC;
        if (s[9] == ':') {
            /* each field parsed whole and range-checked: sscanf's %d wraps 99999999999 silently */
            static const char *const names[3] = {"N", "DIM", "CLASSES"};
            static const long lo[3] = {1, 1, 2}, hi[3] = {CT_SYNTH_MAX_N, CT_SYNTH_MAX_DIM, 65536};
            int *dst[3] = {&c->synth_n, &c->synth_dim, &c->synth_classes};
            const char *p = s + 10;
            for (int k = 0; k < 3; k++) {
                char *end = NULL;
                errno = 0;
                long v = strtol(p, &end, 10);
                if (end == p || errno == ERANGE || (k < 2 ? *end != ',' : *end != '\0') || *p == '+' || *p == ' ')
                    return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset '%s': expected synthetic:N,DIM,CLASSES", s);
                if (v < lo[k] || v > hi[k])
                    return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset '%s': %s = %ld must be between %ld and %ld", s, names[k],
                                   v, lo[k], hi[k]);
                *dst[k] = (int)v;
                p = end + 1;
            }
        } else if (s[9]) {
            return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset '%s': expected synthetic:N,DIM,CLASSES", s);
        }
    } else {
        return CT_FAIL(CT_ERR_INVALID_ARG, "--dataset '%s': expected idx, cifar10 or synthetic:N,DIM,CLASSES", s);
    }
    return CT_OK;
}

ct_status ct_cli_train_flag(int argc, char **argv, int *ip, ct_train_config *c, int *matched) {
    int i = *ip;
    const char *a = argv[i], *v = NULL;
    *matched = 1;
#define VALUE() CT_TRY(ct_arg_value(argc, argv, &i, &v))
    if (!strcmp(a, "--model")) { VALUE(); c->model = v; }
    else if (!strcmp(a, "--checkpoint")) { VALUE(); c->checkpoint_path = v; }
    else if (!strcmp(a, "--checkpoint-every")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 2000000000, &c->checkpoint_every)); }
    else if (!strcmp(a, "--resume")) { VALUE(); c->resume_path = v; }
    /* other data than a --config run's: its checksum no longer applies */
    else if (!strcmp(a, "--dataset")) { VALUE(); CT_TRY(parse_dataset(v, c)); c->expect_data_checksum = NULL; }
    else if (!strcmp(a, "--data")) { VALUE(); c->data_dir = v; c->expect_data_checksum = NULL; }
    else if (!strcmp(a, "--augment")) { VALUE(); c->augment = v; }
    else if (!strcmp(a, "--epochs")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 100000, &c->epochs)); }
    else if (!strcmp(a, "--batch")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 1 << 20, &c->batch)); }
    else if (!strcmp(a, "--lr")) { VALUE(); CT_TRY(ct_arg_double(a, v, 1e-12, 1e3, &c->lr)); }
    else if (!strcmp(a, "--lr-schedule")) { VALUE(); c->lr_schedule = v; }
    else if (!strcmp(a, "--momentum")) { VALUE(); CT_TRY(ct_arg_double(a, v, 0, 0.999999, &c->momentum)); }
    else if (!strcmp(a, "--weight-decay")) { VALUE(); CT_TRY(ct_arg_double(a, v, 0, 1e3, &c->weight_decay)); }
    else if (!strcmp(a, "--seed")) { VALUE(); CT_TRY(ct_arg_u64(a, v, &c->seed)); }
    else if (!strcmp(a, "--target-acc")) { VALUE(); CT_TRY(ct_arg_double(a, v, 0, 1, &c->target_acc)); }
    else if (!strcmp(a, "--eval-every")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 2000000000, &c->eval_every)); }
    else if (!strcmp(a, "--max-steps")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 2000000000, &c->max_steps)); }
    else if (!strcmp(a, "--device")) { VALUE(); CT_TRY(ct_device_kind_parse(v, &c->device)); }
    else if (!strcmp(a, "--threads")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 1024, &c->threads)); }
    else if (!strcmp(a, "--log")) { VALUE(); c->log_path = v; }
    else if (!strcmp(a, "--trace")) { VALUE(); c->trace_path = v; }
    else if (!strcmp(a, "--plot-timeline")) { VALUE(); c->timeline_path = v; }
    else if (!strcmp(a, "--timeline-steps")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 10000, &c->timeline_steps)); }
    else if (!strcmp(a, "--progress")) {
        VALUE();
        if (!strcmp(v, "auto")) c->progress = CT_PROGRESS_AUTO;
        else if (!strcmp(v, "bar")) c->progress = CT_PROGRESS_BAR;
        else if (!strcmp(v, "lines")) c->progress = CT_PROGRESS_LINES;
        else if (!strcmp(v, "off")) c->progress = CT_PROGRESS_OFF;
        else return CT_FAIL(CT_ERR_INVALID_ARG, "--progress '%s': expected auto, bar, lines or off", v);
    }
    /* coded runtime */
    else if (!strcmp(a, "--workers")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 4096, &c->workers)); }
    else if (!strcmp(a, "--code")) { VALUE(); c->code = v; }
    else if (!strcmp(a, "--stragglers")) { VALUE(); CT_TRY(ct_arg_int(a, v, 0, 4096, &c->stragglers)); }
    else if (!strcmp(a, "--load")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 4096, &c->load)); }
    else if (!strcmp(a, "--messages")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 64, &c->messages)); }
    else if (!strcmp(a, "--alpha")) { VALUE(); CT_TRY(ct_arg_fraction(a, v, &c->alpha)); }
    else if (!strcmp(a, "--straggle")) { VALUE(); c->straggle = v; }
    else if (!strcmp(a, "--clock")) {
        VALUE();
        if (!strcmp(v, "real")) c->clock = CT_CLOCK_REAL;
        else if (!strcmp(v, "virtual")) c->clock = CT_CLOCK_VIRTUAL;
        else return CT_FAIL(CT_ERR_INVALID_ARG, "--clock '%s': expected real or virtual", v);
    }
    else if (!strcmp(a, "--deadline-ms")) { VALUE(); CT_TRY(ct_arg_double(a, v, 0, 1e9, &c->deadline_ms)); }
    else if (!strcmp(a, "--policy")) { VALUE(); c->policy = v; }
    else if (!strcmp(a, "--k")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 4096, &c->k)); }
    else if (!strcmp(a, "--k-schedule")) { VALUE(); c->k_schedule = v; }
    else if (!strcmp(a, "--per-worker-messages")) c->per_worker_messages = 1;
    else if (!strcmp(a, "--unit-cost-ms")) {
        VALUE();
        c->unit_cost_auto = !strcmp(v, "auto");
        if (!c->unit_cost_auto) CT_TRY(ct_arg_double(a, v, 1e-9, 1e6, &c->unit_cost_ms));
    }
    else if (!strcmp(a, "--cancel-late")) {
        VALUE();
        if (!strcmp(v, "on")) c->cancel_late = 1;
        else if (!strcmp(v, "off")) c->cancel_late = 0;
        else return CT_FAIL(CT_ERR_INVALID_ARG, "--cancel-late '%s': expected on or off", v);
    }
    else if (!strcmp(a, "--general-path")) { c->general_path = 1; }
    else if (!strcmp(a, "--async")) { c->async = 1; }
    else if (!strcmp(a, "--max-staleness")) { VALUE(); CT_TRY(ct_arg_int(a, v, 0, 64, &c->max_staleness)); }
    else if (!strcmp(a, "--lossy")) {
        VALUE();
        if (!strcmp(v, "zero")) c->lossy_lsq = 0;
        else if (!strcmp(v, "lsq")) c->lossy_lsq = 1;
        else return CT_FAIL(CT_ERR_INVALID_ARG, "--lossy '%s': expected zero or lsq", v);
    }
    else if (!strcmp(a, "--compress")) {
        VALUE();
        if (!strcmp(v, "none")) c->compress = CT_COMPRESS_NONE;
        else if (!strcmp(v, "sign")) c->compress = CT_COMPRESS_SIGN;
        else if (!strcmp(v, "sign-ef")) c->compress = CT_COMPRESS_SIGN_EF;
        else if (!strcmp(v, "sign-plain")) c->compress = CT_COMPRESS_SIGN_PLAIN;
        else return CT_FAIL(CT_ERR_INVALID_ARG, "--compress '%s': expected none, sign, sign-ef or sign-plain", v);
    }
    else if (!strcmp(a, "--transport")) {
        VALUE();
        if (!strcmp(v, "local")) c->transport = CT_TRANSPORT_LOCAL;
        else if (!strcmp(v, "mpi")) c->transport = CT_TRANSPORT_MPI;
        else if (!strcmp(v, "nccl")) c->transport = CT_TRANSPORT_NCCL;
        else return CT_FAIL(CT_ERR_INVALID_ARG, "--transport '%s': expected local, mpi or nccl", v);
    }
    /* UEP-coded backprop (src/host/uep_train.c parses and checks the lists) */
    else if (!strcmp(a, "--uep")) { VALUE(); c->uep = 1; c->uep_scheme = v; }
    else if (!strcmp(a, "--uep-workers")) { VALUE(); CT_TRY(ct_arg_int(a, v, 1, 4096, &c->uep_workers)); }
    else if (!strcmp(a, "--uep-deadline")) {
        VALUE();
        if (!strcmp(v, "inf")) c->uep_deadline = INFINITY;
        else CT_TRY(ct_arg_double(a, v, 0, 1e12, &c->uep_deadline));
    }
    else if (!strcmp(a, "--uep-lambda")) { VALUE(); CT_TRY(ct_arg_double(a, v, 1e-9, 1e9, &c->uep_lambda)); }
    else if (!strcmp(a, "--uep-gamma")) { VALUE(); c->uep_gamma = v; }
    else if (!strcmp(a, "--uep-device")) { VALUE(); c->uep_device = v; }
    else if (!strcmp(a, "--uep-time-scale-ms")) { VALUE(); CT_TRY(ct_arg_double(a, v, 1e-6, 1e6, &c->uep_time_scale_ms)); }
    else if (!strcmp(a, "--uep-k")) { VALUE(); c->uep_k = v; }
    else if (!strcmp(a, "--uep-paradigm")) {
        VALUE();
        if (!strcmp(v, "rxc")) c->uep_paradigm = CT_UEP_RXC;
        else if (!strcmp(v, "cxr")) c->uep_paradigm = CT_UEP_CXR;
        else return CT_FAIL(CT_ERR_INVALID_ARG, "--uep-paradigm '%s': expected rxc or cxr", v);
    }
    else *matched = 0;
#undef VALUE
    *ip = i;
    return CT_OK;
}

static ct_status parse_train_flags(int argc, char **argv, ct_train_config *c, ct_config_file *store, int *help) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { *help = 1; return CT_OK; }
    /* the configuration file first, whatever its position: flags override it */
    const char *config = ct_cli_config_path(argc, argv);
    if (config) CT_TRY(ct_cli_config_apply(config, c, store));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config")) { i++; continue; }
        int matched = 0;
        CT_TRY(ct_cli_train_flag(argc, argv, &i, c, &matched));
        if (!matched) return CT_FAIL(CT_ERR_INVALID_ARG, "unknown option '%s' (see codedtrain train --help)", argv[i]);
    }
    return CT_OK;
}

/* The MPI rank the launcher gave this process (0 when not launched by mpirun),
 * known before MPI is initialised. */
static int launcher_rank(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}

/* Bad input fails the same way on every rank: only rank 0 says so. A runtime
 * failure (a dead master, say) is the rank's own and always reported. */
static int report(ct_status st) {
    const int code = ct_status_exit_code(st);
    if (code != 2 || launcher_rank() == 0) fprintf(stderr, "codedtrain train: %s (%s)\n", ct_last_error(), ct_status_str(st));
    return code;
}

int ct_cli_train(int argc, char **argv) {
    ct_train_config cfg = CT_TRAIN_CONFIG_INIT;
    int help = 0;
    ct_config_file store = {0};
    ct_status st = parse_train_flags(argc, argv, &cfg, &store, &help);
    if (help) {
        ct_config_file_free(&store);
        train_usage(stdout);
        return 0;
    }
    if (st != CT_OK) {
        ct_config_file_free(&store);
        return report(st);
    }
    /* an exact-by-design code that fails a straggler set at this n: say so
     * before the run (2 s of checking at most) */
    /* not under MPI: every rank runs this before MPI init, and it would print once per rank */
    if (!cfg.uep && cfg.code && cfg.transport != 1) {
        ct_code_spec spec = CT_CODE_SPEC_INIT;
        if (ct_code_scheme_parse(cfg.code, &spec.scheme) == CT_OK) {
            spec.n_workers = cfg.workers;
            spec.stragglers = cfg.stragglers;
            spec.load = cfg.load;
            spec.messages = cfg.messages;
            spec.seed = cfg.seed;
            code_label_warn_train(&spec, 2.0, stderr);
        } else {
            ct_error_clear();
        }
    }
    ct_train_result res;
    st = ct_train_run(&cfg, &res);
    ct_config_file_free(&store); /* after the run: cfg's strings point into it */
    if (st != CT_OK) return report(st);
    if (cfg.progress != CT_PROGRESS_OFF && ct_mpi_rank() == 0) {
        printf("final: test_acc %.4f  train_loss %.4f  epochs %d  steps %ld  time %.1fs  %.0f samples/s  device %s\n",
               res.final_test_acc, res.final_train_loss, res.epochs_run, res.steps, res.time_s, res.samples_per_s,
               res.device);
        if (cfg.target_acc > 0) {
            if (res.time_to_target_s >= 0) printf("reached target accuracy %.4f after %.1fs\n", cfg.target_acc, res.time_to_target_s);
            else printf("did not reach target accuracy %.4f\n", cfg.target_acc);
        }
    }
    return 0;
}
