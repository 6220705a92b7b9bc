/* `codedtrain demo` (what `make run` runs): the headline comparison, uncoded
 * against codes that suit the setting, with the same seed and stragglers, to a
 * target accuracy. It chooses the clock from the device and says why, then
 * hands over to `compare`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/cli.h"
#include "kernels/backend.h"

#define DEMO_WORKERS "8"
#define DEMO_DELAY "shifted-exp:0,8"

static void demo_usage(FILE *f) {
    fprintf(f,
            "usage: codedtrain demo [compare options]\n"
            "\n"
            "The headline comparison: MLP 784-256-10 on Fashion-MNIST with 8 workers whose every step\n"
            "is delayed by an exponential draw of mean 8 ms (ten times a partition's compute),\n"
            "trained once uncoded and once under each of ignore, frep and cyclic (s = 1), with the\n"
            "same seed and delays, to 85%% test accuracy. On a GPU the workers are CUDA streams\n"
            "throttled in real time (--clock real); on the CPU the run uses the virtual clock.\n"
            "Prints the table and writes DIR/compare.png (accuracy against time), a timeline PNG per\n"
            "code and one log per code. Any `compare` or `train` option given here overrides the\n"
            "setting (e.g. --codes, --straggle, --clock, --out DIR; default out dir demo-out).\n"
            "\n"
            "examples:\n"
            "  codedtrain demo\n"
            "  codedtrain demo --out build/demo --codes uncoded,frep\n");
}

static const char *flag_value(int argc, char **argv, const char *flag) {
    const char *v = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], flag)) v = argv[i + 1];
    return v;
}

int ct_cli_demo(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            demo_usage(stdout);
            return 0;
        }
    const char *dev = flag_value(argc, argv, "--device");
    const int gpus = ct_backend_device_count(CT_DEVICE_CUDA);
    const int cuda = dev ? !strcmp(dev, "cuda") : gpus > 0;
    const char *clock = flag_value(argc, argv, "--clock");
    const int virt = clock ? !strcmp(clock, "virtual") : !cuda;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    printf("codedtrain demo: coded against uncoded training under stragglers\n\n");
    if (cuda)
        printf("device: CUDA (%d GPU%s); %s clock: %s\n", gpus, gpus == 1 ? "" : "s", virt ? "virtual" : "real",
               virt ? "as asked (--clock virtual)"
                    : "each worker is a CUDA stream, its delay a spin kernel on that stream, the master polls in wall time");
    else
        printf("device: CPU (%s), %ld cores; %s clock: %s\n", gpus > 0 ? "as asked" : "no usable CUDA device", cores,
               virt ? "virtual" : "real",
               virt ? "8 worker threads on this machine cannot stand for 8 separate devices\n"
                      "  (they would share the cores and slow each other), so each worker's finish time is modelled\n"
                      "  from its work (0.05 ms per sample) and its drawn delay; every gradient is really computed"
                    : "as asked (--clock real): worker threads share the cores, so times mix compute contention\n"
                      "  with the injected delays");
    printf("setting: MLP 784-256-10, Fashion-MNIST, " DEMO_WORKERS " workers, batch 128 (16 samples per partition, 0.8 ms\n"
           "  of compute per partition), every worker's step delayed by an exponential draw of mean 8 ms\n"
           "  (" DEMO_DELAY "), the same seed and draws for every code; target 85%% test accuracy,\n"
           "  measured every 20 steps\n");
    printf("codes (delays ten times the compute: redundancy that lets the master skip the slowest pays):\n"
           "  uncoded  the baseline: one partition per worker, the master waits for all 8\n"
           "  ignore   no redundancy: the master takes the fastest 7 and drops the slowest one's data\n"
           "  frep     fractional repetition, s = 1: pairs of workers hold the same 2 partitions and the\n"
           "           first of each pair is enough; twice the compute, but it waits for the faster of\n"
           "           two draws per pair instead of the slowest of 8\n"
           "  cyclic   cyclic repetition, s = 1: every worker holds 2 partitions and any 7 of 8 decode\n"
           "           exactly; twice the compute to skip only the slowest worker\n\n");
    if (argc > 1) {
        printf("your options override the setting above:");
        for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
        printf("\n\n");
    }
    fflush(stdout);

    /* the setting first, the user's flags after it: later flags win */
    char *args[256];
    int n = 0;
    const char *setting[] = {"compare", "--codes", "uncoded,ignore,frep,cyclic", "--workers", DEMO_WORKERS,
                             "--stragglers", "1", "--straggle", DEMO_DELAY, "--batch", "128", "--target-acc", "0.85",
                             "--eval-every", "20", "--epochs", "5", "--out", "demo-out", "--clock",
                             virt ? "virtual" : "real", "--progress", "off"};
    for (size_t i = 0; i < sizeof setting / sizeof setting[0]; i++) args[n++] = (char *)setting[i];
    for (int i = 1; i < argc && n < 255; i++) args[n++] = argv[i];
    if (argc - 1 > 255 - (int)(sizeof setting / sizeof setting[0])) {
        fprintf(stderr, "codedtrain demo: too many options\n");
        return 2;
    }
    args[n] = NULL;
    return ct_cli_compare(n, args);
}
