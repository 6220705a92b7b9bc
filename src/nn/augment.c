/* Data augmentation of image samples (random crop with zero padding,
 * horizontal flip), drawn from a counter-based hash of (seed, epoch, sample
 * index) only: whichever worker computes a sample, and in whatever order, it
 * gets the same augmented copy, so coded messages still decode to the true
 * gradient of the augmented minibatch (docs/models.md). */
#include <stdlib.h>
#include <string.h>

#include "codedtrain/data.h"
#include "codedtrain/rng.h"

ct_status ct_augment_parse(const char *s, ct_augment *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_augment_parse: out is NULL");
    memset(out, 0, sizeof *out);
    if (!s || !strcmp(s, "none")) return CT_OK;
    const char *p = s;
    for (;;) {
        const char *end = strchr(p, '+');
        const size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 4 && !strncmp(p, "flip", 4) && !out->flip) {
            out->flip = 1;
        } else if (len > 5 && !strncmp(p, "crop:", 5) && !out->crop_pad) {
            long v = 0;
            for (size_t i = 5; i < len; i++) {
                if (p[i] < '0' || p[i] > '9' || v > 64)
                    return CT_FAIL(CT_ERR_INVALID_ARG, "--augment '%s': crop:P takes a padding P in 1..64", s);
                v = v * 10 + (p[i] - '0');
            }
            if (v < 1 || v > 64) return CT_FAIL(CT_ERR_INVALID_ARG, "--augment '%s': crop:P takes a padding P in 1..64", s);
            out->crop_pad = (int)v;
        } else {
            return CT_FAIL(CT_ERR_INVALID_ARG,
                           "--augment '%s': unknown or repeated part '%.*s' (expected none, crop:P, flip or crop:P+flip)", s,
                           (int)len, p);
        }
        if (!end) break;
        p = end + 1;
    }
    return CT_OK;
}

int ct_augment_active(const ct_augment *a) { return a && (a->crop_pad > 0 || a->flip); }

void ct_augment_sample(const ct_dataset *d, const ct_augment *a, uint64_t seed, int epoch, int32_t idx, float *out) {
    const float *x = d->x + (size_t)idx * d->dim;
    if (!ct_augment_active(a) || d->c < 1) {
        memcpy(out, x, (size_t)d->dim * sizeof(float));
        return;
    }
    /* one 64-bit draw per (seed, epoch, sample): shifts in [-pad, pad] and the flip bit */
    const uint64_t r = ct_hash64(ct_hash64(seed ^ 0x4155474dull, (uint64_t)epoch), (uint64_t)idx);
    const int span = 2 * a->crop_pad + 1;
    const int dy = a->crop_pad ? (int)(r % (uint64_t)span) - a->crop_pad : 0;
    const int dx = a->crop_pad ? (int)((r >> 16) % (uint64_t)span) - a->crop_pad : 0;
    const int flip = a->flip && ((r >> 40) & 1u);
    for (int c = 0; c < d->c; c++)
        for (int y = 0; y < d->h; y++) {
            float *o = out + ((size_t)c * d->h + y) * d->w;
            const int sy = y + dy;
            for (int xo = 0; xo < d->w; xo++) {
                const int sx = (flip ? d->w - 1 - xo : xo) + dx;
                o[xo] = (sy >= 0 && sy < d->h && sx >= 0 && sx < d->w) ? x[((size_t)c * d->h + sy) * d->w + sx] : 0.0f;
            }
        }
}
