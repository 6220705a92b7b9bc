/* Trains a small MLP on synthetic data with a cyclic gradient code: 4 workers, any 1 of
 * them may straggle (shifted-exponential delays on the deterministic virtual clock).
 * Each round trains one more epoch, resuming from the checkpoint the previous round
 * saved, and prints that epoch's mean training loss. Uses the public API only.
 *
 *   usage: train_cyclic [CHECKPOINT_PATH] [EPOCHS]
 *   build: cc train_cyclic.c $(pkg-config --cflags --libs codedtrain)
 *          or find_package(codedtrain) + target_link_libraries(... codedtrain::codedtrain) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <codedtrain/status.h>
#include <codedtrain/train.h>

int main(int argc, char **argv) {
    const char *ckpt = argc > 1 ? argv[1] : "train_cyclic.safetensors";
    const int epochs = argc > 2 ? atoi(argv[2]) : 3;

    ct_train_config cfg = CT_TRAIN_CONFIG_INIT;
    cfg.dataset = CT_DATA_SYNTHETIC; /* seeded Gaussian clusters */
    cfg.synth_n = 2000;
    cfg.synth_dim = 20;
    cfg.synth_classes = 5;
    cfg.model = "mlp:32";            /* one hidden layer; input and classes from the data */
    cfg.batch = 100;
    cfg.lr = 0.05;
    cfg.workers = 4;
    cfg.code = "cyclic";
    cfg.stragglers = 1;              /* decodable from any 3 of the 4 workers */
    cfg.straggle = "shifted-exp:25,1";
    cfg.clock = CT_CLOCK_VIRTUAL;
    cfg.progress = CT_PROGRESS_OFF;
    cfg.checkpoint_path = ckpt;

    for (int e = 1; e <= epochs; e++) {
        cfg.epochs = e;                          /* train up to epoch e ...  */
        cfg.resume_path = e > 1 ? ckpt : NULL;   /* ... from where the last round stopped */
        ct_train_result res;
        ct_status st = ct_train_run(&cfg, &res);
        if (st != CT_OK) {
            fprintf(stderr, "train_cyclic: %s: %s\n", ct_status_str(st), ct_last_error());
            return 1;
        }
        printf("epoch %d loss %.6f test_acc %.4f steps %ld virtual_time_s %.3f\n", res.epochs_run,
               res.final_train_loss, res.final_test_acc, res.steps, res.time_s);
        if (!isfinite(res.final_train_loss)) return 1;
    }
    return 0;
}
