/* The master loop of coded training (see master.h). */
#define _GNU_SOURCE /* qsort_r */
#include "host/master.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codedtrain/rng.h"
#include "host/async_decode.h"
#include "host/checkpoint.h"
#include "host/clock.h"
#include "host/policy.h"
#include "host/transport_mpi.h"
#include "host/step_bound.h"
#include "host/weighted_pass.h"
#include "host/master_internal.h"

/* a cancelled worker in its delay unwinds in microseconds; one that has not
 * after this long is broken, not slow */
#define CT_UNWIND_CAP_S 10.0

/* a worker whose results are non-finite this many times in a row is marked dead */
#define CT_FAULTS_TO_DEAD 3

/* exact codes waiting "until decodable" give up after this long (real clock) */
#define CT_SAFETY_CAP_S 60.0


static int code_max(int a, int b) { return a > b ? a : b; }

const ct_code *ct_master_code(const ct_master *m) { return m->code; }
int ct_master_per_part(const ct_master *m) { return m->per_part; }
int ct_master_steps_per_epoch(const ct_master *m) { return m->steps_per_epoch; }
int ct_master_batch(const ct_master *m) { return m->batch; }
const char *ct_master_describe(const ct_master *m) { return m->desc; }
const char *ct_master_gradient_path(const ct_master *m) {
    return m->weighted ? "one weighted pass" : "per-worker messages";
}
ct_worker *ct_master_worker(ct_master *m, int i) { return i >= 0 && i < m->n ? m->w[i] : NULL; }

double ct_master_now(const ct_master *m) {
    return m->cfg->clock == CT_CLOCK_VIRTUAL ? m->vnow : ct_now_s() - m->t0;
}

static ct_status make_code(ct_master *m) {
    const ct_train_config *c = m->cfg;
    ct_code_spec spec = CT_CODE_SPEC_INIT;
    CT_TRY(ct_code_scheme_parse(c->code, &spec.scheme));
    spec.n_workers = c->workers;
    spec.stragglers = c->stragglers;
    spec.load = c->load;
    spec.messages = c->messages;
    spec.alpha = (spec.scheme == CT_CODE_ALPHA_SUBSET || spec.scheme == CT_CODE_ALPHA_CYCLIC) ? c->alpha : 0.0;
    spec.seed = c->seed;
    CT_TRY(ct_policy_create(c->policy, c->k_schedule, c->workers, c->k, c->seed, &m->policy));
    const ct_policy_kind kind = ct_policy_get_kind(m->policy);
    /* using only k of an uncoded assignment is the "ignore" scheme (g_hat rescaled by n/|arrived|) */
    if (kind != CT_POLICY_ALL && spec.scheme == CT_CODE_UNCODED) {
        spec.scheme = CT_CODE_IGNORE;
        spec.stragglers = c->workers - ct_policy_k(m->policy, 0);
    }
    CT_TRY(ct_code_create(&spec, &m->code));
    /* an exact code cannot decode from an arbitrary subset of k workers */
    if ((kind == CT_POLICY_ADAPTIVE_K || ct_policy_is_bandit(m->policy)) && ct_code_is_exact(m->code))
        return CT_FAIL(CT_ERR_INVALID_ARG,
                       "--policy %s gives or uses only k workers' results; exact code %s cannot decode from any k: "
                       "use --code uncoded (ignore) or an approximate code",
                       c->policy, c->code);
    return CT_OK;
}

ct_status ct_master_create(const ct_train_config *c, const ct_model_spec *spec, const ct_dataset *train,
                           ct_backend *master_be, ct_master **out) {
    *out = NULL;
    ct_master *m = calloc(1, sizeof *m);
    if (!m) return CT_FAIL(CT_ERR_NOMEM, "master: out of memory");
    ct_status st = CT_OK;
    m->cfg = c;
    m->be = master_be;
    m->data = train;
    m->P = ct_model_param_count(spec);
    m->t0 = ct_now_s();
#define GO(x) do { if (st == CT_OK) st = (x); } while (0)
    GO(ct_augment_parse(c->augment, &m->augment));
    if (st == CT_OK && ct_augment_active(&m->augment) && train->c < 1)
        st = CT_FAIL(CT_ERR_INVALID_ARG, "--augment %s needs image data (IDX or CIFAR-10), not flat features", c->augment);
    if (st == CT_OK && ct_augment_active(&m->augment) && c->transport != 0)
        st = CT_FAIL(CT_ERR_UNSUPPORTED, "--augment is not supported with --transport mpi or nccl yet");
    GO(make_code(m));
    if (st == CT_OK) {
        m->n = ct_code_n_workers(m->code);
        m->k = ct_code_n_partitions(m->code);
        m->words = ct_code_mask_words(m->code);
        m->part_size = train->n / m->k;
        m->per_part = code_max(1, c->batch / m->k);
        if (m->part_size < m->per_part)
            st = CT_FAIL(CT_ERR_INVALID_ARG, "%d training samples cannot fill %d partitions of %d samples per step",
                         train->n, m->k, m->per_part);
        m->steps_per_epoch = m->part_size / m->per_part;
        m->batch = m->per_part * m->k;
        if (c->load && ct_code_max_load(m->code) > CT_COMBINE_MAX)
            st = CT_FAIL(CT_ERR_INVALID_ARG, "--load %d: at most %d partitions per worker", ct_code_max_load(m->code), CT_COMBINE_MAX);
    }
    GO(ct_straggler_create(c->straggle, c->workers, c->seed ^ 0x5354524147474C45ull, &m->strag));
    if (st == CT_OK && ct_policy_is_bandit(m->policy)) {
        /* regret needs the true mean response times: known for exponential-delay models */
        double means[4096];
        int known = m->n <= 4096;
        for (int i = 0; known && i < m->n; i++) {
            known = ct_straggler_exp_mean_ms(m->strag, i, &means[i]);
            means[i] *= 1e-3;
        }
        if (known) st = ct_policy_set_oracle_means(m->policy, means);
        m->has_oracle = known && st == CT_OK;
    }
    if (st == CT_OK && c->async) {
        if (!(c->deadline_ms > 0))
            st = CT_FAIL(CT_ERR_INVALID_ARG, "--async needs --deadline-ms: the step ends at the deadline, not when decodable");
        else if (ct_policy_get_kind(m->policy) != CT_POLICY_ALL)
            st = CT_FAIL(CT_ERR_INVALID_ARG, "--async decodes by peeling; it does not combine with --policy %s", c->policy);
        else
            st = ct_async_create(m->code, master_be, m->P, c->max_staleness, c->lossy_lsq ? CT_LOSSY_LSQ : CT_LOSSY_ZERO,
                                 &m->async);
        if (st == CT_OK && !(m->pending = calloc((size_t)m->n, 1))) st = CT_FAIL(CT_ERR_NOMEM, "master: pending flags");
    }
    /* One weighted pass is the same gradient as the workers' messages when the
     * decode is linear in full-precision messages that are all finite: virtual
     * clock, no compression, no async peeling, no NaN injection (which would
     * make erasures of results). The pass augments samples as the workers do.
     * The workers still exist; they just never run. */
    if (st == CT_OK && c->clock == CT_CLOCK_VIRTUAL && m->n > 1 && !c->per_worker_messages && !c->compress &&
        !m->async && c->transport == CT_TRANSPORT_LOCAL && !ct_straggler_poisons(m->strag)) {
        st = ct_weighted_pass_create(master_be, spec, train, &m->augment, c->seed, m->batch, &m->weighted);
        if (st == CT_OK && !(m->part_w = calloc((size_t)m->k, sizeof *m->part_w)))
            st = CT_FAIL(CT_ERR_NOMEM, "master: partition weights");
    }
    if (st == CT_OK) {
        const int n = m->n;
        m->w = calloc((size_t)n, sizeof *m->w);
        m->samples = calloc((size_t)n, sizeof *m->samples);
        m->perm = malloc((size_t)train->n * sizeof(int32_t));
        m->mask = calloc((size_t)m->words, sizeof(uint64_t));
        m->busy_until = calloc((size_t)n, sizeof(double));
        m->finish = calloc((size_t)n, sizeof(double));
        m->assigned = calloc((size_t)n, sizeof(int));
        m->order = calloc((size_t)n, sizeof(int));
        m->arrived_flag = calloc((size_t)n, sizeof(int));
        m->fault_streak = calloc((size_t)n, sizeof(int));
        m->marked_dead = calloc((size_t)n, 1);
        m->draw = calloc((size_t)n, sizeof *m->draw);
        m->ptrs = calloc((size_t)ct_code_total_messages(m->code), sizeof *m->ptrs);
        m->coefs = calloc((size_t)ct_code_total_messages(m->code), sizeof *m->coefs);
        m->slots = calloc((size_t)ct_code_total_messages(m->code), sizeof *m->slots);
        m->bit_ptrs = calloc((size_t)ct_code_total_messages(m->code), sizeof *m->bit_ptrs);
        m->scale_ptrs = calloc((size_t)ct_code_total_messages(m->code), sizeof *m->scale_ptrs);
        m->idle = calloc((size_t)n, 1);
        m->selected = calloc((size_t)n, 1);
        m->arrival = calloc((size_t)n, sizeof(double));
        m->used = calloc((size_t)n, 1);
        m->spans = calloc((size_t)n, sizeof *m->spans);
        if (!m->idle || !m->selected || !m->arrival || !m->used || !m->spans) st = CT_FAIL(CT_ERR_NOMEM, "master: out of memory for %d workers", n);
        if (st == CT_OK && ct_policy_wants_step_stats(m->policy) && c->momentum == 0)
            st = master_be->ops->alloc(master_be, m->P * sizeof(float), (void **)&m->prev_grad);
        if (!m->w || !m->samples || !m->perm || !m->mask || !m->busy_until || !m->finish || !m->assigned ||
            !m->order || !m->arrived_flag || !m->fault_streak || !m->marked_dead || !m->draw || !m->ptrs || !m->coefs || !m->slots || !m->bit_ptrs || !m->scale_ptrs)
            st = CT_FAIL(CT_ERR_NOMEM, "master: out of memory for %d workers", n);
    }
    /* workers: one context each, on the master's kind of device, round-robin over GPUs */
    const int ngpu = master_be->kind == CT_DEVICE_CUDA ? ct_backend_device_count(CT_DEVICE_CUDA) : 1;
    /* the weighted pass needs no workers: only worker 0, for --unit-cost-ms auto */
    for (int i = 0; st == CT_OK && i < (m->weighted ? 1 : m->n); i++) {
        ct_backend_config bc = CT_BACKEND_CONFIG_INIT;
        bc.device_index = ngpu > 0 ? i % ngpu : 0;
        bc.threads = m->n == 1 && c->threads > 0 ? c->threads : 1;
        ct_backend *wb = NULL;
        st = ct_backend_create(master_be->kind, &bc, &wb);
        if (st != CT_OK) break;
        ct_worker_config wc = {.id = i, .backend = wb, .spec = spec, .data = train,
                               .max_d = ct_code_load(m->code, i) > 0 ? ct_code_load(m->code, i) : 1,
                               .max_m = ct_code_messages(m->code, i) > 0 ? ct_code_messages(m->code, i) : 1,
                               .max_per_part = m->per_part, .threaded = m->n > 1,
                               .compress = (ct_compress)c->compress, .augment = m->augment, .augment_seed = c->seed,
                               .transport = c->transport}; /* transport seam: mpi makes worker i a proxy for rank i+1 */
        st = ct_worker_create(&wc, &m->w[i]);
        if (st == CT_OK) {
            m->samples[i] = malloc((size_t)wc.max_d * m->per_part * sizeof(int32_t));
            if (!m->samples[i]) st = CT_FAIL(CT_ERR_NOMEM, "master: sample lists");
        }
    }
#undef GO
    if (st != CT_OK) {
        ct_master_destroy(m);
        return st;
    }
    const ct_code_spec *cs = ct_code_get_spec(m->code);
    snprintf(m->desc, sizeof m->desc, "%s n=%d s=%d (k=%d, d=%d, m=%d)%s%s%s%s%s", ct_code_scheme_name(cs->scheme), m->n,
             cs->stragglers, m->k, ct_code_max_load(m->code), ct_code_max_messages(m->code),
             ct_policy_get_kind(m->policy) == CT_POLICY_ALL ? "" : ", ",
             ct_policy_get_kind(m->policy) == CT_POLICY_ALL ? "" : ct_policy_name(m->policy), m->async ? ", asynchronous peeling" : "",
             c->clock == CT_CLOCK_VIRTUAL ? ", virtual clock" : "", m->weighted ? " (decoded as one weighted pass)" : "");
    *out = m;
    return CT_OK;
}

void ct_master_destroy(ct_master *m) {
    if (!m) return;
    /* every throttle ends before anything is destroyed: freeing one worker's
     * buffers synchronises the whole device on CUDA, which would wait forever
     * for another (dead, or never cancelled) worker's spinning throttle */
    for (int i = 0; m->w && i < m->n; i++)
        if (m->w[i] && !m->w[i]->remote) ct_worker_cancel(m->w[i]); /* MPI ranks shut down on their own */
    for (int i = 0; m->w && i < m->n; i++) ct_worker_destroy(m->w[i]);
    for (int i = 0; m->samples && i < m->n; i++) free(m->samples[i]);
    free(m->w);
    free(m->samples);
    free(m->perm);
    free(m->mask);
    free(m->busy_until);
    free(m->finish);
    free(m->assigned);
    free(m->order);
    free(m->arrived_flag);
    free(m->fault_streak);
    free(m->marked_dead);
    free(m->draw);
    free(m->ptrs);
    free(m->coefs);
    free(m->slots);
    free(m->bit_ptrs);
    free(m->scale_ptrs);
    ct_async_destroy(m->async); /* after the workers: its codewords were copied out of theirs */
    ct_weighted_pass_destroy(m->weighted);
    free(m->part_w);
    free(m->pending);
    free(m->idle);
    free(m->selected);
    free(m->arrival);
    free(m->used);
    free(m->spans);
    if (m->prev_grad) m->be->ops->free(m->be, m->prev_grad);
    ct_policy_destroy(m->policy);
    ct_straggler_destroy(m->strag);
    ct_code_destroy(m->code);
    free(m);
}

static int stop_rule(const ct_master *m, long step, int n_arrived) {
    if (m->async) return ct_async_complete(m->async, step);
    if (m->wait_count) return n_arrived >= m->wait_count;
    return ct_code_decodable(m->code, m->mask);
}

/* Are worker i's messages all finite? A local worker tested them on its device
 * and sent the answer with its losses (no extra synchronisation); a proxy's
 * messages are tested here. Compressed: the scale carries any non-finite value
 * (bits are always finite). */
static ct_status messages_finite(ct_master *m, int i, int *ok) {
    ct_worker *w = m->w[i];
    if (!w->remote && !w->nccl) {
        *ok = w->msg_finite;
        return CT_OK;
    }
    *ok = 1;
    for (int l = 0; l < ct_code_messages(m->code, i) && *ok; l++)
        CT_TRY(m->cfg->compress ? w->be->ops->all_finite(w->be, 1, w->scale[l], ok)
                                : w->be->ops->all_finite(w->be, m->P, w->msg[l], ok));
    return CT_OK;
}

/* A finished worker's messages count only if every value is finite: a faulty
 * worker is an erasure, never an update. */
static ct_status accept_arrival(ct_master *m, int i, int *ok) {
    CT_TRY(messages_finite(m, i, ok));
    if (*ok) CT_TRY(ct_code_mask_add_worker(m->code, i, m->mask));
    /* repeated faults mean a broken worker, not bad luck: stop giving it work */
    m->fault_streak[i] = *ok ? 0 : m->fault_streak[i] + 1;
    if (m->fault_streak[i] >= CT_FAULTS_TO_DEAD) m->marked_dead[i] = 1;
    return CT_OK;
}

/* Async: a finished worker's codewords go to the peeler of the step they were
 * computed for (this one or a stale one); non-finite ones are erasures. */
static ct_status async_arrival(ct_master *m, int i, int *ok, int *used) {
    ct_worker *w = m->w[i];
    *used = 0;
    CT_TRY(messages_finite(m, i, ok));
    if (*ok) CT_TRY(ct_async_arrive(m->async, w->task_step, i, w->msg, w->msg_loss, used));
    return CT_OK;
}

static void sleep_us(long us) {
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

static void list_missing(const ct_master *m, char *buf, size_t len) {
    int off = 0;
    buf[0] = '\0';
    for (int i = 0; i < m->n && off < (int)len - 16; i++)
        if (m->assigned[i] && !m->arrived_flag[i]) off += snprintf(buf + off, len - off, "%s%d", off ? "," : "", i);
    if (!off) snprintf(buf, len, "none");
}

/* workers marked dead (repeated non-finite results), "none" when there are none */
static int list_marked_dead(const ct_master *m, char *buf, size_t len) {
    int off = 0, count = 0;
    buf[0] = '\0';
    for (int i = 0; i < m->n && off < (int)len - 16; i++)
        if (m->marked_dead[i]) {
            off += snprintf(buf + off, len - off, "%s%d", off ? "," : "", i);
            count++;
        }
    if (!count) snprintf(buf, len, "none");
    return count;
}

/* Every worker that answered sent non-finite values and none of them had a fault
 * injected (--straggle nan): the parameters, not a worker, went bad. */
static int diverged(const ct_master *m, const ct_step_info *info) {
    if (info->n_arrived > 0 || info->faulty == 0) return 0;
    for (int i = 0; i < m->n; i++)
        if (m->assigned[i] && isfinite(m->arrival[i]) && m->draw[i].poison) return 0;
    return 1;
}

static int cmp_finish_ctx_sort(const void *a, const void *b, void *ctx) {
    const double *f = ctx;
    int x = *(const int *)a, y = *(const int *)b;
    if (f[x] < f[y]) return -1;
    if (f[x] > f[y]) return 1;
    return x - y;
}

/* modeled compute time of worker i's task, seconds (the straggler's slowdown factor excluded) */
static double compute_s(const ct_master *m, int i) {
    return 1e-3 * m->cfg->unit_cost_ms * ct_code_load(m->code, i) * m->per_part;
}

/* The virtual clock's compute time of worker i's task: its samples times the unit cost, slowed by its factor. */
static double virtual_compute_s(const ct_master *m, int i) {
    return 1e-3 * m->cfg->unit_cost_ms * ct_code_load(m->code, i) * m->per_part * m->draw[i].factor;
}

const char *ct_span_outcome_name(ct_span_outcome o) {
    static const char *const names[] = {"idle", "used", "unused", "late", "cancelled", "dead", "faulty"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}

/* Fill m->spans for this step from what the wait and the decode saw. Absolute
 * times in (wall or virtual seconds); the spans count from the run's start. */
static void record_spans(ct_master *m, const ct_step_info *info, double t_start, double stop_time) {
    const int virt = m->cfg->clock == CT_CLOCK_VIRTUAL;
    const double base = virt ? 0.0 : m->t0;
    for (int i = 0; i < m->n; i++) m->spans[i] = (ct_worker_span){.outcome = CT_SPAN_IDLE, .order = -1};
    for (int r = 0; r < info->n_arrived; r++) m->spans[info->arrived[r]].order = r;
    for (int i = 0; i < m->n; i++) {
        ct_worker_span *sp = &m->spans[i];
        if (!m->assigned[i]) continue;
        sp->start = t_start - base;
        sp->delay_first = !virt;
        const int answered = isfinite(m->arrival[i]) && (!virt || m->arrival[i] <= stop_time);
        if (answered) {
            sp->end = m->arrival[i] - base;
            sp->outcome = m->arrived_flag[i] ? (m->used[i] ? CT_SPAN_USED : CT_SPAN_UNUSED) : CT_SPAN_FAULTY;
        } else if (m->draw[i].dead) {
            sp->end = stop_time - base;
            sp->outcome = CT_SPAN_DEAD;
        } else {
            /* cut at the stop on both clocks (virtual: busy to the end of a compute
             * still running, docs/schemes.md "The two clocks"); else the modelled
             * finish (virtual) or, unknown, the stop (real) */
            const int cut = m->cfg->cancel_late && !m->async;
            sp->end = virt && cut ? m->busy_until[i] : virt && isfinite(m->finish[i]) ? m->finish[i] : stop_time - base;
            sp->outcome = cut ? CT_SPAN_CANCELLED : CT_SPAN_LATE;
        }
        const double len = sp->end - sp->start > 0 ? sp->end - sp->start : 0;
        double compute = 0;
        if (sp->outcome == CT_SPAN_DEAD) compute = 0;
        else if (virt) compute = virtual_compute_s(m, i);
        else if (answered) compute = 1e-3 * m->w[i]->compute_ms;
        sp->compute_s = compute < len ? compute : len;
        sp->delay_s = len - sp->compute_s;
    }
}

/* Wait for results on the virtual clock: every task really runs (in parallel,
 * untimed), then arrivals are replayed in order of modeled finishing time.
 * Async: results still pending from earlier steps join the replay at their own
 * finishing times. */
static ct_status wait_virtual(ct_master *m, long step, ct_step_info *info, double *stop_time, int *decodable) {
    const ct_train_config *c = m->cfg;
    int n_order = 0;
    for (int i = 0; i < m->n; i++) {
        if (m->assigned[i]) {
            const ct_straggle_draw *d = &m->draw[i];
            m->finish[i] = d->dead ? INFINITY : m->vnow + virtual_compute_s(m, i) + 1e-3 * d->delay_ms;
            m->order[n_order++] = i;
        } else if (m->async && m->pending[i]) {
            m->finish[i] = m->busy_until[i];
            m->order[n_order++] = i;
        }
    }
    qsort_r(m->order, (size_t)n_order, sizeof(int), cmp_finish_ctx_sort, m->finish);
    /* run every new task that will ever finish; wait (really) for all of them
     * (none with the weighted pass: the decode computes the gradient itself) */
    for (int r = 0; r < n_order && !m->weighted; r++) {
        int i = m->order[r];
        if (isinf(m->finish[i]) || !m->assigned[i]) continue;
        CT_TRY(ct_worker_submit(m->w[i], &m->w[i]->task));
    }
    for (int r = 0; r < n_order && !m->weighted; r++) {
        int i = m->order[r];
        if (isinf(m->finish[i]) || !m->assigned[i]) continue;
        for (;;) {
            int fin = 0, ab = 0;
            CT_TRY(ct_worker_poll(m->w[i], &fin, &ab));
            if (fin) break;
            sleep_us(20);
        }
    }
    const double deadline = c->deadline_ms > 0 ? m->vnow + 1e-3 * c->deadline_ms : INFINITY;
    *decodable = 0;
    *stop_time = m->vnow;
    int n_arr = 0;
    for (int r = 0; r < n_order; r++) {
        int i = m->order[r];
        if (isinf(m->finish[i]) || m->finish[i] > deadline) break; /* the dead never arrive */
        int ok = 0, used = 0;
        *stop_time = m->finish[i];
        if (m->async) {
            CT_TRY(async_arrival(m, i, &ok, &used));
            if (m->pending[i]) { /* a stale result: used for its own step, not counted here */
                m->pending[i] = 0;
                if (stop_rule(m, step, n_arr)) { *decodable = 1; break; }
                continue;
            }
        } else if (m->weighted) {
            ok = 1; /* no faults on this path: every message is finite */
            CT_TRY(ct_code_mask_add_worker(m->code, i, m->mask));
        } else {
            CT_TRY(accept_arrival(m, i, &ok));
        }
        if (m->assigned[i]) m->arrival[i] = m->finish[i];
        if (!ok) { info->faulty++; continue; }
        m->arrived_flag[i] = 1;
        info->arrived[n_arr++] = i;
        if (stop_rule(m, step, n_arr)) { *decodable = 1; break; }
    }
    if (!*decodable && isfinite(deadline)) *stop_time = deadline;
    info->n_arrived = n_arr;
    /* Late workers, as on the real clock (worker.c: compute, then the delay in a
     * throttle a cancel cuts short; a dead worker waits before computing):
     * cancelled, a worker is idle at the stop, or at the end of its compute if that
     * is still running; not cancelled, it is busy until its modeled finish (dead:
     * for ever); async keeps them running, their codewords count late. */
    for (int i = 0; i < m->n; i++) {
        if (!m->assigned[i] || m->arrived_flag[i] || m->finish[i] <= *stop_time) continue;
        if (m->async) {
            if (isfinite(m->finish[i])) {
                m->busy_until[i] = m->finish[i];
                m->pending[i] = 1;
            }
        } else if (c->cancel_late) {
            const double compute_end = m->draw[i].dead ? m->vnow : m->vnow + compute_s(m, i);
            m->busy_until[i] = compute_end > *stop_time ? compute_end : *stop_time;
        } else {
            m->busy_until[i] = m->finish[i];
        }
    }
    return CT_OK;
}

/* Wait for results on the wall clock: poll completion, never block on one worker.
 * Async: workers still busy with an earlier step are polled too, and what they
 * deliver is peeled into that step. */
static ct_status wait_real(ct_master *m, long step, ct_step_info *info, double *stop_time, int *decodable) {
    const ct_train_config *c = m->cfg;
    for (int i = 0; i < m->n; i++)
        if (m->assigned[i]) CT_TRY(ct_worker_submit(m->w[i], &m->w[i]->task));
    const double start = ct_now_s();
    const double limit = c->deadline_ms > 0 ? 1e-3 * c->deadline_ms : CT_SAFETY_CAP_S;
    int n_arr = 0, pending = 0;
    /* a worker drawn dead never answers: waiting for it only runs into the cap
     * (the virtual clock never waits for it either) */
    for (int i = 0; i < m->n; i++) pending += m->assigned[i] && !m->draw[i].dead;
    *decodable = 0;
    while (pending > 0 || m->async) {
        int progressed = 0;
        for (int i = 0; i < m->n; i++) {
            if (m->arrived_flag[i] || m->w[i]->state != CT_WORKER_BUSY) continue;
            if (!m->assigned[i] && !m->async) continue;
            int fin = 0, ab = 0;
            CT_TRY(ct_worker_poll(m->w[i], &fin, &ab));
            if (!fin) continue;
            progressed = 1;
            if (m->assigned[i] && !m->draw[i].dead) pending--;
            if (ab) continue;
            if (m->assigned[i]) m->arrival[i] = ct_now_s();
            int ok = 0, used = 0;
            if (m->async) {
                CT_TRY(async_arrival(m, i, &ok, &used));
                if (!m->assigned[i]) continue; /* a stale result from an earlier step */
            } else {
                CT_TRY(accept_arrival(m, i, &ok));
            }
            if (!ok) { info->faulty++; continue; }
            m->arrived_flag[i] = 1;
            info->arrived[n_arr++] = i;
            if (stop_rule(m, step, n_arr)) { *decodable = 1; break; }
        }
        if (*decodable) break;
        if (ct_now_s() - start > limit) break;
        if (!progressed) sleep_us(20);
    }
    info->n_arrived = n_arr;
    *stop_time = ct_now_s();
    /* the master no longer needs the others: cut their throttles short (async keeps them: late codewords count) */
    if (c->cancel_late && !m->async)
        for (int i = 0; i < m->n; i++)
            if (m->assigned[i] && !m->arrived_flag[i] && m->w[i]->state == CT_WORKER_BUSY) ct_worker_cancel(m->w[i]);
    return CT_OK;
}

ct_status ct_master_step(ct_master *m, long step, int epoch, int step_in_epoch, const float *params, float *grad,
                         ct_step_info *info) {
    const ct_train_config *c = m->cfg;
    const ct_backend_ops *o = m->be->ops;
    memset(info, 0, sizeof *info);
    /* by epoch, not by step_in_epoch == 0: a resumed run may start mid-epoch */
    if (epoch != m->perm_epoch) {
        ct_permutation(m->perm, m->data->n, c->seed * 1000003u + (uint64_t)epoch);
        m->perm_epoch = epoch;
    }
    memset(m->mask, 0, (size_t)m->words * sizeof(uint64_t));
    memset(m->arrived_flag, 0, (size_t)m->n * sizeof(int));
    m->slice_off = step_in_epoch * m->per_part;
    memset(m->used, 0, (size_t)m->n);
    const double t_start = c->clock == CT_CLOCK_VIRTUAL ? m->vnow : ct_now_s();

    if (m->async) CT_TRY(ct_async_begin_step(m->async, step));
    /* 1. who gets work: the policy picks among the idle workers (late ones finish their old task first) */
    for (int i = 0; i < m->n; i++) {
        ct_worker *w = m->w[i];
        if (c->clock == CT_CLOCK_REAL && w->state == CT_WORKER_BUSY) {
            int fin = 0, ab = 0;
            CT_TRY(ct_worker_poll(w, &fin, &ab)); /* a stale result: dropped, or peeled (async) */
            /* cancelled at the end of the last step while serving its delay: it is
             * returning now, so it takes part (the virtual clock's "idle at the
             * stop"); one still computing sits this step out on both clocks */
            int tail = 0;
            if (!fin) CT_TRY(ct_worker_in_tail(w, &tail));
            if (tail) {
                const double u0 = ct_now_s();
                /* a remote rank stops counting as unwinding once presumed dead */
                while (!fin && tail) {
                    if (ct_now_s() - u0 > CT_UNWIND_CAP_S)
                        return CT_FAIL(CT_ERR_INTERNAL, "worker %d: still running %g s after its delay was cancelled", i,
                                       CT_UNWIND_CAP_S);
                    sched_yield();
                    CT_TRY(ct_worker_poll(w, &fin, &ab));
                    if (!fin) CT_TRY(ct_worker_in_tail(w, &tail));
                }
                info->unwind_s += ct_now_s() - u0;
            }
            if (fin && !ab && m->async) {
                int ok = 0, used = 0;
                CT_TRY(async_arrival(m, i, &ok, &used));
            }
        }
        m->idle[i] = !m->marked_dead[i] &&
                     (c->clock == CT_CLOCK_VIRTUAL ? m->busy_until[i] <= m->vnow : w->state == CT_WORKER_IDLE);
        m->arrival[i] = NAN;
    }
    ct_policy_select(m->policy, step, m->idle, m->selected);
    for (int i = 0; i < m->n; i++) m->assigned[i] = m->selected[i];
    m->wait_count = ct_policy_wait_count(m->policy, step);
    /* 2. tasks: slices of this step's minibatch, encoding rows, the straggler draw */
    for (int i = 0; i < m->n; i++) {
        if (!m->assigned[i]) continue;
        info->assigned++;
        m->draw[i] = ct_straggler_draw(m->strag, i, step);
        if (m->weighted) continue; /* the worker never runs: no task, no replica copy */
        ct_worker *w = m->w[i];
        const int d = ct_code_load(m->code, i);
        const int *parts = ct_code_partitions(m->code, i);
        for (int j = 0; j < d; j++) {
            const int32_t *src = m->perm + (size_t)parts[j] * m->part_size + (size_t)step_in_epoch * m->per_part;
            memcpy(m->samples[i] + (size_t)j * m->per_part, src, (size_t)m->per_part * sizeof(int32_t));
        }
        ct_task t = {.step = step, .d = d, .m = ct_code_messages(m->code, i), .per_part = m->per_part,
                     .inv_batch = 1.0f / (float)m->batch, .samples = m->samples[i], .E = ct_code_encoding(m->code, i),
                     .draw = m->draw[i], .real_throttle = c->clock == CT_CLOCK_REAL, .general_path = c->general_path,
                     .epoch = epoch,
                     .compress = (ct_compress)c->compress,
                     .quant_seed = ct_hash64(c->seed ^ 0x51554E54ull, (uint64_t)step * (uint64_t)m->n + (uint64_t)i)};
        w->task = t; /* submitted by the wait below */
        if (m->n == 1 && !w->remote && !w->nccl && w->be->kind == m->be->kind)
            /* one inline worker on the master's device, nothing runs concurrently: no
             * replica copy (on a GPU its stream reads the master's parameters, which
             * the master's stream finished writing before this step) */
            w->params_view = params;
        else
            CT_TRY(o->memcpy_d2d(m->be, w->params, params, m->P * sizeof(float)));
        /* ... and writes its one message straight into the gradient the master
         * would decode it into (uncoded n = 1: g_hat = a y with a = 1) */
        w->msg_view = w->params_view && !c->compress && !m->async && ct_code_messages(m->code, i) == 1 ? grad : NULL;
    }
    CT_TRY(o->sync(m->be)); /* replicas hold this step's parameters before any worker starts */

    /* 3. wait */
    double stop_time = 0;
    int decodable = 0;
    if (c->clock == CT_CLOCK_VIRTUAL) CT_TRY(wait_virtual(m, step, info, &stop_time, &decodable));
    else CT_TRY(wait_real(m, step, info, &stop_time, &decodable));
    info->dropped = info->assigned - info->n_arrived;
    /* 3b. the policy learns response times: arrivals, and "still running at the stop" for the rest */
    for (int i = 0; i < m->n; i++) {
        if (!m->assigned[i]) continue;
        if (isfinite(m->arrival[i])) ct_policy_observe(m->policy, i, m->arrival[i] - t_start);
        else ct_policy_observe_censored(m->policy, i, stop_time - t_start);
    }
    info->k = ct_policy_get_kind(m->policy) == CT_POLICY_ALL ? 0 : ct_policy_k(m->policy, step);
    info->has_regret = m->has_oracle;
    info->regret = ct_policy_regret(m->policy);
    for (int r = 0; r < info->n_arrived; r++) {
        const double per_msg = c->compress ? (double)m->P + 32.0 : 32.0 * (double)m->P;
        info->bits_up += per_msg * ct_code_messages(m->code, info->arrived[r]);
    }

    /* 4. decode */
    char missing[512];
    list_missing(m, missing, sizeof missing);
    if (m->async) {
        /* every unit peeled this step (of this or an earlier step), plus the lossy estimate */
        int empty = 0;
        CT_TRY(ct_async_flush(m->async, step, grad, &empty, &info->recovered, &info->loss));
        info->skipped = empty;
        info->status = info->recovered == 1.0 ? CT_DECODE_EXACT : CT_DECODE_APPROX;
    } else if (info->n_arrived == 0) {
        char dead[512];
        const int n_dead = list_marked_dead(m, dead, sizeof dead);
        if (diverged(m, info))
            return CT_FAIL(CT_ERR_NUMERIC,
                           "training diverged at step %ld: every worker's gradient is non-finite (the parameters "
                           "overflowed); try a smaller --lr (now %g)", step, c->lr);
        if (info->assigned == 0 && n_dead == m->n)
            return CT_FAIL(CT_ERR_NUMERIC,
                           "step %ld: no live worker left: worker%s %s returned non-finite results %d times in a row "
                           "and %s marked dead", step, n_dead > 1 ? "s" : "", dead, CT_FAULTS_TO_DEAD,
                           n_dead > 1 ? "were" : "was");
        if (info->faulty == 0 && ct_code_is_exact(m->code) && !m->wait_count)
            return CT_FAIL(CT_ERR_TIMEOUT, "step %ld: no worker answered %s; workers that never answered: %s%s%s", step,
                           c->deadline_ms > 0 ? "before the deadline" : "in time", missing,
                           n_dead ? "; marked dead after repeated non-finite results: " : "", n_dead ? dead : "");
        info->skipped = 1; /* nothing usable: faulty results are erasures, the step is skipped */
    } else {
        ct_decode_result res;
        CT_TRY(ct_code_decode(m->code, m->mask, &res));
        if (res.status == CT_DECODE_NONE && info->faulty > 0) {
            /* the erasures were faulty results, not silence: skip the step */
            info->skipped = 1;
        } else if (res.status == CT_DECODE_NONE) {
            char dead[512];
            const int n_dead = list_marked_dead(m, dead, sizeof dead);
            return CT_FAIL(CT_ERR_TIMEOUT,
                           "step %ld: code %s could not decode from the %d workers that answered %s; "
                           "workers that never answered: %s%s%s",
                           step, ct_code_scheme_name(ct_code_get_scheme(m->code)), info->n_arrived,
                           c->deadline_ms > 0 ? "before the deadline" : "(the others are dead or never finish)",
                           missing, n_dead ? "; marked dead after repeated non-finite results (no longer given work): " : "",
                           n_dead ? dead : "");
        }
        if (info->skipped) goto decoded;
        info->status = res.status;
        info->residual = res.residual;
        info->recovered = res.recovered_fraction;
        int cnt = 0;
        double loss = 0;
        const int total = ct_code_total_messages(m->code);
        for (int slot = 0; slot < total; slot++) {
            float a = res.coeffs[slot];
            if (a == 0.0f || !ct_mask_test(m->mask, slot)) continue;
            int wi = ct_code_message_worker(m->code, slot);
            int l = slot - ct_code_message_index(m->code, wi, 0);
            m->coefs[cnt] = a;
            m->slots[cnt] = slot;
            m->used[wi] = 1;
            cnt++;
            if (m->weighted) continue; /* only worker 0 exists */
            m->ptrs[cnt - 1] = l == 0 && m->w[wi]->msg_view ? m->w[wi]->msg_view : m->w[wi]->msg[l];
            m->bit_ptrs[cnt - 1] = m->w[wi]->bits[l];
            m->scale_ptrs[cnt - 1] = m->w[wi]->scale[l];
            loss += (double)a * m->w[wi]->msg_loss[l];
        }
        info->loss = loss;
        if (cnt == 0) {
            info->skipped = 1;
        } else if (m->weighted) {
            /* g_hat = sum_j w_j g_j, w_j = sum_t a_t E_i[l, j] (weighted_pass.h) */
            memset(m->part_w, 0, (size_t)m->k * sizeof *m->part_w);
            for (int t = 0; t < cnt; t++) {
                const int slot = m->slots[t], wi = ct_code_message_worker(m->code, slot);
                const int l = slot - ct_code_message_index(m->code, wi, 0), d = ct_code_load(m->code, wi);
                const int *parts = ct_code_partitions(m->code, wi);
                const float *E = ct_code_encoding(m->code, wi);
                for (int j = 0; j < d; j++) m->part_w[parts[j]] += (double)m->coefs[t] * E[l * d + j];
            }
            CT_TRY(ct_weighted_pass_run(m->weighted, params, epoch, m->k, m->part_w, m->perm, m->part_size, m->slice_off,
                                        m->per_part, 1.0f / (float)m->batch, grad, &info->loss));
        } else if (c->compress) {
            /* decode straight from the packed bits: g_hat = sum a_t scale_t sign_t */
            CT_TRY(o->fill(m->be, m->P, 0.0f, grad));
            CT_TRY(o->unpack_accumulate(m->be, cnt, m->coefs, m->bit_ptrs, m->scale_ptrs, m->P, grad));
        } else if (cnt == 1 && m->ptrs[0] == grad) {
            /* the one message is already in place (msg_view) */
            if (m->coefs[0] != 1.0f) CT_TRY(o->scale(m->be, m->P, m->coefs[0], grad));
        } else {
            /* g_hat = sum a_t y_t on the master's device, CT_COMBINE_MAX messages per pass */
            for (int off = 0; off < cnt; off += CT_COMBINE_MAX) {
                int chunk = cnt - off < CT_COMBINE_MAX ? cnt - off : CT_COMBINE_MAX;
                CT_TRY(o->combine(m->be, 1, chunk, m->coefs + off, m->ptrs + off, m->P, &grad, off ? 1.0f : 0.0f));
            }
        }
    }
decoded:
    /* the master never applies a non-finite update (e.g. a decode that amplified an
     * overflow): such a step is skipped and counted */
    if (!info->skipped) {
        int finite = 1;
        CT_TRY(o->all_finite(m->be, m->P, grad, &finite));
        if (!finite) {
            info->skipped = 1;
            info->faulty++;
        }
    }
    /* 5. the auto k schedule's statistics: the loss and <g_t, g_{t-1}> (Pflug's test) */
    if (!info->skipped && ct_policy_wants_step_stats(m->policy)) {
        /* Pflug's test needs plain SGD: with momentum successive gradients stay
         * correlated at the noise floor, so the schedule falls back to the loss */
        double dot = NAN;
        if (c->momentum == 0) {
            if (m->have_prev_grad) CT_TRY(o->dot(m->be, m->P, grad, m->prev_grad, &dot));
            CT_TRY(o->memcpy_d2d(m->be, m->prev_grad, grad, m->P * sizeof(float)));
            m->have_prev_grad = 1;
        }
        ct_policy_observe_step(m->policy, step, info->loss, dot);
    }
    record_spans(m, info, t_start, stop_time);
    info->n_spans = m->n;
    info->spans = m->spans;
    {
        const double base = c->clock == CT_CLOCK_VIRTUAL ? 0.0 : m->t0;
        info->t_start = t_start - base;
        info->t_stop = stop_time - base;
        info->t_decoded = c->clock == CT_CLOCK_VIRTUAL ? info->t_stop : ct_now_s() - base;
    }
    if (c->clock == CT_CLOCK_VIRTUAL) {
        info->step_s = stop_time - t_start;
        info->wait_s = info->step_s;
        m->vnow = stop_time;
    } else {
        const double now = ct_now_s();
        info->wait_s = stop_time - t_start;
        info->step_s = now - t_start;
    }
    return CT_OK;
}
