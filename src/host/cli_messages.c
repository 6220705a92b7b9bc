/* How the CLI shows the library's messages (codedtrain/message.h): report lines on
 * stdout, a progress bar redrawn in place on stdout (cleared before the next line),
 * warnings on stderr under the program's name. */
#include <stdio.h>

#include "codedtrain/message.h"
#include "host/cli.h"

static int bar_shown; /* a progress line is on screen, without its newline */

static void cli_message(ct_message_level level, const char *text, void *user) {
    (void)user;
    if (level == CT_MSG_PROGRESS) {
        printf("\r%s", text);
        fflush(stdout);
        bar_shown = 1;
        return;
    }
    if (bar_shown) {
        printf("\r\033[K");
        fflush(stdout);
        bar_shown = 0;
    }
    if (level == CT_MSG_WARNING) {
        fprintf(stderr, "codedtrain: warning: %s\n", text);
    } else {
        printf("%s\n", text);
        fflush(stdout);
    }
}

void ct_cli_install_messages(void) { ct_set_message_callback(cli_message, NULL); }
