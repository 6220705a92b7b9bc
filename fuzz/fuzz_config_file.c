/* libFuzzer harness for the configuration reader behind `train --config`
 * (ct_config_file_parse) and its application as train flags
 * (ct_cli_config_apply through a memfd). Nothing is run or written. */
#include "codedtrain/train.h"
#include "fuzz_util.h"
#include "host/cli.h"
#include "host/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* the parser on an exact-length buffer (ASan sees any read past its end) */
    char *text = malloc(size ? size : 1);
    if (!text) abort();
    memcpy(text, data, size);
    ct_config_file f;
    if (ct_config_file_parse(text, size, "fuzz", &f) == CT_OK) {
        for (int i = 0; i < f.n; i++) {
            if (!f.entries[i].key) abort();
            if ((f.entries[i].kind == CT_CONFIG_STRING || f.entries[i].kind == CT_CONFIG_NUMBER) && !f.entries[i].value) abort();
            if (ct_config_file_get(&f, f.entries[i].key) != &f.entries[i]) abort(); /* keys are unique */
        }
        ct_config_file_free(&f);
    }
    free(text);
    /* the whole path: file -> entries -> train flags */
    static fz_file file;
    static int opened;
    if (!opened) fz_file_open(&file, "config"), opened = 1;
    fz_file_set(&file, data, size);
    ct_train_config c = CT_TRAIN_CONFIG_INIT;
    ct_config_file store = {0};
    (void)ct_cli_config_apply(file.path, &c, &store);
    ct_config_file_free(&store);
    return 0;
}
