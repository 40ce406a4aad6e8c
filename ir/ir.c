/*
 * ir.c - building and verifying IR functions (irprint.c prints them,
 * irread.c reads them back).
 */
#include "ir.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const OpInfo op_info[OP_COUNT] = {
#define OP(name, nargs, kind, cname, prec, lhs, rhs, rule) \
    [OP_##name] = {#name, nargs, kind, cname, prec, lhs, rhs},
#include "ops.def"
#undef OP
};

Type ty_scalar(void)
{
    Type t = {0};
    t.kind = TY_REAL;
    return t;
}

Type ty_bool(void)
{
    Type t = {0};
    t.kind = TY_BOOL;
    return t;
}

Type ty_index(void)
{
    Type t = {0};
    t.kind = TY_INDEX;
    return t;
}

Type ty_none(void)
{
    Type t = {0};
    t.kind = TY_NONE;
    return t;
}

Fn *ir_fn_new(Arena *a, const char *name, FnKind kind)
{
    Fn *f = arena_alloc(a, sizeof *f);
    f->arena = a;
    f->name = name;
    f->kind = kind;
    f->body = ir_region_new(f, NOREF, 0);
    return f;
}

void ir_reserve(Fn *f, int n)
{
    if (f->v.cap >= n)
        return;
    if (!f->v.p) /* an estimate: maybe more than it will hold */
        f->v.p = arena_alloc_room(f->arena, sizeof(Inst) * (size_t)n);
    else
        f->v.p = arena_grow(f->arena, f->v.p, sizeof(Inst) * (size_t)f->v.cap, sizeof(Inst) * (size_t)n);
    f->v.cap = n;
}

Region *ir_region_new(Fn *f, Ref owner, int side)
{
    Region *r = arena_alloc(f->arena, sizeof *r);
    r->owner = owner;
    r->side = side;
    return r;
}

IrAt ir_at_of(Fn *f, Region *r, const Inst *in)
{
    IrAt at = ir_at(f, r);
    at.line = in->line;
    at.role = in->role;
    at.flags = in->flags;
    at.rule_op = in->rule_op;
    at.rule_arg = in->rule_arg;
    at.rule_src = in->rule_src;
    return at;
}

/* Read only: a write through it faults rather than change every
 * instruction without an InstExt of its own. */
const InstExt ir_no_ext = {{NULL, NULL}, NULL, NULL, 0};

static int owns_ext(int op)
{
    return op == OP_CONST || op == OP_IF || op == OP_GEN || op == OP_RED || op == OP_LOOP || op == OP_FOR ||
           op == OP_IDX || op == OP_ACC || op == OP_LIT || op == OP_IREAL;
}

InstExt *ir_ext_new(Arena *a, int op)
{
    return owns_ext(op) ? arena_alloc(a, sizeof(InstExt)) : (InstExt *)&ir_no_ext;
}

/* A large function's instruction array fills a page every few
 * thousand instructions; every WARM_EVERY, the warm region's thread is
 * asked to fault in the pages from WARM_FROM to WARM_TO bytes past the
 * last (dx_warm_ahead), within the room the array has. */
enum { WARM_EVERY = 1 << 14, WARM_FROM = 2 << 20, WARM_TO = 8 << 20 };

static void warm_ahead(const Fn *f)
{
    size_t room = sizeof(Inst) * (size_t)(f->v.cap - f->v.n);
    if (room > WARM_FROM)
        dx_warm_ahead((char *)(f->v.p + f->v.n) + WARM_FROM, (room < WARM_TO ? room : WARM_TO) - WARM_FROM);
}

Ref ir_add(IrAt at, Op op, Type ty, Ref a, Ref b, Ref c)
{
    Inst in = {0};
    in.op = (uint8_t)op;
    in.x = ir_ext_new(at.f->arena, op);
    in.role = at.role;
    in.flags = at.flags;
    in.rule_op = at.rule_op;
    in.rule_arg = at.rule_op ? at.rule_arg : -1;
    in.rule_src = at.rule_op ? at.rule_src : NOREF;
    in.line = at.line;
    in.ty = ty;
    in.arg[0] = a;
    in.arg[1] = b;
    in.arg[2] = c;
    in.parent = at.r;
    Fn *f = at.f;
    f->has_red |= op == OP_RED;
    vec_push(f->arena, &f->v, in);
    if (!(f->v.n & (WARM_EVERY - 1))) /* the next pages it will fill */
        warm_ahead(f);
    Ref id = f->v.n - 1;
    vec_push(f->arena, &at.r->ids, id);
    return id;
}

Ref ir_op(IrAt at, Op op, Ref a, Ref b, Ref c)
{
    return ir_add(at, op, op_info[op].kind == K_BOOL ? ty_bool() : ty_scalar(), a, b, c);
}

int ir_index_const(const Inst *in, int32_t *v)
{
    if (in->op != OP_CONST || in->ty.kind != TY_REAL || in->x->num != floor(in->x->num) ||
        !(fabs(in->x->num) < 1e9))
        return 0;
    *v = (int32_t)in->x->num;
    return 1;
}

Ref ir_num(IrAt at, double v)
{
    Ref c = ir_add(at, OP_CONST, ty_scalar(), NOREF, NOREF, NOREF);
    at.f->v.p[c].x->num = v;
    return c;
}

Ref ir_powi(IrAt at, Ref a, int n)
{
    Ref r = ir_add(at, OP_POWI, ty_scalar(), a, NOREF, NOREF);
    at.f->v.p[r].n = n;
    return r;
}

Ref ir_idx(IrAt at, Ref arr, Aff *ix, int nix)
{
    Ref r = ir_add(at, OP_IDX, ty_scalar(), arr, NOREF, NOREF);
    at.f->v.p[r].nix = nix;
    at.f->v.p[r].x->ix = ix;
    return r;
}

Ref ir_acc(IrAt at, Ref buf, Aff *ix, int nix, Ref v)
{
    Ref a = ir_add(at, OP_ACC, ty_none(), buf, v, NOREF);
    at.f->v.p[a].nix = nix;
    at.f->v.p[a].x->ix = ix;
    return a;
}

Ref ir_result(IrAt at, Type ty, Ref owner, int n)
{
    Ref r = ir_add(at, OP_RESULT, ty, owner, NOREF, NOREF);
    at.f->v.p[r].n = n;
    return r;
}

Ref ir_emit(Fn *f, Region *r, Op op, Type ty, Ref a, Ref b, Ref c)
{
    return ir_add(ir_at(f, r), op, ty, a, b, c);
}

Ref ir_const(Fn *f, Region *r, double k)
{
    return ir_num(ir_at(f, r), k);
}

Ref ir_param(Fn *f, Region *r, int index)
{
    Ref p = ir_emit(f, r, OP_PARAM, f->in.p[index].ty, NOREF, NOREF, NOREF);
    f->v.p[p].n = index;
    f->v.p[p].name = f->in.p[index].name;
    return p;
}

/* The IVARs 0..n-1 of loop l, at the start of its body (primal). */
static void add_ivars(Fn *f, Ref l, int n)
{
    IrAt at = ir_at(f, f->v.p[l].x->reg[0]);
    for (int k = 0; k < n; k++) {
        Ref iv = ir_add(at, OP_IVAR, ty_index(), NOREF, NOREF, NOREF);
        f->v.p[iv].n = k;
    }
}

Ref ir_loop(IrAt at, Op op, Type ty, int nivars, RedKind kind)
{
    ASSERT(op == OP_GEN || op == OP_RED || op == OP_LOOP);
    Fn *f = at.f;
    Ref l = ir_add(at, op, ty, NOREF, NOREF, NOREF);
    f->v.p[l].x->reg[0] = ir_region_new(f, l, 0);
    f->v.p[l].red = (uint8_t)kind;
    add_ivars(f, l, nivars);
    if (op == OP_LOOP) {
        f->v.p[l].nix = nivars;
        f->v.p[l].x->ix = arena_alloc(f->arena, sizeof(Aff) * (size_t)(2 * nivars + 1));
    } else if (op == OP_RED) {
        f->v.p[l].x->ix = arena_alloc(f->arena, sizeof(Aff) * 2);
    }
    return l;
}

Ref ir_loop_new(Fn *f, Region *r, Op op, Type ty, int nivars)
{
    return ir_loop(ir_at(f, r), op, ty, nivars, RK_SUM);
}

const char *ir_shown_name(Arena *a, const Inst *in)
{
    if (!in->name || !ir_is_tape(in))
        return in->name;
    return arena_name(a, in->name, "_tape", -1);
}

int ir_costly_op(Op op)
{
    switch (op) {
    case OP_ABS: case OP_SIGN: case OP_RELU: case OP_MIN: case OP_MAX: case OP_POWI:
    case OP_MULZ: case OP_DIVZ:
        return 0;
    default:
        return op_info[op].kind == K_MATH;
    }
}

int ir_naffs(const Inst *in)
{
    switch (in->op) {
    case OP_IDX:
    case OP_ACC: return in->nix;
    case OP_RED:
    case OP_FOR: return 2;
    case OP_LOOP: return 2 * in->nix;
    case OP_IREAL: return 1;
    default: return 0;
    }
}

Ref ir_for(IrAt at, int32_t lo, int32_t hi, int nix, const Ref *init, const uint8_t *crole)
{
    Fn *f = at.f;
    Ref l = ir_add(at, OP_FOR, ty_none(), NOREF, NOREF, NOREF);
    Region *body = ir_region_new(f, l, 0);
    Inst *in = &f->v.p[l];
    in->x->reg[0] = body;
    in->nix = nix;
    in->x->ix = arena_alloc(f->arena, sizeof(Aff) * 2);
    in->x->ix[0] = aff_const(f->arena, lo);
    in->x->ix[1] = aff_const(f->arena, hi);
    in->x->list = arena_alloc(f->arena, sizeof(Ref) * (size_t)(nix + 1));
    for (int j = 0; j < nix; j++)
        f->v.p[l].x->list[j] = init[j];
    add_ivars(f, l, 1);
    IrAt cat = ir_at(f, body);
    for (int j = 0; j < nix; j++) {
        cat.role = crole ? crole[j] : ROLE_PRIMAL;
        Ref c = ir_add(cat, OP_CARRY, f->v.p[init[j]].ty, NOREF, NOREF, NOREF);
        f->v.p[c].n = j;
        f->v.p[c].name = f->v.p[init[j]].name;
    }
    return l;
}

Ref ir_for_new(Fn *f, Region *r, int32_t lo, int32_t hi, int nix, const Ref *init)
{
    return ir_for(ir_at(f, r), lo, hi, nix, init, NULL);
}

/* r through map (NULL, or an entry NOREF: unchanged). */
static Ref through(const Ref *map, Ref r)
{
    return r == NOREF || !map || map[r] == NOREF ? r : map[r];
}

/* Copies the index data of `in` to the new instruction x, through map. */
static void copy_index_data(Fn *g, Inst *x, const Inst *in, const Ref *map)
{
    x->nix = in->nix;
    int na = ir_naffs(in);
    if (na) {
        x->x->ix = arena_alloc(g->arena, sizeof(Aff) * (size_t)na);
        for (int j = 0; j < na; j++)
            x->x->ix[j] = map ? aff_remap(g->arena, in->x->ix[j], map) : aff_copy(g->arena, in->x->ix[j]);
    }
    if (in->op == OP_LIT) {
        x->x->list = arena_alloc(g->arena, sizeof(Ref) * (size_t)(in->nix + 1));
        for (int j = 0; j < in->nix; j++)
            x->x->list[j] = through(map, in->x->list[j]);
    }
}

Ref ir_copy_at(IrAt at, const Inst *in, const Ref *map)
{
    Fn *g = at.f;
    Inst old = *in; /* emitting may move in, if it is g's */
    Ref n;
    if (ir_is_loop(&old)) {
        int nv = old.op == OP_GEN ? old.ty.rank : old.op == OP_RED ? 1 : old.nix;
        n = ir_loop(at, (Op)old.op, old.ty, nv, (RedKind)old.red);
    } else {
        n = ir_add(at, (Op)old.op, old.ty, NOREF, NOREF, NOREF);
    }
    Inst *x = &g->v.p[n];
    for (int k = 0; k < 3; k++)
        x->arg[k] = through(map, old.arg[k]);
    x->n = old.n;
    if (old.op == OP_CONST)
        x->x->num = old.x->num;
    x->name = old.name;
    copy_index_data(g, x, &old, map);
    return n;
}

Ref ir_copy_inst(Fn *g, Region *dst, const Inst *in, const Ref *map)
{
    IrAt at = ir_at_of(g, dst, in);
    if (map && in->rule_src != NOREF) /* another Fn's: its copy, if made */
        at.rule_src = map[in->rule_src];
    return ir_copy_at(at, in, map);
}

void ir_become(Fn *f, Region *dst, Ref x, Op op, Ref a, Ref b)
{
    Inst *in = &f->v.p[x];
    ASSERT(in->x == &ir_no_ext && !owns_ext(op));
    in->op = (uint8_t)op;
    in->arg[0] = a;
    in->arg[1] = b;
    in->arg[2] = NOREF;
    in->n = 0;
    in->parent = dst;
    vec_push(f->arena, &dst->ids, x);
}

void ir_splice(Fn *f, Region *r, int at, const Region *src)
{
    int k = src->ids.n;
    for (int i = 0; i < k; i++)
        vec_push(f->arena, &r->ids, NOREF);
    for (int i = r->ids.n - 1; i >= at + k; i--)
        r->ids.p[i] = r->ids.p[i - k];
    for (int i = 0; i < k; i++) {
        r->ids.p[at + i] = src->ids.p[i];
        f->v.p[src->ids.p[i]].parent = r;
    }
}

Ref ir_carry(const Fn *f, Ref loop, int j)
{
    Ref c = f->v.p[loop].x->reg[0]->ids.p[1 + j];
    ASSERT(f->v.p[c].op == OP_CARRY && f->v.p[c].n == j);
    return c;
}

/* v, past any NODIFF (the identity outside derivatives). */
static Ref past_nodiff(const Fn *f, Ref v)
{
    while (v != NOREF && f->v.p[v].op == OP_NODIFF)
        v = f->v.p[v].arg[0];
    return v;
}

int ir_stop_if(const Fn *f, Ref id, Ref fi)
{
    const Inst *in = &f->v.p[id], *ifi = &f->v.p[fi];
    if (ifi->op != OP_IF)
        return -1;
    const Inst *cond = &f->v.p[past_nodiff(f, ifi->arg[0])];
    if (cond->op == OP_AND)
        cond = &f->v.p[past_nodiff(f, cond->arg[0])];
    if (cond->op != OP_NE)
        return -1;
    Ref a = past_nodiff(f, cond->arg[0]), z = past_nodiff(f, cond->arg[1]);
    const Inst *x = &f->v.p[a], *zero = &f->v.p[z];
    if (x->op != OP_CARRY || zero->op != OP_CONST || zero->x->num != 0 || ir_carry(f, id, x->n) != a)
        return -1;
    int k = x->n;
    const Region *b = in->x->reg[0], *els = ifi->x->reg[1];
    for (int j = 0; j < in->nix; j++) { /* the else branch keeps the rest */
        Ref y = past_nodiff(f, b->yield.p[j]), cy = ir_carry(f, id, j);
        if (y == cy)
            continue;
        const Inst *r = &f->v.p[y];
        if (r->op != OP_RESULT || r->arg[0] != fi || !els)
            return -1;
        Ref e = past_nodiff(f, els->yield.p[r->n]);
        if (e != cy && !(j == k && f->v.p[e].op == OP_CONST && f->v.p[e].x->num == 0))
            return -1;
    }
    return k;
}

/* The flag carry of FOR id: by its IF (ir_stop_if), or, for a
 * checkpointing loop, through the loop nested in it. */
static int stop_flag(const Fn *f, Ref id)
{
    const Region *b = f->v.p[id].x->reg[0];
    if (f->v.p[id].flags & IF_CKPT)
        return ir_stop_carry(f, id);
    for (int i = 0; i < b->ids.n; i++) {
        int k = ir_stop_if(f, id, b->ids.p[i]);
        if (k >= 0)
            return k;
    }
    return -1;
}

/* ---- a while loop's flag, read as 1 ---- */

/* What ir_while_flag's walk over a FOR's body knows: the values that may
 * differ between two iterations that start from the same carried values
 * (a set of Refs, open addressing), and the few that may read the flag. */
typedef struct {
    const Fn *f;
    Ref id, iv, flag, ne, and_, fi; /* the FOR, its IVAR, the flag's CARRY, the
                                       stop IF's flag test, its condition, the IF */
    int k, then_k;                  /* the flag's carry, and the result of fi it
                                       goes through */
    Ref *set;
    unsigned mask;
    Ref *acc;                       /* buffers the body writes (ACC targets) */
    int nacc, cap;
    int bad;                        /* the flag is read elsewhere */
} Wf;

static unsigned wf_slot(const Wf *w, Ref r)
{
    return ((unsigned)r * 2654435761u) & w->mask; /* Knuth's multiplicative hash */
}

static int wf_has(const Wf *w, Ref r)
{
    if (r == NOREF)
        return 0;
    for (unsigned s = wf_slot(w, r);; s = (s + 1) & w->mask) {
        if (w->set[s] == r)
            return 1;
        if (w->set[s] == NOREF)
            return 0;
    }
}

static void wf_add(Wf *w, Ref r)
{
    unsigned s = wf_slot(w, r);
    while (w->set[s] != NOREF && w->set[s] != r)
        s = (s + 1) & w->mask;
    w->set[s] = r;
}

/* Instructions in region r, at any depth; the ACCs' buffers collected
 * in w (at most w->cap of them, else w->bad). */
static int wf_count(Wf *w, const Region *r)
{
    if (!r)
        return 0;
    int n = r->ids.n;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *x = &w->f->v.p[r->ids.p[i]];
        if (x->op == OP_ACC) {
            if (w->nacc == w->cap)
                w->bad = 1;
            else
                w->acc[w->nacc++] = x->arg[0];
        }
        if (x->op == OP_IF || x->op == OP_FOR || ir_is_loop(x))
            n += wf_count(w, x->x->reg[0]) + wf_count(w, x->x->reg[1]);
    }
    return n;
}

static int wf_written(const Wf *w, Ref buf)
{
    for (int k = 0; k < w->nacc; k++)
        if (w->acc[k] == buf)
            return 1;
    return 0;
}

/* Whether x, an instruction of region r, or r's yield yk (x NOREF) may
 * read v: the flag only in its test, or as the stop IF's then branch
 * keeping it (or the body keeping it, where it never changes); the test
 * only in the condition, the condition only in the IF. */
static void wf_reader(Wf *w, Ref x, const Region *r, int yk, Ref v)
{
    const Region *b = w->f->v.p[w->id].x->reg[0], *then = w->f->v.p[w->fi].x->reg[0];
    int kept = x == NOREF && ((r == then && yk == w->then_k && b->yield.p[w->k] != w->flag) ||
                              (r == b && yk == w->k));
    if (v == w->flag && x != w->ne && !kept)
        w->bad = 1;
    if (v == w->ne && x != w->and_)
        w->bad = 1;
    if (v == w->and_ && x != w->fi)
        w->bad = 1;
}

/* Marks the values of region r that may vary (see Wf); returns whether
 * any does. */
static int wf_walk(Wf *w, const Region *r)
{
    const Fn *f = w->f;
    int any = 0;
    if (!r)
        return 0;
    for (int i = 0; i < r->ids.n; i++) {
        Ref xr = r->ids.p[i];
        const Inst *x = &f->v.p[xr];
        int v = xr == w->iv;
        for (int k = 0; k < op_info[x->op].nargs; k++) {
            wf_reader(w, xr, r, -1, x->arg[k]);
            v |= wf_has(w, x->arg[k]);
        }
        if (x->op == OP_IDX && wf_written(w, x->arg[0]))
            v = 1;
        for (int d = 0; d < ir_naffs(x); d++)
            v |= aff_uses(x->x->ix[d], w->iv);
        if (x->op == OP_FOR || x->op == OP_LIT)
            for (int k = 0; k < x->nix; k++) {
                wf_reader(w, xr, r, -1, x->x->list[k]);
                v |= wf_has(w, x->x->list[k]);
            }
        if (x->op == OP_CARRY && x->parent->owner != w->id)
            v |= wf_has(w, f->v.p[x->parent->owner].x->list[x->n]);
        if (x->op == OP_IF || x->op == OP_FOR || ir_is_loop(x))
            for (int k = 0; k < 2; k++)
                v |= wf_walk(w, x->x->reg[k]);
        if (v)
            wf_add(w, xr);
        any |= v;
    }
    for (int k = 0; k < r->yield.n; k++)
        wf_reader(w, NOREF, r, k, r->yield.p[k]);
    return any;
}

int ir_while_flag(const Fn *f, Ref id)
{
    const Inst *in = &f->v.p[id];
    if (in->op != OP_FOR || (in->flags & (IF_BACKWARDS | IF_CKPT)))
        return -1;
    const Region *b = in->x->reg[0];
    Wf w = {.f = f, .id = id, .iv = b->ids.p[0], .fi = NOREF};
    int k = -1;
    for (int i = 0; i < b->ids.n && k < 0; i++)
        if ((k = ir_stop_if(f, id, b->ids.p[i])) >= 0)
            w.fi = b->ids.p[i];
    if (k < 0)
        return -1;
    const Inst *ifi = &f->v.p[w.fi];
    w.and_ = ifi->arg[0];
    if (f->v.p[w.and_].op != OP_AND)
        return -1; /* no condition: a for loop with break */
    w.ne = f->v.p[w.and_].arg[0];
    w.flag = ir_carry(f, id, k);
    w.k = k;
    if (f->v.p[w.ne].op != OP_NE || f->v.p[w.ne].arg[0] != w.flag)
        return -1; /* through a NODIFF: not the lowering's */
    /* the flag is cleared by the stop alone: the IF's then branch keeps it */
    Ref y = b->yield.p[k];
    if (y != w.flag) {
        const Inst *ry = &f->v.p[y];
        if (ry->op != OP_RESULT || ry->arg[0] != w.fi || ifi->x->reg[0]->yield.p[ry->n] != w.flag)
            return -1;
        w.then_k = ry->n;
    }
    Ref acc[16];
    w.acc = acc;
    w.cap = 16;
    int n = wf_count(&w, b);
    unsigned size = 16;
    while (size < 2u * (unsigned)n)
        size *= 2;
    w.mask = size - 1;
    w.set = arena_alloc(f->arena, sizeof(Ref) * size);
    memset(w.set, 0xff, sizeof(Ref) * size); /* NOREF */
    wf_walk(&w, b);
    int varies = wf_has(&w, f->v.p[w.and_].arg[1]);
    arena_drop(f->arena, w.set, sizeof(Ref) * size);
    return w.bad || varies ? -1 : k;
}

int ir_stop_carry(const Fn *f, Ref id)
{
    const Inst *in = &f->v.p[id];
    const Region *b = in->x->reg[0];
    if (!(in->flags & IF_CKPT) || (in->flags & IF_BACKWARDS))
        return -1;
    Ref n = NOREF;
    for (int i = 0; i < b->ids.n; i++) {
        Ref x = b->ids.p[i];
        if (f->v.p[x].op == OP_FOR && f->v.p[x].line == in->line) {
            if (n != NOREF)
                return -1;
            n = x;
        }
    }
    int kn = n != NOREF ? stop_flag(f, n) : -1;
    if (kn < 0 || f->v.p[n].nix != in->nix)
        return -1;
    /* each carried value goes in and comes out through the same slot of n */
    for (int j = 0; j < in->nix; j++) {
        Ref y = past_nodiff(f, b->yield.p[j]);
        const Inst *r = &f->v.p[y];
        if (past_nodiff(f, f->v.p[n].x->list[j]) != ir_carry(f, id, j) || r->op != OP_RESULT ||
            r->arg[0] != n || r->n != j)
            return -1;
    }
    return kn;
}

int ir_nivars(const Fn *f, Ref loop)
{
    const Inst *in = &f->v.p[loop];
    switch (in->op) {
    case OP_GEN: return in->ty.rank;
    case OP_RED: return 1;
    case OP_LOOP: return in->nix;
    case OP_FOR: return 1;
    default: BUG("ir_nivars: not a loop");
    }
}

Ref ir_ivar(const Fn *f, Ref loop, int k)
{
    const Region *b = f->v.p[loop].x->reg[0];
    ASSERT(k < b->ids.n);
    Ref iv = b->ids.p[k];
    ASSERT(f->v.p[iv].op == OP_IVAR && f->v.p[iv].n == k);
    return iv;
}

int ir_unit_fns(const Unit *u, Fn *fs[4])
{
    Fn *all[] = {u->primal, u->grad, u->jvp, u->hvp};
    int n = 0;
    for (int k = 0; k < 4; k++)
        if (all[k])
            fs[n++] = all[k];
    return n;
}

int ir_entry_bit(FnKind k)
{
    switch (k) {
    case FN_PRIMAL: return ENTRY_F;
    case FN_JVP: return ENTRY_JVP;
    case FN_GRAD:
    case FN_VJP: return ENTRY_GRAD;
    case FN_HVP: return ENTRY_HVP;
    }
    return 0;
}

void ir_accs(Fn *f, const Region *r, IrRefs *out)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (in->op == OP_ACC)
            vec_push(f->arena, out, r->ids.p[i]);
        if (!ir_has_regions(in))
            continue;
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s])
                ir_accs(f, in->x->reg[s], out);
    }
}

int ir_index_in(const Region *r, Ref id)
{
    for (int i = 0; i < r->ids.n; i++)
        if (r->ids.p[i] == id)
            return i;
    BUG("an instruction not in its region");
}

int ir_nresults(const Fn *f, const Region *r, int at)
{
    Ref id = r->ids.p[at];
    int n = 0;
    while (at + 1 + n < r->ids.n) {
        const Inst *x = &f->v.p[r->ids.p[at + 1 + n]];
        if (x->op != OP_RESULT || x->arg[0] != id)
            break;
        n++;
    }
    return n;
}

/* ---- verifier ---- */

/* The operands of x's non-affine terms use visible IVARs only. */
static void verify_q(const Fn *f, Aff x, const unsigned char *seen)
{
    for (int k = 0; k < x.nq; k++)
        for (int s = 0; s < 2; s++) {
            Aff y = s ? x.q[k].y : x.q[k].x;
            for (int t = 0; t < y.n; t++)
                ASSERT(seen[y.iv[t]] && f->v.p[y.iv[t]].op == OP_IVAR);
            verify_q(f, y, seen);
        }
}

static void verify_region(const Fn *f, const Region *r, unsigned char *seen)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        ASSERT(id >= 0 && id < f->v.n);
        const Inst *in = &f->v.p[id];
        ASSERT(in->parent == r);
        ASSERT(!seen[id]);
        int n = op_info[in->op].nargs;
        for (int k = 0; k < 3; k++) {
            if (k < n) {
                ASSERT(in->arg[k] != NOREF);
                ASSERT(seen[in->arg[k]]);
            }
        }
        ASSERT(in->rule_src == NOREF || (in->rule_op && in->rule_src >= 0 && in->rule_src < f->v.n));
        if (in->op == OP_GEN || in->op == OP_RED || in->op == OP_LOOP) {
            const Region *b = in->x->reg[0];
            ASSERT(b && b->owner == id);
            int nv = ir_nivars(f, id);
            ASSERT(b->ids.n >= nv);
            for (int d = 0; d < nv; d++)
                ASSERT(f->v.p[b->ids.p[d]].op == OP_IVAR && f->v.p[b->ids.p[d]].n == d);
            if (in->op == OP_LOOP)
                ASSERT(b->yield.n == 0);
            int nb = in->op == OP_RED ? 2 : in->op == OP_LOOP ? 2 * nv : 0;
            for (int j = 0; j < nb; j++)
                for (int t = 0; t < in->x->ix[j].n; t++)
                    ASSERT(seen[in->x->ix[j].iv[t]] && f->v.p[in->x->ix[j].iv[t]].op == OP_IVAR);
            verify_region(f, b, seen);
        }
        if (in->op == OP_FOR) {
            const Region *b = in->x->reg[0];
            ASSERT(b && b->owner == id && b->ids.n >= 1 + in->nix);
            ASSERT(f->v.p[b->ids.p[0]].op == OP_IVAR);
            for (int j = 0; j < in->nix; j++) {
                ASSERT(seen[in->x->list[j]]);
                const Inst *c = &f->v.p[b->ids.p[1 + j]];
                ASSERT(c->op == OP_CARRY && c->n == j && ty_eq(c->ty, f->v.p[in->x->list[j]].ty));
            }
            verify_region(f, b, seen);
            ASSERT(b->yield.n == in->nix);
        }
        if (in->op == OP_IDX || in->op == OP_ACC) {
            ASSERT(in->nix == f->v.p[in->arg[0]].ty.rank);
            for (int j = 0; j < in->nix; j++)
                for (int t = 0; t < in->x->ix[j].n; t++)
                    ASSERT(seen[in->x->ix[j].iv[t]] && f->v.p[in->x->ix[j].iv[t]].op == OP_IVAR);
        }
        if (in->op == OP_IDX || in->op == OP_ACC || in->op == OP_IREAL)
            for (int j = 0; j < in->nix; j++)
                verify_q(f, in->x->ix[j], seen);
        if (in->op == OP_ACC)
            ASSERT(f->v.p[in->arg[0]].op == OP_ZEROS && in->ty.kind == TY_NONE);
        if (in->op == OP_LIT)
            for (int j = 0; j < in->nix; j++)
                ASSERT(seen[in->x->list[j]]);
        if (in->op == OP_IF) {
            ASSERT(f->v.p[in->arg[0]].ty.kind == TY_BOOL);
            verify_region(f, in->x->reg[0], seen);
            verify_region(f, in->x->reg[1], seen);
            ASSERT(in->x->reg[0]->yield.n == in->x->reg[1]->yield.n);
        }
        if (in->op == OP_RESULT) {
            const Inst *x = &f->v.p[in->arg[0]];
            ASSERT(x->op == OP_IF || x->op == OP_GEN || x->op == OP_RED || x->op == OP_FOR);
            ASSERT(in->n < x->x->reg[0]->yield.n);
        }
        seen[id] = 1;
    }
    for (int i = 0; i < r->yield.n; i++)
        ASSERT(r->yield.p[i] >= 0 && seen[r->yield.p[i]]);
    /* a loop body's values are out of scope after it (its RESULTs carry
     * out what it yields).  A branch's stay visible: the adjoint branch
     * that runs under the same condition reads them, and the generated
     * C declares them before the if. */
    if (r->owner != NOREF && f->v.p[r->owner].op != OP_IF)
        for (int i = 0; i < r->ids.n; i++)
            seen[r->ids.p[i]] = 0;
}

static void verify_with(const Fn *f, Arena *a)
{
    unsigned char *seen = arena_alloc(a, (size_t)f->v.n + 1);
    verify_region(f, f->body, seen);
    for (int i = 0; i < f->out.n; i++)
        ASSERT(seen[f->out.p[i].ref]);
    arena_drop(a, seen, (size_t)f->v.n + 1);
}

void ir_verify(Fn *f)
{
    verify_with(f, f->arena);
}

void ir_verify_alone(const Fn *f)
{
    Arena *a = arena_new_written(); /* beside other threads (dx.h says why) */
    verify_with(f, a);
    arena_free(a);
}

/* ---------------- compaction ---------------- */

/* Marks every instruction of r and of the regions inside it; returns
 * how many. */
static int mark_kept(const Fn *f, const Region *r, unsigned char *kept)
{
    int n = r->ids.n;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        kept[r->ids.p[i]] = 1;
        if (ir_has_regions(in))
            n += mark_kept(f, in->x->reg[0], kept);
        if (in->op == OP_IF)
            n += mark_kept(f, in->x->reg[1], kept);
    }
    return n;
}

static Ref renumbered(const Ref *to, Ref r)
{
    if (r == NOREF)
        return NOREF;
    ASSERT(to[r] != NOREF);
    return to[r];
}

/* The instructions and yields of region r through `to`. */
static void renumber_region(Region *r, const Ref *to)
{
    for (int i = 0; i < r->ids.n; i++)
        r->ids.p[i] = renumbered(to, r->ids.p[i]);
    for (int i = 0; i < r->yield.n; i++)
        r->yield.p[i] = renumbered(to, r->yield.p[i]);
}

/* Every Ref instruction in holds through `to`, and those of the regions
 * it owns (their owner: in itself, now numbered id). */
static void renumber_inst(Fn *f, Inst *in, Ref id, const Ref *to)
{
    for (int k = 0; k < 3; k++)
        in->arg[k] = renumbered(to, in->arg[k]);
    /* --explain, which reads it, compiles without compaction */
    in->rule_src = in->rule_src == NOREF ? NOREF : to[in->rule_src];
    if ((in->op == OP_LIT || in->op == OP_FOR) && in->nix) {
        /* a copy: an instruction may share its list with another */
        Ref *list = arena_alloc(f->arena, sizeof(Ref) * (size_t)in->nix);
        for (int k = 0; k < in->nix; k++)
            list[k] = renumbered(to, in->x->list[k]);
        in->x->list = list;
    }
    int na = ir_naffs(in), any = 0;
    for (int j = 0; j < na; j++)
        any |= in->x->ix[j].n || in->x->ix[j].nq;
    if (any) { /* index variables in an index: new copies, as above */
        Aff *ix = arena_alloc(f->arena, sizeof(Aff) * (size_t)na);
        for (int j = 0; j < na; j++)
            ix[j] = aff_remap(f->arena, in->x->ix[j], to);
        in->x->ix = ix;
    }
    int nreg = in->op == OP_IF ? 2 : ir_has_regions(in) ? 1 : 0;
    for (int s = 0; s < nreg; s++) {
        in->x->reg[s]->owner = id;
        renumber_region(in->x->reg[s], to);
    }
}

void ir_compact(Fn *f)
{
    int n = f->v.n;
    unsigned char *kept = arena_alloc(f->arena, (size_t)n + 1);
    int live = mark_kept(f, f->body, kept);
    if (live > n - n / 32) { /* not worth a pass over every instruction */
        arena_drop(f->arena, kept, (size_t)n + 1);
        return;
    }
    /* the kept instructions in their order, so that every comparison of
     * two values' numbers gives what it gave before; each moves down (or
     * stays), so the array is compacted in place (the pipeline gives
     * back its unused end), and is renumbered as it moves */
    Ref *to = arena_alloc(f->arena, sizeof(Ref) * (size_t)(n + 1));
    for (Ref old = 0, k = 0; old < n; old++)
        to[old] = kept[old] ? k++ : NOREF;
    for (Ref old = 0; old < n; old++)
        if (kept[old]) {
            f->v.p[to[old]] = f->v.p[old];
            renumber_inst(f, &f->v.p[to[old]], to[old], to);
        }
    f->v.n = live;
    renumber_region(f->body, to);
    for (int i = 0; i < f->out.n; i++)
        f->out.p[i].ref = renumbered(to, f->out.p[i].ref);
    arena_drop(f->arena, to, sizeof(Ref) * (size_t)(n + 1));
    arena_drop(f->arena, kept, (size_t)n + 1);
}
