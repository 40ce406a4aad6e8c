/*
 * view.c - the model every learning view draws from (view_build, see
 * view.h), and cg_views, which picks the functions, reads the point of
 * --at and calls the emitter --emit names.
 *
 * The graph is read off the primal IR in one walk of its regions: a node
 * per instruction a reader can name, an edge per operand with the
 * symbolic local derivative of the op's rule (cg_partial_text, the
 * table --explain uses), a cluster per loop and branch.  Whether a node
 * is active (has an adjoint) is the activity analysis of Hascoet and
 * Pascual's Tapenade ("varied" from the differentiated inputs and
 * "useful" for the result, both to a fixed point because a carried
 * value's "next" edge runs backwards).  Values and adjoints at a point
 * come from ir_record (ir/record.c), which runs the function once and
 * sweeps its recorded operations backwards.
 */
#include "view.h"
#include "cgen.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Arena *A;
    const Fn *f;
    View *v;
    int *node;          /* instruction -> node index, or -1 */
    CPrec *prec;        /* instruction -> the precedence of its expr */
    const char **ivname;/* IVAR -> its name (i, j, k... when unnamed) */
    int depth;          /* index variables of the loops around the walk */
    int ncap, ecap, ccap;
    const char **vname; /* the function's names (open addressing) ... */
    int *vcount;        /* ... and how many values shown so far carry each */
    unsigned vmask;
    unsigned char *next;/* instruction -> a loop step yields it as h[t+1] */
} Vb;

/* ---------------- numbers ---------------- */

const char *view_num(Arena *A, double x)
{
    if (isnan(x))
        return "nan";
    if (isinf(x))
        return x > 0 ? "inf" : "-inf";
    char buf[40];
    snprintf(buf, sizeof buf, "%.6g", x == 0 ? 0.0 : x);
    return arena_strdup(A, buf);
}

const char *view_summary(Arena *A, const double *v, long n, Type ty, int first)
{
    if (ty.rank == 0 && n == 1)
        return view_num(A, v[0]);
    Str s = {0};
    cg_puts(&s, "[");
    for (int d = 0; d < ty.rank; d++)
        cg_putf(&s, "%s%d", d ? ", " : "", (int)ty_dim(ty, d));
    if (ty.rank == 0)
        cg_putf(&s, "%ld", n);
    cg_puts(&s, "]:");
    double sq = 0;
    for (long i = 0; i < n; i++) {
        if (i < first)
            cg_putf(&s, "%s %s", i ? "," : "", view_num(A, v[i]));
        sq += v[i] * v[i];
    }
    if (n > first)
        cg_puts(&s, ", ...");
    cg_putf(&s, " (|v| = %s)", view_num(A, sqrt(sq)));
    const char *t = arena_strdup(A, s.p);
    free(s.p);
    return t;
}

const char *view_factor(Arena *A, const char *d)
{
    int depth = 0;
    for (const char *c = d; *c; c++) {
        depth += *c == '(' ? 1 : *c == ')' ? -1 : 0;
        if (*c == ' ' && depth == 0)
            return arena_printf(A, "(%s)", d);
    }
    return d;
}

/* ---------------- sentences the views share ---------------- */

const char *view_values(Arena *A, const VNode *n, const double *v)
{
    enum { FIRST = 6 };
    long size = (long)ty_size(n->ty);
    if (!v || n->nval == 0)
        return "(not computed: a branch not taken)";
    if (n->nval == size)
        return view_summary(A, v, n->nval, n->ty, FIRST);
    if (n->ty.rank)
        return arena_printf(A, "%ld runs, all values %s", n->nval / size,
                            view_summary(A, v, n->nval, (Type){0}, FIRST));
    Str s = {0}; /* the first and the last runs: a gradient's flow shows */
    cg_putf(&s, "by run (%ld):", n->nval);
    for (long i = 0; i < n->nval; i++) {
        if (n->nval > 2 * FIRST && i == FIRST / 2) {
            cg_puts(&s, ", ...");
            i = n->nval - FIRST / 2;
        }
        cg_putf(&s, "%s %s", i ? "," : "", view_num(A, v[i]));
    }
    const char *t = arena_strdup(A, s.p);
    free(s.p);
    return t;
}

/* The step of an if's result back to the value one branch gave it: the
 * adjoint goes to the branch that ran, "y_2_bar += y_3_bar if x > 1"
 * and "y_bar += y_3_bar unless x > 1" (a long condition by its name,
 * t7); at a point where the other ran, "(not taken: adds nothing)". */
static const char *branch_step(Arena *A, const View *v, const VEdge *e)
{
    const VNode *x = &v->nodes[e->from], *y = &v->nodes[e->to], *c = NULL;
    int then = !strcmp(e->kind, "then");
    /* the result's edges are made together: then, else, cond */
    for (long k = e - v->edges + 1; k < v->nedges && v->edges[k].to == e->to && !c; k++)
        if (v->edges[k].kind && !strcmp(v->edges[k].kind, "cond"))
            c = &v->nodes[v->edges[k].from];
    if (!c)
        return arena_printf(A, "%s_bar += %s_bar from the %s branch", x->var, y->var, e->kind);
    int ran = c->nval == 1 && (c->val[0] != 0) == then;
    const char *cond = strlen(c->label) <= 24 ? c->label : c->var; /* t7, as the forward pass lists it */
    return arena_printf(A, "%s_bar += %s_bar %s %s%s", x->var, y->var, then ? "if" : "unless", cond,
                        c->nval == 1 && !ran ? " (not taken: adds nothing)" : "");
}

const char *view_step(Arena *A, const View *v, const VEdge *e)
{
    const VNode *x = &v->nodes[e->from], *y = &v->nodes[e->to];
    const char *step = arena_printf(A, "%s_bar += %s_bar * %s", x->var, y->var, view_factor(A, e->d));
    if (e->kind && !strcmp(e->kind, "next"))
        step = arena_printf(A, "%s_bar += %s_bar of the step after", x->var, y->var);
    else if (e->kind && !strcmp(e->kind, "init"))
        step = arena_printf(A, "%s_bar += %s_bar of the first step", x->var, y->var);
    else if (e->kind && !strcmp(e->kind, "last"))
        step = arena_printf(A, "%s_bar += %s_bar, at the last step", x->var, y->var);
    else if (e->kind && (!strcmp(e->kind, "then") || !strcmp(e->kind, "else")))
        return branch_step(A, v, e);
    if (e->has_dval && y->adj && y->nval == 1)
        step = arena_printf(A, "%s = %s * %s", step, view_num(A, y->adj[0]), view_num(A, e->dval));
    return step;
}

/* ---------------- labels ---------------- */

static const char *lower_op(Arena *A, Op op)
{
    char *s = arena_strdup(A, op_info[op].name);
    for (char *c = s; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return s;
}

/* An affine index as text, IVARs by their names ("t + 1", "2*i"). */
static const char *view_iv_name(const void *ctx, Ref iv)
{
    const Vb *b = ctx;
    return b->ivname[iv] ? b->ivname[iv] : "i";
}

static const char *aff_text(const Vb *b, Aff x)
{
    Arena *A = b->A;
    if (x.nq) /* a polynomial index, in dx's syntax */
        return aff_src_text(A, x, view_iv_name, b);
    Str s = {0};
    for (int i = 0; i < x.n; i++) {
        const char *iv = b->ivname[x.iv[i]] ? b->ivname[x.iv[i]] : "i";
        if (x.a[i] == 1)
            cg_putf(&s, "%s%s", i ? " + " : "", iv);
        else
            cg_putf(&s, "%s%d*%s", i ? " + " : "", (int)x.a[i], iv);
    }
    if (x.c || !x.n)
        cg_putf(&s, x.n ? " %c %d" : "%c%d", x.c < 0 ? '-' : x.n ? '+' : ' ',
                (int)(x.c < 0 ? -x.c : x.c));
    const char *t = arena_strdup(A, s.p[0] == ' ' ? s.p + 1 : s.p);
    free(s.p);
    return t;
}

/* The label of operand k of instruction `in`, or "?" */
static const char *arg_label(const Vb *b, Ref r)
{
    if (r == NOREF)
        return "?";
    const Inst *a = &b->f->v.p[r];
    if (a->op == OP_IVAR)
        return b->ivname[r] ? b->ivname[r] : "i";
    if (a->op == OP_IREAL)
        return aff_text(b, a->x->ix[0]);
    int n = b->node[r];
    return n >= 0 ? b->v->nodes[n].label : "?";
}

static const char *shorten(Arena *A, const char *s)
{
    size_t n = strlen(s);
    if (n <= 40)
        return s;
    return arena_printf(A, "%.37s...", s);
}

/* The label of operand r, parenthesised unless its expression binds at
 * least as tightly as `need` (C's precedence levels, as ops.def). */
static const char *opnd(const Vb *b, Ref r, CPrec need)
{
    const char *s = arg_label(b, r);
    if (r == NOREF || b->node[r] < 0 || b->v->nodes[b->node[r]].name || b->prec[r] >= need)
        return s;
    return arena_printf(b->A, "(%s)", s);
}

/* The precedence of the expression form() writes for `in`. */
static CPrec form_prec(const Inst *in)
{
    const OpInfo *oi = &op_info[in->op];
    switch ((Op)in->op) {
    case OP_CONST: return in->x->num < 0 ? P_UNARY : P_PRIMARY;
    case OP_POWI:
    case OP_POW: return P_UNARY;
    case OP_SELECT: return P_COND;
    default: return (oi->kind == K_ARITH || oi->kind == K_BOOL) && *oi->cname ? oi->prec : P_PRIMARY;
    }
}

/* What a picture writes for an unnamed instruction: its expression. */
static const char *form(const Vb *b, const Inst *in)
{
    Arena *A = b->A;
    const OpInfo *oi = &op_info[in->op];
    const char *x = arg_label(b, in->arg[0]), *y = arg_label(b, in->arg[1]);
    const char *cn = oi->cname;
    int nargs = oi->nargs;
    switch ((Op)in->op) {
    case OP_CONST: return view_num(A, in->x->num);
    case OP_POWI: return arena_printf(A, "%s^%d", opnd(b, in->arg[0], P_PRIMARY), (int)in->n);
    case OP_POW: return arena_printf(A, "%s^%s", opnd(b, in->arg[0], P_PRIMARY), opnd(b, in->arg[1], P_PRIMARY));
    case OP_SELECT:
        return arena_printf(A, "%s ? %s : %s", opnd(b, in->arg[0], P_OR), opnd(b, in->arg[1], P_COND),
                            opnd(b, in->arg[2], P_COND));
    case OP_IREAL: return aff_text(b, in->x->ix[0]);
    case OP_IDX: {
        Str s = {0};
        cg_putf(&s, "%s[", x);
        for (int d = 0; d < in->nix; d++)
            cg_putf(&s, "%s%s", d ? ", " : "", aff_text(b, in->x->ix[d]));
        cg_puts(&s, "]");
        const char *t = arena_strdup(A, s.p);
        free(s.p);
        return t;
    }
    case OP_LIT: return arena_printf(A, "[%d values]", in->nix);
    case OP_ABS: return arena_printf(A, "abs(%s)", x);
    case OP_SQRTZ: return arena_printf(A, "sqrt(%s)", x);
    default: break;
    }
    if ((oi->kind == K_ARITH || oi->kind == K_BOOL) && *cn)
        return nargs == 1 ? arena_printf(A, "%s%s", cn, opnd(b, in->arg[0], oi->rhs))
                          : arena_printf(A, "%s %s %s", opnd(b, in->arg[0], oi->lhs), cn,
                                         opnd(b, in->arg[1], oi->rhs));
    if (oi->kind == K_MATH)
        return nargs == 1 ? arena_printf(A, "%s(%s)", lower_op(A, (Op)in->op), x)
                          : arena_printf(A, "%s(%s, %s)", lower_op(A, (Op)in->op), x, y);
    return lower_op(A, (Op)in->op);
}

/* ---------------- versions of a name ----------------
 *
 * A name several values carry (y = x * x, then y = y * 3 in a branch,
 * then the branch's result) is shown y, y_2, y_3 in the order the values
 * are made, so that no sentence reads
 * "y = x > 1 ? y : y" or "y_bar += y_bar * 3".  A parameter keeps its
 * name, as do a loop's carried value (h[t]) and what a step yields
 * (h[t+1]); a version never takes a name of the source (y_2 when the
 * model has its own y_2 becomes y_3). */

/* The slot of name s: where it is, or the empty one it would take. */
static unsigned ver_slot(const Vb *b, const char *s)
{
    unsigned h = dx_hash(s) & b->vmask;
    while (b->vname[h] && strcmp(b->vname[h], s))
        h = (h + 1) & b->vmask;
    return h;
}

/* Every name of the function, the parameters' counted as shown. */
static void ver_init(Vb *b)
{
    const Fn *f = b->f;
    unsigned size = 16;
    while (size < 2u * (unsigned)(f->v.n + f->in.n + 1))
        size *= 2;
    b->vmask = size - 1;
    b->vname = arena_alloc(b->A, sizeof(char *) * size);
    b->vcount = arena_alloc(b->A, sizeof(int) * size);
    b->next = arena_alloc(b->A, (size_t)f->v.n + 1);
    for (int i = 0; i < f->v.n + f->in.n; i++) {
        const char *s = i < f->v.n ? f->v.p[i].name : f->in.p[i - f->v.n].name;
        if (!s)
            continue;
        unsigned h = ver_slot(b, s);
        b->vname[h] = s;
        if (i >= f->v.n)
            b->vcount[h] = 1;
    }
}

/* How the next value named s is shown: s the first time, then s_2, s_3,
 * ... (skipping the source's own names). */
static const char *version(Vb *b, const char *s)
{
    unsigned h = ver_slot(b, s); /* there: ver_init listed every name */
    if (b->vcount[h]++ == 0)
        return s;
    for (;;) {
        const char *v = arena_printf(b->A, "%s_%d", s, b->vcount[h]);
        if (!b->vname[ver_slot(b, v)])
            return v;
        b->vcount[h]++;
    }
}

/* The result, when its name is a version (the loop of
 * `x = x * 2` returning x, x a parameter: x_4), is shown by the
 * function's name, as an unnamed one is ("df/dx", not "dx_4/dx"), if
 * nothing reads it and no value of the source has that name. */
static void result_name(Vb *b)
{
    View *v = b->v;
    if (v->result < 0)
        return;
    VNode *r = &v->nodes[v->result];
    if (!r->name || !r->var || !strcmp(r->var, r->name) || b->next[r->id] ||
        b->vname[ver_slot(b, b->f->src_name)])
        return;
    for (int e = 0; e < v->nedges; e++)
        if (v->edges[e].from == v->result)
            return;
    r->label = r->var = b->f->src_name;
}

/* ---------------- building ---------------- */

static int add_node(Vb *b, Ref id, const char *label)
{
    View *v = b->v;
    if (v->nnodes == b->ncap) {
        b->ncap = b->ncap ? 2 * b->ncap : 64;
        VNode *p = arena_alloc(b->A, sizeof *p * (size_t)b->ncap);
        if (v->nnodes)
            memcpy(p, v->nodes, sizeof *p * (size_t)v->nnodes);
        v->nodes = p;
    }
    const Inst *in = &b->f->v.p[id];
    VNode *n = &v->nodes[v->nnodes];
    memset(n, 0, sizeof *n);
    n->id = id;
    n->op = lower_op(b->A, (Op)in->op);
    n->name = in->op == OP_PARAM ? b->f->in.p[in->n].name : in->name;
    n->label = shorten(b->A, n->name ? n->name : label);
    if (n->name && in->op != OP_PARAM && in->op != OP_CARRY && !b->next[id])
        n->label = n->var = version(b, n->name);
    n->expr = in->op == OP_PARAM ? n->name : label;
    n->line = in->line;
    n->ty = in->ty;
    n->param = in->op == OP_PARAM ? in->n : -1;
    n->cluster = -1;
    b->node[id] = v->nnodes;
    return v->nnodes++;
}

static void add_edge(Vb *b, Ref from, int to, int k, const char *kind, const char *d)
{
    View *v = b->v;
    if (from == NOREF || b->node[from] < 0)
        return;
    if (v->nedges == b->ecap) {
        b->ecap = b->ecap ? 2 * b->ecap : 64;
        VEdge *p = arena_alloc(b->A, sizeof *p * (size_t)b->ecap);
        if (v->nedges)
            memcpy(p, v->edges, sizeof *p * (size_t)v->nedges);
        v->edges = p;
    }
    VEdge *e = &v->edges[v->nedges++];
    memset(e, 0, sizeof *e);
    e->from = b->node[from];
    e->to = to;
    e->k = k;
    e->kind = kind;
    e->d = d;
}

static int add_cluster(Vb *b, const char *kind, const char *label, int parent, int line)
{
    View *v = b->v;
    if (v->nclusters == b->ccap) {
        b->ccap = b->ccap ? 2 * b->ccap : 16;
        VCluster *p = arena_alloc(b->A, sizeof *p * (size_t)b->ccap);
        if (v->nclusters)
            memcpy(p, v->clusters, sizeof *p * (size_t)v->nclusters);
        v->clusters = p;
    }
    VCluster *c = &v->clusters[v->nclusters];
    c->kind = kind;
    c->label = label;
    c->parent = parent;
    c->line = line;
    c->head = -1;
    return v->nclusters++;
}

/* The operand edges of an ordinary instruction (node n); those of a
 * rule get its local derivative from partials(). */
static const char rule_pending[] = "(rule)";

static void operand_edges(Vb *b, const Inst *in, int n)
{
    int nargs = op_info[in->op].nargs;
    for (int k = 0; k < nargs; k++) {
        const char *d = NULL;
        if (in->op == OP_IDX)
            d = "1";
        else if (rule_has((Op)in->op))
            d = rule_pending; /* partials(), once every label is final */
        add_edge(b, in->arg[k], n, k, NULL, d);
    }
    if (in->op == OP_LIT)
        for (int k = 0; k < in->nix; k++)
            add_edge(b, in->x->list[k], n, k, NULL, "1");
}

static void walk(Vb *b, const Region *r, int cl);

static const char *red_name(int red)
{
    static const char *const names[] = {"sum", "prod", "max", "min"};
    return names[red];
}

/* The label of a GEN, RED or FOR's cluster ("for t in 0..10"). */
static const char *loop_label(Vb *b, Ref id)
{
    const Fn *f = b->f;
    const Inst *in = &f->v.p[id];
    Arena *A = b->A;
    if (in->op == OP_FOR || in->op == OP_RED) {
        return arena_printf(A, "%s %s in %s..%s", in->op == OP_FOR ? "for" : red_name(in->red),
                            b->ivname[ir_ivar(f, id, 0)], aff_text(b, in->x->ix[0]),
                            aff_text(b, in->x->ix[1]));
    }
    Str s = {0};
    cg_puts(&s, "each ");
    for (int d = 0; d < in->ty.rank; d++) {
        cg_putf(&s, "%s%s in 0..%d", d ? ", " : "", b->ivname[ir_ivar(f, id, d)], (int)ty_dim(in->ty, d));
    }
    const char *t = arena_strdup(A, s.p);
    free(s.p);
    return t;
}

/* The RESULTs following a GEN/RED/FOR/IF at position `at` of r: nodes,
 * with their edges from what the body (or each branch) yields. */
static void results(Vb *b, const Region *r, int at, int cl)
{
    const Fn *f = b->f;
    Ref id = r->ids.p[at];
    const Inst *own = &f->v.p[id];
    int n = ir_nresults(f, r, at);
    for (int j = 0; j < n; j++) {
        Ref res = r->ids.p[at + 1 + j];
        const Inst *in = &f->v.p[res];
        const char *lab;
        if (own->op == OP_IF)
            lab = arena_printf(b->A, "%s ? %s : %s", arg_label(b, own->arg[0]),
                               arg_label(b, own->x->reg[0]->yield.p[in->n]),
                               arg_label(b, own->x->reg[1]->yield.p[in->n]));
        else if (own->op == OP_RED)
            lab = arena_printf(b->A, "%s(%s)", red_name(own->red), arg_label(b, own->x->reg[0]->yield.p[in->n]));
        else if (own->op == OP_GEN)
            lab = arena_printf(b->A, "[%s]", arg_label(b, own->x->reg[0]->yield.p[in->n]));
        else
            lab = arg_label(b, own->x->reg[0]->yield.p[in->n]);
        int nd = add_node(b, res, lab);
        b->v->nodes[nd].cluster = cl;
        b->prec[res] = own->op == OP_IF  ? P_COND
                       : own->op == OP_FOR ? b->prec[own->x->reg[0]->yield.p[in->n]]
                                           : P_PRIMARY;
        if (own->op == OP_IF) {
            add_edge(b, own->x->reg[0]->yield.p[in->n], nd, -1, "then", "1");
            add_edge(b, own->x->reg[1]->yield.p[in->n], nd, -1, "else", "1");
            add_edge(b, own->arg[0], nd, -1, "cond", NULL);
            continue;
        }
        const char *kind = own->op == OP_GEN ? "each" : own->op == OP_FOR ? "last" : red_name(own->red);
        const char *d = "1";
        if (own->op == OP_RED && own->red == RK_PROD)
            d = arena_printf(b->A, "%s/%s", b->v->nodes[nd].label,
                             arg_label(b, own->x->reg[0]->yield.p[in->n]));
        else if (own->op == OP_RED && own->red >= RK_MAX)
            d = arena_printf(b->A, "1 where %s wins", arg_label(b, own->x->reg[0]->yield.p[in->n]));
        add_edge(b, own->x->reg[0]->yield.p[in->n], nd, -1, kind, d);
    }
}

/* A GEN, RED or FOR: its cluster, its carried values, its body. */
static void loop(Vb *b, const Region *r, int at, int cl)
{
    const Fn *f = b->f;
    Ref id = r->ids.p[at];
    const Inst *in = &f->v.p[id];
    const char *kind = in->op == OP_FOR ? "for" : in->op == OP_GEN ? "gen" : red_name(in->red);
    int nv = ir_nivars(f, id);
    for (int d = 0; d < nv; d++) { /* unnamed index variables: i, j, k, ... */
        Ref iv = ir_ivar(f, id, d);
        b->ivname[iv] = f->v.p[iv].name ? f->v.p[iv].name
                                         : arena_printf(b->A, "%c", "ijklmnopqr"[(b->depth + d) % 10]);
    }
    int c = add_cluster(b, kind, loop_label(b, id), cl, in->line);
    const Region *body = in->x->reg[0];
    int first = b->v->nnodes;
    for (int i = 0; i < body->ids.n; i++) { /* the carried values first */
        const Inst *cy = &f->v.p[body->ids.p[i]];
        if (cy->op != OP_CARRY)
            continue;
        int nd = add_node(b, body->ids.p[i], arena_printf(b->A, "carried %d", (int)cy->n));
        b->prec[body->ids.p[i]] = P_PRIMARY;
        b->v->nodes[nd].cluster = c;
        add_edge(b, in->x->list[cy->n], nd, -1, "init", "1");
    }
    int ncarry = b->v->nnodes - first;
    const char *t = b->ivname[ir_ivar(f, id, 0)];
    for (int j = 0; j < ncarry; j++) { /* h[t]: the value step t starts from */
        VNode *cy = &b->v->nodes[first + j];
        if (cy->name)
            cy->label = cy->var = arena_printf(b->A, "%s[%s]", cy->name, t);
        Ref y = body->yield.p[f->v.p[cy->id].n]; /* h[t+1], below: no version */
        if (cy->name && f->v.p[y].parent == body && f->v.p[y].name && !strcmp(f->v.p[y].name, cy->name))
            b->next[y] = 1;
    }
    b->depth += nv;
    walk(b, body, c);
    b->depth -= nv;
    for (int j = 0; j < ncarry; j++) {
        VNode *cy = &b->v->nodes[first + j];
        Ref y = body->yield.p[f->v.p[cy->id].n];
        add_edge(b, y, first + j, -1, "next", "1");
        int yn = b->node[y]; /* h[t+1]: the value step t ends with */
        if (cy->name && yn >= 0 && b->v->nodes[yn].cluster == c && b->v->nodes[yn].name &&
            !strcmp(b->v->nodes[yn].name, cy->name))
            b->v->nodes[yn].label = b->v->nodes[yn].var = arena_printf(b->A, "%s[%s+1]", cy->name, t);
        cy->expr = arena_printf(b->A, "%s, then %s of the step before",
                                arg_label(b, in->x->list[f->v.p[cy->id].n]), cy->name ? cy->name : "it");
    }
    if (ir_nresults(f, r, at) > 0)
        b->v->clusters[c].head = b->v->nnodes;
    results(b, r, at, cl);
}

static void branch(Vb *b, const Region *r, int at, int cl)
{
    const Inst *in = &b->f->v.p[r->ids.p[at]];
    const char *cond = arg_label(b, in->arg[0]);
    int head = b->v->nnodes;
    for (int s = 0; s < 2; s++) {
        int c = add_cluster(b, s ? "else" : "then",
                            s ? arena_printf(b->A, "else (not %s)", cond)
                              : arena_printf(b->A, "then (%s)", cond),
                            cl, in->line);
        walk(b, in->x->reg[s], c);
        head = b->v->nnodes;
        b->v->clusters[c].head = ir_nresults(b->f, r, at) > 0 ? head : -1;
    }
    results(b, r, at, cl);
}

static void walk(Vb *b, const Region *r, int cl)
{
    const Fn *f = b->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        switch ((Op)in->op) {
        case OP_IVAR:
        case OP_CARRY: /* the loop made it */
        case OP_RESULT: continue; /* made with its owner */
        case OP_GEN:
        case OP_RED:
        case OP_FOR: loop(b, r, i, cl); continue;
        case OP_IF: branch(b, r, i, cl); continue;
        default: break;
        }
        int n = add_node(b, id, form(b, in));
        b->prec[id] = form_prec(in);
        b->v->nodes[n].cluster = cl;
        operand_edges(b, in, n);
    }
}

/* How a derivative names operand r: its label, or past 16 characters
 * its var (t7), which the views show beside the label. */
static const char *short_name(const Vb *b, Ref r)
{
    const char *s = arg_label(b, r);
    if (r == NOREF || b->node[r] < 0 || strlen(s) <= 16)
        return s;
    return b->v->nodes[b->node[r]].var;
}

/* Each rule edge's local derivative, in the operands' final labels
 * (a loop's h[t] is named after the walk). */
static void partials(Vb *b)
{
    View *v = b->v;
    for (int e = 0; e < v->nedges; e++) {
        VEdge *x = &v->edges[e];
        if (x->d != rule_pending)
            continue;
        const VNode *to = &v->nodes[x->to];
        const Inst *in = &b->f->v.p[to->id];
        const char *args[3] = {short_name(b, in->arg[0]), short_name(b, in->arg[1]),
                               short_name(b, in->arg[2])};
        const char *y = to->name || strlen(to->label) > 12 ? to->var : NULL;
        x->d = cg_partial_text(b->A, (Op)in->op, x->k, args, y, (int)in->n);
    }
}

/* Activity: varied from the differentiated parameters along edges with
 * a derivative, useful for the result against them; to a fixed point. */
static void activity(View *v)
{
    unsigned char *var = calloc((size_t)v->nnodes + 1, 2), *use = var + v->nnodes;
    if (!var)
        BUG("view: out of memory");
    for (int i = 0; i < v->nparams; i++)
        var[v->params[i].node] = !v->params[i].data;
    if (v->result >= 0)
        use[v->result] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int e = 0; e < v->nedges; e++) {
            const VEdge *x = &v->edges[e];
            if (!x->d)
                continue;
            if (var[x->from] && !var[x->to])
                changed = var[x->to] = 1;
            if (use[x->to] && !use[x->from])
                changed = use[x->from] = 1;
        }
    }
    for (int i = 0; i < v->nnodes; i++)
        v->nodes[i].active = var[i] && use[i];
    free(var);
}

static void params(Vb *b)
{
    const Fn *f = b->f;
    View *v = b->v;
    v->nparams = f->in.n;
    v->params = arena_alloc(b->A, sizeof *v->params * (size_t)(f->in.n + 1));
    for (int i = 0; i < f->in.n; i++) {
        v->params[i].name = f->in.p[i].name;
        v->params[i].ty = f->in.p[i].ty;
        v->params[i].data = f->in.p[i].is_data;
        v->params[i].node = -1;
    }
    for (int n = 0; n < v->nnodes; n++)
        if (v->nodes[n].param >= 0)
            v->params[v->nodes[n].param].node = n;
    for (int i = 0; i < f->in.n; i++)
        if (v->params[i].node < 0) { /* an unused parameter still shows */
            Ref id = NOREF;
            for (int k = 0; k < f->v.n && id == NOREF; k++)
                if (f->v.p[k].op == OP_PARAM && f->v.p[k].n == i)
                    id = k;
            if (id != NOREF)
                v->params[i].node = add_node(b, id, f->in.p[i].name);
        }
}

/* The values and adjoints of ir_record, on the nodes, params and edges
 * that ran once. */
static void values(Vb *b, const double *const *at)
{
    View *v = b->v;
    const Fn *f = b->f;
    IrRecord *rec = ir_record(b->A, f, at, v->scalar);
    if (rec->too_big) {
        v->too_big = 1;
        return;
    }
    v->at = 1;
    v->value = rec->out[0];
    for (int n = 0; n < v->nnodes; n++) {
        VNode *x = &v->nodes[n];
        const IrTrace *t = &rec->tr[x->id];
        x->nval = t->n;
        x->val = t->val;
        x->adj = x->active ? t->adj : NULL;
    }
    for (int n = 0; n < v->nnodes; n++) { /* a body's runs: its nodes' */
        const VNode *x = &v->nodes[n];
        long size = (long)ty_size(x->ty), runs = size ? x->nval / size : 0;
        if (x->cluster >= 0 && runs > v->clusters[x->cluster].runs)
            v->clusters[x->cluster].runs = runs;
    }
    for (int i = 0; i < v->nparams; i++) {
        VParam *p = &v->params[i];
        p->val = at[i];
        p->grad = v->scalar && !p->data ? rec->grad[i] : NULL;
    }
    for (int e = 0; e < v->nedges; e++) {
        VEdge *x = &v->edges[e];
        const VNode *to = &v->nodes[x->to];
        const Inst *in = &f->v.p[to->id];
        if (!x->d || x->k < 0 || to->nval != 1 || in->op == OP_IDX || in->op == OP_LIT)
            continue;
        double a[3] = {0, 0, 0};
        for (int k = 0; k < op_info[in->op].nargs; k++) {
            const IrTrace *t = &rec->tr[in->arg[k]];
            if (t->n != 1)
                goto skip;
            a[k] = t->val[0];
        }
        x->dval = ir_partial_value(in, a, to->val[0], x->k);
        x->has_dval = 1;
    skip:;
    }
}

View *view_build(Arena *A, const Unit *u, const double *const *at)
{
    const Fn *f = u->primal;
    View *v = arena_alloc(A, sizeof *v);
    Vb b = {.A = A, .f = f, .v = v, .node = arena_alloc(A, sizeof(int) * (size_t)(f->v.n + 1)),
            .prec = arena_alloc(A, sizeof(CPrec) * (size_t)(f->v.n + 1)),
            .ivname = arena_alloc(A, sizeof(char *) * (size_t)(f->v.n + 1))};
    for (int i = 0; i < f->v.n; i++)
        b.node[i] = -1;
    v->f = f;
    ver_init(&b);
    walk(&b, f->body, -1);
    params(&b);
    v->result = b.node[f->out.p[0].ref];
    result_name(&b);
    for (int i = 0; i < v->nnodes; i++) { /* loop() named h[t] and h[t+1] */
        VNode *n = &v->nodes[i];
        if (!n->var)
            n->var = n->name ? n->name : i == v->result ? f->src_name : arena_printf(A, "t%d", i);
    }
    partials(&b);
    v->scalar = f->out.p[0].ty.rank == 0;
    activity(v);
    if (at)
        values(&b, at);
    return v;
}
