/*
 * test_loops.c - C code generation for for loops: carried variables,
 * their simultaneous update, carried arrays, backwards loops reading
 * tapes, nested loops and loops with branches, the stack budget and the
 * workspace with tapes, --only, --stats and --emit=dot.
 *
 * The first part states FOR IR as text (docs/ir.md), so that it tests
 * the code generator apart from the front end and the AD; the second
 * lowers .dx loop programs in process and differentiates them.  Either
 * way cg_c writes the C, gcc and clang compile it under -std=c99 -Wall
 * -Wextra -Wpedantic -Werror (-Wdouble-promotion for float), a generated
 * driver calls every entry point on fixed inputs (outputs first filled
 * with garbage) and prints every output, and the interpreter must agree.
 * Float runs use the f_ws variants, each on a workspace of exactly
 * f_WS_BYTES bytes followed by a guard that must stay untouched.
 *
 * The last part runs $DXC: a 10^9-iteration loop whose tape is over the
 * stack budget (the error, --only, --workspace), --stats, a 10 000-step
 * spring's gradient in a workspace against differences, and dot.
 */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/codegen.h"
#include "cgrun.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* ---------------- the interpreter against the compiled C ---------------- */

/* Double with arrays on the stack, float with the _ws variants; returns
 * the double C. */
static char *check_both(Program *p, const char *tag)
{
    char t[64];
    snprintf(t, sizeof t, "%s_fws", tag);
    free(cr_check(p, t, "loops.dx", 1, 1, CG_STACK_BUDGET, 1e-3));
    return cr_check(p, tag, "loops.dx", 0, 0, CG_STACK_BUDGET, 1e-10);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---------------- FOR IR stated as text ---------------- */

/* fib(a, b): (a, b, c) <- (b, a + 0.5 b, c + a), six times: b's new value
 * reads a's old one and a's reads b's (a cycle, one temporary); c's reads
 * a's old value, so it is written before a. */
static const char fib_ir[] =
    "unit fib : real\n"
    "fn fib primal\n"
    "  in a : real\n"
    "  in b : real\n"
    "  out y : real return = %18\n"
    "{\n"
    "  %0 = param 0 : real name=a\n"
    "  %1 = param 1 : real name=b\n"
    "  %2 = const 0.25 : real\n"
    "  %3 = for 0..6, %0, %1, %2 {\n"
    "    %4 = ivar 0 : index\n"
    "    %5 = carry 0 : real name=a\n"
    "    %6 = carry 1 : real name=b\n"
    "    %7 = carry 2 : real name=c\n"
    "    %8 = const 0.5 : real\n"
    "    %9 = mul %8, %6 : real\n"
    "    %10 = add %5, %9 : real name=b\n"
    "    %11 = add %7, %5 : real name=c\n"
    "    yield %6, %10, %11\n"
    "  }\n"
    "  %12 = result 0 %3 : real\n"
    "  %13 = result 1 %3 : real\n"
    "  %14 = result 2 %3 : real\n"
    "  %15 = add %13, %14 : real\n"
    "  %16 = const 3 : real\n"
    "  %17 = mul %12, %16 : real\n"
    "  %18 = add %17, %15 : real\n"
    "}\n";

START_TEST(test_simultaneous)
{
    TuLowered c;
    Program *p = cr_read(&c, fib_ir);
    /* by hand, at the harness's inputs */
    double A = cr_input(0, 0), Bv = cr_input(1, 0), C = 0.25;
    for (int i = 0; i < 6; i++) {
        double na = Bv, nbv = A + 0.5 * Bv, ncv = C + A;
        A = na, Bv = nbv, C = ncv;
    }
    double want = 3 * A + (Bv + C);
    double got[1], *outs[1] = {got};
    const double ia = cr_input(0, 0), ib = cr_input(1, 0);
    const double *ins[2] = {&ia, &ib};
    ir_interp(p->units.p[0].primal, ins, outs);
    ck_assert_msg(fabs(got[0] - want) < 1e-14, "interpreter %.17g, by hand %.17g", got[0], want);
    char *code = check_both(p, "fib");
    /* one temporary breaks the cycle; c reads a before a changes */
    ck_assert_msg(count(code, "_next") == 2, "%.3000s", code);
    const char *cu = strstr(code, "c = c + a;"), *au = strstr(code, "a = a_next;");
    ck_assert_msg(cu && au && cu < au, "c must read the old a:\n%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* Carried arrays: h <- [h[3 - i] * 0.5 + x[i]] reads across elements (a
 * copy at the end), g <- [g[i] * 0.9 + h[i]] is elementwise (in place), and
 * p, q <- q, p trade places (one loop rotates them). */
static const char arrs_ir[] =
    "unit arrs : real\n"
    "fn arrs primal\n"
    "  in x : real[4]\n"
    "  in z : real[4]\n"
    "  out y : real return = %48\n"
    "{\n"
    "  %0 = param 0 : real[4] name=x\n"
    "  %1 = param 1 : real[4] name=z\n"
    "  %2 = for 0..3, %0, %0, %0, %1 {\n"
    "    %3 = ivar 0 : index\n"
    "    %4 = carry 0 : real[4] name=h\n"
    "    %5 = carry 1 : real[4] name=g\n"
    "    %6 = carry 2 : real[4] name=p\n"
    "    %7 = carry 3 : real[4] name=q\n"
    "    %8 = gen : real[4] {\n"
    "      %9 = ivar 0 : index\n"
    "      %10 = idx %0[%9] : real\n"
    "      %11 = const 0.5 : real\n"
    "      %12 = idx %4[-%9 + 3] : real\n"
    "      %13 = mul %12, %11 : real\n"
    "      %14 = add %13, %10 : real\n"
    "      yield %14\n"
    "    }\n"
    "    %15 = result 0 %8 : real[4] name=h\n"
    "    %16 = gen : real[4] {\n"
    "      %17 = ivar 0 : index\n"
    "      %18 = idx %15[%17] : real\n"
    "      %19 = const 0.9 : real\n"
    "      %20 = idx %5[%17] : real\n"
    "      %21 = mul %20, %19 : real\n"
    "      %22 = add %21, %18 : real\n"
    "      yield %22\n"
    "    }\n"
    "    %23 = result 0 %16 : real[4] name=g\n"
    "    yield %15, %23, %7, %6\n"
    "  }\n"
    "  %24 = result 0 %2 : real[4]\n"
    "  %25 = result 1 %2 : real[4]\n"
    "  %26 = result 2 %2 : real[4]\n"
    "  %27 = result 3 %2 : real[4]\n"
    "  %28 = red sum 0..4 : real {\n"
    "    %29 = ivar 0 : index\n"
    "    %30 = idx %27[%29] : real\n"
    "    yield %30\n"
    "  }\n"
    "  %31 = result 0 %28 : real\n"
    "  %32 = const 2 : real\n"
    "  %33 = mul %32, %31 : real\n"
    "  %34 = red sum 0..4 : real {\n"
    "    %35 = ivar 0 : index\n"
    "    %36 = idx %26[%35] : real\n"
    "    yield %36\n"
    "  }\n"
    "  %37 = result 0 %34 : real\n"
    "  %38 = sub %37, %33 : real\n"
    "  %39 = red sum 0..4 : real {\n"
    "    %40 = ivar 0 : index\n"
    "    %41 = idx %25[%40] : real\n"
    "    yield %41\n"
    "  }\n"
    "  %42 = result 0 %39 : real\n"
    "  %43 = red sum 0..4 : real {\n"
    "    %44 = ivar 0 : index\n"
    "    %45 = idx %24[%44] : real\n"
    "    yield %45\n"
    "  }\n"
    "  %46 = result 0 %43 : real\n"
    "  %47 = add %46, %42 : real\n"
    "  %48 = add %47, %38 : real\n"
    "}\n";

START_TEST(test_carried_arrays)
{
    TuLowered c;
    Program *p = cr_read(&c, arrs_ir);
    char *code = check_both(p, "arrs");
    ck_assert_msg(strstr(code, "h[j] = h_2[j];"), "h is copied at the end:\n%.4000s", code);
    ck_assert_msg(strstr(code, "g[j] = g[j] * 0.9 + h_2[j];"), "g in place:\n%.4000s", code);
    ck_assert_msg(strstr(code, "the carried arrays exchange their values"), "%.4000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* A forward loop over 2..7 records x at the start of every iteration in a
 * tape (row i - 2); a backwards loop reads it: s <- s * cos(x_i) + x_i.
 * Then a loop of no iteration, with an empty tape. */
static const char taped_ir[] =
    "unit taped : real\n"
    "fn taped primal\n"
    "  in x : real\n"
    "  out y : real return = %33\n"
    "{\n"
    "  %0 = param 0 : real name=x\n"
    "  %1 = zeros tape noinit : real[5] name=x\n"
    "  %2 = for 2..7, %0 {\n"
    "    %3 = ivar 0 : index name=i\n"
    "    %4 = carry 0 : real name=x\n"
    "    %5 = acc store %1[%3 - 2], %4\n"
    "    %6 = const 0.5 : real\n"
    "    %7 = mul %4, %6 : real\n"
    "    %8 = sin %4 : real\n"
    "    %9 = add %8, %7 : real name=x\n"
    "    yield %9\n"
    "  }\n"
    "  %10 = result 0 %2 : real\n"
    "  %11 = const 1 : real\n"
    "  %12 = for backwards 2..7, %11 {\n"
    "    %13 = ivar 0 : index name=i\n"
    "    %14 = carry 0 : real\n"
    "    %15 = idx %1[%13 - 2] : real name=x\n"
    "    %16 = cos %15 : real\n"
    "    %17 = mul %14, %16 : real\n"
    "    %18 = add %17, %15 : real name=s\n"
    "    yield %18\n"
    "  }\n"
    "  %19 = result 0 %12 : real\n"
    "  %20 = zeros tape noinit : real[0] name=e\n"
    "  %21 = for 3..3, %19 {\n"
    "    %22 = ivar 0 : index\n"
    "    %23 = carry 0 : real\n"
    "    %24 = acc store %20[%22 - 3], %23\n"
    "    %25 = exp %23 : real\n"
    "    yield %25\n"
    "  }\n"
    "  %26 = result 0 %21 : real\n"
    "  %27 = for backwards 3..3, %26 {\n"
    "    %28 = ivar 0 : index\n"
    "    %29 = carry 0 : real\n"
    "    %30 = idx %20[%28 - 3] : real\n"
    "    %31 = add %29, %30 : real\n"
    "    yield %31\n"
    "  }\n"
    "  %32 = result 0 %27 : real\n"
    "  %33 = add %10, %32 : real\n"
    "}\n";

START_TEST(test_tape_backwards)
{
    TuLowered c;
    char *code = check_both(cr_read(&c, taped_ir), "taped");
    ck_assert_msg(strstr(code, "for (int i = 2; i < 7; i++) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "x_tape[i - 2] = x;  /* the tape keeps x at the start of iteration i */"),
                  "%.3000s", code);
    ck_assert_msg(strstr(code, "for (int i = 6; i >= 2; i--) {"), "%.3000s", code);
    ck_assert_msg(strstr(code, "= x_tape[i - 2];  /* x at the start of iteration i, recorded by the "
                               "forward pass */"),
                  "%.3000s", code);
    ck_assert_msg(strstr(code, "double e_tape[1];"), "an empty tape is one element:\n%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* for i in 0..4 { if s > 0.3 { s = s * 0.5 } else { s = s + 0.4 }; for j in
 * 0..3 { s = s * 0.9 + j } }, and at the top level a loop inside a branch:
 * nested loops share one variable, a branch picks the carried value. */
static const char nest_ir[] =
    "unit nest : real\n"
    "fn nest primal\n"
    "  in x : real\n"
    "  out y : real return = %33\n"
    "{\n"
    "  %0 = param 0 : real name=x\n"
    "  %1 = for 0..4, %0 {\n"
    "    %2 = ivar 0 : index\n"
    "    %3 = carry 0 : real name=s\n"
    "    %4 = const 0.3 : real\n"
    "    %5 = gt %3, %4 : bool\n"
    "    %6 = if %5 {\n"
    "      %7 = const 0.5 : real\n"
    "      %8 = mul %3, %7 : real name=s\n"
    "      yield %8\n"
    "    } else {\n"
    "      %9 = const 0.4 : real\n"
    "      %10 = add %3, %9 : real name=s\n"
    "      yield %10\n"
    "    }\n"
    "    %11 = result 0 %6 : real name=s\n"
    "    %12 = for 0..3, %11 {\n"
    "      %13 = ivar 0 : index name=j\n"
    "      %14 = carry 0 : real name=s\n"
    "      %15 = ireal %13 : real nix=0\n"
    "      %16 = const 0.9 : real\n"
    "      %17 = mul %14, %16 : real\n"
    "      %18 = add %17, %15 : real name=s\n"
    "      yield %18\n"
    "    }\n"
    "    %19 = result 0 %12 : real name=s\n"
    "    yield %19\n"
    "  }\n"
    "  %20 = result 0 %1 : real name=s\n"
    "  %21 = const 0 : real\n"
    "  %22 = lt %0, %21 : bool\n"
    "  %23 = if %22 {\n"
    "    %24 = const 1 : real\n"
    "    %25 = sub %0, %24 : real name=w\n"
    "    %26 = for 0..5, %25 {\n"
    "      %27 = ivar 0 : index\n"
    "      %28 = carry 0 : real name=w\n"
    "      %29 = const 1.5 : real\n"
    "      %30 = mul %28, %29 : real name=w\n"
    "      yield %30\n"
    "    }\n"
    "    %31 = result 0 %26 : real\n"
    "    yield %31\n"
    "  } else {\n"
    "    yield %0\n"
    "  }\n"
    "  %32 = result 0 %23 : real name=w\n"
    "  %33 = add %20, %32 : real\n"
    "}\n";

START_TEST(test_nested_and_branches)
{
    TuLowered c;
    Program *p = cr_read(&c, nest_ir);
    /* by hand */
    double S = cr_input(0, 0);
    for (int i = 0; i < 4; i++) {
        S = S > 0.3 ? S * 0.5 : S + 0.4;
        for (int k = 0; k < 3; k++)
            S = S * 0.9 + k;
    }
    double xv = cr_input(0, 0), W = xv;
    if (xv < 0) {
        W = xv - 1;
        for (int k = 0; k < 5; k++)
            W *= 1.5;
    }
    double got[1], *outs[1] = {got};
    const double *ins[1] = {&xv};
    ir_interp(p->units.p[0].primal, ins, outs);
    ck_assert_msg(fabs(got[0] - (S + W)) < 1e-12, "interpreter %.17g, by hand %.17g", got[0], S + W);
    char *code = check_both(p, "nest");
    /* one s for both loops and the branch, no copies */
    ck_assert_msg(count(code, "double s") == 1 && !strstr(code, "s_2"), "%.3000s", code);
    ck_assert_msg(strstr(code, "s = s * 0.9 + (double)j;"), "%.3000s", code);
    ck_assert_msg(strstr(code, "w = w * 1.5;"), "%.3000s", code);
    free(code);
    arena_free(c.a);
}
END_TEST

/* A tape of 3 * 10^8 rows of 8: 2.4 * 10^9 elements, past INT_MAX, so its
 * offsets are 64-bit; over the budget on the stack, fine in a workspace. */
static const char huge_ir[] =
    "unit huge : real\n"
    "fn huge primal\n"
    "  in x : real\n"
    "  out y : real return = %9\n"
    "{\n"
    "  %0 = param 0 : real name=x\n"
    "  %1 = zeros tape noinit : real[300000000,8] name=x line=7\n"
    "  %2 = for 0..300000000, %0 {\n"
    "    %3 = ivar 0 : index name=i\n"
    "    %4 = carry 0 : real name=x\n"
    "    %5 = acc store %1[%3, 7], %4\n"
    "    %6 = sin %4 : real\n"
    "    yield %6\n"
    "  }\n"
    "  %7 = result 0 %2 : real\n"
    "  %8 = idx %1[299999999, 7] : real\n"
    "  %9 = add %7, %8 : real\n"
    "}\n";

START_TEST(test_huge_tape)
{
    TuLowered c;
    Program *p = cr_read(&c, huge_ir);
    CgOpts o = {.use_float = 0,
                .src_path = "huge.dx",
                .header = NULL,
                .stack_budget = CG_STACK_BUDGET,
                .workspace = 0};
    Diag d = {0};
    d.quiet = 1;
    ck_assert_int_eq(cg_check(p, &o, &d), 1);
    ck_assert_msg(strstr(d.last, "'huge' needs 19200000000 bytes of local arrays") &&
                      strstr(d.last, "the tape of the for loop on line 7, takes 19200000000 bytes"),
                  "%s", d.last);
    o.workspace = 1;
    ck_assert_int_eq(cg_check(p, &o, &d), 0);
    FILE *fc = fopen(tu_path("huge.c"), "w");
    ck_assert(fc);
    cg_c(p, &o, fc);
    fclose(fc);
    char *code = tu_read(tu_path("huge.c"), NULL);
    ck_assert_msg(strstr(code, "#define huge_WS_BYTES 19200000000"), "%.3000s", code);
    ck_assert_msg(strstr(code, "x_tape[(long long)i * 8 + 7] = x;"), "%.3000s", code);
    ck_assert_msg(strstr(code, "huge is not generated"), "%.3000s", code);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && gcc " STRICT " -c huge.c && clang " STRICT " -c huge.c",
             tu_tmpdir());
    char *err = NULL;
    ck_assert_msg(tu_run(cmd, NULL, &err) == 0, "%s\n%.3000s", err ? err : "", code);
    free(err);
    free(code);
    arena_free(c.a);
}
END_TEST

/* ---------------- loops from .dx, with their derivatives ---------------- */

static const char loops_dx[] =
    "const N = 4\n"
    "const dt = 0.01\n"
    "\n"
    "fn spring(k, c, data x0, data v0) {\n"
    "    x = x0\n"
    "    v = v0\n"
    "    for i in 0..100 {\n"
    "        a = -k * x - c * v\n"
    "        x = x + dt * v\n"
    "        v = v + dt * a\n"
    "    }\n"
    "    return x\n"
    "}\n"
    "\n"
    "fn swap(a, b) {\n"
    "    for i in 0..7 {\n"
    "        t = a\n"
    "        a = b\n"
    "        b = t * 0.9 + sin(b)\n"
    "    }\n"
    "    return a * 2 + b\n"
    "}\n"
    "\n"
    "fn rnn(W[N, N], u[N], data h0[N]) {\n"
    "    h = h0\n"
    "    s = 0\n"
    "    for t in 0..5 {\n"
    "        h = tanh(W @ h + u * t)\n"
    "        s = s + sum(h * h)\n"
    "    }\n"
    "    return s\n"
    "}\n"
    "\n"
    "fn cell(W[N], U[N], data X[6, N]) {\n"
    "    h = [0.1 for j in 0..N]\n"
    "    c = [0.0 for j in 0..N]\n"
    "    for t in 0..6 {\n"
    "        c = sigmoid(W * X[t] + U * h) * c + tanh(X[t] - h)\n"
    "        h = tanh(c) * sigmoid(U * h)\n"
    "    }\n"
    "    return logsumexp(h) + sum(c)\n"
    "}\n"
    "\n"
    "fn nested(w[N], c) {\n"
    "    s = 0\n"
    "    for i in 0..3 {\n"
    "        u = c * i\n"
    "        for j in 0..N {\n"
    "            s = s * 0.9 + w[j] * u + tanh(s + j)\n"
    "        }\n"
    "    }\n"
    "    return s\n"
    "}\n"
    "\n"
    "fn flip(x0, a, b) {\n"
    "    x = x0\n"
    "    for i in 0..20 {\n"
    "        if x > 0.5 {\n"
    "            x = x * 0.5 + a\n"
    "        } else {\n"
    "            y = x * x\n"
    "            x = y + b\n"
    "        }\n"
    "    }\n"
    "    return x\n"
    "}\n"
    "\n"
    "fn inif(x, a) {\n"
    "    if x > 0 {\n"
    "        for i in 2..9 {\n"
    "            x = x * cos(a * i) + 0.1\n"
    "        }\n"
    "    } else {\n"
    "        x = x * a\n"
    "    }\n"
    "    return x\n"
    "}\n"
    "\n"
    "fn empty(x) {\n"
    "    y = x\n"
    "    for i in 0..0 {\n"
    "        y = sin(y)\n"
    "    }\n"
    "    return y * x\n"
    "}\n"
    "\n"
    "fn helper(z) {\n"
    "    for i in 0..3 {\n"
    "        z = z * z * 0.5 + 0.1\n"
    "    }\n"
    "    return z\n"
    "}\n"
    "\n"
    "fn twice(x) = helper(x) + helper(x * 2)\n"
    "\n"
    "fn seq(x) {\n"
    "    for i in 0..3 {\n"
    "        x = x * 1.1 + 0.1\n"
    "    }\n"
    "    for i in 0..4 {\n"
    "        x = sin(x) + x\n"
    "    }\n"
    "    return x\n"
    "}\n"
    "\n"
    "fn trade(p[N], q[N]) {\n"
    "    for t in 0..3 {\n"
    "        r = p\n"
    "        p = q\n"
    "        q = r\n"
    "    }\n"
    "    for t in 0..2 {\n"
    "        p = q * 0.5 + p\n"
    "        q = sin(q) * p\n"
    "    }\n"
    "    return sum(p * q) + p[0]\n"
    "}\n"
    "\n"
    "fn branch_arr(x[N], s0) {\n"
    "    h = x\n"
    "    s = s0\n"
    "    for t in 1..5 {\n"
    "        if s > 0 {\n"
    "            h = h * 0.5 + x[t - 1]\n"
    "        } else {\n"
    "            h = sin(h)\n"
    "        }\n"
    "        s = s - sum(h) * 0.3\n"
    "    }\n"
    "    return s + h[2]\n"
    "}\n"
    "\n"
    "fn inner_arr(a[N], c) {\n"
    "    s = c\n"
    "    for i in 0..3 {\n"
    "        g = a * s\n"
    "        for j in 0..2 {\n"
    "            g = tanh(g) + a\n"
    "        }\n"
    "        s = s + sum(g) * 0.1\n"
    "    }\n"
    "    return s\n"
    "}\n"
    "\n"
    "fn gate(x, w[N]) {\n"
    "    h = [0.5 for j in 0..N]\n"
    "    for i in 0..5 {\n"
    "        if i > 2 {\n"
    "            x = x * 1.5\n"
    "        }\n"
    "        if x > 0.2 {\n"
    "            h = h * w + x\n"
    "        }\n"
    "        x = x - sum(h) * 0.1\n"
    "    }\n"
    "    return x + h[1]\n"
    "}\n"
    "\n"
    "fn rollout(h0[N], W[N, N]) {\n"
    "    h = h0\n"
    "    for t in 0..3 {\n"
    "        h = tanh(W @ h)\n"
    "    }\n"
    "    return h\n"
    "}\n";

START_TEST(test_dx_loops)
{
    TuLowered L;
    ck_assert_msg(tu_lower(&L, loops_dx) == 0, "does not compile: %s", L.d.last);
    for (int u = 0; u < L.prog.units.n; u++)
        ad_unit(&L.prog.units.p[u]);
    char *code = check_both(&L.prog, "dxloops");
    char *s = cr_fn_text(code, "double spring(");
    /* a loop body's statements from other lines than the loop's are
     * announced inside it, one header per source line */
    ck_assert_msg(strstr(s, "    /* line 7: for i in 0..100 { */\n"
                            "    double x = x0;\n"
                            "    double v = v0;\n"
                            "    for (int i = 0; i < 100; i++) {\n"
                            "        /* line 8: a = -k * x - c * v */\n"
                            "        double a = -k * x - c * v;\n"
                            "        /* line 9: x = x + dt * v */\n"
                            "        x = x + 0.01 * v;\n"
                            "        /* line 10: v = v + dt * a */\n"
                            "        v = v + 0.01 * a;\n"
                            "    }\n"),
                  "%s", s);
    free(s);
    s = cr_fn_text(code, "double spring_grad(");
    ck_assert_msg(strstr(s, "        x_tape[i] = x;  /* the tape keeps x at the start of iteration i */\n") &&
                      strstr(s, "    for (int i = 99; i >= 0; i--) {  /* backwards */\n"),
                  "%s", s);
    free(s);
    s = cr_fn_text(code, "double nested(");
    ck_assert_msg(count(s, "double s") == 1, "one s for both loops:\n%s", s);
    free(s);
    s = cr_fn_text(code, "double seq(");
    ck_assert_msg(!strstr(s, "x_2"), "sequential loops share x:\n%s", s);
    free(s);
    s = cr_fn_text(code, "double gate(");
    ck_assert_msg(strstr(s, "x = x * 1.5;") && strstr(s, "h[j] = h[j] * w[j] + x;") && !strstr(s, "else"),
                  "branches update in place, and a branch that changes nothing is left out:\n%s", s);
    free(s);
    s = cr_fn_text(code, "double cell(");
    ck_assert_msg(!strstr(s, "c_2") && !strstr(s, "h_2"), "elementwise updates in place:\n%s", s);
    free(s);
    free(code);
    arena_free(L.a);
}
END_TEST

/* A recurrent cell whose step is a matvec: with the default tapes the
 * forward loop records each step's new h (in the tape of the carried h:
 * its initial value, then the value at the end of each step), the tanh
 * derivative the reverse loop reads, and the dot product, so the reverse
 * loop does no matvec of Wh with h; with --tape=small (Unit small_tape)
 * it records h at the start of each step only and recomputes the step.  Both are
 * compiled and run against the interpreter (check_both), and their
 * gradients, two different programs, must agree with each other and with
 * central differences of the primal. */
static const char rnn_dx[] =
    "const N = 3\n"
    "fn rnn(Wh[N, N], h0[N], v[N]) {\n"
    "    h = h0\n"
    "    loss = 0\n"
    "    for t in 0..6 {\n"
    "        h = tanh(Wh @ h + 0.1 * t)\n"
    "        loss = loss + dot(v, h) ^ 2\n"
    "    }\n"
    "    return loss\n"
    "}\n";

START_TEST(test_dx_replay)
{
    enum { NIN = 9 + 3 + 3 };
    double x[NIN], g[2][NIN];
    for (int i = 0; i < NIN; i++)
        x[i] = 0.9 * sin(1.7 * i + 0.3);
    for (int small = 0; small < 2; small++) {
        TuLowered L;
        ck_assert_msg(tu_lower(&L, rnn_dx) == 0, "does not compile: %s", L.d.last);
        L.prog.units.p[0].small_tape = small;
        ad_unit(&L.prog.units.p[0]);
        char *code = check_both(&L.prog, small ? "rnn_small" : "rnn_fast");
        char *s = cr_fn_text(code, "double rnn_grad(");
        ck_assert_msg(count(s, "Wh[j * 3 + k] * h") == (small ? 2 : 1),
                      "the matvec %s:\n%s", small ? "is recomputed backwards" : "runs forwards only", s);
        ck_assert_msg(!small == (strstr(s, "the tape keeps h at the end of iteration t") != NULL) &&
                          !small == (strstr(s, "the tape keeps h before the loop") != NULL) &&
                          !small == (strstr(s, "double h_tape[7 * 3];") != NULL) &&
                          !small == (strstr(s, "double sum_tape[6];") != NULL) &&
                          small == (strstr(s, "the tape keeps h at the start of iteration t") != NULL),
                      "%s", s);
        free(s);
        free(code);
        double y, *out[4] = {&y, g[small], g[small] + 9, g[small] + 12};
        const double *in[3] = {x, x + 9, x + 12};
        ir_interp(L.prog.units.p[0].grad, in, out);
        for (int i = 0; i < NIN; i++) {
            double h = 1e-6, xp[NIN], yp, ym, *o[1] = {&yp};
            const double *ip[3] = {xp, xp + 9, xp + 12};
            memcpy(xp, x, sizeof x);
            xp[i] = x[i] + h;
            ir_interp(L.prog.units.p[0].primal, ip, o);
            o[0] = &ym;
            xp[i] = x[i] - h;
            ir_interp(L.prog.units.p[0].primal, ip, o);
            double fd = (yp - ym) / (2 * h);
            ck_assert_msg(fabs(g[small][i] - fd) <= 1e-6 * (1 + fabs(fd)), "%s: d/dx[%d] %.17g, differences %.17g",
                          small ? "small" : "fast", i, g[small][i], fd);
        }
        arena_free(L.a);
    }
    for (int i = 0; i < NIN; i++)
        ck_assert_msg(fabs(g[0][i] - g[1][i]) <= 1e-13 * (1 + fabs(g[1][i])), "[%d]: %.17g vs %.17g", i, g[0][i],
                      g[1][i]);
}
END_TEST

/* ---------------- dxc ---------------- */

static const char big_dx[] =
    "# a loop of 10^9 steps: its tape is 8 GB\n"
    "fn f(x) {\n"
    "    y = x\n"
    "    for i in 0..1000000000 {\n"
    "        y = sin(y) * 0.5 + y\n"
    "    }\n"
    "    return y\n"
    "}\n"
    "\n"
    "fn g(u) = u * u * 3\n";

START_TEST(test_dx_big_tape)
{
    /* checkpointed within the default budget: 2 levels */
    ck_assert_int_eq(tu_write(tu_path("big.dx"), big_dx, (size_t)-1), 0);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("big.dx -o big.c --stats", &out, &err), 0);
    ck_assert_msg(strstr(err, "f_grad: tape 506000 bytes, stack ~506040 bytes, the loop on line 4 "
                              "checkpointed as 31250 x 32000 steps (31250 snapshots), run forward 2.00 times\n"),
                  "%s", err);
    char *code = tu_read(tu_path("big.c"), NULL);
    ck_assert_msg(strstr(code, "/* checkpointing: 32000 steps per iteration */"), "%s", code);
    free(code);
    free(out);
    free(err);
    /* a budget not even the snapshots fit: an error, the old file kept */
    ck_assert_int_eq(tu_write(tu_path("big.c"), "old\n", (size_t)-1), 0);
    ck_assert_int_eq(cr_dxc("big.dx -o big.c --stack-budget=100", &out, &err), 1);
    ck_assert_msg(strstr(err, "big.dx:2:4: error: 'f_hvp' needs 1008 bytes of local arrays even with "
                              "the for loop on line 4 checkpointed, over the stack budget of 100 bytes; "
                              "use --stack-budget=1008 or more\n"),
                  "%s", err);
    char *old = tu_read(tu_path("big.c"), NULL);
    ck_assert_str_eq(old, "old\n");
    free(old);
    free(out);
    free(err);
}
END_TEST

static const char spring_dx[] =
    "const dt = 0.001\n"
    "\n"
    "fn spring(k, c, data x0, data v0) {\n"
    "    x = x0\n"
    "    v = v0\n"
    "    for i in 0..10000 {\n"
    "        a = -k * x - c * v\n"
    "        x = x + dt * v\n"
    "        v = v + dt * a\n"
    "    }\n"
    "    return x\n"
    "}\n";

/* --stats, then spring_grad_ws on a workspace of exactly its size with a
 * guard after it, against spring_grad and central differences, in double
 * and in float. */
START_TEST(test_dx_spring_workspace)
{
    ck_assert_int_eq(tu_write(tu_path("spring.dx"), spring_dx, (size_t)-1), 0);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("spring.dx --stats -o spring.c", &out, &err), 0);
    ck_assert_msg(strstr(err, "spring_grad: tape 160000 bytes, stack ~1600") && !strstr(err, "workspace"),
                  "%s", err);
    ck_assert_msg(strstr(err, "spring: tape 0 bytes, stack ~") && count(err, "\n") == 4, "%s", err);
    ck_assert_msg(!out || !*out, "%s", out);
    free(out);
    free(err);
    for (int fl = 0; fl < 2; fl++) {
        const char *T = fl ? "float" : "double";
        char args[256];
        snprintf(args, sizeof args, "spring.dx --stats --workspace %s -o spring.c --header spring.h",
                 fl ? "--real=float" : "");
        ck_assert_int_eq(cr_dxc(args, &out, &err), 0);
        ck_assert_msg(strstr(err, fl ? "spring_grad: tape 80000 bytes, stack ~8" : "spring_grad: tape 160000 bytes, stack ~16") &&
                          strstr(err, fl ? "(workspace variant spring_grad_ws: 80000 bytes in work, stack ~"
                                         : "(workspace variant spring_grad_ws: 160000 bytes in work, stack ~"),
                      "%s", err);
        free(out);
        free(err);
        char drv[4096];
        snprintf(drv, sizeof drv,
                 "#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
                 "#include \"spring.h\"\n"
                 "int main(void)\n{\n"
                 "    %s k = 2.0f, c = 0.5f, kb, cb, kb2, cb2;\n"
                 "    unsigned char *w = malloc(spring_grad_WS_BYTES + 64);\n"
                 "    memset(w, 0x5A, spring_grad_WS_BYTES + 64);\n"
                 "    %s y = spring_grad_ws(k, c, 1.0f, 0.0f, &kb, &cb, w);\n"
                 "    for (int i = 0; i < 64; i++) if (w[spring_grad_WS_BYTES + i] != 0x5A) return 2;\n"
                 "    free(w);\n"
                 "    %s y2 = spring_grad(k, c, 1.0f, 0.0f, &kb2, &cb2);\n"
                 "    if (y != y2 || kb != kb2 || cb != cb2) return 3;\n"
                 "    if (spring_grad_WS_BYTES != 10000 * 2 * sizeof(%s)) return 4;\n"
                 "    double h = 1e-6;\n"
                 "    double dk = ((double)spring((%s)(k + h), c, 1.0f, 0.0f) - (double)spring((%s)(k - h), c, 1.0f, 0.0f)) / (2 * h);\n"
                 "    double dc = ((double)spring(k, (%s)(c + h), 1.0f, 0.0f) - (double)spring(k, (%s)(c - h), 1.0f, 0.0f)) / (2 * h);\n"
                 "    printf(\"%%.9g %%.9g %%.9g %%.9g %%.9g\\n\", (double)y, (double)kb, dk, (double)cb, dc);\n"
                 "    return %s;\n}\n",
                 T, T, T, T, T, T, T, T,
                 fl ? "0" : "fabs(kb - dk) > 1e-6 * (1 + fabs(dk)) || fabs(cb - dc) > 1e-6 * (1 + fabs(dc))");
        ck_assert_int_eq(tu_write(tu_path("smain.c"), drv, (size_t)-1), 0);
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && gcc " STRICT " %s -O2 -c spring.c && gcc -std=c99 -O2 -c smain.c && "
                 "gcc smain.o spring.o -lm -o smain && ./smain",
                 tu_tmpdir(), fl ? "-Wdouble-promotion" : "");
        int st = tu_run(cmd, &out, &err);
        ck_assert_msg(st == 0, "%s (status %d): %s%s", T, st, out ? out : "", err ? err : "");
        free(out);
        free(err);
    }
}
END_TEST

/* dxc --tape: the RNN of test_dx_replay records, with the default, h
 * before the loop and after each of its 6 steps (21 doubles), tanh's
 * slope (18) and the dot (6); with --tape=small h at the start of each
 * step (18).  Both gradients hold a per-step copy of tanh's slope (3)
 * besides. */
START_TEST(test_dx_tape_option)
{
    ck_assert_int_eq(tu_write(tu_path("rnn.dx"), rnn_dx, (size_t)-1), 0);
    const char *args[3] = {"rnn.dx --stats -o rnn.c", "rnn.dx --tape=fast --stats -o rnn.c",
                           "rnn.dx --stats --tape=small -o rnn.c"};
    const char *want[3] = {"rnn_grad: tape 384 bytes", "rnn_grad: tape 384 bytes", "rnn_grad: tape 168 bytes"};
    for (int k = 0; k < 3; k++) {
        char *out = NULL, *err = NULL;
        ck_assert_int_eq(cr_dxc(args[k], &out, &err), 0);
        ck_assert_msg(strstr(err, want[k]), "%s: %s", args[k], err);
        free(out);
        free(err);
    }
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("rnn.dx --tape=tiny -o rnn.c", &out, &err), 1);
    ck_assert_msg(strstr(err, "unknown option '--tape=tiny'"), "%s", err);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_dx_dot)
{
    ck_assert_int_eq(tu_write(tu_path("loops.dx"), loops_dx, (size_t)-1), 0);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("loops.dx --emit=dot", &out, &err), 0);
    /* each loop once, with its carried values: "init" from before the
     * loop, "next" from the body's end, and their adjoints backwards */
    ck_assert_msg(strstr(out, "    label=\"for i in 0..100\";\n") && strstr(out, "    label=\"for i in 0..7\";\n") &&
                      strstr(out, "[label=\"init\"]") && strstr(out, "[label=\"next\", constraint=false]") &&
                      strstr(out, "[label=\"x[i]\\ncarried: x0, then x of the step before\"") &&
                      strstr(out, "[label=\"next: x[i]_bar\", dir=back"),
                  "%.3000s", out);
    ck_assert_int_eq(count(out, "label=\"for i in 0..100\""), 1);
    free(out);
    free(err);
}
END_TEST

Suite *suite_loops(void);
Suite *suite_loops(void)
{
    Suite *s = suite_create("loops");
    TCase *tc = tcase_create("loops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_simultaneous);
    tcase_add_test(tc, test_carried_arrays);
    tcase_add_test(tc, test_tape_backwards);
    tcase_add_test(tc, test_nested_and_branches);
    tcase_add_test(tc, test_huge_tape);
    tcase_add_test(tc, test_dx_loops);
    tcase_add_test(tc, test_dx_replay);
    tcase_add_test(tc, test_dx_big_tape);
    tcase_add_test(tc, test_dx_spring_workspace);
    tcase_add_test(tc, test_dx_dot);
    tcase_add_test(tc, test_dx_tape_option);
    suite_add_tcase(s, tc);
    return s;
}
