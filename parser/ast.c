/*
 * ast.c - constructors for the syntax tree.  Each grammar action of
 * parser.y is one call to one of these.
 */
#include "ast.h"

#include <stddef.h>

Ast *ast_new(Arena *a, AstKind kind, Loc loc)
{
    size_t n = ast_short(kind) ? offsetof(Ast, args) : ast_medium(kind) ? offsetof(Ast, ret) : sizeof(Ast);
    Ast *x = arena_alloc(a, n);
    x->kind = kind;
    x->loc = loc;
    x->name_loc = loc;
    return x;
}

Ast *ast_num(Arena *a, Loc loc, double v, int is_int)
{
    Ast *x = ast_new(a, AST_NUM, loc);
    x->num = v;
    x->is_int = is_int;
    return x;
}

/* A node of the given kind that has a name. */
static Ast *named(Arena *a, AstKind kind, Loc loc, const char *name)
{
    Ast *x = ast_new(a, kind, loc);
    x->name = name;
    return x;
}

Ast *ast_name(Arena *a, Loc loc, const char *name)
{
    return named(a, AST_NAME, loc, name);
}

Ast *ast_bin(Arena *a, Loc loc, int op, Ast *l, Ast *r)
{
    Ast *x = ast_new(a, AST_BIN, loc);
    x->op = op;
    x->a = l;
    x->b = r;
    return x;
}

Ast *ast_unary(Arena *a, AstKind kind, Loc loc, Ast *v)
{
    Ast *x = ast_new(a, kind, loc);
    x->a = v;
    return x;
}

Ast *ast_cmp(Arena *a, Loc loc, int op, Ast *l, Ast *r)
{
    Ast *x = ast_new(a, AST_CMP, loc);
    x->op = op;
    x->a = l;
    x->b = r;
    return x;
}

Ast *ast_logic(Arena *a, AstKind kind, Loc loc, Ast *l, Ast *r)
{
    Ast *x = ast_new(a, kind, loc);
    x->cond = l;
    x->cond2 = r;
    return x;
}

void ast_append(Arena *a, AstList *l, Ast *x)
{
    vec_push(a, l, x);
}

const char *ast_kind_name(AstKind k)
{
    static const char *names[] = {
        "number", "name", "binary operation", "negation", "call", "reduction",
        "index", "array literal", "comprehension", "if-expression",
        "comparison", "and", "or", "not", "assignment", "if", "for",
        "return", "generator", "const", "fn", "parameter", "type",
        "while", "break", "continue",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const char *ast_op_text(int op)
{
    static const char *const text[] = {"+", "-", "*", "/", "^", "@", "%"};
    static const char ops[] = "+-*/^@%";
    if (op == AST_IDIV)
        return "//";
    for (int i = 0; ops[i]; i++)
        if (ops[i] == op)
            return text[i];
    return "?";
}

AstList ast_list0(void)
{
    AstList l = {0};
    return l;
}

AstList ast_list1(Arena *a, Ast *x)
{
    return ast_list_add(a, ast_list0(), x);
}

AstList ast_list_add(Arena *a, AstList l, Ast *x)
{
    vec_push(a, &l, x);
    return l;
}

Ast *ast_call(Arena *a, Loc loc, const char *name, AstList args)
{
    Ast *x = named(a, AST_CALL, loc, name);
    x->args = args;
    return x;
}

Ast *ast_reduce(Arena *a, Loc loc, const char *name, Ast *body, AstList gens)
{
    Ast *x = named(a, AST_REDUCE, loc, name);
    x->a = body;
    x->gens = gens;
    return x;
}

Ast *ast_index(Arena *a, Loc loc, Ast *base, AstList indices)
{
    Ast *x = ast_new(a, AST_INDEX, loc);
    x->a = base;
    x->args = indices;
    return x;
}

Ast *ast_array(Arena *a, Loc loc, AstList elems)
{
    Ast *x = ast_new(a, AST_ARRAY, loc);
    x->args = elems;
    return x;
}

Ast *ast_comp(Arena *a, Loc loc, Ast *elem, AstList gens)
{
    Ast *x = ast_new(a, AST_COMP, loc);
    x->a = elem;
    x->gens = gens;
    return x;
}

Ast *ast_ifexpr(Arena *a, Loc loc, Ast *cond, Ast *then, Ast *els)
{
    Ast *x = ast_new(a, AST_IFEXPR, loc);
    x->cond = cond;
    x->a = then;
    x->b = els;
    return x;
}

Ast *ast_gen(Arena *a, Loc loc, const char *name, Ast *lo, Ast *hi)
{
    Ast *x = named(a, AST_GEN, loc, name);
    x->a = lo;
    x->b = hi;
    return x;
}

Ast *ast_assign(Arena *a, Loc loc, const char *name, Ast *value)
{
    Ast *x = named(a, AST_ASSIGN, loc, name);
    x->a = value;
    return x;
}

Ast *ast_store(Arena *a, Loc loc, const char *name, AstList indices, Ast *value)
{
    Ast *x = ast_assign(a, loc, name, value);
    x->args = indices;
    return x;
}

Ast *ast_if(Arena *a, Loc loc, Ast *cond, AstList then, AstList els, int has_else)
{
    Ast *x = ast_new(a, AST_IF, loc);
    x->cond = cond;
    x->body = then;
    x->els = els;
    x->has_else = has_else;
    return x;
}

Ast *ast_for(Arena *a, Loc loc, Ast *gen, AstList body)
{
    Ast *x = ast_new(a, AST_FOR, loc);
    x->gens = ast_list1(a, gen);
    x->body = body;
    return x;
}

Ast *ast_while(Arena *a, Loc loc, Ast *cond, const char *word, Loc word_loc, Ast *bound,
               AstList body)
{
    Ast *x = ast_new(a, AST_WHILE, loc);
    x->cond = cond;
    x->name = word;
    x->name_loc = word_loc;
    x->a = bound;
    x->body = body;
    return x;
}

Ast *ast_const(Arena *a, Loc loc, const char *name, Ast *value)
{
    Ast *x = named(a, AST_CONST, loc, name);
    x->a = value;
    return x;
}

Ast *ast_fn(Arena *a, Loc loc, const char *name, AstList params, Ast *ret,
            Ast *expr, AstList body)
{
    Ast *x = named(a, AST_FN, loc, name);
    x->params = params;
    x->ret = ret;
    x->a = expr;
    x->body = body;
    return x;
}

Ast *ast_param(Arena *a, Loc loc, const char *name, AstList dims, int is_data)
{
    Ast *x = named(a, AST_PARAM, loc, name);
    x->dims = dims;
    x->is_data = is_data;
    return x;
}

Ast *ast_type(Arena *a, Loc loc, AstList dims)
{
    Ast *x = ast_new(a, AST_TYPE, loc);
    x->dims = dims;
    return x;
}
