/*
 * cvars.h - the smallest questions cvars.c answers about a value,
 * inline: every part of the generator asks them, millions of times for
 * a large program, and a call to another file costs more than their
 * answer.  Included by cgen.h once Cg is defined.
 */
#ifndef CVARS_H
#define CVARS_H

/* v, NODIFFs skipped: NODIFF is the identity in C, every use reads its
 * operand. */
static inline Ref cg_resolve(const Cg *c, Ref v)
{
    while (v != NOREF && (c->nodiff ? c->nodiff[v] : c->f->v.p[v].op == OP_NODIFF))
        v = c->f->v.p[v].arg[0];
    return v;
}

/* The C variable that holds v (an operand's, for NODIFF; an accumulation
 * chain's or an if-result's when they share one): the value it starts
 * with, itself or the start of its accumulation chain or the if-result
 * it is yielded to. */
static inline Ref cg_var_of(const Cg *c, Ref v)
{
    v = cg_resolve(c, v);
    while (c->var[v] != v)
        v = c->var[v];
    return v;
}

/* The region of v's last read, for a value that is read (the body when
 * f has no branch or loop: no table is kept then). */
static inline const Region *cg_use_reg(const Cg *c, Ref v)
{
    return c->use_reg ? c->use_reg[v] : c->f->body;
}

/* Written inside its user's expression rather than as a statement: the
 * answer kept once cg_prepare is done (cg_inlined_now works it out). */
static inline int cg_inlined(const Cg *c, Ref v)
{
    return c->inlined ? c->inlined[v] : cg_inlined_now(c, v);
}

#endif
