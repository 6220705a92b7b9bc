/* Comparing a checkpoint's recorded configuration with a resumed run's (see config_diff.h). */
#include "host/config_diff.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *key, *flag;
    int breaks; /* 1: the resume cannot continue under a change; 0: it can, with a warning */
} field;

static const field FIELDS[] = {
    /* --model and --seed: train.c compares the parsed model and the seed itself */
    {"dataset", "--dataset", 1},     {"synth_n", "--dataset N", 1},
    {"synth_dim", "--dataset DIM", 1}, {"synth_classes", "--dataset CLASSES", 1}, {"batch", "--batch", 1},
    {"workers", "--workers", 1},     {"code", "--code", 1},
    {"stragglers", "--stragglers", 1}, {"load", "--load", 1},       {"messages", "--messages", 1},
    {"alpha", "--alpha", 1},       {"clock", "--clock", 1},         {"compress", "--compress", 1},
    {"data", "--data", 0},         {"lr", "--lr", 0},               {"lr_schedule", "--lr-schedule", 0},
    {"momentum", "--momentum", 0}, {"weight_decay", "--weight-decay", 0}, {"straggle", "--straggle", 0},
    {"deadline_ms", "--deadline-ms", 0}, {"policy", "--policy", 0}, {"k", "--k", 0},
    {"unit_cost_ms", "--unit-cost-ms", 0},
};

/* The raw text of key's value in a flat JSON object (quotes stripped from a
 * string), in out; "(unset)" when the key is absent. */
static void value_of(const char *json, const char *key, char *out, size_t len) {
    snprintf(out, len, "(unset)");
    if (!json) return;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    /* keys are written at the top level only, and a value's text never holds "\"key\":" unescaped */
    const char *p = strstr(json, pat);
    while (p && p != json && p[-1] != '{' && p[-1] != ',') p = strstr(p + 1, pat);
    if (!p) return;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (p[n] && p[n] != '"') n += p[n] == '\\' && p[n + 1] ? 2 : 1;
    } else {
        while (p[n] && p[n] != ',' && p[n] != '}') n++;
    }
    snprintf(out, len, "%.*s", (int)n, p);
}

static void append(char *buf, size_t len, const char *flag, const char *was, const char *now) {
    size_t off = strlen(buf);
    if (off < len) snprintf(buf + off, len - off, "%s%s %s -> %s", off ? ", " : "", flag, was, now);
}

void ct_config_diff(const char *saved, const char *now, char *breaking, size_t blen, char *tolerated, size_t tlen) {
    breaking[0] = tolerated[0] = '\0';
    for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++) {
        char a[256], b[256];
        value_of(saved, FIELDS[i].key, a, sizeof a);
        value_of(now, FIELDS[i].key, b, sizeof b);
        if (strcmp(a, b) != 0) append(FIELDS[i].breaks ? breaking : tolerated, FIELDS[i].breaks ? blen : tlen,
                                      FIELDS[i].flag, a, b);
    }
}
