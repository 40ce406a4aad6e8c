/*
 * test_parser.c - the grammar of spec sections 3-5 through parse_file().
 *
 * A small printer turns the AST back into fully parenthesized text, so
 * precedence and structure are checked by comparing strings; other tests
 * check locations, error messages and places, and that hostile input
 * (deep nesting, huge names and sums, random bytes) ends in a clean error
 * or a clean parse.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

static Arena *arena;

static void setup(void)
{
    arena = arena_new();
}

static void teardown(void)
{
    arena_free(arena);
}

/* ---- printing the AST ---- */

typedef struct {
    char *p;
    size_t len, cap;
} Str;

static void put(Str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(Str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (s->len + (size_t)n + 1 > s->cap) {
        s->cap = 2 * (s->len + (size_t)n + 1);
        s->p = realloc(s->p, s->cap);
    }
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

static void pr(Str *s, const Ast *x);

static void pr_list(Str *s, const AstList *l, const char *sep)
{
    for (int i = 0; i < l->n; i++) {
        if (i)
            put(s, "%s", sep);
        pr(s, l->p[i]);
    }
}

static void pr_block(Str *s, const AstList *l)
{
    put(s, "{ ");
    pr_list(s, l, "; ");
    put(s, l->n ? " }" : "}");
}

static const char *const cmp_ops[] = {"<", "<=", ">", ">=", "==", "!="};

static void pr(Str *s, const Ast *x)
{
    switch (x->kind) {
    case AST_NUM: put(s, "%g", x->num); break;
    case AST_NAME: put(s, "%s", x->name); break;
    case AST_BIN:
        put(s, "(");
        pr(s, x->a);
        put(s, " %c ", x->op);
        pr(s, x->b);
        put(s, ")");
        break;
    case AST_NEG: put(s, "(-"); pr(s, x->a); put(s, ")"); break;
    case AST_CALL: put(s, "%s(", x->name); pr_list(s, &x->args, ", "); put(s, ")"); break;
    case AST_REDUCE:
        put(s, "%s(", x->name);
        pr(s, x->a);
        put(s, " for ");
        pr_list(s, &x->gens, ", ");
        put(s, ")");
        break;
    case AST_INDEX: pr(s, x->a); put(s, "["); pr_list(s, &x->args, ", "); put(s, "]"); break;
    case AST_ARRAY: put(s, "["); pr_list(s, &x->args, ", "); put(s, "]"); break;
    case AST_COMP:
        put(s, "[");
        pr(s, x->a);
        put(s, " for ");
        pr_list(s, &x->gens, ", ");
        put(s, "]");
        break;
    case AST_IFEXPR:
        put(s, "(if ");
        pr(s, x->cond);
        put(s, " then ");
        pr(s, x->a);
        put(s, " else ");
        pr(s, x->b);
        put(s, ")");
        break;
    case AST_CMP:
        put(s, "(");
        pr(s, x->a);
        put(s, " %s ", cmp_ops[x->op]);
        pr(s, x->b);
        put(s, ")");
        break;
    case AST_AND:
    case AST_OR:
        put(s, "(");
        pr(s, x->cond);
        put(s, x->kind == AST_AND ? " and " : " or ");
        pr(s, x->cond2);
        put(s, ")");
        break;
    case AST_NOT: put(s, "(not "); pr(s, x->cond); put(s, ")"); break;
    case AST_ASSIGN: put(s, "%s = ", x->name); pr(s, x->a); break;
    case AST_IF:
        put(s, "if ");
        pr(s, x->cond);
        put(s, " ");
        pr_block(s, &x->body);
        if (x->has_else) {
            put(s, " else ");
            pr_block(s, &x->els);
        }
        break;
    case AST_FOR:
        put(s, "for ");
        pr_list(s, &x->gens, ", ");
        put(s, " ");
        pr_block(s, &x->body);
        break;
    case AST_RETURN: put(s, "return "); pr(s, x->a); break;
    case AST_WHILE:
        put(s, "while ");
        pr(s, x->cond);
        if (x->a) {
            put(s, " %s ", x->name);
            pr(s, x->a);
        }
        put(s, " ");
        pr_block(s, &x->body);
        break;
    case AST_BREAK: put(s, "break"); break;
    case AST_CONTINUE: put(s, "continue"); break;
    case AST_GEN:
        put(s, "%s in ", x->name);
        pr(s, x->a);
        put(s, "..");
        pr(s, x->b);
        break;
    case AST_CONST: put(s, "const %s = ", x->name); pr(s, x->a); break;
    case AST_FN:
        put(s, "fn %s(", x->name);
        pr_list(s, &x->params, ", ");
        put(s, ")");
        if (x->ret) {
            put(s, " -> ");
            pr(s, x->ret);
        }
        if (x->a) {
            put(s, " = ");
            pr(s, x->a);
        } else {
            put(s, " ");
            pr_block(s, &x->body);
        }
        break;
    case AST_PARAM:
        put(s, "%s%s", x->is_data ? "data " : "", x->name);
        if (x->dims.n) {
            put(s, "[");
            pr_list(s, &x->dims, ", ");
            put(s, "]");
        }
        break;
    case AST_TYPE:
        put(s, "real");
        if (x->dims.n) {
            put(s, "[");
            pr_list(s, &x->dims, ", ");
            put(s, "]");
        }
        break;
    }
}

/* ---- running the parser ---- */

static Source src;
static Diag diag;
static AstFile file;

/* Parse n bytes of text (strlen when n is 0); returns parse_file's result. */
static int parse_n(const char *text, size_t n)
{
    src.path = "test.dx";
    src.text = text;
    src.len = n ? n : strlen(text);
    memset(&diag, 0, sizeof diag);
    diag.src = &src;
    diag.quiet = 1;
    return parse_file(arena, &diag, &src, &file);
}

static int parse(const char *text)
{
    return parse_n(text, 0);
}

/* The whole file printed, items one per line (malloc'ed). */
static char *print_file(void)
{
    Str s = {0};
    put(&s, "%s", "");
    for (int i = 0; i < file.items.n; i++) {
        if (i)
            put(&s, "\n");
        pr(&s, file.items.p[i]);
    }
    return s.p;
}

/* ---- precedence and expression forms: fn f(x) = EXPR ---- */

static const struct {
    const char *expr, *printed;
} exprs[] = {
    {"-x^2", "(-(x ^ 2))"},
    {"2^3^2", "(2 ^ (3 ^ 2))"},
    {"a+b*c", "(a + (b * c))"},
    {"a*b+c", "((a * b) + c)"},
    {"a@b*c", "((a @ b) * c)"},
    {"a*b@c/d", "(((a * b) @ c) / d)"},
    {"y^-2", "(y ^ (-2))"},
    {"y ^ -x ^ 2", "(y ^ (-(x ^ 2)))"},
    {"a-b-c", "((a - b) - c)"},
    {"a-b+c", "((a - b) + c)"},
    {"a/b/c", "((a / b) / c)"},
    {"-a*b", "((-a) * b)"},
    {"a*-b", "(a * (-b))"},
    {"a - -b", "(a - (-b))"},
    {"--a", "(-(-a))"},
    {"-x[i]^2", "(-(x[i] ^ 2))"},
    {"(a+b)*c", "((a + b) * c)"},
    {"((a))", "a"},
    {"x[i, j]", "x[i, j]"},
    {"x[i][j+1]", "x[i][(j + 1)]"},
    {"f(a, b)[0]", "f(a, b)[0]"},
    {"f()", "f()"},
    {"g(x^2, -y, h(z))", "g((x ^ 2), (-y), h(z))"},
    {"2.5 * .5 + 1e-3 + 6.02E23", "(((2.5 * 0.5) + 0.001) + 6.02e+23)"},
    {"[1, 2.5, x]", "[1, 2.5, x]"},
    {"[x]", "[x]"},
    {"[[1, 2], [3, 4]]", "[[1, 2], [3, 4]]"},
    {"[x[i] * 2 for i in 0..N]", "[(x[i] * 2) for i in 0..N]"},
    {"[A[i, j] for i in 0..M, j in 0..N]", "[A[i, j] for i in 0..M, j in 0..N]"},
    {"sum(x[i] for i in 0..N-1)", "sum(x[i] for i in 0..(N - 1))"},
    {"sum(L[i,j] * x[j] for j in 0..i+1)", "sum((L[i, j] * x[j]) for j in 0..(i + 1))"},
    {"max(sum(a[i,j] for j in 0..N) for i in 0..M)",
     "max(sum(a[i, j] for j in 0..N) for i in 0..M)"},
    {"prod(x[i] for i in 1..N, j in 0..2)", "prod(x[i] for i in 1..N, j in 0..2)"},
    {"sum(x)", "sum(x)"},
    {"max(a, b)", "max(a, b)"},
    {"if x > 0 then x else 0", "(if (x > 0) then x else 0)"},
    {"if x < 0 then -x else if x == 0 then 1 else x",
     "(if (x < 0) then (-x) else (if (x == 0) then 1 else x))"},
    {"if a <= b then 1 else 2", "(if (a <= b) then 1 else 2)"},
    {"if a >= b then 1 else 2", "(if (a >= b) then 1 else 2)"},
    {"if a != b then 1 else 2", "(if (a != b) then 1 else 2)"},
    {"if a > 0 and b > 0 or c < 1 then 1 else 2",
     "(if (((a > 0) and (b > 0)) or (c < 1)) then 1 else 2)"},
    {"if a > 0 or b > 0 and c < 1 then 1 else 2",
     "(if ((a > 0) or ((b > 0) and (c < 1))) then 1 else 2)"},
    {"if not x > 3 then 1 else 2", "(if (not (x > 3)) then 1 else 2)"},
    {"if not (x > 3) then 1 else 2", "(if (not (x > 3)) then 1 else 2)"},
    {"if not not x > 3 and y < 1 then 1 else 2",
     "(if ((not (not (x > 3))) and (y < 1)) then 1 else 2)"},
    {"if (a > 0 and b > 0) or c < 1 then 1 else 2",
     "(if (((a > 0) and (b > 0)) or (c < 1)) then 1 else 2)"},
    {"if a > 0 and (b > 0 or c < 1) then 1 else 2",
     "(if ((a > 0) and ((b > 0) or (c < 1))) then 1 else 2)"},
    {"if (x + 1) > 2 then 1 else 2", "(if ((x + 1) > 2) then 1 else 2)"},
    {"if ((x)) * 2 <= -(y) then 1 else 2", "(if ((x * 2) <= (-y)) then 1 else 2)"},
    {"if ((x > 1)) then 1 else 2", "(if (x > 1) then 1 else 2)"},
    {"if a + b*c == d^2 then 1 else 2", "(if ((a + (b * c)) == (d ^ 2)) then 1 else 2)"},
    {"if (if a > b then a else b) > 0 then 1 else 2",
     "(if ((if (a > b) then a else b) > 0) then 1 else 2)"},
    {"1 + (if c > 0 then 1 else 2)", "(1 + (if (c > 0) then 1 else 2))"},
    {"f(a,\n  b)", "f(a, b)"},
    {"[1,\n 2\n]", "[1, 2]"},
    {"(a\n + b)", "(a + b)"},
    {"a +\n  b * c", "(a + (b * c))"},
    {"a -\n b", "(a - b)"},
    {"-a *   # note\n\n   # more\n  b ^\n 2", "((-a) * (b ^ 2))"},
    {"if a > 0 and\n b < 1 or\n c == 2 then 1 else 2",
     "(if (((a > 0) and (b < 1)) or (c == 2)) then 1 else 2)"},
};

START_TEST(test_exprs)
{
    char *text = arena_printf(arena, "fn f(x) = %s", exprs[_i].expr);
    ck_assert_msg(parse(text) == 0, "%s: %s", exprs[_i].expr, diag.last);
    ck_assert_int_eq(file.items.n, 1);
    Str s = {0};
    pr(&s, file.items.p[0]->a);
    ck_assert_str_eq(s.p, exprs[_i].printed);
    free(s.p);
}
END_TEST

/* ---- whole files: definitions, statements, separators ---- */

static const struct {
    const char *src, *printed;
} files[] = {
    {"", ""},
    {"\n\n# nothing but comments\n;\n", ""},
    {"const N = 3\nconst H = 2 * N\nconst lr = 0.01   # a real constant\n",
     "const N = 3\nconst H = (2 * N)\nconst lr = 0.01"},
    {"fn square(x) = x * x", "fn square(x) = (x * x)"},
    {"fn loss(w[N], b, data x[N], data y) {\n"
     "    z = dot(w, x) + b\n"
     "    p = sigmoid(z)\n"
     "    return -(y * log(p) + (1 - y) * log(1 - p))\n"
     "}\n",
     "fn loss(w[N], b, data x[N], data y) { z = (dot(w, x) + b); p = sigmoid(z); "
     "return (-((y * log(p)) + ((1 - y) * log((1 - p))))) }"},
    {"fn f(a) { b = a * a; return b + 1 }", "fn f(a) { b = (a * a); return (b + 1) }"},
    {"fn f(a) {\n\n  b = a\n\n  ;; return b\n\n}", "fn f(a) { b = a; return b }"},
    {"fn f(x) -> real = x", "fn f(x) -> real = x"},
    {"fn f(x) -> real[N] { return x }", "fn f(x) -> real[N] { return x }"},
    {"fn f(data W[H, N], T[K, D, D]) -> real[M, N + 1] = W",
     "fn f(data W[H, N], T[K, D, D]) -> real[M, (N + 1)] = W"},
    {"fn f() = 1", "fn f() = 1"},
    {"fn f(x) { }", "fn f(x) { }"},
    {"fn f(x) {\n  if x > 0 {\n    y = 1\n  } else if x < -1 {\n    y = 2\n"
     "  } else {\n    y = 3\n  }\n  return y\n}",
     "fn f(x) { if (x > 0) { y = 1 } else { if (x < (-1)) { y = 2 } else { y = 3 } }; "
     "return y }"},
    {"fn f(x) {\n  if x > 0 { y = 1 }\n  if not (x > 0) {\n  }\n  return y\n}",
     "fn f(x) { if (x > 0) { y = 1 }; if (not (x > 0)) { }; return y }"},
    {"fn f(x) { if x > 0 { return 1 } else if x < 0 { return 2 } else if x == 0 { return 3 }\n"
     "return 4 }",
     "fn f(x) { if (x > 0) { return 1 } else { if (x < 0) { return 2 } else "
     "{ if (x == 0) { return 3 } } }; return 4 }"},
    {"fn f(x[N]) {\n  s = 0\n  for i in 0..N-1 { s = s + x[i] }\n  return s\n}",
     "fn f(x[N]) { s = 0; for i in 0..(N - 1) { s = (s + x[i]) }; return s }"},
    {"fn f(x) {\n  for t in 1..T {\n    for j in t..2*t {\n      x = x * j\n    }\n  }\n"
     "  return x\n}",
     "fn f(x) { for t in 1..T { for j in t..(2 * t) { x = (x * j) } }; return x }"},
    {"fn f(x) { return x }; fn g(x) = f(x)\nconst c = 1;",
     "fn f(x) { return x }\nfn g(x) = f(x)\nconst c = 1"},
    {"\n# lead\nconst a = 1 # trailing\n\n;;fn f(x) = x;\n# end", "const a = 1\nfn f(x) = x"},
    {"fn f(x) = x\r\nfn g(x) = x\r\n", "fn f(x) = x\nfn g(x) = x"},
    {"const N =\n  2 *\n  3\nfn f(a,\n  b) =\n  a @\n  b\nfn g(x) {\n  y = x +\n    1\n"
     "  return y\n}",
     "const N = (2 * 3)\nfn f(a, b) = (a @ b)\nfn g(x) { y = (x + 1); return y }"},
    {"fn f(x) {\n  while x > max(1, 2) max N + 1 { x = x - 1; if x < 3 { break } }\n  return x\n}",
     "fn f(x) { while (x > max(1, 2)) max (N + 1) { x = (x - 1); if (x < 3) { break } }; return x }"},
    {"fn f(x) { for i in 0..3 { if x > 1 { continue }; x = x + 1 }; while x > 0 { }; return x }",
     "fn f(x) { for i in 0..3 { if (x > 1) { continue }; x = (x + 1) }; while (x > 0) { }; return x }"},
};

START_TEST(test_files)
{
    ck_assert_msg(parse(files[_i].src) == 0, "%s: %s", files[_i].src, diag.last);
    char *s = print_file();
    ck_assert_str_eq(s, files[_i].printed);
    free(s);
}
END_TEST

/* ---- node fields and locations ---- */

START_TEST(test_nodes)
{
    ck_assert_int_eq(parse("fn f(x, data y[2]) -> real {\n"
                           "  z = a + b * c\n"
                           "  for i in 0..3 { z = g(z)[i] }\n"
                           "  if z > 1 { z = 2 } else if z < 0 { z = 3 }\n"
                           "  return 2.0\n"
                           "}\n"
                           "const N = 7\n"),
                     0);
    ck_assert_int_eq(file.items.n, 2);
    Ast *fn = file.items.p[0];
    ck_assert_int_eq(fn->kind, AST_FN);
    ck_assert_str_eq(fn->name, "f");
    ck_assert_int_eq(fn->name_loc.col, 4);
    ck_assert_ptr_null(fn->a);
    ck_assert_int_eq(fn->params.n, 2);
    ck_assert_int_eq(fn->params.p[0]->is_data, 0);
    ck_assert_int_eq(fn->params.p[1]->is_data, 1);
    ck_assert_int_eq(fn->params.p[1]->loc.col, 14);
    ck_assert_int_eq(fn->params.p[1]->dims.n, 1);
    ck_assert_int_eq(fn->ret->kind, AST_TYPE);
    ck_assert_int_eq(fn->ret->dims.n, 0);
    ck_assert_int_eq(fn->body.n, 4);

    Ast *as = fn->body.p[0];
    ck_assert_int_eq(as->kind, AST_ASSIGN);
    ck_assert_int_eq(as->loc.line, 2);
    ck_assert_int_eq(as->loc.col, 3);
    ck_assert_int_eq(as->name_loc.col, 3);
    ck_assert_int_eq(as->a->kind, AST_BIN);
    ck_assert_int_eq(as->a->op, '+');
    ck_assert_int_eq(as->a->loc.col, 9);      /* the '+' */
    ck_assert_int_eq(as->a->b->loc.col, 13);  /* the '*' */

    Ast *loop = fn->body.p[1];
    ck_assert_int_eq(loop->kind, AST_FOR);
    ck_assert_int_eq(loop->loc.col, 3);
    ck_assert_int_eq(loop->gens.n, 1);
    ck_assert_str_eq(loop->gens.p[0]->name, "i");
    ck_assert_int_eq(loop->gens.p[0]->a->is_int, 1);
    Ast *idx = loop->body.p[0]->a;
    ck_assert_int_eq(idx->kind, AST_INDEX);
    ck_assert_int_eq(idx->loc.col, 27);       /* the '[' */
    ck_assert_int_eq(idx->a->kind, AST_CALL);
    ck_assert_int_eq(idx->a->loc.col, 23);    /* the name g */

    Ast *cond = fn->body.p[2];
    ck_assert_int_eq(cond->kind, AST_IF);
    ck_assert_int_eq(cond->loc.line, 4);
    ck_assert_int_eq(cond->cond->kind, AST_CMP);
    ck_assert_int_eq(cond->cond->op, CMP_GT);
    ck_assert_int_eq(cond->cond->loc.col, 8);
    ck_assert_int_eq(cond->has_else, 1);
    ck_assert_int_eq(cond->els.n, 1);
    ck_assert_int_eq(cond->els.p[0]->kind, AST_IF);
    ck_assert_int_eq(cond->els.p[0]->loc.col, 27);
    ck_assert_int_eq(cond->els.p[0]->has_else, 0);

    Ast *ret = fn->body.p[3];
    ck_assert_int_eq(ret->kind, AST_RETURN);
    ck_assert_int_eq(ret->loc.line, 5);
    ck_assert_int_eq(ret->a->kind, AST_NUM);
    ck_assert_int_eq(ret->a->is_int, 0);
    ck_assert_int_eq(ret->a->loc.col, 10);

    Ast *c = file.items.p[1];
    ck_assert_int_eq(c->kind, AST_CONST);
    ck_assert_int_eq(c->name_loc.line, 7);
    ck_assert_int_eq(c->name_loc.col, 7);
    ck_assert(c->a->num == 7 && c->a->is_int);
}
END_TEST

START_TEST(test_reduce_nodes)
{
    ck_assert_int_eq(parse("fn f(x) = sum(x[i] for i in 0..3) + [i for i in 0..2, j in 1..2]"), 0);
    Ast *e = file.items.p[0]->a;
    ck_assert_int_eq(e->a->kind, AST_REDUCE);
    ck_assert_str_eq(e->a->name, "sum");
    ck_assert_int_eq(e->a->loc.col, 11);
    ck_assert_int_eq(e->a->gens.n, 1);
    ck_assert_int_eq(e->a->gens.p[0]->kind, AST_GEN);
    ck_assert_int_eq(e->b->kind, AST_COMP);
    ck_assert_int_eq(e->b->loc.col, 37);
    ck_assert_int_eq(e->b->gens.n, 2);
    ck_assert_str_eq(e->b->gens.p[1]->name, "j");
}
END_TEST

/* ---- syntax errors: one message, at the offending token ---- */

static const struct {
    const char *src, *msg;
    int line, col;
} errors[] = {
    {"fn f(x = x", "unexpected '=', expected ')' or ','", 1, 8},
    {"fn f(x) = (x + 1\n", "unexpected end of file, expected ')'", 2, 1},
    {"fn f(x) = (x + 1\nfn g(y) = y", "unexpected 'fn', expected ')'", 2, 1},
    {"fn f(a) {\n  x = a +\n}", "unexpected '}', expected expression", 3, 1},
    {"fn f(x) {\n  y = \n}", "unexpected '}', expected expression", 3, 1},
    {"fn f(x) {\n  y = -x -\n  # c\n\n}", "unexpected '}', expected expression", 5, 1},
    {"fn f(x) {\n  if not\n  x > 0 { }\n}", "unexpected end of line, expected expression", 2, 9},
    {"fn f(x) = x *", "unexpected end of file, expected expression", 1, 14},
    {"fn f(x) = x *\n  # c\n", "unexpected end of file, expected expression; the last line ends "
     "with an operator or a comma, so it continues past the end of the file", 3, 1},
    {"fn f(x) {\n  y = x +\n  z = 1\n}", "unexpected '=', expected end of line, ';' or '}'", 3, 5},
    {"fn f(x) {\n  if x > 0 {\n    return 1\n  }\n  else {\n    return 2\n  }\n}",
     "unexpected 'else'; 'else' stands on the line of the '}' before it", 5, 3},
    {"fn f(x) {\n  if x > 0\n  {\n  }\n}", "unexpected end of line, expected '{'", 2, 11},
    {"fn f(x) { for i in 0..N\n { } }", "unexpected end of line, expected '{'", 1, 24},
    {"fn f(x) { return x }}", "unexpected '}', expected end of line or ';'", 1, 21},
    {"fn f(x) {\n  return x", "unexpected end of file, expected end of line, ';' or '}'", 2, 11},
    {"fn f(x) {\n  return x )\n}", "unexpected ')', expected end of line, ';' or '}'", 2, 12},
    {"fn f(x) { y = 1 z = 2 }", "unexpected identifier 'z', expected end of line, ';' or '}'",
     1, 17},
    {"fn f(x) = x y", "unexpected identifier 'y', expected end of line or ';'", 1, 13},
    {"fn f(x) = x 2", "unexpected number '2', expected end of line or ';'", 1, 13},
    {"fn (x) = x", "unexpected '(', expected identifier", 1, 4},
    {"fn f(x) =", "unexpected end of file, expected expression", 1, 10},
    {"fn f(x)\n= x", "unexpected end of line, expected '->', '=' or '{'", 1, 8},
    {"const = 3", "unexpected '=', expected identifier", 1, 7},
    {"const N 3", "unexpected number '3', expected '='", 1, 9},
    {"x = 1", "unexpected identifier 'x', expected end of line, 'fn', 'const' or ';'", 1, 1},
    {"fn f(x) = a < b", "unexpected '<', expected end of line or ';'", 1, 13},
    {"fn f(x) = if x then 1 else 2", "unexpected 'then'", 1, 16},
    {"fn f(x) = if x < 1 < 2 then 1 else 2", "unexpected '<', expected 'then'", 1, 20},
    {"fn f(x) = if x < 1 then 1", "unexpected end of file, expected 'else'", 1, 26},
    {"fn f(x) = (a > b)", "unexpected '>', expected ')'", 1, 14},
    {"fn f(x) = []", "unexpected ']', expected expression", 1, 12},
    {"fn f(x) = f(,)", "unexpected ',', expected expression or ')'", 1, 13},
    {"fn f(x) = sum(x for i in 0..)", "unexpected ')', expected expression", 1, 29},
    {"fn f(x) = sum(x for i 0..3)", "unexpected number '0', expected 'in'", 1, 23},
    {"fn f(x) = [x for i in 0..3", "unexpected end of file, expected ']' or ','", 1, 27},
    {"fn f(x) = x ^", "unexpected end of file, expected expression", 1, 14},
    {"fn f(x) = x..3", "unexpected '..', expected end of line or ';'", 1, 12},
    {"fn f(x) -> x = x", "unexpected identifier 'x', expected 'real'", 1, 12},
    {"fn f(x) { return }", "unexpected '}', expected expression", 1, 18},
    {"fn f(x) { x + 1 }", "unexpected '+', expected '='", 1, 13},
    {"fn f(x) { if x > 0 { return 1 } else return 2 }",
     "unexpected 'return', expected 'if' or '{'", 1, 38},
    {"fn f(data) = 1", "unexpected ')', expected identifier", 1, 10},
    {"fn f(x) = not x > 0", "unexpected 'not', expected expression", 1, 11},
    {"fn f(x) = x $ 1", "unexpected character '$'", 1, 13},
    {"fn f(x) = 1e400 + )", "number '1e400' is too large for a double", 1, 11},
    {"fn f(x) = x\0", "unexpected byte 0x00", 1, 12},
    /* habits of other languages: the message says what dx writes */
    {"fn f(x) = x ** 2", "'**' is not an operator in dx; write x ^ y for a power", 1, 13},
    {"fn f(x) = if x > 0 && x < 1 then x else 0",
     "'&&' is not an operator in dx; write 'and'", 1, 20},
    {"def f(x):\n    return x", "unexpected identifier 'def'; dx defines a function with 'fn'", 1, 1},
    {"fn f(x) = x\nfunction g(x) { return x }",
     "unexpected identifier 'function'; dx defines a function with 'fn'", 2, 1},
    {"fn f(x) {\n  if x > 0 {\n    y = 1\n  } elif x < 0 {\n    y = 2\n  }\n  return y\n}",
     "unexpected identifier 'elif'; dx writes 'else if'", 4, 5},
    {"fn f(x) {\n  if x > 0 {\n    y = 1\n  }\n  elif x < 0 {\n    y = 2\n  }\n  return y\n}",
     "unexpected identifier 'x', expected '='; dx writes 'else if', on the line of the '}' before it",
     5, 8},
    {"fn f(x) {\n  if x = 0 {\n    return 1\n  }\n  return x\n}",
     "unexpected '='; to compare, write '=='", 2, 8},
    {"fn f(x) = if x = 0 then 1 else x", "unexpected '='; to compare, write '=='", 1, 16},
    {"fn f(x) {\n  y = x\n  y += 1\n  return y\n}",
     "unexpected '+', expected '='; dx has no '+=': write y = y + ...", 3, 5},
    {"fn f(x) { total = x; total *= 2; return total }",
     "unexpected '*', expected '='; dx has no '*=': write total = total * ...", 1, 28},
    {"fn f(x) {\n  let y = x\n  return y\n}",
     "unexpected identifier 'y', expected '='; dx needs no 'let': write 'y = ...'", 2, 7},
    {"fn f(x) {\n  if x > 0:\n    return x\n}",
     "unexpected character ':'; dx puts a block in braces: if x > 0 { ... }", 2, 11},
    /* Python's range() in a for loop, a comprehension or a reduction */
    {"fn f(x) {\n  for i in range(10) {\n    x = x * 2\n  }\n  return x\n}",
     "dx writes ranges as a..b: use 0..10", 2, 12},
    {"fn f(x) {\n  for i in range(10):\n    x = x * 2\n  return x\n}",
     "dx writes ranges as a..b: use 0..10", 2, 12},
    {"fn f(x) {\n  for i in range( 2 , N + 1 )  # all\n  {", "dx writes ranges as a..b: use 2..N + 1",
     2, 12},
    {"fn f(x[3]) = [x[i] for i in range(3)]", "dx writes ranges as a..b: use 0..3", 1, 29},
    {"fn f(x[3]) = sum(x[i] for i in range(N))", "dx writes ranges as a..b: use 0..N", 1, 32},
    {"fn f(x[3, 3]) = [x[i, j] for i in 0..3, j in range(1, 3)]",
     "dx writes ranges as a..b: use 1..3", 1, 46},
    {"fn f(x[3]) = sum(x[i] for i in range(len(x)))",
     "dx writes ranges as a..b (a, a + 1, ..., b - 1), not with range()", 1, 32},
    {"fn f(x[3]) = sum(x[i] for i in range(0, 3, 1))",
     "dx writes ranges as a..b (a, a + 1, ..., b - 1), not with range()", 1, 32},
    /* a name range elsewhere is just a name */
    {"fn f(x[3]) = sum(x[i] for i in 0..range(3) 1)",
     "unexpected number '1', expected ')' or ','", 1, 44},
    {"fn f(x[3]) = sum(x[i] for i in g range(3))",
     "unexpected identifier 'range', expected '..'", 1, 34},
};

START_TEST(test_errors)
{
    size_t n = strlen(errors[_i].src);
    if (strcmp(errors[_i].src, "fn f(x) = x") == 0)
        n++; /* the NUL byte case */
    ck_assert_int_ne(parse_n(errors[_i].src, n), 0);
    ck_assert_int_eq(diag.nerrors, 1);
    ck_assert_str_eq(diag.last, errors[_i].msg);
    ck_assert_int_eq(diag.last_loc.line, errors[_i].line);
    ck_assert_int_eq(diag.last_loc.col, errors[_i].col);
}
END_TEST

/* ---- after a syntax error, a note at a bracket that is never closed ---- */

static const struct {
    const char *src, *msg;
    int line, col;    /* of the error */
    const char *note; /* NULL: no note */
    int nline, ncol;
} unclosed[] = {
    {"fn f(x) = (x + 1\n", "unexpected end of file, expected ')'", 2, 1,
     "'(' opened here has no matching ')'", 1, 11},
    {"fn f(x) = (x + 1\nfn g(y) = y", "unexpected 'fn', expected ')'", 2, 1,
     "'(' opened here has no matching ')'", 1, 11},
    {"fn f(x) = g((x + 1)\n\nfn g(y) = y\n", "unexpected 'fn', expected 'for', ')' or ','", 3, 1,
     "'(' opened here has no matching ')'", 1, 12},
    {"fn f(x[3]) = [x[0], x[1]\n", "unexpected end of file, expected ']' or ','", 2, 1,
     "'[' opened here has no matching ']'", 1, 14},
    {"fn f(x) {\n  return x\n", "unexpected end of file", 3, 1,
     "'{' opened here has no matching '}'", 1, 9},
    {"fn f(x) {\n  y = (x + 1\n  return y\n}\n", "unexpected 'return', expected ')'", 3, 3,
     "'(' opened here has no matching ')'", 2, 7},
    /* mismatched closers: the note is at the bracket they fail to close */
    {"fn f(x) = (x]", "unexpected ']', expected ')'", 1, 13, "'(' opened here has no matching ')'",
     1, 11},
    {"fn f(x) {\n  y = [f(x]\n  return y\n}\n", "unexpected ']', expected 'for', ')' or ','", 2, 11,
     "'(' opened here has no matching ')'", 2, 9},
    {"fn f(x) {\n  y = (x + 1 }\n", "unexpected '}', expected ')'", 2, 14,
     "'(' opened here has no matching ')'", 2, 7},
    /* comments do not count */
    {"fn f(x) = (x # )\n", "unexpected end of file, expected ')'", 2, 1,
     "'(' opened here has no matching ')'", 1, 11},
    /* brackets that are closed, or opened after the error, get no note */
    {"fn f(x) = (x + * 1)", "unexpected '*', expected expression", 1, 16, NULL, 0, 0},
    {"fn f(x) { return x }}", "unexpected '}', expected end of line or ';'", 1, 21, NULL, 0, 0},
    {"fn f(x) {\n  y = x +\n  return (y\n}", "unexpected 'return', expected expression", 3, 3,
     NULL, 0, 0},
    {"fn f(x) = x $ (", "unexpected character '$'", 1, 13, NULL, 0, 0},
};

START_TEST(test_unclosed)
{
    ck_assert_int_ne(parse(unclosed[_i].src), 0);
    ck_assert_int_eq(diag.nerrors, 1);
    ck_assert_str_eq(diag.last, unclosed[_i].msg);
    ck_assert_int_eq(diag.last_loc.line, unclosed[_i].line);
    ck_assert_int_eq(diag.last_loc.col, unclosed[_i].col);
    if (!unclosed[_i].note) {
        ck_assert_int_eq(diag.nnotes, 0);
        return;
    }
    ck_assert_int_eq(diag.nnotes, 1);
    ck_assert_str_eq(diag.last_note, unclosed[_i].note);
    ck_assert_int_eq(diag.last_note_loc.line, unclosed[_i].nline);
    ck_assert_int_eq(diag.last_note_loc.col, unclosed[_i].ncol);
}
END_TEST

/* ---- hostile input ---- */

static char *repeat(const char *head, const char *unit, int times, const char *tail)
{
    size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
    char *s = malloc(h + u * (size_t)times + t + 1);
    memcpy(s, head, h);
    for (int i = 0; i < times; i++)
        memcpy(s + h + u * (size_t)i, unit, u);
    memcpy(s + h + u * (size_t)times, tail, t + 1);
    return s;
}

START_TEST(test_deep_parens)
{
    char *s = repeat("fn f(x) = ", "(", 100000, "x");
    ck_assert_int_ne(parse(s), 0);
    ck_assert_int_eq(diag.nerrors, 1);
    ck_assert_str_eq(diag.last, "too many nested brackets (limit 256)");
    ck_assert_int_eq(diag.last_loc.col, 11 + 256);
    free(s);
    /* 256 deep is within the limit */
    s = repeat("fn f(x) = ", "(", 256, "x");
    char *t = repeat(s, ")", 256, "");
    ck_assert_msg(parse(t) == 0, "%s", diag.last);
    free(s);
    free(t);
}
END_TEST

START_TEST(test_deep_unary)
{
    char *s = repeat("fn f(x) = ", "-", 100000, "x");
    ck_assert_int_ne(parse(s), 0);
    ck_assert_int_eq(diag.nerrors, 1);
    ck_assert_str_eq(diag.last, "expression is nested too deeply");
    free(s);
    s = repeat("fn f(x) = x", "^x", 100000, "");
    ck_assert_int_ne(parse(s), 0);
    ck_assert_str_eq(diag.last, "expression is nested too deeply");
    free(s);
    s = repeat("fn f(x) { ", "if x > 0 { ", 50000, "");
    ck_assert_int_ne(parse(s), 0);
    ck_assert_str_eq(diag.last, "expression is nested too deeply");
    free(s);
}
END_TEST

START_TEST(test_long_sum)
{
    enum { TERMS = 50000 };
    char *s = repeat("fn f(x) = x", " + x", TERMS - 1, "\n");
    ck_assert_msg(parse(s) == 0, "%s", diag.last);
    int depth = 0;
    for (Ast *e = file.items.p[0]->a; e->kind == AST_BIN; e = e->a)
        depth++;
    ck_assert_int_eq(depth, TERMS - 1);
    free(s);
}
END_TEST

START_TEST(test_long_identifier)
{
    enum { N = 1 << 20 };
    char *s = repeat("fn ", "v", N, "(x) = x\n");
    ck_assert_msg(parse(s) == 0, "%s", diag.last);
    ck_assert_int_eq(strlen(file.items.p[0]->name), N);
    free(s);
    /* and a long name in a message is shortened */
    s = repeat("fn f(x) = x ", "w", N, "");
    ck_assert_int_ne(parse(s), 0);
    ck_assert(strlen(diag.last) < 200);
    ck_assert(strstr(diag.last, "unexpected identifier 'www") == diag.last);
    free(s);
}
END_TEST

/* Random byte strings and random token soups: the parser must return
 * with either a tree and no error or exactly one error. */
static unsigned rnd_state;

static unsigned rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) & 0x7fff;
}

START_TEST(test_garbage)
{
    static const char *const pieces[] = {
        "fn ", "const ", "data ", "real", "return ", "for ", " in ", "if ", " then ",
        " else ", " and ", " or ", "not ", "x", "f", "sum", "1", "2.5", ".5", "+", "-",
        "*", "/", "^", "@", "=", "==", "!=", "<", "<=", ">", ">=", "..", "->", "(", ")",
        "[", "]", "{", "}", ",", ";", "\n", " ", "#c\n", "\xc3", "$", "0..N",
    };
    enum { NPIECES = sizeof pieces / sizeof pieces[0] };
    char buf[400];
    rnd_state = 12345;
    for (int round = 0; round < 6000; round++) {
        size_t n = 0;
        int len = (int)(rnd() % 60);
        for (int k = 0; k < len; k++) {
            const char *p = pieces[rnd() % NPIECES];
            if (round % 3 == 0)
                buf[n++] = (char)(rnd() & 0xff); /* raw bytes */
            else
                for (; *p && n < sizeof buf - 1; p++)
                    buf[n++] = *p;
        }
        buf[n] = 0;
        int rc = parse_n(buf, n);
        if (n == 0)
            ck_assert_int_eq(rc, 0);
        ck_assert_msg(diag.nerrors == (rc != 0), "round %d", round);
        ck_assert_msg(strstr(diag.last, "YY") == NULL && strstr(diag.last, "NEWLINE") == NULL
                          && strstr(diag.last, "$end") == NULL
                          && strstr(diag.last, "invalid token") == NULL,
                      "round %d: %s", round, diag.last);
    }
}
END_TEST

Suite *suite_parser(void);

Suite *suite_parser(void)
{
    Suite *s = suite_create("parser");
    TCase *tc = tcase_create("grammar");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_exprs, 0, (int)(sizeof exprs / sizeof exprs[0]));
    tcase_add_loop_test(tc, test_files, 0, (int)(sizeof files / sizeof files[0]));
    tcase_add_test(tc, test_nodes);
    tcase_add_test(tc, test_reduce_nodes);
    tcase_add_loop_test(tc, test_errors, 0, (int)(sizeof errors / sizeof errors[0]));
    tcase_add_loop_test(tc, test_unclosed, 0, (int)(sizeof unclosed / sizeof unclosed[0]));
    suite_add_tcase(s, tc);

    TCase *hostile = tcase_create("hostile");
    tcase_add_checked_fixture(hostile, setup, teardown);
    tcase_set_timeout(hostile, 60);
    tcase_add_test(hostile, test_deep_parens);
    tcase_add_test(hostile, test_deep_unary);
    tcase_add_test(hostile, test_long_sum);
    tcase_add_test(hostile, test_long_identifier);
    tcase_add_test(hostile, test_garbage);
    suite_add_tcase(s, hostile);
    return s;
}
