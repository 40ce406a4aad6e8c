/*
 * cexplain.c - the chain-rule comments of --explain (cg_explain_text).
 *
 * cbody.c gives the facts of one statement a derivative rule made (the op
 * of the rule, which operand, the C text of the result and operands, the
 * adjoints involved); this file turns them into one sentence from a table
 * of symbolic local derivatives, one row per op of ops.def with a RULE:
 *
 *   line 3: p = sigmoid(z); dp/dz = p*(1 - p), so z_bar += p_bar * p*(1 - p)
 *
 * The table writes $a, $b, $c for the operands, $y for the result, $n for
 * POWI's exponent and $M for the power one below it.  Operands that are
 * not plain names are parenthesised.  Whatever the names, the text is
 * safe inside a C comment: printable ASCII, never a comment delimiter.
 * Only comments change: the code is the same with and without --explain.
 */
#include "cgen.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Op op;
    const char *form;  /* the primal value */
    const char *d[3];  /* d form / d operand k (NULL: not differentiated) */
} Rule;

static const Rule rules[] = {
    {OP_ADD, "$a + $b", {"1", "1", NULL}},
    {OP_SUB, "$a - $b", {"1", "-1", NULL}},
    {OP_MUL, "$a * $b", {"$b", "$a", NULL}},
    {OP_DIV, "$a / $b", {"1/$b", "-$a/$b^2", NULL}},
    {OP_NEG, "-$a", {"-1", NULL, NULL}},
    {OP_POW, "$a^$b", {"$b*$a^($b - 1)", "log($a)*$a^$b", NULL}},
    {OP_POWI, "$a^$n", {"$n*$M", NULL, NULL}},
    {OP_SELECT, "$a ? $b : $c", {NULL, "($a ? 1 : 0)", "($a ? 0 : 1)"}},
    {OP_EXP, "exp($a)", {"exp($a)", NULL, NULL}},
    {OP_LOG, "log($a)", {"1/$a", NULL, NULL}},
    {OP_LOG1P, "log1p($a)", {"1/(1 + $a)", NULL, NULL}},
    {OP_EXPM1, "expm1($a)", {"exp($a)", NULL, NULL}},
    {OP_SQRT, "sqrt($a)", {"1/(2*sqrt($a))", NULL, NULL}},
    {OP_SQRTZ, "sqrt($a)", {"1/(2*sqrt($a)), 0 at 0", NULL, NULL}},
    {OP_SIN, "sin($a)", {"cos($a)", NULL, NULL}},
    {OP_COS, "cos($a)", {"-sin($a)", NULL, NULL}},
    {OP_TAN, "tan($a)", {"1 + tan($a)^2", NULL, NULL}},
    {OP_ASIN, "asin($a)", {"1/sqrt(1 - $a^2)", NULL, NULL}},
    {OP_ACOS, "acos($a)", {"-1/sqrt(1 - $a^2)", NULL, NULL}},
    {OP_ATAN, "atan($a)", {"1/(1 + $a^2)", NULL, NULL}},
    {OP_SINH, "sinh($a)", {"cosh($a)", NULL, NULL}},
    {OP_COSH, "cosh($a)", {"sinh($a)", NULL, NULL}},
    {OP_TANH, "tanh($a)", {"1 - $y^2", NULL, NULL}},
    {OP_ERF, "erf($a)", {"2/sqrt(pi)*exp(-$a^2)", NULL, NULL}},
    {OP_ABS, "abs($a)", {"sign($a)", NULL, NULL}},
    {OP_SIGMOID, "sigmoid($a)", {"$y*(1 - $y)", NULL, NULL}},
    {OP_DSIGMOID, "sigmoid'($a)", {"$y*(1 - 2*sigmoid($a))", NULL, NULL}},
    {OP_RELU, "relu($a)", {"($a > 0 ? 1 : 0)", NULL, NULL}},
    {OP_SOFTPLUS, "softplus($a)", {"sigmoid($a)", NULL, NULL}},
    {OP_LGAMMA, "lgamma($a)", {"digamma($a)", NULL, NULL}},
    {OP_DIGAMMA, "digamma($a)", {"trigamma($a)", NULL, NULL}},
    {OP_TRIGAMMA, "trigamma($a)", {"tetragamma($a)", NULL, NULL}},
    {OP_ATAN2, "atan2($a, $b)", {"$b/($a^2 + $b^2)", "-$a/($a^2 + $b^2)", NULL}},
    {OP_HYPOT, "hypot($a, $b)", {"$a/$y", "$b/$y", NULL}},
    {OP_MIN, "min($a, $b)", {"($a < $b ? 1 : $a == $b ? 0.5 : 0)", "($b < $a ? 1 : $a == $b ? 0.5 : 0)", NULL}},
    {OP_MAX, "max($a, $b)", {"($a > $b ? 1 : $a == $b ? 0.5 : 0)", "($b > $a ? 1 : $a == $b ? 0.5 : 0)", NULL}},
    /* the strong-zero product and quotient of derivative code */
    {OP_MULZ, "$a * $b", {"$b", "$a", NULL}},
    {OP_DIVZ, "$a / $b", {"1/$b", "-$a/$b^2", NULL}},
};

static const Rule *find_rule(Op op)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].op == op)
            return &rules[i];
    return NULL;
}

/* Is s a plain name or number, maybe an element (x[i, j + 1]) or a call
 * (tanh(s + j)): needs no parentheses? */
static int plain(const char *s)
{
    int depth = 0;
    for (; *s; s++) {
        int open = *s == '[' || *s == '(', close = *s == ']' || *s == ')';
        depth += open - close;
        if (!depth && !close && !isalnum((unsigned char)*s) && *s != '_' && *s != '.')
            return 0;
    }
    return 1;
}

static const char *paren(Arena *A, const char *s)
{
    return plain(s) ? s : arena_printf(A, "(%s)", s);
}

/* s as the d of a derivative writes it: a name or element bare (dx,
 * dw[j]), anything else parenthesised (d(tanh(z))). */
static const char *dparen(Arena *A, const char *s)
{
    int call = 0;
    for (const char *p = s; *p && *p != '['; p++)
        call |= *p == '(';
    return plain(s) && !call ? s : arena_printf(A, "(%s)", s);
}

/* tmpl with its $ placeholders replaced (operands parenthesised). */
static void expand(Str *s, Arena *A, const char *tmpl, const CgExplain *e)
{
    for (const char *p = tmpl; *p; p++) {
        if (*p != '$' || !p[1]) {
            cg_put(s, p, 1);
            continue;
        }
        /* an operand alone between a call's parentheses or commas needs none of its own */
        int alone = p > tmpl && (p[-1] == '(' || p[-1] == ' ') && (p[2] == ')' || p[2] == ',') &&
                    (p[-1] == '(' || (p - 1 > tmpl && p[-2] == ','));
        p++;
        if (*p >= 'a' && *p <= 'c' && alone)
            cg_puts(s, e->arg[*p - 'a'] ? e->arg[*p - 'a'] : "?");
        else if (*p >= 'a' && *p <= 'c')
            cg_puts(s, paren(A, e->arg[*p - 'a'] ? e->arg[*p - 'a'] : "?"));
        else if (*p == 'y')
            cg_puts(s, paren(A, e->y));
        else if (*p == 'n')
            cg_putf(s, "%d", e->n);
        else if (*p == 'M' && e->n == 2)
            cg_puts(s, paren(A, e->arg[0]));
        else if (*p == 'M')
            cg_putf(s, "%s^%d", paren(A, e->arg[0]), e->n - 1);
    }
}

char *cg_comment_safe(Arena *A, const char *s)
{
    size_t n = strlen(s);
    char *t = arena_alloc(A, 2 * n + 1), *q = t;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        *q++ = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
        if ((ch == '*' && s[i + 1] == '/') || (ch == '/' && s[i + 1] == '*'))
            *q++ = ' ';
    }
    *q = 0;
    return t;
}

const char *cg_partial_text(Arena *A, Op op, int k, const char *const arg[3], const char *y, int n)
{
    const Rule *r = find_rule(op);
    if (!r || k < 0 || k > 2 || !r->d[k])
        return NULL;
    CgExplain e = {op, k, n, 0, y, {arg[0], arg[1], arg[2]}, NULL, NULL, NULL};
    Str form = {0}, s = {0};
    if (!e.y) {
        expand(&form, A, r->form, &e);
        e.y = form.p;
    }
    expand(&s, A, r->d[k], &e);
    const char *t = arena_printf(A, "%s", s.p);
    free(s.p);
    free(form.p);
    return t;
}

const char *cg_explain_text(Arena *A, const CgExplain *e)
{
    const Rule *r = find_rule(e->op);
    if (!r || e->k < 0 || e->k > 2 || !r->d[e->k] || !e->arg[e->k])
        return NULL;
    Str s = {0}, form = {0};
    if (e->form)
        cg_puts(&form, e->form);
    else
        expand(&form, A, r->form, e);
    CgExplain named = *e;
    if (!named.y)
        named.y = form.p;
    const char *y = named.y, *x = e->arg[e->k];
    if (e->y)
        cg_putf(&s, "line %d: %s = %s; d%s/d%s = ", e->line, y, form.p, dparen(A, y), dparen(A, x));
    else
        cg_putf(&s, "line %d: d%s/d%s = ", e->line, dparen(A, y), dparen(A, x));
    size_t at = s.n;
    expand(&s, A, r->d[e->k], &named);
    const char *d = arena_printf(A, "%s", s.p + at);
    int depth = 0, spaced = 0;
    for (const char *q = d; *q; q++) {
        depth += *q == '(' || *q == '[' ? 1 : *q == ')' || *q == ']' ? -1 : 0;
        spaced |= *q == ' ' && depth == 0;
    }
    if (spaced)
        d = arena_printf(A, "(%s)", d);
    const char *ybar = e->ybar ? e->ybar : arena_printf(A, "adj(%s)", form.p);
    if (e->xbar && !strcmp(d, "1"))
        cg_putf(&s, ", so %s += %s", e->xbar, ybar);
    else if (e->xbar && !strcmp(d, "-1"))
        cg_putf(&s, ", so %s -= %s", e->xbar, ybar);
    else if (e->xbar)
        cg_putf(&s, ", so %s += %s * %s", e->xbar, ybar, d);
    char *out = cg_comment_safe(A, s.p);
    free(s.p);
    free(form.p);
    return out;
}
