/*
 * dot.c - the computational graphs for Graphviz: for each function, the
 * forward graph (the primal) and the adjoint graph (f_grad), one cluster
 * each.  Nodes are instructions labelled with their source name and op;
 * edges carry values from operand to user, as in the seed's pictures of
 * (a + b) * c.
 */
#include "view.h"

#include <string.h>

static void label(const Fn *f, Ref id, FILE *out)
{
    const Inst *in = &f->v.p[id];
    char op[32];
    size_t n = 0;
    for (const char *c = op_info[in->op].name; *c && n < sizeof op - 1; c++)
        op[n++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    op[n] = 0;
    fputs("label=\"", out);
    if (in->op == OP_CONST) {
        fprintf(out, "%g", in->num);
    } else if (in->op == OP_PARAM) {
        fprintf(out, "%s", f->in.p[in->n].name);
    } else {
        if (in->name) {
            for (const char *c = in->name; *c; c++)
                if (*c != '"' && *c != '\\')
                    fputc(*c, out);
            fprintf(out, "%s%s = ", ir_is_tape(in) ? "_tape" : "", in->role == ROLE_TANGENT ? "_dot" : "");
        }
        if (in->op == OP_POWI)
            fprintf(out, "^%g", (double)in->n);
        else
            fputs(op, out);
    }
    fputs("\"", out);
}

/* A GEN, RED, LOOP or FOR: a cluster holding its body, labelled like the
 * IR printer ("gen 3x4", "sum", "loop", "for 0..10"); a FOR's carried
 * values come from their initial values and, dashed, from the values
 * the body ends with. */
static void loop_cluster(const Fn *f, Ref id, const char *pre, FILE *out);

static void nodes(const Fn *f, const Region *r, const char *pre, FILE *out)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_IF) {
            fprintf(out, "    %s%d [shape=diamond, label=\"if\"];\n", pre, id);
            fprintf(out, "    %s%d -> %s%d [style=dashed];\n", pre, in->arg[0], pre, id);
            nodes(f, in->reg[0], pre, out);
            nodes(f, in->reg[1], pre, out);
            continue;
        }
        if (in->op == OP_GEN || in->op == OP_RED || in->op == OP_LOOP || in->op == OP_FOR) {
            loop_cluster(f, id, pre, out);
            continue;
        }
        if (in->op == OP_IVAR)
            continue; /* indices are the loop's */
        fprintf(out, "    %s%d [", pre, id);
        label(f, id, out);
        if (in->op == OP_PARAM)
            fputs(", shape=box, style=filled, fillcolor=lightblue", out);
        else if (in->ty.rank || in->op == OP_ZEROS)
            fputs(", shape=box3d", out);
        if (in->op != OP_PARAM && ir_is_rev(in))
            fputs(", style=filled, fillcolor=mistyrose", out);
        fputs("];\n", out);
        if (in->op == OP_RESULT) {
            const Inst *x = &f->v.p[in->arg[0]];
            int two = x->op == OP_IF;
            for (int s = 0; s < 1 + two; s++)
                fprintf(out, "    %s%d -> %s%d [label=\"%s\"];\n", pre,
                        x->reg[s]->yield.p[in->n], pre, id,
                        x->op == OP_FOR ? "last" : !two ? "each" : s ? "else" : "then");
            continue;
        }
        for (int k = 0; k < op_info[in->op].nargs; k++)
            fprintf(out, "    %s%d -> %s%d%s;\n", pre, in->arg[k], pre, id,
                     in->op == OP_ACC && k == 0 ? " [dir=back, style=dashed]" : "");
        if (in->op == OP_LIT)
            for (int k = 0; k < in->nix; k++)
                fprintf(out, "    %s%d -> %s%d;\n", pre, in->list[k], pre, id);
    }
}

static void loop_cluster(const Fn *f, Ref id, const char *pre, FILE *out)
{
    static const char *red[] = {"sum", "prod", "max", "min"};
    const Inst *in = &f->v.p[id];
    fprintf(out, "    subgraph cluster_%s%d {\n    style=rounded;\n    label=\"", pre, id);
    if (in->op == OP_GEN) {
        fputs("gen ", out);
        for (int d = 0; d < in->ty.rank; d++)
            fprintf(out, "%s%d", d ? "x" : "", (int)in->ty.dim[d]);
    } else if (in->op == OP_FOR) {
        fprintf(out, "for %d..%d%s", (int)in->ix[0].c, (int)in->ix[1].c, in->flags & IF_BACKWARDS ? " (backwards)" : "");
    } else {
        fputs(in->op == OP_RED ? red[in->red] : in->flags & IF_BACKWARDS ? "loop (backwards)" : "loop", out);
    }
    fputs("\";\n", out);
    nodes(f, in->reg[0], pre, out);
    fputs("    }\n", out);
    if (in->op == OP_FOR)
        for (int j = 0; j < in->nix; j++) {
            Ref cy = ir_carry(f, id, j);
            fprintf(out, "    %s%d -> %s%d [label=\"init\"];\n", pre, in->list[j], pre, cy);
            fprintf(out, "    %s%d -> %s%d [label=\"next\", style=dashed, constraint=false];\n", pre,
                    in->reg[0]->yield.p[j], pre, cy);
        }
}

static void graph(const Fn *f, const char *pre, const char *title, FILE *out)
{
    fprintf(out, "  subgraph cluster_%s {\n    label=\"%s\";\n", pre, title);
    nodes(f, f->body, pre, out);
    for (int i = 0; i < f->out.n; i++) {
        fprintf(out, "    %s_out%d [shape=box, style=filled, fillcolor=palegreen, label=\"%s\"];\n",
                pre, i, f->out.p[i].name);
        fprintf(out, "    %s%d -> %s_out%d;\n", pre, f->out.p[i].ref, pre, i);
    }
    fputs("  }\n", out);
}

void cg_dot_ir(const Program *p, FILE *out)
{
    fputs("digraph dx {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n", out);
    for (int i = 0; i < p->units.n; i++) {
        const Unit *u = &p->units.p[i];
        char pre[32];
        snprintf(pre, sizeof pre, "f%d_", i);
        graph(u->primal, pre, u->primal->name, out);
        if (u->grad) {
            snprintf(pre, sizeof pre, "g%d_", i);
            graph(u->grad, pre, u->grad->name, out);
        }
    }
    fputs("}\n", out);
}
