/* CLI entry points: one function per subcommand; each returns the process exit
 * code (0 ok, 1 runtime failure, 2 bad input or usage) and never calls exit(). */
#ifndef CODEDTRAIN_CLI_H
#define CODEDTRAIN_CLI_H

int ct_cli_main(int argc, char **argv);
int ct_cli_train(int argc, char **argv);
int ct_cli_codes(int argc, char **argv);

#endif
