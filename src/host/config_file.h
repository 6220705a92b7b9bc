/* Reading a run's configuration back: `train --config FILE`, where FILE is a
 * log (its first record, "type": "config", see run_config.h) or a JSON file
 * holding one object with the same keys. Each key is the `train` flag of the
 * same name without the dashes; values are strings, numbers, true (a flag
 * without value), false or null (left at its default). */
#ifndef CODEDTRAIN_CONFIG_FILE_H
#define CODEDTRAIN_CONFIG_FILE_H

#include <stddef.h>

#include "codedtrain/status.h"

typedef enum ct_config_kind { CT_CONFIG_STRING, CT_CONFIG_NUMBER, CT_CONFIG_TRUE, CT_CONFIG_FALSE, CT_CONFIG_NULL } ct_config_kind;

typedef struct ct_config_entry {
    char *key;
    char *value;          /* decoded string, or the number's text; NULL for true/false/null */
    ct_config_kind kind;
} ct_config_entry;

typedef struct ct_config_file {
    ct_config_entry *entries;
    int n;
} ct_config_file;

/* Parses the first JSON object of text[0..len) (a flat object: no nested arrays
 * or objects). What follows it must be whitespace unless the object is a log's
 * config record (then the rest of the log follows). `what` names the input in
 * messages. CT_ERR_FORMAT naming the position and the problem. */
ct_status ct_config_file_parse(const char *text, size_t len, const char *what, ct_config_file *out);
/* Reads and parses a file (up to 4 MiB of it: a config record is the first line of a log). */
ct_status ct_config_file_load(const char *path, ct_config_file *out);
/* The entry for key, or NULL. */
const ct_config_entry *ct_config_file_get(const ct_config_file *f, const char *key);
void ct_config_file_free(ct_config_file *f);

#endif
