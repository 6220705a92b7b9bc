/* The library never prints: a training run's report lines, progress bar and the UEP
 * trainer's lines reach the installed message callback, and nothing reaches stdout or
 * stderr (with a callback or without one). Errors: the reason without file:line, unless
 * CODEDTRAIN_DEBUG=1. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codedtrain/message.h"
#include "codedtrain/train.h"
#include "ct_test.h"

typedef struct seen {
    int n[3];
    char text[4096];
} seen;

static void collect(ct_message_level level, const char *text, void *user) {
    seen *s = user;
    if (level >= 0 && level <= CT_MSG_WARNING) s->n[level]++;
    if (strlen(s->text) + strlen(text) + 2 < sizeof s->text) {
        strcat(s->text, text);
        strcat(s->text, "\n");
    }
}

/* runs cfg with stdout and stderr sent to a file; returns the bytes written there */
static long run_silenced(const ct_train_config *cfg, ct_status *st) {
    const char *dir = getenv("CT_TEST_TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/test_host_messages.%d.out", dir ? dir : "/tmp", (int)getpid());
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2), fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    if (out < 0 || err < 0 || fd < 0) return -1;
    dup2(fd, 1);
    dup2(fd, 2);
    ct_train_result res;
    *st = ct_train_run(cfg, &res);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    long n = (long)lseek(fd, 0, SEEK_END);
    close(fd);
    close(out);
    close(err);
    unlink(path);
    return n;
}

int main(void) {
    ct_train_config cfg = CT_TRAIN_CONFIG_INIT;
    cfg.device = CT_DEVICE_CPU;
    cfg.threads = 1;
    cfg.dataset = CT_DATA_SYNTHETIC;
    cfg.synth_n = 400;
    cfg.synth_dim = 12;
    cfg.synth_classes = 4;
    cfg.model = "mlp:8";
    cfg.batch = 50;
    cfg.epochs = 2;
    cfg.workers = 4;
    cfg.code = "cyclic";
    cfg.stragglers = 1;
    cfg.clock = CT_CLOCK_VIRTUAL;

    /* report lines and the bar through the callback, nothing printed */
    seen s = {{0}, ""};
    CHECK(ct_set_message_callback(collect, &s) == NULL, "no callback installed at start");
    cfg.progress = CT_PROGRESS_BAR;
    ct_status st;
    long printed = run_silenced(&cfg, &st);
    CHECK_OK(st);
    CHECK(printed == 0, "the library printed %ld bytes", printed);
    CHECK(s.n[CT_MSG_INFO] == 3, "setup + 2 epoch lines, got %d INFO messages:\n%s", s.n[CT_MSG_INFO], s.text);
    CHECK(s.n[CT_MSG_PROGRESS] >= 2, "progress bar updates: %d", s.n[CT_MSG_PROGRESS]);
    CHECK(strstr(s.text, "device: cpu") && strstr(s.text, "epoch 2/2  loss ") && strstr(s.text, "code: cyclic"),
          "report lines:\n%s", s.text);

    /* progress off: no messages at all */
    memset(&s, 0, sizeof s);
    cfg.progress = CT_PROGRESS_OFF;
    printed = run_silenced(&cfg, &st);
    CHECK_OK(st);
    CHECK(printed == 0 && s.n[0] + s.n[1] + s.n[2] == 0, "progress off: %ld bytes, %d messages", printed,
          s.n[0] + s.n[1] + s.n[2]);

    /* the UEP trainer too */
    memset(&s, 0, sizeof s);
    ct_train_config u = cfg;
    u.progress = CT_PROGRESS_LINES;
    u.uep = 1;
    u.workers = 1;
    u.code = "uncoded";
    u.stragglers = 0;
    u.uep_scheme = "ew";
    u.uep_workers = 6;
    u.model = "mlp:12-9-4";
    u.epochs = 1;
    printed = run_silenced(&u, &st);
    CHECK_OK(st);
    CHECK(printed == 0, "the UEP trainer printed %ld bytes", printed);
    CHECK(s.n[CT_MSG_INFO] == 2 && strstr(s.text, "uep: ") && strstr(s.text, "energy recovered"), "UEP lines:\n%s",
          s.text);

    /* no callback: dropped, still nothing printed */
    CHECK(ct_set_message_callback(NULL, NULL) == collect, "the previous callback is returned");
    cfg.progress = CT_PROGRESS_LINES;
    printed = run_silenced(&cfg, &st);
    CHECK_OK(st);
    CHECK(printed == 0, "without a callback the library printed %ld bytes", printed);

    /* a user-facing error names the input and the problem, without the source location */
    ct_train_config bad = cfg;
    bad.model = "mlp:abc";
    unsetenv("CODEDTRAIN_DEBUG");
    printed = run_silenced(&bad, &st);
    CHECK(st == CT_ERR_INVALID_ARG, "bad model: %s", ct_status_str(st));
    CHECK(strstr(ct_last_error(), "mlp:abc") && !strstr(ct_last_error(), ".c:"), "error: '%s'", ct_last_error());
    setenv("CODEDTRAIN_DEBUG", "1", 1);
    printed = run_silenced(&bad, &st);
    CHECK(strstr(ct_last_error(), "mlp:abc") && strstr(ct_last_error(), ".c:"), "debug error: '%s'", ct_last_error());
    CHECK(printed == 0, "a failing run printed %ld bytes", printed);
    return ct_test_done("test_host_messages");
}
