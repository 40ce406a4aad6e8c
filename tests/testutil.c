/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

const char *tu_tmpdir(void)
{
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/dxtest.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return dir;
}

void tu_cleanup(void)
{
    if (dir[0] && !getenv("DX_KEEP")) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
        dir[0] = 0;
    }
}

const char *tu_path(const char *name)
{
    static char slots[8][512];
    static int next;
    char *p = slots[next++ & 7];
    snprintf(p, 512, "%s/%s", tu_tmpdir(), name);
    return p;
}

int tu_write(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (n == (size_t)-1)
        n = strlen(text);
    size_t w = fwrite(text, 1, n, f);
    return (fclose(f) != 0 || w != n) ? -1 : 0;
}

char *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

int tu_run(const char *cmd, char **out, char **err)
{
    char full[8192], o[600], e[600];
    snprintf(o, sizeof o, "%s", tu_path("run.out"));
    snprintf(e, sizeof e, "%s", tu_path("run.err"));
    snprintf(full, sizeof full, "( %s ) >'%s' 2>'%s'", cmd, o, e);
    int st = system(full);
    if (out)
        *out = tu_read(o, NULL);
    if (err)
        *err = tu_read(e, NULL);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    int code = WEXITSTATUS(st);
    return code >= 128 ? -1 : code; /* the shell reports a signal as 128+n */
}

const char *tu_dxc(void)
{
    const char *d = getenv("DXC");
    return d && *d ? d : "build/dxc";
}

const char *tu_root(void)
{
    const char *d = getenv("DX_ROOT");
    return d && *d ? d : ".";
}

int tu_each_model(void (*fn)(const char *path, void *arg), void *arg)
{
    char *cmd = tu_printf("cd '%s' && ls tests/models/*.dx examples/*.dx bench/*.dx", tu_root());
    char *list = NULL;
    int n = 0;
    if (tu_run(cmd, &list, NULL) == 0 && list)
        for (char *save = NULL, *f = strtok_r(list, "\n", &save); f; f = strtok_r(NULL, "\n", &save), n++) {
            char *path = tu_printf("%s/%s", tu_root(), f);
            fn(path, arg);
            free(path);
        }
    free(list);
    free(cmd);
    return n;
}

int tu_have(const char *prog)
{
    char *cmd = tu_printf("command -v '%s' >/dev/null 2>&1", prog);
    int ok = tu_run(cmd, NULL, NULL) == 0;
    free(cmd);
    return ok;
}

int tu_have_cortex_m4(const char *what)
{
    if (tu_have("arm-none-eabi-gcc") && tu_have("qemu-system-arm"))
        return 1;
    fprintf(stderr, "%s SKIPPED: arm-none-eabi-gcc or qemu-system-arm is not installed (.ci/run "
                    "installs them: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                    "qemu-system-arm)\n",
            what);
    return 0;
}

int tu_lower(TuLowered *c, const char *text)
{
    memset(c, 0, sizeof *c);
    c->a = arena_new();
    c->src = (Source){"t.dx", text, strlen(text)};
    c->d.src = &c->src;
    c->d.quiet = 1;
    if (parse_file(c->a, &c->d, &c->src, &c->file) == 0) {
        Sema *s = sema_check(c->a, &c->d, &c->file);
        if (s)
            ir_lower(c->a, &c->d, &c->src, &c->file, s, &c->prog);
        else if (!c->d.nerrors)
            c->d.nerrors = 1;
    }
    return c->d.nerrors;
}

char *tu_bad_mismatch(const TuBad *b, int one)
{
    TuLowered c;
    int n = tu_lower(&c, b->src);
    char *why = NULL;
    if (n == 0 || (one && n != 1))
        why = tu_printf("%s\n  gives %d errors (want %s)", b->src, n, one ? "1" : "some");
    else if (!strstr(c.d.last, b->msg) || c.d.last_loc.line != b->line || c.d.last_loc.col != b->col)
        why = tu_printf("%s\n  gives %d:%d: %s\n  want  %d:%d: ...%s...", b->src, c.d.last_loc.line,
                        c.d.last_loc.col, c.d.last, b->line, b->col, b->msg);
    arena_free(c.a);
    return why;
}

int tu_read_ir(TuLowered *c, const char *path, const char *text)
{
    memset(c, 0, sizeof *c);
    c->a = arena_new();
    c->src = (Source){path, text, strlen(text)};
    c->d.src = &c->src;
    c->d.quiet = 1;
    if (ir_read(c->a, &c->d, &c->src, &c->prog) && !c->d.nerrors)
        c->d.nerrors = 1;
    return c->d.nerrors;
}

void tu_bprintf(TuBuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0)
        abort();
    if (b->n + (size_t)k + 1 > b->cap) {
        b->cap = (b->n + (size_t)k + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

char *tu_vprintf(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int k = vsnprintf(NULL, 0, fmt, ap);
    char *s = k < 0 ? NULL : malloc((size_t)k + 1);
    if (!s)
        abort();
    vsnprintf(s, (size_t)k + 1, fmt, again);
    va_end(again);
    return s;
}

char *tu_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = tu_vprintf(fmt, ap);
    va_end(ap);
    return s;
}
