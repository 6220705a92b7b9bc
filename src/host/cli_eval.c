/* Placeholder: `codedtrain eval` is being written (replaced by its real implementation). */
#include <stdio.h>

#include "host/cli.h"

int ct_cli_eval(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "codedtrain eval: not built yet\n");
    return 1;
}
