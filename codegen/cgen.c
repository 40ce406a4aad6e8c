/*
 * cgen.c - the C file and its header: every unit's entry points around
 * the bodies cbody.c writes, the helpers they use, and the stack budget.
 *
 * Local arrays (the values of comprehensions, array literals, adjoint
 * buffers, array-valued branches, the tapes of for loops) live on the
 * stack, declared where they are computed.  Their total size per entry
 * point is checked against a budget (CgOpts.stack_budget, 1 MiB by
 * default): over it, cg_check reports an error naming the entry point and
 * its largest array (a loop's tapes count as one).  Sizes are 64-bit
 * throughout: a loop of 10^9 iterations has a tape of 8 GB.
 *
 * With CgOpts.workspace, every entry point f also gets f_ws(..., void
 * *work), whose local arrays live in the caller's workspace at fixed
 * offsets, and a macro f_WS_BYTES, the workspace's size in bytes (0 when f
 * has no local array).  The workspace must be aligned for double (malloc
 * is).  Then the code is written once:
 *
 *   - f has local arrays: f_ws holds the body and f calls it with its
 *     workspace on its stack; f is left out (a comment says so) when
 *     that workspace exceeds the budget.
 *   - f has none: f holds the body and f_ws calls it.
 *
 * The macros are defined in the C file (before f_ws) and in the header;
 * the two definitions are identical, so a file may include both.
 */
#include "cgen.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- the program's entry points ---------------- */

/* An entry point of kind k is one o->entries selects (--entries). */
static int selected_kind(const CgOpts *o, FnKind k)
{
    return !o || !o->entries || (o->entries & ir_entry_bit(k));
}

static int selected(const CgOpts *o, const Fn *f)
{
    return selected_kind(o, f->kind);
}

/* fn on each entry point of p that o selects (o NULL: every one). */
static void each_fn(const Program *p, const CgOpts *o, void (*fn)(void *, const Fn *), void *arg)
{
    for (int i = 0; i < p->units.n; i++) {
        const Unit *u = &p->units.p[i];
        Fn *fs[4];
        for (int k = 0, n = ir_unit_fns(u, fs); k < n; k++)
            if (selected(o, fs[k]))
                fn(arg, fs[k]);
    }
}

/* The names of entry point `name`'s workspace variant and macro. */
static const char *ws_name(const Cg *c, const char *name)
{
    return arena_printf(c->A, "%s_ws", name);
}

static const char *ws_macro(const Cg *c, const char *name)
{
    return arena_printf(c->A, "%s_WS_BYTES", name);
}

static void add_ws_names(Cg *c, const char *name)
{
    const char *ws = ws_name(c, name), *macro = ws_macro(c, name);
    if (!cg_names_has(&c->globals, ws))
        cg_names_add(&c->globals, ws);
    if (!cg_names_has(&c->globals, macro))
        cg_names_add(&c->globals, macro);
}

/* The entry points of a program, listed (planned_of). */
typedef struct {
    CgPlanned *fns;
    int n;
} Planning;

/* A Cg that names nothing global: enough to lay out a function's local
 * arrays (cg_frame). */
static void init_bare(Cg *c, const Program *p, const CgOpts *o)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->o = o;
    c->A = p->arena;
    c->globals.a = p->arena;
    c->lits = arena_alloc(p->arena, sizeof *c->lits);
}

/* The file's Cg, its global names those of the entry points fns[0..n-1]
 * it will hold, the maths hooks and the helpers. */
static void init_for(Cg *c, const Program *p, const CgOpts *o, const CgPlanned *fns, int n)
{
    init_bare(c, p, o);
    for (int i = 0; i < n; i++)
        cg_names_add(&c->globals, fns[i].name);
    for (int i = 0; o->workspace && i < n; i++)
        add_ws_names(c, fns[i].name);
    cg_maths_reserve(c);
    static const char *const helpers[H_COUNT] = {
        [H_SIGMOID] = "sigmoid", [H_DSIGMOID] = "dsigmoid", [H_SOFTPLUS] = "softplus",
        [H_DIGAMMA] = "digamma", [H_TRIGAMMA] = "trigamma",  [H_TETRAGAMMA] = "tetragamma",
        [H_MULZ] = "mulz",       [H_DIVZ] = "divz"};
    const char *pre = o->helper_prefix ? o->helper_prefix : "dx_";
    for (int h = 0; h < H_COUNT; h++)
        c->helper[h] = cg_unique(c, &c->globals, arena_name(p->arena, pre, helpers[h], -1));
}

static void plan_fn(void *arg, const Fn *f)
{
    Planning *pl = arg;
    pl->fns[pl->n++] = (CgPlanned){f->name, f->kind};
}

/* The entry points p holds, in the file's order (every one, whatever
 * o->entries selects: their names are all the file's); free() them. */
static CgPlanned *planned_of(const Program *p, int *n)
{
    Planning pl = {calloc((size_t)(4 * p->units.n) + 1, sizeof *pl.fns), 0};
    if (!pl.fns)
        BUG("cgen: out of memory");
    each_fn(p, NULL, plan_fn, &pl);
    *n = pl.n;
    return pl.fns;
}

/* The file's Cg for the entry points p holds now. */
static void init(Cg *c, const Program *p, const CgOpts *o)
{
    int n;
    CgPlanned *fns = planned_of(p, &n);
    init_for(c, p, o, fns, n);
    free(fns);
}

static long long real_size(const Cg *c)
{
    return c->o->use_float ? (long long)sizeof(float) : (long long)sizeof(double);
}

/* The prepared function's local arrays fit on the stack. */
static int fits(const Cg *c)
{
    return c->frame * real_size(c) <= c->o->stack_budget;
}

/* ---------------- the stack budget ---------------- */

/* Where f's errors point: the name of its .dx function. */
static Loc fn_loc(const Fn *f)
{
    Loc l = {f->line, f->col ? f->col : 1};
    return l;
}

/* The prepared function's largest local array, the tapes of one loop
 * counted together ("the tape of the for loop on line 5", "'h' from line
 * 3"), its size in *bytes, and *plural: it is several tapes. */
static const char *largest(const Cg *c, long long *bytes, int *plural, int *tape_line)
{
    const Fn *f = c->f;
    Arena *A = c->A;
    long long *loop = arena_alloc(A, sizeof(long long) * (size_t)(f->v.n + 1));
    int *ntapes = arena_alloc(A, sizeof(int) * (size_t)(f->v.n + 1));
    int *line = arena_alloc(A, sizeof(int) * (size_t)(f->v.n + 1)), nloops = 0;
    Ref big = NOREF;
    int bigloop = -1;
    long long best = -1;
    for (Ref v = 0; v < f->v.n; v++) {
        const Inst *in = &f->v.p[v];
        if (c->store[v] != ST_LOCAL || cg_var_of(c, v) != v)
            continue;
        long long n = ty_size(in->ty) * real_size(c);
        if (cg_is_tape(in) && in->op == OP_ZEROS) { /* a for loop's: one entry per loop */
            int k = 0;
            while (k < nloops && line[k] != in->line)
                k++;
            if (k == nloops)
                line[nloops++] = in->line;
            loop[k] += n;
            ntapes[k]++;
            if (loop[k] > best) {
                best = loop[k];
                bigloop = k;
                big = NOREF;
            }
        } else if (n > best) {
            best = n;
            big = v;
            bigloop = -1;
        }
    }
    *bytes = best;
    *plural = bigloop >= 0 && ntapes[bigloop] > 1;
    *tape_line = bigloop >= 0 ? line[bigloop] : 0;
    if (bigloop >= 0)
        return arena_printf(A, "the tape%s of the for loop on line %d", ntapes[bigloop] > 1 ? "s" : "",
                            line[bigloop]);
    if (big == NOREF) /* cg_frame asks of a function with no local array too */
        return "no local array";
    const Inst *in = &f->v.p[big];
    return arena_printf(A, "%s from line %d",
                        in->name ? arena_printf(A, "'%s'", diag_name(A, ir_shown_name(A, in))) : "an unnamed array",
                        in->line);
}

typedef struct {
    Cg *c;
    Diag *d;
} CheckArg;

/* Whether f's local arrays fit the stack budget whatever the code
 * generator's analysis decides, so that checking the budget need not run
 * it.  place_locals gives each instruction that may own a local array
 * (an array value that is no parameter, branch or loop) at most one
 * variable, of some array value's size: their number times the largest
 * array bounds the frame. */
static int surely_fits(const Cg *c, const Fn *f)
{
    long long n = 0, largest = 0;
    for (Ref v = 0; v < f->v.n; v++) {
        const Inst *in = &f->v.p[v];
        if (!in->ty.rank)
            continue;
        long long size = ty_size(in->ty);
        largest = size > largest ? size : largest;
        if (in->op != OP_PARAM && in->op != OP_NODIFF && in->op != OP_IF && !cg_is_loop(in))
            n++;
    }
    return !n || (double)n * (double)largest * (double)real_size(c) <=
                     (double)c->o->stack_budget;
}

static void check_one(void *arg, const Fn *f)
{
    CheckArg *ca = arg;
    Cg *c = ca->c;
    if (c->o->workspace) {
        /* a function named like another's workspace macro */
        for (int i = 0; i < c->p->units.n; i++) {
            const Fn *g = c->p->units.p[i].primal;
            if (g != f && !strcmp(ws_macro(c, f->name), g->name))
                diag_error(ca->d, fn_loc(g),
                           "function name '%s' clashes with the workspace size macro of '%s'",
                           diag_name(c->A, g->name), diag_name(c->A, f->name));
        }
        return;
    }
    if (f->fits || surely_fits(c, f))
        return;
    cg_prepare(c, f, 0);
    if (fits(c))
        return;
    long long bytes;
    int plural, line;
    const char *what = largest(c, &bytes, &plural, &line);
    diag_error(ca->d, fn_loc(f),
               "'%s' needs %lld bytes of local arrays, over the stack budget of %lld bytes "
               "(the largest, %s, %s %lld bytes); use --workspace or --stack-budget",
               f->name, c->frame * real_size(c), c->o->stack_budget, what,
               plural ? "take" : "takes", bytes);
}

/* The frame of local arrays does not depend on the names of variables,
 * so the C file's global names are left out: the checkpointing asks this
 * of every derivative of every function, and the table of all the
 * program's names, made each time, grew with the square of the number of
 * functions (6 GB for 5 000 one-line functions); so are the maths hooks'
 * and the helpers' (a third of the time of those 5 000 functions). */
long long cg_frame(const Program *p, const CgOpts *o, const Fn *f, int *tape_line)
{
    Cg c;
    init_bare(&c, p, o);
    *tape_line = 0;
    if (surely_fits(&c, f))
        return 0;
    cg_prepare(&c, f, 0);
    long long bytes;
    int plural;
    largest(&c, &bytes, &plural, tape_line);
    cg_release(&c);
    return c.frame * real_size(&c);
}

int cg_check(const Program *p, const CgOpts *o, Diag *d)
{
    Cg c;
    init(&c, p, o);
    int before = d->nerrors;
    for (int i = 0; i < p->units.n; i++) {
        const Fn *f = p->units.p[i].primal;
        if (cg_maths_hook(f->name))
            diag_error(d, fn_loc(f), "function name '%s' is a maths hook's macro",
                       diag_name(p->arena, f->name));
    }
    CheckArg ca = {&c, d};
    each_fn(p, o, check_one, &ca);
    return d->nerrors - before;
}

/* ---------------- the C file ---------------- */

/* The comment above f: its C name (with --prefix, P f_grad), then what
 * it computes, in the .dx function's name. */
static const char *purpose(const Fn *f, Arena *a)
{
    const char *c = f->name, *n = f->src_name;
    switch (f->kind) {
    case FN_PRIMAL:
        return arena_printf(a, "%s: the function, as written in the model", c);
    case FN_GRAD:
        return arena_printf(a, "%s: reverse mode (backpropagation).  Returns %s and\n"
                               " * writes its gradient, d %s / d param, to each *param_bar",
                            c, n, n);
    case FN_VJP:
        return arena_printf(a, "%s: reverse mode.  Writes %s to out and the\n"
                               " * vector-Jacobian product of out_bar to each param_bar", c, n);
    case FN_JVP:
        return arena_printf(a, "%s: forward mode.  Returns %s and writes its\n"
                               " * directional derivative along the param_dot tangents", c, n);
    case FN_HVP:
        return arena_printf(a, "%s: forward over reverse.  Returns %s and writes the\n"
                               " * Hessian times the tangent direction to each param_hv", c, n);
    }
    return "";
}

static int returns(const Fn *f)
{
    return f->out.n && f->out.p[0].role == OUT_RETURN;
}

/* A function's C: the body cbody.c wrote, moved rather than copied (it
 * is most of the text, and a copy would hold it twice at the peak), and
 * the text before and after it. */
typedef struct {
    Str head, first, body, tail; /* first: the body's first half when two
                                    threads wrote it (cg_body), else empty */
    Str proto; /* its prototypes for the header, when one is written */
    Str decl;  /* its prototypes at the top of the C file */
} FnText;

/* The prepared function under `name`: its signature and declarations go
 * to t->head, the body to t->body, the closing brace to t->tail. */
static void write_fn(Cg *c, const char *name, const char *comment, FnText *t)
{
    Str *out = &t->head;
    const Fn *f = c->f;
    Str sig = {0}, decl = {0};
    cg_body(c, &decl);
    cg_signature(c, f, name, c->ws ? arena_printf(c->A, "void *restrict %s", c->work) : NULL, 1,
                 &sig);
    cg_putf(out, "\n/* %s */\n%s\n{\n", comment, sig.p);
    for (int i = 0; i < c->params.n; i++)
        if (c->uses[c->params.p[i]] == 0)
            cg_putf(out, "    (void)%s;\n", c->cname[c->params.p[i]]);
    if ((f->kind == FN_GRAD || f->kind == FN_VJP) && !c->joined_first)
        cg_puts(out, "    /* forward pass: the function, keeping what the backward pass reads */\n");
    /* nothing reads the analysis again (emit_fn needs only the names of
     * the interface): its tables, as large as f, go before the body is
     * copied, when memory peaks */
    cg_release(c);
    if (decl.n)
        cg_put(out, decl.p, decl.n);
    t->first = c->first;
    t->body = c->body;
    c->first = c->body = (Str){0};
    cg_puts(&t->tail, "}\n");
    free(sig.p);
    free(decl.p);
}

/* `name(args)`: a call passing the prepared function's own parameters. */
static void write_call(Cg *c, const char *callee, int with_work, Str *out)
{
    const Fn *f = c->f;
    cg_putf(out, "    %s%s(", returns(f) ? "return " : "", callee);
    int first = 1;
    for (int i = 0; i < f->in.n; i++, first = 0)
        cg_putf(out, "%s%s", first ? "" : ", ", c->in_names[i]);
    for (int i = returns(f); i < f->out.n; i++, first = 0)
        cg_putf(out, "%s%s", first ? "" : ", ", c->out_names[i]);
    if (with_work)
        cg_putf(out, "%s%s", first ? "" : ", ", c->work);
    cg_puts(out, ");\n");
}

/* f's C, and with the workspace its variants, into t: what comes before
 * the body's function in t->head, what after it in t->tail. */
static void proto_text(Cg *c, const Fn *f, Str *s, int header);

static void emit_fn(Cg *c, const Fn *f, FnText *t, int proto)
{
    Str *out = &t->head;
    Arena *A = c->A;
    double at = dx_times_now();
    cg_prepare(c, f, 0);
    dx_times_add(c->o->times, "analysis for the C of", f->name, at);
    proto_text(c, f, &t->decl, 0);
    if (proto)
        proto_text(c, f, &t->proto, 1);
    if (!c->o->workspace) {
        write_fn(c, f->name, purpose(f, A), t);
        return;
    }
    const char *ws = ws_name(c, f->name), *macro = ws_macro(c, f->name);
    Str sig = {0};
    if (!c->frame) {
        write_fn(c, f->name, purpose(f, A), t);
        out = &t->tail;
        cg_putf(out, "\n/* %s: the same as %s, which needs no workspace. */\n#define %s 0\n", ws,
                f->name, macro);
        cg_signature(c, f, ws, arena_printf(A, "void *restrict %s", c->work), 1, &sig);
        cg_putf(out, "%s\n{\n    (void)%s;\n", sig.p, c->work);
        write_call(c, f->name, 0, out);
        cg_puts(out, "}\n");
        free(sig.p);
        return;
    }
    c->ws = 1;
    cg_putf(out, "\n#define %s %lld\n", macro, c->frame * real_size(c));
    write_fn(c, ws,
             arena_printf(A, "%s_ws: %s with its local arrays in the caller's workspace,\n"
                             " * work: %s bytes, aligned for double.\n * %s",
                          f->name, f->name, macro, purpose(f, A)),
             t);
    out = &t->tail;
    c->ws = 0;
    if (!fits(c)) {
        cg_putf(out, "\n/* %s is not generated: its local arrays (%lld bytes) exceed the stack\n"
                     " * budget of %lld bytes.  Call %s with %s bytes of workspace. */\n",
                f->name, c->frame * real_size(c), c->o->stack_budget, ws, macro);
        return;
    }
    cg_signature(c, f, f->name, NULL, 1, &sig);
    cg_putf(out, "\n/* %s: %s, with its workspace on the stack. */\n%s\n{\n", f->name, ws, sig.p);
    cg_putf(out, "    %s %s[%s / sizeof(%s)];\n", cg_real_t(c), c->work, macro, cg_real_t(c));
    write_call(c, ws, 1, out);
    cg_puts(out, "}\n");
    free(sig.p);
}

/* The strong-zero product and quotient of derivative code (ops MULZ,
 * DIVZ): a zero factor or numerator gives 0 even against inf or 0. */
static void strong_zero_helpers(Cg *c, FILE *out)
{
    const char *t = cg_real_t(c), *z = c->o->use_float ? "0.0f" : "0.0";
    if (c->helper_used[H_MULZ])
        fprintf(out,
                "\n/* a * b, but 0 where a or b is 0, even if the other is infinite: a zero\n"
                " * derivative factor contributes nothing. */\n"
                "static %s %s(%s a, %s b)\n{\n"
                "    return a == %s || b == %s ? %s : a * b;\n}\n",
                t, c->helper[H_MULZ], t, t, z, z, z);
    if (c->helper_used[H_DIVZ])
        fprintf(out,
                "\n/* a / b, but 0 where a is 0, even if b is 0. */\n"
                "static %s %s(%s a, %s b)\n{\n"
                "    return a == %s ? %s : a / b;\n}\n",
                t, c->helper[H_DIVZ], t, t, z, z);
}

static void helpers(Cg *c, FILE *out)
{
    const char *t = cg_real_t(c), *f = c->o->use_float ? "f" : "";
    const char *one = f[0] ? "1.0f" : "1.0", *zero = f[0] ? "0.0f" : "0.0";
    const char *ex = NULL; /* the hook the helpers call exp through */
    if (c->helper_used[H_SIGMOID] || c->helper_used[H_DSIGMOID] || c->helper_used[H_SOFTPLUS]) {
        ex = cg_maths(c, "exp", c->o->use_float);
        fprintf(out,
                "\n/* exp has no effect this code reads (errno is not read), so gcc and clang\n"
                " * may compute exp(-|x|) once for sigmoid(x), sigmoid'(x) and softplus(x)\n"
                " * of the same x. */\n"
                "#if defined(__GNUC__)\n#pragma GCC diagnostic push\n"
                "#pragma GCC diagnostic ignored \"-Wredundant-decls\"\n"
                "__attribute__((const)) %s (exp%s)(%s);\n"
                "#pragma GCC diagnostic pop\n#endif\n",
                t, f, t);
    }
    if (c->helper_used[H_SIGMOID])
        fprintf(out,
                "\n/* sigmoid(x) = 1 / (1 + exp(-x)), from e = exp(-|x|) so exp never\n"
                " * overflows. */\n"
                "static %s %s(%s x)\n{\n"
                "    %s e = %s(x >= %s ? -x : x);\n"
                "    if (x >= %s)\n        return %s / (%s + e);\n"
                "    return e / (%s + e);\n}\n",
                t, c->helper[H_SIGMOID], t, t, ex, zero, zero, one, one, one);
    if (c->helper_used[H_DSIGMOID])
        fprintf(out,
                "\n/* sigmoid'(x) = sigmoid(x) sigmoid(-x) = e / (1 + e)^2 with e = exp(-|x|),\n"
                " * accurate in both tails. */\n"
                "static %s %s(%s x)\n{\n"
                "    %s e = %s(x >= %s ? -x : x);\n"
                "    return e / ((%s + e) * (%s + e));\n}\n",
                t, c->helper[H_DSIGMOID], t, t, ex, zero, one, one);
    if (c->helper_used[H_SOFTPLUS])
        fprintf(out,
                "\n/* softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), stable for\n"
                " * any x. */\n"
                "static %s %s(%s x)\n{\n"
                "    return (x > %s ? x : %s) + %s(%s(x >= %s ? -x : x));\n}\n",
                t, c->helper[H_SOFTPLUS], t, zero, zero, cg_maths(c, "log1p", c->o->use_float), ex,
                zero);
    for (int n = 0; n < 3; n++)
        if (c->helper_used[H_DIGAMMA + n])
            cg_polygamma_helper(c, out, n, c->helper[H_DIGAMMA + n]);
    strong_zero_helpers(c, out);
}

/* ---------------- the functions, on several threads ---------------- */

/* One entry point's text.  Each is written by a fresh copy of the file's
 * Cg, given its writer's arena and its cache of literals' texts (which
 * spares work and changes no text), so that writers share
 * only what they read (the program, the file's names); what a function
 * calls (helpers, maths hooks) is merged into the file's Cg afterwards.
 * So the text of a function does not depend on which thread wrote it,
 * nor on what that thread wrote before: the C file is the same for any
 * --jobs. */
typedef struct {
    const char *name; /* of the entry point it will hold */
    const Fn *f;      /* given: final, to be written (NULL: not yet) */
    FnText text;
    int spilled;      /* its text is in the temporary file, its own freed */
    long long at, len; /* where there */
    int verified;     /* its writer checked f for the pipeline (write_piece) */
    int helper_used[H_COUNT];
    unsigned char maths_used[2 * CG_MATHS];
    int ties_used;
} Piece;

/* What a writer keeps from one function to the next: its arena, and the
 * cache that only spares work (literals' texts). */
typedef struct {
    Arena *A;
    struct CgLits *lits;
} Writer;

/*
 * The C file while its functions are written (cg_stream_start).  Each
 * function is given once final, and written by whichever writer takes
 * it: the calling thread, and o->jobs - 1 threads that wait for
 * functions.  Eagerly (the pipeline gives each function as soon as no
 * pass changes it), the threads start at once and write beside the
 * passes, and with no thread the calling one writes a function when it
 * is given; otherwise (cg_c) everything is written in cg_stream_finish.
 *
 * Which writer takes which function: while the passes run, the threads
 * take them in the order given; in cg_stream_finish, the calling thread
 * takes the largest left (f_hvp), the threads the smallest, so that the
 * instructions of most are freed before the larger tables of the last
 * are made; alone, the calling thread writes in the file's order, each
 * function's instructions freed before the next, larger one is written.
 */
enum { NOT_HELD = -1, NOT_HELD_GIVEN = -2 }; /* CgStream.piece_of */

struct CgStream {
    Cg file;        /* read only while the writers run */
    Piece *pieces;  /* in the file's order */
    int n;
    int *piece_of;  /* planned entry point -> its piece (NOT_HELD: not
                       written; NOT_HELD_GIVEN: that, and given) */
    int given;      /* pieces given */
    /* Pieces given and not taken: ready[head..tail-1], in the order
     * given; by cg_stream_finish, with several writers, sorted largest
     * first (the calling thread takes from the head, the others from
     * the tail). */
    int *ready, head, tail;
    int sorted;
    int *done, ndone; /* pieces written and not handed back (o->written) */
    int all_given;  /* cg_stream_finish: no more will come */
    int finishing;  /* writers call o->written themselves */
    int abort;      /* cg_stream_abort: write no more */
    int eager;
    int header;     /* each function's header lines are kept (text.proto) */
    int threads;    /* writers: this thread and those it starts */
    int started;
    pthread_t *t;
    Writer main;    /* the calling thread's */
    /* The text of the functions written would stay in memory while the
     * largest is written (the peak of a large program), so they go, in
     * the order they are written, to a temporary file once they hold
     * more than o->spill_bytes (spill); cg_stream_finish copies them
     * back, each from its place there, in the file's order, after the
     * helpers, which no function's text can precede, as it knows them
     * last. */
    FILE *spill;
    long long spill_end; /* bytes in it */
    int *unspilled, nunspilled; /* pieces written whose text is held */
    size_t held;    /* bytes of text of the written pieces not spilled */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a piece was given, or the end came */
};

static void *verify_beside(void *f)
{
    ir_verify_alone(f);
    return NULL;
}

/* A function the pipeline left to its writer to check (Fn.verify_pending):
 * checked now, or, given beside and on, on a thread of its own (*on set:
 * to be joined).  Returns whether it is checked. */
static int verify_given(const Fn *f, pthread_t *beside, int *on)
{
    if (on)
        *on = 0;
    if (!f->verify_pending)
        return 0;
    if (!beside || !(*on = cg_thread(beside, verify_beside, (void *)f)))
        ir_verify_alone(f);
    return 1;
}

/* Counts a function checked for the pipeline, under s->lock. */
static void count_verified(CgStream *s)
{
    if (s->file.o->verified)
        (*s->file.o->verified)++;
}

/* Writes piece pc with w; halves: its body may be written on two
 * threads.  Returns whether it was.  A function the pipeline left to its
 * writer to check is checked first, or, when its body may be written in
 * halves (the largest function, both cores free), on the other core
 * while this one analyses it. */
static int write_piece(const CgStream *s, Writer *w, Piece *pc, int halves)
{
    double t = dx_times_now();
    pthread_t v;
    int beside;
    pc->verified = verify_given(pc->f, halves && cg_halves_size(s->file.o, pc->f) ? &v : NULL, &beside);
    Cg c = s->file;
    c.A = w->A;
    c.lits = w->lits;
    c.halves = halves;
    emit_fn(&c, pc->f, &pc->text, s->header);
    if (beside)
        pthread_join(v, NULL);
    cg_release(&c);
    cg_str_free(&c.first);
    cg_str_free(&c.body);
    memcpy(pc->helper_used, c.helper_used, sizeof pc->helper_used);
    memcpy(pc->maths_used, c.maths_used, sizeof pc->maths_used);
    pc->ties_used = c.ties_used;
    dx_times_add(s->file.o->times, "C of", pc->f->name, t);
    return c.halves;
}

static size_t text_size(const FnText *t)
{
    return t->head.n + t->first.n + t->body.n + t->tail.n;
}

/* Appends t to `to`, freeing it; 1 if a write failed. */
static int put_text(FnText *t, FILE *to)
{
    Str *parts[4] = {&t->head, &t->first, &t->body, &t->tail};
    int bad = 0;
    for (int k = 0; k < 4; k++) {
        if (parts[k]->n && fwrite(parts[k]->p, 1, parts[k]->n, to) != parts[k]->n)
            bad = 1;
        cg_str_free(parts[k]);
    }
    return bad;
}

static void spill_failed(void)
{
    fprintf(stderr, "dxc: error: cannot write a temporary file for the C text: %s (TMPDIR says where)\n", strerror(errno));
    exit(1);
}

/* Under s->lock, once piece k is written: when the written text held
 * exceeds the limit, every written piece held goes to the temporary file
 * (made the first time). */
static void spill(CgStream *s, int k)
{
    s->held += text_size(&s->pieces[k].text);
    s->unspilled[s->nunspilled++] = k;
    if (s->held <= s->file.o->spill_bytes)
        return;
    if (!s->spill && !(s->spill = dx_tmpfile()))
        return; /* no temporary file: the text stays in memory */
    for (int i = 0; i < s->nunspilled; i++) {
        Piece *pc = &s->pieces[s->unspilled[i]];
        size_t n = text_size(&pc->text);
        s->held -= n;
        if (put_text(&pc->text, s->spill))
            spill_failed();
        pc->spilled = 1;
        pc->at = s->spill_end;
        pc->len = (long long)n;
        s->spill_end += (long long)n;
        if (s->file.o->spilled)
            ++*s->file.o->spilled;
    }
    s->nunspilled = 0;
}

/* Pieces [i, j) from the temporary file, one range (contiguous there) to
 * `to`. */
static void unspill(CgStream *s, int i, int j, FILE *to)
{
    const CgOpts *o = s->file.o;
    long long at = s->pieces[i].at, len = s->pieces[j - 1].at + s->pieces[j - 1].len - at;
    int e = o->append && to == o->append_to ? o->append(o->append_arg, s->spill, at, len)
                                            : dx_tmpfile_read(s->spill, at, len, dx_put_stream, to);
    if (e) {
        errno = e;
        spill_failed();
    }
}

/* Under s->lock: the piece a writer takes next (see CgStream), out of
 * the ready queue, or -1 when none is ready. */
static int pick(CgStream *s, int from_tail)
{
    if (s->head == s->tail)
        return -1;
    int k = from_tail && s->sorted ? s->ready[--s->tail] : s->ready[s->head++];
    return k;
}

/* Under s->lock: whether a body may take a thread of its own (cg_body)
 * besides the writers: when there are several, and no pass runs beside
 * them any more (every function is given), so that the threads share
 * the cores with nothing but each other. */
static int halves_allowed(const CgStream *s)
{
    return s->threads > 1 && s->given == s->n;
}

typedef struct {
    int size, k;
} Sized;

/* Larger functions first; of two the same size, the first in the file. */
static int by_size(const void *a, const void *b)
{
    const Sized *x = a, *y = b;
    return x->size != y->size ? (x->size < y->size) - (x->size > y->size) : (x->k > y->k) - (x->k < y->k);
}

/* Under s->lock: the ready pieces, largest first. */
static void sort_ready(CgStream *s)
{
    int m = s->tail - s->head;
    Sized *t = calloc((size_t)m + 1, sizeof *t);
    if (!t)
        BUG("cgen: out of memory");
    for (int i = 0; i < m; i++)
        t[i] = (Sized){s->pieces[s->ready[s->head + i]].f->v.n, s->ready[s->head + i]};
    qsort(t, (size_t)m, sizeof *t, by_size);
    for (int i = 0; i < m; i++)
        s->ready[s->head + i] = t[i].k;
    free(t);
    s->sorted = 1;
}

/* Under s->lock: o->written on written piece k (once: a piece is
 * dropped as it is written once the stream is finishing, else queued in
 * s->done until cg_stream_drop_done or cg_stream_finish). */
static void drop(CgStream *s, int k)
{
    const CgOpts *o = s->file.o;
    if (o->written) /* it frees in the program's arena */
        o->written(s->pieces[k].f, o->written_arg);
}

/* Writes piece k (taken) with w, then records it under s->lock. */
static void write_taken(CgStream *s, Writer *w, int k, int halves)
{
    halves = write_piece(s, w, &s->pieces[k], halves);
    pthread_mutex_lock(&s->lock);
    if (halves && s->file.o->split)
        (*s->file.o->split)++;
    if (s->pieces[k].verified)
        count_verified(s);
    const FnText *t = &s->pieces[k].text;
    if (s->file.o->mapped && (t->first.kind == DX_BUF_MAPPED || t->body.kind == DX_BUF_MAPPED))
        (*s->file.o->mapped)++;
    if (s->finishing) /* else the pipeline may be allocating there */
        drop(s, k);
    else
        s->done[s->ndone++] = k;
    if (s->file.o->spill_bytes)
        spill(s, k);
    pthread_mutex_unlock(&s->lock);
}

static Writer writer_new(const CgStream *s)
{
    Writer w = {s->threads > 1 ? arena_new_written() : arena_new(), NULL};
    w.lits = arena_alloc(w.A, sizeof *w.lits);
    return w;
}

/* A thread's writer: takes the functions given (see CgStream for which)
 * until none is left and none will come. */
static void *writer(void *arg)
{
    CgStream *s = arg;
    dx_stack_huge();
    Writer w = writer_new(s);
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int k;
        while ((k = s->abort ? -1 : pick(s, 1)) < 0 && !s->abort && !s->all_given)
            pthread_cond_wait(&s->wake, &s->lock);
        int halves = halves_allowed(s);
        pthread_mutex_unlock(&s->lock);
        if (k < 0)
            break;
        write_taken(s, &w, k, halves);
    }
    arena_free(w.A);
    return NULL;
}

/* The o->jobs - 1 writer threads. */
static void start_threads(CgStream *s)
{
    int extra = s->threads - 1;
    s->t = extra > 0 ? calloc((size_t)extra, sizeof *s->t) : NULL;
    while (s->t && s->started < extra && cg_thread(&s->t[s->started], writer, s))
        s->started++;
}

static void join_threads(CgStream *s)
{
    pthread_mutex_lock(&s->lock);
    s->all_given = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->started; i++)
        pthread_join(s->t[i], NULL);
    free(s->t);
    s->t = NULL;
    s->started = 0;
}

static void source_lines(void *arg, const Fn *f)
{
    Cg *c = arg;
    if (!c->line_comments)
        cg_source_lines(c, f->src);
}

CgStream *cg_stream_start(const Program *p, const CgOpts *o, const CgPlanned *fns, int n, int eager,
                          int header)
{
    CgStream *s = calloc(1, sizeof *s);
    if (!s)
        BUG("cgen: out of memory");
    init_for(&s->file, p, o, fns, n);
    s->pieces = calloc((size_t)n + 1, sizeof *s->pieces);
    s->piece_of = calloc((size_t)n + 1, sizeof *s->piece_of);
    s->ready = calloc((size_t)n + 1, sizeof *s->ready);
    s->done = calloc((size_t)n + 1, sizeof *s->done);
    s->unspilled = calloc((size_t)n + 1, sizeof *s->unspilled);
    if (!s->pieces || !s->piece_of || !s->ready || !s->done || !s->unspilled)
        BUG("cgen: out of memory");
    for (int i = 0; i < n; i++) {
        s->piece_of[i] = NOT_HELD;
        if (selected_kind(o, fns[i].kind)) {
            s->piece_of[i] = s->n;
            s->pieces[s->n++].name = fns[i].name;
        }
    }
    /* shared, read only: the lines of the first function that has them */
    each_fn(p, NULL, source_lines, &s->file);
    s->threads = o->jobs < s->n ? o->jobs : s->n;
    s->threads = s->threads < 1 ? 1 : s->threads;
    s->eager = eager;
    s->header = header;
    s->main = writer_new(s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (eager)
        start_threads(s);
    return s;
}

void cg_stream_give(CgStream *s, int planned, const Fn *f)
{
    int k = s->piece_of[planned];
    if (k == NOT_HELD_GIVEN)
        BUG("cgen: a function given twice");
    if (k < 0) { /* not an entry point the file holds (--entries) */
        s->piece_of[planned] = NOT_HELD_GIVEN;
        if (verify_given(f, NULL, NULL)) {
            pthread_mutex_lock(&s->lock);
            count_verified(s);
            pthread_mutex_unlock(&s->lock);
        }
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->pieces[k].f || strcmp(s->pieces[k].name, f->name))
        BUG("cgen: a function given twice, or not the one planned");
    s->pieces[k].f = f;
    s->given++;
    int now = s->eager && !s->started;
    if (!now) {
        s->ready[s->tail++] = k;
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
    if (now) /* no thread: written at once, to free its instructions */
        write_taken(s, &s->main, k, 0);
}

int cg_stream_given(const CgStream *s, int planned)
{
    int k = s->piece_of[planned];
    return k == NOT_HELD_GIVEN || (k >= 0 && s->pieces[k].f);
}

void cg_stream_drop_done(CgStream *s, const Fn *keep)
{
    pthread_mutex_lock(&s->lock);
    int kept = 0;
    for (int i = 0; i < s->ndone; i++) {
        int k = s->done[i];
        if (s->pieces[k].f == keep)
            s->done[kept++] = k;
        else
            drop(s, k);
    }
    s->ndone = kept;
    pthread_mutex_unlock(&s->lock);
}

static void stream_free(CgStream *s)
{
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    arena_free(s->main.A);
    for (int i = 0; i < s->n; i++) {
        FnText *t = &s->pieces[i].text;
        cg_str_free(&t->head);
        cg_str_free(&t->first);
        cg_str_free(&t->body);
        cg_str_free(&t->tail);
        cg_str_free(&t->proto);
        cg_str_free(&t->decl);
    }
    if (s->spill)
        fclose(s->spill);
    free(s->pieces);
    free(s->piece_of);
    free(s->ready);
    free(s->done);
    free(s->unspilled);
    free(s);
}

void cg_stream_abort(CgStream *s)
{
    pthread_mutex_lock(&s->lock);
    s->abort = 1;
    pthread_mutex_unlock(&s->lock);
    join_threads(s);
    stream_free(s);
}

static FILE *mem_open(char **buf, size_t *len)
{
    FILE *mem = open_memstream(buf, len);
    if (!mem)
        BUG("open_memstream failed");
    return mem;
}

static const char *header_guard(const Program *p, const CgOpts *o);
static void header(const Program *p, const CgOpts *o, FILE *out, void (*protos)(void *, FILE *),
                   void *arg);
static void protos_kept(void *arg, FILE *out);

/* The pragmas that keep the file's arithmetic as written, before its
 * functions (ties: it counts the ties of a max or min, which clang on the
 * x87 would miss), and after them, back to the compiler's own settings. */
static void rounding_begin(FILE *to, int ties)
{
    fputs("\n"
          "/* The arithmetic as written, each operation rounded: no a * b + c\n"
          " * contracted into one fused multiply-add, which GCC makes by default\n"
          " * where the processor has one (and C99 leaves to the compiler), and\n"
          " * each value rounded to its type where it is assigned, as C99 says\n"
          " * where it computes in a wider type (FLT_EVAL_METHOD 2: the x87) and\n"
          " * GCC's GNU modes do not (a library's result too: glibc's tanh returns\n"
          " * more bits than its type has there): so that a value computed twice\n"
          " * is the same twice (until the end of the file's functions).",
          to);
    if (ties)
        fputs("  Clang keeps the x87's\n"
              " * precision past assignments, and the ties of a max or min, computed\n"
              " * again and compared, would not be found.",
              to);
    fputs(" */\n"
          "#if defined(__GNUC__) && !defined(__clang__)\n"
          "#pragma GCC push_options\n"
          "#pragma GCC optimize(\"fp-contract=off\")\n"
          "#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0\n"
          "#pragma GCC optimize(\"excess-precision=standard\", \"float-store\")\n"
          "#endif\n",
          to);
    if (ties)
        fputs("#elif defined(__clang__) && defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0\n"
              "#error \"clang keeps x87 precision past assignments: compile with -msse2 -mfpmath=sse\"\n",
              to);
    fputs("#else\n"
          "#pragma STDC FP_CONTRACT OFF\n"
          "#endif\n",
          to);
}

static void rounding_end(FILE *to)
{
    fputs("\n#if defined(__GNUC__) && !defined(__clang__)\n"
          "#pragma GCC pop_options\n"
          "#else\n"
          "#pragma STDC FP_CONTRACT DEFAULT\n"
          "#endif\n",
          to);
}

/* The entry points, declared before the file defines them (gcc
 * -Wmissing-prototypes); not again where the header, whose include guard
 * is guard (NULL: none written), was included first. */
static void declarations(const CgStream *s, const char *guard, FILE *to)
{
    size_t n = 0;
    for (int i = 0; i < s->n; i++)
        n += s->pieces[i].text.decl.n;
    if (!n)
        return;
    fputs("\n/* The functions this file defines. */\n", to);
    if (guard)
        fprintf(to, "#ifndef %s\n", guard);
    for (int i = 0; i < s->n; i++)
        fwrite(s->pieces[i].text.decl.p, 1, s->pieces[i].text.decl.n, to);
    if (guard)
        fputs("#endif\n", to);
}

void cg_stream_finish(CgStream *s, FILE *out, FILE *hdr)
{
    Cg *c = &s->file;
    const CgOpts *o = c->o;
    const Program *p = c->p;
    pthread_mutex_lock(&s->lock);
    if (s->given != s->n)
        BUG("cgen: the file finished before all its functions were given");
    s->finishing = 1;
    for (int i = 0; i < s->ndone; i++)
        drop(s, s->done[i]);
    s->ndone = 0;
    if (s->threads > 1) /* the largest to this thread, the smallest to the others */
        sort_ready(s);
    pthread_mutex_unlock(&s->lock);
    if (!s->eager)
        start_threads(s);
    double t = dx_times_now();
    for (;;) { /* what no thread takes is written here */
        pthread_mutex_lock(&s->lock);
        int k = pick(s, 0);
        /* a body to be written in halves starts at once, beside the
         * writers still at work (f_grad's, as the passes finish f_hvp):
         * waiting for them, to keep its tables from meeting theirs, cost
         * time and no longer spared memory (cbody.c, emit_top) */
        int halves = halves_allowed(s);
        pthread_mutex_unlock(&s->lock);
        if (k < 0)
            break;
        write_taken(s, &s->main, k, halves);
    }
    join_threads(s);
    dx_times_add(o->times, "the remaining C written", NULL, t);
    t = dx_times_now();
    for (int i = 0; i < s->n; i++)
        cg_merge_used(c, s->pieces[i].helper_used, s->pieces[i].maths_used, s->pieces[i].ties_used);
    /* functions first, then the helpers they use: the helpers, and the
     * maths hooks both call, come before them in the file */
    char *hs = NULL, *all = NULL;
    size_t nhs = 0, nall = 0;
    FILE *mem = mem_open(&hs, &nhs);
    helpers(c, mem);
    fclose(mem);
    FILE *to = o->line_directives ? mem_open(&all, &nall) : out;
    fprintf(to, "/* Generated by dxc %s from %s.  Do not edit.\n"
                " * Standalone C99: it needs <math.h> and -lm only, allocates nothing and\n"
                " * keeps no state, so every function is reentrant. */\n"
                "#include <math.h>\n",
            DX_VERSION, o->src_path ? o->src_path : "<input>");
    declarations(s, o->header ? header_guard(p, o) : NULL, to);
    rounding_begin(to, c->ties_used);
    cg_maths_hooks(c, to);
    fwrite(hs, 1, nhs, to);
    for (int i = 0, j; i < s->n; i = j) { /* each function in its place */
        j = i + 1;
        if (!s->pieces[i].spilled) {
            put_text(&s->pieces[i].text, to);
            continue;
        }
        while (j < s->n && s->pieces[j].spilled && s->pieces[j].at == s->pieces[j - 1].at + s->pieces[j - 1].len)
            j++;
        unspill(s, i, j, to);
    }
    rounding_end(to);
    if (to != out) {
        fclose(to);
        cg_line_directives(p->src && p->src->path ? p->src->path : o->src_path ? o->src_path : "<input>",
                           o->c_path ? o->c_path : "<stdout>", all, nall, out);
    }
    free(all);
    free(hs);
    if (hdr)
        header(p, o, hdr, protos_kept, s);
    stream_free(s);
    dx_times_add(o->times, "the C file put together", NULL, t);
}

typedef struct {
    CgStream *s;
    int n;
} Giving;

static void give_fn(void *arg, const Fn *f)
{
    Giving *g = arg;
    cg_stream_give(g->s, g->n++, f);
}

void cg_c(const Program *p, const CgOpts *o, FILE *out)
{
    int n;
    CgPlanned *fns = planned_of(p, &n);
    Giving g = {cg_stream_start(p, o, fns, n, 0, 0), 0};
    free(fns);
    each_fn(p, NULL, give_fn, &g);
    cg_stream_finish(g.s, out, NULL);
}

/* ---------------- the header ---------------- */

typedef struct {
    Cg *c;
    FILE *out;
} EmitArg;

/* The prototypes of f, prepared (cg_prepare(c, f, 0)), into out: the
 * header's lines (header: with the workspace's macro), or the C file's
 * declarations before its definitions. */
static void proto_text(Cg *c, const Fn *f, Str *out, int header)
{
    Arena *A = c->A;
    Str s = {0};
    if (!c->o->workspace) {
        cg_signature(c, f, f->name, NULL, 0, &s);
        cg_put3(out, s.p, ";\n", "");
        free(s.p);
        return;
    }
    if (header)
        cg_putf(out, "#define %s %lld\n", ws_macro(c, f->name), c->frame * real_size(c));
    if (fits(c)) {
        cg_signature(c, f, f->name, NULL, 0, &s);
        cg_put3(out, s.p, ";\n", "");
        s.n = 0;
    } else if (header) {
        cg_put3(out, "/* ", f->name, " is not generated: its arrays exceed the stack budget */\n");
    }
    cg_signature(c, f, ws_name(c, f->name), arena_printf(A, "void *%s", c->work), 0, &s);
    cg_put3(out, s.p, ";\n", "");
    free(s.p);
}

static void proto_one(void *arg, const Fn *f)
{
    EmitArg *pa = arg;
    Str s = {0};
    cg_prepare(pa->c, f, 0);
    proto_text(pa->c, f, &s, 1);
    fwrite(s.p, 1, s.n, pa->out);
    free(s.p);
}

/* The header's include guard: --prefix, then DX_ and the file's name
 * (DX_MODEL_H). */
static const char *header_guard(const Program *p, const CgOpts *o)
{
    const char *pre = o->prefix ? o->prefix : "";
    char *guard = arena_alloc(p->arena, strlen(pre) + 128);
    size_t n = (size_t)sprintf(guard, "%sDX_", pre), end = n + 123;
    const char *base = o->header ? o->header : "model.h";
    const char *slash = strrchr(base, '/');
    if (slash)
        base = slash + 1;
    for (const char *s = base; *s && n < end; s++) {
        unsigned char ch = (unsigned char)*s;
        guard[n++] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32
                            : (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ? ch : '_');
    }
    guard[n] = 0;
    return guard;
}

/* The header: its guard and comments around the prototypes protos
 * writes. */
static void header(const Program *p, const CgOpts *o, FILE *out, void (*protos)(void *, FILE *),
                   void *arg)
{
    const char *guard = header_guard(p, o);
    fprintf(out, "/* Generated by dxc %s from %s.  Do not edit. */\n#ifndef %s\n#define %s\n\n",
            DX_VERSION, o->src_path ? o->src_path : "<input>", guard, guard);
    if (o->workspace)
        fputs("/* f_ws(..., void *work) is f with its local arrays in work, which must hold\n"
              " * f_WS_BYTES bytes (0: work is not used) aligned for double. */\n",
              out);
    protos(arg, out);
    fprintf(out, "\n#endif\n");
}

static void protos_each(void *arg, FILE *out)
{
    EmitArg *pa = arg;
    pa->out = out;
    each_fn(pa->c->p, pa->c->o, proto_one, pa);
}

void cg_header(const Program *p, const CgOpts *o, FILE *out)
{
    Cg c;
    init(&c, p, o);
    EmitArg pa = {&c, out};
    header(p, o, out, protos_each, &pa);
    cg_str_free(&c.body);
}

/* The prototypes the writers kept, in the file's order. */
static void protos_kept(void *arg, FILE *out)
{
    CgStream *s = arg;
    for (int i = 0; i < s->n; i++)
        fwrite(s->pieces[i].text.proto.p, 1, s->pieces[i].text.proto.n, out);
}

/* ---------------- --stats ---------------- */

/* Bytes of the prepared function's tapes. */
static long long tape_bytes(const Cg *c)
{
    long long n = 0;
    for (Ref v = 0; v < c->f->v.n; v++)
        if (c->store[v] == ST_LOCAL && cg_var_of(c, v) == v && cg_is_tape(&c->f->v.p[v]))
            n += ty_size(c->f->v.p[v].ty);
    return n * real_size(c);
}

/* A rough size of the prepared function's scalar variables: one real
 * each (compilers keep many in registers, and add spills of their own). */
static long long scalar_bytes(const Cg *c)
{
    const Fn *f = c->f;
    long long n = 0;
    for (Ref v = 0; v < f->v.n; v++) {
        const Inst *in = &f->v.p[v];
        if (cg_var_of(c, v) == v && c->cname[v] && c->cname[v][0] != '*' && !in->ty.rank &&
            in->ty.kind == TY_REAL && in->op != OP_PARAM && !cg_inlined(c, v) &&
            (c->uses[v] || c->carried[v] || in->op == OP_ZEROS))
            n++;
    }
    return n * real_size(c);
}

/* How many iterations of the for loops of source line `line` r runs
 * forward (backwards loops not counted), m times over: the checkpointing
 * loops (IF_CKPT) count through the loops they hold. */
static long long forward_steps(const Fn *f, const Region *r, int line, long long m)
{
    long long n = 0;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (in->op == OP_FOR) {
            long long trip = (long long)in->x->ix[1].c - in->x->ix[0].c;
            if (in->line == line && !(in->flags & (IF_CKPT | IF_BACKWARDS)))
                n += m * trip;
            n += forward_steps(f, in->x->reg[0], line, m * trip);
        } else if (in->op == OP_IF) {
            n += forward_steps(f, in->x->reg[0], line, m) + forward_steps(f, in->x->reg[1], line, m);
        }
    }
    return n;
}

/* --stats for a checkpointed f: for each loop it nests, the levels (the
 * trip counts of its first nest in the forward sweep), the snapshots (an
 * outer level keeps one per iteration) and how many times the loop's
 * steps run forward against f's once. */
static void ckpt_stats(const Cg *c, const Fn *f, FILE *out)
{
    const Fn *primal = NULL;
    for (int i = 0; i < c->p->units.n; i++)
        if (c->p->units.p[i].grad == f || c->p->units.p[i].hvp == f)
            primal = c->p->units.p[i].primal;
    for (Ref v = 0; primal && v < f->v.n; v++) {
        const Inst *in = &f->v.p[v];
        if (in->op != OP_FOR || (in->flags & (IF_CKPT | IF_BACKWARDS)) != IF_CKPT)
            continue;
        int line = in->line, seen = 0;
        for (Ref w = 0; w < v && !seen; w++)
            seen = f->v.p[w].op == OP_FOR && f->v.p[w].line == line && (f->v.p[w].flags & IF_CKPT);
        if (seen)
            continue; /* one report per loop */
        fprintf(out, ", the loop on line %d checkpointed as ", line);
        long long snaps = 0;
        for (Ref x = v;;) {
            const Inst *l = &f->v.p[x];
            fprintf(out, "%lld", (long long)l->x->ix[1].c - l->x->ix[0].c);
            if (!(l->flags & IF_CKPT))
                break;
            snaps += (long long)l->x->ix[1].c - l->x->ix[0].c;
            Ref next = NOREF;
            for (int i = 0; i < l->x->reg[0]->ids.n && next == NOREF; i++) {
                Ref y = l->x->reg[0]->ids.p[i];
                if (f->v.p[y].op == OP_FOR && f->v.p[y].line == line)
                    next = y;
            }
            if (next == NOREF)
                break;
            fputs(" x ", out);
            x = next;
        }
        long long once = forward_steps(primal, primal->body, line, 1);
        long long runs = forward_steps(f, f->body, line, 1);
        fprintf(out, " steps (%lld snapshots), run forward %.2f times", snaps,
                once ? (double)runs / (double)once : 0.0);
    }
}

static void stats_one(void *arg, const Fn *f)
{
    EmitArg *e = arg;
    Cg *c = e->c;
    cg_prepare(c, f, 0);
    long long arrays = c->frame * real_size(c), scalars = scalar_bytes(c);
    fprintf(e->out, "%s: tape %lld bytes, ", f->name, tape_bytes(c));
    if (fits(c) || !c->o->workspace)
        fprintf(e->out, "stack ~%lld bytes", arrays + scalars);
    else
        fprintf(e->out, "not generated: its local arrays exceed the stack budget of %lld bytes",
                c->o->stack_budget);
    if (c->o->workspace)
        fprintf(e->out, " (workspace variant %s: %lld bytes in work, stack ~%lld bytes)",
                ws_name(c, f->name), arrays, scalars);
    ckpt_stats(c, f, e->out);
    fputc('\n', e->out);
}

void cg_stats(const Program *p, const CgOpts *o, FILE *out)
{
    Cg c;
    init(&c, p, o);
    EmitArg e = {&c, out};
    each_fn(p, o, stats_one, &e);
    cg_str_free(&c.body);
}

void cg_ir(const Program *p, const CgOpts *o, FILE *out)
{
    /* a copy of p without the derivatives o does not select (a unit
     * always holds its f) */
    Program q = *p;
    q.units.p = arena_alloc(p->arena, sizeof(Unit) * (size_t)(p->units.n + 1));
    for (int i = 0; i < p->units.n; i++) {
        Unit u = p->units.p[i];
        if (u.jvp && !selected(o, u.jvp))
            u.jvp = NULL;
        if (u.grad && !selected(o, u.grad))
            u.grad = NULL;
        if (u.hvp && !selected(o, u.hvp))
            u.hvp = NULL;
        q.units.p[i] = u;
    }
    ir_print_program(&q, out);
}
