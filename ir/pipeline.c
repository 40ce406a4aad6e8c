/*
 * pipeline.c - the compiler, every pass in the order it runs, in one
 * place (ir_pipeline):
 *
 *   parse, check, lower, --only        the front end: one unit, holding
 *                                      a primal function, per .dx function
 *   ir_passes[1..], each unit in turn  its derivatives, cleaned up
 *   cg_check, then cg_c, cg_header,    codegen: the stack budget, then
 *   cg_ir or cg_views, cg_stats        what --emit asks for; the C file
 *                                      (without --stats) is written as
 *                                      the passes make each function
 *                                      final (cg_stream, early_final)
 *
 * Every pass over a unit has one shape, void pass(Unit *), and a name in
 * ir_passes, the table --emit=ir=PASS and --help read; "lower" heads the
 * table because the IR first exists after it.  The comment above each
 * pass says what it needs and what it guarantees.  ir_verify checks the
 * function a pass built or changed after it runs (passes_from; IrPass.fns
 * says which), so a pass that breaks the IR is caught where it ran: in
 * the tests and the differential tester (ad_unit) after every pass, in
 * dxc after the last pass that changes the function (Unit.verify_last).
 *
 * The passes themselves live in their own files (ad_linearize in
 * linearize.c, ad_transpose in ad.c, opt_* in opt.c); here each is only
 * applied to the function of the unit it works on.  This file is in ir/,
 * not driver/, because the tests and the differential tester, which link
 * the compiler without its driver, run the same passes (ad_unit); it is
 * the one file of ir/ that calls codegen/.
 */
#include "../codegen/codegen.h"
#include "adjoint.h"

#include <string.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

/* ---------------- the front end: --only ---------------- */

/* The length of the name at s in a --only list (up to ',' or the end). */
static size_t name_len(const char *s)
{
    return strcspn(s, ",");
}

static int listed(const char *list, const char *name)
{
    for (const char *s = list;; s++) {
        size_t n = name_len(s);
        if (n == strlen(name) && !strncmp(s, name, n))
            return 1;
        s += n;
        if (!*s)
            return 0;
    }
}

/* --only=f,g: keeps the units of the functions named, in file order; a
 * name that is not a function of the file is an error. */
static int keep_only(Program *p, const char *list, const char *path)
{
    int bad = 0;
    if (!*list || list[0] == ',' || strstr(list, ",,") || list[strlen(list) - 1] == ',') {
        diag_plain("--only needs function names separated by commas, not '%s'", list);
        return 1;
    }
    for (const char *s = list;; s++) {
        size_t n = name_len(s);
        int found = 0;
        for (int i = 0; i < p->units.n; i++) {
            const char *f = p->units.p[i].primal->src_name;
            found |= strlen(f) == n && !strncmp(f, s, n);
        }
        if (!found) {
            diag_plain("--only: no function '%.*s' in '%s'", (int)n, s, path);
            bad = 1;
        }
        s += n;
        if (!*s)
            break;
    }
    if (bad)
        return 1;
    int k = 0;
    for (int i = 0; i < p->units.n; i++)
        if (listed(list, p->units.p[i].primal->src_name))
            p->units.p[k++] = p->units.p[i];
    p->units.n = k;
    return 0;
}

/* --prefix=P: every function's C name starts with P (f becomes P f, and
 * f_grad, f_jvp and f_hvp, named after it, P f_grad, ...); a name that
 * becomes one C or its library reserves is an error. */
static int add_prefix(Program *p, const char *prefix)
{
    int bad = 0;
    for (int i = 0; i < p->units.n; i++) {
        Fn *fs[4];
        for (int k = 0, n = ir_unit_fns(&p->units.p[i], fs); k < n; k++) {
            fs[k]->name = arena_printf(fs[k]->arena, "%s%s", prefix, fs[k]->name);
            if (sema_c_reserved(fs[k]->name)) {
                diag_plain("--prefix=%s: '%s' is a name C or its library reserves", prefix,
                           fs[k]->name);
                bad = 1;
            }
        }
    }
    return bad;
}

/* ---------------- the passes over one unit ---------------- */

/* --entries: u's entry points need a function that one of `bits` names
 * (f_jvp is built for f_jvp itself and for f_grad and f_hvp, which
 * derive from it; f_grad for itself and f_hvp). */
static int wanted(const Unit *u, int bits)
{
    return !u->entries || (u->entries & bits);
}

/* Whether the passes build u's entry point of kind k (FN_GRAD and
 * FN_VJP alike): f always; f_jvp for any derivative --entries wants
 * (f_grad starts from it); f_grad or f_vjp for itself and for f_hvp;
 * f_hvp for a scalar result. */
static int builds(const Unit *u, FnKind k)
{
    switch (k) {
    case FN_PRIMAL: return 1;
    case FN_JVP: return wanted(u, ENTRY_JVP | ENTRY_GRAD | ENTRY_HVP);
    case FN_GRAD: case FN_VJP: return wanted(u, ENTRY_GRAD | ENTRY_HVP);
    case FN_HVP: return u->primal->out.p[0].ty.rank == 0 && wanted(u, ENTRY_HVP);
    }
    return 0;
}

/* The reverse mode's entry point of f: f_vjp for an array result, else
 * f_grad. */
static FnKind reverse_kind(const Fn *f)
{
    return f->out.p[0].ty.rank > 0 ? FN_VJP : FN_GRAD;
}

/* The name of f's entry point of kind k: f, f_jvp, f_grad, f_vjp, f_hvp. */
static const char *entry_name(Arena *A, const Fn *f, FnKind k)
{
    static const char *const suffix[] = {[FN_PRIMAL] = "", [FN_JVP] = "_jvp", [FN_GRAD] = "_grad",
                                         [FN_VJP] = "_vjp", [FN_HVP] = "_hvp"};
    return k == FN_PRIMAL ? f->name : arena_printf(A, "%s%s", f->name, suffix[k]);
}

static void compact(Unit *u);

/* Where every pass is checked (the tests): that the optimiser's rounds
 * on f stopped at a fixed point, the fold they may leave out changing
 * nothing (opt_rounds). */
static void check_fixed_point(const Unit *u, Fn *f)
{
    if (!u->verify_last && opt_refold(f))
        BUG("folding after the optimiser's rounds changed a function");
}

/* opt_all on f, one of u's functions.  With u->compact, what the fusion
 * and its dead-code removal leave is compacted before the rounds of
 * folding, CSE and dead-code removal (a fifth of f_hvp goes). */
static void clean_up(Unit *u, Fn *f)
{
    opt_fuse(f);
    if (u->compact) {
        ir_compact(f);
        compact(u);
    }
    opt_rounds(f);
    check_fixed_point(u, f);
}

/* opt-primal.  Needs: f as lowered.  Guarantees: f with each GEN fused
 * into the IDX that reads it where no work is repeated, constants folded,
 * common subexpressions merged and dead code removed, to a fixed point
 * (opt_all). */
static void opt_primal(Unit *u)
{
    clean_up(u, u->primal);
}

/* linearize.  Needs: f optimised (f_jvp copies it, so the clean-up is
 * done once).  Guarantees: u->jvp, f_jvp: f's parameters, then a tangent
 * x_dot for each active one; every instruction of f followed by its
 * tangent, marked lin (ADD, SUB, NEG, and MUL or DIV by a primal value:
 * linear in the x_dots); two outputs, the value and its tangent.  When
 * --entries wants only f, nothing: u->jvp stays NULL. */
static void linearize(Unit *u)
{
    Fn *f = u->primal;
    if (!builds(u, FN_JVP))
        return;
    u->jvp = ad_linearize(f, entry_name(f->arena, f, FN_JVP), FN_JVP);
}

/* opt-jvp.  Needs: f_jvp, if any.  Guarantees: f_jvp cleaned up as by
 * opt-primal, its lin instructions still in the forms transpose reads
 * (folding leaves them alone). */
static void opt_jvp(Unit *u)
{
    if (u->jvp)
        clean_up(u, u->jvp);
}

/* transpose.  Needs: f_jvp as opt-jvp leaves it.  Guarantees: u->grad,
 * f_grad (a scalar result, seeded with 1) or f_vjp (an array result,
 * seeded with the input out_bar): f_jvp's primal instructions as the
 * forward sweep, keeping in tapes what the backward sweep reads back
 * (--tape: u->small_tape), then the backward sweep, adjoints accumulated
 * by adds and ACCs into zeroed buffers; outputs the value, then x_bar for
 * every tangent input of f_jvp.  When --entries wants neither f_grad nor
 * f_hvp, nothing: u->grad stays NULL. */
static void transpose(Unit *u)
{
    Fn *f = u->primal;
    if (!builds(u, FN_GRAD))
        return;
    FnKind k = reverse_kind(f);
    u->grad = ad_transpose(u->ckpt_jvp ? u->ckpt_jvp : u->jvp, entry_name(f->arena, f, k), k, u->small_tape,
                           u->keep_bytes);
}

/* opt-grad.  Needs: f_grad (or f_vjp), if any.  Guarantees: it is cleaned
 * up as by opt-primal; every ACC stays, in order, while its buffer is
 * read. */
static void opt_grad(Unit *u)
{
    if (u->grad)
        clean_up(u, u->grad);
}

/* join-grad.  Needs: f_grad cleaned up.  Guarantees: the backward loop
 * of a reduction whose adjoint is known before it runs is part of the
 * reduction's loop, one pass over the data instead of two, and (but with
 * --tape=small) a reduction that a backward loop would compute again is
 * kept by its forward loop instead (opt_join, onepass.c); cleaned up
 * again. */
static void join_grad(Unit *u)
{
    if (u->grad) {
        opt_join(u->grad, !u->small_tape, u->keep_bytes);
        check_fixed_point(u, u->grad); /* opt_join's own rounds (opt_all) */
    }
}

/* interchange-grad.  Needs: f_grad as join-grad leaves it.  Guarantees: a
 * triangular nest of the backward sweep whose inner loop adds to an
 * element free of the outer index runs with its loops interchanged, that
 * element's sum in a cell (opt_interchange, interchange.c). */
static void interchange_grad(Unit *u)
{
    if (u->grad)
        opt_interchange(u->grad);
}

/* store-grad.  Needs: f_grad cleaned up (no clean-up may run on it after
 * this one).  Guarantees: a zeroed buffer whose first use is a loop nest
 * writing each element once by one ACC is not zeroed, and that ACC stores
 * (x_bar[i] = ...) instead of adding (opt_store). */
static void store_grad(Unit *u)
{
    if (u->grad)
        opt_store(u->grad);
}

/* linearize-grad: forward over reverse.  Needs: f_grad as store-grad
 * leaves it.  Guarantees: for a scalar result, u->hvp, f_hvp: f_grad
 * linearised along the x_dot directions, its outputs the value and, for
 * every x_bar, its tangent renamed x_hv (the Hessian times the
 * directions).  An array result (f_vjp) has no f_hvp, and --entries may
 * want none: then u->hvp stays NULL. */
static void linearize_grad(Unit *u)
{
    Fn *f = u->primal, *grad = u->grad;
    Arena *A = f->arena;
    if (!builds(u, FN_HVP))
        return;
    Fn *h = ad_linearize_polled(grad, entry_name(A, f, FN_HVP), FN_HVP, u->poll, u->poll_arg);
    int nb = grad->out.n - 1;
    VEC(Output) outs = {0};
    vec_push(A, &outs, h->out.p[0]);
    for (int i = 0; i < nb; i++) {
        Output o = h->out.p[grad->out.n + 1 + i];
        o.name = ad_suffixed(A, f->in.p[o.of].name, "_hv");
        o.role = OUT_BAR;
        vec_push(A, &outs, o);
    }
    h->out.p = outs.p;
    h->out.n = outs.n;
    h->out.cap = outs.cap;
    u->hvp = h;
}

/* opt-hvp.  Needs: f_hvp, if any.  Guarantees: it is cleaned up as by
 * opt-primal. */
static void opt_hvp(Unit *u)
{
    if (u->hvp)
        clean_up(u, u->hvp);
}

/* store-hvp.  Needs: f_hvp cleaned up.  Guarantees: its buffers written
 * once per element are stored, not zeroed and added to, as by
 * store-grad. */
static void store_hvp(Unit *u)
{
    if (u->hvp)
        opt_store(u->hvp);
}

/* hoist.  Needs: f_jvp and f_hvp final but for lanes and signs.
 * Guarantees: in each, the part of a tangent sum's term that an
 * enclosing loop does not change is summed once before that loop, into
 * a table of at most u->hoist_bytes over the loops between (opt_hoist,
 * hoist.c). */
static void hoist(Unit *u, Fn *f)
{
    opt_hoist(f, u->hoist_bytes, u->hoist_budget);
}

/* lanes.  Needs: f_jvp and f_hvp final but for signs (no pass reads
 * their sums as REDs any more).  Guarantees: in each, the tangent of a
 * sum over constant bounds of u->lanes_min terms or more (--sum-lanes,
 * 16) is accumulated in two lanes, its loop a FOR over pairs of
 * iterations, the primal sums in their order (opt_lanes, lanes.c). */
static void lanes(Unit *u, Fn *f)
{
    opt_lanes(f, u->lanes_min);
}

/* signs.  Needs: every derivative final (no pass reads its tangent forms
 * any more).  Guarantees: in f_jvp, f_grad and f_hvp, but not in their
 * copies of f's code, a negation that feeds an addition or subtraction
 * is taken into it (x_bar += -(a * b): x_bar -= a * b), the values the
 * same (opt_signs, signs.c).  Like hoist and lanes, once per function
 * (pass_fns leaves out the f_jvp a checkpointing rebuild keeps: a second
 * run may rewrite what the first made, and f_jvp's C would depend on
 * the stack budget). */
static void signs(Unit *u, Fn *f)
{
    (void)u;
    opt_signs(f);
}

/* ---------------- the pipeline ---------------- */

/* Every pass after which the IR can be printed, in the order they run.
 *
 * lower (ir_lower, lower.c; run by ir_pipeline, as it makes the units).
 * Needs: an AST sema_check accepted.  Guarantees: one unit per .dx
 * function (with --only, per function named), in file order, holding its
 * primal f in SSA form with every call inlined; no f_jvp, f_grad or f_hvp
 * yet.  The other passes' comments are above their definitions. */
const IrPass ir_passes[] = {
    {"lower", NULL, "each function to SSA, calls inlined (--only: those named)", ENTRY_F, NULL},
    {"opt-primal", opt_primal, "f: fuse loops, fold constants, CSE, remove dead code", ENTRY_F, NULL},
    {"linearize", linearize, "f_jvp: each instruction of f followed by its tangent", ENTRY_JVP, NULL},
    {"opt-jvp", opt_jvp, "f_jvp: the clean-up of opt-primal", ENTRY_JVP, NULL},
    {"transpose", transpose, "f_grad or f_vjp: the forward sweep, then the backward one", ENTRY_GRAD, NULL},
    {"opt-grad", opt_grad, "f_grad: the clean-up of opt-primal", ENTRY_GRAD, NULL},
    {"join-grad", join_grad, "f_grad: a sum's backward loop joins its forward loop", ENTRY_GRAD, NULL},
    {"interchange-grad", interchange_grad, "f_grad: triangular backward loops interchanged", ENTRY_GRAD, NULL},
    {"store-grad", store_grad, "f_grad: buffers written once per element are stored", ENTRY_GRAD, NULL},
    {"linearize-grad", linearize_grad, "f_hvp: f_grad linearised (scalar results only)", ENTRY_HVP, NULL},
    {"opt-hvp", opt_hvp, "f_hvp: the clean-up of opt-primal", ENTRY_HVP, NULL},
    {"store-hvp", store_hvp, "f_hvp: buffers written once per element are stored", ENTRY_HVP, NULL},
    {"hoist", NULL, "f_jvp, f_hvp: a tangent's loop-invariant part summed before the loop", ENTRY_JVP | ENTRY_HVP,
     hoist},
    {"lanes", NULL, "f_jvp, f_hvp: a long sum's tangent accumulated in two lanes", ENTRY_JVP | ENTRY_HVP, lanes},
    {"signs", NULL, "derivatives: negations taken into the sums that use them", ENTRY_JVP | ENTRY_GRAD | ENTRY_HVP,
     signs},
};
const int ir_npasses = (int)(sizeof ir_passes / sizeof ir_passes[0]);

int ir_pass_find(const char *name)
{
    for (int k = 0; k < ir_npasses; k++)
        if (!strcmp(ir_passes[k].name, name))
            return k;
    return -1;
}

/* Is pass k the last to change the functions of entry bit `bit`
 * (ENTRY_*): are they final after it? */
static int last_change(int k, int bit)
{
    for (int later = k + 1; later < ir_npasses; later++)
        if (ir_passes[later].fns & bit)
            return 0;
    return 1;
}

/* The functions of u that pass k builds or changes (its fns), in fs;
 * returns how many.  While checkpointing rebuilds f_grad and f_hvp from
 * a fresh f_jvp (u->ckpt_jvp), u's own f_jvp is kept as it is: no pass
 * changes, verifies or compacts it again; nor one made final early
 * (Fn.final). */
static int pass_fns(const Unit *u, int k, Fn *fs[4])
{
    Fn *all[4];
    int n = 0;
    for (int i = 0, m = ir_unit_fns(u, all); i < m; i++)
        if ((ir_passes[k].fns & ir_entry_bit(all[i]->kind)) && !(all[i] == u->jvp && u->ckpt_jvp) &&
            !all[i]->final)
            fs[n++] = all[i];
    return n;
}

/* The check of f once no pass changes it: now, or, with
 * u->verify_writer, by the C file's writer before it writes f (the
 * writer of the largest function checks it on the other core while it
 * analyses it: cgen.c, write_piece). */
static void verify_final(Unit *u, Fn *f)
{
    if (u->verify_writer)
        f->verify_pending = 1;
    else
        ir_verify(f);
}

/* ir_verify on the functions of u that pass k built or changed (each of
 * the others is as the pass before it left it, checked then); with
 * u->verify_last, only on those no later pass changes (verify_final). */
static void verify(Unit *u, int k)
{
    Fn *fs[4];
    for (int i = 0, n = pass_fns(u, k, fs); i < n; i++)
        if (!u->verify_last)
            ir_verify(fs[i]);
        else if (last_change(k, ir_entry_bit(fs[i]->kind)))
            verify_final(u, fs[i]);
}

/* Gives back the unused end of f's instruction array (doubling left up
 * to half of it empty). */
static void shrink(Fn *f)
{
    if (f->v.cap > f->v.n) {
        f->v.p = arena_shrink(f->arena, f->v.p, sizeof(Inst) * (size_t)f->v.cap,
                              sizeof(Inst) * (size_t)f->v.n);
        f->v.cap = f->v.n;
    }
}

/* Between passes, when no pointer into an instruction array is held:
 * frees the old copies of the arrays the pass grew, and shrinks each
 * function's instruction array (but one made final: a writer may be
 * reading it), so memory stays proportional to the program. */
static void compact(Unit *u)
{
    Fn *fs[4];
    for (int k = 0, n = ir_unit_fns(u, fs); k < n; k++)
        if (!fs[k]->final)
            shrink(fs[k]);
    arena_collect(u->primal->arena);
}

typedef struct Early Early;
static void early_final(Early *e, Unit *u, int k);

/* ir_passes[first..last] on u, in order, each verified (see verify) and
 * compacted after it runs.  With u->compact, a function no later pass changes
 * also loses its dead instructions (a quarter of f_hvp's, a third of
 * f's), for the passes that read it and the C generator.  With e, the
 * functions final after pass k go to the C file's writers (early_final). */
static void passes_from(Unit *u, int first, int last, Early *e)
{
    for (int k = first; k <= last; k++) {
        double t = dx_times_now();
        if (ir_passes[k].run) {
            ir_passes[k].run(u);
        } else {
            Fn *fs[4];
            for (int i = 0, n = pass_fns(u, k, fs); i < n; i++)
                ir_passes[k].each(u, fs[i]);
        }
        verify(u, k);
        Fn *fs[4];
        for (int i = 0, n = u->compact ? pass_fns(u, k, fs) : 0; i < n; i++)
            if (last_change(k, ir_entry_bit(fs[i]->kind)))
                ir_compact(fs[i]);
        compact(u);
        if (e)
            early_final(e, u, k);
        dx_times_add(u->times, ir_passes[k].name, u->primal->name, t);
    }
}

/* ir_passes[1..last] on u; every function of u is verified before the
 * first (lowering made it) too.  With e, each function goes to the C
 * file's writers as soon as it is final (early_final). */
static void run_passes(Unit *u, int last, Early *e)
{
    verify(u, 0);
    compact(u);
    passes_from(u, 1, last, e);
}

void ir_unit_sums(Unit *u, int sum_lanes, long long budget)
{
    u->lanes_min = sum_lanes < 0 ? 0 : sum_lanes ? sum_lanes : IR_SUM_LANES;
    u->hoist_bytes = budget / 16; /* a sixteenth of the budget for one table */
    u->hoist_budget = budget;
}

void ad_unit(Unit *u)
{
    run_passes(u, ir_npasses - 1, NULL);
}

/* ---------------- checkpointing ---------------- */

/* Which for loops (by source line) run as how many levels of nested
 * loops (ckpt.c). */
typedef struct {
    int n, cap;
    int *line, *levels;
} Plan;

/* One more level for the loops of `line` (2 for the first); 0 when they
 * have as many as can help already. */
static int plan_bump(Plan *pl, Arena *A, const Fn *primal, int line)
{
    int k = 0;
    while (k < pl->n && pl->line[k] != line)
        k++;
    if (k == pl->n) {
        if (pl->n == pl->cap) {
            int cap = pl->cap ? 2 * pl->cap : 4;
            pl->line = arena_grow(A, pl->line, sizeof(int) * (size_t)pl->cap, sizeof(int) * (size_t)cap);
            pl->levels = arena_grow(A, pl->levels, sizeof(int) * (size_t)pl->cap, sizeof(int) * (size_t)cap);
            pl->cap = cap;
        }
        pl->line[k] = line;
        pl->levels[k] = 1;
        pl->n++;
    }
    if (pl->levels[k] >= ckpt_max_levels(primal, line))
        return 0;
    pl->levels[k]++;
    return 1;
}

/* u's derivatives again from a fresh f_jvp whose loops pl nests: the
 * passes from transpose to `last`. */
static void rebuild(Unit *u, const Plan *pl, int last)
{
    Fn *jv = ad_linearize(u->primal, u->jvp->name, FN_JVP);
    opt_all(jv);
    for (int i = 0; i < pl->n; i++)
        ckpt_split(jv, pl->line[i], pl->levels[i]);
    ir_verify(jv);
    u->ckpt_jvp = jv;
    u->grad = u->hvp = NULL;
    passes_from(u, ir_pass_find("transpose"), last, NULL);
    u->ckpt_jvp = NULL;
}

/* The bytes of local arrays f needs on the stack when they exceed the
 * budget (*line: the for loop whose tapes are the largest), else 0. */
static long long over(const Program *prog, const CgOpts *o, const Fn *f, int *line)
{
    long long b = f ? cg_frame(prog, o, f, line) : 0;
    return b > o->stack_budget ? b : 0;
}

/* Nests the loops of the function `which` of u (the last pass that
 * builds it: `last`) one level more at a time, the loop with the largest
 * tapes first, until its local arrays fit the budget.  Returns 1 after
 * reporting when they cannot (with the smallest budget one of the plans
 * tried fits), 0 when they fit, and also when the largest array is none
 * of a loop's (cg_check reports it). */
static int fit(Program *prog, Unit *u, const Job *j, Diag *d, int last, Fn **which)
{
    Plan pl = {0};
    Arena *A = u->primal->arena;
    long long best = 0;
    int line, worse = 0;
    long long b = over(prog, j->cg, *which, &line);
    while (b && line) {
        best = !best || b < best ? b : best;
        worse = b > best ? worse + 1 : 0;
        if (worse > 2 || !plan_bump(&pl, A, u->primal, line)) {
            if (!pl.n)
                return 0;
            const Fn *f = *which;
            Loc at = {f->line, f->col ? f->col : 1};
            diag_error(d, at,
                       "'%s' needs %lld bytes of local arrays even with the for loop on line %d "
                       "checkpointed, over the stack budget of %lld bytes; use --stack-budget=%lld "
                       "or more",
                       f->name, best, line, j->cg->stack_budget, best);
            return 1;
        }
        rebuild(u, &pl, last);
        b = over(prog, j->cg, *which, &line);
    }
    return 0;
}

/* The checkpointed derivatives: when f_grad's or f_hvp's local arrays
 * exceed the stack budget because of a for loop's tapes, the loop is
 * nested (fit), for each of the two on its own, so that f_grad keeps the
 * fewest levels it needs when only f_hvp, which records tangents too,
 * needs more.  f and f_jvp stay as they were.  With --workspace the
 * budget bounds the workspace: the snapshots and tapes live there. */
static int checkpoint(Program *prog, Unit *u, const Job *j, Diag *d)
{
    int line, hlast = ir_npasses - 1, glast = ir_pass_find("store-grad");
    if (!over(prog, j->cg, u->grad, &line) && !over(prog, j->cg, u->hvp, &line))
        return 0;
    Fn *grad = u->grad, *hvp = u->hvp;
    if (hvp && over(prog, j->cg, hvp, &line)) {
        if (fit(prog, u, j, d, hlast, &u->hvp))
            return 1;
        hvp = u->hvp;
        u->grad = grad; /* as it was: it may need fewer levels */
    }
    if (over(prog, j->cg, grad, &line)) {
        u->hvp = NULL;
        if (fit(prog, u, j, d, glast, &u->grad))
            return 1;
        grad = u->grad;
    }
    u->grad = grad;
    u->hvp = hvp;
    return 0;
}

/* ---------------- the C file, written as the functions become final ---------------- */

/* With the plain C file as the output, each function goes to the C
 * file's writers (cg_stream) as soon as no pass changes it, and its
 * instructions are freed once it is written and no pass reads it: the
 * passes of the largest functions run with fewer others in memory, and
 * with more than one job the smaller functions' C is written on another
 * thread while the passes go on.
 *
 *   f       after opt-primal; freed after linearize, or, when it has a
 *           for loop, once its unit's checkpointing (which may linearise
 *           it again) is decided;
 *   f_jvp   after transpose, its signs pass run then (nothing after
 *           transpose reads its tangent forms);
 *   f_grad  after linearize-grad, likewise;
 *   f_hvp   at the end.
 *
 * Only a function whose local arrays fit the stack budget (with
 * --workspace, the workspace's budget) goes early: cg_check has nothing
 * to say of it, and checkpointing, which nests the loops of a function
 * over the budget, never rebuilds it.  The others
 * wait for cg_check at the end, as every function did before.  The C is
 * the same: each function is written from the same instructions. */
struct Early {
    CgStream *s;
    Program *prog;
    const CgOpts *cg;
    const CgPlanned *planned;
    int *first;     /* unit i's entry points: planned[first[i]..first[i+1]-1] */
    int keep_after_linearize; /* the unit's f has a for loop */
    int opt_primal, transpose, linearize_grad; /* those passes' indices */
};

/* f, changed after pass k only by passes that change each function
 * alone (IrPass.each): those now, then what passes_from does after a
 * function's last pass. */
static void finalize(Unit *u, Fn *f, int k)
{
    for (int later = k + 1; later < ir_npasses; later++)
        if (ir_passes[later].fns & ir_entry_bit(f->kind)) {
            ASSERT(ir_passes[later].each);
            ir_passes[later].each(u, f);
        }
    if (u->compact)
        ir_compact(f);
    verify_final(u, f);
    shrink(f);
    f->final = 1;
}

/* The entry point planned for f, of u. */
static int planned_at(const Early *e, const Unit *u, const Fn *f)
{
    int i = (int)(u - e->prog->units.p);
    for (int k = e->first[i]; k < e->first[i + 1]; k++)
        if (e->planned[k].kind == f->kind)
            return k;
    BUG("pipeline: a function the C file did not plan");
}

/* f, of u, is final: to the writers, if its local arrays fit the budget. */
static void offer(Early *e, Unit *u, Fn *f)
{
    int line;
    f->final = 1;
    if (!over(e->prog, e->cg, f, &line)) {
        f->fits = 1;
        cg_stream_give(e->s, planned_at(e, u, f), f);
    }
}

static int has_for(const Fn *f)
{
    for (Ref v = 0; v < f->v.n; v++)
        if (f->v.p[v].op == OP_FOR)
            return 1;
    return 0;
}

/* Unit.poll during linearize-grad: frees the functions the writers are
 * done with, as early_final would after the pass (f_jvp, whose writer
 * often ends as linearize-grad makes f_hvp, the largest function: the
 * peak of a large program's compilation). */
typedef struct {
    Early *e;
    Unit *u;
} Polled;

static void drop_written(void *arg)
{
    Polled *p = arg;
    cg_stream_drop_done(p->e->s, p->e->keep_after_linearize ? p->u->primal : NULL);
}

/* After pass k on u (passes_from). */
static void early_final(Early *e, Unit *u, int k)
{
    if (k == e->opt_primal) {
        offer(e, u, u->primal);
        /* f is read by linearize, and by checkpointing's rebuilds, which
         * nest for loops: without one, nothing reads it after linearize */
        e->keep_after_linearize = has_for(u->primal);
    } else if (k == e->transpose && u->jvp) {
        finalize(u, u->jvp, k);
        offer(e, u, u->jvp);
    } else if (k == e->linearize_grad && u->grad) {
        finalize(u, u->grad, k);
        offer(e, u, u->grad);
    }
    int keep = k < e->transpose || e->keep_after_linearize;
    cg_stream_drop_done(e->s, keep ? u->primal : NULL);
}

/* The entry points the passes will build, in the file's order (as
 * ir_unit_fns lists them), named as they name them. */
static CgPlanned *plan(const Program *prog, int *n, int **first)
{
    CgPlanned *fns = arena_alloc(prog->arena, sizeof *fns * (size_t)(4 * prog->units.n + 1));
    *first = arena_alloc(prog->arena, sizeof **first * (size_t)(prog->units.n + 1));
    *n = 0;
    for (int i = 0; i < prog->units.n; i++) {
        (*first)[i] = *n;
        const Unit *u = &prog->units.p[i];
        const FnKind kinds[] = {FN_PRIMAL, reverse_kind(u->primal), FN_JVP, FN_HVP};
        for (int k = 0; k < 4; k++)
            if (builds(u, kinds[k]))
                fns[(*n)++] = (CgPlanned){entry_name(prog->arena, u->primal, kinds[k]), kinds[k]};
    }
    (*first)[prog->units.n] = *n;
    return fns;
}

/* The functions the passes built are those planned. */
static void check_plan(const Program *prog, const CgPlanned *fns, int n)
{
    int k = 0;
    for (int i = 0; i < prog->units.n; i++) {
        Fn *fs[4];
        for (int m = 0, nf = ir_unit_fns(&prog->units.p[i], fs); m < nf; m++, k++)
            if (k >= n || strcmp(fns[k].name, fs[m]->name) || fns[k].kind != fs[m]->kind)
                BUG("pipeline: the C file planned other functions than the passes built");
    }
    if (k != n)
        BUG("pipeline: the C file planned other functions than the passes built");
}

/* A FILE.ir: the IR --emit=ir writes, read back (ir/irread.c). */
static int is_ir_path(const char *path)
{
    size_t n = strlen(path);
    return n > 3 && !strcmp(path + n - 3, ".ir");
}

/* The front end: a .dx text parsed, checked and lowered, or a .ir text
 * read back, whose units are final (*final = 1: no pass runs on them);
 * then --only.  Errors of a .ir's later checks point into the .dx lines
 * it carries.  Returns 0, or 1 after reporting. */
static int front_end(Arena *a, Diag *d, const Job *j, Program *prog, int *final)
{
    *final = is_ir_path(j->path);
    if (*final) {
        if (ir_read(a, d, j->src, prog) != 0)
            return 1;
        if (prog->src)
            d->src = prog->src;
    } else {
        AstFile file;
        Sema *s;
        long max_ops = j->max_ops > 0 ? j->max_ops : IR_MAX_OPS;
        Arena *tree = arena_new(); /* the syntax tree, freed once lowered */
        double t = dx_times_now();
        int bad = parse_file_in(a, tree, d, j->src, &file) != 0; /* parse */
        dx_times_add(j->times, "parse", NULL, t);
        t = dx_times_now();
        bad = bad || !(s = sema_check(a, d, &file)); /* check */
        dx_times_add(j->times, "check", NULL, t);
        t = dx_times_now();
        bad = bad || ir_lower_max(a, d, j->src, &file, s, max_ops, prog) != 0 || d->nerrors; /* lower */
        arena_free(tree);
#ifdef __GLIBC__
        /* The tree's blocks (small ones, from the heap) are free now but
         * stay resident, a fifth of the peak memory of a large program
         * (330 MB of 1.9 GB for 200 000 statements), since nothing later
         * allocates blocks of their size again: give their pages back. */
        malloc_trim(0);
#endif
        dx_times_add(j->times, "lower", NULL, t);
        if (bad)
            return 1;
    }
    if (j->only && keep_only(prog, j->only, j->path)) /* --only */
        return 1;
    return j->cg && j->cg->prefix && add_prefix(prog, j->cg->prefix); /* --prefix */
}

/* What drop_instructions needs: the caller's own `written`, told
 * first. */
typedef struct {
    const CgOpts *caller;
} Dropping;

/* cg_c's `written`: frees the instructions of prog's function f, which
 * nothing reads again (the largest part of the memory a compilation
 * holds while it writes the last function).  f is one of the program's
 * own functions, which the writers see as const: changed here, where no
 * writer reads it any more. */
static void drop_instructions(const Fn *f, void *arg)
{
    const Dropping *dr = arg;
    if (dr->caller && dr->caller->written)
        dr->caller->written(f, dr->caller->written_arg);
    Fn *g = (Fn *)f;
    arena_drop(g->arena, g->v.p, sizeof(Inst) * (size_t)g->v.cap);
    g->v.p = NULL;
    g->v.n = g->v.cap = 0;
}

int ir_pipeline(Arena *a, Diag *d, const Job *j)
{
    Program prog;
    int final;
    if (front_end(a, d, j, &prog, &final))
        return 1;
    if (final && j->stop >= 0) {
        diag_plain("--emit=ir=%s: '%s' holds final IR, on which no pass runs",
                   ir_passes[j->stop].name, j->path);
        return 1;
    }

    for (int i = 0; i < prog.units.n && !final; i++) {
        prog.units.p[i].small_tape = j->small_tape;
        /* a quarter of the stack budget for kept steps: f_hvp, which
         * records their tangents too, fits where f_grad does */
        prog.units.p[i].keep_bytes = j->cg ? j->cg->stack_budget / 4 : 0;
        ir_unit_sums(&prog.units.p[i], j->sum_lanes, j->cg ? j->cg->stack_budget : 0);
        /* --entries: the C file and the IR build only what they emit;
         * the learning views show f and its gradient whatever it says */
        if (j->cg && (j->emit == EMIT_C || j->emit == EMIT_IR || j->emit == EMIT_CHECK))
            prog.units.p[i].entries = j->cg->entries;
        /* the C file alone: no view, IR text or --stats shows a value
         * number, and --explain reads rule_src */
        prog.units.p[i].compact = j->emit == EMIT_C && j->stop < 0 && j->cg && !j->cg->explain &&
                                  !j->stats;
        /* each function checked once, as the code generator reads it:
         * a walk over it after every pass was a twentieth of the time */
        prog.units.p[i].verify_last = j->stop < 0;
        prog.units.p[i].times = j->times;
    }
    CgOpts co = j->cg ? *j->cg : (CgOpts){0};
    co.times = j->times; /* the writers' steps go in the job's record */
    /* the C file (and its header) but no --stats: written as the
     * functions become final */
    Early early = {NULL, &prog, &co, NULL, NULL, 0, ir_pass_find("opt-primal"), ir_pass_find("transpose"),
                   ir_pass_find("linearize-grad")};
    int nplanned = 0;
    CgPlanned *planned = NULL;
    int eager = !final && j->stop < 0 && j->cg && j->emit == EMIT_C && !j->stats;
    /* nothing reads a function once written (but --emit=check writes a
     * float model twice: the second time in double) */
    Dropping dropping = {j->cg};
    if (eager || (!j->header && !j->stats && j->emit != EMIT_CHECK)) {
        co.written = drop_instructions;
        co.written_arg = &dropping;
    }
    /* each function's last check made by its writer, off the passes'
     * path (verify_final) */
    for (int i = 0; i < prog.units.n; i++)
        prog.units.p[i].verify_writer = eager;
    if (eager) {
        planned = plan(&prog, &nplanned, &early.first);
        early.planned = planned;
        early.s = cg_stream_start(&prog, &co, planned, nplanned, 1, j->header != NULL);
    }

    /* ir_passes, one unit at a time; --emit=ir=PASS stops after PASS */
    for (int i = 0; i < prog.units.n && !final; i++) {
        Polled polled = {&early, &prog.units.p[i]};
        if (early.s) {
            prog.units.p[i].poll = drop_written;
            prog.units.p[i].poll_arg = &polled;
        }
        run_passes(&prog.units.p[i], j->stop >= 0 ? j->stop : ir_npasses - 1,
                   early.s ? &early : NULL);
        prog.units.p[i].poll = NULL;
        prog.units.p[i].poll_arg = NULL;
        if (j->stop < 0 && j->cg && checkpoint(&prog, &prog.units.p[i], j, d)) {
            if (early.s)
                cg_stream_abort(early.s);
            return 1;
        }
    }
    if (early.s) {
        check_plan(&prog, planned, nplanned);
        cg_stream_drop_done(early.s, NULL);
        if (cg_check(&prog, j->cg, d)) {
            cg_stream_abort(early.s);
            return 1;
        }
        for (int i = 0, at = 0; i < prog.units.n; i++) { /* the rest */
            Fn *fs[4];
            for (int k = 0, n = ir_unit_fns(&prog.units.p[i], fs); k < n; k++, at++)
                if (!cg_stream_given(early.s, at))
                    cg_stream_give(early.s, at, fs[k]);
        }
        cg_stream_finish(early.s, j->out, j->header);
        return 0;
    }
    if (j->stop >= 0) {
        cg_ir(&prog, NULL, j->out);
        return 0;
    }

    /* codegen: the stack budget, then the output */
    int c_file = j->emit == EMIT_C || j->emit == EMIT_CHECK;
    if ((c_file || j->header) && cg_check(&prog, j->cg, d))
        return 1;
    if (j->emit == EMIT_CHECK && cg_check_program_limits(&prog, d))
        return 1;
    switch (j->emit) {
    case EMIT_C: cg_c(&prog, &co, j->out); break;
    case EMIT_CHECK: cg_check_program(&prog, &co, j->out); break;
    case EMIT_IR: cg_ir(&prog, j->cg, j->out); break;
    default:
        if (cg_views(&prog, j))
            return 1;
        break;
    }
    if (j->header)
        cg_header(&prog, j->cg, j->header);
    if (j->stats)
        cg_stats(&prog, j->cg, j->stats);
    return 0;
}
