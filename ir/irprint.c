/*
 * irprint.c - the IR as text: one function (ir_print) or a whole compiled
 * Program (ir_print_program, what `dxc --emit=ir` writes), in the form
 * ir/irread.c reads back.  The format is described at the top of
 * irread.c and in docs/ir.md.
 *
 * The text is exact: every field of every instruction a region holds is
 * written (but a rule_src naming a dead instruction, which only --explain
 * reads), so that reading it back rebuilds the same Program and the C
 * generator writes the same C from it.  Instructions keep their Refs
 * (%N), so a Fn's dead instructions (left in Fn.v by the passes, in no
 * region) leave gaps in the numbering; they are not written.
 *
 * print_facts is the only function here that knows the fields of an
 * instruction that are facts about it rather than its structure (role,
 * flags, n, num, red, rule_op, rule_arg, rule_src); parse_facts in irread.c is its
 * inverse.
 */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"primal", "jvp", "grad", "vjp", "hvp"};
static const char *const type_names[] = {"real", "bool", "index", "none"};
static const char *const red_names[] = {"sum", "prod", "max", "min"};

const char *ir_op_name(Op op)
{
    static char names[OP_COUNT][16];
    if (!names[op][0]) {
        const char *s = op_info[op].name;
        size_t i = 0;
        for (; s[i] && i + 1 < sizeof names[op]; i++)
            names[op][i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
        names[op][i] = 0;
    }
    return names[op];
}

/* ---- tokens ---- */

/* A string in double quotes: \\, \", \t, \r and \xHH for the other
 * control bytes; every other byte as it is. */
static void put_str(FILE *out, const char *s, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c < 32 || c == 127)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

int ir_is_word(const char *s)
{
    if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* A name: bare when it is a word (and not "data", which starts a data
 * input), else quoted. */
static void put_name(FILE *out, const char *s)
{
    if (!s)
        s = "";
    if (ir_is_word(s) && strcmp(s, "data"))
        fputs(s, out);
    else
        put_str(out, s, strlen(s));
}

/* The shortest decimal form that reads back as x (inf, -inf, nan);
 * integers below 10^15 in full. */
static void put_num(FILE *out, double x)
{
    char buf[64];
    if (isnan(x)) {
        fputs(signbit(x) ? "-nan" : "nan", out);
        return;
    }
    if (x == floor(x) && fabs(x) < 1e15) {
        fprintf(out, "%.0f", x);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    fputs(buf, out);
}

static void put_type(FILE *out, Type t)
{
    fputs(t.kind < 4 ? type_names[t.kind] : "?", out);
    if (t.rank) {
        fputc('[', out);
        for (int d = 0; d < t.rank; d++)
            fprintf(out, "%s%d", d ? "," : "", (int)ty_dim(t, d));
        fputc(']', out);
    }
}

/* c + a0*%iv0 + ...: the terms in their order (coefficient 1 unwritten),
 * then the constant unless it is 0 after some term. */
static void put_aff(FILE *out, Aff x);

/* A non-affine term, after the affine ones: [-][B*]{X mul|div|mod Y}. */
static void put_q(FILE *out, const AffQ *q, int first)
{
    long long b = q->b;
    if (!first)
        fputs(b < 0 ? " - " : " + ", out);
    else if (b < 0)
        fputc('-', out);
    if (llabs(b) != 1)
        fprintf(out, "%lld*", llabs(b));
    fputc('{', out);
    put_aff(out, q->x);
    fprintf(out, " %s ", q->op == AQ_MUL ? "mul" : q->op == AQ_DIV ? "div" : "mod");
    put_aff(out, q->y);
    fputc('}', out);
}

static void put_aff(FILE *out, Aff x)
{
    for (int i = 0; i < x.n; i++) {
        long long a = x.a[i];
        if (i)
            fputs(a < 0 ? " - " : " + ", out);
        else if (a < 0)
            fputc('-', out);
        if (llabs(a) != 1)
            fprintf(out, "%lld*", llabs(a));
        fprintf(out, "%%%d", x.iv[i]);
    }
    for (int k = 0; k < x.nq; k++)
        put_q(out, &x.q[k], !x.n && !k);
    if (!x.n && !x.nq)
        fprintf(out, "%d", (int)x.c);
    else if (x.c)
        fprintf(out, " %c %lld", x.c < 0 ? '-' : '+', llabs((long long)x.c));
}

static void put_range(FILE *out, Aff lo, Aff hi)
{
    put_aff(out, lo);
    fputs("..", out);
    put_aff(out, hi);
}

static void put_refs(FILE *out, const Ref *r, int n, const char *first)
{
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%%%d", i ? ", " : first, r[i]);
}

/* ---- instructions ---- */

/*
 * The facts of an instruction, right after its operation's name: the
 * number the operation reads (const: its value; powi: the exponent;
 * param, result, ivar, carry: an index; red: sum, prod, max or min), its
 * role (tangent, adjoint, tape; nothing for primal), its flags (acc,
 * backwards, store, noinit, rev, taped, setelem, checkpoint, sub), n=, num= and red= where the
 * operation gives them no meaning but they are not 0, and rule=OP arg=K for
 * the rule a derivative instruction came from.  parse_facts (irread.c)
 * reads exactly this.
 */
const char *const ir_role_words[4] = {"primal", "tangent", "adjoint", "tape"};
const IrFlagWord ir_flag_words[IR_NFLAG_WORDS] = {
    {IF_ACC, "acc"},     {IF_BACKWARDS, "backwards"}, {IF_STORE, "store"},
    {IF_NOINIT, "noinit"}, {IF_REV, "rev"},           {IF_TAPE, "taped"},
    {IF_SETELEM, "setelem"}, {IF_CKPT, "checkpoint"}, {IF_SUB, "sub"},
};

/* Does a region of f hold x (in a region that one of f's holds)? */
static int is_live(const Fn *f, Ref x)
{
    const Region *r = f->v.p[x].parent;
    if (!r)
        return 0;
    int found = 0;
    for (int i = 0; i < r->ids.n && !found; i++)
        found = r->ids.p[i] == x;
    return found && (r->owner == NOREF || is_live(f, r->owner));
}

static void print_facts(const Fn *f, FILE *out, const Inst *in)
{
    int own_n = 0, own_red = 0;
    switch (in->op) {
    case OP_CONST: fputc(' ', out); put_num(out, in->x->num); break;
    case OP_POWI: case OP_PARAM: case OP_RESULT: case OP_IVAR: case OP_CARRY:
        fprintf(out, " %d", (int)in->n);
        own_n = 1;
        break;
    case OP_RED:
        own_red = in->red <= RK_MIN;
        if (own_red)
            fprintf(out, " %s", red_names[in->red]);
        break;
    default: break;
    }
    if (in->role != ROLE_PRIMAL)
        fprintf(out, " %s", ir_role_words[in->role]);
    for (int i = 0; i < IR_NFLAG_WORDS; i++)
        if (in->flags & ir_flag_words[i].flag)
            fprintf(out, " %s", ir_flag_words[i].word);
    if (!own_n && in->n)
        fprintf(out, " n=%d", (int)in->n);
    if (!own_red && in->red)
        fprintf(out, " red=%d", in->red);
    if (in->rule_op != 0 || in->rule_arg != -1)
        fprintf(out, " rule=%s arg=%d", ir_op_name((Op)in->rule_op), in->rule_arg);
    if (in->rule_src != NOREF && is_live(f, in->rule_src)) /* a dead one is not written */
        fprintf(out, " of=%%%d", in->rule_src);
}

/* nix where the operands do not say it: 1 for ireal, 0 elsewhere. */
static int implied_nix(const Inst *in)
{
    switch (in->op) {
    case OP_IDX: case OP_ACC: case OP_LOOP: case OP_FOR: case OP_LIT: return in->nix;
    case OP_IREAL: return 1;
    default: return 0;
    }
}

static void print_operands(FILE *out, const Inst *in)
{
    switch (in->op) {
    case OP_IDX:
    case OP_ACC:
        fprintf(out, " %%%d[", in->arg[0]);
        for (int i = 0; i < in->nix; i++) {
            fputs(i ? ", " : "", out);
            put_aff(out, in->x->ix[i]);
        }
        fputc(']', out);
        if (in->op == OP_ACC)
            fprintf(out, ", %%%d", in->arg[1]);
        return;
    case OP_IREAL:
        fputc(' ', out);
        put_aff(out, in->x->ix[0]);
        return;
    case OP_LIT:
        put_refs(out, in->x->list, in->nix, " ");
        return;
    case OP_RED:
    case OP_FOR:
        fputc(' ', out);
        put_range(out, in->x->ix[0], in->x->ix[1]);
        if (in->op == OP_FOR)
            put_refs(out, in->x->list, in->nix, ", ");
        return;
    case OP_LOOP:
        for (int d = 0; d < in->nix; d++) {
            fputs(d ? ", " : " ", out);
            put_range(out, in->x->ix[d], in->x->ix[in->nix + d]);
        }
        return;
    default:
        put_refs(out, in->arg, op_info[in->op].nargs, " ");
        return;
    }
}

static void print_region(const Fn *f, const Region *r, int depth, FILE *out);

static void print_inst(const Fn *f, Ref id, int depth, FILE *out)
{
    const Inst *in = &f->v.p[id];
    fprintf(out, "%*s%%%d = %s", 2 * depth, "", id, ir_op_name(in->op));
    print_facts(f, out, in);
    print_operands(out, in);
    if (in->ty.kind != TY_NONE || in->ty.rank) {
        fputs(" : ", out);
        put_type(out, in->ty);
    }
    if (in->name) {
        fputs(" name=", out);
        put_name(out, in->name);
    }
    if (in->line)
        fprintf(out, " line=%d", in->line);
    if (in->nix != implied_nix(in))
        fprintf(out, " nix=%d", in->nix);
    if (!in->x->reg[0]) {
        fputc('\n', out);
        return;
    }
    fputs(" {\n", out);
    print_region(f, in->x->reg[0], depth + 1, out);
    if (in->op == OP_IF) {
        fprintf(out, "%*s} else {\n", 2 * depth, "");
        print_region(f, in->x->reg[1], depth + 1, out);
    }
    fprintf(out, "%*s}\n", 2 * depth, "");
}

static void print_region(const Fn *f, const Region *r, int depth, FILE *out)
{
    for (int i = 0; i < r->ids.n; i++)
        print_inst(f, r->ids.p[i], depth, out);
    if (r->yield.n) {
        fprintf(out, "%*syield", 2 * depth, "");
        put_refs(out, r->yield.p, r->yield.n, " ");
        fputc('\n', out);
    }
}

/* ---- functions and programs ---- */

static void print_inputs(const Fn *f, FILE *out)
{
    for (int i = 0; i < f->in.n; i++) {
        const Input *in = &f->in.p[i];
        fputs(in->is_data ? "  in data " : "  in ", out);
        put_name(out, in->name);
        fputs(" : ", out);
        put_type(out, in->ty);
        if (in->role == IN_TANGENT)
            fprintf(out, " tangent %d", in->of);
        else if (in->role == IN_SEED)
            fputs(" seed", out);
        fputc('\n', out);
    }
    for (int i = 0; i < f->out.n; i++) {
        const Output *o = &f->out.p[i];
        fputs("  out ", out);
        put_name(out, o->name);
        fputs(" : ", out);
        put_type(out, o->ty);
        if (o->role == OUT_BAR)
            fprintf(out, " bar %d", o->of);
        else
            fputs(o->role == OUT_RETURN ? " return" : " array", out);
        fprintf(out, " = %%%d\n", o->ref);
    }
}

void ir_print(const Fn *f, FILE *out)
{
    fputs("fn ", out);
    put_name(out, f->name);
    fprintf(out, " %s", kind_names[f->kind]);
    if (f->line)
        fprintf(out, " line=%d", f->line);
    if (f->col)
        fprintf(out, " col=%d", f->col);
    fputc('\n', out);
    print_inputs(f, out);
    fputs("{\n", out);
    print_region(f, f->body, 1, out);
    fputs("}\n", out);
}

static void mark_lines(const Fn *f, const Region *r, unsigned char *used, int nlines)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (in->line > 0 && in->line <= nlines)
            used[in->line] = 1;
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s])
                mark_lines(f, in->x->reg[s], used, nlines);
    }
}

/* The source lines the functions come from (the C generator quotes them
 * in its comments), each as `line N "text"`. */
static void print_source(const Program *p, FILE *out)
{
    const Source *s = p->src;
    fputs("source ", out);
    put_str(out, s->path, strlen(s->path));
    fputc('\n', out);
    int nlines = 1;
    for (size_t i = 0; i < s->len; i++)
        nlines += s->text[i] == '\n';
    unsigned char *used = calloc((size_t)nlines + 1, 1);
    if (!used)
        BUG("out of memory");
    for (int u = 0; u < p->units.n; u++) {
        const Unit *un = &p->units.p[u];
        Fn *fs[4];
        for (int k = 0, n = ir_unit_fns(un, fs); k < n; k++) {
            if (fs[k]->line > 0 && fs[k]->line <= nlines)
                used[fs[k]->line] = 1;
            mark_lines(fs[k], fs[k]->body, used, nlines);
        }
    }
    size_t at = 0;
    for (int l = 1; l <= nlines; l++) {
        size_t end = at;
        while (end < s->len && s->text[end] != '\n')
            end++;
        if (used[l]) {
            fprintf(out, "line %d ", l);
            put_str(out, s->text + at, end - at);
            fputc('\n', out);
        }
        at = end + 1;
    }
    free(used);
}

void ir_print_program(const Program *p, FILE *out)
{
    fputs("# dx IR (docs/ir.md): dxc compiles a file named *.ir as it does a .dx file\n", out);
    if (p->src)
        print_source(p, out);
    for (int u = 0; u < p->units.n; u++) {
        const Unit *un = &p->units.p[u];
        fputs("\nunit ", out);
        put_name(out, un->primal->src_name);
        fputs(" : ", out);
        put_type(out, un->ret);
        fputs(un->small_tape ? " small_tape\n" : "\n", out);
        Fn *fs[4];
        for (int k = 0, n = ir_unit_fns(un, fs); k < n; k++) {
            fputc('\n', out);
            ir_print(fs[k], out);
        }
    }
}
