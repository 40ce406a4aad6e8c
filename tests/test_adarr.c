/*
 * test_adarr.c - the AD passes on array IR, built by hand so that they
 * are tested apart from the front end: every derivative entry point is
 * run by the interpreter and compared with central finite differences of
 * the primal (f_grad, f_jvp) or of f_grad (f_hvp), and f_grad with f_jvp
 * by the dot product.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/ir.h"
#include "testutil.h"

/* ---- building IR by hand ---- */

typedef struct {
    Arena *a;
    Fn *f;
} B;

static B new_fn(const char *name)
{
    B b;
    b.a = arena_new();
    b.f = ir_fn_new(b.a, name, FN_PRIMAL);
    return b;
}

static Ref param(B *b, const char *name, int rank, int d0, int d1, int is_data)
{
    int32_t dims[2] = {d0, d1};
    Input in = {0};
    in.name = name;
    in.ty = rank ? ty_array(rank, dims) : ty_scalar();
    in.is_data = is_data;
    vec_push(b->a, &b->f->in, in);
    return ir_param(b->f, b->f->body, b->f->in.n - 1);
}

static Aff V(B *b, Ref iv) { return aff_var(b->a, iv); }
static Aff K(B *b, int c) { return aff_const(b->a, c); }

/* c + k * iv */
static Aff VK(B *b, Ref iv, int k, int c)
{
    Aff x = aff_var(b->a, iv);
    x.a[0] = k;
    x.c = c;
    return x;
}

static Ref idx(B *b, Region *r, Ref arr, int n, Aff i0, Aff i1)
{
    Ref x = ir_emit(b->f, r, OP_IDX, ty_scalar(), arr, NOREF, NOREF);
    Aff *ix = arena_alloc(b->a, sizeof(Aff) * 2);
    ix[0] = i0;
    ix[1] = i1;
    b->f->v.p[x].ix = ix;
    b->f->v.p[x].nix = n;
    return x;
}

static Ref op(B *b, Region *r, Op o, Ref x, Ref y)
{
    return ir_emit(b->f, r, o, ty_scalar(), x, y, NOREF);
}

static Ref gen1(B *b, Region *r, int n, Region **body, Ref *iv)
{
    int32_t d[1] = {n};
    Ref g = ir_loop_new(b->f, r, OP_GEN, ty_array(1, d), 1);
    *body = b->f->v.p[g].reg[0];
    *iv = ir_ivar(b->f, g, 0);
    return g;
}

static Ref red(B *b, Region *r, RedKind k, Aff lo, Aff hi, Region **body, Ref *iv)
{
    Ref g = ir_loop(ir_at(b->f, r), OP_RED, ty_scalar(), 1, k);
    b->f->v.p[g].ix[0] = lo;
    b->f->v.p[g].ix[1] = hi;
    *body = b->f->v.p[g].reg[0];
    *iv = ir_ivar(b->f, g, 0);
    return g;
}

/* The loop's single result, after yielding y from its body. */
static Ref result(B *b, Region *r, Ref loop, Region *body, Ref y)
{
    vec_push(b->a, &body->yield, y);
    Type t = b->f->v.p[loop].op == OP_GEN ? b->f->v.p[loop].ty : ty_scalar();
    return ir_emit(b->f, r, OP_RESULT, t, loop, NOREF, NOREF);
}

static void ret(B *b, Ref v)
{
    Output o = {0};
    o.name = "y";
    o.ty = b->f->v.p[v].ty;
    o.role = o.ty.rank ? OUT_ARRAY : OUT_RETURN;
    o.ref = v;
    vec_push(b->a, &b->f->out, o);
}

/* ---- checking ---- */

enum { MAXX = 64 };

typedef struct {
    Unit u;
    int nin;            /* primal inputs */
    int off[16], len[16];
    int total;          /* doubles over all inputs */
    int active[16];
} Ctx;

static void layout(Ctx *c)
{
    const Fn *f = c->u.primal;
    c->nin = f->in.n;
    c->total = 0;
    for (int i = 0; i < f->in.n; i++) {
        c->off[i] = c->total;
        c->len[i] = (int)ty_size(f->in.p[i].ty);
        c->total += c->len[i];
        c->active[i] = !f->in.p[i].is_data;
    }
    ck_assert_int_le(c->total, MAXX);
}

static double prim(Ctx *c, const double *x)
{
    const double *in[16];
    double y;
    double *out[1] = {&y};
    for (int i = 0; i < c->nin; i++)
        in[i] = x + c->off[i];
    ir_interp(c->u.primal, in, out);
    return y;
}

/* f_grad: the gradient over all inputs (data entries left 0). */
static double grad(Ctx *c, const double *x, double *g)
{
    const Fn *h = c->u.grad;
    const double *in[16];
    double *out[17], y;
    for (int i = 0; i < c->nin; i++)
        in[i] = x + c->off[i];
    memset(g, 0, sizeof(double) * (size_t)c->total);
    out[0] = &y;
    for (int k = 1; k < h->out.n; k++)
        out[k] = g + c->off[h->out.p[k].of];
    ir_interp(h, in, out);
    return y;
}

static double jvp(Ctx *c, const double *x, const double *v)
{
    const Fn *h = c->u.jvp;
    const double *in[32];
    double y, yd;
    double *out[2] = {&y, &yd};
    for (int i = 0; i < h->in.n; i++) {
        const Input *p = &h->in.p[i];
        in[i] = p->role == IN_TANGENT ? v + c->off[p->of] : x + c->off[i];
    }
    ir_interp(h, in, out);
    return yd;
}

static void hvp(Ctx *c, const double *x, const double *v, double *hv)
{
    const Fn *h = c->u.hvp;
    const double *in[32];
    double *out[17], y;
    for (int i = 0; i < h->in.n; i++) {
        const Input *p = &h->in.p[i];
        in[i] = p->role == IN_TANGENT ? v + c->off[p->of] : x + c->off[i];
    }
    memset(hv, 0, sizeof(double) * (size_t)c->total);
    out[0] = &y;
    for (int k = 1; k < h->out.n; k++)
        out[k] = hv + c->off[h->out.p[k].of];
    ir_interp(h, in, out);
}

static int is_active_entry(const Ctx *c, int j)
{
    for (int i = 0; i < c->nin; i++)
        if (j >= c->off[i] && j < c->off[i] + c->len[i])
            return c->active[i];
    return 0;
}

static void close_to(double got, double want, double tol, const char *what, int j)
{
    ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "%s[%d]: got %.15g, want %.15g",
                  what, j, got, want);
}

/* Differentiates b's function and checks every entry point at x. */
static void check_all(B *b, const double *x0, double tol)
{
    Ctx c = {0};
    c.u.primal = b->f;
    ir_verify(b->f);
    ad_unit(&c.u);
    ck_assert_ptr_nonnull(c.u.grad);
    ck_assert_ptr_nonnull(c.u.jvp);
    ir_verify(c.u.grad);
    ir_verify(c.u.jvp);
    layout(&c);
    double x[MAXX], g[MAXX], v[MAXX], hv[MAXX], gp[MAXX], gm[MAXX];
    memcpy(x, x0, sizeof(double) * (size_t)c.total);
    double y = grad(&c, x, g);
    close_to(y, prim(&c, x), 1e-14, "value", 0);
    for (int j = 0; j < c.total; j++) {
        if (!is_active_entry(&c, j)) {
            v[j] = 0;
            continue;
        }
        double h = 1e-6 * (1 + fabs(x[j])), s = x[j];
        x[j] = s + h;
        double fp = prim(&c, x);
        x[j] = s - h;
        double fm = prim(&c, x);
        x[j] = s;
        close_to(g[j], (fp - fm) / (2 * h), tol, "grad", j);
        v[j] = sin(3.0 * j + 1);
    }
    /* forward mode against reverse mode */
    double dot = 0, mag = 0;
    for (int j = 0; j < c.total; j++) {
        dot += g[j] * v[j];
        mag += fabs(g[j] * v[j]);
    }
    double jv = jvp(&c, x, v);
    ck_assert_msg(fabs(jv - dot) <= 1e-12 * (1 + mag), "jvp %.15g vs grad.v %.15g", jv, dot);
    /* Hessian-vector product against differences of the gradient */
    if (c.u.hvp) {
        ir_verify(c.u.hvp);
        hvp(&c, x, v, hv);
        double h = 1e-6;
        double xp[MAXX], xm[MAXX];
        for (int j = 0; j < c.total; j++) {
            xp[j] = x[j] + h * v[j];
            xm[j] = x[j] - h * v[j];
        }
        grad(&c, xp, gp);
        grad(&c, xm, gm);
        for (int j = 0; j < c.total; j++)
            if (is_active_entry(&c, j))
                close_to(hv[j], (gp[j] - gm[j]) / (2 * h), 1e-5, "hvp", j);
    }
}

static void fill(double *x, int n, double scale)
{
    for (int i = 0; i < n; i++)
        x[i] = scale * sin(1.7 * i + 0.3);
}

/* f(W[3,4], x[4]) = sum_i sigmoid(sum_j W[i,j] x[j]): matvec, a GEN of
 * RED, then a reduction over the GEN's result. */
START_TEST(test_matvec_sigmoid)
{
    B b = new_fn("f");
    Region *top = b.f->body, *gb, *rb, *sb;
    Ref W = param(&b, "W", 2, 3, 4, 0), x = param(&b, "x", 1, 4, 0, 0);
    Ref i, j, k;
    Ref g = gen1(&b, top, 3, &gb, &i);
    Ref r = red(&b, gb, RK_SUM, K(&b, 0), K(&b, 4), &rb, &j);
    Ref t = op(&b, rb, OP_MUL, idx(&b, rb, W, 2, V(&b, i), V(&b, j)), idx(&b, rb, x, 1, V(&b, j), K(&b, 0)));
    Ref s = result(&b, gb, r, rb, t);
    Ref h = result(&b, top, g, gb, op(&b, gb, OP_SIGMOID, s, NOREF));
    Ref q = red(&b, top, RK_SUM, K(&b, 0), K(&b, 3), &sb, &k);
    ret(&b, result(&b, top, q, sb, idx(&b, sb, h, 1, V(&b, k), K(&b, 0))));
    double x0[16];
    fill(x0, 16, 0.9);
    check_all(&b, x0, 1e-7);
    arena_free(b.a);
}
END_TEST

/* f(L[3,3], x[3]) = sum_i (sum_{j < i+1} L[i,j] x[j])^2 + x[2-i] x[i]:
 * triangular bounds and reversed indices. */
START_TEST(test_triangular)
{
    B b = new_fn("f");
    Region *top = b.f->body, *ob, *ib;
    Ref L = param(&b, "L", 2, 3, 3, 0), x = param(&b, "x", 1, 3, 0, 0);
    Ref i, j;
    Ref o = red(&b, top, RK_SUM, K(&b, 0), K(&b, 3), &ob, &i);
    Ref in = red(&b, ob, RK_SUM, K(&b, 0), VK(&b, i, 1, 1), &ib, &j);
    Ref t = op(&b, ib, OP_MUL, idx(&b, ib, L, 2, V(&b, i), V(&b, j)), idx(&b, ib, x, 1, V(&b, j), K(&b, 0)));
    Ref s = result(&b, ob, in, ib, t);
    Ref sq = op(&b, ob, OP_MUL, s, s);
    Ref rx = op(&b, ob, OP_MUL, idx(&b, ob, x, 1, VK(&b, i, -1, 2), K(&b, 0)), idx(&b, ob, x, 1, V(&b, i), K(&b, 0)));
    ret(&b, result(&b, top, o, ob, op(&b, ob, OP_ADD, sq, rx)));
    double x0[12];
    fill(x0, 12, 1.1);
    check_all(&b, x0, 1e-7);
    arena_free(b.a);
    /* the strict upper triangle of L has gradient exactly 0 */
}
END_TEST

/* max and prod reductions: ties share the gradient, zeros are exact. */
START_TEST(test_max_prod)
{
    for (int kind = 0; kind < 2; kind++) {
        B b = new_fn("f");
        Region *top = b.f->body, *rb;
        Ref x = param(&b, "x", 1, 5, 0, 0), w = param(&b, "w", 0, 0, 0, 0);
        Ref j;
        Ref r = red(&b, top, kind ? RK_PROD : RK_MAX, K(&b, 0), K(&b, 5), &rb, &j);
        Ref t = op(&b, rb, OP_MUL, idx(&b, rb, x, 1, V(&b, j), K(&b, 0)), w);
        ret(&b, result(&b, top, r, rb, op(&b, rb, OP_SIN, t, NOREF)));
        double x0[6] = {0.3, -0.2, 0.7, 0.1, 0.5, 1.3};
        check_all(&b, x0, 1e-7);
        arena_free(b.a);
    }
}
END_TEST

/* max over x with a tie: the gradient is shared equally by the tied
 * elements, and the tangent is the mean of their tangents (spec §5). */
START_TEST(test_max_ties)
{
    for (int kind = 0; kind < 2; kind++) {
        B b = new_fn("f");
        Region *top = b.f->body, *rb;
        Ref x = param(&b, "x", 1, 4, 0, 0);
        Ref j;
        Ref r = red(&b, top, kind ? RK_MIN : RK_MAX, K(&b, 0), K(&b, 4), &rb, &j);
        ret(&b, result(&b, top, r, rb, idx(&b, rb, x, 1, V(&b, j), K(&b, 0))));
        Ctx c = {0};
        c.u.primal = b.f;
        ad_unit(&c.u);
        layout(&c);
        double x0[2][4] = {{1, 3, 3, 2}, {2, -1, 5, -1}};
        double g[4], v[4] = {0.25, 1, 2, 4};
        double y = grad(&c, x0[kind], g);
        ck_assert(y == (kind ? -1 : 3));
        double want[2][4] = {{0, 0.5, 0.5, 0}, {0, 0.5, 0, 0.5}};
        for (int i = 0; i < 4; i++)
            ck_assert_msg(g[i] == want[kind][i], "kind %d: g[%d] = %g", kind, i, g[i]);
        double jv = jvp(&c, x0[kind], v);
        ck_assert(jv == (kind ? 2.5 : 1.5));
        arena_free(b.a);
    }
}
END_TEST

/* ---- array programs from source, through the whole front end ---- */

/* Each program's last function has a scalar result; its gradient, jvp and
 * hvp are checked at a point where every branch is decided firmly. */
static const char *const programs[] = {
    /* elementwise, broadcast, every @ form */
    "fn f(A[2,3], B[3,2], u[3], v[2]) = sum(A @ B) + u @ u + sum(u @ B * v * 0.5) + sum(A @ u * v)",
    "fn f(x[4], s) = sum(exp(x * s) / (1 + x ^ 2)) - s * mean(sin(x))",
    "fn f(x[3], y[3]) = sum(atan2(x, y) + hypot(x, y) + max(x, y) * min(x, 2) + pow(abs(x) + 1, y))",
    "fn f(x[3]) = sum(sigmoid(x) + softplus(x) + relu(x) + tanh(x) + erf(x) + log1p(x * x) + expm1(x))",
    /* builtins on arrays */
    "fn f(x[4], y[4]) = logsumexp(x) + dot(softmax(x), y) + norm(x - y) + prod(x) + max(x * y) - min(x)",
    "fn f(A[2,3], a[2], b[3]) = sum(transpose(A) * outer(b, a)) + sum(A ^ 2)",
    /* comprehensions, offsets, triangular reductions, index as real */
    "fn f(x[5]) = sum([x[i] * x[4 - i] for i in 0..5]) + sum(x[i + 1] - x[i] for i in 0..4) ^ 2",
    "fn f(L[3,3], x[3]) = sum(sum(L[i, j] * x[j] for j in 0..i+1) ^ 2 for i in 0..3)",
    "fn f(x[4]) = sum(x[i] * i * 0.5 for i in 0..4) + sum(sum(x[i] * x[j] for j in i..4) for i in 0..4)",
    "fn f(X[3,2], w[2]) = sum(sigmoid(dot(w, X[t])) for t in 0..3)",
    /* literals, stacking, array-valued branches */
    "fn f(u[3], v[3], a) = sum([u, v * a] ^ 2) + dot([a, 2 * a, a * a], u)",
    "fn f(x[3]) = sum([if x[i] > 0 then x[i] * x[i] else sin(x[i]) for i in 0..3] * [1, 2, 3])",
    "fn f(x[3], c) {\n y = x * 2\n if c > 0 { y = y * x } else { y = exp(y) }\n return sum(y)\n}",
    /* calls with arrays, matrix results inside */
    ("fn g(W[2,2], v[2]) -> real[2] { return tanh(W @ v) }\n"
     "fn f(W[2,2], v[2]) = sum(g(W, g(W, v)) * v)"),
    /* nested comprehension with a reduction inside */
    "fn f(A[3,3]) = sum([sum(A[i, k] * A[k, j] for k in 0..3) for i in 0..3, j in 0..3] ^ 2)",
    /* arrays local to a loop body (softmax of each row), their tapes */
    "fn f(X[3,4], w[3,4]) = sum([softmax(X[i])[j] for i in 0..3, j in 0..4] * w)",
    "fn f(X[2,3]) = sum([logsumexp(X[i] * X[i]) * norm(X[i]) for i in 0..2])",
};

START_TEST(test_programs)
{
    TuLowered c;
    const char *text = programs[_i];
    ck_assert_msg(tu_lower(&c, text) == 0, "does not compile: %s", text);
    B b;
    b.a = c.a;
    b.f = c.prog.units.p[c.prog.units.n - 1].primal;
    double x0[MAXX];
    for (int k = 0; k < MAXX; k++)
        x0[k] = 0.3 + 0.7 * sin(2.1 * k + 0.5); /* in (-0.4, 1): away from kinks and ties */
    check_all(&b, x0, 2e-6);
    arena_free(c.a);
}
END_TEST

/* The same programs compiled to C by dxc and run: f_grad's value and
 * gradient must match the interpreter's run of the IR. */
static void compiled_matches(Ctx *c, const char *text, const double *x, const char *cc)
{
    const Fn *h = c->u.grad;
    char drv[16384];
    int n = snprintf(drv, sizeof drv, "#include <stdio.h>\n#include \"p.h\"\nint main(void)\n{\n");
    for (int i = 0; i < c->nin; i++) {
        n += snprintf(drv + n, sizeof drv - (size_t)n, "    double in%d[%d] = {", i, c->len[i]);
        for (int k = 0; k < c->len[i]; k++)
            n += snprintf(drv + n, sizeof drv - (size_t)n, "%s%.17g", k ? ", " : "", x[c->off[i] + k]);
        n += snprintf(drv + n, sizeof drv - (size_t)n, "};\n    double g%d[%d];\n", i, c->len[i]);
    }
    n += snprintf(drv + n, sizeof drv - (size_t)n, "    double y = %s(", h->name);
    for (int i = 0; i < c->nin; i++)
        n += snprintf(drv + n, sizeof drv - (size_t)n, "%s%sin%d", i ? ", " : "",
                      c->len[i] == 1 && c->u.primal->in.p[i].ty.rank == 0 ? "*" : "", i);
    for (int k = 1; k < h->out.n; k++)
        n += snprintf(drv + n, sizeof drv - (size_t)n, ", g%d", h->out.p[k].of);
    n += snprintf(drv + n, sizeof drv - (size_t)n, ");\n    printf(\"%%.17g\\n\", y);\n");
    for (int k = 1; k < h->out.n; k++) {
        int i = h->out.p[k].of;
        n += snprintf(drv + n, sizeof drv - (size_t)n,
                      "    for (int k = 0; k < %d; k++) printf(\"%%.17g\\n\", g%d[k]);\n", c->len[i], i);
    }
    snprintf(drv + n, sizeof drv - (size_t)n, "    return 0;\n}\n");
    ck_assert_int_eq(tu_write(tu_path("p.dx"), text, (size_t)-1), 0);
    ck_assert_int_eq(tu_write(tu_path("drv.c"), drv, (size_t)-1), 0);
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' p.dx -o p.c --header p.h && %s -std=c99 -Wall -Wextra -Wpedantic "
             "-Werror -O1 -c p.c && %s -std=c99 -O1 -Wall -Wextra -Werror -c drv.c && "
             "%s -o p p.o drv.o -lm && ./p",
             tu_tmpdir(), tu_dxc(), cc, cc, cc);
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "%s: %s\n%s", text, err ? err : "", drv);
    /* the interpreter's answer */
    double g[MAXX];
    double y = grad(c, x, g);
    char *p = out;
    double got = strtod(p, &p);
    close_to(got, y, 1e-12, "compiled value", 0);
    for (int k = 1; k < h->out.n; k++) {
        int i = h->out.p[k].of;
        for (int j = 0; j < c->len[i]; j++) {
            got = strtod(p, &p);
            close_to(got, g[c->off[i] + j], 1e-10, "compiled gradient", c->off[i] + j);
        }
    }
    free(out);
    free(err);
}

/* for loops: carried scalars and arrays, branches, nesting, calls */
static const char *const loop_programs[] = {
    "fn f(k, c) {\n x = 1\n v = 0\n for i in 0..100 {\n a = -k * x - c * v\n"
    " x = x + 0.01 * v\n v = v + 0.01 * a\n }\n return x\n}",
    "fn f(x0, a) {\n x = x0\n for i in 0..200 { x = sin(x) * a + 0.5 * x }\n return x\n}",
    "fn f(x0, a, b) {\n x = x0\n for i in 0..30 {\n if x > 1 { x = x * 0.5 + a } else { x = x * x + b }\n }\n"
    " return x\n}",
    "fn f(w[3], s0) {\n s = s0\n for i in 0..4 {\n for j in 0..3 { s = s * 0.9 + w[j] * i }\n }\n return s\n}",
    "fn f(W[2,2], U[2,3], X[5,3], b[2]) {\n h = [0, 0]\n for t in 0..5 { h = tanh(W @ h + U @ X[t] + b) }\n"
    " return sum(h ^ 2)\n}",
    ("fn step(x, a) {\n for i in 0..3 { t = x * a\n x = x - 0.1 * sin(t) }\n return x\n}\n"
     "fn f(x, a) = step(step(x, a), a * x)"),
    "fn f(x[4]) {\n s = 0\n p = 1\n for i in 0..4 {\n s = s + x[i] * p\n p = p * x[3 - i]\n }\n return s\n}",
    "fn f(x) {\n y = x * x\n for i in 3..3 { y = sin(y) }\n return y\n}",
    /* regressions: an array carried by an inner loop beside an outer carried
     * scalar (the reverse loop's RESULTs were split by an accumulation) */
    "fn f(a) {\n M = [a, a]\n s = a\n for i in 0..2 {\n for j in 0..2 { M = M * 2 }\n"
    " s = s * 2\n }\n return s + M[0]\n}",
    "fn f(a) {\n M = [a, a]\n s = a\n for i in 0..2 {\n for j in 0..2 { M = M * 2\n s = s * 2 }\n"
    " }\n return s + M[0]\n}",
};

START_TEST(test_loop_programs)
{
    TuLowered c;
    const char *text = loop_programs[_i];
    ck_assert_msg(tu_lower(&c, text) == 0, "does not compile: %s", text);
    B b;
    b.a = c.a;
    b.f = c.prog.units.p[c.prog.units.n - 1].primal;
    double x0[MAXX];
    for (int k = 0; k < MAXX; k++)
        x0[k] = 0.3 + 0.7 * sin(2.1 * k + 0.5);
    check_all(&b, x0, 2e-6);
    arena_free(c.a);
}
END_TEST

START_TEST(test_programs_compiled)
{
    TuLowered cp;
    const char *text = programs[_i];
    ck_assert(tu_lower(&cp, text) == 0);
    Ctx c = {0};
    c.u.primal = cp.prog.units.p[cp.prog.units.n - 1].primal;
    ad_unit(&c.u);
    layout(&c);
    double x0[MAXX];
    for (int k = 0; k < MAXX; k++)
        x0[k] = 0.3 + 0.7 * sin(2.1 * k + 0.5);
    tu_tmpdir();
    compiled_matches(&c, text, x0, "gcc");
    compiled_matches(&c, text, x0, "clang");
    tu_cleanup();
    arena_free(cp.a);
}
END_TEST

Suite *suite_adarr(void);
Suite *suite_adarr(void)
{
    Suite *s = suite_create("adarr");
    TCase *tc = tcase_create("adarr");
    tcase_add_test(tc, test_matvec_sigmoid);
    tcase_add_test(tc, test_triangular);
    tcase_add_test(tc, test_max_prod);
    tcase_add_test(tc, test_max_ties);
    tcase_add_loop_test(tc, test_programs, 0, (int)(sizeof programs / sizeof *programs));
    tcase_add_loop_test(tc, test_programs_compiled, 0, (int)(sizeof programs / sizeof *programs));
    tcase_add_loop_test(tc, test_loop_programs, 0, (int)(sizeof loop_programs / sizeof *loop_programs));
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
