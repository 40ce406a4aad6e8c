/*
 * test_arrays.c - C code generation for arrays: loops over index spaces,
 * reductions, buffers and accumulations, array outputs, the stack budget
 * and the workspace variants.
 *
 * The first half states array IR as text (docs/ir.md), so that it tests
 * the code generator apart from the front end, runs cg_c on it, and
 * compiles the C with gcc and clang under -std=c99 -Wall -Wextra
 * -Wpedantic -Werror.  A driver
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

/* ---------------- the interpreter against the compiled C ---------------- */

/* cr_check on program p (cgrun.h). */
static char *check_c(Program *p, const char *tag, int use_float, int workspace, long long budget)
{
    return cr_check(p, tag, "hand.dx", use_float, workspace, budget, use_float ? 2e-5 : 1e-12);
}

/* Both precisions and both places for arrays (the stack, the workspace);
 * the derivatives too when ad > 0, the IR as built (not optimised) when
 * ad < 0.  Returns the double C with arrays on the stack. */
static char *check_all(Program *p, const char *tag, int ad)
{
    for (int u = 0; u < p->units.n; u++) {
        if (ad > 0)
            ad_unit(&p->units.p[u]);
        else if (ad == 0)
            opt_all(p->units.p[u].primal);
    }
    /* float with the _ws variants, double with arrays on the stack */
    char t[64];
    snprintf(t, sizeof t, "%s_fws", tag);
    free(check_c(p, t, 1, 1, CG_STACK_BUDGET));
    return check_c(p, tag, 0, 0, CG_STACK_BUDGET);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---------------- IR stated as text ---------------- */

/* f(W[M,N], x[N]) = W @ x: a GEN of a RED, computed straight into out
 * ($1: M, $2: N). */
static const char matvec_ir[] =
    "unit matvec : real[$1]\n"
    "fn matvec primal\n"
    "  in W : real[$1,$2]\n"
    "  in x : real[$2]\n"
    "  out out : real[$1] array = %10\n"
    "{\n"
    "  %0 = param 0 : real[$1,$2] name=W\n"
    "  %1 = param 1 : real[$2] name=x\n"
    "  %2 = gen : real[$1] {\n"
    "    %3 = ivar 0 : index name=i\n"
    "    %4 = red sum 0..$2 : real {\n"
    "      %5 = ivar 0 : index name=j\n"
    "      %6 = idx %1[%5] : real\n"
    "      %7 = idx %0[%3, %5] : real\n"
    "      %8 = mul %7, %6 : real\n"
    "      yield %8\n"
    "    }\n"
    "    %9 = result 0 %4 : real\n"
    "    yield %9\n"
    "  }\n"
    "  %10 = result 0 %2 : real[$1] name=y line=1\n"
    "}\n";

/* The program of template t (matvec_ir, twice_ir) with $1 and $2 the
 * sizes m and n. */
static Program *sized(TuLowered *c, const char *t, int m, int n)
{
    TuBuf b = {0};
    for (; *t; t++) {
        if (t[0] == '$' && (t[1] == '1' || t[1] == '2'))
            tu_bprintf(&b, "%d", *++t == '1' ? m : n);
        else
            tu_bprintf(&b, "%c", *t);
    }
    Program *p = cr_read(c, b.s);
    free(b.s); /* the program keeps nothing of its text */
    return p;
}

START_TEST(test_matvec)
{
    TuLowered c;
    char *code = check_all(sized(&c, matvec_ir, 3, 4), "matvec", 1);
    /* loops stay loops, the result goes straight to out */
    ck_assert_msg(strstr(code, "void matvec(const double W[restrict 3 * 4], const double x[restrict 4], "
                                "double out[restrict 3])"),
                  "%.3000s", code);
    ck_assert_msg(strstr(code, "for (int i = 0; i < 3; i++) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "for (int j = 0; j < 4; j++) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "s += W[i * 4 + j] * x[j];"), "%.3000s", code);
    ck_assert_msg(strstr(code, "out[i] = s;"), "%.3000s", code);
    ck_assert_msg(!strstr(code, "double y["), "a temporary for out:\n%.3000s", code);
    ck_assert_msg(strstr(code, "void matvec_vjp("), "%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* sum_i sigmoid(W[i,:] . x) with every derivative: a scalar result. */
static const char msig_ir[] =
    "unit f : real\n"
    "fn f primal\n"
    "  in W : real[3,4]\n"
    "  in data x : real[4]\n"
    "  out y : real return = %15\n"
    "{\n"
    "  %0 = param 0 : real[3,4] name=W\n"
    "  %1 = param 1 : real[4] name=x\n"
    "  %2 = gen : real[3] {\n"
    "    %3 = ivar 0 : index\n"
    "    %4 = red sum 0..4 : real {\n"
    "      %5 = ivar 0 : index\n"
    "      %6 = idx %1[%5] : real\n"
    "      %7 = idx %0[%3, %5] : real\n"
    "      %8 = mul %7, %6 : real\n"
    "      yield %8\n"
    "    }\n"
    "    %9 = result 0 %4 : real\n"
    "    %10 = sigmoid %9 : real\n"
    "    yield %10\n"
    "  }\n"
    "  %11 = result 0 %2 : real[3] name=h line=2\n"
    "  %12 = red sum 0..3 : real {\n"
    "    %13 = ivar 0 : index\n"
    "    %14 = idx %11[%13] : real\n"
    "    yield %14\n"
    "  }\n"
    "  %15 = result 0 %12 : real\n"
    "}\n";

START_TEST(test_matvec_sigmoid)
{
    TuLowered c;
    char *code = check_all(cr_read(&c, msig_ir), "msig", 1);
    ck_assert_msg(strstr(code, "double f_grad(const double W[restrict 3 * 4], const double x[restrict 4], "
                                "double W_bar[restrict 3 * 4])"),
                  "%.3000s", code);
    ck_assert_msg(strstr(code, "double f_hvp("), "%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* sum_i (sum_{j < i+1} L[i,j] x[j])^2 + x[2-i] x[i]: bounds that depend
 * on an enclosing index, reversed indices. */
static const char tri_ir[] =
    "unit tri : real\n"
    "fn tri primal\n"
    "  in L : real[3,3]\n"
    "  in x : real[3]\n"
    "  out y : real return = %15\n"
    "{\n"
    "  %0 = param 0 : real[3,3] name=L\n"
    "  %1 = param 1 : real[3] name=x\n"
    "  %2 = red sum 0..3 : real {\n"
    "    %3 = ivar 0 : index name=i\n"
    "    %4 = red sum 0..%3 + 1 : real {\n"
    "      %5 = ivar 0 : index name=j\n"
    "      %6 = idx %1[%5] : real\n"
    "      %7 = idx %0[%3, %5] : real\n"
    "      %8 = mul %7, %6 : real\n"
    "      yield %8\n"
    "    }\n"
    "    %9 = result 0 %4 : real\n"
    "    %10 = mul %9, %9 : real\n"
    "    %11 = idx %1[%3] : real\n"
    "    %12 = idx %1[-%3 + 2] : real\n"
    "    %13 = mul %12, %11 : real\n"
    "    %14 = add %10, %13 : real\n"
    "    yield %14\n"
    "  }\n"
    "  %15 = result 0 %2 : real\n"
    "}\n";

START_TEST(test_triangular)
{
    TuLowered c;
    char *code = check_all(cr_read(&c, tri_ir), "tri", 1);
    ck_assert_msg(strstr(code, "for (int j = 0; j < i + 1; j++) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "x[2 - i]"), "%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* sin(x[j] * w) reduced over j in 1..5 (%s: max, min or prod). */
static const char red_ir[] =
    "unit f : real\n"
    "fn f primal\n"
    "  in x : real[5]\n"
    "  in w : real\n"
    "  out y : real return = %%7\n"
    "{\n"
    "  %%0 = param 0 : real[5] name=x\n"
    "  %%1 = param 1 : real name=w\n"
    "  %%2 = red %s 1..5 : real {\n"
    "    %%3 = ivar 0 : index\n"
    "    %%4 = idx %%0[%%3] : real\n"
    "    %%5 = mul %%4, %%1 : real\n"
    "    %%6 = sin %%5 : real\n"
    "    yield %%6\n"
    "  }\n"
    "  %%7 = result 0 %%2 : real\n"
    "}\n";

/* max, min and prod reductions, and every derivative of max (ties). */
START_TEST(test_reductions)
{
    static const char *const kinds[] = {"max", "min", "prod"};
    for (int kind = 0; kind < 3; kind++) {
        TuLowered c;
        char text[1024];
        snprintf(text, sizeof text, red_ir, kinds[kind]);
        Program *p = cr_read(&c, text);
        char *code;
        if (kind == 0) {
            code = check_all(p, "red", 1);
        } else {
            ad_unit(&p->units.p[0]);
            code = check_c(p, "red", 0, 0, CG_STACK_BUDGET);
        }
        if (kind == 0)
            ck_assert_msg(strstr(code, "double y = -HUGE_VAL;") && strstr(code, " > y) y = "),
                          "%.3000s", code);
        if (kind == 1)
            ck_assert_msg(strstr(code, "double y = HUGE_VAL;") && strstr(code, " < y) y = "),
                          "%.3000s", code);
        if (kind == 2)
            ck_assert_msg(strstr(code, "double y = 1.0;") && strstr(code, "y *= "), "%.3000s", code);
        free(code);
        arena_free(c.a);
    }
}
END_TEST

/*
 * f(x[5]) -> out[5]: a ZEROS buffer filled by LOOPs of ACCs, forwards and
 * backwards (a running sum reading the buffer), stores, a rank-0 cell,
 * and a read of the buffer before an accumulation to it that must not
 * move after it.
 */
static const char buf_ir[] =
    "unit buf : real[5]\n"
    "fn buf primal\n"
    "  in x : real[5]\n"
    "  out out : real[5] array = %1\n"
    "{\n"
    "  %0 = param 0 : real[5] name=x\n"
    "  %1 = zeros : real[5] name=b line=3\n"
    "  %2 = zeros : real name=c line=4\n"
    "  %3 = loop 0..5 {\n"
    "    %4 = ivar 0 : index name=i\n"
    "    %5 = idx %0[%4] : real\n"
    "    %6 = const 2 : real\n"
    "    %7 = mul %5, %6 : real\n"
    "    %8 = acc %1[%4], %7\n"
    "    %9 = idx %0[%4] : real\n"
    "    %10 = acc %1[-%4 + 4], %9\n"
    "    %11 = mul %5, %5 : real\n"
    "    %12 = acc %2[], %11\n"
    "  }\n"
    "  %13 = loop backwards 1..5 {\n"
    "    %14 = ivar 0 : index\n"
    "    %15 = idx %1[%14 - 1] : real\n"
    "    %16 = acc %1[%14], %15\n"
    "  }\n"
    "  %17 = idx %1[0] : real\n"
    "  %18 = const 1 : real\n"
    "  %19 = acc %1[0], %18\n"
    "  %20 = idx %2[] : real\n"
    "  %21 = const 3 : real\n"
    "  %22 = mul %17, %21 : real\n"
    "  %23 = add %22, %20 : real\n"
    "  %24 = loop 3..5 {\n"
    "    %25 = ivar 0 : index\n"
    "    %26 = idx %1[%25] : real\n"
    "    %27 = add %26, %23 : real\n"
    "    %28 = acc store %1[%25], %27\n"
    "  }\n"
    "}\n";

START_TEST(test_buffers)
{
    TuLowered c;
    char *code = check_all(cr_read(&c, buf_ir), "buf", 0);
    ck_assert_msg(strstr(code, "for (int i = 4; i >= 1; i--) {") ||
                  strstr(code, "for (int k = 4; k >= 1; k--) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "out[i] = 0.0;"), "zeroed in place:\n%.3000s", code);
    ck_assert_msg(strstr(code, "out[4 - i] += "), "%.3000s", code);
    ck_assert_msg(strstr(code, "out[i] += out[i - 1];"), "%.3000s", code);
    /* the old b[0], read before b[0] += 1 */
    ck_assert_msg(strstr(code, "double t2 = out[0];\n    out[0] += 1.0;"), "%.3000s", code);
    ck_assert_msg(strstr(code, "double c = 0.0;"), "%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* The program before the "# expect:" line of tests/ir/NAME. */
static Program *pass_input(TuLowered *c, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/ir/%s", tu_root(), name);
    char *text = tu_read(path, NULL);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    char *mark = strstr(text, "# expect:\n");
    if (mark)
        *mark = 0;
    ck_assert_msg(tu_read_ir(c, name, text) == 0, "%s:%d:%d: %s", name, c->d.last_loc.line,
                  c->d.last_loc.col, c->d.last);
    free(text); /* the program keeps nothing of its text */
    return &c->prog;
}

/* opt_store on tests/ir/store_first.ir (the irtext suite checks what it
 * makes: the first of several accumulation loops into a zeroed buffer
 * stores, but not when something reads the buffer before it, nor when
 * its loop writes another element too) keeps the values, and the C
 * computes them. */
START_TEST(test_store_first)
{
    TuLowered c;
    Program *p = pass_input(&c, "store_first.ir");
    Fn *f = p->units.p[0].primal;
    double xin[4] = {0.5, -1.25, 2, 3}, before[4], after[4];
    const double *in[1] = {xin};
    double *out[1] = {before};
    ir_interp(f, in, out);
    opt_store(f);
    ir_verify(f);
    out[0] = after;
    ir_interp(f, in, out);
    for (int k = 0; k < 4; k++)
        ck_assert_double_eq(before[k], after[k]);
    /* z[0] = 3 x[0]; w[0] = x[0] + w[1] (0 when read); v[0] = x[0] + 1 (v[3 - i] at i = 3) */
    ck_assert_double_eq(after[0], 3 * 0.5 + 0.5 * (0.5 + 1));
    free(check_all(p, "stores", 0));
    arena_free(c.a);
}
END_TEST

/* f(a, b) -> out[3] = [a, 2.5, a * b] + [0, 1, 2] (IREAL) as a GEN over
 * a LIT. */
static const char lit_ir[] =
    "unit lit : real[3]\n"
    "fn lit primal\n"
    "  in a : real\n"
    "  in b : real\n"
    "  out out : real[3] array = %10\n"
    "{\n"
    "  %0 = param 0 : real name=a\n"
    "  %1 = param 1 : real name=b\n"
    "  %2 = const 2.5 : real\n"
    "  %3 = mul %0, %1 : real\n"
    "  %4 = lit %0, %2, %3 : real[3] name=v line=2\n"
    "  %5 = gen : real[3] {\n"
    "    %6 = ivar 0 : index\n"
    "    %7 = ireal %6 : real nix=0\n"
    "    %8 = idx %4[%6] : real\n"
    "    %9 = add %8, %7 : real\n"
    "    yield %9\n"
    "  }\n"
    "  %10 = result 0 %5 : real[3]\n"
    "}\n";

START_TEST(test_lit_ireal)
{
    TuLowered c;
    char *code = check_all(cr_read(&c, lit_ir), "lit", 1);
    ck_assert_msg(strstr(code, "v[1] = 2.5;"), "%.3000s", code);
    ck_assert_msg(strstr(code, "(double)i"), "%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* T[2,3,4] = GEN of (k+1) * x[i] - j; y = sum T[1, i, j] * T[k, 2, 3 - j]:
 * row-major indices of a 3-D array (not optimised: fusion would remove T) */
static const char cube_ir[] =
    "unit cube : real\n"
    "fn cube primal\n"
    "  in x : real[3]\n"
    "  out y : real return = %22\n"
    "{\n"
    "  %0 = param 0 : real[3] name=x\n"
    "  %1 = gen : real[2,3,4] {\n"
    "    %2 = ivar 0 : index name=k\n"
    "    %3 = ivar 1 : index name=i\n"
    "    %4 = ivar 2 : index name=j\n"
    "    %5 = ireal %2 + 1 : real nix=0\n"
    "    %6 = ireal %4 : real nix=0\n"
    "    %7 = idx %0[%3] : real\n"
    "    %8 = mul %5, %7 : real\n"
    "    %9 = sub %8, %6 : real\n"
    "    yield %9\n"
    "  }\n"
    "  %10 = result 0 %1 : real[2,3,4] name=T line=5\n"
    "  %11 = red sum 0..3 : real {\n"
    "    %12 = ivar 0 : index\n"
    "    %13 = red sum 0..4 : real {\n"
    "      %14 = ivar 0 : index\n"
    "      %15 = red sum 0..2 : real {\n"
    "        %16 = ivar 0 : index\n"
    "        %17 = idx %10[%16, 2, -%14 + 3] : real\n"
    "        %18 = idx %10[1, %12, %14] : real\n"
    "        %19 = mul %18, %17 : real\n"
    "        yield %19\n"
    "      }\n"
    "      %20 = result 0 %15 : real\n"
    "      yield %20\n"
    "    }\n"
    "    %21 = result 0 %13 : real\n"
    "    yield %21\n"
    "  }\n"
    "  %22 = result 0 %11 : real\n"
    "}\n";

START_TEST(test_3d)
{
    TuLowered c;
    char *code = check_all(cr_read(&c, cube_ir), "cube", -1);
    ck_assert_msg(strstr(code, "(double)(k + 1)"), "%.3000s", code);
    ck_assert_msg(strstr(code, "T[(k * 3 + i) * 4 + j] = "), "%.3000s", code);
    ck_assert_msg(strstr(code, "T[(1 * 3 + i) * 4 + j] * T[(k * 3 + 2) * 4 + 3 - j]"), "%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* Array-valued branches: computed into the result's array, or copied;
 * and the result is read again: out = r + r[3 - i]. */
static const char pick_ir[] =
    "unit pick : real[4]\n"
    "fn pick primal\n"
    "  in x : real[4]\n"
    "  in c : real\n"
    "  out out : real[4] array = %16\n"
    "{\n"
    "  %0 = param 0 : real[4] name=x\n"
    "  %1 = param 1 : real name=c\n"
    "  %2 = const 0 : real\n"
    "  %3 = gt %1, %2 : bool\n"
    "  %4 = if %3 {\n"
    "    %5 = gen : real[4] {\n"
    "      %6 = ivar 0 : index\n"
    "      %7 = idx %0[%6] : real\n"
    "      %8 = mul %7, %1 : real\n"
    "      yield %8\n"
    "    }\n"
    "    %9 = result 0 %5 : real[4]\n"
    "    yield %9\n"
    "  } else {\n"
    "    yield %0\n"
    "  }\n"
    "  %10 = result 0 %4 : real[4] name=r line=3\n"
    "  %11 = gen : real[4] {\n"
    "    %12 = ivar 0 : index\n"
    "    %13 = idx %10[-%12 + 3] : real\n"
    "    %14 = idx %10[%12] : real\n"
    "    %15 = add %14, %13 : real\n"
    "    yield %15\n"
    "  }\n"
    "  %16 = result 0 %11 : real[4]\n"
    "}\n";

START_TEST(test_if_arrays)
{
    TuLowered c;
    char *code = check_all(cr_read(&c, pick_ir), "ifarr", 1);
    ck_assert_msg(strstr(code, "r[i] = x[i] * c;"), "computed in place:\n%.3000s", code);
    ck_assert_msg(strstr(code, "r[i] = x[i];"), "copied:\n%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* The size of the generated code does not depend on the arrays' sizes. */
START_TEST(test_size_independent)
{
    TuLowered c1, c2;
    Program *p1 = sized(&c1, matvec_ir, 10, 10), *p2 = sized(&c2, matvec_ir, 1000, 1000);
    ad_unit(&p1->units.p[0]);
    ad_unit(&p2->units.p[0]);
    CgOpts o = {.src_path = "x.dx", .stack_budget = CG_STACK_BUDGET};
    char *t1 = NULL, *t2 = NULL;
    size_t n1 = 0, n2 = 0;
    FILE *f1 = open_memstream(&t1, &n1), *f2 = open_memstream(&t2, &n2);
    cg_c(p1, &o, f1);
    cg_c(p2, &o, f2);
    fclose(f1);
    fclose(f2);
    ck_assert_int_eq(count(t1, "\n"), count(t2, "\n"));
    ck_assert_int_lt(count(t2, "\n"), 120);
    free(t1);
    free(t2);
    arena_free(c1.a);
    arena_free(c2.a);
}
END_TEST

/* f(a[n]) = sum_i e[i] * e[n-1-i], e = exp(a): e is a local array (read
 * twice, it is not fused into its readers) ($1: n, $2: n - 1). */
static const char twice_ir[] =
    "unit twice : real\n"
    "fn twice primal\n"
    "  in a : real[$1]\n"
    "  out y : real return = %11\n"
    "{\n"
    "  %0 = param 0 : real[$1] name=a\n"
    "  %1 = gen : real[$1] {\n"
    "    %2 = ivar 0 : index\n"
    "    %3 = idx %0[%2] : real\n"
    "    %4 = exp %3 : real\n"
    "    yield %4\n"
    "  }\n"
    "  %5 = result 0 %1 : real[$1] name=e line=1\n"
    "  %6 = red sum 0..$1 : real {\n"
    "    %7 = ivar 0 : index\n"
    "    %8 = idx %5[-%7 + $2] : real\n"
    "    %9 = idx %5[%7] : real\n"
    "    %10 = mul %9, %8 : real\n"
    "    yield %10\n"
    "  }\n"
    "  %11 = result 0 %6 : real\n"
    "}\n";

/* Over the stack budget: an error without --workspace; with it, f_ws only. */
START_TEST(test_budget)
{
    TuLowered c;
    Program *p = sized(&c, twice_ir, 50000, 49999); /* e: 400 000 bytes */
    ad_unit(&p->units.p[0]);
    CgOpts o = {.src_path = "x.dx", .stack_budget = 399999};
    Diag d = {0};
    d.quiet = !getenv("DX_VERBOSE");
    ck_assert_int_ge(cg_check(p, &o, &d), 1);
    ck_assert_msg(strstr(d.last, "bytes of local arrays, over the stack budget of 399999 bytes "
                                 "(the largest, 'e' from line 1, takes 400000 bytes)"), "%s", d.last);
    ck_assert_int_eq(d.nerrors, 4); /* twice, twice_grad, twice_jvp, twice_hvp */
    o.use_float = 1; /* halves it: twice fits */
    ck_assert_int_eq(cg_check(p, &o, &d), 3);
    o.use_float = 0;
    o.stack_budget = 400000;
    ck_assert_int_eq(cg_check(p, &o, &d), 3);
    arena_free(c.a);

    p = sized(&c, twice_ir, 30, 29);
    ad_unit(&p->units.p[0]);
    char *code = check_c(p, "budget", 0, 1, 240);
    ck_assert_msg(strstr(code, "#define twice_WS_BYTES 240"), "%.3000s", code);
    ck_assert_msg(strstr(code, "double twice(const double a[30])\n{"), "%.3000s", code);
    ck_assert_msg(strstr(code, "twice_grad is not generated"), "%.3000s", code);
    ck_assert_msg(strstr(code, "double twice_grad_ws("), "%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* ---------------- .dx programs ---------------- */

/* Compiles .dx source in-process (front end, lowering, AD) into c. */
static Program *compile_dx(TuLowered *c, const char *text)
{
    ck_assert_msg(tu_lower(c, text) == 0, "%s", c->d.last);
    for (int u = 0; u < c->prog.units.n; u++)
        ad_unit(&c->prog.units.p[u]);
    return &c->prog;
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
    TuLowered c;
    char *code = check_all(compile_dx(&c, models_dx), "models", -1);
    /* readable: source names, loops, source lines as block headers */
    ck_assert_msg(strstr(code, "    /* line 33: h = relu(W1 @ x + b1) */\n    double h[5];\n"), "%.3000s", code);
    /* the primal result is copied in the forward pass */
    ck_assert_msg(strstr(code, "    /* forward pass: the function, keeping what the backward pass reads */\n"
                               "    /* line 22: fn id(x[M]) = x */\n"
                               "    for (int i = 0; i < 3; i++) out[i] = x[i];\n"), "%.3000s", code);
    ck_assert_msg(strstr(code, "void mv_vjp(const double A[restrict 3 * 4], const double x[restrict 4], "
                               "const double out_bar[restrict 3], double out[restrict 3], "
                               "double A_bar[restrict 3 * 4], double x_bar[restrict 4])"), "%.3000s", code);
    ck_assert_msg(!strstr(code, "(double)j == (double)"), "%.3000s", code);
    /* an if that only picks an array is a pointer, not a copy */
    ck_assert_msg(strstr(code, "    /* line 38: y = if c > 0 then x else z */\n    const double *y;\n"),
                  "%.3000s", code);
    free(code);
    arena_free(c.a);
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

/* The size of the C does not depend on the sizes of the arrays (of 16
 * elements or more, where f_jvp's and f_hvp's sums of an even count
 * take two lanes, ir/lanes.c: a sum below that is one loop). */
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
                 k ? 1000 : 16);
        ck_assert_msg(dxc("size", dx, "-o size.c --workspace", &err) == 0, "%s", err);
        free(err);
        char *c = tu_read(tu_path("size.c"), NULL);
        ck_assert_ptr_nonnull(c);
        lines[k] = count(c, "\n");
        ck_assert_int_lt(lines[k], 640);
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
    ck_assert_msg(t && strstr(t, "    label=\"each i in 0..3\";\n") &&
                      strstr(t, "    label=\"sum j in 0..i + 1\";\n") &&
                      strstr(t, "    label=\"max i in 0..4\";\n") && strstr(t, "shape=box3d") &&
                      strstr(t, "    label=\"then (c > 0)\";\n"),
                  "%s", t);
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
    TCase *tc = tcase_create("IR text");
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
