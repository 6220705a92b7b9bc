/* A training run: load data, build the MLP on the chosen backend, then for each
 * step let the master gather (coded) gradients from its workers and apply SGD;
 * evaluate each epoch; log JSON Lines. One uncoded worker is plain minibatch SGD. */
#include "codedtrain/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codedtrain/data.h"
#include "codedtrain/nn.h"
#include "host/checkpoint.h"
#include "host/clock.h"
#include "host/config_diff.h"
#include "host/jsonl.h"
#include "host/step_bound.h"
#include "host/master.h"
#include "host/message.h"
#include "host/outpath.h"
#include "host/run_common.h"
#include "host/run_config.h"
#include "host/trace.h"
#include "host/transport_mpi.h"

enum { CT_EVAL_BATCH = 1000 };

typedef struct trainer {
    const ct_train_config *cfg; /* with defaults resolved (threads) */
    ct_master *master;
    ct_dataset train, test;
    ct_model_spec spec;
    ct_lr_schedule sched;
    ct_backend *be;
    ct_model_workspace *ws;
    size_t P;
    float *params, *grad, *mom, *xb; /* device */
    float *hlogits;                  /* host */
    FILE *log;
    char checksum[32]; /* of the data, for the log's configuration record */
    ct_trace *trace;                 /* --trace / --plot-timeline (NULL: neither) */
    ct_norm norm;                    /* train-set statistics the inputs were normalised with */
    float *hparams, *hmom;           /* host staging for checkpoints */
    double unwind_sum;               /* real clock: time spent waiting for cancelled workers (this process) */
    long unwind_steps;
} trainer;

/* Where the loop stands after a step: the position of the next step and the
 * running sums the log and the result are made of. A checkpoint stores it all. */
typedef struct loop_state {
    long steps;          /* steps done */
    int epoch, s;        /* the next step: epoch (1-based) and its index within the epoch */
    double train_time, wait_sum, lost_sum, bits;
    long dropped;
    double loss_sum;     /* this epoch so far */
    int done;
    long dodged;
} loop_state;



static ct_status setup_device(trainer *t) {
    const ct_train_config *c = t->cfg;
    ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
    bc.threads = c->threads;
    CT_TRY(ct_backend_create(c->device, &bc, &t->be));
    ct_backend *be = t->be;
    t->P = ct_model_param_count(&t->spec);
    CT_TRY(ct_model_workspace_create(be, &t->spec, CT_EVAL_BATCH, &t->ws));
    CT_TRY(be->ops->alloc(be, t->P * sizeof(float), (void **)&t->params));
    CT_TRY(be->ops->alloc(be, t->P * sizeof(float), (void **)&t->grad));
    CT_TRY(be->ops->alloc(be, t->P * sizeof(float), (void **)&t->mom));
    CT_TRY(be->ops->alloc(be, (size_t)CT_EVAL_BATCH * t->train.dim * sizeof(float), (void **)&t->xb));
    t->hlogits = malloc((size_t)CT_EVAL_BATCH * t->spec.classes * sizeof(float));
    if (!t->hlogits) return CT_FAIL(CT_ERR_NOMEM, "host evaluation buffer: out of memory");

    float *init = malloc(t->P * sizeof(float));
    if (!init) return CT_FAIL(CT_ERR_NOMEM, "parameter init: out of memory (%zu floats)", t->P);
    ct_model_init_params(&t->spec, c->seed, init);
    ct_status st = be->ops->memcpy_h2d(be, t->params, init, t->P * sizeof(float));
    if (st == CT_OK) st = be->ops->sync(be);
    free(init);
    CT_TRY(st);
    CT_TRY(be->ops->fill(be, t->P, 0.0f, t->mom));
    return ct_master_create(c, &t->spec, &t->train, be, &t->master);
}

static void trainer_free(trainer *t) {
    ct_master_destroy(t->master); /* workers first: they may still read the master's buffers */
    if (t->be) {
        ct_backend *be = t->be;
        be->ops->free(be, t->params);
        be->ops->free(be, t->grad);
        be->ops->free(be, t->mom);
        be->ops->free(be, t->xb);
        ct_model_workspace_destroy(t->ws);
        ct_backend_destroy(be);
    }
    free(t->hlogits);
    free(t->hparams);
    free(t->hmom);
    ct_dataset_free(&t->train);
    ct_dataset_free(&t->test);
    if (t->log) fclose(t->log);
    ct_trace_free(t->trace);
}


/* Test accuracy of the current parameters. */
static ct_status evaluate(trainer *t, double *acc) {
    return ct_run_test_accuracy(t->be, t->ws, t->params, &t->test, CT_EVAL_BATCH, t->xb, t->hlogits,
                                t->spec.classes, acc);
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
    ct_message(CT_MSG_PROGRESS, "epoch %d/%d [%s] %3d%%  loss %.4f", epoch, epochs, bar,
               steps ? (int)(100L * step / steps) : 100, loss);
}


static ct_status write_step(trainer *t, long step, int epoch, double time_s, const ct_step_info *info) {
    ct_json j;
    ct_json_begin(&j);
    ct_json_key_str(&j, "type", "step");
    ct_json_key_int(&j, "step", step);
    ct_json_key_int(&j, "epoch", epoch);
    ct_json_key_num(&j, "time_s", time_s);
    ct_json_key_num(&j, "wait_s", info->wait_s);
    if (t->cfg->clock == CT_CLOCK_REAL) ct_json_key_num(&j, "unwind_s", info->unwind_s);
    ct_json_key_begin_array(&j, "arrived");
    for (int i = 0; i < info->n_arrived; i++) ct_json_array_int(&j, info->arrived[i]);
    ct_json_end_array(&j);
    ct_json_key_num(&j, "residual", info->residual);
    ct_json_key_num(&j, "recovered", info->recovered);
    ct_json_key_num(&j, "loss", info->loss);
    ct_json_key_int(&j, "assigned", info->assigned);
    ct_json_key_int(&j, "dropped", info->dropped);
    ct_json_key_num(&j, "bits_up", info->bits_up);
    ct_json_key_int(&j, "downlink", info->assigned); /* model copies sent: one per task */
    if (info->k) ct_json_key_int(&j, "k", info->k);
    if (info->has_regret) ct_json_key_num(&j, "regret", info->regret);
    if (info->faulty) ct_json_key_int(&j, "faulty", info->faulty);
    if (info->skipped) ct_json_key_bool(&j, "skipped", 1);
    return ct_run_write_record(t->log, t->cfg->log_path, &j);
}

/* The run's important flags, as JSON, for the checkpoint's metadata. */
static char *config_json(const ct_train_config *c) {
    ct_json j;
    ct_json_begin(&j);
    ct_json_key_str(&j, "model", c->model);
    ct_json_key_str(&j, "dataset", c->dataset == CT_DATA_CIFAR10 ? "cifar10" : c->dataset == CT_DATA_SYNTHETIC ? "synthetic" : "idx");
    if (c->data_dir) ct_json_key_str(&j, "data", c->data_dir);
    if (c->dataset == CT_DATA_SYNTHETIC) {
        ct_json_key_int(&j, "synth_n", c->synth_n);
        ct_json_key_int(&j, "synth_dim", c->synth_dim);
        ct_json_key_int(&j, "synth_classes", c->synth_classes);
    }
    ct_json_key_int(&j, "epochs", c->epochs);
    ct_json_key_int(&j, "batch", c->batch);
    ct_json_key_num(&j, "lr", c->lr);
    ct_json_key_str(&j, "lr_schedule", c->lr_schedule);
    ct_json_key_num(&j, "momentum", c->momentum);
    ct_json_key_num(&j, "weight_decay", c->weight_decay);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed); /* a string: a u64 need not fit a JSON number */
    ct_json_key_str(&j, "seed", seed);
    ct_json_key_int(&j, "workers", c->workers);
    ct_json_key_str(&j, "code", c->code);
    ct_json_key_int(&j, "stragglers", c->stragglers);
    ct_json_key_int(&j, "load", c->load);
    ct_json_key_int(&j, "messages", c->messages);
    ct_json_key_num(&j, "alpha", c->alpha);
    ct_json_key_str(&j, "straggle", c->straggle ? c->straggle : "none");
    ct_json_key_str(&j, "clock", c->clock == CT_CLOCK_VIRTUAL ? "virtual" : "real");
    ct_json_key_num(&j, "deadline_ms", c->deadline_ms);
    ct_json_key_str(&j, "policy", c->policy);
    ct_json_key_int(&j, "k", c->k);
    ct_json_key_num(&j, "unit_cost_ms", c->unit_cost_ms);
    ct_json_key_int(&j, "compress", c->compress);
    const char *s = ct_json_end(&j);
    char *out = s ? strdup(s) : NULL;
    ct_json_free(&j);
    return out;
}

static ct_status save_checkpoint(trainer *t, const loop_state *ls) {
    const ct_train_config *c = t->cfg;
    ct_backend *be = t->be;
    if (!t->hparams && !(t->hparams = malloc(t->P * sizeof(float))))
        return CT_FAIL(CT_ERR_NOMEM, "checkpoint: out of memory");
    if (!t->hmom && !(t->hmom = malloc(t->P * sizeof(float)))) return CT_FAIL(CT_ERR_NOMEM, "checkpoint: out of memory");
    CT_TRY(be->ops->memcpy_d2h(be, t->hparams, t->params, t->P * sizeof(float)));
    CT_TRY(be->ops->memcpy_d2h(be, t->hmom, t->mom, t->P * sizeof(float)));
    CT_TRY(be->ops->sync(be));
    ct_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.spec = t->spec;
    ck.P = t->P;
    ck.params = t->hparams;
    ck.momentum = t->hmom;
    ck.step = ls->steps;
    ck.epoch = ls->epoch;
    ck.step_in_epoch = ls->s;
    ck.seed = t->cfg->seed;
    ck.virtual_time = c->clock == CT_CLOCK_VIRTUAL ? ct_master_now(t->master) : 0.0;
    ck.norm_mean = t->norm.mean;
    ck.norm_std = t->norm.std;
    ck.config_json = config_json(c);
    ct_status st = ck.config_json ? CT_OK : CT_FAIL(CT_ERR_NOMEM, "checkpoint: out of memory");
    /* the loop's running sums, then the master's clock and workers */
    const double sums[8] = {ls->train_time, ls->wait_sum, ls->lost_sum, ls->bits,
                            (double)ls->dropped, ls->loss_sum, (double)ls->done, (double)ls->dodged};
    if (st == CT_OK) st = ct_checkpoint_extra_put(&ck.extra, "loop", sums, 8);
    if (st == CT_OK) st = ct_master_save_state(t->master, &ck);
    if (st == CT_OK) st = ct_checkpoint_save(c->checkpoint_path, &ck);
    ck.params = ck.momentum = NULL; /* the trainer's buffers, not ck's */
    ct_checkpoint_free(&ck);
    return st;
}

/* The flags the checkpoint was written under against this run's: refuses the
 * changes a resume cannot survive, naming every difference; warns of the rest. */
static ct_status check_resume_config(const ct_train_config *c, const char *saved) {
    char *now = config_json(c);
    if (!now) return CT_FAIL(CT_ERR_NOMEM, "--resume: out of memory");
    char breaking[1024], tolerated[1024];
    ct_config_diff(saved, now, breaking, sizeof breaking, tolerated, sizeof tolerated);
    free(now);
    if (breaking[0])
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--resume %s: the checkpoint was written under other flags that the resume cannot continue "
                       "under: %s%s%s; give the checkpoint's values", c->resume_path, breaking,
                       tolerated[0] ? "; also changed: " : "", tolerated);
    if (tolerated[0])
        ct_message(CT_MSG_WARNING, "--resume %s: changed since the checkpoint: %s; the run continues, "
                                   "but is no longer the same as an uninterrupted one", c->resume_path, tolerated);
    return CT_OK;
}

/* Puts the run where the checkpoint left it. Refuses a checkpoint of another
 * model, seed or training set: permutations and straggler draws derive from
 * the seed, so continuing under another would not be the same run. */
static ct_status resume_from(trainer *t, loop_state *ls) {
    const ct_train_config *c = t->cfg;
    ct_backend *be = t->be;
    ct_checkpoint ck;
    CT_TRY(ct_checkpoint_load(c->resume_path, &ck));
    ct_status st = ct_run_check_finite_checkpoint(c->resume_path, &ck);
    char have[512], want[512];
    ct_model_spec_format(&ck.spec, have, sizeof have);
    ct_model_spec_format(&t->spec, want, sizeof want);
    const int spe = ct_master_steps_per_epoch(t->master);
    if (st != CT_OK)
        ;
    else if (strcmp(have, want) != 0)
        st = CT_FAIL(CT_ERR_INVALID_ARG, "--resume %s: the checkpoint holds model %s, this run builds %s", c->resume_path,
                     have, want);
    else if (ck.seed != c->seed)
        st = CT_FAIL(CT_ERR_INVALID_ARG, "--resume %s: the checkpoint was written with --seed %llu, this run has --seed %llu",
                     c->resume_path, (unsigned long long)ck.seed, (unsigned long long)c->seed);
    else if (ck.norm_mean != t->norm.mean || ck.norm_std != t->norm.std)
        st = CT_FAIL(CT_ERR_INVALID_ARG,
                     "--resume %s: the checkpoint was trained on other data (normalisation %g/%g, this data %g/%g)",
                     c->resume_path, ck.norm_mean, ck.norm_std, t->norm.mean, t->norm.std);
    else if (ck.epoch > c->epochs)
        st = CT_FAIL(CT_ERR_INVALID_ARG,
                     "--resume %s: the checkpoint has already finished %d epoch%s and this run asks for --epochs %d: "
                     "nothing to train (raise --epochs, or measure it with codedtrain eval --checkpoint %s)",
                     c->resume_path, ck.epoch - 1, ck.epoch - 1 == 1 ? "" : "s", c->epochs, c->resume_path);
    else if (ck.config_json)
        st = check_resume_config(c, ck.config_json);
    if (st != CT_OK)
        ;
    else if (ck.epoch < 1 || ck.step_in_epoch > spe)
        st = CT_FAIL(CT_ERR_INVALID_ARG, "--resume %s: position epoch %d step %d does not fit this run (%d steps per epoch)",
                     c->resume_path, ck.epoch, ck.step_in_epoch, spe);
    double sums[8];
    if (st == CT_OK) st = ct_checkpoint_extra_get(ck.extra, "loop", sums, 8);
    if (st == CT_OK) st = ct_master_restore_state(t->master, &ck);
    if (st == CT_OK) st = be->ops->memcpy_h2d(be, t->params, ck.params, t->P * sizeof(float));
    if (st == CT_OK)
        st = ck.momentum ? be->ops->memcpy_h2d(be, t->mom, ck.momentum, t->P * sizeof(float))
                         : be->ops->fill(be, t->P, 0.0f, t->mom);
    if (st == CT_OK) st = be->ops->sync(be); /* before ck's host buffers are freed */
    if (st == CT_OK) {
        *ls = (loop_state){.steps = ck.step, .epoch = ck.epoch, .s = ck.step_in_epoch, .train_time = sums[0],
                           .wait_sum = sums[1], .lost_sum = sums[2], .bits = sums[3], .dropped = (long)sums[4],
                           .loss_sum = sums[5], .done = (int)sums[6], .dodged = (long)sums[7]};
        if (c->progress != CT_PROGRESS_OFF)
            ct_message(CT_MSG_INFO, "resumed from %s: epoch %d, step %d of %d (%ld steps done)", c->resume_path,
                       ck.epoch, ck.step_in_epoch, spe, ck.step);
    }
    ct_checkpoint_free(&ck);
    return st;
}

static ct_status run_loop(trainer *t, ct_train_result *res) {
    const ct_train_config *c = t->cfg;
    ct_backend *be = t->be;
    const int steps_per_epoch = ct_master_steps_per_epoch(t->master);
    const int b = ct_master_batch(t->master);
    const int bar = progress_is_bar(c);
    const int virt = c->clock == CT_CLOCK_VIRTUAL;
    loop_state start = {.epoch = 1};
    if (c->resume_path) CT_TRY(resume_from(t, &start));
    /* only now, with the resume checked, is the log touched: a resumed run
     * appends to it, so the part written before the interruption is kept */
    CT_TRY(ct_run_config_open_log(c, res->device, t->checksum, c->resume_path != NULL, &t->log));
    loop_state last = start; /* what a checkpoint saves */
    double train_time = start.train_time, wait_sum = start.wait_sum, lost_sum = start.lost_sum, bits = start.bits;
    long steps = start.steps, dropped = start.dropped; /* train_time etc. on the run's clock */
    int target_hit = 0;
    long applied = 0; /* updates applied by this invocation */
    res->time_to_target_s = -1;

    for (int epoch = start.epoch; epoch <= c->epochs; epoch++) {
        const int mid = epoch == start.epoch && start.s > 0; /* resuming inside this epoch */
        double loss_sum = mid ? start.loss_sum : 0;
        int done = mid ? start.done : 0;
        long dodged = mid ? start.dodged : 0;
        for (int s = epoch == start.epoch ? start.s : 0; s < steps_per_epoch; s++) {
            if (c->max_steps > 0 && steps >= c->max_steps) break;
            ct_step_info info;
            const double w0 = ct_now_s();
            CT_TRY(ct_master_step(t->master, steps, epoch, s, t->params, t->grad, &info));
            if (!info.skipped) {
                double lr = ct_lr_at(&t->sched, (epoch - 1) + (double)s / steps_per_epoch);
                CT_TRY(be->ops->sgd_update(be, t->P, (float)lr, (float)c->momentum, (float)c->weight_decay, t->params,
                                           t->grad, t->mom));
                CT_TRY(be->ops->sync(be));
                if (t->trace) CT_TRY(ct_trace_step(t->trace, steps, epoch, &info, virt ? info.t_decoded : ct_master_now(t->master)));
                if (!isfinite(info.loss))
                    return CT_FAIL(CT_ERR_NUMERIC, "training diverged at epoch %d step %d (loss %g); try a smaller --lr",
                                   epoch, s, info.loss);
                loss_sum += info.loss;
                done++;
                applied++;
            } else if (t->trace) {
                CT_TRY(ct_trace_step(t->trace, steps, epoch, &info, info.t_decoded));
            }
            train_time += virt ? info.step_s : ct_now_s() - w0;
            wait_sum += info.wait_s;
            t->unwind_sum += info.unwind_s;
            t->unwind_steps++;
            lost_sum += 1.0 - (info.skipped ? 0.0 : info.recovered);
            dropped += info.dropped;
            bits += info.bits_up;
            dodged += info.dropped;
            if (t->log) CT_TRY(write_step(t, steps, epoch, train_time, &info));
            steps++;
            last = (loop_state){steps, epoch, s + 1, train_time, wait_sum, lost_sum, bits, dropped, loss_sum, done, dodged};
            if (c->checkpoint_path && c->checkpoint_every > 0 && steps % c->checkpoint_every == 0)
                CT_TRY(save_checkpoint(t, &last));
            if (c->eval_every > 0 && steps % c->eval_every == 0 && s + 1 < steps_per_epoch) {
                double acc = 0;
                CT_TRY(evaluate(t, &acc));
                if (t->log) {
                    ct_json j;
                    ct_run_record_eval(&j, steps, epoch, train_time, acc);
                    ct_json_key_num(&j, "bits_up", bits);
                    CT_TRY(ct_run_write_record(t->log, t->cfg->log_path, &j));
                }
                if (c->target_acc > 0 && acc >= c->target_acc && res->time_to_target_s < 0) {
                    res->time_to_target_s = train_time;
                    res->final_test_acc = acc;
                    target_hit = 1;
                    break;
                }
            }
            if (bar && (s % 20 == 0 || s + 1 == steps_per_epoch)) draw_bar(epoch, c->epochs, s + 1, steps_per_epoch, done ? loss_sum / done : 0);
        }
        double acc = -1;
        if (target_hit) acc = res->final_test_acc; /* measured at the step that reached it */
        else if (c->eval) CT_TRY(evaluate(t, &acc));
        const double train_loss = done ? loss_sum / done : NAN; /* no step applied: no loss (null in the log) */
        res->final_test_acc = acc;
        res->final_train_loss = train_loss;
        res->epochs_run = epoch;
        if (c->progress != CT_PROGRESS_OFF) { /* the message callback clears a progress bar first */
            char dodged_text[48] = "", loss_text[40] = "loss n/a (no step applied)";
            if (c->workers > 1) snprintf(dodged_text, sizeof dodged_text, "  stragglers dodged %ld", dodged);
            if (done) snprintf(loss_text, sizeof loss_text, "loss %.4f", train_loss);
            ct_message(CT_MSG_INFO, "epoch %d/%d  %s  test_acc %.4f  time %.2fs%s%s", epoch, c->epochs, loss_text, acc,
                       train_time, virt ? " (virtual)" : "", dodged_text);
        }
        if (t->log) {
            ct_json j;
            ct_run_record_epoch(&j, epoch, train_time, train_loss, acc);
            ct_json_key_num(&j, "bits_up", bits);
            ct_json_key_int(&j, "steps", steps);
            CT_TRY(ct_run_write_record(t->log, t->cfg->log_path, &j));
        }
        if (last.epoch == epoch && last.s >= steps_per_epoch) /* the epoch is complete: next, the next one */
            last = (loop_state){steps, epoch + 1, 0, train_time, wait_sum, lost_sum, bits, dropped, 0, 0, 0};
        if (target_hit) break;
        if (c->target_acc > 0 && acc >= c->target_acc && res->time_to_target_s < 0) {
            res->time_to_target_s = train_time;
            break;
        }
        if (c->max_steps > 0 && steps >= c->max_steps) break;
    }
    res->time_s = train_time;
    res->train_time_s = train_time;
    res->steps = steps;
    res->samples_per_s = train_time > 0 ? (double)steps * b / train_time : 0;
    res->mean_wait_s = steps ? wait_sum / steps : 0;
    res->mean_step_s = steps ? train_time / steps : 0;
    res->mean_unwind_s = t->unwind_steps ? t->unwind_sum / t->unwind_steps : 0;
    res->dropped = dropped;
    res->data_dropped = steps ? lost_sum / steps : 0;
    res->bits_uploaded = bits;
    if (c->checkpoint_path) CT_TRY(save_checkpoint(t, &last));
    if (steps > start.steps && applied == 0)
        return CT_FAIL(CT_ERR_TIMEOUT,
                       "no update was applied: all %ld steps were skipped (no usable result arrived: every assigned "
                       "worker was dead, too late or faulty); the model is unchanged",
                       steps - start.steps);
    return CT_OK;
}

/* Monte Carlo draws for the expected bound when no closed form exists */
#define CT_BOUND_TRIALS 20000

/* The ideal master's step time beside the measured one: expected, and on the
 * run's own draws (steps 0 .. steps-1), and the ratios (efficiency). */
static ct_status step_bound(const trainer *t, ct_train_result *res) {
    res->bound_step_s = res->ideal_step_s = res->efficiency = res->efficiency_same_draws = NAN;
    snprintf(res->bound_method, sizeof res->bound_method, "none: the policy has no bound here");
    ct_step_bound_config bc;
    if (!ct_master_step_bound_config(t->master, &bc) || res->steps < 1) return CT_OK;
    ct_step_bound b;
    CT_TRY(ct_step_bound_expected(&bc, CT_BOUND_TRIALS, &b));
    res->bound_step_s = 1e-3 * b.mean_ms;
    snprintf(res->bound_method, sizeof res->bound_method, "%s", b.method);
    CT_TRY(ct_step_bound_average(&bc, 0, res->steps, &b));
    res->ideal_step_s = 1e-3 * b.mean_ms;
    if (res->mean_step_s > 0) {
        res->efficiency = res->bound_step_s / res->mean_step_s;
        res->efficiency_same_draws = res->ideal_step_s / res->mean_step_s;
    }
    return CT_OK;
}

static void json_num_or_null(ct_json *j, const char *key, double v) {
    if (isfinite(v)) ct_json_key_num(j, key, v);
    else ct_json_key_null(j, key);
}

ct_status ct_train_run(const ct_train_config *cfg, ct_train_result *res) {
    if (!cfg || !res) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_train_run: NULL argument");
    if (cfg->uep && (cfg->trace_path || cfg->timeline_path))
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s: traces and timelines show coded-gradient workers; not available with --uep",
                       cfg->trace_path ? "--trace" : "--plot-timeline");
    if (cfg->uep) return ct_uep_train_run(cfg, res);
    memset(res, 0, sizeof *res);
    CT_TRY(ct_run_check_config(cfg));
    CT_TRY(ct_run_check_paths(cfg));
    if (cfg->checkpoint_path) ct_outpath_clean_stale_tmp(cfg->checkpoint_path); /* left by a killed run */
    ct_train_config resolved = *cfg;
    if (resolved.threads <= 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        resolved.threads = ncpu > 0 ? (int)ncpu : 1;
    }
    if (!resolved.code) resolved.code = "uncoded";
    if (!resolved.policy) resolved.policy = "all";
    cfg = &resolved;
    trainer t;
    memset(&t, 0, sizeof t);
    t.cfg = cfg;
    int rank = 0;
    ct_status st = ct_transport_init(cfg, &rank); /* mpi: rank 0 is the master, ranks 1..n its workers */
    if (st == CT_OK) st = ct_run_load_data(cfg, &t.train, &t.test, &t.norm);
    if (st == CT_OK) st = ct_run_config_data(cfg, &t.train, &t.test, t.checksum);
    /* validate everything the user typed before touching the device or the log */
    if (st == CT_OK) st = ct_model_spec_parse_for(cfg->model, &t.train, &t.spec);
    ct_augment aug;
    if (st == CT_OK) st = ct_augment_parse(cfg->augment, &aug);
    if (st == CT_OK) st = ct_lr_schedule_parse(cfg->lr_schedule, cfg->lr, cfg->epochs, &t.sched);
    if (st == CT_OK) st = ct_run_check_memory(cfg, &t.spec);
    if (st == CT_OK && rank > 0) { /* an MPI worker rank: serve tasks until rank 0 says stop; no output, no log */
        st = ct_mpi_worker_main(cfg, &t.train, &t.spec);
        trainer_free(&t);
        ct_transport_finalize(cfg);
        return st;
    }
    if (st == CT_OK) st = setup_device(&t);
    if (st == CT_OK && cfg->unit_cost_auto) {
        int samples = 0;
        st = ct_master_calibrate(t.master, t.params, &resolved.unit_cost_ms, &samples);
        if (st == CT_OK && cfg->progress != CT_PROGRESS_OFF)
            ct_message(CT_MSG_INFO, "--unit-cost-ms auto: %.6f ms per sample (worker 0's task of %d samples, median of 15)",
                       resolved.unit_cost_ms, samples);
    }
    if (st == CT_OK) {
        snprintf(res->device, sizeof res->device, "%s", t.be->ops->describe(t.be));
        if (cfg->progress != CT_PROGRESS_OFF) {
            char ms[256];
            ct_model_spec_format(&t.spec, ms, sizeof ms);
            ct_message(CT_MSG_INFO, "device: %s%s\nmodel: %s (%zu parameters), %d train / %d test samples, batch %d\n"
                   "code: %s%s%s",
                   res->device,
                   cfg->device == CT_DEVICE_AUTO ? (t.be->kind == CT_DEVICE_CUDA ? " (auto: CUDA device found)"
                                                                                  : " (auto: no usable CUDA device)")
                                                 : "",
                   ms, t.P, t.train.n, t.test.n, ct_master_batch(t.master), ct_master_describe(t.master),
                   cfg->straggle ? ", stragglers: " : "", cfg->straggle ? cfg->straggle : "");
        }
    }
    if (st == CT_OK && (cfg->trace_path || cfg->timeline_path)) {
        const ct_code_spec *cs = ct_code_get_spec(ct_master_code(t.master));
        ct_trace_config tc = {.json_path = cfg->trace_path, .timeline_path = cfg->timeline_path,
                              .timeline_steps = cfg->timeline_steps, .n_workers = cs->n_workers,
                              .virtual_clock = cfg->clock == CT_CLOCK_VIRTUAL,
                              .code = ct_code_scheme_name(cs->scheme), .title = ct_master_describe(t.master)};
        st = ct_trace_open(&tc, &t.trace);
    }
    if (st == CT_OK) st = run_loop(&t, res);
    if (st == CT_OK) st = step_bound(&t, res);
    if (st == CT_OK && cfg->progress != CT_PROGRESS_OFF && isfinite(res->bound_step_s))
        ct_message(CT_MSG_INFO,
                   "mean step %.3f ms; ideal master %.3f ms expected (%s), %.3f ms on this run's draws: efficiency %.3f "
                   "(%.3f on its own draws)",
                   1e3 * res->mean_step_s, 1e3 * res->bound_step_s, res->bound_method, 1e3 * res->ideal_step_s,
                   res->efficiency, res->efficiency_same_draws);
    if (st == CT_OK && t.trace) {
        st = ct_trace_close(t.trace);
        t.trace = NULL;
    }
    if (st == CT_OK && t.log) {
        ct_json j;
        ct_run_record_final(&j, res);
        const ct_code_spec *cs = ct_code_get_spec(ct_master_code(t.master));
        ct_json_key_str(&j, "code", ct_code_scheme_name(cs->scheme));
        ct_json_key_int(&j, "n", cs->n_workers);
        ct_json_key_int(&j, "s", cs->stragglers);
        ct_json_key_str(&j, "clock", cfg->clock == CT_CLOCK_VIRTUAL ? "virtual" : "real");
        ct_json_key_str(&j, "straggle", cfg->straggle ? cfg->straggle : "none");
        ct_json_key_num(&j, "mean_wait_s", res->mean_wait_s);
        ct_json_key_num(&j, "mean_step_s", res->mean_step_s);
        if (cfg->clock == CT_CLOCK_REAL) ct_json_key_num(&j, "mean_unwind_s", res->mean_unwind_s);
        json_num_or_null(&j, "bound_step_s", res->bound_step_s);
        ct_json_key_str(&j, "bound_method", res->bound_method);
        json_num_or_null(&j, "ideal_step_s", res->ideal_step_s);
        json_num_or_null(&j, "efficiency", res->efficiency);
        json_num_or_null(&j, "efficiency_same_draws", res->efficiency_same_draws);
        ct_json_key_num(&j, "unit_cost_ms", cfg->unit_cost_ms);
        if (cfg->unit_cost_auto) ct_json_key_bool(&j, "unit_cost_auto", 1);
        ct_json_key_str(&j, "gradient_path", ct_master_gradient_path(t.master));
        ct_json_key_int(&j, "dropped", res->dropped);
        ct_json_key_num(&j, "data_dropped", res->data_dropped);
        ct_json_key_num(&j, "bits_up", res->bits_uploaded);
        static const char *const compress_names[] = {"none", "sign", "sign-ef", "sign-plain"};
        ct_json_key_str(&j, "compress", compress_names[cfg->compress >= 0 && cfg->compress <= 3 ? cfg->compress : 0]);
        if (cfg->target_acc > 0) {
            if (res->time_to_target_s >= 0) ct_json_key_num(&j, "time_to_target_s", res->time_to_target_s);
            else ct_json_key_null(&j, "time_to_target_s");
        }
        st = ct_run_write_record(t.log, cfg->log_path, &j);
    }
    trainer_free(&t);
    ct_transport_finalize(cfg); /* after the master's proxies are gone: stops the worker ranks */
    return st;
}
