/*
 * tmpfile.c - a scratch file for text too large to hold in memory, and
 * reading it back: the C of a large program while it is written
 * (driver/output.c, and the functions' text codegen/cgen.c puts aside).
 */
#define _GNU_SOURCE /* copy_file_range, where the C library has it */
#include "dx.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *dx_tmpfile(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    if (!dir || !*dir || snprintf(path, sizeof path, "%s/dxc-XXXXXX", dir) >= (int)sizeof path)
        snprintf(path, sizeof path, "/tmp/dxc-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    unlink(path);
    FILE *f = fdopen(fd, "w+b");
    if (!f)
        close(fd);
    return f;
}

/* f flushed, and *len (< 0: to its end) the bytes from `at` on; 0, or
 * an errno value. */
static int span(FILE *f, long long at, long long *len)
{
    if (fflush(f) != 0)
        return errno ? errno : EIO;
    struct stat st;
    if (*len < 0) {
        if (fstat(fileno(f), &st) != 0)
            return errno;
        *len = (long long)st.st_size - at;
    }
    return 0;
}

int dx_tmpfile_read(FILE *f, long long at, long long len, int (*put)(void *arg, const char *p, size_t n),
                    void *arg)
{
    char buf[1 << 16];
    int e = span(f, at, &len);
    while (!e && len > 0) {
        ssize_t n = pread(fileno(f), buf, len < (long long)sizeof buf ? (size_t)len : sizeof buf, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO; /* shorter than it should be */
        e = put(arg, buf, (size_t)n);
        at += n;
        len -= n;
    }
    return e;
}

int dx_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* dx_tmpfile_read's put into the descriptor *to. */
static int write_fd(void *to, const char *p, size_t n)
{
    return dx_write_all(*(int *)to, p, n);
}

int dx_put_stream(void *file, const char *p, size_t n)
{
    fwrite(p, 1, n, file);
    return 0;
}

int dx_tmpfile_copy(FILE *f, long long at, long long len, int to)
{
    int e = span(f, at, &len);
    if (e)
        return e;
#if defined(__linux__) && defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 27)
    /* In the kernel (copy_file_range(2), Linux 4.5, glibc 2.27): the text
     * is copied once, page cache to page cache, where reading it into a
     * buffer and writing that copies it twice.  A destination it cannot
     * take (a pipe, a terminal, another file system on an older kernel)
     * fails before a byte is copied, and the copy is done by hand. */
    for (int first = 1; len > 0; first = 0) {
        off_t from = (off_t)at;
        ssize_t n = copy_file_range(fileno(f), &from, to, NULL, (size_t)len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            break; /* a file system that copies nothing: by hand from here */
        if (n < 0) {
            if (first && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                          errno == EOPNOTSUPP || errno == EBADF || errno == EPERM))
                break;
            return errno;
        }
        at += n;
        len -= n;
    }
#endif
    return dx_tmpfile_read(f, at, len, write_fd, &to);
}
