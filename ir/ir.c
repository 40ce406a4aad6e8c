/*
 * ir.c - building, printing and verifying IR functions.
 */
#include "ir.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const OpInfo op_info[OP_COUNT] = {
#define OP(name, nargs, kind, cname, rule) [OP_##name] = {#name, nargs, kind, cname},
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

int ty_eq(Type a, Type b)
{
    if (a.kind != b.kind || a.rank != b.rank)
        return 0;
    for (int i = 0; i < a.rank; i++)
        if (a.dim[i] != b.dim[i])
            return 0;
    return 1;
}

long long ty_size(Type t)
{
    long long n = 1;
    for (int i = 0; i < t.rank; i++)
        n *= t.dim[i];
    return n;
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

Region *ir_region_new(Fn *f, Ref owner, int side)
{
    Region *r = arena_alloc(f->arena, sizeof *r);
    r->owner = owner;
    r->side = side;
    return r;
}

Ref ir_emit(Fn *f, Region *r, Op op, Type ty, Ref a, Ref b, Ref c)
{
    Inst in = {0};
    in.op = (uint16_t)op;
    in.ty = ty;
    in.arg[0] = a;
    in.arg[1] = b;
    in.arg[2] = c;
    in.parent = r;
    vec_push(f->arena, &f->v, in);
    Ref id = f->v.n - 1;
    vec_push(f->arena, &r->ids, id);
    return id;
}

Ref ir_const(Fn *f, Region *r, double k)
{
    Ref c = ir_emit(f, r, OP_CONST, ty_scalar(), NOREF, NOREF, NOREF);
    f->v.p[c].k = k;
    return c;
}

Ref ir_param(Fn *f, Region *r, int index)
{
    Ref p = ir_emit(f, r, OP_PARAM, f->in.p[index].ty, NOREF, NOREF, NOREF);
    f->v.p[p].k = index;
    f->v.p[p].name = f->in.p[index].name;
    return p;
}

int ir_is_const(Fn *f, Ref r, double k)
{
    return r != NOREF && f->v.p[r].op == OP_CONST && f->v.p[r].k == k;
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

/* ---- printing ---- */

static void print_region(Fn *f, Region *r, int depth, FILE *out);

static void print_ref(Fn *f, Ref r, FILE *out)
{
    if (r == NOREF) {
        fputs("_", out);
        return;
    }
    Inst *in = &f->v.p[r];
    if (in->op == OP_CONST && !in->lin)
        fprintf(out, "%.17g", in->k);
    else
        fprintf(out, "%%%d", r);
}

static void print_inst(Fn *f, Region *r, int at, int depth, FILE *out)
{
    Ref id = r->ids.p[at];
    Inst *in = &f->v.p[id];
    if (in->op == OP_RESULT)
        return; /* printed with their IF */
    fprintf(out, "%*s", 2 * depth + 2, "");
    if (in->op == OP_IF) {
        int n = 0;
        for (int j = 0; j < ir_nresults(f, r, at); j++)
            fprintf(out, "%s%%%d", n++ ? ", " : "", r->ids.p[at + 1 + j]);
        fprintf(out, "%sif ", n ? " = " : "");
        print_ref(f, in->arg[0], out);
        fputs(" {\n", out);
        print_region(f, in->reg[0], depth + 1, out);
        fprintf(out, "%*s} else {\n", 2 * depth + 2, "");
        print_region(f, in->reg[1], depth + 1, out);
        fprintf(out, "%*s}\n", 2 * depth + 2, "");
        return;
    }
    fprintf(out, "%%%d = %s", id, in->lin ? "lin." : "");
    for (const char *c = op_info[in->op].name; *c; c++)
        fputc(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c, out);
    if (in->op == OP_CONST || in->op == OP_POWI)
        fprintf(out, " %.17g", in->k);
    if (in->op == OP_PARAM)
        fprintf(out, " %d", (int)in->k);
    for (int i = 0; i < 3 && in->arg[i] != NOREF; i++) {
        fputs(i ? ", " : " ", out);
        print_ref(f, in->arg[i], out);
    }
    if (in->name || in->line)
        fputs("    ;", out);
    if (in->name)
        fprintf(out, " %s", in->name);
    if (in->line)
        fprintf(out, " line %d", in->line);
    fputc('\n', out);
}

static void print_region(Fn *f, Region *r, int depth, FILE *out)
{
    for (int i = 0; i < r->ids.n; i++)
        print_inst(f, r, i, depth, out);
    if (r->yield.n) {
        fprintf(out, "%*syield", 2 * depth + 2, "");
        for (int i = 0; i < r->yield.n; i++) {
            fputs(i ? ", " : " ", out);
            print_ref(f, r->yield.p[i], out);
        }
        fputc('\n', out);
    }
}

void ir_print(Fn *f, FILE *out)
{
    static const char *roles[] = {"", "tangent ", "seed "};
    fprintf(out, "fn %s(", f->name);
    for (int i = 0; i < f->in.n; i++)
        fprintf(out, "%s%s%s%s", i ? ", " : "", f->in.p[i].is_data ? "data " : "",
                roles[f->in.p[i].role], f->in.p[i].name);
    fputs(") -> (", out);
    for (int i = 0; i < f->out.n; i++)
        fprintf(out, "%s%s", i ? ", " : "", f->out.p[i].name);
    fputs(") {\n", out);
    print_region(f, f->body, 0, out);
    fputs("  return", out);
    for (int i = 0; i < f->out.n; i++) {
        fprintf(out, "%s%s = ", i ? ", " : " ", f->out.p[i].name);
        print_ref(f, f->out.p[i].ref, out);
    }
    fputs("\n}\n", out);
}

/* ---- verifier ---- */

static void verify_region(Fn *f, Region *r, unsigned char *seen)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        ASSERT(id >= 0 && id < f->v.n);
        Inst *in = &f->v.p[id];
        ASSERT(in->parent == r);
        ASSERT(!seen[id]);
        int n = op_info[in->op].nargs;
        for (int k = 0; k < 3; k++) {
            if (k < n) {
                ASSERT(in->arg[k] != NOREF);
                ASSERT(seen[in->arg[k]]);
            }
        }
        if (in->op == OP_IF) {
            ASSERT(f->v.p[in->arg[0]].ty.kind == TY_BOOL);
            verify_region(f, in->reg[0], seen);
            verify_region(f, in->reg[1], seen);
            ASSERT(in->reg[0]->yield.n == in->reg[1]->yield.n);
        }
        if (in->op == OP_RESULT) {
            Inst *x = &f->v.p[in->arg[0]];
            ASSERT(x->op == OP_IF);
            ASSERT((int)in->k < x->reg[0]->yield.n);
        }
        seen[id] = 1;
    }
    for (int i = 0; i < r->yield.n; i++)
        ASSERT(r->yield.p[i] >= 0 && seen[r->yield.p[i]]);
}

void ir_verify(Fn *f)
{
    unsigned char *seen = arena_alloc(f->arena, (size_t)f->v.n + 1);
    verify_region(f, f->body, seen);
    for (int i = 0; i < f->out.n; i++)
        ASSERT(seen[f->out.p[i].ref]);
}
