/* Checkpoints (src/host/checkpoint.c): bit-exact round trips, the on-disk
 * safetensors layout, refusal of every corruption (each flipped byte, each
 * truncation, and hand-made headers that pass the checksum but break one rule),
 * crash safety under kill -9 during writes, and `codedtrain eval`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "codedtrain/nn.h"
#include "ct_test.h"
#include "host/checkpoint.h"
#include "host/cli.h"

static char g_dir[1024];

static void tmp_path(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", g_dir, name); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int is_zeroed(const ct_checkpoint *ck) {
    static const ct_checkpoint zero;
    return memcmp(ck, &zero, sizeof zero) == 0;
}

static ct_mlp_spec make_spec(int n, const int *sizes) {
    ct_mlp_spec s;
    memset(&s, 0, sizeof s);
    s.n_layers = n - 1;
    for (int i = 0; i < n; i++) s.sizes[i] = sizes[i];
    return s;
}

static float *random_floats(size_t n, unsigned long long seed) {
    float *x = malloc(n * sizeof *x);
    if (!x) return NULL;
    unsigned long long s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) x[i] = ct_test_uniform(&s, -2.0f, 2.0f);
    return x;
}

/* A checkpoint with every field set (caller frees with ct_checkpoint_free). */
static void make_ck(ct_checkpoint *ck, const ct_mlp_spec *spec, unsigned long long seed, int with_momentum,
                    int n_state) {
    memset(ck, 0, sizeof *ck);
    ct_model_from_mlp(spec, &ck->spec);
    ck->P = ct_mlp_param_count(spec);
    ck->params = random_floats(ck->P, seed);
    ck->momentum = with_momentum ? random_floats(ck->P, seed + 1000) : NULL;
    ck->step = 1234567 + (long)seed;
    ck->epoch = 3;
    ck->step_in_epoch = 17;
    ck->seed = 0xFFFFFFFFFFFFFFFFull - seed;
    ck->virtual_time = 0.1 + 1.0 / 3.0 + (double)seed;
    ck->norm_mean = 0.2860402f;
    ck->norm_std = 0.3530239f;
    ck->config_json = strdup("{\"model\":\"mlp\",\"note\":\"quote \\\" tab\\t newline\\n \xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\"}");
    ck->extra = strdup("busy_until=1.5,2.25;\x01\x1f ctl chars");
    if (n_state > 0) {
        ck->state = calloc((size_t)n_state, sizeof *ck->state);
        ck->n_state = n_state;
        for (int s = 0; s < n_state; s++) {
            char name[64];
            snprintf(name, sizeof name, "ef.%d.0", s);
            ck->state[s].name = strdup(name);
            ck->state[s].count = 5 + (size_t)s * 3;
            ck->state[s].data = random_floats(ck->state[s].count, seed + 77 + (unsigned long long)s);
        }
    }
}

static int str_eq(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static int ck_equal(const ct_checkpoint *a, const ct_checkpoint *b) {
    if (memcmp(&a->spec, &b->spec, sizeof a->spec) || a->P != b->P) return 0;
    if (memcmp(a->params, b->params, a->P * sizeof(float))) return 0;
    if (!!a->momentum != !!b->momentum) return 0;
    if (a->momentum && memcmp(a->momentum, b->momentum, a->P * sizeof(float))) return 0;
    if (a->step != b->step || a->epoch != b->epoch || a->step_in_epoch != b->step_in_epoch || a->seed != b->seed)
        return 0;
    if (memcmp(&a->virtual_time, &b->virtual_time, sizeof(double)) || memcmp(&a->norm_mean, &b->norm_mean, 4) ||
        memcmp(&a->norm_std, &b->norm_std, 4))
        return 0;
    if (!str_eq(a->config_json, b->config_json) || !str_eq(a->extra, b->extra)) return 0;
    if (a->n_state != b->n_state) return 0;
    for (int s = 0; s < a->n_state; s++) {
        if (strcmp(a->state[s].name, b->state[s].name) || a->state[s].count != b->state[s].count) return 0;
        if (memcmp(a->state[s].data, b->state[s].data, a->state[s].count * sizeof(float))) return 0;
    }
    return 1;
}

static unsigned char *read_bytes(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int write_bytes(const char *path, const void *b, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Temporary files "<base>.tmp.*" next to base. */
static int count_tmp_files(const char *base_name) {
    DIR *d = opendir(g_dir);
    if (!d) return -1;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s.tmp.", base_name);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += !strncmp(e->d_name, prefix, strlen(prefix));
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ round trip */

static void test_round_trip(void) {
    const int sizes[] = {7, 5, 4, 3};
    ct_mlp_spec spec = make_spec(4, sizes);
    char path[PATH_MAX];
    tmp_path(path, sizeof path, "ckpt_round_trip.safetensors");

    ct_checkpoint a, b;
    make_ck(&a, &spec, 1, 1, 3);
    CHECK_OK(ct_checkpoint_save(path, &a));
    memset(&b, 0xAB, sizeof b); /* load must not trust what out held */
    CHECK_OK(ct_checkpoint_load(path, &b));
    CHECK(ck_equal(&a, &b), "full checkpoint differs after a round trip");
    ct_checkpoint_free(&b);
    size_t flen = 0;
    unsigned char *fbytes = read_bytes(path, &flen);
    CHECK_OK(ct_checkpoint_load_mem(fbytes, flen, "mem", &b));
    CHECK(ck_equal(&a, &b), "checkpoint loaded from memory differs");
    free(fbytes);
    CHECK(count_tmp_files("ckpt_round_trip.safetensors") == 0, "a temporary file was left behind");
    ct_checkpoint_free(&b);
    CHECK(is_zeroed(&b), "ct_checkpoint_free must zero the struct");

    /* overwrite with a minimal checkpoint: no momentum, no strings, no state */
    ct_checkpoint m;
    make_ck(&m, &spec, 2, 0, 0);
    free(m.config_json);
    free(m.extra);
    m.config_json = m.extra = NULL;
    m.step = LONG_MAX;
    m.epoch = INT_MAX;
    m.seed = 0;
    m.virtual_time = 0.0;
    CHECK_OK(ct_checkpoint_save(path, &m));
    CHECK_OK(ct_checkpoint_load(path, &b));
    CHECK(ck_equal(&m, &b), "minimal checkpoint differs after a round trip");
    CHECK(b.momentum == NULL && b.config_json == NULL && b.extra == NULL && b.n_state == 0 && b.state == NULL,
          "absent parts must load as NULL");
    ct_checkpoint_free(&b);

    /* a one-layer model with extreme float values (bit patterns kept exactly) */
    const int one[] = {3, 2};
    ct_mlp_spec s1 = make_spec(2, one);
    ct_checkpoint e;
    make_ck(&e, &s1, 3, 1, 1);
    const uint32_t bits[] = {0x00000001u, 0x80000000u, 0x7F7FFFFFu, 0x7FC00001u /* NaN payload */, 0xFF800000u, 0x3F800000u};
    for (size_t i = 0; i < e.P && i < 6; i++) memcpy(&e.params[i], &bits[i], 4);
    e.virtual_time = 5e-324;
    e.norm_mean = -1.17549435e-38f;
    CHECK_OK(ct_checkpoint_save(path, &e));
    CHECK_OK(ct_checkpoint_load(path, &b));
    CHECK(ck_equal(&e, &b), "extreme values differ after a round trip");
    ct_checkpoint_free(&b);

    ct_checkpoint_free(&a);
    ct_checkpoint_free(&m);
    ct_checkpoint_free(&e);
    remove(path);
}

/* The bytes on disk follow the safetensors layout. */
static void test_layout(void) {
    const int sizes[] = {7, 5, 3};
    ct_mlp_spec spec = make_spec(3, sizes);
    char path[PATH_MAX];
    tmp_path(path, sizeof path, "ckpt_layout.safetensors");
    ct_checkpoint a;
    make_ck(&a, &spec, 4, 1, 1);
    CHECK_OK(ct_checkpoint_save(path, &a));
    size_t len = 0;
    unsigned char *f = read_bytes(path, &len);
    CHECK(f != NULL && len > 8, "cannot read back %s", path);
    if (f && len > 8) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = (n << 8) | f[i];
        CHECK(n % 8 == 0, "header length %llu is not a multiple of 8", (unsigned long long)n);
        CHECK(8 + n + 4 * (2 * a.P + a.state[0].count) == len, "file size %zu, header %llu", len, (unsigned long long)n);
        char *hdr = malloc(n + 1);
        memcpy(hdr, f + 8, n);
        hdr[n] = '\0';
        CHECK(hdr[0] == '{', "header must start with '{'");
        CHECK(strstr(hdr, "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[5,7],\"data_offsets\":[0,140]}") != NULL,
              "0.weight entry: %s", hdr);
        CHECK(strstr(hdr, "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[") != NULL,
              "2.bias entry (torch.nn.Sequential index: Linear, ReLU, Linear): %s", hdr);
        CHECK(strstr(hdr, "\"optimizer.momentum.2.weight\":{\"dtype\":\"F32\",\"shape\":[3,5]") != NULL,
              "momentum entry: %s", hdr);
        CHECK(strstr(hdr, "\"state.ef.0.0\":{\"dtype\":\"F32\",\"shape\":[5]") != NULL, "state entry: %s", hdr);
        CHECK(strstr(hdr, "\"model\":\"mlp:7-5-3\"") && strstr(hdr, "\"step\":\"1234571\"") &&
                  strstr(hdr, "\"format\":\"codedtrain-checkpoint\"") && strstr(hdr, "\"checksum\":\"crc32:"),
              "metadata: %s", hdr);
        /* params are the flat buffer, little-endian, at the start of the data */
        unsigned char le[4];
        int same = 1;
        for (size_t i = 0; i < a.P && same; i++) {
            uint32_t u;
            memcpy(&u, &a.params[i], 4);
            for (int k = 0; k < 4; k++) le[k] = (unsigned char)(u >> (8 * k));
            same = !memcmp(f + 8 + n + 4 * i, le, 4);
        }
        CHECK(same, "the data section does not start with the flat parameters in little-endian order");
        free(hdr);
    }
    free(f);
    ct_checkpoint_free(&a);
    remove(path);
}

/* ------------------------------------------------------------------ corruption */

/* Every single flipped byte (two different flips each) is refused. */
static void test_every_byte_flip(void) {
    const int sizes[] = {3, 2, 2};
    ct_mlp_spec spec = make_spec(3, sizes);
    char path[PATH_MAX], bad[PATH_MAX];
    tmp_path(path, sizeof path, "ckpt_flip.safetensors");
    tmp_path(bad, sizeof bad, "ckpt_flip_bad.safetensors");
    ct_checkpoint a, b, b2;
    make_ck(&a, &spec, 5, 1, 1);
    CHECK_OK(ct_checkpoint_save(path, &a));
    size_t len = 0;
    unsigned char *f = read_bytes(path, &len);
    CHECK(f != NULL, "cannot read back %s", path);
    int accepted = 0, not_format = 0, not_zeroed = 0, checksum_msgs = 0;
    const unsigned char flips[] = {0x01, 0x80};
    for (size_t i = 0; f && i < len; i++) {
        for (int k = 0; k < 2; k++) {
            f[i] ^= flips[k];
            write_bytes(bad, f, len);
            f[i] ^= flips[k];
            ct_status st = ct_checkpoint_load(bad, &b);
            f[i] ^= flips[k];
            ct_status st_mem = ct_checkpoint_load_mem(f, len, "flipped", &b2);
            f[i] ^= flips[k];
            if (st_mem != st) not_format++;
            if (st_mem == CT_OK) ct_checkpoint_free(&b2);
            if (st == CT_OK) {
                accepted++;
                ct_checkpoint_free(&b);
                continue;
            }
            not_format += st != CT_ERR_FORMAT;
            not_zeroed += !is_zeroed(&b);
            checksum_msgs += strstr(ct_last_error(), "checksum mismatch") != NULL;
        }
    }
    CHECK(accepted == 0, "%d of %zu byte flips were loaded", accepted, 2 * len);
    CHECK(not_format == 0, "%d byte flips gave a status other than CT_ERR_FORMAT", not_format);
    CHECK(not_zeroed == 0, "%d refusals left *out non-zero", not_zeroed);
    CHECK(checksum_msgs > (int)(4 * a.P), "flips in the data should be caught by the checksum (%d)", checksum_msgs);
    /* a data flip names the file and the problem */
    if (f) {
        f[len - 3] ^= 0x10;
        write_bytes(bad, f, len);
        CHECK(ct_checkpoint_load(bad, &b) == CT_ERR_FORMAT && strstr(ct_last_error(), bad) &&
                  strstr(ct_last_error(), "checksum mismatch"),
              "data flip message: %s", ct_last_error());
    }
    free(f);
    ct_checkpoint_free(&a);
    remove(path);
    remove(bad);
}

/* Truncation at every length, and a trailing byte, are refused. */
static void test_truncation(void) {
    const int sizes[] = {4, 3, 2};
    ct_mlp_spec spec = make_spec(3, sizes);
    char path[PATH_MAX], bad[PATH_MAX];
    tmp_path(path, sizeof path, "ckpt_trunc.safetensors");
    tmp_path(bad, sizeof bad, "ckpt_trunc_bad.safetensors");
    ct_checkpoint a, b;
    make_ck(&a, &spec, 6, 1, 2);
    CHECK_OK(ct_checkpoint_save(path, &a));
    size_t len = 0;
    unsigned char *f = read_bytes(path, &len);
    int wrong = 0;
    for (size_t cut = 0; f && cut < len; cut++) {
        write_bytes(bad, f, cut);
        ct_status st_mem = ct_checkpoint_load_mem(f, cut, "cut", &b);
        if (st_mem != CT_ERR_FORMAT || !is_zeroed(&b)) wrong++;
        if (st_mem == CT_OK) ct_checkpoint_free(&b);
        ct_status st = ct_checkpoint_load(bad, &b);
        if (st != CT_ERR_FORMAT || !is_zeroed(&b)) {
            if (wrong++ < 5) fprintf(stderr, "truncated to %zu: %s (%s)\n", cut, ct_status_str(st), ct_last_error());
        }
        if (st == CT_OK) ct_checkpoint_free(&b);
    }
    CHECK(wrong == 0, "%d of %zu truncations were not refused as format errors", wrong, len);
    if (f) {
        write_bytes(bad, f, len - 4);
        CHECK(ct_checkpoint_load(bad, &b) == CT_ERR_FORMAT && strstr(ct_last_error(), "truncated"),
              "truncated data message: %s", ct_last_error());
        write_bytes(bad, f, 5);
        CHECK(ct_checkpoint_load(bad, &b) == CT_ERR_FORMAT && strstr(ct_last_error(), "truncated"),
              "5-byte file message: %s", ct_last_error());
        unsigned char *g = malloc(len + 1);
        memcpy(g, f, len);
        g[len] = 0;
        write_bytes(bad, g, len + 1);
        CHECK(ct_checkpoint_load(bad, &b) == CT_ERR_FORMAT && strstr(ct_last_error(), "after the tensor data"),
              "trailing byte message: %s", ct_last_error());
        free(g);
    }
    free(f);
    ct_checkpoint_free(&a);
    remove(path);
    remove(bad);
}

/* Writes 8-byte length + header (padded to 8 with spaces) + data, filling in a
 * correct checksum where the header says "crc32:00000000", so the file fails
 * (or passes) only on the rule under test. */
static void craft(const char *path, const char *header, const unsigned char *data, size_t data_len) {
    size_t n = strlen(header);
    size_t padded = (n + 7) / 8 * 8;
    unsigned char *f = malloc(8 + padded + data_len);
    for (int i = 0; i < 8; i++) f[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(f + 8, header, n);
    memset(f + 8 + n, ' ', padded - n);
    if (data_len) memcpy(f + 8 + padded, data, data_len);
    const char *ph = strstr(header, "\"crc32:00000000\"");
    if (ph) {
        uLong crc = crc32(crc32(0L, Z_NULL, 0), f, (uInt)(8 + padded + data_len));
        char digits[9];
        snprintf(digits, sizeof digits, "%08lx", crc & 0xFFFFFFFFul);
        memcpy(f + 8 + (ph - header) + 7, digits, 8);
    }
    write_bytes(path, f, 8 + padded + data_len);
    free(f);
}

#define META_OK                                                                                                      \
    "\"__metadata__\":{\"format\":\"codedtrain-checkpoint\",\"format_version\":\"1\",\"model\":\"2-1\",\"step\":\"5\"," \
    "\"epoch\":\"1\",\"step_in_epoch\":\"5\",\"seed\":\"9\",\"virtual_time\":\"0.5\",\"norm_mean\":\"0.25\","           \
    "\"norm_std\":\"0.5\",\"checksum\":\"crc32:00000000\"}"
#define T_W "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}"
#define T_B "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}"

typedef struct crafted_case {
    const char *what;
    const char *header;
    size_t data_len;   /* of the 16 data bytes */
    const char *msg;   /* expected in the message */
} crafted_case;

static void test_crafted(void) {
    char path[PATH_MAX];
    tmp_path(path, sizeof path, "ckpt_crafted.safetensors");
    const float vals[4] = {1.5f, -2.0f, 0.25f, 7.0f};
    unsigned char data[16];
    memcpy(data, vals, sizeof data); /* the tests assume a little-endian host, as x86 and ARM are */
    ct_checkpoint b;

    /* the crafter itself makes loadable files, in any key order, with JSON whitespace and escapes */
    craft(path, "{" T_W "," T_B "," META_OK "}", data, 12);
    CHECK_OK(ct_checkpoint_load(path, &b));
    CHECK(b.P == 3 && b.params && b.params[0] == 1.5f && b.params[2] == 0.25f && b.step == 5 && b.seed == 9 &&
              b.norm_std == 0.5f && b.momentum == NULL,
          "crafted baseline loaded wrong values");
    ct_checkpoint_free(&b);
    craft(path,
          "{ " META_OK " ,\n\t\"layers.0.bias\" : { \"data_offsets\" : [ 8 , 12 ], \"shape\":[1], \"dtype\":\"F32\" } ,"
          "\"layers.\\u0030.weight\":{\"shape\":[1,2],\"dtype\":\"F\\u0033\\u0032\",\"data_offsets\":[0,8]}\r\n}",
          data, 12);
    CHECK_OK(ct_checkpoint_load(path, &b));
    CHECK(b.P == 3 && b.params && b.params[1] == -2.0f && b.params[2] == 0.25f, "reordered header loaded wrong values");
    ct_checkpoint_free(&b);

    static const crafted_case cases[] = {
        {"dtype F16", "{\"layers.0.weight\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[0,8]}," T_B "," META_OK "}", 12, "dtype 'F16'"},
        {"dtype F64", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,12]}," META_OK "}", 12, "expected F32"},
        {"transposed weight", "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]}," T_B "," META_OK "}", 12, "shape [2,1], model needs [1,2]"},
        {"bias rank 2", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]}," META_OK "}", 12, "shape"},
        {"offsets past the data", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}," META_OK "}", 12, "contiguous"},
        {"offsets past the file", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}," META_OK "}", 8, "truncated"},
        {"offsets overlap", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}," META_OK "}", 12, "contiguous"},
        {"offsets wrong size", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,16]}," META_OK "}", 16, "do not span"},
        {"offsets reversed", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,8]}," META_OK "}", 12, "do not span"},
        {"offsets huge", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551615,3]}," META_OK "}", 12, "do not span"},
        {"offset overflow", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,18446744073709551616]}," META_OK "}", 12, "too large"},
        {"three offsets", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12,16]}," META_OK "}", 12, "too many"},
        {"float offset", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12.0]}," META_OK "}", 12, "expected an integer"},
        {"negative offset", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-8,12]}," META_OK "}", 12, "non-negative"},
        {"leading zero", "{" T_W ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[08,12]}," META_OK "}", 12, "leading zero"},
        {"missing colon", "{" T_W ",\"layers.0.bias\"{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}," META_OK "}", 12, "expected ':'"},
        {"trailing comma", "{" T_W "," T_B "," META_OK ",}", 12, "malformed header"},
        {"unterminated", "{" T_W "," T_B "," META_OK, 12, "malformed header"},
        {"garbage after", "{" T_W "," T_B "," META_OK "}x", 12, "after the header object"},
        {"two objects", "{" T_W "," T_B "," META_OK "}{}", 12, "after the header object"},
        {"not an object", "[" T_W "]", 12, "expected '{'"},
        {"bad escape", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"codedtrain\\x\"}}", 12, "bad escape"},
        {"lone surrogate", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"\\ud800\"}}", 12, "surrogate"},
        {"nul escape", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"a\\u0000b\"}}", 12, "\\u0000"},
        {"raw control", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"a\tb\"}}", 12, "control character"},
        {"bad utf-8", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"\xc3\x28\"}}", 12, "UTF-8"},
        {"overlong utf-8", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"\xc0\xaf\"}}", 12, "UTF-8"},
        {"unknown tensor key", "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8],\"x\":1}," T_B "," META_OK "}", 12, "unknown or repeated key"},
        {"repeated tensor key", "{\"layers.0.weight\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}," T_B "," META_OK "}", 12, "unknown or repeated key"},
        {"missing dtype", "{\"layers.0.weight\":{\"shape\":[1,2],\"data_offsets\":[0,8]}," T_B "," META_OK "}", 12, "lacks dtype"},
        {"duplicate tensor", "{" T_W "," T_B ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}," META_OK "}", 16, "appears twice"},
        {"unknown tensor", "{" T_W "," T_B ",\"layers.0.gamma\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}," META_OK "}", 16, "unexpected tensor 'layers.0.gamma'"},
        {"layer out of range", "{" T_W "," T_B ",\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}," META_OK "}", 16, "no parametrised module there"},
        {"non-canonical layer", "{" T_W "," T_B ",\"layers.00.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}," META_OK "}", 16, "unexpected tensor"},
        {"missing bias", "{" T_W "," META_OK "}", 8, "layers.0.bias is missing"},
        {"partial momentum", "{" T_W "," T_B ",\"optimizer.momentum.layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}," META_OK "}", 16, "some layers only"},
        {"empty state", "{" T_W "," T_B ",\"state.x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[12,12]}," META_OK "}", 12, "non-empty vector"},
        {"bad state name", "{" T_W "," T_B ",\"state.a b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}," META_OK "}", 16, "unexpected tensor"},
        {"no metadata", "{" T_W "," T_B "}", 12, "no __metadata__"},
        {"no tensors", "{" META_OK "}", 0, "layers.0.weight is missing"},
        {"empty header", "{}", 0, "no __metadata__"},
        {"metadata twice", "{" T_W "," T_B "," META_OK "," META_OK "}", 12, "__metadata__ appears twice"},
        {"metadata not string", "{" T_W "," T_B ",\"__metadata__\":{\"step\":5}}", 12, "not a string"},
        {"metadata key twice", "{" T_W "," T_B ",\"__metadata__\":{\"step\":\"5\",\"step\":\"5\"}}", 12, "appears twice"},
        {"metadata missing key", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"codedtrain-checkpoint\",\"checksum\":\"crc32:00000000\"}}", 12, "lacks 'format_version'"},
        {"unknown metadata", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"codedtrain-checkpoint\",\"bogus\":\"1\"}}", 12, "unknown metadata key 'bogus'"},
#define META_WITH(k, v, rest) "\"__metadata__\":{" k v rest "\"checksum\":\"crc32:00000000\"}"
#define M_BASE_FMT "\"format\":\"codedtrain-checkpoint\",\"format_version\":\"1\","
#define M_REST_AFTER_MODEL "\"step\":\"5\",\"epoch\":\"1\",\"step_in_epoch\":\"5\",\"seed\":\"9\",\"virtual_time\":\"0.5\",\"norm_mean\":\"0.25\",\"norm_std\":\"0.5\","
        {"other format", "{" T_W "," T_B "," META_WITH("\"format\":\"pytorch\",\"format_version\":\"1\",", "\"model\":\"2-1\",", M_REST_AFTER_MODEL) "}", 12, "format 'pytorch'"},
        {"future version", "{" T_W "," T_B "," META_WITH("\"format\":\"codedtrain-checkpoint\",\"format_version\":\"3\",", "\"model\":\"2-1\",", M_REST_AFTER_MODEL) "}", 12, "format_version '3'"},
        {"model size zero", "{" T_W "," T_B "," META_WITH(M_BASE_FMT, "\"model\":\"2-0\",", M_REST_AFTER_MODEL) "}", 12, "model '2-0'"},
        {"model one size", "{" T_W "," T_B "," META_WITH(M_BASE_FMT, "\"model\":\"2\",", M_REST_AFTER_MODEL) "}", 12, "model '2'"},
        {"model mismatch", "{" T_W "," T_B "," META_WITH(M_BASE_FMT, "\"model\":\"3-1\",", M_REST_AFTER_MODEL) "}", 12, "model needs [1,3]"},
        {"negative step", "{" T_W "," T_B "," META_WITH(M_BASE_FMT "\"model\":\"2-1\",", "\"step\":\"-5\",", "\"epoch\":\"1\",\"step_in_epoch\":\"5\",\"seed\":\"9\",\"virtual_time\":\"0.5\",\"norm_mean\":\"0.25\",\"norm_std\":\"0.5\",") "}", 12, "step '-5'"},
        {"seed overflow", "{" T_W "," T_B "," META_WITH(M_BASE_FMT "\"model\":\"2-1\",\"step\":\"5\",\"epoch\":\"1\",\"step_in_epoch\":\"5\",", "\"seed\":\"18446744073709551616\",", "\"virtual_time\":\"0.5\",\"norm_mean\":\"0.25\",\"norm_std\":\"0.5\",") "}", 12, "seed"},
        {"nan time", "{" T_W "," T_B "," META_WITH(M_BASE_FMT "\"model\":\"2-1\",\"step\":\"5\",\"epoch\":\"1\",\"step_in_epoch\":\"5\",\"seed\":\"9\",", "\"virtual_time\":\"nan\",", "\"norm_mean\":\"0.25\",\"norm_std\":\"0.5\",") "}", 12, "virtual_time 'nan'"},
        {"zero std", "{" T_W "," T_B "," META_WITH(M_BASE_FMT "\"model\":\"2-1\",\"step\":\"5\",\"epoch\":\"1\",\"step_in_epoch\":\"5\",\"seed\":\"9\",\"virtual_time\":\"0.5\",\"norm_mean\":\"0.25\",", "\"norm_std\":\"0\",", "") "}", 12, "norm_std '0'"},
        {"uppercase checksum", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"codedtrain-checkpoint\",\"format_version\":\"1\",\"model\":\"2-1\",\"step\":\"5\",\"epoch\":\"1\",\"step_in_epoch\":\"5\",\"seed\":\"9\",\"virtual_time\":\"0.5\",\"norm_mean\":\"0.25\",\"norm_std\":\"0.5\",\"checksum\":\"crc32:ABCDEF00\"}}", 12, "expected crc32:XXXXXXXX"},
        {"escaped checksum", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"codedtrain-checkpoint\",\"format_version\":\"1\",\"model\":\"2-1\",\"step\":\"5\",\"epoch\":\"1\",\"step_in_epoch\":\"5\",\"seed\":\"9\",\"virtual_time\":\"0.5\",\"norm_mean\":\"0.25\",\"norm_std\":\"0.5\",\"checksum\":\"\\u0063rc32:00000000\"}}", 12, "expected crc32:XXXXXXXX"},
        {"no checksum", "{" T_W "," T_B ",\"__metadata__\":{\"format\":\"codedtrain-checkpoint\",\"format_version\":\"1\",\"model\":\"2-1\",\"step\":\"5\",\"epoch\":\"1\",\"step_in_epoch\":\"5\",\"seed\":\"9\",\"virtual_time\":\"0.5\",\"norm_mean\":\"0.25\",\"norm_std\":\"0.5\"}}", 12, "lacks 'checksum'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        craft(path, cases[c].header, data, cases[c].data_len);
        memset(&b, 0x5A, sizeof b);
        ct_status st = ct_checkpoint_load(path, &b);
        CHECK(st == CT_ERR_FORMAT, "%s: status %s (%s)", cases[c].what, ct_status_str(st), ct_last_error());
        CHECK(strstr(ct_last_error(), cases[c].msg) != NULL, "%s: message '%s' lacks '%s'", cases[c].what,
              ct_last_error(), cases[c].msg);
        CHECK(strstr(ct_last_error(), path) != NULL, "%s: message does not name the file", cases[c].what);
        CHECK(is_zeroed(&b), "%s: *out not zeroed", cases[c].what);
        if (st == CT_OK) ct_checkpoint_free(&b);
    }

    /* a correct file whose checksum was computed over different bytes */
    craft(path, "{" T_W "," T_B "," META_OK "}", data, 12);
    size_t len;
    unsigned char *f = read_bytes(path, &len);
    if (f) {
        f[len - 1] ^= 0x40;
        write_bytes(path, f, len);
        CHECK(ct_checkpoint_load(path, &b) == CT_ERR_FORMAT && strstr(ct_last_error(), "checksum mismatch"),
              "tampered data: %s", ct_last_error());
        free(f);
    }

    /* header lengths that cannot be right */
    const uint64_t lens[] = {0, 1, 100000001ull, 1ull << 40, ~0ull};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        unsigned char raw[64];
        memset(raw, ' ', sizeof raw);
        for (int k = 0; k < 8; k++) raw[k] = (unsigned char)(lens[i] >> (8 * k));
        raw[8] = '{';
        write_bytes(path, raw, sizeof raw);
        ct_status st = ct_checkpoint_load(path, &b);
        CHECK(st == CT_ERR_FORMAT && (strstr(ct_last_error(), "implausible") || strstr(ct_last_error(), "runs past")),
              "header length %llu: %s (%s)", (unsigned long long)lens[i], ct_status_str(st), ct_last_error());
        CHECK(is_zeroed(&b), "header length %llu: *out not zeroed", (unsigned long long)lens[i]);
    }
    {
        unsigned char raw[24] = {16, 0, 0, 0, 0, 0, 0, 0};
        memcpy(raw + 8, "{\"a\":1}  ", 8);
        write_bytes(path, raw, 12); /* length 16 but only 4 header bytes present */
        CHECK(ct_checkpoint_load(path, &b) == CT_ERR_FORMAT && strstr(ct_last_error(), "runs past"),
              "short header: %s", ct_last_error());
    }
    remove(path);
}

/* ------------------------------------------------------------------ errors */

static void test_io_and_argument_errors(void) {
    char path[PATH_MAX];
    ct_checkpoint b, a;
    memset(&b, 0x11, sizeof b);
    tmp_path(path, sizeof path, "ckpt_does_not_exist.safetensors");
    remove(path);
    ct_status st = ct_checkpoint_load(path, &b);
    CHECK(st == CT_ERR_IO && strstr(ct_last_error(), path) && strstr(ct_last_error(), "cannot open"),
          "missing file: %s (%s)", ct_status_str(st), ct_last_error());
    CHECK(is_zeroed(&b), "missing file: *out not zeroed");
    st = ct_checkpoint_load(g_dir, &b);
    CHECK(st == CT_ERR_IO, "a directory: %s (%s)", ct_status_str(st), ct_last_error());
    CHECK(is_zeroed(&b), "a directory: *out not zeroed");

    const int sizes[] = {3, 2};
    ct_mlp_spec spec = make_spec(2, sizes);
    make_ck(&a, &spec, 7, 1, 1);
    tmp_path(path, sizeof path, "no_such_dir/ckpt.safetensors");
    st = ct_checkpoint_save(path, &a);
    CHECK(st == CT_ERR_IO && strstr(ct_last_error(), "cannot create"), "save into a missing directory: %s (%s)",
          ct_status_str(st), ct_last_error());

    tmp_path(path, sizeof path, "ckpt_args.safetensors");
    remove(path);
    a.P++;
    CHECK(ct_checkpoint_save(path, &a) == CT_ERR_INVALID_ARG, "P mismatch must be refused");
    a.P--;
    char *saved_name = a.state[0].name;
    a.state[0].name = "bad name!";
    CHECK(ct_checkpoint_save(path, &a) == CT_ERR_INVALID_ARG, "bad state name must be refused");
    a.state[0].name = saved_name;
    char *saved_cfg = a.config_json;
    a.config_json = "\xff\xfe not utf-8";
    CHECK(ct_checkpoint_save(path, &a) == CT_ERR_INVALID_ARG, "non-UTF-8 config must be refused");
    a.config_json = saved_cfg;
    a.norm_std = 0;
    CHECK(ct_checkpoint_save(path, &a) == CT_ERR_INVALID_ARG, "std 0 must be refused");
    a.norm_std = 1;
    a.virtual_time = INFINITY;
    CHECK(ct_checkpoint_save(path, &a) == CT_ERR_INVALID_ARG, "infinite virtual time must be refused");
    a.virtual_time = 0;
    struct stat sb;
    CHECK(stat(path, &sb) != 0, "a refused save must not create the file");
    CHECK(count_tmp_files("ckpt_args.safetensors") == 0, "a refused save must not leave a temporary file");
    ct_checkpoint_free(&a);
}

/* The `extra` helpers keep every double bit for bit and refuse what does not fit. */
static void test_extra_records(void) {
    char *extra = NULL;
    const double busy[4] = {0.0, 1.0 / 3.0, 5e-324, 1.7976931348623157e308};
    const double one = -2.5;
    double got[4] = {0}, g1 = 0;
    CHECK_OK(ct_checkpoint_extra_put(&extra, "busy_until", busy, 4));
    CHECK_OK(ct_checkpoint_extra_put(&extra, "vnow", &one, 1));
    CHECK_OK(ct_checkpoint_extra_put(&extra, "none", NULL, 0));
    CHECK_OK(ct_checkpoint_extra_get(extra, "busy_until", got, 4));
    CHECK(!memcmp(got, busy, sizeof busy), "busy_until differs after a round trip");
    CHECK_OK(ct_checkpoint_extra_get(extra, "vnow", &g1, 1));
    CHECK(g1 == one, "vnow %g", g1);
    CHECK_OK(ct_checkpoint_extra_get(extra, "none", NULL, 0));
    CHECK(ct_checkpoint_extra_get(extra, "busy", got, 4) == CT_ERR_FORMAT, "a key prefix must not match");
    CHECK(ct_checkpoint_extra_get(extra, "missing", got, 1) == CT_ERR_FORMAT, "a missing record must be refused");
    CHECK(ct_checkpoint_extra_get(extra, "busy_until", got, 3) == CT_ERR_FORMAT, "too many values must be refused");
    CHECK(ct_checkpoint_extra_get(extra, "vnow", got, 2) == CT_ERR_FORMAT, "too few values must be refused");
    CHECK(ct_checkpoint_extra_get(extra, "none", got, 1) == CT_ERR_FORMAT, "no values must be refused");
    CHECK(ct_checkpoint_extra_get("vnow=1.5x;", "vnow", got, 1) == CT_ERR_FORMAT, "garbage must be refused");
    CHECK(ct_checkpoint_extra_get("vnow=1.5", "vnow", got, 1) == CT_ERR_FORMAT, "an unterminated record must be refused");
    CHECK(ct_checkpoint_extra_get(NULL, "vnow", got, 1) == CT_ERR_FORMAT, "NULL extra has no records");
    CHECK(ct_checkpoint_extra_put(&extra, "Bad-Key", &one, 1) == CT_ERR_INVALID_ARG, "bad keys must be refused");
    /* and it survives a checkpoint */
    const int sizes[] = {2, 2};
    ct_mlp_spec spec = make_spec(2, sizes);
    ct_checkpoint a, b;
    make_ck(&a, &spec, 31, 0, 0);
    free(a.extra);
    a.extra = extra;
    char path[PATH_MAX];
    tmp_path(path, sizeof path, "ckpt_extra.safetensors");
    CHECK_OK(ct_checkpoint_save(path, &a));
    CHECK_OK(ct_checkpoint_load(path, &b));
    memset(got, 0, sizeof got);
    CHECK_OK(ct_checkpoint_extra_get(b.extra, "busy_until", got, 4));
    CHECK(!memcmp(got, busy, sizeof busy), "busy_until differs after a checkpoint");
    ct_checkpoint_free(&a);
    ct_checkpoint_free(&b);
    remove(path);
}

/* ------------------------------------------------------------------ crash safety */

/* A child saves A, B, A, B, ... to PATH; it is killed (SIGKILL) at random
 * moments. PATH must always load and equal A or B; leftover temporary files
 * never replace it. */
static void test_kill_during_save(void) {
    const int sizes[] = {784, 1024, 1024, 10};
    ct_mlp_spec spec = make_spec(4, sizes);
    char path[PATH_MAX];
    const char *base = "ckpt_crash.safetensors";
    tmp_path(path, sizeof path, base);
    ct_checkpoint ca, cb, got;
    make_ck(&ca, &spec, 11, 1, 2);
    make_ck(&cb, &spec, 12, 1, 2);
    if (!ca.params || !cb.params || !ca.momentum || !cb.momentum) {
        CHECK(0, "out of memory for the crash-test model");
        return;
    }
    double t0 = now_s();
    CHECK_OK(ct_checkpoint_save(path, &ca));
    const double save_s = now_s() - t0;
    unsigned long long rng = 0xC0FFEEull;
    const int kills = 20;
    int ok_loads = 0, saw_a = 0, saw_b = 0, leftovers = 0, leftover_loadable = 0;
    for (int k = 0; k < kills; k++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            CHECK(0, "fork failed: %s", strerror(errno));
            break;
        }
        if (pid == 0) {
            for (long i = 1;; i++)
                if (ct_checkpoint_save(path, (i & 1) ? &cb : &ca) != CT_OK) _exit(3);
        }
        /* from at once (likely mid-write of the first save) to a few saves in */
        double delay = ct_test_uniform(&rng, 0.0f, 3.0f) * save_s;
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int wst = 0;
        waitpid(pid, &wst, 0);
        CHECK(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL, "kill %d: the writer ended on its own (status %d)", k, wst);

        ct_status st = ct_checkpoint_load(path, &got);
        CHECK(st == CT_OK, "kill %d after %.1f ms: PATH does not load: %s", k, 1e3 * delay, ct_last_error());
        if (st == CT_OK) {
            ok_loads++;
            int is_a = ck_equal(&got, &ca), is_b = ck_equal(&got, &cb);
            saw_a += is_a;
            saw_b += is_b;
            CHECK(is_a || is_b, "kill %d: PATH loads but equals neither written checkpoint", k);
            ct_checkpoint_free(&got);
        }
        /* the child's temporary file, if it died mid-write: never PATH, and
         * loadable only if it was complete */
        char tmp[PATH_MAX + 32];
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)pid);
        struct stat sb;
        if (stat(tmp, &sb) == 0) {
            leftovers++;
            if (ct_checkpoint_load(tmp, &got) == CT_OK) {
                leftover_loadable++;
                CHECK(ck_equal(&got, &ca) || ck_equal(&got, &cb), "a complete temporary file holds neither content");
                ct_checkpoint_free(&got);
            } else {
                CHECK(is_zeroed(&got), "refused temporary file left *out non-zero");
            }
            remove(tmp);
        }
    }
    CHECK(ok_loads == kills, "PATH loaded after %d of %d kills", ok_loads, kills);
    CHECK(count_tmp_files(base) == 0, "temporary files remain");
    printf("kill -9 during save: %d kills (one save %.1f ms), PATH loaded every time (A %d, B %d); "
           "%d killed mid-write left a temporary file (%d of them complete)\n",
           kills, 1e3 * save_s, saw_a, saw_b, leftovers, leftover_loadable);
    ct_checkpoint_free(&ca);
    ct_checkpoint_free(&cb);
    remove(path);
}

/* ------------------------------------------------------------------ eval CLI */

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Runs ct_cli_eval with stdout captured into out (NUL-terminated). */
static int run_eval(int argc, char **argv, char *out, size_t out_len) {
    char cap[PATH_MAX];
    tmp_path(cap, sizeof cap, "ckpt_eval_stdout.txt");
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    int rc = ct_cli_eval(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    size_t len = 0;
    unsigned char *b = read_bytes(cap, &len);
    size_t n = b ? (len < out_len - 1 ? len : out_len - 1) : 0;
    if (b) memcpy(out, b, n);
    out[n] = '\0';
    free(b);
    remove(cap);
    return rc;
}

static void test_eval_cli(void) {
    /* a 4x4 IDX test set: sample i has label i%10 and one bright pixel; every
     * fourth sample's bright pixel points at the wrong class */
    enum { N = 40, D = 16 };
    char dir[PATH_MAX], p[PATH_MAX + 64];
    tmp_path(dir, sizeof dir, "ckpt_eval_idx");
    mkdir(dir, 0755);
    unsigned char img[16 + N * D], lab[8 + N];
    put_be32(img, 0x803);
    put_be32(img + 4, N);
    put_be32(img + 8, 4);
    put_be32(img + 12, 4);
    put_be32(lab, 0x801);
    put_be32(lab + 4, N);
    unsigned long long rng = 99;
    int expect_correct = 0;
    for (int i = 0; i < N; i++) {
        int label = i % 10, bright = i % 4 == 3 ? (label + 1) % 10 : label;
        for (int k = 0; k < D; k++) img[16 + i * D + k] = (unsigned char)(ct_test_rng_next(&rng) % 60);
        img[16 + i * D + bright] = 255;
        lab[8 + i] = (unsigned char)label;
        expect_correct += bright == label;
    }
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    write_bytes(p, img, sizeof img);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", dir);
    write_bytes(p, lab, sizeof lab);

    /* 16-16-10: W1 = identity, W2 picks the first ten hidden units */
    const int sizes[] = {D, 16, 10};
    ct_mlp_spec spec = make_spec(3, sizes);
    ct_checkpoint ck;
    make_ck(&ck, &spec, 21, 0, 0);
    memset(ck.params, 0, ck.P * sizeof(float));
    size_t w, b;
    ct_mlp_layer_offsets(&spec, 0, &w, &b);
    for (int r = 0; r < 16; r++) ck.params[w + (size_t)r * D + r] = 1.0f;
    ct_mlp_layer_offsets(&spec, 1, &w, &b);
    for (int r = 0; r < 10; r++) ck.params[w + (size_t)r * 16 + r] = 1.0f;
    ck.norm_mean = 0.1f;
    ck.norm_std = 0.3f;
    ck.step = 4242;
    char path[PATH_MAX];
    tmp_path(path, sizeof path, "ckpt_eval.safetensors");
    CHECK_OK(ct_checkpoint_save(path, &ck));

    char out[4096];
    char *argv1[] = {"eval", "--checkpoint", path, "--data", dir, "--device", "cpu", "--json", NULL};
    int rc = run_eval(8, argv1, out, sizeof out);
    CHECK(rc == 0, "eval exit %d (output %s)", rc, out);
    CHECK(strstr(out, "\"samples\":40") && strstr(out, "\"step\":4242") && strstr(out, path), "eval json: %s", out);
    double acc = -1;
    const char *at = strstr(out, "\"test_acc\":");
    if (at) acc = strtod(at + 11, NULL);
    CHECK(fabs(acc - (double)expect_correct / N) < 1e-12, "test_acc %g, expected %g (%s)", acc,
          (double)expect_correct / N, out);

    char *argv2[] = {"eval", "--checkpoint", path, "--data", dir, "--device", "cpu", NULL};
    rc = run_eval(7, argv2, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "test_acc 0.7500 (30/40)"), "eval text: rc %d, %s", rc, out);

    /* a corrupted checkpoint: exit 2 */
    size_t len;
    unsigned char *f = read_bytes(path, &len);
    char badp[PATH_MAX];
    tmp_path(badp, sizeof badp, "ckpt_eval_bad.safetensors");
    if (f) {
        f[len / 2] ^= 0x04;
        write_bytes(badp, f, len);
        char *argv3[] = {"eval", "--checkpoint", badp, "--data", dir, "--device", "cpu", NULL};
        rc = run_eval(7, argv3, out, sizeof out);
        CHECK(rc == 2 && out[0] == '\0', "corrupted checkpoint: exit %d, stdout '%s'", rc, out);
        write_bytes(badp, f, len / 3);
        rc = run_eval(7, argv3, out, sizeof out);
        CHECK(rc == 2, "truncated checkpoint: exit %d", rc);
        free(f);
    }
    /* usage errors and a model that does not fit the data: exit 2 */
    char *argv4[] = {"eval", "--data", dir, NULL};
    CHECK(run_eval(3, argv4, out, sizeof out) == 2, "missing --checkpoint must exit 2");
    char *argv5[] = {"eval", "--checkpoint", path, "--bogus", NULL};
    CHECK(run_eval(4, argv5, out, sizeof out) == 2, "an unknown flag must exit 2");
    char *argv6[] = {"eval", "--help", NULL};
    CHECK(run_eval(2, argv6, out, sizeof out) == 0 && strstr(out, "--checkpoint FILE"), "--help: %s", out);
    const int wide[] = {25, 10};
    ct_mlp_spec ws = make_spec(2, wide);
    ct_checkpoint c2;
    make_ck(&c2, &ws, 22, 0, 0);
    CHECK_OK(ct_checkpoint_save(badp, &c2));
    char *argv7[] = {"eval", "--checkpoint", badp, "--data", dir, "--device", "cpu", NULL};
    CHECK(run_eval(7, argv7, out, sizeof out) == 2, "model/data mismatch must exit 2");
    ct_checkpoint_free(&c2);
    ct_checkpoint_free(&ck);
    remove(path);
    remove(badp);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", dir);
    remove(p);
    rmdir(dir);
}

int main(void) {
    const char *d = getenv("CT_TEST_TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/ckpt_test_%ld", d && *d ? d : "/tmp", (long)getpid());
    if (mkdir(g_dir, 0755) != 0) {
        fprintf(stderr, "cannot create %s: %s\n", g_dir, strerror(errno));
        return 1;
    }
    test_round_trip();
    test_layout();
    test_every_byte_flip();
    test_truncation();
    test_crafted();
    test_io_and_argument_errors();
    test_extra_records();
    test_kill_during_save();
    test_eval_cli();
    rmdir(g_dir);
    return ct_test_done("test_host_checkpoint");
}
