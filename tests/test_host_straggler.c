/* Straggler models: parsing, errors naming the spec, determinism, and the
 * sample statistics of each random model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct_test.h"
#include "host/straggler.h"

static void test_bad_specs(void) {
    const char *bad[] = {"slow:1", "slow:9@2", "slow:1@0.5", "shifted-exp:1", "pareto:0,1", "bimodal:2,5",
                         "drop:-1", "warp:3", "none+", "drop:1,x", "trace:/no/such/file.csv"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ct_straggler *s = (ct_straggler *)1;
        ct_status st = ct_straggler_create(bad[i], 8, 1, &s);
        CHECK(st == CT_ERR_INVALID_ARG || st == CT_ERR_IO, "'%s' accepted (status %d)", bad[i], st);
        CHECK(s == NULL, "'%s': out not cleared", bad[i]);
        CHECK(strstr(ct_last_error(), bad[i]) || strstr(ct_last_error(), "/no/such/file.csv"),
              "'%s': message does not name the spec: %s", bad[i], ct_last_error());
    }
}

static void test_fixed_models(void) {
    ct_straggler *s = NULL;
    CHECK_OK(ct_straggler_create("slow:1,3@4+drop:5+nan:6", 8, 7, &s));
    if (!s) return;
    for (int w = 0; w < 8; w++) {
        ct_straggle_draw d = ct_straggler_draw(s, w, 3);
        CHECK(d.factor == ((w == 1 || w == 3) ? 4.0 : 1.0), "worker %d factor %g", w, d.factor);
        CHECK(d.dead == (w == 5), "worker %d dead %d", w, d.dead);
        CHECK(d.poison == (w == 6), "worker %d poison %d", w, d.poison);
        CHECK(d.delay_ms == 0, "worker %d delay %g", w, d.delay_ms);
    }
    ct_straggler_destroy(s);
}

static void test_random_models(void) {
    const int n = 16, steps = 4000;
    ct_straggler *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(ct_straggler_create("shifted-exp:2,3", n, 11, &a));
    CHECK_OK(ct_straggler_create("shifted-exp:2,3", n, 11, &b));
    CHECK_OK(ct_straggler_create("shifted-exp:2,3", n, 12, &c));
    if (!a || !b || !c) return;
    double sum = 0, sumsq = 0, minv = 1e9;
    int differs = 0;
    for (long t = 0; t < steps; t++)
        for (int w = 0; w < n; w++) {
            double x = ct_straggler_draw(a, w, t).delay_ms;
            CHECK(x == ct_straggler_draw(b, w, t).delay_ms, "same seed differs at (%d,%ld)", w, t);
            differs += x != ct_straggler_draw(c, w, t).delay_ms;
            sum += x;
            sumsq += x * x;
            if (x < minv) minv = x;
        }
    double N = (double)steps * n, mean = sum / N, sd = sqrt(sumsq / N - mean * mean);
    CHECK(minv >= 2.0, "shifted-exp below its shift: %g", minv);
    CHECK(fabs(mean - 5.0) < 4 * 3.0 / sqrt(N), "shifted-exp mean %g, expected 5", mean);
    CHECK(fabs(sd - 3.0) < 0.1, "shifted-exp sd %g, expected 3", sd);
    CHECK(differs > N * 0.99, "a different seed changed only %d of %g draws", differs, N);
    ct_straggler_destroy(a);
    ct_straggler_destroy(b);
    ct_straggler_destroy(c);

    CHECK_OK(ct_straggler_create("bimodal:0.25,40", n, 3, &a));
    CHECK_OK(ct_straggler_create("pareto:3,2", n, 3, &b));
    if (!a || !b) return;
    long slow = 0;
    double psum = 0, pmin = 1e9;
    for (long t = 0; t < steps; t++)
        for (int w = 0; w < n; w++) {
            double x = ct_straggler_draw(a, w, t).delay_ms;
            CHECK(x == 0 || x == 40, "bimodal value %g", x);
            slow += x == 40;
            double p = ct_straggler_draw(b, w, t).delay_ms;
            psum += p;
            if (p < pmin) pmin = p;
        }
    double frac = slow / N;
    CHECK(fabs(frac - 0.25) < 4 * sqrt(0.25 * 0.75 / N), "bimodal slow fraction %g", frac);
    CHECK(pmin >= 2.0, "pareto below its scale: %g", pmin);
    /* Pareto(alpha=3, x_m=2) has mean alpha x_m / (alpha-1) = 3 */
    CHECK(fabs(psum / N - 3.0) < 0.1, "pareto mean %g, expected 3", psum / N);
    ct_straggler_destroy(a);
    ct_straggler_destroy(b);
}

static void test_trace(void) {
    const char *dir = getenv("CT_TEST_TMPDIR") ? getenv("CT_TEST_TMPDIR") : "/tmp";
    char path[1024], spec[1100];
    snprintf(path, sizeof path, "%s/straggler_trace_%d.csv", dir, (int)getpid());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fprintf(f, "w0,w1,w2\n1.5,0,inf\n2,3,4\n");
    fclose(f);
    snprintf(spec, sizeof spec, "trace:%s", path);
    ct_straggler *s = NULL;
    CHECK_OK(ct_straggler_create(spec, 3, 1, &s));
    if (s) {
        CHECK(ct_straggler_draw(s, 0, 0).delay_ms == 1.5, "trace (0,0)");
        CHECK(ct_straggler_draw(s, 2, 0).dead == 1, "trace inf must be dead");
        CHECK(ct_straggler_draw(s, 2, 1).delay_ms == 4, "trace (2,1)");
        CHECK(ct_straggler_draw(s, 1, 3).delay_ms == 3, "trace wraps around");
        ct_straggler_destroy(s);
    }
    /* a row with too few columns is refused naming file:line */
    f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "1,2,3\n4,5\n");
    fclose(f);
    s = NULL;
    ct_status st = ct_straggler_create(spec, 3, 1, &s);
    CHECK(st == CT_ERR_FORMAT && s == NULL, "short row accepted (%d)", st);
    CHECK(strstr(ct_last_error(), ":2:") != NULL, "message lacks the line number: %s", ct_last_error());
    remove(path);
}

int main(void) {
    test_bad_specs();
    test_fixed_models();
    test_random_models();
    test_trace();
    return ct_test_done("test_host_straggler");
}
