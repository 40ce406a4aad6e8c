/*
 * test_shapes.c - lowering array programs (ir/lower_array.c, ir/index.c):
 * every shape and index error at its line and column, alone (no
 * cascade); valid programs lower to verified, loop-shaped IR whose size
 * does not depend on array sizes; and the lowered IR computes the right
 * values in the interpreter (matrix products in four forms, triangular
 * sums, softmax and logsumexp at +-1000, comprehension offsets, ...).
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "../ir/ir.h"
#include "testutil.h"

static void done(TuLowered *c)
{
    arena_free(c->a);
}

static Unit *unit(TuLowered *c, const char *name)
{
    for (int i = 0; i < c->prog.units.n; i++)
        if (!strcmp(c->prog.units.p[i].primal->name, name))
            return &c->prog.units.p[i];
    ck_abort_msg("no function %s", name);
    return NULL;
}

/* ---- errors: exactly one, at its place, with its words ---- */

static const TuBad bad[] = {
    /* elementwise shapes, at the operator or call */
    {"fn f(a[3], b[4]) = sum(a + b)", 1, 26, "elementwise '+' of arrays of different shapes [3] and [4]"},
    {"fn f(a[3], b[3, 1]) = a * b", 1, 25, "different shapes [3] and [3, 1]"},
    {"fn f(x[3], y[4]) = x ^ y", 1, 22, "'^' of arrays of different shapes [3] and [4]"},
    {"fn f(x[3], y[4]) = pow(x, y)", 1, 20, "'pow' of arrays of different shapes"},
    {"fn f(x[3], y[4]) = atan2(x, y)", 1, 20, "the arguments of 'atan2' have different shapes [3] and [4]"},
    {"fn f(x[3], y[2]) = max(x, y)", 1, 20, "'max' have different shapes"},
    {"fn f(x[3]) = [1, 2] + x", 1, 21, "[2] and [3]"},
    /* matrix products */
    {"fn f(A[2, 3], x[4]) = sum(A @ x)", 1, 29, "'@' of [2, 3] and [4]: the inner dimensions 3 and 4 differ"},
    {"fn f(A[2, 3], B[2, 3]) = sum(A @ B)", 1, 32, "inner dimensions 3 and 2 differ"},
    {"fn f(x[3]) = x @ 2", 1, 16, "'@' multiplies vectors and matrices, but its right operand is a scalar"},
    {"fn f(T[2, 2, 2], x[2]) = sum(T @ x)", 1, 32, "left operand is an array of shape [2, 2, 2]"},
    /* calls: arguments shaped like the callee's parameters */
    {"fn g(w[3]) = sum(w)\nfn f(v[4]) = g(v)", 2, 16,
     "argument 1 of 'g' is an array of shape [4], but parameter 'w' is an array of shape [3]"},
    {"fn g(a, w[3]) = sum(w) * a\nfn f(v[3]) = g(v, v)", 2, 16,
     "argument 1 of 'g' is an array of shape [3], but parameter 'a' is a scalar"},
    {"fn g(w[3]) = sum(w)\nfn f(v) = g(v)", 2, 13, "argument 1 of 'g' is a scalar"},
    /* dimensions */
    {"fn f(w[0]) = sum(w)", 1, 8, "a dimension must be positive, but this one is 0"},
    {"const Z = 2 - 3\nfn f(w[Z]) = sum(w)", 2, 8, "a dimension must be positive, but Z is -1"},
    {"const Z = 2.5\nfn f(w[Z]) = sum(w)", 2, 8, "a dimension must be an integer constant expression ('Z' is a real constant)"},
    {"fn f(n, w[n]) = sum(w)", 1, 11, "('n' is a variable)"},
    {"fn f(w[3, 1.5]) = sum(w)", 1, 11, "(1.5 is a real number)"},
    {"fn f(x[2,2,2,2,2,2,2,2,2]) = 1", 1, 24, "an array has at most 8 dimensions"},
    {"fn f(a[65536, 65536]) = a", 1, 6, "an array of shape [65536, 65536] has more than 2147483647 elements"},
    {"fn f(a[65536], b[65536]) = outer(a, b)", 1, 28, "more than 2147483647 elements"},
    {"fn f(a[65536, 1], b[1, 65536]) = a @ b", 1, 36, "more than 2147483647 elements"},
    /* variables keep their shapes */
    {"fn f(x[3]) {\n x = [1, 2]\n return sum(x)\n}", 2, 2,
     "'x' is an array of shape [3]; it cannot be assigned an array of shape [2] (a variable keeps its shape)"},
    {"fn f(x) {\n y = x\n y = [x, x]\n return y\n}", 3, 2, "'y' is a scalar; it cannot be assigned an array of shape [2]"},
    {"fn f(x[3]) {\n if 1 > 0 { y = [1, 2] } else { y = 3 }\n return y\n}", 2, 2,
     "'y' is an array of shape [2] after the then branch but a scalar after the else branch"},
    {"fn f(x[3]) {\n if 1 > 0 { y = x }\n y = 4\n return y\n}", 3, 2, "it cannot be assigned a scalar"},
    /* results */
    {"fn f(x[3]) -> real[4] = x", 1, 25,
     "function 'f' returns an array of shape [3], but its declared result is an array of shape [4]"},
    {"fn f(x[3]) -> real = x", 1, 22, "declared result is a scalar"},
    {"fn f(x) -> real[3] {\n y = x\n return y\n}", 3, 2, "function 'f' returns a scalar, but its declared result is an array of shape [3]"},
    {"fn f(x) -> real[0] = x", 1, 17, "a dimension must be positive"},
    /* scalars where scalars are needed */
    {"fn f(x[3]) = if x > 0 then 1 else 2", 1, 17, "a condition compares scalars, but this is an array of shape [3]"},
    {"fn f(x[3]) {\n if 0 < x * 2 { y = 1 } else { y = 2 }\n return y\n}", 2, 11, "a condition compares scalars"},
    {"fn f(x[3]) = if 1 > 0 then x else 1", 1, 14,
     "the values of if-then-else differ in shape: an array of shape [3] and a scalar"},
    {"fn f(x[3]) = [x for i in 0..2]", 1, 15, "the element of a comprehension must be a scalar, but it is an array of shape [3]"},
    {"fn f(x[3]) = sum(x for i in 0..2)", 1, 18, "the body of sum must be a scalar, but it is an array of shape [3]"},
    {"fn f(x) = x[1]", 1, 12, "'x' is a scalar and cannot be indexed"},
    {"fn f(x) = (x + 1)[1]", 1, 18, "a scalar cannot be indexed"},
    /* built-ins on arrays */
    {"fn f(x[3]) = sum(3) + sum(x)", 1, 18, "'sum' takes an array, but its argument is a scalar"},
    {"fn f(x) = norm(x)", 1, 16, "'norm' takes an array"},
    {"fn f(x[3], y[2]) = dot(x, y)", 1, 20, "'dot' of vectors of different lengths 3 and 2"},
    {"fn f(x[3], A[3, 3]) = dot(x, A)", 1, 30, "'dot' takes two vectors, but its second argument is an array of shape [3, 3]"},
    {"fn f(x[3]) = outer(x, 2)", 1, 23, "'outer' takes two vectors, but its second argument is a scalar"},
    {"fn f(A[2, 3]) = logsumexp(A)", 1, 27, "'logsumexp' takes a vector, but its argument is an array of shape [2, 3]"},
    {"fn f(x) = sum(softmax(x))", 1, 23, "'softmax' takes a vector, but its argument is a scalar"},
    {"fn f(x[3]) = transpose(x)", 1, 24, "'transpose' takes a matrix"},
    {"fn f(x[3]) = dot(x)", 1, 14, "'dot' takes 2 arguments, but 1 was given"},
    {"fn f(x[3]) = mean(x, x)", 1, 14, "'mean' takes 1 argument, but 2 were given"},
    {"fn f(x[3]) = max(x, x, x)", 1, 14, "'max' takes 1 or 2 arguments, but 3 were given"},
    {"fn f(x[3]) = foo(x[i] for i in 0..3)", 1, 14, "'foo' cannot reduce over a range: only sum, prod, max and min take 'for'"},
    {"fn f(x[3]) = mean(x[i] for i in 0..3)", 1, 14, "'mean' cannot reduce over a range"},
    /* literals */
    {"fn f(x) = [[1, 2], [3]]", 1, 20,
     "the elements of an array literal differ in shape: element 2 is an array of shape [1], but element 1 is an array of shape [2]"},
    {"fn f(x) = [1, [2, 3]]", 1, 15, "element 2 is an array of shape [2], but element 1 is a scalar"},
    /* comprehension ranges: static and non-empty */
    {"fn f(x[10]) = [x[i] for i in 3..3]", 1, 25, "empty array: i in 3..3 has no values"},
    {"const N = 4\nfn f(x[10]) = [x[i] for i in N..2]", 2, 25, "empty array: i in N..2 has no values"},
    {"fn f(x[3]) = sum(sum([x[i] for i in 0..j]) for j in 1..3)", 1, 40,
     "the range of a comprehension must be an integer constant expression ('j' is an index variable)"},
    {"fn f(x[3], n) = [x[0] for i in 0..n]", 1, 35, "('n' is a variable)"},
    {"fn f(x[3]) = [0 for a in 0..1, b in 0..1, c in 0..1, d in 0..1, e in 0..1, g in 0..1,"
     " h in 0..1, k in 0..1, m in 0..1]", 1, 109, "an array has at most 8 dimensions"},
    /* max and min of empty ranges, in iterations that run */
    {"fn f(x[10]) = max(x[j] for j in 3..3)", 1, 28, "max of an empty range: j in 3..3 has no values"},
    {"fn f(x[10]) = min(x[j] for j in 5..1)", 1, 28, "min of an empty range: j in 5..1 has no values"},
    {"fn f(x[10]) = [max(x[j] for j in 0..i) for i in 0..10]", 1, 29,
     "max of an empty range: j in 0..i has no values in some iteration that runs"},
    {"fn f(x[10]) = sum(min(x[j] for j in 1..i) for i in 0..10)", 1, 32,
     "no values in some iteration that runs"},
    /* index expressions */
    {"fn f(x[10], k) = sum(x[k] for i in 0..3)", 1, 24,
     "an index must be an integer expression of index variables and integer constants ('k' is a variable)"},
    {"fn f(x[4]) = sum(x[i*i] for i in 0..3)", 1, 21, "index i*i of x ranges over 0..4"},
    {"fn f(x[10]) = sum(x[i/2] for i in 0..3)", 1, 22, "('/' is not allowed; '//' divides"},
    {"fn f(x[10]) = sum(x[2^i] for i in 0..3)", 1, 22, "('^' is not allowed)"},
    {"const c = 0.5\nfn f(x[10]) = x[c]", 2, 17, "('c' is a real constant)"},
    {"fn f(x[10]) = x[1.0]", 1, 17, "(1.0 is a real number)"},
    {"fn f(x[10]) = x[pi]", 1, 17, "('pi' is a real constant)"},
    {"fn f(x[10]) = x[x[0]]", 1, 18, "(an array element is not allowed)"},
    {"fn f(x[10]) = x[sum(x)]", 1, 17, "(a function call is not allowed)"},
    {"fn f(x[10]) = sum(x[i + (if 1 > 0 then 1 else 0)] for i in 0..3)", 1, 26, "(if-then-else is not allowed)"},
    {"fn f(x[10]) = x[q]", 1, 17, "'q' is not defined"},
    {"fn f(x[3]) = x[2147483647 * 2]", 1, 27, "integer expression overflows the 32-bit range"},
    {"fn f(x[3]) = sum(x[i] for i in 0..3000000000)", 1, 35, "integer 3000000000 is out of the 32-bit range"},
    {"fn f(x[3]) = sum(x[i] for i in 0..3.5)", 1, 35,
     "a range bound must be an integer affine expression of enclosing index variables and integer constants (3.5 is a real number)"},
    {"fn f(x[10]) = x[1, 2]", 1, 20, "too many indices: x has 1 dimension"},
    {"fn f(X[2, 2]) = X[1, 1, 0]", 1, 25, "too many indices: X has 2 dimensions"},
    /* index ranges: exact, over the iterations that run */
    {"fn f(x[10]) = sum(x[i+1] for i in 0..10)", 1, 22,
     "index i+1 of x ranges over 1..10, but dimension 0 of x has size 10 (valid 0..9)"},
    {"fn f(x[10]) = x[10]", 1, 17, "index 10 of x is out of range: dimension 0 of x has size 10 (valid 0..9)"},
    {"fn f(x[10]) = x[-1]", 1, 17, "index -1 of x is out of range"},
    {"const N = 12\nfn f(x[10]) = x[N]", 2, 17, "index N of x is 12, but dimension 0 of x has size 10"},
    {"fn f(x[10]) = sum(x[2*i] for i in 0..6)", 1, 22, "index 2*i of x ranges over 0..10"},
    {"fn f(x[10]) = [x[i] for i in 2..12]", 1, 18, "index i of x ranges over 2..11"},
    {"fn f(X[4, 3]) = [sum(X[t]) for t in 0..5]", 1, 24, "index t of X ranges over 0..4, but dimension 0 of X has size 4"},
    {"fn f(X[4, 3]) = [X[t, t] for t in 0..4]", 1, 23, "index t of X ranges over 0..3, but dimension 1 of X has size 3 (valid 0..2)"},
    {"fn f(x[10]) = sum(x[i-j] for i in 0..10, j in 0..i+2)", 1, 22, "index i-j of x ranges over -1..9"},
    {"fn f(x[10]) = [sum(x[i-j+1] for j in 0..i+1) for i in 0..10]", 1, 25, "index i-j+1 of x ranges over 1..10"},
    {"fn f(x[10]) = [sum(x[j] for j in i..i+3) for i in 0..10]", 1, 22, "index j of x ranges over 0..11"},
    /* conditions do not guard an index */
    {"fn f(x[10]) = [if i < 9 then x[i+1] else 0 for i in 0..10]", 1, 33, "index i+1 of x ranges over 1..10"},
    {"fn f(x[3]) = transpose([[1, 2, 3], [4, 5, 6]])[3, 0]", 1, 48,
     "index 3 of the array is out of range: dimension 0 of the array has size 3"},
    /* index variables: names and scope */
    {"fn f(x[3]) = sum(x[i] for i in 0..3) + i", 1, 40,
     "'i' is not defined here (the index variable 'i' of the sum on line 1 exists only inside it)"},
    {"fn f(x[3]) = sum([x[i] for i in 0..3]) + x[i]", 1, 44, "the index variable 'i' of the comprehension on line 1"},
    {"fn f(x[3], i) = sum(x[i] for i in 0..3)", 1, 30, "'i' is a variable; an index variable cannot take its name"},
    {"fn f(x[3]) {\n y = 2\n return sum(x[y] for y in 0..3)\n}", 3, 22, "'y' is a variable; an index variable cannot take its name"},
    {"fn f(x[3]) = sum(sum(x[i] for i in 0..3) for i in 0..3)", 1, 31,
     "'i' is already an index variable here (line 1); an index variable cannot reuse the name of an enclosing one"},
    {"fn f(x[3]) = sum(x[i] for i in 0..3, i in 0..2)", 1, 38, "'i' is already an index variable here"},
    {"fn f(x[3]) = [x[i] + 1 for i in 0..3, i in 0..3]", 1, 39, "already an index variable"},
    {"fn f(x[3]) = sum(x[pi] for pi in 0..3)", 1, 28, "'pi' is the name of a built-in constant; an index variable cannot take it"},
    {"const K = 2\nfn f(x[3]) = sum(x[K] for K in 0..3)", 2, 27, "'K' is a constant; an index variable cannot take its name"},
    {"fn g(v) = v\nfn f(x[3]) = sum(x[g] for g in 0..3)", 2, 27, "'g' is a function; an index variable cannot take its name"},
    {"fn f(x[3]) = i(2) + sum(x[i] for i in 0..3)", 1, 14, "no function named 'i'"},
    /* a for statement's body is checked over the iterations that run */
    {"fn f(x[3]) {\n s = 0\n for i in 0..4 {\n s = s + x[i]\n }\n return s\n}", 4, 12, "ranges over 0..3"},
};

START_TEST(test_bad)
{
    char *why = tu_bad_mismatch(&bad[_i], 1);
    ck_assert_msg(!why, "%s", why);
}
END_TEST

/* ---- valid programs lower, and the IR verifies ---- */

static const char *const good[] = {
    "const M = 3\nconst N = 4\n"
    "fn f(W[M, N], x[N], b[M]) -> real[M] {\n h = relu(W @ x + b)\n return h * 2\n}",
    "fn f(x[4]) = sum(x[i] * i for i in 0..4) + logsumexp(x) + dot(x, x)",
    /* ranges proved exactly over triangular domains */
    "fn f(L[4, 4], x[4]) = [sum(L[i, j] * x[j] for j in 0..i+1) for i in 0..4]",
    "fn f(x[10]) = sum(x[i-j] for i in 0..10, j in 0..i+1)",
    "fn f(x[10]) = [sum(x[i-1-j] for j in 0..i) for i in 0..10]",
    "fn f(x[10]) = [sum(x[i-1] for j in 0..i) for i in 0..10]",
    "fn f(x[10]) = [sum(x[j-1] for j in i..i) for i in 0..10]",
    "fn f(x[10]) = sum(sum(x[k - 1 - j] for j in 0..k) for k in 0..10, m in 0..k)",
    "fn f(x[10]) = [max(x[j] for j in i..10) for i in 0..10]",
    "fn f(x[10]) = sum(x[j] for j in 3..3) + sum(x[20] for j in 5..1) + prod(x[99] for j in 0..0)",
    "const N = 10\nfn f(x[N]) = [x[N - 1 - i] for i in 0..N]",
    "fn f(x[10]) = [x[i] - x[i - 2] for i in 2..10]",
    "fn f(x[10]) = [x[2 * i + 1] for i in 0..5]",
    "fn f(X[4, 3]) = [X[t, j] * t for t in 0..4, j in 0..3]",
    "fn f(X[4, 3]) = [sum(X[t]) * t * 0.5 for t in 0..4]",
    "fn f(u[3], v[3]) = [u, v, u * 2]",
    "fn f() = [[1, 2], [3, 4]] @ [1, 1]",
    "fn f(A[2, 3]) = transpose(A) @ [1, 2] + softmax([1, 2, 3])",
    "fn f(T[2, 2, 2]) = max(T) + min(T) + prod(T) + mean(T) + norm(T) + sum(T)",
    "fn f(A[2, 3], B[2, 3]) = sum(pow(A, 2) + atan2(A, B) + max(A, 1) + hypot(A, B) + exp(A) ^ 2 + 2 ^ A - A / 2)",
    "fn g(w[3], s) -> real[3] = w * s\nfn f(a[3]) = sum(g(a, 2) + g([1, 2, 3], 1))",
    "fn f(x[3], c) {\n if c > 0 {\n y = x * 2\n } else {\n y = -x\n }\n"
    " z = if c > 1 then y else [0, 0, 0]\n return z + y\n}",
    "fn f(x[3]) {\n if x[0] > x[1] { y = x } else { y = x * 2 }\n return y\n}",
    "fn f(data x[3], w[3]) -> real = sum(x * w)",
    "fn f(x[3]) = [if x[i] > 0 then x[i] else 0 for i in 0..3]",
    /* an index variable's name may be reused once its scope has ended */
    "fn f(x[3]) {\n s = sum(x[i] for i in 0..3)\n i = s * 2\n return i + sum(x[k] for k in 0..3)\n}",
    "fn f(x[3]) = sum(x[i] for i in 0..3) * sum(x[i] for i in 0..3) + sum([x[i] for i in 0..3])",
    "const N = 2\nfn f(x[3]) = N * sum(x) + x[N]",
};

START_TEST(test_good)
{
    TuLowered c;
    int n = tu_lower(&c, good[_i]);
    ck_assert_msg(n == 0, "%s\n  gives %d:%d: %s", good[_i], c.d.last_loc.line, c.d.last_loc.col,
                  c.d.last);
    for (int i = 0; i < c.prog.units.n; i++)
        ir_verify(c.prog.units.p[i].primal);
    done(&c);
}
END_TEST

/* ---- the IR is loop-shaped: its size does not depend on array sizes ---- */

static const char mlp_fmt[] =
    "const NI = %d\nconst NH = %d\nconst NO = %d\n"
    "fn mlp(W1[NH, NI], b1[NH], W2[NO, NH], b2[NO], data x[NI], data y[NO]) {\n"
    "    h = relu(W1 @ x + b1)\n"
    "    z = W2 @ h + b2\n"
    "    return logsumexp(z) - dot(y, z)\n"
    "}\n";

static int mlp_size(int ni, int nh, int no)
{
    char src[1024];
    snprintf(src, sizeof src, mlp_fmt, ni, nh, no);
    TuLowered c;
    ck_assert_int_eq(tu_lower(&c, src), 0);
    Fn *f = unit(&c, "mlp")->primal;
    ir_verify(f);
    int n = f->v.n;
    done(&c);
    return n;
}

START_TEST(test_loop_shaped)
{
    int big = mlp_size(784, 128, 10), small = mlp_size(7, 5, 3);
    ck_assert_int_eq(big, small);
    ck_assert_msg(big < 80, "the MLP lowers to %d instructions", big);
}
END_TEST

/* Names, outputs and the structure the later passes rely on. */
START_TEST(test_ir_form)
{
    TuLowered c;
    ck_assert_int_eq(tu_lower(&c, "fn f(W[3, 4], x[4]) -> real[3] {\n"
                                    " y = [sum(W[i, j] * x[j] for j in 0..4) for i in 0..3]\n"
                                    " return y\n}\n"
                                    "fn g(x[4]) = sum(x)"),
                     0);
    Unit *u = unit(&c, "f");
    Fn *f = u->primal;
    ir_verify(f);
    ck_assert_int_eq(u->ret.rank, 1);
    ck_assert_int_eq(ty_dim(u->ret, 0), 3);
    ck_assert_int_eq(f->out.n, 1);
    ck_assert_int_eq(f->out.p[0].role, OUT_ARRAY);
    ck_assert_str_eq(f->out.p[0].name, "out");
    ck_assert_int_eq(f->in.p[0].ty.rank, 2);
    ck_assert_int_eq(ty_dim(f->in.p[0].ty, 1), 4);
    /* the result is the GEN's RESULT, named after the variable */
    const Inst *res = &f->v.p[f->out.p[0].ref];
    ck_assert_int_eq(res->op, OP_RESULT);
    ck_assert_str_eq(res->name, "y");
    const Inst *gen = &f->v.p[res->arg[0]];
    ck_assert_int_eq(gen->op, OP_GEN);
    ck_assert_str_eq(f->v.p[ir_ivar(f, res->arg[0], 0)].name, "i");
    /* its body: a RED over j whose bounds are 0..4, yielded */
    const Region *b = gen->x->reg[0];
    Ref red = NOREF;
    for (int i = 0; i < b->ids.n; i++)
        if (f->v.p[b->ids.p[i]].op == OP_RED)
            red = b->ids.p[i];
    ck_assert_int_ne(red, NOREF);
    ck_assert_int_eq(f->v.p[red].red, RK_SUM);
    ck_assert_int_eq(f->v.p[red].x->ix[0].c, 0);
    ck_assert_int_eq(f->v.p[red].x->ix[1].c, 4);
    ck_assert_str_eq(f->v.p[ir_ivar(f, red, 0)].name, "j");
    Unit *g = unit(&c, "g");
    ck_assert_int_eq(g->ret.rank, 0);
    ck_assert_int_eq(g->primal->out.p[0].role, OUT_RETURN);
    done(&c);
}
END_TEST

/* A dependent bound: the RED's bounds are affine in the enclosing IVAR. */
START_TEST(test_dependent_bounds)
{
    TuLowered c;
    ck_assert_int_eq(tu_lower(&c, "fn f(x[5]) = [sum(x[j] for j in i..i+2) for i in 1..4]"), 0);
    Fn *f = unit(&c, "f")->primal;
    ir_verify(f);
    Ref gen = NOREF, red = NOREF;
    for (int i = 0; i < f->v.n; i++) {
        if (f->v.p[i].op == OP_GEN)
            gen = i;
        if (f->v.p[i].op == OP_RED)
            red = i;
    }
    Ref i = ir_ivar(f, gen, 0);
    const Aff *ix = f->v.p[red].x->ix;
    /* i runs over 1..3, so IVAR + 1: j in IVAR+1 .. IVAR+3 */
    ck_assert_int_eq(ix[0].n, 1);
    ck_assert_int_eq(ix[0].iv[0], i);
    ck_assert_int_eq(ix[0].c, 1);
    ck_assert_int_eq(ix[1].c, 3);
    ck_assert_int_eq(ty_dim(f->v.p[gen].ty, 0), 3);
    done(&c);
}
END_TEST

/* Where an inner range can be empty, the check stays exact: x[k-1] only
 * runs where j's range is non-empty, so k >= 1.  One condition on one
 * variable narrows that variable's range; others are enumerated, within
 * a budget, beyond which the check is conservative (it may reject, never
 * accept wrongly) and says so, in bounded time. */
START_TEST(test_empty_inner_ranges)
{
    static const char *const exact[] = {
        "fn f(x[10]) = sum(sum(x[k-1] for j in 0..k) for a in 0..1000, b in 0..1000, k in 0..10)",
        "fn f(x[10]) = sum(sum(x[k-1] for j in a..k) for a in 0..1000, b in 0..1000, k in 0..10)",
        "fn f(x[10]) = sum(sum(x[k-1] for j in a+b..k) for a in 0..9, b in 0..9, k in 0..10)",
        "fn f(x[10]) = sum(sum(x[9-k] for j in 2*k..19) for k in 0..100)",
    };
    TuLowered c;
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        ck_assert_msg(tu_lower(&c, exact[i]) == 0, "%s: %s", exact[i], c.d.last);
        done(&c);
    }
    /* 10^10 points to enumerate: past the budget */
    int n = tu_lower(&c, "fn f(x[10]) = sum(sum(x[k-1] for j in a+b+c..k) for a in 0..1000, "
                           "b in 0..1000, c in 0..1000, k in 0..10)");
    ck_assert_int_eq(n, 1);
    ck_assert_msg(strstr(c.d.last, "index k-1 of x cannot be proved in range") &&
                      strstr(c.d.last, "-1..8"),
                  "%s", c.d.last);
    done(&c);
}
END_TEST

/* Index variables nest up to 64 deep; one more is one error, even with an
 * index that uses them all. */
static char *nested_sums(int n)
{
    static char buf[8192];
    strcpy(buf, "fn f(x[100]) = ");
    for (int i = 0; i < n; i++)
        strcat(buf, "sum(");
    strcat(buf, "x[0");
    for (int i = 0; i < n; i++)
        sprintf(buf + strlen(buf), "+i%d", i);
    strcat(buf, "]");
    for (int i = n - 1; i >= 0; i--)
        sprintf(buf + strlen(buf), " for i%d in 0..1)", i);
    return buf;
}

START_TEST(test_nesting_limit)
{
    TuLowered c;
    ck_assert_int_eq(tu_lower(&c, nested_sums(64)), 0);
    done(&c);
    ck_assert_int_eq(tu_lower(&c, nested_sums(70)), 1);
    ck_assert_msg(strstr(c.d.last, "index variables are nested too deeply (the limit is 64)"), "%s",
                  c.d.last);
    done(&c);
}
END_TEST

/* Random triangular domains: the compiler's verdict on x[e] agrees with
 * brute force over the iterations that run, and so do the numbers in
 * its message. */
static unsigned long long rnd_state = 88172645463325252ull;

static int rnd(int lo, int hi) /* lo..hi inclusive */
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return lo + (int)(rnd_state % (unsigned long long)(hi - lo + 1));
}

typedef struct {
    int c, a[3]; /* c + a[0]*i + a[1]*j + a[2]*k */
} RandAff;

static RandAff rand_aff(int nvars, int cmin, int cmax)
{
    RandAff x = {rnd(cmin, cmax), {0, 0, 0}};
    for (int v = 0; v < nvars; v++)
        x.a[v] = rnd(0, 2) ? rnd(-2, 2) : 0;
    return x;
}

static void aff_str(char *buf, size_t cap, RandAff x)
{
    static const char *const names[] = {"i", "j", "k"};
    snprintf(buf, cap, "(%d)", x.c);
    for (int v = 0; v < 3; v++)
        if (x.a[v]) {
            size_t len = strlen(buf);
            snprintf(buf + len, cap - len, " + (%d)*%s", x.a[v], names[v]);
        }
}

static int aff_at(RandAff x, const int *v)
{
    return x.c + x.a[0] * v[0] + x.a[1] * v[1] + x.a[2] * v[2];
}

START_TEST(test_random_domains)
{
    for (int round = 0; round < 400; round++) {
        int depth = rnd(1, 3), size = rnd(1, 9);
        RandAff lo[3], hi[3], e;
        for (int d = 0; d < depth; d++) {
            lo[d] = rand_aff(d, -2, 3);
            hi[d] = rand_aff(d, 0, 7);
        }
        e = rand_aff(depth, -3, 6);
        /* brute force */
        int v[3] = {0, 0, 0}, found = 0, mn = 0, mx = 0;
        for (v[0] = aff_at(lo[0], v); v[0] < aff_at(hi[0], v); v[0]++) {
            if (depth == 1) {
                int x = aff_at(e, v);
                mn = found && mn < x ? mn : x;
                mx = found && mx > x ? mx : x;
                found = 1;
                continue;
            }
            for (v[1] = aff_at(lo[1], v); v[1] < aff_at(hi[1], v); v[1]++) {
                if (depth == 2) {
                    int x = aff_at(e, v);
                    mn = found && mn < x ? mn : x;
                    mx = found && mx > x ? mx : x;
                    found = 1;
                    continue;
                }
                for (v[2] = aff_at(lo[2], v); v[2] < aff_at(hi[2], v); v[2]++) {
                    int x = aff_at(e, v);
                    mn = found && mn < x ? mn : x;
                    mx = found && mx > x ? mx : x;
                    found = 1;
                }
                v[2] = 0;
            }
            v[1] = 0;
        }
        char src[1024], es[128], ls[3][128], hs[3][128];
        aff_str(es, sizeof es, e);
        for (int d = 0; d < depth; d++) {
            aff_str(ls[d], sizeof ls[d], lo[d]);
            aff_str(hs[d], sizeof hs[d], hi[d]);
        }
        snprintf(src, sizeof src, "fn f(x[%d]) = sum(x[%s] for i in %s..%s%s%s%s%s%s%s%s%s)", size,
                 es, ls[0], hs[0], depth > 1 ? ", j in " : "", depth > 1 ? ls[1] : "",
                 depth > 1 ? ".." : "", depth > 1 ? hs[1] : "", depth > 2 ? ", k in " : "",
                 depth > 2 ? ls[2] : "", depth > 2 ? ".." : "", depth > 2 ? hs[2] : "");
        TuLowered c;
        int n = tu_lower(&c, src);
        int ok = !found || (mn >= 0 && mx < size);
        ck_assert_msg(n == !ok, "%s\n  runs: %d, range %d..%d, size %d; %d errors: %s", src, found,
                      mn, mx, size, n, c.d.last);
        if (!ok && !strstr(c.d.last, "is out of range")) {
            long long a = 0, b = 0;
            const char *r = strstr(c.d.last, " of x ranges over ");
            const char *is = strstr(c.d.last, " of x is ");
            int got = r ? sscanf(r, " of x ranges over %lld..%lld", &a, &b)
                        : is ? sscanf(is, " of x is %lld", &a) : 0;
            if (is)
                b = a;
            ck_assert_msg(got >= 1 && a == mn && b == mx, "%s\n  range %d..%d, but: %s", src, mn,
                          mx, c.d.last);
        }
        done(&c);
    }
}
END_TEST

/* ---- values: the lowered IR in the interpreter ---- */

typedef struct {
    const char *src;
    double in[24];   /* the inputs, flat, in parameter order */
    int nout;
    double out[16];
} ValueCase;

#define E1 2.718281828459045
static const ValueCase values[] = {
    /* @ in four forms */
    {"fn f(A[2, 3], B[3, 2]) = A @ B", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 4, {58, 64, 139, 154}},
    {"fn f(A[2, 3], x[3]) = A @ x", {1, 2, 3, 4, 5, 6, 1, 1, 1}, 2, {6, 15}},
    {"fn f(x[3], B[3, 2]) = x @ B", {1, 2, 3, 7, 8, 9, 10, 11, 12}, 2, {58, 64}},
    {"fn f(x[3], y[3]) = x @ y + dot(x, y)", {1, 2, 3, 4, 5, 6}, 1, {64}},
    /* triangular and dependent sums */
    {"fn f(L[3, 3], x[3]) = [sum(L[i, j] * x[j] for j in 0..i+1) for i in 0..3]",
     {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1}, 3, {1, 9, 24}},
    {"fn f(x[4]) = [sum(x[i - j] for j in 0..i+1) for i in 0..4]", {1, 2, 3, 4}, 4, {1, 3, 6, 10}},
    {"fn f(x[4]) = [sum(x[i - 1 - j] for j in 0..i) for i in 0..4]", {1, 2, 3, 4}, 4, {0, 1, 3, 6}},
    {"fn f(x[4]) = [sum(x[j] for j in i..4) for i in 0..4]", {1, 2, 3, 4}, 4, {10, 9, 7, 4}},
    {"fn f(A[2, 3]) = sum(A[i, j] for i in 0..2, j in i..3)", {1, 2, 3, 4, 5, 6}, 1, {17}},
    {"fn f(x[4]) = [max(x[j] for j in i..4) for i in 0..4]", {3, 1, 4, 2}, 4, {4, 4, 4, 2}},
    {"fn f(x[4]) = max(x[i] - i for i in 0..4) + min(x[i] * i for i in 1..4)", {3, 1, 4, 2}, 1, {3 + 1}},
    /* empty ranges: sum 0, prod 1 */
    {"fn f(x[3]) = sum(x[j] for j in 0..0) + prod(x[j] for j in 3..1) + sum(x[9] for j in 5..5)",
     {1, 2, 3}, 1, {1}},
    /* comprehensions: offsets, index variables as reals, several generators */
    {"fn f(x[5]) = [x[i] * i for i in 2..5]", {10, 20, 30, 40, 50}, 3, {60, 120, 200}},
    {"fn f(x[5]) = [x[i] - x[i - 2] for i in 2..5]", {1, 2, 4, 8, 16}, 3, {3, 6, 12}},
    {"fn f() = [i * 0.5 - j for i in 0..3, j in 1..3]", {0}, 6, {-1, -2, -0.5, -1.5, 0, -1}},
    {"const N = 4\nfn f(x[N]) = [x[N - 1 - i] for i in 0..N]", {1, 2, 3, 4}, 4, {4, 3, 2, 1}},
    {"fn f(x[6]) = [x[2 * i + 1] for i in 0..3]", {0, 1, 2, 3, 4, 5}, 3, {1, 3, 5}},
    /* sub-arrays */
    {"fn f(X[2, 3]) = X[1] * 2", {1, 2, 3, 4, 5, 6}, 3, {8, 10, 12}},
    {"fn f(X[2, 3]) = [sum(X[t]) for t in 0..2]", {1, 2, 3, 4, 5, 6}, 2, {6, 15}},
    {"fn f(T[2, 2, 2]) = T[1] @ T[0, 1]", {1, 2, 3, 4, 5, 6, 7, 8}, 2, {5 * 3 + 6 * 4, 7 * 3 + 8 * 4}},
    /* built-ins */
    {"fn f(A[2, 3]) = transpose(A)", {1, 2, 3, 4, 5, 6}, 6, {1, 4, 2, 5, 3, 6}},
    {"fn f(a[2], b[3]) = outer(a, b)", {1, 2, 3, 4, 5}, 6, {3, 4, 5, 6, 8, 10}},
    {"fn f(T[2, 2, 2]) = [sum(T), prod(T), max(T), min(T), mean(T)]", {1, 2, 3, 4, 5, 6, 7, -8}, 5,
     {20, -40320, 7, -8, 2.5}},
    {"fn f(x[2]) = norm(x) + norm([0, 0])", {3, -4}, 1, {5}},
    {"fn f(v[3]) = softmax(v)", {0, 1, 2}, 3,
     {1 / (1 + E1 + E1 * E1), E1 / (1 + E1 + E1 * E1), E1 *E1 / (1 + E1 + E1 * E1)}},
    {"fn f(v[2]) = softmax(v)", {1000, 0}, 2, {1, 0}},
    {"fn f(v[2]) = softmax(v)", {-1000, -1000}, 2, {0.5, 0.5}},
    {"fn f(v[2]) = logsumexp(v)", {1000, 1000}, 1, {1000.6931471805599453}},
    {"fn f(v[2]) = logsumexp(v)", {-1000, -1000}, 1, {-999.30685281944005469}},
    {"fn f(v[3]) = logsumexp(v)", {0, 0, 0}, 1, {1.0986122886681098}},
    /* elementwise, with scalars broadcast */
    {"fn f(x[3]) = 2 - x / 2 + x ^ 2 - 2 ^ x + max(x, 2) + -x", {1, 2, 3}, 3,
     {2 - 0.5 + 1 - 2 + 2 - 1, 2 - 1 + 4 - 4 + 2 - 2, 2 - 1.5 + 9 - 8 + 3 - 3}},
    {"fn f(x[2], y[2]) = atan2(y, x) + hypot(x, y) + pow(x, y) + min(x, y)", {1, 2, 1, 0}, 2,
     {0.78539816339744831 + 1.4142135623730951 + 1 + 1, 0 + 2 + 1 + 0}},
    {"fn f(x[2]) = exp(x) + relu(x) + abs(x)", {0, -1}, 2, {1, 1 / E1 + 1}},
    /* literals: flat, nested, stacked */
    {"fn f(a) = [[1, a], [3, 4]] @ [1, 1]", {2}, 2, {3, 7}},
    {"fn f(u[2], v[2]) = [u, v, u * 2, v]", {1, 2, 3, 4}, 8, {1, 2, 3, 4, 2, 4, 3, 4}},
    /* branches and calls with arrays */
    {"fn f(x[3], c) {\n if c > 0 {\n y = x * 2\n } else {\n y = -x\n }\n"
     " z = if c > 1 then y else [0, 0, 0]\n return z + y\n}",
     {1, 2, 3, 2}, 3, {4, 8, 12}},
    {"fn f(x[3], c) {\n if c > 0 {\n y = x * 2\n } else {\n y = -x\n }\n"
     " z = if c > 1 then y else [0, 0, 0]\n return z + y\n}",
     {1, 2, 3, -1}, 3, {-1, -2, -3}},
    {"fn g(w[3], s) -> real[3] = w * s\nfn f(a[3]) = g(a, 2) + g([1, 2, 3], 1)", {1, 1, 1}, 3,
     {3, 4, 5}},
    {"fn f(x[3]) = [if x[i] > 0 then x[i] else 0 for i in 0..3]", {-1, 2, -3}, 3, {0, 2, 0}},
    /* callees inlined inside loops, with index variables of their own */
    {"fn g(v[3]) = sum(v * v)\nfn f(X[2, 3]) = [g(X[t]) for t in 0..2]", {1, 2, 3, 4, 5, 6}, 2,
     {14, 77}},
    {"fn h(w[3]) = [sum(w[j] for j in 0..i+1) for i in 0..3]\n"
     "fn f(X[2, 3]) = [sum(h(X[t])) * i for t in 0..2, i in 1..3]",
     {1, 2, 3, 4, 5, 6}, 4, {10, 20, 28, 56}},
};

/* Types name their shapes in a table (ir/shapes.c): equal dimensions
 * give the same shape, a shape's dimensions never move, rank 0 is the
 * scalar's shape, and a shape is read the same from other threads. */
static void *dims_from_thread(void *arg)
{
    Type *t = arg;
    static int32_t got[DX_MAXRANK];
    memcpy(got, ty_dims(*t), sizeof got);
    return got;
}

START_TEST(test_shape_table)
{
    int32_t d23[2] = {2, 3}, d32[2] = {3, 2}, d8[DX_MAXRANK] = {1, 2, 3, 4, 5, 6, 7, 8};
    Type a = ty_array(2, d23), b = ty_array(2, d23), c = ty_array(2, d32), e = ty_array(1, d23);
    ck_assert(a.shape != 0 && a.shape == b.shape && ty_eq(a, b));
    ck_assert(!ty_eq(a, c) && a.shape != c.shape);
    ck_assert(!ty_eq(a, e) && e.rank == 1 && ty_dim(e, 0) == 2 && ty_dim(e, 1) == 0);
    ck_assert_int_eq(ty_size(a), 6);
    const int32_t *p = ty_dims(a);
    for (int k = 0; k < 3000; k++) { /* thousands more shapes: a chunk's rows never move */
        int32_t d[3] = {k + 1, 7, 9};
        ck_assert_int_eq(ty_dim(ty_array(3, d), 0), k + 1);
    }
    ck_assert(p == ty_dims(a) && p[0] == 2 && p[1] == 3);
    Type s = ty_array(0, NULL);
    ck_assert(s.shape == 0 && ty_eq(s, ty_scalar()) && ty_size(s) == 1 && ty_dim(s, 0) == 0);
    Type big = ty_array(DX_MAXRANK, d8);
    ck_assert_int_eq(ty_size(big), 40320);
    ck_assert_int_eq(ty_dim(big, DX_MAXRANK - 1), 8);
    Type bt = big;
    bt.kind = TY_BOOL;
    ck_assert(!ty_eq(big, bt) && bt.shape == big.shape);
    pthread_t th;
    void *got = NULL;
    ck_assert_int_eq(pthread_create(&th, NULL, dims_from_thread, &big), 0);
    ck_assert_int_eq(pthread_join(th, &got), 0);
    ck_assert(!memcmp(got, d8, sizeof d8));
}
END_TEST

START_TEST(test_values)
{
    const ValueCase *t = &values[_i];
    TuLowered c;
    ck_assert_msg(tu_lower(&c, t->src) == 0, "%s: %s", t->src, c.d.last);
    Fn *f = unit(&c, "f")->primal;
    ir_verify(f);
    const double *in[16];
    int at = 0;
    for (int i = 0; i < f->in.n; i++) {
        in[i] = t->in + at;
        at += (int)ty_size(f->in.p[i].ty);
    }
    ck_assert_int_eq((int)ty_size(f->out.p[0].ty), t->nout);
    double out[64];
    double *outs[1] = {out};
    ir_interp(f, in, outs);
    for (int k = 0; k < t->nout; k++)
        ck_assert_msg(fabs(out[k] - t->out[k]) <= 1e-12 * fmax(1, fabs(t->out[k])),
                      "%s: element %d is %.17g, want %.17g", t->src, k, out[k], t->out[k]);
    done(&c);
}
END_TEST

Suite *suite_shapes(void);
Suite *suite_shapes(void)
{
    Suite *s = suite_create("shapes");
    TCase *tc = tcase_create("shapes");
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_loop_test(tc, test_good, 0, (int)(sizeof good / sizeof good[0]));
    tcase_add_test(tc, test_loop_shaped);
    tcase_add_test(tc, test_shape_table);
    tcase_add_test(tc, test_ir_form);
    tcase_add_test(tc, test_dependent_bounds);
    tcase_add_test(tc, test_empty_inner_ranges);
    tcase_add_test(tc, test_random_domains);
    tcase_add_test(tc, test_nesting_limit);
    tcase_add_loop_test(tc, test_values, 0, (int)(sizeof values / sizeof values[0]));
    suite_add_tcase(s, tc);
    return s;
}
