/* A resumed run against the configuration its checkpoint recorded: what
 * changed, split into changes that break the resume (other partitions, worker
 * count, batch geometry, clock: the saved position and state mean nothing
 * under them) and changes it survives (learning rate, straggler model, ...),
 * after which the run is no longer equal to an uninterrupted one. */
#ifndef CODEDTRAIN_CONFIG_DIFF_H
#define CODEDTRAIN_CONFIG_DIFF_H

#include <stddef.h>

/* `saved` and `now`: flat JSON objects as train.c writes them (string and
 * number values). Writes "--flag OLD -> NOW, ..." lists into breaking and
 * tolerated (empty when none). Keys in neither list (epochs) are not compared. */
void ct_config_diff(const char *saved, const char *now, char *breaking, size_t blen, char *tolerated, size_t tlen);

#endif
