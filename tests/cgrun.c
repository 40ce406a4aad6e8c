/*
 * cgrun.c - the interpreter against the compiled C, for the suites that
 * check the C generator on programs stated as IR text or compiled from
 * source: see cgrun.h.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/codegen.h"
#include "cgrun.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

Program *cr_read(TuLowered *c, const char *text)
{
    ck_assert_msg(tu_read_ir(c, "test.ir", text) == 0, "test.ir:%d:%d: %s", c->d.last_loc.line,
                  c->d.last_loc.col, c->d.last);
    return &c->prog;
}

/* The value of element k of input `which` of a call. */
double cr_input(int which, long long k)
{
    return 0.9 * sin(1.7 * k + 0.3 + 0.61 * which);
}

typedef struct {
    TuBuf drv;      /* the driver's calls */
    double *want;   /* what they print, from the interpreter */
    int nwant, cap;
} Run;

static void expect(Run *r, double v)
{
    if (r->nwant == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->want = realloc(r->want, sizeof(double) * (size_t)r->cap);
        ck_assert_ptr_nonnull(r->want);
    }
    r->want[r->nwant++] = v;
}

/* The value of macro NAME in the header text, or -1. */
static long long header_macro(const char *hdr, const char *name)
{
    char pat[256];
    snprintf(pat, sizeof pat, "#define %s ", name);
    const char *p = strstr(hdr, pat);
    return p ? atoll(p + strlen(pat)) : -1;
}

/* One call of entry point f (or of its _ws variant) on the fixed inputs,
 * printing every output; the interpreter's values go to r->want. */
static void call(Run *r, const Fn *f, int ws, int use_float)
{
    const char *T = use_float ? "float" : "double";
    TuBuf *d = &r->drv;
    const double *in[32];
    double *out[32];
    ck_assert_int_lt(f->in.n, 32);
    ck_assert_int_lt(f->out.n, 32);
    tu_bprintf(d, "    { /* %s%s */\n", f->name, ws ? "_ws" : "");
    for (int i = 0; i < f->in.n; i++) {
        long long n = ty_size(f->in.p[i].ty);
        double *x = malloc(sizeof(double) * (size_t)n);
        for (long long k = 0; k < n; k++) {
            x[k] = cr_input(i, k);
            if (use_float)
                x[k] = (float)x[k];
        }
        in[i] = x;
        if (f->in.p[i].ty.rank) {
            tu_bprintf(d, "        static const %s in%d[%lld] = {", T, i, n);
            for (long long k = 0; k < n; k++)
                tu_bprintf(d, "%s%.17g", k ? ", " : "", x[k]);
            tu_bprintf(d, "};\n");
        } else {
            tu_bprintf(d, "        %s in%d = %.17g;\n", T, i, x[0]);
        }
    }
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    for (int i = 0; i < f->out.n; i++) {
        long long n = ty_size(f->out.p[i].ty);
        out[i] = calloc((size_t)n, sizeof(double));
        if (i < ret)
            continue;
        if (f->out.p[i].ty.rank)
            tu_bprintf(d, "        %s out%d[%lld];\n        for (int k = 0; k < %lld; k++) out%d[k] = 1e30f;\n",
                       T, i, n, n, i);
        else
            tu_bprintf(d, "        %s out%d = 1e30f;\n", T, i);
    }
    if (ws)
        tu_bprintf(d, "        unsigned char *w = malloc(%s_WS_BYTES + 64);\n"
                   "        memset(w, 0x5A, %s_WS_BYTES + 64);\n",
                   f->name, f->name);
    tu_bprintf(d, "        ");
    if (ret)
        tu_bprintf(d, "%s out0 = ", T);
    tu_bprintf(d, "%s%s(", f->name, ws ? "_ws" : "");
    int first = 1;
    for (int i = 0; i < f->in.n; i++, first = 0)
        tu_bprintf(d, "%sin%d", first ? "" : ", ", i);
    for (int i = ret; i < f->out.n; i++, first = 0)
        tu_bprintf(d, "%s%sout%d", first ? "" : ", ", f->out.p[i].ty.rank ? "" : "&", i);
    if (ws)
        tu_bprintf(d, "%sw", first ? "" : ", ");
    tu_bprintf(d, ");\n");
    if (ws)
        tu_bprintf(d, "        for (int k = 0; k < 64; k++) if (w[%s_WS_BYTES + k] != 0x5A) {\n"
                   "            printf(\"workspace overrun\\n\"); return 1;\n        }\n"
                   "        free(w);\n",
                   f->name);
    for (int i = 0; i < f->out.n; i++) {
        if (f->out.p[i].ty.rank)
            tu_bprintf(d, "        for (int k = 0; k < %lld; k++) printf(\"%%.17g\\n\", (double)out%d[k]);\n",
                       ty_size(f->out.p[i].ty), i);
        else
            tu_bprintf(d, "        printf(\"%%.17g\\n\", (double)out%d);\n", i);
    }
    tu_bprintf(d, "    }\n");
    ir_interp(f, in, out);
    for (int i = 0; i < f->out.n; i++) {
        for (long long k = 0; k < ty_size(f->out.p[i].ty); k++)
            expect(r, out[i][k]);
        free(out[i]);
    }
    for (int i = 0; i < f->in.n; i++)
        free((void *)in[i]);
}

static int close_enough(double got, double want, double tol)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= tol * (fabs(want) > 1 ? fabs(want) : 1);
}

char *cr_check(Program *p, const char *tag, const char *src, int use_float, int workspace, long long budget,
               double tol)
{
    char name[128];
    CgOpts o = {.use_float = use_float,
                .src_path = src,
                .header = NULL,
                .stack_budget = budget,
                .workspace = workspace};
    snprintf(name, sizeof name, "%s.h", tag);
    o.header = name;
    Diag d = {0};
    d.quiet = 1;
    ck_assert_msg(cg_check(p, &o, &d) == 0, "cg_check: %s", d.last);
    FILE *fc = fopen(tu_path(arena_printf(p->arena, "%s.c", tag)), "w");
    FILE *fh = fopen(tu_path(name), "w");
    ck_assert(fc && fh);
    cg_c(p, &o, fc);
    cg_header(p, &o, fh);
    fclose(fc);
    fclose(fh);
    char *code = tu_read(tu_path(arena_printf(p->arena, "%s.c", tag)), NULL);
    char *hdr = tu_read(tu_path(name), NULL);
    ck_assert(code && hdr);

    Run r = {0};
    tu_bprintf(&r.drv, "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
                       "#include \"%s.h\"\nint main(void)\n{\n",
               tag);
    for (int u = 0; u < p->units.n; u++) {
        const Unit *un = &p->units.p[u];
        Fn *fs[4];
        for (int k = 0, nf = ir_unit_fns(un, fs); k < nf; k++) {
            long long bytes = workspace ? header_macro(hdr, arena_printf(p->arena, "%s_WS_BYTES", fs[k]->name)) : 0;
            ck_assert_msg(bytes >= 0, "no %s_WS_BYTES in\n%s", fs[k]->name, hdr);
            if (bytes <= budget)
                call(&r, fs[k], 0, use_float);
            if (workspace)
                call(&r, fs[k], 1, use_float);
        }
    }
    tu_bprintf(&r.drv, "    return 0;\n}\n");
    ck_assert_int_eq(tu_write(tu_path(arena_printf(p->arena, "%s_drv.c", tag)), r.drv.s, (size_t)-1), 0);

    /* both compilers at once, each writing TAG_CC.out */
    const char *ccs[] = {"gcc", "clang"};
    TuBuf cmd = {0};
    tu_bprintf(&cmd, "cd '%s' || exit 1; ", tu_tmpdir());
    for (int k = 0; k < 2; k++)
        tu_bprintf(&cmd,
                   "(%s " STRICT " %s -O1 -c %s.c -o %s_%s.o && "
                   "%s -std=c99 -O0 -Wall -Wextra -Werror -c %s_drv.c -o %s_drv_%s.o && "
                   "%s -o %s_%s %s_%s.o %s_drv_%s.o -lm && ./%s_%s) >%s_%s.out 2>&1 & p%d=$!; ",
                   ccs[k], use_float ? "-Wdouble-promotion" : "", tag, tag, ccs[k], ccs[k], tag,
                   tag, ccs[k], ccs[k], tag, ccs[k], tag, ccs[k], tag, ccs[k], tag, ccs[k], tag,
                   ccs[k], k);
    tu_bprintf(&cmd, "wait $p0; s0=$?; wait $p1; s1=$?; exit $((s0 * 16 + s1))");
    int st = tu_run(cmd.s, NULL, NULL);
    free(cmd.s);
    for (int k = 0; k < 2; k++) {
        char *out = tu_read(tu_path(arena_printf(p->arena, "%s_%s.out", tag, ccs[k])), NULL);
        int sk = st < 0 ? -1 : k ? st % 16 : st / 16;
        ck_assert_msg(sk == 0, "%s on %s failed (%d):\n%s\n--- C ---\n%.3000s", ccs[k], tag, st,
                      out ? out : "", code);
        char *q = out;
        for (int i = 0; i < r.nwant; i++) {
            char *end;
            double got = strtod(q, &end);
            ck_assert_msg(end != q, "%s: output %d missing:\n%s", tag, i, out);
            ck_assert_msg(close_enough(got, r.want[i], tol),
                          "%s (%s): output %d is %.17g, the interpreter says %.17g\n--- C ---\n%.3000s",
                          tag, ccs[k], i, got, r.want[i], code);
            q = end;
        }
        free(out);
    }
    free(r.drv.s);
    free(r.want);
    free(hdr);
    return code;
}

char *cr_fn_text(const char *code, const char *sig)
{
    /* the definition: not the prototype the file starts with */
    const char *p = strstr(code, sig);
    while (p && p[strcspn(p, "\n") - 1] == ';')
        p = strstr(p + 1, sig);
    ck_assert_msg(p != NULL, "no %s in\n%.3000s", sig, code);
    const char *e = strstr(p, "\n}\n");
    ck_assert(e);
    size_t n = (size_t)(e - p) + 3;
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

char *cr_dxc_ok(const char *args)
{
    char *out = NULL, *err = NULL;
    int rc = cr_dxc(args, &out, &err);
    ck_assert_msg(rc == 0, "dxc %s: exit %d: %s", args, rc, err ? err : "");
    ck_assert_ptr_nonnull(out);
    free(err);
    return out;
}

int cr_dxc(const char *args, char **out, char **err)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout %d '%s' %s", tu_tmpdir(),
             getenv("DX_SANITIZED") ? 600 : 60, tu_dxc(), args);
    int st = tu_run(cmd, out, err);
    ck_assert_msg(st != -1, "dxc %s crashed", args);
    return st;
}
