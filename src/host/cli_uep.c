/* Placeholder: `codedtrain uep` is being written (replaced by its real implementation). */
#include <stdio.h>

#include "host/cli.h"

int ct_cli_uep(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "codedtrain uep: not built yet\n");
    return 1;
}
