/* Messages from the library. The library never prints: progress lines, run summaries
 * and warnings go to one callback the program installs (the CLI prints them; without a
 * callback they are dropped). Errors are not messages: a failing call returns its
 * ct_status and ct_last_error() says why. */
#ifndef CODEDTRAIN_MESSAGE_H
#define CODEDTRAIN_MESSAGE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_message_level {
    CT_MSG_PROGRESS = 0, /* a transient status line, replaced by the next one (a progress bar) */
    CT_MSG_INFO,         /* a line of a run's report: setup, one per epoch, the final summary */
    CT_MSG_WARNING       /* something went wrong but the run goes on (a worker presumed dead) */
} ct_message_level;

/* `text` is one message without a trailing newline (it may hold several lines); it is
 * valid only during the call. Called from the thread that runs the library call. */
typedef void (*ct_message_fn)(ct_message_level level, const char *text, void *user);

/* Installs fn (NULL: drop every message) for the whole process; returns the previous one.
 * Install it before starting runs, not while one is running. */
ct_message_fn ct_set_message_callback(ct_message_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
