/* Learning-rate schedules. The update rule itself (SGD with momentum and
 * weight decay) is the backend op sgd_update, so it runs where the parameters live. */
#include "codedtrain/nn.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "EPOCHS,GAMMA" of a step schedule: EPOCHS a positive integer, GAMMA in (0, 1]
 * (a decay: a GAMMA above 1 grows the rate without bound and overflows it to
 * inf after enough epochs, found by fuzz_model_spec). */
static ct_status parse_step_args(const char *s, const char *args, ct_lr_schedule *out) {
    char *end = NULL;
    errno = 0;
    long epochs = strtol(args, &end, 10);
    if (end == args || *args < '0' || *args > '9' || errno || *end != ',')
        return CT_FAIL(CT_ERR_INVALID_ARG, "--lr-schedule '%s': expected step:EPOCHS,GAMMA (e.g. step:10,0.1)", s);
    if (epochs < 1 || epochs > 1000000)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--lr-schedule '%s': step interval %ld must be between 1 and 1000000 epochs",
                       s, epochs);
    const char *g = end + 1;
    errno = 0;
    double gamma = strtod(g, &end);
    if (end == g || *end != '\0' || errno)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--lr-schedule '%s': GAMMA '%s' is not a number (expected e.g. step:10,0.1)",
                       s, g);
    if (!isfinite(gamma) || gamma <= 0 || gamma > 1)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--lr-schedule '%s': GAMMA %g must be in (0, 1] (a decay factor)", s, gamma);
    out->kind = CT_LR_STEP;
    out->step_epochs = (int)epochs;
    out->gamma = gamma;
    return CT_OK;
}

ct_status ct_lr_schedule_parse(const char *s, double base, int total_epochs, ct_lr_schedule *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARG, "ct_lr_schedule_parse: out is NULL");
    memset(out, 0, sizeof *out);
    if (!s || !*s) return CT_FAIL(CT_ERR_INVALID_ARG, "--lr-schedule: empty (expected constant, step:EPOCHS,GAMMA or cosine)");
    if (!isfinite(base) || base <= 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "--lr %g: the learning rate must be a positive finite number", base);
    out->base = base;
    out->gamma = 1.0;
    out->step_epochs = 1;
    out->total_epochs = total_epochs;
    if (!strcmp(s, "constant")) {
        out->kind = CT_LR_CONSTANT;
        return CT_OK;
    }
    if (!strcmp(s, "cosine")) {
        if (total_epochs < 1)
            return CT_FAIL(CT_ERR_INVALID_ARG, "--lr-schedule '%s': needs at least 1 epoch to anneal over (got %d)", s,
                           total_epochs);
        out->kind = CT_LR_COSINE;
        return CT_OK;
    }
    if (!strncmp(s, "step:", 5)) return parse_step_args(s, s + 5, out);
    return CT_FAIL(CT_ERR_INVALID_ARG, "--lr-schedule '%s': unknown schedule (expected constant, step:EPOCHS,GAMMA or cosine)", s);
}

double ct_lr_at(const ct_lr_schedule *sched, double epoch) {
    if (epoch < 0) epoch = 0;
    switch (sched->kind) {
    case CT_LR_CONSTANT: return sched->base;
    case CT_LR_STEP: {
        /* floor(epoch / step_epochs) decays have happened by this (fractional) epoch */
        double decays = floor(epoch / (double)sched->step_epochs);
        return sched->base * pow(sched->gamma, decays);
    }
    case CT_LR_COSINE: {
        double t = sched->total_epochs > 0 ? epoch / (double)sched->total_epochs : 1.0;
        if (t > 1) t = 1;
        return sched->base * 0.5 * (1.0 + cos(3.14159265358979323846 * t));
    }
    }
    return sched->base;
}
