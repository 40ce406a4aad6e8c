/*
 * check.c - whole-file semantic checks, before lowering: the namespace of
 * constants and functions, constant evaluation, recursion, and names that
 * would clash in the generated C (spec sections 3 and 6).  Checks local
 * to a function body (variables, arity, shapes) happen as it is lowered.
 */
#include "ir.h"

#include <math.h>
#include <pthread.h>
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
    "inf", "lgamma", "digamma",
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

/* The C names of ir/cnames.def (see ir/gen-cnames.sh for the kinds). */
enum { CN_NONE, CN_MATH, CN_LIBC_FN, CN_LIBC_OBJ, CN_BUILTIN, CN_HEADER };

typedef struct {
    int kind;
    const char *name;
} CName;

static const CName c_names[] = {
#define CNAME(kind, name) {CN_##kind, name},
#include "cnames.def"
#undef CNAME
};

/* The suffixes of the type-generic variants of a <math.h> name. */
static const char *const c_suffixes[] = {"f",    "l",    "f16",   "f32", "f64", "f128", "f32x",
                                         "f64x", "f128x", "d32", "d64", "d128", "d64x"};

const char *sema_builtin_noun(const char *name)
{
    return !strcmp(name, "pi") || !strcmp(name, "inf") ? "constant" : "function";
}

/* The code generator asks about every variable it names, so the lists
 * of names go into one hash table (open addressing, a power of two of
 * slots above twice their length), filled once (fill_tables, under
 * pthread_once: the C generator writes functions on several threads) and
 * then searched in constant time: one probe says whether a name is a
 * keyword, a built-in, main, and which kind of C name (a name such as exp
 * is a built-in and a C name both). */
enum { NAME_CAP = 8192 };
enum { NM_KIND = 7, NM_KEYWORD = 8, NM_BUILTIN = 16, NM_MAIN = 32 }; /* name_bits: CN_* | NM_* */
enum { NBUILTINS = sizeof builtins / sizeof builtins[0], NCNAMES = sizeof c_names / sizeof c_names[0],
       NKEYWORDS = sizeof c_keywords / sizeof c_keywords[0],
       NSUFFIXES = sizeof c_suffixes / sizeof c_suffixes[0] };
_Static_assert(NAME_CAP > 2 * (NBUILTINS + NCNAMES + NKEYWORDS + 1), "the table of names is too small");
_Static_assert((int)CN_HEADER <= (int)NM_KIND, "a kind of C name takes the low bits");

static const char *name_slot[NAME_CAP];
static unsigned char name_flags[NAME_CAP];
static size_t suffix_len[NSUFFIXES];
static unsigned char suffix_end[256]; /* the last characters of c_suffixes */
static unsigned char suffix_begin[256]; /* their first characters */
enum { SUFFIX_MAX = 5 }; /* the longest, f128x */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* name's slot, from its hash (dx_hash). */
static unsigned slot_of_h(const char *name, unsigned hash)
{
    unsigned h = hash & (NAME_CAP - 1);
    while (name_slot[h] && strcmp(name_slot[h], name))
        h = (h + 1) & (NAME_CAP - 1);
    return h;
}

static unsigned slot_of(const char *name)
{
    return slot_of_h(name, dx_hash(name));
}

/* name's slot, its NM_* flags gaining `flags` and its kind of C name
 * becoming `kind` (CN_NONE: kept): a kind replaces, a flag adds. */
static void fill_one(const char *name, unsigned flags, unsigned kind)
{
    unsigned h = slot_of(name);
    name_slot[h] = name;
    name_flags[h] = (unsigned char)((name_flags[h] | flags) & ~(kind ? NM_KIND : 0u)) | (unsigned char)kind;
}

static void fill_tables(void)
{
    for (size_t i = 0; i < NBUILTINS; i++)
        fill_one(builtins[i], NM_BUILTIN, CN_NONE);
    for (size_t i = 0; i < NKEYWORDS; i++)
        fill_one(c_keywords[i], NM_KEYWORD, CN_NONE);
    for (size_t i = 0; i < NCNAMES; i++)
        fill_one(c_names[i].name, 0, (unsigned)c_names[i].kind);
    fill_one("main", NM_MAIN, CN_NONE);
    for (size_t i = 0; i < NSUFFIXES; i++) {
        suffix_len[i] = strlen(c_suffixes[i]);
        suffix_end[(unsigned char)c_suffixes[i][suffix_len[i] - 1]] = 1;
        suffix_begin[(unsigned char)c_suffixes[i][0]] = 1;
        if (suffix_len[i] > SUFFIX_MAX)
            BUG("check: a suffix longer than SUFFIX_MAX");
    }
}

static void tables_ready(void)
{
    if (pthread_once(&tables_once, fill_tables) != 0)
        BUG("check: pthread_once failed");
}

/* What the table knows of name, of hash `hash` (dx_hash): CN_* | NM_*, 0
 * for a name in no list. */
static unsigned name_bits_h(const char *name, unsigned hash)
{
    tables_ready();
    unsigned h = slot_of_h(name, hash);
    return name_slot[h] ? name_flags[h] : 0;
}

static unsigned name_bits(const char *name)
{
    return name_bits_h(name, dx_hash(name));
}

int sema_is_builtin(const char *name)
{
    return (name_bits(name) & NM_BUILTIN) != 0;
}

/* The kind of name in ir/cnames.def, CN_NONE if it is not there. */
static int c_name_kind(const char *name)
{
    return (int)(name_bits(name) & NM_KIND);
}

/* If name is a listed name of a kind `want` accepts (want(kind) != 0)
 * plus one of c_suffixes, the suffix (static storage); else NULL. The
 * code generator asks this of every name it makes, and most end in a
 * character no suffix ends in, or have none of the letters a suffix
 * begins with (f, l, d) in their last SUFFIX_MAX characters (a29422,
 * dsin_36), so those are looked at first. */
static const char *suffixed(const char *name, int (*want)(int kind))
{
    tables_ready();
    size_t len = strlen(name);
    if (!len || !suffix_end[(unsigned char)name[len - 1]])
        return NULL;
    int begins = 0;
    for (size_t at = len - 1; at >= 1 && at + SUFFIX_MAX >= len; at--) /* a base before it */
        begins |= suffix_begin[(unsigned char)name[at]];
    if (!begins)
        return NULL;
    for (size_t i = 0; i < NSUFFIXES; i++) {
        size_t sl = suffix_len[i];
        char base[64];
        if (len <= sl || name[len - 1] != c_suffixes[i][sl - 1] || len - sl >= sizeof base ||
            memcmp(name + len - sl, c_suffixes[i], sl))
            continue;
        memcpy(base, name, len - sl);
        base[len - sl] = 0;
        if (want(c_name_kind(base)))
            return c_suffixes[i];
    }
    return NULL;
}

static int is_math(int kind)
{
    return kind == CN_MATH;
}

static int is_listed(int kind)
{
    return kind != CN_NONE;
}

/* Reserved for the implementation in every scope: _X..., __... */
static int impl_reserved(const char *name)
{
    return name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z'));
}

static int is_keyword(const char *name)
{
    return (name_bits(name) & NM_KEYWORD) != 0;
}

/* Why a function may not be named name in C (spec section 6). */
typedef enum {
    CLASH_NONE,
    CLASH_KEYWORD,
    CLASH_RESERVED,  /* _X..., __... */
    CLASH_MATH,      /* an identifier of <math.h> */
    CLASH_MATH_SUFFIX, /* a suffixed variant of one (*suffix says which) */
    CLASH_LIBC_FN,   /* external linkage in the C standard library */
    CLASH_LIBC_OBJ,
    CLASH_BUILTIN,   /* a compiler's own built-in */
    CLASH_MAIN,
} Clash;

static Clash fn_clash(const char *name, const char **suffix)
{
    if (is_keyword(name))
        return CLASH_KEYWORD;
    if (impl_reserved(name))
        return CLASH_RESERVED;
    if (!strcmp(name, "main"))
        return CLASH_MAIN;
    switch (c_name_kind(name)) {
    case CN_MATH: return CLASH_MATH;
    case CN_LIBC_FN: return CLASH_LIBC_FN;
    case CN_LIBC_OBJ: return CLASH_LIBC_OBJ;
    case CN_BUILTIN: return CLASH_BUILTIN;
    }
    *suffix = suffixed(name, is_math);
    return *suffix ? CLASH_MATH_SUFFIX : CLASH_NONE;
}

/* Locals of the generated C step aside from more than functions must:
 * from every identifier of the standard headers and its suffixed
 * variants too (a macro such as EOF would break a file that includes the
 * generated one after <stdio.h>). */
static int c_clash(const char *name, unsigned hash, unsigned bits)
{
    return (name_bits_h(name, hash) & bits) || impl_reserved(name) || suffixed(name, is_listed) != NULL;
}

int sema_c_reserved(const char *name)
{
    return c_clash(name, dx_hash(name), NM_KEYWORD | NM_MAIN | NM_KIND);
}

int sema_c_taken(const char *name)
{
    return sema_c_taken_h(name, dx_hash(name));
}

int sema_c_taken_h(const char *name, unsigned hash)
{
    return c_clash(name, hash, NM_KEYWORD | NM_MAIN | NM_KIND | NM_BUILTIN);
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

/* a % b or a // b (e) of integer constants: both must be integers, a >= 0
 * and b > 0; reports at the operand that is not. */
static int int_op(Sema *s, const Ast *e, int ia, double a, int ib, double b, double *v)
{
    const char *op = ast_op_text(e->op);
    if (!ia || !ib) {
        diag_error(s->d, (ia ? e->b : e->a)->loc,
                   "'%s' is an integer operator, but this operand is a real number", op);
        return 0;
    }
    if (a < 0 || b < 0) {
        diag_error(s->d, (a < 0 ? e->a : e->b)->loc,
                   "'%s' needs non-negative operands, but this one is %.0f", op, a < 0 ? a : b);
        return 0;
    }
    if (b == 0) {
        diag_error(s->d, e->b->loc, "the divisor of '%s' is 0", op);
        return 0;
    }
    *v = e->op == '%' ? fmod(a, b) : floor(a / b);
    return 1;
}

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
        if (!strcmp(e->name, "inf")) {
            *is_int = 0;
            *v = INFINITY;
            return 1;
        }
        Sym *c = lookup(s, e->name);
        if (!c) {
            Near n;
            near_init(&n, e->name);
            sema_offer_consts(s, &n);
            if (diag_error(s->d, e->loc, "'%s' is not defined%s", diag_name(s->a, e->name),
                           near_hint(s->a, &n)))
                s->stop = 1;
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
        if (e->op == '%' || e->op == AST_IDIV) {
            *is_int = 1;
            return int_op(s, e, ia, a, ib, b, v);
        }
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
        if (isnan(*v)) { /* inf - inf, 0 * inf */
            diag_error(s->d, e->loc, "constant expression is not a number");
            return 0;
        }
        if (!isfinite(*v) && isfinite(a) && isfinite(b)) { /* inf only from inf */
            diag_error(s->d, e->loc, "constant expression is not a finite number");
            return 0;
        }
        return 1;
    }
    default:
        diag_error(s->d, e->loc,
                   "a constant expression may only use numbers, constants, pi, inf and + - * / ^");
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

void sema_offer_fns(const Sema *s, Near *n)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i], "pi") && strcmp(builtins[i], "inf"))
            near_offer(n, builtins[i]);
    for (int i = 0; i < s->cap; i++)
        if (s->tab[i].name && s->tab[i].def->kind == AST_FN)
            near_offer(n, s->tab[i].name);
}

void sema_offer_consts(const Sema *s, Near *n)
{
    near_offer(n, "pi");
    near_offer(n, "inf");
    for (int i = 0; i < s->cap; i++)
        if (s->tab[i].name && s->tab[i].def->kind == AST_CONST)
            near_offer(n, s->tab[i].name);
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
    if (ast_short(e->kind))
        return;
    calls_list(s, &e->args, fn);
    if (ast_medium(e->kind))
        return;
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
    double n = 1 + nodes(s, e->a) + nodes(s, e->b) + nodes(s, e->cond) + nodes(s, e->cond2);
    if (!ast_short(e->kind))
        n += list_nodes(s, &e->args);
    if (!ast_short(e->kind) && !ast_medium(e->kind))
        n += list_nodes(s, &e->gens) + list_nodes(s, &e->body) + list_nodes(s, &e->els);
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

/* Reports a function name that C does not let the generated code
 * define (fn_clash); returns 1 if it did. */
static int check_c_clash(Sema *s, const Ast *fn)
{
    static const char *const why[] = {
        [CLASH_KEYWORD] = "function name '%s' is a C keyword",
        [CLASH_RESERVED] = "function name '%s' is reserved in C (names that start with '__', or "
                           "with '_' and a capital letter, belong to the C implementation)",
        [CLASH_MATH] = "function name '%s' clashes with an identifier of <math.h>, which the "
                       "generated C includes",
        [CLASH_LIBC_FN] = "function name '%s' is a function of the C standard library (C "
                          "reserves it for external linkage)",
        [CLASH_LIBC_OBJ] = "function name '%s' is an object of the C standard library (C "
                           "reserves it for external linkage)",
        [CLASH_BUILTIN] = "function name '%s' is a built-in function of clang, which rejects "
                          "a function of that name",
        [CLASH_MAIN] = "function name '%s' is the entry point of a C program, which the "
                       "generated C must not define",
    };
    const char *suffix = NULL;
    Clash c = fn_clash(fn->name, &suffix);
    if (c == CLASH_NONE)
        return 0;
    if (c == CLASH_MATH_SUFFIX) {
        const char *name = diag_name(s->a, fn->name);
        char *base = arena_strndup(s->a, fn->name, strlen(fn->name) - strlen(suffix));
        if (diag_error(s->d, fn->name_loc,
                       "function name '%s' clashes with an identifier of <math.h>, which the "
                       "generated C includes (the '%s' variant of '%s')",
                       name, suffix, base))
            s->stop = 1;
        return 1;
    }
    err(s, fn->name_loc, why[c], fn->name);
    return 1;
}

static void check_fn_name(Sema *s, const Ast *fn)
{
    const char *name = fn->name;
    if (check_c_clash(s, fn))
        return;
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
            err(s, it->name_loc,
                arena_printf(s->a, "'%%s' is the name of a built-in %s and cannot be redefined",
                             sema_builtin_noun(it->name)),
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
