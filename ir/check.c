/*
 * check.c - whole-file semantic checks, before lowering: the namespace of
 * constants and functions, constant evaluation, recursion, and names that
 * would clash in the generated C (spec sections 3 and 6).  Checks local
 * to a function body (variables, arity, shapes) happen as it is lowered.
 */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    const Ast *def;       /* AST_CONST or AST_FN */
    int state;            /* constants: 0 new, 1 evaluating, 2 done, 3 bad */
    int is_int;
    double v;
    int color;            /* functions: DFS colour for recursion */
    double size;          /* functions: AST nodes after inlining, 0 if not known yet */
} Sym;

struct Sema {
    Arena *a;
    Diag *d;
    Sym *tab;
    int cap, n;
    int stop;
    int cyclic; /* recursion found: lowering (which inlines) must not run */
};

static const char *const builtins[] = {
    "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan",
    "sinh", "cosh", "tanh", "erf", "abs", "sigmoid", "relu", "softplus", "pow", "atan2",
    "hypot", "min", "max", "sum", "mean", "prod", "norm", "dot", "logsumexp", "softmax",
    "transpose", "outer", "pi",
};

static const char *const c_keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double",
    "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
    "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
    "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas",
    "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
    "_Static_assert", "_Thread_local", "alignas", "alignof", "bool", "constexpr", "false",
    "nullptr", "static_assert", "thread_local", "true", "typeof", "typeof_unqual",
    "_BitInt", "_Decimal32", "_Decimal64", "_Decimal128", "asm", "fortran",
};

static const char *const c_library[] = {
#include "cnames.inc"
    /* C23 <math.h> additions newer than the headers the list came from */
    "acospi", "asinpi", "atanpi", "atan2pi", "cospi", "sinpi", "tanpi", "compoundn",
    "exp10m1", "exp2m1", "log10p1", "log2p1", "logp1", "pown", "powr", "rootn",
    "rsqrt", "roundeven", "nextup", "nextdown", "fromfp", "ufromfp", "fromfpx",
    "ufromfpx", "llogb", "totalorder", "totalordermag", "getpayload", "setpayload",
    "setpayloadsig", "iscanonical", "issignaling", "issubnormal", "iszero", "fmaximum",
    "fminimum", "daddl", "dsubl", "dmull", "ddivl", "dfmal", "dsqrtl", "fsqrt",
    "main",
};

int sema_is_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (!strcmp(name, builtins[i]))
            return 1;
    return 0;
}

static int in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, list[i]))
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Is name one of the C library's identifiers?  The list is sorted once,
 * on first use (the compiler is single-threaded), then searched. */
static int in_c_library(const char *name)
{
    enum { N = sizeof c_library / sizeof c_library[0] };
    static const char *sorted[N];
    static int ready;
    if (!ready) {
        memcpy(sorted, c_library, sizeof sorted);
        qsort(sorted, N, sizeof sorted[0], cmp_str);
        ready = 1;
    }
    return bsearch(&name, sorted, N, sizeof sorted[0], cmp_str) != NULL;
}

/* Which C name space `name` would clash with: 0 none, 1 keyword, 2 the C
 * library (an identifier of <math.h> or another standard header,
 * including the f/l/fN/fNx/dN suffixed variants), 3 reserved for the
 * implementation (_X..., __...). */
static int c_clash(const char *name)
{
    if (in_list(name, c_keywords, sizeof c_keywords / sizeof c_keywords[0]))
        return 1;
    if (name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z')))
        return 3;
    if (in_c_library(name))
        return 2;
    static const char *const suffixes[] = {"f", "l", "f16", "f32", "f64", "f128", "f32x",
                                           "f64x", "f128x", "d32", "d64", "d128", "d64x"};
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && !strcmp(name + len - sl, suffixes[i])) {
            char base[64];
            if (len - sl >= sizeof base)
                continue;
            memcpy(base, name, len - sl);
            base[len - sl] = 0;
            if (in_c_library(base))
                return 2;
        }
    }
    return 0;
}

int sema_c_reserved(const char *name)
{
    return c_clash(name) != 0;
}

/* ---- the symbol table: open addressing on the name ---- */

static Sym *lookup(const Sema *s, const char *name)
{
    unsigned h = dx_hash(name) & (unsigned)(s->cap - 1);
    while (s->tab[h].name) {
        if (!strcmp(s->tab[h].name, name))
            return &s->tab[h];
        h = (h + 1) & (unsigned)(s->cap - 1);
    }
    return NULL;
}

static Sym *insert(Sema *s, const char *name, const Ast *def)
{
    unsigned h = dx_hash(name) & (unsigned)(s->cap - 1);
    while (s->tab[h].name)
        h = (h + 1) & (unsigned)(s->cap - 1);
    s->tab[h].name = name;
    s->tab[h].def = def;
    s->n++;
    return &s->tab[h];
}

static int err(Sema *s, Loc loc, const char *fmt, const char *name)
{
    if (diag_error(s->d, loc, fmt, diag_name(s->a, name)))
        s->stop = 1;
    return 0;
}

/* ---- constants ---- */

enum { INT_LIMIT = 2147483647 };

static int eval_const(Sema *s, Sym *c);

/* Evaluates a constant expression.  *is_int tells whether it is an
 * integer constant expression (literals, + - * and integer constants). */
static int cexpr(Sema *s, const Ast *e, int *is_int, double *v)
{
    switch (e->kind) {
    case AST_NUM:
        *is_int = e->is_int;
        *v = e->num;
        if (e->is_int && e->num > INT_LIMIT) {
            diag_error(s->d, e->loc, "integer %.0f is out of the 32-bit range", e->num);
            return 0;
        }
        return 1;
    case AST_NAME: {
        if (!strcmp(e->name, "pi")) {
            *is_int = 0;
            *v = 3.14159265358979323846;
            return 1;
        }
        Sym *c = lookup(s, e->name);
        if (!c) {
            err(s, e->loc, "'%s' is not defined", e->name);
            return 0;
        }
        if (c->def->kind != AST_CONST) {
            err(s, e->loc, "'%s' is a function, not a constant", e->name);
            return 0;
        }
        if (c->state == 1) {
            err(s, e->loc, "constant '%s' is defined in terms of itself", e->name);
            c->state = 3;
            return 0;
        }
        if (!eval_const(s, c))
            return 0;
        *is_int = c->is_int;
        *v = c->v;
        return 1;
    }
    case AST_NEG: {
        if (!cexpr(s, e->a, is_int, v))
            return 0;
        *v = -*v;
        return 1;
    }
    case AST_BIN: {
        int ia, ib;
        double a, b;
        if (!cexpr(s, e->a, &ia, &a) || !cexpr(s, e->b, &ib, &b))
            return 0;
        switch (e->op) {
        case '+': *v = a + b; break;
        case '-': *v = a - b; break;
        case '*': *v = a * b; break;
        case '/': *v = a / b; ia = 0; break;
        case '^': *v = pow(a, b); ia = 0; break;
        default:
            diag_error(s->d, e->loc, "'%c' is not allowed in a constant expression", e->op);
            return 0;
        }
        *is_int = ia && ib;
        if (*is_int && (*v > INT_LIMIT || *v < -INT_LIMIT - 1.0)) {
            diag_error(s->d, e->loc, "integer constant expression overflows the 32-bit range");
            return 0;
        }
        if (!isfinite(*v)) {
            diag_error(s->d, e->loc, "constant expression is not a finite number");
            return 0;
        }
        return 1;
    }
    default:
        diag_error(s->d, e->loc,
                   "a constant expression may only use numbers, constants, pi and + - * / ^");
        return 0;
    }
}

static int eval_const(Sema *s, Sym *c)
{
    if (c->state == 2)
        return 1;
    if (c->state == 3)
        return 0;
    c->state = 1;
    int ok = cexpr(s, c->def->a, &c->is_int, &c->v);
    if (c->state == 3)
        return 0;
    c->state = ok ? 2 : 3;
    return ok;
}

int sema_const(const Sema *s, const char *name, int *is_int, double *v)
{
    Sym *c = lookup(s, name);
    if (!c || c->def->kind != AST_CONST)
        return 0;
    if (c->state != 2)
        return -1;
    *is_int = c->is_int;
    *v = c->v;
    return 1;
}

const Ast *sema_fn(const Sema *s, const char *name)
{
    Sym *c = lookup(s, name);
    return c && c->def->kind == AST_FN ? c->def : NULL;
}

/* ---- recursion: depth-first search over the call graph ---- */

static void calls_in(Sema *s, const Ast *e, const Ast *fn);

static void visit_fn(Sema *s, const Ast *fn)
{
    Sym *f = lookup(s, fn->name);
    if (!f || f->def != fn || f->color)
        return;
    f->color = 1;
    calls_in(s, fn->a, fn);
    for (int i = 0; i < fn->body.n; i++)
        calls_in(s, fn->body.p[i], fn);
    f->color = 2;
}

static void calls_list(Sema *s, const AstList *l, const Ast *fn)
{
    for (int i = 0; i < l->n; i++)
        calls_in(s, l->p[i], fn);
}

static void calls_in(Sema *s, const Ast *e, const Ast *fn)
{
    if (!e || s->stop)
        return;
    if (e->kind == AST_CALL || e->kind == AST_REDUCE) {
        Sym *g = lookup(s, e->name);
        if (g && g->def->kind == AST_FN) {
            if (g->color == 1) {
                s->cyclic = 1;
                if (g->def == fn)
                    err(s, e->loc, "function '%s' calls itself: recursion is not allowed", e->name);
                else
                    err(s, e->loc, "call to '%s' makes a cycle of calls: recursion is not allowed",
                        e->name);
            } else {
                visit_fn(s, g->def);
            }
        }
    }
    calls_in(s, e->a, fn);
    calls_in(s, e->b, fn);
    calls_in(s, e->cond, fn);
    calls_in(s, e->cond2, fn);
    calls_list(s, &e->args, fn);
    calls_list(s, &e->gens, fn);
    calls_list(s, &e->body, fn);
    calls_list(s, &e->els, fn);
}

/* ---- the size of a function once its calls are inlined ---- */

static double nodes(const Sema *s, const Ast *e);

static double list_nodes(const Sema *s, const AstList *l)
{
    double n = 0;
    for (int i = 0; i < l->n; i++)
        n += nodes(s, l->p[i]);
    return n;
}

static double nodes(const Sema *s, const Ast *e)
{
    if (!e)
        return 0;
    double n = 1 + nodes(s, e->a) + nodes(s, e->b) + nodes(s, e->cond) + nodes(s, e->cond2) +
               list_nodes(s, &e->args) + list_nodes(s, &e->gens) + list_nodes(s, &e->body) +
               list_nodes(s, &e->els);
    if (e->kind == AST_CALL || e->kind == AST_REDUCE) {
        const Ast *g = sema_fn(s, e->name);
        if (g)
            n += sema_inline_size(s, g);
    }
    return n;
}

double sema_inline_size(const Sema *s, const Ast *fn)
{
    Sym *f = lookup(s, fn->name);
    if (f && f->def == fn && f->size > 0)
        return f->size;
    double n = 1 + nodes(s, fn->a) + list_nodes(s, &fn->body);
    if (f && f->def == fn)
        f->size = n;
    return n;
}

/* ---- the checks ---- */

static const char *const generated_suffixes[] = {"_grad", "_vjp", "_jvp", "_hvp", "_ws",
                                                 "_grad_ws", "_vjp_ws", "_jvp_ws", "_hvp_ws"};

static void check_fn_name(Sema *s, const Ast *fn)
{
    const char *name = fn->name;
    switch (c_clash(name)) {
    case 1:
        err(s, fn->name_loc, "function name '%s' is a C keyword", name);
        return;
    case 2:
        err(s, fn->name_loc,
            "function name '%s' clashes with an identifier of <math.h> or the C library", name);
        return;
    case 3:
        err(s, fn->name_loc, "function name '%s' is reserved in C", name);
        return;
    }
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof generated_suffixes / sizeof generated_suffixes[0]; i++) {
        size_t sl = strlen(generated_suffixes[i]);
        if (len <= sl || strcmp(name + len - sl, generated_suffixes[i]))
            continue;
        char *base = arena_strndup(s->a, name, len - sl);
        Sym *b = lookup(s, base);
        if (b && b->def->kind == AST_FN) {
            diag_error(s->d, fn->name_loc,
                       "function name '%s' clashes with the generated '%s' of function '%s'",
                       diag_name(s->a, name), diag_name(s->a, name), diag_name(s->a, base));
            return;
        }
    }
}

Sema *sema_check(Arena *a, Diag *d, const AstFile *file)
{
    Sema *s = arena_alloc(a, sizeof *s);
    s->a = a;
    s->d = d;
    s->cap = 16;
    while (s->cap < 2 * file->items.n + 2)
        s->cap *= 2;
    s->tab = arena_alloc(a, sizeof(Sym) * (size_t)s->cap);

    for (int i = 0; i < file->items.n && !s->stop; i++) {
        const Ast *it = file->items.p[i];
        if (sema_is_builtin(it->name)) {
            err(s, it->name_loc, "'%s' is the name of a built-in function and cannot be redefined",
                it->name);
            continue;
        }
        if (lookup(s, it->name)) {
            err(s, it->name_loc, "'%s' is already defined", it->name);
            continue;
        }
        insert(s, it->name, it);
    }
    for (int i = 0; i < file->items.n && !s->stop; i++) {
        const Ast *it = file->items.p[i];
        Sym *sym = lookup(s, it->name);
        if (!sym || sym->def != it)
            continue;
        if (it->kind == AST_CONST)
            eval_const(s, sym);
        else
            check_fn_name(s, it);
    }
    for (int i = 0; i < file->items.n && !s->stop; i++) {
        const Ast *it = file->items.p[i];
        if (it->kind == AST_FN)
            visit_fn(s, it);
    }
    return s->stop || s->cyclic ? NULL : s;
}
