/* libFuzzer harness for the CIFAR-10 binary reader (ct_dataset_load_cifar10).
 * The reader takes a directory, so each process makes one under /tmp (removed
 * at exit). Input: one mode byte, then the batch bytes. Test mode writes them
 * all to test_batch.bin; train mode splits them into data_batch_1..5.bin at
 * record-ish boundaries chosen by the mode byte, so missing, empty and uneven
 * batch files are all reachable. */
#include <stdlib.h>
#include <sys/stat.h>

#include "codedtrain/data.h"
#include "fuzz_util.h"

static char dir[64];

static void cleanup(void) {
    char p[128];
    for (int i = 1; i <= 5; i++) {
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, i);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    unlink(p);
    rmdir(dir);
}

static void put(const char *name, const uint8_t *data, size_t size) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) { perror(p); abort(); }
    if (size && fwrite(data, 1, size, f) != size) { perror(p); abort(); }
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/ct-fuzz-cifar.XXXXXX");
        if (!mkdtemp(dir)) { perror("mkdtemp"); abort(); }
        atexit(cleanup);
    }
    unsigned mode = (unsigned)fz_take(&data, &size, 1);
    int train = mode & 1;
    char p[128];
    for (int i = 1; i <= 5; i++) { /* no batch files left over from the last input */
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, i);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    unlink(p);
    if (train) {
        /* bits 1..3: how many batch files exist (0..5); records are 3073 bytes */
        int files = (int)((mode >> 1) & 7);
        if (files > 5) files = 5;
        size_t at = 0;
        for (int i = 1; i <= files; i++) {
            size_t left = size - at;
            size_t chunk = i == files ? left : (left < 3073 ? left : 3073);
            char name[32];
            snprintf(name, sizeof name, "data_batch_%d.bin", i);
            put(name, data + at, chunk);
            at += chunk;
        }
    } else {
        put("test_batch.bin", data, size);
    }
    ct_dataset d;
    ct_status st = ct_dataset_load_cifar10(dir, train, &d);
    if (st == CT_OK) {
        if (d.n < 1 || d.dim != 3072 || d.classes != 10 || !d.x || !d.y) abort();
        for (int i = 0; i < d.n; i++)
            if (d.y[i] < 0 || d.y[i] >= 10) abort();
    } else if (d.n || d.x || d.y) {
        abort();
    }
    ct_dataset_free(&d);
    return 0;
}
