/* The cpu-streams backend models CUDA's stream semantics faithfully enough to
 * catch the GPU path's ordering and hang hazards without a GPU: ops run later,
 * in order, on the stream; events complete when the stream reaches them;
 * allocation, free and first kernel use wait for every stream of the device;
 * pinned copies are asynchronous, pageable ones wait; errors are sticky;
 * graphs record and replay as CUDA stream capture does.
 * No timing assertions: every check is about order (a throttle that only a
 * helper thread ends tells whether a call waited for it). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct_test.h"
#include "kernels/backend.h"

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* cancels a throttle from another thread after a while */
typedef struct canceller {
    volatile int *flag;
    int after_ms;
} canceller;
static void *cancel_main(void *arg) {
    canceller *c = arg;
    sleep_ms(c->after_ms);
    *c->flag = 1;
    return NULL;
}

static ct_backend *make(int device, int warm) {
    ct_backend_config cfg = CT_BACKEND_CONFIG_INIT;
    cfg.device_index = device;
    ct_backend *be = NULL;
    /* ct_backend_create warms every kernel up; the raw constructor does not */
    ct_status st = warm ? ct_backend_create(CT_DEVICE_CPU_STREAMS, &cfg, &be) : ct_cpu_streams_backend_create(&cfg, &be);
    CHECK(st == CT_OK && be, "create cpu-streams context on device %d: %s", device, ct_last_error());
    return be;
}

/* ops are enqueued, not run: behind a throttle nothing happens until it ends */
static void test_async_order(void) {
    ct_backend *a = make(0, 1);
    if (!a) return;
    const ct_backend_ops *o = a->ops;
    float *x = NULL, *host = NULL;
    volatile int *flag = NULL;
    ct_event *ev = NULL;
    CHECK_OK(o->alloc(a, 16 * sizeof(float), (void **)&x));
    CHECK_OK(o->host_alloc(a, 16 * sizeof(float), (void **)&host));
    CHECK_OK(o->flag_alloc(a, &flag));
    CHECK_OK(o->event_create(a, &ev));
    CHECK_OK(o->fill(a, 16, 1.0f, x));
    CHECK_OK(o->sync(a));
    for (int i = 0; i < 16; i++) host[i] = -1.0f;
    CHECK_OK(o->throttle(a, 1e12, flag)); /* until cancelled */
    CHECK_OK(o->fill(a, 16, 2.0f, x));
    CHECK_OK(o->memcpy_d2h(a, host, x, 16 * sizeof(float))); /* pinned: enqueued */
    CHECK_OK(o->event_record(a, ev));
    int done = 1;
    CHECK_OK(o->event_query(a, ev, &done));
    CHECK(done == 0, "event_query: done while the stream is held by a throttle");
    CHECK(host[0] == -1.0f, "a pinned d2h copy behind a throttle ran before the throttle ended");
    *flag = 1;
    CHECK_OK(o->sync(a));
    CHECK_OK(o->event_query(a, ev, &done));
    CHECK(done == 1 && host[0] == 2.0f && host[15] == 2.0f, "after the cancel and sync: done=%d host[0]=%g", done,
          host[0]);
    /* a pageable d2h waits for the stream (and counts as a host synchronisation) */
    *flag = 0;
    float pageable[16];
    pthread_t th;
    canceller c = {flag, 50};
    CHECK_OK(o->throttle(a, 1e12, flag));
    CHECK_OK(o->fill(a, 16, 3.0f, x));
    pthread_create(&th, NULL, cancel_main, &c);
    const long before = ct_cpu_streams_host_syncs(a);
    CHECK_OK(o->memcpy_d2h(a, pageable, x, sizeof pageable));
    CHECK(pageable[0] == 3.0f && pageable[15] == 3.0f, "pageable d2h returned before the stream reached it (%g)",
          pageable[0]);
    CHECK(ct_cpu_streams_host_syncs(a) == before + 1, "a pageable copy is one host synchronisation (%ld -> %ld)", before,
          ct_cpu_streams_host_syncs(a));
    pthread_join(th, NULL);
    *flag = 0;
    const long b2 = ct_cpu_streams_host_syncs(a);
    CHECK_OK(o->memcpy_d2h(a, host, x, 16 * sizeof(float)));
    CHECK_OK(o->memcpy_h2d(a, x, host, 16 * sizeof(float)));
    CHECK(ct_cpu_streams_host_syncs(a) == b2, "pinned copies must not wait for the stream");
    CHECK_OK(o->sync(a));
    CHECK(ct_cpu_streams_host_syncs(a) == b2 + 1, "sync is one host synchronisation");
    o->event_destroy(a, ev);
    o->flag_free(a, flag);
    o->host_free(a, host);
    o->free(a, x);
    ct_backend_destroy(a);
}

/* free on one context waits for another context's throttle on the same device
 * (the teardown hazard), not for a context on another device */
static void test_device_wide_free(void) {
    ct_backend *a = make(1, 1), *b = make(1, 1), *other = make(2, 1);
    if (!a || !b || !other) return;
    volatile int *flag = NULL;
    ct_event *ev = NULL;
    float *buf = NULL, *obuf = NULL;
    CHECK_OK(a->ops->flag_alloc(a, &flag));
    CHECK_OK(a->ops->event_create(a, &ev));
    CHECK_OK(b->ops->alloc(b, 64, (void **)&buf));
    CHECK_OK(other->ops->alloc(other, 64, (void **)&obuf));
    CHECK_OK(a->ops->throttle(a, 1e12, flag));
    CHECK_OK(a->ops->event_record(a, ev));
    int done = 1;
    other->ops->free(other, obuf); /* another device: must not wait */
    CHECK_OK(a->ops->event_query(a, ev, &done));
    CHECK(done == 0, "a free on another device waited for this device's throttle");
    pthread_t th;
    canceller c = {flag, 50};
    pthread_create(&th, NULL, cancel_main, &c);
    b->ops->free(b, buf); /* same device: waits until the helper cancels a's throttle */
    CHECK_OK(a->ops->event_query(a, ev, &done));
    CHECK(done == 1, "free returned while another stream of the device was still throttled");
    pthread_join(th, NULL);
    a->ops->event_destroy(a, ev);
    a->ops->flag_free(a, flag);
    ct_backend_destroy(other);
    ct_backend_destroy(b);
    ct_backend_destroy(a);
}

/* lazy loading: a kernel's first use on a device waits for the device; after
 * the warm-up that ct_backend_create does, no op waits */
static void test_first_use_waits(void) {
    ct_backend *a = make(3, 0), *b = make(3, 0);
    if (!a || !b) return;
    volatile int *flag = NULL;
    ct_event *ev = NULL;
    float *x = NULL;
    CHECK_OK(a->ops->flag_alloc(a, &flag));
    CHECK_OK(a->ops->event_create(a, &ev));
    CHECK_OK(b->ops->alloc(b, 64, (void **)&x));
    CHECK_OK(a->ops->throttle(a, 1e12, flag));
    CHECK_OK(a->ops->event_record(a, ev));
    pthread_t th;
    canceller c = {flag, 50};
    pthread_create(&th, NULL, cancel_main, &c);
    CHECK_OK(b->ops->scale(b, 16, 2.0f, x)); /* first scale on device 3 */
    int done = 0;
    CHECK_OK(a->ops->event_query(a, ev, &done));
    CHECK(done == 1, "the first launch of a kernel on a device returned while a throttle held another stream");
    pthread_join(th, NULL);
    *flag = 0;
    /* warmed-up contexts on a fresh device: nothing waits for the throttle */
    ct_backend *w1 = make(4, 1), *w2 = make(4, 1);
    if (w1 && w2) {
        float *y = NULL;
        CHECK_OK(w2->ops->alloc(w2, 64 * sizeof(float), (void **)&y));
        CHECK_OK(w1->ops->throttle(w1, 1e12, flag));
        CHECK_OK(w1->ops->event_record(w1, ev));
        CHECK_OK(w2->ops->fill(w2, 64, 1.0f, y));
        CHECK_OK(w2->ops->gemm(w2, 0, 1, 4, 4, 4, 1.0f, y, 4, y + 16, 4, 0.0f, y + 32, 4));
        CHECK_OK(w2->ops->sync(w2));
        CHECK_OK(w1->ops->event_query(w1, ev, &done));
        CHECK(done == 0, "a warmed-up context's ops waited for another stream's throttle");
        *flag = 1;
        CHECK_OK(w1->ops->sync(w1));
        w2->ops->free(w2, y);
    }
    ct_backend_destroy(w1);
    ct_backend_destroy(w2);
    b->ops->free(b, x);
    a->ops->event_destroy(a, ev);
    a->ops->flag_free(a, flag);
    ct_backend_destroy(b);
    ct_backend_destroy(a);
}

/* host arrays are copied at enqueue; a failing op poisons the stream */
static void test_copies_and_sticky_error(void) {
    ct_backend *a = make(0, 1);
    if (!a) return;
    const ct_backend_ops *o = a->ops;
    enum { P = 100 };
    float *g = NULL, *y = NULL, *logits = NULL, *loss = NULL;
    int32_t *labels = NULL;
    volatile int *flag = NULL;
    CHECK_OK(o->alloc(a, 2 * P * sizeof(float), (void **)&g));
    CHECK_OK(o->alloc(a, P * sizeof(float), (void **)&y));
    CHECK_OK(o->flag_alloc(a, &flag));
    CHECK_OK(o->fill(a, 2 * P, 1.0f, g));
    CHECK_OK(o->throttle(a, 1e12, flag));
    float E[2] = {2.0f, 3.0f};
    const float *G[2] = {g, g + P};
    CHECK_OK(o->combine(a, 1, 2, E, G, P, &y, 0.0f));
    E[0] = E[1] = 100.0f; /* the op read its coefficients when it was called */
    G[0] = G[1] = NULL;
    *flag = 1;
    double n = 0;
    CHECK_OK(o->nrm2(a, P, y, &n));
    CHECK(fabs(n - 5.0 * sqrt((double)P)) < 1e-9 * n, "combine used its arguments as of the call: nrm2 %g", n);
    /* a label out of range: the op fails on the stream; the next wait reports it */
    CHECK_OK(o->alloc(a, 4 * sizeof(float), (void **)&logits));
    CHECK_OK(o->alloc(a, sizeof(float), (void **)&loss));
    CHECK_OK(o->alloc(a, sizeof(int32_t), (void **)&labels));
    CHECK_OK(o->fill(a, 4, 0.0f, logits));
    const int32_t bad = 9;
    CHECK_OK(o->memcpy_h2d(a, labels, &bad, sizeof bad));
    ct_status st = o->softmax_xent(a, 1, 4, logits, labels, NULL, logits, loss);
    CHECK(st == CT_OK, "softmax_xent is only enqueued; it fails later");
    st = o->sync(a);
    CHECK(st != CT_OK && strstr(ct_last_error(), "earlier operation"), "sync after a failed op: %s",
          st == CT_OK ? "ok" : ct_last_error());
    CHECK(o->fill(a, 4, 0.0f, logits) != CT_OK, "an op after a failure must report the sticky error");
    o->flag_free(a, flag);
    o->free(a, g);
    o->free(a, y);
    o->free(a, logits);
    o->free(a, loss);
    o->free(a, labels);
    ct_backend_destroy(a);
}

/* graphs: a capture records (runs nothing), a replay runs the ops with the
 * arguments of capture time; waits, allocations and first loads spoil it */
static void test_graphs(void) {
    ct_backend *a = make(5, 1);
    if (!a) return;
    const ct_backend_ops *o = a->ops;
    enum { P = 64 };
    float *x = NULL, *y = NULL, *h = NULL;
    CHECK_OK(o->alloc(a, P * sizeof(float), (void **)&x));
    CHECK_OK(o->alloc(a, P * sizeof(float), (void **)&y));
    CHECK_OK(o->host_alloc(a, P * sizeof(float), (void **)&h));
    CHECK_OK(o->fill(a, P, -1.0f, y));
    CHECK_OK(o->sync(a));
    float E[1] = {3.0f};
    const float *G[1] = {x};
    ct_graph *g = NULL;
    CHECK_OK(o->graph_begin(a));
    CHECK_OK(o->fill(a, P, 1.0f, x));
    CHECK_OK(o->scale(a, P, 2.0f, x));
    CHECK_OK(o->combine(a, 1, 1, E, G, P, &y, 0.0f));
    CHECK_OK(o->memcpy_d2h(a, h, y, P * sizeof(float))); /* pinned: capturable */
    CHECK_OK(o->graph_end(a, &g));
    E[0] = 100.0f; /* baked at capture */
    h[0] = 0.0f;
    CHECK_OK(o->sync(a));
    CHECK(h[0] == 0.0f, "a capture ran its ops (h[0] = %g)", h[0]);
    for (int rep = 0; rep < 2 && g; rep++) {
        CHECK_OK(o->fill(a, P, 7.0f, x)); /* overwritten by the replay's own fill */
        CHECK_OK(o->graph_launch(a, g));
        CHECK_OK(o->sync(a));
        CHECK(h[0] == 6.0f && h[P - 1] == 6.0f, "replay %d: y = 3 * (2 * 1) expected, got %g", rep, h[0]);
    }
    o->graph_destroy(a, g);
    /* a sync while recording fails, spoils the capture, and leaves the context usable */
    CHECK_OK(o->graph_begin(a));
    CHECK_OK(o->fill(a, P, 1.0f, x));
    CHECK(o->sync(a) == CT_ERR_UNSUPPORTED, "sync while recording must fail");
    g = NULL;
    CHECK(o->graph_end(a, &g) != CT_OK && g == NULL, "a spoilt capture must not give a graph");
    void *p = NULL;
    CHECK_OK(o->graph_begin(a));
    CHECK(o->alloc(a, 16, &p) == CT_ERR_UNSUPPORTED && p == NULL, "alloc while recording must fail");
    CHECK(o->graph_end(a, &g) != CT_OK, "a capture with an alloc must fail");
    CHECK_OK(o->fill(a, P, 4.0f, y));
    CHECK_OK(o->memcpy_d2h(a, h, y, P * sizeof(float)));
    CHECK_OK(o->sync(a));
    CHECK(h[5] == 4.0f, "the context after a spoilt capture: %g", h[5]);
    o->host_free(a, h);
    o->free(a, x);
    o->free(a, y);
    ct_backend_destroy(a);
    /* a kernel's first use cannot be recorded (module loading) */
    ct_backend *cold = make(6, 0);
    if (cold) {
        float *z = NULL;
        CHECK_OK(cold->ops->alloc(cold, 64, (void **)&z));
        CHECK_OK(cold->ops->graph_begin(cold));
        CHECK(cold->ops->axpy(cold, 4, 1.0f, z, z + 4) == CT_ERR_UNSUPPORTED, "a first use while recording must fail");
        CHECK(cold->ops->graph_end(cold, &g) != CT_OK, "a capture with a first use must fail");
        cold->ops->free(cold, z);
        ct_backend_destroy(cold);
    }
}

int main(void) {
    test_async_order();
    test_device_wide_free();
    test_first_use_waits();
    test_copies_and_sticky_error();
    test_graphs();
    return ct_test_done("test_backend_cpu_streams");
}
