/*
 * ccheck.c - dxc --emit=check: the C file of cg_c followed by a main
 * program that checks every entry point it holds at seeded random points
 * and prints a table of the worst errors (the harness is
 * codegen/checkmain.tpl, built into dxc as a string).
 *
 * Between the harness's two halves go, per function, wrappers that call
 * each entry point on flat arrays (every parameter one after the other,
 * data ones included), so the harness is the same code for every model:
 *
 *   f:    (in, out)             out = f's value(s)
 *   grad: (in, seed, out, res)  res = the gradient (f_grad) or J^T seed (f_vjp)
 *   jvp:  (in, dir, out, res)   res = J dir
 *   hvp:  (in, dir, out, res)   res = H dir
 *
 * The references are central differences of f and of the gradient in
 * double: the wrappers f and g themselves, or for a float model a second
 * copy of f and its gradient written in double (double_copy: the same
 * IR, functions PREd_NAME), so that float derivatives are compared with
 * accurate ones.
 *
 * Every name the harness defines starts with one prefix, dxchk_ unless a
 * function of the model starts so; it declares printf itself rather than
 * including <stdio.h>, so a model's function may be named like anything
 * but printf.
 */
#include "cgen.h"

#include <stdlib.h>
#include <string.h>

#include "checkmain.h" /* checkmain_tpl: codegen/checkmain.tpl, line by line */

static const char TPL_PREFIX[] = "dxchk_";

/* The harness's prefix: dxchk_, or dxchk1_, ... when a function of p
 * starts with the shorter one. */
static const char *prefix_for(const Program *p, Arena *A)
{
    for (int k = 0;; k++) {
        const char *pre = k ? arena_printf(A, "dxchk%d_", k) : TPL_PREFIX;
        int clash = 0;
        for (int i = 0; i < p->units.n && !clash; i++) {
            Fn *fs[4];
            for (int j = 0, n = ir_unit_fns(&p->units.p[i], fs); j < n; j++)
                clash |= !strncmp(fs[j]->name, pre, strlen(pre));
        }
        if (!clash)
            return pre;
    }
}

/* s, written with every dxchk_ as pre. */
static void put_prefixed(const char *s, size_t n, const char *pre, FILE *out)
{
    size_t lt = sizeof TPL_PREFIX - 1;
    const char *end = s + n;
    while (s < end) {
        const char *hit = s;
        while (hit + lt <= end && memcmp(hit, TPL_PREFIX, lt))
            hit++;
        if (hit + lt > end)
            hit = end;
        fwrite(s, 1, (size_t)(hit - s), out);
        if (hit == end)
            break;
        fputs(pre, out);
        s = hit + lt;
    }
}

/* The lines of the template from *line up to the mark (or the end), with
 * every dxchk_ written as pre; *line moves past the mark. */
static void put_template(int *line, const char *pre, FILE *out)
{
    for (; checkmain_tpl[*line]; ++*line) {
        const char *s = checkmain_tpl[*line];
        if (!strcmp(s, "/* @FUNCTIONS@ */")) {
            ++*line;
            return;
        }
        put_prefixed(s, strlen(s), pre, out);
        fputc('\n', out);
    }
}

/* The entry point u offers for one of ENTRY_GRAD, JVP, HVP, when o
 * selects it; NULL otherwise. */
static const Fn *entry(const Unit *u, const CgOpts *o, int bit)
{
    const Fn *f = bit == ENTRY_GRAD ? u->grad : bit == ENTRY_JVP ? u->jvp : u->hvp;
    return f && (!o->entries || (o->entries & bit)) ? f : NULL;
}

/* The derivative entry points a check calls, and their wrappers' letters. */
static const struct {
    int bit;
    char w;
} KINDS[3] = {{ENTRY_GRAD, 'g'}, {ENTRY_JVP, 'j'}, {ENTRY_HVP, 'h'}};

/* f's inputs, every parameter flattened one after the other. */
static long long flat_inputs(const Fn *f)
{
    long long n = 0;
    for (int k = 0; k < f->in.n; k++)
        n += ty_size(f->in.p[k].ty);
    return n;
}

enum { RETURNS = 1, USES_SEED = 2, USES_RES = 4, USES_IN = 8, USES_DIR = 16 };

/* The arguments of f's call, on the flat arrays in, dir, seed, out and
 * res of the wrapper; off: where each parameter starts.  Returns
 * RETURNS when f returns its value, and which arrays it uses (USES_*). */
static int call_args(const Fn *f, const Fn *primal, const long long *off, const char *pre, Str *s)
{
    int first = 1, used = 0;
    for (int i = 0; i < f->in.n; i++) {
        const Input *in = &f->in.p[i];
        cg_puts(s, first ? "" : ", ");
        first = 0;
        if (in->role == IN_SEED) {
            cg_putf(s, "%sseed", pre);
            used |= USES_SEED;
            continue;
        }
        int k = in->role == IN_TANGENT ? in->of : i;
        const char *arr = in->role == IN_TANGENT ? "dir" : "in";
        used |= in->role == IN_TANGENT ? USES_DIR : USES_IN;
        if (primal->in.p[k].ty.rank)
            cg_putf(s, "%s%s + %lld", pre, arr, off[k]);
        else
            cg_putf(s, "%s%s[%lld]", pre, arr, off[k]);
    }
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    int arrays = 0; /* f_jvp: out, then out_dot */
    for (int i = ret; i < f->out.n; i++) {
        const Output *o = &f->out.p[i];
        cg_puts(s, first ? "" : ", ");
        first = 0;
        if (f->kind == FN_JVP) {
            const char *which = o->ty.rank && arrays++ == 0 ? "out" : "res";
            cg_putf(s, o->ty.rank ? "%s%s" : "&%s%s[0]", pre, which);
            used |= *which == 'r' ? USES_RES : 0;
        } else if (o->role == OUT_BAR) {
            used |= USES_RES;
            if (o->ty.rank)
                cg_putf(s, "%sres + %lld", pre, off[o->of]);
            else
                cg_putf(s, "&%sres[%lld]", pre, off[o->of]);
        } else {
            cg_putf(s, "%sout", pre);
        }
    }
    return used | (ret ? RETURNS : 0);
}

/* One wrapper: static void PREwK(...) calling f, w one of f, g, j, h
 * (on the model's real type) or F, G (the references' double copy of f
 * and of its gradient). */
static void wrapper(const Fn *f, const Fn *primal, const long long *off, const char *pre, char w,
                    int k, FILE *out)
{
    Str s = {0};
    cg_puts(&s, ""); /* no argument: an empty list, not NULL */
    int use = call_args(f, primal, off, pre, &s);
    char kind = (char)(w | 0x20); /* F and G as f and g */
    const char *real = w == 'F' || w == 'G' ? "double" : arena_name(primal->arena, pre, "real", -1);
    const char *mid = kind == 'f'   ? ""
                      : kind == 'g' ? arena_printf(primal->arena, "const %s *%sseed, ", real, pre)
                                    : arena_printf(primal->arena, "const %s *%sdir, ", real, pre);
    fprintf(out, "static void %s%c%d(const %s *%sin, %s%s *%sout", pre, w, k, real, pre, mid, real,
            pre);
    if (kind != 'f')
        fprintf(out, ", %s *%sres", real, pre);
    fprintf(out, ")\n{\n");
    /* the wrapper's arrays the call does not read */
    if (!(use & USES_IN))
        fprintf(out, "    (void)%sin;\n", pre);
    if (kind == 'g' && !(use & USES_SEED))
        fprintf(out, "    (void)%sseed;\n", pre);
    if ((kind == 'j' || kind == 'h') && !(use & USES_DIR))
        fprintf(out, "    (void)%sdir;\n", pre);
    if (kind != 'f' && !(use & USES_RES))
        fprintf(out, "    (void)%sres;\n", pre);
    if (use & RETURNS)
        fprintf(out, "    %sout[0] = %s(%s);\n}\n", pre, f->name, s.p);
    else
        fprintf(out, "    %s(%s);\n}\n", f->name, s.p);
    free(s.p);
}

/* Unit k's tables and wrappers (and those of ref, its double copy, if
 * not NULL); *n and *m get its inputs and outputs. */
static void unit_wrappers(const Unit *u, const Unit *ref, const CgOpts *o, int k, const char *pre,
                          long long *n, long long *m, FILE *out)
{
    const Fn *f = u->primal;
    Arena *A = f->arena;
    long long *off = arena_alloc(A, sizeof(long long) * (size_t)(f->in.n + 1));
    off[0] = 0;
    fprintf(out, "\n/* %s(", cg_comment_safe(A, f->src_name ? f->src_name : f->name));
    for (int i = 0; i < f->in.n; i++) {
        const Input *in = &f->in.p[i];
        off[i + 1] = off[i] + ty_size(in->ty);
        fprintf(out, "%s%s%s", i ? ", " : "", in->is_data ? "data " : "",
                cg_comment_safe(A, in->name));
        for (int d = 0; d < in->ty.rank; d++)
            fprintf(out, "%s%d%s", d ? ", " : "[", (int)ty_dim(in->ty, d), d + 1 == in->ty.rank ? "]" : "");
    }
    *n = off[f->in.n];
    *m = ty_size(f->out.p[0].ty);
    fprintf(out, "): %lld input%s, %lld output%s */\n", *n, *n == 1 ? "" : "s", *m,
            *m == 1 ? "" : "s");
    fprintf(out, "static const char *const %snames%d[] = {", pre, k);
    for (int i = 0; i < f->in.n; i++) {
        fputs(i ? ", " : "", out);
        cg_fput_quoted(out, f->in.p[i].name);
    }
    fprintf(out, "%s};\nstatic const int %soff%d[] = {", f->in.n ? "" : "0", pre, k);
    for (int i = 0; i <= f->in.n; i++)
        fprintf(out, "%s%lld", i ? ", " : "", off[i]);
    fprintf(out, "};\nstatic const unsigned char %sact%d[] = {", pre, k);
    for (int i = 0; i < f->in.n; i++)
        fprintf(out, "%s%d", i ? ", " : "", !f->in.p[i].is_data);
    fprintf(out, "%s};\n", f->in.n ? "" : "0");
    wrapper(f, f, off, pre, 'f', k, out);
    for (int i = 0; i < 3; i++) {
        const Fn *e = entry(u, o, KINDS[i].bit);
        if (e)
            wrapper(e, f, off, pre, KINDS[i].w, k, out);
    }
    if (ref) { /* the references' double copy */
        wrapper(ref->primal, f, off, pre, 'F', k, out);
        if (ref->grad)
            wrapper(ref->grad, f, off, pre, 'G', k, out);
    }
}

/* The harness's size limits: a function's inputs and outputs index int
 * arrays. */
enum { MAX_FLAT = 1 << 28 };

int cg_check_program_limits(const Program *p, Diag *d)
{
    int errors = 0;
    for (int i = 0; i < p->units.n; i++) {
        const Fn *f = p->units.p[i].primal;
        Loc at = {f->line, f->col};
        long long n = flat_inputs(f);
        if (!strcmp(f->name, "printf")) {
            diag_error(d, at, "--emit=check: the check program calls the C library's printf, "
                              "so no function may be named 'printf' (rename it, or use --prefix)");
            errors++;
        } else if (n > MAX_FLAT || ty_size(f->out.p[0].ty) > MAX_FLAT) {
            diag_error(d, at, "--emit=check: '%s' has more than %d inputs or outputs, too many "
                              "for the check program", f->name, MAX_FLAT);
            errors++;
        }
    }
    return errors;
}

/* The double copy of p's f and gradients that the references of a float
 * check take their differences of (the same IR, written in double): each
 * function named PREd_NAME, its helpers PREd_sigmoid, ... */
static Program *double_copy(const Program *p, const CgOpts *o, const char *pre, FILE *out)
{
    Arena *A = p->arena;
    const char *dpre = arena_name(A, pre, "d_", -1);
    Program *q = arena_alloc(A, sizeof *q);
    *q = *p;
    q->units.p = arena_alloc(A, sizeof(Unit) * (size_t)(p->units.n + 1));
    for (int i = 0; i < p->units.n; i++) {
        const Unit *u = &p->units.p[i];
        Unit *v = &q->units.p[i];
        memset(v, 0, sizeof *v);
        v->ret = u->ret;
        const Fn *from[2] = {u->primal, u->grad};
        Fn **to[2] = {&v->primal, &v->grad};
        for (int k = 0; k < 2; k++) {
            if (!from[k])
                continue;
            Fn *f = arena_alloc(A, sizeof *f);
            *f = *from[k];
            f->name = arena_name(A, dpre, from[k]->name, -1);
            *to[k] = f;
        }
    }
    CgOpts co = *o;
    co.use_float = 0;
    co.entries = ENTRY_F | ENTRY_GRAD;
    co.prefix = NULL;
    co.header = NULL;
    co.line_directives = 0;
    co.explain = 0;
    co.workspace = 0;
    co.written = NULL;
    co.helper_prefix = dpre;
    fprintf(out, "\n/* ---------------- the same model in double, for the references ---------------- */\n");
    cg_c(q, &co, out);
    return q;
}

void cg_check_program(const Program *p, const CgOpts *o, FILE *out)
{
    cg_c(p, o, out);
    Arena *A = p->arena;
    const char *pre = prefix_for(p, A);
    int fl = o->use_float;
    const Program *ref = fl ? double_copy(p, o, pre, out) : NULL;
    size_t width = 5; /* "entry" */
    for (int i = 0; i < p->units.n; i++) {
        Fn *fs[4];
        for (int k = 0, n = ir_unit_fns(&p->units.p[i], fs); k < n; k++)
            if (strlen(fs[k]->name) > width)
                width = strlen(fs[k]->name);
    }

    /* the sizes and tolerances the harness reads */
    fprintf(out, "\n");
    fprintf(out, "typedef %s %sreal;\n", fl ? "float" : "double", pre);
    fprintf(out, "#define %sREAL_NAME \"%s\"\n", pre, fl ? "float" : "double");
    fprintf(out, "#define %sSOURCE ", pre);
    cg_fput_quoted(out, o->src_path ? o->src_path : "<input>");
    fprintf(out, "\n#define %sNFN %d\n#define %sNAME_WIDTH %d\n", pre, p->units.n, pre,
            (int)width);
    /* tolerances: against the references' differences (FD, double in
     * both cases: float's are its own rounding), and for what holds to
     * rounding (EXACT: a long loop in float drifts) */
    if (fl)
        fprintf(out, "#define %sFD_RTOL 1e-2\n#define %sFD_ATOL 1e-4\n"
                     "#define %sEXACT_RTOL 1e-2\n#define %sEXACT_ATOL 1e-5\n#define %sHUGE 3e32\n",
                pre, pre, pre, pre, pre);
    else
        fprintf(out, "#define %sFD_RTOL 1e-6\n#define %sFD_ATOL 1e-8\n"
                     "#define %sEXACT_RTOL 1e-10\n#define %sEXACT_ATOL 1e-12\n#define %sHUGE 1e302\n",
                pre, pre, pre, pre, pre);
    /* the references' step, in double: cbrt(eps) balances a central
     * difference's truncation (h^2) against its rounding (eps / h) */
    fprintf(out, "#define %sSTEP 6.0554544523933395e-06\n", pre);

    /* the wrappers first, to a buffer: they give the largest sizes */
    char *buf = NULL;
    size_t nbuf = 0;
    FILE *mem = open_memstream(&buf, &nbuf);
    if (!mem)
        BUG("open_memstream failed");
    long long nmax = 1, mmax = 1;
    for (int i = 0; i < p->units.n; i++) {
        long long n, m;
        unit_wrappers(&p->units.p[i], ref ? &ref->units.p[i] : NULL, o, i, pre, &n, &m, mem);
        nmax = n > nmax ? n : nmax;
        mmax = m > mmax ? m : mmax;
    }
    fprintf(mem, "\nstatic const %sfn %sfns[%sNFN] = {\n", pre, pre, pre);
    for (int i = 0; i < p->units.n; i++) {
        const Unit *u = &p->units.p[i];
        const Fn *f = u->primal;
        fprintf(mem, "    {");
        cg_fput_quoted(mem, f->src_name ? f->src_name : f->name);
        fprintf(mem, ", \"%s\", %lld, %lld, %d, %snames%d, %soff%d, %sact%d, %sf%d", f->name,
                flat_inputs(f), ty_size(f->out.p[0].ty), f->in.n, pre, i, pre, i, pre, i, pre, i);
        for (int k = 0; k < 3; k++)
            if (entry(u, o, KINDS[k].bit))
                fprintf(mem, ", %s%c%d", pre, KINDS[k].w, i);
            else
                fprintf(mem, ", 0");
        for (int k = 0; k < 3; k++) {
            const Fn *e = entry(u, o, KINDS[k].bit);
            fprintf(mem, e ? ", \"%s\"" : ", 0", e ? e->name : "");
        }
        /* the references: f and the gradient themselves, or in float the
         * double copy's (any built gradient: an f_hvp needs one) */
        char rf = ref ? 'F' : 'f', rg = ref ? 'G' : 'g';
        fprintf(mem, ", %s%c%d", pre, rf, i);
        if (ref ? u->grad != NULL : entry(u, o, ENTRY_GRAD) != NULL)
            fprintf(mem, ", %s%c%d},\n", pre, rg, i);
        else
            fprintf(mem, ", 0},\n");
    }
    fprintf(mem, "};\n\n");
    fclose(mem);

    fprintf(out, "#define %sNMAX %lld\n#define %sMMAX %lld\n\n", pre, nmax, pre, mmax);
    int line = 0;
    put_template(&line, pre, out);
    if (!checkmain_tpl[line])
        BUG("checkmain.tpl has no @FUNCTIONS@ mark");
    fwrite(buf, 1, nbuf, out);
    put_template(&line, pre, out);
    free(buf);
}
