/* libFuzzer harness for the checkpoint (safetensors) reader, ct_checkpoint_load.
 * The reader checks a CRC-32 over the whole file last, after the structure, so
 * a mutated file would rarely get past it: the harness first rewrites the
 * digits of the first "crc32:XXXXXXXX" it finds with the right CRC (computed as
 * the format says: the file with those digits read as '0'), letting mutations
 * reach the success path too. The checksum-mismatch refusal is covered by the
 * unit tests. A file that loads is saved again (to a per-process file under
 * /tmp) and reloaded: the reload must reproduce every value bit for bit. */
#include <stdlib.h>
#include <zlib.h>

#include "fuzz_util.h"
#include "host/checkpoint.h"

static char out_path[64];

static void cleanup(void) { unlink(out_path); }

static int is_hex(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static void fix_checksum(uint8_t *buf, size_t size) {
    static const char tag[] = "crc32:";
    for (size_t i = 0; i + 14 <= size; i++) {
        if (memcmp(buf + i, tag, 6) != 0) continue;
        int ok = 1;
        for (int j = 6; j < 14; j++) ok = ok && is_hex(buf[i + j]);
        if (!ok) continue;
        memset(buf + i + 6, '0', 8);
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, buf, (uInt)size);
        char digits[9];
        snprintf(digits, sizeof digits, "%08lx", (unsigned long)(crc & 0xFFFFFFFFul));
        memcpy(buf + i + 6, digits, 8);
        return;
    }
}

static int same_floats(const float *a, const float *b, size_t n) {
    if (!n) return 1;
    if (!a || !b) return a == b;
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static int same_str(const char *a, const char *b) { return (!a || !b) ? a == b : strcmp(a, b) == 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fz_file in;
    if (!in.path[0]) {
        fz_file_open(&in, "ct-fuzz-checkpoint");
        snprintf(out_path, sizeof out_path, "/tmp/ct-fuzz-checkpoint.%ld.safetensors", (long)getpid());
        atexit(cleanup);
    }
    if (size > (1u << 20)) return 0; /* keeps each run fast; small files reach every check */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    fix_checksum(buf, size);
    fz_file_set(&in, buf, size);
    free(buf);

    ct_checkpoint ck;
    ct_status st = ct_checkpoint_load(in.path, &ck);
    if (st != CT_OK) {
        /* refused: nothing handed back */
        if (ck.params || ck.momentum || ck.state || ck.config_json || ck.extra || ck.n_state) abort();
        return 0;
    }
    if (!ck.params || ck.P != ct_model_param_count(&ck.spec) || !(ck.norm_std > 0)) abort();
    /* whatever the reader accepts, the writer must accept too */
    st = ct_checkpoint_save(out_path, &ck);
    if (st == CT_ERR_INVALID_ARG) abort();
    if (st == CT_OK) {
        ct_checkpoint again;
        if (ct_checkpoint_load(out_path, &again) != CT_OK) abort();
        if (again.P != ck.P || memcmp(&again.spec, &ck.spec, sizeof ck.spec) != 0 ||
            !same_floats(again.params, ck.params, ck.P) || !same_floats(again.momentum, ck.momentum, ck.P) ||
            again.step != ck.step || again.epoch != ck.epoch || again.step_in_epoch != ck.step_in_epoch ||
            again.seed != ck.seed || memcmp(&again.virtual_time, &ck.virtual_time, sizeof(double)) != 0 ||
            again.n_state != ck.n_state || !same_str(again.config_json, ck.config_json) ||
            !same_str(again.extra, ck.extra))
            abort();
        for (int i = 0; i < ck.n_state; i++)
            if (!same_str(again.state[i].name, ck.state[i].name) || again.state[i].count != ck.state[i].count ||
                !same_floats(again.state[i].data, ck.state[i].data, ck.state[i].count))
                abort();
        ct_checkpoint_free(&again);
    }
    ct_checkpoint_free(&ck);
    return 0;
}
