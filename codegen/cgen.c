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

/* f is one of the entry points o->entries selects (--entries). */
static int selected(const CgOpts *o, const Fn *f)
{
    return !o || !o->entries || (o->entries & ir_entry_bit(f->kind));
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

static const char *ws_name(const Cg *c, const Fn *f)
{
    return arena_printf(c->A, "%s_ws", f->name);
}

static const char *ws_macro(const Cg *c, const Fn *f)
{
    return arena_printf(c->A, "%s_WS_BYTES", f->name);
}

static void add_global(void *arg, const Fn *f)
{
    Cg *c = arg;
    cg_names_add(&c->globals, f->name);
}

static void add_ws_globals(void *arg, const Fn *f)
{
    Cg *c = arg;
    if (!cg_names_has(&c->globals, ws_name(c, f)))
        cg_names_add(&c->globals, ws_name(c, f));
    if (!cg_names_has(&c->globals, ws_macro(c, f)))
        cg_names_add(&c->globals, ws_macro(c, f));
}

static void init(Cg *c, const Program *p, const CgOpts *o)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->o = o;
    c->A = p->arena;
    c->globals.a = p->arena;
    c->lits = arena_alloc(p->arena, sizeof *c->lits);
    each_fn(p, NULL, add_global, c);
    if (o->workspace)
        each_fn(p, NULL, add_ws_globals, c);
    cg_maths_reserve(c);
    static const char *const helpers[H_COUNT] = {
        [H_SIGMOID] = "sigmoid", [H_DSIGMOID] = "dsigmoid", [H_SOFTPLUS] = "softplus",
        [H_DIGAMMA] = "digamma", [H_TRIGAMMA] = "trigamma",  [H_TETRAGAMMA] = "tetragamma",
        [H_MULZ] = "mulz",       [H_DIVZ] = "divz"};
    const char *pre = o->helper_prefix ? o->helper_prefix : "dx_";
    for (int h = 0; h < H_COUNT; h++)
        c->helper[h] = cg_unique(c, &c->globals, arena_name(p->arena, pre, helpers[h], -1));
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
            if (g != f && !strcmp(ws_macro(c, f), g->name))
                diag_error(ca->d, fn_loc(g),
                           "function name '%s' clashes with the workspace size macro of '%s'",
                           diag_name(c->A, g->name), diag_name(c->A, f->name));
        }
        return;
    }
    if (surely_fits(c, f))
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

long long cg_frame(const Program *p, const CgOpts *o, const Fn *f, int *tape_line)
{
    Cg c;
    init(&c, p, o);
    *tape_line = 0;
    if (surely_fits(&c, f))
        return 0;
    cg_prepare(&c, f, 0);
    long long bytes;
    int plural;
    largest(&c, &bytes, &plural, tape_line);
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
    Str head, body, tail;
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
    t->body = c->body;
    c->body = (Str){0};
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
static void emit_fn(Cg *c, const Fn *f, FnText *t)
{
    Str *out = &t->head;
    Arena *A = c->A;
    cg_prepare(c, f, 0);
    if (!c->o->workspace) {
        write_fn(c, f->name, purpose(f, A), t);
        return;
    }
    const char *ws = ws_name(c, f), *macro = ws_macro(c, f);
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
    const Fn *f;
    FnText text;
    int done;       /* written */
    int helper_used[H_COUNT];
    unsigned char maths_used[2 * CG_MATHS];
} Piece;

typedef struct {
    const Cg *file; /* read only while the writers run */
    Piece *pieces;  /* in the file's order */
    int *order;     /* indices of pieces, the largest function first */
    int n;
    int first, last; /* order[first..last-1]: what no writer has taken */
    int threads;    /* writers planned: this thread and those it starts */
    /* The text of the functions written would stay in memory while the
     * largest is written (the peak of a large program), so they go, in
     * the file's order, to a temporary file once they hold more than
     * o->spill_bytes (spill); cg_c copies them back after the helpers,
     * which no function's text can precede, as it knows them last. */
    FILE *spill;
    int spilled;    /* pieces[0..spilled-1] are in it, their text freed */
    size_t held;    /* bytes of text of the written pieces not spilled */
    pthread_mutex_t lock;
} Pieces;

/* What a writer keeps from one function to the next: its arena, and the
 * cache that only spares work (literals' texts). */
typedef struct {
    Arena *A;
    struct CgLits *lits;
} Writer;

static void write_piece(const Cg *file, Writer *w, Piece *pc)
{
    Cg c = *file;
    c.A = w->A;
    c.lits = w->lits;
    emit_fn(&c, pc->f, &pc->text);
    cg_release(&c);
    free(c.body.p);
    memcpy(pc->helper_used, c.helper_used, sizeof pc->helper_used);
    memcpy(pc->maths_used, c.maths_used, sizeof pc->maths_used);
}

/* A writer: takes functions until none is left.  The calling thread
 * takes the largest left, the threads it starts the smallest: the
 * largest (f_hvp) is written beside the others from the start, and these
 * are written smallest first, so that the instructions of most of them
 * are freed before the larger tables of the last one are made. */
typedef struct {
    Pieces *ps;
    int smallest;
} WriterArg;

static size_t text_size(const FnText *t)
{
    return t->head.n + t->body.n + t->tail.n;
}

/* Appends t to `to`, freeing it; 1 if a write failed. */
static int put_text(FnText *t, FILE *to)
{
    Str *parts[3] = {&t->head, &t->body, &t->tail};
    int bad = 0;
    for (int k = 0; k < 3; k++) {
        if (parts[k]->n && fwrite(parts[k]->p, 1, parts[k]->n, to) != parts[k]->n)
            bad = 1;
        free(parts[k]->p);
        *parts[k] = (Str){0};
    }
    return bad;
}

/* dx_tmpfile_read's put into the output stream, whose own error flag
 * reports a failed write when the output is committed. */
static int put_stream(void *to, const char *p, size_t n)
{
    fwrite(p, 1, n, to);
    return 0;
}

static void spill_failed(void)
{
    fprintf(stderr, "dxc: error: cannot write a temporary file for the C text: %s (TMPDIR says where)\n", strerror(errno));
    exit(1);
}

/* Under ps->lock, once piece k is written: when the written text held
 * exceeds the limit, the written pieces at the head of the file go to
 * the temporary file (made the first time), in order. */
static void spill(Pieces *ps, int k)
{
    ps->pieces[k].done = 1;
    ps->held += text_size(&ps->pieces[k].text);
    if (ps->held <= ps->file->o->spill_bytes)
        return;
    while (ps->spilled < ps->n && ps->pieces[ps->spilled].done) {
        if (!ps->spill && !(ps->spill = dx_tmpfile()))
            return; /* no temporary file: the text stays in memory */
        FnText *t = &ps->pieces[ps->spilled++].text;
        ps->held -= text_size(t);
        if (put_text(t, ps->spill))
            spill_failed();
        if (ps->file->o->spilled)
            ++*ps->file->o->spilled;
    }
}

static void *writer(void *arg)
{
    Pieces *ps = ((WriterArg *)arg)->ps;
    int smallest = ((WriterArg *)arg)->smallest;
    Writer w = {ps->threads > 1 ? arena_new_written() : arena_new(), NULL};
    w.lits = arena_alloc(w.A, sizeof *w.lits);
    for (;;) {
        pthread_mutex_lock(&ps->lock);
        int k = ps->first == ps->last ? -1 : smallest ? ps->order[--ps->last] : ps->order[ps->first++];
        pthread_mutex_unlock(&ps->lock);
        if (k < 0)
            break;
        write_piece(ps->file, &w, &ps->pieces[k]);
        const CgOpts *o = ps->file->o;
        pthread_mutex_lock(&ps->lock);
        if (o->written) /* it frees in the program's arena: one at a time */
            o->written(ps->pieces[k].f, o->written_arg);
        if (o->spill_bytes)
            spill(ps, k);
        pthread_mutex_unlock(&ps->lock);
    }
    arena_free(w.A);
    return NULL;
}

static void add_piece(void *arg, const Fn *f)
{
    Pieces *ps = arg;
    ps->pieces[ps->n++].f = f;
}

static void count_fn(void *arg, const Fn *f)
{
    (void)f;
    ++*(int *)arg;
}

/* Writes every selected function of the program into ps->pieces, on up
 * to o->jobs threads (this one among them), each with a large stack as
 * the compiler's own: expressions are written recursively. */
static void write_pieces(Cg *c, Pieces *ps)
{
    const Program *p = c->p;
    int n = 0;
    each_fn(p, c->o, count_fn, &n);
    ps->file = c;
    ps->pieces = calloc((size_t)n + 1, sizeof *ps->pieces);
    ps->order = calloc((size_t)n + 1, sizeof *ps->order);
    if (!ps->pieces || !ps->order)
        BUG("cgen: out of memory");
    each_fn(p, c->o, add_piece, ps);
    for (int i = 0; i < n && !c->line_comments; i++) /* shared, read only */
        cg_source_lines(c, ps->pieces[i].f->src);
    int extra = (c->o->jobs < n ? c->o->jobs : n) - 1, started = 0;
    ps->threads = extra + 1;
    /* one writer: in file order, each function's instructions freed
     * (o->written) before the next, larger one is written; several: by
     * size, the largest at the front (see writer) */
    for (int i = 0; i < n; i++) {
        int k = i;
        while (k > 0 && extra > 0 && ps->pieces[ps->order[k - 1]].f->v.n < ps->pieces[i].f->v.n) {
            ps->order[k] = ps->order[k - 1];
            k--;
        }
        ps->order[k] = i;
    }
    pthread_mutex_init(&ps->lock, NULL);
    ps->first = 0;
    ps->last = n;
    WriterArg calling = {ps, 0}, others = {ps, 1};
    pthread_t *t = extra > 0 ? calloc((size_t)extra, sizeof *t) : NULL;
    pthread_attr_t attr;
    if (t && pthread_attr_init(&attr) == 0) {
        if (pthread_attr_setstacksize(&attr, (size_t)1 << 30) == 0)
            while (started < extra && pthread_create(&t[started], &attr, writer, &others) == 0)
                started++;
        pthread_attr_destroy(&attr);
    }
    writer(&calling); /* what no thread could be started for is written here */
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    pthread_mutex_destroy(&ps->lock);
    for (int i = 0; i < n; i++) {
        for (int h = 0; h < H_COUNT; h++)
            c->helper_used[h] |= ps->pieces[i].helper_used[h];
        for (int m = 0; m < 2 * CG_MATHS; m++)
            c->maths_used[m] |= ps->pieces[i].maths_used[m];
    }
}

static FILE *mem_open(char **buf, size_t *len)
{
    FILE *mem = open_memstream(buf, len);
    if (!mem)
        BUG("open_memstream failed");
    return mem;
}

void cg_c(const Program *p, const CgOpts *o, FILE *out)
{
    Cg c;
    init(&c, p, o);
    /* functions first, then the helpers they use: the helpers, and the
     * maths hooks both call, come before them in the file */
    Pieces ps = {0};
    write_pieces(&c, &ps);
    char *hs = NULL, *all = NULL;
    size_t nhs = 0, nall = 0;
    FILE *mem = mem_open(&hs, &nhs);
    helpers(&c, mem);
    fclose(mem);
    FILE *to = o->line_directives ? mem_open(&all, &nall) : out;
    fprintf(to, "/* Generated by dxc %s from %s.  Do not edit.\n"
                " * Standalone C99: it needs <math.h> and -lm only, allocates nothing and\n"
                " * keeps no state, so every function is reentrant. */\n"
                "#include <math.h>\n",
            DX_VERSION, o->src_path ? o->src_path : "<input>");
    cg_maths_hooks(&c, to);
    fwrite(hs, 1, nhs, to);
    if (ps.spill) { /* the functions spilled, back in their place */
        int e = o->append && to == o->append_to ? o->append(o->append_arg, ps.spill)
                                                : dx_tmpfile_read(ps.spill, put_stream, to);
        if (e) {
            errno = e;
            spill_failed();
        }
        fclose(ps.spill);
    }
    for (int i = ps.spilled; i < ps.n; i++)
        put_text(&ps.pieces[i].text, to);
    if (to != out) {
        fclose(to);
        cg_line_directives(p->src && p->src->path ? p->src->path : o->src_path ? o->src_path : "<input>",
                           o->c_path ? o->c_path : "<stdout>", all, nall, out);
    }
    free(all);
    free(hs);
    free(ps.pieces);
    free(ps.order);
}

/* ---------------- the header ---------------- */

typedef struct {
    Cg *c;
    FILE *out;
} EmitArg;

static void proto_one(void *arg, const Fn *f)
{
    EmitArg *pa = arg;
    Cg *c = pa->c;
    Arena *A = c->A;
    cg_prepare(c, f, 0);
    Str s = {0};
    if (!c->o->workspace) {
        cg_signature(c, f, f->name, NULL, 0, &s);
        fprintf(pa->out, "%s;\n", s.p);
        free(s.p);
        return;
    }
    fprintf(pa->out, "#define %s %lld\n", ws_macro(c, f), c->frame * real_size(c));
    if (fits(c)) {
        cg_signature(c, f, f->name, NULL, 0, &s);
        fprintf(pa->out, "%s;\n", s.p);
        s.n = 0;
    } else {
        fprintf(pa->out, "/* %s is not generated: its arrays exceed the stack budget */\n",
                f->name);
    }
    cg_signature(c, f, ws_name(c, f), arena_printf(A, "void *%s", c->work), 0, &s);
    fprintf(pa->out, "%s;\n", s.p);
    free(s.p);
}

void cg_header(const Program *p, const CgOpts *o, FILE *out)
{
    Cg c;
    init(&c, p, o);
    /* the guard: --prefix, then DX_ and the file's name (DX_MODEL_H) */
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
    fprintf(out, "/* Generated by dxc %s from %s.  Do not edit. */\n#ifndef %s\n#define %s\n\n",
            DX_VERSION, o->src_path ? o->src_path : "<input>", guard, guard);
    if (o->workspace)
        fputs("/* f_ws(..., void *work) is f with its local arrays in work, which must hold\n"
              " * f_WS_BYTES bytes (0: work is not used) aligned for double. */\n",
              out);
    EmitArg pa = {&c, out};
    each_fn(p, o, proto_one, &pa);
    fprintf(out, "\n#endif\n");
    free(c.body.p);
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
            long long trip = (long long)in->ix[1].c - in->ix[0].c;
            if (in->line == line && !(in->flags & (IF_CKPT | IF_BACKWARDS)))
                n += m * trip;
            n += forward_steps(f, in->reg[0], line, m * trip);
        } else if (in->op == OP_IF) {
            n += forward_steps(f, in->reg[0], line, m) + forward_steps(f, in->reg[1], line, m);
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
            fprintf(out, "%lld", (long long)l->ix[1].c - l->ix[0].c);
            if (!(l->flags & IF_CKPT))
                break;
            snaps += (long long)l->ix[1].c - l->ix[0].c;
            Ref next = NOREF;
            for (int i = 0; i < l->reg[0]->ids.n && next == NOREF; i++) {
                Ref y = l->reg[0]->ids.p[i];
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
                ws_name(c, f), arrays, scalars);
    ckpt_stats(c, f, e->out);
    fputc('\n', e->out);
}

void cg_stats(const Program *p, const CgOpts *o, FILE *out)
{
    Cg c;
    init(&c, p, o);
    EmitArg e = {&c, out};
    each_fn(p, o, stats_one, &e);
    free(c.body.p);
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
