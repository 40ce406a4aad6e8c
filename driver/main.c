/*
 * main.c - the dxc driver: options, the input and the output files
 * around the compiler's pipeline (ir_pipeline, ir/pipeline.c: every pass
 * in order).
 *
 * Output is collected in memory and put in place only when everything
 * succeeded (output.c: a regular file is replaced atomically, a symbolic
 * link written through, a FIFO or a device written into), so on any error
 * no output is touched.  "-" as the input reads standard input.
 *
 * The compiler runs on a thread with a large stack, so deep (left-nested)
 * expressions such as a 50 000-term sum recurse safely.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallopt */
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../codegen/codegen.h"
#include "output.h"

typedef struct {
    const char *input, *output, *header;
    int emit;
    int stop;           /* --emit=ir=PASS: PASS's index in ir_passes, or -1 */
    int use_float;
    int workspace;
    int small_tape;
    int stats;
    int explain;
    const char *only;   /* --only: comma-separated function names */
    int entries;        /* --entries: ENTRY_* bits (0: all) */
    const char *prefix; /* --prefix */
    int line_directives; /* --line-directives */
    const char **at;    /* --at NAME=VALUE, in order */
    int nat;
    int emit_set;       /* --emit was given */
    long long stack_budget;
    long max_ops;       /* --max-ops */
    int sum_lanes;      /* --sum-lanes (0: unset, -1: 0 given) */
    int jobs;           /* --jobs: threads the C is written on */
    int time_report;    /* --time-report */
    DxTimes *times;     /* its record, from the start of main */
    int status;
} Options;

static const char usage[] =
    "usage: dxc [options] FILE.dx   (FILE \"-\" reads standard input)\n"
    "       dxc [options] FILE.ir   (the IR --emit=ir writes, compiled as is)\n"
    "\n"
    "Compiles a .dx model to one standalone C99 file holding every function\n"
    "and its derivatives: f, f_grad (scalar result) or f_vjp (array result),\n"
    "f_jvp (forward mode) and f_hvp (Hessian-vector product).\n"
    "\n"
    "options:\n"
    "  -o FILE          write the output to FILE (default, or \"-\": standard\n"
    "                   output); an existing regular file is replaced only\n"
    "                   when the compilation succeeds\n"
    "  --header FILE    also write a header with the prototypes\n"
    "  --emit=c         C code (the default)\n"
    "  --emit=ir        the SSA IR of every entry point, primal and adjoint, as\n"
    "                   text that dxc reads back from a FILE.ir (docs/ir.md)\n"
    "  --emit=ir=PASS   the IR of every function as it stands after PASS (one\n"
    "                   of the passes below), and nothing else\n"
    "  --emit=check     the C code and a main program that checks every entry\n"
    "                   point at seeded random points (central differences,\n"
    "                   the dot-product test, the Hessian's symmetry), prints\n"
    "                   a table of the worst relative errors and exits 1 when\n"
    "                   one is out of tolerance\n"
    "  --emit=dot       each function's forward and backward graph in one\n"
    "                   picture, for Graphviz (with --at, its values)\n"
    "  --emit=mermaid   the same picture as a Mermaid flowchart\n"
    "  --emit=json      the graph, and with --at its values, adjoints and\n"
    "                   gradient, as JSON for other tools (docs/json.md)\n"
    "  --emit=html      one self-contained page: source, graph, forward and\n"
    "                   adjoint code side by side; with --at a stepper through\n"
    "                   both passes, the gradient beside central differences\n"
    "                   and the gradient flow\n"
    "  --at NAME=VALUE  evaluate at a point: a number, or [1, 2, 3] (row-major)\n"
    "                   for an array, or @FILE; repeat for every parameter,\n"
    "                   data ones included.  Alone it prints the forward\n"
    "                   values, the adjoints and the gradient; with\n"
    "                   --emit=json, dot, mermaid or html the view shows them.\n"
    "                   Needs one function (--only=F when the file has several)\n"
    "  --real=double    the scalar type of the generated code (the default)\n"
    "  --real=float     float API, f-suffixed literals, expf and friends\n"
    "  --stack-budget=BYTES\n"
    "                   local arrays one function may keep on its stack\n"
    "                   (default 1M; K, M and G suffixes are powers of 1024);\n"
    "                   loops whose tapes exceed it are checkpointed\n"
    "  --max-ops=N      the most operations a function may have once every\n"
    "                   call is inlined (default 2000000, about 230 000\n"
    "                   straight-line statements); a larger one is an error\n"
    "                   rather than a compilation that exhausts memory\n"
    "  --tape=fast      loops and sums in gradients record, besides carried\n"
    "                   values, the reductions and matrix products of each\n"
    "                   step the backward pass needs, and a loop's\n"
    "                   elementwise steps that call exp, tanh, ... within a\n"
    "                   quarter of the stack budget (the default)\n"
    "  --tape=small     loops record only their carried values; the backward\n"
    "                   pass recomputes the rest of each step (smaller tapes,\n"
    "                   more arithmetic)\n"
    "  --sum-lanes=N    in f_jvp and f_hvp, the tangent of a sum of N terms or\n"
    "                   more accumulates even and odd terms apart, added at\n"
    "                   the end, so that the C compiler can vectorise it\n"
    "                   (default 16; 0: none); f's own sums always keep\n"
    "                   their written order\n"
    ;
/* The rest of the options (C99 promises string literals of 4095 bytes). */
static const char usage2[] =
    "  --workspace      also write f_ws(..., void *work) for every function f,\n"
    "                   its local arrays in the caller's workspace of\n"
    "                   f_WS_BYTES bytes (a macro in the header)\n"
    "  --only=F[,G...]  compile only the functions named (each with all its\n"
    "                   entry points); the others are checked, not emitted\n"
    "  --entries=LIST   write only these entry points of every function: LIST\n"
    "                   is a comma-separated subset of f, grad (f_grad or\n"
    "                   f_vjp), jvp and hvp (default all four); only they\n"
    "                   count against the stack budget, and without hvp no\n"
    "                   f_hvp is built\n"
    "  --prefix=P       start every function's C name with P (P f, P f_grad,\n"
    "                   P f_ws, ...) and every macro of the header (its guard,\n"
    "                   P f_WS_BYTES); P starts a C identifier\n"
    "  --line-directives\n"
    "                   #line directives tie each statement to its .dx line,\n"
    "                   so compiler messages and debuggers point into the\n"
    "                   .dx file (the other lines to the C file's own)\n"
    "  --stats          print to standard error, for every entry point, the\n"
    "                   bytes of its tapes and an estimate of its stack; for\n"
    "                   the 10 000-step spring of tests/models/spring.dx:\n"
    "                     spring_grad: tape 160000 bytes, stack ~160080 bytes\n"
    "                   with --workspace, followed on that line by\n"
    "                     (workspace variant spring_grad_ws: 160000 bytes in work, stack ~80 bytes)\n"
    "  --jobs=N         write the functions' C on up to N threads (default:\n"
    "                   the processors online, at most 8); the C is the same\n"
    "                   for every N\n"
    "  --time-report    print to standard error, at the end, when each step\n"
    "                   (parse, check, lower, each pass, each function's C,\n"
    "                   putting the output in place) began, how long it took\n"
    "                   by the wall clock, and the memory dxc held after it\n"
    "  --explain        comment each statement of a gradient a derivative rule\n"
    "                   made with the chain-rule step it takes, in the\n"
    "                   source's names (only comments change)\n"
    "  --help           show this help\n"
    "  --version        show the version\n"
    "\n"
    "The C calls <math.h> through macros: DX_EXP for exp, DX_EXPF for expf, and\n"
    "so on.  Define one (cc -DDX_EXP=my_exp), or name a header that defines\n"
    "them and declares your functions (cc -DDX_MATH_HEADER='\"my_math.h\"'),\n"
    "to use your own (docs/language.md, \"Maths hooks\").\n"
    "\n"
    "passes (--emit=ir=PASS), in the order they run:\n";

/* The passes --emit=ir=PASS names, one a line, for --help. */
static void print_passes(FILE *out)
{
    for (int k = 0; k < ir_npasses; k++)
        fprintf(out, "  %-16s %s\n", ir_passes[k].name, ir_passes[k].what);
}

/* --emit=WHAT: c, ir, dot, or ir=PASS (an unknown PASS is an error that
 * names every pass).  Returns 1, -1 after an error, or 0 when WHAT is none
 * of them. */
static int set_emit(Options *o, const char *what)
{
    static const char *const kinds[] = {[EMIT_C] = "c",       [EMIT_IR] = "ir",
                                        [EMIT_DOT] = "dot",   [EMIT_MERMAID] = "mermaid",
                                        [EMIT_JSON] = "json", [EMIT_HTML] = "html",
                                        [EMIT_VALUES] = NULL, [EMIT_CHECK] = "check"};
    o->emit_set = 1;
    for (int k = 0; k < (int)(sizeof kinds / sizeof kinds[0]); k++)
        if (kinds[k] && !strcmp(what, kinds[k])) {
            o->emit = k;
            o->stop = -1;
            return 1;
        }
    if (strncmp(what, "ir=", 3))
        return 0;
    const char *pass = what + 3;
    o->emit = EMIT_IR;
    o->stop = ir_pass_find(pass);
    if (o->stop >= 0)
        return 1;
    char names[512] = "";
    size_t n = 0;
    for (int k = 0; k < ir_npasses && n < sizeof names; k++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", k ? ", " : "", ir_passes[k].name);
    diag_plain("--emit=ir=%s: unknown pass; the passes are %s", pass, names);
    return -1;
}

/* --entries=LIST: the ENTRY_* bits of a comma-separated list of f, grad,
 * jvp and hvp, each at most once; -1 after an error. */
static int parse_entries(const char *list)
{
    static const char *const names[] = {"f", "grad", "jvp", "hvp"};
    static const int bits[] = {ENTRY_F, ENTRY_GRAD, ENTRY_JVP, ENTRY_HVP};
    if (!*list || list[0] == ',' || strstr(list, ",,") || list[strlen(list) - 1] == ',') {
        diag_plain("--entries needs entry points separated by commas (f, grad, jvp, hvp), "
                   "not '%s'", list);
        return -1;
    }
    int set = 0;
    for (const char *s = list; *s; s += *s == ',') {
        size_t n = strcspn(s, ",");
        int k = 0;
        while (k < 4 && (strlen(names[k]) != n || strncmp(s, names[k], n)))
            k++;
        if (k == 4) {
            diag_plain("--entries: no entry point '%.*s'; they are f, grad, jvp and hvp", (int)n, s);
            return -1;
        }
        if (set & bits[k]) {
            diag_plain("--entries: '%s' is listed twice", names[k]);
            return -1;
        }
        set |= bits[k];
        s += n;
    }
    return set;
}

/* BYTES, BYTESK, BYTESM or BYTESG (powers of 1024); -1 if malformed. */
static long long parse_size(const char *s)
{
    long long v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (1LL << 50))
            return -1;
        v = v * 10 + (*s - '0');
    }
    int shift = 0;
    if (*s == 'K' || *s == 'k')
        shift = 10;
    else if (*s == 'M' || *s == 'm')
        shift = 20;
    else if (*s == 'G' || *s == 'g')
        shift = 30;
    if (shift)
        s++;
    if (*s || v > (1LL << (60 - shift)))
        return -1;
    return v << shift;
}

/* A decimal count from 1 to max; -1 if malformed or out of range. */
static long parse_count(const char *s, long max)
{
    long v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    return *s || v < 1 ? -1 : v;
}

enum { MAX_JOBS = 64, DEFAULT_MAX_JOBS = 8 };

/* --jobs unset: a thread per processor online, at most DEFAULT_MAX_JOBS
 * (a unit has four functions; a file of several units may use more). */
static int default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > DEFAULT_MAX_JOBS ? DEFAULT_MAX_JOBS : (int)n;
}

static int parse_args(int argc, char **argv, Options *o)
{
    o->stack_budget = CG_STACK_BUDGET;
    o->stop = -1;
    o->at = calloc((size_t)argc, sizeof *o->at);
    if (!o->at) {
        diag_plain("out of memory");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int emit;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            fputs(usage2, stdout);
            print_passes(stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("dxc %s\n", DX_VERSION);
            exit(0);
        } else if (!strcmp(a, "-o") || !strcmp(a, "--header")) {
            if (i + 1 >= argc) {
                diag_plain("option '%s' needs a file name", a);
                return 1;
            }
            *(a[1] == 'o' ? &o->output : &o->header) = argv[++i];
        } else if (!strncmp(a, "-o", 2)) {
            o->output = a + 2;
        } else if (!strncmp(a, "--header=", 9)) {
            o->header = a + 9;
        } else if (!strncmp(a, "--emit=", 7) && (emit = set_emit(o, a + 7)) != 0) {
            if (emit < 0)
                return 1;
        } else if (!strcmp(a, "--real=double")) {
            o->use_float = 0;
        } else if (!strcmp(a, "--real=float")) {
            o->use_float = 1;
        } else if (!strcmp(a, "--tape=fast")) {
            o->small_tape = 0;
        } else if (!strcmp(a, "--tape=small")) {
            o->small_tape = 1;
        } else if (!strcmp(a, "--workspace")) {
            o->workspace = 1;
        } else if (!strcmp(a, "--stats")) {
            o->stats = 1;
        } else if (!strcmp(a, "--time-report")) {
            o->time_report = 1;
        } else if (!strcmp(a, "--explain")) {
            o->explain = 1;
        } else if (!strcmp(a, "--line-directives")) {
            o->line_directives = 1;
        } else if (!strcmp(a, "--at") || !strncmp(a, "--at=", 5)) {
            if (!a[4] && i + 1 >= argc) {
                diag_plain("option '--at' needs NAME=VALUE");
                return 1;
            }
            o->at[o->nat++] = a[4] ? a + 5 : argv[++i];
        } else if (!strncmp(a, "--only=", 7)) {
            o->only = a + 7;
        } else if (!strncmp(a, "--prefix=", 9)) {
            o->prefix = a + 9;
            if (strspn(o->prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") < 1 ||
                o->prefix[strspn(o->prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
                                            "0123456789")]) {
                diag_plain("bad --prefix '%s': expected the start of a C identifier (letters, "
                           "digits and '_', not a digit first)", o->prefix);
                return 1;
            }
        } else if (!strncmp(a, "--entries=", 10)) {
            if ((o->entries = parse_entries(a + 10)) < 0)
                return 1;
        } else if (!strncmp(a, "--stack-budget=", 15)) {
            o->stack_budget = parse_size(a + 15);
            if (o->stack_budget < 0) {
                diag_plain("bad stack budget '%s': expected a number of bytes, maybe "
                           "followed by K, M or G",
                           a + 15);
                return 1;
            }
        } else if (!strncmp(a, "--jobs=", 7)) {
            o->jobs = (int)parse_count(a + 7, MAX_JOBS);
            if (o->jobs < 1) {
                diag_plain("bad --jobs '%s': expected a number of threads from 1 to %d", a + 7,
                           MAX_JOBS);
                return 1;
            }
        } else if (!strncmp(a, "--max-ops=", 10)) {
            o->max_ops = parse_count(a + 10, IR_MAX_OPS_CEILING);
            if (o->max_ops < 1) {
                diag_plain("bad --max-ops '%s': expected a number of operations from 1 to %d",
                           a + 10, IR_MAX_OPS_CEILING);
                return 1;
            }
        } else if (!strncmp(a, "--sum-lanes=", 12)) {
            long n = strcmp(a + 12, "0") ? parse_count(a + 12, IR_SUM_LANES_CEILING) : 0;
            if (n == 1 || n < 0) {
                diag_plain("bad --sum-lanes '%s': expected 0 (none) or a number of terms from 2 to %d",
                           a + 12, IR_SUM_LANES_CEILING);
                return 1;
            }
            o->sum_lanes = n ? (int)n : -1;
        } else if (a[0] == '-' && a[1]) {
            diag_plain("unknown option '%s' (try --help)", a);
            return 1;
        } else if (o->input) {
            diag_plain("more than one input file ('%s' and '%s')", o->input, a);
            return 1;
        } else {
            o->input = a;
        }
    }
    if (!o->input) {
        diag_plain("no input file (try --help)");
        return 1;
    }
    if (o->nat && !o->emit_set)
        o->emit = EMIT_VALUES;
    if (o->nat && (o->emit == EMIT_C || o->emit == EMIT_IR || o->emit == EMIT_CHECK)) {
        diag_plain("--at shows values in the learning views (no --emit, or --emit=json, "
                   "dot, mermaid or html), not in --emit=%s",
                   o->emit == EMIT_C ? "c" : o->emit == EMIT_IR ? "ir" : "check");
        return 1;
    }
    /* the check program calls f, whatever --entries says */
    if (o->emit == EMIT_CHECK && o->entries)
        o->entries |= ENTRY_F;
    if (o->stop >= 0 && (o->header || o->stats)) {
        diag_plain("--emit=ir=%s stops after that pass: it writes no %s", ir_passes[o->stop].name,
                   o->header ? "header" : "--stats");
        return 1;
    }
    return 0;
}

/* The whole of the file at path, or of standard input when path is NULL,
 * in a buffer that grows (dx_buf_resize: from 1 MB on, huge pages, where
 * from malloc the source of a large program was faulted in 4 KB at a
 * time); *cap and *kind say how to free it (dx_buf_free). */
static char *read_file(const char *path, size_t *len, size_t *cap, unsigned char *kind)
{
    FILE *f = path ? fopen(path, "rb") : stdin;
    if (!path)
        path = "<stdin>";
    if (!f) {
        diag_plain("cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0;
    int bad = 0;
    *cap = 0;
    *kind = DX_BUF_MALLOC;
    for (;;) {
        if (n == *cap) {
            char *nb = dx_buf_resize(buf, n, cap, *cap ? 2 * *cap : 1 << 16, kind, 1 << 20);
            if (!nb) {
                bad = 1;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, *cap - n, f);
        if (!r)
            break;
        n += r;
    }
    bad |= ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        diag_plain("cannot read '%s'", path);
        dx_buf_free(buf, *cap, *kind);
        return NULL;
    }
    *len = n;
    return buf;
}

/* The C file's name the #lines of --line-directives return to: -o's,
 * or for standard output the input's with .c for .dx (dxc model.dx >
 * model.c), or "<stdout>" when that is standard input too. */
static const char *c_path(const char *output, const char *input)
{
    static char name[4096];
    if (output && strcmp(output, "-"))
        return output;
    size_t n = strlen(input);
    if (!strcmp(input, "-") || n + 3 > sizeof name)
        return "<stdout>";
    if (n > 3 && (!strcmp(input + n - 3, ".dx") || !strcmp(input + n - 3, ".ir")))
        n -= 3;
    snprintf(name, sizeof name, "%.*s.c", (int)n, input);
    return name;
}

/* Reads the input, runs the pipeline into outputs held in memory, and
 * puts them in place only if it succeeded; --stats goes to standard error
 * after them. */
static int compile(Options *o)
{
    OutFile names[2] = {{.name = o->output}, {.name = o->header}};
    OutFile *named[2] = {&names[0], &names[1]};
    if (out_check_names(o->input, named, o->header ? 2 : 1))
        return 1;
    size_t len;
    int from_stdin = !strcmp(o->input, "-");
    size_t held;
    unsigned char kind;
    double t = dx_times_now();
    char *text = read_file(from_stdin ? NULL : o->input, &len, &held, &kind);
    if (!text)
        return 1;
    dx_times_add(o->times, "read", from_stdin ? "<stdin>" : o->input, t);
    Source src = {from_stdin ? "<stdin>" : o->input, text, len};
    Diag d = {0};
    d.src = &src;
    Arena *a = arena_new();
    CgOpts co = {.use_float = o->use_float,
                 .src_path = src.path,
                 .header = o->header,
                 .stack_budget = o->stack_budget,
                 .workspace = o->workspace,
                 .explain = o->explain,
                 .entries = o->entries,
                 .prefix = o->prefix,
                 .line_directives = o->line_directives,
                 .c_path = c_path(o->output, o->input),
                 .jobs = o->jobs ? o->jobs : default_jobs(),
                 /* beyond it, written functions wait in a temporary file */
                 .spill_bytes = (size_t)32 << 20};
    OutFile out = {0}, hdr = {0}, stats = {0};
    OutFile *outs[2] = {&out, &hdr};
    int status = 1;
    if (!out_open(&out, o->output) && !(o->header && out_open(&hdr, o->header)) &&
        !(o->stats && out_open(&stats, NULL))) {
        co.append = out_append; /* the functions' text put aside, copied in the kernel */
        co.append_arg = &out;
        co.append_to = out_stream(&out);
        Job j = {&src, o->input, o->only, o->small_tape, o->max_ops, o->stop, o->emit, &co,
                 out_stream(&out), out_stream(&hdr), out_stream(&stats),
                 (const char *const *)o->at, o->nat, o->sum_lanes, o->times};
        if (ir_pipeline(a, &d, &j) == 0) {
            t = dx_times_now();
            if (out_commit_all(outs, o->header ? 2 : 1) == 0) {
                status = 0;
                if (o->stats)
                    out_copy(&stats, stderr);
            }
            dx_times_add(o->times, "put the output in place", NULL, t);
        }
    }
    out_discard(&out);
    out_discard(&hdr);
    out_discard(&stats);
    arena_free(a);
    dx_buf_free(text, held, kind);
    return status;
}

static void *run(void *arg)
{
    Options *o = arg;
    dx_stack_huge();
    dx_warm_start();
    o->status = compile(o);
    if (o->times) { /* after the output and --stats */
        fflush(stdout);
        dx_times_print(o->times, stderr);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    Options o = {0};
#ifdef __GLIBC__
    /* Large blocks (the arena's tables and instruction arrays, over a
     * megabyte) from mmap, handed back to the system when freed.  glibc
     * otherwise raises this threshold to the size of the first one freed
     * (up to 32 MB), and later tables of that size come from the heap,
     * where those freed stay resident: a tenth of the peak memory of a
     * large program. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
    if (parse_args(argc, argv, &o)) {
        free(o.at);
        return 1;
    }
    if (o.time_report)
        o.times = dx_times_new();
    pthread_attr_t attr;
    pthread_t t;
    /* 1 GiB of address space for the stack; only what is touched is used */
    if (pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, (size_t)1 << 30) == 0 &&
        pthread_create(&t, &attr, run, &o) == 0) {
        pthread_join(t, NULL);
    } else {
        run(&o);
    }
    free(o.at);
    dx_times_free(o.times);
    return o.status;
}
