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

int dx_tmpfile_read(FILE *f, int (*put)(void *arg, const char *p, size_t n), void *arg)
{
    char buf[1 << 16];
    if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
        return errno ? errno : EIO;
    int e = 0;
    for (size_t n; !e && (n = fread(buf, 1, sizeof buf, f)) > 0;)
        e = put(arg, buf, n);
    return !e && ferror(f) ? EIO : e;
}

/* All of the file open on `from`, from its start, read with pread and
 * written at `to`'s offset; 0 or an errno value. */
static int copy_by_hand(int from, int to, off_t at)
{
    char buf[1 << 16];
    for (;;) {
        ssize_t n = pread(from, buf, sizeof buf, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : 0;
        at += n;
        for (const char *p = buf; n > 0;) {
            ssize_t w = write(to, p, (size_t)n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return w < 0 ? errno : EIO;
            p += w;
            n -= w;
        }
    }
}

int dx_tmpfile_copy(FILE *f, int to)
{
    if (fflush(f) != 0)
        return errno ? errno : EIO;
    int from = fileno(f);
    off_t at = 0;
#if defined(__linux__) && defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 27)
    /* In the kernel (copy_file_range(2), Linux 4.5, glibc 2.27): the text
     * is copied once, page cache to page cache, where reading it into a
     * buffer and writing that copies it twice.  A destination it cannot
     * take (a pipe, a terminal, another file system on an older kernel)
     * fails before a byte is copied, and the copy is done by hand. */
    struct stat st;
    if (fstat(from, &st) != 0)
        return errno;
    while (at < st.st_size) {
        ssize_t n = copy_file_range(from, &at, to, NULL, (size_t)(st.st_size - at), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            break; /* a file system that copies nothing: by hand from here */
        if (n < 0) {
            if (at == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                            errno == EOPNOTSUPP || errno == EBADF || errno == EPERM))
                break;
            return errno;
        }
    }
    if (at == st.st_size)
        return 0;
#endif
    return copy_by_hand(from, to, at);
}
