/*
 * vpoint.c - cg_views: which functions a learning view shows, the point
 * --at gives, and the emitter --emit names.
 *
 * --at NAME=VALUE gives one parameter: a number as strtod reads it, or a
 * bracketed list in row-major order ("[1, 2, 3]"; inner brackets, as in
 * "[[1, 2], [3, 4]]", only group).  Every parameter of the function,
 * data ones included, needs exactly one.  Each mistake is its own error
 * naming what is wrong, and nothing is written.  NAME=@FILE reads the
 * value from FILE: a large array does not fit on a command line.
 */
#include "view.h"
#include "cgen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "x", "W [2, 3]" */
static const char *shape_text(Arena *A, Type ty)
{
    if (!ty.rank)
        return "a scalar (one number)";
    char buf[128];
    size_t n = 0;
    long long all = ty_size(ty);
    for (int d = 0; d < ty.rank; d++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", d ? ", " : "", (int)ty_dim(ty, d));
    return arena_printf(A, "[%s]: %lld value%s in row-major order", buf, all, all == 1 ? "" : "s");
}

/* The numbers of text, into v (at most cap; *n all of them); -1 after
 * reporting a malformed one. */
static int numbers(const char *name, const char *text, double *v, long cap, long *n)
{
    const char *s = text;
    *n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '[' || *s == ']' || *s == ',')
            s++;
        if (!*s)
            return 0;
        char *end;
        errno = 0;
        double x = strtod(s, &end);
        size_t len = strcspn(s, " \t[],");
        if (end == s || (size_t)(end - s) != len) {
            diag_plain("--at %s=%s: '%.*s' is not a number", name, text, (int)(len ? len : 1), s);
            return -1;
        }
        if (*n < cap)
            v[*n] = x;
        ++*n;
        s = end;
    }
}

/* Brackets balance and hold only numbers, commas and spaces. */
static int well_bracketed(const char *name, const char *text)
{
    int depth = 0;
    for (const char *s = text; *s; s++) {
        depth += *s == '[' ? 1 : *s == ']' ? -1 : 0;
        if (depth < 0)
            break;
    }
    if (depth != 0)
        diag_plain("--at %s=%s: unbalanced brackets", name, text);
    return depth == 0;
}

/* The text of FILE for NAME=@FILE (arena'ed), or NULL after an error. */
static const char *at_file(Arena *A, const char *name, const char *path)
{
    FILE *in = fopen(path, "rb");
    Str s = {0};
    char buf[65536];
    size_t n;
    if (!in) {
        diag_plain("--at %s=@%s: cannot read '%s'", name, path, path);
        return NULL;
    }
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cg_put(&s, buf, n);
    fclose(in);
    char *t = arena_strdup(A, s.p ? s.p : "");
    free(s.p);
    for (char *c = t; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return t;
}

/* One --at item into its parameter's slot of vals; 1 after an error. */
static int one(Arena *A, const Fn *f, const char *item, double **vals)
{
    const char *eq = strchr(item, '=');
    if (!eq || eq == item) {
        diag_plain("--at needs NAME=VALUE, not '%s'", item);
        return 1;
    }
    const char *name = arena_printf(A, "%.*s", (int)(eq - item), item), *text = eq + 1;
    if (*text == '@' && !(text = at_file(A, name, text + 1)))
        return 1;
    int p = -1;
    for (int i = 0; i < f->in.n; i++)
        if (!strcmp(f->in.p[i].name, name))
            p = i;
    if (p < 0) {
        Str s = {0};
        for (int i = 0; i < f->in.n; i++)
            cg_putf(&s, "%s%s", i ? ", " : "", f->in.p[i].name);
        diag_plain("--at: '%s' is not a parameter of %s (its parameters: %s)", name,
                   f->src_name, s.p ? s.p : "none");
        free(s.p);
        return 1;
    }
    if (vals[p]) {
        diag_plain("--at: '%s' is given twice", name);
        return 1;
    }
    Type ty = f->in.p[p].ty;
    long cap = (long)ty_size(ty), n;
    double *v = arena_alloc(A, sizeof(double) * (size_t)(cap + 1));
    if (!well_bracketed(name, text) || numbers(name, text, v, cap, &n))
        return 1;
    if (n != cap) {
        diag_plain("--at %s=%s: %s is %s; got %ld value%s", name, text, name,
                   shape_text(A, ty), n, n == 1 ? "" : "s");
        return 1;
    }
    vals[p] = v;
    return 0;
}

/* The point of j->at for f: one array per parameter; NULL after errors. */
static double **point(Arena *A, const Fn *f, const Job *j)
{
    double **vals = arena_alloc(A, sizeof(double *) * (size_t)(f->in.n + 1));
    int bad = 0;
    for (int i = 0; i < j->nat; i++)
        bad |= one(A, f, j->at[i], vals);
    for (int i = 0; i < f->in.n && !bad; i++)
        if (!vals[i]) {
            diag_plain("--at: no value for '%s', a parameter of %s (every parameter, data "
                       "ones included, needs one: --at %s=%s)",
                       f->in.p[i].name, f->src_name, f->in.p[i].name,
                       f->in.p[i].ty.rank ? "[...]" : "VALUE");
            bad = 1;
        }
    return bad ? NULL : vals;
}

int cg_views(const Program *p, const Job *j)
{
    Arena *A = p->arena;
    int n = p->units.n;
    double **at = NULL;
    if (j->nat) {
        if (n != 1) {
            Str s = {0};
            for (int i = 0; i < n; i++)
                cg_putf(&s, "%s%s", i ? ", " : "", p->units.p[i].primal->src_name);
            diag_plain("--at evaluates one function, and '%s' has %d (%s): choose one with "
                       "--only=F",
                       j->path, n, s.p);
            free(s.p);
            return 1;
        }
        if (!(at = point(A, p->units.p[0].primal, j)))
            return 1;
    }
    View **vs = arena_alloc(A, sizeof(View *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        vs[i] = view_build(A, &p->units.p[i], (const double *const *)at);
    if (at && vs[0]->too_big) {
        diag_plain("--at: %s computes more values than dxc records (8388608): too big to "
                   "show at a point",
                   p->units.p[0].primal->src_name);
        return 1;
    }
    switch (j->emit) {
    case EMIT_JSON: cg_json(A, vs, n, j->out); break;
    case EMIT_DOT: cg_dot(A, vs, n, j->out); break;
    case EMIT_MERMAID: cg_mermaid(A, vs, n, j->out); break;
    case EMIT_HTML: cg_html(A, p, j->cg, vs, n, j->out); break;
    default: cg_values(A, vs, n, j->out); break;
    }
    return 0;
}
