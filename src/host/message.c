/* Messages go to the callback the program installs (codedtrain/message.h). */
#include "host/message.h"

#include <stdarg.h>
#include <stdio.h>

static ct_message_fn message_fn;
static void *message_user;

ct_message_fn ct_set_message_callback(ct_message_fn fn, void *user) {
    ct_message_fn old = message_fn;
    message_fn = fn;
    message_user = user;
    return old;
}

int ct_message_wanted(void) { return message_fn != NULL; }

void ct_message(ct_message_level level, const char *fmt, ...) {
    if (!message_fn) return;
    char text[2048]; /* the longest message (a run's setup lines) is a few hundred bytes */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    message_fn(level, text, message_user);
}
