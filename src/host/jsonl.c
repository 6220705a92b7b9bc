/* JSON object builder (see jsonl.h).
 * Numbers use a fixed format (%.12g) so that logs written twice from the same
 * run compare equal byte for byte. */
#include "host/jsonl.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void put(ct_json *j, const char *s, size_t n) {
    if (j->failed) return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1) cap *= 2;
        char *b = realloc(j->buf, cap);
        if (!b) { j->failed = 1; return; }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void puts_(ct_json *j, const char *s) { put(j, s, strlen(s)); }

static void putf(ct_json *j, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) put(j, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_string(ct_json *j, const char *s) {
    puts_(j, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') { char e[2] = {'\\', (char)*p}; put(j, e, 2); }
        else if (*p == '\n') puts_(j, "\\n");
        else if (*p < 0x20) putf(j, "\\u%04x", *p);
        else put(j, (const char *)p, 1);
    }
    puts_(j, "\"");
}

static void sep(ct_json *j) {
    if (j->nfields[j->depth]++) puts_(j, ",");
}

static void key(ct_json *j, const char *k) {
    sep(j);
    put_string(j, k);
    puts_(j, ":");
}

static void put_num(ct_json *j, double v) {
    if (!isfinite(v)) { puts_(j, "null"); return; }
    if (v == floor(v) && fabs(v) < 1e15) putf(j, "%.1f", v);
    else putf(j, "%.12g", v);
}

void ct_json_begin(ct_json *j) {
    memset(j, 0, sizeof *j);
    puts_(j, "{");
}
void ct_json_key_str(ct_json *j, const char *k, const char *v) { key(j, k); put_string(j, v); }
void ct_json_key_int(ct_json *j, const char *k, long long v) { key(j, k); putf(j, "%lld", v); }
void ct_json_key_num(ct_json *j, const char *k, double v) { key(j, k); put_num(j, v); }
void ct_json_key_num_exact(ct_json *j, const char *k, double v) {
    key(j, k);
    if (!isfinite(v)) {
        puts_(j, "null");
        return;
    }
    /* the shortest text that reads back as the same double */
    char t[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(t, sizeof t, "%.*g", digits, v);
        if (strtod(t, NULL) == v) break;
    }
    puts_(j, t);
}
void ct_json_key_bool(ct_json *j, const char *k, int v) { key(j, k); puts_(j, v ? "true" : "false"); }
void ct_json_key_null(ct_json *j, const char *k) { key(j, k); puts_(j, "null"); }

static void open_nested(ct_json *j, const char *open) {
    puts_(j, open);
    if (j->depth + 1 < (int)(sizeof j->nfields / sizeof j->nfields[0])) j->depth++;
    else j->failed = 1;
    j->nfields[j->depth] = 0;
}
void ct_json_key_begin_array(ct_json *j, const char *k) { key(j, k); open_nested(j, "["); }
void ct_json_key_begin_object(ct_json *j, const char *k) { key(j, k); open_nested(j, "{"); }
void ct_json_array_int(ct_json *j, long long v) { sep(j); putf(j, "%lld", v); }
void ct_json_array_num(ct_json *j, double v) { sep(j); put_num(j, v); }
void ct_json_array_begin_object(ct_json *j) { sep(j); open_nested(j, "{"); }
void ct_json_end_array(ct_json *j) { puts_(j, "]"); if (j->depth > 0) j->depth--; }
void ct_json_end_object(ct_json *j) { puts_(j, "}"); if (j->depth > 0) j->depth--; }

const char *ct_json_end(ct_json *j) {
    puts_(j, "}");
    return j->failed ? NULL : j->buf;
}

void ct_json_free(ct_json *j) {
    free(j->buf);
    memset(j, 0, sizeof *j);
}
