/*
 * cvars.c - the questions every part of the generator asks about a value
 * once canalyse.c has decided how the function reads: which C variable
 * holds it (cg_var_of), whether it is written inside its user's
 * expression instead (cg_inlined), and what a NODIFF stands for
 * (cg_resolve).  They read the analysis (Cg's per-function tables) and
 * change nothing, so canalyse.c, cfor.c and cbody.c all stand on them.
 * cg_resolve, cg_var_of and cg_inlined once its answers are kept are
 * inline, in cvars.h: every part of the generator asks them, millions of
 * times for a large program, and a call to another file costs more than
 * their answer.
 */
#include "cgen.h"

/* Written inside its user's expression rather than as a statement, from
 * the analysis (cg_inlined asks it until keep_inlined keeps the answers). */
int cg_inlined_now(const Cg *c, Ref v)
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
    if (in->ty.kind == TY_BOOL) /* a condition: written where it is tested */
        return 1;
    /* a named value read only by a loop's yield is written into the store
     * (h[i] = ...), which names it */
    return (!in->name || c->loop_yield[v]) && c->uses[v] == 1 &&
           cg_use_reg(c, v) == in->parent && !c->force[v] && !c->hoist[v];
}
