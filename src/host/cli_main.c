/* `codedtrain` front: subcommand dispatch, --help, --version. */
#include <stdio.h>
#include <string.h>

#include "host/cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "codedtrain %s: straggler-tolerant (gradient-coded) training of small neural networks\n"
            "\n"
            "usage: codedtrain <command> [options]\n"
            "\n"
            "commands:\n"
            "  demo     the headline comparison: uncoded against codes under stragglers (make run)\n"
            "  train    train a model (single worker or coded across workers)\n"
            "  codes    inspect a gradient code: assignment, encoding, decode quality, bounds\n"
            "  compare  train under several codes with the same seed and stragglers, side by side\n"
            "  eval     test accuracy of a saved checkpoint\n"
            "  uep      UEP-coded approximate matrix multiplication experiment\n"
            "\n"
            "  codedtrain <command> --help   shows each command's options and examples\n"
            "  codedtrain --version\n"
            "\n"
            "examples:\n"
            "  codedtrain train --epochs 10 --log run.jsonl\n"
            "  codedtrain codes --code cyclic --workers 8 --stragglers 2\n",
            CT_VERSION_STRING);
}

int ct_cli_main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    ct_cli_install_messages();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("codedtrain %s\n", CT_VERSION_STRING);
        return 0;
    }
    if (!strcmp(cmd, "train")) return ct_cli_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "codes")) return ct_cli_codes(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return ct_cli_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "uep")) return ct_cli_uep(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return ct_cli_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo")) return ct_cli_demo(argc - 1, argv + 1);
    fprintf(stderr, "codedtrain: unknown command '%s' (try codedtrain --help)\n", cmd);
    return 2;
}
