/* gnuplot helpers (see plot.h). */
#include "host/plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int ct_plot_available(void) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char dir[4096];
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        if (len > 0 && len < sizeof dir - 16) {
            snprintf(dir, sizeof dir, "%.*s/gnuplot", (int)len, p);
            if (access(dir, X_OK) == 0) return 1;
        }
        p += len;
        if (*p == ':') p++;
    }
    return 0;
}

ct_status ct_plot_run(const char *script, const char *what) {
    if (!ct_plot_available()) return CT_FAIL(CT_ERR_IO, "%s: gnuplot not found (install gnuplot-nox)", what);
    FILE *p = popen("gnuplot 2>/dev/null", "w");
    if (!p) return CT_FAIL(CT_ERR_IO, "%s: cannot start gnuplot", what);
    const size_t len = strlen(script);
    const int wrote = fwrite(script, 1, len, p) == len && fputc('\n', p) != EOF;
    const int rc = pclose(p);
    if (!wrote || rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
        return CT_FAIL(CT_ERR_IO, "%s: gnuplot could not draw it", what);
    return CT_OK;
}

/* Okabe-Ito colours (distinguishable with colour-blindness) plus three more; each
 * with its own point type so that series stay apart in grey-scale prints too */
const char *ct_plot_series_style(int i) {
    static const char *const styles[] = {
        "lc rgb '#000000' pt 7",  "lc rgb '#e69f00' pt 5",  "lc rgb '#56b4e9' pt 9",  "lc rgb '#009e73' pt 11",
        "lc rgb '#d55e00' pt 13", "lc rgb '#0072b2' pt 4",  "lc rgb '#cc79a7' pt 6",  "lc rgb '#f0e442' pt 8",
        "lc rgb '#7f7f7f' pt 10", "lc rgb '#8b4513' pt 12", "lc rgb '#000000' pt 7 dt 2", "lc rgb '#e69f00' pt 5 dt 2",
        "lc rgb '#56b4e9' pt 9 dt 2", "lc rgb '#009e73' pt 11 dt 2", "lc rgb '#d55e00' pt 13 dt 2", "lc rgb '#0072b2' pt 4 dt 2"};
    return styles[(unsigned)i % (sizeof styles / sizeof styles[0])];
}
