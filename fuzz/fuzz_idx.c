/* libFuzzer harness for the IDX reader (ct_dataset_load_idx), raw or gzip'd.
 * Input: u32 LE split point, then the image file followed by the label file
 * (image bytes = split mod (remaining + 1)), so the fuzzer mutates both files
 * and their relation (counts, truncation, trailing bytes). */
#include <stdlib.h>

#include "codedtrain/data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fz_file images, labels;
    if (!images.path[0]) {
        fz_file_open(&images, "ct-fuzz-images");
        fz_file_open(&labels, "ct-fuzz-labels");
    }
    size_t split = (size_t)fz_take(&data, &size, 4) % (size + 1);
    fz_file_set(&images, data, split);
    fz_file_set(&labels, data + split, size - split);

    ct_dataset d;
    ct_status st = ct_dataset_load_idx(images.path, labels.path, &d);
    if (st == CT_OK) {
        /* the loader's promises: sizes consistent, labels in range, pixels in [0,1] */
        if (d.n < 1 || d.dim < 1 || d.classes != 10 || !d.x || !d.y) abort();
        for (int i = 0; i < d.n; i++)
            if (d.y[i] < 0 || d.y[i] >= d.classes) abort();
        for (size_t i = 0; i < (size_t)d.n * (size_t)d.dim; i++)
            if (!(d.x[i] >= 0.0f && d.x[i] <= 1.0f)) abort();
    } else if (d.n || d.x || d.y) {
        abort(); /* a failed load must leave *out zeroed */
    }
    ct_dataset_free(&d);
    return 0;
}
