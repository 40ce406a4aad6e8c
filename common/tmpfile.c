/*
 * tmpfile.c - a scratch file for text too large to hold in memory: the
 * C of a large program while it is written (driver/output.c, and the
 * functions' text codegen/cgen.c puts aside).
 */
#include "dx.h"

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
