/* CLI entry points: one function per subcommand; each returns the process exit
 * code (0 ok, 1 runtime failure, 2 bad input or usage) and never calls exit(). */
#ifndef CODEDTRAIN_CLI_H
#define CODEDTRAIN_CLI_H

#include "codedtrain/status.h"
#include "host/config_file.h"

int ct_cli_main(int argc, char **argv);
/* Prints the library's messages (progress, report lines, warnings); ct_cli_main calls it. */
void ct_cli_install_messages(void);
int ct_cli_train(int argc, char **argv);
int ct_cli_codes(int argc, char **argv);
int ct_cli_compare(int argc, char **argv);
int ct_cli_uep(int argc, char **argv);
int ct_cli_eval(int argc, char **argv);
int ct_cli_demo(int argc, char **argv);

/* Parse one `train` flag at argv[*i] into c (advancing *i past its value);
 * *matched = 0 when argv[*i] is not a train flag. Shared by train and compare. */
struct ct_train_config;
ct_status ct_cli_train_flag(int argc, char **argv, int *i, struct ct_train_config *c, int *matched);

/* `--config FILE`: apply a configuration record or JSON object to c, key by key
 * as train flags; its strings live in *store (free it after the run). */
ct_status ct_cli_config_apply(const char *path, struct ct_train_config *c, ct_config_file *store);
/* The value of the last `--config FILE` in argv (NULL: none). */
const char *ct_cli_config_path(int argc, char **argv);

#endif
