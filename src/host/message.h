/* The library's side of codedtrain/message.h: every message leaves through here. */
#ifndef CODEDTRAIN_HOST_MESSAGE_H
#define CODEDTRAIN_HOST_MESSAGE_H

#include "codedtrain/message.h"

/* printf-style; formats and hands the text to the installed callback (if any) */
void ct_message(ct_message_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* 1 when a callback is installed (callers may skip building a message nobody reads) */
int ct_message_wanted(void);

#endif
