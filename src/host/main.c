/* codedtrain CLI entry point: dispatches subcommands. */
#include <stdio.h>
#include <string.h>

#include "host/cli.h"

int main(int argc, char **argv) { return ct_cli_main(argc, argv); }
