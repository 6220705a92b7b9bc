/* `--config FILE` for train and compare: a run's configuration record (the
 * first line of its log) or a JSON object with the same keys becomes the
 * starting point; flags on the command line override it. Each key is applied
 * as the flag of the same name, so a value gets exactly the checks and the
 * message that flag gives. */
#include <stdio.h>
#include <string.h>

#include "codedtrain/train.h"
#include "host/cli.h"
#include "host/run_config.h"

ct_status ct_cli_config_apply(const char *path, struct ct_train_config *c, ct_config_file *store) {
    CT_TRY(ct_config_file_load(path, store));
    for (int e = 0; e < store->n; e++) {
        const ct_config_entry *en = &store->entries[e];
        if (ct_run_config_is_info_key(en->key)) continue;
        if (en->kind == CT_CONFIG_NULL || en->kind == CT_CONFIG_FALSE) continue; /* the default */
        char flag[160];
        if (snprintf(flag, sizeof flag, "--%s", en->key) >= (int)sizeof flag || !strcmp(en->key, "config"))
            return CT_FAIL(CT_ERR_INVALID_ARG, "--config %s: unknown key '%.100s'", path, en->key);
        char *argv[3] = {flag, en->value, NULL};
        const int argc = en->kind == CT_CONFIG_TRUE ? 1 : 2;
        int i = 0, matched = 0;
        ct_status st = ct_cli_train_flag(argc, argv, &i, c, &matched);
        if (st != CT_OK) {
            /* the flag's own message, without its source position (this one gets its own) */
            const char *inner = ct_last_error(), *pos = strstr(inner, ".c:");
            const size_t token = strcspn(inner, " ");
            if (pos && pos < inner + token && token > 0 && inner[token - 1] == ':' && inner[token] == ' ')
                inner += token + 1;
            char why[512];
            snprintf(why, sizeof why, "%s", inner);
            return CT_FAIL(st, "--config %s: key '%s': %s", path, en->key, why);
        }
        if (!matched) return CT_FAIL(CT_ERR_INVALID_ARG, "--config %s: unknown key '%.100s' (keys are train's flags without the dashes)", path, en->key);
        if (i != argc - 1)
            return CT_FAIL(CT_ERR_INVALID_ARG, "--config %s: key '%s' takes %s", path, en->key,
                           argc == 1 ? "a value, not true" : "no value: write true or false");
    }
    /* after the keys: applying "data" or "dataset" clears the expectation, as the flags do */
    const ct_config_entry *sum = ct_config_file_get(store, "dataset_checksum");
    if (sum && sum->kind == CT_CONFIG_STRING && sum->value[0]) c->expect_data_checksum = sum->value;
    return CT_OK;
}

const char *ct_cli_config_path(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config")) path = argv[++i];
    return path;
}
