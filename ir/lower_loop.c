/*
 * lower_loop.c - while loops, break and continue, lowered onto the IR's
 * one loop, the FOR with constant bounds, so that everything after the
 * lowering (AD, tapes, the C generator, the views, the interpreter)
 * handles them unchanged.
 *
 * `while c max N { body }` becomes a FOR over 0..N that carries one more
 * value, the flag `running` (1, then 0 once the loop has stopped):
 *
 *     for iter in 0..N { if running != 0 and c { body } else { running = 0 } }
 *
 * Once the flag is 0 every later iteration takes the empty branch: the
 * carried values pass through unchanged, and so do their adjoints in the
 * reverse loop (tapes have N rows).  So the generated C may leave the
 * loop once the flag is 0, and the backward loop may start at the last
 * iteration that ran (codegen/cfor.c: cg_exit_flag); the interpreter
 * stops there too.  The condition is a condition of an IF, so it is never
 * differentiated, and the flag, made of constants only, has no tangent
 * and no adjoint.
 *
 * `break` sets the flag of the innermost loop to 0 (a for loop that
 * holds a break gets the flag too, and its body the guard
 * `if running != 0`); `continue` sets `go_on`, a flag that each iteration
 * starts at 1.  After a statement that may have left the iteration
 * (an if holding a break or continue), the rest of the block runs under
 * `if go_on != 0` (`running` when the loop has no continue), and the
 * if arms that left the iteration need no value for the variables the
 * other arm defines (lw_jumped_value gives them a zero): what is defined
 * on every path that goes on counts as defined.
 *
 * The flags live in the environment as variables under names no program
 * can write ("running#1" for a loop nested one deep); lw_loop_end gives
 * their instructions the names the generated code shows.
 */
#include "lower.h"

#include <string.h>

/* Does block hold a statement of kind k (AST_BREAK, AST_CONTINUE), in
 * its ifs at any depth but not in nested loops (whose jumps are their
 * own)? */
static int has_jump(const AstList *body, AstKind k)
{
    for (int i = 0; i < body->n; i++) {
        const Ast *st = body->p[i];
        if (st->kind == k)
            return 1;
        if (st->kind == AST_IF && (has_jump(&st->body, k) || has_jump(&st->els, k)))
            return 1;
    }
    return 0;
}

/* The flag variable `name`, set to 1 in the current region. */
static int flag(Lower *L, Loc loc, const char *name)
{
    int s = lw_env_find(L, L->env, name, 1);
    lw_env_set(L, s, lw_const(L, loc, 1), DEF, 0, NOREF);
    return s;
}

void lw_loop_begin(Lower *L, const Ast *st, LwLoop *lp, NameVec *names)
{
    memset(lp, 0, sizeof *lp);
    lp->run = lp->go = -1;
    lp->first = L->f->v.n;
    int depth = 0;
    for (const LwLoop *p = L->loop; p; p = p->outer)
        depth++;
    if (st->kind == AST_WHILE || has_jump(&st->body, AST_BREAK)) {
        lp->run_name = arena_printf(L->a, "running#%d", depth);
        lp->run = flag(L, st->loc, lp->run_name);
        vec_push(L->a, names, lp->run_name);
    }
    if (has_jump(&st->body, AST_CONTINUE))
        lp->go_name = arena_printf(L->a, "go_on#%d", depth);
    lp->outer = L->loop;
    L->loop = lp;
}

/* The body; for a loop with flags, under `if running != 0 [and c]`. */
void lw_loop_body(Lower *L, const Ast *st)
{
    LwLoop *lp = L->loop;
    if (lp->go_name)
        lp->go = flag(L, st->loc, lp->go_name);
    if (lp->run < 0) {
        lw_stmts(L, &st->body, 0);
        return;
    }
    Ref c = lw_emit(L, st->loc, OP_NE, L->env->slot[lp->run].val, lw_const(L, st->loc, 0));
    AstList stop = {0};
    if (st->kind == AST_WHILE) {
        c = lw_emit(L, st->loc, OP_AND, c, lower_cond(L, st->cond));
        ast_append(L->a, &stop, ast_assign(L->a, st->loc, lp->run_name,
                                           ast_num(L->a, st->loc, 0, 1)));
    }
    const AstList *arm[2] = {&st->body, &stop};
    lw_branches(L, st->loc, c, arm, 0);
}

void lw_loop_end(Lower *L, LwLoop *lp)
{
    Fn *f = L->f;
    for (Ref r = lp->first; r < f->v.n; r++) {
        const char *n = f->v.p[r].name;
        if (n && lp->run_name && !strcmp(n, lp->run_name))
            f->v.p[r].name = "running";
        else if (n && lp->go_name && !strcmp(n, lp->go_name))
            f->v.p[r].name = "go_on";
    }
    if (lp->run >= 0) /* after the loop, the flag is no variable */
        lw_env_set(L, lp->run, NOREF, UNDEF, 0, NOREF);
    L->loop = lp->outer;
}

int lw_while_range(Lower *L, const Ast *st, Aff *lo, Aff *hi)
{
    if (!st->a) {
        lw_errf(L, st->name_loc, "a while loop needs a bound: write 'while cond max N { ... }'");
        return 0;
    }
    if (strcmp(st->name, "max")) {
        lw_errf(L, st->name_loc, "expected 'max' after the condition of a while loop, not '%s'",
                diag_name(L->a, st->name));
        return 0;
    }
    if (!lower_affine(L, st->a, AK_WHILE, hi))
        return 0;
    if (hi->c < 0) {
        lw_errf(L, st->a->loc, "the bound of a while loop must not be negative (it is %d)",
                (int)hi->c);
        return 0;
    }
    *lo = aff_const(L->a, 0);
    return 1;
}

void lw_jump(Lower *L, const Ast *st)
{
    LwLoop *lp = L->loop;
    const char *what = st->kind == AST_BREAK ? "break" : "continue";
    if (!lp) {
        lw_errf(L, st->loc, "'%s' is outside a loop (it belongs in the body of a for or "
                "while loop)", what);
        return;
    }
    Ref zero = lw_const(L, st->loc, 0);
    if (st->kind == AST_BREAK)
        lw_env_set(L, lp->run, zero, DEF, 0, NOREF);
    if (lp->go >= 0)
        lw_env_set(L, lp->go, zero, DEF, 0, NOREF);
    lp->jumped = 1;
    lp->jumps++;
}

int lw_guard_rest(Lower *L, const AstList *body, int i, int jumps0)
{
    LwLoop *lp = L->loop;
    if (!lp || lp->jumps == jumps0 || i + 1 >= body->n || L->stop)
        return 0;
    const Ast *next = body->p[i + 1];
    if (lp->jumped) {
        lw_errf(L, next->loc, "this statement never runs: every path before it leaves the "
                "iteration (break or continue)");
        return 1;
    }
    const Slot *s = &L->env->slot[lp->go >= 0 ? lp->go : lp->run];
    if (s->state != DEF)
        return 0;
    Ref c = lw_emit(L, next->loc, OP_NE, s->val, lw_const(L, next->loc, 0));
    AstList rest = {body->p + i + 1, body->n - i - 1, 0};
    AstList none = {0};
    const AstList *arm[2] = {&rest, &none};
    lw_branches(L, next->loc, c, arm, 1);
    return 1;
}

Ref lw_jumped_value(Lower *L, Ref nif, int k, Type t)
{
    Fn *f = L->f;
    Region *saved = L->r;
    Loc loc = {f->v.p[nif].line, 1};
    L->r = f->v.p[nif].x->reg[k];
    Ref z = lw_const(L, loc, 0);
    if (t.rank) { /* an array of zeros: a GEN yielding 0 */
        Ref g = ir_loop_new(f, L->r, OP_GEN, t, t.rank);
        f->v.p[g].line = loc.line;
        Region *body = f->v.p[g].x->reg[0];
        for (int d = 0; d < t.rank; d++)
            f->v.p[body->ids.p[d]].line = loc.line;
        vec_push(L->a, &body->yield, z);
        z = lw_put(L, loc, OP_RESULT, t, g, NOREF);
    }
    L->r = saved;
    return z;
}
