/*
 * main.c - the dxc driver: options, the pipeline written out in order,
 * and the output file.
 *
 *   parse_file -> sema_check -> ir_lower -> --only -> ad_unit (linearize,
 *   transpose, opt_*) -> cg_check (stack budget) -> cg_c / cg_header /
 *   cg_ir / cg_dot -> --stats
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../codegen/codegen.h"
#include "output.h"

enum { EMIT_C, EMIT_IR, EMIT_DOT };

typedef struct {
    const char *input, *output, *header;
    int emit;
    int use_float;
    int workspace;
    int small_tape;
    int stats;
    const char *only;   /* --only: comma-separated function names */
    long long stack_budget;
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
    "  --emit=dot       the forward and adjoint graphs, for Graphviz\n"
    "  --real=double    the scalar type of the generated code (the default)\n"
    "  --real=float     float API, f-suffixed literals, expf and friends\n"
    "  --stack-budget=BYTES\n"
    "                   local arrays one function may keep on its stack\n"
    "                   (default 1M; K, M and G suffixes are powers of 1024)\n"
    "  --tape=fast      loops and sums in gradients record, besides carried\n"
    "                   values, the reductions and matrix products of each\n"
    "                   step the backward pass needs (the default)\n"
    "  --tape=small     loops record only their carried values; the backward\n"
    "                   pass recomputes the rest of each step (smaller tapes,\n"
    "                   more arithmetic)\n"
    "  --workspace      also write f_ws(..., void *work) for every function f,\n"
    "                   its local arrays in the caller's workspace of\n"
    "                   f_WS_BYTES bytes (a macro in the header)\n"
    "  --only=F[,G...]  compile only the functions named (each with all its\n"
    "                   entry points); the others are checked, not emitted\n"
    "  --stats          print to standard error, for every entry point, the\n"
    "                   bytes of its tapes and an estimate of its stack; for\n"
    "                   the 10 000-step spring of tests/models/spring.dx:\n"
    "                     spring_grad: tape 160000 bytes, stack ~160088 bytes\n"
    "                   with --workspace, followed on that line by\n"
    "                     (workspace variant spring_grad_ws: 160000 bytes in work, stack ~88 bytes)\n"
    "  --help           show this help\n"
    "  --version        show the version\n";

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

static int parse_args(int argc, char **argv, Options *o)
{
    o->stack_budget = CG_STACK_BUDGET;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
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
        } else if (!strcmp(a, "--emit=c")) {
            o->emit = EMIT_C;
        } else if (!strcmp(a, "--emit=ir")) {
            o->emit = EMIT_IR;
        } else if (!strcmp(a, "--emit=dot")) {
            o->emit = EMIT_DOT;
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
        } else if (!strncmp(a, "--only=", 7)) {
            o->only = a + 7;
        } else if (!strncmp(a, "--stack-budget=", 15)) {
            o->stack_budget = parse_size(a + 15);
            if (o->stack_budget < 0) {
                diag_plain("bad stack budget '%s': expected a number of bytes, maybe "
                           "followed by K, M or G",
                           a + 15);
                return 1;
            }
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
    return 0;
}

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

/* The whole of the file at path, or of standard input when path is NULL. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = path ? fopen(path, "rb") : stdin;
    if (!path)
        path = "<stdin>";
    if (!f) {
        diag_plain("cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf || bad) {
        diag_plain("cannot read '%s'", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* FILE.ir: the IR `dxc --emit=ir` writes, read back (ir/irread.c). */
static int is_ir_file(const char *path)
{
    size_t n = strlen(path);
    return n > 3 && !strcmp(path + n - 3, ".ir");
}

/* The final IR of every unit from the text of a .ir file, and --only.
 * Errors in the C generator's checks then point into the .dx lines it
 * carries (d->src). */
static int read_ir(Arena *a, Diag *d, const Source *src, const Options *o, Program *prog)
{
    if (ir_read(a, d, src, prog) != 0)
        return 1;
    if (prog->src)
        d->src = prog->src;
    return o->only && keep_only(prog, o->only, o->input);
}

static int compile(Options *o)
{
    OutFile names[2] = {{.name = o->output}, {.name = o->header}};
    OutFile *named[2] = {&names[0], &names[1]};
    if (out_check_names(o->input, named, o->header ? 2 : 1))
        return 1;
    size_t len;
    int from_stdin = !strcmp(o->input, "-");
    char *text = read_file(from_stdin ? NULL : o->input, &len);
    if (!text)
        return 1;
    Source src = {from_stdin ? "<stdin>" : o->input, text, len};
    Diag d = {0};
    d.src = &src;
    Arena *a = arena_new();
    AstFile file;
    Program prog;
    int status = 1;
    Sema *s = NULL;

    if (is_ir_file(o->input)) {
        if (read_ir(a, &d, &src, o, &prog))
            goto done;
        goto emit;
    }
    if (parse_file(a, &d, &src, &file) != 0)
        goto done;
    s = sema_check(a, &d, &file);
    if (!s)
        goto done;
    if (ir_lower(a, &d, &src, &file, s, &prog) != 0 || d.nerrors)
        goto done;
    if (o->only && keep_only(&prog, o->only, o->input))
        goto done;
    for (int i = 0; i < prog.units.n; i++) {
        prog.units.p[i].small_tape = o->small_tape;
        ad_unit(&prog.units.p[i]);
    }

emit:;
    CgOpts co = {o->use_float, src.path, o->header, o->stack_budget, o->workspace};
    if ((o->emit == EMIT_C || o->header) && cg_check(&prog, &co, &d))
        goto done;
    OutFile out, hdr;
    OutFile *outs[2] = {&out, &hdr};
    int nout = o->header ? 2 : 1;
    if (out_open(&out, o->output))
        goto done;
    if (o->header && out_open(&hdr, o->header)) {
        out_discard(&out);
        goto done;
    }
    switch (o->emit) {
    case EMIT_C: cg_c(&prog, &co, out_stream(&out)); break;
    case EMIT_IR: cg_ir(&prog, out_stream(&out)); break;
    case EMIT_DOT: cg_dot(&prog, out_stream(&out)); break;
    }
    if (o->header)
        cg_header(&prog, &co, out_stream(&hdr));
    if (out_commit_all(outs, nout))
        goto done;
    if (o->stats)
        cg_stats(&prog, &co, stderr);
    status = 0;
done:
    arena_free(a);
    free(text);
    return status;
}

static void *run(void *arg)
{
    Options *o = arg;
    o->status = compile(o);
    return NULL;
}

int main(int argc, char **argv)
{
    Options o = {0};
    if (parse_args(argc, argv, &o))
        return 1;
    pthread_attr_t attr;
    pthread_t t;
    /* 1 GiB of address space for the stack; only what is touched is used */
    if (pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, (size_t)1 << 30) == 0 &&
        pthread_create(&t, &attr, run, &o) == 0) {
        pthread_join(t, NULL);
    } else {
        o.status = compile(&o);
    }
    return o.status;
}
