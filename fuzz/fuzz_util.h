/* Helpers shared by the libFuzzer harnesses. The parsers under test take
 * paths, so inputs go through an anonymous in-memory file (memfd) reached as
 * /proc/self/fd/N: nothing is written to disk and nothing outlives the process. */
#ifndef CT_FUZZ_UTIL_H
#define CT_FUZZ_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct fz_file {
    int fd;
    char path[64];
} fz_file;

/* Opens the memfd once per process; aborts on failure so that a broken
 * environment is not mistaken for a passing run. */
static inline void fz_file_open(fz_file *f, const char *name) {
    f->fd = memfd_create(name, 0);
    if (f->fd < 0) { perror("memfd_create"); abort(); }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

/* Replaces the file's contents with data[0..size). */
static inline void fz_file_set(fz_file *f, const uint8_t *data, size_t size) {
    if (ftruncate(f->fd, 0) != 0) { perror("ftruncate"); abort(); }
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(f->fd, data + done, size - done, (off_t)done);
        if (w <= 0) { perror("pwrite"); abort(); }
        done += (size_t)w;
    }
}

/* A NUL-terminated heap copy of data[0..size) (the parsers take C strings). */
static inline char *fz_strndup(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Reads a little-endian integer of `bytes` bytes from the front of the input,
 * consuming it; missing bytes read as 0. */
static inline uint64_t fz_take(const uint8_t **data, size_t *size, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        if (*size) {
            v |= (uint64_t)(**data) << (8 * i);
            (*data)++;
            (*size)--;
        }
    }
    return v;
}

#endif
