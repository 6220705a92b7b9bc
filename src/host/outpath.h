/* Output and input paths, checked before a run does any work: outputs are
 * written only as regular files (or created new), never through a symlink, a
 * device or a FIFO, and no two outputs (nor an output and an input) name the
 * same file; a log is locked so two runs cannot interleave in it. */
#ifndef CODEDTRAIN_OUTPATH_H
#define CODEDTRAIN_OUTPATH_H

#include <stdio.h>

#include "codedtrain/status.h"

/* `path` (named by `flag` in messages) may be written: it does not exist and
 * its directory exists and is writable, or it is a regular file (not a symlink)
 * that may be written. CT_ERR_INVALID_ARG otherwise, naming flag, path and why. */
ct_status ct_outpath_check(const char *flag, const char *path);

/* `path` is an existing regular file that may be read (symlinks followed);
 * a dangling symlink, a symlink loop, a FIFO, a device or a directory is
 * refused by name. */
ct_status ct_inpath_check(const char *flag, const char *path);

/* 1 when a and b name the same file (same inode, or the same directory entry
 * when not yet created). */
int ct_path_same(const char *a, const char *b);

/* Removes PATH.tmp.PID files that a killed run left next to PATH (PID no longer
 * alive). Best effort: a file it cannot remove is left alone. */
void ct_outpath_clean_stale_tmp(const char *path);

/* Refuses, before any work, a log that another run holds locked. */
ct_status ct_outpath_check_unlocked(const char *flag, const char *path);

/* Opens a log for writing without following a symlink, locks it (refusing one
 * another run holds) and truncates it unless `append`. CT_ERR_INVALID_ARG when
 * it is locked or not a regular file, CT_ERR_IO when it cannot be opened. */
ct_status ct_outpath_open_log(const char *flag, const char *path, int append, FILE **out);

#endif
