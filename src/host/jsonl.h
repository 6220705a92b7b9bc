/* A tiny JSON object builder for JSON Lines logs and --json output: fields are
 * appended in order into a growable buffer; strings are escaped. */
#ifndef CODEDTRAIN_JSONL_H
#define CODEDTRAIN_JSONL_H

#include <stddef.h>
#include <stdio.h>

typedef struct ct_json {
    char *buf;
    size_t len, cap;
    int fields; /* fields in the innermost open object/array (comma placement) */
    int depth;
    int nfields[16];
    int failed; /* an allocation failed: the object is incomplete */
} ct_json;

void ct_json_begin(ct_json *j);          /* starts "{" */
void ct_json_key_str(ct_json *j, const char *key, const char *value);
void ct_json_key_int(ct_json *j, const char *key, long long value);
void ct_json_key_num(ct_json *j, const char *key, double value); /* non-finite -> null */
/* round-trips exactly (the shortest of %.15g..%.17g that does): for values read back, e.g. the configuration record */
void ct_json_key_num_exact(ct_json *j, const char *key, double value);
void ct_json_key_bool(ct_json *j, const char *key, int value);
void ct_json_key_null(ct_json *j, const char *key);
void ct_json_key_begin_array(ct_json *j, const char *key);
void ct_json_key_begin_object(ct_json *j, const char *key);
void ct_json_array_int(ct_json *j, long long value);
void ct_json_array_num(ct_json *j, double value);
void ct_json_array_begin_object(ct_json *j);
void ct_json_end_array(ct_json *j);
void ct_json_end_object(ct_json *j);
/* closes the top-level object; returns the text (owned by j) or NULL on allocation failure */
const char *ct_json_end(ct_json *j);
void ct_json_free(ct_json *j);

#endif
