/*
 * ast.h - the abstract syntax tree of a .dx file (spec sections 3-5).
 *
 * The parser builds it with the ast_* constructors below, one call per
 * grammar action; every node records the location of the token that
 * names it (an operator, a name, a keyword).  The tree covers the whole
 * language, arrays and loops included; the checker in ir/ decides what
 * the rest of the compiler supports.
 */
#ifndef AST_H
#define AST_H

#include "../common/dx.h"

typedef struct Ast Ast;

typedef enum {
    /* expressions */
    AST_NUM,     /* num, is_int: literal had no '.' and no exponent */
    AST_NAME,    /* name */
    AST_BIN,     /* op (one of '+','-','*','/','^','@'), a, b */
    AST_NEG,     /* a */
    AST_CALL,    /* name, args: f(a, b) */
    AST_REDUCE,  /* name (sum/prod/max/min or any name), a = body, gens */
    AST_INDEX,   /* a = base, args = indices */
    AST_ARRAY,   /* args = elements: [1, 2.5, x] */
    AST_COMP,    /* a = element, gens: [e for i in 0..N, j in 0..M] */
    AST_IFEXPR,  /* cond, a = then value, b = else value */
    /* conditions (only after `if`) */
    AST_CMP,     /* op (one of CMP_*), a, b */
    AST_AND,     /* cond, cond2 */
    AST_OR,      /* cond, cond2 */
    AST_NOT,     /* cond */
    /* statements */
    AST_ASSIGN,  /* name, a = value; an element store x[i, j] = value
                    also has args = the indices */
    AST_IF,      /* cond, body = then block, els = else block or NULL
                    (an `else if` is an else block holding one AST_IF) */
    AST_FOR,     /* gens (exactly one), body */
    AST_RETURN,  /* a */
    /* a generator `i in lo..hi` of a comprehension, reduction or for */
    AST_GEN,     /* name, a = lo, b = hi */
    /* top level */
    AST_CONST,   /* name, a = value */
    AST_FN,      /* name, params, ret (or NULL), body (block) or a (expression body) */
    AST_PARAM,   /* name, dims (may be empty), is_data */
    AST_TYPE,    /* dims: `real` has none, `real[N, M]` has two */
    /* loops with a data-dependent trip count, and jumps (statements) */
    AST_WHILE,   /* cond, name = the word after it (`max`), name_loc = its
                    place, a = the bound (NULL: no `max N` was written), body */
    AST_BREAK,   /* leaves the innermost loop */
    AST_CONTINUE, /* goes to the next iteration of the innermost loop */
} AstKind;

enum { CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_EQ, CMP_NE };
/* AST_BIN's op for floor division `//` ('%', the remainder, is itself);
 * both are integer operators (constants and indices only). */
enum { AST_IDIV = 'D' };

/* A list of nodes. */
typedef struct {
    Ast **p;
    int n, cap;
} AstList;

struct Ast {
    AstKind kind;
    Loc loc;          /* the token that names the node */
    int op;           /* AST_BIN: the operator character; AST_CMP: CMP_* */
    const char *name; /* names, functions, parameters, generators */
    Loc name_loc;     /* AST_ASSIGN/AST_FN/AST_PARAM/AST_CONST/AST_GEN: the name */
    double num;       /* AST_NUM */
    int is_int;       /* AST_NUM: written without '.' or exponent */
    int is_data;      /* AST_PARAM */
    Ast *a, *b;
    Ast *cond, *cond2;
    /* A node of a kind ast_short accepts ends here: ast_new allocates it
     * no further, and nothing reads the fields below of it. */
    AstList args;     /* call arguments, indices, array elements */
    /* ... and one of a kind ast_medium accepts, here. */
    Ast *ret;         /* AST_FN: return annotation (AST_TYPE) or NULL */
    AstList gens;     /* AST_GEN nodes */
    AstList params;   /* AST_FN: AST_PARAM nodes */
    AstList dims;     /* AST_PARAM/AST_TYPE: dimension expressions */
    AstList body;     /* statements: AST_FN, AST_IF (then), AST_FOR */
    AstList els;      /* AST_IF: else statements */
    int has_else;     /* AST_IF: an else part was written */
};

/* The kinds whose nodes use no field from `args` on: the names, numbers
 * and operators that are most of a tree (a statement of a large program
 * has some ten nodes, and a whole node is 192 bytes; the tree of 200 000
 * statements was 450 MB, and faulting its pages in half the parse). */
static inline int ast_short(AstKind k)
{
    switch (k) {
    case AST_NUM:
    case AST_NAME:
    case AST_BIN:
    case AST_NEG:
    case AST_IFEXPR:
    case AST_CMP:
    case AST_AND:
    case AST_OR:
    case AST_NOT:
    case AST_GEN:
    case AST_RETURN:
    case AST_BREAK:
    case AST_CONTINUE:
        return 1;
    default:
        return 0;
    }
}

/* The kinds whose nodes use `args` but no field after it: calls,
 * indexing, array literals and assignments, the rest of a statement of
 * a large program (the parse of 200 000 statements took 220 MB, now
 * 176). */
static inline int ast_medium(AstKind k)
{
    return k == AST_CALL || k == AST_INDEX || k == AST_ARRAY || k == AST_ASSIGN;
}

/* A parsed file: its constants and functions, in source order. */
typedef struct {
    AstList items; /* AST_CONST and AST_FN */
} AstFile;

/* Constructors (parser/ast.c).  They allocate in the arena. */
Ast *ast_new(Arena *a, AstKind kind, Loc loc);
Ast *ast_num(Arena *a, Loc loc, double v, int is_int);
Ast *ast_name(Arena *a, Loc loc, const char *name);
Ast *ast_bin(Arena *a, Loc loc, int op, Ast *l, Ast *r);
Ast *ast_unary(Arena *a, AstKind kind, Loc loc, Ast *x); /* AST_NEG */
Ast *ast_cmp(Arena *a, Loc loc, int op, Ast *l, Ast *r);
Ast *ast_logic(Arena *a, AstKind kind, Loc loc, Ast *l, Ast *r); /* AND/OR/NOT (r NULL) */
void ast_append(Arena *a, AstList *l, Ast *x);

/* Lists by value, for grammar actions: ast_list0() is empty, ast_list1()
 * holds x, ast_list_add() returns l with x appended. */
AstList ast_list0(void);
AstList ast_list1(Arena *a, Ast *x);
AstList ast_list_add(Arena *a, AstList l, Ast *x);

Ast *ast_call(Arena *a, Loc loc, const char *name, AstList args);
Ast *ast_reduce(Arena *a, Loc loc, const char *name, Ast *body, AstList gens);
Ast *ast_index(Arena *a, Loc loc, Ast *base, AstList indices);
Ast *ast_array(Arena *a, Loc loc, AstList elems);
Ast *ast_comp(Arena *a, Loc loc, Ast *elem, AstList gens);
Ast *ast_ifexpr(Arena *a, Loc loc, Ast *cond, Ast *then, Ast *els);
Ast *ast_gen(Arena *a, Loc loc, const char *name, Ast *lo, Ast *hi);
/* Statements; a return is ast_unary(a, AST_RETURN, loc, value). */
Ast *ast_assign(Arena *a, Loc loc, const char *name, Ast *value);
/* x[indices] = value: an AST_ASSIGN whose args hold the indices. */
Ast *ast_store(Arena *a, Loc loc, const char *name, AstList indices, Ast *value);
Ast *ast_if(Arena *a, Loc loc, Ast *cond, AstList then, AstList els, int has_else);
Ast *ast_for(Arena *a, Loc loc, Ast *gen, AstList body);
/* while cond WORD bound { body }: word is NULL (and bound NULL) when the
 * loop was written without a bound; the checker reports both. */
Ast *ast_while(Arena *a, Loc loc, Ast *cond, const char *word, Loc word_loc, Ast *bound,
               AstList body);
/* Top level.  ast_fn: an expression body is `expr` (body empty), a block
 * body is `body` (expr NULL); ret may be NULL. */
Ast *ast_const(Arena *a, Loc loc, const char *name, Ast *value);
Ast *ast_fn(Arena *a, Loc loc, const char *name, AstList params, Ast *ret,
            Ast *expr, AstList body);
Ast *ast_param(Arena *a, Loc loc, const char *name, AstList dims, int is_data);
Ast *ast_type(Arena *a, Loc loc, AstList dims);

/* parse_file (parser/parse.c): parse src into *out.  Syntax errors go to
 * d (the parser stops after the first one).  Returns 0 on success. */
int parse_file(Arena *a, Diag *d, const Source *src, AstFile *out);
/* The same with the syntax tree's nodes and lists in arena tree, and the
 * names and messages in a: the compiler frees tree once the tree is
 * lowered, while the IR keeps pointing at the names. */
int parse_file_in(Arena *a, Arena *tree, Diag *d, const Source *src, AstFile *out);

/* lex_dump (parser/parse.c), for tests and debugging: the tokens of src as
 * text, separated by spaces, e.g. "NUM(0) .. IDENT(N) NL EOF".  Numbers
 * print as NUM(%g) when written as integers and REAL(%g) otherwise,
 * identifiers as IDENT(name), keywords in capitals (FN, CONST, ...),
 * operators and punctuation as written, newlines as NL, the end as EOF.
 * With LEX_LOCS each token is followed by @LINE:COL.  A lexical error goes
 * to d and ends the text with "ERROR".  The text is cut to fit cap
 * (always NUL-terminated).  Returns 0, or 1 after a lexical error. */
enum { LEX_LOCS = 1 };
int lex_dump(Arena *a, Diag *d, const Source *src, int flags, char *buf, size_t cap);

/* Source text of a node kind, for messages. */
const char *ast_kind_name(AstKind k);
/* Source text of an AST_BIN operator: "+", "//", ... */
const char *ast_op_text(int op);
#endif
