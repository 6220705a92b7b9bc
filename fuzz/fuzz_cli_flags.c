/* libFuzzer harness for `train` flag parsing (ct_cli_train_flag, shared by
 * train and compare). The input, split on NUL and newline, is the argument
 * vector; flags are parsed into a local config exactly as the CLI does, then
 * the string-valued settings go through their own parsers (model, schedule,
 * code scheme, straggle spec). Nothing is ever run, loaded or written. */
#include <stdlib.h>

#include "codedtrain/codes.h"
#include "codedtrain/nn.h"
#include "codedtrain/train.h"
#include "fuzz_util.h"
#include "host/cli.h"
#include "host/straggler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = fz_strndup(data, size);
    int cap = 2;
    for (size_t i = 0; i < size; i++) cap += buf[i] == '\0' || buf[i] == '\n';
    /* argv[argc] = NULL like a real one; each argument is its own allocation so
     * that ASan sees a read past the end of any of them */
    char **argv = calloc((size_t)cap + 1, sizeof *argv);
    if (!argv) abort();
    int argc = 0;
    argv[argc++] = fz_strndup((const uint8_t *)"train", 5);
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || buf[i] == '\0' || buf[i] == '\n') {
            argv[argc++] = fz_strndup((const uint8_t *)buf + start, i - start);
            start = i + 1;
        }
    }

    ct_train_config c = CT_TRAIN_CONFIG_INIT;
    ct_status st = CT_OK;
    for (int i = 1; i < argc && st == CT_OK; i++) {
        int matched = 0, before = i;
        st = ct_cli_train_flag(argc, argv, &i, &c, &matched);
        if (st == CT_OK && (i < before || i >= argc + (matched ? 0 : 1))) abort(); /* index stays in bounds */
        /* unknown arguments are the caller's business: skip them */
    }
    if (st == CT_OK) {
        ct_model_spec spec;
        (void)ct_model_spec_parse(c.model, 1, 28, 28, 10, &spec);
        ct_lr_schedule sched;
        (void)ct_lr_schedule_parse(c.lr_schedule, c.lr, c.epochs, &sched);
        ct_code_scheme scheme;
        (void)ct_code_scheme_parse(c.code, &scheme);
        /* trace files are fuzzed by fuzz_straggle_spec; here they could name any file */
        if (c.straggle && !strstr(c.straggle, "trace:")) {
            ct_straggler *m = NULL;
            if (ct_straggler_create(c.straggle, c.workers, c.seed, &m) == CT_OK) ct_straggler_destroy(m);
        }
    }
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
    free(buf);
    return 0;
}
