/*
 * canalyse.c - how one generated C function will read, decided before a
 * line of it is written (cg_prepare):
 *
 *  - An unnamed value used once, in its own region, is written inline in
 *    its user's expression; a value with a source name (z, p_bar) gets a
 *    statement of its own, so the code reads like the model.  A value is
 *    never inlined into another region: one defined outside a loop is a
 *    variable, not recomputed at every iteration.
 *  - Adjoint accumulations (an ADD marked acc whose left operand is the
 *    running sum) become `x_bar += ...` on one variable.
 *  - A gradient output computed at the top level and used nowhere else is
 *    accumulated in place through its pointer (`*x_bar = ...`); an array
 *    output is computed straight into the caller's array.
 *  - A value computed in a branch only to be yielded is computed into the
 *    if's result variable (for arrays: its array, with no copy).
 *  - Names come from the source, made unique against each other, C
 *    keywords, the C library and the file's function names, in the order
 *    a reader meets them.
 *  - Every other array is a local array, with its place in the workspace
 *    (its offset is used only by the _ws variants).
 *
 * Arrays are mutable only as ZEROS buffers (ACC adds to an element).  A
 * read of such a buffer (IDX) is inlined only if no ACC to the buffer
 * comes between the read and the statement it is written into, so no
 * read moves across an accumulation; a read of a rank-0 cell after its
 * last ACC is the cell's variable itself.
 */
#include "cgen.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- analysis ---------------- */


int cg_is_loop(const Inst *in)
{
    return in->op == OP_GEN || in->op == OP_RED || in->op == OP_LOOP || in->op == OP_FOR;
}

/* NODIFF is the identity in C: every use reads its operand. */
Ref cg_resolve(const Cg *c, Ref v)
{
    while (v != NOREF && c->f->v.p[v].op == OP_NODIFF)
        v = c->f->v.p[v].arg[0];
    return v;
}

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

/* A read of v by `user` (NOREF: a yield or an output) at position pos;
 * read == 0 only notes where v must be visible (an ACC's buffer). */
static void count_use(Cg *c, Ref v, const Region *where, Ref user, int pos, int read)
{
    v = cg_resolve(c, v);
    if (v == NOREF)
        return;
    if (read) {
        c->uses[v]++;
        c->use_reg[v] = where;
        c->user[v] = user;
        c->use_pos[v] = pos;
        if (user == NOREF && pos > c->last_read[v])
            c->last_read[v] = pos; /* a yield or an output: where it is read */
    }
    if (!within(c->f, where, c->f->v.p[v].parent)) {
        c->hoist[v] = 1;
        if (!c->has_loops)
            return; /* the check below walks the region chain: O(depth) */
        /* only an if's regions share their values with later ifs; a loop's
         * body is gone when the loop ends (a tape must carry its values) */
        for (const Region *r = c->f->v.p[v].parent; r && !within(c->f, where, r);
             r = c->f->v.p[r->owner].parent)
            if (cg_is_loop(&c->f->v.p[r->owner]))
                BUG("cgen: a value is read outside the loop that computes it");
    }
}

static void analyse_region(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        int at = c->pos[id] = ++c->npos;
        for (int k = 0; k < op_info[in->op].nargs && in->op != OP_RESULT; k++)
            count_use(c, in->arg[k], r, id, at, !(in->op == OP_ACC && k == 0));
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int k = 0; k < in->nix; k++)
                count_use(c, in->list[k], r, id, at, 1);
        vec_push(c->p->arena, &c->order, id);
        switch (in->op) {
        case OP_IF:
            analyse_region(c, in->reg[0]);
            analyse_region(c, in->reg[1]);
            break;
        case OP_GEN:
        case OP_RED:
        case OP_LOOP:
        case OP_FOR:
            analyse_region(c, in->reg[0]);
            /* `if (t > m) m = t;` reads t twice */
            if (in->op == OP_RED && (in->k == RK_MAX || in->k == RK_MIN))
                for (int k = 0; k < in->reg[0]->yield.n; k++) {
                    Ref y = cg_resolve(c, in->reg[0]->yield.p[k]);
                    if (f->v.p[y].op != OP_IDX && f->v.p[y].op != OP_CONST)
                        c->force[y] = 1;
                }
            break;
        case OP_RELU:
        case OP_SIGN:
        case OP_MIN:
        case OP_MAX:
            for (int k = 0; k < op_info[in->op].nargs; k++)
                c->force[cg_resolve(c, in->arg[k])] = 1;
            break;
        case OP_POWI:
            if (in->k == 2 || in->k == 3 || in->k == -2)
                c->force[cg_resolve(c, in->arg[0])] = 1;
            break;
        default:
            break;
        }
    }
    int end = ++c->npos;
    for (int i = 0; i < r->ids.n; i++)
        c->region_end[r->ids.p[i]] = end;
    if (r->owner != NOREF)
        c->branch_end[r->side ? 1 : 0][r->owner] = end;
    int loop = r->owner != NOREF && f->v.p[r->owner].op != OP_IF;
    for (int i = 0; i < r->yield.n; i++) {
        count_use(c, r->yield.p[i], r, NOREF, end, 1);
        if (loop)
            c->loop_yield[cg_resolve(c, r->yield.p[i])] = 1;
    }
}

static int is_bool(const Cg *c, Ref v)
{
    return c->f->v.p[v].ty.kind == TY_BOOL;
}

/* Written inside its user's expression rather than as a statement. */
int cg_inlined(const Cg *c, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    if (in->op == OP_CONST || in->op == OP_IREAL)
        return 1; /* constants, and (double)i: as cheap as a variable */
    if (c->frozen[v])
        return 1; /* a cell's final value: its name */
    if (in->ty.rank || in->ty.kind == TY_NONE || in->ty.kind == TY_INDEX)
        return 0;
    switch (in->op) {
    case OP_PARAM: case OP_RESULT: case OP_IF: case OP_ZEROS: case OP_NODIFF: case OP_CARRY:
        return 0;
    default:
        break;
    }
    if (is_bool(c, v))
        return 1;
    /* a named value read only by a loop's yield is written into the store
     * (h[i] = ...), which names it */
    return (!in->name || c->loop_yield[v]) && c->uses[v] == 1 &&
           c->use_reg[v] == in->parent && !c->force[v] && !c->hoist[v];
}

/* The operands of a condition written in several places are variables,
 * so that writing it again does not compute them again (nested
 * conditions' operands are cheap and stay inline, unless they read a
 * buffer).  A condition written in another region than its own has all
 * its operands as variables: it must read the values of its own place. */
static void force_operands(Cg *c, Ref b, int top, int all, const Region *where)
{
    const Inst *in = &c->f->v.p[b];
    for (int k = 0; k < op_info[in->op].nargs; k++) {
        Ref a = cg_resolve(c, in->arg[k]);
        const Inst *ia = &c->f->v.p[a];
        if (is_bool(c, a)) {
            force_operands(c, a, 0, all, where);
        } else if (all || top ||
                   (ia->op == OP_IDX && c->f->v.p[cg_resolve(c, ia->arg[0])].op == OP_ZEROS)) {
            c->force[a] = 1;
            /* written again where the condition is read, in another
             * region: declared where that region sees it */
            if (all && ia->op != OP_PARAM && !within(c->f, where, ia->parent))
                c->hoist[a] = 1;
        }
    }
}

static void force_bool_operands(Cg *c, const Region *r)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &c->f->v.p[id];
        if (in->op == OP_IF) {
            force_bool_operands(c, in->reg[0]);
            force_bool_operands(c, in->reg[1]);
        } else if (cg_is_loop(in)) {
            force_bool_operands(c, in->reg[0]);
        }
        if (!is_bool(c, id) || !c->uses[id])
            continue;
        if (c->use_reg[id] != in->parent)
            force_operands(c, id, 1, 1, c->use_reg[id]);
        else if (c->uses[id] > 1)
            force_operands(c, id, 1, 0, in->parent);
    }
}

/* The position of the statement an inlined value is written into. */
static int written_at(const Cg *c, Ref v)
{
    for (;;) {
        Ref u = c->user[v];
        if (u == NOREF || !cg_inlined(c, u))
            return c->use_pos[v];
        v = u;
    }
}

/* The position of the first ACC to buffer b after position pos (INT_MAX
 * if none). */
static int first_acc_after(const Cg *c, Ref b, int pos)
{
    int lo = c->acc_start[b], hi = c->acc_start[b + 1], end = hi;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (c->acc_pos[mid] <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < end ? c->acc_pos[lo] : INT_MAX;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* An inlined read of a ZEROS buffer must not pass an ACC to it. */
static void guard_buffer_reads(Cg *c)
{
    const Fn *f = c->f;
    int n = f->v.n;
    c->acc_start = arena_alloc(c->p->arena, sizeof(int) * (size_t)(n + 2));
    int nacc = 0;
    for (Ref v = 0; v < n; v++)
        if (f->v.p[v].op == OP_ACC) {
            c->acc_start[f->v.p[v].arg[0] + 1]++;
            nacc++;
        }
    for (Ref v = 0; v < n; v++)
        c->acc_start[v + 1] += c->acc_start[v];
    int *fill = arena_alloc(c->p->arena, sizeof(int) * (size_t)(n + 1));
    c->acc_pos = arena_alloc(c->p->arena, sizeof(int) * (size_t)(nacc + 1));
    for (Ref v = 0; v < n; v++)
        if (f->v.p[v].op == OP_ACC) {
            Ref b = f->v.p[v].arg[0];
            c->acc_pos[c->acc_start[b] + fill[b]++] = c->pos[v];
        }
    for (Ref b = 0; b < n; b++) /* positions in program order */
        qsort(c->acc_pos + c->acc_start[b], (size_t)(c->acc_start[b + 1] - c->acc_start[b]),
              sizeof(int), cmp_int);
    for (Ref v = 0; v < n; v++) {
        const Inst *in = &f->v.p[v];
        if (in->op != OP_IDX || f->v.p[cg_resolve(c, in->arg[0])].op != OP_ZEROS)
            continue;
        Ref b = cg_resolve(c, in->arg[0]);
        /* a read of a rank-0 cell after its last ACC is the cell itself */
        if (!in->nix && first_acc_after(c, b, c->pos[v]) >= c->region_end[v]) {
            c->frozen[v] = 1;
            continue;
        }
        if (!cg_inlined(c, v))
            continue;
        if (first_acc_after(c, b, c->pos[v]) < written_at(c, v))
            c->force[v] = 1;
    }
}

/* The value whose C variable holds v: itself, or the start of its
 * accumulation chain, or the if-result it is yielded to. */
Ref cg_var_of(const Cg *c, Ref v)
{
    v = cg_resolve(c, v);
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
        if (cg_is_loop(in)) {
            chain_region(c, in->reg[0]);
            continue;
        }
        if (in->op != OP_ADD || !in->acc || cg_inlined(c, id))
            continue;
        Ref a = cg_resolve(c, in->arg[0]);
        const Inst *ia = &f->v.p[a];
        if (cg_inlined(c, a) || ia->op == OP_PARAM || ia->op == OP_ZEROS ||
            c->uses[a] != 1 || ia->parent != in->parent || !ia->name || !in->name ||
            strcmp(ia->name, in->name))
            continue;
        c->var[id] = cg_var_of(c, a);
        if (c->hoist[id])
            c->hoist[cg_var_of(c, a)] = 1;
    }
}

/* A value computed in a branch only to be yielded is computed straight
 * into the if's result variable (an array into the result's array). */
static void share_yields(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (cg_is_loop(in))
            share_yields(c, in->reg[0]);
        if (in->op != OP_IF)
            continue;
        int nr = ir_nresults(f, r, i);
        for (int j = 0; j < nr; j++) {
            Ref res = r->ids.p[i + 1 + j];
            for (int s = 0; s < 2; s++) {
                const Region *b = in->reg[s];
                Ref y = cg_resolve(c, b->yield.p[(int)f->v.p[res].k]);
                if (f->v.p[y].parent != b || c->uses[y] != 1 || cg_inlined(c, y) ||
                    f->v.p[y].op == OP_PARAM || f->v.p[y].ty.rank != f->v.p[res].ty.rank)
                    continue;
                Ref root = cg_var_of(c, y);
                if (f->v.p[root].parent == b && !c->hoist[root] && root != res)
                    c->var[root] = res;
            }
        }
        share_yields(c, in->reg[0]);
        share_yields(c, in->reg[1]);
    }
}

/* ---------------- for loops ---------------- */

/*
 * A carried variable is one C variable: the FOR's RESULT (or, when the
 * loop's value is not used, its CARRY) is the representative, and the
 * CARRY shares it.  Two rewrites then save copies:
 *
 *  - The initial value is computed straight into it when nothing reads
 *    that value's variable once the loop starts (x = x0 * 2 before the
 *    loop; the carried variable of an enclosing loop, so nested loops
 *    carrying s share one s).
 *  - The body's new value is computed straight into it when nothing reads
 *    the old value from where the new one starts being written (x = x +
 *    dt * v; v_bar += ...).  Other new values are assigned at the end of
 *    the iteration, in an order that reads every old value before it is
 *    overwritten (cbody.c).
 *
 * Both rest on c->last_read[v], the position of the last statement that
 * reads v (an inlined value is read where its user is written).
 */

int cg_is_tape(const Inst *in)
{
    return in->tape;
}

static void find_last_reads(Cg *c)
{
    const Fn *f = c->f;
    for (int i = c->order.n - 1; i >= 0; i--) {
        Ref u = c->order.p[i];
        const Inst *in = &f->v.p[u];
        int at = cg_inlined(c, u) ? c->last_read[u] : c->pos[u];
        Ref a[3] = {NOREF, NOREF, NOREF};
        for (int k = 0; k < op_info[in->op].nargs && in->op != OP_RESULT; k++)
            a[k] = in->arg[k]; /* an ACC's buffer too: it is written there */
        for (int k = 0; k < 3; k++) {
            Ref v = cg_resolve(c, a[k]);
            if (v != NOREF && at > c->last_read[v])
                c->last_read[v] = at;
        }
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int k = 0; k < in->nix; k++) {
                Ref v = cg_resolve(c, in->list[k]);
                if (at > c->last_read[v])
                    c->last_read[v] = at;
            }
    }
}

/* The instruction that first writes v's storage: its IF, GEN, RED or FOR
 * for a RESULT, its FOR for a CARRY, v itself otherwise. */
static Ref first_write(const Cg *c, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    if (in->op == OP_RESULT)
        return in->arg[0];
    if (in->op == OP_CARRY)
        return in->parent->owner;
    return v;
}

/* The last read of any value held in variable `root` among the
 * instructions of order[from..) before position `end`. */
static int class_last_read(const Cg *c, Ref root, int from, int end)
{
    int last = 0;
    for (int k = from; k < c->order.n && c->pos[c->order.p[k]] < end; k++) {
        Ref v = c->order.p[k];
        if (cg_var_of(c, v) == root && c->last_read[v] > last)
            last = c->last_read[v];
    }
    return last;
}

int cg_owns(const Cg *c, Ref id, Ref root)
{
    const Inst *in = &c->f->v.p[root];
    return (in->op == OP_RESULT && in->arg[0] == id) ||
           (in->op == OP_CARRY && in->parent->owner == id);
}

/* The source name of carried variable j of FOR id (x, x_dot), or NULL:
 * the loop's result's, the CARRY's, the new value's or the initial
 * value's.  In a reverse sweep the new value's comes first: the adjoint
 * carried backwards is x_bar inside the loop, whatever it ends as. */
static const char *carried_name(const Cg *c, Ref id, int j)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    int back = in->k != 0 || in->rev;
    Ref from[4] = {NOREF, ir_carry(f, id, j), cg_resolve(c, in->reg[0]->yield.p[j]),
                   cg_resolve(c, in->list[j])};
    if (back) {
        from[0] = from[2];
        from[2] = NOREF;
    }
    for (int q = 0; q < in->parent->ids.n; q++) {
        const Inst *x = &f->v.p[in->parent->ids.p[q]];
        if (x->op == OP_RESULT && x->arg[0] == id && (int)x->k == j)
            from[back ? 2 : 0] = in->parent->ids.p[q];
    }
    for (int q = 0; q < 4; q++) {
        const Inst *x = from[q] == NOREF ? NULL : &f->v.p[from[q]];
        if (x && x->name)
            return x->lin && !strstr(x->name, "_dot") ? arena_printf(c->p->arena, "%s_dot", x->name)
                                                      : x->name;
    }
    return NULL;
}

/* The initial value init of carried variable j of FOR id becomes the
 * carried variable itself, if no read of its variable follows the loop's
 * start within the loop's region. */
static void share_init(Cg *c, Ref id, int j)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    Ref cy = ir_carry(f, id, j), rep = cg_var_of(c, cy);
    Ref init = cg_resolve(c, in->list[j]);
    if (c->frozen[init]) /* a cell's final value: the cell */
        init = cg_resolve(c, f->v.p[init].arg[0]);
    Ref R = cg_var_of(c, init);
    const Inst *ri = &f->v.p[R];
    const Region *r = in->parent;
    if (R == rep || cg_inlined(c, init) || cg_inlined(c, R) || c->hoist[R] || c->hoist[rep] ||
        ri->op == OP_CONST || ri->op == OP_IREAL || !ty_eq(ri->ty, f->v.p[cy].ty))
        return;
    /* a scalar parameter passed by value may become the variable of the
     * same name (for ... { a = b }), never an array (const) */
    if (ri->op == OP_PARAM && (ri->ty.rank || !ri->name || !carried_name(c, id, j) ||
                               strcmp(ri->name, carried_name(c, id, j)) || !cg_owns(c, id, rep)))
        return;
    /* R defined in the loop's region, or the variable that the loop whose
     * body holds this one carries */
    int enclosing = 0;
    if (r->owner != NOREF && f->v.p[r->owner].op == OP_FOR)
        for (int k = 0; k < f->v.p[r->owner].nix; k++)
            enclosing |= cg_var_of(c, ir_carry(f, r->owner, k)) == R;
    if (ri->parent != r && !enclosing)
        return;
    int from = c->order_at[r->ids.p[0]];
    int end = r == f->body ? INT_MAX : c->region_end[id];
    if (class_last_read(c, R, from, end) > c->pos[id])
        return;
    if (cg_owns(c, id, rep))
        c->var[rep] = R;
    else
        c->var[R] = rep; /* rep is an if's result, declared before it */
    Ref root = cg_var_of(c, R);
    c->carried[root] = 1;
    if (!f->v.p[root].name && !c->hint[root])
        c->hint[root] = carried_name(c, id, j); /* named after the variable */
}

/* in is an IDX of element (i, j, ...) of GEN g's index space. */
static int own_element(const Fn *f, Ref g, const Inst *in)
{
    if (in->nix != f->v.p[g].ty.rank)
        return 0;
    for (int d = 0; d < in->nix; d++) {
        Aff x = in->ix[d];
        int32_t coef = 0, other = 0;
        for (int t = 0; t < x.n; t++) {
            if (x.iv[t] == ir_ivar(f, g, d))
                coef += x.a[t];
            else
                other |= x.a[t] != 0;
        }
        if (x.c || other || coef != 1)
            return 0;
    }
    return 1;
}

static int reads_class(const Cg *c, Ref a, Ref root)
{
    return a != NOREF && cg_var_of(c, cg_resolve(c, a)) == root;
}

/* GEN g, the only writer of its one result, computes carried array root
 * element by element in place (h = og * tanh(c), elementwise), if from
 * g's start (up to position hi) root's old value is read only at g's own
 * element, by the body computing that element.  b: the FOR body. */
static int elementwise(const Cg *c, Ref g, Ref root, const Region *b, int hi)
{
    const Fn *f = c->f;
    const Inst *gi = &f->v.p[g];
    const Region *gr = gi->parent;
    int at = 0;
    while (at < gr->ids.n && gr->ids.p[at] != g)
        at++;
    if (gi->op != OP_GEN || at == gr->ids.n || ir_nresults(f, gr, at) != 1)
        return 0;
    int gend = c->region_end[gi->reg[0]->ids.p[0]], end = c->region_end[b->ids.p[0]];
    for (int i = 0; i < b->yield.n && end < hi; i++)
        if (reads_class(c, b->yield.p[i], root))
            return 0;
    for (int k = c->order_at[b->ids.p[0]]; k < c->order.n && c->pos[c->order.p[k]] < end; k++) {
        Ref u = c->order.p[k];
        const Inst *in = &f->v.p[u];
        if (c->pos[u] >= c->pos[g])
            for (int s = 0; s < 2; s++)
                for (int i = 0; in->reg[s] && i < in->reg[s]->yield.n; i++)
                    if (c->branch_end[s][u] < hi && reads_class(c, in->reg[s]->yield.p[i], root))
                        return 0;
        int when = cg_inlined(c, u) ? c->last_read[u] : c->pos[u];
        if (when < c->pos[g] || when >= hi || in->op == OP_RESULT)
            continue;
        if (in->op == OP_IDX && c->pos[u] > c->pos[g] && c->pos[u] < gend && own_element(f, g, in))
            continue;
        for (int q = 0; q < op_info[in->op].nargs; q++)
            if (reads_class(c, in->arg[q], root))
                return 0;
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int q = 0; q < in->nix; q++)
                if (reads_class(c, in->list[q], root))
                    return 0;
    }
    return 1;
}

/* The last position in [lo, hi) where FOR body b reads a value of
 * variable root (0: none). */
static int reads_in(const Cg *c, Ref root, const Region *b, int lo, int hi)
{
    const Fn *f = c->f;
    int last = 0, end = c->region_end[b->ids.p[0]];
    for (int k = c->order_at[b->ids.p[0]]; k < c->order.n && c->pos[c->order.p[k]] < end; k++) {
        Ref u = c->order.p[k];
        const Inst *in = &f->v.p[u];
        int any = 0;
        for (int q = 0; q < op_info[in->op].nargs && in->op != OP_RESULT; q++)
            any |= reads_class(c, in->arg[q], root);
        for (int q = 0; (in->op == OP_LIT || in->op == OP_FOR) && q < in->nix; q++)
            any |= reads_class(c, in->list[q], root);
        if (any) {
            /* an inlined value read in several places (a constant, a
             * cell's final value) is read anywhere up to its last reader */
            int from = cg_inlined(c, u) && c->uses[u] > 1 ? c->pos[u] : 0;
            int at = cg_inlined(c, u) ? c->last_read[u] : c->pos[u];
            if (from && from < hi && at >= lo)
                at = at < hi ? at : hi - 1;
            if (at >= lo && at < hi && at > last)
                last = at;
        }
        for (int s = 0; s < 2; s++) /* a region's yields are read where it ends */
            for (int i = 0; in->reg[s] && i < in->reg[s]->yield.n; i++) {
                int at = c->branch_end[s][u];
                if (reads_class(c, in->reg[s]->yield.p[i], root) && at >= lo && at < hi && at > last)
                    last = at;
            }
    }
    for (int i = 0; i < b->yield.n; i++)
        if (reads_class(c, b->yield.p[i], root) && end >= lo && end < hi && end > last)
            last = end;
    return last;
}

static int plain(const Inst *in)
{
    return !in->ty.rank && (op_info[in->op].kind == K_ARITH || op_info[in->op].kind == K_MATH ||
                            in->op == OP_IDX);
}

/* IF fi in FOR body b yields the new value of carried variable root
 * through its result Y: each branch may compute Y in
 * root itself if it reads root's old value only up to its first write of
 * Y (at that statement, for a plain one; elementwise, for a GEN), or
 * leave root as it is if it yields a value root holds; nothing may read
 * root after the if. */
static int branchwise(const Cg *c, Ref fi, Ref Y, Ref root, const Region *b)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[fi];
    int e0 = c->branch_end[0][fi], e1 = c->branch_end[1][fi];
    if (reads_in(c, root, b, e1 + 1, INT_MAX))
        return 0;
    for (int s = 0; s < 2; s++) {
        int lo = s ? e0 + 1 : c->pos[fi] + 1, hi = s ? e1 + 1 : e0 + 1;
        Ref y = cg_resolve(c, in->reg[s]->yield.p[(int)f->v.p[Y].k]);
        /* a value root holds, read here: nothing wrote root since (any
         * later write was allowed only if no read of root followed) */
        if (cg_var_of(c, y) == root)
            continue; /* unchanged */
        if (cg_var_of(c, y) != Y)
            return 0; /* assigned at the branch's end, with the others */
        int w = INT_MAX, eq = 0;
        Ref first = NOREF;
        for (int k = c->order_at[fi] + 1; k < c->order.n && c->pos[c->order.p[k]] < hi; k++) {
            Ref m = c->order.p[k];
            if (c->pos[m] >= lo && cg_var_of(c, m) == Y && c->pos[first_write(c, m)] < w) {
                w = c->pos[first_write(c, m)];
                eq = plain(&f->v.p[m]) && first_write(c, m) == m;
                first = first_write(c, m);
            }
        }
        if (w == INT_MAX)
            return 0;
        if (reads_in(c, root, b, lo, hi) >= w + eq &&
            !(f->v.p[first].op == OP_GEN && elementwise(c, first, root, b, hi)))
            return 0;
    }
    return 1;
}

/* The new value y of carried variable j is computed straight into it if
 * no read of the old value comes at or after (for a plain scalar
 * statement: after) the first write of y's variable. */
/* Y, a variable written in FOR body b, may live in carried variable
 * rep (whose CARRY is cy): nothing reads rep's old value from where Y is
 * first written (after that statement, for a plain scalar one; other
 * elements, for a GEN; the other branch, for an if). */
static int share_ok(const Cg *c, Ref rep, Ref cy, Ref Y, const Region *b)
{
    const Fn *f = c->f;
    const Inst *yi = &f->v.p[Y];
    if (Y == rep || cg_inlined(c, Y) || c->hoist[Y] || f->v.p[first_write(c, Y)].parent != b ||
        yi->op == OP_PARAM || yi->op == OP_CONST || !ty_eq(yi->ty, f->v.p[cy].ty))
        return 0;
    int start = c->pos[first_write(c, Y)] + plain(yi);
    return class_last_read(c, rep, c->order_at[b->ids.p[0]], c->region_end[b->ids.p[0]]) < start ||
           (yi->op == OP_RESULT && elementwise(c, yi->arg[0], rep, b, INT_MAX)) ||
           (yi->op == OP_RESULT && f->v.p[yi->arg[0]].op == OP_IF &&
            branchwise(c, yi->arg[0], Y, rep, b));
}

/* v's source name as the generated code spells it (x, x_dot). */
static const char *spelled(const Cg *c, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    if (!in->name || !in->lin || strstr(in->name, "_dot"))
        return in->name;
    return arena_printf(c->p->arena, "%s_dot", in->name);
}

/* The versions of carried variable j that its body assigns (x = x * 1.5
 * in a branch, then x = x - 0.1 * s), and its new value, live in the
 * carried variable itself wherever share_ok allows. */
static void share_next(Cg *c, Ref id, int j)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    const Region *b = in->reg[0];
    Ref cy = ir_carry(f, id, j), rep = cg_var_of(c, cy);
    Ref y = cg_resolve(c, b->yield.p[j]), Y = cg_var_of(c, y);
    const char *name = carried_name(c, id, j);
    for (int i = 0; name && i < b->ids.n; i++) {
        Ref v = b->ids.p[i];
        const char *vn = spelled(c, v);
        if (v != y && cg_var_of(c, v) == v && vn && !strcmp(vn, name) && share_ok(c, rep, cy, v, b))
            c->var[v] = rep;
    }
    /* x_bar = ...; x_bar += t, the last term written in the yield: the
     * running sum is x_bar itself, and so is the yield, as a statement */
    Ref chain = NOREF;
    if (cg_inlined(c, y)) {
        const Inst *in_y = &f->v.p[y];
        Ref a = in_y->op == OP_ADD && in_y->acc ? cg_resolve(c, in_y->arg[0]) : NOREF;
        if (a == NOREF || cg_inlined(c, a) || c->uses[a] != 1 || f->v.p[a].parent != b ||
            !in_y->name || !f->v.p[a].name || strcmp(in_y->name, f->v.p[a].name))
            return;
        chain = y;
        Y = cg_var_of(c, a);
    }
    if (Y != rep && !share_ok(c, rep, cy, Y, b))
        return;
    c->var[Y] = rep;
    if (chain != NOREF) {
        c->force[chain] = 1;
        c->var[chain] = rep;
    }
}

static void share_carries(Cg *c)
{
    const Fn *f = c->f;
    int n = c->order.n;
    c->order_at = arena_alloc(c->p->arena, sizeof(int) * (size_t)(f->v.n + 1));
    for (int k = 0; k < n; k++)
        c->order_at[c->order.p[k]] = k;
    find_last_reads(c);
    /* the representatives: a FOR's RESULT, or its CARRY */
    for (int k = 0; k < n; k++) {
        Ref v = c->order.p[k];
        const Inst *in = &f->v.p[v];
        if (in->op != OP_RESULT || f->v.p[in->arg[0]].op != OP_FOR)
            continue;
        Ref cy = ir_carry(f, in->arg[0], (int)in->k);
        if (cg_var_of(c, cy) == cy)
            c->var[cy] = cg_var_of(c, v);
        else if (c->var[v] == v)
            c->var[v] = cg_var_of(c, cy);
    }
    for (int k = 0; k < n; k++) {
        Ref v = c->order.p[k];
        if (f->v.p[v].op == OP_CARRY)
            c->carried[cg_var_of(c, v)] = 1;
    }
    for (int k = 0; k < n; k++)
        if (f->v.p[c->order.p[k]].op == OP_FOR)
            for (int j = 0; j < f->v.p[c->order.p[k]].nix; j++)
                share_init(c, c->order.p[k], j);
    for (int k = n - 1; k >= 0; k--)
        if (f->v.p[c->order.p[k]].op == OP_FOR)
            for (int j = 0; j < f->v.p[c->order.p[k]].nix; j++)
                share_next(c, c->order.p[k], j);
}

/* ---------------- names and storage ---------------- */

/* Names variables in the order a reader meets them; an if's or a loop's
 * results first, as they are declared before it. */
static void name_one(Cg *c, Ref v)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[v];
    if (c->cname[v] || cg_var_of(c, v) != v || cg_inlined(c, v) || in->op == OP_NODIFF ||
        (c->uses[v] == 0 && in->op != OP_RESULT && in->op != OP_ZEROS))
        return;
    if (!in->name && c->hint[v]) { /* named after the loop variable it becomes */
        c->cname[v] = unique(c, &c->locals, c->hint[v]);
        return;
    }
    const char *base = in->name;
    if (!base && f->out.n && v == cg_resolve(c, f->out.p[0].ref) && f->out.p[0].role == OUT_RETURN)
        base = "y"; /* the value, as in the explainer's y = x^2 */
    if (!base && in->op == OP_RESULT && f->v.p[in->arg[0]].op == OP_RED)
        base = (const char *[]){"s", "p", "m", "m"}[(int)f->v.p[in->arg[0]].k];
    if (!base)
        base = arena_printf(c->p->arena, "t%d", ++c->tmp);
    else if (in->lin)
        base = arena_printf(c->p->arena, "%s_dot", base);
    c->cname[v] = unique(c, &c->locals, base);
}

/* A carried variable is named after the loop's result, or the CARRY, or
 * its new value, or its initial value, whichever has a source name. */
static void name_carried(Cg *c, Ref id)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    for (int j = 0; j < in->nix; j++) {
        Ref root = cg_var_of(c, ir_carry(f, id, j));
        if (c->cname[root] || !cg_owns(c, id, root))
            continue;
        const char *base = carried_name(c, id, j);
        c->cname[root] = unique(c, &c->locals, base ? base : arena_printf(c->p->arena, "t%d", ++c->tmp));
    }
}

static void name_region(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_FOR) {
            name_carried(c, id);
            name_region(c, in->reg[0]);
        } else if (in->op == OP_IF || cg_is_loop(in)) {
            int nr = ir_nresults(f, r, i);
            for (int j = 0; j < nr; j++)
                name_one(c, r->ids.p[i + 1 + j]);
            name_region(c, in->reg[0]);
            if (in->op == OP_IF)
                name_region(c, in->reg[1]);
        } else if (in->op != OP_PARAM && in->op != OP_IVAR) {
            name_one(c, id);
        }
    }
}

/* Array outputs are computed in the caller's array when their variable
 * is at the top level and not already another output's; scalar outputs
 * used nowhere else go through their pointer. */
static void place_outputs(Cg *c)
{
    const Fn *f = c->f;
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    for (int i = ret; i < f->out.n; i++) {
        Ref v = cg_resolve(c, f->out.p[i].ref);
        const Inst *in = &f->v.p[v];
        if (f->out.p[i].ty.rank) {
            Ref root = cg_var_of(c, v);
            if (!in->ty.rank || f->v.p[root].op == OP_PARAM || f->v.p[root].parent != f->body ||
                c->store[root] != ST_NONE)
                continue;
            c->store[root] = ST_OUT;
            c->cname[root] = c->out_names[i];
            c->in_place[i] = 1;
            c->bar[root] = f->out.p[i].role == OUT_BAR;
            continue;
        }
        if (cg_inlined(c, v) || in->op == OP_PARAM || c->uses[v] != 1 || in->parent != f->body ||
            c->cname[cg_var_of(c, v)] || c->carried[cg_var_of(c, v)])
            continue;
        c->cname[cg_var_of(c, v)] = arena_printf(c->p->arena, "*%s", c->out_names[i]);
        c->in_place[i] = 1;
        c->bar[cg_var_of(c, v)] = f->out.p[i].role == OUT_BAR;
    }
}

/* An array an if only picks (y = if c then x else z, both computed before
 * it and never changed) is a pointer to one of them, not a copy. */
static int pickable(const Cg *c, Ref y, Ref ifi)
{
    const Fn *f = c->f;
    Ref root = cg_var_of(c, cg_resolve(c, y));
    const Inst *in = &f->v.p[root];
    if (!in->ty.rank || within(f, in->parent, f->v.p[ifi].reg[0]) ||
        within(f, in->parent, f->v.p[ifi].reg[1]))
        return 0;
    if (c->carried[root])
        return 0; /* a loop writes it */
    return in->op == OP_PARAM || in->op == OP_LIT || c->store[root] == ST_PTR ||
           (in->op == OP_RESULT && f->v.p[in->arg[0]].op == OP_GEN);
}

static void point_results(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (cg_is_loop(in))
            point_results(c, in->reg[0]);
        if (in->op != OP_IF)
            continue;
        point_results(c, in->reg[0]);
        point_results(c, in->reg[1]);
        for (int j = 0; j < ir_nresults(f, r, i); j++) {
            Ref res = r->ids.p[i + 1 + j];
            int k = (int)f->v.p[res].k;
            if (f->v.p[res].ty.rank && cg_var_of(c, res) == res && !c->hoist[res] && !c->carried[res] &&
                c->store[res] == ST_NONE && pickable(c, in->reg[0]->yield.p[k], id) &&
                pickable(c, in->reg[1]->yield.p[k], id))
                c->store[res] = ST_PTR;
        }
    }
}

/* Every other array variable that is read or written is a local array:
 * its place in the workspace, in program order. */
static void place_locals(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_IF) {
            place_locals(c, in->reg[0]);
            place_locals(c, in->reg[1]);
        } else if (cg_is_loop(in)) {
            place_locals(c, in->reg[0]);
        }
        Ref root = cg_var_of(c, id);
        if (!in->ty.rank || in->op == OP_PARAM || in->op == OP_NODIFF || in->op == OP_IF ||
            cg_is_loop(in) || c->store[root] != ST_NONE ||
            !(in->op == OP_ZEROS || c->read[root] || c->carried[root]))
            continue;
        c->store[root] = ST_LOCAL;
        c->off[root] = c->frame;
        long long n = ty_size(f->v.p[root].ty);
        c->frame += n;
    }
}

void cg_prepare(Cg *c, const Fn *f, int ws)
{
    Arena *A = c->p->arena;
    c->f = f;
    c->ws = ws;
    memset(&c->locals, 0, sizeof c->locals);
    c->locals.a = A;
    c->suffix_key = NULL;
    c->suffix_val = NULL;
    c->suffix_cap = c->nsuffix = 0;
    size_t n = (size_t)f->v.n + 1;
    c->uses = arena_alloc(A, sizeof(int) * n);
    c->use_reg = arena_alloc(A, sizeof(Region *) * n);
    c->user = arena_alloc(A, sizeof(Ref) * n);
    c->pos = arena_alloc(A, sizeof(int) * n);
    c->use_pos = arena_alloc(A, sizeof(int) * n);
    c->npos = 0;
    c->has_loops = 0;
    for (int i = 0; i < f->v.n; i++)
        c->has_loops |= cg_is_loop(&f->v.p[i]);
    c->force = arena_alloc(A, n);
    c->frozen = arena_alloc(A, n);
    c->region_end = arena_alloc(A, sizeof(int) * n);
    c->branch_end[0] = arena_alloc(A, sizeof(int) * n);
    c->branch_end[1] = arena_alloc(A, sizeof(int) * n);
    c->hoist = arena_alloc(A, n);
    c->loop_yield = arena_alloc(A, n);
    c->store = arena_alloc(A, n);
    c->bar = arena_alloc(A, n);
    c->read = arena_alloc(A, n);
    c->carried = arena_alloc(A, n);
    c->hint = arena_alloc(A, sizeof(char *) * n);
    c->last_read = arena_alloc(A, sizeof(int) * n);
    c->order.n = 0;
    c->off = arena_alloc(A, sizeof(long long) * n);
    c->frame = 0;
    c->acc_pos = NULL;
    c->var = arena_alloc(A, sizeof(Ref) * n);
    for (Ref v = 0; v < f->v.n; v++)
        c->var[v] = v;
    c->cname = arena_alloc(A, sizeof(char *) * n);
    c->tmp = 0;
    analyse_region(c, f->body);
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    for (int i = 0; i < f->out.n; i++) {
        count_use(c, f->out.p[i].ref, f->body, NOREF, ++c->npos, 1);
        /* a scalar filling an array output is computed once */
        if (i >= ret && f->out.p[i].ty.rank && !f->v.p[cg_resolve(c, f->out.p[i].ref)].ty.rank)
            c->force[cg_resolve(c, f->out.p[i].ref)] = 1;
    }
    force_bool_operands(c, f->body);
    guard_buffer_reads(c);
    /* a gradient computes the value in its forward pass, by name */
    if ((f->kind == FN_GRAD || f->kind == FN_VJP) && f->out.p[0].role == OUT_RETURN &&
        f->v.p[cg_resolve(c, f->out.p[0].ref)].op != OP_CONST)
        c->force[cg_resolve(c, f->out.p[0].ref)] = 1;
    chain_region(c, f->body);
    share_yields(c, f->body);
    share_carries(c);

    /* parameters, outputs and the workspace are named first: the
     * prototype shows the model's names */
    c->in_names = arena_alloc(A, sizeof(char *) * (size_t)(f->in.n + 1));
    c->out_names = arena_alloc(A, sizeof(char *) * (size_t)(f->out.n + 1));
    c->in_place = arena_alloc(A, (size_t)f->out.n + 1);
    for (int i = 0; i < f->in.n; i++)
        c->in_names[i] = unique(c, &c->locals, f->in.p[i].name);
    for (int i = ret; i < f->out.n; i++)
        c->out_names[i] = unique(c, &c->locals, f->out.p[i].name);
    c->work = c->o->workspace ? unique(c, &c->locals, "work") : NULL;
    for (int i = 0; i < f->body->ids.n; i++) {
        Ref id = f->body->ids.p[i];
        if (f->v.p[id].op == OP_PARAM) {
            c->cname[id] = c->in_names[(int)f->v.p[id].k];
            c->store[id] = ST_PARAM;
        }
    }
    place_outputs(c);
    point_results(c, f->body);
    name_region(c, f->body);
    for (Ref v = 0; v < f->v.n; v++) {
        if (!c->cname[v] && f->v.p[v].op != OP_IVAR)
            c->cname[v] = c->cname[cg_var_of(c, v)];
        if (c->uses[v])
            c->read[cg_var_of(c, v)] = 1;
    }
    place_locals(c, f->body);
}

void cg_signature(Cg *c, const Fn *f, const char *name, const char *extra, Str *s)
{
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    putf(s, "%s %s(", ret ? real_t(c) : "void", name);
    int first = 1;
    for (int i = 0; i < f->in.n; i++) {
        const Input *in = &f->in.p[i];
        putf(s, "%s%s%s %s", first ? "" : ", ", in->ty.rank ? "const " : "", real_t(c),
             c->in_names[i]);
        if (in->ty.rank) {
            puts_(s, "[");
            for (int d = 0; d < in->ty.rank; d++)
                putf(s, "%s%d", d ? " * " : "", (int)in->ty.dim[d]);
            puts_(s, "]");
        }
        first = 0;
    }
    for (int i = ret; i < f->out.n; i++) {
        const Output *o = &f->out.p[i];
        putf(s, "%s%s %s%s", first ? "" : ", ", real_t(c), o->ty.rank ? "" : "*", c->out_names[i]);
        if (o->ty.rank) {
            puts_(s, "[");
            for (int d = 0; d < o->ty.rank; d++)
                putf(s, "%s%d", d ? " * " : "", (int)o->ty.dim[d]);
            puts_(s, "]");
        }
        first = 0;
    }
    if (extra) {
        putf(s, "%s%s", first ? "" : ", ", extra);
        first = 0;
    }
    if (first)
        puts_(s, "void");
    puts_(s, ")");
}

/* out = v, *x_bar = v: output i when it was not computed in place. */
