/*
 * ast.c - constructors for the syntax tree.  Each grammar action of
 * parser.y is one call to one of these.
 */
#include "ast.h"

Ast *ast_new(Arena *a, AstKind kind, Loc loc)
{
    Ast *x = arena_alloc(a, sizeof *x);
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

Ast *ast_name(Arena *a, Loc loc, const char *name)
{
    Ast *x = ast_new(a, AST_NAME, loc);
    x->name = name;
    return x;
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
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}
