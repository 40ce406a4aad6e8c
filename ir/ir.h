/*
 * ir.h - the dx intermediate representation and every pass over it.
 *
 * A reader learns the compiler's architecture from this file:
 *
 *   .dx --parse_file--> AST --ir_lower--> primal Fn (SSA)
 *       --ad_linearize--> tangent Fn (f_jvp)
 *       --ad_transpose--> adjoint Fn (f_grad / f_vjp)
 *       --opt_join--> a sum's backward loop inside its forward loop
 *       --ad_linearize of the adjoint--> f_hvp
 *   each followed by opt_fold, opt_cse, opt_dce, then codegen/;
 *   pipeline.c runs every pass in order (ir_pipeline, ir_passes).
 *
 * The IR is structured SSA, in the style of MLIR's scf dialect and JAX's
 * jaxprs: a function is a region, a region is a list of instructions, and
 * control flow is an instruction that owns regions.  An `if` owns a then-
 * and an else-region; each region ends by yielding values, and the IF's
 * RESULT instructions (placed right after it) are the phi nodes.
 *
 * Arrays.  Every value has a static shape (Type).  Array operations are
 * never unrolled: they are operations over index spaces that own a body
 * region computing one element, as in Halide or Dex:
 *
 *   GEN   ty = the index space [d0, d1, ...]; its region starts with one
 *         IVAR per dimension (IVAR.n = 0, 1, ...; each runs 0..d-1) and
 *         yields m scalars; the m RESULTs after the GEN are arrays of
 *         shape ty (result k holds yield k at every index).  Elementwise
 *         arithmetic, comprehensions, @, transpose, outer and sub-array
 *         views X[t] all become GENs.
 *   RED   a reduction (red: RK_SUM, RK_PROD, RK_MAX, RK_MIN) over one IVAR
 *         running from ix[0] to ix[1] - 1, affine bounds in the IVARs of
 *         enclosing loops (triangular sums); yields m scalars, each
 *         reduced, giving m scalar RESULTs.
 *   IDX   element arg0[ix[0], ..., ix[nix-1]] with nix == rank; indices
 *         are affine (Aff) in the enclosing IVARs, maybe with non-affine
 *         terms (products, // and %: aff.c).
 *   IREAL an affine index expression used as a real value (t * dt).
 *   LIT   an array literal: its nix elements are list[0..nix), row-major.
 *
 * The reverse sweep adds effects: ZEROS makes a zeroed mutable buffer (an
 * adjoint array, a tape, or a rank-0 accumulator cell), ACC adds a value
 * into one element of it (IF_STORE: stores instead, when every element is
 * written exactly once), and LOOP runs a region over an index space for
 * its ACCs only.  A buffer is read (IDX, or as a whole array) only after
 * every ACC into it; passes keep ACCs in order and never remove them
 * while their buffer is read.  Adjoints: an IDX transposes to an ACC (a
 * scatter-add), a GEN to a LOOP over the same space, a reduction to a
 * broadcast of its adjoint into such a loop, and so a matmul to the
 * transposed products.  Index variables and affine expressions are not
 * values of the computation: an IVAR has type TY_INDEX and appears only
 * in Affs.
 *
 * Loops.  `for i in a..b { body }` is a FOR: it runs its region reg[0]
 * for i = ix[0] .. ix[1] - 1 (constants; backwards with IF_BACKWARDS).  The
 * region starts with the loop's IVAR, then one CARRY per carried variable
 * (CARRY.n = j, its type the variable's, scalar or array): the value at
 * the start of the iteration.  The FOR's list[0..nix) holds the initial
 * values; the region yields the nix values at the end of an iteration;
 * the nix RESULTs after the FOR are the values after the last iteration
 * (the initial ones if it runs no iteration).  Variables first assigned
 * in the body are local to it.  Reverse mode records what its reverse
 * loop needs in tapes: ZEROS buffers (ROLE_TAPE, IF_NOINIT) with one row per iteration,
 * written by ACC stores at [i - a, ...] inside the forward loop and read
 * by IDX in the reverse loop, a FOR with IF_BACKWARDS whose carried values are
 * the adjoints of the forward loop's.  Besides carried values (row i - a:
 * the value iteration i starts from), such tapes hold the results of the
 * body's reductions and matvec GENs (row i - a: their values in iteration
 * i); a carried value whose next value is such a result has one tape of
 * b - a + 1 rows for both, its initial value in row 0.  A carried array
 * that the body changes only by one store and reads only by elements has
 * instead a tape of the elements (rows) the store overwrites, and the
 * reverse loop rebuilds the array in a buffer (ad.c's carry_store).  A sum RED with
 * constant bounds records the loops of its body the same way.
 *
 * Values are indices (Ref) into the function's instruction array, as in
 * QBE: cloning, printing, comparing and reversing are loops over ints.
 * The IR has an exact text form (irprint.c writes it, `dxc --emit=ir`;
 * irread.c reads it back, `dxc f.ir`; docs/ir.md), in which tests state
 * a pass's input and expected output (tests/ir/).
 *
 * Visibility: an instruction may use any value defined earlier in an
 * enclosing region, and, in addition, a value defined inside a region of
 * an earlier IF from a region of a later IF on the *same* condition and
 * the same side.  The reverse sweep uses this: the adjoint of a branch
 * reads the values its forward branch computed, as Tapenade's adjoint
 * code does.  The C generator declares such values at function scope.
 * A loop body's values are never visible after it: ir_verify checks.
 */
#ifndef IR_H
#define IR_H

#include <stdatomic.h>
#include <stdio.h>

#include "../common/dx.h"
#include "../parser/ast.h"

typedef enum {
#define OP(name, nargs, kind, cname, prec, lhs, rhs, rule) OP_##name,
#include "ops.def"
#undef OP
    OP_COUNT
} Op;

typedef enum { K_CTL, K_ARITH, K_MATH, K_BOOL } OpKind;

/* C's precedence levels, loosest first: P_ANY is any expression (inside
 * parentheses), P_PRIMARY a name, a call or an element. */
typedef enum {
    P_ANY, P_COND, P_OR, P_AND, P_EQ, P_REL, P_ADD, P_MUL, P_UNARY, P_PRIMARY
} CPrec;

typedef struct {
    const char *name;  /* lower-case, for the printer */
    int nargs;
    OpKind kind;
    const char *cname;
    CPrec prec;        /* of the C expression the op is written as */
    CPrec lhs, rhs;    /* the least its first and last operands take unparenthesised */
} OpInfo;
extern const OpInfo op_info[OP_COUNT];

enum { DX_MAXRANK = 8 };
typedef enum { TY_REAL, TY_BOOL, TY_INDEX, TY_NONE } TypeKind;
/* A static type: its kind, and for an array its rank and shape (rank 0
 * is a scalar).  The dimensions live in a table of the shapes met
 * (shapes.c): `shape` is its number there, 0 for a scalar's.  ty_array
 * makes an array type, ty_dim and ty_dims read its dimensions. */
enum { TY_SHAPE_BITS = 26 };
typedef struct {
    unsigned kind : 2, rank : 4, shape : TY_SHAPE_BITS;
} Type;
_Static_assert(DX_MAXRANK < 16, "Type.rank has 4 bits");

typedef int Ref;   /* index into Fn.v; NOREF for none */
enum { NOREF = -1 };

typedef struct Region Region;

/* An affine integer expression c + a[0]*iv[0] + ... + a[n-1]*iv[n-1] of
 * index variables (IVAR instructions).  Arena-allocated, never shared
 * between instructions that a pass rewrites independently.
 *
 * A polynomial index (i * (i - 1) // 2 + j, (i + 1) % N) adds nq > 0
 * non-affine terms q[k].b * (q[k].x OP q[k].y), whose operands are Affs
 * again (aff.c explains the design).  Every Aff of a program without
 * such an index has nq == 0, and code that sees only those is unchanged. */
typedef struct AffQ AffQ;
typedef struct {
    int32_t c;
    int n;
    Ref *iv;
    int32_t *a;
    int nq;
    AffQ *q;
} Aff;
typedef enum { AQ_MUL, AQ_DIV, AQ_MOD } AffQOp; /* *, // (floor), % */
struct AffQ {
    int op;    /* AffQOp */
    int32_t b; /* its coefficient */
    Aff x, y;  /* the operands: for // and %, x >= 0 and y > 0 wherever it runs */
};

typedef enum { RK_SUM, RK_PROD, RK_MAX, RK_MIN } RedKind;

/* What an instruction is in the derivative program (Inst.role).  The
 * AD passes set it when they emit the instruction; copies keep it.
 *
 *   ROLE_PRIMAL   the computation itself: the primal program, its copy in
 *                 every derivative, the partials a rule builds from primal
 *                 values, the forward recomputation inside a reverse loop
 *                 and the writes and reads of tape rows.
 *   ROLE_TANGENT  linear in the input tangents: what
 *                 ad_linearize emits for the tangents, in f_jvp and f_hvp.
 *                 In f_hvp, the tangent of a value of f_grad's reverse
 *                 sweep also has IF_REV, and that of a tape IF_TAPE.
 *   ROLE_ADJOINT  the reverse sweep: what
 *                 ad_transpose emits for the cotangents (their zeroed
 *                 buffers, the transposed instructions, the accumulations,
 *                 the reverse loops and ifs), and its copy in f_hvp (the
 *                 primal program of f_hvp, still the adjoint of f's).
 *   ROLE_TAPE     a tape: a for loop's ZEROS buffer of rows
 *                 and a GEN's RESULT that records an element value, both
 *                 written by the forward sweep and read by the reverse
 *                 one.  Its name is the recorded value's ("x"); the C
 *                 generator spells it x_tape.
 *
 * So f_jvp holds PRIMAL and TANGENT; f_grad and f_vjp PRIMAL, TAPE and
 * ADJOINT; f_hvp all four.  Two exceptions keep --stats and the C as
 * they were before roles existed: f_hvp's copy of a
 * structured instruction of f_grad's reverse sweep is PRIMAL where
 * ad_linearize builds it anew (an IF, a GEN/RED/LOOP head, a RESULT: only
 * a FOR keeps ADJOINT), and its copy of an element tape's RESULT is no
 * tape (it is named x_tape instead: see ad_result).
 *
 * Inst.flags: IF_ACC an ADD accumulating an adjoint (a SUB after
 * opt_signs); IF_BACKWARDS
 * a LOOP or FOR that runs backwards, IF_STORE an ACC that stores instead
 * of adding, IF_NOINIT a ZEROS that needs no zeroing;
 * IF_REV and IF_TAPE beside ROLE_TANGENT, as above; IF_SETELEM a GEN that
 * is an element or row store (lower_store.c): its one yield is
 * SELECT(k == i, e, x[k]), so its derivatives are stores too (ad_linearize
 * stores the tangent, ad_transpose reads and zeroes the stored adjoint)
 * and the C generator writes only the stored element when it can;
 * IF_CKPT an outer FOR that checkpointing added around a long loop
 * (ckpt.c): its iterations are segments of the loop; IF_SUB an ACC that
 * subtracts (arg0[ix] -= arg1: opt_signs took a negation into it). */
typedef enum { ROLE_PRIMAL, ROLE_TANGENT, ROLE_ADJOINT, ROLE_TAPE } Role;
enum {
    IF_ACC = 1 << 0,
    IF_BACKWARDS = 1 << 1,
    IF_STORE = 1 << 2,
    IF_NOINIT = 1 << 3,
    IF_REV = 1 << 4,
    IF_TAPE = 1 << 5,
    IF_SETELEM = 1 << 6,
    IF_CKPT = 1 << 7,
    IF_SUB = 1 << 8,
};

/* What only branches, loops, indexed operations and constants hold,
 * beside their instruction (Inst.x): CONST, IF, GEN, RED, LOOP, FOR, IDX,
 * ACC, LIT and IREAL each own one (ir_ext_new); every other operation
 * points to ir_no_ext, whose fields read as none (a num of 0) and which
 * no one may write.  No two instructions share a record. */
typedef struct {
    Region *reg[2];   /* IF: then, else; GEN/RED/LOOP/FOR: reg[0] the body */
    Aff *ix;          /* IDX/ACC: nix indices; RED, FOR: lo, hi; LOOP: nix
                         los then nix his; IREAL: ix[0] */
    Ref *list;        /* LIT: the nix elements; FOR: the initial values */
    double num;       /* CONST: the value */
} InstExt;
extern const InstExt ir_no_ext;
/* The record of a new instruction of op (ir_add, the IR reader, a fold
 * into a constant): a fresh one from a where op owns one, else
 * ir_no_ext. */
InstExt *ir_ext_new(Arena *a, int op);

typedef struct {
    /* One cache line: a large function's array is far larger than the
     * cache, and every pass walks it, so an instruction holds what most
     * passes read (the op, its operands, its place, its names, the kind
     * and rank of its type) and reaches what only some ops have through
     * x.  At 96 bytes, with those in the instruction, the walks read a
     * line and a half per instruction and the kernel zeroed half as much
     * again for every array. */
    uint8_t op;
    uint8_t role;     /* Role */
    uint16_t flags;   /* IF_* */
    Ref arg[3];
    int32_t n;        /* PARAM: input index; RESULT: which result; IVAR:
                         which dimension; CARRY: which carried value; POWI:
                         the exponent */
    int nix;          /* IDX/ACC: indices; LOOP: dimensions; LIT: elements;
                         FOR: carried values */
    InstExt *x;       /* its regions, indices, list, or its value */
    Region *parent;   /* the region that holds it */
    /* The derivative rule that made it (ops.def RULE, rules.c; the
     * structural ones of ad_linearize and ad_transpose for IDX, LIT, ACC,
     * ZEROS and the loops): the op whose rule it is, and the operand the
     * partial is with respect to, or -1 for an instruction of the rule
     * tied to no one operand (the sum of the terms).  A transposed
     * instruction inherits the facts of the tangent one it transposes.
     * rule_op 0 (CONST, which has no rule) and rule_arg -1: made by no
     * rule (copies of primal code, accumulations, zeros, tapes).
     * rule_src: the primal instruction of this Fn whose rule it is (the
     * copy of the one rule_op names), set by the AD passes and kept
     * through copies; NOREF when unknown or made by no rule.  --explain
     * reads it; nothing else does, so it never changes the code. */
    Ref rule_src;
    int line;         /* source line it comes from (0: none) */
    const char *name; /* source name ("p", "p_bar"), or NULL */
    uint16_t rule_op;
    int8_t rule_arg;
    uint8_t red;      /* RED: its RedKind */
    Type ty;
} Inst;
_Static_assert(sizeof(void *) != 8 || sizeof(Inst) == 64, "Inst: 64 bytes, one cache line");

struct Region {
    VEC(Ref) ids;     /* instructions, in order */
    VEC(Ref) yield;   /* values the region ends with */
    Ref owner;        /* the IF/GEN/RED/LOOP that owns it, NOREF for a body */
    int side;         /* IF: 0 then, 1 else */
};

/* What an entry point receives and writes (ir.h, shared with codegen). */
typedef enum {
    IN_PARAM,   /* a primal parameter (maybe data) */
    IN_TANGENT, /* x_dot */
    IN_SEED,    /* out_bar */
} InRole;
typedef struct {
    const char *name;
    Type ty;
    InRole role;
    int is_data;
    int of;        /* IN_TANGENT: the index of its parameter */
} Input;

typedef enum {
    OUT_RETURN, /* the C return value (a scalar) */
    OUT_ARRAY,  /* out, out_dot: an array the caller provides */
    OUT_BAR,    /* x_bar, hv: shaped like parameter `of` */
} OutRole;
typedef struct {
    const char *name;
    Type ty;
    OutRole role;
    int of;
    Ref ref;       /* the body yields it */
} Output;

typedef enum { FN_PRIMAL, FN_JVP, FN_GRAD, FN_VJP, FN_HVP } FnKind;

/* dxc --entries: which entry points a compilation emits, one bit each
 * (ENTRY_GRAD names f_grad and f_vjp); 0 means all of them. */
enum { ENTRY_F = 1, ENTRY_GRAD = 2, ENTRY_JVP = 4, ENTRY_HVP = 8, ENTRY_ALL = 15 };
/* The bit of entries a function of kind k is emitted under. */
int ir_entry_bit(FnKind k);

typedef struct Fn {
    const char *name;       /* C name: f, f_grad, ... */
    const char *src_name;   /* the .dx function */
    FnKind kind;
    int line, col;          /* where the .dx function's name is (0: unknown) */
    VEC(Inst) v;
    Region *body;
    VEC(Input) in;
    VEC(Output) out;
    Arena *arena;
    const Source *src;      /* for the line comments of the generated code */
    int final;              /* made final before the last pass (the pipeline
                               writes the C as it goes): no pass changes,
                               verifies or compacts it any more */
    int fits;               /* its local arrays were found to fit the stack
                               budget then (cg_check need not look again) */
    int verify_pending;     /* its last ir_verify is left to the C file's
                               writer, which runs it before it writes f
                               (Unit.verify_writer) */
    int has_red;            /* a RED was made in it (ir_add, the IR
                               reader): lanes and hoist look for sums only
                               then, not in a straight-line function */
} Fn;

/* A compiled file: for each .dx function, its entry points. */
typedef struct {
    Fn *primal, *jvp, *grad, *hvp; /* grad is f_vjp for array results */
    Type ret;
    int small_tape; /* dxc --tape=small: loops record only their carried
                       values, and the reverse loop recomputes the rest */
    long long keep_bytes; /* without small_tape: the bytes of rows one for
                       loop may record to keep an elementwise step that
                       calls exp, tanh, ... instead of recomputing it (a
                       share of the stack budget; 0: recompute them) */
    Fn *ckpt_jvp;   /* f_jvp with its long loops nested (ckpt.c), which
                       transpose reads instead of jvp; NULL: none */
    int entries;    /* the entry points wanted (ENTRY_*; 0: all): the
                       passes build only what they need */
    int compact;    /* nothing will print a value number or read
                       rule_src: each pass's function is compacted
                       after it (ir_compact), for the passes after it and
                       the C generator */
    int verify_last; /* ir_verify a function only after the last pass
                       that changes it (dxc), not after every pass (the
                       tests and the differential tester, through
                       ad_unit: a pass that breaks the IR is named) */
    int verify_writer; /* with verify_last, that last check is the C
                       file's writer's (Fn.verify_pending), off the
                       passes' path: the pipeline's eager C file */
    void (*poll)(void *); /* called now and then by linearize-grad, the
                       pass that makes the most memory: the pipeline
                       frees there the functions the C file's writers are
                       done with (NULL: none) */
    void *poll_arg;
    int lanes_min;  /* lanes: the least terms of a sum whose tangent
                       takes two lanes (opt_lanes; 0: none) */
    long long hoist_bytes; /* hoist: the most bytes of one table of a
                       tangent sum's part that a loop does not change
                       (opt_hoist; 0: none), and the stack budget all
                       of a function's arrays and tables fit in */
    long long hoist_budget;
    DxTimes *times; /* --time-report: each pass recorded (NULL: none) */
} Unit;

typedef struct {
    VEC(Unit) units;
    const Source *src;
    Arena *arena;
} Program;

/* ---- ir.c: building, querying, verifying ---- */
Fn *ir_fn_new(Arena *a, const char *name, FnKind kind);
Region *ir_region_new(Fn *f, Ref owner, int side);
/* Room for n instructions in f without moving them: a pass that knows
 * about how large the function it builds will be reserves that, so its
 * array is not copied at every doubling (a large reservation costs address
 * space, not memory, until it is used; the pipeline gives back what is
 * left unused when the pass ends). */
void ir_reserve(Fn *f, int n);
/* Builders.  An IrAt says where an instruction goes (appended to region r
 * of f) and what it is (line, role, flags, rule: see Inst); each builder
 * sets every fact at emission and returns the new instruction.  IrAt is a
 * value: a caller passes a changed copy (IrAt in = at; in.r = body)
 * instead of moving a cursor and restoring it.  A zero rule_op means no
 * rule (rule_arg then becomes -1, rule_src NOREF). */
typedef struct {
    Fn *f;
    Region *r;
    int line;
    uint8_t role;
    uint16_t flags;
    uint16_t rule_op;
    int8_t rule_arg;
    Ref rule_src;
} IrAt;
/* primal, no line, no rule (inline, as the next four: each is asked
 * of most instructions of a pass) */
static inline IrAt ir_at(Fn *f, Region *r)
{
    IrAt at = {0};
    at.f = f;
    at.r = r;
    at.rule_arg = -1;
    at.rule_src = NOREF;
    return at;
}
IrAt ir_at_of(Fn *f, Region *r, const Inst *in); /* in's line, role, flags, rule */
Ref ir_add(IrAt at, Op op, Type ty, Ref a, Ref b, Ref c);
Ref ir_op(IrAt at, Op op, Ref a, Ref b, Ref c); /* scalar (bool for K_BOOL) */
Ref ir_num(IrAt at, double v);                  /* CONST v */
Ref ir_powi(IrAt at, Ref a, int n);             /* a ^ n */
Ref ir_idx(IrAt at, Ref arr, Aff *ix, int nix); /* arr[ix...] */
Ref ir_acc(IrAt at, Ref buf, Aff *ix, int nix, Ref v); /* buf[ix...] += v */
Ref ir_result(IrAt at, Type ty, Ref owner, int n);     /* RESULT n of owner */
/* A loop-like instruction (see ir_loop_new) with at's facts; its IVARs
 * are primal.  RED: kind; for the others kind is 0. */
Ref ir_loop(IrAt at, Op op, Type ty, int nivars, RedKind kind);
/* A FOR (see ir_for_new) with at's facts; its IVAR is primal, its CARRYs
 * get crole[j] (NULL: all primal), named like their initial values. */
Ref ir_for(IrAt at, int32_t lo, int32_t hi, int nix, const Ref *init, const uint8_t *crole);
/* A copy of in (of any Fn) appended at `at`: op, type, red, n, num,
 * name and index data from in; line, role, flags and rule from at.  Its
 * operands and list go through map (old Ref -> new Ref; an entry NOREF:
 * unchanged), its indices too (map must hold their IVARs); map NULL
 * copies all of them unchanged.  A GEN, RED or LOOP gets a new empty body
 * with its IVARs (the caller maps in's to them); an IF gets none. */
Ref ir_copy_at(IrAt at, const Inst *in, const Ref *map);
/* The copy that keeps every fact of in: ir_copy_at(ir_at_of(g, dst, in)),
 * its rule_src through map (when map is given: another Fn's). */
Ref ir_copy_inst(Fn *g, Region *dst, const Inst *in, const Ref *map);
/* Instruction x, which owns no InstExt, moved to the end of dst as
 * op(a, b), an operation that owns none either: its Ref, name, role and
 * line stay, so every reader of x reads the new value. */
void ir_become(Fn *f, Region *dst, Ref x, Op op, Ref a, Ref b);
/* The instructions of src (built in a scratch region) moved into r at
 * position at, before what was there; their parent becomes r. */
void ir_splice(Fn *f, Region *r, int at, const Region *src);
/* The old shapes, for code that builds primal IR: primal, no line. */
Ref ir_emit(Fn *f, Region *r, Op op, Type ty, Ref a, Ref b, Ref c);
Ref ir_const(Fn *f, Region *r, double k);
Ref ir_param(Fn *f, Region *r, int index);
/* Is in part of the reverse sweep (ROLE_ADJOINT, or a tangent of it)?
 * Is it a tape (ROLE_TAPE, or a tangent of one)? */
static inline int ir_is_rev(const Inst *in)
{
    return in->role == ROLE_ADJOINT || (in->flags & IF_REV);
}
static inline int ir_is_tape(const Inst *in)
{
    return in->role == ROLE_TAPE || (in->flags & IF_TAPE);
}
/* A one-dimensional LOOP of the reverse sweep running forwards: the
 * backward loop of a sum or comprehension, which the one-pass and
 * interchange passes (onepass.c, interchange.c) rearrange. */
static inline int ir_is_rev_loop(const Inst *in)
{
    return in->op == OP_LOOP && in->nix == 1 && !(in->flags & IF_BACKWARDS) && ir_is_rev(in);
}
/* Does in accumulate an adjoint, x_bar + t (or x_bar - t once opt_signs
 * took a negation of t into it)? */
static inline int ir_is_acc(const Inst *in)
{
    return (in->op == OP_ADD || in->op == OP_SUB) && (in->flags & IF_ACC);
}
/* Asks the processor for the cache line at p before it is read.  A walk
 * over a region reads its instructions in order, but for each one data
 * that lies elsewhere (its operands' instructions, a slot of a hash
 * table): in a large function far from the cache, a miss each, which a
 * walk overlaps with its work by asking for them some instructions ahead
 * (IR_AHEAD).  A hint: what is computed does not change.  The signal
 * fence makes no code; without it GCC 12's back end drops a prefetch
 * made under a branch. */
enum { IR_AHEAD = 8 };
static inline void ir_prefetch(const void *p)
{
#if defined(__GNUC__)
    __builtin_prefetch(p);
    atomic_signal_fence(memory_order_seq_cst);
#else
    (void)p;
#endif
}
/* The instructions of in's operands (f's). */
static inline void ir_prefetch_args(const Fn *f, const Inst *in)
{
    for (int k = 0; k < op_info[in->op].nargs; k++)
        if (in->arg[k] != NOREF)
            ir_prefetch(&f->v.p[in->arg[k]]);
}
/* The source name of in as the generated code and the views spell it: a
 * tape's is its value's with "_tape" (x_tape); NULL if it has none. */
const char *ir_shown_name(Arena *a, const Inst *in);
Type ty_scalar(void);
Type ty_bool(void);
Type ty_index(void);
Type ty_none(void);
Type ty_array(int rank, const int32_t *dim);
/* Affine expressions (aff.c) */
Aff aff_const(Arena *a, int32_t c);
Aff aff_var(Arena *a, Ref iv);                 /* 1 * iv */
Aff aff_copy(Arena *a, Aff x);
/* x with every iv replaced by map[iv] (map: old Ref -> new Ref). */
Aff aff_remap(Arena *a, Aff x, const Ref *map);
/* x with the index variable iv replaced by the affine form by (no
 * non-affine terms), in its terms' operands too. */
Aff aff_subst(Arena *a, Aff x, Ref iv, Aff by);
int aff_eq(Aff x, Aff y);
int aff_is_const(Aff x);                     /* no index variable, no term */
/* Non-affine terms (aff.c): does x (or an operand of its terms) use iv;
 * x's value given every IVAR's value (val(ctx, iv)), 0 when an operand
 * or a product of a term leaves 32 bits, the sum 64 bits, or an operand
 * of // or % is negative (the divisor not positive); the text of a
 * term's operator. */
int aff_uses(Aff x, Ref iv);
int aff_value(Aff x, long long (*val)(void *ctx, Ref iv), void *ctx, long long *out);
/* An interval [*lo, *hi] that holds x wherever each index variable iv in
 * it lies in the interval range(ctx, iv, ...) gives; 0 when one cannot
 * be had (range said no, or a bound overflows). */
int aff_interval(Aff x, int (*range)(void *ctx, Ref iv, long long *lo, long long *hi), void *ctx,
                 long long *lo, long long *hi);
const char *aff_q_op(int op);
/* The n terms q copied (IVARs through map when it is not NULL), and
 * whether two term lists are equal: aff_copy, aff_remap, aff_eq. */
AffQ *aff_q_copy(Arena *a, const AffQ *q, int n, const Ref *map);
int aff_q_eq(const AffQ *p, const AffQ *q, int n);
/* x in dx's own syntax ("i*(i - 1)//2 + j"), each IVAR as name(ctx, iv):
 * the views and the source-like comments show a non-affine index so. */
typedef const char *(*AffName)(const void *ctx, Ref iv);
const char *aff_src_text(Arena *a, Aff x, AffName name, const void *ctx);
/* Loop-like instructions own reg[0], which starts with their IVARs:
 * GEN: rank of ty; RED: 1; LOOP: nix.  ir_loop_new builds the
 * instruction, its region and its IVARs (IVAR.n = 0, 1, ...). */
Ref ir_loop_new(Fn *f, Region *r, Op op, Type ty, int nivars);
Ref ir_ivar(const Fn *f, Ref loop, int k);     /* its k-th IVAR */
int ir_nivars(const Fn *f, Ref loop);
static inline int ir_is_loop(const Inst *in) /* GEN, RED or LOOP (not FOR) */
{
    return in->op == OP_GEN || in->op == OP_RED || in->op == OP_LOOP;
}
/* Whether in owns regions (reg[]: an IF, FOR, GEN, RED or LOOP).  A walk
 * asks this before it reads reg, which lies past the first 64 bytes of an
 * instruction (a second cache line each, in a large function). */
static inline int ir_has_regions(const Inst *in)
{
    return in->op == OP_IF || in->op == OP_FOR || in->op == OP_GEN || in->op == OP_RED ||
           in->op == OP_LOOP;
}
/* A call of a transcendental function (exp, log, tanh, ...; not abs,
 * relu, min, max, an integer power or the zero-safe products), which
 * costs tens of additions: worth keeping rather than computing again. */
int ir_costly_op(Op op);
/* A FOR in r with nix carried values initialised from init[] over lo..hi:
 * its region holds its IVAR and nix CARRYs (types from init). */
Ref ir_for_new(Fn *f, Region *r, int32_t lo, int32_t hi, int nix, const Ref *init);
Ref ir_carry(const Fn *f, Ref loop, int j);     /* FOR's j-th CARRY */
/* Whether IF fi of FOR id's body stops a while loop (ir/lower_loop.c): it
 * runs on `carry k != 0` (maybe `and` more), and its else branch keeps
 * every carried value and sets carry k to 0, so once the flag is 0 no
 * iteration changes a value.  Returns k, or -1.  The interpreter and the
 * C generator leave such a loop early where nothing else has effects. */
int ir_stop_if(const Fn *f, Ref id, Ref fi);
/* The flag carry k of FOR id when, stopped, the loop would stay stopped
 * with the flag read as 1: a while loop (ir_stop_if, with a condition)
 * whose flag only the stop clears (no break), read only by the stop IF,
 * and whose condition depends on nothing that changes from one
 * iteration to the next but the carried values.  After the stop those
 * pass through unchanged, so the condition stays false: a reverse loop
 * may take the flag as 1 rather than read it from a tape (ad.c).
 * Returns k, or -1. */
int ir_while_flag(const Fn *f, Ref id);
/* The same for a checkpointing FOR id (IF_CKPT, ckpt.c): the k of its
 * carry that is the flag of the loop nested in it (through any levels),
 * passed in and out unchanged with the other carried values, so that
 * once it is 0 no iteration of id changes a value; -1 if none. */
int ir_stop_carry(const Fn *f, Ref id);
int ir_naffs(const Inst *in);                  /* how many Affs in->x->ix holds */
int ty_eq(Type a, Type b);
long long ty_size(Type t);                 /* number of elements */
/* t's DX_MAXRANK dimensions, zero past its rank (shapes.c; they never
 * move, so the pointer stays good). */
const int32_t *ty_dims(Type t);
static inline int32_t ty_dim(Type t, int d) { return ty_dims(t)[d]; }
static inline Inst *ir_inst(Fn *f, Ref r) { return &f->v.p[r]; }
static inline int ir_is_const(Fn *f, Ref r, double k) /* r is CONST k */
{
    return r != NOREF && f->v.p[r].op == OP_CONST && f->v.p[r].x->num == k;
}
/* Whether in is a real constant that an index value may equal (an
 * integer, |v| < 1e9), *v that integer: a comparison of index values
 * reads it as one (the folder, the C generator's k == 1). */
int ir_index_const(const Inst *in, int32_t *v);
/* How many RESULTs follow the IF at position `at` of region r (they are
 * r->ids.p[at + 1] onwards). */
int ir_nresults(const Fn *f, const Region *r, int at);
/* The position of instruction id in region r (a BUG if it is not there). */
int ir_index_in(const Region *r, Ref id);
/* A list of instructions (a VEC of Ref with a name, so that files can
 * pass one to another). */
typedef VEC(Ref) IrRefs;
/* Appends to out the ACCs of region r and of the regions inside it, in
 * order. */
void ir_accs(Fn *f, const Region *r, IrRefs *out);
/* The entry points of u that exist, in the order the C file holds them
 * (f, f_grad or f_vjp, f_jvp, f_hvp), into fs; returns how many. */
/* Checkpointing (ckpt.c): every FOR of f on source line `line` run as
 * `levels` nested loops (the function and its derivatives unchanged in
 * value); how many FORs it split.  The most levels that can help a FOR
 * of that line (log2 of its trip count). */
int ckpt_split(Fn *f, int line, int levels);
int ckpt_max_levels(const Fn *f, int line);
int ir_unit_fns(const Unit *u, Fn *fs[4]);
/* Checks SSA order, operand kinds and region structure; BUG() on failure. */
void ir_verify(Fn *f);
/* The same, changing nothing f owns (its scratch in an arena of its
 * own): for a thread beside others that read f or allocate in its
 * arena. */
void ir_verify_alone(const Fn *f);
/* Drops the instructions no region holds (what dead-code removal took
 * out) and numbers the rest 0, 1, ... in their old order, every Ref of f
 * renumbered; a rule_src of a dropped instruction becomes NOREF.  Does
 * nothing when under a 32nd of them would go.  Only where no value
 * number is printed (--emit=ir shows them) and --explain, which reads
 * rule_src, is off. */
void ir_compact(Fn *f);

/* ---- irprint.c, irread.c: the IR as text (docs/ir.md), exact both ways ---- */
/* One function: its header, inputs, outputs and body. */
void ir_print(const Fn *f, FILE *out);
/* What `dxc --emit=ir` writes: the source lines the functions come from,
 * then every unit and its entry points. */
void ir_print_program(const Program *p, FILE *out);
/* Reads the text of ir_print_program from src into *out, every function
 * final (no pass runs on it).  Malformed or inconsistent text is a user
 * error at its place in src (through d); returns 0 on success, nonzero
 * after an error.  out->src and every Fn's src are the source lines the
 * text carries, under the path it names (NULL when it carries none). */
int ir_read(Arena *a, Diag *d, const Source *src, Program *out);
const char *ir_op_name(Op op);     /* "mul": the printer's name of op */
int ir_is_word(const char *s);     /* [A-Za-z_][A-Za-z0-9_]*: printed bare */
/* The words of the text form for Inst.role and the Inst.flags bits. */
extern const char *const ir_role_words[4];
typedef struct {
    uint16_t flag;
    const char *word;
} IrFlagWord;
enum { IR_NFLAG_WORDS = 9 };
extern const IrFlagWord ir_flag_words[IR_NFLAG_WORDS];

/* ---- eval.c: the value of a scalar op (interpreter and folder) ---- */
double ir_eval_scalar(Op op, const double *x, double k);
/* The value of rules.c's partial d in / d operand k at operand values x
 * and result y (0 where the rule has none). */
double ir_partial_value(const Inst *in, const double *x, double y, int k);
/* Stable forms used here and emitted as C helpers by codegen. */
double ir_sigmoid(double x);
double ir_dsigmoid(double x);
double ir_softplus(double x);

/* ---- polygamma.c: psi^(n)(x), n = 0 (digamma), 1 (trigamma), 2 ---- */
enum { IR_PSI_TERMS = 8 };  /* terms of the asymptotic series */
#define IR_PSI_SHIFT 10.0   /* the recurrence shifts x up to this */
double ir_polygamma(int n, double x);
/* The series' coefficient of z^(k+1) for psi^(n), k = 0..IR_PSI_TERMS-1. */
double ir_polygamma_coef(int n, int k);
/* The constant of the reflection term: -pi, pi^2, -2 pi^3. */
double ir_polygamma_refl(int n);

/* ---- check.c: whole-file checks before lowering ---- */
typedef struct Sema Sema;
/* Names, duplicates, constants, recursion and C-name clashes.  Errors go
 * to d; returns NULL if lowering must not run (recursion, or the error
 * cap was reached). */
Sema *sema_check(Arena *a, Diag *d, const AstFile *file);
const Ast *sema_fn(const Sema *s, const char *name);
/* A constant: 1 if it exists (*is_int and *v give it), -1 if it exists
 * but its definition had an error, 0 if there is no such constant. */
int sema_const(const Sema *s, const char *name, int *is_int, double *v);
int sema_is_builtin(const char *name);
/* "constant" for the built-in constants pi and inf, else "function". */
const char *sema_builtin_noun(const char *name);
/* Offer to n the names a call may use (the built-in functions and the
 * file's), or those of the constants and pi. */
void sema_offer_fns(const Sema *s, Near *n);
void sema_offer_consts(const Sema *s, Near *n);
/* The number of syntax-tree nodes of fn once every call is inlined (a
 * measure of the code it will become; sema_check rejected recursion). */
double sema_inline_size(const Sema *s, const Ast *fn);
/* A name the locals of the generated C step aside from: C keywords,
 * names reserved to the implementation, main, and every identifier of the
 * C standard headers with its suffixed variants (wider than the names a
 * function may not take, which sema_check reports). */
int sema_c_reserved(const char *name);
/* sema_c_reserved, or a dx built-in (one look-up): a name a variable of
 * the generated C steps aside from. */
int sema_c_taken(const char *name);
/* sema_c_taken of a name whose dx_hash is known. */
int sema_c_taken_h(const char *name, unsigned hash);

/* ---- lower.c: AST to SSA ---- */
/* Lowers every function (calls are inlined).  Errors go to d. */
int ir_lower(Arena *a, Diag *d, const Source *src, const AstFile *file, Sema *s,
             Program *out);
/* The most operations (sema_inline_size) a function may have once its
 * calls are inlined, unless dxc --max-ops says otherwise: it admits a
 * straight-line function of 200 000 statements (bench/bigprog.py, 1.7e6)
 * and keeps exponential inlining from exhausting memory. */
enum { IR_MAX_OPS = 2000000, IR_MAX_OPS_CEILING = 100000000 };
/* --sum-lanes: the default, and the most it may be */
enum { IR_SUM_LANES = 16, IR_SUM_LANES_CEILING = 1000000000 };
/* ir_lower with that limit set to max_ops (1 .. IR_MAX_OPS_CEILING). */
int ir_lower_max(Arena *a, Diag *d, const Source *src, const AstFile *file, Sema *s,
                 long max_ops, Program *out);

/* ---- linearize.c, ad.c, tape.c: differentiation, from the rules of
 * rules.c (adjoint.h holds what they share) ---- */
/* f_jvp: the tangent program (primal and linear tangent code). */
Fn *ad_linearize(const Fn *f, const char *name, FnKind kind);
/* ad_linearize, calling poll(arg) every few thousand instructions of f. */
Fn *ad_linearize_polled(const Fn *f, const char *name, FnKind kind, void (*poll)(void *), void *arg);
/* f_grad / f_vjp: transposes the linear part of a linearized Fn
 * (small_tape, keep_bytes: see Unit). */
Fn *ad_transpose(const Fn *lin, const char *name, FnKind kind, int small_tape, long long keep_bytes);

/* rules.c: the partial derivative of instruction `in` in operand k,
 * emitted at `at` (of the function being built) with the rule's facts
 * (rule_op in->op, rule_arg k); x maps in's operands to values of that
 * function, y is in's own value there.  NOREF: identically 0. */
Ref rule_partial(IrAt at, const Inst *in, const Ref *x, Ref y, int k);
int rule_has(Op op);
/* rules.c: 1 if partial k of op may be infinite (or NaN) where op's value
 * is finite (sqrt'(0), log'(0), ...): its term in tangent code is a
 * strong-zero product MULZ, so an exactly zero tangent contributes 0. */
int rule_strong(Op op, int k);

/* ---- opt.c: clean-up passes, each void pass(Fn *) ---- */
void opt_fold(Fn *f);
void opt_cse(Fn *f);
void opt_dce(Fn *f);
int opt_refold(Fn *f);    /* opt_fold; returns whether it changed anything */
/* Substitutes GEN bodies into the IDXs that read them where no work is
 * repeated (loop fusion); removes the temporary arrays. */
void opt_fuse(Fn *f);
/* A zeroed buffer whose first use is a loop nest writing each element
 * once by one ACC: no zeroing, and that ACC stores (x_bar[i] = ...; any
 * later ACC still adds).  Run last: later passes must keep the pattern. */
void opt_store(Fn *f);
void opt_all(Fn *f);      /* fuse, then fold, cse, dce to a fixed point */
void opt_rounds(Fn *f);   /* opt_all but for the fusion (opt_fuse) before them */
/* signs.c: the negations of derivative code moved into the additions and
 * subtractions that use them (x_bar += -(a * b): x_bar -= a * b), with
 * the same values; the negations left unused go.  The last pass over a
 * derivative. */
void opt_signs(Fn *f);
/* lanes.c: the tangent of a sum of at least min terms (min >= 2; less:
 * none) over constant bounds accumulated in two lanes (even and odd
 * iterations), its loop a FOR over the pairs; the primal sums keep their
 * order.  Returns how many sums it split. */
int opt_lanes(Fn *f, int min);
/* hoist.c: in f_jvp and f_hvp, the part b of a tangent sum's term a + b
 * (or a - b) that an enclosing loop L does not change is summed before
 * L, into a table over the loops between L and the sum (at most
 * max_bytes, less than one double: none; and within budget beside f's
 * arrays), and the sum adds a alone, then reads the table.  Returns how
 * many sums it split. */
int opt_hoist(Fn *f, long long max_bytes, long long budget);
/* interchange.c: a triangular nest of f_grad's reverse sweep whose inner
 * loop adds to an element that does not depend on the outer index runs
 * with the loops interchanged, that element's sum in a cell. */
void opt_interchange(Fn *f);
/* Every operand in r and its regions through repl (old Ref -> new Ref,
 * NOREF: unchanged; chains followed). */
void opt_rewrite_region(Fn *f, Region *r, Ref *repl);

/* ---- onepass.c ---- */
/* In a gradient, the backward loop of a reduction whose adjoint is known
 * before the reduction runs joins the reduction's loop, whose tape rows
 * read in the same iteration become the values; with keep, reductions a
 * backward loop would compute again are kept by the forward one instead,
 * and so are the calls (exp, log, ...) of a sum's elements that a
 * backward loop would make again, within keep_bytes (then opt_all). */
void opt_join(Fn *f, int keep, long long keep_bytes);

/* ---- pipeline.c: the compiler, every pass in order ---- */
/* A pass after which the IR can be printed (--emit=ir=PASS), each
 * void pass(Unit *); ir_passes lists them in the order they run.  The
 * first, lower, makes the units (ir_lower), so its run is NULL. */
typedef struct {
    const char *name;
    void (*run)(Unit *u);
    const char *what;     /* one line, for --help */
    int fns;              /* the functions it builds or changes, ENTRY_* bits
                             (ENTRY_GRAD: f_grad or f_vjp), which ir_verify
                             checks after it */
    /* A pass that changes each of its functions alone (run NULL): the
     * pipeline calls it on each, and on a function the C file's writers
     * take before the last pass (its passes after that one, at once). */
    void (*each)(Unit *u, Fn *f);
} IrPass;
extern const IrPass ir_passes[];
extern const int ir_npasses;
int ir_pass_find(const char *name);   /* its index in ir_passes, or -1 */
/* Every pass after lower on u (its derivatives, cleaned up), ir_verify
 * after each: what ir_pipeline does to each unit. */
void ad_unit(Unit *u);
/* u's settings for lanes and hoist from dxc's --sum-lanes (Job.sum_lanes:
 * 0 the default, -1 none) and its stack budget (0: no hoist). */
void ir_unit_sums(Unit *u, int sum_lanes, long long budget);

/* What --emit asks for: C, the IR text, or a learning view (view.h):
 * EMIT_VALUES is the text report --at prints when no --emit is given. */
typedef enum {
    EMIT_C, EMIT_IR, EMIT_DOT, EMIT_MERMAID, EMIT_JSON, EMIT_HTML, EMIT_VALUES,
    EMIT_CHECK /* the C file and a main program that checks it (ccheck.c) */
} EmitKind;
struct CgOpts;
/* One compilation: its input, its options and where its output goes. */
typedef struct {
    const Source *src;
    const char *path;    /* the input as named on the command line */
    const char *only;    /* --only: comma-separated function names, or NULL */
    int small_tape;      /* --tape=small */
    long max_ops;        /* --max-ops (0: IR_MAX_OPS) */
    int stop;            /* --emit=ir=PASS: PASS's index in ir_passes; -1 */
    EmitKind emit;       /* what out receives (unless stop >= 0: the IR) */
    const struct CgOpts *cg;
    FILE *out;
    FILE *header;        /* --header, or NULL */
    FILE *stats;         /* --stats, or NULL */
    const char *const *at; /* --at NAME=VALUE, nat of them */
    int nat;
    int sum_lanes;       /* --sum-lanes: the least terms of a sum whose
                            tangent takes two lanes (lanes.c; 0:
                            IR_SUM_LANES, -1: none) */
    DxTimes *times;      /* --time-report: the steps recorded, or NULL */
} Job;
/* Compiles j->src into j's outputs: parse, check, lower, --only,
 * ir_passes on each unit, then codegen (the stack budget, the output).
 * Everything lives in a; errors go to d (or are plain, for --only).
 * Returns 0, or 1 after an error, when the outputs hold nothing of use. */
int ir_pipeline(Arena *a, Diag *d, const Job *j);

/* ---- interp.c: the IR interpreter ---- */
/* Runs f: inputs in fn->in order (flat), outputs in fn->out order.  Each
 * input/output occupies ty_size() doubles.  Returns 0. */
int ir_interp(const Fn *f, const double *const *in, double *const *out);
/* Makes the next ir_interp call (on this thread) record its decisions, one
 * byte each in run order, into buf[0..cap): the side of every IF (0 then,
 * 1 else) and SELECT (1: its first value), every elementwise MAX/MIN
 * (0: the second operand wins, 1: the first, 2: a tie) and the sign of
 * every RELU/ABS/SIGN operand (0 negative, 1 positive, 2 zero), and, when
 * a max/min reduction ends, the step (from 1, two bytes, low first) at
 * which each of its results last changed.  *n receives the number of
 * decisions, which may exceed cap (the rest are not stored).  Equal
 * traces mean the same smooth piece of a piecewise function: the
 * differential tester compares them at x and x +- h. */
void ir_interp_trace(unsigned char *buf, size_t cap, size_t *n);
struct Rec;
/* ir_interp, recording every value into R (record.c does). */
int ir_interp_record(const Fn *f, const double *const *in, double *const *out, struct Rec *R);

/* ---- record.c: every value at a point, and its adjoint ---- */
/* The values one instruction took in a run, in the order it took them
 * (ty_size per execution: once outside loops, once per iteration inside
 * one, never in a branch not taken), and the adjoint d result / d value
 * of each. */
typedef struct {
    long n;
    double *val, *adj;   /* adj: NULL without adjoints */
} IrTrace;
typedef struct {
    int too_big;         /* the run computes too many values to record:
                            nothing else is set */
    IrTrace *tr;         /* one per instruction of the function */
    double **out;        /* its outputs */
    double **grad;       /* with adjoints: d out[0] / d input i, per
                            element; NULL otherwise */
    int adj_over;        /* with adjoints: the sweep overflowed (a product
                            or sum of finite numbers was infinite) */
} IrRecord;
/* Runs primal function f at in[] (one array per input) and records every
 * value; with adjoints and a scalar first output, sweeps the record
 * backwards from it with seed 1 (a dynamic reverse mode, independent of
 * ad.c but for the rules). */
IrRecord *ir_record(Arena *A, const Fn *f, const double *const *in, int adjoints);

#endif
