/*
 * test_arrays.c - C code generation for arrays: loops over index spaces,
 * reductions, buffers and accumulations, array outputs, the stack budget
 * and the workspace variants.
 *
 * The first half builds array IR by hand (so it tests the code generator
 * apart from the front end), runs cg_c on it, and compiles the C with gcc
 * and clang under -std=c99 -Wall -Wextra -Wpedantic -Werror.  A driver
 * generated from each entry point's inputs and outputs calls it on fixed
 * inputs (its outputs first filled with garbage: they must be
 * overwritten) and prints every output; the interpreter runs the same IR
 * on the same inputs, and the two must agree.  With ad_unit the same
 * harness covers the derivative entry points (loops, buffers, ACCs,
 * array bars), and with --workspace the f_ws variants, each run on a
 * malloc'ed workspace of exactly f_WS_BYTES bytes followed by a guard
 * that must stay untouched.
 *
 * The second half compiles .dx programs with $DXC: options, the
 * over-budget error, and array programs end to end.
 */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/codegen.h"
#include "cgrun.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

/* ---------------- text buffers ---------------- */

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* ---------------- building IR by hand ---------------- */

typedef IrB B;

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

static Aff *affs(B *b, int n, const Aff *x)
{
    Aff *ix = arena_alloc(b->a, sizeof(Aff) * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        ix[i] = x[i];
    return ix;
}

/* arr[ix...] (n indices) */
static Ref idx(B *b, Region *r, Ref arr, int n, ...)
{
    Aff x[4];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        x[i] = va_arg(ap, Aff);
    va_end(ap);
    Ref v = ir_emit(b->f, r, OP_IDX, ty_scalar(), arr, NOREF, NOREF);
    b->f->v.p[v].ix = affs(b, n, x);
    b->f->v.p[v].nix = n;
    return v;
}

/* buf[ix...] += val (store: =) */
static void acc(B *b, Region *r, Ref buf, Ref val, int store, int n, ...)
{
    Aff x[4];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        x[i] = va_arg(ap, Aff);
    va_end(ap);
    Ref v = ir_emit(b->f, r, OP_ACC, ty_none(), buf, val, NOREF);
    b->f->v.p[v].ix = affs(b, n, x);
    b->f->v.p[v].nix = n;
    b->f->v.p[v].k = store;
}

static Ref op(B *b, Region *r, Op o, Ref x, Ref y)
{
    return ir_emit(b->f, r, o, ty_scalar(), x, y, NOREF);
}

static Ref cst(B *b, Region *r, double k)
{
    return ir_const(b->f, r, k);
}

static Ref gen(B *b, Region *r, int rank, int d0, int d1, Region **body)
{
    int32_t d[2] = {d0, d1};
    Ref g = ir_loop_new(b->f, r, OP_GEN, ty_array(rank, d), rank);
    *body = b->f->v.p[g].reg[0];
    return g;
}

static Ref red(B *b, Region *r, RedKind k, Aff lo, Aff hi, Region **body)
{
    Ref g = ir_loop_new(b->f, r, OP_RED, ty_scalar(), 1);
    b->f->v.p[g].k = k;
    b->f->v.p[g].ix[0] = lo;
    b->f->v.p[g].ix[1] = hi;
    *body = b->f->v.p[g].reg[0];
    return g;
}

static Ref loop1(B *b, Region *r, Aff lo, Aff hi, int back, Region **body)
{
    Ref l = ir_loop_new(b->f, r, OP_LOOP, ty_none(), 1);
    b->f->v.p[l].ix[0] = lo;
    b->f->v.p[l].ix[1] = hi;
    b->f->v.p[l].k = back;
    *body = b->f->v.p[l].reg[0];
    return l;
}

static Ref iv(B *b, Ref loop, int k)
{
    return ir_ivar(b->f, loop, k);
}

/* The next result of a GEN, RED or IF, yielding y from its body. */
static Ref result(B *b, Region *r, Ref loop, Region *body, Ref y)
{
    vec_push(b->a, &body->yield, y);
    const Inst *in = &b->f->v.p[loop];
    Type t = in->op == OP_GEN ? in->ty : in->op == OP_IF ? b->f->v.p[y].ty : ty_scalar();
    Ref res = ir_emit(b->f, r, OP_RESULT, t, loop, NOREF, NOREF);
    b->f->v.p[res].k = body->yield.n - 1;
    return res;
}

static Ref zeros(B *b, Region *r, int rank, int d0, int d1)
{
    int32_t d[2] = {d0, d1};
    return ir_emit(b->f, r, OP_ZEROS, rank ? ty_array(rank, d) : ty_scalar(), NOREF, NOREF, NOREF);
}

static Ref named(B *b, Ref v, const char *name, int line)
{
    b->f->v.p[v].name = name;
    b->f->v.p[v].line = line;
    return v;
}

/* ---------------- the interpreter against the compiled C ---------------- */

/* cr_check on b's program (cgrun.h). */
static char *check_c(B *b, const char *tag, int use_float, int workspace, long long budget)
{
    return cr_check(&b->p, tag, "hand.dx", use_float, workspace, budget, use_float ? 2e-5 : 1e-12);
}

/* Both precisions and both places for arrays (the stack, the workspace);
 * the derivatives too when ad > 0, the IR as built (not optimised) when
 * ad < 0.  Returns the double C with arrays on the stack. */
static char *check_all(B *b, const char *tag, int ad)
{
    for (int u = 0; u < b->p.units.n; u++) {
        if (ad > 0)
            ad_unit(&b->p.units.p[u]);
        else if (ad == 0)
            opt_all(b->p.units.p[u].primal);
    }
    /* float with the _ws variants, double with arrays on the stack */
    char t[64];
    snprintf(t, sizeof t, "%s_fws", tag);
    free(check_c(b, t, 1, 1, CG_STACK_BUDGET));
    return check_c(b, tag, 0, 0, CG_STACK_BUDGET);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---------------- hand-built IR ---------------- */

/* f(W[3,4], x[4]) = W @ x: a GEN of a RED, computed straight into out. */
static void build_matvec(B *b, int m, int n)
{
    irb_fn(b, "matvec");
    Region *top = b->f->body, *gb, *rb;
    Ref W = param(b, "W", 2, m, n, 0), x = param(b, "x", 1, n, 0, 0);
    Ref g = gen(b, top, 1, m, 0, &gb);
    Ref i = named(b, iv(b, g, 0), "i", 0);
    Ref s = red(b, gb, RK_SUM, K(b, 0), K(b, n), &rb);
    Ref j = named(b, iv(b, s, 0), "j", 0);
    Ref t = op(b, rb, OP_MUL, idx(b, rb, W, 2, V(b, i), V(b, j)), idx(b, rb, x, 1, V(b, j)));
    Ref sv = result(b, gb, s, rb, t);
    irb_ret(b, named(b, result(b, top, g, gb, sv), "y", 1));
}

START_TEST(test_matvec)
{
    B b = irb_new();
    build_matvec(&b, 3, 4);
    char *code = check_all(&b, "matvec", 1);
    /* loops stay loops, the result goes straight to out */
    ck_assert_msg(strstr(code, "void matvec(const double W[3 * 4], const double x[4], double out[3])"),
                  "%.3000s", code);
    ck_assert_msg(strstr(code, "for (int i = 0; i < 3; i++) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "for (int j = 0; j < 4; j++) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "s += W[i * 4 + j] * x[j];"), "%.3000s", code);
    ck_assert_msg(strstr(code, "out[i] = s;"), "%.3000s", code);
    ck_assert_msg(!strstr(code, "double y["), "a temporary for out:\n%.3000s", code);
    ck_assert_msg(strstr(code, "void matvec_vjp("), "%.3000s", code);
    free(code);
    arena_free(b.a);
}
END_TEST

/* sum_i sigmoid(W[i,:] . x) with every derivative: a scalar result. */
START_TEST(test_matvec_sigmoid)
{
    B b = irb_new();
    irb_fn(&b, "f");
    Region *top = b.f->body, *gb, *rb, *sb;
    Ref W = param(&b, "W", 2, 3, 4, 0), x = param(&b, "x", 1, 4, 0, 1);
    Ref g = gen(&b, top, 1, 3, 0, &gb);
    Ref i = iv(&b, g, 0);
    Ref r = red(&b, gb, RK_SUM, K(&b, 0), K(&b, 4), &rb);
    Ref j = iv(&b, r, 0);
    Ref t = op(&b, rb, OP_MUL, idx(&b, rb, W, 2, V(&b, i), V(&b, j)), idx(&b, rb, x, 1, V(&b, j)));
    Ref s = result(&b, gb, r, rb, t);
    Ref h = named(&b, result(&b, top, g, gb, op(&b, gb, OP_SIGMOID, s, NOREF)), "h", 2);
    Ref q = red(&b, top, RK_SUM, K(&b, 0), K(&b, 3), &sb);
    Ref k = iv(&b, q, 0);
    irb_ret(&b, result(&b, top, q, sb, idx(&b, sb, h, 1, V(&b, k))));
    char *code = check_all(&b, "msig", 1);
    ck_assert_msg(strstr(code, "double f_grad(const double W[3 * 4], const double x[4], double W_bar[3 * 4])"),
                  "%.3000s", code);
    ck_assert_msg(strstr(code, "double f_hvp("), "%.3000s", code);
    free(code);
    arena_free(b.a);
}
END_TEST

/* sum_i (sum_{j < i+1} L[i,j] x[j])^2 + x[2-i] x[i]: bounds that depend
 * on an enclosing index, reversed indices. */
START_TEST(test_triangular)
{
    B b = irb_new();
    irb_fn(&b, "tri");
    Region *top = b.f->body, *ob, *ib;
    Ref L = param(&b, "L", 2, 3, 3, 0), x = param(&b, "x", 1, 3, 0, 0);
    Ref o = red(&b, top, RK_SUM, K(&b, 0), K(&b, 3), &ob);
    Ref i = named(&b, iv(&b, o, 0), "i", 0);
    Ref in = red(&b, ob, RK_SUM, K(&b, 0), VK(&b, i, 1, 1), &ib);
    Ref j = named(&b, iv(&b, in, 0), "j", 0);
    Ref t = op(&b, ib, OP_MUL, idx(&b, ib, L, 2, V(&b, i), V(&b, j)), idx(&b, ib, x, 1, V(&b, j)));
    Ref s = result(&b, ob, in, ib, t);
    Ref sq = op(&b, ob, OP_MUL, s, s);
    Ref rx = op(&b, ob, OP_MUL, idx(&b, ob, x, 1, VK(&b, i, -1, 2)), idx(&b, ob, x, 1, V(&b, i)));
    irb_ret(&b, result(&b, top, o, ob, op(&b, ob, OP_ADD, sq, rx)));
    char *code = check_all(&b, "tri", 1);
    ck_assert_msg(strstr(code, "for (int j = 0; j < i + 1; j++) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "x[2 - i]"), "%.3000s", code);
    free(code);
    arena_free(b.a);
}
END_TEST

/* max, min and prod reductions, and every derivative of max (ties). */
START_TEST(test_reductions)
{
    static const RedKind kinds[] = {RK_MAX, RK_MIN, RK_PROD};
    for (int kind = 0; kind < 3; kind++) {
        B b = irb_new();
        irb_fn(&b, "f");
        Region *top = b.f->body, *rb;
        Ref x = param(&b, "x", 1, 5, 0, 0), w = param(&b, "w", 0, 0, 0, 0);
        Ref r = red(&b, top, kinds[kind], K(&b, 1), K(&b, 5), &rb);
        Ref j = iv(&b, r, 0);
        Ref t = op(&b, rb, OP_MUL, idx(&b, rb, x, 1, V(&b, j)), w);
        irb_ret(&b, result(&b, top, r, rb, op(&b, rb, OP_SIN, t, NOREF)));
        char *code;
        if (kinds[kind] == RK_MAX) {
            code = check_all(&b, "red", 1);
        } else {
            ad_unit(&b.p.units.p[0]);
            code = check_c(&b, "red", 0, 0, CG_STACK_BUDGET);
        }
        if (kinds[kind] == RK_MAX)
            ck_assert_msg(strstr(code, "double y = -HUGE_VAL;") && strstr(code, " > y) y = "),
                          "%.3000s", code);
        if (kinds[kind] == RK_MIN)
            ck_assert_msg(strstr(code, "double y = HUGE_VAL;") && strstr(code, " < y) y = "),
                          "%.3000s", code);
        if (kinds[kind] == RK_PROD)
            ck_assert_msg(strstr(code, "double y = 1.0;") && strstr(code, "y *= "), "%.3000s", code);
        free(code);
        arena_free(b.a);
    }
}
END_TEST

/*
 * f(x[5]) -> out[5]: a ZEROS buffer filled by LOOPs of ACCs, forwards and
 * backwards (a running sum reading the buffer), stores, a rank-0 cell,
 * and a read of the buffer before an accumulation to it that must not
 * move after it.
 */
START_TEST(test_buffers)
{
    B b = irb_new();
    irb_fn(&b, "buf");
    Region *top = b.f->body, *l1, *l2, *l3;
    Ref x = param(&b, "x", 1, 5, 0, 0);
    Ref bf = named(&b, zeros(&b, top, 1, 5, 0), "b", 3);
    Ref cell = named(&b, zeros(&b, top, 0, 0, 0), "c", 4);
    Ref a = loop1(&b, top, K(&b, 0), K(&b, 5), 0, &l1);
    Ref i = named(&b, iv(&b, a, 0), "i", 0);
    Ref xi = idx(&b, l1, x, 1, V(&b, i));
    acc(&b, l1, bf, op(&b, l1, OP_MUL, xi, cst(&b, l1, 2)), 0, 1, V(&b, i));
    acc(&b, l1, bf, idx(&b, l1, x, 1, V(&b, i)), 0, 1, VK(&b, i, -1, 4));
    acc(&b, l1, cell, op(&b, l1, OP_MUL, xi, xi), 0, 0);
    /* backwards: b[k] += b[k - 1] for k = 4 .. 1 reads the old b[k - 1] */
    Ref l = loop1(&b, top, K(&b, 1), K(&b, 5), 1, &l2);
    Ref k = iv(&b, l, 0);
    acc(&b, l2, bf, idx(&b, l2, bf, 1, VK(&b, k, 1, -1)), 0, 1, V(&b, k));
    /* t = b[0]; b[0] += 1; ... t is the old value */
    Ref t0 = idx(&b, top, bf, 1, K(&b, 0));
    acc(&b, top, bf, cst(&b, top, 1), 0, 1, K(&b, 0));
    Ref c0 = idx(&b, top, cell, 0);
    Ref u = op(&b, top, OP_ADD, op(&b, top, OP_MUL, t0, cst(&b, top, 3)), c0);
    /* a store loop: b[m] = b[m] + u for the last two */
    Ref s = loop1(&b, top, K(&b, 3), K(&b, 5), 0, &l3);
    Ref m = iv(&b, s, 0);
    acc(&b, l3, bf, op(&b, l3, OP_ADD, idx(&b, l3, bf, 1, V(&b, m)), u), 1, 1, V(&b, m));
    irb_ret(&b, bf);
    char *code = check_all(&b, "buf", 0);
    ck_assert_msg(strstr(code, "for (int i = 4; i >= 1; i--) {") ||
                  strstr(code, "for (int k = 4; k >= 1; k--) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "out[i] = 0.0;"), "zeroed in place:\n%.3000s", code);
    ck_assert_msg(strstr(code, "out[4 - i] += "), "%.3000s", code);
    ck_assert_msg(strstr(code, "out[i] += out[i - 1];"), "%.3000s", code);
    /* the old b[0], read before b[0] += 1 */
    ck_assert_msg(strstr(code, "double t2 = out[0];\n    out[0] += 1.0;"), "%.3000s", code);
    ck_assert_msg(strstr(code, "double c = 0.0;"), "%.3000s", code);
    free(code);
    arena_free(b.a);
}
END_TEST

/* opt_store: the first of several accumulation loops into a zeroed
 * buffer becomes a store (z[i] = 2 x[i]; z[i] += x[i]) when nothing uses
 * the buffer before it; not when something reads it first (w), nor when
 * its loop also writes another element (v). */
START_TEST(test_store_first)
{
    B b = irb_new();
    irb_fn(&b, "stores");
    Region *top = b.f->body, *l1, *l2, *l3, *l4, *l5;
    Ref x = param(&b, "x", 1, 4, 0, 0);
    Ref z = named(&b, zeros(&b, top, 1, 4, 0), "z", 2);
    Ref a1 = loop1(&b, top, K(&b, 0), K(&b, 4), 0, &l1), i1 = iv(&b, a1, 0);
    acc(&b, l1, z, op(&b, l1, OP_MUL, idx(&b, l1, x, 1, V(&b, i1)), cst(&b, l1, 2)), 0, 1, V(&b, i1));
    Ref z1 = b.f->v.n - 1;
    Ref a2 = loop1(&b, top, K(&b, 0), K(&b, 4), 0, &l2), i2 = iv(&b, a2, 0);
    acc(&b, l2, z, idx(&b, l2, x, 1, V(&b, i2)), 0, 1, V(&b, i2));
    Ref z2 = b.f->v.n - 1;
    Ref w = named(&b, zeros(&b, top, 1, 4, 0), "w", 3);
    Ref w0 = idx(&b, top, w, 1, K(&b, 1));
    Ref a3 = loop1(&b, top, K(&b, 0), K(&b, 4), 0, &l3), i3 = iv(&b, a3, 0);
    acc(&b, l3, w, op(&b, l3, OP_ADD, idx(&b, l3, x, 1, V(&b, i3)), w0), 0, 1, V(&b, i3));
    Ref w1 = b.f->v.n - 1;
    Ref v = named(&b, zeros(&b, top, 1, 4, 0), "v", 4);
    Ref a4 = loop1(&b, top, K(&b, 0), K(&b, 4), 0, &l4), i4 = iv(&b, a4, 0);
    acc(&b, l4, v, idx(&b, l4, x, 1, V(&b, i4)), 0, 1, V(&b, i4));
    Ref v1 = b.f->v.n - 1;
    acc(&b, l4, v, cst(&b, l4, 1), 0, 1, VK(&b, i4, -1, 3));
    Region *gb;
    Ref g = gen(&b, top, 1, 4, 0, &gb);
    Ref j = ir_ivar(b.f, g, 0);
    Ref e = op(&b, gb, OP_ADD, idx(&b, gb, z, 1, V(&b, j)),
               op(&b, gb, OP_MUL, idx(&b, gb, w, 1, V(&b, j)), idx(&b, gb, v, 1, V(&b, j))));
    (void)l5;
    irb_ret(&b, result(&b, top, g, gb, e));
    double xin[4] = {0.5, -1.25, 2, 3}, before[4], after[4];
    const double *in[1] = {xin};
    double *out[1] = {before};
    ir_interp(b.f, in, out);
    opt_store(b.f);
    ir_verify(b.f);
    ck_assert_msg(b.f->v.p[z].k == 1 && b.f->v.p[z1].k == 1 && b.f->v.p[z2].k == 0,
                  "z[i] = 2 x[i], then z[i] += x[i]");
    ck_assert_msg(b.f->v.p[w].k == 0 && b.f->v.p[w1].k == 0, "w is read before its first accumulation");
    ck_assert_msg(b.f->v.p[v].k == 0 && b.f->v.p[v1].k == 0, "v's first loop writes v[3 - i] too");
    out[0] = after;
    ir_interp(b.f, in, out);
    for (int k = 0; k < 4; k++)
        ck_assert_double_eq(before[k], after[k]);
    /* z[0] = 3 x[0]; w[0] = x[0] + w[1] (0 when read); v[0] = x[0] + 1 (v[3 - i] at i = 3) */
    ck_assert_double_eq(after[0], 3 * 0.5 + 0.5 * (0.5 + 1));
    free(check_all(&b, "stores", 0));
    arena_free(b.a);
}
END_TEST

/* f(a, b) -> out[3] = [a, 2.5, a * b] + [0, 1, 2] (IREAL) as a GEN over
 * a LIT. */
START_TEST(test_lit_ireal)
{
    B b = irb_new();
    irb_fn(&b, "lit");
    Region *top = b.f->body, *gb;
    Ref a = param(&b, "a", 0, 0, 0, 0), bb = param(&b, "b", 0, 0, 0, 0);
    int32_t d3[1] = {3};
    Ref *el = arena_alloc(b.a, sizeof(Ref) * 3);
    el[0] = a;
    el[1] = cst(&b, top, 2.5);
    el[2] = op(&b, top, OP_MUL, a, bb);
    Ref l = ir_emit(b.f, top, OP_LIT, ty_array(1, d3), NOREF, NOREF, NOREF);
    b.f->v.p[l].list = el;
    b.f->v.p[l].nix = 3;
    named(&b, l, "v", 2);
    Ref g = gen(&b, top, 1, 3, 0, &gb);
    Ref i = iv(&b, g, 0);
    Ref ir = ir_emit(b.f, gb, OP_IREAL, ty_scalar(), NOREF, NOREF, NOREF);
    b.f->v.p[ir].ix = affs(&b, 1, (Aff[]){V(&b, i)});
    irb_ret(&b, result(&b, top, g, gb, op(&b, gb, OP_ADD, idx(&b, gb, l, 1, V(&b, i)), ir)));
    char *code = check_all(&b, "lit", 1);
    ck_assert_msg(strstr(code, "v[1] = 2.5;"), "%.3000s", code);
    ck_assert_msg(strstr(code, "(double)i"), "%.3000s", code);
    free(code);
    arena_free(b.a);
}
END_TEST

/* T[2,3,4] = GEN of (k+1) * x[i] - j; y = sum T[1, i, j] * T[k, 2, 3 - j]:
 * row-major indices of a 3-D array (not optimised: fusion would remove T) */
START_TEST(test_3d)
{
    B b = irb_new();
    irb_fn(&b, "cube");
    Region *top = b.f->body, *gb;
    Ref x = param(&b, "x", 1, 3, 0, 0);
    int32_t dims[3] = {2, 3, 4};
    Ref G = ir_loop_new(b.f, top, OP_GEN, ty_array(3, dims), 3);
    gb = b.f->v.p[G].reg[0];
    Ref k = named(&b, iv(&b, G, 0), "k", 0), i2 = named(&b, iv(&b, G, 1), "i", 0);
    Ref j2 = named(&b, iv(&b, G, 2), "j", 0);
    Ref kr = ir_emit(b.f, gb, OP_IREAL, ty_scalar(), NOREF, NOREF, NOREF);
    b.f->v.p[kr].ix = affs(&b, 1, (Aff[]){VK(&b, k, 1, 1)});
    Ref jr = ir_emit(b.f, gb, OP_IREAL, ty_scalar(), NOREF, NOREF, NOREF);
    b.f->v.p[jr].ix = affs(&b, 1, (Aff[]){V(&b, j2)});
    Ref e = op(&b, gb, OP_SUB, op(&b, gb, OP_MUL, kr, idx(&b, gb, x, 1, V(&b, i2))), jr);
    Ref T = named(&b, result(&b, top, G, gb, e), "T", 5);
    Region *ob, *ib, *kb;
    Ref q = red(&b, top, RK_SUM, K(&b, 0), K(&b, 3), &ob);
    Ref qi = iv(&b, q, 0);
    Ref q2 = red(&b, ob, RK_SUM, K(&b, 0), K(&b, 4), &ib);
    Ref qj = iv(&b, q2, 0);
    Ref q3 = red(&b, ib, RK_SUM, K(&b, 0), K(&b, 2), &kb);
    Ref qk = iv(&b, q3, 0);
    Ref pr = op(&b, kb, OP_MUL, idx(&b, kb, T, 3, K(&b, 1), V(&b, qi), V(&b, qj)),
                idx(&b, kb, T, 3, V(&b, qk), K(&b, 2), VK(&b, qj, -1, 3)));
    Ref r3 = result(&b, ib, q3, kb, pr);
    Ref r2 = result(&b, ob, q2, ib, r3);
    irb_ret(&b, result(&b, top, q, ob, r2));
    char *code = check_all(&b, "cube", -1);
    ck_assert_msg(strstr(code, "(double)(k + 1)"), "%.3000s", code);
    ck_assert_msg(strstr(code, "T[(k * 3 + i) * 4 + j] = "), "%.3000s", code);
    ck_assert_msg(strstr(code, "T[(1 * 3 + i) * 4 + j] * T[(k * 3 + 2) * 4 + 3 - j]"), "%.3000s", code);
    free(code);
    arena_free(b.a);
}
END_TEST

/* Array-valued branches: computed into the result's array, or copied. */
START_TEST(test_if_arrays)
{
    B b = irb_new();
    irb_fn(&b, "pick");
    Region *top = b.f->body, *gb;
    Ref x = param(&b, "x", 1, 4, 0, 0), c = param(&b, "c", 0, 0, 0, 0);
    Ref cond = ir_emit(b.f, top, OP_GT, ty_bool(), c, cst(&b, top, 0), NOREF);
    Ref ifi = ir_emit(b.f, top, OP_IF, ty_none(), cond, NOREF, NOREF);
    Region *th = ir_region_new(b.f, ifi, 0), *el = ir_region_new(b.f, ifi, 1);
    b.f->v.p[ifi].reg[0] = th;
    b.f->v.p[ifi].reg[1] = el;
    Ref g = gen(&b, th, 1, 4, 0, &gb);
    Ref i = iv(&b, g, 0);
    Ref sq = result(&b, th, g, gb, op(&b, gb, OP_MUL, idx(&b, gb, x, 1, V(&b, i)), c));
    vec_push(b.a, &th->yield, sq);
    vec_push(b.a, &el->yield, x);
    Ref res = ir_emit(b.f, top, OP_RESULT, b.f->v.p[x].ty, ifi, NOREF, NOREF);
    named(&b, res, "r", 3);
    /* and the result is read again: out = r + r[3 - i] */
    Region *hb;
    Ref h = gen(&b, top, 1, 4, 0, &hb);
    Ref k = iv(&b, h, 0);
    irb_ret(&b, result(&b, top, h, hb, op(&b, hb, OP_ADD, idx(&b, hb, res, 1, V(&b, k)),
                                      idx(&b, hb, res, 1, VK(&b, k, -1, 3)))));
    char *code = check_all(&b, "ifarr", 1);
    ck_assert_msg(strstr(code, "r[i] = x[i] * c;"), "computed in place:\n%.3000s", code);
    ck_assert_msg(strstr(code, "r[i] = x[i];"), "copied:\n%.3000s", code);
    free(code);
    arena_free(b.a);
}
END_TEST

/* The size of the generated code does not depend on the arrays' sizes. */
START_TEST(test_size_independent)
{
    B b1 = irb_new(), b2 = irb_new();
    build_matvec(&b1, 10, 10);
    build_matvec(&b2, 1000, 1000);
    for (int u = 0; u < 1; u++) {
        ad_unit(&b1.p.units.p[u]);
        ad_unit(&b2.p.units.p[u]);
    }
    CgOpts o = {0, "x.dx", NULL, CG_STACK_BUDGET, 0};
    char *t1 = NULL, *t2 = NULL;
    size_t n1 = 0, n2 = 0;
    FILE *f1 = open_memstream(&t1, &n1), *f2 = open_memstream(&t2, &n2);
    cg_c(&b1.p, &o, f1);
    cg_c(&b2.p, &o, f2);
    fclose(f1);
    fclose(f2);
    ck_assert_int_eq(count(t1, "\n"), count(t2, "\n"));
    ck_assert_int_lt(count(t2, "\n"), 120);
    free(t1);
    free(t2);
    arena_free(b1.a);
    arena_free(b2.a);
}
END_TEST

/* f(a[n]) = sum_i e[i] * e[n-1-i], e = exp(a): e is a local array (read
 * twice, it is not fused into its readers). */
static void build_twice(B *b, int n)
{
    irb_fn(b, "twice");
    Region *top = b->f->body, *gb, *rb;
    Ref a = param(b, "a", 1, n, 0, 0);
    Ref g = gen(b, top, 1, n, 0, &gb);
    Ref i = iv(b, g, 0);
    Ref e = named(b, result(b, top, g, gb, op(b, gb, OP_EXP, idx(b, gb, a, 1, V(b, i)), NOREF)), "e", 1);
    Ref r = red(b, top, RK_SUM, K(b, 0), K(b, n), &rb);
    Ref j = iv(b, r, 0);
    irb_ret(b, result(b, top, r, rb, op(b, rb, OP_MUL, idx(b, rb, e, 1, V(b, j)),
                                    idx(b, rb, e, 1, VK(b, j, -1, n - 1)))));
}

/* Over the stack budget: an error without --workspace; with it, f_ws only. */
START_TEST(test_budget)
{
    B b = irb_new();
    build_twice(&b, 50000); /* e: 400 000 bytes */
    ad_unit(&b.p.units.p[0]);
    CgOpts o = {0, "x.dx", NULL, 399999, 0};
    Diag d = {0};
    d.quiet = !getenv("DX_VERBOSE");
    ck_assert_int_ge(cg_check(&b.p, &o, &d), 1);
    ck_assert_msg(strstr(d.last, "bytes of local arrays, over the stack budget of 399999 bytes "
                                 "(the largest, 'e' from line 1, takes 400000 bytes)"), "%s", d.last);
    ck_assert_int_eq(d.nerrors, 4); /* twice, twice_grad, twice_jvp, twice_hvp */
    o.use_float = 1; /* halves it: twice fits */
    ck_assert_int_eq(cg_check(&b.p, &o, &d), 3);
    o.use_float = 0;
    o.stack_budget = 400000;
    ck_assert_int_eq(cg_check(&b.p, &o, &d), 3);
    arena_free(b.a);

    b = irb_new();
    build_twice(&b, 30);
    ad_unit(&b.p.units.p[0]);
    char *code = check_c(&b, "budget", 0, 1, 240);
    ck_assert_msg(strstr(code, "#define twice_WS_BYTES 240"), "%.3000s", code);
    ck_assert_msg(strstr(code, "double twice(const double a[30])\n{"), "%.3000s", code);
    ck_assert_msg(strstr(code, "twice_grad is not generated"), "%.3000s", code);
    ck_assert_msg(strstr(code, "double twice_grad_ws("), "%.3000s", code);
    free(code);
    arena_free(b.a);
}
END_TEST

/* ---------------- .dx programs ---------------- */

/* Compiles .dx source in-process (front end, lowering, AD) into b. */
static void compile_dx(B *b, const char *text)
{
    *b = irb_new();
    Source *src = arena_alloc(b->a, sizeof *src);
    *src = (Source){"arrays.dx", arena_strdup(b->a, text), strlen(text)};
    Diag d = {0};
    d.src = src;
    d.quiet = 1;
    AstFile file;
    ck_assert_msg(parse_file(b->a, &d, src, &file) == 0, "%s", d.last);
    Sema *s = sema_check(b->a, &d, &file);
    ck_assert_msg(s && ir_lower(b->a, &d, src, &file, s, &b->p) == 0 && !d.nerrors, "%s", d.last);
    for (int u = 0; u < b->p.units.n; u++)
        ad_unit(&b->p.units.p[u]);
}

static const char models_dx[] =
    "const N = 4\n"
    "const M = 3\n"
    "fn mv(A[M, N], x[N]) -> real[M] = A @ x\n"
    "fn mm(A[M, N], B[N, 2]) = A @ B\n"
    "fn vm(x[M], A[M, N]) = x @ A\n"
    "fn vv(x[N], y[N]) = x @ y\n"
    "fn bc(x[N], s) = x * s + 1\n"
    "fn comp(x[N]) = [x[i] * (i + 1) for i in 0..N]\n"
    "fn comp2(x[N], y[M]) = [x[j] - y[i] for i in 0..M, j in 0..N]\n"
    "fn tri(L[N, N], x[N]) = sum(sum(L[i, j] * x[j] for j in 0..i+1) ^ 2 for i in 0..N)\n"
    "fn sm(x[N]) = softmax(x)\n"
    "fn lse(x[N], data y[N]) = logsumexp(x) - dot(y, x)\n"
    "fn rev(x[N]) = [x[N - 1 - i] for i in 0..N]\n"
    "fn lit(a, b) = [a, 2.5, a * b]\n"
    "fn red(x[N]) = norm(x) + mean(x) + prod(x) + max(x) - min(x)\n"
    "fn tr(A[M, N]) = transpose(A)\n"
    "fn op(a[M], b[N]) = outer(a, b)\n"
    "fn sel(x[N], c) {\n"
    "    if c > 0 { y = x * 2 } else { y = x }\n"
    "    return sum(y)\n"
    "}\n"
    "fn id(x[M]) = x\n"
    "fn cst(x[M], data y[M]) = y\n"
    "fn pick(x[M], y[M], c) = if c > 0 then x else y\n"
    "fn two(a) = [a, a]\n"
    "fn row(X[M, N]) = X[1]\n"
    "fn both(x[M], c) {\n"
    "    y = x\n"
    "    if c > 0 { y = x * c }\n"
    "    return y\n"
    "}\n"
    "fn mlp(W1[5, N], b1[5], W2[2, 5], b2[2], data x[N], data y[2]) {\n"
    "    h = relu(W1 @ x + b1)\n"
    "    z = W2 @ h + b2\n"
    "    return logsumexp(z) - dot(y, z)\n"
    "}\n"
    "fn pk(x[N], z[N], c) {\n"
    "    y = if c > 0 then x else z\n"
    "    return sum(y * y) + y[0]\n"
    "}\n";

/* Every entry point of lowered models, compiled and run against the
 * interpreter: primal, f_vjp or f_grad, f_jvp, f_hvp; double and float;
 * plain and _ws. */
START_TEST(test_models)
{
    B b;
    compile_dx(&b, models_dx);
    char *code = check_all(&b, "models", -1);
    /* readable: source names, loops, source lines as block headers */
    ck_assert_msg(strstr(code, "    /* line 33: h = relu(W1 @ x + b1) */\n    double h[5];\n"), "%.3000s", code);
    /* the primal result is copied in the forward pass */
    ck_assert_msg(strstr(code, "    /* forward pass: the function, keeping what the backward pass reads */\n"
                               "    /* line 22: fn id(x[M]) = x */\n"
                               "    for (int i = 0; i < 3; i++) out[i] = x[i];\n"), "%.3000s", code);
    ck_assert_msg(strstr(code, "void mv_vjp(const double A[3 * 4], const double x[4], "
                               "const double out_bar[3], double out[3], double A_bar[3 * 4], "
                               "double x_bar[4])"), "%.3000s", code);
    ck_assert_msg(!strstr(code, "(double)j == (double)"), "%.3000s", code);
    /* an if that only picks an array is a pointer, not a copy */
    ck_assert_msg(strstr(code, "    /* line 38: y = if c > 0 then x else z */\n    const double *y;\n"),
                  "%.3000s", code);
    free(code);
    arena_free(b.a);
}
END_TEST

/* Run $DXC on TAG.dx in the temporary directory with options; returns its
 * exit status, stderr in *err. */
static int dxc(const char *tag, const char *dx, const char *opts, char **err)
{
    char name[128], cmd[4096];
    snprintf(name, sizeof name, "%s.dx", tag);
    ck_assert_int_eq(tu_write(tu_path(name), dx, (size_t)-1), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 '%s' %s.dx %s", tu_tmpdir(), tu_dxc(), tag,
             opts);
    return tu_run(cmd, NULL, err);
}

static const char values_drv[] =
    "#include <math.h>\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include \"vals.h\"\n"
    "static int fails;\n"
    "static void near(const char *what, int k, double got, double want)\n"
    "{\n"
    "    if (!(fabs(got - want) <= TOL * (fabs(want) > 1 ? fabs(want) : 1))) {\n"
    "        printf(\"FAIL %s[%d]: got %.17g, want %.17g\\n\", what, k, got, want);\n"
    "        fails++;\n"
    "    }\n"
    "}\n"
    "int main(void)\n"
    "{\n"
    "    R A[3 * 4], B[4 * 2], x[4], y[4], a[3], L[4 * 4], o[12], s = (R)0.7;\n"
    "    for (int k = 0; k < 12; k++) A[k] = (R)sin(k + 1.0);\n"
    "    for (int k = 0; k < 8; k++) B[k] = (R)cos(k * 0.5);\n"
    "    for (int k = 0; k < 16; k++) L[k] = (R)(0.1 * k - 0.7);\n"
    "    for (int k = 0; k < 4; k++) { x[k] = (R)(0.3 * k - 0.4); y[k] = (R)(1.0 - 0.2 * k); }\n"
    "    for (int k = 0; k < 3; k++) a[k] = (R)(k + 0.5);\n"
    "    /* A @ x, A @ B, a @ A, x @ y */\n"
    "    mv(A, x, o);\n"
    "    for (int i = 0; i < 3; i++) { double t = 0; for (int j = 0; j < 4; j++) t += A[i * 4 + j] * x[j]; near(\"mv\", i, o[i], t); }\n"
    "    mm(A, B, o);\n"
    "    for (int i = 0; i < 3; i++) for (int j = 0; j < 2; j++) { double t = 0; for (int k = 0; k < 4; k++) t += A[i * 4 + k] * B[k * 2 + j]; near(\"mm\", i * 2 + j, o[i * 2 + j], t); }\n"
    "    vm(a, A, o);\n"
    "    for (int j = 0; j < 4; j++) { double t = 0; for (int i = 0; i < 3; i++) t += a[i] * A[i * 4 + j]; near(\"vm\", j, o[j], t); }\n"
    "    { double t = 0; for (int k = 0; k < 4; k++) t += x[k] * y[k]; near(\"vv\", 0, vv(x, y), t); }\n"
    "    /* broadcast, comprehensions */\n"
    "    bc(x, s, o);\n"
    "    for (int k = 0; k < 4; k++) near(\"bc\", k, o[k], x[k] * s + 1);\n"
    "    comp(x, o);\n"
    "    for (int k = 0; k < 4; k++) near(\"comp\", k, o[k], x[k] * (k + 1));\n"
    "    comp2(x, a, o);\n"
    "    for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) near(\"comp2\", i * 4 + j, o[i * 4 + j], x[j] - a[i]);\n"
    "    rev(x, o);\n"
    "    for (int k = 0; k < 4; k++) near(\"rev\", k, o[k], x[3 - k]);\n"
    "    lit(s, 2, o);\n"
    "    near(\"lit\", 0, o[0], s); near(\"lit\", 1, o[1], 2.5); near(\"lit\", 2, o[2], s * 2);\n"
    "    tr(A, o);\n"
    "    for (int i = 0; i < 4; i++) for (int j = 0; j < 3; j++) near(\"tr\", i * 3 + j, o[i * 3 + j], A[j * 4 + i]);\n"
    "    op(a, x, o);\n"
    "    for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) near(\"op\", i * 4 + j, o[i * 4 + j], a[i] * x[j]);\n"
    "    /* triangular sums */\n"
    "    { double t = 0; for (int i = 0; i < 4; i++) { double u = 0; for (int j = 0; j <= i; j++) u += L[i * 4 + j] * x[j]; t += u * u; } near(\"tri\", 0, tri(L, x), t); }\n"
    "    /* softmax, logsumexp, stable at +-1000 */\n"
    "    { R z[4] = {(R)1000, (R)999, (R)-1000, (R)998}, w[4] = {0, 0, 0, 0}; double e = 0;\n"
    "      for (int k = 0; k < 4; k++) e += exp(z[k] - 1000.0);\n"
    "      sm(z, o);\n"
    "      for (int k = 0; k < 4; k++) near(\"sm\", k, o[k], exp(z[k] - 1000.0) / e);\n"
    "      near(\"lse\", 0, lse(z, w), 1000 + log(e)); }\n"
    "    /* norm + mean + prod + max - min */\n"
    "    { double n = 0, m = 0, p = 1, hi = -1e9, lo = 1e9;\n"
    "      for (int k = 0; k < 4; k++) { n += x[k] * x[k]; m += x[k] / 4; p *= x[k]; hi = x[k] > hi ? x[k] : hi; lo = x[k] < lo ? x[k] : lo; }\n"
    "      near(\"red\", 0, red(x), sqrt(n) + m + p + hi - lo); }\n"
    "    near(\"sel\", 0, sel(x, 1), 2 * (x[0] + x[1] + x[2] + x[3]));\n"
    "    near(\"sel\", 1, sel(x, -1), x[0] + x[1] + x[2] + x[3]);\n"
    "    /* gradients: d(x.y)/dx = y; d(sum A@x . ybar)/dA = ybar x^T */\n"
    "    { R gx[4], gy[4], ob[3] = {1, (R)-2, (R)0.5}, gA[12], gxx[4];\n"
    "      for (int k = 0; k < 4; k++) gx[k] = gy[k] = (R)1e30;\n"
    "      vv_grad(x, y, gx, gy);\n"
    "      for (int k = 0; k < 4; k++) { near(\"vv_grad.x\", k, gx[k], y[k]); near(\"vv_grad.y\", k, gy[k], x[k]); }\n"
    "      for (int k = 0; k < 12; k++) gA[k] = (R)1e30;\n"
    "      for (int k = 0; k < 4; k++) gxx[k] = (R)1e30;\n"
    "      mv_vjp(A, x, ob, o, gA, gxx);\n"
    "      for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) near(\"mv_vjp.A\", i * 4 + j, gA[i * 4 + j], ob[i] * x[j]);\n"
    "      for (int j = 0; j < 4; j++) near(\"mv_vjp.x\", j, gxx[j], ob[0] * A[j] + ob[1] * A[4 + j] + ob[2] * A[8 + j]); }\n"
    "    printf(\"done %d\\n\", fails);\n"
    "    return fails != 0;\n"
    "}\n";

/* Values from .dx source through $DXC, against naive C in the driver:
 * matvec, the four @ forms, broadcast, comprehensions, triangular sums,
 * softmax and logsumexp at +-1000, reductions, array returns, branches,
 * two gradients; gcc and clang, double and float. */
START_TEST(test_values)
{
    for (int fl = 0; fl < 2; fl++) {
        char *err = NULL;
        ck_assert_msg(dxc("vals", models_dx, fl ? "-o vals.c --header vals.h --real=float"
                                                 : "-o vals.c --header vals.h", &err) == 0,
                      "%s", err);
        free(err);
        ck_assert_int_eq(tu_write(tu_path("vals_drv.c"), values_drv, (size_t)-1), 0);
        /* gcc and clang at once, each writing vals_CC.out */
        const char *ccs[] = {"gcc", "clang"};
        TuBuf cmd = {0};
        tu_bprintf(&cmd, "cd '%s' || exit 1; ", tu_tmpdir());
        for (int k = 0; k < 2; k++)
            tu_bprintf(&cmd,
                       "(%s " STRICT " %s -O2 -c vals.c -o vals_%s.o && "
                       "%s -std=c99 -O0 -Wall -Wextra -Werror -DR=%s -DTOL=%s vals_drv.c "
                       "vals_%s.o -o vals_%s -lm && ./vals_%s) >vals_%s.out 2>&1 & p%d=$!; ",
                       ccs[k], fl ? "-Wdouble-promotion" : "", ccs[k], ccs[k],
                       fl ? "float" : "double", fl ? "1e-5" : "1e-13", ccs[k], ccs[k], ccs[k],
                       ccs[k], k);
        tu_bprintf(&cmd, "wait $p0; s0=$?; wait $p1; exit $((s0 * 16 + $?))");
        int st = tu_run(cmd.s, NULL, NULL);
        free(cmd.s);
        for (int k = 0; k < 2; k++) {
            char *out = tu_read(tu_path(k ? "vals_clang.out" : "vals_gcc.out"), NULL);
            ck_assert_msg(st == 0 && out && strstr(out, "done 0\n"), "%s, %s (%d): %s", ccs[k],
                          fl ? "float" : "double", st, out ? out : "");
            free(out);
        }
    }
}
END_TEST

/* The size of the C does not depend on the sizes of the arrays. */
START_TEST(test_size_dx)
{
    int lines[2];
    for (int k = 0; k < 2; k++) {
        char dx[1024], *err = NULL;
        snprintf(dx, sizeof dx,
                 "const N = %d\n"
                 "fn net(W[N, N], b[N], data x[N]) {\n"
                 "    h = tanh(W @ x + b)\n"
                 "    p = softmax(W @ h)\n"
                 "    return sum(p * log(p)) + norm(h)\n"
                 "}\n",
                 k ? 1000 : 10);
        ck_assert_msg(dxc("size", dx, "-o size.c --workspace", &err) == 0, "%s", err);
        free(err);
        char *c = tu_read(tu_path("size.c"), NULL);
        ck_assert_ptr_nonnull(c);
        lines[k] = count(c, "\n");
        ck_assert_int_lt(lines[k], 600);
        free(c);
    }
    ck_assert_int_eq(lines[0], lines[1]);
}
END_TEST

/* Over the budget: exit 1, FILE:LINE:COL: error naming the entry point,
 * its largest array and the sizes; an existing output is left alone. */
START_TEST(test_budget_error)
{
    static const char dx[] =
        "const N = 300\n"
        "\n"
        "fn big(A[N, N], x[N]) {\n"
        "    B = [exp(A[i, j] * x[j]) for i in 0..N, j in 0..N]\n"
        "    return sum(B * B) + sum(B)\n"
        "}\n";
    ck_assert_int_eq(tu_write(tu_path("big.c"), "keep", (size_t)-1), 0);
    char *err = NULL;
    ck_assert_int_eq(dxc("big", dx, "-o big.c --stack-budget=512K", &err), 1);
    ck_assert_msg(strstr(err, "big.dx:3:4: error: 'big' needs 720000 bytes of local arrays, "
                              "over the stack budget of 524288 bytes (the largest, 'B' from "
                              "line 4, takes 720000 bytes); use --workspace or --stack-budget\n"),
                  "%s", err);
    free(err);
    char *c = tu_read(tu_path("big.c"), NULL);
    ck_assert_str_eq(c, "keep");
    free(c);
    /* under the default budget of 1 MiB the primal fits */
    ck_assert_int_eq(dxc("big", dx, "-o big.c --stack-budget=1M --emit=ir", &err), 0);
    free(err);
    ck_assert_int_eq(dxc("big", dx, "-o big.c --stack-budget=1m --workspace --header big.h", &err), 0);
    free(err);
    c = tu_read(tu_path("big.h"), NULL);
    ck_assert_msg(strstr(c, "#define big_WS_BYTES 720000\n") && strstr(c, "double big(") &&
                  strstr(c, "double big_ws("), "%s", c);
    free(c);
    ck_assert_int_eq(dxc("big", dx, "-o big.c --stack-budget=12Q", &err), 1);
    ck_assert_msg(strstr(err, "dxc: error: bad stack budget '12Q'"), "%s", err);
    free(err);
    /* a function named like another's workspace macro */
    ck_assert_int_eq(dxc("clash", "fn f(x) = x\nfn g(x) = x\n  fn f_WS_BYTES(x) = x\n",
                         "-o clash.c --workspace", &err), 1);
    ck_assert_msg(strstr(err, "clash.dx:3:6: error: function name 'f_WS_BYTES' clashes with the "
                              "workspace size macro of 'f'\n"), "%s", err);
    free(err);
}
END_TEST

/* The views of array programs: the IR and the graphs (loops as clusters). */
START_TEST(test_views)
{
    char *err = NULL;
    ck_assert_msg(dxc("views", models_dx, "-o views.dot --emit=dot", &err) == 0, "%s", err);
    free(err);
    char *t = tu_read(tu_path("views.dot"), NULL);
    ck_assert_msg(t && strstr(t, "label=\"gen 3\"") && strstr(t, "label=\"sum\"") &&
                  strstr(t, "label=\"max\"") && strstr(t, "shape=box3d"), "%s", t);
    ck_assert_int_eq(count(t, "{"), count(t, "}"));
    free(t);
    ck_assert_msg(dxc("views", models_dx, "-o views.ir --emit=ir", &err) == 0, "%s", err);
    free(err);
    t = tu_read(tu_path("views.ir"), NULL);
    ck_assert_msg(t && strstr(t, "fn mlp_grad grad") && strstr(t, "red max"), "%s", t);
    free(t);
}
END_TEST

Suite *suite_arrays(void);
Suite *suite_arrays(void)
{
    Suite *s = suite_create("arrays");
    TCase *tc = tcase_create("hand-built IR");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_matvec);
    tcase_add_test(tc, test_matvec_sigmoid);
    tcase_add_test(tc, test_triangular);
    tcase_add_test(tc, test_reductions);
    tcase_add_test(tc, test_buffers);
    tcase_add_test(tc, test_store_first);
    tcase_add_test(tc, test_lit_ireal);
    tcase_add_test(tc, test_3d);
    tcase_add_test(tc, test_if_arrays);
    tcase_add_test(tc, test_size_independent);
    tcase_add_test(tc, test_budget);
    suite_add_tcase(s, tc);
    tc = tcase_create(".dx programs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_models);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_size_dx);
    tcase_add_test(tc, test_budget_error);
    tcase_add_test(tc, test_views);
    suite_add_tcase(s, tc);
    return s;
}
