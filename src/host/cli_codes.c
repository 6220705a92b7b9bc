/* Placeholder: `codedtrain codes` is being written (replaced by its real implementation). */
#include <stdio.h>

#include "host/cli.h"

int ct_cli_codes(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "codedtrain codes: not built yet\n");
    return 1;
}
