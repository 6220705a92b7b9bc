/* Output and input path checks (see outpath.h). */
#include "host/outpath.h"

#include "codedtrain/data.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory part of path ("." when none), in buf. */
static void dir_of(const char *path, char *buf, size_t len) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(buf, len, ".");
    else if (slash == path) snprintf(buf, len, "/");
    else snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

static const char *base_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The directory can take new files: created and removed a probe file, so a
 * read-only mount or missing permission is found now, even as root. */
static ct_status probe_dir(const char *flag, const char *path, const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: directory %s: %s", flag, path, dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: %s is not a directory", flag, path, dir);
    char probe[PATH_MAX];
    if (snprintf(probe, sizeof probe, "%s/.codedtrain-probe.%ld", dir, (long)getpid()) >= (int)sizeof probe)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: path too long", flag, path);
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: cannot create files in %s: %s", flag, path, dir, strerror(errno));
    close(fd);
    unlink(probe);
    return CT_OK;
}

ct_status ct_outpath_check(const char *flag, const char *path) {
    if (!path || !*path) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: empty path", flag);
    if (strlen(path) >= PATH_MAX - 64) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: path too long", flag);
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (S_ISLNK(sb.st_mode))
            return CT_FAIL(CT_ERR_INVALID_ARG,
                           "%s %s: is a symlink; writing would replace the link, not its target (give the target's path)",
                           flag, path);
        if (!S_ISREG(sb.st_mode))
            return CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: is %s, not a regular file; refusing to replace it", flag, path,
                           ct_file_kind(sb.st_mode));
        if (access(path, W_OK) != 0)
            return CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: not writable: %s", flag, path, strerror(errno));
    } else if (errno != ENOENT) {
        return CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: %s", flag, path, strerror(errno));
    }
    /* checkpoints are replaced by renaming a new file over them: the directory must take new files */
    return probe_dir(flag, path, dir);
}

ct_status ct_inpath_check(const char *flag, const char *path) {
    if (!path || !*path) return CT_FAIL(CT_ERR_INVALID_ARG, "%s: empty path", flag);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int err = errno;
        struct stat lsb;
        if (err == ENOENT && lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode))
            return CT_FAIL(CT_ERR_IO, "%s %s: dangling symlink (its target does not exist)", flag, path);
        if (err == ELOOP) return CT_FAIL(CT_ERR_IO, "%s %s: symlink loop", flag, path);
        return CT_FAIL(CT_ERR_IO, "%s %s: %s", flag, path, strerror(err));
    }
    if (!S_ISREG(sb.st_mode))
        return CT_FAIL(CT_ERR_IO, "%s %s: is %s, not a regular file", flag, path, ct_file_kind(sb.st_mode));
    if (access(path, R_OK) != 0) return CT_FAIL(CT_ERR_IO, "%s %s: not readable: %s", flag, path, strerror(errno));
    return CT_OK;
}

/* "<realpath of the directory>/<name>" in buf: one spelling per directory entry. */
static void canonical(const char *path, char *buf, size_t len) {
    char dir[PATH_MAX], real[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    const char *d = realpath(dir, real) ? real : dir;
    snprintf(buf, len, "%s/%s", d, base_of(path));
}

int ct_path_same(const char *a, const char *b) {
    if (!a || !b) return 0;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ca[2 * PATH_MAX], cb[2 * PATH_MAX];
    canonical(a, ca, sizeof ca);
    canonical(b, cb, sizeof cb);
    return strcmp(ca, cb) == 0;
}

void ct_outpath_clean_stale_tmp(const char *path) {
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    const char *base = base_of(path);
    const size_t bl = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        /* exactly BASE.tmp.DIGITS, the name ct_checkpoint_save writes */
        if (strncmp(e->d_name, base, bl) != 0 || strncmp(e->d_name + bl, ".tmp.", 5) != 0) continue;
        const char *digits = e->d_name + bl + 5;
        char *end = NULL;
        errno = 0;
        long pid = strtol(digits, &end, 10);
        if (!*digits || *end || errno || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* its writer may still be running */
        char full[2 * PATH_MAX];
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(full, &sb) == 0 && S_ISREG(sb.st_mode)) unlink(full);
    }
    closedir(d);
}

ct_status ct_outpath_check_unlocked(const char *flag, const char *path) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return CT_OK; /* not there yet (or refused by ct_outpath_check) */
    ct_status st = CT_OK;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        st = CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: another run is writing this log (it holds the lock); choose another path",
                     flag, path);
    close(fd); /* releases the probe's lock: ct_outpath_open_log takes it for the run */
    return st;
}

ct_status ct_outpath_open_log(const char *flag, const char *path, int append, FILE **out) {
    *out = NULL;
    /* O_NONBLOCK: a FIFO put there since the check must not hang the open */
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (append ? O_APPEND : 0), 0644);
    if (fd < 0) {
        if (errno == ELOOP) return CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: is a symlink; refusing to write through it", flag, path);
        return CT_FAIL(CT_ERR_IO, "%s %s: cannot open for writing: %s", flag, path, strerror(errno));
    }
    struct stat sb;
    ct_status st = CT_OK;
    if (fstat(fd, &sb) != 0) st = CT_FAIL(CT_ERR_IO, "%s %s: cannot stat: %s", flag, path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: is %s, not a regular file", flag, path, ct_file_kind(sb.st_mode));
    else if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        st = errno == EWOULDBLOCK
                 ? CT_FAIL(CT_ERR_INVALID_ARG, "%s %s: another run is writing this log (it holds the lock); choose another path",
                           flag, path)
                 : CT_FAIL(CT_ERR_IO, "%s %s: cannot lock: %s", flag, path, strerror(errno));
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        st = CT_FAIL(CT_ERR_IO, "%s %s: fcntl: %s", flag, path, strerror(errno));
    else if (!append && ftruncate(fd, 0) != 0)
        st = CT_FAIL(CT_ERR_IO, "%s %s: cannot truncate: %s", flag, path, strerror(errno));
    FILE *f = st == CT_OK ? fdopen(fd, append ? "a" : "w") : NULL;
    if (st == CT_OK && !f) st = CT_FAIL(CT_ERR_NOMEM, "%s %s: fdopen: %s", flag, path, strerror(errno));
    if (st != CT_OK) {
        close(fd);
        return st;
    }
    *out = f; /* the lock lives as long as the descriptor */
    return CT_OK;
}
