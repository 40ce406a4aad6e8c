/*
 * tmpfile.c - a scratch file for text too large to hold in memory, and
 * reading it back: the C of a large program while it is written
 * (driver/output.c, and the functions' text codegen/cgen.c puts aside).
 */
#include "dx.h"

#include <errno.h>
#include <stdlib.h>
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
