/*
 * cgen.c - C99 from the IR.
 *
 * The generated file is a product people read and ship, so this file is
 * mostly about presentation:
 *
 *  - An unnamed value used once, in its own region, is written inline in
 *    its user's expression; a value with a source name (z, p_bar) gets a
 *    statement of its own, so the code reads like the model.
 *  - Adjoint accumulations (an ADD marked acc whose left operand is the
 *    running sum) become `x_bar += ...` on one variable.
 *  - A gradient output computed at the top level and used nowhere else is
 *    accumulated in place through its pointer (`*x_bar = ...`).
 *  - Every statement ends with a comment naming the source line it comes
 *    from and that line's text.
 *  - Names come from the source, made unique against each other, C
 *    keywords, the C library and the file's function names.
 *
 * Nothing depends on addresses or hash order: output is byte-identical
 * from run to run.
 */
#include "codegen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- strings and names ---------------- */

typedef struct {
    char *p;
    size_t n, cap;
} Str;

static void reserve(Str *s, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        size_t c = s->cap ? s->cap : 256;
        while (s->n + n + 1 > c)
            c *= 2;
        s->p = realloc(s->p, c);
        if (!s->p)
            BUG("out of memory");
        s->cap = c;
    }
}

static void put(Str *s, const char *t, size_t n)
{
    reserve(s, n);
    memcpy(s->p + s->n, t, n);
    s->n += n;
    s->p[s->n] = 0;
}

static void puts_(Str *s, const char *t)
{
    put(s, t, strlen(t));
}

static void putf(Str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(Str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    reserve(s, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(s->p + s->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->n += (size_t)n;
}

/* A set of names in use, open addressing. */
typedef struct {
    const char **slot;
    int cap, n;
    Arena *a;
} Names;

static int names_has(const Names *ns, const char *s)
{
    if (!ns->cap)
        return 0;
    for (unsigned h = dx_hash(s) & (unsigned)(ns->cap - 1); ns->slot[h];
         h = (h + 1) & (unsigned)(ns->cap - 1))
        if (!strcmp(ns->slot[h], s))
            return 1;
    return 0;
}

static void names_add(Names *ns, const char *s)
{
    if (2 * (ns->n + 1) > ns->cap) {
        const char **old = ns->slot;
        int oc = ns->cap;
        ns->cap = oc ? 2 * oc : 64;
        ns->slot = arena_alloc(ns->a, sizeof(char *) * (size_t)ns->cap);
        ns->n = 0;
        for (int i = 0; i < oc; i++)
            if (old[i])
                names_add(ns, old[i]);
    }
    unsigned h = dx_hash(s) & (unsigned)(ns->cap - 1);
    while (ns->slot[h])
        h = (h + 1) & (unsigned)(ns->cap - 1);
    ns->slot[h] = s;
    ns->n++;
}

/* ---------------- the generator's state ---------------- */

enum { H_SIGMOID, H_SOFTPLUS, H_COUNT };

typedef struct {
    const Program *p;
    const CgOpts *o;
    Names globals;             /* entry points and helpers */
    const char *helper[H_COUNT];
    int helper_used[H_COUNT];
    /* per function */
    const Fn *f;
    Names locals;
    size_t *line_start;        /* offsets of the source's lines */
    int nlines;
    const char **suffix_key;   /* next_suffix's table, per function */
    int *suffix_val, suffix_cap, nsuffix;
    int *uses;
    const Region **use_reg;
    unsigned char *force;      /* must be a variable: used twice in one expression */
    unsigned char *hoist;      /* declared at function scope */
    Ref *var;                  /* the value whose variable v is stored in */
    const char **cname;        /* variable (by class representative) */
    Str body;
    int indent;
    int backward_started;
    int tmp;
} Cg;

static const char *real_t(const Cg *c)
{
    return c->o->use_float ? "float" : "double";
}

/* The next suffix to try for a base name (so that naming n versions of
 * one variable costs O(n), not O(n^2)). */
static int *next_suffix(Cg *c, const char *base)
{
    if (2 * (c->nsuffix + 1) > c->suffix_cap) {
        const char **ok = c->suffix_key;
        int *ov = c->suffix_val, oc = c->suffix_cap;
        c->suffix_cap = oc ? 2 * oc : 64;
        c->suffix_key = arena_alloc(c->p->arena, sizeof(char *) * (size_t)c->suffix_cap);
        c->suffix_val = arena_alloc(c->p->arena, sizeof(int) * (size_t)c->suffix_cap);
        c->nsuffix = 0;
        for (int i = 0; i < oc; i++)
            if (ok[i])
                *next_suffix(c, ok[i]) = ov[i];
    }
    unsigned h = dx_hash(base) & (unsigned)(c->suffix_cap - 1);
    while (c->suffix_key[h] && strcmp(c->suffix_key[h], base))
        h = (h + 1) & (unsigned)(c->suffix_cap - 1);
    if (!c->suffix_key[h]) {
        c->suffix_key[h] = base;
        c->suffix_val[h] = 2;
        c->nsuffix++;
    }
    return &c->suffix_val[h];
}

static const char *unique(Cg *c, Names *ns, const char *base)
{
    const char *b = base;
    if (sema_c_reserved(b) || names_has(&c->globals, b) || sema_is_builtin(b))
        b = arena_printf(c->p->arena, "%s_", b);
    const char *n = b;
    if (names_has(ns, n) || (ns != &c->globals && names_has(&c->globals, n))) {
        int *k = next_suffix(c, b);
        do
            n = arena_printf(c->p->arena, "%s_%d", b, (*k)++);
        while (names_has(ns, n) || (ns != &c->globals && names_has(&c->globals, n)));
    }
    names_add(ns, n);
    return n;
}

/* ---------------- literals ---------------- */

/* The shortest decimal that reads back as v (in float with --real=float),
 * always with a '.' or an exponent so C reads a floating constant. */
static void literal(const Cg *c, double v, Str *s)
{
    char buf[64];
    if (v == 0)
        v = 0; /* -0 prints as 0 */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        double back = strtod(buf, NULL);
        if (c->o->use_float ? (float)back == (float)v : back == v)
            break;
    }
    if (!strpbrk(buf, ".en"))
        strcat(buf, ".0");
    if (c->o->use_float)
        strcat(buf, "f");
    puts_(s, buf);
}

/* ---------------- analysis ---------------- */

static int within(const Fn *f, const Region *inner, const Region *outer)
{
    for (const Region *r = inner; r;) {
        if (r == outer)
            return 1;
        if (r->owner == NOREF)
            return 0;
        r = f->v.p[r->owner].parent;
    }
    return 0;
}

static void count_use(Cg *c, Ref v, const Region *where)
{
    if (v == NOREF)
        return;
    c->uses[v]++;
    c->use_reg[v] = where;
    if (!within(c->f, where, c->f->v.p[v].parent))
        c->hoist[v] = 1;
}

static void analyse_region(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        for (int k = 0; k < op_info[in->op].nargs; k++)
            count_use(c, in->arg[k], r);
        switch (in->op) {
        case OP_IF:
            analyse_region(c, in->reg[0]);
            analyse_region(c, in->reg[1]);
            break;
        case OP_RELU:
        case OP_SIGN:
        case OP_MIN:
        case OP_MAX:
            for (int k = 0; k < op_info[in->op].nargs; k++)
                c->force[in->arg[k]] = 1;
            break;
        case OP_POWI:
            if (in->k == 2 || in->k == 3 || in->k == -2)
                c->force[in->arg[0]] = 1;
            break;
        default:
            break;
        }
    }
    for (int i = 0; i < r->yield.n; i++)
        count_use(c, r->yield.p[i], r);
}

static int is_bool(const Cg *c, Ref v)
{
    return c->f->v.p[v].ty.kind == TY_BOOL;
}

/* Written inside its user's expression rather than as a statement. */
static int inlined(const Cg *c, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    if (in->op == OP_CONST)
        return 1;
    if (in->op == OP_PARAM || in->op == OP_RESULT || in->op == OP_IF)
        return 0;
    if (is_bool(c, v))
        return 1;
    return !in->name && c->uses[v] == 1 && c->use_reg[v] == in->parent && !c->force[v] &&
           !c->hoist[v];
}

/* Operands of a bool used more than once are variables, so that writing
 * the condition twice does not compute them twice. */
static void force_bool_operands(Cg *c, const Region *r)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &c->f->v.p[r->ids.p[i]];
        if (in->op == OP_IF) {
            force_bool_operands(c, in->reg[0]);
            force_bool_operands(c, in->reg[1]);
        }
        if (is_bool(c, r->ids.p[i]) && c->uses[r->ids.p[i]] > 1)
            for (int k = 0; k < op_info[in->op].nargs; k++)
                if (!is_bool(c, in->arg[k]))
                    c->force[in->arg[k]] = 1;
    }
}

/* The value whose C variable holds v: itself, or the start of its
 * accumulation chain, or the if-result it is yielded to. */
static Ref var_of(const Cg *c, Ref v)
{
    while (c->var[v] != v)
        v = c->var[v];
    return v;
}

/* x_bar = ...; x_bar += ...: an accumulating ADD whose running sum is
 * used only here shares its variable. */
static void chain_region(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_IF) {
            chain_region(c, in->reg[0]);
            chain_region(c, in->reg[1]);
            continue;
        }
        if (in->op != OP_ADD || !in->acc || inlined(c, id))
            continue;
        Ref a = in->arg[0];
        const Inst *ia = &f->v.p[a];
        if (inlined(c, a) || ia->op == OP_PARAM || c->uses[a] != 1 || ia->parent != in->parent ||
            !ia->name || !in->name || strcmp(ia->name, in->name))
            continue;
        c->var[id] = var_of(c, a);
        if (c->hoist[id])
            c->hoist[var_of(c, a)] = 1;
    }
}

/* A value computed in a branch only to be yielded is computed straight
 * into the if's result variable. */
static void share_yields(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (in->op != OP_IF)
            continue;
        int nr = ir_nresults(f, r, i);
        for (int j = 0; j < nr; j++) {
            Ref res = r->ids.p[i + 1 + j];
            for (int s = 0; s < 2; s++) {
                const Region *b = in->reg[s];
                Ref y = b->yield.p[(int)f->v.p[res].k];
                if (f->v.p[y].parent != b || c->uses[y] != 1 || inlined(c, y) ||
                    f->v.p[y].op == OP_PARAM)
                    continue;
                Ref root = var_of(c, y);
                if (f->v.p[root].parent == b && !c->hoist[root] && root != res)
                    c->var[root] = res;
            }
        }
        share_yields(c, in->reg[0]);
        share_yields(c, in->reg[1]);
    }
}

/* ---------------- expressions ---------------- */

static void expr(Cg *c, Str *s, Ref v, int minprec);

/* The C precedence of the expression that computes v. */
static int op_prec(const Inst *in)
{
    switch (in->op) {
    case OP_CONST: return in->k < 0 ? 8 : 100;
    case OP_ADD: case OP_SUB: return 6;
    case OP_MUL: case OP_DIV: return 7;
    case OP_NEG: case OP_NOT: return 8;
    case OP_LT: case OP_LE: case OP_GT: case OP_GE: return 5;
    case OP_EQ: case OP_NE: return 4;
    case OP_AND: return 3;
    case OP_OR: return 2;
    case OP_SELECT: case OP_RELU: case OP_SIGN: case OP_MIN: case OP_MAX: return 1;
    case OP_POWI:
        return in->k == 2 || in->k == 3 ? 7 : in->k == -1 || in->k == -2 ? 7 : 100;
    default: return 100;
    }
}

/* ... and of v as an operand: a variable is a primary expression. */
static int prec_of(const Cg *c, Ref v)
{
    return inlined(c, v) ? op_prec(&c->f->v.p[v]) : 100;
}

static void call1(Cg *c, Str *s, const char *fname, Ref a)
{
    putf(s, "%s%s(", fname, c->o->use_float ? "f" : "");
    expr(c, s, a, 0);
    puts_(s, ")");
}

static void zero(Cg *c, Str *s)
{
    literal(c, 0, s);
}

static void expr_inner(Cg *c, Str *s, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    Ref a = in->arg[0], b = in->arg[1];
    int p = op_prec(in);
    switch (in->op) {
    case OP_CONST:
        if (in->ty.kind == TY_BOOL)
            puts_(s, in->k != 0 ? "1" : "0");
        else
            literal(c, in->k, s);
        return;
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
    case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
        expr(c, s, a, p);
        putf(s, " %s ", op_info[in->op].cname);
        expr(c, s, b, p + 1);
        return;
    case OP_AND: case OP_OR:
        /* && inside || is parenthesised, as -Wparentheses asks */
        expr(c, s, a, in->op == OP_OR ? 4 : p);
        putf(s, " %s ", op_info[in->op].cname);
        expr(c, s, b, in->op == OP_OR ? 4 : p + 1);
        return;
    case OP_NEG:
    case OP_NOT: {
        puts_(s, in->op == OP_NEG ? "-" : "!");
        size_t at = s->n;
        expr(c, s, a, 8);
        if (s->p[at] == '-') { /* "--x" would be a decrement: -(-x) */
            put(s, " ", 1);
            memmove(s->p + at + 1, s->p + at, s->n - 1 - at);
            s->p[at] = '(';
            put(s, ")", 1);
        }
        return;
    }
    case OP_SELECT:
        expr(c, s, a, 2);
        puts_(s, " ? ");
        expr(c, s, b, 2);
        puts_(s, " : ");
        expr(c, s, in->arg[2], 1);
        return;
    case OP_RELU:
        expr(c, s, a, 6);
        puts_(s, " > ");
        zero(c, s);
        puts_(s, " ? ");
        expr(c, s, a, 2);
        puts_(s, " : ");
        zero(c, s);
        return;
    case OP_SIGN:
        expr(c, s, a, 6);
        puts_(s, " > ");
        zero(c, s);
        puts_(s, " ? ");
        literal(c, 1, s);
        puts_(s, " : (");
        expr(c, s, a, 6);
        puts_(s, " < ");
        zero(c, s);
        puts_(s, " ? ");
        literal(c, -1, s);
        puts_(s, " : ");
        zero(c, s);
        puts_(s, ")");
        return;
    case OP_MIN:
    case OP_MAX:
        expr(c, s, a, 6);
        puts_(s, in->op == OP_MIN ? " < " : " > ");
        expr(c, s, b, 6);
        puts_(s, " ? ");
        expr(c, s, a, 2);
        puts_(s, " : ");
        expr(c, s, b, 1);
        return;
    case OP_POWI: {
        int n = (int)in->k;
        if (n == 2 || n == 3) {
            expr(c, s, a, 7);
            for (int i = 1; i < n; i++) {
                puts_(s, " * ");
                expr(c, s, a, 8);
            }
        } else if (n == -1 || n == -2) {
            literal(c, 1, s);
            puts_(s, " / ");
            if (n == -2)
                puts_(s, "(");
            expr(c, s, a, 8);
            if (n == -2) {
                puts_(s, " * ");
                expr(c, s, a, 8);
                puts_(s, ")");
            }
        } else {
            putf(s, "pow%s(", c->o->use_float ? "f" : "");
            expr(c, s, a, 0);
            puts_(s, ", ");
            literal(c, in->k, s);
            puts_(s, ")");
        }
        return;
    }
    case OP_SIGMOID:
    case OP_SOFTPLUS: {
        int h = in->op == OP_SIGMOID ? H_SIGMOID : H_SOFTPLUS;
        c->helper_used[h] = 1;
        putf(s, "%s(", c->helper[h]);
        expr(c, s, a, 0);
        puts_(s, ")");
        return;
    }
    default:
        if (op_info[in->op].kind != K_MATH || !op_info[in->op].cname[0])
            BUG("cgen: no C form for this op");
        if (op_info[in->op].nargs == 1) {
            call1(c, s, op_info[in->op].cname, a);
        } else {
            putf(s, "%s%s(", op_info[in->op].cname, c->o->use_float ? "f" : "");
            expr(c, s, a, 0);
            puts_(s, ", ");
            expr(c, s, b, 0);
            puts_(s, ")");
        }
        return;
    }
}

static void expr(Cg *c, Str *s, Ref v, int minprec)
{
    if (!inlined(c, v)) {
        puts_(s, c->cname[var_of(c, v)]);
        return;
    }
    int p = prec_of(c, v);
    if (p < minprec)
        puts_(s, "(");
    expr_inner(c, s, v);
    if (p < minprec)
        puts_(s, ")");
}

/* ---------------- statements ---------------- */

static void indent(Cg *c)
{
    for (int i = 0; i < c->indent; i++)
        puts_(&c->body, "    ");
}

/* " / * line N: text * /" for a statement from source line `line`. */
static void line_comment(Cg *c, int line)
{
    const Source *src = c->f->src;
    if (line <= 0 || !src)
        return;
    if (!c->line_start) { /* where each line begins, found once */
        VEC(size_t) ls = {0};
        vec_push(c->p->arena, &ls, 0);
        for (size_t k = 0; k < src->len; k++)
            if (src->text[k] == '\n')
                vec_push(c->p->arena, &ls, k + 1);
        c->line_start = ls.p;
        c->nlines = ls.n;
    }
    if (line > c->nlines)
        return;
    size_t i = c->line_start[line - 1];
    while (i < src->len && (src->text[i] == ' ' || src->text[i] == '\t'))
        i++;
    char text[64];
    size_t n = 0;
    for (; i < src->len && src->text[i] != '\n' && src->text[i] != '#' && n < 48; i++) {
        unsigned char ch = (unsigned char)src->text[i];
        if (ch == '\t')
            ch = ' ';
        if (ch < 32 || ch > 126)
            ch = '?';
        if (ch == '/' && n && text[n - 1] == '*')
            ch = ' '; /* never close the comment */
        if (ch == ' ' && n && text[n - 1] == ' ')
            continue;
        text[n++] = (char)ch;
    }
    int cut = i < src->len && src->text[i] != '\n' && src->text[i] != '#';
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\r'))
        n--;
    if (n && text[n - 1] == '/' && n > 1 && text[n - 2] == '*')
        n--;
    text[n] = 0;
    putf(&c->body, "  /* line %d: %s%s */", line, text, cut ? " ..." : "");
}

static void stmt_end(Cg *c, int line)
{
    puts_(&c->body, ";");
    line_comment(c, line);
    puts_(&c->body, "\n");
}

static void emit_region(Cg *c, const Region *r);

/* A variable declared before its first assignment: at function scope
 * (hoisted), an output pointer, or an if-result (before the if). */
static int declared_before(const Cg *c, Ref v)
{
    Ref root = var_of(c, v);
    return v != root || c->hoist[root] || (c->cname[root] && c->cname[root][0] == '*');
}

static int is_output(const Cg *c, Ref v)
{
    const char *n = c->cname[var_of(c, v)];
    return n && n[0] == '*';
}

static void emit_if(Cg *c, const Region *parent, int at)
{
    const Fn *f = c->f;
    Ref id = parent->ids.p[at];
    const Inst *in = &f->v.p[id];
    for (int i = at + 1; i < parent->ids.n; i++) {
        Ref res = parent->ids.p[i];
        if (f->v.p[res].op != OP_RESULT || f->v.p[res].arg[0] != id)
            break;
        if (declared_before(c, res))
            continue;
        indent(c);
        putf(&c->body, "%s %s", real_t(c), c->cname[res]);
        stmt_end(c, f->v.p[res].line);
    }
    const Region *r0 = in->reg[0], *r1 = in->reg[1];
    int empty0 = r0->yield.n == 0, empty1 = r1->yield.n == 0;
    for (int i = 0; i < r0->ids.n && empty0; i++)
        empty0 = inlined(c, r0->ids.p[i]) || f->v.p[r0->ids.p[i]].op == OP_CONST;
    for (int i = 0; i < r1->ids.n && empty1; i++)
        empty1 = inlined(c, r1->ids.p[i]) || f->v.p[r1->ids.p[i]].op == OP_CONST;
    if (empty0 && empty1)
        return;
    int flip = empty0;
    indent(c);
    puts_(&c->body, flip ? "if (!(" : "if (");
    expr(c, &c->body, in->arg[0], 0);
    puts_(&c->body, flip ? ")) {" : ") {");
    line_comment(c, in->line);
    puts_(&c->body, "\n");
    for (int s = flip; s < 2; s++) {
        const Region *r = in->reg[s];
        if (s == 1 && !flip) {
            if (empty1)
                break;
            indent(c);
            puts_(&c->body, "} else {\n");
        }
        c->indent++;
        emit_region(c, r);
        for (int i = at + 1; i < parent->ids.n; i++) {
            Ref res = parent->ids.p[i];
            if (f->v.p[res].op != OP_RESULT || f->v.p[res].arg[0] != id)
                break;
            Ref y = r->yield.p[(int)f->v.p[res].k];
            if (var_of(c, y) == var_of(c, res))
                continue; /* computed in place */
            indent(c);
            putf(&c->body, "%s = ", c->cname[var_of(c, res)]);
            expr(c, &c->body, y, 0);
            stmt_end(c, f->v.p[res].line);
        }
        c->indent--;
    }
    indent(c);
    puts_(&c->body, "}\n");
}

/* Where the reverse sweep of a gradient begins. */
static void backward_header(Cg *c)
{
    if (c->backward_started || (c->f->kind != FN_GRAD && c->f->kind != FN_VJP))
        return;
    c->backward_started = 1;
    puts_(&c->body, "\n");
    indent(c);
    puts_(&c->body, "/* backward pass: adjoints, from the result back to the inputs */\n");
}

static void emit_region(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (r == f->body && !inlined(c, id) && in->op != OP_PARAM && in->op != OP_RESULT &&
            (in->rev || is_output(c, id)))
            backward_header(c);
        if (in->op == OP_IF) {
            emit_if(c, r, i);
            continue;
        }
        if (in->op == OP_PARAM || in->op == OP_RESULT || inlined(c, id))
            continue;
        indent(c);
        Ref k = var_of(c, id);
        if (k != id && in->op == OP_ADD && in->acc && var_of(c, in->arg[0]) == k) {
            putf(&c->body, "%s += ", c->cname[k]);
            expr(c, &c->body, in->arg[1], 6 + 1);
        } else if (k != id) {
            putf(&c->body, "%s = ", c->cname[k]);
            expr_inner(c, &c->body, id);
        } else {
            if (!declared_before(c, id))
                putf(&c->body, "%s ", real_t(c));
            putf(&c->body, "%s = ", c->cname[id]);
            expr_inner(c, &c->body, id);
        }
        stmt_end(c, in->line);
    }
}

/* ---------------- functions ---------------- */

static void dims(const Cg *c, Str *s, Type t)
{
    (void)c;
    if (!t.rank)
        return;
    puts_(s, "[");
    for (int i = 0; i < t.rank; i++)
        putf(s, "%s%d", i ? " * " : "", (int)t.dim[i]);
    puts_(s, "]");
}

/* The prototype; the parameter names chosen go to cname/outs. */
static void signature(Cg *c, const Fn *f, Str *s, const char **in_names, const char **out_names)
{
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    putf(s, "%s %s(", ret ? real_t(c) : "void", f->name);
    int first = 1;
    for (int i = 0; i < f->in.n; i++) {
        const Input *in = &f->in.p[i];
        if (!in_names[i])
            in_names[i] = unique(c, &c->locals, in->name);
        putf(s, "%s%s%s %s", first ? "" : ", ", in->ty.rank ? "const " : "", real_t(c), in_names[i]);
        dims(c, s, in->ty);
        first = 0;
    }
    for (int i = ret; i < f->out.n; i++) {
        const Output *o = &f->out.p[i];
        if (!out_names[i])
            out_names[i] = unique(c, &c->locals, o->name);
        putf(s, "%s%s %s%s", first ? "" : ", ", real_t(c), o->ty.rank ? "" : "*", out_names[i]);
        dims(c, s, o->ty);
        first = 0;
    }
    if (first)
        puts_(s, "void");
    puts_(s, ")");
}

static const char *purpose(const Fn *f, Arena *a)
{
    const char *n = f->src_name;
    switch (f->kind) {
    case FN_PRIMAL:
        return arena_printf(a, "%s: the function, as written in the model", n);
    case FN_GRAD:
        return arena_printf(a, "%s_grad: reverse mode (backpropagation).  Returns %s and\n"
                               " * writes its gradient, d %s / d param, to each *param_bar",
                            n, n, n);
    case FN_VJP:
        return arena_printf(a, "%s_vjp: reverse mode.  Writes %s to out and the\n"
                               " * vector-Jacobian product of out_bar to each param_bar", n, n);
    case FN_JVP:
        return arena_printf(a, "%s_jvp: forward mode.  Returns %s and writes its\n"
                               " * directional derivative along the param_dot tangents", n, n);
    case FN_HVP:
        return arena_printf(a, "%s_hvp: forward over reverse.  Returns %s and writes the\n"
                               " * Hessian times the tangent direction to each param_hv", n, n);
    }
    return "";
}

/* Names variables in the order a reader meets them; an if's results
 * first, as they are declared before it. */
static void name_one(Cg *c, Ref v)
{
    const Fn *f = c->f;
    if (c->cname[v] || var_of(c, v) != v || inlined(c, v) ||
        (c->uses[v] == 0 && f->v.p[v].op != OP_RESULT))
        return;
    const char *base = f->v.p[v].name;
    if (!base && f->out.n && v == f->out.p[0].ref && f->out.p[0].role == OUT_RETURN)
        base = "y"; /* the value, as in the explainer's y = x^2 */
    if (!base)
        base = arena_printf(c->p->arena, "t%d", ++c->tmp);
    else if (f->v.p[v].lin)
        base = arena_printf(c->p->arena, "%s_dot", base);
    c->cname[v] = unique(c, &c->locals, base);
}

static void name_region(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_IF) {
            int nr = ir_nresults(f, r, i);
            for (int j = 0; j < nr; j++)
                name_one(c, r->ids.p[i + 1 + j]);
            name_region(c, in->reg[0]);
            name_region(c, in->reg[1]);
        } else if (in->op != OP_PARAM) {
            name_one(c, id);
        }
    }
}

static void emit_fn(Cg *c, const Fn *f, FILE *out)
{
    Arena *A = c->p->arena;
    c->f = f;
    memset(&c->locals, 0, sizeof c->locals);
    c->locals.a = A;
    c->suffix_key = NULL;
    c->suffix_val = NULL;
    c->suffix_cap = c->nsuffix = 0;
    size_t n = (size_t)f->v.n + 1;
    c->uses = arena_alloc(A, sizeof(int) * n);
    c->use_reg = arena_alloc(A, sizeof(Region *) * n);
    c->force = arena_alloc(A, n);
    c->hoist = arena_alloc(A, n);
    c->var = arena_alloc(A, sizeof(Ref) * n);
    for (Ref v = 0; v < f->v.n; v++)
        c->var[v] = v;
    c->cname = arena_alloc(A, sizeof(char *) * n);
    c->body.n = 0;
    c->indent = 1;
    c->backward_started = 0;
    c->tmp = 0;
    analyse_region(c, f->body);
    for (int i = 0; i < f->out.n; i++)
        count_use(c, f->out.p[i].ref, f->body);
    force_bool_operands(c, f->body);
    /* a gradient computes the value in its forward pass, by name */
    if ((f->kind == FN_GRAD || f->kind == FN_VJP) && f->out.p[0].role == OUT_RETURN &&
        f->v.p[f->out.p[0].ref].op != OP_CONST)
        c->force[f->out.p[0].ref] = 1;
    chain_region(c, f->body);
    share_yields(c, f->body);

    const char **in_names = arena_alloc(A, sizeof(char *) * (size_t)(f->in.n + 1));
    const char **out_names = arena_alloc(A, sizeof(char *) * (size_t)(f->out.n + 1));
    Str sig = {0};
    signature(c, f, &sig, in_names, out_names);

    /* parameters are their C names */
    for (int i = 0; i < f->body->ids.n; i++) {
        Ref id = f->body->ids.p[i];
        if (f->v.p[id].op == OP_PARAM)
            c->cname[id] = in_names[(int)f->v.p[id].k];
    }
    /* outputs accumulated in place */
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    unsigned char *in_place = arena_alloc(A, (size_t)f->out.n + 1);
    for (int i = ret; i < f->out.n; i++) {
        Ref v = f->out.p[i].ref;
        const Inst *in = &f->v.p[v];
        if (f->out.p[i].ty.rank || inlined(c, v) || in->op == OP_PARAM || c->uses[v] != 1 ||
            in->parent != f->body || c->cname[var_of(c, v)])
            continue;
        c->cname[var_of(c, v)] = arena_printf(A, "*%s", out_names[i]);
        in_place[i] = 1;
    }
    /* every other variable, in program order */
    name_region(c, f->body);
    for (Ref v = 0; v < f->v.n; v++)
        if (!c->cname[v])
            c->cname[v] = c->cname[var_of(c, v)];

    /* hoisted declarations */
    Str decl = {0};
    for (Ref v = 0; v < f->v.n; v++) {
        if (var_of(c, v) != v || !c->hoist[v] || inlined(c, v) || !c->cname[v] ||
            c->cname[v][0] == '*' || f->v.p[v].op == OP_PARAM)
            continue;
        putf(&decl, "    %s %s = ", real_t(c), c->cname[v]);
        literal(c, 0, &decl);
        puts_(&decl, ";  /* set in a branch, read in another */\n");
    }

    emit_region(c, f->body);
    for (int i = ret; i < f->out.n; i++) {
        if (in_place[i])
            continue;
        backward_header(c);
        indent(c);
        putf(&c->body, "*%s = ", out_names[i]);
        Ref v = f->out.p[i].ref;
        int line = f->v.p[v].line;
        if (f->v.p[v].op == OP_PARAM || f->v.p[v].op == OP_CONST || !line)
            line = f->v.p[f->out.p[0].ref].line ? f->v.p[f->out.p[0].ref].line : f->line;
        expr(c, &c->body, v, 0);
        stmt_end(c, line);
    }
    if (ret) {
        indent(c);
        puts_(&c->body, "return ");
        expr(c, &c->body, f->out.p[0].ref, 0);
        puts_(&c->body, ";\n");
    }

    fprintf(out, "\n/* %s */\n%s\n{\n", purpose(f, A), sig.p);
    for (int i = 0; i < f->body->ids.n; i++) {
        Ref id = f->body->ids.p[i];
        if (f->v.p[id].op == OP_PARAM && c->uses[id] == 0)
            fprintf(out, "    (void)%s;\n", c->cname[id]);
    }
    if (f->kind == FN_GRAD || f->kind == FN_VJP)
        fputs("    /* forward pass: the function, keeping what the backward pass reads */\n", out);
    if (decl.n)
        fputs(decl.p, out);
    if (c->body.n)
        fputs(c->body.p, out);
    fputs("}\n", out);
    free(sig.p);
    free(decl.p);
}

static void each_fn(const Program *p, void (*fn)(void *, const Fn *), void *arg)
{
    for (int i = 0; i < p->units.n; i++) {
        const Unit *u = &p->units.p[i];
        const Fn *fs[] = {u->primal, u->grad, u->jvp, u->hvp};
        for (size_t k = 0; k < 4; k++)
            if (fs[k])
                fn(arg, fs[k]);
    }
}

static void add_global(void *arg, const Fn *f)
{
    Cg *c = arg;
    names_add(&c->globals, f->name);
}

static void init(Cg *c, const Program *p, const CgOpts *o)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->o = o;
    c->globals.a = p->arena;
    each_fn(p, add_global, c);
    c->helper[H_SIGMOID] = unique(c, &c->globals, "dx_sigmoid");
    c->helper[H_SOFTPLUS] = unique(c, &c->globals, "dx_softplus");
}

static void helpers(Cg *c, FILE *out)
{
    const char *t = real_t(c), *f = c->o->use_float ? "f" : "";
    if (c->helper_used[H_SIGMOID])
        fprintf(out,
                "\n/* sigmoid(x) = 1 / (1 + exp(-x)), computed by the sign of x so exp never\n"
                " * overflows. */\n"
                "static %s %s(%s x)\n{\n"
                "    if (x >= 0%s)\n        return 1%s / (1%s + exp%s(-x));\n"
                "    %s e = exp%s(x);\n    return e / (1%s + e);\n}\n",
                t, c->helper[H_SIGMOID], t, f[0] ? ".0f" : ".0", f[0] ? ".0f" : ".0",
                f[0] ? ".0f" : ".0", f, t, f, f[0] ? ".0f" : ".0");
    if (c->helper_used[H_SOFTPLUS])
        fprintf(out,
                "\n/* softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), stable for\n"
                " * any x. */\n"
                "static %s %s(%s x)\n{\n"
                "    return (x > 0%s ? x : 0%s) + log1p%s(exp%s(-fabs%s(x)));\n}\n",
                t, c->helper[H_SOFTPLUS], t, f[0] ? ".0f" : ".0", f[0] ? ".0f" : ".0", f, f, f);
}

typedef struct {
    Cg *c;
    FILE *out;
} EmitArg;

static void emit_one(void *arg, const Fn *f)
{
    EmitArg *e = arg;
    emit_fn(e->c, f, e->out);
}

void cg_c(const Program *p, const CgOpts *o, FILE *out)
{
    Cg c;
    init(&c, p, o);
    /* functions go to a buffer first: the helpers they use come before */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        BUG("open_memstream failed");
    EmitArg e = {&c, mem};
    each_fn(p, emit_one, &e);
    fclose(mem);
    fprintf(out, "/* Generated by dxc %s from %s.  Do not edit.\n"
                 " * Standalone C99: it needs <math.h> and -lm only, allocates nothing and\n"
                 " * keeps no state, so every function is reentrant. */\n"
                 "#include <math.h>\n",
            DX_VERSION, o->src_path ? o->src_path : "<input>");
    helpers(&c, out);
    fwrite(buf, 1, len, out);
    free(buf);
}

typedef struct {
    Cg *c;
    FILE *out;
} ProtoArg;

static void proto_one(void *arg, const Fn *f)
{
    ProtoArg *pa = arg;
    Cg *c = pa->c;
    c->f = f;
    memset(&c->locals, 0, sizeof c->locals);
    c->locals.a = c->p->arena;
    const char **in_names = arena_alloc(c->p->arena, sizeof(char *) * (size_t)(f->in.n + 1));
    const char **out_names = arena_alloc(c->p->arena, sizeof(char *) * (size_t)(f->out.n + 1));
    Str s = {0};
    signature(c, f, &s, in_names, out_names);
    fprintf(pa->out, "%s;\n", s.p);
    free(s.p);
}

void cg_header(const Program *p, const CgOpts *o, FILE *out)
{
    Cg c;
    init(&c, p, o);
    char guard[128] = "DX_";
    size_t n = 3;
    const char *base = o->header ? o->header : "model.h";
    const char *slash = strrchr(base, '/');
    if (slash)
        base = slash + 1;
    for (const char *s = base; *s && n < sizeof guard - 2; s++) {
        unsigned char ch = (unsigned char)*s;
        guard[n++] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32
                            : (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ? ch : '_');
    }
    guard[n] = 0;
    fprintf(out, "/* Generated by dxc %s from %s.  Do not edit. */\n#ifndef %s\n#define %s\n\n",
            DX_VERSION, o->src_path ? o->src_path : "<input>", guard, guard);
    ProtoArg pa = {&c, out};
    each_fn(p, proto_one, &pa);
    fprintf(out, "\n#endif\n");
}

static void ir_one(void *arg, const Fn *f)
{
    ir_print((Fn *)f, arg);
    fputc('\n', (FILE *)arg);
}

void cg_ir(const Program *p, FILE *out)
{
    each_fn(p, ir_one, out);
}
